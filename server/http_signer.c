/*
 * http_signer.c - an HTTP worker's side of the signer channel: asking
 * the signer for a reply the cache does not hold, reading its answers,
 * turning them into HTTP, and answering 503 when the signer does not
 * answer in time.  Runs in the HTTP workers; a lost signer connection
 * fails only the requests waiting on it.
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/conf.h"
#include "server/conv_http.h"
#include "server/conv_proxy.h"
#include "server/fanout.h"
#include "server/stream_filter.h"
#include "server/client_limit.h"
#include "server/http.h"
#include "server/http_int.h"
#include "server/http_parser.h"
#include "server/http_routes.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/status.h"
#include "server/sigproto.h"
#include "common/util.h"
#include "server/ws.h"
#include "store/paths.h"
#include "common/xmalloc.h"

static void signer_fail_waiters(struct worker *w);
static void signer_disconnect(struct worker *w);
static void signer_answer(
    struct worker *w, struct conn *c, int status, const void *body, size_t len);

/*
 * One connection per worker to whichever signer accepts it on the
 * master's socket.  Losing it fails the requests waiting on it (503) and
 * the next miss reconnects; a signer restart therefore costs the misses
 * in flight and nothing else (cache hits never touch the signer).
 */
static void
signer_fail_waiters(struct worker *w)
{
	struct http_response resp;
	struct conn         *c;

	while ((c = TAILQ_FIRST(&w->waiters)) != NULL) {
		TAILQ_REMOVE(&w->waiters, c, wq);
		c->waiting = 0;
		signer_count(w, c, SIG_UNAVAILABLE);
		http_response_init(&resp);
		resp.route = STATUS_RT_PERSPECTIVES;
		http_response_from_signer(&resp, SIG_UNAVAILABLE, NULL, 0, 0);
		conn_respond(w, c, &resp, c->wait_head, c->wait_keep_alive);
		http_response_free(&resp);
		if (c->fd != -1)
			conn_process(w, c);
	}
}

static void
signer_disconnect(struct worker *w)
{
	if (w->sig_fd == -1)
		return;
	epoll_ctl(w->ep, EPOLL_CTL_DEL, w->sig_fd, NULL);
	close(w->sig_fd);
	w->sig_fd = -1;
	w->sig_retry_at = mono_ms() + SIGNER_RETRY_MS;
	signer_fail_waiters(w);
}

/* Send the miss to the signer and park the connection.  0, or -1 (503). */
int
signer_ask(struct worker *w, struct conn *c, const struct http_response *resp,
    int head, int keep_alive)
{
	struct sigproto_req req;
	uint8_t             msg[SIGPROTO_REQ_HDR + SIGPROTO_ID_MAX];
	long                n;

	if (signer_connect(w) == -1)
		return (-1);
	req.seq = ++w->sig_seq;
	req.fmt = resp->defer_fmt;
	req.flags = resp->defer_flags;
	req.idlen = resp->defer_idlen;
	req.id = resp->defer_id;
	if ((n = sigproto_req_encode(msg, sizeof(msg), &req)) == -1)
		return (-1);
	if (send(w->sig_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
		if (errno != EAGAIN)
			signer_disconnect(w);
		return (-1);
	}
	c->waiting = 1;
	c->wait_seq = req.seq;
	c->wait_fmt = req.fmt;
	c->wait_head = head;
	c->wait_keep_alive = keep_alive;
	/* A held Perspectives query may take perspectives.hold. */
	c->wait_deadline = mono_ms() +
	    (w->cf->perspectives.hold_ms + 1000 > SIGNER_WAIT_MS
	            ? w->cf->perspectives.hold_ms + 1000
	            : SIGNER_WAIT_MS);
	c->wait_start_ns = mono_ns();
	timer_set(w, c, TIMER_NONE);
	TAILQ_INSERT_TAIL(&w->waiters, c, wq);
	return (0);
}

/*
 * Signer round trips as the client sees them, for /metrics: by result
 * (ok, unknown, bad, unavailable; timeout when we gave up waiting) and
 * a latency histogram.
 */
void
signer_count(struct worker *w, struct conn *c, int status)
{
	struct status *st = w->ctx->status;
	int            k;

	if (mono_ms() >= c->wait_deadline)
		k = 4;
	else if (status == SIG_OK)
		k = 0;
	else if (status == SIG_UNKNOWN)
		k = 1;
	else if (status == SIG_BAD)
		k = 2;
	else
		k = 3;
	atomic_fetch_add_explicit(
	    &st->counters.signer[k], 1, memory_order_relaxed);
	status_observe_latency(st, (mono_ns() - c->wait_start_ns) / 1000);
}

static void
signer_answer(
    struct worker *w, struct conn *c, int status, const void *body, size_t len)
{
	struct http_response resp;

	TAILQ_REMOVE(&w->waiters, c, wq);
	c->waiting = 0;
	signer_count(w, c, status);
	http_response_init(&resp);
	resp.route = STATUS_RT_PERSPECTIVES;
	http_response_from_signer(&resp, status, body, len, c->wait_fmt);
	conn_respond(w, c, &resp, c->wait_head, c->wait_keep_alive);
	http_response_free(&resp);
	if (c->fd == -1)
		return;
	if (c->in.len > 0 && !c->close_after)
		conn_process(w, c); /* pipelined requests behind it */
	else
		conn_flush(w, c);
}

void
signer_read(struct worker *w)
{
	static uint8_t      msg[SIGPROTO_REP_HDR + SIGPROTO_BODY_MAX];
	struct sigproto_rep rep;
	struct conn        *c;
	ssize_t             n;

	for (;;) {
		n = recv(w->sig_fd, msg, sizeof(msg), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			log_info("signer connection lost");
			signer_disconnect(w);
			return;
		}
		if (sigproto_rep_decode(msg, (size_t)n, &rep) == -1) {
			log_warnx("malformed reply from the signer");
			signer_disconnect(w);
			return;
		}
		TAILQ_FOREACH(c, &w->waiters, wq)
		if (c->wait_seq == rep.seq)
			break;
		if (c == NULL)
			continue; /* its client left, or it timed out */
		signer_answer(w, c, rep.status, rep.body, rep.len);
	}
}

void
expire_waiters(struct worker *w)
{
	struct conn *c;
	int64_t      now = mono_ms();

	while (
	    (c = TAILQ_FIRST(&w->waiters)) != NULL && c->wait_deadline <= now)
		signer_answer(w, c, SIG_UNAVAILABLE, NULL, 0);
}
