/*
 * metrics.c - Prometheus /metrics (text exposition format 0.0.4) of the
 * HTTP workers: certstream-server-go's four stream metrics under their
 * names and labels, then notaryd's own (notaryd_*).
 *
 * Runs in any HTTP worker and answers for the whole daemon: every number
 * comes from shared memory (the status table, the cache's and the ring's
 * counters), read with atomics and treated as untrusted (text fields of
 * the CT log area are copied under its seqlock, bounded and escaped).
 * Only peers in metrics.allow get an answer (403 otherwise); the peer is
 * the TCP peer, never a forwarded header.  No client address appears in
 * the output: the per-client skip metric is labelled with an opaque id.
 */
#include <sys/socket.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "common/cache.h"
#include "common/conf.h"
#include "common/ring.h"
#include "common/status.h"
#include "server/http_routes.h"
#include "server/metrics.h"
#include "server/stream_routes.h"
#include "store/outcome.h"

#define U(x) ((unsigned long long)(x))

static const char *const signer_results[STATUS_SIGNER_RESULTS] = {
	"ok",
	"unknown",
	"bad",
	"unavailable",
	"timeout",
};

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: \, " and newline escaped, control characters dropped. */
static void
label(struct buf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' || c == '"')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c >= 0x20 && c != 0x7f)
			buf_append(b, &s[i], 1);
	}
}

/* A consistent copy of one CT log's identity, or -1 (unused, in flux). */
struct ctlog_copy {
	char     url[STATUS_CT_URL_MAX];
	char     oper[STATUS_CT_OPER_MAX];
	uint64_t published, precerts, tree_size, next_index, lag;
	int64_t  lag_ms;
	uint32_t backoff;
	uint64_t fe[STATUS_CTFE_MAX];
	uint64_t rejected[3]; /* malformed entries, bad signatures, shrunk */
};

static int
ctlog_read(const struct status_ctlog *lg, struct ctlog_copy *c)
{
	uint32_t seq = atomic_load(&lg->seq);
	int      k;

	if ((seq & 1) || atomic_load(&lg->state) == 0)
		return (-1);
	memcpy(c->url, lg->url, sizeof(c->url));
	memcpy(c->oper, lg->operator, sizeof(c->oper));
	if (atomic_load(&lg->seq) != seq)
		return (-1);
	c->url[sizeof(c->url) - 1] = '\0';
	c->oper[sizeof(c->oper) - 1] = '\0';
	c->published = atomic_load(&lg->published);
	c->precerts = atomic_load(&lg->precerts);
	c->tree_size = atomic_load(&lg->tree_size);
	c->next_index = atomic_load(&lg->next_index);
	c->lag = atomic_load(&lg->lag_entries);
	c->lag_ms = atomic_load(&lg->lag_ms);
	c->backoff = atomic_load(&lg->backoff);
	for (k = 0; k < STATUS_CTFE_MAX; k++)
		c->fe[k] = atomic_load(&lg->fetch_errors[k]);
	c->rejected[0] = atomic_load(&lg->parse_errors);
	c->rejected[1] = atomic_load(&lg->sth_bad_signature);
	c->rejected[2] = atomic_load(&lg->sth_shrunk);
	return (0);
}

static uint32_t
nlogs(const struct status *st)
{
	uint32_t n = atomic_load(&st->nctlogs);

	return (n > STATUS_MAX_CTLOGS ? STATUS_MAX_CTLOGS : n);
}

/* certstream-server-go's names and labels (its registry has gauges). */
static void
certstream_metrics(struct buf *b, const struct status *st)
{
	struct ctlog_copy c;
	uint64_t          cl[STATUS_SHAPES], all = 0, pre = 0, id;
	uint32_t          i, k;

	for (i = 0; i < nlogs(st); i++)
		if (ctlog_read(&st->ctlog[i], &c) == 0) {
			all += c.published;
			pre += c.precerts;
		}
	head(b, "certstreamservergo_certificates_total", "gauge",
	    "Certificates processed, by type.");
	buf_printf(b,
	    "certstreamservergo_certificates_total{type=\"regular\"}"
	    " %llu\ncertstreamservergo_certificates_total{type=\"precert\"} "
	    "%llu\n",
	    U(all >= pre ? all - pre : 0), U(pre));
	stream_clients(st, cl);
	head(b, "certstreamservergo_clients_total", "gauge",
	    "Connected stream clients, by stream.");
	for (k = 0; k < STATUS_SHAPES; k++)
		buf_printf(b,
		    "certstreamservergo_clients_total{type=\"%s\"} "
		    "%llu\n",
		    status_shape_name(k), U(cl[k]));
	head(b, "certstreamservergo_certs_by_log_total", "gauge",
	    "Certificates processed, by log.");
	for (i = 0; i < nlogs(st); i++) {
		if (ctlog_read(&st->ctlog[i], &c) == -1)
			continue;
		buf_puts(b, "certstreamservergo_certs_by_log_total{url=\"");
		label(b, c.url, sizeof(c.url));
		buf_puts(b, "\",operator=\"");
		label(b, c.oper, sizeof(c.oper));
		buf_printf(b, "\"} %llu\n", U(c.published));
	}
	head(b, "certstreamservergo_skipped_certs", "gauge",
	    "Frames skipped by the clients that skipped most (opaque ids, "
	    "never addresses).");
	for (i = 0; i < STATUS_MAX_HTTP; i++) {
		if (atomic_load(&st->http[i].pid) == 0)
			continue;
		for (k = 0; k < STATUS_TOP_SKIPPERS; k++) {
			id = atomic_load(&st->http[i].top[k].id);
			if (id == 0)
				continue;
			buf_printf(b,
			    "certstreamservergo_skipped_certs{client="
			    "\"%llu-%llu\"} %llu\n",
			    U(id >> 32), U(id & 0xffffffffu),
			    U(atomic_load(&st->http[i].top[k].skipped)));
		}
	}
}

static void
stream_metrics(struct buf *b, struct http_site *site)
{
	const struct status_stream *ss = &site->status->stream;
	struct ring_stats           rs;
	uint64_t                    cl[STATUS_SHAPES];
	static const struct {
		const char *name, *help;
		size_t      off;
	} per_shape[] = {
		{ "notaryd_stream_frames_sent_total", "Frames written.",
		    offsetof(struct status_stream, sent) },
		{ "notaryd_stream_frames_skipped_total",
		    "Frames skipped by "
		    "clients over stream.client_queue.",
		    offsetof(struct status_stream, skipped) },
		{ "notaryd_stream_bytes_total", "Bytes written (on the wire).",
		    offsetof(struct status_stream, bytes) },
		{ "notaryd_stream_bytes_uncompressed_total",
		    "What those "
		    "bytes would have been without permessage-deflate.",
		    offsetof(struct status_stream, bytes_plain) },
		{ "notaryd_stream_connections_total",
		    "Stream connections "
		    "accepted.",
		    offsetof(struct status_stream, connects) },
	};
	size_t i, k;

	stream_clients(site->status, cl);
	head(b, "notaryd_stream_clients", "gauge", "Connected stream clients.");
	for (k = 0; k < STATUS_SHAPES; k++)
		buf_printf(b, "notaryd_stream_clients{stream=\"%s\"} %llu\n",
		    status_shape_name(k), U(cl[k]));
	for (i = 0; i < sizeof(per_shape) / sizeof(per_shape[0]); i++) {
		const _Atomic uint64_t *v =
		    (const _Atomic uint64_t *)((const char *)ss +
		        per_shape[i].off);
		head(b, per_shape[i].name, "counter", per_shape[i].help);
		for (k = 0; k < STATUS_SHAPES; k++)
			buf_printf(b, "%s{stream=\"%s\"} %llu\n",
			    per_shape[i].name, status_shape_name(k),
			    U(atomic_load(&v[k])));
	}
	head(b, "notaryd_stream_refused_total", "counter",
	    "Stream clients refused by the client limits (429).");
	buf_printf(b, "notaryd_stream_refused_total %llu\n",
	    U(atomic_load(&ss->refused)));
	head(b, "notaryd_stream_worker_lost_total", "counter",
	    "Ring records an HTTP worker was too slow to read.");
	buf_printf(b, "notaryd_stream_worker_lost_total %llu\n",
	    U(atomic_load(&ss->worker_lost)));
	ring_stats(site->ring, &rs);
	head(b, "notaryd_ring_published_total", "counter",
	    "Records published into the stream ring.");
	buf_printf(b, "notaryd_ring_published_total %llu\n", U(rs.published));
}

static void
ct_metrics(struct buf *b, const struct status *st)
{
	struct ctlog_copy        c;
	uint32_t                 i;
	int                      k, m;
	static const char *const names[] = {
		"notaryd_ct_tree_size",
		"notaryd_ct_next_index",
		"notaryd_ct_lag_entries",
		"notaryd_ct_lag_seconds",
		"notaryd_ct_backoff_state",
	};
	static const char *const helps[] = {
		"Last trusted tree size.",
		"Index after the last published "
		"entry.",
		"Entries in the log not yet published.",
		"How long entries have been waiting.",
		"0 ok, 1 backing off, 2 circuit open.",
	};

	for (m = 0; m < 5; m++) {
		head(b, names[m], "gauge", helps[m]);
		for (i = 0; i < nlogs(st); i++) {
			if (ctlog_read(&st->ctlog[i], &c) == -1)
				continue;
			buf_printf(b, "%s{log=\"", names[m]);
			label(b, c.url, sizeof(c.url));
			if (m == 3)
				buf_printf(b, "\"} %.3f\n",
				    (double)(c.lag_ms > 0 ? c.lag_ms : 0) /
				        1e3);
			else
				buf_printf(b, "\"} %llu\n",
				    U(m == 0         ? c.tree_size
				            : m == 1 ? c.next_index
				            : m == 2 ? c.lag
				                     : c.backoff));
		}
	}
	head(b, "notaryd_ct_fetch_errors_total", "counter",
	    "Fetch errors, by log and kind.");
	for (i = 0; i < nlogs(st); i++) {
		if (ctlog_read(&st->ctlog[i], &c) == -1)
			continue;
		for (k = 0; k < STATUS_CTFE_MAX; k++) {
			buf_puts(b, "notaryd_ct_fetch_errors_total{log=\"");
			label(b, c.url, sizeof(c.url));
			buf_printf(b, "\",kind=\"%s\"} %llu\n",
			    status_ctfe_name(k), U(c.fe[k]));
		}
	}
}

/* What ctwatch refused from each log: entries it could not decode (then
 * skipped), tree heads whose signature or origin failed, and tree sizes
 * that went back. */
static void
ct_reject_metrics(struct buf *b, const struct status *st)
{
	static const char *const reasons[3] = { "malformed_entry",
		"bad_signature", "shrunk" };
	struct ctlog_copy        c;
	uint32_t                 i;
	int                      k;

	head(b, "notaryd_ct_rejected_total", "counter",
	    "Entries and tree heads refused, by log and reason.");
	for (i = 0; i < nlogs(st); i++) {
		if (ctlog_read(&st->ctlog[i], &c) == -1)
			continue;
		for (k = 0; k < 3; k++) {
			buf_puts(b, "notaryd_ct_rejected_total{log=\"");
			label(b, c.url, sizeof(c.url));
			buf_printf(b, "\",reason=\"%s\"} %llu\n", reasons[k],
			    U(c.rejected[k]));
		}
	}
}

/* The HTTP workers' round trips to the signer: results and latency. */
static void
signer_metrics(struct buf *b, const struct status_counters *ct)
{
	uint64_t cum = 0;
	int      k;

	head(b, "notaryd_signer_requests_total", "counter",
	    "Signer round trips of the HTTP workers, by result.");
	for (k = 0; k < STATUS_SIGNER_RESULTS; k++)
		buf_printf(b,
		    "notaryd_signer_requests_total{result=\"%s\"} "
		    "%llu\n",
		    signer_results[k], U(atomic_load(&ct->signer[k])));
	head(b, "notaryd_signer_latency_seconds", "histogram",
	    "Signer round trip time seen by the HTTP workers.");
	for (k = 0; k <= STATUS_LAT_BUCKETS; k++) {
		cum += atomic_load(&ct->signer_lat[k]);
		if (k < STATUS_LAT_BUCKETS)
			buf_printf(b,
			    "notaryd_signer_latency_seconds_bucket{le="
			    "\"%g\"} %llu\n",
			    (double)status_lat_bounds_us[k] / 1e6, U(cum));
		else
			buf_printf(b,
			    "notaryd_signer_latency_seconds_bucket{le="
			    "\"+Inf\"} %llu\n",
			    U(cum));
	}
	buf_printf(b,
	    "notaryd_signer_latency_seconds_sum %.6f\n"
	    "notaryd_signer_latency_seconds_count %llu\n",
	    (double)atomic_load(&ct->signer_lat_us) / 1e6, U(cum));
}

static void
daemon_metrics(struct buf *b, struct http_site *site)
{
	const struct status          *st = site->status;
	const struct status_counters *ct = &st->counters;
	struct cache_stats            cs;
	int                           r, k;

	head(b, "notaryd_http_requests_total", "counter",
	    "HTTP answers, by route and status class.");
	for (r = 0; r < STATUS_RT_MAX; r++)
		for (k = 0; k < 5; k++)
			buf_printf(b,
			    "notaryd_http_requests_total{route=\"%s\","
			    "code=\"%dxx\"} %llu\n",
			    status_route_name(r), k + 1,
			    U(atomic_load(&st->http_requests[r][k])));
	memset(&cs, 0, sizeof(cs));
	if (site->cache != NULL)
		cache_stats(site->cache, &cs);
	head(b, "notaryd_cache_hits_total", "counter", "Response cache hits.");
	buf_printf(b, "notaryd_cache_hits_total %llu\n", U(cs.hits));
	head(b, "notaryd_cache_misses_total", "counter",
	    "Response cache misses.");
	buf_printf(b, "notaryd_cache_misses_total %llu\n", U(cs.misses));
	head(b, "notaryd_cache_evictions_total", "counter",
	    "Response cache evictions.");
	buf_printf(b, "notaryd_cache_evictions_total %llu\n", U(cs.evictions));
	signer_metrics(b, ct);
	head(b, "notaryd_scanner_probes_total", "counter",
	    "Probes finished, by result class.");
	for (k = 0; k < PROBE_NRESULTS && k < STATUS_PROBE_RESULTS; k++)
		buf_printf(b,
		    "notaryd_scanner_probes_total{result=\"%s\"} "
		    "%llu\n",
		    probe_result_name(k), U(atomic_load(&ct->probes[k])));
	head(b, "notaryd_scanner_queue_depth", "gauge",
	    "Services in the probe queue.");
	buf_printf(b, "notaryd_scanner_queue_depth %llu\n",
	    U(atomic_load(&ct->probe_queue)));
	head(b, "notaryd_db_recoveries_total", "counter",
	    "Database recoveries run by the master.");
	buf_printf(b, "notaryd_db_recoveries_total %llu\n",
	    U(atomic_load(&st->recoveries)));
	head(b, "notaryd_db_deadlock_retries_total", "counter",
	    "Transactions retried after a deadlock.");
	buf_printf(b, "notaryd_db_deadlock_retries_total %llu\n",
	    U(atomic_load(&ct->db_txn_retries)));
	head(b, "notaryd_child_spawns_total", "counter",
	    "Child processes started, by role.");
	for (r = ROLE_HTTP; r < ROLE_MAX; r++)
		buf_printf(b, "notaryd_child_spawns_total{role=\"%s\"} %llu\n",
		    role_name(r), U(atomic_load(&st->role[r].spawns)));
	head(b, "notaryd_child_crashes_total", "counter",
	    "Child processes that died abnormally (then restarted), by role.");
	for (r = ROLE_HTTP; r < ROLE_MAX; r++)
		buf_printf(b, "notaryd_child_crashes_total{role=\"%s\"} %llu\n",
		    role_name(r), U(atomic_load(&st->role[r].crashes)));
}

int
metrics_route(struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	const struct conf *cf = site->cf;

	if (req->path_len != strlen(cf->metrics.path) ||
	    memcmp(req->path, cf->metrics.path, req->path_len) != 0)
		return (0);
	resp->route = STATUS_RT_METRICS;
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD) {
		http_response_error(resp, 405);
		buf_puts(&resp->headers, "Allow: GET, HEAD\r\n");
		return (1);
	}
	if (site->peer == NULL ||
	    !netaddr_cidr_match(&cf->metrics.allow, site->peer)) {
		http_response_error(resp, 403);
		return (1);
	}
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_puts(&resp->headers, "Cache-Control: no-store\r\n");
	certstream_metrics(&resp->body, site->status);
	daemon_metrics(&resp->body, site);
	stream_metrics(&resp->body, site);
	ct_metrics(&resp->body, site->status);
	ct_reject_metrics(&resp->body, site->status);
	if (site->status != NULL)
		(void)status_nats_metrics(&site->status->nats, &resp->body);
	if (site->status != NULL && site->cf->ctwatch.from_nats)
		(void)status_natsrc_metrics(&site->status->natsrc, &resp->body);
	return (1);
}
