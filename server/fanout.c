/*
 * fanout.c - the CT stream fan-out of an HTTP worker (see fanout.h).
 *
 * Runs in every HTTP worker.  The worker has one ring cursor; each record
 * it reads (untrusted shared memory: streamrec_parse validates it) becomes
 * one frame in a window of the last cap frames: for each shape, the
 * websocket header followed by the JSON the watcher serialised, in one
 * allocation.  A client is only a frame number and an offset into that
 * frame, so the per-client cost is a writev of pointers into the window.
 *
 * Window invariant: after every pull the caller runs fanout_client_check()
 * on every client, which leaves each client at most queue frames behind;
 * a pull adds at most min(queue, FANOUT_BATCH) frames and cap = queue +
 * FANOUT_BATCH + 1, so the frame a client is on is always still in the
 * window.  The caller writes to every client between pulls, so only a
 * client whose socket is full falls behind, never one that was merely
 * handed a burst.  A
 * client that is skipped half-way through a frame gets the rest of that
 * frame copied (its "carry"), so the websocket stream is never cut
 * mid-frame.
 *
 * A client is owed the records published from the moment it attached
 * (the ring's head then, kept as its "from"), whatever the worker's own
 * cursor had read by then: frames of older records are never sent to it.
 *
 * Control frames (pongs, pings, heartbeats, close) are the caller's
 * buffer; they are written only between data frames.
 *
 * Failures: a record that does not parse is counted and dropped; a write
 * error is returned to the caller, which closes that client only.
 */
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "server/fanout.h"
#include "server/stream_filter.h"
#include "common/log.h"
#include "common/streamrec.h"
#include "server/ws.h"
#include "common/xmalloc.h"

#define WRITE_ROUNDS 8            /* writev calls per write attempt */
#define WRITE_BYTES  (512 * 1024) /* bytes offered per writev */

static const uint32_t shape_kind[FANOUT_SHAPES] = {
	[FANOUT_LITE] = STREAMREC_LITE,
	[FANOUT_FULL] = STREAMREC_FULL,
	[FANOUT_DOMAINS] = STREAMREC_DOMAINS,
};

static int frame_build(
    struct fanout *, struct fanout_frame *, const struct streamrec_view *);
static uint64_t frame_jsseq(const struct streamrec_view *);
static void     frame_deflate(struct fanout *, struct fanout_frame *,
        const uint8_t *const *, const size_t *);
static struct fanout_frame *frame_at(struct fanout *, uint64_t);
static size_t
plain_len(struct fanout *, const struct fanout_client *, uint64_t);

struct fanout *
fanout_new(struct ring *r, size_t queue)
{
	struct fanout *f;

	if (r == NULL || ring_max_record(r) == 0 || queue == 0) {
		log_warnx("fanout: no usable stream ring");
		return (NULL);
	}
	f = xcalloc(1, sizeof(*f));
	f->ring = r;
	f->rec_max = ring_max_record(r);
	f->rec = xmalloc(f->rec_max);
	f->queue = queue;
	f->cap = queue + FANOUT_BATCH + 1;
	f->win = xcalloc(f->cap, sizeof(*f->win));
	f->head = 1;
	ring_cursor_head(r, &f->cur);
	return (f);
}

void
fanout_free(struct fanout *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->cap; i++) {
		free(f->win[i].mem);
		free(f->win[i].zmem);
	}
	if (f->z != NULL) {
		deflateEnd(f->z);
		free(f->z);
	}
	free(f->win);
	free(f->rec);
	free(f);
}

int
fanout_enable_deflate(struct fanout *f)
{
	z_stream *z;

	if (f->z != NULL)
		return (0);
	z = xcalloc(1, sizeof(*z));
	/* Raw deflate (RFC 7692), 15-bit window, default level. */
	if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	        Z_DEFAULT_STRATEGY) != Z_OK) {
		log_warnx("fanout: zlib deflateInit2 failed");
		free(z);
		return (-1);
	}
	f->z = z;
	return (0);
}

/*
 * One message compressed on its own (no context takeover): a fresh
 * stream, Z_SYNC_FLUSH, and the 00 00 ff ff tail taken off (RFC 7692
 * 7.2.1).  The length, or 0 when it does not work out.
 */
static size_t
deflate_once(
    z_stream *z, const uint8_t *in, size_t len, unsigned char *out, size_t cap)
{
	size_t n;

	if (deflateReset(z) != Z_OK)
		return (0);
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	if (deflate(z, Z_SYNC_FLUSH) != Z_OK || z->avail_in != 0 ||
	    z->avail_out == 0)
		return (0);
	n = cap - z->avail_out;
	if (n < 5 || memcmp(out + n - 4, "\0\0\377\377", 4) != 0)
		return (0);
	return (n - 4);
}

/* The compressed frames of every shape, once, for all FANOUT_WSZ clients. */
static void
frame_deflate(struct fanout *f, struct fanout_frame *fr,
    const uint8_t *const *json, const size_t *jlen)
{
	unsigned char *tmp, *p;
	size_t         bound[FANOUT_SHAPES], total = 0, zl, hl;
	uint8_t        hdr[10];
	int            s;

	for (s = 0; s < FANOUT_SHAPES; s++) {
		bound[s] = json[s] == NULL
		    ? 0
		    : deflateBound(f->z, (uLong)jlen[s]) + 16;
		total += bound[s] + 10;
	}
	p = fr->zmem = xmalloc(total);
	tmp = xmalloc(total);
	for (s = 0; s < FANOUT_SHAPES; s++) {
		if (json[s] == NULL)
			continue;
		zl = deflate_once(f->z, json[s], jlen[s], tmp, bound[s]);
		if (zl == 0) {
			f->zfail++; /* this shape goes out uncompressed */
			fr->out[FANOUT_WSZ][s] = fr->out[FANOUT_WS][s];
			fr->outlen[FANOUT_WSZ][s] = fr->outlen[FANOUT_WS][s];
			continue;
		}
		hl = ws_frame_header(hdr, WS_RSV1 | WS_OP_TEXT, zl);
		memcpy(p, hdr, hl);
		memcpy(p + hl, tmp, zl);
		fr->out[FANOUT_WSZ][s] = p;
		fr->outlen[FANOUT_WSZ][s] = hl + zl;
		p += hl + zl;
	}
	free(tmp);
}

static struct fanout_frame *
frame_at(struct fanout *f, uint64_t lseq)
{
	return (&f->win[lseq % f->cap]);
}

/*
 * The SSE event of one shape: "data: " + the JSON without its trailing
 * newline + "\n\n" (one line: the JSON has no raw newline inside).
 */
static unsigned char *
sse_event(struct fanout_frame *fr, int s, unsigned char *p, const uint8_t *json,
    size_t len)
{
	while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == '\r'))
		len--;
	if (memchr(json, '\n', len) != NULL || memchr(json, '\r', len) != NULL)
		return (p); /* not one line: no SSE form of this one */
	fr->out[FANOUT_SSE][s] = p;
	memcpy(p, "data: ", 6);
	memcpy(p + 6, json, len);
	memcpy(p + 6 + len, "\n\n", 2);
	fr->outlen[FANOUT_SSE][s] = len + 8;
	return (p + len + 8);
}

/* The JetStream sequence a stream front put in the record, or 0. */
static uint64_t
frame_jsseq(const struct streamrec_view *v)
{
	const uint8_t *p;
	uint64_t       seq = 0;
	size_t         len;

	p = streamrec_section(v, STREAMREC_JSSEQ, &len);
	if (p != NULL && len == sizeof(seq))
		memcpy(&seq, p, sizeof(seq));
	return (seq);
}

/* Lay out every shape's websocket frame, and the names, in one block. */
static int
frame_build(
    struct fanout *f, struct fanout_frame *fr, const struct streamrec_view *v)
{
	const uint8_t *json[FANOUT_SHAPES], *names;
	size_t         jlen[FANOUT_SHAPES], nlen = 0, total = 0, hl;
	uint8_t        hdr[10];
	unsigned char *p;
	int            s;

	names = streamrec_section(v, STREAMREC_NAMES, &nlen);
	for (s = 0; s < FANOUT_SHAPES; s++) {
		json[s] = streamrec_section(v, shape_kind[s], &jlen[s]);
		if (json[s] != NULL)
			total += 10 + jlen[s] + 8 + jlen[s];
	}
	if (names != NULL)
		total += nlen + 1;
	if (total == 0)
		return (-1);
	free(fr->mem);
	free(fr->zmem);
	memset(fr, 0, sizeof(*fr));
	p = fr->mem = xmalloc(total);
	for (s = 0; s < FANOUT_SHAPES; s++) {
		if (json[s] == NULL)
			continue;
		hl = ws_frame_header(hdr, WS_OP_TEXT, jlen[s]);
		fr->out[FANOUT_WS][s] = p;
		memcpy(p, hdr, hl);
		memcpy(p + hl, json[s], jlen[s]);
		fr->json[s] = p + hl;
		fr->jsonlen[s] = jlen[s];
		fr->outlen[FANOUT_WS][s] = hl + jlen[s];
		p += hl + jlen[s];
		p = sse_event(fr, s, p, json[s], jlen[s]);
	}
	if (names != NULL) {
		memcpy(p, names, nlen);
		p[nlen] = '\0';
		fr->names = (const char *)p;
		fr->names_len = nlen;
	}
	if (f->z != NULL && f->nz > 0)
		frame_deflate(f, fr, json, jlen);
	fr->flags = v->flags;
	fr->log_id = v->log_id;
	fr->cert_index = v->cert_index;
	fr->jsseq = frame_jsseq(v);
	return (0);
}

size_t
fanout_pull(struct fanout *f)
{
	struct streamrec_view v;
	struct fanout_frame  *fr;
	enum ring_result      rr;
	uint64_t              lost;
	uint32_t              type;
	size_t                len, n = 0, tries, max;

	/* At most queue frames per pull: a burst must not look like lag. */
	max = f->queue < FANOUT_BATCH ? f->queue : FANOUT_BATCH;
	for (tries = 0; n < max && tries < 4 * FANOUT_BATCH; tries++) {
		rr = ring_read(
		    f->ring, &f->cur, &type, f->rec, f->rec_max, &len, &lost);
		if (rr == RING_EMPTY)
			break;
		if (rr == RING_OVERRUN) {
			f->ring_lost += lost;
			continue;
		}
		if (rr != RING_OK) { /* cannot happen: rec holds the max */
			f->ring_lost++;
			ring_cursor_head(f->ring, &f->cur);
			continue;
		}
		if (type != STREAMREC_TYPE_ENTRY)
			continue;
		fr = frame_at(f, f->head);
		if (streamrec_parse(f->rec, len, &v) == -1 ||
		    frame_build(f, fr, &v) == -1) {
			f->bad++;
			continue;
		}
		fr->lseq = f->head++;
		fr->rseq = f->cur.seq - 1; /* ring_read moved past it */
		f->frames_in++;
		n++;
	}
	return (n);
}

void
fanout_idle(struct fanout *f)
{
	ring_cursor_head(f->ring, &f->cur);
}

uint64_t
fanout_newest_jsseq(const struct fanout *f)
{
	return (f->head > 1 ? f->win[(f->head - 1) % f->cap].jsseq : 0);
}

int
fanout_wants(const struct fanout_client *fc, const struct fanout_frame *fr)
{
	return (fr->outlen[fc->enc][fc->shape] != 0 && fr->rseq >= fc->from &&
	    fr->jsseq >= fc->min_jsseq &&
	    (fc->filter == NULL ||
	        stream_filter_match(
	            fc->filter, fr->flags, fr->names, fr->names_len)));
}

void
fanout_client_init(struct fanout *f, struct fanout_client *fc,
    enum fanout_shape shape, enum fanout_enc enc)
{
	struct ring_cursor head;

	memset(fc, 0, sizeof(*fc));
	fc->shape = shape;
	if (enc == FANOUT_WSZ && f->z == NULL)
		enc = FANOUT_WS; /* cannot compress: plain frames */
	fc->enc = enc;
	if (enc == FANOUT_WSZ)
		f->nz++;
	fc->seq = f->head;
	/*
	 * The client is owed exactly the records published from now on:
	 * those at or after the ring's head.  The fan-out's own cursor may
	 * lag the head (it pulls every few ms, a bounded batch at a time),
	 * so records pulled later can still be older than the client.
	 */
	ring_cursor_head(f->ring, &head);
	fc->from = head.seq;
}

static void
carry_free(struct fanout_client *fc)
{
	free(fc->carry);
	fc->carry = NULL;
	fc->carry_len = fc->carry_off = 0;
	fc->carry_frames = 0;
}

void
fanout_client_free(struct fanout *f, struct fanout_client *fc)
{
	carry_free(fc);
	if (f != NULL && fc->enc == FANOUT_WSZ && f->nz > 0)
		f->nz--;
	fc->enc = FANOUT_WS;
}

void
fanout_client_check(struct fanout *f, struct fanout_client *fc)
{
	struct fanout_frame *fr;
	uint64_t             s, newest, n = 0;

	/* Frames older than the client are not lag: step over them. */
	while (fc->off == 0 && fc->seq < f->head &&
	    frame_at(f, fc->seq)->rseq < fc->from)
		fc->seq++;
	if (f->head - fc->seq <= f->queue)
		return;
	newest = f->head - 1;
	s = fc->seq;
	if (fc->off > 0) {
		/* Keep the websocket stream whole: finish this frame. */
		fr = frame_at(f, s);
		free(fc->carry);
		fc->carry_plain = plain_len(f, fc, s);
		fc->carry_len = fr->outlen[fc->enc][fc->shape] - fc->off;
		fc->carry = xmalloc(fc->carry_len);
		memcpy(fc->carry, fr->out[fc->enc][fc->shape] + fc->off,
		    fc->carry_len);
		fc->carry_off = 0;
		fc->off = 0;
		s++;
	}
	for (; s < newest; s++)
		if (fanout_wants(fc, frame_at(f, s)))
			n++;
	fc->seq = newest;
	fc->skipped += n;
	f->skipped[fc->shape] += n;
}

int
fanout_client_pending(const struct fanout *f, const struct fanout_client *fc)
{
	uint64_t s;

	if (fc->carry_off < fc->carry_len || fc->off > 0)
		return (1);
	if (f == NULL)
		return (0);
	for (s = fc->seq; s < f->head; s++)
		if (fanout_wants(fc, &f->win[s % f->cap]))
			return (1);
	return (0);
}

/* What one writev carries, in order. */
struct batch {
	struct iovec iov[FANOUT_IOV];
	uint64_t     lseq[FANOUT_IOV]; /* frame, or 0 for carry/ctl */
	int          what[FANOUT_IOV];
	int          n;
	uint64_t     scan_end; /* frames before this were considered */
};

enum { SEG_CARRY, SEG_PARTIAL, SEG_CTL, SEG_FRAME };

static void
batch_add(struct batch *b, int what, const void *p, size_t len, uint64_t lseq)
{
	b->iov[b->n].iov_base = (void *)(uintptr_t)p;
	b->iov[b->n].iov_len = len;
	b->what[b->n] = what;
	b->lseq[b->n] = lseq;
	b->n++;
}

/*
 * The JSON of frame fr for a seqf client, {"seq":N, + the rest, framed
 * for its encoding, at p (room: jsonlen + SEQ_EXTRA).  Its length.
 */
#define SEQ_EXTRA 48
static size_t
seq_frame(const struct fanout_client *fc, const struct fanout_frame *fr,
    unsigned char *p)
{
	const unsigned char *j = fr->json[fc->shape];
	size_t               jl = fr->jsonlen[fc->shape], pl, hl, n;
	char                 pre[32];
	uint8_t              hdr[10];
	int                  k;

	k = snprintf(
	    pre, sizeof(pre), "{\"seq\":%llu,", (unsigned long long)fr->jsseq);
	if (jl > 0 && j[0] == '{' && jl > 1 && j[1] != '}') {
		pl = (size_t)k;
		j++;
		jl--;
	} else
		pl = 0; /* not an object with members: as it is */
	if (fc->enc == FANOUT_SSE) {
		while (jl > 0 && (j[jl - 1] == '\n' || j[jl - 1] == '\r'))
			jl--;
		memcpy(p, "data: ", 6);
		memcpy(p + 6, pre, pl);
		memcpy(p + 6 + pl, j, jl);
		memcpy(p + 6 + pl + jl, "\n\n", 2);
		return (6 + pl + jl + 2);
	}
	hl = ws_frame_header(hdr, WS_OP_TEXT, pl + jl);
	memcpy(p, hdr, hl);
	n = hl;
	memcpy(p + n, pre, pl);
	memcpy(p + n + pl, j, jl);
	return (n + pl + jl);
}

/*
 * A seqf client's next frames, rewritten into its carry (up to
 * FANOUT_IOV frames or WRITE_BYTES); its position moves past them.
 */
static void
seq_carry(struct fanout *f, struct fanout_client *fc)
{
	struct fanout_frame *fr;
	uint64_t             s, end;
	size_t               total = 0, n = 0, o = 0;

	if (fc->carry_off < fc->carry_len || fc->off > 0)
		return;
	for (s = fc->seq; s < f->head && n < FANOUT_IOV && total < WRITE_BYTES;
	     s++) {
		fr = frame_at(f, s);
		if (!fanout_wants(fc, fr) || fr->json[fc->shape] == NULL)
			continue;
		total += fr->jsonlen[fc->shape] + SEQ_EXTRA;
		n++;
	}
	end = s;
	if (n == 0) {
		fc->seq = end;
		return;
	}
	carry_free(fc);
	fc->carry = xmalloc(total);
	fc->carry_plain = 0;
	for (s = fc->seq; s < end; s++) {
		fr = frame_at(f, s);
		if (!fanout_wants(fc, fr) || fr->json[fc->shape] == NULL)
			continue;
		o += seq_frame(fc, fr, fc->carry + o);
		fc->carry_plain += plain_len(f, fc, s);
	}
	fc->carry_len = o;
	fc->carry_frames = n;
	fc->seq = end;
}

static size_t
batch_build(struct fanout *f, struct fanout_client *fc, struct batch *b,
    const struct buf *ctl, size_t ctl_off, int ctl_only)
{
	struct fanout_frame *fr;
	uint64_t             s = fc->seq;
	size_t               bytes = 0;

	b->n = 0;
	if (fc->seqf && f != NULL && !ctl_only)
		seq_carry(f, fc);
	if (fc->carry_off < fc->carry_len) {
		batch_add(b, SEG_CARRY, fc->carry + fc->carry_off,
		    fc->carry_len - fc->carry_off, 0);
		bytes += fc->carry_len - fc->carry_off;
	} else if (fc->off > 0 && f != NULL) {
		fr = frame_at(f, s);
		batch_add(b, SEG_PARTIAL, fr->out[fc->enc][fc->shape] + fc->off,
		    fr->outlen[fc->enc][fc->shape] - fc->off, s);
		bytes += fr->outlen[fc->enc][fc->shape] - fc->off;
		s++;
	}
	if (ctl->len > ctl_off) {
		batch_add(
		    b, SEG_CTL, ctl->data + ctl_off, ctl->len - ctl_off, 0);
		bytes += ctl->len - ctl_off;
	}
	for (; !ctl_only && !fc->seqf && s < f->head && b->n < FANOUT_IOV &&
	     bytes < WRITE_BYTES;
	     s++) {
		fr = frame_at(f, s);
		if (!fanout_wants(fc, fr))
			continue;
		batch_add(b, SEG_FRAME, fr->out[fc->enc][fc->shape],
		    fr->outlen[fc->enc][fc->shape], s);
		bytes += fr->outlen[fc->enc][fc->shape];
	}
	b->scan_end = ctl_only || fc->seqf ? 0 : s;
	return (bytes);
}

/* What a frame would have been uncompressed (for the saving figures). */
static size_t
plain_len(struct fanout *f, const struct fanout_client *fc, uint64_t lseq)
{
	const struct fanout_frame *fr = frame_at(f, lseq);

	return (fc->enc == FANOUT_WSZ ? fr->outlen[FANOUT_WS][fc->shape]
	                              : fr->outlen[fc->enc][fc->shape]);
}

/* Account for n bytes written from batch b. */
static void
batch_done(struct fanout *f, struct fanout_client *fc, const struct batch *b,
    size_t n, struct buf *ctl, size_t *ctl_off)
{
	size_t   i, take;
	uint64_t k;
	int      all = 1;

	fc->bytes += n;
	if (f != NULL)
		f->bytes[fc->shape] += n;
	for (i = 0; i < (size_t)b->n; i++) {
		take = n < b->iov[i].iov_len ? n : b->iov[i].iov_len;
		n -= take;
		switch (b->what[i]) {
		case SEG_CARRY:
			fc->carry_off += take;
			if (fc->carry_off == fc->carry_len) {
				k = fc->carry_frames ? fc->carry_frames : 1;
				if (f != NULL) {
					f->sent[fc->shape] += k;
					f->plain[fc->shape] += fc->carry_plain;
				}
				carry_free(fc);
				fc->sent += k;
			}
			break;
		case SEG_CTL:
			*ctl_off += take;
			if (*ctl_off == ctl->len) {
				buf_reset(ctl);
				*ctl_off = 0;
			}
			break;
		default: /* SEG_PARTIAL, SEG_FRAME */
			if (take == b->iov[i].iov_len) {
				fc->seq = b->lseq[i] + 1;
				fc->off = 0;
				fc->sent++;
				f->sent[fc->shape]++; /* frames need f */
				f->plain[fc->shape] +=
				    plain_len(f, fc, b->lseq[i]);
			} else if (take > 0) {
				fc->seq = b->lseq[i];
				fc->off += take;
			}
			break;
		}
		if (take < b->iov[i].iov_len) {
			all = 0;
			break;
		}
	}
	/* Frames the filter passed over count as done once all went out. */
	if (all && b->scan_end > fc->seq)
		fc->seq = b->scan_end;
}

int
fanout_client_write(struct fanout *f, struct fanout_client *fc, int fd,
    struct buf *ctl, size_t *ctl_off, int ctl_only)
{
	struct batch b;
	size_t       want;
	ssize_t      n;
	int          round;

	if (f == NULL)
		ctl_only = 1; /* no ring: control frames only */
	for (round = 0; round < WRITE_ROUNDS; round++) {
		/* f is only used for frames, which ctl_only leaves out. */
		want = batch_build(f, fc, &b, ctl, *ctl_off, ctl_only);
		if (b.n == 0) {
			if (b.scan_end > fc->seq)
				fc->seq = b.scan_end;
			return (1);
		}
		n = writev(fd, b.iov, b.n);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		if (n <= 0)
			return (-1);
		batch_done(f, fc, &b, (size_t)n, ctl, ctl_off);
		if ((size_t)n < want)
			return (0);
	}
	return (fanout_client_pending(f, fc) || ctl->len > *ctl_off ? 0 : 1);
}
