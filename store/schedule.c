/*
 * schedule.c - the probe queue (see schedule.h).  Runs in the scanners, the
 * signer (on-demand requests only) and notaryctl.  Every operation is one
 * Berkeley DB transaction retried on deadlock; errors are logged once
 * here and returned as -1.  Records read back are checked: a malformed
 * entry is deleted rather than trusted.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/schedule.h"
#include "common/util.h"

#define SCHED_LEASE 2 /* kind stored for a claimed job */
#define KEY_MAX     (8 + 256)
#define VAL_MAX     (2 + SCHED_WANT_LEN) /* kind, sni, want */

struct sched_op {
	struct sched_db          *s;
	const char               *id;
	size_t                    len;
	int64_t                   now;
	int64_t                   due;
	int                       result;
	int                       only_if_absent;
	const struct sched_probe *probe; /* request: NULL = CONF */
	/* claim */
	int64_t                   lease;
	struct sched_job         *jobs;
	size_t                    max, max_od, n;
};


static size_t
make_key(uint8_t *k, int64_t due, const char *id, size_t len)
{
	be64enc(k, (uint64_t)due);
	memcpy(k + 8, id, len);
	return (8 + len);
}

static void
dbt_set(DBT *d, void *data, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = data;
	d->size = (u_int32_t)len;
}

int
sched_open(struct sched_db *s, DB_ENV *env)
{
	s->env = env;
	s->sched = s->idx = NULL;
	if (db_table_open(env, &s->sched, DB_TABLE_SCHED, 0) != 0 ||
	    db_table_open(env, &s->idx, DB_TABLE_SCHEDIDX, 0) != 0) {
		sched_close(s);
		return (-1);
	}
	return (0);
}

void
sched_close(struct sched_db *s)
{
	if (s->idx != NULL)
		s->idx->close(s->idx, 0);
	if (s->sched != NULL)
		s->sched->close(s->sched, 0);
	s->idx = s->sched = NULL;
}

/*
 * The service's current entry: 0 found (*due, *kind), DB_NOTFOUND, or an
 * error code.  Locks it for update.
 */
static int
entry_get(struct sched_op *op, DB_TXN *txn, int64_t *due, int *kind)
{
	uint8_t key[KEY_MAX], dueb[8], vb[VAL_MAX];
	DBT     k, v;
	int     r;

	dbt_set(&k, (void *)(uintptr_t)op->id, op->len);
	dbt_set(&v, dueb, sizeof(dueb));
	v.ulen = sizeof(dueb);
	v.flags = DB_DBT_USERMEM;
	if ((r = op->s->idx->get(op->s->idx, txn, &k, &v, DB_RMW)) != 0)
		return (r);
	if (v.size != 8)
		return (DB_NOTFOUND); /* malformed: overwritten below */
	*due = (int64_t)be64dec(dueb);
	dbt_set(&k, key, make_key(key, *due, op->id, op->len));
	dbt_set(&v, vb, 0);
	v.ulen = sizeof(vb);
	v.flags = DB_DBT_USERMEM;
	r = op->s->sched->get(op->s->sched, txn, &k, &v, DB_RMW);
	if (r == DB_NOTFOUND || r == DB_BUFFER_SMALL ||
	    (r == 0 && v.size == 0)) {
		*kind = SCHED_RESCAN; /* index without entry: repair */
		return (DB_KEYEMPTY);
	}
	*kind = vb[0];
	return (r);
}

/* The value of an entry: the kind, then the probe's way when not CONF. */
static size_t
make_val(uint8_t *v, int kind, const struct sched_probe *p)
{
	v[0] = (uint8_t)kind;
	if (p == NULL || p->sni == SCHED_SNI_CONF)
		return (1);
	v[1] = p->sni;
	if (!p->has_want)
		return (2);
	memcpy(v + 2, p->want, SCHED_WANT_LEN);
	return (VAL_MAX);
}

static int
entry_put(struct sched_op *op, DB_TXN *txn, int64_t old_due, int had_old,
    int64_t due, int kind)
{
	uint8_t key[KEY_MAX], dueb[8], vb[VAL_MAX];
	DBT     k, v;
	int     r;

	if (had_old) {
		dbt_set(&k, key, make_key(key, old_due, op->id, op->len));
		r = op->s->sched->del(op->s->sched, txn, &k, 0);
		if (r != 0 && r != DB_NOTFOUND)
			return (r);
	}
	dbt_set(&k, key, make_key(key, due, op->id, op->len));
	dbt_set(&v, vb,
	    make_val(vb, kind, kind == SCHED_ON_DEMAND ? op->probe : NULL));
	if ((r = op->s->sched->put(op->s->sched, txn, &k, &v, 0)) != 0)
		return (r);
	be64enc(dueb, (uint64_t)due);
	dbt_set(&k, (void *)(uintptr_t)op->id, op->len);
	dbt_set(&v, dueb, 8);
	return (op->s->idx->put(op->s->idx, txn, &k, &v, 0));
}

static int
request_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct sched_op *op = arg;
	int64_t          due = 0;
	int              kind = 0, r;

	(void)env;
	r = entry_get(op, txn, &due, &kind);
	if (r == 0 && (kind == SCHED_ON_DEMAND || kind == SCHED_LEASE)) {
		op->result = 1;
		return (0);
	}
	if (r != 0 && r != DB_NOTFOUND && r != DB_KEYEMPTY)
		return (r);
	op->result = 0;
	return (entry_put(
	    op, txn, due, r == 0 || r == DB_KEYEMPTY, 0, SCHED_ON_DEMAND));
}

static int
set_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct sched_op *op = arg;
	int64_t          due = 0;
	int              kind = 0, r;

	(void)env;
	r = entry_get(op, txn, &due, &kind);
	if (r != 0 && r != DB_NOTFOUND && r != DB_KEYEMPTY)
		return (r);
	op->result = 0;
	if (op->only_if_absent && r == 0) {
		op->result = 1;
		return (0);
	}
	return (entry_put(
	    op, txn, due, r == 0 || r == DB_KEYEMPTY, op->due, SCHED_RESCAN));
}

static int
remove_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct sched_op *op = arg;
	uint8_t          key[KEY_MAX];
	int64_t          due = 0;
	int              kind = 0, r;
	DBT              k;

	(void)env;
	r = entry_get(op, txn, &due, &kind);
	if (r == DB_NOTFOUND)
		return (0);
	if (r != 0 && r != DB_KEYEMPTY)
		return (r);
	dbt_set(&k, key, make_key(key, due, op->id, op->len));
	r = op->s->sched->del(op->s->sched, txn, &k, 0);
	if (r != 0 && r != DB_NOTFOUND)
		return (r);
	dbt_set(&k, (void *)(uintptr_t)op->id, op->len);
	r = op->s->idx->del(op->s->idx, txn, &k, 0);
	return (r == DB_NOTFOUND ? 0 : r);
}

static int
run(struct sched_db *s, db_txn_fn fn, struct sched_op *op, const char *what)
{
	int r;

	(void)s;
	if (op->id != NULL && (op->len == 0 || op->len > 255)) {
		log_warnx("sched %s: bad service id length %zu", what, op->len);
		return (-1);
	}
	if ((r = db_txn_run(op->s->env, fn, op, NULL)) != 0) {
		log_warnx("sched %s: %s", what, db_strerror(r));
		return (-1);
	}
	return (0);
}

int
sched_request(struct sched_db *s, const char *id, size_t len, int64_t now)
{
	return (sched_request_probe(s, id, len, now, NULL));
}

int
sched_request_probe(struct sched_db *s, const char *id, size_t len, int64_t now,
    const struct sched_probe *p)
{
	struct sched_op op = {
		.s = s, .id = id, .len = len, .now = now, .probe = p
	};

	if (p != NULL && p->sni > SCHED_SNI_FALLBACK) {
		log_warnx("sched request: bad SNI mode %d", p->sni);
		return (-1);
	}
	if (run(s, request_txn, &op, "request") == -1)
		return (-1);
	return (op.result);
}

int
sched_set(struct sched_db *s, const char *id, size_t len, int64_t due)
{
	struct sched_op op = { .s = s, .id = id, .len = len, .due = due };

	if (due < 1)
		due = op.due = 1; /* 0 is reserved for on-demand */
	return (run(s, set_txn, &op, "set"));
}

int
sched_offer(struct sched_db *s, const char *id, size_t len, int64_t due)
{
	struct sched_op op = {
		.s = s, .id = id, .len = len, .due = due, .only_if_absent = 1
	};

	if (due < 1)
		op.due = 1;
	if (run(s, set_txn, &op, "offer") == -1)
		return (-1);
	return (op.result);
}

int
sched_remove(struct sched_db *s, const char *id, size_t len)
{
	struct sched_op op = { .s = s, .id = id, .len = len };

	return (run(s, remove_txn, &op, "remove"));
}

/* Is the record at the cursor a well-formed entry?  Fills job. */
static int
decode_entry(const DBT *k, const DBT *v, int64_t *due, struct sched_job *j)
{
	const uint8_t *vb = v->data;

	if (k->size <= 8 || k->size > KEY_MAX - 1 ||
	    (v->size != 1 && v->size != 2 && v->size != VAL_MAX) ||
	    (v->size > 1 &&
	        (vb[1] == SCHED_SNI_CONF || vb[1] > SCHED_SNI_FALLBACK)))
		return (-1);
	*due = (int64_t)be64dec(k->data);
	j->len = k->size - 8;
	memcpy(j->id, (const uint8_t *)k->data + 8, j->len);
	j->id[j->len] = '\0';
	if (memchr(j->id, '\0', j->len) != NULL)
		return (-1);
	j->kind = vb[0] == SCHED_ON_DEMAND ? SCHED_ON_DEMAND : SCHED_RESCAN;
	memset(&j->probe, 0, sizeof(j->probe));
	if (v->size > 1)
		j->probe.sni = vb[1];
	if (v->size == VAL_MAX) {
		j->probe.has_want = 1;
		memcpy(j->probe.want, vb + 2, SCHED_WANT_LEN);
	}
	return (0);
}

static int
claim_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct sched_op  *op = arg;
	struct sched_job *j;
	uint8_t           kbuf[KEY_MAX], vbuf[VAL_MAX];
	size_t            od = 0, i;
	int64_t           due;
	DBC              *cur;
	DBT               k, v;
	int               r, r2;

	(void)env;
	op->n = 0;
	if ((r = op->s->sched->cursor(op->s->sched, txn, &cur, 0)) != 0)
		return (r);
	dbt_set(&k, kbuf, 0);
	k.ulen = sizeof(kbuf);
	k.flags = DB_DBT_USERMEM;
	dbt_set(&v, vbuf, 0);
	v.ulen = sizeof(vbuf);
	v.flags = DB_DBT_USERMEM;
	while (op->n < op->max &&
	    (r = cur->get(cur, &k, &v, DB_NEXT | DB_RMW)) == 0) {
		j = &op->jobs[op->n];
		if (decode_entry(&k, &v, &due, j) == -1) {
			log_warnx("sched: dropping a malformed entry");
			if ((r = cur->del(cur, 0)) != 0)
				break;
			continue;
		}
		if (due > op->now)
			break; /* sorted: nothing else is due */
		if (j->kind == SCHED_ON_DEMAND && od == op->max_od)
			continue;
		if (j->kind == SCHED_ON_DEMAND)
			od++;
		if ((r = cur->del(cur, 0)) != 0)
			break;
		op->n++;
	}
	if ((r2 = cur->close(cur)) != 0 && (r == 0 || r == DB_NOTFOUND))
		r = r2;
	if (r != 0 && r != DB_NOTFOUND)
		return (r);
	for (i = 0; i < op->n; i++) {
		struct sched_op one = *op;

		one.id = op->jobs[i].id;
		one.len = op->jobs[i].len;
		if ((r = entry_put(&one, txn, 0, 0, op->now + op->lease,
		         SCHED_LEASE)) != 0)
			return (r);
	}
	return (0);
}

int
sched_claim(struct sched_db *s, int64_t now, int64_t lease,
    struct sched_job *jobs, size_t max, size_t max_on_demand, size_t *n)
{
	struct sched_op op = { .s = s,
		.now = now,
		.lease = lease,
		.jobs = jobs,
		.max = max,
		.max_od = max_on_demand };

	*n = 0;
	if (run(s, claim_txn, &op, "claim") == -1)
		return (-1);
	*n = op.n;
	return (0);
}

int
sched_get(struct sched_db *s, const char *id, size_t len, int64_t *due)
{
	uint8_t dueb[8];
	DBT     k, v;
	int     r;

	dbt_set(&k, (void *)(uintptr_t)id, len);
	dbt_set(&v, dueb, 0);
	v.ulen = sizeof(dueb);
	v.flags = DB_DBT_USERMEM;
	r = db_check(s->idx->get(s->idx, NULL, &k, &v, 0));
	if (r == DB_NOTFOUND)
		return (1);
	if (r != 0 || v.size != 8)
		return (-1);
	*due = (int64_t)be64dec(dueb);
	return (0);
}

int
sched_count(struct sched_db *s, size_t *n)
{
	DB_BTREE_STAT *st;
	int            r;

	if ((r = db_check(s->sched->stat(s->sched, NULL, &st, 0))) != 0)
		return (-1);
	*n = st->bt_nkeys;
	free(st);
	return (0);
}
