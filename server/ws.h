/*
 * ws.h - RFC 6455 websocket pieces for the HTTP workers: the opening
 * handshake, parsing client frames (always masked), and writing server
 * frames (never masked).  Pure functions over caller buffers; the
 * connection state machine lives in http.c.
 */
#ifndef NOTARYD_WS_H
#define NOTARYD_WS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/http_parser.h"

#define WS_OP_CONT   0x0
#define WS_OP_TEXT   0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE  0x8
#define WS_OP_PING   0x9
#define WS_OP_PONG   0xa

#define WS_CLOSE_NORMAL   1000
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_BAD_DATA 1007
#define WS_CLOSE_POLICY   1008
#define WS_CLOSE_TOO_BIG  1009

#define WS_CLIENT_FRAME_MAX \
	512 /* spec: clients only send control frames;
					   larger frames close (GO SetReadLimit) */

struct ws_frame {
	int      fin;
	int      opcode;
	uint8_t *payload; /* unmasked in place */
	size_t   len;
};

/*
 * Check the upgrade request (GET, HTTP/1.1, Upgrade: websocket,
 * Connection: upgrade, Sec-WebSocket-Version: 13, a 16-byte base64
 * Sec-WebSocket-Key).  Returns 0 and writes the Sec-WebSocket-Accept value
 * (28 chars + NUL) to accept, or the HTTP status to answer (400, or 426
 * for a version we do not speak).
 */
int  ws_check_upgrade(const struct http_request *req, char accept[29]);
/*
 * Does the request ask for a websocket (Connection: upgrade and an Upgrade
 * header listing "websocket")?  Any other Upgrade (h2c, TLS/1.2, ...) is
 * one the server does not speak and ignores (RFC 9110 §7.8).
 */
int  ws_is_upgrade(const struct http_request *req);
/* base64(SHA-1(key || RFC 6455 GUID)). */
void ws_accept_key(const char *key, size_t keylen, char accept[29]);

/*
 * Parse one client frame at the start of buf[0..len) (unmasking its
 * payload in place).  Returns the bytes it used, 0 when incomplete, or
 * minus the close code to send (-1002 protocol error, -1009 too big).
 */
long ws_parse_frame(uint8_t *buf, size_t len, struct ws_frame *f);
/* The same, allowing RSV1 on data frames (permessage-deflate in use). */
long
ws_parse_frame_ext(uint8_t *buf, size_t len, struct ws_frame *f, int rsv1_ok);

/*
 * Does the request offer permessage-deflate (RFC 7692) in a form we take:
 * parameters among server_no_context_takeover, client_no_context_takeover,
 * client_max_window_bits[=8..15] and server_max_window_bits=15 only (we
 * compress every frame once, with a 15-bit window and no context, for all
 * clients).  1 or 0.  The answer to send is WS_DEFLATE_RESPONSE.
 */
int ws_deflate_offered(const struct http_request *req);
#define WS_DEFLATE_RESPONSE                              \
	"Sec-WebSocket-Extensions: permessage-deflate; " \
	"server_no_context_takeover; client_no_context_takeover\r\n"
#define WS_RSV1 0x40

/*
 * The header of an unmasked server frame (FIN set) with the given first
 * byte bits (opcode, RSV1) and payload length; returns its size (2..10).
 */
size_t ws_frame_header(uint8_t hdr[10], unsigned opcode, size_t len);
/* Append one unmasked server frame.  0, or -1 when out is full. */
int    ws_put_frame(struct buf *out, int opcode, const void *p, size_t len);
/*
 * Append a close frame with a code and a short reason.  The code must be
 * one ws_close_code_valid() accepts (1000 when it is not: never 1005,
 * 1006, 1015 or a code under 1000 on the wire).
 */
int    ws_put_close(struct buf *out, unsigned code, const char *reason);

/*
 * May this close code appear in a close frame (RFC 6455 §7.4.1-2 and the
 * IANA registry)?  1000-1003, 1007-1014, 3000-4999.
 */
int      ws_close_code_valid(unsigned code);
/*
 * The code to answer a client's close frame with: its own code when that
 * is valid and the reason is UTF-8, 1000 for an empty payload, 1002 for a
 * 1-byte payload or an invalid code, 1007 for a reason that is not UTF-8.
 */
unsigned ws_close_reply(const uint8_t *payload, size_t len);
/* Is p[0..len) well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF)? */
int      ws_utf8_valid(const uint8_t *p, size_t len);

#endif
