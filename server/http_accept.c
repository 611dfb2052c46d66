/*
 * http_accept.c - an HTTP worker taking new connections: accept bursts,
 * the per-worker connection limit (a short 503 instead of a slot), a
 * pause when the process runs out of descriptors, lingering closes, and
 * giving memory back after a flood.  Runs in the HTTP workers; every
 * failure closes one connection, never the worker.
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

static void
conn_new(struct worker *w, int fd, const struct sockaddr_storage *peer);
static void refuse_busy(struct worker *w, int fd);

/*
 * After a flood (slowloris, a burst of clients), the freed connection
 * buffers stay in the heap's free lists and the worker's RSS stays at the
 * peak.  Once at least half of the peak and TRIM_MIN_DROP connections are
 * gone, give the free memory back to the kernel: malloc_trim walks the
 * heap, so at most once per TRIM_INTERVAL_MS.
 */
void
trim_after_drop(struct worker *w)
{
	int64_t now;

	if (w->peak_conns - w->nconns < TRIM_MIN_DROP ||
	    w->nconns > w->peak_conns / 2)
		return;
	now = mono_ms();
	if (now - w->last_trim < TRIM_INTERVAL_MS)
		return;
	w->last_trim = now;
	(void)malloc_trim(0);
	log_debug("connections %d (peak %d): memory trimmed", w->nconns,
	    w->peak_conns);
	w->peak_conns = w->nconns;
}

/* After the last response: half-close and drain briefly (lingering close). */
void
conn_linger(struct worker *w, struct conn *c)
{
	if (c->state == CONN_STREAM)
		stream_end(w, c);
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
conn_new(struct worker *w, int fd, const struct sockaddr_storage *peer)
{
	struct epoll_event ev;
	struct conn       *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->peer = *peer;
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
	if (++w->nconns > w->peak_conns)
		w->peak_conns = w->nconns;
	timer_set(w, c, TIMER_IDLE);
}

/* Over max_connections: answer 503 at once, without queueing anything. */
static void
refuse_busy(struct worker *w, int fd)
{
	char msg[512];
	int  n;

	n = snprintf(msg, sizeof(msg),
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Server: notaryd/%s\r\nDate: %s\r\nContent-Type: text/plain;"
	    "charset=utf-8\r\nContent-Length: 24\r\nConnection: close\r\n"
	    "Retry-After: 5\r\n\r\n503 Service Unavailable\n",
	    PACKAGE_VERSION, http_date(w));
	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_debug("busy reply not sent");
	close(fd);
}

void
accept_clients(struct worker *w, int lfd)
{
	struct sockaddr_storage peer;
	socklen_t               plen;
	int                     i, fd;

	for (i = 0; i < ACCEPT_BURST; i++) {
		plen = sizeof(peer);
		memset(&peer, 0, sizeof(peer));
		fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
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
			conn_new(w, fd, &peer);
	}
}
