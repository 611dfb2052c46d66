/*
 * status.c - the master's shared process table (see status.h).
 * Created by the master before fork; the process table is written only by
 * the master, the CT log area only by ctwatch.
 */
#include <sys/mman.h>

#include <string.h>

#include "common/log.h"
#include "common/status.h"

static const char *const role_names[ROLE_MAX] = {
	[ROLE_MASTER] = "master",
	[ROLE_HTTP] = "http",
	[ROLE_SIGNER] = "signer",
	[ROLE_SCANNER] = "scanner",
	[ROLE_CTWATCH] = "ctwatch",
	[ROLE_RECOVERY] = "db-recover",
};

struct status *
status_create(void)
{
	struct status	*st;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		log_warn("status: mmap %zu bytes", sizeof(*st));
		return (NULL);
	}
	memset(st, 0, sizeof(*st));
	st->magic = STATUS_MAGIC;
	return (st);
}

void
status_destroy(struct status *st)
{
	if (st != NULL)
		munmap(st, sizeof(*st));
}

const char *
role_name(enum role r)
{
	if ((unsigned)r >= ROLE_MAX)
		return ("unknown");
	return (role_names[r]);
}

int
status_healthy(const struct status *st)
{
	int	r;

	if (st == NULL || st->magic != STATUS_MAGIC)
		return (0);
	if (atomic_load(&st->db_state) != DB_STATE_UP)
		return (0);
	for (r = ROLE_HTTP; r < ROLE_RECOVERY; r++) {
		if (atomic_load(&st->role[r].ready) <
		    atomic_load(&st->role[r].wanted))
			return (0);
	}
	return (1);
}

static const char *const ctfe_names[STATUS_CTFE_MAX] = {
	[STATUS_CTFE_CONNECT] = "connect",
	[STATUS_CTFE_TIMEOUT] = "timeout",
	[STATUS_CTFE_RATELIMIT] = "ratelimit",
	[STATUS_CTFE_HTTP4XX] = "http4xx",
	[STATUS_CTFE_HTTP5XX] = "http5xx",
	[STATUS_CTFE_TOOBIG] = "toobig",
	[STATUS_CTFE_MALFORMED] = "malformed",
};

const char *
status_ctfe_name(enum status_ctfe k)
{
	if ((unsigned)k >= STATUS_CTFE_MAX)
		return ("unknown");
	return (ctfe_names[k]);
}
