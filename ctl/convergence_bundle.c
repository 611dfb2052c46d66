/*
 * convergence_bundle.c - notaryctl convergence-bundle: print the version-1
 * .notary bundle (shared/spec/convergence.md §7) whose certificate is
 * the one the Convergence listeners serve (convergence.certificate, or
 * the pair the signer made in data_dir/keys).
 *
 *   notaryctl convergence-bundle --host H [--host H2 ...] [--ssl-port 443]
 *       [--http-port 80] [--region R] [--bundle-name N]
 *       [--bundle-location URL]
 *
 * Every --host is one physical host of the notary, all with the same
 * certificate and ports.  The name defaults to the first host, the
 * location to https://<first host>/convergence.notary.
 *
 * Runs in notaryctl only; reads one file, writes stdout.  Fails with exit
 * 2 on a usage error, 1 when the certificate cannot be read or stdout
 * fails.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/conf.h"
#include "ctl/ctl.h"
#include "server/convergence.h"
#include "server/convkeys.h"

#define MAX_HOSTS  16
#define BUNDLE_MAX (256 * 1024)

struct bundle_args {
	const char *hosts[MAX_HOSTS];
	size_t      nhosts;
	int         ssl_port;
	int         http_port;
	const char *region;
	const char *name;
	const char *location;
};

static int
port_arg(const char *s, int *port)
{
	char *end;
	long  v = strtol(s, &end, 10);

	if (*s < '0' || *s > '9' || *end != '\0' || v < 1 || v > 65535)
		return (-1);
	*port = (int)v;
	return (0);
}

/* 0, or -1 after printing the usage error. */
static int
parse_args(int argc, char **argv, struct bundle_args *a)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "ssl-port", required_argument, NULL, 's' },
		{ "http-port", required_argument, NULL, 'p' },
		{ "region", required_argument, NULL, 'r' },
		{ "bundle-name", required_argument, NULL, 'n' },
		{ "bundle-location", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(a, 0, sizeof(*a));
	a->ssl_port = 443;
	a->http_port = 80;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			if (a->nhosts == MAX_HOSTS)
				goto usage;
			a->hosts[a->nhosts++] = optarg;
			break;
		case 's':
		case 'p':
			if (port_arg(optarg,
			        ch == 's' ? &a->ssl_port : &a->http_port) == -1)
				goto usage;
			break;
		case 'r':
			a->region = optarg;
			break;
		case 'n':
			a->name = optarg;
			break;
		case 'l':
			a->location = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || a->nhosts == 0)
		goto usage;
	return (0);
usage:
	fprintf(stderr,
	    "notaryctl: convergence-bundle: expected --host H "
	    "(up to %d), [--ssl-port P] [--http-port P] [--region CC] "
	    "[--bundle-name N] [--bundle-location https://....notary]\n",
	    MAX_HOSTS);
	return (-1);
}

int
cmd_convergence_bundle(struct ctl *ctl, int argc, char **argv)
{
	const struct conf      *cf = ctl->cf;
	struct bundle_args      a;
	struct conv_bundle_host h[MAX_HOSTS];
	struct convkeys_cert    c;
	struct buf              out;
	char                    cert[4096], key[4096], err[512], loc[512];
	size_t                  i;
	int                     r = 1;

	if (parse_args(argc, argv, &a) == -1)
		return (EXIT_USAGE);
	if (a.location == NULL) {
		snprintf(loc, sizeof(loc), "https://%s/convergence.notary",
		    a.hosts[0]);
		a.location = loc;
	}
	if (convkeys_paths(cf, cert, sizeof(cert), key, sizeof(key)) == -1 ||
	    convkeys_load_cert(cert, &c, err, sizeof(err)) == -1) {
		fprintf(stderr, "notaryctl: convergence-bundle: %s%s\n", err,
		    cf->convergence.certificate[0] == '\0'
		        ? " (start notaryd "
		          "with convergence.listen once, or set "
		          "convergence.certificate)"
		        : "");
		return (1);
	}
	for (i = 0; i < a.nhosts; i++) {
		h[i].host = a.hosts[i];
		h[i].ssl_port = a.ssl_port;
		h[i].http_port = a.http_port;
		h[i].cert_pem = c.pem;
	}
	buf_init(&out, BUNDLE_MAX);
	if (conv_bundle(a.name != NULL ? a.name : a.hosts[0], a.location,
	        a.region, h, a.nhosts, &out) == -1) {
		fprintf(stderr,
		    "notaryctl: convergence-bundle: refused: a host "
		    "must be a DNS name or IPv4 address, the region two "
		    "capital letters, the location https://....notary, the "
		    "name non-empty UTF-8\n");
		r = 2;
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0)
		fprintf(stderr,
		    "notaryctl: convergence-bundle: stdout: write "
		    "failed\n");
	else {
		fprintf(stderr, "notaryctl: certificate %s, SHA-1 %s\n", cert,
		    c.fp);
		r = 0;
	}
	buf_free(&out);
	convkeys_cert_free(&c);
	return (r);
}
