/*
 * list_services.c - notaryctl list-services: one service id per line, no duplicates, filtered by
 * the newest sighting (the Perspectives list_services.py).
 * Runs in notaryctl only; see notaryctl.c for exit statuses and messages.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <pwd.h>

#include "common/conf.h"
#include "store/dbenv.h"
#include "common/log.h"
#include "server/keys.h"
#include "store/obs.h"
#include "store/session.h"
#include "scanner/probe.h"
#include "store/schedule.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"


#include "ctl/ctl.h"

static int
collect_span_service(const char *, size_t, const struct obs_span *, void *);
static int parse_days(const char *, int64_t *);

int
ctl_collect_service(
    const char *svc, size_t len, const struct obs_service *st, void *arg)
{
	(void)st;
	ctl_names_add(arg, svc, len, -1);
	return (ctl_check_interrupt());
}

/* Spans come grouped by service: one name each, with its newest end. */
static int
collect_span_service(
    const char *svc, size_t len, const struct obs_span *sp, void *arg)
{
	struct names *nm = arg;

	if (nm->n > 0 && strcmp(nm->v[nm->n - 1], svc) == 0) {
		if (sp->end > nm->newest[nm->n - 1])
			nm->newest[nm->n - 1] = sp->end;
		return (0);
	}
	ctl_names_add(nm, svc, len, sp->end);
	return (ctl_check_interrupt());
}

static int
parse_days(const char *s, int64_t *days)
{
	char *end;
	long  v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 ||
	    v > LIST_MAX_DAYS || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		return (-1);
	*days = v;
	return (0);
}

/*
 * --all (default): every service with a services.db row or a span.
 * --newer DAYS: a span ends after now - DAYS; --older DAYS: it has spans,
 * and the newest ends at or before now - DAYS (list_services.py, without
 * its duplicates).  Byte order, one id per line.
 */
int
cmd_list_services(struct ctl *c, int argc, char **argv)
{
	struct names reg, seen;
	const char  *mode = "--all";
	int64_t      days = LIST_DEFAULT_DAYS, cutoff;
	size_t       i, j;
	int          cmp, r = EXIT_RUNTIME, all, newer;

	if (argc > 3 || (argc >= 2 && argv[1][0] != '-') ||
	    (argc == 3 && parse_days(argv[2], &days) == -1)) {
		fprintf(stderr,
		    "notaryctl: list-services: expected --all, "
		    "--newer DAYS or --older DAYS (DAYS 0..%d)\n",
		    LIST_MAX_DAYS);
		return (EXIT_USAGE);
	}
	if (argc >= 2)
		mode = argv[1];
	all = !strcmp(mode, "--all") || !strcmp(mode, "-a");
	newer = !strcmp(mode, "--newer") || !strcmp(mode, "--newest") ||
	    !strcmp(mode, "--new");
	if ((!all && !newer && strcmp(mode, "--older") &&
	        strcmp(mode, "--oldest") && strcmp(mode, "--old")) ||
	    (all && argc == 3)) {
		fprintf(stderr,
		    "notaryctl: list-services: unknown option "
		    "%s\n",
		    mode);
		return (EXIT_USAGE);
	}
	cutoff = wall_s() - days * DAY_SECONDS;
	memset(&reg, 0, sizeof(reg));
	memset(&seen, 0, sizeof(seen));
	if (ctl_open(c) == -1)
		return (EXIT_RUNTIME);
	if ((all &&
	        obs_walk_services(&c->obs, ctl_collect_service, &reg) != 0) ||
	    obs_walk_spans(&c->obs, collect_span_service, &seen) != 0)
		goto done;
	ctl_close(c); /* before any output that could block */
	/* both lists are in key order, which is strcmp order: merge */
	for (i = j = 0; i < reg.n || j < seen.n;) {
		if (i == reg.n)
			cmp = 1;
		else if (j == seen.n)
			cmp = -1;
		else
			cmp = strcmp(reg.v[i], seen.v[j]);
		if (cmp < 0)
			printf("%s\n", reg.v[i++]);
		else {
			if (all || (newer && seen.newest[j] > cutoff) ||
			    (!newer && seen.newest[j] <= cutoff))
				printf("%s\n", seen.v[j]);
			i += cmp == 0;
			j++;
		}
	}
	r = ctl_out_error(stdout, "stdout") == 0 ? EXIT_OK : EXIT_RUNTIME;
done:
	ctl_close(c);
	ctl_names_free(&reg);
	ctl_names_free(&seen);
	return (r);
}
