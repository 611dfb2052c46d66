/*
 * ct_testutil.h - helpers shared by the CT parser tests: find and load
 * the fixtures in tests/fixtures/ct, append big-endian integers and
 * length-prefixed vectors (TLS presentation language) to a buf.
 */
#ifndef NOTARYD_CT_TESTUTIL_H
#define NOTARYD_CT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

const char	*ct_fixdir(void);
uint8_t		*ct_load(const char *name, size_t *len);
void		 put_n(struct buf *b, uint64_t v, int n);
void		 put_vec(struct buf *b, const void *p, size_t len, int n);

#endif
