/*
 * scanner.c - a scanner process: probes TLS services and records what
 * they present in the observation tables (the scanner issue adds the probe
 * engine, the schedule and the recording).  Several run at once; each is
 * a database writer.
 *
 * Runs as a database user: any DB_RUNRECOVERY ends it with exit 3 and the
 * master recovers the environment and restarts every database user.  It
 * exits 0 on TERM/QUIT, 1 when the master is gone or start-up fails.
 */
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "dbenv.h"
#include "log.h"
#include "proc.h"
#include "scanner.h"

struct scanner {
	DB_ENV	*env;
	DB	*services;
	DB	*spans;
	DB	*sched;
};

static int
scanner_open(struct scanner *sc, const struct conf *cf)
{
	struct db_env_opts	o;
	char			*home = proc_db_home(cf);
	int			 r;

	o.home = home;
	o.cache_bytes = cf->database.cache_size;
	o.recover = 0;
	r = db_env_open(&sc->env, &o);
	free(home);
	if (r != 0)
		return (-1);
	if (db_table_open(sc->env, &sc->services, DB_TABLE_SERVICES, 0) != 0 ||
	    db_table_open(sc->env, &sc->spans, DB_TABLE_SPANS, 0) != 0 ||
	    db_table_open(sc->env, &sc->sched, DB_TABLE_SCHED, 0) != 0)
		return (-1);
	return (0);
}

static void
scanner_close(struct scanner *sc)
{
	if (sc->sched != NULL)
		sc->sched->close(sc->sched, 0);
	if (sc->spans != NULL)
		sc->spans->close(sc->spans, 0);
	if (sc->services != NULL)
		sc->services->close(sc->services, 0);
	if (sc->env != NULL)
		db_env_close(sc->env);
}

/* ctwatch checkpoints; with ctwatch disabled scanner#0 does it. */
static void
scanner_checkpoint(void *arg)
{
	struct scanner	*sc = arg;
	int		 r;

	if ((r = db_checkpoint(sc->env)) != 0)
		log_warnx("checkpoint failed: %s", db_strerror(r));
}

void
scanner_main(struct proc_ctx *ctx)
{
	struct scanner		sc = { NULL, NULL, NULL, NULL };
	struct proc_loop	loop = { 1000, NULL, NULL };
	int			checkpoints = ctx->index == 0 &&
				    !ctx->cf->ctwatch.enabled;
	int			sfd, gone;

	if ((sfd = proc_signalfd()) == -1)
		_exit(1);
	if (scanner_open(&sc, ctx->cf) == -1) {
		log_warnx("cannot open the database; exiting");
		_exit(1);
	}
	if (proc_report_ready(ctx) == -1)
		_exit(1);
	if (checkpoints) {
		loop.tick_ms = 60000;
		loop.tick = scanner_checkpoint;
		loop.arg = &sc;
	}
	gone = proc_run_loop(ctx, sfd, &loop);
	if (checkpoints)
		scanner_checkpoint(&sc);
	scanner_close(&sc);
	_exit(gone ? 1 : 0);
}
