/*
 * status.c - the master's shared process table (see status.h).
 * Created by the master before fork; written only by the master.
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
	[ROLE_NATSPUB] = "natspub",
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

const char *
status_nats_state_name(uint32_t state)
{
	static const char *const names[] = {
		[STATUS_NATS_OFF] = "off",
		[STATUS_NATS_CONNECTING] = "connecting",
		[STATUS_NATS_CONNECTED] = "connected",
		[STATUS_NATS_NOSTREAM] = "no_stream",
		[STATUS_NATS_RECONNECTING] = "reconnecting",
		[STATUS_NATS_CLOSED] = "closed",
	};

	if (state >= sizeof(names) / sizeof(names[0]))
		return ("unknown");
	return (names[state]);
}
