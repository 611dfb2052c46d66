/*
 * check_http_routes.c - unit tests for server/http_routes.c, the router
 * of the HTTP workers: which path and method reach which handler (exact
 * paths, 404, 405 with the Allow list), HEAD answered as GET, the index
 * page (public key shown escaped, looked for again at most once a
 * second, features), /healthz against the status table, the favicon,
 * the Perspectives query decisions that need no signer (400, a cached
 * reply served, a miss handed to the signer with its id and flags, form
 * bodies), the signer's answers turned into HTTP, and the websocket
 * stream paths.
 *
 * Requests are real bytes through server/http_parser.c; the config is
 * conf_load's defaults; the status table and the cache are the real
 * shared-memory ones.  Dropping the body of a HEAD answer happens in
 * server/http.c (the worker loop), not here: that part is covered by
 * the integration tests only.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cache.h"
#include "common/conf.h"
#include "common/status.h"
#include "common/util.h"
#include "server/favicon.h"
#include "server/http_parser.h"
#include "server/http_routes.h"
#include "server/sigproto.h"
#include "tests/testutil.h"

#define XML		CACHE_FMT_PERSPECTIVES_XML
#define JSON		CACHE_FMT_CONVERGENCE_JSON
#define WS_KEY		"dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="	/* RFC 6455 1.3 */

static const struct http_limits	lim = { 16384, 64, 65536 };

static struct conf		*cf;
static struct status		*st;
static struct cache		*cache;
static struct http_site		 site;
static struct http_request	 req;
static struct http_response	 resp;

/*
 * Checked fixture: defaults with the public key in the test's directory
 * (not there until a test writes it), a fresh status table and cache.
 */
static void
site_setup(void)
{
	struct conf_override	ov = { "keys.public", NULL };
	char			err[1024];

	tu_tmpdir_setup();
	ov.value = tu_path("notary.pub");
	cf = conf_load(NULL, &ov, 1, err, sizeof(err));
	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_ptr_nonnull(st = status_create());
	ck_assert_ptr_nonnull(cache = cache_create(1 << 20, 8192));
	http_site_init(&site, cf, st, cache);
	http_response_init(&resp);
}

static void
site_teardown(void)
{
	http_response_free(&resp);
	http_site_free(&site);
	cache_destroy(cache);
	status_destroy(st);
	conf_free(cf);
	tu_tmpdir_teardown();
}

/* Parse raw (a whole request) and route it into the global resp. */
static void
dispatch(const char *raw)
{
	size_t	len = strlen(raw);

	ck_assert_msg(http_parse_request(raw, len, &lim, &req) == (int)len,
	    "not one complete request: %s", raw);
	http_response_free(&resp);
	http_response_init(&resp);
	http_dispatch(&site, &req, &resp);
}

static int
body_has(const char *s)
{
	return (memmem(resp.body.data, resp.body.len, s, strlen(s)) != NULL);
}

static int
header_has(const char *line)
{
	return (resp.headers.len > 0 && memmem(resp.headers.data,
	    resp.headers.len, line, strlen(line)) != NULL);
}

static void
assert_body(const char *s)
{
	ck_assert_uint_eq(resp.body.len, strlen(s));
	ck_assert_mem_eq(resp.body.data, s, resp.body.len);
}

/* ---- routing ----------------------------------------------------------- */

START_TEST(test_not_found)
{
	static const char *const paths[] = { "/nosuch", "/index/",
	    "/INDEX", "/healthz/", "//", "/index.html", "/favicon.ico/",
	    "/healthzz", "/full-stream/x" };
	char	raw[256];
	size_t	i;

	for (i = 0; i < TU_NELEM(paths); i++) {
		snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: n\r\n\r\n",
		    paths[i]);
		dispatch(raw);
		ck_assert_msg(resp.status == 404, "%s: %d", paths[i],
		    resp.status);
		ck_assert_str_eq(resp.content_type, "text/plain;charset=utf-8");
		assert_body("404 Not Found\n");
		ck_assert_int_eq(resp.defer, 0);
		/* an unknown path is 404 whatever the method */
		snprintf(raw, sizeof(raw), "DELETE %s HTTP/1.0\r\n\r\n",
		    paths[i]);
		dispatch(raw);
		ck_assert_int_eq(resp.status, 404);
	}
	/* /metrics exists, for metrics.allow peers only (none here) */
	dispatch("GET /metrics HTTP/1.1\r\nHost: n\r\n\r\n");
	ck_assert_int_eq(resp.status, 403);
}
END_TEST

/* A known path with a method it does not take: 405 and its Allow list. */
START_TEST(test_method_not_allowed)
{
	static const struct {
		const char	*req;
		const char	*allow;
	} rows[] = {
		{ "POST /healthz HTTP/1.0\r\n\r\n", "Allow: GET, HEAD\r\n" },
		{ "PUT / HTTP/1.0\r\n\r\n", "Allow: GET, HEAD, POST\r\n" },
		{ "DELETE /index HTTP/1.0\r\n\r\n",
		    "Allow: GET, HEAD, POST\r\n" },
		{ "OPTIONS / HTTP/1.0\r\n\r\n", "Allow: GET, HEAD, POST\r\n" },
		{ "PATCH /favicon.ico HTTP/1.0\r\n\r\n",
		    "Allow: GET, HEAD\r\n" },
		{ "TRACE /healthz HTTP/1.0\r\n\r\n", "Allow: GET, HEAD\r\n" },
		{ "POST /favicon.ico HTTP/1.0\r\n\r\n",
		    "Allow: GET, HEAD\r\n" },
	};
	size_t	i;

	for (i = 0; i < TU_NELEM(rows); i++) {
		dispatch(rows[i].req);
		ck_assert_msg(resp.status == 405, "%s", rows[i].req);
		assert_body("405 Method Not Allowed\n");
		ck_assert_msg(header_has(rows[i].allow), "%s: %.*s",
		    rows[i].req, (int)resp.headers.len, resp.headers.data);
		ck_assert_int_eq(resp.defer, 0);
	}
}
END_TEST

/* HEAD gets what GET gets; the worker loop leaves the body out. */
START_TEST(test_head_as_get)
{
	static const char *const paths[] = { "/", "/index", "/healthz",
	    "/favicon.ico", "/nosuch" };
	struct buf	 body;
	char		 raw[128];
	const char	*ct;
	size_t		 i;
	int		 status;

	buf_init(&body, HTTP_BODY_MAX);
	for (i = 0; i < TU_NELEM(paths); i++) {
		snprintf(raw, sizeof(raw), "GET %s HTTP/1.0\r\n\r\n", paths[i]);
		dispatch(raw);
		status = resp.status;
		ct = resp.content_type;
		buf_reset(&body);
		ck_assert_int_eq(buf_append(&body, resp.body.data,
		    resp.body.len), 0);
		snprintf(raw, sizeof(raw), "HEAD %s HTTP/1.0\r\n\r\n",
		    paths[i]);
		dispatch(raw);
		ck_assert_int_eq(req.method, HTTP_M_HEAD);
		ck_assert_int_eq(resp.status, status);
		ck_assert_str_eq(resp.content_type, ct);
		ck_assert_uint_eq(resp.body.len, body.len);
		ck_assert_mem_eq(resp.body.data, body.data, body.len);
	}
	buf_free(&body);
}
END_TEST

START_TEST(test_favicon)
{
	dispatch("GET /favicon.ico HTTP/1.1\r\nHost: n\r\n\r\n");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "image/x-icon");
	ck_assert_uint_eq(resp.body.len, favicon_ico_len);
	ck_assert_mem_eq(resp.body.data, favicon_ico, favicon_ico_len);
	/* an ICO file: reserved 0, type 1 */
	ck_assert_mem_eq(resp.body.data, "\0\0\1\0", 4);
	ck_assert(header_has("Cache-Control: max-age=86400\r\n"));
}
END_TEST

/* ---- the index page ---------------------------------------------------- */

START_TEST(test_index_page)
{
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\nHost: n\r\n\r\n",
		"GET /index HTTP/1.1\r\nHost: n\r\n\r\n",
		"GET /? HTTP/1.1\r\nHost: n\r\n\r\n",
		"GET /index?&&& HTTP/1.1\r\nHost: n\r\n\r\n",
		"POST / HTTP/1.0\r\n\r\n",
		/* a body that is not a form is not read as parameters */
		"POST / HTTP/1.0\r\nContent-Type: text/plain\r\n"
		    "Content-Length: 6\r\n\r\nhost=x",
	};
	size_t	i;

	for (i = 0; i < TU_NELEM(reqs); i++) {
		dispatch(reqs[i]);
		ck_assert_msg(resp.status == 200, "%s: %d", reqs[i],
		    resp.status);
		ck_assert_str_eq(resp.content_type, "text/html;charset=utf-8");
		ck_assert_int_eq(resp.defer, 0);
		ck_assert(body_has("<!DOCTYPE html>"));
		ck_assert(body_has("<h1>notaryd network notary</h1>"));
		ck_assert(body_has("version " PACKAGE_VERSION));
		ck_assert(body_has("<p>No notary key yet.</p>"));
		ck_assert(body_has("</html>\n"));
	}
	/* what this build serves, and only that, is On */
	ck_assert(body_has("<td>Perspectives notary</td><td "
	    "class='td-status-on'>On</td>"));
	ck_assert(body_has("<td>Convergence notary</td><td "
	    "class='td-status-off'>Off</td>"));
	ck_assert(body_has("<td>Certificate Transparency stream</td><td "
	    "class='td-status-on'>On</td>"));
	ck_assert(body_has("<td>Server Name Indication</td><td "
	    "class='td-status-on'>On</td>"));
	ck_assert(body_has("<td>Performance Metrics</td><td "
	    "class='td-status-on'>On</td>"));
	/* notes are escaped text */
	ck_assert(body_has("GET /?host=H&amp;port=P&amp;service_type=2"));
	ck_assert(body_has("websocket on /, /full-stream, /domains-only"));
}
END_TEST

/*
 * The key is read from keys.public, shown escaped, and looked for again
 * at most once a second while it is missing.
 */
START_TEST(test_index_public_key)
{
	static const char	pem[] = "-----BEGIN PUBLIC KEY-----\n"
	    "MIIB<&>\"'\n-----END PUBLIC KEY-----\n";

	dispatch("GET / HTTP/1.0\r\n\r\n");
	ck_assert(body_has("No notary key yet."));
	tu_write_file(tu_path("notary.pub"), pem, sizeof(pem) - 1, 0644);
	/* tried less than a second ago: not yet */
	dispatch("GET / HTTP/1.0\r\n\r\n");
	ck_assert(body_has("No notary key yet."));
	site.pubkey_tried -= 1000;
	dispatch("GET / HTTP/1.0\r\n\r\n");
	ck_assert(!body_has("No notary key yet."));
	ck_assert(body_has("<h2>Public key</h2>\n<pre>-----BEGIN PUBLIC "
	    "KEY-----\nMIIB&lt;&amp;&gt;&quot;&#39;\n-----END PUBLIC "
	    "KEY-----\n</pre>"));
	/* once found it stays: the file going away changes nothing */
	ck_assert_int_eq(unlink(tu_path("notary.pub")), 0);
	site.pubkey_tried -= 5000;
	dispatch("GET /index HTTP/1.0\r\n\r\n");
	ck_assert(body_has("MIIB&lt;"));
}
END_TEST

/* An empty key file is no key. */
START_TEST(test_index_empty_key)
{
	tu_write_file(tu_path("notary.pub"), "", 0, 0644);
	dispatch("GET / HTTP/1.0\r\n\r\n");
	ck_assert(body_has("No notary key yet."));
	ck_assert_ptr_null(site.pubkey_pem);
}
END_TEST

START_TEST(test_index_features_follow_config)
{
	cf->ctwatch.enabled = false;
	cf->scanner.sni = false;
	dispatch("GET / HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(resp.status, 200);
	ck_assert(body_has("<td>Certificate Transparency stream</td><td "
	    "class='td-status-off'>Off</td>"));
	ck_assert(body_has("<td>Server Name Indication</td><td "
	    "class='td-status-off'>Off</td>"));
}
END_TEST

/* ---- /healthz ---------------------------------------------------------- */

static void
all_ready(void)
{
	int	r;

	atomic_store(&st->db_state, DB_STATE_UP);
	for (r = ROLE_HTTP; r < ROLE_RECOVERY; r++) {
		atomic_store(&st->role[r].wanted, 2);
		atomic_store(&st->role[r].ready, 2);
	}
}

START_TEST(test_healthz)
{
	all_ready();
	atomic_store(&st->generation, 3);
	atomic_store(&st->recoveries, 1);
	atomic_store(&st->role[ROLE_SCANNER].spawns, 5);
	atomic_store(&st->role[ROLE_SCANNER].crashes, 4);
	atomic_store(&st->role[ROLE_CTWATCH].wanted, 0);
	atomic_store(&st->role[ROLE_CTWATCH].ready, 0);
	atomic_store(&st->role[ROLE_NATSPUB].wanted, 0);
	atomic_store(&st->role[ROLE_NATSPUB].ready, 0);
	atomic_store(&st->role[ROLE_NATSRC].wanted, 0);
	atomic_store(&st->role[ROLE_NATSRC].ready, 0);
	dispatch("GET /healthz HTTP/1.1\r\nHost: n\r\n\r\n");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	assert_body("{\"status\":\"ok\",\"generation\":3,\"database\":\"up\","
	    "\"recoveries\":1,\"roles\":{"
	    "\"http\":{\"wanted\":2,\"ready\":2,\"spawns\":0,\"crashes\":0,"
	    "\"throttled\":false},"
	    "\"signer\":{\"wanted\":2,\"ready\":2,\"spawns\":0,\"crashes\":0,"
	    "\"throttled\":false},"
	    "\"scanner\":{\"wanted\":2,\"ready\":2,\"spawns\":5,\"crashes\":4,"
	    "\"throttled\":false},"
	    "\"ctwatch\":{\"wanted\":0,\"ready\":0,\"spawns\":0,\"crashes\":0,"
	    "\"throttled\":false},"
	    "\"natspub\":{\"wanted\":0,\"ready\":0,\"spawns\":0,\"crashes\":0,"
	    "\"throttled\":false},"
	    "\"natsrc\":{\"wanted\":0,\"ready\":0,\"spawns\":0,\"crashes\":0,"
	    "\"throttled\":false}}}\n");
	ck_assert(header_has("Cache-Control: no-store\r\n"));
}
END_TEST

START_TEST(test_healthz_degraded)
{
	/* nothing up yet */
	dispatch("GET /healthz HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(resp.status, 503);
	ck_assert(body_has("\"status\":\"degraded\""));
	ck_assert(body_has("\"database\":\"down\""));
	/* the database recovering */
	all_ready();
	atomic_store(&st->db_state, DB_STATE_RECOVERING);
	dispatch("GET /healthz HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(resp.status, 503);
	ck_assert(body_has("\"database\":\"recovering\""));
	/* one signer missing, one throttled */
	all_ready();
	atomic_store(&st->role[ROLE_SIGNER].ready, 1);
	atomic_store(&st->role[ROLE_SIGNER].throttled, 1);
	dispatch("HEAD /healthz HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(resp.status, 503);
	ck_assert(body_has("\"signer\":{\"wanted\":2,\"ready\":1,\"spawns\":0,"
	    "\"crashes\":0,\"throttled\":true}"));
	/* a value the master never writes is shown as unknown, not trusted */
	all_ready();
	atomic_store(&st->db_state, 7);
	dispatch("GET /healthz HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(resp.status, 503);
	ck_assert(body_has("\"database\":\"unknown\""));
}
END_TEST

/* ---- Perspectives queries ---------------------------------------------- */

static void
assert_deferred(const char *id, uint8_t flags)
{
	ck_assert_int_eq(resp.defer, 1);
	ck_assert_uint_eq(resp.defer_fmt, XML);
	ck_assert_uint_eq(resp.defer_flags, flags);
	ck_assert_uint_eq(resp.defer_idlen, strlen(id));
	ck_assert_mem_eq(resp.defer_id, id, strlen(id));
	ck_assert_uint_eq(resp.body.len, 0);
}

START_TEST(test_query_miss_goes_to_signer)
{
	dispatch("GET /?host=example.com&port=443&service_type=2 HTTP/1.1\r\n"
	    "Host: n\r\n\r\n");
	assert_deferred("example.com:443,2", SIGPROTO_F_PROBE);
	/* defaults: type 2, port 443; "/index" is the same resource */
	dispatch("GET /index?host=example.com HTTP/1.0\r\n\r\n");
	assert_deferred("example.com:443,2", SIGPROTO_F_PROBE);
	/* ssh services are never probed; their port defaults to 22 */
	dispatch("GET /?host=example.org&service_type=1 HTTP/1.0\r\n\r\n");
	assert_deferred("example.org:22,1", 0);
	/* HEAD asks the signer as GET does */
	dispatch("HEAD /?host=a.example&port=8443 HTTP/1.0\r\n\r\n");
	assert_deferred("a.example:8443,2", SIGPROTO_F_PROBE);
	/* the longest id there can be fits the deferred request */
	ck_assert_uint_ge(sizeof(resp.defer_id), SIGPROTO_ID_MAX);
}
END_TEST

/* A form-encoded POST body is read as parameters, as CherryPy does. */
START_TEST(test_query_form_post)
{
	dispatch("POST / HTTP/1.0\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\n"
	    "host=b.example&port=25");
	assert_deferred("b.example:25,2", SIGPROTO_F_PROBE);
	dispatch("POST /index?service_type=2 HTTP/1.0\r\nContent-Type: "
	    "Application/X-WWW-Form-URLEncoded; charset=UTF-8\r\n"
	    "Content-Length: 11\r\n\r\nhost=c.test");
	assert_deferred("c.test:443,2", SIGPROTO_F_PROBE);
	/* a parameter both in the query and in the body is repeated: 400 */
	dispatch("POST /?host=d.test HTTP/1.0\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nhost=d.test");
	ck_assert_int_eq(resp.status, 400);
	ck_assert_int_eq(resp.defer, 0);
}
END_TEST

/* Refused queries are answered here, without the signer. */
START_TEST(test_query_refused)
{
	static const char *const queries[] = { "host=", "foo=bar",
	    "host=a.example&host=b.example", "host=a.example&port=0",
	    "host=a.example&port=65536", "host=a.example&port=044",
	    "host=a.example&service_type=3", "host=a%00b",
	    "host=a.example.", "host=a%20b", "port=443",
	    "host=a.example&service_type=" };
	char	raw[256];
	size_t	i;

	for (i = 0; i < TU_NELEM(queries); i++) {
		snprintf(raw, sizeof(raw), "GET /?%s HTTP/1.0\r\n\r\n",
		    queries[i]);
		dispatch(raw);
		ck_assert_msg(resp.status == 400, "%s: %d", queries[i],
		    resp.status);
		ck_assert_int_eq(resp.defer, 0);
		assert_body("400 Bad Request\n");
	}
}
END_TEST

/* A cached signed reply is served from shared memory, as it was stored. */
START_TEST(test_query_cache_hit)
{
	static const char	id[] = "cached.example:443,2";
	static const char	xml[] = "<?xml version=\"1.0\"?><notary_reply/>";

	ck_assert_int_eq(cache_put(cache, XML, id, sizeof(id) - 1, xml,
	    sizeof(xml) - 1, 60000, mono_ms(), mono_ms()), 0);
	dispatch("GET /?host=cached.example HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(resp.status, 200);
	ck_assert_int_eq(resp.defer, 0);
	ck_assert_str_eq(resp.content_type, "text/xml;charset=utf-8");
	assert_body(xml);
	/* another format of the same id is not this resource */
	ck_assert_int_eq(cache_put(cache, JSON, "json.example:443,2", 18,
	    "{}", 2, 60000, mono_ms(), mono_ms()), 0);
	dispatch("GET /?host=json.example HTTP/1.0\r\n\r\n");
	assert_deferred("json.example:443,2", SIGPROTO_F_PROBE);
	/* after an invalidation the signer is asked again */
	ck_assert_int_eq(cache_invalidate(cache, XML, id, sizeof(id) - 1,
	    mono_ms()), 0);
	dispatch("GET /?host=cached.example HTTP/1.0\r\n\r\n");
	assert_deferred(id, SIGPROTO_F_PROBE);
}
END_TEST

/* A worker without a cache sends every query to the signer. */
START_TEST(test_query_without_cache)
{
	http_site_free(&site);
	http_site_init(&site, cf, st, NULL);
	ck_assert_ptr_null(site.cache_buf);
	dispatch("GET /?host=example.com HTTP/1.0\r\n\r\n");
	assert_deferred("example.com:443,2", SIGPROTO_F_PROBE);
}
END_TEST

/* ---- the signer's answers ---------------------------------------------- */

START_TEST(test_from_signer)
{
	static const char	xml[] = "<notary_reply/>";
	char			*big;

	http_response_from_signer(&resp, SIG_OK, xml, sizeof(xml) - 1, XML);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "text/xml;charset=utf-8");
	assert_body(xml);

	http_response_free(&resp);
	http_response_init(&resp);
	http_response_from_signer(&resp, SIG_OK, "{}", 2, JSON);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	assert_body("{}");

	http_response_free(&resp);
	http_response_init(&resp);
	http_response_from_signer(&resp, SIG_UNKNOWN, NULL, 0, XML);
	ck_assert_int_eq(resp.status, 404);
	assert_body("404 Not Found\n");
	ck_assert_uint_eq(resp.headers.len, 0);

	http_response_free(&resp);
	http_response_init(&resp);
	http_response_from_signer(&resp, SIG_BAD, NULL, 0, XML);
	ck_assert_int_eq(resp.status, 400);

	http_response_free(&resp);
	http_response_init(&resp);
	http_response_from_signer(&resp, SIG_UNAVAILABLE, NULL, 0, XML);
	ck_assert_int_eq(resp.status, 503);
	ck_assert(header_has("Retry-After: 5\r\n"));

	/* a status the protocol does not have is unavailable, not OK */
	http_response_free(&resp);
	http_response_init(&resp);
	http_response_from_signer(&resp, 99, xml, sizeof(xml) - 1, XML);
	ck_assert_int_eq(resp.status, 503);
	assert_body("503 Service Unavailable\n");

	/* a body over the response bound is 503, never a cut reply */
	ck_assert_ptr_nonnull(big = calloc(1, HTTP_BODY_MAX + 1));
	http_response_free(&resp);
	http_response_init(&resp);
	http_response_from_signer(&resp, SIG_OK, big, HTTP_BODY_MAX + 1, XML);
	ck_assert_int_eq(resp.status, 503);
	assert_body("503 Service Unavailable\n");
	free(big);
}
END_TEST

/* ---- websocket stream paths -------------------------------------------- */

#define UPGRADE(path, ver)						\
	"GET " path " HTTP/1.1\r\nHost: n\r\nConnection: Upgrade\r\n"	\
	"Upgrade: websocket\r\nSec-WebSocket-Version: " ver "\r\n"	\
	"Sec-WebSocket-Key: " WS_KEY "\r\n\r\n"

START_TEST(test_streams)
{
	cf->ctwatch.enabled = true;
	dispatch(UPGRADE("/full-stream", "13"));
	ck_assert_int_eq(resp.status, 101);
	ck_assert_int_eq(resp.stream, HTTP_STREAM_FULL);
	ck_assert(header_has("Upgrade: websocket\r\n"));
	ck_assert(header_has("Sec-WebSocket-Accept: " WS_ACCEPT "\r\n"));
	dispatch(UPGRADE("/domains-only/", "13"));
	ck_assert_int_eq(resp.status, 101);
	ck_assert_int_eq(resp.stream, HTTP_STREAM_DOMAINS);
	dispatch(UPGRADE("/", "13"));
	ck_assert_int_eq(resp.status, 101);
	ck_assert_int_eq(resp.stream, HTTP_STREAM_LITE);
	/* a plain GET on a stream path: a short page; "/" is the index */
	dispatch("GET /full-stream HTTP/1.1\r\nHost: n\r\n\r\n");
	ck_assert_int_eq(resp.status, 200);
	ck_assert(body_has("websocket endpoint"));
	ck_assert_int_eq(resp.stream, HTTP_STREAM_NONE);
	/* a bad filter: 400 with the reason, before any upgrade */
	dispatch(UPGRADE("/full-stream?type=cert", "13"));
	ck_assert_int_eq(resp.status, 400);
	ck_assert(body_has("type= must be precert or x509"));
	ck_assert_int_eq(resp.stream, HTTP_STREAM_NONE);
	dispatch("GET / HTTP/1.1\r\nHost: n\r\n\r\n");
	ck_assert_int_eq(resp.status, 200);
	ck_assert(body_has("<h1>notaryd network notary</h1>"));
	/* a version we do not speak: 426 with ours, and close */
	dispatch(UPGRADE("/full-stream", "8"));
	ck_assert_int_eq(resp.status, 426);
	ck_assert(header_has("Sec-WebSocket-Version: 13\r\n"));
	ck_assert_int_eq(resp.close, 1);
	ck_assert_int_eq(resp.stream, HTTP_STREAM_NONE);
	/* longer paths are not the stream */
	dispatch(UPGRADE("/full-stream//", "13"));
	ck_assert_int_eq(resp.status, 404);
}
END_TEST

/* With the watcher off the stream paths do not exist. */
START_TEST(test_streams_disabled)
{
	cf->ctwatch.enabled = false;
	dispatch(UPGRADE("/full-stream", "13"));
	ck_assert_int_eq(resp.status, 404);
	ck_assert_int_eq(resp.stream, HTTP_STREAM_NONE);
	dispatch(UPGRADE("/", "13"));
	ck_assert_int_eq(resp.status, 200);
	ck_assert_int_eq(resp.stream, HTTP_STREAM_NONE);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("http_routes");
	TCase	*tc;

	tc = tu_tcase(s, "routing", 30);
	tcase_add_checked_fixture(tc, site_setup, site_teardown);
	tcase_add_test(tc, test_not_found);
	tcase_add_test(tc, test_method_not_allowed);
	tcase_add_test(tc, test_head_as_get);
	tcase_add_test(tc, test_favicon);

	tc = tu_tcase(s, "index", 30);
	tcase_add_checked_fixture(tc, site_setup, site_teardown);
	tcase_add_test(tc, test_index_page);
	tcase_add_test(tc, test_index_public_key);
	tcase_add_test(tc, test_index_empty_key);
	tcase_add_test(tc, test_index_features_follow_config);

	tc = tu_tcase(s, "healthz", 30);
	tcase_add_checked_fixture(tc, site_setup, site_teardown);
	tcase_add_test(tc, test_healthz);
	tcase_add_test(tc, test_healthz_degraded);

	tc = tu_tcase(s, "perspectives", 30);
	tcase_add_checked_fixture(tc, site_setup, site_teardown);
	tcase_add_test(tc, test_query_miss_goes_to_signer);
	tcase_add_test(tc, test_query_form_post);
	tcase_add_test(tc, test_query_refused);
	tcase_add_test(tc, test_query_cache_hit);
	tcase_add_test(tc, test_query_without_cache);
	tcase_add_test(tc, test_from_signer);

	tc = tu_tcase(s, "streams", 30);
	tcase_add_checked_fixture(tc, site_setup, site_teardown);
	tcase_add_test(tc, test_streams);
	tcase_add_test(tc, test_streams_disabled);
	return (s);
}
