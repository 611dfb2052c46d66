/*
 * scanner.c - a scanner process: takes probe jobs from the shared queue
 * (on-demand first, then due rescans), probes up to scanner.concurrency
 * services at once on one event loop (probe.c), records each result in
 * one transaction (obs.c), drops the service's cached replies so that no
 * client is served a reply older than the newest observation, and puts
 * the service back in the queue for its next rescan.
 *
 * An on-demand job says how to probe (schedule.h, from convergence.sni):
 * with or without SNI, or a fallback: without SNI, and when the leaf is
 * not the certificate the client submitted (or the handshake failed in a
 * way SNI may cure), once more with SNI for a DNS name, within the same
 * scanner.timeout.  Exactly one outcome is recorded: the try that
 * matched, else the first (without SNI, as the reference notary would).
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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cache.h"
#include "common/conf.h"
#include "store/paths.h"
#include "store/session.h"
#include "common/log.h"
#include "store/obs.h"
#include "scanner/probe.h"
#include "common/probenote.h"
#include "common/proc.h"
#include "common/status.h"
#include "scanner/scanner.h"
#include "store/dbenv.h"
#include "store/schedule.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define CLAIM_EVERY_MS       250
#define LEASE_GRACE_MS       30000 /* beyond the probe timeout */
#define CHECKPOINT_EVERY_MS  60000
#define QUEUE_COUNT_EVERY_MS 5000 /* queue depth for /metrics */
#define CLAIM_BATCH          64
#define FALLBACK_MIN_MS      100 /* left for an SNI try, or none */

struct scanner {
	struct proc_ctx        *ctx;
	const struct conf      *cf;
	DB_ENV                 *env;
	struct obs_db           obs;
	struct sched_db         sched;
	struct probe_engine    *pe;
	size_t                  od_inflight;
	size_t                  od_max;
	int64_t                 next_claim;
	int64_t                 next_checkpoint;
	int64_t                 next_queue_count;
	int                     checkpoints; /* ctwatch disabled: we do it */
	struct outcome_sink     sink;
	struct probenote_sender note; /* to the signer: probe finished */
};

struct job {
	struct scanner      *sc;
	int                  on_demand;
	struct sched_probe   way;
	int64_t              deadline; /* mono ms, the whole job */
	int                  second;   /* the SNI try of a fallback runs */
	struct probe_outcome first;    /* the try without SNI */
	uint8_t             *first_der;
};

static void probe_done(
    void *arg, const char *svc, size_t len, const struct probe_outcome *out);

/* The probe_req of the job's (first) try. */
static void
job_req(const struct job *job, struct probe_req *rq)
{
	rq->timeout_ms = 0;
	switch (job->way.sni) {
	case SCHED_SNI_ON:
		rq->sni = 1;
		break;
	case SCHED_SNI_OFF:
	case SCHED_SNI_FALLBACK:
		rq->sni = 0;
		break;
	default:
		rq->sni = -1; /* scanner.sni */
		break;
	}
}

/* 1 when the try's leaf is what the client submitted. */
static int
job_matches(const struct job *job, const struct probe_outcome *out)
{
	return (out->result == PROBE_OK &&
	    memcmp(out->fp.sha1, job->way.want, SCHED_WANT_LEN) == 0);
}

/*
 * After the first try of a fallback: start the SNI try and keep the
 * first outcome.  1 when it runs (this outcome is not recorded yet).
 */
static int
job_fallback(struct job *job, const char *svc, size_t len,
    const struct probe_outcome *out)
{
	struct probe_req rq = { 1, 0 };
	struct svcid     sid;
	char             err[160];

	if (job->second || job->way.sni != SCHED_SNI_FALLBACK ||
	    !job->way.has_want || job_matches(job, out))
		return (0);
	if (out->result != PROBE_OK && out->result != PROBE_TLS_ALERT &&
	    out->result != PROBE_PROTOCOL && out->result != PROBE_RESET)
		return (0); /* no server, or no time: SNI changes nothing */
	if (svcid_parse(svc, len, &sid, err, sizeof(err)) == -1 ||
	    sid.kind != SVCID_DNS)
		return (0); /* SNI is a host name, never an address */
	if ((rq.timeout_ms = job->deadline - mono_ms()) < FALLBACK_MIN_MS)
		return (0);
	job->first = *out;
	if (out->result == PROBE_OK && out->derlen > 0) {
		job->first_der = xmalloc(out->derlen);
		memcpy(job->first_der, out->der, out->derlen);
	}
	job->first.der = job->first_der;
	job->second = 1;
	if (probe_submit_req(job->sc->pe, svc, len, &rq, probe_done, job, err,
	        sizeof(err)) == -1) {
		log_warnx("probe %.*s: no SNI try: %s", (int)len, svc, err);
		free(job->first_der);
		job->first_der = NULL;
		job->second = 0;
		return (0);
	}
	log_debug("probe %.*s: not the submitted certificate without SNI; "
	          "trying with SNI",
	    (int)len, svc);
	return (1);
}

/* ---- after a probe ------------------------------------------------------ */

static void
probe_done(
    void *arg, const char *svc, size_t len, const struct probe_outcome *out)
{
	struct job      *job = arg;
	struct scanner  *sc = job->sc;
	struct outcome   o;
	enum obs_outcome what = OBS_FIRST;

	if ((unsigned)out->result < STATUS_PROBE_RESULTS)
		atomic_fetch_add_explicit(
		    &sc->ctx->status->counters.probes[out->result], 1,
		    memory_order_relaxed);
	if (out->result != PROBE_OK)
		log_debug("probe %.*s: %s (%s)", (int)len, svc,
		    probe_result_name(out->result), out->detail);
	if (job_fallback(job, svc, len, out))
		return;
	if (job->second && !job_matches(job, out))
		out = &job->first; /* neither matched: the one without SNI */
	o = (struct outcome){ out->result, &out->fp, out->der, out->derlen, 0 };
	if (job->on_demand)
		sc->od_inflight--;
	if (outcome_record(&sc->sink, svc, len, &o, wall_s(), &what) == 0 &&
	    out->result == PROBE_OK && what == OBS_CHANGED)
		log_info("%.*s presents a new key", (int)len, svc);
	/* A parked synchronous request may be waiting for this one. */
	probenote_send(&sc->note, svc, len, out->result == PROBE_OK);
	free(job->first_der);
	free(job);
}

/* ---- taking jobs -------------------------------------------------------- */

static void
submit_job(struct scanner *sc, const struct sched_job *j)
{
	struct job      *job = xcalloc(1, sizeof(*job));
	struct probe_req rq;
	char             err[160];

	job->sc = sc;
	job->on_demand = j->kind == SCHED_ON_DEMAND;
	job->way = j->probe;
	job->deadline = mono_ms() + sc->cf->scanner.timeout_ms;
	job_req(job, &rq);
	if (probe_submit_req(sc->pe, j->id, j->len, &rq, probe_done, job, err,
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
	struct sched_job jobs[CLAIM_BATCH];
	size_t           free_slots, od_slots, n, i;
	int64_t          now = wall_s() * 1000;

	free_slots =
	    (size_t)sc->cf->scanner.concurrency - probe_inflight(sc->pe);
	if (free_slots == 0)
		return;
	if (free_slots > CLAIM_BATCH)
		free_slots = CLAIM_BATCH;
	od_slots =
	    sc->od_max > sc->od_inflight ? sc->od_max - sc->od_inflight : 0;
	if (sched_claim(&sc->sched, now,
	        sc->cf->scanner.timeout_ms + LEASE_GRACE_MS, jobs, free_slots,
	        od_slots, &n) == -1)
		return;
	for (i = 0; i < n; i++)
		submit_job(sc, &jobs[i]);
}

/* ---- process life -------------------------------------------------------- */

static int
scanner_open_store(struct scanner *sc)
{
	const struct conf *cf = sc->cf;
	struct probe_opts  po;

	if (store_env_open(cf, &sc->env) == -1)
		return (-1);
	db_count_retries(&sc->ctx->status->counters.db_txn_retries);
	if (obs_open(&sc->obs, sc->env, 0) == -1 ||
	    sched_open(&sc->sched, sc->env) == -1)
		return (-1);
	probe_opts_from_conf(cf, &po);
	if ((sc->pe = probe_engine_new(&po)) == NULL)
		return (-1);
	return (0);
}

static void
scanner_close_store(struct scanner *sc)
{
	if (sc->pe != NULL)
		probe_engine_free(sc->pe);
	sched_close(&sc->sched);
	obs_close(&sc->obs);
	if (sc->env != NULL)
		db_env_close(sc->env);
	free(sc->sink.spans);
}

/* ctwatch checkpoints; with ctwatch disabled scanner#0 does it. */
static void
scanner_checkpoint(struct scanner *sc)
{
	int r;

	if ((r = db_checkpoint(sc->env)) != 0)
		log_warnx("checkpoint failed: %s", db_strerror(r));
}

static int
loop_timeout(struct scanner *sc, int64_t now)
{
	int64_t next = sc->next_claim;
	int     pt = probe_engine_timeout(sc->pe);

	if (sc->checkpoints && sc->next_checkpoint < next)
		next = sc->next_checkpoint;
	if (pt >= 0 && now + pt < next)
		next = now + pt;
	return (next > now ? (int)(next - now) : 0);
}

/* The queue depth gauge of /metrics (scanner #0 only: one stat call). */
static void
scanner_count_queue(struct scanner *sc)
{
	size_t n;

	if (sched_count(&sc->sched, &n) == 0)
		atomic_store(
		    &sc->ctx->status->counters.probe_queue, (uint64_t)n);
}

static int
scanner_loop(struct scanner *sc, int sfd)
{
	struct pollfd pfd[3];
	int64_t       now;

	for (;;) {
		pfd[0].fd = sfd;
		pfd[1].fd = sc->ctx->chan;
		pfd[2].fd = probe_engine_fd(sc->pe);
		pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
		if (poll(pfd, 3, loop_timeout(sc, mono_ms())) == -1 &&
		    errno != EINTR)
			fatal("poll");
		switch (proc_poll_events(
		    sc->ctx, sfd, pfd[0].revents, pfd[1].revents)) {
		case PROC_GONE:
			return (PROC_EXIT_FAIL);
		case PROC_STOP:
			return (PROC_EXIT_OK);
		}
		probe_engine_process(sc->pe);
		now = mono_ms();
		if (now >= sc->next_claim) {
			claim_jobs(sc);
			sc->next_claim = now + CLAIM_EVERY_MS;
		}
		if (sc->ctx->index == 0 && now >= sc->next_queue_count) {
			scanner_count_queue(sc);
			sc->next_queue_count = now + QUEUE_COUNT_EVERY_MS;
		}
		if (sc->checkpoints && now >= sc->next_checkpoint) {
			scanner_checkpoint(sc);
			sc->next_checkpoint = now + CHECKPOINT_EVERY_MS;
		}
	}
}

static void *
scanner_open(struct proc_ctx *ctx, int *code)
{
	struct scanner    *sc = xcalloc(1, sizeof(*sc));
	struct sockaddr_un sun;
	int                procs;

	sc->ctx = ctx;
	sc->cf = ctx->cf;
	sc->sink.obs = &sc->obs;
	sc->sink.sched = &sc->sched;
	sc->sink.cache = ctx->cache;
	sc->sink.rescan_interval_ms = ctx->cf->scanner.rescan_interval_ms;
	sc->sink.rescan_newer_than_ms = ctx->cf->scanner.rescan_newer_than_ms;
	sc->sink.spans = xcalloc(OBS_MAX_SPANS, sizeof(*sc->sink.spans));
	sc->checkpoints = ctx->index == 0 && !ctx->cf->ctwatch.enabled;
	/* scanner.on_demand_limit is shared out among the processes. */
	procs = ctx->cf->scanner.processes;
	sc->od_max =
	    (size_t)((ctx->cf->scanner.on_demand_limit + procs - 1) / procs);
	/* The master made the signer socket: its path fits. */
	if (store_sockaddr(ctx->cf, STORE_SIGNER_SOCK, &sun) == -1)
		fatalx("signer socket path too long");
	probenote_init(&sc->note, &sun);
	if (scanner_open_store(sc) == -1) {
		/* Half-open handles go with the process. */
		log_warnx("cannot start the scanner; exiting");
		*code = PROC_EXIT_FAIL;
		return (NULL);
	}
	return (sc);
}

static int
scanner_run(void *state, struct proc_ctx *ctx, int sfd)
{
	struct scanner *sc = state;

	(void)ctx;
	sc->next_claim = mono_ms();
	sc->next_checkpoint = mono_ms() + CHECKPOINT_EVERY_MS;
	return (scanner_loop(sc, sfd));
}

static void
scanner_close(void *state)
{
	struct scanner *sc = state;

	if (sc->checkpoints)
		scanner_checkpoint(sc);
	scanner_close_store(sc);
	probenote_close(&sc->note);
	free(sc);
}

const struct role_ops scanner_role = { scanner_open, scanner_run, scanner_close,
	0 };
