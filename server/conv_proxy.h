/*
 * conv_proxy.h - the Convergence CONNECT-only bounce relay
 * (convergence.proxy_listen, spec §5) inside an HTTP worker.
 *
 * Like conv_http.h, the worker's loop sees one epoll descriptor; when it
 * is readable, or when conv_proxy_next_ms says so, it calls
 * conv_proxy_run.
 */
#ifndef NOTARYD_CONV_PROXY_H
#define NOTARYD_CONV_PROXY_H

#include <stdint.h>

struct proc_ctx;
struct conv_proxy;
struct status_http;

/*
 * NULL when the worker has no relay listener (or it cannot start).  slot
 * is the worker's in the status table: without one (NULL) every tunnel
 * is refused, as it could not be counted.
 */
struct conv_proxy         *
conv_proxy_new(struct proc_ctx *ctx, struct status_http *slot);
int     conv_proxy_fd(const struct conv_proxy *p);
void    conv_proxy_run(struct conv_proxy *p);
int64_t conv_proxy_next_ms(const struct conv_proxy *p);
void    conv_proxy_drain(struct conv_proxy *p);
int     conv_proxy_busy(const struct conv_proxy *p);
void    conv_proxy_free(struct conv_proxy *p);

#endif
