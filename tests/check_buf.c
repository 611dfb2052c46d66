/*
 * check_buf.c - unit tests for common/buf.c, the bounded byte buffer:
 * growth (first size, doubling, clamped at the bound), the bound itself
 * for every way of appending (exactly full is allowed, one byte more is
 * not, sizes near SIZE_MAX do not wrap), a refused append leaves the
 * buffer as it was, printf, HTML escaping, consume, reset and free.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/testutil.h"

/* The buffer holds exactly the n bytes of s. */
#define ASSERT_BUF(b, s, n) do {					\
	ck_assert_uint_eq((b)->len, (n));				\
	ck_assert_mem_eq((b)->data, (s), (n));				\
} while (0)

START_TEST(test_init_empty)
{
	struct buf	b;

	memset(&b, 0x5a, sizeof(b));
	buf_init(&b, 1000);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(b.max, 1000);
	/* an empty append allocates nothing, even from NULL */
	ck_assert_int_eq(buf_append(&b, NULL, 0), 0);
	ck_assert_int_eq(buf_puts(&b, ""), 0);
	ck_assert_ptr_null(b.data);
	buf_free(&b);
}
END_TEST

/* 256 first, then doubling, never past max. */
START_TEST(test_growth)
{
	struct buf	b;
	char		chunk[100];
	size_t		i;

	memset(chunk, 'g', sizeof(chunk));
	buf_init(&b, 1000);
	ck_assert_int_eq(buf_append(&b, chunk, 1), 0);
	ck_assert_uint_eq(b.cap, 256);
	ck_assert_int_eq(buf_reserve(&b, 255), 0);
	ck_assert_uint_eq(b.cap, 256);
	ck_assert_int_eq(buf_reserve(&b, 256), 0);
	ck_assert_uint_eq(b.cap, 512);
	ck_assert_uint_eq(b.len, 1);
	for (i = 0; i < 9; i++)
		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(b.len, 901);
	/* 1024 would pass the bound: clamped to it */
	ck_assert_uint_eq(b.cap, 1000);
	ck_assert_int_eq(buf_append(&b, chunk, 99), 0);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_uint_eq(b.cap, 1000);
	for (i = 1; i < b.len; i++)
		ck_assert_int_eq(b.data[i], 'g');
	buf_free(&b);

	/* a bound under the first size is the whole allocation */
	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, chunk, 3), 0);
	ck_assert_uint_eq(b.cap, 10);
	buf_free(&b);
}
END_TEST

/* One reservation bigger than several doublings. */
START_TEST(test_growth_big_step)
{
	struct buf	b;
	char		*big = malloc(70000);

	ck_assert_ptr_nonnull(big);
	memset(big, 'B', 70000);
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_append(&b, big, 70000), 0);
	ck_assert_uint_eq(b.cap, 131072);
	ASSERT_BUF(&b, big, 70000);
	buf_free(&b);
	free(big);
}
END_TEST

/* Exactly full is allowed; past it nothing changes. */
START_TEST(test_bound)
{
	struct buf	b;
	char		data[64];
	size_t		cap;

	memset(data, 'd', sizeof(data));
	buf_init(&b, 64);
	ck_assert_int_eq(buf_append(&b, data, 60), 0);
	cap = b.cap;
	ck_assert_int_eq(buf_append(&b, data, 5), -1);
	ck_assert_int_eq(buf_reserve(&b, 5), -1);
	ck_assert_int_eq(buf_puts(&b, "12345"), -1);
	ck_assert_uint_eq(b.len, 60);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_int_eq(buf_puts(&b, "1234"), 0);
	ck_assert_uint_eq(b.len, 64);
	ck_assert_mem_eq(b.data + 60, "1234", 4);
	ck_assert_int_eq(buf_append(&b, data, 1), -1);
	ck_assert_int_eq(buf_reserve(&b, 0), 0);
	ck_assert_int_eq(buf_append(&b, data, 0), 0);
	ck_assert_uint_eq(b.len, 64);
	buf_free(&b);
}
END_TEST

/* Sizes near SIZE_MAX are refused without wrapping around. */
START_TEST(test_bound_overflow)
{
	struct buf	b;
	size_t		huge[] = { SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2 + 1,
	    (size_t)1 << 40 }, i;

	buf_init(&b, 4096);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	for (i = 0; i < TU_NELEM(huge); i++) {
		ck_assert_int_eq(buf_reserve(&b, huge[i]), -1);
		ck_assert_int_eq(buf_append(&b, "x", huge[i]), -1);
	}
	ASSERT_BUF(&b, "abc", 3);
	buf_free(&b);

	/* a buffer already at a SIZE_MAX bound: len + n must not wrap */
	buf_init(&b, SIZE_MAX);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX - 2), -1);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), -1);
	ASSERT_BUF(&b, "abc", 3);
	buf_free(&b);

	/* a bound of zero takes nothing */
	buf_init(&b, 0);
	ck_assert_int_eq(buf_append(&b, "x", 1), -1);
	ck_assert_int_eq(buf_append(&b, "x", 0), 0);
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	ck_assert_int_eq(buf_printf(&b, "%d", 1), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_printf)
{
	struct buf	b;
	char		big[3000];

	buf_init(&b, 8192);
	ck_assert_int_eq(buf_printf(&b, "%d-%s-%c", 42, "x", 'z'), 0);
	ASSERT_BUF(&b, "42-x-z", 6);
	ck_assert_int_eq(buf_printf(&b, "|%05u|", 7u), 0);
	ASSERT_BUF(&b, "42-x-z|00007|", 13);
	/* the terminating NUL vsnprintf writes is not counted */
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	ck_assert_uint_eq(b.len, 13);
	/* a long result that needs to grow the buffer */
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(buf_printf(&b, "[%s]", big), 0);
	ck_assert_uint_eq(b.len, 13 + 2 + sizeof(big) - 1);
	ck_assert_int_eq(b.data[13], '[');
	ck_assert_int_eq(b.data[b.len - 1], ']');
	ck_assert_int_eq(b.data[14 + 1000], 'p');
	buf_free(&b);
}
END_TEST

/* printf obeys the same bound as append: full is fine, past it not. */
START_TEST(test_printf_bound)
{
	struct buf	b;

	buf_init(&b, 16);
	ck_assert_int_eq(buf_puts(&b, "0123456789"), 0);
	ck_assert_int_eq(buf_printf(&b, "%s", "abcdefg"), -1);
	ASSERT_BUF(&b, "0123456789", 10);
	ck_assert_int_eq(buf_printf(&b, "%s", "abcdef"), 0);
	ASSERT_BUF(&b, "0123456789abcdef", 16);
	ck_assert_int_eq(buf_printf(&b, "%s", "!"), -1);
	ASSERT_BUF(&b, "0123456789abcdef", 16);
	buf_free(&b);

	/* an empty buffer printed full in one go */
	buf_init(&b, 8);
	ck_assert_int_eq(buf_printf(&b, "%08d", 1234), 0);
	ASSERT_BUF(&b, "00001234", 8);
	buf_free(&b);
}
END_TEST

START_TEST(test_html)
{
	struct buf		b;
	static const char	in[] = "a&b<c>d\"e'f\0g";
	static const char	want[] = "a&amp;b&lt;c&gt;d&quot;e&#39;f\0g";

	buf_init(&b, 1024);
	/* n counts the bytes, an embedded NUL included */
	ck_assert_int_eq(buf_put_html(&b, in, sizeof(in) - 1), 0);
	ASSERT_BUF(&b, want, sizeof(want) - 1);
	buf_reset(&b);
	ck_assert_int_eq(buf_put_html(&b, "<<x", 1), 0);
	ASSERT_BUF(&b, "&lt;", 4);
	buf_reset(&b);
	ck_assert_int_eq(buf_put_html(&b, "plain text", 10), 0);
	ASSERT_BUF(&b, "plain text", 10);
	ck_assert_int_eq(buf_put_html(&b, "", 0), 0);
	ck_assert_uint_eq(b.len, 10);
	buf_free(&b);
}
END_TEST

/* An escaped text that does not fit is refused whole. */
START_TEST(test_html_bound)
{
	struct buf	b;

	buf_init(&b, 12);
	ck_assert_int_eq(buf_puts(&b, "ab"), 0);
	ck_assert_int_eq(buf_put_html(&b, "x<y>z", 5), -1);
	ASSERT_BUF(&b, "ab", 2);
	ck_assert_int_eq(buf_put_html(&b, "x<y&", 4), -1);
	ASSERT_BUF(&b, "ab", 2);
	ck_assert_int_eq(buf_put_html(&b, "x<y", 3), 0);
	ASSERT_BUF(&b, "abx&lt;y", 8);
	buf_free(&b);
}
END_TEST

START_TEST(test_consume)
{
	struct buf	b;
	size_t		cap;

	buf_init(&b, 100);
	ck_assert_int_eq(buf_puts(&b, "hello world"), 0);
	cap = b.cap;
	buf_consume(&b, 0);
	ASSERT_BUF(&b, "hello world", 11);
	buf_consume(&b, 6);
	ASSERT_BUF(&b, "world", 5);
	buf_consume(&b, 5);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	buf_consume(&b, 1000);
	ck_assert_uint_eq(b.len, 0);
	buf_consume(&b, 1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, cap);
	/* room freed by consume counts against the bound again */
	ck_assert_int_eq(buf_reserve(&b, 100), 0);
	buf_free(&b);

	/* consume on a never-used buffer */
	buf_init(&b, 10);
	buf_consume(&b, 3);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_reset_and_free)
{
	struct buf	b;
	char		*data;
	size_t		cap;

	buf_init(&b, 100);
	ck_assert_int_eq(buf_puts(&b, "keep the memory"), 0);
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_uint_eq(b.max, 100);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	/* free twice is harmless; the buffer works again after free */
	buf_free(&b);
	ck_assert_int_eq(buf_puts(&b, "again"), 0);
	ASSERT_BUF(&b, "again", 5);
	ck_assert_uint_eq(b.max, 100);
	buf_free(&b);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc;

	tc = tu_tcase(s, "growth", 0);
	tcase_add_test(tc, test_init_empty);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_growth_big_step);
	tc = tu_tcase(s, "bound", 0);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_bound_overflow);
	tc = tu_tcase(s, "text", 0);
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_printf_bound);
	tcase_add_test(tc, test_html);
	tcase_add_test(tc, test_html_bound);
	tc = tu_tcase(s, "lifetime", 0);
	tcase_add_test(tc, test_consume);
	tcase_add_test(tc, test_reset_and_free);
	return (s);
}
