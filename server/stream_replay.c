/*
 * stream_replay.c - ?since=<sequence> on a stream front (see
 * stream_replay.h).  Runs in an HTTP worker: the worker's loop is one
 * epoll thread that must never wait for NATS, so each replay is a thread
 * of its own (at most REPLAY_PER_WORKER per worker) that connects to
 * nats.url, follows "<prefix>.record" of nats.stream with an ordered
 * consumer from since + 1, and turns each entry into the client's frame
 * (its shape, its filter, websocket or SSE, "seq" if asked) in a buffer
 * of at most REPLAY_BUF bytes, waiting while it is full.  The loop takes
 * the frames with replay_take() (a mutex held for a memcpy) and decides
 * when the client switches to the live ring (http_stream.c).
 *
 * Limits: the first entry tells how many are pending; more than
 * stream.max_replay is REPLAY_TOO_OLD before anything is sent (and so is
 * a replay that keeps being outrun past that bound).  A NATS error is
 * REPLAY_FAILED.  A since whose next entry the stream no longer keeps
 * (its first sequence is past since + 1) is REPLAY_TOO_OLD too.  The thread never logs
 * (the worker's log is single-threaded): replay_why() gives the reason
 * of a failure to the worker.  The thread and the worker share the struct
 * and the last one to let go frees it, so the worker never joins.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/natsauth.h"
#include "common/streamrec.h"
#include "common/streamwire.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "server/fanout.h"
#include "server/stream_replay.h"
#include "server/ws.h"

#define REPLAY_WAIT_MS   250   /* a NextMsg, then cancel is looked at */
#define REPLAY_API_MS    2000  /* connect and JetStream requests */
#define REPLAY_SLACK     10000 /* entries past max while outrun */
#define REPLAY_FRAME_MAX (64u * 1024 * 1024)

struct replay {
	pthread_mutex_t      mu;
	pthread_cond_t       cv;
	int                  refs; /* worker + thread */
	int                  cancel;
	enum replay_state    state;
	struct buf           out;   /* ready frames */
	uint64_t             last;  /* entry of the last frame in out */
	uint64_t             given; /* last entry handed to the worker */
	struct replay_req    rq;
	struct stream_filter filter;
	int                  has_filter;
	uint64_t             count;
	char                 why[128]; /* the worker logs it */
};

static const uint32_t shape_kind[FANOUT_SHAPES] = {
	[FANOUT_LITE] = STREAMREC_LITE,
	[FANOUT_FULL] = STREAMREC_FULL,
	[FANOUT_DOMAINS] = STREAMREC_DOMAINS,
};

int
replay_frame(struct buf *out, const uint8_t *json, size_t len, uint64_t seq,
    int sse, int seqf)
{
	char    pre[32];
	uint8_t hdr[10];
	size_t  pl = 0, hl;
	int     k;

	if (seqf && len > 1 && json[0] == '{' && json[1] != '}') {
		k = snprintf(pre, sizeof(pre), "{\"seq\":%" PRIu64 ",", seq);
		pl = (size_t)k;
		json++;
		len--;
	}
	if (sse) {
		while (
		    len > 0 && (json[len - 1] == '\n' || json[len - 1] == '\r'))
			len--;
		return (buf_puts(out, "data: ") == -1 ||
		            buf_append(out, pre, pl) == -1 ||
		            buf_append(out, json, len) == -1 ||
		            buf_puts(out, "\n\n") == -1
		        ? -1
		        : 0);
	}
	hl = ws_frame_header(hdr, WS_OP_TEXT, pl + len);
	return (buf_append(out, hdr, hl) == -1 ||
	            buf_append(out, pre, pl) == -1 ||
	            buf_append(out, json, len) == -1
	        ? -1
	        : 0);
}

static void
replay_unref(struct replay *r)
{
	int refs;

	pthread_mutex_lock(&r->mu);
	refs = --r->refs;
	pthread_mutex_unlock(&r->mu);
	if (refs > 0)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	buf_free(&r->out);
	free(r);
}

/* One entry into out (the frame, or nothing when filtered out). */
static int
replay_put(struct replay *r, natsMsg *m, uint64_t seq, struct buf *tmp)
{
	struct streamwire w;
	const uint8_t    *json = NULL, *names = NULL;
	size_t            i, jl = 0, nl = 0;

	buf_reset(tmp);
	if (streamwire_decode(natsMsg_GetData(m),
	        (size_t)natsMsg_GetDataLength(m), &w) == 0) {
		for (i = 0; i < w.nparts; i++) {
			if (w.parts[i].kind == shape_kind[r->rq.shape]) {
				json = w.parts[i].data;
				jl = w.parts[i].len;
			} else if (w.parts[i].kind == STREAMREC_NAMES) {
				names = w.parts[i].data;
				nl = w.parts[i].len;
			}
		}
	}
	if (json != NULL &&
	    (!r->has_filter ||
	        stream_filter_match(
	            &r->filter, w.flags, (const char *)names, nl)) &&
	    replay_frame(tmp, json, jl, seq, r->rq.sse, r->rq.seqf) == -1)
		return (-1);
	pthread_mutex_lock(&r->mu);
	while (r->out.len >= REPLAY_BUF && !r->cancel) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	}
	i = buf_append(&r->out, tmp->data, tmp->len) == 0;
	if (i)
		r->last = seq;
	pthread_mutex_unlock(&r->mu);
	return (i ? 0 : -1);
}

/*
 * Has the stream dropped entries after since (its first message is
 * beyond since + 1)?  Sequences of other subjects fill the gaps, so
 * this is the only way to know; an error says no (the replay then fails
 * on its own if NATS is really gone).
 */
static int
replay_expired(struct replay *r, jsCtx *js)
{
	jsStreamInfo *si = NULL;
	int           old;

	if (js_GetStreamInfo(&si, js, r->rq.cf->nats.stream, NULL, NULL) !=
	    NATS_OK)
		return (0);
	old = si->State.FirstSeq > r->rq.since + 1;
	jsStreamInfo_Destroy(si);
	return (old);
}

static int
replay_connect(
    struct replay *r, natsConnection **nc, jsCtx **js, natsSubscription **sub)
{
	const struct conf *cf = r->rq.cf;
	natsOptions       *o = NULL;
	jsSubOptions       so;
	jsErrCode          jerr = 0;
	char               subj[96], why[128];
	natsStatus         s;

	if ((o = natsauth_options(cf, "notaryd-replay", why, sizeof(why))) ==
	    NULL) {
		pthread_mutex_lock(&r->mu);
		(void)snprintf(r->why, sizeof(r->why), "%s", why);
		pthread_mutex_unlock(&r->mu);
		return (-1);
	}
	s = natsOptions_SetTimeout(o, REPLAY_API_MS);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, o);
	natsOptions_Destroy(o);
	if (s == NATS_OK)
		s = natsConnection_JetStream(js, *nc, NULL);
	(void)xsnprintf(
	    subj, sizeof(subj), "%s.record", cf->nats.subject_prefix);
	jsSubOptions_Init(&so);
	so.Stream = cf->nats.stream;
	so.Ordered = true;
	so.Config.DeliverPolicy = js_DeliverByStartSequence;
	so.Config.OptStartSeq = r->rq.since + 1;
	if (s == NATS_OK && (r->rq.since > 0 && replay_expired(r, *js)))
		return (1);
	if (s == NATS_OK)
		s = js_SubscribeSync(sub, *js, subj, NULL, &so, &jerr);
	if (s != NATS_OK) {
		pthread_mutex_lock(&r->mu);
		(void)snprintf(r->why, sizeof(r->why), "%s: %s (%d)", subj,
		    natsStatus_GetText(s), (int)jerr);
		pthread_mutex_unlock(&r->mu);
		return (-1);
	}
	return (0);
}

static enum replay_state
replay_loop(struct replay *r, natsSubscription *sub)
{
	jsMsgMetaData *meta;
	struct buf     tmp;
	natsMsg       *m;
	natsStatus     s;
	uint64_t       seq, pend;
	int            ok;

	buf_init(&tmp, REPLAY_FRAME_MAX);
	for (;;) {
		pthread_mutex_lock(&r->mu);
		ok = !r->cancel;
		pthread_mutex_unlock(&r->mu);
		if (!ok)
			break;
		m = NULL;
		s = natsSubscription_NextMsg(&m, sub, REPLAY_WAIT_MS);
		if (s == NATS_TIMEOUT)
			continue;
		meta = NULL;
		if (s != NATS_OK || natsMsg_GetMetaData(&meta, m) != NATS_OK) {
			natsMsg_Destroy(m);
			buf_free(&tmp);
			return (REPLAY_FAILED);
		}
		seq = meta->Sequence.Stream;
		pend = meta->NumPending;
		jsMsgMetaData_Destroy(meta);
		if ((r->count == 0 && pend + 1 > r->rq.max) ||
		    ++r->count > r->rq.max + REPLAY_SLACK) {
			natsMsg_Destroy(m);
			buf_free(&tmp);
			return (REPLAY_TOO_OLD);
		}
		ok = replay_put(r, m, seq, &tmp);
		natsMsg_Destroy(m);
		if (ok == -1)
			break; /* a frame over the limit: as a failure */
	}
	buf_free(&tmp);
	return (ok == -1 ? REPLAY_FAILED : REPLAY_RUNNING);
}

static void *
replay_main(void *arg)
{
	struct replay    *r = arg;
	natsConnection   *nc = NULL;
	jsCtx            *js = NULL;
	natsSubscription *sub = NULL;
	enum replay_state st = REPLAY_FAILED;

	switch (replay_connect(r, &nc, &js, &sub)) {
	case 0:
		st = replay_loop(r, sub);
		break;
	case 1:
		st = REPLAY_TOO_OLD;
		break;
	}
	if (sub != NULL) {
		(void)natsSubscription_Unsubscribe(sub);
		natsSubscription_Destroy(sub);
	}
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	pthread_mutex_lock(&r->mu);
	r->state = st;
	pthread_mutex_unlock(&r->mu);
	replay_unref(r);
	return (NULL);
}

struct replay *
replay_start(const struct replay_req *rq)
{
	struct replay *r = xcalloc(1, sizeof(*r));
	pthread_attr_t at;
	pthread_t      t;
	int            e;

	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->refs = 2;
	r->rq = *rq;
	if (rq->filter != NULL) {
		r->filter = *rq->filter;
		r->has_filter = 1;
	}
	r->rq.filter = NULL;
	buf_init(&r->out, REPLAY_BUF + REPLAY_FRAME_MAX);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &at, replay_main, r);
	pthread_attr_destroy(&at);
	if (e != 0) {
		log_warnx("replay: cannot start a thread: %s", strerror(e));
		r->refs = 1;
		replay_unref(r);
		return (NULL);
	}
	return (r);
}

enum replay_state
replay_take(struct replay *r, struct buf *out, uint64_t *last)
{
	enum replay_state st;

	pthread_mutex_lock(&r->mu);
	if (r->out.len == 0 || buf_append(out, r->out.data, r->out.len) == 0) {
		buf_reset(&r->out);
		r->given = r->last;
		pthread_cond_signal(&r->cv);
	}
	*last = r->given;
	st = r->out.len == 0 ? r->state : REPLAY_RUNNING;
	pthread_mutex_unlock(&r->mu);
	return (st);
}

void
replay_why(struct replay *r, char *buf, size_t len)
{
	pthread_mutex_lock(&r->mu);
	(void)snprintf(buf, len, "%s", r->why[0] != '\0' ? r->why : "-");
	pthread_mutex_unlock(&r->mu);
}

void
replay_stop(struct replay *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->cancel = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	replay_unref(r);
}
