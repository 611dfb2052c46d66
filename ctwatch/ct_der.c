/*
 * ct_der.c - the little DER work the CT parser does by hand (ctwatch
 * process): find the TBSCertificate in a Certificate, wrap a bare TBS so
 * OpenSSL can decode a precert_entry, and the cross-log dedup hash (the
 * TBS without the poison and SCT list extensions).  Definite lengths
 * only, every length checked against its container; -1 on any violation.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "ctwatch/ct_cert.h"

/* OID contents (after tag and length) of the two CT extensions. */
static const uint8_t oid_poison[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6,
    0x79, 0x02, 0x04, 0x03 };
static const uint8_t oid_sctlist[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6,
    0x79, 0x02, 0x04, 0x02 };

struct tlv {
	unsigned	 tag;
	const uint8_t	*start;		/* tag byte */
	size_t		 hdr;		/* tag + length bytes */
	const uint8_t	*val;
	size_t		 len;		/* content length */
	size_t		 total;		/* hdr + len */
};

/* One TLV at p[0..len) (single-byte tags only, as in certificates). */
static int
der_next(const uint8_t *p, size_t len, struct tlv *t)
{
	size_t	n, i, l;

	if (len < 2 || (p[0] & 0x1f) == 0x1f)
		return (-1);
	t->tag = p[0];
	t->start = p;
	if (p[1] < 0x80) {
		l = p[1];
		t->hdr = 2;
	} else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 4 || len < 2 + n)
			return (-1);
		for (l = 0, i = 0; i < n; i++)
			l = (l << 8) | p[2 + i];
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
	uint8_t	h[6];
	size_t	n = 0;

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
ct_cert_tbs(const uint8_t *der, size_t len, const uint8_t **tbs,
    size_t *tbslen)
{
	struct tlv	cert, t;

	if (der_next(der, len, &cert) == -1 || cert.tag != 0x30 ||
	    der_next(cert.val, cert.len, &t) == -1 || t.tag != 0x30)
		return (-1);
	*tbs = t.start;
	*tbslen = t.total;
	return (0);
}

/* The signature AlgorithmIdentifier inside a TBS (after [0] and serial). */
static int
tbs_sigalg(const uint8_t *tbs, size_t len, struct tlv *alg)
{
	struct tlv	 seq, t;
	const uint8_t	*p;
	size_t		 left;

	if (der_next(tbs, len, &seq) == -1 || seq.tag != 0x30 ||
	    seq.total != len)
		return (-1);
	p = seq.val;
	left = seq.len;
	if (der_next(p, left, &t) == -1)
		return (-1);
	if (t.tag == 0xa0) {
		p += t.total;
		left -= t.total;
		if (der_next(p, left, &t) == -1)
			return (-1);
	}
	if (t.tag != 0x02)
		return (-1);
	p += t.total;
	left -= t.total;
	if (der_next(p, left, alg) == -1 || alg->tag != 0x30)
		return (-1);
	return (0);
}

X509 *
ct_cert_decode(const uint8_t *der, size_t len, int tbs, struct buf *scratch,
    char *err, size_t errlen)
{
	struct tlv		 alg;
	const unsigned char	*p;
	X509			*x;
	size_t			 body;
	static const uint8_t	 nosig[] = { 0x03, 0x01, 0x00 };

	if (len > CT_MAX_CERT || len > 0x7fffffff) {
		snprintf(err, errlen, "certificate too large");
		return (NULL);
	}
	p = der;
	if (tbs) {
		if (tbs_sigalg(der, len, &alg) == -1) {
			snprintf(err, errlen, "malformed TBSCertificate");
			return (NULL);
		}
		body = len + alg.total + sizeof(nosig);
		buf_reset(scratch);
		if (put_hdr(scratch, 0x30, body) == -1 ||
		    buf_append(scratch, der, len) == -1 ||
		    buf_append(scratch, alg.start, alg.total) == -1 ||
		    buf_append(scratch, nosig, sizeof(nosig)) == -1) {
			snprintf(err, errlen, "TBSCertificate too large");
			return (NULL);
		}
		p = (const unsigned char *)scratch->data;
		len = scratch->len;
	}
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL) {
		snprintf(err, errlen, "undecodable certificate");
		return (NULL);
	}
	return (x);
}

/* 1 when the Extension at e is the poison or the SCT list. */
static int
ext_dropped(const struct tlv *e)
{
	struct tlv	oid;

	if (der_next(e->val, e->len, &oid) == -1 || oid.tag != 0x06)
		return (0);
	if (oid.len == sizeof(oid_poison) &&
	    (memcmp(oid.val, oid_poison, oid.len) == 0 ||
	    memcmp(oid.val, oid_sctlist, oid.len) == 0))
		return (1);
	return (0);
}

/* Sum of the kept extensions in the SEQUENCE at exts. */
static int
exts_kept(const struct tlv *exts, size_t *kept)
{
	const uint8_t	*p = exts->val;
	size_t		 left = exts->len;
	struct tlv	 e;

	*kept = 0;
	while (left > 0) {
		if (der_next(p, left, &e) == -1 || e.tag != 0x30)
			return (-1);
		if (!ext_dropped(&e))
			*kept += e.total;
		p += e.total;
		left -= e.total;
	}
	return (0);
}

static int
exts_write(struct buf *b, const struct tlv *exts)
{
	const uint8_t	*p = exts->val;
	size_t		 left = exts->len;
	struct tlv	 e;

	while (left > 0) {
		if (der_next(p, left, &e) == -1)
			return (-1);
		if (!ext_dropped(&e) && buf_append(b, e.start, e.total) == -1)
			return (-1);
		p += e.total;
		left -= e.total;
	}
	return (0);
}

int
ct_dedup_hash(const uint8_t *tbs, size_t len, struct buf *scratch,
    uint8_t out[32])
{
	struct tlv	 seq, t, exts;
	const uint8_t	*p;
	size_t		 left, pre, kept = 0, body;
	int		 have = 0;

	if (der_next(tbs, len, &seq) == -1 || seq.tag != 0x30)
		return (-1);
	p = seq.val;
	left = seq.len;
	while (left > 0) {
		if (der_next(p, left, &t) == -1)
			return (-1);
		if (t.tag == 0xa3) {
			if (der_next(t.val, t.len, &exts) == -1 ||
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
	    put_hdr(scratch, 0x30, kept) == -1 || exts_write(scratch, &exts) == -1))
		return (-1);
	SHA256((const unsigned char *)scratch->data, scratch->len, out);
	return (0);
}
