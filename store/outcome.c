/*
 * outcome.c - probe outcomes in the store: result-class names and the
 * recording of one probe outcome.  Runs in the scanner processes and in
 * notaryctl; database errors are returned as -1 after one log line.
 */
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
