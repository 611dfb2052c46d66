/*
 * paths.c - names of the files under daemon.data_dir (see paths.h).
 * Runs in every process that needs one; cannot fail except by a path
 * too long for a unix socket, which is returned, not logged.
 */
#include <string.h>

#include "common/conf.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "store/paths.h"

static const char *const store_names[STORE_NFILES] = {
	[STORE_DB_HOME] = "db",
	[STORE_LOCK] = "notaryd.lock",
	[STORE_SIGNER_SOCK] = "signer.sock",
	[STORE_CTWATCH_LOCK] = "db/ctwatch.lock",
};

char *
store_path(const struct conf *cf, enum store_file f)
{
	return (xasprintf("%s/%s", cf->daemon.data_dir, store_names[f]));
}

int
store_sockaddr(
    const struct conf *cf, enum store_file f, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	return (xsnprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s",
	    cf->daemon.data_dir, store_names[f]));
}

size_t
store_sun_path_max(enum store_file f)
{
	struct sockaddr_un sun;

	return (sizeof(sun.sun_path) - 2 - strlen(store_names[f]));
}
