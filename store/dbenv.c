/*
 * db.c - the Berkeley DB 5.3 environment protocol (see dbenv.h and
 * guides/daemon-architecture.md §3.3).
 *
 * What it does: opens the one transactional environment that holds all
 * notaryd tables, runs recovery, opens tables, and runs short
 * transactions with a bounded deadlock retry.
 *
 * Who calls it: the database users only - the signer, the scanners,
 * ctwatch, notaryctl - and the short-lived recovery helper the master
 * forks.  NEVER the master or the HTTP workers: a process that never
 * opens the environment cannot leave a dead lock holder behind, so its
 * crash never forces recovery.
 *
 * How it fails: every function returns the Berkeley DB (or errno) code
 * and logs it once, with a "db: " prefix.  DB_RUNRECOVERY seen by a user
 * is different: the environment is unusable for every process, and
 * DB_ENV->close can then hang on a mutex held by a dead process, so
 * db_check() ends the process at once with _exit(DB_EXIT_RECOVER).  The
 * master takes that status as "stop every user, recover, restart".
 *
 * Durability: DB_TXN_WRITE_NOSYNC.  A commit writes its log records into
 * the log file (the OS page cache) but does not fsync.  So a committed
 * transaction survives the crash or SIGKILL of any process, which is the
 * failure this design has to absorb; a power loss or kernel crash may
 * undo the transactions committed since the kernel last wrote the log
 * back (up to ~30 s with the default vm.dirty_expire_centisecs) or since
 * the last checkpoint (ctwatch, every 60 s; a checkpoint fsyncs the log
 * and the tables).  Integrity is kept either way: the write-ahead rule
 * still flushes the log before a table page goes to disk.  Everything
 * notaryd stores is re-observed by the next scan or re-fetched from the
 * CT log, so losing seconds of it is cheaper than an fsync per commit.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/dbenv.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

/*
 * Slots of the thread table: the BDB users of one daemon plus headroom,
 * because the docs warn that standalone utilities (db5.3_stat,
 * db5.3_hotbackup, notaryctl) may fail to get a slot in an environment
 * that uses failchk.
 */
#define DB_USER_SLOTS 64
#define DB_TOOL_SLOTS 16

#define DB_FILE_MODE 0600
#define DB_HOME_MODE 0700

/* Deadlock back-off: 1..2^attempt ms, at most 2^6 = 64 ms. */
#define DB_BACKOFF_MAX_SHIFT 6

/*
 * Mutexes beyond the ones Berkeley DB counts for its own regions: the
 * standard tools (db5.3_verify, db5.3_stat, ...) join the daemon's
 * environment and take mutexes for their handles and for every cache
 * buffer of pages smaller than the estimate; without headroom they fail
 * with "BDB2034 unable to allocate memory for mutex" (issue 13).  One per
 * KiB of cache covers a cache full of 1 KiB pages.
 */
#define DB_MUTEX_HEADROOM_MIN 8192
#define DB_MUTEX_HEADROOM_MAX (1024 * 1024)
#define DB_CONFIG_MAX         1024

/* Checkpoint when this much log was written, or this many minutes. */
#define DB_CKP_KBYTES  1024
#define DB_CKP_MINUTES 1

#define DB_BASE_FLAGS (DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL)

/*
 * Our thread id carries the process start time (clock ticks since boot,
 * from /proc/<pid>/stat) with the top bit set as a tag.  The top bit
 * never occurs in a start time nor in a pthread_t of a tool that uses the
 * default id (a user-space address), so db_isalive can tell our ids from
 * theirs and only compares start times for ours.
 */
#define DB_TID_TAG ((db_threadid_t)1 << (sizeof(db_threadid_t) * CHAR_BIT - 1))

const char *const db_tables[] = {
	DB_TABLE_SERVICES,
	DB_TABLE_SPANS,
	DB_TABLE_SCHED,
	DB_TABLE_SCHEDIDX,
	DB_TABLE_CERTS,
	DB_TABLE_CT,
	DB_TABLE_META,
	DB_TABLE_ISSUERS,
	NULL,
};

/* This process's identity in the environment; set at open. */
static struct {
	pid_t         pid;
	db_threadid_t tid;
} db_self;

static void  db_errcall(const DB_ENV *, const char *, const char *);
static void  db_msgcall(const DB_ENV *, const char *);
static int   proc_start_time(pid_t, unsigned long long *);
static void  db_self_init(void);
static void  db_thread_id(DB_ENV *, pid_t *, db_threadid_t *);
static int   db_isalive(DB_ENV *, pid_t, db_threadid_t, u_int32_t);
static char *db_thread_id_string(DB_ENV *, pid_t, db_threadid_t, char *);
static int   env_configure(DB_ENV *, const struct db_env_opts *);
static int   env_open_flags(DB_ENV **, const struct db_env_opts *, u_int32_t);
static int   is_dir(const char *);
static int   mkdir_p(const char *, mode_t);
static int   create_tables(DB_ENV *);
static int   write_db_config(const char *, uint64_t, int *);
static int   txn_retryable(int);
static void  txn_backoff(int);

static void
db_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	log_warnx("db: %s", msg);
}

static void
db_msgcall(const DB_ENV *env, const char *msg)
{
	(void)env;
	log_info("db: %s", msg);
}

/*
 * Field 22 of /proc/<pid>/stat.  The command name (field 2) may hold
 * spaces and parentheses, so counting starts after its last ')'.
 * Returns 0, or -1 with errno (ENOENT: no such process).
 */
static int
proc_start_time(pid_t pid, unsigned long long *start)
{
	char    path[64], buf[1024], *p, *end;
	ssize_t n;
	int     fd, field;

	if (xsnprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid) != 0) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		goto bad;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		goto bad;
	/* p + 1 is the space before field 3 (state). */
	for (field = 2; field < 22; field++) {
		if ((p = strchr(p + 1, ' ')) == NULL)
			goto bad;
	}
	errno = 0;
	*start = strtoull(p + 1, &end, 10);
	if (errno != 0 || end == p + 1)
		goto bad;
	return (0);
bad:
	errno = EINVAL;
	return (-1);
}

static void
db_self_init(void)
{
	unsigned long long start;

	db_self.pid = getpid();
	if (proc_start_time(db_self.pid, &start) == 0)
		db_self.tid = (db_threadid_t)start | DB_TID_TAG;
	else
		db_self.tid = 0; /* no /proc: liveness by kill() only */
}

/*
 * BDB asks for the caller's id on every API call and mutex acquisition,
 * so it is computed once per open (handles never cross a fork) and
 * returned from memory here.  tidp may be NULL (the DB_REGISTER code).
 */
static void
db_thread_id(DB_ENV *env, pid_t *pidp, db_threadid_t *tidp)
{
	(void)env;
	if (pidp != NULL)
		*pidp = db_self.pid;
	if (tidp != NULL)
		*tidp = db_self.tid;
}

/*
 * failchk asks whether the owner of a txn, lock, mutex or thread slot is
 * still alive.  A wrong "dead" would make failchk free a live process's
 * locks, so every doubt answers "alive".  kill(pid, 0) alone is fooled by
 * pid reuse; for ids we issued, the start time must match too.
 * DB_MUTEX_PROCESS_ONLY calls come without a thread id.
 */
static int
db_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	unsigned long long start;

	(void)env;
	if (kill(pid, 0) == -1)
		return (errno == EPERM); /* EPERM: exists, not ours */
	if ((flags & DB_MUTEX_PROCESS_ONLY) || (tid & DB_TID_TAG) == 0)
		return (1);
	if (proc_start_time(pid, &start) == -1)
		return (errno != ENOENT); /* ENOENT: exited just now */
	return (((db_threadid_t)start | DB_TID_TAG) == tid);
}

/* For failchk's messages: "pid 123 (start 4567)" rather than a tagged id. */
static char *
db_thread_id_string(DB_ENV *env, pid_t pid, db_threadid_t tid, char *buf)
{
	(void)env;
	if (tid & DB_TID_TAG)
		(void)xsnprintf(buf, DB_THREADID_STRLEN, "pid %ld (start %llu)",
		    (long)pid, (unsigned long long)(tid & ~DB_TID_TAG));
	else if (tid != 0)
		(void)xsnprintf(buf, DB_THREADID_STRLEN, "pid %ld/%lu",
		    (long)pid, (unsigned long)tid);
	else
		(void)xsnprintf(buf, DB_THREADID_STRLEN, "pid %ld", (long)pid);
	return (buf);
}

/* Every setting that must precede DB_ENV->open.  0 or the code. */
static int
env_configure(DB_ENV *env, const struct db_env_opts *o)
{
	u_int32_t gbytes, bytes;
	int       r;

	env->set_errcall(env, db_errcall);
	env->set_msgcall(env, db_msgcall);
	db_self_init();
	if ((r = env->set_thread_id(env, db_thread_id)) != 0 ||
	    (r = env->set_thread_id_string(env, db_thread_id_string)) != 0 ||
	    (r = env->set_thread_count(env, DB_USER_SLOTS + DB_TOOL_SLOTS)) !=
	        0 ||
	    (r = env->set_isalive(env, db_isalive)) != 0)
		return (r);
	/* Run the detector whenever a lock request blocks. */
	if ((r = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0)
		return (r);
	if (o->cache_bytes > 0) {
		gbytes = (u_int32_t)(o->cache_bytes >> 30);
		bytes = (u_int32_t)(o->cache_bytes & ((1U << 30) - 1));
		if ((r = env->set_cachesize(env, gbytes, bytes, 1)) != 0)
			return (r);
	}
	/* The durability choice: see the top of this file. */
	if ((r = env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1)) != 0)
		return (r);
	/*
	 * Logs older than the last checkpoint go away by themselves; this
	 * rules out catastrophic recovery, so backups use hotbackup.
	 */
	return (env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1));
}

/*
 * Create, configure and open a handle with the given open flags.  On
 * failure the handle is closed, except after DB_RUNRECOVERY: closing then
 * can hang on a dead process's mutex, so it is leaked (the caller is about
 * to exit anyway).  Does not log; returns 0 or the code.
 */
static int
env_open_flags(DB_ENV **envp, const struct db_env_opts *o, u_int32_t flags)
{
	DB_ENV *env;
	int     r;

	*envp = NULL;
	if ((r = db_env_create(&env, 0)) != 0)
		return (r);
	if ((r = env_configure(env, o)) != 0)
		goto fail;
	if ((r = env->open(env, o->home, flags, DB_FILE_MODE)) != 0)
		goto fail;
	*envp = env;
	return (0);
fail:
	if (r != DB_RUNRECOVERY)
		(void)env->close(env, 0);
	return (r);
}

int
db_env_open(DB_ENV **envp, const struct db_env_opts *o)
{
	u_int32_t flags = DB_BASE_FLAGS | DB_REGISTER;
	int       r;

	/*
	 * DB_REGISTER without DB_FAILCHK would demand recovery whenever
	 * any user ever died (measured: the env panics for everyone);
	 * with it, the dead process's txns are aborted inside open.
	 */
	flags |= o->recover ? (DB_CREATE | DB_RECOVER) : DB_FAILCHK;
	if ((r = env_open_flags(envp, o, flags)) == 0)
		return (0);
	if (!o->recover) {
		db_check(r);
		if (r == ENOENT && is_dir(o->home)) {
			/*
			 * The home is there but its regions are not: never
			 * recovered, or removed by a user whose open hit a
			 * panicked region (libdb then retries the open with
			 * DB_RECOVER, removes the regions and fails for lack
			 * of DB_CREATE).  Either way only recovery helps.
			 */
			log_warnx("db: %s holds no environment, exiting for "
			          "recovery",
			    o->home);
			_exit(DB_EXIT_RECOVER);
		}
	}
	log_warnx("db: open environment %s%s: %s", o->home,
	    o->recover ? " for recovery" : "", db_strerror(r));
	return (r);
}

void
db_env_close(DB_ENV *env)
{
	int r;

	if (env == NULL)
		return;
	if ((r = env->close(env, 0)) != 0) {
		db_check(r);
		log_warnx("db: close environment: %s", db_strerror(r));
	}
}

static int
is_dir(const char *path)
{
	struct stat st;

	return (stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

/* mkdir -p with the given mode for the directories it creates. */
static int
mkdir_p(const char *path, mode_t mode)
{
	struct stat st;
	char       *copy, *p, c;
	int         ret = -1;

	if (*path == '\0') {
		errno = ENOENT;
		return (-1);
	}
	copy = xstrdup(path);
	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			c = *p;
			*p = '\0';
			if (mkdir(copy, mode) == -1 && errno != EEXIST)
				goto fail;
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	if (stat(path, &st) == -1)
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	ret = 0;
fail:
	free(copy);
	return (ret);
}

/* Open, creating if needed, and close every table: 0 or the code. */
static int
create_tables(DB_ENV *env)
{
	const char *const *name;
	DB                *db;
	int                r, t;

	for (name = db_tables; *name != NULL; name++) {
		if ((r = db_create(&db, env, 0)) != 0)
			goto fail;
		r = db->open(db, NULL, *name, NULL, DB_BTREE,
		    DB_CREATE | DB_AUTO_COMMIT, DB_FILE_MODE);
		t = db->close(db, 0);
		if (r == 0)
			r = t;
		if (r != 0)
			goto fail;
	}
	return (0);
fail:
	log_warnx("db: create table %s: %s", *name, db_strerror(r));
	return (r);
}

/*
 * <home>/DB_CONFIG holds the settings that the standard tools must share
 * with the daemon (they read it, not our code), only those: the rest is
 * set through the API.  Rewritten when it differs; *changed says so.
 * 0, or -1 (logged).
 */
static int
write_db_config(const char *home, uint64_t cache_bytes, int *changed)
{
	char     want[DB_CONFIG_MAX], have[DB_CONFIG_MAX];
	char     path[PATH_MAX], tmp[PATH_MAX];
	uint64_t headroom = cache_bytes / 1024;
	ssize_t  n = -1;
	int      fd, len;

	*changed = 0;
	if (headroom < DB_MUTEX_HEADROOM_MIN)
		headroom = DB_MUTEX_HEADROOM_MIN;
	if (headroom > DB_MUTEX_HEADROOM_MAX)
		headroom = DB_MUTEX_HEADROOM_MAX;
	len = snprintf(want, sizeof(want),
	    "# Written by notaryd at each "
	    "recovery; edits are replaced.\n# Mutexes for the db5.3_* tools "
	    "that join the environment\n# (one per KiB of cache).\n"
	    "mutex_set_increment %llu\n",
	    (unsigned long long)headroom);
	if (xsnprintf(path, sizeof(path), "%s/DB_CONFIG", home) != 0 ||
	    xsnprintf(tmp, sizeof(tmp), "%s/DB_CONFIG.tmp", home) != 0) {
		log_warnx("db: %s: path too long", home);
		return (-1);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, have, sizeof(have));
		close(fd);
	}
	if (n == len && memcmp(have, want, (size_t)len) == 0)
		return (0);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	         DB_FILE_MODE)) == -1 ||
	    write(fd, want, (size_t)len) != len || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		log_warn("db: write %s", path);
		if (fd != -1)
			(void)close(fd);
		(void)unlink(tmp);
		return (-1);
	}
	*changed = 1;
	return (0);
}

int
db_recover(const struct db_env_opts *ro)
{
	struct db_env_opts o = *ro;
	DB_ENV            *env;
	int64_t            t0 = mono_ms();
	char               reg[PATH_MAX];
	int                r, changed;

	o.recover = 1;
	if (mkdir_p(o.home, DB_HOME_MODE) == -1) {
		log_warn("db: create %s", o.home);
		return (-1);
	}
	if (write_db_config(o.home, o.cache_bytes, &changed) == -1)
		return (-1);
	/*
	 * Regions keep the sizes they were created with: a new DB_CONFIG
	 * (first start with it, or a new database.cache_size) needs them
	 * rebuilt, which a recovery does.  Without its register file,
	 * DB_REGISTER takes the environment for never recovered.  We are
	 * the only user of the environment here (the master stopped the
	 * others; notaryctl runs this only when no daemon holds the
	 * data_dir).
	 */
	if (changed) {
		log_info(
		    "db: %s/DB_CONFIG written, rebuilding the regions", o.home);
		if (xsnprintf(reg, sizeof(reg), "%s/__db.register", o.home) !=
		        0 ||
		    (unlink(reg) == -1 && errno != ENOENT)) {
			log_warn("db: remove %s", reg);
			return (-1);
		}
	}
	/*
	 * With DB_REGISTER, DB_RECOVER acts only when recovery is needed:
	 * the register file is new, a registered process died, or the
	 * region is panicked (libdb 5.3.28 then retries the open with
	 * DB_RECOVER by itself).  A cleanly closed environment is reopened
	 * as it is, regions included; a new cache size changes DB_CONFIG
	 * (above), which forces the recovery that rebuilds them.
	 */
	if (db_env_open(&env, &o) != 0)
		return (-1);
	if ((r = create_tables(env)) != 0)
		goto fail;
	if ((r = env->txn_checkpoint(env, 0, 0, DB_FORCE)) != 0) {
		log_warnx("db: checkpoint after recovery: %s", db_strerror(r));
		goto fail;
	}
	if ((r = env->close(env, 0)) != 0) {
		log_warnx("db: close after recovery: %s", db_strerror(r));
		return (-1);
	}
	log_info("db: %s recovered (if needed) and ready in %lld ms", o.home,
	    (long long)(mono_ms() - t0));
	return (0);
fail:
	if (r != DB_RUNRECOVERY)
		(void)env->close(env, 0);
	return (-1);
}

int
db_table_open(DB_ENV *env, DB **dbp, const char *name, int readonly)
{
	DB       *db;
	u_int32_t flags = DB_AUTO_COMMIT;
	int       r;

	/* No DB_CREATE: the recovery helper creates every table. */
	if (readonly)
		flags |= DB_RDONLY;
	*dbp = NULL;
	if ((r = db_check(db_create(&db, env, 0))) != 0) {
		log_warnx("db: table handle: %s", db_strerror(r));
		return (r);
	}
	if ((r = db_check(db->open(
	         db, NULL, name, NULL, DB_BTREE, flags, DB_FILE_MODE))) != 0) {
		(void)db->close(db, 0); /* needed after a failed open too */
		log_warnx("db: open table %s: %s", name, db_strerror(r));
		return (r);
	}
	*dbp = db;
	return (0);
}

static int
txn_retryable(int r)
{
	return (r == DB_LOCK_DEADLOCK || r == DB_LOCK_NOTGRANTED);
}

/*
 * A random wait, so that two victims of the same deadlock do not collide
 * again in lockstep; the bound doubles with each attempt.
 */
static void
txn_backoff(int attempt)
{
	struct timespec ts;
	uint32_t        bound, ms;

	bound = 1U << (attempt < DB_BACKOFF_MAX_SHIFT ? attempt
	                                              : DB_BACKOFF_MAX_SHIFT);
	ms = 1 + arc4random_uniform(bound);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000;
	(void)nanosleep(&ts, NULL); /* a signal just shortens it */
}

/* Where this process counts deadlock retries (shared memory), or NULL. */
static _Atomic uint64_t *retry_counter;

void
db_count_retries(_Atomic uint64_t *counter)
{
	retry_counter = counter;
}

int
db_txn_run(DB_ENV *env, db_txn_fn fn, void *arg, int *attempts)
{
	DB_TXN *txn;
	int     n, r;

	for (n = 1;; n++) {
		if ((r = db_check(env->txn_begin(env, NULL, &txn, 0))) != 0) {
			log_warnx("db: txn begin: %s", db_strerror(r));
			n--; /* fn did not run this time */
			break;
		}
		if ((r = db_check(fn(env, txn, arg))) == 0) {
			/* commit frees txn whatever it returns */
			r = db_check(txn->commit(txn, 0));
			if (r != 0 && !txn_retryable(r))
				log_warnx("db: txn commit: %s", db_strerror(r));
		} else
			db_check(txn->abort(txn));
		if (!txn_retryable(r))
			break;
		if (n == DB_TXN_ATTEMPTS) {
			log_warnx("db: txn gave up after %d attempts: %s", n,
			    db_strerror(r));
			break;
		}
		log_debug(
		    "db: txn attempt %d: %s, retrying", n, db_strerror(r));
		if (retry_counter != NULL)
			atomic_fetch_add_explicit(
			    retry_counter, 1, memory_order_relaxed);
		txn_backoff(n);
	}
	if (attempts != NULL)
		*attempts = n;
	return (r);
}

int
db_check(int r)
{
	if (r == DB_RUNRECOVERY) {
		log_warnx("db: environment needs recovery, exiting");
		_exit(DB_EXIT_RECOVER);
	}
	return (r);
}

int
db_checkpoint(DB_ENV *env)
{
	int r;

	r = db_check(
	    env->txn_checkpoint(env, DB_CKP_KBYTES, DB_CKP_MINUTES, 0));
	if (r != 0)
		log_warnx("db: checkpoint: %s", db_strerror(r));
	return (r);
}
