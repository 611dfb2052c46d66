/*
 * ct_loglist.c - read Google v3 CT log lists and ctwatch.logs into a set
 * of logs to follow (see ct_loglist.h).
 *
 * Runs in the ctwatch process (and in the unit tests).  A list is
 * untrusted input: its size is bounded before it is parsed (jansson),
 * every field is type-checked, strings and keys are length-bounded, and a
 * log with a bad field is skipped with one warning rather than failing the
 * whole list.  A document that is not a v3 list fails with -1.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "ctwatch/ct_loglist.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* The v3 states, in the order of the CONF_CTS_* bits. */
static const char *const state_names[] = {
	"pending",
	"qualified",
	"usable",
	"readonly",
	"retired",
	"rejected",
};

static int add_log(struct ct_logset *, const struct ct_logdesc *);
static int parse_log(json_t *, enum ct_logtype, const char *, uint32_t,
    const char *, struct ct_logdesc *);
static int
parse_operator(struct ct_logset *, json_t *, uint32_t, const char *, size_t *);
static uint32_t    log_state(json_t *);
static const char *bounded_string(json_t *, const char *, size_t);

int
ct_b64_decode(
    const char *s, size_t slen, uint8_t **out, size_t *len, size_t max)
{
	uint8_t *p;
	int      n;
	size_t   pad = 0;

	if (slen == 0 || slen % 4 != 0 || slen > INT32_MAX)
		return (-1);
	/* '=' only as the last one or two characters (EVP_DecodeBlock
	 * would take one in the middle, and skip surrounding blanks) */
	if (s[slen - 1] == '=')
		pad = s[slen - 2] == '=' ? 2 : 1;
	if (memchr(s, '=', slen - pad) != NULL || slen / 4 * 3 - pad > max)
		return (-1);
	p = xmalloc(slen / 4 * 3 + 1);
	n = EVP_DecodeBlock(p, (const unsigned char *)s, (int)slen);
	if (n < 0 || (size_t)n != slen / 4 * 3) {
		free(p);
		return (-1);
	}
	*out = p;
	*len = (size_t)n - pad;
	return (0);
}

char *
ct_url_normalise(const char *url)
{
	size_t n = strlen(url);

	if (strncasecmp(url, "https://", 8) != 0 &&
	    strncasecmp(url, "http://", 7) != 0)
		return (NULL);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n > CT_LOG_URL_MAX || strpbrk(url, " \t\r\n\"\\") != NULL)
		return (NULL);
	if (strstr(url, "://")[3] == '\0' || strstr(url, "://")[3] == '/')
		return (NULL);
	return (xstrndup(url, n));
}

const char *
ct_url_key(const char *url)
{
	const char *p = strstr(url, "://");

	return (p != NULL ? p + 3 : url);
}

ssize_t
ct_logset_find(const struct ct_logset *set, const char *url)
{
	const char *k = ct_url_key(url);
	size_t      i;

	for (i = 0; i < set->n; i++)
		if (strcmp(ct_url_key(set->v[i].url), k) == 0)
			return ((ssize_t)i);
	return (-1);
}

void
ct_logdesc_copy(struct ct_logdesc *dst, const struct ct_logdesc *src)
{
	*dst = *src;
	dst->url = xstrdup(src->url);
	dst->name = xstrdup(src->name);
	dst->operator= xstrdup(src->operator);
	dst->origin = src->origin != NULL ? xstrdup(src->origin) : NULL;
	if (src->key != NULL) {
		dst->key = xmalloc(src->keylen);
		memcpy(dst->key, src->key, src->keylen);
	}
}

void
ct_logdesc_clear(struct ct_logdesc *d)
{
	free(d->url);
	free(d->name);
	free(d->operator);
	free(d->origin);
	free(d->key);
	memset(d, 0, sizeof(*d));
}

void
ct_logset_free(struct ct_logset *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		ct_logdesc_clear(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/* Take d (by value) into set unless its URL is there; 1 added, 0 not. */
static int
add_log(struct ct_logset *set, const struct ct_logdesc *d)
{
	if (ct_logset_find(set, d->url) != -1)
		return (0);
	if (set->n >= CT_LOGLIST_MAX_LOGS) {
		log_warnx("ctwatch: more than %d logs; %s is not followed",
		    CT_LOGLIST_MAX_LOGS, d->url);
		return (-1);
	}
	if (set->n == set->cap) {
		set->cap = set->cap == 0 ? 16 : set->cap * 2;
		set->v = xreallocarray(set->v, set->cap, sizeof(*set->v));
	}
	set->v[set->n++] = *d;
	return (1);
}

/* The CONF_CTS_* bit of a log's "state" object, or 0. */
static uint32_t
log_state(json_t *log)
{
	json_t *st = json_object_get(log, "state");
	size_t  i;

	if (!json_is_object(st) || json_object_size(st) != 1)
		return (0);
	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (json_is_object(json_object_get(st, state_names[i])))
			return (1u << i);
	return (0);
}

/* A string member of at most max bytes, or NULL. */
static const char *
bounded_string(json_t *o, const char *name, size_t max)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return (NULL);
	return (json_string_value(v));
}

/* A tiled log's checkpoint origin from its submission_url, or NULL. */
static char *
origin_of(json_t *log)
{
	const char *sub;
	char       *n, *o;

	sub = bounded_string(log, "submission_url", CT_LOG_URL_MAX + 8);
	if (sub == NULL || (n = ct_url_normalise(sub)) == NULL)
		return (NULL);
	o = xstrdup(ct_url_key(n));
	free(n);
	return (o);
}

/*
 * One entry of logs[] or tiled_logs[].  1 when d is filled, 0 when the
 * log's state is not followed, -1 when it is malformed (warned).
 */
static int
parse_log(json_t *log, enum ct_logtype type, const char *oper, uint32_t states,
    const char *origin, struct ct_logdesc *d)
{
	const char *url, *desc, *key;
	uint32_t    st;

	memset(d, 0, sizeof(*d));
	url =
	    bounded_string(log, type == CT_LOG_TILED ? "monitoring_url" : "url",
	        CT_LOG_URL_MAX + 8);
	desc = bounded_string(log, "description", CT_LOG_TEXT_MAX);
	key = bounded_string(log, "key", CT_LOG_KEY_MAX * 2);
	if (url == NULL || (d->url = ct_url_normalise(url)) == NULL) {
		log_warnx("ctwatch: %s: a log without a usable %s is skipped",
		    origin, type == CT_LOG_TILED ? "monitoring_url" : "url");
		return (-1);
	}
	st = log_state(log);
	if ((st & states) == 0) {
		free(d->url);
		d->url = NULL;
		return (0);
	}
	d->type = type;
	d->state = st;
	d->name = xstrdup(desc != NULL ? desc : ct_url_key(d->url));
	d->operator= xstrdup(oper);
	if (type == CT_LOG_TILED)
		d->origin = origin_of(log);
	if (key != NULL &&
	    ct_b64_decode(
	        key, strlen(key), &d->key, &d->keylen, CT_LOG_KEY_MAX) == -1) {
		log_warnx("ctwatch: %s: log %s has a bad key; its signatures "
		          "are not checked",
		    origin, d->url);
		d->key = NULL;
		d->keylen = 0;
	}
	return (1);
}

static int
parse_operator(struct ct_logset *set, json_t *op, uint32_t states,
    const char *origin, size_t *added)
{
	static const char *const arrays[2] = { "logs", "tiled_logs" };
	struct ct_logdesc        d;
	const char              *oper;
	json_t                  *logs, *log;
	size_t                   i, j;
	int                      r;

	if (!json_is_object(op))
		return (-1);
	oper = bounded_string(op, "name", CT_LOG_TEXT_MAX);
	for (j = 0; j < 2; j++) {
		logs = json_object_get(op, arrays[j]);
		if (logs == NULL)
			continue;
		if (!json_is_array(logs))
			return (-1);
		json_array_foreach(logs, i, log)
		{
			if (!json_is_object(log))
				return (-1);
			r = parse_log(log,
			    j == 1 ? CT_LOG_TILED : CT_LOG_RFC6962,
			    oper != NULL ? oper : "", states, origin, &d);
			if (r != 1)
				continue;
			r = add_log(set, &d);
			if (r != 1)
				ct_logdesc_clear(&d);
			if (r == 1)
				(*added)++;
		}
	}
	return (0);
}

int
ct_loglist_parse(struct ct_logset *set, const char *text, size_t len,
    uint32_t states, const char *origin)
{
	json_error_t jerr;
	json_t      *root, *ops, *op;
	size_t       i, added = 0;

	if (len > CT_LOGLIST_MAX_BYTES) {
		log_warnx("ctwatch: %s: the log list is larger than %u bytes",
		    origin, CT_LOGLIST_MAX_BYTES);
		return (-1);
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		log_warnx("ctwatch: %s: not JSON: line %d: %s", origin,
		    jerr.line, jerr.text);
		return (-1);
	}
	ops = json_object_get(root, "operators");
	if (!json_is_array(ops)) {
		log_warnx(
		    "ctwatch: %s: not a v3 log list (no operators)", origin);
		json_decref(root);
		return (-1);
	}
	json_array_foreach(ops, i, op)
	{
		if (parse_operator(set, op, states, origin, &added) == -1) {
			log_warnx("ctwatch: %s: operator %zu is malformed",
			    origin, i);
			json_decref(root);
			return (-1);
		}
	}
	json_decref(root);
	return ((int)added);
}

int
ct_loglist_add_conf(struct ct_logset *set, const struct conf_ctlog *v, size_t n)
{
	struct ct_logdesc d;
	ssize_t           at;
	size_t            i;

	for (i = 0; i < n; i++) {
		memset(&d, 0, sizeof(d));
		if ((d.url = ct_url_normalise(v[i].url)) == NULL) {
			log_warnx("ctwatch: ctwatch.logs: %s is not a usable "
			          "log URL",
			    v[i].url);
			return (-1);
		}
		d.name = xstrdup(v[i].name);
		d.operator= xstrdup(v[i].operator);
		d.type =
		    v[i].type == CONF_CT_STATIC ? CT_LOG_TILED : CT_LOG_RFC6962;
		if (v[i].key[0] != '\0' &&
		    ct_b64_decode(v[i].key, strlen(v[i].key), &d.key, &d.keylen,
		        CT_LOG_KEY_MAX) == -1) {
			log_warnx(
			    "ctwatch: ctwatch.logs: %s: bad key", v[i].url);
			ct_logdesc_clear(&d);
			return (-1);
		}
		if ((at = ct_logset_find(set, d.url)) != -1) {
			ct_logdesc_clear(&set->v[at]);
			set->v[at] = d;
			continue;
		}
		if (add_log(set, &d) != 1) {
			ct_logdesc_clear(&d);
			return (-1);
		}
	}
	return (0);
}

int
ct_loglist_read_file(const char *path, char **text, size_t *len)
{
	struct stat sb;
	char       *p;
	size_t      got = 0;
	ssize_t     r;
	int         fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("ctwatch: cannot open the log list %s", path);
		return (-1);
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > (off_t)CT_LOGLIST_MAX_BYTES) {
		log_warnx("ctwatch: %s: not a regular file of at most %u "
		          "bytes",
		    path, CT_LOGLIST_MAX_BYTES);
		close(fd);
		return (-1);
	}
	p = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		r = read(fd, p + got, (size_t)sb.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_warn("ctwatch: cannot read %s", path);
			free(p);
			close(fd);
			return (-1);
		}
		got += (size_t)r;
	}
	close(fd);
	p[got] = '\0';
	*text = p;
	*len = got;
	return (0);
}
