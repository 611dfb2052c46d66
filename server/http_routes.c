/*
 * http_routes.c - request routing for the HTTP workers, and the routes
 * that belong to the daemon itself: the index page ("/" with no
 * parameters, "/index") and "/healthz".
 *
 * Runs in the HTTP workers, which hold no database handle and no private
 * key: handlers read only the worker's http_site (config, the master's
 * status table, the shared cache) and fill a response.  A handler never
 * fails: anything it cannot do becomes an HTTP status.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/conf.h"
#include "server/http_routes.h"
#include "server/conv_routes.h"
#include "common/log.h"
#include "common/status.h"
#include "common/cache.h"
#include "server/favicon.h"
#include "server/perspectives.h"
#include "server/metrics.h"
#include "server/sigproto.h"
#include "server/stream_filter.h"
#include "server/client_limit.h"
#include "server/stream_routes.h"
#include "common/util.h"
#include "server/ws.h"
#include "common/xmalloc.h"

#define PUBKEY_MAX 16384

typedef void (*http_handler)(
    struct http_site *, const struct http_request *, struct http_response *);

struct route {
	const char  *path;
	unsigned     methods;
	http_handler handler;
	int          rt; /* enum status_route */
};

static void route_index(
    struct http_site *, const struct http_request *, struct http_response *);
static char *read_small_file(const char *, size_t);
static void  route_favicon(
     struct http_site *, const struct http_request *, struct http_response *);
static void route_healthz(
    struct http_site *, const struct http_request *, struct http_response *);

#define M_READ (HTTP_MBIT(HTTP_M_GET) | HTTP_MBIT(HTTP_M_HEAD))

static const struct route routes[] = {
	{ "/", M_READ | HTTP_MBIT(HTTP_M_POST), route_index, STATUS_RT_INDEX },
	{ "/index", M_READ | HTTP_MBIT(HTTP_M_POST), route_index,
	    STATUS_RT_INDEX },
	{ "/healthz", M_READ, route_healthz, STATUS_RT_HEALTHZ },
	{ "/favicon.ico", M_READ, route_favicon, STATUS_RT_FAVICON },
	{ CONV_BUNDLE_PATH, M_READ, conv_route_bundle, STATUS_RT_OTHER },
};

void
http_response_init(struct http_response *resp)
{
	resp->status = 200;
	resp->content_type = NULL;
	buf_init(&resp->headers, HTTP_EXTRA_HDR_MAX);
	buf_init(&resp->body, HTTP_BODY_MAX);
	resp->close = 0;
	resp->stream = HTTP_STREAM_NONE;
	resp->route = STATUS_RT_OTHER;
	resp->sse = 0;
	resp->deflate = 0;
	resp->seq = 0;
	resp->since_set = 0;
	resp->since = 0;
	resp->client_key = 0;
	resp->filter = NULL;
	resp->defer = 0;
}

void
http_response_from_signer(struct http_response *resp, int status,
    const void *body, size_t len, uint8_t fmt)
{
	switch (status) {
	case SIG_OK:
		resp->status = 200;
		resp->content_type = fmt == CACHE_FMT_CONVERGENCE_JSON
		    ? "application/json"
		    : "text/xml;charset=utf-8";
		if (buf_append(&resp->body, body, len) == -1)
			http_response_error(resp, 503);
		break;
	case SIG_UNKNOWN:
		http_response_error(resp, 404);
		break;
	case SIG_BAD:
		http_response_error(resp, 400);
		break;
	default:
		http_response_error(resp, 503);
		buf_puts(&resp->headers, "Retry-After: 5\r\n");
		break;
	}
}

void
http_response_free(struct http_response *resp)
{
	buf_free(&resp->headers);
	buf_free(&resp->body);
}

void
http_response_error(struct http_response *resp, int status)
{
	resp->status = status;
	resp->content_type = "text/plain;charset=utf-8";
	buf_reset(&resp->body);
	buf_printf(&resp->body, "%d %s\n", status, http_reason(status));
}

static void
allow_header(struct http_response *resp, unsigned methods)
{
	static const char *const names[] = {
		[HTTP_M_GET] = "GET",
		[HTTP_M_HEAD] = "HEAD",
		[HTTP_M_POST] = "POST",
		[HTTP_M_PUT] = "PUT",
		[HTTP_M_DELETE] = "DELETE",
		[HTTP_M_OPTIONS] = "OPTIONS",
		[HTTP_M_PATCH] = "PATCH",
		[HTTP_M_TRACE] = "TRACE",
		[HTTP_M_CONNECT] = "CONNECT",
	};
	size_t i;
	int    first = 1;

	buf_puts(&resp->headers, "Allow: ");
	for (i = 1; i < NELEM(names); i++) {
		if (!(methods & HTTP_MBIT(i)))
			continue;
		buf_printf(&resp->headers, "%s%s", first ? "" : ", ", names[i]);
		first = 0;
	}
	buf_puts(&resp->headers, "\r\n");
}

/* path equals p, or p followed by one '/' (the stream paths allow both). */
static int
path_is(const struct http_request *req, const char *p)
{
	size_t n = strlen(p);

	if (req->path_len == n && memcmp(req->path, p, n) == 0)
		return (1);
	return (n > 1 && req->path_len == n + 1 &&
	    memcmp(req->path, p, n) == 0 && req->path[n] == '/');
}

static enum http_stream
stream_of(const struct conf *cf, const struct http_request *req)
{
	if (path_is(req, cf->stream.full_path))
		return (HTTP_STREAM_FULL);
	if (path_is(req, cf->stream.domains_path))
		return (HTTP_STREAM_DOMAINS);
	if (path_is(req, cf->stream.lite_path))
		return (HTTP_STREAM_LITE);
	return (HTTP_STREAM_NONE);
}

/*
 * A plain GET on a stream path: a short page saying what it is (the spec
 * allows 400 or a small page; a page helps someone who opened the URL in
 * a browser).
 */
static void
stream_page(
    struct http_site *site, enum http_stream st, struct http_response *resp)
{
	const struct conf *cf = site->cf;

	resp->content_type = "text/plain;charset=utf-8";
	buf_printf(&resp->body,
	    "This is a CertStream websocket endpoint (%s "
	    "stream).\nConnect with a websocket client, e.g. "
	    "ws://HOST%s\nServer-Sent Events: /sse?stream=%s\n"
	    "Filters: ?domains=example.com,*.example.org&type=precert|x509\n"
	    "Examples: /example.json, /latest.json\n",
	    st == HTTP_STREAM_FULL          ? "full"
	        : st == HTTP_STREAM_DOMAINS ? "domains-only"
	                                    : "lite",
	    st == HTTP_STREAM_FULL          ? cf->stream.full_path
	        : st == HTTP_STREAM_DOMAINS ? cf->stream.domains_path
	                                    : cf->stream.lite_path,
	    st == HTTP_STREAM_FULL          ? "full"
	        : st == HTTP_STREAM_DOMAINS ? "domains"
	                                    : "lite");
}

/*
 * A websocket upgrade on a stream path; a plain GET gets a short page,
 * except on the lite path when it is also the index.
 */
/* "stream=lite|full|domains" of /sse (lite when absent).  0, or -1. */
static int
sse_stream(const struct http_request *req, enum http_stream *st)
{
	char v[16];
	long n;

	n = stream_query_param(
	    req->query, req->query_len, "stream", v, sizeof(v));
	if (n == -1 || (n >= 0 && strcmp(v, "lite") == 0))
		*st = HTTP_STREAM_LITE;
	else if (n >= 0 && strcmp(v, "full") == 0)
		*st = HTTP_STREAM_FULL;
	else if (n >= 0 &&
	    (strcmp(v, "domains") == 0 || strcmp(v, "domains-only") == 0))
		*st = HTTP_STREAM_DOMAINS;
	else
		return (-1);
	return (0);
}

static int
accepts_sse(const struct http_request *req)
{
	const struct http_header *h = http_header_find(req, "Accept");
	static const char         want[] = "text/event-stream";
	size_t                    i;

	if (h == NULL)
		return (0);
	for (i = 0; i + sizeof(want) - 1 <= h->value_len; i++)
		if (strncasecmp(h->value + i, want, sizeof(want) - 1) == 0)
			return (1);
	return (0);
}

static void
bad_stream_request(struct http_response *resp, const char *why)
{
	http_response_error(resp, 400);
	buf_printf(&resp->body, "%s\n", why);
	resp->close = 1;
}

/*
 * The filter of the query, on the heap when one is asked, and seq= (only
 * on a stream front).  0, or -1 (400).
 */
static int
stream_filter_of(const struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	struct stream_filter f;
	const char          *why;

	if (stream_filter_parse(req->query, req->query_len, &f, &why) == -1 ||
	    stream_seq_parse(req->query, req->query_len, &resp->seq, &why) ==
	        -1 ||
	    stream_since_parse(req->query, req->query_len, &resp->since_set,
	        &resp->since, &why) == -1) {
		bad_stream_request(resp, why);
		return (-1);
	}
	if ((resp->seq || resp->since_set) && !site->cf->ctwatch.from_nats) {
		bad_stream_request(resp,
		    "seq= and since= need a stream front (ctwatch.source: "
		    "nats)");
		return (-1);
	}
	if (resp->since_set && site->cf->stream.max_replay == 0) {
		bad_stream_request(resp, "since= is off (stream.max_replay 0)");
		return (-1);
	}
	if (stream_filter_active(&f)) {
		resp->filter = xmalloc(sizeof(f));
		memcpy(resp->filter, &f, sizeof(f));
	}
	return (0);
}

/*
 * A stream request: a websocket upgrade on a stream path, or an event
 * stream (/sse, or a stream path asked for text/event-stream).  Filters
 * in the query are checked first: a bad one is a 400 with the reason,
 * before any upgrade.  A plain GET on a stream path gets a short page,
 * except on the lite path when it is also the index.  A request to
 * upgrade to anything but websocket is a plain request: the server
 * ignores an Upgrade it does not support (RFC 9110 7.8).
 */
static int
route_stream(struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	enum http_stream st = stream_of(site->cf, req);
	char             accept[29];
	int              r, sse = 0;

	if (!site->cf->ctwatch.enabled)
		return (0);
	if (path_is(req, "/sse")) {
		resp->route = STATUS_RT_SSE;
		if (sse_stream(req, &st) == -1) {
			bad_stream_request(
			    resp, "stream= must be lite, full or domains");
			return (1);
		}
		sse = 1;
	} else if (st == HTTP_STREAM_NONE) {
		return (0);
	} else {
		resp->route = STATUS_RT_STREAM;
		sse = !ws_is_upgrade(req) && accepts_sse(req);
		if (sse)
			resp->route = STATUS_RT_SSE;
	}
	if (!ws_is_upgrade(req) && !sse) {
		if (st == HTTP_STREAM_LITE &&
		    (path_is(req, "/") || path_is(req, "/index")))
			return (0);
		stream_page(site, st, resp);
		return (1);
	}
	if (sse && req->method != HTTP_M_GET) {
		http_response_error(resp, 405);
		buf_puts(&resp->headers, "Allow: GET\r\n");
		return (1);
	}
	if (!sse && (r = ws_check_upgrade(req, accept)) != 0) {
		http_response_error(resp, r);
		if (r == 426)
			buf_puts(
			    &resp->headers, "Sec-WebSocket-Version: 13\r\n");
		resp->close = 1;
		return (1);
	}
	if (stream_filter_of(site, req, resp) == -1)
		return (1);
	resp->client_key =
	    stream_client_key(site->status, site->cf, site->peer, req);
	if (stream_limit_check(site->status, site->cf, resp->client_key) ==
	    -1) {
		free(resp->filter);
		resp->filter = NULL;
		http_response_error(resp, 429);
		buf_puts(&resp->headers, "Retry-After: 10\r\n");
		resp->close = 1;
		atomic_fetch_add_explicit(
		    &site->status->stream.refused, 1, memory_order_relaxed);
		return (1);
	}
	resp->stream = st;
	if (sse) {
		resp->sse = 1;
		return (1);
	}
	resp->status = 101;
	buf_printf(&resp->headers,
	    "Upgrade: websocket\r\n"
	    "Sec-WebSocket-Accept: %s\r\n",
	    accept);
	if (site->cf->stream.compression && ws_deflate_offered(req) &&
	    !resp->seq && !resp->since_set) {
		resp->deflate = 1;
		buf_puts(&resp->headers, WS_DEFLATE_RESPONSE);
	}
	return (1);
}

void
http_dispatch(struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	size_t i;

	if (route_stream(site, req, resp))
		return;
	if (stream_routes(site, req, resp))
		return;
	if (metrics_route(site, req, resp))
		return;
	for (i = 0; i < NELEM(routes); i++) {
		if (req->path_len != strlen(routes[i].path) ||
		    memcmp(req->path, routes[i].path, req->path_len) != 0)
			continue;
		if (!(routes[i].methods & HTTP_MBIT(req->method))) {
			http_response_error(resp, 405);
			allow_header(resp, routes[i].methods);
			return;
		}
		resp->route = routes[i].rt;
		routes[i].handler(site, req, resp);
		return;
	}
	http_response_error(resp, 404);
}

/* ---- the index page ----------------------------------------------------- */

static void
feature_row(struct buf *b, const char *name, int on, const char *text)
{
	buf_printf(b, "<tr><td>%s</td><td class='%s'>%s</td><td>", name,
	    on ? "td-status-on" : "td-status-off", on ? "On" : "Off");
	buf_put_html(b, text, strlen(text));
	buf_puts(b, "</td></tr>\n");
}

/*
 * The signer writes the key pair on its first start, which may be after
 * this worker started: look again, at most once a second, until found.
 */
static void
site_load_pubkey(struct http_site *site)
{
	int64_t now = mono_ms();

	if (site->pubkey_pem != NULL || now - site->pubkey_tried < 1000)
		return;
	site->pubkey_tried = now;
	site->pubkey_pem =
	    read_small_file(site->cf->keys.public_key, PUBKEY_MAX);
}

static void
index_page(struct http_site *site, struct buf *b)
{
	const struct conf *cf = site->cf;
	char               text[512];

	buf_puts(b,
	    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>notaryd network notary</title>\n"
	    "</head>\n<body>\n<h1>notaryd network notary</h1>\n");
	buf_printf(b, "<p>notaryd - version %s</p>\n", PACKAGE_VERSION);
	buf_puts(b, "<h2>Public key</h2>\n");
	site_load_pubkey(site);
	if (site->pubkey_pem != NULL) {
		buf_puts(b, "<pre>");
		buf_put_html(b, site->pubkey_pem, strlen(site->pubkey_pem));
		buf_puts(b, "</pre>\n");
	} else {
		buf_puts(b, "<p>No notary key yet.</p>\n");
	}
	buf_puts(b,
	    "<h2>Features</h2>\n<table>\n"
	    "<tr><th>Feature</th><th>Status</th><th>Notes</th></tr>\n");
	/*
	 * Only what this build really serves is "On": a client that reads
	 * this page must not be told about answers it cannot get.
	 */
	feature_row(b, "Perspectives notary", 1,
	    "GET /?host=H&port=P&service_type=2 (signed rsa-md5 XML)");
	feature_row(b, "Convergence notary",
	    conv_index_feature(cf, text, sizeof(text)), text);
	snprintf(text, sizeof(text),
	    "websocket on %s, %s, %s; "
	    "/example.json, /latest.json, /stats",
	    cf->stream.lite_path, cf->stream.full_path,
	    cf->stream.domains_path);
	feature_row(
	    b, "Certificate Transparency stream", cf->ctwatch.enabled, text);
	feature_row(b, "Server Name Indication", cf->scanner.sni,
	    "the scanners send SNI for DNS names");
	(void)snprintf(text, sizeof(text),
	    "Prometheus text format on %s "
	    "(from metrics.allow only)",
	    cf->metrics.path);
	feature_row(b, "Performance Metrics", 1, text);
	buf_puts(b, "</table>\n</body>\n</html>\n");
}

static int
is_form(const struct http_request *req)
{
	static const char         form[] = "application/x-www-form-urlencoded";
	const struct http_header *ct = http_header_find(req, "Content-Type");

	return (ct != NULL && ct->value_len >= sizeof(form) - 1 &&
	    strncasecmp(ct->value, form, sizeof(form) - 1) == 0);
}

/*
 * "/" and "/index": the index page, or a Perspectives query (spec §1.2).
 * A cached signed reply is served from shared memory; a miss goes to the
 * signer (resp->defer), which answers 200, 404 (probe queued) or 503.
 */
static void
route_index(struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	struct persp_query q;
	size_t             vlen;
	int64_t            stored;
	const char        *body = NULL;
	size_t             blen = 0;

	/* CherryPy merges a form-encoded POST body into the parameters. */
	if (req->method == HTTP_M_POST && is_form(req)) {
		body = req->body;
		blen = req->body_len;
	}
	persp_parse_query(req->query, req->query_len, body, blen, &q);
	if (q.status == PERSP_QUERY_INDEX) {
		resp->content_type = "text/html;charset=utf-8";
		index_page(site, &resp->body);
		return;
	}
	resp->route = STATUS_RT_PERSPECTIVES;
	if (q.status != PERSP_QUERY_OK) {
		log_debug("query refused: %s", q.why ? q.why : "bad");
		http_response_error(resp, 400);
		return;
	}
	if (site->cache_buf != NULL &&
	    cache_get(site->cache, CACHE_FMT_PERSPECTIVES_XML, q.id, q.idlen,
	        site->cache_buf, site->cache_buf_len, &vlen, &stored,
	        mono_ms()) == 1) {
		resp->content_type = "text/xml;charset=utf-8";
		if (buf_append(&resp->body, site->cache_buf, vlen) == -1)
			http_response_error(resp, 503);
		return;
	}
	resp->defer = 1;
	resp->defer_fmt = CACHE_FMT_PERSPECTIVES_XML;
	resp->defer_flags = q.probe ? SIGPROTO_F_PROBE : 0;
	resp->defer_idlen = q.idlen;
	memcpy(resp->defer_id, q.id, q.idlen);
}

static void
route_favicon(struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	(void)site;
	(void)req;
	resp->content_type = "image/x-icon";
	buf_append(&resp->body, favicon_ico, favicon_ico_len);
	buf_puts(&resp->headers, "Cache-Control: max-age=86400\r\n");
}

/* ---- health ---------------------------------------------------------- */

static void
route_healthz(struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	static const char *const dbs[] = { "down", "recovering", "up" };
	const struct status     *st = site->status;
	unsigned                 db = atomic_load(&st->db_state);
	int                      r, healthy = status_healthy(st);

	(void)req;
	resp->status = healthy ? 200 : 503;
	resp->content_type = "application/json";
	buf_printf(&resp->body,
	    "{\"status\":\"%s\",\"generation\":%u,"
	    "\"database\":\"%s\",\"recoveries\":%llu,\"roles\":{",
	    healthy ? "ok" : "degraded", atomic_load(&st->generation),
	    db < NELEM(dbs) ? dbs[db] : "unknown",
	    (unsigned long long)atomic_load(&st->recoveries));
	for (r = ROLE_HTTP; r < ROLE_RECOVERY; r++)
		buf_printf(&resp->body,
		    "%s\"%s\":{\"wanted\":%u,\"ready\":%u,"
		    "\"spawns\":%llu,\"crashes\":%llu,\"throttled\":%s}",
		    r == ROLE_HTTP ? "" : ",", role_name(r),
		    atomic_load(&st->role[r].wanted),
		    atomic_load(&st->role[r].ready),
		    (unsigned long long)atomic_load(&st->role[r].spawns),
		    (unsigned long long)atomic_load(&st->role[r].crashes),
		    atomic_load(&st->role[r].throttled) ? "true" : "false");
	buf_puts(&resp->body, "}}\n");
	buf_puts(&resp->headers, "Cache-Control: no-store\r\n");
}

/* ---- site set-up ---------------------------------------------------- */

static char *
read_small_file(const char *path, size_t max)
{
	char   *data;
	ssize_t n;
	size_t  got = 0;
	int     fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	data = xmalloc(max + 1);
	while (got < max &&
	    ((n = read(fd, data + got, max - got)) > 0 ||
	        (n == -1 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(fd);
	data[got] = '\0';
	if (got == 0) {
		free(data);
		return (NULL);
	}
	return (data);
}

void
http_site_init(struct http_site *site, const struct conf *cf, struct status *st,
    struct cache *cache)
{
	site->cf = cf;
	site->status = st;
	site->cache = cache;
	site->pubkey_pem = NULL;
	site->pubkey_tried = -1000000;
	site->cache_buf_len = cache != NULL ? cache_max_value(cache) : 0;
	site->cache_buf =
	    site->cache_buf_len ? xmalloc(site->cache_buf_len) : NULL;
}

void
http_site_free(struct http_site *site)
{
	free(site->pubkey_pem);
	site->pubkey_pem = NULL;
	free(site->cache_buf);
	site->cache_buf = NULL;
}
