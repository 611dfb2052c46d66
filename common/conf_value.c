/*
 * conf_value.c - the setters of the configuration loader: every value,
 * default or from the file or "-o", is parsed and range-checked here.
 * Runs in the master and notaryctl.  Never logs: errors are collected by
 * the loader (conf_msg.c).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
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

/* The sub-keys of one ctwatch.logs entry. */
static const char *const ctlog_keys[] = {
	"url",
	"name",
	"operator",
	"type",
	"key",
};


static void set_scalar(
    struct loader *, const struct conf_key *, yaml_node_t *, const char *);
static int  check_string(const struct conf_key *, const char *);
static int  set_number(struct loader *, const struct conf_key *, yaml_node_t *,
     const char *, const char *);
static void set_listen_list(
    struct loader *, const struct conf_key *, yaml_node_t *, const char *);
static void set_cidr_list(
    struct loader *, const struct conf_key *, yaml_node_t *, const char *);
static void cidr_list_add(
    struct netaddr_cidr_list *, size_t *, const struct netaddr_cidr *);
static void set_ctlogs(struct loader *, yaml_node_t *, const char *);
static int
ctlog_parse(struct loader *, yaml_node_t *, const char *, struct conf_ctlog *);
static int  ctlog_set(struct loader *, struct conf_ctlog *, const char *,
     yaml_node_t *, const char *);
static void ctlog_clear(struct conf_ctlog *);
static void ctlogs_free(struct conf_ctlog *, size_t);
static void set_string(char **, const char *);
static int  parse_int(const char *, int64_t *);
static int  parse_bool(const char *, bool *);

static int
is_list(const struct conf_key *k)
{
	return (k->type == CT_LISTEN || k->type == CT_CIDRS ||
	    k->type == CT_CTLOGS || k->type == CT_LOGLIST ||
	    k->type == CT_CTSTATES || k->type == CT_NATSURLS ||
	    k->type == CT_SHAPES);
}

void
conf_set_value(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	struct conf_where *w = &ld->origin[k - conf_keys];

	w->source = ld->source;
	w->line = node->start_mark.line + 1;
	w->column = node->start_mark.column + 1;

	if (is_list(k) && node->type == YAML_SEQUENCE_NODE &&
	    conf_sequence_length(node) > (size_t)k->max) {
		conf_node_error(ld, node, path, "at most %lld entries, got %zu",
		    (long long)k->max, conf_sequence_length(node));
		return;
	}
	switch (k->type) {
	case CT_SECTION:
		conf_apply_mapping(ld, path, node);
		break;
	case CT_LISTEN:
		set_listen_list(ld, k, node, path);
		break;
	case CT_CIDRS:
		set_cidr_list(ld, k, node, path);
		break;
	case CT_CTLOGS:
		set_ctlogs(ld, node, path);
		break;
	case CT_LOGLIST:
		conf_set_loglist(ld, k, node, path);
		break;
	case CT_CTSTATES:
		conf_set_ctstates(ld, k, node, path);
		break;
	case CT_NATSURLS:
		conf_set_nats_urls(ld, k, node, path);
		break;
	case CT_SHAPES:
		conf_set_shapes(ld, k, node, path);
		break;
	default:
		set_scalar(ld, k, node, path);
		break;
	}
}

static void
set_scalar(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	const char *s;
	char        got[CONF_MSG_MAX];
	int         level, sni;
	bool        b;

	if (conf_scalar_value(ld, k, node, path, &s) == -1)
		return;
	conf_describe(got, sizeof(got), node);
	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
	case CT_URLPATH:
	case CT_LOGTARGET:
	case CT_NATSNAME:
		if (conf_is_null(node))
			s = "";
		if (check_string(k, s) == -1) {
			conf_node_error(ld, node, path, "expected %s, got %s",
			    conf_expectation(k), got);
			return;
		}
		set_string(conf_field(ld->cf, k), s);
		break;
	case CT_BOOL:
		if (parse_bool(s, &b) == -1) {
			conf_node_error(ld, node, path, "expected %s, got %s",
			    conf_expectation(k), got);
			return;
		}
		*(bool *)conf_field(ld->cf, k) = b;
		break;
	case CT_LOGLEVEL:
		if ((level = log_level_parse(s)) == -1) {
			conf_node_error(ld, node, path, "expected %s, got %s",
			    conf_expectation(k), got);
			return;
		}
		*(int *)conf_field(ld->cf, k) = level;
		break;
	case CT_SNI:
		if ((sni = conf_sni_parse(s)) == -1) {
			conf_node_error(ld, node, path, "expected %s, got %s",
			    conf_expectation(k), got);
			return;
		}
		*(int *)conf_field(ld->cf, k) = sni;
		break;
	default:
		set_number(ld, k, node, path, s);
		break;
	}
}

/* 0 when s is acceptable for a string-like key. */
static int
check_string(const struct conf_key *k, const char *s)
{
	const char *c;

	switch (k->type) {
	case CT_PATH:
		return (s[0] == '\0' && !(k->flags & KF_EMPTY_OK) ? -1 : 0);
	case CT_LOGTARGET:
		return (s[0] == '\0' ? -1 : 0);
	case CT_LOGLIST:
		/* Catch "ftp://..." rather than treat it as a file name. */
		if (strstr(s, "://") != NULL && !conf_is_http_url(s))
			return (-1);
		return (0);
	case CT_URLPATH:
		if (s[0] != '/')
			return (-1);
		for (c = s; *c != '\0'; c++)
			if (*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#')
				return (-1);
		return (0);
	case CT_NATSNAME:
		return (conf_nats_name_ok(s, k->flags & KF_DOTS) ? 0 : -1);
	default:
		return (0);
	}
}

/* CT_INT, CT_DURATION and CT_SIZE: parse, check the range, store. */
static int
set_number(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path, const char *s)
{
	char     got[CONF_MSG_MAX], range[CONF_MSG_MAX];
	int64_t  v;
	uint64_t u;
	int      rv;

	switch (k->type) {
	case CT_INT:
		rv = parse_int(s, &v);
		break;
	case CT_DURATION:
		rv = conf_parse_duration(s, &v);
		break;
	case CT_SIZE:
		if ((rv = conf_parse_size(s, &u)) == 0)
			v = u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
		break;
	default:
		panicx("conf: %s: not a number type", k->path);
	}
	conf_describe(got, sizeof(got), node);
	if (rv == -1) {
		conf_node_error(ld, node, path, "expected %s, got %s",
		    conf_expectation(k), got);
		return (-1);
	}
	if ((v < k->min || v > k->max) &&
	    !(v == 0 && (k->flags & KF_ZERO_OFF))) {
		conf_fmt_range(range, sizeof(range), k, v);
		conf_node_error(ld, node, path, "%s", range);
		return (-1);
	}
	if (k->type == CT_INT)
		*(int *)conf_field(ld->cf, k) = (int)v;
	else if (k->type == CT_DURATION)
		*(int64_t *)conf_field(ld->cf, k) = v;
	else
		*(uint64_t *)conf_field(ld->cf, k) = (uint64_t)v;
	return (0);
}

/* A list key's value must be a sequence; if not, say what it is. */
int
conf_is_sequence(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	char got[CONF_MSG_MAX];

	if (node->type == YAML_SEQUENCE_NODE)
		return (1);
	conf_describe(got, sizeof(got), node);
	conf_node_error(
	    ld, node, path, "expected %s, got %s", conf_expectation(k), got);
	return (0);
}

/*
 * The one walk over a list key's items: fn gets each item with its path
 * "key.path[i]" (for messages) and, when want_scalar is set, the item's text
 * (an item that is not a scalar is reported here and not passed on).  Every
 * item is visited even after a bad one, so that one load reports them all.
 * Returns 0 when every item was accepted, -1 otherwise (node not a sequence,
 * or an item refused; each already reported).
 */
int
conf_each_item(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path, int want_scalar, conf_item_fn *fn, void *arg)
{
	yaml_node_item_t *item;
	yaml_node_t      *in;
	const char       *s = NULL;
	char              ipath[CONF_PATH_MAX];
	int               bad = 0;

	if (!conf_is_sequence(ld, k, node, path))
		return (-1);
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		in = conf_get_node(ld, *item);
		(void)xsnprintf(ipath, sizeof(ipath), "%s[%zu]", path,
		    (size_t)(item - node->data.sequence.items.start));
		if (want_scalar &&
		    conf_scalar_value(ld, k, in, ipath, &s) == -1)
			bad = 1;
		else if (fn(ld, in, ipath, s, arg) == -1)
			bad = 1;
	}
	return (bad ? -1 : 0);
}

struct listen_walk {
	struct netaddr_listen *v;
	size_t                 n;
};

static int
listen_item(struct loader *ld, yaml_node_t *in, const char *ipath,
    const char *s, void *arg)
{
	struct listen_walk    *w = arg;
	struct netaddr_listen *l = &w->v[w->n];
	char                   why[CONF_MSG_MAX];
	size_t                 i;

	if (netaddr_listen_parse(s, l, why, sizeof(why)) == -1) {
		conf_node_error(ld, in, ipath, "%s", why);
		return (-1);
	}
	for (i = 0; i < w->n; i++)
		if (strcmp(w->v[i].text, l->text) == 0) {
			conf_node_error(
			    ld, in, ipath, "%s is listed twice", l->text);
			return (-1);
		}
	w->n++;
	return (0);
}

static void
set_listen_list(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	struct netaddr_listen_list *dst = conf_field(ld->cf, k);
	struct listen_walk          w = { NULL, 0 };

	if (node->type == YAML_SEQUENCE_NODE && conf_sequence_length(node) > 0)
		w.v = xcalloc(conf_sequence_length(node), sizeof(*w.v));
	if (conf_each_item(ld, k, node, path, 1, listen_item, &w) == -1) {
		free(w.v);
		return;
	}
	free(dst->v);
	dst->v = w.v;
	dst->n = w.n;
}

struct cidr_walk {
	const struct conf_key   *k;
	struct netaddr_cidr_list l;
	size_t                   cap;
};

static int
cidr_item(struct loader *ld, yaml_node_t *in, const char *ipath, const char *s,
    void *arg)
{
	struct cidr_walk        *w = arg;
	struct netaddr_cidr_list deny;
	struct netaddr_cidr      c;
	char                     why[CONF_MSG_MAX];
	size_t                   i;

	if (strcmp(s, "default") == 0) {
		if (!(w->k->flags & KF_DEFAULT_DENY)) {
			conf_node_error(ld, in, ipath,
			    "\"default\" is only understood in scanner.deny");
			return (-1);
		}
		netaddr_default_deny(&deny);
		for (i = 0; i < deny.n; i++)
			cidr_list_add(&w->l, &w->cap, &deny.v[i]);
		free(deny.v);
		return (0);
	}
	if (netaddr_cidr_parse(s, &c, why, sizeof(why)) == -1) {
		conf_node_error(ld, in, ipath, "%s", why);
		return (-1);
	}
	cidr_list_add(&w->l, &w->cap, &c);
	return (0);
}

static void
set_cidr_list(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	struct netaddr_cidr_list *dst = conf_field(ld->cf, k);
	struct cidr_walk          w = { k, { 0, NULL }, 0 };

	if (conf_each_item(ld, k, node, path, 1, cidr_item, &w) == -1) {
		free(w.l.v);
		return;
	}
	free(dst->v);
	*dst = w.l;
}

static void
cidr_list_add(
    struct netaddr_cidr_list *l, size_t *cap, const struct netaddr_cidr *c)
{
	if (l->n == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		l->v = xreallocarray(l->v, *cap, sizeof(*l->v));
	}
	l->v[l->n++] = *c;
}

struct ctlog_walk {
	struct conf_ctlog *v;
	size_t             n;
};

static int
ctlog_item(struct loader *ld, yaml_node_t *in, const char *ipath, const char *s,
    void *arg)
{
	struct ctlog_walk *w = arg;
	struct conf_ctlog *l = &w->v[w->n];
	size_t             i;

	(void)s;
	if (ctlog_parse(ld, in, ipath, l) == -1)
		return (-1);
	for (i = 0; i < w->n; i++)
		if (strcmp(w->v[i].url, l->url) == 0) {
			conf_node_error(
			    ld, in, ipath, "log %s is listed twice", l->url);
			ctlog_clear(l);
			return (-1);
		}
	w->n++;
	return (0);
}

static void
set_ctlogs(struct loader *ld, yaml_node_t *node, const char *path)
{
	const struct conf_key *k = conf_key_lookup("ctwatch.logs");
	struct ctlog_walk      w = { NULL, 0 };

	if (node->type == YAML_SEQUENCE_NODE && conf_sequence_length(node) > 0)
		w.v = xcalloc(conf_sequence_length(node), sizeof(*w.v));
	if (conf_each_item(ld, k, node, path, 0, ctlog_item, &w) == -1) {
		ctlogs_free(w.v, w.n);
		return;
	}
	ctlogs_free(ld->cf->ctwatch.logs.v, ld->cf->ctwatch.logs.n);
	ld->cf->ctwatch.logs.v = w.v;
	ld->cf->ctwatch.logs.n = w.n;
}

/* One {url, name, operator, type} entry; -1 (and cleared) on error. */
static int
ctlog_parse(struct loader *ld, yaml_node_t *node, const char *path,
    struct conf_ctlog *out)
{
	yaml_node_pair_t *pair;
	yaml_node_t      *key;
	const char       *url, *sug;
	char              kpath[CONF_PATH_MAX], got[CONF_MSG_MAX];
	int               bad = 0, rv;

	memset(out, 0, sizeof(*out));
	if (node->type != YAML_MAPPING_NODE) {
		conf_describe(got, sizeof(got), node);
		conf_node_error(ld, node, path,
		    "expected a mapping like "
		    "{url: https://ct.example/2025h1/, name: ...}, got %s",
		    got);
		return (-1);
	}
	for (pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		if (conf_is_duplicate(ld, path, node, pair)) {
			bad = 1;
			continue;
		}
		key = conf_get_node(ld, pair->key);
		if (key->type != YAML_SCALAR_NODE) {
			conf_describe(got, sizeof(got), key);
			conf_node_error(
			    ld, key, path, "expected a key name, got %s", got);
			bad = 1;
			continue;
		}
		(void)xsnprintf(
		    kpath, sizeof(kpath), "%s.%s", path, conf_scalar_of(key));
		rv = ctlog_set(ld, out, conf_scalar_of(key),
		    conf_get_node(ld, pair->value), kpath);
		if (rv == 0)
			continue;
		if (rv == 1) {
			sug = conf_suggest(
			    conf_scalar_of(key), ctlog_keys, NELEM(ctlog_keys));
			conf_node_error(ld, key, kpath,
			    "unknown key%s%s%s (a log "
			    "has url, name, operator, type and key)",
			    sug ? "; did you mean " : "", sug ? sug : "",
			    sug ? "?" : "");
		}
		bad = 1;
	}
	if (!bad && out->url == NULL) {
		conf_node_error(ld, node, path, "url is missing");
		bad = 1;
	}
	if (bad) {
		ctlog_clear(out);
		return (-1);
	}
	/* Without a name, show the URL without its scheme. */
	if (out->name == NULL) {
		url = strstr(out->url, "://") + 3;
		out->name = xstrndup(
		    url, strlen(url) - (url[strlen(url) - 1] == '/' ? 1 : 0));
	}
	if (out->operator== NULL)
		out->operator= xstrdup("");
	if (out->key == NULL)
		out->key = xstrdup("");
	return (0);
}

/*
 * Set one sub-key of a ct log entry.  Returns 0 when set, -1 after an
 * error about the value, 1 when name is not a sub-key.
 */
static int
ctlog_set(struct loader *ld, struct conf_ctlog *out, const char *name,
    yaml_node_t *value, const char *path)
{
	char      **dst;
	const char *s;
	char        got[CONF_MSG_MAX];

	if (strcmp(name, "url") == 0)
		dst = &out->url;
	else if (strcmp(name, "name") == 0)
		dst = &out->name;
	else if (strcmp(name, "operator") == 0)
		dst = &out->operator;
	else if (strcmp(name, "type") == 0)
		dst = NULL;
	else if (strcmp(name, "key") == 0)
		dst = &out->key;
	else
		return (1);

	conf_describe(got, sizeof(got), value);
	if (value->type != YAML_SCALAR_NODE ||
	    strlen(conf_scalar_of(value)) != value->data.scalar.length) {
		conf_node_error(
		    ld, value, path, "expected a string, got %s", got);
		return (-1);
	}
	s = conf_scalar_of(value);
	if (dst == NULL) {
		if (strcmp(s, "rfc6962") == 0)
			out->type = CONF_CT_RFC6962;
		else if (strcmp(s, "static") == 0)
			out->type = CONF_CT_STATIC;
		else {
			conf_node_error(ld, value, path,
			    "expected rfc6962 or "
			    "static, got %s",
			    got);
			return (-1);
		}
		return (0);
	}
	if (dst == &out->key && !conf_is_base64(s)) {
		conf_node_error(ld, value, path,
		    "expected the log's public key "
		    "in base64 (DER SubjectPublicKeyInfo), got %s",
		    got);
		return (-1);
	}
	if (dst == &out->url &&
	    (!conf_is_http_url(s) || strpbrk(s, " \t\r\n") != NULL)) {
		conf_node_error(ld, value, path,
		    "expected an http:// or https:// "
		    "URL like https://ct.example/2025h1/, got %s",
		    got);
		return (-1);
	}
	set_string(dst, s);
	return (0);
}

static void
ctlog_clear(struct conf_ctlog *l)
{
	free(l->url);
	free(l->name);
	free(l->operator);
	free(l->key);
	memset(l, 0, sizeof(*l));
}

static void
ctlogs_free(struct conf_ctlog *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ctlog_clear(&v[i]);
	free(v);
}

static void
set_string(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

void
conf_free_field(struct conf *cf, const struct conf_key *k)
{
	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
	case CT_URLPATH:
	case CT_LOGTARGET:
		free(*(char **)conf_field(cf, k));
		break;
	case CT_LOGLIST:
		conf_strlist_free(conf_field(cf, k));
		break;
	case CT_NATSNAME:
		free(*(char **)conf_field(cf, k));
		break;
	case CT_NATSURLS:
		conf_strlist_free(conf_field(cf, k));
		break;
	case CT_LISTEN:
		free(((struct netaddr_listen_list *)conf_field(cf, k))->v);
		break;
	case CT_CIDRS:
		free(((struct netaddr_cidr_list *)conf_field(cf, k))->v);
		break;
	case CT_CTLOGS:
		ctlogs_free(cf->ctwatch.logs.v, cf->ctwatch.logs.n);
		break;
	default:
		break;
	}
}

static int
parse_int(const char *s, int64_t *v)
{
	const char *end;
	uint64_t    u;
	int         neg = (*s == '-');

	if (util_parse_u64(s + neg, &u, &end) == -1 || *end != '\0')
		return (-1);
	if (u > (uint64_t)INT64_MAX)
		return (-1);
	*v = neg ? -(int64_t)u : (int64_t)u;
	return (0);
}

static int
parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t                   i;

	for (i = 0; i < NELEM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return (0);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return (0);
		}
	}
	return (-1);
}

int
conf_sni_parse(const char *s)
{
	bool b;

	if (strcasecmp(s, "fallback") == 0)
		return (CONF_SNI_FALLBACK);
	if (parse_bool(s, &b) == -1)
		return (-1);
	return (b ? CONF_SNI_ON : CONF_SNI_OFF);
}

const char *
conf_sni_name(int mode)
{
	switch (mode) {
	case CONF_SNI_OFF:
		return ("off");
	case CONF_SNI_ON:
		return ("on");
	case CONF_SNI_FALLBACK:
		return ("fallback");
	default:
		return ("?");
	}
}

int
conf_is_http_url(const char *s)
{
	if (strncmp(s, "http://", 7) == 0)
		s += 7;
	else if (strncmp(s, "https://", 8) == 0)
		s += 8;
	else
		return (0);
	return (*s != '\0' && *s != '/');
}

/*
 * "250ms", "10s", "5m", "12h", "5d".  A bare number is refused because
 * "30" could mean seconds or milliseconds; only "0" is unambiguous.
 */
int
conf_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t     ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", MS_SEC },
		{ "m", MS_MIN },
		{ "h", MS_HOUR },
		{ "d", MS_DAY },
	};
	const char *end;
	uint64_t    n;
	size_t      i;

	if (s == NULL || util_parse_u64(s, &n, &end) == -1)
		return (-1);
	if (*end == '\0') {
		if (n != 0)
			return (-1);
		*ms = 0;
		return (0);
	}
	for (i = 0; i < NELEM(units); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (n > (uint64_t)(INT64_MAX / units[i].ms))
			return (-1);
		*ms = (int64_t)n * units[i].ms;
		return (0);
	}
	return (-1);
}

/* "64K", "16M", "1G", "2T", with an optional "B"; a plain number is bytes. */
int
conf_parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	const char       *end, *p;
	uint64_t          n;
	unsigned          shift = 0;

	if (s == NULL || util_parse_u64(s, &n, &end) == -1)
		return (-1);
	if (end[0] != '\0' && (p = strchr(units, end[0] & ~0x20)) != NULL) {
		shift = 10 * (unsigned)(p - units + 1);
		end++;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0')
		return (-1);
	if (shift > 0 && n > (UINT64_MAX >> shift))
		return (-1);
	*bytes = n << shift;
	return (0);
}
