/*
 * conf.h - the notaryd configuration: one typed, immutable struct.
 *
 * The master parses the YAML file (libyaml) plus any "-o KEY=VALUE"
 * overrides into a fresh struct conf, validates it, and only then swaps it
 * in (a failed reload keeps the old one).  Children get the master's struct
 * through fork and never parse the file themselves.  Every key of
 * shared/spec/interface.md is here with its default; errors name
 * file:line:column and the dotted key path.
 */
#ifndef NOTARYD_CONF_H
#define NOTARYD_CONF_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

#define CONF_ERR_MAX 4096 /* a good size for the err buffer */

/*
 * Most entries of each list key.  Arrays sized by a list (the fds a
 * worker keeps, its epoll tags) are sized from these, so that a list
 * notaryd -t accepts is a list the daemon can run with.
 */
#define CONF_LISTEN_MAX    64   /* each of the *.listen lists */
#define CONF_CIDRS_MAX     1024 /* deny, allow, trusted_proxies, ... */
#define CONF_CTLOGS_MAX    1024 /* ctwatch.logs */
#define CONF_HEADERS_MAX   128  /* http.max_headers */
#define CONF_NATS_URLS_MAX 32   /* nats.url */
#define CONF_NATS_URL_LEN  256  /* one nats.url entry */

/* The stream shapes, as bits of nats.shapes. */
#define CONF_SHAPE_FULL    0x1u
#define CONF_SHAPE_LITE    0x2u
#define CONF_SHAPE_DOMAINS 0x4u
#define CONF_SHAPE_RECORD  0x8u /* all shapes of an entry, for fronts */

/*
 * convergence.sni: how a Convergence probe names its target.  FALLBACK
 * probes without SNI and, when a POSTed fingerprint was not what that
 * showed, once more with SNI (spec §4); OFF is the reference notary, ON
 * the mk-fg fork.
 */
enum conf_sni {
	CONF_SNI_OFF = 0,
	CONF_SNI_ON,
	CONF_SNI_FALLBACK,
};

/* "fallback", or a boolean word (true/yes/on, false/no/off); -1 else. */
int         conf_sni_parse(const char *s);
const char *conf_sni_name(int mode);

enum conf_ct_type {
	CONF_CT_RFC6962 = 0,
	CONF_CT_STATIC,
};

struct conf_ctlog {
	char             *url;
	char             *name;
	char             *operator;
	char             *key; /* base64 DER SubjectPublicKeyInfo or "" */
	enum conf_ct_type type;
};

/* ctwatch.log_states: the v3 log list states that are followed. */
#define CONF_CTS_PENDING   0x01u
#define CONF_CTS_QUALIFIED 0x02u
#define CONF_CTS_USABLE    0x04u
#define CONF_CTS_READONLY  0x08u
#define CONF_CTS_RETIRED   0x10u
#define CONF_CTS_REJECTED  0x20u

/* The built-in ctwatch.log_list, used for the value "". */
#define CONF_CT_DEFAULT_LIST \
	"https://www.gstatic.com/ct/log_list/v3/log_list.json"

struct conf_strlist {
	size_t n;
	char **v;
};

struct conf {
	char *path; /* the file loaded, or NULL: built-in defaults */

	struct {
		char   *data_dir; /* absolute */
		char   *user;     /* "" = do not change user */
		char   *group;
		char   *pidfile;         /* absolute, or "" for none */
		int64_t stop_timeout_ms; /* TERM -> KILL, default 10s */
	} daemon;

	struct {
		int   level;  /* enum log_level */
		char *target; /* "stderr", "syslog" or an absolute path */
	} log;

	struct {
		struct netaddr_listen_list listen;
		int      workers;         /* 0 in the file = one per CPU;
						   resolved to >= 1 by conf_load */
		int      max_connections; /* per worker */
		int64_t  keepalive_timeout_ms;
		int64_t  request_timeout_ms;
		uint64_t max_request; /* request line + headers, bytes */
		int      max_headers; /* header lines, default 64 */
		uint64_t max_body;    /* request body, default 16K */
		struct netaddr_cidr_list trusted_proxies;
	} http;

	struct {
		char *private_key; /* keys.private, absolute */
		char *public_key;  /* keys.public, absolute */
	} keys;

	struct {
		uint64_t size;         /* bytes of shared memory */
		uint64_t max_response; /* largest cached body, default 8K */
		int64_t  ttl_ms;
	} cache;

	struct {
		int processes;
	} signer;

	struct {
		int     processes;
		int     concurrency;
		int64_t timeout_ms;
		bool    sni;
		int64_t rescan_interval_ms; /* 0 = no built-in schedule */
		int64_t rescan_newer_than_ms;
		int     on_demand_limit;
		struct netaddr_cidr_list deny; /* "default" already expanded */
		struct netaddr_cidr_list allow;
	} scanner;

	struct {
		int64_t hold_ms; /* wait for a first probe; 0 = off */
	} perspectives;

	struct {
		struct netaddr_listen_list listen;
		char                      *certificate; /* absolute or "" */
		char                      *key;         /* absolute or "" */
		int                        sni;         /* enum conf_sni */
		struct netaddr_listen_list proxy_listen;
		int     proxy_max_tunnels;        /* daemon-wide, in total */
		int     proxy_max_tunnels_per_ip; /* per client address */
		int64_t proxy_idle_timeout_ms;
	} convergence;

	struct {
		bool                enabled;
		char               *source;    /* "logs" or "nats" */
		bool                from_nats; /* source is "nats" */
		/* URLs and absolute file paths; "" = CONF_CT_DEFAULT_LIST */
		struct conf_strlist log_list;
		int64_t             log_list_refresh_ms;
		uint32_t            log_states; /* CONF_CTS_* bits */
		struct {
			size_t             n;
			struct conf_ctlog *v;
		} logs;
		int64_t  poll_interval_ms;
		int      batch_size;
		bool     resume;
		int      parallel_fetches; /* per log */
		int      max_fetches;      /* all logs together */
		int      max_backfill;     /* entries */
		bool     dedup;
		int64_t  fetch_timeout_ms;
		uint64_t max_response; /* bytes of one reply */
	} ctwatch;

	struct {
		char    *lite_path;
		char    *full_path;
		char    *domains_path;
		int      latest;
		int      client_queue;
		int64_t  ping_interval_ms;
		int64_t  idle_timeout_ms;
		int64_t  json_heartbeat_ms; /* 0 = off */
		uint64_t ring_size;   /* shared-memory ring, default 16M */
		bool     compression; /* permessage-deflate offered */
		int      max_clients; /* 0 = no limit */
		int      max_clients_per_ip; /* 0 = no limit */
		int      max_replay;         /* ?since= entries; 0 = off */
	} stream;

	struct {
		char                    *path;
		struct netaddr_cidr_list allow;
	} metrics;

	struct {
		bool                enabled; /* run the natspub process */
		struct conf_strlist url;     /* nats:// or tls:// servers */
		char    *credentials;        /* .creds file, absolute or "" */
		char    *token_file;         /* absolute or "" */
		char    *subject_prefix;     /* "certstream" */
		unsigned shapes;             /* CONF_SHAPE_* bits, not 0 */
		bool     per_log_subjects;   /* <prefix>.<shape>.<log> */
		char    *stream;             /* JetStream stream name */
		int64_t  max_age_ms;         /* 0 = unlimited */
		uint64_t max_bytes;          /* 0 = unlimited */
		int      max_pending;        /* publishes awaiting an ack */
		uint64_t buffer;             /* bytes queued while down/slow */
		int64_t  ack_timeout_ms;     /* a publish without ack fails */
	} nats;

	struct {
		uint64_t cache_size; /* Berkeley DB mpool, default 32M */
	} database;
};

struct conf_override {
	const char *key;   /* dotted path, e.g. "scanner.timeout" */
	const char *value; /* YAML flow syntax */
};

/*
 * Load the config.  path == NULL means built-in defaults only (overrides
 * still apply).  Returns a new struct, or NULL with every error found
 * written to err, one per line, each like
 *   "conf/notaryd.yaml:12:3: scanner.timeout: expected a duration like 10s, got \"ten\""
 * or, for an override, "-o scanner.timeout: ...".
 */
struct conf *conf_load(const char *path, const struct conf_override *ov,
    size_t nov, char *err, size_t errlen);
void         conf_free(struct conf *cf);
/*
 * Command-line helpers shared by notaryd and notaryctl.  conf_add_override
 * splits "KEY=VALUE" in place into ov[*nov] (at most max); on a usage
 * error it prints "PROG: reason" to stderr and returns -1.
 * conf_print_errors prints conf_load's error lines, each as "PROG: line".
 */
int  conf_add_override(const char *prog, struct conf_override *ov, size_t *nov,
     size_t max, char *arg);
void conf_print_errors(const char *prog, const char *errs);

/* SYSCONFDIR "/notaryd.yaml" */
const char *conf_default_path(void);

/*
 * Keys that a SIGHUP reload cannot change (listeners, shared-memory sizes,
 * data_dir, users, pidfile, process layout of the database).  Writes the
 * dotted names that differ, comma-separated, to what; returns how many.
 */
int conf_restart_keys_differ(
    const struct conf *old, const struct conf *new, char *what, size_t len);
/* After a reload: nw takes old's values of every restart-only key. */
void conf_keep_restart_keys(struct conf *nw, struct conf *old);
/*
 * The value of an int key, or 0/1 of a bool key (e.g. how many processes
 * of a role to run).  A path that is neither is a programming error.
 */
int  conf_count(const struct conf *cf, const char *path);

/* Value parsers, exposed for tests and for notaryctl.  0 ok, -1 bad. */
int conf_parse_duration(const char *s, int64_t *ms);
int conf_parse_size(const char *s, uint64_t *bytes);

#endif
