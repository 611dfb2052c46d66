/*
 * notaryctl.c - the operator's tool for a notaryd data_dir
 * (shared/spec/interface.md "notaryctl"): list the services, export and
 * import observations in the Perspectives dump format, show the history
 * of one service, scan, make the key pair, back up the environment.
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


#include "ctl/ctl.h"

static volatile sig_atomic_t interrupted;

static void usage(FILE *);
static void on_signal(int);
static void catch_signals(void);

struct command {
	const char *name;
	const char *args;
	int (*run)(struct ctl *, int, char **);
};

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
	{ "convergence-bundle",
	    "--host H [--ssl-port P] [--http-port P] "
	    "[--region CC] [--bundle-name N] [--bundle-location URL]",
	    cmd_convergence_bundle },
	{ "ct-positions", "[--set-latest]", cmd_ct_positions },
	{ "backup", "DIR", cmd_backup },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: notaryctl [-c FILE] [-o KEY=VALUE]... COMMAND "
	    "[ARGS]\n"
	    "  -c FILE       YAML config (default %s if it exists,\n"
	    "                else the built-in defaults)\n"
	    "  -o KEY=VALUE  override a config key\n"
	    "  -h            this help\n"
	    "commands:\n",
	    conf_default_path());
	for (i = 0; i < NELEM(commands); i++)
		fprintf(f, "  %s %s\n", commands[i].name, commands[i].args);
}

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
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
}

/* Has a signal asked us to stop? */
int
ctl_interrupted(void)
{
	return (interrupted != 0);
}

/* -1 (and a message) once a signal asked us to stop. */
int
ctl_check_interrupt(void)
{
	static int told;

	if (!interrupted)
		return (0);
	if (!told++)
		fprintf(stderr, "notaryctl: interrupted by signal %d\n",
		    (int)interrupted);
	return (-1);
}

int
ctl_open(struct ctl *c)
{
	char err[512];

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

void
ctl_close(struct ctl *c)
{
	if (c->obs_open)
		obs_close(&c->obs);
	c->obs_open = 0;
	if (c->env != NULL)
		db_env_close(c->env);
	c->env = NULL;
}

void
ctl_iso_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t    tt = (time_t)t;

	if (t < 0 || t > OBS_TIME_MAX || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, len, "%lld", (long long)t);
}

/* After writing: -1 (and a message, unless the reader went away). */
int
ctl_out_error(FILE *f, const char *what)
{
	if (fflush(f) == 0 && !ferror(f))
		return (0);
	if (errno != EPIPE)
		fprintf(
		    stderr, "notaryctl: write %s: %s\n", what, strerror(errno));
	return (-1);
}

void
ctl_names_add(struct names *nm, const char *s, size_t len, int64_t newest)
{
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? nm->cap * 2 : 256;
		nm->v = xreallocarray(nm->v, nm->cap, sizeof(*nm->v));
		nm->newest =
		    xreallocarray(nm->newest, nm->cap, sizeof(*nm->newest));
	}
	nm->v[nm->n] = xstrndup(s, len);
	nm->newest[nm->n] = newest;
	nm->n++;
}

void
ctl_names_free(struct names *nm)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	free(nm->newest);
	memset(nm, 0, sizeof(*nm));
}

int
main(int argc, char *argv[])
{
	static struct conf_override ov[MAX_OVERRIDES];
	const struct command       *cmd = NULL;
	struct ctl                  c;
	const char                 *path = NULL;
	char                        err[CONF_ERR_MAX];
	size_t                      nov = 0, i;
	int                         ch, r;

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
