/*
 * client_limit.c - daemon-wide client limits in the HTTP workers (see
 * client_limit.h): stream clients (stream.max_clients, ..._per_ip) and
 * Convergence relay tunnels (convergence.proxy_max_tunnels, ..._per_ip).
 *
 * The facts live in the shared status table, in the slot each worker
 * claims at start: per kind, how many it holds (held[]) and, per client
 * address, how many of those are that address's (ipc[], a keyed SipHash
 * of the address, never the address).  A limit is checked against the
 * sum over every live slot, so it holds for the whole daemon however the
 * kernel spreads connections over workers.  Nothing leaks when a worker
 * dies: the master zeroes and frees its slot when it reaps it (and a new
 * worker zeroes the slot it claims), so a killed worker's clients and
 * tunnels stop counting at once.  The tables are bounded (STATUS_IPC
 * entries per kind and slot, PROBE_WINDOW probed per key).
 *
 * The client address of a stream is the TCP peer, or, only when the peer
 * is in http.trusted_proxies, the last address of X-Forwarded-For (the one
 * our proxy added) or else X-Real-IP; a tunnel's is its TCP peer.
 *
 * Streams are checked, then counted: two workers admitting at the same
 * instant may overshoot by one each (accepted).  Tunnels are counted,
 * then checked (climit_take): never over, at worst one refused too many
 * under a race.  Nothing here logs an address.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdatomic.h>
#include <string.h>

#include "common/conf.h"
#include "common/siphash.h"
#include "common/status.h"
#include "server/http_parser.h"
#include "server/client_limit.h"

#define PROBE_WINDOW 64 /* entries searched from the hash's home */

/* An address in text (no port), into 16 bytes; length 4 or 16, or 0. */
static size_t
parse_addr(const char *s, size_t n, unsigned char out[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return (0);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1)
		return (4);
	if (inet_pton(AF_INET6, buf, out) == 1)
		return (16);
	return (0);
}

/* The address a trusted proxy reports, or 0 for none. */
static size_t
forwarded_addr(const struct http_request *req, unsigned char out[16])
{
	const struct http_header *h;
	size_t                    i;

	if ((h = http_header_find(req, "X-Forwarded-For")) != NULL) {
		for (i = h->value_len; i > 0 && h->value[i - 1] != ','; i--)
			;
		return (parse_addr(h->value + i, h->value_len - i, out));
	}
	if ((h = http_header_find(req, "X-Real-IP")) != NULL)
		return (parse_addr(h->value, h->value_len, out));
	return (0);
}

/* The keyed hash of n address bytes; never 0 (0 marks "no key"). */
static uint64_t
key_of(const struct status *st, const unsigned char *a, size_t n)
{
	uint64_t k = siphash24(st->addr_key, a, n);

	return (k == 0 ? 1 : k);
}

uint64_t
client_addr_key(const struct status *st, const struct sockaddr *peer)
{
	const struct sockaddr_in  *sin;
	const struct sockaddr_in6 *sin6;
	unsigned char              a[16];
	size_t                     n = 0;

	if (peer != NULL && peer->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)peer;
		memcpy(a, &sin->sin_addr, 4);
		n = 4;
	} else if (peer != NULL && peer->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)peer;
		memcpy(a, &sin6->sin6_addr, 16);
		n = 16;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memmove(a, a + 12, 4);
			n = 4;
		}
	}
	return (key_of(st, a, n));
}

uint64_t
stream_client_key(const struct status *st, const struct conf *cf,
    const struct sockaddr *peer, const struct http_request *req)
{
	unsigned char a[16];
	size_t        n;

	if (peer != NULL &&
	    netaddr_cidr_match(&cf->http.trusted_proxies, peer) &&
	    (n = forwarded_addr(req, a)) != 0)
		return (key_of(st, a, n));
	return (client_addr_key(st, peer));
}

/* Sum the connected clients of every live worker slot. */
void
stream_clients(const struct status *st, uint64_t n[STATUS_SHAPES])
{
	size_t i, s;

	for (s = 0; s < STATUS_SHAPES; s++)
		n[s] = 0;
	for (i = 0; i < STATUS_MAX_HTTP; i++) {
		if (atomic_load(&st->http[i].pid) == 0)
			continue;
		for (s = 0; s < STATUS_SHAPES; s++)
			n[s] += atomic_load(&st->http[i].clients[s]);
	}
}

static uint32_t
count_in(const struct status_ipcount *tab, uint64_t key)
{
	size_t i, j;

	for (i = 0; i < PROBE_WINDOW; i++) {
		j = (key + i) % STATUS_IPC;
		if (atomic_load(&tab[j].n) != 0 &&
		    atomic_load(&tab[j].key) == key)
			return (atomic_load(&tab[j].n));
	}
	return (0);
}

uint64_t
climit_total(const struct status *st, enum status_climit kind)
{
	uint64_t n = 0;
	size_t   i;

	for (i = 0; i < STATUS_MAX_HTTP; i++)
		if (atomic_load(&st->http[i].pid) != 0)
			n += atomic_load(&st->http[i].held[kind]);
	return (n);
}

uint64_t
climit_count(const struct status *st, enum status_climit kind, uint64_t key)
{
	uint64_t n = 0;
	size_t   i;

	for (i = 0; i < STATUS_MAX_HTTP; i++)
		if (atomic_load(&st->http[i].pid) != 0)
			n += count_in(st->http[i].ipc[kind], key);
	return (n);
}

int
stream_limit_check(const struct status *st, const struct conf *cf, uint64_t key)
{
	if (cf->stream.max_clients > 0 &&
	    climit_total(st, STATUS_CL_STREAM) >=
	        (uint64_t)cf->stream.max_clients)
		return (-1);
	if (cf->stream.max_clients_per_ip > 0 &&
	    climit_count(st, STATUS_CL_STREAM, key) >=
	        (uint64_t)cf->stream.max_clients_per_ip)
		return (-1);
	return (0);
}

/* The per-address half of climit_add. */
static int
ipc_add(struct status_ipcount *tab, uint64_t key, int delta)
{
	size_t i, j, fr = STATUS_IPC;

	for (i = 0; i < PROBE_WINDOW; i++) {
		j = (key + i) % STATUS_IPC;
		if (atomic_load(&tab[j].n) == 0) {
			if (fr == STATUS_IPC)
				fr = j;
			continue;
		}
		if (atomic_load(&tab[j].key) != key)
			continue;
		if (delta < 0)
			atomic_fetch_sub(&tab[j].n, 1);
		else
			atomic_fetch_add(&tab[j].n, 1);
		return (0);
	}
	if (delta < 0 || fr == STATUS_IPC)
		return (-1); /* window full: this client is not counted */
	atomic_store(&tab[fr].key, key);
	atomic_store(&tab[fr].n, 1);
	return (0);
}

int
climit_add(
    struct status_http *h, enum status_climit kind, uint64_t key, int delta)
{
	if (h == NULL)
		return (-1);
	if (delta < 0)
		atomic_fetch_sub(&h->held[kind], 1);
	else
		atomic_fetch_add(&h->held[kind], 1);
	if (key == 0)
		return (-1);
	return (ipc_add(h->ipc[kind], key, delta));
}

int
climit_take(const struct status *st, struct status_http *h,
    enum status_climit kind, uint64_t key, uint64_t max_total, uint64_t max_per)
{
	if (h == NULL || key == 0)
		return (-1);
	if (climit_add(h, kind, key, 1) == -1) {
		atomic_fetch_sub(&h->held[kind], 1);
		return (-1); /* cannot count it: cannot admit it */
	}
	if (climit_total(st, kind) > max_total ||
	    climit_count(st, kind, key) > max_per) {
		climit_give(h, kind, key);
		return (-1);
	}
	return (0);
}

void
climit_give(struct status_http *h, enum status_climit kind, uint64_t key)
{
	(void)climit_add(h, kind, key, -1);
}
