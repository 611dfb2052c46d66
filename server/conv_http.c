/*
 * conv_http.c - the Convergence TLS ports in an HTTP worker: accept,
 * non-blocking TLS handshake (conv_tls.c: the key stays in the signer),
 * one HTTP/1.x request per connection, the reply framed as spec §2.5
 * (HTTP/1.0 status line, Content-Length, never chunked), then
 * close_notify, FIN and close.
 *
 * A request is parsed by http_parser.c with the plain port's limits
 * (http.max_request, max_headers, max_body), then by conv_parse_request
 * (spec §2.2).  The signed history of the target comes from the shared
 * cache or, on a miss, from the signer (CACHE_FMT_CONVERGENCE_JSON) over
 * this module's own signer connection.  A cached list that already holds
 * the POSTed fingerprint (or any cached list, for a GET) is a 200 at once
 * (spec §2.3); everything else goes to the signer with SIGPROTO_F_WAIT,
 * which decides and, for a miss, holds the request until the probe it
 * queued is recorded: 200, 409 with the fresh list, or 503.
 *
 * Limits: at most http.max_connections connections; the handshake and
 * the request together within http.request_timeout, and so is the
 * reply; the signer gets SIGNER_WAIT_MS.  Nothing about a client is
 * logged.  Runs in HTTP workers only.
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/buf.h"
#include "common/cache.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "server/conv_http.h"
#include "server/conv_tls.h"
#include "server/convergence.h"
#include "server/convkeys.h"
#include "server/http_parser.h"
#include "server/sigproto.h"
#include "store/paths.h"

#ifndef TAILQ_FOREACH_SAFE /* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                  \
	for ((var) = TAILQ_FIRST(head);                             \
	     (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1); \
	     (var) = (tvar))
#endif

#define MAX_LISTEN     64
#define MAX_EVENTS     128
#define ACCEPT_BURST   32
#define SIGNER_WAIT_MS 1500 /* beyond scanner.timeout */
#define RETRY_MS       100  /* signer reconnect, certificate load */
#define OUT_MAX        (SIGPROTO_BODY_MAX + 1024)
#define LINGER_MS      2000

enum cc_state {
	CC_HANDSHAKE,
	CC_READ,
	CC_WAIT, /* the signer has the request */
	CC_WRITE,
	CC_LINGER, /* FIN sent: discard input until EOF */
};

struct cconn {
	int               fd;
	SSL              *ssl;
	enum cc_state     state;
	struct buf        in;
	struct buf        out;
	size_t            out_off;
	int64_t           deadline;
	uint32_t          wait_seq;
	struct conv_query q;
	TAILQ_ENTRY(cconn) link;
};

struct conv_http {
	struct proc_ctx   *ctx;
	const struct conf *cf;
	int                ep;
	SSL_CTX           *tls; /* NULL until the cert loads */
	int64_t            tls_retry_at;
	int                accepting;
	int                draining;
	int                sig_fd;
	int64_t            sig_retry_at;
	uint32_t           sig_seq;
	int                nconns;
	TAILQ_HEAD(, cconn) conns;
	TAILQ_HEAD(, cconn) dead; /* freed after the batch */
	struct http_limits lim;
	unsigned char     *cache_buf;
	size_t             cache_buf_len;
	char               sock[108];
	char               tag_listen[MAX_LISTEN];
	char               tag_signer;
};

static void cc_close(struct conv_http *, struct cconn *);
static void cc_step(struct conv_http *, struct cconn *);
static void signer_ask(struct conv_http *, struct cconn *);

/* ---- set-up ------------------------------------------------------------- */

static int
ep_add(struct conv_http *ch, int fd, void *ptr, uint32_t events)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.ptr = ptr;
	return (epoll_ctl(ch->ep, EPOLL_CTL_ADD, fd, &ev));
}

/*
 * The certificate may not exist yet at the first start (the signer makes
 * it): try again every RETRY_MS, and listen only once it is loaded.
 */
static void
try_tls(struct conv_http *ch)
{
	char    cert[4096], key[4096], err[512], fp[60];
	size_t  i;
	int64_t now = mono_ms();

	if (ch->tls != NULL || now < ch->tls_retry_at)
		return;
	ch->tls_retry_at = now + RETRY_MS;
	if (convkeys_paths(ch->cf, cert, sizeof(cert), key, sizeof(key)) == -1)
		return;
	if ((ch->tls = conv_tls_ctx(cert, ch->sock, fp, err, sizeof(err))) ==
	    NULL) {
		log_debug("convergence: %s (retrying)", err);
		return;
	}
	for (i = 0; i < ch->ctx->nconv_listen; i++)
		if (ep_add(ch, ch->ctx->conv_listen_fds[i], &ch->tag_listen[i],
		        EPOLLIN) == -1)
			log_warn("convergence: epoll_ctl");
	ch->accepting = 1;
	log_debug("convergence: serving certificate SHA-1 %s", fp);
}

struct conv_http *
conv_http_new(struct proc_ctx *ctx)
{
	struct conv_http  *ch;
	struct sockaddr_un sun;

	if (ctx->nconv_listen == 0)
		return (NULL);
	if (ctx->nconv_listen > MAX_LISTEN)
		fatalx("too many Convergence listeners");
	ch = xcalloc(1, sizeof(*ch));
	ch->ctx = ctx;
	ch->cf = ctx->cf;
	ch->sig_fd = -1;
	TAILQ_INIT(&ch->conns);
	TAILQ_INIT(&ch->dead);
	ch->lim.max_request = ch->cf->http.max_request;
	ch->lim.max_headers = (size_t)ch->cf->http.max_headers;
	ch->lim.max_body = ch->cf->http.max_body;
	ch->cache_buf_len =
	    ctx->cache != NULL ? cache_max_value(ctx->cache) : 0;
	if (ch->cache_buf_len > 0)
		ch->cache_buf = xmalloc(ch->cache_buf_len);
	/* The master made the signer socket: its path fits. */
	if (store_sockaddr(ch->cf, STORE_SIGNER_SOCK, &sun) == -1 ||
	    xsnprintf(ch->sock, sizeof(ch->sock), "%s", sun.sun_path) == -1)
		fatalx("signer socket path too long");
	if ((ch->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	try_tls(ch);
	return (ch);
}

int
conv_http_fd(const struct conv_http *ch)
{
	return (ch->ep);
}

/* ---- connections ---------------------------------------------------------- */

static void
cc_events(struct conv_http *ch, struct cconn *c, uint32_t events)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(ch->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		cc_close(ch, c);
}

static void
cc_close(struct conv_http *ch, struct cconn *c)
{
	if (c->fd == -1)
		return;
	epoll_ctl(ch->ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	c->fd = -1;
	c->ssl = NULL;
	TAILQ_REMOVE(&ch->conns, c, link);
	TAILQ_INSERT_TAIL(&ch->dead, c, link);
	ch->nconns--;
}

/* Events of this batch may still name a closed connection. */
static void
free_dead(struct conv_http *ch)
{
	struct cconn *c;

	while ((c = TAILQ_FIRST(&ch->dead)) != NULL) {
		TAILQ_REMOVE(&ch->dead, c, link);
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
	}
}

static void
accept_conns(struct conv_http *ch, int lfd)
{
	struct cconn *c;
	int           i, fd;

	for (i = 0; i < ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		if (ch->nconns >= ch->cf->http.max_connections) {
			close(fd); /* no TLS to say 503 with */
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		if ((c->ssl = SSL_new(ch->tls)) == NULL ||
		    SSL_set_fd(c->ssl, fd) != 1 ||
		    ep_add(ch, fd, c, EPOLLIN | EPOLLRDHUP) == -1) {
			ERR_clear_error();
			SSL_free(c->ssl);
			close(fd);
			free(c);
			continue;
		}
		SSL_set_accept_state(c->ssl);
		buf_init(&c->in, ch->lim.max_request + ch->lim.max_body);
		buf_init(&c->out, OUT_MAX);
		c->state = CC_HANDSHAKE;
		c->deadline = mono_ms() + ch->cf->http.request_timeout_ms;
		TAILQ_INSERT_TAIL(&ch->conns, c, link);
		ch->nconns++;
		cc_step(ch, c);
	}
}

/* Queue the reply and switch to writing. */
static void
cc_reply(struct conv_http *ch, struct cconn *c, int status, const char *msg,
    const void *body, size_t len)
{
	buf_reset(&c->out);
	c->out_off = 0;
	if ((msg != NULL ? conv_frame_error(status, msg, &c->out)
	                 : conv_frame(status, body, len, &c->out)) == -1) {
		cc_close(ch, c);
		return;
	}
	c->state = CC_WRITE;
	c->deadline = mono_ms() + ch->cf->http.request_timeout_ms;
}

/*
 * Decide on a signed list (spec §2.3): it holds one "fingerprint" member
 * per row, so the history is the set of those strings.
 */
static void
cc_decide(struct conv_http *ch, struct cconn *c, const char *body, size_t len)
{
	struct conv_decision d;
	struct conv_row      row;
	char                 pat[CONV_FP_LEN + 24];
	int                  n;

	memset(&row, 0, sizeof(row));
	if (c->q.post) {
		n = snprintf(
		    pat, sizeof(pat), "\"fingerprint\": \"%s\"", c->q.fp);
		if (n > 0 && memmem(body, len, pat, (size_t)n) != NULL)
			memcpy(row.fp, c->q.fp, sizeof(row.fp));
	}
	conv_decide(c->q.post ? c->q.fp : NULL, 1, &row,
	    !c->q.post || row.fp[0] != '\0' ? 1 : 0, NULL, &d);
	if (d.action == CONV_REPLY && d.status == 200)
		cc_reply(ch, c, 200, NULL, body, len);
	else
		signer_ask(ch, c); /* it decides, probing if need be */
}

/* ---- the signer ------------------------------------------------------------ */

static int
signer_connect(struct conv_http *ch)
{
	struct sockaddr_un sun;
	int                fd;

	if (ch->sig_fd != -1)
		return (0);
	if (mono_ms() < ch->sig_retry_at)
		return (-1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, ch->sock, sizeof(sun.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    ep_add(ch, fd, &ch->tag_signer, EPOLLIN | EPOLLRDHUP) == -1) {
		close(fd);
		ch->sig_retry_at = mono_ms() + RETRY_MS;
		return (-1);
	}
	ch->sig_fd = fd;
	return (0);
}

static void
signer_drop(struct conv_http *ch)
{
	struct cconn *c, *t;

	if (ch->sig_fd == -1)
		return;
	close(ch->sig_fd); /* also leaves the epoll set */
	ch->sig_fd = -1;
	TAILQ_FOREACH_SAFE(c, &ch->conns, link, t)
	if (c->state == CC_WAIT) {
		cc_reply(ch, c, 503, "Error retrieving records.", NULL, 0);
		cc_step(ch, c);
	}
}

static void
signer_ask(struct conv_http *ch, struct cconn *c)
{
	struct sigproto_req req;
	uint8_t             msg[SIGPROTO_REQ_HDR + SIGPROTO_ID_MAX];
	char                id[SIGPROTO_ID_MAX + 1];
	long                n;
	int                 l;

	l = c->q.post ? snprintf(id, sizeof(id), "%s %s", c->q.svc, c->q.fp)
	              : snprintf(id, sizeof(id), "%s", c->q.svc);
	req.seq = ++ch->sig_seq;
	req.fmt = CACHE_FMT_CONVERGENCE_JSON;
	req.flags = SIGPROTO_F_PROBE | SIGPROTO_F_WAIT;
	req.idlen = (size_t)l;
	req.id = id;
	if (l <= 0 || (size_t)l >= sizeof(id) || signer_connect(ch) == -1 ||
	    (n = sigproto_req_encode(msg, sizeof(msg), &req)) == -1 ||
	    send(ch->sig_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	        n) {
		cc_reply(ch, c, 503, "Error retrieving records.", NULL, 0);
		return;
	}
	c->state = CC_WAIT;
	c->wait_seq = req.seq;
	/* The signer answers by scanner.timeout + CONV_WAIT_SLACK_MS. */
	c->deadline = mono_ms() + ch->cf->scanner.timeout_ms + SIGNER_WAIT_MS;
}

static void
signer_read(struct conv_http *ch)
{
	static uint8_t      msg[SIGPROTO_REP_HDR + SIGPROTO_BODY_MAX];
	struct sigproto_rep rep;
	struct cconn       *c;
	ssize_t             n;

	while (ch->sig_fd != -1) {
		n = recv(ch->sig_fd, msg, sizeof(msg), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0 || sigproto_rep_decode(msg, (size_t)n, &rep) == -1) {
			log_info("convergence: signer connection lost");
			signer_drop(ch);
			return;
		}
		TAILQ_FOREACH(c, &ch->conns, link)
		if (c->state == CC_WAIT && c->wait_seq == rep.seq)
			break;
		if (c == NULL)
			continue;
		if (rep.status == SIG_OK || rep.status == SIG_CONFLICT)
			cc_reply(ch, c, rep.status == SIG_OK ? 200 : 409, NULL,
			    rep.body, rep.len);
		else if (rep.status == SIG_UNKNOWN ||
		    rep.status == SIG_PROBE_FAILED)
			cc_reply(ch, c, 503, "Internal Error.", NULL, 0);
		else if (rep.status == SIG_BAD)
			cc_reply(ch, c, 400, "Invalid target.", NULL, 0);
		else
			cc_reply(
			    ch, c, 503, "Error retrieving records.", NULL, 0);
		cc_step(ch, c);
	}
}

/* ---- requests ---------------------------------------------------------------- */

static const struct http_header *
header(const struct http_request *r, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < r->nheaders; i++)
		if (r->headers[i].name_len == n &&
		    strncasecmp(r->headers[i].name, name, n) == 0)
			return (&r->headers[i]);
	return (NULL);
}

static void
cc_request(struct conv_http *ch, struct cconn *c, const struct http_request *r)
{
	struct conv_request_in    in;
	const struct http_header *ct = header(r, "Content-Type");
	size_t                    vlen;

	memset(&in, 0, sizeof(in));
	in.method = r->method_str;
	in.method_len = r->method_len;
	in.path = r->path;
	in.path_len = r->path_len;
	in.query = r->query;
	in.query_len = r->query_len;
	if (ct != NULL) {
		in.ctype = ct->value;
		in.ctype_len = ct->value_len;
	}
	in.body = r->body;
	in.body_len = r->body_len;
	if (conv_parse_request(&in, &c->q) != 0) {
		cc_reply(ch, c, c->q.status, c->q.msg, NULL, 0);
		return;
	}
	if (ch->cache_buf != NULL &&
	    cache_get(ch->ctx->cache, CACHE_FMT_CONVERGENCE_JSON, c->q.svc,
	        c->q.svclen, ch->cache_buf, ch->cache_buf_len, &vlen, NULL,
	        mono_ms()) == 1) {
		cc_decide(ch, c, (const char *)ch->cache_buf, vlen);
		return;
	}
	signer_ask(ch, c);
}

/* Read and parse; 0 to go on, -1 when the connection was closed. */
static int
cc_read(struct conv_http *ch, struct cconn *c)
{
	struct http_request req;
	size_t              got, want;
	int                 r, e;

	for (;;) {
		if (c->in.len == c->in.max) {
			cc_reply(ch, c, 413, "Request too large.", NULL, 0);
			return (0);
		}
		want = c->in.max - c->in.len < 16384 ? c->in.max - c->in.len
		                                     : 16384;
		if (buf_reserve(&c->in, want) == -1)
			return (-1);
		r = SSL_read_ex(c->ssl, c->in.data + c->in.len, want, &got);
		if (r == 1) {
			c->in.len += got;
			r = http_parse_request(
			    c->in.data, c->in.len, &ch->lim, &req);
			if (r < 0) {
				cc_reply(ch, c, -r, conv_reason(-r), NULL, 0);
				return (0);
			}
			if (r > 0) {
				cc_request(ch, c, &req);
				return (0);
			}
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		ERR_clear_error();
		if (e == SSL_ERROR_WANT_READ) {
			cc_events(ch, c, EPOLLIN | EPOLLRDHUP);
			return (0);
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			cc_events(ch, c, EPOLLOUT);
			return (0);
		}
		return (-1);
	}
}

/* Write the reply; then close_notify, FIN, close. */
static void
cc_write(struct conv_http *ch, struct cconn *c)
{
	size_t n;
	int    r, e;

	while (c->out_off < c->out.len) {
		r = SSL_write_ex(c->ssl, c->out.data + c->out_off,
		    c->out.len - c->out_off, &n);
		if (r == 1) {
			c->out_off += n;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		ERR_clear_error();
		if (e == SSL_ERROR_WANT_WRITE)
			cc_events(ch, c, EPOLLOUT);
		else if (e == SSL_ERROR_WANT_READ)
			cc_events(ch, c, EPOLLIN | EPOLLRDHUP);
		else
			cc_close(ch, c);
		return;
	}
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	shutdown(c->fd, SHUT_WR);
	/* Closing with unread input would reset the reply away. */
	c->state = CC_LINGER;
	c->deadline = mono_ms() + LINGER_MS;
	cc_events(ch, c, EPOLLIN | EPOLLRDHUP);
}

static void
cc_linger(struct conv_http *ch, struct cconn *c)
{
	char    scratch[4096];
	ssize_t n;

	while ((n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		cc_close(ch, c);
}

/* Advance a connection as far as it can go without blocking. */
static void
cc_step(struct conv_http *ch, struct cconn *c)
{
	int r, e;

	if (c->fd == -1)
		return;
	if (c->state == CC_HANDSHAKE) {
		if ((r = SSL_do_handshake(c->ssl)) != 1) {
			e = SSL_get_error(c->ssl, r);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ)
				cc_events(ch, c, EPOLLIN | EPOLLRDHUP);
			else if (e == SSL_ERROR_WANT_WRITE)
				cc_events(ch, c, EPOLLOUT);
			else
				cc_close(ch, c);
			return;
		}
		c->state = CC_READ;
	}
	if (c->state == CC_READ && cc_read(ch, c) == -1) {
		cc_close(ch, c);
		return;
	}
	if (c->fd != -1 && c->state == CC_WAIT)
		cc_events(ch, c, EPOLLRDHUP);
	if (c->fd != -1 && c->state == CC_WRITE)
		cc_write(ch, c);
	else if (c->fd != -1 && c->state == CC_LINGER)
		cc_linger(ch, c);
}

/* ---- the loop's interface ---------------------------------------------------- */

void
conv_http_run(struct conv_http *ch)
{
	struct epoll_event ev[MAX_EVENTS];
	struct cconn      *c, *t;
	int64_t            now;
	int                n, i;
	char              *p;

	try_tls(ch);
	n = epoll_wait(ch->ep, ev, MAX_EVENTS, 0);
	for (i = 0; i < n; i++) {
		p = ev[i].data.ptr;
		if (p == &ch->tag_signer)
			signer_read(ch);
		else if (p >= ch->tag_listen &&
		    p < ch->tag_listen + MAX_LISTEN) {
			if (ch->accepting)
				accept_conns(ch,
				    ch->ctx
				        ->conv_listen_fds[p - ch->tag_listen]);
		} else {
			c = (struct cconn *)(void *)p;
			if (c->fd == -1)
				continue;
			if (c->state == CC_WAIT)
				cc_close(ch, c); /* the client left */
			else
				cc_step(ch, c);
		}
	}
	now = mono_ms();
	TAILQ_FOREACH_SAFE(c, &ch->conns, link, t)
	{
		if (now < c->deadline)
			continue;
		if (c->state == CC_WAIT) {
			cc_reply(
			    ch, c, 503, "Error retrieving records.", NULL, 0);
			cc_step(ch, c);
		} else
			cc_close(ch, c);
	}
	free_dead(ch);
}

int64_t
conv_http_next_ms(const struct conv_http *ch)
{
	const struct cconn *c;
	int64_t             next = INT64_MAX, now = mono_ms();

	if (ch->tls == NULL)
		next = ch->tls_retry_at;
	TAILQ_FOREACH(c, &ch->conns, link)
	if (c->deadline < next)
		next = c->deadline;
	if (next == INT64_MAX)
		return (-1);
	return (next > now ? next - now : 0);
}

void
conv_http_drain(struct conv_http *ch)
{
	size_t i;

	if (ch->draining)
		return;
	ch->draining = 1;
	if (ch->accepting)
		for (i = 0; i < ch->ctx->nconv_listen; i++)
			epoll_ctl(ch->ep, EPOLL_CTL_DEL,
			    ch->ctx->conv_listen_fds[i], NULL);
	ch->accepting = 0;
	ch->tls_retry_at = INT64_MAX;
}

int
conv_http_busy(const struct conv_http *ch)
{
	return (ch->nconns);
}

void
conv_http_free(struct conv_http *ch)
{
	uint64_t n, usec;

	conv_tls_keyop_stats(&n, &usec);
	if (n > 0)
		log_info("convergence: %llu handshake key operations in the "
		         "signer, %.0f us each on average",
		    (unsigned long long)n, (double)usec / (double)n);
	while (!TAILQ_EMPTY(&ch->conns))
		cc_close(ch, TAILQ_FIRST(&ch->conns));
	free_dead(ch);
	if (ch->sig_fd != -1)
		close(ch->sig_fd);
	close(ch->ep);
	SSL_CTX_free(ch->tls);
	free(ch->cache_buf);
	free(ch);
}
