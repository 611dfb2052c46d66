/*
 * ct_rfc6962.h - the follower of one RFC 6962 log: get-sth every
 * ctwatch.poll_interval (signature checked with the log key when known),
 * get-entries windows of ctwatch.batch_size, several in flight, published
 * in index order through a bounded reorder buffer.
 *
 * Runs in ctwatch, from its event loop (ct_log_step), single-threaded.
 */
#ifndef NOTARYD_CT_RFC6962_H
#define NOTARYD_CT_RFC6962_H

struct ct_log;
struct ct_rfc6962;

struct ct_rfc6962 *ct_rfc6962_new(struct ct_log *l);
/* Cancel every transfer of the log and free. */
void               ct_rfc6962_free(struct ct_rfc6962 *r);
/* Send the requests that are due and allowed. */
void               ct_rfc6962_step(struct ct_rfc6962 *r);

#endif
