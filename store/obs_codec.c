/*
 * obs_codec.c - the bytes of the observation tables: span keys
 * (svc, 0, md5, be64 start) and values (be64 end, sha256), service rows,
 * prefix scans, and colon-hex fingerprints.  Runs in every database user;
 * a row that does not decode is reported as -1 and skipped by callers.
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

static void service_encode(uint8_t *, const struct obs_service *);
static int  hex_digit(int);

void
obs_dbt_set(DBT *d, const void *data, size_t size)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)data;
	d->size = (u_int32_t)size;
}

/* The id is a key prefix ended by 0x00: it must be 1..255 bytes, no NUL. */
int
obs_svc_ok(const char *svc, size_t len)
{
	return (svc != NULL && len > 0 && len <= SVCID_MAX &&
	    memchr(svc, '\0', len) == NULL);
}

int
obs_time_ok(int64_t t)
{
	return (t >= 0 && t <= OBS_TIME_MAX);
}

int
obs_is_zero(const uint8_t *b, size_t n)
{
	size_t i;

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
int
obs_is_readonly(const struct obs_db *o)
{
	u_int32_t flags = 0;

	return (o->spans->get_open_flags(o->spans, &flags) != 0 ||
	    (flags & DB_RDONLY) != 0);
}

/* svc 0x00 md5 be64(start); returns the key length. */
size_t
obs_span_key(
    uint8_t *k, const char *svc, size_t len, const uint8_t *md5, int64_t start)
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
int
obs_span_decode(
    const DBT *key, const DBT *val, size_t plen, struct obs_span *sp)
{
	const uint8_t *k = key->data, *v = val->data;

	if (key->size != plen + SPAN_TAIL_LEN ||
	    (val->size != SPAN_VAL_LEN && val->size != SPAN_VAL_OLD))
		return (-1);
	memcpy(sp->md5, k + plen, MD5_LEN);
	sp->start = (int64_t)be64dec(k + plen + MD5_LEN);
	sp->end = (int64_t)be64dec(v);
	memcpy(sp->sha256, v + 8, SHA256_LEN);
	sp->seen = val->size == SPAN_VAL_LEN
	    ? (int64_t)be64dec(v + 8 + SHA256_LEN)
	    : sp->end;
	if (!obs_time_ok(sp->start) || !obs_time_ok(sp->end) ||
	    sp->start > sp->end || sp->seen < sp->start || sp->seen > sp->end)
		return (-1);
	return (0);
}

int
obs_span_put(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_span *sp, u_int32_t flags)
{
	uint8_t kbuf[SPAN_KEY_MAX], vbuf[SPAN_VAL_LEN];
	DBT     key, val;
	int64_t seen = sp->seen;

	if (seen < sp->start || seen > sp->end) /* unset: imported, or old */
		seen = sp->end;
	obs_dbt_set(
	    &key, kbuf, obs_span_key(kbuf, svc, len, sp->md5, sp->start));
	be64enc(vbuf, (uint64_t)sp->end);
	memcpy(vbuf + 8, sp->sha256, SHA256_LEN);
	be64enc(vbuf + 8 + SHA256_LEN, (uint64_t)seen);
	obs_dbt_set(&val, vbuf, sizeof(vbuf));
	return (o->spans->put(o->spans, txn, &key, &val, flags));
}

int
obs_span_del(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_span *sp)
{
	uint8_t kbuf[SPAN_KEY_MAX];
	DBT     key;

	obs_dbt_set(
	    &key, kbuf, obs_span_key(kbuf, svc, len, sp->md5, sp->start));
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

int
obs_service_decode(const DBT *val, struct obs_service *st)
{
	const uint8_t *v = val->data;

	if (val->size != SERVICE_VAL_LEN)
		return (-1);
	st->first_seen = (int64_t)be64dec(v);
	st->last_probe = (int64_t)be64dec(v + 8);
	st->last_ok = (int64_t)be64dec(v + 16);
	st->fails = be32dec(v + 24);
	st->last_result = be32dec(v + 28);
	if (!obs_time_ok(st->first_seen) || !obs_time_ok(st->last_probe) ||
	    !obs_time_ok(st->last_ok))
		return (-1);
	return (0);
}

/*
 * The services.db row of svc into *st (zeroed when absent or corrupt;
 * *found says which).  0 or a Berkeley DB code.
 */
int
obs_service_read(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    u_int32_t flags, struct obs_service *st, int *found)
{
	DBT key, val;
	int r;

	memset(st, 0, sizeof(*st));
	*found = 0;
	obs_dbt_set(&key, svc, len);
	obs_dbt_set(&val, NULL, 0);
	r = o->services->get(o->services, txn, &key, &val, flags);
	if (r == DB_NOTFOUND)
		return (0);
	if (r != 0)
		return (r);
	if (obs_service_decode(&val, st) == -1) {
		log_warnx("obs: %.*s: corrupt services.db row (%u bytes) "
		          "ignored",
		    (int)len, svc, val.size);
		memset(st, 0, sizeof(*st));
		return (0);
	}
	*found = 1;
	return (0);
}

int
obs_service_write(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_service *st)
{
	uint8_t vbuf[SERVICE_VAL_LEN];
	DBT     key, val;

	service_encode(vbuf, st);
	obs_dbt_set(&key, svc, len);
	obs_dbt_set(&val, vbuf, sizeof(vbuf));
	return (o->services->put(o->services, txn, &key, &val, 0));
}

/*
 * Call fn for every valid span of svc, in key order (keys ascending,
 * spans by start).  flags: 0 or DB_RMW.  fn returns 0 to go on, 1 to
 * stop.  0 or a Berkeley DB code.
 */
int
obs_prefix_scan(DB *db, DB_TXN *txn, const char *svc, size_t len,
    u_int32_t flags, row_fn fn, void *arg)
{
	uint8_t         prefix[SVCID_MAX + 1];
	struct obs_span sp;
	DBC            *c;
	DBT             key, val;
	size_t          plen = len + 1;
	int             r, t;

	memcpy(prefix, svc, len);
	prefix[len] = 0x00;
	if ((r = db->cursor(db, txn, &c, 0)) != 0)
		return (r);
	obs_dbt_set(&key, prefix, plen);
	obs_dbt_set(&val, NULL, 0);
	r = c->get(c, &key, &val, DB_SET_RANGE | flags);
	while (
	    r == 0 && key.size >= plen && memcmp(key.data, prefix, plen) == 0) {
		if (obs_span_decode(&key, &val, plen, &sp) == -1)
			log_warnx("obs: %.*s: corrupt span row skipped (key "
			          "%u bytes, value %u bytes)",
			    (int)len, svc, key.size, val.size);
		else if (fn(&sp, arg) != 0)
			break;
		r = c->get(c, &key, &val, DB_NEXT | flags);
	}
	if (r == DB_NOTFOUND)
		r = 0;
	t = c->close(c);
	return (r != 0 ? r : t);
}

void
obs_hex_colon(const uint8_t *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t            i;

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
	size_t i;
	int    hi, lo;

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
