/*
 * notaryctl.c - the operator's tool for a notaryd data_dir
 * (shared/spec/interface.md "notaryctl"): list the services, export and
 * import observations in the Perspectives dump format, show the history
 * of one service.
 *
 * Who runs it: an operator or cron, as a plain process next to a running
 * daemon or without one.  It is a database user like a scanner: it opens
 * <data_dir>/db with failchk and never runs recovery while a daemon holds
 * <data_dir>/notaryd.lock.  With no daemon it runs db_recover first,
 * which creates the environment the first time and repairs it after a
 * crash (and does nothing otherwise: DB_REGISTER knows whether anything
 * died).
 *
 * How it fails: exit 0 on success, 1 on a runtime error (database, I/O,
 * invalid import lines), 2 on a usage or configuration error.  Messages
 * go to stderr as "notaryctl: ...", import errors as
 * "notaryctl: FILE:LINE: reason".  INT, TERM and HUP are noted and acted
 * on between transactions, so an interrupted notaryctl never leaves locks
 * behind that would stall the daemon's scanners or signer; output is
 * written between transactions, never inside one.
 *
 * Formats (one tuple per line, the Perspectives db2file/file2db syntax):
 *   (host:port,type, aa:bb:...:pp, START, END)
 *   (host:port,type, None, None, None)       a service without spans
 * IPv6 services are written as the clients send them: "[2001:db8::1]:443,2"
 * (the reference file2db, whose service pattern has no brackets, cannot
 * read those lines back).  Fingerprints are lowercase MD5 colon-hex;
 * uppercase is refused on import (it would never match a client's key).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <pwd.h>

#include "common/conf.h"
#include "store/dbenv.h"
#include "common/log.h"
#include "server/keys.h"
#include "store/obs.h"
#include "store/session.h"
#include "scanner/probe.h"
#include "store/schedule.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define EXIT_OK			0
#define EXIT_RUNTIME		1
#define EXIT_USAGE		2

#define MAX_OVERRIDES		64
#define DAY_SECONDS		86400
#define LIST_DEFAULT_DAYS	10	/* list_services.py's default */
#define LIST_MAX_DAYS		36500
#define IMPORT_LINE_MAX		1024	/* bytes, without the \n */
#define IMPORT_MAX_ENTRIES	(4 * 1024 * 1024)
#define IMPORT_BATCH		1000	/* spans per transaction */
#define SHOW_MAX_SPANS		(2 * OBS_MAX_SPANS)
#define ISO_LEN			32
#define MD5_HEX_LEN		48	/* 16 * 3, with the NUL */
#define SHA1_HEX_LEN		60
#define SHA256_HEX_LEN		96

struct ctl {
	struct conf	*cf;
	DB_ENV		*env;
	struct obs_db	 obs;
	int		 obs_open;
};

struct command {
	const char	*name;
	const char	*args;
	int		(*run)(struct ctl *, int, char **);
};

/* A growable list of strings (service ids), with a value each. */
struct names {
	char		**v;
	int64_t		 *newest;	/* newest span end, or -1 */
	size_t		  n;
	size_t		  cap;
};

struct export_ctx {
	FILE		*out;
	struct names	*registered;	/* services.db, sorted */
	size_t		 next;		/* first name not written */
	char		 last[SVCID_MAX + 1];
	size_t		 spans;
	size_t		 services;
};

enum entry_state {
	ENTRY_NEW = 0,
	ENTRY_PRESENT,		/* the same span: earlier, or stored */
};

struct import_err {
	uint32_t	 line;
	char		*msg;
};

/* One line of an import file that holds a tuple. */
struct entry {
	char		*svc;		/* shared by equal neighbors */
	uint32_t	 len;
	uint32_t	 line;
	int64_t		 start;
	int64_t		 end;
	int64_t		 first_seen;	/* for services.db */
	uint8_t		 md5[16];
	uint8_t		 svc_only;	/* "(svc, None, None, None)" */
	uint8_t		 owns_svc;
	uint8_t		 state;
};

struct import {
	const char	*name;		/* for messages */
	struct entry	*v;
	size_t		 n;
	size_t		 cap;
	struct import_err *err;
	size_t		 nerr;
	size_t		 errcap;
	size_t		 services;
	size_t		 present;
};

struct batch {
	struct obs_db	*o;
	struct import	*im;
	size_t		 from;
	size_t		 to;
	size_t		 inserted;
	size_t		 present;
	size_t		 failed;	/* the entry that failed */
};

static volatile sig_atomic_t	interrupted;

static void	usage(FILE *);
static void	on_signal(int);
static void	catch_signals(void);
static int	check_interrupt(void);
static int	ctl_open(struct ctl *);
static void	ctl_close(struct ctl *);
static void	iso_time(int64_t, char *, size_t);
static int	out_error(FILE *, const char *);
static void	names_add(struct names *, const char *, size_t, int64_t);
static void	names_free(struct names *);
static int	collect_service(const char *, size_t,
		    const struct obs_service *, void *);
static int	collect_span_service(const char *, size_t,
		    const struct obs_span *, void *);
static int	parse_days(const char *, int64_t *);
static int	cmd_list_services(struct ctl *, int, char **);
static int	export_time(int64_t *);
static FILE	*open_output(const char *, char **);
static int	close_output(FILE *, const char *, const char *, int);
static int	export_service_only(struct export_ctx *, const char *);
static int	export_registered_before(struct export_ctx *, const char *);
static int	export_span(const char *, size_t, const struct obs_span *,
		    void *);
static int	cmd_export(struct ctl *, int, char **);
static void	import_error(struct import *, uint32_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	read_line(FILE *, char *, size_t, size_t *, int *, int *);
static void	trim(const char **, const char **);
static int	parse_time(const char *, size_t, int64_t *);
static int	has_uppercase_hex(const char *, size_t);
static int	parse_tuple(const char *, size_t, struct entry *,
		    const char **, char *, size_t);
static void	entry_add(struct import *, const struct entry *,
		    const char *);
static int	entry_cmp(const void *, const void *);
static int	err_cmp(const void *, const void *);
static int	import_read(struct import *, FILE *);
static void	import_check_file(struct import *);
static int	import_check_stored(struct import *, struct obs_db *);
static int	batch_txn(DB_ENV *, DB_TXN *, void *);
static int	import_write(struct import *, struct ctl *, size_t *);
static void	import_free(struct import *);
static int	cmd_import(struct ctl *, int, char **);
static int	span_start_cmp(const void *, const void *);
static void	show_digests(struct obs_db *, const struct obs_span *,
		    char *, char *);
static int	cmd_show(struct ctl *, int, char **);
static int	cmd_scan(struct ctl *, int, char **);
static int	cmd_keygen(struct ctl *, int, char **);
static void	schedule_rescans(struct ctl *, struct import *);

/*
 * The commands.  Adding one (scan, keygen, ...) is one line here plus its
 * function; anything not listed is a usage error.
 */
static const struct command commands[] = {
	{ "list-services", "[--all | --newer DAYS | --older DAYS]",
	    cmd_list_services },
	{ "export", "[FILE | -]", cmd_export },
	{ "import", "[FILE | -]", cmd_import },
	{ "show", "SERVICE", cmd_show },
	{ "scan", "[FILE | -]", cmd_scan },
	{ "keygen", "", cmd_keygen },
};

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: notaryctl [-c FILE] [-o KEY=VALUE]... COMMAND "
	    "[ARGS]\n"
	    "  -c FILE       YAML config (default %s if it exists,\n"
	    "                else the built-in defaults)\n"
	    "  -o KEY=VALUE  override a config key\n"
	    "  -h            this help\n"
	    "commands:\n", conf_default_path());
	for (i = 0; i < NELEM(commands); i++)
		fprintf(f, "  %s %s\n", commands[i].name, commands[i].args);
}

/* ---- signals ------------------------------------------------------------ */

static void
on_signal(int sig)
{
	interrupted = sig;
}

/*
 * Without SA_RESTART: a read or write blocked outside a transaction
 * returns EINTR, and the loops notice the flag.  Berkeley DB retries its
 * own EINTRs.  SIGPIPE is ignored so that a closed pipe is a write error.
 */
static void
catch_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
}

/* -1 (and a message) once a signal asked us to stop. */
static int
check_interrupt(void)
{
	static int	told;

	if (!interrupted)
		return (0);
	if (!told++)
		fprintf(stderr, "notaryctl: interrupted by signal %d\n",
		    (int)interrupted);
	return (-1);
}

/* ---- configuration, as server/main.c does it -------------------------- */



/* ---- the database ------------------------------------------------------- */

static int
ctl_open(struct ctl *c)
{
	char	err[512];

	if (store_env_open_tool(c->cf, &c->env, err, sizeof(err)) == -1) {
		fprintf(stderr, "notaryctl: %s\n", err);
		return (-1);
	}
	if (obs_open(&c->obs, c->env, 0) != 0) {
		fprintf(stderr, "notaryctl: cannot open the tables in %s/db\n",
		    c->cf->daemon.data_dir);
		db_env_close(c->env);
		c->env = NULL;
		return (-1);
	}
	c->obs_open = 1;
	return (0);
}

static void
ctl_close(struct ctl *c)
{
	if (c->obs_open)
		obs_close(&c->obs);
	c->obs_open = 0;
	if (c->env != NULL)
		db_env_close(c->env);
	c->env = NULL;
}

/* ---- small helpers ------------------------------------------------------ */

static void
iso_time(int64_t t, char *buf, size_t len)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (t < 0 || t > OBS_TIME_MAX || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, len, "%lld", (long long)t);
}

/* After writing: -1 (and a message, unless the reader went away). */
static int
out_error(FILE *f, const char *what)
{
	if (fflush(f) == 0 && !ferror(f))
		return (0);
	if (errno != EPIPE)
		fprintf(stderr, "notaryctl: write %s: %s\n", what,
		    strerror(errno));
	return (-1);
}

static void
names_add(struct names *nm, const char *s, size_t len, int64_t newest)
{
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? nm->cap * 2 : 256;
		nm->v = xreallocarray(nm->v, nm->cap, sizeof(*nm->v));
		nm->newest = xreallocarray(nm->newest, nm->cap,
		    sizeof(*nm->newest));
	}
	nm->v[nm->n] = xstrndup(s, len);
	nm->newest[nm->n] = newest;
	nm->n++;
}

static void
names_free(struct names *nm)
{
	size_t	i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	free(nm->newest);
	memset(nm, 0, sizeof(*nm));
}

static int
collect_service(const char *svc, size_t len, const struct obs_service *st,
    void *arg)
{
	(void)st;
	names_add(arg, svc, len, -1);
	return (check_interrupt());
}

/* Spans come grouped by service: one name each, with its newest end. */
static int
collect_span_service(const char *svc, size_t len, const struct obs_span *sp,
    void *arg)
{
	struct names	*nm = arg;

	if (nm->n > 0 && strcmp(nm->v[nm->n - 1], svc) == 0) {
		if (sp->end > nm->newest[nm->n - 1])
			nm->newest[nm->n - 1] = sp->end;
		return (0);
	}
	names_add(nm, svc, len, sp->end);
	return (check_interrupt());
}

/* ---- list-services ---------------------------------------------------- */

static int
parse_days(const char *s, int64_t *days)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 ||
	    v > LIST_MAX_DAYS || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		return (-1);
	*days = v;
	return (0);
}

/*
 * --all (default): every service with a services.db row or a span.
 * --newer DAYS: a span ends after now - DAYS; --older DAYS: it has spans,
 * and the newest ends at or before now - DAYS (list_services.py, without
 * its duplicates).  Byte order, one id per line.
 */
static int
cmd_list_services(struct ctl *c, int argc, char **argv)
{
	struct names	 reg, seen;
	const char	*mode = "--all";
	int64_t		 days = LIST_DEFAULT_DAYS, cutoff;
	size_t		 i, j;
	int		 cmp, r = EXIT_RUNTIME, all, newer;

	if (argc > 3 || (argc >= 2 && argv[1][0] != '-') ||
	    (argc == 3 && parse_days(argv[2], &days) == -1)) {
		fprintf(stderr, "notaryctl: list-services: expected --all, "
		    "--newer DAYS or --older DAYS (DAYS 0..%d)\n",
		    LIST_MAX_DAYS);
		return (EXIT_USAGE);
	}
	if (argc >= 2)
		mode = argv[1];
	all = !strcmp(mode, "--all") || !strcmp(mode, "-a");
	newer = !strcmp(mode, "--newer") || !strcmp(mode, "--newest") ||
	    !strcmp(mode, "--new");
	if ((!all && !newer && strcmp(mode, "--older") &&
	    strcmp(mode, "--oldest") && strcmp(mode, "--old")) ||
	    (all && argc == 3)) {
		fprintf(stderr, "notaryctl: list-services: unknown option "
		    "%s\n", mode);
		return (EXIT_USAGE);
	}
	cutoff = wall_s() - days * DAY_SECONDS;
	memset(&reg, 0, sizeof(reg));
	memset(&seen, 0, sizeof(seen));
	if (ctl_open(c) == -1)
		return (EXIT_RUNTIME);
	if ((all && obs_walk_services(&c->obs, collect_service, &reg) != 0) ||
	    obs_walk_spans(&c->obs, collect_span_service, &seen) != 0)
		goto done;
	ctl_close(c);	/* before any output that could block */
	/* both lists are in key order, which is strcmp order: merge */
	for (i = j = 0; i < reg.n || j < seen.n; ) {
		if (i == reg.n)
			cmp = 1;
		else if (j == seen.n)
			cmp = -1;
		else
			cmp = strcmp(reg.v[i], seen.v[j]);
		if (cmp < 0)
			printf("%s\n", reg.v[i++]);
		else {
			if (all || (newer && seen.newest[j] > cutoff) ||
			    (!newer && seen.newest[j] <= cutoff))
				printf("%s\n", seen.v[j]);
			i += cmp == 0;
			j++;
		}
	}
	r = out_error(stdout, "stdout") == 0 ? EXIT_OK : EXIT_RUNTIME;
done:
	ctl_close(c);
	names_free(&reg);
	names_free(&seen);
	return (r);
}

/* ---- export ------------------------------------------------------------- */

/* The header's date: SOURCE_DATE_EPOCH (reproducible dumps) or now. */
static int
export_time(int64_t *t)
{
	const char	*s = getenv("SOURCE_DATE_EPOCH");

	*t = wall_s();
	if (s == NULL)
		return (0);
	if (parse_time(s, strlen(s), t) == -1) {
		fprintf(stderr, "notaryctl: SOURCE_DATE_EPOCH \"%s\" is not a "
		    "time in seconds\n", s);
		return (-1);
	}
	return (0);
}

/*
 * stdout for "-", else a temporary file next to path that close_output
 * renames over it, so a failed export never leaves half a dump in place.
 */
static FILE *
open_output(const char *path, char **tmp)
{
	FILE	*f;
	mode_t	 mask;
	int	 fd;

	*tmp = NULL;
	if (strcmp(path, "-") == 0)
		return (stdout);
	*tmp = xasprintf("%s.XXXXXX", path);
	if ((fd = mkstemp(*tmp)) == -1) {
		fprintf(stderr, "notaryctl: create %s: %s\n", *tmp,
		    strerror(errno));
		free(*tmp);
		*tmp = NULL;
		return (NULL);
	}
	/* mkstemp makes it 0600; a dump is public data, honour umask */
	mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);
	if ((f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "notaryctl: %s: %s\n", *tmp, strerror(errno));
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
	}
	return (f);
}

/*
 * Finish the output; the dump replaces path only when complete (complete
 * and written).  0, or -1 (and the temporary file removed).
 */
static int
close_output(FILE *f, const char *path, const char *tmp, int complete)
{
	int	r = out_error(f, tmp ? tmp : "stdout");

	if (!complete)
		r = -1;
	if (tmp == NULL)
		return (r);
	if (fclose(f) != 0 && r == 0) {
		fprintf(stderr, "notaryctl: close %s: %s\n", tmp,
		    strerror(errno));
		r = -1;
	}
	if (r == 0 && rename(tmp, path) == -1) {
		fprintf(stderr, "notaryctl: rename %s to %s: %s\n", tmp, path,
		    strerror(errno));
		r = -1;
	}
	if (r == -1)
		(void)unlink(tmp);
	return (r);
}

static int
export_service_only(struct export_ctx *x, const char *svc)
{
	x->services++;
	if (fprintf(x->out, "(%s, None, None, None)\n", svc) < 0)
		return (-1);
	return (0);
}

/* The services.db ids without spans that sort before svc. */
static int
export_registered_before(struct export_ctx *x, const char *svc)
{
	struct names	*reg = x->registered;
	int		 cmp;

	for (; x->next < reg->n; x->next++) {
		cmp = svc == NULL ? -1 : strcmp(reg->v[x->next], svc);
		if (cmp == 0)
			x->next++;
		if (cmp >= 0)
			break;
		if (export_service_only(x, reg->v[x->next]) == -1)
			return (-1);
	}
	return (0);
}

static int
export_span(const char *svc, size_t len, const struct obs_span *sp,
    void *arg)
{
	struct export_ctx	*x = arg;
	char			 hex[MD5_HEX_LEN];

	if (strcmp(x->last, svc) != 0) {
		if (export_registered_before(x, svc) == -1)
			return (-1);
		memcpy(x->last, svc, len + 1);
		x->services++;
		if (check_interrupt() == -1)
			return (-1);
	}
	obs_hex_colon(sp->md5, sizeof(sp->md5), hex);
	x->spans++;
	if (fprintf(x->out, "(%s, %s, %lld, %lld)\n", svc, hex,
	    (long long)sp->start, (long long)sp->end) < 0)
		return (-1);
	return (0);
}

/*
 * Every span, sorted by service, key, start; each services.db id without
 * spans as a service-only line in its place; a "# notaryd export" header.
 */
static int
cmd_export(struct ctl *c, int argc, char **argv)
{
	struct export_ctx	 x;
	struct names		 reg;
	const char		*path = argc > 1 ? argv[1] : "-";
	char			*tmp = NULL, iso[ISO_LEN];
	int64_t			 t;
	FILE			*out;
	int			 r = EXIT_RUNTIME, w;

	if (argc > 2) {
		fprintf(stderr, "notaryctl: export: expected at most one "
		    "FILE\n");
		return (EXIT_USAGE);
	}
	if (export_time(&t) == -1)
		return (EXIT_USAGE);
	memset(&reg, 0, sizeof(reg));
	memset(&x, 0, sizeof(x));
	if (ctl_open(c) == -1)
		return (EXIT_RUNTIME);
	if (obs_walk_services(&c->obs, collect_service, &reg) != 0)
		goto done;
	if ((out = open_output(path, &tmp)) == NULL)
		goto done;
	x.out = out;
	x.registered = &reg;
	iso_time(t, iso, sizeof(iso));
	w = fprintf(out, "# notaryd export %s\n", iso) < 0 ? -1 : 0;
	if (w == 0)
		w = obs_walk_spans(&c->obs, export_span, &x);
	if (w == 0)
		w = export_registered_before(&x, NULL);
	if (w != 0 && !ferror(out) && !interrupted)
		fprintf(stderr, "notaryctl: export: reading the database "
		    "failed\n");
	if (close_output(out, path, tmp, w == 0) == 0) {
		r = EXIT_OK;
		if (tmp != NULL)
			printf("exported %zu spans for %zu services to %s\n",
			    x.spans, x.services, path);
	}
done:
	free(tmp);
	names_free(&reg);
	ctl_close(c);
	return (r);
}

/* ---- import ------------------------------------------------------------- */

static void
import_error(struct import *im, uint32_t line, const char *fmt, ...)
{
	va_list	ap;
	char	buf[512];

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (im->nerr == im->errcap) {
		im->errcap = im->errcap ? im->errcap * 2 : 16;
		im->err = xreallocarray(im->err, im->errcap,
		    sizeof(*im->err));
	}
	im->err[im->nerr].line = line;
	im->err[im->nerr].msg = xstrdup(buf);
	im->nerr++;
}

/*
 * One line into buf (at most max bytes, without the newline).  Returns 1
 * for a line, 0 at the end, -1 on a read error.  A longer line is read to
 * its end and flagged *too_long; a NUL byte is flagged *has_nul.
 */
static int
read_line(FILE *f, char *buf, size_t max, size_t *len, int *too_long,
    int *has_nul)
{
	int	ch;

	*len = 0;
	*too_long = *has_nul = 0;
	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			*has_nul = 1;
		if (*len < max)
			buf[(*len)++] = (char)ch;
		else
			*too_long = 1;
	}
	if (ch == EOF && ferror(f))
		return (-1);
	if (ch == EOF && *len == 0 && !*too_long)
		return (0);
	if (*len > 0 && buf[*len - 1] == '\r')
		(*len)--;
	buf[*len] = '\0';
	return (1);
}

/* Move *s forward and *e back over spaces and tabs. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* Decimal digits only, 0..OBS_TIME_MAX. */
static int
parse_time(const char *s, size_t len, int64_t *t)
{
	int64_t	v = 0;
	size_t	i;

	if (len == 0 || len > 15)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	if (v > OBS_TIME_MAX)
		return (-1);
	*t = v;
	return (0);
}

static int
has_uppercase_hex(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'F')
			return (1);
	return (0);
}

/*
 * "(svc, fp, start, end)" or "(svc, None, None, None)".  The id holds a
 * comma itself, so the fields are split at the last three commas.
 * Returns 0 (e filled, except svc: *svc points to the id in line, e->len
 * long) or -1 with a reason.
 */
static int
parse_tuple(const char *line, size_t len, struct entry *e, const char **svc,
    char *err, size_t errlen)
{
	const char	*s = line, *end = line + len, *f[4], *fe[4], *p;
	char		 why[128];
	int		 i;

	trim(&s, &end);
	if (end - s < 2 || *s != '(' || end[-1] != ')') {
		snprintf(err, errlen, "expected (service, fingerprint, start, "
		    "end)");
		return (-1);
	}
	s++;
	end--;
	/* fields 3, 2, 1 from the right; field 0 is what is left */
	fe[3] = end;
	for (i = 3; i > 0; i--) {
		for (p = fe[i]; p > s && p[-1] != ','; p--)
			;
		if (p == s) {
			snprintf(err, errlen, "expected 4 fields: (service, "
			    "fingerprint, start, end)");
			return (-1);
		}
		f[i] = p;
		fe[i - 1] = p - 1;
	}
	f[0] = s;
	for (i = 0; i < 4; i++)
		trim(&f[i], &fe[i]);
	memset(e, 0, sizeof(*e));
	if (svcid_parse(f[0], (size_t)(fe[0] - f[0]), NULL, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "bad service id: %s", why);
		return (-1);
	}
	*svc = f[0];
	e->len = (uint32_t)(fe[0] - f[0]);
	for (i = 1; i < 4; i++)
		if (fe[i] - f[i] != 4 || memcmp(f[i], "None", 4) != 0)
			break;
	if (i == 4) {
		e->svc_only = 1;
		return (0);
	}
	if (has_uppercase_hex(f[1], (size_t)(fe[1] - f[1]))) {
		snprintf(err, errlen, "fingerprint has uppercase hex digits "
		    "(notaryd stores lowercase only)");
		return (-1);
	}
	if (obs_parse_colon_hex(f[1], (size_t)(fe[1] - f[1]), e->md5,
	    sizeof(e->md5)) == -1) {
		snprintf(err, errlen, "fingerprint is not an MD5 in colon-hex "
		    "(aa:bb:...: 16 bytes)");
		return (-1);
	}
	if (parse_time(f[2], (size_t)(fe[2] - f[2]), &e->start) == -1 ||
	    parse_time(f[3], (size_t)(fe[3] - f[3]), &e->end) == -1) {
		snprintf(err, errlen, "start and end must be times in seconds "
		    "(0..%lld)", (long long)OBS_TIME_MAX);
		return (-1);
	}
	if (e->start > e->end) {
		snprintf(err, errlen, "start %lld is after end %lld",
		    (long long)e->start, (long long)e->end);
		return (-1);
	}
	return (0);
}

/* Keep e; its id is svc (shared with the entry before when equal). */
static void
entry_add(struct import *im, const struct entry *e, const char *svc)
{
	struct entry	*prev = im->n > 0 ? &im->v[im->n - 1] : NULL;
	struct entry	*ne;

	if (im->n == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 1024;
		im->v = xreallocarray(im->v, im->cap, sizeof(*im->v));
		prev = im->n > 0 ? &im->v[im->n - 1] : NULL;
	}
	ne = &im->v[im->n++];
	*ne = *e;
	if (prev != NULL && prev->len == e->len &&
	    memcmp(prev->svc, svc, e->len) == 0) {
		ne->svc = prev->svc;
		ne->owns_svc = 0;
	} else {
		ne->svc = xstrndup(svc, e->len);
		ne->owns_svc = 1;
	}
}

/* Service, service-only lines first, key, start, end, line. */
static int
entry_cmp(const void *pa, const void *pb)
{
	const struct entry	*a = pa, *b = pb;
	int			 c;

	if ((c = strcmp(a->svc, b->svc)) != 0)
		return (c);
	if (a->svc_only != b->svc_only)
		return (a->svc_only ? -1 : 1);
	if ((c = memcmp(a->md5, b->md5, sizeof(a->md5))) != 0)
		return (c);
	if (a->start != b->start)
		return (a->start < b->start ? -1 : 1);
	if (a->end != b->end)
		return (a->end < b->end ? -1 : 1);
	return (a->line < b->line ? -1 : a->line > b->line);
}

static int
err_cmp(const void *pa, const void *pb)
{
	const struct import_err	*a = pa, *b = pb;

	return (a->line < b->line ? -1 : a->line > b->line);
}

/* Phase 1: every line parsed and kept or reported. 0, or -1 (I/O). */
static int
import_read(struct import *im, FILE *in)
{
	struct entry	 e;
	char		 buf[IMPORT_LINE_MAX + 1], err[256];
	const char	*p;
	size_t		 len;
	uint32_t	 line = 0;
	int		 too_long, has_nul, r;

	while ((r = read_line(in, buf, IMPORT_LINE_MAX, &len, &too_long,
	    &has_nul)) == 1) {
		line++;
		if (too_long) {
			import_error(im, line, "line longer than %d bytes",
			    IMPORT_LINE_MAX);
			continue;
		}
		if (has_nul) {
			import_error(im, line, "NUL byte in the line");
			continue;
		}
		for (p = buf; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (im->n == IMPORT_MAX_ENTRIES) {
			import_error(im, line, "more than %d tuples in one "
			    "file; split it", IMPORT_MAX_ENTRIES);
			return (0);
		}
		if (parse_tuple(buf, len, &e, &p, err, sizeof(err)) == -1) {
			import_error(im, line, "%s", err);
			continue;
		}
		e.line = line;
		entry_add(im, &e, p);
	}
	if (r == -1) {
		if (check_interrupt() == 0)
			fprintf(stderr, "notaryctl: read %s: %s\n", im->name,
			    strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Phase 2, within the file: spans of one key must not overlap (the same
 * span twice is only counted), a service may not exceed OBS_MAX_SPANS;
 * note each service's first sighting for services.db.
 */
static void
import_check_file(struct import *im)
{
	struct entry	*e, *g, *last;
	size_t		 i, j, spans;
	int64_t		 first;

	if (im->n == 0)
		return;
	qsort(im->v, im->n, sizeof(*im->v), entry_cmp);
	for (i = 0; i < im->n; i = j) {
		g = &im->v[i];
		first = -1;
		spans = 0;
		last = NULL;
		for (j = i; j < im->n && strcmp(im->v[j].svc, g->svc) == 0;
		    j++) {
			e = &im->v[j];
			if (e->svc_only)
				continue;
			if (first == -1 || e->start < first)
				first = e->start;
			if (last != NULL && memcmp(last->md5, e->md5,
			    sizeof(e->md5)) == 0 && e->start <= last->end) {
				if (e->start == last->start &&
				    e->end == last->end) {
					e->state = ENTRY_PRESENT;
					im->present++;
					continue;
				}
				import_error(im, e->line, "overlaps the span "
				    "on line %u (same service and key)",
				    last->line);
				if (e->end <= last->end)
					continue;
			}
			last = e;
			if (++spans == OBS_MAX_SPANS + 1)
				import_error(im, e->line, "%s has more than %d "
				    "spans", e->svc, OBS_MAX_SPANS);
		}
		if (first == -1)
			first = wall_s();
		for (; i < j; i++)
			im->v[i].first_seen = first;
		im->services++;
	}
}

/*
 * Phase 3, against what is stored: the same span again is skipped; an
 * overlap, or too many spans in all, is an error of the line.  0, or -1
 * when the database cannot be read.
 */
static int
import_check_stored(struct import *im, struct obs_db *o)
{
	struct obs_span	*st;
	struct entry	*e;
	size_t		 i, j, k, n, added;
	int		 r = 0;

	st = xreallocarray(NULL, OBS_MAX_SPANS + 1, sizeof(*st));
	for (i = 0; i < im->n && r == 0; i = j) {
		if ((r = check_interrupt()) == -1)
			break;
		if (obs_read(o, im->v[i].svc, im->v[i].len, st,
		    OBS_MAX_SPANS + 1, &n) == -1) {
			r = -1;
			break;
		}
		added = 0;
		for (j = i; j < im->n && strcmp(im->v[j].svc,
		    im->v[i].svc) == 0; j++) {
			e = &im->v[j];
			if (e->svc_only || e->state == ENTRY_PRESENT)
				continue;
			for (k = 0; k < n; k++) {
				if (memcmp(st[k].md5, e->md5,
				    sizeof(e->md5)) != 0 ||
				    st[k].start > e->end ||
				    e->start > st[k].end)
					continue;
				if (st[k].start == e->start &&
				    st[k].end == e->end) {
					e->state = ENTRY_PRESENT;
					im->present++;
				} else
					import_error(im, e->line, "overlaps "
					    "the stored span %lld..%lld of "
					    "the same key",
					    (long long)st[k].start,
					    (long long)st[k].end);
				break;
			}
			if (k == n && ++added + n == OBS_MAX_SPANS + 1)
				import_error(im, e->line, "%s would have more "
				    "than %d spans with the stored ones",
				    e->svc, OBS_MAX_SPANS);
		}
	}
	free(st);
	return (r);
}

static int
batch_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct batch	*b = arg;
	struct entry	*e;
	struct obs_span	 sp;
	size_t		 i;
	int		 r;

	(void)env;
	b->inserted = b->present = 0;
	for (i = b->from; i < b->to; i++) {
		e = &b->im->v[i];
		b->failed = i;
		if (i == b->from || strcmp(e->svc, b->im->v[i - 1].svc) != 0) {
			if ((r = obs_register_service(b->o, txn, e->svc,
			    e->len, e->first_seen)) != 0)
				return (r);
		}
		if (e->svc_only || e->state == ENTRY_PRESENT)
			continue;
		memset(&sp, 0, sizeof(sp));
		memcpy(sp.md5, e->md5, sizeof(sp.md5));
		sp.start = e->start;
		sp.end = e->end;
		r = obs_insert_span(b->o, txn, e->svc, e->len, &sp);
		if (r == DB_KEYEXIST) {
			b->present++;
			continue;
		}
		if (r != 0)
			return (r);
		b->inserted++;
	}
	return (0);
}

/*
 * Phase 4: IMPORT_BATCH entries per transaction.  Only a write that
 * raced with a scanner (or a database error) can fail now; the batches
 * before it stay, and the message says how far it got.
 */
static int
import_write(struct import *im, struct ctl *c, size_t *inserted)
{
	struct batch	b;
	int		r;

	memset(&b, 0, sizeof(b));
	b.o = &c->obs;
	b.im = im;
	*inserted = 0;
	for (b.from = 0; b.from < im->n; b.from = b.to) {
		if (check_interrupt() == -1)
			goto partial;
		b.to = b.from + IMPORT_BATCH < im->n ? b.from + IMPORT_BATCH :
		    im->n;
		if ((r = db_txn_run(c->env, batch_txn, &b, NULL)) != 0) {
			if (r == EEXIST)
				fprintf(stderr, "notaryctl: %s:%u: overlaps a "
				    "span stored meanwhile\n", im->name,
				    im->v[b.failed].line);
			else
				fprintf(stderr, "notaryctl: %s:%u: %s\n",
				    im->name, im->v[b.failed].line,
				    db_strerror(r));
			goto partial;
		}
		*inserted += b.inserted;
		im->present += b.present;
	}
	return (0);
partial:
	fprintf(stderr, "notaryctl: import stopped; %zu spans were imported "
	    "before it\n", *inserted);
	return (-1);
}

static void
import_free(struct import *im)
{
	size_t	i;

	for (i = 0; i < im->n; i++)
		if (im->v[i].owns_svc)
			free(im->v[i].svc);
	for (i = 0; i < im->nerr; i++)
		free(im->err[i].msg);
	free(im->v);
	free(im->err);
}

/*
 * Read and check the whole file first; report every bad line and import
 * nothing when there is one; otherwise write it in batches.
 */
static int
cmd_import(struct ctl *c, int argc, char **argv)
{
	struct import	 im;
	const char	*path = argc > 1 ? argv[1] : "-";
	size_t		 i, inserted;
	FILE		*in;
	int		 r = EXIT_RUNTIME;

	if (argc > 2) {
		fprintf(stderr, "notaryctl: import: expected at most one "
		    "FILE\n");
		return (EXIT_USAGE);
	}
	memset(&im, 0, sizeof(im));
	im.name = strcmp(path, "-") == 0 ? "stdin" : path;
	if (strcmp(path, "-") == 0)
		in = stdin;
	else if ((in = fopen(path, "r")) == NULL) {
		fprintf(stderr, "notaryctl: %s: %s\n", path, strerror(errno));
		return (EXIT_RUNTIME);
	}
	if (import_read(&im, in) == -1)
		goto done;
	import_check_file(&im);
	if (im.nerr == 0) {
		if (ctl_open(c) == -1)
			goto done;
		if (import_check_stored(&im, &c->obs) == -1)
			goto done;
	}
	if (im.nerr > 0) {
		qsort(im.err, im.nerr, sizeof(*im.err), err_cmp);
		for (i = 0; i < im.nerr; i++)
			fprintf(stderr, "notaryctl: %s:%u: %s\n", im.name,
			    im.err[i].line, im.err[i].msg);
		fprintf(stderr, "notaryctl: %s: %zu invalid line%s, nothing "
		    "imported\n", im.name, im.nerr, im.nerr == 1 ? "" : "s");
		goto done;
	}
	if (import_write(&im, c, &inserted) == -1)
		goto done;
	schedule_rescans(c, &im);
	printf("imported %zu spans for %zu services", inserted,
	    im.services);
	if (im.present > 0)
		printf(" (%zu already present)", im.present);
	printf("\n");
	r = out_error(stdout, "stdout") == 0 ? EXIT_OK : EXIT_RUNTIME;
done:
	if (in != stdin)
		fclose(in);
	ctl_close(c);
	import_free(&im);
	return (r);
}

/* ---- show --------------------------------------------------------------- */

/* History order: by start, then key. */
static int
span_start_cmp(const void *pa, const void *pb)
{
	const struct obs_span	*a = pa, *b = pb;

	if (a->start != b->start)
		return (a->start < b->start ? -1 : 1);
	return (memcmp(a->md5, b->md5, sizeof(a->md5)));
}

/* SHA-1 (from the stored DER) and SHA-256 as colon-hex, or "-". */
static void
show_digests(struct obs_db *o, const struct obs_span *sp, char *sha1,
    char *sha256)
{
	static const uint8_t	 zero[32];
	uint8_t			*der, md[EVP_MAX_MD_SIZE];
	size_t			 derlen;
	unsigned		 mdlen;

	(void)snprintf(sha1, SHA1_HEX_LEN, "-");
	(void)snprintf(sha256, SHA256_HEX_LEN, "-");
	if (memcmp(sp->sha256, zero, sizeof(zero)) == 0)
		return;
	obs_hex_colon(sp->sha256, sizeof(sp->sha256), sha256);
	der = xmalloc(OBS_DER_MAX);
	if (obs_cert_get(o, sp->sha256, der, OBS_DER_MAX, &derlen) == 0 &&
	    EVP_Digest(der, derlen, md, &mdlen, EVP_sha1(), NULL) == 1 &&
	    mdlen == 20)
		obs_hex_colon(md, 20, sha1);
	free(der);
}

static int
cmd_show(struct ctl *c, int argc, char **argv)
{
	struct obs_service	 st;
	struct obs_span		*v;
	const char		*svc;
	char			 why[128], s[ISO_LEN], e[ISO_LEN];
	char			 md5[MD5_HEX_LEN], sha1[SHA1_HEX_LEN];
	char			 sha256[SHA256_HEX_LEN];
	size_t			 i, n;
	int			 known, r = EXIT_RUNTIME;

	if (argc != 2) {
		fprintf(stderr, "notaryctl: show: expected one SERVICE\n");
		return (EXIT_USAGE);
	}
	svc = argv[1];
	if (svcid_parse(svc, strlen(svc), NULL, why, sizeof(why)) == -1) {
		fprintf(stderr, "notaryctl: show: bad service id \"%s\": %s\n",
		    svc, why);
		return (EXIT_USAGE);
	}
	if (ctl_open(c) == -1)
		return (EXIT_RUNTIME);
	v = xreallocarray(NULL, SHOW_MAX_SPANS, sizeof(*v));
	if (obs_read(&c->obs, svc, strlen(svc), v, SHOW_MAX_SPANS, &n) == -1 ||
	    (known = obs_service_get(&c->obs, svc, strlen(svc), &st)) == -1)
		goto done;
	if (n == 0 && known == 1) {
		fprintf(stderr, "notaryctl: show: %s: unknown service\n", svc);
		goto done;
	}
	printf("service     %s\n", svc);
	if (known == 0) {
		iso_time(st.first_seen, s, sizeof(s));
		printf("first seen  %s\n", s);
		iso_time(st.last_probe, s, sizeof(s));
		printf("last probe  %s\n", st.last_probe ? s : "never");
		iso_time(st.last_ok, s, sizeof(s));
		printf("last ok     %s\n", st.last_ok ? s : "never");
		if (st.last_probe != 0)
			printf("failures    %u in a row (last result: %s)\n",
			    st.fails, probe_result_name(st.last_result));
	} else
		printf("probe state none\n");
	printf("spans       %zu%s\n\n", n, n == SHOW_MAX_SPANS ?
	    " (more not shown)" : "");
	qsort(v, n, sizeof(*v), span_start_cmp);
	printf("%-20s  %-20s  %-47s  %-59s  %s\n", "START", "END", "MD5",
	    "SHA1", "SHA256");
	for (i = 0; i < n; i++) {
		iso_time(v[i].start, s, sizeof(s));
		iso_time(v[i].end, e, sizeof(e));
		obs_hex_colon(v[i].md5, sizeof(v[i].md5), md5);
		show_digests(&c->obs, &v[i], sha1, sha256);
		printf("%-20s  %-20s  %-47s  %-59s  %s\n", s, e, md5, sha1,
		    sha256);
	}
	r = out_error(stdout, "stdout") == 0 ? EXIT_OK : EXIT_RUNTIME;
done:
	free(v);
	ctl_close(c);
	return (r);
}

/* ---- main ------------------------------------------------------------ */

int
main(int argc, char *argv[])
{
	static struct conf_override ov[MAX_OVERRIDES];
	const struct command	*cmd = NULL;
	struct ctl		 c;
	const char		*path = NULL;
	char			 err[CONF_ERR_MAX];
	size_t			 nov = 0, i;
	int			 ch, r;

	log_init("notaryctl");
	/* '+': stop at the command, its options are its own */
	while ((ch = getopt(argc, argv, "+c:ho:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return (EXIT_OK);
		case 'o':
			if (conf_add_override("notaryctl", ov, &nov,
			    MAX_OVERRIDES, optarg) == -1)
				return (EXIT_USAGE);
			break;
		default:
			usage(stderr);
			return (EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return (EXIT_USAGE);
	}
	for (i = 0; i < NELEM(commands); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "notaryctl: unknown command \"%s\"\n", argv[0]);
		usage(stderr);
		return (EXIT_USAGE);
	}
	if (path == NULL && access(conf_default_path(), F_OK) == 0)
		path = conf_default_path();
	memset(&c, 0, sizeof(c));
	if ((c.cf = conf_load(path, ov, nov, err, sizeof(err))) == NULL) {
		conf_print_errors("notaryctl", err);
		return (EXIT_USAGE);
	}
	/* A tool: warnings and errors on stderr, whatever the daemon logs. */
	if (log_configure(LOG_LEVEL_WARNING, "stderr", err, sizeof(err)) == -1)
		fprintf(stderr, "notaryctl: %s\n", err);
	catch_signals();
	r = cmd->run(&c, argc, argv);
	conf_free(c.cf);
	return (r);
}

/* ---- rescans of imported services ----------------------------------- */

static uint64_t
fnv1a(const char *s, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (h);
}

/*
 * Put every imported service seen within scanner.rescan_newer_than into
 * the scanners' queue, spread evenly over one rescan_interval (by a hash
 * of its id) instead of all at once.  A failure here loses no data: the
 * spans are in; the service is then scanned when a client asks for it.
 */
static void
schedule_rescans(struct ctl *c, struct import *im)
{
	const struct conf	*cf = c->cf;
	struct sched_db		 sd;
	int64_t			 now = wall_s(), newest = -1;
	size_t			 i, queued = 0;

	if (cf->scanner.rescan_interval_ms <= 0 || im->n == 0 ||
	    sched_open(&sd, c->env) == -1)
		return;
	for (i = 0; i < im->n; i++) {
		const struct entry *e = &im->v[i];

		if (!e->svc_only && e->end > newest)
			newest = e->end;
		if (i + 1 < im->n && im->v[i + 1].len == e->len &&
		    memcmp(im->v[i + 1].svc, e->svc, e->len) == 0)
			continue;	/* not the last entry of this service */
		if (newest >= 0 && (now - newest) * 1000 <=
		    cf->scanner.rescan_newer_than_ms &&
		    sched_offer(&sd, e->svc, e->len, now * 1000 +
		    (int64_t)(fnv1a(e->svc, e->len) %
		    (uint64_t)cf->scanner.rescan_interval_ms)) == 0)
			queued++;
		newest = -1;
	}
	sched_close(&sd);
	if (queued > 0)
		printf("queued %zu services for rescans\n", queued);
}

/* ---- scan --------------------------------------------------------------- */

struct scan_run {
	struct ctl		*c;
	struct sched_db		 sd;
	struct outcome_sink	 sink;
	size_t			 counts[PROBE_NRESULTS];
	size_t			 done;
};

static void
scan_done(void *arg, const char *svc, size_t len,
    const struct probe_outcome *out)
{
	struct scan_run		*run = arg;
	struct outcome		 o = { out->result, &out->fp, out->der,
				    out->derlen, 1 };

	run->done++;
	if ((unsigned)out->result < PROBE_NRESULTS)
		run->counts[out->result]++;
	if (out->result != PROBE_OK)
		fprintf(stderr, "notaryctl: %.*s: %s: %s\n", (int)len, svc,
		    probe_result_name(out->result), out->detail);
	if (outcome_record(&run->sink, svc, len, &o, wall_s(), NULL) == -1)
		fprintf(stderr, "notaryctl: %.*s: not recorded\n", (int)len,
		    svc);
}

/* Read the ids to scan: one per line; '#' comments and blank lines skipped. */
static int
scan_read(FILE *in, const char *name, struct names *ids, size_t *bad)
{
	char		 line[IMPORT_LINE_MAX + 2], err[128], *p;
	struct svcid	 t;
	size_t		 len;
	unsigned	 lineno = 0;
	int		 c;

	while (fgets(line, sizeof(line), in) != NULL) {
		lineno++;
		len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(in)) {
			/* Longer than any id: report once, skip the rest. */
			while ((c = getc(in)) != EOF && c != '\n')
				;
			fprintf(stderr, "notaryctl: %s:%u: line too long\n",
			    name, lineno);
			(*bad)++;
			continue;
		}
		while (len > 0 && (line[len - 1] == ' ' ||
		    line[len - 1] == '\t'))
			len--;
		line[len] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		len -= (size_t)(p - line);
		if (len == 0 || *p == '#')
			continue;
		memset(&t, 0, sizeof(t));
		if (svcid_parse(p, len, &t, err, sizeof(err)) == -1) {
			fprintf(stderr, "notaryctl: %s:%u: %s\n", name, lineno,
			    err);
			(*bad)++;
			continue;
		}
		if (t.type != 2) {
			fprintf(stderr, "notaryctl: %s:%u: only type 2 (ssl) "
			    "services can be scanned\n", name, lineno);
			(*bad)++;
			continue;
		}
		names_add(ids, p, len, -1);
	}
	return (ferror(in) ? -1 : 0);
}

static int
strp_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * Probe the listed services now with the configured scanner settings,
 * record what they present, and print a summary per result class (the
 * Perspectives cron pipeline: notaryctl list-services | notaryctl scan -).
 */
static int
cmd_scan(struct ctl *c, int argc, char **argv)
{
	const struct conf	*cf = c->cf;
	const char		*path = argc > 1 ? argv[1] : "-";
	struct probe_opts	 po;
	struct probe_engine	*pe = NULL;
	struct scan_run		 run;
	struct names		 ids;
	struct pollfd		 pfd;
	char			 err[160];
	size_t			 bad = 0, next = 0, i, uniq = 0;
	int			 r = EXIT_RUNTIME;
	FILE			*in;

	if (argc > 2) {
		fprintf(stderr, "notaryctl: scan: expected at most one FILE\n");
		return (EXIT_USAGE);
	}
	memset(&ids, 0, sizeof(ids));
	memset(&run, 0, sizeof(run));
	run.c = c;
	if (strcmp(path, "-") == 0)
		in = stdin;
	else if ((in = fopen(path, "r")) == NULL) {
		fprintf(stderr, "notaryctl: %s: %s\n", path, strerror(errno));
		return (EXIT_RUNTIME);
	}
	/* Read everything first: a pipe from list-services never waits. */
	if (scan_read(in, in == stdin ? "stdin" : path, &ids, &bad) == -1)
		goto done;
	if (ids.n > 1)
		qsort(ids.v, ids.n, sizeof(*ids.v), strp_cmp);
	for (i = 0; i < ids.n; i++)
		if (uniq == 0 || strcmp(ids.v[uniq - 1], ids.v[i]) != 0)
			ids.v[uniq++] = ids.v[i];
		else
			free(ids.v[i]);
	ids.n = uniq;
	if (ctl_open(c) == -1 || sched_open(&run.sd, c->env) == -1)
		goto done;
	run.sink.obs = &c->obs;
	run.sink.sched = &run.sd;
	run.sink.rescan_interval_ms = cf->scanner.rescan_interval_ms;
	run.sink.rescan_newer_than_ms = cf->scanner.rescan_newer_than_ms;
	run.sink.spans = xcalloc(OBS_MAX_SPANS, sizeof(*run.sink.spans));
	memset(&po, 0, sizeof(po));
	po.concurrency = cf->scanner.concurrency;
	po.timeout_ms = cf->scanner.timeout_ms;
	po.sni = cf->scanner.sni;
	po.deny = &cf->scanner.deny;
	po.allow = &cf->scanner.allow;
	if ((pe = probe_engine_new(&po)) == NULL)
		goto done;
	while ((next < ids.n || probe_inflight(pe) > 0) &&
	    check_interrupt() == 0) {
		while (next < ids.n && probe_inflight(pe) <
		    (size_t)po.concurrency) {
			if (probe_submit(pe, ids.v[next], strlen(ids.v[next]),
			    scan_done, &run, err, sizeof(err)) == -1) {
				if (errno == EAGAIN)
					break;
				fprintf(stderr, "notaryctl: %s: %s\n",
				    ids.v[next], err);
				bad++;
			}
			next++;
		}
		pfd.fd = probe_engine_fd(pe);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, probe_engine_timeout(pe)) == -1 &&
		    errno != EINTR)
			break;
		probe_engine_process(pe);
	}
	printf("scanned %zu services", run.done);
	for (i = 0; i < PROBE_NRESULTS; i++)
		if (run.counts[i] > 0)
			printf(", %s %zu", probe_result_name((enum probe_result)i),
			    run.counts[i]);
	if (bad > 0)
		printf(", invalid %zu", bad);
	printf("\n");
	r = out_error(stdout, "stdout") == 0 && check_interrupt() == 0 ?
	    EXIT_OK : EXIT_RUNTIME;
done:
	if (pe != NULL)
		probe_engine_free(pe);
	if (run.sd.sched != NULL)
		sched_close(&run.sd);
	if (in != stdin)
		fclose(in);
	ctl_close(c);
	free(run.sink.spans);
	names_free(&ids);
	return (r);
}

/* ---- keygen ----------------------------------------------------------- */

/* mkdir -p the directory of a key file (0700), owned by pw when given. */
static int
make_key_dir(const char *path, const struct passwd *pw)
{
	char	*dir = xstrdup(path), *p;
	int	 r = 0;

	if ((p = strrchr(dir, '/')) != NULL && p != dir) {
		*p = '\0';
		for (p = dir + 1; r == 0; p++) {
			if (*p != '/' && *p != '\0')
				continue;
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0700) == 0) {
				if (pw != NULL && chown(dir, pw->pw_uid,
				    pw->pw_gid) == -1)
					r = -1;
			} else if (errno != EEXIST) {
				r = -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	if (r == -1)
		fprintf(stderr, "notaryctl: cannot create %s: %s\n", dir,
		    strerror(errno));
	free(dir);
	return (r);
}

/*
 * Create the notary key pair if missing (1369-bit RSA, private key 0600,
 * owned by daemon.user when run as root) and print the public key.
 */
static int
cmd_keygen(struct ctl *c, int argc, char **argv)
{
	const struct conf	*cf = c->cf;
	struct passwd		*pw = NULL;
	EVP_PKEY		*key = NULL;
	char			 err[512], *pem = NULL;
	int			 st;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "notaryctl: keygen takes no arguments\n");
		return (EXIT_USAGE);
	}
	if (geteuid() == 0 && cf->daemon.user[0] != '\0' &&
	    (pw = getpwnam(cf->daemon.user)) == NULL) {
		fprintf(stderr, "notaryctl: daemon.user: no such user %s\n",
		    cf->daemon.user);
		return (EXIT_USAGE);
	}
	if (make_key_dir(cf->keys.private_key, pw) == -1 ||
	    make_key_dir(cf->keys.public_key, pw) == -1)
		return (EXIT_RUNTIME);
	st = keys_ensure(cf->keys.private_key, cf->keys.public_key,
	    pw ? pw->pw_uid : (uid_t)-1, pw ? pw->pw_gid : (gid_t)-1, err,
	    sizeof(err));
	if (st == -1 || keys_load(cf->keys.private_key, cf->keys.public_key,
	    &key, &pem, err, sizeof(err)) == -1) {
		fprintf(stderr, "notaryctl: %s\n", err);
		return (EXIT_RUNTIME);
	}
	if (st == KEYS_CREATED)
		fprintf(stderr, "notaryctl: created %s and %s\n",
		    cf->keys.private_key, cf->keys.public_key);
	fputs(pem, stdout);
	free(pem);
	EVP_PKEY_free(key);
	return (out_error(stdout, "stdout") == 0 ? EXIT_OK : EXIT_RUNTIME);
}
