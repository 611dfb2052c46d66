/*
 * check_svcid.c - tests of scanner/svcid.c: a table of valid and invalid
 * service ids with the host, kind, port and type each valid one must give,
 * plus the inputs a table of C strings cannot hold (NUL bytes, lengths
 * around the limits).  Pure functions: no fixture, no files.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/svcid.h"
#include "tests/testutil.h"

struct svcid_case {
	const char	*id;
	int		 ok;		/* 1 valid, 0 invalid */
	const char	*host;		/* expected when valid */
	enum svcid_host	 kind;
	uint16_t	 port;
	int		 type;
};

#define GOOD(id, host, kind, port, type) \
	{ id, 1, host, kind, port, type }
#define BAD(id) \
	{ id, 0, NULL, SVCID_DNS, 0, 0 }

static const struct svcid_case cases[] = {
	/* DNS names */
	GOOD("github.com:443,2", "github.com", SVCID_DNS, 443, 2),
	GOOD("a:1,2", "a", SVCID_DNS, 1, 2),
	GOOD("localhost:65535,2", "localhost", SVCID_DNS, 65535, 2),
	GOOD("WWW.Example.COM:443,2", "WWW.Example.COM", SVCID_DNS, 443, 2),
	GOOD("xn--bcher-kva.example:443,2", "xn--bcher-kva.example",
	    SVCID_DNS, 443, 2),
	GOOD("a-b.c-d.e:8443,2", "a-b.c-d.e", SVCID_DNS, 8443, 2),
	GOOD("123.example.com:443,2", "123.example.com", SVCID_DNS, 443, 2),
	GOOD("foo1.com:443,2", "foo1.com", SVCID_DNS, 443, 2),
	GOOD("example.123x:443,2", "example.123x", SVCID_DNS, 443, 2),
	GOOD("git.example.org:22,1", "git.example.org", SVCID_DNS, 22, 1),
	GOOD("a.b.c.d.e.f:10,2", "a.b.c.d.e.f", SVCID_DNS, 10, 2),
	/* IPv4 */
	GOOD("192.0.2.1:443,2", "192.0.2.1", SVCID_IPV4, 443, 2),
	GOOD("0.0.0.0:443,2", "0.0.0.0", SVCID_IPV4, 443, 2),
	GOOD("255.255.255.255:443,2", "255.255.255.255", SVCID_IPV4, 443, 2),
	GOOD("10.0.0.10:8080,2", "10.0.0.10", SVCID_IPV4, 8080, 2),
	/* IPv6 */
	GOOD("[::1]:443,2", "::1", SVCID_IPV6, 443, 2),
	GOOD("[2001:db8::1]:8443,2", "2001:db8::1", SVCID_IPV6, 8443, 2),
	GOOD("[::ffff:192.0.2.1]:443,2", "::ffff:192.0.2.1", SVCID_IPV6, 443,
	    2),
	GOOD("[2001:DB8:0:0:0:0:0:1]:443,2", "2001:DB8:0:0:0:0:0:1",
	    SVCID_IPV6, 443, 2),
	GOOD("[fe80::1]:1,1", "fe80::1", SVCID_IPV6, 1, 1),

	/* empty pieces, separators */
	BAD(""),
	BAD(":443,2"),
	BAD("github.com:,2"),
	BAD("github.com:443,"),
	BAD("github.com:443"),
	BAD("github.com,2"),
	BAD("github.com"),
	BAD(",2"),
	/* type */
	BAD("github.com:443,3"),
	BAD("github.com:443,0"),
	BAD("github.com:443,22"),
	BAD("github.com:443,ssl"),
	BAD("github.com:443,2,2"),
	/* port */
	BAD("github.com:0,2"),
	BAD("github.com:65536,2"),
	BAD("github.com:0443,2"),
	BAD("github.com:00,2"),
	BAD("github.com:+443,2"),
	BAD("github.com:-1,2"),
	BAD("github.com:44a,2"),
	BAD("github.com:999999,2"),
	BAD("github.com:443 ,2"),
	/* DNS names */
	BAD("-github.com:443,2"),
	BAD("github-.com:443,2"),
	BAD("git_hub.com:443,2"),
	BAD("_acme.example.com:443,2"),
	BAD("github.com.:443,2"),
	BAD(".github.com:443,2"),
	BAD("github..com:443,2"),
	BAD("git hub.com:443,2"),
	BAD("git*hub.com:443,2"),
	BAD("gith\303\274b.com:443,2"),
	BAD("github.com\t:443,2"),
	BAD("exa/mple.com:443,2"),
	BAD("user@example.com:443,2"),
	/* IPv4 and numbers libc would take for addresses */
	BAD("256.1.1.1:443,2"),
	BAD("1.2.3.256:443,2"),
	BAD("01.2.3.4:443,2"),
	BAD("1.2.3.04:443,2"),
	BAD("1.2.3.08:443,2"),
	BAD("1.2.3:443,2"),
	BAD("1.2.3.4.5:443,2"),
	BAD("127.1:443,2"),
	BAD("2130706433:443,2"),
	BAD("0x7f.0.0.1:443,2"),
	BAD("0x7f000001:443,2"),
	BAD("1.2.3.4.:443,2"),
	/* IPv6 and brackets */
	BAD("::1:443,2"),
	BAD("2001:db8::1:443,2"),
	BAD("[::1:443,2"),
	BAD("::1]:443,2"),
	BAD("[]:443,2"),
	BAD("[::1]x:443,2"),
	BAD("x[::1]:443,2"),
	BAD("[[::1]]:443,2"),
	BAD("[fe80::1%eth0]:443,2"),
	BAD("[192.0.2.1]:443,2"),
	BAD("[::g]:443,2"),
	BAD("[::1],2"),
	BAD("[example.com]:443,2"),
};

START_TEST(test_table)
{
	const struct svcid_case	*c = &cases[_i];
	struct svcid		 t;
	char			 err[128];
	int			 r;

	memset(&t, 0xa5, sizeof(t));
	r = svcid_parse(c->id, strlen(c->id), &t, err, sizeof(err));
	if (!c->ok) {
		ck_assert_msg(r == -1, "\"%s\" accepted", c->id);
		ck_assert_msg(err[0] != '\0', "\"%s\": no reason", c->id);
		return;
	}
	ck_assert_msg(r == 0, "\"%s\" refused: %s", c->id, err);
	ck_assert_str_eq(t.host, c->host);
	ck_assert_int_eq(t.kind, c->kind);
	ck_assert_uint_eq(t.port, c->port);
	ck_assert_int_eq(t.type, c->type);
}
END_TEST

START_TEST(test_addresses)
{
	static const uint8_t	v4[4] = { 192, 0, 2, 1 };
	static const uint8_t	v6[16] = { 0x20, 0x01, 0x0d, 0xb8,
				    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct svcid		t;
	const char		*id;

	id = "192.0.2.1:443,2";
	ck_assert_int_eq(svcid_parse(id, strlen(id), &t, NULL, 0), 0);
	ck_assert_mem_eq(t.addr, v4, 4);
	id = "[2001:db8::1]:443,2";
	ck_assert_int_eq(svcid_parse(id, strlen(id), &t, NULL, 0), 0);
	ck_assert_mem_eq(t.addr, v6, 16);
}
END_TEST

/* Only len counts: the id need not be terminated, and a NUL is refused. */
START_TEST(test_len_and_nul)
{
	static const char	nul[] = "github.com\0x:443,2";
	struct svcid		t;
	char			err[128];

	ck_assert_int_eq(svcid_parse("a:1,2junk", 5, &t, err, sizeof(err)),
	    0);
	ck_assert_str_eq(t.host, "a");
	ck_assert_int_eq(svcid_parse(nul, sizeof(nul) - 1, &t, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	ck_assert_int_eq(svcid_parse("a:1,2\0", 6, &t, err, sizeof(err)), -1);
	ck_assert_int_eq(svcid_parse(NULL, 0, &t, err, sizeof(err)), -1);
	/* no t, no err: validation only */
	ck_assert_int_eq(svcid_parse("a:1,2", 5, NULL, NULL, 0), 0);
	ck_assert_int_eq(svcid_parse("a:0,2", 5, NULL, NULL, 0), -1);
}
END_TEST

/* Labels of 63 pass, 64 do not; the id is at most SVCID_MAX bytes. */
START_TEST(test_name_limits)
{
	char		id[400], name[300];
	struct svcid	t;
	size_t		n;

	/* one label of 63 */
	memset(name, 'a', 63);
	name[63] = '\0';
	snprintf(id, sizeof(id), "%s.com:443,2", name);
	ck_assert_int_eq(svcid_parse(id, strlen(id), &t, NULL, 0), 0);
	/* 64 */
	memset(name, 'a', 64);
	name[64] = '\0';
	snprintf(id, sizeof(id), "%s.com:443,2", name);
	ck_assert_int_eq(svcid_parse(id, strlen(id), &t, NULL, 0), -1);
	/*
	 * The 253-byte name limit cannot be reached: ":1,2" leaves at most
	 * 251 bytes of the 255 for the host.  251 passes, 252 does not.
	 */
	memset(name, 'b', 251);
	name[63] = name[127] = name[191] = '.';
	name[251] = '\0';
	n = (size_t)snprintf(id, sizeof(id), "%s:1,2", name);
	ck_assert_uint_eq(n, SVCID_MAX);
	ck_assert_int_eq(svcid_parse(id, n, &t, NULL, 0), 0);
	ck_assert_str_eq(t.host, name);
	name[251] = 'b';
	name[252] = '\0';
	n = (size_t)snprintf(id, sizeof(id), "%s:1,2", name);
	ck_assert_int_eq(svcid_parse(id, n, &t, NULL, 0), -1);
	/* the whole id: 255 passes, 256 does not (name 247 + ":65535,2") */
	memset(name, 'c', 247);
	name[63] = name[127] = name[191] = '.';
	name[247] = '\0';
	n = (size_t)snprintf(id, sizeof(id), "%s:65535,2", name);
	ck_assert_uint_eq(n, SVCID_MAX);
	ck_assert_int_eq(svcid_parse(id, n, &t, NULL, 0), 0);
	name[247] = 'c';
	name[248] = '\0';
	n = (size_t)snprintf(id, sizeof(id), "%s:65535,2", name);
	ck_assert_uint_eq(n, SVCID_MAX + 1);
	ck_assert_int_eq(svcid_parse(id, n, &t, NULL, 0), -1);
}
END_TEST

/* The reason names the problem. */
START_TEST(test_reasons)
{
	static const struct {
		const char	*id;
		const char	*why;
	} r[] = {
		{ "github.com.:443,2", "trailing dot" },
		{ "127.1:443,2", "numeric host" },
		{ "1.2.3.256:443,2", "IPv4" },
		{ "::1:443,2", "brackets" },
		{ "[::1:443,2", "']'" },
		{ "a:0443,2", "leading zero" },
		{ "a:0,2", "port 0" },
		{ "a:65536,2", "out of range" },
		{ "a:443,3", "type" },
		{ "-a:443,2", "starts with '-'" },
		{ "a-:443,2", "ends with '-'" },
		{ "a_b:443,2", "'_'" },
		{ "a\303\251:443,2", "non-ASCII" },
		{ "", "empty" },
	};
	char	err[128];
	size_t	i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		ck_assert_int_eq(svcid_parse(r[i].id, strlen(r[i].id), NULL,
		    err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, r[i].why) != NULL,
		    "\"%s\": reason \"%s\" lacks \"%s\"", r[i].id, err,
		    r[i].why);
	}
}
END_TEST

/* A short err buffer is cut, never overrun. */
START_TEST(test_short_err)
{
	char	err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(svcid_parse("a:0,2", 5, NULL, err, 4), -1);
	ck_assert_uint_eq(strlen(err), 3);
	ck_assert_int_eq(err[4], 'x');
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("svcid");
	TCase	*tc = tcase_create("svcid");

	tcase_add_loop_test(tc, test_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_len_and_nul);
	tcase_add_test(tc, test_name_limits);
	tcase_add_test(tc, test_reasons);
	tcase_add_test(tc, test_short_err);
	suite_add_tcase(s, tc);
	return (s);
}
