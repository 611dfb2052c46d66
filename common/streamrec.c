/*
 * streamrec.c - build and validate the per-entry stream records carried
 * by the shared-memory ring (ctwatch writes, http workers read).  See
 * streamrec.h.  Parsing trusts nothing: a record read from shared memory
 * may be torn or forged, so every field is bounds-checked and -1 returned
 * on any inconsistency; nothing is logged here (the reader counts it).
 */
#include <string.h>

#include "common/streamrec.h"

#define HDR_LEN  24
#define SECT_LEN 12

int
streamrec_build(struct buf *out, uint32_t flags, uint32_t log_id,
    uint64_t index, const struct streamrec_part *parts, size_t nparts)
{
	uint8_t  hdr[HDR_LEN + SECT_LEN * STREAMREC_MAX_SECT];
	uint32_t magic = STREAMREC_MAGIC, v32;
	uint16_t v16;
	size_t   i, j, total, start = out->len;

	if (nparts == 0 || nparts > STREAMREC_MAX_SECT)
		return (-1);
	total = HDR_LEN + SECT_LEN * nparts;
	for (i = 0; i < nparts; i++) {
		if (parts[i].kind == 0 || parts[i].len > STREAMREC_MAX_LEN ||
		    (parts[i].len > 0 && parts[i].data == NULL))
			return (-1);
		for (j = 0; j < i; j++)
			if (parts[j].kind == parts[i].kind)
				return (-1);
		if (parts[i].len > STREAMREC_MAX_LEN - total)
			return (-1);
		total += parts[i].len;
	}
	memcpy(hdr, &magic, 4);
	v16 = STREAMREC_VERSION;
	memcpy(hdr + 4, &v16, 2);
	v16 = (uint16_t)nparts;
	memcpy(hdr + 6, &v16, 2);
	memcpy(hdr + 8, &flags, 4);
	memcpy(hdr + 12, &log_id, 4);
	memcpy(hdr + 16, &index, 8);
	total = HDR_LEN + SECT_LEN * nparts;
	for (i = 0; i < nparts; i++) {
		uint8_t *s = hdr + HDR_LEN + SECT_LEN * i;

		memcpy(s, &parts[i].kind, 4);
		v32 = (uint32_t)total;
		memcpy(s + 4, &v32, 4);
		v32 = (uint32_t)parts[i].len;
		memcpy(s + 8, &v32, 4);
		total += parts[i].len;
	}
	if (buf_reserve(out, total) == -1)
		return (-1);
	(void)buf_append(out, hdr, HDR_LEN + SECT_LEN * nparts);
	for (i = 0; i < nparts; i++)
		(void)buf_append(out, parts[i].data, parts[i].len);
	if (out->len - start != total) {
		out->len = start;
		return (-1);
	}
	return (0);
}

int
streamrec_parse(const void *rec, size_t len, struct streamrec_view *v)
{
	const uint8_t *p = rec;
	uint32_t       magic;
	uint16_t       version, nsect;
	size_t         i, j, table_end, next;

	if (p == NULL || len < HDR_LEN || len > STREAMREC_MAX_LEN)
		return (-1);
	memcpy(&magic, p, 4);
	memcpy(&version, p + 4, 2);
	memcpy(&nsect, p + 6, 2);
	if (magic != STREAMREC_MAGIC || version != STREAMREC_VERSION ||
	    nsect == 0 || nsect > STREAMREC_MAX_SECT)
		return (-1);
	table_end = HDR_LEN + (size_t)SECT_LEN * nsect;
	if (table_end > len)
		return (-1);
	memset(v, 0, sizeof(*v));
	v->base = p;
	v->len = len;
	v->nsect = nsect;
	memcpy(&v->flags, p + 8, 4);
	memcpy(&v->log_id, p + 12, 4);
	memcpy(&v->cert_index, p + 16, 8);
	next = table_end;
	for (i = 0; i < nsect; i++) {
		struct streamrec_sect *s = &v->sect[i];
		const uint8_t         *t = p + HDR_LEN + SECT_LEN * i;

		memcpy(&s->kind, t, 4);
		memcpy(&s->off, t + 4, 4);
		memcpy(&s->len, t + 8, 4);
		/* sections are laid end to end after the table */
		if (s->kind == 0 || s->off != next || s->len > len - s->off)
			return (-1);
		next = (size_t)s->off + s->len;
		for (j = 0; j < i; j++)
			if (v->sect[j].kind == s->kind)
				return (-1);
		if (s->kind == STREAMREC_NAMES && s->len > 0 &&
		    p[s->off + s->len - 1] != '\0')
			return (-1);
	}
	if (next != len)
		return (-1);
	return (0);
}

const uint8_t *
streamrec_section(const struct streamrec_view *v, uint32_t kind, size_t *len)
{
	size_t i;

	for (i = 0; i < v->nsect && i < STREAMREC_MAX_SECT; i++) {
		if (v->sect[i].kind == kind) {
			*len = v->sect[i].len;
			return (v->base + v->sect[i].off);
		}
	}
	*len = 0;
	return (NULL);
}

const char *
streamrec_name_next(const uint8_t *names, size_t len, size_t *pos)
{
	const char    *s;
	const uint8_t *nul;

	if (names == NULL || *pos >= len)
		return (NULL);
	s = (const char *)names + *pos;
	nul = memchr(names + *pos, '\0', len - *pos);
	if (nul == NULL)
		return (NULL);
	*pos = (size_t)(nul - names) + 1;
	return (s);
}
