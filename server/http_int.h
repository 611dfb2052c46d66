/*
 * http_int.h - what the two halves of an HTTP worker share: the
 * connection and worker structs, and the functions http.c (requests,
 * connections, the signer, the loop) and http_stream.c (websocket and SSE
 * stream connections) call in each other.  Private to those two files.
 */
#ifndef NOTARYD_HTTP_INT_H
#define NOTARYD_HTTP_INT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/status.h"
#include "server/fanout.h"
#include "server/http_parser.h"
#include "server/http_routes.h"
#include "server/stream_filter.h"
#include "server/stream_replay.h"
#include "server/ws.h"

#define OUT_HIGH_WATER   (256 * 1024) /* stop parsing more pipelined */
#define OUT_MAX          (HTTP_BODY_MAX + 64 * 1024)
#define LINGER_MS        2000
#define ACCEPT_BURST     64
#define MAX_EVENTS       256
#define READ_CHUNK       16384
#define STREAM_TICK_MS   100 /* pings, heartbeats, idle checks */
#define STREAM_IN_MAX    (2 * (WS_CLIENT_FRAME_MAX + 14))
#define STREAM_PULL_MS   10 /* look for new ring records */
#define STREAM_PULLS     16 /* batches per look, at most */
#define REPLAY_OUT_MAX   (4 * REPLAY_BUF + OUT_MAX) /* ?since= output */
#define SIGNER_WAIT_MS   2000 /* then 503: relayd waits 1 s */
#define SIGNER_RETRY_MS  100  /* reconnect back-off */
#define TRIM_MIN_DROP    256  /* connections gone since peak */
#define TRIM_INTERVAL_MS 5000 /* between two malloc_trims */

enum conn_state {
	CONN_READ,   /* waiting for or receiving a request */
	CONN_STREAM, /* upgraded to a websocket stream */
	CONN_LINGER, /* half-closed after the last response */
};

enum timer_kind {
	TIMER_NONE = -1,
	TIMER_IDLE = 0, /* keepalive_timeout */
	TIMER_REQUEST,  /* request_timeout: receiving or sending */
	TIMER_LINGER,
	TIMER_KINDS,
};

struct conn {
	int                     fd;
	struct sockaddr_storage peer; /* for limits and metrics.allow only;
					   never logged */
	enum conn_state         state;
	struct buf              in;
	struct buf              out;
	size_t                  out_off;     /* bytes of out already sent */
	int                     close_after; /* close once out is flushed */
	uint32_t                events;      /* registered with epoll */
	enum timer_kind         timer;
	int64_t                 deadline;
	TAILQ_ENTRY(conn) tq; /* timers[timer] */
	TAILQ_ENTRY(conn) dq; /* w->dead, once closed */
	/* Waiting for the signer (one request at a time per connection). */
	int      waiting;
	uint32_t wait_seq;
	uint8_t  wait_fmt;
	int      wait_head; /* HEAD: no body */
	int      wait_keep_alive;
	int64_t  wait_deadline;
	int64_t  wait_start_ns;
	TAILQ_ENTRY(conn) wq;
	/* CONN_STREAM only: */
	TAILQ_ENTRY(conn) sq; /* w->streams, while CONN_STREAM */
	struct fanout_client  fc;
	int                   blocked;      /* waiting for EPOLLOUT */
	int                   sse;          /* Server-Sent Events, not ws */
	int                   deflate;      /* permessage-deflate agreed */
	uint64_t              client_key;   /* for the per-address limit */
	struct stream_filter *filter;       /* NULL: every entry */
	struct replay        *replay;       /* ?since= still replaying */
	uint64_t              replay_until; /* newest entry at the start */
	enum http_stream      stream;
	int64_t               last_rx; /* last frame from the client */
	int64_t               next_ping;
	int64_t               next_heartbeat;
};
TAILQ_HEAD(connq, conn);

struct worker {
	struct proc_ctx    *ctx;
	const struct conf  *cf;
	struct http_site    site;
	struct http_limits  lim;
	int                 ep;
	int                 sfd;
	int                 accepting;
	int64_t             accept_paused_until;
	int                 draining;
	int64_t             drain_deadline;
	int                 nconns;
	int                 peak_conns; /* since the last trim */
	int64_t             last_trim;
	struct connq        timers[TIMER_KINDS];
	struct connq        dead;    /* closed, freed after the batch */
	struct connq        streams; /* CONN_STREAM connections */
	struct connq        waiters; /* waiting for the signer */
	int                 sig_fd;  /* connection to a signer */
	int64_t             sig_retry_at;
	uint32_t            sig_seq;
	int64_t             next_stream_tick;
	int64_t             next_pull;
	struct fanout      *fo;                      /* NULL: no stream ring */
	struct status_http *slot;                    /* our gauges, or NULL */
	uint64_t            pub_sent[FANOUT_SHAPES]; /* published */
	uint64_t            pub_skipped[FANOUT_SHAPES]; /* to status */
	uint64_t            pub_bytes[FANOUT_SHAPES];
	uint64_t            pub_plain[FANOUT_SHAPES];
	uint64_t            pub_lost;
	uint64_t            client_serial;
	int                 nreplays; /* ?since= replays running */
	int64_t             timeouts[TIMER_KINDS];
	char                date[64];
	time_t              date_at;
	struct conv_http   *conv;  /* Convergence TLS ports */
	struct conv_proxy  *relay; /* Convergence CONNECT relay */
};

/* http.c */
void conn_close(struct worker *, struct conn *);
void conn_flush(struct worker *, struct conn *);
void conn_linger(struct worker *, struct conn *);
void conn_update_events(struct worker *, struct conn *);
void timer_set(struct worker *, struct conn *, enum timer_kind);

void conn_respond(struct worker *w, struct conn *c, struct http_response *resp,
    int head_only, int keep_alive);
void conn_process(struct worker *w, struct conn *c);
int  signer_connect(struct worker *w);

const char *http_date(struct worker *w);
void        stop_accepting(struct worker *w);
void        trim_after_drop(struct worker *w);
void        accept_clients(struct worker *w, int lfd);

/* http_signer.c */
int  signer_ask(struct worker *w, struct conn *c,
     const struct http_response *resp, int head, int keep_alive);
void signer_count(struct worker *w, struct conn *c, int status);
void signer_read(struct worker *w);
void expire_waiters(struct worker *w);

/* http_stream.c */
void stream_begin(struct worker *, struct conn *, const struct http_response *);
void stream_end(struct worker *, struct conn *);
void stream_input(struct worker *, struct conn *);
void stream_flush(struct worker *, struct conn *);
void stream_pump(struct worker *);
void stream_tick(struct worker *);
void streams_going_away(struct worker *);
void stream_publish(struct worker *);

#endif
