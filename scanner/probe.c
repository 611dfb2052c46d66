/*
 * probe.c - the TLS probe engine (see probe.h for the contract).
 *
 * Layout: a fixed array of `concurrency` slots; a free list; the probes in
 * flight on a list ordered by deadline (most probes of an engine have the
 * same timeout, so a new one goes at the tail; one with a shorter
 * timeout walks back to its place; the earliest deadline is the head);
 * finished probes on a "done" list that
 * probe_engine_process drains (callbacks never run from probe_submit).
 *
 * epoll data: bit 63 set = a c-ares socket (fd in the low bits, level-
 * triggered); else generation << 32 | slot, edge-triggered for both
 * directions and registered once per socket.  The generation changes
 * whenever a slot is reused or a probe opens another socket, so an event
 * for an earlier socket is recognised and dropped.
 *
 * The socket BIO is ours: send(MSG_NOSIGNAL), writes gathered into one
 * send per flight (flushed when OpenSSL flushes), reads capped at
 * PROBE_MAX_INPUT, EOF and errno kept for the classification.
 *
 * c-ares has no per-query cancel: a probe that ends while its lookup runs
 * detaches the request (rq->p = NULL); the request is freed when c-ares
 * calls back (answer, its own timeout, or ares_destroy).
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ares.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "scanner/probe.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "scanner/probe_impl.h"

static void probe_try_connect(struct probe *);

static void
format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin =
		    (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else
		snprintf(buf, len, "?");
}

enum probe_result
probe_errno_class(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return (PROBE_REFUSED);
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
		return (PROBE_UNREACHABLE);
	case ETIMEDOUT:
		return (PROBE_TIMEOUT);
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return (PROBE_RESET);
	default:
		return (PROBE_OTHER);
	}
}

static int
addr_denied(const struct probe_engine *e, const struct sockaddr *sa)
{
	return (netaddr_denied(e->o.deny, e->o.allow, sa));
}

/*
 * Edge-triggered, both directions, once per socket: OpenSSL reports
 * WANT_READ/WANT_WRITE only after recv/send said EAGAIN, so every wait
 * ends with an edge.  A spurious wake-up costs one EAGAIN.  0 or -1
 * (probe finished).
 */
int
probe_watch(struct probe *p)
{
	struct epoll_event ev;

	if (p->registered)
		return (0);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.u64 = ((uint64_t)p->gen << 32) | p->idx;
	if (epoll_ctl(p->e->epfd, EPOLL_CTL_ADD, p->fd, &ev) == -1) {
		probe_finish(p, PROBE_OTHER, "epoll_ctl: %s", strerror(errno));
		return (-1);
	}
	p->registered = 1;
	return (0);
}

static void
probe_close_conn(struct probe *p)
{
	if (p->ssl != NULL) {
		SSL_free(p->ssl); /* frees the BIO too */
		p->ssl = NULL;
	}
	if (p->fd != -1) {
		close(p->fd); /* leaves the epoll set with it */
		p->fd = -1;
	}
	p->registered = 0;
	p->wlen = 0;
}

/* Detach from everything; the slot keeps its outcome and DER. */
static void
probe_release(struct probe *p)
{
	struct probe_engine *e = p->e;

	probe_close_conn(p);
	if (p->dns != NULL) {
		p->dns->p = NULL;
		p->dns = NULL;
	}
	if (p->prev != NULL)
		p->prev->next = p->next;
	else if (e->dl_head == p)
		e->dl_head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else if (e->dl_tail == p)
		e->dl_tail = p->prev;
	p->prev = p->next = NULL;
}

void
probe_finish(struct probe *p, enum probe_result r, const char *fmt, ...)
{
	struct probe_engine *e = p->e;
	va_list              ap;

	if (p->state == P_DONE || p->state == P_FREE)
		return;
	probe_release(p);
	p->state = P_DONE;
	p->out.result = r;
	va_start(ap, fmt);
	vsnprintf(p->out.detail, sizeof(p->out.detail), fmt, ap);
	va_end(ap);
	p->out.elapsed_ms = mono_ms() - p->start;
	p->out.attempts = p->nconnect;
	e->st.results[r]++;
	p->dnext = NULL;
	if (e->done_tail != NULL)
		e->done_tail->dnext = p;
	else
		e->done_head = p;
	e->done_tail = p;
}

static void
probe_attempt_failed(struct probe *p, int err)
{
	p->lastres = probe_errno_class(err);
	snprintf(p->lastdetail, sizeof(p->lastdetail), "connect %s: %s",
	    p->out.addr, strerror(err));
	probe_close_conn(p);
}

/* Try the remaining addresses; ends the probe when none is left. */
static void
probe_try_connect(struct probe *p)
{
	struct probe_engine *e = p->e;
	struct sockaddr     *sa;
	int                  fd;

	while (p->ai < p->naddr) {
		sa = (struct sockaddr *)(void *)&p->addrs[p->ai];
		p->ai++;
		format_addr(sa, p->out.addr, sizeof(p->out.addr));
		if (addr_denied(e, sa)) {
			p->ndenied++;
			continue;
		}
		p->nconnect++;
		fd = socket(sa->sa_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1) {
			if (errno == EAFNOSUPPORT) {
				probe_attempt_failed(p, errno);
				continue;
			}
			probe_finish(
			    p, PROBE_OTHER, "socket: %s", strerror(errno));
			return;
		}
		p->fd = fd;
		p->registered = 0;
		p->wlen = 0;
		/* A new tag: events for an earlier socket are stale. */
		p->gen = (p->gen + 1) & GEN_MASK;
		/* The very sockaddr that was checked above. */
		if (connect(fd, sa, p->alens[p->ai - 1]) == 0) {
			probe_start_tls(p);
			return;
		}
		if (errno == EINPROGRESS || errno == EINTR) {
			p->state = P_CONNECT;
			(void)probe_watch(p);
			return;
		}
		probe_attempt_failed(p, errno);
	}
	if (p->nconnect == 0 && p->ndenied > 0)
		probe_finish(p, PROBE_DENIED,
		    "%d address%s denied by "
		    "scanner.deny",
		    p->ndenied, p->ndenied > 1 ? "es" : "");
	else if (p->nconnect == 0)
		probe_finish(p, PROBE_DNS, "no address");
	else
		probe_finish(p, p->lastres, "%s", p->lastdetail);
}

static void
probe_connect_event(struct probe *p, uint32_t events)
{
	struct sockaddr_storage ss;
	socklen_t               len = sizeof(int);
	int                     err = 0;

	/* Writable without an error: connected (the common case). */
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == EPOLLOUT) {
		probe_start_tls(p);
		return;
	}
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	/* Without EPOLLERR/HUP, make sure the connect is complete; with
	   them, the handshake sees whatever the peer did (EOF, reset). */
	if (err == 0 && (events & (EPOLLERR | EPOLLHUP)) == 0) {
		len = sizeof(ss);
		if (getpeername(p->fd, (struct sockaddr *)(void *)&ss, &len) ==
		    -1) {
			if (errno == ENOTCONN)
				return; /* not yet */
			err = errno;
		}
	}
	if (err != 0) {
		probe_attempt_failed(p, err);
		probe_try_connect(p);
		return;
	}
	probe_start_tls(p);
}

static void
ares_sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct probe_engine *e = data;
	struct epoll_event   ev;

	memset(&ev, 0, sizeof(ev));
	if (!readable && !writable) {
		(void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, &ev);
		return;
	}
	ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	ev.data.u64 = ARES_TAG | (uint32_t)fd;
	if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev) == -1 &&
	    errno == ENOENT && epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		log_warn("probe: epoll_ctl for a resolver socket");
}

static int
ares_sock_config(ares_socket_t fd, int type, void *data)
{
	(void)type;
	(void)data;
	return (fd_set_cloexec(fd) == -1 ? -1 : 0);
}

static void
dns_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dnsreq             *rq = arg;
	struct probe              *p = rq->p;
	struct ares_addrinfo_node *n;
	struct sockaddr_in        *sin;
	struct sockaddr_in6       *sin6;

	(void)timeouts;
	free(rq);
	if (p == NULL) { /* the probe is gone */
		if (res != NULL)
			ares_freeaddrinfo(res);
		return;
	}
	p->dns = NULL;
	if (status != ARES_SUCCESS) {
		if (res != NULL)
			ares_freeaddrinfo(res);
		switch (status) {
		case ARES_ENOMEM:
		case ARES_EDESTRUCTION:
		case ARES_ECANCELLED:
			probe_finish(p, PROBE_OTHER, "resolver: %s",
			    ares_strerror(status));
			break;
		case ARES_ETIMEOUT:
			probe_finish(p, PROBE_TIMEOUT, "resolver: %s",
			    ares_strerror(status));
			break;
		default:
			probe_finish(p, PROBE_DNS, "resolver: %s",
			    ares_strerror(status));
			break;
		}
		return;
	}
	for (n = res != NULL ? res->nodes : NULL;
	     n != NULL && p->naddr < PROBE_MAX_ADDRS; n = n->ai_next) {
		if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(*sin)) {
			sin = (struct sockaddr_in *)(void *)&p->addrs[p->naddr];
			memcpy(sin, n->ai_addr, sizeof(*sin));
			sin->sin_port = htons(p->sid.port);
			p->alens[p->naddr++] = sizeof(*sin);
		} else if (n->ai_family == AF_INET6 &&
		    n->ai_addrlen >= sizeof(*sin6)) {
			sin6 =
			    (struct sockaddr_in6 *)(void *)&p->addrs[p->naddr];
			memcpy(sin6, n->ai_addr, sizeof(*sin6));
			sin6->sin6_port = htons(p->sid.port);
			p->alens[p->naddr++] = sizeof(*sin6);
		}
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (p->naddr == 0) {
		probe_finish(p, PROBE_DNS, "resolver: no address");
		return;
	}
	p->state = P_CONNECT;
	probe_try_connect(p);
}

void
probe_opts_from_conf(const struct conf *cf, struct probe_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->concurrency = cf->scanner.concurrency;
	o->timeout_ms = cf->scanner.timeout_ms;
	o->sni = cf->scanner.sni;
	o->deny = &cf->scanner.deny;
	o->allow = &cf->scanner.allow;
}

/* The resolver: c-ares driven by the engine's epoll set. */
static int
engine_dns_init(struct probe_engine *e, const struct probe_opts *o)
{
	static int          ares_ready;
	struct ares_options ao;
	int                 r;

	if (!ares_ready) {
		if ((r = ares_library_init(ARES_LIB_INIT_ALL)) !=
		    ARES_SUCCESS) {
			log_warnx("probe: c-ares: %s", ares_strerror(r));
			return (-1);
		}
		ares_ready = 1;
	}
	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = ares_sock_cb;
	ao.sock_state_cb_data = e;
	/*
	 * A retry within the probe's time (UDP loss), and c-ares' own
	 * timeout (t/2 + t + 2t per server) after the probe's deadline, so
	 * that a silent resolver ends as the probe's TIMEOUT.
	 */
	ao.timeout = (int)(o->timeout_ms / 2 > 50 ? o->timeout_ms / 2 : 50);
	ao.tries = 3;
	r = ares_init_options(&e->ch, &ao,
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (r != ARES_SUCCESS) {
		log_warnx("probe: c-ares: %s", ares_strerror(r));
		e->ch = NULL;
		return (-1);
	}
	ares_set_socket_configure_callback(e->ch, ares_sock_config, NULL);
	if (o->dns_servers != NULL &&
	    (r = ares_set_servers_ports_csv(e->ch, o->dns_servers)) !=
	        ARES_SUCCESS) {
		log_warnx("probe: resolver \"%s\": %s", o->dns_servers,
		    ares_strerror(r));
		return (-1);
	}
	return (0);
}

struct probe_engine *
probe_engine_new(const struct probe_opts *o)
{
	struct probe_engine *e;
	int                  i;

	if (o->concurrency < 1 || o->timeout_ms < 1) {
		log_warnx("probe: concurrency and timeout must be positive");
		return (NULL);
	}
	e = xcalloc(1, sizeof(*e));
	e->o = *o;
	e->o.dns_servers = NULL;
	if ((e->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("probe: epoll_create1");
		goto fail;
	}
	if (engine_dns_init(e, o) == -1 || probe_engine_tls_init(e) == -1)
		goto fail;
	e->slots = xcalloc((size_t)o->concurrency, sizeof(*e->slots));
	for (i = o->concurrency - 1; i >= 0; i--) {
		e->slots[i].e = e;
		e->slots[i].idx = (uint32_t)i;
		e->slots[i].fd = -1;
		e->slots[i].next = e->freelist;
		e->freelist = &e->slots[i];
	}
	return (e);

fail:
	probe_engine_free(e);
	return (NULL);
}

void
probe_engine_free(struct probe_engine *e)
{
	struct probe *p;
	int           i;

	if (e == NULL)
		return;
	if (e->slots != NULL) {
		for (i = 0; i < e->o.concurrency; i++) {
			p = &e->slots[i];
			if (p->state == P_FREE)
				continue;
			probe_release(p);
			free(p->der);
			p->der = NULL;
			p->state = P_FREE;
		}
	}
	/* Calls back every pending lookup (ARES_EDESTRUCTION): detached. */
	if (e->ch != NULL)
		ares_destroy(e->ch);
	if (e->epfd != -1)
		close(e->epfd);
	SSL_CTX_free(e->ctx);
	BIO_meth_free(e->biom);
	EVP_MD_free(e->md5);
	EVP_MD_free(e->sha1);
	EVP_MD_free(e->sha256);
	free(e->slots);
	free(e);
}

/* Refuse a submission: count it, say why, set errno.  Returns -1. */
static int
submit_refused(struct probe_engine *e, int eno, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	e->st.rejected++;
	errno = eno;
	return (-1);
}

/* Link p into the deadline list: from the tail back to its place. */
static void
probe_link_deadline(struct probe_engine *e, struct probe *p)
{
	struct probe *after = e->dl_tail;

	while (after != NULL && after->deadline > p->deadline)
		after = after->prev;
	p->prev = after;
	p->next = after != NULL ? after->next : e->dl_head;
	if (p->next != NULL)
		p->next->prev = p;
	else
		e->dl_tail = p;
	if (after != NULL)
		after->next = p;
	else
		e->dl_head = p;
}

/* A free slot, set up for svc and linked into the deadline list. */
static struct probe *
probe_take_slot(struct probe_engine *e, const char *svc, size_t len,
    const struct svcid *sid, const struct probe_req *rq, probe_done_fn cb,
    void *arg)
{
	struct probe *p = e->freelist;
	int64_t       timeout = e->o.timeout_ms;

	e->freelist = p->next;
	p->gen = (p->gen + 1) & GEN_MASK;
	memcpy(p->svc, svc, len);
	p->svc[len] = '\0';
	p->svclen = len;
	p->sid = *sid;
	p->cb = cb;
	p->arg = arg;
	if (rq != NULL && rq->timeout_ms > 0 && rq->timeout_ms < timeout)
		timeout = rq->timeout_ms;
	p->sni = rq != NULL && rq->sni >= 0 ? rq->sni : e->o.sni;
	p->start = mono_ms();
	p->deadline = p->start + timeout;
	p->dns = NULL;
	p->naddr = p->ai = p->nconnect = p->ndenied = 0;
	p->lastres = PROBE_OTHER;
	p->lastdetail[0] = '\0';
	p->fd = -1;
	p->registered = 0;
	p->wlen = 0;
	p->ssl = NULL;
	p->rx = 0;
	p->alert = -1;
	p->eof = p->overflow = p->sockerr = 0;
	memset(&p->out, 0, sizeof(p->out));
	p->der = NULL;
	p->dnext = NULL;
	probe_link_deadline(e, p);
	e->inflight++;
	e->st.submitted++;
	return (p);
}

/* An address literal: connect to exactly it, no DNS. */
static void
probe_begin_literal(struct probe *p)
{
	struct sockaddr_in  *sin = (struct sockaddr_in *)(void *)&p->addrs[0];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&p->addrs[0];

	memset(&p->addrs[0], 0, sizeof(p->addrs[0]));
	if (p->sid.kind == SVCID_IPV4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p->sid.addr, 4);
		sin->sin_port = htons(p->sid.port);
		p->alens[0] = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p->sid.addr, 16);
		sin6->sin6_port = htons(p->sid.port);
		p->alens[0] = sizeof(*sin6);
	}
	p->naddr = 1;
	p->state = P_CONNECT;
	probe_try_connect(p);
}

/* A name: resolve it first (dns_cb may run before this returns). */
static void
probe_begin_dns(struct probe_engine *e, struct probe *p)
{
	struct ares_addrinfo_hints hints;
	struct dnsreq             *rq = xmalloc(sizeof(*rq));

	p->state = P_DNS;
	rq->p = p;
	p->dns = rq;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	ares_getaddrinfo(e->ch, p->sid.host, NULL, &hints, dns_cb, rq);
}

int
probe_submit(struct probe_engine *e, const char *svc, size_t len,
    probe_done_fn cb, void *arg, char *err, size_t errlen)
{
	return (probe_submit_req(e, svc, len, NULL, cb, arg, err, errlen));
}

int
probe_submit_req(struct probe_engine *e, const char *svc, size_t len,
    const struct probe_req *rq, probe_done_fn cb, void *arg, char *err,
    size_t errlen)
{
	struct svcid  sid;
	struct probe *p;
	char          why[128];

	if (len > SVCID_MAX)
		return (submit_refused(e, EINVAL, err, errlen,
		    "service id longer than %d bytes", SVCID_MAX));
	if (svcid_parse(svc, len, &sid, why, sizeof(why)) == -1)
		return (submit_refused(e, EINVAL, err, errlen, "%s", why));
	if (sid.type != SVCID_TYPE_TLS)
		return (submit_refused(e, EINVAL, err, errlen,
		    "service type "
		    "%d is not probed (only %d, TLS)",
		    sid.type, SVCID_TYPE_TLS));
	if (e->freelist == NULL)
		return (submit_refused(e, EAGAIN, err, errlen,
		    "busy: %d "
		    "probes in flight",
		    e->o.concurrency));
	p = probe_take_slot(e, svc, len, &sid, rq, cb, arg);
	if (sid.kind == SVCID_IPV4 || sid.kind == SVCID_IPV6)
		probe_begin_literal(p);
	else
		probe_begin_dns(e, p);
	return (0);
}

int
probe_engine_fd(const struct probe_engine *e)
{
	return (e->epfd);
}

int
probe_engine_timeout(struct probe_engine *e)
{
	struct timeval tv, *tp;
	int64_t        t = -1, ms;

	if (e->done_head != NULL)
		return (0);
	if (e->dl_head != NULL) {
		t = e->dl_head->deadline - mono_ms();
		if (t < 0)
			t = 0;
	}
	if ((tp = ares_timeout(e->ch, NULL, &tv)) != NULL) {
		ms = (int64_t)tp->tv_sec * 1000 + (tp->tv_usec + 999) / 1000;
		if (t < 0 || ms < t)
			t = ms;
	}
	return (t > INT_MAX ? INT_MAX : (int)t);
}

static void
probe_event(struct probe_engine *e, const struct epoll_event *ev)
{
	struct probe *p;
	uint64_t      tag = ev->data.u64;
	uint32_t      idx = (uint32_t)tag;
	int           fd;

	if (tag & ARES_TAG) {
		fd = (int)(uint32_t)tag;
		ares_process_fd(e->ch,
		    ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP)
		        ? fd
		        : ARES_SOCKET_BAD,
		    ev->events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
		return;
	}
	if (idx >= (uint32_t)e->o.concurrency)
		return;
	p = &e->slots[idx];
	if (p->gen != (uint32_t)(tag >> 32) || p->fd == -1)
		return;
	if (p->state == P_CONNECT)
		probe_connect_event(p, ev->events);
	else if (p->state == P_TLS)
		probe_handshake(p);
}

void
probe_engine_process(struct probe_engine *e)
{
	struct epoll_event   ev[EVENTS_MAX];
	struct probe        *p;
	struct probe_outcome out;
	probe_done_fn        cb;
	void                *arg;
	uint8_t             *der;
	char                 svc[SVCID_MAX + 1];
	size_t               svclen;
	int64_t              now;
	int                  n, i, rounds = 0;

	do {
		n = epoll_wait(e->epfd, ev, EVENTS_MAX, 0);
		for (i = 0; i < n; i++)
			probe_event(e, &ev[i]);
	} while (n == EVENTS_MAX && ++rounds < 4);

	/* Resolver timeouts (and retransmissions). */
	ares_process_fd(e->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);

	now = mono_ms();
	while ((p = e->dl_head) != NULL && p->deadline <= now) {
		probe_finish(p, PROBE_TIMEOUT, "no answer within %lld ms (%s)",
		    (long long)e->o.timeout_ms,
		    p->state == P_DNS           ? "resolving"
		        : p->state == P_CONNECT ? "connecting"
		                                : "in the handshake");
	}

	/* Callbacks; they may submit more (which may finish at once). */
	while ((p = e->done_head) != NULL) {
		e->done_head = p->dnext;
		if (e->done_head == NULL)
			e->done_tail = NULL;
		out = p->out;
		der = p->der;
		cb = p->cb;
		arg = p->arg;
		svclen = p->svclen;
		memcpy(svc, p->svc, svclen + 1);
		p->der = NULL;
		p->state = P_FREE;
		p->gen = (p->gen + 1) & GEN_MASK;
		p->next = e->freelist;
		e->freelist = p;
		e->inflight--;
		if (cb != NULL)
			cb(arg, svc, svclen, &out);
		free(der);
	}
}

size_t
probe_inflight(const struct probe_engine *e)
{
	return (e->inflight);
}

void
probe_engine_stats(const struct probe_engine *e, struct probe_stats *st)
{
	*st = e->st;
}
