/*
 * siphash.c - SipHash-2-4, written from the description in the SipHash
 * paper (section 2).  Pure computation: any process may call it, it cannot
 * fail, and it reads its input byte by byte so the message needs no
 * particular alignment.
 *
 * State: four 64-bit words v0..v3 seeded from the key k0, k1 (little
 * endian) and four constants.  Each 8-byte little-endian message word m is
 * absorbed as v3 ^= m, two SipRounds, v0 ^= m.  The last word carries the
 * 0..7 trailing bytes with the message length (mod 256) in its top byte.
 * Finalisation: v2 ^= 0xff, four SipRounds, output v0 ^ v1 ^ v2 ^ v3.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/siphash.h"

#define SIP_C_ROUNDS 2 /* rounds per message word */
#define SIP_D_ROUNDS 4 /* finalisation rounds */

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static uint64_t load_le64(const unsigned char *);
static uint64_t rotl64(uint64_t, unsigned);
static void     sip_round(struct sip_state *);
static void     sip_absorb(struct sip_state *, uint64_t);

static uint64_t
load_le64(const unsigned char *p)
{
	uint64_t w = 0;
	int      i;

	for (i = 7; i >= 0; i--)
		w = (w << 8) | p[i];
	return (w);
}

static uint64_t
rotl64(uint64_t x, unsigned b)
{
	return ((x << b) | (x >> (64 - b)));
}

/* One SipRound: two ARX half-rounds mixing (v0,v1) and (v2,v3). */
static void
sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

static void
sip_absorb(struct sip_state *s, uint64_t m)
{
	int i;

	s->v3 ^= m;
	for (i = 0; i < SIP_C_ROUNDS; i++)
		sip_round(s);
	s->v0 ^= m;
}

uint64_t
siphash24(const unsigned char key[SIPHASH_KEY_LEN], const void *msg, size_t len)
{
	const unsigned char *p = msg;
	struct sip_state     s;
	uint64_t             k0, k1, last;
	size_t               left;
	int                  i;

	k0 = load_le64(key);
	k1 = load_le64(key + 8);
	/* "somepseudorandomlygeneratedbytes", as the paper specifies. */
	s.v0 = k0 ^ 0x736f6d6570736575ULL;
	s.v1 = k1 ^ 0x646f72616e646f6dULL;
	s.v2 = k0 ^ 0x6c7967656e657261ULL;
	s.v3 = k1 ^ 0x7465646279746573ULL;

	for (left = len; left >= 8; left -= 8, p += 8)
		sip_absorb(&s, load_le64(p));

	/* Trailing bytes in the low end, length mod 256 in the top byte. */
	last = (uint64_t)(len & 0xff) << 56;
	for (i = (int)left - 1; i >= 0; i--)
		last |= (uint64_t)p[i] << (8 * i);
	sip_absorb(&s, last);

	s.v2 ^= 0xff;
	for (i = 0; i < SIP_D_ROUNDS; i++)
		sip_round(&s);
	return (s.v0 ^ s.v1 ^ s.v2 ^ s.v3);
}
