/*
 * stream_limit.c - stream.max_clients and stream.max_clients_per_ip in
 * the HTTP workers (see stream_limit.h).
 *
 * The client address is the TCP peer, or, only when the peer is in
 * http.trusted_proxies, the last address of X-Forwarded-For (the one our
 * proxy added) or else X-Real-IP.  It is reduced at once to a SipHash
 * under the daemon's random key, and only that key is kept (per worker
 * slot in the shared status table, so any worker sees every worker's
 * counts and a killed worker's counts vanish with its slot).  Nothing
 * here logs an address.  The check and the count are not one atomic
 * step across workers: two workers admitting at the same instant may
 * overshoot a limit by one each; that is accepted.
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
#include "server/stream_limit.h"

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

uint64_t
stream_client_key(const struct status *st, const struct conf *cf,
    const struct sockaddr *peer, const struct http_request *req)
{
	const struct sockaddr_in  *sin;
	const struct sockaddr_in6 *sin6;
	unsigned char              a[16];
	size_t                     n = 0;
	uint64_t                   k;

	if (peer != NULL && netaddr_cidr_match(&cf->http.trusted_proxies, peer))
		n = forwarded_addr(req, a);
	if (n == 0 && peer != NULL && peer->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)peer;
		memcpy(a, &sin->sin_addr, 4);
		n = 4;
	} else if (n == 0 && peer != NULL && peer->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)peer;
		memcpy(a, &sin6->sin6_addr, 16);
		n = 16;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memmove(a, a + 12, 4);
			n = 4;
		}
	}
	k = siphash24(st->addr_key, a, n);
	return (k == 0 ? 1 : k); /* 0 marks "no key" */
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
count_in(const struct status_http *h, uint64_t key)
{
	size_t i, j;

	for (i = 0; i < PROBE_WINDOW; i++) {
		j = (key + i) % STATUS_IPC;
		if (atomic_load(&h->ipc[j].n) != 0 &&
		    atomic_load(&h->ipc[j].key) == key)
			return (atomic_load(&h->ipc[j].n));
	}
	return (0);
}

int
stream_limit_check(const struct status *st, const struct conf *cf, uint64_t key)
{
	uint64_t c[STATUS_SHAPES], per = 0;
	size_t   i;

	if (cf->stream.max_clients > 0) {
		stream_clients(st, c);
		if (c[0] + c[1] + c[2] >= (uint64_t)cf->stream.max_clients)
			return (-1);
	}
	if (cf->stream.max_clients_per_ip > 0) {
		for (i = 0; i < STATUS_MAX_HTTP; i++)
			if (atomic_load(&st->http[i].pid) != 0)
				per += count_in(&st->http[i], key);
		if (per >= (uint64_t)cf->stream.max_clients_per_ip)
			return (-1);
	}
	return (0);
}

int
stream_limit_add(struct status_http *h, uint64_t key, int delta)
{
	size_t i, j, fr = STATUS_IPC;

	if (h == NULL || key == 0)
		return (-1);
	for (i = 0; i < PROBE_WINDOW; i++) {
		j = (key + i) % STATUS_IPC;
		if (atomic_load(&h->ipc[j].n) == 0) {
			if (fr == STATUS_IPC)
				fr = j;
			continue;
		}
		if (atomic_load(&h->ipc[j].key) != key)
			continue;
		if (delta < 0)
			atomic_fetch_sub(&h->ipc[j].n, 1);
		else
			atomic_fetch_add(&h->ipc[j].n, 1);
		return (0);
	}
	if (delta < 0 || fr == STATUS_IPC)
		return (-1); /* window full: this client is not counted */
	atomic_store(&h->ipc[fr].key, key);
	atomic_store(&h->ipc[fr].n, 1);
	return (0);
}
