/*
 * check_fanout.c - unit tests for server/fanout.c with a real ring made
 * here and real sockets (socketpairs): frames of each shape equal what
 * was published, batched writes, queue/skip accounting for a client that
 * never reads while a fast one gets every frame, frames cut by a skip or
 * interleaved with control frames stay whole, bad records are counted.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/buf.h"
#include "server/fanout.h"
#include "common/log.h"
#include "common/ring.h"
#include "common/streamrec.h"
#include "server/stream_filter.h"
#include "server/ws.h"
#include "tests/testutil.h"

/* The three JSON texts of entry i, deterministic and of varying length. */
static void
entry_json(uint64_t i, int kind, char *out, size_t len)
{
	size_t	n, pad = (size_t)(i * 37 % 500);

	if (kind == STREAMREC_DOMAINS)
		n = (size_t)snprintf(out, len, "{\"data\":[\"e%llu.example\"],"
		    "\"message_type\":\"dns_entries\"}", (unsigned long long)i);
	else
		n = (size_t)snprintf(out, len, "{\"data\":{\"cert_index\":%llu,"
		    "\"%s\":\"", (unsigned long long)i,
		    kind == STREAMREC_FULL ? "full" : "lite");
	if (kind != STREAMREC_DOMAINS) {
		if (kind == STREAMREC_FULL)
			pad *= 20;	/* bigger than 64K-framed sizes */
		memset(out + n, 'x', pad);
		n += pad;
		n += (size_t)snprintf(out + n, len - n, "\"},\"message_type\":"
		    "\"certificate_update\"}\n");
	}
}

/*
 * Entry i into the ring, as ctwatch writes it, or as a stream front does
 * (with its JetStream sequence) when jsseq is not 0.
 */
static void
publish_record(struct ring *r, uint64_t i, uint32_t flags, uint64_t jsseq)
{
	static char	full[16384], lite[1024], dom[256];
	char		names[64];
	struct streamrec_part parts[5];
	struct buf	b;
	int		n;

	entry_json(i, STREAMREC_FULL, full, sizeof(full));
	entry_json(i, STREAMREC_LITE, lite, sizeof(lite));
	entry_json(i, STREAMREC_DOMAINS, dom, sizeof(dom));
	n = snprintf(names, sizeof(names), "e%llu.example",
	    (unsigned long long)i);
	parts[0] = (struct streamrec_part){ STREAMREC_FULL, full, strlen(full) };
	parts[1] = (struct streamrec_part){ STREAMREC_LITE, lite, strlen(lite) };
	parts[2] = (struct streamrec_part){ STREAMREC_DOMAINS, dom,
	    strlen(dom) };
	parts[3] = (struct streamrec_part){ STREAMREC_NAMES, names,
	    (size_t)n + 1 };
	parts[4] = (struct streamrec_part){ STREAMREC_JSSEQ, &jsseq, 8 };
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(streamrec_build(&b, flags, 7, i, parts,
	    jsseq != 0 ? 5 : 4), 0);
	ck_assert_uint_ne(ring_publish(r, STREAMREC_TYPE_ENTRY, b.data, b.len),
	    0);
	buf_free(&b);
}

static void
publish_entry(struct ring *r, uint64_t i)
{
	publish_record(r, i, i % 2 ? STREAMREC_F_PRECERT : 0, 0);
}

/* A reader of server frames from a socket. */
struct rd {
	int		fd;
	unsigned char	*buf;
	size_t		 len, cap;
};

static void
rd_init(struct rd *rd, int fd)
{
	rd->fd = fd;
	rd->cap = 1 << 22;
	rd->buf = malloc(rd->cap);
	rd->len = 0;
	fcntl(fd, F_SETFL, O_NONBLOCK);
}

static void
rd_fill(struct rd *rd)
{
	ssize_t	n;

	while (rd->len < rd->cap &&
	    (n = read(rd->fd, rd->buf + rd->len, rd->cap - rd->len)) > 0)
		rd->len += (size_t)n;
}

/* Next complete frame: opcode, payload copied to p (NUL-ended). -1: none. */
static int
rd_frame(struct rd *rd, char *p, size_t plen, size_t *len)
{
	size_t	hl = 2, n, i;
	int	op;

	if (rd->len < 2)
		return (-1);
	op = rd->buf[0] & 0x0f;
	ck_assert_int_eq(rd->buf[0] & 0xf0, 0x80);	/* FIN, no RSV */
	ck_assert_int_eq(rd->buf[1] & 0x80, 0);		/* unmasked */
	n = rd->buf[1] & 0x7f;
	if (n == 126) {
		if (rd->len < 4)
			return (-1);
		n = (size_t)rd->buf[2] << 8 | rd->buf[3];
		hl = 4;
	} else if (n == 127) {
		if (rd->len < 10)
			return (-1);
		for (n = 0, i = 2; i < 10; i++)
			n = n << 8 | rd->buf[i];
		hl = 10;
	}
	if (rd->len < hl + n)
		return (-1);
	ck_assert_uint_lt(n, plen);
	memcpy(p, rd->buf + hl, n);
	p[n] = '\0';
	*len = n;
	memmove(rd->buf, rd->buf + hl + n, rd->len - hl - n);
	rd->len -= hl + n;
	return (op);
}

static uint64_t
index_of(const char *json)
{
	const char	*p = strstr(json, "\"cert_index\":");

	if (p == NULL && (p = strstr(json, "[\"e")) != NULL)
		return (strtoull(p + 3, NULL, 10));
	ck_assert_ptr_nonnull(p);
	return (strtoull(p + 13, NULL, 10));
}

static void
pair(int sv[2], int sndbuf)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	if (sndbuf > 0) {
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf,
		    sizeof(sndbuf));
	}
}

/* Every shape receives exactly the published JSON, in order. */
START_TEST(test_shapes_exact)
{
	static char		 got[1 << 16], want[1 << 16];
	struct ring		*r;
	struct fanout		*f;
	struct fanout_client	 fc[FANOUT_SHAPES];
	struct rd		 rd[FANOUT_SHAPES];
	struct buf		 ctl;
	size_t			 ctl_off = 0, len;
	int			 sv[FANOUT_SHAPES][2], s;
	uint64_t		 i;
	static const int	 kind[] = { STREAMREC_LITE, STREAMREC_FULL,
	    STREAMREC_DOMAINS };

	ck_assert_ptr_nonnull(r = ring_create(4 << 20));
	publish_entry(r, 999);		/* before: not seen by the fan-out */
	ck_assert_ptr_nonnull(f = fanout_new(r, 300));
	buf_init(&ctl, 4096);
	for (s = 0; s < FANOUT_SHAPES; s++) {
		pair(sv[s], 0);
		rd_init(&rd[s], sv[s][1]);
		fanout_client_init(f, &fc[s], (enum fanout_shape)s, FANOUT_WS);
	}
	for (i = 1; i <= 40; i++)
		publish_entry(r, i);
	ck_assert_uint_eq(fanout_pull(f), 40);
	ck_assert_uint_eq(fanout_pull(f), 0);
	for (s = 0; s < FANOUT_SHAPES; s++) {
		fanout_client_check(f, &fc[s]);
		ck_assert(fanout_client_pending(f, &fc[s]));
		ck_assert_int_eq(fanout_client_write(f, &fc[s], sv[s][0], &ctl,
		    &ctl_off, 0), 1);
		ck_assert(!fanout_client_pending(f, &fc[s]));
		ck_assert_uint_eq(fc[s].sent, 40);
		ck_assert_uint_eq(fc[s].skipped, 0);
		rd_fill(&rd[s]);
		for (i = 1; i <= 40; i++) {
			ck_assert_int_eq(rd_frame(&rd[s], got, sizeof(got),
			    &len), 1);
			entry_json(i, kind[s], want, sizeof(want));
			ck_assert_str_eq(got, want);
		}
		ck_assert_int_eq(rd_frame(&rd[s], got, sizeof(got), &len), -1);
		close(sv[s][0]);
		close(sv[s][1]);
		free(rd[s].buf);
	}
	ck_assert_uint_eq(f->sent[FANOUT_LITE] + f->sent[FANOUT_FULL] +
	    f->sent[FANOUT_DOMAINS], 120);
	ck_assert_uint_eq(f->sent[FANOUT_DOMAINS], 40);
	ck_assert_uint_eq(f->frames_in, 40);
	buf_free(&ctl);
	fanout_free(f);
	ring_destroy(r);
}
END_TEST

/*
 * A client that never reads is skipped ahead and counted; a fast client
 * on the same fan-out gets every frame; once the slow one reads, its
 * stream is whole frames in increasing order and received + skipped
 * equals published.
 */
START_TEST(test_slow_and_fast)
{
	static char		 got[1 << 16];
	struct ring		*r;
	struct fanout		*f;
	struct fanout_client	 fast, slow;
	struct rd		 rfast, rslow;
	struct buf		 ctl_f, ctl_s;
	size_t			 off_f = 0, off_s = 0, len;
	int			 sf[2], ss[2], round, res;
	uint64_t		 i = 0, nfast = 0, nslow = 0, last = 0, idx;
	const uint64_t		 total = 2000;

	ck_assert_ptr_nonnull(r = ring_create(16 << 20));
	ck_assert_ptr_nonnull(f = fanout_new(r, 50));
	buf_init(&ctl_f, 4096);
	buf_init(&ctl_s, 4096);
	pair(sf, 0);
	pair(ss, 8192);
	rd_init(&rfast, sf[1]);
	rd_init(&rslow, ss[1]);
	fanout_client_init(f, &fast, FANOUT_FULL, FANOUT_WS);
	fanout_client_init(f, &slow, FANOUT_FULL, FANOUT_WS);
	for (round = 0; i < total; round++) {
		uint64_t k;
		for (k = 0; k < 20 && i < total; k++)
			publish_entry(r, ++i);
		/* the slow client queues a pong: it must stay between frames */
		ck_assert_int_eq(buf_append(&ctl_s, "\x8a\x02hi", 4), 0);
		while (fanout_pull(f) > 0) {
			fanout_client_check(f, &fast);
			fanout_client_check(f, &slow);
		}
		ck_assert_int_ne(fanout_client_write(f, &fast, sf[0], &ctl_f,
		    &off_f, 0), -1);
		ck_assert_int_ne(fanout_client_write(f, &slow, ss[0], &ctl_s,
		    &off_s, 0), -1);
		/* the fast reader drains until it has everything */
		do {
			rd_fill(&rfast);
			while (rd_frame(&rfast, got, sizeof(got), &len) == 1) {
				ck_assert_uint_eq(index_of(got), ++nfast);
			}
			res = fanout_client_write(f, &fast, sf[0], &ctl_f,
			    &off_f, 0);
			ck_assert_int_ne(res, -1);
		} while (res == 0 || rfast.len > 0);
	}
	ck_assert_uint_eq(nfast, total);
	ck_assert_uint_eq(fast.skipped, 0);
	ck_assert_uint_gt(slow.skipped, 0);
	ck_assert_uint_eq(f->skipped[FANOUT_FULL], slow.skipped);
	ck_assert_uint_eq(f->skipped[FANOUT_LITE], 0);
	/* now the slow one reads everything it was given */
	do {
		rd_fill(&rslow);
		while ((res = rd_frame(&rslow, got, sizeof(got), &len)) != -1) {
			if (res == 0xa) {
				ck_assert_str_eq(got, "hi");
				continue;
			}
			ck_assert_int_eq(res, 1);
			idx = index_of(got);
			ck_assert_uint_gt(idx, last);
			last = idx;
			nslow++;
		}
		res = fanout_client_write(f, &slow, ss[0], &ctl_s, &off_s, 0);
		ck_assert_int_ne(res, -1);
	} while (res == 0 || rslow.len > 0);
	ck_assert_uint_eq(last, total);
	ck_assert_uint_eq(nslow, slow.sent);
	ck_assert_uint_eq(nslow + slow.skipped, total);
	fanout_client_free(f, &slow);
	close(sf[0]);
	close(sf[1]);
	close(ss[0]);
	close(ss[1]);
	free(rfast.buf);
	free(rslow.buf);
	buf_free(&ctl_f);
	buf_free(&ctl_s);
	fanout_free(f);
	ring_destroy(r);
}
END_TEST

/* Control frames only: new frames wait; a broken socket is an error. */
START_TEST(test_ctl_only_and_errors)
{
	static char		 got[1 << 16];
	struct ring		*r;
	struct fanout		*f;
	struct fanout_client	 fc;
	struct rd		 rd;
	struct buf		 ctl;
	size_t			 off = 0, len;
	int			 sv[2];

	ck_assert_ptr_null(fanout_new(NULL, 10));
	ck_assert_ptr_nonnull(r = ring_create(1 << 20));
	ck_assert_ptr_nonnull(f = fanout_new(r, 10));
	/* garbage and foreign records are dropped and counted */
	ck_assert_uint_ne(ring_publish(r, STREAMREC_TYPE_ENTRY, "junk", 4), 0);
	ck_assert_uint_ne(ring_publish(r, 77, "other", 5), 0);
	publish_entry(r, 1);
	ck_assert_uint_eq(fanout_pull(f), 1);
	ck_assert_uint_eq(f->bad, 1);
	ck_assert_uint_eq(f->frames_in, 1);
	pair(sv, 0);
	rd_init(&rd, sv[1]);
	fanout_client_init(f, &fc, FANOUT_DOMAINS, FANOUT_WS);
	publish_entry(r, 2);
	ck_assert_uint_eq(fanout_pull(f), 1);
	buf_init(&ctl, 4096);
	buf_append(&ctl, "\x88\x02\x03\xe8", 4);	/* close 1000 */
	ck_assert_int_eq(fanout_client_write(f, &fc, sv[0], &ctl, &off, 1), 1);
	ck_assert_uint_eq(ctl.len, 0);
	rd_fill(&rd);
	ck_assert_int_eq(rd_frame(&rd, got, sizeof(got), &len), 8);
	ck_assert_int_eq(rd_frame(&rd, got, sizeof(got), &len), -1);
	ck_assert(fanout_client_pending(f, &fc));
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(fanout_client_write(f, &fc, sv[0], &ctl, &off, 0), -1);
	close(sv[0]);
	free(rd.buf);
	buf_free(&ctl);
	fanout_free(f);
	ring_destroy(r);
}
END_TEST

/* SSE encoding, and a filter: only precerts, only e3/e5... names. */
START_TEST(test_sse_filtered)
{
	static char		 got[1 << 16], want[1 << 16], lite[4096];
	struct ring		*r;
	struct fanout		*f;
	struct fanout_client	 fc, all;
	struct stream_filter	 filt;
	struct buf		 ctl;
	const char		*why;
	size_t			 off = 0, n = 0, len;
	int			 sv[2], sa[2];
	uint64_t		 i;
	ssize_t			 k;

	ck_assert_ptr_nonnull(r = ring_create(1 << 20));
	ck_assert_ptr_nonnull(f = fanout_new(r, 50));
	ck_assert_int_eq(stream_filter_parse("type=precert&domains=e3.example,"
	    "e5.example,e6.example", 53, &filt, &why), 0);
	buf_init(&ctl, 4096);
	pair(sv, 0);
	pair(sa, 0);
	fanout_client_init(f, &fc, FANOUT_LITE, FANOUT_SSE);
	fc.filter = &filt;
	fanout_client_init(f, &all, FANOUT_DOMAINS, FANOUT_SSE);
	for (i = 1; i <= 10; i++)
		publish_entry(r, i);	/* odd i: precert */
	ck_assert_uint_eq(fanout_pull(f), 10);
	fanout_client_check(f, &fc);
	ck_assert_int_eq(fanout_client_write(f, &fc, sv[0], &ctl, &off, 0), 1);
	ck_assert_int_eq(fanout_client_write(f, &all, sa[0], &ctl, &off, 0), 1);
	ck_assert_uint_eq(fc.sent, 2);		/* e3 and e5 (e6: x509) */
	ck_assert_uint_eq(all.sent, 10);
	ck_assert(!fanout_client_pending(f, &fc));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	k = read(sv[1], got, sizeof(got) - 1);
	ck_assert_int_gt(k, 0);
	got[k] = '\0';
	for (i = 3; i <= 5; i += 2) {
		entry_json(i, STREAMREC_LITE, lite, sizeof(lite));
		lite[strlen(lite) - 1] = '\0';		/* the newline */
		len = (size_t)snprintf(want + n, sizeof(want) - n,
		    "data: %s\n\n", lite);
		n += len;
	}
	ck_assert_str_eq(got, want);
	k = read(sa[1], got, sizeof(got) - 1);
	got[k] = '\0';
	entry_json(1, STREAMREC_DOMAINS, lite, sizeof(lite));
	snprintf(want, sizeof(want), "data: %s\n\n", lite);
	ck_assert(strncmp(got, want, strlen(want)) == 0);
	close(sv[0]);
	close(sv[1]);
	close(sa[0]);
	close(sa[1]);
	buf_free(&ctl);
	fanout_free(f);
	ring_destroy(r);
}
END_TEST

/* Inflate one permessage-deflate payload (the 00 00 ff ff tail added). */
static size_t
inflate_msg(const unsigned char *in, size_t len, char *out, size_t cap)
{
	z_stream	z;
	unsigned char	buf[1 << 16];
	size_t		n;

	ck_assert_uint_le(len + 4, sizeof(buf));
	memcpy(buf, in, len);
	memcpy(buf + len, "\0\0\377\377", 4);
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, -15), Z_OK);
	z.next_in = buf;
	z.avail_in = (uInt)(len + 4);
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	ck_assert_int_ne(inflate(&z, Z_SYNC_FLUSH), Z_STREAM_ERROR);
	ck_assert_uint_eq(z.avail_in, 0);
	n = cap - z.avail_out;
	inflateEnd(&z);
	return (n);
}

/*
 * permessage-deflate: two compressing clients get the very same bytes
 * (compressed once), each frame has RSV1, and inflates (raw, with the
 * 00 00 ff ff tail put back) to the published JSON; a plain client on the
 * same fan-out still gets plain frames; the saving is counted.
 */
START_TEST(test_deflate_once)
{
	static char		 got[2][1 << 18], want[1 << 16], out[1 << 16];
	struct ring		*r;
	struct fanout		*f;
	struct fanout_client	 z1, z2, p;
	struct buf		 ctl;
	size_t			 off = 0, hl, plen, n;
	ssize_t			 k[2];
	int			 s1[2], s2[2], s3[2], i;
	const unsigned char	*q;
	uint64_t		 e;

	ck_assert_ptr_nonnull(r = ring_create(4 << 20));
	ck_assert_ptr_nonnull(f = fanout_new(r, 50));
	ck_assert_int_eq(fanout_enable_deflate(f), 0);
	buf_init(&ctl, 4096);
	pair(s1, 0);
	pair(s2, 0);
	pair(s3, 0);
	fanout_client_init(f, &z1, FANOUT_FULL, FANOUT_WSZ);
	fanout_client_init(f, &z2, FANOUT_FULL, FANOUT_WSZ);
	fanout_client_init(f, &p, FANOUT_FULL, FANOUT_WS);
	ck_assert_uint_eq(f->nz, 2);
	for (e = 1; e <= 5; e++)
		publish_entry(r, e);
	ck_assert_uint_eq(fanout_pull(f), 5);
	ck_assert_int_eq(fanout_client_write(f, &z1, s1[0], &ctl, &off, 0), 1);
	ck_assert_int_eq(fanout_client_write(f, &z2, s2[0], &ctl, &off, 0), 1);
	ck_assert_int_eq(fanout_client_write(f, &p, s3[0], &ctl, &off, 0), 1);
	k[0] = read(s1[1], got[0], sizeof(got[0]));
	k[1] = read(s2[1], got[1], sizeof(got[1]));
	ck_assert_int_gt(k[0], 0);
	ck_assert_int_eq(k[0], k[1]);
	ck_assert(memcmp(got[0], got[1], (size_t)k[0]) == 0);
	/*
	 * Saving counted: 3 clients' worth of plain bytes (P each) against
	 * 2 compressed (Z each) + 1 plain on the wire; Z < P/2 here (the
	 * test JSON is repetitive) so the wire is under 2/3 of plain.
	 */
	ck_assert_uint_lt(f->bytes[FANOUT_FULL] * 3, f->plain[FANOUT_FULL] * 2);
	q = (const unsigned char *)got[0];
	for (i = 1; i <= 5; i++) {
		ck_assert_int_eq(q[0], 0xc1);		/* FIN, RSV1, text */
		plen = q[1] & 0x7f;
		hl = 2;
		if (plen == 126) {
			plen = (size_t)q[2] << 8 | q[3];
			hl = 4;
		}
		n = inflate_msg(q + hl, plen, out, sizeof(out));
		entry_json((uint64_t)i, STREAMREC_FULL, want, sizeof(want));
		ck_assert_uint_eq(n, strlen(want));
		ck_assert(memcmp(out, want, n) == 0);
		q += hl + plen;
	}
	ck_assert_ptr_eq(q, (const unsigned char *)got[0] + k[0]);
	k[0] = read(s3[1], got[0], sizeof(got[0]));
	ck_assert_int_eq(((unsigned char *)got[0])[0], 0x81);	/* plain */
	fanout_client_free(f, &z1);
	fanout_client_free(f, &z2);
	ck_assert_uint_eq(f->nz, 0);
	for (i = 0; i < 2; i++) {
		close(s1[i]);
		close(s2[i]);
		close(s3[i]);
	}
	buf_free(&ctl);
	fanout_free(f);
	ring_destroy(r);
}
END_TEST

/*
 * A client is owed the records published after it attached, even when
 * the fan-out pulls older ones later (its cursor lags the ring's head,
 * as a busy worker's does): those are neither sent nor counted as skips,
 * and do not make the client look behind.
 */
START_TEST(test_attach_after_lag)
{
	static char		 got[1 << 16];
	struct ring		*r;
	struct fanout		*f;
	struct fanout_client	 old, fresh;
	struct rd		 rd;
	struct buf		 ctl;
	size_t			 ctl_off = 0, len;
	int			 sv[2], osv[2];
	uint64_t		 i;

	ck_assert_ptr_nonnull(r = ring_create(4 << 20));
	ck_assert_ptr_nonnull(f = fanout_new(r, 20));
	buf_init(&ctl, 4096);
	pair(osv, 0);
	fanout_client_init(f, &old, FANOUT_LITE, FANOUT_WS);
	for (i = 1; i <= 30; i++)	/* not yet pulled: the cursor lags */
		publish_entry(r, i);
	pair(sv, 0);
	rd_init(&rd, sv[1]);
	fanout_client_init(f, &fresh, FANOUT_LITE, FANOUT_WS);
	for (i = 31; i <= 35; i++)
		publish_entry(r, i);
	while (fanout_pull(f) > 0) {
		fanout_client_check(f, &old);
		fanout_client_check(f, &fresh);
		ck_assert_int_eq(fanout_client_write(f, &old, osv[0], &ctl,
		    &ctl_off, 0), 1);
		ck_assert_int_eq(fanout_client_write(f, &fresh, sv[0], &ctl,
		    &ctl_off, 0), 1);
	}
	ck_assert_uint_eq(old.sent, 35);
	ck_assert_uint_eq(fresh.sent, 5);
	ck_assert_uint_eq(fresh.skipped, 0);
	ck_assert_uint_eq(old.skipped, 0);
	rd_fill(&rd);
	for (i = 31; i <= 35; i++) {
		ck_assert_int_eq(rd_frame(&rd, got, sizeof(got), &len), 1);
		ck_assert_uint_eq(index_of(got), i);
	}
	ck_assert_int_eq(rd_frame(&rd, got, sizeof(got), &len), -1);
	close(sv[0]);
	close(sv[1]);
	close(osv[0]);
	close(osv[1]);
	free(rd.buf);
	buf_free(&ctl);
	fanout_free(f);
	ring_destroy(r);
}
END_TEST

/*
 * ?seq=1 clients: each frame's JSON starts with "seq":N (the record's
 * JetStream sequence) and is otherwise the published JSON, websocket
 * (frames of every length class) and SSE; a plain client on the same
 * frames still gets the bytes unchanged; a close frame queued between
 * two writes comes out between whole frames.
 */
START_TEST(test_seq_field)
{
	static char		 got[1 << 17], want[1 << 17], json[1 << 16];
	struct ring		*r;
	struct fanout		*f;
	struct fanout_client	 ws, sse, plain;
	struct buf		 ctl, none;
	struct rd		 rw, rp;
	size_t			 off = 0, noff = 0, len;
	int			 sw[2], ss[2], sp[2], tries, op;
	uint64_t		 i;
	ssize_t			 k;

	ck_assert_ptr_nonnull(r = ring_create(4 << 20));
	ck_assert_ptr_nonnull(f = fanout_new(r, 500));
	buf_init(&ctl, 4096);
	buf_init(&none, 4096);
	pair(sw, 0);
	pair(ss, 0);
	pair(sp, 0);
	fanout_client_init(f, &ws, FANOUT_FULL, FANOUT_WS);
	ws.seqf = 1;
	fanout_client_init(f, &sse, FANOUT_DOMAINS, FANOUT_SSE);
	sse.seqf = 1;
	fanout_client_init(f, &plain, FANOUT_FULL, FANOUT_WS);
	for (i = 1; i <= 100; i++)
		publish_record(r, i, 0, 1000 + 4 * i);
	rd_init(&rw, sw[1]);
	rd_init(&rp, sp[1]);
	for (tries = 0; tries < 200 && (ws.sent < 100 || plain.sent < 100 ||
	    sse.sent < 100); tries++) {
		(void)fanout_pull(f);
		fanout_client_check(f, &ws);
		fanout_client_check(f, &sse);
		fanout_client_check(f, &plain);
		if (tries == 1)
			ck_assert_int_eq(ws_put_close(&ctl, 1000, "x"), 0);
		ck_assert_int_ge(fanout_client_write(f, &ws, sw[0], &ctl, &off,
		    0), 0);
		ck_assert_int_ge(fanout_client_write(f, &sse, ss[0], &none,
		    &noff, 0), 0);
		ck_assert_int_ge(fanout_client_write(f, &plain, sp[0], &none,
		    &noff, 0), 0);
		rd_fill(&rw);
		rd_fill(&rp);
	}
	ck_assert_uint_eq(ws.sent, 100);
	ck_assert_uint_eq(sse.sent, 100);
	ck_assert_uint_eq(plain.sent, 100);
	for (i = 1; i <= 100; i++) {
		while ((op = rd_frame(&rw, got, sizeof(got), &len)) == 8)
			;	/* the close frame, between two frames */
		ck_assert_int_eq(op, 1);
		entry_json(i, STREAMREC_FULL, json, sizeof(json));
		snprintf(want, sizeof(want), "{\"seq\":%llu,%s",
		    (unsigned long long)(1000 + 4 * i), json + 1);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert(memcmp(got, want, len) == 0);
		ck_assert_int_eq(rd_frame(&rp, got, sizeof(got), &len), 1);
		ck_assert_uint_eq(len, strlen(json));
		ck_assert(memcmp(got, json, len) == 0);
	}
	fcntl(ss[1], F_SETFL, O_NONBLOCK);
	k = read(ss[1], got, sizeof(got) - 1);
	ck_assert_int_gt(k, 0);
	got[k] = '\0';
	entry_json(1, STREAMREC_DOMAINS, json, sizeof(json));
	snprintf(want, sizeof(want), "data: {\"seq\":1004,%s\n\n", json + 1);
	ck_assert(strncmp(got, want, strlen(want)) == 0);
	close(sw[0]);
	close(sw[1]);
	close(ss[0]);
	close(ss[1]);
	close(sp[0]);
	close(sp[1]);
	free(rw.buf);
	free(rp.buf);
	fanout_client_free(f, &ws);
	fanout_client_free(f, &sse);
	fanout_client_free(f, &plain);
	buf_free(&ctl);
	buf_free(&none);
	fanout_free(f);
	ring_destroy(r);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("fanout");
	TCase	*tc = tu_tcase(s, "fanout", 60);

	tcase_add_test(tc, test_shapes_exact);
	tcase_add_test(tc, test_slow_and_fast);
	tcase_add_test(tc, test_ctl_only_and_errors);
	tcase_add_test(tc, test_sse_filtered);
	tcase_add_test(tc, test_deflate_once);
	tcase_add_test(tc, test_attach_after_lag);
	tcase_add_test(tc, test_seq_field);
	return (s);
}
