/*
 * ct_leaf.c - RFC 6962 MerkleTreeLeaf / extra_data and static-CT TileLeaf
 * splitting (ctwatch process).  Every length is read through a bounded
 * reader that fails instead of overrunning; a malformed structure returns
 * -1 with a short reason and is never logged here (the caller counts it).
 */
#include <stdio.h>
#include <string.h>

#include "ctwatch/ct_leaf.h"

struct rd {
	const uint8_t *p;
	size_t         len;
	size_t         off;
	const char    *fail; /* first failure, for err */
};

static int
rd_uint(struct rd *r, size_t n, uint64_t *v, const char *what)
{
	size_t i;

	if (r->fail != NULL)
		return (-1);
	if (r->len - r->off < n) {
		r->fail = what;
		return (-1);
	}
	*v = 0;
	for (i = 0; i < n; i++)
		*v = (*v << 8) | r->p[r->off + i];
	r->off += n;
	return (0);
}

/* A length-prefixed opaque (prefix of nlen bytes); min 0 or 1. */
static int
rd_vec(struct rd *r, size_t nlen, size_t min, const uint8_t **out,
    size_t *outlen, const char *what)
{
	uint64_t n;

	if (rd_uint(r, nlen, &n, what) == -1)
		return (-1);
	if (n < min || n > r->len - r->off) {
		r->fail = what;
		return (-1);
	}
	*out = r->p + r->off;
	*outlen = (size_t)n;
	r->off += (size_t)n;
	return (0);
}

static int
rd_bytes(struct rd *r, size_t n, const uint8_t **out, const char *what)
{
	if (r->fail != NULL)
		return (-1);
	if (r->len - r->off < n) {
		r->fail = what;
		return (-1);
	}
	*out = r->p + r->off;
	r->off += n;
	return (0);
}

static int
fail(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", what);
	return (-1);
}

/* TimestampedEntry body after the timestamp: entry_type onwards. */
static int
rd_signed_entry(struct rd *r, struct ct_leaf *l)
{
	uint64_t type;

	if (rd_uint(r, 2, &type, "truncated entry_type") == -1)
		return (-1);
	if (type == CT_ENTRY_X509) {
		l->is_precert = 0;
		return (rd_vec(r, 3, 1, &l->cert, &l->cert_len,
		    "bad x509 certificate length"));
	}
	if (type == CT_ENTRY_PRECERT) {
		l->is_precert = 1;
		if (rd_bytes(r, 32, &l->issuer_key_hash,
		        "truncated issuer_key_hash") == -1)
			return (-1);
		return (rd_vec(r, 3, 1, &l->cert, &l->cert_len,
		    "bad TBSCertificate length"));
	}
	r->fail = "unknown entry_type";
	return (-1);
}

int
ct_leaf_parse(
    const uint8_t *p, size_t len, struct ct_leaf *l, char *err, size_t errlen)
{
	struct rd r = { p, len, 0, NULL };
	uint64_t  version, type;

	memset(l, 0, sizeof(*l));
	if (p == NULL)
		return (fail(err, errlen, "no leaf_input"));
	if (rd_uint(&r, 1, &version, "empty leaf_input") == -1 ||
	    rd_uint(&r, 1, &type, "truncated leaf_type") == -1)
		return (fail(err, errlen, r.fail));
	if (version != 0)
		return (fail(err, errlen, "unknown MerkleTreeLeaf version"));
	if (type != 0)
		return (fail(err, errlen, "unknown leaf_type"));
	if (rd_uint(&r, 8, &l->timestamp, "truncated timestamp") == -1 ||
	    rd_signed_entry(&r, l) == -1 ||
	    rd_vec(&r, 2, 0, &l->ext, &l->ext_len, "bad extensions length") ==
	        -1)
		return (fail(err, errlen, r.fail));
	if (r.off != len)
		return (fail(err, errlen, "trailing bytes after leaf"));
	return (0);
}

/* certificate_chain / precertificate_chain: u24 total, { u24 len, DER }. */
static int
rd_chain(struct rd *r, struct ct_chain *c)
{
	const uint8_t *all;
	size_t         alllen;
	struct rd      in;

	if (rd_vec(r, 3, 0, &all, &alllen, "bad chain length") == -1)
		return (-1);
	in.p = all;
	in.len = alllen;
	in.off = 0;
	in.fail = NULL;
	c->n = 0;
	while (in.off < in.len) {
		if (c->n >= CT_MAX_CHAIN) {
			r->fail = "chain too long";
			return (-1);
		}
		if (rd_vec(&in, 3, 1, &c->der[c->n], &c->len[c->n],
		        "bad chain certificate length") == -1) {
			r->fail = in.fail;
			return (-1);
		}
		c->n++;
	}
	return (0);
}

int
ct_extra_parse(
    const uint8_t *p, size_t len, struct ct_leaf *l, char *err, size_t errlen)
{
	struct rd r = { p, len, 0, NULL };

	l->precert = NULL;
	l->precert_len = 0;
	memset(&l->chain, 0, sizeof(l->chain));
	if (p == NULL && len > 0)
		return (fail(err, errlen, "no extra_data"));
	if (l->is_precert &&
	    rd_vec(&r, 3, 1, &l->precert, &l->precert_len,
	        "bad pre_certificate length") == -1)
		return (fail(err, errlen, r.fail));
	if (rd_chain(&r, &l->chain) == -1)
		return (fail(err, errlen, r.fail));
	if (r.off != len)
		return (fail(err, errlen, "trailing bytes after extra_data"));
	return (0);
}

long
ct_tile_leaf_next(const uint8_t *p, size_t len, struct ct_tile_leaf *out,
    char *err, size_t errlen)
{
	struct rd      r = { p, len, 0, NULL };
	struct ct_leaf l;
	const uint8_t *ext, *fps;
	size_t         ext_len, fps_len, i;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	if (p == NULL || len == 0)
		return (fail(err, errlen, "empty tile"));
	if (rd_uint(&r, 8, &l.timestamp, "truncated timestamp") == -1 ||
	    rd_signed_entry(&r, &l) == -1 ||
	    rd_vec(&r, 2, 0, &ext, &ext_len, "bad extensions length") == -1)
		return (fail(err, errlen, r.fail));
	out->entry = p;
	out->entry_len = r.off;
	if (l.is_precert &&
	    rd_vec(&r, 3, 1, &out->precert, &out->precert_len,
	        "bad pre_certificate length") == -1)
		return (fail(err, errlen, r.fail));
	if (rd_vec(&r, 2, 0, &fps, &fps_len, "bad fingerprints length") == -1)
		return (fail(err, errlen, r.fail));
	if (fps_len % 32 != 0)
		return (fail(err, errlen, "fingerprints not a multiple of 32"));
	if (fps_len / 32 > CT_MAX_CHAIN)
		return (fail(err, errlen, "chain too long"));
	out->nfp = fps_len / 32;
	for (i = 0; i < out->nfp; i++)
		memcpy(out->fp[i], fps + 32 * i, 32);
	out->timestamp = l.timestamp;
	out->is_precert = l.is_precert;
	out->cert = l.cert;
	out->cert_len = l.cert_len;
	out->issuer_key_hash = l.issuer_key_hash;
	return ((long)r.off);
}
