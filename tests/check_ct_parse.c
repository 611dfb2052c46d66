/*
 * check_ct_parse.c - CT entry parsing and certstream serialisation
 * (ctwatch/ct_leaf.c, ct_der.c, ct_entry.c; the field formatters are
 * in check_ct_fields.c).
 * Entries are built here from the DER fixtures in tests/fixtures/ct (see
 * its README): the three messages must equal the expected files byte for
 * byte; every truncation and many bit flips of a valid entry must give -1
 * or a valid record, never a crash.  Fixtures: $NOTARYD_SRCDIR/tests/
 * fixtures/ct or ./tests/fixtures/ct.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/streamrec.h"
#include "ctwatch/ct_cert.h"
#include "ctwatch/ct_leaf.h"
#include "ctwatch/ct_parse.h"
#include "tests/ct_testutil.h"

#define TS_MS	1700000000456ULL
#define SEEN	1700000000.123

static const struct ct_source src_rfc = { "Test Log 'Alpha' <&>",
    "https://ct.example.net/logs/alpha", "Test Operator", 0, 3 };
static const struct ct_source src_tiled = { "Tiled Log",
    "https://tiles.example.net/2026h1", "Test Operator", 1, 4 };

/* The precert TBS as a log puts it in leaf_input: poison removed, with
 * OpenSSL's own re-encoding (independent of ct_der.c). */
static uint8_t *
precert_tbs(const uint8_t *der, size_t len, size_t *tbslen)
{
	const unsigned char	*p = der;
	unsigned char		*out = NULL;
	X509			*x = d2i_X509(NULL, &p, (long)len);
	int			 i, n;

	ck_assert_ptr_nonnull(x);
	i = X509_get_ext_by_NID(x, NID_ct_precert_poison, -1);
	ck_assert_int_ge(i, 0);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	n = i2d_re_X509_tbs(x, &out);
	ck_assert_int_gt(n, 0);
	X509_free(x);
	*tbslen = (size_t)n;
	return (out);
}

static void
issuer_key_hash(const char *issuer, uint8_t out[32])
{
	size_t			 len;
	uint8_t			*der = ct_load(issuer, &len);
	const unsigned char	*p = der;
	unsigned char		*spki = NULL;
	X509			*x = d2i_X509(NULL, &p, (long)len);
	int			 n;

	ck_assert_ptr_nonnull(x);
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
	SHA256(spki, (size_t)n, out);
	OPENSSL_free(spki);
	X509_free(x);
	free(der);
}

struct entry {
	struct buf	leaf, extra;
};

/* Build leaf_input + extra_data for a fixture entry. */
static void
make_entry(struct entry *e, const char *leafname, const char *const *chain,
    int precert, const char *issuer)
{
	size_t		 len, tbslen, i, clen;
	uint8_t		*der = ct_load(leafname, &len), *tbs, ikh[32], *c;
	struct buf	 ch;

	buf_init(&e->leaf, 1 << 22);
	buf_init(&e->extra, 1 << 22);
	buf_init(&ch, 1 << 22);
	put_n(&e->leaf, 0, 1);
	put_n(&e->leaf, 0, 1);
	put_n(&e->leaf, TS_MS, 8);
	put_n(&e->leaf, precert ? 1 : 0, 2);
	if (precert) {
		issuer_key_hash(issuer, ikh);
		ck_assert_int_eq(buf_append(&e->leaf, ikh, 32), 0);
		tbs = precert_tbs(der, len, &tbslen);
		put_vec(&e->leaf, tbs, tbslen, 3);
		OPENSSL_free(tbs);
		put_vec(&e->extra, der, len, 3);
	} else
		put_vec(&e->leaf, der, len, 3);
	put_n(&e->leaf, 0, 2);
	for (i = 0; chain != NULL && chain[i] != NULL; i++) {
		c = ct_load(chain[i], &clen);
		put_vec(&ch, c, clen, 3);
		free(c);
	}
	put_vec(&e->extra, ch.data, ch.len, 3);
	buf_free(&ch);
	free(der);
}

static void
free_entry(struct entry *e)
{
	buf_free(&e->leaf);
	buf_free(&e->extra);
}

static const char *const chain_rsa[] = { "int-rsa.der", "root-rsa.der", NULL };
static const char *const chain_ec[] = { "root-ec.der", NULL };

/* Compare a record's sections with expected/<stem>.*.json. */
static void
check_expected(const struct buf *rec, const char *stem)
{
	static const struct {
		uint32_t	 kind;
		const char	*shape;
	} shapes[] = { { STREAMREC_FULL, "full" }, { STREAMREC_LITE, "lite" },
	    { STREAMREC_DOMAINS, "domains" } };
	struct streamrec_view	 v;
	const uint8_t		*s;
	uint8_t			*want;
	size_t			 i, len, wlen, k;
	char			 name[128];

	ck_assert_int_eq(streamrec_parse(rec->data, rec->len, &v), 0);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "expected/%s.%s.json", stem,
		    shapes[i].shape);
		want = ct_load(name, &wlen);
		s = streamrec_section(&v, shapes[i].kind, &len);
		ck_assert_ptr_nonnull(s);
		for (k = 0; k < len && k < wlen && s[k] == want[k]; k++)
			;
		ck_assert_msg(len == wlen && k == len,
		    "%s differs at byte %zu (len %zu, want %zu): ...%.60s",
		    name, k, len, wlen, (const char *)s + (k > 20 ? k - 20 : 0));
		free(want);
	}
}

/* ---- leaf splitting -------------------------------------------------- */

START_TEST(test_leaf_parse)
{
	struct entry	e;
	struct ct_leaf	l;
	char		err[CT_ERRLEN];
	size_t		len;
	uint8_t		*der = ct_load("leaf1.der", &len);

	make_entry(&e, "leaf1.der", chain_rsa, 0, NULL);
	ck_assert_int_eq(ct_leaf_parse((uint8_t *)e.leaf.data, e.leaf.len, &l,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(l.timestamp, TS_MS);
	ck_assert_int_eq(l.is_precert, 0);
	ck_assert(l.cert_len == len && memcmp(l.cert, der, len) == 0);
	ck_assert_uint_eq(l.ext_len, 0);
	ck_assert_int_eq(ct_extra_parse((uint8_t *)e.extra.data, e.extra.len,
	    &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.chain.n, 2);
	free(der);
	der = ct_load("root-rsa.der", &len);
	ck_assert(l.chain.len[1] == len && memcmp(l.chain.der[1], der, len) == 0);
	free(der);
	/* trailing byte, bad version, bad leaf type, bad entry type */
	(void)buf_append(&e.leaf, "", 1);
	ck_assert_int_eq(ct_leaf_parse((uint8_t *)e.leaf.data, e.leaf.len, &l,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "trailing bytes after leaf");
	e.leaf.len--;
	e.leaf.data[0] = 1;
	ck_assert_int_eq(ct_leaf_parse((uint8_t *)e.leaf.data, e.leaf.len, &l,
	    err, sizeof(err)), -1);
	e.leaf.data[0] = 0;
	e.leaf.data[1] = 1;
	ck_assert_int_eq(ct_leaf_parse((uint8_t *)e.leaf.data, e.leaf.len, &l,
	    err, sizeof(err)), -1);
	e.leaf.data[1] = 0;
	e.leaf.data[11] = 2;
	ck_assert_int_eq(ct_leaf_parse((uint8_t *)e.leaf.data, e.leaf.len, &l,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown entry_type");
	free_entry(&e);

	make_entry(&e, "pre.der", chain_ec, 1, "root-ec.der");
	ck_assert_int_eq(ct_leaf_parse((uint8_t *)e.leaf.data, e.leaf.len, &l,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(l.is_precert, 1);
	ck_assert_int_eq(ct_extra_parse((uint8_t *)e.extra.data, e.extra.len,
	    &l, err, sizeof(err)), 0);
	der = ct_load("pre.der", &len);
	ck_assert(l.precert_len == len && memcmp(l.precert, der, len) == 0);
	ck_assert_uint_eq(l.chain.n, 1);
	free(der);
	free_entry(&e);
}
END_TEST

/* ---- whole entries, byte-exact -------------------------------------- */

static void
entry_exact(const char *leafname, const char *const *chain, int pre,
    const char *issuer, const struct ct_source *src, uint64_t index,
    const char *stem)
{
	struct entry		 e;
	struct ct_parser	*p = ct_parser_new();
	struct buf		 out;
	char			 err[CT_ERRLEN] = "";
	uint8_t			 dh[32];
	struct streamrec_view	 v;

	make_entry(&e, leafname, chain, pre, issuer);
	buf_init(&out, 1 << 24);
	ck_assert_msg(ct_entry_rfc6962(p, &out, src, index,
	    (uint8_t *)e.leaf.data, e.leaf.len, (uint8_t *)e.extra.data,
	    e.extra.len, SEEN, dh, err, sizeof(err)) == 0, "%s: %s", stem, err);
	check_expected(&out, stem);
	ck_assert_int_eq(streamrec_parse(out.data, out.len, &v), 0);
	ck_assert_uint_eq(v.cert_index, index);
	ck_assert_uint_eq(v.log_id, src->log_id);
	ck_assert_uint_eq(v.flags, pre ? STREAMREC_F_PRECERT : 0);
	buf_free(&out);
	free_entry(&e);
	ct_parser_free(p);
}

START_TEST(test_entry_x509)
{
	entry_exact("leaf1.der", chain_rsa, 0, NULL, &src_rfc, 12345, "x509");
}
END_TEST

START_TEST(test_entry_precert)
{
	entry_exact("pre.der", chain_ec, 1, "root-ec.der", &src_rfc, 7,
	    "precert");
}
END_TEST

START_TEST(test_entry_nocn)
{
	entry_exact("nocn.der", NULL, 0, NULL, &src_rfc, 0, "nocn");
}
END_TEST

START_TEST(test_entry_many)
{
	entry_exact("many.der", chain_ec, 0, NULL, &src_rfc, UINT64_MAX,
	    "many");
}
END_TEST

/* NAMES: all_domains lowercased, NUL-terminated, in order. */
START_TEST(test_names_section)
{
	struct entry		 e;
	struct ct_parser	*p = ct_parser_new();
	struct buf		 out;
	char			 err[CT_ERRLEN];
	struct streamrec_view	 v;
	const uint8_t		*s;
	size_t			 len, pos = 0, n = 0;
	const char		*name;
	static const char *const want[] = { "example.com", "*.example.com",
	    "xn--bcher-kva.example", "a&b<c>.example", "www.example.com" };

	make_entry(&e, "leaf1.der", chain_rsa, 0, NULL);
	buf_init(&out, 1 << 24);
	ck_assert_int_eq(ct_entry_rfc6962(p, &out, &src_rfc, 1,
	    (uint8_t *)e.leaf.data, e.leaf.len, (uint8_t *)e.extra.data,
	    e.extra.len, SEEN, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(streamrec_parse(out.data, out.len, &v), 0);
	s = streamrec_section(&v, STREAMREC_NAMES, &len);
	while ((name = streamrec_name_next(s, len, &pos)) != NULL) {
		ck_assert_uint_lt(n, 5);
		ck_assert_str_eq(name, want[n]);
		n++;
	}
	ck_assert_uint_eq(n, 5);
	buf_free(&out);
	free_entry(&e);
	ct_parser_free(p);
}
END_TEST

/* ---- dedup hash ------------------------------------------------------ */

static void
dedup_of(const char *leafname, int pre, const char *issuer, uint8_t dh[32])
{
	struct entry		 e;
	struct ct_parser	*p = ct_parser_new();
	struct buf		 out;
	char			 err[CT_ERRLEN] = "";

	make_entry(&e, leafname, pre ? chain_ec : NULL, pre, issuer);
	buf_init(&out, 1 << 24);
	ck_assert_msg(ct_entry_rfc6962(p, &out, &src_rfc, 1,
	    (uint8_t *)e.leaf.data, e.leaf.len, (uint8_t *)e.extra.data,
	    e.extra.len, SEEN, dh, err, sizeof(err)) == 0, "%s", err);
	buf_free(&out);
	free_entry(&e);
	ct_parser_free(p);
}

START_TEST(test_dedup)
{
	uint8_t	a[32], b[32], c[32];

	dedup_of("pre.der", 1, "root-ec.der", a);
	dedup_of("final.der", 0, NULL, b);
	dedup_of("leaf1.der", 0, NULL, c);
	ck_assert(memcmp(a, b, 32) == 0);
	ck_assert(memcmp(a, c, 32) != 0);
}
END_TEST

/* ---- chain cache ----------------------------------------------------- */

START_TEST(test_chain_cache)
{
	struct entry		 e;
	struct ct_parser	*p = ct_parser_new();
	struct buf		 o1, o2;
	char			 err[CT_ERRLEN];
	struct ct_parser_stats	 st;

	make_entry(&e, "leaf1.der", chain_rsa, 0, NULL);
	buf_init(&o1, 1 << 24);
	buf_init(&o2, 1 << 24);
	ck_assert_int_eq(ct_entry_rfc6962(p, &o1, &src_rfc, 12345,
	    (uint8_t *)e.leaf.data, e.leaf.len, (uint8_t *)e.extra.data,
	    e.extra.len, SEEN, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(ct_entry_rfc6962(p, &o2, &src_rfc, 12345,
	    (uint8_t *)e.leaf.data, e.leaf.len, (uint8_t *)e.extra.data,
	    e.extra.len, SEEN, NULL, err, sizeof(err)), 0);
	ck_assert(o1.len == o2.len && memcmp(o1.data, o2.data, o1.len) == 0);
	check_expected(&o2, "x509");
	ct_parser_stats(p, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.chain_misses, 2);
	ck_assert_uint_eq(st.chain_hits, 2);
	buf_free(&o1);
	buf_free(&o2);
	free_entry(&e);
	ct_parser_free(p);
}
END_TEST

/* ---- static-CT tiles ------------------------------------------------- */

static void
tile_leaf(struct buf *t, const char *leafname, int pre, const char *issuer,
    const char *const *chain)
{
	size_t		 len, tbslen, clen, i;
	uint8_t		*der = ct_load(leafname, &len), *tbs, ikh[32], *c;
	uint8_t		 fp[32];
	struct buf	 fps;

	buf_init(&fps, 1 << 16);
	put_n(t, TS_MS, 8);
	put_n(t, pre ? 1 : 0, 2);
	if (pre) {
		issuer_key_hash(issuer, ikh);
		ck_assert_int_eq(buf_append(t, ikh, 32), 0);
		tbs = precert_tbs(der, len, &tbslen);
		put_vec(t, tbs, tbslen, 3);
		OPENSSL_free(tbs);
	} else
		put_vec(t, der, len, 3);
	put_vec(t, "\0\0\0\0\0\x01\x2c", 8, 2);	/* leaf_index 300 */
	if (pre)
		put_vec(t, der, len, 3);
	for (i = 0; chain != NULL && chain[i] != NULL; i++) {
		c = ct_load(chain[i], &clen);
		SHA256(c, clen, fp);
		ck_assert_int_eq(buf_append(&fps, fp, 32), 0);
		free(c);
	}
	put_vec(t, fps.data, fps.len, 2);
	buf_free(&fps);
	free(der);
}

START_TEST(test_tile)
{
	struct buf		 t, out;
	struct ct_tile_leaf	 tl[3];
	struct ct_chain		 ch;
	struct ct_parser	*p = ct_parser_new();
	char			 err[CT_ERRLEN] = "";
	size_t			 off = 0, n = 0, i, len[2], first;
	uint8_t			*der[2];
	long			 r;

	buf_init(&t, 1 << 22);
	tile_leaf(&t, "leaf1.der", 0, NULL, chain_rsa);
	first = t.len;
	tile_leaf(&t, "pre.der", 1, "root-ec.der", chain_ec);
	tile_leaf(&t, "nocn.der", 0, NULL, NULL);
	while (off < t.len) {
		ck_assert_uint_lt(n, 3);
		r = ct_tile_leaf_next((uint8_t *)t.data + off, t.len - off,
		    &tl[n], err, sizeof(err));
		ck_assert_msg(r > 0, "leaf %zu: %s", n, err);
		off += (size_t)r;
		n++;
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(off, t.len);
	ck_assert_uint_eq(tl[0].nfp, 2);
	ck_assert_int_eq(tl[1].is_precert, 1);
	ck_assert_uint_eq(tl[1].nfp, 1);
	ck_assert_uint_eq(tl[2].nfp, 0);
	ck_assert_uint_eq(tl[0].timestamp, TS_MS);
	ck_assert_uint_eq(tl[0].entry_len, 8 + 2 + 3 + tl[0].cert_len + 2 + 8);
	/* resolve the fingerprints as the fetcher does */
	der[0] = ct_load("int-rsa.der", &len[0]);
	der[1] = ct_load("root-rsa.der", &len[1]);
	memset(&ch, 0, sizeof(ch));
	for (i = 0; i < 2; i++) {
		ch.der[i] = der[i];
		ch.len[i] = len[i];
	}
	ch.n = 2;
	buf_init(&out, 1 << 24);
	ck_assert_msg(ct_entry_tiled(p, &out, &src_tiled, 300, &tl[0], &ch,
	    SEEN, NULL, err, sizeof(err)) == 0, "%s", err);
	check_expected(&out, "tiled");
	/* an unresolved issuer is left out of the chain */
	ch.der[0] = NULL;
	ch.len[0] = 0;
	buf_reset(&out);
	ck_assert_int_eq(ct_entry_tiled(p, &out, &src_tiled, 300, &tl[0], &ch,
	    SEEN, NULL, err, sizeof(err)), 0);
	/* the precert leaf: TBS fields, pre_certificate hashes and as_der */
	free(der[0]);
	der[0] = ct_load("root-ec.der", &len[0]);
	ch.der[0] = der[0];
	ch.len[0] = len[0];
	ch.n = 1;
	buf_reset(&out);
	ck_assert_msg(ct_entry_tiled(p, &out, &src_tiled, 301, &tl[1], &ch,
	    SEEN, NULL, err, sizeof(err)) == 0, "%s", err);
	check_expected(&out, "tiledpre");
	/* every truncation of the first leaf is rejected */
	for (i = 0; i < first; i++)
		ck_assert_msg(ct_tile_leaf_next((uint8_t *)t.data, i, &tl[0],
		    err, sizeof(err)) == -1, "prefix %zu accepted", i);
	free(der[0]);
	free(der[1]);
	buf_free(&out);
	buf_free(&t);
	ct_parser_free(p);
}
END_TEST

/* Random flips in a three-leaf tile: splitting and building never crash. */
START_TEST(test_tile_bitflips)
{
	struct buf		 t, out;
	struct ct_tile_leaf	 tl;
	struct ct_parser	*p = ct_parser_new();
	char			 err[CT_ERRLEN];
	unsigned		 seed = 7, f;
	size_t			 i, off, pos, nleaves = 0;
	long			 r;
	char			*orig;

	buf_init(&t, 1 << 22);
	buf_init(&out, 1 << 24);
	tile_leaf(&t, "leaf1.der", 0, NULL, chain_rsa);
	tile_leaf(&t, "pre.der", 1, "root-ec.der", chain_ec);
	tile_leaf(&t, "nocn.der", 0, NULL, NULL);
	orig = malloc(t.len);
	memcpy(orig, t.data, t.len);
	for (i = 0; i < 1500; i++) {
		memcpy(t.data, orig, t.len);
		for (f = 0; f < 1 + (unsigned)rand_r(&seed) % 3; f++) {
			pos = (size_t)rand_r(&seed) % t.len;
			t.data[pos] ^= (char)(1 << (rand_r(&seed) % 8));
		}
		for (off = 0; off < t.len; off += (size_t)r) {
			r = ct_tile_leaf_next((uint8_t *)t.data + off,
			    t.len - off, &tl, err, sizeof(err));
			if (r == -1)
				break;
			ck_assert(r > 0 && (size_t)r <= t.len - off);
			nleaves++;
			buf_reset(&out);
			if (ct_entry_tiled(p, &out, &src_tiled, off, &tl, NULL,
			    SEEN, NULL, err, sizeof(err)) == -1)
				ck_assert_uint_eq(out.len, 0);
		}
	}
	ck_assert_uint_gt(nleaves, 1500);
	free(orig);
	buf_free(&t);
	buf_free(&out);
	ct_parser_free(p);
}
END_TEST

/* ---- malformed input ------------------------------------------------- */

/* rc 0 must come with a record that parses and full JSON ending "}\n". */
static int
try_entry(struct ct_parser *p, struct buf *out, const uint8_t *leaf,
    size_t llen, const uint8_t *extra, size_t elen)
{
	char			 err[CT_ERRLEN];
	uint8_t			 dh[32];
	struct streamrec_view	 v;
	const uint8_t		*s;
	size_t			 len;
	int			 rc;

	buf_reset(out);
	rc = ct_entry_rfc6962(p, out, &src_rfc, 9, leaf, llen, extra, elen,
	    SEEN, dh, err, sizeof(err));
	if (rc == 0) {
		ck_assert_int_eq(streamrec_parse(out->data, out->len, &v), 0);
		s = streamrec_section(&v, STREAMREC_FULL, &len);
		ck_assert(len > 2 && s[len - 2] == '}' && s[len - 1] == '\n');
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_uint_eq(out->len, 0);
		ck_assert(err[0] != '\0');
	}
	return (rc);
}

START_TEST(test_truncations)
{
	struct entry		 e[2];
	struct ct_parser	*p = ct_parser_new();
	struct buf		 out;
	size_t			 i, k;

	make_entry(&e[0], "leaf1.der", chain_rsa, 0, NULL);
	make_entry(&e[1], "pre.der", chain_ec, 1, "root-ec.der");
	buf_init(&out, 1 << 24);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < e[k].leaf.len; i++)
			ck_assert_msg(try_entry(p, &out, (uint8_t *)e[k].leaf.data,
			    i, (uint8_t *)e[k].extra.data, e[k].extra.len) == -1,
			    "leaf prefix %zu accepted", i);
		for (i = 0; i < e[k].extra.len; i++)
			ck_assert_msg(try_entry(p, &out, (uint8_t *)e[k].leaf.data,
			    e[k].leaf.len, (uint8_t *)e[k].extra.data, i) == -1,
			    "extra prefix %zu accepted", i);
		ck_assert_int_eq(try_entry(p, &out, (uint8_t *)e[k].leaf.data,
		    e[k].leaf.len, (uint8_t *)e[k].extra.data,
		    e[k].extra.len), 0);
		free_entry(&e[k]);
	}
	ck_assert_int_eq(try_entry(p, &out, NULL, 0, NULL, 0), -1);
	buf_free(&out);
	ct_parser_free(p);
}
END_TEST

/* Every single-bit flip of the x509 leaf; random flips of the rest. */
START_TEST(test_bitflips)
{
	struct entry		 e[2];
	struct ct_parser	*p = ct_parser_new();
	struct buf		 out;
	size_t			 i, k, pos, nok = 0, nbad = 0;
	unsigned		 seed = 42, f, bits;
	uint8_t			 bit;

	make_entry(&e[0], "leaf1.der", chain_rsa, 0, NULL);
	make_entry(&e[1], "pre.der", chain_ec, 1, "root-ec.der");
	buf_init(&out, 1 << 24);
	for (i = 0; i < e[0].leaf.len * 8; i++) {
		bit = (uint8_t)(1 << (i % 8));
		e[0].leaf.data[i / 8] ^= bit;
		if (try_entry(p, &out, (uint8_t *)e[0].leaf.data, e[0].leaf.len,
		    (uint8_t *)e[0].extra.data, e[0].extra.len) == 0)
			nok++;
		else
			nbad++;
		e[0].leaf.data[i / 8] ^= bit;
	}
	for (i = 0; i < 4000; i++) {
		struct buf	*b;

		k = i % 2;
		b = (rand_r(&seed) % 2) ? &e[k].leaf : &e[k].extra;
		bits = 1 + (unsigned)rand_r(&seed) % 3;
		for (f = 0; f < bits; f++) {
			pos = (size_t)rand_r(&seed) % b->len;
			b->data[pos] ^= (char)(1 << (rand_r(&seed) % 8));
		}
		(void)try_entry(p, &out, (uint8_t *)e[k].leaf.data,
		    e[k].leaf.len, (uint8_t *)e[k].extra.data, e[k].extra.len);
		free_entry(&e[k]);
		if (k == 0)
			make_entry(&e[0], "leaf1.der", chain_rsa, 0, NULL);
		else
			make_entry(&e[1], "pre.der", chain_ec, 1,
			    "root-ec.der");
	}
	/* some flips (signature bits, names) still parse; many do not */
	ck_assert_uint_gt(nok, 0);
	ck_assert_uint_gt(nbad, 0);
	free_entry(&e[0]);
	free_entry(&e[1]);
	buf_free(&out);
	ct_parser_free(p);
}
END_TEST

START_TEST(test_bad_chain_and_bounds)
{
	struct entry		 e;
	struct ct_parser	*p = ct_parser_new();
	struct buf		 out, small;
	char			 err[CT_ERRLEN] = "";
	struct ct_parser_stats	 st;

	make_entry(&e, "leaf1.der", chain_rsa, 0, NULL);
	/* a chain certificate that is not DER */
	e.extra.data[6] ^= 0x20;
	buf_init(&out, 1 << 24);
	ck_assert_int_eq(ct_entry_rfc6962(p, &out, &src_rfc, 1,
	    (uint8_t *)e.leaf.data, e.leaf.len, (uint8_t *)e.extra.data,
	    e.extra.len, SEEN, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "undecodable certificate");
	e.extra.data[6] ^= 0x20;
	/* a record larger than the caller's bound */
	buf_init(&small, 4096);
	(void)buf_append(&small, "x", 1);
	ck_assert_int_eq(ct_entry_rfc6962(p, &small, &src_rfc, 1,
	    (uint8_t *)e.leaf.data, e.leaf.len, (uint8_t *)e.extra.data,
	    e.extra.len, SEEN, NULL, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "record larger than the ring allows");
	ck_assert_uint_eq(small.len, 1);
	/* a NaN seen time is not JSON */
	ck_assert_int_eq(ct_entry_rfc6962(p, &out, &src_rfc, 1,
	    (uint8_t *)e.leaf.data, e.leaf.len, (uint8_t *)e.extra.data,
	    e.extra.len, 0.0 / 0.0, NULL, err, sizeof(err)), -1);
	ct_parser_stats(p, &st);
	ck_assert_uint_eq(st.malformed, 3);
	ck_assert_uint_eq(st.entries, 0);
	buf_free(&small);
	buf_free(&out);
	free_entry(&e);
	ct_parser_free(p);
}
END_TEST

static Suite *
ct_suite(void)
{
	Suite	*s = suite_create("ct_parse");
	TCase	*tc = tcase_create("core"), *fz = tcase_create("fuzz");

	tcase_add_test(tc, test_leaf_parse);
	tcase_add_test(tc, test_entry_x509);
	tcase_add_test(tc, test_entry_precert);
	tcase_add_test(tc, test_entry_nocn);
	tcase_add_test(tc, test_entry_many);
	tcase_add_test(tc, test_names_section);
	tcase_add_test(tc, test_dedup);
	tcase_add_test(tc, test_chain_cache);
	tcase_add_test(tc, test_tile);
	tcase_add_test(tc, test_bad_chain_and_bounds);
	tcase_set_timeout(tc, 60);
	tcase_add_test(fz, test_truncations);
	tcase_add_test(fz, test_bitflips);
	tcase_add_test(fz, test_tile_bitflips);
	tcase_set_timeout(fz, 600);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, fz);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(ct_suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
