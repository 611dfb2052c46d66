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

#define SECTION(name)                              \
	{                                          \
		name, CT_SECTION, 0, 0, 0, 0, NULL \
	}
#define O(member) offsetof(struct conf, member)

/*
 * Every key, in the order of conf/notaryd.yaml.  The ranges are what a
 * production operator can reasonably want; the lower time limits are low
 * enough for test rigs (100ms).  conf/notaryd.yaml documents the same
 * numbers: change both together.
 */
const struct conf_key conf_keys[] = {
	SECTION("daemon"),
	{ "daemon.data_dir", CT_PATH, O(daemon.data_dir),
	    KF_DATA_DIR | KF_RESTART_DIR, 0, 0, "./var" },
	{ "daemon.user", CT_STRING, O(daemon.user), KF_RESTART_DIR, 0, 0,
	    "\"\"" },
	{ "daemon.group", CT_STRING, O(daemon.group), KF_RESTART_DIR, 0, 0,
	    "\"\"" },
	{ "daemon.pidfile", CT_PATH, O(daemon.pidfile),
	    KF_EMPTY_OK | KF_RESTART_DIR, 0, 0, "\"\"" },
	{ "daemon.stop_timeout", CT_DURATION, O(daemon.stop_timeout_ms), 0, 100,
	    MS_HOUR, "10s" },

	SECTION("log"),
	{ "log.level", CT_LOGLEVEL, O(log.level), 0, 0, 0, "info" },
	{ "log.target", CT_LOGTARGET, O(log.target), 0, 0, 0, "stderr" },

	SECTION("http"),
	{ "http.listen", CT_LISTEN, O(http.listen), KF_RESTART_SOCK, 0,
	    CONF_LISTEN_MAX, "[\"127.0.0.1:8080\"]" },
	{ "http.workers", CT_INT, O(http.workers), 0, 0, 256, "2" },
	{ "http.max_connections", CT_INT, O(http.max_connections), 0, 1,
	    1000000, "10000" },
	{ "http.keepalive_timeout", CT_DURATION, O(http.keepalive_timeout_ms),
	    0, 100, MS_HOUR, "15s" },
	{ "http.request_timeout", CT_DURATION, O(http.request_timeout_ms), 0,
	    100, 10 * MS_MIN, "10s" },
	{ "http.max_request", CT_SIZE, O(http.max_request), 0, KIB, MIB, "8K" },
	{ "http.max_headers", CT_INT, O(http.max_headers), 0, 1,
	    CONF_HEADERS_MAX, "64" },
	{ "http.max_body", CT_SIZE, O(http.max_body), 0, KIB, MIB, "16K" },
	{ "http.trusted_proxies", CT_CIDRS, O(http.trusted_proxies), 0, 0,
	    CONF_CIDRS_MAX, "[]" },

	SECTION("keys"),
	{ "keys.private", CT_PATH, O(keys.private_key), 0, 0, 0,
	    "keys/notary.priv" },
	{ "keys.public", CT_PATH, O(keys.public_key), 0, 0, 0,
	    "keys/notary.pub" },

	SECTION("cache"),
	{ "cache.size", CT_SIZE, O(cache.size), KF_RESTART_SHM, MIB, 64 * GIB,
	    "64M" },
	{ "cache.max_response", CT_SIZE, O(cache.max_response), KF_RESTART_SHM,
	    KIB, MIB, "8K" },
	{ "cache.ttl", CT_DURATION, O(cache.ttl_ms), 0, MS_SEC, 30 * MS_DAY,
	    "12h" },

	SECTION("signer"),
	{ "signer.processes", CT_INT, O(signer.processes), 0, 1, 64, "1" },

	SECTION("scanner"),
	{ "scanner.processes", CT_INT, O(scanner.processes), 0, 1, 64, "1" },
	{ "scanner.concurrency", CT_INT, O(scanner.concurrency), 0, 1, 65536,
	    "256" },
	{ "scanner.timeout", CT_DURATION, O(scanner.timeout_ms), 0, 100,
	    10 * MS_MIN, "10s" },
	{ "scanner.sni", CT_BOOL, O(scanner.sni), 0, 0, 0, "true" },
	{ "scanner.rescan_interval", CT_DURATION, O(scanner.rescan_interval_ms),
	    KF_ZERO_OFF, MS_SEC, 365 * MS_DAY, "12h" },
	{ "scanner.rescan_newer_than", CT_DURATION,
	    O(scanner.rescan_newer_than_ms), 0, MS_MIN, 3650 * MS_DAY, "5d" },
	{ "scanner.on_demand_limit", CT_INT, O(scanner.on_demand_limit), 0, 0,
	    65536, "10" },
	{ "scanner.deny", CT_CIDRS, O(scanner.deny), KF_DEFAULT_DENY, 0,
	    CONF_CIDRS_MAX, "[default]" },
	{ "scanner.allow", CT_CIDRS, O(scanner.allow), 0, 0, CONF_CIDRS_MAX,
	    "[]" },

	SECTION("perspectives"),
	{ "perspectives.hold", CT_DURATION, O(perspectives.hold_ms),
	    KF_ZERO_OFF, 100, MS_MIN, "3s" },

	SECTION("convergence"),
	{ "convergence.listen", CT_LISTEN, O(convergence.listen),
	    KF_RESTART_SOCK, 0, CONF_LISTEN_MAX, "[]" },
	{ "convergence.certificate", CT_PATH, O(convergence.certificate),
	    KF_EMPTY_OK | KF_RESTART_SOCK, 0, 0, "\"\"" },
	{ "convergence.key", CT_PATH, O(convergence.key),
	    KF_EMPTY_OK | KF_RESTART_SOCK, 0, 0, "\"\"" },
	{ "convergence.sni", CT_SNI, O(convergence.sni), 0, 0, 0, "fallback" },
	{ "convergence.proxy_listen", CT_LISTEN, O(convergence.proxy_listen),
	    KF_RESTART_SOCK, 0, CONF_LISTEN_MAX, "[]" },
	{ "convergence.proxy_max_tunnels", CT_INT,
	    O(convergence.proxy_max_tunnels), 0, 1, 1000000, "1000" },
	{ "convergence.proxy_max_tunnels_per_ip", CT_INT,
	    O(convergence.proxy_max_tunnels_per_ip), 0, 1, 1000000, "16" },
	{ "convergence.proxy_idle_timeout", CT_DURATION,
	    O(convergence.proxy_idle_timeout_ms), 0, 100, MS_HOUR, "10s" },

	SECTION("ctwatch"),
	{ "ctwatch.enabled", CT_BOOL, O(ctwatch.enabled), 0, 0, 0, "true" },
	{ "ctwatch.source", CT_STRING, O(ctwatch.source), 0, 0, 0, "logs" },
	{ "ctwatch.log_list", CT_LOGLIST, O(ctwatch.log_list), 0, 0, 8,
	    "\"\"" },
	{ "ctwatch.log_list_refresh", CT_DURATION,
	    O(ctwatch.log_list_refresh_ms), 0, 100, 7 * MS_DAY, "1h" },
	{ "ctwatch.log_states", CT_CTSTATES, O(ctwatch.log_states), 0, 0, 16,
	    "[usable, qualified, readonly]" },
	{ "ctwatch.logs", CT_CTLOGS, O(ctwatch.logs), 0, 0, CONF_CTLOGS_MAX,
	    "[]" },
	{ "ctwatch.poll_interval", CT_DURATION, O(ctwatch.poll_interval_ms), 0,
	    100, MS_HOUR, "10s" },
	{ "ctwatch.batch_size", CT_INT, O(ctwatch.batch_size), 0, 1, 4096,
	    "256" },
	{ "ctwatch.resume", CT_BOOL, O(ctwatch.resume), 0, 0, 0, "true" },
	{ "ctwatch.parallel_fetches", CT_INT, O(ctwatch.parallel_fetches), 0, 1,
	    64, "2" },
	{ "ctwatch.max_fetches", CT_INT, O(ctwatch.max_fetches), 0, 1, 4096,
	    "64" },
	{ "ctwatch.max_backfill", CT_INT, O(ctwatch.max_backfill), 0, 0,
	    1000000000, "100000" },
	{ "ctwatch.dedup", CT_BOOL, O(ctwatch.dedup), 0, 0, 0, "false" },
	{ "ctwatch.fetch_timeout", CT_DURATION, O(ctwatch.fetch_timeout_ms), 0,
	    100, 10 * MS_MIN, "30s" },
	{ "ctwatch.max_response", CT_SIZE, O(ctwatch.max_response), 0, 64 * KIB,
	    GIB, "16M" },

	SECTION("stream"),
	{ "stream.lite_path", CT_URLPATH, O(stream.lite_path), 0, 0, 0, "/" },
	{ "stream.full_path", CT_URLPATH, O(stream.full_path), 0, 0, 0,
	    "/full-stream" },
	{ "stream.domains_path", CT_URLPATH, O(stream.domains_path), 0, 0, 0,
	    "/domains-only" },
	{ "stream.latest", CT_INT, O(stream.latest), 0, 1, 1000, "25" },
	{ "stream.client_queue", CT_INT, O(stream.client_queue), 0, 1, 1000000,
	    "300" },
	{ "stream.ping_interval", CT_DURATION, O(stream.ping_interval_ms), 0,
	    100, MS_HOUR, "30s" },
	{ "stream.idle_timeout", CT_DURATION, O(stream.idle_timeout_ms), 0, 100,
	    MS_HOUR, "65s" },
	{ "stream.json_heartbeat", CT_DURATION, O(stream.json_heartbeat_ms),
	    KF_ZERO_OFF, 100, MS_HOUR, "30s" },
	{ "stream.ring_size", CT_SIZE, O(stream.ring_size), KF_RESTART_SHM,
	    64 * KIB, GIB, "16M" },
	{ "stream.compression", CT_BOOL, O(stream.compression), 0, 0, 0,
	    "false" },
	{ "stream.max_clients", CT_INT, O(stream.max_clients), 0, 0, 10000000,
	    "0" },
	{ "stream.max_clients_per_ip", CT_INT, O(stream.max_clients_per_ip), 0,
	    0, 10000000, "0" },
	{ "stream.max_replay", CT_INT, O(stream.max_replay), 0, 0, 10000000,
	    "10000" },

	SECTION("nats"),
	{ "nats.enabled", CT_BOOL, O(nats.enabled), 0, 0, 0, "false" },
	{ "nats.url", CT_NATSURLS, O(nats.url), 0, 1, CONF_NATS_URLS_MAX,
	    "[\"nats://127.0.0.1:4222\"]" },
	{ "nats.credentials", CT_PATH, O(nats.credentials), KF_EMPTY_OK, 0, 0,
	    "\"\"" },
	{ "nats.token_file", CT_PATH, O(nats.token_file), KF_EMPTY_OK, 0, 0,
	    "\"\"" },
	{ "nats.subject_prefix", CT_NATSNAME, O(nats.subject_prefix), KF_DOTS,
	    0, 0, "certstream" },
	{ "nats.shapes", CT_SHAPES, O(nats.shapes), 0, 1, 4,
	    "[full, lite, domains]" },
	{ "nats.per_log_subjects", CT_BOOL, O(nats.per_log_subjects), 0, 0, 0,
	    "false" },
	{ "nats.stream", CT_NATSNAME, O(nats.stream), 0, 0, 0, "CERTSTREAM" },
	{ "nats.max_age", CT_DURATION, O(nats.max_age_ms), KF_ZERO_OFF, MS_SEC,
	    3650 * MS_DAY, "24h" },
	{ "nats.max_bytes", CT_SIZE, O(nats.max_bytes), 0, MIB, 1024 * GIB,
	    "1G" },
	{ "nats.max_pending", CT_INT, O(nats.max_pending), 0, 1, 65536,
	    "1024" },
	{ "nats.buffer", CT_SIZE, O(nats.buffer), 0, 64 * KIB, 4 * GIB, "64M" },
	{ "nats.ack_timeout", CT_DURATION, O(nats.ack_timeout_ms), 0, 100,
	    10 * MS_MIN, "5s" },

	SECTION("metrics"),
	{ "metrics.path", CT_URLPATH, O(metrics.path), 0, 0, 0, "/metrics" },
	{ "metrics.allow", CT_CIDRS, O(metrics.allow), 0, 0, CONF_CIDRS_MAX,
	    "[\"127.0.0.0/8\", \"::1/128\"]" },

	SECTION("database"),
	{ "database.cache_size", CT_SIZE, O(database.cache_size), KF_RESTART_DB,
	    MIB, 64 * GIB, "32M" },
};

const size_t conf_nkeys = NELEM(conf_keys);
_Static_assert(
    NELEM(conf_keys) <= CONF_NKEYS_MAX, "conf_keys[] outgrew CONF_NKEYS_MAX");

static int  parse_text(const char *, yaml_document_t *, char *, size_t);
static void load_defaults(struct loader *);
static void load_file(struct loader *, const char *);
static void load_override(struct loader *, const struct conf_override *);
static void apply_document(
    struct loader *, const struct conf_key *, yaml_document_t *, const char *);
static void
apply_pair(struct loader *, const char *, yaml_node_t *, yaml_node_t *);

struct conf *
conf_load(const char *path, const struct conf_override *ov, size_t nov,
    char *err, size_t errlen)
{
	struct loader ld;
	size_t        i;

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
	size_t i;

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
	yaml_parser_t   parser;
	yaml_document_t extra;
	int             rv = 0;

	if (text[strspn(text, " \t")] == '\0')
		text = "\"\"";
	if (!yaml_parser_initialize(&parser))
		panicx("conf: cannot initialise the YAML parser");
	yaml_parser_set_input_string(
	    &parser, (const unsigned char *)text, strlen(text));
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
			snprintf(why, len,
			    "expected one YAML value, "
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
	const struct conf_key *k;
	yaml_document_t        doc;
	char                   why[CONF_MSG_MAX];

	ld->source = FROM_DEFAULT;
	for (k = conf_keys; k < conf_keys + conf_nkeys; k++) {
		if (k->type == CT_SECTION)
			continue;
		if (parse_text(k->def, &doc, why, sizeof(why)) == -1)
			panicx(
			    "conf: built-in default of %s: %s", k->path, why);
		apply_document(ld, k, &doc, k->path);
		yaml_document_delete(&doc);
	}
}

static void
load_file(struct loader *ld, const char *path)
{
	yaml_parser_t   parser;
	yaml_document_t doc, extra;
	yaml_node_t    *root;
	struct stat     st;
	FILE           *fp;

	ld->source = FROM_FILE;
	if ((fp = fopen(path, "r")) == NULL) {
		conf_plain_error(ld, "%s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		conf_plain_error(
		    ld, "%s: is a directory, not a YAML file", path);
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
				conf_node_error(ld, root, NULL,
				    "a second YAML "
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
	const struct conf_key *k;
	yaml_document_t        doc;
	char                   why[CONF_MSG_MAX];

	ld->source = FROM_OVERRIDE;
	if (o->key == NULL || o->key[0] == '\0') {
		conf_plain_error(
		    ld, "-o: expected KEY=VALUE, the key is missing");
		return;
	}
	if ((k = conf_key_lookup(o->key)) == NULL) {
		conf_unknown_key(ld, NULL, o->key, o->key);
		return;
	}
	if (o->value == NULL) {
		conf_node_error(ld, NULL, o->key,
		    "expected KEY=VALUE, "
		    "the value is missing");
		return;
	}
	if (parse_text(o->value, &doc, why, sizeof(why)) == -1) {
		conf_node_error(
		    ld, NULL, o->key, "invalid YAML value: %s", why);
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
	yaml_node_pair_t *pair;
	char              got[CONF_MSG_MAX];

	if (conf_is_null(node))
		return;
	if (node->type != YAML_MAPPING_NODE) {
		conf_describe(got, sizeof(got), node);
		if (prefix == NULL)
			conf_node_error(ld, node, NULL,
			    "expected a mapping of "
			    "sections (daemon:, http:, ...) at the top level, "
			    "got %s",
			    got);
		else
			conf_node_error(ld, node, prefix,
			    "expected a mapping of "
			    "keys, got %s",
			    got);
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
apply_pair(
    struct loader *ld, const char *prefix, yaml_node_t *key, yaml_node_t *value)
{
	const struct conf_key *k;
	const char            *name;
	char                   path[CONF_PATH_MAX], got[CONF_MSG_MAX];

	if (key->type != YAML_SCALAR_NODE) {
		conf_describe(got, sizeof(got), key);
		conf_node_error(
		    ld, key, prefix, "expected a key name, got %s", got);
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
	yaml_node_pair_t *p;
	yaml_node_t      *key, *prev;
	char              path[CONF_PATH_MAX];

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
		    prefix ? prefix : "", prefix ? "." : "",
		    conf_scalar_of(key));
		if (ld->source == FROM_FILE)
			conf_node_error(ld, key, path,
			    "duplicate key (first given "
			    "at line %zu)",
			    prev->start_mark.line + 1);
		else
			conf_node_error(ld, key, path, "duplicate key");
		return (1);
	}
	return (0);
}

yaml_node_t *
conf_get_node(struct loader *ld, int index_)
{
	yaml_node_t *n;

	if ((n = yaml_document_get_node(ld->doc, index_)) == NULL)
		panicx("conf: libyaml node %d missing", index_);
	return (n);
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
int
conf_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (0);
	s = conf_scalar_of(n);
	return (
	    s[0] == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0);
}

const char *
conf_scalar_of(const yaml_node_t *n)
{
	return ((const char *)n->data.scalar.value);
}

/* The text of a scalar node, or -1 after an error. */
int
conf_scalar_value(struct loader *ld, const struct conf_key *k,
    yaml_node_t *node, const char *path, const char **s)
{
	char got[CONF_MSG_MAX];

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
	return ((
	    size_t)(n->data.sequence.items.top - n->data.sequence.items.start));
}

const struct conf_key *
conf_key_lookup(const char *path)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].path, path) == 0)
			return (&conf_keys[i]);
	return (NULL);
}

size_t
conf_key_depth(const char *path)
{
	size_t n = 0;

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
conf_count(const struct conf *cf, const char *path)
{
	const struct conf_key *k = conf_key_lookup(path);
	const char            *p;

	if (k == NULL)
		fatalx("conf_count: no key %s", path);
	p = (const char *)cf + k->off;
	if (k->type == CT_BOOL)
		return (*(const bool *)(const void *)p ? 1 : 0);
	if (k->type != CT_INT)
		fatalx("conf_count: %s is not a number", path);
	return (*(const int *)(const void *)p);
}
