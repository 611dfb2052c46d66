/*
 * testutil_db.c - the temporary database environment of the store's
 * Check suites (see testutil_db.h).  Runs in the test processes; the
 * recovery runs in a child that reports through a pipe (testutil.h).
 */
#include <unistd.h>

#include "common/util.h"
#include "store/dbenv.h"
#include "tests/testutil.h"
#include "tests/testutil_db.h"

#define RECOVER_TIMEOUT_MS	60000

int
tu_db_recover(const char *home, uint64_t cache_bytes, int64_t *ms)
{
	struct db_env_opts	o = { home, cache_bytes, 0 };
	int64_t			t0 = mono_ms();
	pid_t			pid;
	int			fds[2], v;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(fds[0]);
		tu_child_exit(fds[1], db_recover(&o) == 0 ? 0 : 1);
	}
	close(fds[1]);
	v = tu_child_verdict(pid, fds[0], RECOVER_TIMEOUT_MS);
	if (ms != NULL)
		*ms = mono_ms() - t0;
	return (v == 0 ? 0 : -1);
}

void
tu_db_open(DB_ENV **env, uint64_t cache_bytes)
{
	struct db_env_opts	o = { tu_dir, cache_bytes, 0 };

	if (access(tu_path(DB_TABLE_SPANS), F_OK) == -1)
		ck_assert_int_eq(tu_db_recover(tu_dir, cache_bytes, NULL), 0);
	ck_assert_int_eq(db_env_open(env, &o), 0);
}
