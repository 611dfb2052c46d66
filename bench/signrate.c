/*
 * signrate.c - the raw RSA-1369/MD5 signing rate of one core: the limit
 * the signer process can approach.  Generates a fresh 1369-bit key (the
 * notary's size), packs a typical one-key reply and signs it in a loop
 * for the given number of seconds with persp_sign, the function the signer
 * uses.  Prints "signs_per_second N".  Part of "make bench", not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "server/keys.h"
#include "store/obs.h"
#include "server/perspectives.h"
#include "common/util.h"

int	main(int, char *[]);

int
main(int argc, char *argv[])
{
	struct obs_span	 spans[2];
	struct buf	 packed;
	unsigned char	 sig[PERSP_SIG_MAX];
	char		 dir[] = "/tmp/signrate.XXXXXX", priv[64], pub[64];
	char		 err[256], cmd[96];
	EVP_PKEY	*key = NULL;
	size_t		 siglen;
	double		 secs = argc > 1 ? atof(argv[1]) : 3.0;
	int64_t		 t0, t1;
	long		 n = 0;

	if (mkdtemp(dir) == NULL)
		return (1);
	snprintf(priv, sizeof(priv), "%s/k.priv", dir);
	snprintf(pub, sizeof(pub), "%s/k.pub", dir);
	if (keys_ensure(priv, pub, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)) == -1 ||
	    keys_load(priv, pub, &key, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "signrate: %s\n", err);
		return (1);
	}
	memset(spans, 0, sizeof(spans));
	memset(spans[0].md5, 0x5a, 16);
	spans[0].start = 1700000000;
	spans[0].end = 1700086400;
	spans[1] = spans[0];
	spans[1].start = 1700200000;
	spans[1].end = 1700300000;
	buf_init(&packed, 4096);
	if (persp_pack("bench-0.example:443,2", 21, spans, 2, &packed) == -1)
		return (1);
	t0 = mono_ns();
	do {
		if (persp_sign(key, packed.data, packed.len, sig, sizeof(sig),
		    &siglen) == -1)
			return (1);
		n++;
		t1 = mono_ns();
	} while ((double)(t1 - t0) < secs * 1e9);
	printf("signs_per_second %.0f\n", (double)n * 1e9 / (double)(t1 - t0));
	EVP_PKEY_free(key);
	buf_free(&packed);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return (system(cmd) == 0 ? 0 : 1);
}
