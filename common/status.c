/*
 * status.c - the master's shared process table (see status.h).
 * Created by the master before fork; the process table is written only by
 * the master, the CT log area only by ctwatch, the HTTP area by the HTTP
 * workers (atomic adds, and each its own slot) and the master (freeing
 * the slot of a worker it reaped).
 */
#include <sys/mman.h>
#include <sys/random.h>

#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/status.h"

static const char *const role_names[ROLE_MAX] = {
	[ROLE_MASTER] = "master",
	[ROLE_HTTP] = "http",
	[ROLE_SIGNER] = "signer",
	[ROLE_SCANNER] = "scanner",
	[ROLE_CTWATCH] = "ctwatch",
	[ROLE_NATSPUB] = "natspub",
	[ROLE_NATSRC] = "natsrc",
	[ROLE_RECOVERY] = "db-recover",
};

struct status *
status_create(void)
{
	struct status *st;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		log_warn("status: mmap %zu bytes", sizeof(*st));
		return (NULL);
	}
	/* Anonymous memory starts zeroed: no memset, so the pages of the
	 * per-worker tables (most of the mapping) stay untouched until used. */
	if (getrandom(st->addr_key, sizeof(st->addr_key), 0) !=
	    (ssize_t)sizeof(st->addr_key))
		log_warn("status: getrandom"); /* zero key: still works */
	st->magic = STATUS_MAGIC;
	return (st);
}

void
status_destroy(struct status *st)
{
	if (st != NULL)
		munmap(st, sizeof(*st));
}

const char *
role_name(enum role r)
{
	if ((unsigned)r >= ROLE_MAX)
		return ("unknown");
	return (role_names[r]);
}

int
status_healthy(const struct status *st)
{
	int r;

	if (st == NULL || st->magic != STATUS_MAGIC)
		return (0);
	if (atomic_load(&st->db_state) != DB_STATE_UP)
		return (0);
	for (r = ROLE_HTTP; r < ROLE_RECOVERY; r++) {
		if (atomic_load(&st->role[r].ready) <
		    atomic_load(&st->role[r].wanted))
			return (0);
	}
	return (1);
}

static const char *const ctfe_names[STATUS_CTFE_MAX] = {
	[STATUS_CTFE_CONNECT] = "connect",
	[STATUS_CTFE_TIMEOUT] = "timeout",
	[STATUS_CTFE_RATELIMIT] = "ratelimit",
	[STATUS_CTFE_HTTP4XX] = "http4xx",
	[STATUS_CTFE_HTTP5XX] = "http5xx",
	[STATUS_CTFE_TOOBIG] = "toobig",
	[STATUS_CTFE_MALFORMED] = "malformed",
};

const char *
status_ctfe_name(enum status_ctfe k)
{
	if ((unsigned)k >= STATUS_CTFE_MAX)
		return ("unknown");
	return (ctfe_names[k]);
}

/* A slot's gauges and counts back to zero (its pid aside). */
static void
slot_zero(struct status_http *h)
{
	size_t s, k;

	for (s = 0; s < STATUS_SHAPES; s++)
		atomic_store(&h->clients[s], 0);
	for (s = 0; s < STATUS_TOP_SKIPPERS; s++) {
		atomic_store(&h->top[s].id, 0);
		atomic_store(&h->top[s].skipped, 0);
	}
	for (k = 0; k < STATUS_CL_KINDS; k++) {
		atomic_store(&h->held[k], 0);
		for (s = 0; s < STATUS_IPC; s++)
			atomic_store(&h->ipc[k][s].n, 0);
	}
}

struct status_http *
status_http_claim(struct status *st, uint32_t pid)
{
	struct status_http *h;
	uint32_t            zero;
	size_t              i;

	for (i = 0; i < STATUS_MAX_HTTP; i++) {
		h = &st->http[i];
		zero = 0;
		if (!atomic_compare_exchange_strong(&h->pid, &zero, pid))
			continue;
		slot_zero(h);
		return (h);
	}
	log_warnx("status: no free HTTP worker slot");
	return (NULL);
}

void
status_http_release(struct status *st, uint32_t pid)
{
	size_t i;

	if (pid == 0)
		return;
	/* The process is gone: nothing writes the slot any more. */
	for (i = 0; i < STATUS_MAX_HTTP; i++)
		if (atomic_load(&st->http[i].pid) == pid) {
			slot_zero(&st->http[i]);
			atomic_store(&st->http[i].pid, 0);
		}
}

static const char *const shape_names[STATUS_SHAPES] = {
	[STATUS_SHAPE_LITE] = "lite",
	[STATUS_SHAPE_FULL] = "full",
	[STATUS_SHAPE_DOMAINS] = "domain",
};

const char *
status_shape_name(enum status_shape s)
{
	return ((unsigned)s < STATUS_SHAPES ? shape_names[s] : "unknown");
}

static const char *const route_names[STATUS_RT_MAX] = {
	[STATUS_RT_INDEX] = "index",
	[STATUS_RT_PERSPECTIVES] = "perspectives",
	[STATUS_RT_HEALTHZ] = "healthz",
	[STATUS_RT_FAVICON] = "favicon",
	[STATUS_RT_STREAM] = "stream",
	[STATUS_RT_SSE] = "sse",
	[STATUS_RT_EXAMPLE] = "example",
	[STATUS_RT_LATEST] = "latest",
	[STATUS_RT_STATS] = "stats",
	[STATUS_RT_METRICS] = "metrics",
	[STATUS_RT_OTHER] = "other",
};

const char *
status_route_name(enum status_route r)
{
	return ((unsigned)r < STATUS_RT_MAX ? route_names[r] : "unknown");
}

void
status_count_request(struct status *st, enum status_route r, int http_status)
{
	int cls = http_status / 100 - 1;

	if (st == NULL || (unsigned)r >= STATUS_RT_MAX || cls < 0 || cls > 4)
		return;
	atomic_fetch_add_explicit(
	    &st->http_requests[r][cls], 1, memory_order_relaxed);
}

const uint64_t status_lat_bounds_us[STATUS_LAT_BUCKETS] = {
	1000,
	2500,
	5000,
	10000,
	25000,
	50000,
	100000,
	250000,
	500000,
	1000000,
	1500000,
	2000000,
};

void
status_observe_latency(struct status *st, int64_t us)
{
	size_t b;

	if (st == NULL || us < 0)
		return;
	for (b = 0; b < STATUS_LAT_BUCKETS; b++)
		if ((uint64_t)us <= status_lat_bounds_us[b])
			break;
	atomic_fetch_add_explicit(
	    &st->counters.signer_lat[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &st->counters.signer_lat_us, (uint64_t)us, memory_order_relaxed);
}

const char *
status_nats_state_name(uint32_t state)
{
	static const char *const names[] = {
		[STATUS_NATS_OFF] = "off",
		[STATUS_NATS_CONNECTING] = "connecting",
		[STATUS_NATS_CONNECTED] = "connected",
		[STATUS_NATS_NOSTREAM] = "no_stream",
		[STATUS_NATS_RECONNECTING] = "reconnecting",
		[STATUS_NATS_CLOSED] = "closed",
	};

	if (state >= sizeof(names) / sizeof(names[0]))
		return ("unknown");
	return (names[state]);
}

/* One "# HELP/# TYPE" pair and its samples: name{label="v"} value. */
static int
prom_family(struct buf *out, const char *name, const char *type,
    const char *help, const char *label, const char *const *values,
    const uint64_t *n, size_t count)
{
	size_t i;
	int    rv;

	rv = buf_printf(
	    out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (i = 0; rv == 0 && i < count; i++) {
		if (label == NULL)
			rv = buf_printf(
			    out, "%s %llu\n", name, (unsigned long long)n[i]);
		else
			rv = buf_printf(out, "%s{%s=\"%s\"} %llu\n", name,
			    label, values[i], (unsigned long long)n[i]);
	}
	return (rv);
}

int
status_nats_metrics(const struct status_nats *a, struct buf *out)
{
	static const char *const msg[] = { "taken", "published", "acked",
		"failed", "dropped" };
	static const char *const rec[] = { "read", "ring_skipped",
		"malformed" };
	const char              *states[STATUS_NATS_CLOSED + 1];
	uint64_t                 m[5], r[3], s[STATUS_NATS_CLOSED + 1], g;
	uint32_t                 state = atomic_load(&a->state);
	size_t                   i;
	int                      rv;

	m[0] = atomic_load(&a->taken);
	m[1] = atomic_load(&a->published);
	m[2] = atomic_load(&a->acked);
	m[3] = atomic_load(&a->failed);
	m[4] = atomic_load(&a->dropped);
	r[0] = atomic_load(&a->records);
	r[1] = atomic_load(&a->ring_skipped);
	r[2] = atomic_load(&a->bad_records);
	for (i = 0; i < 6; i++) {
		states[i] = status_nats_state_name((uint32_t)i);
		s[i] = (i == state);
	}
	rv = prom_family(out, "notaryd_nats_messages_total", "counter",
	    "NATS messages by outcome (one per shape of an entry)", "outcome",
	    msg, m, 5);
	rv |= prom_family(out, "notaryd_nats_records_total", "counter",
	    "Stream ring records seen by the NATS publisher", "result", rec, r,
	    3);
	rv |= prom_family(out, "notaryd_nats_state", "gauge",
	    "NATS publisher connection state (1 = current)", "state", states, s,
	    6);
	g = atomic_load(&a->pending);
	rv |= prom_family(out, "notaryd_nats_pending", "gauge",
	    "Publishes awaiting their JetStream ack", NULL, NULL, &g, 1);
	g = atomic_load(&a->buffered);
	rv |= prom_family(out, "notaryd_nats_buffered_messages", "gauge",
	    "Messages queued while NATS is down or slow", NULL, NULL, &g, 1);
	g = atomic_load(&a->buffered_bytes);
	rv |= prom_family(out, "notaryd_nats_buffered_bytes", "gauge",
	    "Payload bytes queued (bounded by nats.buffer)", NULL, NULL, &g, 1);
	g = atomic_load(&a->reconnects);
	rv |= prom_family(out, "notaryd_nats_reconnects_total", "counter",
	    "Reconnections to NATS", NULL, NULL, &g, 1);
	g = atomic_load(&a->disconnects);
	rv |= prom_family(out, "notaryd_nats_disconnects_total", "counter",
	    "Connections to NATS lost", NULL, NULL, &g, 1);
	return (rv == 0 ? 0 : -1);
}

int
status_natsrc_metrics(const struct status_natsrc *a, struct buf *out)
{
	static const char *const res[] = { "written", "malformed", "stale" };
	const char              *states[STATUS_NATS_CLOSED + 1];
	uint64_t                 m[3], s[STATUS_NATS_CLOSED + 1], g;
	uint32_t                 state = atomic_load(&a->state);
	size_t                   i;
	int                      rv;

	m[0] = atomic_load(&a->written);
	m[1] = atomic_load(&a->malformed);
	m[2] = atomic_load(&a->stale);
	for (i = 0; i < 6; i++) {
		states[i] = status_nats_state_name((uint32_t)i);
		s[i] = (i == state);
	}
	rv = prom_family(out, "notaryd_natsrc_messages_total", "counter",
	    "Entries a stream front took from JetStream, by outcome", "result",
	    res, m, 3);
	rv |= prom_family(out, "notaryd_natsrc_state", "gauge",
	    "NATS source connection state (1 = current)", "state", states, s,
	    6);
	g = atomic_load(&a->next_seq);
	rv |= prom_family(out, "notaryd_natsrc_next_sequence", "gauge",
	    "JetStream sequence after the last entry in the ring", NULL, NULL,
	    &g, 1);
	g = atomic_load(&a->subscribes);
	rv |= prom_family(out, "notaryd_natsrc_subscribes_total", "counter",
	    "JetStream consumers created", NULL, NULL, &g, 1);
	return (rv == 0 ? 0 : -1);
}
