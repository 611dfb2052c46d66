/*
 * proc.c - child-process plumbing shared by every role the master forks
 * (http workers, signer, scanners, ctwatch, the recovery helper) and the
 * master's own signal handling.
 *
 * Signals are blocked and read from a signalfd inside each event loop, so
 * no code runs asynchronously in a signal handler.  A child learns that
 * the master died in two ways: PR_SET_PDEATHSIG delivers SIGTERM, and the
 * master channel (a socketpair) reads EOF.  Failures during child set-up
 * exit the child with status 1 (the master logs the exit and respawns with
 * back-off); a privilege drop that fails exits 2 (do not respawn).
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "common/xmalloc.h"

static const int handled_signals[] = {
	SIGTERM,
	SIGINT,
	SIGQUIT,
	SIGHUP,
	SIGUSR1,
	SIGCHLD,
};

int
proc_signalfd(void)
{
	sigset_t set;
	size_t   i;
	int      fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (i = 0; i < NELEM(handled_signals); i++)
		sigaddset(&set, handled_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
		log_warn("sigprocmask");
		return (-1);
	}
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		return (-1);
	}
	return (fd);
}

int
proc_read_signals(int sfd, struct proc_signals *s)
{
	struct signalfd_siginfo si;
	ssize_t                 n;

	for (;;) {
		n = read(sfd, &si, sizeof(si));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (0);
		if (n != (ssize_t)sizeof(si)) {
			log_warn("read signalfd");
			return (-1);
		}
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			s->stop = 1;
			break;
		case SIGQUIT:
			s->quit = 1;
			break;
		case SIGUSR1:
			s->reopen = 1;
			break;
		case SIGHUP:
			s->hup = 1;
			break;
		case SIGCHLD:
			s->chld = 1;
			break;
		}
	}
}

static int
fd_is_kept(int fd, const int *keep, size_t nkeep)
{
	size_t i;

	for (i = 0; i < nkeep; i++)
		if (keep[i] == fd)
			return (1);
	return (0);
}

/*
 * Close every descriptor above stderr that is not in keep: the other
 * children's channels, the master's signalfd, the readiness pipe.  A child
 * that held a sibling's channel would keep it from ever seeing EOF.
 */
static void
close_other_fds(const int *keep, size_t nkeep)
{
	DIR           *d;
	struct dirent *de;
	int            fds[1024], n = 0, fd, i, dfd;

	if ((d = opendir("/proc/self/fd")) == NULL)
		fatal("opendir /proc/self/fd");
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL && n < (int)NELEM(fds)) {
		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd > 2 && fd != dfd && !fd_is_kept(fd, keep, nkeep))
			fds[n++] = fd;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

static void
drop_privileges(struct proc_ctx *ctx)
{
	if (!ctx->drop_privs)
		return;
	if (setgroups(1, &ctx->gid) == -1 ||
	    setresgid(ctx->gid, ctx->gid, ctx->gid) == -1 ||
	    setresuid(ctx->uid, ctx->uid, ctx->uid) == -1) {
		log_warn("cannot drop privileges to uid %d gid %d",
		    (int)ctx->uid, (int)ctx->gid);
		_exit(PROC_EXIT_FATAL);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("prctl(PR_SET_NO_NEW_PRIVS)");
}

void
proc_child_init(struct proc_ctx *ctx, const int *keep, size_t nkeep)
{
	char name[32];

	snprintf(name, sizeof(name), "%s#%d", role_name(ctx->role), ctx->index);
	log_set_role(name);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("prctl(PR_SET_PDEATHSIG)");
	/* The master may have died before PDEATHSIG was armed. */
	if (getppid() != ctx->master_pid)
		_exit(PROC_EXIT_FAIL);
	/* The log file's fd is in keep; the syslog socket is reopened. */
	log_detach();
	close_other_fds(keep, nkeep);
	log_reattach();
	drop_privileges(ctx);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	switch (proc_fault_injected(role_name(ctx->role))) {
	case 1:
		log_warnx("fault injection: failing start-up on purpose");
		_exit(PROC_EXIT_FAIL);
	case 2:
		log_warnx("fault injection: fatal start-up error on purpose");
		_exit(PROC_EXIT_FATAL);
	}
}

int
proc_report_ready(struct proc_ctx *ctx)
{
	char c = PROC_MSG_READY;

	if (send(ctx->chan, &c, 1, MSG_NOSIGNAL) != 1) {
		log_warn("cannot report readiness to the master");
		return (-1);
	}
	return (0);
}

int
proc_chan_read(struct proc_ctx *ctx)
{
	char    buf[64];
	ssize_t n;

	n = recv(ctx->chan, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0)
		return (-1);
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		return (-1);
	return (0);
}

int
proc_fault_injected(const char *role)
{
	const char *path = getenv("NOTARYD_TEST_FAULTS");
	char        startup[64], fatal_[64], line[256];
	FILE       *f;
	int         hit = 0;

	if (path == NULL || *path == '\0')
		return (0);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	snprintf(startup, sizeof(startup), "%s-startup", role);
	snprintf(fatal_, sizeof(fatal_), "%s-fatal", role);
	while (!hit && fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, startup) != NULL)
			hit = 1;
		else if (strstr(line, fatal_) != NULL)
			hit = 2;
	}
	fclose(f);
	return (hit);
}

int
proc_poll_events(
    struct proc_ctx *ctx, int sfd, short sig_revents, short chan_revents)
{
	struct proc_signals sig;

	if ((chan_revents & (POLLIN | POLLHUP | POLLERR)) &&
	    proc_chan_read(ctx) == -1) {
		log_info("master is gone; exiting");
		return (PROC_GONE);
	}
	if (sig_revents & POLLIN) {
		memset(&sig, 0, sizeof(sig));
		if (proc_read_signals(sfd, &sig) == -1)
			return (PROC_GONE);
		if (sig.reopen)
			log_reopen();
		if (sig.stop || sig.quit)
			return (PROC_STOP);
	}
	return (0);
}

int
proc_step_loop(
    struct proc_ctx *ctx, int sfd, int (*step)(void *), void *arg, int idle_ms)
{
	struct pollfd pfd[2];
	int           more, rv;

	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = ctx->chan;
	pfd[1].events = POLLIN;
	for (;;) {
		if ((more = step(arg)) == -1)
			return (PROC_EXIT_FAIL);
		rv = poll(pfd, 2, more ? 0 : idle_ms);
		if (rv == -1 && errno != EINTR) {
			log_warn("poll");
			return (PROC_EXIT_FAIL);
		}
		if (rv <= 0)
			continue;
		switch (proc_poll_events(
		    ctx, sfd, pfd[0].revents, pfd[1].revents)) {
		case PROC_GONE:
			return (PROC_EXIT_FAIL);
		case PROC_STOP:
			return (PROC_EXIT_OK);
		}
	}
}

int
proc_run_loop(struct proc_ctx *ctx, int sfd, const struct proc_loop *l)
{
	struct pollfd pfd[2];
	int64_t       next = mono_ms() + l->tick_ms, now;
	int           timeout;

	for (;;) {
		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ctx->chan;
		pfd[1].events = POLLIN;
		now = mono_ms();
		timeout = next > now ? (int)(next - now) : 0;
		if (poll(pfd, 2, timeout) == -1 && errno != EINTR)
			fatal("poll");
		switch (proc_poll_events(
		    ctx, sfd, pfd[0].revents, pfd[1].revents)) {
		case PROC_GONE:
			return (PROC_EXIT_FAIL);
		case PROC_STOP:
			return (PROC_EXIT_OK);
		}
		if (mono_ms() >= next) {
			if (l->tick != NULL)
				l->tick(l->arg);
			next = mono_ms() + l->tick_ms;
		}
	}
}

void
proc_child_run(struct proc_ctx *ctx, const struct role_ops *ops)
{
	void *state;
	int   sfd, code = PROC_EXIT_FAIL;

	if ((sfd = proc_signalfd()) == -1)
		_exit(PROC_EXIT_FAIL);
	if ((state = ops->open(ctx, &code)) == NULL)
		_exit(code);
	if (!ops->once_only && proc_report_ready(ctx) == -1)
		code = PROC_EXIT_FAIL;
	else
		code = ops->run(state, ctx, sfd);
	if (ops->close != NULL)
		ops->close(state);
	_exit(code);
}
