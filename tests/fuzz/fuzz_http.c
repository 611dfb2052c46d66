/*
 * fuzz_http.c - libFuzzer harness for the HTTP request parser
 * (server/http_parser.h): the input is what a client sent on one
 * connection; requests are parsed one after the other as a worker does with
 * pipelining, and each complete one has its target decoded.  Checked: every
 * pointer and length stays inside the input, a complete request is at
 * least its header section, an error is one of the documented statuses.
 */
#include <string.h>

#include "server/http_parser.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_PIPELINE	64

static void	check_request(const char *, size_t, const struct http_request *,
		    int);

/* A complete request: its pieces are inside buf[0..len). */
static void
check_request(const char *buf, size_t len, const struct http_request *req,
    int rv)
{
	char	dst[8192];
	size_t	i;

#define INSIDE(p, n)	((p) >= buf && (n) <= len && (size_t)((p) - buf) <= len - (n))
	FUZZ_CHECK((size_t)rv == req->total_bytes && req->total_bytes <= len);
	FUZZ_CHECK(req->header_bytes <= req->total_bytes);
	FUZZ_CHECK(INSIDE(req->method_str, req->method_len));
	FUZZ_CHECK(INSIDE(req->target, req->target_len));
	FUZZ_CHECK(INSIDE(req->path, req->path_len));
	FUZZ_CHECK(req->query == NULL || INSIDE(req->query, req->query_len));
	FUZZ_CHECK(req->host == NULL || INSIDE(req->host, req->host_len));
	FUZZ_CHECK(req->body == NULL || (INSIDE(req->body, req->body_len) &&
	    req->body_len == req->content_length));
	FUZZ_CHECK(req->version_minor == 0 || req->version_minor == 1);
	FUZZ_CHECK(req->nheaders <= HTTP_MAX_HEADERS_HARD);
	for (i = 0; i < req->nheaders; i++) {
		FUZZ_CHECK(INSIDE(req->headers[i].name,
		    req->headers[i].name_len));
		FUZZ_CHECK(INSIDE(req->headers[i].value,
		    req->headers[i].value_len));
	}
#undef INSIDE
	(void)http_header_find(req, "Host");
	(void)http_header_find(req, "content-length");
	(void)http_urldecode(req->path, req->path_len, dst, sizeof(dst), 0);
	if (req->query != NULL)
		(void)http_urldecode(req->query, req->query_len, dst,
		    sizeof(dst), 1);
	/* a small destination: the decoder must refuse, not overflow */
	(void)http_urldecode(req->target, req->target_len, dst, 3, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the defaults of http.max_request, http.max_headers, http.max_body */
	static const struct http_limits lim = { 8192, 64, 16384 };
	static struct http_request req;
	const char	*buf = (const char *)data;
	size_t		 off = 0;
	int		 rv, n;

	for (n = 0; n < FUZZ_MAX_PIPELINE && off < size; n++) {
		rv = http_parse_request(buf + off, size - off, &lim, &req);
		if (rv <= 0) {
			FUZZ_CHECK(rv == 0 || rv == -400 || rv == -413 ||
			    rv == -414 || rv == -431 || rv == -501 ||
			    rv == -505);
			FUZZ_CHECK(strcmp(http_reason(-rv), "Unknown") != 0 ||
			    rv == 0);
			break;
		}
		check_request(buf + off, size - off, &req, rv);
		off += (size_t)rv;
	}
	return (0);
}
