/*
 * check_stream_filter.c - unit tests for server/stream_filter.c: query
 * parameter decoding, the filter parser (accepted and refused inputs with
 * their reasons) and the matcher (suffix, wildcard, type, several names).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/streamrec.h"
#include "server/stream_filter.h"
#include "tests/testutil.h"

#define Q(s)	(s), strlen(s)

/* A NAMES section from "a\0b\0" style text. */
static const char names_abc[] = "www.example.com\0mail.example.org\0"
    "example.net\0";

START_TEST(test_query_param)
{
	char	v[32];

	ck_assert_int_eq(stream_query_param(Q("a=1&domains=x.com&b"),
	    "domains", v, sizeof(v)), 5);
	ck_assert_str_eq(v, "x.com");
	ck_assert_int_eq(stream_query_param(Q("domains=%2A.x.com%2Cy.org"),
	    "domains", v, sizeof(v)), 13);
	ck_assert_str_eq(v, "*.x.com,y.org");
	ck_assert_int_eq(stream_query_param(Q("b"), "b", v, sizeof(v)), 0);
	ck_assert_int_eq(stream_query_param(Q("ab=1"), "a", v, sizeof(v)), -1);
	ck_assert_int_eq(stream_query_param(Q(""), "a", v, sizeof(v)), -1);
	/* bad escapes, NUL, too long */
	ck_assert_int_eq(stream_query_param(Q("a=%2"), "a", v, sizeof(v)), -2);
	ck_assert_int_eq(stream_query_param(Q("a=%zz"), "a", v, sizeof(v)),
	    -2);
	ck_assert_int_eq(stream_query_param(Q("a=%00"), "a", v, sizeof(v)),
	    -2);
	ck_assert_int_eq(stream_query_param(Q("a=0123456789"), "a", v, 10),
	    -2);
	ck_assert_int_eq(stream_query_param(Q("a=012345678"), "a", v, 10), 9);
}
END_TEST

START_TEST(test_parse_ok)
{
	struct stream_filter	f;
	const char		*why;

	ck_assert_int_eq(stream_filter_parse(Q(""), &f, &why), 0);
	ck_assert(!stream_filter_active(&f));
	ck_assert_int_eq(stream_filter_parse(Q("x=1&host=a"), &f, &why), 0);
	ck_assert(!stream_filter_active(&f));
	ck_assert_int_eq(stream_filter_parse(
	    Q("domains=Example.COM,*.example.org.,,%20b-c.d_e"), &f, &why), 0);
	ck_assert(stream_filter_active(&f));
	ck_assert_uint_eq(f.n, 3);
	ck_assert_str_eq(f.pat[0].name, "example.com");
	ck_assert_int_eq(f.pat[0].wildcard, 0);
	ck_assert_str_eq(f.pat[1].name, "example.org");
	ck_assert_int_eq(f.pat[1].wildcard, 1);
	ck_assert_str_eq(f.pat[2].name, "b-c.d_e");
	ck_assert_uint_eq(f.types, 0);
	ck_assert_int_eq(stream_filter_parse(Q("type=precert"), &f, &why), 0);
	ck_assert_uint_eq(f.types, STREAM_TYPE_PRECERT);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(stream_filter_parse(Q("type=x509&domains=a.b"), &f,
	    &why), 0);
	ck_assert_uint_eq(f.types, STREAM_TYPE_X509);
	ck_assert_uint_eq(f.n, 1);
}
END_TEST

START_TEST(test_parse_bad)
{
	struct stream_filter	f;
	const char		*why;
	char			q[8192];
	int			i, n;

	ck_assert_int_eq(stream_filter_parse(Q("type=cert"), &f, &why), -1);
	ck_assert_str_eq(why, "type= must be precert or x509");
	ck_assert_int_eq(stream_filter_parse(Q("domains="), &f, &why), -1);
	ck_assert_str_eq(why, "domains= is empty");
	ck_assert_int_eq(stream_filter_parse(Q("domains=,,"), &f, &why), -1);
	ck_assert_int_eq(stream_filter_parse(Q("domains=a..b"), &f, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "bad domain"));
	ck_assert_int_eq(stream_filter_parse(Q("domains=.a.b"), &f, &why), -1);
	ck_assert_int_eq(stream_filter_parse(Q("domains=a*.b"), &f, &why), -1);
	ck_assert_int_eq(stream_filter_parse(Q("domains=*"), &f, &why), -1);
	ck_assert_int_eq(stream_filter_parse(Q("domains=*."), &f, &why), -1);
	ck_assert_int_eq(stream_filter_parse(Q("domains=a%2Fb"), &f, &why), -1);
	ck_assert_int_eq(stream_filter_parse(Q("domains=%G1"), &f, &why), -1);
	ck_assert_str_eq(why, "domains= is malformed or too long");
	/* 33 patterns */
	n = snprintf(q, sizeof(q), "domains=");
	for (i = 0; i < 33; i++)
		n += snprintf(q + n, sizeof(q) - (size_t)n, "d%d.x,", i);
	ck_assert_int_eq(stream_filter_parse(q, (size_t)n, &f, &why), -1);
	ck_assert_str_eq(why, "too many domains (at most 32)");
	/* a 254-character name */
	n = snprintf(q, sizeof(q), "domains=");
	memset(q + n, 'a', 254);
	ck_assert_int_eq(stream_filter_parse(q, (size_t)n + 254, &f, &why),
	    -1);
	ck_assert_int_eq(stream_filter_parse(q, (size_t)n + 253, &f, &why),
	    0);
}
END_TEST

START_TEST(test_seq_param)
{
	const char	*why = NULL;
	int		 on = -1;

	ck_assert_int_eq(stream_seq_parse("", 0, &on, &why), 0);
	ck_assert_int_eq(on, 0);
	ck_assert_int_eq(stream_seq_parse("seq=1", 5, &on, &why), 0);
	ck_assert_int_eq(on, 1);
	ck_assert_int_eq(stream_seq_parse("domains=a.b&seq=0", 17, &on,
	    &why), 0);
	ck_assert_int_eq(on, 0);
	ck_assert_int_eq(stream_seq_parse("seq=%31", 7, &on, &why), 0);
	ck_assert_int_eq(on, 1);
	ck_assert_int_eq(stream_seq_parse("seq=2", 5, &on, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(stream_seq_parse("seq=", 4, &on, &why), -1);
	ck_assert_int_eq(stream_seq_parse("seq=11", 6, &on, &why), -1);
	ck_assert_int_eq(stream_seq_parse("seq=true", 8, &on, &why), -1);
	ck_assert_int_eq(stream_seq_parse("seq=%zz", 7, &on, &why), -1);
	ck_assert_int_eq(stream_seq_parse("seq=1", 3, &on, &why), -1);
}
END_TEST

START_TEST(test_since_param)
{
	const char	*why = NULL;
	uint64_t	 v = 7;
	int		 set = -1;

	ck_assert_int_eq(stream_since_parse("seq=1", 5, &set, &v, &why), 0);
	ck_assert_int_eq(set, 0);
	ck_assert(v == 0);
	ck_assert_int_eq(stream_since_parse("since=0", 7, &set, &v, &why), 0);
	ck_assert_int_eq(set, 1);
	ck_assert(v == 0);
	ck_assert_int_eq(stream_since_parse("a=b&since=12345&seq=1", 21, &set,
	    &v, &why), 0);
	ck_assert(set == 1 && v == 12345);
	ck_assert_int_eq(stream_since_parse("since=18446744073709551615", 26,
	    &set, &v, &why), 0);
	ck_assert(v == UINT64_MAX);
	ck_assert_int_eq(stream_since_parse("since=18446744073709551616", 26,
	    &set, &v, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(stream_since_parse("since=", 6, &set, &v, &why), -1);
	ck_assert_int_eq(stream_since_parse("since=-1", 8, &set, &v, &why), -1);
	ck_assert_int_eq(stream_since_parse("since=1e3", 9, &set, &v, &why),
	    -1);
	ck_assert_int_eq(stream_since_parse("since=+1", 8, &set, &v, &why), -1);
	ck_assert_int_eq(stream_since_parse("since=000000000000000000001", 27,
	    &set, &v, &why), -1);
	ck_assert_int_eq(stream_since_parse("since=%31", 9, &set, &v, &why), 0);
	ck_assert(v == 1);
}
END_TEST

START_TEST(test_match)
{
	struct stream_filter	f;
	const char		*why;
	const size_t		 len = sizeof(names_abc);

	ck_assert(stream_filter_match(NULL, 0, names_abc, len));
	/* suffix: the name itself and every name under it */
	stream_filter_parse(Q("domains=example.com"), &f, &why);
	ck_assert(stream_filter_match(&f, 0, names_abc, len));
	ck_assert(stream_filter_match(&f, 0, "example.com", 12));
	ck_assert(!stream_filter_match(&f, 0, "badexample.com", 15));
	ck_assert(!stream_filter_match(&f, 0, "example.com.evil", 17));
	ck_assert(!stream_filter_match(&f, 0, "", 0));
	ck_assert(!stream_filter_match(&f, 0, NULL, 0));
	/* wildcard: strict subdomains only */
	stream_filter_parse(Q("domains=*.example.net"), &f, &why);
	ck_assert(!stream_filter_match(&f, 0, names_abc, len));
	ck_assert(stream_filter_match(&f, 0, "a.b.example.net", 16));
	ck_assert(stream_filter_match(&f, 0, "*.example.net", 14));
	/* any of several patterns, any of several names */
	stream_filter_parse(Q("domains=nothing.test,example.org"), &f, &why);
	ck_assert(stream_filter_match(&f, 0, names_abc, len));
	/* type */
	stream_filter_parse(Q("type=precert"), &f, &why);
	ck_assert(stream_filter_match(&f, STREAMREC_F_PRECERT, names_abc, len));
	ck_assert(!stream_filter_match(&f, 0, names_abc, len));
	stream_filter_parse(Q("type=x509&domains=example.net"), &f, &why);
	ck_assert(stream_filter_match(&f, 0, names_abc, len));
	ck_assert(!stream_filter_match(&f, STREAMREC_F_PRECERT, names_abc,
	    len));
	stream_filter_parse(Q("type=x509&domains=other.net"), &f, &why);
	ck_assert(!stream_filter_match(&f, 0, names_abc, len));
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("stream_filter");
	TCase	*tc = tu_tcase(s, "filter", 0);

	tcase_add_test(tc, test_query_param);
	tcase_add_test(tc, test_parse_ok);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_seq_param);
	tcase_add_test(tc, test_since_param);
	return (s);
}
