/*
 * check_cache.c - unit tests for common/siphash.c and common/cache.c.
 *
 * Times are passed explicitly (now_ms), so expiry and tombstones are
 * deterministic.  The tests that fork (dead lock holder, lock timeout,
 * concurrent processes) only call _exit() in children and report through
 * exit codes or a shared counter page; assertions run in the parent.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cache.h"
#include "common/log.h"
#include "common/siphash.h"
#include "common/util.h"
#include "tests/testutil.h"

#define XML	CACHE_FMT_PERSPECTIVES_XML
#define JSON	CACHE_FMT_CONVERGENCE_JSON
#define MAXVAL	1024
#define BIGSIZE	(1024 * 1024)

#define CONC_CHILDREN	4
#define CONC_OPS	20000
#define CONC_KEYS	300	/* many more than slots: evictions */
#define CONC_HOT	6	/* half the operations: collisions */

/* What the children of the concurrency test did, as the cache must count. */
struct conc_tally {
	uint64_t	puts_stored;
	uint64_t	gets_hit;
	uint64_t	gets_missed;
	uint64_t	bad_values;
	uint64_t	errors;
};

static size_t	key_name(char *, size_t, unsigned);
static uint32_t	fnv1a(uint32_t, const void *, size_t);
static uint32_t	key_tag(uint8_t, const char *, size_t);
static void	value_make(unsigned char *, size_t, uint8_t, const char *,
		    size_t, uint32_t);
static int	value_ok(const unsigned char *, size_t, uint8_t,
		    const char *, size_t);
static unsigned	same_stripe_keys(struct cache *, unsigned, unsigned *,
		    unsigned);
static struct cache_stats stats_of(struct cache *);
static int	put_str(struct cache *, uint8_t, const char *, const char *,
		    int64_t, int64_t, int64_t);
static int	get_str(struct cache *, uint8_t, const char *, char *, size_t,
		    int64_t);
static pid_t	spawn_dirty_holder(struct cache *, uint8_t, const char *,
		    int, int);
static void	conc_child(struct cache *, unsigned, struct conc_tally *,
		    int);

static size_t
key_name(char *buf, size_t len, unsigned n)
{
	int	r;

	r = snprintf(buf, len, "svc%u.example.org:443,2", n);
	ck_assert(r > 0 && (size_t)r < len);
	return ((size_t)r);
}

static uint32_t
fnv1a(uint32_t h, const void *p, size_t n)
{
	const unsigned char	*b = p;

	while (n-- > 0)
		h = (h ^ *b++) * 16777619U;
	return (h);
}

static uint32_t
key_tag(uint8_t fmt, const char *id, size_t idlen)
{
	return (fnv1a(fnv1a(2166136261U, &fmt, 1), id, idlen));
}

/*
 * A value that says which key it belongs to and checks itself:
 * {u32 len, u32 key tag, u32 seed, filler..., u32 fnv of all before}.
 */
static void
value_make(unsigned char *buf, size_t len, uint8_t fmt, const char *id,
    size_t idlen, uint32_t seed)
{
	uint32_t	w, sum;
	size_t		i;

	ck_assert_uint_ge(len, 16);
	w = (uint32_t)len;
	memcpy(buf, &w, 4);
	w = key_tag(fmt, id, idlen);
	memcpy(buf + 4, &w, 4);
	memcpy(buf + 8, &seed, 4);
	for (i = 12; i < len - 4; i++)
		buf[i] = (unsigned char)(seed * 31 + i * 7);
	sum = fnv1a(2166136261U, buf, len - 4);
	memcpy(buf + len - 4, &sum, 4);
}

static int
value_ok(const unsigned char *buf, size_t len, uint8_t fmt, const char *id,
    size_t idlen)
{
	uint32_t	w, seed, sum;
	size_t		i;

	if (len < 16)
		return (0);
	memcpy(&w, buf, 4);
	if (w != len)
		return (0);
	memcpy(&w, buf + 4, 4);
	if (w != key_tag(fmt, id, idlen))
		return (0);
	memcpy(&seed, buf + 8, 4);
	for (i = 12; i < len - 4; i++)
		if (buf[i] != (unsigned char)(seed * 31 + i * 7))
			return (0);
	memcpy(&sum, buf + len - 4, 4);
	return (sum == fnv1a(2166136261U, buf, len - 4));
}

/* Find want key numbers (XML format) that land in the stripe of key base. */
static unsigned
same_stripe_keys(struct cache *c, unsigned base, unsigned *out,
    unsigned want)
{
	char		id[64];
	size_t		idlen;
	unsigned	n, found = 0;
	int		stripe;

	idlen = key_name(id, sizeof(id), base);
	stripe = cache_debug_stripe_of(c, XML, id, idlen);
	ck_assert_int_ge(stripe, 0);
	for (n = base; found < want && n < base + 1000000; n++) {
		idlen = key_name(id, sizeof(id), n);
		if (cache_debug_stripe_of(c, XML, id, idlen) == stripe)
			out[found++] = n;
	}
	ck_assert_uint_eq(found, want);
	return (found);
}

static struct cache_stats
stats_of(struct cache *c)
{
	struct cache_stats	st;

	cache_stats(c, &st);
	return (st);
}

static int
put_str(struct cache *c, uint8_t fmt, const char *id, const char *val,
    int64_t ttl, int64_t read_began, int64_t now)
{
	return (cache_put(c, fmt, id, strlen(id), val, strlen(val), ttl,
	    read_began, now));
}

/* get into a NUL-terminated string */
static int
get_str(struct cache *c, uint8_t fmt, const char *id, char *buf,
    size_t buflen, int64_t now)
{
	size_t	vlen = 0;
	int	r;

	r = cache_get(c, fmt, id, strlen(id), buf, buflen - 1, &vlen, NULL,
	    now);
	buf[r == 1 ? vlen : 0] = '\0';
	return (r);
}

/* ---- SipHash ----------------------------------------------------------- */

START_TEST(test_siphash_vectors)
{
	/* Key 00..0f, message 00..(n-1): the SipHash paper's test vector
	 * (n = 15) and the reference implementation's vectors around the
	 * 8-byte block boundaries. */
	static const struct {
		size_t		len;
		uint64_t	out;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ULL },
		{ 1, 0x74f839c593dc67fdULL },
		{ 7, 0xab0200f58b01d137ULL },
		{ 8, 0x93f5f5799a932462ULL },
		{ 15, 0xa129ca6149be45e5ULL },
		{ 16, 0x3f2acc7f57c29bdbULL },
	};
	unsigned char	key[SIPHASH_KEY_LEN], msg[16];
	size_t		i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	for (i = 0; i < NELEM(v); i++)
		ck_assert_msg(siphash24(key, msg, v[i].len) == v[i].out,
		    "siphash24 of %zu bytes", v[i].len);
	/* The key matters. */
	key[0] ^= 1;
	ck_assert(siphash24(key, msg, 15) != 0xa129ca6149be45e5ULL);
}
END_TEST

/* ---- basic operations -------------------------------------------------- */

START_TEST(test_put_get_roundtrip)
{
	struct cache		*c;
	struct cache_stats	 st;
	unsigned char		 val[300], buf[MAXVAL];
	const char		*id = "www.example.org:443,2";
	size_t			 vlen = 0;
	int64_t			 stored = 0;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	ck_assert_uint_eq(cache_max_value(c), MAXVAL);
	value_make(val, sizeof(val), XML, id, strlen(id), 7);
	ck_assert_int_eq(cache_get(c, XML, id, strlen(id), buf, sizeof(buf),
	    &vlen, &stored, 1000), 0);
	ck_assert_int_eq(cache_put(c, XML, id, strlen(id), val, sizeof(val),
	    60000, 990, 1000), 0);
	ck_assert_int_eq(cache_get(c, XML, id, strlen(id), buf, sizeof(buf),
	    &vlen, &stored, 1001), 1);
	ck_assert_uint_eq(vlen, sizeof(val));
	ck_assert_int_eq(stored, 1000);
	ck_assert_mem_eq(buf, val, sizeof(val));
	/* stored_ms may be NULL */
	ck_assert_int_eq(cache_get(c, XML, id, strlen(id), buf, sizeof(buf),
	    &vlen, NULL, 1002), 1);
	/* a different id of the same length misses */
	ck_assert_int_eq(cache_get(c, XML, "www.example.org:443,1",
	    strlen(id), buf, sizeof(buf), &vlen, NULL, 1002), 0);

	st = stats_of(c);
	ck_assert_uint_eq(st.hits, 2);
	ck_assert_uint_eq(st.misses, 2);
	ck_assert_uint_eq(st.stores, 1);
	ck_assert_uint_eq(st.used, 1);
	ck_assert_uint_eq(st.max_value, MAXVAL);
	ck_assert_uint_eq(st.slots % CACHE_WAYS, 0);
	ck_assert_uint_gt(st.slots, CACHE_WAYS);
	cache_destroy(c);
}
END_TEST

START_TEST(test_formats_distinct)
{
	struct cache	*c;
	char		 buf[64];

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	ck_assert_int_eq(put_str(c, XML, "a.org:443,2", "<xml/>", 1000, 0, 0),
	    0);
	ck_assert_int_eq(get_str(c, JSON, "a.org:443,2", buf, sizeof(buf), 1),
	    0);
	ck_assert_int_eq(put_str(c, JSON, "a.org:443,2", "{}", 1000, 0, 0), 0);
	ck_assert_int_eq(get_str(c, XML, "a.org:443,2", buf, sizeof(buf), 1),
	    1);
	ck_assert_str_eq(buf, "<xml/>");
	ck_assert_int_eq(get_str(c, JSON, "a.org:443,2", buf, sizeof(buf), 1),
	    1);
	ck_assert_str_eq(buf, "{}");

	/* invalidating one format leaves the other */
	ck_assert_int_eq(cache_invalidate(c, JSON, "a.org:443,2", 11, 5), 0);
	ck_assert_int_eq(get_str(c, JSON, "a.org:443,2", buf, sizeof(buf), 6),
	    0);
	ck_assert_int_eq(get_str(c, XML, "a.org:443,2", buf, sizeof(buf), 6),
	    1);
	/* invalidating the service drops every format */
	ck_assert_int_eq(put_str(c, JSON, "a.org:443,2", "{}", 1000, 6, 7), 0);
	ck_assert_int_eq(cache_invalidate_service(c, "a.org:443,2", 11, 8), 0);
	ck_assert_int_eq(get_str(c, XML, "a.org:443,2", buf, sizeof(buf), 9),
	    0);
	ck_assert_int_eq(get_str(c, JSON, "a.org:443,2", buf, sizeof(buf), 9),
	    0);
	ck_assert_uint_eq(stats_of(c).invalidations, 3);

	/* formats outside the enum are bad arguments */
	ck_assert_int_eq(put_str(c, 0, "a.org:443,2", "x", 1000, 0, 0), -1);
	ck_assert_int_eq(put_str(c, CACHE_FMT_MAX + 1, "a.org:443,2", "x",
	    1000, 0, 0), -1);
	ck_assert_int_eq(get_str(c, 0, "a.org:443,2", buf, sizeof(buf), 9),
	    -1);
	ck_assert_int_eq(cache_invalidate(c, 3, "a.org:443,2", 11, 9), -1);
	cache_destroy(c);
}
END_TEST

START_TEST(test_id_too_long)
{
	struct cache	*c;
	char		 id[CACHE_KEY_MAX + 2], buf[16];
	size_t		 vlen;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	memset(id, 'x', sizeof(id));
	ck_assert_int_eq(cache_put(c, XML, id, CACHE_KEY_MAX + 1, "v", 1,
	    1000, 0, 0), -1);
	ck_assert_int_eq(cache_get(c, XML, id, CACHE_KEY_MAX + 1, buf,
	    sizeof(buf), &vlen, NULL, 0), -1);
	ck_assert_int_eq(cache_invalidate(c, XML, id, CACHE_KEY_MAX + 1, 0),
	    -1);
	ck_assert_int_eq(cache_invalidate_service(c, id, CACHE_KEY_MAX + 1,
	    0), -1);
	/* exactly CACHE_KEY_MAX is fine, and differs from one byte less */
	ck_assert_int_eq(cache_put(c, XML, id, CACHE_KEY_MAX, "v", 1,
	    1000, 0, 0), 0);
	ck_assert_int_eq(cache_get(c, XML, id, CACHE_KEY_MAX, buf,
	    sizeof(buf), &vlen, NULL, 1), 1);
	ck_assert_uint_eq(vlen, 1);
	ck_assert_int_eq(cache_get(c, XML, id, CACHE_KEY_MAX - 1, buf,
	    sizeof(buf), &vlen, NULL, 1), 0);
	/* NULL id, NULL vlen */
	ck_assert_int_eq(cache_get(c, XML, NULL, 3, buf, sizeof(buf), &vlen,
	    NULL, 1), -1);
	ck_assert_int_eq(cache_get(c, XML, id, 3, buf, sizeof(buf), NULL,
	    NULL, 1), -1);
	ck_assert_uint_eq(stats_of(c).stores, 1);
	cache_destroy(c);
}
END_TEST

START_TEST(test_oversize_refused)
{
	struct cache	*c;
	unsigned char	 val[MAXVAL + 1], buf[MAXVAL + 1];
	size_t		 vlen = 0;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	memset(val, 'v', sizeof(val));
	ck_assert_int_eq(cache_put(c, XML, "k", 1, val, MAXVAL + 1, 1000, 0,
	    0), -1);
	ck_assert_int_eq(cache_put(c, XML, "k", 1, val, (size_t)1 << 40,
	    1000, 0, 0), -1);
	ck_assert_uint_eq(stats_of(c).oversize, 2);
	ck_assert_uint_eq(stats_of(c).stores, 0);
	ck_assert_int_eq(cache_get(c, XML, "k", 1, buf, sizeof(buf), &vlen,
	    NULL, 1), 0);
	/* exactly max_value fits */
	ck_assert_int_eq(cache_put(c, XML, "k", 1, val, MAXVAL, 1000, 0, 0),
	    0);
	ck_assert_int_eq(cache_get(c, XML, "k", 1, buf, sizeof(buf), &vlen,
	    NULL, 1), 1);
	ck_assert_uint_eq(vlen, MAXVAL);
	ck_assert_mem_eq(buf, val, MAXVAL);
	ck_assert_uint_eq(stats_of(c).oversize, 2);
	cache_destroy(c);
}
END_TEST

START_TEST(test_buffer_too_small)
{
	struct cache	*c;
	unsigned char	 val[100], buf[100];
	size_t		 vlen = 12345;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	memset(val, 'v', sizeof(val));
	ck_assert_int_eq(cache_put(c, JSON, "k", 1, val, sizeof(val), 1000,
	    0, 0), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(cache_get(c, JSON, "k", 1, buf, 99, &vlen, NULL, 1),
	    -1);
	ck_assert_uint_eq(buf[0], 0);		/* nothing copied */
	ck_assert_int_eq(cache_get(c, JSON, "k", 1, NULL, 0, &vlen, NULL, 1),
	    -1);
	ck_assert_int_eq(cache_get(c, JSON, "k", 1, buf, 100, &vlen, NULL, 1),
	    1);
	ck_assert_uint_eq(vlen, 100);
	/* an empty value needs no buffer at all */
	ck_assert_int_eq(cache_put(c, JSON, "e", 1, NULL, 0, 1000, 0, 0), 0);
	ck_assert_int_eq(cache_get(c, JSON, "e", 1, NULL, 0, &vlen, NULL, 1),
	    1);
	ck_assert_uint_eq(vlen, 0);
	cache_destroy(c);
}
END_TEST

START_TEST(test_expiry)
{
	struct cache		*c;
	struct cache_stats	 st;
	char			 buf[64];

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	ck_assert_int_eq(put_str(c, XML, "k", "v", 500, 1000, 1000), 0);
	ck_assert_int_eq(get_str(c, XML, "k", buf, sizeof(buf), 1000), 1);
	ck_assert_int_eq(get_str(c, XML, "k", buf, sizeof(buf), 1499), 1);
	ck_assert_int_eq(get_str(c, XML, "k", buf, sizeof(buf), 1500), 0);
	ck_assert_int_eq(get_str(c, XML, "k", buf, sizeof(buf), 99999), 0);
	st = stats_of(c);
	ck_assert_uint_eq(st.hits, 2);
	ck_assert_uint_eq(st.misses, 2);
	ck_assert_uint_eq(st.expired, 2);
	/* a ttl of zero is stored but never served; a huge one saturates */
	ck_assert_int_eq(put_str(c, XML, "z", "v", 0, 2000, 2000), 0);
	ck_assert_int_eq(get_str(c, XML, "z", buf, sizeof(buf), 2000), 0);
	ck_assert_int_eq(put_str(c, XML, "h", "v", INT64_MAX, 2000, 2000), 0);
	ck_assert_int_eq(get_str(c, XML, "h", buf, sizeof(buf),
	    INT64_MAX - 1), 1);
	cache_destroy(c);
}
END_TEST

START_TEST(test_overwrite)
{
	struct cache		*c;
	struct cache_stats	 st;
	char			 buf[64];
	size_t			 vlen;
	int64_t			 stored;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	ck_assert_int_eq(put_str(c, XML, "k", "first value", 1000, 0, 10), 0);
	ck_assert_int_eq(put_str(c, XML, "k", "second", 1000, 0, 20), 0);
	ck_assert_int_eq(cache_get(c, XML, "k", 1, buf, sizeof(buf), &vlen,
	    &stored, 21), 1);
	ck_assert_uint_eq(vlen, 6);
	ck_assert_mem_eq(buf, "second", 6);
	ck_assert_int_eq(stored, 20);
	/* the new ttl counts from the overwrite */
	ck_assert_int_eq(get_str(c, XML, "k", buf, sizeof(buf), 1019), 1);
	st = stats_of(c);
	ck_assert_uint_eq(st.stores, 2);
	ck_assert_uint_eq(st.used, 1);
	ck_assert_uint_eq(st.evictions, 0);
	cache_destroy(c);
}
END_TEST

/* ---- stripes full: eviction -------------------------------------------- */

START_TEST(test_eviction_oldest)
{
	struct cache		*c;
	struct cache_stats	 st;
	unsigned		 keys[CACHE_WAYS + 2], i;
	char			 id[64], buf[64], val[32];
	int			 r;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	ck_assert_uint_gt(stats_of(c).slots, CACHE_WAYS);
	same_stripe_keys(c, 0, keys, CACHE_WAYS + 2);

	/* fill the stripe, each key stored one ms after the previous */
	for (i = 0; i < CACHE_WAYS; i++) {
		key_name(id, sizeof(id), keys[i]);
		snprintf(val, sizeof(val), "v%u", i);
		ck_assert_int_eq(put_str(c, XML, id, val, 100000, 0, 1000 + i),
		    0);
	}
	ck_assert_uint_eq(stats_of(c).evictions, 0);
	/* refresh key 0 so that key 1 becomes the oldest */
	key_name(id, sizeof(id), keys[0]);
	ck_assert_int_eq(put_str(c, XML, id, "v0", 100000, 0, 2000), 0);
	ck_assert_uint_eq(stats_of(c).evictions, 0);

	key_name(id, sizeof(id), keys[CACHE_WAYS]);
	ck_assert_int_eq(put_str(c, XML, id, "new", 100000, 0, 3000), 0);
	st = stats_of(c);
	ck_assert_uint_eq(st.evictions, 1);
	ck_assert_uint_eq(st.used, CACHE_WAYS);

	for (i = 0; i <= CACHE_WAYS; i++) {
		key_name(id, sizeof(id), keys[i]);
		r = get_str(c, XML, id, buf, sizeof(buf), 3001);
		ck_assert_int_eq(r, i == 1 ? 0 : 1);
		if (i == CACHE_WAYS)
			ck_assert_str_eq(buf, "new");
		else if (r == 1) {
			snprintf(val, sizeof(val), "v%u", i);
			ck_assert_str_eq(buf, val);
		}
	}
	cache_destroy(c);
}
END_TEST

START_TEST(test_expired_reused_before_eviction)
{
	struct cache	*c;
	unsigned	 keys[CACHE_WAYS + 1], i;
	char		 id[64], buf[64];

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	same_stripe_keys(c, 500, keys, CACHE_WAYS + 1);
	/* key 5 expires at 1105; all others live long */
	for (i = 0; i < CACHE_WAYS; i++) {
		key_name(id, sizeof(id), keys[i]);
		ck_assert_int_eq(put_str(c, XML, id, "v", i == 5 ? 100 : 100000,
		    0, 1000 + i), 0);
	}
	key_name(id, sizeof(id), keys[CACHE_WAYS]);
	ck_assert_int_eq(put_str(c, XML, id, "new", 100000, 0, 2000), 0);
	ck_assert_uint_eq(stats_of(c).evictions, 0);
	for (i = 0; i <= CACHE_WAYS; i++) {
		key_name(id, sizeof(id), keys[i]);
		ck_assert_int_eq(get_str(c, XML, id, buf, sizeof(buf), 2001),
		    i == 5 ? 0 : 1);
	}
	cache_destroy(c);
}
END_TEST

/* ---- invalidation, tombstones, flush, stats ---------------------------- */

START_TEST(test_tombstone_blocks_older_put)
{
	struct cache		*c;
	struct cache_stats	 st;
	char			 buf[64];

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	ck_assert_int_eq(put_str(c, XML, "k", "old", 100000, 900, 1000), 0);
	ck_assert_int_eq(cache_invalidate(c, XML, "k", 1, 2000), 0);
	/* a tombstone is a miss */
	ck_assert_int_eq(get_str(c, XML, "k", buf, sizeof(buf), 2001), 0);
	/* a signer that began reading before the invalidation is skipped */
	ck_assert_int_eq(put_str(c, XML, "k", "stale", 100000, 1999, 2002),
	    1);
	/* ... also in the same millisecond: order unknown, assume stale */
	ck_assert_int_eq(put_str(c, XML, "k", "stale", 100000, 2000, 2002),
	    1);
	ck_assert_int_eq(get_str(c, XML, "k", buf, sizeof(buf), 2003), 0);
	st = stats_of(c);
	ck_assert_uint_eq(st.stale_skips, 2);
	ck_assert_uint_eq(st.stores, 1);
	ck_assert_uint_eq(st.used, 0);
	ck_assert_uint_eq(st.invalidations, 1);
	/* a read that began after it is stored */
	ck_assert_int_eq(put_str(c, XML, "k", "fresh", 100000, 2001, 2004), 0);
	ck_assert_int_eq(get_str(c, XML, "k", buf, sizeof(buf), 2005), 1);
	ck_assert_str_eq(buf, "fresh");

	/* invalidating a key that is not cached still leaves a tombstone */
	ck_assert_int_eq(cache_invalidate(c, JSON, "never", 5, 3000), 0);
	ck_assert_int_eq(put_str(c, JSON, "never", "stale", 100000, 2990,
	    3001), 1);
	ck_assert_int_eq(put_str(c, JSON, "never", "ok", 100000, 3001, 3002),
	    0);
	ck_assert_int_eq(get_str(c, JSON, "never", buf, sizeof(buf), 3003), 1);
	ck_assert_str_eq(buf, "ok");

	/* an older invalidation never moves a tombstone back in time */
	ck_assert_int_eq(cache_invalidate(c, XML, "t", 1, 5000), 0);
	ck_assert_int_eq(cache_invalidate(c, XML, "t", 1, 4000), 0);
	ck_assert_int_eq(put_str(c, XML, "t", "stale", 100000, 4500, 5001), 1);
	cache_destroy(c);
}
END_TEST

START_TEST(test_flush)
{
	struct cache	*c;
	char		 id[64], buf[64];
	unsigned	 i;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	for (i = 0; i < 20; i++) {
		key_name(id, sizeof(id), i);
		ck_assert_int_eq(put_str(c, XML, id, "v", 100000, 0, 10), 0);
	}
	ck_assert_uint_eq(stats_of(c).used, 20);
	cache_flush(c);
	ck_assert_uint_eq(stats_of(c).used, 0);
	for (i = 0; i < 20; i++) {
		key_name(id, sizeof(id), i);
		ck_assert_int_eq(get_str(c, XML, id, buf, sizeof(buf), 11), 0);
	}
	/* the cache works after a flush, and flushed slots are reused
	 * without counting as evictions */
	for (i = 0; i < 20; i++) {
		key_name(id, sizeof(id), i + 100);
		ck_assert_int_eq(put_str(c, XML, id, "w", 100000, 0, 12), 0);
		ck_assert_int_eq(get_str(c, XML, id, buf, sizeof(buf), 13), 1);
		ck_assert_str_eq(buf, "w");
	}
	ck_assert_uint_eq(stats_of(c).used, 20);
	ck_assert_uint_eq(stats_of(c).evictions, 0);
	/* a tombstone outlives a flush: it is about the data */
	ck_assert_int_eq(cache_invalidate(c, XML, "k", 1, 100), 0);
	cache_flush(c);
	ck_assert_int_eq(put_str(c, XML, "k", "stale", 100000, 99, 101), 1);
	cache_destroy(c);
}
END_TEST

START_TEST(test_stats_exact)
{
	struct cache		*c;
	struct cache_stats	 st;
	char			 buf[8], big[MAXVAL + 1];

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	memset(big, 'b', sizeof(big));
	st = stats_of(c);
	ck_assert_uint_eq(st.hits + st.misses + st.stores + st.evictions +
	    st.expired + st.invalidations + st.oversize + st.stale_skips +
	    st.repairs + st.lock_timeouts + st.used, 0);
	/* two stores, a hit, a miss, an expired miss, an invalidation, a
	 * stale skip and an oversize refusal */
	ck_assert_int_eq(put_str(c, XML, "a", "1", 100, 0, 0), 0);
	ck_assert_int_eq(put_str(c, XML, "b", "2", 100, 0, 0), 0);
	ck_assert_int_eq(get_str(c, XML, "a", buf, sizeof(buf), 1), 1);
	ck_assert_int_eq(get_str(c, XML, "c", buf, sizeof(buf), 1), 0);
	ck_assert_int_eq(get_str(c, XML, "b", buf, sizeof(buf), 100), 0);
	ck_assert_int_eq(cache_invalidate(c, XML, "a", 1, 5), 0);
	ck_assert_int_eq(put_str(c, XML, "a", "x", 100, 4, 6), 1);
	ck_assert_int_eq(cache_put(c, XML, "d", 1, big, sizeof(big), 100, 0,
	    0), -1);
	st = stats_of(c);
	ck_assert_uint_eq(st.hits, 1);
	ck_assert_uint_eq(st.misses, 2);
	ck_assert_uint_eq(st.expired, 1);
	ck_assert_uint_eq(st.stores, 2);
	ck_assert_uint_eq(st.invalidations, 1);
	ck_assert_uint_eq(st.stale_skips, 1);
	ck_assert_uint_eq(st.oversize, 1);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_eq(st.repairs, 0);
	ck_assert_uint_eq(st.lock_timeouts, 0);
	ck_assert_uint_eq(st.used, 1);		/* "b", expired but unused */
	ck_assert_uint_eq(st.max_value, MAXVAL);
	cache_destroy(c);
}
END_TEST

/* ---- dying and stuck lock holders -------------------------------------- */

/*
 * Fork a child that takes the stripe of (fmt, id) with a dirty slot.  It
 * writes one byte to notify_fd once it holds the lock, then dies with
 * SIGKILL (die) or waits to be killed.
 */
static pid_t
spawn_dirty_holder(struct cache *c, uint8_t fmt, const char *id,
    int notify_fd, int die)
{
	pid_t	pid;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (cache_debug_lock_and_dirty(c, fmt, id, strlen(id),
		    5000) != 0)
			_exit(1);
		if (write(notify_fd, "L", 1) != 1)
			_exit(1);
		if (die)
			raise(SIGKILL);
		alarm(30);	/* never outlive a test that failed */
		for (;;)
			pause();
	}
	return (pid);
}

START_TEST(test_dead_holder_repaired)
{
	struct cache		*c;
	struct cache_stats	 st;
	unsigned char		 val[200], buf[MAXVAL];
	unsigned		 keys[2];
	char			 victim[64], neighbour[64];
	size_t			 vlen, vi, ni;
	int			 fds[2], status;
	char			 ch;
	pid_t			 pid;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	same_stripe_keys(c, 7000, keys, 2);
	vi = key_name(victim, sizeof(victim), keys[0]);
	ni = key_name(neighbour, sizeof(neighbour), keys[1]);
	value_make(val, sizeof(val), XML, victim, vi, 1);
	ck_assert_int_eq(cache_put(c, XML, victim, vi, val, sizeof(val),
	    100000, 0, 1000), 0);
	value_make(val, sizeof(val), XML, neighbour, ni, 2);
	ck_assert_int_eq(cache_put(c, XML, neighbour, ni, val, sizeof(val),
	    100000, 0, 1000), 0);

	ck_assert_int_eq(pipe(fds), 0);
	pid = spawn_dirty_holder(c, XML, victim, fds[1], 1);
	ck_assert_int_eq(read(fds[0], &ch, 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fds[0]);
	close(fds[1]);

	/* the half-written value is dropped, not served */
	ck_assert_int_eq(cache_get(c, XML, victim, vi, buf, sizeof(buf),
	    &vlen, NULL, 2000), 0);
	st = stats_of(c);
	ck_assert_uint_eq(st.repairs, 1);
	ck_assert_uint_eq(st.used, 1);
	/* the neighbour in the same stripe was complete and survives */
	ck_assert_int_eq(cache_get(c, XML, neighbour, ni, buf, sizeof(buf),
	    &vlen, NULL, 2000), 1);
	ck_assert(value_ok(buf, vlen, XML, neighbour, ni));
	/* and the stripe works again */
	value_make(val, sizeof(val), XML, victim, vi, 3);
	ck_assert_int_eq(cache_put(c, XML, victim, vi, val, sizeof(val),
	    100000, 2000, 2001), 0);
	ck_assert_int_eq(cache_get(c, XML, victim, vi, buf, sizeof(buf),
	    &vlen, NULL, 2002), 1);
	ck_assert_uint_eq(vlen, sizeof(val));
	ck_assert_mem_eq(buf, val, sizeof(val));
	ck_assert_uint_eq(stats_of(c).repairs, 1);
	cache_destroy(c);
}
END_TEST

START_TEST(test_dead_holder_new_key)
{
	struct cache	*c;
	unsigned char	 buf[MAXVAL];
	size_t		 vlen;
	int		 fds[2], status;
	char		 ch;
	pid_t		 pid;

	/* the child dies while writing a key that was not cached before */
	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	ck_assert_int_eq(pipe(fds), 0);
	pid = spawn_dirty_holder(c, JSON, "fresh.example", fds[1], 1);
	ck_assert_int_eq(read(fds[0], &ch, 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(cache_get(c, JSON, "fresh.example", 13, buf,
	    sizeof(buf), &vlen, NULL, 5001), 0);
	ck_assert_uint_eq(stats_of(c).repairs, 1);
	ck_assert_uint_eq(stats_of(c).used, 0);
	cache_destroy(c);
}
END_TEST

START_TEST(test_stuck_holder_times_out)
{
	struct cache		*c;
	struct cache_stats	 st;
	unsigned		 i;
	char			 held[64], other[64], buf[64];
	int			 fds[2], status;
	int64_t			 t0, t1;
	char			 ch;
	pid_t			 pid;

	ck_assert_ptr_nonnull(c = cache_create(BIGSIZE, MAXVAL));
	key_name(held, sizeof(held), 9000);
	for (i = 9001; i < 10000; i++) {
		key_name(other, sizeof(other), i);
		if (cache_debug_stripe_of(c, XML, other, strlen(other)) !=
		    cache_debug_stripe_of(c, XML, held, strlen(held)))
			break;
	}
	ck_assert_uint_lt(i, 10000);
	ck_assert_int_eq(put_str(c, XML, held, "v", 100000, 0, 0), 0);
	ck_assert_int_eq(put_str(c, XML, other, "v", 100000, 0, 0), 0);

	ck_assert_int_eq(pipe(fds), 0);
	pid = spawn_dirty_holder(c, XML, held, fds[1], 0);
	ck_assert_int_eq(read(fds[0], &ch, 1), 1);

	/* a get waits CACHE_LOCK_TIMEOUT_MS, then misses */
	t0 = mono_ms();
	ck_assert_int_eq(get_str(c, XML, held, buf, sizeof(buf), 1), 0);
	t1 = mono_ms();
	ck_assert_int_ge(t1 - t0, CACHE_LOCK_TIMEOUT_MS - 5);
	ck_assert_int_lt(t1 - t0, 2000);
	/* a put is skipped */
	ck_assert_int_eq(put_str(c, XML, held, "w", 100000, 1, 2), 1);
	st = stats_of(c);
	/* get, put and the stats walk over the held stripe */
	ck_assert_uint_eq(st.lock_timeouts, 3);
	ck_assert_uint_eq(st.misses, 1);
	/* an invalidate that cannot get in flushes everything instead */
	ck_assert_int_eq(get_str(c, XML, other, buf, sizeof(buf), 3), 1);
	ck_assert_int_eq(cache_invalidate(c, XML, held, strlen(held), 4), 0);
	ck_assert_int_eq(get_str(c, XML, other, buf, sizeof(buf), 5), 0);

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(put_str(c, XML, held, "x", 100000, 6, 7), 0);
	ck_assert_uint_eq(stats_of(c).repairs, 1);
	ck_assert_int_eq(get_str(c, XML, held, buf, sizeof(buf), 8), 1);
	ck_assert_str_eq(buf, "x");
	cache_destroy(c);
}
END_TEST

/* ---- many processes ---------------------------------------------------- */

/* Wait for the start signal (EOF on go_fd) so that all children overlap. */
static void
conc_child(struct cache *c, unsigned child, struct conc_tally *t, int go_fd)
{
	unsigned char	 val[MAXVAL], buf[MAXVAL];
	unsigned	 seed = 12345 + child, i, n;
	char		 id[64];
	size_t		 idlen, len, vlen;
	uint8_t		 fmt;
	int64_t		 now;
	int		 r;
	char		 ch;

	if (read(go_fd, &ch, 1) != 0)
		t->errors++;
	for (i = 0; i < CONC_OPS; i++) {
		n = (unsigned)rand_r(&seed);
		n = (n & 1) ? (n >> 1) % CONC_HOT : (n >> 1) % CONC_KEYS;
		fmt = (n & 1) ? XML : JSON;
		idlen = key_name(id, sizeof(id), n);
		now = mono_ms();
		switch (rand_r(&seed) % 16) {
		case 0:
			r = cache_invalidate(c, fmt, id, idlen, now);
			if (r != 0)
				t->errors++;
			break;
		case 1: case 2: case 3: case 4: case 5: case 6:
			len = 16 + (size_t)rand_r(&seed) % (MAXVAL - 15);
			value_make(val, len, fmt, id, idlen,
			    (uint32_t)rand_r(&seed));
			r = cache_put(c, fmt, id, idlen, val, len, 60000,
			    now, now);
			if (r == 0)
				t->puts_stored++;
			else if (r != 1)
				t->errors++;
			break;
		default:
			r = cache_get(c, fmt, id, idlen, buf, sizeof(buf),
			    &vlen, NULL, now);
			if (r == 1) {
				t->gets_hit++;
				if (!value_ok(buf, vlen, fmt, id, idlen))
					t->bad_values++;
			} else if (r == 0)
				t->gets_missed++;
			else
				t->errors++;
			break;
		}
	}
}

START_TEST(test_concurrent_processes)
{
	struct cache		*c;
	struct cache_stats	 st;
	struct conc_tally	*tally, sum;
	unsigned char		 buf[MAXVAL];
	char			 id[64];
	size_t			 idlen, vlen;
	unsigned		 i, n, hits = 0;
	int			 status, r, go[2];
	pid_t			 pids[CONC_CHILDREN];

	/* few stripes for many keys: contention and evictions */
	ck_assert_ptr_nonnull(c = cache_create(128 * 1024, MAXVAL));
	tally = mmap(NULL, sizeof(*tally) * CONC_CHILDREN,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(tally != MAP_FAILED);
	memset(tally, 0, sizeof(*tally) * CONC_CHILDREN);
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < CONC_CHILDREN; i++) {
		pids[i] = fork();
		ck_assert_int_ne(pids[i], -1);
		if (pids[i] == 0) {
			close(go[1]);
			alarm(60);	/* never outlive a failed test */
			conc_child(c, i, &tally[i], go[0]);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);		/* go */
	for (i = 0; i < CONC_CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < CONC_CHILDREN; i++) {
		sum.puts_stored += tally[i].puts_stored;
		sum.gets_hit += tally[i].gets_hit;
		sum.gets_missed += tally[i].gets_missed;
		sum.bad_values += tally[i].bad_values;
		sum.errors += tally[i].errors;
	}
	ck_assert_uint_eq(sum.bad_values, 0);
	ck_assert_uint_eq(sum.errors, 0);
	ck_assert_uint_gt(sum.gets_hit, 0);
	ck_assert_uint_gt(sum.puts_stored, 0);

	st = stats_of(c);
	ck_assert_uint_eq(st.stores, sum.puts_stored);
	ck_assert_uint_eq(st.hits, sum.gets_hit);
	ck_assert_uint_eq(st.misses, sum.gets_missed);
	ck_assert_uint_eq(st.repairs, 0);
	ck_assert_uint_gt(st.evictions, 0);

	/* every value left behind is complete and under its own key */
	for (n = 0; n < CONC_KEYS; n++) {
		idlen = key_name(id, sizeof(id), n);
		r = cache_get(c, (n & 1) ? XML : JSON, id, idlen, buf,
		    sizeof(buf), &vlen, NULL, mono_ms());
		ck_assert_int_ge(r, 0);
		if (r == 1) {
			hits++;
			ck_assert_msg(value_ok(buf, vlen, (n & 1) ? XML : JSON,
			    id, idlen), "torn or misplaced value for %s", id);
		}
	}
	ck_assert_uint_gt(hits, 0);
	ck_assert_uint_le(hits, st.slots);
	munmap(tally, sizeof(*tally) * CONC_CHILDREN);
	cache_destroy(c);
}
END_TEST

/* ---- sizes ------------------------------------------------------------- */

START_TEST(test_tiny_sizes)
{
	struct cache		*c = NULL;
	struct cache_stats	 st;
	unsigned		 i;
	uint64_t		 size, lo, hi;
	char			 id[64], buf[64];

	ck_assert_ptr_null(cache_create(0, MAXVAL));
	ck_assert_ptr_null(cache_create(1, MAXVAL));
	ck_assert_ptr_null(cache_create(4096, MAXVAL));
	ck_assert_ptr_null(cache_create(BIGSIZE, 0));
	ck_assert_ptr_null(cache_create(BIGSIZE, UINT32_MAX));
	ck_assert_ptr_null(cache_create(4096, UINT32_MAX));
	ck_assert_uint_eq(cache_max_value(NULL), 0);
	cache_destroy(NULL);

	/* the smallest size that works (found by bisection: lo fails, hi
	 * works) holds exactly one stripe */
	lo = 4096;
	hi = BIGSIZE;
	while (hi - lo > 1) {
		size = lo + (hi - lo) / 2;
		if ((c = cache_create(size, MAXVAL)) != NULL) {
			cache_destroy(c);
			hi = size;
		} else
			lo = size;
	}
	ck_assert_ptr_nonnull(c = cache_create(hi, MAXVAL));
	st = stats_of(c);
	ck_assert_uint_eq(st.slots, CACHE_WAYS);
	ck_assert_int_eq(cache_debug_stripe_of(c, XML, "a", 1), 0);
	/* and behaves: CACHE_WAYS + 1 keys evict exactly one */
	for (i = 0; i <= CACHE_WAYS; i++) {
		key_name(id, sizeof(id), i);
		ck_assert_int_eq(put_str(c, XML, id, "v", 100000, 0, 10 + i),
		    0);
	}
	st = stats_of(c);
	ck_assert_uint_eq(st.evictions, 1);
	ck_assert_uint_eq(st.used, CACHE_WAYS);
	key_name(id, sizeof(id), 0);
	ck_assert_int_eq(get_str(c, XML, id, buf, sizeof(buf), 100), 0);
	key_name(id, sizeof(id), CACHE_WAYS);
	ck_assert_int_eq(get_str(c, XML, id, buf, sizeof(buf), 100), 1);
	cache_destroy(c);
}
END_TEST

START_TEST(test_null_cache)
{
	char	buf[8];
	size_t	vlen;

	ck_assert_int_eq(cache_get(NULL, XML, "k", 1, buf, sizeof(buf), &vlen,
	    NULL, 0), -1);
	ck_assert_int_eq(cache_put(NULL, XML, "k", 1, "v", 1, 1, 0, 0), -1);
	ck_assert_int_eq(cache_invalidate(NULL, XML, "k", 1, 0), -1);
	ck_assert_int_eq(cache_debug_stripe_of(NULL, XML, "k", 1), -1);
	cache_flush(NULL);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("cache");

	tc = tcase_create("siphash");
	tcase_add_test(tc, test_siphash_vectors);
	suite_add_tcase(s, tc);

	tc = tcase_create("basic");
	tcase_add_test(tc, test_put_get_roundtrip);
	tcase_add_test(tc, test_formats_distinct);
	tcase_add_test(tc, test_id_too_long);
	tcase_add_test(tc, test_oversize_refused);
	tcase_add_test(tc, test_buffer_too_small);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_overwrite);
	tcase_add_test(tc, test_null_cache);
	tcase_add_test(tc, test_tiny_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("eviction");
	tcase_add_test(tc, test_eviction_oldest);
	tcase_add_test(tc, test_expired_reused_before_eviction);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalidation");
	tcase_add_test(tc, test_tombstone_blocks_older_put);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_stats_exact);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dead_holder_repaired);
	tcase_add_test(tc, test_dead_holder_new_key);
	tcase_add_test(tc, test_stuck_holder_times_out);
	tcase_add_test(tc, test_concurrent_processes);
	suite_add_tcase(s, tc);

	return (s);
}
