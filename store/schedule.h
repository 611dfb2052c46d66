/*
 * schedule.h - the probe queue shared by all scanner processes (and fed by
 * the signer's on-demand requests and notaryctl).
 *
 * Tables (BTREE):
 *   sched.db     be64(due, unix ms) svc_id -> u8 kind [u8 sni [want[20]]]
 *   schedidx.db  svc_id -> be64(due)      (at most one entry per service)
 * On-demand entries have due = 0, so a cursor from the start meets them
 * first.  Claiming a job does not delete it: its entry moves to
 * now + lease, so a scanner killed mid-probe leaves the job to be retried
 * when the lease runs out, and no other scanner takes it meanwhile (one
 * probe per service at a time across processes).  The queue therefore
 * survives restarts.  Every operation is one transaction (db_txn_run).
 */
#ifndef NOTARYD_SCHEDULE_H
#define NOTARYD_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "store/dbenv.h"

enum sched_kind {
	SCHED_RESCAN = 0,
	SCHED_ON_DEMAND = 1,
};

/*
 * How an on-demand probe is to be made, stored with its entry (a client's
 * request decides, the scanner obeys).  SCHED_SNI_CONF follows
 * scanner.sni (Perspectives, rescans, notaryctl); the others are
 * convergence.sni: OFF never, ON always, FALLBACK without SNI and, when
 * the leaf's SHA-1 is not want, once more with SNI.  A lease that runs
 * out (its scanner died) comes back as a plain rescan.
 */
enum sched_sni {
	SCHED_SNI_CONF = 0,
	SCHED_SNI_OFF,
	SCHED_SNI_ON,
	SCHED_SNI_FALLBACK,
};

#define SCHED_WANT_LEN 20 /* a SHA-1 */

struct sched_probe {
	uint8_t sni;      /* enum sched_sni */
	uint8_t has_want; /* want is set (FALLBACK only uses it) */
	uint8_t want[SCHED_WANT_LEN];
};

struct sched_db {
	DB_ENV *env;
	DB     *sched;
	DB     *idx;
};

struct sched_job {
	char               id[256];
	size_t             len;
	enum sched_kind    kind;
	struct sched_probe probe; /* zero (CONF) unless a request set it */
};

int  sched_open(struct sched_db *s, DB_ENV *env);
void sched_close(struct sched_db *s);

/*
 * Ask for an on-demand probe.  Returns 0 when queued, 1 when the service
 * already had an on-demand entry or a lease in progress (nothing to do),
 * -1 on error.  A pending rescan entry is moved to the front.
 */
int
sched_request(struct sched_db *s, const char *id, size_t len, int64_t now_ms);
/*
 * The same with how to probe (p may be NULL: SCHED_SNI_CONF).  When the
 * service already has an on-demand entry or a lease, the first request's
 * way stands and this returns 1.
 */
int sched_request_probe(struct sched_db *s, const char *id, size_t len,
    int64_t now_ms, const struct sched_probe *p);
/* Put the service's single entry at due_ms (replacing any).  0/-1. */
int sched_set(struct sched_db *s, const char *id, size_t len, int64_t due_ms);
/*
 * Like sched_set, but only when the service has no entry at all: never
 * moves a lease (a probe in progress) or a pending on-demand request.
 * 0 when queued, 1 when an entry was already there, -1 on error.
 */
int sched_offer(struct sched_db *s, const char *id, size_t len, int64_t due_ms);
/* Remove the service from the queue.  0/-1. */
int sched_remove(struct sched_db *s, const char *id, size_t len);
/*
 * Claim up to max due jobs (on-demand first, at most max_on_demand of
 * them, then entries with due <= now), moving each to now + lease_ms.
 * 0 with *n set, or -1.
 */
int sched_claim(struct sched_db *s, int64_t now_ms, int64_t lease_ms,
    struct sched_job *jobs, size_t max, size_t max_on_demand, size_t *n);
/* The due time of the service's entry: 0 found, 1 none, -1 error. */
int sched_get(struct sched_db *s, const char *id, size_t len, int64_t *due_ms);
/* Number of entries (for stats and tests). */
int sched_count(struct sched_db *s, size_t *n);

#endif
