/*
 * obs.h - the observation store: which key each service presented, when.
 *
 * Tables (BTREE, in the environment of common/dbenv.h):
 *   spans.db     svc_id 0x00 md5[16] be64(start) -> be64(end) sha256[32]
 *                (one row per contiguous span; md5 bytes sort like the
 *                lowercase colon-hex the replies use, so a prefix scan on
 *                "svc_id 0x00" yields keys ascending, spans by start)
 *   certs.db     sha256[32] -> leaf DER (stored once)
 *   services.db  svc_id -> struct obs_service (big-endian on disk)
 *
 * Writers: scanners and notaryctl (import, scan).  Readers: the signer
 * (read-only handles), notaryctl.  Every write is one transaction retried
 * on deadlock (db_txn_run); no network I/O inside.  Recording follows
 * Perspectives report_observation (shared/spec/perspectives.md §4.3)
 * exactly, with the time of the write ("now") passed in so that tests can
 * control the clock:
 *   - same key as the newest span (max end) and now - end <= 48 h: that
 *     span's end = now (only forward);
 *   - same key after a longer gap: new span (now, now);
 *   - different key, or no rows: new span (now, now); and if the previous
 *     newest span ended within 48 h, its end = now - 1.
 * Ties on max(end) are broken by the larger start, then the larger md5.
 * A service keeps at most OBS_MAX_SPANS rows; the oldest (by end) go.
 */
#ifndef NOTARYD_OBS_H
#define NOTARYD_OBS_H

#include <stddef.h>
#include <stdint.h>

#include "store/dbenv.h"

#define OBS_UPDATE_LIMIT 172800 /* 48 h, in seconds */
#define OBS_MAX_SPANS    1024
#define OBS_DER_MAX      (64 * 1024)

struct obs_fp {
	uint8_t md5[16];
	uint8_t sha1[20];
	uint8_t sha256[32]; /* all zero when unknown (import) */
};

struct obs_span {
	uint8_t md5[16];
	uint8_t sha256[32];
	int64_t start;
	int64_t end;
	/*
	 * The last sighting within the span (start <= seen <= end): end,
	 * unless the span was closed at now - 1 because another key
	 * appeared (Perspectives backfills that gap, Convergence's finish
	 * does not).  0, or a value outside the span, is stored as end:
	 * imported spans and rows written before it was kept.
	 */
	int64_t seen;
};

/* Per-service probe state (services.db). */
struct obs_service {
	int64_t  first_seen;  /* first time the id was known */
	int64_t  last_probe;  /* last probe attempt (any result) */
	int64_t  last_ok;     /* last successful probe */
	uint32_t fails;       /* consecutive failures */
	uint32_t last_result; /* enum from scanner/probe.h */
};

struct obs_db {
	DB_ENV *env;
	DB     *spans;
	DB     *certs;
	DB     *services;
};

enum obs_outcome {
	OBS_FIRST = 0, /* no earlier row */
	OBS_EXTENDED,  /* same key within 48 h */
	OBS_NEW_SPAN,  /* same key after a longer gap */
	OBS_CHANGED,   /* another key than the newest span's */
};

int  obs_open(struct obs_db *o, DB_ENV *env, int readonly);
void obs_close(struct obs_db *o);

/*
 * Record one sighting of fp (and the leaf DER, if der != NULL) for the
 * service at time now.  0 (outcome in *out), or -1 (logged).
 */
int obs_record(struct obs_db *o, const char *svc, size_t len,
    const struct obs_fp *fp, const uint8_t *der, size_t derlen, int64_t now,
    enum obs_outcome *out);
/* Record a failed probe (result class, now).  0/-1. */
int obs_record_failure(struct obs_db *o, const char *svc, size_t len,
    uint32_t result, int64_t now);
/*
 * Read every span of the service (keys ascending, spans by start), at
 * most max.  0 with *n set (0 = unknown service), or -1.  Runs in its
 * own short read transaction; the caller signs after it returns.
 */
int obs_read(struct obs_db *o, const char *svc, size_t len,
    struct obs_span *spans, size_t max, size_t *n);
/* 0 (found, *st filled), 1 (no row: *st zeroed), or -1 (logged). */
int obs_service_get(
    struct obs_db *o, const char *svc, size_t len, struct obs_service *st);
/* Insert one span as is (import); same validation as the reference:
 * 0 <= start <= end, no overlap duplicates.  Inside the caller's txn.
 * Returns 0 (inserted), DB_KEYEXIST (this very span is already stored:
 * nothing done), EEXIST (it overlaps another span of the same key),
 * EINVAL (bad span or id), EACCES (read-only handle), or a Berkeley DB
 * code such as DB_LOCK_DEADLOCK that the caller's db_txn_run function
 * must return.  Only EINVAL and EEXIST are logged (at debug level). */
int obs_insert_span(struct obs_db *o, DB_TXN *txn, const char *svc, size_t len,
    const struct obs_span *sp);

/* "aa:bb:..." lowercase colon-hex of n bytes into out (3n bytes). */
void obs_hex_colon(const uint8_t *b, size_t n, char *out);
/* Parse lowercase colon-hex (uppercase refused); -1 when malformed. */
int  obs_parse_colon_hex(const char *s, size_t len, uint8_t *b, size_t n);

/* ---- additions (notaryctl) ---- */

/*
 * Latest time accepted on any write path: 9999-12-31T23:59:59Z, so that
 * every stored time prints as an ISO date with a four-digit year.
 */
#define OBS_TIME_MAX 253402300799LL

/*
 * Make sure services.db has a row for svc (import, service-only lines):
 * a new row gets first_seen; an existing row's first_seen is lowered to
 * first_seen when that is earlier.  Inside the caller's txn; 0, EINVAL,
 * EACCES or a Berkeley DB code (as obs_insert_span).
 */
int obs_register_service(struct obs_db *o, DB_TXN *txn, const char *svc,
    size_t len, int64_t first_seen);
/*
 * The leaf DER stored under sha256 (certs.db), copied into der (max
 * bytes).  0 (found, *len set), 1 (not stored), or -1 (logged; also
 * when it is longer than max).
 */
int obs_cert_get(struct obs_db *o, const uint8_t *sha256, uint8_t *der,
    size_t max, size_t *len);
/*
 * Walk every span of every service in key order: services by byte order,
 * then keys ascending, then start.  Rows are read in short read
 * transactions of a few thousand rows that never split a service, and fn
 * runs between them, outside any transaction (it may block on output).
 * fn returns 0 to go on; anything else stops the walk and is returned.
 * Corrupt rows are skipped (logged).  0, fn's value, or -1 (logged).
 */
typedef int (*obs_span_fn)(
    const char *svc, size_t len, const struct obs_span *sp, void *arg);
int obs_walk_spans(struct obs_db *o, obs_span_fn fn, void *arg);
/* The same for the rows of services.db, in byte order of the ids. */
typedef int (*obs_service_fn)(
    const char *svc, size_t len, const struct obs_service *st, void *arg);
int obs_walk_services(struct obs_db *o, obs_service_fn fn, void *arg);

#endif
