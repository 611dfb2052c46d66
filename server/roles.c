/*
 * roles.c - the role table (see roles.h).  Read by the master only; the
 * one file of server/ that names every role's entry points.
 */
#include <stddef.h>

#include "common/conf.h"
#include "ctwatch/ctwatch.h"
#include "nats/natspub.h"
#include "nats/natsrc.h"
#include "scanner/scanner.h"
#include "server/http.h"
#include "server/recover.h"
#include "server/roles.h"
#include "server/signer.h"

/*
 * ctwatch.source picks the one process that writes the stream ring: the
 * CT watcher (logs) or a stream front's JetStream follower (nats).
 */
static int
source_logs(const struct conf *cf)
{
	return (!cf->ctwatch.from_nats);
}

static int
source_nats(const struct conf *cf)
{
	return (cf->ctwatch.from_nats);
}

const struct role_def roles[ROLE_MAX] = {
	[ROLE_HTTP] = { &http_role, ROLE_F_LISTEN, "http.workers" },
	[ROLE_SIGNER] = { &signer_role, ROLE_F_DB_USER | ROLE_F_SIGNER,
	    "signer.processes" },
	[ROLE_SCANNER] = { &scanner_role, ROLE_F_DB_USER, "scanner.processes" },
	[ROLE_CTWATCH] = { &ctwatch_role, ROLE_F_DB_USER, "ctwatch.enabled",
	    source_logs },
	[ROLE_NATSPUB] = { &natspub_role, 0, "nats.enabled" },
	[ROLE_NATSRC] = { &natsrc_role, ROLE_F_DB_USER, "ctwatch.enabled",
	    source_nats },
	[ROLE_RECOVERY] = { &recover_role, 0, NULL },
};

int
role_wanted(const struct conf *cf, enum role r)
{
	if ((unsigned)r >= ROLE_MAX || roles[r].count_key == NULL)
		return (0);
	if (roles[r].when != NULL && !roles[r].when(cf))
		return (0);
	return (conf_count(cf, roles[r].count_key));
}

int
role_is_db_user(enum role r)
{
	return (
	    (unsigned)r < ROLE_MAX && (roles[r].flags & ROLE_F_DB_USER) != 0);
}
