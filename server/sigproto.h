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

#define SIGPROTO_REQ_HDR	8
#define SIGPROTO_REP_HDR	12
#define SIGPROTO_ID_MAX		255
#define SIGPROTO_BODY_MAX	(256 * 1024)	/* largest signed reply */

#define SIGPROTO_F_PROBE	0x01	/* queue an on-demand probe if unknown */

enum sigproto_status {
	SIG_OK = 0,		/* body = complete signed reply */
	SIG_UNKNOWN = 1,	/* no observation: 404 (probe queued) */
	SIG_UNAVAILABLE = 2,	/* database or key unavailable: 503 */
	SIG_BAD = 3,		/* id refused: 400 */
};

struct sigproto_req {
	uint32_t	seq;
	uint8_t		fmt;
	uint8_t		flags;
	size_t		idlen;
	const char	*id;		/* points into the message */
};

struct sigproto_rep {
	uint32_t	seq;
	uint8_t		status;
	size_t		len;
	const uint8_t	*body;		/* points into the message */
};

/* Encode into buf (size >= SIGPROTO_REQ_HDR + idlen); returns length or -1. */
long	sigproto_req_encode(uint8_t *buf, size_t buflen,
	    const struct sigproto_req *r);
/* 0, or -1 for a malformed message. */
int	sigproto_req_decode(const uint8_t *msg, size_t len,
	    struct sigproto_req *r);
/* Header only: the body follows in the same message (writev). */
void	sigproto_rep_header(uint8_t hdr[SIGPROTO_REP_HDR], uint32_t seq,
	    uint8_t status, size_t len);
int	sigproto_rep_decode(const uint8_t *msg, size_t len,
	    struct sigproto_rep *r);

#endif
