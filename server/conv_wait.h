/*
 * conv_wait.h - Convergence requests parked in the signer until the probe
 * they need has been recorded (spec §2.3 with a synchronous probe), and
 * Perspectives queries held for their first probe (perspectives.hold).
 *
 * A bounded table: each entry is one worker request (its connection and
 * sequence number), the service, the submitted fingerprint (POST) and a
 * deadline.  Entries for the same service share one probe: only the first
 * one asks for it.  Runs in the signer; pure data, no I/O.
 */
#ifndef NOTARYD_CONV_WAIT_H
#define NOTARYD_CONV_WAIT_H

#include <stddef.h>
#include <stdint.h>

#include "server/convergence.h"
#include "store/svcid.h"

#define CONV_WAIT_MAX      1024 /* parked requests per signer */
/* Parked at most scanner.timeout + this: answered within timeout + 1 s. */
#define CONV_WAIT_SLACK_MS 800

struct conv_waiter {
	int      fd; /* the worker connection */
	uint32_t seq;
	char     svc[SVCID_MAX + 1];
	size_t   svclen;
	int      post;
	int      persp; /* a Perspectives query (hold) */
	char     fp[CONV_FP_LEN + 1];
	int64_t  since_s;  /* wall clock when parked */
	int64_t  deadline; /* mono ms */
};

struct conv_waits {
	struct conv_waiter *v;
	size_t              n;
};

void   conv_waits_init(struct conv_waits *w);
void   conv_waits_free(struct conv_waits *w);
/*
 * Park e: 1 when it is the first for its service (ask for the probe), 0
 * when a probe is already awaited, -1 when the table is full.
 */
int    conv_waits_add(struct conv_waits *w, const struct conv_waiter *e);
/* Remove the entries of svc into out (up to max); returns how many. */
size_t conv_waits_take(struct conv_waits *w, const char *svc, size_t len,
    struct conv_waiter *out, size_t max);
/* Remove the entries whose deadline is <= now into out; how many. */
size_t conv_waits_expired(
    struct conv_waits *w, int64_t now, struct conv_waiter *out, size_t max);
/* Forget the entries of a closed connection. */
void    conv_waits_drop_fd(struct conv_waits *w, int fd);
/* The earliest deadline, or INT64_MAX. */
int64_t conv_waits_next(const struct conv_waits *w);

#endif
