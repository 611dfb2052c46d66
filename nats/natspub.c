/*
 * natspub.c - the NATS JetStream publisher engine, run by the natspub
 * process (one, when nats.enabled).
 *
 * It follows the shared stream ring with its own cursor, exactly like an
 * HTTP worker: the writer (ctwatch) never waits for it, and when it falls
 * a ring's length behind, the records it lost are counted (ring_skipped).
 * Each entry record is validated (streamrec_parse: shared memory is
 * untrusted) and every shape named in nats.shapes becomes one message
 * whose payload is that section's bytes, exactly what the websocket
 * clients get: subject "<prefix>.<shape>" (or "<prefix>.<shape>.log<N>"
 * with nats.per_log_subjects, N the record's log slot), JetStream
 * message id "<log>:<index>:<shape>" so that the stream drops the
 * duplicates two overlapping natspub generations send after a reload.
 * The shape "record" is the whole entry in one message on
 * "<prefix>.record" (common/streamwire.h: every JSON section and the
 * log's URL and names from the status table), what a stream front
 * (ctwatch.source: nats) follows.
 *
 * Messages wait in a FIFO bounded by nats.buffer payload bytes; a
 * message that does not fit is dropped (the newest are dropped, so what
 * is kept is in order) and counted.  They are sent with js_PublishAsync
 * only while connected, the stream checked, and fewer than
 * nats.max_pending await their ack, so a publish never stalls this loop;
 * an ack that does not come within nats.ack_timeout counts as failed.
 * libnats reconnects by itself (back-off 250 ms doubling to 5 s); after
 * every (re)connection the JetStream stream is looked up and created
 * with nats.max_age / nats.max_bytes if missing.
 *
 * A natspub that is restarted (crash, reload) starts at the oldest ring
 * record one of whose messages was not acked yet (status ring_resume,
 * kept up to date every round; acks arrive in publish order on the one
 * connection), if the ring still holds it, rather than at the head: what
 * was published while no natspub ran is sent, and what is sent again is
 * dropped by JetStream's duplicate window (message ids).  Records the
 * ring no longer holds are counted as skipped.
 *
 * Threads: libnats calls the connection and ack callbacks from its own
 * threads; they only touch atomics.  Failures are logged once where they
 * are decided; nothing here exits the process.
 */
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
#include "common/ring.h"
#include "common/status.h"
#include "common/streamrec.h"
#include "common/streamwire.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "nats/natspub.h"
#include "nats/npqueue.h"

#define NP_API_WAIT_MS     2000 /* JetStream API requests */
#define NP_STREAM_RETRY_MS 1000 /* after a failed stream check */
#define NP_BACKOFF_MIN_MS  250
#define NP_BACKOFF_MAX_MS  5000
#define NP_PING_MS         5000 /* a silent server is lost after 3 */
/*
 * JetStream's duplicate window of a stream we create: long enough for
 * the overlap of two natspub generations at a reload, short enough that
 * the server does not track minutes of message ids (its default 2 min
 * at 10,000 messages/s is 1.2 million ids).
 */
#define NP_DUP_WINDOW_NS   (INT64_C(30) * 1000000000)

enum np_link {
	NP_CONNECTING = 0,
	NP_UP,
	NP_DOWN,
	NP_CLOSED,
};

struct natspub {
	const struct conf   *cf;
	struct ring         *ring;
	struct status_nats  *st;
	const struct status *logs; /* the status table: log texts */
	struct ring_cursor   cur;
	struct buf           wire; /* one "record" message */
	uint8_t             *rec;  /* one record copied out */
	size_t               reclen;
	struct npqueue       q;
	natsOptions         *opts;
	natsConnection      *nc;
	jsCtx               *js;
	_Atomic int          link;        /* enum np_link */
	_Atomic int          need_stream; /* (re)connected: check it */
	_Atomic int64_t      inflight;    /* published, not yet acked */
	_Atomic uint64_t     done;        /* acks and failures, in all */
	uint64_t             done_seen;   /* of them popped from fly */
	uint64_t            *fly; /* ring seqs of the in-flight messages */
	size_t               fly_cap, fly_head, fly_n;
	int                  stream_ok;
	int                  last_link; /* what the loop last logged */
	int64_t              stream_retry_ms;
	int                  warned_publish;
};

static const struct {
	unsigned    bit;
	uint32_t    kind;
	const char *name;
} np_shapes[] = {
	{ CONF_SHAPE_FULL, STREAMREC_FULL, "full" },
	{ CONF_SHAPE_LITE, STREAMREC_LITE, "lite" },
	{ CONF_SHAPE_DOMAINS, STREAMREC_DOMAINS, "domains" },
};

/* ---- libnats callbacks (other threads: atomics only) -------------------- */

static void
np_connected(natsConnection *nc, void *arg)
{
	struct natspub *np = arg;

	(void)nc;
	atomic_store(&np->link, NP_UP);
	atomic_store(&np->need_stream, 1);
	atomic_store(&np->st->state, STATUS_NATS_NOSTREAM);
}

static void
np_disconnected(natsConnection *nc, void *arg)
{
	struct natspub *np = arg;

	(void)nc;
	if (atomic_exchange(&np->link, NP_DOWN) == NP_UP)
		atomic_fetch_add(&np->st->disconnects, 1);
	atomic_store(&np->st->state, STATUS_NATS_RECONNECTING);
}

static void
np_reconnected(natsConnection *nc, void *arg)
{
	struct natspub *np = arg;

	atomic_fetch_add(&np->st->reconnects, 1);
	np_connected(nc, arg);
}

static void
np_closed(natsConnection *nc, void *arg)
{
	struct natspub *np = arg;

	(void)nc;
	atomic_store(&np->link, NP_CLOSED);
	atomic_store(&np->st->state, STATUS_NATS_CLOSED);
}

static void
np_acked(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *arg)
{
	struct natspub *np = arg;

	(void)js;
	(void)pae;
	if (pa != NULL)
		atomic_fetch_add(&np->st->acked, 1);
	else
		atomic_fetch_add(&np->st->failed, 1);
	atomic_store(&np->st->pending,
	    (uint64_t)(atomic_fetch_sub(&np->inflight, 1) - 1));
	atomic_fetch_add(&np->done, 1);
	natsMsg_Destroy(msg);
}

/* 250 ms doubling to 5 s per round over the server list. */
static int64_t
np_backoff(natsConnection *nc, int attempts, void *arg)
{
	int64_t ms = NP_BACKOFF_MIN_MS;

	(void)nc;
	(void)arg;
	while (attempts-- > 1 && ms < NP_BACKOFF_MAX_MS)
		ms *= 2;
	return (ms < NP_BACKOFF_MAX_MS ? ms : NP_BACKOFF_MAX_MS);
}

/* ---- set-up ------------------------------------------------------------- */

static int
np_options(struct natspub *np)
{
	char       why[256];
	natsStatus s;

	np->opts =
	    natsauth_options(np->cf, "notaryd-natspub", why, sizeof(why));
	if (np->opts == NULL) {
		log_warnx("nats: %s", why);
		return (-1);
	}
	s = natsOptions_SetMaxReconnect(np->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetCustomReconnectDelay(
		    np->opts, np_backoff, np);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(np->opts, NP_PING_MS);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(
		    np->opts, true, np_connected, np);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(
		    np->opts, np_disconnected, np);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(np->opts, np_reconnected, np);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(np->opts, np_closed, np);
	if (s != NATS_OK) {
		log_warnx("nats options: %s", natsStatus_GetText(s));
		return (-1);
	}
	return (0);
}

static int
np_connect(struct natspub *np)
{
	jsOptions  jo;
	natsStatus s;

	s = natsConnection_Connect(&np->nc, np->opts);
	if (s == NATS_OK) {
		np_connected(np->nc, np);
	} else if (s != NATS_NOT_YET_CONNECTED) {
		log_warnx("nats connect: %s", natsStatus_GetText(s));
		return (-1);
	}
	jsOptions_Init(&jo);
	jo.Wait = NP_API_WAIT_MS;
	jo.PublishAsync.MaxPending = np->cf->nats.max_pending;
	jo.PublishAsync.AckHandler = np_acked;
	jo.PublishAsync.AckHandlerClosure = np;
	jo.PublishAsync.StallWait = 1; /* we never reach MaxPending */
	s = natsConnection_JetStream(&np->js, np->nc, &jo);
	if (s != NATS_OK) {
		log_warnx("nats JetStream context: %s", natsStatus_GetText(s));
		return (-1);
	}
	return (0);
}

/*
 * The cursor at status ring_resume if the ring still holds it, else at
 * the oldest record it can reach (the rest counted as skipped), else at
 * the head.  A head that moves meanwhile is looked at again.
 */
static void
np_resume(struct natspub *np)
{
	uint64_t from = atomic_load(&np->st->ring_resume), k, back = 0;
	int      tries;

	for (tries = 0; tries < 4; tries++) {
		ring_cursor_head(np->ring, &np->cur);
		if (from == 0 || from >= np->cur.seq)
			return;
		k = np->cur.seq - from;
		back = ring_cursor_back(np->ring, k, &np->cur);
		if (back < k) {
			atomic_fetch_add(&np->st->ring_skipped, k - back);
			break;
		}
		if (np->cur.seq <= from)
			break;
	}
	log_info("nats: resuming %" PRIu64 " ring records back, at the "
	         "oldest not acknowledged",
	    back);
}

struct natspub *
natspub_open(const struct conf *cf, struct ring *ring, struct status *status)
{
	struct natspub *np = xcalloc(1, sizeof(*np));

	np->cf = cf;
	np->ring = ring;
	np->logs = status;
	np->st = &status->nats;
	np->reclen = ring_max_record(ring);
	np->rec = xmalloc(np->reclen);
	buf_init(&np->wire, np->reclen + 1024);
	np->fly_cap = (size_t)cf->nats.max_pending + 1;
	np->fly = xcalloc(np->fly_cap, sizeof(*np->fly));
	np->last_link = -1;
	npq_init(&np->q, cf->nats.buffer);
	np_resume(np);
	atomic_store(&np->st->state, STATUS_NATS_CONNECTING);
	if (np_options(np) == -1 || np_connect(np) == -1) {
		natspub_close(np, 0);
		return (NULL);
	}
	log_info("publishing the stream to NATS %s%s, stream %s, subjects "
	         "%s.>",
	    cf->nats.url.v[0], cf->nats.url.n > 1 ? " (and others)" : "",
	    cf->nats.stream, cf->nats.subject_prefix);
	return (np);
}

/* ---- the JetStream stream ----------------------------------------------- */

static int
np_ensure_stream(struct natspub *np)
{
	const struct conf *cf = np->cf;
	jsStreamConfig     sc;
	jsStreamInfo      *si = NULL;
	jsErrCode          jerr = 0;
	natsStatus         s;
	char               subj[80];
	const char        *subjects[1] = { subj };

	s = js_GetStreamInfo(&si, np->js, cf->nats.stream, NULL, &jerr);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return (0);
	}
	if (s != NATS_NOT_FOUND) {
		log_warnx("nats stream %s: %s (%d)", cf->nats.stream,
		    natsStatus_GetText(s), (int)jerr);
		return (-1);
	}
	(void)xsnprintf(subj, sizeof(subj), "%s.>", cf->nats.subject_prefix);
	jsStreamConfig_Init(&sc);
	sc.Name = cf->nats.stream;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.MaxAge = cf->nats.max_age_ms * 1000000; /* nanoseconds */
	sc.MaxBytes = (int64_t)cf->nats.max_bytes;
	sc.Storage = js_FileStorage;
	sc.Duplicates = NP_DUP_WINDOW_NS;
	s = js_AddStream(&si, np->js, &sc, NULL, &jerr);
	if (s != NATS_OK) {
		log_warnx("nats: cannot create stream %s: %s (%d)",
		    cf->nats.stream, natsStatus_GetText(s), (int)jerr);
		return (-1);
	}
	jsStreamInfo_Destroy(si);
	atomic_fetch_add(&np->st->streams_created, 1);
	log_notice("nats: created stream %s for %s", cf->nats.stream, subj);
	return (0);
}

/* Log link changes from the loop (the callbacks run in other threads). */
static void
np_track_link(struct natspub *np)
{
	int link = atomic_load(&np->link);

	if (link == np->last_link)
		return;
	if (link == NP_UP)
		log_info("nats: connected");
	else if (link == NP_DOWN)
		log_warnx("nats: connection lost; reconnecting, queueing up "
		          "to %" PRIu64 " bytes",
		    np->cf->nats.buffer);
	else if (link == NP_CLOSED)
		log_warnx("nats: connection closed");
	if (link != NP_UP)
		np->stream_ok = 0;
	np->last_link = link;
}

static void
np_check_stream(struct natspub *np)
{
	if (atomic_load(&np->link) != NP_UP || !atomic_load(&np->need_stream) ||
	    mono_ms() < np->stream_retry_ms)
		return;
	atomic_store(&np->need_stream, 0);
	np->stream_ok = (np_ensure_stream(np) == 0);
	if (np->stream_ok) {
		if (atomic_load(&np->link) == NP_UP)
			atomic_store(&np->st->state, STATUS_NATS_CONNECTED);
		return;
	}
	atomic_store(&np->need_stream, 1);
	np->stream_retry_ms = mono_ms() + NP_STREAM_RETRY_MS;
}

/* ---- ring -> queue -> NATS ---------------------------------------------- */

/* The log's texts from its status slot (a consistent copy), or "". */
static void
np_log_texts(const struct natspub *np, uint32_t log_id,
    char url[STATUS_CT_URL_MAX], char name[STATUS_CT_NAME_MAX],
    char oper[STATUS_CT_OPER_MAX])
{
	const struct status_ctlog *c;
	uint32_t                   seq;

	url[0] = name[0] = oper[0] = '\0';
	if (log_id >= STATUS_MAX_CTLOGS)
		return;
	c = &np->logs->ctlog[log_id];
	seq = atomic_load(&c->seq);
	if (seq & 1)
		return;
	memcpy(url, c->url, STATUS_CT_URL_MAX);
	memcpy(name, c->name, STATUS_CT_NAME_MAX);
	memcpy(oper, c->operator, STATUS_CT_OPER_MAX);
	url[STATUS_CT_URL_MAX - 1] = name[STATUS_CT_NAME_MAX - 1] =
	    oper[STATUS_CT_OPER_MAX - 1] = '\0';
	if (atomic_load(&c->seq) != seq)
		url[0] = name[0] = oper[0] = '\0';
}

/* The whole entry as one message on <prefix>.record. */
static void
np_enqueue_record(
    struct natspub *np, const struct streamrec_view *v, uint64_t rseq)
{
	char url[STATUS_CT_URL_MAX], name[STATUS_CT_NAME_MAX];
	char oper[STATUS_CT_OPER_MAX], subj[NPQ_SUBJECT_MAX];
	char id[NPQ_MSGID_MAX];

	np_log_texts(np, v->log_id, url, name, oper);
	buf_reset(&np->wire);
	(void)xsnprintf(
	    subj, sizeof(subj), "%s.record", np->cf->nats.subject_prefix);
	(void)xsnprintf(id, sizeof(id), "%" PRIu32 ":%" PRIu64 ":record",
	    v->log_id, v->cert_index);
	atomic_fetch_add(&np->st->taken, 1);
	if (streamwire_encode(&np->wire, v, url, name, oper) == -1 ||
	    npq_push(&np->q, subj, id, rseq, np->wire.data, np->wire.len) == -1)
		atomic_fetch_add(&np->st->dropped, 1);
}

/* Queue one message per configured shape present in the record. */
static void
np_enqueue(struct natspub *np, const struct streamrec_view *v, uint64_t rseq)
{
	const struct conf *cf = np->cf;
	const uint8_t     *data;
	char               subj[NPQ_SUBJECT_MAX], id[NPQ_MSGID_MAX];
	size_t             i, len;

	for (i = 0; i < sizeof(np_shapes) / sizeof(np_shapes[0]); i++) {
		if (!(cf->nats.shapes & np_shapes[i].bit))
			continue;
		data = streamrec_section(v, np_shapes[i].kind, &len);
		if (data == NULL)
			continue;
		if (cf->nats.per_log_subjects && v->log_id != UINT32_MAX)
			(void)xsnprintf(subj, sizeof(subj), "%s.%s.log%" PRIu32,
			    cf->nats.subject_prefix, np_shapes[i].name,
			    v->log_id);
		else
			(void)xsnprintf(subj, sizeof(subj), "%s.%s",
			    cf->nats.subject_prefix, np_shapes[i].name);
		(void)xsnprintf(id, sizeof(id), "%" PRIu32 ":%" PRIu64 ":%s",
		    v->log_id, v->cert_index, np_shapes[i].name);
		atomic_fetch_add(&np->st->taken, 1);
		if (npq_push(&np->q, subj, id, rseq, data, len) == -1)
			atomic_fetch_add(&np->st->dropped, 1);
	}
	if (cf->nats.shapes & CONF_SHAPE_RECORD)
		np_enqueue_record(np, v, rseq);
}

/* Read what the ring has (bounded); 1 if it may have more. */
static int
np_drain_ring(struct natspub *np)
{
	struct streamrec_view v;
	enum ring_result      rr;
	uint64_t              skipped;
	uint32_t              type;
	size_t                len;
	int                   n;

	for (n = 0; n < NATSPUB_DRAIN_MAX; n++) {
		skipped = 0;
		rr = ring_read(np->ring, &np->cur, &type, np->rec, np->reclen,
		    &len, &skipped);
		if (rr == RING_EMPTY)
			return (0);
		if (rr == RING_OVERRUN) {
			atomic_fetch_add(&np->st->ring_skipped, skipped);
			continue;
		}
		if (rr != RING_OK) { /* cannot be: buf is the maximum */
			log_warnx(
			    "nats: ring record too big; skipping to head");
			ring_cursor_head(np->ring, &np->cur);
			return (0);
		}
		if (type != STREAMREC_TYPE_ENTRY)
			continue;
		atomic_fetch_add(&np->st->records, 1);
		if (streamrec_parse(np->rec, len, &v) == -1) {
			atomic_fetch_add(&np->st->bad_records, 1);
			continue;
		}
		np_enqueue(np, &v, np->cur.seq - 1);
	}
	return (1);
}

/* Publish from the queue while the window allows; 1 if more could go. */
static int
np_publish(struct natspub *np)
{
	struct npmsg *m;
	jsPubOptions  po;
	natsStatus    s;

	while ((m = npq_peek(&np->q)) != NULL) {
		if (atomic_load(&np->link) != NP_UP || !np->stream_ok ||
		    atomic_load(&np->need_stream))
			return (0);
		if (atomic_load(&np->inflight) >= np->cf->nats.max_pending)
			return (0);
		jsPubOptions_Init(&po);
		po.MsgId = m->msgid;
		po.MaxWait = np->cf->nats.ack_timeout_ms;
		atomic_fetch_add(&np->inflight, 1);
		s = js_PublishAsync(
		    np->js, m->subject, m->data, (int)m->len, &po);
		if (s != NATS_OK) {
			atomic_fetch_sub(&np->inflight, 1);
			if (s != NATS_MAX_PAYLOAD && s != NATS_INVALID_ARG) {
				log_debug("nats: publish: %s; retrying",
				    natsStatus_GetText(s));
				return (0); /* link trouble: retry later */
			}
			if (!np->warned_publish++)
				log_warnx("nats: %s refused a message (%zu "
				          "bytes): %s; dropped",
				    m->subject, m->len, natsStatus_GetText(s));
			atomic_fetch_add(&np->st->dropped, 1);
			npq_pop(&np->q);
			continue;
		}
		atomic_fetch_add(&np->st->published, 1);
		atomic_store(
		    &np->st->pending, (uint64_t)atomic_load(&np->inflight));
		np->fly[(np->fly_head + np->fly_n++) % np->fly_cap] = m->rseq;
		npq_pop(&np->q);
	}
	return (0);
}

/*
 * Forget the in-flight messages that were acked or failed (in publish
 * order), and publish where a restarted natspub would start.
 */
static void
np_low_water(struct natspub *np)
{
	uint64_t      done = atomic_load(&np->done), lw;
	struct npmsg *m;

	while (np->done_seen < done && np->fly_n > 0) {
		np->fly_head = (np->fly_head + 1) % np->fly_cap;
		np->fly_n--;
		np->done_seen++;
	}
	if (np->fly_n > 0)
		lw = np->fly[np->fly_head];
	else if ((m = npq_peek(&np->q)) != NULL)
		lw = m->rseq;
	else
		lw = np->cur.seq;
	atomic_store(&np->st->ring_resume, lw);
}

int
natspub_step(struct natspub *np)
{
	int more;

	np_track_link(np);
	np_check_stream(np);
	more = np_drain_ring(np);
	np_publish(np);
	np_low_water(np);
	atomic_store(&np->st->buffered, np->q.count);
	atomic_store(&np->st->buffered_bytes, np->q.bytes);
	if (npq_peek(&np->q) != NULL && np->stream_ok &&
	    atomic_load(&np->link) == NP_UP &&
	    atomic_load(&np->inflight) < np->cf->nats.max_pending)
		more = 1;
	return (more);
}

void
natspub_close(struct natspub *np, int64_t wait_ms)
{
	jsPubOptions po;

	if (np == NULL)
		return;
	if (np->js != NULL && wait_ms > 0 && atomic_load(&np->inflight) > 0 &&
	    atomic_load(&np->link) == NP_UP) {
		jsPubOptions_Init(&po);
		po.MaxWait = wait_ms;
		(void)js_PublishAsyncComplete(np->js, &po);
	}
	np_low_water(np);
	atomic_fetch_add(&np->st->dropped, npq_clear(&np->q));
	atomic_store(&np->st->buffered, 0);
	atomic_store(&np->st->buffered_bytes, 0);
	if (np->nc != NULL)
		natsConnection_Close(np->nc);
	jsCtx_Destroy(np->js);
	natsConnection_Destroy(np->nc);
	natsOptions_Destroy(np->opts);
	/* Joins libnats' threads: no callback can run after this. */
	(void)nats_CloseAndWait(2000);
	atomic_store(&np->st->state, STATUS_NATS_OFF);
	log_info("nats: stopped; records %" PRIu64 ", ring skipped %" PRIu64
	         ", malformed %" PRIu64 "; messages taken %" PRIu64
	         ", published %" PRIu64 ", acked %" PRIu64 ", failed %" PRIu64
	         ", dropped %" PRIu64 ", pending %" PRIu64
	         "; reconnects %" PRIu64,
	    atomic_load(&np->st->records), atomic_load(&np->st->ring_skipped),
	    atomic_load(&np->st->bad_records), atomic_load(&np->st->taken),
	    atomic_load(&np->st->published), atomic_load(&np->st->acked),
	    atomic_load(&np->st->failed), atomic_load(&np->st->dropped),
	    (uint64_t)atomic_load(&np->inflight),
	    atomic_load(&np->st->reconnects));
	buf_free(&np->wire);
	free(np->fly);
	free(np->rec);
	free(np);
}
