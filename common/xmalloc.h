/*
 * xmalloc.h - checked allocation.  Every process uses these; on failure
 * they log once and abort (running out of memory is not recoverable in a
 * request path, and the master respawns the process).
 */
#ifndef NOTARYD_XMALLOC_H
#define NOTARYD_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
