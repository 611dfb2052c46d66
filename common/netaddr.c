/*
 * netaddr.c - IPv4-in-IPv6 embeddings and the scanner's deny decision
 * (scanner role and notaryctl scan; pure functions that cannot fail).
 *
 * A deny list of IPv4 networks is only as good as its IPv6 spellings:
 * "[::127.0.0.1]", "[::ffff:0:7f00:1]" or "[2002:7f00:1::]" name
 * 127.0.0.1 by another route (issue 13).  Every IPv6 address with a
 * well-known embedding is therefore judged as the IPv4 address inside it.
 * Prefixes whose embedding is not fixed (64:ff9b:1::/48, Teredo
 * 2001::/32) are in the "default" deny list as whole networks instead.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/util.h"
#include "common/xmalloc.h"

int
netaddr_embedded_v4(const uint8_t a6[16], uint8_t v4[4])
{
	static const uint8_t zero[12];
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	static const uint8_t translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff, 0, 0 };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0,
		0, 0, 0 };

	if (memcmp(a6, zero, 12) == 0 || memcmp(a6, mapped, 12) == 0 ||
	    memcmp(a6, translated, 12) == 0 || memcmp(a6, nat64, 12) == 0) {
		memcpy(v4, a6 + 12, 4);
		return (1);
	}
	if (a6[0] == 0x20 && a6[1] == 0x02) {
		memcpy(v4, a6 + 2, 4);
		return (1);
	}
	return (0);
}

static void
v4_sockaddr(const uint8_t v4[4], struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, v4, 4);
}

int
netaddr_denied(const struct netaddr_cidr_list *deny,
    const struct netaddr_cidr_list *allow, const struct sockaddr *sa)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in  sin;
	uint8_t             v4[4];

	if (sa == NULL)
		return (1);
	if (sa->sa_family == AF_INET)
		return (netaddr_cidr_match(deny, sa) &&
		    !netaddr_cidr_match(allow, sa));
	if (sa->sa_family != AF_INET6)
		return (1);
	if (netaddr_cidr_match(allow, sa))
		return (0);
	if (netaddr_cidr_match(deny, sa))
		return (1);
	memcpy(&sin6, sa, sizeof(sin6));
	if (!netaddr_embedded_v4(sin6.sin6_addr.s6_addr, v4))
		return (0);
	v4_sockaddr(v4, &sin);
	return (netaddr_cidr_match(deny, (struct sockaddr *)&sin) &&
	    !netaddr_cidr_match(allow, (struct sockaddr *)&sin));
}

/*
 * The networks "default" stands for in scanner.deny.  IPv6 spellings of
 * IPv4 addresses (::/96, ::ffff:0:0/96, 64:ff9b::/96, 2002::/16, ...) are
 * judged as the IPv4 address inside them, with whatever lists are
 * configured (common/netaddr.c); the NAT64 local-use and Teredo prefixes
 * have no fixed embedding and are denied whole.
 */
static const char *const default_deny[] = {
	"0.0.0.0/8",
	"10.0.0.0/8",
	"100.64.0.0/10",
	"127.0.0.0/8",
	"169.254.0.0/16",
	"172.16.0.0/12",
	"192.0.0.0/24",
	"192.0.2.0/24",
	"192.88.99.0/24",
	"192.168.0.0/16",
	"198.18.0.0/15",
	"198.51.100.0/24",
	"203.0.113.0/24",
	"224.0.0.0/4",
	"240.0.0.0/4",
	"::/128",
	"::1/128",
	"64:ff9b:1::/48",
	"100::/64",
	"2001::/32",
	"2001:db8::/32",
	"fc00::/7",
	"fe80::/10",
	"fec0::/10",
	"ff00::/8",
};

static int  listen_host(const char *, size_t, int, struct netaddr_listen *,
     char *, size_t, const char *);
static int  cidr_has_host_bits(const struct netaddr_cidr *);
static void cidr_mask(struct netaddr_cidr *);
static void cidr_unmap_v4(struct netaddr_cidr *);
static int  prefix_equal(const uint8_t *, const uint8_t *, unsigned);

int
netaddr_parse_listen(const char *s, struct netaddr_listen *out)
{
	char why[NETADDR_MSG_MAX];

	if (s == NULL)
		return (-1);
	return (netaddr_listen_parse(s, out, why, sizeof(why)));
}

int
netaddr_parse_cidr(const char *s, struct netaddr_cidr *out)
{
	char why[NETADDR_MSG_MAX];

	if (s == NULL)
		return (-1);
	return (netaddr_cidr_parse(s, out, why, sizeof(why)));
}

/*
 * "A.B.C.D:port", "[v6]:port", "*:port" (0.0.0.0), "localhost:port"
 * (127.0.0.1).  Names are not resolved: a listener must not depend on DNS
 * at start.  On error why holds a whole message.
 */
int
netaddr_listen_parse(
    const char *s, struct netaddr_listen *out, char *why, size_t len)
{
	const char *host, *colon, *end;
	char        got[NETADDR_MSG_MAX];
	size_t      hostlen;
	uint64_t    port;
	int         v6 = (s[0] == '[');

	memset(out, 0, sizeof(*out));
	util_quote(got, sizeof(got), s);
	if (v6) {
		host = s + 1;
		if ((colon = strchr(host, ']')) == NULL || colon[1] != ':')
			goto syntax;
		hostlen = (size_t)(colon - host);
		colon++;
	} else {
		host = s;
		if ((colon = strrchr(s, ':')) == NULL)
			goto syntax;
		hostlen = (size_t)(colon - host);
		if (memchr(host, ':', hostlen) != NULL) {
			snprintf(why, len,
			    "an IPv6 address needs brackets, "
			    "like \"[::1]:8080\", got %s",
			    got);
			return (-1);
		}
	}
	if (util_parse_u64(colon + 1, &port, &end) == -1 || *end != '\0' ||
	    port < 1 || port > 65535) {
		snprintf(why, len,
		    "the port must be a number from 1 to 65535, "
		    "got %s",
		    got);
		return (-1);
	}
	if (listen_host(host, hostlen, v6, out, why, len, got) == -1)
		return (-1);
	if (out->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&out->addr)->sin_port =
		    htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&out->addr)->sin6_port =
		    htons((uint16_t)port);
	snprintf(out->text + strlen(out->text),
	    sizeof(out->text) - strlen(out->text), ":%u", (unsigned)port);
	return (0);

syntax:
	snprintf(why, len,
	    "expected an address like \"127.0.0.1:8080\", "
	    "\"[::1]:8080\" or \"*:8080\", got %s",
	    got);
	return (-1);
}

/* The host part of a listen address (v6: it was in brackets) into out. */
static int
listen_host(const char *host, size_t hostlen, int v6,
    struct netaddr_listen *out, char *why, size_t len, const char *got)
{
	struct sockaddr_in  *sin = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
	char                 h[INET6_ADDRSTRLEN + 1];
	char                 ntop[INET6_ADDRSTRLEN];

	if (hostlen == 0 || hostlen >= sizeof(h))
		goto bad;
	memcpy(h, host, hostlen);
	h[hostlen] = '\0';
	if (!v6 && strcmp(h, "*") == 0)
		snprintf(h, sizeof(h), "0.0.0.0");
	else if (!v6 && strcasecmp(h, "localhost") == 0)
		snprintf(h, sizeof(h), "127.0.0.1");

	if (!v6 && inet_pton(AF_INET, h, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		out->addrlen = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, ntop, sizeof(ntop));
		snprintf(out->text, sizeof(out->text), "%s", ntop);
		return (0);
	}
	if (v6 && inet_pton(AF_INET6, h, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		out->addrlen = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, ntop, sizeof(ntop));
		snprintf(out->text, sizeof(out->text), "[%s]", ntop);
		return (0);
	}
	if (!v6 && strspn(h, "0123456789.") != hostlen) {
		snprintf(why, len,
		    "host names are not resolved; use an "
		    "address like \"127.0.0.1:8080\", \"[::1]:8080\" or "
		    "\"*:8080\", got %s",
		    got);
		return (-1);
	}
bad:
	snprintf(why, len,
	    "expected an address like \"127.0.0.1:8080\", "
	    "\"[::1]:8080\" or \"*:8080\", got %s",
	    got);
	return (-1);
}

/*
 * "10.0.0.0/8", "2001:db8::/32", or one address (/32, /128).  Host bits
 * set is refused: "10.1.2.3/8" is most likely a typo for another network.
 * v4-mapped v6 networks (::ffff:a.b.c.d/96+) become IPv4 ones, so that
 * netaddr_cidr_match needs only one form.
 */
int
netaddr_cidr_parse(
    const char *s, struct netaddr_cidr *out, char *why, size_t len)
{
	const char *slash, *end;
	char        a[INET6_ADDRSTRLEN + 1], got[NETADDR_MSG_MAX];
	char        ntop[INET6_ADDRSTRLEN];
	size_t      alen;
	uint64_t    prefix;
	unsigned    max;

	memset(out, 0, sizeof(*out));
	util_quote(got, sizeof(got), s);
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(a))
		goto syntax;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, a, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		goto syntax;

	out->prefix = max;
	if (slash != NULL) {
		if (util_parse_u64(slash + 1, &prefix, &end) == -1 ||
		    *end != '\0' || prefix > max) {
			snprintf(why, len,
			    "the prefix length of an %s network "
			    "must be 0 to %u, got %s",
			    max == 32 ? "IPv4" : "IPv6", max, got);
			return (-1);
		}
		out->prefix = (unsigned)prefix;
	}
	if (cidr_has_host_bits(out)) {
		cidr_mask(out);
		inet_ntop(out->family, out->addr, ntop, sizeof(ntop));
		snprintf(why, len, "%s has host bits set; did you mean %s/%u?",
		    s, ntop, out->prefix);
		return (-1);
	}
	cidr_unmap_v4(out);
	return (0);

syntax:
	snprintf(why, len,
	    "expected a network like \"10.0.0.0/8\" or "
	    "\"2001:db8::/32\", or one address, got %s",
	    got);
	return (-1);
}

static int
cidr_has_host_bits(const struct netaddr_cidr *c)
{
	struct netaddr_cidr m = *c;

	cidr_mask(&m);
	return (memcmp(m.addr, c->addr, sizeof(m.addr)) != 0);
}

/* Clear the bits after the prefix. */
static void
cidr_mask(struct netaddr_cidr *c)
{
	unsigned bytes = c->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < bytes; i++) {
		if (c->prefix >= 8 * (i + 1))
			continue;
		if (c->prefix <= 8 * i)
			c->addr[i] = 0;
		else
			c->addr[i] &=
			    (uint8_t)(0xff << (8 - (c->prefix - 8 * i)));
	}
}

static void
cidr_unmap_v4(struct netaddr_cidr *c)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };

	if (c->family != AF_INET6 || c->prefix < 96 ||
	    memcmp(c->addr, mapped, sizeof(mapped)) != 0)
		return;
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, 12);
	c->family = AF_INET;
	c->prefix -= 96;
}

static int
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;
	uint8_t  mask;

	if (memcmp(a, b, full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[full] & mask) == (b[full] & mask));
}

void
netaddr_default_deny(struct netaddr_cidr_list *out)
{
	char   why[NETADDR_MSG_MAX];
	size_t i;

	out->n = NELEM(default_deny);
	out->v = xcalloc(out->n, sizeof(*out->v));
	for (i = 0; i < out->n; i++)
		if (netaddr_cidr_parse(
		        default_deny[i], &out->v[i], why, sizeof(why)) == -1)
			panicx("conf: default deny list: %s", why);
}

int
netaddr_cidr_match(const struct netaddr_cidr_list *l, const struct sockaddr *sa)
{
	struct sockaddr_in  sin;
	struct sockaddr_in6 sin6;
	uint8_t             addr[16];
	int                 family;
	size_t              i;

	if (l == NULL || sa == NULL)
		return (0);
	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		memcpy(addr, &sin.sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&sin6, sa, sizeof(sin6));
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
			memcpy(addr, sin6.sin6_addr.s6_addr + 12, 4);
			family = AF_INET;
		} else {
			memcpy(addr, sin6.sin6_addr.s6_addr, 16);
			family = AF_INET6;
		}
	} else
		return (0);

	for (i = 0; i < l->n; i++)
		if (l->v[i].family == family &&
		    prefix_equal(l->v[i].addr, addr, l->v[i].prefix))
			return (1);
	return (0);
}
