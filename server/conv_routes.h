/*
 * conv_routes.h - what the plain HTTP listener says about the Convergence
 * notary: GET /convergence.notary (the version-1 bundle of spec §7 for
 * the certificate the TLS ports serve) and the index page's feature row.
 */
#ifndef NOTARYD_CONV_ROUTES_H
#define NOTARYD_CONV_ROUTES_H

#include <stddef.h>

#include "server/http_parser.h"
#include "server/http_routes.h"

#define CONV_BUNDLE_PATH "/convergence.notary"

void conv_route_bundle(struct http_site *site, const struct http_request *req,
    struct http_response *resp);
/* 1 (on, text says where and the pin) or 0 (off, text says why). */
int  conv_index_feature(const struct conf *cf, char *text, size_t len);

#endif
