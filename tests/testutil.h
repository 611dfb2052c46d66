/*
 * testutil.h - scaffolding shared by the Check suites in tests/: the
 * program's main(), test cases with their time limits, a temporary
 * directory per test, fixture and source-tree files, shell commands, and
 * waiting for children with a time limit.
 *
 * Every tests/check_<module>.c defines tu_suite() and links testutil.o
 * (tests/libtestutil.a); main() here runs that suite and exits 1 when a
 * test failed.  Helpers that assert (ck_assert) may only be called from a
 * test or a fixture; the ones documented as "no asserts" are safe in a
 * forked child too.
 */
#ifndef NOTARYD_TESTUTIL_H
#define NOTARYD_TESTUTIL_H

#include <sys/types.h>

#include <check.h>
#include <limits.h>
#include <stddef.h>

#define TU_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Defined by each suite: the tests this program runs. */
Suite	*tu_suite(void);

/* The program's name without directories ("check_obs"). */
const char *tu_name(void);

/*
 * Diagnostics (measured numbers, library logs) are printed only when
 * CHECK_VERBOSE or CHECK_<NAME>_VERBOSE is set (CHECK_OBS_VERBOSE for
 * check_obs).  tu_note adds the newline.
 */
int	tu_verbose(void);
void	tu_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A new test case in s with a time limit in seconds (0: Check's). */
TCase	*tu_tcase(Suite *s, const char *name, int timeout);
/*
 * One test alone in its own case, with an unchecked fixture: the fixture
 * runs in the runner process around this test only, so what it cleans up
 * goes away even when the test fails or is killed.
 */
void	tu_add_alone(Suite *s, const char *name, const TTest *t,
	    int timeout, SFun setup, SFun teardown);

/*
 * The temporary directory: $TMPDIR (or /tmp)/<name>.XXXXXX, an absolute
 * path.  Use the pair as a checked or an unchecked fixture; teardown
 * removes the whole tree.
 */
extern char	tu_dir[PATH_MAX];
void	tu_tmpdir_setup(void);
void	tu_tmpdir_teardown(void);
/* tu_dir/name, in one of four rotating static buffers. */
const char *tu_path(const char *name);
/* rm -r without a shell; 0 or -1.  No asserts. */
int	tu_rm_tree(const char *dir);

/*
 * A file of the source tree (rel to its top: "conf/notaryd.yaml"), found
 * under $NOTARYD_SRCDIR, the starting directory or its parent; an
 * absolute path.  Missing is a failure, never a skip.
 */
const char *tu_srcdir_file(const char *rel);
/* The absolute path of tests/fixtures (it must hold file). */
const char *tu_fixtures_dir(const char *file);
/* The whole of dir/name (or name when dir is NULL), NUL-terminated. */
char	*tu_read_file(const char *dir, const char *name, size_t *len);
/* Replace path with len bytes of data, then chmod it to mode. */
void	tu_write_file(const char *path, const void *data, size_t len,
	    mode_t mode);

/* system() of a formatted command: its exit code, or -1.  No asserts. */
int	tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The standard output of a formatted command (at most 64 KiB). */
char	*tu_sh_output(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Children.  No asserts in any of these.
 * tu_wait_child: wait for pid at most ms; its wait status, or -1 after
 * killing it with SIGKILL on timeout.
 * tu_read_full: read exactly len bytes within ms each; len or -1.
 * tu_child_exit: a child sends its verdict (0 = ok) as one byte on fd and
 * leaves with _exit; tu_child_verdict reads it (and closes fd), reaps the
 * child, and returns the verdict or -1.  The byte, not the exit status,
 * carries the verdict because valgrind replaces the exit status of a
 * child in which a library made harmless uninitialised reads.
 */
int	tu_wait_child(pid_t pid, int ms);
int	tu_read_full(int fd, void *buf, size_t len, int ms);
void	tu_child_exit(int fd, int verdict) __attribute__((noreturn));
int	tu_child_verdict(pid_t pid, int fd, int ms);

#endif
