/*
 * ctpos.h - the CT watcher's position per log: the index of the next
 * entry to publish, kept in the ct.db table of the database environment.
 *
 * Writers: ctwatch (every few seconds, after the entries are in the ring,
 * and when it stops) and notaryctl ct-positions --set-latest.  Every
 * write is one transaction (db_txn_run: deadlock retry; DB_RUNRECOVERY
 * ends the process).  Rows are validated when read (length, URL text).
 *
 * Row: key "pos:" + the log URL without its scheme; value: next index
 * (8 bytes big-endian), unix time of the write (8 bytes), the full URL.
 */
#ifndef NOTARYD_CTPOS_H
#define NOTARYD_CTPOS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "store/dbenv.h"

#define CTPOS_URL_MAX 256 /* with the NUL */

struct ctpos {
	char     url[CTPOS_URL_MAX]; /* normalised log URL */
	uint64_t next;
	int64_t  updated; /* unix seconds */
};

/* Open ct.db.  0 or a Berkeley DB code (logged). */
int     ctpos_open(DB_ENV *env, DB **db, int readonly);
/* 0 found (*next set), 1 none, -1 error (logged). */
int     ctpos_get(DB_ENV *env, DB *db, const char *url, uint64_t *next);
/* Write n positions in one transaction.  0/-1 (logged). */
int     ctpos_put(DB_ENV *env, DB *db, const struct ctpos *v, size_t n);
/*
 * Read every position (at most max) into an allocated array.  Returns the
 * number read, or -1 (logged).
 */
ssize_t ctpos_list(DB_ENV *env, DB *db, struct ctpos **v, size_t max);
/* Delete one position (by URL).  0 deleted, 1 none, -1 error. */
int     ctpos_del(DB_ENV *env, DB *db, const char *url);

#endif
