/*
 * dbenv.h - the Berkeley DB 5.3 environment protocol.
 *
 * Called by the database users only: the signer, the scanners, ctwatch,
 * notaryctl, and the short-lived recovery helper the master forks.  The
 * master and the HTTP workers never call anything here (they never open the
 * environment, so their crashes never force recovery).
 *
 * Users open with DB_INIT_{TXN,LOCK,LOG,MPOOL}|DB_REGISTER|DB_FAILCHK and no
 * DB_THREAD; only the recovery helper opens with DB_RECOVER.  Any
 * DB_RUNRECOVERY seen by a user ends the process with _exit(DB_EXIT_RECOVER)
 * so that the master stops all users, recovers, and restarts them (closing
 * the environment after DB_RUNRECOVERY can hang on a dead process's mutex).
 */
#ifndef NOTARYD_DBENV_H
#define NOTARYD_DBENV_H

#include <db.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proc.h"

#define DB_EXIT_RECOVER PROC_EXIT_DBPANIC /* run recovery */
#define DB_TXN_ATTEMPTS 8 /* deadlock retries before giving up */

/* The tables of the environment (all BTREE); recovery creates them all. */
#define DB_TABLE_SERVICES "services.db"
#define DB_TABLE_SPANS    "spans.db"
#define DB_TABLE_SCHED    "sched.db"
#define DB_TABLE_SCHEDIDX "schedidx.db"
#define DB_TABLE_CERTS    "certs.db"
#define DB_TABLE_CT       "ct.db"
#define DB_TABLE_META     "meta.db"
#define DB_TABLE_ISSUERS  "issuers.db" /* static-CT issuer certificates */

/* NULL-terminated list of the names above. */
extern const char *const db_tables[];

struct db_env_opts {
	const char *home;        /* absolute path; created by recovery */
	uint64_t    cache_bytes; /* mpool size */
	int         recover;     /* 1 only in the recovery helper */
};

/*
 * Open the environment.  Returns 0, or the Berkeley DB / errno code (logged
 * once here).  A user (recover == 0) that gets DB_RUNRECOVERY does not
 * return: it _exits(DB_EXIT_RECOVER).
 */
int  db_env_open(DB_ENV **envp, const struct db_env_opts *o);
void db_env_close(DB_ENV *env);

/*
 * The recovery helper's whole job: create the home directory if needed,
 * write <home>/DB_CONFIG (the mutex headroom the db5.3_* tools need; a
 * changed file forces a full recovery so that the regions are rebuilt),
 * open with DB_RECOVER|DB_CREATE, create every table of db_tables,
 * checkpoint, close.  Returns 0/-1 (logged).  Run it in a child process
 * that the master can kill if it hangs.
 */
int db_recover(const struct db_env_opts *o);

/* Open one table of the environment (DB_AUTO_COMMIT).  0 or error code. */
int db_table_open(DB_ENV *env, DB **dbp, const char *name, int readonly);

/*
 * Run fn inside a transaction: begin, fn, commit.  fn returns 0 on success,
 * a Berkeley DB code (DB_LOCK_DEADLOCK, DB_LOCK_NOTGRANTED → abort and
 * retry, up to DB_TXN_ATTEMPTS times, with a short random back-off), or
 * any other nonzero value (abort, return it).  *attempts (if not NULL)
 * gets how many times fn ran.  DB_RUNRECOVERY anywhere → _exit(3).
 */
typedef int (*db_txn_fn)(DB_ENV *env, DB_TXN *txn, void *arg);
int  db_txn_run(DB_ENV *env, db_txn_fn fn, void *arg, int *attempts);
/* Count every deadlock retry of this process into *counter (shared). */
void db_count_retries(_Atomic uint64_t *counter);

/* If r is DB_RUNRECOVERY, log and _exit(DB_EXIT_RECOVER); else return r. */
int db_check(int r);

/* Checkpoint (ctwatch every 60 s and at stop).  0 or error code. */
int db_checkpoint(DB_ENV *env);

#endif
