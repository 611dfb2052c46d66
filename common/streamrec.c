/*
 * streamrec.c - build and validate stream ring records (see streamrec.h).
 *
 * ctwatch builds records; the HTTP workers parse what they copy out of
 * the shared ring, so every offset and length is checked against the
 * record length with overflow-free arithmetic.  Nothing here logs.
 *
 * Written by the stream branch against the published header of the CT
 * parser branch, which owns this module: at merge, that branch's
 * streamrec.c (same API and rules) takes the place of this one.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/streamrec.h"

static int
kinds_ok(const uint32_t *kinds, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		if (kinds[i] == 0)
			return (0);
		for (j = 0; j < i; j++)
			if (kinds[j] == kinds[i])
				return (0);
	}
	return (1);
}

int
streamrec_build(struct buf *out, uint32_t flags, uint32_t log_id,
    uint64_t index, const struct streamrec_part *parts, size_t nparts)
{
	struct streamrec_hdr	hdr;
	struct streamrec_sect	s;
	uint32_t		kinds[STREAMREC_MAX_SECT];
	size_t			total, i, off;

	if (nparts == 0 || nparts > STREAMREC_MAX_SECT)
		return (-1);
	total = sizeof(hdr) + nparts * sizeof(s);
	for (i = 0; i < nparts; i++) {
		kinds[i] = parts[i].kind;
		if (parts[i].len > STREAMREC_MAX_LEN - total)
			return (-1);
		total += parts[i].len;
	}
	if (!kinds_ok(kinds, nparts) || buf_reserve(out, total) == -1)
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
	uint32_t		kinds[STREAMREC_MAX_SECT];
	const uint8_t		*base = rec;
	size_t			i, table;

	if (rec == NULL || len < sizeof(hdr) || len > STREAMREC_MAX_LEN)
		return (-1);
	memcpy(&hdr, rec, sizeof(hdr));
	if (hdr.magic != STREAMREC_MAGIC || hdr.version != STREAMREC_VERSION ||
	    hdr.nsect == 0 || hdr.nsect > STREAMREC_MAX_SECT)
		return (-1);
	table = sizeof(hdr) + hdr.nsect * sizeof(struct streamrec_sect);
	if (table > len)
		return (-1);
	v->base = base;
	v->len = len;
	v->flags = hdr.flags;
	v->log_id = hdr.log_id;
	v->cert_index = hdr.cert_index;
	v->nsect = hdr.nsect;
	memcpy(v->sect, base + sizeof(hdr),
	    hdr.nsect * sizeof(struct streamrec_sect));
	for (i = 0; i < hdr.nsect; i++) {
		const struct streamrec_sect *s = &v->sect[i];
		if (s->off < table || s->off > len || s->len > len - s->off)
			return (-1);
		if (s->kind == STREAMREC_NAMES && s->len > 0 &&
		    base[s->off + s->len - 1] != '\0')
			return (-1);
		kinds[i] = s->kind;
	}
	return (kinds_ok(kinds, hdr.nsect) ? 0 : -1);
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
	if (len != NULL)
		*len = 0;
	return (NULL);
}

const char *
streamrec_name_next(const uint8_t *names, size_t len, size_t *pos)
{
	const char	*n;
	const uint8_t	*end;

	if (names == NULL || *pos >= len)
		return (NULL);
	n = (const char *)names + *pos;
	end = memchr(names + *pos, '\0', len - *pos);
	if (end == NULL)
		return (NULL);		/* parse() guarantees the NUL */
	*pos = (size_t)(end - names) + 1;
	return (n);
}
