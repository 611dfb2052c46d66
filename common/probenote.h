/*
 * probenote.h - "a probe of this service just finished", sent by a
 * scanner to the signer over the signer's socket (<data_dir>/signer.sock),
 * so that a request parked for a synchronous probe is answered as soon
 * as the result is recorded, without polling the database.
 *
 * Message (one SOCK_SEQPACKET datagram, the header of server/sigproto.h
 * with its own format byte): u32 0 | u8 PROBENOTE_FMT | u8 ok | u16 len |
 * svc[len].  Best effort: a note that cannot be sent at once is dropped
 * (the waiting side also re-reads at its deadline).
 *
 * Used by scanners (send) and the signer (decode).
 */
#ifndef NOTARYD_PROBENOTE_H
#define NOTARYD_PROBENOTE_H

#include <sys/un.h>

#include <stddef.h>
#include <stdint.h>

#define PROBENOTE_FMT      0xc1
#define PROBENOTE_HDR      8
#define PROBENOTE_SVC_MAX  255
#define PROBENOTE_RETRY_MS 1000

struct probenote_sender {
	int                fd;
	int64_t            retry_at;
	struct sockaddr_un sun; /* the signer's socket */
};

/* Notes go to the signer's socket at sun (see store_sockaddr()). */
void probenote_init(struct probenote_sender *s, const struct sockaddr_un *sun);
void
probenote_send(struct probenote_sender *s, const char *svc, size_t len, int ok);
void probenote_close(struct probenote_sender *s);
/* 0 with svc (NUL-terminated, max bytes with NUL) and *ok, or -1. */
int  probenote_decode(const uint8_t *msg, size_t len, char *svc, size_t max,
     size_t *svclen, int *ok);

#endif
