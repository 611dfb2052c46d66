/*
 * ct_rfc6962.c - follow one RFC 6962 log (see ct_rfc6962.h).
 *
 * get-sth: every ctwatch.poll_interval; the reply is parsed, its
 * signature checked when the log key is known (a failure is counted and
 * logged, and that tree size is not used), a size that goes back is
 * counted and ignored (ct_log_tree_size).
 *
 * get-entries: the range [fetch_next, size) is cut into windows of
 * batch_size; up to ctwatch.parallel_fetches requests are in flight (the
 * get-sth poll included).  A reply may hold fewer entries than asked: the
 * window shrinks to what came back and the rest becomes a new window, so
 * the position advances by the entries actually returned.  Windows wait
 * in a reorder buffer (at most CT_MAX_WINDOWS, so at most that many
 * batches of memory) until every window before them is in, and are then
 * published in index order.  A failed request puts its window back and
 * backs the log off; an entry that cannot be decoded is counted and
 * skipped, and its index still advances.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ctwatch/ct_getentries.h"
#include "ctwatch/ct_log.h"
#include "ctwatch/ct_rfc6962.h"
#include "ctwatch/ct_sth.h"

#define CT_MAX_WINDOWS 64
#define CT_URL_BUF     (CT_LOG_URL_MAX + 96)

enum win_state { WIN_TODO = 0, WIN_BUSY, WIN_DONE };

struct win {
	struct ct_rfc6962 *r;
	uint64_t           start, end; /* inclusive */
	enum win_state     state;
	struct ct_fetch   *req;
	json_t            *entries; /* WIN_DONE: the reply's array */
	size_t             n;       /* entries used from it */
};

struct ct_rfc6962 {
	struct ct_log   *l;
	struct ct_fetch *sth_req;
	uint64_t         fetch_next;          /* first index not in a window */
	struct win      *win[CT_MAX_WINDOWS]; /* sorted by start */
	size_t           nwin;
};

static void on_sth(void *, const struct ct_fetch_result *);
static void on_entries(void *, const struct ct_fetch_result *);
static void drain(struct ct_rfc6962 *);

struct ct_rfc6962 *
ct_rfc6962_new(struct ct_log *l)
{
	struct ct_rfc6962 *r = xcalloc(1, sizeof(*r));

	r->l = l;
	return (r);
}

static void
win_free(struct ct_rfc6962 *r, size_t i)
{
	struct win *w = r->win[i];

	if (w->req != NULL) {
		ct_fetch_cancel(r->l->w->fetch, w->req);
		r->l->inflight--;
	}
	json_decref(w->entries);
	free(w);
	memmove(
	    &r->win[i], &r->win[i + 1], (r->nwin - i - 1) * sizeof(r->win[0]));
	r->nwin--;
}

void
ct_rfc6962_free(struct ct_rfc6962 *r)
{
	if (r->sth_req != NULL) {
		ct_fetch_cancel(r->l->w->fetch, r->sth_req);
		r->l->inflight--;
	}
	while (r->nwin > 0)
		win_free(r, r->nwin - 1);
	free(r);
}

/* Insert a TODO window [start, end] in order; NULL when full. */
static struct win *
win_add(struct ct_rfc6962 *r, uint64_t start, uint64_t end)
{
	struct win *w;
	size_t      i;

	if (r->nwin == CT_MAX_WINDOWS)
		return (NULL);
	w = xcalloc(1, sizeof(*w));
	w->r = r;
	w->start = start;
	w->end = end;
	for (i = r->nwin; i > 0 && r->win[i - 1]->start > start; i--)
		r->win[i] = r->win[i - 1];
	r->win[i] = w;
	r->nwin++;
	return (w);
}

static int
send_sth(struct ct_rfc6962 *r)
{
	struct ct_log *l = r->l;
	char           url[CT_URL_BUF];

	(void)snprintf(url, sizeof(url), "%s/ct/v1/get-sth", l->d.url);
	if ((r->sth_req = ct_fetch_get(l->w->fetch, url, on_sth, r)) == NULL)
		return (-1);
	l->inflight++;
	return (0);
}

static int
send_window(struct ct_rfc6962 *r, struct win *w)
{
	struct ct_log *l = r->l;
	char           url[CT_URL_BUF];

	(void)snprintf(url, sizeof(url),
	    "%s/ct/v1/get-entries?start=%" PRIu64 "&end=%" PRIu64, l->d.url,
	    w->start, w->end);
	if ((w->req = ct_fetch_get(l->w->fetch, url, on_entries, w)) == NULL)
		return (-1);
	w->state = WIN_BUSY;
	l->inflight++;
	return (0);
}

/* The lowest window still to request, or a new one; NULL if none. */
static struct win *
next_window(struct ct_rfc6962 *r)
{
	struct ct_log *l = r->l;
	uint64_t       end;
	size_t         i;

	for (i = 0; i < r->nwin; i++)
		if (r->win[i]->state == WIN_TODO)
			return (r->win[i]);
	if (!l->started || r->fetch_next >= l->size)
		return (NULL);
	/* Do not run further ahead of the oldest window than the buffer. */
	if (r->nwin >= (size_t)ct_log_fetch_limit(l) * 2)
		return (NULL);
	end = r->fetch_next + (uint64_t)l->w->cf->ctwatch.batch_size - 1;
	if (end >= l->size)
		end = l->size - 1;
	if (win_add(r, r->fetch_next, end) == NULL)
		return (NULL);
	r->fetch_next = end + 1;
	return (next_window(r));
}

void
ct_rfc6962_step(struct ct_rfc6962 *r)
{
	struct ct_log *l = r->l;
	struct win    *w;
	int64_t        now = l->w->now_ms;

	if (l->started && r->fetch_next < l->next && r->nwin == 0)
		r->fetch_next = l->next;
	if (!ct_backoff_ready(&l->bo, now))
		return;
	if (r->sth_req == NULL && now >= l->next_poll_ms &&
	    l->inflight < ct_log_fetch_limit(l)) {
		if (send_sth(r) == -1)
			return;
	}
	while (l->inflight < ct_log_fetch_limit(l) &&
	    ct_fetch_slots(l->w->fetch) > 0) {
		if ((w = next_window(r)) == NULL)
			break;
		if (send_window(r, w) == -1)
			break;
	}
}

static void
on_sth(void *arg, const struct ct_fetch_result *res)
{
	struct ct_rfc6962 *r = arg;
	struct ct_log     *l = r->l;
	struct ct_sth      sth;
	char               err[CT_STH_ERRLEN];

	r->sth_req = NULL;
	l->inflight--;
	l->next_poll_ms = l->w->now_ms + l->w->cf->ctwatch.poll_interval_ms;
	if (res->err != CT_FETCH_OK) {
		ct_log_fetch_failed(l, "get-sth", res);
		return;
	}
	if (ct_sth_parse(res->body, res->len, &sth, err, sizeof(err)) == -1) {
		ct_log_malformed(l, "get-sth", err);
		return;
	}
	ct_head_ok(l);
	if (l->pkey != NULL &&
	    ct_sth_verify(l->pkey, &sth, err, sizeof(err)) == -1) {
		atomic_fetch_add(&l->st->sth_bad_signature, 1);
		log_warnx("ctwatch: %s: tree head of size %llu rejected: %s",
		    l->d.url, (unsigned long long)sth.tree_size, err);
		return;
	}
	(void)ct_log_tree_size(l, sth.tree_size);
	if (l->started && r->nwin == 0 && r->fetch_next < l->next)
		r->fetch_next = l->next;
	ct_rfc6962_step(r);
}

static void
on_entries(void *arg, const struct ct_fetch_result *res)
{
	struct win        *w = arg;
	struct ct_rfc6962 *r = w->r;
	struct ct_log     *l = r->l;
	char               err[CT_STH_ERRLEN];
	size_t             got, asked = (size_t)(w->end - w->start + 1);

	w->req = NULL;
	l->inflight--;
	w->state = WIN_TODO;
	if (res->err != CT_FETCH_OK) {
		ct_log_fetch_failed(l, "get-entries", res);
		return;
	}
	if ((w->entries = ct_getentries_parse(
	         res->body, res->len, err, sizeof(err))) == NULL) {
		ct_log_malformed(l, "get-entries", err);
		return;
	}
	ct_backoff_ok(&l->bo);
	got = json_array_size(w->entries);
	if (got < asked) {
		/* A short reply: the rest is a window of its own. */
		if (win_add(r, w->start + got, w->end) == NULL) {
			json_decref(w->entries);
			w->entries = NULL;
			return; /* asked again, whole, later */
		}
		w->end = w->start + got - 1;
	}
	w->n = got < asked ? got : asked;
	w->state = WIN_DONE;
	drain(r);
	ct_rfc6962_step(r);
}

static void
publish_window(struct ct_rfc6962 *r, struct win *w)
{
	struct ct_log *l = r->l;
	uint8_t       *leaf, *extra;
	size_t         i, leaflen, extralen;

	for (i = 0; i < w->n; i++) {
		if (ct_getentries_entry(w->entries, i, &leaf, &leaflen, &extra,
		        &extralen) == -1)
			ct_log_skip(l, "bad leaf_input or extra_data");
		else
			ct_log_publish_rfc6962(
			    l, leaf, leaflen, extra, extralen);
		free(leaf);
		free(extra);
	}
}

/* Publish the windows that are complete and next in line. */
static void
drain(struct ct_rfc6962 *r)
{
	struct ct_log *l = r->l;
	struct win    *w;

	while (r->nwin > 0 && (w = r->win[0])->state == WIN_DONE) {
		if (w->start != l->next) {
			/* cannot happen: windows tile [next, fetch_next) */
			log_warnx("ctwatch: %s: window %llu is not at %llu; "
			          "refetching",
			    l->d.url, (unsigned long long)w->start,
			    (unsigned long long)l->next);
			while (r->nwin > 0)
				win_free(r, r->nwin - 1);
			r->fetch_next = l->next;
			return;
		}
		publish_window(r, w);
		win_free(r, 0);
	}
}
