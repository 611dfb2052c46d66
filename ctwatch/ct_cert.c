/*
 * ct_cert.c - one certificate as a certstream LEAF object (ctwatch
 * process), in certstream-server-go's formats: all_domains (SAN dNSNames
 * in order, then the subject CN when non-empty, not already present and
 * the certificate is not a CA), SHA-1/SHA-256 as uppercase colon-hex,
 * serial as even-length uppercase hex, GO's signature algorithm strings,
 * the GO extension strings (spec §2.5), subject/issuer with aggregated.
 * One deliberate difference from GO (spec §11 #7): ST is the
 * stateOrProvinceName, not the street address.
 * Pure; a certificate whose extensions OpenSSL cannot decode is reported
 * malformed (-1, err filled), as GO fails to parse it too.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

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
	size_t	i;

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
	size_t	i;
	char	*o;

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
	size_t	out = 4 * ((len + 2) / 3);

	if (len > 0x7fffffff / 2 || buf_reserve(b, out + 1) == -1)
		return (-1);
	EVP_EncodeBlock((unsigned char *)b->data + b->len, p, (int)len);
	b->len += out;
	return (0);
}

/* big.Int "%X" (sign, no leading zeros), then "0"-padded to even length. */
static int
put_serial(struct buf *b, const ASN1_INTEGER *ai)
{
	char		 hx[2 * 64 + 1], out[2 * 64 + 4];
	const uint8_t	*d = ASN1_STRING_get0_data(ai);
	int		 n = ASN1_STRING_length(ai), i = 0, h = 0, o = 0;

	hx[0] = '0';
	while (i < n && d[i] == 0)
		i++;
	if (n - i > 64)
		return (-1);
	if (i == n)
		h = 1;
	for (; i < n; i++) {
		if (h > 0 || d[i] >= 0x10)
			hx[h++] = HEXU[d[i] >> 4];
		hx[h++] = HEXU[d[i] & 0xf];
	}
	out[o++] = '"';
	if (ASN1_STRING_type(ai) == V_ASN1_NEG_INTEGER && hx[0] != '0') {
		if ((h + 1) % 2 == 1)
			out[o++] = '0';
		out[o++] = '-';
	} else if (h % 2 == 1)
		out[o++] = '0';
	memcpy(out + o, hx, (size_t)h);
	o += h;
	out[o++] = '"';
	return (buf_append(b, out, (size_t)o));
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + (int64_t)doe - 719468);
}

static int
put_time(struct buf *b, const ASN1_TIME *t)
{
	struct tm	tm;
	int64_t		s;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return (-1);
	s = days_from_civil((int64_t)tm.tm_year + 1900,
	    (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) * 86400 +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return (json_i64(b, s));
}

/* The MGF1 hash of a PSS maskGenAlgorithm, or NID_undef. */
static int
mgf1_hash(const X509_ALGOR *mgf)
{
	const ASN1_OBJECT	*o;
	const void		*pv;
	int			 pt, nid;
	X509_ALGOR		*h;
	const unsigned char	*q;

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
	const ASN1_OBJECT	*o;
	const void		*pv;
	int			 pt, hnid, salt;
	RSA_PSS_PARAMS		*pp;
	const unsigned char	*q;
	const char		*name = "unknown";

	X509_ALGOR_get0(&o, &pt, &pv, alg);
	if (pt != V_ASN1_SEQUENCE)
		return (name);
	q = ASN1_STRING_get0_data(pv);
	pp = d2i_RSA_PSS_PARAMS(NULL, &q, ASN1_STRING_length(pv));
	if (pp == NULL)
		return (name);
	if (pp->hashAlgorithm == NULL || pp->maskGenAlgorithm == NULL ||
	    pp->saltLength == NULL || (pp->trailerField != NULL &&
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

static const char *
sigalg_name(const X509 *x)
{
	const X509_ALGOR	*alg;
	const ASN1_BIT_STRING	*sig;
	const ASN1_OBJECT	*o;
	int			 pt;
	const void		*pv;

	X509_get0_signature(&sig, &alg, x);
	X509_ALGOR_get0(&o, &pt, &pv, alg);
	switch (OBJ_obj2nid(o)) {
	case NID_md2WithRSAEncryption:	return ("md2, rsa");
	case NID_md5WithRSAEncryption:	return ("md5, rsa");
	case NID_sha1WithRSAEncryption:
	case NID_sha1WithRSA:		return ("sha1, rsa");
	case NID_sha256WithRSAEncryption: return ("sha256, rsa");
	case NID_sha384WithRSAEncryption: return ("sha384, rsa");
	case NID_sha512WithRSAEncryption: return ("sha512, rsa");
	case NID_rsassaPss:		return (pss_name(alg));
	case NID_dsaWithSHA1:		return ("dsa, sha1");
	case NID_dsa_with_SHA256:	return ("dsa, sha256");
	case NID_ecdsa_with_SHA1:	return ("ecdsa, sha1");
	case NID_ecdsa_with_SHA256:	return ("ecdsa, sha256");
	case NID_ecdsa_with_SHA384:	return ("ecdsa, sha384");
	case NID_ecdsa_with_SHA512:	return ("ecdsa, sha512");
	case NID_ED25519:
		return (pt == V_ASN1_UNDEF ? "ed25519" : "unknown");
	default:			return ("unknown");
	}
}

/*
 * The string value of a name attribute as Go's asn1 decodes it: the
 * string types only (others are skipped: 0 with *s NULL).  T61 (Latin-1)
 * and BMP are converted to UTF-8 into tmp (caller frees).
 */
static void
attr_string(const ASN1_STRING *v, const char **s, size_t *len,
    unsigned char **tmp)
{
	int	n;

	*s = NULL;
	*len = 0;
	*tmp = NULL;
	switch (ASN1_STRING_type(v)) {
	case V_ASN1_UTF8STRING:
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_NUMERICSTRING:
		*s = (const char *)ASN1_STRING_get0_data(v);
		*len = (size_t)ASN1_STRING_length(v);
		return;
	case V_ASN1_T61STRING:
	case V_ASN1_BMPSTRING:
		n = ASN1_STRING_to_UTF8(tmp, v);
		if (n >= 0) {
			*s = (const char *)*tmp;
			*len = (size_t)n;
		}
		return;
	}
}

/*
 * Append the values of attribute nid joined with ',' (escaped, no quotes)
 * to b; *found = number of values.  With last_only, only the last value
 * (Go's CommonName).
 */
static int
name_field(struct buf *b, const X509_NAME *nm, int nid, int last_only,
    int *found)
{
	int		 i, cnt = X509_NAME_entry_count(nm), last = -1, rc = 0;
	const char	*s;
	size_t		 len;
	unsigned char	*tmp;
	X509_NAME_ENTRY	*e;

	*found = 0;
	for (i = 0; i < cnt; i++) {
		e = X509_NAME_get_entry(nm, i);
		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != nid)
			continue;
		attr_string(X509_NAME_ENTRY_get_data(e), &s, &len, &tmp);
		if (s != NULL && last_only)
			last = i;
		else if (s != NULL) {
			if (*found > 0 && buf_append(b, ",", 1) == -1)
				rc = -1;
			else
				rc = json_strbody(b, s, len, 0);
			(*found)++;
		}
		OPENSSL_free(tmp);
		if (rc == -1)
			return (-1);
	}
	if (last_only && last >= 0) {
		e = X509_NAME_get_entry(nm, last);
		attr_string(X509_NAME_ENTRY_get_data(e), &s, &len, &tmp);
		rc = json_strbody(b, s, len, 0);
		OPENSSL_free(tmp);
		*found = 1;
	}
	return (rc);
}

static const struct {
	const char	*key;
	int		 nid;
} subj_fields[] = {
	{ "C", NID_countryName },
	{ "CN", NID_commonName },
	{ "L", NID_localityName },
	{ "O", NID_organizationName },
	{ "OU", NID_organizationalUnitName },
	{ "ST", NID_stateOrProvinceName },
};
#define NSUBJ	(sizeof(subj_fields) / sizeof(subj_fields[0]))

/* {"C":..,"CN":..,"L":..,"O":..,"OU":..,"ST":..,"aggregated":..,
 *  "email_address":null} */
static int
put_subject(struct buf *b, const X509_NAME *nm)
{
	size_t	off[NSUBJ], len[NSUBJ], i, save;
	int	found;

	if (buf_append(b, "{", 1) == -1)
		return (-1);
	for (i = 0; i < NSUBJ; i++) {
		if (buf_printf(b, "%s\"%s\":\"", i ? "," : "",
		    subj_fields[i].key) == -1)
			return (-1);
		save = b->len - 1;
		off[i] = b->len;
		if (name_field(b, nm, subj_fields[i].nid,
		    subj_fields[i].nid == NID_commonName, &found) == -1)
			return (-1);
		len[i] = b->len - off[i];
		if (found == 0 && subj_fields[i].nid != NID_commonName) {
			b->len = save;
			off[i] = len[i] = (size_t)-1;
			if (buf_append(b, "null", 4) == -1)
				return (-1);
		} else if (buf_append(b, "\"", 1) == -1)
			return (-1);
	}
	if (buf_append(b, ",\"aggregated\":\"", 15) == -1)
		return (-1);
	for (i = 0; i < NSUBJ; i++) {
		if (off[i] == (size_t)-1)
			continue;
		if (buf_printf(b, "/%s=", subj_fields[i].key) == -1 ||
		    buf_reserve(b, len[i]) == -1)
			return (-1);
		memcpy(b->data + b->len, b->data + off[i], len[i]);
		b->len += len[i];
	}
	return (buf_puts(b, "\",\"email_address\":null}"));
}

/* The raw (unescaped) CommonName Go would keep: the last string CN. */
static void
subject_cn(const X509_NAME *nm, struct buf *out)
{
	int		 i, cnt = X509_NAME_entry_count(nm);
	const char	*s;
	size_t		 len;
	unsigned char	*tmp;
	X509_NAME_ENTRY	*e;

	buf_reset(out);
	for (i = cnt - 1; i >= 0; i--) {
		e = X509_NAME_get_entry(nm, i);
		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) !=
		    NID_commonName)
			continue;
		attr_string(X509_NAME_ENTRY_get_data(e), &s, &len, &tmp);
		if (s != NULL) {
			(void)buf_append(out, s, len);
			OPENSSL_free(tmp);
			return;
		}
		OPENSSL_free(tmp);
	}
}

/* Go's net.IP.String(): dotted IPv4 (also for v4-mapped IPv6), else
 * RFC 5952 (longest run of two or more zero groups as "::"). */
static int
put_ip(struct buf *b, const uint8_t *a, int len)
{
	static const uint8_t	v4map[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	unsigned		g[8];
	int			i, best = -1, bestn = 0, run;

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
	static const int	 order[] = { GEN_DNS, GEN_EMAIL, GEN_IPADD };
	static const char	*pfx[] = { "DNS:", "email:", "IP Address:" };
	const GENERAL_NAME	*g;
	const ASN1_STRING	*v;
	int			 i, k, first = 1, rc;

	for (k = 0; k < 3; k++) {
		for (i = 0; i < sk_GENERAL_NAME_num(gn); i++) {
			g = sk_GENERAL_NAME_value(gn, i);
			if (g->type != order[k])
				continue;
			v = g->d.ia5;
			if (order[k] == GEN_IPADD && ASN1_STRING_length(v) != 4 &&
			    ASN1_STRING_length(v) != 16)
				continue;	/* ct-go: non-fatal, dropped */
			if (sep(b, &first) == -1 || buf_puts(b, pfx[k]) == -1)
				return (-1);
			if (order[k] == GEN_IPADD)
				rc = put_ip(b, ASN1_STRING_get0_data(v),
				    ASN1_STRING_length(v));
			else
				rc = json_strbody(b, (const char *)
				    ASN1_STRING_get0_data(v),
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
	static const int	 method[] = { NID_ad_ca_issuers, NID_ad_OCSP };
	const ACCESS_DESCRIPTION *ad;
	const ASN1_STRING	*u;
	int			 i, k, first = 1;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
			ad = sk_ACCESS_DESCRIPTION_value(aia, i);
			if (OBJ_obj2nid(ad->method) != method[k] ||
			    ad->location->type != GEN_URI)
				continue;
			u = ad->location->d.uniformResourceIdentifier;
			if (sep(b, &first) == -1 || buf_puts(b, "URI:") == -1 ||
			    json_strbody(b, (const char *)ASN1_STRING_get0_data(u),
			    (size_t)ASN1_STRING_length(u), 0) == -1)
				return (-1);
		}
	}
	return (0);
}

static int
put_policies(struct buf *b, const CERTIFICATEPOLICIES *cp)
{
	char	oid[256];
	int	i, n;

	for (i = 0; i < sk_POLICYINFO_num(cp); i++) {
		n = OBJ_obj2txt(oid, sizeof(oid),
		    sk_POLICYINFO_value(cp, i)->policyid, 1);
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
	int	i, first = 1;

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

static const struct {
	const char	*key;
	int		 nid;
} ext_keys[E_N] = {
	{ "authorityInfoAccess", NID_info_access },
	{ "authorityKeyIdentifier", NID_authority_key_identifier },
	{ "basicConstraints", NID_basic_constraints },
	{ "certificatePolicies", NID_certificate_policies },
	{ "keyUsage", NID_key_usage },
	{ "subjectAltName", NID_subject_alt_name },
	{ "subjectKeyIdentifier", NID_subject_key_identifier },
};

struct certext {
	void	*val[E_N];	/* decoded extension, or NULL if absent */
	int	 poison;
	int	 is_ca;
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

/* Decode the extensions GO reports (the first of each kind). */
static int
certext_scan(const X509 *x, struct certext *ce)
{
	X509_EXTENSION	*ext;
	int		 i, k, nid, n = X509_get_ext_count(x);

	memset(ce, 0, sizeof(*ce));
	for (i = 0; i < n; i++) {
		ext = X509_get_ext(x, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		if (nid == NID_ct_precert_poison) {
			ce->poison = 1;
			continue;
		}
		for (k = 0; k < E_N; k++)
			if (ext_keys[k].nid == nid)
				break;
		if (k == E_N || ce->val[k] != NULL)
			continue;
		if ((ce->val[k] = X509V3_EXT_d2i(ext)) == NULL) {
			certext_free(ce);
			return (-1);
		}
	}
	if (ce->val[E_BC] != NULL)
		ce->is_ca = ((BASIC_CONSTRAINTS *)ce->val[E_BC])->ca != 0;
	return (0);
}

static int
put_ext_value(struct buf *b, const struct certext *ce, int k)
{
	const AUTHORITY_KEYID	*aki;

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
	int	k, first = 1;

	if (buf_puts(b, ",\"extensions\":{") == -1)
		return (-1);
	for (k = 0; k < E_N; k++) {
		if (ce->val[k] == NULL)
			continue;
		if (buf_printf(b, "%s\"%s\":\"", first ? "" : ",",
		    ext_keys[k].key) == -1 || put_ext_value(b, ce, k) == -1 ||
		    buf_append(b, "\"", 1) == -1)
			return (-1);
		first = 0;
	}
	if ((poison || ce->poison) && buf_printf(b, "%s\"ctlPoisonByte\":true",
	    first ? "" : ",") == -1)
		return (-1);
	return (buf_append(b, "}", 1));
}

/* all_domains: SAN dNSNames in order, then the CN (GO's rule). */
static int
collect_names(const X509 *x, const struct certext *ce, struct ct_names *nm)
{
	const GENERAL_NAMES	*gn = ce->val[E_SAN];
	const GENERAL_NAME	*g;
	struct buf		 cn;
	int			 i, rc = 0;

	buf_reset(&nm->bytes);
	nm->n = 0;
	for (i = 0; gn != NULL && i < sk_GENERAL_NAME_num(gn); i++) {
		g = sk_GENERAL_NAME_value(gn, i);
		if (g->type == GEN_DNS && names_add(nm,
		    ASN1_STRING_get0_data(g->d.dNSName),
		    (size_t)ASN1_STRING_length(g->d.dNSName)) == -1)
			return (-1);
	}
	if (ce->is_ca)
		return (0);
	buf_init(&cn, CT_MAX_CERT);
	subject_cn(X509_get_subject_name(x), &cn);
	if (cn.len > 0 && !names_has(nm, cn.data, cn.len))
		rc = names_add(nm, cn.data, cn.len);
	buf_free(&cn);
	return (rc);
}

static int
put_hashes(struct buf *b, const uint8_t *der, size_t len)
{
	uint8_t	s1[SHA_DIGEST_LENGTH], s256[SHA256_DIGEST_LENGTH];
	size_t	start;

	SHA1(der, len, s1);
	SHA256(der, len, s256);
	if (buf_puts(b, ",\"fingerprint\":\"") == -1)
		return (-1);
	start = b->len;
	if (put_colonhex(b, s1, sizeof(s1), HEXU) == -1 ||
	    buf_puts(b, "\",\"sha1\":\"") == -1 ||
	    buf_reserve(b, 59) == -1)
		return (-1);
	memcpy(b->data + b->len, b->data + start, 59);
	b->len += 59;
	if (buf_puts(b, "\",\"sha256\":\"") == -1 ||
	    put_colonhex(b, s256, sizeof(s256), HEXU) == -1)
		return (-1);
	return (buf_append(b, "\"", 1));
}

static int
put_body(struct buf *b, X509 *x, const struct certext *ce, int poison,
    const uint8_t *der, size_t len)
{
	if (put_extensions(b, ce, poison) == -1 ||
	    put_hashes(b, der, len) == -1 ||
	    buf_puts(b, ",\"not_after\":") == -1 ||
	    put_time(b, X509_get0_notAfter(x)) == -1 ||
	    buf_puts(b, ",\"not_before\":") == -1 ||
	    put_time(b, X509_get0_notBefore(x)) == -1 ||
	    buf_puts(b, ",\"serial_number\":") == -1 ||
	    put_serial(b, X509_get0_serialNumber(x)) == -1 ||
	    buf_printf(b, ",\"signature_algorithm\":\"%s\",\"subject\":",
	    sigalg_name(x)) == -1 ||
	    put_subject(b, X509_get_subject_name(x)) == -1 ||
	    buf_puts(b, ",\"issuer\":") == -1 ||
	    put_subject(b, X509_get_issuer_name(x)) == -1)
		return (-1);
	return (buf_puts(b, ce->is_ca ? ",\"is_ca\":true}" :
	    ",\"is_ca\":false}"));
}

int
ct_cert_json(X509 *x, const uint8_t *hash_der, size_t hash_len, int poison,
    struct buf *a, struct buf *b, struct ct_names *names, char *err,
    size_t errlen)
{
	struct certext	ce;
	size_t		i;
	int		rc = -1;

	if (certext_scan(x, &ce) == -1) {
		snprintf(err, errlen, "undecodable certificate extension");
		return (-1);
	}
	if (collect_names(x, &ce, names) == -1) {
		snprintf(err, errlen, "too many names");
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
	if (put_body(b, x, &ce, poison, hash_der, hash_len) == -1) {
		snprintf(err, errlen, "unrepresentable certificate field");
		goto out;
	}
	rc = 0;
	goto out;
toolarge:
	snprintf(err, errlen, "certificate JSON too large");
out:
	certext_free(&ce);
	return (rc);
}
