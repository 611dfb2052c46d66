/*
 * ct_sth.c - get-sth replies, static-CT checkpoints, TreeHeadSignature
 * checks and tile paths (see ct_sth.h).
 *
 * Pure functions run by ctwatch; nothing is logged here, the caller
 * counts and logs.  The signed structure is RFC 6962 §3.5:
 *   version(0) signature_type(1 = tree_hash) timestamp(u64)
 *   tree_size(u64) sha256_root_hash[32]
 * and DigitallySigned is hash(u8, 4 = SHA-256) signature(u8, 1 = RSA,
 * 3 = ECDSA) u16 length, bytes.  A static-CT note signature (C2SP
 * static-ct-api) is keyid[4] || timestamp(u64) || DigitallySigned, the
 * key id being SHA-256(origin || "\n" || 0x05 || LogID)[0:4], LogID being
 * SHA-256(SPKI).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "ctwatch/ct_loglist.h"
#include "ctwatch/ct_sth.h"

#define TLS_HASH_SHA256  4
#define TLS_SIG_RSA      1
#define TLS_SIG_ECDSA    3
#define NOTE_SIG_RFC6962 0x05
#define NOTE_LINE_MAX    1024
#define NOTE_MAX_SIGS    16

static void
seterr(char *err, size_t errlen, const char *msg)
{
	if (errlen > 0)
		(void)snprintf(err, errlen, "%s", msg);
}

EVP_PKEY *
ct_key_parse(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY            *k;

	if (der == NULL || len == 0 || len > CT_LOG_KEY_MAX)
		return (NULL);
	k = d2i_PUBKEY(NULL, &p, (long)len);
	if (k != NULL && p != der + len) {
		EVP_PKEY_free(k);
		return (NULL);
	}
	return (k);
}

/* A base64 string member decoded into out[0..max); its length or -1. */
static long
b64_member(json_t *o, const char *name, uint8_t *out, size_t max)
{
	json_t  *v = json_object_get(o, name);
	uint8_t *p;
	size_t   n;

	if (!json_is_string(v) ||
	    ct_b64_decode(
	        json_string_value(v), json_string_length(v), &p, &n, max) == -1)
		return (-1);
	memcpy(out, p, n);
	free(p);
	return ((long)n);
}

int
ct_sth_parse(const uint8_t *body, size_t len, struct ct_sth *sth, char *err,
    size_t errlen)
{
	json_t *root, *ts, *sz;
	uint8_t h[64];
	long    n;
	int     rv = -1;

	memset(sth, 0, sizeof(*sth));
	if (len > 64 * 1024 ||
	    (root = json_loadb((const char *)body, len, 0, NULL)) == NULL) {
		seterr(err, errlen, "get-sth: not JSON");
		return (-1);
	}
	sz = json_object_get(root, "tree_size");
	ts = json_object_get(root, "timestamp");
	if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
	    !json_is_integer(ts) || json_integer_value(ts) < 0) {
		seterr(err, errlen, "get-sth: bad tree_size or timestamp");
		goto done;
	}
	sth->tree_size = (uint64_t)json_integer_value(sz);
	sth->timestamp = (uint64_t)json_integer_value(ts);
	if (b64_member(root, "sha256_root_hash", h, sizeof(h)) != 32) {
		seterr(err, errlen, "get-sth: bad sha256_root_hash");
		goto done;
	}
	memcpy(sth->root, h, 32);
	n = b64_member(root, "tree_head_signature", sth->sig, CT_SIG_MAX);
	if (n < 4) {
		seterr(err, errlen, "get-sth: bad tree_head_signature");
		goto done;
	}
	sth->siglen = (size_t)n;
	sth->has_sig = 1;
	rv = 0;
done:
	json_decref(root);
	return (rv);
}

int
ct_sth_verify(EVP_PKEY *key, const struct ct_sth *sth, char *err, size_t errlen)
{
	EVP_MD_CTX *ctx;
	uint8_t     tbs[2 + 8 + 8 + 32];
	size_t      slen;
	int         ok;

	if (!sth->has_sig || sth->siglen < 4) {
		seterr(err, errlen, "no signature");
		return (-1);
	}
	slen = (size_t)sth->sig[2] << 8 | sth->sig[3];
	if (sth->sig[0] != TLS_HASH_SHA256 ||
	    (sth->sig[1] != TLS_SIG_RSA && sth->sig[1] != TLS_SIG_ECDSA) ||
	    slen != sth->siglen - 4) {
		seterr(err, errlen, "malformed DigitallySigned");
		return (-1);
	}
	if ((sth->sig[1] == TLS_SIG_RSA) !=
	    (EVP_PKEY_base_id(key) == EVP_PKEY_RSA)) {
		seterr(err, errlen, "signature algorithm does not match key");
		return (-1);
	}
	tbs[0] = 0; /* v1 */
	tbs[1] = 1; /* tree_hash */
	be64enc(tbs + 2, sth->timestamp);
	be64enc(tbs + 10, sth->tree_size);
	memcpy(tbs + 18, sth->root, 32);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		seterr(err, errlen, "out of memory");
		return (-1);
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sth->sig + 4, slen, tbs, sizeof(tbs)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		seterr(err, errlen, "signature does not verify");
		return (-1);
	}
	return (0);
}

/* The next line of a note (without '\n') or NULL at the end. */
static const char *
note_line(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl;

	if (s >= end)
		return (NULL);
	if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
		return (NULL); /* a note ends with '\n' */
	*len = (size_t)(nl - s);
	*p = nl + 1;
	return (s);
}

static int
parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t   i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return (-1);
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return (0);
}

/* Check one "— name b64" line against key.  1 good, 0 not ours, -1 bad. */
static int
note_sig(const char *line, size_t len, const char *origin, EVP_PKEY *key,
    const uint8_t *spki, size_t spkilen, struct ct_sth *sth)
{
	static const char dash[] = "\xe2\x80\x94 ";
	const char       *name, *sp;
	uint8_t          *raw, *msg, id[SHA256_DIGEST_LENGTH];
	size_t            rawlen, nlen = strlen(origin);
	int               rv;

	if (len < 4 || memcmp(line, dash, 4) != 0)
		return (-1);
	name = line + 4;
	if ((sp = memchr(name, ' ', len - 4)) == NULL)
		return (-1);
	if ((size_t)(sp - name) != nlen || memcmp(name, origin, nlen) != 0)
		return (0);
	if (ct_b64_decode(sp + 1, len - (size_t)(sp + 1 - line), &raw, &rawlen,
	        CT_SIG_MAX + 12) == -1)
		return (-1);
	if (rawlen < 4 + 8 + 4) {
		free(raw);
		return (-1);
	}
	msg = malloc(nlen + 2 + SHA256_DIGEST_LENGTH);
	if (msg == NULL) {
		free(raw);
		return (-1);
	}
	memcpy(msg, origin, nlen);
	msg[nlen] = '\n';
	msg[nlen + 1] = NOTE_SIG_RFC6962;
	SHA256(spki, spkilen, msg + nlen + 2); /* the LogID */
	SHA256(msg, nlen + 2 + SHA256_DIGEST_LENGTH, id);
	free(msg);
	if (memcmp(id, raw, 4) != 0) {
		free(raw);
		return (0);
	}
	sth->timestamp = be64dec(raw + 4);
	sth->siglen = rawlen - 12;
	memcpy(sth->sig, raw + 12, sth->siglen);
	sth->has_sig = 1;
	free(raw);
	rv = ct_sth_verify(key, sth, NULL, 0);
	return (rv == 0 ? 1 : -1);
}

int
ct_checkpoint_parse(const uint8_t *body, size_t len, EVP_PKEY *key,
    const uint8_t *spki, size_t spkilen, struct ct_sth *sth, char *origin_out,
    size_t originlen, char *err, size_t errlen)
{
	const char *p = (const char *)body, *end = p + len, *l;
	char        origin[NOTE_LINE_MAX];
	uint8_t    *root;
	size_t      n, rlen;
	int         i, r, good = 0;

	memset(sth, 0, sizeof(*sth));
	if (len > CT_CHECKPOINT_MAX || memchr(body, '\0', len) != NULL) {
		seterr(err, errlen, "checkpoint: too large or binary");
		return (-1);
	}
	if ((l = note_line(&p, end, &n)) == NULL || n == 0 ||
	    n >= sizeof(origin)) {
		seterr(err, errlen, "checkpoint: bad origin line");
		return (-1);
	}
	memcpy(origin, l, n);
	origin[n] = '\0';
	if ((l = note_line(&p, end, &n)) == NULL ||
	    parse_u64(l, n, &sth->tree_size) == -1) {
		seterr(err, errlen, "checkpoint: bad tree size line");
		return (-1);
	}
	if ((l = note_line(&p, end, &n)) == NULL ||
	    ct_b64_decode(l, n, &root, &rlen, 32) == -1) {
		seterr(err, errlen, "checkpoint: bad root hash line");
		return (-1);
	}
	if (rlen != 32) {
		free(root);
		seterr(err, errlen, "checkpoint: bad root hash line");
		return (-1);
	}
	memcpy(sth->root, root, 32);
	free(root);
	/* Extension lines, then the blank line, then signatures. */
	while ((l = note_line(&p, end, &n)) != NULL && n != 0)
		;
	if (l == NULL) {
		seterr(err, errlen, "checkpoint: no signature block");
		return (-1);
	}
	if (origin_out != NULL)
		(void)snprintf(origin_out, originlen, "%s", origin);
	for (i = 0; i < NOTE_MAX_SIGS && (l = note_line(&p, end, &n)) != NULL;
	     i++) {
		if (key == NULL)
			continue;
		r = note_sig(l, n, origin, key, spki, spkilen, sth);
		if (r == 1)
			good = 1;
		if (r == -1 && (n < 4 || memcmp(l, "\xe2\x80\x94 ", 4) != 0)) {
			seterr(err, errlen, "checkpoint: bad signature line");
			return (-1);
		}
	}
	if (key != NULL && !good) {
		seterr(err, errlen,
		    "checkpoint: no valid signature of the "
		    "log's key");
		return (-2);
	}
	return (0);
}

int
ct_tile_path(char *path, size_t len, uint64_t n, unsigned width)
{
	char   groups[8][8];
	size_t ng = 0, off;
	int    i, w;

	if (width >= CT_TILE_WIDTH)
		return (-1);
	do {
		(void)snprintf(groups[ng++], sizeof(groups[0]), "%03u",
		    (unsigned)(n % 1000));
		n /= 1000;
	} while (n > 0 && ng < 8);
	off = 0;
	w = snprintf(path, len, "tile/data/");
	if (w < 0 || (size_t)w >= len)
		return (-1);
	off = (size_t)w;
	for (i = (int)ng - 1; i >= 0; i--) {
		w = snprintf(path + off, len - off, "%s%s%s", i > 0 ? "x" : "",
		    groups[i], i > 0 ? "/" : "");
		if (w < 0 || (size_t)w >= len - off)
			return (-1);
		off += (size_t)w;
	}
	if (width > 0) {
		w = snprintf(path + off, len - off, ".p/%u", width);
		if (w < 0 || (size_t)w >= len - off)
			return (-1);
	}
	return (0);
}
