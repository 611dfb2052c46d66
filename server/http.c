/*
 * http.c - an HTTP worker process: one epoll loop that accepts on the
 * listening sockets it shares with its sibling workers, reads HTTP/1.x
 * requests (keep-alive, pipelining), routes them (http_routes.c) and
 * writes the responses.
 *
 * Workers face the internet: they hold no database handle and no private
 * key, every input is bounded by the config (request size, header count,
 * body size, request and keep-alive timeouts, connections per worker), and
 * nothing about a client (address, headers) is ever logged.  A worker that
 * crashes costs one respawn: nothing else is restarted.
 *
 * Connection life: READ (idle or receiving a request; request_timeout runs
 * from the first byte, so a slow sender cannot hold a slot) -> the
 * response goes to the output buffer -> flushed with EPOLLOUT as needed ->
 * next request (keep-alive) or LINGER (half-close, discard input briefly,
 * so an error response is not destroyed by a reset) -> closed.  Timers are
 * lists ordered by deadline (one per timeout kind, each timeout constant),
 * so arming and expiring are O(1).
 *
 * A connection sits on up to four lists at once, each through its own
 * link: a timer list (tq), the stream list (sq), the signer waiters (wq)
 * and, once closed, the dead list (dq).  Sharing a link between two
 * lists corrupts both (issue 13: a stream whose output backed up was put
 * on a timer list through its stream link and freed while still listed).
 *
 * A stream (websocket) connection whose client does not read: the worker
 * stops reading its frames once OUT_HIGH_WATER bytes wait to be sent, and
 * closes it when request_timeout passes without the socket taking a byte.
 *
 * Signals: TERM/INT exit at once; QUIT (graceful, sent on reload) stops
 * accepting, lets every request in progress finish, closes idle
 * connections and exits when none is left or daemon.stop_timeout passed.
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

/* Tags for epoll data that are not connections. */
static char tag_signal, tag_chan, tag_signer, tag_listen[CONF_LISTEN_MAX],
    tag_conv, tag_relay;

/* The parser's header array is what http.max_headers may fill. */
_Static_assert(HTTP_MAX_HEADERS_HARD == CONF_HEADERS_MAX,
    "http.max_headers and the parser's header array disagree");

/* ---- timers -------------------------------------------------------------- */

void
timer_set(struct worker *w, struct conn *c, enum timer_kind k)
{
	if (c->timer != TIMER_NONE)
		TAILQ_REMOVE(&w->timers[c->timer], c, tq);
	c->timer = k;
	if (k == TIMER_NONE)
		return;
	c->deadline = mono_ms() + w->timeouts[k];
	TAILQ_INSERT_TAIL(&w->timers[k], c, tq);
}

static int64_t
timer_next(struct worker *w)
{
	int64_t next = INT64_MAX;
	int     k;

	for (k = 0; k < TIMER_KINDS; k++) {
		struct conn *c = TAILQ_FIRST(&w->timers[k]);
		if (c != NULL && c->deadline < next)
			next = c->deadline;
	}
	return (next);
}

/* ---- responses ---------------------------------------------------------- */

const char *
http_date(struct worker *w)
{
	struct tm tm;
	time_t    now = time(NULL);

	if (now != w->date_at) {
		gmtime_r(&now, &tm);
		strftime(
		    w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		w->date_at = now;
	}
	return (w->date);
}

/*
 * Serialize a response into the connection's output buffer.  Security
 * headers go on every answer: the index page and error bodies are HTML or
 * text that a browser may render.
 */
void
conn_respond(struct worker *w, struct conn *c, struct http_response *resp,
    int head_only, int keep_alive)
{
	int r;

	status_count_request(w->ctx->status, resp->route, resp->status);
	if (resp->sse && resp->status == 200) {
		/* An event stream: no length, it ends when the connection does. */
		r = buf_printf(&c->out,
		    "HTTP/1.1 200 OK\r\nServer: notaryd/%s\r\n"
		    "Date: %s\r\nContent-Type: text/event-stream\r\n"
		    "Cache-Control: no-cache\r\nConnection: close\r\n"
		    "X-Accel-Buffering: no\r\n"
		    "Access-Control-Allow-Origin: *\r\n\r\n",
		    PACKAGE_VERSION, http_date(w));
		if (r != 0)
			conn_close(w, c);
		return;
	}
	if (resp->status == 101) {
		r = buf_printf(&c->out,
		    "HTTP/1.1 101 Switching Protocols\r\n"
		    "Server: notaryd/%s\r\nDate: %s\r\nConnection: Upgrade\r\n",
		    PACKAGE_VERSION, http_date(w));
		r |= buf_append(&c->out, resp->headers.data, resp->headers.len);
		r |= buf_puts(&c->out, "\r\n");
		if (r != 0)
			conn_close(w, c);
		return;
	}
	if (!keep_alive || resp->close || w->draining)
		c->close_after = 1;
	r = buf_printf(&c->out,
	    "HTTP/1.1 %d %s\r\nServer: notaryd/%s\r\n"
	    "Date: %s\r\n",
	    resp->status, http_reason(resp->status), PACKAGE_VERSION,
	    http_date(w));
	if (resp->content_type != NULL)
		r |= buf_printf(
		    &c->out, "Content-Type: %s\r\n", resp->content_type);
	r |= buf_printf(&c->out,
	    "Content-Length: %zu\r\nConnection: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
	    "Content-Security-Policy: default-src 'none'; img-src 'self'; "
	    "style-src 'self'\r\n",
	    resp->body.len, c->close_after ? "close" : "keep-alive");
	r |= buf_append(&c->out, resp->headers.data, resp->headers.len);
	r |= buf_puts(&c->out, "\r\n");
	if (!head_only)
		r |= buf_append(&c->out, resp->body.data, resp->body.len);
	if (r != 0) {
		/* Cannot happen with the bounds above; never send half. */
		log_warnx("response does not fit the output buffer");
		conn_close(w, c);
	}
}

static void
conn_respond_error(struct worker *w, struct conn *c, int status)
{
	struct http_response resp;

	http_response_init(&resp);
	http_response_error(&resp, status);
	conn_respond(w, c, &resp, 0, 0);
	http_response_free(&resp);
}

/* ---- connections -------------------------------------------------------- */

void
conn_update_events(struct worker *w, struct conn *c)
{
	struct epoll_event ev;
	uint32_t           want = 0;

	if (c->out.len > c->out_off || (c->state == CONN_STREAM && c->blocked))
		want |= EPOLLOUT;
	if (c->state == CONN_LINGER ||
	    (c->state == CONN_STREAM && !c->close_after &&
	        c->out.len - c->out_off < OUT_HIGH_WATER) ||
	    (!c->close_after && c->out.len - c->out_off < OUT_HIGH_WATER &&
	        !(c->waiting && c->in.len >= c->in.max)))
		want |= EPOLLIN | EPOLLRDHUP;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		log_warn("epoll_ctl mod");
	c->events = want;
}

/*
 * Close now, free later: the same epoll batch may still hold events for
 * this connection, so the struct lives until the batch is done.
 */
void
conn_close(struct worker *w, struct conn *c)
{
	if (c->fd == -1)
		return;
	if (c->state == CONN_STREAM)
		stream_end(w, c);
	if (c->waiting) {
		TAILQ_REMOVE(&w->waiters, c, wq);
		c->waiting = 0;
	}
	timer_set(w, c, TIMER_NONE);
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
	buf_free(&c->out);
	w->nconns--;
	TAILQ_INSERT_TAIL(&w->dead, c, dq);
}

static void
free_dead(struct worker *w)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&w->dead)) != NULL) {
		TAILQ_REMOVE(&w->dead, c, dq);
		free(c);
	}
}

/* Parse and answer every complete request in the input buffer. */
void
conn_process(struct worker *w, struct conn *c)
{
	struct http_request  req;
	struct http_response resp;
	size_t               was_len;
	int                  r;

	while (c->fd != -1 && !c->close_after && !c->waiting && c->in.len > 0 &&
	    c->out.len - c->out_off < OUT_HIGH_WATER) {
		r = http_parse_request(c->in.data, c->in.len, &w->lim, &req);
		if (r == 0) {
			if (c->in.len == c->in.max) { /* parser bug guard */
				conn_respond_error(w, c, 413);
				break;
			}
			if (c->timer != TIMER_REQUEST)
				timer_set(w, c, TIMER_REQUEST);
			break;
		}
		if (r < 0) {
			conn_respond_error(w, c, -r);
			break;
		}
		http_response_init(&resp);
		w->site.peer = (const struct sockaddr *)&c->peer;
		http_dispatch(&w->site, &req, &resp);
		w->site.peer = NULL;
		if (!resp.defer ||
		    signer_ask(w, c, &resp, req.method == HTTP_M_HEAD,
		        req.keep_alive) == -1) {
			if (resp.defer) {
				http_response_error(&resp, 503);
				buf_puts(&resp.headers, "Retry-After: 5\r\n");
			}
			conn_respond(w, c, &resp, req.method == HTTP_M_HEAD,
			    req.keep_alive);
		}
		http_response_free(&resp); /* leaves resp.filter */
		if (c->fd == -1) {
			free(resp.filter);
			return;
		}
		was_len = c->in.len;
		buf_consume(&c->in, (size_t)r);
		if (resp.status == 101 || (resp.sse && resp.status == 200)) {
			stream_begin(w, c, &resp);
			return;
		}
		free(resp.filter);
		if (c->in.len > 0 && was_len != c->in.len)
			timer_set(w, c, TIMER_REQUEST);
	}
	if (c->fd != -1)
		conn_flush(w, c);
}

void
conn_flush(struct worker *w, struct conn *c)
{
	int     had_output = c->out.len > c->out_off, progress = 0;
	ssize_t n;

	if (c->state == CONN_STREAM) {
		stream_flush(w, c);
		return;
	}
	while (c->out.len > c->out_off) {
		n = send(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_close(w, c);
			return;
		}
		c->out_off += (size_t)n;
		progress = 1;
	}
	if (c->out.len > c->out_off) {
		/*
		 * A response must be taken within request_timeout; a stream
		 * never ends, so its clock restarts whenever a byte goes out.
		 */
		if (c->timer != TIMER_REQUEST ||
		    (progress && c->state == CONN_STREAM))
			timer_set(w, c, TIMER_REQUEST);
		conn_update_events(w, c);
		return;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	if (c->state == CONN_STREAM && c->timer != TIMER_NONE)
		timer_set(w, c, TIMER_NONE);
	if (c->close_after) {
		conn_linger(w, c);
		return;
	}
	if (c->waiting) {
		conn_update_events(w, c);
		return;
	}
	if (had_output && c->in.len > 0) {
		/* Pipelined requests waited for the output to drain. */
		conn_process(w, c);
		return;
	}
	if (c->in.len == 0) {
		if (w->draining) {
			conn_close(w, c);
			return;
		}
		/* An answer went out: the idle time starts again now. */
		if (c->timer != TIMER_IDLE || had_output)
			timer_set(w, c, TIMER_IDLE);
	}
	conn_update_events(w, c);
}

static void
conn_read(struct worker *w, struct conn *c)
{
	char    scratch[READ_CHUNK];
	ssize_t n;
	size_t  room;

	if (c->state == CONN_LINGER) {
		while ((n = recv(c->fd, scratch, sizeof(scratch), 0)) > 0)
			;
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			conn_close(w, c);
		return;
	}
	for (;;) {
		room = c->in.max - c->in.len;
		if (room == 0)
			break;
		if (room > READ_CHUNK)
			room = READ_CHUNK;
		if (buf_reserve(&c->in, room) == -1)
			break;
		n = recv(c->fd, c->in.data + c->in.len, room, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* Peer closed or reset: nothing more to answer. */
			conn_close(w, c);
			return;
		}
		c->in.len += (size_t)n;
		if ((size_t)n < room)
			break;
	}
	if (c->state == CONN_STREAM)
		stream_input(w, c);
	else
		conn_process(w, c);
}

/* ---- the signer --------------------------------------------------------- */

int
signer_connect(struct worker *w)
{
	struct sockaddr_un sun;
	struct epoll_event ev;
	int                fd;

	if (w->sig_fd != -1)
		return (0);
	if (mono_ms() < w->sig_retry_at)
		return (-1);
	if (store_sockaddr(w->cf, STORE_SIGNER_SOCK, &sun) == -1)
		return (-1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("cannot reach the signer");
		close(fd);
		w->sig_retry_at = mono_ms() + SIGNER_RETRY_MS;
		return (-1);
	}
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = &tag_signer;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		return (-1);
	}
	w->sig_fd = fd;
	return (0);
}

/* ---- timers firing ------------------------------------------------------ */

static void
expire_timers(struct worker *w)
{
	struct conn *c;
	int64_t      now = mono_ms();
	int          k;

	for (k = 0; k < TIMER_KINDS; k++) {
		while ((c = TAILQ_FIRST(&w->timers[k])) != NULL &&
		    c->deadline <= now) {
			if (k == TIMER_REQUEST && c->state == CONN_READ &&
			    c->in.len > 0 && c->out.len == c->out_off &&
			    !c->close_after) {
				/* A request started but never finished. */
				buf_reset(&c->in);
				conn_respond_error(w, c, 408);
				if (c->fd != -1)
					conn_flush(w, c);
				if (c->fd != -1 && c->timer == TIMER_REQUEST)
					conn_close(w, c);
			} else {
				conn_close(w, c);
			}
		}
	}
}

/* ---- worker life -------------------------------------------------------- */

static void
epoll_add_tag(struct worker *w, int fd, void *tag, uint32_t events)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.ptr = tag;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl add");
}

void
stop_accepting(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->ctx->nlisten; i++)
		epoll_ctl(w->ep, EPOLL_CTL_DEL, w->ctx->listen_fds[i], NULL);
	w->accepting = 0;
}

static void
resume_accepting(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->ctx->nlisten && i < NELEM(tag_listen); i++)
		epoll_add_tag(w, w->ctx->listen_fds[i], &tag_listen[i],
		    EPOLLIN | EPOLLEXCLUSIVE);
	w->accepting = 1;
}

/*
 * Graceful stop (reload or SIGQUIT): no new connections.  Established
 * ones are not dropped: a request in progress is answered, an idle
 * keep-alive connection may still send one more request, and every
 * answer now carries "Connection: close".  The worker exits when the last
 * connection is gone, or at the drain deadline.
 */
static void
begin_drain(struct worker *w)
{
	int64_t grace;

	if (w->draining)
		return;
	w->draining = 1;
	grace =
	    w->cf->http.keepalive_timeout_ms + w->cf->http.request_timeout_ms;
	if (grace < w->cf->daemon.stop_timeout_ms)
		grace = w->cf->daemon.stop_timeout_ms;
	w->drain_deadline = mono_ms() + grace;
	if (w->accepting)
		stop_accepting(w);
	if (w->conv != NULL)
		conv_http_drain(w->conv);
	if (w->relay != NULL)
		conv_proxy_drain(w->relay);
	log_debug("draining %d connections", w->nconns);
}

static int
handle_signals(struct worker *w)
{
	struct proc_signals s;

	memset(&s, 0, sizeof(s));
	if (proc_read_signals(w->sfd, &s) == -1)
		return (-1);
	if (s.reopen)
		log_reopen();
	if (s.stop)
		return (-1);
	if (s.quit)
		begin_drain(w);
	return (0);
}

static void
worker_init(struct worker *w, struct proc_ctx *ctx)
{
	const struct conf *cf = ctx->cf;
	int                k;

	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->cf = cf;
	w->lim.max_request = cf->http.max_request;
	w->lim.max_headers = (size_t)cf->http.max_headers;
	w->lim.max_body = cf->http.max_body;
	w->timeouts[TIMER_IDLE] = cf->http.keepalive_timeout_ms;
	w->timeouts[TIMER_REQUEST] = cf->http.request_timeout_ms;
	w->timeouts[TIMER_LINGER] = LINGER_MS;
	for (k = 0; k < TIMER_KINDS; k++)
		TAILQ_INIT(&w->timers[k]);
	TAILQ_INIT(&w->dead);
	TAILQ_INIT(&w->streams);
	TAILQ_INIT(&w->waiters);
	w->sig_fd = -1;
	http_site_init(&w->site, cf, ctx->status, ctx->cache);
	w->site.ring = ctx->ring;
	w->slot = status_http_claim(ctx->status, (uint32_t)getpid());
	if (cf->ctwatch.enabled && ctx->ring != NULL)
		w->fo = fanout_new(ctx->ring, (size_t)cf->stream.client_queue);
	if (w->fo != NULL && cf->stream.compression)
		(void)fanout_enable_deflate(w->fo); /* else plain frames */
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	epoll_add_tag(w, ctx->chan, &tag_chan, EPOLLIN | EPOLLRDHUP);
	if (ctx->nlisten > NELEM(tag_listen))
		fatalx("too many listening sockets");
	resume_accepting(w);
	if ((w->conv = conv_http_new(ctx)) != NULL)
		epoll_add_tag(w, conv_http_fd(w->conv), &tag_conv, EPOLLIN);
	if ((w->relay = conv_proxy_new(ctx, w->slot)) != NULL)
		epoll_add_tag(w, conv_proxy_fd(w->relay), &tag_relay, EPOLLIN);
}

static int
is_listen_tag(const void *p)
{
	return ((const char *)p >= tag_listen &&
	    (const char *)p < tag_listen + NELEM(tag_listen));
}

static int
wait_timeout(struct worker *w)
{
	int64_t now = mono_ms(), next = timer_next(w);

	if (w->draining && w->drain_deadline < next)
		next = w->drain_deadline;
	if (w->accept_paused_until != 0 && !w->draining &&
	    w->accept_paused_until < next)
		next = w->accept_paused_until;
	if (!TAILQ_EMPTY(&w->streams) && w->next_stream_tick < next)
		next = w->next_stream_tick;
	if (!TAILQ_EMPTY(&w->streams) && w->fo != NULL && w->next_pull < next)
		next = w->next_pull;
	if (!TAILQ_EMPTY(&w->waiters) &&
	    TAILQ_FIRST(&w->waiters)->wait_deadline < next)
		next = TAILQ_FIRST(&w->waiters)->wait_deadline;
	if (w->conv != NULL && conv_http_next_ms(w->conv) >= 0 &&
	    now + conv_http_next_ms(w->conv) < next)
		next = now + conv_http_next_ms(w->conv);
	if (w->relay != NULL && conv_proxy_next_ms(w->relay) >= 0 &&
	    now + conv_proxy_next_ms(w->relay) < next)
		next = now + conv_proxy_next_ms(w->relay);
	if (next == INT64_MAX)
		return (-1);
	return (next > now ? (int)(next - now) : 0);
}

static void *
http_open(struct proc_ctx *ctx, int *code)
{
	struct worker *w = xcalloc(1, sizeof(*w));

	(void)code;
	worker_init(w, ctx);
	return (w);
}

static int
http_run(void *state, struct proc_ctx *ctx, int sfd)
{
	struct epoll_event ev[MAX_EVENTS];
	struct worker     *w = state;
	struct conn       *c;
	int                n, i, stop = 0;

	w->sfd = sfd;
	epoll_add_tag(w, sfd, &tag_signal, EPOLLIN);
	while (!stop) {
		n = epoll_wait(w->ep, ev, MAX_EVENTS, wait_timeout(w));
		if (n == -1 && errno != EINTR)
			fatal("epoll_wait");
		for (i = 0; i < n && !stop; i++) {
			void *p = ev[i].data.ptr;
			if (p == &tag_signal) {
				stop = handle_signals(w) == -1;
			} else if (p == &tag_chan) {
				if (proc_chan_read(ctx) == -1) {
					log_info("master is gone; exiting");
					stop = 1;
				}
			} else if (p == &tag_conv || p == &tag_relay) {
				continue; /* conv_*_run below */
			} else if (p == &tag_signer) {
				if (w->sig_fd != -1)
					signer_read(w);
			} else if (is_listen_tag(p)) {
				if (w->accepting)
					accept_clients(w,
					    ctx->listen_fds[(const char *)p -
					        tag_listen]);
			} else {
				c = p;
				if (c->fd == -1)
					continue;
				if (ev[i].events &
				    (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
				        EPOLLERR))
					conn_read(w, c);
				else if (ev[i].events & EPOLLOUT)
					conn_flush(w, c);
			}
		}
		if (w->accept_paused_until != 0 && !w->draining &&
		    mono_ms() >= w->accept_paused_until) {
			w->accept_paused_until = 0;
			resume_accepting(w);
		}
		if (w->conv != NULL)
			conv_http_run(w->conv);
		if (w->relay != NULL)
			conv_proxy_run(w->relay);
		expire_timers(w);
		expire_waiters(w);
		stream_pump(w);
		stream_tick(w);
		free_dead(w);
		trim_after_drop(w);
		if (w->draining &&
		    ((w->nconns == 0 &&
		         (w->conv == NULL || conv_http_busy(w->conv) == 0) &&
		         (w->relay == NULL || conv_proxy_busy(w->relay) == 0)) ||
		        mono_ms() >= w->drain_deadline)) {
			streams_going_away(w);
			stop = 1;
		}
	}
	return (PROC_EXIT_OK);
}

static void
http_close(void *state)
{
	struct worker *w = state;

	if (w->conv != NULL)
		conv_http_free(w->conv);
	if (w->relay != NULL)
		conv_proxy_free(w->relay);
	http_site_free(&w->site);
	fanout_free(w->fo);
	free(w);
}

const struct role_ops http_role = { http_open, http_run, http_close, 0 };
