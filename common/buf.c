/*
 * buf.c - bounded growable byte buffers (every process).  See buf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t want, ncap;

	if (n > b->max || b->len > b->max - n)
		return (-1);
	want = b->len + n;
	if (want <= b->cap)
		return (0);
	ncap = b->cap ? b->cap : 256;
	while (ncap < want)
		ncap *= 2;
	if (ncap > b->max)
		ncap = b->max;
	b->data = xreallocarray(b->data, ncap, 1);
	b->cap = ncap;
	return (0);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return (0);
	if (buf_reserve(b, n) == -1)
		return (-1);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return (0);
}

int
buf_puts(struct buf *b, const char *s)
{
	return (buf_append(b, s, strlen(s)));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char   *tmp;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return (-1);
	if (n == 0)
		return (0);
	/* The NUL vsnprintf writes is not content: it may not fit at max. */
	if (b->cap - b->len > (size_t)n) {
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	} else {
		tmp = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(tmp, (size_t)n + 1, fmt, ap);
		va_end(ap);
		memcpy(b->data + b->len, tmp, (size_t)n);
		free(tmp);
	}
	b->len += (size_t)n;
	return (0);
}

int
buf_put_html(struct buf *b, const char *s, size_t n)
{
	size_t i, old = b->len;
	int    r = 0;

	for (i = 0; i < n && r == 0; i++) {
		switch (s[i]) {
		case '&':
			r = buf_puts(b, "&amp;");
			break;
		case '<':
			r = buf_puts(b, "&lt;");
			break;
		case '>':
			r = buf_puts(b, "&gt;");
			break;
		case '"':
			r = buf_puts(b, "&quot;");
			break;
		case '\'':
			r = buf_puts(b, "&#39;");
			break;
		default:
			r = buf_append(b, &s[i], 1);
		}
	}
	if (r == -1)
		b->len = old; /* all or nothing, as every other append */
	return (r);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
