/*
 * keygen.c - notaryctl keygen: create the notary key pair if missing (as the daemon
 * user when run as root) and print the public key.
 * Runs in notaryctl only; see notaryctl.c for exit statuses and messages.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <pwd.h>

#include "common/conf.h"
#include "store/dbenv.h"
#include "common/log.h"
#include "server/keys.h"
#include "store/obs.h"
#include "store/session.h"
#include "scanner/probe.h"
#include "store/schedule.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"


#include "ctl/ctl.h"

/* mkdir -p the directory of a key file (0700), owned by pw when given. */
static int
make_key_dir(const char *path, const struct passwd *pw)
{
	char *dir = xstrdup(path), *p;
	int   r = 0;

	if ((p = strrchr(dir, '/')) != NULL && p != dir) {
		*p = '\0';
		for (p = dir + 1; r == 0; p++) {
			if (*p != '/' && *p != '\0')
				continue;
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0700) == 0) {
				if (pw != NULL &&
				    chown(dir, pw->pw_uid, pw->pw_gid) == -1)
					r = -1;
			} else if (errno != EEXIST) {
				r = -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	if (r == -1)
		fprintf(stderr, "notaryctl: cannot create %s: %s\n", dir,
		    strerror(errno));
	free(dir);
	return (r);
}

/*
 * Create the notary key pair if missing (1369-bit RSA, private key 0600,
 * owned by daemon.user when run as root) and print the public key.
 */
int
cmd_keygen(struct ctl *c, int argc, char **argv)
{
	const struct conf *cf = c->cf;
	struct passwd     *pw = NULL;
	EVP_PKEY          *key = NULL;
	char               err[512], *pem = NULL;
	int                st;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "notaryctl: keygen takes no arguments\n");
		return (EXIT_USAGE);
	}
	if (geteuid() == 0 && cf->daemon.user[0] != '\0' &&
	    (pw = getpwnam(cf->daemon.user)) == NULL) {
		fprintf(stderr, "notaryctl: daemon.user: no such user %s\n",
		    cf->daemon.user);
		return (EXIT_USAGE);
	}
	if (make_key_dir(cf->keys.private_key, pw) == -1 ||
	    make_key_dir(cf->keys.public_key, pw) == -1)
		return (EXIT_RUNTIME);
	st = keys_ensure(cf->keys.private_key, cf->keys.public_key,
	    pw ? pw->pw_uid : (uid_t)-1, pw ? pw->pw_gid : (gid_t)-1, err,
	    sizeof(err));
	if (st == -1 ||
	    keys_load(cf->keys.private_key, cf->keys.public_key, &key, &pem,
	        err, sizeof(err)) == -1) {
		fprintf(stderr, "notaryctl: %s\n", err);
		return (EXIT_RUNTIME);
	}
	if (st == KEYS_CREATED)
		fprintf(stderr, "notaryctl: created %s and %s\n",
		    cf->keys.private_key, cf->keys.public_key);
	fputs(pem, stdout);
	free(pem);
	EVP_PKEY_free(key);
	return (ctl_out_error(stdout, "stdout") == 0 ? EXIT_OK : EXIT_RUNTIME);
}
