/*
 * obs_read.c - reading the observation store: the spans of one service,
 * a service's row, a certificate by SHA-256, spans inserted by import,
 * and walks over whole tables in batches of short transactions.  Runs in
 * the signer, scanners and notaryctl; database errors return -1 once
 * logged, DB_RUNRECOVERY ends the process (dbenv.c).
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

static int read_append(const struct obs_span *, void *);
static int read_txn(DB_ENV *, DB_TXN *, void *);
static int service_get_txn(DB_ENV *, DB_TXN *, void *);
static int neighbour_conflicts(
    DBC *, const uint8_t *, size_t, const struct obs_span *, u_int32_t, int *);
static int cert_get_txn(DB_ENV *, DB_TXN *, void *);
static int walk_span_decode(const DBT *, const DBT *, struct walk_row *);
static int walk_service_decode(const DBT *, const DBT *, struct walk_row *);
static int walk_batch_txn(DB_ENV *, DB_TXN *, void *);
static int walk_next_batch(struct obs_db *, struct walk *);

static int
read_append(const struct obs_span *sp, void *arg)
{
	struct read_ctx *rd = arg;

	rd->spans[rd->n++] = *sp;
	return (rd->n == rd->max);
}

static int
read_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct read_ctx *rd = arg;

	(void)env;
	rd->n = 0;
	return (obs_prefix_scan(
	    rd->o->spans, txn, rd->svc, rd->len, 0, read_append, rd));
}

int
obs_read(struct obs_db *o, const char *svc, size_t len, struct obs_span *spans,
    size_t max, size_t *n)
{
	struct read_ctx rd = { o, svc, len, spans, max, 0 };
	int             r;

	*n = 0;
	if (!obs_svc_ok(svc, len)) {
		log_warnx("obs: read: bad service id");
		return (-1);
	}
	if (max == 0)
		return (0);
	if ((r = db_txn_run(o->env, read_txn, &rd, NULL)) != 0) {
		log_warnx("obs: read %.*s: %s", (int)len, svc, db_strerror(r));
		return (-1);
	}
	*n = rd.n;
	return (0);
}

static int
service_get_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct service_ctx *sc = arg;

	(void)env;
	return (obs_service_read(
	    sc->o, txn, sc->svc, sc->len, 0, sc->st, &sc->found));
}

int
obs_service_get(
    struct obs_db *o, const char *svc, size_t len, struct obs_service *st)
{
	struct service_ctx sc = { o, svc, len, st, 0 };
	int                r;

	memset(st, 0, sizeof(*st));
	if (!obs_svc_ok(svc, len)) {
		log_warnx("obs: service: bad service id");
		return (-1);
	}
	if ((r = db_txn_run(o->env, service_get_txn, &sc, NULL)) != 0) {
		log_warnx(
		    "obs: service %.*s: %s", (int)len, svc, db_strerror(r));
		return (-1);
	}
	return (sc.found ? 0 : 1);
}

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
	struct obs_span nb;
	DBT             key, val;
	size_t          plen = klen - SPAN_TAIL_LEN;
	int             r;

	obs_dbt_set(&key, NULL, 0);
	obs_dbt_set(&val, NULL, 0);
	if ((r = c->get(c, &key, &val, how | DB_RMW)) != 0)
		return (r == DB_NOTFOUND ? 0 : r);
	/* another service or another key: no neighbour */
	if (key.size < plen + MD5_LEN ||
	    memcmp(key.data, k, plen + MD5_LEN) != 0)
		return (0);
	if (key.size == klen && memcmp(key.data, k, klen) == 0) {
		/* the same (service, key, start) */
		*conflict = obs_span_decode(&key, &val, plen, &nb) == 0 &&
		        nb.end == sp->end
		    ? 2
		    : 1;
		return (0);
	}
	if (obs_span_decode(&key, &val, plen, &nb) == -1)
		return (0); /* corrupt: obs_read skips it too */
	if (nb.start <= sp->end && sp->start <= nb.end)
		*conflict = 1;
	return (0);
}

int
obs_insert_span(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_span *sp)
{
	uint8_t k[SPAN_KEY_MAX];
	size_t  klen;
	DBC    *c;
	DBT     key, val;
	int     conflict = 0, r, t;

	if (!obs_svc_ok(svc, len) || !obs_time_ok(sp->start) ||
	    !obs_time_ok(sp->end) || sp->start > sp->end) {
		log_debug("obs: insert: bad service id or span");
		return (EINVAL);
	}
	if (obs_is_readonly(o))
		return (EACCES);
	klen = obs_span_key(k, svc, len, sp->md5, sp->start);
	if ((r = o->spans->cursor(o->spans, txn, &c, 0)) != 0)
		return (r);
	/*
	 * Spans of one key never overlap, so only the two rows around
	 * sp's start can: the first at or after it, and the one before.
	 */
	obs_dbt_set(&key, k, klen);
	obs_dbt_set(&val, NULL, 0);
	r = c->get(c, &key, &val, DB_SET_RANGE | DB_RMW);
	if (r == 0) {
		if ((r = neighbour_conflicts(
		         c, k, klen, sp, DB_CURRENT, &conflict)) == 0 &&
		    conflict == 0)
			r = neighbour_conflicts(
			    c, k, klen, sp, DB_PREV, &conflict);
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
		          "same key",
		    (int)len, svc);
		return (EEXIST);
	}
	return (obs_span_put(o, txn, svc, len, sp, DB_NOOVERWRITE));
}

int
obs_register_service(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    int64_t first_seen)
{
	struct obs_service st;
	int                found, r;

	if (!obs_svc_ok(svc, len) || !obs_time_ok(first_seen)) {
		log_debug("obs: register: bad service id or time");
		return (EINVAL);
	}
	if (obs_is_readonly(o))
		return (EACCES);
	if ((r = obs_service_read(o, txn, svc, len, DB_RMW, &st, &found)) != 0)
		return (r);
	if (found && st.first_seen != 0 && st.first_seen <= first_seen)
		return (0);
	st.first_seen = first_seen;
	return (obs_service_write(o, txn, svc, len, &st));
}

static int
cert_get_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct cert_ctx *cc = arg;
	DBT              key, val;
	int              r;

	(void)env;
	cc->found = cc->too_long = 0;
	obs_dbt_set(&key, cc->sha256, SHA256_LEN);
	obs_dbt_set(&val, NULL, 0);
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
obs_cert_get(struct obs_db *o, const uint8_t *sha256, uint8_t *der, size_t max,
    size_t *len)
{
	struct cert_ctx cc;
	int             r;

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

static int
walk_span_decode(const DBT *key, const DBT *val, struct walk_row *row)
{
	const uint8_t *nul;
	size_t         len;

	if ((nul = memchr(key->data, 0x00, key->size)) == NULL)
		return (-1);
	len = (size_t)(nul - (const uint8_t *)key->data);
	if (len == 0 || len > SVCID_MAX)
		return (-1);
	if (obs_span_decode(key, val, len + 1, &row->u.sp) == -1)
		return (-1);
	memcpy(row->svc, key->data, len);
	row->svc[len] = '\0';
	row->len = len;
	return (0);
}

static int
walk_service_decode(const DBT *key, const DBT *val, struct walk_row *row)
{
	if (!obs_svc_ok(key->data, key->size) ||
	    obs_service_decode(val, &row->u.st) == -1)
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
	struct walk     *w = arg;
	struct walk_row *row, *last;
	DBC             *c;
	DBT              key, val;
	int              r, t;

	(void)env;
	w->n = 0;
	if ((r = w->db->cursor(w->db, txn, &c, 0)) != 0)
		return (r);
	obs_dbt_set(&key, w->resume, w->resume_len);
	obs_dbt_set(&val, NULL, 0);
	r = c->get(c, &key, &val, w->started ? DB_SET_RANGE : DB_FIRST);
	for (; r == 0; r = c->get(c, &key, &val, DB_NEXT)) {
		row = &w->rows[w->n];
		if (w->decode(&key, &val, row) == -1) {
			log_warnx("obs: corrupt row skipped (key %u bytes, "
			          "value %u bytes)",
			    key.size, val.size);
			continue;
		}
		last = w->n > 0 ? &w->rows[w->n - 1] : NULL;
		if ((w->n >= WALK_BATCH &&
		        (last->len != row->len ||
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
	int r;

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

/* Calls one of the two callbacks, whichever the walk was given. */
struct walk_call {
	obs_span_fn    span;
	obs_service_fn service;
	void          *arg;
};

/*
 * Walk a whole table batch after batch, calling back for each row outside
 * any transaction.  The callback's nonzero value stops the walk and is
 * returned; -1 on a database error.
 */
static int
walk_table(struct obs_db *o, DB *db,
    int (*decode)(const DBT *, const DBT *, struct walk_row *),
    const struct walk_call *call)
{
	struct walk            w;
	const struct walk_row *row;
	size_t                 i;
	int                    r = 0;

	memset(&w, 0, sizeof(w));
	w.db = db;
	w.decode = decode;
	w.rows = xreallocarray(NULL, WALK_BATCH_MAX + 1, sizeof(*w.rows));
	while (r == 0 && !w.done) {
		if (walk_next_batch(o, &w) == -1) {
			r = -1;
			break;
		}
		for (i = 0; i < w.n && r == 0; i++) {
			row = &w.rows[i];
			r = call->span != NULL
			    ? call->span(
			          row->svc, row->len, &row->u.sp, call->arg)
			    : call->service(
			          row->svc, row->len, &row->u.st, call->arg);
		}
	}
	free(w.rows);
	return (r);
}

int
obs_walk_spans(struct obs_db *o, obs_span_fn fn, void *arg)
{
	struct walk_call call = { fn, NULL, arg };

	return (walk_table(o, o->spans, walk_span_decode, &call));
}

int
obs_walk_services(struct obs_db *o, obs_service_fn fn, void *arg)
{
	struct walk_call call = { NULL, fn, arg };

	return (walk_table(o, o->services, walk_service_decode, &call));
}
