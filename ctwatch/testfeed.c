/*
 * testfeed.c - TEST ONLY feed of the stream ring from a file (see
 * testfeed.h).  Runs in the ctwatch process in place of the log
 * watcher when NOTARYD_TEST_FEED is set, every 10 ms reading what was
 * appended to the file (at most TF_LINES lines of at most TF_LINE_MAX
 * bytes per tick) and publishing one record per line.  Fails soft: an
 * unreadable file or a bad line is logged and the feed goes on.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/ring.h"
#include "common/status.h"
#include "common/streamrec.h"
#include "ctwatch/testfeed.h"
#include "common/xmalloc.h"

#define TF_TICK_MS  10
#define TF_LINES    5000
#define TF_LINE_MAX (1024 * 1024)
#define TF_FIELDS   7

struct testfeed {
	struct ring   *ring;
	struct status *status;
	const char    *path;
	long           off; /* bytes of the file consumed */
	char          *line;
	struct buf     rec;
	struct buf     names;
	uint64_t       published;
};

const char *
testfeed_path(void)
{
	const char *p = getenv("NOTARYD_TEST_FEED");

	return (p != NULL && *p != '\0' ? p : NULL);
}

/* Split line at tabs into TF_FIELDS fields.  0, or -1. */
static int
split(char *line, char *f[TF_FIELDS])
{
	int i;

	for (i = 0; i < TF_FIELDS; i++) {
		f[i] = line;
		line = strchr(line, '\t');
		if (line == NULL)
			return (i == TF_FIELDS - 1 ? 0 : -1);
		*line++ = '\0';
	}
	return (-1);
}

/*
 * Count the entry in the CT log area under its log id, as the watcher
 * does for a real log (URL "testfeed://logN"), so /stats and /metrics
 * show per-log numbers in test mode too.
 */
static void
count_log(struct testfeed *tf, uint32_t id, uint32_t flags, uint64_t index)
{
	struct status_ctlog *lg;
	uint32_t             n;

	if (tf->status == NULL || id >= STATUS_MAX_CTLOGS)
		return;
	lg = &tf->status->ctlog[id];
	if (atomic_load(&lg->state) == 0) {
		atomic_fetch_add(&lg->seq, 1); /* odd: writing */
		snprintf(lg->url, sizeof(lg->url), "testfeed://log%u", id);
		snprintf(lg->name, sizeof(lg->name), "Test feed log %u", id);
		snprintf(lg->operator, sizeof(lg->operator), "test");
		atomic_fetch_add(&lg->seq, 1);
		atomic_store(&lg->state, 1);
		n = atomic_load(&tf->status->nctlogs);
		if (n < id + 1)
			atomic_store(&tf->status->nctlogs, id + 1);
	}
	atomic_fetch_add(&lg->published, 1);
	if (flags & STREAMREC_F_PRECERT)
		atomic_fetch_add(&lg->precerts, 1);
	atomic_store(&lg->next_index, index + 1);
	if (atomic_load(&lg->tree_size) < index + 1)
		atomic_store(&lg->tree_size, index + 1);
}

static void
publish_line(struct testfeed *tf, char *line)
{
	struct streamrec_part p[4];
	char                 *f[TF_FIELDS], *full, *lite, *n, *save = NULL;
	uint32_t              flags, id;
	uint64_t              index;

	line[strcspn(line, "\n")] = '\0';
	if (split(line, f) == -1) {
		log_warnx("test feed: a line without %d fields", TF_FIELDS);
		return;
	}
	full = xasprintf("%s\n", f[0]);
	lite = xasprintf("%s\n", f[1]);
	buf_reset(&tf->names);
	for (n = strtok_r(f[3], ",", &save); n != NULL;
	     n = strtok_r(NULL, ",", &save))
		buf_append(&tf->names, n, strlen(n) + 1);
	p[0] = (struct streamrec_part){ STREAMREC_FULL, full, strlen(full) };
	p[1] = (struct streamrec_part){ STREAMREC_LITE, lite, strlen(lite) };
	p[2] = (struct streamrec_part){ STREAMREC_DOMAINS, f[2], strlen(f[2]) };
	p[3] = (struct streamrec_part){ STREAMREC_NAMES, tf->names.data,
		tf->names.len };
	buf_reset(&tf->rec);
	flags = (uint32_t)strtoul(f[4], NULL, 10);
	id = (uint32_t)strtoul(f[5], NULL, 10);
	index = strtoull(f[6], NULL, 10);
	if (streamrec_build(&tf->rec, flags, id, index, p, 4) == -1 ||
	    ring_publish(tf->ring, STREAMREC_TYPE_ENTRY, tf->rec.data,
	        tf->rec.len) == 0) {
		log_warnx("test feed: record too big for the ring");
	} else {
		tf->published++;
		count_log(tf, id, flags, index);
	}
	free(full);
	free(lite);
}

static void
tick(void *arg)
{
	struct testfeed *tf = arg;
	FILE            *fp;
	size_t           len;
	int              n;

	if ((fp = fopen(tf->path, "r")) == NULL)
		return;
	if (fseek(fp, tf->off, SEEK_SET) == -1) {
		fclose(fp);
		return;
	}
	for (n = 0; n < TF_LINES && fgets(tf->line, TF_LINE_MAX, fp) != NULL;
	     n++) {
		len = strlen(tf->line);
		if (len == 0 || tf->line[len - 1] != '\n')
			break; /* not complete yet (or too long) */
		tf->off += (long)len;
		publish_line(tf, tf->line);
	}
	fclose(fp);
}

int
testfeed_run(struct proc_ctx *ctx, int sfd, const char *path)
{
	struct testfeed  tf;
	struct proc_loop loop = { TF_TICK_MS, tick, &tf };
	int              gone;

	log_warnx(
	    "TEST MODE: publishing the stream from %s (NOTARYD_TEST_FEED)",
	    path);
	memset(&tf, 0, sizeof(tf));
	tf.ring = ctx->ring;
	tf.status = ctx->status;
	tf.path = path;
	tf.line = xmalloc(TF_LINE_MAX);
	buf_init(&tf.rec, TF_LINE_MAX + 4096);
	buf_init(&tf.names, TF_LINE_MAX);
	gone = proc_run_loop(ctx, sfd, &loop);
	free(tf.line);
	buf_free(&tf.rec);
	buf_free(&tf.names);
	return (gone);
}
