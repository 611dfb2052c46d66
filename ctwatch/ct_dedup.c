/*
 * ct_dedup.c - the cross-log dedup window (see ct_dedup.h).
 *
 * An open-addressing set of 64-bit keys (the first 8 bytes of the hash;
 * linear probing, backward-shift deletion, twice as many slots as keys)
 * plus a FIFO of the keys in insertion order with their time, from which
 * the oldest are dropped when the window is full or too old.  ctwatch
 * process only; it cannot fail after ct_dedup_new.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "ctwatch/ct_dedup.h"

#define DEDUP_SLOTS (CT_DEDUP_ENTRIES * 2) /* power of two */

struct ct_dedup {
	uint64_t *slot; /* open addressing, 0 = empty */
	uint64_t *fifo; /* keys in insertion order */
	int64_t  *when;
	size_t    head; /* oldest */
	size_t    n;
};

struct ct_dedup *
ct_dedup_new(void)
{
	struct ct_dedup *d = xcalloc(1, sizeof(*d));

	d->slot = xcalloc(DEDUP_SLOTS, sizeof(*d->slot));
	d->fifo = xcalloc(CT_DEDUP_ENTRIES, sizeof(*d->fifo));
	d->when = xcalloc(CT_DEDUP_ENTRIES, sizeof(*d->when));
	return (d);
}

void
ct_dedup_free(struct ct_dedup *d)
{
	if (d == NULL)
		return;
	free(d->slot);
	free(d->fifo);
	free(d->when);
	free(d);
}

/* Remove key from the table (linear probing, backward-shift delete). */
static void
dedup_remove(struct ct_dedup *d, uint64_t key)
{
	size_t i = key & (DEDUP_SLOTS - 1), j, home;

	while (d->slot[i] != key) {
		if (d->slot[i] == 0)
			return;
		i = (i + 1) & (DEDUP_SLOTS - 1);
	}
	d->slot[i] = 0;
	for (j = (i + 1) & (DEDUP_SLOTS - 1); d->slot[j] != 0;
	     j = (j + 1) & (DEDUP_SLOTS - 1)) {
		home = d->slot[j] & (DEDUP_SLOTS - 1);
		/* move j back to i unless its home lies in (i, j] */
		if (((j - home) & (DEDUP_SLOTS - 1)) >=
		    ((j - i) & (DEDUP_SLOTS - 1))) {
			d->slot[i] = d->slot[j];
			d->slot[j] = 0;
			i = j;
		}
	}
}

int
ct_dedup_seen(struct ct_dedup *d, const uint8_t hash[32], int64_t now_ms)
{
	uint64_t key;
	size_t   i;

	memcpy(&key, hash, sizeof(key));
	if (key == 0)
		key = 1;
	while (d->n > 0 &&
	    (d->n == CT_DEDUP_ENTRIES ||
	        now_ms - d->when[d->head] > CT_DEDUP_AGE_MS)) {
		dedup_remove(d, d->fifo[d->head]);
		d->head = (d->head + 1) % CT_DEDUP_ENTRIES;
		d->n--;
	}
	for (i = key & (DEDUP_SLOTS - 1); d->slot[i] != 0;
	     i = (i + 1) & (DEDUP_SLOTS - 1))
		if (d->slot[i] == key)
			return (1);
	d->slot[i] = key;
	i = (d->head + d->n) % CT_DEDUP_ENTRIES;
	d->fifo[i] = key;
	d->when[i] = now_ms;
	d->n++;
	return (0);
}
