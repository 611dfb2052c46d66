/*
 * check_ctwatch.c - unit tests of ctwatch's I/O-free parts: v3 log lists
 * (tests/fixtures/ct/log_list_v3.json and inline cases), ctwatch.logs
 * merging, get-sth replies and their signatures (ECDSA and RSA keys made
 * here, signed here with OpenSSL), static-CT checkpoints and their note
 * signatures, tile paths, the back-off and circuit breaker, and the
 * dedup window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "ctwatch/ct_dedup.h"
#include "ctwatch/ct_fetch.h"
#include "ctwatch/ct_loglist.h"
#include "ctwatch/ct_sth.h"

#define FIXTURE	"/tests/fixtures/ct/log_list_v3.json"
#define DEFAULT_STATES	(CONF_CTS_USABLE | CONF_CTS_QUALIFIED | \
			    CONF_CTS_READONLY)

static char *
fixture_path(void)
{
	const char	*src = getenv("NOTARYD_SRCDIR");

	return (xasprintf("%s%s", src != NULL ? src : "..", FIXTURE));
}

/* ---- log lists ---------------------------------------------------------- */

START_TEST(test_list_fixture)
{
	struct ct_logset	 set;
	EVP_PKEY		*pk;
	char			*path = fixture_path(), *text;
	size_t			 len;
	ssize_t			 i;

	memset(&set, 0, sizeof(set));
	ck_assert_int_eq(ct_loglist_read_file(path, &text, &len), 0);
	/* usable, qualified, readonly, the tiled one; the duplicate of
	 * Argon (other scheme, no slash) is not added twice */
	ck_assert_int_eq(ct_loglist_parse(&set, text, len, DEFAULT_STATES,
	    "fixture"), 4);
	ck_assert_uint_eq(set.n, 4);
	i = ct_logset_find(&set, "https://ct.googleapis.com/logs/us1/"
	    "argon2026h1");
	ck_assert_int_eq(i, 0);
	ck_assert_str_eq(set.v[0].url,
	    "https://ct.googleapis.com/logs/us1/argon2026h1");
	ck_assert_str_eq(set.v[0].name, "Google 'Argon2026h1'");
	ck_assert_str_eq(set.v[0].operator, "Google");
	ck_assert_int_eq(set.v[0].type, CT_LOG_RFC6962);
	ck_assert_uint_eq(set.v[0].keylen, 91);	/* P-256 SPKI */
	pk = ct_key_parse(set.v[0].key, set.v[0].keylen);
	ck_assert_ptr_nonnull(pk);
	EVP_PKEY_free(pk);
	ck_assert_uint_eq(set.v[0].state, CONF_CTS_USABLE);
	ck_assert_str_eq(set.v[1].url,
	    "https://ct.googleapis.com/logs/eu1/xenon2026h2");
	ck_assert_uint_eq(set.v[1].state, CONF_CTS_QUALIFIED);
	/* readonly, with a key that is not base64: followed, unchecked */
	ck_assert_str_eq(set.v[2].url, "https://ct.googleapis.com/logs/frozen");
	ck_assert_ptr_null(set.v[2].key);
	ck_assert_str_eq(set.v[3].url, "https://solera-mon.example/2026h1");
	ck_assert_int_eq(set.v[3].type, CT_LOG_TILED);
	/* the checkpoint origin comes from submission_url */
	ck_assert_str_eq(set.v[3].origin, "solera.example/2026h1");
	ck_assert_ptr_null(set.v[0].origin);
	ck_assert_int_eq(ct_logset_find(&set,
	    "https://ct.googleapis.com/logs/argon2020"), -1);
	ct_logset_free(&set);

	/* every state: 8 distinct logs */
	ck_assert_int_eq(ct_loglist_parse(&set, text, len, 0x3f, "fixture"),
	    7);
	ck_assert_int_ne(ct_logset_find(&set,
	    "https://ct.googleapis.com/logs/argon2020"), -1);
	ck_assert_int_ne(ct_logset_find(&set,
	    "https://ct.cloudflare.com/logs/rejected"), -1);
	ct_logset_free(&set);
	free(text);
	free(path);
}
END_TEST

START_TEST(test_list_bad)
{
	static const char *const bad[] = {
		"", "[]", "{\"operators\": 3}", "{\"operators\": [3]}",
		"{\"operators\": [{\"logs\": {}}]}",
		"{\"operators\": [{\"logs\": [7]}]}", "{\"operators\": [",
		"{\"operators\": [], \"operators\": []}",
	};
	struct ct_logset	set;
	const char		*s;
	size_t			i;

	memset(&set, 0, sizeof(set));
	for (i = 0; i < NELEM(bad); i++)
		ck_assert_msg(ct_loglist_parse(&set, bad[i], strlen(bad[i]),
		    DEFAULT_STATES, "t") == -1, "accepted %s", bad[i]);
	ck_assert_uint_eq(set.n, 0);
	ck_assert_int_eq(ct_loglist_parse(&set, "{\"operators\": []}", 17,
	    DEFAULT_STATES, "t"), 0);
	/* too large */
	ck_assert_int_eq(ct_loglist_parse(&set, "{}",
	    CT_LOGLIST_MAX_BYTES + 1, DEFAULT_STATES, "t"), -1);
	/* a log URL that is not http(s) is skipped, the rest is kept */
	s = "{\"operators\": [{\"logs\": [{\"url\": \"ftp://x/\", \"state\": "
	    "{\"usable\": {}}}, {\"url\": \"https://ok.example/a/\", "
	    "\"state\": {\"usable\": {}}}]}]}";
	ck_assert_int_eq(ct_loglist_parse(&set, s, strlen(s), DEFAULT_STATES,
	    "t"), 1);
	ck_assert_str_eq(set.v[0].url, "https://ok.example/a");
	ct_logset_free(&set);
	ck_assert_int_eq(ct_loglist_read_file("/nonexistent/list.json",
	    &(char *){ NULL }, &(size_t){ 0 }), -1);
}
END_TEST

START_TEST(test_list_conf_logs)
{
	struct ct_logset	 set;
	struct conf_ctlog	 c[2];
	char			*path = fixture_path(), *text;
	size_t			 len;

	memset(&set, 0, sizeof(set));
	ck_assert_int_eq(ct_loglist_read_file(path, &text, &len), 0);
	ck_assert_int_eq(ct_loglist_parse(&set, text, len, DEFAULT_STATES,
	    "fixture"), 4);
	memset(c, 0, sizeof(c));
	c[0].url = "https://ct.googleapis.com/logs/us1/argon2026h1/";
	c[0].name = "mine";
	c[0].operator = "me";
	c[0].key = "";
	c[0].type = CONF_CT_STATIC;
	c[1].url = "http://127.0.0.1:9/log";
	c[1].name = "local";
	c[1].operator = "";
	c[1].key = "AAAA";
	ck_assert_int_eq(ct_loglist_add_conf(&set, c, 2), 0);
	ck_assert_uint_eq(set.n, 5);
	/* the config wins over the list for the same URL */
	ck_assert_str_eq(set.v[0].name, "mine");
	ck_assert_int_eq(set.v[0].type, CT_LOG_TILED);
	ck_assert_ptr_null(set.v[0].key);
	ck_assert_str_eq(set.v[4].url, "http://127.0.0.1:9/log");
	ck_assert_uint_eq(set.v[4].keylen, 3);
	ct_logset_free(&set);
	free(text);
	free(path);
}
END_TEST

START_TEST(test_url_normalise)
{
	char	*u;

	ck_assert_ptr_null(ct_url_normalise("ftp://x/"));
	ck_assert_ptr_null(ct_url_normalise("https://"));
	ck_assert_ptr_null(ct_url_normalise("https:///x"));
	ck_assert_ptr_null(ct_url_normalise("https://a b/"));
	u = ct_url_normalise("https://ct.example/2025h1///");
	ck_assert_str_eq(u, "https://ct.example/2025h1");
	ck_assert_str_eq(ct_url_key(u), "ct.example/2025h1");
	free(u);
}
END_TEST

START_TEST(test_b64_strict)
{
	uint8_t	*p;
	size_t	 n;

	ck_assert_int_eq(ct_b64_decode("AAE=", 4, &p, &n, 16), 0);
	ck_assert_uint_eq(n, 2);
	free(p);
	ck_assert_int_eq(ct_b64_decode("AA==", 4, &p, &n, 16), 0);
	ck_assert_uint_eq(n, 1);
	free(p);
	/* '=' inside, blanks, over the limit */
	ck_assert_int_eq(ct_b64_decode("A=AA", 4, &p, &n, 16), -1);
	ck_assert_int_eq(ct_b64_decode("AA=A", 4, &p, &n, 16), -1);
	ck_assert_int_eq(ct_b64_decode("AAA=AAAA", 8, &p, &n, 16), -1);
	ck_assert_int_eq(ct_b64_decode(" AAAAAA=", 8, &p, &n, 16), -1);
	ck_assert_int_eq(ct_b64_decode("AAAA", 4, &p, &n, 2), -1);
}
END_TEST

/* ---- tree heads --------------------------------------------------------- */

static EVP_PKEY *
make_key(int rsa)
{
	EVP_PKEY	*k = NULL;
	EVP_PKEY_CTX	*c;

	c = EVP_PKEY_CTX_new_id(rsa ? EVP_PKEY_RSA : EVP_PKEY_EC, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(EVP_PKEY_keygen_init(c), 1);
	if (rsa)
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048), 1);
	else
		ck_assert_int_eq(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c,
		    NID_X9_62_prime256v1), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return (k);
}

/* DigitallySigned TreeHeadSignature over (ts, size, root) by k. */
static size_t
sign_sth(EVP_PKEY *k, int rsa, uint64_t ts, uint64_t size,
    const uint8_t root[32], uint8_t *out)
{
	EVP_MD_CTX	*c = EVP_MD_CTX_new();
	uint8_t		 tbs[50];
	size_t		 slen = 600;

	tbs[0] = 0;
	tbs[1] = 1;
	be64enc(tbs + 2, ts);
	be64enc(tbs + 10, size);
	memcpy(tbs + 18, root, 32);
	ck_assert_int_eq(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k),
	    1);
	ck_assert_int_eq(EVP_DigestSign(c, out + 4, &slen, tbs, sizeof(tbs)),
	    1);
	EVP_MD_CTX_free(c);
	out[0] = 4;
	out[1] = rsa ? 1 : 3;
	out[2] = (uint8_t)(slen >> 8);
	out[3] = (uint8_t)slen;
	return (slen + 4);
}

static char *
b64(const uint8_t *p, size_t n)
{
	char	*s = xmalloc(n / 3 * 4 + 8);

	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return (s);
}

static void
sth_case(int rsa)
{
	EVP_PKEY	*k = make_key(rsa), *other = make_key(rsa);
	struct ct_sth	 sth;
	uint8_t		 root[32], sig[700];
	char		*json, *r64, *s64, err[CT_STH_ERRLEN];
	size_t		 slen;

	memset(root, 0xab, sizeof(root));
	slen = sign_sth(k, rsa, 1700000000123ULL, 4242, root, sig);
	r64 = b64(root, 32);
	s64 = b64(sig, slen);
	json = xasprintf("{\"tree_size\":4242,\"timestamp\":1700000000123,"
	    "\"sha256_root_hash\":\"%s\",\"tree_head_signature\":\"%s\"}",
	    r64, s64);
	ck_assert_int_eq(ct_sth_parse((uint8_t *)json, strlen(json), &sth,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(sth.tree_size, 4242);
	ck_assert_uint_eq(sth.timestamp, 1700000000123ULL);
	ck_assert_int_eq(memcmp(sth.root, root, 32), 0);
	ck_assert_int_eq(ct_sth_verify(k, &sth, err, sizeof(err)), 0);
	/* another key, another size, a flipped byte: all rejected */
	ck_assert_int_eq(ct_sth_verify(other, &sth, err, sizeof(err)), -1);
	sth.tree_size++;
	ck_assert_int_eq(ct_sth_verify(k, &sth, err, sizeof(err)), -1);
	sth.tree_size--;
	sth.sig[sth.siglen - 1] ^= 1;
	ck_assert_int_eq(ct_sth_verify(k, &sth, err, sizeof(err)), -1);
	sth.sig[sth.siglen - 1] ^= 1;
	sth.sig[3] ^= 1;	/* length that does not match */
	ck_assert_int_eq(ct_sth_verify(k, &sth, err, sizeof(err)), -1);
	free(json);
	free(r64);
	free(s64);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

START_TEST(test_sth_ecdsa)
{
	sth_case(0);
}
END_TEST

START_TEST(test_sth_rsa)
{
	sth_case(1);
}
END_TEST

START_TEST(test_sth_malformed)
{
	static const char *const bad[] = {
		"", "{}", "[1]", "{\"tree_size\":-1,\"timestamp\":1,"
		"\"sha256_root_hash\":\"AAAA\",\"tree_head_signature\":\"AAAA\"}",
		"{\"tree_size\":1,\"timestamp\":1,\"sha256_root_hash\":\"AAAA\","
		"\"tree_head_signature\":\"AAAAAAAA\"}",
		"{\"tree_size\":\"1\",\"timestamp\":1}",
		"{\"tree_size\":1,\"timestamp\":1,\"sha256_root_hash\":"
		"\"q83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\","
		"\"tree_head_signature\":\"!!\"}",
	};
	struct ct_sth	sth;
	char		err[CT_STH_ERRLEN];
	size_t		i;

	for (i = 0; i < NELEM(bad); i++)
		ck_assert_msg(ct_sth_parse((const uint8_t *)bad[i],
		    strlen(bad[i]), &sth, err, sizeof(err)) == -1,
		    "accepted %s", bad[i]);
}
END_TEST

/* A checkpoint signed the static-ct-api way by k for origin (key id from
 * the LogID, SHA-256 of the SPKI). */
static char *
make_checkpoint(EVP_PKEY *k, const char *origin, uint64_t size,
    const uint8_t root[32], uint8_t **spki, size_t *spkilen)
{
	unsigned char	*der = NULL;
	uint8_t		 raw[720], id[32], *msg;
	char		*r64, *s64, *note;
	size_t		 slen, olen = strlen(origin);
	int		 dlen;

	dlen = i2d_PUBKEY(k, &der);
	ck_assert_int_gt(dlen, 0);
	msg = xmalloc(olen + 2 + 32);
	memcpy(msg, origin, olen);
	msg[olen] = '\n';
	msg[olen + 1] = 5;
	SHA256(der, (size_t)dlen, msg + olen + 2);	/* LogID */
	SHA256(msg, olen + 2 + 32, id);
	free(msg);
	memcpy(raw, id, 4);
	be64enc(raw + 4, 1700000000999ULL);
	slen = sign_sth(k, 0, 1700000000999ULL, size, root, raw + 12);
	r64 = b64(root, 32);
	s64 = b64(raw, slen + 12);
	note = xasprintf("%s\n%llu\n%s\n\n\xe2\x80\x94 other.example/key "
	    "AAAAAAAA\n\xe2\x80\x94 %s %s\n", origin,
	    (unsigned long long)size, r64, origin, s64);
	free(r64);
	free(s64);
	*spki = der;
	*spkilen = (size_t)dlen;
	return (note);
}

START_TEST(test_checkpoint)
{
	EVP_PKEY	*k = make_key(0), *other = make_key(0);
	struct ct_sth	 sth;
	uint8_t		 root[32], *spki, *spki2;
	size_t		 spkilen, spki2len;
	char		*note, *p, origin[64], err[CT_STH_ERRLEN];
	unsigned char	*d2 = NULL;
	uint8_t		*body;
	size_t		 n;

	memset(root, 7, sizeof(root));
	note = make_checkpoint(k, "log.example/2026h1", 123456, root, &spki,
	    &spkilen);
	/* unchecked */
	ck_assert_msg(ct_checkpoint_parse((uint8_t *)note, strlen(note),
	    NULL, NULL, 0, &sth, origin, sizeof(origin), err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(sth.tree_size, 123456);
	ck_assert_str_eq(origin, "log.example/2026h1");
	ck_assert_int_eq(memcmp(sth.root, root, 32), 0);
	/* checked with the right key */
	ck_assert_int_eq(ct_checkpoint_parse((uint8_t *)note, strlen(note),
	    k, spki, spkilen, &sth, NULL, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(sth.timestamp, 1700000000999ULL);
	/* with another key: no signature of that key */
	spki2len = (size_t)i2d_PUBKEY(other, &d2);
	spki2 = d2;
	ck_assert_int_eq(ct_checkpoint_parse((uint8_t *)note, strlen(note),
	    other, spki2, spki2len, &sth, NULL, 0, err, sizeof(err)), -2);
	/* a changed size breaks the signature */
	note[strlen("log.example/2026h1\n")] = '2';
	ck_assert_int_eq(ct_checkpoint_parse((uint8_t *)note, strlen(note),
	    k, spki, spkilen, &sth, NULL, 0, err, sizeof(err)), -2);
	/* malformed notes */
	ck_assert_int_eq(ct_checkpoint_parse((const uint8_t *)"x\n12\n", 6,
	    NULL, NULL, 0, &sth, NULL, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(ct_checkpoint_parse((const uint8_t *)
	    "x\n012\nAAAA\n\n", 12, NULL, NULL, 0, &sth, NULL, 0, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(ct_checkpoint_parse((const uint8_t *)
	    "x\n12\nAAAA\n\n", 11, NULL, NULL, 0, &sth, NULL, 0, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(ct_checkpoint_parse((const uint8_t *)
	    "x\n99999999999999999999\nAAAA\n\n", 29, NULL, NULL, 0, &sth,
	    NULL, 0, err, sizeof(err)), -1);
	/* a signature line shorter than the dash at the very end of the body
	 * (was compared over 4 bytes, past the body: fuzz_ct_checkpoint) */
	p = strstr(note, "\n\n");
	ck_assert_ptr_nonnull(p);
	n = (size_t)(p - note) + 2;
	body = malloc(n + 3);
	ck_assert_ptr_nonnull(body);
	memcpy(body, note, n);
	memcpy(body + n, "ab\n", 3);
	ck_assert_int_eq(ct_checkpoint_parse(body, n + 3, k, spki, spkilen,
	    &sth, NULL, 0, err, sizeof(err)), -1);
	free(body);
	free(note);
	OPENSSL_free(spki);
	OPENSSL_free(spki2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}
END_TEST

START_TEST(test_tile_path)
{
	char	p[CT_TILE_PATH_MAX];

	ck_assert_int_eq(ct_tile_path(p, sizeof(p), 0, 0), 0);
	ck_assert_str_eq(p, "tile/data/000");
	ck_assert_int_eq(ct_tile_path(p, sizeof(p), 1234067, 0), 0);
	ck_assert_str_eq(p, "tile/data/x001/x234/067");
	ck_assert_int_eq(ct_tile_path(p, sizeof(p), 1000, 17), 0);
	ck_assert_str_eq(p, "tile/data/x001/000.p/17");
	ck_assert_int_eq(ct_tile_path(p, sizeof(p), 999, 255), 0);
	ck_assert_str_eq(p, "tile/data/999.p/255");
	ck_assert_int_eq(ct_tile_path(p, sizeof(p), 5, 256), -1);
	ck_assert_int_eq(ct_tile_path(p, 12, 5, 0), -1);
}
END_TEST

/* ---- back-off and dedup --------------------------------------------------- */

START_TEST(test_backoff)
{
	struct ct_backoff	b;
	int64_t			now = 1000000, prev = 0, wait;
	int			i;

	memset(&b, 0, sizeof(b));
	ck_assert(ct_backoff_ready(&b, now));
	ck_assert_int_eq(ct_backoff_state(&b, now), STATUS_CTB_OK);
	for (i = 1; i < CT_BREAKER_FAILS; i++) {
		ct_backoff_fail(&b, now, 0);
		wait = b.until_ms - now;
		ck_assert(!ct_backoff_ready(&b, now));
		ck_assert_int_eq(ct_backoff_state(&b, now),
		    STATUS_CTB_BACKOFF);
		ck_assert_int_ge(wait, CT_BACKOFF_BASE_MS * 3 / 4);
		ck_assert_int_le(wait, CT_BACKOFF_MAX_MS * 5 / 4 + 1);
		if (i < 6)
			ck_assert_int_gt(wait, prev);	/* grows */
		prev = wait;
	}
	/* Retry-After wins when longer */
	memset(&b, 0, sizeof(b));
	ct_backoff_fail(&b, now, 45000);
	ck_assert_int_eq(b.until_ms - now, 45000);
	/* the breaker opens after CT_BREAKER_FAILS in a row */
	for (i = 1; i < CT_BREAKER_FAILS; i++)
		ct_backoff_fail(&b, now, 0);
	ck_assert(b.open);
	ck_assert_int_ge(b.until_ms - now, CT_BREAKER_MS);
	ck_assert_int_eq(ct_backoff_state(&b, now), STATUS_CTB_OPEN);
	ct_backoff_ok(&b);
	ck_assert(!b.open);
	ck_assert(ct_backoff_ready(&b, now));
}
END_TEST

START_TEST(test_dedup)
{
	struct ct_dedup	*d = ct_dedup_new();
	uint8_t		 h[32];
	uint32_t	 i;
	int64_t		 t = 0;

	memset(h, 0, sizeof(h));
	for (i = 1; i <= 1000; i++) {
		memcpy(h, &i, sizeof(i));
		ck_assert_int_eq(ct_dedup_seen(d, h, t), 0);
	}
	for (i = 1; i <= 1000; i++) {
		memcpy(h, &i, sizeof(i));
		ck_assert_int_eq(ct_dedup_seen(d, h, t), 1);
	}
	/* aged out */
	t += CT_DEDUP_AGE_MS + 1;
	memcpy(h, &(uint32_t){ 5 }, 4);
	ck_assert_int_eq(ct_dedup_seen(d, h, t), 0);
	ck_assert_int_eq(ct_dedup_seen(d, h, t), 1);
	/* a full window drops the oldest first */
	for (i = 0; i < CT_DEDUP_ENTRIES + 10; i++) {
		uint32_t k = i + 100000;

		memcpy(h, &k, sizeof(k));
		ck_assert_int_eq(ct_dedup_seen(d, h, t), 0);
	}
	memcpy(h, &(uint32_t){ 100000 }, 4);
	ck_assert_int_eq(ct_dedup_seen(d, h, t), 0);	/* dropped */
	memcpy(h, &(uint32_t){ 100000 + CT_DEDUP_ENTRIES + 9 }, 4);
	ck_assert_int_eq(ct_dedup_seen(d, h, t), 1);	/* kept */
	ct_dedup_free(d);
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("ctwatch");
	TCase	*tc = tcase_create("pure");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_list_fixture);
	tcase_add_test(tc, test_list_bad);
	tcase_add_test(tc, test_list_conf_logs);
	tcase_add_test(tc, test_url_normalise);
	tcase_add_test(tc, test_b64_strict);
	tcase_add_test(tc, test_sth_ecdsa);
	tcase_add_test(tc, test_sth_rsa);
	tcase_add_test(tc, test_sth_malformed);
	tcase_add_test(tc, test_checkpoint);
	tcase_add_test(tc, test_tile_path);
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_dedup);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(suite());
	int	 failed;

	log_init("check_ctwatch");
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
