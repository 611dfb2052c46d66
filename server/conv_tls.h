/*
 * conv_tls.h - the TLS context of the Convergence ports in an HTTP
 * worker, whose private key stays in the signer.
 *
 * The worker loads only the certificate file.  Its private key is an RSA
 * key object holding the public modulus and exponent and an RSA_METHOD
 * whose private-key operation sends the block to the signer
 * (SIGPROTO_FMT_KEYOP on a dedicated connection) and waits for the answer:
 * a bounded synchronous round trip (CONV_TLS_KEYOP_MS at most) per full
 * handshake.  TLS 1.3 (RSA-PSS, padded here, raw private operation there)
 * and TLS 1.2 with ECDHE (PKCS#1 DigestInfo) work that way; RSA key
 * exchange, which would need a private decryption, is not offered.
 */
#ifndef NOTARYD_CONV_TLS_H
#define NOTARYD_CONV_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define CONV_TLS_KEYOP_MS 1000

/*
 * A server context: TLS 1.2..1.3, the certificate file's chain, the
 * remote key.  sock is the signer's socket path (copied).  fp gets the
 * SHA-1 pin of the leaf.  NULL with err set.
 */
SSL_CTX *conv_tls_ctx(const char *cert_path, const char *sock, char fp[60],
    char *err, size_t errlen);

/* Key operations so far and their total time (for the log and tests). */
void conv_tls_keyop_stats(uint64_t *n, uint64_t *usec);

#endif
