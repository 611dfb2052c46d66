/*
 * ring.h - the shared-memory stream ring: one writer (ctwatch), many
 * readers (HTTP workers fanning frames out to websocket clients).
 *
 * A byte ring in one MAP_SHARED|MAP_ANONYMOUS mapping made by the master
 * before fork.  Records are {seq, type, len, bytes} laid end to end (they
 * may wrap around the end of the buffer).  The writer never waits for a
 * reader: it announces the range it is about to overwrite (reserve), writes,
 * then publishes (commit).  A reader copies a record out and then checks
 * that the writer's reservation has not reached it; if it has, the reader
 * was overrun, and its cursor jumps to the newest record (the skipped
 * records are counted).  Every header read from the ring is validated
 * (length bounds, sequence numbers) as untrusted input.
 */
#ifndef NOTARYD_RING_H
#define NOTARYD_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring; /* lives inside the shared mapping */

struct ring_cursor {
	uint64_t pos; /* byte position (monotonic, not wrapped) */
	uint64_t seq; /* sequence number of the next record */
};

enum ring_result {
	RING_EMPTY = 0,    /* nothing new */
	RING_OK = 1,       /* one record copied out */
	RING_OVERRUN = -1, /* reader lapped: cursor moved to the head */
	RING_TOOBIG = -2,  /* buf too small: cursor unchanged */
};

/*
 * Create a ring with a data area of size_bytes (rounded up to a power of
 * two, at least 64K).  The largest record is a quarter of the data area.
 * Returns NULL (and logs) on failure.
 */
struct ring *ring_create(uint64_t size_bytes);
void         ring_destroy(struct ring *r);
size_t       ring_max_record(const struct ring *r);

/* Writer only.  Returns the record's sequence number (>= 1), or 0 if len
 * exceeds ring_max_record(). */
uint64_t
ring_publish(struct ring *r, uint32_t type, const void *data, size_t len);

/* Readers: start at the head (only records published from now on). */
void ring_cursor_head(struct ring *r, struct ring_cursor *cur);
/*
 * Readers: start k records back from the head (k <= RING_RECENT), for
 * "the last k entries".  The positions come from a small index the writer
 * keeps; records since overwritten are reported by ring_read() as an
 * overrun, like any other.  Returns how many records back the cursor is
 * (fewer than k when fewer were ever published).
 */
#define RING_RECENT 1024
uint64_t ring_cursor_back(struct ring *r, uint64_t k, struct ring_cursor *cur);
/* Sequence number the next published record will get. */
uint64_t ring_next_seq(struct ring *r);

/*
 * Read the record at the cursor.  RING_OK: copied into buf, *type and *len
 * set, cursor advanced.  RING_OVERRUN: *skipped (if not NULL) is the number
 * of records lost and the cursor now points at the head.
 */
enum ring_result ring_read(struct ring *r, struct ring_cursor *cur,
    uint32_t *type, void *buf, size_t buflen, size_t *len, uint64_t *skipped);

struct ring_stats {
	uint64_t size;
	uint64_t published; /* records ever written */
	uint64_t bytes;     /* bytes ever written */
};
void ring_stats(struct ring *r, struct ring_stats *st);

#endif
