/*
 * check_ct_fields.c - the field formatters of the CT parser: the Go-
 * compatible JSON writer (common/json.c), source URL normalisation,
 * serial numbers, times and names from hand-made DER (ctwatch/
 * ct_fields.c), and every fixture certificate's LEAF fields against
 * OpenSSL's own decoder (ct_cert.c).  Fixtures: tests/fixtures/ct.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/json.h"
#include "ctwatch/ct_cert.h"
#include "ctwatch/ct_parse.h"
#include "tests/ct_testutil.h"

/* ---- JSON writer ---------------------------------------------------- */

static void
str_is(const char *in, size_t n, int html, const char *want)
{
	struct buf	b;

	buf_init(&b, 1 << 16);
	ck_assert_int_eq(json_str(&b, in, n, html), 0);
	ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
	    "got %.*s want %s", (int)b.len, b.data, want);
	buf_free(&b);
}

START_TEST(test_json_str)
{
	str_is("plain", 5, 0, "\"plain\"");
	str_is("q\"b\\", 4, 0, "\"q\\\"b\\\\\"");
	str_is("\b\f\n\r\t\x01\x1f\x7f", 8, 0,
	    "\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"");
	str_is("<a&b>", 5, 0, "\"<a&b>\"");
	str_is("<a&b>", 5, 1, "\"\\u003ca\\u0026b\\u003e\"");
	str_is("B\xc3\xbc" "cher", 7, 1, "\"B\xc3\xbc" "cher\"");
	str_is("\xe2\x80\xa8|\xe2\x80\xa9", 7, 0, "\"\\u2028|\\u2029\"");
	str_is("\xf0\x9f\x98\x80", 4, 0, "\"\xf0\x9f\x98\x80\"");
	/* invalid UTF-8: each bad byte becomes \ufffd (Go's DecodeRune) */
	str_is("a\x80z", 3, 0, "\"a\\ufffdz\"");
	str_is("\xe2\x82", 2, 0, "\"\\ufffd\\ufffd\"");
	str_is("\xc0\xaf", 2, 0, "\"\\ufffd\\ufffd\"");
	str_is("\xed\xa0\x80", 3, 0, "\"\\ufffd\\ufffd\\ufffd\"");
	str_is("\xf4\x90\x80\x80", 4, 0,
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	str_is("\xf5", 1, 0, "\"\\ufffd\"");
	str_is("x\0y", 3, 0, "\"x\\u0000y\"");
}
END_TEST

static void
f64_is(double v, const char *want)
{
	struct buf	b;

	buf_init(&b, 1 << 10);
	ck_assert_int_eq(json_f64(&b, v), 0);
	ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
	    "got %.*s want %s", (int)b.len, b.data, want);
	buf_free(&b);
}

/* Expected strings are what Go's encoding/json prints for these values. */
START_TEST(test_json_f64)
{
	struct buf	b;

	f64_is(1700000000.123, "1700000000.123");
	f64_is(1700000000.1, "1700000000.1");
	f64_is(1700000000.12, "1700000000.12");
	f64_is(1700000000.0, "1700000000");
	f64_is(1700000000456.0 / 1000, "1700000000.456");
	f64_is(0, "0");
	f64_is(0.5, "0.5");
	f64_is(-1.5, "-1.5");
	f64_is(0.1 + 0.2, "0.30000000000000004");
	f64_is(1e21, "1e+21");
	f64_is(1e20, "100000000000000000000");
	f64_is(1e-7, "1e-7");
	f64_is(0.000001, "0.000001");
	f64_is(123456.789e-3, "123.456789");
	/* shortest round trip: 1.844674407370955e16 reads back the same */
	f64_is(18446744073709551615.0 / 1000, "18446744073709550");
	f64_is(1.5e300, "1.5e+300");
	buf_init(&b, 64);
	ck_assert_int_eq(json_f64(&b, 0.0 / 0.0), -1);
	ck_assert_int_eq(json_u64(&b, UINT64_MAX), 0);
	ck_assert_int_eq(json_i64(&b, INT64_MIN), 0);
	ck_assert(b.len == 40 && memcmp(b.data,
	    "18446744073709551615-9223372036854775808", 40) == 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_source_url)
{
	char	u[64];

	ck_assert_int_eq(ct_source_url(u, sizeof(u),
	    "https://ct.googleapis.com/logs/us1/argon2025h2/"), 0);
	ck_assert_str_eq(u, "https://ct.googleapis.com/logs/us1/argon2025h2");
	ck_assert_int_eq(ct_source_url(u, sizeof(u), "ct.example.net//"), 0);
	ck_assert_str_eq(u, "https://ct.example.net");
	ck_assert_int_eq(ct_source_url(u, sizeof(u), "http://x.example/"), 0);
	ck_assert_str_eq(u, "http://x.example");
	ck_assert_int_eq(ct_source_url(u, sizeof(u), "///"), -1);
	ck_assert_int_eq(ct_source_url(u, 10, "ct.example.net"), -1);
}
END_TEST


/* ---- scalar fields and names from hand-made DER ---------------------- */

static void
serial_is(const uint8_t *v, size_t n, const char *want)
{
	struct ct_der	d = { 0x02, v, 2, v, n, n + 2 };
	struct buf	b;

	buf_init(&b, 256);
	ck_assert_int_eq(ct_put_serial(&b, &d), 0);
	ck_assert_msg(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0,
	    "got %.*s want %s", (int)b.len, b.data, want);
	buf_free(&b);
}

/* Go: fmt.Sprintf("%X", big.Int), "0"-prefixed to an even length. */
START_TEST(test_serial)
{
	serial_is((const uint8_t *)"\x00", 1, "\"00\"");
	serial_is((const uint8_t *)"\x01", 1, "\"01\"");
	serial_is((const uint8_t *)"\x0f\xff", 2, "\"0FFF\"");
	serial_is((const uint8_t *)"\x00\x80", 2, "\"80\"");
	serial_is((const uint8_t *)"\xff", 1, "\"-1\"");
	serial_is((const uint8_t *)"\x80", 1, "\"0-80\"");
	serial_is((const uint8_t *)"\xff\x01", 2, "\"0-FF\"");
	serial_is((const uint8_t *)"\x00\xc0\xff\xee\x01\x23\x45\x67\x89", 9,
	    "\"C0FFEE0123456789\"");
}
END_TEST

static void
time_is(unsigned tag, const char *s, const char *want)
{
	struct ct_der	d = { tag, (const uint8_t *)s, 2,
	    (const uint8_t *)s, strlen(s), strlen(s) + 2 };
	struct buf	b;
	int		rc;

	buf_init(&b, 256);
	rc = ct_put_time(&b, &d);
	if (want == NULL)
		ck_assert_msg(rc == -1, "%s accepted", s);
	else
		ck_assert_msg(rc == 0 && b.len == strlen(want) &&
		    memcmp(b.data, want, b.len) == 0, "%s: got %.*s want %s",
		    s, (int)b.len, b.data, want);
	buf_free(&b);
}

START_TEST(test_times)
{
	time_is(0x17, "250101000000Z", "1735689600");
	time_is(0x17, "2501010000Z", "1735689600");
	time_is(0x17, "491231235959Z", "2524607999");
	time_is(0x17, "500101000000Z", "-631152000");
	time_is(0x17, "250101010000+0100", "1735689600");
	time_is(0x17, "241231220000-0200", "1735689600");
	time_is(0x18, "20250101000000Z", "1735689600");
	time_is(0x18, "20250101000000.123Z", "1735689600");
	time_is(0x18, "20240229120000Z", "1709208000");
	time_is(0x18, "99991231235959Z", "253402300799");
	time_is(0x18, "20250230000000Z", NULL);
	time_is(0x18, "202501010000Z", NULL);
	time_is(0x18, "20251301000000Z", NULL);
	time_is(0x17, "250101000060Z", NULL);
	time_is(0x17, "25010100000Z", NULL);
	time_is(0x17, "250101000000", NULL);
	time_is(0x18, "20250101000000.Z", NULL);
	time_is(0x04, "250101000000Z", NULL);
}
END_TEST

START_TEST(test_names)
{
	/*
	 * (attribute 2.5.4.x, value tag): C Printable, CN UTF8 (overridden
	 * by the later CN), OU T61 (Latin-1), OU BMP (with a surrogate
	 * pair), O as a BIT STRING (not a Go string: skipped), ST, CN, L IA5.
	 */
	static const uint8_t	 attrs[] = { 6, 0x13, 3, 0x0c, 11, 0x14,
	    11, 0x1e, 10, 0x03, 8, 0x0c, 3, 0x0c, 7, 0x16 };
	static const char *const vals[] = { "DE", "first.example",
	    "M\xfcller", "\x00\xc4\xd8\x3d\xde\x00", "\x00\x01", "Bayern",
	    "last.example", "M\xc3\xbcnchen" };
	struct buf		 der, out, cn;
	struct ct_der		 name;
	const char		*want = "{\"C\":\"DE\",\"CN\":\"last.example\","
	    "\"L\":\"M\xc3\xbcnchen\",\"O\":null,"
	    "\"OU\":\"M\xc3\xbcller,\xc3\x84\xf0\x9f\x98\x80\","
	    "\"ST\":\"Bayern\",\"aggregated\":\"/C=DE/CN=last.example"
	    "/L=M\xc3\xbcnchen/OU=M\xc3\xbcller,\xc3\x84\xf0\x9f\x98\x80"
	    "/ST=Bayern\",\"email_address\":null}";

	buf_init(&der, 4096);
	buf_init(&out, 4096);
	buf_init(&cn, 4096);
	{
		/* one RDN per attribute; values may hold NULs (BMP) */
		static const size_t lens[] = { 2, 13, 6, 6, 2, 6, 12, 8 };
		struct buf	all, rdn;
		size_t		i;

		buf_init(&all, 4096);
		for (i = 0; i < 8; i++) {
			buf_init(&rdn, 1024);
			(void)buf_append(&rdn, "\x06\x03\x55\x04", 4);
			put_n(&rdn, attrs[2 * i], 1);
			put_n(&rdn, attrs[2 * i + 1], 1);
			put_vec(&rdn, vals[i], lens[i], 1);
			put_n(&all, 0x31, 1);
			put_n(&all, rdn.len + 2, 1);
			put_n(&all, 0x30, 1);
			put_vec(&all, rdn.data, rdn.len, 1);
			buf_free(&rdn);
		}
		put_n(&der, 0x30, 1);
		ck_assert_uint_lt(all.len, 256);
		put_n(&der, 0x81, 1);
		put_vec(&der, all.data, all.len, 1);
		buf_free(&all);
	}
	ck_assert_int_eq(ct_der_next((uint8_t *)der.data, der.len, &name), 0);
	ck_assert_int_eq(ct_put_subject(&out, &name), 0);
	ck_assert_msg(out.len == strlen(want) &&
	    memcmp(out.data, want, out.len) == 0, "got %.*s", (int)out.len,
	    out.data);
	ck_assert_int_eq(ct_subject_cn(&name, &cn), 0);
	ck_assert(cn.len == 12 && memcmp(cn.data, "last.example", 12) == 0);
	/* a truncated Name is malformed */
	name.len -= 3;
	name.total -= 3;
	buf_reset(&out);
	ck_assert_int_eq(ct_put_subject(&out, &name), -1);
	buf_free(&der);
	buf_free(&out);
	buf_free(&cn);
}
END_TEST


/* ---- every fixture against OpenSSL's own decoder --------------------- */

/* The JSON string value of key in j (first occurrence), into out. */
static void
json_field(const char *j, const char *key, char *out, size_t outlen)
{
	char		 pat[64];
	const char	*p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(j, pat);
	ck_assert_msg(p != NULL, "no %s", key);
	p += strlen(pat);
	if (*p == '"')
		p++;
	for (e = p; *e != '\0' && *e != '"' && *e != ',' && *e != '}'; e++)
		;
	ck_assert_uint_lt((size_t)(e - p), outlen);
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

static long long
tm_epoch(const ASN1_TIME *t)
{
	struct tm	tm;

	ck_assert_int_eq(ASN1_TIME_to_tm(t, &tm), 1);
	return ((long long)timegm(&tm));
}

START_TEST(test_fields_vs_openssl)
{
	static const char *const certs[] = { "root-rsa.der", "int-rsa.der",
	    "root-ec.der", "leaf1.der", "pre.der", "final.der", "nocn.der",
	    "many.der" };
	const char		*name = certs[_i];
	size_t			 len, i;
	uint8_t			*der = ct_load(name, &len), md[EVP_MAX_MD_SIZE];
	const unsigned char	*q = der;
	X509			*x = d2i_X509(NULL, &q, (long)len);
	struct buf		 a, b, hex;
	struct ct_names		 nm;
	char			 err[CT_ERRLEN], got[128], want[128], *j, *h;
	unsigned		 mdlen;
	BIGNUM			*bn;
	BASIC_CONSTRAINTS	*bc;
	GENERAL_NAMES		*gn;
	int			 ndns = 0, k;

	ck_assert_ptr_nonnull(x);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	buf_init(&hex, 1 << 10);
	ct_names_init(&nm);
	ck_assert_msg(ct_cert_json(der, len, 0, der, len, 0, &a, &b, &nm, err,
	    sizeof(err)) == 0, "%s: %s", name, err);
	(void)buf_append(&b, "", 1);
	j = b.data;
	/* fingerprint and sha256 */
	X509_digest(x, EVP_sha1(), md, &mdlen);
	for (i = 0; i < mdlen; i++)
		(void)buf_printf(&hex, "%s%02X", i ? ":" : "", md[i]);
	(void)buf_append(&hex, "", 1);
	json_field(j, "fingerprint", got, sizeof(got));
	ck_assert_str_eq(got, hex.data);
	json_field(j, "sha1", got, sizeof(got));
	ck_assert_str_eq(got, hex.data);
	/* serial: BN_bn2hex, leading zeros dropped, padded to even */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	h = BN_bn2hex(bn);
	for (i = 0; h[i] == '0' && h[i + 1] != '\0'; i++)
		;
	snprintf(want, sizeof(want), "%s%s", strlen(h + i) % 2 ? "0" : "",
	    h + i);
	json_field(j, "serial_number", got, sizeof(got));
	ck_assert_str_eq(got, want);
	OPENSSL_free(h);
	BN_free(bn);
	/* validity */
	json_field(j, "not_before", got, sizeof(got));
	ck_assert_int_eq(atoll(got), tm_epoch(X509_get0_notBefore(x)));
	json_field(j, "not_after", got, sizeof(got));
	ck_assert_int_eq(atoll(got), tm_epoch(X509_get0_notAfter(x)));
	/* is_ca and the number of all_domains */
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	json_field(j, "is_ca", got, sizeof(got));
	ck_assert_str_eq(got, bc != NULL && bc->ca ? "true" : "false");
	gn = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (k = 0; gn != NULL && k < sk_GENERAL_NAME_num(gn); k++)
		ndns += sk_GENERAL_NAME_value(gn, k)->type == GEN_DNS;
	ck_assert_uint_ge(nm.n, (size_t)ndns);
	ck_assert_uint_le(nm.n, (size_t)ndns + 1);
	if (bc != NULL && bc->ca)
		ck_assert_uint_eq(nm.n, (size_t)ndns);
	BASIC_CONSTRAINTS_free(bc);
	GENERAL_NAMES_free(gn);
	ct_names_free(&nm);
	buf_free(&a);
	buf_free(&b);
	buf_free(&hex);
	X509_free(x);
	free(der);
}
END_TEST


/* The TLV reader takes DER only: minimal definite lengths inside len. */
START_TEST(test_der_lengths)
{
	uint8_t		b[300];
	struct ct_der	d;

	memset(b, 0, sizeof(b));
	b[0] = 0x04;
	b[1] = 0x05;
	ck_assert_int_eq(ct_der_next(b, 7, &d), 0);
	ck_assert(d.len == 5 && d.hdr == 2 && d.total == 7);
	ck_assert_int_eq(ct_der_next(b, 6, &d), -1);	/* truncated */
	b[1] = 0x81;
	b[2] = 0x05;
	ck_assert_int_eq(ct_der_next(b, 8, &d), -1);	/* non-minimal */
	b[2] = 0x80;
	ck_assert_int_eq(ct_der_next(b, 3 + 0x80, &d), 0);
	ck_assert_int_eq(ct_der_next(b, 2 + 0x80, &d), -1);
	b[1] = 0x82;
	b[2] = 0x00;
	b[3] = 0x80;
	ck_assert_int_eq(ct_der_next(b, sizeof(b), &d), -1); /* leading 0 */
	b[1] = 0x80;
	ck_assert_int_eq(ct_der_next(b, sizeof(b), &d), -1); /* indefinite */
	b[1] = 0x85;
	ck_assert_int_eq(ct_der_next(b, sizeof(b), &d), -1); /* 5-byte len */
	b[0] = 0x1f;
	b[1] = 0x01;
	ck_assert_int_eq(ct_der_next(b, sizeof(b), &d), -1); /* high tag */
	ck_assert_int_eq(ct_der_next(b, 1, &d), -1);
}
END_TEST

static Suite *
fields_suite(void)
{
	Suite	*s = suite_create("ct_fields");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_json_str);
	tcase_add_test(tc, test_json_f64);
	tcase_add_test(tc, test_source_url);
	tcase_add_test(tc, test_der_lengths);
	tcase_add_test(tc, test_serial);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_names);
	tcase_add_loop_test(tc, test_fields_vs_openssl, 0, 8);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(fields_suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
