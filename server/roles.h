/*
 * roles.h - the role table: every kind of child the master runs, with
 * what the master must know about it.  A new role is one row here (and
 * its enum role value and name in common/status) plus its role_ops.
 */
#ifndef NOTARYD_ROLES_H
#define NOTARYD_ROLES_H

#include "common/proc.h"
#include "common/status.h"

struct conf;

#define ROLE_F_DB_USER \
	0x01               /* opens the database: its crash means
				   recovery for every database user */
#define ROLE_F_LISTEN 0x02 /* inherits the HTTP listening sockets */
#define ROLE_F_SIGNER 0x04 /* inherits the signer's socket */

struct role_def {
	const struct role_ops *ops;
	unsigned               flags;
	/* the config key saying how many to run (an int, or a bool for
	   one or none); NULL: started by the master on demand only */
	const char            *count_key;
	/* when not NULL, run only if this says so (e.g. ctwatch.source) */
	int (*when)(const struct conf *);
};

extern const struct role_def roles[ROLE_MAX];

/* How many processes of role r cf asks for. */
int role_wanted(const struct conf *cf, enum role r);
/* Is r a database user (see ROLE_F_DB_USER)? */
int role_is_db_user(enum role r);

#endif
