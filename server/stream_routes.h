/*
 * stream_routes.h - the CertStream HTTP endpoints (example, latest,
 * stats) of the HTTP workers; see stream_routes.c.
 */
#ifndef NOTARYD_STREAM_ROUTES_H
#define NOTARYD_STREAM_ROUTES_H

#include <stdint.h>

#include "common/status.h"
#include "server/http_parser.h"
#include "server/client_limit.h"

struct http_site;
struct http_response;

/* Answer the request if it is one of these endpoints: 1, else 0. */
int stream_routes(struct http_site *site, const struct http_request *req,
    struct http_response *resp);

#endif
