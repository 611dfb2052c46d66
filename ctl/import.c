/*
 * import.c - notaryctl import: read Perspectives dump tuples, check every line
 * (reporting FILE:LINE) and the stored data, then write them in batches
 * of transactions; nothing is written when any line is bad.  Imported
 * services are spread over one rescan interval.
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
#include "ctl/import_parse.h"

enum entry_state {
	ENTRY_NEW = 0,
	ENTRY_PRESENT, /* the same span: earlier, or stored */
};

struct import_err {
	uint32_t line;
	char    *msg;
};

struct import {
	const char          *name; /* for messages */
	struct import_entry *v;
	size_t               n;
	size_t               cap;
	struct import_err   *err;
	size_t               nerr;
	size_t               errcap;
	size_t               services;
	size_t               present;
};

struct batch {
	struct obs_db *o;
	struct import *im;
	size_t         from;
	size_t         to;
	size_t         inserted;
	size_t         present;
	size_t         failed; /* the entry that failed */
};

static void import_error(struct import *, uint32_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int read_line(FILE *, char *, size_t, size_t *, int *, int *);
static void
entry_add(struct import *, const struct import_entry *, const char *);
static int  entry_cmp(const void *, const void *);
static int  err_cmp(const void *, const void *);
static int  import_read(struct import *, FILE *);
static void import_check_file(struct import *);
static int  import_check_stored(struct import *, struct obs_db *);
static int  batch_txn(DB_ENV *, DB_TXN *, void *);
static int  import_write(struct import *, struct ctl *, size_t *);
static void import_free(struct import *);
static void schedule_rescans(struct ctl *, struct import *);

static void
import_error(struct import *im, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	char    buf[512];

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (im->nerr == im->errcap) {
		im->errcap = im->errcap ? im->errcap * 2 : 16;
		im->err = xreallocarray(im->err, im->errcap, sizeof(*im->err));
	}
	im->err[im->nerr].line = line;
	im->err[im->nerr].msg = xstrdup(buf);
	im->nerr++;
}

/*
 * One line into buf (at most max bytes, without the newline).  Returns 1
 * for a line, 0 at the end, -1 on a read error.  A longer line is read to
 * its end and flagged *too_long; a NUL byte is flagged *has_nul.
 */
static int
read_line(
    FILE *f, char *buf, size_t max, size_t *len, int *too_long, int *has_nul)
{
	int ch;

	*len = 0;
	*too_long = *has_nul = 0;
	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			*has_nul = 1;
		if (*len < max)
			buf[(*len)++] = (char)ch;
		else
			*too_long = 1;
	}
	if (ch == EOF && ferror(f))
		return (-1);
	if (ch == EOF && *len == 0 && !*too_long)
		return (0);
	if (*len > 0 && buf[*len - 1] == '\r')
		(*len)--;
	buf[*len] = '\0';
	return (1);
}

/* Keep e; its id is svc (shared with the entry before when equal). */
static void
entry_add(struct import *im, const struct import_entry *e, const char *svc)
{
	struct import_entry *prev = im->n > 0 ? &im->v[im->n - 1] : NULL;
	struct import_entry *ne;

	if (im->n == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 1024;
		im->v = xreallocarray(im->v, im->cap, sizeof(*im->v));
		prev = im->n > 0 ? &im->v[im->n - 1] : NULL;
	}
	ne = &im->v[im->n++];
	*ne = *e;
	if (prev != NULL && prev->len == e->len &&
	    memcmp(prev->svc, svc, e->len) == 0) {
		ne->svc = prev->svc;
		ne->owns_svc = 0;
	} else {
		ne->svc = xstrndup(svc, e->len);
		ne->owns_svc = 1;
	}
}

/* Service, service-only lines first, key, start, end, line. */
static int
entry_cmp(const void *pa, const void *pb)
{
	const struct import_entry *a = pa, *b = pb;
	int                        c;

	if ((c = strcmp(a->svc, b->svc)) != 0)
		return (c);
	if (a->svc_only != b->svc_only)
		return (a->svc_only ? -1 : 1);
	if ((c = memcmp(a->md5, b->md5, sizeof(a->md5))) != 0)
		return (c);
	if (a->start != b->start)
		return (a->start < b->start ? -1 : 1);
	if (a->end != b->end)
		return (a->end < b->end ? -1 : 1);
	return (a->line < b->line ? -1 : a->line > b->line);
}

static int
err_cmp(const void *pa, const void *pb)
{
	const struct import_err *a = pa, *b = pb;

	return (a->line < b->line ? -1 : a->line > b->line);
}

/* Phase 1: every line parsed and kept or reported. 0, or -1 (I/O). */
static int
import_read(struct import *im, FILE *in)
{
	struct import_entry e;
	char                buf[IMPORT_LINE_MAX + 1], err[256];
	const char         *p;
	size_t              len;
	uint32_t            line = 0;
	int                 too_long, has_nul, r;

	while ((r = read_line(in, buf, IMPORT_LINE_MAX, &len, &too_long,
	            &has_nul)) == 1) {
		line++;
		if (too_long) {
			import_error(im, line, "line longer than %d bytes",
			    IMPORT_LINE_MAX);
			continue;
		}
		if (has_nul) {
			import_error(im, line, "NUL byte in the line");
			continue;
		}
		for (p = buf; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (im->n == IMPORT_MAX_ENTRIES) {
			import_error(im, line,
			    "more than %d tuples in one "
			    "file; split it",
			    IMPORT_MAX_ENTRIES);
			return (0);
		}
		if (import_parse_tuple(buf, len, &e, &p, err, sizeof(err)) ==
		    -1) {
			import_error(im, line, "%s", err);
			continue;
		}
		e.line = line;
		entry_add(im, &e, p);
	}
	if (r == -1) {
		if (ctl_check_interrupt() == 0)
			fprintf(stderr, "notaryctl: read %s: %s\n", im->name,
			    strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Phase 2, within the file: spans of one key must not overlap (the same
 * span twice is only counted), a service may not exceed OBS_MAX_SPANS;
 * note each service's first sighting for services.db.
 */
static void
import_check_file(struct import *im)
{
	struct import_entry *e, *g, *last;
	size_t               i, j, spans;
	int64_t              first;

	if (im->n == 0)
		return;
	qsort(im->v, im->n, sizeof(*im->v), entry_cmp);
	for (i = 0; i < im->n; i = j) {
		g = &im->v[i];
		first = -1;
		spans = 0;
		last = NULL;
		for (j = i; j < im->n && strcmp(im->v[j].svc, g->svc) == 0;
		     j++) {
			e = &im->v[j];
			if (e->svc_only)
				continue;
			if (first == -1 || e->start < first)
				first = e->start;
			if (last != NULL &&
			    memcmp(last->md5, e->md5, sizeof(e->md5)) == 0 &&
			    e->start <= last->end) {
				if (e->start == last->start &&
				    e->end == last->end) {
					e->state = ENTRY_PRESENT;
					im->present++;
					continue;
				}
				import_error(im, e->line,
				    "overlaps the span "
				    "on line %u (same service and key)",
				    last->line);
				if (e->end <= last->end)
					continue;
			}
			last = e;
			if (++spans == OBS_MAX_SPANS + 1)
				import_error(im, e->line,
				    "%s has more than %d "
				    "spans",
				    e->svc, OBS_MAX_SPANS);
		}
		if (first == -1)
			first = wall_s();
		for (; i < j; i++)
			im->v[i].first_seen = first;
		im->services++;
	}
}

/*
 * Phase 3, against what is stored: the same span again is skipped; an
 * overlap, or too many spans in all, is an error of the line.  0, or -1
 * when the database cannot be read.
 */
static int
import_check_stored(struct import *im, struct obs_db *o)
{
	struct obs_span     *st;
	struct import_entry *e;
	size_t               i, j, k, n, added;
	int                  r = 0;

	st = xreallocarray(NULL, OBS_MAX_SPANS + 1, sizeof(*st));
	for (i = 0; i < im->n && r == 0; i = j) {
		if ((r = ctl_check_interrupt()) == -1)
			break;
		if (obs_read(o, im->v[i].svc, im->v[i].len, st,
		        OBS_MAX_SPANS + 1, &n) == -1) {
			r = -1;
			break;
		}
		added = 0;
		for (j = i;
		     j < im->n && strcmp(im->v[j].svc, im->v[i].svc) == 0;
		     j++) {
			e = &im->v[j];
			if (e->svc_only || e->state == ENTRY_PRESENT)
				continue;
			for (k = 0; k < n; k++) {
				if (memcmp(st[k].md5, e->md5, sizeof(e->md5)) !=
				        0 ||
				    st[k].start > e->end ||
				    e->start > st[k].end)
					continue;
				if (st[k].start == e->start &&
				    st[k].end == e->end) {
					e->state = ENTRY_PRESENT;
					im->present++;
				} else
					import_error(im, e->line,
					    "overlaps "
					    "the stored span %lld..%lld of "
					    "the same key",
					    (long long)st[k].start,
					    (long long)st[k].end);
				break;
			}
			if (k == n && ++added + n == OBS_MAX_SPANS + 1)
				import_error(im, e->line,
				    "%s would have more "
				    "than %d spans with the stored ones",
				    e->svc, OBS_MAX_SPANS);
		}
	}
	free(st);
	return (r);
}

static int
batch_txn(DB_ENV *env, DB_TXN *txn, void *arg)
{
	struct batch        *b = arg;
	struct import_entry *e;
	struct obs_span      sp;
	size_t               i;
	int                  r;

	(void)env;
	b->inserted = b->present = 0;
	for (i = b->from; i < b->to; i++) {
		e = &b->im->v[i];
		b->failed = i;
		if (i == b->from || strcmp(e->svc, b->im->v[i - 1].svc) != 0) {
			if ((r = obs_register_service(b->o, txn, e->svc, e->len,
			         e->first_seen)) != 0)
				return (r);
		}
		if (e->svc_only || e->state == ENTRY_PRESENT)
			continue;
		memset(&sp, 0, sizeof(sp));
		memcpy(sp.md5, e->md5, sizeof(sp.md5));
		sp.start = e->start;
		sp.end = sp.seen = e->end;
		r = obs_insert_span(b->o, txn, e->svc, e->len, &sp);
		if (r == DB_KEYEXIST) {
			b->present++;
			continue;
		}
		if (r != 0)
			return (r);
		b->inserted++;
	}
	return (0);
}

/*
 * Phase 4: IMPORT_BATCH entries per transaction.  Only a write that
 * raced with a scanner (or a database error) can fail now; the batches
 * before it stay, and the message says how far it got.
 */
static int
import_write(struct import *im, struct ctl *c, size_t *inserted)
{
	struct batch b;
	int          r;

	memset(&b, 0, sizeof(b));
	b.o = &c->obs;
	b.im = im;
	*inserted = 0;
	for (b.from = 0; b.from < im->n; b.from = b.to) {
		if (ctl_check_interrupt() == -1)
			goto partial;
		b.to = b.from + IMPORT_BATCH < im->n ? b.from + IMPORT_BATCH
		                                     : im->n;
		if ((r = db_txn_run(c->env, batch_txn, &b, NULL)) != 0) {
			if (r == EEXIST)
				fprintf(stderr,
				    "notaryctl: %s:%u: overlaps a "
				    "span stored meanwhile\n",
				    im->name, im->v[b.failed].line);
			else
				fprintf(stderr, "notaryctl: %s:%u: %s\n",
				    im->name, im->v[b.failed].line,
				    db_strerror(r));
			goto partial;
		}
		*inserted += b.inserted;
		im->present += b.present;
	}
	return (0);
partial:
	fprintf(stderr,
	    "notaryctl: import stopped; %zu spans were imported "
	    "before it\n",
	    *inserted);
	return (-1);
}

static void
import_free(struct import *im)
{
	size_t i;

	for (i = 0; i < im->n; i++)
		if (im->v[i].owns_svc)
			free(im->v[i].svc);
	for (i = 0; i < im->nerr; i++)
		free(im->err[i].msg);
	free(im->v);
	free(im->err);
}

/*
 * Read and check the whole file first; report every bad line and import
 * nothing when there is one; otherwise write it in batches.
 */
int
cmd_import(struct ctl *c, int argc, char **argv)
{
	struct import im;
	const char   *path = argc > 1 ? argv[1] : "-";
	size_t        i, inserted;
	FILE         *in;
	int           r = EXIT_RUNTIME;

	if (argc > 2) {
		fprintf(stderr,
		    "notaryctl: import: expected at most one "
		    "FILE\n");
		return (EXIT_USAGE);
	}
	memset(&im, 0, sizeof(im));
	im.name = strcmp(path, "-") == 0 ? "stdin" : path;
	if (strcmp(path, "-") == 0)
		in = stdin;
	else if ((in = fopen(path, "r")) == NULL) {
		fprintf(stderr, "notaryctl: %s: %s\n", path, strerror(errno));
		return (EXIT_RUNTIME);
	}
	if (import_read(&im, in) == -1)
		goto done;
	import_check_file(&im);
	if (im.nerr == 0) {
		if (ctl_open(c) == -1)
			goto done;
		if (import_check_stored(&im, &c->obs) == -1)
			goto done;
	}
	if (im.nerr > 0) {
		qsort(im.err, im.nerr, sizeof(*im.err), err_cmp);
		for (i = 0; i < im.nerr; i++)
			fprintf(stderr, "notaryctl: %s:%u: %s\n", im.name,
			    im.err[i].line, im.err[i].msg);
		fprintf(stderr,
		    "notaryctl: %s: %zu invalid line%s, nothing "
		    "imported\n",
		    im.name, im.nerr, im.nerr == 1 ? "" : "s");
		goto done;
	}
	if (import_write(&im, c, &inserted) == -1)
		goto done;
	schedule_rescans(c, &im);
	printf("imported %zu spans for %zu services", inserted, im.services);
	if (im.present > 0)
		printf(" (%zu already present)", im.present);
	printf("\n");
	r = ctl_out_error(stdout, "stdout") == 0 ? EXIT_OK : EXIT_RUNTIME;
done:
	if (in != stdin)
		fclose(in);
	ctl_close(c);
	import_free(&im);
	return (r);
}

static uint64_t
fnv1a(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t   i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (h);
}

/*
 * Put every imported service seen within scanner.rescan_newer_than into
 * the scanners' queue, spread evenly over one rescan_interval (by a hash
 * of its id) instead of all at once.  A failure here loses no data: the
 * spans are in; the service is then scanned when a client asks for it.
 */
static void
schedule_rescans(struct ctl *c, struct import *im)
{
	const struct conf *cf = c->cf;
	struct sched_db    sd;
	int64_t            now = wall_s(), newest = -1;
	size_t             i, queued = 0;

	if (cf->scanner.rescan_interval_ms <= 0 || im->n == 0 ||
	    sched_open(&sd, c->env) == -1)
		return;
	for (i = 0; i < im->n; i++) {
		const struct import_entry *e = &im->v[i];

		if (!e->svc_only && e->end > newest)
			newest = e->end;
		if (i + 1 < im->n && im->v[i + 1].len == e->len &&
		    memcmp(im->v[i + 1].svc, e->svc, e->len) == 0)
			continue; /* not the last entry of this service */
		if (newest >= 0 &&
		    (now - newest) * 1000 <= cf->scanner.rescan_newer_than_ms &&
		    sched_offer(&sd, e->svc, e->len,
		        now * 1000 +
		            (int64_t)(fnv1a(e->svc, e->len) %
		                (uint64_t)cf->scanner.rescan_interval_ms)) == 0)
			queued++;
		newest = -1;
	}
	sched_close(&sd);
	if (queued > 0)
		printf("queued %zu services for rescans\n", queued);
}
