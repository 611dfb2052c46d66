/*
 * cache.h - the shared-memory signed-response cache.
 *
 * One MAP_SHARED|MAP_ANONYMOUS mapping created by the master before fork,
 * sized once from the config.  A set-associative table: a keyed SipHash of
 * (format byte, service id) picks a stripe; each stripe has a robust,
 * process-shared mutex and CACHE_WAYS slots of fixed size.  Each slot has a
 * sequence counter that is odd while the slot is being written, so that a
 * writer killed mid-write leaves a mark: the next locker gets EOWNERDEAD,
 * drops every odd slot of the stripe, and makes the mutex consistent.
 *
 * Who calls what: the master creates (and never locks); HTTP workers get;
 * the signer puts; scanners/ctwatch/the signer invalidate.  All times are
 * CLOCK_MONOTONIC milliseconds passed in by the caller (mono_ms()), which
 * every process on the host shares and which tests can control.
 *
 * Every length read from the mapping is checked before use.
 */
#ifndef NOTARYD_CACHE_H
#define NOTARYD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_KEY_MAX         256 /* service id bytes, without format */
#define CACHE_WAYS            8
#define CACHE_LOCK_TIMEOUT_MS 50 /* a get that waits longer is a miss */

/* Reply formats: part of the key. */
enum cache_fmt {
	CACHE_FMT_PERSPECTIVES_XML = 1,
	CACHE_FMT_CONVERGENCE_JSON = 2,
	CACHE_FMT_MAX = 2,
};

struct cache; /* lives inside the shared mapping */

struct cache_stats {
	uint64_t slots;
	uint64_t max_value;
	uint64_t hits;
	uint64_t misses;
	uint64_t stores;
	uint64_t evictions;
	uint64_t expired;
	uint64_t invalidations;
	uint64_t oversize;    /* puts refused for size */
	uint64_t stale_skips; /* puts refused by a newer tombstone */
	uint64_t repairs;     /* EOWNERDEAD repairs */
	uint64_t lock_timeouts;
	uint64_t used; /* live slots (approximate) */
};

/*
 * Create the mapping: about size_bytes of shared memory, values up to
 * max_value bytes.  Returns NULL (and logs) on failure.
 */
struct cache *cache_create(uint64_t size_bytes, uint32_t max_value);
void          cache_destroy(struct cache *c);

/*
 * Look up (fmt, id).  On a hit copies the value into buf and returns 1 with
 * *vlen set (and *stored_ms, if not NULL, the put time).  Returns 0 on a
 * miss, an expired entry, a tombstone or a lock timeout; -1 on bad
 * arguments (idlen > CACHE_KEY_MAX, or buflen too small for the value).
 */
int cache_get(struct cache *c, uint8_t fmt, const char *id, size_t idlen,
    void *buf, size_t buflen, size_t *vlen, int64_t *stored_ms, int64_t now_ms);

/*
 * Store a complete reply body that stays valid for ttl_ms.  read_began_ms
 * is when the caller started reading the data the reply was built from:
 * if the key was invalidated after that time the put is skipped (returns 1)
 * so a stale reply cannot overwrite a fresh invalidation.  Returns 0 when
 * stored, 1 when skipped, -1 when refused (oversize value or key).
 */
int cache_put(struct cache *c, uint8_t fmt, const char *id, size_t idlen,
    const void *val, size_t vlen, int64_t ttl_ms, int64_t read_began_ms,
    int64_t now_ms);

/* Drop (fmt, id), leaving a tombstone stamped now_ms.  Returns 0/-1. */
int cache_invalidate(
    struct cache *c, uint8_t fmt, const char *id, size_t idlen, int64_t now_ms);
/* Drop every format of one service id. */
int cache_invalidate_service(
    struct cache *c, const char *id, size_t idlen, int64_t now_ms);
/* Drop everything (an epoch bump; O(1)). */
void     cache_flush(struct cache *c);
void     cache_stats(struct cache *c, struct cache_stats *st);
uint32_t cache_max_value(const struct cache *c);

/*
 * For tests only: not for use by the daemon.
 *
 * cache_debug_stripe_of() returns the stripe index (fmt, id) hashes to, or
 * -1 on bad arguments, so a test can find keys that share a stripe.
 *
 * cache_debug_lock_and_dirty() locks the stripe of (fmt, id), marks the
 * key's slot dirty (odd seq) with half a value written, and returns 0 with
 * the lock still held (-1 on bad arguments or if the lock cannot be had):
 * what a signer killed in the middle of cache_put() leaves behind.  A test
 * child calls it and then raise(SIGKILL).
 */
int cache_debug_stripe_of(
    struct cache *c, uint8_t fmt, const char *id, size_t idlen);
int cache_debug_lock_and_dirty(
    struct cache *c, uint8_t fmt, const char *id, size_t idlen, int64_t now_ms);

#endif
