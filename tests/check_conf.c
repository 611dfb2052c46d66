/*
 * check_conf.c - unit tests for common/conf.c: the YAML schema, every
 * value parser, error messages with their exact positions, "-o"
 * overrides, path resolution, reload comparison, and that the shipped
 * conf/notaryd.yaml is exactly the built-in defaults.
 *
 * The tests run inside a mkdtemp directory (created and removed by an
 * unchecked fixture in the parent), so error messages name "t.yaml".
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "tests/testutil.h"

#define KIB	((uint64_t)1 << 10)
#define MIB	((uint64_t)1 << 20)
#define GIB	((uint64_t)1 << 30)
#define SEC	INT64_C(1000)
#define MINUTE	(60 * SEC)
#define HOUR	(60 * MINUTE)
#define DAY	(24 * HOUR)

static char	orig_cwd[PATH_MAX];
static char	errbuf[CONF_ERR_MAX];

/* Every key of spec/interface.md plus the added ones. */
static const char *const all_keys[] = {
	"daemon.data_dir", "daemon.user", "daemon.group", "daemon.pidfile",
	"daemon.stop_timeout",
	"log.level", "log.target",
	"http.listen", "http.workers", "http.max_connections",
	"http.keepalive_timeout", "http.request_timeout", "http.max_request",
	"http.max_headers", "http.max_body", "http.trusted_proxies",
	"keys.private", "keys.public",
	"cache.size", "cache.max_response", "cache.ttl",
	"signer.processes",
	"scanner.processes", "scanner.concurrency", "scanner.timeout",
	"scanner.sni", "scanner.rescan_interval", "scanner.rescan_newer_than",
	"scanner.on_demand_limit", "scanner.deny", "scanner.allow",
	"perspectives.hold",
	"convergence.listen", "convergence.certificate", "convergence.key",
	"convergence.sni", "convergence.proxy_listen",
	"convergence.proxy_max_tunnels", "convergence.proxy_max_tunnels_per_ip",
	"convergence.proxy_idle_timeout",
	"ctwatch.enabled", "ctwatch.log_list", "ctwatch.logs",
	"ctwatch.poll_interval", "ctwatch.batch_size", "ctwatch.resume",
	"ctwatch.log_list_refresh", "ctwatch.log_states",
	"ctwatch.parallel_fetches", "ctwatch.max_fetches",
	"ctwatch.max_backfill", "ctwatch.dedup", "ctwatch.fetch_timeout",
	"ctwatch.max_response",
	"stream.lite_path", "stream.full_path", "stream.domains_path",
	"stream.latest", "stream.client_queue", "stream.ping_interval",
	"stream.idle_timeout", "stream.json_heartbeat", "stream.ring_size",
	"metrics.path", "metrics.allow",
	"database.cache_size",
};

/* ---- helpers ---------------------------------------------------------- */

/*
 * Unchecked fixture: the tests of a case run in a temporary directory
 * (tu_dir), so relative names in the messages are short and known.
 */
static void
tmp_setup(void)
{
	ck_assert_ptr_nonnull(getcwd(orig_cwd, sizeof(orig_cwd)));
	tu_tmpdir_setup();
	ck_assert_int_eq(chdir(tu_dir), 0);
}

static void
tmp_teardown(void)
{
	ck_assert_int_eq(chdir(orig_cwd), 0);
	tu_tmpdir_teardown();
}

static void
write_file(const char *name, const char *text)
{
	tu_write_file(name, text, strlen(text), 0644);
}

static struct conf *
load_str(const char *text, const struct conf_override *ov, size_t nov)
{
	write_file("t.yaml", text);
	return (conf_load("t.yaml", ov, nov, errbuf, sizeof(errbuf)));
}

/* Loads, or fails the test with the errors. */
static struct conf *
must_load(const char *text, const struct conf_override *ov, size_t nov)
{
	struct conf	*cf = load_str(text, ov, nov);

	ck_assert_msg(cf != NULL, "load failed: %s", errbuf);
	ck_assert_str_eq(errbuf, "");
	return (cf);
}

#define ASSERT_FAILS(text, expected) do {				\
	struct conf *cf_ = load_str((text), NULL, 0);			\
	ck_assert_msg(cf_ == NULL, "loaded: %s", (text));		\
	ck_assert_str_eq(errbuf, (expected));				\
} while (0)

#define ASSERT_OV_FAILS(ov, n, expected) do {				\
	struct conf *cf_ = conf_load(NULL, (ov), (n), errbuf,		\
	    sizeof(errbuf));						\
	ck_assert_msg(cf_ == NULL, "override accepted");		\
	ck_assert_str_eq(errbuf, (expected));				\
} while (0)

/* cwd + "/" + rel, for expected absolute paths. */
static char *
in_cwd(const char *rel)
{
	static char	buf[PATH_MAX * 2];
	char		cwd[PATH_MAX];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(buf, sizeof(buf), "%s/%s", cwd, rel);
	return (buf);
}

static unsigned
listen_port(const struct netaddr_listen *l)
{
	if (l->addr.ss_family == AF_INET)
		return (ntohs(((const struct sockaddr_in *)&l->addr)->sin_port));
	return (ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port));
}

static void
cidr_text(const struct netaddr_cidr *c, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->prefix);
}

static int
listen_list_same(const struct netaddr_listen_list *a,
    const struct netaddr_listen_list *b)
{
	size_t	i;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].text, b->v[i].text) != 0 ||
		    a->v[i].addrlen != b->v[i].addrlen ||
		    memcmp(&a->v[i].addr, &b->v[i].addr, a->v[i].addrlen) != 0)
			return (0);
	return (1);
}

static int
cidr_list_same(const struct netaddr_cidr_list *a, const struct netaddr_cidr_list *b)
{
	size_t	i;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++)
		if (a->v[i].family != b->v[i].family ||
		    a->v[i].prefix != b->v[i].prefix ||
		    memcmp(a->v[i].addr, b->v[i].addr, 16) != 0)
			return (0);
	return (1);
}

#define SAME_STR(f)	do { if (strcmp(a->f, b->f) != 0) return (#f); } while (0)
#define SAME_NUM(f)	do { if (a->f != b->f) return (#f); } while (0)

/* The first field where a and b differ, or NULL (path not compared). */
static const char *
conf_diff(const struct conf *a, const struct conf *b)
{
	size_t	i;

	SAME_STR(daemon.data_dir);
	SAME_STR(daemon.user);
	SAME_STR(daemon.group);
	SAME_STR(daemon.pidfile);
	SAME_NUM(daemon.stop_timeout_ms);
	SAME_NUM(log.level);
	SAME_STR(log.target);
	if (!listen_list_same(&a->http.listen, &b->http.listen))
		return ("http.listen");
	SAME_NUM(http.workers);
	SAME_NUM(http.max_connections);
	SAME_NUM(http.keepalive_timeout_ms);
	SAME_NUM(http.request_timeout_ms);
	SAME_NUM(http.max_request);
	SAME_NUM(http.max_headers);
	SAME_NUM(http.max_body);
	if (!cidr_list_same(&a->http.trusted_proxies, &b->http.trusted_proxies))
		return ("http.trusted_proxies");
	SAME_STR(keys.private_key);
	SAME_STR(keys.public_key);
	SAME_NUM(cache.size);
	SAME_NUM(cache.max_response);
	SAME_NUM(cache.ttl_ms);
	SAME_NUM(signer.processes);
	SAME_NUM(scanner.processes);
	SAME_NUM(scanner.concurrency);
	SAME_NUM(scanner.timeout_ms);
	SAME_NUM(scanner.sni);
	SAME_NUM(scanner.rescan_interval_ms);
	SAME_NUM(scanner.rescan_newer_than_ms);
	SAME_NUM(scanner.on_demand_limit);
	if (!cidr_list_same(&a->scanner.deny, &b->scanner.deny))
		return ("scanner.deny");
	if (!cidr_list_same(&a->scanner.allow, &b->scanner.allow))
		return ("scanner.allow");
	SAME_NUM(perspectives.hold_ms);
	if (!listen_list_same(&a->convergence.listen, &b->convergence.listen))
		return ("convergence.listen");
	SAME_STR(convergence.certificate);
	SAME_STR(convergence.key);
	SAME_NUM(convergence.sni);
	if (!listen_list_same(&a->convergence.proxy_listen,
	    &b->convergence.proxy_listen))
		return ("convergence.proxy_listen");
	SAME_NUM(convergence.proxy_max_tunnels);
	SAME_NUM(convergence.proxy_max_tunnels_per_ip);
	SAME_NUM(convergence.proxy_idle_timeout_ms);
	SAME_NUM(ctwatch.enabled);
	SAME_NUM(ctwatch.log_list.n);
	for (i = 0; i < a->ctwatch.log_list.n; i++)
		SAME_STR(ctwatch.log_list.v[i]);
	SAME_NUM(ctwatch.log_list_refresh_ms);
	SAME_NUM(ctwatch.log_states);
	SAME_NUM(ctwatch.logs.n);
	for (i = 0; i < a->ctwatch.logs.n; i++) {
		SAME_STR(ctwatch.logs.v[i].url);
		SAME_STR(ctwatch.logs.v[i].name);
		SAME_STR(ctwatch.logs.v[i].operator);
		SAME_STR(ctwatch.logs.v[i].key);
		SAME_NUM(ctwatch.logs.v[i].type);
	}
	SAME_NUM(ctwatch.poll_interval_ms);
	SAME_NUM(ctwatch.batch_size);
	SAME_NUM(ctwatch.resume);
	SAME_NUM(ctwatch.parallel_fetches);
	SAME_NUM(ctwatch.max_fetches);
	SAME_NUM(ctwatch.max_backfill);
	SAME_NUM(ctwatch.dedup);
	SAME_NUM(ctwatch.fetch_timeout_ms);
	SAME_NUM(ctwatch.max_response);
	SAME_STR(stream.lite_path);
	SAME_STR(stream.full_path);
	SAME_STR(stream.domains_path);
	SAME_NUM(stream.latest);
	SAME_NUM(stream.client_queue);
	SAME_NUM(stream.ping_interval_ms);
	SAME_NUM(stream.idle_timeout_ms);
	SAME_NUM(stream.json_heartbeat_ms);
	SAME_NUM(stream.ring_size);
	SAME_STR(metrics.path);
	if (!cidr_list_same(&a->metrics.allow, &b->metrics.allow))
		return ("metrics.allow");
	SAME_NUM(database.cache_size);
	return (NULL);
}

/* The shipped config, from the source tree. */
static const char *
shipped_conf(void)
{
	return (tu_srcdir_file("conf/notaryd.yaml"));
}

/* ---- defaults --------------------------------------------------------- */

START_TEST(test_defaults_no_file)
{
	struct conf	*cf;
	char		 c[64];

	strcpy(errbuf, "junk");
	cf = conf_load(NULL, NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(cf);
	ck_assert_str_eq(errbuf, "");
	ck_assert_ptr_null(cf->path);

	ck_assert_str_eq(cf->daemon.data_dir, in_cwd("var"));
	ck_assert_str_eq(cf->daemon.user, "");
	ck_assert_str_eq(cf->daemon.group, "");
	ck_assert_str_eq(cf->daemon.pidfile, "");
	ck_assert_int_eq(cf->daemon.stop_timeout_ms, 10 * SEC);
	ck_assert_int_eq(cf->log.level, LOG_LEVEL_INFO);
	ck_assert_str_eq(cf->log.target, "stderr");

	ck_assert_uint_eq(cf->http.listen.n, 1);
	ck_assert_str_eq(cf->http.listen.v[0].text, "127.0.0.1:8080");
	ck_assert_int_eq(cf->http.listen.v[0].addr.ss_family, AF_INET);
	ck_assert_uint_eq(cf->http.listen.v[0].addrlen,
	    sizeof(struct sockaddr_in));
	ck_assert_uint_eq(listen_port(&cf->http.listen.v[0]), 8080);
	ck_assert_int_eq(cf->http.workers, 2);
	ck_assert_int_eq(cf->http.max_connections, 10000);
	ck_assert_int_eq(cf->http.keepalive_timeout_ms, 15 * SEC);
	ck_assert_int_eq(cf->http.request_timeout_ms, 10 * SEC);
	ck_assert_uint_eq(cf->http.max_request, 8 * KIB);
	ck_assert_int_eq(cf->http.max_headers, 64);
	ck_assert_uint_eq(cf->http.max_body, 16 * KIB);
	ck_assert_uint_eq(cf->http.trusted_proxies.n, 0);

	ck_assert_str_eq(cf->keys.private_key, in_cwd("var/keys/notary.priv"));
	ck_assert_str_eq(cf->keys.public_key, in_cwd("var/keys/notary.pub"));
	ck_assert_uint_eq(cf->cache.size, 64 * MIB);
	ck_assert_uint_eq(cf->cache.max_response, 8 * KIB);
	ck_assert_int_eq(cf->cache.ttl_ms, 12 * HOUR);
	ck_assert_int_eq(cf->signer.processes, 1);

	ck_assert_int_eq(cf->scanner.processes, 1);
	ck_assert_int_eq(cf->scanner.concurrency, 256);
	ck_assert_int_eq(cf->scanner.timeout_ms, 10 * SEC);
	ck_assert(cf->scanner.sni);
	ck_assert_int_eq(cf->scanner.rescan_interval_ms, 12 * HOUR);
	ck_assert_int_eq(cf->scanner.rescan_newer_than_ms, 5 * DAY);
	ck_assert_int_eq(cf->scanner.on_demand_limit, 10);
	ck_assert_uint_eq(cf->scanner.deny.n, 25);
	cidr_text(&cf->scanner.deny.v[0], c, sizeof(c));
	ck_assert_str_eq(c, "0.0.0.0/8");
	cidr_text(&cf->scanner.deny.v[24], c, sizeof(c));
	ck_assert_str_eq(c, "ff00::/8");
	ck_assert_uint_eq(cf->scanner.allow.n, 0);

	ck_assert_uint_eq(cf->convergence.listen.n, 0);
	ck_assert_str_eq(cf->convergence.certificate, "");
	ck_assert_str_eq(cf->convergence.key, "");
	ck_assert_uint_eq(cf->convergence.proxy_listen.n, 0);
	ck_assert_int_eq(cf->perspectives.hold_ms, 3000);
	ck_assert_int_eq(cf->convergence.sni, CONF_SNI_FALLBACK);
	ck_assert_int_eq(cf->convergence.proxy_max_tunnels, 1000);
	ck_assert_int_eq(cf->convergence.proxy_max_tunnels_per_ip, 16);
	ck_assert_int_eq(cf->convergence.proxy_idle_timeout_ms, 10 * 1000);

	ck_assert(cf->ctwatch.enabled);
	ck_assert_uint_eq(cf->ctwatch.log_list.n, 1);
	ck_assert_str_eq(cf->ctwatch.log_list.v[0], "");
	ck_assert_int_eq(cf->ctwatch.log_list_refresh_ms, 3600 * SEC);
	ck_assert_uint_eq(cf->ctwatch.log_states, CONF_CTS_USABLE |
	    CONF_CTS_QUALIFIED | CONF_CTS_READONLY);
	ck_assert_uint_eq(cf->ctwatch.logs.n, 0);
	ck_assert_int_eq(cf->ctwatch.poll_interval_ms, 10 * SEC);
	ck_assert_int_eq(cf->ctwatch.batch_size, 256);
	ck_assert(cf->ctwatch.resume);
	ck_assert_int_eq(cf->ctwatch.parallel_fetches, 2);
	ck_assert_int_eq(cf->ctwatch.max_fetches, 64);
	ck_assert_int_eq(cf->ctwatch.max_backfill, 100000);
	ck_assert(!cf->ctwatch.dedup);
	ck_assert_int_eq(cf->ctwatch.fetch_timeout_ms, 30 * SEC);
	ck_assert_uint_eq(cf->ctwatch.max_response, 16 << 20);

	ck_assert_str_eq(cf->stream.lite_path, "/");
	ck_assert_str_eq(cf->stream.full_path, "/full-stream");
	ck_assert_str_eq(cf->stream.domains_path, "/domains-only");
	ck_assert_int_eq(cf->stream.latest, 25);
	ck_assert_int_eq(cf->stream.client_queue, 300);
	ck_assert_int_eq(cf->stream.ping_interval_ms, 30 * SEC);
	ck_assert_int_eq(cf->stream.idle_timeout_ms, 65 * SEC);
	ck_assert_int_eq(cf->stream.json_heartbeat_ms, 30 * SEC);
	ck_assert_uint_eq(cf->stream.ring_size, 16 * MIB);

	ck_assert_str_eq(cf->metrics.path, "/metrics");
	ck_assert_uint_eq(cf->metrics.allow.n, 2);
	cidr_text(&cf->metrics.allow.v[0], c, sizeof(c));
	ck_assert_str_eq(c, "127.0.0.0/8");
	cidr_text(&cf->metrics.allow.v[1], c, sizeof(c));
	ck_assert_str_eq(c, "::1/128");
	ck_assert_uint_eq(cf->database.cache_size, 32 * MIB);
	conf_free(cf);
}
END_TEST

/* Empty, comment-only and "---"-only files all mean the defaults. */
START_TEST(test_defaults_empty_files)
{
	static const char *const texts[] = { "", "# nothing\n\n",
	    "---\n", "daemon:\nhttp: ~\n" };
	struct conf	*def, *cf;
	size_t		 i;

	def = conf_load(NULL, NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(def);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		cf = must_load(texts[i], NULL, 0);
		ck_assert_ptr_null(conf_diff(def, cf));
		ck_assert_str_eq(cf->path, in_cwd("t.yaml"));
		conf_free(cf);
	}
	conf_free(def);
}
END_TEST

START_TEST(test_default_path)
{
	ck_assert_str_eq(conf_default_path(), SYSCONFDIR "/notaryd.yaml");
}
END_TEST

/* ---- good files ------------------------------------------------------- */

static const char full_yaml[] =
	"# every key changed\n"
	"daemon:\n"
	"  data_dir: /srv/notary\n"
	"  user: notary\n"
	"  group: nogroup\n"
	"  pidfile: /run/notaryd.pid\n"
	"  stop_timeout: 250ms\n"
	"log:\n"
	"  level: debug\n"
	"  target: syslog\n"
	"http:\n"
	"  listen: [\"*:80\", \"[::]:8443\", localhost:8081]\n"
	"  workers: 8\n"
	"  max_connections: 500\n"
	"  keepalive_timeout: 1m\n"
	"  request_timeout: 2s\n"
	"  max_request: 16KB\n"
	"  max_headers: 100\n"
	"  max_body: 4096\n"
	"  trusted_proxies:\n"
	"    - 10.0.0.1\n"
	"    - 2001:db8::/48\n"
	"keys:\n"
	"  private: /etc/notaryd/k.priv\n"
	"  public: k.pub\n"
	"cache:\n"
	"  size: 1G\n"
	"  max_response: 64K\n"
	"  ttl: 1d\n"
	"signer:\n"
	"  processes: 3\n"
	"scanner:\n"
	"  processes: 4\n"
	"  concurrency: 1000\n"
	"  timeout: 5s\n"
	"  sni: off\n"
	"  rescan_interval: 0\n"
	"  rescan_newer_than: 30d\n"
	"  on_demand_limit: 0\n"
	"  deny: [10.0.0.0/8]\n"
	"  allow: [127.0.0.0/8, \"::1\"]\n"
	"convergence:\n"
	"  listen: [\"0.0.0.0:443\", \"0.0.0.0:4242\"]\n"
	"  certificate: tls/cert.pem\n"
	"  key: /etc/notaryd/tls.key\n"
	"  sni: on\n"
	"  proxy_listen: [\"0.0.0.0:8000\"]\n"
	"  proxy_max_tunnels: 50\n"
	"  proxy_max_tunnels_per_ip: 5\n"
	"  proxy_idle_timeout: 30s\n"
	"ctwatch:\n"
	"  enabled: no\n"
	"  log_list: [https://www.gstatic.com/ct/log_list/v3/log_list.json,"
	" lists/extra.json]\n"
	"  log_list_refresh: 5m\n"
	"  log_states: [usable, retired]\n"
	"  logs:\n"
	"    - url: https://ct.example/2025h1/\n"
	"      name: Example 2025h1\n"
	"      operator: Example\n"
	"      type: static\n"
	"      key: MFkwEw==\n"
	"    - {url: \"http://127.0.0.1:9000/log\"}\n"
	"  poll_interval: 500ms\n"
	"  batch_size: 32\n"
	"  resume: False\n"
	"  parallel_fetches: 4\n"
	"  max_fetches: 100\n"
	"  max_backfill: 0\n"
	"  dedup: true\n"
	"  fetch_timeout: 5s\n"
	"  max_response: 1M\n"
	"stream:\n"
	"  lite_path: /lite\n"
	"  full_path: /full\n"
	"  domains_path: /domains\n"
	"  latest: 1000\n"
	"  client_queue: 10\n"
	"  ping_interval: 5s\n"
	"  idle_timeout: 1h\n"
	"  json_heartbeat: 0\n"
	"  ring_size: 1G\n"
	"metrics:\n"
	"  path: /internal/metrics\n"
	"  allow: []\n"
	"database:\n"
	"  cache_size: 256M\n";

START_TEST(test_full_file)
{
	struct conf		*cf = must_load(full_yaml, NULL, 0);
	const struct conf_ctlog	*l;
	char			 c[64];

	ck_assert_str_eq(cf->path, in_cwd("t.yaml"));
	ck_assert_str_eq(cf->daemon.data_dir, "/srv/notary");
	ck_assert_str_eq(cf->daemon.user, "notary");
	ck_assert_str_eq(cf->daemon.group, "nogroup");
	ck_assert_str_eq(cf->daemon.pidfile, "/run/notaryd.pid");
	ck_assert_int_eq(cf->daemon.stop_timeout_ms, 250);
	ck_assert_int_eq(cf->log.level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(cf->log.target, "syslog");

	ck_assert_uint_eq(cf->http.listen.n, 3);
	ck_assert_str_eq(cf->http.listen.v[0].text, "0.0.0.0:80");
	ck_assert_str_eq(cf->http.listen.v[1].text, "[::]:8443");
	ck_assert_int_eq(cf->http.listen.v[1].addr.ss_family, AF_INET6);
	ck_assert_uint_eq(cf->http.listen.v[1].addrlen,
	    sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(listen_port(&cf->http.listen.v[1]), 8443);
	ck_assert_str_eq(cf->http.listen.v[2].text, "127.0.0.1:8081");
	ck_assert_int_eq(cf->http.workers, 8);
	ck_assert_int_eq(cf->http.max_connections, 500);
	ck_assert_int_eq(cf->http.keepalive_timeout_ms, MINUTE);
	ck_assert_int_eq(cf->http.request_timeout_ms, 2 * SEC);
	ck_assert_uint_eq(cf->http.max_request, 16 * KIB);
	ck_assert_int_eq(cf->http.max_headers, 100);
	ck_assert_uint_eq(cf->http.max_body, 4096);
	ck_assert_uint_eq(cf->http.trusted_proxies.n, 2);
	cidr_text(&cf->http.trusted_proxies.v[0], c, sizeof(c));
	ck_assert_str_eq(c, "10.0.0.1/32");
	cidr_text(&cf->http.trusted_proxies.v[1], c, sizeof(c));
	ck_assert_str_eq(c, "2001:db8::/48");

	ck_assert_str_eq(cf->keys.private_key, "/etc/notaryd/k.priv");
	ck_assert_str_eq(cf->keys.public_key, "/srv/notary/k.pub");
	ck_assert_uint_eq(cf->cache.size, GIB);
	ck_assert_uint_eq(cf->cache.max_response, 64 * KIB);
	ck_assert_int_eq(cf->cache.ttl_ms, DAY);
	ck_assert_int_eq(cf->signer.processes, 3);

	ck_assert_int_eq(cf->scanner.processes, 4);
	ck_assert_int_eq(cf->scanner.concurrency, 1000);
	ck_assert_int_eq(cf->scanner.timeout_ms, 5 * SEC);
	ck_assert(!cf->scanner.sni);
	ck_assert_int_eq(cf->scanner.rescan_interval_ms, 0);
	ck_assert_int_eq(cf->scanner.rescan_newer_than_ms, 30 * DAY);
	ck_assert_int_eq(cf->scanner.on_demand_limit, 0);
	ck_assert_uint_eq(cf->scanner.deny.n, 1);
	ck_assert_uint_eq(cf->scanner.allow.n, 2);
	cidr_text(&cf->scanner.allow.v[1], c, sizeof(c));
	ck_assert_str_eq(c, "::1/128");

	ck_assert_uint_eq(cf->convergence.listen.n, 2);
	ck_assert_str_eq(cf->convergence.listen.v[1].text, "0.0.0.0:4242");
	ck_assert_str_eq(cf->convergence.certificate,
	    "/srv/notary/tls/cert.pem");
	ck_assert_str_eq(cf->convergence.key, "/etc/notaryd/tls.key");
	ck_assert_uint_eq(cf->convergence.proxy_listen.n, 1);
	ck_assert_str_eq(cf->convergence.proxy_listen.v[0].text,
	    "0.0.0.0:8000");
	ck_assert_int_eq(cf->convergence.sni, CONF_SNI_ON);
	ck_assert_int_eq(cf->convergence.proxy_max_tunnels, 50);
	ck_assert_int_eq(cf->convergence.proxy_max_tunnels_per_ip, 5);
	ck_assert_int_eq(cf->convergence.proxy_idle_timeout_ms, 30 * 1000);

	ck_assert(!cf->ctwatch.enabled);
	ck_assert_uint_eq(cf->ctwatch.log_list.n, 2);
	ck_assert_str_eq(cf->ctwatch.log_list.v[0],
	    "https://www.gstatic.com/ct/log_list/v3/log_list.json");
	ck_assert_str_eq(cf->ctwatch.log_list.v[1],
	    "/srv/notary/lists/extra.json");
	ck_assert_int_eq(cf->ctwatch.log_list_refresh_ms, 300 * SEC);
	ck_assert_uint_eq(cf->ctwatch.log_states,
	    CONF_CTS_USABLE | CONF_CTS_RETIRED);
	ck_assert_int_eq(cf->ctwatch.parallel_fetches, 4);
	ck_assert_int_eq(cf->ctwatch.max_fetches, 100);
	ck_assert_int_eq(cf->ctwatch.max_backfill, 0);
	ck_assert(cf->ctwatch.dedup);
	ck_assert_int_eq(cf->ctwatch.fetch_timeout_ms, 5 * SEC);
	ck_assert_uint_eq(cf->ctwatch.max_response, 1 << 20);
	ck_assert_uint_eq(cf->ctwatch.logs.n, 2);
	l = &cf->ctwatch.logs.v[0];
	ck_assert_str_eq(l->url, "https://ct.example/2025h1/");
	ck_assert_str_eq(l->name, "Example 2025h1");
	ck_assert_str_eq(l->operator, "Example");
	ck_assert_int_eq(l->type, CONF_CT_STATIC);
	ck_assert_str_eq(l->key, "MFkwEw==");
	l = &cf->ctwatch.logs.v[1];
	ck_assert_str_eq(l->url, "http://127.0.0.1:9000/log");
	ck_assert_str_eq(l->name, "127.0.0.1:9000/log");
	ck_assert_str_eq(l->operator, "");
	ck_assert_int_eq(l->type, CONF_CT_RFC6962);
	ck_assert_int_eq(cf->ctwatch.poll_interval_ms, 500);
	ck_assert_int_eq(cf->ctwatch.batch_size, 32);
	ck_assert(!cf->ctwatch.resume);

	ck_assert_str_eq(cf->stream.lite_path, "/lite");
	ck_assert_str_eq(cf->stream.full_path, "/full");
	ck_assert_str_eq(cf->stream.domains_path, "/domains");
	ck_assert_int_eq(cf->stream.latest, 1000);
	ck_assert_int_eq(cf->stream.client_queue, 10);
	ck_assert_int_eq(cf->stream.ping_interval_ms, 5 * SEC);
	ck_assert_int_eq(cf->stream.idle_timeout_ms, HOUR);
	ck_assert_int_eq(cf->stream.json_heartbeat_ms, 0);
	ck_assert_uint_eq(cf->stream.ring_size, GIB);
	ck_assert_str_eq(cf->metrics.path, "/internal/metrics");
	ck_assert_uint_eq(cf->metrics.allow.n, 0);
	ck_assert_uint_eq(cf->database.cache_size, 256 * MIB);
	conf_free(cf);
}
END_TEST

START_TEST(test_partial_file)
{
	struct conf	*def, *cf;

	def = conf_load(NULL, NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(def);
	cf = must_load("scanner:\n  timeout: 3s\n  sni: No\n"
	    "log:\n  level: WARNING\n", NULL, 0);
	ck_assert_int_eq(cf->scanner.timeout_ms, 3 * SEC);
	ck_assert(!cf->scanner.sni);
	ck_assert_int_eq(cf->log.level, LOG_LEVEL_WARNING);
	/* Put the three back and the rest must be the defaults. */
	cf->scanner.timeout_ms = def->scanner.timeout_ms;
	cf->scanner.sni = def->scanner.sni;
	cf->log.level = def->log.level;
	ck_assert_ptr_null(conf_diff(def, cf));
	conf_free(cf);
	conf_free(def);
}
END_TEST

/*
 * Convergence listeners without certificate and key load: the signer
 * makes a self-signed pair on its first start.
 */
START_TEST(test_convergence_no_cert)
{
	struct conf	*cf;

	cf = must_load("convergence:\n  listen: [\"127.0.0.1:4242\"]\n",
	    NULL, 0);
	ck_assert_uint_eq(cf->convergence.listen.n, 1);
	ck_assert_str_eq(cf->convergence.certificate, "");
	ck_assert_str_eq(cf->convergence.key, "");
	conf_free(cf);
}
END_TEST

/* convergence.sni: fallback, or a boolean word; nothing else. */
START_TEST(test_convergence_sni)
{
	static const struct {
		const char	*text;
		int		 mode;
	} ok[] = {
		{ "fallback", CONF_SNI_FALLBACK }, { "FallBack", CONF_SNI_FALLBACK },
		{ "\"fallback\"", CONF_SNI_FALLBACK }, { "on", CONF_SNI_ON },
		{ "true", CONF_SNI_ON }, { "yes", CONF_SNI_ON },
		{ "off", CONF_SNI_OFF }, { "false", CONF_SNI_OFF },
		{ "no", CONF_SNI_OFF },
	};
	static const char *const bad[] = { "fallbak", "1", "\"\"", "[on]",
	    "always" };
	struct conf_override	 ov = { "convergence.sni", NULL };
	struct conf		*cf;
	char			 text[128];
	size_t			 i;

	for (i = 0; i < TU_NELEM(ok); i++) {
		snprintf(text, sizeof(text), "convergence:\n  sni: %s\n",
		    ok[i].text);
		cf = must_load(text, NULL, 0);
		ck_assert_msg(cf->convergence.sni == ok[i].mode, "%s",
		    ok[i].text);
		ck_assert_str_eq(conf_sni_name(cf->convergence.sni),
		    ok[i].mode == CONF_SNI_FALLBACK ? "fallback" :
		    ok[i].mode == CONF_SNI_ON ? "on" : "off");
		conf_free(cf);
	}
	for (i = 0; i < TU_NELEM(bad); i++) {
		snprintf(text, sizeof(text), "convergence:\n  sni: %s\n",
		    bad[i]);
		ck_assert_msg(load_str(text, NULL, 0) == NULL, "%s", bad[i]);
		ck_assert_msg(strstr(errbuf, "convergence.sni: expected "
		    "fallback, true (on) or false (off)") != NULL, "%s", errbuf);
	}
	/* -o and the scanner's own key stay apart. */
	ov.value = "off";
	cf = must_load("scanner:\n  sni: true\n", &ov, 1);
	ck_assert_int_eq(cf->convergence.sni, CONF_SNI_OFF);
	ck_assert(cf->scanner.sni);
	conf_free(cf);
	ck_assert_int_eq(conf_sni_parse("fallback"), CONF_SNI_FALLBACK);
	ck_assert_int_eq(conf_sni_parse(""), -1);
	ck_assert_str_eq(conf_sni_name(7), "?");
}
END_TEST

/* Quoted scalars, aliases, flow and block styles are all just YAML. */
START_TEST(test_yaml_styles)
{
	struct conf	*cf;

	cf = must_load("scanner:\n  timeout: &t \"7s\"\n"
	    "ctwatch:\n  poll_interval: *t\n"
	    "http: {workers: '3', listen: [\"127.0.0.1:1\"]}\n", NULL, 0);
	ck_assert_int_eq(cf->scanner.timeout_ms, 7 * SEC);
	ck_assert_int_eq(cf->ctwatch.poll_interval_ms, 7 * SEC);
	ck_assert_int_eq(cf->http.workers, 3);
	ck_assert_str_eq(cf->http.listen.v[0].text, "127.0.0.1:1");
	conf_free(cf);
}
END_TEST

START_TEST(test_workers_zero_is_ncpu)
{
	struct conf	*cf = must_load("http:\n  workers: 0\n", NULL, 0);
	long		 n = sysconf(_SC_NPROCESSORS_ONLN);

	ck_assert_int_ge(cf->http.workers, 1);
	if (n >= 1 && n <= 256)
		ck_assert_int_eq(cf->http.workers, n);
	conf_free(cf);
}
END_TEST

/* ---- bad values ------------------------------------------------------- */

static const struct {
	const char	*yaml;
	const char	*err;
} bad_values[] = {
	/* durations */
	{ "scanner:\n  timeout: ten\n",
	  "t.yaml:2:12: scanner.timeout: expected a duration like 10s, "
	  "got \"ten\"" },
	{ "scanner:\n  timeout: 10\n",
	  "t.yaml:2:12: scanner.timeout: expected a duration like 10s, "
	  "got \"10\"" },
	{ "scanner:\n  timeout: 1.5s\n",
	  "t.yaml:2:12: scanner.timeout: expected a duration like 10s, "
	  "got \"1.5s\"" },
	{ "scanner:\n  timeout: 0\n",
	  "t.yaml:2:12: scanner.timeout: must be between 100ms and 10m, "
	  "got 0" },
	{ "scanner:\n  timeout: 11m\n",
	  "t.yaml:2:12: scanner.timeout: must be between 100ms and 10m, "
	  "got 11m" },
	{ "scanner:\n  rescan_interval: 500ms\n",
	  "t.yaml:2:20: scanner.rescan_interval: must be 0 (off) or between "
	  "1s and 365d, got 500ms" },
	{ "scanner:\n  timeout:\n",
	  "t.yaml:2:11: scanner.timeout: expected a duration like 10s, "
	  "got nothing" },
	/* sizes */
	{ "cache:\n  size: lots\n",
	  "t.yaml:2:9: cache.size: expected a size like 64K, 16M or 1G, "
	  "got \"lots\"" },
	{ "cache:\n  size: 1.5G\n",
	  "t.yaml:2:9: cache.size: expected a size like 64K, 16M or 1G, "
	  "got \"1.5G\"" },
	{ "http:\n  max_request: 2M\n",
	  "t.yaml:2:16: http.max_request: must be between 1K and 1M, "
	  "got 2M" },
	{ "stream:\n  ring_size: 1000\n",
	  "t.yaml:2:14: stream.ring_size: must be between 64K and 1G, "
	  "got 1000" },
	{ "cache:\n  size: 99999999999999999999999G\n",
	  "t.yaml:2:9: cache.size: expected a size like 64K, 16M or 1G, "
	  "got \"99999999999999999999999G\"" },
	/* booleans */
	{ "scanner:\n  sni: maybe\n",
	  "t.yaml:2:8: scanner.sni: expected true or false, got \"maybe\"" },
	{ "ctwatch:\n  enabled: 1\n",
	  "t.yaml:2:12: ctwatch.enabled: expected true or false, got \"1\"" },
	/* integers */
	{ "http:\n  workers: many\n",
	  "t.yaml:2:12: http.workers: expected an integer, got \"many\"" },
	{ "http:\n  workers: 257\n",
	  "t.yaml:2:12: http.workers: must be between 0 and 256, got 257" },
	{ "http:\n  workers: -1\n",
	  "t.yaml:2:12: http.workers: must be between 0 and 256, got -1" },
	{ "http:\n  max_headers: 129\n",
	  "t.yaml:2:16: http.max_headers: must be between 1 and 128, "
	  "got 129" },
	{ "stream:\n  latest: 0\n",
	  "t.yaml:2:11: stream.latest: must be between 1 and 1000, got 0" },
	{ "signer:\n  processes: 2.0\n",
	  "t.yaml:2:14: signer.processes: expected an integer, got \"2.0\"" },
	/* enum */
	{ "log:\n  level: verbose\n",
	  "t.yaml:2:10: log.level: expected one of debug, info, notice, "
	  "warning, error, got \"verbose\"" },
	/* strings */
	{ "daemon:\n  data_dir: \"\"\n",
	  "t.yaml:2:13: daemon.data_dir: expected a file path, got \"\"" },
	{ "log:\n  target: ''\n",
	  "t.yaml:2:11: log.target: expected stderr, syslog or a file path, "
	  "got \"\"" },
	{ "metrics:\n  path: metrics\n",
	  "t.yaml:2:9: metrics.path: expected an HTTP path like /metrics, "
	  "got \"metrics\"" },
	{ "stream:\n  full_path: \"/a b\"\n",
	  "t.yaml:2:14: stream.full_path: expected an HTTP path like "
	  "/metrics, got \"/a b\"" },
	{ "ctwatch:\n  log_list: ftp://example.org/list.json\n",
	  "t.yaml:2:13: ctwatch.log_list: expected \"\", an http:// or "
	  "https:// URL, a file path, or a list of them, got "
	  "\"ftp://example.org/list.json\"" },
	{ "ctwatch:\n  log_list: [a.json, ftp://x/l.json]\n",
	  "t.yaml:2:22: ctwatch.log_list[1]: expected \"\", an http:// or "
	  "https:// URL, a file path, or a list of them, got "
	  "\"ftp://x/l.json\"" },
	{ "ctwatch:\n  log_states: [usable, retierd]\n",
	  "t.yaml:2:24: ctwatch.log_states[1]: unknown log state; did you "
	  "mean retired? (pending, qualified, usable, readonly, retired, "
	  "rejected)" },
	{ "ctwatch:\n  log_states: usable\n",
	  "t.yaml:2:15: ctwatch.log_states: expected a list of log states "
	  "like [usable, qualified, readonly], got \"usable\"" },
	{ "ctwatch:\n  logs: [{url: \"https://a/\", key: \"not base64!\"}]\n",
	  "t.yaml:2:35: ctwatch.logs[0].key: expected the log's public key "
	  "in base64 (DER SubjectPublicKeyInfo), got \"not base64!\"" },
	{ "ctwatch:\n  parallel_fetches: 0\n",
	  "t.yaml:2:21: ctwatch.parallel_fetches: must be between 1 and 64, "
	  "got 0" },
	{ "daemon:\n  user: \"a\\0b\"\n",
	  "t.yaml:2:9: daemon.user: contains a NUL character" },
	/* listen addresses */
	{ "http:\n  listen: [foo]\n",
	  "t.yaml:2:12: http.listen[0]: expected an address like "
	  "\"127.0.0.1:8080\", \"[::1]:8080\" or \"*:8080\", got \"foo\"" },
	{ "http:\n  listen: [\"127.0.0.1:0\"]\n",
	  "t.yaml:2:12: http.listen[0]: the port must be a number from 1 to "
	  "65535, got \"127.0.0.1:0\"" },
	{ "http:\n  listen: [\"127.0.0.1:65536\"]\n",
	  "t.yaml:2:12: http.listen[0]: the port must be a number from 1 to "
	  "65535, got \"127.0.0.1:65536\"" },
	{ "http:\n  listen: [\"127.0.0.1:80\", \"example.org:80\"]\n",
	  "t.yaml:2:28: http.listen[1]: host names are not resolved; use an "
	  "address like \"127.0.0.1:8080\", \"[::1]:8080\" or \"*:8080\", "
	  "got \"example.org:80\"" },
	{ "http:\n  listen: [\"::1:80\"]\n",
	  "t.yaml:2:12: http.listen[0]: an IPv6 address needs brackets, "
	  "like \"[::1]:8080\", got \"::1:80\"" },
	{ "http:\n  listen: [\"[1.2.3.4]:80\"]\n",
	  "t.yaml:2:12: http.listen[0]: expected an address like "
	  "\"127.0.0.1:8080\", \"[::1]:8080\" or \"*:8080\", "
	  "got \"[1.2.3.4]:80\"" },
	{ "http:\n  listen: [\"*:80\", \"0.0.0.0:80\"]\n",
	  "t.yaml:2:20: http.listen[1]: 0.0.0.0:80 is listed twice" },
	{ "http:\n  listen: [[a]]\n",
	  "t.yaml:2:12: http.listen[0]: expected a list of addresses like "
	  "[\"127.0.0.1:8080\"], got a list" },
	/* networks */
	{ "scanner:\n  allow: [10.1.2.3/8]\n",
	  "t.yaml:2:11: scanner.allow[0]: 10.1.2.3/8 has host bits set; "
	  "did you mean 10.0.0.0/8?" },
	{ "scanner:\n  allow: [\"2001:db8::1/32\"]\n",
	  "t.yaml:2:11: scanner.allow[0]: 2001:db8::1/32 has host bits set; "
	  "did you mean 2001:db8::/32?" },
	{ "http:\n  trusted_proxies: [10.0.0.0/33]\n",
	  "t.yaml:2:21: http.trusted_proxies[0]: the prefix length of an "
	  "IPv4 network must be 0 to 32, got \"10.0.0.0/33\"" },
	{ "metrics:\n  allow: [localhost]\n",
	  "t.yaml:2:11: metrics.allow[0]: expected a network like "
	  "\"10.0.0.0/8\" or \"2001:db8::/32\", or one address, "
	  "got \"localhost\"" },
	{ "scanner:\n  allow: [default]\n",
	  "t.yaml:2:11: scanner.allow[0]: \"default\" is only understood in "
	  "scanner.deny" },
	/* ct logs */
	{ "ctwatch:\n  logs:\n    - name: x\n",
	  "t.yaml:3:7: ctwatch.logs[0]: url is missing" },
	{ "ctwatch:\n  logs:\n    - url: ftp://ct.example/\n",
	  "t.yaml:3:12: ctwatch.logs[0].url: expected an http:// or https:// "
	  "URL like https://ct.example/2025h1/, got \"ftp://ct.example/\"" },
	{ "ctwatch:\n  logs:\n    - url: https://ct.example/\n"
	  "      nmae: x\n",
	  "t.yaml:4:7: ctwatch.logs[0].nmae: unknown key; did you mean name? "
	  "(a log has url, name, operator, type and key)" },
	{ "ctwatch:\n  logs:\n    - {url: \"https://a/\", type: tiles}\n",
	  "t.yaml:3:33: ctwatch.logs[0].type: expected rfc6962 or static, "
	  "got \"tiles\"" },
	{ "ctwatch:\n  logs: [\"https://ct.example/\"]\n",
	  "t.yaml:2:10: ctwatch.logs[0]: expected a mapping like "
	  "{url: https://ct.example/2025h1/, name: ...}, "
	  "got \"https://ct.example/\"" },
	{ "ctwatch:\n  logs: [{url: \"https://a/\"}, {url: \"https://a/\"}]\n",
	  "t.yaml:2:31: ctwatch.logs[1]: log https://a/ is listed twice" },
	{ "ctwatch:\n  logs: [{url: \"https://a/\", name: [x]}]\n",
	  "t.yaml:2:36: ctwatch.logs[0].name: expected a string, got a list" },
	/* checks between keys */
	{ "cache:\n  size: 32M\n  max_response: 1M\n",
	  "t.yaml:3:17: cache.max_response: must be less than cache.size / 64 "
	  "(cache.size is 32M), got 1M" },
	{ "cache:\n  size: 1M\n",
	  "" },
	{ "stream:\n  full_path: /\n",
	  "t.yaml:2:14: stream.full_path: / is also stream.lite_path; each "
	  "path must be different" },
	{ "metrics:\n  path: /stats\n",
	  "t.yaml:2:9: metrics.path: /stats is a built-in route; choose "
	  "another path" },
	{ "stream:\n  idle_timeout: 30s\n",
	  "t.yaml:2:17: stream.idle_timeout: must be longer than "
	  "stream.ping_interval (30s), got 30s" },
	{ "stream:\n  ping_interval: 2m\n",
	  "t.yaml:2:18: stream.ping_interval: must be shorter than "
	  "stream.idle_timeout (65s), got 2m" },
	{ "convergence:\n  proxy_max_tunnels: 10\n"
	  "  proxy_max_tunnels_per_ip: 20\n",
	  "t.yaml:3:29: convergence.proxy_max_tunnels_per_ip: must not exceed "
	  "convergence.proxy_max_tunnels (10), got 20" },
	{ "convergence:\n  certificate: c.pem\n",
	  "t.yaml:2:16: convergence.certificate: must be set together with "
	  "convergence.key" },
	{ "convergence:\n  key: c.key\n",
	  "t.yaml:2:8: convergence.key: must be set together with "
	  "convergence.certificate" },
	{ "convergence:\n  proxy_listen: [\"localhost:8080\"]\n",
	  "t.yaml:2:17: convergence.proxy_listen: 127.0.0.1:8080 is also in "
	  "http.listen" },
	{ "keys:\n  public: ./keys/notary.priv\n",
	  "t.yaml:2:11: keys.public: keys.private and keys.public are the "
	  "same file, " },
};

START_TEST(test_bad_value)
{
	struct conf	*cf;
	char		 want[CONF_ERR_MAX];

	cf = load_str(bad_values[_i].yaml, NULL, 0);
	snprintf(want, sizeof(want), "%s", bad_values[_i].err);
	if (strcmp(want, "") == 0) {
		/* 1M cache with the default 8K max_response is fine. */
		ck_assert_msg(cf != NULL, "%s", errbuf);
		conf_free(cf);
		return;
	}
	ck_assert_msg(cf == NULL, "loaded: %s", bad_values[_i].yaml);
	if (strstr(want, "same file, ") != NULL)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		    "%s", in_cwd("var/keys/notary.priv"));
	ck_assert_str_eq(errbuf, want);
}
END_TEST

/* ---- structure errors ------------------------------------------------- */

START_TEST(test_unknown_keys)
{
	ASSERT_FAILS("daemon:\n  user: x\nscanner:\n  timout: 5s\n",
	    "t.yaml:4:3: scanner.timout: unknown key; did you mean "
	    "scanner.timeout?");
	ASSERT_FAILS("deamon:\n  user: x\n",
	    "t.yaml:1:1: deamon: unknown key; did you mean daemon?");
	ASSERT_FAILS("\n\nfoo: 1\n", "t.yaml:3:1: foo: unknown key");
	ASSERT_FAILS("http:\n    workerz: 3\n",
	    "t.yaml:2:5: http.workerz: unknown key; did you mean "
	    "http.workers?");
	ASSERT_FAILS("http:\n  frobnicate: 3\n",
	    "t.yaml:2:3: http.frobnicate: unknown key");
	/* Dotted names are for -o only. */
	ASSERT_FAILS("scanner.timeout: 5s\n",
	    "t.yaml:1:1: scanner.timeout: unknown key");
	ASSERT_FAILS("scanner:\n  deny.x: 1\n",
	    "t.yaml:2:3: scanner.deny.x: unknown key");
}
END_TEST

START_TEST(test_wrong_kinds)
{
	ASSERT_FAILS("daemon: 5\n",
	    "t.yaml:1:9: daemon: expected a mapping of keys, got \"5\"");
	ASSERT_FAILS("daemon: [a]\n",
	    "t.yaml:1:9: daemon: expected a mapping of keys, got a list");
	ASSERT_FAILS("scanner:\n  timeout: [1s]\n",
	    "t.yaml:2:12: scanner.timeout: expected a duration like 10s, "
	    "got a list");
	ASSERT_FAILS("scanner:\n  timeout: {a: 1}\n",
	    "t.yaml:2:12: scanner.timeout: expected a duration like 10s, "
	    "got a mapping");
	ASSERT_FAILS("http:\n  listen: \"127.0.0.1:80\"\n",
	    "t.yaml:2:11: http.listen: expected a list of addresses like "
	    "[\"127.0.0.1:8080\"], got \"127.0.0.1:80\"");
	ASSERT_FAILS("http:\n  listen:\n",
	    "t.yaml:2:10: http.listen: expected a list of addresses like "
	    "[\"127.0.0.1:8080\"], got nothing");
	ASSERT_FAILS("scanner:\n  deny: {a: b}\n",
	    "t.yaml:2:9: scanner.deny: expected a list of networks like "
	    "[10.0.0.0/8, \"::1/128\"], got a mapping");
	ASSERT_FAILS("ctwatch:\n  logs: https://x/\n",
	    "t.yaml:2:9: ctwatch.logs: expected a list of logs like "
	    "[{url: https://ct.example/log/}], got \"https://x/\"");
	ASSERT_FAILS("- daemon\n",
	    "t.yaml:1:1: expected a mapping of sections (daemon:, http:, ...) "
	    "at the top level, got a list");
	ASSERT_FAILS("hello\n",
	    "t.yaml:1:1: expected a mapping of sections (daemon:, http:, ...) "
	    "at the top level, got \"hello\"");
	ASSERT_FAILS("[a]: 1\n",
	    "t.yaml:1:1: expected a key name, got a list");
}
END_TEST

START_TEST(test_duplicate_keys)
{
	ASSERT_FAILS("daemon:\n  user: a\n  group: b\n  user: c\n",
	    "t.yaml:4:3: daemon.user: duplicate key (first given at line 2)");
	ASSERT_FAILS("log:\n  level: info\nhttp: {}\nlog: {}\n",
	    "t.yaml:4:1: log: duplicate key (first given at line 1)");
	ASSERT_FAILS("ctwatch:\n  logs:\n    - url: https://a/\n"
	    "      url: https://b/\n",
	    "t.yaml:4:7: ctwatch.logs[0].url: duplicate key (first given at "
	    "line 3)");
}
END_TEST

START_TEST(test_syntax_errors)
{
	ASSERT_FAILS("daemon:\n  user: a\n   group: b\n",
	    "t.yaml:3:9: YAML syntax error: mapping values are not allowed "
	    "in this context");
	ASSERT_FAILS("http:\n  listen: [\"a\"\n",
	    "t.yaml:3:1: YAML syntax error: did not find expected ',' or ']' "
	    "(while parsing a flow sequence at line 2 column 11)");
	ASSERT_FAILS("http:\n\tworkers: 2\n",
	    "t.yaml:2:1: YAML syntax error: found character that cannot start "
	    "any token (while scanning for the next token at line 2 "
	    "column 1)");
	ASSERT_FAILS("a: *nope\n",
	    "t.yaml:1:4: YAML syntax error: found undefined alias");
	ASSERT_FAILS("daemon: {}\n---\nhttp: {}\n",
	    "t.yaml:3:1: a second YAML document; the config is one document");
	ASSERT_FAILS("log:\n  target: \"\xff\"\n",
	    "t.yaml: cannot read YAML at byte 16: invalid leading UTF-8 "
	    "octet");
}
END_TEST

START_TEST(test_missing_file)
{
	struct conf	*cf;

	cf = conf_load("nope.yaml", NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_ptr_null(cf);
	ck_assert_str_eq(errbuf, "nope.yaml: No such file or directory");
	ck_assert_int_eq(mkdir("adir", 0700), 0);
	cf = conf_load("adir", NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_ptr_null(cf);
	ck_assert_str_eq(errbuf, "adir: is a directory, not a YAML file");
}
END_TEST

START_TEST(test_errors_collected)
{
	char	text[4096];
	int	i, lines;

	ASSERT_FAILS("scanner:\n  timeout: ten\n  sni: maybe\n"
	    "bogus: 1\nhttp:\n  listen: [\"a\", \"127.0.0.1:1\", \"b:x\"]\n",
	    "t.yaml:2:12: scanner.timeout: expected a duration like 10s, "
	    "got \"ten\"\n"
	    "t.yaml:3:8: scanner.sni: expected true or false, got \"maybe\"\n"
	    "t.yaml:4:1: bogus: unknown key\n"
	    "t.yaml:6:12: http.listen[0]: expected an address like "
	    "\"127.0.0.1:8080\", \"[::1]:8080\" or \"*:8080\", got \"a\"\n"
	    "t.yaml:6:32: http.listen[2]: the port must be a number from 1 "
	    "to 65535, got \"b:x\"");

	/* 25 errors: 20 shown, then a count. */
	text[0] = '\0';
	for (i = 0; i < 25; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "bad%d: 1\n", i);
	ck_assert_ptr_null(load_str(text, NULL, 0));
	for (lines = 1, i = 0; errbuf[i] != '\0'; i++)
		lines += errbuf[i] == '\n';
	ck_assert_int_eq(lines, 21);
	ck_assert_ptr_nonnull(strstr(errbuf, "t.yaml:20:1: bad19: unknown "
	    "key\n(5 more errors not shown)"));
	ck_assert_ptr_null(strstr(errbuf, "bad20"));
}
END_TEST

/* A tiny or missing error buffer must not break anything. */
START_TEST(test_small_error_buffer)
{
	char	small[12];

	write_file("t.yaml", "foo: 1\nbar: 2\n");
	ck_assert_ptr_null(conf_load("t.yaml", NULL, 0, small, sizeof(small)));
	ck_assert_str_eq(small, "t.yaml:1:1:");
	ck_assert_ptr_null(conf_load("t.yaml", NULL, 0, NULL, 0));
}
END_TEST

/* ---- overrides -------------------------------------------------------- */

START_TEST(test_override_leaf_and_list)
{
	struct conf_override ov[] = {
		{ "scanner.timeout", "5s" },
		{ "http.listen", "[\"127.0.0.1:18080\", \"[::1]:18080\"]" },
		{ "scanner.allow", "[127.0.0.0/8]" },
		{ "scanner.sni", "false" },
		{ "daemon.user", "" },
		{ "log.level", "debug" },
	};
	struct conf	*cf;

	cf = conf_load(NULL, ov, sizeof(ov) / sizeof(ov[0]), errbuf,
	    sizeof(errbuf));
	ck_assert_msg(cf != NULL, "%s", errbuf);
	ck_assert_ptr_null(cf->path);
	ck_assert_int_eq(cf->scanner.timeout_ms, 5 * SEC);
	ck_assert_uint_eq(cf->http.listen.n, 2);
	ck_assert_str_eq(cf->http.listen.v[0].text, "127.0.0.1:18080");
	ck_assert_str_eq(cf->http.listen.v[1].text, "[::1]:18080");
	ck_assert_uint_eq(cf->scanner.allow.n, 1);
	ck_assert(!cf->scanner.sni);
	ck_assert_str_eq(cf->daemon.user, "");
	ck_assert_int_eq(cf->log.level, LOG_LEVEL_DEBUG);
	conf_free(cf);
}
END_TEST

/* A section override sets the keys it names and leaves the others. */
START_TEST(test_override_section)
{
	struct conf_override ov[] = {
		{ "scanner", "{timeout: 5s, sni: off}" },
		{ "ctwatch.logs", "[{url: \"https://ct.example/x/\", "
		    "type: static}]" },
	};
	struct conf	*cf;

	cf = must_load("scanner:\n  timeout: 20s\n  deny: [10.0.0.0/8]\n",
	    ov, 2);
	ck_assert_int_eq(cf->scanner.timeout_ms, 5 * SEC);
	ck_assert(!cf->scanner.sni);
	ck_assert_uint_eq(cf->scanner.deny.n, 1);
	ck_assert_uint_eq(cf->ctwatch.logs.n, 1);
	ck_assert_str_eq(cf->ctwatch.logs.v[0].name, "ct.example/x");
	ck_assert_int_eq(cf->ctwatch.logs.v[0].type, CONF_CT_STATIC);
	conf_free(cf);
}
END_TEST

START_TEST(test_override_after_file)
{
	struct conf_override ov[] = {
		{ "scanner.timeout", "5s" },
		{ "scanner.timeout", "6s" },
		{ "http.listen", "[]" },
	};
	struct conf	*cf;

	cf = must_load("scanner:\n  timeout: 20s\nhttp:\n"
	    "  listen: [\"127.0.0.1:1\"]\n", ov, 3);
	ck_assert_int_eq(cf->scanner.timeout_ms, 6 * SEC);
	ck_assert_uint_eq(cf->http.listen.n, 0);
	conf_free(cf);

	/* An override can repair a file value that a cross check refuses. */
	ov[0].key = "convergence.certificate";
	ov[0].value = "c.pem";
	ov[1].key = "convergence.key";
	ov[1].value = "c.key";
	cf = must_load("convergence:\n  listen: [\"0.0.0.0:4242\"]\n", ov, 2);
	ck_assert_str_eq(cf->convergence.certificate, in_cwd("var/c.pem"));
	conf_free(cf);
}
END_TEST

START_TEST(test_override_errors)
{
	struct conf_override bad_value[] = { { "scanner.timeout", "ten" } };
	struct conf_override unknown[] = { { "scanner.timout", "5s" } };
	struct conf_override unknown2[] = { { "nosuch", "5s" } };
	struct conf_override nested[] = { { "scanner", "{timout: 5s}" } };
	struct conf_override not_map[] = { { "scanner", "5s" } };
	struct conf_override syntax[] = { { "http.listen", "[\"a\"" } };
	struct conf_override twice[] = { { "http", "{workers: 1, workers: 2}" } };
	struct conf_override nokey[] = { { "", "1" } };
	struct conf_override noval[] = { { "http.workers", NULL } };
	struct conf_override index_[] = { { "http.listen[0]", "x" } };
	struct conf_override list[] = { { "http.listen", "[foo]" } };
	struct conf_override cross[] = { { "cache.max_response", "1M" } };
	struct conf_override docs[] = { { "http.workers", "1\n---\n2" } };

	ASSERT_OV_FAILS(bad_value, 1, "-o scanner.timeout: expected a "
	    "duration like 10s, got \"ten\"");
	ASSERT_OV_FAILS(unknown, 1, "-o scanner.timout: unknown key; did you "
	    "mean scanner.timeout?");
	ASSERT_OV_FAILS(unknown2, 1, "-o nosuch: unknown key");
	ASSERT_OV_FAILS(nested, 1, "-o scanner.timout: unknown key; did you "
	    "mean scanner.timeout?");
	ASSERT_OV_FAILS(not_map, 1, "-o scanner: expected a mapping of keys, "
	    "got \"5s\"");
	ASSERT_OV_FAILS(syntax, 1, "-o http.listen: invalid YAML value: YAML "
	    "syntax error: did not find expected ',' or ']' (while parsing a "
	    "flow sequence at line 1 column 1)");
	ASSERT_OV_FAILS(twice, 1, "-o http.workers: duplicate key");
	ASSERT_OV_FAILS(nokey, 1, "-o: expected KEY=VALUE, the key is missing");
	ASSERT_OV_FAILS(noval, 1, "-o http.workers: expected KEY=VALUE, the "
	    "value is missing");
	ASSERT_OV_FAILS(index_, 1, "-o http.listen[0]: unknown key");
	ASSERT_OV_FAILS(list, 1, "-o http.listen[0]: expected an address like "
	    "\"127.0.0.1:8080\", \"[::1]:8080\" or \"*:8080\", got \"foo\"");
	ASSERT_OV_FAILS(cross, 1, "-o cache.max_response: must be less than "
	    "cache.size / 64 (cache.size is 64M), got 1M");
	ASSERT_OV_FAILS(docs, 1, "-o http.workers: invalid YAML value: "
	    "expected one YAML value, found several documents");

	/* File errors and override errors are reported together. */
	ck_assert_ptr_null(load_str("http:\n  workers: x\n", bad_value, 1));
	ck_assert_str_eq(errbuf, "t.yaml:2:12: http.workers: expected an "
	    "integer, got \"x\"\n-o scanner.timeout: expected a duration "
	    "like 10s, got \"ten\"");
}
END_TEST

/* ---- parsers ---------------------------------------------------------- */

START_TEST(test_parse_duration)
{
	static const struct {
		const char	*s;
		int		 ok;
		int64_t		 ms;
	} t[] = {
		{ "250ms", 1, 250 }, { "10s", 1, 10 * SEC },
		{ "5m", 1, 5 * MINUTE }, { "12h", 1, 12 * HOUR },
		{ "5d", 1, 5 * DAY }, { "0", 1, 0 }, { "0s", 1, 0 },
		{ "007s", 1, 7 * SEC },
		{ "106751991167d", 1, 106751991167 * DAY },
		{ "106751991168d", 0, 0 },
		{ "99999999999999999999ms", 0, 0 },
		{ "10", 0, 0 }, { "", 0, 0 }, { "s", 0, 0 }, { "-1s", 0, 0 },
		{ "1.5s", 0, 0 }, { "10 s", 0, 0 }, { " 10s", 0, 0 },
		{ "10S", 0, 0 }, { "10sec", 0, 0 }, { "1h30m", 0, 0 },
		{ "10w", 0, 0 }, { "+5s", 0, 0 },
	};
	size_t	i;
	int64_t	ms;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ms = -42;
		ck_assert_msg((conf_parse_duration(t[i].s, &ms) == 0) == t[i].ok,
		    "\"%s\"", t[i].s);
		if (t[i].ok)
			ck_assert_int_eq(ms, t[i].ms);
		else
			ck_assert_int_eq(ms, -42);
	}
	ck_assert_int_eq(conf_parse_duration(NULL, &ms), -1);
}
END_TEST

START_TEST(test_parse_size)
{
	static const struct {
		const char	*s;
		int		 ok;
		uint64_t	 b;
	} t[] = {
		{ "64K", 1, 64 * KIB }, { "64M", 1, 64 * MIB },
		{ "1G", 1, GIB }, { "2T", 1, 2048 * GIB },
		{ "16KB", 1, 16 * KIB }, { "16kb", 1, 16 * KIB },
		{ "16k", 1, 16 * KIB }, { "1000", 1, 1000 }, { "1000B", 1, 1000 },
		{ "0", 1, 0 }, { "16777215T", 1, (uint64_t)16777215 << 40 },
		{ "16777216T", 0, 0 }, { "", 0, 0 }, { "K", 0, 0 },
		{ "1.5M", 0, 0 }, { "64X", 0, 0 }, { "64 K", 0, 0 },
		{ "64KiB", 0, 0 }, { "-1", 0, 0 }, { "64BB", 0, 0 },
		{ "18446744073709551616", 0, 0 },
	};
	size_t		i;
	uint64_t	b;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b = 42;
		ck_assert_msg((conf_parse_size(t[i].s, &b) == 0) == t[i].ok,
		    "\"%s\"", t[i].s);
		ck_assert_uint_eq(b, t[i].ok ? t[i].b : 42);
	}
}
END_TEST

START_TEST(test_parse_listen)
{
	static const struct {
		const char	*s;
		const char	*text;	/* NULL: refused */
		int		 family;
		unsigned	 port;
	} t[] = {
		{ "127.0.0.1:8080", "127.0.0.1:8080", AF_INET, 8080 },
		{ "*:80", "0.0.0.0:80", AF_INET, 80 },
		{ "localhost:1", "127.0.0.1:1", AF_INET, 1 },
		{ "LocalHost:65535", "127.0.0.1:65535", AF_INET, 65535 },
		{ "[::1]:8080", "[::1]:8080", AF_INET6, 8080 },
		{ "[::]:443", "[::]:443", AF_INET6, 443 },
		{ "[2001:DB8:0:0::1]:25", "[2001:db8::1]:25", AF_INET6, 25 },
		{ "[::ffff:1.2.3.4]:9", "[::ffff:1.2.3.4]:9", AF_INET6, 9 },
		{ "0.0.0.0:08080", "0.0.0.0:8080", AF_INET, 8080 },
		{ "127.0.0.1", NULL, 0, 0 }, { "127.0.0.1:", NULL, 0, 0 },
		{ "127.0.0.1:0", NULL, 0, 0 }, { "127.0.0.1:70000", NULL, 0, 0 },
		{ "127.0.0.1:8o", NULL, 0, 0 }, { ":8080", NULL, 0, 0 },
		{ "::1:8080", NULL, 0, 0 }, { "[::1]8080", NULL, 0, 0 },
		{ "[::1", NULL, 0, 0 }, { "[127.0.0.1]:80", NULL, 0, 0 },
		{ "[*]:80", NULL, 0, 0 }, { "[localhost]:80", NULL, 0, 0 },
		{ "example.org:80", NULL, 0, 0 }, { "1.2.3:80", NULL, 0, 0 },
		{ "256.1.1.1:80", NULL, 0, 0 }, { "[fe80::1%eth0]:80", NULL, 0, 0 },
		{ "", NULL, 0, 0 }, { " 127.0.0.1:80", NULL, 0, 0 },
		{ "127.0.0.1:-80", NULL, 0, 0 },
	};
	struct netaddr_listen	l;
	size_t			i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].text == NULL) {
			ck_assert_msg(netaddr_parse_listen(t[i].s, &l) == -1,
			    "accepted \"%s\"", t[i].s);
			continue;
		}
		ck_assert_msg(netaddr_parse_listen(t[i].s, &l) == 0,
		    "refused \"%s\"", t[i].s);
		ck_assert_str_eq(l.text, t[i].text);
		ck_assert_int_eq(l.addr.ss_family, t[i].family);
		ck_assert_uint_eq(l.addrlen, t[i].family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		ck_assert_uint_eq(listen_port(&l), t[i].port);
	}
	ck_assert_int_eq(netaddr_parse_listen(NULL, &l), -1);
}
END_TEST

START_TEST(test_parse_cidr)
{
	static const struct {
		const char	*s;
		const char	*norm;	/* NULL: refused */
	} t[] = {
		{ "10.0.0.0/8", "10.0.0.0/8" }, { "10.1.2.3", "10.1.2.3/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" }, { "::/0", "::/0" },
		{ "::1", "::1/128" }, { "::1/128", "::1/128" },
		{ "2001:db8::/32", "2001:db8::/32" },
		{ "FE80::/10", "fe80::/10" }, { "172.16.0.0/12", "172.16.0.0/12" },
		{ "192.168.1.128/25", "192.168.1.128/25" },
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8" },
		{ "::ffff:1.2.3.4", "1.2.3.4/32" },
		{ "10.1.2.3/8", NULL }, { "192.168.1.1/24", NULL },
		{ "2001:db8::1/64", NULL }, { "10.0.0.0/33", NULL },
		{ "::/129", NULL }, { "10.0.0.0/", NULL }, { "10.0.0.0/x", NULL },
		{ "10.0.0.0/-1", NULL }, { "/8", NULL }, { "", NULL },
		{ "default", NULL }, { "10.0.0/8", NULL }, { "[::1]/128", NULL },
		{ "example.org/8", NULL }, { "10.0.0.0/8 ", NULL },
	};
	struct netaddr_cidr	c;
	char			buf[64];
	size_t			i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].norm == NULL) {
			ck_assert_msg(netaddr_parse_cidr(t[i].s, &c) == -1,
			    "accepted \"%s\"", t[i].s);
			continue;
		}
		ck_assert_msg(netaddr_parse_cidr(t[i].s, &c) == 0,
		    "refused \"%s\"", t[i].s);
		cidr_text(&c, buf, sizeof(buf));
		ck_assert_str_eq(buf, t[i].norm);
	}
	ck_assert_int_eq(netaddr_parse_cidr(NULL, &c), -1);
}
END_TEST

/* ---- matching --------------------------------------------------------- */

static struct sockaddr_storage *
sa_of(const char *addr)
{
	static struct sockaddr_storage	ss;
	struct sockaddr_in		*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6		*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr),
		    1);
		sin6->sin6_family = AF_INET6;
	}
	return (&ss);
}

#define MATCH(l, a)	netaddr_cidr_match((l), (struct sockaddr *)sa_of(a))

START_TEST(test_cidr_match)
{
	struct netaddr_cidr	 v[4];
	struct netaddr_cidr_list	 l = { 4, v }, empty = { 0, NULL };
	struct sockaddr_un	 sun;

	ck_assert_int_eq(netaddr_parse_cidr("10.0.0.0/8", &v[0]), 0);
	ck_assert_int_eq(netaddr_parse_cidr("192.168.1.128/25", &v[1]), 0);
	ck_assert_int_eq(netaddr_parse_cidr("2001:db8::/32", &v[2]), 0);
	ck_assert_int_eq(netaddr_parse_cidr("::1", &v[3]), 0);

	ck_assert_int_eq(MATCH(&l, "10.0.0.0"), 1);
	ck_assert_int_eq(MATCH(&l, "10.255.255.255"), 1);
	ck_assert_int_eq(MATCH(&l, "11.0.0.0"), 0);
	ck_assert_int_eq(MATCH(&l, "9.255.255.255"), 0);
	ck_assert_int_eq(MATCH(&l, "192.168.1.200"), 1);
	ck_assert_int_eq(MATCH(&l, "192.168.1.127"), 0);
	ck_assert_int_eq(MATCH(&l, "2001:db8:ffff::1"), 1);
	ck_assert_int_eq(MATCH(&l, "2001:db9::1"), 0);
	ck_assert_int_eq(MATCH(&l, "::1"), 1);
	ck_assert_int_eq(MATCH(&l, "::2"), 0);
	/* v4-mapped v6 is the v4 address. */
	ck_assert_int_eq(MATCH(&l, "::ffff:10.1.2.3"), 1);
	ck_assert_int_eq(MATCH(&l, "::ffff:192.168.1.129"), 1);
	ck_assert_int_eq(MATCH(&l, "::ffff:11.1.2.3"), 0);
	/* ... but v4-compatible and NAT64 forms are not. */
	ck_assert_int_eq(MATCH(&l, "::10.1.2.3"), 0);
	ck_assert_int_eq(MATCH(&l, "64:ff9b::10.1.2.3"), 0);

	ck_assert_int_eq(MATCH(&empty, "10.0.0.1"), 0);
	ck_assert_int_eq(MATCH(NULL, "10.0.0.1"), 0);
	ck_assert_int_eq(netaddr_cidr_match(&l, NULL), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_int_eq(netaddr_cidr_match(&l, (struct sockaddr *)&sun), 0);

	/* /0 matches its whole family only. */
	ck_assert_int_eq(netaddr_parse_cidr("0.0.0.0/0", &v[0]), 0);
	l.n = 1;
	ck_assert_int_eq(MATCH(&l, "203.0.113.9"), 1);
	ck_assert_int_eq(MATCH(&l, "::ffff:203.0.113.9"), 1);
	ck_assert_int_eq(MATCH(&l, "2001:db8::1"), 0);

	/* A v4-mapped network in the config matches plain v4 too. */
	ck_assert_int_eq(netaddr_parse_cidr("::ffff:198.51.100.0/120", &v[0]), 0);
	ck_assert_int_eq(MATCH(&l, "198.51.100.7"), 1);
	ck_assert_int_eq(MATCH(&l, "::ffff:198.51.100.7"), 1);
}
END_TEST

#define DENIED(d, a, x) netaddr_denied((d), (a), (struct sockaddr *)sa_of(x))

/*
 * IPv6 spellings of IPv4 addresses are judged as the IPv4 address, by
 * the same deny and allow lists (issue 13).
 */
START_TEST(test_netaddr_denied)
{
	static const struct {
		const char	*addr;
		int		 denied;	/* default deny, no allow */
		int		 denied_allow;	/* ... with allow below */
	} t[] = {
		/* the forms of the issue, all 127.0.0.1 */
		{ "::127.0.0.1", 1, 0 }, { "0:0:0:0:0:0:7f00:1", 1, 0 },
		{ "::ffff:0:7f00:1", 1, 0 }, { "64:ff9b:1::7f00:1", 1, 1 },
		{ "2002:7f00:1::", 1, 0 }, { "::ffff:127.0.0.1", 1, 0 },
		{ "64:ff9b::7f00:1", 1, 0 }, { "127.0.0.1", 1, 0 },
		/* other denied IPv4 networks through each embedding */
		{ "::10.1.2.3", 1, 1 }, { "::ffff:0:a9fe:a9fe", 1, 1 },
		{ "64:ff9b::192.168.1.1", 1, 1 }, { "2002:c0a8:101::1", 1, 1 },
		{ "2002:a00:1:ffff::", 1, 1 }, { "::", 1, 1 }, { "::1", 1, 1 },
		{ "::0.0.0.2", 1, 1 }, { "64:ff9b::100.64.0.1", 1, 1 },
		/* public IPv4 inside: judged as that address, allowed */
		{ "::8.8.8.8", 0, 0 }, { "::ffff:0:808:808", 0, 0 },
		{ "64:ff9b::8.8.8.8", 0, 0 }, { "2002:808:808::1", 0, 0 },
		/* Teredo, NAT64 local-use: no fixed embedding, denied */
		{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", 1, 1 },
		{ "2001::1", 1, 1 }, { "64:ff9b:1:ffff::8.8.8.8", 1, 1 },
		/* ordinary addresses */
		{ "2a00:1450:4001:80e::200e", 0, 0 }, { "fd00::1", 1, 1 },
		{ "8.8.8.8", 0, 0 }, { "2001:db8::1", 1, 1 },
		/* near misses: not an embedding */
		{ "::1:0:0:7f00:1", 0, 0 }, { "64:ff9c::7f00:1", 0, 0 },
		{ "2003:7f00:1::", 0, 0 },
	};
	struct netaddr_cidr_list	 d, allow;
	struct netaddr_cidr	 a[2];
	size_t			 i;

	netaddr_default_deny(&d);
	/* An exception for 127.0.0.0/8 covers every spelling of it. */
	ck_assert_int_eq(netaddr_parse_cidr("127.0.0.0/8", &a[0]), 0);
	ck_assert_int_eq(netaddr_parse_cidr("2001:db8:7::/48", &a[1]), 0);
	allow.n = 2;
	allow.v = a;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(DENIED(&d, NULL, t[i].addr) == t[i].denied,
		    "%s: denied %d, want %d", t[i].addr,
		    DENIED(&d, NULL, t[i].addr), t[i].denied);
		ck_assert_msg(DENIED(&d, &allow, t[i].addr) ==
		    t[i].denied_allow, "%s with allow 127.0.0.0/8: denied %d, "
		    "want %d", t[i].addr, DENIED(&d, &allow, t[i].addr),
		    t[i].denied_allow);
	}
	/* An allowed IPv6 network wins over the deny list. */
	ck_assert_int_eq(DENIED(&d, &allow, "2001:db8:7::1"), 0);
	ck_assert_int_eq(DENIED(&d, &allow, "2001:db8:8::1"), 1);
	/* A deny list of one IPv4 network covers its IPv6 spellings. */
	allow.n = 1;
	ck_assert_int_eq(netaddr_parse_cidr("203.0.113.0/24", &a[0]), 0);
	ck_assert_int_eq(DENIED(&allow, NULL, "::203.0.113.9"), 1);
	ck_assert_int_eq(DENIED(&allow, NULL, "2002:cb00:7109::"), 1);
	ck_assert_int_eq(DENIED(&allow, NULL, "::127.0.0.1"), 0);
	/* No list denies nothing; other families are denied. */
	ck_assert_int_eq(DENIED(NULL, NULL, "::127.0.0.1"), 0);
	ck_assert_int_eq(netaddr_denied(&d, NULL, NULL), 1);
	free(d.v);
}
END_TEST

START_TEST(test_default_deny)
{
	static const char *const want[] = {
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
		"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
		"192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
		"224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128",
		"64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32",
		"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	};
	struct netaddr_cidr_list	 d;
	struct conf		*cf;
	char			 buf[64];
	size_t			 i;

	netaddr_default_deny(&d);
	ck_assert_uint_eq(d.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < d.n; i++) {
		cidr_text(&d.v[i], buf, sizeof(buf));
		ck_assert_str_eq(buf, want[i]);
	}
	ck_assert_int_eq(MATCH(&d, "127.0.0.1"), 1);
	ck_assert_int_eq(MATCH(&d, "::ffff:192.168.0.1"), 1);
	ck_assert_int_eq(MATCH(&d, "fd00::1"), 1);
	ck_assert_int_eq(MATCH(&d, "8.8.8.8"), 0);
	ck_assert_int_eq(MATCH(&d, "2a00:1450::1"), 0);

	/* "default" expands in place, among other entries. */
	cf = must_load("scanner:\n  deny: [198.51.101.0/24, default, "
	    "\"2001:db9::/32\"]\n", NULL, 0);
	ck_assert_uint_eq(cf->scanner.deny.n, d.n + 2);
	cidr_text(&cf->scanner.deny.v[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "198.51.101.0/24");
	for (i = 0; i < d.n; i++) {
		cidr_text(&cf->scanner.deny.v[i + 1], buf, sizeof(buf));
		ck_assert_str_eq(buf, want[i]);
	}
	cidr_text(&cf->scanner.deny.v[d.n + 1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "2001:db9::/32");
	conf_free(cf);

	/* An empty deny list is allowed: the operator's choice. */
	cf = must_load("scanner:\n  deny: []\n", NULL, 0);
	ck_assert_uint_eq(cf->scanner.deny.n, 0);
	conf_free(cf);
	free(d.v);
}
END_TEST

/* ---- paths ------------------------------------------------------------ */

START_TEST(test_relative_paths)
{
	struct conf	*cf;

	cf = must_load("daemon:\n  data_dir: ./state/./db//\n"
	    "  pidfile: run/n.pid\n"
	    "log:\n  target: logs/../n.log\n"
	    "keys:\n  private: /etc/k//priv\n  public: ./pub\n"
	    "ctwatch:\n  log_list: lists/v3.json\n", NULL, 0);
	ck_assert_str_eq(cf->daemon.data_dir, in_cwd("state/db"));
	ck_assert_str_eq(cf->daemon.pidfile, in_cwd("state/db/run/n.pid"));
	/* ".." is kept: only the kernel knows where it leads. */
	ck_assert_str_eq(cf->log.target, in_cwd("state/db/logs/../n.log"));
	ck_assert_str_eq(cf->keys.private_key, "/etc/k/priv");
	ck_assert_str_eq(cf->keys.public_key, in_cwd("state/db/pub"));
	ck_assert_str_eq(cf->ctwatch.log_list.v[0],
	    in_cwd("state/db/lists/v3.json"));
	ck_assert_str_eq(cf->convergence.certificate, "");
	conf_free(cf);

	/* The data directory need not exist; "/" stays "/". */
	cf = must_load("daemon:\n  data_dir: /\nlog:\n  target: ./stderr\n"
	    "ctwatch:\n  log_list: http://list.example/v3.json\n", NULL, 0);
	ck_assert_str_eq(cf->daemon.data_dir, "/");
	ck_assert_str_eq(cf->keys.private_key, "/keys/notary.priv");
	ck_assert_str_eq(cf->log.target, "/stderr");
	ck_assert_str_eq(cf->ctwatch.log_list.v[0],
	    "http://list.example/v3.json");
	conf_free(cf);

	cf = must_load("daemon:\n  data_dir: /nonexistent/x/.\n"
	    "log:\n  target: syslog\n", NULL, 0);
	ck_assert_str_eq(cf->daemon.data_dir, "/nonexistent/x");
	ck_assert_str_eq(cf->log.target, "syslog");
	conf_free(cf);

	/* The config path itself becomes absolute, for SIGHUP after chdir. */
	ck_assert_int_eq(mkdir("sub", 0700), 0);
	write_file("sub/c.yaml", "");
	cf = conf_load("./sub//c.yaml", NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(cf);
	ck_assert_str_eq(cf->path, in_cwd("sub/c.yaml"));
	conf_free(cf);
}
END_TEST

/* ---- reload ----------------------------------------------------------- */

START_TEST(test_restart_keys)
{
	struct conf	*a, *b;
	char		 what[256];

	a = must_load("http:\n  listen: [\"127.0.0.1:1\", \"[::1]:2\"]\n"
	    "scanner:\n  timeout: 1s\n", NULL, 0);
	/* Reordered listeners and a reloadable key: no restart. */
	b = must_load("http:\n  listen: [\"[::1]:2\", \"localhost:1\"]\n"
	    "scanner:\n  timeout: 2s\n", NULL, 0);
	ck_assert_int_eq(conf_restart_keys_differ(a, b, what, sizeof(what)),
	    0);
	ck_assert_str_eq(what, "");
	conf_free(b);

	b = must_load("http:\n  listen: [\"127.0.0.1:1\"]\n"
	    "convergence:\n  proxy_listen: [\"127.0.0.1:3\"]\n"
	    "cache:\n  size: 128M\n  max_response: 16K\n"
	    "stream:\n  ring_size: 32M\n"
	    "daemon:\n  data_dir: /elsewhere\n  user: nobody\n"
	    "  group: nogroup\n  pidfile: /run/x.pid\n"
	    "database:\n  cache_size: 64M\n", NULL, 0);
	ck_assert_int_eq(conf_restart_keys_differ(a, b, what, sizeof(what)),
	    10);
	ck_assert_str_eq(what, "http.listen, convergence.proxy_listen, "
	    "cache.size, cache.max_response, stream.ring_size, "
	    "daemon.data_dir, daemon.user, daemon.group, daemon.pidfile, "
	    "database.cache_size");
	/* Small or missing buffers still count. */
	ck_assert_int_eq(conf_restart_keys_differ(a, b, what, 8), 10);
	ck_assert_str_eq(what, "http.li");
	ck_assert_int_eq(conf_restart_keys_differ(a, b, NULL, 0), 10);
	conf_free(b);

	b = must_load("http:\n  listen: [\"127.0.0.1:1\", \"[::1]:2\"]\n"
	    "convergence:\n  listen: [\"0.0.0.0:4242\"]\n"
	    "  certificate: c\n  key: k\n", NULL, 0);
	ck_assert_int_eq(conf_restart_keys_differ(a, b, what, sizeof(what)),
	    3);
	ck_assert_str_eq(what, "convergence.listen, convergence.certificate, "
	    "convergence.key");
	conf_free(b);
	conf_free(a);
}
END_TEST

/* ---- the shipped file ------------------------------------------------- */

START_TEST(test_shipped_conf_is_defaults)
{
	struct conf	*def, *cf;
	const char	*diff;

	def = conf_load(NULL, NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(def);
	cf = conf_load(shipped_conf(), NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_msg(cf != NULL, "%s", errbuf);
	diff = conf_diff(def, cf);
	ck_assert_msg(diff == NULL, "conf/notaryd.yaml differs from the "
	    "built-in default in %s", diff);
	conf_free(cf);
	conf_free(def);
}
END_TEST

/* Every key is in the shipped file (documented), as "section:\n  key:". */
START_TEST(test_shipped_conf_has_every_key)
{
	FILE	*fp;
	char	 line[512], section[64] = "", found[8192] = ",";
	char	 want[128];
	size_t	 i, n;

	ck_assert_ptr_nonnull(fp = fopen(shipped_conf(), "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || line[0] == ' ' || line[0] == '\n') {
			n = strspn(line, " ");
			if (n == 2 && line[2] != '#' &&
			    strchr(line, ':') != NULL)
				snprintf(found + strlen(found),
				    sizeof(found) - strlen(found), "%s.%.*s,",
				    section, (int)strcspn(line + 2, ":"),
				    line + 2);
			continue;
		}
		snprintf(section, sizeof(section), "%.*s",
		    (int)strcspn(line, ":"), line);
	}
	fclose(fp);
	for (i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		snprintf(want, sizeof(want), ",%s,", all_keys[i]);
		ck_assert_msg(strstr(found, want) != NULL,
		    "%s is not in conf/notaryd.yaml", all_keys[i]);
	}
}
END_TEST

/* Every key can be overridden, and setting its default changes nothing. */
START_TEST(test_every_key_overridable)
{
	struct conf_override	 ov;
	struct conf		*def, *cf;
	size_t			 i;

	def = conf_load(NULL, NULL, 0, errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(def);
	for (i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		ov.key = all_keys[i];
		ov.value = "{}";	/* never valid for a leaf */
		ck_assert_ptr_null(conf_load(NULL, &ov, 1, errbuf,
		    sizeof(errbuf)));
		ck_assert_msg(strncmp(errbuf, "-o ", 3) == 0 &&
		    strstr(errbuf, "unknown key") == NULL,
		    "%s: %s", all_keys[i], errbuf);
	}
	ov.key = "stream.ring_size";
	ov.value = "16M";
	cf = conf_load(NULL, &ov, 1, errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(cf);
	ck_assert_ptr_null(conf_diff(def, cf));
	conf_free(cf);
	conf_free(def);
}
END_TEST

/* ---- the suite -------------------------------------------------------- */

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc;

	tc = tcase_create("defaults");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_defaults_no_file);
	tcase_add_test(tc, test_defaults_empty_files);
	tcase_add_test(tc, test_default_path);
	tcase_add_test(tc, test_shipped_conf_is_defaults);
	tcase_add_test(tc, test_shipped_conf_has_every_key);
	tcase_add_test(tc, test_every_key_overridable);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_partial_file);
	tcase_add_test(tc, test_convergence_no_cert);
	tcase_add_test(tc, test_convergence_sni);
	tcase_add_test(tc, test_yaml_styles);
	tcase_add_test(tc, test_workers_zero_is_ncpu);
	tcase_add_test(tc, test_relative_paths);
	tcase_add_test(tc, test_restart_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_loop_test(tc, test_bad_value, 0,
	    sizeof(bad_values) / sizeof(bad_values[0]));
	tcase_add_test(tc, test_unknown_keys);
	tcase_add_test(tc, test_wrong_kinds);
	tcase_add_test(tc, test_duplicate_keys);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_errors_collected);
	tcase_add_test(tc, test_small_error_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("overrides");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_override_leaf_and_list);
	tcase_add_test(tc, test_override_section);
	tcase_add_test(tc, test_override_after_file);
	tcase_add_test(tc, test_override_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("parsers");
	tcase_add_test(tc, test_parse_duration);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_parse_listen);
	tcase_add_test(tc, test_parse_cidr);
	tcase_add_test(tc, test_cidr_match);
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_default_deny);
	tcase_add_test(tc, test_netaddr_denied);
	suite_add_tcase(s, tc);
	return (s);
}
