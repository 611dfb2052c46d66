/*
 * perspectives.c - the Perspectives v1 notary protocol (spec
 * shared/spec/perspectives.md §1, §2): query parsing, the signed byte
 * string, the RSA-MD5 signature and the reply XML, plus a small reader
 * for replies.
 *
 * Which process runs what: HTTP workers call only persp_parse_query,
 * which is pure and allocation-free.  The signer process, the only one
 * that holds the private key, calls persp_build_reply.  Tests and
 * notaryctl use the verifier and the reply reader.
 *
 * How it fails: every function returns an error value and leaves its
 * output buffer as it was; nothing logs, nothing aborts except xmalloc on
 * memory exhaustion.  The OpenSSL error queue is cleared after a failed
 * verification so that a bad signature cannot leave stale errors behind
 * for an unrelated later call to report.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "common/buf.h"
#include "store/obs.h"
#include "server/keys.h"
#include "server/perspectives.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "server/persp_impl.h"

/* The parameters of a query. */
enum param {
	P_HOST = 0,
	P_PORT,
	P_TYPE,
	P_COUNT,
};

static const char *const param_names[P_COUNT] = {
	"host",
	"port",
	"service_type",
};

struct param_value {
	int    seen;
	size_t len;
	char   val[SVCID_MAX + 1];
};

struct params {
	struct param_value v[P_COUNT];
	int                any;
};

static int url_decode(const char *, size_t, char *, size_t, size_t *);
static int param_lookup(const char *, size_t);
static int parse_segment(const char *, size_t, struct params *, const char **);
static int parse_params(const char *, size_t, struct params *, const char **);
static int valid_port(const char *, size_t);
static int valid_host_bytes(const char *, size_t);
static int query_result(struct persp_query *, int, const char *);
static const char *check_params(struct params *, const struct param_value **);
static size_t
build_id(char *, const struct param_value *, const struct param_value *, char);
static int    svc_ok(const char *, size_t);
static size_t key_run_start(const struct obs_span *, size_t);
static void   put_be16(unsigned char *, unsigned);
static void   put_be32(unsigned char *, uint32_t);
static int    append_key_block(struct buf *, const struct obs_span *, size_t);
static int    reply_spans_ok(const struct obs_span *, size_t);
static int
append_xml(struct buf *, int, const struct obs_span *, size_t, const char *);

/*
 * Python's unquote_plus, once: '+' is a space, "%XX" a byte, any other
 * '%' stays literal.  -1 when the result does not fit in outmax bytes.
 */
static int
url_decode(const char *s, size_t n, char *out, size_t outmax, size_t *outlen)
{
	size_t i, o = 0;
	int    c, hi, lo;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < n &&
		    (hi = util_hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = util_hexval((unsigned char)s[i + 2])) >= 0) {
			c = hi << 4 | lo;
			i += 2;
		}
		if (o == outmax)
			return (-1);
		out[o++] = (char)c;
	}
	*outlen = o;
	return (0);
}

static int
param_lookup(const char *name, size_t len)
{
	int i;

	for (i = 0; i < P_COUNT; i++)
		if (strlen(param_names[i]) == len &&
		    memcmp(param_names[i], name, len) == 0)
			return (i);
	return (-1);
}

/* One non-empty "name[=value]" segment.  0, or -1 with *why set. */
static int
parse_segment(const char *seg, size_t len, struct params *p, const char **why)
{
	const char         *eq = memchr(seg, '=', len);
	size_t              nlen = eq != NULL ? (size_t)(eq - seg) : len;
	char                name[PARAM_NAME_MAX];
	size_t              dlen;
	int                 idx = -1;
	struct param_value *v;

	p->any = 1;
	if (url_decode(seg, nlen, name, sizeof(name), &dlen) == 0)
		idx = param_lookup(name, dlen);
	if (idx == -1) {
		*why = "unknown parameter";
		return (-1);
	}
	v = &p->v[idx];
	if (v->seen) {
		/* The reference makes a list of it and fails with a 500. */
		*why = "repeated parameter";
		return (-1);
	}
	v->seen = 1;
	if (eq == NULL) {
		/* keep_blank_values: "host" alone is host="". */
		v->len = 0;
	} else if (url_decode(eq + 1, len - nlen - 1, v->val,
	               sizeof(v->val) - 1, &v->len) == -1) {
		*why = "parameter value too long";
		return (-1);
	}
	v->val[v->len] = '\0';
	return (0);
}

/*
 * Split on '&' and ';' as CherryPy does, skipping empty segments (the
 * Firefox client ends its query with '&').
 */
static int
parse_params(const char *s, size_t len, struct params *p, const char **why)
{
	size_t i, start = 0;

	if (s == NULL)
		return (0);
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '&' && s[i] != ';')
			continue;
		if (i > start &&
		    parse_segment(s + start, i - start, p, why) == -1)
			return (-1);
		start = i + 1;
	}
	return (0);
}

/* Decimal 1..65535 without a leading zero: the only spelling svcid takes. */
static int
valid_port(const char *s, size_t n)
{
	unsigned long v = 0;
	size_t        i;

	if (n == 0 || n > 5 || s[0] == '0')
		return (0);
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (0);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return (v <= 65535);
}

/*
 * Printable ASCII only.  A byte >= 0x80 could never verify in Firefox
 * (the client's packed string truncates code units above 0xFF), and
 * control bytes, NUL above all, have no place in a signed id.
 */
static int
valid_host_bytes(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			return (0);
	}
	return (1);
}

/* A result without a service: the index page, or a 400 and its reason. */
static int
query_result(struct persp_query *q, int status, const char *why)
{
	q->status = status;
	q->why = why;
	q->idlen = 0;
	q->id[0] = '\0';
	q->type = 0;
	q->probe = 0;
	return (status);
}

/*
 * Steps 3 to 6 of perspectives.h: defaults, then what each value may be.
 * Fills *port (the value or the default); NULL, or the reason for a 400.
 */
static const char *
check_params(struct params *p, const struct param_value **port)
{
	static const struct param_value port22 = { 1, 2, "22" };
	static const struct param_value port443 = { 1, 3, "443" };
	struct param_value             *host = &p->v[P_HOST];
	struct param_value             *type = &p->v[P_TYPE];

	if (!type->seen) {
		type->len = 1;
		memcpy(type->val, "2", 2);
	}
	if (type->len != 1 || (type->val[0] != '1' && type->val[0] != '2'))
		return ("unknown service_type");
	*port = &p->v[P_PORT];
	if (!(*port)->seen)
		*port = type->val[0] == '1' ? &port22 : &port443;
	/* A blank "port=" is a value, never the default (§1.7). */
	if (!valid_port((*port)->val, (*port)->len))
		return ("port is not 1..65535");
	if (!host->seen || host->len == 0)
		return ("no host");
	if (!valid_host_bytes(host->val, host->len))
		return ("host has a control or non-ASCII byte");
	if (host->len + 1 + (*port)->len + 2 > SVCID_MAX)
		return ("service id too long");
	return (NULL);
}

/* host ":" port "," type, byte for byte; check_params bounded the length. */
static size_t
build_id(char *id, const struct param_value *host,
    const struct param_value *port, char type)
{
	size_t n = 0;

	memcpy(id + n, host->val, host->len);
	n += host->len;
	id[n++] = ':';
	memcpy(id + n, port->val, port->len);
	n += port->len;
	id[n++] = ',';
	id[n++] = type;
	id[n] = '\0';
	return (n);
}

int
persp_parse_query(const char *query, size_t qlen, const char *body, size_t blen,
    struct persp_query *q)
{
	struct params             p;
	const struct param_value *port;
	const char               *why = NULL;

	memset(&p, 0, sizeof(p));
	if (parse_params(query, qlen, &p, &why) == -1 ||
	    parse_params(body, blen, &p, &why) == -1)
		return (query_result(q, PERSP_QUERY_BAD, why));
	if (!p.any)
		return (query_result(q, PERSP_QUERY_INDEX, NULL));
	if ((why = check_params(&p, &port)) != NULL)
		return (query_result(q, PERSP_QUERY_BAD, why));
	q->idlen = build_id(q->id, &p.v[P_HOST], port, p.v[P_TYPE].val[0]);
	/*
	 * An id that could never be probed or stored (see perspectives.h)
	 * gets its 400 here, before any database read.
	 */
	if (svcid_parse(q->id, q->idlen, NULL, NULL, 0) == -1)
		return (query_result(
		    q, PERSP_QUERY_BAD, "host refused by svcid_parse"));
	q->status = PERSP_QUERY_OK;
	q->why = NULL;
	q->type = p.v[P_TYPE].val[0] - '0';
	q->probe = q->type == SVCID_TYPE_TLS;
	return (q->status);
}

/* The id is followed by a NUL in the signed bytes, so it cannot hold one. */
static int
svc_ok(const char *svc, size_t len)
{
	return (svc != NULL && len > 0 && len <= SVCID_MAX &&
	    memchr(svc, '\0', len) == NULL);
}

/* Start of the run of equal keys that ends just before index end. */
static size_t
key_run_start(const struct obs_span *spans, size_t end)
{
	size_t s = end - 1;

	while (
	    s > 0 && memcmp(spans[s - 1].md5, spans[end - 1].md5, MD5_LEN) == 0)
		s--;
	return (s);
}

static void
put_be16(unsigned char *p, unsigned v)
{
	p[0] = (v >> 8) & 0xff;
	p[1] = v & 0xff;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (v >> 24) & 0xff;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* One key: header, fingerprint, spans (n >= 1, all with the same md5). */
static int
append_key_block(struct buf *out, const struct obs_span *spans, size_t n)
{
	unsigned char head[KEY_BLOCK_HEAD], span[SPAN_PACKED];
	size_t        i;

	/* The count is truncated mod 65536 exactly as the client does. */
	put_be16(head, (unsigned)(n & 0xffff));
	put_be16(head + 2, KEY_LEN_FIELD);
	head[4] = KEY_TYPE_SSL_ANY;
	if (buf_append(out, head, sizeof(head)) == -1 ||
	    buf_append(out, spans[0].md5, MD5_LEN) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		/* Times mod 2^32, as JavaScript's >> and Python's & give. */
		put_be32(span, (uint32_t)((uint64_t)spans[i].start));
		put_be32(span + 4, (uint32_t)((uint64_t)spans[i].end));
		if (buf_append(out, span, sizeof(span)) == -1)
			return (-1);
	}
	return (0);
}

int
persp_pack(const char *svc, size_t len, const struct obs_span *spans, size_t n,
    struct buf *out)
{
	size_t     old = out->len, end, start;
	const char nul = '\0';

	if (!svc_ok(svc, len) || spans == NULL || n == 0)
		return (-1);
	if (buf_append(out, svc, len) == -1 || buf_append(out, &nul, 1) == -1)
		goto fail;
	/*
	 * The reference server prepends each key's block while walking the
	 * document, so the last <key> comes first: walk the runs backwards.
	 */
	for (end = n; end > 0; end = start) {
		start = key_run_start(spans, end);
		if (append_key_block(out, spans + start, end - start) == -1)
			goto fail;
	}
	return (0);
fail:
	out->len = old;
	return (-1);
}

int
persp_sign(EVP_PKEY *key, const void *data, size_t len, unsigned char *sig,
    size_t sigmax, size_t *siglen)
{
	return (
	    keys_sign_pkcs1(key, EVP_md5(), data, len, sig, sigmax, siglen));
}

int
persp_verify_data(EVP_PKEY *pub, const void *data, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX   *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	int           ok = 0;

	if (pub == NULL || !EVP_PKEY_is_a(pub, "RSA") ||
	    siglen != (size_t)EVP_PKEY_get_size(pub))
		return (0);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (0);
	if (EVP_DigestVerifyInit(ctx, &pctx, EVP_md5(), NULL, pub) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, data, len) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ERR_clear_error();
	return (ok);
}

int
persp_verify(const char *svc, size_t len, const struct obs_span *spans,
    size_t n, const unsigned char *sig, size_t siglen, EVP_PKEY *pub)
{
	struct buf packed;
	int        ok;

	buf_init(&packed, SIZE_MAX);
	if (persp_pack(svc, len, spans, n, &packed) == -1) {
		buf_free(&packed);
		return (-1);
	}
	ok = persp_verify_data(pub, packed.data, packed.len, sig, siglen);
	buf_free(&packed);
	return (ok);
}

/*
 * What the reference server can produce: keys strictly ascending (as
 * SQLite's index returns them, and never one twice), spans of a key
 * ascending by start, 0 <= start <= end (the database's CHECKs).
 */
static int
reply_spans_ok(const struct obs_span *spans, size_t n)
{
	size_t i;
	int    c;

	for (i = 0; i < n; i++) {
		if (spans[i].start < 0 || spans[i].start > spans[i].end)
			return (0);
		if (i == 0)
			continue;
		c = memcmp(spans[i - 1].md5, spans[i].md5, MD5_LEN);
		if (c > 0 || (c == 0 && spans[i - 1].start > spans[i].start))
			return (0);
	}
	return (1);
}

/* Python 2 minidom toprettyxml() of the reference document (§2.1). */
static int
append_xml(struct buf *out, int type, const struct obs_span *spans, size_t n,
    const char *sig_b64)
{
	const char *tname = type == 1 ? "ssh" : "ssl";
	char        fp[FP_TEXT_LEN];
	size_t      i;
	int         r;

	r = buf_printf(out,
	    "<notary_reply sig=\"%s\" sig_type=\"rsa-md5\" "
	    "version=\"1\">\n",
	    sig_b64);
	for (i = 0; i < n && r == 0; i++) {
		if (i == 0 ||
		    memcmp(spans[i - 1].md5, spans[i].md5, MD5_LEN) != 0) {
			obs_hex_colon(spans[i].md5, MD5_LEN, fp);
			r = buf_printf(out, "%s\t<key fp=\"%s\" type=\"%s\">\n",
			    i == 0 ? "" : "\t</key>\n", fp, tname);
		}
		if (r == 0)
			r = buf_printf(out,
			    "\t\t<timestamp end=\"%lld\" "
			    "start=\"%lld\"/>\n",
			    (long long)spans[i].end, (long long)spans[i].start);
	}
	if (r == 0)
		r = buf_puts(out, "\t</key>\n</notary_reply>\n");
	return (r);
}

int
persp_build_reply(const char *svc, size_t len, int type,
    const struct obs_span *spans, size_t n, EVP_PKEY *key, struct buf *out)
{
	struct buf    packed;
	unsigned char sig[PERSP_SIG_MAX];
	char          b64[B64_MAX];
	size_t        siglen, old = out->len;
	int           ret = -1;

	if ((type != SVCID_TYPE_SSH && type != SVCID_TYPE_TLS) || n == 0 ||
	    spans == NULL || !reply_spans_ok(spans, n))
		return (-1);
	buf_init(&packed, SIZE_MAX);
	if (persp_pack(svc, len, spans, n, &packed) == -1 ||
	    persp_sign(
	        key, packed.data, packed.len, sig, sizeof(sig), &siglen) == -1)
		goto out;
	/* EVP_EncodeBlock writes standard base64 with no line breaks. */
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	if (append_xml(out, type, spans, n, b64) == -1) {
		out->len = old;
		goto out;
	}
	ret = 0;
out:
	buf_free(&packed);
	return (ret);
}
