/*
 * log.c - logging for every notaryd process (see log.h).
 *
 * A line is formatted once into a stack buffer and written with a single
 * write(2) (O_APPEND for files) so that lines from different processes do
 * not interleave.  Identical lines within one second are suppressed and
 * counted; the count is reported with the next copy that gets through.
 * Logging never fails the caller: if the target cannot be written, the
 * line is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"

#define LOG_LINE_MAX 2048
#define LOG_RL_SLOTS 64

enum log_target { TARGET_STDERR, TARGET_SYSLOG, TARGET_FILE };

struct log_rl {
	uint64_t hash;
	int64_t  second;
	unsigned suppressed;
};

static struct {
	char            role[32];
	enum log_level  level;
	enum log_target target;
	char            path[1024];
	int             fd; /* file target, or -1 */
	struct log_rl   rl[LOG_RL_SLOTS];
} logst = { "notaryd", LOG_LEVEL_INFO, TARGET_STDERR, "", -1, { { 0, 0, 0 } } };

static const char *const level_names[] = {
	"debug",
	"info",
	"notice",
	"warning",
	"error",
};

static const int level_syslog[] = {
	LOG_DEBUG,
	LOG_INFO,
	LOG_NOTICE,
	LOG_WARNING,
	LOG_ERR,
};

void
log_init(const char *role)
{
	log_set_role(role);
	logst.level = LOG_LEVEL_INFO;
	logst.target = TARGET_STDERR;
}

void
log_set_role(const char *role)
{
	snprintf(logst.role, sizeof(logst.role), "%s", role);
	memset(logst.rl, 0, sizeof(logst.rl));
}

int
log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return ((int)i);
	return (-1);
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_LEVEL_ERROR)
		return ("unknown");
	return (level_names[level]);
}

enum log_level
log_get_level(void)
{
	return (logst.level);
}

int
log_fd(void)
{
	return (logst.target == TARGET_FILE ? logst.fd : -1);
}

static int
open_log_file(const char *path, char *err, size_t errlen)
{
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1 && err != NULL)
		snprintf(err, errlen, "cannot open log file %s: %s", path,
		    strerror(errno));
	return (fd);
}

int
log_configure(
    enum log_level level, const char *target, char *err, size_t errlen)
{
	int fd;

	if ((unsigned)level > LOG_LEVEL_ERROR) {
		snprintf(err, errlen, "bad log level %d", (int)level);
		return (-1);
	}
	if (strcmp(target, "stderr") == 0) {
		if (logst.fd != -1)
			close(logst.fd);
		logst.fd = -1;
		logst.target = TARGET_STDERR;
	} else if (strcmp(target, "syslog") == 0) {
		if (logst.fd != -1)
			close(logst.fd);
		logst.fd = -1;
		openlog("notaryd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		logst.target = TARGET_SYSLOG;
	} else {
		if (target[0] != '/') {
			snprintf(err, errlen, "log target %s is not absolute",
			    target);
			return (-1);
		}
		if ((fd = open_log_file(target, err, errlen)) == -1)
			return (-1);
		if (logst.fd != -1)
			close(logst.fd);
		logst.fd = fd;
		snprintf(logst.path, sizeof(logst.path), "%s", target);
		logst.target = TARGET_FILE;
	}
	logst.level = level;
	return (0);
}

void
log_detach(void)
{
	if (logst.target == TARGET_SYSLOG)
		closelog();
}

void
log_reattach(void)
{
	if (logst.target == TARGET_SYSLOG)
		openlog("notaryd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_reopen(void)
{
	char err[sizeof(logst.path) + 128];
	int  fd;

	if (logst.target != TARGET_FILE)
		return (0);
	if ((fd = open_log_file(logst.path, err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		return (-1);
	}
	if (logst.fd != -1)
		close(logst.fd);
	logst.fd = fd;
	return (0);
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (h);
}

/*
 * Rate limit: returns -1 to drop the line, else the number of copies
 * suppressed since the last one written (0 usually).
 */
static long
rate_limit(const char *msg)
{
	struct log_rl  *rl;
	struct timespec ts;
	uint64_t        h = fnv1a(msg);
	long            n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	rl = &logst.rl[h % LOG_RL_SLOTS];
	if (rl->hash == h && rl->second == ts.tv_sec) {
		rl->suppressed++;
		return (-1);
	}
	n = (rl->hash == h) ? (long)rl->suppressed : 0;
	rl->hash = h;
	rl->second = ts.tv_sec;
	rl->suppressed = 0;
	return (n);
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char      msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 256];
	char      tbuf[32];
	struct tm tm;
	time_t    now;
	long      dropped;
	int       saved = errno, n;

	if (level < logst.level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, ": %s", strerror(saved));
	}
	if ((dropped = rate_limit(msg)) < 0) {
		errno = saved;
		return;
	}
	if (logst.target == TARGET_SYSLOG) {
		if (dropped > 0)
			syslog(level_syslog[level],
			    "%s: %s (%ld similar "
			    "lines suppressed)",
			    logst.role, msg, dropped);
		else
			syslog(level_syslog[level], "%s: %s", logst.role, msg);
		errno = saved;
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (dropped > 0)
		n = snprintf(line, sizeof(line),
		    "%s %s[%d] %s: %s (%ld "
		    "similar lines suppressed)\n",
		    tbuf, logst.role, (int)getpid(), level_names[level], msg,
		    dropped);
	else
		n = snprintf(line, sizeof(line), "%s %s[%d] %s: %s\n", tbuf,
		    logst.role, (int)getpid(), level_names[level], msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_all(logst.target == TARGET_FILE && logst.fd != -1 ? logst.fd
	                                                        : STDERR_FILENO,
	    line, (size_t)n);
	errno = saved;
}

#define LOG_FN(name, level, with_errno)           \
	void name(const char *fmt, ...)           \
	{                                         \
		va_list ap;                       \
		va_start(ap, fmt);                \
		vlog(level, with_errno, fmt, ap); \
		va_end(ap);                       \
	}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_notice, LOG_LEVEL_NOTICE, 0)
LOG_FN(log_warn, LOG_LEVEL_WARNING, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARNING, 0)
LOG_FN(log_errorx, LOG_LEVEL_ERROR, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(PROC_EXIT_FAIL);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(PROC_EXIT_FAIL);
}

void
panicx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	abort();
}
