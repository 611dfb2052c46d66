/*
 * ct_loglist.h - the set of CT logs ctwatch follows: read from Google v3
 * log lists (operators[].logs[] for RFC 6962, operators[].tiled_logs[] for
 * static CT) and from ctwatch.logs in the configuration.
 *
 * Pure functions over text already in memory (plus one bounded file
 * reader); ctwatch fetches list URLs itself.  Every size is bounded where
 * the data enters: CT_LOGLIST_MAX_BYTES per list, CT_LOGLIST_MAX_LOGS logs
 * in a set, bounded string and key lengths.  Errors are logged once here
 * and returned as -1.
 */
#ifndef NOTARYD_CT_LOGLIST_H
#define NOTARYD_CT_LOGLIST_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"

#define CT_LOGLIST_MAX_BYTES (4u << 20) /* one list */
#define CT_LOGLIST_MAX_LISTS 8          /* ctwatch.log_list entries */
#define CT_LOGLIST_MAX_LOGS  1024       /* logs in a set */
#define CT_LOG_URL_MAX       250        /* normalised, fits status */
#define CT_LOG_TEXT_MAX      512        /* description, operator */
#define CT_LOG_KEY_MAX       4096       /* DER SPKI bytes */

enum ct_logtype {
	CT_LOG_RFC6962 = 0,
	CT_LOG_TILED,
};

struct ct_logdesc {
	char           *url;  /* base URL, no trailing '/' */
	char           *name; /* description */
	char           *operator;
	enum ct_logtype type;
	uint8_t        *key; /* DER SubjectPublicKeyInfo or NULL */
	size_t          keylen;
	uint32_t        state; /* CONF_CTS_* bit; 0 for config logs */
	char *origin; /* static CT: the checkpoint origin, i.e. the list's
	                 submission_url without scheme and trailing '/';
	                 NULL when not known (not checked then) */
};

struct ct_logset {
	struct ct_logdesc *v;
	size_t             n;
	size_t             cap;
};

/*
 * Add the logs of one v3 list (JSON text, len bytes) whose state is in
 * states (CONF_CTS_* bits) to set; a log already in set (same normalised
 * URL) is not added twice.  origin names the list in messages.  Returns
 * the number of logs added, or -1 (logged) when the text is not a v3 list
 * or is too large; malformed single logs are skipped with a warning.
 */
int ct_loglist_parse(struct ct_logset *set, const char *text, size_t len,
    uint32_t states, const char *origin);

/* Add (or replace, by normalised URL) the logs of ctwatch.logs.  0/-1. */
int ct_loglist_add_conf(
    struct ct_logset *set, const struct conf_ctlog *v, size_t n);

/*
 * Read a list file of at most CT_LOGLIST_MAX_BYTES into *text (allocated,
 * NUL-terminated) and *len.  0, or -1 (logged).
 */
int ct_loglist_read_file(const char *path, char **text, size_t *len);

/* The index of url (normalised) in set, or -1. */
ssize_t ct_logset_find(const struct ct_logset *set, const char *url);
void    ct_logset_free(struct ct_logset *set);
void    ct_logdesc_copy(struct ct_logdesc *dst, const struct ct_logdesc *src);
void    ct_logdesc_clear(struct ct_logdesc *d);

/*
 * Normalise a log URL: lowercase scheme and host kept as given, no
 * trailing '/', at most CT_LOG_URL_MAX bytes, http(s) only.  Allocated
 * string or NULL.
 */
char       *ct_url_normalise(const char *url);
/* The URL without its scheme ("ct.example/2025h1"), for matching. */
const char *ct_url_key(const char *url);

/* Decode standard base64 (padding only at the end, no blanks) into an
 * allocated buffer of at most max bytes; -1 on bad input. */
int ct_b64_decode(
    const char *s, size_t slen, uint8_t **out, size_t *len, size_t max);

#endif
