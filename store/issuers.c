/*
 * issuers.c - static-CT issuer certificates in issuers.db (see issuers.h).
 *
 * Runs in ctwatch.  Each call is one transaction through db_txn_run
 * (deadlock retry; DB_RUNRECOVERY ends the process); errors are logged
 * once here.  The row key is the SHA-256 of the value, checked on both
 * write and read, so a damaged row is never handed out.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/log.h"
#include "store/issuers.h"

struct issuers_op {
	DB            *db;
	const uint8_t *fp;
	const uint8_t *der;
	size_t         len;
	struct buf    *out;
	int            found;
};

int
issuers_open(DB_ENV *env, DB **db)
{
	return (db_table_open(env, db, DB_TABLE_ISSUERS, 0));
}

static int
get_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct issuers_op *op = arg;
	uint8_t            h[SHA256_DIGEST_LENGTH];
	DBT                key, val;
	int                r;

	(void)env;
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)op->fp;
	key.size = 32;
	val.flags = DB_DBT_MALLOC;
	op->found = 0;
	r = op->db->get(op->db, txn, &key, &val, 0);
	if (r == DB_NOTFOUND)
		return (0);
	if (r != 0)
		return (r);
	if (val.size > 0 && val.size <= ISSUERS_MAX_DER) {
		SHA256(val.data, val.size, h);
		if (memcmp(h, op->fp, 32) == 0 &&
		    buf_append(op->out, val.data, val.size) == 0)
			op->found = 1;
	}
	free(val.data);
	return (0);
}

int
issuers_get(DB_ENV *env, DB *db, const uint8_t fp[32], struct buf *out)
{
	struct issuers_op op;
	int               r;

	memset(&op, 0, sizeof(op));
	op.db = db;
	op.fp = fp;
	op.out = out;
	if ((r = db_txn_run(env, get_txn, &op, NULL)) != 0) {
		log_warnx("issuers: read: %s", db_strerror(r));
		return (-1);
	}
	return (op.found ? 0 : 1);
}

static int
put_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct issuers_op *op = arg;
	DBT                key, val;
	int                r;

	(void)env;
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)op->fp;
	key.size = 32;
	val.data = (void *)op->der;
	val.size = (u_int32_t)op->len;
	r = op->db->put(op->db, txn, &key, &val, DB_NOOVERWRITE);
	return (r == DB_KEYEXIST ? 0 : r);
}

int
issuers_put(
    DB_ENV *env, DB *db, const uint8_t fp[32], const uint8_t *der, size_t len)
{
	struct issuers_op op;
	uint8_t           h[SHA256_DIGEST_LENGTH];
	int               r;

	if (len == 0 || len > ISSUERS_MAX_DER)
		return (-1);
	SHA256(der, len, h);
	if (memcmp(h, fp, 32) != 0)
		return (-1);
	memset(&op, 0, sizeof(op));
	op.db = db;
	op.fp = fp;
	op.der = der;
	op.len = len;
	if ((r = db_txn_run(env, put_txn, &op, NULL)) != 0) {
		log_warnx("issuers: write: %s", db_strerror(r));
		return (-1);
	}
	return (0);
}
