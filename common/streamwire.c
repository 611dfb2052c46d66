/*
 * streamwire.c - one CT entry as one NATS message (see streamwire.h).
 * Runs in the natspub process (encode) and in a stream front's natsrc
 * process (decode).  Decoding is input validation of network bytes: every
 * length is checked against what is left before it is used; -1 on any
 * inconsistency, nothing logged (the caller counts it).
 */
#include <string.h>

#include "common/streamwire.h"

#define WIRE_MAGIC "NDR1"

static const uint32_t wire_kinds[STREAMWIRE_MAX_SECT] = { STREAMREC_FULL,
	STREAMREC_LITE, STREAMREC_DOMAINS, STREAMREC_NAMES };

static void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t   i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return (v);
}

static int
put_text(struct buf *out, const char *s, size_t max)
{
	uint8_t l[2];
	size_t  n = s != NULL ? strlen(s) : 0;

	if (n >= max)
		return (-1);
	put_le(l, n, 2);
	if (buf_append(out, l, 2) == -1 || buf_append(out, s, n) == -1)
		return (-1);
	return (0);
}

int
streamwire_encode(struct buf *out, const struct streamrec_view *v,
    const char *url, const char *name, const char *oper)
{
	const uint8_t *d[STREAMWIRE_MAX_SECT];
	size_t         dl[STREAMWIRE_MAX_SECT], i, n = 0, start = out->len;
	uint8_t        hdr[16], sh[8];

	for (i = 0; i < STREAMWIRE_MAX_SECT; i++)
		if ((d[i] = streamrec_section(v, wire_kinds[i], &dl[i])) !=
		    NULL)
			n++;
	if (n == 0)
		return (-1);
	memcpy(hdr, WIRE_MAGIC, 4);
	put_le(hdr + 4, v->flags, 4);
	put_le(hdr + 8, v->cert_index, 8);
	if (buf_append(out, hdr, 16) == -1 ||
	    put_text(out, url, STREAMWIRE_URL_MAX) == -1 ||
	    put_text(out, name, STREAMWIRE_NAME_MAX) == -1 ||
	    put_text(out, oper, STREAMWIRE_OPER_MAX) == -1)
		goto fail;
	put_le(sh, n, 2);
	if (buf_append(out, sh, 2) == -1)
		goto fail;
	for (i = 0; i < STREAMWIRE_MAX_SECT; i++) {
		if (d[i] == NULL)
			continue;
		put_le(sh, wire_kinds[i], 4);
		put_le(sh + 4, dl[i], 4);
		if (buf_append(out, sh, 8) == -1 ||
		    buf_append(out, d[i], dl[i]) == -1)
			goto fail;
	}
	return (0);
fail:
	out->len = start;
	return (-1);
}

/* A u16-length text into dst[0..max); advances *off.  0 or -1. */
static int
get_text(const uint8_t *p, size_t len, size_t *off, char *dst, size_t max)
{
	size_t n;

	if (len - *off < 2)
		return (-1);
	n = (size_t)get_le(p + *off, 2);
	*off += 2;
	if (n >= max || n > len - *off || memchr(p + *off, '\0', n) != NULL)
		return (-1);
	memcpy(dst, p + *off, n);
	dst[n] = '\0';
	*off += n;
	return (0);
}

static int
kind_known(uint32_t kind)
{
	size_t i;

	for (i = 0; i < STREAMWIRE_MAX_SECT; i++)
		if (wire_kinds[i] == kind)
			return (1);
	return (0);
}

int
streamwire_decode(const void *msg, size_t len, struct streamwire *w)
{
	const uint8_t *p = msg;
	size_t         off = 16, i, j, n, sl;

	memset(w, 0, sizeof(*w));
	if (p == NULL || len < 16 || memcmp(p, WIRE_MAGIC, 4) != 0)
		return (-1);
	w->flags = (uint32_t)get_le(p + 4, 4);
	w->cert_index = get_le(p + 8, 8);
	if (get_text(p, len, &off, w->url, sizeof(w->url)) == -1 ||
	    get_text(p, len, &off, w->name, sizeof(w->name)) == -1 ||
	    get_text(p, len, &off, w->oper, sizeof(w->oper)) == -1 ||
	    len - off < 2)
		return (-1);
	n = (size_t)get_le(p + off, 2);
	off += 2;
	if (n == 0 || n > STREAMWIRE_MAX_SECT)
		return (-1);
	for (i = 0; i < n; i++) {
		if (len - off < 8)
			return (-1);
		w->parts[i].kind = (uint32_t)get_le(p + off, 4);
		sl = (size_t)get_le(p + off + 4, 4);
		off += 8;
		if (!kind_known(w->parts[i].kind) || sl > len - off)
			return (-1);
		for (j = 0; j < i; j++)
			if (w->parts[j].kind == w->parts[i].kind)
				return (-1);
		if (w->parts[i].kind == STREAMREC_NAMES && sl > 0 &&
		    p[off + sl - 1] != '\0')
			return (-1);
		w->parts[i].data = p + off;
		w->parts[i].len = sl;
		off += sl;
	}
	if (off != len)
		return (-1);
	w->nparts = n;
	return (0);
}
