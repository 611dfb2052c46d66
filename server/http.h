/* http.h - an HTTP worker process (see http.c). */
#ifndef NOTARYD_HTTP_H
#define NOTARYD_HTTP_H

struct proc_ctx;

void	http_worker_main(struct proc_ctx *ctx) __attribute__((noreturn));

#endif
