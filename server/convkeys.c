/*
 * convkeys.c - the Convergence notary's certificate and key: paths,
 * first-start generation of a self-signed pair, loading and checking
 * (rules in convkeys.h).
 *
 * Which process runs it: the signer generates and loads the pair and is
 * the only process that keeps the private key; HTTP workers and notaryctl
 * load the certificate only.
 *
 * How it fails: every error is a sentence in the caller's err buffer that
 * names the file; nothing is logged here.  Files appear only complete
 * (keys_install_file: O_EXCL temporary, fsync, link), and the PEM text of
 * the private key is wiped once it has been parsed or written.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "common/conf.h"
#include "common/xmalloc.h"
#include "server/convergence.h"
#include "server/convkeys.h"
#include "server/keys.h"

#define FILE_MODE 0600
#define CERT_CN   "notaryd Convergence notary"

int
convkeys_paths(
    const struct conf *cf, char *cert, size_t certlen, char *key, size_t keylen)
{
	int a, b, dflt = cf->convergence.certificate[0] == '\0';

	if (dflt) {
		a = snprintf(cert, certlen, "%s/%s", cf->daemon.data_dir,
		    CONVKEYS_CERT_FILE);
		b = snprintf(key, keylen, "%s/%s", cf->daemon.data_dir,
		    CONVKEYS_KEY_FILE);
	} else {
		a = snprintf(cert, certlen, "%s", cf->convergence.certificate);
		b = snprintf(key, keylen, "%s", cf->convergence.key);
	}
	if (a < 0 || (size_t)a >= certlen || b < 0 || (size_t)b >= keylen)
		return (-1);
	return (dflt);
}

/* ---- generation ------------------------------------------------------- */

/* A self-signed certificate for key, valid CONVKEYS_DAYS from now. */
static X509 *
make_cert(EVP_PKEY *key)
{
	X509         *x = X509_new();
	X509_NAME    *name;
	BIGNUM       *bn = BN_new();
	unsigned char serial[16];

	if (x == NULL || bn == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x40; /* and no leading zero byte */
	if (BN_bin2bn(serial, sizeof(serial), bn) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CONVKEYS_DAYS, 0, NULL) ==
	        NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)CERT_CN, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		goto fail;
	BN_free(bn);
	return (x);
fail:
	BN_free(bn);
	X509_free(x);
	ERR_clear_error();
	return (NULL);
}

static int
write_key(const char *path, EVP_PKEY *key, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	BIO  *bio;
	char *data;
	long  len;
	int   r;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) !=
	        1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		ERR_clear_error();
		snprintf(err, errlen, "%s: cannot encode the key", path);
		return (-1);
	}
	r = keys_install_file(
	    path, data, (size_t)len, FILE_MODE, uid, gid, err, errlen);
	BIO_free(bio);
	return (r);
}

static int
write_cert(
    const char *path, X509 *x, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	BIO  *bio;
	char *data;
	long  len;
	int   r;

	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(bio, x) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		ERR_clear_error();
		snprintf(
		    err, errlen, "%s: cannot encode the certificate", path);
		return (-1);
	}
	r = keys_install_file(
	    path, data, (size_t)len, FILE_MODE, uid, gid, err, errlen);
	BIO_free(bio);
	return (r);
}

static EVP_PKEY *load_key(const char *, char *, size_t);

int
convkeys_ensure(const char *cert_path, const char *key_path, uid_t uid,
    gid_t gid, char *err, size_t errlen)
{
	EVP_PKEY   *key;
	X509       *x;
	struct stat st;
	int         have_cert, have_key, r;

	have_cert = stat(cert_path, &st) == 0;
	have_key = stat(key_path, &st) == 0;
	if (have_cert && have_key)
		return (KEYS_EXISTED);
	if (have_cert) {
		snprintf(err, errlen,
		    "%s exists but its key %s does not; "
		    "refusing to make a new key (that would change the "
		    "certificate clients have pinned)",
		    cert_path, key_path);
		return (-1);
	}
	if (have_key) {
		if ((key = load_key(key_path, err, errlen)) == NULL)
			return (-1);
	} else {
		key = EVP_PKEY_Q_keygen(
		    NULL, NULL, "RSA", (size_t)CONVKEYS_GEN_BITS);
		if (key == NULL) {
			ERR_clear_error();
			snprintf(err, errlen, "%s: RSA key generation failed",
			    key_path);
			return (-1);
		}
		if ((r = write_key(key_path, key, uid, gid, err, errlen)) !=
		    0) {
			EVP_PKEY_free(key);
			return (r == 1 ? KEYS_EXISTED : -1);
		}
	}
	if ((x = make_cert(key)) == NULL) {
		EVP_PKEY_free(key);
		snprintf(
		    err, errlen, "%s: cannot make a certificate", cert_path);
		return (-1);
	}
	r = write_cert(cert_path, x, uid, gid, err, errlen);
	X509_free(x);
	EVP_PKEY_free(key);
	if (r == -1)
		return (-1);
	return (r == 1 ? KEYS_EXISTED : KEYS_CREATED);
}

/* ---- loading ---------------------------------------------------------- */

static EVP_PKEY *
load_key(const char *path, char *err, size_t errlen)
{
	BIO      *bio;
	EVP_PKEY *key = NULL;
	char     *data;
	size_t    len;
	int       bits;

	if ((data = keys_read_file(path, 1, &len, err, errlen)) == NULL)
		return (NULL);
	if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL) {
		/* No callback and no passphrase: an encrypted key fails. */
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
		BIO_free(bio);
	}
	keys_wipe(data, len);
	ERR_clear_error();
	if (key == NULL) {
		snprintf(
		    err, errlen, "%s: no unencrypted PEM private key", path);
		return (NULL);
	}
	bits = EVP_PKEY_get_bits(key);
	if (!EVP_PKEY_is_a(key, "RSA") || bits < CONVKEYS_MIN_BITS ||
	    bits > CONVKEYS_MAX_BITS) {
		snprintf(err, errlen, "%s: not an RSA key of %d..%d bits", path,
		    CONVKEYS_MIN_BITS, CONVKEYS_MAX_BITS);
		EVP_PKEY_free(key);
		return (NULL);
	}
	return (key);
}

int
convkeys_load_cert(
    const char *path, struct convkeys_cert *c, char *err, size_t errlen)
{
	BIO          *bio;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  mdlen = 0;
	size_t        len;

	memset(c, 0, sizeof(*c));
	if ((c->pem = keys_read_file(path, 0, &len, err, errlen)) == NULL)
		return (-1);
	if ((bio = BIO_new_mem_buf(c->pem, (int)len)) != NULL) {
		c->leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (c->leaf == NULL ||
	    X509_digest(c->leaf, EVP_sha1(), md, &mdlen) != 1 || mdlen != 20) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: no PEM certificate", path);
		convkeys_cert_free(c);
		return (-1);
	}
	conv_fp_text(md, c->fp);
	return (0);
}

void
convkeys_cert_free(struct convkeys_cert *c)
{
	X509_free(c->leaf);
	free(c->pem);
	memset(c, 0, sizeof(*c));
}

int
convkeys_load(const char *cert_path, const char *key_path, EVP_PKEY **key,
    struct convkeys_cert *c, char *err, size_t errlen)
{
	if (convkeys_load_cert(cert_path, c, err, errlen) == -1)
		return (-1);
	if ((*key = load_key(key_path, err, errlen)) == NULL) {
		convkeys_cert_free(c);
		return (-1);
	}
	if (X509_check_private_key(c->leaf, *key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s does not belong to the key %s",
		    cert_path, key_path);
		EVP_PKEY_free(*key);
		*key = NULL;
		convkeys_cert_free(c);
		return (-1);
	}
	return (0);
}

int
convkeys_private_op(EVP_PKEY *key, int padding, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t outmax, size_t *outlen)
{
	EVP_PKEY_CTX *ctx;
	size_t        size, n;
	int           ok;

	if (key == NULL || EVP_PKEY_get_size(key) <= 0)
		return (-1);
	size = (size_t)EVP_PKEY_get_size(key);
	if ((padding != RSA_PKCS1_PADDING && padding != RSA_NO_PADDING) ||
	    outmax < size || inlen == 0 ||
	    (padding == RSA_NO_PADDING && inlen != size) ||
	    (padding == RSA_PKCS1_PADDING && inlen + 11 > size))
		return (-1);
	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return (-1);
	n = outmax;
	ok = EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1 &&
	    EVP_PKEY_sign(ctx, out, &n, in, inlen) == 1 && n == size;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return (-1);
	}
	*outlen = n;
	return (0);
}
