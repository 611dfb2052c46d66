/*
 * fuzz_svcid.c - libFuzzer harness for the service-id parser
 * (store/svcid.h svcid_parse), which sees ids from HTTP queries, the
 * scan queue and import files.  Checked: the answer does not depend on
 * whether the split is asked for, an accepted id has a NUL-terminated
 * host, a port 1..65535, a type 1 or 2, and the error text is terminated
 * even in a tiny buffer.
 */
#include <string.h>

#include "store/svcid.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svcid	t;
	char		err[256], tiny[5];
	int		rv;

	memset(err, 'x', sizeof(err));
	rv = svcid_parse((const char *)data, size, &t, err, sizeof(err));
	FUZZ_CHECK(rv == 0 || rv == -1);
	FUZZ_CHECK(svcid_parse((const char *)data, size, NULL, NULL, 0) == rv);
	memset(tiny, 'x', sizeof(tiny));
	FUZZ_CHECK(svcid_parse((const char *)data, size, NULL, tiny,
	    sizeof(tiny)) == rv);
	if (rv == -1) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(memchr(tiny, '\0', sizeof(tiny)) != NULL);
		return (0);
	}
	FUZZ_CHECK(size <= SVCID_MAX);
	FUZZ_CHECK(memchr(t.host, '\0', sizeof(t.host)) != NULL);
	FUZZ_CHECK(t.port >= 1);
	FUZZ_CHECK(t.type == 1 || t.type == 2);
	FUZZ_CHECK(t.kind == SVCID_DNS || t.kind == SVCID_IPV4 ||
	    t.kind == SVCID_IPV6);
	return (0);
}
