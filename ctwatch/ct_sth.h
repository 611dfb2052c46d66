/*
 * ct_sth.h - tree heads of CT logs: the RFC 6962 get-sth reply and the
 * static-CT checkpoint (a C2SP signed note), their signatures
 * (TreeHeadSignature, digitally-signed with ECDSA or RSA and SHA-256,
 * checked with the log's SubjectPublicKeyInfo), and the static-CT tile
 * path encoding.
 *
 * Pure functions (no I/O), used by ctwatch's followers and the unit
 * tests.  Inputs are untrusted: sizes are bounded and every field is
 * checked; failures return -1 with a short reason in err.
 */
#ifndef NOTARYD_CT_STH_H
#define NOTARYD_CT_STH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define CT_STH_ERRLEN     96
#define CT_CHECKPOINT_MAX 4096 /* bytes of a checkpoint */
#define CT_SIG_MAX        1024 /* bytes of one signature */
#define CT_TILE_WIDTH     256  /* entries in a full data tile */
#define CT_TILE_PATH_MAX  64

struct ct_sth {
	uint64_t tree_size;
	uint64_t timestamp; /* ms */
	uint8_t  root[32];
	uint8_t  sig[CT_SIG_MAX]; /* DigitallySigned */
	size_t   siglen;
	int      has_sig;
};

/* Parse a get-sth JSON reply.  0, or -1 (err filled). */
int ct_sth_parse(const uint8_t *body, size_t len, struct ct_sth *sth, char *err,
    size_t errlen);

/*
 * Parse a checkpoint.  origin_out (may be NULL) receives line 1.  When
 * key is not NULL, the signature line named after the origin whose key
 * id matches key must verify (RFC6962NoteSignature); its timestamp goes
 * to sth->timestamp.  Returns 0, -1 for a malformed note, -2 when the
 * signature is missing or does not verify (err filled either way).
 */
int ct_checkpoint_parse(const uint8_t *body, size_t len, EVP_PKEY *key,
    const uint8_t *spki, size_t spkilen, struct ct_sth *sth, char *origin_out,
    size_t originlen, char *err, size_t errlen);

/*
 * Check a DigitallySigned TreeHeadSignature over (timestamp, tree_size,
 * root) with key.  0 good, -1 bad or malformed (err filled).
 */
int ct_sth_verify(
    EVP_PKEY *key, const struct ct_sth *sth, char *err, size_t errlen);

/* The public key from DER SubjectPublicKeyInfo, or NULL. */
EVP_PKEY *ct_key_parse(const uint8_t *der, size_t len);

/*
 * "tile/data/<N>" with N in 3-digit groups, all but the last prefixed
 * with "x" (1234067 -> x001/x234/067), plus ".p/<width>" when width is
 * 1..255.  0, or -1 when path is too small or width is out of range.
 */
int ct_tile_path(char *path, size_t len, uint64_t n, unsigned width);

#endif
