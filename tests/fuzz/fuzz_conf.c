/*
 * fuzz_conf.c - libFuzzer harness for the YAML config loader
 * (common/conf.h conf_load), which notaryd runs at start and on SIGHUP
 * and notaryctl at every command.  The input is the config file: it is put
 * in an anonymous memory file and loaded by its /proc/self/fd path, so the
 * loader runs exactly as on disk (no string-loading entry needed).  An
 * accepted config is also compared with the defaults as a reload would.
 * Checked: NULL comes with a non-empty message; a config has a path.
 */
#include <sys/mman.h>

#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_CONF_MAX	(64 * 1024)

static struct conf	*defaults;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*cf;
	char		 path[64], err[4096], what[1024];
	int		 fd;

	if (size > FUZZ_CONF_MAX)
		return (0);
	if (defaults == NULL && (defaults = conf_load(NULL, NULL, 0, err,
	    sizeof(err))) == NULL)
		abort();
	if ((fd = memfd_create("fuzz_conf", MFD_CLOEXEC)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = 'x';
	cf = conf_load(path, NULL, 0, err, sizeof(err));
	close(fd);
	if (cf == NULL) {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
		return (0);
	}
	FUZZ_CHECK(conf_restart_keys_differ(defaults, cf, what,
	    sizeof(what)) >= 0);
	conf_free(cf);
	return (0);
}
