/* recover.h - the Berkeley DB recovery helper process (see recover.c). */
#ifndef NOTARYD_RECOVER_H
#define NOTARYD_RECOVER_H

struct proc_ctx;

void	recover_main(struct proc_ctx *ctx) __attribute__((noreturn));

#endif
