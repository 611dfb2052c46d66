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
 * a bounded number per second) in the scanners' queue, or, with
 * perspectives.hold, waits for that probe.  The Convergence side (the
 * TLS certificate and key, signed JSON, requests parked for a probe until
 * a scanner's note, handshake key operations) is in signer_conv.c.
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
#include "common/probenote.h"
#include "store/session.h"
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
#include "server/signer_int.h"

/* ---- start-up --------------------------------------------------------- */

/* mkdir -p the directory that holds path (0700: it will hold a key). */
int
make_parent_dir(const char *path)
{
	char *dir = xstrdup(path), *p;
	int   r = 0;

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
	const struct conf *cf = s->cf;
	char               err[512], *pem = NULL;
	int                st;

	if (make_parent_dir(cf->keys.private_key) == -1 ||
	    make_parent_dir(cf->keys.public_key) == -1) {
		log_errorx("cannot create the directory of %s: %s",
		    cf->keys.private_key, strerror(errno));
		return (-1);
	}
	st = keys_ensure(cf->keys.private_key, cf->keys.public_key, (uid_t)-1,
	    (gid_t)-1, err, sizeof(err));
	if (st == -1) {
		log_errorx("%s", err);
		return (-1);
	}
	if (keys_load(cf->keys.private_key, cf->keys.public_key, &s->key, &pem,
	        err, sizeof(err)) == -1) {
		log_errorx("%s", err);
		return (-1);
	}
	if (st == KEYS_CREATED)
		log_notice(
		    "created a new notary key pair (%s); public key:\n%s",
		    cf->keys.private_key, pem);
	else
		log_info("using public key\n%s", pem);
	free(pem);
	return (0);
}

static int
signer_open_db(struct signer *s)
{
	if (store_env_open(s->cf, &s->env) == -1)
		return (-1);
	db_count_retries(&s->ctx->status->counters.db_txn_retries);
	if (obs_open(&s->obs, s->env, 1) == -1 ||
	    sched_open(&s->sched, s->env) == -1)
		return (-1);
	return (0);
}

static void
signer_close_all(struct signer *s)
{
	size_t i;

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

void
send_reply(int fd, uint32_t seq, uint8_t status, const void *body, size_t len)
{
	uint8_t       hdr[SIGPROTO_REP_HDR];
	struct iovec  iov[2];
	struct msghdr mh;

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
	int64_t now = mono_ms();
	double  rate = s->cf->scanner.on_demand_limit;

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
int
queue_probe_id(
    struct signer *s, const char *id, size_t len, const struct sched_probe *p)
{
	if (s->cf->scanner.on_demand_limit == 0)
		return (0);
	if (!on_demand_allowed(s)) {
		log_debug("on-demand probe refused: over %d per second",
		    s->cf->scanner.on_demand_limit);
		return (0);
	}
	if (sched_request_probe(&s->sched, id, len, wall_s() * 1000, p) != 0)
		return (0);
	log_debug("on-demand probe queued for %.*s", (int)len, id);
	return (1);
}

static void
queue_probe(struct signer *s, const struct sigproto_req *rq)
{
	(void)queue_probe_id(s, rq->id, rq->idlen, NULL);
}

/* Build, sign, cache and return the reply: one request, one answer. */
static void
answer(struct signer *s, int fd, const struct sigproto_req *rq)
{
	struct svcid t;
	char         err[128];
	size_t       n;
	int64_t      began;

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
		if ((rq->flags & SIGPROTO_F_PROBE) &&
		    t.type == SVCID_TYPE_TLS && persp_hold(s, fd, rq))
			return;
		if ((rq->flags & SIGPROTO_F_PROBE) && t.type == SVCID_TYPE_TLS)
			queue_probe(s, rq);
		send_reply(fd, rq->seq, SIG_UNKNOWN, NULL, 0);
		return;
	}
	buf_reset(&s->reply);
	if (persp_build_reply(rq->id, rq->idlen, t.type, s->spans, n, s->key,
	        &s->reply) == -1) {
		log_warnx(
		    "cannot build the reply for %.*s", (int)rq->idlen, rq->id);
		send_reply(fd, rq->seq, SIG_UNAVAILABLE, NULL, 0);
		return;
	}
	/* Before replying, so the next request for it is a cache hit. */
	cache_put(s->ctx->cache, CACHE_FMT_PERSPECTIVES_XML, rq->id, rq->idlen,
	    s->reply.data, s->reply.len, s->cf->cache.ttl_ms, began, mono_ms());
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
	int fd;

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
	uint8_t             msg[SIGPROTO_REQ_MAX + 1];
	struct sigproto_req rq;
	ssize_t             n;

	for (;;) {
		n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (0);
		if (n <= 0)
			return (-1);
		if (n > 4 && msg[4] == PROBENOTE_FMT) {
			char   svc[PROBENOTE_SVC_MAX + 1];
			size_t len;
			int    ok;

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
	int64_t next = conv_waits_next(&s->waits), now = mono_ms();

	if (next == INT64_MAX)
		return (-1);
	return (next > now ? (int)(next - now) : 0);
}

static int
signer_loop(struct signer *s, int sfd)
{
	struct pollfd pfd[3 + SIGNER_MAX_CLIENTS];
	size_t        i, n;

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
		switch (proc_poll_events(
		    s->ctx, sfd, pfd[0].revents, pfd[1].revents)) {
		case PROC_GONE:
			return (PROC_EXIT_FAIL);
		case PROC_STOP:
			return (PROC_EXIT_OK);
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

static void *
signer_open(struct proc_ctx *ctx, int *code)
{
	struct signer *s = xcalloc(1, sizeof(*s));

	s->ctx = ctx;
	s->cf = ctx->cf;
	s->spans = xcalloc(SIGNER_MAX_SPANS, sizeof(*s->spans));
	conv_waits_init(&s->waits);
	buf_init(&s->reply, SIGPROTO_BODY_MAX);
	s->od_tokens = ctx->cf->scanner.on_demand_limit;
	s->od_refill = mono_ms();
	if (signer_keys(s) == -1 || signer_conv_keys(s) == -1) {
		*code = PROC_EXIT_FATAL; /* an operator must fix the key */
		return (NULL);
	}
	if (signer_open_db(s) == -1) {
		log_warnx("cannot open the database; exiting");
		*code = PROC_EXIT_FAIL;
		return (NULL);
	}
	return (s);
}

static int
signer_run(void *state, struct proc_ctx *ctx, int sfd)
{
	(void)ctx;
	return (signer_loop(state, sfd));
}

static void
signer_close(void *state)
{
	signer_close_all(state);
	free(state);
}

const struct role_ops signer_role = { signer_open, signer_run, signer_close,
	0 };
