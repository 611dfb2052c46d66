/*
 * probenote.c - probe completion notes from scanners to the signer (see
 * probenote.h).  Runs in scanners (sending, non-blocking, reconnecting at
 * most once per PROBENOTE_RETRY_MS) and in the signer (decoding, every
 * length checked).  Nothing here logs except a lost connection at debug.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/probenote.h"
#include "common/util.h"

void
probenote_init(struct probenote_sender *s, const struct sockaddr_un *sun)
{
	s->fd = -1;
	s->retry_at = 0;
	s->sun = *sun;
}

static int
note_connect(struct probenote_sender *s)
{
	int fd;

	if (s->fd != -1)
		return (0);
	if (mono_ms() < s->retry_at)
		return (-1);
	s->retry_at = mono_ms() + PROBENOTE_RETRY_MS;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&s->sun, sizeof(s->sun)) == -1) {
		close(fd);
		return (-1);
	}
	s->fd = fd;
	return (0);
}

void
probenote_send(struct probenote_sender *s, const char *svc, size_t len, int ok)
{
	uint8_t msg[PROBENOTE_HDR + PROBENOTE_SVC_MAX];

	if (len == 0 || len > PROBENOTE_SVC_MAX || note_connect(s) == -1)
		return;
	memset(msg, 0, 4);
	msg[4] = PROBENOTE_FMT;
	msg[5] = ok ? 1 : 0;
	msg[6] = (uint8_t)(len >> 8);
	msg[7] = (uint8_t)len;
	memcpy(msg + PROBENOTE_HDR, svc, len);
	if (send(s->fd, msg, PROBENOTE_HDR + len,
	        MSG_DONTWAIT | MSG_NOSIGNAL) == -1 &&
	    errno != EAGAIN) {
		log_debug("probe note: signer connection lost");
		probenote_close(s);
	}
}

void
probenote_close(struct probenote_sender *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

int
probenote_decode(const uint8_t *msg, size_t len, char *svc, size_t max,
    size_t *svclen, int *ok)
{
	size_t n;

	if (len < PROBENOTE_HDR || msg[4] != PROBENOTE_FMT || msg[5] > 1)
		return (-1);
	n = (size_t)msg[6] << 8 | msg[7];
	if (n == 0 || n > PROBENOTE_SVC_MAX || n >= max ||
	    len != PROBENOTE_HDR + n ||
	    memchr(msg + PROBENOTE_HDR, '\0', n) != NULL)
		return (-1);
	memcpy(svc, msg + PROBENOTE_HDR, n);
	svc[n] = '\0';
	*svclen = n;
	*ok = msg[5];
	return (0);
}
