/*
 * ctpos.c - CT positions in ct.db (see ctpos.h).
 *
 * Runs in ctwatch and notaryctl.  Every operation is one short
 * transaction run by db_txn_run (deadlock retry, DB_RUNRECOVERY ends the
 * process); errors are logged once here and returned as -1.  Rows read
 * back are checked (sizes, a NUL-free URL) and a bad row is skipped with
 * a warning, never trusted.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "store/ctpos.h"

#define CTPOS_PREFIX "pos:"
#define CTPOS_PLEN   4
#define CTPOS_VFIXED 16 /* next + updated */

struct ctpos_op {
	DB                 *db;
	const struct ctpos *v;
	size_t              n;
	const char         *url;
	uint64_t            next;
	int                 found;
	struct ctpos       *out;
	size_t              nout;
	size_t              max;
};

static const char *
url_key(const char *url)
{
	const char *p = strstr(url, "://");

	return (p != NULL ? p + 3 : url);
}

static void
key_make(char *k, size_t klen, const char *url, DBT *key)
{
	(void)xsnprintf(k, klen, "%s%s", CTPOS_PREFIX, url_key(url));
	memset(key, 0, sizeof(*key));
	key->data = k;
	key->size = (u_int32_t)strlen(k);
}

int
ctpos_open(DB_ENV *env, DB **db, int readonly)
{
	return (db_table_open(env, db, DB_TABLE_CT, readonly));
}

static int
get_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct ctpos_op *op = arg;
	char             k[CTPOS_PLEN + CTPOS_URL_MAX];
	DBT              key, val;
	int              r;

	(void)env;
	key_make(k, sizeof(k), op->url, &key);
	memset(&val, 0, sizeof(val));
	op->found = 0;
	r = op->db->get(op->db, txn, &key, &val, 0);
	if (r == DB_NOTFOUND)
		return (0);
	if (r != 0)
		return (r);
	if (val.size < CTPOS_VFIXED)
		return (0); /* malformed row: as if none */
	op->next = be64dec(val.data);
	op->found = 1;
	return (0);
}

int
ctpos_get(DB_ENV *env, DB *db, const char *url, uint64_t *next)
{
	struct ctpos_op op;
	int             r;

	memset(&op, 0, sizeof(op));
	op.db = db;
	op.url = url;
	if ((r = db_txn_run(env, get_txn, &op, NULL)) != 0) {
		log_warnx("ctpos: read %s: %s", url, db_strerror(r));
		return (-1);
	}
	if (!op.found)
		return (1);
	*next = op.next;
	return (0);
}

static int
put_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct ctpos_op *op = arg;
	char             k[CTPOS_PLEN + CTPOS_URL_MAX];
	uint8_t          v[CTPOS_VFIXED + CTPOS_URL_MAX];
	size_t           i, ulen;
	DBT              key, val;
	int              r;

	(void)env;
	for (i = 0; i < op->n; i++) {
		ulen = strnlen(op->v[i].url, CTPOS_URL_MAX - 1);
		key_make(k, sizeof(k), op->v[i].url, &key);
		be64enc(v, op->v[i].next);
		be64enc(v + 8, (uint64_t)op->v[i].updated);
		memcpy(v + CTPOS_VFIXED, op->v[i].url, ulen);
		memset(&val, 0, sizeof(val));
		val.data = v;
		val.size = (u_int32_t)(CTPOS_VFIXED + ulen);
		if ((r = op->db->put(op->db, txn, &key, &val, 0)) != 0)
			return (r);
	}
	return (0);
}

int
ctpos_put(DB_ENV *env, DB *db, const struct ctpos *v, size_t n)
{
	struct ctpos_op op;
	int             r;

	if (n == 0)
		return (0);
	memset(&op, 0, sizeof(op));
	op.db = db;
	op.v = v;
	op.n = n;
	if ((r = db_txn_run(env, put_txn, &op, NULL)) != 0) {
		log_warnx("ctpos: write %zu positions: %s", n, db_strerror(r));
		return (-1);
	}
	return (0);
}

/* One row into op->out; 0, or -1 when it is malformed (skipped). */
static int
row_decode(const DBT *key, const DBT *val, struct ctpos *p)
{
	size_t ulen;

	if (key->size <= CTPOS_PLEN || val->size < CTPOS_VFIXED ||
	    val->size - CTPOS_VFIXED >= CTPOS_URL_MAX)
		return (-1);
	ulen = val->size - CTPOS_VFIXED;
	memcpy(p->url, (const uint8_t *)val->data + CTPOS_VFIXED, ulen);
	p->url[ulen] = '\0';
	if (strlen(p->url) != ulen)
		return (-1);
	p->next = be64dec(val->data);
	p->updated = (int64_t)be64dec((const uint8_t *)val->data + 8);
	return (0);
}

static int
list_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct ctpos_op *op = arg;
	DBC             *c;
	DBT              key, val;
	int              r, r2;

	(void)env;
	op->nout = 0;
	if ((r = op->db->cursor(op->db, txn, &c, 0)) != 0)
		return (r);
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)CTPOS_PREFIX;
	key.size = CTPOS_PLEN;
	for (r = c->get(c, &key, &val, DB_SET_RANGE);
	     r == 0 && op->nout < op->max; r = c->get(c, &key, &val, DB_NEXT)) {
		if (key.size < CTPOS_PLEN ||
		    memcmp(key.data, CTPOS_PREFIX, CTPOS_PLEN) != 0)
			break;
		if (row_decode(&key, &val, &op->out[op->nout]) == -1) {
			log_warnx("ctpos: a malformed position row is "
			          "skipped");
			continue;
		}
		op->nout++;
	}
	r2 = c->close(c);
	if (r == DB_NOTFOUND || r == 0)
		r = 0;
	return (r != 0 ? r : r2);
}

ssize_t
ctpos_list(DB_ENV *env, DB *db, struct ctpos **v, size_t max)
{
	struct ctpos_op op;
	int             r;

	memset(&op, 0, sizeof(op));
	op.db = db;
	op.max = max;
	op.out = xcalloc(max > 0 ? max : 1, sizeof(*op.out));
	if ((r = db_txn_run(env, list_txn, &op, NULL)) != 0) {
		log_warnx("ctpos: list: %s", db_strerror(r));
		free(op.out);
		return (-1);
	}
	*v = op.out;
	return ((ssize_t)op.nout);
}

static int
del_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct ctpos_op *op = arg;
	char             k[CTPOS_PLEN + CTPOS_URL_MAX];
	DBT              key;
	int              r;

	(void)env;
	key_make(k, sizeof(k), op->url, &key);
	r = op->db->del(op->db, txn, &key, 0);
	op->found = r == 0;
	return (r == DB_NOTFOUND ? 0 : r);
}

int
ctpos_del(DB_ENV *env, DB *db, const char *url)
{
	struct ctpos_op op;
	int             r;

	memset(&op, 0, sizeof(op));
	op.db = db;
	op.url = url;
	if ((r = db_txn_run(env, del_txn, &op, NULL)) != 0) {
		log_warnx("ctpos: delete %s: %s", url, db_strerror(r));
		return (-1);
	}
	return (op.found ? 0 : 1);
}
