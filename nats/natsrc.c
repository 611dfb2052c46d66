/*
 * natsrc.c - a stream front's source: the natsrc process, one when
 * ctwatch.enabled and ctwatch.source: nats, in place of ctwatch.  It
 * follows the "<prefix>.record" subject of the JetStream stream
 * nats.stream (what an origin's natspub publishes with nats.shapes
 * including record: every shape of an entry in one message, see
 * common/streamwire.h) and writes one stream record per entry into this
 * notaryd's ring, so the HTTP workers serve the origin's bytes as they
 * are.  The ring record gets the entry's JetStream sequence as an extra
 * section (STREAMREC_JSSEQ), and the per-log counters of the status
 * table are kept from the log URL and names the message carries.
 *
 * A role of its own rather than a mode of ctwatch: it shares nothing
 * with the CT followers (no log lists, fetches, tree heads, parser), and
 * the role table picks one of the two by ctwatch.source.  Like ctwatch it
 * is the ring's only writer: it takes db/ctwatch.lock first, so that a
 * reload switching sources never has two writers.
 *
 * Resuming without gap or duplicate: the JetStream sequence after the
 * last entry written is status->natsrc.next_seq (shared memory: a natsrc
 * that is restarted within the same daemon continues from it) and is
 * committed to ct.db (row "nats://<stream>/<subject>") every 2 s and
 * when the process stops, for a daemon restart.  A front that never ran
 * starts with the stream's new messages.  The consumer is an ordered
 * ephemeral push consumer (no acks; libnats watches its heartbeats) from
 * that sequence; a message below it is counted as stale and skipped, and
 * any error of the subscription, or a reconnection, makes a new consumer
 * from the sequence, so a lost message is fetched again.  (After a hard
 * kill of the whole daemon the last <= 2 s of entries are written again:
 * the fresh ring is then empty, no client saw them.)
 *
 * Runs as a database user (ct.db); DB_RUNRECOVERY ends it with exit 3.
 * Exits 0 on TERM/INT/QUIT (position committed), 1 when the master is
 * gone or start-up fails.  libnats' callbacks run in its threads and only
 * touch atomics.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/natsauth.h"
#include "common/proc.h"
#include "common/ring.h"
#include "common/status.h"
#include "common/streamrec.h"
#include "common/streamwire.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "nats/natsrc.h"
#include "store/ctpos.h"
#include "store/dbenv.h"
#include "store/paths.h"
#include "store/session.h"

#define NS_BATCH     512                 /* messages per turn */
#define NS_IDLE_MS   5                   /* poll while nothing came */
#define NS_COMMIT_MS 2000                /* position to ct.db */
#define NS_RETRY_MS  1000                /* a failed subscription, again */
#define NS_HB_MS     2000                /* consumer idle heartbeat */
#define NS_PENDING   (256 * 1024 * 1024) /* client-side bytes */

struct natsrc {
	struct proc_ctx      *ctx;
	const struct conf    *cf;
	struct ring          *ring;
	struct status        *status;
	struct status_natsrc *st;
	DB_ENV               *env;
	DB                   *ct;
	natsOptions          *opts;
	natsConnection       *nc;
	jsCtx                *js;
	natsSubscription     *sub;
	_Atomic int           up;    /* connected */
	_Atomic int           resub; /* (re)connected: new consumer */
	char                  subject[96];
	char                  poskey[CTPOS_URL_MAX];
	uint64_t              next;  /* JetStream sequence wanted next */
	uint64_t              saved; /* next as last committed */
	struct buf            rec;
	int                   lockfd;
	int                   locked;
	int                   failed; /* no position: the process ends */
	int                   slot;   /* last log slot used, or -1 */
	int64_t               retry_ms;
	int64_t               commit_ms;
};

/* ---- libnats callbacks (other threads: atomics only) -------------------- */

static void
ns_connected(natsConnection *nc, void *arg)
{
	struct natsrc *ns = arg;

	(void)nc;
	atomic_store(&ns->up, 1);
	atomic_store(&ns->resub, 1);
	atomic_store(&ns->st->state, STATUS_NATS_NOSTREAM);
}

static void
ns_disconnected(natsConnection *nc, void *arg)
{
	struct natsrc *ns = arg;

	(void)nc;
	atomic_store(&ns->up, 0);
	atomic_store(&ns->st->state, STATUS_NATS_RECONNECTING);
}

static void
ns_closed(natsConnection *nc, void *arg)
{
	struct natsrc *ns = arg;

	(void)nc;
	atomic_store(&ns->up, 0);
	atomic_store(&ns->st->state, STATUS_NATS_CLOSED);
}

/* ---- set-up ------------------------------------------------------------- */

static int
ns_connect(struct natsrc *ns)
{
	char       why[256];
	natsStatus s;

	ns->opts = natsauth_options(ns->cf, "notaryd-natsrc", why, sizeof(why));
	if (ns->opts == NULL) {
		log_warnx("natsrc: %s", why);
		return (-1);
	}
	s = natsOptions_SetMaxReconnect(ns->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(ns->opts, 500);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(
		    ns->opts, true, ns_connected, ns);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(
		    ns->opts, ns_disconnected, ns);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(ns->opts, ns_connected, ns);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(ns->opts, ns_closed, ns);
	if (s != NATS_OK) {
		log_warnx("natsrc: nats options: %s", natsStatus_GetText(s));
		return (-1);
	}
	s = natsConnection_Connect(&ns->nc, ns->opts);
	if (s == NATS_OK)
		ns_connected(ns->nc, ns);
	else if (s != NATS_NOT_YET_CONNECTED) {
		log_warnx("natsrc: nats connect: %s", natsStatus_GetText(s));
		return (-1);
	}
	s = natsConnection_JetStream(&ns->js, ns->nc, NULL);
	if (s != NATS_OK) {
		log_warnx(
		    "natsrc: JetStream context: %s", natsStatus_GetText(s));
		return (-1);
	}
	return (0);
}

/* Where to start: this daemon's last sequence, else ct.db's, else new. */
static int
ns_position(struct natsrc *ns)
{
	uint64_t v = atomic_load(&ns->st->next_seq);
	int      r = -1;

	if (v != 0) {
		ns->next = v;
		log_info(
		    "natsrc: continuing at JetStream sequence %" PRIu64, v);
	} else if ((r = ctpos_get(ns->env, ns->ct, ns->poskey, &v)) == 0) {
		ns->next = v;
		log_info("natsrc: resuming at JetStream sequence %" PRIu64
		         " (saved)",
		    v);
	} else if (r == 1) {
		log_info("natsrc: no saved position; starting with new "
		         "entries");
	} else
		return (-1);
	/* Continuing from the status table: ct.db may be behind. */
	ns->saved = r == 0 ? v : 0;
	atomic_store(&ns->st->next_seq, ns->next);
	return (0);
}

/* ---- the consumer ------------------------------------------------------- */

static void
ns_unsubscribe(struct natsrc *ns)
{
	if (ns->sub == NULL)
		return;
	(void)natsSubscription_Unsubscribe(ns->sub);
	natsSubscription_Destroy(ns->sub);
	ns->sub = NULL;
}

/* A new ordered consumer from ns->next (or the new messages). */
static void
ns_subscribe(struct natsrc *ns)
{
	jsSubOptions so;
	jsErrCode    jerr = 0;
	natsStatus   s;

	ns_unsubscribe(ns);
	atomic_store(&ns->resub, 0);
	jsSubOptions_Init(&so);
	so.Stream = ns->cf->nats.stream;
	so.Ordered = true;
	so.Config.Heartbeat = (int64_t)NS_HB_MS * 1000000;
	if (ns->next != 0) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = ns->next;
	} else
		so.Config.DeliverPolicy = js_DeliverNew;
	s = js_SubscribeSync(&ns->sub, ns->js, ns->subject, NULL, &so, &jerr);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(ns->sub, -1, NS_PENDING);
	if (s != NATS_OK) {
		log_warnx("natsrc: cannot follow %s in stream %s: %s (%d); "
		          "retrying",
		    ns->subject, ns->cf->nats.stream, natsStatus_GetText(s),
		    (int)jerr);
		ns_unsubscribe(ns);
		ns->retry_ms = mono_ms() + NS_RETRY_MS;
		return;
	}
	atomic_fetch_add(&ns->st->subscribes, 1);
	atomic_store(&ns->st->state, STATUS_NATS_CONNECTED);
	log_info("natsrc: following %s in stream %s from %s %" PRIu64,
	    ns->subject, ns->cf->nats.stream,
	    ns->next != 0 ? "sequence" : "the newest, after", ns->next);
}

/* ---- messages to ring records ------------------------------------------- */

static void
set_text(char *dst, size_t len, const char *s)
{
	(void)snprintf(dst, len, "%s", s);
}

/* The status slot of the message's log (claimed on first sight), or -1. */
static int
ns_slot(struct natsrc *ns, const struct streamwire *w)
{
	struct status       *s = ns->status;
	struct status_ctlog *c;
	uint32_t             n = atomic_load(&s->nctlogs), i;

	if (w->url[0] == '\0')
		return (-1);
	if (ns->slot >= 0 && strcmp(s->ctlog[ns->slot].url, w->url) == 0)
		return (ns->slot);
	if (n > STATUS_MAX_CTLOGS)
		n = STATUS_MAX_CTLOGS;
	for (i = 0; i < n; i++)
		if (atomic_load(&s->ctlog[i].state) != 0 &&
		    strncmp(s->ctlog[i].url, w->url, STATUS_CT_URL_MAX) == 0)
			return (ns->slot = (int)i);
	if (n == STATUS_MAX_CTLOGS)
		return (-1);
	c = &s->ctlog[n];
	atomic_fetch_add(&c->seq, 1);
	set_text(c->url, sizeof(c->url), w->url);
	set_text(c->name, sizeof(c->name), w->name);
	set_text(c->operator, sizeof(c->operator), w->oper);
	atomic_fetch_add(&c->seq, 1);
	atomic_store(&c->tiled, (w->flags & STREAMREC_F_TILED) != 0);
	atomic_store(&c->state, 1);
	atomic_store(&s->nctlogs, n + 1);
	return (ns->slot = (int)n);
}

static void
ns_count(struct natsrc *ns, int slot, const struct streamwire *w)
{
	struct status_ctlog *c;

	atomic_fetch_add(&ns->st->written, 1);
	if (slot < 0)
		return;
	c = &ns->status->ctlog[slot];
	atomic_fetch_add(&c->published, 1);
	if (w->flags & STREAMREC_F_PRECERT)
		atomic_fetch_add(&c->precerts, 1);
	atomic_store(&c->next_index, w->cert_index + 1);
	if (atomic_load(&c->tree_size) < w->cert_index + 1)
		atomic_store(&c->tree_size, w->cert_index + 1);
	atomic_store(&c->updated_wall, wall_s());
}

/* One message with stream sequence seq into the ring. */
static void
ns_write(struct natsrc *ns, natsMsg *m, uint64_t seq)
{
	struct streamrec_part parts[STREAMWIRE_MAX_SECT + 1];
	struct streamwire     w;
	int                   slot;

	if (streamwire_decode(natsMsg_GetData(m),
	        (size_t)natsMsg_GetDataLength(m), &w) == -1) {
		if (atomic_fetch_add(&ns->st->malformed, 1) == 0)
			log_warnx("natsrc: %s message at sequence %" PRIu64
			          " is not an entry; skipped (counted)",
			    ns->subject, seq);
		return;
	}
	slot = ns_slot(ns, &w);
	memcpy(parts, w.parts, w.nparts * sizeof(parts[0]));
	parts[w.nparts] =
	    (struct streamrec_part){ STREAMREC_JSSEQ, &seq, sizeof(seq) };
	buf_reset(&ns->rec);
	if (streamrec_build(&ns->rec, w.flags,
	        slot < 0 ? UINT32_MAX : (uint32_t)slot, w.cert_index, parts,
	        w.nparts + 1) == -1 ||
	    ring_publish(ns->ring, STREAMREC_TYPE_ENTRY, ns->rec.data,
	        ns->rec.len) == 0) {
		if (atomic_fetch_add(&ns->st->malformed, 1) == 0)
			log_warnx("natsrc: entry at sequence %" PRIu64
			          " is larger than the ring allows; skipped",
			    seq);
		return;
	}
	ns_count(ns, slot, &w);
}

/* One message: skip what is already in the ring, else write it. */
static void
ns_take(struct natsrc *ns, natsMsg *m)
{
	jsMsgMetaData *meta = NULL;
	uint64_t       seq;

	atomic_fetch_add(&ns->st->received, 1);
	if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
		atomic_fetch_add(&ns->st->malformed, 1);
		return;
	}
	seq = meta->Sequence.Stream;
	jsMsgMetaData_Destroy(meta);
	if (seq < ns->next || seq == 0) {
		atomic_fetch_add(&ns->st->stale, 1);
		return;
	}
	ns_write(ns, m, seq);
	ns->next = seq + 1;
	atomic_store(&ns->st->next_seq, ns->next);
}

/* Up to NS_BATCH messages; 1 if there may be more at once. */
static int
ns_drain(struct natsrc *ns)
{
	natsMsg   *m;
	natsStatus s;
	int        n;

	for (n = 0; n < NS_BATCH; n++) {
		m = NULL;
		s = natsSubscription_NextMsg(&m, ns->sub, 0);
		if (s == NATS_TIMEOUT)
			return (0);
		if (s != NATS_OK) {
			log_warnx("natsrc: %s: %s; following again from "
			          "sequence %" PRIu64,
			    ns->subject, natsStatus_GetText(s), ns->next);
			ns_unsubscribe(ns);
			ns->retry_ms = mono_ms() + NS_RETRY_MS / 4;
			return (0);
		}
		ns_take(ns, m);
		natsMsg_Destroy(m);
	}
	return (1);
}

static void
ns_commit(struct natsrc *ns)
{
	struct ctpos p;

	if (ns->next == ns->saved)
		return;
	memset(&p, 0, sizeof(p));
	set_text(p.url, sizeof(p.url), ns->poskey);
	p.next = ns->next;
	p.updated = wall_s();
	if (ctpos_put(ns->env, ns->ct, &p, 1) == 0)
		ns->saved = ns->next;
}

/* 1 once this process holds db/ctwatch.lock (one ring writer). */
static int
ns_lock(struct natsrc *ns)
{
	if (ns->locked)
		return (1);
	if (flock(ns->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			log_warn("natsrc: lock");
		return (0);
	}
	ns->locked = 1;
	if (ns_position(ns) == -1) {
		log_warnx("natsrc: cannot read the saved position; exiting");
		ns->failed = 1;
		return (0);
	}
	return (1);
}

/* One turn; 1 when there is more to do at once. */
static int
ns_turn(struct natsrc *ns)
{
	int64_t now = mono_ms();
	int     more = 0;

	if (!ns_lock(ns))
		return (0);
	if (atomic_load(&ns->up) &&
	    (ns->sub == NULL || atomic_load(&ns->resub)) && now >= ns->retry_ms)
		ns_subscribe(ns);
	if (ns->sub != NULL)
		more = ns_drain(ns);
	if (now >= ns->commit_ms) {
		ns_commit(ns);
		ns->commit_ms = now + NS_COMMIT_MS;
	}
	return (more);
}

/* ---- the role ----------------------------------------------------------- */

static void
ns_free(struct natsrc *ns)
{
	ns_unsubscribe(ns);
	if (ns->nc != NULL)
		natsConnection_Close(ns->nc);
	jsCtx_Destroy(ns->js);
	natsConnection_Destroy(ns->nc);
	natsOptions_Destroy(ns->opts);
	(void)nats_CloseAndWait(2000);
	atomic_store(&ns->st->state, STATUS_NATS_OFF);
	if (ns->ct != NULL)
		ns->ct->close(ns->ct, 0);
	if (ns->env != NULL)
		db_env_close(ns->env);
	if (ns->lockfd != -1)
		close(ns->lockfd); /* after the last commit */
	buf_free(&ns->rec);
	free(ns);
}

static int
ns_init(struct natsrc *ns)
{
	const struct conf *cf = ns->cf;
	char              *path;

	(void)xsnprintf(ns->subject, sizeof(ns->subject), "%s.record",
	    cf->nats.subject_prefix);
	(void)xsnprintf(ns->poskey, sizeof(ns->poskey), "nats://%s/%s",
	    cf->nats.stream, ns->subject);
	if (ns->ring == NULL || ns->status == NULL) {
		log_warnx("natsrc: no stream ring or status table");
		return (-1);
	}
	buf_init(&ns->rec, ring_max_record(ns->ring));
	if (store_env_open(cf, &ns->env) == -1 ||
	    ctpos_open(ns->env, &ns->ct, 0) != 0)
		return (-1);
	path = store_path(cf, STORE_CTWATCH_LOCK);
	ns->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (ns->lockfd == -1) {
		log_warn("natsrc: %s", path);
		free(path);
		return (-1);
	}
	free(path);
	return (ns_connect(ns));
}

static void *
natsrc_open(struct proc_ctx *ctx, int *code)
{
	struct natsrc *ns = xcalloc(1, sizeof(*ns));

	*code = PROC_EXIT_FAIL;
	ns->ctx = ctx;
	ns->cf = ctx->cf;
	ns->ring = ctx->ring;
	ns->status = ctx->status;
	ns->lockfd = -1;
	ns->slot = -1;
	if (ctx->status != NULL)
		ns->st = &ctx->status->natsrc;
	if (ns->st != NULL)
		atomic_store(&ns->st->state, STATUS_NATS_CONNECTING);
	if (ns->st == NULL || ns_init(ns) == -1) {
		log_warnx("natsrc: start-up failed; exiting");
		if (ns->st == NULL) {
			free(ns);
			return (NULL);
		}
		ns_free(ns);
		return (NULL);
	}
	ns->commit_ms = mono_ms() + NS_COMMIT_MS;
	return (ns);
}

static int
natsrc_step(void *state)
{
	struct natsrc *ns = state;
	int            more = ns_turn(ns);

	return (ns->failed ? -1 : more);
}

static int
natsrc_run(void *state, struct proc_ctx *ctx, int sfd)
{
	return (proc_step_loop(ctx, sfd, natsrc_step, state, NS_IDLE_MS));
}

/* The position first, then the connection. */
static void
natsrc_close(void *state)
{
	struct natsrc *ns = state;

	if (ns->locked && !ns->failed)
		ns_commit(ns);
	log_info("natsrc: stopped at JetStream sequence %" PRIu64
	         "; received %" PRIu64 ", written %" PRIu64
	         ", malformed %" PRIu64 ", stale %" PRIu64,
	    ns->next, atomic_load(&ns->st->received),
	    atomic_load(&ns->st->written), atomic_load(&ns->st->malformed),
	    atomic_load(&ns->st->stale));
	ns_free(ns);
}

const struct role_ops natsrc_role = { natsrc_open, natsrc_run, natsrc_close,
	0 };
