/*
 * ct_cert.h - X.509 field extraction for the certstream LEAF object
 * (ctwatch process), with OpenSSL, in certstream-server-go's formats
 * (spec certstream.md §2.2-2.5), plus the DER helpers the entry builder
 * needs (TBS wrapping for precertificates, the dedup hash).
 * Pure: no I/O, no logging; errors come back as -1 with a reason.
 */
#ifndef NOTARYD_CT_CERT_H
#define NOTARYD_CT_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "ctwatch/ct_parse.h"

#define CT_MAX_NAMES 4096 /* all_domains entries per certificate */

/* all_domains of one certificate: name i is bytes[off[i]..off[i]+len[i]). */
struct ct_names {
	struct buf bytes;
	size_t     off[CT_MAX_NAMES];
	size_t     len[CT_MAX_NAMES];
	size_t     n;
};

void ct_names_init(struct ct_names *nm);
void ct_names_free(struct ct_names *nm);

/* One DER TLV (single-byte tags, definite lengths up to 4 bytes). */
struct ct_der {
	unsigned       tag;
	const uint8_t *start; /* the tag byte */
	size_t         hdr;   /* tag + length bytes */
	const uint8_t *val;
	size_t         len;   /* content length */
	size_t         total; /* hdr + len */
};

/* The TLV at p[0..len), every length checked.  0, or -1. */
int ct_der_next(const uint8_t *p, size_t len, struct ct_der *t);

/* The fields of a TBSCertificate the LEAF object needs. */
struct ct_tbs {
	struct ct_der serial;     /* INTEGER */
	struct ct_der sigalg;     /* AlgorithmIdentifier (see below) */
	struct ct_der issuer;     /* Name */
	struct ct_der not_before; /* UTCTime or GeneralizedTime */
	struct ct_der not_after;
	struct ct_der subject; /* Name */
	int           has_exts;
	struct ct_der exts; /* SEQUENCE OF Extension */
};

/*
 * Split a Certificate (tbs 0) or a bare TBSCertificate (tbs 1; a
 * precert_entry) without OpenSSL's full decoder (whose public-key decoding
 * dominates its cost and is not needed here).  sigalg is the outer
 * signatureAlgorithm for a Certificate, as GO reports it, and the TBS's
 * signature field for a bare TBS.  No trailing bytes.  0, or -1.
 */
int ct_tbs_parse(const uint8_t *der, size_t len, int tbs, struct ct_tbs *t);

/* ct_fields.c: the scalar fields, as JSON values. */
int ct_put_serial(struct buf *b, const struct ct_der *serial);
int ct_put_time(struct buf *b, const struct ct_der *t);
/* GO's SUBJ object: {"C":..,"CN":..,...,"aggregated":..,"email_address":null} */
int ct_put_subject(struct buf *b, const struct ct_der *name);
/* The last string CommonName (raw UTF-8) into out; 0, or -1 if malformed. */
int ct_subject_cn(const struct ct_der *name, struct buf *out);

/*
 * Write a certificate (tbs 0) or a bare TBS (tbs 1) as a certstream LEAF
 * object split around as_der:
 *   a <- {"all_domains":[...]
 *   b <- ,"extensions":{...},"fingerprint":...,"subject":{...},
 *        "issuer":{...},"is_ca":B}
 * (both appended).  The hashes are of hash_der (the certificate, or the
 * pre_certificate for a precert).  poison forces ctlPoisonByte.  names is
 * reset and receives all_domains.  0, or -1 (err filled).
 */
int ct_cert_json(const uint8_t *der, size_t len, int tbs,
    const uint8_t *hash_der, size_t hash_len, int poison, struct buf *a,
    struct buf *b, struct ct_names *names, char *err, size_t errlen);

/* Standard base64 (with padding) of p, as a JSON string body (no quotes). */
int ct_base64(struct buf *b, const uint8_t *p, size_t len);

/* The TBSCertificate inside a Certificate DER (pointers into der). */
int ct_cert_tbs(
    const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tbslen);

/*
 * SHA-256 of tbs re-encoded without the CT poison and SCT list
 * extensions (the [3] field is dropped when no extension remains).
 * scratch is used for the re-encoding.  0, or -1 when tbs is not DER.
 */
int ct_dedup_hash(
    const uint8_t *tbs, size_t len, struct buf *scratch, uint8_t out[32]);

#endif
