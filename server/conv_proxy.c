/*
 * conv_proxy.c - the Convergence CONNECT-only bounce relay (spec §5) in
 * an HTTP worker.
 *
 * A tunnel: read the request head (conv_parse_connect: at most
 * CONV_CONNECT_MAX bytes, within http.request_timeout); refuse with the
 * exact 403 anything but "CONNECT host:4242" (+ X-Convergence-Notary
 * alternatives); resolve every destination (c-ares, on this module's
 * epoll set); keep only the addresses that scanner.deny/allow let
 * through; connect to port 4242 of all of them at once, exactly those
 * addresses; the first to succeed wins and the client gets the exact
 * three-line 200, then bytes are relayed both ways through one buffer of
 * RELAY_BUF bytes per direction; when either side closes, or nothing
 * moves for convergence.proxy_idle_timeout, both are closed.  Every
 * destination refused by the deny list: 403; every connection failed:
 * the reference's 404.  At most convergence.proxy_max_tunnels tunnels in
 * the whole daemon, and proxy_max_tunnels_per_ip from one client address
 * (the TCP peer), counted in the shared status table (client_limit.c:
 * a killed worker's tunnels stop counting when it is reaped): beyond
 * either a new connection is closed at once.  Bytes relayed are counted
 * and logged (debug) when a tunnel ends; nothing else about a client.
 *
 * Runs in HTTP workers.  Failures close the tunnel; nothing aborts.
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ares.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "common/status.h"
#include "server/client_limit.h"
#include "server/conv_proxy.h"
#include "server/convergence.h"

#define MAX_LISTEN 64
#define MAX_EVENTS 128
#define RELAY_BUF  16384
#define MAX_ADDRS  16           /* candidate addresses per tunnel */
#define ARES_TAG   (1ULL << 63) /* epoll data: a resolver socket */

enum t_state { T_HEAD, T_RESOLVE, T_CONNECT, T_RELAY };
enum ep_kind { EP_CLIENT, EP_SERVER, EP_PENDING };

struct tunnel;
struct endpoint {
	struct tunnel *t;
	enum ep_kind   kind;
	int            fd;
	uint32_t       events;
};

struct dnsreq {
	struct tunnel *t;    /* NULL once the tunnel is gone */
	size_t         dest; /* index into req.dest */
};

struct tunnel {
	struct conv_proxy      *p;
	enum t_state            state;
	struct endpoint         c; /* the client */
	struct endpoint         s; /* the winning server side */
	struct endpoint         pend[MAX_ADDRS];
	uint64_t                ckey; /* client_addr_key of the peer */
	struct sockaddr_storage addrs[MAX_ADDRS];
	socklen_t               alens[MAX_ADDRS];
	size_t                  adest[MAX_ADDRS]; /* index into req.dest */
	size_t                  naddr;
	size_t                  winner; /* index into req.dest */
	int                     denied; /* addresses refused by deny */
	struct dnsreq          *dns[CONV_CONNECT_DESTS];
	int                     dns_pending;
	struct conv_connect     req;
	char                    head[CONV_CONNECT_MAX];
	size_t                  headlen;
	unsigned char           up[RELAY_BUF], down[RELAY_BUF];
	size_t                  uplen, upoff, downlen, downoff;
	int                     c_eof, s_eof;
	uint64_t                bytes_up, bytes_down;
	int64_t                 deadline;
	int                     dead;
	TAILQ_ENTRY(tunnel) link;
};

struct conv_proxy {
	struct proc_ctx    *ctx;
	const struct conf  *cf;
	struct status_http *slot; /* this worker's, for the tunnel counts */
	int                 ep;
	ares_channel        ares;
	int                 accepting;
	int                 ntunnels;
	TAILQ_HEAD(, tunnel) tunnels;
	TAILQ_HEAD(, tunnel) dead;
	char tag_listen[MAX_LISTEN];
};

static void t_close(struct conv_proxy *, struct tunnel *);
static void t_update(struct conv_proxy *, struct tunnel *);

/* ---- small helpers ---------------------------------------------------------- */

static void
ep_set(struct conv_proxy *p, struct endpoint *e, uint32_t events)
{
	struct epoll_event ev;

	if (e->fd == -1 || e->events == events)
		return;
	ev.events = events;
	ev.data.ptr = e;
	if (epoll_ctl(p->ep, EPOLL_CTL_MOD, e->fd, &ev) == 0)
		e->events = events;
}

static int
ep_add(struct conv_proxy *p, struct endpoint *e, uint32_t events)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.ptr = e;
	e->events = events;
	return (epoll_ctl(p->ep, EPOLL_CTL_ADD, e->fd, &ev));
}

static void
ep_close(struct conv_proxy *p, struct endpoint *e)
{
	if (e->fd == -1)
		return;
	epoll_ctl(p->ep, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
	e->fd = -1;
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return (0);
	if (a->ss_family == AF_INET)
		return (((const struct sockaddr_in *)(const void *)a)
		            ->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)(const void *)b)
		        ->sin_addr.s_addr);
	return (
	    memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
	        &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
	        16) == 0);
}

/* Queue a reply to the client, then close once it is sent. */
static void
t_reply(struct conv_proxy *p, struct tunnel *t, int ok, int status)
{
	struct buf b;

	buf_init(&b, sizeof(t->down));
	if (ok)
		(void)conv_connect_ok(t->req.dest[t->winner], &b);
	else if (status == 404)
		(void)conv_connect_failed(t->req.version_minor, &b);
	else
		(void)conv_connect_refused(t->req.version_minor, &b);
	memcpy(t->down, b.data, b.len);
	t->downlen = b.len;
	t->downoff = 0;
	buf_free(&b);
	if (!ok)
		t->s_eof = 1; /* nothing follows: close after the reply */
	t->state = T_RELAY;
	t->deadline = mono_ms() + p->cf->convergence.proxy_idle_timeout_ms;
	t_update(p, t);
}

/* ---- connecting ---------------------------------------------------------------- */

static void
t_connect_all(struct conv_proxy *p, struct tunnel *t)
{
	size_t i;
	int    fd, started = 0;

	t->state = T_CONNECT;
	for (i = 0; i < t->naddr; i++) {
		fd = socket(t->addrs[i].ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		if (connect(fd, (struct sockaddr *)&t->addrs[i], t->alens[i]) ==
		        -1 &&
		    errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		t->pend[i].t = t;
		t->pend[i].kind = EP_PENDING;
		t->pend[i].fd = fd;
		if (ep_add(p, &t->pend[i], EPOLLOUT) == -1) {
			close(fd);
			t->pend[i].fd = -1;
			continue;
		}
		started++;
	}
	if (started == 0)
		t_reply(p, t, 0, t->naddr == 0 && t->denied ? 403 : 404);
}

/* A pending connect finished: the first success wins. */
static void
t_connected(struct conv_proxy *p, struct tunnel *t, struct endpoint *e)
{
	socklen_t len = sizeof(int);
	size_t    i;
	int       err = 0, left = 0;

	if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		ep_close(p, e);
		for (i = 0; i < t->naddr; i++)
			left += t->pend[i].fd != -1;
		if (left == 0)
			t_reply(p, t, 0, 404);
		return;
	}
	t->winner = t->adest[e - t->pend];
	t->s = *e;
	t->s.kind = EP_SERVER;
	epoll_ctl(p->ep, EPOLL_CTL_DEL, e->fd, NULL);
	e->fd = -1;
	for (i = 0; i < t->naddr; i++)
		ep_close(p, &t->pend[i]);
	if (ep_add(p, &t->s, 0) == -1) {
		t_close(p, t);
		return;
	}
	t_reply(p, t, 1, 200);
}

/* ---- resolving ------------------------------------------------------------------- */

/* Keep a for the tunnel unless the deny list refuses it. */
static void
t_add_addr(struct conv_proxy *p, struct tunnel *t, size_t dest,
    const struct sockaddr *sa, socklen_t len)
{
	const struct conf *cf = p->cf;
	size_t             i;

	if (t->naddr == MAX_ADDRS || len > sizeof(t->addrs[0]))
		return;
	if (netaddr_cidr_match(&cf->scanner.deny, sa) &&
	    !netaddr_cidr_match(&cf->scanner.allow, sa)) {
		t->denied++;
		return;
	}
	memcpy(&t->addrs[t->naddr], sa, len);
	for (i = 0; i < t->naddr; i++)
		if (same_addr(&t->addrs[i], &t->addrs[t->naddr]))
			return;
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)(void *)&t->addrs[t->naddr])->sin_port =
		    htons(CONV_RELAY_PORT);
	else
		((struct sockaddr_in6 *)(void *)&t->addrs[t->naddr])->sin6_port =
		    htons(CONV_RELAY_PORT);
	t->adest[t->naddr] = dest;
	t->alens[t->naddr++] = len;
}

static void
dns_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dnsreq             *rq = arg;
	struct tunnel             *t = rq->t;
	struct ares_addrinfo_node *n;
	size_t                     i;

	(void)timeouts;
	if (t != NULL) {
		for (i = 0; i < CONV_CONNECT_DESTS; i++)
			if (t->dns[i] == rq)
				t->dns[i] = NULL;
		for (n = status == ARES_SUCCESS && res != NULL ? res->nodes
		                                               : NULL;
		     n != NULL; n = n->ai_next)
			if (n->ai_family == AF_INET || n->ai_family == AF_INET6)
				t_add_addr(t->p, t, rq->dest, n->ai_addr,
				    n->ai_addrlen);
		if (--t->dns_pending == 0)
			t_connect_all(t->p, t);
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	free(rq);
}

/* The head is complete and acceptable: resolve every destination. */
static void
t_resolve(struct conv_proxy *p, struct tunnel *t)
{
	struct ares_addrinfo_hints hints;
	struct sockaddr_in         sin;
	size_t                     i;

	t->state = T_RESOLVE;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	t->dns_pending = 1; /* held until every query is started */
	for (i = 0; i < t->req.ndest; i++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		if (inet_pton(AF_INET, t->req.dest[i], &sin.sin_addr) == 1) {
			t_add_addr(
			    p, t, i, (struct sockaddr *)&sin, sizeof(sin));
			continue;
		}
		t->dns[i] = xcalloc(1, sizeof(*t->dns[i]));
		t->dns[i]->t = t;
		t->dns[i]->dest = i;
		t->dns_pending++;
		ares_getaddrinfo(
		    p->ares, t->req.dest[i], NULL, &hints, dns_cb, t->dns[i]);
		if (t->dead)
			return;
	}
	if (--t->dns_pending == 0)
		t_connect_all(p, t);
}

/* ---- the client side ---------------------------------------------------------- */

static void
t_read_head(struct conv_proxy *p, struct tunnel *t)
{
	ssize_t n;
	int     r;

	n = recv(
	    t->c.fd, t->head + t->headlen, sizeof(t->head) - t->headlen, 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		t_close(p, t);
		return;
	}
	if (n < 0)
		return;
	t->headlen += (size_t)n;
	r = conv_parse_connect(t->head, t->headlen, &t->req);
	if (r == 0)
		return;
	if (r < 0 || !t->req.ok) {
		t->req.version_minor = r < 0 ? 1 : t->req.version_minor;
		t_reply(p, t, 0, 403);
		return;
	}
	/* Bytes after the head go to the notary once connected. */
	t->uplen = t->headlen - t->req.head_len;
	memcpy(t->up, t->head + t->req.head_len, t->uplen);
	ep_set(p, &t->c, EPOLLRDHUP);
	t_resolve(p, t);
}

/* Move bytes: from src into buf (when empty), from buf into dst. */
static int
pump(int src, int dst, unsigned char *buf, size_t *len, size_t *off, int *eof,
    uint64_t *count)
{
	ssize_t n;

	if (*len == *off && !*eof && src != -1) {
		*len = *off = 0;
		n = recv(src, buf, RELAY_BUF, 0);
		if (n == 0)
			*eof = 1;
		else if (n > 0)
			*len = (size_t)n;
		else if (errno != EAGAIN && errno != EINTR)
			return (-1);
	}
	if (*off < *len && dst != -1) {
		n = send(dst, buf + *off, *len - *off, MSG_NOSIGNAL);
		if (n > 0) {
			*off += (size_t)n;
			*count += (uint64_t)n;
		} else if (n == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
	}
	return (0);
}

/* Set both sides' interest from the buffers; close when done. */
static void
t_update(struct conv_proxy *p, struct tunnel *t)
{
	int up_empty = t->upoff == t->uplen;
	int down_empty = t->downoff == t->downlen;

	if (t->state != T_RELAY)
		return;
	if ((t->c_eof && up_empty) || (t->s_eof && down_empty)) {
		t_close(p, t);
		return;
	}
	ep_set(p, &t->c,
	    (up_empty && !t->c_eof ? EPOLLIN : 0) |
	        (down_empty ? 0 : EPOLLOUT) | EPOLLRDHUP);
	ep_set(p, &t->s,
	    (down_empty && !t->s_eof ? EPOLLIN : 0) |
	        (up_empty ? 0 : EPOLLOUT) | EPOLLRDHUP);
}

static void
t_relay(struct conv_proxy *p, struct tunnel *t)
{
	uint64_t before = t->bytes_up + t->bytes_down;

	if (pump(t->c.fd, t->s.fd, t->up, &t->uplen, &t->upoff, &t->c_eof,
	        &t->bytes_up) == -1 ||
	    pump(t->s.fd, t->c.fd, t->down, &t->downlen, &t->downoff, &t->s_eof,
	        &t->bytes_down) == -1) {
		t_close(p, t);
		return;
	}
	if (t->bytes_up + t->bytes_down != before || t->c_eof || t->s_eof)
		t->deadline =
		    mono_ms() + p->cf->convergence.proxy_idle_timeout_ms;
	t_update(p, t);
}

static void
t_close(struct conv_proxy *p, struct tunnel *t)
{
	size_t i;

	if (t->dead)
		return;
	t->dead = 1;
	/*
	 * Give its place back before its client can see the close: a client
	 * that reconnects at once must not be refused for its own old tunnel.
	 */
	climit_give(p->slot, STATUS_CL_TUNNEL, t->ckey);
	for (i = 0; i < CONV_CONNECT_DESTS; i++)
		if (t->dns[i] != NULL)
			t->dns[i]->t = NULL; /* dns_cb frees it */
	for (i = 0; i < MAX_ADDRS; i++)
		ep_close(p, &t->pend[i]);
	ep_close(p, &t->s);
	ep_close(p, &t->c);
	if (t->bytes_up + t->bytes_down > 0)
		log_debug("relay: tunnel closed, %llu bytes up, %llu down",
		    (unsigned long long)t->bytes_up,
		    (unsigned long long)t->bytes_down);
	TAILQ_REMOVE(&p->tunnels, t, link);
	TAILQ_INSERT_TAIL(&p->dead, t, link);
	p->ntunnels--;
}

/* ---- accepting -------------------------------------------------------------------- */

static void
accept_tunnels(struct conv_proxy *p, int lfd)
{
	struct sockaddr_storage a;
	socklen_t               alen;
	struct tunnel          *t;
	int                     i, fd;
	size_t                  k;
	uint64_t                key;

	for (i = 0; i < 32; i++) {
		alen = sizeof(a);
		fd = accept4(lfd, (struct sockaddr *)&a, &alen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		key = client_addr_key(p->ctx->status, (struct sockaddr *)&a);
		if (climit_take(p->ctx->status, p->slot, STATUS_CL_TUNNEL, key,
		        (uint64_t)p->cf->convergence.proxy_max_tunnels,
		        (uint64_t)p->cf->convergence.proxy_max_tunnels_per_ip) ==
		    -1) {
			log_debug("relay: a tunnel over the limits refused");
			close(fd);
			continue;
		}
		t = xcalloc(1, sizeof(*t));
		t->p = p;
		t->ckey = key;
		t->c.t = t->s.t = t;
		t->c.kind = EP_CLIENT;
		t->c.fd = fd;
		t->s.fd = -1;
		for (k = 0; k < MAX_ADDRS; k++)
			t->pend[k].fd = -1;
		if (ep_add(p, &t->c, EPOLLIN | EPOLLRDHUP) == -1) {
			climit_give(p->slot, STATUS_CL_TUNNEL, key);
			close(fd);
			free(t);
			continue;
		}
		t->deadline = mono_ms() + p->cf->http.request_timeout_ms;
		TAILQ_INSERT_TAIL(&p->tunnels, t, link);
		p->ntunnels++;
	}
}

/* ---- c-ares on our epoll set ------------------------------------------------------- */

static void
ares_sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct conv_proxy *p = data;
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	if (!readable && !writable) {
		(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, fd, &ev);
		return;
	}
	ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	ev.data.u64 = ARES_TAG | (uint32_t)fd;
	if (epoll_ctl(p->ep, EPOLL_CTL_MOD, fd, &ev) == -1 && errno == ENOENT)
		(void)epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev);
}

struct conv_proxy *
conv_proxy_new(struct proc_ctx *ctx, struct status_http *slot)
{
	struct conv_proxy  *p;
	struct ares_options ao;
	size_t              i;

	if (ctx->nproxy_listen == 0)
		return (NULL);
	if (ctx->nproxy_listen > MAX_LISTEN ||
	    ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		log_warnx("relay: cannot start");
		return (NULL);
	}
	p = xcalloc(1, sizeof(*p));
	p->ctx = ctx;
	p->cf = ctx->cf;
	p->slot = slot;
	TAILQ_INIT(&p->tunnels);
	TAILQ_INIT(&p->dead);
	if ((p->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = ares_sock_cb;
	ao.sock_state_cb_data = p;
	ao.timeout = 1000;
	ao.tries = 2;
	if (ares_init_options(&p->ares, &ao,
	        ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) !=
	    ARES_SUCCESS) {
		log_warnx("relay: cannot start the resolver");
		close(p->ep);
		free(p);
		return (NULL);
	}
	for (i = 0; i < ctx->nproxy_listen; i++) {
		struct epoll_event ev;

		ev.events = EPOLLIN;
		ev.data.ptr = &p->tag_listen[i];
		if (epoll_ctl(p->ep, EPOLL_CTL_ADD, ctx->proxy_listen_fds[i],
		        &ev) == -1)
			log_warn("relay: epoll_ctl");
	}
	p->accepting = 1;
	return (p);
}

int
conv_proxy_fd(const struct conv_proxy *p)
{
	return (p->ep);
}

static void
on_event(struct conv_proxy *p, struct endpoint *e)
{
	struct tunnel *t = e->t;

	if (t->dead || e->fd == -1)
		return;
	if (e->kind == EP_PENDING)
		t_connected(p, t, e);
	else if (t->state == T_HEAD)
		t_read_head(p, t);
	else if (t->state == T_RELAY)
		t_relay(p, t);
	else if (e->kind == EP_CLIENT)
		t_close(p, t); /* the client left while we connect */
}

void
conv_proxy_run(struct conv_proxy *p)
{
	struct epoll_event ev[MAX_EVENTS];
	struct tunnel     *t, *next;
	int                n, i;
	char              *tag;

	n = epoll_wait(p->ep, ev, MAX_EVENTS, 0);
	for (i = 0; i < n; i++) {
		if (ev[i].data.u64 & ARES_TAG) {
			ares_socket_t fd =
			    (ares_socket_t)(ev[i].data.u64 & 0xffffffffU);

			ares_process_fd(p->ares,
			    ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)
			        ? fd
			        : ARES_SOCKET_BAD,
			    ev[i].events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
			continue;
		}
		tag = ev[i].data.ptr;
		if (tag >= p->tag_listen && tag < p->tag_listen + MAX_LISTEN) {
			if (p->accepting)
				accept_tunnels(p,
				    p->ctx->proxy_listen_fds[tag -
				        p->tag_listen]);
			continue;
		}
		on_event(p, ev[i].data.ptr);
	}
	/* Resolver timeouts and retries. */
	ares_process_fd(p->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	for (t = TAILQ_FIRST(&p->tunnels); t != NULL; t = next) {
		next = TAILQ_NEXT(t, link);
		if (mono_ms() >= t->deadline)
			t_close(p, t);
	}
	while ((t = TAILQ_FIRST(&p->dead)) != NULL) {
		TAILQ_REMOVE(&p->dead, t, link);
		free(t);
	}
}

int64_t
conv_proxy_next_ms(const struct conv_proxy *p)
{
	const struct tunnel *t;
	int64_t              next = INT64_MAX, now = mono_ms();
	struct timeval       tv, *tvp;

	TAILQ_FOREACH(t, &p->tunnels, link)
	if (t->deadline < next)
		next = t->deadline;
	if ((tvp = ares_timeout(p->ares, NULL, &tv)) != NULL &&
	    now + tvp->tv_sec * 1000 + tvp->tv_usec / 1000 < next)
		next = now + tvp->tv_sec * 1000 + tvp->tv_usec / 1000;
	if (next == INT64_MAX)
		return (-1);
	return (next > now ? next - now : 0);
}

void
conv_proxy_drain(struct conv_proxy *p)
{
	size_t i;

	if (p->accepting)
		for (i = 0; i < p->ctx->nproxy_listen; i++)
			epoll_ctl(p->ep, EPOLL_CTL_DEL,
			    p->ctx->proxy_listen_fds[i], NULL);
	p->accepting = 0;
}

int
conv_proxy_busy(const struct conv_proxy *p)
{
	return (p->ntunnels);
}

void
conv_proxy_free(struct conv_proxy *p)
{
	struct tunnel *t;

	while ((t = TAILQ_FIRST(&p->tunnels)) != NULL)
		t_close(p, t);
	ares_destroy(p->ares); /* runs the callbacks: tunnels unlinked */
	while ((t = TAILQ_FIRST(&p->dead)) != NULL) {
		TAILQ_REMOVE(&p->dead, t, link);
		free(t);
	}
	close(p->ep);
	free(p);
}
