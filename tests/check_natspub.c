/*
 * check_natspub.c - unit tests for the NATS publisher (nats/natspub.c,
 * nats/npqueue.c, the nats: config keys) against a real nats-server.
 *
 * Each test starts nats-server (configure's NATS_SERVER) with JetStream
 * on a temporary directory and a free loopback port, makes a stream ring
 * and a status table, writes stream records into the ring the way
 * ctwatch does (streamrec_build + ring_publish), and runs the publisher's
 * loop (natspub_step) in the test's own process.  What arrived is read
 * back with libnats: a live subscription on the subjects, and the
 * JetStream stream itself, message by message.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/ring.h"
#include "common/status.h"
#include "common/streamrec.h"
#include "common/util.h"
#include "nats/natspub.h"
#include "nats/npqueue.h"
#include "tests/testutil.h"

#define RING_BYTES	(1024 * 1024)
#define PAYLOAD		1000		/* bytes of each section */

static pid_t		 server_pid = -1;
static int		 server_port;
static char		 server_url[64];
static struct ring	*ring;
static struct status	*st;
static struct conf	*cf;

/* A free loopback port (bound, read, closed). */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

static int
port_open(int port)
{
	struct sockaddr_in	sin;
	int			fd, ok;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return (ok);
}

/* nats-server -js on server_port, store in tu_dir/js; up within 10 s. */
static void
server_start(void)
{
	char	port[16];
	int64_t	until = mono_ms() + 10000;

	(void)snprintf(port, sizeof(port), "%d", server_port);
	server_pid = fork();
	ck_assert_int_ge(server_pid, 0);
	if (server_pid == 0) {
		if (!tu_verbose()) {
			(void)freopen("/dev/null", "w", stdout);
			(void)freopen("/dev/null", "w", stderr);
		}
		execl(NATS_SERVER, "nats-server", "-a", "127.0.0.1", "-p", port,
		    "-js", "-sd", tu_path("js"), "-P", tu_path("nats.pid"),
		    (char *)NULL);
		_exit(127);
	}
	while (!port_open(server_port)) {
		ck_assert_msg(mono_ms() < until, "nats-server did not start");
		usleep(20000);
	}
}

static void
server_stop(void)
{
	if (server_pid <= 0)
		return;
	(void)kill(server_pid, SIGTERM);
	ck_assert_int_ne(tu_wait_child(server_pid, 10000), -1);
	server_pid = -1;
}

/* The config: defaults plus these overrides, and the server's URL. */
static void
load_conf(const char *const *extra, size_t nextra)
{
	struct conf_override	ov[16];
	char			url[96], err[CONF_ERR_MAX];
	size_t			n = 0, i;

	(void)snprintf(url, sizeof(url), "[\"%s\"]", server_url);
	ov[n].key = "nats.url";
	ov[n++].value = url;
	ov[n].key = "daemon.data_dir";
	ov[n++].value = tu_dir;
	for (i = 0; i + 1 < nextra && n < TU_NELEM(ov); i += 2) {
		ov[n].key = extra[i];
		ov[n++].value = extra[i + 1];
	}
	cf = conf_load(NULL, ov, n, err, sizeof(err));
	ck_assert_msg(cf != NULL, "conf: %s", err);
}

static void
setup(void)
{
	tu_tmpdir_setup();
	server_port = free_port();
	(void)snprintf(server_url, sizeof(server_url), "nats://127.0.0.1:%d",
	    server_port);
	ring = ring_create(RING_BYTES);
	st = status_create();
	ck_assert_ptr_nonnull(ring);
	ck_assert_ptr_nonnull(st);
}

/*
 * The runner process: the test (a forked child) started the server, so
 * its pid comes from the server's pid file.
 */
static void
teardown(void)
{
	char	*pid;
	long	 p;

	if (access(tu_path("nats.pid"), R_OK) == 0 &&
	    (pid = tu_read_file(NULL, tu_path("nats.pid"), NULL)) != NULL) {
		if ((p = strtol(pid, NULL, 10)) > 1)
			(void)kill((pid_t)p, SIGKILL);
		free(pid);
	}
	if (cf != NULL)
		conf_free(cf);
	cf = NULL;
	ring_destroy(ring);
	status_destroy(st);
	tu_tmpdir_teardown();
}

/* Section text of record i, shape s: exactly PAYLOAD bytes. */
static void
payload(char *out, uint64_t i, const char *shape)
{
	int	n;

	n = snprintf(out, PAYLOAD + 1, "{\"i\":%llu,\"shape\":\"%s\",\"pad\":\"",
	    (unsigned long long)i, shape);
	memset(out + n, 'x', PAYLOAD - (size_t)n - 3);
	memcpy(out + PAYLOAD - 3, "\"}\n", 3);
	out[PAYLOAD] = '\0';
}

/* What ctwatch does for one entry: build the record, publish it. */
static void
put_record(uint32_t log_id, uint64_t i)
{
	static const char *const names[] = { "full", "lite", "domains" };
	static const uint32_t kinds[] = { STREAMREC_FULL, STREAMREC_LITE,
	    STREAMREC_DOMAINS };
	struct streamrec_part	parts[4];
	char			text[3][PAYLOAD + 1];
	struct buf		b;
	size_t			k;

	for (k = 0; k < 3; k++) {
		payload(text[k], i, names[k]);
		parts[k].kind = kinds[k];
		parts[k].data = text[k];
		parts[k].len = PAYLOAD;
	}
	parts[3].kind = STREAMREC_NAMES;
	parts[3].data = "example.com\0";
	parts[3].len = 12;
	buf_init(&b, 64 * 1024);
	ck_assert_int_eq(streamrec_build(&b, 0, log_id, i, parts, 4), 0);
	ck_assert_uint_ne(ring_publish(ring, STREAMREC_TYPE_ENTRY, b.data,
	    b.len), 0);
	buf_free(&b);
}

#define NGET(f)	atomic_load(&st->nats.f)
#define NC(f)	((unsigned long long)NGET(f))

/* Step the publisher until cond holds, within ms; the longest step. */
#define STEP_UNTIL(np, cond, ms) do {					\
	int64_t until_ = mono_ms() + (ms);				\
	while (!(cond)) {						\
		ck_assert_msg(mono_ms() < until_, "timed out: %s (state "	\
		    "%u taken %llu published %llu acked %llu failed %llu " \
		    "dropped %llu pending %llu buffered %llu records %llu bad %llu " \
		    "skipped %llu)", #cond,	\
		    NGET(state), NC(taken), NC(published), NC(acked),	\
		    NC(failed), NC(dropped), NC(pending), NC(buffered),	\
		    NC(records), NC(bad_records), NC(ring_skipped));	\
		if (natspub_step(np) == 0)				\
			usleep(2000);					\
	}								\
} while (0)


/* Message seq of the stream: its subject and payload are the expected. */
static void
expect_stream_msg(jsCtx *js, uint64_t seq, uint64_t i, const char *shape,
    const char *subject)
{
	natsMsg		*m = NULL;
	jsErrCode	 jerr = 0;
	char		 want[PAYLOAD + 1];

	ck_assert_int_eq(js_GetMsg(&m, js, "CERTSTREAM", seq, NULL, &jerr),
	    NATS_OK);
	payload(want, i, shape);
	ck_assert_str_eq(natsMsg_GetSubject(m), subject);
	ck_assert_int_eq(natsMsg_GetDataLength(m), PAYLOAD);
	ck_assert(memcmp(natsMsg_GetData(m), want, PAYLOAD) == 0);
	natsMsg_Destroy(m);
}

static uint64_t
stream_msgs(jsCtx *js)
{
	jsStreamInfo	*si = NULL;
	jsErrCode	 jerr = 0;
	uint64_t	 n;

	ck_assert_int_eq(js_GetStreamInfo(&si, js, "CERTSTREAM", NULL, &jerr),
	    NATS_OK);
	n = si->State.Msgs;
	jsStreamInfo_Destroy(si);
	return (n);
}

/*
 * 500 entries, three shapes: a live subscriber gets every message, in
 * order, byte for byte, on certstream.<shape>; the stream holds them all;
 * the counters add up.
 */
START_TEST(test_order_complete)
{
	static const char *const shapes[] = { "full", "lite", "domains" };
	struct natspub		*np;
	natsConnection		*nc = NULL;
	natsSubscription	*sub = NULL;
	natsMsg			*m;
	jsCtx			*js = NULL;
	uint64_t		 next[3] = { 0, 0, 0 }, i, n = 500;
	char			 want[PAYLOAD + 1], subj[64];
	size_t			 k, got;

	server_start();
	load_conf(NULL, 0);
	ck_assert_int_eq(natsConnection_ConnectTo(&nc, server_url), NATS_OK);
	ck_assert_int_eq(natsConnection_SubscribeSync(&sub, nc,
	    "certstream.>"), NATS_OK);
	ck_assert_int_eq(natsConnection_Flush(nc), NATS_OK);
	np = natspub_open(cf, ring, st);
	ck_assert_ptr_nonnull(np);
	STEP_UNTIL(np, NGET(state) == STATUS_NATS_CONNECTED, 10000);
	ck_assert_uint_eq(NGET(streams_created), 1);
	for (i = 0; i < n; i++) {	/* the ring holds ~340 of them */
		put_record(3, i);
		(void)natspub_step(np);
	}
	STEP_UNTIL(np, NGET(acked) == 3 * n, 20000);
	for (got = 0; got < 3 * n; got++) {
		ck_assert_int_eq(natsSubscription_NextMsg(&m, sub, 5000),
		    NATS_OK);
		for (k = 0; k < 3; k++) {
			(void)snprintf(subj, sizeof(subj), "certstream.%s",
			    shapes[k]);
			if (strcmp(natsMsg_GetSubject(m), subj) == 0)
				break;
		}
		ck_assert_uint_lt(k, 3);
		payload(want, next[k]++, shapes[k]);
		ck_assert_int_eq(natsMsg_GetDataLength(m), PAYLOAD);
		ck_assert(memcmp(natsMsg_GetData(m), want, PAYLOAD) == 0);
		natsMsg_Destroy(m);
	}
	ck_assert_uint_eq(next[0] + next[1] + next[2], 3 * n);
	ck_assert_int_eq(natsSubscription_NextMsg(&m, sub, 200), NATS_TIMEOUT);
	ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
	ck_assert_uint_eq(stream_msgs(js), 3 * n);
	expect_stream_msg(js, 1, 0, "full", "certstream.full");
	expect_stream_msg(js, 3 * n, n - 1, "domains", "certstream.domains");
	ck_assert_uint_eq(NGET(records), n);
	ck_assert_uint_eq(NGET(taken), 3 * n);
	ck_assert_uint_eq(NGET(published), 3 * n);
	ck_assert_uint_eq(NGET(failed) + NGET(dropped) + NGET(ring_skipped) +
	    NGET(bad_records) + NGET(pending) + NGET(buffered), 0);
	jsCtx_Destroy(js);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
	natspub_close(np, 1000);
	ck_assert_uint_eq(NGET(state), STATUS_NATS_OFF);
}
END_TEST

/*
 * nats.shapes [lite] with per-log subjects and another prefix and
 * stream: one message per entry on prefix.lite.log<N>; the stream is
 * created with the configured limits.
 */
START_TEST(test_shapes_per_log)
{
	static const char *const extra[] = {
		"nats.shapes", "[lite]", "nats.per_log_subjects", "true",
		"nats.subject_prefix", "ct.live", "nats.max_age", "2h",
		"nats.max_bytes", "64M",
	};
	struct natspub	*np;
	const char	*hdr = NULL;
	natsConnection	*nc = NULL;
	jsCtx		*js = NULL;
	jsStreamInfo	*si = NULL;
	jsErrCode	 jerr = 0;
	natsMsg		*m = NULL;
	char		 want[PAYLOAD + 1];

	server_start();
	load_conf(extra, TU_NELEM(extra));
	np = natspub_open(cf, ring, st);
	ck_assert_ptr_nonnull(np);
	STEP_UNTIL(np, NGET(state) == STATUS_NATS_CONNECTED, 10000);
	put_record(7, 41);
	put_record(UINT32_MAX, 42);
	STEP_UNTIL(np, NGET(acked) == 2, 10000);
	ck_assert_int_eq(natsConnection_ConnectTo(&nc, server_url), NATS_OK);
	ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
	ck_assert_int_eq(js_GetStreamInfo(&si, js, "CERTSTREAM", NULL, &jerr),
	    NATS_OK);
	ck_assert_uint_eq(si->State.Msgs, 2);
	ck_assert_int_eq(si->Config->MaxAge, INT64_C(2) * 3600 * 1000000000);
	ck_assert_int_eq(si->Config->MaxBytes, 64 * 1024 * 1024);
	ck_assert_int_eq(si->Config->Duplicates, INT64_C(30) * 1000000000);
	ck_assert_int_eq(si->Config->SubjectsLen, 1);
	ck_assert_str_eq(si->Config->Subjects[0], "ct.live.>");
	jsStreamInfo_Destroy(si);
	ck_assert_int_eq(js_GetMsg(&m, js, "CERTSTREAM", 1, NULL, &jerr),
	    NATS_OK);
	ck_assert_str_eq(natsMsg_GetSubject(m), "ct.live.lite.log7");
	ck_assert_int_eq(natsMsgHeader_Get(m, "Nats-Msg-Id", &hdr), NATS_OK);
	ck_assert_str_eq(hdr, "7:41:lite");
	payload(want, 41, "lite");
	ck_assert(memcmp(natsMsg_GetData(m), want, PAYLOAD) == 0);
	natsMsg_Destroy(m);
	ck_assert_int_eq(js_GetMsg(&m, js, "CERTSTREAM", 2, NULL, &jerr),
	    NATS_OK);
	ck_assert_str_eq(natsMsg_GetSubject(m), "ct.live.lite");
	natsMsg_Destroy(m);
	ck_assert_uint_eq(NGET(taken), 2);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	natspub_close(np, 1000);
}
END_TEST

/*
 * How long this thread has waited, runnable, for a CPU so far (the run
 * queue delay of /proc/thread-self/schedstat), in ns; 0 if unknown.  A
 * step's time less this is its own: running, or waiting for something,
 * the thing test_outage rules out; not the scheduler's turns on a
 * loaded machine.
 */
static int64_t
queued_ns(void)
{
	unsigned long long	run, queued;
	int64_t			r = 0;
	FILE		       *f;

	if ((f = fopen("/proc/thread-self/schedstat", "r")) == NULL)
		return (0);
	if (fscanf(f, "%llu %llu", &run, &queued) == 2)
		r = (int64_t)queued;
	fclose(f);
	return (r);
}

/*
 * NATS stopped for 10 s, then restarted on the same store: the ring
 * writer and the publisher's steps never wait; while down, nats.buffer
 * (64K) holds exactly 65 of the 1000-byte messages, the other 235 of
 * 100 entries x 3 shapes are dropped; after the restart the 65 are
 * published, acked and in the stream in order, after the first 300.
 */
START_TEST(test_outage)
{
	static const char *const extra[] = { "nats.buffer", "64K" };
	static const char *const shapes[] = { "full", "lite", "domains" };
	struct natspub	*np;
	natsConnection	*nc = NULL;
	jsCtx		*js = NULL;
	int64_t		 t0, q0, t, worst = 0, outage_end;
	uint64_t	 i, k;
	char		 subj[64];

	server_start();
	load_conf(extra, TU_NELEM(extra));
	np = natspub_open(cf, ring, st);
	ck_assert_ptr_nonnull(np);
	STEP_UNTIL(np, NGET(state) == STATUS_NATS_CONNECTED, 10000);
	for (i = 0; i < 100; i++) {
		put_record(1, i);
		(void)natspub_step(np);
	}
	STEP_UNTIL(np, NGET(acked) == 300, 10000);
	ck_assert_uint_eq(NGET(pending), 0);

	server_stop();
	outage_end = mono_ms() + 10000;
	STEP_UNTIL(np, NGET(state) == STATUS_NATS_RECONNECTING, 5000);
	for (i = 100; i < 200; i++) {
		q0 = queued_ns();
		t0 = mono_ns();
		put_record(1, i);
		(void)natspub_step(np);
		t = mono_ns() - t0 - (queued_ns() - q0);
		worst = t > worst ? t : worst;
	}
	while (mono_ms() < outage_end) {
		q0 = queued_ns();
		t0 = mono_ns();
		(void)natspub_step(np);
		t = mono_ns() - t0 - (queued_ns() - q0);
		worst = t > worst ? t : worst;
		usleep(5000);
	}
	tu_note("outage: longest put+step %.3f ms (run queue waits "
	    "excluded)", (double)worst / 1e6);
	ck_assert_msg(worst < INT64_C(50000000), "a step took %lld ns",
	    (long long)worst);
	ck_assert_uint_eq(NGET(taken), 600);
	ck_assert_uint_eq(NGET(dropped), 235);
	ck_assert_uint_eq(NGET(buffered), 65);
	ck_assert_uint_eq(NGET(buffered_bytes), 65 * PAYLOAD);
	ck_assert_uint_eq(NGET(published), 300);
	ck_assert_uint_eq(NGET(disconnects), 1);

	server_start();
	STEP_UNTIL(np, NGET(acked) == 365, 20000);
	ck_assert_uint_eq(NGET(reconnects), 1);
	ck_assert_uint_eq(NGET(published), 365);
	ck_assert_uint_eq(NGET(failed), 0);
	ck_assert_uint_eq(NGET(dropped), 235);
	ck_assert_uint_eq(NGET(buffered), 0);
	ck_assert_uint_eq(NGET(state), STATUS_NATS_CONNECTED);
	ck_assert_int_eq(natsConnection_ConnectTo(&nc, server_url), NATS_OK);
	ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
	ck_assert_uint_eq(stream_msgs(js), 365);
	for (k = 0; k < 65; k++) {
		(void)snprintf(subj, sizeof(subj), "certstream.%s",
		    shapes[k % 3]);
		expect_stream_msg(js, 301 + k, 100 + k / 3, shapes[k % 3],
		    subj);
	}
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	natspub_close(np, 1000);
}
END_TEST

/* The queue: bounded by payload bytes, FIFO, exact accounting. */
START_TEST(test_queue)
{
	struct npqueue	 q;
	char		 data[100];
	char		 longsubj[NPQ_SUBJECT_MAX + 1];

	memset(data, 'a', sizeof(data));
	npq_init(&q, 250);
	ck_assert_int_eq(npq_push(&q, "s.1", "1", 0, data, 100), 0);
	ck_assert_int_eq(npq_push(&q, "s.2", "2", 0, data, 100), 0);
	ck_assert_int_eq(npq_push(&q, "s.3", "3", 0, data, 100), -1);
	ck_assert_int_eq(npq_push(&q, "s.4", "4", 0, data, 50), 0);
	ck_assert_int_eq(npq_push(&q, "s.5", "5", 0, data, 1), -1);
	ck_assert_uint_eq(q.bytes, 250);
	ck_assert_str_eq(npq_peek(&q)->subject, "s.1");
	npq_pop(&q);
	ck_assert_str_eq(npq_peek(&q)->msgid, "2");
	memset(longsubj, 'x', NPQ_SUBJECT_MAX);
	longsubj[NPQ_SUBJECT_MAX] = '\0';
	ck_assert_int_eq(npq_push(&q, longsubj, "6", 0, data, 1), -1);
	ck_assert_uint_eq(npq_clear(&q), 2);
	ck_assert_uint_eq(q.bytes, 0);
	ck_assert_ptr_null(npq_peek(&q));
}
END_TEST

/* The /metrics text of the NATS area. */
START_TEST(test_metrics)
{
	struct status	*s = status_create();
	struct buf	 b;

	ck_assert_ptr_nonnull(s);
	atomic_store(&s->nats.state, STATUS_NATS_RECONNECTING);
	atomic_store(&s->nats.taken, 600);
	atomic_store(&s->nats.dropped, 235);
	atomic_store(&s->nats.ring_skipped, 7);
	atomic_store(&s->nats.buffered_bytes, 65000);
	buf_init(&b, 64 * 1024);
	ck_assert_int_eq(status_nats_metrics(&s->nats, &b), 0);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "# TYPE "
	    "notaryd_nats_messages_total counter\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nnotaryd_nats_messages_total{outcome=\"taken\"} 600\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nnotaryd_nats_messages_total{outcome=\"dropped\"} 235\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nnotaryd_nats_records_total{result=\"ring_skipped\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nnotaryd_nats_state{state=\"reconnecting\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nnotaryd_nats_state{state=\"connected\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "\nnotaryd_nats_buffered_bytes 65000\n"));
	buf_free(&b);
	buf_init(&b, 100);
	ck_assert_int_eq(status_nats_metrics(&s->nats, &b), -1);
	buf_free(&b);
	status_destroy(s);
}
END_TEST

/*
 * The publisher falls a ring behind (no step while 500 entries of 3K go
 * through a 1M ring): every lost record is counted, none is published,
 * and it follows the ring again from its head.
 */
START_TEST(test_fell_behind)
{
	struct natspub	*np;
	uint64_t	 i;

	server_start();
	load_conf(NULL, 0);
	np = natspub_open(cf, ring, st);
	ck_assert_ptr_nonnull(np);
	STEP_UNTIL(np, NGET(state) == STATUS_NATS_CONNECTED, 10000);
	for (i = 0; i < 500; i++)
		put_record(2, i);
	(void)natspub_step(np);
	ck_assert_uint_eq(NGET(ring_skipped), 500);
	ck_assert_uint_eq(NGET(records), 0);
	put_record(2, 500);
	STEP_UNTIL(np, NGET(acked) == 3, 10000);
	ck_assert_uint_eq(NGET(records), 1);
	ck_assert_uint_eq(NGET(taken), 3);
	natspub_close(np, 1000);
}
END_TEST

/* The nats: keys: defaults and refusals. */
START_TEST(test_conf_keys)
{
	static const struct {
		const char	*key, *value;
	} bad[] = {
		{ "nats.url", "[\"http://x:4222\"]" },
		{ "nats.url", "[\"nats://a:1,nats://b:2\"]" },
		{ "nats.url", "[]" },
		{ "nats.shapes", "[full, full]" },
		{ "nats.shapes", "[]" },
		{ "nats.shapes", "[raw]" },
		{ "nats.subject_prefix", "cert.*" },
		{ "nats.subject_prefix", "a..b" },
		{ "nats.stream", "a.b" },
		{ "nats.max_pending", "0" },
		{ "nats.buffer", "1K" },
	};
	struct conf_override	ov[2];
	struct conf		*c;
	char			 err[CONF_ERR_MAX];
	size_t			 i;

	c = conf_load(NULL, NULL, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert(!c->nats.enabled);
	ck_assert_uint_eq(c->nats.url.n, 1);
	ck_assert_str_eq(c->nats.url.v[0], "nats://127.0.0.1:4222");
	ck_assert_uint_eq(c->nats.shapes, CONF_SHAPE_FULL | CONF_SHAPE_LITE |
	    CONF_SHAPE_DOMAINS);
	ck_assert_str_eq(c->nats.subject_prefix, "certstream");
	ck_assert_str_eq(c->nats.stream, "CERTSTREAM");
	ck_assert_int_eq(c->nats.max_pending, 1024);
	ck_assert_uint_eq(c->nats.buffer, 64 * 1024 * 1024);
	conf_free(c);
	for (i = 0; i < TU_NELEM(bad); i++) {
		ov[0].key = bad[i].key;
		ov[0].value = bad[i].value;
		c = conf_load(NULL, ov, 1, err, sizeof(err));
		ck_assert_msg(c == NULL, "%s=%s accepted", bad[i].key,
		    bad[i].value);
		ck_assert_msg(strstr(err, bad[i].key) != NULL, "%s", err);
	}
	ov[0].key = "nats.credentials";
	ov[0].value = "/x.creds";
	ov[1].key = "nats.token_file";
	ov[1].value = "/x.token";
	ck_assert_ptr_null(conf_load(NULL, ov, 2, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not both"));
	ov[0].key = "nats.url";
	ov[0].value = "[\"nats://a:4222\", \"tls://b:4443\"]";
	c = conf_load(NULL, ov, 1, err, sizeof(err));
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nats.url.n, 2);
	ck_assert_str_eq(c->nats.url.v[1], "tls://b:4443");
	conf_free(c);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("natspub");
	TCase	*tc = tu_tcase(s, "offline", 10);
	char	 err[256];

	/* The publisher's log: errors only, unless CHECK_VERBOSE is set. */
	if (log_configure(tu_verbose() ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
	    "stderr", err, sizeof(err)) == -1)
		fprintf(stderr, "check_natspub: %s\n", err);

	tcase_add_test(tc, test_queue);
	tcase_add_test(tc, test_conf_keys);
	tcase_add_test(tc, test_metrics);
	tu_add_alone(s, "order_complete", test_order_complete, 60, setup,
	    teardown);
	tu_add_alone(s, "shapes_per_log", test_shapes_per_log, 60, setup,
	    teardown);
	tu_add_alone(s, "fell_behind", test_fell_behind, 60, setup,
	    teardown);
	tu_add_alone(s, "outage", test_outage, 90, setup, teardown);
	return (s);
}
