/*
 * ct_fetch.h - HTTP GETs to CT logs on libcurl's multi interface, driven
 * from ctwatch's one event loop, plus the per-log back-off and circuit
 * breaker.
 *
 * One fetcher per ctwatch process: one connection cache (reuse per host,
 * HTTP/2 multiplexing where the server offers it), gzip accepted, a
 * timeout on every transfer, a hard bound on the body (the transfer is
 * aborted past it), and a global cap on transfers in flight.  Per-log
 * caps and back-off are the caller's (struct ct_backoff below), so one
 * slow or failing log never holds a slot another log could use for long:
 * every transfer ends within the timeout.
 */
#ifndef NOTARYD_CT_FETCH_H
#define NOTARYD_CT_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/status.h"

#define CT_FETCH_OK (-1) /* err value: no error */

struct ct_fetch_result {
	long           http_status; /* 0 when no response */
	int            err;         /* CT_FETCH_OK or enum status_ctfe */
	const uint8_t *body;        /* valid during the callback only */
	size_t         len;
	int64_t        retry_after_ms; /* from Retry-After, or 0 */
	const char    *what;           /* short text for the log */
};

typedef void ct_fetch_cb(void *arg, const struct ct_fetch_result *r);

struct ct_fetch_opts {
	int64_t     timeout_ms;   /* whole transfer */
	uint64_t    max_response; /* body bytes, after decoding */
	int         max_fetches;  /* global in-flight cap */
	const char *user_agent;
};

struct ct_fetcher;
struct ct_fetch;

struct ct_fetcher *ct_fetch_new(const struct ct_fetch_opts *o);
/* Cancels every transfer (no callbacks) and frees. */
void               ct_fetch_free(struct ct_fetcher *f);

/*
 * Start GET url.  cb(arg, result) runs later from ct_fetch_wait, exactly
 * once unless the transfer is cancelled.  Returns the handle, or NULL when
 * the global cap is reached or curl refuses (logged).
 */
struct ct_fetch *
ct_fetch_get(struct ct_fetcher *f, const char *url, ct_fetch_cb *cb, void *arg);
/* Cancel a transfer that has not completed: its callback never runs. */
void ct_fetch_cancel(struct ct_fetcher *f, struct ct_fetch *x);
/* Transfers that may still be started before the global cap. */
int  ct_fetch_slots(const struct ct_fetcher *f);

/*
 * Wait up to timeout_ms for network activity or one of extra[] (their
 * revents are set), run the transfers and the callbacks of those that
 * completed.  0, or -1 on a curl multi error (logged).
 */
int ct_fetch_wait(struct ct_fetcher *f, struct curl_waitfd *extra,
    unsigned nextra, int timeout_ms);

/*
 * Back-off of one log.  After an error the log waits 0.5 s doubling to
 * 60 s (at least Retry-After, at most 10 min), with +-25 % jitter; after
 * CT_BREAKER_FAILS errors in a row the breaker opens for CT_BREAKER_MS,
 * then one request is let through (half open); a success closes it.
 */
#define CT_BACKOFF_BASE_MS    500
#define CT_BACKOFF_MAX_MS     60000
#define CT_RETRY_AFTER_MAX_MS 600000
#define CT_BREAKER_FAILS      10
#define CT_BREAKER_MS         300000

struct ct_backoff {
	int     fails;    /* in a row */
	int64_t until_ms; /* monotonic; 0 = free to go */
	int     open;     /* breaker open */
};

void
ct_backoff_fail(struct ct_backoff *b, int64_t now_ms, int64_t retry_after_ms);
void ct_backoff_ok(struct ct_backoff *b);
/* 1 when a request may be sent now. */
int  ct_backoff_ready(const struct ct_backoff *b, int64_t now_ms);
/* enum status_ctbackoff for the status table. */
int  ct_backoff_state(const struct ct_backoff *b, int64_t now_ms);

#endif
