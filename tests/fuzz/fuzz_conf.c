/*
 * fuzz_conf.c - libFuzzer harness for the YAML config loader
 * (common/conf.h conf_load), which notaryd runs at start and on SIGHUP
 * and notaryctl at every command.  The input is the config file: it is put
 * in an anonymous memory file and loaded by its /proc/self/fd path, so the
 * loader runs exactly as on disk (no string-loading entry needed).  An
 * accepted config is also compared with the defaults as a reload would.
 * Checked: NULL comes with a non-empty message; a config has a path.
 *
 * Speed (it ran 386 inputs/s): every conf_load parses the ~120 key
 * defaults, each with a fresh libyaml parser (16 KB + 48 KB buffers),
 * before the file: about 2,800 allocations and 8 MB per load, so under
 * ASan half the time went to the allocator, recording an allocation
 * stack per malloc and faulting in fresh pages past the 256 MB
 * quarantine.  That cost is the loader's, not the harness's; the harness
 * makes it cheaper to watch: a 16 MB quarantine (still catches a use
 * after free within one load) and 3-frame allocation stacks (re-run an
 * artifact with ASAN_OPTIONS=malloc_context_size=30 for full ones), about
 * 2x; the memory file is kept across runs (truncated and rewritten).
 */
#include <sys/mman.h>

#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_CONF_MAX	(64 * 1024)

static struct conf	*defaults;
static int		 memfd = -1;

const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return ("quarantine_size_mb=16:malloc_context_size=3");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*cf;
	char		 path[64], err[4096], what[1024];

	if (size > FUZZ_CONF_MAX)
		return (0);
	if (defaults == NULL && (defaults = conf_load(NULL, NULL, 0, err,
	    sizeof(err))) == NULL)
		abort();
	if (memfd == -1 &&
	    (memfd = memfd_create("fuzz_conf", MFD_CLOEXEC)) == -1)
		abort();
	if (ftruncate(memfd, 0) == -1 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	err[0] = 'x';
	cf = conf_load(path, NULL, 0, err, sizeof(err));
	if (cf == NULL) {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
		return (0);
	}
	FUZZ_CHECK(conf_restart_keys_differ(defaults, cf, what,
	    sizeof(what)) >= 0);
	conf_free(cf);
	return (0);
}
