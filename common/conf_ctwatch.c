/*
 * conf_ctwatch.c - the value types only ctwatch's keys use: a log list
 * given as one string or a list of them (ctwatch.log_list), a list of log
 * list states kept as bits (ctwatch.log_states), and the base64 check of
 * a log key (ctwatch.logs[].key).
 *
 * Part of the config loader (see conf.c): runs in the master and in
 * notaryctl; errors are collected in the loader, never logged.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/conf.h"
#include "common/conf_impl.h"
#include "common/util.h"
#include "common/xmalloc.h"

/* The state names of ctwatch.log_states, bit i = 1 << i (CONF_CTS_*). */
static const char *const ct_state_names[] = {
	"pending",
	"qualified",
	"usable",
	"readonly",
	"retired",
	"rejected",
};

/*
 * ctwatch.log_list: one scalar or a sequence of scalars, each "", an
 * http(s) URL or a file path.  [] is allowed: no list, only ctwatch.logs.
 */
void
conf_set_loglist(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	struct conf_strlist tmp = { 0, NULL };
	yaml_node_item_t   *item;
	yaml_node_t        *in;
	const char         *s;
	char                ipath[CONF_PATH_MAX], got[CONF_MSG_MAX];
	size_t              n, i;

	n = node->type == YAML_SEQUENCE_NODE ? conf_sequence_length(node) : 1;
	if (n > 0)
		tmp.v = xcalloc(n, sizeof(*tmp.v));
	for (i = 0; i < n; i++) {
		if (node->type == YAML_SEQUENCE_NODE) {
			item = node->data.sequence.items.start + i;
			in = conf_get_node(ld, *item);
			(void)xsnprintf(
			    ipath, sizeof(ipath), "%s[%zu]", path, i);
		} else {
			in = node;
			(void)xsnprintf(ipath, sizeof(ipath), "%s", path);
		}
		if (conf_scalar_value(ld, k, in, ipath, &s) == -1)
			break;
		if (conf_is_null(in))
			s = "";
		/* Catch "ftp://..." rather than treat it as a file name. */
		if (strstr(s, "://") != NULL && !conf_is_http_url(s)) {
			conf_describe(got, sizeof(got), in);
			conf_node_error(ld, in, ipath, "expected %s, got %s",
			    conf_expectation(k), got);
			break;
		}
		tmp.v[tmp.n++] = xstrdup(s);
	}
	if (tmp.n != n) {
		conf_strlist_free(&tmp);
		return;
	}
	conf_strlist_free(conf_field(ld->cf, k));
	*(struct conf_strlist *)conf_field(ld->cf, k) = tmp;
}

static int
ctstate_item(struct loader *ld, yaml_node_t *in, const char *ipath,
    const char *s, void *arg)
{
	uint32_t   *bits = arg;
	const char *sug;
	size_t      i;

	for (i = 0; i < NELEM(ct_state_names); i++)
		if (strcmp(s, ct_state_names[i]) == 0) {
			*bits |= 1u << i;
			return (0);
		}
	sug = conf_suggest(s, ct_state_names, NELEM(ct_state_names));
	conf_node_error(ld, in, ipath,
	    "unknown log state%s%s%s "
	    "(pending, qualified, usable, readonly, retired, rejected)",
	    sug ? "; did you mean " : "", sug ? sug : "", sug ? "?" : "");
	return (-1);
}

/* ctwatch.log_states: a sequence of state names, kept as CONF_CTS_ bits. */
void
conf_set_ctstates(struct loader *ld, const struct conf_key *k,
    yaml_node_t *node, const char *path)
{
	uint32_t bits = 0;

	if (conf_each_item(ld, k, node, path, 1, ctstate_item, &bits) == 0)
		*(uint32_t *)conf_field(ld->cf, k) = bits;
}

void
conf_strlist_free(struct conf_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Plain base64 (RFC 4648 §4, padded), at most 16K characters. */
int
conf_is_base64(const char *s)
{
	size_t n = strlen(s), i, pad = 0;

	if (n == 0 || n % 4 != 0 || n > 16384)
		return (0);
	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '+' ||
		        s[i] == '/'))
			return (0);
	}
	return (pad <= 2);
}
