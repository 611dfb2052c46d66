/*
 * status.h - the shared-memory process table the master publishes.
 *
 * One small MAP_SHARED mapping.  Only the master writes it (plain atomic
 * stores, no locks); HTTP workers read it to answer /healthz and to fill
 * the index page and /metrics.  Readers treat every value as untrusted.
 */
#ifndef NOTARYD_STATUS_H
#define NOTARYD_STATUS_H

#include <stdatomic.h>
#include <stdint.h>

enum role {
	ROLE_MASTER = 0,
	ROLE_HTTP,
	ROLE_SIGNER,
	ROLE_SCANNER,
	ROLE_CTWATCH,
	ROLE_NATSPUB,
	ROLE_RECOVERY,
	ROLE_MAX,
};

enum db_state {
	DB_STATE_DOWN = 0,	/* not yet recovered */
	DB_STATE_RECOVERING,
	DB_STATE_UP,
};

struct status_role {
	_Atomic uint32_t	wanted;		/* children the config asks for */
	_Atomic uint32_t	ready;		/* children that reported ready */
	_Atomic uint64_t	spawns;		/* forks since start */
	_Atomic uint64_t	crashes;	/* signal deaths / bad exits */
	_Atomic uint32_t	throttled;	/* 1 while respawn is held back */
};

/*
 * The NATS publisher's area (natspub role, one process): written only by
 * that process (atomic stores and adds, from its loop and from libnats'
 * callback threads), read by the HTTP workers for /metrics.  Messages are
 * counted one per subject published (a record with three shapes is three
 * messages); for every message taken from the ring,
 *   taken = published + dropped + buffered (in the queue now)
 *   published = acked + failed + pending (awaiting their ack now).
 * The counters start at 0 with each natspub process.
 */
enum status_nats_state {
	STATUS_NATS_OFF = 0,		/* no natspub process */
	STATUS_NATS_CONNECTING,		/* first connection not yet made */
	STATUS_NATS_CONNECTED,		/* connected, stream ready: publishing */
	STATUS_NATS_NOSTREAM,		/* connected, stream not usable yet */
	STATUS_NATS_RECONNECTING,	/* lost; libnats reconnects */
	STATUS_NATS_CLOSED,		/* given up (process restarts) */
};

struct status_nats {
	_Atomic uint32_t	state;		/* enum status_nats_state */
	_Atomic uint64_t	records;	/* ring records read */
	_Atomic uint64_t	ring_skipped;	/* records lost: fell behind */
	_Atomic uint64_t	bad_records;	/* failed streamrec_parse */
	_Atomic uint64_t	taken;		/* messages made from records */
	_Atomic uint64_t	published;	/* handed to libnats */
	_Atomic uint64_t	acked;		/* JetStream acks received */
	_Atomic uint64_t	failed;		/* nacked, or no ack in time */
	_Atomic uint64_t	dropped;	/* nats.buffer full: never sent */
	_Atomic uint64_t	pending;	/* gauge: awaiting an ack */
	_Atomic uint64_t	buffered;	/* gauge: messages queued */
	_Atomic uint64_t	buffered_bytes;	/* gauge: their payload bytes */
	_Atomic uint64_t	reconnects;	/* reconnections made */
	_Atomic uint64_t	disconnects;
	_Atomic uint64_t	streams_created;
};

const char	*status_nats_state_name(uint32_t state);
struct buf;
/*
 * Append the NATS area in the Prometheus text format (notaryd_nats_*)
 * to out, for the /metrics route.  0, or -1 when out is full.
 */
int		 status_nats_metrics(const struct status_nats *n,
		    struct buf *out);

struct status {
	uint32_t		magic;
	_Atomic int64_t		started_wall;	/* unix seconds */
	_Atomic uint32_t	generation;	/* ++ on every good reload */
	_Atomic uint32_t	db_state;	/* enum db_state */
	_Atomic uint64_t	recoveries;
	_Atomic uint32_t	stopping;	/* 1 once a stop began */
	struct status_role	role[ROLE_MAX];
	struct status_nats	nats;		/* natspub writes */
};

#define STATUS_MAGIC	0x6e737431u	/* "nst1" */

struct status	*status_create(void);
void		 status_destroy(struct status *st);
const char	*role_name(enum role r);
/* 1 when every role has as many ready children as wanted and the db is up. */
int		 status_healthy(const struct status *st);

#endif
