/*
 * master.c - the supervising master process.
 *
 * The master parses the config, opens the listening sockets, takes the
 * data_dir lock (and the pidfile), daemonizes with a readiness pipe,
 * creates the shared memory (response cache, stream ring, status table),
 * runs Berkeley DB recovery in a helper process, forks every child role and
 * then only supervises.  It never opens the database and never reads a
 * private key (the PostgreSQL postmaster rule): whatever a child does, the
 * master's own state cannot be corrupted by it.
 *
 * Supervision rules:
 *  - every child exit is logged with role, slot, pid and status;
 *  - respawn with a per-slot back-off doubling from 250 ms to 60 s, reset
 *    after 60 s of uptime;
 *  - a child that dies before reporting ready throttles its role for 60 s
 *    (Postfix), so a broken role never fork-loops;
 *  - exit status 2 means "do not respawn"; a role left with no child makes
 *    the master stop with status 1;
 *  - a database user (signer, scanner, ctwatch) killed by a signal or
 *    exiting 3 makes the master stop every database user, run recovery in a
 *    helper, and restart them; HTTP workers keep serving meanwhile;
 *  - more than 10 recoveries within 10 minutes: exit 1 and let init decide.
 * Signals arrive through a signalfd and are handled in the loop.
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


void
master_begin_stop(struct master *m, int how, int code)
{
	if (m->stopping == SIGTERM)
		return;
	if (code > m->exit_code)
		m->exit_code = code;
	m->stopping = how;
	atomic_store(&m->status->stopping, 1);
	m->stop_deadline = mono_ms() + m->cf->daemon.stop_timeout_ms;
	m->stop_escalated = 0;
	log_notice("%s: stopping %d children",
	    how == SIGQUIT ? "graceful stop" : "stop", master_count_live(m, 0));
	master_signal_children(m, how, 0);
	if (m->recovery_pid > 0 && how == SIGTERM)
		kill(m->recovery_pid, SIGTERM);
}

static void
stop_tick(struct master *m, int64_t now)
{
	if (!m->stopping || now < m->stop_deadline)
		return;
	if (m->stopping == SIGQUIT && !m->stop_escalated) {
		log_warnx("graceful stop timed out: sending TERM");
		master_signal_children(m, SIGTERM, 0);
		m->stop_escalated = 1;
		m->stop_deadline = now + m->cf->daemon.stop_timeout_ms;
		return;
	}
	if (m->stop_escalated < 2) {
		log_warnx("%d children did not stop in time: killing them",
		    master_count_live(m, 0));
		master_signal_children(m, SIGKILL, 0);
		if (m->recovery_pid > 0)
			kill(m->recovery_pid, SIGKILL);
		m->stop_escalated = 2;
	}
}

static void
log_errors(const char *prefix, const char *errs)
{
	const char *p = errs, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		log_warnx(
		    "%s%.*s", prefix, nl ? (int)(nl - p) : (int)strlen(p), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void
reload(struct master *m)
{
	struct conf  *nw;
	struct child *c, *tmp;
	char          err[CONF_ERR_MAX], what[512];

	/* Relative paths in the file mean what they meant at start. */
	if (m->cwd_fd != -1 && fchdir(m->cwd_fd) == -1)
		log_warn("reload: cannot return to the start directory");
	nw = conf_load(m->path, m->ov, m->nov, err, sizeof(err));
	if (!m->foreground && chdir("/") == -1)
		log_warn("chdir /");
	if (nw == NULL) {
		log_warnx("reload: %s has errors; keeping the running "
		          "configuration",
		    m->path ? m->path : "(defaults)");
		log_errors("reload: ", err);
		return;
	}
	if (conf_restart_keys_differ(m->cf, nw, what, sizeof(what)) > 0) {
		log_warnx("reload: %s cannot change without a restart; "
		          "they keep their running values",
		    what);
		conf_keep_restart_keys(nw, m->cf);
	}
	if (log_configure(nw->log.level,
	        (m->foreground == 0 && strcmp(nw->log.target, "stderr") == 0)
	            ? "syslog"
	            : nw->log.target,
	        err, sizeof(err)) == -1)
		log_warnx("reload: %s; keeping the log target", err);
	conf_free(m->cf);
	m->cf = nw;
	m->generation++;
	TAILQ_FOREACH_SAFE(c, &m->children, entry, tmp)
	{
		if (c->pid == 0) {
			master_child_free(m, c);
			continue;
		}
		c->retiring = 1;
		c->stop_requested = 1;
		kill(c->pid, SIGQUIT);
	}
	master_create_slots(m);
	log_notice("reload: configuration generation %u; replacing the "
	           "children gracefully",
	    m->generation);
}

static void
reopen_logs(struct master *m)
{
	log_reopen();
	log_info("log reopened");
	master_signal_children(m, SIGUSR1, 0);
}

static int
poll_timeout(struct master *m, int64_t now)
{
	struct child *c;
	int64_t       next = now + 1000;

	TAILQ_FOREACH(c, &m->children, entry)
	{
		int64_t at = c->respawn_at;
		if (c->pid != 0 || at == 0)
			continue;
		if (m->throttle_until[c->role] > at)
			at = m->throttle_until[c->role];
		if (at < next)
			next = at;
	}
	if (m->dbphase != DBP_UP && m->db_deadline < next)
		next = m->db_deadline;
	if (m->stopping && m->stop_deadline < next)
		next = m->stop_deadline;
	return (next > now ? (int)(next - now) : 0);
}

static void
handle_signals(struct master *m)
{
	struct proc_signals s;

	memset(&s, 0, sizeof(s));
	if (proc_read_signals(m->sfd, &s) == -1)
		return;
	if (s.stop)
		master_begin_stop(m, SIGTERM, PROC_EXIT_OK);
	else if (s.quit)
		master_begin_stop(m, SIGQUIT, PROC_EXIT_OK);
	if (s.hup && !m->stopping)
		reload(m);
	if (s.reopen)
		reopen_logs(m);
}

static int
loop_done(struct master *m)
{
	return (m->stopping && master_count_live(m, 0) == 0 &&
	    m->recovery_pid == 0);
}

static void
master_loop(struct master *m)
{
	struct pollfd pfd[256];
	struct child *owner[256];
	struct child *c;
	int64_t       now;
	nfds_t        n, i;

	while (!loop_done(m)) {
		n = 0;
		pfd[n].fd = m->sfd;
		pfd[n++].events = POLLIN;
		TAILQ_FOREACH(c, &m->children, entry)
		{
			if (c->chan == -1 || n == NELEM(pfd))
				continue;
			owner[n] = c;
			pfd[n].fd = c->chan;
			pfd[n++].events = POLLIN;
		}
		now = mono_ms();
		if (poll(pfd, n, poll_timeout(m, now)) == -1 && errno != EINTR)
			fatal("poll");
		for (i = 1; i < n; i++)
			if (pfd[i].revents != 0 && owner[i]->chan == pfd[i].fd)
				master_read_channel(owner[i]);
		if (pfd[0].revents & POLLIN)
			handle_signals(m);
		master_reap_children(m);
		now = mono_ms();
		master_db_phase_tick(m, now);
		master_spawn_due(m, now);
		stop_tick(m, now);
		master_publish_status(m);
		if (!m->ready && !m->stopping) {
			if (master_all_ready(m))
				master_announce_ready(m);
			else if (m->db_up_ms != 0 &&
			    now - m->db_up_ms > STARTUP_TIMEOUT_MS) {
				master_startup_error(m,
				    "the children did not become "
				    "ready in time");
				master_begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
			}
		}
	}
}

static void
cleanup(struct master *m)
{
	struct child *c;
	size_t        i;

	while ((c = TAILQ_FIRST(&m->children)) != NULL)
		master_child_free(m, c);
	if (m->pid_fd != -1) {
		unlink(m->cf->daemon.pidfile);
		close(m->pid_fd);
	}
	if (m->signer_fd != -1) {
		char *p = store_path(m->cf, STORE_SIGNER_SOCK);
		close(m->signer_fd);
		unlink(p);
		free(p);
	}
	if (m->lock_fd != -1)
		close(m->lock_fd);
	for (i = 0; i < m->nlisten; i++)
		close(m->listen_fds[i]);
	free(m->listen_fds);
	for (i = 0; i < m->nconv; i++)
		close(m->conv_fds[i]);
	free(m->conv_fds);
	for (i = 0; i < m->nproxy; i++)
		close(m->proxy_fds[i]);
	free(m->proxy_fds);
	cache_destroy(m->cache);
	ring_destroy(m->ring);
	status_destroy(m->status);
	if (m->sfd != -1)
		close(m->sfd);
	if (m->cwd_fd != -1)
		close(m->cwd_fd);
	free(m->path);
	conf_free(m->cf);
}

int
master_run(
    struct conf *cf, const struct conf_override *ov, size_t nov, int foreground)
{
	struct master m;
	char          err[1024];
	int           code;

	memset(&m, 0, sizeof(m));
	m.cf = cf;
	m.path = cf->path != NULL ? xstrdup(cf->path) : NULL;
	m.ov = ov;
	m.nov = nov;
	m.foreground = foreground;
	m.sfd = m.lock_fd = m.pid_fd = m.ready_pipe = m.signer_fd = -1;
	m.cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	m.recovery_pid = 0;
	TAILQ_INIT(&m.children);
	log_set_role("master");

	/* Everything that can fail on the terminal, before forking. */
	if (master_resolve_user(&m, err, sizeof(err)) == -1 ||
	    master_prepare_data_dir(&m, err, sizeof(err)) == -1) {
		fprintf(stderr, "notaryd: %s\n", err);
		cleanup(&m);
		return (PROC_EXIT_FATAL);
	}
	if (master_open_listeners(&m) == -1) {
		fprintf(stderr,
		    "notaryd: cannot open the listening sockets "
		    "(see above)\n");
		cleanup(&m);
		return (PROC_EXIT_FAIL);
	}
	if (master_configure_logging(&m) == -1) {
		cleanup(&m);
		return (PROC_EXIT_FATAL);
	}
	master_raise_fd_limit(cf);
	if (!foreground)
		master_daemonize(&m);
	m.started_ms = mono_ms();
	log_notice("notaryd %s starting (pid %d, data_dir %s)", PACKAGE_VERSION,
	    (int)getpid(), cf->daemon.data_dir);
	if ((m.sfd = proc_signalfd()) == -1) {
		master_startup_error(&m, "cannot set up signal handling");
		cleanup(&m);
		return (PROC_EXIT_FAIL);
	}
	if (master_take_locks(&m, err, sizeof(err)) == -1 ||
	    master_open_signer_socket(&m, err, sizeof(err)) == -1) {
		master_startup_error(&m, err);
		cleanup(&m);
		return (PROC_EXIT_FAIL);
	}
	if (master_create_shared_memory(&m) == -1) {
		master_startup_error(
		    &m, "cannot create the shared memory (see log)");
		cleanup(&m);
		return (PROC_EXIT_FAIL);
	}
	master_create_slots(&m);
	master_launch_recovery_helper(&m);
	master_loop(&m);
	code = m.exit_code;
	log_notice("stopped (exit status %d)", code);
	if (m.ready_pipe != -1)
		master_startup_error(
		    &m, "stopped during start-up; see the log");
	cleanup(&m);
	return (code);
}
