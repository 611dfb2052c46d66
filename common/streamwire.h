/*
 * streamwire.h - one CT entry as one NATS message: the portable form of
 * a stream record (common/streamrec.h) that the natspub process
 * publishes on "<prefix>.record" (nats.shapes: record) and a stream
 * front (ctwatch.source: nats) turns back into a ring record.
 *
 * The record's JSON sections travel as they are, so a front serves the
 * very bytes the origin's clients get, with no second serialiser; the
 * log's identity travels as text (URL, name, operator) because the
 * origin's status slot number means nothing on the front.
 *
 * Layout (little-endian, any alignment):
 *   "NDR1"                            4 bytes
 *   flags u32, cert_index u64         STREAMREC_F_*, the log index
 *   url, name, operator               each u16 length + bytes (no NUL)
 *   nsect u16                         1..STREAMWIRE_MAX_SECT
 *   nsect times: kind u32, len u32, bytes
 * Kinds are STREAMREC_FULL, _LITE, _DOMAINS, _NAMES, each at most once.
 *
 * Encoding appends to a bounded struct buf; decoding trusts nothing (the
 * message comes from the network) and points into the caller's bytes.
 * Nothing is logged here.
 */
#ifndef NOTARYD_STREAMWIRE_H
#define NOTARYD_STREAMWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/streamrec.h"

#define STREAMWIRE_MAX_SECT 4
#define STREAMWIRE_URL_MAX  256 /* with the NUL, as STATUS_CT_URL_MAX */
#define STREAMWIRE_NAME_MAX 128
#define STREAMWIRE_OPER_MAX 64

struct streamwire {
	uint32_t              flags;
	uint64_t              cert_index;
	char                  url[STREAMWIRE_URL_MAX];
	char                  name[STREAMWIRE_NAME_MAX];
	char                  oper[STREAMWIRE_OPER_MAX];
	size_t                nparts;
	struct streamrec_part parts[STREAMWIRE_MAX_SECT];
};

/*
 * Append the message for record v (its FULL, LITE, DOMAINS and NAMES
 * sections, those present) and the log's texts (NULL is "") to out.
 * Returns 0, or -1 (out unchanged) when v has none of those sections, a
 * text is too long for the decoder's limits or holds a NUL, or out's
 * bound is reached.
 */
int streamwire_encode(struct buf *out, const struct streamrec_view *v,
    const char *url, const char *name, const char *oper);
/*
 * Validate msg[0..len) and fill w (parts point into msg).  Returns 0, or
 * -1 on a bad magic, a length running past the end, trailing bytes, an
 * unknown or repeated kind, a text with a NUL or over its limit, or a
 * NAMES section not ending in a NUL.
 */
int streamwire_decode(const void *msg, size_t len, struct streamwire *w);

#endif
