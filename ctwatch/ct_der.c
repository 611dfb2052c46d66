/*
 * ct_der.c - the DER work the CT parser does by hand (ctwatch process):
 * a bounded TLV reader, the split of a Certificate or bare TBSCertificate
 * into the fields the LEAF object needs (OpenSSL's d2i_X509 would also
 * decode the public key, most of its cost, which certstream never shows),
 * the TBS inside a Certificate, and the cross-log dedup hash (the TBS
 * without the poison and SCT list extensions).  Definite lengths only,
 * every length checked against its container; -1 on any violation.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "ctwatch/ct_cert.h"

/* OID contents (after tag and length) of the two CT extensions. */
static const uint8_t oid_poison[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79,
	0x02, 0x04, 0x03 };
static const uint8_t oid_sctlist[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79,
	0x02, 0x04, 0x02 };

int
ct_der_next(const uint8_t *p, size_t len, struct ct_der *t)
{
	size_t n, i, l;

	if (len < 2 || (p[0] & 0x1f) == 0x1f)
		return (-1);
	t->tag = p[0];
	t->start = p;
	if (p[1] < 0x80) {
		l = p[1];
		t->hdr = 2;
	} else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 4 || len < 2 + n || p[2] == 0)
			return (-1); /* indefinite, huge or non-minimal */
		for (l = 0, i = 0; i < n; i++)
			l = (l << 8) | p[2 + i];
		if (l < 0x80)
			return (-1); /* DER: short form required */
		t->hdr = 2 + n;
	}
	if (l > len - t->hdr)
		return (-1);
	t->val = p + t->hdr;
	t->len = l;
	t->total = t->hdr + l;
	return (0);
}

static int
put_hdr(struct buf *b, unsigned tag, size_t len)
{
	uint8_t h[6];
	size_t  n = 0;

	h[n++] = (uint8_t)tag;
	if (len < 0x80)
		h[n++] = (uint8_t)len;
	else if (len < 0x100) {
		h[n++] = 0x81;
		h[n++] = (uint8_t)len;
	} else if (len < 0x10000) {
		h[n++] = 0x82;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else if (len < 0x1000000) {
		h[n++] = 0x83;
		h[n++] = (uint8_t)(len >> 16);
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else
		return (-1);
	return (buf_append(b, h, n));
}

static size_t
hdr_len(size_t len)
{
	if (len < 0x80)
		return (2);
	if (len < 0x100)
		return (3);
	if (len < 0x10000)
		return (4);
	return (5);
}

int
ct_cert_tbs(const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tbslen)
{
	struct ct_der cert, t;

	if (ct_der_next(der, len, &cert) == -1 || cert.tag != 0x30 ||
	    ct_der_next(cert.val, cert.len, &t) == -1 || t.tag != 0x30)
		return (-1);
	*tbs = t.start;
	*tbslen = t.total;
	return (0);
}

/* The next element of a SEQUENCE's content (p, left advance). */
static int
seq_take(const uint8_t **p, size_t *left, struct ct_der *t)
{
	if (*left == 0 || ct_der_next(*p, *left, t) == -1)
		return (-1);
	*p += t->total;
	*left -= t->total;
	return (0);
}

/* TBSCertificate content: [0] version, serial, signature, issuer,
 * validity, subject, spki, [1], [2], [3] extensions. */
static int
tbs_fields(const struct ct_der *seq, struct ct_tbs *t)
{
	const uint8_t *p = seq->val;
	size_t         left = seq->len;
	struct ct_der  e, val;
	const uint8_t *vp;
	size_t         vleft;

	if (seq_take(&p, &left, &e) == -1)
		return (-1);
	if (e.tag == 0xa0 && seq_take(&p, &left, &e) == -1)
		return (-1);
	t->serial = e;
	if (t->serial.tag != 0x02 || t->serial.len == 0 ||
	    seq_take(&p, &left, &t->sigalg) == -1 || t->sigalg.tag != 0x30 ||
	    seq_take(&p, &left, &t->issuer) == -1 || t->issuer.tag != 0x30 ||
	    seq_take(&p, &left, &val) == -1 || val.tag != 0x30 ||
	    seq_take(&p, &left, &t->subject) == -1 || t->subject.tag != 0x30 ||
	    seq_take(&p, &left, &e) == -1 || e.tag != 0x30)
		return (-1);
	vp = val.val;
	vleft = val.len;
	if (seq_take(&vp, &vleft, &t->not_before) == -1 ||
	    seq_take(&vp, &vleft, &t->not_after) == -1 || vleft != 0)
		return (-1);
	t->has_exts = 0;
	while (left > 0) {
		if (seq_take(&p, &left, &e) == -1)
			return (-1);
		if (e.tag == 0xa3) {
			if (ct_der_next(e.val, e.len, &t->exts) == -1 ||
			    t->exts.tag != 0x30 || t->exts.total != e.len)
				return (-1);
			t->has_exts = 1;
		} else if (e.tag != 0xa1 && e.tag != 0xa2 && e.tag != 0x81 &&
		    e.tag != 0x82)
			return (-1);
	}
	return (0);
}

int
ct_tbs_parse(const uint8_t *der, size_t len, int tbs, struct ct_tbs *t)
{
	struct ct_der  cert, seq, alg;
	const uint8_t *p;
	size_t         left;

	memset(t, 0, sizeof(*t));
	if (ct_der_next(der, len, &cert) == -1 || cert.tag != 0x30 ||
	    cert.total != len)
		return (-1);
	if (tbs)
		return (tbs_fields(&cert, t));
	p = cert.val;
	left = cert.len;
	if (seq_take(&p, &left, &seq) == -1 || seq.tag != 0x30 ||
	    seq_take(&p, &left, &alg) == -1 || alg.tag != 0x30 ||
	    tbs_fields(&seq, t) == -1)
		return (-1);
	t->sigalg = alg;
	return (0);
}

/* 1 when the Extension at e is the poison or the SCT list. */
static int
ext_dropped(const struct ct_der *e)
{
	struct ct_der oid;

	if (ct_der_next(e->val, e->len, &oid) == -1 || oid.tag != 0x06)
		return (0);
	if (oid.len == sizeof(oid_poison) &&
	    (memcmp(oid.val, oid_poison, oid.len) == 0 ||
	        memcmp(oid.val, oid_sctlist, oid.len) == 0))
		return (1);
	return (0);
}

/* Sum of the kept extensions in the SEQUENCE at exts. */
static int
exts_kept(const struct ct_der *exts, size_t *kept)
{
	const uint8_t *p = exts->val;
	size_t         left = exts->len;
	struct ct_der  e;

	*kept = 0;
	while (left > 0) {
		if (ct_der_next(p, left, &e) == -1 || e.tag != 0x30)
			return (-1);
		if (!ext_dropped(&e))
			*kept += e.total;
		p += e.total;
		left -= e.total;
	}
	return (0);
}

static int
exts_write(struct buf *b, const struct ct_der *exts)
{
	const uint8_t *p = exts->val;
	size_t         left = exts->len;
	struct ct_der  e;

	while (left > 0) {
		if (ct_der_next(p, left, &e) == -1)
			return (-1);
		if (!ext_dropped(&e) && buf_append(b, e.start, e.total) == -1)
			return (-1);
		p += e.total;
		left -= e.total;
	}
	return (0);
}

int
ct_dedup_hash(
    const uint8_t *tbs, size_t len, struct buf *scratch, uint8_t out[32])
{
	struct ct_der  seq, t, exts;
	const uint8_t *p;
	size_t         left, pre, kept = 0, body;
	int            have = 0;

	if (ct_der_next(tbs, len, &seq) == -1 || seq.tag != 0x30)
		return (-1);
	p = seq.val;
	left = seq.len;
	while (left > 0) {
		if (ct_der_next(p, left, &t) == -1)
			return (-1);
		if (t.tag == 0xa3) {
			if (ct_der_next(t.val, t.len, &exts) == -1 ||
			    exts.tag != 0x30 || exts.total != t.len ||
			    t.total != left || exts_kept(&exts, &kept) == -1)
				return (-1);
			have = 1;
			break;
		}
		p += t.total;
		left -= t.total;
	}
	pre = (size_t)(p - seq.val);
	body = pre;
	if (have && kept > 0)
		body += hdr_len(hdr_len(kept) + kept) + hdr_len(kept) + kept;
	buf_reset(scratch);
	if (put_hdr(scratch, 0x30, body) == -1 ||
	    buf_append(scratch, seq.val, pre) == -1)
		return (-1);
	if (have && kept > 0 &&
	    (put_hdr(scratch, 0xa3, hdr_len(kept) + kept) == -1 ||
	        put_hdr(scratch, 0x30, kept) == -1 ||
	        exts_write(scratch, &exts) == -1))
		return (-1);
	SHA256((const unsigned char *)scratch->data, scratch->len, out);
	return (0);
}
