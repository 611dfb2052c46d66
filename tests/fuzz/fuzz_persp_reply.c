/*
 * fuzz_persp_reply.c - libFuzzer harness for the Perspectives reply
 * reader (server/perspectives.h persp_parse_reply), which notaryctl and
 * the tests run on replies from other notaries.  Checked: an accepted
 * reply has a type, at least one key and one span per key, and a
 * signature within PERSP_SIG_MAX; a refused one has a terminated reason
 * and nothing to free.  (end < start is not refused here: the client
 * refuses it, see persp_verify.)
 */
#include <string.h>

#include "server/perspectives.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct persp_reply	r;
	char			err[256];

	memset(err, 'x', sizeof(err));
	if (persp_parse_reply((const char *)data, size, &r, err,
	    sizeof(err)) == -1) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return (0);
	}
	FUZZ_CHECK(r.type == 1 || r.type == 2);
	FUZZ_CHECK(r.nkeys >= 1 && r.nspans >= r.nkeys);
	FUZZ_CHECK(r.siglen <= PERSP_SIG_MAX);
	FUZZ_CHECK(r.spans != NULL);
	persp_reply_free(&r);
	return (0);
}
