/*
 * sigproto.c - encoding and checking of worker <-> signer messages (see
 * sigproto.h).  Pure functions: no I/O, no allocation, no logging; both
 * the HTTP workers and the signer use them on the other side's bytes.
 */
#include <string.h>

#include "server/sigproto.h"
#include "common/util.h"


long
sigproto_req_encode(uint8_t *buf, size_t buflen, const struct sigproto_req *r)
{
	if (r->idlen == 0 || r->idlen > SIGPROTO_ID_MAX ||
	    buflen < SIGPROTO_REQ_HDR + r->idlen)
		return (-1);
	be32enc(buf, r->seq);
	buf[4] = r->fmt;
	buf[5] = r->flags;
	buf[6] = (uint8_t)(r->idlen >> 8);
	buf[7] = (uint8_t)r->idlen;
	memcpy(buf + SIGPROTO_REQ_HDR, r->id, r->idlen);
	return ((long)(SIGPROTO_REQ_HDR + r->idlen));
}

int
sigproto_req_decode(const uint8_t *msg, size_t len, struct sigproto_req *r)
{
	size_t idlen;

	if (len < SIGPROTO_REQ_HDR)
		return (-1);
	idlen = (size_t)msg[6] << 8 | msg[7];
	if (idlen == 0 || idlen > SIGPROTO_ID_MAX ||
	    len != SIGPROTO_REQ_HDR + idlen)
		return (-1);
	if (memchr(msg + SIGPROTO_REQ_HDR, '\0', idlen) != NULL)
		return (-1);
	r->seq = be32dec(msg);
	r->fmt = msg[4];
	r->flags = msg[5];
	r->idlen = idlen;
	r->id = (const char *)msg + SIGPROTO_REQ_HDR;
	return (0);
}

void
sigproto_rep_header(
    uint8_t hdr[SIGPROTO_REP_HDR], uint32_t seq, uint8_t status, size_t len)
{
	be32enc(hdr, seq);
	hdr[4] = status;
	hdr[5] = hdr[6] = hdr[7] = 0;
	be32enc(hdr + 8, (uint32_t)len);
}

int
sigproto_rep_decode(const uint8_t *msg, size_t len, struct sigproto_rep *r)
{
	size_t blen;

	if (len < SIGPROTO_REP_HDR)
		return (-1);
	blen = be32dec(msg + 8);
	if (blen > SIGPROTO_BODY_MAX || len != SIGPROTO_REP_HDR + blen ||
	    msg[4] > SIG_LAST || msg[5] != 0 || msg[6] != 0 || msg[7] != 0)
		return (-1);
	if ((msg[4] == SIG_OK || msg[4] == SIG_CONFLICT) && blen == 0)
		return (-1);
	r->seq = be32dec(msg);
	r->status = msg[4];
	r->len = blen;
	r->body = msg + SIGPROTO_REP_HDR;
	return (0);
}

long
sigproto_keyop_encode(uint8_t *buf, size_t buflen, uint32_t seq,
    uint8_t padding, const uint8_t *in, size_t inlen)
{
	if (inlen == 0 || inlen > SIGPROTO_KEYOP_MAX ||
	    buflen < SIGPROTO_REQ_HDR + inlen)
		return (-1);
	be32enc(buf, seq);
	buf[4] = SIGPROTO_FMT_KEYOP;
	buf[5] = padding;
	buf[6] = (uint8_t)(inlen >> 8);
	buf[7] = (uint8_t)inlen;
	memcpy(buf + SIGPROTO_REQ_HDR, in, inlen);
	return ((long)(SIGPROTO_REQ_HDR + inlen));
}

int
sigproto_keyop_decode(const uint8_t *msg, size_t len, struct sigproto_req *r)
{
	size_t n;

	if (len < SIGPROTO_REQ_HDR || msg[4] != SIGPROTO_FMT_KEYOP)
		return (-1);
	n = (size_t)msg[6] << 8 | msg[7];
	if (n == 0 || n > SIGPROTO_KEYOP_MAX || len != SIGPROTO_REQ_HDR + n)
		return (-1);
	r->seq = be32dec(msg);
	r->fmt = msg[4];
	r->flags = msg[5];
	r->idlen = n;
	r->id = (const char *)msg + SIGPROTO_REQ_HDR;
	return (0);
}
