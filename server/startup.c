/*
 * startup.c - the master's set-up before and while it forks: listening
 * sockets, the data_dir lock and pidfile, the signer socket, the daemon
 * user, data_dir, the paths notaryd -t checks, daemonizing with a
 * readiness pipe, logging, the fd limit and the shared memory.  Runs in
 * the master only; every failure is a message for the operator's terminal
 * (or the log once detached), and start-up stops.
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


static int
open_listener(const struct netaddr_listen *l)
{
	int fd, one = 1;

	fd = socket(
	    l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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

/* Open every address of one listener list; what (for the log) or "". */
static int
open_listen_list(const struct netaddr_listen_list *ll, int **fds, size_t *n,
    const char *what)
{
	size_t i;

	*fds = xcalloc(ll->n ? ll->n : 1, sizeof(int));
	for (i = 0; i < ll->n; i++) {
		if (((*fds)[i] = open_listener(&ll->v[i])) == -1)
			return (-1);
		(*n)++;
		log_info("listening on %s%s", ll->v[i].text, what);
	}
	return (0);
}

/* The plain HTTP ports, the Convergence TLS ports and the relay ports,
 * all served by the http workers. */
int
master_open_listeners(struct master *m)
{
	const struct conf *cf = m->cf;

	if (open_listen_list(
	        &cf->http.listen, &m->listen_fds, &m->nlisten, "") == -1 ||
	    open_listen_list(&cf->convergence.listen, &m->conv_fds, &m->nconv,
	        " (Convergence, TLS)") == -1 ||
	    open_listen_list(&cf->convergence.proxy_listen, &m->proxy_fds,
	        &m->nproxy, " (Convergence relay)") == -1)
		return (-1);
	return (0);
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	int   r = 0;

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
	struct flock fl;
	int          fd;

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
	char buf[32];
	int  n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		return (-1);
	return (0);
}

int
master_take_locks(struct master *m, char *err, size_t errlen)
{
	char *path = store_path(m->cf, STORE_LOCK);
	pid_t holder;

	m->lock_fd = lock_file(path, &holder);
	if (m->lock_fd == -1) {
		if (errno == EAGAIN)
			snprintf(err, errlen,
			    "another notaryd (pid %d) is "
			    "already running with data_dir %s",
			    (int)holder, m->cf->daemon.data_dir);
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
			snprintf(err, errlen,
			    "another notaryd (pid %d) holds "
			    "the pidfile %s",
			    (int)holder, m->cf->daemon.pidfile);
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
int
master_open_signer_socket(struct master *m, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int                fd;

	if (store_sockaddr(m->cf, STORE_SIGNER_SOCK, &sun) == -1) {
		snprintf(err, errlen,
		    "daemon.data_dir %s is too long for a "
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

int
master_resolve_user(struct master *m, char *err, size_t errlen)
{
	const struct conf *cf = m->cf;
	struct passwd     *pw;
	struct group      *gr;

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
int
master_prepare_data_dir(struct master *m, char *err, size_t errlen)
{
	char *db = store_path(m->cf, STORE_DB_HOME);
	int   r = -1;

	if (mkdir_p(m->cf->daemon.data_dir, 0750) == -1 ||
	    mkdir_p(db, 0700) == -1) {
		snprintf(
		    err, errlen, "cannot create %s: %s", db, strerror(errno));
		goto done;
	}
	if (m->drop_privs &&
	    (chown(m->cf->daemon.data_dir, m->uid, m->gid) == -1 ||
	        chown(db, m->uid, m->gid) == -1)) {
		snprintf(
		    err, errlen, "cannot chown %s: %s", db, strerror(errno));
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
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int   r;

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
	const char *keys[2] = { cf->keys.private_key, cf->keys.public_key };
	struct stat sb;
	size_t      i;

	if (stat(cf->daemon.data_dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode)) {
			snprintf(err, errlen,
			    "daemon.data_dir: %s is not a "
			    "directory",
			    cf->daemon.data_dir);
			return (-1);
		}
		if (access(cf->daemon.data_dir, W_OK | X_OK) == -1) {
			snprintf(err, errlen,
			    "daemon.data_dir: %s is not "
			    "writable: %s",
			    cf->daemon.data_dir, strerror(errno));
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
	if (cf->daemon.group[0] != '\0' && getgrnam(cf->daemon.group) == NULL) {
		snprintf(err, errlen, "daemon.group: no such group %s",
		    cf->daemon.group);
		return (-1);
	}
	if (cf->log.target[0] == '/' &&
	    check_writable_file(cf->log.target, err, errlen) == -1)
		return (-1);
	return (0);
}

/*
 * In the background nothing may hold the caller's terminal or pipes: the
 * log goes to syslog or a file, and start-up errors travel through the
 * readiness pipe.  Children forked later inherit /dev/null.
 */
static void
detach_stdio(void)
{
	int fd;

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
int
master_daemonize(struct master *m)
{
	int     p[2], status;
	pid_t   pid;
	char    buf[1024];
	ssize_t n;
	size_t  got = 0;

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
		fprintf(stderr,
		    "notaryd: the daemon died during start-up; "
		    "see its log\n");
	_exit(PROC_EXIT_FAIL);
}

/* A start-up error: log it and, in daemon mode, hand it to the parent. */
void
master_startup_error(struct master *m, const char *msg)
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

void
master_announce_ready(struct master *m)
{
	struct child *c;
	int           n[ROLE_MAX] = { 0 };
	char          null = PROC_MSG_READY;

	TAILQ_FOREACH(c, &m->children, entry)
	n[c->role]++;
	log_notice("ready: %d http workers, %d signer, %d scanners, "
	           "%d ctwatch (generation %u)",
	    n[ROLE_HTTP], n[ROLE_SIGNER], n[ROLE_SCANNER], n[ROLE_CTWATCH],
	    m->generation);
	m->ready = 1;
	if (m->ready_pipe == -1)
		return;
	if (write(m->ready_pipe, &null, 1) != 1)
		log_warn("readiness pipe");
	close(m->ready_pipe);
	m->ready_pipe = -1;
}

int
master_create_shared_memory(struct master *m)
{
	m->status = status_create();
	m->cache = cache_create(
	    m->cf->cache.size, (uint32_t)m->cf->cache.max_response);
	m->ring = ring_create(m->cf->stream.ring_size);
	if (m->status == NULL || m->cache == NULL || m->ring == NULL)
		return (-1);
	atomic_store(&m->status->started_wall, wall_s());
	return (0);
}

/*
 * Every connection is a descriptor: raise the soft limit to the hard one
 * and warn when even that is below what the config allows.
 */
void
master_raise_fd_limit(const struct conf *cf)
{
	struct rlimit rl;
	rlim_t        want;

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

int
master_configure_logging(struct master *m)
{
	const char *target = m->cf->log.target;
	char        err[512];

	/* In the background stderr goes away: "stderr" means syslog there. */
	if (!m->foreground && strcmp(target, "stderr") == 0)
		target = "syslog";
	if (log_configure(m->cf->log.level, target, err, sizeof(err)) == -1) {
		fprintf(stderr, "notaryd: %s\n", err);
		return (-1);
	}
	return (0);
}
