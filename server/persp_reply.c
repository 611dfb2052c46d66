/*
 * persp_reply.c - reading a signed Perspectives reply (the XML a notary
 * sends, as the clients read it) into keys and spans, for verification
 * against a notary key.  Used by the tests and tools that check replies,
 * never on the request path.  Malformed input returns NULL with a reason;
 * nothing here allocates without a bound.
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
#include "server/persp_impl.h"

#define XML_ATTRS_MAX 8

struct xcur {
	const char *start;
	const char *p;
	const char *end;
	char       *err;
	size_t      errlen;
};

struct xattr {
	const char *name;
	size_t      nlen;
	const char *val;
	size_t      vlen;
};


/* ======================================================================== */

static int  xml_fail(struct xcur *, const char *);
static void xml_skip_ws(struct xcur *);
static int  xml_at(struct xcur *, const char *);
static int  xml_open(struct xcur *, const char *);
static int  xml_close(struct xcur *, const char *);
static int  xml_attrs(struct xcur *, struct xattr *, size_t *, int *);
static const struct xattr *xml_attr(const struct xattr *, size_t, const char *);
static int                 attr_is(const struct xattr *, const char *);
static int                 parse_decimal(const struct xattr *, int64_t *);
static int
b64_decode_sig(const struct xattr *, unsigned char *, size_t, size_t *);
static int
read_timestamp(struct xcur *, const uint8_t *, struct persp_reply *, size_t *);
static int read_key(struct xcur *, struct persp_reply *, size_t *);
static int read_root(struct xcur *, struct persp_reply *);

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
	while (c->p < c->end &&
	    (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
		c->p++;
}

/* Does the input continue with the literal s? */
static int
xml_at(struct xcur *c, const char *s)
{
	size_t n = strlen(s);

	return ((size_t)(c->end - c->p) >= n && memcmp(c->p, s, n) == 0);
}

/* Consume "<name" followed by whitespace, '>' or '/'.  1 when consumed. */
static int
xml_open(struct xcur *c, const char *name)
{
	size_t n = strlen(name);
	char   next;

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
	size_t n = strlen(name);

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
	size_t i;
	char   q;

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
		while (c->p < c->end &&
		    (isalnum((unsigned char)*c->p) || *c->p == '_' ||
		        *c->p == '-' || *c->p == ':' || *c->p == '.'))
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
				return (xml_fail(
				    c, "entity or '<' in an attribute value"));
			c->p++;
		}
		if (c->p == c->end)
			return (xml_fail(c, "unterminated attribute value"));
		a[*na].vlen = (size_t)(c->p - a[*na].val);
		c->p++;
		for (i = 0; i < *na; i++)
			if (a[i].nlen == a[*na].nlen &&
			    memcmp(a[i].name, a[*na].name, a[i].nlen) == 0)
				return (xml_fail(c, "repeated attribute"));
		(*na)++;
	}
}

/* The attribute called name (NUL-terminated) or NULL. */
static const struct xattr *
xml_attr(const struct xattr *a, size_t na, const char *name)
{
	size_t i, n = strlen(name);

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
	uint64_t x = 0;
	size_t   i;

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
b64_decode_sig(
    const struct xattr *a, unsigned char *out, size_t max, size_t *outlen)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char              text[B64_MAX];
	unsigned char     raw[B64_MAX];
	size_t            i, n = 0, pad = 0;
	int               got;

	for (i = 0; i < a->vlen; i++) {
		char ch = a->val[i];

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
read_timestamp(
    struct xcur *c, const uint8_t *md5, struct persp_reply *r, size_t *cap)
{
	struct xattr     a[XML_ATTRS_MAX];
	size_t           na;
	int              selfclose;
	struct obs_span *sp;

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
	struct xattr        a[XML_ATTRS_MAX];
	const struct xattr *fp, *type;
	size_t              na, first = r->nspans;
	uint8_t             md5[MD5_LEN];
	int                 selfclose, t, closed;

	if (xml_attrs(c, a, &na, &selfclose) == -1)
		return (-1);
	fp = xml_attr(a, na, "fp");
	type = xml_attr(a, na, "type");
	if (fp == NULL ||
	    obs_parse_colon_hex(fp->val, fp->vlen, md5, MD5_LEN) == -1)
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
	struct xattr        a[XML_ATTRS_MAX];
	const struct xattr *sig;
	size_t              na, cap = 0;
	int                 selfclose, closed;

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
		return (xml_fail(c,
		    "version is not \"1\" or sig_type is not "
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
			return (
			    xml_fail(c, "expected <key> or </notary_reply>"));
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
persp_parse_reply(const char *xml, size_t len, struct persp_reply *r, char *err,
    size_t errlen)
{
	struct xcur c = { xml, xml, xml + len, err, errlen };

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
