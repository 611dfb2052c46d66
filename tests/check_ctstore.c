/*
 * check_ctstore.c - the CT watcher's tables: positions (store/ctpos) and
 * static-CT issuers (store/issuers), in a fresh environment per test made
 * by db_recover in a child, as the master does it.  Checks round trips,
 * overwrites, listing, deletion, persistence across a close and reopen,
 * and that an issuer is only stored and returned under its own SHA-256.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/sha.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "store/ctpos.h"
#include "store/dbenv.h"
#include "store/issuers.h"

#define TEST_CACHE_BYTES	(4u << 20)

static char	home[64];

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return (remove(path));
}

static void
setup(void)
{
	struct db_env_opts	o = { home, TEST_CACHE_BYTES, 1 };
	pid_t			pid;
	int			status;

	ck_assert(xsnprintf(home, sizeof(home), "/tmp/check_ctstore."
	    "XXXXXX") == 0);
	ck_assert_ptr_nonnull(mkdtemp(home));
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		_exit(db_recover(&o) == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
teardown(void)
{
	(void)nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static DB_ENV *
env_open(void)
{
	struct db_env_opts	o = { home, TEST_CACHE_BYTES, 0 };
	DB_ENV			*env;

	ck_assert_int_eq(db_env_open(&env, &o), 0);
	return (env);
}

START_TEST(test_positions)
{
	DB_ENV		*env = env_open();
	DB		*db;
	struct ctpos	 p[3], *v;
	uint64_t	 next;
	ssize_t		 n;

	ck_assert_int_eq(ctpos_open(env, &db, 0), 0);
	ck_assert_int_eq(ctpos_get(env, db, "https://a.example/log", &next),
	    1);
	memset(p, 0, sizeof(p));
	snprintf(p[0].url, sizeof(p[0].url), "https://a.example/log");
	p[0].next = 12345678901ULL;
	p[0].updated = 1700000000;
	snprintf(p[1].url, sizeof(p[1].url), "http://b.example/x");
	p[1].next = 0;
	p[1].updated = 1700000001;
	ck_assert_int_eq(ctpos_put(env, db, p, 2), 0);
	ck_assert_int_eq(ctpos_get(env, db, "https://a.example/log", &next),
	    0);
	ck_assert_uint_eq(next, 12345678901ULL);
	/* the scheme does not matter for the match */
	ck_assert_int_eq(ctpos_get(env, db, "http://a.example/log", &next),
	    0);
	ck_assert_uint_eq(next, 12345678901ULL);
	/* overwrite */
	p[0].next = 12345678999ULL;
	ck_assert_int_eq(ctpos_put(env, db, p, 1), 0);
	n = ctpos_list(env, db, &v, 10);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(v[0].url, "https://a.example/log");
	ck_assert_uint_eq(v[0].next, 12345678999ULL);
	ck_assert_int_eq(v[0].updated, 1700000000);
	ck_assert_str_eq(v[1].url, "http://b.example/x");
	ck_assert_uint_eq(v[1].next, 0);
	free(v);
	/* bounded listing */
	ck_assert_int_eq(ctpos_list(env, db, &v, 1), 1);
	free(v);
	ck_assert_int_eq(ctpos_del(env, db, "http://b.example/x"), 0);
	ck_assert_int_eq(ctpos_del(env, db, "http://b.example/x"), 1);
	db->close(db, 0);
	db_env_close(env);

	/* persists across a reopen */
	env = env_open();
	ck_assert_int_eq(ctpos_open(env, &db, 1), 0);
	ck_assert_int_eq(ctpos_get(env, db, "https://a.example/log", &next),
	    0);
	ck_assert_uint_eq(next, 12345678999ULL);
	ck_assert_int_eq(ctpos_list(env, db, &v, 10), 1);
	free(v);
	db->close(db, 0);
	db_env_close(env);
}
END_TEST

START_TEST(test_issuers)
{
	DB_ENV		*env = env_open();
	DB		*db;
	uint8_t		 der[300], fp[32], bad[32];
	struct buf	 b;

	memset(der, 0x30, sizeof(der));
	SHA256(der, sizeof(der), fp);
	memset(bad, 1, sizeof(bad));
	buf_init(&b, ISSUERS_MAX_DER);
	ck_assert_int_eq(issuers_open(env, &db), 0);
	ck_assert_int_eq(issuers_get(env, db, fp, &b), 1);
	/* only under its own hash */
	ck_assert_int_eq(issuers_put(env, db, bad, der, sizeof(der)), -1);
	ck_assert_int_eq(issuers_put(env, db, fp, der, 0), -1);
	ck_assert_int_eq(issuers_put(env, db, fp, der, sizeof(der)), 0);
	ck_assert_int_eq(issuers_put(env, db, fp, der, sizeof(der)), 0);
	ck_assert_int_eq(issuers_get(env, db, bad, &b), 1);
	ck_assert_int_eq(issuers_get(env, db, fp, &b), 0);
	ck_assert_uint_eq(b.len, sizeof(der));
	ck_assert_int_eq(memcmp(b.data, der, sizeof(der)), 0);
	db->close(db, 0);
	db_env_close(env);

	env = env_open();
	ck_assert_int_eq(issuers_open(env, &db), 0);
	buf_reset(&b);
	ck_assert_int_eq(issuers_get(env, db, fp, &b), 0);
	ck_assert_uint_eq(b.len, sizeof(der));
	/* a buffer too small: not found rather than cut */
	buf_free(&b);
	buf_init(&b, 100);
	ck_assert_int_eq(issuers_get(env, db, fp, &b), 1);
	buf_free(&b);
	db->close(db, 0);
	db_env_close(env);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ctstore");
	TCase	*tc = tcase_create("tables");
	SRunner	*sr;
	int	 failed;

	log_init("check_ctstore");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_positions);
	tcase_add_test(tc, test_issuers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
