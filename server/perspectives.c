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
#include "server/perspectives.h"
#include "store/svcid.h"
#include "common/xmalloc.h"

#define MD5_LEN		16
#define KEY_BLOCK_HEAD	5		/* u16 count, u16 0x0010, u8 0x03 */
#define KEY_LEN_FIELD	16		/* written even for other lengths */
#define KEY_TYPE_SSL_ANY 3		/* v1 C notary's key type */
#define SPAN_PACKED	8
#define FP_TEXT_LEN	(3 * MD5_LEN)	/* "aa:..:ff" and its NUL */
#define B64_MAX		(4 * ((PERSP_SIG_MAX + 2) / 3) + 1)
#define PARAM_NAME_MAX	16		/* longer names are unknown anyway */
#define REPLY_SPANS_MAX	65535		/* the u16 count of one packed key */

/* ---- query parsing ---------------------------------------------------- */

enum param {
	P_HOST = 0,
	P_PORT,
	P_TYPE,
	P_COUNT,
};

static const char *const param_names[P_COUNT] = {
	"host", "port", "service_type",
};

struct param_value {
	int	seen;
	size_t	len;
	char	val[SVCID_MAX + 1];
};

struct params {
	struct param_value	v[P_COUNT];
	int			any;
};

static int	hexval(int);
static int	url_decode(const char *, size_t, char *, size_t, size_t *);
static int	param_lookup(const char *, size_t);
static int	parse_segment(const char *, size_t, struct params *,
		    const char **);
static int	parse_params(const char *, size_t, struct params *,
		    const char **);
static int	valid_port(const char *, size_t);
static int	valid_host_bytes(const char *, size_t);
static int	query_result(struct persp_query *, int, const char *);
static const char *check_params(struct params *,
		    const struct param_value **);
static size_t	build_id(char *, const struct param_value *,
		    const struct param_value *, char);

/* ---- packing, signing, XML -------------------------------------------- */

static int	svc_ok(const char *, size_t);
static size_t	key_run_start(const struct obs_span *, size_t);
static int	reply_spans_ok(const struct obs_span *, size_t);
static void	put_be16(unsigned char *, unsigned);
static void	put_be32(unsigned char *, uint32_t);
static int	append_key_block(struct buf *, const struct obs_span *,
		    size_t);
static int	append_xml(struct buf *, int, const struct obs_span *, size_t,
		    const char *);

/* ---- reply reading ---------------------------------------------------- */

#define XML_ATTRS_MAX	8

struct xcur {
	const char	*start;
	const char	*p;
	const char	*end;
	char		*err;
	size_t		 errlen;
};

struct xattr {
	const char	*name;
	size_t		 nlen;
	const char	*val;
	size_t		 vlen;
};

static int	xml_fail(struct xcur *, const char *);
static void	xml_skip_ws(struct xcur *);
static int	xml_at(struct xcur *, const char *);
static int	xml_open(struct xcur *, const char *);
static int	xml_close(struct xcur *, const char *);
static int	xml_attrs(struct xcur *, struct xattr *, size_t *, int *);
static const struct xattr *xml_attr(const struct xattr *, size_t,
		    const char *);
static int	attr_is(const struct xattr *, const char *);
static int	parse_decimal(const struct xattr *, int64_t *);
static int	b64_decode_sig(const struct xattr *, unsigned char *, size_t,
		    size_t *);
static int	read_root(struct xcur *, struct persp_reply *);
static int	read_key(struct xcur *, struct persp_reply *, size_t *);
static int	read_timestamp(struct xcur *, const uint8_t *,
		    struct persp_reply *, size_t *);

/* ======================================================================== */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Python's unquote_plus, once: '+' is a space, "%XX" a byte, any other
 * '%' stays literal.  -1 when the result does not fit in outmax bytes.
 */
static int
url_decode(const char *s, size_t n, char *out, size_t outmax, size_t *outlen)
{
	size_t	i, o = 0;
	int	c, hi, lo;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < n &&
		    (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
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
	int	i;

	for (i = 0; i < P_COUNT; i++)
		if (strlen(param_names[i]) == len &&
		    memcmp(param_names[i], name, len) == 0)
			return (i);
	return (-1);
}

/* One non-empty "name[=value]" segment.  0, or -1 with *why set. */
static int
parse_segment(const char *seg, size_t len, struct params *p,
    const char **why)
{
	const char		*eq = memchr(seg, '=', len);
	size_t			 nlen = eq != NULL ? (size_t)(eq - seg) : len;
	char			 name[PARAM_NAME_MAX];
	size_t			 dlen;
	int			 idx = -1;
	struct param_value	*v;

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
	size_t	i, start = 0;

	if (s == NULL)
		return (0);
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '&' && s[i] != ';')
			continue;
		if (i > start && parse_segment(s + start, i - start, p,
		    why) == -1)
			return (-1);
		start = i + 1;
	}
	return (0);
}

/* Decimal 1..65535 without a leading zero: the only spelling svcid takes. */
static int
valid_port(const char *s, size_t n)
{
	unsigned long	v = 0;
	size_t		i;

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
	size_t	i;

	for (i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)s[i];

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
	static const struct param_value	 port22 = { 1, 2, "22" };
	static const struct param_value	 port443 = { 1, 3, "443" };
	struct param_value		*host = &p->v[P_HOST];
	struct param_value		*type = &p->v[P_TYPE];

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
	size_t	n = 0;

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
persp_parse_query(const char *query, size_t qlen, const char *body,
    size_t blen, struct persp_query *q)
{
	struct params			 p;
	const struct param_value	*port;
	const char			*why = NULL;

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
		return (query_result(q, PERSP_QUERY_BAD,
		    "host refused by svcid_parse"));
	q->status = PERSP_QUERY_OK;
	q->why = NULL;
	q->type = p.v[P_TYPE].val[0] - '0';
	q->probe = q->type == 2;
	return (q->status);
}

/* ---- packing ---------------------------------------------------------- */

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
	size_t	s = end - 1;

	while (s > 0 && memcmp(spans[s - 1].md5, spans[end - 1].md5,
	    MD5_LEN) == 0)
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
	unsigned char	head[KEY_BLOCK_HEAD], span[SPAN_PACKED];
	size_t		i;

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
persp_pack(const char *svc, size_t len, const struct obs_span *spans,
    size_t n, struct buf *out)
{
	size_t		 old = out->len, end, start;
	const char	 nul = '\0';

	if (!svc_ok(svc, len) || spans == NULL || n == 0)
		return (-1);
	if (buf_append(out, svc, len) == -1 ||
	    buf_append(out, &nul, 1) == -1)
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

/* ---- signing ---------------------------------------------------------- */

int
persp_sign(EVP_PKEY *key, const void *data, size_t len, unsigned char *sig,
    size_t sigmax, size_t *siglen)
{
	EVP_MD_CTX	*ctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	size_t		 want, got;
	int		 size, ret = -1;

	if (key == NULL || !EVP_PKEY_is_a(key, "RSA") ||
	    (size = EVP_PKEY_get_size(key)) <= 0 || (size_t)size > sigmax)
		return (-1);
	want = got = (size_t)size;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, &pctx, EVP_md5(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_DigestSign(ctx, sig, &got, data, len) != 1 || got > want) {
		ERR_clear_error();
		goto out;
	}
	if (got < want) {
		/*
		 * OpenSSL already returns modulus-sized signatures; this only
		 * guards the one property Firefox cannot live without: a
		 * signature is an integer below the modulus written in exactly
		 * k bytes, so any missing bytes are leading zeros.
		 */
		memmove(sig + (want - got), sig, got);
		memset(sig, 0, want - got);
	}
	*siglen = want;
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return (ret);
}

int
persp_verify_data(EVP_PKEY *pub, const void *data, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx = NULL;
	int		 ok = 0;

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
	struct buf	packed;
	int		ok;

	buf_init(&packed, SIZE_MAX);
	if (persp_pack(svc, len, spans, n, &packed) == -1) {
		buf_free(&packed);
		return (-1);
	}
	ok = persp_verify_data(pub, packed.data, packed.len, sig, siglen);
	buf_free(&packed);
	return (ok);
}

/* ---- the reply -------------------------------------------------------- */

/*
 * What the reference server can produce: keys strictly ascending (as
 * SQLite's index returns them, and never one twice), spans of a key
 * ascending by start, 0 <= start <= end (the database's CHECKs).
 */
static int
reply_spans_ok(const struct obs_span *spans, size_t n)
{
	size_t	i;
	int	c;

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
	const char	*tname = type == 1 ? "ssh" : "ssl";
	char		 fp[FP_TEXT_LEN];
	size_t		 i;
	int		 r;

	r = buf_printf(out, "<notary_reply sig=\"%s\" sig_type=\"rsa-md5\" "
	    "version=\"1\">\n", sig_b64);
	for (i = 0; i < n && r == 0; i++) {
		if (i == 0 || memcmp(spans[i - 1].md5, spans[i].md5,
		    MD5_LEN) != 0) {
			obs_hex_colon(spans[i].md5, MD5_LEN, fp);
			r = buf_printf(out, "%s\t<key fp=\"%s\" type=\"%s\">\n",
			    i == 0 ? "" : "\t</key>\n", fp, tname);
		}
		if (r == 0)
			r = buf_printf(out, "\t\t<timestamp end=\"%lld\" "
			    "start=\"%lld\"/>\n", (long long)spans[i].end,
			    (long long)spans[i].start);
	}
	if (r == 0)
		r = buf_puts(out, "\t</key>\n</notary_reply>\n");
	return (r);
}

int
persp_build_reply(const char *svc, size_t len, int type,
    const struct obs_span *spans, size_t n, EVP_PKEY *key, struct buf *out)
{
	struct buf	packed;
	unsigned char	sig[PERSP_SIG_MAX];
	char		b64[B64_MAX];
	size_t		siglen, old = out->len;
	int		ret = -1;

	if ((type != 1 && type != 2) || n == 0 || spans == NULL ||
	    !reply_spans_ok(spans, n))
		return (-1);
	buf_init(&packed, SIZE_MAX);
	if (persp_pack(svc, len, spans, n, &packed) == -1 ||
	    persp_sign(key, packed.data, packed.len, sig, sizeof(sig),
	    &siglen) == -1)
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

/* ---- reading replies -------------------------------------------------- */

static int
xml_fail(struct xcur *c, const char *why)
{
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s (near byte %zu)", why,
		    (size_t)(c->p - c->start));
	return (-1);
}

static void
xml_skip_ws(struct xcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\r' || *c->p == '\n'))
		c->p++;
}

/* Does the input continue with the literal s? */
static int
xml_at(struct xcur *c, const char *s)
{
	size_t	n = strlen(s);

	return ((size_t)(c->end - c->p) >= n && memcmp(c->p, s, n) == 0);
}

/* Consume "<name" followed by whitespace, '>' or '/'.  1 when consumed. */
static int
xml_open(struct xcur *c, const char *name)
{
	size_t	n = strlen(name);
	char	next;

	if ((size_t)(c->end - c->p) < n + 2 || c->p[0] != '<' ||
	    memcmp(c->p + 1, name, n) != 0)
		return (0);
	next = c->p[n + 1];
	if (next != ' ' && next != '\t' && next != '\r' && next != '\n' &&
	    next != '>' && next != '/')
		return (0);
	c->p += n + 1;
	return (1);
}

/* Consume "</name" [ws] ">".  1 when consumed, -1 when malformed. */
static int
xml_close(struct xcur *c, const char *name)
{
	size_t	n = strlen(name);

	if ((size_t)(c->end - c->p) < n + 2 || memcmp(c->p, "</", 2) != 0 ||
	    memcmp(c->p + 2, name, n) != 0)
		return (0);
	c->p += n + 2;
	xml_skip_ws(c);
	if (c->p == c->end || *c->p != '>')
		return (xml_fail(c, "malformed end tag"));
	c->p++;
	return (1);
}

/*
 * Attributes up to '>' or "/>" (*selfclose set).  Values are taken as
 * they are: the documents read here never need entities, so '&' and '<'
 * in a value are refused rather than misread.
 */
static int
xml_attrs(struct xcur *c, struct xattr *a, size_t *na, int *selfclose)
{
	size_t	i;
	char	q;

	*na = 0;
	for (;;) {
		xml_skip_ws(c);
		if (c->p == c->end)
			return (xml_fail(c, "unterminated tag"));
		if (*c->p == '>' || xml_at(c, "/>")) {
			*selfclose = *c->p == '/';
			c->p += *selfclose ? 2 : 1;
			return (0);
		}
		if (*na == XML_ATTRS_MAX)
			return (xml_fail(c, "too many attributes"));
		a[*na].name = c->p;
		while (c->p < c->end && (isalnum((unsigned char)*c->p) ||
		    *c->p == '_' || *c->p == '-' || *c->p == ':' ||
		    *c->p == '.'))
			c->p++;
		a[*na].nlen = (size_t)(c->p - a[*na].name);
		if (a[*na].nlen == 0)
			return (xml_fail(c, "bad attribute name"));
		xml_skip_ws(c);
		if (c->p == c->end || *c->p != '=')
			return (xml_fail(c, "attribute without '='"));
		c->p++;
		xml_skip_ws(c);
		if (c->p == c->end || (*c->p != '"' && *c->p != '\''))
			return (xml_fail(c, "unquoted attribute value"));
		q = *c->p++;
		a[*na].val = c->p;
		while (c->p < c->end && *c->p != q) {
			if (*c->p == '&' || *c->p == '<')
				return (xml_fail(c,
				    "entity or '<' in an attribute value"));
			c->p++;
		}
		if (c->p == c->end)
			return (xml_fail(c, "unterminated attribute value"));
		a[*na].vlen = (size_t)(c->p - a[*na].val);
		c->p++;
		for (i = 0; i < *na; i++)
			if (a[i].nlen == a[*na].nlen && memcmp(a[i].name,
			    a[*na].name, a[i].nlen) == 0)
				return (xml_fail(c, "repeated attribute"));
		(*na)++;
	}
}

/* The attribute called name (NUL-terminated) or NULL. */
static const struct xattr *
xml_attr(const struct xattr *a, size_t na, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < na; i++)
		if (a[i].nlen == n && memcmp(a[i].name, name, n) == 0)
			return (&a[i]);
	return (NULL);
}

static int
attr_is(const struct xattr *a, const char *want)
{
	return (a != NULL && a->vlen == strlen(want) &&
	    memcmp(a->val, want, a->vlen) == 0);
}

/* Non-negative decimal that fits int64_t. */
static int
parse_decimal(const struct xattr *a, int64_t *v)
{
	uint64_t	x = 0;
	size_t		i;

	if (a == NULL || a->vlen == 0 || a->vlen > 19)
		return (-1);
	for (i = 0; i < a->vlen; i++) {
		if (a->val[i] < '0' || a->val[i] > '9')
			return (-1);
		x = x * 10 + (uint64_t)(a->val[i] - '0');
	}
	if (x > INT64_MAX)
		return (-1);
	*v = (int64_t)x;
	return (0);
}

/*
 * Standard base64 with '=' padding; whitespace anywhere is dropped first
 * (api.md wraps the value over several lines).
 */
static int
b64_decode_sig(const struct xattr *a, unsigned char *out, size_t max,
    size_t *outlen)
{
	static const char	alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char			text[B64_MAX];
	unsigned char		raw[B64_MAX];
	size_t			i, n = 0, pad = 0;
	int			got;

	for (i = 0; i < a->vlen; i++) {
		char	ch = a->val[i];

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		if (n == sizeof(text) - 1)
			return (-1);
		if (ch == '=')
			pad++;
		else if (pad > 0 || ch == '\0' || strchr(alpha, ch) == NULL)
			return (-1);
		text[n++] = ch;
	}
	if (n == 0 || n % 4 != 0 || pad > 2)
		return (-1);
	text[n] = '\0';
	got = EVP_DecodeBlock(raw, (unsigned char *)text, (int)n);
	if (got < 0 || (size_t)got < pad || (size_t)got - pad > max)
		return (-1);
	*outlen = (size_t)got - pad;
	memcpy(out, raw, *outlen);
	return (0);
}

static int
read_timestamp(struct xcur *c, const uint8_t *md5, struct persp_reply *r,
    size_t *cap)
{
	struct xattr	 a[XML_ATTRS_MAX];
	size_t		 na;
	int		 selfclose;
	struct obs_span	*sp;

	if (xml_attrs(c, a, &na, &selfclose) == -1)
		return (-1);
	if (!selfclose) {
		xml_skip_ws(c);
		if (xml_close(c, "timestamp") != 1)
			return (xml_fail(c, "<timestamp> not closed"));
	}
	if (r->nspans == REPLY_SPANS_MAX)
		return (xml_fail(c, "too many timestamps"));
	if (r->nspans == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		r->spans = xreallocarray(r->spans, *cap, sizeof(*r->spans));
	}
	sp = &r->spans[r->nspans];
	memset(sp, 0, sizeof(*sp));
	memcpy(sp->md5, md5, MD5_LEN);
	if (parse_decimal(xml_attr(a, na, "start"), &sp->start) == -1 ||
	    parse_decimal(xml_attr(a, na, "end"), &sp->end) == -1)
		return (xml_fail(c, "timestamp start/end not decimal"));
	r->nspans++;
	return (0);
}

static int
read_key(struct xcur *c, struct persp_reply *r, size_t *cap)
{
	struct xattr		 a[XML_ATTRS_MAX];
	const struct xattr	*fp, *type;
	size_t			 na, first = r->nspans;
	uint8_t			 md5[MD5_LEN];
	int			 selfclose, t, closed;

	if (xml_attrs(c, a, &na, &selfclose) == -1)
		return (-1);
	fp = xml_attr(a, na, "fp");
	type = xml_attr(a, na, "type");
	if (fp == NULL || obs_parse_colon_hex(fp->val, fp->vlen, md5,
	    MD5_LEN) == -1)
		return (xml_fail(c, "fp is not 16 lowercase colon-hex octets"));
	if (attr_is(type, "ssl"))
		t = 2;
	else if (attr_is(type, "ssh"))
		t = 1;
	else
		return (xml_fail(c, "key type is neither ssl nor ssh"));
	if (r->type != 0 && r->type != t)
		return (xml_fail(c, "keys of different types"));
	r->type = t;
	if (first > 0 && memcmp(r->spans[first - 1].md5, md5, MD5_LEN) == 0)
		return (xml_fail(c, "the same key in two adjacent elements"));
	if (selfclose)
		return (xml_fail(c, "key without timestamps"));
	for (;;) {
		xml_skip_ws(c);
		if ((closed = xml_close(c, "key")) == -1)
			return (-1);
		if (closed)
			break;
		if (!xml_open(c, "timestamp"))
			return (xml_fail(c, "expected <timestamp> or </key>"));
		if (read_timestamp(c, md5, r, cap) == -1)
			return (-1);
	}
	if (r->nspans == first)
		return (xml_fail(c, "key without timestamps"));
	r->nkeys++;
	return (0);
}

static int
read_root(struct xcur *c, struct persp_reply *r)
{
	struct xattr		 a[XML_ATTRS_MAX];
	const struct xattr	*sig;
	size_t			 na, cap = 0;
	int			 selfclose, closed;

	xml_skip_ws(c);
	if (xml_at(c, "<?xml")) {
		while (c->p < c->end && !xml_at(c, "?>"))
			c->p++;
		if (c->p == c->end)
			return (xml_fail(c, "unterminated XML declaration"));
		c->p += 2;
		xml_skip_ws(c);
	}
	if (!xml_open(c, "notary_reply"))
		return (xml_fail(c, "no <notary_reply>"));
	if (xml_attrs(c, a, &na, &selfclose) == -1)
		return (-1);
	if (!attr_is(xml_attr(a, na, "version"), "1") ||
	    !attr_is(xml_attr(a, na, "sig_type"), "rsa-md5"))
		return (xml_fail(c, "version is not \"1\" or sig_type is not "
		    "\"rsa-md5\""));
	if ((sig = xml_attr(a, na, "sig")) == NULL ||
	    b64_decode_sig(sig, r->sig, sizeof(r->sig), &r->siglen) == -1)
		return (xml_fail(c, "sig missing or not base64"));
	if (selfclose)
		return (xml_fail(c, "reply without keys"));
	for (;;) {
		xml_skip_ws(c);
		if ((closed = xml_close(c, "notary_reply")) == -1)
			return (-1);
		if (closed)
			break;
		if (!xml_open(c, "key"))
			return (xml_fail(c,
			    "expected <key> or </notary_reply>"));
		if (read_key(c, r, &cap) == -1)
			return (-1);
	}
	if (r->nkeys == 0)
		return (xml_fail(c, "reply without keys"));
	xml_skip_ws(c);
	if (c->p != c->end)
		return (xml_fail(c, "text after </notary_reply>"));
	return (0);
}

int
persp_parse_reply(const char *xml, size_t len, struct persp_reply *r,
    char *err, size_t errlen)
{
	struct xcur	c = { xml, xml, xml + len, err, errlen };

	memset(r, 0, sizeof(*r));
	if (xml == NULL || read_root(&c, r) == -1) {
		persp_reply_free(r);
		return (-1);
	}
	return (0);
}

void
persp_reply_free(struct persp_reply *r)
{
	free(r->spans);
	memset(r, 0, sizeof(*r));
}
