/*
 * conv_routes.c - the Convergence notary as seen from the plain HTTP
 * listener: GET /convergence.notary and the index page's feature row.
 *
 * The bundle names the host the client asked for (its Host header,
 * without a port), the port of the first convergence.listen entry as
 * ssl_port, the first convergence.proxy_listen port (else 80) as
 * http_port, and the certificate file the TLS ports serve.  Its
 * bundle_location is https://<host>/convergence.notary, as the client
 * accepts only https locations: an operator publishes it there.
 *
 * Runs in HTTP workers.  The certificate is re-read at most once a second
 * until it exists (the signer makes it on its first start); without it
 * or without a Convergence listener the route is a 404.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/util.h"
#include "server/conv_routes.h"
#include "server/convergence.h"
#include "server/convkeys.h"
#include "server/http_routes.h"

static struct {
	struct convkeys_cert cert;
	int                  loaded;
	int64_t              tried;
} cc = { .tried = -1000000 };

static const struct convkeys_cert *
served_cert(const struct conf *cf)
{
	char    c[4096], k[4096], err[512];
	int64_t now = mono_ms();

	if (cc.loaded || cf->convergence.listen.n == 0 || now - cc.tried < 1000)
		return (cc.loaded ? &cc.cert : NULL);
	cc.tried = now;
	if (convkeys_paths(cf, c, sizeof(c), k, sizeof(k)) != -1 &&
	    convkeys_load_cert(c, &cc.cert, err, sizeof(err)) == 0)
		cc.loaded = 1;
	return (cc.loaded ? &cc.cert : NULL);
}

static int
listen_port(const struct netaddr_listen *l)
{
	const struct sockaddr_in  *s4 = (const void *)&l->addr;
	const struct sockaddr_in6 *s6 = (const void *)&l->addr;

	return (ntohs(
	    l->addr.ss_family == AF_INET6 ? s6->sin6_port : s4->sin_port));
}

void
conv_route_bundle(struct http_site *site, const struct http_request *req,
    struct http_response *resp)
{
	const struct conf          *cf = site->cf;
	const struct convkeys_cert *cert = served_cert(cf);
	struct conv_bundle_host     h;
	char                        host[256], loc[320];
	size_t                      hl;
	const char                 *colon;

	if (cert == NULL || req->host == NULL) {
		http_response_error(resp, 404);
		return;
	}
	/* "name" or "name:port"; a bracketed v6 literal is not a name. */
	colon = memchr(req->host, ':', req->host_len);
	hl = colon != NULL ? (size_t)(colon - req->host) : req->host_len;
	if (hl == 0 || hl >= sizeof(host)) {
		http_response_error(resp, 404);
		return;
	}
	memcpy(host, req->host, hl);
	host[hl] = '\0';
	snprintf(loc, sizeof(loc), "https://%s%s", host, CONV_BUNDLE_PATH);
	h.host = host;
	h.ssl_port = listen_port(&cf->convergence.listen.v[0]);
	h.http_port = cf->convergence.proxy_listen.n > 0
	    ? listen_port(&cf->convergence.proxy_listen.v[0])
	    : 80;
	h.cert_pem = cert->pem;
	if (conv_bundle(host, loc, NULL, &h, 1, &resp->body) == -1) {
		http_response_error(resp, 404);
		return;
	}
	resp->status = 200;
	resp->content_type = "application/json";
}

int
conv_index_feature(const struct conf *cf, char *text, size_t len)
{
	const struct convkeys_cert *cert = served_cert(cf);

	if (cf->convergence.listen.n == 0) {
		snprintf(text, len, "no convergence.listen configured");
		return (0);
	}
	if (cert == NULL) {
		snprintf(text, len, "waiting for the certificate");
		return (0);
	}
	snprintf(text, len,
	    "POST /target/HOST+PORT over TLS on %s%s; "
	    "certificate SHA-1 %s; bundle at %s",
	    cf->convergence.listen.v[0].text,
	    cf->convergence.listen.n > 1 ? " and more" : "", cert->fp,
	    CONV_BUNDLE_PATH);
	return (1);
}
