/*
 * conf_impl.h - what the parts of the configuration loader share: the key
 * schema, the loader state, and the functions one part calls in another.
 * Internal to common/conf*.c; everything else includes common/conf.h.
 *
 *   conf.c        the key table, loading and walking the YAML documents
 *   conf_value.c  setters and value parsers
 *   conf_reload.c what a reload compares (restart-only keys)
 *   conf_check.c  checks between keys, resolving paths and counts
 *   conf_msg.c    error messages, "did you mean", command-line helpers
 */
#ifndef NOTARYD_CONF_IMPL_H
#define NOTARYD_CONF_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "common/conf.h"

#define CONF_MAX_ERRORS  20  /* more would only bury the first one */
#define CONF_PATH_MAX    160 /* longest dotted key path we print */
#define CONF_MSG_MAX     512 /* one error message */
#define CONF_SUGGEST_MAX 2   /* edit distance for "did you mean" */


#define KIB     (INT64_C(1) << 10)
#define MIB     (INT64_C(1) << 20)
#define GIB     (INT64_C(1) << 30)
#define MS_SEC  INT64_C(1000)
#define MS_MIN  (60 * MS_SEC)
#define MS_HOUR (60 * MS_MIN)
#define MS_DAY  (24 * MS_HOUR)

enum conf_type {
	CT_SECTION,   /* a mapping of further keys */
	CT_STRING,    /* any scalar */
	CT_PATH,      /* a file path; relative means relative to data_dir */
	CT_URLPATH,   /* an HTTP path, "/..." */
	CT_LOGTARGET, /* "stderr", "syslog" or a file path */
	CT_LOGLIST,   /* one or a list of: "", an http(s) URL, a file path */
	CT_BOOL,
	CT_INT,      /* int, min..max */
	CT_DURATION, /* int64_t milliseconds, min..max */
	CT_SIZE,     /* uint64_t bytes, min..max */
	CT_LOGLEVEL, /* int holding an enum log_level */
	CT_LISTEN,   /* struct netaddr_listen_list */
	CT_CIDRS,    /* struct netaddr_cidr_list */
	CT_CTLOGS,   /* ctwatch.logs, the only one of its kind */
	CT_CTSTATES, /* ctwatch.log_states: list of state names -> bits */
	CT_NATSURLS, /* nats.url: struct conf_strlist of server URLs */
	CT_SHAPES,   /* unsigned, CONF_SHAPE_* bits: [full, lite, domains] */
	CT_NATSNAME, /* a NATS subject prefix or stream name */
	CT_SNI,      /* int holding an enum conf_sni: fallback/on/off */
};

#define KF_EMPTY_OK     0x01  /* CT_PATH: "" allowed, means "none" */
#define KF_ZERO_OFF     0x02  /* CT_DURATION: 0 allowed, means "off" */
#define KF_DEFAULT_DENY 0x04  /* CT_CIDRS: "default" expands */
#define KF_DATA_DIR     0x08  /* CT_PATH: relative to the cwd, not data_dir */
#define KF_DOTS         0x100 /* CT_NATSNAME: dot-separated tokens */
/*
 * Restart-only keys: a reload cannot change them (the old value stays,
 * with a warning).  The flag says what the master would have to make
 * anew, in the order it sets things up, which is the order a reload
 * reports them in.
 */
#define KF_RESTART_SOCK 0x10 /* listening sockets */
#define KF_RESTART_SHM  0x20 /* shared memory sizes */
#define KF_RESTART_DIR  0x40 /* data_dir, identity, pidfile */
#define KF_RESTART_DB   0x80 /* database environment */
#define KF_RESTART \
	(KF_RESTART_SOCK | KF_RESTART_SHM | KF_RESTART_DIR | KF_RESTART_DB)

struct conf_key {
	const char    *path; /* dotted, e.g. "scanner.timeout" */
	enum conf_type type;
	size_t         off; /* offsetof(struct conf, ...) */
	int            flags;
	int64_t        min; /* CT_INT, CT_DURATION, CT_SIZE */
	int64_t        max; /* ... and lists: most entries */
	const char    *def; /* the default, YAML flow syntax */
};


/* The key table (conf.c), in the order of conf/notaryd.yaml. */
extern const struct conf_key conf_keys[];
extern const size_t          conf_nkeys;
#define CONF_NKEYS_MAX 256 /* conf.c checks that conf_keys[] fits */

enum conf_source {
	FROM_DEFAULT, /* built-in default */
	FROM_FILE,
	FROM_OVERRIDE, /* -o KEY=VALUE */
};

/* Where a value came from, for messages. */
struct conf_where {
	enum conf_source source;
	size_t           line; /* 1-based, 0 = unknown */
	size_t           column;
};

struct loader {
	struct conf      *cf;
	const char       *file; /* as the caller named it */
	yaml_document_t  *doc;  /* the document being applied */
	enum conf_source  source;
	char             *err;
	size_t            errlen;
	int               nerr;
	struct conf_where origin[CONF_NKEYS_MAX];
};


void conf_node_error(struct loader *, const yaml_node_t *, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));
void conf_key_error(struct loader *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void conf_plain_error(struct loader *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void        conf_err_finish(struct loader *);
void        conf_syntax_error(struct loader *, const yaml_parser_t *);
void        conf_yaml_problem(const yaml_parser_t *, char *, size_t);
void        conf_describe(char *, size_t, const yaml_node_t *);
const char *conf_expectation(const struct conf_key *);
void        conf_fmt_duration(char *, size_t, int64_t);
void        conf_fmt_size(char *, size_t, uint64_t);
void        conf_fmt_range(char *, size_t, const struct conf_key *, int64_t);
const struct conf_key *conf_key_lookup(const char *);
size_t                 conf_key_depth(const char *);
const char            *conf_suggest(const char *, const char *const *, size_t);
void                  *conf_field(struct conf *, const struct conf_key *);
void                   conf_unknown_key(
                      struct loader *, const yaml_node_t *, const char *, const char *);
void conf_apply_mapping(struct loader *, const char *, yaml_node_t *);
int  conf_is_duplicate(
     struct loader *, const char *, yaml_node_t *, yaml_node_pair_t *);
yaml_node_t *conf_get_node(struct loader *, int);
int          conf_is_null(const yaml_node_t *);
const char  *conf_scalar_of(const yaml_node_t *);
int conf_scalar_value(struct loader *, const struct conf_key *, yaml_node_t *,
    const char *, const char **);
size_t conf_sequence_length(const yaml_node_t *);
int    conf_is_sequence(
       struct loader *, const struct conf_key *, yaml_node_t *, const char *);
/* One item of a list key; 0 accepted, -1 refused (and reported). */
typedef int conf_item_fn(
    struct loader *, yaml_node_t *, const char *, const char *, void *);
int  conf_each_item(struct loader *, const struct conf_key *, yaml_node_t *,
     const char *, int, conf_item_fn *, void *);
/* conf_nats.c */
void conf_set_nats_urls(
    struct loader *, const struct conf_key *, yaml_node_t *, const char *);
void conf_set_shapes(
    struct loader *, const struct conf_key *, yaml_node_t *, const char *);
int conf_nats_name_ok(const char *, int);
int
conf_strlist_equal(const struct conf_strlist *, const struct conf_strlist *);
void conf_set_value(
    struct loader *, const struct conf_key *, yaml_node_t *, const char *);
void  conf_free_field(struct conf *, const struct conf_key *);
int   conf_is_http_url(const char *);
void  conf_check_cross(struct loader *);
void  conf_resolve_workers(struct conf *);
void  conf_resolve_paths(struct loader *);
char *conf_path_absolute(const char *, const char *);
void  conf_note_diff(char *, size_t, int *, const char *);

/* conf_ctwatch.c: ctwatch.log_list, ctwatch.log_states, log keys. */
void conf_set_loglist(
    struct loader *, const struct conf_key *, yaml_node_t *, const char *);
void conf_set_ctstates(
    struct loader *, const struct conf_key *, yaml_node_t *, const char *);
void conf_strlist_free(struct conf_strlist *);
int  conf_is_base64(const char *);

#endif
