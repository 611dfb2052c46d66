/*
 * fuzz_conv_connect.c - libFuzzer harness for the CONNECT request of the
 * Convergence bounce relay (server/convergence.h conv_parse_connect): the
 * input is what a client sent on the relay port.  Checked: a complete
 * head is within the input and at most CONV_CONNECT_MAX bytes, with at
 * most CONV_CONNECT_DESTS NUL-terminated destinations.
 * PENDING: server/convergence.h is on branch conv, not yet on main.
 */
#include <string.h>

#include "server/convergence.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conv_connect	c;
	size_t			i;
	int			rv;

	memset(&c, 0, sizeof(c));
	rv = conv_parse_connect((const char *)data, size, &c);
	FUZZ_CHECK(rv >= -1);
	if (rv <= 0)
		return (0);
	FUZZ_CHECK(c.head_len > 0 && c.head_len <= size &&
	    c.head_len <= CONV_CONNECT_MAX);
	FUZZ_CHECK(c.ndest <= CONV_CONNECT_DESTS);
	FUZZ_CHECK(c.ok == 0 || c.ok == 1);
	for (i = 0; i < c.ndest; i++)
		FUZZ_CHECK(memchr(c.dest[i], '\0', sizeof(c.dest[i])) != NULL);
	return (0);
}
