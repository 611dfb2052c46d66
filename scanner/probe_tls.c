/*
 * probe_tls.c - the TLS half of a probe: a socket BIO that caps what a
 * server may send and keeps EOF and errno for the result class, the
 * client context with browser-like settings and no verification, the
 * non-blocking handshake, and the leaf's fingerprints.  Runs in the
 * scanner processes and notaryctl scan; a hostile server ends as a
 * protocol, alert or timeout result, never as a crash.
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

/*
 * Writes are collected until OpenSSL flushes at the end of a flight, so a
 * flight is one send() (no Nagle wait between its records, fewer calls).
 * 1: all sent; 0: try again (retry flag set); -1: error.
 */
static int
bio_flush_out(BIO *b, struct probe *p)
{
	ssize_t n;

	while (p->wlen > 0) {
		n = send(p->fd, p->wbuf, p->wlen, MSG_NOSIGNAL);
		if (n > 0) {
			memmove(p->wbuf, p->wbuf + n, p->wlen - (size_t)n);
			p->wlen -= (size_t)n;
			continue;
		}
		if (n == -1 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK ||
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
	struct probe *p = BIO_get_data(b);
	int           r;

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
	struct probe *p = BIO_get_data(b);
	size_t        want;
	ssize_t       n;

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
	struct probe *p = BIO_get_data(b);

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

static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct probe *p;

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
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return (NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, probe_ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, probe_suites) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, probe_groups) != 1 ||
	    SSL_CTX_set1_sigalgs_list(ctx, probe_sigalgs) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, probe_alpn, sizeof(probe_alpn) - 1) !=
	        0) {
		SSL_CTX_free(ctx);
		return (NULL);
	}
	/* A notary records what is presented, weak or not. */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, no_verify_cb, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	        SSL_OP_LEGACY_SERVER_CONNECT);
	SSL_CTX_set_max_cert_list(ctx, PROBE_MAX_CERT_LIST);
	SSL_CTX_set_info_callback(ctx, info_cb);
	return (ctx);
}

static void
probe_success(struct probe *p)
{
	struct probe_engine *e = p->e;
	X509                *x;
	unsigned char       *q;
	int                  n;

	if ((x = SSL_get0_peer_certificate(p->ssl)) == NULL) {
		probe_finish(p, PROBE_PROTOCOL, "no server certificate");
		return;
	}
	if ((n = i2d_X509(x, NULL)) <= 0) {
		probe_finish(
		    p, PROBE_PROTOCOL, "cannot encode the certificate");
		return;
	}
	if ((size_t)n > OBS_DER_MAX) {
		probe_finish(p, PROBE_PROTOCOL,
		    "leaf certificate of %d bytes "
		    "(at most %d)",
		    n, OBS_DER_MAX);
		return;
	}
	p->der = xmalloc((size_t)n);
	q = p->der;
	if (i2d_X509(x, &q) != n ||
	    EVP_Digest(p->der, (size_t)n, p->out.fp.md5, NULL, e->md5, NULL) !=
	        1 ||
	    EVP_Digest(
	        p->der, (size_t)n, p->out.fp.sha1, NULL, e->sha1, NULL) != 1 ||
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
	unsigned long err;
	const char   *reason;

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
		probe_finish(p, PROBE_PROTOCOL,
		    "handshake larger than %d "
		    "bytes",
		    PROBE_MAX_INPUT);
	else if (p->sockerr != 0)
		probe_finish(p, probe_errno_class(p->sockerr), "handshake: %s",
		    strerror(p->sockerr));
	else if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
	    ERR_GET_REASON(err) == SSL_R_EXCESSIVE_MESSAGE_SIZE)
		probe_finish(p, PROBE_PROTOCOL,
		    "handshake message over the "
		    "limit (certificate list > %d bytes)",
		    PROBE_MAX_CERT_LIST);
	else if (p->eof)
		probe_finish(p, PROBE_PROTOCOL,
		    "connection closed during "
		    "the handshake after %zu bytes",
		    p->rx);
	else if (sslerr == SSL_ERROR_SSL)
		probe_finish(p, PROBE_PROTOCOL, "handshake: %s", reason);
	else
		probe_finish(p, PROBE_OTHER, "handshake: SSL error %d (%s)",
		    sslerr, reason);
}

void
probe_handshake(struct probe *p)
{
	int r, err;

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

void
probe_start_tls(struct probe *p)
{
	struct probe_engine *e = p->e;
	BIO                 *bio;
	char                 name[256];
	size_t               n;

	if ((p->ssl = SSL_new(e->ctx)) == NULL ||
	    (bio = BIO_new(e->biom)) == NULL) {
		ERR_clear_error();
		probe_finish(p, PROBE_OTHER, "cannot create a TLS connection");
		return;
	}
	BIO_set_data(bio, p);
	SSL_set_bio(p->ssl, bio, bio);
	SSL_set_app_data(p->ssl, p);
	if (p->sid.kind == SVCID_DNS && p->sni) {
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

/* The TLS client context, the three digests and the socket BIO. */
int
probe_engine_tls_init(struct probe_engine *e)
{
	if ((e->ctx = make_ctx()) == NULL) {
		const char *why =
		    ERR_reason_error_string(ERR_peek_last_error());

		log_warnx("probe: cannot set up the TLS client: %s",
		    why != NULL ? why : "unknown error");
		ERR_clear_error();
		return (-1);
	}
	e->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	e->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	e->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (e->md5 == NULL || e->sha1 == NULL || e->sha256 == NULL) {
		log_warnx("probe: MD5, SHA-1 or SHA-256 unavailable");
		ERR_clear_error();
		return (-1);
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
		return (-1);
	}
	return (0);
}
