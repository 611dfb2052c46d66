/*
 * cache.c - the shared-memory signed-response cache (see cache.h).
 *
 * Who calls what:
 *   master          cache_create() before fork, cache_destroy() at exit;
 *                   it never locks a stripe.
 *   HTTP workers    cache_get(): read-only apart from the repair below.
 *   signer          cache_put() after signing.
 *   scanners,       cache_invalidate*() after a commit that changes a
 *   ctwatch, signer service; anyone may cache_flush().
 *
 * Layout of the one MAP_SHARED|MAP_ANONYMOUS mapping:
 *
 *   page 0    struct cache: magic, geometry, SipHash key.  Written once
 *             by cache_create() and then made read-only with mprotect(),
 *             so no process can corrupt the numbers every index is
 *             computed from (children inherit the protection).
 *   page 1    struct cache_counters: the epoch and the statistics, all
 *             _Atomic and updated with relaxed atomics (they are only
 *             statistics; the epoch is the one value that orders data).
 *   then      nstripes stripes, each a robust process-shared mutex on
 *             its own cache line followed by CACHE_WAYS fixed-size slots.
 *
 * The stripe is siphash(key) % nstripes: a modulo instead of a mask so
 * that the cache uses the memory it was given rather than rounding down to
 * a power of two (one division is nothing next to taking a mutex).
 *
 * Slots carry a sequence counter that is odd while the slot is written.
 * It is not used as a lock (the stripe mutex is): it marks the work of a
 * writer that died holding the mutex, which the next locker discards on
 * EOWNERDEAD before calling pthread_mutex_consistent().
 *
 * Invalidation leaves a tombstone stamped with its time, even for a key
 * that was not cached: a signer that read a service before a scanner
 * changed it may store its reply after the scanner's invalidate, and
 * cache_put() refuses a reply whose read began at or before a tombstone.
 * A tombstone is a miss for cache_get() and becomes a free slot after
 * CACHE_TOMBSTONE_MS.
 *
 * Failure semantics: it is a cache, so every failure is a miss.  A get
 * that cannot take its stripe within CACHE_LOCK_TIMEOUT_MS, or finds the
 * stripe ENOTRECOVERABLE, misses; a put in that situation is skipped; an
 * invalidate that times out flushes the whole cache rather than leave a
 * stale entry behind.  Every field read from a slot (lengths, state) is
 * validated before use: a slot that does not make sense is treated as
 * empty.  Counters: "misses" counts every get that returned 0;
 * "expired" and "lock_timeouts" are subsets of it.
 */
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/cache.h"
#include "common/log.h"
#include "common/siphash.h"
#include "common/cache_impl.h"

static uint64_t             round_up(uint64_t, uint64_t);
static void                 stat_inc(_Atomic uint64_t *);
static struct cache_stripe *stripe_at(struct cache *, uint32_t);
static int                  stripe_init(struct cache_stripe *);
static void                 stripe_repair(struct cache *, uint32_t);
static int  slot_is_free(const struct cache_slot *, uint64_t, int64_t);
static void slot_write(struct cache_slot *, const struct cache_key *,
    enum slot_state, uint64_t, int64_t, int64_t, const void *, size_t);
static int  tombstone_place(struct cache *, const struct cache_key *, int64_t);

static uint64_t
round_up(uint64_t n, uint64_t align)
{
	return ((n + align - 1) / align * align);
}

/* Statistics only: nothing is ordered by them. */
static void
stat_inc(_Atomic uint64_t *ctr)
{
	atomic_fetch_add_explicit(ctr, 1, memory_order_relaxed);
}

int64_t
cache_deadline_add(int64_t now, int64_t ttl)
{
	if (ttl <= 0)
		return (now);
	if (now > INT64_MAX - ttl)
		return (INT64_MAX);
	return (now + ttl);
}

/*
 * The geometry page is read-only, so checking the magic and version is
 * enough to catch a pointer that is not a cache at all.
 */
int
cache_usable(const struct cache *c)
{
	return (c != NULL && c->magic == CACHE_MAGIC &&
	    c->version == CACHE_VERSION && c->nstripes > 0);
}

struct cache_counters *
cache_counters(struct cache *c)
{
	return ((struct cache_counters *)((char *)c + c->counters_off));
}

static struct cache_stripe *
stripe_at(struct cache *c, uint32_t stripe)
{
	return ((struct cache_stripe *)((char *)c + c->stripes_off +
	    (uint64_t)stripe * c->stripe_size));
}

struct cache_slot *
cache_slot_at(struct cache *c, uint32_t stripe, uint32_t way)
{
	return ((struct cache_slot *)((char *)stripe_at(c, stripe) +
	    CACHE_LINE + (uint64_t)way * c->slot_size));
}

/* The key is the format byte followed by the service id. */
int
cache_key_make(const struct cache *c, uint8_t fmt, const char *id, size_t idlen,
    struct cache_key *k)
{
	if (fmt < 1 || fmt > CACHE_FMT_MAX || idlen > CACHE_KEY_MAX)
		return (-1);
	if (id == NULL && idlen > 0)
		return (-1);
	k->bytes[0] = fmt;
	if (idlen > 0)
		memcpy(k->bytes + 1, id, idlen);
	k->len = (uint32_t)idlen + 1;
	k->hash = siphash24(c->sipkey, k->bytes, k->len);
	return (0);
}

uint32_t
cache_key_stripe(const struct cache *c, const struct cache_key *k)
{
	return ((uint32_t)(k->hash % c->nstripes));
}

struct cache *
cache_create(uint64_t size_bytes, uint32_t max_value)
{
	struct cache          *c;
	struct cache_counters *ctr;
	uint64_t               page, slot_size, stripe_size, fixed, n, map;
	uint32_t               s;
	long                   ps;

	/* The geometry and the cache_counters each get a page of their own. */
	ps = sysconf(_SC_PAGESIZE);
	page = ps > 0 ? (uint64_t)ps : 4096;
	if (max_value == 0 || max_value > CACHE_VALUE_LIMIT) {
		log_warnx("cache: max value %u out of range 1..%u", max_value,
		    CACHE_VALUE_LIMIT);
		return (NULL);
	}
	slot_size = round_up(sizeof(struct cache_slot) + max_value, CACHE_LINE);
	stripe_size = CACHE_LINE + (uint64_t)CACHE_WAYS * slot_size;
	fixed = 2 * page;
	if (size_bytes < fixed + stripe_size) {
		log_warnx("cache: %llu bytes cannot hold one stripe "
		          "(%llu bytes needed for values of %u bytes)",
		    (unsigned long long)size_bytes,
		    (unsigned long long)(fixed + stripe_size), max_value);
		return (NULL);
	}
	n = (size_bytes - fixed) / stripe_size;
	if (n > CACHE_STRIPES_LIMIT)
		n = CACHE_STRIPES_LIMIT;
	map = round_up(fixed + n * stripe_size, page);

	c = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (c == MAP_FAILED) {
		log_warn("cache: mmap %llu bytes", (unsigned long long)map);
		return (NULL);
	}
	/* mmap gave zeroed memory: every slot is SLOT_EMPTY with seq 0. */
	c->nstripes = (uint32_t)n;
	c->ways = CACHE_WAYS;
	c->slot_size = (uint32_t)slot_size;
	c->max_value = max_value;
	c->stripe_size = stripe_size;
	c->counters_off = page;
	c->stripes_off = fixed;
	c->map_size = map;
	if (RAND_bytes(c->sipkey, sizeof(c->sipkey)) != 1) {
		log_warnx("cache: RAND_bytes failed for the hash key");
		goto fail;
	}
	for (s = 0; s < c->nstripes; s++)
		if (stripe_init(stripe_at(c, s)) == -1)
			goto fail;
	ctr = cache_counters(c);
	atomic_store_explicit(&ctr->epoch, 1, memory_order_relaxed);
	c->version = CACHE_VERSION;
	c->magic = CACHE_MAGIC;
	if (mprotect(c, page, PROT_READ) == -1) {
		log_warn("cache: mprotect geometry page");
		goto fail;
	}
	return (c);
fail:
	munmap(c, map);
	return (NULL);
}

static int
stripe_init(struct cache_stripe *st)
{
	pthread_mutexattr_t attr;
	int                 r;

	if ((r = pthread_mutexattr_init(&attr)) != 0) {
		errno = r;
		log_warn("cache: pthread_mutexattr_init");
		return (-1);
	}
	if ((r = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) !=
	        0 ||
	    (r = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) !=
	        0 ||
	    (r = pthread_mutex_init(&st->mtx, &attr)) != 0) {
		pthread_mutexattr_destroy(&attr);
		errno = r;
		log_warn("cache: robust process-shared mutex");
		return (-1);
	}
	pthread_mutexattr_destroy(&attr);
	return (0);
}

/*
 * Only the master calls this, after every other user is gone: the mutexes
 * live in the mapping and disappear with it.
 */
void
cache_destroy(struct cache *c)
{
	if (cache_usable(c))
		munmap(c, c->map_size);
}

uint32_t
cache_max_value(const struct cache *c)
{
	return (cache_usable(c) ? c->max_value : 0);
}

/*
 * Take a stripe's mutex within timeout_ms.  An uncontended trylock avoids
 * the clock read; pthread_mutex_timedlock() wants an absolute
 * CLOCK_REALTIME deadline, as POSIX specifies.  EOWNERDEAD: the previous
 * holder died, so its half-written slots are dropped before the mutex is
 * declared consistent.
 */
enum lock_result
cache_stripe_lock(struct cache *c, uint32_t stripe, int timeout_ms)
{
	static int           logged_broken;
	struct cache_stripe *st = stripe_at(c, stripe);
	struct timespec      ts;
	int                  r;

	r = pthread_mutex_trylock(&st->mtx);
	if (r == EBUSY) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		r = pthread_mutex_timedlock(&st->mtx, &ts);
	}
	switch (r) {
	case 0:
		return (LOCK_OK);
	case EOWNERDEAD:
		stripe_repair(c, stripe);
		if ((r = pthread_mutex_consistent(&st->mtx)) != 0) {
			errno = r;
			log_warn("cache: stripe %u: pthread_mutex_consistent",
			    stripe);
			pthread_mutex_unlock(&st->mtx);
			return (LOCK_BROKEN);
		}
		return (LOCK_OK);
	case ETIMEDOUT:
		stat_inc(&cache_counters(c)->lock_timeouts);
		return (LOCK_TIMEOUT);
	default:
		/*
		 * ENOTRECOVERABLE: someone got EOWNERDEAD and unlocked
		 * without repairing.  The stripe stays unusable (every get
		 * misses) until a restart; say so once per process.
		 */
		if (!logged_broken) {
			logged_broken = 1;
			errno = r;
			log_warn("cache: stripe %u unusable", stripe);
		}
		return (LOCK_BROKEN);
	}
}

void
cache_stripe_unlock(struct cache *c, uint32_t stripe)
{
	pthread_mutex_unlock(&stripe_at(c, stripe)->mtx);
}

/*
 * Called with the mutex held after EOWNERDEAD.  Only slots with an odd
 * seq were being written when the holder died; the others are complete.
 */
static void
stripe_repair(struct cache *c, uint32_t stripe)
{
	struct cache_slot *s;
	uint32_t           way, seq, dropped = 0;

	for (way = 0; way < c->ways; way++) {
		s = cache_slot_at(c, stripe, way);
		seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
		if ((seq & 1) == 0)
			continue;
		s->state = SLOT_EMPTY;
		s->klen = 0;
		s->vlen = 0;
		atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
		dropped++;
	}
	stat_inc(&cache_counters(c)->repairs);
	log_warnx("cache: stripe %u: lock holder died, %u dirty slot%s dropped",
	    stripe, dropped, dropped == 1 ? "" : "s");
}

/* Does a slot make sense?  Anything else is treated as an empty slot. */
int
cache_slot_sane(const struct cache *c, const struct cache_slot *s)
{
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) & 1)
		return (0);
	if (s->state != SLOT_VALUE && s->state != SLOT_TOMBSTONE)
		return (0);
	if (s->klen < 1 || s->klen > CACHE_KEY_MAX + 1)
		return (0);
	if (s->vlen > c->max_value)
		return (0);
	if (s->state == SLOT_TOMBSTONE && s->vlen != 0)
		return (0);
	return (1);
}

struct cache_slot *
cache_slot_find(struct cache *c, uint32_t stripe, const struct cache_key *k)
{
	struct cache_slot *s;
	uint32_t           way;

	for (way = 0; way < c->ways; way++) {
		s = cache_slot_at(c, stripe, way);
		if (cache_slot_sane(c, s) && s->hash == k->hash &&
		    s->klen == k->len && memcmp(s->key, k->bytes, k->len) == 0)
			return (s);
	}
	return (NULL);
}

/* Can a sane slot be reused without losing anything? */
static int
slot_is_free(const struct cache_slot *s, uint64_t epoch, int64_t now)
{
	if (s->state == SLOT_TOMBSTONE)
		return (s->expires <= now);
	return (s->epoch != epoch || s->expires <= now);
}

/*
 * A slot for a key that is not in the stripe: an empty, garbage, expired
 * or flushed one if there is one, else the oldest (an eviction).
 */
struct cache_slot *
cache_slot_victim(
    struct cache *c, uint32_t stripe, uint64_t epoch, int64_t now, int *evicted)
{
	struct cache_slot *s, *oldest = NULL;
	uint32_t           way;

	*evicted = 0;
	for (way = 0; way < c->ways; way++) {
		s = cache_slot_at(c, stripe, way);
		if (!cache_slot_sane(c, s) || slot_is_free(s, epoch, now))
			return (s);
		if (oldest == NULL || s->stored < oldest->stored)
			oldest = s;
	}
	*evicted = 1;
	return (oldest);
}

/*
 * The odd seq goes out before the data (release fence) so that a writer
 * killed anywhere in between leaves the slot marked dirty; the even seq
 * goes out after it.
 */
static void
slot_write(struct cache_slot *s, const struct cache_key *k,
    enum slot_state state, uint64_t epoch, int64_t stored, int64_t expires,
    const void *val, size_t vlen)
{
	uint32_t seq;

	seq = atomic_load_explicit(&s->seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&s->seq, seq, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	s->state = state;
	s->klen = k->len;
	s->vlen = (uint32_t)vlen;
	s->hash = k->hash;
	s->epoch = epoch;
	s->stored = stored;
	s->expires = expires;
	memcpy(s->key, k->bytes, k->len);
	if (vlen > 0)
		memcpy(s->val, val, vlen);
	atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
}

int
cache_get(struct cache *c, uint8_t fmt, const char *id, size_t idlen, void *buf,
    size_t buflen, size_t *vlen, int64_t *stored_ms, int64_t now_ms)
{
	struct cache_counters *ctr;
	struct cache_key       k;
	struct cache_slot     *s;
	uint32_t               stripe;
	int                    ret = 0;

	if (!cache_usable(c) || vlen == NULL || (buf == NULL && buflen > 0) ||
	    cache_key_make(c, fmt, id, idlen, &k) == -1)
		return (-1);
	ctr = cache_counters(c);
	stripe = cache_key_stripe(c, &k);
	if (cache_stripe_lock(c, stripe, CACHE_LOCK_TIMEOUT_MS) != LOCK_OK) {
		stat_inc(&ctr->misses);
		return (0);
	}
	s = cache_slot_find(c, stripe, &k);
	if (s == NULL || s->state != SLOT_VALUE ||
	    s->epoch != atomic_load_explicit(&ctr->epoch, memory_order_acquire))
		ret = 0;
	else if (s->expires <= now_ms) {
		stat_inc(&ctr->expired);
		ret = 0;
	} else if (s->vlen > buflen)
		ret = -1;
	else {
		if (s->vlen > 0)
			memcpy(buf, s->val, s->vlen);
		*vlen = s->vlen;
		if (stored_ms != NULL)
			*stored_ms = s->stored;
		ret = 1;
	}
	cache_stripe_unlock(c, stripe);
	if (ret == 1)
		stat_inc(&ctr->hits);
	else if (ret == 0)
		stat_inc(&ctr->misses);
	return (ret);
}

int
cache_put(struct cache *c, uint8_t fmt, const char *id, size_t idlen,
    const void *val, size_t vlen, int64_t ttl_ms, int64_t read_began_ms,
    int64_t now_ms)
{
	struct cache_counters *ctr;
	struct cache_key       k;
	struct cache_slot     *s;
	uint32_t               stripe;
	int                    evicted = 0;

	if (!cache_usable(c) || (val == NULL && vlen > 0) ||
	    cache_key_make(c, fmt, id, idlen, &k) == -1)
		return (-1);
	ctr = cache_counters(c);
	if (vlen > c->max_value) {
		stat_inc(&ctr->oversize);
		return (-1);
	}
	stripe = cache_key_stripe(c, &k);
	if (cache_stripe_lock(c, stripe, CACHE_LOCK_TIMEOUT_MS) != LOCK_OK)
		return (1);
	if ((s = cache_slot_find(c, stripe, &k)) != NULL &&
	    s->state == SLOT_TOMBSTONE && s->stored >= read_began_ms) {
		/*
		 * Invalidated after (or in the same millisecond as) the
		 * caller began reading: its reply may predate the change.
		 */
		cache_stripe_unlock(c, stripe);
		stat_inc(&ctr->stale_skips);
		return (1);
	}
	if (s == NULL)
		s = cache_slot_victim(c, stripe,
		    atomic_load_explicit(&ctr->epoch, memory_order_acquire),
		    now_ms, &evicted);
	slot_write(s, &k, SLOT_VALUE,
	    atomic_load_explicit(&ctr->epoch, memory_order_acquire), now_ms,
	    cache_deadline_add(now_ms, ttl_ms), val, vlen);
	cache_stripe_unlock(c, stripe);
	if (evicted)
		stat_inc(&ctr->evictions);
	stat_inc(&ctr->stores);
	return (0);
}

/*
 * Leave a tombstone for the key even if it is not cached: a signer that
 * read the old data may be about to put it.
 */
static int
tombstone_place(struct cache *c, const struct cache_key *k, int64_t now)
{
	struct cache_counters *ctr = cache_counters(c);
	struct cache_slot     *s;
	enum lock_result       lr;
	uint64_t               epoch;
	uint32_t               stripe;
	int                    evicted = 0;

	stripe = cache_key_stripe(c, k);
	lr = cache_stripe_lock(c, stripe, CACHE_INVALIDATE_TIMEOUT_MS);
	if (lr == LOCK_BROKEN)
		return (0); /* every get on this stripe misses anyway */
	if (lr == LOCK_TIMEOUT) {
		log_warnx(
		    "cache: stripe %u busy, flushing to invalidate", stripe);
		cache_flush(c);
		return (0);
	}
	epoch = atomic_load_explicit(&ctr->epoch, memory_order_acquire);
	if ((s = cache_slot_find(c, stripe, k)) == NULL)
		s = cache_slot_victim(c, stripe, epoch, now, &evicted);
	else if (s->state == SLOT_TOMBSTONE && s->stored > now)
		now = s->stored; /* never move a tombstone back */
	slot_write(s, k, SLOT_TOMBSTONE, epoch, now,
	    cache_deadline_add(now, CACHE_TOMBSTONE_MS), NULL, 0);
	cache_stripe_unlock(c, stripe);
	if (evicted)
		stat_inc(&ctr->evictions);
	stat_inc(&ctr->invalidations);
	return (0);
}

int
cache_invalidate(
    struct cache *c, uint8_t fmt, const char *id, size_t idlen, int64_t now_ms)
{
	struct cache_key k;

	if (!cache_usable(c) || cache_key_make(c, fmt, id, idlen, &k) == -1)
		return (-1);
	return (tombstone_place(c, &k, now_ms));
}

int
cache_invalidate_service(
    struct cache *c, const char *id, size_t idlen, int64_t now_ms)
{
	uint8_t fmt;

	for (fmt = 1; fmt <= CACHE_FMT_MAX; fmt++)
		if (cache_invalidate(c, fmt, id, idlen, now_ms) == -1)
			return (-1);
	return (0);
}

/*
 * Entries stored under an older epoch never match again and count as free
 * slots.  Tombstones keep their meaning across a flush: they are about
 * the data, not about the cache.  A flush does not stop a put whose data
 * was read before it (it has no time to compare with): to drop one
 * service for good, invalidate it.
 */
void
cache_flush(struct cache *c)
{
	if (cache_usable(c))
		atomic_fetch_add_explicit(
		    &cache_counters(c)->epoch, 1, memory_order_acq_rel);
}
