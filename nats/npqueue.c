/*
 * npqueue.c - a FIFO of messages bounded by their payload bytes: what the
 * natspub process holds while NATS is down or slower than the CT stream.
 * Single-threaded (the natspub loop); allocation failures abort
 * (xmalloc); a message that does not fit is refused and the caller counts
 * it as dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "nats/npqueue.h"

void
npq_init(struct npqueue *q, uint64_t limit)
{
	memset(q, 0, sizeof(*q));
	q->limit = limit;
}

int
npq_push(struct npqueue *q, const char *subject, const char *msgid,
    uint64_t rseq, const void *data, size_t len)
{
	struct npmsg *m;
	size_t        slen = strlen(subject), ilen = strlen(msgid);

	if (len > q->limit || q->bytes > q->limit - len ||
	    slen >= sizeof(m->subject) || ilen >= sizeof(m->msgid))
		return (-1);
	m = xmalloc(sizeof(*m) + len);
	m->next = NULL;
	m->len = len;
	m->rseq = rseq;
	memcpy(m->subject, subject, slen + 1);
	memcpy(m->msgid, msgid, ilen + 1);
	if (len > 0)
		memcpy(m->data, data, len);
	if (q->tail != NULL)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->count++;
	q->bytes += len;
	return (0);
}

struct npmsg *
npq_peek(struct npqueue *q)
{
	return (q->head);
}

void
npq_pop(struct npqueue *q)
{
	struct npmsg *m = q->head;

	if (m == NULL)
		return;
	q->head = m->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->count--;
	q->bytes -= m->len;
	free(m);
}

size_t
npq_clear(struct npqueue *q)
{
	size_t n = q->count;

	while (q->head != NULL)
		npq_pop(q);
	return (n);
}
