/*
 * recover.c - the recovery helper: a short-lived child of the master that
 * runs Berkeley DB recovery (DB_RECOVER) on the environment while no other
 * process has it open, creates any missing table, checkpoints and exits 0.
 *
 * The master forks it at start-up and after any crash of a database user,
 * kills it if it takes too long, and exits 1 if it fails: a database that
 * cannot be recovered needs an operator.
 */
#include <stddef.h>

#include "common/proc.h"
#include "server/recover.h"
#include "store/session.h"

/* Nothing to set up: the state is the context itself. */
static void *
recover_open(struct proc_ctx *ctx, int *code)
{
	(void)code;
	return (ctx);
}

static int
recover_run(void *state, struct proc_ctx *ctx, int sfd)
{
	(void)state;
	(void)sfd;
	return (
	    store_env_recover(ctx->cf) == 0 ? PROC_EXIT_OK : PROC_EXIT_FAIL);
}

const struct role_ops recover_role = { recover_open, recover_run, NULL, 1 };
