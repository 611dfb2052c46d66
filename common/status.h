/*
 * status.h - the shared-memory process table the master publishes.
 *
 * One small MAP_SHARED mapping.  Only the master writes it (plain atomic
 * stores, no locks); HTTP workers read it to answer /healthz and to fill
 * the index page and /metrics.  Readers treat every value as untrusted.
 */
#ifndef NOTARYD_STATUS_H
#define NOTARYD_STATUS_H

#include <stdatomic.h>
#include <stdint.h>

enum role {
	ROLE_MASTER = 0,
	ROLE_HTTP,
	ROLE_SIGNER,
	ROLE_SCANNER,
	ROLE_CTWATCH,
	ROLE_RECOVERY,
	ROLE_MAX,
};

enum db_state {
	DB_STATE_DOWN = 0,	/* not yet recovered */
	DB_STATE_RECOVERING,
	DB_STATE_UP,
};

struct status_role {
	_Atomic uint32_t	wanted;		/* children the config asks for */
	_Atomic uint32_t	ready;		/* children that reported ready */
	_Atomic uint64_t	spawns;		/* forks since start */
	_Atomic uint64_t	crashes;	/* signal deaths / bad exits */
	_Atomic uint32_t	throttled;	/* 1 while respawn is held back */
};

struct status {
	uint32_t		magic;
	_Atomic int64_t		started_wall;	/* unix seconds */
	_Atomic uint32_t	generation;	/* ++ on every good reload */
	_Atomic uint32_t	db_state;	/* enum db_state */
	_Atomic uint64_t	recoveries;
	_Atomic uint32_t	stopping;	/* 1 once a stop began */
	struct status_role	role[ROLE_MAX];
};

#define STATUS_MAGIC	0x6e737431u	/* "nst1" */

struct status	*status_create(void);
void		 status_destroy(struct status *st);
const char	*role_name(enum role r);
/* 1 when every role has as many ready children as wanted and the db is up. */
int		 status_healthy(const struct status *st);

#endif
