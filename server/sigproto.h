/*
 * sigproto.h - the messages between HTTP workers and the signer.
 *
 * Transport: AF_UNIX SOCK_SEQPACKET (message boundaries kept).  The master
 * owns one listening socket at <data_dir>/signer.sock that every signer
 * generation inherits and accepts on; each worker keeps one connection and
 * reconnects when it breaks.  Both sides treat the other's bytes as
 * untrusted: every length is checked before use.
 *
 * Request  : u32 seq | u8 fmt | u8 flags | u16 idlen | id[idlen]
 * Reply    : u32 seq | u8 status | u8 0 | u16 0 | u32 len | body[len]
 * (big-endian).  A worker drops a reply whose seq it no longer waits for.
 */
#ifndef NOTARYD_SIGPROTO_H
#define NOTARYD_SIGPROTO_H

#include <stddef.h>
#include <stdint.h>

#define SIGPROTO_REQ_HDR  8
#define SIGPROTO_REP_HDR  12
#define SIGPROTO_ID_MAX   255
#define SIGPROTO_BODY_MAX (256 * 1024) /* largest signed reply */

#define SIGPROTO_F_PROBE 0x01 /* queue an on-demand probe if unknown */
/*
 * Convergence only: decide as spec §2.3 and, when that needs a probe,
 * hold the request until the probe's result is recorded (the scanner's
 * note, common/probenote.h, format 0xc1 on this socket) or until
 * scanner.timeout + 1 s.  The id is "svc" (GET) or "svc FP" (POST).
 */
#define SIGPROTO_F_WAIT  0x02

/*
 * Key operation for a TLS handshake on a Convergence port (the worker
 * holds only the certificate): same header, fmt SIGPROTO_FMT_KEYOP, flags
 * the RSA padding (RSA_PKCS1_PADDING for a TLS 1.2 DigestInfo,
 * RSA_NO_PADDING for a TLS 1.3 PSS block padded by the worker), the
 * u16 length and the raw input, which may contain NUL bytes.  The reply
 * body is the private-key result, exactly the modulus size.
 */
#define SIGPROTO_FMT_KEYOP 0xc0
#define SIGPROTO_KEYOP_MAX 1024 /* input bytes: an 8192-bit block */
#define SIGPROTO_REQ_MAX   (SIGPROTO_REQ_HDR + SIGPROTO_KEYOP_MAX)

enum sigproto_status {
	SIG_OK = 0,                 /* body = complete signed reply */
	SIG_UNKNOWN = 1,            /* no observation: 404 (probe queued) */
	SIG_UNAVAILABLE = 2,        /* database or key unavailable: 503 */
	SIG_BAD = 3,                /* id refused: 400 */
	SIG_CONFLICT = 4,           /* F_WAIT: body = signed list, answer 409 */
	SIG_PROBE_FAILED = 5,       /* F_WAIT: the probe failed: 503 */
	SIG_LAST = SIG_PROBE_FAILED /* the decoder refuses any higher */
};

struct sigproto_req {
	uint32_t    seq;
	uint8_t     fmt;
	uint8_t     flags;
	size_t      idlen;
	const char *id; /* points into the message */
};

struct sigproto_rep {
	uint32_t       seq;
	uint8_t        status;
	size_t         len;
	const uint8_t *body; /* points into the message */
};

/* Encode into buf (size >= SIGPROTO_REQ_HDR + idlen); returns length or -1. */
long
sigproto_req_encode(uint8_t *buf, size_t buflen, const struct sigproto_req *r);
/* 0, or -1 for a malformed message. */
int sigproto_req_decode(const uint8_t *msg, size_t len, struct sigproto_req *r);
/* A key operation request: 0, or -1 (not one, or malformed). */
int
sigproto_keyop_decode(const uint8_t *msg, size_t len, struct sigproto_req *r);
long sigproto_keyop_encode(uint8_t *buf, size_t buflen, uint32_t seq,
    uint8_t padding, const uint8_t *in, size_t inlen);
/* Header only: the body follows in the same message (writev). */
void sigproto_rep_header(
    uint8_t hdr[SIGPROTO_REP_HDR], uint32_t seq, uint8_t status, size_t len);
int sigproto_rep_decode(const uint8_t *msg, size_t len, struct sigproto_rep *r);

#endif
