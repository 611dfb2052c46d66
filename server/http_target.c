/*
 * http_target.c - the meaning of what the scanner found: the forms of the
 * request-target (RFC 9112 3.2: origin, absolute, authority, asterisk),
 * authorities and ports, and the header fields that change how a request
 * is read (Content-Length, Transfer-Encoding, Connection, Host).  Pure
 * functions of their input; every refusal is a status code and a reason.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "common/util.h"
#include "server/http_parser.h"
#include "server/http_parser_impl.h"

static void   split_path_query(struct http_request *, const char *, size_t);
static size_t scheme_prefix_len(const char *, size_t);
static int    split_absolute_form(struct http_request *);
static int    valid_authority(const char *, size_t, int);
static int    valid_port(const char *, size_t, int);
static int    parse_length(const char *, size_t, uint64_t *);
static void   note_length(struct header_facts *, const struct http_header *);
static void note_connection(struct header_facts *, const struct http_header *);

int
hp_split_target(struct http_request *req)
{
	const char *t = req->target;
	size_t      n = req->target_len;

	/* CONNECT takes authority-form and nothing else; it is the path. */
	if (req->method == HTTP_M_CONNECT) {
		if (!valid_authority(t, n, 1))
			return (-400);
		req->path = t;
		req->path_len = n;
		return (SCAN_OK);
	}
	if (t[0] == '/') {
		split_path_query(req, t, n);
		return (SCAN_OK);
	}
	if (n == 1 && t[0] == '*') {
		if (req->method != HTTP_M_OPTIONS)
			return (-400);
		req->path = t;
		req->path_len = n;
		return (SCAN_OK);
	}
	return (split_absolute_form(req));
}

/* Split at the first '?'; "/p?" has an empty query, "/p" has none. */
static void
split_path_query(struct http_request *req, const char *p, size_t n)
{
	const char *q;

	req->path = p;
	if ((q = memchr(p, '?', n)) == NULL) {
		req->path_len = n;
		req->query = NULL;
		req->query_len = 0;
		return;
	}
	req->path_len = (size_t)(q - p);
	req->query = q + 1;
	req->query_len = n - req->path_len - 1;
}

/* Length of a leading "http://" or "https://" (any case), else 0. */
static size_t
scheme_prefix_len(const char *t, size_t n)
{
	if (n >= 7 && hp_same_ci(t, 7, "http://"))
		return (7);
	if (n >= 8 && hp_same_ci(t, 8, "https://"))
		return (8);
	return (0);
}

/*
 * absolute-form: "http://authority/path?query", which proxies send and
 * origin servers must accept.  Routing only wants path and query.
 */
static int
split_absolute_form(struct http_request *req)
{
	const char *t = req->target, *auth, *rest;
	size_t      n = req->target_len, skip, auth_len;

	if ((skip = scheme_prefix_len(t, n)) == 0)
		return (-400);
	auth = t + skip;
	for (auth_len = 0; skip + auth_len < n; auth_len++) {
		if (auth[auth_len] == '/' || auth[auth_len] == '?')
			break;
	}
	/* Also refuses userinfo ("user@host"), as RFC 9110 4.2.4 advises. */
	if (!valid_authority(auth, auth_len, 0))
		return (-400);
	rest = auth + auth_len;
	if (skip + auth_len < n && *rest == '/') {
		split_path_query(req, rest, n - skip - auth_len);
		return (SCAN_OK);
	}
	/*
	 * No path means "/" (RFC 9112 3.2.1).  Borrow the last '/' of "://"
	 * so that every pointer still lies inside the caller's buffer.
	 */
	req->path = auth - 1;
	req->path_len = 1;
	if (skip + auth_len < n) {
		req->query = rest + 1;
		req->query_len = n - skip - auth_len - 1;
	}
	return (SCAN_OK);
}

/*
 * RFC 3986 authority without userinfo: reg-name or "[IP-literal]",
 * then ":port" (required for CONNECT).  Host headers are held to the
 * same grammar: RFC 9112 3.2 makes an invalid Host value a 400.
 */
static int
valid_authority(const char *a, size_t n, int need_port)
{
	size_t i = 0, start;

	if (n == 0)
		return (0);
	if (a[0] == '[') {
		for (i = 1; i < n && a[i] != ']'; i++) {
			if (!hp_is_regname_char(a[i]) && a[i] != ':')
				return (0);
		}
		if (i == n || i == 1)
			return (0);
		i++;
	} else {
		start = i;
		while (i < n && a[i] != ':') {
			if (a[i] == '%') {
				if (n - i < 3 || util_hexval(a[i + 1]) < 0 ||
				    util_hexval(a[i + 2]) < 0)
					return (0);
				i += 3;
			} else if (hp_is_regname_char(a[i]))
				i++;
			else
				return (0);
		}
		if (i == start)
			return (0);
	}
	if (i == n)
		return (!need_port);
	if (a[i] != ':')
		return (0);
	return (valid_port(a + i + 1, n - i - 1, need_port));
}

/* RFC 3986 allows an empty port; CONNECT needs a real one. */
static int
valid_port(const char *p, size_t n, int need_port)
{
	unsigned long port = 0;
	size_t        i;

	if (n == 0)
		return (!need_port);
	if (n > 5)
		return (0);
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (0);
		port = port * 10 + (unsigned long)(p[i] - '0');
	}
	return (port <= 65535);
}

/* 1*DIGIT without sign, blanks or lists; overflow is malformed. */
static int
parse_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t val = 0;
	unsigned d;
	size_t   i;

	if (n == 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return (-1);
		d = (unsigned)(v[i] - '0');
		if (val > (UINT64_MAX - d) / 10)
			return (-1);
		val = val * 10 + d;
	}
	*out = val;
	return (0);
}

/*
 * Repeated Content-Length lines are tolerated only when they agree
 * (RFC 9110 8.6); disagreeing ones are the classic smuggling vector.
 */
static void
note_length(struct header_facts *f, const struct http_header *h)
{
	uint64_t val;

	if (parse_length(h->value, h->value_len, &val) == -1) {
		f->length_bad = 1;
		return;
	}
	if (f->has_length && val != f->length)
		f->length_bad = 1;
	f->has_length = 1;
	f->length = val;
}

/* Connection is a comma-separated token list; look for the ones we act on. */
static void
note_connection(struct header_facts *f, const struct http_header *h)
{
	const char *v = h->value, *tok;
	size_t      n = h->value_len, i = 0, tok_len;

	while (i < n) {
		while (i < n && (hp_is_blank(v[i]) || v[i] == ','))
			i++;
		tok = v + i;
		while (i < n && v[i] != ',')
			i++;
		tok_len = (size_t)(v + i - tok);
		while (tok_len > 0 && hp_is_blank(tok[tok_len - 1]))
			tok_len--;
		if (hp_same_ci(tok, tok_len, "close"))
			f->conn_close = 1;
		else if (hp_same_ci(tok, tok_len, "keep-alive"))
			f->conn_keep_alive = 1;
		else if (hp_same_ci(tok, tok_len, "upgrade"))
			f->conn_upgrade = 1;
	}
}

void
hp_note_header(struct header_facts *f, struct http_request *req,
    const struct http_header *h)
{
	if (hp_same_ci(h->name, h->name_len, "host")) {
		/* Empty is legal: the target may carry no authority. */
		if (h->value_len > 0 &&
		    !valid_authority(h->value, h->value_len, 0))
			f->host_bad = 1;
		if (f->nhost++ == 0) {
			req->host = h->value;
			req->host_len = h->value_len;
		}
	} else if (hp_same_ci(h->name, h->name_len, "content-length"))
		note_length(f, h);
	else if (hp_same_ci(h->name, h->name_len, "transfer-encoding"))
		f->has_te = 1;
	else if (hp_same_ci(h->name, h->name_len, "connection"))
		note_connection(f, h);
	else if (hp_same_ci(h->name, h->name_len, "upgrade"))
		f->has_upgrade = 1;
}

/*
 * Verdicts that need the whole header section.  They wait for its end
 * because a later line can change them (Content-Length after
 * Transfer-Encoding turns 501 into 400).
 */
int
hp_judge_headers(const struct http_request *req, const struct header_facts *f,
    const struct http_limits *lim)
{
	if (f->nhost > 1 || f->host_bad)
		return (-400);
	if (f->nhost == 0 && req->version_minor == 1)
		return (-400);
	if (f->length_bad)
		return (-400);
	/* Which one frames the body depends on the agent: smuggling. */
	if (f->has_te && f->has_length)
		return (-400);
	if (f->has_te)
		return (-501);
	if (f->has_length && f->length > lim->max_body)
		return (-413);
	return (SCAN_OK);
}

void
hp_apply_connection(struct http_request *req, const struct header_facts *f)
{
	if (req->version_minor == 1)
		req->keep_alive = !f->conn_close;
	else
		req->keep_alive = f->conn_keep_alive && !f->conn_close;
	req->upgrade = f->conn_upgrade && f->has_upgrade;
}
