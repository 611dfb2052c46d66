/*
 * check_streamwire.c - one CT entry as one NATS message
 * (common/streamwire.c): a stream record survives encode, decode and
 * streamrec_build byte for byte, and every truncation, every trailing
 * byte and every corrupt length, kind or text is refused.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/streamrec.h"
#include "common/streamwire.h"

static const char full[] = "{\"data\":{\"x\":\"\\u00e9\"},\"message_type\":\"certificate_update\"}\n";
static const char lite[] = "{\"data\":{}}\n";
static const char dom[] = "{\"data\":[\"a.example\"],\"message_type\":\"dns_entries\"}";
static const char names[] = "a.example\0www.a.example";	/* + final NUL */
static const char url[] = "https://ct.example/log/";

/* A ring record (with an extra kind the wire leaves out) and its message. */
static void
make(struct buf *rec, struct buf *msg)
{
	struct streamrec_part	p[5] = {
		{ STREAMREC_FULL, full, sizeof(full) - 1 },
		{ STREAMREC_LITE, lite, sizeof(lite) - 1 },
		{ STREAMREC_DOMAINS, dom, sizeof(dom) - 1 },
		{ STREAMREC_NAMES, names, sizeof(names) },
		{ STREAMREC_KIND_EXT, "x", 1 },
	};
	struct streamrec_view	v;

	buf_init(rec, 1 << 20);
	buf_init(msg, 1 << 20);
	ck_assert_int_eq(streamrec_build(rec, STREAMREC_F_PRECERT |
	    STREAMREC_F_TILED, 7, 1234567890123ULL, p, 5), 0);
	ck_assert_int_eq(streamrec_parse(rec->data, rec->len, &v), 0);
	ck_assert_int_eq(streamwire_encode(msg, &v, url, "Test 'Log'",
	    NULL), 0);
}

START_TEST(test_roundtrip)
{
	struct buf		 rec, msg, again;
	struct streamwire	 w;
	struct streamrec_view	 v, v2;
	const uint8_t		*a, *b;
	size_t			 la, lb;
	uint32_t		 k;

	make(&rec, &msg);
	ck_assert_int_eq(streamwire_decode(msg.data, msg.len, &w), 0);
	ck_assert_uint_eq(w.flags, STREAMREC_F_PRECERT | STREAMREC_F_TILED);
	ck_assert(w.cert_index == 1234567890123ULL);
	ck_assert_str_eq(w.url, url);
	ck_assert_str_eq(w.name, "Test 'Log'");
	ck_assert_str_eq(w.oper, "");
	ck_assert_uint_eq(w.nparts, 4);
	/* Rebuilt as the front does: every section byte-identical. */
	buf_init(&again, 1 << 20);
	ck_assert_int_eq(streamrec_build(&again, w.flags, 3, w.cert_index,
	    w.parts, w.nparts), 0);
	ck_assert_int_eq(streamrec_parse(rec.data, rec.len, &v), 0);
	ck_assert_int_eq(streamrec_parse(again.data, again.len, &v2), 0);
	for (k = STREAMREC_FULL; k <= STREAMREC_NAMES; k++) {
		a = streamrec_section(&v, k, &la);
		b = streamrec_section(&v2, k, &lb);
		ck_assert(a != NULL && b != NULL);
		ck_assert_uint_eq(la, lb);
		ck_assert(memcmp(a, b, la) == 0);
	}
	ck_assert_ptr_null(streamrec_section(&v2, STREAMREC_KIND_EXT, &la));
	ck_assert_uint_eq(v2.log_id, 3);
	buf_free(&rec);
	buf_free(&msg);
	buf_free(&again);
}
END_TEST

START_TEST(test_encode_rejects)
{
	struct buf		 rec, msg;
	struct streamrec_view	 v;
	struct streamrec_part	 p = { STREAMREC_KIND_EXT, "x", 1 };
	char			 longurl[STREAMWIRE_URL_MAX + 1];

	make(&rec, &msg);
	ck_assert_int_eq(streamrec_parse(rec.data, rec.len, &v), 0);
	memset(longurl, 'a', sizeof(longurl) - 1);
	longurl[sizeof(longurl) - 1] = '\0';
	buf_reset(&msg);
	ck_assert_int_eq(streamwire_encode(&msg, &v, longurl, "", ""), -1);
	ck_assert_uint_eq(msg.len, 0);
	/* Too small a bound: nothing is left behind. */
	buf_free(&msg);
	buf_init(&msg, 64);
	ck_assert_int_eq(streamwire_encode(&msg, &v, url, "", ""), -1);
	ck_assert_uint_eq(msg.len, 0);
	/* No JSON section at all. */
	buf_reset(&rec);
	ck_assert_int_eq(streamrec_build(&rec, 0, 0, 1, &p, 1), 0);
	ck_assert_int_eq(streamrec_parse(rec.data, rec.len, &v), 0);
	ck_assert_int_eq(streamwire_encode(&msg, &v, url, "", ""), -1);
	buf_free(&rec);
	buf_free(&msg);
}
END_TEST

START_TEST(test_truncations)
{
	struct buf		 rec, msg;
	struct streamwire	 w;
	uint8_t			*copy;
	size_t			 n;

	make(&rec, &msg);
	copy = malloc(msg.len + 1);
	for (n = 0; n < msg.len; n++) {
		memcpy(copy, msg.data, n);
		ck_assert_int_eq(streamwire_decode(copy, n, &w), -1);
	}
	memcpy(copy, msg.data, msg.len);
	copy[msg.len] = 0;
	ck_assert_int_eq(streamwire_decode(copy, msg.len + 1, &w), -1);
	ck_assert_int_eq(streamwire_decode(NULL, 0, &w), -1);
	free(copy);
	buf_free(&rec);
	buf_free(&msg);
}
END_TEST

/* Offsets of the fields after the header and the three texts. */
static size_t
sect_table(const struct buf *msg)
{
	const uint8_t	*p = (const uint8_t *)msg->data;
	size_t		 off = 16, i;

	for (i = 0; i < 3; i++)
		off += 2 + (p[off] | (size_t)p[off + 1] << 8);
	return (off);
}

START_TEST(test_corruptions)
{
	struct buf		 rec, msg;
	struct streamwire	 w;
	uint8_t			*c;
	size_t			 t;

	make(&rec, &msg);
	c = (uint8_t *)msg.data;
	t = sect_table(&msg);
	c[0] = 'X';					/* magic */
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	c[0] = 'N';
	c[16] = 0xff;					/* url length */
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	c[16] = (uint8_t)(sizeof(url) - 1);
	c[18] = '\0';					/* NUL in url */
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	c[18] = 'h';
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), 0);
	c[t] = 0;					/* nsect 0 */
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	c[t] = 5;					/* nsect 5 */
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	c[t] = 4;
	c[t + 2] = STREAMREC_KIND_EXT;			/* unknown kind */
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	c[t + 2] = STREAMREC_LITE;			/* repeated kind */
	c[t + 2 + 8 + sizeof(full) - 1] = STREAMREC_LITE;
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	c[t + 2] = STREAMREC_FULL;
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), 0);
	c[t + 6] ^= 1;					/* section length */
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	c[t + 6] ^= 1;
	c[msg.len - 1] = 'x';				/* NAMES without NUL */
	ck_assert_int_eq(streamwire_decode(c, msg.len, &w), -1);
	buf_free(&rec);
	buf_free(&msg);
}
END_TEST

static Suite *
streamwire_suite(void)
{
	Suite	*s = suite_create("streamwire");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_encode_rejects);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_corruptions);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(streamwire_suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
