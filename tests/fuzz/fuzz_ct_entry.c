/*
 * fuzz_ct_entry.c - libFuzzer harness for the whole RFC 6962 entry path
 * (ctwatch/ct_parse.h ct_entry_rfc6962): leaf_input and extra_data, as
 * decoded from get-entries, through the X.509 reader to the certstream
 * record.  Input: u16 BE length of leaf_input, leaf_input, extra_data.
 * Checked: a malformed entry leaves out unchanged; a record fits out.
 * PENDING: ctwatch/ct_parse.h is on branch ctparse, not yet on main.
 */
#include <string.h>

#include "common/buf.h"
#include "ctwatch/ct_parse.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_RECORD_MAX	(1024 * 1024)

static struct ct_parser	*parser;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ct_source src = { "Fuzz log", "https://ct.example",
	    "Fuzz operator", 0, 0 };
	struct buf	 out;
	uint8_t		 dedup[32];
	size_t		 leaf_len;
	char		 err[CT_ERRLEN];

	if (size < 2)
		return (0);
	if (parser == NULL && (parser = ct_parser_new()) == NULL)
		abort();
	leaf_len = (size_t)data[0] << 8 | data[1];
	if (leaf_len > size - 2)
		leaf_len = size - 2;
	buf_init(&out, FUZZ_RECORD_MAX);
	if (ct_entry_rfc6962(parser, &out, &src, 1, data + 2, leaf_len,
	    data + 2 + leaf_len, size - 2 - leaf_len, 1700000000.123, dedup,
	    err, sizeof(err)) == -1)
		FUZZ_CHECK(out.len == 0);
	else
		FUZZ_CHECK(out.len > 0 && out.len <= FUZZ_RECORD_MAX);
	buf_free(&out);
	return (0);
}
