/*
 * streamrec.h - the record format for one CT entry in the shared-memory
 * stream ring (ring record type STREAMREC_TYPE_ENTRY).
 *
 * Writer: ctwatch builds a record with streamrec_build() and publishes it
 * with ring_publish().  Readers: the http workers copy a record out of the
 * ring and validate it with streamrec_parse() before touching any section,
 * because shared memory is untrusted input.  Neither side allocates here
 * except streamrec_build, which appends to a bounded struct buf.
 *
 * Layout (host byte order, same machine; all fields read with memcpy so a
 * record may sit at any alignment):
 *   struct streamrec_hdr  (24 bytes)
 *   struct streamrec_sect sect[nsect]  (12 bytes each)
 *   section bytes, in the order of sect[]
 * Section kinds:
 *   STREAMREC_FULL     the /full-stream JSON message (with trailing "\n")
 *   STREAMREC_LITE     the / (lite) JSON message (with trailing "\n")
 *   STREAMREC_DOMAINS  the /domains-only JSON message (no trailing "\n")
 *   STREAMREC_NAMES    all_domains, lowercased, each NUL-terminated
 *   STREAMREC_JSSEQ    8 bytes: the entry's JetStream sequence (a stream
 *                      front's records; see nats/natsrc.c)
 *   >= STREAMREC_KIND_EXT  reserved for the stream fan-out (e.g. deflated)
 */
#ifndef NOTARYD_STREAMREC_H
#define NOTARYD_STREAMREC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define STREAMREC_TYPE_ENTRY 1           /* ring record type */
#define STREAMREC_MAGIC      0x53524543u /* 'SREC' */
#define STREAMREC_VERSION    1
#define STREAMREC_MAX_SECT   16
#define STREAMREC_MAX_LEN    0x7fffffffu /* offsets are uint32 */

#define STREAMREC_F_PRECERT 0x1u /* entry is a precertificate */
#define STREAMREC_F_TILED   0x2u /* entry comes from a static-CT log */

enum streamrec_kind {
	STREAMREC_FULL = 1,
	STREAMREC_LITE = 2,
	STREAMREC_DOMAINS = 3,
	STREAMREC_NAMES = 4,
	STREAMREC_JSSEQ = 5,
	STREAMREC_KIND_EXT = 16 /* first kind for the stream helper */
};

struct streamrec_sect {
	uint32_t kind;
	uint32_t off; /* from the start of the record */
	uint32_t len;
};

struct streamrec_hdr {
	uint32_t              magic;
	uint16_t              version;
	uint16_t              nsect;  /* <= STREAMREC_MAX_SECT */
	uint32_t              flags;  /* STREAMREC_F_* */
	uint32_t              log_id; /* status table index or UINT32_MAX */
	uint64_t              cert_index;
	struct streamrec_sect sect[];
};

/* One section handed to streamrec_build. */
struct streamrec_part {
	uint32_t    kind; /* non-zero, unique within a record */
	const void *data;
	size_t      len;
};

/* A validated record (pointers into the caller's copy of it). */
struct streamrec_view {
	const uint8_t        *base;
	size_t                len;
	uint32_t              flags;
	uint32_t              log_id;
	uint64_t              cert_index;
	uint16_t              nsect;
	struct streamrec_sect sect[STREAMREC_MAX_SECT];
};

/*
 * Append one record made of parts[0..nparts) to out.  Returns 0, or -1
 * (out unchanged) when nparts is 0 or over STREAMREC_MAX_SECT, a kind is 0
 * or repeated, the record would exceed STREAMREC_MAX_LEN, or out's bound
 * is reached.
 */
int streamrec_build(struct buf *out, uint32_t flags, uint32_t log_id,
    uint64_t index, const struct streamrec_part *parts, size_t nparts);

/*
 * Validate rec[0..len) and fill v.  Checks the magic, version, nsect
 * (1..STREAMREC_MAX_SECT), that the section table fits, that the sections
 * lie end to end from the table to exactly len (as streamrec_build lays
 * them; no overflow), that kinds are non-zero and unique, and that a NAMES
 * section is empty or ends with NUL.
 * Returns 0, or -1 on any inconsistency.
 */
int streamrec_parse(const void *rec, size_t len, struct streamrec_view *v);

/* The first section of this kind, or NULL (with *len = 0) when absent. */
const uint8_t *
streamrec_section(const struct streamrec_view *v, uint32_t kind, size_t *len);

/*
 * Iterate a NAMES section: returns the name at *pos (NUL-terminated inside
 * the section) and advances *pos, or NULL at the end.
 */
const char *streamrec_name_next(const uint8_t *names, size_t len, size_t *pos);

#endif
