/*
 * npqueue.h - the natspub process's bounded queue of messages waiting to
 * be published to NATS (see npqueue.c).
 */
#ifndef NOTARYD_NPQUEUE_H
#define NOTARYD_NPQUEUE_H

#include <stddef.h>
#include <stdint.h>

#define NPQ_SUBJECT_MAX 160 /* prefix (64) + shape + log token */
#define NPQ_MSGID_MAX   48  /* "<log>:<index>:<shape>" */

struct npmsg {
	struct npmsg *next;
	size_t        len;  /* payload bytes */
	uint64_t      rseq; /* the ring record it comes from */
	char          subject[NPQ_SUBJECT_MAX];
	char          msgid[NPQ_MSGID_MAX];
	uint8_t       data[]; /* the payload */
};

struct npqueue {
	struct npmsg *head;
	struct npmsg *tail;
	size_t        count;
	uint64_t      bytes; /* sum of payload lengths */
	uint64_t      limit; /* most payload bytes held */
};

void npq_init(struct npqueue *q, uint64_t limit);
/*
 * Append a copy of data[0..len) with its subject, message id and ring
 * record sequence number.  Returns
 * 0, or -1 (nothing queued) when it would take the queue's payload bytes
 * past its limit, or subject/msgid do not fit.
 */
int  npq_push(struct npqueue *q, const char *subject, const char *msgid,
     uint64_t rseq, const void *data, size_t len);
/* The oldest message, or NULL; npq_pop frees it. */
struct npmsg *npq_peek(struct npqueue *q);
void          npq_pop(struct npqueue *q);
/* Free every message; returns how many there were. */
size_t        npq_clear(struct npqueue *q);

#endif
