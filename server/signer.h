/* signer.h - the signer process (see signer.c). */
#ifndef NOTARYD_SIGNER_H
#define NOTARYD_SIGNER_H

struct proc_ctx;

void	signer_main(struct proc_ctx *ctx) __attribute__((noreturn));

#endif
