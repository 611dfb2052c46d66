/*
 * check_ws.c - unit tests for server/ws.c: the RFC 6455 accept key, the
 * upgrade checks, client frame parsing (masking, sizes, control-frame
 * rules, split input), server frame encoding, which Upgrade headers are
 * websocket attempts, and the close-code rules of RFC 6455 §7.4.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/http_parser.h"
#include "server/ws.h"
#include "tests/testutil.h"

static size_t
mask_frame(uint8_t *out, int fin, int op, const uint8_t *p, size_t len)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t	n = 0, i;

	out[n++] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		out[n++] = 0x80 | (uint8_t)len;
	} else {
		out[n++] = 0x80 | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	}
	memcpy(out + n, key, 4);
	n += 4;
	for (i = 0; i < len; i++)
		out[n + i] = p[i] ^ key[i & 3];
	return (n + len);
}

START_TEST(test_accept_key)
{
	char	acc[29];

	/* The example of RFC 6455 §1.3. */
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, acc);
	ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

static int
check_upgrade(const char *raw, char acc[29])
{
	struct http_request	req;
	struct http_limits	lim = { 8192, 64, 1024 };

	ck_assert_int_gt(http_parse_request(raw, strlen(raw), &lim, &req), 0);
	return (ws_check_upgrade(&req, acc));
}

START_TEST(test_upgrade_checks)
{
	char	acc[29];

	ck_assert_int_eq(check_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", acc), 0);
	ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ck_assert_int_eq(check_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 8\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", acc), 426);
	ck_assert_int_eq(check_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: short==\r\n\r\n", acc), 400);
	ck_assert_int_eq(check_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: h2c\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", acc), 400);
	ck_assert_int_eq(check_upgrade("POST / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", acc), 400);
}
END_TEST

static int
is_upgrade(const char *raw)
{
	struct http_request	req;
	struct http_limits	lim = { 8192, 64, 1024 };

	ck_assert_int_gt(http_parse_request(raw, strlen(raw), &lim, &req), 0);
	return (ws_is_upgrade(&req));
}

/* Only an Upgrade listing websocket is a websocket attempt (issue 13). */
START_TEST(test_is_upgrade)
{
	ck_assert_int_eq(is_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"), 1);
	ck_assert_int_eq(is_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: h2c, WebSocket\r\nConnection: x, upgrade\r\n\r\n"),
	    1);
	/* curl --http2 */
	ck_assert_int_eq(is_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
	    "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"), 0);
	ck_assert_int_eq(is_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: TLS/1.2\r\nConnection: Upgrade\r\n\r\n"), 0);
	ck_assert_int_eq(is_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocketx\r\nConnection: Upgrade\r\n\r\n"), 0);
	/* Upgrade without Connection: upgrade is no upgrade at all. */
	ck_assert_int_eq(is_upgrade("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\n\r\n"), 0);
}
END_TEST

static int
offered(const char *ext)
{
	static char		raw[1024];
	struct http_request	req;
	struct http_limits	lim = { 8192, 64, 1024 };

	snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\nHost: x\r\n"
	    "Sec-WebSocket-Extensions: %s\r\n\r\n", ext);
	ck_assert_int_gt(http_parse_request(raw, strlen(raw), &lim, &req), 0);
	return (ws_deflate_offered(&req));
}

/* permessage-deflate offers we take, and those we decline. */
START_TEST(test_deflate_offers)
{
	ck_assert_int_eq(offered("permessage-deflate"), 1);
	ck_assert_int_eq(offered("permessage-deflate; client_max_window_bits"),
	    1);
	ck_assert_int_eq(offered("permessage-deflate; "
	    "server_no_context_takeover; client_no_context_takeover"), 1);
	ck_assert_int_eq(offered("x-webkit-deflate-frame, "
	    "PerMessage-Deflate; client_max_window_bits=10"), 1);
	ck_assert_int_eq(offered("permessage-deflate; "
	    "server_max_window_bits=15"), 1);
	/* a smaller server window: declined, plain frames */
	ck_assert_int_eq(offered("permessage-deflate; "
	    "server_max_window_bits=10"), 0);
	/* unknown parameter, or a value on a flag: declined */
	ck_assert_int_eq(offered("permessage-deflate; foo"), 0);
	ck_assert_int_eq(offered("permessage-deflate; "
	    "server_no_context_takeover=1"), 0);
	/* ... but a later acceptable offer is taken */
	ck_assert_int_eq(offered("permessage-deflate; server_max_window_bits=9,"
	    " permessage-deflate"), 1);
	ck_assert_int_eq(offered("permessage-deflatex"), 0);
	ck_assert_int_eq(offered("x-webkit-deflate-frame"), 0);
}
END_TEST

/* RSV1: only on data frames, only when deflate was agreed. */
START_TEST(test_parse_rsv1)
{
	uint8_t		frame[64];
	struct ws_frame	f;
	size_t		n;

	n = mask_frame(frame, 1, WS_OP_TEXT, (const uint8_t *)"zz", 2);
	frame[0] |= WS_RSV1;
	ck_assert_int_eq(ws_parse_frame(frame, n, &f), -WS_CLOSE_PROTOCOL);
	ck_assert_int_eq(ws_parse_frame_ext(frame, n, &f, 1), (long)n);
	n = mask_frame(frame, 1, WS_OP_PING, (const uint8_t *)"zz", 2);
	frame[0] |= WS_RSV1;
	ck_assert_int_eq(ws_parse_frame_ext(frame, n, &f, 1),
	    -WS_CLOSE_PROTOCOL);
	n = mask_frame(frame, 1, WS_OP_TEXT, (const uint8_t *)"zz", 2);
	frame[0] |= 0x20;		/* RSV2 */
	ck_assert_int_eq(ws_parse_frame_ext(frame, n, &f, 1),
	    -WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(test_parse_masked_ping_split)
{
	uint8_t		frame[64], copy[64];
	struct ws_frame	f;
	size_t		n, i;

	n = mask_frame(frame, 1, WS_OP_PING, (const uint8_t *)"hello", 5);
	for (i = 0; i < n; i++) {
		memcpy(copy, frame, n);
		ck_assert_int_eq(ws_parse_frame(copy, i, &f), 0);
	}
	memcpy(copy, frame, n);
	ck_assert_int_eq(ws_parse_frame(copy, n, &f), (long)n);
	ck_assert_int_eq(f.opcode, WS_OP_PING);
	ck_assert_int_eq(f.fin, 1);
	ck_assert_uint_eq(f.len, 5);
	ck_assert_int_eq(memcmp(f.payload, "hello", 5), 0);
}
END_TEST

START_TEST(test_parse_rejects)
{
	uint8_t		frame[8192], big[200];
	struct ws_frame	f;
	size_t		n;

	/* Unmasked client frame. */
	frame[0] = 0x89;
	frame[1] = 0x00;
	ck_assert_int_eq(ws_parse_frame(frame, 2, &f), -WS_CLOSE_PROTOCOL);
	/* RSV bit set. */
	n = mask_frame(frame, 1, WS_OP_TEXT, (const uint8_t *)"x", 1);
	frame[0] |= 0x40;
	ck_assert_int_eq(ws_parse_frame(frame, n, &f), -WS_CLOSE_PROTOCOL);
	/* Fragmented control frame. */
	n = mask_frame(frame, 0, WS_OP_PING, (const uint8_t *)"x", 1);
	ck_assert_int_eq(ws_parse_frame(frame, n, &f), -WS_CLOSE_PROTOCOL);
	/* Control frame over 125 bytes. */
	memset(big, 'a', sizeof(big));
	n = mask_frame(frame, 1, WS_OP_PING, big, 126);
	ck_assert_int_eq(ws_parse_frame(frame, n, &f), -WS_CLOSE_PROTOCOL);
	/* Reserved opcode. */
	n = mask_frame(frame, 1, 0x3, (const uint8_t *)"x", 1);
	ck_assert_int_eq(ws_parse_frame(frame, n, &f), -WS_CLOSE_PROTOCOL);
	/* Data frame over the client limit: rejected from its header. */
	frame[0] = 0x81;
	frame[1] = 0x80 | 126;
	frame[2] = (WS_CLIENT_FRAME_MAX + 1) >> 8;
	frame[3] = (uint8_t)(WS_CLIENT_FRAME_MAX + 1);
	ck_assert_int_eq(ws_parse_frame(frame, 4, &f), -WS_CLOSE_TOO_BIG);
	/* 64-bit length with the top bit set. */
	frame[1] = 0x80 | 127;
	memset(frame + 2, 0xff, 8);
	ck_assert_int_eq(ws_parse_frame(frame, 10, &f), -WS_CLOSE_PROTOCOL);
	frame[2] = 0x7f;
	ck_assert_int_eq(ws_parse_frame(frame, 10, &f), -WS_CLOSE_TOO_BIG);
}
END_TEST

START_TEST(test_put_frames)
{
	struct buf	b;
	char		payload[70000];

	memset(payload, 'p', sizeof(payload));
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(ws_put_frame(&b, WS_OP_TEXT, "hi", 2), 0);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_int_eq((uint8_t)b.data[0], 0x81);
	ck_assert_int_eq((uint8_t)b.data[1], 2);
	buf_reset(&b);
	ck_assert_int_eq(ws_put_frame(&b, WS_OP_TEXT, payload, 126), 0);
	ck_assert_uint_eq(b.len, 4 + 126);
	ck_assert_int_eq((uint8_t)b.data[1], 126);
	buf_reset(&b);
	ck_assert_int_eq(ws_put_frame(&b, WS_OP_BINARY, payload, 65536), 0);
	ck_assert_uint_eq(b.len, 10 + 65536);
	ck_assert_int_eq((uint8_t)b.data[1], 127);
	ck_assert_int_eq((uint8_t)b.data[7], 1);	/* 0x0000000000010000 */
	buf_reset(&b);
	ck_assert_int_eq(ws_put_close(&b, 1008, "No ping received!"), 0);
	ck_assert_int_eq((uint8_t)b.data[0], 0x88);
	ck_assert_int_eq((uint8_t)b.data[2], 1008 >> 8);
	ck_assert_int_eq((uint8_t)b.data[3], 1008 & 0xff);
	ck_assert_int_eq(memcmp(b.data + 4, "No ping received!", 17), 0);
	buf_free(&b);
	/* A full buffer refuses instead of growing. */
	buf_init(&b, 16);
	ck_assert_int_eq(ws_put_frame(&b, WS_OP_TEXT, payload, 100), -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

/* RFC 6455 §7.4: which codes go on the wire, and what a close gets. */
START_TEST(test_close_codes)
{
	static const struct {
		const char	*payload;
		size_t		 len;
		unsigned	 reply;
	} t[] = {
		{ "", 0, 1000 },			/* empty: normal */
		{ "\x03", 1, 1002 },		/* 1 byte: protocol error */
		{ "\x03\xe8", 2, 1000 },
		{ "\x03\xe9" "bye", 5, 1001 },
		{ "\x03\xea", 2, 1002 }, { "\x03\xeb", 2, 1003 },
		{ "\x03\xec", 2, 1002 },		/* 1004 reserved */
		{ "\x03\xed", 2, 1002 },		/* 1005: never sent */
		{ "\x03\xee", 2, 1002 },		/* 1006: never sent */
		{ "\x03\xef", 2, 1007 }, { "\x03\xf3", 2, 1011 },
		{ "\x03\xf4", 2, 1012 }, { "\x03\xf6", 2, 1014 },
		{ "\x03\xf7", 2, 1002 },		/* 1015: never sent */
		{ "\x03\xf8", 2, 1002 },
		{ "\x0b\xb7", 2, 1002 },		/* 2999 */
		{ "\x0b\xb8", 2, 3000 }, { "\x13\x87", 2, 4999 },
		{ "\x13\x88", 2, 1002 },		/* 5000 */
		{ "\x00\x00", 2, 1002 },
		{ "\x03\xe7", 2, 1002 },		/* 999 */
		{ "\xff\xff", 2, 1002 },
		{ "\x03\xe8" "caf\xc3\xa9", 7, 1000 },	/* UTF-8 reason */
		{ "\x03\xe8\xff\xfe", 4, 1007 },	/* not UTF-8 */
		{ "\x03\xe8\xc0\xaf", 4, 1007 },	/* overlong */
		{ "\x03\xe8\xed\xa0\x80", 5, 1007 },	/* surrogate */
		{ "\x03\xe8\xe2\x82", 4, 1007 },	/* cut short */
	};
	struct buf	b;
	size_t		i;
	unsigned	c;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(ws_close_reply((const uint8_t *)t[i].payload,
		    t[i].len) == t[i].reply, "case %zu: got %u, want %u", i,
		    ws_close_reply((const uint8_t *)t[i].payload, t[i].len),
		    t[i].reply);
	for (c = 0; c < 70000; c++)
		ck_assert_int_eq(ws_close_code_valid(c),
		    (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
		    (c >= 3000 && c <= 4999));
	/* ws_put_close never writes an invalid code. */
	buf_init(&b, 256);
	ck_assert_int_eq(ws_put_close(&b, 1005, ""), 0);
	ck_assert_int_eq((uint8_t)b.data[2] << 8 | (uint8_t)b.data[3], 1000);
	buf_free(&b);
	ck_assert_int_eq(ws_utf8_valid((const uint8_t *)"\xf0\x9f\x94\x92", 4),
	    1);
	ck_assert_int_eq(ws_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4),
	    0);	/* above U+10FFFF */
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("ws");
	TCase	*tc = tu_tcase(s, "ws", 0);

	tcase_add_test(tc, test_accept_key);
	tcase_add_test(tc, test_upgrade_checks);
	tcase_add_test(tc, test_parse_masked_ping_split);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_put_frames);
	tcase_add_test(tc, test_deflate_offers);
	tcase_add_test(tc, test_parse_rsv1);
	tcase_add_test(tc, test_is_upgrade);
	tcase_add_test(tc, test_close_codes);
	return (s);
}
