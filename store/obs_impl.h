/*
 * obs_impl.h - what the parts of the observation store share: the row
 * encodings, the limits, and the helpers one part calls in another.
 * Internal to store/obs*.c.
 *
 *   obs.c        recording observations and failures, opening handles
 *   obs_codec.c  keys and values of spans.db and services.db, hex
 *   obs_read.c   reading, import, certificates, walks over the tables
 */
#ifndef NOTARYD_STORE_OBS_IMPL_H
#define NOTARYD_STORE_OBS_IMPL_H

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


#define MD5_LEN         16
#define SHA256_LEN      32
#define SPAN_TAIL_LEN   (MD5_LEN + 8) /* md5, be64(start) */
#define SPAN_KEY_MAX    (SVCID_MAX + 1 + SPAN_TAIL_LEN)
#define SPAN_VAL_LEN    (8 + SHA256_LEN + 8) /* be64(end), sha256, be64(seen) */
#define SPAN_VAL_OLD    (8 + SHA256_LEN)     /* before seen was kept */
#define SERVICE_VAL_LEN (3 * 8 + 2 * 4)

/*
 * The walkers read this many rows per transaction, and go on past it to
 * the end of the current service (so that one service is read at one
 * moment) but never past WALK_BATCH_MAX.
 */
#define WALK_BATCH     4096
#define WALK_BATCH_MAX (WALK_BATCH + 2 * OBS_MAX_SPANS)
#define WALK_KEY_MAX   SPAN_KEY_MAX

/* A growable list of the spans of one service (obs_record). */
struct rows {
	struct obs_span *v;
	size_t           n;
	size_t           cap;
};

struct record {
	struct obs_db       *o;
	const char          *svc;
	size_t               len;
	const struct obs_fp *fp;
	const uint8_t       *der;
	size_t               derlen;
	int64_t              now;
	enum obs_outcome     outcome;
	struct rows          rows;
};

struct failure {
	struct obs_db *o;
	const char    *svc;
	size_t         len;
	uint32_t       result;
	int64_t        now;
};

struct read_ctx {
	struct obs_db   *o;
	const char      *svc;
	size_t           len;
	struct obs_span *spans;
	size_t           max;
	size_t           n;
};

struct service_ctx {
	struct obs_db      *o;
	const char         *svc;
	size_t              len;
	struct obs_service *st;
	int                 found;
};

struct cert_ctx {
	struct obs_db *o;
	const uint8_t *sha256;
	uint8_t       *der;
	size_t         max;
	size_t         len;
	int            found;
	int            too_long;
};

struct walk_row {
	char   svc[SVCID_MAX + 1];
	size_t len;
	union {
		struct obs_span    sp;
		struct obs_service st;
	} u;
};

/* One walk over a whole table, batch after batch. */
struct walk {
	DB *db;
	int (*decode)(const DBT *, const DBT *, struct walk_row *);
	struct walk_row *rows;
	size_t           n;
	/* the first key of this batch, and of the next (once committed) */
	uint8_t          resume[WALK_KEY_MAX];
	u_int32_t        resume_len;
	uint8_t          next[WALK_KEY_MAX];
	u_int32_t        next_len;
	int              started;
	int              done;
};

typedef int (*row_fn)(const struct obs_span *, void *);


/* ---- encodings ------------------------------------------------------- */

void   obs_dbt_set(DBT *d, const void *data, size_t size);
int    obs_svc_ok(const char *svc, size_t len);
int    obs_time_ok(int64_t t);
int    obs_is_zero(const uint8_t *b, size_t n);
int    obs_is_readonly(const struct obs_db *o);
size_t obs_span_key(
    uint8_t *k, const char *svc, size_t len, const uint8_t *md5, int64_t start);
int obs_span_decode(
    const DBT *key, const DBT *val, size_t plen, struct obs_span *sp);
int obs_span_put(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_span *sp, u_int32_t flags);
int obs_span_del(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_span *sp);
int obs_service_decode(const DBT *val, struct obs_service *st);
int obs_service_read(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    u_int32_t flags, struct obs_service *st, int *found);
int obs_service_write(struct obs_db *o, DB_TXN *txn, const char *svc,
    size_t len, const struct obs_service *st);
int obs_prefix_scan(DB *db, DB_TXN *txn, const char *svc, size_t len,
    u_int32_t flags, row_fn fn, void *arg);

#endif
