/*
 * conf_msg.c - how the configuration loader talks: error lines that name
 * file:line:column and the key path, descriptions of what was expected
 * and what was found, "did you mean" suggestions, and the helpers the
 * command lines of notaryd and notaryctl share (-o, printing errors).
 * Runs in the master and notaryctl; writes only to the caller's buffer
 * and to stderr for the command-line helpers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "common/conf.h"
#include "common/conf_impl.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"


static void
emit(struct loader *, const struct conf_where *, const char *, const char *);
static void        err_add(struct loader *, const char *);
static const char *suggest_key(const char *);
static size_t      edit_distance(const char *, const char *);

/*
 * The candidate closest to name, if it is close enough to be a typo: at
 * most CONF_SUGGEST_MAX edits, and fewer than half of the candidate's last
 * component ("foo" is not a typo of "log").
 */
const char *
conf_suggest(const char *name, const char *const *cand, size_t n)
{
	const char *best = NULL, *last;
	size_t      i, d, bestd = CONF_SUGGEST_MAX + 1;

	for (i = 0; i < n; i++) {
		d = edit_distance(name, cand[i]);
		last =
		    strrchr(cand[i], '.') ? strrchr(cand[i], '.') + 1 : cand[i];
		if (d > 0 && d < bestd && 2 * d < strlen(last)) {
			bestd = d;
			best = cand[i];
		}
	}
	return (best);
}

/* A known key at the same depth as path that path is a typo of. */
static const char *
suggest_key(const char *path)
{
	const char *cand[CONF_NKEYS_MAX];
	size_t      i, n = 0;

	for (i = 0; i < conf_nkeys; i++)
		if (conf_key_depth(conf_keys[i].path) == conf_key_depth(path))
			cand[n++] = conf_keys[i].path;
	return (conf_suggest(path, cand, n));
}

/*
 * Edit distance counting a swap of two neighbours as one edit ("deamon"),
 * the commonest typo.  Long strings are never typos of our short keys.
 * Only distances up to CONF_SUGGEST_MAX matter: a larger one is reported
 * as CONF_SUGGEST_MAX + 1 as soon as it is certain (lengths that differ
 * by more, or two rows without a cell within it: every path to the last
 * cell crosses one of two neighbouring rows, and costs never decrease
 * along it), so a config full of unknown keys is not quadratic per key.
 */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t  row[3][CONF_PATH_MAX + 1];
	size_t  la = strlen(a), lb = strlen(b), i, j, d, rowmin, prevmin;
	size_t *prev2, *prev, *cur;

	if (la > CONF_PATH_MAX || lb > CONF_PATH_MAX)
		return (SIZE_MAX);
	if ((la > lb ? la - lb : lb - la) > CONF_SUGGEST_MAX)
		return (CONF_SUGGEST_MAX + 1);
	prevmin = 0;
	for (j = 0; j <= lb; j++)
		row[0][j] = j;
	for (i = 1; i <= la; i++) {
		cur = row[i % 3];
		prev = row[(i + 2) % 3];  /* i - 1 */
		prev2 = row[(i + 1) % 3]; /* i - 2 */
		cur[0] = rowmin = i;
		for (j = 1; j <= lb; j++) {
			d = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
			if (d < rowmin)
				rowmin = d;
		}
		if (rowmin > CONF_SUGGEST_MAX && prevmin > CONF_SUGGEST_MAX)
			return (CONF_SUGGEST_MAX + 1);
		prevmin = rowmin;
	}
	return (row[la % 3][lb]);
}

void
conf_unknown_key(struct loader *ld, const yaml_node_t *node, const char *path,
    const char *name)
{
	const char *sug = NULL;

	if (strpbrk(name, "[") == NULL)
		sug = suggest_key(path);
	conf_node_error(ld, node, path, "unknown key%s%s%s",
	    sug ? "; did you mean " : "", sug ? sug : "", sug ? "?" : "");
}

/*
 * Format "WHERE: path: msg" and add it.  During the defaults any error is
 * a bug in conf_keys[], not in the operator's file.
 */
static void
emit(struct loader *ld, const struct conf_where *w, const char *path,
    const char *msg)
{
	char line[CONF_PATH_MAX + 2 * CONF_MSG_MAX];
	char pfx[CONF_MSG_MAX];

	if (ld->source == FROM_DEFAULT)
		panicx("conf: built-in default of %s: %s", path, msg);
	switch (w->source) {
	case FROM_OVERRIDE:
		snprintf(pfx, sizeof(pfx), "-o ");
		break;
	case FROM_FILE:
		if (w->line > 0)
			snprintf(pfx, sizeof(pfx), "%s:%zu:%zu: ", ld->file,
			    w->line, w->column);
		else
			snprintf(pfx, sizeof(pfx), "%s: ", ld->file);
		break;
	default:
		/* A clash that involves a default: no position to give. */
		snprintf(pfx, sizeof(pfx), "%s%s", ld->file ? ld->file : "",
		    ld->file ? ": " : "");
		break;
	}
	snprintf(line, sizeof(line), "%s%s%s%s", pfx, path ? path : "",
	    path ? ": " : "", msg);
	err_add(ld, line);
}

/* An error about node (NULL for an override as a whole). */
void
conf_node_error(struct loader *ld, const yaml_node_t *node, const char *path,
    const char *fmt, ...)
{
	struct conf_where w;
	va_list           ap;
	char              msg[CONF_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w.source = ld->source;
	w.line = node != NULL ? node->start_mark.line + 1 : 0;
	w.column = node != NULL ? node->start_mark.column + 1 : 0;
	emit(ld, &w, path, msg);
}

/* An error about a key's final value, at the place it was set. */
void
conf_key_error(struct loader *ld, const char *path, const char *fmt, ...)
{
	const struct conf_key *k;
	va_list                ap;
	char                   msg[CONF_MSG_MAX];

	if ((k = conf_key_lookup(path)) == NULL)
		panicx("conf: key_error: unknown key %s", path);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(ld, &ld->origin[k - conf_keys], path, msg);
}

void
conf_plain_error(struct loader *ld, const char *fmt, ...)
{
	va_list ap;
	char    msg[CONF_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_add(ld, msg);
}

static void
err_add(struct loader *ld, const char *line)
{
	size_t used;

	if (++ld->nerr > CONF_MAX_ERRORS || ld->err == NULL || ld->errlen == 0)
		return;
	used = strlen(ld->err);
	snprintf(ld->err + used, ld->errlen - used, "%s%s",
	    used > 0 ? "\n" : "", line);
}

void
conf_err_finish(struct loader *ld)
{
	size_t used;

	if (ld->nerr <= CONF_MAX_ERRORS || ld->err == NULL || ld->errlen == 0)
		return;
	used = strlen(ld->err);
	snprintf(ld->err + used, ld->errlen - used,
	    "\n(%d more errors not "
	    "shown)",
	    ld->nerr - CONF_MAX_ERRORS);
}

void
conf_syntax_error(struct loader *ld, const yaml_parser_t *p)
{
	char why[CONF_MSG_MAX];

	conf_yaml_problem(p, why, sizeof(why));
	if (p->error == YAML_READER_ERROR)
		conf_plain_error(ld, "%s: %s", ld->file, why);
	else
		conf_plain_error(ld, "%s:%zu:%zu: %s", ld->file,
		    p->problem_mark.line + 1, p->problem_mark.column + 1, why);
}

/* libyaml's explanation of a failed parse, in one line. */
void
conf_yaml_problem(const yaml_parser_t *p, char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		panicx("conf: libyaml ran out of memory");
	case YAML_READER_ERROR:
		snprintf(buf, len, "cannot read YAML at byte %zu: %s",
		    p->problem_offset, problem);
		break;
	default:
		if (p->context != NULL)
			snprintf(buf, len,
			    "YAML syntax error: %s (%s at "
			    "line %zu column %zu)",
			    problem, p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
		else
			snprintf(buf, len, "YAML syntax error: %s", problem);
		break;
	}
}

void
conf_describe(char *buf, size_t len, const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    n->data.scalar.length == 0)
			snprintf(buf, len, "nothing");
		else
			util_quote(buf, len, conf_scalar_of(n));
		break;
	case YAML_SEQUENCE_NODE:
		snprintf(buf, len, "a list");
		break;
	case YAML_MAPPING_NODE:
		snprintf(buf, len, "a mapping");
		break;
	default:
		snprintf(buf, len, "nothing");
		break;
	}
}

/* What a key wants, for "expected ..., got ...". */
const char *
conf_expectation(const struct conf_key *k)
{
	static const char *const what[] = {
		[CT_SECTION] = "a mapping of keys",
		[CT_STRING] = "a string",
		[CT_PATH] = "a file path",
		[CT_URLPATH] = "an HTTP path like /metrics",
		[CT_LOGTARGET] = "stderr, syslog or a file path",
		[CT_LOGLIST] = "\"\", an http:// or https:// URL, a file path, "
		               "or a list of them",
		[CT_BOOL] = "true or false",
		[CT_INT] = "an integer",
		[CT_DURATION] = "a duration like 10s",
		[CT_SIZE] = "a size like 64K, 16M or 1G",
		[CT_LOGLEVEL] = "one of debug, info, notice, warning, error",
		[CT_LISTEN] = "a list of addresses like [\"127.0.0.1:8080\"]",
		[CT_CIDRS] =
		    "a list of networks like [10.0.0.0/8, \"::1/128\"]",
		[CT_CTLOGS] =
		    "a list of logs like [{url: https://ct.example/log/}]",
		[CT_CTSTATES] = "a list of log states like [usable, qualified, "
		                "readonly]",
		[CT_NATSURLS] =
		    "a list of servers like [\"nats://127.0.0.1:4222\"]",
		[CT_SHAPES] = "a list of shapes from full, lite, domains",
		[CT_NATSNAME] = "a name of letters, digits, - and _",
		[CT_SNI] = "fallback, true (on) or false (off)",
	};

	if (k->type == CT_NATSNAME && (k->flags & KF_DOTS))
		return ("a subject like certstream (letters, digits, - and _, "
		        "tokens separated by dots)");
	if (k->type == CT_PATH && (k->flags & KF_EMPTY_OK))
		return ("a file path or \"\"");
	if ((unsigned)k->type >= NELEM(what) || what[k->type] == NULL)
		return ("a string");
	return (what[k->type]);
}

/* "must be between MIN and MAX, got V" in the key's own units. */
void
conf_fmt_range(char *buf, size_t len, const struct conf_key *k, int64_t v)
{
	char lo[32], hi[32], got[32];

	switch (k->type) {
	case CT_DURATION:
		conf_fmt_duration(lo, sizeof(lo), k->min);
		conf_fmt_duration(hi, sizeof(hi), k->max);
		conf_fmt_duration(got, sizeof(got), v);
		break;
	case CT_SIZE:
		conf_fmt_size(lo, sizeof(lo), (uint64_t)k->min);
		conf_fmt_size(hi, sizeof(hi), (uint64_t)k->max);
		conf_fmt_size(got, sizeof(got), (uint64_t)v);
		break;
	default:
		snprintf(lo, sizeof(lo), "%" PRId64, k->min);
		snprintf(hi, sizeof(hi), "%" PRId64, k->max);
		snprintf(got, sizeof(got), "%" PRId64, v);
		break;
	}
	snprintf(buf, len, "must be %sbetween %s and %s, got %s",
	    k->flags & KF_ZERO_OFF ? "0 (off) or " : "", lo, hi, got);
}

/* The largest unit that divides ms exactly: 90000 -> "90s", 0 -> "0". */
void
conf_fmt_duration(char *buf, size_t len, int64_t ms)
{
	static const struct {
		int64_t     ms;
		const char *unit;
	} units[] = {
		{ MS_DAY, "d" },
		{ MS_HOUR, "h" },
		{ MS_MIN, "m" },
		{ MS_SEC, "s" },
	};
	size_t i;

	if (ms == 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (i = 0; i < NELEM(units); i++)
		if (ms % units[i].ms == 0) {
			snprintf(buf, len, "%" PRId64 "%s", ms / units[i].ms,
			    units[i].unit);
			return;
		}
	snprintf(buf, len, "%" PRId64 "ms", ms);
}

void
conf_fmt_size(char *buf, size_t len, uint64_t b)
{
	static const char units[] = "KMGT";
	size_t            i;
	uint64_t          f;

	for (i = sizeof(units) - 1; i > 0; i--) {
		f = (uint64_t)1 << (10 * i);
		if (b != 0 && b % f == 0) {
			snprintf(
			    buf, len, "%" PRIu64 "%c", b / f, units[i - 1]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, b);
}

void
conf_note_diff(char *what, size_t len, int *n, const char *name)
{
	size_t used;

	if (what != NULL && len > 0) {
		used = strlen(what);
		snprintf(
		    what + used, len - used, "%s%s", *n > 0 ? ", " : "", name);
	}
	(*n)++;
}

int
conf_add_override(const char *prog, struct conf_override *ov, size_t *nov,
    size_t max, char *arg)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg) {
		fprintf(stderr, "%s: -o %s: expected KEY=VALUE\n", prog, arg);
		return (-1);
	}
	if (*nov == max) {
		fprintf(stderr, "%s: too many -o options (at most %zu)\n", prog,
		    max);
		return (-1);
	}
	*eq = '\0';
	ov[*nov].key = arg;
	ov[*nov].value = eq + 1;
	(*nov)++;
	return (0);
}

void
conf_print_errors(const char *prog, const char *errs)
{
	const char *p = errs, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		fprintf(stderr, "%s: %.*s\n", prog,
		    nl ? (int)(nl - p) : (int)strlen(p), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}
