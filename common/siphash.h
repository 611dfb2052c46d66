/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012): a keyed 64-bit hash.  Used by the shared-memory
 * cache so that clients, who choose service ids, cannot aim many ids at one
 * stripe without knowing the per-boot random key.
 */
#ifndef NOTARYD_SIPHASH_H
#define NOTARYD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* The 64-bit SipHash-2-4 of len bytes at msg under a 16-byte key. */
uint64_t siphash24(
    const unsigned char key[SIPHASH_KEY_LEN], const void *msg, size_t len);

#endif
