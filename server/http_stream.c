/*
 * http_stream.c - the stream connections of an HTTP worker: websocket
 * (and Server-Sent Events) clients of the CT stream, after the upgrade.
 *
 * Runs in every HTTP worker, called from its event loop (http.c).  Each
 * connection is a client of the worker's fan-out (fanout.c): this file
 * starts and ends them, writes to them (stream_flush), feeds them new
 * ring records (stream_pump), reads their control frames, and keeps them
 * alive or drops them (stream_tick).  Its counters go to the shared
 * status table.  A write error closes that one client; nothing here logs
 * a client address.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "server/http_int.h"
#include "server/client_limit.h"

static int  replay_begin(struct worker *, struct conn *, uint64_t);
static void replay_end(struct worker *, struct conn *);
static void replay_step(struct worker *, struct conn *);
static void
stream_close(struct worker *, struct conn *, unsigned, const char *);

/* ---- websocket streams -------------------------------------------------- */

/*
 * The connection now speaks websocket: it gets the frames of its shape
 * from the fan-out (fanout.c), a ping every stream.ping_interval, a JSON
 * heartbeat every stream.json_heartbeat, and close 1008 after
 * stream.idle_timeout without any frame from the client (its pongs to
 * our pings count).  A stream connection is on w->streams (sq) and on no
 * timer list; its output is written only by stream_flush(), which puts
 * control frames between data frames.
 */
static enum fanout_shape
shape_of(enum http_stream st)
{
	if (st == HTTP_STREAM_FULL)
		return (FANOUT_FULL);
	if (st == HTTP_STREAM_DOMAINS)
		return (FANOUT_DOMAINS);
	return (FANOUT_LITE);
}

void
stream_begin(struct worker *w, struct conn *c, const struct http_response *resp)
{
	enum http_stream st = resp->stream;
	int              sse = resp->sse;
	int64_t          now = mono_ms();

	timer_set(w, c, TIMER_NONE);
	c->state = CONN_STREAM;
	c->stream = st;
	c->blocked = 0;
	c->sse = sse;
	c->deflate = resp->deflate;
	c->client_key = resp->client_key;
	(void)climit_add(w->slot, STATUS_CL_STREAM, c->client_key, 1);
	c->filter = resp->filter; /* taken: freed by stream_end */
	memset(&c->fc, 0, sizeof(c->fc));
	/*
	 * The client is owed the entries published from now on, i.e. once
	 * its upgrade is accepted and before the 101 goes out: everything
	 * published after the client reads the 101 reaches it, nothing
	 * published before it sent the request does (fanout_client_init
	 * keeps the ring's head, so a busy worker whose cursor lags still
	 * sends nothing older).  An idle worker moves its cursor only when
	 * it pumps: move it now, so it does not read the older records.
	 */
	if (w->fo != NULL && TAILQ_EMPTY(&w->streams))
		fanout_idle(w->fo);
	if (w->fo != NULL)
		fanout_client_init(w->fo, &c->fc, shape_of(st),
		    sse              ? FANOUT_SSE
		        : c->deflate ? FANOUT_WSZ
		                     : FANOUT_WS);
	c->fc.filter = c->filter;
	c->fc.seqf = resp->seq;
	c->replay = NULL;
	c->fc.id = ((uint64_t)getpid() << 32) | ++w->client_serial;
	if (w->slot != NULL)
		atomic_fetch_add(&w->slot->clients[c->fc.shape], 1);
	atomic_fetch_add_explicit(&w->ctx->status->stream.connects[c->fc.shape],
	    1, memory_order_relaxed);
	c->in.max = STREAM_IN_MAX;
	c->last_rx = now;
	c->next_ping = now + w->cf->stream.ping_interval_ms;
	c->next_heartbeat = w->cf->stream.json_heartbeat_ms > 0
	    ? now + w->cf->stream.json_heartbeat_ms
	    : INT64_MAX;
	TAILQ_INSERT_TAIL(&w->streams, c, sq);
	if (resp->since_set && replay_begin(w, c, resp->since) == -1)
		return;
	if (c->in.len > 0)
		stream_input(w, c);
	else
		conn_flush(w, c);
}

/* Leaving the stream state (closing or lingering). */
void
stream_end(struct worker *w, struct conn *c)
{
	TAILQ_REMOVE(&w->streams, c, sq);
	replay_end(w, c);
	if (w->slot != NULL)
		atomic_fetch_sub(&w->slot->clients[c->fc.shape], 1);
	(void)climit_add(w->slot, STATUS_CL_STREAM, c->client_key, -1);
	fanout_client_free(w->fo, &c->fc);
	free(c->filter);
	c->filter = NULL;
	c->fc.filter = NULL;
	c->state = CONN_READ;
	c->blocked = 0;
	stream_publish(w); /* its last counts, before it is gone */
}

/* Bytes this client has been sent so far (frames and control frames). */
static uint64_t
progress_mark(struct worker *w, struct conn *c)
{
	(void)w;
	return (c->fc.bytes);
}

/*
 * A ?since= client's output was allowed to grow to REPLAY_OUT_MAX for
 * the replay; once it is live and its output drained, it gets the
 * ordinary bound again and the memory back.
 */
static void
release_replay_room(struct conn *c)
{
	if (c->out.len != 0)
		return;
	buf_free(&c->out);
	buf_init(&c->out, OUT_MAX);
	c->out_off = 0;
}

/*
 * Write what the client is owed: the rest of a frame, control frames,
 * new frames (none once our close frame is queued).  A full socket waits
 * for EPOLLOUT and meanwhile the client falls behind, never the others.
 */
void
stream_flush(struct worker *w, struct conn *c)
{
	uint64_t before, after;
	int      r;

	before = progress_mark(w, c);
	r = fanout_client_write(
	    w->fo, &c->fc, c->fd, &c->out, &c->out_off, c->close_after);
	if (r == -1) {
		conn_close(w, c);
		return;
	}
	c->blocked = r == 0;
	if (r == 1 && c->replay == NULL && c->out.max > OUT_MAX)
		release_replay_room(c);
	/*
	 * A client whose socket takes nothing for request_timeout is closed
	 * (meanwhile it only skips frames); the clock restarts whenever a
	 * byte goes out, and stops once nothing waits.
	 */
	after = progress_mark(w, c);
	if (r == 1)
		timer_set(w, c, TIMER_NONE);
	else if (c->timer == TIMER_NONE || after != before)
		timer_set(w, c, TIMER_REQUEST);
	if (r == 1 && c->close_after) {
		conn_linger(w, c);
		return;
	}
	conn_update_events(w, c);
}

/*
 * New ring records, a batch at a time: enforce every client's queue
 * bound, and write to every client whose socket has room.
 */
void
stream_pump(struct worker *w)
{
	struct conn *c, *next;
	int64_t      now = mono_ms();
	int          i;

	if (w->fo == NULL || now < w->next_pull)
		return;
	w->next_pull = now + STREAM_PULL_MS;
	if (TAILQ_EMPTY(&w->streams)) {
		fanout_idle(w->fo);
		return;
	}
	for (i = 0; i < STREAM_PULLS; i++) {
		if (fanout_pull(w->fo) == 0)
			break;
		for (c = TAILQ_FIRST(&w->streams); c != NULL; c = next) {
			next = TAILQ_NEXT(c, sq);
			if (c->replay != NULL) {
				c->fc.seq = w->fo->head; /* replay covers it */
				continue;
			}
			fanout_client_check(w->fo, &c->fc);
			if (!c->blocked && !c->close_after)
				stream_flush(w, c);
		}
	}
	if (w->nreplays == 0)
		return;
	for (c = TAILQ_FIRST(&w->streams); c != NULL; c = next) {
		next = TAILQ_NEXT(c, sq);
		if (c->replay != NULL)
			replay_step(w, c);
	}
}

static void
stream_close(
    struct worker *w, struct conn *c, unsigned code, const char *reason)
{
	buf_reset(&c->in);
	if (!c->sse && ws_put_close(&c->out, code, reason) == -1) {
		conn_close(w, c);
		return;
	}
	c->close_after = 1; /* SSE: the close is the end of the stream */
	conn_flush(w, c);
}

void
stream_input(struct worker *w, struct conn *c)
{
	struct ws_frame f;
	long            n;

	if (c->sse) {
		buf_reset(&c->in); /* an SSE client has nothing to say */
		c->last_rx = mono_ms();
		conn_flush(w, c);
		return;
	}
	while (c->fd != -1 && !c->close_after && c->in.len > 0) {
		n = ws_parse_frame_ext(
		    (uint8_t *)c->in.data, c->in.len, &f, c->deflate);
		if (n == 0)
			break;
		if (n < 0) {
			stream_close(w, c, (unsigned)-n,
			    n == -WS_CLOSE_TOO_BIG ? "Frame too big"
			                           : "Protocol error");
			return;
		}
		c->last_rx = mono_ms();
		if (f.opcode == WS_OP_PING) {
			if (ws_put_frame(
			        &c->out, WS_OP_PONG, f.payload, f.len) == -1) {
				conn_close(w, c);
				return;
			}
		} else if (f.opcode == WS_OP_CLOSE) {
			/*
			 * Echo a valid code (RFC 6455 §5.5.1), answer an
			 * invalid one with 1002 (§7.4), then close.
			 */
			stream_close(
			    w, c, ws_close_reply(f.payload, f.len), "");
			return;
		}
		/* Pongs and data frames only count as signs of life. */
		buf_consume(&c->in, (size_t)n);
	}
	if (c->fd != -1)
		conn_flush(w, c);
}

static void
stream_heartbeat(struct conn *c)
{
	struct timespec ts;
	char            json[96];
	int             n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(json, sizeof(json),
	    "{\"message_type\":\"heartbeat\","
	    "\"timestamp\":%lld.%03ld}",
	    (long long)ts.tv_sec, ts.tv_nsec / 1000000);
	if (c->sse)
		buf_printf(&c->out, "data: %s\n\n", json);
	else
		ws_put_frame(&c->out, WS_OP_TEXT, json, (size_t)n);
}

_Static_assert((int)FANOUT_LITE == (int)STATUS_SHAPE_LITE &&
        (int)FANOUT_FULL == (int)STATUS_SHAPE_FULL &&
        (int)FANOUT_DOMAINS == (int)STATUS_SHAPE_DOMAINS,
    "shape numbering");

static void
publish_delta(_Atomic uint64_t *to, uint64_t now, uint64_t *was)
{
	if (now != *was)
		atomic_fetch_add_explicit(to, now - *was, memory_order_relaxed);
	*was = now;
}

/*
 * This worker's fan-out counters into the shared table (so any worker
 * answers /stats and /metrics for the whole daemon), and its clients
 * that skipped most, by opaque id, for the per-client skip metric.
 */
void
stream_publish(struct worker *w)
{
	struct status_stream *ss = &w->ctx->status->stream;
	struct conn          *c;
	struct fanout_client *top[STATUS_TOP_SKIPPERS];
	size_t                n = 0, i, j;
	int                   s;

	if (w->fo == NULL)
		return;
	for (s = 0; s < FANOUT_SHAPES; s++) {
		publish_delta(&ss->sent[s], w->fo->sent[s], &w->pub_sent[s]);
		publish_delta(
		    &ss->skipped[s], w->fo->skipped[s], &w->pub_skipped[s]);
		publish_delta(&ss->bytes[s], w->fo->bytes[s], &w->pub_bytes[s]);
		publish_delta(
		    &ss->bytes_plain[s], w->fo->plain[s], &w->pub_plain[s]);
	}
	publish_delta(&ss->worker_lost, w->fo->ring_lost, &w->pub_lost);
	if (w->slot == NULL)
		return;
	TAILQ_FOREACH(c, &w->streams, sq)
	{
		if (c->fc.skipped == 0)
			continue;
		for (i = 0; i < n && top[i]->skipped >= c->fc.skipped; i++)
			;
		if (i == STATUS_TOP_SKIPPERS)
			continue;
		if (n < STATUS_TOP_SKIPPERS)
			n++;
		for (j = n - 1; j > i; j--)
			top[j] = top[j - 1];
		top[i] = &c->fc;
	}
	for (i = 0; i < STATUS_TOP_SKIPPERS; i++) {
		atomic_store(
		    &w->slot->top[i].skipped, i < n ? top[i]->skipped : 0);
		atomic_store(&w->slot->top[i].id, i < n ? top[i]->id : 0);
	}
}

void
stream_tick(struct worker *w)
{
	struct conn *c, *next;
	int64_t      now = mono_ms();

	if (now < w->next_stream_tick)
		return;
	w->next_stream_tick = now + STREAM_TICK_MS;
	stream_publish(w);
	for (c = TAILQ_FIRST(&w->streams); c != NULL; c = next) {
		next = TAILQ_NEXT(c, sq);
		if (c->close_after)
			continue;
		if (!c->sse &&
		    now - c->last_rx > w->cf->stream.idle_timeout_ms) {
			stream_close(
			    w, c, WS_CLOSE_POLICY, "No ping received!");
			continue;
		}
		if (now >= c->next_ping) {
			/* SSE: a comment line keeps proxies from timing out */
			if (c->sse)
				buf_puts(&c->out, ":\n\n");
			else
				ws_put_frame(&c->out, WS_OP_PING, NULL, 0);
			c->next_ping = now + w->cf->stream.ping_interval_ms;
		}
		if (now >= c->next_heartbeat) {
			stream_heartbeat(c);
			c->next_heartbeat =
			    now + w->cf->stream.json_heartbeat_ms;
		}
		if (c->out.len > c->out_off && !c->blocked)
			stream_flush(w, c);
	}
}

/* Drain deadline: tell stream clients we are going away (1001). */
void
streams_going_away(struct worker *w)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&w->streams); c != NULL; c = next) {
		next = TAILQ_NEXT(c, sq);
		if (!c->close_after)
			stream_close(w, c, 1001, "Server restarting");
	}
}

/* ---- ?since= ------------------------------------------------------------ */

/*
 * A client that asked for since=N gets the entries after N: those
 * already in this front's ring when it attached (up to replay_until,
 * the sequence natsrc last wrote) from JetStream through a replay
 * thread, the rest live.  Meanwhile its live position stays at the
 * window's head (no backlog, no skip).  A since at or past replay_until
 * needs no replay: live frames below since + 1 are left out.  -1 when
 * the connection is being closed.
 */
static int
replay_begin(struct worker *w, struct conn *c, uint64_t since)
{
	struct replay_req rq;
	uint64_t          next = atomic_load(&w->ctx->status->natsrc.next_seq);

	c->replay_until = next > 0 ? next - 1 : 0;
	if (since >= c->replay_until) {
		c->fc.min_jsseq = since + 1;
		return (0);
	}
	if (w->nreplays >= REPLAY_PER_WORKER) {
		stream_close(w, c, 1013, "Too many replays; try again later");
		return (-1);
	}
	memset(&rq, 0, sizeof(rq));
	rq.cf = w->cf;
	rq.since = since;
	rq.max = (uint64_t)w->cf->stream.max_replay;
	rq.shape = c->fc.shape;
	rq.sse = c->sse;
	rq.seqf = c->fc.seqf;
	rq.filter = c->filter;
	if ((c->replay = replay_start(&rq)) == NULL) {
		stream_close(w, c, 1011, "Replay unavailable");
		return (-1);
	}
	w->nreplays++;
	c->out.max = REPLAY_OUT_MAX;
	if (w->fo != NULL)
		c->fc.seq = w->fo->head;
	return (0);
}

static void
replay_end(struct worker *w, struct conn *c)
{
	if (c->replay == NULL)
		return;
	replay_stop(c->replay);
	c->replay = NULL;
	w->nreplays--;
}

/*
 * Move the frames the thread made to the client; once they reach both
 * replay_until and the newest live frame, the client goes live from the
 * next frame, leaving out the entries the replay already sent.
 */
static void
replay_step(struct worker *w, struct conn *c)
{
	enum replay_state st;
	uint64_t          last, until = c->replay_until, newest;
	char              why[128];

	if (c->close_after)
		return;
	st = replay_take(c->replay, &c->out, &last);
	if (st == REPLAY_FAILED) {
		replay_why(c->replay, why, sizeof(why));
		log_warnx("stream: a ?since= replay failed: %s", why);
	}
	if (st != REPLAY_RUNNING) {
		replay_end(w, c);
		stream_close(w, c, st == REPLAY_TOO_OLD ? 1008 : 1011,
		    st == REPLAY_TOO_OLD ? "since: more than stream.max_replay "
		                           "entries back"
		                         : "since: JetStream cannot be read");
		return;
	}
	newest = w->fo != NULL ? fanout_newest_jsseq(w->fo) : 0;
	if (newest > until)
		until = newest;
	if (last >= until) {
		c->fc.min_jsseq = last + 1;
		replay_end(w, c);
	}
	if (!c->blocked)
		stream_flush(w, c);
}
