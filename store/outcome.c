/*
 * outcome.c - probe outcomes in the store: result-class names and the
 * recording of one probe outcome.  Runs in the scanner processes and in
 * notaryctl; database errors are returned as -1 after one log line.
 */
#include "common/cache.h"
#include "common/log.h"
#include "common/util.h"
#include "store/outcome.h"

static const char *const result_names[PROBE_NRESULTS] = {
	[PROBE_OK] = "ok",
	[PROBE_DNS] = "dns",
	[PROBE_REFUSED] = "refused",
	[PROBE_UNREACHABLE] = "unreachable",
	[PROBE_TIMEOUT] = "timeout",
	[PROBE_TLS_ALERT] = "tls-alert",
	[PROBE_PROTOCOL] = "protocol",
	[PROBE_DENIED] = "denied",
	[PROBE_RESET] = "reset",
	[PROBE_OTHER] = "other",
};

const char *
probe_result_name(enum probe_result r)
{
	if ((unsigned)r >= PROBE_NRESULTS)
		return ("?");
	return (result_names[r]);
}

/* The newest sighting of the service (unix s), or -1 when never seen. */
static int64_t
newest_end(const struct outcome_sink *sink, const char *svc, size_t len)
{
	size_t  n, i;
	int64_t end = -1;

	if (obs_read(sink->obs, svc, len, sink->spans, OBS_MAX_SPANS, &n) == -1)
		return (-1);
	for (i = 0; i < n; i++)
		if (sink->spans[i].end > end)
			end = sink->spans[i].end;
	return (end);
}

static void
reschedule(const struct outcome_sink *sink, const char *svc, size_t len,
    int64_t now, int ok)
{
	int64_t end = ok ? now : newest_end(sink, svc, len);

	if (sink->rescan_interval_ms > 0 && end >= 0 &&
	    (now - end) * 1000 <= sink->rescan_newer_than_ms)
		sched_set(sink->sched, svc, len,
		    now * 1000 + sink->rescan_interval_ms);
	else
		sched_remove(sink->sched, svc, len);
}

int
outcome_record(const struct outcome_sink *sink, const char *svc, size_t len,
    const struct outcome *o, int64_t now, enum obs_outcome *what)
{
	struct obs_service st;
	enum obs_outcome   changed;
	int                r = 0;

	if (o->result == PROBE_OK) {
		r = obs_record(sink->obs, svc, len, o->fp, o->der, o->derlen,
		    now, &changed);
		if (r == 0 && sink->cache != NULL)
			cache_invalidate_service(
			    sink->cache, svc, len, mono_ms());
		if (r == 0 && what != NULL)
			*what = changed;
	} else if (o->by_operator ||
	    obs_service_get(sink->obs, svc, len, &st) == 0)
		obs_record_failure(sink->obs, svc, len, o->result, now);
	reschedule(sink, svc, len, now, o->result == PROBE_OK && r == 0);
	return (r);
}
