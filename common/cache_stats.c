/*
 * cache_stats.c - reading the response cache's counters for /healthz,
 * /metrics and the index page, and the hooks the unit tests use to put a
 * stripe in the state a killed lock holder leaves.  Runs in any process
 * that maps the cache; every value read from shared memory is bounded.
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

/*
 * "used" walks every stripe under its lock: exact at the time each stripe
 * was visited, but it counts expired values until they are reused.
 */
void
cache_stats(struct cache *c, struct cache_stats *st)
{
	struct cache_counters *ctr;
	struct cache_slot     *s;
	uint64_t               epoch;
	uint32_t               stripe, way;

	memset(st, 0, sizeof(*st));
	if (!cache_usable(c))
		return;
	ctr = cache_counters(c);
	epoch = atomic_load_explicit(&ctr->epoch, memory_order_acquire);
	for (stripe = 0; stripe < c->nstripes; stripe++) {
		if (cache_stripe_lock(c, stripe, CACHE_LOCK_TIMEOUT_MS) !=
		    LOCK_OK)
			continue;
		for (way = 0; way < c->ways; way++) {
			s = cache_slot_at(c, stripe, way);
			if (cache_slot_sane(c, s) && s->state == SLOT_VALUE &&
			    s->epoch == epoch)
				st->used++;
		}
		cache_stripe_unlock(c, stripe);
	}
	st->slots = (uint64_t)c->nstripes * c->ways;
	st->max_value = c->max_value;
#define LOAD(f) atomic_load_explicit(&ctr->f, memory_order_relaxed)
	st->hits = LOAD(hits);
	st->misses = LOAD(misses);
	st->stores = LOAD(stores);
	st->evictions = LOAD(evictions);
	st->expired = LOAD(expired);
	st->invalidations = LOAD(invalidations);
	st->oversize = LOAD(oversize);
	st->stale_skips = LOAD(stale_skips);
	st->repairs = LOAD(repairs);
	st->lock_timeouts = LOAD(lock_timeouts);
#undef LOAD
}

int
cache_debug_stripe_of(
    struct cache *c, uint8_t fmt, const char *id, size_t idlen)
{
	struct cache_key k;

	if (!cache_usable(c) || cache_key_make(c, fmt, id, idlen, &k) == -1)
		return (-1);
	return ((int)cache_key_stripe(c, &k));
}

/*
 * Do what a signer killed in the middle of cache_put() leaves behind: the
 * stripe locked, the key's slot marked dirty and its value half
 * overwritten.  Without the repair a later get would return torn bytes.
 */
int
cache_debug_lock_and_dirty(
    struct cache *c, uint8_t fmt, const char *id, size_t idlen, int64_t now_ms)
{
	struct cache_counters *ctr;
	struct cache_key       k;
	struct cache_slot     *s;
	uint32_t               stripe, seq, vlen;
	int                    evicted;

	if (!cache_usable(c) || cache_key_make(c, fmt, id, idlen, &k) == -1)
		return (-1);
	ctr = cache_counters(c);
	stripe = cache_key_stripe(c, &k);
	if (cache_stripe_lock(c, stripe, CACHE_DEBUG_TIMEOUT_MS) != LOCK_OK)
		return (-1);
	if ((s = cache_slot_find(c, stripe, &k)) == NULL ||
	    s->state != SLOT_VALUE || s->vlen == 0)
		s = cache_slot_victim(c, stripe,
		    atomic_load_explicit(&ctr->epoch, memory_order_acquire),
		    now_ms, &evicted);
	vlen = (s->state == SLOT_VALUE && cache_slot_sane(c, s) && s->vlen > 0)
	    ? s->vlen
	    : c->max_value;
	seq = atomic_load_explicit(&s->seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&s->seq, seq, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	s->state = SLOT_VALUE;
	s->klen = k.len;
	s->vlen = vlen;
	s->hash = k.hash;
	s->epoch = atomic_load_explicit(&ctr->epoch, memory_order_acquire);
	s->stored = now_ms;
	s->expires = cache_deadline_add(now_ms, 3600 * 1000);
	memcpy(s->key, k.bytes, k.len);
	memset(s->val, 0xdd, vlen / 2);
	return (0);
}
