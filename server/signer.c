/*
 * signer.c - the signer process: the only process that holds the notary's
 * private key.
 *
 * It accepts the HTTP workers on the master's signer socket (see
 * sigproto.h) and answers their cache misses: it reads the service's
 * observations in a short read transaction (read-only handles), builds
 * and signs the Perspectives reply, stores it in the shared cache and
 * sends it back.  A service with no observation answers "unknown" (404)
 * and, for a probe-able id, queues one on-demand probe (one per service,
 * a bounded number per second) in the scanners' queue.
 *
 * Start-up: load the key pair, or create it on the first start (1369-bit
 * RSA, private key 0600), and log the public key.  A key that cannot be
 * used (readable by others, wrong size, mismatched pair) is a
 * configuration error: exit 2, the master does not respawn.  Runs as a
 * database user: DB_RUNRECOVERY ends it with exit 3 and the master
 * recovers the environment.  Exits 0 on TERM/QUIT, 1 when the master is
 * gone.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/cache.h"
#include "common/conf.h"
#include "store/dbenv.h"
#include "common/probenote.h"
#include "server/conv_history.h"
#include "server/conv_wait.h"
#include "server/convkeys.h"
#include "server/keys.h"
#include "common/log.h"
#include "store/obs.h"
#include "server/perspectives.h"
#include "common/proc.h"
#include "store/schedule.h"
#include "server/sigproto.h"
#include "server/signer.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define SIGNER_MAX_CLIENTS	256	/* worker connections */
#define SIGNER_MAX_SPANS	OBS_MAX_SPANS

struct signer {
	struct proc_ctx		*ctx;
	const struct conf	*cf;
	EVP_PKEY		*key;
	EVP_PKEY		*conv_key;	/* NULL: no Convergence */
	struct conv_row		*conv_rows;	/* CONV_ROWS_MAX */
	struct conv_waits	 waits;		/* parked for a probe */
	DB_ENV			*env;
	struct obs_db		 obs;
	struct sched_db		 sched;
	int			 clients[SIGNER_MAX_CLIENTS];
	size_t			 nclients;
	struct obs_span		*spans;
	struct buf		 reply;
	/* on-demand requests: a token bucket, on_demand_limit per second */
	double			 od_tokens;
	int64_t			 od_refill;
};

/* ---- start-up --------------------------------------------------------- */

/* mkdir -p the directory that holds path (0700: it will hold a key). */
static int
make_parent_dir(const char *path)
{
	char	*dir = xstrdup(path), *p;
	int	 r = 0;

	if ((p = strrchr(dir, '/')) != NULL && p != dir) {
		*p = '\0';
		for (p = dir + 1; *p != '\0' && r == 0; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(dir, 0700) == -1 && errno != EEXIST)
				r = -1;
			*p = '/';
		}
		if (r == 0 && mkdir(dir, 0700) == -1 && errno != EEXIST)
			r = -1;
	}
	free(dir);
	return (r);
}

/*
 * The signer, not the master, creates the pair on the first start: no
 * other process ever has the private key in memory.  It runs as the
 * daemon user, so the files belong to that user.
 */
static int
signer_keys(struct signer *s)
{
	const struct conf	*cf = s->cf;
	char			 err[512], *pem = NULL;
	int			 st;

	if (make_parent_dir(cf->keys.private_key) == -1 ||
	    make_parent_dir(cf->keys.public_key) == -1) {
		log_errorx("cannot create the directory of %s: %s",
		    cf->keys.private_key, strerror(errno));
		return (-1);
	}
	st = keys_ensure(cf->keys.private_key, cf->keys.public_key,
	    (uid_t)-1, (gid_t)-1, err, sizeof(err));
	if (st == -1) {
		log_errorx("%s", err);
		return (-1);
	}
	if (keys_load(cf->keys.private_key, cf->keys.public_key, &s->key,
	    &pem, err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return (-1);
	}
	if (st == KEYS_CREATED)
		log_notice("created a new notary key pair (%s); public key:\n%s",
		    cf->keys.private_key, pem);
	else
		log_info("using public key\n%s", pem);
	free(pem);
	return (0);
}

/*
 * The Convergence certificate and key, when a Convergence listener is
 * configured: made on the first start when neither file is configured.
 * The SHA-1 logged is the pin clients take from the notary bundle.
 */
static int
signer_conv_keys(struct signer *s)
{
	struct convkeys_cert	c;
	char			cert[PATH_MAX], key[PATH_MAX], err[512];
	int			dflt, st = KEYS_EXISTED;

	if (s->cf->convergence.listen.n == 0)
		return (0);
	if ((dflt = convkeys_paths(s->cf, cert, sizeof(cert), key,
	    sizeof(key))) == -1) {
		log_errorx("convergence: data_dir path too long");
		return (-1);
	}
	if (dflt && (make_parent_dir(key) == -1 ||
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
		    "SHA-1 %s", cert, c.fp);
	else
		log_info("Convergence certificate %s, SHA-1 %s", cert, c.fp);
	convkeys_cert_free(&c);
	s->conv_rows = xcalloc(CONV_ROWS_MAX, sizeof(*s->conv_rows));
	return (0);
}

static int
signer_open_db(struct signer *s)
{
	struct db_env_opts	o;
	char			*home = proc_db_home(s->cf);
	int			 r;

	o.home = home;
	o.cache_bytes = s->cf->database.cache_size;
	o.recover = 0;
	r = db_env_open(&s->env, &o);
	free(home);
	if (r != 0)
		return (-1);
	if (obs_open(&s->obs, s->env, 1) == -1 ||
	    sched_open(&s->sched, s->env) == -1)
		return (-1);
	return (0);
}

static void
signer_close(struct signer *s)
{
	size_t	i;

	for (i = 0; i < s->nclients; i++)
		close(s->clients[i]);
	s->nclients = 0;
	sched_close(&s->sched);
	obs_close(&s->obs);
	if (s->env != NULL)
		db_env_close(s->env);
	EVP_PKEY_free(s->key);
	EVP_PKEY_free(s->conv_key);
	free(s->conv_rows);
	conv_waits_free(&s->waits);
	free(s->spans);
	buf_free(&s->reply);
}

/* ---- answering -------------------------------------------------------- */

static void
send_reply(int fd, uint32_t seq, uint8_t status, const void *body,
    size_t len)
{
	uint8_t		hdr[SIGPROTO_REP_HDR];
	struct iovec	iov[2];
	struct msghdr	mh;

	sigproto_rep_header(hdr, seq, status, len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	/* A worker that does not read gets no reply: it times out (503). */
	if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_debug("reply to a worker dropped: %s", strerror(errno));
}

static int
on_demand_allowed(struct signer *s)
{
	int64_t	now = mono_ms();
	double	rate = s->cf->scanner.on_demand_limit;

	s->od_tokens += (double)(now - s->od_refill) * rate / 1000.0;
	if (s->od_tokens > rate)
		s->od_tokens = rate;
	s->od_refill = now;
	if (s->od_tokens < 1.0)
		return (0);
	s->od_tokens -= 1.0;
	return (1);
}

/* 1 when a probe of id was queued, 0 when the limits refused it. */
static int
queue_probe_id(struct signer *s, const char *id, size_t len)
{
	if (s->cf->scanner.on_demand_limit == 0)
		return (0);
	if (!on_demand_allowed(s)) {
		log_debug("on-demand probe refused: over %d per second",
		    s->cf->scanner.on_demand_limit);
		return (0);
	}
	if (sched_request(&s->sched, id, len, wall_s() * 1000) != 0)
		return (0);
	log_debug("on-demand probe queued for %.*s", (int)len, id);
	return (1);
}

static void
queue_probe(struct signer *s, const struct sigproto_req *rq)
{
	(void)queue_probe_id(s, rq->id, rq->idlen);
}

/* "svc" (GET) or "svc FP" (POST) into e.  0, or -1 when malformed. */
static int
conv_id(const struct sigproto_req *rq, struct conv_waiter *e)
{
	const char	*sp = memchr(rq->id, ' ', rq->idlen);
	size_t		 len = sp != NULL ? (size_t)(sp - rq->id) : rq->idlen;

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
	int64_t	began = mono_ms();
	size_t	n;

	if (obs_read(&s->obs, e->svc, e->svclen, s->spans, SIGNER_MAX_SPANS,
	    &n) == -1) {
		send_reply(e->fd, e->seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	buf_reset(&s->reply);
	if (n == 0 || persp_build_reply(e->svc, e->svclen, 2, s->spans, n,
	    s->key, &s->reply) == -1) {
		send_reply(e->fd, e->seq, SIG_UNKNOWN, NULL, 0);
		return;
	}
	cache_put(s->ctx->cache, CACHE_FMT_PERSPECTIVES_XML, e->svc,
	    e->svclen, s->reply.data, s->reply.len, s->cf->cache.ttl_ms, began,
	    mono_ms());
	send_reply(e->fd, e->seq, SIG_OK, s->reply.data, s->reply.len);
}

/*
 * perspectives.hold: a query for a service without observations waits
 * for the probe it causes (shared with identical queries) instead of a
 * 404 at once.  1 when parked, 0 to answer 404 now.
 */
static int
persp_hold(struct signer *s, int fd, const struct sigproto_req *rq)
{
	struct conv_waiter	e;
	int			r;

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
	if (r == 1 && !queue_probe_id(s, e.svc, e.svclen)) {
		(void)conv_waits_take(&s->waits, e.svc, e.svclen, &e, 1);
		return (0);
	}
	return (1);
}

static void
conv_finish(struct signer *s, const struct conv_waiter *e)
{
	struct obs_service	st;
	int64_t			began = mono_ms();
	size_t			n, i;
	uint8_t			status = SIG_CONFLICT;

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
static void
answer_conv(struct signer *s, int fd, const struct sigproto_req *rq)
{
	struct conv_waiter	e;
	struct conv_decision	d;
	struct svcid		t;
	char			err[128];
	int64_t			began = mono_ms();
	size_t			n;
	int			r;

	if (s->conv_key == NULL || conv_id(rq, &e) == -1 ||
	    svcid_parse(e.svc, e.svclen, &t, err, sizeof(err)) == -1 ||
	    t.type != 2) {
		send_reply(fd, rq->seq, SIG_BAD, NULL, 0);
		return;
	}
	if (conv_history_read(&s->obs, e.svc, e.svclen, s->spans,
	    SIGNER_MAX_SPANS, s->conv_rows, CONV_ROWS_MAX, &n) == -1) {
		send_reply(fd, rq->seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	conv_decide(e.post ? e.fp : NULL, 1, s->conv_rows, n, NULL, &d);
	if (n > 0 && (d.action == CONV_REPLY ||
	    !(rq->flags & SIGPROTO_F_WAIT))) {
		conv_send_rows(s, fd, rq->seq, SIG_OK, &e, n, began);
		return;
	}
	if (!(rq->flags & SIGPROTO_F_WAIT)) {
		if (rq->flags & SIGPROTO_F_PROBE)
			(void)queue_probe_id(s, e.svc, e.svclen);
		send_reply(fd, rq->seq, SIG_UNKNOWN, NULL, 0);
		return;
	}
	e.fd = fd;
	e.seq = rq->seq;
	e.since_s = wall_s();
	e.deadline = began + s->cf->scanner.timeout_ms + CONV_WAIT_SLACK_MS;
	if ((r = conv_waits_add(&s->waits, &e)) == 1 &&
	    !queue_probe_id(s, e.svc, e.svclen)) {
		(void)conv_waits_take(&s->waits, e.svc, e.svclen, &e, 1);
		send_reply(fd, rq->seq, SIG_PROBE_FAILED, NULL, 0);
	} else if (r == -1)
		send_reply(fd, rq->seq, SIG_UNAVAILABLE, NULL, 0);
}

/* A scanner recorded a probe: answer everybody waiting for it. */
static void
conv_note(struct signer *s, const char *svc, size_t len)
{
	struct conv_waiter	done[64];
	size_t			n, i;

	while ((n = conv_waits_take(&s->waits, svc, len, done,
	    NELEM(done))) > 0)
		for (i = 0; i < n; i++)
			conv_finish(s, &done[i]);
}

static void
conv_expire(struct signer *s)
{
	struct conv_waiter	done[64];
	size_t			n, i;

	while ((n = conv_waits_expired(&s->waits, mono_ms(), done,
	    NELEM(done))) > 0)
		for (i = 0; i < n; i++)
			conv_finish(s, &done[i]);
}

/* A private-key operation for a worker's TLS handshake (sigproto.h). */
static void
answer_keyop(struct signer *s, int fd, const struct sigproto_req *rq)
{
	uint8_t	out[SIGPROTO_KEYOP_MAX];
	size_t	n;

	if (convkeys_private_op(s->conv_key, rq->flags,
	    (const uint8_t *)rq->id, rq->idlen, out, sizeof(out), &n) == -1) {
		log_warnx("refused a key operation (padding %d, %zu bytes)",
		    rq->flags, rq->idlen);
		send_reply(fd, rq->seq, SIG_BAD, NULL, 0);
		return;
	}
	send_reply(fd, rq->seq, SIG_OK, out, n);
}

/* Build, sign, cache and return the reply: one request, one answer. */
static void
answer(struct signer *s, int fd, const struct sigproto_req *rq)
{
	struct svcid	t;
	char		err[128];
	size_t		n;
	int64_t		began;

	if (rq->fmt == CACHE_FMT_CONVERGENCE_JSON) {
		answer_conv(s, fd, rq);
		return;
	}
	if (rq->fmt != CACHE_FMT_PERSPECTIVES_XML ||
	    svcid_parse(rq->id, rq->idlen, &t, err, sizeof(err)) == -1) {
		send_reply(fd, rq->seq, SIG_BAD, NULL, 0);
		return;
	}
	began = mono_ms();
	if (obs_read(&s->obs, rq->id, rq->idlen, s->spans, SIGNER_MAX_SPANS,
	    &n) == -1) {
		send_reply(fd, rq->seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	if (n == 0) {
		if ((rq->flags & SIGPROTO_F_PROBE) && t.type == 2 &&
		    persp_hold(s, fd, rq))
			return;
		if ((rq->flags & SIGPROTO_F_PROBE) && t.type == 2)
			queue_probe(s, rq);
		send_reply(fd, rq->seq, SIG_UNKNOWN, NULL, 0);
		return;
	}
	buf_reset(&s->reply);
	if (persp_build_reply(rq->id, rq->idlen, t.type, s->spans, n, s->key,
	    &s->reply) == -1) {
		log_warnx("cannot build the reply for %.*s", (int)rq->idlen,
		    rq->id);
		send_reply(fd, rq->seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	/* Before replying, so the next request for it is a cache hit. */
	cache_put(s->ctx->cache, CACHE_FMT_PERSPECTIVES_XML, rq->id,
	    rq->idlen, s->reply.data, s->reply.len, s->cf->cache.ttl_ms,
	    began, mono_ms());
	send_reply(fd, rq->seq, SIG_OK, s->reply.data, s->reply.len);
}

/* ---- connections ------------------------------------------------------- */

static void
drop_client(struct signer *s, size_t i)
{
	conv_waits_drop_fd(&s->waits, s->clients[i]);
	close(s->clients[i]);
	s->clients[i] = s->clients[--s->nclients];
}

static void
accept_clients(struct signer *s)
{
	int	fd;

	while ((fd = accept4(s->ctx->signer_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (s->nclients == SIGNER_MAX_CLIENTS) {
			log_warnx("too many worker connections");
			close(fd);
			continue;
		}
		s->clients[s->nclients++] = fd;
	}
}

/* Serve every message waiting on one worker connection; -1 to drop it. */
static int
serve_client(struct signer *s, int fd)
{
	uint8_t			msg[SIGPROTO_REQ_MAX + 1];
	struct sigproto_req	rq;
	ssize_t			n;

	for (;;) {
		n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (0);
		if (n <= 0)
			return (-1);
		if (n > 4 && msg[4] == PROBENOTE_FMT) {
			char	svc[PROBENOTE_SVC_MAX + 1];
			size_t	len;
			int	ok;

			if (probenote_decode(msg, (size_t)n, svc, sizeof(svc),
			    &len, &ok) == -1) {
				log_warnx("malformed probe note");
				return (-1);
			}
			conv_note(s, svc, len);
			continue;
		}
		if (n > 4 && msg[4] == SIGPROTO_FMT_KEYOP) {
			if (sigproto_keyop_decode(msg, (size_t)n, &rq) == -1) {
				log_warnx("malformed key operation");
				return (-1);
			}
			answer_keyop(s, fd, &rq);
			continue;
		}
		if (sigproto_req_decode(msg, (size_t)n, &rq) == -1) {
			log_warnx("malformed request from a worker");
			return (-1);
		}
		answer(s, fd, &rq);
	}
}

/* Until the first parked request's deadline, or -1 (none). */
static int
wait_ms(const struct signer *s)
{
	int64_t	next = conv_waits_next(&s->waits), now = mono_ms();

	if (next == INT64_MAX)
		return (-1);
	return (next > now ? (int)(next - now) : 0);
}

static int
signer_loop(struct signer *s, int sfd)
{
	struct pollfd		pfd[3 + SIGNER_MAX_CLIENTS];
	size_t			i, n;

	for (;;) {
		pfd[0].fd = sfd;
		pfd[1].fd = s->ctx->chan;
		pfd[2].fd = s->ctx->signer_fd;
		for (i = 0; i < s->nclients; i++)
			pfd[3 + i].fd = s->clients[i];
		n = 3 + s->nclients;
		for (i = 0; i < n; i++)
			pfd[i].events = POLLIN;
		if (poll(pfd, n, wait_ms(s)) == -1 && errno != EINTR)
			fatal("poll");
		conv_expire(s);
		switch (proc_poll_events(s->ctx, sfd, pfd[0].revents,
		    pfd[1].revents)) {
		case PROC_GONE:
			return (1);
		case PROC_STOP:
			return (0);
		}
		/* Walk backwards: drop_client moves the last one into i. */
		for (i = n; i-- > 3;) {
			if (pfd[i].revents == 0)
				continue;
			if (serve_client(s, pfd[i].fd) == -1)
				drop_client(s, i - 3);
		}
		if (pfd[2].revents & POLLIN)
			accept_clients(s);
	}
}

void
signer_main(struct proc_ctx *ctx)
{
	struct signer	s;
	int		sfd, gone;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.cf = ctx->cf;
	s.spans = xcalloc(SIGNER_MAX_SPANS, sizeof(*s.spans));
	conv_waits_init(&s.waits);
	buf_init(&s.reply, SIGPROTO_BODY_MAX);
	s.od_tokens = ctx->cf->scanner.on_demand_limit;
	s.od_refill = mono_ms();
	if ((sfd = proc_signalfd()) == -1)
		_exit(1);
	if (signer_keys(&s) == -1 || signer_conv_keys(&s) == -1)
		_exit(2);		/* an operator must fix the key */
	if (signer_open_db(&s) == -1) {
		log_warnx("cannot open the database; exiting");
		_exit(1);
	}
	if (proc_report_ready(ctx) == -1)
		_exit(1);
	gone = signer_loop(&s, sfd);
	signer_close(&s);
	_exit(gone ? 1 : 0);
}
