/*
 * fuzz_import.c - libFuzzer harness for the `notaryctl import` line
 * parser (ctl/import_parse.h): the input is an import file; it is cut into
 * lines as import.c reads it (no newline, a trailing CR dropped; lines
 * with NUL or over IMPORT_LINE_MAX bytes, blank lines and comments never
 * reach the parser), each line in a buffer of exactly its size.  Checked:
 * an accepted tuple's id lies inside the line and is a valid service id,
 * and its times are ordered and in range.
 */
#include <string.h>

#include "store/obs.h"
#include "store/svcid.h"
#include "ctl/ctl.h"
#include "ctl/import_parse.h"
#include "tests/fuzz/fuzz.h"

static void	one_line(const char *, size_t);

static void
one_line(const char *line, size_t len)
{
	struct import_entry	 e;
	const char		*svc = NULL, *p;
	char			*copy, err[256];

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > IMPORT_LINE_MAX || memchr(line, '\0', len) != NULL)
		return;
	for (p = line; p < line + len && (*p == ' ' || *p == '\t'); p++)
		;
	if (p == line + len || *p == '#')
		return;
	if ((copy = malloc(len)) == NULL)
		return;
	memcpy(copy, line, len);
	memset(err, 'x', sizeof(err));
	if (import_parse_tuple(copy, len, &e, &svc, err, sizeof(err)) == -1)
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	else {
		FUZZ_CHECK(svc > copy && e.len > 0 && e.len < len &&
		    (size_t)(svc - copy) <= len - e.len);
		FUZZ_CHECK(svcid_parse(svc, e.len, NULL, NULL, 0) == 0);
		FUZZ_CHECK(e.svc_only || (e.start >= 0 && e.start <= e.end &&
		    e.end <= OBS_TIME_MAX));
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *end = s + size, *nl;

	while (s < end) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		one_line(s, (size_t)(nl - s));
		s = nl + 1;
	}
	return (0);
}
