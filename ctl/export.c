/*
 * export.c - notaryctl export: every observation, one Perspectives db2file tuple per
 * line, written between read transactions.
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

struct export_ctx {
	FILE         *out;
	struct names *registered; /* services.db, sorted */
	size_t        next;       /* first name not written */
	char          last[SVCID_MAX + 1];
	size_t        spans;
	size_t        services;
};

static int   export_time(int64_t *);
static FILE *open_output(const char *, char **);
static int   close_output(FILE *, const char *, const char *, int);
static int   export_service_only(struct export_ctx *, const char *);
static int   export_registered_before(struct export_ctx *, const char *);
static int   export_span(const char *, size_t, const struct obs_span *, void *);

/* The header's date: SOURCE_DATE_EPOCH (reproducible dumps) or now. */
static int
export_time(int64_t *t)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");

	*t = wall_s();
	if (s == NULL)
		return (0);
	if (ctl_parse_time(s, strlen(s), t) == -1) {
		fprintf(stderr,
		    "notaryctl: SOURCE_DATE_EPOCH \"%s\" is not a "
		    "time in seconds\n",
		    s);
		return (-1);
	}
	return (0);
}

/*
 * stdout for "-", else a temporary file next to path that close_output
 * renames over it, so a failed export never leaves half a dump in place.
 */
static FILE *
open_output(const char *path, char **tmp)
{
	FILE  *f;
	mode_t mask;
	int    fd;

	*tmp = NULL;
	if (strcmp(path, "-") == 0)
		return (stdout);
	*tmp = xasprintf("%s.XXXXXX", path);
	if ((fd = mkstemp(*tmp)) == -1) {
		fprintf(stderr, "notaryctl: create %s: %s\n", *tmp,
		    strerror(errno));
		free(*tmp);
		*tmp = NULL;
		return (NULL);
	}
	/* mkstemp makes it 0600; a dump is public data, honour umask */
	mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);
	if ((f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "notaryctl: %s: %s\n", *tmp, strerror(errno));
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
	}
	return (f);
}

/*
 * Finish the output; the dump replaces path only when complete (complete
 * and written).  0, or -1 (and the temporary file removed).
 */
static int
close_output(FILE *f, const char *path, const char *tmp, int complete)
{
	int r = ctl_out_error(f, tmp ? tmp : "stdout");

	if (!complete)
		r = -1;
	if (tmp == NULL)
		return (r);
	if (fclose(f) != 0 && r == 0) {
		fprintf(
		    stderr, "notaryctl: close %s: %s\n", tmp, strerror(errno));
		r = -1;
	}
	if (r == 0 && rename(tmp, path) == -1) {
		fprintf(stderr, "notaryctl: rename %s to %s: %s\n", tmp, path,
		    strerror(errno));
		r = -1;
	}
	if (r == -1)
		(void)unlink(tmp);
	return (r);
}

static int
export_service_only(struct export_ctx *x, const char *svc)
{
	x->services++;
	if (fprintf(x->out, "(%s, None, None, None)\n", svc) < 0)
		return (-1);
	return (0);
}

/* The services.db ids without spans that sort before svc. */
static int
export_registered_before(struct export_ctx *x, const char *svc)
{
	struct names *reg = x->registered;
	int           cmp;

	for (; x->next < reg->n; x->next++) {
		cmp = svc == NULL ? -1 : strcmp(reg->v[x->next], svc);
		if (cmp == 0)
			x->next++;
		if (cmp >= 0)
			break;
		if (export_service_only(x, reg->v[x->next]) == -1)
			return (-1);
	}
	return (0);
}

static int
export_span(const char *svc, size_t len, const struct obs_span *sp, void *arg)
{
	struct export_ctx *x = arg;
	char               hex[MD5_HEX_LEN];

	if (strcmp(x->last, svc) != 0) {
		if (export_registered_before(x, svc) == -1)
			return (-1);
		memcpy(x->last, svc, len + 1);
		x->services++;
		if (ctl_check_interrupt() == -1)
			return (-1);
	}
	obs_hex_colon(sp->md5, sizeof(sp->md5), hex);
	x->spans++;
	if (fprintf(x->out, "(%s, %s, %lld, %lld)\n", svc, hex,
	        (long long)sp->start, (long long)sp->end) < 0)
		return (-1);
	return (0);
}

/*
 * Every span, sorted by service, key, start; each services.db id without
 * spans as a service-only line in its place; a "# notaryd export" header.
 */
int
cmd_export(struct ctl *c, int argc, char **argv)
{
	struct export_ctx x;
	struct names      reg;
	const char       *path = argc > 1 ? argv[1] : "-";
	char             *tmp = NULL, iso[ISO_LEN];
	int64_t           t;
	FILE             *out;
	int               r = EXIT_RUNTIME, w;

	if (argc > 2) {
		fprintf(stderr,
		    "notaryctl: export: expected at most one "
		    "FILE\n");
		return (EXIT_USAGE);
	}
	if (export_time(&t) == -1)
		return (EXIT_USAGE);
	memset(&reg, 0, sizeof(reg));
	memset(&x, 0, sizeof(x));
	if (ctl_open(c) == -1)
		return (EXIT_RUNTIME);
	if (obs_walk_services(&c->obs, ctl_collect_service, &reg) != 0)
		goto done;
	if ((out = open_output(path, &tmp)) == NULL)
		goto done;
	x.out = out;
	x.registered = &reg;
	ctl_iso_time(t, iso, sizeof(iso));
	w = fprintf(out, "# notaryd export %s\n", iso) < 0 ? -1 : 0;
	if (w == 0)
		w = obs_walk_spans(&c->obs, export_span, &x);
	if (w == 0)
		w = export_registered_before(&x, NULL);
	if (w != 0 && !ferror(out) && !ctl_interrupted())
		fprintf(stderr,
		    "notaryctl: export: reading the database "
		    "failed\n");
	if (close_output(out, path, tmp, w == 0) == 0) {
		r = EXIT_OK;
		if (tmp != NULL)
			printf("exported %zu spans for %zu services to %s\n",
			    x.spans, x.services, path);
	}
done:
	free(tmp);
	ctl_names_free(&reg);
	ctl_close(c);
	return (r);
}
