/*
 * stream_limit.h - the stream client limits (stream.max_clients,
 * stream.max_clients_per_ip) of the HTTP workers; see stream_limit.c.
 */
#ifndef NOTARYD_STREAM_LIMIT_H
#define NOTARYD_STREAM_LIMIT_H

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
/* 0 when one more stream client with this key fits, -1 (429) when not. */
int      stream_limit_check(
         const struct status *st, const struct conf *cf, uint64_t key);
/* Count a stream client of key in or out (delta +1/-1) in a worker slot. */
int stream_limit_add(struct status_http *h, uint64_t key, int delta);

#endif
