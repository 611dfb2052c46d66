/*
 * log.h - logging for every notaryd process.
 *
 * Each process logs with a "role[pid]" prefix to stderr, syslog or a file.
 * Identical lines (the same formatted text) repeated within one second are
 * suppressed and counted, so a hostile peer cannot flood the log.
 * Rule for callers: never log a client IP address or a request header.
 */
#ifndef NOTARYD_LOG_H
#define NOTARYD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
};

/* Start logging to stderr at level info, with the given role name. */
void log_init(const char *role);
/* Change the role shown in the prefix (after fork). */
void log_set_role(const char *role);
/*
 * Switch level and target: "stderr", "syslog" or an absolute file path.
 * Returns 0, or -1 with a message in err (the old target stays in use).
 */
int  log_configure(
     enum log_level level, const char *target, char *err, size_t errlen);
/* Reopen a file target (SIGUSR1). Returns 0/-1. */
int            log_reopen(void);
/* The file descriptor of a file target, or -1. */
int            log_fd(void);
/*
 * Around closing inherited descriptors in a new child: drop the syslog
 * connection first (glibc would otherwise close whatever fd later reuses
 * its number), then reconnect.
 */
void           log_detach(void);
void           log_reattach(void);
/* Parse "debug" ... "error"; returns -1 when unknown. */
int            log_level_parse(const char *s);
const char    *log_level_name(enum log_level level);
enum log_level log_get_level(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level and exit(1); fatal appends strerror(errno). */
void
fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void
fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A program bug: log and abort() for a core. */
void
panicx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
