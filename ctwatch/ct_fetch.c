/*
 * ct_fetch.c - GETs to CT logs on libcurl's multi interface (see
 * ct_fetch.h), and the per-log back-off and circuit breaker.
 *
 * Runs in the ctwatch process only, from its event loop: ct_fetch_wait
 * is that loop's one blocking call (curl_multi_poll, with the signalfd and
 * the master channel as extra fds).  A response body is collected into a
 * buffer bounded by ct_fetch_opts.max_response (after gzip decoding, so a
 * compression bomb is cut off too); past it the write callback refuses
 * the data and curl aborts the transfer.  Failures are reported to the
 * caller's callback as a STATUS_CTFE_* kind, never logged here (the
 * caller knows which log it was and logs once).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/buf.h"
#include "ctwatch/ct_fetch.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define CT_CONNECT_TIMEOUT_MS 10000
#define CT_MAX_REDIRECTS      3

struct ct_fetch {
	struct ct_fetcher *f;
	CURL              *h;
	struct buf         body;
	int                toobig;
	ct_fetch_cb       *cb;
	void              *arg;
	struct ct_fetch   *prev, *next;
};

struct ct_fetcher {
	CURLM               *multi;
	struct ct_fetch_opts o;
	char                *ua;
	int                  inflight;
	struct ct_fetch     *head;
};

static size_t on_data(char *, size_t, size_t, void *);
static void   finish(struct ct_fetcher *, CURLMsg *);
static void   unlink_fetch(struct ct_fetcher *, struct ct_fetch *);
static int    classify(struct ct_fetch *, CURLcode, long);

struct ct_fetcher *
ct_fetch_new(const struct ct_fetch_opts *o)
{
	static int         inited;
	struct ct_fetcher *f;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_warnx("ctwatch: curl_global_init failed");
			return (NULL);
		}
		inited = 1;
	}
	f = xcalloc(1, sizeof(*f));
	f->o = *o;
	f->ua = xstrdup(o->user_agent);
	if ((f->multi = curl_multi_init()) == NULL) {
		log_warnx("ctwatch: curl_multi_init failed");
		free(f->ua);
		free(f);
		return (NULL);
	}
	(void)curl_multi_setopt(
	    f->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	(void)curl_multi_setopt(
	    f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o->max_fetches);
	(void)curl_multi_setopt(
	    f->multi, CURLMOPT_MAXCONNECTS, (long)o->max_fetches);
	return (f);
}

void
ct_fetch_free(struct ct_fetcher *f)
{
	if (f == NULL)
		return;
	while (f->head != NULL)
		ct_fetch_cancel(f, f->head);
	curl_multi_cleanup(f->multi);
	free(f->ua);
	free(f);
}

int
ct_fetch_slots(const struct ct_fetcher *f)
{
	return (f->o.max_fetches - f->inflight);
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct ct_fetch *x = arg;

	if (n != 0 && size > SIZE_MAX / n)
		return (0);
	if (buf_append(&x->body, p, size * n) == -1) {
		x->toobig = 1;
		return (0); /* aborts with CURLE_WRITE_ERROR */
	}
	return (size * n);
}

struct ct_fetch *
ct_fetch_get(struct ct_fetcher *f, const char *url, ct_fetch_cb *cb, void *arg)
{
	struct ct_fetch *x;
	CURL            *h;
	int              bad = 0;

	if (f->inflight >= f->o.max_fetches)
		return (NULL);
	if ((h = curl_easy_init()) == NULL) {
		log_warnx("ctwatch: curl_easy_init failed");
		return (NULL);
	}
	x = xcalloc(1, sizeof(*x));
	x->f = f;
	x->h = h;
	x->cb = cb;
	x->arg = arg;
	buf_init(&x->body, f->o.max_response);
	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)CT_MAX_REDIRECTS) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
	           (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)f->o.timeout_ms) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	           (long)(f->o.timeout_ms < CT_CONNECT_TIMEOUT_MS
	                   ? f->o.timeout_ms
	                   : CT_CONNECT_TIMEOUT_MS)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	           (curl_off_t)f->o.max_response) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, f->ua) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PRIVATE, x) != CURLE_OK;
	if (bad || curl_multi_add_handle(f->multi, h) != CURLM_OK) {
		log_warnx("ctwatch: curl refused the request for %s", url);
		curl_easy_cleanup(h);
		buf_free(&x->body);
		free(x);
		return (NULL);
	}
	x->next = f->head;
	if (f->head != NULL)
		f->head->prev = x;
	f->head = x;
	f->inflight++;
	return (x);
}

static void
unlink_fetch(struct ct_fetcher *f, struct ct_fetch *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		f->head = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	(void)curl_multi_remove_handle(f->multi, x->h);
	curl_easy_cleanup(x->h);
	buf_free(&x->body);
	free(x);
	f->inflight--;
}

void
ct_fetch_cancel(struct ct_fetcher *f, struct ct_fetch *x)
{
	unlink_fetch(f, x);
}

/* CT_FETCH_OK or a STATUS_CTFE_* kind. */
static int
classify(struct ct_fetch *x, CURLcode rc, long status)
{
	if (x->toobig || rc == CURLE_FILESIZE_EXCEEDED)
		return (STATUS_CTFE_TOOBIG);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return (STATUS_CTFE_TIMEOUT);
	if (rc == CURLE_BAD_CONTENT_ENCODING)
		return (STATUS_CTFE_MALFORMED);
	if (rc != CURLE_OK)
		return (status != 0 && rc != CURLE_TOO_MANY_REDIRECTS
		        ? STATUS_CTFE_MALFORMED
		        : STATUS_CTFE_CONNECT);
	if (status == 429)
		return (STATUS_CTFE_RATELIMIT);
	if (status >= 500)
		return (STATUS_CTFE_HTTP5XX);
	if (status != 200)
		return (STATUS_CTFE_HTTP4XX);
	return (CT_FETCH_OK);
}

static void
finish(struct ct_fetcher *f, CURLMsg *m)
{
	struct ct_fetch       *x = NULL;
	struct ct_fetch_result r;
	curl_off_t             ra = 0;
	long                   status = 0;
	char                  *priv = NULL;

	(void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
	x = (struct ct_fetch *)(void *)priv;
	(void)curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	(void)curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &ra);
	memset(&r, 0, sizeof(r));
	r.http_status = status;
	r.err = classify(x, m->data.result, status);
	r.what = m->data.result != CURLE_OK ? curl_easy_strerror(m->data.result)
	                                    : "";
	if (ra > 0)
		r.retry_after_ms = ra > CT_RETRY_AFTER_MAX_MS / 1000
		    ? CT_RETRY_AFTER_MAX_MS
		    : (int64_t)ra * 1000;
	r.body = (const uint8_t *)x->body.data;
	r.len = x->body.len;
	x->cb(x->arg, &r);
	unlink_fetch(f, x);
}

int
ct_fetch_wait(struct ct_fetcher *f, struct curl_waitfd *extra, unsigned nextra,
    int timeout_ms)
{
	CURLMsg  *m;
	CURLMcode mc;
	int       running, left;

	mc = curl_multi_poll(f->multi, extra, nextra, timeout_ms, NULL);
	if (mc != CURLM_OK) {
		log_warnx(
		    "ctwatch: curl_multi_poll: %s", curl_multi_strerror(mc));
		return (-1);
	}
	if ((mc = curl_multi_perform(f->multi, &running)) != CURLM_OK) {
		log_warnx(
		    "ctwatch: curl_multi_perform: %s", curl_multi_strerror(mc));
		return (-1);
	}
	while ((m = curl_multi_info_read(f->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			finish(f, m);
	return (0);
}

/* ---- back-off --------------------------------------------------------- */

void
ct_backoff_fail(struct ct_backoff *b, int64_t now_ms, int64_t retry_after_ms)
{
	int64_t  wait = CT_BACKOFF_BASE_MS;
	uint32_t rnd = 0;
	int      i;

	b->fails++;
	for (i = 1; i < b->fails && wait < CT_BACKOFF_MAX_MS; i++)
		wait *= 2;
	if (wait > CT_BACKOFF_MAX_MS)
		wait = CT_BACKOFF_MAX_MS;
	(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	/* jitter: 75 % .. 125 % */
	wait = wait * 3 / 4 + (int64_t)(rnd % (uint32_t)(wait / 2 + 1));
	if (retry_after_ms > wait)
		wait = retry_after_ms > CT_RETRY_AFTER_MAX_MS
		    ? CT_RETRY_AFTER_MAX_MS
		    : retry_after_ms;
	if (b->fails >= CT_BREAKER_FAILS) {
		b->open = 1;
		if (wait < CT_BREAKER_MS)
			wait = CT_BREAKER_MS;
	}
	b->until_ms = now_ms + wait;
}

void
ct_backoff_ok(struct ct_backoff *b)
{
	b->fails = 0;
	b->open = 0;
	b->until_ms = 0;
}

int
ct_backoff_ready(const struct ct_backoff *b, int64_t now_ms)
{
	return (now_ms >= b->until_ms);
}

int
ct_backoff_state(const struct ct_backoff *b, int64_t now_ms)
{
	if (b->open)
		return (STATUS_CTB_OPEN);
	if (now_ms < b->until_ms)
		return (STATUS_CTB_BACKOFF);
	return (STATUS_CTB_OK);
}
