/*
 * convergence.c - the Convergence notary protocol, part 1: requests to
 * the TLS ports, the decision order, the signed JSON reply and the reply
 * framing (shared/spec/convergence.md §2, §3).  conv_relay.c has the
 * CONNECT relay request and the .notary bundle.
 *
 * Which process runs what: HTTP workers parse requests and frame replies;
 * the signer, the only process holding the private key, decides and
 * builds the signed reply.  See convergence.h.
 *
 * How it fails: every function returns a status or -1 and leaves its
 * output buffer as it was; nothing logs.  The OpenSSL error queue is
 * cleared after a failure so that no stale error reaches a later caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "common/buf.h"
#include "common/util.h"
#include "server/convergence.h"
#include "server/keys.h"
#include "store/svcid.h"

#define B64_MAX      (4 * ((CONV_SIG_MAX + 2) / 3) + 1)
#define SIG_MARK     ", \"signature\": \""
#define FORM_CTYPE   "application/x-www-form-urlencoded"
#define ARG_NAME_MAX 16 /* longer names are not "fingerprint" */

/* ---- decoding --------------------------------------------------------- */

/*
 * Python 2 urllib.unquote of s[0..len) into out (max bytes, no NUL added),
 * optionally turning '+' into ' ' first (parse_qs).  Returns the decoded
 * length, or -1 when it does not fit.
 */
static long
unquote(const char *s, size_t len, int plus, char *out, size_t max)
{
	size_t i, o = 0;
	int    c, hi, lo;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '+' && plus)
			c = ' ';
		else if (c == '%' && i + 2 < len &&
		    (hi = util_hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = util_hexval((unsigned char)s[i + 2])) >= 0) {
			c = hi * 16 + lo;
			i += 2;
		}
		if (o >= max)
			return (-1);
		out[o++] = (char)c;
	}
	return ((long)o);
}

int
conv_fp_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len != CONV_FP_LEN)
		return (0);
	for (i = 0; i < len; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':')
				return (0);
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		               (s[i] >= 'A' && s[i] <= 'F')))
			return (0);
	}
	return (1);
}

void
conv_fp_text(const uint8_t sha1[20], char out[CONV_FP_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t            i;

	for (i = 0; i < 20; i++) {
		out[3 * i] = hex[sha1[i] >> 4];
		out[3 * i + 1] = hex[sha1[i] & 15];
		out[3 * i + 2] = i == 19 ? '\0' : ':';
	}
}

/* ---- request parsing -------------------------------------------------- */

/*
 * Find the first "fingerprint" argument in a parse_qs string.  0 and the
 * decoded value in q->fp (NUL-terminated, valid or not: *valid says), 1
 * when there is none.
 */
static int
find_fp(const char *s, size_t len, struct conv_query *q, int *valid)
{
	char   name[ARG_NAME_MAX], val[CONV_FP_LEN + 1];
	size_t i = 0, j, eq;
	long   nl, vl;

	while (s != NULL && i < len) {
		for (j = i; j < len && s[j] != '&' && s[j] != ';'; j++)
			;
		for (eq = i; eq < j && s[eq] != '='; eq++)
			;
		nl = unquote(s + i, eq - i, 1, name, sizeof(name));
		if (j > i && nl == (long)strlen("fingerprint") &&
		    memcmp(name, "fingerprint", (size_t)nl) == 0) {
			vl = eq < j ? unquote(s + eq + 1, j - eq - 1, 1, val,
			                  CONV_FP_LEN)
			            : 0;
			*valid = vl >= 0 && conv_fp_valid(val, (size_t)vl);
			if (*valid) {
				memcpy(q->fp, val, CONV_FP_LEN);
				q->fp[CONV_FP_LEN] = '\0';
			}
			return (0);
		}
		i = j + 1;
	}
	return (1);
}

static int
is_form(const struct conv_request_in *in)
{
	size_t      n = in->ctype_len;
	const char *p = in->ctype;

	if (p == NULL)
		return (0);
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	if (n < strlen(FORM_CTYPE) ||
	    strncasecmp(p, FORM_CTYPE, strlen(FORM_CTYPE)) != 0)
		return (0);
	p += strlen(FORM_CTYPE), n -= strlen(FORM_CTYPE);
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	return (n == 0 || *p == ';');
}

static int
fail(struct conv_query *q, int status, const char *msg)
{
	q->status = status;
	q->msg = msg;
	return (status);
}

/* Steps 5 and 6 of conv_parse_request: the fingerprint, host and port. */
static int
parse_args(const struct conv_request_in *in, const char *seg, size_t len,
    struct conv_query *q)
{
	const char *plus = memchr(seg, '+', len);
	size_t      hl = (size_t)(plus - seg), pl = len - hl - 1;
	char        err[128];
	int         valid = 0, r = 1;

	if (q->post) {
		if (is_form(in) && in->body != NULL)
			r = find_fp(in->body, in->body_len, q, &valid);
		if (r == 1)
			r = find_fp(in->query, in->query_len, q, &valid);
		if (r == 1)
			return (
			    fail(q, 400, "You must specify a fingerprint."));
		if (!valid)
			return (fail(q, 400, "Invalid fingerprint."));
	}
	if (hl == 0 || hl > CONV_HOST_MAX || pl == 0 || pl > CONV_PORT_MAX)
		return (fail(q, 400, "Invalid target."));
	memcpy(q->host, seg, hl);
	q->host[hl] = '\0';
	memcpy(q->port, plus + 1, pl);
	q->port[pl] = '\0';
	if (strlen(q->host) != hl || strlen(q->port) != pl)
		return (fail(q, 400, "Invalid target.")); /* a NUL */
	snprintf(q->location, sizeof(q->location), "%s:%s", q->host, q->port);
	q->svclen = (size_t)snprintf(
	    q->svc, sizeof(q->svc), "%s:%s,2", q->host, q->port);
	if (q->svclen >= sizeof(q->svc) ||
	    svcid_parse(q->svc, q->svclen, &q->target, err, sizeof(err)) != 0)
		return (fail(q, 400, "Invalid target."));
	q->status = 0;
	return (0);
}

int
conv_parse_request(const struct conv_request_in *in, struct conv_query *q)
{
	char        seg[CONV_HOST_MAX + CONV_PORT_MAX + 2];
	const char *p = in->path, *end = in->path + in->path_len, *s;
	size_t      nplus = 0, i;
	long        n;

	memset(q, 0, sizeof(*q));
	/* 1. "/" "target" ["/" segment ...], each segment decoded. */
	if (p == NULL || in->path_len == 0 || *p != '/')
		return (fail(q, 404, "No Such Resource"));
	for (s = ++p; p < end && *p != '/'; p++)
		;
	n = unquote(s, (size_t)(p - s), 0, seg, sizeof(seg));
	if (n != 6 || memcmp(seg, "target", 6) != 0)
		return (fail(q, 404, "No Such Resource"));
	/* 2. Method, compared exactly as Twisted does. */
	if (in->method_len == 4 && memcmp(in->method, "POST", 4) == 0)
		q->post = 1;
	else if (!(in->method_len == 3 && memcmp(in->method, "GET", 3) == 0))
		return (fail(q, 405, "Unsupported method."));
	/* 3. The target segment. */
	if (p == end)
		return (fail(q, 400, "You must specify a target."));
	for (s = ++p; p < end && *p != '/'; p++)
		;
	n = unquote(s, (size_t)(p - s), 0, seg, sizeof(seg));
	/* 4. Exactly one '+'.  An overlong segment cannot be a target. */
	for (i = 0; n > 0 && i < (size_t)n; i++)
		nplus += seg[i] == '+';
	if (n >= 0 && nplus == 0)
		return (fail(q, 400, "You must specify a destination port."));
	if (n < 0 || nplus > 1) {
		/* An overlong segment still says "port" when it has no '+'. */
		if (n < 0 && memchr(s, '+', (size_t)(p - s)) == NULL)
			return (fail(
			    q, 400, "You must specify a destination port."));
		return (fail(q, 400, "Invalid target."));
	}
	/* 5, 6. Any further segment is ignored. */
	return (parse_args(in, seg, (size_t)n, q));
}

/* ---- the decision ----------------------------------------------------- */

void
conv_decide(const char *fp, int db_ok, const struct conv_row *rows, size_t n,
    const struct conv_probe *probe, struct conv_decision *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->action = CONV_REPLY;
	if (probe == NULL) {
		if (!db_ok) {
			d->status = 503;
			d->msg = "Error retrieving records.";
			return;
		}
		for (i = 0; i < n; i++)
			if (fp == NULL || strcmp(fp, rows[i].fp) == 0)
				break;
		if (n > 0 && i < n) {
			d->status = 200;
			return;
		}
		d->action = CONV_PROBE;
		return;
	}
	if (!probe->ok || probe->nseen == 0 || probe->nseen > 2) {
		d->status = 503;
		d->msg = "Internal Error.";
		return;
	}
	d->status = 409;
	for (i = 0; fp != NULL && i < probe->nseen; i++)
		if (strcmp(fp, probe->seen[i]) == 0) {
			d->status = 200;
			d->record = (int)i;
			break;
		}
	if (!probe->db_ok || !db_ok) {
		d->status = 503;
		d->msg = "Internal Error.";
	}
}

static int
row_cmp(const void *a, const void *b)
{
	const struct conv_row *x = a, *y = b;

	if (x->finish != y->finish)
		return (x->finish > y->finish ? -1 : 1);
	if (x->start != y->start)
		return (x->start > y->start ? -1 : 1);
	return (-strcmp(x->fp, y->fp));
}

void
conv_sort_rows(struct conv_row *rows, size_t n)
{
	if (n > 1)
		qsort(rows, n, sizeof(*rows), row_cmp);
}

/* ---- the signed JSON -------------------------------------------------- */

int
conv_unsigned(const struct conv_row *rows, size_t n, struct buf *out)
{
	size_t old = out->len, i;

	if (n > CONV_ROWS_MAX)
		return (-1);
	if (buf_puts(out, "{\"fingerprintList\": [") == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (!conv_fp_valid(rows[i].fp, strlen(rows[i].fp)) ||
		    rows[i].start < 0 || rows[i].finish < 0)
			goto fail;
		if (buf_printf(out,
		        "%s{\"timestamp\": {\"start\": \"%lld\", "
		        "\"finish\": \"%lld\"}, \"fingerprint\": \"%s\"}",
		        i == 0 ? "" : ", ", (long long)rows[i].start,
		        (long long)rows[i].finish, rows[i].fp) == -1)
			goto fail;
	}
	if (buf_puts(out, "]}") == -1)
		goto fail;
	return (0);
fail:
	out->len = old;
	return (-1);
}

int
conv_sign(EVP_PKEY *key, const void *data, size_t len, unsigned char *sig,
    size_t sigmax, size_t *siglen)
{
	return (
	    keys_sign_pkcs1(key, EVP_sha1(), data, len, sig, sigmax, siglen));
}

int
conv_build_reply(
    const struct conv_row *rows, size_t n, EVP_PKEY *key, struct buf *out)
{
	unsigned char sig[CONV_SIG_MAX];
	char          b64[B64_MAX];
	size_t        old = out->len, siglen;

	if (conv_unsigned(rows, n, out) == -1)
		return (-1);
	if (conv_sign(key, out->data + old, out->len - old, sig, sizeof(sig),
	        &siglen) == -1)
		goto fail;
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	out->len--; /* the final '}' */
	if (buf_puts(out, SIG_MARK) == -1 || buf_puts(out, b64) == -1 ||
	    buf_puts(out, "\"}") == -1)
		goto fail;
	return (0);
fail:
	out->len = old;
	return (-1);
}

int
conv_verify_body(const char *body, size_t len, EVP_PKEY *pub)
{
	unsigned char sig[CONV_SIG_MAX + 3];
	char          b64[B64_MAX];
	const char   *m = NULL, *p;
	size_t        ml = strlen(SIG_MARK), bl, pad = 0;
	struct buf    u;
	int           sl, ok = 0;
	EVP_MD_CTX   *ctx;

	for (p = body; p + ml <= body + len; p++)
		if (memcmp(p, SIG_MARK, ml) == 0) {
			m = p;
			break;
		}
	if (m == NULL || len < (size_t)(m - body) + ml + 2 ||
	    memcmp(body + len - 2, "\"}", 2) != 0)
		return (0);
	bl = len - (size_t)(m - body) - ml - 2;
	if (bl == 0 || bl >= sizeof(b64) || bl % 4 != 0)
		return (0);
	memcpy(b64, m + ml, bl);
	b64[bl] = '\0';
	pad = (b64[bl - 1] == '=') + (b64[bl - 2] == '=');
	if ((sl = EVP_DecodeBlock(sig, (unsigned char *)b64, (int)bl)) < 0)
		return (0);
	buf_init(&u, len);
	if (buf_append(&u, body, (size_t)(m - body)) == 0 &&
	    buf_puts(&u, "}") == 0 && (ctx = EVP_MD_CTX_new()) != NULL) {
		ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha1(), NULL, pub) ==
		        1 &&
		    EVP_DigestVerify(ctx, sig, (size_t)sl - pad,
		        (unsigned char *)u.data, u.len) == 1;
		EVP_MD_CTX_free(ctx);
	}
	buf_free(&u);
	ERR_clear_error();
	return (ok);
}

/* ---- framing ---------------------------------------------------------- */

const char *
conv_reason(int status)
{
	switch (status) {
	case 200:
		return ("OK");
	case 303:
		return ("See Other");
	case 400:
		return ("Bad Request");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 409:
		return ("Conflict");
	case 413:
		return ("Request Entity Too Large");
	case 414:
		return ("Request-URI Too Long");
	case 431:
		return ("Request Header Fields Too Large");
	case 501:
		return ("Not Implemented");
	case 505:
		return ("HTTP Version Not Supported");
	case 500:
		return ("Internal Server Error");
	case 503:
		return ("Service Unavailable");
	default:
		return ("Unknown");
	}
}

int
conv_frame(int status, const char *body, size_t len, struct buf *out)
{
	size_t old = out->len;
	int    json = status == 200 || status == 409;

	if (buf_printf(out,
	        "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
	        "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	        status, conv_reason(status),
	        json ? "application/json" : "text/html", len) == -1 ||
	    buf_append(out, body, len) == -1) {
		out->len = old;
		return (-1);
	}
	return (0);
}

int
conv_frame_error(int status, const char *msg, struct buf *out)
{
	char body[256];
	int  n;

	n = snprintf(body, sizeof(body), "<html><body>%s</body></html>", msg);
	if (n < 0 || (size_t)n >= sizeof(body))
		return (-1);
	return (conv_frame(status, body, (size_t)n, out));
}
