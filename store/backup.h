/*
 * backup.h - hot backup of the database environment (notaryctl backup),
 * safe while the daemon runs and writes.
 */
#ifndef NOTARYD_STORE_BACKUP_H
#define NOTARYD_STORE_BACKUP_H

#include <stddef.h>

#include "store/dbenv.h"

/*
 * Copy the environment env into <dir>/db: Berkeley DB's hot backup (every
 * table, then every log file, with log removal held off meanwhile) into
 * <dir>/db.partial, catastrophic recovery of the copy in a private
 * environment (so the copy is consistent as of the last log record
 * copied, holds no region files and needs no recovery to open), then a
 * rename to <dir>/db.  dir must not exist or be empty.  0, or -1 with a
 * message for the user in err.
 */
int store_backup(DB_ENV *env, const char *dir, char *err, size_t errlen);

#endif
