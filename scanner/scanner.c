/*
 * scanner.c - a scanner process: takes probe jobs from the shared queue
 * (on-demand first, then due rescans), probes up to scanner.concurrency
 * services at once on one event loop (probe.c), records each result in
 * one transaction (obs.c), drops the service's cached replies so that no
 * client is served a reply older than the newest observation, and puts
 * the service back in the queue for its next rescan.
 *
 * Several scanners share the queue: a claimed job is leased, so each
 * service is probed by one process at a time and a job held by a killed
 * scanner comes back when its lease runs out.  No network I/O happens
 * inside a transaction.  Runs as a database user: DB_RUNRECOVERY ends it
 * with exit 3 and the master recovers the environment.  Exits 0 on
 * TERM/QUIT (in-flight probes are abandoned; their leases bring them
 * back), 1 when the master is gone or start-up fails.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cache.h"
#include "common/conf.h"
#include "store/dbenv.h"
#include "common/log.h"
#include "store/obs.h"
#include "scanner/probe.h"
#include "common/proc.h"
#include "scanner/scanner.h"
#include "store/schedule.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define CLAIM_EVERY_MS		250
#define LEASE_GRACE_MS		30000	/* beyond the probe timeout */
#define CHECKPOINT_EVERY_MS	60000
#define CLAIM_BATCH		64

struct scanner {
	struct proc_ctx		*ctx;
	const struct conf	*cf;
	DB_ENV			*env;
	struct obs_db		 obs;
	struct sched_db		 sched;
	struct probe_engine	*pe;
	size_t			 od_inflight;
	size_t			 od_max;
	int64_t			 next_claim;
	int64_t			 next_checkpoint;
	int			 checkpoints;	/* ctwatch disabled: we do it */
	struct obs_span		*spans;
};

struct job {
	struct scanner	*sc;
	int		 on_demand;
};

/* ---- after a probe ------------------------------------------------------ */

/* The newest sighting of the service (unix s), or -1 when never seen. */
static int64_t
newest_end(struct scanner *sc, const char *svc, size_t len)
{
	size_t	n, i;
	int64_t	end = -1;

	if (obs_read(&sc->obs, svc, len, sc->spans, OBS_MAX_SPANS, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++)
		if (sc->spans[i].end > end)
			end = sc->spans[i].end;
	return (end);
}

/*
 * Services seen within rescan_newer_than stay in the schedule, one
 * rescan_interval after this probe; the others leave it (an unknown
 * service that fails its on-demand probe is not retried forever).
 */
static void
reschedule(struct scanner *sc, const char *svc, size_t len, int ok)
{
	const struct conf	*cf = sc->cf;
	int64_t			 now = wall_s(), end;

	end = ok ? now : newest_end(sc, svc, len);
	if (cf->scanner.rescan_interval_ms > 0 && end >= 0 &&
	    (now - end) * 1000 <= cf->scanner.rescan_newer_than_ms)
		sched_set(&sc->sched, svc, len,
		    now * 1000 + cf->scanner.rescan_interval_ms);
	else
		sched_remove(&sc->sched, svc, len);
}

static void
probe_done(void *arg, const char *svc, size_t len,
    const struct probe_outcome *out)
{
	struct job		*job = arg;
	struct scanner		*sc = job->sc;
	enum obs_outcome	 what;
	int64_t			 now = wall_s();

	if (job->on_demand)
		sc->od_inflight--;
	if (out->result == PROBE_OK) {
		if (obs_record(&sc->obs, svc, len, &out->fp, out->der,
		    out->derlen, now, &what) == 0) {
			/* The cached replies no longer show the newest data. */
			cache_invalidate_service(sc->ctx->cache, svc, len,
			    mono_ms());
			if (what == OBS_CHANGED)
				log_info("%.*s presents a new key", (int)len,
				    svc);
		}
	} else {
		struct obs_service	st;

		log_debug("probe %.*s: %s (%s)", (int)len, svc,
		    probe_result_name(out->result), out->detail);
		/*
		 * Only services already known keep a failure record: an
		 * on-demand probe of a name nobody can reach must not leave
		 * a row behind, or clients could grow the database at will.
		 */
		if (obs_service_get(&sc->obs, svc, len, &st) == 0)
			obs_record_failure(&sc->obs, svc, len, out->result,
			    now);
	}
	reschedule(sc, svc, len, out->result == PROBE_OK);
	free(job);
}

/* ---- taking jobs -------------------------------------------------------- */

static void
submit_job(struct scanner *sc, const struct sched_job *j)
{
	struct job	*job = xcalloc(1, sizeof(*job));
	char		 err[160];

	job->sc = sc;
	job->on_demand = j->kind == SCHED_ON_DEMAND;
	if (probe_submit(sc->pe, j->id, j->len, probe_done, job, err,
	    sizeof(err)) == -1) {
		/* An id the engine refuses will never probe: forget it. */
		log_warnx("dropping %.*s from the queue: %s", (int)j->len,
		    j->id, err);
		sched_remove(&sc->sched, j->id, j->len);
		free(job);
		return;
	}
	if (job->on_demand)
		sc->od_inflight++;
}

static void
claim_jobs(struct scanner *sc)
{
	struct sched_job	jobs[CLAIM_BATCH];
	size_t			free_slots, od_slots, n, i;
	int64_t			now = wall_s() * 1000;

	free_slots = (size_t)sc->cf->scanner.concurrency -
	    probe_inflight(sc->pe);
	if (free_slots == 0)
		return;
	if (free_slots > CLAIM_BATCH)
		free_slots = CLAIM_BATCH;
	od_slots = sc->od_max > sc->od_inflight ?
	    sc->od_max - sc->od_inflight : 0;
	if (sched_claim(&sc->sched, now, sc->cf->scanner.timeout_ms +
	    LEASE_GRACE_MS, jobs, free_slots, od_slots, &n) == -1)
		return;
	for (i = 0; i < n; i++)
		submit_job(sc, &jobs[i]);
}

/* ---- process life -------------------------------------------------------- */

static int
scanner_open(struct scanner *sc)
{
	const struct conf	*cf = sc->cf;
	struct db_env_opts	 o;
	struct probe_opts	 po;
	char			*home = proc_db_home(cf);
	int			 r;

	o.home = home;
	o.cache_bytes = cf->database.cache_size;
	o.recover = 0;
	r = db_env_open(&sc->env, &o);
	free(home);
	if (r != 0)
		return (-1);
	if (obs_open(&sc->obs, sc->env, 0) == -1 ||
	    sched_open(&sc->sched, sc->env) == -1)
		return (-1);
	memset(&po, 0, sizeof(po));
	po.concurrency = cf->scanner.concurrency;
	po.timeout_ms = cf->scanner.timeout_ms;
	po.sni = cf->scanner.sni;
	po.deny = &cf->scanner.deny;
	po.allow = &cf->scanner.allow;
	if ((sc->pe = probe_engine_new(&po)) == NULL)
		return (-1);
	return (0);
}

static void
scanner_close(struct scanner *sc)
{
	if (sc->pe != NULL)
		probe_engine_free(sc->pe);
	sched_close(&sc->sched);
	obs_close(&sc->obs);
	if (sc->env != NULL)
		db_env_close(sc->env);
	free(sc->spans);
}

/* ctwatch checkpoints; with ctwatch disabled scanner#0 does it. */
static void
scanner_checkpoint(struct scanner *sc)
{
	int	r;

	if ((r = db_checkpoint(sc->env)) != 0)
		log_warnx("checkpoint failed: %s", db_strerror(r));
}

static int
loop_timeout(struct scanner *sc, int64_t now)
{
	int64_t	next = sc->next_claim;
	int	pt = probe_engine_timeout(sc->pe);

	if (sc->checkpoints && sc->next_checkpoint < next)
		next = sc->next_checkpoint;
	if (pt >= 0 && now + pt < next)
		next = now + pt;
	return (next > now ? (int)(next - now) : 0);
}

static int
scanner_loop(struct scanner *sc, int sfd)
{
	struct pollfd		pfd[3];
	int64_t			now;

	for (;;) {
		pfd[0].fd = sfd;
		pfd[1].fd = sc->ctx->chan;
		pfd[2].fd = probe_engine_fd(sc->pe);
		pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
		if (poll(pfd, 3, loop_timeout(sc, mono_ms())) == -1 &&
		    errno != EINTR)
			fatal("poll");
		switch (proc_poll_events(sc->ctx, sfd, pfd[0].revents,
		    pfd[1].revents)) {
		case PROC_GONE:
			return (1);
		case PROC_STOP:
			return (0);
		}
		probe_engine_process(sc->pe);
		now = mono_ms();
		if (now >= sc->next_claim) {
			claim_jobs(sc);
			sc->next_claim = now + CLAIM_EVERY_MS;
		}
		if (sc->checkpoints && now >= sc->next_checkpoint) {
			scanner_checkpoint(sc);
			sc->next_checkpoint = now + CHECKPOINT_EVERY_MS;
		}
	}
}

void
scanner_main(struct proc_ctx *ctx)
{
	struct scanner	sc;
	int		sfd, gone, procs;

	memset(&sc, 0, sizeof(sc));
	sc.ctx = ctx;
	sc.cf = ctx->cf;
	sc.spans = xcalloc(OBS_MAX_SPANS, sizeof(*sc.spans));
	sc.checkpoints = ctx->index == 0 && !ctx->cf->ctwatch.enabled;
	/* scanner.on_demand_limit is shared out among the processes. */
	procs = ctx->cf->scanner.processes;
	sc.od_max = (size_t)((ctx->cf->scanner.on_demand_limit + procs - 1) /
	    procs);
	if ((sfd = proc_signalfd()) == -1)
		_exit(1);
	if (scanner_open(&sc) == -1) {
		log_warnx("cannot start the scanner; exiting");
		_exit(1);
	}
	if (proc_report_ready(ctx) == -1)
		_exit(1);
	sc.next_claim = mono_ms();
	sc.next_checkpoint = mono_ms() + CHECKPOINT_EVERY_MS;
	gone = scanner_loop(&sc, sfd);
	if (sc.checkpoints)
		scanner_checkpoint(&sc);
	scanner_close(&sc);
	_exit(gone ? 1 : 0);
}
