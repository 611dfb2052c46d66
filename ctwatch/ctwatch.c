/*
 * ctwatch.c - the CT-log watcher: exactly one process that follows the
 * Certificate Transparency logs and publishes one stream record per entry
 * into the shared ring (common/streamrec.h), keeps each log's position in
 * the database, and fills the per-log counters of the status table.  It
 * is also the process that checkpoints the Berkeley DB environment: every
 * 60 s and when it stops, so that recovery stays short.
 *
 * One event loop: curl_multi_poll over every transfer plus the signalfd
 * and the master channel.  Each turn it reads the log lists that are due
 * (ctwatch.log_list: files at once, URLs through the same fetcher),
 * starts and stops logs to match them (and ctwatch.logs), lets every log
 * send the requests that are due (ct_log_step), commits the positions
 * that moved (at most every CTWATCH_COMMIT_MS, always after the entries
 * are in the ring) and checkpoints.  A list that cannot be read keeps the
 * logs it gave before and is retried with back-off, one log line each
 * time; the rest of the daemon never waits for any of this.
 *
 * One ctwatch at a time: on a reload the master starts the new ctwatch
 * while the old one is still finishing, so a ctwatch follows no log until
 * it holds an exclusive lock on db/ctwatch.lock (the old one's lock goes
 * with its process, even on SIGKILL).  Two writers would publish the same
 * entries twice and start from a position that is about to move.
 *
 * Runs as a database user: any DB_RUNRECOVERY ends it with exit 3 and the
 * master recovers the environment and restarts every database user.  It
 * exits 0 on TERM/QUIT (positions committed first), 1 when the master is
 * gone or start-up fails.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/ring.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "ctwatch/ct_fetch.h"
#include "ctwatch/ct_log.h"
#include "ctwatch/ct_loglist.h"
#include "ctwatch/ct_tiled.h"
#include "ctwatch/ctwatch.h"
#include "store/ctpos.h"
#include "store/dbenv.h"
#include "store/issuers.h"
#include "store/paths.h"
#include "store/session.h"

#define CTWATCH_CHECKPOINT_MS 60000
#define CTWATCH_COMMIT_MS     2000
#define CTWATCH_STATUS_MS     500
#define CTWATCH_MAX_WAIT_MS   1000
#define CTWATCH_LOCK_RETRY_MS 50
#define CTWATCH_LIST_RETRY_MS 1000 /* first retry of a failed list */
#define CTWATCH_UA            "notaryd/" PACKAGE_VERSION " (CT watcher)"

/* One ctwatch.log_list entry. */
struct list_src {
	char            *where; /* URL or absolute path */
	int              is_url;
	struct ct_logset last; /* its logs, as last read */
	int              have; /* last is valid */
	struct ct_fetch *req;
	int64_t          due_ms;
	int64_t          retry_ms; /* current retry delay */
	struct ctwatch  *cw;
};

struct ctwatch {
	struct proc_ctx   *ctx;
	const struct conf *cf;
	DB_ENV            *env;
	DB                *ct;
	DB                *issuers_db;
	struct ct_watch    w;
	struct list_src   *src;
	size_t             nsrc;
	struct ct_log    **logs;
	size_t             nlogs;
	int                dirty;  /* the lists changed: reconcile */
	int                lockfd; /* db/ctwatch.lock */
	int                locked; /* we are the one ctwatch */
	int64_t            lock_since_ms;
	int64_t            next_ckp_ms;
	int64_t            next_commit_ms;
	int64_t            next_status_ms;
};

static int
ctwatch_open_db(struct ctwatch *cw)
{
	if (store_env_open(cw->cf, &cw->env) == -1)
		return (-1);
	if (ctpos_open(cw->env, &cw->ct, 0) != 0)
		return (-1);
	if (issuers_open(cw->env, &cw->issuers_db) != 0)
		return (-1);
	return (0);
}

static void
ctwatch_checkpoint(struct ctwatch *cw)
{
	int r;

	if ((r = db_checkpoint(cw->env)) != 0)
		log_warnx("checkpoint failed: %s", db_strerror(r));
}

/* Commit every position that moved, in one transaction. */
static void
commit_positions(struct ctwatch *cw, struct ct_log *only)
{
	struct ctpos *v;
	size_t        i, n = 0;

	v = xcalloc(cw->nlogs + 1, sizeof(*v));
	for (i = 0; i < cw->nlogs; i++) {
		if (only != NULL && cw->logs[i] != only)
			continue;
		if (ct_log_position(
		        cw->logs[i], v[n].url, sizeof(v[n].url), &v[n].next)) {
			v[n].updated = wall_s();
			n++;
		}
	}
	if (ctpos_put(cw->env, cw->ct, v, n) == -1)
		log_warnx("ctwatch: %zu positions not saved; retrying", n);
	free(v);
}

/* ---- the log lists ------------------------------------------------------ */

static void on_list(void *, const struct ct_fetch_result *);

static void
list_failed(struct list_src *s, const char *why)
{
	struct ctwatch *cw = s->cw;
	int64_t         refresh = cw->cf->ctwatch.log_list_refresh_ms;

	s->due_ms = cw->w.now_ms + s->retry_ms;
	log_warnx("ctwatch: cannot read the log list %s: %s; %s, retrying in "
	          "%lld s",
	    s->where, why,
	    s->have ? "keeping its previous logs" : "no logs from it yet",
	    (long long)(s->retry_ms / 1000));
	s->retry_ms *= 2;
	if (s->retry_ms > refresh)
		s->retry_ms = refresh;
}

static void
list_parsed(struct list_src *s, const char *text, size_t len)
{
	struct ctwatch  *cw = s->cw;
	struct ct_logset set;
	int              n;

	memset(&set, 0, sizeof(set));
	n = ct_loglist_parse(
	    &set, text, len, cw->cf->ctwatch.log_states, s->where);
	if (n == -1) {
		ct_logset_free(&set);
		list_failed(s, "not a usable v3 log list");
		return;
	}
	if (!s->have || s->last.n != set.n ||
	    s->retry_ms != CTWATCH_LIST_RETRY_MS)
		log_info(
		    "ctwatch: log list %s: %d logs to follow", s->where, n);
	else
		log_debug(
		    "ctwatch: log list %s read again: %d logs", s->where, n);
	ct_logset_free(&s->last);
	s->last = set;
	s->have = 1;
	s->retry_ms = CTWATCH_LIST_RETRY_MS;
	s->due_ms = cw->w.now_ms + cw->cf->ctwatch.log_list_refresh_ms;
	cw->dirty = 1;
}

static void
on_list(void *arg, const struct ct_fetch_result *r)
{
	struct list_src *s = arg;
	char             why[128];

	s->req = NULL;
	if (r->err != CT_FETCH_OK) {
		(void)snprintf(why, sizeof(why), "%s%s%s (HTTP %ld)",
		    status_ctfe_name((enum status_ctfe)r->err),
		    r->what[0] != '\0' ? ": " : "", r->what, r->http_status);
		list_failed(s, why);
		return;
	}
	list_parsed(s, (const char *)r->body, r->len);
}

static void
list_step(struct list_src *s)
{
	struct ctwatch *cw = s->cw;
	char           *text;
	size_t          len;

	if (s->req != NULL || cw->w.now_ms < s->due_ms)
		return;
	if (s->is_url) {
		if ((s->req = ct_fetch_get(
		         cw->w.fetch, s->where, on_list, s)) == NULL)
			s->due_ms = cw->w.now_ms + 100; /* no slot yet */
		return;
	}
	if (ct_loglist_read_file(s->where, &text, &len) == -1) {
		list_failed(s, "see above");
		return;
	}
	list_parsed(s, text, len);
	free(text);
}

static void
lists_init(struct ctwatch *cw)
{
	const struct conf_strlist *l = &cw->cf->ctwatch.log_list;
	size_t                     i;

	cw->nsrc = l->n < CT_LOGLIST_MAX_LISTS ? l->n : CT_LOGLIST_MAX_LISTS;
	if (l->n > cw->nsrc)
		log_warnx("ctwatch: only the first %d log lists are read",
		    CT_LOGLIST_MAX_LISTS);
	cw->src = xcalloc(cw->nsrc + 1, sizeof(*cw->src));
	for (i = 0; i < cw->nsrc; i++) {
		cw->src[i].where = xstrdup(
		    l->v[i][0] == '\0' ? CONF_CT_DEFAULT_LIST : l->v[i]);
		cw->src[i].is_url = strstr(cw->src[i].where, "://") != NULL;
		cw->src[i].retry_ms = CTWATCH_LIST_RETRY_MS;
		cw->src[i].cw = cw;
	}
	cw->dirty = 1; /* ctwatch.logs start at once */
}

static void
lists_free(struct ctwatch *cw)
{
	size_t i;

	for (i = 0; i < cw->nsrc; i++) {
		if (cw->src[i].req != NULL)
			ct_fetch_cancel(cw->w.fetch, cw->src[i].req);
		ct_logset_free(&cw->src[i].last);
		free(cw->src[i].where);
	}
	free(cw->src);
}

/* The logs to follow now: every list's last set, then ctwatch.logs. */
static void
wanted_logs(struct ctwatch *cw, struct ct_logset *want)
{
	struct ct_logdesc d;
	size_t            i, j;

	memset(want, 0, sizeof(*want));
	for (i = 0; i < cw->nsrc; i++) {
		for (j = 0; j < cw->src[i].last.n; j++) {
			if (ct_logset_find(want, cw->src[i].last.v[j].url) !=
			        -1 ||
			    want->n >= CT_LOGLIST_MAX_LOGS)
				continue;
			ct_logdesc_copy(&d, &cw->src[i].last.v[j]);
			if (want->n == want->cap) {
				want->cap = want->cap ? want->cap * 2 : 16;
				want->v = xreallocarray(
				    want->v, want->cap, sizeof(*want->v));
			}
			want->v[want->n++] = d;
		}
	}
	(void)ct_loglist_add_conf(
	    want, cw->cf->ctwatch.logs.v, cw->cf->ctwatch.logs.n);
}

/* Start the logs that are wanted, stop those that are not. */
static void
reconcile(struct ctwatch *cw)
{
	struct ct_logset want;
	struct ct_log   *l;
	size_t           i, j;

	cw->dirty = 0;
	wanted_logs(cw, &want);
	for (i = 0; i < cw->nlogs;) {
		if (ct_logset_find(&want, cw->logs[i]->d.url) != -1) {
			i++;
			continue;
		}
		log_info("ctwatch: %s is no longer listed; stopping it",
		    cw->logs[i]->d.url);
		commit_positions(cw, cw->logs[i]);
		ct_log_free(cw->logs[i]);
		cw->logs[i] = cw->logs[--cw->nlogs];
	}
	for (j = 0; j < want.n; j++) {
		for (i = 0; i < cw->nlogs; i++)
			if (strcmp(ct_url_key(cw->logs[i]->d.url),
			        ct_url_key(want.v[j].url)) == 0)
				break;
		if (i < cw->nlogs)
			continue;
		if ((l = ct_log_new(&cw->w, &want.v[j])) == NULL)
			continue;
		cw->logs =
		    xreallocarray(cw->logs, cw->nlogs + 1, sizeof(*cw->logs));
		cw->logs[cw->nlogs++] = l;
	}
	ct_logset_free(&want);
}

/* ---- the loop ----------------------------------------------------------- */

static int
ctwatch_init(struct ctwatch *cw)
{
	struct ct_fetch_opts o;
	char                *path;

	path = store_path(cw->cf, STORE_CTWATCH_LOCK);
	cw->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (cw->lockfd == -1) {
		log_warn("ctwatch: %s", path);
		free(path);
		return (-1);
	}
	free(path);
	cw->w.cf = cw->cf;
	cw->w.ring = cw->ctx->ring;
	cw->w.status = cw->ctx->status;
	cw->w.env = cw->env;
	cw->w.pos = cw->ct;
	cw->w.now_ms = mono_ms();
	memset(&o, 0, sizeof(o));
	o.timeout_ms = cw->cf->ctwatch.fetch_timeout_ms;
	o.max_response = cw->cf->ctwatch.max_response;
	o.max_fetches = cw->cf->ctwatch.max_fetches;
	o.user_agent = CTWATCH_UA;
	if (cw->w.ring == NULL || cw->w.status == NULL) {
		log_warnx("ctwatch: no stream ring or status table");
		return (-1);
	}
	if ((cw->w.fetch = ct_fetch_new(&o)) == NULL)
		return (-1);
	cw->w.parser = ct_parser_new();
	cw->w.issuers = ct_issuers_new(cw->env, cw->issuers_db);
	if (cw->cf->ctwatch.dedup)
		cw->w.dedup = ct_dedup_new();
	buf_init(&cw->w.rec, ring_max_record(cw->w.ring));
	lists_init(cw);
	cw->next_ckp_ms = cw->w.now_ms + CTWATCH_CHECKPOINT_MS;
	cw->next_commit_ms = cw->w.now_ms + CTWATCH_COMMIT_MS;
	return (0);
}

/* 1 once this process holds db/ctwatch.lock (see the top comment). */
static int
ctwatch_lock(struct ctwatch *cw)
{
	if (cw->locked)
		return (1);
	if (flock(cw->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			log_warn("ctwatch: lock");
		if (cw->lock_since_ms == 0) {
			cw->lock_since_ms = cw->w.now_ms;
			log_info("ctwatch: waiting for the previous ctwatch to "
			         "finish");
		}
		return (0);
	}
	cw->locked = 1;
	if (cw->lock_since_ms != 0)
		log_info("ctwatch: the previous ctwatch finished after %lld ms",
		    (long long)(cw->w.now_ms - cw->lock_since_ms));
	return (1);
}

/* One turn's work; returns how long the loop may sleep. */
static int
ctwatch_turn(struct ctwatch *cw)
{
	int64_t wait = CTWATCH_MAX_WAIT_MS, now = cw->w.now_ms;
	size_t  i;

	if (now >= cw->next_ckp_ms) {
		ctwatch_checkpoint(cw);
		cw->next_ckp_ms = now + CTWATCH_CHECKPOINT_MS;
	}
	if (!ctwatch_lock(cw))
		return (CTWATCH_LOCK_RETRY_MS);

	for (i = 0; i < cw->nsrc; i++) {
		list_step(&cw->src[i]);
		if (cw->src[i].req == NULL && cw->src[i].due_ms - now < wait)
			wait = cw->src[i].due_ms - now;
	}
	if (cw->dirty)
		reconcile(cw);
	for (i = 0; i < cw->nlogs; i++) {
		ct_log_step(cw->logs[i]);
		wait = ct_log_wait_ms(cw->logs[i], wait);
	}
	if (now >= cw->next_status_ms) {
		for (i = 0; i < cw->nlogs; i++)
			ct_log_update_status(cw->logs[i]);
		cw->next_status_ms = now + CTWATCH_STATUS_MS;
	}
	if (now >= cw->next_commit_ms) {
		commit_positions(cw, NULL);
		cw->next_commit_ms = now + CTWATCH_COMMIT_MS;
	}
	return (wait < 0 ? 0 : (int)wait);
}

/* 0 stop requested, 1 master gone. */
static int
ctwatch_loop(struct ctwatch *cw, int sfd)
{
	struct curl_waitfd extra[2];
	short              sig, chan;
	int                timeout;

	for (;;) {
		cw->w.now_ms = mono_ms();
		timeout = ctwatch_turn(cw);
		memset(extra, 0, sizeof(extra));
		extra[0].fd = sfd;
		extra[0].events = CURL_WAIT_POLLIN;
		extra[1].fd = cw->ctx->chan;
		extra[1].events = CURL_WAIT_POLLIN;
		if (ct_fetch_wait(cw->w.fetch, extra, 2, timeout) == -1)
			(void)usleep(100000);
		cw->w.now_ms = mono_ms();
		sig = (extra[0].revents & CURL_WAIT_POLLIN) ? POLLIN : 0;
		chan = (extra[1].revents & CURL_WAIT_POLLIN) ? POLLIN : 0;
		switch (proc_poll_events(cw->ctx, sfd, sig, chan)) {
		case PROC_GONE:
			return (1);
		case PROC_STOP:
			return (0);
		}
	}
}

static void *
ctwatch_open(struct proc_ctx *ctx, int *code)
{
	struct ctwatch *cw = xcalloc(1, sizeof(*cw));

	*code = PROC_EXIT_FAIL;
	cw->ctx = ctx;
	cw->cf = ctx->cf;
	if (ctwatch_open_db(cw) == -1) {
		log_warnx("cannot open the database; exiting");
		if (cw->ct != NULL)
			cw->ct->close(cw->ct, 0);
		if (cw->env != NULL)
			db_env_close(cw->env);
		free(cw);
		return (NULL);
	}
	if (ctwatch_init(cw) == -1) {
		log_warnx("ctwatch: start-up failed; exiting");
		cw->ct->close(cw->ct, 0);
		cw->issuers_db->close(cw->issuers_db, 0);
		db_env_close(cw->env);
		free(cw);
		return (NULL);
	}
	return (cw);
}

static int
ctwatch_run(void *state, struct proc_ctx *ctx, int sfd)
{
	struct ctwatch *cw = state;

	(void)ctx;
	return (ctwatch_loop(cw, sfd) ? PROC_EXIT_FAIL : PROC_EXIT_OK);
}

/* Positions first, then a final checkpoint keeps the next recovery short. */
static void
ctwatch_close(void *state)
{
	struct ctwatch *cw = state;
	size_t          i;

	commit_positions(cw, NULL);
	for (i = 0; i < cw->nlogs; i++)
		ct_log_free(cw->logs[i]);
	free(cw->logs);
	lists_free(cw);
	ct_fetch_free(cw->w.fetch);
	ct_parser_free(cw->w.parser);
	ct_issuers_free(cw->w.issuers);
	ct_dedup_free(cw->w.dedup);
	buf_free(&cw->w.rec);
	ctwatch_checkpoint(cw);
	cw->ct->close(cw->ct, 0);
	cw->issuers_db->close(cw->issuers_db, 0);
	db_env_close(cw->env);
	close(cw->lockfd); /* after the last position is committed */
	free(cw);
}

const struct role_ops ctwatch_role = { ctwatch_open, ctwatch_run, ctwatch_close,
	0 };
