/*
 * ct_log.h - one followed CT log inside ctwatch: what both followers
 * (RFC 6962 in ct_rfc6962.c, static CT in ct_tiled.c) share - the
 * watcher context, the position, back-off, the status table slot, and
 * the publishing of entries into the ring (with the optional cross-log
 * dedup window).
 *
 * Runs in the ctwatch process, single-threaded, from its event loop.
 */
#ifndef NOTARYD_CT_LOG_H
#define NOTARYD_CT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/status.h"
#include "ctwatch/ct_dedup.h"
#include "ctwatch/ct_fetch.h"
#include "ctwatch/ct_loglist.h"
#include "ctwatch/ct_parse.h"
#include "store/dbenv.h"

struct conf;
struct ring;
struct ct_issuers;

/* What every log needs from the role. */
struct ct_watch {
	const struct conf *cf;
	struct ct_fetcher *fetch;
	struct ring       *ring;
	struct status     *status;
	struct ct_parser  *parser;
	struct ct_dedup   *dedup;   /* NULL: ctwatch.dedup off */
	struct ct_issuers *issuers; /* static-CT issuer cache */
	struct buf         rec;     /* one stream record */
	DB_ENV            *env;
	DB                *pos;    /* ct.db */
	int64_t            now_ms; /* monotonic, per loop turn */
};

struct ct_rfc6962;
struct ct_tiled;

struct ct_log {
	struct ct_watch     *w;
	struct ct_logdesc    d;
	char                 src_url[CT_LOG_URL_MAX + 16];
	struct ct_source     src;  /* for the parser */
	EVP_PKEY            *pkey; /* NULL: signatures unchecked */
	uint32_t             slot; /* status index = log_id */
	struct status_ctlog *st;
	struct ct_backoff    bo;
	int                  inflight; /* requests of this log */
	int                  started;  /* next is known */
	uint64_t             next;     /* next index to publish */
	uint64_t             size;     /* last trusted tree size */
	uint64_t             saved;    /* next as last committed */
	int                  have_saved;
	int64_t              next_poll_ms;
	int64_t              behind_since_ms; /* wall ms, 0 = caught up */
	int64_t              warned_ms;       /* rate limit for warnings */
	struct ct_rfc6962   *r;
	struct ct_tiled     *t;
};

/*
 * Make a log (status slot taken from the table: the slot that already has
 * its URL, or a free one).  NULL when the status table is full (logged).
 */
struct ct_log *ct_log_new(struct ct_watch *w, const struct ct_logdesc *d);
/* Cancel its transfers, save its position, free it. */
void           ct_log_free(struct ct_log *l);
/* Send whatever requests are due.  Called every loop turn. */
void           ct_log_step(struct ct_log *l);
/* Milliseconds until this log next wants to run (0..max). */
int64_t        ct_log_wait_ms(const struct ct_log *l, int64_t max);

/* Per-log requests allowed in flight now (1 while the breaker is open). */
int  ct_log_fetch_limit(const struct ct_log *l);
/* Count a failed request and back off.  what is for the log. */
void ct_log_fetch_failed(
    struct ct_log *l, const char *req, const struct ct_fetch_result *r);
/* Count a reply that could not be read. */
void ct_log_malformed(struct ct_log *l, const char *req, const char *why);

/*
 * A new tree size was read and trusted.  Starts the log at its resume
 * position (or its size) the first time; ignores and counts a size that
 * went backwards.  Returns 0, or -1 when the size was ignored.
 */
int  ct_log_tree_size(struct ct_log *l, uint64_t size);
/*
 * A tree head came back well-formed: the back-off ends only when no
 * entries are due.  Otherwise the entry requests decide, so that a log
 * whose get-entries or data tiles keep failing is backed off (up to the
 * breaker) although its head succeeds at every poll.
 */
void ct_head_ok(struct ct_log *l);

/*
 * Publish one entry at index == l->next (the followers guarantee the
 * order) and advance next; a malformed entry is counted and skipped.
 */
void ct_log_publish_rfc6962(struct ct_log *l, const uint8_t *leaf,
    size_t leaflen, const uint8_t *extra, size_t extralen);
void ct_log_publish_tiled(struct ct_log *l, const struct ct_tile_leaf *tl,
    const struct ct_chain *chain);
/* Skip index l->next as malformed (counted, logged rate-limited). */
void ct_log_skip(struct ct_log *l, const char *why);

/* Refresh the status slot's gauges (lag, back-off state, sizes). */
void ct_log_update_status(struct ct_log *l);
/* The position to commit, if it changed since the last commit. */
int  ct_log_position(struct ct_log *l, char *url, size_t len, uint64_t *next);

#endif
