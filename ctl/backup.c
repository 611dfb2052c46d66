/*
 * backup.c - notaryctl backup DIR: a hot backup of the database
 * environment into DIR/db (store/backup.c), safe while the daemon runs.
 * DIR is then a data_dir of its own as far as the database goes:
 * "notaryctl -o daemon.data_dir=DIR export" reads it, and
 * "db5.3_verify -h DIR/db TABLE.db" checks it.
 * Runs in notaryctl only; see notaryctl.c for exit statuses and messages.
 */
#include <limits.h>
#include <stdio.h>

#include "ctl/ctl.h"
#include "store/backup.h"

int
cmd_backup(struct ctl *c, int argc, char **argv)
{
	char err[PATH_MAX + 256];
	int  r;

	if (argc != 2 || argv[1][0] == '\0' || argv[1][0] == '-') {
		fprintf(stderr, "usage: notaryctl backup DIR\n");
		return (EXIT_USAGE);
	}
	if (ctl_open(c) == -1)
		return (EXIT_RUNTIME);
	r = store_backup(c->env, argv[1], err, sizeof(err));
	ctl_close(c);
	if (r == -1) {
		fprintf(stderr, "notaryctl: backup: %s\n", err);
		return (EXIT_RUNTIME);
	}
	printf("backed up %s/db to %s/db\n", c->cf->daemon.data_dir, argv[1]);
	return (EXIT_OK);
}
