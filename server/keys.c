/*
 * keys.c - loading, checking and generating the notary's RSA key pair
 * (see keys.h for the rules and shared/spec/perspectives.md §2.5).
 *
 * Which process runs it: the master calls keys_ensure once at start-up
 * (as root, before dropping privileges, so new files can be given to the
 * daemon user); the signer process calls keys_load and is the only one
 * that keeps the private key; notaryctl keygen calls keys_ensure and
 * keys_load offline.
 *
 * How it fails: every error is a sentence in the caller's err buffer that
 * names the file; nothing is logged here and nothing half-written is left
 * under a final name (files appear by link(2) of a complete, fsynced
 * temporary file).  The PEM text of a private key is wiped from memory
 * as soon as OpenSSL has parsed it or it has been written.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "server/keys.h"
#include "common/xmalloc.h"

#define PRIVATE_MODE 0600
#define PUBLIC_MODE  0644
#define FOREIGN_RW   (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)

struct pem_text {
	char  *data;
	size_t len;
};

static int  pem_no_passphrase(char *, int, int, void *);
static int  read_pem_file(const char *, int, struct pem_text *, char *, size_t);
static void pem_text_wipe(struct pem_text *);
static int  file_exists(const char *, int *, char *, size_t);
static int  fsync_parent_dir(const char *);
static int  write_all(int, const char *, size_t);
static int  install_file(
     const char *, const char *, size_t, mode_t, uid_t, gid_t, char *, size_t);
static int
write_private(const char *, EVP_PKEY *, uid_t, gid_t, char *, size_t);
static int write_public(const char *, EVP_PKEY *, uid_t, gid_t, char *, size_t);
static void openssl_reason(char *, size_t);

/*
 * The PEM reader would otherwise prompt on the terminal for the passphrase
 * of an encrypted key; note that it asked, so the error can say why.
 */
static int
pem_no_passphrase(char *buf, int size, int rwflag, void *asked)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)asked = 1;
	return (0);
}

/* The first OpenSSL error, for messages; clears the queue. */
static void
openssl_reason(char *out, size_t len)
{
	unsigned long e = ERR_peek_error();

	if (e == 0)
		snprintf(out, len, "no PEM key found");
	else
		ERR_error_string_n(e, out, len);
	ERR_clear_error();
}

/*
 * Read a whole key file.  The mode is checked on the opened descriptor
 * (no window between the check and the read); for a private key a mode
 * with group or others read/write bits is refused.
 */
static int
read_pem_file(
    const char *path, int private, struct pem_text *t, char *err, size_t errlen)
{
	struct stat st;
	ssize_t     n;
	int         fd;

	t->data = NULL;
	t->len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (private && (st.st_mode & FOREIGN_RW) != 0) {
		snprintf(err, errlen,
		    "%s: private key file has mode %04o, "
		    "which lets group or others read or write it; refusing "
		    "to use it (chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if (st.st_size <= 0 || st.st_size > KEYS_PEM_MAX) {
		snprintf(err, errlen, "%s: size %lld is not that of a PEM key",
		    path, (long long)st.st_size);
		goto fail;
	}
	t->data = xmalloc((size_t)st.st_size + 1);
	while (t->len < (size_t)st.st_size) {
		n = read(fd, t->data + t->len, (size_t)st.st_size - t->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", path,
			    n == 0 ? "file shrank while read"
			           : strerror(errno));
			pem_text_wipe(t);
			goto fail;
		}
		t->len += (size_t)n;
	}
	t->data[t->len] = '\0';
	close(fd);
	return (0);
fail:
	close(fd);
	return (-1);
}

static void
pem_text_wipe(struct pem_text *t)
{
	if (t->data != NULL) {
		OPENSSL_cleanse(t->data, t->len);
		free(t->data);
	}
	t->data = NULL;
	t->len = 0;
}

int
keys_check_rsa(EVP_PKEY *key, const char *what, char *err, size_t errlen)
{
	int bits;

	if (!EVP_PKEY_is_a(key, "RSA")) {
		snprintf(err, errlen, "%s: not an RSA key (%s)", what,
		    EVP_PKEY_get0_type_name(key) != NULL
		        ? EVP_PKEY_get0_type_name(key)
		        : "unknown type");
		return (-1);
	}
	bits = EVP_PKEY_get_bits(key);
	if (bits < KEYS_MIN_BITS || bits > KEYS_MAX_BITS) {
		snprintf(err, errlen,
		    "%s: RSA modulus of %d bits; the "
		    "Perspectives v1 format needs %d..%d bits (a 172-byte "
		    "signature, which Firefox clients hard-code), so a "
		    "notary key must be generated with %d bits",
		    what, bits, KEYS_MIN_BITS, KEYS_MAX_BITS, KEYS_GEN_BITS);
		return (-1);
	}
	return (0);
}

EVP_PKEY *
keys_load_private(const char *path, char *err, size_t errlen)
{
	struct pem_text t;
	BIO            *bio;
	EVP_PKEY       *key = NULL;
	char            why[256];
	int             asked = 0;

	if (read_pem_file(path, 1, &t, err, errlen) == -1)
		return (NULL);
	if ((bio = BIO_new_mem_buf(t.data, (int)t.len)) != NULL) {
		key = PEM_read_bio_PrivateKey(
		    bio, NULL, pem_no_passphrase, &asked);
		BIO_free(bio);
	}
	pem_text_wipe(&t);
	if (key == NULL) {
		openssl_reason(why, sizeof(why));
		if (asked)
			snprintf(err, errlen,
			    "%s: the private key is "
			    "encrypted; notaryd needs it unencrypted "
			    "(protected by its file mode)",
			    path);
		else
			snprintf(err, errlen,
			    "%s: no PEM private key "
			    "(BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY): "
			    "%s",
			    path, why);
		return (NULL);
	}
	if (keys_check_rsa(key, path, err, errlen) == -1) {
		EVP_PKEY_free(key);
		return (NULL);
	}
	return (key);
}

EVP_PKEY *
keys_load_public(const char *path, char *err, size_t errlen)
{
	struct pem_text t;
	BIO            *bio;
	EVP_PKEY       *key = NULL;
	char            why[256];

	if (read_pem_file(path, 0, &t, err, errlen) == -1)
		return (NULL);
	if ((bio = BIO_new_mem_buf(t.data, (int)t.len)) != NULL) {
		key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	pem_text_wipe(&t);
	if (key == NULL) {
		openssl_reason(why, sizeof(why));
		snprintf(err, errlen,
		    "%s: no PEM public key (BEGIN PUBLIC "
		    "KEY): %s",
		    path, why);
		return (NULL);
	}
	if (keys_check_rsa(key, path, err, errlen) == -1) {
		EVP_PKEY_free(key);
		return (NULL);
	}
	return (key);
}

char *
keys_public_pem(EVP_PKEY *key)
{
	BIO  *bio;
	char *data, *pem = NULL;
	long  len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return (NULL);
	if (PEM_write_bio_PUBKEY(bio, key) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0)
		pem = xstrndup(data, (size_t)len);
	BIO_free(bio);
	ERR_clear_error();
	return (pem);
}

int
keys_load(const char *priv_path, const char *pub_path, EVP_PKEY **key,
    char **pub_pem, char *err, size_t errlen)
{
	EVP_PKEY *priv, *pub;

	*key = NULL;
	if (pub_pem != NULL)
		*pub_pem = NULL;
	if ((priv = keys_load_private(priv_path, err, errlen)) == NULL)
		return (-1);
	if ((pub = keys_load_public(pub_path, err, errlen)) == NULL) {
		EVP_PKEY_free(priv);
		return (-1);
	}
	if (EVP_PKEY_eq(priv, pub) != 1) {
		ERR_clear_error();
		snprintf(err, errlen,
		    "%s: this public key does not belong "
		    "to the private key %s; clients would reject every "
		    "reply",
		    pub_path, priv_path);
		goto fail;
	}
	if (pub_pem != NULL && (*pub_pem = keys_public_pem(pub)) == NULL) {
		snprintf(
		    err, errlen, "%s: cannot encode the public key", pub_path);
		goto fail;
	}
	EVP_PKEY_free(pub);
	*key = priv;
	return (0);
fail:
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	return (-1);
}

/* ---- generation ------------------------------------------------------- */

/* *exists = 0/1; -1 when stat fails for another reason than ENOENT. */
static int
file_exists(const char *path, int *exists, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		*exists = 1;
		return (0);
	}
	if (errno == ENOENT) {
		*exists = 0;
		return (0);
	}
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return (-1);
}

/* Make a new directory entry durable. */
static int
fsync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char       *dir;
	int         fd, r;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return (-1);
	r = fsync(fd);
	close(fd);
	return (r);
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Create path with exactly these bytes and mode, never replacing anything:
 * the data goes to a fresh O_EXCL temporary name in the same directory
 * (mkostemp), and link(2) gives it the final name only if that name is
 * free.  0 when written, 1 when path already existed, -1 on error.
 */
static int
install_file(const char *path, const char *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	int   fd, saved, ret = -1;

	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s",
		    path, strerror(errno));
		free(tmp);
		return (-1);
	}
	if (fchmod(fd, mode) == -1 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	        fchown(fd, uid, gid) == -1) ||
	    write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		snprintf(err, errlen, "%s: %s", tmp, strerror(saved));
		goto out;
	}
	if (close(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) == -1) {
		if (errno == EEXIST)
			ret = 1;
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fsync_parent_dir(path) == -1) {
		snprintf(err, errlen, "%s: cannot sync its directory: %s", path,
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	unlink(tmp);
	free(tmp);
	return (ret);
}

/*
 * PKCS#1 ("BEGIN RSA PRIVATE KEY"): the one form every Perspectives
 * server reads, so a key can move to the Python reference and back.  The
 * text is built in a secure-memory BIO, which is wiped when freed.
 */
static int
write_private(const char *path, EVP_PKEY *key, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	BIO  *bio;
	char *data;
	long  len;
	int   r = -1;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		goto fail;
	if (PEM_write_bio_PrivateKey_traditional(
	        bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		goto fail;
	}
	r = install_file(
	    path, data, (size_t)len, PRIVATE_MODE, uid, gid, err, errlen);
	BIO_free(bio);
	return (r);
fail:
	ERR_clear_error();
	snprintf(err, errlen, "%s: cannot encode the private key", path);
	return (-1);
}

static int
write_public(const char *path, EVP_PKEY *key, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	char *pem;
	int   r;

	if ((pem = keys_public_pem(key)) == NULL) {
		snprintf(err, errlen, "%s: cannot encode the public key", path);
		return (-1);
	}
	r = install_file(
	    path, pem, strlen(pem), PUBLIC_MODE, uid, gid, err, errlen);
	free(pem);
	return (r);
}

int
keys_ensure(const char *priv_path, const char *pub_path, uid_t uid, gid_t gid,
    char *err, size_t errlen)
{
	EVP_PKEY *key;
	int       have_priv, have_pub, r, state;

	if (file_exists(priv_path, &have_priv, err, errlen) == -1 ||
	    file_exists(pub_path, &have_pub, err, errlen) == -1)
		return (-1);
	if (have_priv && have_pub)
		return (KEYS_EXISTED);
	if (!have_priv && have_pub) {
		snprintf(err, errlen,
		    "%s exists but the private key %s does "
		    "not; refusing to generate a new pair over it (that "
		    "would change the notary's identity)",
		    pub_path, priv_path);
		return (-1);
	}
	if (have_priv) {
		if ((key = keys_load_private(priv_path, err, errlen)) == NULL)
			return (-1);
		state = KEYS_PUBLIC_WRITTEN;
	} else {
		key =
		    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)KEYS_GEN_BITS);
		if (key == NULL) {
			ERR_clear_error();
			snprintf(err, errlen, "%s: RSA key generation failed",
			    priv_path);
			return (-1);
		}
		if (keys_check_rsa(key, priv_path, err, errlen) == -1) {
			EVP_PKEY_free(key);
			return (-1);
		}
		r = write_private(priv_path, key, uid, gid, err, errlen);
		if (r == -1) {
			EVP_PKEY_free(key);
			return (-1);
		}
		if (r == 1) {
			/*
			 * Another process (a second signer) created it first:
			 * keep theirs, and make sure of the public key, which
			 * that process may not have written yet.
			 */
			EVP_PKEY_free(key);
			if ((key = keys_load_private(priv_path, err, errlen)) ==
			    NULL)
				return (-1);
			state = KEYS_EXISTED;
		} else
			state = KEYS_CREATED;
	}
	/*
	 * The private key is written first: a crash in between is repaired
	 * by the next call, which derives the public key again.
	 */
	r = write_public(pub_path, key, uid, gid, err, errlen);
	EVP_PKEY_free(key);
	if (r == -1)
		return (-1);
	return (r == 1 ? KEYS_EXISTED : state);
}

/* ---- file helpers shared with convkeys.c ------------------------------ */

int
keys_install_file(const char *path, const char *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	return (install_file(path, data, len, mode, uid, gid, err, errlen));
}

char *
keys_read_file(
    const char *path, int private, size_t *len, char *err, size_t errlen)
{
	struct pem_text t;

	if (read_pem_file(path, private, &t, err, errlen) == -1)
		return (NULL);
	*len = t.len;
	return (t.data);
}

void
keys_wipe(char *data, size_t len)
{
	struct pem_text t = { data, len };

	pem_text_wipe(&t);
}

/* See keys.h. */
int
keys_sign_pkcs1(EVP_PKEY *key, const EVP_MD *md, const void *data, size_t len,
    unsigned char *sig, size_t sigmax, size_t *siglen)
{
	EVP_MD_CTX   *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	size_t        want, got;
	int           size, ret = -1;

	if (key == NULL || !EVP_PKEY_is_a(key, "RSA") ||
	    (size = EVP_PKEY_get_size(key)) <= 0 || (size_t)size > sigmax)
		return (-1);
	want = got = (size_t)size;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, &pctx, md, NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_DigestSign(ctx, sig, &got, data, len) != 1 || got > want) {
		ERR_clear_error();
		goto out;
	}
	if (got < want) {
		/*
		 * OpenSSL already returns modulus-sized signatures; this only
		 * guards the one property Firefox cannot live without: a
		 * signature is an integer below the modulus written in exactly
		 * k bytes, so any missing bytes are leading zeros.
		 */
		memmove(sig + (want - got), sig, got);
		memset(sig, 0, want - got);
	}
	*siglen = want;
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return (ret);
}
