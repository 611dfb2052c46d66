/*
 * fuzz_sigproto.c - libFuzzer harness for the worker<->signer message
 * decoders (server/sigproto.h): the signer decodes requests from workers,
 * a worker decodes replies from the signer; each treats the other's bytes
 * as untrusted.  Both decoders see every input.  Checked: a decoded
 * request re-encodes to the same bytes, and pointers and lengths stay
 * inside the message and its limits.
 */
#include <string.h>

#include "server/sigproto.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigproto_req	 req;
	struct sigproto_rep	 rep;
	uint8_t			 buf[SIGPROTO_REQ_HDR + SIGPROTO_ID_MAX];
	long			 n;

	if (sigproto_req_decode(data, size, &req) == 0) {
		FUZZ_CHECK(req.idlen <= SIGPROTO_ID_MAX);
		FUZZ_CHECK(req.id >= (const char *)data && req.idlen <=
		    size - SIGPROTO_REQ_HDR);
		n = sigproto_req_encode(buf, sizeof(buf), &req);
		FUZZ_CHECK(n >= 0 && (size_t)n == size &&
		    memcmp(buf, data, size) == 0);
	}
	if (sigproto_rep_decode(data, size, &rep) == 0) {
		FUZZ_CHECK(rep.len <= SIGPROTO_BODY_MAX);
		FUZZ_CHECK(size >= SIGPROTO_REP_HDR &&
		    rep.len == size - SIGPROTO_REP_HDR);
		FUZZ_CHECK(rep.len == 0 || rep.body == data +
		    SIGPROTO_REP_HDR);
	}
	return (0);
}
