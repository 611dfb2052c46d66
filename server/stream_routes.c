/*
 * stream_routes.c - the CertStream HTTP endpoints of the HTTP workers:
 * /example.json, <full>/example.json, <domains>/example.json (the newest
 * entry of each shape), /latest.json (the last stream.latest lite
 * entries, newest first, in the certstream-server (Elixir) shape) and
 * /stats (counts only: never a client address or header).
 *
 * Runs in every HTTP worker.  Entries are read straight from the shared
 * ring (untrusted: each record is validated by streamrec_parse), going
 * back from the head with ring_cursor_back().  A handler never fails: an
 * empty ring gives "{}" (example) or an empty list (latest).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/ring.h"
#include "common/status.h"
#include "common/streamrec.h"
#include "common/xmalloc.h"
#include "server/http_routes.h"
#include "server/stream_routes.h"

#define EXAMPLE_LOOKBACK 16 /* records tried for an example */

static const uint32_t shape_kind[] = {
	STREAMREC_LITE,
	STREAMREC_FULL,
	STREAMREC_DOMAINS,
};

/* The record buffer, allocated on first use (the ring's largest record). */
static int
site_rec(struct http_site *site)
{
	if (site->ring == NULL)
		return (-1);
	if (site->rec == NULL) {
		site->rec_max = ring_max_record(site->ring);
		if (site->rec_max == 0)
			return (-1);
		site->rec = xmalloc(site->rec_max);
	}
	return (0);
}

/* Strip the newline the lite and full messages end with. */
static size_t
trim_nl(const uint8_t *p, size_t len)
{
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	return (len);
}

/*
 * Call fn for each of the last k valid entries, oldest first.  Returns
 * how many were passed.  Records overwritten meanwhile are skipped.
 */
static size_t
each_recent(struct http_site *site, uint64_t                 k,
    void (*fn)(void *, const struct streamrec_view *), void *arg)
{
	struct ring_cursor    cur;
	struct streamrec_view v;
	uint64_t              back, i;
	uint32_t              type;
	size_t                len, n = 0;

	if (site_rec(site) == -1)
		return (0);
	back = ring_cursor_back(site->ring, k, &cur);
	for (i = 0; i < back; i++) {
		if (ring_read(site->ring, &cur, &type, site->rec, site->rec_max,
		        &len, NULL) != RING_OK)
			break;
		if (type != STREAMREC_TYPE_ENTRY ||
		    streamrec_parse(site->rec, len, &v) == -1)
			continue;
		fn(arg, &v);
		n++;
	}
	return (n);
}

struct example {
	uint32_t    kind;
	struct buf *out;
};

static void
example_take(void *arg, const struct streamrec_view *v)
{
	struct example *ex = arg;
	const uint8_t  *p;
	size_t          len;

	if ((p = streamrec_section(v, ex->kind, &len)) == NULL)
		return;
	buf_reset(ex->out);
	if (buf_append(ex->out, p, trim_nl(p, len)) == -1 ||
	    buf_puts(ex->out, "\n") == -1)
		buf_reset(ex->out); /* too big for a response */
}

static void
json_headers(struct http_response *resp)
{
	resp->content_type = "application/json";
	buf_puts(&resp->headers,
	    "Access-Control-Allow-Origin: *\r\n"
	    "Cache-Control: no-store\r\n");
}

static void
route_example(struct http_site *site, int shape, struct http_response *resp)
{
	struct example ex = { shape_kind[shape], &resp->body };

	resp->route = STATUS_RT_EXAMPLE;
	json_headers(resp);
	each_recent(site, EXAMPLE_LOOKBACK, example_take, &ex);
	if (resp->body.len == 0)
		buf_puts(&resp->body, "{}\n");
}

/* The lite messages, oldest first, each a piece of one buffer. */
struct latest {
	struct buf all;
	size_t    *off, *len;
	size_t     n, max;
};

static void
latest_take(void *arg, const struct streamrec_view *v)
{
	struct latest *l = arg;
	const uint8_t *p;
	size_t         len, drop, i;

	if ((p = streamrec_section(v, STREAMREC_LITE, &len)) == NULL ||
	    l->n == l->max)
		return;
	len = trim_nl(p, len);
	/* Keep the newest that fit in a response: drop the oldest. */
	while (l->n > 0 && buf_reserve(&l->all, len) == -1) {
		drop = l->len[0];
		buf_consume(&l->all, drop);
		for (i = 1; i < l->n; i++) {
			l->off[i - 1] = l->off[i] - drop;
			l->len[i - 1] = l->len[i];
		}
		l->n--;
	}
	if (buf_append(&l->all, p, len) == -1)
		return;
	l->off[l->n] = l->all.len - len;
	l->len[l->n] = len;
	l->n++;
}

static void
route_latest(struct http_site *site, struct http_response *resp)
{
	struct latest l;
	size_t        i;

	resp->route = STATUS_RT_LATEST;
	json_headers(resp);
	l.max = (size_t)site->cf->stream.latest;
	l.n = 0;
	l.off = xcalloc(l.max, sizeof(*l.off));
	l.len = xcalloc(l.max, sizeof(*l.len));
	buf_init(&l.all, HTTP_BODY_MAX - 64 - 2 * l.max);
	each_recent(site, l.max, latest_take, &l);
	buf_puts(&resp->body, "{\"messages\":[");
	for (i = l.n; i > 0; i--) {
		if (i != l.n)
			buf_puts(&resp->body, ",");
		buf_append(
		    &resp->body, l.all.data + l.off[i - 1], l.len[i - 1]);
	}
	buf_puts(&resp->body, "]}\n");
	buf_free(&l.all);
	free(l.off);
	free(l.len);
}

/* A JSON string from shared memory: bounded, escaped, control chars out. */
static void
json_str(struct buf *b, const char *s, size_t max)
{
	size_t i;

	buf_puts(b, "\"");
	for (i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else
			buf_append(b, &s[i], 1);
	}
	buf_puts(b, "\"");
}

/* Per-log entry counts from the ctwatch area (seqlock-checked copies). */
static void
stats_logs(struct buf *b, const struct status *st)
{
	const struct status_ctlog *lg;
	char                       url[STATUS_CT_URL_MAX];
	uint32_t                   n, i, seq;
	uint64_t                   published;
	int                        first = 1;

	n = atomic_load(&st->nctlogs);
	if (n > STATUS_MAX_CTLOGS)
		n = STATUS_MAX_CTLOGS;
	buf_puts(b, "\"logs\":{");
	for (i = 0; i < n; i++) {
		lg = &st->ctlog[i];
		seq = atomic_load(&lg->seq);
		if ((seq & 1) || atomic_load(&lg->state) == 0)
			continue;
		memcpy(url, lg->url, sizeof(url));
		published = atomic_load(&lg->published);
		if (atomic_load(&lg->seq) != seq)
			continue; /* being rewritten: next time */
		url[sizeof(url) - 1] = '\0';
		buf_puts(b, first ? "" : ",");
		json_str(b, url, sizeof(url));
		buf_printf(b, ":%llu", (unsigned long long)published);
		first = 0;
	}
	buf_puts(b, "}");
}

/* Bytes on the wire and uncompressed, per stream: what deflate saved. */
static void
stats_bytes(struct buf *b, const struct status *st)
{
	uint64_t wire, plain;
	size_t   s;

	buf_puts(b, "\"bytes\":{");
	for (s = 0; s < STATUS_SHAPES; s++) {
		wire = atomic_load(&st->stream.bytes[s]);
		plain = atomic_load(&st->stream.bytes_plain[s]);
		buf_printf(b,
		    "%s\"%s\":{\"sent\":%llu,\"uncompressed\":%llu,"
		    "\"saved_percent\":%.1f}",
		    s == 0 ? "" : ",", status_shape_name(s),
		    (unsigned long long)wire, (unsigned long long)plain,
		    plain > wire && plain > 0
		        ? 100.0 * (double)(plain - wire) / (double)plain
		        : 0.0);
	}
	buf_puts(b, "},");
}

static void
route_stats(struct http_site *site, struct http_response *resp)
{
	const struct conf *cf = site->cf;
	struct status     *st = site->status;
	struct ring_stats  rs;
	uint64_t           c[STATUS_SHAPES], sent = 0, skipped = 0;
	size_t             s;

	resp->route = STATUS_RT_STATS;
	json_headers(resp);
	ring_stats(site->ring, &rs);
	stream_clients(st, c);
	for (s = 0; s < STATUS_SHAPES; s++) {
		sent += atomic_load(&st->stream.sent[s]);
		skipped += atomic_load(&st->stream.skipped[s]);
	}
	buf_printf(&resp->body,
	    "{\"processed_certificates\":%llu,"
	    "\"current_users\":%llu,\"workers\":{",
	    (unsigned long long)rs.published,
	    (unsigned long long)(c[0] + c[1] + c[2]));
	json_str(&resp->body, cf->stream.lite_path, 256);
	buf_printf(&resp->body, ":%llu,", (unsigned long long)c[0]);
	json_str(&resp->body, cf->stream.full_path, 256);
	buf_printf(&resp->body, ":%llu,", (unsigned long long)c[1]);
	json_str(&resp->body, cf->stream.domains_path, 256);
	buf_printf(&resp->body,
	    ":%llu},\"frames_sent\":%llu,"
	    "\"frames_skipped\":%llu,",
	    (unsigned long long)c[2], (unsigned long long)sent,
	    (unsigned long long)skipped);
	stats_bytes(&resp->body, st);
	stats_logs(&resp->body, st);
	buf_puts(&resp->body, "}\n");
}

/* path is prefix + "/example.json" (prefix "/" gives "/example.json"). */
static int
is_example(const struct http_request *req, const char *prefix)
{
	char   p[512];
	size_t n = strlen(prefix);

	if (n > 0 && prefix[n - 1] == '/')
		n--;
	if (snprintf(p, sizeof(p), "%.*s/example.json", (int)n, prefix) >=
	    (int)sizeof(p))
		return (0);
	return (req->path_len == strlen(p) &&
	    memcmp(req->path, p, req->path_len) == 0);
}

static int
path_eq(const struct http_request *req, const char *p)
{
	return (req->path_len == strlen(p) &&
	    memcmp(req->path, p, req->path_len) == 0);
}

int
stream_routes(struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	const struct conf *cf = site->cf;
	int                shape = -1;

	if (!cf->ctwatch.enabled || site->ring == NULL)
		return (0);
	if (is_example(req, cf->stream.full_path))
		shape = 1;
	else if (is_example(req, cf->stream.domains_path))
		shape = 2;
	else if (is_example(req, cf->stream.lite_path))
		shape = 0;
	if (shape == -1 && !path_eq(req, "/latest.json") &&
	    !path_eq(req, "/stats"))
		return (0);
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD) {
		http_response_error(resp, 405);
		buf_puts(&resp->headers, "Allow: GET, HEAD\r\n");
		return (1);
	}
	if (shape != -1)
		route_example(site, shape, resp);
	else if (path_eq(req, "/latest.json"))
		route_latest(site, resp);
	else
		route_stats(site, resp);
	return (1);
}
