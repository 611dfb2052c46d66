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

static int
nats_url_item(struct loader *ld, yaml_node_t *in, const char *ipath,
    const char *s, void *arg)
{
	struct conf_strlist *l = arg;
	char                 got[CONF_MSG_MAX];

	if (!nats_url_ok(s)) {
		conf_describe(got, sizeof(got), in);
		conf_node_error(ld, in, ipath,
		    "expected a server URL "
		    "like nats://127.0.0.1:4222 or tls://host:4222, got %s",
		    got);
		return (-1);
	}
	l->v[l->n++] = xstrdup(s);
	return (0);
}

void
conf_set_nats_urls(struct loader *ld, const struct conf_key *k,
    yaml_node_t *node, const char *path)
{
	struct conf_strlist *dst = conf_field(ld->cf, k), tmp = { 0, NULL };

	if (node->type == YAML_SEQUENCE_NODE && conf_sequence_length(node) > 0)
		tmp.v = xcalloc(conf_sequence_length(node), sizeof(*tmp.v));
	if (conf_each_item(ld, k, node, path, 1, nats_url_item, &tmp) == -1) {
		conf_strlist_free(&tmp);
		return;
	}
	if (tmp.n == 0) {
		conf_node_error(ld, node, path, "name at least one server");
		return;
	}
	conf_strlist_free(dst);
	*dst = tmp;
}

static int
shape_item(struct loader *ld, yaml_node_t *in, const char *ipath, const char *s,
    void *arg)
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
	unsigned *bits = arg;
	char      got[CONF_MSG_MAX];
	size_t    i;

	for (i = 0; i < NELEM(shapes); i++)
		if (strcmp(s, shapes[i].name) == 0)
			break;
	if (i == NELEM(shapes) || (*bits & shapes[i].bit)) {
		conf_describe(got, sizeof(got), in);
		conf_node_error(ld, in, ipath,
		    "expected one of full, lite, domains, record (each once), got %s",
		    got);
		return (-1);
	}
	*bits |= shapes[i].bit;
	return (0);
}

void
conf_set_shapes(struct loader *ld, const struct conf_key *k, yaml_node_t *node,
    const char *path)
{
	unsigned bits = 0;

	if (conf_each_item(ld, k, node, path, 1, shape_item, &bits) == -1)
		return;
	if (bits == 0) {
		conf_node_error(ld, node, path,
		    "name at least one shape (full, lite, domains, record)");
		return;
	}
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
