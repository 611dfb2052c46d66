/*
 * stream_filter.h - server-side filters of the CT stream ("channels"):
 * the query string of a stream request, e.g.
 *     /?domains=example.com,*.example.org&type=precert
 * and the per-frame match against the entry's all_domains (the NAMES
 * section the watcher prepared: lowercase, NUL-separated) and its
 * precert flag.  Pure functions; no allocation, no logging.
 *
 * Patterns: "example.com" matches example.com and every name under it;
 * "*.example.org" matches only names under example.org (one or more
 * labels), not example.org itself.  An entry matches when any of its
 * names matches any pattern.  type is "precert" or "x509".
 */
#ifndef NOTARYD_STREAM_FILTER_H
#define NOTARYD_STREAM_FILTER_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_FILTER_MAX  32   /* patterns per client */
#define STREAM_FILTER_NAME 253  /* a DNS name, without the "*." */
#define STREAM_QUERY_VALUE 4096 /* a decoded parameter value */

#define STREAM_TYPE_X509    1u
#define STREAM_TYPE_PRECERT 2u

struct stream_filter_pat {
	char   name[STREAM_FILTER_NAME + 1];
	size_t len;
	int    wildcard; /* "*." form: strict subdomains */
};

struct stream_filter {
	unsigned                 types; /* STREAM_TYPE_*; 0 = no type filter */
	size_t                   n;     /* patterns; 0 = no name filter */
	struct stream_filter_pat pat[STREAM_FILTER_MAX];
};

/*
 * Find parameter name in a query string and percent-decode its value into
 * out (NUL-terminated).  Returns the value length, -1 when absent, -2
 * when malformed or longer than outlen - 1.
 */
long stream_query_param(
    const char *q, size_t qlen, const char *name, char *out, size_t outlen);

/*
 * Parse the filter parameters of a query.  0 (f filled; inactive when
 * nothing was asked), or -1 with *why set to a short reason for a 400.
 */
int stream_filter_parse(
    const char *q, size_t qlen, struct stream_filter *f, const char **why);
/*
 * The seq parameter: *on = 1 for seq=1 (each frame's JSON then starts
 * with "seq":N, the entry's JetStream sequence), 0 for seq=0 or none.
 * 0, or -1 with *why set for a 400.
 */
int stream_seq_parse(const char *q, size_t qlen, int *on, const char **why);
/*
 * The since parameter: *set = 1 and *since = N for since=N (decimal,
 * 0..2^64-1), else *set = 0.  0, or -1 with *why set for a 400.
 */
int stream_since_parse(
    const char *q, size_t qlen, int *set, uint64_t *since, const char **why);
/* 1 when some filter is set. */
int stream_filter_active(const struct stream_filter *f);
/* Does an entry (STREAMREC_F_* flags, NAMES section) pass the filter? */
int stream_filter_match(const struct stream_filter *f, uint32_t flags,
    const char *names, size_t len);

#endif
