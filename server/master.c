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
#include "common/proc.h"
#include "server/roles.h"
#include "common/ring.h"
#include "server/sigproto.h"
#include "store/paths.h"
#include "common/status.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		60000
#define BACKOFF_RESET_MS	60000	/* uptime that forgives past crashes */
#define THROTTLE_MS		60000	/* role that dies during start-up */
#define DB_STOP_GRACE_MS	2000	/* TERM -> KILL for db users */
#define RECOVERY_TIMEOUT_MS	300000
#define RECOVERY_WINDOW_MS	600000
#define RECOVERY_MAX		10	/* more in the window: exit 1 */
#define STARTUP_TIMEOUT_MS	60000
#define LISTEN_BACKLOG		511

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct child {
	TAILQ_ENTRY(child) entry;
	enum role	role;
	int		index;
	unsigned	generation;
	pid_t		pid;		/* 0 when not running */
	int		chan;		/* master end of the channel, or -1 */
	int		ready;
	int		retiring;	/* old generation: never respawned */
	int		stop_requested;	/* we asked it to stop */
	int		fatal;		/* exited 2: never respawned */
	int64_t		started_ms;
	int64_t		backoff_ms;
	int64_t		respawn_at;	/* 0 = not scheduled */
};
TAILQ_HEAD(childq, child);

enum dbphase {
	DBP_RECOVERING,		/* recovery helper running */
	DBP_STOPPING,		/* waiting for db users to exit */
	DBP_UP,
};

struct master {
	struct conf		*cf;
	char			*path;		/* absolute, or NULL */
	int			 cwd_fd;	/* where relative paths began */
	int64_t			 db_up_ms;	/* first time the db was up */
	const struct conf_override *ov;
	size_t			 nov;
	int			 foreground;
	int			 sfd;
	int			*listen_fds;
	size_t			 nlisten;
	int			 lock_fd;
	int			 pid_fd;
	int			 signer_fd;	/* listening; signers accept */
	int			 ready_pipe;	/* daemon mode, until ready */
	int			 ready;
	int64_t			 started_ms;
	struct cache		*cache;
	struct ring		*ring;
	struct status		*status;
	struct childq		 children;
	unsigned		 generation;
	int64_t			 throttle_until[ROLE_MAX];
	enum dbphase		 dbphase;
	pid_t			 recovery_pid;
	int64_t			 db_deadline;
	int			 db_killed;
	int64_t			 recoveries[RECOVERY_MAX + 1];
	int			 nrecoveries;
	uid_t			 uid;
	gid_t			 gid;
	int			 drop_privs;
	int			 stopping;	/* 0, SIGTERM or SIGQUIT */
	int			 exit_code;
	int64_t			 stop_deadline;
	int			 stop_escalated;
};

/* ---- listeners, lock, pidfile, users ---------------------------------- */

static int
open_listener(const struct conf_listen *l)
{
	int	fd, one = 1;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("listen %s: socket", l->text);
		return (-1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == -1) {
		log_warn("cannot listen on %s: bind", l->text);
		close(fd);
		return (-1);
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		log_warn("cannot listen on %s", l->text);
		close(fd);
		return (-1);
	}
	return (fd);
}

static int
open_listeners(struct master *m)
{
	const struct conf_listen_list *ll = &m->cf->http.listen;
	size_t	i;

	m->listen_fds = xcalloc(ll->n ? ll->n : 1, sizeof(int));
	for (i = 0; i < ll->n; i++) {
		if ((m->listen_fds[i] = open_listener(&ll->v[i])) == -1)
			return (-1);
		m->nlisten++;
		log_info("listening on %s", ll->v[i].text);
	}
	return (0);
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char	*p = xstrdup(path), *s;
	int	 r = 0;

	for (s = p + 1; *s != '\0' && r == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			r = -1;
		*s = '/';
	}
	if (r == 0 && mkdir(p, mode) == -1 && errno != EEXIST)
		r = -1;
	free(p);
	return (r);
}

/*
 * Take an exclusive fcntl lock on path.  Returns the fd, or -1; when the
 * lock is held by another process its pid goes to *holder.
 */
static int
lock_file(const char *path, pid_t *holder)
{
	struct flock	fl;
	int		fd;

	*holder = 0;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return (-1);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno == EACCES || errno == EAGAIN) {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			if (fcntl(fd, F_GETLK, &fl) == 0 &&
			    fl.l_type != F_UNLCK)
				*holder = fl.l_pid;
			errno = EAGAIN;
		}
		close(fd);
		return (-1);
	}
	return (fd);
}

static int
write_pid(int fd)
{
	char	buf[32];
	int	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		return (-1);
	return (0);
}

static int
take_locks(struct master *m, char *err, size_t errlen)
{
	char	*path = store_path(m->cf, STORE_LOCK);
	pid_t	 holder;

	m->lock_fd = lock_file(path, &holder);
	if (m->lock_fd == -1) {
		if (errno == EAGAIN)
			snprintf(err, errlen, "another notaryd (pid %d) is "
			    "already running with data_dir %s", (int)holder,
			    m->cf->daemon.data_dir);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
		free(path);
		return (-1);
	}
	free(path);
	write_pid(m->lock_fd);
	if (m->cf->daemon.pidfile[0] == '\0')
		return (0);
	m->pid_fd = lock_file(m->cf->daemon.pidfile, &holder);
	if (m->pid_fd == -1) {
		if (errno == EAGAIN)
			snprintf(err, errlen, "another notaryd (pid %d) holds "
			    "the pidfile %s", (int)holder,
			    m->cf->daemon.pidfile);
		else
			snprintf(err, errlen, "cannot open pidfile %s: %s",
			    m->cf->daemon.pidfile, strerror(errno));
		return (-1);
	}
	if (write_pid(m->pid_fd) == -1) {
		snprintf(err, errlen, "cannot write pidfile %s: %s",
		    m->cf->daemon.pidfile, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * The socket the HTTP workers reach the signers on.  The master owns it
 * so that it outlives any signer: while a signer restarts, connections
 * wait in the backlog.  Only the daemon user may connect.
 */
static int
open_signer_socket(struct master *m, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	int			fd;

	if (store_sockaddr(m->cf, STORE_SIGNER_SOCK, &sun) == -1) {
		snprintf(err, errlen, "daemon.data_dir %s is too long for a "
		    "unix socket path (at most %zu bytes)",
		    m->cf->daemon.data_dir,
		    store_sun_path_max(STORE_SIGNER_SOCK));
		return (-1);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "signer socket: %s", strerror(errno));
		return (-1);
	}
	/* We hold the data_dir lock: a leftover file is ours to replace. */
	unlink(sun.sun_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(sun.sun_path, 0660) == -1 ||
	    (m->drop_privs && chown(sun.sun_path, m->uid, m->gid) == -1) ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errlen, "signer socket %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	m->signer_fd = fd;
	return (0);
}

static int
resolve_user(struct master *m, char *err, size_t errlen)
{
	const struct conf	*cf = m->cf;
	struct passwd		*pw;
	struct group		*gr;

	if (cf->daemon.user[0] == '\0') {
		if (geteuid() == 0)
			log_warnx("running as root: set daemon.user so that "
			    "the children drop privileges");
		return (0);
	}
	if (geteuid() != 0) {
		log_warnx("daemon.user %s ignored: not started as root",
		    cf->daemon.user);
		return (0);
	}
	if ((pw = getpwnam(cf->daemon.user)) == NULL) {
		snprintf(err, errlen, "daemon.user: no such user %s",
		    cf->daemon.user);
		return (-1);
	}
	m->uid = pw->pw_uid;
	m->gid = pw->pw_gid;
	if (cf->daemon.group[0] != '\0') {
		if ((gr = getgrnam(cf->daemon.group)) == NULL) {
			snprintf(err, errlen, "daemon.group: no such group %s",
			    cf->daemon.group);
			return (-1);
		}
		m->gid = gr->gr_gid;
	}
	m->drop_privs = 1;
	return (0);
}

/* data_dir and data_dir/db exist and belong to the daemon user. */
static int
prepare_data_dir(struct master *m, char *err, size_t errlen)
{
	char	*db = store_path(m->cf, STORE_DB_HOME);
	int	 r = -1;

	if (mkdir_p(m->cf->daemon.data_dir, 0750) == -1 ||
	    mkdir_p(db, 0700) == -1) {
		snprintf(err, errlen, "cannot create %s: %s", db,
		    strerror(errno));
		goto done;
	}
	if (m->drop_privs && (chown(m->cf->daemon.data_dir, m->uid, m->gid)
	    == -1 || chown(db, m->uid, m->gid) == -1)) {
		snprintf(err, errlen, "cannot chown %s: %s", db,
		    strerror(errno));
		goto done;
	}
	r = 0;
done:
	free(db);
	return (r);
}

/* A file we will append to: writable if it exists, else its directory. */
static int
check_writable_file(const char *path, char *err, size_t errlen)
{
	char	*dir = xstrdup(path), *slash = strrchr(dir, '/');
	int	 r;

	if (access(path, F_OK) == 0) {
		r = access(path, W_OK);
	} else {
		if (slash == dir)
			slash[1] = '\0';
		else if (slash != NULL)
			*slash = '\0';
		r = access(dir, W_OK | X_OK);
	}
	if (r == -1)
		snprintf(err, errlen, "log.target: cannot write %s: %s", path,
		    strerror(errno));
	free(dir);
	return (r);
}

int
master_check_paths(const struct conf *cf, char *err, size_t errlen)
{
	const char	*keys[2] = { cf->keys.private_key, cf->keys.public_key };
	struct stat	 sb;
	size_t		 i;

	if (stat(cf->daemon.data_dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode)) {
			snprintf(err, errlen, "daemon.data_dir: %s is not a "
			    "directory", cf->daemon.data_dir);
			return (-1);
		}
		if (access(cf->daemon.data_dir, W_OK | X_OK) == -1) {
			snprintf(err, errlen, "daemon.data_dir: %s is not "
			    "writable: %s", cf->daemon.data_dir,
			    strerror(errno));
			return (-1);
		}
	}
	for (i = 0; i < NELEM(keys); i++) {
		if (stat(keys[i], &sb) == 0 && access(keys[i], R_OK) == -1) {
			snprintf(err, errlen, "%s: %s is not readable: %s",
			    i == 0 ? "keys.private" : "keys.public", keys[i],
			    strerror(errno));
			return (-1);
		}
	}
	if (cf->daemon.user[0] != '\0' && getpwnam(cf->daemon.user) == NULL) {
		snprintf(err, errlen, "daemon.user: no such user %s",
		    cf->daemon.user);
		return (-1);
	}
	if (cf->daemon.group[0] != '\0' &&
	    getgrnam(cf->daemon.group) == NULL) {
		snprintf(err, errlen, "daemon.group: no such group %s",
		    cf->daemon.group);
		return (-1);
	}
	if (cf->log.target[0] == '/' && check_writable_file(cf->log.target,
	    err, errlen) == -1)
		return (-1);
	return (0);
}

/* ---- daemonizing -------------------------------------------------------- */

/*
 * In the background nothing may hold the caller's terminal or pipes: the
 * log goes to syslog or a file, and start-up errors travel through the
 * readiness pipe.  Children forked later inherit /dev/null.
 */
static void
detach_stdio(void)
{
	int	fd;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("open /dev/null");
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/*
 * Fork into the background.  The original process waits on a pipe and
 * exits 0 when the daemon writes the readiness byte; if the daemon writes
 * an error text or dies first, the parent prints it and exits with the
 * daemon's status, so init scripts see real failures.
 */
static int
daemonize(struct master *m)
{
	int	p[2], status;
	pid_t	pid;
	char	buf[1024];
	ssize_t	n;
	size_t	got = 0;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(p[0]);
		m->ready_pipe = p[1];
		if (setsid() == -1)
			fatal("setsid");
		umask(027);
		if (chdir("/") == -1)
			fatal("chdir /");
		detach_stdio();
		return (0);
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0 ||
	    (n == -1 && errno == EINTR)) {
		if (n > 0)
			got += (size_t)n;
		if (got >= 1 && buf[0] == PROC_MSG_READY)
			_exit(PROC_EXIT_OK);
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (got > 0)
		fprintf(stderr, "notaryd: %s\n", buf);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		_exit(WEXITSTATUS(status));
	if (got == 0)
		fprintf(stderr, "notaryd: the daemon died during start-up; "
		    "see its log\n");
	_exit(PROC_EXIT_FAIL);
}

/* A start-up error: log it and, in daemon mode, hand it to the parent. */
static void
startup_error(struct master *m, const char *msg)
{
	log_errorx("%s", msg);
	if (m->foreground && !m->ready && log_fd() != -1)
		fprintf(stderr, "notaryd: %s\n", msg);
	if (m->ready_pipe != -1) {
		if (write(m->ready_pipe, msg, strlen(msg)) == -1)
			log_warn("readiness pipe");
		close(m->ready_pipe);
		m->ready_pipe = -1;
	}
}

static void
announce_ready(struct master *m)
{
	struct child	*c;
	int		 n[ROLE_MAX] = { 0 };
	char		 null = PROC_MSG_READY;

	TAILQ_FOREACH(c, &m->children, entry)
		n[c->role]++;
	log_notice("ready: %d http workers, %d signer, %d scanners, "
	    "%d ctwatch (generation %u)", n[ROLE_HTTP], n[ROLE_SIGNER],
	    n[ROLE_SCANNER], n[ROLE_CTWATCH], m->generation);
	m->ready = 1;
	if (m->ready_pipe == -1)
		return;
	if (write(m->ready_pipe, &null, 1) != 1)
		log_warn("readiness pipe");
	close(m->ready_pipe);
	m->ready_pipe = -1;
}

/* ---- children ---------------------------------------------------------- */

static struct child *
child_new(struct master *m, enum role role, int index)
{
	struct child	*c = xcalloc(1, sizeof(*c));

	c->role = role;
	c->index = index;
	c->generation = m->generation;
	c->chan = -1;
	c->backoff_ms = BACKOFF_MIN_MS;
	c->respawn_at = mono_ms();
	TAILQ_INSERT_TAIL(&m->children, c, entry);
	return (c);
}

static void
child_free(struct master *m, struct child *c)
{
	TAILQ_REMOVE(&m->children, c, entry);
	if (c->chan != -1)
		close(c->chan);
	free(c);
}

static void
create_slots(struct master *m)
{
	enum role	r;
	int		i;

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
	struct proc_ctx	ctx;
	int		sv[2], keep[PROC_KEEP_FIXED + CONF_LISTEN_MAX];
	size_t		nkeep = 0, i;
	pid_t		pid;

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
	}
	proc_child_init(&ctx, keep, nkeep);
	proc_child_run(&ctx, roles[role].ops);
}

static void
spawn_child(struct master *m, struct child *c)
{
	int64_t	now = mono_ms();
	pid_t	pid;

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
	log_debug("started %s#%d (pid %d)", role_name(c->role), c->index,
	    (int)pid);
}

static void
signal_children(struct master *m, int sig, int db_only)
{
	struct child	*c;

	TAILQ_FOREACH(c, &m->children, entry) {
		if (c->pid == 0 || (db_only && !role_is_db_user(c->role)))
			continue;
		if (sig != SIGUSR1)
			c->stop_requested = 1;
		kill(c->pid, sig);
	}
}

static int
count_live(struct master *m, int db_only)
{
	struct child	*c;
	int		 n = 0;

	TAILQ_FOREACH(c, &m->children, entry)
		if (c->pid != 0 && (!db_only || role_is_db_user(c->role)))
			n++;
	return (n);
}

static void
describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "ended with wait status %#x", status);
}

static void	begin_stop(struct master *m, int how, int code);
static void	start_db_recovery(struct master *m, const char *why);

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
		    "for %d s", role_name(c->role), c->index,
		    role_name(c->role), THROTTLE_MS / 1000);
	}
}

/* A role whose children all exited 2 cannot do its job: stop. */
static int
role_has_hope(struct master *m, enum role r)
{
	struct child	*c;

	TAILQ_FOREACH(c, &m->children, entry)
		if (c->role == r && !c->retiring && !c->fatal)
			return (1);
	return (0);
}

static void
child_exited(struct master *m, struct child *c, int status)
{
	char	 how[128];
	int64_t	 now = mono_ms();
	int	 crashed, requested = c->stop_requested;
	int	 code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

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
		child_free(m, c);
		return;
	}
	if (m->stopping)
		return;
	if (!m->ready && !requested) {
		startup_error(m, code == PROC_EXIT_FATAL ?
		    "a child exited with status 2 (configuration) during "
		    "start-up" : "a child failed during start-up; see the log");
		begin_stop(m, SIGTERM, code == PROC_EXIT_FATAL ?
		    PROC_EXIT_FATAL : PROC_EXIT_FAIL);
		return;
	}
	if (code == PROC_EXIT_FATAL && !requested) {
		log_errorx("%s#%d exited with fatal status 2 and will not be "
		    "restarted", role_name(c->role), c->index);
		c->fatal = 1;
		if (!role_has_hope(m, c->role)) {
			log_errorx("no %s process is left: stopping",
			    role_name(c->role));
			begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
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

/* ---- database recovery ------------------------------------------------- */

static int
recovery_budget_left(struct master *m, int64_t now)
{
	int	i, n = 0;

	for (i = 0; i < m->nrecoveries; i++)
		if (now - m->recoveries[i] < RECOVERY_WINDOW_MS)
			m->recoveries[n++] = m->recoveries[i];
	m->nrecoveries = n;
	return (n < RECOVERY_MAX);
}

static void
launch_recovery_helper(struct master *m)
{
	int	chan;

	m->dbphase = DBP_RECOVERING;
	atomic_store(&m->status->db_state, DB_STATE_RECOVERING);
	m->recovery_pid = fork_role(m, ROLE_RECOVERY, 0, &chan);
	if (m->recovery_pid == -1) {
		startup_error(m, "cannot fork the database recovery helper");
		begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
		return;
	}
	close(chan);
	m->db_deadline = mono_ms() + RECOVERY_TIMEOUT_MS;
	m->db_killed = 0;
}

static void
start_db_recovery(struct master *m, const char *why)
{
	int64_t	now = mono_ms();

	if (m->dbphase != DBP_UP)
		return;		/* already stopping or recovering */
	if (!recovery_budget_left(m, now)) {
		log_errorx("more than %d database recoveries in %d minutes: "
		    "giving up", RECOVERY_MAX, RECOVERY_WINDOW_MS / 60000);
		begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
		return;
	}
	m->recoveries[m->nrecoveries++] = now;
	log_warnx("a database user %s: stopping the database users for "
	    "recovery (http workers keep serving)", why);
	m->dbphase = DBP_STOPPING;
	atomic_store(&m->status->db_state, DB_STATE_RECOVERING);
	m->db_deadline = now + DB_STOP_GRACE_MS;
	m->db_killed = 0;
	signal_children(m, SIGTERM, 1);
}

static void
recovery_exited(struct master *m, int status)
{
	struct child	*c;
	char		 how[128];
	int64_t		 now = mono_ms();

	m->recovery_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		describe_exit(status, how, sizeof(how));
		log_errorx("database recovery helper %s", how);
		startup_error(m, "database recovery failed; see the log");
		if (!m->stopping)
			begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
		return;
	}
	atomic_fetch_add(&m->status->recoveries, 1);
	if (m->stopping)
		return;
	if (m->db_up_ms == 0)
		m->db_up_ms = mono_ms();
	m->dbphase = DBP_UP;
	atomic_store(&m->status->db_state, DB_STATE_UP);
	TAILQ_FOREACH(c, &m->children, entry) {
		if (!role_is_db_user(c->role) || c->pid != 0 || c->fatal)
			continue;
		if (c->respawn_at == 0 || c->respawn_at < now)
			c->respawn_at = now;
	}
}

static void
db_phase_tick(struct master *m, int64_t now)
{
	if (m->dbphase == DBP_STOPPING) {
		if (count_live(m, 1) == 0) {
			launch_recovery_helper(m);
		} else if (now >= m->db_deadline && !m->db_killed) {
			log_warnx("database users did not stop in time: "
			    "killing them");
			signal_children(m, SIGKILL, 1);
			m->db_killed = 1;
		}
	} else if (m->dbphase == DBP_RECOVERING && m->recovery_pid > 0 &&
	    now >= m->db_deadline && !m->db_killed) {
		log_errorx("database recovery takes longer than %d s: "
		    "killing it", RECOVERY_TIMEOUT_MS / 1000);
		kill(m->recovery_pid, SIGKILL);
		m->db_killed = 1;
	}
}

/* ---- reaping, spawning, status -------------------------------------- */

static void
reap_children(struct master *m)
{
	struct child	*c;
	pid_t		 pid;
	int		 status;

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

static void
spawn_due(struct master *m, int64_t now)
{
	struct child	*c;
	enum role	 r;

	for (r = ROLE_HTTP; r < ROLE_RECOVERY; r++)
		atomic_store(&m->status->role[r].throttled,
		    m->throttle_until[r] > now);
	if (m->stopping)
		return;
	TAILQ_FOREACH(c, &m->children, entry) {
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

static void
publish_status(struct master *m)
{
	struct child	*c;
	uint32_t	 want[ROLE_MAX] = { 0 }, ready[ROLE_MAX] = { 0 };
	enum role	 r;

	TAILQ_FOREACH(c, &m->children, entry) {
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

static int
all_ready(struct master *m)
{
	struct child	*c;

	if (m->dbphase != DBP_UP)
		return (0);
	TAILQ_FOREACH(c, &m->children, entry)
		if (!c->retiring && (c->pid == 0 || !c->ready))
			return (0);
	return (1);
}

static void
read_channel(struct child *c)
{
	char	buf[16];
	ssize_t	n, i;

	while ((n = recv(c->chan, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == PROC_MSG_READY && !c->ready) {
				c->ready = 1;
				log_debug("%s#%d (pid %d) ready",
				    role_name(c->role), c->index, (int)c->pid);
			}
		}
	}
	if (n == 0) {		/* the child is going away; waitpid tells */
		close(c->chan);
		c->chan = -1;
	}
}

/* ---- stop, reload, log reopen ------------------------------------------ */

static void
begin_stop(struct master *m, int how, int code)
{
	if (m->stopping == SIGTERM)
		return;
	if (code > m->exit_code)
		m->exit_code = code;
	m->stopping = how;
	atomic_store(&m->status->stopping, 1);
	m->stop_deadline = mono_ms() + m->cf->daemon.stop_timeout_ms;
	m->stop_escalated = 0;
	log_notice("%s: stopping %d children", how == SIGQUIT ?
	    "graceful stop" : "stop", count_live(m, 0));
	signal_children(m, how, 0);
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
		signal_children(m, SIGTERM, 0);
		m->stop_escalated = 1;
		m->stop_deadline = now + m->cf->daemon.stop_timeout_ms;
		return;
	}
	if (m->stop_escalated < 2) {
		log_warnx("%d children did not stop in time: killing them",
		    count_live(m, 0));
		signal_children(m, SIGKILL, 0);
		if (m->recovery_pid > 0)
			kill(m->recovery_pid, SIGKILL);
		m->stop_escalated = 2;
	}
}

static void
log_errors(const char *prefix, const char *errs)
{
	const char	*p = errs, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		log_warnx("%s%.*s", prefix, nl ? (int)(nl - p) : (int)strlen(p),
		    p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void
reload(struct master *m)
{
	struct conf	*nw;
	struct child	*c, *tmp;
	char		 err[CONF_ERR_MAX], what[512];

	/* Relative paths in the file mean what they meant at start. */
	if (m->cwd_fd != -1 && fchdir(m->cwd_fd) == -1)
		log_warn("reload: cannot return to the start directory");
	nw = conf_load(m->path, m->ov, m->nov, err, sizeof(err));
	if (!m->foreground && chdir("/") == -1)
		log_warn("chdir /");
	if (nw == NULL) {
		log_warnx("reload: %s has errors; keeping the running "
		    "configuration", m->path ? m->path : "(defaults)");
		log_errors("reload: ", err);
		return;
	}
	if (conf_restart_keys_differ(m->cf, nw, what, sizeof(what)) > 0) {
		log_warnx("reload: %s cannot change without a restart; "
		    "they keep their running values", what);
		conf_keep_restart_keys(nw, m->cf);
	}
	if (log_configure(nw->log.level, (m->foreground == 0 &&
	    strcmp(nw->log.target, "stderr") == 0) ? "syslog" :
	    nw->log.target, err, sizeof(err)) == -1)
		log_warnx("reload: %s; keeping the log target", err);
	conf_free(m->cf);
	m->cf = nw;
	m->generation++;
	TAILQ_FOREACH_SAFE(c, &m->children, entry, tmp) {
		if (c->pid == 0) {
			child_free(m, c);
			continue;
		}
		c->retiring = 1;
		c->stop_requested = 1;
		kill(c->pid, SIGQUIT);
	}
	create_slots(m);
	log_notice("reload: configuration generation %u; replacing the "
	    "children gracefully", m->generation);
}

static void
reopen_logs(struct master *m)
{
	log_reopen();
	log_info("log reopened");
	signal_children(m, SIGUSR1, 0);
}

/* ---- the loop ------------------------------------------------------ */

static int
poll_timeout(struct master *m, int64_t now)
{
	struct child	*c;
	int64_t		 next = now + 1000;

	TAILQ_FOREACH(c, &m->children, entry) {
		int64_t	at = c->respawn_at;
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
	struct proc_signals	s;

	memset(&s, 0, sizeof(s));
	if (proc_read_signals(m->sfd, &s) == -1)
		return;
	if (s.stop)
		begin_stop(m, SIGTERM, PROC_EXIT_OK);
	else if (s.quit)
		begin_stop(m, SIGQUIT, PROC_EXIT_OK);
	if (s.hup && !m->stopping)
		reload(m);
	if (s.reopen)
		reopen_logs(m);
}

static int
loop_done(struct master *m)
{
	return (m->stopping && count_live(m, 0) == 0 && m->recovery_pid == 0);
}

static void
master_loop(struct master *m)
{
	struct pollfd	 pfd[256];
	struct child	*owner[256];
	struct child	*c;
	int64_t		 now;
	nfds_t		 n, i;

	while (!loop_done(m)) {
		n = 0;
		pfd[n].fd = m->sfd;
		pfd[n++].events = POLLIN;
		TAILQ_FOREACH(c, &m->children, entry) {
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
				read_channel(owner[i]);
		if (pfd[0].revents & POLLIN)
			handle_signals(m);
		reap_children(m);
		now = mono_ms();
		db_phase_tick(m, now);
		spawn_due(m, now);
		stop_tick(m, now);
		publish_status(m);
		if (!m->ready && !m->stopping) {
			if (all_ready(m))
				announce_ready(m);
			else if (m->db_up_ms != 0 &&
			    now - m->db_up_ms > STARTUP_TIMEOUT_MS) {
				startup_error(m, "the children did not become "
				    "ready in time");
				begin_stop(m, SIGTERM, PROC_EXIT_FAIL);
			}
		}
	}
}

/* ---- set-up and tear-down ---------------------------------------------- */

static int
create_shared_memory(struct master *m)
{
	m->status = status_create();
	m->cache = cache_create(m->cf->cache.size,
	    (uint32_t)m->cf->cache.max_response);
	m->ring = ring_create(m->cf->stream.ring_size);
	if (m->status == NULL || m->cache == NULL || m->ring == NULL)
		return (-1);
	atomic_store(&m->status->started_wall, wall_s());
	return (0);
}

static void
cleanup(struct master *m)
{
	struct child	*c;
	size_t		 i;

	while ((c = TAILQ_FIRST(&m->children)) != NULL)
		child_free(m, c);
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

/*
 * Every connection is a descriptor: raise the soft limit to the hard one
 * and warn when even that is below what the config allows.
 */
static void
raise_fd_limit(const struct conf *cf)
{
	struct rlimit	rl;
	rlim_t		want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	want = (rlim_t)cf->http.max_connections + 256;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit(RLIMIT_NOFILE)");
	}
	if (rl.rlim_cur < want)
		log_warnx("open-file limit %llu is below http.max_connections "
		    "+ 256 = %llu: raise it (ulimit -n, LimitNOFILE=)",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static int
configure_logging(struct master *m)
{
	const char	*target = m->cf->log.target;
	char		 err[512];

	/* In the background stderr goes away: "stderr" means syslog there. */
	if (!m->foreground && strcmp(target, "stderr") == 0)
		target = "syslog";
	if (log_configure(m->cf->log.level, target, err, sizeof(err)) == -1) {
		fprintf(stderr, "notaryd: %s\n", err);
		return (-1);
	}
	return (0);
}

int
master_run(struct conf *cf, const struct conf_override *ov, size_t nov,
    int foreground)
{
	struct master	m;
	char		err[1024];
	int		code;

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
	if (resolve_user(&m, err, sizeof(err)) == -1 ||
	    prepare_data_dir(&m, err, sizeof(err)) == -1) {
		fprintf(stderr, "notaryd: %s\n", err);
		cleanup(&m);
		return (PROC_EXIT_FATAL);
	}
	if (open_listeners(&m) == -1) {
		fprintf(stderr, "notaryd: cannot open the listening sockets "
		    "(see above)\n");
		cleanup(&m);
		return (PROC_EXIT_FAIL);
	}
	if (configure_logging(&m) == -1) {
		cleanup(&m);
		return (PROC_EXIT_FATAL);
	}
	raise_fd_limit(cf);
	if (!foreground)
		daemonize(&m);
	m.started_ms = mono_ms();
	log_notice("notaryd %s starting (pid %d, data_dir %s)",
	    PACKAGE_VERSION, (int)getpid(), cf->daemon.data_dir);
	if ((m.sfd = proc_signalfd()) == -1) {
		startup_error(&m, "cannot set up signal handling");
		cleanup(&m);
		return (PROC_EXIT_FAIL);
	}
	if (take_locks(&m, err, sizeof(err)) == -1 ||
	    open_signer_socket(&m, err, sizeof(err)) == -1) {
		startup_error(&m, err);
		cleanup(&m);
		return (PROC_EXIT_FAIL);
	}
	if (create_shared_memory(&m) == -1) {
		startup_error(&m, "cannot create the shared memory (see log)");
		cleanup(&m);
		return (PROC_EXIT_FAIL);
	}
	create_slots(&m);
	launch_recovery_helper(&m);
	master_loop(&m);
	code = m.exit_code;
	log_notice("stopped (exit status %d)", code);
	if (m.ready_pipe != -1)
		startup_error(&m, "stopped during start-up; see the log");
	cleanup(&m);
	return (code);
}
