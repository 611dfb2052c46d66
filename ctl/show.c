/*
 * show.c - notaryctl show: the history of one service as a table, with MD5,
 * SHA-1 and SHA-256 fingerprints.
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

static int span_start_cmp(const void *, const void *);
static void
show_digests(struct obs_db *, const struct obs_span *, char *, char *);

/* History order: by start, then key. */
static int
span_start_cmp(const void *pa, const void *pb)
{
	const struct obs_span *a = pa, *b = pb;

	if (a->start != b->start)
		return (a->start < b->start ? -1 : 1);
	return (memcmp(a->md5, b->md5, sizeof(a->md5)));
}

/* SHA-1 (from the stored DER) and SHA-256 as colon-hex, or "-". */
static void
show_digests(
    struct obs_db *o, const struct obs_span *sp, char *sha1, char *sha256)
{
	static const uint8_t zero[32];
	uint8_t             *der, md[EVP_MAX_MD_SIZE];
	size_t               derlen;
	unsigned             mdlen;

	(void)snprintf(sha1, SHA1_HEX_LEN, "-");
	(void)snprintf(sha256, SHA256_HEX_LEN, "-");
	if (memcmp(sp->sha256, zero, sizeof(zero)) == 0)
		return;
	obs_hex_colon(sp->sha256, sizeof(sp->sha256), sha256);
	der = xmalloc(OBS_DER_MAX);
	if (obs_cert_get(o, sp->sha256, der, OBS_DER_MAX, &derlen) == 0 &&
	    EVP_Digest(der, derlen, md, &mdlen, EVP_sha1(), NULL) == 1 &&
	    mdlen == 20)
		obs_hex_colon(md, 20, sha1);
	free(der);
}

int
cmd_show(struct ctl *c, int argc, char **argv)
{
	struct obs_service st;
	struct obs_span   *v;
	const char        *svc;
	char               why[128], s[ISO_LEN], e[ISO_LEN];
	char               md5[MD5_HEX_LEN], sha1[SHA1_HEX_LEN];
	char               sha256[SHA256_HEX_LEN];
	size_t             i, n;
	int                known, r = EXIT_RUNTIME;

	if (argc != 2) {
		fprintf(stderr, "notaryctl: show: expected one SERVICE\n");
		return (EXIT_USAGE);
	}
	svc = argv[1];
	if (svcid_parse(svc, strlen(svc), NULL, why, sizeof(why)) == -1) {
		fprintf(stderr, "notaryctl: show: bad service id \"%s\": %s\n",
		    svc, why);
		return (EXIT_USAGE);
	}
	if (ctl_open(c) == -1)
		return (EXIT_RUNTIME);
	v = xreallocarray(NULL, SHOW_MAX_SPANS, sizeof(*v));
	if (obs_read(&c->obs, svc, strlen(svc), v, SHOW_MAX_SPANS, &n) == -1 ||
	    (known = obs_service_get(&c->obs, svc, strlen(svc), &st)) == -1)
		goto done;
	if (n == 0 && known == 1) {
		fprintf(stderr, "notaryctl: show: %s: unknown service\n", svc);
		goto done;
	}
	printf("service     %s\n", svc);
	if (known == 0) {
		ctl_iso_time(st.first_seen, s, sizeof(s));
		printf("first seen  %s\n", s);
		ctl_iso_time(st.last_probe, s, sizeof(s));
		printf("last probe  %s\n", st.last_probe ? s : "never");
		ctl_iso_time(st.last_ok, s, sizeof(s));
		printf("last ok     %s\n", st.last_ok ? s : "never");
		if (st.last_probe != 0)
			printf("failures    %u in a row (last result: %s)\n",
			    st.fails, probe_result_name(st.last_result));
	} else
		printf("probe state none\n");
	printf("spans       %zu%s\n\n", n,
	    n == SHOW_MAX_SPANS ? " (more not shown)" : "");
	qsort(v, n, sizeof(*v), span_start_cmp);
	printf("%-20s  %-20s  %-47s  %-59s  %s\n", "START", "END", "MD5",
	    "SHA1", "SHA256");
	for (i = 0; i < n; i++) {
		ctl_iso_time(v[i].start, s, sizeof(s));
		ctl_iso_time(v[i].end, e, sizeof(e));
		obs_hex_colon(v[i].md5, sizeof(v[i].md5), md5);
		show_digests(&c->obs, &v[i], sha1, sha256);
		printf("%-20s  %-20s  %-47s  %-59s  %s\n", s, e, md5, sha1,
		    sha256);
	}
	r = ctl_out_error(stdout, "stdout") == 0 ? EXIT_OK : EXIT_RUNTIME;
done:
	free(v);
	ctl_close(c);
	return (r);
}
