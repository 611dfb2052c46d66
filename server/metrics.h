/*
 * metrics.h - Prometheus /metrics of the HTTP workers (see metrics.c).
 */
#ifndef NOTARYD_METRICS_H
#define NOTARYD_METRICS_H

#include "server/http_parser.h"

struct http_site;
struct http_response;

/* Answer metrics.path (403 unless the peer is in metrics.allow): 1, else 0. */
int metrics_route(struct http_site *site, const struct http_request *req,
    struct http_response *resp);

#endif
