/*
 * natspub_role.c - the natspub process: one, when nats.enabled, that
 * publishes the CT stream ring to NATS JetStream (the engine is in
 * natspub.c).  It is a role of its own rather than part of ctwatch so
 * that ctwatch's loop stays what it is and a NATS outage cannot reach
 * ingest at all: this process only reads the ring.
 *
 * It holds no database handle and no key.  The loop polls the signalfd
 * and the master channel; the ring has no descriptor, so an idle loop
 * looks at it every NATSPUB_IDLE_MS.  Exits 0 on TERM/INT/QUIT (after
 * waiting up to 2 s for the acks of what is in flight), 1 when the
 * master is gone or start-up fails (the master respawns it with
 * back-off).
 */
#include <stddef.h>

#include "common/log.h"
#include "common/proc.h"
#include "nats/natspub.h"

#define NATSPUB_IDLE_MS      5
#define NATSPUB_STOP_WAIT_MS 2000

static void *
natspub_role_open(struct proc_ctx *ctx, int *code)
{
	struct natspub *np;

	*code = PROC_EXIT_FAIL;
	if (ctx->ring == NULL || ctx->status == NULL) {
		log_warnx("natspub: no stream ring");
		return (NULL);
	}
	np = natspub_open(ctx->cf, ctx->ring, ctx->status);
	return (np);
}

static int
natspub_role_step(void *state)
{
	return (natspub_step(state));
}

static int
natspub_role_run(void *state, struct proc_ctx *ctx, int sfd)
{
	return (proc_step_loop(
	    ctx, sfd, natspub_role_step, state, NATSPUB_IDLE_MS));
}

static void
natspub_role_close(void *state)
{
	natspub_close(state, NATSPUB_STOP_WAIT_MS);
}

const struct role_ops natspub_role = { natspub_role_open, natspub_role_run,
	natspub_role_close, 0 };
