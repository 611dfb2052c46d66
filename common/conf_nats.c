/*
 * conf_nats.c - the value types of the nats: section (see conf_impl.h):
 * the server URL list, the list of stream shapes, and the check of NATS
 * subject tokens and stream names.
 *
 * Run by the master (and notaryctl) while loading the config; like the
 * rest of the loader it never logs: a bad value is one error line in the
 * loader and the key keeps its previous value.
 */
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/conf_impl.h"
#include "common/util.h"
#include "common/xmalloc.h"

/* nats://host:port or tls://host:port: scheme, a host, no blanks or ','. */
static int
nats_url_ok(const char *s)
{
	const char *p;

	if (strncmp(s, "nats://", 7) == 0)
		p = s + 7;
	else if (strncmp(s, "tls://", 6) == 0)
		p = s + 6;
	else
		return (0);
	if (*p == '\0' || *p == '/' || *p == ':' ||
	    strlen(s) >= CONF_NATS_URL_LEN)
		return (0);
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == ',')
			return (0);
	return (1);
}

void
conf_set_nats_urls(struct loader *ld, const struct conf_key *k,
    yaml_node_t *node, const char *path)
{
	struct conf_strlist *dst = conf_field(ld->cf, k), tmp = { 0, NULL };
	yaml_node_item_t    *item;
	const char          *s;
	char                 ipath[CONF_PATH_MAX], got[CONF_MSG_MAX];
	int                  bad = 0;

	if (!conf_is_sequence(ld, k, node, path))
		return;
	if (conf_sequence_length(node) > 0)
		tmp.v = xcalloc(conf_sequence_length(node), sizeof(*tmp.v));
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *in = conf_get_node(ld, *item);

		conf_item_path(ipath, sizeof(ipath), path, node, item);
		if (conf_scalar_value(ld, k, in, ipath, &s) == -1) {
			bad = 1;
			continue;
		}
		if (!nats_url_ok(s)) {
			conf_describe(got, sizeof(got), in);
			conf_node_error(ld, in, ipath,
			    "expected a server URL "
			    "like nats://127.0.0.1:4222 or tls://host:4222, "
			    "got %s",
			    got);
			bad = 1;
			continue;
		}
		tmp.v[tmp.n++] = xstrdup(s);
	}
	if (!bad && tmp.n == 0) {
		conf_node_error(ld, node, path, "name at least one server");
		bad = 1;
	}
	if (bad) {
		conf_strlist_free(&tmp);
		return;
	}
	conf_strlist_free(dst);
	*dst = tmp;
}

void
conf_set_shapes(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	static const struct {
		const char *name;
		unsigned    bit;
	} shapes[] = {
		{ "full", CONF_SHAPE_FULL },
		{ "lite", CONF_SHAPE_LITE },
		{ "domains", CONF_SHAPE_DOMAINS },
		{ "record", CONF_SHAPE_RECORD },
	};
	yaml_node_item_t *item;
	const char       *s;
	char              ipath[CONF_PATH_MAX], got[CONF_MSG_MAX];
	unsigned          bits = 0;
	size_t            i;
	int               bad = 0;

	if (!conf_is_sequence(ld, k, node, path))
		return;
	for (item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top; item++) {
		yaml_node_t *in = conf_get_node(ld, *item);

		conf_item_path(ipath, sizeof(ipath), path, node, item);
		if (conf_scalar_value(ld, k, in, ipath, &s) == -1) {
			bad = 1;
			continue;
		}
		for (i = 0; i < NELEM(shapes); i++)
			if (strcmp(s, shapes[i].name) == 0)
				break;
		conf_describe(got, sizeof(got), in);
		if (i == NELEM(shapes) || (bits & shapes[i].bit)) {
			conf_node_error(ld, in, ipath,
			    "expected one of full, "
			    "lite, domains, record (each once), got %s",
			    got);
			bad = 1;
			continue;
		}
		bits |= shapes[i].bit;
	}
	if (!bad && bits == 0) {
		conf_node_error(ld, node, path,
		    "name at least one shape "
		    "(full, lite, domains, record)");
		bad = 1;
	}
	if (!bad)
		*(unsigned *)conf_field(ld->cf, k) = bits;
}

/*
 * A stream name (dots 0) or a subject prefix (dots 1: tokens separated
 * by single dots): 1..64 of [A-Za-z0-9_-], so that no wildcard, blank or
 * empty token can reach a subject.
 */
int
conf_nats_name_ok(const char *s, int dots)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
		return (0);
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && dots && s[i + 1] != '.')
			continue;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= 'A' && s[i] <= 'Z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		        s[i] == '-'))
			return (0);
	}
	return (1);
}

int
conf_strlist_equal(const struct conf_strlist *a, const struct conf_strlist *b)
{
	size_t i;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return (0);
	return (1);
}
