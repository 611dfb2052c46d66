/*
 * fanout.h - CT stream fan-out in an HTTP worker: follow the shared ring,
 * turn each record into ready-to-send websocket frames once (one per
 * stream shape), and write them to every stream client with non-blocking
 * batched writev.  Each client is a position in the worker's window of
 * recent frames; a client that lags more than the queue length skips to
 * the newest frame, and the skip is counted.  Nothing here waits.
 */
#ifndef NOTARYD_FANOUT_H
#define NOTARYD_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/ring.h"

enum fanout_shape {
	FANOUT_LITE = 0,
	FANOUT_FULL,
	FANOUT_DOMAINS,
	FANOUT_SHAPES,
};

/* How a client receives frames. */
enum fanout_enc {
	FANOUT_WS = 0, /* websocket text frames */
	FANOUT_SSE,    /* Server-Sent Events "data:" events */
	FANOUT_WSZ,    /* websocket, permessage-deflate (RSV1) */
	FANOUT_ENCS,
};

struct stream_filter;

#define FANOUT_BATCH 64 /* records taken from the ring per pull */
#define FANOUT_IOV   64 /* segments per writev */

struct fanout_frame {
	uint64_t             lseq;  /* this worker's frame number */
	uint64_t             rseq;  /* the ring sequence number of its record */
	uint32_t             flags; /* STREAMREC_F_* */
	uint32_t             log_id;
	uint64_t             cert_index;
	uint64_t             jsseq; /* JetStream sequence, 0: unknown */
	unsigned char       *mem;   /* one allocation for all below */
	/* the JSON of each shape (inside out[FANOUT_WS]), or NULL */
	const unsigned char *json[FANOUT_SHAPES];
	size_t               jsonlen[FANOUT_SHAPES];
	/* [enc][shape]: websocket header + JSON, or "data: " JSON "\n\n" */
	const unsigned char *out[FANOUT_ENCS][FANOUT_SHAPES];
	size_t               outlen[FANOUT_ENCS][FANOUT_SHAPES]; /* 0: none */
	unsigned char       *zmem;  /* the FANOUT_WSZ frames, or NULL */
	const char          *names; /* NUL-separated all_domains */
	size_t               names_len;
};

struct fanout {
	struct ring         *ring;
	struct ring_cursor   cur;
	unsigned char       *rec; /* one ring record */
	size_t               rec_max;
	struct fanout_frame *win; /* win[lseq % cap] */
	void                *z;   /* zlib stream: NULL, no deflate */
	size_t               nz;  /* FANOUT_WSZ clients */
	size_t               cap;
	size_t               queue; /* lag allowed before a skip */
	uint64_t             head;  /* lseq of the next frame */
	/* Totals of this worker (the caller publishes them). */
	uint64_t             frames_in; /* records turned into frames */
	uint64_t             ring_lost; /* records the worker missed */
	uint64_t             bad;       /* records that did not parse */
	uint64_t             sent[FANOUT_SHAPES];    /* frames written */
	uint64_t             skipped[FANOUT_SHAPES]; /* frames skipped */
	uint64_t             bytes[FANOUT_SHAPES];   /* bytes written */
	uint64_t             plain[FANOUT_SHAPES];   /* uncompressed size */
	uint64_t             zfail; /* frames left uncompressed */
};

struct fanout_client {
	enum fanout_shape           shape;
	enum fanout_enc             enc;
	const struct stream_filter *filter;    /* NULL: every entry */
	int                         seqf;      /* frames with "seq":N */
	uint64_t                    min_jsseq; /* frames below: not sent */
	uint64_t                    id;        /* opaque, for metrics labels */
	uint64_t                    seq;       /* next frame to send */
	uint64_t                    from;      /* first ring seq it is owed */
	size_t                      off;       /* bytes of it already sent */
	unsigned char              *carry;     /* rest of a frame cut by */
	size_t                      carry_len; /* a skip, sent first */
	size_t                      carry_off;
	size_t                      carry_plain;  /* its uncompressed size */
	uint64_t                    carry_frames; /* whole frames in it */
	uint64_t                    sent;
	uint64_t                    skipped;
	uint64_t                    bytes; /* written to this client */
};

/*
 * A fan-out following ring r from its head, allowing clients to lag
 * queue frames (>= 1).  NULL (logged) if ring is unusable.
 */
struct fanout *fanout_new(struct ring *r, size_t queue);
void           fanout_free(struct fanout *f);
/* Compress frames for FANOUT_WSZ clients (once each).  0, or -1 (logged). */
int            fanout_enable_deflate(struct fanout *f);
/*
 * Take up to min(queue, FANOUT_BATCH) new records from the ring; returns
 * how many became frames.
 */
size_t         fanout_pull(struct fanout *f);
/* No clients: keep the cursor at the head instead of reading. */
void           fanout_idle(struct fanout *f);
/* The JetStream sequence of the newest frame (0: none, or not a front). */
uint64_t       fanout_newest_jsseq(const struct fanout *f);
/*
 * Does the frame go to this client (shape present, filter passes, its
 * JetStream sequence at least the client's min_jsseq)?
 */
int fanout_wants(const struct fanout_client *fc, const struct fanout_frame *fr);

/*
 * A new client is owed the records published from now on (those at or
 * after the ring's head), even those the fan-out pulls later.
 * A client whose seqf the caller then sets (with enc FANOUT_WS or
 * FANOUT_SSE) gets each frame's JSON with "seq":N first (N the entry's
 * JetStream sequence, on a stream front): copies made for it alone, a
 * batch at a time.
 */
void fanout_client_init(struct fanout *f, struct fanout_client *fc,
    enum fanout_shape shape, enum fanout_enc enc);
void fanout_client_free(struct fanout *f, struct fanout_client *fc);
/*
 * Enforce the queue bound after a pull: a client more than queue frames
 * behind skips to the newest frame (a frame it was half-way through is
 * finished first).  Must run for every client after every pull.
 */
void fanout_client_check(struct fanout *f, struct fanout_client *fc);
/* Frames (or a cut frame) waiting for this client. */
int
fanout_client_pending(const struct fanout *f, const struct fanout_client *fc);
/*
 * Write what is pending to fd: the rest of a frame in progress, then the
 * control bytes ctl[*ctl_off..] (only ever between frames), then new
 * frames (none when ctl_only).  Returns 1 when everything was written, 0
 * when the socket is full (wait for EPOLLOUT), -1 on a write error.
 * f may be NULL (no ring): control bytes only.
 */
int fanout_client_write(struct fanout *f, struct fanout_client *fc, int fd,
    struct buf *ctl, size_t *ctl_off, int ctl_only);

#endif
