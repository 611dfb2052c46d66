/*
 * status.h - the shared-memory process table the master publishes.
 *
 * One small MAP_SHARED mapping.  The master writes the process table
 * (plain atomic stores, no locks); ctwatch writes the CT log area
 * (ctlog[]), and nothing else does.  HTTP workers read it to answer
 * /healthz and to fill the index page and /metrics.  Readers treat every
 * value as untrusted.
 *
 * The CT log area outlives a ctwatch process (the master made it), so a
 * restarted ctwatch finds in it, per log URL, the index after the last
 * entry its predecessor put into the ring, and its slot number (which is
 * the log_id of the stream records).
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
	ROLE_NATSRC,
	ROLE_RECOVERY,
	ROLE_MAX,
};

enum db_state {
	DB_STATE_DOWN = 0, /* not yet recovered */
	DB_STATE_RECOVERING,
	DB_STATE_UP,
};

struct status_role {
	_Atomic uint32_t wanted;    /* children the config asks for */
	_Atomic uint32_t ready;     /* children that reported ready */
	_Atomic uint64_t spawns;    /* forks since start */
	_Atomic uint64_t crashes;   /* signal deaths / bad exits */
	_Atomic uint32_t throttled; /* 1 while respawn is held back */
};

/* Fetch error kinds counted per log (status_ctlog.fetch_errors). */
enum status_ctfe {
	STATUS_CTFE_CONNECT = 0, /* DNS, connect, TLS, reset */
	STATUS_CTFE_TIMEOUT,
	STATUS_CTFE_RATELIMIT, /* HTTP 429 */
	STATUS_CTFE_HTTP4XX,   /* other 4xx (and 3xx) */
	STATUS_CTFE_HTTP5XX,
	STATUS_CTFE_TOOBIG,    /* past ctwatch.max_response */
	STATUS_CTFE_MALFORMED, /* a body we cannot read */
	STATUS_CTFE_MAX,
};

enum status_ctbackoff {
	STATUS_CTB_OK = 0,
	STATUS_CTB_BACKOFF, /* waiting after an error */
	STATUS_CTB_OPEN,    /* circuit breaker open */
};

#define STATUS_MAX_CTLOGS  256
#define STATUS_CT_URL_MAX  256 /* with the NUL */
#define STATUS_CT_NAME_MAX 128
#define STATUS_CT_OPER_MAX 64

/*
 * One CT log.  The text fields are written only while seq is odd (a
 * seqlock: readers copy, then check that seq did not change and is even).
 * state: 0 never used, 1 followed, 2 no longer followed (kept for its
 * position).
 */
struct status_ctlog {
	_Atomic uint32_t seq;
	_Atomic uint32_t state;
	_Atomic uint32_t tiled;                  /* 0 RFC 6962, 1 static CT */
	_Atomic uint32_t backoff;                /* enum status_ctbackoff */
	char             url[STATUS_CT_URL_MAX]; /* normalised */
	char             name[STATUS_CT_NAME_MAX];
	char             operator[STATUS_CT_OPER_MAX];
	_Atomic uint64_t tree_size;        /* last trusted size */
	_Atomic uint64_t next_index;       /* after the last entry published */
	_Atomic uint64_t published;        /* entries put into the ring */
	_Atomic uint64_t precerts;         /* of which precertificates */
	_Atomic uint64_t parse_errors;     /* entries skipped as malformed */
	_Atomic uint64_t duplicates;       /* suppressed by ctwatch.dedup */
	_Atomic uint64_t backfill_skipped; /* past ctwatch.max_backfill */
	_Atomic uint64_t sth_bad_signature;
	_Atomic uint64_t sth_shrunk; /* tree sizes that went back */
	_Atomic uint64_t fetch_errors[STATUS_CTFE_MAX];
	_Atomic uint64_t lag_entries;  /* tree_size - next_index */
	_Atomic int64_t  lag_ms;       /* since entries were waiting */
	_Atomic int64_t  updated_wall; /* unix seconds */
};

/*
 * The HTTP workers' area.  Counters only grow (atomic adds by any
 * worker); the per-worker gauges live in a slot a worker claims at start
 * (pid 0 -> its pid) and the master zeroes and frees when it reaps that
 * pid, so a killed worker's clients and tunnels stop counting at once.
 * No client address is ever stored here.
 */
enum status_shape {
	STATUS_SHAPE_LITE = 0,
	STATUS_SHAPE_FULL,
	STATUS_SHAPE_DOMAINS,
	STATUS_SHAPES,
};

enum status_route {
	STATUS_RT_INDEX = 0,    /* index page */
	STATUS_RT_PERSPECTIVES, /* notary queries */
	STATUS_RT_HEALTHZ,
	STATUS_RT_FAVICON,
	STATUS_RT_STREAM, /* websocket upgrades, stream pages */
	STATUS_RT_SSE,
	STATUS_RT_EXAMPLE,
	STATUS_RT_LATEST,
	STATUS_RT_STATS,
	STATUS_RT_METRICS,
	STATUS_RT_OTHER, /* 404, 405, bad requests */
	STATUS_RT_MAX,
};

#define STATUS_MAX_HTTP     256  /* worker slots */
#define STATUS_IPC          2048 /* client-address counts per slot */
#define STATUS_TOP_SKIPPERS 8    /* per worker, for metrics */

struct status_skipper {
	_Atomic uint64_t id; /* opaque client id, 0 = none */
	_Atomic uint64_t skipped;
};

/* Stream clients of one address: a keyed hash, never the address. */
struct status_ipcount {
	_Atomic uint64_t key;
	_Atomic uint32_t n; /* 0: free */
};

/* What the daemon-wide client limits count (server/client_limit.c). */
enum status_climit {
	STATUS_CL_STREAM = 0, /* stream clients */
	STATUS_CL_TUNNEL,     /* Convergence relay tunnels */
	STATUS_CL_KINDS,
};

struct status_http {
	_Atomic uint32_t      pid;                    /* 0: free */
	_Atomic uint32_t      clients[STATUS_SHAPES]; /* connected now */
	_Atomic uint32_t      held[STATUS_CL_KINDS];  /* by limit kind */
	struct status_skipper top[STATUS_TOP_SKIPPERS];
	/* this worker's holders by client address, per limit kind */
	struct status_ipcount ipc[STATUS_CL_KINDS][STATUS_IPC];
};

struct status_stream {
	_Atomic uint64_t sent[STATUS_SHAPES]; /* frames */
	_Atomic uint64_t skipped[STATUS_SHAPES];
	_Atomic uint64_t bytes[STATUS_SHAPES];       /* on the wire */
	_Atomic uint64_t bytes_plain[STATUS_SHAPES]; /* uncompressed */
	_Atomic uint64_t connects[STATUS_SHAPES];
	_Atomic uint64_t refused;     /* 429: client limits */
	_Atomic uint64_t worker_lost; /* records a worker missed */
};

struct status;

/*
 * Counters of the other roles, for /metrics: atomic adds by the process
 * that does the work (scanners, database users, HTTP workers for the
 * signer round trips they wait for).
 */
#define STATUS_PROBE_RESULTS  16 /* >= store's PROBE_NRESULTS */
#define STATUS_SIGNER_RESULTS 5  /* ok, unknown, bad, unavailable, timeout */
#define STATUS_LAT_BUCKETS    12 /* 1ms .. 2s, then +Inf */

struct status_counters {
	_Atomic uint64_t probes[STATUS_PROBE_RESULTS];
	_Atomic uint64_t probe_queue;    /* services queued (gauge) */
	_Atomic uint64_t db_txn_retries; /* deadlock retries */
	_Atomic uint64_t signer[STATUS_SIGNER_RESULTS];
	_Atomic uint64_t signer_lat[STATUS_LAT_BUCKETS + 1]; /* per bucket */
	_Atomic uint64_t signer_lat_us; /* sum, microseconds */
};

/* Upper bounds of the signer latency buckets, in microseconds. */
extern const uint64_t status_lat_bounds_us[STATUS_LAT_BUCKETS];
void                  status_observe_latency(struct status *st, int64_t us);
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
	STATUS_NATS_OFF = 0,      /* no natspub process */
	STATUS_NATS_CONNECTING,   /* first connection not yet made */
	STATUS_NATS_CONNECTED,    /* connected, stream ready: publishing */
	STATUS_NATS_NOSTREAM,     /* connected, stream not usable yet */
	STATUS_NATS_RECONNECTING, /* lost; libnats reconnects */
	STATUS_NATS_CLOSED,       /* given up (process restarts) */
};

struct status_nats {
	_Atomic uint32_t state;          /* enum status_nats_state */
	_Atomic uint64_t records;        /* ring records read */
	_Atomic uint64_t ring_skipped;   /* records lost: fell behind */
	_Atomic uint64_t bad_records;    /* failed streamrec_parse */
	_Atomic uint64_t taken;          /* messages made from records */
	_Atomic uint64_t published;      /* handed to libnats */
	_Atomic uint64_t acked;          /* JetStream acks received */
	_Atomic uint64_t failed;         /* nacked, or no ack in time */
	_Atomic uint64_t dropped;        /* nats.buffer full: never sent */
	_Atomic uint64_t pending;        /* gauge: awaiting an ack */
	_Atomic uint64_t buffered;       /* gauge: messages queued */
	_Atomic uint64_t buffered_bytes; /* gauge: their payload bytes */
	_Atomic uint64_t reconnects;     /* reconnections made */
	_Atomic uint64_t disconnects;
	_Atomic uint64_t streams_created;
	/* the oldest ring record with a message not yet acked (or the next
	   to read): where a restarted natspub starts; 0 = none yet */
	_Atomic uint64_t ring_resume;
};

/*
 * A stream front's NATS source (natsrc role, ctwatch.source: nats): one
 * process writes it.  next_seq, the JetStream sequence after the last
 * entry written into the ring, outlives the process: a natsrc that
 * restarts within the same daemon goes on from it.
 */
struct status_natsrc {
	_Atomic uint32_t state;     /* enum status_nats_state */
	_Atomic uint64_t received;  /* messages taken from JetStream */
	_Atomic uint64_t written;   /* entries written into the ring */
	_Atomic uint64_t malformed; /* messages that did not decode */
	_Atomic uint64_t stale;     /* older than next_seq: not written */
	_Atomic uint64_t subscribes;
	_Atomic uint64_t next_seq;
};

const char *status_nats_state_name(uint32_t state);
struct buf;
/*
 * Append the NATS area in the Prometheus text format (notaryd_nats_*)
 * to out, for the /metrics route.  0, or -1 when out is full.
 */
int status_nats_metrics(const struct status_nats *n, struct buf *out);
/* The same for the NATS source (notaryd_natsrc_*). */
int status_natsrc_metrics(const struct status_natsrc *n, struct buf *out);

struct status {
	uint32_t               magic;
	unsigned char          addr_key[16]; /* SipHash key for client
						   addresses, random per start */
	_Atomic int64_t        started_wall; /* unix seconds */
	_Atomic uint32_t       generation;   /* ++ on every good reload */
	_Atomic uint32_t       db_state;     /* enum db_state */
	_Atomic uint64_t       recoveries;
	_Atomic uint32_t       stopping; /* 1 once a stop began */
	struct status_stream   stream;   /* HTTP workers: counters */
	_Atomic uint64_t       http_requests[STATUS_RT_MAX][5]; /* 1xx..5xx */
	struct status_counters counters;
	struct status_http     http[STATUS_MAX_HTTP]; /* and gauges */
	struct status_role     role[ROLE_MAX];
	_Atomic uint32_t       nctlogs; /* slots ever used */
	struct status_ctlog    ctlog[STATUS_MAX_CTLOGS];
	struct status_nats     nats;   /* natspub writes */
	struct status_natsrc   natsrc; /* natsrc writes */
};

#define STATUS_MAGIC 0x6e737431u /* "nst1" */

struct status      *status_create(void);
void                status_destroy(struct status *st);
const char         *role_name(enum role r);
/* 1 when every role has as many ready children as wanted and the db is up. */
int                 status_healthy(const struct status *st);
/*
 * HTTP worker slots: claim one for pid (NULL when all are taken), free
 * the slot of pid (master, when it reaps it).
 */
struct status_http *status_http_claim(struct status *st, uint32_t pid);
void                status_http_release(struct status *st, uint32_t pid);
const char         *status_shape_name(enum status_shape s);
const char         *status_route_name(enum status_route r);
/* Count one HTTP answer. */
void
status_count_request(struct status *st, enum status_route r, int http_status);

/* Name of a STATUS_CTFE_* kind ("connect", "timeout", ...). */
const char *status_ctfe_name(enum status_ctfe k);

#endif
