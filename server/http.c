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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/conf.h"
#include "server/http.h"
#include "server/http_parser.h"
#include "server/http_routes.h"
#include "common/log.h"
#include "common/proc.h"
#include "server/sigproto.h"
#include "common/util.h"
#include "server/ws.h"
#include "store/paths.h"
#include "common/xmalloc.h"

#define OUT_HIGH_WATER	(256 * 1024)	/* stop parsing more pipelined */
#define OUT_MAX		(HTTP_BODY_MAX + 64 * 1024)
#define LINGER_MS	2000
#define ACCEPT_BURST	64
#define MAX_EVENTS	256
#define READ_CHUNK	16384
#define STREAM_TICK_MS	100		/* pings, heartbeats, idle checks */
#define STREAM_IN_MAX	(2 * (WS_CLIENT_FRAME_MAX + 14))
#define SIGNER_WAIT_MS	2000		/* then 503: relayd waits 1 s */
#define SIGNER_RETRY_MS	100		/* reconnect back-off */

enum conn_state {
	CONN_READ,		/* waiting for or receiving a request */
	CONN_STREAM,		/* upgraded to a websocket stream */
	CONN_LINGER,		/* half-closed after the last response */
};

enum timer_kind {
	TIMER_NONE = -1,
	TIMER_IDLE = 0,		/* keepalive_timeout */
	TIMER_REQUEST,		/* request_timeout: receiving or sending */
	TIMER_LINGER,
	TIMER_KINDS,
};

struct conn {
	int			 fd;
	enum conn_state		 state;
	struct buf		 in;
	struct buf		 out;
	size_t			 out_off;	/* bytes of out already sent */
	int			 close_after;	/* close once out is flushed */
	uint32_t		 events;	/* registered with epoll */
	enum timer_kind		 timer;
	int64_t			 deadline;
	TAILQ_ENTRY(conn)	 tq;	/* a timer list, or streams */
	/* Waiting for the signer (one request at a time per connection). */
	int			 waiting;
	uint32_t		 wait_seq;
	uint8_t			 wait_fmt;
	int			 wait_head;	/* HEAD: no body */
	int			 wait_keep_alive;
	int64_t			 wait_deadline;
	TAILQ_ENTRY(conn)	 wq;
	/* CONN_STREAM only: */
	enum http_stream	 stream;
	int64_t			 last_rx;	/* last frame from the client */
	int64_t			 next_ping;
	int64_t			 next_heartbeat;
};
TAILQ_HEAD(connq, conn);

struct worker {
	struct proc_ctx		*ctx;
	const struct conf	*cf;
	struct http_site	 site;
	struct http_limits	 lim;
	int			 ep;
	int			 sfd;
	int			 accepting;
	int64_t			 accept_paused_until;
	int			 draining;
	int64_t			 drain_deadline;
	int			 nconns;
	struct connq		 timers[TIMER_KINDS];
	struct connq		 dead;		/* closed, freed after the batch */
	struct connq		 streams;	/* CONN_STREAM connections */
	struct connq		 waiters;	/* waiting for the signer */
	int			 sig_fd;	/* connection to a signer */
	int64_t			 sig_retry_at;
	uint32_t		 sig_seq;
	int64_t			 next_stream_tick;
	int64_t			 timeouts[TIMER_KINDS];
	char			 date[64];
	time_t			 date_at;
};

static void	conn_close(struct worker *, struct conn *);
static void	conn_flush(struct worker *, struct conn *);
static void	conn_process(struct worker *, struct conn *);
static void	stop_accepting(struct worker *);
static void	stream_begin(struct worker *, struct conn *,
		    enum http_stream);
static void	stream_input(struct worker *, struct conn *);
static int	signer_ask(struct worker *, struct conn *,
		    const struct http_response *, int, int);

/* Tags for epoll data that are not connections. */
static char	tag_signal, tag_chan, tag_signer, tag_listen[CONF_LISTEN_MAX];

/* The parser's header array is what http.max_headers may fill. */
_Static_assert(HTTP_MAX_HEADERS_HARD == CONF_HEADERS_MAX,
    "http.max_headers and the parser's header array disagree");

/* ---- timers -------------------------------------------------------------- */

static void
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
	int64_t	next = INT64_MAX;
	int	k;

	for (k = 0; k < TIMER_KINDS; k++) {
		struct conn *c = TAILQ_FIRST(&w->timers[k]);
		if (c != NULL && c->deadline < next)
			next = c->deadline;
	}
	return (next);
}

/* ---- responses ---------------------------------------------------------- */

static const char *
http_date(struct worker *w)
{
	struct tm	tm;
	time_t		now = time(NULL);

	if (now != w->date_at) {
		gmtime_r(&now, &tm);
		strftime(w->date, sizeof(w->date),
		    "%a, %d %b %Y %H:%M:%S GMT", &tm);
		w->date_at = now;
	}
	return (w->date);
}

/*
 * Serialize a response into the connection's output buffer.  Security
 * headers go on every answer: the index page and error bodies are HTML or
 * text that a browser may render.
 */
static void
conn_respond(struct worker *w, struct conn *c, struct http_response *resp,
    int head_only, int keep_alive)
{
	int	r;

	if (resp->status == 101) {
		r = buf_printf(&c->out, "HTTP/1.1 101 Switching Protocols\r\n"
		    "Server: notaryd/%s\r\nDate: %s\r\nConnection: Upgrade\r\n",
		    PACKAGE_VERSION, http_date(w));
		r |= buf_append(&c->out, resp->headers.data,
		    resp->headers.len);
		r |= buf_puts(&c->out, "\r\n");
		if (r != 0)
			conn_close(w, c);
		return;
	}
	if (!keep_alive || resp->close || w->draining)
		c->close_after = 1;
	r = buf_printf(&c->out, "HTTP/1.1 %d %s\r\nServer: notaryd/%s\r\n"
	    "Date: %s\r\n", resp->status, http_reason(resp->status),
	    PACKAGE_VERSION, http_date(w));
	if (resp->content_type != NULL)
		r |= buf_printf(&c->out, "Content-Type: %s\r\n",
		    resp->content_type);
	r |= buf_printf(&c->out, "Content-Length: %zu\r\nConnection: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
	    "Content-Security-Policy: default-src 'none'; img-src 'self'; "
	    "style-src 'self'\r\n", resp->body.len,
	    c->close_after ? "close" : "keep-alive");
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
	struct http_response	resp;

	http_response_init(&resp);
	http_response_error(&resp, status);
	conn_respond(w, c, &resp, 0, 0);
	http_response_free(&resp);
}

/* ---- connections -------------------------------------------------------- */

static void
conn_update_events(struct worker *w, struct conn *c)
{
	struct epoll_event	ev;
	uint32_t		want = 0;

	if (c->out.len > c->out_off)
		want |= EPOLLOUT;
	if (c->state == CONN_LINGER || (c->state == CONN_STREAM &&
	    !c->close_after) ||
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
static void
conn_close(struct worker *w, struct conn *c)
{
	if (c->fd == -1)
		return;
	if (c->state == CONN_STREAM) {
		TAILQ_REMOVE(&w->streams, c, tq);
		c->state = CONN_READ;
	}
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
	TAILQ_INSERT_TAIL(&w->dead, c, tq);
}

static void
free_dead(struct worker *w)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&w->dead)) != NULL) {
		TAILQ_REMOVE(&w->dead, c, tq);
		free(c);
	}
}

/* After the last response: half-close and drain briefly (lingering close). */
static void
conn_linger(struct worker *w, struct conn *c)
{
	if (c->state == CONN_STREAM)
		TAILQ_REMOVE(&w->streams, c, tq);
	c->state = CONN_READ;
	if (shutdown(c->fd, SHUT_WR) == -1) {
		conn_close(w, c);
		return;
	}
	c->state = CONN_LINGER;
	buf_reset(&c->in);
	timer_set(w, c, TIMER_LINGER);
	conn_update_events(w, c);
}

static void
conn_new(struct worker *w, int fd)
{
	struct epoll_event	 ev;
	struct conn		*c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->state = CONN_READ;
	c->timer = TIMER_NONE;
	buf_init(&c->in, w->lim.max_request + w->lim.max_body);
	buf_init(&c->out, OUT_MAX);
	c->events = EPOLLIN | EPOLLRDHUP;
	ev.events = c->events;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("epoll_ctl add");
		close(fd);
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
		return;
	}
	w->nconns++;
	timer_set(w, c, TIMER_IDLE);
}

/* Over max_connections: answer 503 at once, without queueing anything. */
static void
refuse_busy(struct worker *w, int fd)
{
	char	msg[512];
	int	n;

	n = snprintf(msg, sizeof(msg), "HTTP/1.1 503 Service Unavailable\r\n"
	    "Server: notaryd/%s\r\nDate: %s\r\nContent-Type: text/plain;"
	    "charset=utf-8\r\nContent-Length: 24\r\nConnection: close\r\n"
	    "Retry-After: 5\r\n\r\n503 Service Unavailable\n",
	    PACKAGE_VERSION, http_date(w));
	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_debug("busy reply not sent");
	close(fd);
}

static void
accept_clients(struct worker *w, int lfd)
{
	int	i, fd;

	for (i = 0; i < ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: stop listening or spin. */
				log_warn("accept: pausing for 100 ms");
				stop_accepting(w);
				w->accept_paused_until = mono_ms() + 100;
			}
			return;
		}
		if (w->nconns >= w->cf->http.max_connections)
			refuse_busy(w, fd);
		else
			conn_new(w, fd);
	}
}

/* Parse and answer every complete request in the input buffer. */
static void
conn_process(struct worker *w, struct conn *c)
{
	struct http_request	req;
	struct http_response	resp;
	size_t			was_len;
	int			r;

	while (c->fd != -1 && !c->close_after && !c->waiting &&
	    c->in.len > 0 && c->out.len - c->out_off < OUT_HIGH_WATER) {
		r = http_parse_request(c->in.data, c->in.len, &w->lim, &req);
		if (r == 0) {
			if (c->in.len == c->in.max) {	/* parser bug guard */
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
		http_dispatch(&w->site, &req, &resp);
		if (!resp.defer || signer_ask(w, c, &resp,
		    req.method == HTTP_M_HEAD, req.keep_alive) == -1) {
			if (resp.defer) {
				http_response_error(&resp, 503);
				buf_puts(&resp.headers, "Retry-After: 5\r\n");
			}
			conn_respond(w, c, &resp, req.method == HTTP_M_HEAD,
			    req.keep_alive);
		}
		http_response_free(&resp);
		if (c->fd == -1)
			return;
		was_len = c->in.len;
		buf_consume(&c->in, (size_t)r);
		if (resp.status == 101) {
			stream_begin(w, c, resp.stream);
			return;
		}
		if (c->in.len > 0 && was_len != c->in.len)
			timer_set(w, c, TIMER_REQUEST);
	}
	if (c->fd != -1)
		conn_flush(w, c);
}

static void
conn_flush(struct worker *w, struct conn *c)
{
	int	had_output = c->out.len > c->out_off;
	ssize_t	n;

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
	}
	if (c->out.len > c->out_off) {
		if (c->timer != TIMER_REQUEST)
			timer_set(w, c, TIMER_REQUEST);
		conn_update_events(w, c);
		return;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	if (c->close_after) {
		conn_linger(w, c);
		return;
	}
	if (c->waiting) {
		conn_update_events(w, c);
		return;
	}
	if (c->state == CONN_STREAM) {
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
	char	 scratch[READ_CHUNK];
	ssize_t	 n;
	size_t	 room;

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

/*
 * One connection per worker to whichever signer accepts it on the
 * master's socket.  Losing it fails the requests waiting on it (503) and
 * the next miss reconnects; a signer restart therefore costs the misses
 * in flight and nothing else (cache hits never touch the signer).
 */
static void
signer_fail_waiters(struct worker *w)
{
	struct http_response	 resp;
	struct conn		*c;

	while ((c = TAILQ_FIRST(&w->waiters)) != NULL) {
		TAILQ_REMOVE(&w->waiters, c, wq);
		c->waiting = 0;
		http_response_init(&resp);
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

static int
signer_connect(struct worker *w)
{
	struct sockaddr_un	sun;
	struct epoll_event	ev;
	int			fd;

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

/* Send the miss to the signer and park the connection.  0, or -1 (503). */
static int
signer_ask(struct worker *w, struct conn *c, const struct http_response *resp,
    int head, int keep_alive)
{
	struct sigproto_req	req;
	uint8_t			msg[SIGPROTO_REQ_HDR + SIGPROTO_ID_MAX];
	long			n;

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
	c->wait_deadline = mono_ms() + SIGNER_WAIT_MS;
	timer_set(w, c, TIMER_NONE);
	TAILQ_INSERT_TAIL(&w->waiters, c, wq);
	return (0);
}

static void
signer_answer(struct worker *w, struct conn *c, int status,
    const void *body, size_t len)
{
	struct http_response	resp;

	TAILQ_REMOVE(&w->waiters, c, wq);
	c->waiting = 0;
	http_response_init(&resp);
	http_response_from_signer(&resp, status, body, len, c->wait_fmt);
	conn_respond(w, c, &resp, c->wait_head, c->wait_keep_alive);
	http_response_free(&resp);
	if (c->fd == -1)
		return;
	if (c->in.len > 0 && !c->close_after)
		conn_process(w, c);	/* pipelined requests behind it */
	else
		conn_flush(w, c);
}

static void
signer_read(struct worker *w)
{
	static uint8_t		 msg[SIGPROTO_REP_HDR + SIGPROTO_BODY_MAX];
	struct sigproto_rep	 rep;
	struct conn		*c;
	ssize_t			 n;

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
			continue;	/* its client left, or it timed out */
		signer_answer(w, c, rep.status, rep.body, rep.len);
	}
}

static void
expire_waiters(struct worker *w)
{
	struct conn	*c;
	int64_t		 now = mono_ms();

	while ((c = TAILQ_FIRST(&w->waiters)) != NULL &&
	    c->wait_deadline <= now)
		signer_answer(w, c, SIG_UNAVAILABLE, NULL, 0);
}

/* ---- websocket streams -------------------------------------------------- */

/*
 * The connection now speaks websocket.  The CT-stream issue feeds it
 * frames from the shared ring; the liveness rules live here already:
 * a ping every stream.ping_interval, a JSON heartbeat every
 * stream.json_heartbeat, and close 1008 after stream.idle_timeout
 * without any frame from the client (its pongs to our pings count).
 */
static void
stream_begin(struct worker *w, struct conn *c, enum http_stream st)
{
	int64_t	now = mono_ms();

	timer_set(w, c, TIMER_NONE);
	c->state = CONN_STREAM;
	c->stream = st;
	c->in.max = STREAM_IN_MAX;
	c->last_rx = now;
	c->next_ping = now + w->cf->stream.ping_interval_ms;
	c->next_heartbeat = w->cf->stream.json_heartbeat_ms > 0 ?
	    now + w->cf->stream.json_heartbeat_ms : INT64_MAX;
	TAILQ_INSERT_TAIL(&w->streams, c, tq);
	if (c->in.len > 0)
		stream_input(w, c);
	else
		conn_flush(w, c);
}

static void
stream_close(struct worker *w, struct conn *c, unsigned code,
    const char *reason)
{
	buf_reset(&c->in);
	if (ws_put_close(&c->out, code, reason) == -1) {
		conn_close(w, c);
		return;
	}
	c->close_after = 1;
	conn_flush(w, c);
}

static void
stream_input(struct worker *w, struct conn *c)
{
	struct ws_frame	f;
	long		n;

	while (c->fd != -1 && !c->close_after && c->in.len > 0) {
		n = ws_parse_frame((uint8_t *)c->in.data, c->in.len, &f);
		if (n == 0)
			break;
		if (n < 0) {
			stream_close(w, c, (unsigned)-n, n == -WS_CLOSE_TOO_BIG ?
			    "Frame too big" : "Protocol error");
			return;
		}
		c->last_rx = mono_ms();
		if (f.opcode == WS_OP_PING) {
			if (ws_put_frame(&c->out, WS_OP_PONG, f.payload,
			    f.len) == -1) {
				conn_close(w, c);
				return;
			}
		} else if (f.opcode == WS_OP_CLOSE) {
			/* Echo the code (RFC 6455 §5.5.1), then close. */
			unsigned code = f.len >= 2 ? (unsigned)(f.payload[0] << 8 |
			    f.payload[1]) : WS_CLOSE_NORMAL;
			stream_close(w, c, code, "");
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
	struct timespec	ts;
	char		json[96];
	int		n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(json, sizeof(json), "{\"message_type\":\"heartbeat\","
	    "\"timestamp\":%lld.%03ld}", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000);
	ws_put_frame(&c->out, WS_OP_TEXT, json, (size_t)n);
}

static void
stream_tick(struct worker *w)
{
	struct conn	*c, *next;
	int64_t		 now = mono_ms();

	if (now < w->next_stream_tick)
		return;
	w->next_stream_tick = now + STREAM_TICK_MS;
	for (c = TAILQ_FIRST(&w->streams); c != NULL; c = next) {
		next = TAILQ_NEXT(c, tq);
		if (c->close_after)
			continue;
		if (now - c->last_rx > w->cf->stream.idle_timeout_ms) {
			stream_close(w, c, WS_CLOSE_POLICY, "No ping received!");
			continue;
		}
		if (now >= c->next_ping) {
			ws_put_frame(&c->out, WS_OP_PING, NULL, 0);
			c->next_ping = now + w->cf->stream.ping_interval_ms;
		}
		if (now >= c->next_heartbeat) {
			stream_heartbeat(c);
			c->next_heartbeat = now +
			    w->cf->stream.json_heartbeat_ms;
		}
		if (c->out.len > c->out_off)
			conn_flush(w, c);
	}
}

/* Drain deadline: tell stream clients we are going away (1001). */
static void
streams_going_away(struct worker *w)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&w->streams); c != NULL; c = next) {
		next = TAILQ_NEXT(c, tq);
		if (!c->close_after)
			stream_close(w, c, 1001, "Server restarting");
	}
}

/* ---- timers firing ------------------------------------------------------ */

static void
expire_timers(struct worker *w)
{
	struct conn	*c;
	int64_t		 now = mono_ms();
	int		 k;

	for (k = 0; k < TIMER_KINDS; k++) {
		while ((c = TAILQ_FIRST(&w->timers[k])) != NULL &&
		    c->deadline <= now) {
			if (k == TIMER_REQUEST && c->in.len > 0 &&
			    c->out.len == c->out_off && !c->close_after) {
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
	struct epoll_event	ev;

	ev.events = events;
	ev.data.ptr = tag;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl add");
}

static void
stop_accepting(struct worker *w)
{
	size_t	i;

	for (i = 0; i < w->ctx->nlisten; i++)
		epoll_ctl(w->ep, EPOLL_CTL_DEL, w->ctx->listen_fds[i], NULL);
	w->accepting = 0;
}

static void
resume_accepting(struct worker *w)
{
	size_t	i;

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
	int64_t	grace;

	if (w->draining)
		return;
	w->draining = 1;
	grace = w->cf->http.keepalive_timeout_ms +
	    w->cf->http.request_timeout_ms;
	if (grace < w->cf->daemon.stop_timeout_ms)
		grace = w->cf->daemon.stop_timeout_ms;
	w->drain_deadline = mono_ms() + grace;
	if (w->accepting)
		stop_accepting(w);
	log_debug("draining %d connections", w->nconns);
}

static int
handle_signals(struct worker *w)
{
	struct proc_signals	s;

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
	const struct conf	*cf = ctx->cf;
	int			 k;

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
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	epoll_add_tag(w, ctx->chan, &tag_chan, EPOLLIN | EPOLLRDHUP);
	if (ctx->nlisten > NELEM(tag_listen))
		fatalx("too many listening sockets");
	resume_accepting(w);
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
	int64_t	now = mono_ms(), next = timer_next(w);

	if (w->draining && w->drain_deadline < next)
		next = w->drain_deadline;
	if (w->accept_paused_until != 0 && !w->draining &&
	    w->accept_paused_until < next)
		next = w->accept_paused_until;
	if (!TAILQ_EMPTY(&w->streams) && w->next_stream_tick < next)
		next = w->next_stream_tick;
	if (!TAILQ_EMPTY(&w->waiters) &&
	    TAILQ_FIRST(&w->waiters)->wait_deadline < next)
		next = TAILQ_FIRST(&w->waiters)->wait_deadline;
	if (next == INT64_MAX)
		return (-1);
	return (next > now ? (int)(next - now) : 0);
}

static void *
http_open(struct proc_ctx *ctx, int *code)
{
	struct worker	*w = xcalloc(1, sizeof(*w));

	(void)code;
	worker_init(w, ctx);
	return (w);
}

static int
http_run(void *state, struct proc_ctx *ctx, int sfd)
{
	struct epoll_event	 ev[MAX_EVENTS];
	struct worker		*w = state;
	struct conn		*c;
	int			 n, i, stop = 0;

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
			} else if (p == &tag_signer) {
				if (w->sig_fd != -1)
					signer_read(w);
			} else if (is_listen_tag(p)) {
				if (w->accepting)
					accept_clients(w, ctx->listen_fds[
					    (const char *)p - tag_listen]);
			} else {
				c = p;
				if (c->fd == -1)
					continue;
				if (ev[i].events & (EPOLLIN | EPOLLRDHUP |
				    EPOLLHUP | EPOLLERR))
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
		expire_timers(w);
		expire_waiters(w);
		stream_tick(w);
		free_dead(w);
		if (w->draining && (w->nconns == 0 ||
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
	struct worker	*w = state;

	http_site_free(&w->site);
	free(w);
}

const struct role_ops http_role = { http_open, http_run, http_close, 0 };
