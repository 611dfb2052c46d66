/*
 * streamrec.h - the record format of the stream ring (one CT entry per
 * record), shared by ctwatch (writer) and the HTTP workers (readers).
 *
 * Written against the contract between the ctwatch and stream issues; the
 * CT-parser branch owns this file and its version replaces this one at
 * merge (same layout and API).  A record is a header, a table of sections
 * and the section bytes.  Readers treat a record as untrusted input:
 * streamrec_parse() validates everything before any section is used.
 */
#ifndef NOTARYD_STREAMREC_H
#define NOTARYD_STREAMREC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define STREAMREC_TYPE_ENTRY	1	/* ring record type */
#define STREAMREC_MAGIC		0x53524543U	/* 'SREC' */
#define STREAMREC_VERSION	1
#define STREAMREC_MAX_SECT	16
#define STREAMREC_F_PRECERT	1U

/* Section kinds.  >= 16 belong to the stream (HTTP worker) side. */
#define STREAMREC_FULL		1	/* JSON of the full message */
#define STREAMREC_LITE		2	/* JSON of the lite message */
#define STREAMREC_DOMAINS	3	/* JSON of the dns_entries message */
#define STREAMREC_NAMES		4	/* all_domains, lowercase, each NUL-ended */

struct streamrec_sect {
	uint32_t	kind;
	uint32_t	off;		/* from the start of the record */
	uint32_t	len;
};

struct streamrec_hdr {
	uint32_t	magic;
	uint16_t	version;
	uint16_t	nsect;
	uint32_t	flags;
	uint32_t	log_id;		/* status table index or UINT32_MAX */
	uint64_t	cert_index;
	struct streamrec_sect sect[];
};

struct streamrec_part {
	uint32_t	 kind;
	const void	*data;
	size_t		 len;
};

struct streamrec_view {
	const uint8_t		*base;
	size_t			 len;
	uint32_t		 flags;
	uint32_t		 log_id;
	uint64_t		 cert_index;
	unsigned		 nsect;
	struct streamrec_sect	 sect[STREAMREC_MAX_SECT];
};

/* Writer: append one record to out.  0, or -1 (too many parts, too big). */
int	streamrec_build(struct buf *out, uint32_t flags, uint32_t log_id,
	    uint64_t index, const struct streamrec_part *parts, size_t nparts);
/* Reader: validate rec[0..len) completely.  0, or -1 on anything wrong. */
int	streamrec_parse(const void *rec, size_t len, struct streamrec_view *v);
/* The first section of that kind, or NULL. */
const uint8_t *streamrec_section(const struct streamrec_view *v,
	    uint32_t kind, size_t *len);

#endif
