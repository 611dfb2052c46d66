/*
 * netaddr.h - IPv4 addresses carried inside IPv6 ones, and the scanner's
 * deny decision built on them (any process that connects on a client's
 * behalf: the scanner role, notaryctl scan).  Pure functions: no
 * allocation, no logging.
 */
#ifndef NOTARYD_NETADDR_H
#define NOTARYD_NETADDR_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define NETADDR_MSG_MAX 512 /* a good size for the why buffers */


struct netaddr_listen {
	struct sockaddr_storage addr;
	socklen_t               addrlen;
	char                    text[64]; /* as written, normalised */
};

struct netaddr_listen_list {
	size_t                 n;
	struct netaddr_listen *v;
};

struct netaddr_cidr {
	int      family;   /* AF_INET or AF_INET6 */
	uint8_t  addr[16]; /* network byte order; v4 uses 4 */
	unsigned prefix;   /* 0..32 or 0..128 */
};

struct netaddr_cidr_list {
	size_t               n;
	struct netaddr_cidr *v;
};

int  netaddr_parse_listen(const char *s, struct netaddr_listen *out);
int  netaddr_parse_cidr(const char *s, struct netaddr_cidr *out);
/* The "default" deny list: loopback, RFC 1918, link-local, CGNAT, ... */
void netaddr_default_deny(struct netaddr_cidr_list *out);
/* 1 when sa (AF_INET or AF_INET6, v4-mapped v6 treated as v4) is in l. */
int  netaddr_cidr_match(
     const struct netaddr_cidr_list *l, const struct sockaddr *sa);

/*
 * Parse "host:port" or "[v6]:port" (a numeric address) into out, or a
 * network "addr/prefix" (or a lone address) into c.  0, or -1 with the
 * reason in why.
 */
int netaddr_listen_parse(
    const char *s, struct netaddr_listen *out, char *why, size_t len);
int netaddr_cidr_parse(
    const char *s, struct netaddr_cidr *c, char *why, size_t len);

/*
 * The IPv4 address an IPv6 one stands for, when it has a well-known
 * embedding that a connect() may reach the IPv4 host through:
 *   ::/96            IPv4-compatible (RFC 4291 §2.5.5.1, deprecated)
 *   ::ffff:0:0/96    IPv4-mapped (RFC 4291 §2.5.5.2)
 *   ::ffff:0:0:0/96  IPv4-translated (RFC 2765 §2.1, SIIT)
 *   64:ff9b::/96     NAT64 well-known prefix (RFC 6052 §2.1)
 *   2002::/16        6to4 (RFC 3056 §2), the IPv4 in bits 16-47
 * 1 and the address in v4 (network order), or 0.  "::" and "::1" embed
 * 0.0.0.0 and 0.0.0.1.
 */
int netaddr_embedded_v4(const uint8_t a6[16], uint8_t v4[4]);

/*
 * Is sa (AF_INET or AF_INET6) denied by scanner.deny minus scanner.allow?
 * An IPv6 address that allow names is allowed; one that deny names is
 * denied; one that embeds an IPv4 address (above) is judged as that IPv4
 * address, by the same two lists.  NULL lists deny or allow nothing.
 * Other families are denied.
 */
int netaddr_denied(const struct netaddr_cidr_list *deny,
    const struct netaddr_cidr_list *allow, const struct sockaddr *sa);

#endif
