/*
 * scan.c - notaryctl scan: probe a list of service ids now with the scanner
 * settings, record each outcome like a scanner does (store/outcome.c),
 * and print a summary per result class.
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

struct scan_run {
	struct ctl         *c;
	struct sched_db     sd;
	struct outcome_sink sink;
	size_t              counts[PROBE_NRESULTS];
	size_t              done;
};

static void
scan_done(
    void *arg, const char *svc, size_t len, const struct probe_outcome *out)
{
	struct scan_run *run = arg;
	struct outcome o = { out->result, &out->fp, out->der, out->derlen, 1 };

	run->done++;
	if ((unsigned)out->result < PROBE_NRESULTS)
		run->counts[out->result]++;
	if (out->result != PROBE_OK)
		fprintf(stderr, "notaryctl: %.*s: %s: %s\n", (int)len, svc,
		    probe_result_name(out->result), out->detail);
	if (outcome_record(&run->sink, svc, len, &o, wall_s(), NULL) == -1)
		fprintf(
		    stderr, "notaryctl: %.*s: not recorded\n", (int)len, svc);
}

/* Read the ids to scan: one per line; '#' comments and blank lines skipped. */
static int
scan_read(FILE *in, const char *name, struct names *ids, size_t *bad)
{
	char         line[IMPORT_LINE_MAX + 2], err[128], *p;
	struct svcid t;
	size_t       len;
	unsigned     lineno = 0;
	int          c;

	while (fgets(line, sizeof(line), in) != NULL) {
		lineno++;
		len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(in)) {
			/* Longer than any id: report once, skip the rest. */
			while ((c = getc(in)) != EOF && c != '\n')
				;
			fprintf(stderr, "notaryctl: %s:%u: line too long\n",
			    name, lineno);
			(*bad)++;
			continue;
		}
		while (
		    len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		line[len] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		len -= (size_t)(p - line);
		if (len == 0 || *p == '#')
			continue;
		memset(&t, 0, sizeof(t));
		if (svcid_parse(p, len, &t, err, sizeof(err)) == -1) {
			fprintf(stderr, "notaryctl: %s:%u: %s\n", name, lineno,
			    err);
			(*bad)++;
			continue;
		}
		if (t.type != 2) {
			fprintf(stderr,
			    "notaryctl: %s:%u: only type 2 (ssl) "
			    "services can be scanned\n",
			    name, lineno);
			(*bad)++;
			continue;
		}
		ctl_names_add(ids, p, len, -1);
	}
	return (ferror(in) ? -1 : 0);
}

static int
strp_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * Probe the listed services now with the configured scanner settings,
 * record what they present, and print a summary per result class (the
 * Perspectives cron pipeline: notaryctl list-services | notaryctl scan -).
 */
/* Sort the ids and drop the repeated ones. */
static void
scan_dedup(struct names *ids)
{
	size_t i, uniq = 0;

	if (ids->n > 1)
		qsort(ids->v, ids->n, sizeof(*ids->v), strp_cmp);
	for (i = 0; i < ids->n; i++)
		if (uniq == 0 || strcmp(ids->v[uniq - 1], ids->v[i]) != 0)
			ids->v[uniq++] = ids->v[i];
		else
			free(ids->v[i]);
	ids->n = uniq;
}

/* Outcomes go where a scanner's go (store/outcome.c). */
static int
scan_open(struct scan_run *run, struct ctl *c)
{
	const struct conf *cf = c->cf;

	run->c = c;
	if (ctl_open(c) == -1 || sched_open(&run->sd, c->env) == -1)
		return (-1);
	run->sink.obs = &c->obs;
	run->sink.sched = &run->sd;
	run->sink.rescan_interval_ms = cf->scanner.rescan_interval_ms;
	run->sink.rescan_newer_than_ms = cf->scanner.rescan_newer_than_ms;
	run->sink.spans = xcalloc(OBS_MAX_SPANS, sizeof(*run->sink.spans));
	return (0);
}

/* Probe every id, at most scanner.concurrency at a time.  *bad counts
 * the ids the engine refused. */
static void
scan_probe_all(struct probe_engine *pe, size_t concurrency,
    const struct names *ids, struct scan_run *run, size_t *bad)
{
	struct pollfd pfd;
	char          err[160];
	size_t        next = 0;

	while ((next < ids->n || probe_inflight(pe) > 0) &&
	    ctl_check_interrupt() == 0) {
		while (next < ids->n && probe_inflight(pe) < concurrency) {
			if (probe_submit(pe, ids->v[next], strlen(ids->v[next]),
			        scan_done, run, err, sizeof(err)) == -1) {
				if (errno == EAGAIN)
					break;
				fprintf(stderr, "notaryctl: %s: %s\n",
				    ids->v[next], err);
				(*bad)++;
			}
			next++;
		}
		pfd.fd = probe_engine_fd(pe);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, probe_engine_timeout(pe)) == -1 &&
		    errno != EINTR)
			break;
		probe_engine_process(pe);
	}
}

static int
scan_summary(const struct scan_run *run, size_t bad)
{
	size_t i;

	printf("scanned %zu services", run->done);
	for (i = 0; i < PROBE_NRESULTS; i++)
		if (run->counts[i] > 0)
			printf(", %s %zu",
			    probe_result_name((enum probe_result)i),
			    run->counts[i]);
	if (bad > 0)
		printf(", invalid %zu", bad);
	printf("\n");
	return (
	    ctl_out_error(stdout, "stdout") == 0 && ctl_check_interrupt() == 0
	        ? EXIT_OK
	        : EXIT_RUNTIME);
}

int
cmd_scan(struct ctl *c, int argc, char **argv)
{
	const char          *path = argc > 1 ? argv[1] : "-";
	struct probe_opts    po;
	struct probe_engine *pe = NULL;
	struct scan_run      run;
	struct names         ids;
	size_t               bad = 0;
	int                  r = EXIT_RUNTIME;
	FILE                *in;

	if (argc > 2) {
		fprintf(stderr, "notaryctl: scan: expected at most one FILE\n");
		return (EXIT_USAGE);
	}
	memset(&ids, 0, sizeof(ids));
	memset(&run, 0, sizeof(run));
	if (strcmp(path, "-") == 0)
		in = stdin;
	else if ((in = fopen(path, "r")) == NULL) {
		fprintf(stderr, "notaryctl: %s: %s\n", path, strerror(errno));
		return (EXIT_RUNTIME);
	}
	/* Read everything first: a pipe from list-services never waits. */
	if (scan_read(in, in == stdin ? "stdin" : path, &ids, &bad) == -1)
		goto done;
	scan_dedup(&ids);
	if (scan_open(&run, c) == -1)
		goto done;
	probe_opts_from_conf(c->cf, &po);
	if ((pe = probe_engine_new(&po)) == NULL)
		goto done;
	scan_probe_all(pe, (size_t)po.concurrency, &ids, &run, &bad);
	r = scan_summary(&run, bad);
done:
	if (pe != NULL)
		probe_engine_free(pe);
	if (run.sd.sched != NULL)
		sched_close(&run.sd);
	if (in != stdin)
		fclose(in);
	ctl_close(c);
	free(run.sink.spans);
	ctl_names_free(&ids);
	return (r);
}
