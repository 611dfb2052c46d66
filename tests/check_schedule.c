/*
 * check_schedule.c - unit tests for scanner/schedule.c: ordering by due
 * time, on-demand first, one entry per service, leases that hide a
 * claimed job until they run out, the on-demand cap, removal, and
 * malformed entries dropped instead of trusted.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/dbenv.h"
#include "store/schedule.h"
#include "tests/testutil.h"
#include "tests/testutil_db.h"

static DB_ENV		*env;
static struct sched_db	sd;

/* Checked fixture: a fresh environment in a fresh directory per test. */
static void
setup(void)
{
	tu_tmpdir_setup();
	tu_db_open(&env, 1 << 20);
	ck_assert_int_eq(sched_open(&sd, env), 0);
}

static void
teardown(void)
{
	sched_close(&sd);
	db_env_close(env);
	tu_tmpdir_teardown();
}

#define SET(id, due) ck_assert_int_eq(sched_set(&sd, id, strlen(id), due), 0)

static size_t
claim(int64_t now, size_t max, size_t max_od, struct sched_job *jobs)
{
	size_t	n;

	ck_assert_int_eq(sched_claim(&sd, now, 10000, jobs, max, max_od, &n),
	    0);
	return (n);
}

START_TEST(test_order_and_due)
{
	struct sched_job	j[8];
	size_t			n;

	SET("c.example:443,2", 3000);
	SET("a.example:443,2", 1000);
	SET("b.example:443,2", 2000);
	ck_assert_uint_eq(claim(500, 8, 8, j), 0);	/* nothing due */
	n = claim(2500, 8, 8, j);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(j[0].id, "a.example:443,2");
	ck_assert_str_eq(j[1].id, "b.example:443,2");
	ck_assert_int_eq(j[0].kind, SCHED_RESCAN);
}
END_TEST

START_TEST(test_one_entry_per_service)
{
	struct sched_job	j[8];
	size_t			count;
	int64_t			due;

	SET("a.example:443,2", 1000);
	SET("a.example:443,2", 5000);
	ck_assert_int_eq(sched_count(&sd, &count), 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(sched_get(&sd, "a.example:443,2", 15, &due), 0);
	ck_assert_int_eq(due, 5000);
	ck_assert_uint_eq(claim(2000, 8, 8, j), 0);
	ck_assert_uint_eq(claim(5000, 8, 8, j), 1);
	/* An offer never moves an entry (here: the lease just taken). */
	ck_assert_int_eq(sched_offer(&sd, "a.example:443,2", 15, 1), 1);
	ck_assert_int_eq(sched_get(&sd, "a.example:443,2", 15, &due), 0);
	ck_assert_int_eq(due, 5000 + 10000);
	ck_assert_int_eq(sched_offer(&sd, "b.example:443,2", 15, 7), 0);
	ck_assert_int_eq(sched_get(&sd, "b.example:443,2", 15, &due), 0);
	ck_assert_int_eq(due, 7);
}
END_TEST

START_TEST(test_on_demand_first_and_dedup)
{
	struct sched_job	j[8];
	size_t			count;

	SET("later.example:443,2", 1000);
	ck_assert_int_eq(sched_request(&sd, "new.example:443,2", 17, 100), 0);
	/* Asked twice: still one entry. */
	ck_assert_int_eq(sched_request(&sd, "new.example:443,2", 17, 100), 1);
	/* A scheduled rescan is moved to the front. */
	ck_assert_int_eq(sched_request(&sd, "later.example:443,2", 19, 100),
	    0);
	ck_assert_int_eq(sched_count(&sd, &count), 0);
	ck_assert_uint_eq(count, 2);
	ck_assert_uint_eq(claim(100, 8, 8, j), 2);
	ck_assert_int_eq(j[0].kind, SCHED_ON_DEMAND);
	ck_assert_int_eq(j[1].kind, SCHED_ON_DEMAND);
}
END_TEST

START_TEST(test_lease)
{
	struct sched_job	j[8];

	ck_assert_int_eq(sched_request(&sd, "x.example:443,2", 15, 0), 0);
	ck_assert_uint_eq(claim(1000, 8, 8, j), 1);
	/* In progress: neither a second claim nor a new request gets it. */
	ck_assert_uint_eq(claim(1000, 8, 8, j), 0);
	ck_assert_int_eq(sched_request(&sd, "x.example:443,2", 15, 1500), 1);
	ck_assert_uint_eq(claim(10999, 8, 8, j), 0);
	/* The lease ran out (scanner died): the job comes back. */
	ck_assert_uint_eq(claim(11000, 8, 8, j), 1);
	ck_assert_str_eq(j[0].id, "x.example:443,2");
	ck_assert_int_eq(j[0].kind, SCHED_RESCAN);
	/* Done: the scanner reschedules it. */
	SET("x.example:443,2", 50000);
	ck_assert_uint_eq(claim(20000, 8, 8, j), 0);
}
END_TEST

START_TEST(test_on_demand_cap_and_max)
{
	struct sched_job	j[8];
	char			id[64];
	int			i;

	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "od%d.example:443,2", i);
		ck_assert_int_eq(sched_request(&sd, id, strlen(id), 0), 0);
	}
	SET("due.example:443,2", 10);
	/* Two on-demand at most, then the due rescan. */
	ck_assert_uint_eq(claim(100, 8, 2, j), 3);
	ck_assert_int_eq(j[0].kind, SCHED_ON_DEMAND);
	ck_assert_int_eq(j[1].kind, SCHED_ON_DEMAND);
	ck_assert_str_eq(j[2].id, "due.example:443,2");
	ck_assert_uint_eq(claim(100, 1, 8, j), 1);
	ck_assert_uint_eq(claim(100, 8, 8, j), 2);
	ck_assert_uint_eq(claim(100, 8, 8, j), 0);
}
END_TEST

START_TEST(test_remove_and_malformed)
{
	struct sched_job	j[8];
	size_t			count;
	DBT			k, v;
	char			junk[3] = "xy";
	uint8_t			kind = 0;

	SET("a.example:443,2", 10);
	ck_assert_int_eq(sched_remove(&sd, "a.example:443,2", 15), 0);
	ck_assert_int_eq(sched_remove(&sd, "a.example:443,2", 15), 0);
	ck_assert_int_eq(sched_count(&sd, &count), 0);
	ck_assert_uint_eq(count, 0);
	/* A record too short to be an entry is dropped, not claimed. */
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = junk;
	k.size = 2;
	v.data = &kind;
	v.size = 1;
	ck_assert_int_eq(sd.sched->put(sd.sched, NULL, &k, &v, DB_AUTO_COMMIT),
	    0);
	SET("b.example:443,2", 10);
	ck_assert_uint_eq(claim(100, 8, 8, j), 1);
	ck_assert_str_eq(j[0].id, "b.example:443,2");
	ck_assert_int_eq(sched_set(&sd, "", 0, 10), -1);
}
END_TEST

/* How to probe travels with an on-demand entry (convergence.sni). */
START_TEST(test_request_probe_way)
{
	struct sched_job	j[8];
	struct sched_probe	fb, on, bad;
	DBT			k, v;
	uint8_t			key[8 + 17], val[3] = { 1, 2, 0 };
	size_t			i;

	memset(&fb, 0, sizeof(fb));
	fb.sni = SCHED_SNI_FALLBACK;
	fb.has_want = 1;
	for (i = 0; i < SCHED_WANT_LEN; i++)
		fb.want[i] = (uint8_t)(0xa0 + i);
	memset(&on, 0, sizeof(on));
	on.sni = SCHED_SNI_ON;
	bad = on;
	bad.sni = 9;
	ck_assert_int_eq(sched_request_probe(&sd, "f.example:443,2", 15, 0,
	    &fb), 0);
	/* The first request's way stands. */
	ck_assert_int_eq(sched_request_probe(&sd, "f.example:443,2", 15, 0,
	    &on), 1);
	ck_assert_int_eq(sched_request_probe(&sd, "o.example:443,2", 15, 0,
	    &on), 0);
	ck_assert_int_eq(sched_request(&sd, "p.example:443,2", 15, 0), 0);
	ck_assert_int_eq(sched_request_probe(&sd, "x.example:443,2", 15, 0,
	    &bad), -1);
	/* A rescan moved to the front takes the request's way. */
	SET("r.example:443,2", 5000);
	ck_assert_int_eq(sched_request_probe(&sd, "r.example:443,2", 15, 0,
	    &on), 0);
	ck_assert_uint_eq(claim(100, 8, 8, j), 4);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(j[i].kind, SCHED_ON_DEMAND);
		if (strcmp(j[i].id, "f.example:443,2") == 0) {
			ck_assert_int_eq(j[i].probe.sni, SCHED_SNI_FALLBACK);
			ck_assert_int_eq(j[i].probe.has_want, 1);
			ck_assert_mem_eq(j[i].probe.want, fb.want,
			    SCHED_WANT_LEN);
		} else if (strcmp(j[i].id, "p.example:443,2") == 0) {
			ck_assert_int_eq(j[i].probe.sni, SCHED_SNI_CONF);
			ck_assert_int_eq(j[i].probe.has_want, 0);
		} else {
			ck_assert_int_eq(j[i].probe.sni, SCHED_SNI_ON);
			ck_assert_int_eq(j[i].probe.has_want, 0);
		}
	}
	/* The lease that comes back after a dead scanner is a plain rescan. */
	ck_assert_uint_eq(claim(20000, 8, 8, j), 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(j[i].probe.sni, SCHED_SNI_CONF);
	/* A value of a length no writer makes is dropped, not claimed. */
	memset(key, 0, 8);
	memcpy(key + 8, "m.example:443,2", 15);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = key;
	k.size = 8 + 15;
	v.data = val;
	v.size = sizeof(val);
	ck_assert_int_eq(sd.sched->put(sd.sched, NULL, &k, &v, DB_AUTO_COMMIT),
	    0);
	ck_assert_uint_eq(claim(100, 8, 8, j), 0);
	ck_assert_uint_eq(claim(100, 8, 8, j), 0);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("schedule");
	TCase	*tc = tu_tcase(s, "schedule", 30);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_order_and_due);
	tcase_add_test(tc, test_one_entry_per_service);
	tcase_add_test(tc, test_on_demand_first_and_dedup);
	tcase_add_test(tc, test_lease);
	tcase_add_test(tc, test_on_demand_cap_and_max);
	tcase_add_test(tc, test_remove_and_malformed);
	tcase_add_test(tc, test_request_probe_way);
	return (s);
}
