/*
 * conv_relay.c - the Convergence notary protocol, part 2: the request
 * head of the CONNECT bounce relay and its replies (shared/spec/
 * convergence.md §5), and the .notary bundle (§7) with the JSON string
 * escaping it needs.  Part 1 is convergence.c; the API is convergence.h.
 *
 * Which process runs what: HTTP workers parse relay requests and write
 * the relay replies; the HTTP workers (GET /convergence.notary) and
 * notaryctl convergence-bundle write bundles.
 *
 * How it fails: every function returns a status or -1 and leaves its
 * output buffer as it was; nothing logs.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "server/convergence.h"
#include "store/svcid.h"

#define ALT_HEADER "X-Convergence-Notary"
#define REFUSED_BODY                                                     \
	"<html>The request you issued is not an authorized Convergence " \
	"Notary request.\n"
#define FAILED_BODY "<html><body>Unable to connect to notary!</body></html>"

/* ---- CONNECT ---------------------------------------------------------- */

static int
is_blank(int c)
{
	return (c == ' ' || c == '\t');
}

/* Trim blanks (and a CR) at both ends of [*p, *p + *n). */
static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && is_blank((unsigned char)**p))
		(*p)++, (*n)--;
	while (*n > 0 &&
	    (is_blank((unsigned char)(*p)[*n - 1]) || (*p)[*n - 1] == '\r'))
		(*n)--;
}

static int
ends_with(const char *s, size_t n, const char *suf)
{
	size_t l = strlen(suf);

	return (n >= l && memcmp(s + n - l, suf, l) == 0);
}

/*
 * Check one destination (spec §5 step 2 and 3) and store its host.
 * 0, or -1 to refuse.
 */
static int
add_dest(struct conv_connect *c, const char *s, size_t n)
{
	const char  *colon = memchr(s, ':', n), *plus = memchr(s, '+', n);
	size_t       hl = n;
	char         id[SVCID_MAX + 1], err[128];
	struct svcid t;
	int          l;

	if (colon != NULL && !ends_with(s, n, ":4242"))
		return (-1);
	if (plus != NULL && !ends_with(s, n, "+4242"))
		return (-1);
	if (colon != NULL)
		hl = (size_t)(colon - s);
	else if (plus != NULL)
		hl = (size_t)(plus - s);
	if (c->ndest >= CONV_CONNECT_DESTS || hl == 0 || hl > CONV_HOST_MAX ||
	    memchr(s, '\0', hl) != NULL)
		return (-1);
	l = snprintf(id, sizeof(id), "%.*s:4242,2", (int)hl, s);
	if (l < 0 || (size_t)l >= sizeof(id) ||
	    svcid_parse(id, (size_t)l, &t, err, sizeof(err)) != 0 ||
	    t.kind == SVCID_IPV6)
		return (-1);
	memcpy(c->dest[c->ndest], s, hl);
	c->dest[c->ndest][hl] = '\0';
	c->ndest++;
	return (0);
}

/* The request line: "CONNECT" SP uri SP "HTTP/1.x" (Twisted splits it). */
static int
request_line(struct conv_connect *c, const char *p, size_t n)
{
	const char *w[4];
	size_t      wl[4], nw = 0, i = 0;

	while (i < n) {
		while (i < n && is_blank((unsigned char)p[i]))
			i++;
		if (i == n)
			break;
		if (nw == 4)
			return (-1);
		w[nw] = p + i;
		while (i < n && !is_blank((unsigned char)p[i]))
			i++;
		wl[nw] = (size_t)(p + i - w[nw]);
		nw++;
	}
	if (nw != 3 || wl[2] != 8 || memcmp(w[2], "HTTP/1.", 7) != 0 ||
	    (w[2][7] != '0' && w[2][7] != '1'))
		return (-1);
	c->version_minor = w[2][7] - '0';
	c->ok = wl[0] == 7 && memcmp(w[0], "CONNECT", 7) == 0 &&
	    add_dest(c, w[1], wl[1]) == 0;
	return (0);
}

int
conv_parse_connect(const char *buf, size_t len, struct conv_connect *c)
{
	const char *p = buf, *end, *nl, *colon, *v;
	size_t      n, vn;
	int         first = 1;

	memset(c, 0, sizeof(*c));
	c->version_minor = 1;
	end = buf + (len < CONV_CONNECT_MAX ? len : CONV_CONNECT_MAX);
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0 && !first) {
			c->head_len = (size_t)(nl + 1 - buf);
			return ((int)c->head_len);
		}
		if (first) {
			if (n == 0 || request_line(c, p, n) == -1)
				return (-1);
			first = 0;
		} else if ((colon = memchr(p, ':', n)) != NULL &&
		    (size_t)(colon - p) == strlen(ALT_HEADER) &&
		    strncasecmp(p, ALT_HEADER, strlen(ALT_HEADER)) == 0) {
			v = colon + 1;
			vn = n - (size_t)(v - p);
			trim(&v, &vn);
			if (c->ok && add_dest(c, v, vn) == -1)
				c->ok = 0;
		} else if (colon == NULL || colon == p)
			return (-1);
		p = nl + 1;
	}
	return (len >= CONV_CONNECT_MAX ? -1 : 0);
}

int
conv_connect_ok(const char *host, struct buf *out)
{
	size_t old = out->len;

	if (buf_printf(out,
	        "HTTP/1.0 200 Connection Established\r\n"
	        "Proxy-Agent: Convergence\r\nX-Convergence-Notary: %s\r\n\r\n",
	        host) == -1) {
		out->len = old;
		return (-1);
	}
	return (0);
}

static int
connect_error(int minor, const char *status, const char *body, struct buf *out)
{
	size_t old = out->len;

	if (buf_printf(out, "HTTP/1.%d %s\r\nConnection: close\r\n\r\n%s",
	        minor == 0 ? 0 : 1, status, body) == -1) {
		out->len = old;
		return (-1);
	}
	return (0);
}

int
conv_connect_refused(int version_minor, struct buf *out)
{
	return (connect_error(
	    version_minor, "403 Access Denied", REFUSED_BODY, out));
}

int
conv_connect_failed(int version_minor, struct buf *out)
{
	return (connect_error(
	    version_minor, "404 Unable to connect", FAILED_BODY, out));
}

/* ---- JSON strings and the bundle -------------------------------------- */

/*
 * Decode one UTF-8 sequence at s (n bytes left): the code point, or -1
 * for anything Python 2 would not have decoded (overlong forms,
 * surrogates, > U+10FFFF, truncation).  *used gets its length.
 */
static long
utf8_next(const unsigned char *s, size_t n, size_t *used)
{
	long   cp;
	size_t len, i;

	if (s[0] < 0x80) {
		*used = 1;
		return (s[0]);
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, cp = s[0] & 0x07;
	} else
		return (-1);
	if (n < len)
		return (-1);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (-1);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return (-1);
	*used = len;
	return (cp);
}

static int
put_char(struct buf *out, long cp)
{
	switch (cp) {
	case '"':
		return (buf_puts(out, "\\\""));
	case '\\':
		return (buf_puts(out, "\\\\"));
	case '\n':
		return (buf_puts(out, "\\n"));
	case '\r':
		return (buf_puts(out, "\\r"));
	case '\t':
		return (buf_puts(out, "\\t"));
	case '\b':
		return (buf_puts(out, "\\b"));
	case '\f':
		return (buf_puts(out, "\\f"));
	}
	if (cp >= 0x20 && cp < 0x7f) {
		char c = (char)cp;

		return (buf_append(out, &c, 1));
	}
	if (cp < 0x10000)
		return (buf_printf(out, "\\u%04lx", cp));
	cp -= 0x10000;
	return (buf_printf(out, "\\u%04lx\\u%04lx", 0xd800 + (cp >> 10),
	    0xdc00 + (cp & 0x3ff)));
}

int
conv_json_string(const char *s, size_t len, struct buf *out)
{
	size_t old = out->len, i = 0, used;
	long   cp;

	if (buf_puts(out, "\"") == -1)
		goto fail;
	while (i < len) {
		if ((cp = utf8_next(
		         (const unsigned char *)s + i, len - i, &used)) < 0 ||
		    put_char(out, cp) == -1)
			goto fail;
		i += used;
	}
	if (buf_puts(out, "\"") == -1)
		goto fail;
	return (0);
fail:
	out->len = old;
	return (-1);
}

/* The PEM with CRLF turned into LF; -1 without a certificate block. */
static int
put_pem(const char *pem, struct buf *out)
{
	struct buf  t;
	const char *p;
	int         r;

	if (strstr(pem, "-----BEGIN CERTIFICATE-----") == NULL ||
	    strstr(pem, "-----END CERTIFICATE-----") == NULL)
		return (-1);
	buf_init(&t, strlen(pem) + 1);
	for (p = pem; *p != '\0'; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			(void)buf_append(&t, p, 1);
	r = conv_json_string(t.data, t.len, out);
	buf_free(&t);
	return (r);
}

static int
bundle_host_ok(const struct conv_bundle_host *h)
{
	char         id[SVCID_MAX + 1], err[128];
	struct svcid t;
	int          l;

	if (h->host == NULL || h->cert_pem == NULL || h->ssl_port < 1 ||
	    h->ssl_port > 65535 || h->http_port < 1 || h->http_port > 65535)
		return (0);
	l = snprintf(id, sizeof(id), "%s:%d,2", h->host, h->ssl_port);
	return (l > 0 && (size_t)l < sizeof(id) &&
	    strchr(h->host, ':') == NULL &&
	    svcid_parse(id, (size_t)l, &t, err, sizeof(err)) == 0);
}

int
conv_bundle(const char *name, const char *location, const char *region,
    const struct conv_bundle_host *hosts, size_t n, struct buf *out)
{
	size_t old = out->len, i, ll;

	if (name == NULL || *name == '\0' || location == NULL || n == 0 ||
	    (ll = strlen(location)) <= strlen("https://.notary") ||
	    strncmp(location, "https://", 8) != 0 ||
	    !ends_with(location, ll, ".notary") ||
	    (region != NULL &&
	        (strlen(region) != 2 || region[0] < 'A' || region[0] > 'Z' ||
	            region[1] < 'A' || region[1] > 'Z')))
		return (-1);
	if (buf_puts(out, "{\"name\": ") == -1 ||
	    conv_json_string(name, strlen(name), out) == -1 ||
	    buf_puts(out, ", \"bundle_location\": ") == -1 ||
	    conv_json_string(location, ll, out) == -1 ||
	    buf_puts(out, ", \"version\": 1") == -1 ||
	    (region != NULL &&
	        buf_printf(out, ", \"region\": \"%s\"", region) == -1) ||
	    buf_puts(out, ", \"hosts\": [") == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (!bundle_host_ok(&hosts[i]) ||
		    buf_printf(out, "%s{\"host\": ", i ? ", " : "") == -1 ||
		    conv_json_string(
		        hosts[i].host, strlen(hosts[i].host), out) == -1 ||
		    buf_printf(out,
		        ", \"ssl_port\": %d, "
		        "\"http_port\": %d, \"certificate\": ",
		        hosts[i].ssl_port, hosts[i].http_port) == -1 ||
		    put_pem(hosts[i].cert_pem, out) == -1 ||
		    buf_puts(out, "}") == -1)
			goto fail;
	}
	if (buf_puts(out, "]}\n") == -1)
		goto fail;
	return (0);
fail:
	out->len = old;
	return (-1);
}
