/*
 * check_obs.c - tests of scanner/obs.c against a real Berkeley DB 5.3
 * environment: the report_observation rules with a controlled clock
 * (first sighting, 48 h extension and its boundary, key changes, A->B->A,
 * ties, an end that never moves back), reading order and bounds, pruning,
 * failure recording, corrupt rows, read-only handles, imports and their
 * conflicts, certificates, the walkers, two concurrent writer processes,
 * and a writer SIGKILLed in the middle of a batch.
 *
 * Every test gets its own mkdtemp directory (made and removed by a
 * fixture around it); the environment is created there with db_recover,
 * then opened as a user.  Children report through exit status and pipes
 * and leave with _exit; only the test process asserts.  A child's
 * verdict travels as one byte through a pipe, not as its exit status,
 * because valgrind replaces the exit status of a child in which libdb
 * made its usual harmless uninitialised reads (Debian's libdb is not
 * built with --enable-umrw).  Set
 * CHECK_OBS_VERBOSE=1 to see the library's log and the measured numbers.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store/dbenv.h"
#include "common/log.h"
#include "store/obs.h"
#include "store/svcid.h"
#include "common/util.h"
#include "tests/testutil.h"
#include "tests/testutil_db.h"

#define TEST_CACHE_BYTES	(8U << 20)
#define CHILD_TIMEOUT_MS	60000
#define T0			INT64_C(1700000000)
#define H48			OBS_UPDATE_LIMIT
#define SVC			"example.com:443,2"
#define SVC_LEN			(sizeof(SVC) - 1)
#define RACE_RECORDS		200	/* per writer process */
#define KILL_RECORDS		100000	/* the child would do these */
#define KILL_AFTER		300	/* but dies after this many acks */
#define LATENCY_RECORDS		2000

/* For insert_fn: spans to insert into one service in one txn. */
struct insert_arg {
	struct obs_db		*o;
	const char		*svc;
	const struct obs_span	*spans;
	size_t			 n;
};

struct walk_count {
	size_t		n;
	char		last_svc[SVCID_MAX + 1];
	struct obs_span	last;
	int		order_ok;
	size_t		stop_at;
};

static struct db_env_opts opts(void);
static void	store_open(DB_ENV **, struct obs_db *, int);
static void	store_close(DB_ENV *, struct obs_db *);
static void	fp_make(struct obs_fp *, uint8_t);
static struct obs_span span_make(uint8_t, int64_t, int64_t);
static enum obs_outcome record(struct obs_db *, const char *, uint8_t,
		    int64_t);
static size_t	read_all(struct obs_db *, const char *, struct obs_span *,
		    size_t);
static void	assert_span(const struct obs_span *, uint8_t, int64_t,
		    int64_t);
static int	insert_fn(DB_ENV *, DB_TXN *, void *);
static int	insert_spans(DB_ENV *, struct obs_db *, const char *,
		    const struct obs_span *, size_t);
static void	check_invariants(const struct obs_span *, size_t);
static int	register_fn(DB_ENV *, DB_TXN *, void *);
static int	count_spans(const char *, size_t, const struct obs_span *,
		    void *);
static int	count_services(const char *, size_t,
		    const struct obs_service *, void *);
static void	race_writer(int, int, int64_t *, int)
		    __attribute__((noreturn));
static void	kill_writer(int) __attribute__((noreturn));
static void	walks_writer(int) __attribute__((noreturn));
static void	deadlock_peer(int, int) __attribute__((noreturn));
static void	add_test(Suite *, const char *, const TTest *, int);

static struct db_env_opts
opts(void)
{
	struct db_env_opts	o = { tu_dir, TEST_CACHE_BYTES, 0 };

	return (o);
}

/* The environment of the test's directory, then the observation store. */
static void
store_open(DB_ENV **env, struct obs_db *o, int readonly)
{
	tu_db_open(env, TEST_CACHE_BYTES);
	ck_assert_int_eq(obs_open(o, *env, readonly), 0);
}

static void
store_close(DB_ENV *env, struct obs_db *o)
{
	obs_close(o);
	db_env_close(env);
}

/* Key number k: every MD5 byte is k, SHA-256 unknown. */
static void
fp_make(struct obs_fp *fp, uint8_t k)
{
	memset(fp, 0, sizeof(*fp));
	memset(fp->md5, k, sizeof(fp->md5));
}

static struct obs_span
span_make(uint8_t k, int64_t start, int64_t end)
{
	struct obs_span	sp;

	memset(&sp, 0, sizeof(sp));
	memset(sp.md5, k, sizeof(sp.md5));
	sp.start = start;
	sp.end = end;
	return (sp);
}

static enum obs_outcome
record(struct obs_db *o, const char *svc, uint8_t k, int64_t now)
{
	struct obs_fp		fp;
	enum obs_outcome	out = (enum obs_outcome)-1;

	fp_make(&fp, k);
	ck_assert_int_eq(obs_record(o, svc, strlen(svc), &fp, NULL, 0, now,
	    &out), 0);
	return (out);
}

static size_t
read_all(struct obs_db *o, const char *svc, struct obs_span *v, size_t max)
{
	size_t	n = (size_t)-1;

	ck_assert_int_eq(obs_read(o, svc, strlen(svc), v, max, &n), 0);
	return (n);
}

static void
assert_span(const struct obs_span *sp, uint8_t k, int64_t start,
    int64_t end)
{
	struct obs_span	want = span_make(k, start, end);

	ck_assert_mem_eq(sp->md5, want.md5, sizeof(want.md5));
	ck_assert_int_eq(sp->start, start);
	ck_assert_int_eq(sp->end, end);
}

static int
insert_fn(DB_ENV *env, DB_TXN *txn, void *p)
{
	struct insert_arg	*a = p;
	size_t			 i;
	int			 r;

	(void)env;
	for (i = 0; i < a->n; i++)
		if ((r = obs_insert_span(a->o, txn, a->svc, strlen(a->svc),
		    &a->spans[i])) != 0)
			return (r);
	return (0);
}

/* All in one txn: 0, or the first nonzero code (then nothing stays). */
static int
insert_spans(DB_ENV *env, struct obs_db *o, const char *svc,
    const struct obs_span *spans, size_t n)
{
	struct insert_arg	a = { o, svc, spans, n };

	return (db_txn_run(env, insert_fn, &a, NULL));
}

/*
 * The data model's constraints on one service's rows as obs_read gives
 * them (keys ascending, spans by start): start <= end, and spans of one
 * key neither overlap nor share a start.
 */
static void
check_invariants(const struct obs_span *v, size_t n)
{
	size_t	i;
	int	c;

	for (i = 0; i < n; i++) {
		ck_assert_int_ge(v[i].start, 0);
		ck_assert_int_le(v[i].start, v[i].end);
		if (i == 0)
			continue;
		c = memcmp(v[i - 1].md5, v[i].md5, sizeof(v[i].md5));
		ck_assert_int_le(c, 0);
		if (c == 0)
			ck_assert_msg(v[i - 1].end < v[i].start,
			    "overlap: [%lld,%lld] and [%lld,%lld]",
			    (long long)v[i - 1].start, (long long)v[i - 1].end,
			    (long long)v[i].start, (long long)v[i].end);
	}
}

/* ---- report_observation rules -------------------------------------- */

START_TEST(test_first_sighting)
{
	struct obs_service	st;
	struct obs_span		v[4];
	struct obs_db		o;
	DB_ENV			*env;

	store_open(&env, &o, 0);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 0);
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 1);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0), OBS_FIRST);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 1);
	assert_span(&v[0], 0xa0, T0, T0);
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 0);
	ck_assert_int_eq(st.first_seen, T0);
	ck_assert_int_eq(st.last_probe, T0);
	ck_assert_int_eq(st.last_ok, T0);
	ck_assert_uint_eq(st.fails, 0);
	store_close(env, &o);
}
END_TEST

START_TEST(test_extend_within_48h)
{
	struct obs_service	st;
	struct obs_span		v[4];
	struct obs_db		o;
	DB_ENV			*env;

	store_open(&env, &o, 0);
	record(&o, SVC, 0xa0, T0);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 3600), OBS_EXTENDED);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 7200), OBS_EXTENDED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 1);
	assert_span(&v[0], 0xa0, T0, T0 + 7200);
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 0);
	ck_assert_int_eq(st.first_seen, T0);
	ck_assert_int_eq(st.last_ok, T0 + 7200);
	store_close(env, &o);
}
END_TEST

/* now - end == 48 h still extends; 48 h + 1 s starts a new span. */
START_TEST(test_48h_boundary)
{
	struct obs_span	v[4];
	struct obs_db	o;
	DB_ENV		*env;

	store_open(&env, &o, 0);
	record(&o, SVC, 0xa0, T0);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + H48), OBS_EXTENDED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 1);
	assert_span(&v[0], 0xa0, T0, T0 + H48);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 2 * H48 + 1),
	    OBS_NEW_SPAN);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 2);
	assert_span(&v[0], 0xa0, T0, T0 + H48);
	assert_span(&v[1], 0xa0, T0 + 2 * H48 + 1, T0 + 2 * H48 + 1);
	store_close(env, &o);
}
END_TEST

/* A -> B within 48 h: A ends at now - 1, B starts at now. */
START_TEST(test_change_within_48h)
{
	struct obs_span	v[4];
	struct obs_db	o;
	DB_ENV		*env;

	store_open(&env, &o, 0);
	record(&o, SVC, 0xa0, T0);
	record(&o, SVC, 0xa0, T0 + 100);
	ck_assert_int_eq(record(&o, SVC, 0xb0, T0 + 5000), OBS_CHANGED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 2);
	assert_span(&v[0], 0xa0, T0, T0 + 4999);
	assert_span(&v[1], 0xb0, T0 + 5000, T0 + 5000);
	/* exactly 48 h after A's end still closes A */
	ck_assert_int_eq(record(&o, SVC, 0xc0, T0 + 5000 + H48), OBS_CHANGED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 3);
	assert_span(&v[1], 0xb0, T0 + 5000, T0 + 4999 + H48);
	store_close(env, &o);
}
END_TEST

/* A -> B after more than 48 h: A is not touched. */
START_TEST(test_change_after_gap)
{
	struct obs_span	v[4];
	struct obs_db	o;
	DB_ENV		*env;

	store_open(&env, &o, 0);
	record(&o, SVC, 0xa0, T0);
	ck_assert_int_eq(record(&o, SVC, 0xb0, T0 + H48 + 1), OBS_CHANGED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 2);
	assert_span(&v[0], 0xa0, T0, T0);
	assert_span(&v[1], 0xb0, T0 + H48 + 1, T0 + H48 + 1);
	store_close(env, &o);
}
END_TEST

/* A -> B -> A: a second row for A. */
START_TEST(test_aba)
{
	struct obs_span	v[4];
	struct obs_db	o;
	DB_ENV		*env;

	store_open(&env, &o, 0);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0), OBS_FIRST);
	ck_assert_int_eq(record(&o, SVC, 0xb0, T0 + 100), OBS_CHANGED);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 200), OBS_CHANGED);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 300), OBS_EXTENDED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 3);
	assert_span(&v[0], 0xa0, T0, T0 + 99);
	assert_span(&v[1], 0xa0, T0 + 200, T0 + 300);
	assert_span(&v[2], 0xb0, T0 + 100, T0 + 199);
	/* the last sightings, which Convergence's finish reports */
	ck_assert_int_eq(v[0].seen, T0);
	ck_assert_int_eq(v[1].seen, T0 + 300);
	ck_assert_int_eq(v[2].seen, T0 + 100);
	check_invariants(v, 3);
	store_close(env, &o);
}
END_TEST

/*
 * The key of svc's span of key number k (every MD5 byte k) from start,
 * into kbuf; its length.
 */
static u_int32_t
raw_span_key(uint8_t *kbuf, const char *svc, uint8_t k, int64_t start)
{
	size_t	plen = strlen(svc) + 1;		/* with 0x00 */

	memcpy(kbuf, svc, plen);
	memset(kbuf + plen, k, 16);
	be64enc(kbuf + plen + 16, (uint64_t)start);
	return ((u_int32_t)plen + 24);
}

/*
 * A spans.db row written behind obs.c's back: end, no SHA-256, and seen
 * when vlen is 48 (none when it is 40, as rows were before seen).
 */
static void
raw_span_put(struct obs_db *o, const char *svc, uint8_t k, int64_t start,
    int64_t end, int64_t seen, u_int32_t vlen)
{
	uint8_t	kbuf[64], val[48];
	DBT	key, data;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	memset(val, 0, sizeof(val));
	be64enc(val, (uint64_t)end);
	be64enc(val + 40, (uint64_t)seen);
	key.data = kbuf;
	key.size = raw_span_key(kbuf, svc, k, start);
	data.data = val;
	data.size = vlen;
	ck_assert_int_eq(o->spans->put(o->spans, NULL, &key, &data, 0), 0);
}

/* The stored size of a span row's value (0: no such row). */
static u_int32_t
raw_span_size(struct obs_db *o, const char *svc, uint8_t k, int64_t start)
{
	uint8_t	kbuf[64];
	DBT	key, data;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = kbuf;
	key.size = raw_span_key(kbuf, svc, k, start);
	return (o->spans->get(o->spans, NULL, &key, &data, 0) == 0 ?
	    data.size : 0);
}

/*
 * Span rows written before the last sighting was kept (40-byte values)
 * read as seen = end, and are rewritten in the new form when extended;
 * a 48-byte row whose seen lies outside its span is corrupt.
 */
START_TEST(test_span_seen_rows)
{
	static const char	svc[] = "old:443,2";
	struct obs_span		v[4];
	struct obs_db		o;
	DB_ENV			*env;

	store_open(&env, &o, 0);
	raw_span_put(&o, svc, 0x60, T0, T0 + 50, 0, 40);
	ck_assert_uint_eq(read_all(&o, svc, v, 4), 1);
	assert_span(&v[0], 0x60, T0, T0 + 50);
	ck_assert_int_eq(v[0].seen, T0 + 50);

	ck_assert_int_eq(record(&o, svc, 0x60, T0 + 60), OBS_EXTENDED);
	ck_assert_uint_eq(read_all(&o, svc, v, 4), 1);
	assert_span(&v[0], 0x60, T0, T0 + 60);
	ck_assert_int_eq(v[0].seen, T0 + 60);
	ck_assert_uint_eq(raw_span_size(&o, svc, 0x60, T0), 48);

	/* seen after end, then seen before start: skipped as corrupt */
	raw_span_put(&o, svc, 0x70, T0, T0 + 50, T0 + 51, 48);
	raw_span_put(&o, svc, 0x71, T0, T0 + 50, T0 - 1, 48);
	ck_assert_uint_eq(read_all(&o, svc, v, 4), 1);
	store_close(env, &o);
}
END_TEST

/* Equal max(end): the larger start wins, then the larger MD5. */
START_TEST(test_ties)
{
	struct obs_span	v[4], sp[2];
	struct obs_db	o;
	DB_ENV		*env;

	store_open(&env, &o, 0);
	/* same end, B started later: B is the newest */
	sp[0] = span_make(0xa0, T0, T0 + 100);
	sp[1] = span_make(0xb0, T0 + 50, T0 + 100);
	ck_assert_int_eq(insert_spans(env, &o, "s1:443,2", sp, 2), 0);
	ck_assert_int_eq(record(&o, "s1:443,2", 0xb0, T0 + 200),
	    OBS_EXTENDED);
	ck_assert_int_eq(record(&o, "s2:443,2", 0xb0, T0), OBS_FIRST);
	/* same end and start: the larger MD5 (B) is the newest */
	sp[0] = span_make(0xa0, T0, T0 + 100);
	sp[1] = span_make(0xb0, T0, T0 + 100);
	ck_assert_int_eq(insert_spans(env, &o, "s3:443,2", sp, 2), 0);
	ck_assert_int_eq(record(&o, "s3:443,2", 0xa0, T0 + 200),
	    OBS_CHANGED);
	ck_assert_uint_eq(read_all(&o, "s3:443,2", v, 4), 3);
	assert_span(&v[0], 0xa0, T0, T0 + 100);
	assert_span(&v[1], 0xa0, T0 + 200, T0 + 200);
	assert_span(&v[2], 0xb0, T0, T0 + 199);
	check_invariants(v, 3);
	store_close(env, &o);
}
END_TEST

/* A clock that goes back never moves an end back, nor makes overlaps. */
START_TEST(test_end_only_forward)
{
	struct obs_span	v[8];
	struct obs_db	o;
	DB_ENV		*env;
	size_t		n;

	store_open(&env, &o, 0);
	record(&o, SVC, 0xa0, T0);
	record(&o, SVC, 0xa0, T0 + 1000);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 10), OBS_EXTENDED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 8), 1);
	assert_span(&v[0], 0xa0, T0, T0 + 1000);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 1000), OBS_EXTENDED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 8), 1);
	assert_span(&v[0], 0xa0, T0, T0 + 1000);
	/* B in the same second as A's end: A stays, B gets (now, now) */
	ck_assert_int_eq(record(&o, SVC, 0xb0, T0 + 1000), OBS_CHANGED);
	ck_assert_uint_eq(read_all(&o, SVC, v, 8), 2);
	assert_span(&v[0], 0xa0, T0, T0 + 1000);
	assert_span(&v[1], 0xb0, T0 + 1000, T0 + 1000);
	/* B is newest (tie, larger MD5); A again at a time A covers */
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 500), OBS_CHANGED);
	n = read_all(&o, SVC, v, 8);
	ck_assert_uint_eq(n, 2);
	assert_span(&v[0], 0xa0, T0, T0 + 1000);
	assert_span(&v[1], 0xb0, T0 + 1000, T0 + 1000);
	check_invariants(v, n);
	store_close(env, &o);
}
END_TEST

/* ---- reading ------------------------------------------------------- */

START_TEST(test_read_order_and_bounds)
{
	struct obs_span	v[8], sp[5];
	struct obs_db	o;
	DB_ENV		*env;
	size_t		n;

	store_open(&env, &o, 0);
	sp[0] = span_make(0xc0, T0 + 500, T0 + 600);
	sp[1] = span_make(0x0a, T0 + 300, T0 + 400);
	sp[2] = span_make(0xc0, T0 + 100, T0 + 200);
	sp[3] = span_make(0x0a, T0, T0 + 10);
	sp[4] = span_make(0x5f, T0 + 700, T0 + 800);
	ck_assert_int_eq(insert_spans(env, &o, "a:1,2", sp, 5), 0);
	/* neighbours by prefix: "a:1,22" and "a:1,2" must not mix */
	ck_assert_int_eq(record(&o, "a:1,1", 0x01, T0), OBS_FIRST);
	ck_assert_int_eq(record(&o, "a:1,22x", 0x01, T0), OBS_FIRST);
	n = read_all(&o, "a:1,2", v, 8);
	ck_assert_uint_eq(n, 5);
	assert_span(&v[0], 0x0a, T0, T0 + 10);
	assert_span(&v[1], 0x0a, T0 + 300, T0 + 400);
	assert_span(&v[2], 0x5f, T0 + 700, T0 + 800);
	assert_span(&v[3], 0xc0, T0 + 100, T0 + 200);
	assert_span(&v[4], 0xc0, T0 + 500, T0 + 600);
	check_invariants(v, n);
	/* at most max; v[2] is left alone */
	memset(v, 0x77, sizeof(v));
	ck_assert_uint_eq(read_all(&o, "a:1,2", v, 2), 2);
	assert_span(&v[1], 0x0a, T0 + 300, T0 + 400);
	ck_assert_int_eq(v[2].start, (int64_t)0x7777777777777777LL);
	ck_assert_uint_eq(read_all(&o, "a:1,2", v, 0), 0);
	ck_assert_uint_eq(read_all(&o, "unknown:1,2", v, 8), 0);
	ck_assert_uint_eq(read_all(&o, "a:1", v, 8), 0);
	/* bad ids are refused, not scanned */
	ck_assert_int_eq(obs_read(&o, "", 0, v, 8, &n), -1);
	ck_assert_int_eq(obs_read(&o, "a\0b", 3, v, 8, &n), -1);
	store_close(env, &o);
}
END_TEST

/* Beyond OBS_MAX_SPANS the oldest spans (by end) go. */
START_TEST(test_prune)
{
	struct obs_span	*v, *sp;
	struct obs_db	 o;
	DB_ENV		*env;
	size_t		 i, n;

	store_open(&env, &o, 0);
	sp = calloc(OBS_MAX_SPANS, sizeof(*sp));
	v = calloc(OBS_MAX_SPANS + 8, sizeof(*v));
	ck_assert(sp != NULL && v != NULL);
	/* key k = i % 2 alternates; spans 10 s apart, oldest first */
	for (i = 0; i < OBS_MAX_SPANS; i++)
		sp[i] = span_make((uint8_t)(i % 2 ? 0xb0 : 0xa0),
		    T0 + (int64_t)i * 10, T0 + (int64_t)i * 10 + 5);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, OBS_MAX_SPANS), 0);
	ck_assert_uint_eq(read_all(&o, SVC, v, OBS_MAX_SPANS + 8),
	    OBS_MAX_SPANS);
	/* a third key: one more span, so the oldest (A at T0) goes */
	ck_assert_int_eq(record(&o, SVC, 0xc0, T0 + OBS_MAX_SPANS * 10),
	    OBS_CHANGED);
	n = read_all(&o, SVC, v, OBS_MAX_SPANS + 8);
	ck_assert_uint_eq(n, OBS_MAX_SPANS);
	assert_span(&v[0], 0xa0, T0 + 20, T0 + 25);
	assert_span(&v[n - 1], 0xc0, T0 + OBS_MAX_SPANS * 10,
	    T0 + OBS_MAX_SPANS * 10);
	check_invariants(v, n);
	/* and again: the next oldest (B at T0 + 10) goes */
	record(&o, SVC, 0xd0, T0 + OBS_MAX_SPANS * 10 + 10);
	n = read_all(&o, SVC, v, OBS_MAX_SPANS + 8);
	ck_assert_uint_eq(n, OBS_MAX_SPANS);
	for (i = 0; i < n; i++)
		ck_assert_int_gt(v[i].start, T0 + 10);
	free(sp);
	free(v);
	store_close(env, &o);
}
END_TEST

START_TEST(test_failure)
{
	struct obs_service	st;
	struct obs_db		o;
	DB_ENV			*env;

	store_open(&env, &o, 0);
	ck_assert_int_eq(obs_record_failure(&o, SVC, SVC_LEN, 7, T0), 0);
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 0);
	ck_assert_int_eq(st.first_seen, T0);
	ck_assert_int_eq(st.last_probe, T0);
	ck_assert_int_eq(st.last_ok, 0);
	ck_assert_uint_eq(st.fails, 1);
	ck_assert_uint_eq(st.last_result, 7);
	ck_assert_int_eq(obs_record_failure(&o, SVC, SVC_LEN, 9, T0 + 60), 0);
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 0);
	ck_assert_int_eq(st.first_seen, T0);
	ck_assert_int_eq(st.last_probe, T0 + 60);
	ck_assert_uint_eq(st.fails, 2);
	ck_assert_uint_eq(st.last_result, 9);
	/* a failure writes no span; a success resets the count */
	ck_assert_uint_eq(read_all(&o, SVC, NULL, 0), 0);
	ck_assert_int_eq(record(&o, SVC, 0xa0, T0 + 120), OBS_FIRST);
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 0);
	ck_assert_int_eq(st.first_seen, T0);
	ck_assert_int_eq(st.last_ok, T0 + 120);
	ck_assert_uint_eq(st.fails, 0);
	ck_assert_uint_eq(st.last_result, 0);
	/* bad input */
	ck_assert_int_eq(obs_record_failure(&o, "", 0, 1, T0), -1);
	ck_assert_int_eq(obs_record_failure(&o, SVC, SVC_LEN, 1, -1), -1);
	store_close(env, &o);
}
END_TEST

/* Rows written behind obs.c's back are skipped by obs_read, not fatal. */
START_TEST(test_corrupt_rows)
{
	static const char	svc[] = "c:443,2";
	struct obs_span		v[8];
	struct obs_db		o;
	DB_ENV			*env;
	uint8_t			k[64], val[64];
	DBT			key, data;
	size_t			klen = sizeof(svc);	/* with 0x00 */

	store_open(&env, &o, 0);
	record(&o, svc, 0x50, T0);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	memcpy(k, svc, klen);
	memset(k + klen, 0x10, 16);
	memset(k + klen + 16, 0, 8);
	k[klen + 23] = 1;			/* start 1 */
	memset(val, 0, sizeof(val));
	key.data = k;
	data.data = val;
	/* 1: key one byte short */
	key.size = (u_int32_t)klen + 23;
	data.size = 40;
	ck_assert_int_eq(o.spans->put(o.spans, NULL, &key, &data, 0), 0);
	/* 2: value too long */
	key.size = (u_int32_t)klen + 24;
	data.size = 41;
	ck_assert_int_eq(o.spans->put(o.spans, NULL, &key, &data, 0), 0);
	/* 3: start 2 > end 1 */
	k[klen] = 0x20;
	k[klen + 23] = 2;
	val[7] = 1;
	data.size = 40;
	ck_assert_int_eq(o.spans->put(o.spans, NULL, &key, &data, 0), 0);
	/* 4: negative start */
	k[klen] = 0x30;
	k[klen + 16] = 0x80;
	ck_assert_int_eq(o.spans->put(o.spans, NULL, &key, &data, 0), 0);
	/* 5: a corrupt services.db row */
	key.data = (void *)svc;
	key.size = (u_int32_t)klen - 1;
	data.size = 3;
	ck_assert_int_eq(o.services->put(o.services, NULL, &key, &data, 0), 0);

	ck_assert_uint_eq(read_all(&o, svc, v, 8), 1);
	assert_span(&v[0], 0x50, T0, T0);
	/* recording still works around them, and repairs services.db */
	ck_assert_int_eq(record(&o, svc, 0x50, T0 + 10), OBS_EXTENDED);
	ck_assert_uint_eq(read_all(&o, svc, v, 8), 1);
	assert_span(&v[0], 0x50, T0, T0 + 10);
	store_close(env, &o);
}
END_TEST

START_TEST(test_readonly)
{
	struct obs_service	st;
	struct obs_span		v[4], sp;
	struct obs_fp		fp;
	struct obs_db		o;
	DB_ENV			*env;
	enum obs_outcome	out;

	store_open(&env, &o, 0);
	record(&o, SVC, 0xa0, T0);
	store_close(env, &o);
	store_open(&env, &o, 1);
	fp_make(&fp, 0xb0);
	ck_assert_int_eq(obs_record(&o, SVC, SVC_LEN, &fp, NULL, 0, T0 + 10,
	    &out), -1);
	ck_assert_int_eq(obs_record_failure(&o, SVC, SVC_LEN, 1, T0 + 10), -1);
	sp = span_make(0xc0, 1, 2);
	ck_assert_int_eq(insert_spans(env, &o, SVC, &sp, 1), EACCES);
	ck_assert_uint_eq(read_all(&o, SVC, v, 4), 1);
	assert_span(&v[0], 0xa0, T0, T0);
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 0);
	ck_assert_uint_eq(st.fails, 0);
	store_close(env, &o);
}
END_TEST

/* ---- import -------------------------------------------------------- */

START_TEST(test_insert_span)
{
	struct obs_service	st;
	struct obs_span		v[8], sp[2];
	struct obs_db		o;
	DB_ENV			*env;

	store_open(&env, &o, 0);
	sp[0] = span_make(0xa0, 100, 200);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), 0);
	/* the same span again: DB_KEYEXIST; overlaps: EEXIST */
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), DB_KEYEXIST);
	sp[0] = span_make(0xa0, 100, 300);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), EEXIST);
	sp[0] = span_make(0xa0, 50, 100);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), EEXIST);
	sp[0] = span_make(0xa0, 200, 250);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), EEXIST);
	sp[0] = span_make(0xa0, 150, 160);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), EEXIST);
	sp[0] = span_make(0xa0, 0, 1000);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), EEXIST);
	/* invalid */
	sp[0] = span_make(0xa0, -1, 10);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), EINVAL);
	sp[0] = span_make(0xa0, 20, 10);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), EINVAL);
	sp[0] = span_make(0xa0, 0, OBS_TIME_MAX + 1);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), EINVAL);
	/* touching, another key, another service: fine */
	sp[0] = span_make(0xa0, 201, 201);
	sp[1] = span_make(0xa0, 0, 99);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 2), 0);
	sp[0] = span_make(0xb0, 100, 200);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 1), 0);
	ck_assert_int_eq(insert_spans(env, &o, "x:1,2", sp, 1), 0);
	ck_assert_uint_eq(read_all(&o, SVC, v, 8), 4);
	assert_span(&v[0], 0xa0, 0, 99);
	assert_span(&v[1], 0xa0, 100, 200);
	assert_span(&v[2], 0xa0, 201, 201);
	assert_span(&v[3], 0xb0, 100, 200);
	/* one bad span in a txn: none of it stays */
	sp[0] = span_make(0xc0, 1, 2);
	sp[1] = span_make(0xa0, 150, 150);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, 2), EEXIST);
	ck_assert_uint_eq(read_all(&o, SVC, v, 8), 4);
	/* the import does not touch services.db unless asked */
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 1);
	store_close(env, &o);
}
END_TEST

static int
register_fn(DB_ENV *env, DB_TXN *txn, void *p)
{
	struct obs_db	*o = p;
	int		 r;

	(void)env;
	if ((r = obs_register_service(o, txn, SVC, SVC_LEN, T0)) != 0 ||
	    (r = obs_register_service(o, txn, SVC, SVC_LEN, T0 + 10)) != 0 ||
	    (r = obs_register_service(o, txn, "y:1,2", 5, T0 + 10)) != 0 ||
	    (r = obs_register_service(o, txn, "y:1,2", 5, T0 + 5)) != 0)
		return (r);
	return (0);
}

START_TEST(test_register_service)
{
	struct obs_service	st;
	struct obs_db		o;
	DB_ENV			*env;

	store_open(&env, &o, 0);
	ck_assert_int_eq(obs_record_failure(&o, SVC, SVC_LEN, 3, T0 + 100), 0);
	ck_assert_int_eq(db_txn_run(env, register_fn, &o, NULL), 0);
	ck_assert_int_eq(obs_service_get(&o, SVC, SVC_LEN, &st), 0);
	ck_assert_int_eq(st.first_seen, T0);
	ck_assert_int_eq(st.last_probe, T0 + 100);
	ck_assert_uint_eq(st.fails, 1);
	ck_assert_int_eq(obs_service_get(&o, "y:1,2", 5, &st), 0);
	ck_assert_int_eq(st.first_seen, T0 + 5);
	ck_assert_int_eq(st.last_probe, 0);
	store_close(env, &o);
}
END_TEST

/* ---- certificates ---------------------------------------------------- */

START_TEST(test_certs)
{
	static const uint8_t	der[] = "not really DER, but bytes to hash";
	uint8_t			buf[128], *big;
	struct obs_span		v[2];
	struct obs_fp		fp;
	struct obs_db		o;
	DB_ENV			*env;
	unsigned		len;
	size_t			n;
	enum obs_outcome	out;

	store_open(&env, &o, 0);
	memset(&fp, 0, sizeof(fp));
	ck_assert(EVP_Digest(der, sizeof(der), fp.md5, &len, EVP_md5(),
	    NULL) == 1);
	ck_assert(EVP_Digest(der, sizeof(der), fp.sha256, &len, EVP_sha256(),
	    NULL) == 1);
	ck_assert_int_eq(obs_record(&o, SVC, SVC_LEN, &fp, der, sizeof(der),
	    T0, &out), 0);
	ck_assert_uint_eq(read_all(&o, SVC, v, 2), 1);
	ck_assert_mem_eq(v[0].sha256, fp.sha256, 32);
	ck_assert_int_eq(obs_cert_get(&o, fp.sha256, buf, sizeof(buf), &n), 0);
	ck_assert_uint_eq(n, sizeof(der));
	ck_assert_mem_eq(buf, der, sizeof(der));
	ck_assert_int_eq(obs_cert_get(&o, fp.sha256, buf, 4, &n), -1);
	/* a DER that does not hash to fp is refused, nothing written */
	ck_assert_int_eq(obs_record(&o, SVC, SVC_LEN, &fp, der,
	    sizeof(der) - 1, T0 + 10, &out), -1);
	ck_assert_uint_eq(read_all(&o, SVC, v, 2), 1);
	ck_assert_int_eq(v[0].end, T0);
	/* too long: the sighting counts, the DER is not stored */
	big = calloc(1, OBS_DER_MAX + 1);
	ck_assert_ptr_nonnull(big);
	memset(fp.sha256, 0x33, 32);
	ck_assert_int_eq(obs_record(&o, SVC, SVC_LEN, &fp, big,
	    OBS_DER_MAX + 1, T0 + 20, &out), 0);
	ck_assert_int_eq(out, OBS_EXTENDED);
	ck_assert_int_eq(obs_cert_get(&o, fp.sha256, buf, sizeof(buf), &n), 1);
	free(big);
	store_close(env, &o);
}
END_TEST

/* ---- walks ----------------------------------------------------------- */

static int
count_spans(const char *svc, size_t len, const struct obs_span *sp,
    void *arg)
{
	struct walk_count	*wc = arg;
	int			 c;

	ck_assert_uint_eq(strlen(svc), len);
	if (wc->n > 0) {
		c = strcmp(wc->last_svc, svc);
		if (c > 0 ||
		    (c == 0 && memcmp(wc->last.md5, sp->md5, 16) > 0) ||
		    (c == 0 && memcmp(wc->last.md5, sp->md5, 16) == 0 &&
		    wc->last.start >= sp->start))
			wc->order_ok = 0;
	}
	memcpy(wc->last_svc, svc, len + 1);
	wc->last = *sp;
	if (++wc->n == wc->stop_at)
		return (42);
	return (0);
}

static int
count_services(const char *svc, size_t len, const struct obs_service *st,
    void *arg)
{
	size_t	*n = arg;

	(void)len;
	(void)st;
	ck_assert_ptr_nonnull(svc);
	(*n)++;
	return (0);
}

/* A scanner's part: 7 services x 1000 spans, then their probe state. */
static void
walks_writer(int fd)
{
	struct db_env_opts	 eo = opts();
	struct obs_span		*sp;
	struct obs_db		 o;
	DB_ENV			*env;
	char			 svc[64];
	size_t			 i, j;

	if (db_env_open(&env, &eo) != 0 || obs_open(&o, env, 0) != 0 ||
	    (sp = calloc(1000, sizeof(*sp))) == NULL)
		tu_child_exit(fd, 2);
	for (j = 0; j < 7; j++) {
		for (i = 0; i < 1000; i++)
			sp[i] = span_make((uint8_t)(i % 3), (int64_t)i * 10,
			    (int64_t)i * 10 + 1);
		snprintf(svc, sizeof(svc), "s%zu.example:443,2", 6 - j);
		if (insert_spans(env, &o, svc, sp, 1000) != 0 ||
		    obs_record_failure(&o, svc, strlen(svc), 1, T0) != 0)
			tu_child_exit(fd, 1);
	}
	free(sp);
	obs_close(&o);
	db_env_close(env);
	tu_child_exit(fd, 0);
}

/*
 * Several batches (7000 rows > the walk batch of 4096), written by
 * another process and walked by this one, as notaryctl export does.
 */
START_TEST(test_walks)
{
	struct walk_count	 wc;
	struct obs_db		 o;
	DB_ENV			*env;
	size_t			 n;
	pid_t			 pid;
	int			 fds[2];

	store_open(&env, &o, 1);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(fds[0]);
		walks_writer(fds[1]);
	}
	close(fds[1]);
	ck_assert_int_eq(tu_child_verdict(pid, fds[0], CHILD_TIMEOUT_MS), 0);
	memset(&wc, 0, sizeof(wc));
	wc.order_ok = 1;
	ck_assert_int_eq(obs_walk_spans(&o, count_spans, &wc), 0);
	ck_assert_uint_eq(wc.n, 7000);
	ck_assert(wc.order_ok);
	ck_assert_str_eq(wc.last_svc, "s6.example:443,2");
	/* a nonzero callback value stops the walk and comes back */
	memset(&wc, 0, sizeof(wc));
	wc.order_ok = 1;
	wc.stop_at = 4500;
	ck_assert_int_eq(obs_walk_spans(&o, count_spans, &wc), 42);
	ck_assert_uint_eq(wc.n, 4500);
	n = 0;
	ck_assert_int_eq(obs_walk_services(&o, count_services, &n), 0);
	ck_assert_uint_eq(n, 7);
	store_close(env, &o);
}
END_TEST

START_TEST(test_hex)
{
	static const uint8_t	b[3] = { 0x00, 0xab, 0xf9 };
	uint8_t			out[16];
	char			s[64];

	obs_hex_colon(b, 3, s);
	ck_assert_str_eq(s, "00:ab:f9");
	ck_assert_int_eq(obs_parse_colon_hex("00:ab:f9", 8, out, 3), 0);
	ck_assert_mem_eq(out, b, 3);
	ck_assert_int_eq(obs_parse_colon_hex("00:AB:f9", 8, out, 3), -1);
	ck_assert_int_eq(obs_parse_colon_hex("00:ab:f", 7, out, 3), -1);
	ck_assert_int_eq(obs_parse_colon_hex("00:ab:f9:", 9, out, 3), -1);
	ck_assert_int_eq(obs_parse_colon_hex("00-ab-f9", 8, out, 3), -1);
	ck_assert_int_eq(obs_parse_colon_hex("00:ab:g9", 8, out, 3), -1);
	ck_assert_int_eq(obs_parse_colon_hex("0:0ab:f9", 8, out, 3), -1);
	ck_assert_int_eq(obs_parse_colon_hex("", 0, out, 0), -1);
	memset(out, 0xee, 16);
	obs_hex_colon(out, 16, s);
	ck_assert_uint_eq(strlen(s), 47);
	ck_assert_int_eq(obs_parse_colon_hex(s, 47, out, 16), 0);
}
END_TEST

/* ---- processes ------------------------------------------------------- */

/*
 * Writer k records key 0xa0 + k, RACE_RECORDS times, each at the next
 * tick of a clock the two writers share (60 s a tick): like scanners,
 * each takes "now" just before its transaction, so the write order and
 * the clock agree except where the two race.
 */
static void
race_writer(int k, int barrier, int64_t *clock, int fd)
{
	struct db_env_opts	eo = opts();
	struct obs_fp		fp;
	struct obs_db		o;
	DB_ENV			*env;
	enum obs_outcome	out;
	int64_t			now;
	int			i;
	char			c;

	if (db_env_open(&env, &eo) != 0 || obs_open(&o, env, 0) != 0)
		tu_child_exit(fd, 2);
	/* start together: EOF on the barrier once both are ready */
	(void)read(barrier, &c, 1);
	fp_make(&fp, (uint8_t)(0xa0 + k));
	for (i = 0; i < RACE_RECORDS; i++) {
		now = __atomic_fetch_add(clock, 60, __ATOMIC_SEQ_CST);
		if (obs_record(&o, SVC, SVC_LEN, &fp, NULL, 0, now, &out) != 0)
			tu_child_exit(fd, 1);
		/* a writer that just committed would often win again */
		if (i % 4 != 3)
			usleep(50 * (useconds_t)(i % 4));
	}
	obs_close(&o);
	db_env_close(env);
	tu_child_exit(fd, 0);
}

START_TEST(test_two_writers)
{
	struct obs_span	*v;
	struct obs_db	 o;
	DB_ENV		*env;
	pid_t		 pid[2];
	int64_t		 t0, maxend = 0;
	size_t		 i, n;
	int64_t		*clock;
	int		 k, v0, barrier[2], fds[2][2];

	store_open(&env, &o, 0);
	store_close(env, &o);
	clock = mmap(NULL, sizeof(*clock), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(clock != MAP_FAILED);
	*clock = T0;
	ck_assert_int_eq(pipe(barrier), 0);
	for (k = 0; k < 2; k++) {
		ck_assert_int_eq(pipe(fds[k]), 0);
		ck_assert_int_ne(pid[k] = fork(), -1);
		if (pid[k] == 0) {
			close(barrier[1]);
			close(fds[k][0]);
			race_writer(k, barrier[0], clock, fds[k][1]);
		}
		close(fds[k][1]);
	}
	close(barrier[0]);
	usleep(100000);		/* let both open the environment */
	t0 = mono_ms();
	close(barrier[1]);
	for (k = 0; k < 2; k++) {
		v0 = tu_child_verdict(pid[k], fds[k][0], CHILD_TIMEOUT_MS);
		ck_assert_msg(v0 == 0, "writer %d: verdict %d", k, v0);
	}
	tu_note("two writers: %d records in %lld ms", 2 * RACE_RECORDS,
	    (long long)(mono_ms() - t0));
	store_open(&env, &o, 1);
	v = calloc(OBS_MAX_SPANS + 1, sizeof(*v));
	ck_assert_ptr_nonnull(v);
	n = read_all(&o, SVC, v, OBS_MAX_SPANS + 1);
	ck_assert_uint_ge(n, 2);
	ck_assert_uint_le(n, 2 * RACE_RECORDS);
	check_invariants(v, n);
	for (i = 0; i < n; i++) {
		ck_assert(v[i].md5[0] == 0xa0 || v[i].md5[0] == 0xa1);
		if (v[i].end > maxend)
			maxend = v[i].end;
	}
	/* every sighting is covered: the last one is the newest end */
	ck_assert_int_eq(maxend, T0 + (2 * RACE_RECORDS - 1) * 60);
	ck_assert_int_eq(*clock, T0 + 2 * RACE_RECORDS * 60);
	munmap(clock, sizeof(*clock));
	tu_note("two writers: %zu spans", n);
	free(v);
	store_close(env, &o);
}
END_TEST

/* Lock requests of the environment that had to wait so far. */
static uintmax_t
lock_waits(DB_ENV *env)
{
	DB_LOCK_STAT	*sp;
	uintmax_t	 n;

	if (env->lock_stat(env, &sp, 0) != 0)
		return (0);
	n = sp->st_lock_wait;
	free(sp);
	return (n);
}

/*
 * The other side of a deadlock with obs_record: it holds SVC's services.db
 * row, then wants SVC's spans.db page.  Its priority makes obs_record's
 * transaction the detector's victim, so obs_record has to retry.  It asks
 * for the page only once obs_record waits for the row (the environment's
 * count of lock waits went up: nobody else holds a lock), so the two
 * really cross on any machine speed.
 */
static void
deadlock_peer(int go, int fd)
{
	struct db_env_opts	 eo = opts();
	struct obs_db		 o;
	DB_ENV			*env;
	DB_TXN			*txn;
	DBC			*c;
	DBT			 key, val;
	uint8_t			 prefix[SVC_LEN + 1], row[32];
	uintmax_t		 waits;
	int64_t			 until;
	char			 ch = 'R';

	if (db_env_open(&env, &eo) != 0 || obs_open(&o, env, 0) != 0 ||
	    env->txn_begin(env, NULL, &txn, 0) != 0 ||
	    txn->set_priority(txn, UINT32_MAX) != 0)
		tu_child_exit(fd, 2);
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	memset(row, 0, sizeof(row));
	key.data = (void *)SVC;
	key.size = SVC_LEN;
	val.data = row;
	val.size = sizeof(row);
	if (o.services->put(o.services, txn, &key, &val, 0) != 0)
		tu_child_exit(fd, 3);
	waits = lock_waits(env);
	if (write(fd, &ch, 1) != 1 || read(go, &ch, 1) != 1)
		tu_child_exit(fd, 3);
	until = mono_ms() + CHILD_TIMEOUT_MS / 2;
	while (lock_waits(env) <= waits) {	/* obs_record waits for the row */
		if (mono_ms() > until)
			tu_child_exit(fd, 5);
		usleep(1000);
	}
	memcpy(prefix, SVC, SVC_LEN + 1);
	key.data = prefix;
	key.size = sizeof(prefix);
	if (o.spans->cursor(o.spans, txn, &c, 0) != 0 ||
	    c->get(c, &key, &val, DB_SET_RANGE | DB_RMW) != 0 ||
	    c->close(c) != 0 || txn->commit(txn, 0) != 0)
		tu_child_exit(fd, 4);
	tu_child_exit(fd, 0);
}

START_TEST(test_deadlock_retry)
{
	struct obs_span	*v, *sp;
	struct obs_db	 o;
	DB_ENV		*env;
	char		 logpath[128], err[256], line[512], ch = 'G';
	FILE		*f;
	size_t		 i, n;
	pid_t		 pid;
	int		 fds[2], gofds[2], retried = 0;

	store_open(&env, &o, 0);
	/* a full service: a retry that kept the first attempt's rows
	 * would count 2048 and prune half of them */
	sp = calloc(OBS_MAX_SPANS, sizeof(*sp));
	v = calloc(OBS_MAX_SPANS + 1, sizeof(*v));
	ck_assert(sp != NULL && v != NULL);
	for (i = 0; i < OBS_MAX_SPANS; i++)
		sp[i] = span_make((uint8_t)(i % 2 ? 0xb0 : 0xa0),
		    T0 + (int64_t)i * 10, T0 + (int64_t)i * 10 + 5);
	ck_assert_int_eq(insert_spans(env, &o, SVC, sp, OBS_MAX_SPANS), 0);
	ck_assert(xsnprintf(logpath, sizeof(logpath), "%s/debug.log",
	    tu_dir) == 0);
	ck_assert_int_eq(log_configure(LOG_LEVEL_DEBUG, logpath, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(pipe(gofds), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(fds[0]);
		close(gofds[1]);
		deadlock_peer(gofds[0], fds[1]);
	}
	close(fds[1]);
	close(gofds[0]);
	ck_assert_int_eq(tu_read_full(fds[0], &ch, 1, CHILD_TIMEOUT_MS), 1);
	ck_assert_int_eq(ch, 'R');
	ck_assert_int_eq(write(gofds[1], &ch, 1), 1);
	ck_assert_int_eq(record(&o, SVC, 0xb0, T0 + OBS_MAX_SPANS * 10),
	    OBS_EXTENDED);
	ck_assert_int_eq(tu_child_verdict(pid, fds[0], CHILD_TIMEOUT_MS), 0);
	close(gofds[1]);
	ck_assert_int_eq(log_configure(tu_verbose() ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR, "stderr", err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(f = fopen(logpath, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		retried += strstr(line, "retrying") != NULL;
	fclose(f);
	ck_assert_int_ge(retried, 1);
	tu_note("deadlock: obs_record retried %d time(s)", retried);
	n = read_all(&o, SVC, v, OBS_MAX_SPANS + 1);
	ck_assert_uint_eq(n, OBS_MAX_SPANS);
	check_invariants(v, n);
	for (i = 0; i < n; i++)
		if (v[i].md5[0] == 0xb0 && v[i].start == T0 + 10230)
			ck_assert_int_eq(v[i].end, T0 + OBS_MAX_SPANS * 10);
	free(sp);
	free(v);
	store_close(env, &o);
}
END_TEST

/* Each observation its own txn; after each commit, report i. */
static void
kill_writer(int fd)
{
	struct db_env_opts	eo = opts();
	struct obs_fp		fp;
	struct obs_db		o;
	DB_ENV			*env;
	enum obs_outcome	out;
	char			svc[64];
	uint32_t		i;

	if (db_env_open(&env, &eo) != 0 || obs_open(&o, env, 0) != 0)
		_exit(2);
	for (i = 0; i < KILL_RECORDS; i++) {
		snprintf(svc, sizeof(svc), "k%u.example:443,2", i);
		fp_make(&fp, (uint8_t)i);
		if (obs_record(&o, svc, strlen(svc), &fp, NULL, 0,
		    T0 + i, &out) != 0)
			_exit(1);
		if (write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(1);
	}
	_exit(0);
}

START_TEST(test_kill_writer)
{
	struct obs_span	v[2];
	struct obs_db	o;
	DB_ENV		*env;
	uint32_t	i, got = 0, acked;
	char		svc[64];
	int		fds[2], st;
	pid_t		pid;

	store_open(&env, &o, 0);
	store_close(env, &o);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(fds[0]);
		kill_writer(fds[1]);
	}
	close(fds[1]);
	while (got < KILL_AFTER && tu_read_full(fds[0], &acked,
	    sizeof(acked), CHILD_TIMEOUT_MS) == sizeof(acked)) {
		ck_assert_uint_eq(acked, got);
		got++;
	}
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	/* acks already in the pipe were committed too */
	while (tu_read_full(fds[0], &acked, sizeof(acked), 1000) ==
	    sizeof(acked))
		got++;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	close(fds[0]);
	ck_assert_uint_ge(got, KILL_AFTER);
	ck_assert_uint_lt(got, KILL_RECORDS);
	ck_assert_int_eq(tu_db_recover(tu_dir, TEST_CACHE_BYTES, NULL), 0);
	store_open(&env, &o, 1);
	for (i = 0; i < got; i++) {
		snprintf(svc, sizeof(svc), "k%u.example:443,2", i);
		ck_assert_msg(read_all(&o, svc, v, 2) == 1, "%s lost", svc);
		assert_span(&v[0], (uint8_t)i, T0 + i, T0 + i);
	}
	tu_note("kill: %u acknowledged observations all kept", got);
	store_close(env, &o);
}
END_TEST

/* Not a test of behaviour: how long one obs_record takes here. */
START_TEST(test_latency)
{
	struct obs_db	o;
	DB_ENV		*env;
	int64_t		t0, t1;
	char		svc[64];
	int		i;

	store_open(&env, &o, 0);
	t0 = mono_ns();
	for (i = 0; i < LATENCY_RECORDS; i++)
		record(&o, "e:443,2", 1, T0 + i * 3600);
	t1 = mono_ns();
	tu_note("obs_record, extending one span: %.1f us each",
	    (double)(t1 - t0) / LATENCY_RECORDS / 1000.0);
	t0 = mono_ns();
	for (i = 0; i < LATENCY_RECORDS; i++)
		record(&o, SVC, (uint8_t)(i % 2), T0 + i * 3600);
	t1 = mono_ns();
	tu_note("obs_record, one service, a new span each time (up to %d, "
	    "then pruned): %.1f us each", OBS_MAX_SPANS,
	    (double)(t1 - t0) / LATENCY_RECORDS / 1000.0);
	t0 = mono_ns();
	for (i = 0; i < LATENCY_RECORDS; i++) {
		snprintf(svc, sizeof(svc), "l%d.example:443,2", i);
		record(&o, svc, 1, T0);
	}
	t1 = mono_ns();
	tu_note("obs_record, new services: %.1f us each",
	    (double)(t1 - t0) / LATENCY_RECORDS / 1000.0);
	store_close(env, &o);
}
END_TEST

/* One test per case, each in its own directory (unchecked fixture). */
static void
add_test(Suite *s, const char *name, const TTest *t, int timeout)
{
	tu_add_alone(s, name, t, timeout, tu_tmpdir_setup,
	    tu_tmpdir_teardown);
}

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("obs");
	char	 err[256];

	/* The library's log: errors only, unless CHECK_OBS_VERBOSE is set. */
	if (log_configure(tu_verbose() ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR,
	    "stderr", err, sizeof(err)) == -1)
		fprintf(stderr, "check_obs: %s\n", err);

	add_test(s, "first", test_first_sighting, 30);
	add_test(s, "extend", test_extend_within_48h, 30);
	add_test(s, "boundary", test_48h_boundary, 30);
	add_test(s, "change", test_change_within_48h, 30);
	add_test(s, "gap", test_change_after_gap, 30);
	add_test(s, "aba", test_aba, 30);
	add_test(s, "span_seen_rows", test_span_seen_rows, 30);
	add_test(s, "ties", test_ties, 30);
	add_test(s, "forward", test_end_only_forward, 30);
	add_test(s, "read", test_read_order_and_bounds, 30);
	add_test(s, "prune", test_prune, 60);
	add_test(s, "failure", test_failure, 30);
	add_test(s, "corrupt", test_corrupt_rows, 30);
	add_test(s, "readonly", test_readonly, 30);
	add_test(s, "insert", test_insert_span, 30);
	add_test(s, "register", test_register_service, 30);
	add_test(s, "certs", test_certs, 30);
	add_test(s, "walks", test_walks, 60);
	add_test(s, "hex", test_hex, 30);
	add_test(s, "writers", test_two_writers, 120);
	add_test(s, "deadlock", test_deadlock_retry, 120);
	add_test(s, "kill", test_kill_writer, 120);
	add_test(s, "latency", test_latency, 120);
	return (s);
}
