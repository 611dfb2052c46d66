/*
 * ctwatch.c - the CT-log watcher: exactly one process that follows the
 * Certificate Transparency logs and publishes prepared stream frames into
 * the shared ring (the CT-stream issue adds the log clients and parsers).
 * It is also the process that checkpoints the Berkeley DB environment:
 * every 60 s and when it stops, so that recovery stays short.
 *
 * Runs as a database user: any DB_RUNRECOVERY ends it with exit 3 and the
 * master recovers the environment and restarts every database user.  It
 * exits 0 on TERM/QUIT, 1 when the master is gone or start-up fails.
 */
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "ctwatch.h"
#include "dbenv.h"
#include "log.h"
#include "proc.h"
#include "testfeed.h"

#define CTWATCH_CHECKPOINT_MS	60000

struct ctwatch {
	DB_ENV	*env;
	DB	*ct;
};

static int
ctwatch_open(struct ctwatch *w, const struct conf *cf)
{
	struct db_env_opts	o;
	char			*home = proc_db_home(cf);
	int			 r;

	o.home = home;
	o.cache_bytes = cf->database.cache_size;
	o.recover = 0;
	r = db_env_open(&w->env, &o);
	free(home);
	if (r != 0)
		return (-1);
	if (db_table_open(w->env, &w->ct, DB_TABLE_CT, 0) != 0)
		return (-1);
	return (0);
}

static void
ctwatch_checkpoint(void *arg)
{
	struct ctwatch	*w = arg;
	int		 r;

	if ((r = db_checkpoint(w->env)) != 0)
		log_warnx("checkpoint failed: %s", db_strerror(r));
}

void
ctwatch_main(struct proc_ctx *ctx)
{
	struct ctwatch		w = { NULL, NULL };
	struct proc_loop	loop = { CTWATCH_CHECKPOINT_MS,
				    ctwatch_checkpoint, &w };
	int			sfd, gone;

	if ((sfd = proc_signalfd()) == -1)
		_exit(1);
	if (ctwatch_open(&w, ctx->cf) == -1) {
		log_warnx("cannot open the database; exiting");
		_exit(1);
	}
	if (proc_report_ready(ctx) == -1)
		_exit(1);
	if (testfeed_path() != NULL)	/* test hook, off by default */
		gone = testfeed_run(ctx, sfd, testfeed_path());
	else
		gone = proc_run_loop(ctx, sfd, &loop);
	ctwatch_checkpoint(&w);
	w.ct->close(w.ct, 0);
	db_env_close(w.env);
	_exit(gone ? 1 : 0);
}
