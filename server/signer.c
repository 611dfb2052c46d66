/*
 * signer.c - the signer process: the only process that will hold the
 * notary's private keys.  It reads the observation tables (read-only
 * handles, so a stray write fails with EACCES), and will build and sign
 * replies for the HTTP workers' cache misses (the Perspectives issue adds
 * keys, the worker channel and the reply builder).
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
#include "signer.h"

struct signer {
	DB_ENV	*env;
	DB	*services;
	DB	*spans;
};

static int
signer_open(struct signer *s, const struct conf *cf)
{
	struct db_env_opts	o;
	char			*home = proc_db_home(cf);
	int			 r;

	o.home = home;
	o.cache_bytes = cf->database.cache_size;
	o.recover = 0;
	r = db_env_open(&s->env, &o);
	free(home);
	if (r != 0)
		return (-1);
	if (db_table_open(s->env, &s->services, DB_TABLE_SERVICES, 1) != 0 ||
	    db_table_open(s->env, &s->spans, DB_TABLE_SPANS, 1) != 0)
		return (-1);
	return (0);
}

static void
signer_close(struct signer *s)
{
	if (s->spans != NULL)
		s->spans->close(s->spans, 0);
	if (s->services != NULL)
		s->services->close(s->services, 0);
	if (s->env != NULL)
		db_env_close(s->env);
}

void
signer_main(struct proc_ctx *ctx)
{
	struct signer		s = { NULL, NULL, NULL };
	struct proc_loop	loop = { 1000, NULL, NULL };
	int			sfd, gone;

	if ((sfd = proc_signalfd()) == -1)
		_exit(1);
	if (signer_open(&s, ctx->cf) == -1) {
		log_warnx("cannot open the database; exiting");
		_exit(1);
	}
	if (proc_report_ready(ctx) == -1)
		_exit(1);
	log_debug("signer ready");
	gone = proc_run_loop(ctx, sfd, &loop);
	signer_close(&s);
	_exit(gone ? 1 : 0);
}
