/*
 * check_ring.c - unit tests for common/ring.c.
 *
 * Every record carries content derived from its sequence number (which the
 * reader knows: it is the cursor's seq before the read), so a torn, stale
 * or misplaced copy is detected byte for byte.  The forked-writer test
 * only calls _exit() in the child; assertions run in the parent.
 */
#include <sys/wait.h>

#include <check.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/ring.h"
#include "common/util.h"
#include "tests/testutil.h"

#define SMALL		(64 * 1024)
#define STRESS_RECORDS	200000
#define STRESS_LIMIT_MS	30000	/* natively well under a second */

static uint32_t	rec_type(uint64_t);
static size_t	rec_len(uint64_t, size_t);
static void	rec_fill(unsigned char *, size_t, uint64_t);
static int	rec_ok(const unsigned char *, size_t, uint64_t);
static uint64_t	publish_seq(struct ring *, uint64_t, size_t);
static void	read_expect(struct ring *, struct ring_cursor *, size_t);
static void	stress_writer(struct ring *);

static uint32_t
rec_type(uint64_t seq)
{
	return ((uint32_t)(seq * 2654435761U) ^ 0x5a5a5a5aU);
}

/* A length in [0, max] that varies with seq and is often not 8-aligned. */
static size_t
rec_len(uint64_t seq, size_t max)
{
	return ((size_t)((seq * 7919 + (seq >> 3) * 13) % (max + 1)));
}

/* The first 8 bytes (as many as fit) are the seq, then a seq pattern. */
static void
rec_fill(unsigned char *buf, size_t len, uint64_t seq)
{
	size_t	i;

	memcpy(buf, &seq, len < 8 ? len : 8);
	for (i = 8; i < len; i++)
		buf[i] = (unsigned char)(seq * 131 + i * 7 + (i >> 8));
}

static int
rec_ok(const unsigned char *buf, size_t len, uint64_t seq)
{
	uint64_t	got = 0;
	size_t		i;

	memcpy(&got, buf, len < 8 ? len : 8);
	if (len >= 8 && got != seq)
		return (0);
	for (i = 8; i < len; i++)
		if (buf[i] != (unsigned char)(seq * 131 + i * 7 + (i >> 8)))
			return (0);
	return (1);
}

/* Publish the record for seq (of length len) and check its seq. */
static uint64_t
publish_seq(struct ring *r, uint64_t seq, size_t len)
{
	static unsigned char	buf[1 << 20];

	ck_assert_uint_le(len, sizeof(buf));
	rec_fill(buf, len, seq);
	ck_assert_uint_eq(ring_publish(r, rec_type(seq), buf, len), seq);
	return (seq);
}

/* The next read must be RING_OK with the record for cur->seq. */
static void
read_expect(struct ring *r, struct ring_cursor *cur, size_t len)
{
	static unsigned char	buf[1 << 20];
	uint64_t		seq = cur->seq, skipped = 99;
	uint32_t		type = 0;
	size_t			got = 0;

	ck_assert_int_eq(ring_read(r, cur, &type, buf, sizeof(buf), &got,
	    &skipped), RING_OK);
	ck_assert_uint_eq(got, len);
	ck_assert_uint_eq(type, rec_type(seq));
	ck_assert_msg(rec_ok(buf, got, seq), "record %llu corrupt",
	    (unsigned long long)seq);
	ck_assert_uint_eq(cur->seq, seq + 1);
	ck_assert_uint_eq(skipped, 0);
}

START_TEST(test_create_sizes)
{
	struct ring		*r;
	struct ring_stats	 st;

	ck_assert_ptr_nonnull(r = ring_create(0));
	ring_stats(r, &st);
	ck_assert_uint_eq(st.size, SMALL);
	ck_assert_uint_eq(ring_max_record(r), SMALL / 4);
	ck_assert_uint_eq(st.published, 0);
	ck_assert_uint_eq(st.bytes, 0);
	ring_destroy(r);

	ck_assert_ptr_nonnull(r = ring_create(SMALL + 1));
	ring_stats(r, &st);
	ck_assert_uint_eq(st.size, 2 * SMALL);
	ck_assert_uint_eq(ring_max_record(r), SMALL / 2);
	ring_destroy(r);

	ck_assert_ptr_nonnull(r = ring_create(1 << 20));
	ring_stats(r, &st);
	ck_assert_uint_eq(st.size, 1 << 20);
	ring_destroy(r);

	ck_assert_ptr_null(ring_create((uint64_t)1 << 40));
	ck_assert_uint_eq(ring_max_record(NULL), 0);
	ring_destroy(NULL);
}
END_TEST

START_TEST(test_empty)
{
	struct ring		*r;
	struct ring_cursor	 cur;
	unsigned char		 buf[16];
	size_t			 len = 77;
	uint64_t		 skipped = 77;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	ck_assert_uint_eq(ring_next_seq(r), 1);
	ring_cursor_head(r, &cur);
	ck_assert_uint_eq(cur.seq, 1);
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), &len,
	    &skipped), RING_EMPTY);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_uint_eq(cur.seq, 1);
	/* still empty after reading everything there was */
	publish_seq(r, 1, 10);
	read_expect(r, &cur, 10);
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), &len,
	    NULL), RING_EMPTY);
	ring_destroy(r);
}
END_TEST

START_TEST(test_in_order)
{
	struct ring		*r;
	struct ring_cursor	 cur, cur2;
	struct ring_stats	 st;
	uint64_t		 seq, bytes = 0;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	ring_cursor_head(r, &cur);
	cur2 = cur;
	for (seq = 1; seq <= 50; seq++) {
		publish_seq(r, seq, rec_len(seq, 600));
		bytes += rec_len(seq, 600);
	}
	ck_assert_uint_eq(ring_next_seq(r), 51);
	for (seq = 1; seq <= 50; seq++)
		read_expect(r, &cur, rec_len(seq, 600));
	ck_assert_int_eq(ring_read(r, &cur, NULL, NULL, 0, NULL, NULL),
	    RING_EMPTY);
	/* a second reader sees the same records, independently */
	for (seq = 1; seq <= 50; seq++)
		read_expect(r, &cur2, rec_len(seq, 600));
	ck_assert_uint_eq(cur2.pos, cur.pos);
	ring_stats(r, &st);
	ck_assert_uint_eq(st.published, 50);
	ck_assert_uint_eq(st.bytes, bytes);
	ring_destroy(r);
}
END_TEST

/* Starting k records back: exact records, clamped k, overwritten ones. */
START_TEST(test_cursor_back)
{
	struct ring		*r;
	struct ring_cursor	 cur;
	unsigned char		 buf[1024];
	uint64_t		 seq, skipped = 0;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	ck_assert_uint_eq(ring_cursor_back(r, 5, &cur), 0);
	ck_assert_uint_eq(cur.seq, 1);
	for (seq = 1; seq <= 3; seq++)
		publish_seq(r, seq, rec_len(seq, 600));
	/* fewer published than asked: all of them */
	ck_assert_uint_eq(ring_cursor_back(r, 10, &cur), 3);
	for (seq = 1; seq <= 3; seq++)
		read_expect(r, &cur, rec_len(seq, 600));
	for (seq = 4; seq <= 3000; seq++)
		publish_seq(r, seq, rec_len(seq, 200));
	/* the last 25, in order */
	ck_assert_uint_eq(ring_cursor_back(r, 25, &cur), 25);
	ck_assert_uint_eq(cur.seq, 3001 - 25);
	for (seq = 3001 - 25; seq <= 3000; seq++)
		read_expect(r, &cur, rec_len(seq, 200));
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), NULL,
	    NULL), RING_EMPTY);
	/* k is clamped to the index */
	ck_assert_uint_eq(ring_cursor_back(r, 100000, &cur), RING_RECENT - 1);
	/* 1023 records of up to 200 bytes overflow a 64K ring: overrun */
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), NULL,
	    &skipped), RING_OVERRUN);
	ck_assert_uint_eq(cur.seq, 3001);
	ck_assert_uint_gt(skipped, 0);
	ck_assert_uint_eq(ring_cursor_back(NULL, 3, &cur), 0);
	ring_destroy(r);
}
END_TEST

START_TEST(test_record_limits)
{
	struct ring		*r;
	struct ring_cursor	 cur;
	static unsigned char	 big[SMALL];
	size_t			 max;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	max = ring_max_record(r);
	ck_assert_uint_eq(max, SMALL / 4);
	ring_cursor_head(r, &cur);
	ck_assert_uint_eq(ring_publish(r, 1, big, max + 1), 0);
	ck_assert_uint_eq(ring_publish(r, 1, big, SMALL), 0);
	ck_assert_uint_eq(ring_publish(r, 1, NULL, 5), 0);
	ck_assert_uint_eq(ring_next_seq(r), 1);		/* nothing consumed */
	publish_seq(r, 1, max);
	publish_seq(r, 2, 0);
	publish_seq(r, 3, max);
	publish_seq(r, 4, 1);
	read_expect(r, &cur, max);
	read_expect(r, &cur, 0);
	read_expect(r, &cur, max);
	read_expect(r, &cur, 1);
	ck_assert_int_eq(ring_read(r, &cur, NULL, big, sizeof(big), NULL,
	    NULL), RING_EMPTY);
	ring_destroy(r);
}
END_TEST

START_TEST(test_wrap_around)
{
	struct ring		*r;
	struct ring_cursor	 cur;
	struct ring_stats	 st;
	uint64_t		 seq, idx, laps, data_split = 0;
	size_t			 len;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	ring_stats(r, &st);
	ring_cursor_head(r, &cur);
	/* publish a few ahead of the reader so it is never trivially
	 * in lock step, then keep the distance */
	for (seq = 1; seq <= 5; seq++)
		publish_seq(r, seq, rec_len(seq, 3000));
	for (seq = 1; seq <= 8000; seq++) {
		len = rec_len(seq, 3000);
		idx = cur.pos & (st.size - 1);
		if (idx + 16 < st.size && idx + 16 + len > st.size)
			data_split++;
		read_expect(r, &cur, len);
		publish_seq(r, seq + 5, rec_len(seq + 5, 3000));
	}
	laps = cur.pos / st.size;
	ck_assert_uint_gt(laps, 100);
	ck_assert_uint_gt(data_split, 50);	/* data cut in two */
	ring_destroy(r);
}
END_TEST

START_TEST(test_header_split)
{
	struct ring		*r;
	struct ring_cursor	 cur;
	uint64_t		 seq;

	/* 4 spans of 16016 + one of 1464 end 8 bytes before the end of
	 * the data area: the next header is cut in two, 8 + 8 bytes */
	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	ring_cursor_head(r, &cur);
	for (seq = 1; seq <= 4; seq++)
		publish_seq(r, seq, 16000);
	publish_seq(r, 5, 1448);
	for (seq = 1; seq <= 5; seq++)
		read_expect(r, &cur, seq <= 4 ? 16000 : 1448);
	ck_assert_uint_eq(cur.pos, SMALL - 8);
	publish_seq(r, 6, 333);
	publish_seq(r, 7, 16000);
	read_expect(r, &cur, 333);
	read_expect(r, &cur, 16000);
	/* record 6 (header split, span 352) and 7 (span 16016) moved the
	 * head to just past the wrap */
	ring_cursor_head(r, &cur);
	ck_assert_uint_eq(cur.pos, SMALL - 8 + 352 + 16016);
	ck_assert_uint_eq(cur.seq, 8);
	ring_destroy(r);
}
END_TEST

START_TEST(test_overrun_exact)
{
	struct ring		*r;
	struct ring_cursor	 cur, head, fresh;
	static unsigned char	 buf[SMALL];
	uint64_t		 seq, skipped = 0;
	size_t			 len;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	ring_cursor_head(r, &cur);
	/* 64 records of 1016 bytes fill 65024 of 65536: all intact */
	for (seq = 1; seq <= 64; seq++)
		publish_seq(r, seq, 1000);
	fresh = cur;
	read_expect(r, &fresh, 1000);
	/* the 65th overwrites the start of record 1 */
	publish_seq(r, 65, 1000);
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), &len,
	    &skipped), RING_OVERRUN);
	ck_assert_uint_eq(skipped, 65);
	ring_cursor_head(r, &head);
	ck_assert_uint_eq(cur.pos, head.pos);
	ck_assert_uint_eq(cur.seq, 66);
	ck_assert_uint_eq(head.seq, 66);
	/* ... but a reader that had already passed record 1 is fine */
	for (seq = 2; seq <= 65; seq++)
		read_expect(r, &fresh, 1000);
	/* the overrun reader continues with new records */
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), &len,
	    &skipped), RING_EMPTY);
	publish_seq(r, 66, 10);
	read_expect(r, &cur, 10);

	/* lapped many times over: the count is still exact */
	for (seq = 67; seq <= 1066; seq++)
		publish_seq(r, seq, rec_len(seq, 4000));
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), &len,
	    &skipped), RING_OVERRUN);
	ck_assert_uint_eq(skipped, 1000);
	ck_assert_uint_eq(cur.seq, 1067);
	publish_seq(r, 1067, 33);
	read_expect(r, &cur, 33);
	/* skipped may be NULL */
	for (seq = 1068; seq <= 1200; seq++)
		publish_seq(r, seq, 900);
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), &len,
	    NULL), RING_OVERRUN);
	ck_assert_uint_eq(cur.seq, 1201);
	ring_destroy(r);
}
END_TEST

START_TEST(test_toobig_keeps_cursor)
{
	struct ring		*r;
	struct ring_cursor	 cur, before;
	unsigned char		 small[50];
	uint64_t		 skipped = 5;
	size_t			 len = 0;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	ring_cursor_head(r, &cur);
	publish_seq(r, 1, 100);
	before = cur;
	ck_assert_int_eq(ring_read(r, &cur, NULL, small, sizeof(small), &len,
	    &skipped), RING_TOOBIG);
	ck_assert_uint_eq(cur.pos, before.pos);
	ck_assert_uint_eq(cur.seq, before.seq);
	ck_assert_uint_eq(len, 100);		/* the size it needs */
	ck_assert_uint_eq(skipped, 0);
	ck_assert_int_eq(ring_read(r, &cur, NULL, NULL, 0, &len, NULL),
	    RING_TOOBIG);
	ck_assert_uint_eq(cur.seq, before.seq);
	read_expect(r, &cur, 100);
	ring_destroy(r);
}
END_TEST

START_TEST(test_cursor_head_new_only)
{
	struct ring		*r;
	struct ring_cursor	 cur;
	uint64_t		 seq;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	for (seq = 1; seq <= 5; seq++)
		publish_seq(r, seq, 40);
	ring_cursor_head(r, &cur);
	ck_assert_uint_eq(cur.seq, 6);
	ck_assert_int_eq(ring_read(r, &cur, NULL, NULL, 0, NULL, NULL),
	    RING_EMPTY);
	for (seq = 6; seq <= 8; seq++)
		publish_seq(r, seq, 40 + seq);
	for (seq = 6; seq <= 8; seq++)
		read_expect(r, &cur, 40 + seq);
	ck_assert_int_eq(ring_read(r, &cur, NULL, NULL, 0, NULL, NULL),
	    RING_EMPTY);
	ring_destroy(r);
}
END_TEST

START_TEST(test_garbage_cursor)
{
	struct ring		*r;
	struct ring_cursor	 cur, head;
	unsigned char		 buf[256];
	uint64_t		 skipped;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	publish_seq(r, 1, 100);
	publish_seq(r, 2, 100);
	ring_cursor_head(r, &head);

	/* ahead of the writer */
	cur.pos = head.pos + 4096;
	cur.seq = 3;
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), NULL,
	    &skipped), RING_OVERRUN);
	ck_assert_uint_eq(cur.pos, head.pos);
	ck_assert_uint_eq(cur.seq, head.seq);
	ck_assert_uint_eq(skipped, 0);
	/* not on a record boundary */
	cur.pos = 4;
	cur.seq = 1;
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), NULL,
	    &skipped), RING_OVERRUN);
	ck_assert_uint_eq(skipped, 2);
	ck_assert_uint_eq(cur.seq, 3);
	/* in the middle of a record's data, 8-aligned */
	cur.pos = 48;
	cur.seq = 1;
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), NULL,
	    &skipped), RING_OVERRUN);
	ck_assert_uint_eq(cur.seq, 3);
	/* the right place with the wrong sequence number (a zeroed cursor) */
	cur.pos = 0;
	cur.seq = 0;
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), NULL,
	    &skipped), RING_OVERRUN);
	ck_assert_uint_eq(skipped, 3);
	ck_assert_uint_eq(cur.pos, head.pos);
	ring_destroy(r);
}
END_TEST

/* ---- a real writer in another process ---------------------------------- */

static void
stress_writer(struct ring *r)
{
	static unsigned char	buf[SMALL];
	uint64_t		seq;
	size_t			len, max = ring_max_record(r);

	alarm(60);		/* never outlive a test that failed */
	for (seq = 1; seq <= STRESS_RECORDS; seq++) {
		/* mostly small frames, sometimes a big one */
		len = (seq % 97 == 0) ? rec_len(seq, max) :
		    rec_len(seq, 1500);
		rec_fill(buf, len, seq);
		if (ring_publish(r, rec_type(seq), buf, len) != seq)
			_exit(1);
		if (seq % 64 == 0)
			sched_yield();
	}
	_exit(0);
}

START_TEST(test_forked_writer)
{
	struct ring		*r;
	struct ring_cursor	 cur;
	static unsigned char	 buf[SMALL];
	uint64_t		 seq, last = 0, skipped, lost = 0, ok = 0;
	uint64_t		 overruns = 0;
	uint32_t		 type;
	size_t			 len;
	int64_t			 deadline;
	int			 status, done = 0;
	enum ring_result	 res;
	pid_t			 pid;

	ck_assert_ptr_nonnull(r = ring_create(SMALL));
	ring_cursor_head(r, &cur);
	ck_assert_uint_eq(cur.seq, 1);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		stress_writer(r);

	deadline = mono_ms() + STRESS_LIMIT_MS;
	while (cur.seq <= STRESS_RECORDS) {
		seq = cur.seq;
		res = ring_read(r, &cur, &type, buf, sizeof(buf), &len,
		    &skipped);
		if (res == RING_OK) {
			ck_assert_msg(rec_ok(buf, len, seq) &&
			    type == rec_type(seq), "record %llu torn",
			    (unsigned long long)seq);
			ck_assert_uint_gt(seq, last);
			ck_assert_uint_eq(cur.seq, seq + 1);
			last = seq;
			ok++;
		} else if (res == RING_OVERRUN) {
			ck_assert_uint_gt(skipped, 0);
			ck_assert_uint_eq(cur.seq, seq + skipped);
			lost += skipped;
			overruns++;
		} else {
			ck_assert_int_eq(res, RING_EMPTY);
			if (!done && waitpid(pid, &status, WNOHANG) == pid) {
				ck_assert(WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0);
				done = 1;
			} else if (done)
				ck_abort_msg("writer gone, ring empty at %llu",
				    (unsigned long long)cur.seq);
		}
		ck_assert_msg(mono_ms() < deadline, "too slow: at %llu",
		    (unsigned long long)cur.seq);
	}
	if (!done) {
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* every record was either read intact or counted as lost */
	ck_assert_uint_eq(ok + lost, STRESS_RECORDS);
	ck_assert_uint_eq(cur.seq, STRESS_RECORDS + 1);
	ck_assert_uint_gt(ok, 0);
	ck_assert_int_eq(ring_read(r, &cur, NULL, buf, sizeof(buf), &len,
	    NULL), RING_EMPTY);
	if (getenv("RING_STRESS_VERBOSE") != NULL)
		fprintf(stderr, "read %llu, lost %llu in %llu overruns\n",
		    (unsigned long long)ok, (unsigned long long)lost,
		    (unsigned long long)overruns);
	ring_destroy(r);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("ring");

	tc = tcase_create("basic");
	tcase_add_test(tc, test_create_sizes);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_record_limits);
	tcase_add_test(tc, test_cursor_back);
	tcase_add_test(tc, test_wrap_around);
	tcase_add_test(tc, test_header_split);
	tcase_add_test(tc, test_overrun_exact);
	tcase_add_test(tc, test_toobig_keeps_cursor);
	tcase_add_test(tc, test_cursor_head_new_only);
	tcase_add_test(tc, test_garbage_cursor);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_forked_writer);
	suite_add_tcase(s, tc);

	return (s);
}
