/*
 * ct_testutil.c - fixture loading and TLS-vector helpers for the CT
 * parser tests (see ct_testutil.h).  Failures abort the running test.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/ct_testutil.h"

/* ---- fixtures ------------------------------------------------------- */

const char *
ct_fixdir(void)
{
	static char	 dir[PATH_MAX];
	const char	*src = getenv("NOTARYD_SRCDIR");
	struct stat	 st;

	if (src != NULL && *src != '\0') {
		snprintf(dir, sizeof(dir), "%s/tests/fixtures/ct", src);
		if (stat(dir, &st) == 0)
			return (dir);
	}
	snprintf(dir, sizeof(dir), "tests/fixtures/ct");
	if (stat(dir, &st) == 0)
		return (dir);
	ck_abort_msg("tests/fixtures/ct not found: set NOTARYD_SRCDIR");
	return (NULL);
}

uint8_t *
ct_load(const char *name, size_t *len)
{
	char	 path[PATH_MAX + 64];
	FILE	*f;
	uint8_t	*p;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", ct_fixdir(), name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	ck_assert(fread(p, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	p[n] = 0;
	*len = (size_t)n;
	return (p);
}

/* ---- building CT structures by hand (RFC 6962 §3.4, static-ct-api) --- */

void
put_n(struct buf *b, uint64_t v, int n)
{
	uint8_t	x[8];
	int	i;

	for (i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	ck_assert_int_eq(buf_append(b, x, (size_t)n), 0);
}

void
put_vec(struct buf *b, const void *p, size_t len, int n)
{
	put_n(b, len, n);
	ck_assert_int_eq(buf_append(b, p, len), 0);
}

