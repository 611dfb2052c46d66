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

#include <string.h>

#include "common/netaddr.h"

int
netaddr_embedded_v4(const uint8_t a6[16], uint8_t v4[4])
{
	static const uint8_t	zero[12];
	static const uint8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	static const uint8_t	translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff, 0, 0 };
	static const uint8_t	nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0,
				    0, 0, 0, 0, 0 };

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
netaddr_denied(const struct conf_cidr_list *deny,
    const struct conf_cidr_list *allow, const struct sockaddr *sa)
{
	struct sockaddr_in6	sin6;
	struct sockaddr_in	sin;
	uint8_t			v4[4];

	if (sa == NULL)
		return (1);
	if (sa->sa_family == AF_INET)
		return (conf_cidr_match(deny, sa) &&
		    !conf_cidr_match(allow, sa));
	if (sa->sa_family != AF_INET6)
		return (1);
	if (conf_cidr_match(allow, sa))
		return (0);
	if (conf_cidr_match(deny, sa))
		return (1);
	memcpy(&sin6, sa, sizeof(sin6));
	if (!netaddr_embedded_v4(sin6.sin6_addr.s6_addr, v4))
		return (0);
	v4_sockaddr(v4, &sin);
	return (conf_cidr_match(deny, (struct sockaddr *)&sin) &&
	    !conf_cidr_match(allow, (struct sockaddr *)&sin));
}
