/*
 * probe.c - the TLS probe engine (see probe.h for the contract).
 *
 * Layout: a fixed array of `concurrency` slots; a free list; the probes in
 * flight on a list ordered by deadline (every probe of an engine has the
 * same timeout, so submission order is deadline order and the earliest
 * deadline is the head); finished probes on a "done" list that
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

#include "common/log.h"
#include "common/netaddr.h"
#include "scanner/probe.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define ARES_TAG	(UINT64_C(1) << 63)
#define GEN_MASK	0x7fffffffu
#define EVENTS_MAX	256
#define PROBE_WBUF	2048	/* client flights are smaller */

/* What a browser offers (Firefox/Chrome order, ECDSA before RSA). */
static const char probe_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA:"
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA";
static const char probe_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:"
    "TLS_AES_256_GCM_SHA384";
static const char probe_groups[] = "X25519:P-256:P-384";
static const char probe_sigalgs[] =
    "ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256:rsa_pkcs1_sha256:"
    "ecdsa_secp384r1_sha384:rsa_pss_rsae_sha384:rsa_pkcs1_sha384:"
    "rsa_pss_rsae_sha512:rsa_pkcs1_sha512";
static const unsigned char probe_alpn[] = "\x02h2\x08http/1.1";

enum pstate {
	P_FREE = 0,
	P_DNS,
	P_CONNECT,
	P_TLS,
	P_DONE,
};

struct dnsreq {
	struct probe	*p;		/* NULL once the probe gave up */
};

struct probe {
	struct probe_engine	*e;
	uint32_t		 idx;
	uint32_t		 gen;
	enum pstate		 state;
	char			 svc[SVCID_MAX + 1];
	size_t			 svclen;
	struct svcid		 sid;
	probe_done_fn		 cb;
	void			*arg;
	int64_t			 start;
	int64_t			 deadline;
	struct probe		*prev, *next;	/* deadline list / free list */
	struct probe		*dnext;		/* done list */
	struct dnsreq		*dns;

	struct sockaddr_storage	 addrs[PROBE_MAX_ADDRS];
	socklen_t		 alens[PROBE_MAX_ADDRS];
	int			 naddr;
	int			 ai;		/* next address to try */
	int			 nconnect;	/* connects attempted */
	int			 ndenied;
	enum probe_result	 lastres;	/* last failed attempt */
	char			 lastdetail[96];

	int			 fd;
	int			 registered;	/* fd in the epoll set */
	SSL			*ssl;
	uint8_t			 wbuf[PROBE_WBUF];	/* one flight */
	size_t			 wlen;
	size_t			 rx;		/* handshake bytes read */
	int			 alert;		/* -1, or received alert */
	int			 eof;
	int			 overflow;	/* rx reached PROBE_MAX_INPUT */
	int			 sockerr;	/* errno of a failed recv/send */

	struct probe_outcome	 out;
	uint8_t			*der;
};

struct probe_engine {
	struct probe_opts	 o;
	int			 epfd;
	ares_channel		 ch;
	SSL_CTX			*ctx;
	BIO_METHOD		*biom;
	EVP_MD			*md5, *sha1, *sha256;

	struct probe		*slots;
	struct probe		*freelist;
	struct probe		*dl_head, *dl_tail;	/* by deadline */
	struct probe		*done_head, *done_tail;
	size_t			 inflight;
	struct probe_stats	 st;
};


static void	probe_finish(struct probe *, enum probe_result, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static void	probe_try_connect(struct probe *);
static void	probe_handshake(struct probe *);


/* ---- helpers ------------------------------------------------------------ */

static void
format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)
		    (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)
		    (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else
		snprintf(buf, len, "?");
}

static enum probe_result
errno_class(int err)
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
static int
probe_watch(struct probe *p)
{
	struct epoll_event	ev;

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
		SSL_free(p->ssl);	/* frees the BIO too */
		p->ssl = NULL;
	}
	if (p->fd != -1) {
		close(p->fd);		/* leaves the epoll set with it */
		p->fd = -1;
	}
	p->registered = 0;
	p->wlen = 0;
}

/* Detach from everything; the slot keeps its outcome and DER. */
static void
probe_release(struct probe *p)
{
	struct probe_engine	*e = p->e;

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

static void
probe_finish(struct probe *p, enum probe_result r, const char *fmt, ...)
{
	struct probe_engine	*e = p->e;
	va_list			 ap;

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

/* ---- the socket BIO: MSG_NOSIGNAL, input cap, EOF and errno kept --------- */

/*
 * Writes are collected until OpenSSL flushes at the end of a flight, so a
 * flight is one send() (no Nagle wait between its records, fewer calls).
 * 1: all sent; 0: try again (retry flag set); -1: error.
 */
static int
bio_flush_out(BIO *b, struct probe *p)
{
	ssize_t	n;

	while (p->wlen > 0) {
		n = send(p->fd, p->wbuf, p->wlen, MSG_NOSIGNAL);
		if (n > 0) {
			memmove(p->wbuf, p->wbuf + n, p->wlen - (size_t)n);
			p->wlen -= (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			BIO_set_retry_write(b);
			return (0);
		}
		p->sockerr = n == -1 ? errno : EPIPE;
		return (-1);
	}
	return (1);
}

static int
bio_write(BIO *b, const char *buf, int len)
{
	struct probe	*p = BIO_get_data(b);
	int		 r;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return (0);
	if (p->wlen + (size_t)len > sizeof(p->wbuf) &&
	    (r = bio_flush_out(b, p)) <= 0)
		return (-1);
	if ((size_t)len > sizeof(p->wbuf) - p->wlen)
		len = (int)(sizeof(p->wbuf) - p->wlen);
	memcpy(p->wbuf + p->wlen, buf, (size_t)len);
	p->wlen += (size_t)len;
	return (len);
}

static int
bio_read(BIO *b, char *buf, int len)
{
	struct probe	*p = BIO_get_data(b);
	size_t		 want;
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return (0);
	if (p->rx >= PROBE_MAX_INPUT) {
		p->overflow = 1;
		return (-1);
	}
	want = (size_t)len;
	if (want > PROBE_MAX_INPUT - p->rx)
		want = PROBE_MAX_INPUT - p->rx;
	n = recv(p->fd, buf, want, 0);
	if (n > 0) {
		p->rx += (size_t)n;
		return ((int)n);
	}
	if (n == 0) {
		p->eof = 1;
		return (0);
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		BIO_set_retry_read(b);
	else
		p->sockerr = errno;
	return (-1);
}

static int
bio_puts(BIO *b, const char *s)
{
	return (bio_write(b, s, (int)strlen(s)));
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct probe	*p = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		BIO_clear_retry_flags(b);
		return (p == NULL ? 1 : bio_flush_out(b, p));
	case BIO_CTRL_WPENDING:
		return (p == NULL ? 0 : (long)p->wlen);
	case BIO_CTRL_EOF:
		return (p != NULL && p->eof);
	default:
		return (0);
	}
}

static int
bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return (1);
}

static int
bio_destroy(BIO *b)
{
	BIO_set_data(b, NULL);
	return (1);
}

/* ---- OpenSSL ------------------------------------------------------------- */

static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct probe	*p;

	/* SSL_CB_READ_ALERT shares its SSL_CB_ALERT bit with WRITE_ALERT. */
	if ((where & SSL_CB_ALERT) == 0 || (where & SSL_CB_READ) == 0)
		return;
	if ((p = SSL_get_app_data(ssl)) != NULL)
		p->alert = ret & 0xff;
}

/*
 * No verification at all: a notary records what is presented.  (With
 * SSL_VERIFY_NONE alone OpenSSL still builds and checks the chain, and
 * ignores the result: CPU for nothing.)
 */
static int
no_verify_cb(X509_STORE_CTX *xs, void *arg)
{
	(void)xs;
	(void)arg;
	return (1);
}

static SSL_CTX *
make_ctx(void)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return (NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, probe_ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, probe_suites) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, probe_groups) != 1 ||
	    SSL_CTX_set1_sigalgs_list(ctx, probe_sigalgs) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, probe_alpn,
	    sizeof(probe_alpn) - 1) != 0) {
		SSL_CTX_free(ctx);
		return (NULL);
	}
	/* A notary records what is presented, weak or not. */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, no_verify_cb, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_LEGACY_SERVER_CONNECT);
	SSL_CTX_set_max_cert_list(ctx, PROBE_MAX_CERT_LIST);
	SSL_CTX_set_info_callback(ctx, info_cb);
	return (ctx);
}

static void
probe_success(struct probe *p)
{
	struct probe_engine	*e = p->e;
	X509			*x;
	unsigned char		*q;
	int			 n;

	if ((x = SSL_get0_peer_certificate(p->ssl)) == NULL) {
		probe_finish(p, PROBE_PROTOCOL, "no server certificate");
		return;
	}
	if ((n = i2d_X509(x, NULL)) <= 0) {
		probe_finish(p, PROBE_PROTOCOL, "cannot encode the certificate");
		return;
	}
	if ((size_t)n > OBS_DER_MAX) {
		probe_finish(p, PROBE_PROTOCOL, "leaf certificate of %d bytes "
		    "(at most %d)", n, OBS_DER_MAX);
		return;
	}
	p->der = xmalloc((size_t)n);
	q = p->der;
	if (i2d_X509(x, &q) != n ||
	    EVP_Digest(p->der, (size_t)n, p->out.fp.md5, NULL, e->md5,
	    NULL) != 1 ||
	    EVP_Digest(p->der, (size_t)n, p->out.fp.sha1, NULL, e->sha1,
	    NULL) != 1 ||
	    EVP_Digest(p->der, (size_t)n, p->out.fp.sha256, NULL, e->sha256,
	    NULL) != 1) {
		ERR_clear_error();
		free(p->der);
		p->der = NULL;
		probe_finish(p, PROBE_OTHER, "digest failed");
		return;
	}
	p->out.der = p->der;
	p->out.derlen = (size_t)n;
	p->out.tls_version = SSL_version(p->ssl);
	/* close_notify if it fits in the socket buffer; never awaited. */
	(void)SSL_shutdown(p->ssl);
	(void)BIO_flush(SSL_get_wbio(p->ssl));
	ERR_clear_error();
	probe_finish(p, PROBE_OK, "%s %s", SSL_get_version(p->ssl),
	    SSL_get_cipher_name(p->ssl));
}

static void
probe_tls_failed(struct probe *p, int sslerr)
{
	unsigned long	 err;
	const char	*reason;

	err = ERR_peek_last_error();
	reason = err != 0 ? ERR_reason_error_string(err) : NULL;
	if (reason == NULL)
		reason = "unknown";
	ERR_clear_error();
	if (p->alert >= 0) {
		p->out.tls_alert = p->alert;
		probe_finish(p, PROBE_TLS_ALERT, "alert %d (%s)", p->alert,
		    SSL_alert_desc_string_long(p->alert));
	} else if (p->overflow)
		probe_finish(p, PROBE_PROTOCOL, "handshake larger than %d "
		    "bytes", PROBE_MAX_INPUT);
	else if (p->sockerr != 0)
		probe_finish(p, errno_class(p->sockerr), "handshake: %s",
		    strerror(p->sockerr));
	else if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
	    ERR_GET_REASON(err) == SSL_R_EXCESSIVE_MESSAGE_SIZE)
		probe_finish(p, PROBE_PROTOCOL, "handshake message over the "
		    "limit (certificate list > %d bytes)",
		    PROBE_MAX_CERT_LIST);
	else if (p->eof)
		probe_finish(p, PROBE_PROTOCOL, "connection closed during "
		    "the handshake after %zu bytes", p->rx);
	else if (sslerr == SSL_ERROR_SSL)
		probe_finish(p, PROBE_PROTOCOL, "handshake: %s", reason);
	else
		probe_finish(p, PROBE_OTHER, "handshake: SSL error %d (%s)",
		    sslerr, reason);
}

static void
probe_handshake(struct probe *p)
{
	int	r, err;

	ERR_clear_error();
	r = SSL_do_handshake(p->ssl);
	if (r == 1) {
		probe_success(p);
		return;
	}
	err = SSL_get_error(p->ssl, r);
	if ((err == SSL_ERROR_WANT_READ && !p->overflow) ||
	    err == SSL_ERROR_WANT_WRITE)
		(void)probe_watch(p);
	else
		probe_tls_failed(p, err);
}

static void
probe_start_tls(struct probe *p)
{
	struct probe_engine	*e = p->e;
	BIO			*bio;
	char			 name[256];
	size_t			 n;

	if ((p->ssl = SSL_new(e->ctx)) == NULL ||
	    (bio = BIO_new(e->biom)) == NULL) {
		ERR_clear_error();
		probe_finish(p, PROBE_OTHER, "cannot create a TLS connection");
		return;
	}
	BIO_set_data(bio, p);
	SSL_set_bio(p->ssl, bio, bio);
	SSL_set_app_data(p->ssl, p);
	if (p->sid.kind == SVCID_DNS && e->o.sni) {
		/* RFC 6066: the name without a trailing dot. */
		n = strlen(p->sid.host);
		if (n > 0 && p->sid.host[n - 1] == '.')
			n--;
		memcpy(name, p->sid.host, n);
		name[n] = '\0';
		if (n > 0 && SSL_set_tlsext_host_name(p->ssl, name) != 1) {
			ERR_clear_error();
			probe_finish(p, PROBE_OTHER, "cannot set SNI");
			return;
		}
	}
	SSL_set_connect_state(p->ssl);
	p->state = P_TLS;
	probe_handshake(p);
}

/* ---- connecting ---------------------------------------------------------- */

static void
probe_attempt_failed(struct probe *p, int err)
{
	p->lastres = errno_class(err);
	snprintf(p->lastdetail, sizeof(p->lastdetail), "connect %s: %s",
	    p->out.addr, strerror(err));
	probe_close_conn(p);
}

/* Try the remaining addresses; ends the probe when none is left. */
static void
probe_try_connect(struct probe *p)
{
	struct probe_engine	*e = p->e;
	struct sockaddr		*sa;
	int			 fd;

	while (p->ai < p->naddr) {
		sa = (struct sockaddr *)(void *)&p->addrs[p->ai];
		p->ai++;
		format_addr(sa, p->out.addr, sizeof(p->out.addr));
		if (addr_denied(e, sa)) {
			p->ndenied++;
			continue;
		}
		p->nconnect++;
		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			if (errno == EAFNOSUPPORT) {
				probe_attempt_failed(p, errno);
				continue;
			}
			probe_finish(p, PROBE_OTHER, "socket: %s",
			    strerror(errno));
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
		probe_finish(p, PROBE_DENIED, "%d address%s denied by "
		    "scanner.deny", p->ndenied, p->ndenied > 1 ? "es" : "");
	else if (p->nconnect == 0)
		probe_finish(p, PROBE_DNS, "no address");
	else
		probe_finish(p, p->lastres, "%s", p->lastdetail);
}

static void
probe_connect_event(struct probe *p, uint32_t events)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(int);
	int			err = 0;

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
		if (getpeername(p->fd, (struct sockaddr *)(void *)&ss,
		    &len) == -1) {
			if (errno == ENOTCONN)
				return;		/* not yet */
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

/* ---- DNS ----------------------------------------------------------------- */

static void
ares_sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct probe_engine	*e = data;
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	if (!readable && !writable) {
		(void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, &ev);
		return;
	}
	ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	ev.data.u64 = ARES_TAG | (uint32_t)fd;
	if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev) == -1 &&
	    errno == ENOENT &&
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
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
	struct dnsreq			*rq = arg;
	struct probe			*p = rq->p;
	struct ares_addrinfo_node	*n;
	struct sockaddr_in		*sin;
	struct sockaddr_in6		*sin6;

	(void)timeouts;
	free(rq);
	if (p == NULL) {		/* the probe is gone */
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
		if (n->ai_family == AF_INET &&
		    n->ai_addrlen >= sizeof(*sin)) {
			sin = (struct sockaddr_in *)(void *)
			    &p->addrs[p->naddr];
			memcpy(sin, n->ai_addr, sizeof(*sin));
			sin->sin_port = htons(p->sid.port);
			p->alens[p->naddr++] = sizeof(*sin);
		} else if (n->ai_family == AF_INET6 &&
		    n->ai_addrlen >= sizeof(*sin6)) {
			sin6 = (struct sockaddr_in6 *)(void *)
			    &p->addrs[p->naddr];
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

/* ---- the engine ---------------------------------------------------------- */

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

struct probe_engine *
probe_engine_new(const struct probe_opts *o)
{
	static int		 ares_ready;
	struct probe_engine	*e;
	struct ares_options	 ao;
	int			 r, i, tmo;

	if (o->concurrency < 1 || o->timeout_ms < 1) {
		log_warnx("probe: concurrency and timeout must be positive");
		return (NULL);
	}
	if (!ares_ready) {
		if ((r = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
			log_warnx("probe: c-ares: %s", ares_strerror(r));
			return (NULL);
		}
		ares_ready = 1;
	}
	e = xcalloc(1, sizeof(*e));
	e->o = *o;
	e->o.dns_servers = NULL;
	e->epfd = -1;
	if ((e->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("probe: epoll_create1");
		goto fail;
	}

	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = ares_sock_cb;
	ao.sock_state_cb_data = e;
	/*
	 * A retry within the probe's time (UDP loss), and c-ares' own
	 * timeout (t/2 + t + 2t per server) after the probe's deadline, so
	 * that a silent resolver ends as the probe's TIMEOUT.
	 */
	tmo = (int)(o->timeout_ms / 2 > 50 ? o->timeout_ms / 2 : 50);
	ao.timeout = tmo;
	ao.tries = 3;
	r = ares_init_options(&e->ch, &ao, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (r != ARES_SUCCESS) {
		log_warnx("probe: c-ares: %s", ares_strerror(r));
		e->ch = NULL;
		goto fail;
	}
	ares_set_socket_configure_callback(e->ch, ares_sock_config, NULL);
	if (o->dns_servers != NULL && (r = ares_set_servers_ports_csv(e->ch,
	    o->dns_servers)) != ARES_SUCCESS) {
		log_warnx("probe: resolver \"%s\": %s", o->dns_servers,
		    ares_strerror(r));
		goto fail;
	}

	if ((e->ctx = make_ctx()) == NULL) {
		const char *why = ERR_reason_error_string(
		    ERR_peek_last_error());

		log_warnx("probe: cannot set up the TLS client: %s",
		    why != NULL ? why : "unknown error");
		ERR_clear_error();
		goto fail;
	}
	e->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	e->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	e->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (e->md5 == NULL || e->sha1 == NULL || e->sha256 == NULL) {
		log_warnx("probe: MD5, SHA-1 or SHA-256 unavailable");
		ERR_clear_error();
		goto fail;
	}
	if ((e->biom = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "notaryd probe socket")) == NULL ||
	    BIO_meth_set_write(e->biom, bio_write) != 1 ||
	    BIO_meth_set_read(e->biom, bio_read) != 1 ||
	    BIO_meth_set_puts(e->biom, bio_puts) != 1 ||
	    BIO_meth_set_ctrl(e->biom, bio_ctrl) != 1 ||
	    BIO_meth_set_create(e->biom, bio_create) != 1 ||
	    BIO_meth_set_destroy(e->biom, bio_destroy) != 1) {
		log_warnx("probe: cannot create the socket BIO");
		ERR_clear_error();
		goto fail;
	}

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
	struct probe	*p;
	int		 i;

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

int
probe_submit(struct probe_engine *e, const char *svc, size_t len,
    probe_done_fn cb, void *arg, char *err, size_t errlen)
{
	struct ares_addrinfo_hints	 hints;
	struct sockaddr_in		*sin;
	struct sockaddr_in6		*sin6;
	struct svcid			 sid;
	struct dnsreq			*rq;
	struct probe			*p;
	char				 why[128];

	if (len > SVCID_MAX) {
		if (err != NULL)
			snprintf(err, errlen, "service id longer than %d bytes",
			    SVCID_MAX);
		e->st.rejected++;
		errno = EINVAL;
		return (-1);
	}
	if (svcid_parse(svc, len, &sid, why, sizeof(why)) == -1) {
		if (err != NULL)
			snprintf(err, errlen, "%s", why);
		e->st.rejected++;
		errno = EINVAL;
		return (-1);
	}
	if (sid.type != 2) {
		if (err != NULL)
			snprintf(err, errlen, "service type %d is not probed "
			    "(only 2, TLS)", sid.type);
		e->st.rejected++;
		errno = EINVAL;
		return (-1);
	}
	if ((p = e->freelist) == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "busy: %d probes in flight",
			    e->o.concurrency);
		e->st.rejected++;
		errno = EAGAIN;
		return (-1);
	}
	e->freelist = p->next;

	p->gen = (p->gen + 1) & GEN_MASK;
	memcpy(p->svc, svc, len);
	p->svc[len] = '\0';
	p->svclen = len;
	p->sid = sid;
	p->cb = cb;
	p->arg = arg;
	p->start = mono_ms();
	p->deadline = p->start + e->o.timeout_ms;
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
	p->next = NULL;
	p->prev = e->dl_tail;
	if (e->dl_tail != NULL)
		e->dl_tail->next = p;
	else
		e->dl_head = p;
	e->dl_tail = p;
	e->inflight++;
	e->st.submitted++;

	switch (sid.kind) {
	case SVCID_IPV4:
		sin = (struct sockaddr_in *)(void *)&p->addrs[0];
		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, sid.addr, 4);
		sin->sin_port = htons(sid.port);
		p->alens[0] = sizeof(*sin);
		p->naddr = 1;
		p->state = P_CONNECT;
		probe_try_connect(p);
		break;
	case SVCID_IPV6:
		sin6 = (struct sockaddr_in6 *)(void *)&p->addrs[0];
		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, sid.addr, 16);
		sin6->sin6_port = htons(sid.port);
		p->alens[0] = sizeof(*sin6);
		p->naddr = 1;
		p->state = P_CONNECT;
		probe_try_connect(p);
		break;
	default:
		p->state = P_DNS;
		rq = xmalloc(sizeof(*rq));
		rq->p = p;
		p->dns = rq;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		/* May call dns_cb before returning (hosts file, errors). */
		ares_getaddrinfo(e->ch, p->sid.host, NULL, &hints, dns_cb, rq);
		break;
	}
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
	struct timeval	 tv, *tp;
	int64_t		 t = -1, ms;

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
	struct probe	*p;
	uint64_t	 tag = ev->data.u64;
	uint32_t	 idx = (uint32_t)tag;
	int		 fd;

	if (tag & ARES_TAG) {
		fd = (int)(uint32_t)tag;
		ares_process_fd(e->ch,
		    ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP) ? fd :
		    ARES_SOCKET_BAD,
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
	struct epoll_event	 ev[EVENTS_MAX];
	struct probe		*p;
	struct probe_outcome	 out;
	probe_done_fn		 cb;
	void			*arg;
	uint8_t			*der;
	char			 svc[SVCID_MAX + 1];
	size_t			 svclen;
	int64_t			 now;
	int			 n, i, rounds = 0;

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
		    p->state == P_DNS ? "resolving" :
		    p->state == P_CONNECT ? "connecting" : "in the handshake");
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
