/* scanner.h - a scanner process (see scanner.c). */
#ifndef NOTARYD_SCANNER_H
#define NOTARYD_SCANNER_H

struct proc_ctx;

void	scanner_main(struct proc_ctx *ctx) __attribute__((noreturn));

#endif
