/*
 * stream_filter.c - query parameters and per-entry filters of the CT
 * stream (see stream_filter.h).  Runs in the HTTP workers: parsing on
 * the request (untrusted: every length bounded, every byte checked),
 * matching in the fan-out for each frame a filtered client could get.
 */
#include <string.h>

#include "common/streamrec.h"
#include "common/util.h"
#include "server/stream_filter.h"

/* Percent-decode v[0..n) ('+' is a space) into out.  Length, or -2. */
static long
decode(const char *v, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	int    h, l;

	for (i = 0; i < n; i++) {
		char c = v[i];
		if (c == '%') {
			if (i + 2 >= n)
				return (-2);
			if ((h = util_hexval(v[i + 1])) < 0 ||
			    (l = util_hexval(v[i + 2])) < 0)
				return (-2);
			c = (char)(h << 4 | l);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (c == '\0' || o + 1 >= outlen)
			return (-2);
		out[o++] = c;
	}
	out[o] = '\0';
	return ((long)o);
}

long
stream_query_param(
    const char *q, size_t qlen, const char *name, char *out, size_t outlen)
{
	size_t a, b, e, nl = strlen(name);

	for (a = 0; a < qlen; a = b + 1) {
		for (b = a; b < qlen && q[b] != '&'; b++)
			;
		for (e = a; e < b && q[e] != '='; e++)
			;
		if (e - a != nl || memcmp(q + a, name, nl) != 0)
			continue;
		if (e == b)
			return (decode("", 0, out, outlen));
		return (decode(q + e + 1, b - e - 1, out, outlen));
	}
	return (-1);
}

/* One pattern: lowercase [a-z0-9-_.], optional leading "*.", no empty label. */
static int
pat_parse(const char *s, size_t n, struct stream_filter_pat *p)
{
	size_t i;

	p->wildcard = 0;
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		p->wildcard = 1;
		s += 2;
		n -= 2;
	}
	while (n > 0 && s[n - 1] == '.')
		n--; /* a trailing dot is the same name */
	if (n == 0 || n > STREAM_FILTER_NAME || s[0] == '.')
		return (-1);
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '_' || c == '.'))
			return (-1);
		if (c == '.' && s[i - 1] == '.')
			return (-1);
		p->name[i] = c;
	}
	p->name[n] = '\0';
	p->len = n;
	return (0);
}

static int
parse_domains(
    const char *v, size_t len, struct stream_filter *f, const char **why)
{
	size_t a, b;

	for (a = 0; a <= len; a = b + 1) {
		for (b = a; b < len && v[b] != ','; b++)
			;
		while (a < b && v[a] == ' ')
			a++;
		if (a == b)
			continue; /* empty item: tolerated */
		if (f->n == STREAM_FILTER_MAX) {
			*why = "too many domains (at most 32)";
			return (-1);
		}
		if (pat_parse(v + a, b - a, &f->pat[f->n]) == -1) {
			*why = "bad domain pattern (want example.com or "
			       "*.example.com)";
			return (-1);
		}
		f->n++;
	}
	if (f->n == 0) {
		*why = "domains= is empty";
		return (-1);
	}
	return (0);
}

int
stream_filter_parse(
    const char *q, size_t qlen, struct stream_filter *f, const char **why)
{
	char v[STREAM_QUERY_VALUE];
	long n;

	memset(f, 0, sizeof(*f));
	*why = NULL;
	n = stream_query_param(q, qlen, "domains", v, sizeof(v));
	if (n == -2) {
		*why = "domains= is malformed or too long";
		return (-1);
	}
	if (n >= 0 && parse_domains(v, (size_t)n, f, why) == -1)
		return (-1);
	n = stream_query_param(q, qlen, "type", v, sizeof(v));
	if (n == -2) {
		*why = "type= is malformed";
		return (-1);
	}
	if (n >= 0) {
		if (strcmp(v, "precert") == 0)
			f->types = STREAM_TYPE_PRECERT;
		else if (strcmp(v, "x509") == 0)
			f->types = STREAM_TYPE_X509;
		else {
			*why = "type= must be precert or x509";
			return (-1);
		}
	}
	return (0);
}

int
stream_seq_parse(const char *q, size_t qlen, int *on, const char **why)
{
	char v[8];
	long n;

	*on = 0;
	n = stream_query_param(q, qlen, "seq", v, sizeof(v));
	if (n == -1)
		return (0);
	if (n == 1 && (v[0] == '0' || v[0] == '1')) {
		*on = v[0] == '1';
		return (0);
	}
	*why = "seq= must be 0 or 1";
	return (-1);
}

int
stream_since_parse(
    const char *q, size_t qlen, int *set, uint64_t *since, const char **why)
{
	char     v[24];
	long     n, i;
	uint64_t x = 0;

	*set = 0;
	*since = 0;
	n = stream_query_param(q, qlen, "since", v, sizeof(v));
	if (n == -1)
		return (0);
	for (i = 0; i < n && n <= 20; i++) {
		if (v[i] < '0' || v[i] > '9' ||
		    x > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			break;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (n <= 0 || i != n) {
		*why = "since= must be a sequence number (digits)";
		return (-1);
	}
	*set = 1;
	*since = x;
	return (0);
}

int
stream_filter_active(const struct stream_filter *f)
{
	return (f != NULL && (f->types != 0 || f->n > 0));
}

static int
name_matches(const struct stream_filter_pat *p, const char *name, size_t n)
{
	if (n == p->len)
		return (!p->wildcard && memcmp(name, p->name, n) == 0);
	return (n > p->len && name[n - p->len - 1] == '.' &&
	    memcmp(name + n - p->len, p->name, p->len) == 0);
}

int
stream_filter_match(const struct stream_filter *f, uint32_t flags,
    const char *names, size_t len)
{
	const char *name;
	size_t      pos = 0, n, i;
	unsigned    t;

	if (f == NULL)
		return (1);
	if (f->types != 0) {
		t = (flags & STREAMREC_F_PRECERT) ? STREAM_TYPE_PRECERT
		                                  : STREAM_TYPE_X509;
		if (!(f->types & t))
			return (0);
	}
	if (f->n == 0)
		return (1);
	while ((name = streamrec_name_next(
	            (const uint8_t *)names, len, &pos)) != NULL) {
		n = strlen(name);
		for (i = 0; i < f->n; i++)
			if (name_matches(&f->pat[i], name, n))
				return (1);
	}
	return (0);
}
