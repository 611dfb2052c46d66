/*
 * ring.c - the shared-memory stream ring (see ring.h).
 *
 * Who calls what:
 *   master          ring_create() before fork, ring_destroy() at exit.
 *   ctwatch         ring_publish(): the one and only writer.
 *   HTTP workers    ring_cursor_head(), ring_read(): one cursor per
 *                   websocket client, kept in the worker's own memory.
 *
 * Layout of the one MAP_SHARED|MAP_ANONYMOUS mapping:
 *
 *   page 0    struct ring: magic and geometry, written once by
 *             ring_create() and then made read-only, so the numbers every
 *             offset is computed from cannot be corrupted by any process.
 *   page 1    struct ring_shared: positions and counters (atomics), and
 *             the index of recent record positions (a few pages).
 *   then      the data area, size bytes, size a power of two.
 *
 * Positions are byte offsets that only grow (they are never wrapped; the
 * index into the data area is pos & (size - 1)).  A record is a 16-byte
 * header {u64 seq, u32 type, u32 len} followed by len bytes, padded to a
 * multiple of 8; both header and data may wrap around the end of the data
 * area and are then copied in two pieces.
 *
 * Writer protocol (never waits for anyone):
 *   1. reserve_pos = end of the new record: the bytes up to reserve_pos -
 *      size of older records are about to be overwritten;
 *   2. copy the record in;
 *   3. commit_pos = end (release: the record is complete), next_seq++,
 *      and publish the pair (commit_pos, next_seq) in the head latch.
 *
 * Reader protocol: a record at cur->pos is readable if it ends at or before
 * commit_pos, and intact if reserve_pos - cur->pos <= size, i.e. the writer
 * has not started to overwrite its first byte (later bytes are younger).
 * The reader copies the record out, then issues an acquire fence and reads
 * reserve_pos again: if the writer reached the record meanwhile, the copy
 * may be torn and is thrown away.  This is the seqlock pattern: the memcpy
 * from bytes the writer may be rewriting at that moment is a formal C11
 * data race (ThreadSanitizer will say so); it is accepted because the copy
 * is validated afterwards and discarded when it might be torn.  Every
 * position is read with atomics.
 *
 * Overrun: the cursor jumps to the head, and the number of records lost is
 * the head's sequence number minus the cursor's.  commit_pos and next_seq
 * are two words, and a reader that loaded them one after the other could
 * pair a position with the sequence number of the next record.  So the
 * writer also publishes the pair through a two-slot latch: it fills the
 * slot readers are not using, then flips head_gen to it.  A reader loads
 * head_gen, the slot, and head_gen again, and retries if it changed.  The
 * writer never waits, and a writer that dies leaves a consistent latch.
 *
 * Failure semantics: ring_create() returns NULL and logs; a record that
 * does not validate (bad seq, bad length, beyond commit) is treated as an
 * overrun, so a corrupt ring costs a reader lost records, never a bad read.
 * A writer killed in mid-publish loses that record; its successor carries
 * on from commit_pos, and never moves reserve_pos back over bytes the dead
 * writer may already have clobbered.
 */
#include <sys/mman.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/ring.h"

#define RING_MAGIC    0x6e52494eU /* "nRIN" */
#define RING_VERSION  1
#define RING_MIN_SIZE (64ULL * 1024)
#define RING_MAX_SIZE (1ULL << 30)
#define RING_ALIGN    8
#define RING_LINE     64

/* Page 0: read-only after ring_create(). */
struct ring {
	uint32_t magic;
	uint32_t version;
	uint64_t size;       /* data area, power of two */
	uint64_t mask;       /* size - 1 */
	uint64_t max_record; /* size / 4 */
	uint64_t shared_off;
	uint64_t data_off;
	uint64_t map_size;
};

struct ring_head {
	_Atomic uint64_t pos;
	_Atomic uint64_t seq;
};

/* Page 1: written by the writer only, read by everyone. */
struct ring_shared {
	_Atomic uint64_t reserve_pos;
	_Atomic uint64_t commit_pos;
	_Atomic uint64_t next_seq;
	_Atomic uint64_t head_gen;
	struct ring_head head[2]; /* head[head_gen & 1] is live */
	_Alignas(RING_LINE) _Atomic uint64_t published;
	_Atomic uint64_t bytes;
	/* recent[seq % RING_RECENT]: position of record seq (a hint). */
	_Alignas(RING_LINE) _Atomic uint64_t recent[RING_RECENT];
};

_Static_assert(sizeof(struct ring) <= 4096, "geometry fits in a page");
_Static_assert(
    sizeof(struct ring_shared) <= 4096 * 3, "positions fit three pages");

struct ring_rec_hdr {
	uint64_t seq;
	uint32_t type;
	uint32_t len;
};

static int                 ring_usable(const struct ring *);
static struct ring_shared *shared(struct ring *);
static unsigned char      *data_area(struct ring *);
static uint64_t            record_span(uint64_t);
static void copy_in(struct ring *, uint64_t, const void *, size_t);
static void copy_out(struct ring *, uint64_t, void *, size_t);
static void head_publish(struct ring_shared *, uint64_t, uint64_t);
static void head_snapshot(struct ring_shared *, uint64_t *, uint64_t *);
static int  writer_reached(struct ring *, uint64_t);
static enum ring_result
overrun(struct ring *, struct ring_cursor *, uint64_t *);

static int
ring_usable(const struct ring *r)
{
	return (
	    r != NULL && r->magic == RING_MAGIC && r->version == RING_VERSION);
}

static struct ring_shared *
shared(struct ring *r)
{
	return ((struct ring_shared *)((char *)r + r->shared_off));
}

static unsigned char *
data_area(struct ring *r)
{
	return ((unsigned char *)r + r->data_off);
}

/* Bytes a record with len data bytes occupies, header and padding. */
static uint64_t
record_span(uint64_t len)
{
	return (sizeof(struct ring_rec_hdr) +
	    ((len + RING_ALIGN - 1) & ~(uint64_t)(RING_ALIGN - 1)));
}

struct ring *
ring_create(uint64_t size_bytes)
{
	struct ring        *r;
	struct ring_shared *sh;
	uint64_t            page, size, map, shoff, dataoff;
	long                ps;

	/* The geometry and the positions each get a page of their own. */
	ps = sysconf(_SC_PAGESIZE);
	page = ps > 0 ? (uint64_t)ps : 4096;
	if (size_bytes > RING_MAX_SIZE) {
		log_warnx("ring: %llu bytes is more than the %llu allowed",
		    (unsigned long long)size_bytes,
		    (unsigned long long)RING_MAX_SIZE);
		return (NULL);
	}
	for (size = RING_MIN_SIZE; size < size_bytes; size <<= 1)
		;
	shoff = page;
	dataoff =
	    page + ((sizeof(struct ring_shared) + page - 1) / page) * page;
	map = dataoff + size;
	r = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (r == MAP_FAILED) {
		log_warn("ring: mmap %llu bytes", (unsigned long long)map);
		return (NULL);
	}
	/* Zeroed by mmap: positions 0, head latch generation 0. */
	r->size = size;
	r->mask = size - 1;
	r->max_record = size / 4;
	r->shared_off = shoff;
	r->data_off = dataoff;
	r->map_size = map;
	sh = shared(r);
	atomic_store_explicit(&sh->next_seq, 1, memory_order_relaxed);
	atomic_store_explicit(&sh->head[0].seq, 1, memory_order_relaxed);
	r->version = RING_VERSION;
	r->magic = RING_MAGIC;
	if (mprotect(r, page, PROT_READ) == -1) {
		log_warn("ring: mprotect geometry page");
		munmap(r, map);
		return (NULL);
	}
	return (r);
}

void
ring_destroy(struct ring *r)
{
	if (ring_usable(r))
		munmap(r, r->map_size);
}

size_t
ring_max_record(const struct ring *r)
{
	return (ring_usable(r) ? (size_t)r->max_record : 0);
}

static void
copy_in(struct ring *r, uint64_t pos, const void *src, size_t n)
{
	uint64_t idx = pos & r->mask;
	size_t   first;

	if (n == 0)
		return;
	first = n < r->size - idx ? n : (size_t)(r->size - idx);
	memcpy(data_area(r) + idx, src, first);
	if (first < n)
		memcpy(data_area(r), (const unsigned char *)src + first,
		    n - first);
}

/* Racy by design: see the file comment. */
static void
copy_out(struct ring *r, uint64_t pos, void *dst, size_t n)
{
	uint64_t idx = pos & r->mask;
	size_t   first;

	if (n == 0)
		return;
	first = n < r->size - idx ? n : (size_t)(r->size - idx);
	memcpy(dst, data_area(r) + idx, first);
	if (first < n)
		memcpy((unsigned char *)dst + first, data_area(r), n - first);
}

/*
 * Fill the slot readers are not looking at, then flip to it.  The fence
 * keeps the previous flip ahead of these stores: a reader that sees any
 * of them also sees that the generation moved, and retries.
 */
static void
head_publish(struct ring_shared *sh, uint64_t pos, uint64_t seq)
{
	uint64_t          gen;
	struct ring_head *h;

	gen = atomic_load_explicit(&sh->head_gen, memory_order_relaxed);
	h = &sh->head[(gen + 1) & 1];
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&h->pos, pos, memory_order_relaxed);
	atomic_store_explicit(&h->seq, seq, memory_order_relaxed);
	atomic_store_explicit(&sh->head_gen, gen + 1, memory_order_release);
}

/*
 * A consistent (pos, seq) pair.  A retry means the writer published at
 * least two records during these four loads; it cannot starve us for long.
 */
static void
head_snapshot(struct ring_shared *sh, uint64_t *pos, uint64_t *seq)
{
	struct ring_head *h;
	uint64_t          gen;

	for (;;) {
		gen = atomic_load_explicit(&sh->head_gen, memory_order_acquire);
		h = &sh->head[gen & 1];
		*pos = atomic_load_explicit(&h->pos, memory_order_relaxed);
		*seq = atomic_load_explicit(&h->seq, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&sh->head_gen, memory_order_relaxed) ==
		    gen)
			return;
	}
}

uint64_t
ring_publish(struct ring *r, uint32_t type, const void *data, size_t len)
{
	struct ring_shared *sh;
	struct ring_rec_hdr hdr;
	uint64_t            pos, end, seq;

	if (!ring_usable(r) || len > r->max_record || (data == NULL && len > 0))
		return (0);
	sh = shared(r);
	/* Only this process writes these: relaxed loads see its own stores. */
	pos = atomic_load_explicit(&sh->commit_pos, memory_order_relaxed);
	seq = atomic_load_explicit(&sh->next_seq, memory_order_relaxed);
	end = pos + record_span(len);

	/*
	 * Announce the overwrite before any byte of it (StoreStore).  Never
	 * move the reservation back: a writer that died between reserve and
	 * commit may have clobbered bytes up to its own reservation, and a
	 * restarted writer begins again at commit_pos.
	 */
	if (atomic_load_explicit(&sh->reserve_pos, memory_order_relaxed) < end)
		atomic_store_explicit(
		    &sh->reserve_pos, end, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);

	memset(&hdr, 0, sizeof(hdr));
	hdr.seq = seq;
	hdr.type = type;
	hdr.len = (uint32_t)len;
	copy_in(r, pos, &hdr, sizeof(hdr));
	copy_in(r, pos + sizeof(hdr), data, len);
	/* A hint only: readers validate the record it points at. */
	atomic_store_explicit(
	    &sh->recent[seq % RING_RECENT], pos, memory_order_relaxed);

	/*
	 * next_seq before commit_pos: a writer killed between the two then
	 * leaves a sequence number unused (readers see a gap, reported as an
	 * overrun) rather than handing the same number to two records.  The
	 * release store of commit_pos publishes the record and next_seq.
	 */
	atomic_store_explicit(&sh->next_seq, seq + 1, memory_order_relaxed);
	atomic_store_explicit(&sh->commit_pos, end, memory_order_release);
	head_publish(sh, end, seq + 1);
	atomic_fetch_add_explicit(&sh->published, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sh->bytes, len, memory_order_relaxed);
	return (seq);
}

void
ring_cursor_head(struct ring *r, struct ring_cursor *cur)
{
	if (!ring_usable(r)) {
		cur->pos = 0;
		cur->seq = 0;
		return;
	}
	head_snapshot(shared(r), &cur->pos, &cur->seq);
}

uint64_t
ring_cursor_back(struct ring *r, uint64_t k, struct ring_cursor *cur)
{
	ring_cursor_head(r, cur);
	if (!ring_usable(r) || k == 0 || cur->seq == 0)
		return (0);
	if (k > RING_RECENT - 1)
		k = RING_RECENT - 1; /* the writer may be filling one slot */
	if (k > cur->seq - 1)
		k = cur->seq - 1; /* sequence numbers start at 1 */
	if (k == 0)
		return (0);
	cur->seq -= k;
	cur->pos = atomic_load_explicit(
	    &shared(r)->recent[cur->seq % RING_RECENT], memory_order_acquire);
	return (k);
}

uint64_t
ring_next_seq(struct ring *r)
{
	if (!ring_usable(r))
		return (0);
	return (
	    atomic_load_explicit(&shared(r)->next_seq, memory_order_acquire));
}

/*
 * Has the writer reserved (started overwriting) the byte at pos?  The
 * unsigned difference also catches a pos beyond the writer's (garbage).
 */
static int
writer_reached(struct ring *r, uint64_t pos)
{
	uint64_t reserve;

	reserve =
	    atomic_load_explicit(&shared(r)->reserve_pos, memory_order_acquire);
	return (reserve - pos > r->size);
}

static enum ring_result
overrun(struct ring *r, struct ring_cursor *cur, uint64_t *skipped)
{
	uint64_t pos, seq;

	head_snapshot(shared(r), &pos, &seq);
	if (skipped != NULL)
		*skipped = seq > cur->seq ? seq - cur->seq : 0;
	cur->pos = pos;
	cur->seq = seq;
	return (RING_OVERRUN);
}

enum ring_result
ring_read(struct ring *r, struct ring_cursor *cur, uint32_t *type, void *buf,
    size_t buflen, size_t *len, uint64_t *skipped)
{
	struct ring_rec_hdr hdr;
	uint64_t            commit, p;

	if (skipped != NULL)
		*skipped = 0;
	if (!ring_usable(r))
		return (RING_EMPTY);
	p = cur->pos;
	commit =
	    atomic_load_explicit(&shared(r)->commit_pos, memory_order_acquire);
	if (p == commit)
		return (RING_EMPTY);
	/* Too far behind, ahead of the writer, or not on a record boundary. */
	if (commit - p > r->size || writer_reached(r, p) ||
	    (p & (RING_ALIGN - 1)) != 0)
		return (overrun(r, cur, skipped));

	copy_out(r, p, &hdr, sizeof(hdr));
	if (hdr.seq != cur->seq || hdr.len > r->max_record ||
	    record_span(hdr.len) > commit - p)
		return (overrun(r, cur, skipped));
	if (hdr.len > buflen || (buf == NULL && hdr.len > 0)) {
		/* Only trust hdr.len if the header was not being rewritten. */
		atomic_thread_fence(memory_order_acquire);
		if (writer_reached(r, p))
			return (overrun(r, cur, skipped));
		if (len != NULL)
			*len = hdr.len;
		return (RING_TOOBIG);
	}
	copy_out(r, p + sizeof(hdr), buf, hdr.len);

	/* Keep the copies above ahead of the reserve_pos load below. */
	atomic_thread_fence(memory_order_acquire);
	if (writer_reached(r, p))
		return (overrun(r, cur, skipped));

	if (type != NULL)
		*type = hdr.type;
	if (len != NULL)
		*len = hdr.len;
	cur->pos = p + record_span(hdr.len);
	cur->seq++;
	return (RING_OK);
}

void
ring_stats(struct ring *r, struct ring_stats *st)
{
	struct ring_shared *sh;

	memset(st, 0, sizeof(*st));
	if (!ring_usable(r))
		return;
	sh = shared(r);
	st->size = r->size;
	st->published =
	    atomic_load_explicit(&sh->published, memory_order_relaxed);
	st->bytes = atomic_load_explicit(&sh->bytes, memory_order_relaxed);
}
