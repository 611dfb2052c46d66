/*
 * check_convergence.c - unit tests for server/convergence.c and
 * server/conv_relay.c: the /target parsing table (spec §2.2), the
 * decision order (§2.3), the signed JSON byte for byte against fixtures
 * built by hand (tests/fixtures/make-conv-reply.sh), the signature checked
 * by the openssl command, the reply framing (§2.5), the CONNECT relay
 * request (§5) and the .notary bundle (§7).
 *
 * Test data: $NOTARYD_SRCDIR/tests/fixtures or ./tests/fixtures.  Missing
 * test data is a failure, never a skip.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/log.h"
#include "server/conv_history.h"
#include "server/conv_wait.h"
#include "server/convergence.h"
#include "server/convkeys.h"
#include "server/sigproto.h"
#include "store/dbenv.h"
#include "store/obs.h"
#include "server/keys.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define FP_A	"51:1F:8E:C6:22:82:5B:ED:A2:75:CB:3E:95:AB:63:7F:69:D3:18:1C"
#define FP_B	"0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D"
#define FORM	"application/x-www-form-urlencoded"

/* ---- helpers ---------------------------------------------------------- */

static int
dir_has(const char *dir, const char *file)
{
	char	path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return (access(path, R_OK) == 0);
}

static const char *
fixtures_dir(void)
{
	static char	 dir[PATH_MAX * 2];
	const char	*src = getenv("NOTARYD_SRCDIR");
	const char	*file = "conv_reply_expected.json";

	if (src != NULL && *src != '\0') {
		snprintf(dir, sizeof(dir), "%s/tests/fixtures", src);
		if (dir_has(dir, file))
			return (dir);
	}
	snprintf(dir, sizeof(dir), "tests/fixtures");
	if (dir_has(dir, file))
		return (dir);
	snprintf(dir, sizeof(dir), "../tests/fixtures");
	if (dir_has(dir, file))
		return (dir);
	ck_abort_msg("tests/fixtures/%s not found: set NOTARYD_SRCDIR", file);
	return (NULL);
}

static const char *
fixture_path(const char *name)
{
	static char	path[4][PATH_MAX * 2 + 64];
	static int	next;
	char		*p = path[next++ % 4];

	snprintf(p, PATH_MAX * 2 + 64, "%s/%s", fixtures_dir(), name);
	return (p);
}

static char *
read_fixture(const char *name, size_t *len)
{
	FILE	*f = fopen(fixture_path(name), "rb");
	char	*data;
	long	 n;

	ck_assert_msg(f != NULL, "%s: %s", name, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return (data);
}

static EVP_PKEY *
load_key(const char *name, int private)
{
	FILE		*f = fopen(fixture_path(name), "r");
	EVP_PKEY	*k;

	ck_assert_ptr_nonnull(f);
	k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) :
	    PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(k);
	return (k);
}

static struct conv_row
row(const char *fp, int64_t start, int64_t finish)
{
	struct conv_row	r;

	memset(&r, 0, sizeof(r));
	snprintf(r.fp, sizeof(r.fp), "%s", fp);
	r.start = start;
	r.finish = finish;
	return (r);
}

/* The rows of make-conv-reply.sh, deliberately out of order. */
static void
fixture_rows(struct conv_row r[3])
{
	r[0] = row(FP_A, 1200000000, 1312537561);
	r[1] = row(FP_A, 1400000000, 1400086400);
	r[2] = row(FP_B, 1312537562, 1399999999);
	conv_sort_rows(r, 3);
}

/* ---- parsing table (spec §2.2) ---------------------------------------- */

static const struct parse_row {
	const char	*method;
	const char	*path;
	const char	*query;
	const char	*ctype;
	const char	*body;
	int		 status;
	const char	*msg;		/* error text, or the host on 0 */
	const char	*port;		/* on 0 */
} parse_rows[] = {
	/* The reference client's request. */
	{ "POST", "/target/www.example.com+443", NULL, FORM,
	  "fingerprint=" FP_A, 0, "www.example.com", "443" },
	{ "GET", "/target/www.example.com+443", NULL, NULL, NULL, 0,
	  "www.example.com", "443" },
	/* Order: path (404), method (405), target, port, fingerprint. */
	{ "PUT", "/target/a.example+443", NULL, NULL, NULL, 405,
	  "Unsupported method.", NULL },
	{ "HEAD", "/target", NULL, NULL, NULL, 405, "Unsupported method.",
	  NULL },
	{ "post", "/target/a.example+443", NULL, FORM, "fingerprint=" FP_A,
	  405, "Unsupported method.", NULL },
	{ "PUT", "/", NULL, NULL, NULL, 404, NULL, NULL },
	{ "GET", "/", NULL, NULL, NULL, 404, NULL, NULL },
	{ "GET", "/TARGET/a.example+443", NULL, NULL, NULL, 404, NULL, NULL },
	{ "GET", "/targets/a.example+443", NULL, NULL, NULL, 404, NULL, NULL },
	{ "GET", "", NULL, NULL, NULL, 404, NULL, NULL },
	{ "GET", "/target", NULL, NULL, NULL, 400,
	  "You must specify a target.", NULL },
	{ "POST", "/target", NULL, FORM, "fingerprint=" FP_A, 400,
	  "You must specify a target.", NULL },
	{ "GET", "/target/", NULL, NULL, NULL, 400,
	  "You must specify a destination port.", NULL },
	{ "GET", "/target/foo", NULL, NULL, NULL, 400,
	  "You must specify a destination port.", NULL },
	{ "GET", "/target/a+b+443", NULL, NULL, NULL, 400, "Invalid target.",
	  NULL },
	{ "GET", "/target/a%2Bb+443", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "POST", "/target/a.example+443", NULL, FORM, NULL, 400,
	  "You must specify a fingerprint.", NULL },
	{ "POST", "/target/a.example+443", NULL, FORM, "other=1", 400,
	  "You must specify a fingerprint.", NULL },
	{ "POST", "/target/a.example+443", NULL, "text/plain",
	  "fingerprint=" FP_A, 400, "You must specify a fingerprint.", NULL },
	/* Percent-decoding: per segment, once; '+' literal. */
	{ "GET", "/%74arget/a.example+443", NULL, NULL, NULL, 0, "a.example",
	  "443" },
	{ "GET", "/target/a.example%2B443", NULL, NULL, NULL, 0, "a.example",
	  "443" },
	{ "GET", "/target/%61.example+%34%34%33", NULL, NULL, NULL, 0,
	  "a.example", "443" },
	{ "GET", "/target/a.example+44%3", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/a%252Eexample+443", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/a%2Fb+443", NULL, NULL, NULL, 400, "Invalid target.",
	  NULL },
	{ "GET", "/target/a%00b+443", NULL, NULL, NULL, 400, "Invalid target.",
	  NULL },
	{ "GET", "/target/a%20b+443", NULL, NULL, NULL, 400, "Invalid target.",
	  NULL },
	/* Host case kept; a third segment (fork's IP) ignored. */
	{ "GET", "/target/WWW.Example.COM+443", NULL, NULL, NULL, 0,
	  "WWW.Example.COM", "443" },
	{ "POST", "/target/a.example+443/192.0.2.1", NULL, FORM,
	  "fingerprint=" FP_A, 0, "a.example", "443" },
	{ "GET", "/target/a.example+443/x/y", NULL, NULL, NULL, 0,
	  "a.example", "443" },
	/* Addresses. */
	{ "GET", "/target/192.0.2.7+8443", NULL, NULL, NULL, 0, "192.0.2.7",
	  "8443" },
	{ "GET", "/target/[2001:db8::1]+443", NULL, NULL, NULL, 0,
	  "[2001:db8::1]", "443" },
	{ "GET", "/target/%5B2001:db8::1%5D+443", NULL, NULL, NULL, 0,
	  "[2001:db8::1]", "443" },
	{ "GET", "/target/2001:db8::1+443", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	/* Bad ports. */
	{ "GET", "/target/a.example+", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/+443", NULL, NULL, NULL, 400, "Invalid target.",
	  NULL },
	{ "GET", "/target/a.example+0", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/a.example+0443", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/a.example+65536", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/a.example+65535", NULL, NULL, NULL, 0, "a.example",
	  "65535" },
	{ "GET", "/target/a.example+443443", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/a.example+-1", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/a.example+ 443", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	{ "GET", "/target/a.example+https", NULL, NULL, NULL, 400,
	  "Invalid target.", NULL },
	/* Fingerprints: query and body merged, body first; '+' a space. */
	{ "POST", "/target/a.example+443", "fingerprint=" FP_A, NULL, NULL, 0,
	  "a.example", "443" },
	{ "POST", "/target/a.example+443", "fingerprint=" FP_B, FORM,
	  "x=1&fingerprint=" FP_A "&fingerprint=" FP_B, 0, "a.example",
	  "443" },
	{ "POST", "/target/a.example+443", NULL,
	  "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
	  "a=b;fingerprint=" FP_A, 0, "a.example", "443" },
	{ "POST", "/target/a.example+443", NULL, FORM,
	  "fingerprint=51%3A1F%3A8E:C6:22:82:5B:ED:A2:75:CB:3E:95:AB:63:7F"
	  ":69:D3:18:1C", 0, "a.example", "443" },
	{ "POST", "/target/a.example+443", NULL, FORM,
	  "fingerprint=51:1f:8e:c6:22:82:5b:ed:a2:75:cb:3e:95:ab:63:7f:69:d3"
	  ":18:1c", 400, "Invalid fingerprint.", NULL },
	{ "POST", "/target/a.example+443", NULL, FORM,
	  "fingerprint=" FP_A ":00", 400, "Invalid fingerprint.", NULL },
	{ "POST", "/target/a.example+443", NULL, FORM, "fingerprint=", 400,
	  "Invalid fingerprint.", NULL },
	{ "POST", "/target/a.example+443", NULL, FORM, "fingerprint", 400,
	  "Invalid fingerprint.", NULL },
	{ "POST", "/target/a.example+443", NULL, FORM,
	  "fingerprint=51+1F:8E:C6:22:82:5B:ED:A2:75:CB:3E:95:AB:63:7F:69:D3"
	  ":18:1C", 400, "Invalid fingerprint.", NULL },
	/* The fingerprint check comes before the host check. */
	{ "POST", "/target/a.example+0", NULL, FORM, "", 400,
	  "You must specify a fingerprint.", NULL },
	/* GET ignores any fingerprint, valid or not. */
	{ "GET", "/target/a.example+443", "fingerprint=junk", NULL, NULL, 0,
	  "a.example", "443" },
};

START_TEST(test_parse_table)
{
	const struct parse_row	*r = &parse_rows[_i];
	struct conv_request_in	 in;
	struct conv_query	 q;

	memset(&in, 0, sizeof(in));
	in.method = r->method;
	in.method_len = strlen(r->method);
	in.path = r->path;
	in.path_len = strlen(r->path);
	in.query = r->query;
	in.query_len = r->query ? strlen(r->query) : 0;
	in.ctype = r->ctype;
	in.ctype_len = r->ctype ? strlen(r->ctype) : 0;
	in.body = r->body;
	in.body_len = r->body ? strlen(r->body) : 0;
	ck_assert_int_eq(conv_parse_request(&in, &q), r->status);
	ck_assert_int_eq(q.status, r->status);
	if (r->status != 0) {
		if (r->msg != NULL)
			ck_assert_str_eq(q.msg, r->msg);
		return;
	}
	ck_assert_str_eq(q.host, r->msg);
	ck_assert_str_eq(q.port, r->port);
	ck_assert_int_eq(q.post, strcmp(r->method, "POST") == 0);
	if (q.post)
		ck_assert_str_eq(q.fp, FP_A);
	else
		ck_assert_str_eq(q.fp, "");
}
END_TEST

START_TEST(test_parse_ids)
{
	struct conv_request_in	in;
	struct conv_query	q;
	const char		*path = "/target/Www.Example.com+8443";

	memset(&in, 0, sizeof(in));
	in.method = "GET";
	in.method_len = 3;
	in.path = path;
	in.path_len = strlen(path);
	ck_assert_int_eq(conv_parse_request(&in, &q), 0);
	ck_assert_str_eq(q.location, "Www.Example.com:8443");
	ck_assert_str_eq(q.svc, "Www.Example.com:8443,2");
	ck_assert_uint_eq(q.svclen, strlen(q.svc));
	ck_assert_uint_eq(q.target.port, 8443);
	ck_assert_int_eq(q.target.kind, SVCID_DNS);
}
END_TEST

/* Overlong paths and hosts: refused without overrunning anything. */
START_TEST(test_parse_overlong)
{
	struct conv_request_in	in;
	struct conv_query	q;
	char			path[4096], *p;
	size_t			hl;

	memset(&in, 0, sizeof(in));
	in.method = "GET";
	in.method_len = 3;
	/*
	 * The id "host:443,2" may have SVCID_MAX bytes: a host of 249 bytes
	 * (labels of at most 63) is accepted, 250 refused.
	 */
	for (hl = 249; hl <= 250; hl++) {
		p = path + sprintf(path, "/target/");
		memset(p, 'a', hl);
		p[63] = p[127] = p[191] = '.';
		strcpy(p + hl, "+443");
		in.path = path;
		in.path_len = strlen(path);
		ck_assert_int_eq(conv_parse_request(&in, &q),
		    hl == 249 ? 0 : 400);
		if (hl == 249)
			ck_assert_uint_eq(strlen(q.host), 249);
	}
	/* A segment longer than any target, with and without '+'. */
	p = path + sprintf(path, "/target/");
	memset(p, 'a', 3000);
	strcpy(p + 3000, "+443");
	in.path = path;
	in.path_len = strlen(path);
	ck_assert_int_eq(conv_parse_request(&in, &q), 400);
	ck_assert_str_eq(q.msg, "Invalid target.");
	p[3000] = '\0';
	in.path_len = strlen(path);
	ck_assert_int_eq(conv_parse_request(&in, &q), 400);
	ck_assert_str_eq(q.msg, "You must specify a destination port.");
	/* An overlong first segment is not "target". */
	memset(path + 1, 'x', 3000);
	path[3001] = '\0';
	in.path_len = strlen(path);
	ck_assert_int_eq(conv_parse_request(&in, &q), 404);
	/* Lengths are honoured: no NUL terminator needed. */
	memcpy(path, "/target/a.example+4431", 22);
	in.path_len = 21;
	ck_assert_int_eq(conv_parse_request(&in, &q), 0);
	ck_assert_str_eq(q.port, "443");
}
END_TEST

START_TEST(test_fp_text)
{
	uint8_t	sha1[20] = { 0x51, 0x1f, 0x8e, 0xc6, 0x22, 0x82, 0x5b, 0xed,
	    0xa2, 0x75, 0xcb, 0x3e, 0x95, 0xab, 0x63, 0x7f, 0x69, 0xd3, 0x18,
	    0x1c };
	char	out[CONV_FP_LEN + 1];

	conv_fp_text(sha1, out);
	ck_assert_str_eq(out, FP_A);
	ck_assert_int_eq(conv_fp_valid(FP_A, strlen(FP_A)), 1);
	ck_assert_int_eq(conv_fp_valid(FP_A, strlen(FP_A) - 1), 0);
	ck_assert_int_eq(conv_fp_valid("51-1F:8E:C6:22:82:5B:ED:A2:75:CB:3E"
	    ":95:AB:63:7F:69:D3:18:1C", 59), 0);
	ck_assert_int_eq(conv_fp_valid("G1:1F:8E:C6:22:82:5B:ED:A2:75:CB:3E"
	    ":95:AB:63:7F:69:D3:18:1C", 59), 0);
}
END_TEST

/* ---- decision (spec §2.3) --------------------------------------------- */

static struct conv_probe
probe_saw(const char *a, const char *b)
{
	struct conv_probe	p;

	memset(&p, 0, sizeof(p));
	p.ok = p.db_ok = 1;
	snprintf(p.seen[0], sizeof(p.seen[0]), "%s", a);
	p.nseen = 1;
	if (b != NULL) {
		snprintf(p.seen[1], sizeof(p.seen[1]), "%s", b);
		p.nseen = 2;
	}
	return (p);
}

START_TEST(test_decide)
{
	struct conv_row		r[3];
	struct conv_decision	d;
	struct conv_probe	p;

	fixture_rows(r);
	/* Read error first. */
	conv_decide(FP_A, 0, NULL, 0, NULL, &d);
	ck_assert_int_eq(d.action, CONV_REPLY);
	ck_assert_int_eq(d.status, 503);
	ck_assert_str_eq(d.msg, "Error retrieving records.");
	/* Hits: current or historical fingerprint, GET with rows. */
	conv_decide(FP_A, 1, r, 3, NULL, &d);
	ck_assert_int_eq(d.action, CONV_REPLY);
	ck_assert_int_eq(d.status, 200);
	ck_assert_ptr_null(d.msg);
	conv_decide(FP_B, 1, r, 3, NULL, &d);
	ck_assert_int_eq(d.status, 200);
	conv_decide(NULL, 1, r, 1, NULL, &d);
	ck_assert_int_eq(d.action, CONV_REPLY);
	ck_assert_int_eq(d.status, 200);
	/* Misses: unknown fp (exact compare), no rows (GET too). */
	conv_decide(FP_B, 1, r, 1, NULL, &d);
	ck_assert_int_eq(d.action, CONV_PROBE);
	conv_decide(NULL, 1, NULL, 0, NULL, &d);
	ck_assert_int_eq(d.action, CONV_PROBE);
	conv_decide(FP_A, 1, NULL, 0, NULL, &d);
	ck_assert_int_eq(d.action, CONV_PROBE);
	/* After the probe. */
	p = probe_saw(FP_A, NULL);
	conv_decide(FP_A, 1, r, 3, &p, &d);
	ck_assert_int_eq(d.action, CONV_REPLY);
	ck_assert_int_eq(d.status, 200);
	ck_assert_int_eq(d.record, 0);
	conv_decide(FP_B, 1, r, 3, &p, &d);
	ck_assert_int_eq(d.status, 409);
	ck_assert_int_eq(d.record, 0);
	ck_assert_ptr_null(d.msg);
	/* GET of an uncached target: 409 with the fresh observation. */
	conv_decide(NULL, 1, r, 1, &p, &d);
	ck_assert_int_eq(d.status, 409);
	/* Without SNI B, with SNI A: 200, record the SNI one. */
	p = probe_saw(FP_B, FP_A);
	conv_decide(FP_A, 1, r, 3, &p, &d);
	ck_assert_int_eq(d.status, 200);
	ck_assert_int_eq(d.record, 1);
	/* Failures. */
	p.ok = 0;
	conv_decide(FP_A, 1, r, 3, &p, &d);
	ck_assert_int_eq(d.status, 503);
	ck_assert_str_eq(d.msg, "Internal Error.");
	p = probe_saw(FP_A, NULL);
	p.db_ok = 0;
	conv_decide(FP_A, 1, r, 3, &p, &d);
	ck_assert_int_eq(d.status, 503);
	p.db_ok = 1;
	conv_decide(FP_A, 0, r, 3, &p, &d);
	ck_assert_int_eq(d.status, 503);
}
END_TEST

START_TEST(test_sort_rows)
{
	struct conv_row	r[4];

	r[0] = row(FP_A, 10, 20);
	r[1] = row(FP_B, 5, 30);
	r[2] = row(FP_B, 15, 20);
	r[3] = row(FP_A, 15, 20);
	conv_sort_rows(r, 4);
	ck_assert_int_eq(r[0].finish, 30);
	ck_assert_str_eq(r[1].fp, FP_A);	/* start 15, "51" > "0A" */
	ck_assert_int_eq(r[1].start, 15);
	ck_assert_str_eq(r[2].fp, FP_B);
	ck_assert_int_eq(r[3].start, 10);
}
END_TEST

/* ---- the signed JSON (spec §3) ---------------------------------------- */

START_TEST(test_json_unsigned_fixture)
{
	struct conv_row	 r[3];
	struct buf	 b;
	size_t		 len;
	char		*want = read_fixture("conv_reply_unsigned.json", &len);

	fixture_rows(r);
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(conv_unsigned(r, 3, &b), 0);
	ck_assert_uint_eq(b.len, len);
	ck_assert_int_eq(memcmp(b.data, want, len), 0);
	buf_reset(&b);
	ck_assert_int_eq(conv_unsigned(NULL, 0, &b), 0);
	ck_assert_uint_eq(b.len, strlen("{\"fingerprintList\": []}"));
	ck_assert_int_eq(memcmp(b.data, "{\"fingerprintList\": []}", b.len),
	    0);
	buf_free(&b);
	free(want);
}
END_TEST

START_TEST(test_json_reply_fixture)
{
	struct conv_row	 r[3];
	struct buf	 b;
	size_t		 len, elen;
	char		*want = read_fixture("conv_reply_expected.json", &len);
	char		*empty = read_fixture("conv_reply_empty.json", &elen);
	EVP_PKEY	*key = load_key("conv_test_key.pem", 1);
	EVP_PKEY	*pub = load_key("conv_test_key.pub", 0);

	fixture_rows(r);
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(conv_build_reply(r, 3, key, &b), 0);
	ck_assert_uint_eq(b.len, len);
	ck_assert_int_eq(memcmp(b.data, want, len), 0);
	ck_assert_int_eq(conv_verify_body(b.data, b.len, pub), 1);
	/* 2048-bit key: 344 base64 characters ending in "==". */
	ck_assert_int_eq(memcmp(b.data + b.len - 4, "==\"}", 4), 0);
	ck_assert_ptr_nonnull(strstr(want, "\"signature\": \""));
	ck_assert_uint_eq(strlen(strstr(want, "\"signature\": \"") + 14),
	    344 + 2);
	buf_reset(&b);
	ck_assert_int_eq(conv_build_reply(NULL, 0, key, &b), 0);
	ck_assert_uint_eq(b.len, elen);
	ck_assert_int_eq(memcmp(b.data, empty, elen), 0);
	ck_assert_int_eq(conv_verify_body(b.data, b.len, pub), 1);
	/* One changed byte anywhere in the signed part fails. */
	memcpy(want + 40, "1", 1);
	ck_assert_int_eq(conv_verify_body(want, len, pub), 0);
	ck_assert_int_eq(conv_verify_body(want, len - 2, pub), 0);
	buf_free(&b);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	free(want);
	free(empty);
}
END_TEST

START_TEST(test_json_refused)
{
	struct conv_row	 r[2];
	struct buf	 b;
	EVP_PKEY	*key = load_key("conv_test_key.pem", 1);
	EVP_PKEY	*ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	buf_init(&b, 1 << 16);
	ck_assert_int_eq(buf_puts(&b, "keep"), 0);
	r[0] = row(FP_A, 1, 2);
	r[1] = row("51:1f:8e:c6:22:82:5b:ed:a2:75:cb:3e:95:ab:63:7f:69:d3:18:1c",
	    1, 2);
	ck_assert_int_eq(conv_build_reply(r, 2, key, &b), -1);
	r[1] = row(FP_B, -1, 2);
	ck_assert_int_eq(conv_unsigned(r, 2, &b), -1);
	r[1] = row("\"},{", 1, 2);
	ck_assert_int_eq(conv_unsigned(r, 2, &b), -1);
	ck_assert_ptr_nonnull(ec);
	ck_assert_int_eq(conv_build_reply(r, 1, ec, &b), -1);
	ck_assert_int_eq(conv_build_reply(r, 1, NULL, &b), -1);
	ck_assert_uint_eq(b.len, 4);
	/* A bounded buffer that is too small leaves it unchanged. */
	buf_free(&b);
	buf_init(&b, 100);
	ck_assert_int_eq(conv_build_reply(r, 1, key, &b), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ec);
}
END_TEST

/* The openssl command verifies our signature over UNSIGNED. */
START_TEST(test_openssl_cli_verifies)
{
	struct conv_row	 r[3];
	struct buf	 b;
	char		 dir[] = "/tmp/check_conv.XXXXXX", cmd[PATH_MAX * 4];
	char		 upath[PATH_MAX], spath[PATH_MAX];
	unsigned char	 sig[CONV_SIG_MAX];
	size_t		 siglen;
	FILE		*f;
	EVP_PKEY	*key = load_key("conv_test_key.pem", 1);
	int		 st, round;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(upath, sizeof(upath), "%s/u", dir);
	snprintf(spath, sizeof(spath), "%s/s", dir);
	fixture_rows(r);
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(conv_unsigned(r, 3, &b), 0);
	ck_assert_int_eq(conv_sign(key, b.data, b.len, sig, sizeof(sig),
	    &siglen), 0);
	ck_assert_uint_eq(siglen, 256);
	for (round = 0; round < 2; round++) {
		f = fopen(upath, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
		fclose(f);
		f = fopen(spath, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(sig, 1, siglen, f), siglen);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "openssl dgst -sha1 -verify '%s' "
		    "-signature '%s' '%s' >/dev/null 2>&1",
		    fixture_path("conv_test_key.pub"), spath, upath);
		st = system(cmd);
		ck_assert_msg(WIFEXITED(st), "openssl did not run");
		/* Round 1 changes one byte: openssl must say no. */
		ck_assert_int_eq(WEXITSTATUS(st), round == 0 ? 0 : 1);
		b.data[10] ^= 1;
	}
	unlink(upath);
	unlink(spath);
	rmdir(dir);
	buf_free(&b);
	EVP_PKEY_free(key);
}
END_TEST

/* ---- framing (spec §2.5) ---------------------------------------------- */

START_TEST(test_frame)
{
	struct buf	b;
	const char	*want409 = "HTTP/1.0 409 Conflict\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\n{}";
	const char	*want400 = "HTTP/1.0 400 Bad Request\r\n"
	    "Content-Type: text/html\r\nContent-Length: 52\r\n"
	    "Connection: close\r\n\r\n"
	    "<html><body>You must specify a target.</body></html>";

	buf_init(&b, 4096);
	ck_assert_int_eq(conv_frame(409, "{}", 2, &b), 0);
	ck_assert_uint_eq(b.len, strlen(want409));
	ck_assert_int_eq(memcmp(b.data, want409, b.len), 0);
	buf_reset(&b);
	ck_assert_int_eq(conv_frame_error(400, "You must specify a target.",
	    &b), 0);
	ck_assert_uint_eq(b.len, strlen(want400));
	ck_assert_int_eq(memcmp(b.data, want400, b.len), 0);
	ck_assert_str_eq(conv_reason(200), "OK");
	ck_assert_str_eq(conv_reason(405), "Method Not Allowed");
	ck_assert_str_eq(conv_reason(503), "Service Unavailable");
	buf_free(&b);
}
END_TEST

/* ---- the CONNECT relay (spec §5) -------------------------------------- */

static const struct connect_row {
	const char	*req;
	int		 ret;		/* > 0: complete; 0; -1 */
	int		 ok;
	size_t		 ndest;
	const char	*dest0;
	const char	*dest1;
} connect_rows[] = {
	/* The reference client's bytes. */
	{ "CONNECT n1.example:4242 HTTP/1.1\r\nHost: n1.example\r\n"
	  "X-Convergence-Notary: n2.example+4242\r\n\r\n", 1, 1, 2,
	  "n1.example", "n2.example" },
	{ "CONNECT n1.example:4242 HTTP/1.0\r\n\r\n", 1, 1, 1, "n1.example",
	  NULL },
	{ "CONNECT n1.example HTTP/1.1\r\nx-convergence-notary:  n2.example "
	  "\r\n\r\n", 1, 1, 2, "n1.example", "n2.example" },
	{ "CONNECT 192.0.2.1:4242 HTTP/1.1\n\n", 1, 1, 1, "192.0.2.1", NULL },
	/* Refused: other port, other method, bad alternative. */
	{ "CONNECT n1.example:443 HTTP/1.1\r\n\r\n", 1, 0, 0, NULL, NULL },
	{ "CONNECT n1.example:42420 HTTP/1.1\r\n\r\n", 1, 0, 0, NULL, NULL },
	{ "CONNECT n1.example:4242 HTTP/1.1\r\nX-Convergence-Notary: "
	  "n2.example+443\r\n\r\n", 1, 0, 1, NULL, NULL },
	{ "CONNECT n1.example:4242 HTTP/1.1\r\nX-Convergence-Notary: "
	  "n2.example:80\r\n\r\n", 1, 0, 1, NULL, NULL },
	{ "connect n1.example:4242 HTTP/1.1\r\n\r\n", 1, 0, 0, NULL, NULL },
	{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, 0, 0, NULL, NULL },
	{ "GET /target/a+443 HTTP/1.0\r\n\r\n", 1, 0, 0, NULL, NULL },
	{ "CONNECT [::1]:4242 HTTP/1.1\r\n\r\n", 1, 0, 0, NULL, NULL },
	{ "CONNECT a+b:4242 HTTP/1.1\r\n\r\n", 1, 0, 0, NULL, NULL },
	{ "CONNECT :4242 HTTP/1.1\r\n\r\n", 1, 0, 0, NULL, NULL },
	{ "CONNECT a_b.example:4242 HTTP/1.1\r\n\r\n", 1, 0, 0, NULL, NULL },
	/* Incomplete and malformed heads. */
	{ "CONNECT n1.example:4242 HTTP/1.1\r\nHost: n1", 0, 0, 0, NULL,
	  NULL },
	{ "CONNECT n1.example:4242 HTTP/1.1\r\n", 0, 0, 0, NULL, NULL },
	{ "CONNECT n1.example:4242\r\n\r\n", -1, 0, 0, NULL, NULL },
	{ "CONNECT a b HTTP/1.1\r\n\r\n", -1, 0, 0, NULL, NULL },
	{ "CONNECT n1.example:4242 HTTP/2.0\r\n\r\n", -1, 0, 0, NULL, NULL },
	{ "\r\n\r\n", -1, 0, 0, NULL, NULL },
	{ "CONNECT n1.example:4242 HTTP/1.1\r\nno colon\r\n\r\n", -1, 0, 0,
	  NULL, NULL },
};

START_TEST(test_connect_table)
{
	const struct connect_row	*r = &connect_rows[_i];
	struct conv_connect		 c;
	int				 ret;

	ret = conv_parse_connect(r->req, strlen(r->req), &c);
	if (r->ret > 0) {
		ck_assert_int_eq(ret, (int)strlen(r->req));
		ck_assert_uint_eq(c.head_len, strlen(r->req));
	} else
		ck_assert_int_eq(ret, r->ret);
	if (ret <= 0)
		return;
	ck_assert_int_eq(c.ok, r->ok);
	if (!r->ok)
		return;
	ck_assert_uint_eq(c.ndest, r->ndest);
	ck_assert_str_eq(c.dest[0], r->dest0);
	if (r->dest1 != NULL)
		ck_assert_str_eq(c.dest[1], r->dest1);
}
END_TEST

START_TEST(test_connect_limits)
{
	struct conv_connect	c;
	char			req[CONV_CONNECT_MAX + 512];
	size_t			n, i;

	/* More alternatives than CONV_CONNECT_DESTS: refused. */
	n = (size_t)sprintf(req, "CONNECT n0.example:4242 HTTP/1.1\r\n");
	for (i = 1; i <= CONV_CONNECT_DESTS; i++)
		n += (size_t)sprintf(req + n, "X-Convergence-Notary: "
		    "n%zu.example+4242\r\n", i);
	n += (size_t)sprintf(req + n, "\r\n");
	ck_assert_int_eq(conv_parse_connect(req, n, &c), (int)n);
	ck_assert_int_eq(c.ok, 0);
	/* A head that never ends: -1 once it reaches the limit. */
	n = (size_t)sprintf(req, "CONNECT n0.example:4242 HTTP/1.1\r\n");
	while (n < CONV_CONNECT_MAX + 100)
		n += (size_t)sprintf(req + n, "X-Pad: aaaaaaaaaaaaaaaa\r\n");
	ck_assert_int_eq(conv_parse_connect(req, CONV_CONNECT_MAX - 1, &c), 0);
	ck_assert_int_eq(conv_parse_connect(req, n, &c), -1);
	/* Bytes after the head (the client's TLS) are not consumed. */
	n = (size_t)sprintf(req, "CONNECT n1.example:4242 HTTP/1.1\r\n\r\n"
	    "\x16\x03\x01");
	ck_assert_int_eq(conv_parse_connect(req, n, &c), (int)n - 3);
}
END_TEST

START_TEST(test_connect_replies)
{
	struct buf	b;
	const char	*ok = "HTTP/1.0 200 Connection Established\r\n"
	    "Proxy-Agent: Convergence\r\nX-Convergence-Notary: n1.example\r\n"
	    "\r\n";
	const char	*no = "HTTP/1.1 403 Access Denied\r\n"
	    "Connection: close\r\n\r\n<html>The request you issued is not an "
	    "authorized Convergence Notary request.\n";
	const char	*fail = "HTTP/1.0 404 Unable to connect\r\n"
	    "Connection: close\r\n\r\n"
	    "<html><body>Unable to connect to notary!</body></html>";

	buf_init(&b, 4096);
	ck_assert_int_eq(conv_connect_ok("n1.example", &b), 0);
	ck_assert_uint_eq(b.len, strlen(ok));
	ck_assert_int_eq(memcmp(b.data, ok, b.len), 0);
	buf_reset(&b);
	ck_assert_int_eq(conv_connect_refused(1, &b), 0);
	ck_assert_uint_eq(b.len, strlen(no));
	ck_assert_int_eq(memcmp(b.data, no, b.len), 0);
	buf_reset(&b);
	ck_assert_int_eq(conv_connect_failed(0, &b), 0);
	ck_assert_uint_eq(b.len, strlen(fail));
	ck_assert_int_eq(memcmp(b.data, fail, b.len), 0);
	buf_free(&b);
}
END_TEST

/* ---- the bundle (spec §7) --------------------------------------------- */

START_TEST(test_bundle_fixture)
{
	struct conv_bundle_host	 h;
	struct buf		 b;
	size_t			 len, plen;
	char			*want = read_fixture(
	    "conv_bundle_expected.notary", &len);
	char			*pem = read_fixture("conv_test_cert.pem", &plen);
	char			*crlf, *p, *q;

	h.host = "notary-test.example";
	h.ssl_port = 443;
	h.http_port = 80;
	h.cert_pem = pem;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(conv_bundle("Test Notary \"T\xc3\xa9st\"",
	    "https://notary-test.example/test.notary", "DE", &h, 1, &b), 0);
	ck_assert_uint_eq(b.len, len);
	ck_assert_int_eq(memcmp(b.data, want, len), 0);
	/* CRLF line ends give the same bundle. */
	crlf = malloc(2 * plen + 1);
	ck_assert_ptr_nonnull(crlf);
	for (p = pem, q = crlf; *p != '\0'; p++) {
		if (*p == '\n')
			*q++ = '\r';
		*q++ = *p;
	}
	*q = '\0';
	h.cert_pem = crlf;
	buf_reset(&b);
	ck_assert_int_eq(conv_bundle("Test Notary \"T\xc3\xa9st\"",
	    "https://notary-test.example/test.notary", "DE", &h, 1, &b), 0);
	ck_assert_int_eq(memcmp(b.data, want, len), 0);
	buf_free(&b);
	free(crlf);
	free(want);
	free(pem);
}
END_TEST

START_TEST(test_bundle_refused)
{
	struct conv_bundle_host	 h = { "n.example", 443, 80, NULL };
	struct buf		 b;
	size_t			 plen;
	char			*pem = read_fixture("conv_test_cert.pem", &plen);
	const char		*loc = "https://n.example/n.notary";

	h.cert_pem = pem;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(conv_bundle("N", loc, NULL, &h, 1, &b), 0);
	ck_assert_ptr_null(memmem(b.data, b.len, "region", 6));
	buf_reset(&b);
	ck_assert_int_eq(conv_bundle("", loc, NULL, &h, 1, &b), -1);
	ck_assert_int_eq(conv_bundle("N", "http://n.example/n.notary", NULL,
	    &h, 1, &b), -1);
	ck_assert_int_eq(conv_bundle("N", "https://n.example/n.json", NULL,
	    &h, 1, &b), -1);
	ck_assert_int_eq(conv_bundle("N", loc, "de", &h, 1, &b), -1);
	ck_assert_int_eq(conv_bundle("N", loc, "DEU", &h, 1, &b), -1);
	ck_assert_int_eq(conv_bundle("N", loc, NULL, &h, 0, &b), -1);
	ck_assert_int_eq(conv_bundle("N\xff", loc, NULL, &h, 1, &b), -1);
	ck_assert_int_eq(conv_bundle("N\xc0\xaf", loc, NULL, &h, 1, &b), -1);
	h.ssl_port = 0;
	ck_assert_int_eq(conv_bundle("N", loc, NULL, &h, 1, &b), -1);
	h.ssl_port = 443;
	h.host = "bad host";
	ck_assert_int_eq(conv_bundle("N", loc, NULL, &h, 1, &b), -1);
	h.host = "n.example";
	h.cert_pem = "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n";
	ck_assert_int_eq(conv_bundle("N", loc, NULL, &h, 1, &b), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	free(pem);
}
END_TEST

START_TEST(test_json_string)
{
	struct buf	b;
	const char	*in = "a\"\\\n\r\t\b\f\x01\x7f\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80/";
	const char	*want = "\"a\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u007f"
	    "\\u00e9\\u20ac\\ud83d\\ude00/\"";

	buf_init(&b, 1024);
	ck_assert_int_eq(conv_json_string(in, strlen(in), &b), 0);
	ck_assert_uint_eq(b.len, strlen(want));
	ck_assert_int_eq(memcmp(b.data, want, b.len), 0);
	buf_reset(&b);
	ck_assert_int_eq(conv_json_string("\xed\xa0\x80", 3, &b), -1);
	ck_assert_int_eq(conv_json_string("\xe2\x82", 2, &b), -1);
	ck_assert_int_eq(conv_json_string("\xf4\x90\x80\x80", 4, &b), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

/* ---- the certificate and key (convkeys) -------------------------------- */

static char	kdir[64];

static void
kdir_setup(void)
{
	snprintf(kdir, sizeof(kdir), "/tmp/check_convkeys.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(kdir));
}

static void
kdir_teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kdir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *
kpath(const char *name)
{
	static char	p[4][128];
	static int	next;
	char		*s = p[next++ % 4];

	snprintf(s, 128, "%s/%s", kdir, name);
	return (s);
}

/* The SHA-1 fingerprint as the openssl command prints it. */
static void
cli_fp(const char *cert, char *out, size_t len)
{
	char	cmd[512], line[256];
	FILE	*p;

	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -sha1 "
	    "-in '%s'", cert);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
	ck_assert_int_eq(pclose(p), 0);
	line[strcspn(line, "\n")] = '\0';
	ck_assert_ptr_nonnull(strchr(line, '='));
	snprintf(out, len, "%s", strchr(line, '=') + 1);
}

START_TEST(test_keys_generate)
{
	struct convkeys_cert	 c;
	struct stat		 st;
	EVP_PKEY		*key;
	char			 err[512], fp[128];
	int			 days, secs;
	const char		*crt = kpath("keys/../c.crt"), *k = kpath("c.key");

	ck_assert_int_eq(mkdir(kpath("keys"), 0700), 0);
	ck_assert_int_eq(convkeys_ensure(crt, k, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), KEYS_CREATED);
	ck_assert_int_eq(stat(crt, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(k, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_msg(convkeys_load(crt, k, &key, &c, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(EVP_PKEY_get_bits(key), 2048);
	ck_assert(EVP_PKEY_is_a(key, "RSA"));
	cli_fp(crt, fp, sizeof(fp));
	ck_assert_str_eq(c.fp, fp);
	ck_assert_int_eq(conv_fp_valid(c.fp, strlen(c.fp)), 1);
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(
	    c.leaf), X509_get0_notAfter(c.leaf)), 1);
	ck_assert_int_eq(days, CONVKEYS_DAYS);
	ck_assert_int_eq(X509_check_issued(c.leaf, c.leaf), X509_V_OK);
	ck_assert_ptr_nonnull(strstr(c.pem, "-----BEGIN CERTIFICATE-----"));
	/* The signature key is the certificate's key. */
	EVP_PKEY_free(key);
	convkeys_cert_free(&c);
	/* Second start: nothing changes. */
	ck_assert_int_eq(convkeys_ensure(crt, k, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), KEYS_EXISTED);
	ck_assert_int_eq(convkeys_load_cert(crt, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.fp, fp);
	convkeys_cert_free(&c);
	/* Only the key: a certificate for it; only the cert: refused. */
	ck_assert_int_eq(unlink(crt), 0);
	ck_assert_int_eq(convkeys_ensure(crt, k, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), KEYS_CREATED);
	ck_assert_int_eq(convkeys_load(crt, k, &key, &c, err, sizeof(err)), 0);
	EVP_PKEY_free(key);
	convkeys_cert_free(&c);
	ck_assert_int_eq(unlink(k), 0);
	ck_assert_int_eq(convkeys_ensure(crt, k, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "refusing"));
}
END_TEST

START_TEST(test_keys_refused)
{
	struct convkeys_cert	 c;
	EVP_PKEY		*key = NULL;
	char			 err[512], cmd[1024];
	const char		*crt = fixture_path("conv_test_cert.pem");

	/* The fixture pair, key copied 0600: loads; 0640: refused. */
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 600 '%s'",
	    fixture_path("conv_test_key.pem"), kpath("k.pem"), kpath("k.pem"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(convkeys_load(crt, kpath("k.pem"), &key, &c, err,
	    sizeof(err)) == 0, "%s", err);
	EVP_PKEY_free(key);
	convkeys_cert_free(&c);
	ck_assert_int_eq(chmod(kpath("k.pem"), 0640), 0);
	ck_assert_int_eq(convkeys_load(crt, kpath("k.pem"), &key, &c, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "mode"));
	/* PKCS#1 form accepted too. */
	snprintf(cmd, sizeof(cmd), "openssl rsa -traditional -in '%s' -out "
	    "'%s' 2>/dev/null && chmod 600 '%s'",
	    fixture_path("conv_test_key.pem"), kpath("k1.pem"),
	    kpath("k1.pem"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(convkeys_load(crt, kpath("k1.pem"), &key, &c, err,
	    sizeof(err)) == 0, "%s", err);
	EVP_PKEY_free(key);
	convkeys_cert_free(&c);
	/* Another key: mismatch.  A small key and an EC key: refused. */
	snprintf(cmd, sizeof(cmd), "openssl genrsa -out '%s' 2048 2>/dev/null "
	    "&& openssl genrsa -out '%s' 1024 2>/dev/null && openssl genpkey "
	    "-algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' && "
	    "chmod 600 '%s' '%s' '%s'", kpath("o.pem"), kpath("s.pem"),
	    kpath("e.pem"), kpath("o.pem"), kpath("s.pem"), kpath("e.pem"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(convkeys_load(crt, kpath("o.pem"), &key, &c, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "does not belong"));
	ck_assert_int_eq(convkeys_load(crt, kpath("s.pem"), &key, &c, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "RSA"));
	ck_assert_int_eq(convkeys_load(crt, kpath("e.pem"), &key, &c, err,
	    sizeof(err)), -1);
	/* A key file is not a certificate. */
	ck_assert_int_eq(convkeys_load_cert(fixture_path("conv_test_key.pub"),
	    &c, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_keys_paths)
{
	struct conf	cf;
	char		c[256], k[256];
	char		dd[] = "/var/lib/notaryd", e[] = "", cc[] = "/etc/c.pem",
			kk[] = "/etc/c.key";

	memset(&cf, 0, sizeof(cf));
	cf.daemon.data_dir = dd;
	cf.convergence.certificate = e;
	cf.convergence.key = e;
	ck_assert_int_eq(convkeys_paths(&cf, c, sizeof(c), k, sizeof(k)), 1);
	ck_assert_str_eq(c, "/var/lib/notaryd/keys/convergence.crt");
	ck_assert_str_eq(k, "/var/lib/notaryd/keys/convergence.key");
	cf.convergence.certificate = cc;
	cf.convergence.key = kk;
	ck_assert_int_eq(convkeys_paths(&cf, c, sizeof(c), k, sizeof(k)), 0);
	ck_assert_str_eq(c, "/etc/c.pem");
	ck_assert_str_eq(k, "/etc/c.key");
	ck_assert_int_eq(convkeys_paths(&cf, c, 5, k, sizeof(k)), -1);
}
END_TEST

/* ---- the history and the signer's reply (conv_history) ----------------- */

#define T0	1700000000
#define SVC	"notary-test.example:443,2"

static void
recover_db(const char *home)
{
	struct db_env_opts	o = { home, 8 * 1024 * 1024, 0 };
	pid_t			pid;
	int			st;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		_exit(db_recover(&o) == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The DER of a PEM certificate file and its fingerprints. */
static size_t
cert_der(const char *path, uint8_t *der, size_t max, struct obs_fp *fp)
{
	FILE		*f = fopen(path, "r");
	X509		*x;
	unsigned char	*p = der;
	unsigned int	 n;
	int		 len;

	ck_assert_ptr_nonnull(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	len = i2d_X509(x, NULL);
	ck_assert(len > 0 && (size_t)len <= max);
	ck_assert_int_eq(i2d_X509(x, &p), len);
	X509_free(x);
	memset(fp, 0, sizeof(*fp));
	ck_assert(EVP_Digest(der, (size_t)len, fp->md5, &n, EVP_md5(),
	    NULL) == 1);
	ck_assert(EVP_Digest(der, (size_t)len, fp->sha1, &n, EVP_sha1(),
	    NULL) == 1);
	ck_assert(EVP_Digest(der, (size_t)len, fp->sha256, &n, EVP_sha256(),
	    NULL) == 1);
	return ((size_t)len);
}

START_TEST(test_history_rows)
{
	struct obs_span		 spans[16];
	struct conv_row		 rows[8];
	struct obs_fp		 fa, fb, fi;
	struct obs_db		 o;
	struct db_env_opts	 eo;
	struct buf		 b;
	DB_ENV			*env;
	EVP_PKEY		*key = load_key("conv_test_key.pem", 1);
	EVP_PKEY		*pub = load_key("conv_test_key.pub", 0);
	enum obs_outcome	 out;
	uint8_t			 da[4096], db[4096];
	size_t			 la, lb, n, i;
	char			 fpa[128], fpb[128], err[512], home[128];
	const char		*crt = fixture_path("conv_test_cert.pem");
	const char		*bspan = "{\"start\": \"1700000200\", "
	    "\"finish\": \"1700000250\"}";

	/* Certificate A: the fixture; B: a fresh self-signed one. */
	ck_assert_int_eq(convkeys_ensure(kpath("b.crt"), kpath("b.key"),
	    (uid_t)-1, (gid_t)-1, err, sizeof(err)), KEYS_CREATED);
	la = cert_der(crt, da, sizeof(da), &fa);
	lb = cert_der(kpath("b.crt"), db, sizeof(db), &fb);
	cli_fp(crt, fpa, sizeof(fpa));
	cli_fp(kpath("b.crt"), fpb, sizeof(fpb));

	snprintf(home, sizeof(home), "%s", kpath("db"));
	recover_db(home);
	eo.home = home;
	eo.cache_bytes = 8 * 1024 * 1024;
	eo.recover = 0;
	ck_assert_int_eq(db_env_open(&env, &eo), 0);
	ck_assert_int_eq(obs_open(&o, env, 0), 0);
	/*
	 * A, A, B, B, A: two rows; A's interval covers B's, and B's finish
	 * is its last sighting, not the Perspectives end (spec §4).
	 */
	ck_assert_int_eq(obs_record(&o, SVC, strlen(SVC), &fa, da, la, T0,
	    &out), 0);
	ck_assert_int_eq(obs_record(&o, SVC, strlen(SVC), &fa, da, la,
	    T0 + 100, &out), 0);
	ck_assert_int_eq(obs_record(&o, SVC, strlen(SVC), &fb, db, lb,
	    T0 + 200, &out), 0);
	ck_assert_int_eq(obs_record(&o, SVC, strlen(SVC), &fb, db, lb,
	    T0 + 250, &out), 0);
	ck_assert_int_eq(obs_record(&o, SVC, strlen(SVC), &fa, da, la,
	    T0 + 300, &out), 0);
	/* A key known only by MD5 (a Perspectives import): no row. */
	memset(&fi, 0, sizeof(fi));
	memset(fi.md5, 7, sizeof(fi.md5));
	ck_assert_int_eq(obs_record(&o, "imported.example:443,2", 22, &fi,
	    NULL, 0, T0, &out), 0);

	ck_assert_int_eq(conv_history_read(&o, SVC, strlen(SVC), spans, 16,
	    rows, 8, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[0].fp, fpa);
	ck_assert_int_eq(rows[0].start, T0);
	ck_assert_int_eq(rows[0].finish, T0 + 300);
	ck_assert_str_eq(rows[1].fp, fpb);
	ck_assert_int_eq(rows[1].start, T0 + 200);
	ck_assert_int_eq(rows[1].finish, T0 + 250);
	/* while Perspectives still sees B until A came back */
	ck_assert_int_eq(obs_read(&o, SVC, strlen(SVC), spans, 16, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n && memcmp(spans[i].md5, fb.md5, 16) != 0; i++)
		;
	ck_assert_uint_lt(i, n);
	ck_assert_int_eq(spans[i].end, T0 + 299);
	/* max bounds the rows. */
	ck_assert_int_eq(conv_history_read(&o, SVC, strlen(SVC), spans, 16,
	    rows, 1, &n), 0);
	ck_assert_uint_eq(n, 1);

	buf_init(&b, SIGPROTO_BODY_MAX);
	ck_assert_int_eq(conv_history_reply(&o, key, SVC, strlen(SVC), spans,
	    16, rows, 8, &b), SIG_OK);
	ck_assert_int_eq(conv_verify_body(b.data, b.len, pub), 1);
	ck_assert_ptr_nonnull(memmem(b.data, b.len, fpa, strlen(fpa)));
	ck_assert_ptr_nonnull(memmem(b.data, b.len, fpb, strlen(fpb)));
	ck_assert_ptr_nonnull(memmem(b.data, b.len, bspan, strlen(bspan)));
	buf_reset(&b);
	ck_assert_int_eq(conv_history_reply(&o, key, "imported.example:443,2",
	    22, spans, 16, rows, 8, &b), SIG_UNKNOWN);
	ck_assert_int_eq(conv_history_reply(&o, key, "other.example:443,2",
	    19, spans, 16, rows, 8, &b), SIG_UNKNOWN);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	obs_close(&o);
	db_env_close(env);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
}
END_TEST

/* ---- parked requests (conv_wait) --------------------------------------- */

static struct conv_waiter
waiter(int fd, const char *svc, int64_t deadline)
{
	struct conv_waiter	e;

	memset(&e, 0, sizeof(e));
	e.fd = fd;
	snprintf(e.svc, sizeof(e.svc), "%s", svc);
	e.svclen = strlen(svc);
	e.deadline = deadline;
	return (e);
}

START_TEST(test_waits)
{
	struct conv_waits	w;
	struct conv_waiter	e, out[8];
	int			i;

	conv_waits_init(&w);
	ck_assert_int_eq(conv_waits_next(&w), INT64_MAX);
	/* The first request for a service asks for the probe, not later. */
	e = waiter(5, "a.example:443,2", 300);
	ck_assert_int_eq(conv_waits_add(&w, &e), 1);
	e = waiter(6, "a.example:443,2", 200);
	ck_assert_int_eq(conv_waits_add(&w, &e), 0);
	e = waiter(5, "b.example:443,2", 100);
	ck_assert_int_eq(conv_waits_add(&w, &e), 1);
	e = waiter(7, "a.example:4433,2", 400);
	ck_assert_int_eq(conv_waits_add(&w, &e), 1);
	ck_assert_int_eq(conv_waits_next(&w), 100);
	/* The note for a service answers exactly its requests. */
	ck_assert_uint_eq(conv_waits_take(&w, "a.example:443,2", 15, out, 8),
	    2);
	ck_assert_int_eq(out[0].fd + out[1].fd, 11);
	ck_assert_uint_eq(conv_waits_take(&w, "a.example:443,2", 15, out, 8),
	    0);
	/* A closed connection forgets its requests. */
	conv_waits_drop_fd(&w, 5);
	ck_assert_int_eq(conv_waits_next(&w), 400);
	ck_assert_uint_eq(conv_waits_expired(&w, 399, out, 8), 0);
	ck_assert_uint_eq(conv_waits_expired(&w, 400, out, 8), 1);
	ck_assert_str_eq(out[0].svc, "a.example:4433,2");
	/* Bounded. */
	for (i = 0; i < CONV_WAIT_MAX; i++) {
		e = waiter(i, "c.example:443,2", i);
		ck_assert_int_eq(conv_waits_add(&w, &e), i == 0 ? 1 : 0);
	}
	ck_assert_int_eq(conv_waits_add(&w, &e), -1);
	ck_assert_uint_eq(conv_waits_expired(&w, 10, out, 8), 8);
	conv_waits_free(&w);
}
END_TEST

/* ---- main ------------------------------------------------------------- */

static Suite *
convergence_suite(void)
{
	Suite	*s = suite_create("convergence");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_table, 0, (int)NELEM(parse_rows));
	tcase_add_test(tc, test_parse_ids);
	tcase_add_test(tc, test_parse_overlong);
	tcase_add_test(tc, test_fp_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("decide");
	tcase_add_test(tc, test_decide);
	tcase_add_test(tc, test_sort_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_json_unsigned_fixture);
	tcase_add_test(tc, test_json_reply_fixture);
	tcase_add_test(tc, test_json_refused);
	tcase_add_test(tc, test_openssl_cli_verifies);
	tcase_add_test(tc, test_frame);
	suite_add_tcase(s, tc);

	tc = tcase_create("relay");
	tcase_add_loop_test(tc, test_connect_table, 0,
	    (int)NELEM(connect_rows));
	tcase_add_test(tc, test_connect_limits);
	tcase_add_test(tc, test_connect_replies);
	suite_add_tcase(s, tc);

	tc = tcase_create("bundle");
	tcase_add_test(tc, test_bundle_fixture);
	tcase_add_test(tc, test_bundle_refused);
	tcase_add_test(tc, test_json_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, kdir_setup, kdir_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_keys_generate);
	tcase_add_test(tc, test_keys_refused);
	tcase_add_test(tc, test_keys_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("history");
	tcase_add_checked_fixture(tc, kdir_setup, kdir_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_history_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("wait");
	tcase_add_test(tc, test_waits);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failures;

	log_init("check_convergence");
	sr = srunner_create(convergence_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failures ? 1 : 0);
}
