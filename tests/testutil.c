/*
 * testutil.c - the main() of every Check suite and the helpers the suites
 * share (see testutil.h).  Runs in the test programs only: in the Check
 * runner process (main, unchecked fixtures), in the forked test
 * processes, and in children the tests fork.  A helper that cannot do
 * its job fails the test with ck_assert; the ones a forked child may call
 * return -1 instead.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "tests/testutil.h"

#define SH_CMD_MAX	8192
#define SH_OUTPUT_MAX	(64 * 1024)

char			 tu_dir[PATH_MAX];
static char		 start_cwd[PATH_MAX];
static const char	*prog_name = "check";
static int		 verbose;

const char *
tu_name(void)
{
	return (prog_name);
}

int
tu_verbose(void)
{
	return (verbose);
}

void
tu_note(const char *fmt, ...)
{
	va_list	ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* CHECK_VERBOSE, or CHECK_<NAME>_VERBOSE for check_<name>. */
static int
verbose_wanted(const char *name)
{
	char	var[128];
	size_t	i, n;

	if (getenv("CHECK_VERBOSE") != NULL)
		return (1);
	if (strncmp(name, "check_", 6) == 0)
		name += 6;
	n = (size_t)snprintf(var, sizeof(var), "CHECK_%s_VERBOSE", name);
	for (i = 0; i < n && i < sizeof(var); i++)
		var[i] = (char)toupper((unsigned char)var[i]);
	return (getenv(var) != NULL);
}

TCase *
tu_tcase(Suite *s, const char *name, int timeout)
{
	TCase	*tc = tcase_create(name);

	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return (tc);
}

void
tu_add_alone(Suite *s, const char *name, const TTest *t, int timeout,
    SFun setup, SFun teardown)
{
	TCase	*tc = tu_tcase(s, name, timeout);

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t);
}

/* ---- the temporary directory ------------------------------------------ */

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return (remove(path));
}

int
tu_rm_tree(const char *dir)
{
	return (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1);
}

void
tu_tmpdir_setup(void)
{
	const char	*t = getenv("TMPDIR");
	char		 tmpl[PATH_MAX];

	ck_assert(xsnprintf(tmpl, sizeof(tmpl), "%s/%s.XXXXXX",
	    t != NULL && *t == '/' ? t : "/tmp", prog_name) == 0);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert(xsnprintf(tu_dir, sizeof(tu_dir), "%s", tmpl) == 0);
}

void
tu_tmpdir_teardown(void)
{
	if (tu_dir[0] == '\0')
		return;
	if (tu_rm_tree(tu_dir) == -1)
		fprintf(stderr, "%s: cannot remove %s\n", prog_name, tu_dir);
	tu_dir[0] = '\0';
}

const char *
tu_path(const char *name)
{
	static char	path[4][PATH_MAX + 64];
	static unsigned	next;
	char		*p = path[next++ % 4];

	ck_assert(xsnprintf(p, sizeof(path[0]), "%s/%s", tu_dir, name) == 0);
	return (p);
}

/* ---- files ------------------------------------------------------------ */

static int
start_has(char *out, size_t len, const char *dir, const char *rel)
{
	if (dir[0] == '/')
		(void)snprintf(out, len, "%s/%s", dir, rel);
	else
		(void)snprintf(out, len, "%s/%s/%s", start_cwd, dir, rel);
	return (access(out, R_OK) == 0);
}

const char *
tu_srcdir_file(const char *rel)
{
	static char	 path[4][PATH_MAX * 2];
	static unsigned	 next;
	char		*p = path[next++ % 4];
	const char	*src = getenv("NOTARYD_SRCDIR");

	if (src != NULL && *src != '\0' && start_has(p, sizeof(path[0]),
	    src, rel))
		return (p);
	if (start_has(p, sizeof(path[0]), ".", rel) ||
	    start_has(p, sizeof(path[0]), "..", rel))
		return (p);
	ck_abort_msg("%s not found: set NOTARYD_SRCDIR", rel);
	return (NULL);
}

const char *
tu_fixtures_dir(const char *file)
{
	static char	dir[PATH_MAX * 2];
	char		rel[PATH_MAX];
	const char	*p;

	(void)snprintf(rel, sizeof(rel), "tests/fixtures/%s", file);
	p = tu_srcdir_file(rel);
	(void)snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(p) -
	    strlen(file) - 1), p);
	return (dir);
}

char *
tu_read_file(const char *dir, const char *name, size_t *len)
{
	char	 path[PATH_MAX * 3];
	FILE	*f;
	char	*data;
	long	 size;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	data = xmalloc((size_t)size + 1);
	ck_assert_uint_eq(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	data[size] = '\0';
	if (len != NULL)
		*len = (size_t)size;
	return (data);
}

void
tu_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE	*f;

	unlink(path);
	f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* ---- commands --------------------------------------------------------- */

int
tu_sh(const char *fmt, ...)
{
	char	cmd[SH_CMD_MAX];
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	r = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(cmd))
		return (-1);
	r = system(cmd);
	return (r == -1 || !WIFEXITED(r) ? -1 : WEXITSTATUS(r));
}

char *
tu_sh_output(const char *fmt, ...)
{
	char	 cmd[SH_CMD_MAX], *out;
	size_t	 got = 0, n;
	va_list	 ap;
	FILE	*f;
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert(r >= 0 && (size_t)r < sizeof(cmd));
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	out = xmalloc(SH_OUTPUT_MAX + 1);
	while (got < SH_OUTPUT_MAX &&
	    (n = fread(out + got, 1, SH_OUTPUT_MAX - got, f)) > 0)
		got += n;
	pclose(f);
	out[got] = '\0';
	return (out);
}

/* ---- children --------------------------------------------------------- */

int
tu_wait_child(pid_t pid, int ms)
{
	int64_t	deadline = mono_ms() + ms;
	int	st;

	while (mono_ms() < deadline) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return (st);
		usleep(2000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return (-1);
}

int
tu_read_full(int fd, void *buf, size_t len, int ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		*p = buf;
	size_t		 got = 0;
	ssize_t		 n;

	while (got < len) {
		if (poll(&pfd, 1, ms) != 1)
			return (-1);
		if ((n = read(fd, p + got, len - got)) <= 0)
			return (-1);
		got += (size_t)n;
	}
	return ((int)len);
}

void
tu_child_exit(int fd, int verdict)
{
	unsigned char	b = (unsigned char)verdict;

	(void)!write(fd, &b, 1);
	_exit(verdict);
}

int
tu_child_verdict(pid_t pid, int fd, int ms)
{
	unsigned char	b;
	int		got;

	got = tu_read_full(fd, &b, 1, ms);
	close(fd);
	if (tu_wait_child(pid, ms) == -1)
		return (-1);
	return (got == 1 ? b : -1);
}

/* ---- main ------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	const char	*slash;
	SRunner		*sr;
	int		 failed;

	if (argc > 0 && argv[0] != NULL) {
		slash = strrchr(argv[0], '/');
		prog_name = slash != NULL ? slash + 1 : argv[0];
	}
	if (getcwd(start_cwd, sizeof(start_cwd)) == NULL) {
		fprintf(stderr, "%s: getcwd: %s\n", prog_name, strerror(errno));
		return (1);
	}
	verbose = verbose_wanted(prog_name);
	log_init(prog_name);
	sr = srunner_create(tu_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed ? 1 : 0);
}
