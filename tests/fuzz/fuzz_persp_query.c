/*
 * fuzz_persp_query.c - libFuzzer harness for the Perspectives query
 * parser (server/perspectives.h persp_parse_query), which HTTP workers run
 * on the query string and the form body of every request to "/".  The
 * input is the query; after its first NUL byte (if any) comes the body.
 * Checked: the status is one of three; an accepted query has a type 1 or
 * 2, an id of idlen bytes that svcid_parse accepts, and probe only for 2.
 */
#include <string.h>

#include "server/perspectives.h"
#include "store/svcid.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct persp_query	 q;
	const char		*query = (const char *)data, *body = NULL;
	const char		*nul;
	size_t			 qlen = size, blen = 0;
	int			 st;

	if ((nul = memchr(data, '\0', size)) != NULL) {
		qlen = (size_t)(nul - query);
		body = nul + 1;
		blen = size - qlen - 1;
	}
	memset(&q, 0xa5, sizeof(q));
	st = persp_parse_query(qlen > 0 ? query : NULL, qlen, body, blen, &q);
	FUZZ_CHECK(st == q.status);
	FUZZ_CHECK(st == PERSP_QUERY_OK || st == PERSP_QUERY_INDEX ||
	    st == PERSP_QUERY_BAD);
	if (st != PERSP_QUERY_OK)
		return (0);
	FUZZ_CHECK(q.type == 1 || q.type == 2);
	FUZZ_CHECK(q.probe == (q.type == 2));
	FUZZ_CHECK(q.idlen > 0 && q.idlen <= SVCID_MAX);
	FUZZ_CHECK(q.id[q.idlen] == '\0');
	FUZZ_CHECK(svcid_parse(q.id, q.idlen, NULL, NULL, 0) == 0);
	return (0);
}
