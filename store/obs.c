/*
 * obs.c - the observation store (see obs.h): which key each service
 * presented, and when, in spans.db, certs.db and services.db.
 *
 * Who runs it: every database user that touches observations - the
 * scanners (obs_record, obs_record_failure: writers), the signer
 * (obs_read on read-only handles) and notaryctl (import, export, show,
 * list-services).  Never the master or the HTTP workers.
 *
 * How it works: every public call is one short transaction run by
 * db_txn_run, so a deadlock is retried and nothing is half-written; no
 * network or terminal I/O happens inside (the walkers call back between
 * transactions).  obs_insert_span and obs_register_service run inside
 * the caller's transaction instead and hand Berkeley DB codes back.
 *
 * How it fails: -1, logged once here with an "obs: " prefix.
 * DB_RUNRECOVERY ends the process (db_check, via db_txn_run).  Rows read
 * back are never trusted: a key or value of the wrong size, a negative
 * time or start > end is logged, skipped, and left where it is (an
 * operator may want to look at it).
 *
 * On-disk layout (all integers big-endian, so keys sort numerically):
 *   spans.db     svc 0x00 md5[16] be64(start) -> be64(end) sha256[32]
 *                be64(seen) (rows without seen, 40 bytes, read as seen = end)
 *   certs.db     sha256[32] -> DER
 *   services.db  svc -> be64 first_seen, be64 last_probe, be64 last_ok,
 *                       be32 fails, be32 last_result
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "store/obs.h"
#include "store/outcome.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "store/obs_impl.h"

static int    rows_append(const struct obs_span *, void *);
static int    span_newer(const struct obs_span *, const struct obs_span *);
static int    span_older_cmp(const void *, const void *);
static size_t rows_newest(const struct rows *);
static int    record_new_span(struct record *, DB_TXN *);
static int    record_extend(struct record *, DB_TXN *, size_t);
static int    record_close_previous(struct record *, DB_TXN *, size_t);
static int    record_cert(struct record *, DB_TXN *);
static int    record_service_ok(struct record *, DB_TXN *);
static int    record_prune(struct record *, DB_TXN *);
static int    record_txn(DB_ENV *, DB_TXN *, void *);
static int    der_matches(const uint8_t *, size_t, const struct obs_fp *);
static int    failure_txn(DB_ENV *, DB_TXN *, void *);

static int
rows_append(const struct obs_span *sp, void *arg)
{
	struct rows *rows = arg;

	if (rows->n == rows->cap) {
		rows->cap = rows->cap ? rows->cap * 2 : 16;
		rows->v = xreallocarray(rows->v, rows->cap, sizeof(*rows->v));
	}
	rows->v[rows->n++] = *sp;
	return (0);
}

/* The newest span: max end, then max start, then max md5 (obs.h). */
static int
span_newer(const struct obs_span *a, const struct obs_span *b)
{
	if (a->end != b->end)
		return (a->end > b->end);
	if (a->start != b->start)
		return (a->start > b->start);
	return (memcmp(a->md5, b->md5, MD5_LEN) > 0);
}

/* qsort: oldest first, the exact reverse of span_newer. */
static int
span_older_cmp(const void *pa, const void *pb)
{
	const struct obs_span *a = pa, *b = pb;

	if (span_newer(a, b))
		return (1);
	if (span_newer(b, a))
		return (-1);
	return (0);
}

/* Index of the newest row, or rows->n when there is none. */
static size_t
rows_newest(const struct rows *rows)
{
	size_t i, best = rows->n;

	for (i = 0; i < rows->n; i++)
		if (best == rows->n || span_newer(&rows->v[i], &rows->v[best]))
			best = i;
	return (best);
}

/*
 * A new span (now, now) for the observed key, unless a span of that key
 * already covers now (a clock that went back, or two sightings within the
 * same second around another key's): the reference would hit its unique
 * constraints there and log; here nothing needs to change.
 */
static int
record_new_span(struct record *rc, DB_TXN *txn)
{
	struct obs_span sp;
	size_t          i;
	int             r;

	for (i = 0; i < rc->rows.n; i++) {
		sp = rc->rows.v[i];
		if (memcmp(sp.md5, rc->fp->md5, MD5_LEN) == 0 &&
		    sp.start <= rc->now && rc->now <= sp.end) {
			log_debug("obs: %.*s: key already seen at %lld, no new "
			          "span",
			    (int)rc->len, rc->svc, (long long)rc->now);
			return (0);
		}
	}
	memcpy(sp.md5, rc->fp->md5, MD5_LEN);
	memcpy(sp.sha256, rc->fp->sha256, SHA256_LEN);
	sp.start = sp.end = sp.seen = rc->now;
	if ((r = obs_span_put(
	         rc->o, txn, rc->svc, rc->len, &sp, DB_NOOVERWRITE)) != 0)
		return (r);
	rows_append(&sp, &rc->rows);
	return (0);
}

/* Same key within 48 h: end = now, only forward. */
static int
record_extend(struct record *rc, DB_TXN *txn, size_t i)
{
	struct obs_span *sp = &rc->rows.v[i];
	int              learn_sha256, changed = 0;

	if (rc->now > sp->end) {
		sp->end = sp->seen = rc->now;
		changed = 1;
	} else
		log_debug("obs: %.*s: end %lld not moved back to %lld",
		    (int)rc->len, rc->svc, (long long)sp->end,
		    (long long)rc->now);
	learn_sha256 = obs_is_zero(sp->sha256, SHA256_LEN) &&
	    !obs_is_zero(rc->fp->sha256, SHA256_LEN);
	if (learn_sha256) {
		memcpy(sp->sha256, rc->fp->sha256, SHA256_LEN);
		changed = 1;
	} else if (!obs_is_zero(rc->fp->sha256, SHA256_LEN) &&
	    memcmp(sp->sha256, rc->fp->sha256, SHA256_LEN) != 0)
		log_warnx("obs: %.*s: same MD5 as the stored key but another "
		          "SHA-256 (an MD5 collision?)",
		    (int)rc->len, rc->svc);
	if (!changed)
		return (0);
	return (obs_span_put(rc->o, txn, rc->svc, rc->len, sp, 0));
}

/*
 * Another key now: the previous newest span ends at now - 1 (forward);
 * its last sighting (seen) stays where it was.
 */
static int
record_close_previous(struct record *rc, DB_TXN *txn, size_t i)
{
	struct obs_span *sp = &rc->rows.v[i];

	if (rc->now - 1 <= sp->end) {
		log_debug("obs: %.*s: previous key's end %lld not moved back "
		          "to %lld",
		    (int)rc->len, rc->svc, (long long)sp->end,
		    (long long)(rc->now - 1));
		return (0);
	}
	sp->end = rc->now - 1;
	return (obs_span_put(rc->o, txn, rc->svc, rc->len, sp, 0));
}

/* The leaf DER, once per certificate (certs.db is keyed by its SHA-256). */
static int
record_cert(struct record *rc, DB_TXN *txn)
{
	DBT key, val;
	int r;

	if (rc->der == NULL)
		return (0);
	obs_dbt_set(&key, rc->fp->sha256, SHA256_LEN);
	obs_dbt_set(&val, rc->der, rc->derlen);
	r = rc->o->certs->put(rc->o->certs, txn, &key, &val, DB_NOOVERWRITE);
	return (r == DB_KEYEXIST ? 0 : r);
}

static int
record_service_ok(struct record *rc, DB_TXN *txn)
{
	struct obs_service st;
	int                found, r;

	if ((r = obs_service_read(
	         rc->o, txn, rc->svc, rc->len, DB_RMW, &st, &found)) != 0)
		return (r);
	if (!found)
		st.first_seen = rc->now;
	st.last_probe = rc->now;
	st.last_ok = rc->now;
	st.fails = 0;
	st.last_result = PROBE_OK;
	return (obs_service_write(rc->o, txn, rc->svc, rc->len, &st));
}

/* Keep the OBS_MAX_SPANS newest spans; the oldest (by end) go. */
static int
record_prune(struct record *rc, DB_TXN *txn)
{
	size_t i, excess;
	int    r;

	if (rc->rows.n <= OBS_MAX_SPANS)
		return (0);
	excess = rc->rows.n - OBS_MAX_SPANS;
	qsort(rc->rows.v, rc->rows.n, sizeof(*rc->rows.v), span_older_cmp);
	for (i = 0; i < excess; i++)
		if ((r = obs_span_del(
		         rc->o, txn, rc->svc, rc->len, &rc->rows.v[i])) != 0)
			return (r);
	log_debug(
	    "obs: %.*s: pruned %zu old spans", (int)rc->len, rc->svc, excess);
	return (0);
}

/*
 * report_observation (perspectives.md §4.3) in one transaction.  The
 * service's rows are read with DB_RMW: two writers of the same service
 * then queue on the write lock instead of deadlocking on an upgrade.
 */
static int
record_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct record *rc = arg;
	size_t         newest;
	int            r;

	(void)env;
	rc->rows.n = 0;
	if ((r = obs_prefix_scan(rc->o->spans, txn, rc->svc, rc->len, DB_RMW,
	         rows_append, &rc->rows)) != 0)
		return (r);
	newest = rows_newest(&rc->rows);
	if (newest == rc->rows.n) {
		rc->outcome = OBS_FIRST;
		r = record_new_span(rc, txn);
	} else if (memcmp(rc->rows.v[newest].md5, rc->fp->md5, MD5_LEN) == 0) {
		if (rc->now - rc->rows.v[newest].end <= OBS_UPDATE_LIMIT) {
			rc->outcome = OBS_EXTENDED;
			r = record_extend(rc, txn, newest);
		} else {
			rc->outcome = OBS_NEW_SPAN;
			r = record_new_span(rc, txn);
		}
	} else {
		rc->outcome = OBS_CHANGED;
		r = record_new_span(rc, txn);
		if (r == 0 &&
		    rc->now - rc->rows.v[newest].end <= OBS_UPDATE_LIMIT)
			r = record_close_previous(rc, txn, newest);
	}
	if (r == 0)
		r = record_cert(rc, txn);
	if (r == 0)
		r = record_service_ok(rc, txn);
	if (r == 0)
		r = record_prune(rc, txn);
	return (r);
}

/* Does der hash to the MD5 and SHA-256 the caller claims? */
static int
der_matches(const uint8_t *der, size_t derlen, const struct obs_fp *fp)
{
	uint8_t  md[EVP_MAX_MD_SIZE];
	unsigned mdlen;

	if (EVP_Digest(der, derlen, md, &mdlen, EVP_md5(), NULL) != 1 ||
	    mdlen != MD5_LEN || memcmp(md, fp->md5, MD5_LEN) != 0)
		return (0);
	if (EVP_Digest(der, derlen, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != SHA256_LEN || memcmp(md, fp->sha256, SHA256_LEN) != 0)
		return (0);
	return (1);
}

int
obs_record(struct obs_db *o, const char *svc, size_t len,
    const struct obs_fp *fp, const uint8_t *der, size_t derlen, int64_t now,
    enum obs_outcome *out)
{
	struct record rc;
	int           r;

	if (!obs_svc_ok(svc, len) || fp == NULL || !obs_time_ok(now)) {
		log_warnx("obs: record: bad service id, key or time");
		return (-1);
	}
	if (obs_is_readonly(o)) {
		log_warnx("obs: record %.*s: read-only handle", (int)len, svc);
		return (-1);
	}
	if (der != NULL && derlen > OBS_DER_MAX) {
		log_warnx("obs: %.*s: leaf certificate of %zu bytes not stored "
		          "(limit %d)",
		    (int)len, svc, derlen, OBS_DER_MAX);
		der = NULL;
	}
	if (der != NULL && !der_matches(der, derlen, fp)) {
		log_warnx("obs: %.*s: the DER does not hash to the given "
		          "fingerprints",
		    (int)len, svc);
		return (-1);
	}
	memset(&rc, 0, sizeof(rc));
	rc.o = o;
	rc.svc = svc;
	rc.len = len;
	rc.fp = fp;
	rc.der = der;
	rc.derlen = derlen;
	rc.now = now;
	r = db_txn_run(o->env, record_txn, &rc, NULL);
	free(rc.rows.v);
	if (r != 0) {
		log_warnx(
		    "obs: record %.*s: %s", (int)len, svc, db_strerror(r));
		return (-1);
	}
	if (out != NULL)
		*out = rc.outcome;
	return (0);
}

static int
failure_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct failure    *f = arg;
	struct obs_service st;
	int                found, r;

	(void)env;
	if ((r = obs_service_read(
	         f->o, txn, f->svc, f->len, DB_RMW, &st, &found)) != 0)
		return (r);
	if (!found)
		st.first_seen = f->now;
	if (st.fails < UINT32_MAX)
		st.fails++;
	st.last_probe = f->now;
	st.last_result = f->result;
	return (obs_service_write(f->o, txn, f->svc, f->len, &st));
}

int
obs_record_failure(
    struct obs_db *o, const char *svc, size_t len, uint32_t result, int64_t now)
{
	struct failure f = { o, svc, len, result, now };
	int            r;

	if (!obs_svc_ok(svc, len) || !obs_time_ok(now)) {
		log_warnx("obs: record failure: bad service id or time");
		return (-1);
	}
	if (obs_is_readonly(o)) {
		log_warnx("obs: record failure of %.*s: read-only handle",
		    (int)len, svc);
		return (-1);
	}
	if ((r = db_txn_run(o->env, failure_txn, &f, NULL)) != 0) {
		log_warnx("obs: record failure of %.*s: %s", (int)len, svc,
		    db_strerror(r));
		return (-1);
	}
	return (0);
}

int
obs_open(struct obs_db *o, DB_ENV *env, int readonly)
{
	memset(o, 0, sizeof(*o));
	o->env = env;
	if (db_table_open(env, &o->spans, DB_TABLE_SPANS, readonly) != 0 ||
	    db_table_open(env, &o->certs, DB_TABLE_CERTS, readonly) != 0 ||
	    db_table_open(env, &o->services, DB_TABLE_SERVICES, readonly) !=
	        0) {
		obs_close(o);
		return (-1);
	}
	return (0);
}

void
obs_close(struct obs_db *o)
{
	DB   **tables[] = { &o->spans, &o->certs, &o->services };
	size_t i;
	int    r;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (*tables[i] == NULL)
			continue;
		if ((r = db_check((*tables[i])->close(*tables[i], 0))) != 0)
			log_warnx("obs: close table: %s", db_strerror(r));
		*tables[i] = NULL;
	}
}
