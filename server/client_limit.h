/*
 * client_limit.h - daemon-wide client limits of the HTTP workers: stream
 * clients (stream.max_clients, stream.max_clients_per_ip) and Convergence
 * relay tunnels (convergence.proxy_max_tunnels, ..._per_ip); see
 * client_limit.c for where the counts live and why they cannot leak.
 */
#ifndef NOTARYD_CLIENT_LIMIT_H
#define NOTARYD_CLIENT_LIMIT_H

#include <stdint.h>

#include "common/status.h"
#include "server/http_parser.h"

struct conf;
struct sockaddr;

/* Connected stream clients of the whole daemon, by shape (lite, full,
 * domains). */
void     stream_clients(const struct status *st, uint64_t n[STATUS_SHAPES]);
/*
 * The keyed hash of the client's address (the peer, or what a trusted
 * proxy forwarded); never 0.
 */
uint64_t stream_client_key(const struct status *st, const struct conf *cf,
    const struct sockaddr *peer, const struct http_request *req);
/* The keyed hash of peer's address alone (IPv4-mapped as IPv4); never 0. */
uint64_t client_addr_key(const struct status *st, const struct sockaddr *peer);
/* 0 when one more stream client with this key fits, -1 (429) when not. */
int      stream_limit_check(
         const struct status *st, const struct conf *cf, uint64_t key);

/* Holders of kind in every live worker slot together. */
uint64_t climit_total(const struct status *st, enum status_climit kind);
/* Holders of kind with key in every live worker slot together. */
uint64_t
climit_count(const struct status *st, enum status_climit kind, uint64_t key);
/*
 * Count a holder of kind with key in or out (delta +1/-1) in a worker's
 * slot: the per-address table and the slot's total.  -1 when the key
 * cannot be counted (no slot, key 0, its table window full).
 */
int climit_add(
    struct status_http *h, enum status_climit kind, uint64_t key, int delta);
/*
 * Take a place of kind for key unless that would pass max_total in the
 * whole daemon or max_per for the key: counted first, then checked, and
 * given back when over, so the limits are never exceeded (two workers
 * taking the last place at once may both be refused).  0 taken, -1 not.
 */
int  climit_take(const struct status *st, struct status_http *h,
     enum status_climit kind, uint64_t key, uint64_t max_total,
     uint64_t max_per);
/* Give back a place climit_take gave. */
void climit_give(struct status_http *h, enum status_climit kind, uint64_t key);

#endif
