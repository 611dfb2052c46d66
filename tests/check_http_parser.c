/*
 * check_http_parser.c - unit tests for server/http_parser.c.
 *
 * The core is a table of raw requests with the expected verdict and, for
 * good ones, the expected fields.  Every row is parsed whole and then fed
 * byte by byte (every prefix), each time from a heap copy of exactly the
 * bytes offered, so valgrind or ASan flags any read past len.  A seeded
 * mutation test then throws a few thousand damaged requests at the parser.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_parser.h"
#include "tests/testutil.h"

#define NELEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define FULL		INT_MAX	/* complete, using every byte of the row */

/* Small limits so that the table can reach all of them. */
static const struct http_limits table_limits = {
	.max_request = 128,
	.max_headers = 6,
	.max_body = 16,
};

struct row {
	const char		*name;
	const char		*raw;
	size_t			 rawlen;
	int			 want;		/* -status, 0, FULL or length */
	enum http_method	 method;
	const char		*path;
	const char		*query;		/* NULL: no '?' at all */
	int			 minor;
	int			 keep_alive;
	const char		*host;		/* NULL: no Host header */
	const char		*body;		/* NULL: no body */
};

#define ROW_OK(nm, raw, m, p, q, mi, ka, h, b) \
	{ nm, raw, sizeof(raw) - 1, FULL, m, p, q, mi, ka, h, b }
#define ROW_LEN(nm, raw, len, m, p, q, mi, ka, h, b) \
	{ nm, raw, sizeof(raw) - 1, len, m, p, q, mi, ka, h, b }
#define ROW_ERR(nm, raw, st) \
	{ nm, raw, sizeof(raw) - 1, st, HTTP_M_UNKNOWN, NULL, NULL, 0, 0, \
	    NULL, NULL }

#define A2	"aa"
#define A4	A2 A2
#define A8	A4 A4
#define A16	A8 A8
#define A32	A16 A16
#define A64	A32 A32
#define A128	A64 A64
#define A110	A64 A32 A8 A4 A2	/* fills max_request exactly */

#define GET11(target)	"GET " target " HTTP/1.1\r\nHost: h\r\n"
#define FIRST_OF_PIPE	"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
#define SIX_HEADERS	"Host: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n"

static const struct row rows[] = {
	/* ---- good requests ---- */
	ROW_OK("simple GET", GET11("/") "\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("host with name", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "example.com", NULL),
	ROW_OK("query", GET11("/a/b?x=1&y=2") "\r\n",
	    HTTP_M_GET, "/a/b", "x=1&y=2", 1, 1, "h", NULL),
	ROW_OK("trailing ? gives empty query", GET11("/search?") "\r\n",
	    HTTP_M_GET, "/search", "", 1, 1, "h", NULL),
	ROW_OK("split at first ?", GET11("/a?b?c") "\r\n",
	    HTTP_M_GET, "/a", "b?c", 1, 1, "h", NULL),
	ROW_OK("escapes kept raw", GET11("/a%20b?q=%41") "\r\n",
	    HTTP_M_GET, "/a%20b", "q=%41", 1, 1, "h", NULL),
	ROW_OK("HEAD 1.0 without Host", "HEAD /index HTTP/1.0\r\n\r\n",
	    HTTP_M_HEAD, "/index", NULL, 0, 0, NULL, NULL),
	ROW_OK("1.0 with Host", "GET / HTTP/1.0\r\nHost: h\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 0, 0, "h", NULL),
	ROW_OK("1.0 keep-alive",
	    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 0, 1, NULL, NULL),
	ROW_OK("1.0 Keep-Alive any case",
	    "GET / HTTP/1.0\r\nconnection: Keep-ALIVE\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 0, 1, NULL, NULL),
	ROW_OK("1.0 close beats keep-alive",
	    "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 0, 0, NULL, NULL),
	ROW_OK("1.0 other token stays closed",
	    "GET / HTTP/1.0\r\nConnection: keep-alives\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 0, 0, NULL, NULL),
	ROW_OK("1.1 close", GET11("/") "Connection: close\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 0, "h", NULL),
	ROW_OK("1.1 CLOSE in a list",
	    GET11("/") "Connection: Upgrade, CLOSE\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 0, "h", NULL),
	ROW_OK("1.1 list with blanks",
	    GET11("/") "Connection: keep-alive ,\t close \t\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 0, "h", NULL),
	ROW_OK("1.1 empty list elements",
	    GET11("/") "Connection: ,, ,close,\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 0, "h", NULL),
	ROW_OK("1.1 Connection headers combine",
	    GET11("/") "Connection: foo\r\nConnection: close\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 0, "h", NULL),
	ROW_OK("1.1 closed is not close",
	    GET11("/") "Connection: closed\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("1.1 close inside a token",
	    GET11("/") "Connection: close-ish, x\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("POST with body",
	    "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"
	    "hello",
	    HTTP_M_POST, "/submit", NULL, 1, 1, "h", "hello"),
	ROW_OK("Content-Length 0 means no body",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
	    HTTP_M_POST, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("identical Content-Length lines",
	    "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	    "content-length: 3\r\n\r\nabc",
	    HTTP_M_PUT, "/x", NULL, 1, 1, "h", "abc"),
	ROW_OK("Content-Length leading zeros",
	    "PATCH /x HTTP/1.1\r\nHost: h\r\nContent-Length: 003\r\n\r\nabc",
	    HTTP_M_PATCH, "/x", NULL, 1, 1, "h", "abc"),
	ROW_OK("body of exactly max_body",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\n" A16,
	    HTTP_M_POST, "/", NULL, 1, 1, "h", A16),
	ROW_OK("body may hold NUL and CRLF",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n\0\r\n\001",
	    HTTP_M_POST, "/", NULL, 1, 1, "h", "\0\r\n\001"),
	ROW_OK("DELETE method", "DELETE /r/1 HTTP/1.1\r\nHost: h\r\n\r\n",
	    HTTP_M_DELETE, "/r/1", NULL, 1, 1, "h", NULL),
	ROW_OK("TRACE method", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n",
	    HTTP_M_TRACE, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("bare LF line ends", "GET /lf HTTP/1.1\nHost: h\n\n",
	    HTTP_M_GET, "/lf", NULL, 1, 1, "h", NULL),
	ROW_OK("mixed line ends", "GET / HTTP/1.1\r\nHost: h\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("leading CRLF skipped", "\r\n" GET11("/") "\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("several leading empty lines", "\n\r\n\n" GET11("/") "\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("absolute-form",
	    "GET http://example.com/a/b?c=d HTTP/1.1\r\n"
	    "Host: example.com\r\n\r\n",
	    HTTP_M_GET, "/a/b", "c=d", 1, 1, "example.com", NULL),
	ROW_OK("absolute-form without path",
	    "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "example.com", NULL),
	ROW_OK("absolute-form query without path",
	    "GET http://example.com?x HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    HTTP_M_GET, "/", "x", 1, 1, "example.com", NULL),
	ROW_OK("absolute-form https, case, port",
	    "GET HTTPS://Example.COM:8443/p HTTP/1.1\r\nHost: x\r\n\r\n",
	    HTTP_M_GET, "/p", NULL, 1, 1, "x", NULL),
	ROW_OK("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	    HTTP_M_OPTIONS, "*", NULL, 1, 1, "h", NULL),
	ROW_OK("CONNECT host:port",
	    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	    HTTP_M_CONNECT, "example.com:443", NULL, 1, 1, "example.com:443",
	    NULL),
	ROW_OK("CONNECT [v6]:port",
	    "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
	    HTTP_M_CONNECT, "[::1]:443", NULL, 1, 1, "[::1]:443", NULL),
	ROW_OK("value blanks trimmed",
	    "GET / HTTP/1.1\r\nHost: \t example.com \t \r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "example.com", NULL),
	ROW_OK("Host without blank", "GET / HTTP/1.1\r\nHost:h\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("empty Host is legal", "GET / HTTP/1.1\r\nHost:\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "", NULL),
	ROW_OK("Host with port",
	    "GET / HTTP/1.1\r\nHOST: example.com:8080\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "example.com:8080", NULL),
	ROW_OK("Host IPv6 literal",
	    "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "[::1]:8080", NULL),
	ROW_OK("empty value", GET11("/") "X-Empty:\r\nX-Blank:   \r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("obs-text in value", GET11("/") "X-L: caf\xc3\xa9\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("every tchar in a name",
	    GET11("/") "X-!#$%&'*+-.^_`|~09: v\r\n\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("exactly max_headers", "GET / HTTP/1.1\r\n" SIX_HEADERS "\r\n",
	    HTTP_M_GET, "/", NULL, 1, 1, "h", NULL),
	ROW_OK("header section of exactly max_request",
	    "GET /" A110 " HTTP/1.0\r\n\r\n",
	    HTTP_M_GET, "/" A110, NULL, 0, 0, NULL, NULL),
	ROW_LEN("pipelined: first request only",
	    FIRST_OF_PIPE "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
	    (int)sizeof(FIRST_OF_PIPE) - 1,
	    HTTP_M_GET, "/1", NULL, 1, 1, "h", NULL),
	ROW_LEN("pipelined: body ends the first",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET",
	    (int)sizeof("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2"
	    "\r\n\r\nok") - 1,
	    HTTP_M_POST, "/", NULL, 1, 1, "h", "ok"),
	ROW_LEN("pipelined: garbage after is not looked at",
	    FIRST_OF_PIPE "\0\001garbage",
	    (int)sizeof(FIRST_OF_PIPE) - 1,
	    HTTP_M_GET, "/1", NULL, 1, 1, "h", NULL),

	/* ---- incomplete ---- */
	ROW_ERR("no final empty line", GET11("/"), 0),
	ROW_ERR("body still short",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhel", 0),
	ROW_ERR("only leading empty lines", "\r\n\r\n\n", 0),
	ROW_ERR("CR awaiting its LF", GET11("/") "\r", 0),

	/* ---- request line ---- */
	ROW_ERR("lowercase method", "get / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("mixed case method", "Get / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("unknown method", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n", -501),
	ROW_ERR("unknown token method",
	    "M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n", -501),
	ROW_ERR("longer than a known method", "GETS / HTTP/1.1\r\n\r\n", -501),
	ROW_ERR("empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("method not a token",
	    "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("NUL in method", "GE\0T / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("tab separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("blank before version", "GET / \tHTTP/1.1\r\nHost: h\r\n\r\n",
	    -400),
	ROW_ERR("no target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("HTTP/0.9 style", "GET /\r\n\r\n", -400),
	ROW_ERR("DEL in target",
	    "GET /a\177 HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("8-bit in target",
	    "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("NUL in target", "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("* only for OPTIONS",
	    "GET * HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("*x is no target", "OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n",
	    -400),
	ROW_ERR("authority-form only for CONNECT",
	    "GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("CONNECT with origin-form",
	    "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("CONNECT without port",
	    "CONNECT example.com HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("CONNECT with bad port",
	    "CONNECT example.com:99999 HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("other scheme",
	    "GET ftp://x/ HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("empty authority", "GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n",
	    -400),
	ROW_ERR("userinfo",
	    "GET http://u@x/ HTTP/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", -505),
	ROW_ERR("HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", -505),
	ROW_ERR("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", -505),
	ROW_ERR("HTTP/1", "GET / HTTP/1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("HTTP/2", "GET / HTTP/2\r\n\r\n", -400),
	ROW_ERR("HTTP/11.1", "GET / HTTP/11.1\r\n\r\n", -400),
	ROW_ERR("HTTP/1.1x", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("lowercase http", "GET / http/1.1\r\nHost: h\r\n\r\n", -400),
	ROW_ERR("blank after version",
	    "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", -400),
	ROW_ERR("no version", "GET / \r\nHost: h\r\n\r\n", -400),
	ROW_ERR("bare CR ends request line", "GET / HTTP/1.1\rHost: h\r\n\r\n",
	    -400),
	ROW_ERR("bare CR before request line",
	    "\rGET / HTTP/1.1\r\n\r\n", -400),
	ROW_ERR("request line over max_request",
	    "GET /" A128 " HTTP/1.1\r\nHost: h\r\n\r\n", -414),
	ROW_ERR("endless request line", "GET /" A128, -414),
	ROW_ERR("endless empty lines count too",
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	    "\r\n", -414),

	/* ---- header lines ---- */
	ROW_ERR("header section over max_request",
	    GET11("/") "X-Long: " A128 "\r\n\r\n", -431),
	ROW_ERR("header section one byte over",
	    "GET /" A110 "a HTTP/1.0\r\n\r\n", -431),
	ROW_ERR("request line fills max_request",
	    "GET /" A110 "aa HTTP/1.1\r\nHost: h\r\n\r\n", -431),
	ROW_ERR("request line one byte over max_request",
	    "GET /" A110 "aaa HTTP/1.1\r\nHost: h\r\n\r\n", -414),
	ROW_ERR("endless header line", GET11("/") "X: " A128, -431),
	ROW_ERR("too many headers",
	    "GET / HTTP/1.1\r\n" SIX_HEADERS "F: 6\r\n\r\n", -431),
	ROW_ERR("obs-fold", GET11("/") "X-A: a\r\n  b\r\n\r\n", -400),
	ROW_ERR("obs-fold with tab", GET11("/") "X-A: a\r\n\tb\r\n\r\n", -400),
	ROW_ERR("blank line start after request line",
	    "GET / HTTP/1.1\r\n Host: h\r\n\r\n", -400),
	ROW_ERR("blank before colon",
	    "GET / HTTP/1.1\r\nHost : h\r\n\r\n", -400),
	ROW_ERR("no colon", GET11("/") "X-A\r\n\r\n", -400),
	ROW_ERR("empty name", GET11("/") ": v\r\n\r\n", -400),
	ROW_ERR("name not a token", GET11("/") "X(A): v\r\n\r\n", -400),
	ROW_ERR("NUL in name", GET11("/") "X\0A: v\r\n\r\n", -400),
	ROW_ERR("NUL in value", GET11("/") "X-A: a\0b\r\n\r\n", -400),
	ROW_ERR("CTL in value", GET11("/") "X-A: a\001b\r\n\r\n", -400),
	ROW_ERR("DEL in value", GET11("/") "X-A: a\177\r\n\r\n", -400),
	ROW_ERR("ESC in value", GET11("/") "X-A: \033[31m\r\n\r\n", -400),
	ROW_ERR("bare CR in value", GET11("/") "X-A: a\rb\r\n\r\n", -400),
	ROW_ERR("bare CR after headers", GET11("/") "\rX", -400),

	/* ---- Host ---- */
	ROW_ERR("1.1 without Host", "GET / HTTP/1.1\r\n\r\n", -400),
	ROW_ERR("1.1 with two Hosts",
	    "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", -400),
	ROW_ERR("1.0 with two Hosts",
	    "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", -400),
	ROW_ERR("Host with a path", "GET / HTTP/1.1\r\nHost: h/evil\r\n\r\n",
	    -400),
	ROW_ERR("Host with a blank",
	    "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -400),
	ROW_ERR("Host with userinfo",
	    "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", -400),

	/* ---- framing ---- */
	ROW_ERR("Content-Length negative",
	    GET11("/") "Content-Length: -1\r\n\r\n", -400),
	ROW_ERR("Content-Length signed",
	    GET11("/") "Content-Length: +5\r\n\r\n", -400),
	ROW_ERR("Content-Length trailing junk",
	    GET11("/") "Content-Length: 5a\r\n\r\n", -400),
	ROW_ERR("Content-Length hex", GET11("/") "Content-Length: 0x10\r\n\r\n",
	    -400),
	ROW_ERR("Content-Length empty", GET11("/") "Content-Length:\r\n\r\n",
	    -400),
	ROW_ERR("Content-Length inner blank",
	    GET11("/") "Content-Length: 1 2\r\n\r\n", -400),
	ROW_ERR("Content-Length list",
	    GET11("/") "Content-Length: 5, 5\r\n\r\n", -400),
	ROW_ERR("Content-Length overflows 64 bits",
	    GET11("/") "Content-Length: 18446744073709551616\r\n\r\n", -400),
	ROW_ERR("Content-Length conflicting",
	    GET11("/") "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	    -400),
	ROW_ERR("Content-Length huge", GET11("/")
	    "Content-Length: 18446744073709551615\r\n\r\n", -413),
	ROW_ERR("body over max_body, none sent",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n", -413),
	ROW_ERR("body over max_body, partly sent",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999\r\n\r\nabc",
	    -413),
	ROW_ERR("Transfer-Encoding",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
	    -501),
	ROW_ERR("Transfer-Encoding in 1.0",
	    "POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", -501),
	ROW_ERR("Transfer-Encoding then Content-Length",
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\nabc", -400),
	ROW_ERR("Content-Length then Transfer-Encoding",
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	    "transfer-encoding: chunked\r\n\r\nabc", -400),
};

static int
row_want(const struct row *r)
{
	return (r->want == FULL ? (int)r->rawlen : r->want);
}

/* A heap copy of exactly n bytes: valgrind/ASan catch reads past it. */
static char *
exact_copy(const char *raw, size_t n)
{
	char	*p;

	p = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(p);
	if (n > 0)
		memcpy(p, raw, n);
	return (p);
}

static int
parse_exact(const char *raw, size_t n, const struct http_limits *lim,
    struct http_request *req, char **copy)
{
	int	r;

	*copy = exact_copy(raw, n);
	r = http_parse_request(*copy, n, lim, req);
	return (r);
}

static int
inside(const char *buf, size_t len, const char *p, size_t n)
{
	uintptr_t	b = (uintptr_t)buf, q = (uintptr_t)p;

	if (p == NULL)
		return (n == 0);
	return (q >= b && n <= len && q - b <= len - n);
}

/* Every pointer of a complete request lies in the caller's buffer. */
static void
check_pointers(const char *buf, size_t len, const struct http_request *req)
{
	size_t	i;

	ck_assert(inside(buf, len, req->method_str, req->method_len));
	ck_assert(inside(buf, len, req->target, req->target_len));
	ck_assert(inside(buf, len, req->path, req->path_len));
	ck_assert(inside(buf, len, req->query, req->query_len));
	ck_assert(inside(buf, len, req->host, req->host_len));
	ck_assert(inside(buf, len, req->body, req->body_len));
	ck_assert_uint_le(req->nheaders, HTTP_MAX_HEADERS_HARD);
	for (i = 0; i < req->nheaders; i++) {
		ck_assert(inside(buf, len, req->headers[i].name,
		    req->headers[i].name_len));
		ck_assert(inside(buf, len, req->headers[i].value,
		    req->headers[i].value_len));
	}
	ck_assert_uint_le(req->header_bytes, req->total_bytes);
	ck_assert_uint_le(req->total_bytes, len);
}

static void
check_field(const char *what, const char *got, size_t got_len,
    const char *want, size_t want_len)
{
	if (want == NULL) {
		ck_assert_msg(got == NULL, "%s: want NULL, got \"%.*s\"",
		    what, (int)got_len, got);
		return;
	}
	ck_assert_msg(got != NULL, "%s: want \"%s\", got NULL", what, want);
	ck_assert_msg(got_len == want_len && memcmp(got, want, want_len) == 0,
	    "%s: want \"%s\", got \"%.*s\"", what, want, (int)got_len, got);
}

START_TEST(test_table_whole)
{
	const struct row	*r = &rows[_i];
	struct http_request	 req;
	char			*copy;
	int			 got;

	got = parse_exact(r->raw, r->rawlen, &table_limits, &req, &copy);
	ck_assert_msg(got == row_want(r), "%s: want %d, got %d", r->name,
	    row_want(r), got);
	if (got > 0) {
		check_pointers(copy, r->rawlen, &req);
		ck_assert_int_eq(req.method, r->method);
		ck_assert_int_eq(req.version_minor, r->minor);
		ck_assert_msg(req.keep_alive == r->keep_alive,
		    "%s: keep_alive %d", r->name, req.keep_alive);
		ck_assert_uint_eq(req.total_bytes, (size_t)got);
		check_field("path", req.path, req.path_len, r->path,
		    strlen(r->path));
		check_field("query", req.query, req.query_len, r->query,
		    r->query ? strlen(r->query) : 0);
		check_field("host", req.host, req.host_len, r->host,
		    r->host ? strlen(r->host) : 0);
		/* Bodies may hold NUL: their length is the Content-Length. */
		check_field("body", req.body, req.body_len, r->body,
		    (size_t)req.content_length);
		ck_assert_uint_eq(req.header_bytes + req.body_len,
		    req.total_bytes);
	}
	free(copy);
}
END_TEST

/*
 * The same rows arriving one byte at a time: a prefix may only say "need
 * more" or give the whole request's error early.
 */
START_TEST(test_table_split)
{
	const struct row	*r = &rows[_i];
	struct http_request	 req;
	char			*copy;
	size_t			 k;
	int			 want = row_want(r), got;

	for (k = 0; k <= r->rawlen; k++) {
		got = parse_exact(r->raw, k, &table_limits, &req, &copy);
		free(copy);
		if (want > 0 && k >= (size_t)want)
			ck_assert_msg(got == want, "%s: prefix %zu gave %d",
			    r->name, k, got);
		else if (k == r->rawlen)
			ck_assert_msg(got == want, "%s: whole gave %d",
			    r->name, got);
		else
			ck_assert_msg(got == 0 || (want < 0 && got == want),
			    "%s: prefix %zu gave %d, whole %d", r->name, k,
			    got, want);
	}
}
END_TEST

/* Three requests in one buffer, taken one after another by offset. */
START_TEST(test_pipeline)
{
	static const char	 stream[] =
	    "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /two?x HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n"
	    "payload"
	    "\r\n"		/* stray CRLF after a body, as old clients do */
	    "GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	static const char *const paths[] = { "/one", "/two", "/three" };
	struct http_request	 req;
	size_t			 off = 0, len = sizeof(stream) - 1, n;
	int			 got;

	for (n = 0; n < NELEMS(paths); n++) {
		got = http_parse_request(stream + off, len - off,
		    &table_limits, &req);
		ck_assert_int_gt(got, 0);
		check_field("path", req.path, req.path_len, paths[n],
		    strlen(paths[n]));
		if (n == 1) {
			ck_assert_int_eq(req.method, HTTP_M_POST);
			check_field("query", req.query, req.query_len, "x", 1);
			check_field("body", req.body, req.body_len, "payload",
			    7);
			ck_assert_uint_eq(req.content_length, 7);
		}
		ck_assert_int_eq(req.keep_alive, n < 2);
		off += (size_t)got;
	}
	ck_assert_uint_eq(off, len);
	ck_assert_int_eq(http_parse_request(stream + off, 0, &table_limits,
	    &req), 0);
}
END_TEST

START_TEST(test_sizes)
{
	static const char	 raw[] = "\r\nPOST /p HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 4\r\n\r\nbody";
	struct http_request	 req;

	ck_assert_int_eq(http_parse_request(raw, sizeof(raw) - 1,
	    &table_limits, &req), (int)sizeof(raw) - 1);
	/* Skipped empty lines count, so the caller can step past them. */
	ck_assert_uint_eq(req.header_bytes, sizeof(raw) - 1 - 4);
	ck_assert_uint_eq(req.total_bytes, sizeof(raw) - 1);
	ck_assert_uint_eq(req.content_length, 4);
	ck_assert_uint_eq(req.nheaders, 2);
	ck_assert_uint_eq(req.method_len, 4);
	ck_assert(memcmp(req.method_str, "POST", 4) == 0);
	ck_assert_uint_eq(req.target_len, 2);
	ck_assert_int_eq(req.upgrade, 0);
}
END_TEST

START_TEST(test_upgrade)
{
	static const char	*const yes =
	    "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n";
	static const char	*const no_header =
	    "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n";
	static const char	*const no_token =
	    "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n";
	struct http_request	 req;

	ck_assert_int_gt(http_parse_request(yes, strlen(yes), &table_limits,
	    &req), 0);
	ck_assert_int_eq(req.upgrade, 1);
	ck_assert_int_eq(req.keep_alive, 1);
	ck_assert_int_gt(http_parse_request(no_header, strlen(no_header),
	    &table_limits, &req), 0);
	ck_assert_int_eq(req.upgrade, 0);
	ck_assert_int_gt(http_parse_request(no_token, strlen(no_token),
	    &table_limits, &req), 0);
	ck_assert_int_eq(req.upgrade, 0);
}
END_TEST

/* The configured header count is capped at the array size. */
START_TEST(test_header_cap)
{
	struct http_limits	 lim = { 16384, 100000, 16 };
	struct http_request	 req;
	char			 buf[16384];
	size_t			 len, i;

	len = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.0\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS_HARD; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "X-%zu: v\r\n", i);
	memcpy(buf + len, "\r\n", 2);
	ck_assert_int_eq(http_parse_request(buf, len + 2, &lim, &req),
	    (int)len + 2);
	ck_assert_uint_eq(req.nheaders, HTTP_MAX_HEADERS_HARD);

	memcpy(buf + len, "Y: 1\r\n\r\n", 8);
	ck_assert_int_eq(http_parse_request(buf, len + 8, &lim, &req), -431);

	/* max_headers 0: only requests without header lines. */
	lim.max_headers = 0;
	ck_assert_int_eq(http_parse_request("GET / HTTP/1.0\r\n\r\n", 18,
	    &lim, &req), 18);
	ck_assert_int_eq(http_parse_request("GET / HTTP/1.0\r\nA: b\r\n\r\n",
	    24, &lim, &req), -431);
}
END_TEST

START_TEST(test_header_find)
{
	static const char	 raw[] = "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Token: first\r\nx-token: second\r\nAccept: */*\r\n\r\n";
	struct http_request	 req;
	const struct http_header *h;

	ck_assert_int_gt(http_parse_request(raw, sizeof(raw) - 1,
	    &table_limits, &req), 0);
	ck_assert_ptr_nonnull(h = http_header_find(&req, "host"));
	check_field("host", h->value, h->value_len, "h", 1);
	ck_assert_ptr_eq(http_header_find(&req, "HOST"), h);
	ck_assert_ptr_eq(http_header_find(&req, "hOsT"), h);
	ck_assert_ptr_nonnull(h = http_header_find(&req, "X-TOKEN"));
	check_field("x-token", h->value, h->value_len, "first", 5);
	ck_assert_ptr_nonnull(h = http_header_find(&req, "accept"));
	check_field("accept", h->value, h->value_len, "*/*", 3);
	ck_assert_ptr_null(http_header_find(&req, "Hos"));
	ck_assert_ptr_null(http_header_find(&req, "Hostx"));
	ck_assert_ptr_null(http_header_find(&req, "X-Token "));
	ck_assert_ptr_null(http_header_find(&req, ""));
	ck_assert_ptr_null(http_header_find(&req, "Cookie"));
	ck_assert_ptr_null(http_header_find(NULL, "Host"));
	ck_assert_ptr_null(http_header_find(&req, NULL));
}
END_TEST

static const struct {
	const char	*src;
	int		 plus_space;
	size_t		 dstlen;
	long		 want;
	const char	*out;
} decode_rows[] = {
	{ "abc",		0, 64, 3, "abc" },
	{ "",			0, 64, 0, "" },
	{ "",			0, 1, 0, "" },
	{ "a%20b",		0, 64, 3, "a b" },
	{ "%41%42",		0, 64, 2, "AB" },
	{ "%4a%4A%4f",		0, 64, 3, "JJO" },
	{ "%e2%82%AC",		0, 64, 3, "\xe2\x82\xac" },
	{ "%2F..%2f",		0, 64, 4, "/../" },
	{ "%25%32%30",		0, 64, 3, "%20" },	/* decoded once only */
	{ "a+b",		1, 64, 3, "a b" },
	{ "a+b",		0, 64, 3, "a+b" },
	{ "%2B+",		1, 64, 2, "+ " },
	{ "%",			0, 64, -1, NULL },
	{ "a%",			0, 64, -1, NULL },
	{ "%2",			0, 64, -1, NULL },
	{ "%zz",		0, 64, -1, NULL },
	{ "%g0",		0, 64, -1, NULL },
	{ "%0g",		0, 64, -1, NULL },
	{ "% 1",		0, 64, -1, NULL },
	{ "%00",		0, 64, -1, NULL },
	{ "a%00b",		1, 64, -1, NULL },
	{ "abcd",		0, 4, -1, NULL },	/* no room for NUL */
	{ "abcd",		0, 5, 4, "abcd" },
	{ "%41%42",		0, 3, 2, "AB" },
	{ "%41%42",		0, 2, -1, NULL },
	{ "x",			0, 0, -1, NULL },
};

START_TEST(test_urldecode)
{
	char	dst[64 + 1];	/* one guard byte past the largest dstlen */
	long	got;

	memset(dst, 'Z', sizeof(dst));
	got = http_urldecode(decode_rows[_i].src, strlen(decode_rows[_i].src),
	    dst, decode_rows[_i].dstlen, decode_rows[_i].plus_space);
	ck_assert_msg(got == decode_rows[_i].want, "\"%s\": want %ld, got %ld",
	    decode_rows[_i].src, decode_rows[_i].want, got);
	if (got >= 0) {
		ck_assert(memcmp(dst, decode_rows[_i].out, (size_t)got) == 0);
		ck_assert_int_eq(dst[got], '\0');
	}
	/* Never a byte beyond dstlen. */
	ck_assert_int_eq(dst[decode_rows[_i].dstlen], 'Z');
}
END_TEST

START_TEST(test_urldecode_edges)
{
	char	dst[8];

	/* A raw NUL would cut a C string short as well. */
	ck_assert_int_eq(http_urldecode("a\0b", 3, dst, sizeof(dst), 0), -1);
	/* len, not the NUL, bounds the source. */
	ck_assert_int_eq(http_urldecode("abcdef", 3, dst, sizeof(dst), 0), 3);
	ck_assert_str_eq(dst, "abc");
	ck_assert_int_eq(http_urldecode("%4", 2, dst, sizeof(dst), 0), -1);
	ck_assert_int_eq(http_urldecode("ab", 2, NULL, 8, 0), -1);
	ck_assert_int_eq(http_urldecode(NULL, 0, dst, sizeof(dst), 0), 0);
}
END_TEST

START_TEST(test_reason)
{
	static const struct {
		int		 code;
		const char	*phrase;
	} known[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 200, "OK" }, { 204, "No Content" },
		{ 206, "Partial Content" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 304, "Not Modified" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 411, "Length Required" }, { 413, "Content Too Large" },
		{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 421, "Misdirected Request" }, { 426, "Upgrade Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t	i;

	for (i = 0; i < NELEMS(known); i++)
		ck_assert_str_eq(http_reason(known[i].code), known[i].phrase);
	ck_assert_str_eq(http_reason(0), "Unknown");
	ck_assert_str_eq(http_reason(-404), "Unknown");
	ck_assert_str_eq(http_reason(418), "Unknown");
	ck_assert_str_eq(http_reason(999), "Unknown");
}
END_TEST

/* ---- randomized robustness -------------------------------------------- */

#define FUZZ_ROUNDS		4000
#define FUZZ_PREFIX_ROUNDS	400	/* also checked prefix by prefix */
#define FUZZ_MAX		512

static uint64_t fuzz_state;

/* xorshift64*: fixed seed, so a failure reproduces. */
static uint32_t
fuzz_next(void)
{
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return ((uint32_t)((fuzz_state * 0x2545F4914F6CDD1DULL) >> 32));
}

static size_t
fuzz_below(size_t n)
{
	return (n == 0 ? 0 : fuzz_next() % n);
}

/* Bytes that sit on the parser's decision points. */
static unsigned char
fuzz_byte(void)
{
	static const char	special[] = " \t\r\n:?/%*,\0\001\177\200\377"
	    "0123456789HTTP/1.";

	if (fuzz_below(3) == 0)
		return ((unsigned char)fuzz_next());
	return ((unsigned char)special[fuzz_below(sizeof(special) - 1)]);
}

static void
fuzz_mutate(char *buf, size_t *len)
{
	size_t	at, n, from;

	at = fuzz_below(*len + 1);
	switch (fuzz_below(6)) {
	case 0:			/* overwrite */
		if (at < *len)
			buf[at] = (char)fuzz_byte();
		break;
	case 1:			/* insert */
		if (*len < FUZZ_MAX) {
			memmove(buf + at + 1, buf + at, *len - at);
			buf[at] = (char)fuzz_byte();
			(*len)++;
		}
		break;
	case 2:			/* delete a run */
		n = fuzz_below(8) + 1;
		if (at + n <= *len) {
			memmove(buf + at, buf + at + n, *len - at - n);
			*len -= n;
		}
		break;
	case 3:			/* truncate */
		*len = at;
		break;
	case 4:			/* duplicate a run (repeated headers) */
		from = fuzz_below(*len + 1);
		n = fuzz_below(32) + 1;
		if (from + n <= *len && *len + n <= FUZZ_MAX) {
			memmove(buf + at + n, buf + at, *len - at);
			memmove(buf + at, from < at ? buf + from :
			    buf + from + n, n);
			*len += n;
		}
		break;
	default:		/* flip a bit */
		if (at < *len)
			buf[at] ^= (char)(1 << fuzz_below(8));
		break;
	}
}

static int
allowed_result(int r, size_t len)
{
	switch (r) {
	case 0:
	case -400:
	case -413:
	case -414:
	case -431:
	case -501:
	case -505:
		return (1);
	}
	return (r > 0 && (size_t)r <= len);
}

static void
fuzz_one(const char *buf, size_t len, const struct http_limits *lim,
    int prefixes)
{
	struct http_request	 req;
	char			*copy;
	size_t			 k;
	int			 whole, got;

	whole = parse_exact(buf, len, lim, &req, &copy);
	ck_assert_msg(allowed_result(whole, len), "result %d for %zu bytes",
	    whole, len);
	if (whole > 0)
		check_pointers(copy, len, &req);
	free(copy);
	if (!prefixes)
		return;
	for (k = 0; k < len; k++) {
		got = parse_exact(buf, k, lim, &req, &copy);
		free(copy);
		if (whole > 0 && k >= (size_t)whole)
			ck_assert_int_eq(got, whole);
		else
			ck_assert_msg(got == 0 || (whole < 0 && got == whole),
			    "prefix %zu gave %d, whole %d", k, got, whole);
	}
}

START_TEST(test_fuzz)
{
	static const struct http_limits	 tight = { 64, 2, 4 };
	char				 buf[FUZZ_MAX];
	const struct http_limits	*lim;
	const struct row		*seed;
	size_t				 len, i, m, nmut;

	fuzz_state = 0x6e6f74617279ULL;
	for (i = 0; i < FUZZ_ROUNDS; i++) {
		if (fuzz_below(10) == 0) {
			/* pure noise */
			len = fuzz_below(FUZZ_MAX);
			for (m = 0; m < len; m++)
				buf[m] = (char)fuzz_byte();
		} else {
			seed = &rows[fuzz_below(NELEMS(rows))];
			len = seed->rawlen < FUZZ_MAX ? seed->rawlen : FUZZ_MAX;
			memcpy(buf, seed->raw, len);
			nmut = fuzz_below(8) + 1;
			for (m = 0; m < nmut; m++)
				fuzz_mutate(buf, &len);
		}
		lim = fuzz_below(4) == 0 ? &tight : &table_limits;
		fuzz_one(buf, len, lim, i < FUZZ_PREFIX_ROUNDS);
	}
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("http_parser");

	tc = tcase_create("table");
	tcase_add_loop_test(tc, test_table_whole, 0, (int)NELEMS(rows));
	tcase_add_loop_test(tc, test_table_split, 0, (int)NELEMS(rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("requests");
	tcase_add_test(tc, test_pipeline);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_upgrade);
	tcase_add_test(tc, test_header_cap);
	tcase_add_test(tc, test_header_find);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_loop_test(tc, test_urldecode, 0, (int)NELEMS(decode_rows));
	tcase_add_test(tc, test_urldecode_edges);
	tcase_add_test(tc, test_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_test(tc, test_fuzz);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);

	return (s);
}
