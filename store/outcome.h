/*
 * outcome.h - what the store knows about one probe of a service: its
 * result class (stored, so the numbers only ever grow) and the one place
 * where a probe outcome is recorded (observation, failure counters,
 * rescan scheduling), used by the scanner role and by notaryctl scan.
 */
#ifndef NOTARYD_STORE_OUTCOME_H
#define NOTARYD_STORE_OUTCOME_H

#include <stddef.h>
#include <stdint.h>

#include "store/obs.h"
#include "store/schedule.h"

struct cache;

/*
 * Result classes.  The numbers are stored (obs_service.last_result): only
 * append.  Names (probe_result_name) are stable for logs and summaries.
 */
enum probe_result {
	PROBE_OK = 0,      /* "ok": certificate obtained */
	PROBE_DNS,         /* "dns": NXDOMAIN, no address, resolver
				   failure */
	PROBE_REFUSED,     /* "refused": connection refused */
	PROBE_UNREACHABLE, /* "unreachable": no route, net down ... */
	PROBE_TIMEOUT,     /* "timeout": the deadline passed (in DNS,
				   connect or handshake) */
	PROBE_TLS_ALERT,   /* "tls-alert": the server sent an alert
				   (tls_alert = its description number) */
	PROBE_PROTOCOL,    /* "protocol": garbage, bad handshake, EOF in
				   the handshake, no or oversized certificate */
	PROBE_DENIED,      /* "denied": every address in deny - allow */
	PROBE_RESET,       /* "reset": connection reset by the peer */
	PROBE_OTHER,       /* "other": local errors (sockets, memory) */
	PROBE_NRESULTS
};

/* Stable name of a result class ("ok", "timeout", ...), "?" if unknown. */
const char *probe_result_name(enum probe_result r);

/*
 * Where outcomes are recorded, and the rules that apply.  cache may be
 * NULL (notaryctl has no handle on the daemon's shared memory: its
 * replies age out within cache.ttl).  spans is scratch space for
 * OBS_MAX_SPANS spans.
 */
struct outcome_sink {
	struct obs_db   *obs;
	struct sched_db *sched;
	struct cache    *cache;
	int64_t          rescan_interval_ms; /* 0: no schedule */
	int64_t          rescan_newer_than_ms;
	struct obs_span *spans;
};

/* What one probe of one service found. */
struct outcome {
	enum probe_result    result;
	const struct obs_fp *fp;  /* PROBE_OK only */
	const uint8_t       *der; /* PROBE_OK only */
	size_t               derlen;
	int                  by_operator; /* notaryctl scan, not a client */
};

/*
 * Record one probe outcome (the scanner's and notaryctl scan's one
 * path):
 *  - ok: the observation (obs_record), and the service's cached replies
 *    are dropped;
 *  - a failure: counted for a service already known, or one an operator
 *    asked for (by_operator); a client's on-demand probe of a name nobody
 *    can reach leaves no row behind, or clients could grow the database
 *    at will;
 *  - either way, a service seen within rescan_newer_than is scheduled one
 *    rescan_interval from now, and any other leaves the schedule.
 * *what (ok only, may be NULL) says how the observation changed the
 * history.  0, or -1 when the observation could not be written (logged).
 */
int outcome_record(const struct outcome_sink *sink, const char *svc, size_t len,
    const struct outcome *o, int64_t now, enum obs_outcome *what);

#endif
