/*
 * proc.h - what every child process of the master shares: its context, the
 * set-up right after fork (parent-death signal, fds, privileges), the
 * signalfd through which it receives signals, and the master channel on
 * which it reports readiness and notices the master's death.
 */
#ifndef NOTARYD_PROC_H
#define NOTARYD_PROC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

struct conf;
struct cache;
struct ring;

struct proc_ctx {
	const struct conf *cf;
	enum role          role;
	int                index;      /* slot within the role */
	unsigned           generation; /* config generation */
	int                chan;       /* our end of the master channel */
	const int         *listen_fds;
	size_t             nlisten;
	const int         *conv_listen_fds; /* convergence.listen */
	size_t             nconv_listen;
	const int         *proxy_listen_fds; /* ...proxy_listen */
	size_t             nproxy_listen;
	int                signer_fd; /* signer role: listening socket */
	struct cache      *cache;
	struct ring       *ring;
	struct status     *status;
	pid_t              master_pid;
	uid_t              uid; /* drop to these when root */
	gid_t              gid;
	int                drop_privs;
};

/*
 * How a child process ends: the one meaning of its exit status, for the
 * children (which return these) and the master (which acts on them).
 */
enum proc_exit {
	PROC_EXIT_OK = 0,      /* clean stop (asked to) */
	PROC_EXIT_FAIL = 1,    /* runtime failure: respawn with back-off */
	PROC_EXIT_FATAL = 2,   /* an operator must act: never respawn */
	PROC_EXIT_DBPANIC = 3, /* the database needs recovery */
};

/*
 * What a role's process does, in three steps driven by proc_child_run().
 * open sets the role up (keys, database, sockets) and returns its state,
 * or NULL with *code set to the exit status (a proc_exit); run serves
 * until told to stop and returns the exit status (PROC_EXIT_OK when
 * asked to stop, PROC_EXIT_FAIL when the master is gone); close, if not
 * NULL, releases the state.  A role whose once_only is set (the recovery
 * helper) does one job and never reports ready.
 */
struct role_ops {
	void *(*open)(struct proc_ctx *ctx, int *code);
	int (*run)(void *state, struct proc_ctx *ctx, int sfd);
	void (*close)(void *state);
	int once_only;
};

/*
 * The life of every child after proc_child_init(): signalfd, open,
 * report ready, run, close, _exit with run's status.
 */
void proc_child_run(struct proc_ctx *ctx, const struct role_ops *ops)
    __attribute__((noreturn));

/*
 * Descriptors every child keeps besides the listeners it inherits: its
 * master channel, the log file, the signer socket (and one spare).
 */
#define PROC_KEEP_FIXED 4

/* Byte a child writes on its channel once it is ready to work. */
#define PROC_MSG_READY 'R'

/* What the signalfd said. */
struct proc_signals {
	int stop;   /* TERM, INT: stop now */
	int quit;   /* QUIT: finish in-flight work, then stop */
	int reopen; /* USR1: reopen log files */
	int hup;    /* HUP (master only) */
	int chld;   /* CHLD (master only) */
};

/*
 * Block the signals the daemon handles and return a signalfd for them
 * (non-blocking, close-on-exec), or -1.  SIGPIPE is ignored.  Signals are
 * then only ever seen synchronously in the event loops: there are no
 * asynchronous handlers at all.
 */
int proc_signalfd(void);
/* Drain the signalfd into s (flags are OR-ed in).  0, or -1 on error. */
int proc_read_signals(int sfd, struct proc_signals *s);

/*
 * Child set-up right after fork: role name in the log, parent-death
 * signal, check that the master is still our parent, close every fd we
 * must not hold (keep: listeners, our channel, the log), drop privileges.
 * Exits the process on failure.
 */
void proc_child_init(struct proc_ctx *ctx, const int *keep, size_t nkeep);
/* Tell the master we finished start-up.  0/-1. */
int  proc_report_ready(struct proc_ctx *ctx);
/*
 * Read the master channel (readable): returns -1 when the master is gone
 * (EOF or error), 0 otherwise.
 */
int  proc_chan_read(struct proc_ctx *ctx);

/*
 * Test hook: when the environment variable NOTARYD_TEST_FAULTS names a
 * file that contains the word "<role>-startup" (returns 1) or
 * "<role>-fatal" (returns 2), a child of that role fails its start-up
 * with exit status 1 or 2.  Used by the supervision tests to make a role
 * crash-loop or fail fatally on demand; nothing else sets it.
 */
int proc_fault_injected(const char *role);

/*
 * Event loop for roles that have no sockets of their own (yet): waits on
 * the signalfd and the master channel, calls tick every tick_ms.  Returns
 * PROC_EXIT_OK on a requested stop (TERM/INT/QUIT) and PROC_EXIT_FAIL
 * when the master is gone.
 */
struct proc_loop {
	int64_t tick_ms;
	void (*tick)(void *arg);
	void *arg;
};
int proc_run_loop(struct proc_ctx *ctx, int sfd, const struct proc_loop *l);

/*
 * For event loops that poll the signalfd and the master channel among
 * their own fds: act on what they reported (reopen logs on USR1).
 * Returns 0 to go on, PROC_STOP for TERM/INT/QUIT, PROC_GONE when the
 * master is gone.
 */
#define PROC_STOP 1
#define PROC_GONE 2
int proc_poll_events(
    struct proc_ctx *ctx, int sfd, short sig_revents, short chan_revents);

/*
 * The run loop of a role that works in steps between signals (the NATS
 * roles): step(arg) returns 1 when it has more to do at once, 0 when it
 * may wait up to idle_ms for a signal or the master, -1 to end the child
 * with PROC_EXIT_FAIL.  Returns the child's exit code.
 */
int proc_step_loop(
    struct proc_ctx *ctx, int sfd, int (*step)(void *), void *arg, int idle_ms);

#endif
