/*
 * natsauth.c - nats.credentials or nats.token_file into a libnats
 * natsOptions: shared by every process that talks to NATS (natspub,
 * natsrc, the HTTP workers' replay threads).  Failures are logged once
 * here; the caller gives up on that connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/natsauth.h"
#include "common/xmalloc.h"

#define NATSAUTH_TOKEN_MAX 4096 /* bytes of nats.token_file */

/* The token, first line of the file; NULL (logged) if unusable. */
static char *
read_token(const char *path)
{
	char    buf[NATSAUTH_TOKEN_MAX + 1];
	ssize_t n;
	int     fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("nats.token_file %s", path);
		return (NULL);
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > NATSAUTH_TOKEN_MAX) {
		log_warnx("nats.token_file %s: %s", path,
		    n < 0 ? strerror(errno) : "longer than 4096 bytes");
		return (NULL);
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		log_warnx("nats.token_file %s: empty", path);
		return (NULL);
	}
	return (xstrdup(buf));
}

int
natsauth_set(void *o, const struct conf *cf)
{
	natsOptions *opts = o;
	char        *tok;
	natsStatus   s = NATS_OK;

	if (cf->nats.credentials[0] != '\0')
		s = natsOptions_SetUserCredentialsFromFiles(
		    opts, cf->nats.credentials, NULL);
	else if (cf->nats.token_file[0] != '\0') {
		if ((tok = read_token(cf->nats.token_file)) == NULL)
			return (-1);
		s = natsOptions_SetToken(opts, tok);
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}
	if (s != NATS_OK) {
		log_warnx("nats credentials: %s", natsStatus_GetText(s));
		return (-1);
	}
	return (0);
}
