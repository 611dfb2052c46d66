/*
 * conv_history.c - the Convergence rows of a service, derived from the
 * observation store, and the signed reply built from them (see
 * conv_history.h for how spans become rows).
 *
 * Which process runs it: the signer, the only process with the
 * Convergence private key.
 *
 * How it fails: a database error is -1 / SIG_UNAVAILABLE (obs.c has
 * logged it); a stored DER that cannot be read is left out of the rows
 * with a warning, as the rest of the history is still true.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "server/conv_history.h"
#include "server/convergence.h"
#include "server/sigproto.h"
#include "store/obs.h"

static const uint8_t zero256[32];

/* The SHA-1 text of the leaf stored under sha256: 0, 1 (none), -1. */
static int
leaf_fp(struct obs_db *o, const uint8_t *sha256, uint8_t *der,
    char fp[CONV_FP_LEN + 1])
{
	uint8_t      md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	size_t       len;
	int          r;

	if ((r = obs_cert_get(o, sha256, der, OBS_DER_MAX, &len)) != 0)
		return (r);
	if (EVP_Digest(der, len, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return (-1);
	conv_fp_text(md, fp);
	return (0);
}

int
conv_history_read(struct obs_db *o, const char *svc, size_t len,
    struct obs_span *spans, size_t nspans, struct conv_row *rows, size_t max,
    size_t *n)
{
	size_t   ns, i, j, nr = 0;
	char     fp[CONV_FP_LEN + 1];
	uint8_t *der;
	int      r;

	*n = 0;
	if (obs_read(o, svc, len, spans, nspans, &ns) == -1)
		return (-1);
	der = xmalloc(OBS_DER_MAX);
	for (i = 0; i < ns; i++) {
		if (memcmp(spans[i].sha256, zero256, 32) == 0)
			continue;
		/* Spans of one certificate merge into the first's row. */
		for (j = 0; j < i; j++)
			if (memcmp(spans[j].sha256, spans[i].sha256, 32) == 0)
				break;
		if (j < i)
			continue;
		if ((r = leaf_fp(o, spans[i].sha256, der, fp)) != 0) {
			if (r == -1)
				log_warnx("%.*s: a stored certificate cannot "
				          "be read",
				    (int)len, svc);
			continue;
		}
		if (nr == max)
			break;
		memcpy(rows[nr].fp, fp, sizeof(fp));
		rows[nr].start = spans[i].start;
		rows[nr].finish = spans[i].seen;
		for (j = i + 1; j < ns; j++) {
			if (memcmp(spans[j].sha256, spans[i].sha256, 32) != 0)
				continue;
			if (spans[j].start < rows[nr].start)
				rows[nr].start = spans[j].start;
			if (spans[j].seen > rows[nr].finish)
				rows[nr].finish = spans[j].seen;
		}
		nr++;
	}
	free(der);
	conv_sort_rows(rows, nr);
	*n = nr;
	return (0);
}

int
conv_history_reply(struct obs_db *o, EVP_PKEY *key, const char *svc, size_t len,
    struct obs_span *spans, size_t nspans, struct conv_row *rows, size_t max,
    struct buf *out)
{
	size_t n;

	if (conv_history_read(o, svc, len, spans, nspans, rows, max, &n) == -1)
		return (SIG_UNAVAILABLE);
	if (n == 0)
		return (SIG_UNKNOWN);
	if (conv_build_reply(rows, n, key, out) == -1) {
		log_warnx("cannot build the Convergence reply for %.*s",
		    (int)len, svc);
		return (SIG_UNAVAILABLE);
	}
	return (SIG_OK);
}
