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

#include "common/conf.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/xmalloc.h"
#include "ctwatch/ctwatch.h"
#include "ctwatch/testfeed.h"
#include "store/session.h"

#define CTWATCH_CHECKPOINT_MS	60000

struct ctwatch {
	DB_ENV	*env;
	DB	*ct;
};

static void
ctwatch_checkpoint(void *arg)
{
	struct ctwatch	*w = arg;
	int		 r;

	if ((r = db_checkpoint(w->env)) != 0)
		log_warnx("checkpoint failed: %s", db_strerror(r));
}

static void *
ctwatch_open(struct proc_ctx *ctx, int *code)
{
	struct ctwatch	*w = xcalloc(1, sizeof(*w));

	*code = PROC_EXIT_FAIL;
	if (store_env_open(ctx->cf, &w->env) == -1) {
		free(w);
		return (NULL);
	}
	if (db_table_open(w->env, &w->ct, DB_TABLE_CT, 0) != 0) {
		db_env_close(w->env);
		free(w);
		return (NULL);
	}
	return (w);
}

static int
ctwatch_run(void *state, struct proc_ctx *ctx, int sfd)
{
	struct proc_loop	loop = { CTWATCH_CHECKPOINT_MS,
				    ctwatch_checkpoint, state };

	if (testfeed_path() != NULL)	/* test hook, off by default */
		return (testfeed_run(ctx, sfd, testfeed_path()));
	return (proc_run_loop(ctx, sfd, &loop));
}

/* A final checkpoint keeps the next recovery short. */
static void
ctwatch_close(void *state)
{
	struct ctwatch	*w = state;

	ctwatch_checkpoint(w);
	w->ct->close(w->ct, 0);
	db_env_close(w->env);
	free(w);
}

const struct role_ops ctwatch_role = {
	ctwatch_open, ctwatch_run, ctwatch_close, 0
};
