/*
 * signer_conv.c - the signer's Convergence side: the certificate and key
 * (made on the first start), the signed JSON replies with the decision of
 * spec §2.3 (the probe asked for says how convergence.sni wants it made:
 * the scanner does the SNI fallback), requests parked until the probe
 * they need is recorded (and
 * Perspectives queries held by perspectives.hold), and the private-key
 * operations of the workers' TLS handshakes.
 *
 * Runs in the signer process only (see signer.c for its loop and how it
 * fails).  Every reply goes through send_reply; a database error is
 * SIG_UNAVAILABLE, a request that cannot be parsed SIG_BAD.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/cache.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "server/conv_history.h"
#include "server/conv_wait.h"
#include "server/convergence.h"
#include "server/convkeys.h"
#include "server/keys.h"
#include "server/perspectives.h"
#include "server/signer_int.h"
#include "server/sigproto.h"
#include "store/obs.h"
#include "store/svcid.h"

/*
 * The Convergence certificate and key, when a Convergence listener is
 * configured: made on the first start when neither file is configured.
 * The SHA-1 logged is the pin clients take from the notary bundle.
 */
int
signer_conv_keys(struct signer *s)
{
	struct convkeys_cert c;
	char                 cert[PATH_MAX], key[PATH_MAX], err[512];
	int                  dflt, st = KEYS_EXISTED;

	if (s->cf->convergence.listen.n == 0)
		return (0);
	if ((dflt = convkeys_paths(
	         s->cf, cert, sizeof(cert), key, sizeof(key))) == -1) {
		log_errorx("convergence: data_dir path too long");
		return (-1);
	}
	if (dflt &&
	    (make_parent_dir(key) == -1 ||
	        (st = convkeys_ensure(cert, key, (uid_t)-1, (gid_t)-1, err,
	             sizeof(err))) == -1)) {
		log_errorx("%s", st == -1 ? err : strerror(errno));
		return (-1);
	}
	if (convkeys_load(cert, key, &s->conv_key, &c, err, sizeof(err)) ==
	    -1) {
		log_errorx("%s", err);
		return (-1);
	}
	if (st == KEYS_CREATED)
		log_notice("created a self-signed Convergence certificate %s; "
		           "SHA-1 %s",
		    cert, c.fp);
	else
		log_info("Convergence certificate %s, SHA-1 %s", cert, c.fp);
	convkeys_cert_free(&c);
	s->conv_rows = xcalloc(CONV_ROWS_MAX, sizeof(*s->conv_rows));
	return (0);
}

/* "svc" (GET) or "svc FP" (POST) into e.  0, or -1 when malformed. */
static int
conv_id(const struct sigproto_req *rq, struct conv_waiter *e)
{
	const char *sp = memchr(rq->id, ' ', rq->idlen);
	size_t      len = sp != NULL ? (size_t)(sp - rq->id) : rq->idlen;

	memset(e, 0, sizeof(*e));
	if (len == 0 || len > SVCID_MAX)
		return (-1);
	memcpy(e->svc, rq->id, len);
	e->svclen = len;
	if (sp != NULL) {
		if (!conv_fp_valid(sp + 1, rq->idlen - len - 1))
			return (-1);
		memcpy(e->fp, sp + 1, CONV_FP_LEN);
		e->post = 1;
	}
	return (0);
}

/*
 * How convergence.sni wants the probe for e made: fallback carries the
 * POSTed fingerprint (a GET probes once, without SNI).
 */
static void
conv_probe_way(
    const struct conf *cf, const struct conv_waiter *e, struct sched_probe *p)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	switch (cf->convergence.sni) {
	case CONF_SNI_ON:
		p->sni = SCHED_SNI_ON;
		return;
	case CONF_SNI_OFF:
		p->sni = SCHED_SNI_OFF;
		return;
	default:
		p->sni = SCHED_SNI_FALLBACK;
		break;
	}
	if (!e->post)
		return;
	/* e->fp passed conv_fp_valid: 20 uppercase hex pairs and colons. */
	for (i = 0; i < SCHED_WANT_LEN; i++)
		p->want[i] = (uint8_t)(util_hexval(e->fp[3 * i]) << 4 |
		    util_hexval(e->fp[3 * i + 1]));
	p->has_want = 1;
}

/*
 * Sign the n rows in s->conv_rows, cache the list (it does not depend on
 * the status) and send it with status.
 */
static void
conv_send_rows(struct signer *s, int fd, uint32_t seq, uint8_t status,
    const struct conv_waiter *e, size_t n, int64_t began)
{
	buf_reset(&s->reply);
	if (conv_build_reply(s->conv_rows, n, s->conv_key, &s->reply) == -1) {
		log_warnx("cannot build the Convergence reply for %s", e->svc);
		send_reply(fd, seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	cache_put(s->ctx->cache, CACHE_FMT_CONVERGENCE_JSON, e->svc, e->svclen,
	    s->reply.data, s->reply.len, s->cf->cache.ttl_ms, began, mono_ms());
	send_reply(fd, seq, status, s->reply.data, s->reply.len);
}

/*
 * The end of a wait (probe note or deadline): the probe counts if the
 * service's last successful probe is no older than the wait; then 200 if
 * it recorded the submitted fingerprint, else 409 with the fresh list
 * (every GET of an unknown target: spec §2.3); no probe result: 503.
 */
static void
persp_finish(struct signer *s, const struct conv_waiter *e)
{
	int64_t began = mono_ms();
	size_t  n;

	if (obs_read(&s->obs, e->svc, e->svclen, s->spans, SIGNER_MAX_SPANS,
	        &n) == -1) {
		send_reply(e->fd, e->seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	buf_reset(&s->reply);
	if (n == 0 ||
	    persp_build_reply(
	        e->svc, e->svclen, 2, s->spans, n, s->key, &s->reply) == -1) {
		send_reply(e->fd, e->seq, SIG_UNKNOWN, NULL, 0);
		return;
	}
	cache_put(s->ctx->cache, CACHE_FMT_PERSPECTIVES_XML, e->svc, e->svclen,
	    s->reply.data, s->reply.len, s->cf->cache.ttl_ms, began, mono_ms());
	send_reply(e->fd, e->seq, SIG_OK, s->reply.data, s->reply.len);
}

/*
 * perspectives.hold: a query for a service without observations waits
 * for the probe it causes (shared with identical queries) instead of a
 * 404 at once.  1 when parked, 0 to answer 404 now.
 */
int
persp_hold(struct signer *s, int fd, const struct sigproto_req *rq)
{
	struct conv_waiter e;
	int                r;

	if (s->cf->perspectives.hold_ms == 0 || rq->idlen > SVCID_MAX)
		return (0);
	memset(&e, 0, sizeof(e));
	memcpy(e.svc, rq->id, rq->idlen);
	e.svclen = rq->idlen;
	e.persp = 1;
	e.fd = fd;
	e.seq = rq->seq;
	e.since_s = wall_s();
	e.deadline = mono_ms() + s->cf->perspectives.hold_ms;
	if ((r = conv_waits_add(&s->waits, &e)) == -1)
		return (0);
	if (r == 1 && !queue_probe_id(s, e.svc, e.svclen, NULL)) {
		(void)conv_waits_take(&s->waits, e.svc, e.svclen, &e, 1);
		return (0);
	}
	return (1);
}

static void
conv_finish(struct signer *s, const struct conv_waiter *e)
{
	struct obs_service st;
	int64_t            began = mono_ms();
	size_t             n, i;
	uint8_t            status = SIG_CONFLICT;

	if (e->persp) {
		persp_finish(s, e);
		return;
	}
	if (conv_history_read(&s->obs, e->svc, e->svclen, s->spans,
	        SIGNER_MAX_SPANS, s->conv_rows, CONV_ROWS_MAX, &n) == -1) {
		send_reply(e->fd, e->seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	if (n == 0 || obs_service_get(&s->obs, e->svc, e->svclen, &st) != 0 ||
	    st.last_ok < e->since_s) {
		send_reply(e->fd, e->seq, SIG_PROBE_FAILED, NULL, 0);
		return;
	}
	for (i = 0; e->post && i < n; i++)
		if (strcmp(s->conv_rows[i].fp, e->fp) == 0)
			status = SIG_OK;
	conv_send_rows(s, e->fd, e->seq, status, e, n, began);
}

/*
 * The Convergence reply: the signed list of every certificate the service
 * ever showed (conv_history.h), cached under its own format byte and
 * dropped with the Perspectives reply when a scanner records a sighting.
 * With SIGPROTO_F_WAIT, the decision of spec §2.3: a hit is answered at
 * once; a miss parks the request until the probe it needs is recorded
 * (one probe for all identical requests, the on-demand limits apply).
 */
void
answer_conv(struct signer *s, int fd, const struct sigproto_req *rq)
{
	struct conv_waiter   e;
	struct conv_decision d;
	struct sched_probe   way;
	struct svcid         t;
	char                 err[128];
	int64_t              began = mono_ms();
	size_t               n;
	int                  r;

	if (s->conv_key == NULL || conv_id(rq, &e) == -1 ||
	    svcid_parse(e.svc, e.svclen, &t, err, sizeof(err)) == -1 ||
	    t.type != SVCID_TYPE_TLS) {
		send_reply(fd, rq->seq, SIG_BAD, NULL, 0);
		return;
	}
	if (conv_history_read(&s->obs, e.svc, e.svclen, s->spans,
	        SIGNER_MAX_SPANS, s->conv_rows, CONV_ROWS_MAX, &n) == -1) {
		send_reply(fd, rq->seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	conv_decide(e.post ? e.fp : NULL, 1, s->conv_rows, n, NULL, &d);
	conv_probe_way(s->cf, &e, &way);
	if (n > 0 &&
	    (d.action == CONV_REPLY || !(rq->flags & SIGPROTO_F_WAIT))) {
		conv_send_rows(s, fd, rq->seq, SIG_OK, &e, n, began);
		return;
	}
	if (!(rq->flags & SIGPROTO_F_WAIT)) {
		if (rq->flags & SIGPROTO_F_PROBE)
			(void)queue_probe_id(s, e.svc, e.svclen, &way);
		send_reply(fd, rq->seq, SIG_UNKNOWN, NULL, 0);
		return;
	}
	e.fd = fd;
	e.seq = rq->seq;
	e.since_s = wall_s();
	e.deadline = began + s->cf->scanner.timeout_ms + CONV_WAIT_SLACK_MS;
	if ((r = conv_waits_add(&s->waits, &e)) == 1 &&
	    !queue_probe_id(s, e.svc, e.svclen, &way)) {
		(void)conv_waits_take(&s->waits, e.svc, e.svclen, &e, 1);
		send_reply(fd, rq->seq, SIG_PROBE_FAILED, NULL, 0);
	} else if (r == -1)
		send_reply(fd, rq->seq, SIG_UNAVAILABLE, NULL, 0);
}

/* A scanner recorded a probe: answer everybody waiting for it. */
void
conv_note(struct signer *s, const char *svc, size_t len)
{
	struct conv_waiter done[64];
	size_t             n, i;

	while (
	    (n = conv_waits_take(&s->waits, svc, len, done, NELEM(done))) > 0)
		for (i = 0; i < n; i++)
			conv_finish(s, &done[i]);
}

void
conv_expire(struct signer *s)
{
	struct conv_waiter done[64];
	size_t             n, i;

	while ((n = conv_waits_expired(
	            &s->waits, mono_ms(), done, NELEM(done))) > 0)
		for (i = 0; i < n; i++)
			conv_finish(s, &done[i]);
}

/* A private-key operation for a worker's TLS handshake (sigproto.h). */
void
answer_keyop(struct signer *s, int fd, const struct sigproto_req *rq)
{
	uint8_t out[SIGPROTO_KEYOP_MAX];
	size_t  n;

	if (convkeys_private_op(s->conv_key, rq->flags, (const uint8_t *)rq->id,
	        rq->idlen, out, sizeof(out), &n) == -1) {
		log_warnx("refused a key operation (padding %d, %zu bytes)",
		    rq->flags, rq->idlen);
		send_reply(fd, rq->seq, SIG_BAD, NULL, 0);
		return;
	}
	send_reply(fd, rq->seq, SIG_OK, out, n);
}
