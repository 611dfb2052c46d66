/*
 * ct_cert.c - one certificate as a certstream LEAF object (ctwatch
 * process), in certstream-server-go's formats: all_domains (SAN dNSNames
 * in order, then the subject CN when non-empty, not already present and
 * the certificate is not a CA), SHA-1/SHA-256 as uppercase colon-hex,
 * GO's signature algorithm strings, the GO extension strings (spec §2.5).
 * The TBS is split by hand (ct_der.c) and the scalar fields and names
 * are formatted in ct_fields.c; OpenSSL decodes only the extension values
 * and the signature AlgorithmIdentifier (its full d2i_X509 spends most of
 * its time decoding the public key, which certstream never shows).
 * One deliberate difference from GO (spec §11 #7): ST is the
 * stateOrProvinceName, not the street address.
 * Pure; a certificate whose structure or reported extensions cannot be
 * decoded is malformed (-1, err filled), as GO fails to parse it too.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "common/json.h"
#include "ctwatch/ct_cert.h"

static const char HEXU[] = "0123456789ABCDEF";
static const char HEXL[] = "0123456789abcdef";

void
ct_names_init(struct ct_names *nm)
{
	buf_init(&nm->bytes, CT_MAX_CERT);
	nm->n = 0;
}

void
ct_names_free(struct ct_names *nm)
{
	buf_free(&nm->bytes);
	nm->n = 0;
}

static int
names_has(const struct ct_names *nm, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		if (nm->len[i] == len &&
		    memcmp(nm->bytes.data + nm->off[i], s, len) == 0)
			return (1);
	return (0);
}

static int
names_add(struct ct_names *nm, const void *s, size_t len)
{
	if (nm->n >= CT_MAX_NAMES)
		return (-1);
	nm->off[nm->n] = nm->bytes.len;
	nm->len[nm->n] = len;
	if (buf_append(&nm->bytes, s, len) == -1)
		return (-1);
	nm->n++;
	return (0);
}

/* "AB:CD:..." of a digest. */
static int
put_colonhex(struct buf *b, const uint8_t *d, size_t n, const char *hex)
{
	size_t i;
	char  *o;

	if (n == 0)
		return (0);
	if (buf_reserve(b, n * 3) == -1)
		return (-1);
	o = b->data + b->len;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ':';
		*o++ = hex[d[i] >> 4];
		*o++ = hex[d[i] & 0xf];
	}
	b->len = (size_t)(o - b->data);
	return (0);
}

int
ct_base64(struct buf *b, const uint8_t *p, size_t len)
{
	size_t out = 4 * ((len + 2) / 3);

	if (len > 0x7fffffff / 2 || buf_reserve(b, out + 1) == -1)
		return (-1);
	EVP_EncodeBlock((unsigned char *)b->data + b->len, p, (int)len);
	b->len += out;
	return (0);
}

/* The MGF1 hash of a PSS maskGenAlgorithm, or NID_undef. */
static int
mgf1_hash(const X509_ALGOR *mgf)
{
	const ASN1_OBJECT   *o;
	const void          *pv;
	int                  pt, nid;
	X509_ALGOR          *h;
	const unsigned char *q;

	X509_ALGOR_get0(&o, &pt, &pv, mgf);
	if (OBJ_obj2nid(o) != NID_mgf1 || pt != V_ASN1_SEQUENCE)
		return (NID_undef);
	q = ASN1_STRING_get0_data(pv);
	if ((h = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(pv))) == NULL)
		return (NID_undef);
	nid = OBJ_obj2nid(h->algorithm);
	X509_ALGOR_free(h);
	return (nid);
}

/* GO's RSA-PSS bucket: hash = MGF1 hash, salt = hash size, trailer 1. */
static const char *
pss_name(const X509_ALGOR *alg)
{
	const ASN1_OBJECT   *o;
	const void          *pv;
	int                  pt, hnid, salt;
	RSA_PSS_PARAMS      *pp;
	const unsigned char *q;
	const char          *name = "unknown";

	X509_ALGOR_get0(&o, &pt, &pv, alg);
	if (pt != V_ASN1_SEQUENCE)
		return (name);
	q = ASN1_STRING_get0_data(pv);
	pp = d2i_RSA_PSS_PARAMS(NULL, &q, ASN1_STRING_length(pv));
	if (pp == NULL)
		return (name);
	if (pp->hashAlgorithm == NULL || pp->maskGenAlgorithm == NULL ||
	    pp->saltLength == NULL ||
	    (pp->trailerField != NULL &&
	        ASN1_INTEGER_get(pp->trailerField) != 1))
		goto out;
	hnid = OBJ_obj2nid(pp->hashAlgorithm->algorithm);
	salt = (int)ASN1_INTEGER_get(pp->saltLength);
	if (mgf1_hash(pp->maskGenAlgorithm) != hnid)
		goto out;
	if (hnid == NID_sha256 && salt == 32)
		name = "sha256, rsa-pss";
	else if (hnid == NID_sha384 && salt == 48)
		name = "sha384, rsa-pss";
	else if (hnid == NID_sha512 && salt == 64)
		name = "sha512, rsa-pss";
out:
	RSA_PSS_PARAMS_free(pp);
	return (name);
}

/* The common algorithms by OID (Go ignores their parameters). */
static const struct {
	const char *oid;
	size_t      len;
	const char *name;
} sig_fast[] = {
	{ "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b", 9, "sha256, rsa" },
	{ "\x2a\x86\x48\xce\x3d\x04\x03\x02", 8, "ecdsa, sha256" },
	{ "\x2a\x86\x48\xce\x3d\x04\x03\x03", 8, "ecdsa, sha384" },
	{ "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c", 9, "sha384, rsa" },
	{ "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d", 9, "sha512, rsa" },
};

static const char *
sigalg_name(const struct ct_der *der)
{
	const unsigned char *q = der->start;
	X509_ALGOR          *alg;
	const ASN1_OBJECT   *o;
	const void          *pv;
	const char          *name;
	struct ct_der        oid;
	size_t               i;
	int                  pt;

	if (ct_der_next(der->val, der->len, &oid) == 0 && oid.tag == 0x06)
		for (i = 0; i < sizeof(sig_fast) / sizeof(sig_fast[0]); i++)
			if (oid.len == sig_fast[i].len &&
			    memcmp(oid.val, sig_fast[i].oid, oid.len) == 0)
				return (sig_fast[i].name);
	if ((alg = d2i_X509_ALGOR(NULL, &q, (long)der->total)) == NULL)
		return ("unknown");
	X509_ALGOR_get0(&o, &pt, &pv, alg);
	switch (OBJ_obj2nid(o)) {
	case NID_md2WithRSAEncryption:
		name = "md2, rsa";
		break;
	case NID_md5WithRSAEncryption:
		name = "md5, rsa";
		break;
	case NID_sha1WithRSAEncryption:
	case NID_sha1WithRSA:
		name = "sha1, rsa";
		break;
	case NID_sha256WithRSAEncryption:
		name = "sha256, rsa";
		break;
	case NID_sha384WithRSAEncryption:
		name = "sha384, rsa";
		break;
	case NID_sha512WithRSAEncryption:
		name = "sha512, rsa";
		break;
	case NID_rsassaPss:
		name = pss_name(alg);
		break;
	case NID_dsaWithSHA1:
		name = "dsa, sha1";
		break;
	case NID_dsa_with_SHA256:
		name = "dsa, sha256";
		break;
	case NID_ecdsa_with_SHA1:
		name = "ecdsa, sha1";
		break;
	case NID_ecdsa_with_SHA256:
		name = "ecdsa, sha256";
		break;
	case NID_ecdsa_with_SHA384:
		name = "ecdsa, sha384";
		break;
	case NID_ecdsa_with_SHA512:
		name = "ecdsa, sha512";
		break;
	case NID_ED25519:
		name = pt == V_ASN1_UNDEF ? "ed25519" : "unknown";
		break;
	default:
		name = "unknown";
		break;
	}
	X509_ALGOR_free(alg);
	return (name);
}

/* Go's net.IP.String(): dotted IPv4 (also for v4-mapped IPv6), else
 * RFC 5952 (longest run of two or more zero groups as "::"). */
static int
put_ip(struct buf *b, const uint8_t *a, int len)
{
	static const uint8_t v4map[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	unsigned             g[8];
	int                  i, best = -1, bestn = 0, run;

	if (len == 16 && memcmp(a, v4map, 12) == 0) {
		a += 12;
		len = 4;
	}
	if (len == 4)
		return (buf_printf(b, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]));
	for (i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; i++) {
		for (run = 0; i + run < 8 && g[i + run] == 0; run++)
			;
		if (run >= 2 && run > bestn) {
			best = i;
			bestn = run;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			if (buf_puts(b, "::") == -1)
				return (-1);
			i += bestn - 1;
			continue;
		}
		if (i > 0 && i != best + bestn && buf_puts(b, ":") == -1)
			return (-1);
		if (buf_printf(b, "%x", g[i]) == -1)
			return (-1);
	}
	return (0);
}

/* ", "-separated items (GO's commaAppend) into b. */
static int
sep(struct buf *b, int *first)
{
	if (*first) {
		*first = 0;
		return (0);
	}
	return (buf_append(b, ", ", 2));
}

/* SAN string: DNS names, then emails, then IPs; URIs dropped. */
static int
put_san(struct buf *b, const GENERAL_NAMES *gn)
{
	static const int    order[] = { GEN_DNS, GEN_EMAIL, GEN_IPADD };
	static const char  *pfx[] = { "DNS:", "email:", "IP Address:" };
	const GENERAL_NAME *g;
	const ASN1_STRING  *v;
	int                 i, k, first = 1, rc;

	for (k = 0; k < 3; k++) {
		for (i = 0; i < sk_GENERAL_NAME_num(gn); i++) {
			g = sk_GENERAL_NAME_value(gn, i);
			if (g->type != order[k])
				continue;
			v = g->d.ia5;
			if (order[k] == GEN_IPADD &&
			    ASN1_STRING_length(v) != 4 &&
			    ASN1_STRING_length(v) != 16)
				continue; /* ct-go: non-fatal, dropped */
			if (sep(b, &first) == -1 || buf_puts(b, pfx[k]) == -1)
				return (-1);
			if (order[k] == GEN_IPADD)
				rc = put_ip(b, ASN1_STRING_get0_data(v),
				    ASN1_STRING_length(v));
			else
				rc = json_strbody(b,
				    (const char *)ASN1_STRING_get0_data(v),
				    (size_t)ASN1_STRING_length(v), 0);
			if (rc == -1)
				return (-1);
		}
	}
	return (0);
}

/* AIA: caIssuers URIs, then OCSP URIs. */
static int
put_aia(struct buf *b, const AUTHORITY_INFO_ACCESS *aia)
{
	static const int          method[] = { NID_ad_ca_issuers, NID_ad_OCSP };
	const ACCESS_DESCRIPTION *ad;
	const ASN1_STRING        *u;
	int                       i, k, first = 1;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
			ad = sk_ACCESS_DESCRIPTION_value(aia, i);
			if (OBJ_obj2nid(ad->method) != method[k] ||
			    ad->location->type != GEN_URI)
				continue;
			u = ad->location->d.uniformResourceIdentifier;
			if (sep(b, &first) == -1 || buf_puts(b, "URI:") == -1 ||
			    json_strbody(b,
			        (const char *)ASN1_STRING_get0_data(u),
			        (size_t)ASN1_STRING_length(u), 0) == -1)
				return (-1);
		}
	}
	return (0);
}

static int
put_policies(struct buf *b, const CERTIFICATEPOLICIES *cp)
{
	char oid[256];
	int  i, n;

	for (i = 0; i < sk_POLICYINFO_num(cp); i++) {
		n = OBJ_obj2txt(
		    oid, sizeof(oid), sk_POLICYINFO_value(cp, i)->policyid, 1);
		if (n <= 0 || (size_t)n >= sizeof(oid))
			return (-1);
		if (buf_puts(b, "Policy: ") == -1 ||
		    buf_append(b, oid, (size_t)n) == -1 ||
		    buf_puts(b, "\\n") == -1)
			return (-1);
	}
	return (0);
}

static int
put_keyusage(struct buf *b, const ASN1_BIT_STRING *ku)
{
	static const char *names[] = { "Digital Signature",
		"Content Commitment", "Key Encipherment", "Data Encipherment",
		"Key Agreement", "Certificate Signing", "CRL Signing",
		"Encipher Only", "Decipher Only" };
	int                i, first = 1;

	for (i = 0; i < 9; i++)
		if (ASN1_BIT_STRING_get_bit(ku, i) &&
		    (sep(b, &first) == -1 || buf_puts(b, names[i]) == -1))
			return (-1);
	return (0);
}

static int
put_keyid(struct buf *b, const ASN1_OCTET_STRING *id)
{
	if (buf_puts(b, "keyid:") == -1)
		return (-1);
	if (id == NULL)
		return (0);
	return (put_colonhex(b, ASN1_STRING_get0_data(id),
	    (size_t)ASN1_STRING_length(id), HEXL));
}

enum { E_AIA, E_AKI, E_BC, E_CP, E_KU, E_SAN, E_SKI, E_N };

/* JSON key and OID contents (DER, after tag and length) per extension. */
static const struct {
	const char    *key;
	const uint8_t *oid;
	size_t         oidlen;
} ext_keys[E_N] = {
	{ "authorityInfoAccess",
	    (const uint8_t *)"\x2b\x06\x01\x05\x05\x07\x01\x01", 8 },
	{ "authorityKeyIdentifier", (const uint8_t *)"\x55\x1d\x23", 3 },
	{ "basicConstraints", (const uint8_t *)"\x55\x1d\x13", 3 },
	{ "certificatePolicies", (const uint8_t *)"\x55\x1d\x20", 3 },
	{ "keyUsage", (const uint8_t *)"\x55\x1d\x0f", 3 },
	{ "subjectAltName", (const uint8_t *)"\x55\x1d\x11", 3 },
	{ "subjectKeyIdentifier", (const uint8_t *)"\x55\x1d\x0e", 3 },
};
static const uint8_t oid_poison[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79,
	0x02, 0x04, 0x03 };

struct certext {
	void *val[E_N]; /* decoded extension, or NULL if absent */
	int   poison;
	int   is_ca;
};

static void
certext_free(struct certext *ce)
{
	GENERAL_NAMES_free(ce->val[E_SAN]);
	AUTHORITY_INFO_ACCESS_free(ce->val[E_AIA]);
	AUTHORITY_KEYID_free(ce->val[E_AKI]);
	BASIC_CONSTRAINTS_free(ce->val[E_BC]);
	CERTIFICATEPOLICIES_free(ce->val[E_CP]);
	ASN1_BIT_STRING_free(ce->val[E_KU]);
	ASN1_OCTET_STRING_free(ce->val[E_SKI]);
	memset(ce, 0, sizeof(*ce));
}

/* Decode extension k's extnValue (the OCTET STRING contents). */
static void *
ext_decode(int k, const uint8_t *v, size_t len)
{
	const unsigned char *q = v;
	long                 n = (long)len;

	switch (k) {
	case E_AIA:
		return (d2i_AUTHORITY_INFO_ACCESS(NULL, &q, n));
	case E_AKI:
		return (d2i_AUTHORITY_KEYID(NULL, &q, n));
	case E_BC:
		return (d2i_BASIC_CONSTRAINTS(NULL, &q, n));
	case E_CP:
		return (d2i_CERTIFICATEPOLICIES(NULL, &q, n));
	case E_KU:
		return (d2i_ASN1_BIT_STRING(NULL, &q, n));
	case E_SAN:
		return (d2i_GENERAL_NAMES(NULL, &q, n));
	case E_SKI:
		return (d2i_ASN1_OCTET_STRING(NULL, &q, n));
	}
	return (NULL);
}

/* One Extension: SEQUENCE { OID, [BOOLEAN], OCTET STRING }. */
static int
ext_one(const struct ct_der *e, struct certext *ce)
{
	struct ct_der  oid, t;
	const uint8_t *p = e->val;
	size_t         left = e->len;
	int            k;

	if (e->tag != 0x30 || ct_der_next(p, left, &oid) == -1 ||
	    oid.tag != 0x06)
		return (-1);
	p += oid.total;
	left -= oid.total;
	if (ct_der_next(p, left, &t) == -1)
		return (-1);
	if (t.tag == 0x01) {
		p += t.total;
		left -= t.total;
		if (ct_der_next(p, left, &t) == -1)
			return (-1);
	}
	if (t.tag != 0x04 || t.total != left)
		return (-1);
	if (oid.len == sizeof(oid_poison) &&
	    memcmp(oid.val, oid_poison, oid.len) == 0) {
		ce->poison = 1;
		return (0);
	}
	for (k = 0; k < E_N; k++)
		if (oid.len == ext_keys[k].oidlen &&
		    memcmp(oid.val, ext_keys[k].oid, oid.len) == 0)
			break;
	if (k == E_N || ce->val[k] != NULL)
		return (0);
	if ((ce->val[k] = ext_decode(k, t.val, t.len)) == NULL)
		return (-1);
	return (0);
}

/* Decode the extensions GO reports (the first of each kind). */
static int
certext_scan(const struct ct_tbs *tbs, struct certext *ce)
{
	const uint8_t *p = tbs->exts.val;
	size_t         left = tbs->has_exts ? tbs->exts.len : 0;
	struct ct_der  e;

	memset(ce, 0, sizeof(*ce));
	while (left > 0) {
		if (ct_der_next(p, left, &e) == -1 || ext_one(&e, ce) == -1) {
			certext_free(ce);
			return (-1);
		}
		p += e.total;
		left -= e.total;
	}
	if (ce->val[E_BC] != NULL)
		ce->is_ca = ((BASIC_CONSTRAINTS *)ce->val[E_BC])->ca != 0;
	return (0);
}

static int
put_ext_value(struct buf *b, const struct certext *ce, int k)
{
	const AUTHORITY_KEYID *aki;

	switch (k) {
	case E_AIA:
		return (put_aia(b, ce->val[k]));
	case E_AKI:
		aki = ce->val[k];
		return (put_keyid(b, aki->keyid));
	case E_BC:
		return (buf_puts(b, ce->is_ca ? "CA:TRUE" : "CA:FALSE"));
	case E_CP:
		return (put_policies(b, ce->val[k]));
	case E_KU:
		return (put_keyusage(b, ce->val[k]));
	case E_SAN:
		return (put_san(b, ce->val[k]));
	case E_SKI:
		return (put_keyid(b, ce->val[k]));
	}
	return (-1);
}

static int
put_extensions(struct buf *b, const struct certext *ce, int poison)
{
	int k, first = 1;

	if (buf_puts(b, ",\"extensions\":{") == -1)
		return (-1);
	for (k = 0; k < E_N; k++) {
		if (ce->val[k] == NULL)
			continue;
		if (buf_printf(b, "%s\"%s\":\"", first ? "" : ",",
		        ext_keys[k].key) == -1 ||
		    put_ext_value(b, ce, k) == -1 ||
		    buf_append(b, "\"", 1) == -1)
			return (-1);
		first = 0;
	}
	if ((poison || ce->poison) &&
	    buf_printf(b, "%s\"ctlPoisonByte\":true", first ? "" : ",") == -1)
		return (-1);
	return (buf_append(b, "}", 1));
}

/* all_domains: SAN dNSNames in order, then the CN (GO's rule). */
static int
collect_names(const struct ct_tbs *tbs, const struct certext *ce,
    struct ct_names *nm, struct buf *cn)
{
	const GENERAL_NAMES *gn = ce->val[E_SAN];
	const GENERAL_NAME  *g;
	int                  i;

	buf_reset(&nm->bytes);
	nm->n = 0;
	for (i = 0; gn != NULL && i < sk_GENERAL_NAME_num(gn); i++) {
		g = sk_GENERAL_NAME_value(gn, i);
		if (g->type == GEN_DNS &&
		    names_add(nm, ASN1_STRING_get0_data(g->d.dNSName),
		        (size_t)ASN1_STRING_length(g->d.dNSName)) == -1)
			return (-1);
	}
	if (ce->is_ca)
		return (0);
	if (ct_subject_cn(&tbs->subject, cn) == -1)
		return (-1);
	if (cn->len > 0 && !names_has(nm, cn->data, cn->len))
		return (names_add(nm, cn->data, cn->len));
	return (0);
}

static int
put_hashes(struct buf *b, const uint8_t *der, size_t len)
{
	uint8_t s1[SHA_DIGEST_LENGTH], s256[SHA256_DIGEST_LENGTH];
	size_t  start;

	SHA1(der, len, s1);
	SHA256(der, len, s256);
	if (buf_puts(b, ",\"fingerprint\":\"") == -1)
		return (-1);
	start = b->len;
	if (put_colonhex(b, s1, sizeof(s1), HEXU) == -1 ||
	    buf_puts(b, "\",\"sha1\":\"") == -1 || buf_reserve(b, 59) == -1)
		return (-1);
	memcpy(b->data + b->len, b->data + start, 59);
	b->len += 59;
	if (buf_puts(b, "\",\"sha256\":\"") == -1 ||
	    put_colonhex(b, s256, sizeof(s256), HEXU) == -1)
		return (-1);
	return (buf_append(b, "\"", 1));
}

static int
put_body(struct buf *b, const struct ct_tbs *tbs, const struct certext *ce,
    int poison, const uint8_t *der, size_t len)
{
	if (put_extensions(b, ce, poison) == -1 ||
	    put_hashes(b, der, len) == -1 ||
	    buf_puts(b, ",\"not_after\":") == -1 ||
	    ct_put_time(b, &tbs->not_after) == -1 ||
	    buf_puts(b, ",\"not_before\":") == -1 ||
	    ct_put_time(b, &tbs->not_before) == -1 ||
	    buf_puts(b, ",\"serial_number\":") == -1 ||
	    ct_put_serial(b, &tbs->serial) == -1 ||
	    buf_printf(b, ",\"signature_algorithm\":\"%s\",\"subject\":",
	        sigalg_name(&tbs->sigalg)) == -1 ||
	    ct_put_subject(b, &tbs->subject) == -1 ||
	    buf_puts(b, ",\"issuer\":") == -1 ||
	    ct_put_subject(b, &tbs->issuer) == -1)
		return (-1);
	return (
	    buf_puts(b, ce->is_ca ? ",\"is_ca\":true}" : ",\"is_ca\":false}"));
}

int
ct_cert_json(const uint8_t *der, size_t len, int tbs_only,
    const uint8_t *hash_der, size_t hash_len, int poison, struct buf *a,
    struct buf *b, struct ct_names *names, char *err, size_t errlen)
{
	struct ct_tbs  tbs;
	struct certext ce;
	struct buf     cn;
	size_t         i;
	int            rc = -1;

	if (len > CT_MAX_CERT || ct_tbs_parse(der, len, tbs_only, &tbs) == -1) {
		snprintf(err, errlen, "undecodable certificate");
		return (-1);
	}
	if (certext_scan(&tbs, &ce) == -1) {
		snprintf(err, errlen, "undecodable certificate extension");
		return (-1);
	}
	buf_init(&cn, CT_MAX_CERT);
	if (collect_names(&tbs, &ce, names, &cn) == -1) {
		snprintf(err, errlen, "bad subject or too many names");
		goto out;
	}
	if (buf_puts(a, "{\"all_domains\":[") == -1)
		goto toolarge;
	for (i = 0; i < names->n; i++)
		if ((i > 0 && buf_append(a, ",", 1) == -1) ||
		    json_str(a, names->bytes.data + names->off[i],
		        names->len[i], 0) == -1)
			goto toolarge;
	if (buf_append(a, "]", 1) == -1)
		goto toolarge;
	if (put_body(b, &tbs, &ce, poison, hash_der, hash_len) == -1) {
		snprintf(
		    err, errlen, "malformed or oversized certificate field");
		goto out;
	}
	rc = 0;
	goto out;
toolarge:
	snprintf(err, errlen, "certificate JSON too large");
out:
	buf_free(&cn);
	certext_free(&ce);
	return (rc);
}
