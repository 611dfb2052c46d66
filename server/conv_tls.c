/*
 * conv_tls.c - the Convergence ports' TLS context in an HTTP worker, with
 * the private key left in the signer (see conv_tls.h).
 *
 * Which process runs it: HTTP workers.  The key-operation connection is
 * process-wide state (one per worker process, which is single-threaded).
 *
 * How it fails: a context that cannot be built is NULL with a reason; a
 * key operation that the signer does not answer within CONV_TLS_KEYOP_MS
 * fails that one handshake (logged), and the next one reconnects.
 *
 * The RSA_METHOD interface is deprecated in OpenSSL 3 but still the
 * documented way to give a key a custom private operation without a
 * provider; OpenSSL treats such a key as "foreign" and keeps it on the
 * legacy code path, which calls rsa_priv_enc.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "common/log.h"
#include "common/util.h"
#include "server/conv_tls.h"
#include "server/convergence.h"
#include "server/convkeys.h"
#include "server/sigproto.h"

#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL:!eNULL"

static struct {
	char        sock[108];
	int         fd;
	uint32_t    seq;
	uint64_t    n;
	uint64_t    usec;
	RSA_METHOD *meth;
} keyop = { "", -1, 0, 0, 0, NULL };

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static int
keyop_connect(void)
{
	struct sockaddr_un sun;
	int                fd;

	if (keyop.fd != -1)
		return (0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, keyop.sock, sizeof(sun.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("TLS key operation: cannot reach the signer");
		close(fd);
		return (-1);
	}
	keyop.fd = fd;
	return (0);
}

static void
keyop_drop(void)
{
	if (keyop.fd != -1)
		close(keyop.fd);
	keyop.fd = -1;
}

/* Wait for the reply to seq until deadline; its length, or -1. */
static int
keyop_wait(uint32_t seq, int64_t deadline, unsigned char *to, size_t max)
{
	static uint8_t      msg[SIGPROTO_REP_HDR + SIGPROTO_KEYOP_MAX];
	struct sigproto_rep rep;
	struct pollfd       pfd;
	int64_t             left;
	ssize_t             n;

	while ((left = deadline - mono_ms()) > 0) {
		pfd.fd = keyop.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return (-1);
		n = recv(keyop.fd, msg, sizeof(msg), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0 || sigproto_rep_decode(msg, (size_t)n, &rep) == -1)
			return (-1);
		if (rep.seq != seq)
			continue; /* a late answer to a timed-out one */
		if (rep.status != SIG_OK || rep.len > max)
			return (-1);
		memcpy(to, rep.body, rep.len);
		return ((int)rep.len);
	}
	return (-1);
}

static int
remote_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	uint8_t msg[SIGPROTO_REQ_MAX];
	int64_t began = mono_us();
	long    len;
	int     r = -1;

	if (flen <= 0 || padding < 0 || padding > 255 || keyop_connect() == -1)
		return (-1);
	len = sigproto_keyop_encode(msg, sizeof(msg), ++keyop.seq,
	    (uint8_t)padding, from, (size_t)flen);
	if (len > 0 &&
	    send(keyop.fd, msg, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	        len)
		r = keyop_wait(keyop.seq, mono_ms() + CONV_TLS_KEYOP_MS, to,
		    (size_t)RSA_size(rsa));
	if (r != RSA_size(rsa)) {
		log_warnx("TLS key operation failed (signer)");
		keyop_drop();
		return (-1);
	}
	keyop.n++;
	keyop.usec += (uint64_t)(mono_us() - began);
	return (r);
}

/* An EVP_PKEY with the leaf's public RSA key and the remote method. */
static EVP_PKEY *
remote_key(X509 *leaf)
{
	const RSA *pub = EVP_PKEY_get0_RSA(X509_get0_pubkey(leaf));
	RSA       *r;
	BIGNUM    *n, *e;
	EVP_PKEY  *k;

	if (pub == NULL)
		return (NULL);
	if (keyop.meth == NULL) {
		if ((keyop.meth = RSA_meth_dup(RSA_PKCS1_OpenSSL())) == NULL ||
		    RSA_meth_set1_name(keyop.meth, "notaryd-signer") != 1 ||
		    RSA_meth_set_priv_enc(keyop.meth, remote_priv_enc) != 1 ||
		    RSA_meth_set_priv_dec(keyop.meth, NULL) != 1)
			return (NULL);
	}
	n = BN_dup(RSA_get0_n(pub));
	e = BN_dup(RSA_get0_e(pub));
	if ((r = RSA_new()) == NULL || n == NULL || e == NULL ||
	    RSA_set0_key(r, n, e, NULL) != 1) {
		BN_free(n);
		BN_free(e);
		RSA_free(r);
		return (NULL);
	}
	if (RSA_set_method(r, keyop.meth) != 1 ||
	    (k = EVP_PKEY_new()) == NULL) {
		RSA_free(r);
		return (NULL);
	}
	if (EVP_PKEY_assign_RSA(k, r) != 1) {
		RSA_free(r);
		EVP_PKEY_free(k);
		return (NULL);
	}
	return (k);
}

/* The certificates after the leaf in the file, as the chain. */
static int
add_chain(SSL_CTX *ctx, const char *pem)
{
	BIO  *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int   i = 0;

	if (bio == NULL)
		return (-1);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (i++ == 0 || SSL_CTX_add0_chain_cert(ctx, x) != 1)
			X509_free(x);
	}
	BIO_free(bio);
	ERR_clear_error();
	return (0);
}

SSL_CTX *
conv_tls_ctx(const char *cert_path, const char *sock, char fp[60], char *err,
    size_t errlen)
{
	struct convkeys_cert c;
	SSL_CTX             *ctx = NULL;
	EVP_PKEY            *k = NULL;

	if (convkeys_load_cert(cert_path, &c, err, errlen) == -1)
		return (NULL);
	snprintf(keyop.sock, sizeof(keyop.sock), "%s", sock);
	if ((k = remote_key(c.leaf)) == NULL) {
		snprintf(err, errlen, "%s: not an RSA certificate", cert_path);
		goto fail;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_use_certificate(ctx, c.leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, k) != 1 ||
	    add_chain(ctx, c.pem) == -1) {
		snprintf(err, errlen, "%s: cannot set up TLS", cert_path);
		SSL_CTX_free(ctx);
		ctx = NULL;
		goto fail;
	}
	SSL_CTX_set_options(
	    ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	memcpy(fp, c.fp, CONV_FP_LEN + 1);
fail:
	ERR_clear_error();
	EVP_PKEY_free(k);
	convkeys_cert_free(&c);
	return (ctx);
}

void
conv_tls_keyop_stats(uint64_t *n, uint64_t *usec)
{
	*n = keyop.n;
	*usec = keyop.usec;
}
