/*
 * bench/nats.c - the NATS publisher (nats/natspub.c) against a minimal
 * libnats publisher, to the same nats-server in the same run.
 *
 * Starts nats-server (JetStream on a temporary directory, a free loopback
 * port) unless -u names one.  Each entry is three messages of the sizes
 * of typical certstream full, lite and domains messages.
 *   base     one loop of js_PublishAsync (same window, same message ids)
 *            then js_PublishAsyncComplete: the least a publisher can do.
 *   natspub  a forked writer puts the entries into a stream ring as
 *            ctwatch does (streamrec_build + ring_publish, never lapping
 *            the reader), and this process runs the natspub loop as the
 *            role does (step; 5 ms idle wait) until every message is
 *            acked.  Only this process's CPU is counted (getrusage SELF:
 *            its libnats threads included, the writer not).
 * base runs first, then natspub (whose close shuts libnats down).
 * Prints entries/s of each, CPU per
 * entry, and natspub's extra CPU per 1,000 entries/s in % of one core.
 * Not a test: exit 0 unless something failed (1).
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/ring.h"
#include "common/status.h"
#include "common/streamrec.h"
#include "common/util.h"
#include "nats/natspub.h"

static const size_t sizes[3] = { 5000, 1800, 200 };	/* full lite domains */
static const char *const shapes[3] = { "full", "lite", "domains" };

struct run {
	double	wall_s;
	double	cpu_s;
};

static double
cpu_now(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

static int
start_server(char *url, size_t len, char *dir, pid_t *pid)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	char			port[16], sd[300];
	int			fd, i;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		return (-1);
	close(fd);
	snprintf(port, sizeof(port), "%d", ntohs(sin.sin_port));
	snprintf(url, len, "nats://127.0.0.1:%s", port);
	snprintf(sd, sizeof(sd), "%s/js", dir);
	if ((*pid = fork()) == 0) {
		(void)freopen("/dev/null", "w", stderr);
		(void)freopen("/dev/null", "w", stdout);
		execl(NATS_SERVER, "nats-server", "-a", "127.0.0.1", "-p", port,
		    "-js", "-sd", sd, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			return (0);
		}
		close(fd);
		usleep(20000);
	}
	return (-1);
}

/* The minimal publisher: one async loop, same window and ids. */
static int
run_base(const char *url, uint64_t n, const char *stream, struct run *r)
{
	natsConnection	*nc = NULL;
	jsCtx		*js = NULL;
	jsOptions	 jo;
	jsPubOptions	 po;
	jsStreamConfig	 sc;
	jsErrCode	 jerr = 0;
	char		 subj[64], id[64], *data, subjects[64];
	const char	*sp[1] = { subjects };
	uint64_t	 i, k;
	double		 t0, c0;
	natsStatus	 s;
	int		 rc = -1;

	data = malloc(sizes[0]);
	memset(data, 'x', sizes[0]);
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = 1024;
	snprintf(subjects, sizeof(subjects), "%s.>", stream);
	jsStreamConfig_Init(&sc);
	sc.Name = stream;
	sc.Subjects = sp;
	sc.SubjectsLen = 1;
	sc.Duplicates = INT64_C(30) * 1000000000;
	if ((s = natsConnection_ConnectTo(&nc, url)) != NATS_OK ||
	    (s = natsConnection_JetStream(&js, nc, &jo)) != NATS_OK ||
	    (s = js_AddStream(NULL, js, &sc, NULL, &jerr)) != NATS_OK)
		goto out;
	t0 = (double)mono_ns() / 1e9;
	c0 = cpu_now();
	for (i = 0; i < n; i++) {
		for (k = 0; k < 3; k++) {
			snprintf(subj, sizeof(subj), "%s.%s", stream,
			    shapes[k]);
			snprintf(id, sizeof(id), "1:%" PRIu64 ":%s", i,
			    shapes[k]);
			jsPubOptions_Init(&po);
			po.MsgId = id;
			po.MaxWait = 5000;
			s = js_PublishAsync(js, subj, data, (int)sizes[k],
			    &po);
			if (s == NATS_TIMEOUT) {	/* window full: wait */
				k--;
				continue;
			}
			if (s != NATS_OK)
				goto out;
		}
	}
	jsPubOptions_Init(&po);
	po.MaxWait = 60000;
	if ((s = js_PublishAsyncComplete(js, &po)) != NATS_OK)
		goto out;
	r->wall_s = (double)mono_ns() / 1e9 - t0;
	r->cpu_s = cpu_now() - c0;
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "bench/nats: base %s: %s (%d)\n", stream,
		    natsStatus_GetText(s), (int)jerr);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	free(data);
	return (rc);
}

/*
 * The writer: ctwatch's part, never more than 4096 entries ahead of the
 * acks.  Forked
 * before any libnats thread exists (a fork of a threaded process may
 * inherit a held malloc lock); starts when a byte arrives on go.
 */
static void
writer(struct ring *ring, struct status *st, uint64_t n, int go)
{
	struct streamrec_part	 parts[3];
	struct buf		 b;
	char			*data = malloc(sizes[0]);
	uint64_t		 i;
	size_t			 k;

	memset(data, 'x', sizes[0]);
	for (k = 0; k < 3; k++) {
		parts[k].kind = (uint32_t)(k + 1);	/* FULL LITE DOMAINS */
		parts[k].data = data;
		parts[k].len = sizes[k];
	}
	buf_init(&b, 64 * 1024);
	if (read(go, &k, 1) != 1)
		_exit(1);
	for (i = 0; i < n; i++) {
		/* Ahead of the acks by at most 4096 entries: a writer that
		   outruns the publisher fills nats.buffer and the rest is
		   dropped (by design), which would measure nothing. */
		while (3 * i - atomic_load(&st->nats.acked) > 3 * 4096)
			usleep(200);
		buf_reset(&b);
		if (streamrec_build(&b, 0, 1, i, parts, 3) != 0 ||
		    ring_publish(ring, STREAMREC_TYPE_ENTRY, b.data, b.len) == 0)
			_exit(1);
	}
	_exit(0);
}

static int
run_natspub(const char *url, uint64_t n, struct ring *ring,
    struct status *st, pid_t pid, int go, struct run *r)
{
	struct conf_override	 ov[4];
	struct conf		*cf;
	struct natspub		*np;
	char			 u[128], err[CONF_ERR_MAX];
	double			 t0, c0;
	int			 status;

	snprintf(u, sizeof(u), "[\"%s\"]", url);
	ov[0].key = "nats.url";
	ov[0].value = u;
	ov[1].key = "nats.stream";
	ov[1].value = "NP";
	ov[2].key = "nats.subject_prefix";
	ov[2].value = "np";
	if ((cf = conf_load(NULL, ov, 3, err, sizeof(err))) == NULL ||
	    (np = natspub_open(cf, ring, st)) == NULL)
		return (-1);
	while (atomic_load(&st->nats.state) != STATUS_NATS_CONNECTED)
		if (natspub_step(np) == 0)
			usleep(5000);
	t0 = (double)mono_ns() / 1e9;
	c0 = cpu_now();
	if (write(go, "g", 1) != 1)
		return (-1);
	while (atomic_load(&st->nats.acked) + atomic_load(&st->nats.failed) +
	    atomic_load(&st->nats.dropped) < 3 * n &&
	    atomic_load(&st->nats.ring_skipped) == 0 &&
	    (double)mono_ns() / 1e9 - t0 < 300)
		if (natspub_step(np) == 0)
			usleep(5000);	/* the role's idle poll */
	r->wall_s = (double)mono_ns() / 1e9 - t0;
	r->cpu_s = cpu_now() - c0;
	waitpid(pid, &status, 0);
	natspub_close(np, 1000);
	if (atomic_load(&st->nats.acked) != 3 * n) {
		fprintf(stderr, "bench/nats: acked %" PRIu64 " of %" PRIu64
		    "\n", (uint64_t)atomic_load(&st->nats.acked), 3 * n);
		return (-1);
	}
	conf_free(cf);
	return (0);
}

static void
show(const char *name, const struct run *r, uint64_t n)
{
	printf("%-8s %8.0f entries/s  %6.1f us CPU/entry  (%.2f s, CPU %.2f s)"
	    "\n", name, n / r->wall_s, r->cpu_s * 1e6 / n, r->wall_s, r->cpu_s);
}

int
main(int argc, char **argv)
{
	struct run	 b1, np;
	char		 url[128] = "", dir[] = "/tmp/bench-nats.XXXXXX";
	uint64_t	 n = 50000;
	double		 base_cpu, extra;
	struct ring	*ring;
	struct status	*st;
	pid_t		 srv = -1, wpid;
	int		 c, rc = 1, go[2];

	while ((c = getopt(argc, argv, "n:u:")) != -1) {
		if (c == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (c == 'u')
			snprintf(url, sizeof(url), "%s", optarg);
		else {
			fprintf(stderr, "usage: bench/nats [-n entries] "
			    "[-u nats://host:port]\n");
			return (2);
		}
	}
	log_init("bench-nats");
	ring = ring_create(64 * 1024 * 1024);
	st = status_create();
	if (ring == NULL || st == NULL || pipe(go) == -1)
		return (1);
	if ((wpid = fork()) == 0) {
		close(go[1]);
		writer(ring, st, n, go[0]);
	}
	close(go[0]);
	if (url[0] == '\0' && (mkdtemp(dir) == NULL ||
	    start_server(url, sizeof(url), dir, &srv) == -1)) {
		fprintf(stderr, "bench/nats: cannot start %s\n", NATS_SERVER);
		return (1);
	}
	printf("bench/nats: %" PRIu64 " entries x 3 messages (%zu, %zu, %zu "
	    "bytes) to %s\n", n, sizes[0], sizes[1], sizes[2], url);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (run_base(url, n, "B1", &b1) == -1 ||
	    run_natspub(url, n, ring, st, wpid, go[1], &np) == -1) {
		fprintf(stderr, "bench/nats: a run failed\n");
		goto out;
	}
	show("base", &b1, n);
	show("natspub", &np, n);
	base_cpu = b1.cpu_s / n;
	extra = (np.cpu_s / n - base_cpu) * 1000 * 100;
	printf("natspub/base entries/s %.2f; extra CPU per 1,000 entries/s: "
	    "%.2f%% of a core (natspub %.2f%%, base %.2f%%)\n",
	    b1.wall_s / np.wall_s, extra,
	    np.cpu_s / n * 1000 * 100, base_cpu * 1000 * 100);
	rc = 0;
out:
	close(go[1]);		/* a writer still waiting ends */
	if (srv > 0) {
		kill(srv, SIGTERM);
		waitpid(srv, NULL, 0);
		(void)snprintf(url, sizeof(url), "rm -rf %s", dir);
		(void)system(url);
	}
	return (rc);
}
