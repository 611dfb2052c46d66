/*
 * fuzz_ct_loglist.c - libFuzzer harness for the v3 CT log list reader
 * (ctwatch/ct_loglist.h ct_loglist_parse), which ctwatch runs on every
 * list it fetches or reads: the input is the list.  It is read once with
 * every state followed and once more into the same set (nothing may be
 * added twice), and each log's key goes through ct_key_parse as ctwatch
 * does.  Warnings are not printed (log level error).  Checked: at most
 * CT_LOGLIST_MAX_LOGS logs; each has a normalised URL (found again by
 * ct_logset_find, at most CT_LOG_URL_MAX bytes), a name, an operator, a
 * key of at most CT_LOG_KEY_MAX bytes, an origin only when static CT; no
 * URL twice.
 */
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "ctwatch/ct_loglist.h"
#include "ctwatch/ct_sth.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_ALL_STATES	0x3fu

static int	quiet;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_logset	 set;
	struct ct_logdesc	*d;
	EVP_PKEY		*k;
	size_t			 i, n;
	int			 r;
	char			 err[128];

	if (!quiet) {
		log_init("fuzz");
		if (log_configure(LOG_LEVEL_ERROR, "stderr", err,
		    sizeof(err)) == -1)
			abort();
		quiet = 1;
	}
	memset(&set, 0, sizeof(set));
	r = ct_loglist_parse(&set, (const char *)data, size, FUZZ_ALL_STATES,
	    "fuzz");
	FUZZ_CHECK(r >= -1 && set.n <= CT_LOGLIST_MAX_LOGS);
	if (r >= 0)
		FUZZ_CHECK((size_t)r == set.n);
	n = set.n;
	for (i = 0; i < set.n; i++) {
		d = &set.v[i];
		FUZZ_CHECK(d->url != NULL && strlen(d->url) <= CT_LOG_URL_MAX);
		FUZZ_CHECK(ct_logset_find(&set, d->url) == (ssize_t)i);
		FUZZ_CHECK(d->name != NULL && d->operator != NULL);
		FUZZ_CHECK(d->state != 0 && (d->state & ~FUZZ_ALL_STATES) == 0);
		FUZZ_CHECK((d->key == NULL) == (d->keylen == 0) &&
		    d->keylen <= CT_LOG_KEY_MAX);
		FUZZ_CHECK(d->type == CT_LOG_RFC6962 || d->type == CT_LOG_TILED);
		FUZZ_CHECK(d->origin == NULL || (d->type == CT_LOG_TILED &&
		    strlen(d->origin) <= CT_LOG_URL_MAX));
		if ((k = ct_key_parse(d->key, d->keylen)) != NULL)
			EVP_PKEY_free(k);
	}
	r = ct_loglist_parse(&set, (const char *)data, size, FUZZ_ALL_STATES,
	    "fuzz");
	FUZZ_CHECK(r <= 0 && set.n == n);
	ct_logset_free(&set);
	return (0);
}
