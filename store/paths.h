/*
 * paths.h - the files notaryd keeps under daemon.data_dir, named in one
 * place.  Used by the master (lock, signer socket, database home), the
 * roles and notaryctl.  Pure string work: nothing here touches the disk.
 */
#ifndef NOTARYD_STORE_PATHS_H
#define NOTARYD_STORE_PATHS_H

#include <sys/un.h>

struct conf;

enum store_file {
	STORE_DB_HOME,      /* db/: the Berkeley DB environment */
	STORE_LOCK,         /* notaryd.lock: one daemon per data_dir */
	STORE_SIGNER_SOCK,  /* signer.sock: worker <-> signer channel */
	STORE_CTWATCH_LOCK, /* db/ctwatch.lock: one ctwatch at a time */
	STORE_NFILES
};

/* <data_dir>/<name of f>, allocated (never NULL: xmalloc). */
char *store_path(const struct conf *cf, enum store_file f);

/*
 * The same path as a unix socket address.  0, or -1 when the path does
 * not fit sun_path (the caller reports it: see store_sun_path_max()).
 */
int store_sockaddr(
    const struct conf *cf, enum store_file f, struct sockaddr_un *sun);

/* The longest data_dir a unix socket under it can have. */
size_t store_sun_path_max(enum store_file f);

#endif
