/*
 * util.h - small helpers shared by all processes: clocks, fd flags,
 * bounded string formatting.
 */
#ifndef NOTARYD_UTIL_H
#define NOTARYD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in milliseconds: shared by all processes on the host. */
int64_t mono_ms(void);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t mono_ns(void);
/* Wall clock, unix seconds. */
int64_t wall_s(void);

/* Big-endian integers in byte buffers (database keys, wire formats). */
void     be32enc(uint8_t *p, uint32_t v);
uint32_t be32dec(const uint8_t *p);
void     be64enc(uint8_t *p, uint64_t v);
uint64_t be64dec(const uint8_t *p);

int fd_set_nonblock(int fd);
int fd_set_cloexec(int fd);

/*
 * snprintf that reports truncation: returns 0 when the whole string fit,
 * -1 when it was cut (the buffer still holds a terminated prefix).
 */
int xsnprintf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Write s into buf as a message quotes a user's value: in double quotes,
 * '"' and '\\' escaped, control bytes as \xNN, at most UTIL_QUOTE_SHOW
 * characters then "...".  len must be at least UTIL_QUOTE_SHOW + 16.
 */
#define UTIL_QUOTE_SHOW 60
void util_quote(char *buf, size_t len, const char *s);

/*
 * Decimal digits at s (at least one) as a uint64_t; *end is the first
 * byte after them.  0, or -1 on no digit or overflow.
 */
int util_parse_u64(const char *s, uint64_t *v, const char **end);

/* The value of one hex digit (either case), or -1. */
int util_hexval(int c);

#endif
