/*
 * testfeed.h - TEST ONLY: a stand-in for the CT logs, so the stream can be
 * tested end to end before (and independently of) the log watcher.
 *
 * Off unless the environment variable NOTARYD_TEST_FEED names a file;
 * nothing in the daemon, its config or its init files sets it.  When it
 * is set, the ctwatch process (still the ring's only writer) follows that
 * file instead of any CT log: every complete line appended to it becomes
 * one ring record, published as the watcher would.  Line format, tab
 * separated:
 *     FULL-JSON  LITE-JSON  DOMAINS-JSON  NAMES  FLAGS  LOG-ID  INDEX
 * NAMES is a comma-separated list of lowercase DNS names; full and lite
 * get the trailing newline certstream-server-go sends.  Malformed lines
 * are logged and skipped.
 */
#ifndef NOTARYD_TESTFEED_H
#define NOTARYD_TESTFEED_H

struct proc_ctx;

/* The feed file, or NULL when the test hook is off. */
const char *testfeed_path(void);
/* Follow the file until stopped; the proc_run_loop result (1: master gone). */
int         testfeed_run(struct proc_ctx *ctx, int sfd, const char *path);

#endif
