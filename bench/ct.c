/*
 * ct.c - CT entry throughput of one core: entries parsed, serialised into
 * the three certstream messages + NAMES, packed as a stream record and
 * published into a ring, per second; against the raw cost of OpenSSL
 * d2i_X509 + SHA-256 over the same DER, measured in the same run.
 *
 * The entries are generated here, without the network: a few template
 * certificates (RSA and ECDSA issuers, RSA and ECDSA leaf keys, 1 to 40
 * SANs, half of them precertificates with the poison extension, the rest
 * final certificates with an SCT list) are made with OpenSSL, and each
 * entry patches a fresh serial and fresh names into a template's DER
 * (signatures are then invalid, which parsing never checks).  Entries are
 * made in batches of 10,000 outside the timed sections.
 * Usage: bench/ct [-n entries] [-o] (-o: skip the raw baseline, for
 * profiling).  Part of "make bench", not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/ring.h"
#include "common/streamrec.h"
#include "ctwatch/ct_parse.h"

#define NTMPL		32
#define BATCH		10000
#define MARK_NAME	"AAAAAAAA"
#define MARK_SERIAL	"SSSSSSSSSSSSSS"

int	main(int, char *[]);

struct tmpl {
	int		 precert;
	uint8_t		*der;		/* certificate or precertificate */
	size_t		 der_len;
	uint8_t		*tbs;		/* precert: TBS without poison */
	size_t		 tbs_len;
	uint8_t		 ikh[32];
	uint8_t		*chain;		/* encoded chain (u24 list body) */
	size_t		 chain_len;
};

struct issuer {
	X509		*cert;
	EVP_PKEY	*key;
	uint8_t		*der;
	size_t		 der_len;
};

static EVP_PKEY *
keygen(int rsa)
{
	EVP_PKEY	*k = rsa ? EVP_RSA_gen(2048) :
			    EVP_EC_gen("P-256");

	if (k == NULL) {
		fprintf(stderr, "bench/ct: keygen failed\n");
		exit(1);
	}
	return (k);
}

static void
add_ext(X509 *x, X509 *iss, int nid, const char *val)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&ctx, iss, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, val);
	if (e == NULL || !X509_add_ext(x, e, -1)) {
		fprintf(stderr, "bench/ct: extension %d failed\n", nid);
		exit(1);
	}
	X509_EXTENSION_free(e);
}

static void
add_raw_ext(X509 *x, int nid, int crit, const uint8_t *v, size_t len)
{
	ASN1_OCTET_STRING	*os = ASN1_OCTET_STRING_new();
	X509_EXTENSION		*e;

	ASN1_OCTET_STRING_set(os, v, (int)len);
	e = X509_EXTENSION_create_by_NID(NULL, nid, crit, os);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
}

static uint8_t *
to_der(X509 *x, size_t *len)
{
	unsigned char	*d = NULL;
	int		 n = i2d_X509(x, &d);

	if (n <= 0)
		exit(1);
	*len = (size_t)n;
	return (d);
}

/* A certificate; ca: a CA (issuer NULL: self-signed). */
static X509 *
mkcert(const char *cn, EVP_PKEY *key, struct issuer *iss, int ca,
    int nsan, int precert)
{
	X509		*x = X509_new();
	X509_NAME	*nm = X509_NAME_new();
	uint8_t		 serial[16] = { 0x7e, 0x5a };
	ASN1_INTEGER	*ai = ASN1_INTEGER_new();
	char		 san[4096];
	uint8_t		 sct[240];
	size_t		 o = 0;
	int		 i;

	X509_set_version(x, 2);
	memcpy(serial + 2, MARK_SERIAL, 14);
	ASN1_STRING_set(ai, serial, 16);
	X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_ASC,
	    (const unsigned char *)"US", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
	    (const unsigned char *)"Bench CA Inc", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, iss ? X509_get_subject_name(iss->cert) : nm);
	X509_NAME_free(nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400);
	X509_set_pubkey(x, key);
	if (ca) {
		add_ext(x, iss ? iss->cert : x, NID_basic_constraints,
		    "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(x, x, NID_subject_key_identifier, "hash");
	} else {
		add_ext(x, iss->cert, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, iss->cert, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		add_ext(x, iss->cert, NID_ext_key_usage, "serverAuth,clientAuth");
		add_ext(x, iss->cert, NID_subject_key_identifier, "hash");
		add_ext(x, iss->cert, NID_authority_key_identifier, "keyid");
		add_ext(x, iss->cert, NID_info_access,
		    "OCSP;URI:http://o.bench.example,"
		    "caIssuers;URI:http://i.bench.example/i.crt");
		add_raw_ext(x, NID_certificate_policies, 0, (const uint8_t *)
		    "\x30\x0a\x30\x08\x06\x06\x67\x81\x0c\x01\x02\x01", 12);
		o = (size_t)snprintf(san, sizeof(san), "DNS:n%s.bench.example",
		    MARK_NAME);
		for (i = 1; i < nsan; i++)
			o += (size_t)snprintf(san + o, sizeof(san) - o,
			    ",DNS:s%d.n%s.bench.example", i, MARK_NAME);
		add_ext(x, iss->cert, NID_subject_alt_name, san);
		if (precert)
			add_raw_ext(x, NID_ct_precert_poison, 1,
			    (const uint8_t *)"\x05\x00", 2);
		else {
			memset(sct, 0x5c, sizeof(sct));
			sct[0] = 0x00;
			sct[1] = sizeof(sct) - 2;
			add_raw_ext(x, NID_ct_precert_scts, 0, sct, sizeof(sct));
		}
	}
	if (!X509_sign(x, iss ? iss->key : key, EVP_sha256()))
		exit(1);
	return (x);
}

static void
mkissuer(struct issuer *is, const char *cn, int rsa, struct issuer *parent)
{
	is->key = keygen(rsa);
	is->cert = mkcert(cn, is->key, parent, 1, 0, 0);
	is->der = to_der(is->cert, &is->der_len);
}

static void
put24(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void
mktmpl(struct tmpl *t, int k, struct issuer *iss, struct issuer *root,
    EVP_PKEY *leafkey)
{
	static const int	 nsans[] = { 1, 3, 10, 40 };
	X509			*x;
	unsigned char		*d = NULL, *spki = NULL;
	int			 n, pos;

	memset(t, 0, sizeof(*t));
	t->precert = k & 1;
	x = mkcert("n" MARK_NAME ".bench.example", leafkey, iss, 0,
	    nsans[(k >> 3) & 3], t->precert);
	t->der = to_der(x, &t->der_len);
	if (t->precert) {
		pos = X509_get_ext_by_NID(x, NID_ct_precert_poison, -1);
		X509_EXTENSION_free(X509_delete_ext(x, pos));
		n = i2d_re_X509_tbs(x, &d);
		t->tbs = d;
		t->tbs_len = (size_t)n;
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(iss->cert), &spki);
		SHA256(spki, (size_t)n, t->ikh);
		OPENSSL_free(spki);
	}
	X509_free(x);
	t->chain_len = 6 + iss->der_len + root->der_len;
	t->chain = malloc(t->chain_len);
	put24(t->chain, iss->der_len);
	memcpy(t->chain + 3, iss->der, iss->der_len);
	put24(t->chain + 3 + iss->der_len, root->der_len);
	memcpy(t->chain + 6 + iss->der_len, root->der, root->der_len);
}

/* Replace every occurrence of mark (len n) in p[0..len) with rep. */
static void
patch(uint8_t *p, size_t len, const char *mark, const uint8_t *rep, size_t n)
{
	uint8_t	*q = p, *end = p + len;

	while ((q = memmem(q, (size_t)(end - q), mark, n)) != NULL) {
		memcpy(q, rep, n);
		q += n;
	}
}

struct ent {
	size_t		 leaf_off, leaf_len, extra_off, extra_len;
	size_t		 der_off, der_len;	/* leaf or precert DER */
	const struct tmpl *t;
};

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;
static int	ours_only;

static uint64_t
xrand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng);
}

/* Entry i of template t appended to store. */
static void
mkentry(struct buf *store, struct ent *e, const struct tmpl *t, uint64_t i)
{
	uint8_t	 name[9], serial[14], hdr[48], *der, *tbs;
	size_t	 k, h = 0;

	snprintf((char *)name, sizeof(name), "%08llu",
	    (unsigned long long)(i % 100000000));
	for (k = 0; k < sizeof(serial); k++)
		serial[k] = (uint8_t)xrand();
	e->t = t;
	/* the certificate (or precertificate) */
	e->der_off = store->len;
	e->der_len = t->der_len;
	buf_append(store, t->der, t->der_len);
	der = (uint8_t *)store->data + e->der_off;
	patch(der, t->der_len, MARK_NAME, name, 8);
	patch(der, t->der_len, MARK_SERIAL, serial, 14);
	/* leaf_input */
	hdr[h++] = 0;
	hdr[h++] = 0;
	for (k = 0; k < 8; k++)
		hdr[h++] = (uint8_t)((1700000000000ULL + i) >> (56 - 8 * k));
	hdr[h++] = 0;
	hdr[h++] = (uint8_t)t->precert;
	if (t->precert) {
		memcpy(hdr + h, t->ikh, 32);
		h += 32;
	}
	put24(hdr + h, t->precert ? t->tbs_len : t->der_len);
	h += 3;
	e->leaf_off = store->len;
	buf_append(store, hdr, h);
	if (t->precert) {
		buf_append(store, t->tbs, t->tbs_len);
		tbs = (uint8_t *)store->data + store->len - t->tbs_len;
		patch(tbs, t->tbs_len, MARK_NAME, name, 8);
		patch(tbs, t->tbs_len, MARK_SERIAL, serial, 14);
	} else
		buf_append(store, store->data + e->der_off, t->der_len);
	buf_append(store, "\0\0", 2);
	e->leaf_len = store->len - e->leaf_off;
	/* extra_data */
	e->extra_off = store->len;
	if (t->precert) {
		put24(hdr, t->der_len);
		buf_append(store, hdr, 3);
		buf_append(store, store->data + e->der_off, t->der_len);
	}
	put24(hdr, t->chain_len);
	buf_append(store, hdr, 3);
	buf_append(store, t->chain, t->chain_len);
	e->extra_len = store->len - e->extra_off;
}

static double
cpu_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static double
wall_s2(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* d2i_X509 + SHA-256 of one DER. */
static void
raw_one(const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	uint8_t			 md[32];
	X509			*x = d2i_X509(NULL, &p, (long)len);

	if (x == NULL) {
		fprintf(stderr, "bench/ct: raw d2i failed\n");
		exit(1);
	}
	SHA256(der, len, md);
	X509_free(x);
}

struct totals {
	double	ours_cpu, ours_wall, raw_leaf, raw_all;
	size_t	bytes, n, failed;
};

static void
run_batch(struct ct_parser *p, struct ring *r, struct buf *store,
    struct ent *ents, size_t n, struct totals *tot)
{
	const struct ct_source	 src = { "Bench Log", "https://ct.bench.example/log",
	    "Bench", 0, 0 };
	struct buf		 out;
	char			 err[CT_ERRLEN];
	uint8_t			 dh[32];
	const uint8_t		*base = (const uint8_t *)store->data;
	const struct tmpl	*t;
	double			 c0, w0;
	size_t			 i, off;

	buf_init(&out, ring_max_record(r));
	c0 = cpu_s();
	w0 = wall_s2();
	for (i = 0; i < n; i++) {
		buf_reset(&out);
		if (ct_entry_rfc6962(p, &out, &src, tot->n + i,
		    base + ents[i].leaf_off, ents[i].leaf_len,
		    base + ents[i].extra_off, ents[i].extra_len,
		    1700000000.123, dh, err, sizeof(err)) == -1) {
			tot->failed++;
			continue;
		}
		tot->bytes += out.len;
		(void)ring_publish(r, STREAMREC_TYPE_ENTRY, out.data, out.len);
	}
	tot->ours_cpu += cpu_s() - c0;
	tot->ours_wall += wall_s2() - w0;
	buf_free(&out);
	tot->n += n;
	if (ours_only)
		return;
	/* raw: the leaf (or precert) DER only */
	c0 = cpu_s();
	for (i = 0; i < n; i++)
		raw_one(base + ents[i].der_off, ents[i].der_len);
	tot->raw_leaf += cpu_s() - c0;
	/* raw: every certificate of the entry (leaf + chain) */
	c0 = cpu_s();
	for (i = 0; i < n; i++) {
		t = ents[i].t;
		raw_one(base + ents[i].der_off, ents[i].der_len);
		for (off = 0; off < t->chain_len;) {
			size_t l = (size_t)t->chain[off] << 16 |
			    (size_t)t->chain[off + 1] << 8 | t->chain[off + 2];

			raw_one(t->chain + off + 3, l);
			off += 3 + l;
		}
	}
	tot->raw_all += cpu_s() - c0;
}

int
main(int argc, char *argv[])
{
	struct issuer		 rsa_root, rsa_int, ec_root, ec_int;
	struct tmpl		 t[NTMPL];
	EVP_PKEY		*lk[2];
	struct ct_parser	*p;
	struct ring		*r;
	struct buf		 store;
	struct ent		*ents;
	struct totals		 tot;
	struct ct_parser_stats	 st;
	size_t			 total = 100000, maxent = 0, i, n;
	int			 c, k;
	double			 ours, rl, ra;

	while ((c = getopt(argc, argv, "n:o")) != -1) {
		if (c == 'o')
			ours_only = 1;
		else if (c != 'n' || (total = strtoul(optarg, NULL, 10)) == 0) {
			fprintf(stderr, "usage: bench/ct [-n entries] [-o]\n");
			return (2);
		}
	}
	mkissuer(&rsa_root, "Bench RSA Root", 1, NULL);
	mkissuer(&rsa_int, "Bench RSA Intermediate", 1, &rsa_root);
	mkissuer(&ec_root, "Bench EC Root", 0, NULL);
	mkissuer(&ec_int, "Bench EC Intermediate", 0, &ec_root);
	lk[0] = keygen(1);
	lk[1] = keygen(0);
	for (k = 0; k < NTMPL; k++) {
		mktmpl(&t[k], k, (k & 2) ? &ec_int : &rsa_int,
		    (k & 2) ? &ec_root : &rsa_root, lk[(k >> 2) & 1]);
		if (2 * t[k].der_len + t[k].tbs_len + t[k].chain_len + 128 >
		    maxent)
			maxent = 2 * t[k].der_len + t[k].tbs_len +
			    t[k].chain_len + 128;
	}
	r = ring_create(64u << 20);
	p = ct_parser_new();
	ents = calloc(BATCH, sizeof(*ents));
	buf_init(&store, maxent * BATCH);
	memset(&tot, 0, sizeof(tot));
	while (tot.n < total) {
		n = total - tot.n < BATCH ? total - tot.n : BATCH;
		buf_reset(&store);
		if (buf_reserve(&store, maxent * n) == -1)
			return (1);
		for (i = 0; i < n; i++)
			mkentry(&store, &ents[i],
			    &t[(tot.n + i) * 7 % NTMPL], tot.n + i);
		run_batch(p, r, &store, ents, n, &tot);
	}
	ct_parser_stats(p, &st);
	ours = (double)tot.n / tot.ours_cpu;
	rl = (double)tot.n / tot.raw_leaf;
	ra = (double)tot.n / tot.raw_all;
	printf("ct_entries %zu (failed %zu, avg record %zu bytes, "
	    "chain cache hits %llu misses %llu)\n", tot.n, tot.failed,
	    tot.bytes / (tot.n ? tot.n : 1), (unsigned long long)st.chain_hits,
	    (unsigned long long)st.chain_misses);
	printf("ct_entries_per_second %.0f (cpu time; wall %.0f)\n", ours,
	    (double)tot.n / tot.ours_wall);
	if (ours_only)
		goto done;
	printf("raw_d2i_sha256_leaf_per_second %.0f\n", rl);
	printf("raw_d2i_sha256_all_certs_per_second %.0f\n", ra);
	printf("ratio_vs_raw_leaf %.2f\nratio_vs_raw_all_certs %.2f\n",
	    ours / rl, ours / ra);
done:
	ct_parser_free(p);
	ring_destroy(r);
	buf_free(&store);
	free(ents);
	return (tot.failed == 0 ? 0 : 1);
}
