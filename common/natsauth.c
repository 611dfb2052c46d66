/*
 * natsauth.c - the libnats options every process that talks to NATS
 * starts from (natspub, natsrc, the HTTP workers' replay threads): the
 * servers of nats.url, the client name, and nats.credentials or
 * nats.token_file.  Never logs: a failure is a reason for the caller,
 * who gives up on that connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "common/conf.h"
#include "common/natsauth.h"
#include "common/xmalloc.h"

#define NATSAUTH_TOKEN_MAX 4096 /* bytes of nats.token_file */

/* The token, first line of the file; NULL (why filled) if unusable. */
static char *
read_token(const char *path, char *why, size_t whylen)
{
	char    buf[NATSAUTH_TOKEN_MAX + 1];
	ssize_t n;
	int     fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(why, whylen, "nats.token_file %s: %s", path,
		    strerror(errno));
		return (NULL);
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n > NATSAUTH_TOKEN_MAX) {
		(void)snprintf(why, whylen, "nats.token_file %s: %s", path,
		    n < 0 ? strerror(errno) : "longer than 4096 bytes");
		return (NULL);
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		(void)snprintf(why, whylen, "nats.token_file %s: empty", path);
		return (NULL);
	}
	return (xstrdup(buf));
}

static int
set_credentials(natsOptions *o, const struct conf *cf, char *why, size_t whylen)
{
	char      *tok;
	natsStatus s = NATS_OK;

	if (cf->nats.credentials[0] != '\0')
		s = natsOptions_SetUserCredentialsFromFiles(
		    o, cf->nats.credentials, NULL);
	else if (cf->nats.token_file[0] != '\0') {
		if ((tok = read_token(cf->nats.token_file, why, whylen)) ==
		    NULL)
			return (-1);
		s = natsOptions_SetToken(o, tok);
		explicit_bzero(tok, strlen(tok));
		free(tok);
	}
	if (s != NATS_OK) {
		(void)snprintf(
		    why, whylen, "nats credentials: %s", natsStatus_GetText(s));
		return (-1);
	}
	return (0);
}

natsOptions *
natsauth_options(
    const struct conf *cf, const char *name, char *why, size_t whylen)
{
	natsOptions *o = NULL;
	natsStatus   s;

	s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetServers(
		    o, (const char **)cf->nats.url.v, (int)cf->nats.url.n);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, name);
	if (s != NATS_OK)
		(void)snprintf(
		    why, whylen, "nats options: %s", natsStatus_GetText(s));
	if (s != NATS_OK || set_credentials(o, cf, why, whylen) == -1) {
		natsOptions_Destroy(o);
		return (NULL);
	}
	return (o);
}
