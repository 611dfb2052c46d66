/*
 * check_db.c - tests of common/db.c against a real Berkeley DB 5.3
 * environment: recovery, table handles, the transaction loop with a real
 * two-process deadlock, abort semantics, recovery after SIGKILLed writers,
 * a panicked environment, bad homes, and the liveness check failchk uses.
 *
 * Every test works in its own temporary directory (testutil), made and
 * removed by a fixture around it.
 * Children report through exit status and pipes and leave with _exit;
 * only the test process asserts.  Set CHECK_DB_VERBOSE=1 to print the
 * measured numbers (retry attempts, recovery times).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/dbenv.h"
#include "common/util.h"
#include "tests/testutil.h"
#include "tests/testutil_db.h"

#define TEST_CACHE_BYTES	(4U << 20)
#define CHILD_TIMEOUT_MS	20000
#define CRASH_COMMITTED		100	/* committed before the kill */
#define CRASH_PENDING		50	/* in the txn left open */
#define CRASH_ROUNDS		5
#define DEADLOCK_ROUNDS		5

struct put_arg {
	DB		*db;
	const char	*key;
	const char	*val;
};

static struct db_env_opts opts(const char *);
static int	put_str(DB *, DB_TXN *, const char *, const char *);
static int	get_str(DB *, DB_TXN *, const char *, char *, size_t);
static int	put_fn(DB_ENV *, DB_TXN *, void *);
static int	has_key(DB_ENV *, const char *, const char *);
static int	count_keys(DB *, int *, int *);

static struct db_env_opts
opts(const char *home)
{
	struct db_env_opts	o = { home, TEST_CACHE_BYTES, 0 };

	return (o);
}

/* Keys and values are C strings stored with their NUL. */
static int
put_str(DB *db, DB_TXN *txn, const char *k, const char *v)
{
	DBT	key, data;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = (void *)k;
	key.size = (u_int32_t)strlen(k) + 1;
	data.data = (void *)v;
	data.size = (u_int32_t)strlen(v) + 1;
	return (db->put(db, txn, &key, &data, 0));
}

static int
get_str(DB *db, DB_TXN *txn, const char *k, char *buf, size_t len)
{
	DBT	key, data;

	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = (void *)k;
	key.size = (u_int32_t)strlen(k) + 1;
	data.data = buf;
	data.ulen = (u_int32_t)len;
	data.flags = DB_DBT_USERMEM;
	return (db->get(db, txn, &key, &data, 0));
}

static int
put_fn(DB_ENV *env, DB_TXN *txn, void *p)
{
	struct put_arg	*a = p;

	(void)env;
	return (put_str(a->db, txn, a->key, a->val));
}

/* Does the table hold key?  Through a read-only handle of our own. */
static int
has_key(DB_ENV *env, const char *table, const char *k)
{
	DB	*db;
	char	 buf[128];
	int	 r;

	ck_assert_int_eq(db_table_open(env, &db, table, 1), 0);
	r = get_str(db, NULL, k, buf, sizeof(buf));
	ck_assert(r == 0 || r == DB_NOTFOUND);
	ck_assert_int_eq(db->close(db, 0), 0);
	return (r == 0);
}

/*
 * Keys look like "r01-c0042" (committed) or "r01-u0042" (never committed).
 * Returns 0 or -1; no asserts, children use it too.
 */
static int
count_keys(DB *db, int *committed, int *pending)
{
	DBC	*c;
	DBT	 key, data;
	int	 r;

	*committed = *pending = 0;
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	if (db->cursor(db, NULL, &c, 0) != 0)
		return (-1);
	while ((r = c->get(c, &key, &data, DB_NEXT)) == 0) {
		if (key.size > 4 && ((char *)key.data)[4] == 'c')
			(*committed)++;
		else
			(*pending)++;
	}
	if (c->close(c) != 0 || r != DB_NOTFOUND)
		return (-1);
	return (0);
}

/* ---- 1. recovery creates the environment and every table ---------- */

START_TEST(test_recover_creates_tables)
{
	const char		*base = tu_dir;
	char			 home[128], path[256], buf[32];
	struct db_env_opts	 o;
	struct stat		 st;
	struct put_arg		 pa;
	DB_ENV			*env;
	DB			*db;
	int			 i, n;

	/* a home whose parents do not exist yet: mkdir -p */
	ck_assert(xsnprintf(home, sizeof(home), "%s/var/db", base) == 0);
	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	ck_assert_int_eq(stat(home, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	for (i = 0; db_tables[i] != NULL; i++) {
		ck_assert(xsnprintf(path, sizeof(path), "%s/%s", home,
		    db_tables[i]) == 0);
		ck_assert_msg(access(path, F_OK) == 0, "%s missing", path);
	}
	/* services, spans, sched, schedidx, certs, ct, meta */
	ck_assert_int_eq(i, 7);

	ck_assert_int_eq(db_env_open(&env, &o), 0);
	for (i = 0; db_tables[i] != NULL; i++) {
		ck_assert_int_eq(db_table_open(env, &db, db_tables[i], 0), 0);
		ck_assert_int_eq(db->close(db, 0), 0);
		ck_assert_int_eq(db_table_open(env, &db, db_tables[i], 1), 0);
		ck_assert_int_eq(db->close(db, 0), 0);
	}
	ck_assert_int_eq(db_table_open(env, &db, DB_TABLE_META, 0), 0);
	pa.db = db;
	pa.key = "schema";
	pa.val = "1";
	ck_assert_int_eq(db_txn_run(env, put_fn, &pa, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(get_str(db, NULL, "schema", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1");
	/* a table that recovery did not create is not created by users */
	ck_assert_int_ne(db_table_open(env, &db, "nosuch.db", 0), 0);
	ck_assert_int_eq(pa.db->close(pa.db, 0), 0);
	ck_assert_int_eq(db_checkpoint(env), 0);
	db_env_close(env);

	/* recovery again on a clean, populated environment keeps data */
	ck_assert_int_eq(db_recover(&o), 0);
	ck_assert_int_eq(db_env_open(&env, &o), 0);
	ck_assert(has_key(env, DB_TABLE_META, "schema"));
	db_env_close(env);
}
END_TEST

/* ---- 2. a read-only handle refuses writes with EACCES -------------- */

START_TEST(test_readonly_put_eacces)
{
	const char		*home = tu_dir;
	char			 buf[8];
	struct db_env_opts	 o;
	struct put_arg		 pa = { NULL, "k", "v" };
	DB_ENV			*env;
	int			 n;

	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	ck_assert_int_eq(db_env_open(&env, &o), 0);
	ck_assert_int_eq(db_table_open(env, &pa.db, DB_TABLE_SPANS, 1), 0);
	ck_assert_int_eq(db_txn_run(env, put_fn, &pa, &n), EACCES);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(get_str(pa.db, NULL, "k", buf, sizeof(buf)),
	    DB_NOTFOUND);
	ck_assert_int_eq(pa.db->close(pa.db, 0), 0);
	db_env_close(env);
}
END_TEST

/* ---- 3. a real deadlock between two processes is retried ---------- */

struct dl_arg {
	DB		*first;
	DB		*second;
	const char	*key;
	int		 rv_in;		/* peer's "I hold my first lock" */
	int		 rv_out;
	int		 runs;
};

struct dl_result {
	int		 r;
	int		 attempts;
};

static int	dl_fn(DB_ENV *, DB_TXN *, void *);
static void	dl_child(const char *, const char *, const char *,
		    const char *, int, int, int) __attribute__((noreturn));

static int
dl_fn(DB_ENV *env, DB_TXN *txn, void *p)
{
	struct dl_arg	*a = p;
	char		 c = 'x';
	int		 r;

	(void)env;
	if ((r = put_str(a->first, txn, a->key, a->key)) != 0)
		return (r);
	if (++a->runs == 1) {
		/*
		 * Both sides now hold a write lock on their first table's
		 * page; each second put waits for the other: a cycle.
		 */
		if (write(a->rv_out, &c, 1) != 1 ||
		    tu_read_full(a->rv_in, &c, 1, 5000) != 1)
			return (-1);
	}
	return (put_str(a->second, txn, a->key, a->key));
}

static void
dl_child(const char *home, const char *t1, const char *t2, const char *key,
    int rv_in, int rv_out, int res)
{
	struct db_env_opts	 o = opts(home);
	struct dl_arg		 a;
	struct dl_result	 rs;
	DB_ENV			*env;

	alarm(CHILD_TIMEOUT_MS / 1000);
	if (db_env_open(&env, &o) != 0)
		_exit(10);
	memset(&a, 0, sizeof(a));
	if (db_table_open(env, &a.first, t1, 0) != 0 ||
	    db_table_open(env, &a.second, t2, 0) != 0)
		_exit(11);
	a.key = key;
	a.rv_in = rv_in;
	a.rv_out = rv_out;
	rs.r = db_txn_run(env, dl_fn, &a, &rs.attempts);
	if (write(res, &rs, sizeof(rs)) != sizeof(rs))
		_exit(12);
	if (a.first->close(a.first, 0) != 0 ||
	    a.second->close(a.second, 0) != 0)
		_exit(13);
	db_env_close(env);
	_exit(rs.r == 0 ? 0 : 14);
}

START_TEST(test_txn_deadlock_retry)
{
	const char		*home = tu_dir;
	char			 k0[16], k1[16];
	struct db_env_opts	 o;
	struct dl_result	 rs[2];
	DB_ENV			*env;
	int			 to0[2], to1[2], res[2], st, round, i;
	pid_t			 pid[2];

	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	for (round = 0; round < DEADLOCK_ROUNDS; round++) {
		ck_assert(xsnprintf(k0, sizeof(k0), "k%d-0", round) == 0);
		ck_assert(xsnprintf(k1, sizeof(k1), "k%d-1", round) == 0);
		ck_assert(pipe(to0) == 0 && pipe(to1) == 0 &&
		    pipe(res) == 0);
		/* opposite lock order: services then spans, and back */
		ck_assert_int_ne(pid[0] = fork(), -1);
		if (pid[0] == 0)
			dl_child(home, DB_TABLE_SERVICES, DB_TABLE_SPANS, k0,
			    to0[0], to1[1], res[1]);
		ck_assert_int_ne(pid[1] = fork(), -1);
		if (pid[1] == 0)
			dl_child(home, DB_TABLE_SPANS, DB_TABLE_SERVICES, k1,
			    to1[0], to0[1], res[1]);
		for (i = 0; i < 2; i++) {
			st = tu_wait_child(pid[i], CHILD_TIMEOUT_MS);
			ck_assert_msg(st != -1, "child %d hung", i);
			ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			    "child %d status %#x", i, st);
		}
		for (i = 0; i < 2; i++) {
			ck_assert_int_eq(tu_read_full(res[0], &rs[i],
			    sizeof(rs[i]), 1000), (int)sizeof(rs[i]));
			ck_assert_int_eq(rs[i].r, 0);
		}
		tu_note("deadlock round %d: attempts %d and %d", round,
		    rs[0].attempts, rs[1].attempts);
		/* one ran once, the deadlock victim at least twice */
		ck_assert_int_ge(rs[0].attempts + rs[1].attempts, 3);
		close(to0[0]);
		close(to0[1]);
		close(to1[0]);
		close(to1[1]);
		close(res[0]);
		close(res[1]);

		/* both transactions committed in full */
		ck_assert_int_eq(db_env_open(&env, &o), 0);
		ck_assert(has_key(env, DB_TABLE_SERVICES, k0));
		ck_assert(has_key(env, DB_TABLE_SPANS, k0));
		ck_assert(has_key(env, DB_TABLE_SERVICES, k1));
		ck_assert(has_key(env, DB_TABLE_SPANS, k1));
		db_env_close(env);
	}
}
END_TEST

/* ---- 4. other errors abort; retryable ones are bounded ------------ */

struct fail_arg {
	DB		*db;
	const char	*key;
	int		 code;		/* returned after the write */
	int		 fail_runs;	/* ... this many times, then 0 */
	int		 runs;
};

static int	fail_fn(DB_ENV *, DB_TXN *, void *);

static int
fail_fn(DB_ENV *env, DB_TXN *txn, void *p)
{
	struct fail_arg	*a = p;
	int		 r;

	(void)env;
	if ((r = put_str(a->db, txn, a->key, "x")) != 0)
		return (r);
	return (a->runs++ < a->fail_runs ? a->code : 0);
}

START_TEST(test_txn_error_aborts)
{
	const char		*home = tu_dir;
	char			 buf[8];
	struct db_env_opts	 o;
	struct fail_arg		 a;
	DB_ENV			*env;
	DB			*db;
	int			 n;

	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	ck_assert_int_eq(db_env_open(&env, &o), 0);
	ck_assert_int_eq(db_table_open(env, &db, DB_TABLE_SCHED, 0), 0);

	/* not retryable: aborted at once, the code comes back */
	a = (struct fail_arg){ db, "notfound", DB_NOTFOUND, 1000, 0 };
	ck_assert_int_eq(db_txn_run(env, fail_fn, &a, &n), DB_NOTFOUND);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(get_str(db, NULL, "notfound", buf, sizeof(buf)),
	    DB_NOTFOUND);
	a = (struct fail_arg){ db, "minus1", -1, 1000, 0 };
	ck_assert_int_eq(db_txn_run(env, fail_fn, &a, &n), -1);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(get_str(db, NULL, "minus1", buf, sizeof(buf)),
	    DB_NOTFOUND);

	/* retryable for ever: gives up after DB_TXN_ATTEMPTS */
	a = (struct fail_arg){ db, "deadlock", DB_LOCK_DEADLOCK, 1000, 0 };
	ck_assert_int_eq(db_txn_run(env, fail_fn, &a, &n), DB_LOCK_DEADLOCK);
	ck_assert_int_eq(n, DB_TXN_ATTEMPTS);
	ck_assert_int_eq(a.runs, DB_TXN_ATTEMPTS);
	ck_assert_int_eq(get_str(db, NULL, "deadlock", buf, sizeof(buf)),
	    DB_NOTFOUND);

	/* retryable once: the second run commits */
	a = (struct fail_arg){ db, "notgranted", DB_LOCK_NOTGRANTED, 1, 0 };
	ck_assert_int_eq(db_txn_run(env, fail_fn, &a, NULL), 0);
	ck_assert_int_eq(a.runs, 2);
	ck_assert_int_eq(get_str(db, NULL, "notgranted", buf, sizeof(buf)),
	    0);

	ck_assert_int_eq(db->close(db, 0), 0);
	db_env_close(env);
}
END_TEST

/* ---- 5, 6. recovery after a SIGKILLed writer ---------------------- */

static void	crash_writer(const char *, int, int)
		    __attribute__((noreturn));
static void	crash_round(const char *, int);

/*
 * Commit CRASH_COMMITTED records one txn each, then write CRASH_PENDING
 * more in a txn that never ends, tell the parent, and wait for SIGKILL.
 */
static void
crash_writer(const char *home, int round, int ready)
{
	struct db_env_opts	 o = opts(home);
	struct put_arg		 pa;
	char			 key[32];
	DB_ENV			*env;
	DB_TXN			*txn;
	int			 i;

	alarm(CHILD_TIMEOUT_MS / 1000);
	if (db_env_open(&env, &o) != 0 ||
	    db_table_open(env, &pa.db, DB_TABLE_SPANS, 0) != 0)
		_exit(10);
	pa.key = pa.val = key;
	for (i = 0; i < CRASH_COMMITTED; i++) {
		(void)xsnprintf(key, sizeof(key), "r%02d-c%04d", round, i);
		if (db_txn_run(env, put_fn, &pa, NULL) != 0)
			_exit(11);
	}
	if (env->txn_begin(env, NULL, &txn, 0) != 0)
		_exit(12);
	for (i = 0; i < CRASH_PENDING; i++) {
		(void)xsnprintf(key, sizeof(key), "r%02d-u%04d", round, i);
		if (put_str(pa.db, txn, key, key) != 0)
			_exit(13);
	}
	if (write(ready, "k", 1) != 1)
		_exit(14);
	for (;;)
		pause();
}

/* One crash + recovery; afterwards rounds 0..round are all there. */
static void
crash_round(const char *home, int round)
{
	struct db_env_opts	 o = opts(home);
	char			 key[32], val[32], c;
	DB_ENV			*env;
	DB			*db;
	int64_t			 ms;
	int			 p[2], st, i, committed, pending;
	pid_t			 pid;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(p[0]);
		crash_writer(home, round, p[1]);
	}
	close(p[1]);
	ck_assert_msg(tu_read_full(p[0], &c, 1, CHILD_TIMEOUT_MS) == 1,
	    "writer did not get ready");
	close(p[0]);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	ck_assert_msg(tu_db_recover(home, TEST_CACHE_BYTES, &ms) == 0,
	    "recovery failed or hung");
	tu_note("crash round %d: recovery took %lld ms", round, (long long)ms);

	ck_assert_int_eq(db_env_open(&env, &o), 0);
	ck_assert_int_eq(db_table_open(env, &db, DB_TABLE_SPANS, 1), 0);
	ck_assert_int_eq(count_keys(db, &committed, &pending), 0);
	ck_assert_int_eq(committed, CRASH_COMMITTED * (round + 1));
	ck_assert_int_eq(pending, 0);
	for (i = 0; i < CRASH_COMMITTED; i++) {
		ck_assert(xsnprintf(key, sizeof(key), "r%02d-c%04d", round,
		    i) == 0);
		ck_assert_int_eq(get_str(db, NULL, key, val, sizeof(val)), 0);
		ck_assert_str_eq(val, key);
	}
	ck_assert_int_eq(db->close(db, 0), 0);
	db_env_close(env);
}

START_TEST(test_recover_after_kill)
{
	const char		*home = tu_dir;
	struct db_env_opts	 o;

	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	crash_round(home, 0);
}
END_TEST

START_TEST(test_recover_repeated_kills)
{
	const char		*home = tu_dir;
	struct db_env_opts	 o;
	int			 round;

	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	for (round = 0; round < CRASH_ROUNDS; round++)
		crash_round(home, round);
}
END_TEST

/*
 * Without recovery: a user opening after a writer was SIGKILLed outside
 * the library gets through failchk in open (§3.2), and the writer's open
 * txn is rolled back.
 */
START_TEST(test_failchk_after_kill)
{
	const char		*home = tu_dir;
	char			 key[32], c;
	struct db_env_opts	 o;
	DB_ENV			*env;
	DB			*db;
	int			 p[2], st, committed, pending;
	pid_t			 pid;

	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(p[0]);
		crash_writer(home, 0, p[1]);
	}
	close(p[1]);
	ck_assert_int_eq(tu_read_full(p[0], &c, 1, CHILD_TIMEOUT_MS), 1);
	close(p[0]);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);

	/* in a child, so that an _exit(DB_EXIT_RECOVER) is seen */
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (db_env_open(&env, &o) != 0 ||
		    db_table_open(env, &db, DB_TABLE_SPANS, 0) != 0)
			_exit(10);
		if (count_keys(db, &committed, &pending) != 0)
			_exit(11);
		(void)xsnprintf(key, sizeof(key), "r%02d-u%04d", 0, 0);
		/* the dead writer's page locks are gone: we can write */
		if (committed != CRASH_COMMITTED || pending != 0 ||
		    put_str(db, NULL, key, "later") != 0)
			_exit(12);
		(void)db->close(db, 0);
		db_env_close(env);
		_exit(0);
	}
	st = tu_wait_child(pid, CHILD_TIMEOUT_MS);
	ck_assert_msg(st != -1 && WIFEXITED(st), "user hung or crashed");
	ck_assert_msg(WEXITSTATUS(st) == 0, "user exit %d", WEXITSTATUS(st));
}
END_TEST

/* ---- 7. bad homes fail cleanly ------------------------------------ */

START_TEST(test_bad_home)
{
	const char		*dir = tu_dir;
	char			 file[96], below[128], missing[96];
	struct db_env_opts	 o;
	DB_ENV			*env = NULL;
	int			 fd, r, st;
	pid_t			 pid;

	ck_assert(xsnprintf(file, sizeof(file), "%s/plain", dir) == 0);
	ck_assert(xsnprintf(below, sizeof(below), "%s/plain/db", dir) == 0);
	ck_assert(xsnprintf(missing, sizeof(missing), "%s/none", dir) == 0);
	ck_assert_int_ne(fd = open(file, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);

	o = opts(file);
	ck_assert_int_ne(r = db_env_open(&env, &o), 0);
	ck_assert_int_ne(r, DB_RUNRECOVERY);
	ck_assert_ptr_null(env);
	o.recover = 1;
	ck_assert_int_ne(db_env_open(&env, &o), 0);
	ck_assert_int_eq(db_recover(&o), -1);

	o = opts(below);
	ck_assert_int_ne(db_env_open(&env, &o), 0);
	ck_assert_int_eq(db_recover(&o), -1);

	/* users never create the environment: that is recovery's job */
	o = opts(missing);
	ck_assert_int_eq(db_env_open(&env, &o), ENOENT);
	ck_assert_int_eq(access(missing, F_OK), -1);

	/* a home without an environment in it asks for recovery */
	ck_assert_int_eq(mkdir(missing, 0700), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		(void)db_env_open(&env, &o);
		_exit(0);	/* must not get here */
	}
	st = tu_wait_child(pid, CHILD_TIMEOUT_MS);
	ck_assert(st != -1 && WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), DB_EXIT_RECOVER);
	ck_assert_int_eq(db_recover(&o), 0);
	ck_assert_int_eq(db_env_open(&env, &o), 0);
	db_env_close(env);
}
END_TEST

/* ---- 8. DB_RUNRECOVERY ends a user with DB_EXIT_RECOVER ----------- */

START_TEST(test_check_runrecovery_exits)
{
	pid_t	pid;
	int	st;

	ck_assert_int_eq(db_check(0), 0);
	ck_assert_int_eq(db_check(DB_NOTFOUND), DB_NOTFOUND);
	ck_assert_int_eq(db_check(EACCES), EACCES);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		db_check(DB_RUNRECOVERY);
		_exit(0);
	}
	st = tu_wait_child(pid, CHILD_TIMEOUT_MS);
	ck_assert(st != -1 && WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), DB_EXIT_RECOVER);
}
END_TEST

/* ---- 9. a panicked environment: users exit 3, recovery repairs ---- */

static void	panic_child(const char *, int) __attribute__((noreturn));

/* Commit one record, panic the environment, and leave (clean or not). */
static void
panic_child(const char *home, int close_cleanly)
{
	struct db_env_opts	 o = opts(home);
	struct put_arg		 pa = { NULL, "before", "panic" };
	DB_ENV			*env;

	alarm(CHILD_TIMEOUT_MS / 1000);
	if (db_env_open(&env, &o) != 0 ||
	    db_table_open(env, &pa.db, DB_TABLE_CT, 0) != 0 ||
	    db_txn_run(env, put_fn, &pa, NULL) != 0 ||
	    pa.db->close(pa.db, 0) != 0)
		_exit(10);
	if (env->set_flags(env, DB_PANIC_ENVIRONMENT, 1) != 0)
		_exit(11);
	if (close_cleanly)
		(void)env->close(env, 0);
	_exit(0);
}

START_TEST(test_panicked_env)
{
	const char		*home = tu_dir;
	struct db_env_opts	 o;
	DB_ENV			*env;
	int64_t			 ms;
	int			 st, clean;
	pid_t			 pid;

	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	/*
	 * clean == 0: the panicking process dies registered, so the user's
	 * DB_REGISTER sees a dead process and returns DB_RUNRECOVERY.
	 * clean == 1: it unregisters; libdb then retries the user's open
	 * with DB_RECOVER, removes the regions and fails with ENOENT.  The
	 * user exits DB_EXIT_RECOVER either way.
	 */
	for (clean = 0; clean <= 1; clean++) {
		ck_assert_int_ne(pid = fork(), -1);
		if (pid == 0)
			panic_child(home, clean);
		st = tu_wait_child(pid, CHILD_TIMEOUT_MS);
		ck_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

		ck_assert_int_ne(pid = fork(), -1);
		if (pid == 0) {
			(void)db_env_open(&env, &o);
			_exit(0);	/* must not get here */
		}
		st = tu_wait_child(pid, CHILD_TIMEOUT_MS);
		ck_assert_msg(st != -1 && WIFEXITED(st), "user hung");
		ck_assert_int_eq(WEXITSTATUS(st), DB_EXIT_RECOVER);

		ck_assert_int_eq(tu_db_recover(home, TEST_CACHE_BYTES, &ms), 0);
		tu_note("panic (clean exit %d): recovery took %lld ms", clean,
		    (long long)ms);
		ck_assert_int_eq(db_env_open(&env, &o), 0);
		ck_assert(has_key(env, DB_TABLE_CT, "before"));
		db_env_close(env);
	}
}
END_TEST

/* ---- 10. the liveness check resists pid reuse --------------------- */

START_TEST(test_isalive)
{
	const char		*home = tu_dir;
	struct db_env_opts	 o;
	DB_ENV			*env;
	int			 (*alive)(DB_ENV *, pid_t, db_threadid_t,
				    u_int32_t);
	void			 (*self)(DB_ENV *, pid_t *,
				    db_threadid_t *);
	db_threadid_t		 tid, tag;
	pid_t			 me, dead;
	int			 st;

	o = opts(home);
	ck_assert_int_eq(db_recover(&o), 0);
	ck_assert_int_eq(db_env_open(&env, &o), 0);
	ck_assert_int_eq(env->get_isalive(env, &alive), 0);
	ck_assert_int_eq(env->get_thread_id_fn(env, &self), 0);
	self(env, &me, &tid);
	ck_assert_int_eq(me, getpid());
	tag = (db_threadid_t)1 << (sizeof(tag) * 8 - 1);
	ck_assert_msg(tid & tag, "no start time in the thread id");

	ck_assert_int_eq(alive(env, me, tid, 0), 1);
	/* same pid, other start time: the pid was reused */
	ck_assert_int_eq(alive(env, me, tid ^ 1, 0), 0);
	/* no thread id to compare, or a tool's pthread_self(): kill only */
	ck_assert_int_eq(alive(env, me, tid ^ 1, DB_MUTEX_PROCESS_ONLY), 1);
	ck_assert_int_eq(alive(env, me, (db_threadid_t)0x7f0012345678, 0), 1);

	ck_assert_int_ne(dead = fork(), -1);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, &st, 0), dead);
	ck_assert_int_eq(alive(env, dead, tid, 0), 0);
	ck_assert_int_eq(alive(env, dead, 0, DB_MUTEX_PROCESS_ONLY), 0);
	db_env_close(env);
}
END_TEST

/* One test per case, each in its own directory (unchecked fixture). */
static void
add_test(Suite *s, const char *name, const TTest *t)
{
	tu_add_alone(s, name, t, 30, tu_tmpdir_setup, tu_tmpdir_teardown);
}

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("db");

	add_test(s, "recover", test_recover_creates_tables);
	add_test(s, "readonly", test_readonly_put_eacces);
	add_test(s, "deadlock", test_txn_deadlock_retry);
	add_test(s, "abort", test_txn_error_aborts);
	add_test(s, "kill", test_recover_after_kill);
	add_test(s, "kills", test_recover_repeated_kills);
	add_test(s, "failchk", test_failchk_after_kill);
	add_test(s, "badhome", test_bad_home);
	add_test(s, "runrecovery", test_check_runrecovery_exits);
	add_test(s, "panic", test_panicked_env);
	add_test(s, "isalive", test_isalive);
	return (s);
}
