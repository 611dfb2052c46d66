/*
 * check_util.c - unit tests for common/util.c: the clocks (monotonic,
 * consistent between ms and ns, advancing with real time; the wall clock
 * agrees with time()), the big-endian helpers (known vectors, extremes,
 * unaligned pointers, no byte written outside the field, round trips),
 * the fd flag helpers (the flag really set, other flags kept, a bad fd
 * refused, close-on-exec seen by an exec'd shell), xsnprintf at and
 * around the exact fit, and NELEM.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/testutil.h"

#define GUARD	0xee

/* ---- clocks ------------------------------------------------------------ */

START_TEST(test_mono_clock)
{
	int64_t	ns0, ms0, ns1, ms1, prev, now;
	int	i;

	ns0 = mono_ns();
	ms0 = mono_ms();
	ck_assert_int_gt(ns0, 0);
	/* the two read the same clock */
	ck_assert_int_ge(ms0, ns0 / 1000000);
	ck_assert_int_le(ms0, ns0 / 1000000 + 1000);
	prev = mono_ns();
	for (i = 0; i < 10000; i++) {
		now = mono_ns();
		ck_assert_int_ge(now, prev);
		prev = now;
	}
	ck_assert_int_eq(usleep(30000), 0);
	ns1 = mono_ns();
	ms1 = mono_ms();
	ck_assert_int_ge(ns1 - ns0, INT64_C(30000000));
	ck_assert_int_ge(ms1 - ms0, 30);
	/* and not absurdly more on a loaded machine */
	ck_assert_int_lt(ms1 - ms0, 10000);
}
END_TEST

START_TEST(test_wall_clock)
{
	time_t	before = time(NULL);
	int64_t	w = wall_s();
	time_t	after = time(NULL);

	ck_assert_int_ge(w, (int64_t)before);
	ck_assert_int_le(w, (int64_t)after);
	/* after 2020-01-01, and a 64-bit value */
	ck_assert_int_gt(w, INT64_C(1577836800));
	ck_assert_uint_eq(sizeof(wall_s()), 8);
}
END_TEST

/* ---- big-endian -------------------------------------------------------- */

START_TEST(test_be32_vectors)
{
	static const struct {
		uint32_t	v;
		uint8_t		b[4];
	} vec[] = {
		{ 0, { 0, 0, 0, 0 } },
		{ 1, { 0, 0, 0, 1 } },
		{ 0x01020304, { 1, 2, 3, 4 } },
		{ 0x80000000, { 0x80, 0, 0, 0 } },
		{ 0xdeadbeef, { 0xde, 0xad, 0xbe, 0xef } },
		{ UINT32_MAX, { 0xff, 0xff, 0xff, 0xff } },
	};
	uint8_t	buf[4 + 2];
	size_t	i;

	for (i = 0; i < TU_NELEM(vec); i++) {
		memset(buf, GUARD, sizeof(buf));
		be32enc(buf + 1, vec[i].v);	/* unaligned on purpose */
		ck_assert_mem_eq(buf + 1, vec[i].b, 4);
		ck_assert_uint_eq(buf[0], GUARD);
		ck_assert_uint_eq(buf[5], GUARD);
		ck_assert_uint_eq(be32dec(vec[i].b), vec[i].v);
		ck_assert_uint_eq(be32dec(buf + 1), vec[i].v);
	}
}
END_TEST

START_TEST(test_be64_vectors)
{
	static const struct {
		uint64_t	v;
		uint8_t		b[8];
	} vec[] = {
		{ 0, { 0, 0, 0, 0, 0, 0, 0, 0 } },
		{ 1, { 0, 0, 0, 0, 0, 0, 0, 1 } },
		{ UINT64_C(0x0102030405060708), { 1, 2, 3, 4, 5, 6, 7, 8 } },
		{ UINT64_C(0x00000000ffffffff), { 0, 0, 0, 0, 0xff, 0xff,
		    0xff, 0xff } },
		{ UINT64_C(0xffffffff00000000), { 0xff, 0xff, 0xff, 0xff, 0,
		    0, 0, 0 } },
		{ UINT64_C(0x8000000000000000), { 0x80, 0, 0, 0, 0, 0, 0,
		    0 } },
		{ UINT64_MAX, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff } },
	};
	uint8_t	buf[8 + 6];
	size_t	i, off;

	for (i = 0; i < TU_NELEM(vec); i++)
		for (off = 1; off < 6; off++) {
			memset(buf, GUARD, sizeof(buf));
			be64enc(buf + off, vec[i].v);
			ck_assert_mem_eq(buf + off, vec[i].b, 8);
			ck_assert_uint_eq(buf[off - 1], GUARD);
			ck_assert_uint_eq(buf[off + 8], GUARD);
			ck_assert(be64dec(buf + off) == vec[i].v);
		}
}
END_TEST

/* Round trips over many values, and byte order gives numeric order. */
START_TEST(test_be_round_trip)
{
	uint8_t		a[8], b[8];
	uint64_t	x = UINT64_C(0x9e3779b97f4a7c15), y;
	int		i;

	for (i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		y = x * UINT64_C(2685821657736338717);
		be64enc(a, x);
		be64enc(b, y);
		ck_assert(be64dec(a) == x);
		ck_assert_uint_eq(be32dec(a), (uint32_t)(x >> 32));
		ck_assert_uint_eq(be32dec(a + 4), (uint32_t)x);
		/* memcmp order is numeric order: what database keys rely on */
		ck_assert_int_eq(memcmp(a, b, 8) < 0, x < y);
		be32enc(a, (uint32_t)y);
		ck_assert_uint_eq(be32dec(a), (uint32_t)y);
	}
}
END_TEST

/* ---- file descriptors -------------------------------------------------- */

START_TEST(test_nonblock)
{
	int	p[2], fl;
	char	c;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(fcntl(p[0], F_SETFL, O_APPEND), -1);
	ck_assert_int_eq(fd_set_nonblock(p[0]), 0);
	fl = fcntl(p[0], F_GETFL);
	ck_assert(fl & O_NONBLOCK);
	ck_assert(fl & O_APPEND);		/* other flags kept */
	errno = 0;
	ck_assert_int_eq(read(p[0], &c, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* twice is fine */
	ck_assert_int_eq(fd_set_nonblock(p[0]), 0);
	ck_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	close(p[0]);
	close(p[1]);
	errno = 0;
	ck_assert_int_eq(fd_set_nonblock(p[0]), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(fd_set_nonblock(-1), -1);
}
END_TEST

START_TEST(test_cloexec)
{
	int	p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[1], F_GETFD) & FD_CLOEXEC, 0);
	/* without the flag an exec'd shell has the descriptor... */
	ck_assert_int_eq(tu_sh("test -e /proc/self/fd/%d", p[1]), 0);
	ck_assert_int_eq(fd_set_cloexec(p[1]), 0);
	ck_assert(fcntl(p[1], F_GETFD) & FD_CLOEXEC);
	/* ...and with it, not */
	ck_assert_int_eq(tu_sh("test -e /proc/self/fd/%d", p[1]), 1);
	ck_assert_int_eq(fd_set_cloexec(p[1]), 0);
	close(p[0]);
	close(p[1]);
	errno = 0;
	ck_assert_int_eq(fd_set_cloexec(p[1]), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ---- formatting -------------------------------------------------------- */

START_TEST(test_xsnprintf)
{
	char	buf[8];

	memset(buf, GUARD, sizeof(buf));
	ck_assert_int_eq(xsnprintf(buf, sizeof(buf), "%s", "1234567"), 0);
	ck_assert_str_eq(buf, "1234567");
	/* one character more than fits: cut, terminated, reported */
	ck_assert_int_eq(xsnprintf(buf, sizeof(buf), "%s", "12345678"), -1);
	ck_assert_str_eq(buf, "1234567");
	ck_assert_int_eq(xsnprintf(buf, sizeof(buf), "%d/%s", 12, "ab"), 0);
	ck_assert_str_eq(buf, "12/ab");
	ck_assert_int_eq(xsnprintf(buf, sizeof(buf), "%s", ""), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(xsnprintf(buf, 1, "%s", ""), 0);
	ck_assert_int_eq(xsnprintf(buf, 1, "%c", 'x'), -1);
	ck_assert_int_eq(buf[0], '\0');
	/* a zero-length buffer holds nothing, not even the NUL */
	buf[0] = 'k';
	ck_assert_int_eq(xsnprintf(buf, 0, "%s", ""), -1);
	ck_assert_int_eq(buf[0], 'k');
	ck_assert_int_eq(xsnprintf(NULL, 0, "%d", 5), -1);
}
END_TEST

START_TEST(test_nelem)
{
	int		a[7];
	const char	*s[] = { "a", "b", "c" };
	struct {
		char	c[3];
	}		t[5];

	ck_assert_uint_eq(NELEM(a), 7);
	ck_assert_uint_eq(NELEM(s), 3);
	ck_assert_uint_eq(NELEM(t), 5);
	(void)a;
	(void)t;
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("util");
	TCase	*tc;

	tc = tu_tcase(s, "clocks", 0);
	tcase_add_test(tc, test_mono_clock);
	tcase_add_test(tc, test_wall_clock);
	tc = tu_tcase(s, "bigendian", 0);
	tcase_add_test(tc, test_be32_vectors);
	tcase_add_test(tc, test_be64_vectors);
	tcase_add_test(tc, test_be_round_trip);
	tc = tu_tcase(s, "fd", 0);
	tcase_add_test(tc, test_nonblock);
	tcase_add_test(tc, test_cloexec);
	tc = tu_tcase(s, "format", 0);
	tcase_add_test(tc, test_xsnprintf);
	tcase_add_test(tc, test_nelem);
	return (s);
}
