/*
 * json.c - Go-compatible JSON string and number writer (every process
 * that emits certstream JSON; today ctwatch).  See json.h.  Pure: no
 * allocation besides the caller's bounded buffer, no logging.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

static const char hexdig[] = "0123456789abcdef";

/* 1 when the byte is written as it is. */
static int
plain_byte(unsigned char c, int html)
{
	if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
		return (0);
	if (html && (c == '<' || c == '>' || c == '&'))
		return (0);
	return (1);
}

/* Length of a valid UTF-8 sequence at s[0..n), or 0 when invalid (Go's
 * utf8.DecodeRune rules). cp receives the code point. */
static size_t
utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t   need, i;

	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		*cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		*cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		*cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (n < need)
		return (0);
	for (i = 1; i < need; i++) {
		if (s[i] < lo || s[i] > hi)
			return (0);
		lo = 0x80;
		hi = 0xbf;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return (need);
}

static int
put_escape(struct buf *b, unsigned char c)
{
	char e[6];

	switch (c) {
	case '"':
		return (buf_append(b, "\\\"", 2));
	case '\\':
		return (buf_append(b, "\\\\", 2));
	case '\b':
		return (buf_append(b, "\\b", 2));
	case '\f':
		return (buf_append(b, "\\f", 2));
	case '\n':
		return (buf_append(b, "\\n", 2));
	case '\r':
		return (buf_append(b, "\\r", 2));
	case '\t':
		return (buf_append(b, "\\t", 2));
	}
	e[0] = '\\';
	e[1] = 'u';
	e[2] = '0';
	e[3] = '0';
	e[4] = hexdig[c >> 4];
	e[5] = hexdig[c & 0xf];
	return (buf_append(b, e, 6));
}

int
json_str(struct buf *b, const char *s, size_t n, int html)
{
	if (buf_append(b, "\"", 1) == -1 || json_strbody(b, s, n, html) == -1)
		return (-1);
	return (buf_append(b, "\"", 1));
}

int
json_strbody(struct buf *b, const char *str, size_t n, int html)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t               i = 0, run, k;
	unsigned             cp;

	while (i < n) {
		run = i;
		while (run < n && plain_byte(s[run], html))
			run++;
		if (run > i && buf_append(b, s + i, run - i) == -1)
			return (-1);
		i = run;
		if (i >= n)
			break;
		if (s[i] < 0x80) {
			if (put_escape(b, s[i]) == -1)
				return (-1);
			i++;
			continue;
		}
		k = utf8_seq(s + i, n - i, &cp);
		if (k == 0) {
			if (buf_append(b, "\\ufffd", 6) == -1)
				return (-1);
			i++;
		} else if (cp == 0x2028 || cp == 0x2029) {
			if (buf_append(b, cp == 0x2028 ? "\\u2028" : "\\u2029",
			        6) == -1)
				return (-1);
			i += k;
		} else {
			if (buf_append(b, s + i, k) == -1)
				return (-1);
			i += k;
		}
	}
	return (0);
}

int
json_cstr(struct buf *b, const char *s, int html)
{
	if (s == NULL)
		return (buf_append(b, "null", 4));
	return (json_str(b, s, strlen(s), html));
}

int
json_u64(struct buf *b, uint64_t v)
{
	char   tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return (buf_append(b, tmp + i, sizeof(tmp) - i));
}

int
json_i64(struct buf *b, int64_t v)
{
	if (v < 0) {
		if (buf_append(b, "-", 1) == -1)
			return (-1);
		return (json_u64(b, (uint64_t)0 - (uint64_t)v));
	}
	return (json_u64(b, (uint64_t)v));
}

/*
 * Shortest digits: the fewest significant digits p whose correctly
 * rounded value reads back as v (Go's shortest formatting picks the
 * closest of the shortest, which is what %.*e rounding gives).  Fills
 * digits (no dot) and the decimal exponent of the first digit.
 */
static int
shortest_digits(double v, char *digits, size_t dlen, int *exp10)
{
	char   tmp[40], *e;
	int    p;
	size_t nd, i;

	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	e = strchr(tmp, 'e');
	if (e == NULL)
		return (-1);
	*exp10 = atoi(e + 1);
	nd = 0;
	for (i = 0; tmp + i < e && nd + 1 < dlen; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			digits[nd++] = tmp[i];
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	return (0);
}

static int
f64_slow(struct buf *b, double v)
{
	char   d[24], out[400];
	int    x, nd, i, o = 0;
	double a = fabs(v);

	if (v < 0)
		out[o++] = '-';
	if (shortest_digits(a, d, sizeof(d), &x) == -1)
		return (-1);
	nd = (int)strlen(d);
	if (a < 1e-6 || a >= 1e21) {
		/* Go: %e then "e-07" -> "e-7" */
		out[o++] = d[0];
		if (nd > 1) {
			out[o++] = '.';
			for (i = 1; i < nd; i++)
				out[o++] = d[i];
		}
		o += snprintf(out + o, sizeof(out) - (size_t)o, "e%c%d",
		    x < 0 ? '-' : '+', x < 0 ? -x : x);
		return (buf_append(b, out, (size_t)o));
	}
	if (x < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = 0; i < -x - 1; i++)
			out[o++] = '0';
		for (i = 0; i < nd; i++)
			out[o++] = d[i];
	} else {
		for (i = 0; i <= x; i++)
			out[o++] = i < nd ? d[i] : '0';
		if (nd > x + 1) {
			out[o++] = '.';
			for (i = x + 1; i < nd; i++)
				out[o++] = d[i];
		}
	}
	return (buf_append(b, out, (size_t)o));
}

int
json_f64(struct buf *b, double v)
{
	double   m;
	uint64_t mi, frac;
	char     tmp[8];
	int      n = 0;

	if (isnan(v) || isinf(v))
		return (-1);
	if (v == 0)
		return (buf_append(b, "0", 1));
	/*
	 * Fast path for millisecond values below 2^50 ms: the decimal
	 * ms/1000 reads back as v, and no decimal with fewer digits lies
	 * within half an ulp of it, so it is the shortest form.
	 */
	m = round(v * 1000.0);
	if (v >= 1e-3 && m < 1125899906842624.0 &&
	    (double)(uint64_t)m / 1000.0 == v) {
		mi = (uint64_t)m;
		if (json_u64(b, mi / 1000) == -1)
			return (-1);
		frac = mi % 1000;
		if (frac == 0)
			return (0);
		tmp[n++] = '.';
		tmp[n++] = (char)('0' + frac / 100);
		if (frac % 100 != 0) {
			tmp[n++] = (char)('0' + frac / 10 % 10);
			if (frac % 10 != 0)
				tmp[n++] = (char)('0' + frac % 10);
		}
		return (buf_append(b, tmp, (size_t)n));
	}
	return (f64_slow(b, v));
}

int
json_raw(struct buf *b, const char *s)
{
	return (buf_append(b, s, strlen(s)));
}
