/*
 * http_parser.c - HTTP/1.x request parser (RFC 9110, RFC 9112).
 *
 * Runs in the HTTP workers on untrusted bytes straight from the network.
 * The caller hands over everything received so far; we rescan it from the
 * start and answer "complete" (the request's length), "need more" (0) or
 * the error status to send before closing (negative).  The parser is pure:
 * no I/O, no allocation, no logging, no global state, so it can run on any
 * worker thread.
 *
 * How it fails: every problem becomes a negative HTTP status; nothing here
 * aborts, and no byte at or after buf[len] is ever read.  The request line
 * and header lines are scanned strictly left to right and each verdict
 * depends only on bytes already scanned (the limits on their position
 * alone), so a request split over several reads gets the same answer as
 * the whole: a prefix yields "need more" or the very same error, earlier.
 * That is what lets a worker reject an oversized or malformed request
 * before it has buffered all of it.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "common/util.h"
#include "server/http_parser.h"
#include "server/http_parser_impl.h"

static const struct {
	const char      *name;
	enum http_method method;
} known_methods[] = {
	{ "GET", HTTP_M_GET },
	{ "HEAD", HTTP_M_HEAD },
	{ "POST", HTTP_M_POST },
	{ "PUT", HTTP_M_PUT },
	{ "DELETE", HTTP_M_DELETE },
	{ "OPTIONS", HTTP_M_OPTIONS },
	{ "PATCH", HTTP_M_PATCH },
	{ "TRACE", HTTP_M_TRACE },
	{ "CONNECT", HTTP_M_CONNECT },
};

static int              is_tchar(unsigned char);
static int              is_method_char(unsigned char);
static int              is_target_char(unsigned char);
static int              is_field_value_char(unsigned char);
static unsigned char    ascii_lower(unsigned char);
static int              peek(const struct scanner *, size_t, unsigned char *);
static int              take_line_end(struct scanner *, int *);
static int              expect_line_end(struct scanner *);
static int              skip_leading_empty_lines(struct scanner *);
static enum http_method lookup_method(const char *, size_t);
static int              scan_method(struct scanner *, struct http_request *);
static int              scan_target(struct scanner *, struct http_request *);
static int              scan_version(struct scanner *, struct http_request *);
static int scan_request_line(struct scanner *, struct http_request *);
static int scan_header_field(struct scanner *, struct http_header *);
static int scan_header_lines(struct scanner *, struct http_request *, size_t);
static int take_body(struct http_request *, const char *, size_t, uint64_t);

/* RFC 9110 5.6.2 tchar: the characters of header names and methods. */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	switch (c) {
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '+':
	case '-':
	case '.':
	case '^':
	case '_':
	case '`':
	case '|':
	case '~':
		return (1);
	}
	return (0);
}

/*
 * Methods are case-sensitive tokens and every registered one is upper
 * case; a lower-case letter means a confused or hostile client (400),
 * while any other well-formed token is merely a method we lack (501).
 */
static int
is_method_char(unsigned char c)
{
	return (is_tchar(c) && !(c >= 'a' && c <= 'z'));
}

/* Visible ASCII; blanks, controls and 8-bit bytes never occur in URIs. */
static int
is_target_char(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e);
}

/* RFC 9110 5.5 field-vchar / SP / HTAB; obs-text is tolerated. */
static int
is_field_value_char(unsigned char c)
{
	return (c == '\t' || (c >= 0x20 && c != 0x7f));
}

int
hp_is_blank(unsigned char c)
{
	return (c == ' ' || c == '\t');
}

/* RFC 3986 unreserved / sub-delims: what a reg-name may hold unescaped. */
int
hp_is_regname_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return (1);
	switch (c) {
	case '-':
	case '.':
	case '_':
	case '~':
	case '!':
	case '$':
	case '&':
	case '\'':
	case '(':
	case ')':
	case '*':
	case '+':
	case ',':
	case ';':
	case '=':
		return (1);
	}
	return (0);
}

static unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c);
}

/* Does s[0..n) equal the NUL-terminated word, ignoring ASCII case? */
int
hp_same_ci(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (word[i] == '\0' ||
		    ascii_lower(s[i]) != ascii_lower(word[i]))
			return (0);
	}
	return (word[n] == '\0');
}

/*
 * Look at the byte `ahead` places past the cursor.  The size limit comes
 * first: a header section needing that byte is too large whatever the
 * byte is, so we can refuse before the client has even sent it.
 */
static int
peek(const struct scanner *s, size_t ahead, unsigned char *c)
{
	size_t at = s->pos + ahead;

	*c = 0;
	if (at >= s->limit)
		return (s->over_limit);
	if (at >= s->len)
		return (SCAN_MORE);
	*c = (unsigned char)s->buf[at];
	return (SCAN_OK);
}

/* Consume a line end (CRLF, or the bare LF we tolerate) if one is next. */
static int
take_line_end(struct scanner *s, int *taken)
{
	unsigned char c, next;
	int           r;

	*taken = 0;
	if ((r = peek(s, 0, &c)) != SCAN_OK)
		return (r);
	if (c == '\n') {
		s->pos++;
		*taken = 1;
		return (SCAN_OK);
	}
	if (c != '\r')
		return (SCAN_OK);
	if ((r = peek(s, 1, &next)) != SCAN_OK)
		return (r);
	/* A bare CR is read as a line end by some agents: smuggling risk. */
	if (next != '\n')
		return (-400);
	s->pos += 2;
	*taken = 1;
	return (SCAN_OK);
}

static int
expect_line_end(struct scanner *s)
{
	int r, taken;

	if ((r = take_line_end(s, &taken)) != SCAN_OK)
		return (r);
	return (taken ? SCAN_OK : -400);
}

/*
 * RFC 9112 2.2: a server should ignore empty lines before the request
 * line (clients add a CRLF after a POST body).  They count towards the
 * size limit, so an endless stream of them still gets refused.
 */
static int
skip_leading_empty_lines(struct scanner *s)
{
	int r, taken;

	do {
		if ((r = take_line_end(s, &taken)) != SCAN_OK)
			return (r);
	} while (taken);
	return (SCAN_OK);
}

static enum http_method
lookup_method(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(known_methods) / sizeof(known_methods[0]); i++) {
		if (strlen(known_methods[i].name) == len &&
		    memcmp(known_methods[i].name, name, len) == 0)
			return (known_methods[i].method);
	}
	return (HTTP_M_UNKNOWN);
}

/*
 * A non-empty run of characters of one class, then SP (not consumed).
 * A character outside the class (a second SP, HTTP/0.9's missing version)
 * is a 400.  *start gets the run's offset; SCAN_MORE when the buffer ends.
 */
static int
scan_run_to_sp(struct scanner *s, int (*in_class)(unsigned char), size_t *start)
{
	unsigned char c;
	int           r;

	*start = s->pos;
	for (;;) {
		if ((r = peek(s, 0, &c)) != SCAN_OK)
			return (r);
		if (c == ' ')
			break;
		if (!in_class(c))
			return (-400);
		s->pos++;
	}
	return (s->pos == *start ? -400 : SCAN_OK);
}

/* method SP */
static int
scan_method(struct scanner *s, struct http_request *req)
{
	size_t start;
	int    r;

	if ((r = scan_run_to_sp(s, is_method_char, &start)) != SCAN_OK)
		return (r);
	req->method_str = s->buf + start;
	req->method_len = s->pos - start;
	req->method = lookup_method(req->method_str, req->method_len);
	if (req->method == HTTP_M_UNKNOWN)
		return (-501);
	s->pos++;
	return (SCAN_OK);
}

/* request-target SP */
static int
scan_target(struct scanner *s, struct http_request *req)
{
	size_t start;
	int    r;

	if ((r = scan_run_to_sp(s, is_target_char, &start)) != SCAN_OK)
		return (r);
	req->target = s->buf + start;
	req->target_len = s->pos - start;
	if ((r = hp_split_target(req)) != SCAN_OK)
		return (r);
	s->pos++;
	return (SCAN_OK);
}

/*
 * "HTTP/" DIGIT "." DIGIT line-end.  The name is case-sensitive.  Only a
 * well-formed version we do not speak is 505; anything else is garbage.
 */
static int
scan_version(struct scanner *s, struct http_request *req)
{
	static const char name[] = "HTTP/";
	unsigned char     c, major, minor;
	size_t            i;
	int               r;

	for (i = 0; i < sizeof(name) - 1; i++) {
		if ((r = peek(s, 0, &c)) != SCAN_OK)
			return (r);
		if (c != (unsigned char)name[i])
			return (-400);
		s->pos++;
	}
	if ((r = peek(s, 0, &major)) != SCAN_OK)
		return (r);
	if (major < '0' || major > '9')
		return (-400);
	s->pos++;
	if ((r = peek(s, 0, &c)) != SCAN_OK)
		return (r);
	if (c != '.')
		return (-400);
	s->pos++;
	if ((r = peek(s, 0, &minor)) != SCAN_OK)
		return (r);
	if (minor < '0' || minor > '9')
		return (-400);
	s->pos++;
	if ((r = expect_line_end(s)) != SCAN_OK)
		return (r);
	if (major != '1' || minor > '1')
		return (-505);
	req->version_minor = minor - '0';
	return (SCAN_OK);
}

static int
scan_request_line(struct scanner *s, struct http_request *req)
{
	int r;

	if ((r = skip_leading_empty_lines(s)) != SCAN_OK)
		return (r);
	if ((r = scan_method(s, req)) != SCAN_OK)
		return (r);
	if ((r = scan_target(s, req)) != SCAN_OK)
		return (r);
	return (scan_version(s, req));
}

/* field-name ":" OWS field-value OWS line-end */
static int
scan_header_field(struct scanner *s, struct http_header *h)
{
	size_t        start = s->pos, value_end;
	unsigned char c;
	int           r;

	if ((r = peek(s, 0, &c)) != SCAN_OK)
		return (r);
	/*
	 * obs-fold (RFC 9112 5.2), or blanks after the request line (2.2):
	 * agents disagree on what they mean, so refuse rather than guess.
	 */
	if (hp_is_blank(c))
		return (-400);
	for (;;) {
		if ((r = peek(s, 0, &c)) != SCAN_OK)
			return (r);
		if (c == ':')
			break;
		/* Includes blanks before the colon (RFC 9112 5.1). */
		if (!is_tchar(c))
			return (-400);
		s->pos++;
	}
	if (s->pos == start)
		return (-400);
	h->name = s->buf + start;
	h->name_len = s->pos - start;
	s->pos++;

	for (;;) {
		if ((r = peek(s, 0, &c)) != SCAN_OK)
			return (r);
		if (!hp_is_blank(c))
			break;
		s->pos++;
	}
	h->value = s->buf + s->pos;
	value_end = s->pos;
	for (;;) {
		if ((r = peek(s, 0, &c)) != SCAN_OK)
			return (r);
		if (c == '\r' || c == '\n')
			break;
		/* NUL and other controls: truncation and injection tricks. */
		if (!is_field_value_char(c))
			return (-400);
		s->pos++;
		if (!hp_is_blank(c))
			value_end = s->pos;
	}
	h->value_len = (size_t)(s->buf + value_end - h->value);
	return (expect_line_end(s));
}

static int
scan_header_lines(
    struct scanner *s, struct http_request *req, size_t max_headers)
{
	int r, end;

	for (;;) {
		if ((r = take_line_end(s, &end)) != SCAN_OK)
			return (r);
		if (end)
			return (SCAN_OK);
		if (req->nheaders >= max_headers)
			return (-431);
		r = scan_header_field(s, &req->headers[req->nheaders]);
		if (r != SCAN_OK)
			return (r);
		req->nheaders++;
	}
}

/* The body follows the header section; wait until all of it is here. */
static int
take_body(
    struct http_request *req, const char *buf, size_t len, uint64_t length)
{
	size_t have = len - req->header_bytes;

	/* The length is returned as an int; a larger request is too large. */
	if (length > (uint64_t)(INT_MAX - req->header_bytes))
		return (-413);
	if (length > have)
		return (0);
	req->content_length = length;
	if (length > 0) {
		req->body = buf + req->header_bytes;
		req->body_len = (size_t)length;
	}
	req->total_bytes = req->header_bytes + (size_t)length;
	return ((int)req->total_bytes);
}

int
http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
    struct http_request *req)
{
	struct scanner      s;
	struct header_facts f;
	size_t              max_headers, i;
	int                 r;

	memset(req, 0, sizeof(*req));
	memset(&f, 0, sizeof(f));
	if (buf == NULL)
		len = 0;

	s.buf = buf;
	s.len = len;
	s.pos = 0;
	/* The header size must also fit the int we return. */
	s.limit = lim->max_request < INT_MAX ? lim->max_request : INT_MAX;
	s.over_limit = -414;
	if ((r = scan_request_line(&s, req)) != SCAN_OK)
		return (r == SCAN_MORE ? 0 : r);

	s.over_limit = -431;
	max_headers = lim->max_headers < HTTP_MAX_HEADERS_HARD
	    ? lim->max_headers
	    : HTTP_MAX_HEADERS_HARD;
	if ((r = scan_header_lines(&s, req, max_headers)) != SCAN_OK)
		return (r == SCAN_MORE ? 0 : r);
	req->header_bytes = s.pos;

	for (i = 0; i < req->nheaders; i++)
		hp_note_header(&f, req, &req->headers[i]);
	if ((r = hp_judge_headers(req, &f, lim)) != SCAN_OK)
		return (r);
	hp_apply_connection(req, &f);
	return (take_body(req, buf, len, f.has_length ? f.length : 0));
}

const struct http_header *
http_header_find(const struct http_request *req, const char *name)
{
	size_t i, name_len;

	if (req == NULL || name == NULL)
		return (NULL);
	name_len = strlen(name);
	for (i = 0; i < req->nheaders && i < HTTP_MAX_HEADERS_HARD; i++) {
		if (req->headers[i].name_len == name_len &&
		    hp_same_ci(req->headers[i].name, name_len, name))
			return (&req->headers[i]);
	}
	return (NULL);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100:
		return ("Continue");
	case 101:
		return ("Switching Protocols");
	case 200:
		return ("OK");
	case 204:
		return ("No Content");
	case 206:
		return ("Partial Content");
	case 301:
		return ("Moved Permanently");
	case 302:
		return ("Found");
	case 304:
		return ("Not Modified");
	case 400:
		return ("Bad Request");
	case 401:
		return ("Unauthorized");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 408:
		return ("Request Timeout");
	case 411:
		return ("Length Required");
	case 413:
		return ("Content Too Large");
	case 414:
		return ("URI Too Long");
	case 415:
		return ("Unsupported Media Type");
	case 421:
		return ("Misdirected Request");
	case 426:
		return ("Upgrade Required");
	case 429:
		return ("Too Many Requests");
	case 431:
		return ("Request Header Fields Too Large");
	case 500:
		return ("Internal Server Error");
	case 501:
		return ("Not Implemented");
	case 502:
		return ("Bad Gateway");
	case 503:
		return ("Service Unavailable");
	case 504:
		return ("Gateway Timeout");
	case 505:
		return ("HTTP Version Not Supported");
	}
	return ("Unknown");
}

/*
 * The result is always NUL-terminated (dst needs decoded length + 1), and
 * a NUL byte, escaped or raw, is refused: callers use the result as a C
 * string, where an embedded NUL would silently cut it short.
 */
long
http_urldecode(
    const char *src, size_t len, char *dst, size_t dstlen, int plus_space)
{
	size_t        i = 0, out = 0;
	unsigned char c;
	int           hi, lo;

	if (dst == NULL || dstlen == 0 || (src == NULL && len > 0))
		return (-1);
	while (i < len) {
		c = (unsigned char)src[i];
		if (c == '%') {
			if (len - i < 3 || (hi = util_hexval(src[i + 1])) < 0 ||
			    (lo = util_hexval(src[i + 2])) < 0)
				return (-1);
			c = (unsigned char)(hi << 4 | lo);
			i += 3;
		} else {
			if (c == '+' && plus_space)
				c = ' ';
			i++;
		}
		if (c == '\0' || out + 1 >= dstlen || out >= LONG_MAX)
			return (-1);
		dst[out++] = (char)c;
	}
	dst[out] = '\0';
	return ((long)out);
}
