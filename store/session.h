/*
 * session.h - opening the database environment of a configuration: the
 * one sequence every database user follows (signer, scanners, ctwatch,
 * the recovery helper and notaryctl).  Tables are then opened by the
 * data-model modules (obs_open, sched_open, ...).
 */
#ifndef NOTARYD_STORE_SESSION_H
#define NOTARYD_STORE_SESSION_H

#include <stddef.h>

#include "store/dbenv.h"

struct conf;

/*
 * A daemon role: open <data_dir>/db as a registered user (the master ran
 * recovery before starting us).  0, or -1 (logged).  DB_RUNRECOVERY ends
 * the process (see dbenv.h).
 */
int store_env_open(const struct conf *cf, DB_ENV **envp);

/* The recovery helper's job for cf's environment.  0, or -1 (logged). */
int store_env_recover(const struct conf *cf);

/*
 * An offline tool (notaryctl): when no daemon holds the data_dir lock,
 * create or recover the environment first; when one does, join its
 * environment, which must exist.  0, or -1 with a message for the user
 * in err.
 */
int store_env_open_tool(
    const struct conf *cf, DB_ENV **envp, char *err, size_t errlen);

/* Does a daemon hold the data_dir lock?  1 yes, 0 no, -1 cannot tell. */
int store_daemon_running(const struct conf *cf);

#endif
