/*
 * http_parser.h - HTTP/1.x request parser (pure: no I/O, no allocation).
 *
 * Runs in the HTTP workers on bytes straight from the network.  The caller
 * keeps the bytes received so far in one buffer and calls
 * http_parse_request() again after every read; the parser rescans from the
 * start (requests are bounded by http.max_request, so this is cheap) and
 * says "complete", "need more" or which error status to answer.  All
 * pointers in struct http_request point into the caller's buffer.
 *
 * Accepted: "METHOD SP request-target SP HTTP/1.x CRLF", header lines
 * "name: value CRLF" (bare LF line ends are tolerated like nginx does),
 * an empty line, then Content-Length bytes of body if any.  HTTP/1.0 needs
 * no Host; HTTP/1.1 without exactly one Host is 400.
 */
#ifndef NOTARYD_HTTP_PARSER_H
#define NOTARYD_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS_HARD 128 /* array size; config may lower it */

enum http_method {
	HTTP_M_UNKNOWN = 0,
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
	HTTP_M_PATCH,
	HTTP_M_TRACE,
	HTTP_M_CONNECT,
};

/* Method bit for route tables: HTTP_MBIT(HTTP_M_GET) | ... */
#define HTTP_MBIT(m) (1u << (m))

struct http_header {
	const char *name;
	size_t      name_len;
	const char *value; /* leading/trailing blanks trimmed */
	size_t      value_len;
};

struct http_limits {
	size_t max_request; /* request line + headers incl. CRLFs */
	size_t max_headers; /* <= HTTP_MAX_HEADERS_HARD */
	size_t max_body;
};

struct http_request {
	enum http_method method;
	const char      *method_str;
	size_t           method_len;
	const char      *target; /* raw request-target */
	size_t           target_len;
	const char      *path; /* target up to '?' (origin form) */
	size_t           path_len;
	const char      *query; /* after '?', or NULL if no '?' */
	size_t           query_len;
	int              version_minor; /* 0 or 1 (HTTP/1.x only) */
	int              keep_alive;    /* after Connection and version rules */
	int              upgrade; /* "Connection: upgrade" + Upgrade present */
	const char      *host;    /* Host header value or NULL */
	size_t           host_len;
	uint64_t         content_length;
	const char      *body; /* NULL when no body */
	size_t           body_len;
	size_t           nheaders;
	struct http_header headers[HTTP_MAX_HEADERS_HARD];
	size_t header_bytes; /* request line + headers + blank line */
	size_t total_bytes;  /* header_bytes + body */
};

/*
 * Parse one request at the start of buf[0..len).
 * Returns  > 0: complete; the request used that many bytes (total_bytes).
 *          0:   incomplete; read more (no limit exceeded so far).
 *          < 0: minus the HTTP status to answer before closing:
 *               -400 malformed (bad request line, bad header syntax,
 *                    missing/duplicate Host in 1.1, bad Content-Length,
 *                    both Content-Length and Transfer-Encoding,
 *                    control characters, obs-fold)
 *               -413 body larger than max_body
 *               -414 request line alone longer than max_request
 *               -431 header section larger than max_request, or more
 *                    than max_headers header lines
 *               -501 a method token that is not one of enum http_method,
 *                    or any Transfer-Encoding (only Content-Length bodies
 *                    are supported)
 *               -505 an HTTP version other than 1.0 / 1.1
 * The limits are checked as soon as they are exceeded, even while the
 * request is still incomplete, so a client cannot make the worker buffer
 * more than max_request + max_body bytes.
 */
int http_parse_request(const char *buf, size_t len,
    const struct http_limits *lim, struct http_request *req);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *
http_header_find(const struct http_request *req, const char *name);

/* The reason phrase of a status code ("Not Found"), or "Unknown". */
const char *http_reason(int status);

/*
 * Decode %XX escapes (and '+' as space when plus_space) from src into dst
 * (dstlen bytes).  Returns the decoded length, or -1 on a bad escape, an
 * encoded NUL, or when dst is too small.
 */
long http_urldecode(
    const char *src, size_t len, char *dst, size_t dstlen, int plus_space);

#endif
