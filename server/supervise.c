/*
 * supervise.c - the master's children: slots from the role table, fork
 * and child set-up, exits and what they mean (enum proc_exit), respawn
 * back-off and throttling, the database recovery phases (stop every
 * database user, recover in a helper, restart them), reaping and the
 * status table.  Runs in the master only; a failed fork is retried, a
 * failed recovery stops the daemon with exit 1.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cache.h"
#include "common/conf.h"
#include "common/log.h"
#include "server/master.h"
#include "server/master_impl.h"
#include "common/proc.h"
#include "server/roles.h"
#include "common/ring.h"
#include "server/sigproto.h"
#include "store/paths.h"
#include "common/status.h"
#include "common/util.h"
#include "common/xmalloc.h"


static void start_db_recovery(struct master *m, const char *why);

static struct child *
child_new(struct master *m, enum role role, int index)
{
	struct child *c = xcalloc(1, sizeof(*c));

	c->role = role;
	c->index = index;
	c->generation = m->generation;
	c->chan = -1;
	c->backoff_ms = BACKOFF_MIN_MS;
	c->respawn_at = mono_ms();
	TAILQ_INSERT_TAIL(&m->children, c, entry);
	return (c);
}

void
master_child_free(struct master *m, struct child *c)
{
	TAILQ_REMOVE(&m->children, c, entry);
	if (c->chan != -1)
		close(c->chan);
	free(c);
}

void
master_create_slots(struct master *m)
{
	enum role r;
	int       i;

	for (r = ROLE_HTTP; r < ROLE_RECOVERY; r++)
		for (i = 0; i < role_wanted(m->cf, r); i++)
			child_new(m, r, i);
}

/*
 * Fork one child of the given role.  Returns its pid (and the master end
 * of its channel in *chan), or -1.
 */
static pid_t
fork_role(struct master *m, enum role role, int index, int *chan)
{
	struct proc_ctx ctx;
	int             sv[2], keep[PROC_KEEP_FIXED + 3 * CONF_LISTEN_MAX];
	size_t          nkeep = 0, i;
	pid_t           pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return (-1);
	}
	if ((pid = fork()) == -1) {
		log_warn("fork %s", role_name(role));
		close(sv[0]);
		close(sv[1]);
		return (-1);
	}
	if (pid > 0) {
		close(sv[1]);
		fd_set_nonblock(sv[0]);
		*chan = sv[0];
		return (pid);
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.cf = m->cf;
	ctx.role = role;
	ctx.index = index;
	ctx.generation = m->generation;
	ctx.chan = sv[1];
	ctx.cache = m->cache;
	ctx.ring = m->ring;
	ctx.status = m->status;
	ctx.master_pid = getppid();
	ctx.uid = m->uid;
	ctx.gid = m->gid;
	ctx.drop_privs = m->drop_privs;
	keep[nkeep++] = sv[1];
	if (log_fd() != -1)
		keep[nkeep++] = log_fd();
	ctx.signer_fd = -1;
	if (roles[role].flags & ROLE_F_SIGNER) {
		ctx.signer_fd = m->signer_fd;
		keep[nkeep++] = m->signer_fd;
	}
	if (roles[role].flags & ROLE_F_LISTEN) {
		ctx.listen_fds = m->listen_fds;
		ctx.nlisten = m->nlisten;
		for (i = 0; i < m->nlisten; i++)
			keep[nkeep++] = m->listen_fds[i];
		ctx.conv_listen_fds = m->conv_fds;
		ctx.nconv_listen = m->nconv;
		for (i = 0; i < m->nconv; i++)
			keep[nkeep++] = m->conv_fds[i];
		ctx.proxy_listen_fds = m->proxy_fds;
		ctx.nproxy_listen = m->nproxy;
		for (i = 0; i < m->nproxy; i++)
			keep[nkeep++] = m->proxy_fds[i];
	}
	proc_child_init(&ctx, keep, nkeep);
	proc_child_run(&ctx, roles[role].ops);
}

static void
spawn_child(struct master *m, struct child *c)
{
	int64_t now = mono_ms();
	pid_t   pid;

	c->respawn_at = 0;
	pid = fork_role(m, c->role, c->index, &c->chan);
	if (pid == -1) {
		c->respawn_at = now + 1000;
		return;
	}
	c->pid = pid;
	c->ready = 0;
	c->stop_requested = 0;
	c->started_ms = now;
	atomic_fetch_add(&m->status->role[c->role].spawns, 1);
	log_debug(
	    "started %s#%d (pid %d)", role_name(c->role), c->index, (int)pid);
}

void
master_signal_children(struct master *m, int sig, int db_only)
{
	struct child *c;

	TAILQ_FOREACH(c, &m->children, entry)
	{
		if (c->pid == 0 || (db_only && !role_is_db_user(c->role)))
			continue;
		if (sig != SIGUSR1)
			c->stop_requested = 1;
		kill(c->pid, sig);
	}
}

int
master_count_live(struct master *m, int db_only)
{
	struct child *c;
	int           n = 0;

	TAILQ_FOREACH(c, &m->children, entry)
	if (c->pid != 0 && (!db_only || role_is_db_user(c->role)))
		n++;
	return (n);
}

static void
describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(
		    buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "ended with wait status %#x", status);
}

static void
schedule_respawn(struct master *m, struct child *c, int64_t now)
{
	if (now - c->started_ms >= BACKOFF_RESET_MS)
		c->backoff_ms = BACKOFF_MIN_MS;
	c->respawn_at = now + c->backoff_ms;
	c->backoff_ms *= 2;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	if (!c->ready) {
		m->throttle_until[c->role] = now + THROTTLE_MS;
		log_warnx("%s#%d died during start-up: throttling role %s "
		          "for %d s",
		    role_name(c->role), c->index, role_name(c->role),
		    THROTTLE_MS / 1000);
	}
}

/* A role whose children all exited 2 cannot do its job: stop. */
static int
role_has_hope(struct master *m, enum role r)
{
	struct child *c;

	TAILQ_FOREACH(c, &m->children, entry)
	if (c->role == r && !c->retiring && !c->fatal)
		return (1);
	return (0);
}

static void
child_exited(struct master *m, struct child *c, int status)
{
	char    how[128];
	int64_t now = mono_ms();
	int     crashed, requested = c->stop_requested;
	int     code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

	describe_exit(status, how, sizeof(how));
	if (requested || m->stopping)
		log_info("%s#%d (pid %d) %s", role_name(c->role), c->index,
		    (int)c->pid, how);
	else
		log_warnx("%s#%d (pid %d) %s", role_name(c->role), c->index,
		    (int)c->pid, how);
	crashed = WIFSIGNALED(status) || code == PROC_EXIT_DBPANIC;
	if (!requested && (WIFSIGNALED(status) || code != 0))
		atomic_fetch_add(&m->status->role[c->role].crashes, 1);
	c->pid = 0;
	if (c->chan != -1) {
		close(c->chan);
		c->chan = -1;
	}
	if (c->retiring) {
		master_child_free(m, c);
		return;
	}
	if (m->stopping)
		return;
	if (!m->ready && !requested) {
		master_startup_error(m,
		    code == PROC_EXIT_FATAL
		        ? "a child exited with status 2 (configuration) during "
		          "start-up"
		        : "a child failed during start-up; see the log");
		master_begin_stop(m, SIGTERM,
		    code == PROC_EXIT_FATAL ? PROC_EXIT_FATAL : PROC_EXIT_FAIL);
		return;
	}
	if (code == PROC_EXIT_FATAL && !requested) {
		log_errorx("%s#%d exited with fatal status 2 and will not be "
		           "restarted",
		    role_name(c->role), c->index);
		c->fatal = 1;
		if (!role_has_hope(m, c->role)) {
			log_errorx("no %s process is left: stopping",
			    role_name(c->role));
			master_begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
		}
		c->ready = 0;
		return;
	}
	if (requested && role_is_db_user(c->role) && m->dbphase != DBP_UP) {
		/* Stopped for recovery: restarted when recovery is done. */
		c->ready = 0;
		return;
	}
	if (!requested)
		schedule_respawn(m, c, now);
	else
		c->respawn_at = now;
	c->ready = 0;
	if (role_is_db_user(c->role) && crashed && !requested)
		start_db_recovery(m, how);
}

static int
recovery_budget_left(struct master *m, int64_t now)
{
	int i, n = 0;

	for (i = 0; i < m->nrecoveries; i++)
		if (now - m->recoveries[i] < RECOVERY_WINDOW_MS)
			m->recoveries[n++] = m->recoveries[i];
	m->nrecoveries = n;
	return (n < RECOVERY_MAX);
}

void
master_launch_recovery_helper(struct master *m)
{
	int chan;

	m->dbphase = DBP_RECOVERING;
	atomic_store(&m->status->db_state, DB_STATE_RECOVERING);
	m->recovery_pid = fork_role(m, ROLE_RECOVERY, 0, &chan);
	if (m->recovery_pid == -1) {
		master_startup_error(
		    m, "cannot fork the database recovery helper");
		master_begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
		return;
	}
	close(chan);
	m->db_deadline = mono_ms() + RECOVERY_TIMEOUT_MS;
	m->db_killed = 0;
}

static void
start_db_recovery(struct master *m, const char *why)
{
	int64_t now = mono_ms();

	if (m->dbphase != DBP_UP)
		return; /* already stopping or recovering */
	if (!recovery_budget_left(m, now)) {
		log_errorx("more than %d database recoveries in %d minutes: "
		           "giving up",
		    RECOVERY_MAX, RECOVERY_WINDOW_MS / 60000);
		master_begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
		return;
	}
	m->recoveries[m->nrecoveries++] = now;
	log_warnx("a database user %s: stopping the database users for "
	          "recovery (http workers keep serving)",
	    why);
	m->dbphase = DBP_STOPPING;
	atomic_store(&m->status->db_state, DB_STATE_RECOVERING);
	m->db_deadline = now + DB_STOP_GRACE_MS;
	m->db_killed = 0;
	master_signal_children(m, SIGTERM, 1);
}

static void
recovery_exited(struct master *m, int status)
{
	struct child *c;
	char          how[128];
	int64_t       now = mono_ms();

	m->recovery_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		describe_exit(status, how, sizeof(how));
		log_errorx("database recovery helper %s", how);
		master_startup_error(
		    m, "database recovery failed; see the log");
		if (!m->stopping)
			master_begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
		return;
	}
	atomic_fetch_add(&m->status->recoveries, 1);
	if (m->stopping)
		return;
	if (m->db_up_ms == 0)
		m->db_up_ms = mono_ms();
	m->dbphase = DBP_UP;
	atomic_store(&m->status->db_state, DB_STATE_UP);
	TAILQ_FOREACH(c, &m->children, entry)
	{
		if (!role_is_db_user(c->role) || c->pid != 0 || c->fatal)
			continue;
		if (c->respawn_at == 0 || c->respawn_at < now)
			c->respawn_at = now;
	}
}

void
master_db_phase_tick(struct master *m, int64_t now)
{
	if (m->dbphase == DBP_STOPPING) {
		if (master_count_live(m, 1) == 0) {
			master_launch_recovery_helper(m);
		} else if (now >= m->db_deadline && !m->db_killed) {
			log_warnx("database users did not stop in time: "
			          "killing them");
			master_signal_children(m, SIGKILL, 1);
			m->db_killed = 1;
		}
	} else if (m->dbphase == DBP_RECOVERING && m->recovery_pid > 0 &&
	    now >= m->db_deadline && !m->db_killed) {
		log_errorx("database recovery takes longer than %d s: "
		           "killing it",
		    RECOVERY_TIMEOUT_MS / 1000);
		kill(m->recovery_pid, SIGKILL);
		m->db_killed = 1;
	}
}

void
master_reap_children(struct master *m)
{
	struct child *c;
	pid_t         pid;
	int           status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		/* Its stream clients are gone with it. */
		status_http_release(m->status, (uint32_t)pid);
		if (pid == m->recovery_pid) {
			recovery_exited(m, status);
			continue;
		}
		TAILQ_FOREACH(c, &m->children, entry)
		if (c->pid == pid)
			break;
		if (c != NULL)
			child_exited(m, c, status);
	}
}

void
master_spawn_due(struct master *m, int64_t now)
{
	struct child *c;
	enum role     r;

	for (r = ROLE_HTTP; r < ROLE_RECOVERY; r++)
		atomic_store(
		    &m->status->role[r].throttled, m->throttle_until[r] > now);
	if (m->stopping)
		return;
	TAILQ_FOREACH(c, &m->children, entry)
	{
		if (c->pid != 0 || c->fatal || c->retiring ||
		    c->respawn_at == 0 || c->respawn_at > now)
			continue;
		if (m->throttle_until[c->role] > now)
			continue;
		if (role_is_db_user(c->role) && m->dbphase != DBP_UP)
			continue;
		spawn_child(m, c);
	}
}

void
master_publish_status(struct master *m)
{
	struct child *c;
	uint32_t      want[ROLE_MAX] = { 0 }, ready[ROLE_MAX] = { 0 };
	enum role     r;

	TAILQ_FOREACH(c, &m->children, entry)
	{
		if (c->retiring)
			continue;
		want[c->role]++;
		if (c->pid != 0 && c->ready)
			ready[c->role]++;
	}
	for (r = ROLE_HTTP; r < ROLE_RECOVERY; r++) {
		atomic_store(&m->status->role[r].wanted, want[r]);
		atomic_store(&m->status->role[r].ready, ready[r]);
	}
	atomic_store(&m->status->generation, m->generation);
}

int
master_all_ready(struct master *m)
{
	struct child *c;

	if (m->dbphase != DBP_UP)
		return (0);
	TAILQ_FOREACH(c, &m->children, entry)
	if (!c->retiring && (c->pid == 0 || !c->ready))
		return (0);
	return (1);
}

void
master_read_channel(struct child *c)
{
	char    buf[16];
	ssize_t n, i;

	while ((n = recv(c->chan, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == PROC_MSG_READY && !c->ready) {
				c->ready = 1;
				log_debug("%s#%d (pid %d) ready",
				    role_name(c->role), c->index, (int)c->pid);
			}
		}
	}
	if (n == 0) { /* the child is going away; waitpid tells */
		close(c->chan);
		c->chan = -1;
	}
}
