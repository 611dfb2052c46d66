/*
 * ct_fields.c - the scalar LEAF fields from raw DER (ctwatch process):
 * serial_number as GO's formatSerialNumber prints a big.Int, not_before /
 * not_after as Unix seconds (UTCTime and GeneralizedTime as Go's asn1
 * accepts them), and the subject/issuer SUBJ objects with aggregated.
 * Attribute values are taken as Go's asn1 takes them into a string:
 * UTF8String, PrintableString, IA5String, NumericString as bytes (the JSON
 * writer replaces invalid UTF-8), T61String as Latin-1, BMPString as
 * UTF-16; other types are skipped.  Pure; -1 on malformed DER.
 */
#include <string.h>

#include "common/json.h"
#include "ctwatch/ct_cert.h"

#define MAX_ATTRS 256

static const char HEXU[] = "0123456789ABCDEF";

int
ct_put_serial(struct buf *b, const struct ct_der *serial)
{
	uint8_t mag[64];
	char    hx[2 * 64 + 1], out[2 * 64 + 5];
	size_t  n = serial->len, i, h = 0, o = 0;
	int     neg, carry = 1;

	if (n == 0 || n > sizeof(mag))
		return (-1);
	neg = serial->val[0] & 0x80;
	memcpy(mag, serial->val, n);
	if (neg) { /* two's complement magnitude */
		for (i = n; i-- > 0;) {
			mag[i] = (uint8_t)~mag[i];
			if (carry)
				carry = ++mag[i] == 0;
		}
	}
	for (i = 0; i < n && mag[i] == 0; i++)
		;
	if (i == n)
		hx[h++] = '0';
	for (; i < n; i++) {
		if (h > 0 || mag[i] >= 0x10)
			hx[h++] = HEXU[mag[i] >> 4];
		hx[h++] = HEXU[mag[i] & 0xf];
	}
	out[o++] = '"';
	if ((h + (neg ? 1 : 0)) % 2 == 1) /* Go pads "%X" to even */
		out[o++] = '0';
	if (neg)
		out[o++] = '-';
	memcpy(out + o, hx, h);
	o += h;
	out[o++] = '"';
	return (buf_append(b, out, o));
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t  era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + (int64_t)doe - 719468);
}

static int
digits(const uint8_t *p, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		*v = *v * 10 + (p[i] - '0');
	}
	return (0);
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);
	return (dm[m - 1]);
}

/* "Z" or "+hhmm"/"-hhmm" at p[0..n): offset in seconds. */
static int
zone(const uint8_t *p, size_t n, int64_t *off)
{
	int hh, mm;

	if (n == 1 && p[0] == 'Z') {
		*off = 0;
		return (0);
	}
	if (n != 5 || (p[0] != '+' && p[0] != '-') ||
	    digits(p + 1, 2, &hh) == -1 || digits(p + 3, 2, &mm) == -1 ||
	    hh > 23 || mm > 59)
		return (-1);
	*off = (int64_t)(hh * 3600 + mm * 60) * (p[0] == '-' ? -1 : 1);
	return (0);
}

int
ct_put_time(struct buf *b, const struct ct_der *t)
{
	const uint8_t *p = t->val;
	size_t         n = t->len, k;
	int            y, mo, d, h, mi, s = 0;
	int64_t        off;

	if (t->tag == 0x17) { /* UTCTime */
		if (n < 11 || digits(p, 2, &y) == -1)
			return (-1);
		y += y < 50 ? 2000 : 1900;
		p += 2;
		n -= 2;
	} else if (t->tag == 0x18) { /* GeneralizedTime */
		if (n < 15 || digits(p, 4, &y) == -1)
			return (-1);
		p += 4;
		n -= 4;
	} else
		return (-1);
	if (digits(p, 2, &mo) == -1 || digits(p + 2, 2, &d) == -1 ||
	    digits(p + 4, 2, &h) == -1 || digits(p + 6, 2, &mi) == -1)
		return (-1);
	p += 8;
	n -= 8;
	if (n >= 3 && p[0] >= '0' && p[0] <= '9') {
		if (digits(p, 2, &s) == -1)
			return (-1);
		p += 2;
		n -= 2;
	} else if (t->tag == 0x18)
		return (-1);
	if (t->tag == 0x18 && n > 1 && p[0] == '.') { /* fraction */
		for (k = 1; k < n && p[k] >= '0' && p[k] <= '9'; k++)
			;
		if (k == 1)
			return (-1);
		p += k;
		n -= k;
	}
	if (zone(p, n, &off) == -1 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
		return (-1);
	return (json_i64(b,
	    days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
	        mi * 60 + s - off));
}

/* ---- names ----------------------------------------------------------- */

enum { F_C, F_CN, F_L, F_O, F_OU, F_ST, NF };
static const char *const fopen_[NF] = { "\"C\":\"", ",\"CN\":\"", ",\"L\":\"",
	",\"O\":\"", ",\"OU\":\"", ",\"ST\":\"" };
static const char *const fagg[NF] = {
	"/C=", "/CN=", "/L=", "/O=", "/OU=", "/ST="
};

struct attr {
	int            f;
	unsigned       tag;
	const uint8_t *v;
	size_t         len;
};

/* 2.5.4.x -> field, or -1. */
static int
attr_field(const struct ct_der *oid)
{
	if (oid->len != 3 || oid->val[0] != 0x55 || oid->val[1] != 0x04)
		return (-1);
	switch (oid->val[2]) {
	case 3:
		return (F_CN);
	case 6:
		return (F_C);
	case 7:
		return (F_L);
	case 8:
		return (F_ST);
	case 10:
		return (F_O);
	case 11:
		return (F_OU);
	}
	return (-1);
}

/* The attributes of interest with a string value, in DN order. */
static int
name_attrs(const struct ct_der *name, struct attr *a, size_t *na)
{
	const uint8_t *p = name->val, *q, *r;
	size_t         left = name->len, ql, rl;
	struct ct_der  set, atv, oid, val;
	int            f;

	*na = 0;
	while (left > 0) {
		if (ct_der_next(p, left, &set) == -1 || set.tag != 0x31)
			return (-1);
		p += set.total;
		left -= set.total;
		for (q = set.val, ql = set.len; ql > 0;) {
			if (ct_der_next(q, ql, &atv) == -1 || atv.tag != 0x30)
				return (-1);
			q += atv.total;
			ql -= atv.total;
			r = atv.val;
			rl = atv.len;
			if (ct_der_next(r, rl, &oid) == -1 || oid.tag != 0x06 ||
			    ct_der_next(r + oid.total, rl - oid.total, &val) ==
			        -1 ||
			    oid.total + val.total != rl)
				return (-1);
			if ((f = attr_field(&oid)) == -1)
				continue;
			switch (val.tag) {
			case 0x0c:
			case 0x13:
			case 0x16:
			case 0x12:
			case 0x14:
			case 0x1e:
				break;
			default:
				continue; /* not a Go string */
			}
			if (*na >= MAX_ATTRS)
				return (-1);
			a[*na] = (struct attr){ f, val.tag, val.val, val.len };
			(*na)++;
		}
	}
	return (0);
}

static int
put_utf8(struct buf *b, unsigned cp)
{
	uint8_t u[4];
	size_t  n;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | cp >> 18);
		u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return (buf_append(b, u, n));
}

/* An attribute value as UTF-8 bytes into tmp (T61: Latin-1; BMP:
 * UTF-16BE with bad surrogates as U+FFFD), or the raw bytes. */
static int
attr_utf8(const struct attr *a, struct buf *tmp, const char **s, size_t *n)
{
	size_t   i;
	unsigned c, c2;

	if (a->tag != 0x14 && a->tag != 0x1e) {
		*s = (const char *)a->v;
		*n = a->len;
		return (0);
	}
	buf_reset(tmp);
	if (a->tag == 0x1e && a->len % 2 != 0)
		return (-1);
	for (i = 0; i < a->len; i += (a->tag == 0x14 ? 1 : 2)) {
		if (a->tag == 0x14)
			c = a->v[i];
		else {
			c = (unsigned)a->v[i] << 8 | a->v[i + 1];
			if (c >= 0xd800 && c < 0xdc00 && i + 3 < a->len &&
			    (c2 = (unsigned)a->v[i + 2] << 8 | a->v[i + 3]) >=
			        0xdc00 &&
			    c2 < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (c2 - 0xdc00);
				i += 2;
			} else if (c >= 0xd800 && c < 0xe000)
				c = 0xfffd;
		}
		if (put_utf8(tmp, c) == -1)
			return (-1);
	}
	*s = tmp->data != NULL ? tmp->data : "";
	*n = tmp->len;
	return (0);
}

/* One field's values joined with ',' (escaped, no quotes); CN: the last
 * value only (Go's CommonName).  *found: values written. */
static int
put_field(struct buf *b, const struct attr *a, size_t na, int f,
    struct buf *tmp, int *found)
{
	const char *s;
	size_t      i, n, last = na;

	*found = 0;
	for (i = 0; i < na; i++) {
		if (a[i].f != f)
			continue;
		if (f == F_CN) {
			last = i;
			continue;
		}
		if ((*found > 0 && buf_append(b, ",", 1) == -1) ||
		    attr_utf8(&a[i], tmp, &s, &n) == -1 ||
		    json_strbody(b, s, n, 0) == -1)
			return (-1);
		(*found)++;
	}
	if (f == F_CN && last < na) {
		if (attr_utf8(&a[last], tmp, &s, &n) == -1 ||
		    json_strbody(b, s, n, 0) == -1)
			return (-1);
		*found = 1;
	}
	return (0);
}

int
ct_put_subject(struct buf *b, const struct ct_der *name)
{
	struct attr a[MAX_ATTRS];
	struct buf  tmp;
	size_t      na, off[NF], len[NF], i, quote;
	int         f, found, rc = -1;

	if (name_attrs(name, a, &na) == -1)
		return (-1);
	buf_init(&tmp, 1 << 20);
	if (buf_append(b, "{", 1) == -1)
		goto out;
	for (f = 0; f < NF; f++) {
		if (buf_puts(b, fopen_[f]) == -1)
			goto out;
		quote = b->len - 1;
		off[f] = b->len;
		if (put_field(b, a, na, f, &tmp, &found) == -1)
			goto out;
		len[f] = b->len - off[f];
		if (found == 0 && f != F_CN) {
			b->len = quote;
			off[f] = (size_t)-1;
			if (buf_append(b, "null", 4) == -1)
				goto out;
		} else if (buf_append(b, "\"", 1) == -1)
			goto out;
	}
	if (buf_puts(b, ",\"aggregated\":\"") == -1)
		goto out;
	for (i = 0; i < NF; i++) {
		if (off[i] == (size_t)-1)
			continue;
		if (buf_puts(b, fagg[i]) == -1 || buf_reserve(b, len[i]) == -1)
			goto out;
		memcpy(b->data + b->len, b->data + off[i], len[i]);
		b->len += len[i];
	}
	rc = buf_puts(b, "\",\"email_address\":null}");
out:
	buf_free(&tmp);
	return (rc);
}

int
ct_subject_cn(const struct ct_der *name, struct buf *out)
{
	struct attr a[MAX_ATTRS];
	size_t      na, i, n;
	const char *s;

	buf_reset(out);
	if (name_attrs(name, a, &na) == -1)
		return (-1);
	for (i = na; i-- > 0;) {
		if (a[i].f != F_CN)
			continue;
		if (a[i].tag == 0x14 || a[i].tag == 0x1e) {
			struct buf tmp;
			int        rc;

			buf_init(&tmp, 1 << 20);
			rc = attr_utf8(&a[i], &tmp, &s, &n);
			if (rc == 0)
				rc = buf_append(out, s, n);
			buf_free(&tmp);
			return (rc);
		}
		return (buf_append(out, a[i].v, a[i].len));
	}
	return (0);
}
