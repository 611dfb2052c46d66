/*
 * json.h - a small JSON writer into a bounded struct buf, producing the
 * same bytes as Go's encoding/json (used by ctwatch for the certstream
 * messages, which must match certstream-server-go byte for byte).
 *
 * Every function appends to b and returns 0, or -1 when b's bound is
 * reached (b->len is then unspecified; callers discard the buffer).
 */
#ifndef NOTARYD_JSON_H
#define NOTARYD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/*
 * A quoted JSON string, escaped as Go's encoder does: '"' and '\\'
 * backslashed; \b \f \n \r \t; other bytes < 0x20 as \u00XX (lowercase
 * hex); U+2028 and U+2029 as \u2028 / \u2029; each byte of an invalid
 * UTF-8 sequence (bad lead, truncated, overlong, surrogate, > U+10FFFF) as
 * \ufffd; with html set, '<', '>', '&' as \u003c, \u003e, \u0026.
 */
int json_str(struct buf *b, const char *s, size_t n, int html);
/* The escaped bytes alone, without the quotes. */
int json_strbody(struct buf *b, const char *s, size_t n, int html);
/* The same for a NUL-terminated string; NULL writes null. */
int json_cstr(struct buf *b, const char *s, int html);
int json_u64(struct buf *b, uint64_t v);
int json_i64(struct buf *b, int64_t v);
/*
 * A float64 as Go's encoding/json writes it: the shortest decimal that
 * reads back as v, in %f form for 1e-6 <= |v| < 1e21 and otherwise in
 * %e form with a one- or more-digit exponent ("1e+21", "1e-7").  NaN and
 * infinities are not JSON: -1.
 */
int json_f64(struct buf *b, double v);
/* Append a literal (punctuation, keys known to need no escaping). */
int json_raw(struct buf *b, const char *s);

#endif
