/*
 * check_client_limit.c - the daemon-wide client limits (server/
 * client_limit.c) on a real status table: tunnels taken in two worker
 * slots count against one total and one per-address cap, a given-back
 * place is free again, a freed slot (a reaped worker) stops counting,
 * and the stream check sees every slot.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <string.h>

#include "common/conf.h"
#include "common/status.h"
#include "server/client_limit.h"
#include "tests/testutil.h"

static uint64_t
v4key(const struct status *st, const char *ip)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return (client_addr_key(st, (struct sockaddr *)&sin));
}

START_TEST(test_tunnels_daemon_wide)
{
	struct status      *st = status_create();
	struct status_http *a, *b;
	uint64_t            k1, k2, k3;
	int                 i;

	ck_assert_ptr_nonnull(st);
	a = status_http_claim(st, 1001);
	b = status_http_claim(st, 1002);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	k1 = v4key(st, "192.0.2.1");
	k2 = v4key(st, "192.0.2.2");
	k3 = v4key(st, "192.0.2.3");
	ck_assert(k1 != k2 && k1 != 0 && k2 != 0);
	/* Total cap 4, per address 2, spread over two workers. */
	ck_assert_int_eq(climit_take(st, a, STATUS_CL_TUNNEL, k1, 4, 2), 0);
	ck_assert_int_eq(climit_take(st, b, STATUS_CL_TUNNEL, k1, 4, 2), 0);
	ck_assert_int_eq(climit_take(st, a, STATUS_CL_TUNNEL, k1, 4, 2), -1);
	ck_assert_int_eq(climit_take(st, b, STATUS_CL_TUNNEL, k1, 4, 2), -1);
	ck_assert_uint_eq(climit_count(st, STATUS_CL_TUNNEL, k1), 2);
	ck_assert_int_eq(climit_take(st, a, STATUS_CL_TUNNEL, k2, 4, 2), 0);
	ck_assert_int_eq(climit_take(st, b, STATUS_CL_TUNNEL, k3, 4, 2), 0);
	ck_assert_uint_eq(climit_total(st, STATUS_CL_TUNNEL), 4);
	ck_assert_int_eq(climit_take(st, a, STATUS_CL_TUNNEL, k2, 4, 2), -1);
	ck_assert_int_eq(climit_take(st, b, STATUS_CL_TUNNEL, k3, 4, 2), -1);
	/* Refusals left nothing behind. */
	ck_assert_uint_eq(climit_total(st, STATUS_CL_TUNNEL), 4);
	ck_assert_uint_eq(climit_count(st, STATUS_CL_TUNNEL, k2), 1);
	/* Streams are another kind: untouched. */
	ck_assert_uint_eq(climit_total(st, STATUS_CL_STREAM), 0);
	/* Given back: free again, in any worker. */
	climit_give(a, STATUS_CL_TUNNEL, k1);
	ck_assert_int_eq(climit_take(st, b, STATUS_CL_TUNNEL, k1, 4, 2), 0);
	/* Worker b is killed and reaped: its three tunnels stop counting. */
	status_http_release(st, 1002);
	ck_assert_uint_eq(climit_total(st, STATUS_CL_TUNNEL), 1);
	ck_assert_uint_eq(climit_count(st, STATUS_CL_TUNNEL, k1), 0);
	ck_assert_uint_eq(climit_count(st, STATUS_CL_TUNNEL, k2), 1);
	/* Its slot, claimed again, starts from zero. */
	b = status_http_claim(st, 1003);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(climit_total(st, STATUS_CL_TUNNEL), 1);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(climit_take(st, b, STATUS_CL_TUNNEL,
		                     i == 0 ? k1 : k3, 4, 2),
		    0);
	ck_assert_int_eq(climit_take(st, b, STATUS_CL_TUNNEL, k1, 4, 2), -1);
	/* No slot or no key: nothing can be counted, nothing admitted. */
	ck_assert_int_eq(climit_take(st, NULL, STATUS_CL_TUNNEL, k1, 9, 9), -1);
	ck_assert_int_eq(climit_take(st, a, STATUS_CL_TUNNEL, 0, 9, 9), -1);
	ck_assert_uint_eq(climit_total(st, STATUS_CL_TUNNEL), 4);
	status_destroy(st);
}
END_TEST

/* Keys: the same address in IPv4 and IPv4-mapped IPv6 is one client. */
START_TEST(test_addr_key)
{
	struct status      *st = status_create();
	struct sockaddr_in6 s6;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	ck_assert_int_eq(
	    inet_pton(AF_INET6, "::ffff:192.0.2.1", &s6.sin6_addr), 1);
	ck_assert_uint_eq(client_addr_key(st, (struct sockaddr *)&s6),
	    v4key(st, "192.0.2.1"));
	ck_assert_uint_ne(v4key(st, "192.0.2.1"), v4key(st, "192.0.2.9"));
	status_destroy(st);
}
END_TEST

/* stream_limit_check counts every live slot's streams. */
START_TEST(test_stream_check)
{
	struct status      *st = status_create();
	struct conf         cf;
	struct status_http *a, *b;
	uint64_t            k = 0;

	memset(&cf, 0, sizeof(cf));
	cf.stream.max_clients = 3;
	cf.stream.max_clients_per_ip = 2;
	a = status_http_claim(st, 2001);
	b = status_http_claim(st, 2002);
	k = v4key(st, "198.51.100.7");
	ck_assert_int_eq(stream_limit_check(st, &cf, k), 0);
	ck_assert_int_eq(climit_add(a, STATUS_CL_STREAM, k, 1), 0);
	ck_assert_int_eq(climit_add(b, STATUS_CL_STREAM, k, 1), 0);
	ck_assert_int_eq(stream_limit_check(st, &cf, k), -1); /* per ip */
	ck_assert_int_eq(stream_limit_check(st, &cf, k + 1), 0);
	ck_assert_int_eq(climit_add(b, STATUS_CL_STREAM, k + 1, 1), 0);
	ck_assert_int_eq(stream_limit_check(st, &cf, k + 2), -1); /* total */
	status_http_release(st, 2002);
	ck_assert_int_eq(stream_limit_check(st, &cf, k), 0);
	status_destroy(st);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite *s = suite_create("client_limit");
	TCase *tc = tcase_create("limits");

	tcase_add_test(tc, test_tunnels_daemon_wide);
	tcase_add_test(tc, test_addr_key);
	tcase_add_test(tc, test_stream_check);
	suite_add_tcase(s, tc);
	return (s);
}
