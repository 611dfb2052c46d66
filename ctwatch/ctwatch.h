/* ctwatch.h - the CT-log watcher process (see ctwatch.c). */
#ifndef NOTARYD_CTWATCH_H
#define NOTARYD_CTWATCH_H

struct proc_ctx;

void	ctwatch_main(struct proc_ctx *ctx) __attribute__((noreturn));

#endif
