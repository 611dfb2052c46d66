/*
 * fuzz_ct_tile.c - libFuzzer harness for static-CT data tiles
 * (ctwatch/ct_parse.h ct_tile_leaf_next): the input is one tile; leaves
 * are split off one after the other until the tile is used up or a leaf
 * is malformed.  Checked: the bytes consumed are within the tile, the
 * pointers inside it, at most CT_MAX_CHAIN fingerprints.
 * PENDING: ctwatch/ct_parse.h is on branch ctparse, not yet on main.
 */
#include <string.h>

#include "ctwatch/ct_parse.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_LEAVES	256	/* a full tile */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_tile_leaf	 tl;
	size_t			 off = 0;
	long			 n;
	int			 i;
	char			 err[128];

	for (i = 0; i < FUZZ_MAX_LEAVES && off < size; i++) {
		n = ct_tile_leaf_next(data + off, size - off, &tl, err,
		    sizeof(err));
		if (n == -1)
			break;
		FUZZ_CHECK(n > 0 && (size_t)n <= size - off);
		FUZZ_CHECK(tl.nfp <= CT_MAX_CHAIN);
		FUZZ_CHECK(tl.cert >= data + off && tl.cert + tl.cert_len <=
		    data + off + n);
		off += (size_t)n;
	}
	return (0);
}
