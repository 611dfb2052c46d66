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

#define MD5_LEN		16
#define SHA256_LEN	32
#define SPAN_TAIL_LEN	(MD5_LEN + 8)		/* md5, be64(start) */
#define SPAN_KEY_MAX	(SVCID_MAX + 1 + SPAN_TAIL_LEN)
#define SPAN_VAL_LEN	(8 + SHA256_LEN)	/* be64(end), sha256 */
#define SERVICE_VAL_LEN	(3 * 8 + 2 * 4)

/*
 * The walkers read this many rows per transaction, and go on past it to
 * the end of the current service (so that one service is read at one
 * moment) but never past WALK_BATCH_MAX.
 */
#define WALK_BATCH	4096
#define WALK_BATCH_MAX	(WALK_BATCH + 2 * OBS_MAX_SPANS)
#define WALK_KEY_MAX	SPAN_KEY_MAX

/* A growable list of the spans of one service (obs_record). */
struct rows {
	struct obs_span	*v;
	size_t		 n;
	size_t		 cap;
};

struct record {
	struct obs_db		*o;
	const char		*svc;
	size_t			 len;
	const struct obs_fp	*fp;
	const uint8_t		*der;
	size_t			 derlen;
	int64_t			 now;
	enum obs_outcome	 outcome;
	struct rows		 rows;
};

struct failure {
	struct obs_db	*o;
	const char	*svc;
	size_t		 len;
	uint32_t	 result;
	int64_t		 now;
};

struct read_ctx {
	struct obs_db	*o;
	const char	*svc;
	size_t		 len;
	struct obs_span	*spans;
	size_t		 max;
	size_t		 n;
};

struct service_ctx {
	struct obs_db		*o;
	const char		*svc;
	size_t			 len;
	struct obs_service	*st;
	int			 found;
};

struct cert_ctx {
	struct obs_db	*o;
	const uint8_t	*sha256;
	uint8_t		*der;
	size_t		 max;
	size_t		 len;
	int		 found;
	int		 too_long;
};

struct walk_row {
	char		svc[SVCID_MAX + 1];
	size_t		len;
	union {
		struct obs_span		sp;
		struct obs_service	st;
	} u;
};

/* One walk over a whole table, batch after batch. */
struct walk {
	DB		*db;
	int		(*decode)(const DBT *, const DBT *,
			    struct walk_row *);
	struct walk_row	*rows;
	size_t		 n;
	/* the first key of this batch, and of the next (once committed) */
	uint8_t		 resume[WALK_KEY_MAX];
	u_int32_t	 resume_len;
	uint8_t		 next[WALK_KEY_MAX];
	u_int32_t	 next_len;
	int		 started;
	int		 done;
};

typedef int (*row_fn)(const struct obs_span *, void *);

static void	dbt_set(DBT *, const void *, size_t);
static int	svc_ok(const char *, size_t);
static int	time_ok(int64_t);
static int	is_zero(const uint8_t *, size_t);
static int	is_readonly(const struct obs_db *);
static size_t	span_key(uint8_t *, const char *, size_t, const uint8_t *,
		    int64_t);
static int	span_decode(const DBT *, const DBT *, size_t,
		    struct obs_span *);
static int	span_put(struct obs_db *, DB_TXN *, const char *, size_t,
		    const struct obs_span *, u_int32_t);
static int	span_del(struct obs_db *, DB_TXN *, const char *, size_t,
		    const struct obs_span *);
static void	service_encode(uint8_t *, const struct obs_service *);
static int	service_decode(const DBT *, struct obs_service *);
static int	service_read(struct obs_db *, DB_TXN *, const char *, size_t,
		    u_int32_t, struct obs_service *, int *);
static int	service_write(struct obs_db *, DB_TXN *, const char *, size_t,
		    const struct obs_service *);
static int	prefix_scan(DB *, DB_TXN *, const char *, size_t, u_int32_t,
		    row_fn, void *);
static int	rows_append(const struct obs_span *, void *);
static int	span_newer(const struct obs_span *, const struct obs_span *);
static int	span_older_cmp(const void *, const void *);
static size_t	rows_newest(const struct rows *);
static int	record_new_span(struct record *, DB_TXN *);
static int	record_extend(struct record *, DB_TXN *, size_t);
static int	record_close_previous(struct record *, DB_TXN *, size_t);
static int	record_cert(struct record *, DB_TXN *);
static int	record_service_ok(struct record *, DB_TXN *);
static int	record_prune(struct record *, DB_TXN *);
static int	record_txn(DB_ENV *, DB_TXN *, void *);
static int	der_matches(const uint8_t *, size_t, const struct obs_fp *);
static int	failure_txn(DB_ENV *, DB_TXN *, void *);
static int	read_append(const struct obs_span *, void *);
static int	read_txn(DB_ENV *, DB_TXN *, void *);
static int	service_get_txn(DB_ENV *, DB_TXN *, void *);
static int	neighbour_conflicts(DBC *, const uint8_t *, size_t,
		    const struct obs_span *, u_int32_t, int *);
static int	cert_get_txn(DB_ENV *, DB_TXN *, void *);
static int	walk_span_decode(const DBT *, const DBT *, struct walk_row *);
static int	walk_service_decode(const DBT *, const DBT *,
		    struct walk_row *);
static int	walk_batch_txn(DB_ENV *, DB_TXN *, void *);
static int	walk_next_batch(struct obs_db *, struct walk *);
static int	hex_digit(int);

/* ---- encodings ------------------------------------------------------- */





static void
dbt_set(DBT *d, const void *data, size_t size)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)data;
	d->size = (u_int32_t)size;
}

/* The id is a key prefix ended by 0x00: it must be 1..255 bytes, no NUL. */
static int
svc_ok(const char *svc, size_t len)
{
	return (svc != NULL && len > 0 && len <= SVCID_MAX &&
	    memchr(svc, '\0', len) == NULL);
}

static int
time_ok(int64_t t)
{
	return (t >= 0 && t <= OBS_TIME_MAX);
}

static int
is_zero(const uint8_t *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return (0);
	return (1);
}

/*
 * A read-only handle (the signer's) would fail at the first put with
 * EACCES, but only after Berkeley DB complained about dirtying a page of
 * a read-only file for DB_RMW; refuse before starting instead.
 */
static int
is_readonly(const struct obs_db *o)
{
	u_int32_t	flags = 0;

	return (o->spans->get_open_flags(o->spans, &flags) != 0 ||
	    (flags & DB_RDONLY) != 0);
}

/* svc 0x00 md5 be64(start); returns the key length. */
static size_t
span_key(uint8_t *k, const char *svc, size_t len, const uint8_t *md5,
    int64_t start)
{
	memcpy(k, svc, len);
	k[len] = 0x00;
	memcpy(k + len + 1, md5, MD5_LEN);
	be64enc(k + len + 1 + MD5_LEN, (uint64_t)start);
	return (len + 1 + SPAN_TAIL_LEN);
}

/*
 * Decode a row whose key starts with a service prefix of plen bytes
 * ("svc" 0x00).  -1 when it is corrupt.
 */
static int
span_decode(const DBT *key, const DBT *val, size_t plen,
    struct obs_span *sp)
{
	const uint8_t	*k = key->data, *v = val->data;

	if (key->size != plen + SPAN_TAIL_LEN || val->size != SPAN_VAL_LEN)
		return (-1);
	memcpy(sp->md5, k + plen, MD5_LEN);
	sp->start = (int64_t)be64dec(k + plen + MD5_LEN);
	sp->end = (int64_t)be64dec(v);
	memcpy(sp->sha256, v + 8, SHA256_LEN);
	if (!time_ok(sp->start) || !time_ok(sp->end) || sp->start > sp->end)
		return (-1);
	return (0);
}

static int
span_put(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_span *sp, u_int32_t flags)
{
	uint8_t	kbuf[SPAN_KEY_MAX], vbuf[SPAN_VAL_LEN];
	DBT	key, val;

	dbt_set(&key, kbuf, span_key(kbuf, svc, len, sp->md5, sp->start));
	be64enc(vbuf, (uint64_t)sp->end);
	memcpy(vbuf + 8, sp->sha256, SHA256_LEN);
	dbt_set(&val, vbuf, sizeof(vbuf));
	return (o->spans->put(o->spans, txn, &key, &val, flags));
}

static int
span_del(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_span *sp)
{
	uint8_t	kbuf[SPAN_KEY_MAX];
	DBT	key;

	dbt_set(&key, kbuf, span_key(kbuf, svc, len, sp->md5, sp->start));
	return (o->spans->del(o->spans, txn, &key, 0));
}

static void
service_encode(uint8_t *v, const struct obs_service *st)
{
	be64enc(v, (uint64_t)st->first_seen);
	be64enc(v + 8, (uint64_t)st->last_probe);
	be64enc(v + 16, (uint64_t)st->last_ok);
	be32enc(v + 24, st->fails);
	be32enc(v + 28, st->last_result);
}

static int
service_decode(const DBT *val, struct obs_service *st)
{
	const uint8_t	*v = val->data;

	if (val->size != SERVICE_VAL_LEN)
		return (-1);
	st->first_seen = (int64_t)be64dec(v);
	st->last_probe = (int64_t)be64dec(v + 8);
	st->last_ok = (int64_t)be64dec(v + 16);
	st->fails = be32dec(v + 24);
	st->last_result = be32dec(v + 28);
	if (!time_ok(st->first_seen) || !time_ok(st->last_probe) ||
	    !time_ok(st->last_ok))
		return (-1);
	return (0);
}

/*
 * The services.db row of svc into *st (zeroed when absent or corrupt;
 * *found says which).  0 or a Berkeley DB code.
 */
static int
service_read(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    u_int32_t flags, struct obs_service *st, int *found)
{
	DBT	key, val;
	int	r;

	memset(st, 0, sizeof(*st));
	*found = 0;
	dbt_set(&key, svc, len);
	dbt_set(&val, NULL, 0);
	r = o->services->get(o->services, txn, &key, &val, flags);
	if (r == DB_NOTFOUND)
		return (0);
	if (r != 0)
		return (r);
	if (service_decode(&val, st) == -1) {
		log_warnx("obs: %.*s: corrupt services.db row (%u bytes) "
		    "ignored", (int)len, svc, val.size);
		memset(st, 0, sizeof(*st));
		return (0);
	}
	*found = 1;
	return (0);
}

static int
service_write(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_service *st)
{
	uint8_t	vbuf[SERVICE_VAL_LEN];
	DBT	key, val;

	service_encode(vbuf, st);
	dbt_set(&key, svc, len);
	dbt_set(&val, vbuf, sizeof(vbuf));
	return (o->services->put(o->services, txn, &key, &val, 0));
}

/*
 * Call fn for every valid span of svc, in key order (keys ascending,
 * spans by start).  flags: 0 or DB_RMW.  fn returns 0 to go on, 1 to
 * stop.  0 or a Berkeley DB code.
 */
static int
prefix_scan(DB *db, DB_TXN *txn, const char *svc, size_t len,
    u_int32_t flags, row_fn fn, void *arg)
{
	uint8_t		prefix[SVCID_MAX + 1];
	struct obs_span	sp;
	DBC		*c;
	DBT		key, val;
	size_t		plen = len + 1;
	int		r, t;

	memcpy(prefix, svc, len);
	prefix[len] = 0x00;
	if ((r = db->cursor(db, txn, &c, 0)) != 0)
		return (r);
	dbt_set(&key, prefix, plen);
	dbt_set(&val, NULL, 0);
	r = c->get(c, &key, &val, DB_SET_RANGE | flags);
	while (r == 0 && key.size >= plen &&
	    memcmp(key.data, prefix, plen) == 0) {
		if (span_decode(&key, &val, plen, &sp) == -1)
			log_warnx("obs: %.*s: corrupt span row skipped (key "
			    "%u bytes, value %u bytes)", (int)len, svc,
			    key.size, val.size);
		else if (fn(&sp, arg) != 0)
			break;
		r = c->get(c, &key, &val, DB_NEXT | flags);
	}
	if (r == DB_NOTFOUND)
		r = 0;
	t = c->close(c);
	return (r != 0 ? r : t);
}

static int
rows_append(const struct obs_span *sp, void *arg)
{
	struct rows	*rows = arg;

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
	const struct obs_span	*a = pa, *b = pb;

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
	size_t	i, best = rows->n;

	for (i = 0; i < rows->n; i++)
		if (best == rows->n || span_newer(&rows->v[i], &rows->v[best]))
			best = i;
	return (best);
}

/* ---- obs_record -------------------------------------------------------- */

/*
 * A new span (now, now) for the observed key, unless a span of that key
 * already covers now (a clock that went back, or two sightings within the
 * same second around another key's): the reference would hit its unique
 * constraints there and log; here nothing needs to change.
 */
static int
record_new_span(struct record *rc, DB_TXN *txn)
{
	struct obs_span	sp;
	size_t		i;
	int		r;

	for (i = 0; i < rc->rows.n; i++) {
		sp = rc->rows.v[i];
		if (memcmp(sp.md5, rc->fp->md5, MD5_LEN) == 0 &&
		    sp.start <= rc->now && rc->now <= sp.end) {
			log_debug("obs: %.*s: key already seen at %lld, no new "
			    "span", (int)rc->len, rc->svc,
			    (long long)rc->now);
			return (0);
		}
	}
	memcpy(sp.md5, rc->fp->md5, MD5_LEN);
	memcpy(sp.sha256, rc->fp->sha256, SHA256_LEN);
	sp.start = sp.end = rc->now;
	if ((r = span_put(rc->o, txn, rc->svc, rc->len, &sp,
	    DB_NOOVERWRITE)) != 0)
		return (r);
	rows_append(&sp, &rc->rows);
	return (0);
}

/* Same key within 48 h: end = now, only forward. */
static int
record_extend(struct record *rc, DB_TXN *txn, size_t i)
{
	struct obs_span	*sp = &rc->rows.v[i];
	int		 learn_sha256, changed = 0;

	if (rc->now > sp->end) {
		sp->end = rc->now;
		changed = 1;
	} else
		log_debug("obs: %.*s: end %lld not moved back to %lld",
		    (int)rc->len, rc->svc, (long long)sp->end,
		    (long long)rc->now);
	learn_sha256 = is_zero(sp->sha256, SHA256_LEN) &&
	    !is_zero(rc->fp->sha256, SHA256_LEN);
	if (learn_sha256) {
		memcpy(sp->sha256, rc->fp->sha256, SHA256_LEN);
		changed = 1;
	} else if (!is_zero(rc->fp->sha256, SHA256_LEN) &&
	    memcmp(sp->sha256, rc->fp->sha256, SHA256_LEN) != 0)
		log_warnx("obs: %.*s: same MD5 as the stored key but another "
		    "SHA-256 (an MD5 collision?)", (int)rc->len, rc->svc);
	if (!changed)
		return (0);
	return (span_put(rc->o, txn, rc->svc, rc->len, sp, 0));
}

/* Another key now: the previous newest span ends at now - 1 (forward). */
static int
record_close_previous(struct record *rc, DB_TXN *txn, size_t i)
{
	struct obs_span	*sp = &rc->rows.v[i];

	if (rc->now - 1 <= sp->end) {
		log_debug("obs: %.*s: previous key's end %lld not moved back "
		    "to %lld", (int)rc->len, rc->svc, (long long)sp->end,
		    (long long)(rc->now - 1));
		return (0);
	}
	sp->end = rc->now - 1;
	return (span_put(rc->o, txn, rc->svc, rc->len, sp, 0));
}

/* The leaf DER, once per certificate (certs.db is keyed by its SHA-256). */
static int
record_cert(struct record *rc, DB_TXN *txn)
{
	DBT	key, val;
	int	r;

	if (rc->der == NULL)
		return (0);
	dbt_set(&key, rc->fp->sha256, SHA256_LEN);
	dbt_set(&val, rc->der, rc->derlen);
	r = rc->o->certs->put(rc->o->certs, txn, &key, &val, DB_NOOVERWRITE);
	return (r == DB_KEYEXIST ? 0 : r);
}

static int
record_service_ok(struct record *rc, DB_TXN *txn)
{
	struct obs_service	st;
	int			found, r;

	if ((r = service_read(rc->o, txn, rc->svc, rc->len, DB_RMW, &st,
	    &found)) != 0)
		return (r);
	if (!found)
		st.first_seen = rc->now;
	st.last_probe = rc->now;
	st.last_ok = rc->now;
	st.fails = 0;
	st.last_result = PROBE_OK;
	return (service_write(rc->o, txn, rc->svc, rc->len, &st));
}

/* Keep the OBS_MAX_SPANS newest spans; the oldest (by end) go. */
static int
record_prune(struct record *rc, DB_TXN *txn)
{
	size_t	i, excess;
	int	r;

	if (rc->rows.n <= OBS_MAX_SPANS)
		return (0);
	excess = rc->rows.n - OBS_MAX_SPANS;
	qsort(rc->rows.v, rc->rows.n, sizeof(*rc->rows.v), span_older_cmp);
	for (i = 0; i < excess; i++)
		if ((r = span_del(rc->o, txn, rc->svc, rc->len,
		    &rc->rows.v[i])) != 0)
			return (r);
	log_debug("obs: %.*s: pruned %zu old spans", (int)rc->len, rc->svc,
	    excess);
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
	struct record	*rc = arg;
	size_t		 newest;
	int		 r;

	(void)env;
	rc->rows.n = 0;
	if ((r = prefix_scan(rc->o->spans, txn, rc->svc, rc->len, DB_RMW,
	    rows_append, &rc->rows)) != 0)
		return (r);
	newest = rows_newest(&rc->rows);
	if (newest == rc->rows.n) {
		rc->outcome = OBS_FIRST;
		r = record_new_span(rc, txn);
	} else if (memcmp(rc->rows.v[newest].md5, rc->fp->md5,
	    MD5_LEN) == 0) {
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
		if (r == 0 && rc->now - rc->rows.v[newest].end <=
		    OBS_UPDATE_LIMIT)
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
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned	mdlen;

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
    const struct obs_fp *fp, const uint8_t *der, size_t derlen,
    int64_t now, enum obs_outcome *out)
{
	struct record	rc;
	int		r;

	if (!svc_ok(svc, len) || fp == NULL || !time_ok(now)) {
		log_warnx("obs: record: bad service id, key or time");
		return (-1);
	}
	if (is_readonly(o)) {
		log_warnx("obs: record %.*s: read-only handle", (int)len, svc);
		return (-1);
	}
	if (der != NULL && derlen > OBS_DER_MAX) {
		log_warnx("obs: %.*s: leaf certificate of %zu bytes not stored "
		    "(limit %d)", (int)len, svc, derlen, OBS_DER_MAX);
		der = NULL;
	}
	if (der != NULL && !der_matches(der, derlen, fp)) {
		log_warnx("obs: %.*s: the DER does not hash to the given "
		    "fingerprints", (int)len, svc);
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
		log_warnx("obs: record %.*s: %s", (int)len, svc,
		    db_strerror(r));
		return (-1);
	}
	if (out != NULL)
		*out = rc.outcome;
	return (0);
}

/* ---- obs_record_failure ---------------------------------------------- */

static int
failure_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct failure		*f = arg;
	struct obs_service	 st;
	int			 found, r;

	(void)env;
	if ((r = service_read(f->o, txn, f->svc, f->len, DB_RMW, &st,
	    &found)) != 0)
		return (r);
	if (!found)
		st.first_seen = f->now;
	if (st.fails < UINT32_MAX)
		st.fails++;
	st.last_probe = f->now;
	st.last_result = f->result;
	return (service_write(f->o, txn, f->svc, f->len, &st));
}

int
obs_record_failure(struct obs_db *o, const char *svc, size_t len,
    uint32_t result, int64_t now)
{
	struct failure	f = { o, svc, len, result, now };
	int		r;

	if (!svc_ok(svc, len) || !time_ok(now)) {
		log_warnx("obs: record failure: bad service id or time");
		return (-1);
	}
	if (is_readonly(o)) {
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

/* ---- reading ---------------------------------------------------------- */

static int
read_append(const struct obs_span *sp, void *arg)
{
	struct read_ctx	*rd = arg;

	rd->spans[rd->n++] = *sp;
	return (rd->n == rd->max);
}

static int
read_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct read_ctx	*rd = arg;

	(void)env;
	rd->n = 0;
	return (prefix_scan(rd->o->spans, txn, rd->svc, rd->len, 0,
	    read_append, rd));
}

int
obs_read(struct obs_db *o, const char *svc, size_t len,
    struct obs_span *spans, size_t max, size_t *n)
{
	struct read_ctx	rd = { o, svc, len, spans, max, 0 };
	int		r;

	*n = 0;
	if (!svc_ok(svc, len)) {
		log_warnx("obs: read: bad service id");
		return (-1);
	}
	if (max == 0)
		return (0);
	if ((r = db_txn_run(o->env, read_txn, &rd, NULL)) != 0) {
		log_warnx("obs: read %.*s: %s", (int)len, svc,
		    db_strerror(r));
		return (-1);
	}
	*n = rd.n;
	return (0);
}

static int
service_get_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct service_ctx	*sc = arg;

	(void)env;
	return (service_read(sc->o, txn, sc->svc, sc->len, 0, sc->st,
	    &sc->found));
}

int
obs_service_get(struct obs_db *o, const char *svc, size_t len,
    struct obs_service *st)
{
	struct service_ctx	sc = { o, svc, len, st, 0 };
	int			r;

	memset(st, 0, sizeof(*st));
	if (!svc_ok(svc, len)) {
		log_warnx("obs: service: bad service id");
		return (-1);
	}
	if ((r = db_txn_run(o->env, service_get_txn, &sc, NULL)) != 0) {
		log_warnx("obs: service %.*s: %s", (int)len, svc,
		    db_strerror(r));
		return (-1);
	}
	return (sc.found ? 0 : 1);
}

/* ---- import ------------------------------------------------------------ */

/*
 * The cursor sits on a row (just read into key/val by the caller) that
 * may be a neighbour of sp: the same service and key, and its span
 * shares a second with sp.  Sets *conflict to 1 (overlap) or 2 (the very
 * same span); leaves it alone otherwise.  0 or a Berkeley DB code.
 */
static int
neighbour_conflicts(DBC *c, const uint8_t *k, size_t klen,
    const struct obs_span *sp, u_int32_t how, int *conflict)
{
	struct obs_span	nb;
	DBT		key, val;
	size_t		plen = klen - SPAN_TAIL_LEN;
	int		r;

	dbt_set(&key, NULL, 0);
	dbt_set(&val, NULL, 0);
	if ((r = c->get(c, &key, &val, how | DB_RMW)) != 0)
		return (r == DB_NOTFOUND ? 0 : r);
	/* another service or another key: no neighbour */
	if (key.size < plen + MD5_LEN ||
	    memcmp(key.data, k, plen + MD5_LEN) != 0)
		return (0);
	if (key.size == klen && memcmp(key.data, k, klen) == 0) {
		/* the same (service, key, start) */
		*conflict = span_decode(&key, &val, plen, &nb) == 0 &&
		    nb.end == sp->end ? 2 : 1;
		return (0);
	}
	if (span_decode(&key, &val, plen, &nb) == -1)
		return (0);	/* corrupt: obs_read skips it too */
	if (nb.start <= sp->end && sp->start <= nb.end)
		*conflict = 1;
	return (0);
}

int
obs_insert_span(struct obs_db *o, DB_TXN *txn, const char *svc,
    size_t len, const struct obs_span *sp)
{
	uint8_t	k[SPAN_KEY_MAX];
	size_t	klen;
	DBC	*c;
	DBT	key, val;
	int	conflict = 0, r, t;

	if (!svc_ok(svc, len) || !time_ok(sp->start) || !time_ok(sp->end) ||
	    sp->start > sp->end) {
		log_debug("obs: insert: bad service id or span");
		return (EINVAL);
	}
	if (is_readonly(o))
		return (EACCES);
	klen = span_key(k, svc, len, sp->md5, sp->start);
	if ((r = o->spans->cursor(o->spans, txn, &c, 0)) != 0)
		return (r);
	/*
	 * Spans of one key never overlap, so only the two rows around
	 * sp's start can: the first at or after it, and the one before.
	 */
	dbt_set(&key, k, klen);
	dbt_set(&val, NULL, 0);
	r = c->get(c, &key, &val, DB_SET_RANGE | DB_RMW);
	if (r == 0) {
		if ((r = neighbour_conflicts(c, k, klen, sp, DB_CURRENT,
		    &conflict)) == 0 && conflict == 0)
			r = neighbour_conflicts(c, k, klen, sp, DB_PREV,
			    &conflict);
	} else if (r == DB_NOTFOUND)
		r = neighbour_conflicts(c, k, klen, sp, DB_LAST, &conflict);
	t = c->close(c);
	if (r == 0)
		r = t;
	if (r != 0)
		return (r);
	if (conflict == 2)
		return (DB_KEYEXIST);
	if (conflict == 1) {
		log_debug("obs: insert %.*s: overlaps a stored span of the "
		    "same key", (int)len, svc);
		return (EEXIST);
	}
	return (span_put(o, txn, svc, len, sp, DB_NOOVERWRITE));
}

int
obs_register_service(struct obs_db *o, DB_TXN *txn, const char *svc,
    size_t len, int64_t first_seen)
{
	struct obs_service	st;
	int			found, r;

	if (!svc_ok(svc, len) || !time_ok(first_seen)) {
		log_debug("obs: register: bad service id or time");
		return (EINVAL);
	}
	if (is_readonly(o))
		return (EACCES);
	if ((r = service_read(o, txn, svc, len, DB_RMW, &st, &found)) != 0)
		return (r);
	if (found && st.first_seen != 0 && st.first_seen <= first_seen)
		return (0);
	st.first_seen = first_seen;
	return (service_write(o, txn, svc, len, &st));
}

static int
cert_get_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct cert_ctx	*cc = arg;
	DBT		 key, val;
	int		 r;

	(void)env;
	cc->found = cc->too_long = 0;
	dbt_set(&key, cc->sha256, SHA256_LEN);
	dbt_set(&val, NULL, 0);
	r = cc->o->certs->get(cc->o->certs, txn, &key, &val, 0);
	if (r == DB_NOTFOUND)
		return (0);
	if (r != 0)
		return (r);
	if (val.size > cc->max) {
		cc->too_long = 1;
		return (0);
	}
	memcpy(cc->der, val.data, val.size);
	cc->len = val.size;
	cc->found = 1;
	return (0);
}

int
obs_cert_get(struct obs_db *o, const uint8_t *sha256, uint8_t *der,
    size_t max, size_t *len)
{
	struct cert_ctx	cc;
	int		r;

	memset(&cc, 0, sizeof(cc));
	cc.o = o;
	cc.sha256 = sha256;
	cc.der = der;
	cc.max = max;
	*len = 0;
	if ((r = db_txn_run(o->env, cert_get_txn, &cc, NULL)) != 0) {
		log_warnx("obs: certificate: %s", db_strerror(r));
		return (-1);
	}
	if (cc.too_long) {
		log_warnx("obs: stored certificate longer than %zu bytes", max);
		return (-1);
	}
	if (!cc.found)
		return (1);
	*len = cc.len;
	return (0);
}

/* ---- walks ------------------------------------------------------------- */

static int
walk_span_decode(const DBT *key, const DBT *val, struct walk_row *row)
{
	const uint8_t	*nul;
	size_t		 len;

	if ((nul = memchr(key->data, 0x00, key->size)) == NULL)
		return (-1);
	len = (size_t)(nul - (const uint8_t *)key->data);
	if (len == 0 || len > SVCID_MAX)
		return (-1);
	if (span_decode(key, val, len + 1, &row->u.sp) == -1)
		return (-1);
	memcpy(row->svc, key->data, len);
	row->svc[len] = '\0';
	row->len = len;
	return (0);
}

static int
walk_service_decode(const DBT *key, const DBT *val, struct walk_row *row)
{
	if (!svc_ok(key->data, key->size) ||
	    service_decode(val, &row->u.st) == -1)
		return (-1);
	memcpy(row->svc, key->data, key->size);
	row->svc[key->size] = '\0';
	row->len = key->size;
	return (0);
}

/* One batch: rows from the resume key on, never splitting a service. */
static int
walk_batch_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct walk	*w = arg;
	struct walk_row	*row, *last;
	DBC		*c;
	DBT		 key, val;
	int		 r, t;

	(void)env;
	w->n = 0;
	if ((r = w->db->cursor(w->db, txn, &c, 0)) != 0)
		return (r);
	dbt_set(&key, w->resume, w->resume_len);
	dbt_set(&val, NULL, 0);
	r = c->get(c, &key, &val, w->started ? DB_SET_RANGE : DB_FIRST);
	for (; r == 0; r = c->get(c, &key, &val, DB_NEXT)) {
		row = &w->rows[w->n];
		if (w->decode(&key, &val, row) == -1) {
			log_warnx("obs: corrupt row skipped (key %u bytes, "
			    "value %u bytes)", key.size, val.size);
			continue;
		}
		last = w->n > 0 ? &w->rows[w->n - 1] : NULL;
		if ((w->n >= WALK_BATCH && (last->len != row->len ||
		    memcmp(last->svc, row->svc, row->len) != 0)) ||
		    w->n == WALK_BATCH_MAX) {
			/* a valid key, so it fits: the next batch's first */
			memcpy(w->next, key.data, key.size);
			w->next_len = key.size;
			break;
		}
		w->n++;
	}
	w->done = (r == DB_NOTFOUND);
	if (r == DB_NOTFOUND)
		r = 0;
	t = c->close(c);
	return (r != 0 ? r : t);
}

static int
walk_next_batch(struct obs_db *o, struct walk *w)
{
	int	r;

	if ((r = db_txn_run(o->env, walk_batch_txn, w, NULL)) != 0) {
		log_warnx("obs: walk: %s", db_strerror(r));
		return (-1);
	}
	/* only now: a retried batch must start where the failed one did */
	memcpy(w->resume, w->next, w->next_len);
	w->resume_len = w->next_len;
	w->started = 1;
	return (0);
}

int
obs_walk_spans(struct obs_db *o, obs_span_fn fn, void *arg)
{
	struct walk	w;
	size_t		i;
	int		r = 0;

	memset(&w, 0, sizeof(w));
	w.db = o->spans;
	w.decode = walk_span_decode;
	w.rows = xreallocarray(NULL, WALK_BATCH_MAX + 1, sizeof(*w.rows));
	while (r == 0 && !w.done) {
		if (walk_next_batch(o, &w) == -1) {
			r = -1;
			break;
		}
		for (i = 0; i < w.n && r == 0; i++)
			r = fn(w.rows[i].svc, w.rows[i].len, &w.rows[i].u.sp,
			    arg);
	}
	free(w.rows);
	return (r);
}

int
obs_walk_services(struct obs_db *o, obs_service_fn fn, void *arg)
{
	struct walk	w;
	size_t		i;
	int		r = 0;

	memset(&w, 0, sizeof(w));
	w.db = o->services;
	w.decode = walk_service_decode;
	w.rows = xreallocarray(NULL, WALK_BATCH_MAX + 1, sizeof(*w.rows));
	while (r == 0 && !w.done) {
		if (walk_next_batch(o, &w) == -1) {
			r = -1;
			break;
		}
		for (i = 0; i < w.n && r == 0; i++)
			r = fn(w.rows[i].svc, w.rows[i].len, &w.rows[i].u.st,
			    arg);
	}
	free(w.rows);
	return (r);
}

/* ---- handles and fingerprints --------------------------------------- */

int
obs_open(struct obs_db *o, DB_ENV *env, int readonly)
{
	memset(o, 0, sizeof(*o));
	o->env = env;
	if (db_table_open(env, &o->spans, DB_TABLE_SPANS, readonly) != 0 ||
	    db_table_open(env, &o->certs, DB_TABLE_CERTS, readonly) != 0 ||
	    db_table_open(env, &o->services, DB_TABLE_SERVICES,
	    readonly) != 0) {
		obs_close(o);
		return (-1);
	}
	return (0);
}

void
obs_close(struct obs_db *o)
{
	DB	**tables[] = { &o->spans, &o->certs, &o->services };
	size_t	  i;
	int	  r;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (*tables[i] == NULL)
			continue;
		if ((r = db_check((*tables[i])->close(*tables[i], 0))) != 0)
			log_warnx("obs: close table: %s", db_strerror(r));
		*tables[i] = NULL;
	}
}

void
obs_hex_colon(const uint8_t *b, size_t n, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[3 * i] = hex[b[i] >> 4];
		out[3 * i + 1] = hex[b[i] & 0x0f];
		out[3 * i + 2] = i + 1 < n ? ':' : '\0';
	}
}

/* Lowercase only: the clients compare fingerprints as strings. */
static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

int
obs_parse_colon_hex(const char *s, size_t len, uint8_t *b, size_t n)
{
	size_t	i;
	int	hi, lo;

	if (n == 0 || len != 3 * n - 1)
		return (-1);
	for (i = 0; i < n; i++) {
		if (i > 0 && s[3 * i - 1] != ':')
			return (-1);
		if ((hi = hex_digit(s[3 * i])) == -1 ||
		    (lo = hex_digit(s[3 * i + 1])) == -1)
			return (-1);
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return (0);
}
