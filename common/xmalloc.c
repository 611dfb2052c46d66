/*
 * xmalloc.c - checked allocation (every process).  Failure is logged once
 * and aborts: the master respawns the process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"

void *
xmalloc(size_t size)
{
	void *p;

	if (size == 0)
		panicx("xmalloc: zero size");
	if ((p = malloc(size)) == NULL)
		panicx("xmalloc: out of memory allocating %zu bytes", size);
	return (p);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		panicx("xcalloc: zero size");
	if ((p = calloc(nmemb, size)) == NULL)
		panicx("xcalloc: out of memory allocating %zu * %zu bytes",
		    nmemb, size);
	return (p);
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		panicx("xreallocarray: zero size");
	if (nmemb > ((size_t)-1) / size)
		panicx("xreallocarray: %zu * %zu overflows", nmemb, size);
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		panicx(
		    "xreallocarray: out of memory allocating %zu * %zu bytes",
		    nmemb, size);
	return (p);
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		panicx("xstrdup: out of memory");
	return (p);
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if ((p = strndup(s, n)) == NULL)
		panicx("xstrndup: out of memory");
	return (p);
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char   *p;
	int     r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		panicx("xasprintf: out of memory");
	return (p);
}
