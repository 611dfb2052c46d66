/*
 * streamrec.c - build and validate stream ring records (see streamrec.h).
 * ctwatch builds them; the HTTP workers parse what they copy out of the
 * shared ring, so every offset and length is checked against the record
 * length with overflow-free arithmetic.  Nothing here logs or allocates
 * beyond the caller's buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "streamrec.h"

int
streamrec_build(struct buf *out, uint32_t flags, uint32_t log_id,
    uint64_t index, const struct streamrec_part *parts, size_t nparts)
{
	struct streamrec_hdr	hdr;
	struct streamrec_sect	s;
	size_t			total, i, off;

	if (nparts > STREAMREC_MAX_SECT)
		return (-1);
	total = sizeof(hdr) + nparts * sizeof(s);
	for (i = 0; i < nparts; i++) {
		if (parts[i].len > UINT32_MAX - total)
			return (-1);
		total += parts[i].len;
	}
	if (buf_reserve(out, total) == -1)
		return (-1);
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = STREAMREC_MAGIC;
	hdr.version = STREAMREC_VERSION;
	hdr.nsect = (uint16_t)nparts;
	hdr.flags = flags;
	hdr.log_id = log_id;
	hdr.cert_index = index;
	buf_append(out, &hdr, sizeof(hdr));
	off = sizeof(hdr) + nparts * sizeof(s);
	for (i = 0; i < nparts; i++) {
		s.kind = parts[i].kind;
		s.off = (uint32_t)off;
		s.len = (uint32_t)parts[i].len;
		buf_append(out, &s, sizeof(s));
		off += parts[i].len;
	}
	for (i = 0; i < nparts; i++)
		buf_append(out, parts[i].data, parts[i].len);
	return (0);
}

int
streamrec_parse(const void *rec, size_t len, struct streamrec_view *v)
{
	struct streamrec_hdr	hdr;
	size_t			i;

	if (rec == NULL || len < sizeof(hdr))
		return (-1);
	memcpy(&hdr, rec, sizeof(hdr));
	if (hdr.magic != STREAMREC_MAGIC || hdr.version != STREAMREC_VERSION ||
	    hdr.nsect > STREAMREC_MAX_SECT ||
	    (len - sizeof(hdr)) / sizeof(struct streamrec_sect) < hdr.nsect)
		return (-1);
	v->base = rec;
	v->len = len;
	v->flags = hdr.flags;
	v->log_id = hdr.log_id;
	v->cert_index = hdr.cert_index;
	v->nsect = hdr.nsect;
	memcpy(v->sect, (const uint8_t *)rec + sizeof(hdr),
	    hdr.nsect * sizeof(struct streamrec_sect));
	for (i = 0; i < hdr.nsect; i++)
		if (v->sect[i].off > len || v->sect[i].len > len - v->sect[i].off)
			return (-1);
	return (0);
}

const uint8_t *
streamrec_section(const struct streamrec_view *v, uint32_t kind, size_t *len)
{
	unsigned	i;

	for (i = 0; i < v->nsect; i++)
		if (v->sect[i].kind == kind) {
			if (len != NULL)
				*len = v->sect[i].len;
			return (v->base + v->sect[i].off);
		}
	return (NULL);
}
