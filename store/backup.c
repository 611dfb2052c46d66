/*
 * backup.c - hot backup of the database environment (run by notaryctl,
 * a database user joined to the daemon's environment or alone).
 *
 * The copy follows Berkeley DB's documented hot-backup procedure through
 * DB_ENV->backup: tables first (page by page through the cache, so no
 * torn pages), then every log file; the environment counts the backup in
 * progress, so DB_LOG_AUTO_REMOVE removes no log file meanwhile.  The
 * copy is then recovered catastrophically (DB_RECOVER_FATAL replays every
 * copied log) in a private environment, checkpointed and closed: what is
 * left is a standalone environment as of the end of the copy.
 *
 * How it fails: -1 with one message; a failed backup leaves only
 * <dir>/db.partial, never a <dir>/db that looks complete.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "store/backup.h"

#define BACKUP_DIR_MODE    0700
#define BACKUP_CACHE_BYTES (16 * 1024 * 1024)

/* Does dir exist with anything in it?  1, 0 (missing or empty), -1. */
static int
dir_has_entries(const char *dir)
{
	DIR           *d;
	struct dirent *de;
	int            found = 0;

	if ((d = opendir(dir)) == NULL)
		return (errno == ENOENT ? 0 : -1);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return (found);
}

/* Remove the files of a flat directory, then the directory. */
static void
remove_partial(const char *dir)
{
	DIR           *d;
	struct dirent *de;
	char           path[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    xsnprintf(path, sizeof(path), "%s/%s", dir, de->d_name) ==
		        0)
			(void)unlink(path);
	closedir(d);
	(void)rmdir(dir);
}

/* Catastrophic recovery of the copy, private regions.  0 or the code. */
static int
recover_copy(const char *home)
{
	DB_ENV *env;
	int     r, t;

	if ((r = db_env_create(&env, 0)) != 0)
		return (r);
	if ((r = env->set_cachesize(env, 0, BACKUP_CACHE_BYTES, 1)) == 0 &&
	    (r = env->open(env, home,
	         DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |
	             DB_INIT_MPOOL | DB_PRIVATE | DB_RECOVER_FATAL,
	         0600)) == 0)
		r = env->txn_checkpoint(env, 0, 0, DB_FORCE);
	t = env->close(env, 0);
	return (r != 0 ? r : t);
}

int
store_backup(DB_ENV *env, const char *dir, char *err, size_t errlen)
{
	char part[PATH_MAX], final[PATH_MAX];
	int  r;

	if (xsnprintf(part, sizeof(part), "%s/db.partial", dir) != 0 ||
	    xsnprintf(final, sizeof(final), "%s/db", dir) != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return (-1);
	}
	if ((r = dir_has_entries(dir)) != 0) {
		if (r == 1)
			snprintf(err, errlen,
			    "%s is not empty: back up into "
			    "a new directory",
			    dir);
		else
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	if ((mkdir(dir, BACKUP_DIR_MODE) == -1 && errno != EEXIST) ||
	    mkdir(part, BACKUP_DIR_MODE) == -1) {
		snprintf(err, errlen, "create %s: %s", part, strerror(errno));
		return (-1);
	}
	/* DB_BACKUP_FILES: DB_CONFIG too, so the tools agree on the copy. */
	if ((r = db_check(env->backup(env, part, DB_BACKUP_FILES))) != 0) {
		snprintf(err, errlen, "copy to %s: %s", part, db_strerror(r));
		goto fail;
	}
	if ((r = recover_copy(part)) != 0) {
		snprintf(err, errlen, "recovery of the copy in %s: %s", part,
		    db_strerror(r));
		goto fail;
	}
	if (rename(part, final) == -1) {
		snprintf(err, errlen, "rename %s: %s", part, strerror(errno));
		goto fail;
	}
	return (0);
fail:
	remove_partial(part);
	return (-1);
}
