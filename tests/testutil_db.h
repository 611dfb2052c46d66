/*
 * testutil_db.h - the temporary database environment shared by the Check
 * suites of the store (tests/testutil_db.c): recovery in a child as the
 * master does it, then an environment opened as a user.
 */
#ifndef NOTARYD_TESTUTIL_DB_H
#define NOTARYD_TESTUTIL_DB_H

#include <stdint.h>

#include "store/dbenv.h"

/*
 * db_recover() on home in a forked child, within 60 s; 0 or -1.  ms, if
 * not NULL, gets the time it took.  Asserts only on fork/pipe failure.
 */
int	tu_db_recover(const char *home, uint64_t cache_bytes, int64_t *ms);
/*
 * The environment in tu_dir (testutil.h): created by tu_db_recover when
 * it has no tables yet, then opened; fails the test otherwise.
 */
void	tu_db_open(DB_ENV **env, uint64_t cache_bytes);

#endif
