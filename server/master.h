/* master.h - the supervising master process (see master.c). */
#ifndef NOTARYD_MASTER_H
#define NOTARYD_MASTER_H

#include <stddef.h>

struct conf;
struct conf_override;

/*
 * Run the daemon with an already loaded config (ownership passes to the
 * master).  The file (cf->path) and ov/nov are kept for SIGHUP reloads.
 * Returns the process exit status: 0 clean stop, 1 runtime failure, 2 bad
 * config.
 */
int master_run(struct conf *cf, const struct conf_override *ov, size_t nov,
    int foreground);

/* Checks for -t beyond parsing: directories, key files, log target. */
int master_check_paths(const struct conf *cf, char *err, size_t errlen);

#endif
