/*
 * fuzz_ct_leaf.c - libFuzzer harness for the RFC 6962 binary structures
 * (ctwatch/ct_leaf.h): MerkleTreeLeaf/TimestampedEntry (ct_leaf_parse) and
 * extra_data (ct_extra_parse), as ctwatch splits get-entries results.
 * Input: u16 BE length of leaf_input, leaf_input, then extra_data.
 * Checked: every pointer the parsers return lies inside its input.
 * PENDING: ctwatch/ct_leaf.h is on branch ctparse, not yet on main.
 */
#include <string.h>

#include "ctwatch/ct_leaf.h"
#include "tests/fuzz/fuzz.h"

#define IN(p, n, base, len)	((p) >= (base) && (n) <= (len) && \
	(size_t)((p) - (base)) <= (len) - (n))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_leaf	 l;
	const uint8_t	*leaf, *extra;
	size_t		 leaf_len, extra_len, i;
	char		 err[128];

	if (size < 2)
		return (0);
	leaf_len = (size_t)data[0] << 8 | data[1];
	if (leaf_len > size - 2)
		leaf_len = size - 2;
	leaf = data + 2;
	extra = leaf + leaf_len;
	extra_len = size - 2 - leaf_len;
	memset(&l, 0, sizeof(l));
	if (ct_leaf_parse(leaf, leaf_len, &l, err, sizeof(err)) == -1) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return (0);
	}
	FUZZ_CHECK(IN(l.cert, l.cert_len, leaf, leaf_len));
	FUZZ_CHECK(l.ext == NULL || IN(l.ext, l.ext_len, leaf, leaf_len));
	if (ct_extra_parse(extra, extra_len, &l, err, sizeof(err)) == -1)
		return (0);
	FUZZ_CHECK(l.chain.n <= CT_MAX_CHAIN);
	for (i = 0; i < l.chain.n; i++)
		FUZZ_CHECK(IN(l.chain.der[i], l.chain.len[i], extra,
		    extra_len));
	FUZZ_CHECK(!l.is_precert || IN(l.precert, l.precert_len, extra,
	    extra_len));
	return (0);
}
