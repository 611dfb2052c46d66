/*
 * conf.c - load and check the notaryd configuration (see conf.h).
 *
 * Who runs it: the master, at start and on every SIGHUP; notaryctl, to
 * find data_dir and the scanner settings.  The children never parse
 * anything: they inherit the master's struct conf through fork.
 *
 * How it works: one table, conf_keys[], describes every key (dotted path,
 * type, where it lives in struct conf, its range and its default written
 * in YAML flow syntax).  Defaults, the file and the "-o KEY=VALUE"
 * overrides all go through the same setters, so a default is checked
 * exactly like a value from the file.  Order: defaults, file, overrides,
 * checks between keys, then relative paths are made absolute.
 *
 * How it fails: conf_load() never logs and never exits.  It collects up to
 * CONF_MAX_ERRORS one-line messages, "FILE:LINE:COL: key.path: message" or
 * "-o key.path: message", in the caller's buffer and returns NULL, so a bad
 * reload leaves the running config alone.  Running out of memory aborts
 * (xmalloc), and an invalid built-in default is a program bug (panicx).
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


#define SECTION(name)	{ name, CT_SECTION, 0, 0, 0, 0, NULL }
#define O(member)	offsetof(struct conf, member)

/*
 * Every key, in the order of conf/notaryd.yaml.  The ranges are what a
 * production operator can reasonably want; the lower time limits are low
 * enough for test rigs (100ms).  conf/notaryd.yaml documents the same
 * numbers: change both together.
 */
const struct conf_key conf_keys[] = {
	SECTION("daemon"),
	{ "daemon.data_dir", CT_PATH, O(daemon.data_dir),
	    KF_DATA_DIR | KF_RESTART_DIR,
	    0, 0, "./var" },
	{ "daemon.user", CT_STRING, O(daemon.user), KF_RESTART_DIR, 0, 0,
	    "\"\"" },
	{ "daemon.group", CT_STRING, O(daemon.group), KF_RESTART_DIR, 0, 0,
	    "\"\"" },
	{ "daemon.pidfile", CT_PATH, O(daemon.pidfile),
	    KF_EMPTY_OK | KF_RESTART_DIR, 0, 0, "\"\"" },
	{ "daemon.stop_timeout", CT_DURATION, O(daemon.stop_timeout_ms), 0,
	    100, MS_HOUR, "10s" },

	SECTION("log"),
	{ "log.level", CT_LOGLEVEL, O(log.level), 0, 0, 0, "info" },
	{ "log.target", CT_LOGTARGET, O(log.target), 0, 0, 0, "stderr" },

	SECTION("http"),
	{ "http.listen", CT_LISTEN, O(http.listen), KF_RESTART_SOCK,
	    0, CONF_LISTEN_MAX, "[\"127.0.0.1:8080\"]" },
	{ "http.workers", CT_INT, O(http.workers), 0, 0, 256, "2" },
	{ "http.max_connections", CT_INT, O(http.max_connections), 0,
	    1, 1000000, "10000" },
	{ "http.keepalive_timeout", CT_DURATION,
	    O(http.keepalive_timeout_ms), 0, 100, MS_HOUR, "15s" },
	{ "http.request_timeout", CT_DURATION, O(http.request_timeout_ms), 0,
	    100, 10 * MS_MIN, "10s" },
	{ "http.max_request", CT_SIZE, O(http.max_request), 0,
	    KIB, MIB, "8K" },
	{ "http.max_headers", CT_INT, O(http.max_headers), 0,
	    1, CONF_HEADERS_MAX, "64" },
	{ "http.max_body", CT_SIZE, O(http.max_body), 0, KIB, MIB, "16K" },
	{ "http.trusted_proxies", CT_CIDRS, O(http.trusted_proxies), 0,
	    0, CONF_CIDRS_MAX, "[]" },

	SECTION("keys"),
	{ "keys.private", CT_PATH, O(keys.private_key), 0, 0, 0,
	    "keys/notary.priv" },
	{ "keys.public", CT_PATH, O(keys.public_key), 0, 0, 0,
	    "keys/notary.pub" },

	SECTION("cache"),
	{ "cache.size", CT_SIZE, O(cache.size), KF_RESTART_SHM,
	    MIB, 64 * GIB, "64M" },
	{ "cache.max_response", CT_SIZE, O(cache.max_response), KF_RESTART_SHM,
	    KIB, MIB, "8K" },
	{ "cache.ttl", CT_DURATION, O(cache.ttl_ms), 0,
	    MS_SEC, 30 * MS_DAY, "12h" },

	SECTION("signer"),
	{ "signer.processes", CT_INT, O(signer.processes), 0, 1, 64, "1" },

	SECTION("scanner"),
	{ "scanner.processes", CT_INT, O(scanner.processes), 0, 1, 64, "1" },
	{ "scanner.concurrency", CT_INT, O(scanner.concurrency), 0,
	    1, 65536, "256" },
	{ "scanner.timeout", CT_DURATION, O(scanner.timeout_ms), 0,
	    100, 10 * MS_MIN, "10s" },
	{ "scanner.sni", CT_BOOL, O(scanner.sni), 0, 0, 0, "true" },
	{ "scanner.rescan_interval", CT_DURATION,
	    O(scanner.rescan_interval_ms), KF_ZERO_OFF,
	    MS_SEC, 365 * MS_DAY, "12h" },
	{ "scanner.rescan_newer_than", CT_DURATION,
	    O(scanner.rescan_newer_than_ms), 0,
	    MS_MIN, 3650 * MS_DAY, "5d" },
	{ "scanner.on_demand_limit", CT_INT, O(scanner.on_demand_limit), 0,
	    0, 65536, "10" },
	{ "scanner.deny", CT_CIDRS, O(scanner.deny), KF_DEFAULT_DENY,
	    0, CONF_CIDRS_MAX, "[default]" },
	{ "scanner.allow", CT_CIDRS, O(scanner.allow), 0,
	    0, CONF_CIDRS_MAX, "[]" },

	SECTION("convergence"),
	{ "convergence.listen", CT_LISTEN, O(convergence.listen), KF_RESTART_SOCK,
	    0, CONF_LISTEN_MAX, "[]" },
	{ "convergence.certificate", CT_PATH, O(convergence.certificate),
	    KF_EMPTY_OK, 0, 0, "\"\"" },
	{ "convergence.key", CT_PATH, O(convergence.key), KF_EMPTY_OK,
	    0, 0, "\"\"" },
	{ "convergence.proxy_listen", CT_LISTEN, O(convergence.proxy_listen),
	    KF_RESTART_SOCK, 0, CONF_LISTEN_MAX, "[]" },

	SECTION("ctwatch"),
	{ "ctwatch.enabled", CT_BOOL, O(ctwatch.enabled), 0, 0, 0, "true" },
	{ "ctwatch.log_list", CT_LOGLIST, O(ctwatch.log_list), 0, 0, 0,
	    "\"\"" },
	{ "ctwatch.logs", CT_CTLOGS, O(ctwatch.logs), 0,
	    0, CONF_CTLOGS_MAX, "[]" },
	{ "ctwatch.poll_interval", CT_DURATION, O(ctwatch.poll_interval_ms),
	    0, 100, MS_HOUR, "10s" },
	{ "ctwatch.batch_size", CT_INT, O(ctwatch.batch_size), 0,
	    1, 4096, "256" },
	{ "ctwatch.resume", CT_BOOL, O(ctwatch.resume), 0, 0, 0, "true" },

	SECTION("stream"),
	{ "stream.lite_path", CT_URLPATH, O(stream.lite_path), 0, 0, 0, "/" },
	{ "stream.full_path", CT_URLPATH, O(stream.full_path), 0, 0, 0,
	    "/full-stream" },
	{ "stream.domains_path", CT_URLPATH, O(stream.domains_path), 0,
	    0, 0, "/domains-only" },
	{ "stream.latest", CT_INT, O(stream.latest), 0, 1, 1000, "25" },
	{ "stream.client_queue", CT_INT, O(stream.client_queue), 0,
	    1, 1000000, "300" },
	{ "stream.ping_interval", CT_DURATION, O(stream.ping_interval_ms), 0,
	    100, MS_HOUR, "30s" },
	{ "stream.idle_timeout", CT_DURATION, O(stream.idle_timeout_ms), 0,
	    100, MS_HOUR, "65s" },
	{ "stream.json_heartbeat", CT_DURATION, O(stream.json_heartbeat_ms),
	    KF_ZERO_OFF, 100, MS_HOUR, "30s" },
	{ "stream.ring_size", CT_SIZE, O(stream.ring_size), KF_RESTART_SHM,
	    64 * KIB, GIB, "16M" },

	SECTION("nats"),
	{ "nats.enabled", CT_BOOL, O(nats.enabled), 0, 0, 0, "false" },
	{ "nats.url", CT_NATSURLS, O(nats.url), 0, 1, CONF_NATS_URLS_MAX,
	    "[\"nats://127.0.0.1:4222\"]" },
	{ "nats.credentials", CT_PATH, O(nats.credentials), KF_EMPTY_OK,
	    0, 0, "\"\"" },
	{ "nats.token_file", CT_PATH, O(nats.token_file), KF_EMPTY_OK,
	    0, 0, "\"\"" },
	{ "nats.subject_prefix", CT_NATSNAME, O(nats.subject_prefix), KF_DOTS,
	    0, 0, "certstream" },
	{ "nats.shapes", CT_SHAPES, O(nats.shapes), 0, 1, 3,
	    "[full, lite, domains]" },
	{ "nats.per_log_subjects", CT_BOOL, O(nats.per_log_subjects), 0,
	    0, 0, "false" },
	{ "nats.stream", CT_NATSNAME, O(nats.stream), 0, 0, 0, "CERTSTREAM" },
	{ "nats.max_age", CT_DURATION, O(nats.max_age_ms), KF_ZERO_OFF,
	    MS_SEC, 3650 * MS_DAY, "24h" },
	{ "nats.max_bytes", CT_SIZE, O(nats.max_bytes), 0,
	    MIB, 1024 * GIB, "1G" },
	{ "nats.max_pending", CT_INT, O(nats.max_pending), 0, 1, 65536,
	    "1024" },
	{ "nats.buffer", CT_SIZE, O(nats.buffer), 0, 64 * KIB, 4 * GIB,
	    "64M" },
	{ "nats.ack_timeout", CT_DURATION, O(nats.ack_timeout_ms), 0,
	    100, 10 * MS_MIN, "5s" },

	SECTION("metrics"),
	{ "metrics.path", CT_URLPATH, O(metrics.path), 0, 0, 0, "/metrics" },
	{ "metrics.allow", CT_CIDRS, O(metrics.allow), 0, 0, CONF_CIDRS_MAX,
	    "[\"127.0.0.0/8\", \"::1/128\"]" },

	SECTION("database"),
	{ "database.cache_size", CT_SIZE, O(database.cache_size), KF_RESTART_DB,
	    MIB, 64 * GIB, "32M" },
};

const size_t conf_nkeys = NELEM(conf_keys);
_Static_assert(NELEM(conf_keys) <= CONF_NKEYS_MAX,
    "conf_keys[] outgrew CONF_NKEYS_MAX");

/* The networks "default" stands for in scanner.deny. */
static const char *const default_deny[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
	"192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32",
	"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
};

static int	parse_text(const char *, yaml_document_t *, char *, size_t);
static void	load_defaults(struct loader *);
static void	load_file(struct loader *, const char *);
static void	load_override(struct loader *, const struct conf_override *);
static void	apply_document(struct loader *, const struct conf_key *,
		    yaml_document_t *, const char *);
static void	apply_pair(struct loader *, const char *, yaml_node_t *,
		    yaml_node_t *);
static int	listen_host(const char *, size_t, int, struct conf_listen *,
		    char *, size_t, const char *);
static int	cidr_has_host_bits(const struct conf_cidr *);
static void	cidr_mask(struct conf_cidr *);
static void	cidr_unmap_v4(struct conf_cidr *);
static int	prefix_equal(const uint8_t *, const uint8_t *, unsigned);

struct conf *
conf_load(const char *path, const struct conf_override *ov, size_t nov,
    char *err, size_t errlen)
{
	struct loader	ld;
	size_t		i;

	memset(&ld, 0, sizeof(ld));
	ld.err = err;
	ld.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	ld.cf = xcalloc(1, sizeof(*ld.cf));

	load_defaults(&ld);
	if (path != NULL) {
		ld.file = path;
		ld.cf->path = conf_path_absolute(NULL, path);
		load_file(&ld, path);
	}
	for (i = 0; i < nov; i++)
		load_override(&ld, &ov[i]);

	/* Checks between keys would only repeat earlier errors. */
	if (ld.nerr == 0)
		conf_check_cross(&ld);
	if (ld.nerr == 0) {
		conf_resolve_workers(ld.cf);
		conf_resolve_paths(&ld);
	}
	if (ld.nerr > 0) {
		conf_err_finish(&ld);
		conf_free(ld.cf);
		return (NULL);
	}
	return (ld.cf);
}

const char *
conf_default_path(void)
{
	return (SYSCONFDIR "/notaryd.yaml");
}

void
conf_free(struct conf *cf)
{
	size_t	i;

	if (cf == NULL)
		return;
	for (i = 0; i < conf_nkeys; i++)
		conf_free_field(cf, &conf_keys[i]);
	free(cf->path);
	free(cf);
}

/*
 * Parse YAML text (a default or an override value) into doc.  An empty
 * text means the empty string, so "-o daemon.user=" clears the user.
 */
static int
parse_text(const char *text, yaml_document_t *doc, char *why, size_t len)
{
	yaml_parser_t	parser;
	yaml_document_t	extra;
	int		rv = 0;

	if (text[strspn(text, " \t")] == '\0')
		text = "\"\"";
	if (!yaml_parser_initialize(&parser))
		panicx("conf: cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    strlen(text));
	if (!yaml_parser_load(&parser, doc)) {
		conf_yaml_problem(&parser, why, len);
		yaml_parser_delete(&parser);
		return (-1);
	}
	if (!yaml_parser_load(&parser, &extra)) {
		conf_yaml_problem(&parser, why, len);
		rv = -1;
	} else {
		if (yaml_document_get_root_node(&extra) != NULL) {
			snprintf(why, len, "expected one YAML value, "
			    "found several documents");
			rv = -1;
		}
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);
	if (rv == -1)
		yaml_document_delete(doc);
	return (rv);
}

static void
load_defaults(struct loader *ld)
{
	const struct conf_key	*k;
	yaml_document_t		 doc;
	char			 why[CONF_MSG_MAX];

	ld->source = FROM_DEFAULT;
	for (k = conf_keys; k < conf_keys + conf_nkeys; k++) {
		if (k->type == CT_SECTION)
			continue;
		if (parse_text(k->def, &doc, why, sizeof(why)) == -1)
			panicx("conf: built-in default of %s: %s", k->path,
			    why);
		apply_document(ld, k, &doc, k->path);
		yaml_document_delete(&doc);
	}
}

static void
load_file(struct loader *ld, const char *path)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc, extra;
	yaml_node_t	*root;
	struct stat	 st;
	FILE		*fp;

	ld->source = FROM_FILE;
	if ((fp = fopen(path, "r")) == NULL) {
		conf_plain_error(ld, "%s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		conf_plain_error(ld, "%s: is a directory, not a YAML file", path);
		fclose(fp);
		return;
	}
	if (!yaml_parser_initialize(&parser))
		panicx("conf: cannot initialise the YAML parser");
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		conf_syntax_error(ld, &parser);
		goto out;
	}
	/* An empty file (or only comments) has no root: all defaults. */
	if ((root = yaml_document_get_root_node(&doc)) != NULL) {
		ld->doc = &doc;
		conf_apply_mapping(ld, NULL, root);
		ld->doc = NULL;
		if (!yaml_parser_load(&parser, &extra))
			conf_syntax_error(ld, &parser);
		else {
			root = yaml_document_get_root_node(&extra);
			if (root != NULL)
				conf_node_error(ld, root, NULL, "a second YAML "
				    "document; the config is one document");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
 out:
	yaml_parser_delete(&parser);
	fclose(fp);
}

static void
load_override(struct loader *ld, const struct conf_override *o)
{
	const struct conf_key	*k;
	yaml_document_t		 doc;
	char			 why[CONF_MSG_MAX];

	ld->source = FROM_OVERRIDE;
	if (o->key == NULL || o->key[0] == '\0') {
		conf_plain_error(ld, "-o: expected KEY=VALUE, the key is missing");
		return;
	}
	if ((k = conf_key_lookup(o->key)) == NULL) {
		conf_unknown_key(ld, NULL, o->key, o->key);
		return;
	}
	if (o->value == NULL) {
		conf_node_error(ld, NULL, o->key, "expected KEY=VALUE, "
		    "the value is missing");
		return;
	}
	if (parse_text(o->value, &doc, why, sizeof(why)) == -1) {
		conf_node_error(ld, NULL, o->key, "invalid YAML value: %s", why);
		return;
	}
	apply_document(ld, k, &doc, o->key);
	yaml_document_delete(&doc);
}

static void
apply_document(struct loader *ld, const struct conf_key *k,
    yaml_document_t *doc, const char *path)
{
	ld->doc = doc;
	conf_set_value(ld, k, yaml_document_get_root_node(doc), path);
	ld->doc = NULL;
}

/*
 * Apply a mapping of keys under prefix (NULL: the top level).  A null
 * value is an empty section: what is left of a section whose keys were
 * all commented out.
 */
void
conf_apply_mapping(struct loader *ld, const char *prefix, yaml_node_t *node)
{
	yaml_node_pair_t	*pair;
	char			 got[CONF_MSG_MAX];

	if (conf_is_null(node))
		return;
	if (node->type != YAML_MAPPING_NODE) {
		conf_describe(got, sizeof(got), node);
		if (prefix == NULL)
			conf_node_error(ld, node, NULL, "expected a mapping of "
			    "sections (daemon:, http:, ...) at the top level, "
			    "got %s", got);
		else
			conf_node_error(ld, node, prefix, "expected a mapping of "
			    "keys, got %s", got);
		return;
	}
	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		if (conf_is_duplicate(ld, prefix, node, pair))
			continue;
		apply_pair(ld, prefix, conf_get_node(ld, pair->key),
		    conf_get_node(ld, pair->value));
	}
}

static void
apply_pair(struct loader *ld, const char *prefix, yaml_node_t *key,
    yaml_node_t *value)
{
	const struct conf_key	*k;
	const char		*name;
	char			 path[CONF_PATH_MAX], got[CONF_MSG_MAX];

	if (key->type != YAML_SCALAR_NODE) {
		conf_describe(got, sizeof(got), key);
		conf_node_error(ld, key, prefix, "expected a key name, got %s", got);
		return;
	}
	name = conf_scalar_of(key);
	if (prefix == NULL)
		(void)xsnprintf(path, sizeof(path), "%s", name);
	else
		(void)xsnprintf(path, sizeof(path), "%s.%s", prefix, name);

	/* Dotted names are for -o, not for the file. */
	k = strpbrk(name, ".[") == NULL ? conf_key_lookup(path) : NULL;
	if (k == NULL || (prefix == NULL) != (k->type == CT_SECTION)) {
		conf_unknown_key(ld, key, path, name);
		return;
	}
	conf_set_value(ld, k, value, path);
}

/* 1 (and an error) when pair repeats a key seen earlier in mapping. */
int
conf_is_duplicate(struct loader *ld, const char *prefix, yaml_node_t *mapping,
    yaml_node_pair_t *pair)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*key, *prev;
	char			 path[CONF_PATH_MAX];

	key = conf_get_node(ld, pair->key);
	if (key->type != YAML_SCALAR_NODE)
		return (0);
	for (p = mapping->data.mapping.pairs.start; p < pair; p++) {
		prev = conf_get_node(ld, p->key);
		if (prev->type != YAML_SCALAR_NODE ||
		    prev->data.scalar.length != key->data.scalar.length ||
		    memcmp(prev->data.scalar.value, key->data.scalar.value,
		    key->data.scalar.length) != 0)
			continue;
		(void)xsnprintf(path, sizeof(path), "%s%s%s",
		    prefix ? prefix : "", prefix ? "." : "", conf_scalar_of(key));
		if (ld->source == FROM_FILE)
			conf_node_error(ld, key, path, "duplicate key (first given "
			    "at line %zu)", prev->start_mark.line + 1);
		else
			conf_node_error(ld, key, path, "duplicate key");
		return (1);
	}
	return (0);
}

yaml_node_t *
conf_get_node(struct loader *ld, int index_)
{
	yaml_node_t	*n;

	if ((n = yaml_document_get_node(ld->doc, index_)) == NULL)
		panicx("conf: libyaml node %d missing", index_);
	return (n);
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
int
conf_is_null(const yaml_node_t *n)
{
	const char	*s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (0);
	s = conf_scalar_of(n);
	return (s[0] == '\0' || strcmp(s, "~") == 0 ||
	    strcasecmp(s, "null") == 0);
}

const char *
conf_scalar_of(const yaml_node_t *n)
{
	return ((const char *)n->data.scalar.value);
}

/* The text of a scalar node, or -1 after an error. */
int
conf_scalar_value(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path, const char **s)
{
	char	got[CONF_MSG_MAX];

	if (node->type != YAML_SCALAR_NODE) {
		conf_describe(got, sizeof(got), node);
		conf_node_error(ld, node, path, "expected %s, got %s",
		    conf_expectation(k), got);
		return (-1);
	}
	if (strlen(conf_scalar_of(node)) != node->data.scalar.length) {
		conf_node_error(ld, node, path, "contains a NUL character");
		return (-1);
	}
	*s = conf_scalar_of(node);
	return (0);
}

size_t
conf_sequence_length(const yaml_node_t *n)
{
	return ((size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start));
}

const struct conf_key *
conf_key_lookup(const char *path)
{
	size_t	i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].path, path) == 0)
			return (&conf_keys[i]);
	return (NULL);
}

size_t
conf_key_depth(const char *path)
{
	size_t	n = 0;

	for (; *path != '\0'; path++)
		if (*path == '.')
			n++;
	return (n);
}

void *
conf_field(struct conf *cf, const struct conf_key *k)
{
	return ((char *)cf + k->off);
}

int
conf_parse_listen(const char *s, struct conf_listen *out)
{
	char	why[CONF_MSG_MAX];

	if (s == NULL)
		return (-1);
	return (conf_listen_parse(s, out, why, sizeof(why)));
}

int
conf_parse_cidr(const char *s, struct conf_cidr *out)
{
	char	why[CONF_MSG_MAX];

	if (s == NULL)
		return (-1);
	return (conf_cidr_parse(s, out, why, sizeof(why)));
}

/*
 * "A.B.C.D:port", "[v6]:port", "*:port" (0.0.0.0), "localhost:port"
 * (127.0.0.1).  Names are not resolved: a listener must not depend on DNS
 * at start.  On error why holds a whole message.
 */
int
conf_listen_parse(const char *s, struct conf_listen *out, char *why, size_t len)
{
	const char	*host, *colon, *end;
	char		 got[CONF_MSG_MAX];
	size_t		 hostlen;
	uint64_t	 port;
	int		 v6 = (s[0] == '[');

	memset(out, 0, sizeof(*out));
	conf_quote(got, sizeof(got), s);
	if (v6) {
		host = s + 1;
		if ((colon = strchr(host, ']')) == NULL || colon[1] != ':')
			goto syntax;
		hostlen = (size_t)(colon - host);
		colon++;
	} else {
		host = s;
		if ((colon = strrchr(s, ':')) == NULL)
			goto syntax;
		hostlen = (size_t)(colon - host);
		if (memchr(host, ':', hostlen) != NULL) {
			snprintf(why, len, "an IPv6 address needs brackets, "
			    "like \"[::1]:8080\", got %s", got);
			return (-1);
		}
	}
	if (conf_parse_uint(colon + 1, &port, &end) == -1 || *end != '\0' ||
	    port < 1 || port > 65535) {
		snprintf(why, len, "the port must be a number from 1 to 65535, "
		    "got %s", got);
		return (-1);
	}
	if (listen_host(host, hostlen, v6, out, why, len, got) == -1)
		return (-1);
	if (out->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&out->addr)->sin_port =
		    htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&out->addr)->sin6_port =
		    htons((uint16_t)port);
	snprintf(out->text + strlen(out->text),
	    sizeof(out->text) - strlen(out->text), ":%u", (unsigned)port);
	return (0);

 syntax:
	snprintf(why, len, "expected an address like \"127.0.0.1:8080\", "
	    "\"[::1]:8080\" or \"*:8080\", got %s", got);
	return (-1);
}

/* The host part of a listen address (v6: it was in brackets) into out. */
static int
listen_host(const char *host, size_t hostlen, int v6, struct conf_listen *out,
    char *why, size_t len, const char *got)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&out->addr;
	char			 h[INET6_ADDRSTRLEN + 1];
	char			 ntop[INET6_ADDRSTRLEN];

	if (hostlen == 0 || hostlen >= sizeof(h))
		goto bad;
	memcpy(h, host, hostlen);
	h[hostlen] = '\0';
	if (!v6 && strcmp(h, "*") == 0)
		snprintf(h, sizeof(h), "0.0.0.0");
	else if (!v6 && strcasecmp(h, "localhost") == 0)
		snprintf(h, sizeof(h), "127.0.0.1");

	if (!v6 && inet_pton(AF_INET, h, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		out->addrlen = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, ntop, sizeof(ntop));
		snprintf(out->text, sizeof(out->text), "%s", ntop);
		return (0);
	}
	if (v6 && inet_pton(AF_INET6, h, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		out->addrlen = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, ntop, sizeof(ntop));
		snprintf(out->text, sizeof(out->text), "[%s]", ntop);
		return (0);
	}
	if (!v6 && strspn(h, "0123456789.") != hostlen) {
		snprintf(why, len, "host names are not resolved; use an "
		    "address like \"127.0.0.1:8080\", \"[::1]:8080\" or "
		    "\"*:8080\", got %s", got);
		return (-1);
	}
 bad:
	snprintf(why, len, "expected an address like \"127.0.0.1:8080\", "
	    "\"[::1]:8080\" or \"*:8080\", got %s", got);
	return (-1);
}

/*
 * "10.0.0.0/8", "2001:db8::/32", or one address (/32, /128).  Host bits
 * set is refused: "10.1.2.3/8" is most likely a typo for another network.
 * v4-mapped v6 networks (::ffff:a.b.c.d/96+) become IPv4 ones, so that
 * conf_cidr_match needs only one form.
 */
int
conf_cidr_parse(const char *s, struct conf_cidr *out, char *why, size_t len)
{
	const char	*slash, *end;
	char		 a[INET6_ADDRSTRLEN + 1], got[CONF_MSG_MAX];
	char		 ntop[INET6_ADDRSTRLEN];
	size_t		 alen;
	uint64_t	 prefix;
	unsigned	 max;

	memset(out, 0, sizeof(*out));
	conf_quote(got, sizeof(got), s);
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(a))
		goto syntax;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, a, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		goto syntax;

	out->prefix = max;
	if (slash != NULL) {
		if (conf_parse_uint(slash + 1, &prefix, &end) == -1 ||
		    *end != '\0' || prefix > max) {
			snprintf(why, len, "the prefix length of an %s network "
			    "must be 0 to %u, got %s", max == 32 ? "IPv4" :
			    "IPv6", max, got);
			return (-1);
		}
		out->prefix = (unsigned)prefix;
	}
	if (cidr_has_host_bits(out)) {
		cidr_mask(out);
		inet_ntop(out->family, out->addr, ntop, sizeof(ntop));
		snprintf(why, len, "%s has host bits set; did you mean %s/%u?",
		    s, ntop, out->prefix);
		return (-1);
	}
	cidr_unmap_v4(out);
	return (0);

 syntax:
	snprintf(why, len, "expected a network like \"10.0.0.0/8\" or "
	    "\"2001:db8::/32\", or one address, got %s", got);
	return (-1);
}

static int
cidr_has_host_bits(const struct conf_cidr *c)
{
	struct conf_cidr	m = *c;

	cidr_mask(&m);
	return (memcmp(m.addr, c->addr, sizeof(m.addr)) != 0);
}

/* Clear the bits after the prefix. */
static void
cidr_mask(struct conf_cidr *c)
{
	unsigned	bytes = c->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < bytes; i++) {
		if (c->prefix >= 8 * (i + 1))
			continue;
		if (c->prefix <= 8 * i)
			c->addr[i] = 0;
		else
			c->addr[i] &=
			    (uint8_t)(0xff << (8 - (c->prefix - 8 * i)));
	}
}

static void
cidr_unmap_v4(struct conf_cidr *c)
{
	static const uint8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };

	if (c->family != AF_INET6 || c->prefix < 96 ||
	    memcmp(c->addr, mapped, sizeof(mapped)) != 0)
		return;
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, 12);
	c->family = AF_INET;
	c->prefix -= 96;
}

static int
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned	full = prefix / 8, rest = prefix % 8;
	uint8_t		mask;

	if (memcmp(a, b, full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[full] & mask) == (b[full] & mask));
}

void
conf_default_deny(struct conf_cidr_list *out)
{
	char	why[CONF_MSG_MAX];
	size_t	i;

	out->n = NELEM(default_deny);
	out->v = xcalloc(out->n, sizeof(*out->v));
	for (i = 0; i < out->n; i++)
		if (conf_cidr_parse(default_deny[i], &out->v[i], why,
		    sizeof(why)) == -1)
			panicx("conf: default deny list: %s", why);
}

int
conf_cidr_match(const struct conf_cidr_list *l, const struct sockaddr *sa)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	uint8_t			addr[16];
	int			family;
	size_t			i;

	if (l == NULL || sa == NULL)
		return (0);
	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		memcpy(addr, &sin.sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&sin6, sa, sizeof(sin6));
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
			memcpy(addr, sin6.sin6_addr.s6_addr + 12, 4);
			family = AF_INET;
		} else {
			memcpy(addr, sin6.sin6_addr.s6_addr, 16);
			family = AF_INET6;
		}
	} else
		return (0);

	for (i = 0; i < l->n; i++)
		if (l->v[i].family == family &&
		    prefix_equal(l->v[i].addr, addr, l->v[i].prefix))
			return (1);
	return (0);
}

int
conf_count(const struct conf *cf, const char *path)
{
	const struct conf_key	*k = conf_key_lookup(path);
	const char		*p;

	if (k == NULL)
		fatalx("conf_count: no key %s", path);
	p = (const char *)cf + k->off;
	if (k->type == CT_BOOL)
		return (*(const bool *)(const void *)p ? 1 : 0);
	if (k->type != CT_INT)
		fatalx("conf_count: %s is not a number", path);
	return (*(const int *)(const void *)p);
}
