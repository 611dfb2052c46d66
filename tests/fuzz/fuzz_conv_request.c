/*
 * fuzz_conv_request.c - libFuzzer harness for Convergence requests
 * (server/convergence.h conv_parse_request): the target path and the
 * form body.  Input: method NUL path[?query] NUL content-type NUL body
 * (missing parts are absent).  Checked: the status is 0/400/404/405 with
 * a message for errors; an accepted target is a valid service id.
 * PENDING: server/convergence.h is on branch conv, not yet on main.
 */
#include <string.h>

#include "server/convergence.h"
#include "store/svcid.h"
#include "tests/fuzz/fuzz.h"

/* The next NUL-separated field of [*p, end), or NULL when used up. */
static const char *
field(const char **p, const char *end, size_t *len)
{
	const char	*s = *p, *z;

	if (s == NULL || s > end)
		return (NULL);
	z = memchr(s, '\0', (size_t)(end - s));
	*len = (size_t)((z != NULL ? z : end) - s);
	*p = z != NULL ? z + 1 : NULL;
	return (s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conv_request_in	 in;
	struct conv_query	 q;
	const char		*p = (const char *)data, *end = p + size, *s;
	const char		*qm;
	size_t			 len;
	int			 st;

	memset(&in, 0, sizeof(in));
	if ((in.method = field(&p, end, &in.method_len)) == NULL)
		return (0);
	if ((s = field(&p, end, &len)) == NULL)
		return (0);
	in.path = s;
	in.path_len = len;
	if ((qm = memchr(s, '?', len)) != NULL) {
		in.path_len = (size_t)(qm - s);
		in.query = qm + 1;
		in.query_len = len - in.path_len - 1;
	}
	in.ctype = field(&p, end, &in.ctype_len);
	in.body = field(&p, end, &in.body_len);
	st = conv_parse_request(&in, &q);
	FUZZ_CHECK(st == q.status);
	FUZZ_CHECK(st == 0 || st == 400 || st == 404 || st == 405);
	if (st != 0) {
		FUZZ_CHECK(q.msg != NULL || st == 404);
		return (0);
	}
	FUZZ_CHECK(q.svclen > 0 && q.svclen <= SVCID_MAX);
	FUZZ_CHECK(svcid_parse(q.svc, q.svclen, NULL, NULL, 0) == 0);
	FUZZ_CHECK(!q.post || conv_fp_valid(q.fp, strlen(q.fp)));
	return (0);
}
