/*
 * natspub.h - the NATS JetStream publisher: follows the stream ring like
 * an HTTP worker does and publishes each entry's JSON sections to NATS
 * subjects (see natspub.c).  natspub_role is the process around it.
 */
#ifndef NOTARYD_NATSPUB_H
#define NOTARYD_NATSPUB_H

#include <stdint.h>

#include "common/proc.h"

struct conf;
struct ring;
struct status;
struct natspub;

/* Records read from the ring per natspub_step, at most. */
#define NATSPUB_DRAIN_MAX 1024

/*
 * Set up the connection (asynchronous: a NATS server that is down is
 * retried in the background) and a cursor at the ring's head.  Counters
 * and state go to status->nats; the "record" shape reads the log texts
 * from status->ctlog.  Returns NULL (logged) when the options cannot be
 * made (e.g. an unreadable token file).
 */
struct natspub *
natspub_open(const struct conf *cf, struct ring *ring, struct status *status);
/*
 * One round, never blocking on NATS except for the JetStream stream
 * check right after a (re)connection (bounded by 2 s): read up to
 * NATSPUB_DRAIN_MAX records into the queue (dropping what does not fit
 * in nats.buffer), then publish from the queue while fewer than
 * nats.max_pending await their ack.  Returns 1 when there is more to do
 * at once, 0 when idle.
 */
int  natspub_step(struct natspub *np);
/*
 * Wait up to wait_ms for the acks of what is in flight, count what is
 * still queued as dropped, close the connection and free np.
 */
void natspub_close(struct natspub *np, int64_t wait_ms);

/* The natspub role (nats.enabled: one process). */
extern const struct role_ops natspub_role;

#endif
