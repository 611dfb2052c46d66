/*
 * util.c - clocks, fd flags and bounded formatting (every process).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

int64_t
mono_ms(void)
{
	return (mono_ns() / 1000000);
}

int64_t
wall_s(void)
{
	return ((int64_t)time(NULL));
}

void
be32enc(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
be32dec(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

void
be64enc(uint8_t *p, uint64_t v)
{
	be32enc(p, (uint32_t)(v >> 32));
	be32enc(p + 4, (uint32_t)v);
}

uint64_t
be64dec(const uint8_t *p)
{
	return ((uint64_t)be32dec(p) << 32 | be32dec(p + 4));
}

int
fd_set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ? -1 : 0);
}

int
fd_set_cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1 ? -1 : 0);
}

int
xsnprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int     r;

	va_start(ap, fmt);
	r = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= len)
		return (-1);
	return (0);
}

/* See util.h. */
/* s in double quotes, escaped, shortened: the value as the user wrote it. */
void
util_quote(char *buf, size_t len, const char *s)
{
	size_t o = 0, shown = 0;
	char   esc[8];

	if (len < UTIL_QUOTE_SHOW + 16)
		abort(); /* a programming error: see util.h */
	buf[o++] = '"';
	for (; *s != '\0' && shown < UTIL_QUOTE_SHOW; s++, shown++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < ' ' || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		if (o + strlen(esc) + 6 >= len)
			break;
		memcpy(buf + o, esc, strlen(esc));
		o += strlen(esc);
	}
	if (*s != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* See util.h. */
/* Decimal digits at s (at least one); *end is set past them. */
int
util_parse_u64(const char *s, uint64_t *v, const char **end)
{
	uint64_t n = 0;
	unsigned d;

	if (*s < '0' || *s > '9')
		return (-1);
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return (-1);
		n = n * 10 + d;
	}
	*v = n;
	*end = s;
	return (0);
}

/* See util.h. */
int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}
