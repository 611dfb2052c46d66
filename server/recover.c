/*
 * recover.c - the recovery helper: a short-lived child of the master that
 * runs Berkeley DB recovery (DB_RECOVER) on the environment while no other
 * process has it open, creates any missing table, checkpoints and exits 0.
 *
 * The master forks it at start-up and after any crash of a database user,
 * kills it if it takes too long, and exits 1 if it fails: a database that
 * cannot be recovered needs an operator.
 */
#include <stdlib.h>
#include <unistd.h>

#include "common/conf.h"
#include "store/dbenv.h"
#include "common/log.h"
#include "common/proc.h"
#include "server/recover.h"
#include "common/util.h"

void
recover_main(struct proc_ctx *ctx)
{
	struct db_env_opts	o;
	char			*home = proc_db_home(ctx->cf);
	int64_t			 t0 = mono_ms();
	int			 r;

	o.home = home;
	o.cache_bytes = ctx->cf->database.cache_size;
	o.recover = 1;
	r = db_recover(&o);
	if (r == 0)
		log_info("database recovery of %s done in %lld ms", home,
		    (long long)(mono_ms() - t0));
	free(home);
	_exit(r == 0 ? 0 : 1);
}
