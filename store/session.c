/*
 * session.c - open the database environment of a configuration (see
 * session.h).  Runs in every database user and in notaryctl; failures
 * are logged once here (roles) or described in err (the tool).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "store/paths.h"
#include "store/session.h"

static void
env_opts(const struct conf *cf, struct db_env_opts *o, char *home, int recover)
{
	o->home = home;
	o->cache_bytes = cf->database.cache_size;
	o->recover = recover;
}

int
store_env_open(const struct conf *cf, DB_ENV **envp)
{
	struct db_env_opts o;
	char              *home = store_path(cf, STORE_DB_HOME);
	int                r;

	env_opts(cf, &o, home, 0);
	r = db_env_open(envp, &o);
	free(home);
	return (r == 0 ? 0 : -1);
}

int
store_env_recover(const struct conf *cf)
{
	struct db_env_opts o;
	char              *home = store_path(cf, STORE_DB_HOME);
	int64_t            t0 = mono_ms();
	int                r;

	env_opts(cf, &o, home, 1);
	r = db_recover(&o);
	if (r == 0)
		log_info("database recovery of %s done in %lld ms", home,
		    (long long)(mono_ms() - t0));
	free(home);
	return (r == 0 ? 0 : -1);
}

/*
 * F_GETLK only: a tool never takes the master's lock (nor creates its
 * file, which could leave it owned by the wrong user).
 */
int
store_daemon_running(const struct conf *cf)
{
	struct flock fl;
	char        *path = store_path(cf, STORE_LOCK);
	int          fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		r = errno == ENOENT ? 0 : -1;
		if (r == -1)
			log_warn("cannot check %s", path);
		free(path);
		return (r);
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == -1) {
		log_warn("cannot check the lock on %s", path);
		r = -1;
	} else
		r = fl.l_type != F_UNLCK;
	close(fd);
	free(path);
	return (r);
}

/* Has recovery ever created this environment (regions and tables)? */
static int
env_ready(const char *home)
{
	static const char *const need[] = {
		"__db.001",
		DB_TABLE_SPANS,
		DB_TABLE_CERTS,
		DB_TABLE_SERVICES,
	};
	char  *path;
	size_t i;
	int    ok = 1;

	for (i = 0; i < NELEM(need) && ok; i++) {
		path = xasprintf("%s/%s", home, need[i]);
		ok = access(path, F_OK) == 0;
		free(path);
	}
	return (ok);
}

int
store_env_open_tool(
    const struct conf *cf, DB_ENV **envp, char *err, size_t errlen)
{
	struct db_env_opts o;
	char              *home = store_path(cf, STORE_DB_HOME);
	int                running, r = -1;

	running = store_daemon_running(cf);
	if (running == 0) {
		/* Nobody else can be in the middle of it: safe to recover. */
		env_opts(cf, &o, home, 1);
		if (db_recover(&o) != 0) {
			snprintf(err, errlen,
			    "cannot create or recover the "
			    "database in %s",
			    home);
			goto done;
		}
	} else if (!env_ready(home)) {
		snprintf(err, errlen,
		    "the database in %s does not exist yet; "
		    "the daemon creates it when it starts",
		    home);
		goto done;
	}
	env_opts(cf, &o, home, 0);
	if (db_env_open(envp, &o) != 0) {
		snprintf(err, errlen, "cannot open the database in %s", home);
		goto done;
	}
	r = 0;
done:
	free(home);
	return (r);
}
