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

#include <openssl/x509.h>

#include "common/buf.h"
#include "ctwatch/ct_parse.h"

#define CT_MAX_NAMES	4096	/* all_domains entries per certificate */

/* all_domains of one certificate: name i is bytes[off[i]..off[i]+len[i]). */
struct ct_names {
	struct buf	 bytes;
	size_t		 off[CT_MAX_NAMES];
	size_t		 len[CT_MAX_NAMES];
	size_t		 n;
};

void	ct_names_init(struct ct_names *nm);
void	ct_names_free(struct ct_names *nm);

/*
 * Decode a certificate.  With tbs set, der is a bare TBSCertificate (a
 * precert_entry) and is wrapped into a Certificate with the TBS's own
 * signature algorithm and an empty signature, using scratch.  Returns the
 * X509 (caller frees), or NULL (err filled).
 */
X509	*ct_cert_decode(const uint8_t *der, size_t len, int tbs,
	    struct buf *scratch, char *err, size_t errlen);

/*
 * Write x as a certstream LEAF object split around as_der:
 *   a <- {"all_domains":[...]
 *   b <- ,"extensions":{...},"fingerprint":...,"subject":{...},
 *        "issuer":{...},"is_ca":B}
 * (both appended).  The hashes are of hash_der (the certificate, or the
 * pre_certificate for a precert).  poison forces ctlPoisonByte.  names,
 * when not NULL, is reset and receives all_domains.  0, or -1 (err filled).
 */
int	ct_cert_json(X509 *x, const uint8_t *hash_der, size_t hash_len,
	    int poison, struct buf *a, struct buf *b, struct ct_names *names,
	    char *err, size_t errlen);

/* Standard base64 (with padding) of p, as a JSON string body (no quotes). */
int	ct_base64(struct buf *b, const uint8_t *p, size_t len);

/* The TBSCertificate inside a Certificate DER (pointers into der). */
int	ct_cert_tbs(const uint8_t *der, size_t len, const uint8_t **tbs,
	    size_t *tbslen);

/*
 * SHA-256 of tbs re-encoded without the CT poison and SCT list
 * extensions (the [3] field is dropped when no extension remains).
 * scratch is used for the re-encoding.  0, or -1 when tbs is not DER.
 */
int	ct_dedup_hash(const uint8_t *tbs, size_t len, struct buf *scratch,
	    uint8_t out[32]);

#endif
