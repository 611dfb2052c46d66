/*
 * conf_reload.c - what a reload compares between the running and the new
 * configuration: which restart-only keys changed (they keep their running
 * values, with a warning), key by key as the table says.  Runs in the
 * master only; it cannot fail.
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

static size_t type_size(enum conf_type t);
static int value_equal(const struct conf_key *k, const void *a, const void *b);
static int listen_equal(
    const struct netaddr_listen_list *a, const struct netaddr_listen_list *b);
static int str_differ(const char *a, const char *b);

/* Bytes of the struct conf member a key of this type fills. */
static size_t
type_size(enum conf_type t)
{
	switch (t) {
	case CT_BOOL:
		return (sizeof(bool));
	case CT_INT:
	case CT_LOGLEVEL:
	case CT_SNI:
		return (sizeof(int));
	case CT_DURATION:
		return (sizeof(int64_t));
	case CT_SIZE:
		return (sizeof(uint64_t));
	case CT_LISTEN:
		return (sizeof(struct netaddr_listen_list));
	case CT_CIDRS:
		return (sizeof(struct netaddr_cidr_list));
	case CT_CTSTATES:
		return (sizeof(uint32_t));
	case CT_NATSURLS:
		return (sizeof(struct conf_strlist));
	case CT_SHAPES:
		return (sizeof(unsigned));
	case CT_CTLOGS:  /* two members; never restart-only */
	case CT_LOGLIST: /* a list; never restart-only */
	case CT_SECTION:
		return (0);
	default:
		return (sizeof(char *));
	}
}

static int
value_equal(const struct conf_key *k, const void *a, const void *b)
{
	const struct netaddr_cidr_list *ca = a, *cb = b;

	switch (k->type) {
	case CT_LISTEN:
		return (listen_equal(a, b));
	case CT_CIDRS:
		return (ca->n == cb->n &&
		    (ca->n == 0 ||
		        memcmp(ca->v, cb->v, ca->n * sizeof(*ca->v)) == 0));
	case CT_CTLOGS:
	case CT_LOGLIST:
		return (0); /* never KF_RESTART; assume a change */
	case CT_NATSURLS:
		return (conf_strlist_equal(a, b));
	case CT_CTSTATES:
	case CT_SHAPES:
	case CT_BOOL:
	case CT_INT:
	case CT_LOGLEVEL:
	case CT_SNI:
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
conf_restart_keys_differ(
    const struct conf *old, const struct conf *new, char *what, size_t len)
{
	static const int stages[] = { KF_RESTART_SOCK, KF_RESTART_SHM,
		KF_RESTART_DIR, KF_RESTART_DB };
	size_t           i, st;
	int              n = 0;

	if (what != NULL && len > 0)
		what[0] = '\0';
	for (st = 0; st < NELEM(stages); st++)
		for (i = 0; i < conf_nkeys; i++) {
			const struct conf_key *k = &conf_keys[i];

			if ((k->flags & stages[st]) &&
			    !value_equal(k, (const char *)old + k->off,
			        (const char *)new + k->off))
				conf_note_diff(what, len, &n, k->path);
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
	unsigned char tmp[64];
	size_t        i, sz;

	for (i = 0; i < conf_nkeys; i++) {
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

/* Same set of addresses, in any order (the sockets are the same). */
static int
listen_equal(
    const struct netaddr_listen_list *a, const struct netaddr_listen_list *b)
{
	size_t i, j;

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
