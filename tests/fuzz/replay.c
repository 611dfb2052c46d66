/*
 * replay.c - the driver that runs a fuzz harness without libFuzzer: every
 * file of the given directories (or of FUZZ_CORPUS, compiled in, when
 * there are none) is read into a buffer of exactly its size and passed to
 * LLVMFuzzerTestOneInput once, in name order.  Output is TAP, one line per
 * file, so "make check" replays each corpus as a regression test with the
 * normal compiler and sanitizer flags.  A harness that crashes or aborts
 * kills the run (the TAP driver then reports the missing lines).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

#define REPLAY_MAX_FILES	10000
#define REPLAY_MAX_SIZE		(4 * 1024 * 1024)

struct file_list {
	char	**v;
	size_t	  n;
};

static int	name_cmp(const void *, const void *);
static int	list_dir(const char *, struct file_list *);
static int	replay_file(const char *, size_t);

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Regular files of dir (full paths), appended to l.  0, or -1. */
static int
list_dir(const char *dir, struct file_list *l)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		 path[4096];

	if ((d = opendir(dir)) == NULL) {
		printf("Bail out! %s: %s\n", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path) || stat(path, &st) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (l->n == REPLAY_MAX_FILES) {
			printf("Bail out! more than %d files\n",
			    REPLAY_MAX_FILES);
			closedir(d);
			return (-1);
		}
		if ((l->v[l->n] = strdup(path)) == NULL) {
			printf("Bail out! out of memory\n");
			closedir(d);
			return (-1);
		}
		l->n++;
	}
	closedir(d);
	return (0);
}

/* Run the harness on one file; 0, or -1 when it cannot be read. */
static int
replay_file(const char *path, size_t num)
{
	FILE		*f;
	uint8_t		*data;
	long		 size;
	size_t		 got;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (size = ftell(f)) < 0 || size > REPLAY_MAX_SIZE ||
	    fseek(f, 0, SEEK_SET) == -1) {
		printf("not ok %zu - %s: cannot read\n", num, path);
		if (f != NULL)
			fclose(f);
		return (-1);
	}
	/* exactly size bytes (at least 1 for malloc), so ASan sees overreads */
	if ((data = malloc(size > 0 ? (size_t)size : 1)) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	got = fread(data, 1, (size_t)size, f);
	fclose(f);
	if (got != (size_t)size) {
		printf("not ok %zu - %s: short read\n", num, path);
		free(data);
		return (-1);
	}
	fflush(stdout);
	(void)LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	printf("ok %zu - %s (%ld bytes)\n", num, path, size);
	return (0);
}

int
main(int argc, char **argv)
{
	struct file_list	 l;
	const char		*def[] = { FUZZ_CORPUS };
	const char *const	*dirs = (const char *const *)argv + 1;
	int			 ndirs = argc - 1, i, bad = 0;
	size_t			 k;

	if (ndirs == 0) {
		dirs = def;
		ndirs = 1;
	}
	l.n = 0;
	if ((l.v = calloc(REPLAY_MAX_FILES, sizeof(*l.v))) == NULL)
		return (1);
	for (i = 0; i < ndirs; i++)
		if (list_dir(dirs[i], &l) == -1)
			return (1);
	qsort(l.v, l.n, sizeof(*l.v), name_cmp);
	if (l.n == 0) {
		printf("Bail out! no corpus file\n");
		return (1);
	}
	printf("1..%zu\n", l.n);
	for (k = 0; k < l.n; k++) {
		if (replay_file(l.v[k], k + 1) == -1)
			bad = 1;
		free(l.v[k]);
	}
	free(l.v);
	return (bad);
}
