/*
 * import_parse.h - one line of a `notaryctl import` file: the tuple
 * "(svc, fp, start, end)" or "(svc, None, None, None)" as the Perspectives
 * dump writes it.  Pure (no I/O, no allocation); used by notaryctl import
 * and by the fuzz harness tests/fuzz/fuzz_import.c.
 */
#ifndef NOTARYD_IMPORT_PARSE_H
#define NOTARYD_IMPORT_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* One line of an import file that holds a tuple. */
struct import_entry {
	char    *svc; /* shared by equal neighbors */
	uint32_t len;
	uint32_t line;
	int64_t  start;
	int64_t  end;
	int64_t  first_seen; /* for services.db */
	uint8_t  md5[16];
	uint8_t  svc_only; /* "(svc, None, None, None)" */
	uint8_t  owns_svc;
	uint8_t  state;
};

/*
 * Parse line[0..len) (no newline, no NUL: the reader refuses those; at
 * most IMPORT_LINE_MAX bytes).  The id holds a comma itself, so the
 * fields are split at the last three commas.  Returns 0 (e filled, except
 * svc: *svc points to the id in line, e->len long) or -1 with a reason.
 */
int import_parse_tuple(const char *line, size_t len, struct import_entry *e,
    const char **svc, char *err, size_t errlen);

#endif
