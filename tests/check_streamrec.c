/*
 * check_streamrec.c - the stream record format (common/streamrec.c):
 * round trips, section lookup, NAMES iteration, and rejection of every
 * truncation and every corruption of the header and section table.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/streamrec.h"

static const char full[] = "{\"data\":{},\"message_type\":\"certificate_update\"}\n";
static const char lite[] = "{\"data\":{}}\n";
static const char dom[] = "{\"data\":[\"a.example\"],\"message_type\":\"dns_entries\"}";
static const char names[] = "a.example\0www.a.example";	/* + final NUL */

static void
make(struct buf *b)
{
	struct streamrec_part	p[4] = {
		{ STREAMREC_FULL, full, sizeof(full) - 1 },
		{ STREAMREC_LITE, lite, sizeof(lite) - 1 },
		{ STREAMREC_DOMAINS, dom, sizeof(dom) - 1 },
		{ STREAMREC_NAMES, names, sizeof(names) },
	};

	buf_init(b, 1 << 20);
	ck_assert_int_eq(streamrec_build(b, STREAMREC_F_PRECERT, 7, 12345, p,
	    4), 0);
}

START_TEST(test_roundtrip)
{
	struct buf		 b;
	struct streamrec_view	 v;
	const uint8_t		*s;
	const char		*n;
	size_t			 len, pos = 0;

	make(&b);
	ck_assert_uint_eq(b.len, 24 + 4 * 12 + sizeof(full) - 1 +
	    sizeof(lite) - 1 + sizeof(dom) - 1 + sizeof(names));
	ck_assert_int_eq(streamrec_parse(b.data, b.len, &v), 0);
	ck_assert_uint_eq(v.flags, STREAMREC_F_PRECERT);
	ck_assert_uint_eq(v.log_id, 7);
	ck_assert_uint_eq(v.cert_index, 12345);
	ck_assert_uint_eq(v.nsect, 4);
	s = streamrec_section(&v, STREAMREC_FULL, &len);
	ck_assert_uint_eq(len, sizeof(full) - 1);
	ck_assert(memcmp(s, full, len) == 0);
	s = streamrec_section(&v, STREAMREC_LITE, &len);
	ck_assert(len == sizeof(lite) - 1 && memcmp(s, lite, len) == 0);
	s = streamrec_section(&v, STREAMREC_DOMAINS, &len);
	ck_assert(len == sizeof(dom) - 1 && memcmp(s, dom, len) == 0);
	s = streamrec_section(&v, STREAMREC_NAMES, &len);
	ck_assert_uint_eq(len, sizeof(names));
	n = streamrec_name_next(s, len, &pos);
	ck_assert_str_eq(n, "a.example");
	n = streamrec_name_next(s, len, &pos);
	ck_assert_str_eq(n, "www.a.example");
	ck_assert_ptr_null(streamrec_name_next(s, len, &pos));
	ck_assert_ptr_null(streamrec_section(&v, 99, &len));
	ck_assert_uint_eq(len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_unaligned)
{
	struct buf		 b;
	struct streamrec_view	 v;
	uint8_t			*copy;
	size_t			 len;

	make(&b);
	copy = malloc(b.len + 1);
	memcpy(copy + 1, b.data, b.len);
	ck_assert_int_eq(streamrec_parse(copy + 1, b.len, &v), 0);
	ck_assert_ptr_nonnull(streamrec_section(&v, STREAMREC_DOMAINS, &len));
	free(copy);
	buf_free(&b);
}
END_TEST

START_TEST(test_build_rejects)
{
	struct buf		b;
	struct streamrec_part	p[STREAMREC_MAX_SECT + 1];
	size_t			i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < STREAMREC_MAX_SECT + 1; i++)
		p[i] = (struct streamrec_part){ (uint32_t)i + 1, "x", 1 };
	ck_assert_int_eq(streamrec_build(&b, 0, 0, 0, p, 0), -1);
	ck_assert_int_eq(streamrec_build(&b, 0, 0, 0, p,
	    STREAMREC_MAX_SECT + 1), -1);
	ck_assert_int_eq(streamrec_build(&b, 0, 0, 0, p, STREAMREC_MAX_SECT),
	    0);
	buf_reset(&b);
	p[1].kind = p[0].kind;
	ck_assert_int_eq(streamrec_build(&b, 0, 0, 0, p, 2), -1);
	p[1].kind = 0;
	ck_assert_int_eq(streamrec_build(&b, 0, 0, 0, p, 2), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	/* out's bound: fails and leaves out unchanged */
	buf_init(&b, 40);
	(void)buf_append(&b, "abc", 3);
	p[1].kind = 2;
	ck_assert_int_eq(streamrec_build(&b, 0, 0, 0, p, 2), -1);
	ck_assert_uint_eq(b.len, 3);
	buf_free(&b);
}
END_TEST

START_TEST(test_truncations)
{
	struct buf		b;
	struct streamrec_view	v;
	size_t			n;

	make(&b);
	for (n = 0; n < b.len; n++)
		ck_assert_msg(streamrec_parse(b.data, n, &v) == -1,
		    "prefix %zu accepted", n);
	/* extra bytes after the last section are a corruption too */
	(void)buf_append(&b, "x", 1);
	ck_assert_int_eq(streamrec_parse(b.data, b.len, &v), -1);
	ck_assert_int_eq(streamrec_parse(NULL, 100, &v), -1);
	buf_free(&b);
}
END_TEST

/*
 * Every bit flip in magic, version, nsect and in every section's offset
 * and length is rejected; a flipped kind is rejected when it becomes 0 or
 * a duplicate.  (flags, log_id and cert_index carry no redundancy.)
 */
START_TEST(test_corruptions)
{
	struct buf		 b;
	struct streamrec_view	 v;
	size_t			 byte, bit, table = 24 + 4 * 12;
	int			 rc;
	uint32_t		 kind;

	make(&b);
	for (byte = 0; byte < table; byte++) {
		for (bit = 0; bit < 8; bit++) {
			b.data[byte] ^= (char)(1 << bit);
			rc = streamrec_parse(b.data, b.len, &v);
			if (byte < 8 || (byte >= 24 && (byte - 24) % 12 >= 4))
				ck_assert_msg(rc == -1, "flip %zu.%zu accepted",
				    byte, bit);
			else if (byte >= 24) {
				memcpy(&kind, b.data + 24 + (byte - 24) / 12 * 12,
				    4);
				if (kind == 0 || kind <= 4)
					ck_assert_msg(rc == -1,
					    "kind flip %zu.%zu accepted", byte, bit);
				else
					ck_assert_int_eq(rc, 0);
			} else
				ck_assert_int_eq(rc, 0);
			b.data[byte] ^= (char)(1 << bit);
		}
	}
	/* NAMES not NUL-terminated */
	b.data[b.len - 1] = 'x';
	ck_assert_int_eq(streamrec_parse(b.data, b.len, &v), -1);
	buf_free(&b);
}
END_TEST

/* Random garbage never parses into out-of-bounds sections. */
START_TEST(test_garbage)
{
	uint8_t			 rec[256];
	struct streamrec_view	 v;
	uint32_t		 magic = STREAMREC_MAGIC;
	uint16_t		 ver = STREAMREC_VERSION;
	size_t			 i, k;
	unsigned		 seed = 12345;

	for (i = 0; i < 20000; i++) {
		for (k = 0; k < sizeof(rec); k++)
			rec[k] = (uint8_t)rand_r(&seed);
		memcpy(rec, &magic, 4);
		memcpy(rec + 4, &ver, 2);
		rec[6] = (uint8_t)(rand_r(&seed) % 4);
		rec[7] = 0;
		if (streamrec_parse(rec, sizeof(rec), &v) == 0)
			for (k = 0; k < v.nsect; k++)
				ck_assert(v.sect[k].off + (uint64_t)v.sect[k].len
				    <= sizeof(rec));
	}
}
END_TEST

static Suite *
streamrec_suite(void)
{
	Suite	*s = suite_create("streamrec");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_unaligned);
	tcase_add_test(tc, test_build_rejects);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_corruptions);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(streamrec_suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
