/*
 * ct_tiled.c - follow one static-CT log (see ct_tiled.h), and the issuer
 * cache every static-CT log shares.
 *
 * checkpoint: every ctwatch.poll_interval; a signed note whose
 * RFC6962NoteSignature is checked with the log key when known, and whose
 * origin must be the log's (from the list's submission_url) when known (a
 * failure is counted like a bad STH signature and the size is not used).
 *
 * Data tiles: one tile of a log in flight at a time.  The tile holding
 * l->next is fetched whole when the tree covers it, else as the partial
 * tile <N>.p/<size % 256>; a partial tile is never fetched twice for the
 * same width (the log has not grown then).  A partial tile that is gone
 * (404) is fetched whole instead, as the spec allows.  Each TileLeaf is
 * split by the parser; the chain fingerprints are resolved through the
 * issuer cache (memory, then issuers.db, then GET issuer/<hex>, stored
 * in both), and only when every issuer of the tile is known (or is
 * definitely missing: 4xx) are its entries published, in order.  A leaf
 * that cannot be split, or a tile that ends before its width, is a
 * malformed reply: nothing of it is published and it is fetched again
 * after a back-off, CT_TILE_TRIES times in all (a proxy that cut it, a
 * log being repaired); only then is what splits published and the rest of
 * the tile skipped and counted, so that one bad tile cannot stop the log
 * for good.  A tile with bytes after its last leaf is a malformed reply
 * each time: nothing of it is published.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ctwatch/ct_log.h"
#include "ctwatch/ct_sth.h"
#include "ctwatch/ct_tiled.h"
#include "store/issuers.h"

#define CT_URL_BUF          (CT_LOG_URL_MAX + 128)
#define CT_ISS_INFLIGHT     8  /* issuer requests of one log */
#define CT_TILE_MISSING_MAX 64 /* unresolvable issuers per tile */
#define CT_TILE_TRIES       4  /* fetches of a tile that does not split */

struct ct_tiled;

struct iss_req {
	struct ct_tiled *t;
	struct ct_fetch *req;
	uint8_t          fp[32];
};

struct ct_tiled {
	struct ct_log   *l;
	struct ct_fetch *cp_req;
	struct ct_fetch *tile_req;
	uint64_t         tile_n; /* tile requested or held */
	unsigned         tile_w; /* 0 = full */
	uint8_t         *tile;   /* held, waiting for issuers */
	size_t           tile_len;
	uint64_t         last_partial_n; /* partial tile consumed */
	unsigned         last_partial_w;
	uint64_t         short_n;     /* the tile that did not split */
	unsigned         short_tries; /* fetches of it that did not */
	int              tile_fresh;  /* held tile not yet checked */
	struct iss_req   iss[CT_ISS_INFLIGHT];
	uint8_t          missing[CT_TILE_MISSING_MAX][32];
	size_t           nmissing;
};

static void on_checkpoint(void *, const struct ct_fetch_result *);
static void on_tile(void *, const struct ct_fetch_result *);
static void on_issuer(void *, const struct ct_fetch_result *);
static void process_tile(struct ct_tiled *);

/* ---- the issuer cache --------------------------------------------------- */

struct iss_ent {
	uint8_t  fp[32];
	uint8_t *der; /* NULL = empty slot */
	size_t   len;
};

struct ct_issuers {
	DB_ENV        *env;
	DB            *db;
	struct iss_ent v[CT_ISSUERS_MEM];
	size_t         n;
	struct buf     scratch;
};

struct ct_issuers *
ct_issuers_new(DB_ENV *env, DB *db)
{
	struct ct_issuers *c = xcalloc(1, sizeof(*c));

	c->env = env;
	c->db = db;
	buf_init(&c->scratch, ISSUERS_MAX_DER);
	return (c);
}

static void
iss_clear(struct ct_issuers *c)
{
	size_t i;

	for (i = 0; i < CT_ISSUERS_MEM; i++) {
		free(c->v[i].der);
		c->v[i].der = NULL;
	}
	c->n = 0;
}

void
ct_issuers_free(struct ct_issuers *c)
{
	if (c == NULL)
		return;
	iss_clear(c);
	buf_free(&c->scratch);
	free(c);
}

static size_t
iss_slot(const struct ct_issuers *c, const uint8_t fp[32])
{
	size_t i;

	memcpy(&i, fp, sizeof(i));
	for (i %= CT_ISSUERS_MEM;
	     c->v[i].der != NULL && memcmp(c->v[i].fp, fp, 32) != 0;
	     i = (i + 1) % CT_ISSUERS_MEM)
		;
	return (i);
}

static void
iss_mem_put(
    struct ct_issuers *c, const uint8_t fp[32], const uint8_t *der, size_t len)
{
	size_t i;

	if (c->n >= CT_ISSUERS_MEM - 1)
		return; /* full until the next trim */
	i = iss_slot(c, fp);
	if (c->v[i].der != NULL)
		return;
	memcpy(c->v[i].fp, fp, 32);
	c->v[i].der = xmalloc(len);
	memcpy(c->v[i].der, der, len);
	c->v[i].len = len;
	c->n++;
}

/*
 * Bound the memory cache: start over once it is half full.  Called before
 * each entry, so the pointers handed out for one entry's chain (at most
 * CT_MAX_CHAIN inserts) stay valid while it is built.
 */
static void
iss_trim(struct ct_issuers *c)
{
	if (c->n >= CT_ISSUERS_MEM / 2)
		iss_clear(c);
}

const uint8_t *
ct_issuers_get(struct ct_issuers *c, const uint8_t fp[32], size_t *len)
{
	size_t i = iss_slot(c, fp);

	if (c->v[i].der == NULL) {
		buf_reset(&c->scratch);
		if (c->db == NULL ||
		    issuers_get(c->env, c->db, fp, &c->scratch) != 0)
			return (NULL);
		iss_mem_put(
		    c, fp, (const uint8_t *)c->scratch.data, c->scratch.len);
		i = iss_slot(c, fp);
	}
	*len = c->v[i].len;
	return (c->v[i].der);
}

int
ct_issuers_put(
    struct ct_issuers *c, const uint8_t fp[32], const uint8_t *der, size_t len)
{
	uint8_t h[SHA256_DIGEST_LENGTH];

	if (len == 0 || len > ISSUERS_MAX_DER)
		return (-1);
	SHA256(der, len, h);
	if (memcmp(h, fp, 32) != 0)
		return (-1);
	if (c->db != NULL)
		(void)issuers_put(c->env, c->db, fp, der, len);
	iss_mem_put(c, fp, der, len);
	return (0);
}

/* ---- the follower ------------------------------------------------------- */

struct ct_tiled *
ct_tiled_new(struct ct_log *l)
{
	struct ct_tiled *t = xcalloc(1, sizeof(*t));
	size_t           i;

	t->l = l;
	for (i = 0; i < CT_ISS_INFLIGHT; i++)
		t->iss[i].t = t;
	return (t);
}

static void
cancel(struct ct_tiled *t, struct ct_fetch **x)
{
	if (*x == NULL)
		return;
	ct_fetch_cancel(t->l->w->fetch, *x);
	*x = NULL;
	t->l->inflight--;
}

void
ct_tiled_free(struct ct_tiled *t)
{
	size_t i;

	cancel(t, &t->cp_req);
	cancel(t, &t->tile_req);
	for (i = 0; i < CT_ISS_INFLIGHT; i++)
		cancel(t, &t->iss[i].req);
	free(t->tile);
	free(t);
}

static struct ct_fetch *
get(struct ct_tiled *t, const char *path, ct_fetch_cb *cb, void *arg)
{
	struct ct_fetch *x;
	char             url[CT_URL_BUF];

	(void)snprintf(url, sizeof(url), "%s/%s", t->l->d.url, path);
	if ((x = ct_fetch_get(t->l->w->fetch, url, cb, arg)) != NULL)
		t->l->inflight++;
	return (x);
}

static void
send_tile(struct ct_tiled *t)
{
	struct ct_log *l = t->l;
	char           path[CT_TILE_PATH_MAX];
	uint64_t       n = l->next / CT_TILE_WIDTH;
	unsigned       w = 0;

	if ((n + 1) * CT_TILE_WIDTH > l->size) {
		w = (unsigned)(l->size % CT_TILE_WIDTH);
		if (n == t->last_partial_n && w == t->last_partial_w)
			return; /* the log did not grow */
	}
	if (ct_tile_path(path, sizeof(path), n, w) == -1)
		return;
	if ((t->tile_req = get(t, path, on_tile, t)) == NULL)
		return;
	t->tile_n = n;
	t->tile_w = w;
}

void
ct_tiled_step(struct ct_tiled *t)
{
	struct ct_log *l = t->l;
	int64_t        now = l->w->now_ms;

	if (!ct_backoff_ready(&l->bo, now))
		return;
	if (t->cp_req == NULL && now >= l->next_poll_ms &&
	    l->inflight < ct_log_fetch_limit(l))
		t->cp_req = get(t, "checkpoint", on_checkpoint, t);
	if (t->tile != NULL) {
		process_tile(t);
		return;
	}
	if (t->tile_req == NULL && l->started && l->next < l->size &&
	    l->inflight < ct_log_fetch_limit(l))
		send_tile(t);
}

static void
on_checkpoint(void *arg, const struct ct_fetch_result *res)
{
	struct ct_tiled *t = arg;
	struct ct_log   *l = t->l;
	struct ct_sth    sth;
	/* a longer origin is cut to more than any log URL: no false match */
	char             err[CT_STH_ERRLEN], origin[CT_LOG_URL_MAX + 2];
	int              r;

	t->cp_req = NULL;
	l->inflight--;
	l->next_poll_ms = l->w->now_ms + l->w->cf->ctwatch.poll_interval_ms;
	if (res->err != CT_FETCH_OK) {
		ct_log_fetch_failed(l, "checkpoint", res);
		return;
	}
	r = ct_checkpoint_parse(res->body, res->len, l->pkey, l->d.key,
	    l->d.keylen, &sth, origin, sizeof(origin), err, sizeof(err));
	if (r == -1) {
		ct_log_malformed(l, "checkpoint", err);
		return;
	}
	ct_head_ok(l);
	if (r == 0 && l->d.origin != NULL && strcmp(origin, l->d.origin) != 0) {
		(void)snprintf(
		    err, sizeof(err), "origin is not %.40s", l->d.origin);
		r = -2; /* signed, but for another log */
	}
	if (r == -2) {
		atomic_fetch_add(&l->st->sth_bad_signature, 1);
		log_warnx("ctwatch: %s: checkpoint of size %llu rejected: %s",
		    l->d.url, (unsigned long long)sth.tree_size, err);
		return;
	}
	(void)ct_log_tree_size(l, sth.tree_size);
	ct_tiled_step(t);
}

static void
on_tile(void *arg, const struct ct_fetch_result *res)
{
	struct ct_tiled *t = arg;
	struct ct_log   *l = t->l;

	t->tile_req = NULL;
	l->inflight--;
	if (res->err != CT_FETCH_OK) {
		if (t->tile_w != 0 && res->http_status == 404) {
			/* the partial tile is gone: the full one exists */
			char path[CT_TILE_PATH_MAX];

			if (ct_tile_path(path, sizeof(path), t->tile_n, 0) ==
			        0 &&
			    (t->tile_req = get(t, path, on_tile, t)) != NULL) {
				t->tile_w = 0;
				return;
			}
		}
		ct_log_fetch_failed(l, "data tile", res);
		return;
	}
	if (res->len == 0) {
		ct_log_malformed(l, "data tile", "empty");
		return;
	}
	t->tile = xmalloc(res->len);
	memcpy(t->tile, res->body, res->len);
	t->tile_len = res->len;
	t->nmissing = 0;
	t->tile_fresh = 1;
	process_tile(t);
}

static int
is_missing(const struct ct_tiled *t, const uint8_t fp[32])
{
	size_t i;

	for (i = 0; i < t->nmissing; i++)
		if (memcmp(t->missing[i], fp, 32) == 0)
			return (1);
	return (0);
}

/* Ask for fp unless it is asked already.  -1 when no slot is free. */
static int
want_issuer(struct ct_tiled *t, const uint8_t fp[32])
{
	struct iss_req *free_slot = NULL;
	char            path[16 + 64 + 1];
	size_t          i;

	for (i = 0; i < CT_ISS_INFLIGHT; i++) {
		if (t->iss[i].req != NULL && memcmp(t->iss[i].fp, fp, 32) == 0)
			return (0);
		if (t->iss[i].req == NULL && free_slot == NULL)
			free_slot = &t->iss[i];
	}
	if (free_slot == NULL ||
	    t->l->inflight >= ct_log_fetch_limit(t->l) + CT_ISS_INFLIGHT ||
	    !ct_backoff_ready(&t->l->bo, t->l->w->now_ms))
		return (-1);
	memcpy(path, "issuer/", 7);
	for (i = 0; i < 32; i++)
		(void)snprintf(path + 7 + 2 * i, 3, "%02x", fp[i]);
	memcpy(free_slot->fp, fp, 32);
	free_slot->req = get(t, path, on_issuer, free_slot);
	return (free_slot->req == NULL ? -1 : 0);
}

static void
on_issuer(void *arg, const struct ct_fetch_result *res)
{
	struct iss_req  *q = arg;
	struct ct_tiled *t = q->t;
	struct ct_log   *l = t->l;

	q->req = NULL;
	l->inflight--;
	if (res->err == STATUS_CTFE_HTTP4XX ||
	    (res->err == CT_FETCH_OK &&
	        ct_issuers_put(l->w->issuers, q->fp, res->body, res->len) ==
	            -1)) {
		/* definitely not to be had: publish without it */
		atomic_fetch_add(
		    &l->st->fetch_errors[STATUS_CTFE_MALFORMED], 1);
		if (t->nmissing < CT_TILE_MISSING_MAX)
			memcpy(t->missing[t->nmissing++], q->fp, 32);
	} else if (res->err != CT_FETCH_OK) {
		ct_log_fetch_failed(l, "issuer", res);
		return;
	}
	if (t->tile != NULL)
		process_tile(t);
}

/*
 * Walk the leaves from l->next.  !publish: ask for unknown issuers, return
 * the number still unknown, and set *cut when the leaves stop before the
 * tile's width.  publish: publish them all (skipping the rest of a cut
 * tile).  -1 (nothing published) when bytes follow the tile's last leaf.
 */
static long
walk_tile(struct ct_tiled *t, int publish, int *cut)
{
	struct ct_log      *l = t->l;
	struct ct_tile_leaf leaf;
	struct ct_chain     chain;
	const uint8_t      *p = t->tile;
	uint64_t            first = t->tile_n * CT_TILE_WIDTH, idx;
	uint64_t end = first + (t->tile_w ? t->tile_w : CT_TILE_WIDTH);
	size_t   left = t->tile_len, i, unknown = 0;
	char     err[CT_ERRLEN];
	long     n;

	for (idx = first; idx < end; idx++) {
		if ((n = ct_tile_leaf_next(p, left, &leaf, err, sizeof(err))) <=
		    0)
			break;
		p += n;
		left -= (size_t)n;
		if (idx < l->next)
			continue;
		memset(&chain, 0, sizeof(chain));
		iss_trim(l->w->issuers);
		for (i = 0; i < leaf.nfp; i++) {
			chain.der[i] = ct_issuers_get(
			    l->w->issuers, leaf.fp[i], &chain.len[i]);
			if (chain.der[i] == NULL &&
			    !is_missing(t, leaf.fp[i])) {
				unknown++;
				if (!publish)
					(void)want_issuer(t, leaf.fp[i]);
			}
		}
		chain.n = leaf.nfp;
		if (publish)
			ct_log_publish_tiled(l, &leaf, &chain);
	}
	if (idx == end && left > 0)
		return (-1); /* bytes after the last leaf */
	*cut = idx < end;
	if (publish)
		while (l->next < end)
			ct_log_skip(l, idx < end ? err : "short tile");
	return ((long)unknown);
}

/* Is this fetch of a tile that did not split one to try again? */
static int
tile_try_again(struct ct_tiled *t)
{
	if (t->short_n != t->tile_n || t->short_tries == 0) {
		t->short_n = t->tile_n;
		t->short_tries = 0;
	}
	return (++t->short_tries < CT_TILE_TRIES);
}

static void
process_tile(struct ct_tiled *t)
{
	struct ct_log *l = t->l;
	long           r;
	int            cut = 0;

	r = walk_tile(t, 0, &cut);
	if (!t->tile_fresh)
		cut = 0; /* a held tile was judged when it came */
	t->tile_fresh = 0;
	if (r == -1 || (cut && tile_try_again(t))) {
		/* not a tile of this width: fetched again after a back-off */
		ct_log_malformed(l, "data tile",
		    r == -1 ? "bytes after the last leaf"
		            : "it does not split into its leaves");
		free(t->tile);
		t->tile = NULL;
		t->tile_len = 0;
		return;
	}
	if (r > 0)
		return;        /* waiting for issuers */
	ct_backoff_ok(&l->bo); /* a usable tile */
	t->short_tries = 0;
	(void)walk_tile(t, 1, &cut);
	if (t->tile_w != 0) {
		t->last_partial_n = t->tile_n;
		t->last_partial_w = t->tile_w;
	}
	free(t->tile);
	t->tile = NULL;
	t->tile_len = 0;
	if (l->next < l->size)
		ct_tiled_step(t);
}
