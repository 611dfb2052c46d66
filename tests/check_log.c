/*
 * check_log.c - unit tests for common/log.c: level filtering, the file
 * target, one write per line, rate limiting of identical lines, reopen
 * after rotation, and bad targets.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "tests/testutil.h"

/* The log file, in the test's temporary directory. */
static char	path[PATH_MAX];

static void
setup(void)
{
	char	err[256];

	tu_tmpdir_setup();
	ck_assert(xsnprintf(path, sizeof(path), "%s", tu_path("test.log")) ==
	    0);
	log_init("tester");
	ck_assert_int_eq(log_configure(LOG_LEVEL_DEBUG, path, err,
	    sizeof(err)), 0);
}

static void
teardown(void)
{
	char	err[256];

	log_configure(LOG_LEVEL_INFO, "stderr", err, sizeof(err));
	tu_tmpdir_teardown();
}

static char *
slurp(const char *p)
{
	static char	buf[65536];
	FILE		*f = fopen(p, "r");
	size_t		 n;

	if (f == NULL)
		return (NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return (n);
}

START_TEST(test_levels)
{
	char	err[256];

	log_debug("debug line %d", 1);
	log_info("info line");
	ck_assert_int_eq(log_configure(LOG_LEVEL_WARNING, path, err,
	    sizeof(err)), 0);
	log_info("filtered info");
	log_notice("filtered notice");
	log_warnx("kept warning");
	log_errorx("kept error");
	ck_assert_ptr_nonnull(strstr(slurp(path), "debug: debug line 1\n"));
	ck_assert_ptr_nonnull(strstr(slurp(path), "info: info line\n"));
	ck_assert_ptr_null(strstr(slurp(path), "filtered"));
	ck_assert_ptr_nonnull(strstr(slurp(path), "warning: kept warning\n"));
	ck_assert_ptr_nonnull(strstr(slurp(path), "error: kept error\n"));
}
END_TEST

START_TEST(test_prefix_and_errno)
{
	char	want[64];

	log_set_role("http#3");
	errno = ENOENT;
	log_warn("open %s", "x");
	snprintf(want, sizeof(want), "http#3[%d] warning: open x: %s\n",
	    (int)getpid(), strerror(ENOENT));
	ck_assert_ptr_nonnull(strstr(slurp(path), want));
}
END_TEST

/*
 * Identical lines are suppressed within one second of the monotonic
 * clock (log.c compares tv_sec): wait for the next second to begin, so
 * that a burst fits in one second on any machine instead of straddling
 * two now and then.  Returns that second.
 */
static time_t
at_second_start(void)
{
	struct timespec	ts, nap;

	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	nap.tv_sec = 0;
	nap.tv_nsec = 1000000000L - ts.tv_nsec + 1000000L;
	if (nap.tv_nsec >= 1000000000L) {
		nap.tv_sec = 1;
		nap.tv_nsec -= 1000000000L;
	}
	while (nanosleep(&nap, &nap) == -1 && errno == EINTR)
		;
	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (ts.tv_sec);
}

START_TEST(test_rate_limit)
{
	struct timespec	ts;
	time_t		sec;
	int		i;

	sec = at_second_start();
	for (i = 0; i < 1000; i++)
		log_warnx("flood %s", "same");
	log_warnx("different line");
	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	ck_assert_msg(ts.tv_sec == sec, "the burst took more than a second");
	ck_assert_int_eq(count(slurp(path), "flood same"), 1);
	ck_assert_int_eq(count(slurp(path), "different line"), 1);
	sleep(1);
	log_warnx("flood %s", "same");
	/* The next copy reports what was dropped. */
	ck_assert_int_eq(count(slurp(path), "flood same"), 2);
	ck_assert_ptr_nonnull(strstr(slurp(path),
	    "(999 similar lines suppressed)"));
}
END_TEST

START_TEST(test_reopen)
{
	char	rotated[PATH_MAX + 8];

	log_info("before rotation");
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	ck_assert_int_eq(rename(path, rotated), 0);
	log_info("still old file");
	ck_assert_int_eq(log_reopen(), 0);
	log_info("after rotation");
	ck_assert_ptr_nonnull(strstr(slurp(rotated), "still old file"));
	ck_assert_ptr_nonnull(strstr(slurp(path), "after rotation"));
	ck_assert_ptr_null(strstr(slurp(path), "before rotation"));
}
END_TEST

START_TEST(test_bad_targets)
{
	char	err[256];

	ck_assert_int_eq(log_configure(LOG_LEVEL_INFO, "relative.log", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not absolute"));
	ck_assert_int_eq(log_configure(LOG_LEVEL_INFO,
	    "/nonexistent-dir/x.log", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x.log"));
	/* The old target stays in use. */
	log_info("still logging");
	ck_assert_ptr_nonnull(strstr(slurp(path), "still logging"));
	ck_assert_int_eq(log_level_parse("warning"), LOG_LEVEL_WARNING);
	ck_assert_int_eq(log_level_parse("DEBUG"), LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("loud"), -1);
	ck_assert_str_eq(log_level_name(LOG_LEVEL_NOTICE), "notice");
}
END_TEST

START_TEST(test_long_line)
{
	char	big[8192];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	log_info("next");
	/* Cut, but still one whole line ending in a newline. */
	ck_assert_int_eq(count(slurp(path), "\n"), 2);
	ck_assert_ptr_nonnull(strstr(slurp(path), "xxx\n"));
	ck_assert_ptr_nonnull(strstr(slurp(path), "info: next\n"));
	ck_assert_uint_lt(strlen(slurp(path)), 4096);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tu_tcase(s, "log", 10);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_prefix_and_errno);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_bad_targets);
	tcase_add_test(tc, test_long_line);
	return (s);
}
