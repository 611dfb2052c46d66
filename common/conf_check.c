/*
 * conf_check.c - what the loader does once every key has a value: checks
 * between keys (sizes, paths, timers, listeners), then resolving worker
 * counts and relative paths.  Runs in the master and notaryctl; errors go
 * to the loader's list, never to the log.
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


/* Routes the HTTP workers serve themselves: no key may hide them. */
static const char *const reserved_paths[] = {
	"/latest.json",
	"/example.json",
	"/stats",
};

static void        check_cache_sizes(struct loader *);
static void        check_http_paths(struct loader *);
static void        check_stream_timers(struct loader *);
static void        check_convergence(struct loader *);
static void        check_listen_overlap(struct loader *);
static void        check_nats(struct loader *);
static const char *blame(struct loader *, const char *, const char *);
static int         is_relative_file(const struct conf_key *, const char *);
static void
loglist_absolute(const struct conf_key *, struct conf_strlist *, const char *);
static void path_normalise(char *);

void
conf_check_cross(struct loader *ld)
{
	check_cache_sizes(ld);
	check_http_paths(ld);
	check_stream_timers(ld);
	check_convergence(ld);
	check_listen_overlap(ld);
	check_nats(ld);
}

/*
 * One way to authenticate to NATS; ctwatch.source names a source; a
 * stream front (source nats) does not publish its ring back to NATS.
 */
static void
check_nats(struct loader *ld)
{
	struct conf *cf = ld->cf;

	if (strcmp(cf->ctwatch.source, "logs") != 0 &&
	    strcmp(cf->ctwatch.source, "nats") != 0)
		conf_key_error(ld, "ctwatch.source",
		    "expected logs or nats, got \"%s\"", cf->ctwatch.source);
	cf->ctwatch.from_nats = strcmp(cf->ctwatch.source, "nats") == 0;
	if (cf->ctwatch.from_nats && cf->ctwatch.enabled && cf->nats.enabled)
		conf_key_error(ld, blame(ld, "nats.enabled", "ctwatch.source"),
		    "a stream front (ctwatch.source: nats) cannot also "
		    "publish its stream to NATS (nats.enabled): set one");

	if (cf->nats.credentials[0] != '\0' && cf->nats.token_file[0] != '\0')
		conf_key_error(ld,
		    blame(ld, "nats.token_file", "nats.credentials"),
		    "set either nats.credentials or "
		    "nats.token_file, not both");
}

/*
 * Of two keys in a clash, the one to name: a that the operator set, else
 * b.  The defaults agree with each other, so one of them was set.
 */
static const char *
blame(struct loader *ld, const char *a, const char *b)
{
	const struct conf_key *k = conf_key_lookup(a);

	return (ld->origin[k - conf_keys].source != FROM_DEFAULT ? a : b);
}

/* One slot must hold many replies, or the cache is a one-entry cache. */
/*
 * A rule between keys a and b failed: name the one the user set last,
 * saying what it must be relative to the other ("...(<other>), got <own>").
 */
static void
pair_error(struct loader *ld, const char *a, const char *a_must, const char *va,
    const char *b, const char *b_must, const char *vb)
{
	if (strcmp(blame(ld, a, b), a) == 0)
		conf_key_error(ld, a, "%s%s), got %s", a_must, vb, va);
	else
		conf_key_error(ld, b, "%s%s), got %s", b_must, va, vb);
}

static void
check_cache_sizes(struct loader *ld)
{
	const struct conf *cf = ld->cf;
	char               a[32], b[32];

	if (cf->cache.max_response < cf->cache.size / 64)
		return;
	conf_fmt_size(a, sizeof(a), cf->cache.max_response);
	conf_fmt_size(b, sizeof(b), cf->cache.size);
	pair_error(ld, "cache.max_response",
	    "must be less than cache.size / "
	    "64 (cache.size is ",
	    a, "cache.size",
	    "must be more than 64 "
	    "times cache.max_response (",
	    b);
}

/* The workers route on these paths: two keys on one path hide one. */
static void
check_http_paths(struct loader *ld)
{
	static const char *const keys[] = { "stream.lite_path",
		"stream.full_path", "stream.domains_path", "metrics.path" };
	const char              *pi, *pj, *who;
	size_t                   i, j;

	for (i = 0; i < NELEM(keys); i++) {
		pi = *(char **)conf_field(ld->cf, conf_key_lookup(keys[i]));
		for (j = 0; j < NELEM(reserved_paths); j++)
			if (strcmp(pi, reserved_paths[j]) == 0)
				conf_key_error(ld, keys[i],
				    "%s is a built-in "
				    "route; choose another path",
				    pi);
		for (j = 0; j < i; j++) {
			pj = *(char **)conf_field(
			    ld->cf, conf_key_lookup(keys[j]));
			if (strcmp(pi, pj) != 0)
				continue;
			who = blame(ld, keys[i], keys[j]);
			conf_key_error(ld, who,
			    "%s is also %s; each path must be "
			    "different",
			    pi, who == keys[i] ? keys[j] : keys[i]);
		}
	}
}

/* A client that is pinged must not be dropped between two pings. */
static void
check_stream_timers(struct loader *ld)
{
	const struct conf *cf = ld->cf;
	char               ping[32], idle[32];

	if (cf->stream.idle_timeout_ms > cf->stream.ping_interval_ms)
		return;
	conf_fmt_duration(ping, sizeof(ping), cf->stream.ping_interval_ms);
	conf_fmt_duration(idle, sizeof(idle), cf->stream.idle_timeout_ms);
	pair_error(ld, "stream.idle_timeout",
	    "must be longer than "
	    "stream.ping_interval (",
	    idle, "stream.ping_interval",
	    "must be shorter than stream.idle_timeout (", ping);
}

/*
 * The Convergence listeners speak TLS and sign with that key.  With
 * neither file set, the signer makes a self-signed pair in data_dir.
 */
static void
check_convergence(struct loader *ld)
{
	const struct conf *cf = ld->cf;
	int                cert = cf->convergence.certificate[0] != '\0';
	int                key = cf->convergence.key[0] != '\0';

	/* Name the one that was set: that is where the operator looks. */
	if (cert != key)
		conf_key_error(ld,
		    cert ? "convergence.certificate" : "convergence.key",
		    "must be set together with %s",
		    cert ? "convergence.key" : "convergence.certificate");
	if (cf->convergence.proxy_max_tunnels_per_ip >
	    cf->convergence.proxy_max_tunnels)
		conf_key_error(ld, "convergence.proxy_max_tunnels_per_ip",
		    "must not exceed convergence.proxy_max_tunnels (%d), "
		    "got %d",
		    cf->convergence.proxy_max_tunnels,
		    cf->convergence.proxy_max_tunnels_per_ip);
}

/* One address in two listener lists would fail at bind time; say so now. */
static void
check_listen_overlap(struct loader *ld)
{
	static const char *const keys[] = { "http.listen", "convergence.listen",
		"convergence.proxy_listen" };
	const struct netaddr_listen_list *a, *b;
	const char                       *who;
	size_t                            i, j, x, y;

	for (i = 0; i < NELEM(keys); i++) {
		a = conf_field(ld->cf, conf_key_lookup(keys[i]));
		for (j = 0; j < i; j++) {
			b = conf_field(ld->cf, conf_key_lookup(keys[j]));
			who = blame(ld, keys[i], keys[j]);
			for (x = 0; x < a->n; x++)
				for (y = 0; y < b->n; y++)
					if (strcmp(a->v[x].text,
					        b->v[y].text) == 0)
						conf_key_error(ld, who,
						    "%s is also "
						    "in %s",
						    a->v[x].text,
						    who == keys[i] ? keys[j]
						                   : keys[i]);
		}
	}
}

/* "0 = one per CPU": the struct always holds the real number. */
void
conf_resolve_workers(struct conf *cf)
{
	long n;

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
void
conf_resolve_paths(struct loader *ld)
{
	const struct conf_key *k;
	char                   cwd[PATH_MAX], **p, *abs;
	char                  *dir;

	dir = ld->cf->daemon.data_dir;
	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
		conf_key_error(ld, "daemon.data_dir",
		    "cannot make %s absolute: "
		    "getcwd: %s",
		    dir, strerror(errno));
		return;
	}
	ld->cf->daemon.data_dir =
	    conf_path_absolute(dir[0] == '/' ? NULL : cwd, dir);
	free(dir);
	dir = ld->cf->daemon.data_dir;

	for (k = conf_keys; k < conf_keys + conf_nkeys; k++) {
		if (k->type == CT_LOGLIST) {
			loglist_absolute(k, conf_field(ld->cf, k), dir);
			continue;
		}
		if ((k->type != CT_PATH && k->type != CT_LOGTARGET) ||
		    (k->flags & KF_DATA_DIR))
			continue;
		p = conf_field(ld->cf, k);
		if (!is_relative_file(k, *p))
			continue;
		abs = conf_path_absolute(dir, *p);
		free(*p);
		*p = abs;
	}
	if (strcmp(ld->cf->keys.private_key, ld->cf->keys.public_key) == 0)
		conf_key_error(ld, blame(ld, "keys.public", "keys.private"),
		    "keys.private and keys.public are the same file, %s",
		    ld->cf->keys.private_key);
}

/* Make the relative file names of a log_list absolute against dir. */
static void
loglist_absolute(
    const struct conf_key *k, struct conf_strlist *l, const char *dir)
{
	char  *abs;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!is_relative_file(k, l->v[i]))
			continue;
		abs = conf_path_absolute(dir, l->v[i]);
		free(l->v[i]);
		l->v[i] = abs;
	}
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
		return (s[0] != '\0' && !conf_is_http_url(s));
	default:
		return (0);
	}
}

/* path against base (unless already absolute), normalised.  Allocated. */
char *
conf_path_absolute(const char *base, const char *path)
{
	char *abs, cwd[PATH_MAX];

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
	char  *src = p, *dst = p;
	size_t n;

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
