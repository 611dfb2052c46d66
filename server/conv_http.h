/*
 * conv_http.h - the Convergence TLS ports inside an HTTP worker.
 *
 * The worker's event loop (http.c) knows this module only by one file
 * descriptor: an epoll set of its own (listeners, TLS connections, its
 * signer connection), registered in the worker's epoll set.  When that
 * descriptor is readable, or when conv_http_next_ms says so, the worker
 * calls conv_http_run.  Nothing else is shared, so the plain-HTTP code
 * and this module change independently.
 */
#ifndef NOTARYD_CONV_HTTP_H
#define NOTARYD_CONV_HTTP_H

#include <stdint.h>

struct proc_ctx;
struct conv_http;

/* NULL when the worker has no Convergence listener. */
struct conv_http *conv_http_new(struct proc_ctx *ctx);
int               conv_http_fd(const struct conv_http *ch);
/* Handle every ready event and every expired deadline. */
void              conv_http_run(struct conv_http *ch);
/* Milliseconds until conv_http_run must run again, or -1. */
int64_t           conv_http_next_ms(const struct conv_http *ch);
/* Graceful stop: accept nothing more. */
void              conv_http_drain(struct conv_http *ch);
/* Open connections. */
int               conv_http_busy(const struct conv_http *ch);
void              conv_http_free(struct conv_http *ch);

#endif
