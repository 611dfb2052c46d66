/*
 * cache_impl.h - the layout of the shared-memory response cache and the
 * helpers its two files share.  Internal to common/cache.c (create, get,
 * put, invalidate, locking and repair) and common/cache_stats.c
 * (statistics and the hooks the tests use).
 */
#ifndef NOTARYD_COMMON_CACHE_IMPL_H
#define NOTARYD_COMMON_CACHE_IMPL_H

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


#define CACHE_MAGIC                 0x6e434143U /* "nCAC" */
#define CACHE_VERSION               1
#define CACHE_LINE                  64
#define CACHE_VALUE_LIMIT           (64U * 1024 * 1024) /* largest max_value */
#define CACHE_STRIPES_LIMIT         (1U << 24)
/*
 * A tombstone only has to outlive the signer reads that began before the
 * invalidation; those last milliseconds.  After this long it is a free
 * slot again, so a burst of invalidations cannot squeeze out live replies.
 */
#define CACHE_TOMBSTONE_MS          60000
/* invalidate waits this long: losing an invalidation costs a full flush */
#define CACHE_INVALIDATE_TIMEOUT_MS (10 * CACHE_LOCK_TIMEOUT_MS)
/* the test hook waits this long for its stripe */
#define CACHE_DEBUG_TIMEOUT_MS      5000

enum slot_state {
	SLOT_EMPTY = 0,
	SLOT_VALUE = 1,
	SLOT_TOMBSTONE = 2,
};

/* Page 0: read-only after cache_create(). */
struct cache {
	uint32_t      magic;
	uint32_t      version;
	uint32_t      nstripes;
	uint32_t      ways;
	uint32_t      slot_size; /* bytes per slot, header included */
	uint32_t      max_value;
	uint64_t      stripe_size; /* mutex line + ways slots */
	uint64_t      counters_off;
	uint64_t      stripes_off;
	uint64_t      map_size;
	unsigned char sipkey[SIPHASH_KEY_LEN];
};

/* Page 1. */
struct cache_counters {
	_Atomic uint64_t epoch;
	_Atomic uint64_t hits;
	_Atomic uint64_t misses;
	_Atomic uint64_t stores;
	_Atomic uint64_t evictions;
	_Atomic uint64_t expired;
	_Atomic uint64_t invalidations;
	_Atomic uint64_t oversize;
	_Atomic uint64_t stale_skips;
	_Atomic uint64_t repairs;
	_Atomic uint64_t lock_timeouts;
};

struct cache_stripe {
	pthread_mutex_t mtx; /* PROCESS_SHARED | ROBUST */
};

struct cache_slot {
	_Atomic uint32_t seq;   /* odd while being written */
	uint32_t         state; /* enum slot_state */
	uint32_t         klen;  /* format byte + id: 1..KEY_MAX+1 */
	uint32_t         vlen;  /* <= max_value; 0 for a tombstone */
	uint64_t         hash;
	uint64_t         epoch;
	int64_t          stored; /* put or invalidate time */
	int64_t          expires;
	unsigned char    key[CACHE_KEY_MAX + 1];
	unsigned char    val[]; /* max_value bytes */
};

/* Pages are at least 4096 bytes everywhere we run. */
_Static_assert(sizeof(struct cache) <= 4096, "geometry fits in a page");
_Static_assert(
    sizeof(struct cache_counters) <= 4096, "cache_counters fit a page");

/* A key as the caller gave it, flattened and hashed once. */
struct cache_key {
	unsigned char bytes[CACHE_KEY_MAX + 1];
	uint32_t      len;
	uint64_t      hash;
};

enum lock_result {
	LOCK_OK,
	LOCK_TIMEOUT,
	LOCK_BROKEN, /* ENOTRECOVERABLE or an unexpected error */
};

int64_t                cache_deadline_add(int64_t now, int64_t ttl);
int                    cache_usable(const struct cache *c);
struct cache_counters *cache_counters(struct cache *c);
struct cache_slot          *
cache_slot_at(struct cache *c, uint32_t stripe, uint32_t way);
int      cache_key_make(const struct cache *c, uint8_t fmt, const char *id,
         size_t idlen, struct cache_key *k);
uint32_t cache_key_stripe(const struct cache *c, const struct cache_key *k);
enum lock_result
     cache_stripe_lock(struct cache *c, uint32_t stripe, int timeout_ms);
void cache_stripe_unlock(struct cache *c, uint32_t stripe);
int  cache_slot_sane(const struct cache *c, const struct cache_slot *s);
struct cache_slot *
cache_slot_find(struct cache *c, uint32_t stripe, const struct cache_key *k);
struct cache_slot *cache_slot_victim(struct cache *c, uint32_t stripe,
    uint64_t epoch, int64_t now, int *evicted);

#endif
