/*
 * outcome.h - what the store knows about one probe of a service: its
 * result class (stored, so the numbers only ever grow) and the one place
 * where a probe outcome is recorded (observation, failure counters,
 * rescan scheduling), used by the scanner role and by notaryctl scan.
 */
#ifndef NOTARYD_STORE_OUTCOME_H
#define NOTARYD_STORE_OUTCOME_H

/*
 * Result classes.  The numbers are stored (obs_service.last_result): only
 * append.  Names (probe_result_name) are stable for logs and summaries.
 */
enum probe_result {
	PROBE_OK = 0,		/* "ok": certificate obtained */
	PROBE_DNS,		/* "dns": NXDOMAIN, no address, resolver
				   failure */
	PROBE_REFUSED,		/* "refused": connection refused */
	PROBE_UNREACHABLE,	/* "unreachable": no route, net down ... */
	PROBE_TIMEOUT,		/* "timeout": the deadline passed (in DNS,
				   connect or handshake) */
	PROBE_TLS_ALERT,	/* "tls-alert": the server sent an alert
				   (tls_alert = its description number) */
	PROBE_PROTOCOL,		/* "protocol": garbage, bad handshake, EOF in
				   the handshake, no or oversized certificate */
	PROBE_DENIED,		/* "denied": every address in deny - allow */
	PROBE_RESET,		/* "reset": connection reset by the peer */
	PROBE_OTHER,		/* "other": local errors (sockets, memory) */
	PROBE_NRESULTS
};

/* Stable name of a result class ("ok", "timeout", ...), "?" if unknown. */
const char	*probe_result_name(enum probe_result r);

#endif
