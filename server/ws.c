/*
 * ws.c - RFC 6455 websocket handshake and framing (HTTP workers).
 *
 * Client bytes are untrusted: a frame must be masked, control frames must
 * be final and at most 125 bytes, reserved bits must be clear, and no
 * frame may exceed WS_CLIENT_FRAME_MAX (a stream client only sends
 * control frames).  Violations return the close code to send; nothing
 * here allocates or logs.  Close frames carry only the codes RFC 6455
 * §7.4 allows on the wire (never 1005, 1006, 1015 or one under 1000).
 */
#include <openssl/evp.h>

#include <string.h>
#include <strings.h>

#include "server/ws.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void
ws_accept_key(const char *key, size_t keylen, char accept[29])
{
	unsigned char in[64 + sizeof(ws_guid)], md[EVP_MAX_MD_SIZE];
	unsigned int  mdlen = 0;

	if (keylen > 64)
		keylen = 64; /* callers pass 24 bytes; never overflow */
	memcpy(in, key, keylen);
	memcpy(in + keylen, ws_guid, sizeof(ws_guid) - 1);
	EVP_Digest(
	    in, keylen + sizeof(ws_guid) - 1, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);
}

/* Does a comma-separated header value list the token (any case)? */
static int
has_token(const struct http_request *req, const char *name, const char *tok)
{
	size_t i, n = strlen(tok), a, b;

	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		if (h->name_len != strlen(name) ||
		    strncasecmp(h->name, name, h->name_len) != 0)
			continue;
		for (a = 0; a < h->value_len; a = b + 1) {
			for (b = a; b < h->value_len && h->value[b] != ','; b++)
				;
			size_t s = a, e = b;
			while (s < e &&
			    (h->value[s] == ' ' || h->value[s] == '\t'))
				s++;
			while (e > s &&
			    (h->value[e - 1] == ' ' || h->value[e - 1] == '\t'))
				e--;
			if (e - s == n &&
			    strncasecmp(h->value + s, tok, n) == 0)
				return (1);
		}
	}
	return (0);
}

int
ws_is_upgrade(const struct http_request *req)
{
	return (req->upgrade && has_token(req, "Upgrade", "websocket"));
}

static int
valid_key(const struct http_header *h)
{
	unsigned char raw[32];
	size_t        i;

	/* 16 random bytes in base64: 22 characters and "==". */
	if (h == NULL || h->value_len != 24 || h->value[22] != '=' ||
	    h->value[23] != '=')
		return (0);
	for (i = 0; i < 22; i++) {
		char c = h->value[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		        (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return (0);
	}
	return (
	    EVP_DecodeBlock(raw, (const unsigned char *)h->value, 24) == 18);
}

int
ws_check_upgrade(const struct http_request *req, char accept[29])
{
	const struct http_header *key, *ver;

	if (req->method != HTTP_M_GET || req->version_minor != 1 ||
	    !has_token(req, "Upgrade", "websocket") ||
	    !has_token(req, "Connection", "upgrade"))
		return (400);
	ver = http_header_find(req, "Sec-WebSocket-Version");
	if (ver == NULL || ver->value_len != 2 ||
	    memcmp(ver->value, "13", 2) != 0)
		return (426);
	key = http_header_find(req, "Sec-WebSocket-Key");
	if (!valid_key(key))
		return (400);
	ws_accept_key(key->value, key->value_len, accept);
	return (0);
}

long
ws_parse_frame(uint8_t *buf, size_t len, struct ws_frame *f)
{
	return (ws_parse_frame_ext(buf, len, f, 0));
}

long
ws_parse_frame_ext(uint8_t *buf, size_t len, struct ws_frame *f, int rsv1_ok)
{
	size_t         hdr = 2, plen, i;
	const uint8_t *mask;

	if (len < 2)
		return (0);
	/* RSV2/3 never; RSV1 only for deflated data frames (RFC 7692). */
	if ((buf[0] & 0x30) ||
	    ((buf[0] & WS_RSV1) && (!rsv1_ok || (buf[0] & 0x0f) >= 0x8)))
		return (-WS_CLOSE_PROTOCOL);
	if (!(buf[1] & 0x80))
		return (-WS_CLOSE_PROTOCOL); /* clients must mask */
	f->fin = (buf[0] & 0x80) != 0;
	f->opcode = buf[0] & 0x0f;
	plen = buf[1] & 0x7f;
	if (f->opcode >= 0x8 && (!f->fin || plen > 125))
		return (-WS_CLOSE_PROTOCOL);
	if ((f->opcode > WS_OP_BINARY && f->opcode < WS_OP_CLOSE) ||
	    f->opcode > WS_OP_PONG)
		return (-WS_CLOSE_PROTOCOL);
	if (plen == 126) {
		if (len < 4)
			return (0);
		plen = ((size_t)buf[2] << 8) | buf[3];
		hdr = 4;
	} else if (plen == 127) {
		if (len < 10)
			return (0);
		if (buf[2] & 0x80)
			return (-WS_CLOSE_PROTOCOL);
		for (plen = 0, i = 2; i < 10; i++) {
			if (plen > (WS_CLIENT_FRAME_MAX >> 8))
				return (-WS_CLOSE_TOO_BIG);
			plen = (plen << 8) | buf[i];
		}
		hdr = 10;
	}
	if (plen > WS_CLIENT_FRAME_MAX)
		return (-WS_CLOSE_TOO_BIG);
	if (len < hdr + 4 + plen)
		return (0);
	mask = buf + hdr;
	f->payload = buf + hdr + 4;
	f->len = plen;
	for (i = 0; i < plen; i++)
		f->payload[i] ^= mask[i & 3];
	return ((long)(hdr + 4 + plen));
}

size_t
ws_frame_header(uint8_t hdr[10], unsigned opcode, size_t len)
{
	size_t n = 2, i;

	hdr[0] = (uint8_t)(0x80 | (opcode & 0x7f));
	if (len < 126) {
		hdr[1] = (uint8_t)len;
	} else if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		n = 4;
	} else {
		hdr[1] = 127;
		for (i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	return (n);
}

int
ws_put_frame(struct buf *out, int opcode, const void *p, size_t len)
{
	uint8_t hdr[10];
	size_t  n;

	n = ws_frame_header(hdr, (unsigned)opcode & 0x0f, len);
	if (buf_reserve(out, n + len) == -1)
		return (-1);
	buf_append(out, hdr, n);
	buf_append(out, p, len);
	return (0);
}

int
ws_put_close(struct buf *out, unsigned code, const char *reason)
{
	uint8_t payload[125];
	size_t  rlen = strlen(reason);

	if (rlen > sizeof(payload) - 2)
		rlen = sizeof(payload) - 2;
	if (!ws_close_code_valid(code))
		code = WS_CLOSE_NORMAL; /* callers pass constants */
	payload[0] = (uint8_t)(code >> 8);
	payload[1] = (uint8_t)code;
	memcpy(payload + 2, reason, rlen);
	return (ws_put_frame(out, WS_OP_CLOSE, payload, rlen + 2));
}

/* One offer's parameters, e.g. " client_max_window_bits; foo=1". */
static int
deflate_params_ok(const char *p, size_t n)
{
	size_t a, b, s, e, k;

	for (a = 0; a < n; a = b + 1) {
		for (b = a; b < n && p[b] != ';'; b++)
			;
		for (s = a; s < b && (p[s] == ' ' || p[s] == '\t'); s++)
			;
		for (e = b; e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'); e--)
			;
		if (s == e)
			continue; /* nothing before the first ';' */
		for (k = s; k < e && p[k] != '='; k++)
			;
#define IS(x) (k - s == sizeof(x) - 1 && strncasecmp(p + s, x, k - s) == 0)
		if (IS("server_no_context_takeover") ||
		    IS("client_no_context_takeover")) {
			if (k != e)
				return (0);
		} else if (IS("client_max_window_bits")) {
			/* Limits the client's compressor, not ours: fine. */
		} else if (IS("server_max_window_bits")) {
			if (!(e - k == 3 && strncmp(p + k, "=15", 3) == 0) &&
			    !(e - k == 5 && strncmp(p + k, "=\"15\"", 5) == 0))
				return (0);
		} else
			return (0);
#undef IS
	}
	return (1);
}

int
ws_deflate_offered(const struct http_request *req)
{
	static const char         name[] = "permessage-deflate";
	const struct http_header *h;
	size_t                    i, a, b, s, n = sizeof(name) - 1;

	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (h->name_len != 24 ||
		    strncasecmp(h->name, "Sec-WebSocket-Extensions", 24) != 0)
			continue;
		for (a = 0; a < h->value_len; a = b + 1) {
			for (b = a; b < h->value_len && h->value[b] != ','; b++)
				;
			for (s = a; s < b &&
			     (h->value[s] == ' ' || h->value[s] == '\t');
			     s++)
				;
			if (b - s < n ||
			    strncasecmp(h->value + s, name, n) != 0)
				continue;
			if (s + n < b && h->value[s + n] != ';' &&
			    h->value[s + n] != ' ')
				continue;
			if (deflate_params_ok(h->value + s + n, b - s - n))
				return (1);
		}
	}
	return (0);
}

int
ws_close_code_valid(unsigned code)
{
	if (code >= 1000 && code <= 1003)
		return (1);
	if (code >= 1007 && code <= 1014)
		return (1); /* 1012-1014 are IANA-registered */
	return (code >= 3000 && code <= 4999);
}

int
ws_utf8_valid(const uint8_t *p, size_t len)
{
	size_t   i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		/* n continuation bytes; the smallest code point for n */
		if ((p[i] & 0xe0) == 0xc0)
			n = 1;
		else if ((p[i] & 0xf0) == 0xe0)
			n = 2;
		else if ((p[i] & 0xf8) == 0xf0)
			n = 3;
		else
			return (0);
		cp = p[i] & (0x3f >> n);
		min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
		if (len - i - 1 < n)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

unsigned
ws_close_reply(const uint8_t *payload, size_t len)
{
	unsigned code;

	if (len == 0)
		return (WS_CLOSE_NORMAL);
	if (len == 1)
		return (WS_CLOSE_PROTOCOL);
	code = (unsigned)payload[0] << 8 | payload[1];
	if (!ws_close_code_valid(code))
		return (WS_CLOSE_PROTOCOL);
	if (!ws_utf8_valid(payload + 2, len - 2))
		return (WS_CLOSE_BAD_DATA);
	return (code);
}
