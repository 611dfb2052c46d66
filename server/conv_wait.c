/*
 * conv_wait.c - the signer's table of Convergence requests waiting for a
 * probe (see conv_wait.h).  Linear scans over at most CONV_WAIT_MAX
 * entries: the table holds only requests for targets being probed right
 * now.  Runs in the signer; fails only by refusing an entry when full.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/conv_wait.h"

void
conv_waits_init(struct conv_waits *w)
{
	w->v = xcalloc(CONV_WAIT_MAX, sizeof(*w->v));
	w->n = 0;
}

void
conv_waits_free(struct conv_waits *w)
{
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

static int
same_svc(const struct conv_waiter *e, const char *svc, size_t len)
{
	return (e->svclen == len && memcmp(e->svc, svc, len) == 0);
}

int
conv_waits_add(struct conv_waits *w, const struct conv_waiter *e)
{
	size_t i;
	int    first = 1;

	if (w->n == CONV_WAIT_MAX)
		return (-1);
	for (i = 0; i < w->n; i++)
		if (same_svc(&w->v[i], e->svc, e->svclen))
			first = 0;
	w->v[w->n++] = *e;
	return (first);
}

/* Move the entries matching (svc) or (deadline <= now) into out. */
static size_t
take_if(struct conv_waits *w, const char *svc, size_t len, int64_t now,
    struct conv_waiter *out, size_t max)
{
	size_t i = 0, k = 0;

	while (i < w->n && k < max) {
		if (svc != NULL ? same_svc(&w->v[i], svc, len)
		                : w->v[i].deadline <= now) {
			out[k++] = w->v[i];
			w->v[i] = w->v[--w->n];
		} else
			i++;
	}
	return (k);
}

size_t
conv_waits_take(struct conv_waits *w, const char *svc, size_t len,
    struct conv_waiter *out, size_t max)
{
	return (take_if(w, svc, len, 0, out, max));
}

size_t
conv_waits_expired(
    struct conv_waits *w, int64_t now, struct conv_waiter *out, size_t max)
{
	return (take_if(w, NULL, 0, now, out, max));
}

void
conv_waits_drop_fd(struct conv_waits *w, int fd)
{
	size_t i = 0;

	while (i < w->n) {
		if (w->v[i].fd == fd)
			w->v[i] = w->v[--w->n];
		else
			i++;
	}
}

int64_t
conv_waits_next(const struct conv_waits *w)
{
	int64_t next = INT64_MAX;
	size_t  i;

	for (i = 0; i < w->n; i++)
		if (w->v[i].deadline < next)
			next = w->v[i].deadline;
	return (next);
}
