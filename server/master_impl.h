/*
 * master_impl.h - what the three parts of the master share: its state,
 * its children, and the functions one part calls in another.  Internal
 * to server/master*.c, server/startup.c and server/supervise.c.
 *
 *   startup.c    before and while forking: listeners, locks, the signer
 *                socket, users, data_dir, daemonizing, shared memory
 *   supervise.c  the children: forking, exits, respawn back-off,
 *                database recovery phases, status
 *   master.c     the loop: signals, reload, stop, set-up and tear-down
 */
#ifndef NOTARYD_MASTER_IMPL_H
#define NOTARYD_MASTER_IMPL_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>

#include "common/conf.h"
#include "common/status.h"

struct cache;
struct ring;
struct status;

#define BACKOFF_MIN_MS      250
#define BACKOFF_MAX_MS      60000
#define BACKOFF_RESET_MS    60000 /* uptime that forgives past crashes */
#define THROTTLE_MS         60000 /* role that dies during start-up */
#define DB_STOP_GRACE_MS    2000  /* TERM -> KILL for db users */
#define RECOVERY_TIMEOUT_MS 300000
#define RECOVERY_WINDOW_MS  600000
#define RECOVERY_MAX        10 /* more in the window: exit 1 */
#define STARTUP_TIMEOUT_MS  60000
#define LISTEN_BACKLOG      511

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                  \
	for ((var) = TAILQ_FIRST(head);                             \
	     (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1); \
	     (var) = (tvar))
#endif

struct child {
	TAILQ_ENTRY(child) entry;
	enum role role;
	int       index;
	unsigned  generation;
	pid_t     pid;  /* 0 when not running */
	int       chan; /* master end of the channel, or -1 */
	int       ready;
	int       retiring;       /* old generation: never respawned */
	int       stop_requested; /* we asked it to stop */
	int       fatal;          /* exited 2: never respawned */
	int64_t   started_ms;
	int64_t   backoff_ms;
	int64_t   respawn_at; /* 0 = not scheduled */
};
TAILQ_HEAD(childq, child);

enum dbphase {
	DBP_RECOVERING, /* recovery helper running */
	DBP_STOPPING,   /* waiting for db users to exit */
	DBP_UP,
};

struct master {
	struct conf                *cf;
	char                       *path;     /* absolute, or NULL */
	int                         cwd_fd;   /* where relative paths began */
	int64_t                     db_up_ms; /* first time the db was up */
	const struct conf_override *ov;
	size_t                      nov;
	int                         foreground;
	int                         sfd;
	int                        *listen_fds;
	size_t                      nlisten;
	int                        *conv_fds; /* convergence.listen (TLS) */
	size_t                      nconv;
	int                        *proxy_fds; /* convergence.proxy_listen */
	size_t                      nproxy;
	int                         lock_fd;
	int                         pid_fd;
	int                         signer_fd;  /* listening; signers accept */
	int                         ready_pipe; /* daemon mode, until ready */
	int                         ready;
	int64_t                     started_ms;
	struct cache               *cache;
	struct ring                *ring;
	struct status              *status;
	struct childq               children;
	unsigned                    generation;
	int64_t                     throttle_until[ROLE_MAX];
	enum dbphase                dbphase;
	pid_t                       recovery_pid;
	int64_t                     db_deadline;
	int                         db_killed;
	int64_t                     recoveries[RECOVERY_MAX + 1];
	int                         nrecoveries;
	uid_t                       uid;
	gid_t                       gid;
	int                         drop_privs;
	int                         stopping; /* 0, SIGTERM or SIGQUIT */
	int                         exit_code;
	int64_t                     stop_deadline;
	int                         stop_escalated;
};

int  master_open_listeners(struct master *m);
int  master_take_locks(struct master *m, char *err, size_t errlen);
int  master_open_signer_socket(struct master *m, char *err, size_t errlen);
int  master_resolve_user(struct master *m, char *err, size_t errlen);
int  master_prepare_data_dir(struct master *m, char *err, size_t errlen);
int  master_daemonize(struct master *m);
void master_startup_error(struct master *m, const char *msg);
void master_announce_ready(struct master *m);
void master_child_free(struct master *m, struct child *c);
void master_create_slots(struct master *m);
void master_signal_children(struct master *m, int sig, int db_only);
int  master_count_live(struct master *m, int db_only);
void master_launch_recovery_helper(struct master *m);
void master_db_phase_tick(struct master *m, int64_t now);
void master_reap_children(struct master *m);
void master_spawn_due(struct master *m, int64_t now);
void master_publish_status(struct master *m);
int  master_all_ready(struct master *m);
void master_read_channel(struct child *c);
void master_begin_stop(struct master *m, int how, int code);
int  master_create_shared_memory(struct master *m);
void master_raise_fd_limit(const struct conf *cf);
int  master_configure_logging(struct master *m);

#endif
