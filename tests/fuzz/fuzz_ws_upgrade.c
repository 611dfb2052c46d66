/*
 * fuzz_ws_upgrade.c - libFuzzer harness for the websocket opening
 * handshake (server/ws.h ws_check_upgrade) on requests from the HTTP
 * parser, as the worker runs it.  Checked: the answer is 0 with a 28-byte
 * Sec-WebSocket-Accept, or 400 / 426.
 */
#include <string.h>

#include "server/http_parser.h"
#include "server/ws.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_limits lim = { 8192, 64, 16384 };
	static struct http_request req;
	char	accept[29];
	int	rv;

	if (http_parse_request((const char *)data, size, &lim, &req) <= 0)
		return (0);
	memset(accept, 'x', sizeof(accept));
	rv = ws_check_upgrade(&req, accept);
	FUZZ_CHECK(rv == 0 || rv == 400 || rv == 426);
	if (rv == 0)
		FUZZ_CHECK(memchr(accept, '\0', sizeof(accept)) ==
		    accept + 28);
	return (0);
}
