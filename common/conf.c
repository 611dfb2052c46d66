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
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define CONF_MAX_ERRORS	20	/* more would only bury the first one */
#define CONF_PATH_MAX	160	/* longest dotted key path we print */
#define CONF_MSG_MAX	512	/* one error message */
#define CONF_SHOW_MAX	60	/* longest value quoted back in a message */
#define CONF_SUGGEST_MAX 2	/* edit distance for "did you mean" */


#define KIB	(INT64_C(1) << 10)
#define MIB	(INT64_C(1) << 20)
#define GIB	(INT64_C(1) << 30)
#define MS_SEC	INT64_C(1000)
#define MS_MIN	(60 * MS_SEC)
#define MS_HOUR	(60 * MS_MIN)
#define MS_DAY	(24 * MS_HOUR)

enum conf_type {
	CT_SECTION,	/* a mapping of further keys */
	CT_STRING,	/* any scalar */
	CT_PATH,	/* a file path; relative means relative to data_dir */
	CT_URLPATH,	/* an HTTP path, "/..." */
	CT_LOGTARGET,	/* "stderr", "syslog" or a file path */
	CT_LOGLIST,	/* "", an http(s) URL or a file path */
	CT_BOOL,
	CT_INT,		/* int, min..max */
	CT_DURATION,	/* int64_t milliseconds, min..max */
	CT_SIZE,	/* uint64_t bytes, min..max */
	CT_LOGLEVEL,	/* int holding an enum log_level */
	CT_LISTEN,	/* struct conf_listen_list */
	CT_CIDRS,	/* struct conf_cidr_list */
	CT_CTLOGS,	/* ctwatch.logs, the only one of its kind */
};

#define KF_EMPTY_OK	0x01	/* CT_PATH: "" allowed, means "none" */
#define KF_ZERO_OFF	0x02	/* CT_DURATION: 0 allowed, means "off" */
#define KF_DEFAULT_DENY	0x04	/* CT_CIDRS: "default" expands */
#define KF_DATA_DIR	0x08	/* CT_PATH: relative to the cwd, not data_dir */
/*
 * Restart-only keys: a reload cannot change them (the old value stays,
 * with a warning).  The flag says what the master would have to make
 * anew, in the order it sets things up, which is the order a reload
 * reports them in.
 */
#define KF_RESTART_SOCK	0x10	/* listening sockets */
#define KF_RESTART_SHM	0x20	/* shared memory sizes */
#define KF_RESTART_DIR	0x40	/* data_dir, identity, pidfile */
#define KF_RESTART_DB	0x80	/* database environment */
#define KF_RESTART	(KF_RESTART_SOCK | KF_RESTART_SHM | KF_RESTART_DIR | \
			    KF_RESTART_DB)

struct conf_key {
	const char	*path;		/* dotted, e.g. "scanner.timeout" */
	enum conf_type	 type;
	size_t		 off;		/* offsetof(struct conf, ...) */
	int		 flags;
	int64_t		 min;		/* CT_INT, CT_DURATION, CT_SIZE */
	int64_t		 max;		/* ... and lists: most entries */
	const char	*def;		/* the default, YAML flow syntax */
};

#define SECTION(name)	{ name, CT_SECTION, 0, 0, 0, 0, NULL }
#define O(member)	offsetof(struct conf, member)

/*
 * Every key, in the order of conf/notaryd.yaml.  The ranges are what a
 * production operator can reasonably want; the lower time limits are low
 * enough for test rigs (100ms).  conf/notaryd.yaml documents the same
 * numbers: change both together.
 */
static const struct conf_key conf_keys[] = {
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
	{ "stream.compression", CT_BOOL, O(stream.compression), 0, 0, 0,
	    "false" },
	{ "stream.max_clients", CT_INT, O(stream.max_clients), 0, 0, 10000000,
	    "0" },
	{ "stream.max_clients_per_ip", CT_INT, O(stream.max_clients_per_ip),
	    0, 0, 10000000, "0" },

	SECTION("metrics"),
	{ "metrics.path", CT_URLPATH, O(metrics.path), 0, 0, 0, "/metrics" },
	{ "metrics.allow", CT_CIDRS, O(metrics.allow), 0, 0, CONF_CIDRS_MAX,
	    "[\"127.0.0.0/8\", \"::1/128\"]" },

	SECTION("database"),
	{ "database.cache_size", CT_SIZE, O(database.cache_size), KF_RESTART_DB,
	    MIB, 64 * GIB, "32M" },
};

#define CONF_NKEYS	NELEM(conf_keys)

/* The networks "default" stands for in scanner.deny. */
static const char *const default_deny[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
	"192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32",
	"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
};

/* The sub-keys of one ctwatch.logs entry. */
static const char *const ctlog_keys[] = { "url", "name", "operator", "type" };

/* Routes the HTTP workers serve themselves: no key may hide them. */
static const char *const reserved_paths[] = {
	"/latest.json", "/example.json", "/stats",
};

enum conf_source {
	FROM_DEFAULT,	/* built-in default */
	FROM_FILE,
	FROM_OVERRIDE,	/* -o KEY=VALUE */
};

/* Where a value came from, for messages. */
struct conf_where {
	enum conf_source source;
	size_t		 line;		/* 1-based, 0 = unknown */
	size_t		 column;
};

struct loader {
	struct conf		*cf;
	const char		*file;	/* as the caller named it */
	yaml_document_t		*doc;	/* the document being applied */
	enum conf_source	 source;
	char			*err;
	size_t			 errlen;
	int			 nerr;
	struct conf_where	 origin[CONF_NKEYS];
};

/* errors */
static void	emit(struct loader *, const struct conf_where *, const char *,
		    const char *);
static void	node_error(struct loader *, const yaml_node_t *, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static void	key_error(struct loader *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	plain_error(struct loader *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	err_add(struct loader *, const char *);
static void	err_finish(struct loader *);
static void	syntax_error(struct loader *, const yaml_parser_t *);
static void	yaml_problem(const yaml_parser_t *, char *, size_t);
static void	quote(char *, size_t, const char *);
static void	describe(char *, size_t, const yaml_node_t *);
static const char *expectation(const struct conf_key *);
static void	fmt_duration(char *, size_t, int64_t);
static void	fmt_size(char *, size_t, uint64_t);
static void	fmt_range(char *, size_t, const struct conf_key *, int64_t);

/* the schema */
static const struct conf_key *key_lookup(const char *);
static size_t	key_depth(const char *);
static const char *suggest(const char *, const char *const *, size_t);
static const char *suggest_key(const char *);
static size_t	edit_distance(const char *, const char *);
static void	*field(struct conf *, const struct conf_key *);
static void	unknown_key(struct loader *, const yaml_node_t *, const char *,
		    const char *);

/* walking YAML */
static int	parse_text(const char *, yaml_document_t *, char *, size_t);
static void	load_defaults(struct loader *);
static void	load_file(struct loader *, const char *);
static void	load_override(struct loader *, const struct conf_override *);
static void	apply_document(struct loader *, const struct conf_key *,
		    yaml_document_t *, const char *);
static void	apply_mapping(struct loader *, const char *, yaml_node_t *);
static void	apply_pair(struct loader *, const char *, yaml_node_t *,
		    yaml_node_t *);
static int	is_duplicate(struct loader *, const char *, yaml_node_t *,
		    yaml_node_pair_t *);
static yaml_node_t *get_node(struct loader *, int);
static int	is_null(const yaml_node_t *);
static const char *scalar_of(const yaml_node_t *);
static int	scalar_value(struct loader *, const struct conf_key *,
		    yaml_node_t *, const char *, const char **);
static size_t	sequence_length(const yaml_node_t *);

/* setters */
static void	set_value(struct loader *, const struct conf_key *,
		    yaml_node_t *, const char *);
static void	set_scalar(struct loader *, const struct conf_key *,
		    yaml_node_t *, const char *);
static int	check_string(const struct conf_key *, const char *);
static int	set_number(struct loader *, const struct conf_key *,
		    yaml_node_t *, const char *, const char *);
static void	set_listen_list(struct loader *, const struct conf_key *,
		    yaml_node_t *, const char *);
static void	set_cidr_list(struct loader *, const struct conf_key *,
		    yaml_node_t *, const char *);
static void	cidr_list_add(struct conf_cidr_list *, size_t *,
		    const struct conf_cidr *);
static void	set_ctlogs(struct loader *, yaml_node_t *, const char *);
static int	ctlog_parse(struct loader *, yaml_node_t *, const char *,
		    struct conf_ctlog *);
static int	ctlog_set(struct loader *, struct conf_ctlog *, const char *,
		    yaml_node_t *, const char *);
static void	ctlog_clear(struct conf_ctlog *);
static void	ctlogs_free(struct conf_ctlog *, size_t);
static void	set_string(char **, const char *);
static void	free_field(struct conf *, const struct conf_key *);

/* value parsers */
static int	parse_uint(const char *, uint64_t *, const char **);
static int	parse_int(const char *, int64_t *);
static int	parse_bool(const char *, bool *);
static int	is_http_url(const char *);
static int	listen_parse(const char *, struct conf_listen *, char *,
		    size_t);
static int	listen_host(const char *, size_t, int, struct conf_listen *,
		    char *, size_t, const char *);
static int	cidr_parse(const char *, struct conf_cidr *, char *, size_t);
static int	cidr_has_host_bits(const struct conf_cidr *);
static void	cidr_mask(struct conf_cidr *);
static void	cidr_unmap_v4(struct conf_cidr *);
static int	prefix_equal(const uint8_t *, const uint8_t *, unsigned);

/* after loading */
static void	check_cross(struct loader *);
static void	check_cache_sizes(struct loader *);
static void	check_http_paths(struct loader *);
static void	check_stream_timers(struct loader *);
static void	check_convergence(struct loader *);
static void	check_listen_overlap(struct loader *);
static const char *blame(struct loader *, const char *, const char *);
static void	resolve_workers(struct conf *);
static void	resolve_paths(struct loader *);
static int	is_relative_file(const struct conf_key *, const char *);
static char	*path_absolute(const char *, const char *);
static void	path_normalise(char *);
static int	listen_equal(const struct conf_listen_list *,
		    const struct conf_listen_list *);
static int	str_differ(const char *, const char *);
static void	note_diff(char *, size_t, int *, const char *);

/* ---- loading ---------------------------------------------------------- */

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
		ld.cf->path = path_absolute(NULL, path);
		load_file(&ld, path);
	}
	for (i = 0; i < nov; i++)
		load_override(&ld, &ov[i]);

	/* Checks between keys would only repeat earlier errors. */
	if (ld.nerr == 0)
		check_cross(&ld);
	if (ld.nerr == 0) {
		resolve_workers(ld.cf);
		resolve_paths(&ld);
	}
	if (ld.nerr > 0) {
		err_finish(&ld);
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
	for (i = 0; i < CONF_NKEYS; i++)
		free_field(cf, &conf_keys[i]);
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
		yaml_problem(&parser, why, len);
		yaml_parser_delete(&parser);
		return (-1);
	}
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_problem(&parser, why, len);
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
	for (k = conf_keys; k < conf_keys + CONF_NKEYS; k++) {
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
		plain_error(ld, "%s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		plain_error(ld, "%s: is a directory, not a YAML file", path);
		fclose(fp);
		return;
	}
	if (!yaml_parser_initialize(&parser))
		panicx("conf: cannot initialise the YAML parser");
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(ld, &parser);
		goto out;
	}
	/* An empty file (or only comments) has no root: all defaults. */
	if ((root = yaml_document_get_root_node(&doc)) != NULL) {
		ld->doc = &doc;
		apply_mapping(ld, NULL, root);
		ld->doc = NULL;
		if (!yaml_parser_load(&parser, &extra))
			syntax_error(ld, &parser);
		else {
			root = yaml_document_get_root_node(&extra);
			if (root != NULL)
				node_error(ld, root, NULL, "a second YAML "
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
		plain_error(ld, "-o: expected KEY=VALUE, the key is missing");
		return;
	}
	if ((k = key_lookup(o->key)) == NULL) {
		unknown_key(ld, NULL, o->key, o->key);
		return;
	}
	if (o->value == NULL) {
		node_error(ld, NULL, o->key, "expected KEY=VALUE, "
		    "the value is missing");
		return;
	}
	if (parse_text(o->value, &doc, why, sizeof(why)) == -1) {
		node_error(ld, NULL, o->key, "invalid YAML value: %s", why);
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
	set_value(ld, k, yaml_document_get_root_node(doc), path);
	ld->doc = NULL;
}

/*
 * Apply a mapping of keys under prefix (NULL: the top level).  A null
 * value is an empty section: what is left of a section whose keys were
 * all commented out.
 */
static void
apply_mapping(struct loader *ld, const char *prefix, yaml_node_t *node)
{
	yaml_node_pair_t	*pair;
	char			 got[CONF_MSG_MAX];

	if (is_null(node))
		return;
	if (node->type != YAML_MAPPING_NODE) {
		describe(got, sizeof(got), node);
		if (prefix == NULL)
			node_error(ld, node, NULL, "expected a mapping of "
			    "sections (daemon:, http:, ...) at the top level, "
			    "got %s", got);
		else
			node_error(ld, node, prefix, "expected a mapping of "
			    "keys, got %s", got);
		return;
	}
	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		if (is_duplicate(ld, prefix, node, pair))
			continue;
		apply_pair(ld, prefix, get_node(ld, pair->key),
		    get_node(ld, pair->value));
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
		describe(got, sizeof(got), key);
		node_error(ld, key, prefix, "expected a key name, got %s", got);
		return;
	}
	name = scalar_of(key);
	if (prefix == NULL)
		(void)xsnprintf(path, sizeof(path), "%s", name);
	else
		(void)xsnprintf(path, sizeof(path), "%s.%s", prefix, name);

	/* Dotted names are for -o, not for the file. */
	k = strpbrk(name, ".[") == NULL ? key_lookup(path) : NULL;
	if (k == NULL || (prefix == NULL) != (k->type == CT_SECTION)) {
		unknown_key(ld, key, path, name);
		return;
	}
	set_value(ld, k, value, path);
}

/* 1 (and an error) when pair repeats a key seen earlier in mapping. */
static int
is_duplicate(struct loader *ld, const char *prefix, yaml_node_t *mapping,
    yaml_node_pair_t *pair)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*key, *prev;
	char			 path[CONF_PATH_MAX];

	key = get_node(ld, pair->key);
	if (key->type != YAML_SCALAR_NODE)
		return (0);
	for (p = mapping->data.mapping.pairs.start; p < pair; p++) {
		prev = get_node(ld, p->key);
		if (prev->type != YAML_SCALAR_NODE ||
		    prev->data.scalar.length != key->data.scalar.length ||
		    memcmp(prev->data.scalar.value, key->data.scalar.value,
		    key->data.scalar.length) != 0)
			continue;
		(void)xsnprintf(path, sizeof(path), "%s%s%s",
		    prefix ? prefix : "", prefix ? "." : "", scalar_of(key));
		if (ld->source == FROM_FILE)
			node_error(ld, key, path, "duplicate key (first given "
			    "at line %zu)", prev->start_mark.line + 1);
		else
			node_error(ld, key, path, "duplicate key");
		return (1);
	}
	return (0);
}

static yaml_node_t *
get_node(struct loader *ld, int index_)
{
	yaml_node_t	*n;

	if ((n = yaml_document_get_node(ld->doc, index_)) == NULL)
		panicx("conf: libyaml node %d missing", index_);
	return (n);
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
static int
is_null(const yaml_node_t *n)
{
	const char	*s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (0);
	s = scalar_of(n);
	return (s[0] == '\0' || strcmp(s, "~") == 0 ||
	    strcasecmp(s, "null") == 0);
}

static const char *
scalar_of(const yaml_node_t *n)
{
	return ((const char *)n->data.scalar.value);
}

/* The text of a scalar node, or -1 after an error. */
static int
scalar_value(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path, const char **s)
{
	char	got[CONF_MSG_MAX];

	if (node->type != YAML_SCALAR_NODE) {
		describe(got, sizeof(got), node);
		node_error(ld, node, path, "expected %s, got %s",
		    expectation(k), got);
		return (-1);
	}
	if (strlen(scalar_of(node)) != node->data.scalar.length) {
		node_error(ld, node, path, "contains a NUL character");
		return (-1);
	}
	*s = scalar_of(node);
	return (0);
}

static size_t
sequence_length(const yaml_node_t *n)
{
	return ((size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start));
}

/* ---- setters ---------------------------------------------------------- */

static int
is_list(const struct conf_key *k)
{
	return (k->type == CT_LISTEN || k->type == CT_CIDRS ||
	    k->type == CT_CTLOGS);
}

static void
set_value(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	struct conf_where	*w = &ld->origin[k - conf_keys];

	w->source = ld->source;
	w->line = node->start_mark.line + 1;
	w->column = node->start_mark.column + 1;

	if (is_list(k) && node->type == YAML_SEQUENCE_NODE &&
	    sequence_length(node) > (size_t)k->max) {
		node_error(ld, node, path, "at most %lld entries, got %zu",
		    (long long)k->max, sequence_length(node));
		return;
	}
	switch (k->type) {
	case CT_SECTION:
		apply_mapping(ld, path, node);
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
	default:
		set_scalar(ld, k, node, path);
		break;
	}
}

static void
set_scalar(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	const char	*s;
	char		 got[CONF_MSG_MAX];
	int		 level;
	bool		 b;

	if (scalar_value(ld, k, node, path, &s) == -1)
		return;
	describe(got, sizeof(got), node);
	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
	case CT_URLPATH:
	case CT_LOGTARGET:
	case CT_LOGLIST:
		if (is_null(node))
			s = "";
		if (check_string(k, s) == -1) {
			node_error(ld, node, path, "expected %s, got %s",
			    expectation(k), got);
			return;
		}
		set_string(field(ld->cf, k), s);
		break;
	case CT_BOOL:
		if (parse_bool(s, &b) == -1) {
			node_error(ld, node, path, "expected %s, got %s",
			    expectation(k), got);
			return;
		}
		*(bool *)field(ld->cf, k) = b;
		break;
	case CT_LOGLEVEL:
		if ((level = log_level_parse(s)) == -1) {
			node_error(ld, node, path, "expected %s, got %s",
			    expectation(k), got);
			return;
		}
		*(int *)field(ld->cf, k) = level;
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
	const char	*c;

	switch (k->type) {
	case CT_PATH:
		return (s[0] == '\0' && !(k->flags & KF_EMPTY_OK) ? -1 : 0);
	case CT_LOGTARGET:
		return (s[0] == '\0' ? -1 : 0);
	case CT_LOGLIST:
		/* Catch "ftp://..." rather than treat it as a file name. */
		if (strstr(s, "://") != NULL && !is_http_url(s))
			return (-1);
		return (0);
	case CT_URLPATH:
		if (s[0] != '/')
			return (-1);
		for (c = s; *c != '\0'; c++)
			if (*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#')
				return (-1);
		return (0);
	default:
		return (0);
	}
}

/* CT_INT, CT_DURATION and CT_SIZE: parse, check the range, store. */
static int
set_number(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path, const char *s)
{
	char		 got[CONF_MSG_MAX], range[CONF_MSG_MAX];
	int64_t		 v;
	uint64_t	 u;
	int		 rv;

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
	describe(got, sizeof(got), node);
	if (rv == -1) {
		node_error(ld, node, path, "expected %s, got %s",
		    expectation(k), got);
		return (-1);
	}
	if ((v < k->min || v > k->max) &&
	    !(v == 0 && (k->flags & KF_ZERO_OFF))) {
		fmt_range(range, sizeof(range), k, v);
		node_error(ld, node, path, "%s", range);
		return (-1);
	}
	if (k->type == CT_INT)
		*(int *)field(ld->cf, k) = (int)v;
	else if (k->type == CT_DURATION)
		*(int64_t *)field(ld->cf, k) = v;
	else
		*(uint64_t *)field(ld->cf, k) = (uint64_t)v;
	return (0);
}

static void
set_listen_list(struct loader *ld, const struct conf_key *k,
    yaml_node_t *node, const char *path)
{
	struct conf_listen_list	*dst = field(ld->cf, k);
	struct conf_listen	*v = NULL;
	yaml_node_item_t	*item;
	const char		*s;
	char			 ipath[CONF_PATH_MAX], why[CONF_MSG_MAX];
	size_t			 n = 0, i;
	int			 bad = 0;

	if (node->type != YAML_SEQUENCE_NODE) {
		describe(why, sizeof(why), node);
		node_error(ld, node, path, "expected %s, got %s",
		    expectation(k), why);
		return;
	}
	if (sequence_length(node) > 0)
		v = xcalloc(sequence_length(node), sizeof(*v));
	for (item = node->data.sequence.items.start;
	    item < node->data.sequence.items.top; item++) {
		yaml_node_t *in = get_node(ld, *item);

		(void)xsnprintf(ipath, sizeof(ipath), "%s[%zu]", path,
		    (size_t)(item - node->data.sequence.items.start));
		if (scalar_value(ld, k, in, ipath, &s) == -1) {
			bad = 1;
			continue;
		}
		if (listen_parse(s, &v[n], why, sizeof(why)) == -1) {
			node_error(ld, in, ipath, "%s", why);
			bad = 1;
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(v[i].text, v[n].text) == 0)
				break;
		if (i < n) {
			node_error(ld, in, ipath, "%s is listed twice",
			    v[n].text);
			bad = 1;
			continue;
		}
		n++;
	}
	if (bad) {
		free(v);
		return;
	}
	free(dst->v);
	dst->v = v;
	dst->n = n;
}

static void
set_cidr_list(struct loader *ld, const struct conf_key *k,
    yaml_node_t *node, const char *path)
{
	struct conf_cidr_list	*dst = field(ld->cf, k), tmp = { 0, NULL };
	struct conf_cidr_list	 deny;
	struct conf_cidr	 c;
	yaml_node_item_t	*item;
	const char		*s;
	char			 ipath[CONF_PATH_MAX], why[CONF_MSG_MAX];
	size_t			 cap = 0, i;
	int			 bad = 0;

	if (node->type != YAML_SEQUENCE_NODE) {
		describe(why, sizeof(why), node);
		node_error(ld, node, path, "expected %s, got %s",
		    expectation(k), why);
		return;
	}
	for (item = node->data.sequence.items.start;
	    item < node->data.sequence.items.top; item++) {
		yaml_node_t *in = get_node(ld, *item);

		(void)xsnprintf(ipath, sizeof(ipath), "%s[%zu]", path,
		    (size_t)(item - node->data.sequence.items.start));
		if (scalar_value(ld, k, in, ipath, &s) == -1) {
			bad = 1;
			continue;
		}
		if (strcmp(s, "default") == 0) {
			if (!(k->flags & KF_DEFAULT_DENY)) {
				node_error(ld, in, ipath, "\"default\" is "
				    "only understood in scanner.deny");
				bad = 1;
				continue;
			}
			conf_default_deny(&deny);
			for (i = 0; i < deny.n; i++)
				cidr_list_add(&tmp, &cap, &deny.v[i]);
			free(deny.v);
			continue;
		}
		if (cidr_parse(s, &c, why, sizeof(why)) == -1) {
			node_error(ld, in, ipath, "%s", why);
			bad = 1;
			continue;
		}
		cidr_list_add(&tmp, &cap, &c);
	}
	if (bad) {
		free(tmp.v);
		return;
	}
	free(dst->v);
	*dst = tmp;
}

static void
cidr_list_add(struct conf_cidr_list *l, size_t *cap, const struct conf_cidr *c)
{
	if (l->n == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		l->v = xreallocarray(l->v, *cap, sizeof(*l->v));
	}
	l->v[l->n++] = *c;
}

static void
set_ctlogs(struct loader *ld, yaml_node_t *node, const char *path)
{
	struct conf_ctlog	*v = NULL;
	yaml_node_item_t	*item;
	const struct conf_key	*k = key_lookup("ctwatch.logs");
	char			 ipath[CONF_PATH_MAX], got[CONF_MSG_MAX];
	size_t			 n = 0, i;
	int			 bad = 0;

	if (node->type != YAML_SEQUENCE_NODE) {
		describe(got, sizeof(got), node);
		node_error(ld, node, path, "expected %s, got %s",
		    expectation(k), got);
		return;
	}
	if (sequence_length(node) > 0)
		v = xcalloc(sequence_length(node), sizeof(*v));
	for (item = node->data.sequence.items.start;
	    item < node->data.sequence.items.top; item++) {
		yaml_node_t *in = get_node(ld, *item);

		(void)xsnprintf(ipath, sizeof(ipath), "%s[%zu]", path,
		    (size_t)(item - node->data.sequence.items.start));
		if (ctlog_parse(ld, in, ipath, &v[n]) == -1) {
			bad = 1;
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(v[i].url, v[n].url) == 0)
				break;
		if (i < n) {
			node_error(ld, in, ipath, "log %s is listed twice",
			    v[n].url);
			ctlog_clear(&v[n]);
			bad = 1;
			continue;
		}
		n++;
	}
	if (bad) {
		ctlogs_free(v, n);
		return;
	}
	ctlogs_free(ld->cf->ctwatch.logs.v, ld->cf->ctwatch.logs.n);
	ld->cf->ctwatch.logs.v = v;
	ld->cf->ctwatch.logs.n = n;
}

/* One {url, name, operator, type} entry; -1 (and cleared) on error. */
static int
ctlog_parse(struct loader *ld, yaml_node_t *node, const char *path,
    struct conf_ctlog *out)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*key;
	const char		*url, *sug;
	char			 kpath[CONF_PATH_MAX], got[CONF_MSG_MAX];
	int			 bad = 0, rv;

	memset(out, 0, sizeof(*out));
	if (node->type != YAML_MAPPING_NODE) {
		describe(got, sizeof(got), node);
		node_error(ld, node, path, "expected a mapping like "
		    "{url: https://ct.example/2025h1/, name: ...}, got %s",
		    got);
		return (-1);
	}
	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		if (is_duplicate(ld, path, node, pair)) {
			bad = 1;
			continue;
		}
		key = get_node(ld, pair->key);
		if (key->type != YAML_SCALAR_NODE) {
			describe(got, sizeof(got), key);
			node_error(ld, key, path, "expected a key name, got %s",
			    got);
			bad = 1;
			continue;
		}
		(void)xsnprintf(kpath, sizeof(kpath), "%s.%s", path,
		    scalar_of(key));
		rv = ctlog_set(ld, out, scalar_of(key),
		    get_node(ld, pair->value), kpath);
		if (rv == 0)
			continue;
		if (rv == 1) {
			sug = suggest(scalar_of(key), ctlog_keys,
			    NELEM(ctlog_keys));
			node_error(ld, key, kpath, "unknown key%s%s%s (a log "
			    "has url, name, operator and type)",
			    sug ? "; did you mean " : "", sug ? sug : "",
			    sug ? "?" : "");
		}
		bad = 1;
	}
	if (!bad && out->url == NULL) {
		node_error(ld, node, path, "url is missing");
		bad = 1;
	}
	if (bad) {
		ctlog_clear(out);
		return (-1);
	}
	/* Without a name, show the URL without its scheme. */
	if (out->name == NULL) {
		url = strstr(out->url, "://") + 3;
		out->name = xstrndup(url, strlen(url) -
		    (url[strlen(url) - 1] == '/' ? 1 : 0));
	}
	if (out->operator == NULL)
		out->operator = xstrdup("");
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
	char		**dst;
	const char	 *s;
	char		  got[CONF_MSG_MAX];

	if (strcmp(name, "url") == 0)
		dst = &out->url;
	else if (strcmp(name, "name") == 0)
		dst = &out->name;
	else if (strcmp(name, "operator") == 0)
		dst = &out->operator;
	else if (strcmp(name, "type") == 0)
		dst = NULL;
	else
		return (1);

	describe(got, sizeof(got), value);
	if (value->type != YAML_SCALAR_NODE ||
	    strlen(scalar_of(value)) != value->data.scalar.length) {
		node_error(ld, value, path, "expected a string, got %s", got);
		return (-1);
	}
	s = scalar_of(value);
	if (dst == NULL) {
		if (strcmp(s, "rfc6962") == 0)
			out->type = CONF_CT_RFC6962;
		else if (strcmp(s, "static") == 0)
			out->type = CONF_CT_STATIC;
		else {
			node_error(ld, value, path, "expected rfc6962 or "
			    "static, got %s", got);
			return (-1);
		}
		return (0);
	}
	if (dst == &out->url && (!is_http_url(s) ||
	    strpbrk(s, " \t\r\n") != NULL)) {
		node_error(ld, value, path, "expected an http:// or https:// "
		    "URL like https://ct.example/2025h1/, got %s", got);
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
	memset(l, 0, sizeof(*l));
}

static void
ctlogs_free(struct conf_ctlog *v, size_t n)
{
	size_t	i;

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

static void
free_field(struct conf *cf, const struct conf_key *k)
{
	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
	case CT_URLPATH:
	case CT_LOGTARGET:
	case CT_LOGLIST:
		free(*(char **)field(cf, k));
		break;
	case CT_LISTEN:
		free(((struct conf_listen_list *)field(cf, k))->v);
		break;
	case CT_CIDRS:
		free(((struct conf_cidr_list *)field(cf, k))->v);
		break;
	case CT_CTLOGS:
		ctlogs_free(cf->ctwatch.logs.v, cf->ctwatch.logs.n);
		break;
	default:
		break;
	}
}

/* ---- the schema ------------------------------------------------------- */

static const struct conf_key *
key_lookup(const char *path)
{
	size_t	i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].path, path) == 0)
			return (&conf_keys[i]);
	return (NULL);
}

static size_t
key_depth(const char *path)
{
	size_t	n = 0;

	for (; *path != '\0'; path++)
		if (*path == '.')
			n++;
	return (n);
}

static void *
field(struct conf *cf, const struct conf_key *k)
{
	return ((char *)cf + k->off);
}

/*
 * The candidate closest to name, if it is close enough to be a typo: at
 * most CONF_SUGGEST_MAX edits, and fewer than half of the candidate's last
 * component ("foo" is not a typo of "log").
 */
static const char *
suggest(const char *name, const char *const *cand, size_t n)
{
	const char	*best = NULL, *last;
	size_t		 i, d, bestd = CONF_SUGGEST_MAX + 1;

	for (i = 0; i < n; i++) {
		d = edit_distance(name, cand[i]);
		last = strrchr(cand[i], '.') ? strrchr(cand[i], '.') + 1 :
		    cand[i];
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
	const char	*cand[CONF_NKEYS];
	size_t		 i, n = 0;

	for (i = 0; i < CONF_NKEYS; i++)
		if (key_depth(conf_keys[i].path) == key_depth(path))
			cand[n++] = conf_keys[i].path;
	return (suggest(path, cand, n));
}

/*
 * Edit distance counting a swap of two neighbours as one edit ("deamon"),
 * the commonest typo.  Long strings are never typos of our short keys.
 */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	row[3][CONF_PATH_MAX + 1];
	size_t	la = strlen(a), lb = strlen(b), i, j, d;
	size_t	*prev2, *prev, *cur;

	if (la > CONF_PATH_MAX || lb > CONF_PATH_MAX)
		return (SIZE_MAX);
	for (j = 0; j <= lb; j++)
		row[0][j] = j;
	for (i = 1; i <= la; i++) {
		cur = row[i % 3];
		prev = row[(i + 2) % 3];	/* i - 1 */
		prev2 = row[(i + 1) % 3];	/* i - 2 */
		cur[0] = i;
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
		}
	}
	return (row[la % 3][lb]);
}

static void
unknown_key(struct loader *ld, const yaml_node_t *node, const char *path,
    const char *name)
{
	const char	*sug = NULL;

	if (strpbrk(name, "[") == NULL)
		sug = suggest_key(path);
	node_error(ld, node, path, "unknown key%s%s%s",
	    sug ? "; did you mean " : "", sug ? sug : "", sug ? "?" : "");
}

/* ---- errors ----------------------------------------------------------- */

/*
 * Format "WHERE: path: msg" and add it.  During the defaults any error is
 * a bug in conf_keys[], not in the operator's file.
 */
static void
emit(struct loader *ld, const struct conf_where *w, const char *path,
    const char *msg)
{
	char	line[CONF_PATH_MAX + 2 * CONF_MSG_MAX];
	char	pfx[CONF_MSG_MAX];

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
static void
node_error(struct loader *ld, const yaml_node_t *node, const char *path,
    const char *fmt, ...)
{
	struct conf_where	w;
	va_list			ap;
	char			msg[CONF_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w.source = ld->source;
	w.line = node != NULL ? node->start_mark.line + 1 : 0;
	w.column = node != NULL ? node->start_mark.column + 1 : 0;
	emit(ld, &w, path, msg);
}

/* An error about a key's final value, at the place it was set. */
static void
key_error(struct loader *ld, const char *path, const char *fmt, ...)
{
	const struct conf_key	*k;
	va_list			 ap;
	char			 msg[CONF_MSG_MAX];

	if ((k = key_lookup(path)) == NULL)
		panicx("conf: key_error: unknown key %s", path);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(ld, &ld->origin[k - conf_keys], path, msg);
}

static void
plain_error(struct loader *ld, const char *fmt, ...)
{
	va_list	ap;
	char	msg[CONF_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_add(ld, msg);
}

static void
err_add(struct loader *ld, const char *line)
{
	size_t	used;

	if (++ld->nerr > CONF_MAX_ERRORS || ld->err == NULL || ld->errlen == 0)
		return;
	used = strlen(ld->err);
	snprintf(ld->err + used, ld->errlen - used, "%s%s",
	    used > 0 ? "\n" : "", line);
}

static void
err_finish(struct loader *ld)
{
	size_t	used;

	if (ld->nerr <= CONF_MAX_ERRORS || ld->err == NULL || ld->errlen == 0)
		return;
	used = strlen(ld->err);
	snprintf(ld->err + used, ld->errlen - used, "\n(%d more errors not "
	    "shown)", ld->nerr - CONF_MAX_ERRORS);
}

static void
syntax_error(struct loader *ld, const yaml_parser_t *p)
{
	char	why[CONF_MSG_MAX];

	yaml_problem(p, why, sizeof(why));
	if (p->error == YAML_READER_ERROR)
		plain_error(ld, "%s: %s", ld->file, why);
	else
		plain_error(ld, "%s:%zu:%zu: %s", ld->file,
		    p->problem_mark.line + 1, p->problem_mark.column + 1, why);
}

/* libyaml's explanation of a failed parse, in one line. */
static void
yaml_problem(const yaml_parser_t *p, char *buf, size_t len)
{
	const char	*problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		panicx("conf: libyaml ran out of memory");
	case YAML_READER_ERROR:
		snprintf(buf, len, "cannot read YAML at byte %zu: %s",
		    p->problem_offset, problem);
		break;
	default:
		if (p->context != NULL)
			snprintf(buf, len, "YAML syntax error: %s (%s at "
			    "line %zu column %zu)", problem, p->context,
			    p->context_mark.line + 1,
			    p->context_mark.column + 1);
		else
			snprintf(buf, len, "YAML syntax error: %s", problem);
		break;
	}
}

/* s in double quotes, escaped, shortened: the value as the user wrote it. */
static void
quote(char *buf, size_t len, const char *s)
{
	size_t	o = 0, shown = 0;
	char	esc[8];

	if (len < CONF_SHOW_MAX + 16)
		panicx("conf: quote buffer too small");
	buf[o++] = '"';
	for (; *s != '\0' && shown < CONF_SHOW_MAX; s++, shown++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < ' ' || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		if (o + strlen(esc) + 6 >= len)
			break;
		memcpy(buf + o, esc, strlen(esc));
		o += strlen(esc);
	}
	if (*s != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

static void
describe(char *buf, size_t len, const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    n->data.scalar.length == 0)
			snprintf(buf, len, "nothing");
		else
			quote(buf, len, scalar_of(n));
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
static const char *
expectation(const struct conf_key *k)
{
	switch (k->type) {
	case CT_SECTION:
		return ("a mapping of keys");
	case CT_PATH:
		return (k->flags & KF_EMPTY_OK ? "a file path or \"\"" :
		    "a file path");
	case CT_URLPATH:
		return ("an HTTP path like /metrics");
	case CT_LOGTARGET:
		return ("stderr, syslog or a file path");
	case CT_LOGLIST:
		return ("\"\", an http:// or https:// URL or a file path");
	case CT_BOOL:
		return ("true or false");
	case CT_INT:
		return ("an integer");
	case CT_DURATION:
		return ("a duration like 10s");
	case CT_SIZE:
		return ("a size like 64K, 16M or 1G");
	case CT_LOGLEVEL:
		return ("one of debug, info, notice, warning, error");
	case CT_LISTEN:
		return ("a list of addresses like [\"127.0.0.1:8080\"]");
	case CT_CIDRS:
		return ("a list of networks like [10.0.0.0/8, \"::1/128\"]");
	case CT_CTLOGS:
		return ("a list of logs like [{url: https://ct.example/log/}]");
	default:
		return ("a string");
	}
}

/* "must be between MIN and MAX, got V" in the key's own units. */
static void
fmt_range(char *buf, size_t len, const struct conf_key *k, int64_t v)
{
	char	lo[32], hi[32], got[32];

	switch (k->type) {
	case CT_DURATION:
		fmt_duration(lo, sizeof(lo), k->min);
		fmt_duration(hi, sizeof(hi), k->max);
		fmt_duration(got, sizeof(got), v);
		break;
	case CT_SIZE:
		fmt_size(lo, sizeof(lo), (uint64_t)k->min);
		fmt_size(hi, sizeof(hi), (uint64_t)k->max);
		fmt_size(got, sizeof(got), (uint64_t)v);
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
static void
fmt_duration(char *buf, size_t len, int64_t ms)
{
	static const struct {
		int64_t		 ms;
		const char	*unit;
	} units[] = {
		{ MS_DAY, "d" }, { MS_HOUR, "h" }, { MS_MIN, "m" },
		{ MS_SEC, "s" },
	};
	size_t	i;

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

static void
fmt_size(char *buf, size_t len, uint64_t b)
{
	static const char	units[] = "KMGT";
	size_t			i;
	uint64_t		f;

	for (i = sizeof(units) - 1; i > 0; i--) {
		f = (uint64_t)1 << (10 * i);
		if (b != 0 && b % f == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", b / f,
			    units[i - 1]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, b);
}

/* ---- value parsers ---------------------------------------------------- */

/* Decimal digits at s (at least one); *end is set past them. */
static int
parse_uint(const char *s, uint64_t *v, const char **end)
{
	uint64_t	n = 0;
	unsigned	d;

	if (*s < '0' || *s > '9')
		return (-1);
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return (-1);
		n = n * 10 + d;
	}
	*v = n;
	*end = s;
	return (0);
}

static int
parse_int(const char *s, int64_t *v)
{
	const char	*end;
	uint64_t	 u;
	int		 neg = (*s == '-');

	if (parse_uint(s + neg, &u, &end) == -1 || *end != '\0')
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
	size_t	i;

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

static int
is_http_url(const char *s)
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
		const char	*unit;
		int64_t		 ms;
	} units[] = {
		{ "ms", 1 }, { "s", MS_SEC }, { "m", MS_MIN },
		{ "h", MS_HOUR }, { "d", MS_DAY },
	};
	const char	*end;
	uint64_t	 n;
	size_t		 i;

	if (s == NULL || parse_uint(s, &n, &end) == -1)
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
	static const char	 units[] = "KMGT";
	const char		*end, *p;
	uint64_t		 n;
	unsigned		 shift = 0;

	if (s == NULL || parse_uint(s, &n, &end) == -1)
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

int
conf_parse_listen(const char *s, struct conf_listen *out)
{
	char	why[CONF_MSG_MAX];

	if (s == NULL)
		return (-1);
	return (listen_parse(s, out, why, sizeof(why)));
}

int
conf_parse_cidr(const char *s, struct conf_cidr *out)
{
	char	why[CONF_MSG_MAX];

	if (s == NULL)
		return (-1);
	return (cidr_parse(s, out, why, sizeof(why)));
}

/*
 * "A.B.C.D:port", "[v6]:port", "*:port" (0.0.0.0), "localhost:port"
 * (127.0.0.1).  Names are not resolved: a listener must not depend on DNS
 * at start.  On error why holds a whole message.
 */
static int
listen_parse(const char *s, struct conf_listen *out, char *why, size_t len)
{
	const char	*host, *colon, *end;
	char		 got[CONF_MSG_MAX];
	size_t		 hostlen;
	uint64_t	 port;
	int		 v6 = (s[0] == '[');

	memset(out, 0, sizeof(*out));
	quote(got, sizeof(got), s);
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
	if (parse_uint(colon + 1, &port, &end) == -1 || *end != '\0' ||
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
static int
cidr_parse(const char *s, struct conf_cidr *out, char *why, size_t len)
{
	const char	*slash, *end;
	char		 a[INET6_ADDRSTRLEN + 1], got[CONF_MSG_MAX];
	char		 ntop[INET6_ADDRSTRLEN];
	size_t		 alen;
	uint64_t	 prefix;
	unsigned	 max;

	memset(out, 0, sizeof(*out));
	quote(got, sizeof(got), s);
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
		if (parse_uint(slash + 1, &prefix, &end) == -1 ||
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
		if (cidr_parse(default_deny[i], &out->v[i], why,
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

/* ---- checks between keys ---------------------------------------------- */

static void
check_cross(struct loader *ld)
{
	check_cache_sizes(ld);
	check_http_paths(ld);
	check_stream_timers(ld);
	check_convergence(ld);
	check_listen_overlap(ld);
}

/*
 * Of two keys in a clash, the one to name: a that the operator set, else
 * b.  The defaults agree with each other, so one of them was set.
 */
static const char *
blame(struct loader *ld, const char *a, const char *b)
{
	const struct conf_key	*k = key_lookup(a);

	return (ld->origin[k - conf_keys].source != FROM_DEFAULT ? a : b);
}

/* One slot must hold many replies, or the cache is a one-entry cache. */
static void
check_cache_sizes(struct loader *ld)
{
	const struct conf	*cf = ld->cf;
	char			 a[32], b[32];

	if (cf->cache.max_response < cf->cache.size / 64)
		return;
	fmt_size(a, sizeof(a), cf->cache.max_response);
	fmt_size(b, sizeof(b), cf->cache.size);
	if (strcmp(blame(ld, "cache.max_response", "cache.size"),
	    "cache.max_response") == 0)
		key_error(ld, "cache.max_response", "must be less than "
		    "cache.size / 64 (cache.size is %s), got %s", b, a);
	else
		key_error(ld, "cache.size", "must be more than 64 times "
		    "cache.max_response (%s), got %s", a, b);
}

/* The workers route on these paths: two keys on one path hide one. */
static void
check_http_paths(struct loader *ld)
{
	static const char *const keys[] = { "stream.lite_path",
	    "stream.full_path", "stream.domains_path", "metrics.path" };
	const char	*pi, *pj, *who;
	size_t		 i, j;

	for (i = 0; i < NELEM(keys); i++) {
		pi = *(char **)field(ld->cf, key_lookup(keys[i]));
		for (j = 0; j < NELEM(reserved_paths); j++)
			if (strcmp(pi, reserved_paths[j]) == 0)
				key_error(ld, keys[i], "%s is a built-in "
				    "route; choose another path", pi);
		for (j = 0; j < i; j++) {
			pj = *(char **)field(ld->cf, key_lookup(keys[j]));
			if (strcmp(pi, pj) != 0)
				continue;
			who = blame(ld, keys[i], keys[j]);
			key_error(ld, who, "%s is also %s; each path must be "
			    "different", pi,
			    who == keys[i] ? keys[j] : keys[i]);
		}
	}
}

/* A client that is pinged must not be dropped between two pings. */
static void
check_stream_timers(struct loader *ld)
{
	const struct conf	*cf = ld->cf;
	char			 ping[32], idle[32];

	if (cf->stream.idle_timeout_ms > cf->stream.ping_interval_ms)
		return;
	fmt_duration(ping, sizeof(ping), cf->stream.ping_interval_ms);
	fmt_duration(idle, sizeof(idle), cf->stream.idle_timeout_ms);
	if (strcmp(blame(ld, "stream.idle_timeout", "stream.ping_interval"),
	    "stream.idle_timeout") == 0)
		key_error(ld, "stream.idle_timeout", "must be longer than "
		    "stream.ping_interval (%s), got %s", ping, idle);
	else
		key_error(ld, "stream.ping_interval", "must be shorter than "
		    "stream.idle_timeout (%s), got %s", idle, ping);
}

/* The Convergence listeners speak TLS and sign with that key. */
static void
check_convergence(struct loader *ld)
{
	const struct conf	*cf = ld->cf;
	int			 cert = cf->convergence.certificate[0] != '\0';
	int			 key = cf->convergence.key[0] != '\0';

	/* Name the one that was set: that is where the operator looks. */
	if (cert != key)
		key_error(ld, cert ? "convergence.certificate" :
		    "convergence.key", "must be set together with %s",
		    cert ? "convergence.key" : "convergence.certificate");
	else if (cf->convergence.listen.n > 0 && !cert)
		key_error(ld, "convergence.listen", "needs "
		    "convergence.certificate and convergence.key");
}

/* One address in two listener lists would fail at bind time; say so now. */
static void
check_listen_overlap(struct loader *ld)
{
	static const char *const keys[] = { "http.listen",
	    "convergence.listen", "convergence.proxy_listen" };
	const struct conf_listen_list	*a, *b;
	const char			*who;
	size_t				 i, j, x, y;

	for (i = 0; i < NELEM(keys); i++) {
		a = field(ld->cf, key_lookup(keys[i]));
		for (j = 0; j < i; j++) {
			b = field(ld->cf, key_lookup(keys[j]));
			who = blame(ld, keys[i], keys[j]);
			for (x = 0; x < a->n; x++)
				for (y = 0; y < b->n; y++)
					if (strcmp(a->v[x].text,
					    b->v[y].text) == 0)
						key_error(ld, who, "%s is also "
						    "in %s", a->v[x].text,
						    who == keys[i] ? keys[j] :
						    keys[i]);
		}
	}
}

/* ---- finishing -------------------------------------------------------- */

/* "0 = one per CPU": the struct always holds the real number. */
static void
resolve_workers(struct conf *cf)
{
	long	n;

	if (cf->http.workers != 0)
		return;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 256)
		n = 256;
	cf->http.workers = (int)n;
}

/*
 * data_dir becomes absolute against the current directory (the daemon
 * chdirs later), then every relative file path against data_dir.
 */
static void
resolve_paths(struct loader *ld)
{
	const struct conf_key	*k;
	char			 cwd[PATH_MAX], **p, *abs;
	char			*dir;

	dir = ld->cf->daemon.data_dir;
	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
		key_error(ld, "daemon.data_dir", "cannot make %s absolute: "
		    "getcwd: %s", dir, strerror(errno));
		return;
	}
	ld->cf->daemon.data_dir = path_absolute(dir[0] == '/' ? NULL : cwd,
	    dir);
	free(dir);
	dir = ld->cf->daemon.data_dir;

	for (k = conf_keys; k < conf_keys + CONF_NKEYS; k++) {
		if ((k->type != CT_PATH && k->type != CT_LOGTARGET &&
		    k->type != CT_LOGLIST) || (k->flags & KF_DATA_DIR))
			continue;
		p = field(ld->cf, k);
		if (!is_relative_file(k, *p))
			continue;
		abs = path_absolute(dir, *p);
		free(*p);
		*p = abs;
	}
	if (strcmp(ld->cf->keys.private_key, ld->cf->keys.public_key) == 0)
		key_error(ld, blame(ld, "keys.public", "keys.private"),
		    "keys.private and keys.public are the same file, %s",
		    ld->cf->keys.private_key);
}

/* Is s, the value of the string key k, a file name to make absolute? */
static int
is_relative_file(const struct conf_key *k, const char *s)
{
	switch (k->type) {
	case CT_PATH:
		return (s[0] != '\0');
	case CT_LOGTARGET:
		return (strcmp(s, "stderr") != 0 && strcmp(s, "syslog") != 0);
	case CT_LOGLIST:
		return (s[0] != '\0' && !is_http_url(s));
	default:
		return (0);
	}
}

/* path against base (unless already absolute), normalised.  Allocated. */
static char *
path_absolute(const char *base, const char *path)
{
	char	*abs, cwd[PATH_MAX];

	if (path[0] == '/')
		abs = xstrdup(path);
	else if (base != NULL)
		abs = xasprintf("%s/%s", base, path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		abs = xasprintf("%s/%s", cwd, path);
	else
		return (xstrdup(path));
	path_normalise(abs);
	return (abs);
}

/*
 * Drop "." components, repeated and trailing slashes.  ".." stays: with
 * symlinks, "a/.." is not always the same as "" and only the kernel knows.
 */
static void
path_normalise(char *p)
{
	char	*src = p, *dst = p;
	size_t	 n;

	while (*src != '\0') {
		while (*src == '/')
			src++;
		if (*src == '\0')
			break;
		n = strcspn(src, "/");
		if (n == 1 && src[0] == '.') {
			src++;
			continue;
		}
		*dst++ = '/';
		memmove(dst, src, n);
		dst += n;
		src += n;
	}
	if (dst == p)
		*dst++ = '/';
	*dst = '\0';
}

/* ---- reload ----------------------------------------------------------- */

/* Bytes of the struct conf member a key of this type fills. */
static size_t
type_size(enum conf_type t)
{
	switch (t) {
	case CT_BOOL:
		return (sizeof(bool));
	case CT_INT:
	case CT_LOGLEVEL:
		return (sizeof(int));
	case CT_DURATION:
		return (sizeof(int64_t));
	case CT_SIZE:
		return (sizeof(uint64_t));
	case CT_LISTEN:
		return (sizeof(struct conf_listen_list));
	case CT_CIDRS:
		return (sizeof(struct conf_cidr_list));
	case CT_CTLOGS:		/* two members; never restart-only */
	case CT_SECTION:
		return (0);
	default:
		return (sizeof(char *));
	}
}

static int
value_equal(const struct conf_key *k, const void *a, const void *b)
{
	const struct conf_cidr_list *ca = a, *cb = b;

	switch (k->type) {
	case CT_LISTEN:
		return (listen_equal(a, b));
	case CT_CIDRS:
		return (ca->n == cb->n && (ca->n == 0 ||
		    memcmp(ca->v, cb->v, ca->n * sizeof(*ca->v)) == 0));
	case CT_CTLOGS:
		return (0);	/* never KF_RESTART; assume a change */
	case CT_BOOL:
	case CT_INT:
	case CT_LOGLEVEL:
	case CT_DURATION:
	case CT_SIZE:
		return (memcmp(a, b, type_size(k->type)) == 0);
	case CT_SECTION:
		return (1);
	default:
		return (!str_differ(*(char *const *)a, *(char *const *)b));
	}
}

int
conf_restart_keys_differ(const struct conf *old, const struct conf *new,
    char *what, size_t len)
{
	static const int stages[] = { KF_RESTART_SOCK, KF_RESTART_SHM,
	    KF_RESTART_DIR, KF_RESTART_DB };
	size_t	i, st;
	int	n = 0;

	if (what != NULL && len > 0)
		what[0] = '\0';
	for (st = 0; st < NELEM(stages); st++)
		for (i = 0; i < CONF_NKEYS; i++) {
			const struct conf_key *k = &conf_keys[i];

			if ((k->flags & stages[st]) &&
			    !value_equal(k, (const char *)old + k->off,
			    (const char *)new + k->off))
				note_diff(what, len, &n, k->path);
		}
	return (n);
}

/*
 * The new config takes the old values of the restart-only keys, by
 * swapping, so that each struct still owns (and frees) what it holds.
 */
void
conf_keep_restart_keys(struct conf *nw, struct conf *old)
{
	unsigned char	tmp[64];
	size_t		i, sz;

	for (i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (!(k->flags & KF_RESTART))
			continue;
		sz = type_size(k->type);
		if (sz > sizeof(tmp))
			fatalx("conf: %s is too large to swap", k->path);
		memcpy(tmp, (char *)nw + k->off, sz);
		memcpy((char *)nw + k->off, (char *)old + k->off, sz);
		memcpy((char *)old + k->off, tmp, sz);
	}
}

int
conf_count(const struct conf *cf, const char *path)
{
	const struct conf_key	*k = key_lookup(path);
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

/* Same set of addresses, in any order (the sockets are the same). */
static int
listen_equal(const struct conf_listen_list *a,
    const struct conf_listen_list *b)
{
	size_t	i, j;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (strcmp(a->v[i].text, b->v[j].text) == 0)
				break;
		if (j == b->n)
			return (0);
	}
	return (1);
}

static int
str_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != b);
	return (strcmp(a, b) != 0);
}

static void
note_diff(char *what, size_t len, int *n, const char *name)
{
	size_t	used;

	if (what != NULL && len > 0) {
		used = strlen(what);
		snprintf(what + used, len - used, "%s%s", *n > 0 ? ", " : "",
		    name);
	}
	(*n)++;
}

/* ---- command-line helpers (notaryd, notaryctl) ------------------------- */

int
conf_add_override(const char *prog, struct conf_override *ov, size_t *nov,
    size_t max, char *arg)
{
	char	*eq = strchr(arg, '=');

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
	const char	*p = errs, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		fprintf(stderr, "%s: %.*s\n", prog,
		    nl ? (int)(nl - p) : (int)strlen(p), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}
