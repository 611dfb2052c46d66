/*
 * main.c - notaryd's command line: parse the flags, load the config, then
 * either check it (-t), print the version (-v), or hand over to the master.
 *
 * Exit status: 0 clean stop, 1 runtime failure, 2 bad config or usage
 * (a supervisor must not restart on 2).  With -t: 0 when the config is
 * good, 1 when it is not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/proc.h"
#include "server/master.h"
#include "common/xmalloc.h"

#define MAX_OVERRIDES 64

static void __attribute__((noreturn)) usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: notaryd [-c FILE] [-f] [-t] [-o KEY=VALUE]... [-v] [-h]\n"
	    "  -c FILE       YAML config (default %s if it exists,\n"
	    "                else the built-in defaults)\n"
	    "  -f            stay in the foreground, log to stderr\n"
	    "  -t            check the config and exit 0 (good) or 1 (bad)\n"
	    "  -o KEY=VALUE  override a config key, e.g. "
	    "-o http.workers=4\n"
	    "  -v            print the version and exit\n"
	    "  -h            this help\n",
	    conf_default_path());
	exit(code);
}


int
main(int argc, char *argv[])
{
	static struct conf_override ov[MAX_OVERRIDES];
	struct conf                *cf;
	const char                 *path = NULL;
	char                        err[CONF_ERR_MAX];
	size_t                      nov = 0;
	int                         ch, foreground = 0, test = 0;

	log_init("notaryd");
	while ((ch = getopt(argc, argv, "c:fho:tv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'h':
			usage(0);
		case 'o':
			if (conf_add_override("notaryd", ov, &nov,
			        MAX_OVERRIDES, optarg) == -1)
				return (2);
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			printf("notaryd %s\n", PACKAGE_VERSION);
			return (PROC_EXIT_OK);
		default:
			usage(PROC_EXIT_FATAL);
		}
	}
	if (optind != argc)
		usage(PROC_EXIT_FATAL);
	if (path == NULL && access(conf_default_path(), F_OK) == 0)
		path = conf_default_path();
	if ((cf = conf_load(path, ov, nov, err, sizeof(err))) == NULL) {
		conf_print_errors("notaryd", err);
		/* -t answers "bad" (1); a daemon refuses to start (2). */
		return (test ? PROC_EXIT_FAIL : PROC_EXIT_FATAL);
	}
	if (test) {
		if (master_check_paths(cf, err, sizeof(err)) == -1) {
			fprintf(stderr, "notaryd: %s\n", err);
			conf_free(cf);
			return (PROC_EXIT_FAIL);
		}
		printf("notaryd: configuration ok\n");
		conf_free(cf);
		return (PROC_EXIT_OK);
	}
	return (master_run(cf, ov, nov, foreground));
}
