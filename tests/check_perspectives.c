/*
 * check_perspectives.c - unit tests for server/perspectives.c and
 * server/keys.c: the heimdal test vector (tests/fixtures/perspectives),
 * the reply XML byte for byte against tests/fixtures, 1,000 signatures
 * with a fresh 1369-bit key, an independent verification with the openssl
 * command, the query-parsing table, and key loading and generation.
 *
 * Test data and fixtures: $NOTARYD_SRCDIR/tests/fixtures or
 * ./tests/fixtures.  Missing test data is a failure, never a skip.
 *
 * CHECK_PERSP_SIGNATURES=n changes the 1,000 of the signature test (for
 * valgrind); CHECK_PERSPECTIVES_VERBOSE=1 prints the measured signing rates.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/buf.h"
#include "server/keys.h"
#include "common/log.h"
#include "store/obs.h"
#include "server/perspectives.h"
#include "common/xmalloc.h"
#include "tests/testutil.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define ERRLEN		512

/* ---- helpers ---------------------------------------------------------- */

/* The fixtures, and the heimdal test vector copied among them. */
static const char *
fixtures_dir(void)
{
	return (tu_fixtures_dir("persp_reply_expected.xml"));
}

static const char *
testdata_dir(void)
{
	static char	dir[PATH_MAX * 2 + 16];

	snprintf(dir, sizeof(dir), "%s/perspectives",
	    tu_fixtures_dir("perspectives/heimdal_github.xml"));
	return (dir);
}

/* A fixture copied into the temporary directory with the given mode. */
static const char *
fixture_copy(const char *name, mode_t mode)
{
	const char	*dst = tu_path(name);
	size_t		 len;
	char		*data = tu_read_file(fixtures_dir(), name, &len);

	tu_write_file(dst, data, len, mode);
	free(data);
	return (dst);
}

static void
hex(const void *p, size_t n, char *out)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

static void
md5_hex(const void *p, size_t n, char *out)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;

	ck_assert_int_eq(EVP_Digest(p, n, md, &mdlen, EVP_md5(), NULL), 1);
	hex(md, mdlen, out);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static EVP_PKEY *
fixture_key(void)
{
	char		 err[ERRLEN];
	EVP_PKEY	*key;

	key = keys_load_private(fixture_copy("persp_test_key.pem", 0600), err,
	    sizeof(err));
	ck_assert_msg(key != NULL, "%s", err);
	return (key);
}

static EVP_PKEY *
fresh_key(int bits)
{
	EVP_PKEY	*key;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	ck_assert_ptr_nonnull(key);
	return (key);
}

static void
set_span(struct obs_span *sp, const char *fp, int64_t start, int64_t end)
{
	memset(sp, 0, sizeof(*sp));
	ck_assert_int_eq(obs_parse_colon_hex(fp, strlen(fp), sp->md5, 16), 0);
	sp->start = start;
	sp->end = end;
}

/* ---- the heimdal test vector (spec §2.6) ------------------------------ */

static const char heimdal_svc[] = "github.com:443,2";
static const char heimdal_packed_hex[] =
    "6769746875622e636f6d3a3434332c32000003001003fa67e3c367790d8b9452"
    "ab210132633453440f03538c92b5539087435405db9854087f07545f818e0001"
    "001003dfef600c26e8cfc7003af4b730580d075041500051bc81840001001003"
    "db669f0b1a34642552f62a06824122be5339831c53440f020002001003c6a0cb"
    "fb5301826cacd1613302b164db51bc8185520e3e87525ffb935339831b000100"
    "100355d8b2acfa96dfaf85321c0fb25a961d520e3e88525ffb92";

static void
heimdal_reply(struct persp_reply *r)
{
	char	 err[ERRLEN];
	size_t	 len;
	char	*xml = tu_read_file(testdata_dir(), "heimdal_github.xml", &len);

	ck_assert_msg(persp_parse_reply(xml, len, r, err, sizeof(err)) == 0,
	    "heimdal_github.xml: %s", err);
	free(xml);
}

static EVP_PKEY *
heimdal_pub(void)
{
	char		 path[PATH_MAX * 2], err[ERRLEN];
	EVP_PKEY	*pub;

	snprintf(path, sizeof(path), "%s/heimdal.pub", testdata_dir());
	pub = keys_load_public(path, err, sizeof(err));
	ck_assert_msg(pub != NULL, "%s", err);
	return (pub);
}

START_TEST(test_heimdal_parse)
{
	struct persp_reply	r;
	char			fp[48];

	heimdal_reply(&r);
	ck_assert_int_eq(r.type, 2);
	ck_assert_uint_eq(r.nkeys, 5);
	ck_assert_uint_eq(r.nspans, 8);
	ck_assert_uint_eq(r.siglen, 172);
	ck_assert_uint_eq(r.sig[0], 0x01);	/* "AT..." */
	obs_hex_colon(r.spans[0].md5, 16, fp);
	ck_assert_str_eq(fp, "55:d8:b2:ac:fa:96:df:af:85:32:1c:0f:b2:5a:96:1d");
	ck_assert_int_eq(r.spans[0].start, 1376665224);
	ck_assert_int_eq(r.spans[0].end, 1382022034);
	obs_hex_colon(r.spans[7].md5, 16, fp);
	ck_assert_str_eq(fp, "fa:67:e3:c3:67:79:0d:8b:94:52:ab:21:01:32:63:34");
	ck_assert_int_eq(r.spans[7].start, 1409842951);
	ck_assert_int_eq(r.spans[7].end, 1415545230);
	persp_reply_free(&r);
}
END_TEST

START_TEST(test_heimdal_pack)
{
	struct persp_reply	r;
	struct buf		b;
	char			h[2 * 512 + 1], md5[33];

	heimdal_reply(&r);
	buf_init(&b, 4096);
	ck_assert_int_eq(persp_pack(heimdal_svc, strlen(heimdal_svc), r.spans,
	    r.nspans, &b), 0);
	ck_assert_uint_eq(b.len, 186);
	hex(b.data, b.len, h);
	ck_assert_str_eq(h, heimdal_packed_hex);
	md5_hex(b.data, b.len, md5);
	ck_assert_str_eq(md5, "936cbf842466e331981901b7c99d8b2c");
	buf_free(&b);
	persp_reply_free(&r);
}
END_TEST

START_TEST(test_heimdal_verifies)
{
	struct persp_reply	 r;
	EVP_PKEY		*pub = heimdal_pub();

	heimdal_reply(&r);
	ck_assert_int_eq(EVP_PKEY_get_bits(pub), 1369);
	ck_assert_int_eq(EVP_PKEY_get_size(pub), 172);
	ck_assert_int_eq(persp_verify(heimdal_svc, strlen(heimdal_svc),
	    r.spans, r.nspans, r.sig, r.siglen, pub), 1);
	persp_reply_free(&r);
	EVP_PKEY_free(pub);
}
END_TEST

/* The encoded message under heimdal's public key is PKCS#1 v1.5 + MD5. */
START_TEST(test_heimdal_encoded_message)
{
	static const char	 tail[] = "003020300c06082a864886f70d0205050004"
	    "10936cbf842466e331981901b7c99d8b2c";
	struct persp_reply	 r;
	EVP_PKEY		*pub = heimdal_pub();
	EVP_PKEY_CTX		*ctx;
	unsigned char		 em[512];
	size_t			 emlen = sizeof(em), i, ff;
	char			 h[2 * 512 + 1];

	heimdal_reply(&r);
	ctx = EVP_PKEY_CTX_new(pub, NULL);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_PKEY_verify_recover_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
	ck_assert_int_eq(EVP_PKEY_verify_recover(ctx, em, &emlen, r.sig,
	    r.siglen), 1);
	ck_assert_uint_eq(emlen, 172);
	ck_assert_uint_eq(em[0], 0x00);
	ck_assert_uint_eq(em[1], 0x01);
	ff = 172 - 2 - 35;
	for (i = 2; i < 2 + ff; i++)
		ck_assert_uint_eq(em[i], 0xff);
	hex(em + 2 + ff, 35, h);
	ck_assert_str_eq(h, tail);
	EVP_PKEY_CTX_free(ctx);
	persp_reply_free(&r);
	EVP_PKEY_free(pub);
}
END_TEST

/* Reverse the order of the key runs: the packer then emits them in
 * document order, which the signature must not accept. */
static void
reverse_keys(const struct obs_span *in, size_t n, struct obs_span *out)
{
	size_t	end = n, start, o = 0;

	while (end > 0) {
		start = end - 1;
		while (start > 0 && memcmp(in[start - 1].md5, in[end - 1].md5,
		    16) == 0)
			start--;
		memcpy(out + o, in + start, (end - start) * sizeof(*in));
		o += end - start;
		end = start;
	}
}

START_TEST(test_heimdal_negatives)
{
	struct persp_reply	 r;
	EVP_PKEY		*pub = heimdal_pub();
	struct obs_span		 rev[8];
	unsigned char		 sig[PERSP_SIG_MAX];
	static const char	 other[] = "GitHub.com:443,2";

	heimdal_reply(&r);
	ck_assert_uint_eq(r.nspans, NELEM(rev));
	reverse_keys(r.spans, r.nspans, rev);
	ck_assert_int_eq(persp_verify(heimdal_svc, strlen(heimdal_svc), rev,
	    r.nspans, r.sig, r.siglen, pub), 0);
	ck_assert_int_eq(persp_verify(other, strlen(other), r.spans, r.nspans,
	    r.sig, r.siglen, pub), 0);
	/* One flipped bit, and one changed time. */
	memcpy(sig, r.sig, r.siglen);
	sig[100] ^= 0x10;
	ck_assert_int_eq(persp_verify(heimdal_svc, strlen(heimdal_svc),
	    r.spans, r.nspans, sig, r.siglen, pub), 0);
	r.spans[3].end++;
	ck_assert_int_eq(persp_verify(heimdal_svc, strlen(heimdal_svc),
	    r.spans, r.nspans, r.sig, r.siglen, pub), 0);
	r.spans[3].end--;
	/* A signature that is not exactly the modulus length never passes. */
	ck_assert_int_eq(persp_verify(heimdal_svc, strlen(heimdal_svc),
	    r.spans, r.nspans, r.sig + 1, r.siglen - 1, pub), 0);
	ck_assert_int_eq(persp_verify(heimdal_svc, strlen(heimdal_svc),
	    r.spans, r.nspans, r.sig, r.siglen, pub), 1);
	persp_reply_free(&r);
	EVP_PKEY_free(pub);
}
END_TEST

/* ---- the reply layout (spec §2.1) against tests/fixtures -------------- */

static const char fixture_svc[] = "notary-test.example:8443,2";

static void
fixture_spans(struct obs_span sp[3])
{
	set_span(&sp[0], "0f:1e:2d:3c:4b:5a:69:78:87:96:a5:b4:c3:d2:e1:f0",
	    1200000000, 1299999999);
	set_span(&sp[1], "0f:1e:2d:3c:4b:5a:69:78:87:96:a5:b4:c3:d2:e1:f0",
	    1400000000, 1400086400);
	set_span(&sp[2], "a0:b1:c2:d3:e4:f5:06:17:28:39:4a:5b:6c:7d:8e:9f",
	    1300000000, 1399999999);
}

START_TEST(test_reply_fixture_bytes)
{
	struct obs_span	 sp[3];
	struct buf	 out;
	EVP_PKEY	*key = fixture_key();
	size_t		 len;
	char		*want = tu_read_file(fixtures_dir(),
	    "persp_reply_expected.xml", &len);

	fixture_spans(sp);
	buf_init(&out, 65536);
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    sp, 3, key, &out), 0);
	ck_assert_uint_eq(out.len, len);
	ck_assert_msg(memcmp(out.data, want, len) == 0,
	    "reply differs from persp_reply_expected.xml:\n%.*s",
	    (int)out.len, out.data);
	buf_free(&out);
	free(want);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_reply_fixture_packed)
{
	struct obs_span	 sp[3];
	struct buf	 b;
	char		 h[2 * 1024 + 1], *want;

	fixture_spans(sp);
	want = tu_read_file(fixtures_dir(), "persp_reply_packed.hex", NULL);
	want[strcspn(want, "\n")] = '\0';
	buf_init(&b, 1024);
	ck_assert_int_eq(persp_pack(fixture_svc, strlen(fixture_svc), sp, 3,
	    &b), 0);
	hex(b.data, b.len, h);
	ck_assert_str_eq(h, want);
	buf_free(&b);
	free(want);
}
END_TEST

/* Reading our own reply back gives the same spans and a valid signature. */
START_TEST(test_reply_roundtrip)
{
	static const char	 svc[] = "ssh.example.org:22,1";
	struct obs_span		 sp[3];
	struct persp_reply	 r;
	struct buf		 out;
	EVP_PKEY		*key = fixture_key();
	char			 err[ERRLEN];

	fixture_spans(sp);
	buf_init(&out, 65536);
	ck_assert_int_eq(persp_build_reply(svc, strlen(svc), 1, sp, 3, key,
	    &out), 0);
	ck_assert_ptr_nonnull(memmem(out.data, out.len, "type=\"ssh\"", 10));
	ck_assert_ptr_null(memmem(out.data, out.len, "type=\"ssl\"", 10));
	ck_assert_msg(persp_parse_reply(out.data, out.len, &r, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(r.type, 1);
	ck_assert_uint_eq(r.nkeys, 2);
	ck_assert_uint_eq(r.nspans, 3);
	ck_assert_mem_eq(r.spans, sp, sizeof(sp));
	ck_assert_uint_eq(r.siglen, 172);
	ck_assert_int_eq(persp_verify(svc, strlen(svc), r.spans, r.nspans,
	    r.sig, r.siglen, key), 1);
	persp_reply_free(&r);
	buf_free(&out);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_reply_refused)
{
	struct obs_span	 sp[3], bad[3];
	struct buf	 out;
	EVP_PKEY	*key = fixture_key();
	char		 longsvc[300];

	fixture_spans(sp);
	buf_init(&out, 65536);
	buf_puts(&out, "keep");
	/* No observations is a 404, never an empty reply. */
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    sp, 0, key, &out), -1);
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 3,
	    sp, 3, key, &out), -1);
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 0,
	    sp, 3, key, &out), -1);
	memcpy(bad, sp, sizeof(sp));
	bad[2].start = bad[2].end + 1;			/* start > end */
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    bad, 3, key, &out), -1);
	memcpy(bad, sp, sizeof(sp));
	bad[0].start = -1;				/* negative */
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    bad, 3, key, &out), -1);
	memcpy(bad, sp, sizeof(sp));
	bad[0] = sp[1];					/* spans unsorted */
	bad[1] = sp[0];
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    bad, 3, key, &out), -1);
	bad[0] = sp[2];					/* keys unsorted */
	bad[1] = sp[0];
	bad[2] = sp[1];
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    bad, 3, key, &out), -1);
	bad[0] = sp[0];					/* key twice */
	bad[1] = sp[2];
	bad[2] = sp[1];
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    bad, 3, key, &out), -1);
	/* Ids: empty, with a NUL, longer than 255 bytes. */
	ck_assert_int_eq(persp_build_reply("", 0, 2, sp, 3, key, &out), -1);
	ck_assert_int_eq(persp_build_reply("a\0b:443,2", 9, 2, sp, 3, key,
	    &out), -1);
	memset(longsvc, 'a', sizeof(longsvc));
	ck_assert_int_eq(persp_build_reply(longsvc, 256, 2, sp, 3, key, &out),
	    -1);
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    sp, 3, NULL, &out), -1);
	ck_assert_uint_eq(out.len, 4);
	buf_free(&out);

	/* A full output buffer leaves it as it was. */
	buf_init(&out, 400);
	buf_puts(&out, "keep");
	ck_assert_int_eq(persp_build_reply(fixture_svc, strlen(fixture_svc), 2,
	    sp, 3, key, &out), -1);
	ck_assert_uint_eq(out.len, 4);
	ck_assert_int_eq(persp_pack(fixture_svc, strlen(fixture_svc), sp, 0,
	    &out), -1);
	ck_assert_uint_eq(out.len, 4);
	buf_free(&out);
	EVP_PKEY_free(key);
}
END_TEST

/* Counts wrap at 65536 and times at 2^32, exactly as the client packs. */
START_TEST(test_pack_wraps)
{
	static const char	 svc[] = "a.example:443,2";
	struct obs_span		*sp;
	struct buf		 b;
	size_t			 i, n = 65537, head = strlen(svc) + 1;
	const unsigned char	*p;

	sp = xcalloc(n, sizeof(*sp));
	for (i = 0; i < n; i++) {
		memset(sp[i].md5, 0xab, 16);
		sp[i].start = (int64_t)i;
		sp[i].end = (int64_t)i;
	}
	sp[0].start = INT64_C(0x100000005);
	sp[0].end = INT64_C(0x2ffffffff);
	buf_init(&b, SIZE_MAX);
	ck_assert_int_eq(persp_pack(svc, strlen(svc), sp, n, &b), 0);
	ck_assert_uint_eq(b.len, head + 5 + 16 + 8 * n);
	p = (const unsigned char *)b.data + head;
	ck_assert_uint_eq(p[0], 0x00);		/* 65537 mod 65536 = 1 */
	ck_assert_uint_eq(p[1], 0x01);
	ck_assert_uint_eq(p[2], 0x00);
	ck_assert_uint_eq(p[3], 0x10);
	ck_assert_uint_eq(p[4], 0x03);
	p += 5 + 16;
	ck_assert_mem_eq(p, "\x00\x00\x00\x05\xff\xff\xff\xff", 8);
	buf_free(&b);
	free(sp);
}
END_TEST

/* ---- reading replies -------------------------------------------------- */

START_TEST(test_parse_reply_tolerant)
{
	static const char	 xml[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<notary_reply version='1' sig='AAEC\n AwQF\tBgc=' "
	    "sig_type=\"rsa-md5\" other=\"x\">"
	    "<key type=\"ssl\" fp=\"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:"
	    "dd:ee:ff\" ><timestamp start=\"5\" end=\"6\"></timestamp>"
	    "<timestamp start = \"7\" end = '8' /></key ></notary_reply>\r\n";
	struct persp_reply	 r;
	char			 err[ERRLEN];

	ck_assert_msg(persp_parse_reply(xml, strlen(xml), &r, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.siglen, 8);
	ck_assert_mem_eq(r.sig, "\x00\x01\x02\x03\x04\x05\x06\x07", 8);
	ck_assert_uint_eq(r.nkeys, 1);
	ck_assert_uint_eq(r.nspans, 2);
	ck_assert_uint_eq(r.spans[0].md5[15], 0xff);
	ck_assert_int_eq(r.spans[1].start, 7);
	ck_assert_int_eq(r.spans[1].end, 8);
	persp_reply_free(&r);
}
END_TEST

#define FP_A	"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
#define FP_B	"01:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
#define R_HEAD(version, sigtype, sig) \
	"<notary_reply sig=\"" sig "\" sig_type=\"" sigtype "\" " \
	"version=\"" version "\">"
#define R_OPEN	R_HEAD("1", "rsa-md5", "AAAA")
#define R_KEY(fp, type, body) \
	"<key fp=\"" fp "\" type=\"" type "\">" body "</key>"
#define R_TS(start, end) "<timestamp end=\"" end "\" start=\"" start "\"/>"
#define R_CLOSE	"</notary_reply>"

START_TEST(test_parse_reply_refused)
{
	static const char *const bad[] = {
		"",
		R_HEAD("2", "rsa-md5", "AAAA") R_KEY(FP_A, "ssl",
		    R_TS("0", "1")) R_CLOSE,
		R_HEAD("1", "rsa-sha256", "AAAA") R_KEY(FP_A, "ssl",
		    R_TS("0", "1")) R_CLOSE,
		R_HEAD("1", "rsa-md5", "AA*A") R_KEY(FP_A, "ssl",
		    R_TS("0", "1")) R_CLOSE,
		R_OPEN R_KEY("00:11:22:33:44:55:66:77:88:99:AA:bb:cc:dd:ee:ff",
		    "ssl", R_TS("0", "1")) R_CLOSE,		/* uppercase */
		R_OPEN R_KEY("00:11:22", "ssl", R_TS("0", "1")) R_CLOSE,
		R_OPEN R_KEY(FP_A, "ssl", "") R_CLOSE,	/* no timestamps */
		R_OPEN R_CLOSE,				/* no keys */
		R_OPEN R_KEY(FP_A, "ssl", R_TS("-1", "1")) R_CLOSE,
		R_OPEN R_KEY(FP_A, "tls", R_TS("0", "1")) R_CLOSE,
		R_OPEN R_KEY(FP_A, "ssl", R_TS("0", "1")) R_CLOSE "x",
		R_OPEN R_KEY(FP_A, "ssl", R_TS("0", "1")),	/* no end */
		R_OPEN R_KEY(FP_A, "ssl", R_TS("0", "1"))
		    R_KEY(FP_B, "ssh", R_TS("0", "1")) R_CLOSE,	/* mixed */
		R_OPEN R_KEY(FP_A, "ssl", R_TS("0", "1"))
		    R_KEY(FP_A, "ssl", R_TS("2", "3")) R_CLOSE,	/* same key */
		R_OPEN R_KEY(FP_A, "ssl", "<!-- c -->" R_TS("0", "1")) R_CLOSE,
	};
	struct persp_reply	r;
	char			err[ERRLEN];
	size_t			i;

	for (i = 0; i < NELEM(bad); i++) {
		err[0] = '\0';
		ck_assert_msg(persp_parse_reply(bad[i], strlen(bad[i]), &r, err,
		    sizeof(err)) == -1, "row %zu accepted", i);
		ck_assert_msg(err[0] != '\0', "row %zu: no reason", i);
		ck_assert_ptr_null(r.spans);
	}
}
END_TEST

/* ---- signatures ------------------------------------------------------- */

static int
signature_count(void)
{
	const char	*s = getenv("CHECK_PERSP_SIGNATURES");
	int		 n;

	if (s == NULL || (n = atoi(s)) <= 0)
		return (1000);
	return (n);
}

/*
 * With the modulus n in [2^1368, 2^1369), a signature is below 2^1368
 * (top byte 0) with probability 2^1368 / n.  The first 8 modulus bytes
 * give that to 1e-15.
 */
static double
leading_zero_probability(EVP_PKEY *key)
{
	BIGNUM		*n = NULL;
	unsigned char	 b[172];
	double		 d = 0;
	int		 i;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N,
	    &n), 1);
	ck_assert_int_eq(BN_bn2binpad(n, b, sizeof(b)), 172);
	BN_free(n);
	ck_assert_uint_eq(b[0], 0x01);
	for (i = 0; i < 8; i++)
		d = d * 256 + b[i];
	return (ldexp(1.0, 56) / d);
}

START_TEST(test_many_signatures)
{
	EVP_PKEY		*key = fresh_key(1369);
	int			 i, count = signature_count(), zeros = 0;
	struct obs_span		 sp[2];
	struct persp_reply	 r;
	struct buf		 out;
	char			 svc[64], err[ERRLEN];
	const char		*s, *e;
	double			 t0, t1, p, sigma;

	ck_assert_int_eq(EVP_PKEY_get_size(key), 172);
	buf_init(&out, 65536);
	t0 = now_s();
	for (i = 0; i < count; i++) {
		snprintf(svc, sizeof(svc), "host%d.example.net:443,2", i);
		memset(sp, 0, sizeof(sp));
		sp[0].md5[0] = (uint8_t)i;
		sp[0].md5[1] = (uint8_t)(i >> 8);
		sp[0].start = 1400000000 + i;
		sp[0].end = 1500000000 + i;
		sp[1] = sp[0];
		sp[1].md5[15] = 1;
		buf_reset(&out);
		ck_assert_int_eq(persp_build_reply(svc, strlen(svc), 2, sp, 2,
		    key, &out), 0);
		/* The base64 of 172 bytes is exactly 232 characters. */
		s = memmem(out.data, out.len, "sig=\"", 5);
		ck_assert_ptr_nonnull(s);
		s += 5;
		e = memchr(s, '"', out.len - (size_t)(s - out.data));
		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(e - s, 232);
		ck_assert_msg(persp_parse_reply(out.data, out.len, &r, err,
		    sizeof(err)) == 0, "%s", err);
		ck_assert_uint_eq(r.siglen, 172);
		if (r.sig[0] == 0x00) {
			zeros++;
			/* Byte 0 is 0: "A" (000000), then 00xxxx: A..P. */
			ck_assert_int_eq(s[0], 'A');
			ck_assert(s[1] >= 'A' && s[1] <= 'P');
		}
		ck_assert_int_eq(persp_verify(svc, strlen(svc), r.spans,
		    r.nspans, r.sig, r.siglen, key), 1);
		persp_reply_free(&r);
	}
	t1 = now_s();
	p = leading_zero_probability(key);
	sigma = sqrt(count * p * (1 - p));
	if (tu_verbose())
		fprintf(stderr, "persp: %d replies built, parsed and "
		    "verified in %.3f s; %d (%.1f%%) signatures start with "
		    "0x00 (expected %.1f%% for this modulus)\n", count, t1 - t0,
		    zeros, 100.0 * zeros / count, 100 * p);
	ck_assert_int_gt(zeros, 0);
	ck_assert_msg(fabs(zeros - count * p) <= 6 * sigma + 2,
	    "%d leading zeros in %d signatures, expected %.1f", zeros, count,
	    count * p);
	buf_free(&out);
	EVP_PKEY_free(key);
}
END_TEST

/* Signing rate of one core: the bench compares cold replies with it. */
START_TEST(test_sign_rate)
{
	EVP_PKEY	*key = fixture_key();
	struct obs_span	 sp[3];
	struct buf	 out;
	unsigned char	 sig[PERSP_SIG_MAX];
	size_t		 siglen;
	int		 i, count = signature_count();
	double		 t0, t1, t2;

	fixture_spans(sp);
	buf_init(&out, 65536);
	t0 = now_s();
	for (i = 0; i < count; i++) {
		ck_assert_int_eq(persp_sign(key, &i, sizeof(i), sig,
		    sizeof(sig), &siglen), 0);
		ck_assert_uint_eq(siglen, 172);
	}
	t1 = now_s();
	for (i = 0; i < count; i++) {
		buf_reset(&out);
		ck_assert_int_eq(persp_build_reply(fixture_svc,
		    strlen(fixture_svc), 2, sp, 3, key, &out), 0);
	}
	t2 = now_s();
	if (tu_verbose())
		fprintf(stderr, "persp: persp_sign %.0f/s, persp_build_reply "
		    "%.0f/s (1369-bit RSA, MD5, one core)\n", count / (t1 - t0),
		    count / (t2 - t1));
	ck_assert_int_eq(persp_sign(key, "x", 1, sig, 171, &siglen), -1);
	buf_free(&out);
	EVP_PKEY_free(key);
}
END_TEST

/*
 * An independent verifier: the openssl command checks the packed bytes
 * and the signature of a reply, for a signature with a leading zero byte
 * (the case a bignum-based signer gets wrong) and one without.
 */
static void
openssl_verify(EVP_PKEY *key, const char *svc, const struct obs_span *sp,
    size_t n, int want_zero)
{
	struct persp_reply	 r;
	struct buf		 out, packed;
	char			 cmd[PATH_MAX * 5], err[ERRLEN], *pem, *res;
	const char		*pub = tu_path("pub.pem");

	buf_init(&out, 65536);
	buf_init(&packed, 65536);
	ck_assert_int_eq(persp_build_reply(svc, strlen(svc), 2, sp, n, key,
	    &out), 0);
	ck_assert_int_eq(persp_parse_reply(out.data, out.len, &r, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(r.siglen, 172);
	if ((r.sig[0] == 0) != want_zero) {
		persp_reply_free(&r);
		buf_free(&out);
		buf_free(&packed);
		return;
	}
	ck_assert_int_eq(persp_pack(svc, strlen(svc), r.spans, r.nspans,
	    &packed), 0);
	pem = keys_public_pem(key);
	ck_assert_ptr_nonnull(pem);
	tu_write_file(pub, pem, strlen(pem), 0644);
	tu_write_file(tu_path("sig.bin"), r.sig, r.siglen, 0644);
	tu_write_file(tu_path("packed.bin"), packed.data, packed.len, 0644);
	snprintf(cmd, sizeof(cmd), "openssl dgst -md5 -verify '%s' "
	    "-signature '%s/sig.bin' '%s/packed.bin' > '%s/out.txt' 2>&1",
	    pub, tu_dir, tu_dir, tu_dir);
	ck_assert_int_eq(system(cmd), 0);
	res = tu_read_file(tu_dir, "out.txt", NULL);
	ck_assert_msg(strstr(res, "Verified OK") != NULL, "openssl: %s", res);
	free(res);

	/* And it does fail on other bytes (the check is not a no-op). */
	((char *)packed.data)[0] ^= 0x20;
	tu_write_file(tu_path("packed.bin"), packed.data, packed.len, 0644);
	ck_assert_int_ne(system(cmd), 0);
	res = tu_read_file(tu_dir, "out.txt", NULL);
	ck_assert_msg(strstr(res, "Verification failure") != NULL,
	    "openssl: %s", res);
	free(res);
	free(pem);
	persp_reply_free(&r);
	buf_free(&out);
	buf_free(&packed);
}

START_TEST(test_openssl_cli_verifies)
{
	EVP_PKEY	*key = fresh_key(1369);
	struct obs_span	 sp[3];
	struct buf	 out;
	char		 svc[64];
	int		 i, want;

	fixture_spans(sp);
	buf_init(&out, 65536);
	for (want = 0; want <= 1; want++) {
		/* Find an id whose signature has (or lacks) a leading 0x00. */
		for (i = 0; i < 200; i++) {
			snprintf(svc, sizeof(svc), "v%d.example.com:443,2", i);
			buf_reset(&out);
			ck_assert_int_eq(persp_build_reply(svc, strlen(svc), 2,
			    sp, 3, key, &out), 0);
			if ((memcmp(out.data, "<notary_reply sig=\"AA", 21) ==
			    0 || memcmp(out.data, "<notary_reply sig=\"AB", 21)
			    == 0) == want)
				break;
		}
		ck_assert_int_lt(i, 200);
		openssl_verify(key, svc, sp, 3, want);
	}
	buf_free(&out);
	EVP_PKEY_free(key);
}
END_TEST

/* ---- query parsing (spec §1.2, §1.6, §1.7) ---------------------------- */

#define OK	PERSP_QUERY_OK
#define INDEX	PERSP_QUERY_INDEX
#define BAD	PERSP_QUERY_BAD

struct query_row {
	const char	*query;
	const char	*body;
	int		 status;
	const char	*id;		/* when OK */
	int		 type;
};

static const struct query_row query_rows[] = {
	/* What clients send. */
	{ "host=github.com&port=443&service_type=2&", NULL, OK,
	    "github.com:443,2", 2 },			/* Firefox */
	{ "host=www.example.org&port=8443&service_type=2&", NULL, OK,
	    "www.example.org:8443,2", 2 },
	{ "host=github.com&port=443&service_type=2", NULL, OK,
	    "github.com:443,2", 2 },			/* Python client */
	{ "service_type=2&port=443&host=github.com", NULL, OK,
	    "github.com:443,2", 2 },			/* any order */
	/* Defaults. */
	{ "host=github.com", NULL, OK, "github.com:443,2", 2 },
	{ "host=github.com&service_type=2", NULL, OK, "github.com:443,2", 2 },
	{ "host=github.com&port=443", NULL, OK, "github.com:443,2", 2 },
	{ "host=github.com&service_type=1", NULL, OK, "github.com:22,1", 1 },
	{ "host=github.com&port=2222&service_type=1", NULL, OK,
	    "github.com:2222,1", 1 },
	/* Empty segments, CherryPy's ';' separator. */
	{ "&host=github.com&&port=443&", NULL, OK, "github.com:443,2", 2 },
	{ "host=github.com;port=8443", NULL, OK, "github.com:8443,2", 2 },
	/* The index page: no parameter at all. */
	{ "", NULL, INDEX, NULL, 0 },			/* "/?" */
	{ NULL, NULL, INDEX, NULL, 0 },			/* "/" */
	{ "&&&", NULL, INDEX, NULL, 0 },
	{ "&", NULL, INDEX, NULL, 0 },
	{ ";&;", NULL, INDEX, NULL, 0 },
	{ "", "", INDEX, NULL, 0 },
	{ "?", NULL, BAD, NULL, 0 },			/* "/??": name "?" */
	/* Unknown and repeated parameters. */
	{ "host=github.com&foo=bar", NULL, BAD, NULL, 0 },
	{ "foo=bar", NULL, BAD, NULL, 0 },		/* before the index */
	{ "foo", NULL, BAD, NULL, 0 },			/* no '=': foo="" */
	{ "=", NULL, BAD, NULL, 0 },			/* empty name */
	{ "=github.com", NULL, BAD, NULL, 0 },
	{ "Host=github.com", NULL, BAD, NULL, 0 },	/* case matters */
	{ "host+=github.com", NULL, BAD, NULL, 0 },	/* name "host " */
	{ "host=a.example&host=b.example", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=443&port=443", NULL, BAD, NULL, 0 },
	{ "host=github.com&service_type=2&service_type=2", NULL, BAD, NULL,
	    0 },
	/* Host. */
	{ "host=&port=443", NULL, BAD, NULL, 0 },
	{ "host", NULL, BAD, NULL, 0 },			/* host="" */
	{ "port=443", NULL, BAD, NULL, 0 },
	{ "service_type=2", NULL, BAD, NULL, 0 },
	{ "host=GitHub.com", NULL, OK, "GitHub.com:443,2", 2 },	/* verbatim */
	{ "host=192.0.2.1&port=8443", NULL, OK, "192.0.2.1:8443,2", 2 },
	{ "host=[2001:db8::1]&port=443", NULL, OK, "[2001:db8::1]:443,2", 2 },
	{ "host=%20github.com", NULL, BAD, NULL, 0 },	/* never trimmed */
	{ "host=github.com.", NULL, BAD, NULL, 0 },	/* svcid: final dot */
	{ "host=127.1", NULL, BAD, NULL, 0 },		/* svcid: not a quad */
	{ "host=2001:db8::1", NULL, BAD, NULL, 0 },	/* svcid: no [] */
	{ "host=localhost&service_type=1", NULL, OK, "localhost:22,1", 1 },
	{ "host=git+hub.com", NULL, BAD, NULL, 0 },	/* '+' is a space */
	{ "host=github.com%", NULL, BAD, NULL, 0 },	/* literal '%' */
	/* Port. */
	{ "host=github.com&port=", NULL, BAD, NULL, 0 },	/* blank */
	{ "host=github.com&port", NULL, BAD, NULL, 0 },
	{ "host=github.com&service_type=1&port=", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=0", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=65536", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=99999", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=123456", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=abc", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=-1", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=0443", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=+443", NULL, BAD, NULL, 0 },	/* " 443" */
	{ "host=github.com&port=%2B443", NULL, BAD, NULL, 0 },	/* "+443" */
	{ "host=github.com&port=65535", NULL, OK, "github.com:65535,2", 2 },
	{ "host=github.com&port=1", NULL, OK, "github.com:1,2", 2 },
	/* Type. */
	{ "host=github.com&service_type=3", NULL, BAD, NULL, 0 },
	{ "host=github.com&service_type=", NULL, BAD, NULL, 0 },
	{ "host=github.com&service_type=02", NULL, BAD, NULL, 0 },
	{ "host=github.com&service_type=ssl", NULL, BAD, NULL, 0 },
	/* Percent-decoding, exactly once, names included. */
	{ "host=github%2Ecom&port=%34%34%33", NULL, OK, "github.com:443,2",
	    2 },
	{ "%68ost=github.com&service_type=%32", NULL, OK, "github.com:443,2",
	    2 },
	{ "host=%5B2001%3Adb8%3A%3A1%5D", NULL, OK, "[2001:db8::1]:443,2", 2 },
	{ "host=github.com%3A443", NULL, BAD, NULL, 0 },	/* "host:443" */
	{ "%2568ost=github.com", NULL, BAD, NULL, 0 },	/* name "%68ost" */
	{ "host=github.com&port=%2534%2534%2533", NULL, BAD, NULL, 0 },
	{ "host=github%252ecom", NULL, BAD, NULL, 0 },	/* "github%2ecom" */
	/* Bytes no host may hold. */
	{ "host=b%C3%BCcher.example", NULL, BAD, NULL, 0 },
	{ "host=b\xc3\xbc" "cher.example", NULL, BAD, NULL, 0 },
	{ "host=github.com%00.evil.example", NULL, BAD, NULL, 0 },
	{ "host=github.com%0A", NULL, BAD, NULL, 0 },
	{ "host=github.com%09", NULL, BAD, NULL, 0 },
	{ "host=github.com%7F", NULL, BAD, NULL, 0 },
	{ "host=github.com&port=443%00", NULL, BAD, NULL, 0 },
	/* A form body is part of the same parameter set. */
	{ NULL, "host=github.com&service_type=2&", OK, "github.com:443,2", 2 },
	{ "host=github.com", "port=8443", OK, "github.com:8443,2", 2 },
	{ "host=a.example", "host=b.example", BAD, NULL, 0 },
	{ "host=github.com", "foo=1", BAD, NULL, 0 },
};

START_TEST(test_query_table)
{
	const struct query_row	*row = &query_rows[_i];
	struct persp_query	 q;
	int			 st;

	memset(&q, 0x5a, sizeof(q));
	st = persp_parse_query(row->query, row->query != NULL ?
	    strlen(row->query) : 0, row->body, row->body != NULL ?
	    strlen(row->body) : 0, &q);
	ck_assert_msg(st == row->status && q.status == row->status,
	    "row %d \"%s\" / \"%s\": status %d (%s), want %d", _i,
	    row->query ? row->query : "(null)",
	    row->body ? row->body : "(null)", st, q.why ? q.why : "-",
	    row->status);
	if (row->status == BAD)
		ck_assert_ptr_nonnull(q.why);
	if (row->status != OK)
		return;
	ck_assert_str_eq(q.id, row->id);
	ck_assert_uint_eq(q.idlen, strlen(row->id));
	ck_assert_int_eq(q.type, row->type);
	ck_assert_int_eq(q.probe, row->type == 2);
}
END_TEST

/* The id may be 255 bytes, not 256; and the query length is not copied. */
START_TEST(test_query_lengths)
{
	char			 query[1024], host[300];
	struct persp_query	 q;
	size_t			 i;

	/* 63.63.63.57 = a 249-byte DNS name; ":443,2" makes 255. */
	memset(host, 'a', sizeof(host));
	host[63] = host[127] = host[191] = '.';
	host[249] = '\0';
	snprintf(query, sizeof(query), "host=%s&port=443&service_type=2&",
	    host);
	ck_assert_int_eq(persp_parse_query(query, strlen(query), NULL, 0, &q),
	    OK);
	ck_assert_uint_eq(q.idlen, 255);
	ck_assert_uint_eq(strlen(q.id), 255);
	host[249] = 'a';
	host[250] = '\0';
	snprintf(query, sizeof(query), "host=%s", host);
	ck_assert_int_eq(persp_parse_query(query, strlen(query), NULL, 0, &q),
	    BAD);
	for (i = 0; i < sizeof(host) - 1; i++)
		host[i] = 'b';
	host[sizeof(host) - 1] = '\0';
	snprintf(query, sizeof(query), "host=%s", host);
	ck_assert_int_eq(persp_parse_query(query, strlen(query), NULL, 0, &q),
	    BAD);
	/* Only qlen bytes count: what follows is another request's. */
	snprintf(query, sizeof(query), "host=github.com&foo=1");
	ck_assert_int_eq(persp_parse_query(query, 15, NULL, 0, &q), OK);
	ck_assert_str_eq(q.id, "github.com:443,2");
}
END_TEST

/* ---- keys ------------------------------------------------------------- */

START_TEST(test_keys_pkcs1_pkcs8)
{
	EVP_PKEY	*k8, *k1, *kl;
	char		 err[ERRLEN], *xml8, *xml1, *pub;
	const char	*p8, *p1;
	unsigned char	 s8[PERSP_SIG_MAX], s1[PERSP_SIG_MAX];
	size_t		 l8, l1;

	p8 = fixture_copy("persp_test_key.pem", 0600);
	p1 = fixture_copy("persp_test_key_pkcs1.pem", 0400);
	xml8 = tu_read_file(NULL, p8, NULL);
	xml1 = tu_read_file(NULL, p1, NULL);
	ck_assert_ptr_nonnull(strstr(xml8, "-----BEGIN PRIVATE KEY-----"));
	ck_assert_ptr_nonnull(strstr(xml1, "-----BEGIN RSA PRIVATE KEY-----"));
	free(xml8);
	free(xml1);
	k8 = keys_load_private(p8, err, sizeof(err));
	ck_assert_msg(k8 != NULL, "%s", err);
	k1 = keys_load_private(p1, err, sizeof(err));
	ck_assert_msg(k1 != NULL, "%s", err);
	ck_assert_int_eq(EVP_PKEY_eq(k8, k1), 1);
	ck_assert_int_eq(persp_sign(k8, "data", 4, s8, sizeof(s8), &l8), 0);
	ck_assert_int_eq(persp_sign(k1, "data", 4, s1, sizeof(s1), &l1), 0);
	ck_assert_uint_eq(l8, 172);
	ck_assert_uint_eq(l1, 172);
	ck_assert_mem_eq(s8, s1, 172);
	/* The public key fixture matches; keys_load returns its PEM. */
	ck_assert_msg(keys_load(p1, fixture_copy("persp_test_key.pub", 0644),
	    &kl, &pub, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(EVP_PKEY_eq(kl, k8), 1);
	xml1 = tu_read_file(fixtures_dir(), "persp_test_key.pub", NULL);
	ck_assert_str_eq(pub, xml1);
	free(xml1);
	free(pub);
	EVP_PKEY_free(kl);
	EVP_PKEY_free(k8);
	EVP_PKEY_free(k1);
}
END_TEST

START_TEST(test_keys_mode_refused)
{
	static const mode_t	 refused[] = { 0644, 0640, 0604, 0660, 0620,
	    0602, 0666 };
	static const mode_t	 accepted[] = { 0600, 0400, 0500, 0700 };
	char			 err[ERRLEN], want[64];
	const char		*p;
	EVP_PKEY		*k;
	size_t			 i;

	for (i = 0; i < NELEM(refused); i++) {
		p = fixture_copy("persp_test_key.pem", refused[i]);
		err[0] = '\0';
		ck_assert_ptr_null(keys_load_private(p, err, sizeof(err)));
		snprintf(want, sizeof(want), "mode %04o", (unsigned)refused[i]);
		ck_assert_msg(strstr(err, p) != NULL && strstr(err, want) !=
		    NULL, "%s", err);
	}
	for (i = 0; i < NELEM(accepted); i++) {
		p = fixture_copy("persp_test_key.pem", accepted[i]);
		k = keys_load_private(p, err, sizeof(err));
		ck_assert_msg(k != NULL, "%04o: %s", (unsigned)accepted[i],
		    err);
		EVP_PKEY_free(k);
	}
	/* A public key may be world-readable. */
	k = keys_load_public(fixture_copy("persp_test_key.pub", 0644), err,
	    sizeof(err));
	ck_assert_msg(k != NULL, "%s", err);
	EVP_PKEY_free(k);
}
END_TEST

static void
write_private_pem(const char *path, EVP_PKEY *key, mode_t mode)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*data;
	long	 len;

	ck_assert_ptr_nonnull(bio);
	ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	tu_write_file(path, data, (size_t)len, mode);
	BIO_free(bio);
}

START_TEST(test_keys_wrong_size_refused)
{
	EVP_PKEY	*big = fresh_key(2048), *small = fresh_key(1024);
	char		 err[ERRLEN], *pem;
	const char	*p = tu_path("big.priv");

	write_private_pem(p, big, 0600);
	ck_assert_ptr_null(keys_load_private(p, err, sizeof(err)));
	ck_assert_msg(strstr(err, "2048") != NULL && strstr(err, p) != NULL,
	    "%s", err);
	pem = keys_public_pem(big);
	tu_write_file(tu_path("big.pub"), pem, strlen(pem), 0644);
	free(pem);
	ck_assert_ptr_null(keys_load_public(tu_path("big.pub"), err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "2048"));
	write_private_pem(p, small, 0600);
	ck_assert_ptr_null(keys_load_private(p, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "1024"));
	EVP_PKEY_free(big);
	EVP_PKEY_free(small);
}
END_TEST

START_TEST(test_keys_other_refused)
{
	EVP_PKEY	*ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY	*rsa = fixture_key();
	BIO		*bio;
	char		 err[ERRLEN], *data;
	const char	*p = tu_path("other.priv");
	long		 len;

	ck_assert_ptr_nonnull(ec);
	write_private_pem(p, ec, 0600);
	ck_assert_ptr_null(keys_load_private(p, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not an RSA key") != NULL, "%s", err);

	/* Encrypted: refused without ever prompting for a passphrase. */
	bio = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, rsa, EVP_aes_128_cbc(),
	    (unsigned char *)"secret", 6, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	tu_write_file(p, data, (size_t)len, 0600);
	BIO_free(bio);
	ck_assert_ptr_null(keys_load_private(p, err, sizeof(err)));
	ck_assert_msg(strstr(err, "encrypted") != NULL, "%s", err);

	tu_write_file(p, "hello\n", 6, 0600);
	ck_assert_ptr_null(keys_load_private(p, err, sizeof(err)));
	ck_assert_msg(strstr(err, "no PEM private key") != NULL, "%s", err);
	tu_write_file(p, "", 0, 0600);
	ck_assert_ptr_null(keys_load_private(p, err, sizeof(err)));
	ck_assert_ptr_null(keys_load_private(tu_path("missing"), err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_ptr_null(keys_load_private(tu_dir, err, sizeof(err)));
	/* A private key is not a public key file. */
	ck_assert_ptr_null(keys_load_public(fixture_copy("persp_test_key.pem",
	    0600), err, sizeof(err)));
	ck_assert_msg(strstr(err, "no PEM public key") != NULL, "%s", err);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}
END_TEST

START_TEST(test_keys_mismatch_refused)
{
	EVP_PKEY	*other = fresh_key(1369), *key = (EVP_PKEY *)1;
	char		 err[ERRLEN], *pem = (char *)1;
	const char	*priv = fixture_copy("persp_test_key.pem", 0600);
	const char	*pub = tu_path("other.pub");
	char		*text = keys_public_pem(other);

	tu_write_file(pub, text, strlen(text), 0644);
	free(text);
	ck_assert_int_eq(keys_load(priv, pub, &key, &pem, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(key);
	ck_assert_ptr_null(pem);
	ck_assert_msg(strstr(err, "does not belong") != NULL &&
	    strstr(err, pub) != NULL, "%s", err);
	EVP_PKEY_free(other);
}
END_TEST

static void
assert_mode(const char *path, mode_t mode)
{
	struct stat	st;

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == mode, "%s: mode %04o, want %04o",
	    path, (unsigned)(st.st_mode & 07777), (unsigned)mode);
	ck_assert_uint_eq(st.st_uid, getuid());
	ck_assert_uint_eq(st.st_gid, getgid());
}

static int
dir_entries(const char *dir)
{
	char	*out = tu_sh_output("ls -A '%s'", dir), *p;
	int	 n = 0;

	for (p = out; *p != '\0'; p++)
		n += *p == '\n';
	free(out);
	return (n);
}

START_TEST(test_keys_generate)
{
	char		 err[ERRLEN], *pem, *priv_before, *pub_before, *text;
	const char	*priv = tu_path("notary.priv");
	const char	*pub = tu_path("notary.pub");
	EVP_PKEY	*key;
	struct stat	 st1, st2;
	mode_t		 old = umask(0);

	ck_assert_int_eq(keys_ensure(priv, pub, getuid(), getgid(), err,
	    sizeof(err)), KEYS_CREATED);
	umask(old);
	assert_mode(priv, 0600);
	assert_mode(pub, 0644);
	ck_assert_int_eq(dir_entries(tu_dir), 2);	/* no temporaries */
	priv_before = tu_read_file(NULL, priv, NULL);
	pub_before = tu_read_file(NULL, pub, NULL);
	ck_assert_ptr_nonnull(strstr(priv_before,
	    "-----BEGIN RSA PRIVATE KEY-----"));
	ck_assert_ptr_nonnull(strstr(pub_before, "-----BEGIN PUBLIC KEY-----"));
	ck_assert_msg(keys_load(priv, pub, &key, &pem, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(EVP_PKEY_get_bits(key), 1369);
	ck_assert_str_eq(pem, pub_before);
	/* The SPKI DER of a 1369-bit key is 205 bytes: "MIHKMA0G..". */
	ck_assert_ptr_nonnull(strstr(pem,
	    "MIHKMA0GCSqGSIb3DQEBAQUAA4G4ADCBtAKBrA"));
	free(pem);
	EVP_PKEY_free(key);

	/* A second call writes nothing. */
	ck_assert_int_eq(stat(priv, &st1), 0);
	ck_assert_int_eq(keys_ensure(priv, pub, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), KEYS_EXISTED);
	ck_assert_int_eq(stat(priv, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	text = tu_read_file(NULL, priv, NULL);
	ck_assert_str_eq(text, priv_before);
	free(text);

	/* A lost public key is derived again from the private key. */
	ck_assert_int_eq(unlink(pub), 0);
	ck_assert_int_eq(keys_ensure(priv, pub, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), KEYS_PUBLIC_WRITTEN);
	text = tu_read_file(NULL, pub, NULL);
	ck_assert_str_eq(text, pub_before);
	free(text);
	assert_mode(pub, 0644);

	/* A public key without its private key is never replaced. */
	ck_assert_int_eq(unlink(priv), 0);
	ck_assert_int_eq(keys_ensure(priv, pub, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, pub) != NULL, "%s", err);
	ck_assert_int_eq(access(priv, F_OK), -1);
	text = tu_read_file(NULL, pub, NULL);
	ck_assert_str_eq(text, pub_before);
	free(text);
	free(priv_before);
	free(pub_before);
}
END_TEST

START_TEST(test_keys_ensure_checks_existing)
{
	char		 err[ERRLEN];
	const char	*priv, *pub = tu_path("fixture.pub");

	/* A readable private key is refused, not "repaired". */
	priv = fixture_copy("persp_test_key.pem", 0644);
	ck_assert_int_eq(keys_ensure(priv, pub, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "0644") != NULL, "%s", err);
	ck_assert_int_eq(access(pub, F_OK), -1);
	/* A private file with nothing in it is never overwritten. */
	tu_write_file(priv, "junk\n", 5, 0600);
	ck_assert_int_eq(keys_ensure(priv, pub, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), -1);
	/* Nowhere to write: an error naming the file. */
	ck_assert_int_eq(keys_ensure("/nonexistent-dir/k.priv",
	    "/nonexistent-dir/k.pub", (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent-dir/k.priv") != NULL, "%s",
	    err);
}
END_TEST

/* ---- the suite -------------------------------------------------------- */

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("perspectives");
	TCase	*tc;

	tc = tcase_create("heimdal");
	tcase_add_test(tc, test_heimdal_parse);
	tcase_add_test(tc, test_heimdal_pack);
	tcase_add_test(tc, test_heimdal_verifies);
	tcase_add_test(tc, test_heimdal_encoded_message);
	tcase_add_test(tc, test_heimdal_negatives);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_checked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_add_test(tc, test_reply_fixture_bytes);
	tcase_add_test(tc, test_reply_fixture_packed);
	tcase_add_test(tc, test_reply_roundtrip);
	tcase_add_test(tc, test_reply_refused);
	tcase_add_test(tc, test_pack_wraps);
	tcase_add_test(tc, test_parse_reply_tolerant);
	tcase_add_test(tc, test_parse_reply_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("signatures");
	tcase_add_checked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_many_signatures);
	tcase_add_test(tc, test_sign_rate);
	tcase_add_test(tc, test_openssl_cli_verifies);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_loop_test(tc, test_query_table, 0, (int)NELEM(query_rows));
	tcase_add_test(tc, test_query_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_keys_pkcs1_pkcs8);
	tcase_add_test(tc, test_keys_mode_refused);
	tcase_add_test(tc, test_keys_wrong_size_refused);
	tcase_add_test(tc, test_keys_other_refused);
	tcase_add_test(tc, test_keys_mismatch_refused);
	tcase_add_test(tc, test_keys_generate);
	tcase_add_test(tc, test_keys_ensure_checks_existing);
	suite_add_tcase(s, tc);

	return (s);
}
