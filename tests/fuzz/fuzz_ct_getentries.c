/*
 * fuzz_ct_getentries.c - libFuzzer harness for the JSON body of an RFC
 * 6962 get-entries reply (ctwatch/ct_getentries.h): the entries array is
 * taken out of the document and every entry decoded as ctwatch's
 * follower does before it hands leaf_input and extra_data to the entry
 * parser (fuzz_ct_entry covers that one).  The input is the reply body.
 * Checked: an array comes back non-empty, a failure fills err; a decoded
 * entry has a non-empty leaf_input, extra_data NULL exactly when empty,
 * both within CT_ENTRY_FIELD_MAX.
 */
#include <string.h>

#include "ctwatch/ct_getentries.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_ENTRIES	4096

static volatile uint8_t	sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t		*a;
	uint8_t		*leaf, *extra;
	size_t		 i, j, n, leaflen, extralen;
	char		 err[128];

	err[0] = '\0';
	if ((a = ct_getentries_parse(data, size, err, sizeof(err))) == NULL) {
		FUZZ_CHECK(err[0] != '\0');
		return (0);
	}
	n = json_array_size(a);
	FUZZ_CHECK(n > 0);
	for (i = 0; i < n && i < FUZZ_MAX_ENTRIES; i++) {
		if (ct_getentries_entry(a, i, &leaf, &leaflen, &extra,
		    &extralen) == -1) {
			FUZZ_CHECK(leaf == NULL && extra == NULL);
			continue;
		}
		FUZZ_CHECK(leaf != NULL && leaflen > 0 &&
		    leaflen <= CT_ENTRY_FIELD_MAX);
		FUZZ_CHECK((extra == NULL) == (extralen == 0) &&
		    extralen <= CT_ENTRY_FIELD_MAX);
		/* touch every byte: ASan checks the lengths */
		for (j = 0; j < leaflen; j++)
			sink ^= leaf[j];
		for (j = 0; j < extralen; j++)
			sink ^= extra[j];
		free(leaf);
		free(extra);
	}
	/* past the end: an error, not a read */
	FUZZ_CHECK(ct_getentries_entry(a, n, &leaf, &leaflen, &extra,
	    &extralen) == -1);
	json_decref(a);
	return (0);
}
