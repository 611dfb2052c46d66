/*
 * keys.h - the notary's RSA key pair (keys.private / keys.public).
 *
 * Who uses it: the signer process (keys_ensure on its first start, as the
 * daemon user, then keys_load: the only process that keeps the private
 * key; the master never touches key material) and notaryctl keygen
 * (keys_ensure offline, chowning to daemon.user when run as root).  HTTP workers only ever see the
 * public PEM text.
 *
 * Rules (shared/spec/perspectives.md §2.5, §3.3):
 *   - private keys are PEM, PKCS#1 ("BEGIN RSA PRIVATE KEY") or PKCS#8
 *     ("BEGIN PRIVATE KEY"), unencrypted; public keys are SPKI PEM
 *     ("BEGIN PUBLIC KEY");
 *   - the modulus is 1369..1376 bits, i.e. exactly 172 bytes: the Firefox
 *     client hard-codes the DER lengths of a 172-byte signature, so any
 *     other size (2048 included) makes every reply fail;
 *   - a private key file readable or writable by group or others is
 *     refused, and the public key file must match the private key.
 *
 * Every function reports failures as text in err (naming the file) and
 * never logs; callers log or print it.  PEM text read from a private key
 * file is wiped (OPENSSL_cleanse) as soon as it has been parsed.
 */
#ifndef NOTARYD_KEYS_H
#define NOTARYD_KEYS_H

#include <sys/types.h>

#include <stddef.h>

#include <openssl/evp.h>

#define KEYS_GEN_BITS 1369
#define KEYS_MIN_BITS 1369
#define KEYS_MAX_BITS 1376
#define KEYS_PEM_MAX  (64 * 1024) /* larger files are refused */

/* What keys_ensure found or did. */
enum keys_state {
	KEYS_EXISTED = 0,    /* both files were there; nothing written */
	KEYS_CREATED,        /* a new pair was generated and written */
	KEYS_PUBLIC_WRITTEN, /* the public file was missing: derived */
};

/*
 * Make sure the pair exists, without ever replacing a file:
 *   - neither file exists: generate a KEYS_GEN_BITS RSA key, write the
 *     private key (PKCS#1 PEM, which the Python reference server also
 *     reads) with mode 0600, then the public key (SPKI PEM) with 0644;
 *   - only the private key exists: check it (keys_load_private) and write
 *     the public key derived from it;
 *   - only the public key exists: refuse (a new pair would silently
 *     change the notary's identity that clients have pinned);
 *   - both exist: nothing (keys_load checks them).
 * Each file is written to a temporary name created with O_EXCL in the
 * same directory, fsynced, then linked to its final name, which fails
 * rather than overwrites when another process got there first.  When uid
 * or gid is not -1 the new files are chowned to it (root only).  Returns
 * the enum keys_state, or -1 with err set.
 */
int keys_ensure(const char *priv_path, const char *pub_path, uid_t uid,
    gid_t gid, char *err, size_t errlen);

/*
 * Load and check the pair: the private key (see keys_load_private), the
 * public key (keys_load_public), and that they belong together.  On
 * success *key is the private key (EVP_PKEY_free it) and, if pub_pem is
 * not NULL, *pub_pem the public key as SPKI PEM text (free it).  0 or -1.
 */
int keys_load(const char *priv_path, const char *pub_path, EVP_PKEY **key,
    char **pub_pem, char *err, size_t errlen);

/*
 * A private key file: refused when it is not a regular file, when its
 * mode gives group or others read or write access, when it is encrypted,
 * not RSA, or not 1369..1376 bits.  NULL with err set.
 */
EVP_PKEY *keys_load_private(const char *path, char *err, size_t errlen);
/* A public key file (SPKI PEM), same RSA size rule.  NULL with err set. */
EVP_PKEY *keys_load_public(const char *path, char *err, size_t errlen);

/* 0 when key is RSA with a 1369..1376-bit modulus; -1 with err naming what. */
int   keys_check_rsa(EVP_PKEY *key, const char *what, char *err, size_t errlen);
/* The SPKI PEM text of key's public half (xmalloc'd), or NULL. */
char *keys_public_pem(EVP_PKEY *key);

/* ---- file helpers, also used by convkeys.c (the Convergence pair) ---- */

/*
 * Create path with exactly these bytes and mode, never replacing a file
 * (O_EXCL temporary, fsync, link(2)).  0 written, 1 path already existed,
 * -1 with err set.
 */
int   keys_install_file(const char *path, const char *data, size_t len,
      mode_t mode, uid_t uid, gid_t gid, char *err, size_t errlen);
/*
 * The whole file (NUL-terminated, at most KEYS_PEM_MAX bytes, a regular
 * file; with private, refused when group or others may read or write
 * it), or NULL with err set.  Free a private one with keys_wipe.
 */
char *keys_read_file(
    const char *path, int private, size_t *len, char *err, size_t errlen);
/* Wipe and free what keys_read_file returned. */
void keys_wipe(char *data, size_t len);

/*
 * RSASSA-PKCS1-v1_5 over data with md (MD5 for Perspectives replies,
 * SHA-1 for Convergence replies).  The signature is always the modulus
 * length, leading zero bytes kept (the Perspectives clients need exactly
 * k bytes).  0, or -1 (key not RSA, sig too small, OpenSSL error).
 */
int keys_sign_pkcs1(EVP_PKEY *key, const EVP_MD *md, const void *data,
    size_t len, unsigned char *sig, size_t sigmax, size_t *siglen);

#endif
