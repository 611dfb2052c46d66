/*
 * ct_positions.c - notaryctl ct-positions [--set-latest]: print the CT
 * watcher's saved position of each log (store/ctpos), or forget them all
 * so that ctwatch starts every log at its current size.
 * Runs in notaryctl only; see notaryctl.c for exit statuses and messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "store/ctpos.h"
#include "store/session.h"

#define CTPOS_LIST_MAX 100000 /* rows printed at most */

/*
 * Print the CT watcher's saved positions, one log a line:
 *   URL NEXT UPDATED
 * NEXT is the index of the next entry ctwatch publishes, UPDATED the
 * UTC time it was saved.  --set-latest forgets them all, so that every log
 * starts again at its current size when ctwatch next starts; it needs the
 * daemon stopped (a running ctwatch would write its positions back).
 */
static int
ct_positions_print(struct ctl *c, DB *db)
{
	struct ctpos *v;
	ssize_t       n, i;
	char          when[ISO_LEN];

	if ((n = ctpos_list(c->env, db, &v, CTPOS_LIST_MAX)) == -1) {
		fprintf(stderr, "notaryctl: cannot read the CT positions\n");
		return (EXIT_RUNTIME);
	}
	for (i = 0; i < n; i++) {
		ctl_iso_time(v[i].updated, when, sizeof(when));
		printf("%s %llu %s\n", v[i].url, (unsigned long long)v[i].next,
		    when);
	}
	free(v);
	return (ctl_out_error(stdout, "standard output") == 0 ? EXIT_OK
	                                                      : EXIT_RUNTIME);
}

static int
ct_positions_reset(struct ctl *c, DB *db)
{
	struct ctpos *v;
	ssize_t       n, i;
	int           r = EXIT_OK;

	if (store_daemon_running(c->cf) != 0) {
		fprintf(stderr,
		    "notaryctl: ct-positions --set-latest needs "
		    "the daemon stopped (its ctwatch would save its positions "
		    "again)\n");
		return (EXIT_RUNTIME);
	}
	if ((n = ctpos_list(c->env, db, &v, CTPOS_LIST_MAX)) == -1) {
		fprintf(stderr, "notaryctl: cannot read the CT positions\n");
		return (EXIT_RUNTIME);
	}
	for (i = 0; i < n && ctl_check_interrupt() == 0; i++) {
		if (ctpos_del(c->env, db, v[i].url) == -1) {
			r = EXIT_RUNTIME;
			break;
		}
		printf("%s latest\n", v[i].url);
	}
	if (i < n)
		r = EXIT_RUNTIME;
	free(v);
	return (r);
}

int
cmd_ct_positions(struct ctl *c, int argc, char **argv)
{
	DB *db;
	int reset = 0, r;

	if (argc == 2 && strcmp(argv[1], "--set-latest") == 0)
		reset = 1;
	else if (argc != 1) {
		fprintf(stderr,
		    "usage: notaryctl ct-positions "
		    "[--set-latest]\n");
		return (EXIT_USAGE);
	}
	if (ctl_open(c) == -1)
		return (EXIT_RUNTIME);
	if (ctpos_open(c->env, &db, 0) != 0) {
		fprintf(stderr, "notaryctl: cannot open the CT positions\n");
		ctl_close(c);
		return (EXIT_RUNTIME);
	}
	r = reset ? ct_positions_reset(c, db) : ct_positions_print(c, db);
	db->close(db, 0);
	ctl_close(c);
	return (r);
}
