/*
 * http_parser_impl.h - what the two parts of the HTTP request parser
 * share: the parse state, character classes and small helpers.  Internal
 * to server/http_parser.c (the request line, headers, public interface)
 * and server/http_target.c (request-target forms, header semantics).
 */
#ifndef NOTARYD_SERVER_HTTP_PARSER_IMPL_H
#define NOTARYD_SERVER_HTTP_PARSER_IMPL_H

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "server/http_parser.h"


/* Helper verdicts besides the negative statuses. */
#define SCAN_OK   0
#define SCAN_MORE 1 /* the buffer ends before a verdict */

/* A cursor over the header section of buf[0..len). */
struct scanner {
	const char *buf;
	size_t      len;
	size_t      pos;
	size_t      limit;      /* first offset past the allowed size */
	int         over_limit; /* -414 in request line, then -431 */
};

/* What the header lines say about framing and the connection. */
struct header_facts {
	size_t   nhost;
	int      host_bad;
	int      has_length;
	int      length_bad; /* unparsable, or differing copies */
	uint64_t length;
	int      has_te;
	int      conn_close;
	int      conn_keep_alive;
	int      conn_upgrade;
	int      has_upgrade;
};


/* Character classes and helpers shared by the two files. */
int  hp_is_blank(unsigned char c);
int  hp_is_regname_char(unsigned char c);
int  hp_same_ci(const char *s, size_t n, const char *word);
int  hp_split_target(struct http_request *req);
void hp_note_header(struct header_facts *f, struct http_request *req,
    const struct http_header *h);
int  hp_judge_headers(const struct http_request *req,
     const struct header_facts *f, const struct http_limits *lim);
void
hp_apply_connection(struct http_request *req, const struct header_facts *f);

#endif
