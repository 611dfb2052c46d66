/*
 * convergence.h - the Convergence notary protocol (the reference notary
 * is moxie0/Convergence server/, Python 2 + Twisted): request parsing,
 * the decision order, the signed JSON reply, reply framing, the CONNECT
 * bounce-relay request and the .notary bundle.
 *
 * Everything here is pure: no I/O, no logging, no global state.  Which
 * process uses what:
 *   - HTTP workers: conv_parse_request (400/404/405 without asking
 *     anybody), conv_frame_*, conv_parse_connect and the relay replies;
 *   - the signer: conv_decide, conv_sort_rows, conv_build_reply (the
 *     only caller that holds the private key);
 *   - notaryctl and tests: conv_bundle, conv_verify_body, conv_fp_text.
 *
 * Choices between the reference notary and its fork (mk-fg/convergence):
 *   - two or more '+' in the target: 400 (the reference crashes: 500);
 *   - a submitted fingerprint that is not 59 characters of uppercase
 *     colon-hex: 400 "Invalid fingerprint." (the reference stores it);
 *   - a host that the service-id rules refuse, or a port that is not
 *     canonical decimal 1..65535: 400 "Invalid target." (the reference
 *     misses its cache and fails the probe: 503); both are a
 *     CONNECTIVITY_FAILURE for the client, and the ids that are accepted
 *     are exactly the Perspectives service ids "host:port,2", so both
 *     protocols share one history;
 *   - a third path segment (the fork's client appends the address it
 *     connected to) is ignored, as the reference does: probing an
 *     address the client chose would bypass name resolution and the
 *     deny list's view of the name;
 *   - entries with the same finish are ordered by start, then
 *     fingerprint, both descending (the reference leaves ties to
 *     SQLite);
 *   - SNI (convergence.sni, spec §4): by default a probe goes without SNI
 *     like the reference's, and a POST that does not match is probed
 *     once more with SNI (the fork always sends it); only the matching
 *     certificate is recorded, or, when neither matches, the one seen
 *     without SNI, so the history is the reference's unless SNI made the
 *     client's certificate appear.  "off" is the reference, "on" the fork.
 */
#ifndef NOTARYD_CONVERGENCE_H
#define NOTARYD_CONVERGENCE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "store/svcid.h"

#define CONV_FP_LEN        59   /* "AA:BB:...:TT", 20 octets */
#define CONV_HOST_MAX      253  /* decoded host bytes */
#define CONV_PORT_MAX      5    /* decimal digits */
#define CONV_SIG_MAX       512  /* a 4096-bit key at most */
#define CONV_ROWS_MAX      4096 /* entries in one reply */
#define CONV_CONNECT_MAX   8192 /* CONNECT request head, bytes */
#define CONV_CONNECT_DESTS 8    /* request-URI + alternatives */
#define CONV_RELAY_PORT    4242 /* the only port the relay reaches */

/* ---- requests on the TLS ports (spec §2.2) -------------------------- */

struct conv_request_in {
	const char *method; /* as received, e.g. "POST" */
	size_t      method_len;
	const char *path; /* request path up to '?' */
	size_t      path_len;
	const char *query; /* after '?', or NULL */
	size_t      query_len;
	const char *ctype; /* Content-Type value, or NULL */
	size_t      ctype_len;
	const char *body; /* request body, or NULL */
	size_t      body_len;
};

struct conv_query {
	int          status; /* 0 = look it up; else 400/404/405 */
	const char  *msg;    /* error text for conv_frame_error */
	int          post;   /* 1 POST (fp set), 0 GET (no fp) */
	char         fp[CONV_FP_LEN + 1];
	char         host[CONV_HOST_MAX + 1]; /* decoded, as sent */
	char         port[CONV_PORT_MAX + 1];
	/* "host:port" (the reference's location) and "host:port,2". */
	char         location[CONV_HOST_MAX + CONV_PORT_MAX + 2];
	char         svc[SVCID_MAX + 1];
	size_t       svclen;
	struct svcid target; /* where to probe */
};

/*
 * Parse a request to a Convergence TLS port, in the reference's order:
 *   1. the path, split on '/', each segment percent-decoded once ('+'
 *      stays '+', a '%' not followed by two hex digits stays '%'): the
 *      first segment must be "target", else 404;
 *   2. method other than GET and POST (compared exactly): 405
 *      "Unsupported method.";
 *   3. no segment after "target": 400 "You must specify a target.";
 *   4. no '+' in it: 400 "You must specify a destination port."; two or
 *      more: 400 "Invalid target.";
 *   5. POST without a fingerprint argument (query string and, when the
 *      Content-Type is application/x-www-form-urlencoded, the body,
 *      parsed like parse_qs: '&' and ';' separate, '+' is a space, the
 *      first value wins): 400 "You must specify a fingerprint."; one that
 *      is not uppercase colon-hex of 20 octets: 400 "Invalid
 *      fingerprint."; GET ignores any fingerprint;
 *   6. host or port refused (see the top of this file): 400 "Invalid
 *      target.".
 * Returns q->status.
 */
int conv_parse_request(const struct conv_request_in *in, struct conv_query *q);

/* 1 when s is exactly 20 octets of uppercase colon-hex. */
int  conv_fp_valid(const char *s, size_t len);
/* Uppercase colon-hex of a 20-byte SHA-1 into out (60 bytes with NUL). */
void conv_fp_text(const uint8_t sha1[20], char out[CONV_FP_LEN + 1]);

/* ---- the decision (spec §2.3) --------------------------------------- */

struct conv_row {
	char    fp[CONV_FP_LEN + 1];
	int64_t start;  /* first probe that saw fp */
	int64_t finish; /* last probe that saw fp */
};

enum conv_action {
	CONV_REPLY = 0, /* answer status (msg or the signed list) */
	CONV_PROBE,     /* probe the target, then decide again */
};

/* What a finished probe saw; up to two tries (without, then with SNI). */
struct conv_probe {
	int    ok;    /* a leaf certificate was seen */
	int    db_ok; /* and was recorded */
	size_t nseen; /* 1 or 2 */
	char   seen[2][CONV_FP_LEN + 1];
};

struct conv_decision {
	enum conv_action action;
	int              status; /* 200, 409 or 503 */
	const char      *msg;    /* 503 text, else NULL (signed list) */
	int              record; /* index into probe->seen to store */
};

/*
 * One pure step of the decision order.  fp is the submitted fingerprint
 * (NULL for GET); rows is the history read before any probe (db_ok 0 when
 * that read failed); probe is NULL before the probe, else its result,
 * with rows then re-read after recording it.
 *   - history read failed: 503 "Error retrieving records.";
 *   - no probe yet: a hit (rows, and GET or fp among them) is 200;
 *     anything else is CONV_PROBE;
 *   - probe failed or its recording failed: 503 "Internal Error.";
 *   - fp among the seen fingerprints: 200 (record = that one), else 409
 *     (record = the first, the certificate seen without SNI).
 */
void conv_decide(const char *fp, int db_ok, const struct conv_row *rows,
    size_t n, const struct conv_probe *probe, struct conv_decision *d);

/* Newest finish first; ties by start, then fingerprint, descending. */
void conv_sort_rows(struct conv_row *rows, size_t n);

/* ---- the signed JSON reply (spec §3) -------------------------------- */

/*
 * Append UNSIGNED, Python 2 json.dumps of {'fingerprintList': rows}:
 *   {"fingerprintList": [{"timestamp": {"start": "S", "finish": "F"},
 *   "fingerprint": "FP"}, ...]}
 * (one line), in the given order.  Every fp must pass conv_fp_valid and
 * every time be >= 0.  0, or -1 with out unchanged.
 */
int conv_unsigned(const struct conv_row *rows, size_t n, struct buf *out);
/* RSASSA-PKCS1-v1_5 SHA-1; sig gets EVP_PKEY_get_size bytes.  0 or -1. */
int conv_sign(EVP_PKEY *key, const void *data, size_t len, unsigned char *sig,
    size_t sigmax, size_t *siglen);
/*
 * Append BODY: UNSIGNED without its final '}', then ', "signature": "',
 * the standard base64 of conv_sign(UNSIGNED), '"}'.  0, or -1 with out
 * unchanged.
 */
int conv_build_reply(
    const struct conv_row *rows, size_t n, EVP_PKEY *key, struct buf *out);
/*
 * Check a BODY as a verifier would: cut from ', "signature": "' to the
 * end, append '}', verify the base64 signature over that with pub.  1
 * valid, 0 not.
 */
int conv_verify_body(const char *body, size_t len, EVP_PKEY *pub);

/* ---- reply framing (spec §2.5) -------------------------------------- */

/* "OK", "Conflict", ... (Twisted's phrases); "Unknown" otherwise. */
const char *conv_reason(int status);
/*
 * Append "HTTP/1.0 <status> <reason>\r\n", Content-Type (application/json
 * for 200 and 409, text/html otherwise), Content-Length, Connection:
 * close, a blank line, then body.  0 or -1.
 */
int conv_frame(int status, const char *body, size_t len, struct buf *out);
/* The same with the body "<html><body>msg</body></html>". */
int conv_frame_error(int status, const char *msg, struct buf *out);

/* ---- the CONNECT bounce relay (spec §5) ----------------------------- */

struct conv_connect {
	int    ok;            /* 1 tunnel, 0 refuse with 403 */
	int    version_minor; /* for the 403/404 status line */
	size_t ndest;
	char   dest[CONV_CONNECT_DESTS][CONV_HOST_MAX + 1];
	size_t head_len; /* bytes of the request head */
};

/*
 * Parse a request head on the relay port: > 0 complete (head_len bytes,
 * c->ok says tunnel or refuse), 0 need more, -1 too long or not HTTP at
 * all (refuse with 403 and close).  Destinations are the request-URI
 * and every X-Convergence-Notary value; the request is refused when the
 * method is not "CONNECT" (after trimming blanks), when a destination
 * contains ':' without ending in ":4242" or '+' without ending in
 * "+4242", when there are more than CONV_CONNECT_DESTS, or (notaryd)
 * when a host (text before the first ':', else before the first '+')
 * is not a valid DNS name or dotted IPv4 address.
 */
int conv_parse_connect(const char *buf, size_t len, struct conv_connect *c);
/* The exact three-line 200 for host, then a blank line. */
int conv_connect_ok(const char *host, struct buf *out);
/* 403 Access Denied / 404 Unable to connect, with the reference bodies. */
int conv_connect_refused(int version_minor, struct buf *out);
int conv_connect_failed(int version_minor, struct buf *out);

/* ---- the .notary bundle (spec §7) ----------------------------------- */

struct conv_bundle_host {
	const char *host;
	int         ssl_port;
	int         http_port;
	const char *cert_pem; /* leaf first; CRLF becomes LF */
};

/*
 * Append a version-1 bundle, one line of Python-style JSON:
 *   {"name": N, "bundle_location": L, "version": 1, ["region": R, ]
 *    "hosts": [{"host": H, "ssl_port": P, "http_port": Q,
 *    "certificate": PEM}, ...]}
 * Strings are escaped as json.dumps does (ensure_ascii).  Refused (-1,
 * out unchanged): empty name, location not "https://...notary", region
 * not two uppercase letters (NULL omits it), n == 0, a host that is not
 * a DNS name or IPv4 address, ports outside 1..65535, a PEM without a
 * certificate block.
 */
int conv_bundle(const char *name, const char *location, const char *region,
    const struct conv_bundle_host *hosts, size_t n, struct buf *out);
/* Append s as a JSON string (quotes included), ensure_ascii; 0 or -1. */
int conv_json_string(const char *s, size_t len, struct buf *out);

#endif
