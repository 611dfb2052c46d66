/*
 * http_routes.h - the router of the HTTP workers and the routes of the
 * foundation: the index page and /healthz.  Feature issues add their
 * routes to the table in http_routes.c.
 */
#ifndef NOTARYD_HTTP_ROUTES_H
#define NOTARYD_HTTP_ROUTES_H

#include "common/buf.h"
#include "server/http_parser.h"

struct conf;
struct status;
struct cache;
struct ring;
struct sockaddr;
struct stream_filter;

#define HTTP_BODY_MAX      (1024 * 1024) /* largest response body */
#define HTTP_EXTRA_HDR_MAX 4096

/* What every handler can see: read-only state of this worker. */
struct http_site {
	const struct conf     *cf;
	struct status         *status;
	struct cache          *cache;
	char                  *pubkey_pem;   /* NULL until keys exist */
	int64_t                pubkey_tried; /* last attempt (mono ms) */
	unsigned char         *cache_buf;    /* one cached value */
	size_t                 cache_buf_len;
	struct ring           *ring; /* the stream ring, or NULL */
	unsigned char         *rec;  /* one ring record, or NULL */
	size_t                 rec_max;
	/* The peer of the request being routed (set by the worker). */
	const struct sockaddr *peer;
};

struct http_response {
	int         status;
	const char *content_type; /* NULL: no Content-Type */
	struct buf  headers;      /* extra lines, each ending in CRLF */
	struct buf  body;
	int         close;     /* answer with Connection: close */
	int         stream;    /* 101: enum http_stream to switch to */
	int         route;     /* enum status_route, for counting */
	int         sse;       /* 200: an event stream of "stream" */
	int         deflate;   /* 101: permessage-deflate agreed */
	int         seq;       /* ?seq=1: frames carry "seq" */
	int         since_set; /* ?since=N given */
	uint64_t    since;
	uint64_t    client_key;       /* stream: keyed hash of the address */
	struct stream_filter *filter; /* stream filter (heap; the worker
					   takes it, or frees it) */
	/*
	 * A cache miss the signer must answer: the worker sends (fmt, id)
	 * to the signer and answers when it replies (or 503 on timeout).
	 */
	int                   defer;
	uint8_t               defer_fmt;
	uint8_t               defer_flags;
	size_t                defer_idlen;
	char                  defer_id[256];
};

/* Turn a signer reply (enum sigproto_status) into the HTTP answer. */
void http_response_from_signer(struct http_response *resp, int status,
    const void *body, size_t len, uint8_t fmt);

/* Long-lived streams a connection can be upgraded to (websocket). */
enum http_stream {
	HTTP_STREAM_NONE = 0,
	HTTP_STREAM_LITE,
	HTTP_STREAM_FULL,
	HTTP_STREAM_DOMAINS,
};

void http_response_init(struct http_response *resp);
void http_response_free(struct http_response *resp);
/* A short text/plain body "<status> <reason>\n". */
void http_response_error(struct http_response *resp, int status);

/* Route one parsed request; always fills resp. */
void http_dispatch(struct http_site *site, const struct http_request *req,
    struct http_response *resp);

/* Load what the routes show that lives in files (the public key). */
void http_site_init(struct http_site *site, const struct conf *cf,
    struct status *st, struct cache *cache);
void http_site_free(struct http_site *site);

#endif
