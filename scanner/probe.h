/*
 * probe.h - the TLS probe engine: fetch the leaf certificate a browser
 * would get from "host:port,2", asynchronously, many at a time.
 *
 * One engine belongs to one scanner process (or notaryctl scan, or a
 * benchmark) and is driven by its event loop; nothing blocks:
 *
 *   e = probe_engine_new(&opts);
 *   loop {
 *       while (have work && probe_submit(e, id, len, done, arg) ...)
 *           ...;                           (-1 at the concurrency limit:
 *                                           keep the job queued)
 *       poll({probe_engine_fd(e), POLLIN} + own fds,
 *            probe_engine_timeout(e));
 *       probe_engine_process(e);           (callbacks run from here)
 *   }
 *   probe_engine_free(e);
 *
 * A probe:
 *   1. the id is validated with svcid_parse before anything is resolved
 *      (type 1 is refused: only "2" = TLS is probed);
 *   2. DNS names are resolved with c-ares (A and AAAA, /etc/hosts first
 *      as c-ares does by default); IP literals skip DNS.  No blocking
 *      resolver call anywhere;
 *   3. every address is checked against deny minus allow
 *      (netaddr_denied: v4-mapped, v4-compatible, v4-translated, NAT64
 *      and 6to4 IPv6 addresses count as their IPv4 address); denied addresses
 *      are skipped, and when all are denied the result is DENIED and no
 *      connection is made.  The connect uses the very sockaddr that was
 *      checked.  Addresses are tried in the resolver's order; the next
 *      allowed one is tried after refused/unreachable while time remains;
 *   4. a non-blocking connect and an OpenSSL client handshake with
 *      browser-like settings: TLS 1.2..1.3, ECDHE+AEAD suites first (then
 *      the legacy suites browsers still offer), groups X25519, P-256,
 *      P-384, browser signature algorithms with ECDSA first (a server with
 *      RSA and ECDSA certificates picks the ECDSA one, as for a browser),
 *      ALPN h2/http/1.1, SNI for DNS names only (and only when opts.sni
 *      or the probe's own request says so: probe_submit_req),
 *      no certificate verification, no session resumption, security
 *      level 0 (a notary records weak keys too);
 *   5. on success: the leaf DER (at most OBS_DER_MAX bytes) and its MD5,
 *      SHA-1, SHA-256.  The connection is then closed (close_notify is
 *      sent when it fits, never awaited).
 * One deadline, opts.timeout_ms from probe_submit, covers DNS, every
 * connect attempt and the handshake.
 *
 * Hostile servers are bounded: the certificate list may be at most
 * PROBE_MAX_CERT_LIST bytes and the whole handshake input at most
 * PROBE_MAX_INPUT bytes (both PROTOCOL beyond that; nothing larger is
 * buffered); garbage is PROTOCOL; slow drips, half handshakes and silence
 * end as TIMEOUT at the deadline, which frees the slot.  Socket writes use
 * MSG_NOSIGNAL (no SIGPIPE).
 *
 * Threads: none; an engine is used by one thread.  Callbacks may call
 * probe_submit (a slot is free again when the callback runs) but must not
 * free the engine.
 */
#ifndef NOTARYD_PROBE_H
#define NOTARYD_PROBE_H

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"
#include "store/obs.h"
#include "store/outcome.h"

struct conf;

#define PROBE_MAX_CERT_LIST (256 * 1024)  /* Certificate message */
#define PROBE_MAX_INPUT     (1024 * 1024) /* all handshake bytes read */
#define PROBE_MAX_ADDRS     16            /* addresses kept from DNS */


struct probe_opts {
	int     concurrency;                   /* probes in flight, >= 1 */
	int64_t timeout_ms;                    /* whole probe, >= 1 */
	int     sni;                           /* send SNI for DNS names */
	const struct netaddr_cidr_list *deny;  /* NULL = deny nothing */
	const struct netaddr_cidr_list *allow; /* NULL = no exception */
	/*
	 * Resolver override, "ip:port,ip:port" (ares_set_servers_ports_csv
	 * syntax), or NULL for /etc/resolv.conf.  For tests and tools.
	 */
	const char                     *dns_servers;
};

struct probe_outcome {
	enum probe_result result;
	int               tls_alert;   /* alert description, TLS_ALERT only */
	int               tls_version; /* e.g. TLS1_3_VERSION when OK, else 0 */
	struct obs_fp     fp;          /* OK only */
	const uint8_t    *der;         /* leaf DER, OK only */
	size_t            derlen;
	/* last address connected (or denied), "1.2.3.4:443" or
	   "[::1]:443"; "" when none */
	char              addr[INET6_ADDRSTRLEN + 8];
	int               attempts;    /* connects started (0: none) */
	int64_t           elapsed_ms;  /* submit to completion */
	char              detail[160]; /* human-readable, for logs */
};

struct probe_stats {
	uint64_t submitted;
	uint64_t rejected; /* probe_submit -1: bad id or full */
	uint64_t results[PROBE_NRESULTS];
};

struct probe_engine;

/*
 * Called once per accepted probe, from probe_engine_process.  svc/len are
 * the id as submitted (valid during the call, like *out).
 */
typedef void (*probe_done_fn)(
    void *arg, const char *svc, size_t len, const struct probe_outcome *out);

/*
 * A new engine (its own epoll fd, c-ares channel and SSL_CTX).  The deny
 * and allow lists are referenced, not copied: they must outlive the
 * engine.  NULL (logged) when the resolver or TLS set-up fails.
 */
/* The options of scanner.* in cf (no resolver override). */
void probe_opts_from_conf(const struct conf *cf, struct probe_opts *o);
struct probe_engine *probe_engine_new(const struct probe_opts *o);
/* Cancel every probe in flight without callbacks; free everything. */
void                 probe_engine_free(struct probe_engine *e);

/*
 * Start probing svc (len bytes, not NUL-terminated necessarily).
 * 0: accepted, the callback will run exactly once (from
 * probe_engine_process), even when the result is known at once (denied
 * literal, immediate refusal).
 * -1 without a callback: the id is invalid or of type 1 (reason in err,
 * if err != NULL), or `concurrency` probes are in flight (err says
 * "busy"; errno EAGAIN, EINVAL otherwise).
 */
int probe_submit(struct probe_engine *e, const char *svc, size_t len,
    probe_done_fn cb, void *arg, char *err, size_t errlen);

/* How one probe differs from the engine's options. */
struct probe_req {
	int     sni;        /* -1: opts.sni; 0: never; 1: for DNS names */
	int64_t timeout_ms; /* 0: opts.timeout_ms; else at most that */
};

/* probe_submit with rq (NULL: the engine's options). */
int probe_submit_req(struct probe_engine *e, const char *svc, size_t len,
    const struct probe_req *rq, probe_done_fn cb, void *arg, char *err,
    size_t errlen);

/* The epoll fd to poll for POLLIN together with the caller's own fds. */
int    probe_engine_fd(const struct probe_engine *e);
/*
 * Milliseconds until the engine needs probe_engine_process without I/O
 * (a deadline, a resolver timer, or results waiting: 0); -1 when idle.
 */
int    probe_engine_timeout(struct probe_engine *e);
/* Handle ready I/O, expire deadlines, run callbacks.  Never blocks. */
void   probe_engine_process(struct probe_engine *e);
/* Probes accepted whose callback has not run yet. */
size_t probe_inflight(const struct probe_engine *e);
void   probe_engine_stats(const struct probe_engine *e, struct probe_stats *st);

/* "ok", "dns", "refused", "unreachable", "timeout", "tls-alert",
   "protocol", "denied", "reset", "other"; "?" when out of range. */

#endif
