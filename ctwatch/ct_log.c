/*
 * ct_log.c - what the two followers of a CT log share (see ct_log.h):
 * the status slot, the start and resume position, back-off accounting,
 * publishing entries into the ring in index order, and the cross-log
 * dedup window.
 *
 * Runs in the ctwatch process, from its event loop.  Nothing here waits:
 * ring_publish never blocks, and the position is read from the database
 * once per log start (one short transaction).  A malformed entry is
 * counted and skipped (its index still advances); warnings about one log
 * are rate-limited to one per CT_WARN_MS, the counters keep the totals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/ring.h"
#include "common/streamrec.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "ctwatch/ct_log.h"
#include "ctwatch/ct_rfc6962.h"
#include "ctwatch/ct_sth.h"
#include "ctwatch/ct_tiled.h"
#include "store/ctpos.h"

#define CT_WARN_MS 10000

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* 1 when a warning about l may be logged now. */
static int
may_warn(struct ct_log *l)
{
	if (l->warned_ms != 0 && l->w->now_ms - l->warned_ms < CT_WARN_MS)
		return (0);
	l->warned_ms = l->w->now_ms;
	return (1);
}

static void
set_text(char *dst, size_t len, const char *s)
{
	(void)snprintf(dst, len, "%s", s);
}

/* The slot that has url, else an unused one, else a released one. */
static int
slot_find(struct status *s, const char *url, uint64_t *prev_next)
{
	uint32_t n = atomic_load(&s->nctlogs), i;
	int      released = -1;

	*prev_next = 0;
	if (n > STATUS_MAX_CTLOGS)
		n = STATUS_MAX_CTLOGS;
	for (i = 0; i < n; i++) {
		struct status_ctlog *c = &s->ctlog[i];

		if (strncmp(c->url, url, sizeof(c->url)) == 0 &&
		    atomic_load(&c->state) != 0) {
			*prev_next = atomic_load(&c->next_index);
			return ((int)i);
		}
		if (released == -1 && atomic_load(&c->state) == 2)
			released = (int)i;
	}
	if (n < STATUS_MAX_CTLOGS) {
		atomic_store(&s->nctlogs, n + 1);
		return ((int)n);
	}
	return (released);
}

static void
slot_init(struct ct_log *l, uint64_t prev_next, int same)
{
	struct status_ctlog *c = l->st;
	size_t               k;

	atomic_fetch_add(&c->seq, 1);
	set_text(c->url, sizeof(c->url), l->d.url);
	set_text(c->name, sizeof(c->name), l->d.name);
	set_text(c->operator, sizeof(c->operator), l->d.operator);
	atomic_fetch_add(&c->seq, 1);
	atomic_store(&c->tiled, l->d.type == CT_LOG_TILED);
	atomic_store(&c->backoff, STATUS_CTB_OK);
	atomic_store(&c->lag_entries, 0);
	atomic_store(&c->lag_ms, 0);
	if (!same) {
		/* A new log in a reused slot: counters start again. */
		atomic_store(&c->tree_size, 0);
		atomic_store(&c->published, 0);
		atomic_store(&c->precerts, 0);
		atomic_store(&c->parse_errors, 0);
		atomic_store(&c->duplicates, 0);
		atomic_store(&c->backfill_skipped, 0);
		atomic_store(&c->sth_bad_signature, 0);
		atomic_store(&c->sth_shrunk, 0);
		for (k = 0; k < STATUS_CTFE_MAX; k++)
			atomic_store(&c->fetch_errors[k], 0);
	}
	atomic_store(&c->next_index, prev_next);
	atomic_store(&c->state, 1);
}

struct ct_log *
ct_log_new(struct ct_watch *w, const struct ct_logdesc *d)
{
	struct ct_log *l;
	uint64_t       prev;
	int            slot, same;

	if ((slot = slot_find(w->status, d->url, &prev)) == -1) {
		log_warnx("ctwatch: more than %d logs; %s is not followed",
		    STATUS_MAX_CTLOGS, d->url);
		return (NULL);
	}
	l = xcalloc(1, sizeof(*l));
	l->w = w;
	ct_logdesc_copy(&l->d, d);
	l->slot = (uint32_t)slot;
	l->st = &w->status->ctlog[slot];
	same = strncmp(l->st->url, d->url, sizeof(l->st->url)) == 0 &&
	    atomic_load(&l->st->state) != 0;
	slot_init(l, same ? prev : 0, same);
	if (ct_source_url(l->src_url, sizeof(l->src_url), d->url) == -1)
		set_text(l->src_url, sizeof(l->src_url), d->url);
	l->src.name = l->d.name;
	l->src.url = l->src_url;
	l->src.operator_name = l->d.operator;
	l->src.tiled = d->type == CT_LOG_TILED;
	l->src.log_id = l->slot;
	if (d->key != NULL &&
	    (l->pkey = ct_key_parse(d->key, d->keylen)) == NULL)
		log_warnx("ctwatch: %s: the log key cannot be read; tree "
		          "heads are not checked",
		    d->url);
	if (d->type == CT_LOG_TILED)
		l->t = ct_tiled_new(l);
	else
		l->r = ct_rfc6962_new(l);
	log_info("ctwatch: following %s (%s, %s)%s", d->url, d->name,
	    d->type == CT_LOG_TILED ? "static CT" : "RFC 6962",
	    l->pkey == NULL ? ", tree heads not verified" : "");
	return (l);
}

/* One line with the log's counters (at stop, and when a log is dropped). */
static void
log_summary(const struct ct_log *l)
{
	const struct status_ctlog *c = l->st;
	char                       fe[STATUS_CTFE_MAX * 24];
	size_t                     k, off = 0;
	int                        n;

	fe[0] = '\0';
	for (k = 0; k < STATUS_CTFE_MAX; k++) {
		n = snprintf(fe + off, sizeof(fe) - off, "%s%s=%llu",
		    k ? "," : "", status_ctfe_name((enum status_ctfe)k),
		    (unsigned long long)atomic_load(&c->fetch_errors[k]));
		if (n < 0 || (size_t)n >= sizeof(fe) - off)
			break;
		off += (size_t)n;
	}
	log_info(
	    "ctwatch: %s: next %llu of %llu; published %llu (precerts "
	    "%llu), malformed %llu, duplicates %llu, backfill skipped %llu, "
	    "bad signatures %llu, shrunk %llu; fetch errors %s",
	    l->d.url, (unsigned long long)l->next, (unsigned long long)l->size,
	    (unsigned long long)atomic_load(&c->published),
	    (unsigned long long)atomic_load(&c->precerts),
	    (unsigned long long)atomic_load(&c->parse_errors),
	    (unsigned long long)atomic_load(&c->duplicates),
	    (unsigned long long)atomic_load(&c->backfill_skipped),
	    (unsigned long long)atomic_load(&c->sth_bad_signature),
	    (unsigned long long)atomic_load(&c->sth_shrunk), fe);
}

void
ct_log_free(struct ct_log *l)
{
	if (l == NULL)
		return;
	log_summary(l);
	if (l->r != NULL)
		ct_rfc6962_free(l->r);
	if (l->t != NULL)
		ct_tiled_free(l->t);
	atomic_store(&l->st->state, 2);
	atomic_store(&l->st->backoff, STATUS_CTB_OK);
	EVP_PKEY_free(l->pkey);
	ct_logdesc_clear(&l->d);
	free(l);
}

void
ct_log_step(struct ct_log *l)
{
	if (l->r != NULL)
		ct_rfc6962_step(l->r);
	else
		ct_tiled_step(l->t);
}

int64_t
ct_log_wait_ms(const struct ct_log *l, int64_t max)
{
	int64_t t = l->next_poll_ms, now = l->w->now_ms;

	if (l->bo.until_ms > t)
		t = l->bo.until_ms;
	t -= now;
	if (t < 0)
		t = 0;
	return (t < max ? t : max);
}

int
ct_log_fetch_limit(const struct ct_log *l)
{
	if (l->bo.open)
		return (1);
	return (l->w->cf->ctwatch.parallel_fetches);
}

void
ct_head_ok(struct ct_log *l)
{
	if (!l->started || l->next >= l->size)
		ct_backoff_ok(&l->bo);
}

void
ct_log_fetch_failed(
    struct ct_log *l, const char *req, const struct ct_fetch_result *r)
{
	if (r->err >= 0 && r->err < STATUS_CTFE_MAX)
		atomic_fetch_add(&l->st->fetch_errors[r->err], 1);
	ct_backoff_fail(&l->bo, l->w->now_ms, r->retry_after_ms);
	if (may_warn(l))
		log_warnx("ctwatch: %s: %s failed: %s%s%s (HTTP %ld); "
		          "retrying in %lld ms%s",
		    l->d.url, req, status_ctfe_name((enum status_ctfe)r->err),
		    r->what[0] != '\0' ? ": " : "", r->what, r->http_status,
		    (long long)(l->bo.until_ms - l->w->now_ms),
		    l->bo.open ? " (circuit breaker open)" : "");
}

void
ct_log_malformed(struct ct_log *l, const char *req, const char *why)
{
	struct ct_fetch_result r;

	memset(&r, 0, sizeof(r));
	r.err = STATUS_CTFE_MALFORMED;
	r.what = why;
	r.http_status = 200;
	ct_log_fetch_failed(l, req, &r);
}

/* The first tree size: where to start. */
static void
log_start(struct ct_log *l, uint64_t size)
{
	const struct conf *cf = l->w->cf;
	uint64_t           p = 0, prev, maxb;
	int                have = 0;

	prev = atomic_load(&l->st->next_index);
	if (cf->ctwatch.resume) {
		have = ctpos_get(l->w->env, l->w->pos, l->d.url, &p) == 0;
		/* The ring may hold more than the last commit said. */
		if (prev > 0 && (!have || prev > p)) {
			p = prev;
			have = 1;
		}
	}
	if (!have) {
		l->next = size;
		log_info("ctwatch: %s: starting at its current size %llu",
		    l->d.url, (unsigned long long)size);
	} else {
		l->next = p;
		l->saved = p;
		l->have_saved = 1;
		maxb = (uint64_t)cf->ctwatch.max_backfill;
		if (size > p && size - p > maxb) {
			l->next = size - maxb;
			atomic_fetch_add(&l->st->backfill_skipped, l->next - p);
			log_warnx("ctwatch: %s: %llu entries behind; skipping "
			          "%llu (ctwatch.max_backfill)",
			    l->d.url, (unsigned long long)(size - p),
			    (unsigned long long)(l->next - p));
		} else
			log_info("ctwatch: %s: resuming at %llu (size %llu)",
			    l->d.url, (unsigned long long)p,
			    (unsigned long long)size);
	}
	l->started = 1;
	atomic_store(&l->st->next_index, l->next);
}

int
ct_log_tree_size(struct ct_log *l, uint64_t size)
{
	if (size < l->size) {
		atomic_fetch_add(&l->st->sth_shrunk, 1);
		if (may_warn(l))
			log_warnx("ctwatch: %s: tree size went back from %llu "
			          "to %llu; ignored",
			    l->d.url, (unsigned long long)l->size,
			    (unsigned long long)size);
		return (-1);
	}
	l->size = size;
	atomic_store(&l->st->tree_size, size);
	if (!l->started)
		log_start(l, size);
	return (0);
}

void
ct_log_skip(struct ct_log *l, const char *why)
{
	atomic_fetch_add(&l->st->parse_errors, 1);
	if (may_warn(l))
		log_warnx("ctwatch: %s: entry %llu skipped: %s", l->d.url,
		    (unsigned long long)l->next, why);
	l->next++;
	atomic_store(&l->st->next_index, l->next);
}

/* The record in w->rec is built: dedup, publish, count, advance. */
static void
publish_built(struct ct_log *l, const uint8_t *hash)
{
	struct ct_watch            *w = l->w;
	const struct streamrec_hdr *h;
	int                         precert;

	h = (const struct streamrec_hdr *)(const void *)w->rec.data;
	precert = (h->flags & STREAMREC_F_PRECERT) != 0;
	if (w->dedup != NULL && ct_dedup_seen(w->dedup, hash, w->now_ms)) {
		atomic_fetch_add(&l->st->duplicates, 1);
	} else if (ring_publish(w->ring, STREAMREC_TYPE_ENTRY, w->rec.data,
	               w->rec.len) == 0) {
		ct_log_skip(l, "record larger than the ring allows");
		return;
	} else {
		atomic_fetch_add(&l->st->published, 1);
		if (precert)
			atomic_fetch_add(&l->st->precerts, 1);
	}
	l->next++;
	atomic_store(&l->st->next_index, l->next);
}

void
ct_log_publish_rfc6962(struct ct_log *l, const uint8_t *leaf, size_t leaflen,
    const uint8_t *extra, size_t extralen)
{
	struct ct_watch *w = l->w;
	uint8_t          hash[32];
	char             err[CT_ERRLEN];

	buf_reset(&w->rec);
	if (ct_entry_rfc6962(w->parser, &w->rec, &l->src, l->next, leaf,
	        leaflen, extra, extralen, (double)wall_ms() / 1000.0,
	        w->dedup != NULL ? hash : NULL, err, sizeof(err)) == -1) {
		ct_log_skip(l, err);
		return;
	}
	publish_built(l, hash);
}

void
ct_log_publish_tiled(struct ct_log *l, const struct ct_tile_leaf *tl,
    const struct ct_chain *chain)
{
	struct ct_watch *w = l->w;
	uint8_t          hash[32];
	char             err[CT_ERRLEN];

	buf_reset(&w->rec);
	if (ct_entry_tiled(w->parser, &w->rec, &l->src, l->next, tl, chain,
	        (double)wall_ms() / 1000.0, w->dedup != NULL ? hash : NULL, err,
	        sizeof(err)) == -1) {
		ct_log_skip(l, err);
		return;
	}
	publish_built(l, hash);
}

void
ct_log_update_status(struct ct_log *l)
{
	struct status_ctlog *c = l->st;
	int64_t              now = wall_ms();

	atomic_store(
	    &c->backoff, (uint32_t)ct_backoff_state(&l->bo, l->w->now_ms));
	if (l->started && l->size > l->next) {
		if (l->behind_since_ms == 0)
			l->behind_since_ms = now;
		atomic_store(&c->lag_entries, l->size - l->next);
		atomic_store(&c->lag_ms, now - l->behind_since_ms);
	} else {
		l->behind_since_ms = 0;
		atomic_store(&c->lag_entries, 0);
		atomic_store(&c->lag_ms, 0);
	}
	atomic_store(&c->updated_wall, now / 1000);
}

int
ct_log_position(struct ct_log *l, char *url, size_t len, uint64_t *next)
{
	if (!l->started || (l->have_saved && l->saved == l->next))
		return (0);
	set_text(url, len, l->d.url);
	*next = l->next;
	l->saved = l->next;
	l->have_saved = 1;
	return (1);
}
