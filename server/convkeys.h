/*
 * convkeys.h - the Convergence notary's TLS certificate and private key
 * (convergence.certificate / convergence.key), which also sign the JSON
 * replies.
 *
 * Who uses it: the signer (convkeys_ensure on its first start, then
 * convkeys_load: the only process that keeps the private key), the HTTP
 * workers and notaryctl convergence-bundle (convkeys_load_cert: the
 * certificate only).
 *
 * Rules: the key is RSA of CONVKEYS_MIN_BITS..CONVKEYS_MAX_BITS bits, PEM
 * (PKCS#1 or PKCS#8), unencrypted, in a file that group and others can
 * neither read nor write; the certificate file is PEM with the leaf first
 * (more certificates may follow), and the leaf must belong to the key.
 * With both configuration keys empty the pair lives in
 * data_dir/keys/convergence.{crt,key} and is made on the first start: a
 * self-signed RSA-2048 certificate valid for CONVKEYS_DAYS days (the
 * reference convergence-gencert makes the same), both files 0600.
 *
 * Every function reports failures as text in err (naming the file) and
 * never logs.
 */
#ifndef NOTARYD_CONVKEYS_H
#define NOTARYD_CONVKEYS_H

#include <sys/types.h>

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/conf.h"
#include "server/convergence.h"

#define CONVKEYS_GEN_BITS  2048
#define CONVKEYS_MIN_BITS  2048
#define CONVKEYS_MAX_BITS  8192
#define CONVKEYS_DAYS      14600 /* 40 years */
#define CONVKEYS_CERT_FILE "keys/convergence.crt"
#define CONVKEYS_KEY_FILE  "keys/convergence.key"

struct convkeys_cert {
	X509 *leaf;
	char *pem;                 /* the whole file, leaf first */
	char  fp[CONV_FP_LEN + 1]; /* SHA-1 of the leaf, the pin */
};

/*
 * The files to use: the configured ones, or the data_dir defaults.
 * Returns 1 for the defaults (convkeys_ensure may create them), 0 for
 * configured files, -1 when a path does not fit.
 */
int convkeys_paths(const struct conf *cf, char *cert, size_t certlen, char *key,
    size_t keylen);

/*
 * Make sure the pair exists, never replacing a file: neither file: a new
 * key and self-signed certificate (key written first); only the key: a
 * certificate for it; only the certificate: refused (a new key would
 * change the pin clients have).  uid/gid as keys_ensure.  KEYS_EXISTED,
 * KEYS_CREATED, or -1 with err set.
 */
int convkeys_ensure(const char *cert_path, const char *key_path, uid_t uid,
    gid_t gid, char *err, size_t errlen);

/* The certificate file: 0 (free with convkeys_cert_free) or -1. */
int convkeys_load_cert(
    const char *path, struct convkeys_cert *c, char *err, size_t errlen);
void convkeys_cert_free(struct convkeys_cert *c);

/*
 * The private-key half of a handshake signature, run by the signer for a
 * worker: in (inlen bytes) with padding RSA_PKCS1_PADDING (type-1 padded
 * here, e.g. a TLS 1.2 DigestInfo) or RSA_NO_PADDING (a block exactly the
 * modulus size, already PSS-padded by the worker).  Anything else, e.g.
 * decryption for RSA key exchange, is refused.  out gets exactly the
 * modulus size.  0 or -1.
 */
int convkeys_private_op(EVP_PKEY *key, int padding, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t outmax, size_t *outlen);

/*
 * Both files, checked as above and against each other: 0 with *key (free
 * it) and c filled, or -1 with err set.
 */
int convkeys_load(const char *cert_path, const char *key_path, EVP_PKEY **key,
    struct convkeys_cert *c, char *err, size_t errlen);

#endif
