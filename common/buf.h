/*
 * buf.h - a growable byte buffer with a hard upper bound (every process).
 * Appending past the bound fails (returns -1) instead of growing, so an
 * input-driven buffer can never take more memory than its owner allows.
 * A refused append leaves the buffer as it was.
 */
#ifndef NOTARYD_BUF_H
#define NOTARYD_BUF_H

#include <stddef.h>

struct buf {
	char  *data;
	size_t len;
	size_t cap;
	size_t max; /* hard bound on len */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Make room for n more bytes; -1 when len + n would exceed max. */
int  buf_reserve(struct buf *b, size_t n);
int  buf_append(struct buf *b, const void *p, size_t n);
int  buf_puts(struct buf *b, const char *s);
int  buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s with &, <, >, ", ' escaped for HTML/XML text and attributes. */
int  buf_put_html(struct buf *b, const char *s, size_t n);
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);

#endif
