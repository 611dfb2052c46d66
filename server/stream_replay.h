/*
 * stream_replay.h - ?since=<sequence> on a stream front: the entries a
 * client missed, read from JetStream by a thread of the HTTP worker and
 * handed to the worker's loop as ready frames (see stream_replay.c).
 */
#ifndef NOTARYD_STREAM_REPLAY_H
#define NOTARYD_STREAM_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/stream_filter.h"

struct conf;
struct replay;

#define REPLAY_PER_WORKER 4                 /* replays at once */
#define REPLAY_BUF        (4 * 1024 * 1024) /* frames ready, at most */

enum replay_state {
	REPLAY_RUNNING = 0,
	REPLAY_TOO_OLD, /* more than stream.max_replay entries back, or
	                   older than the stream keeps */
	REPLAY_FAILED,  /* NATS could not be read */
};

struct replay_req {
	const struct conf          *cf;
	uint64_t                    since;  /* entries with a sequence above */
	uint64_t                    max;    /* stream.max_replay */
	int                         shape;  /* enum fanout_shape */
	int                         sse;    /* SSE events, else ws frames */
	int                         seqf;   /* "seq":N in each JSON */
	const struct stream_filter *filter; /* copied; NULL: every entry */
};

/* Start the thread.  NULL (logged) when it cannot be started. */
struct replay *replay_start(const struct replay_req *rq);
/*
 * Append the frames ready so far to out if they all fit in its bound
 * (else none), and say how far they go: *last, the sequence of the last
 * entry looked at (sent or filtered out; 0: none yet).  Never waits for
 * NATS (only for the thread's lock).  Returns the replay's state.
 */
enum replay_state
     replay_take(struct replay *r, struct buf *out, uint64_t *last);
/* Why it failed, for the worker's log ("-" when not known). */
void replay_why(struct replay *r, char *buf, size_t len);
/* Stop and forget it (the thread ends by itself, soon). */
void replay_stop(struct replay *r);
/*
 * The frame of one entry's JSON for a client: a websocket text frame, or
 * an SSE event; with "seq":N first when seqf.  Pure; appends to out.
 * 0, or -1 when out is full.
 */
int replay_frame(struct buf *out, const uint8_t *json, size_t len, uint64_t seq,
    int sse, int seqf);

#endif
