/*
 * bench/scan.c - benchmark of the probe engine (scanner/probe.c).
 *
 * Sets up, on loopback only:
 *   - live TLS servers: `listeners` sockets on 127.0.1.x (one address
 *     each, an ephemeral port), served by `workers` forked processes that
 *     run a non-blocking OpenSSL acceptor (ECDSA P-256 certificate made at
 *     start, no tickets, no session cache);
 *   - silent servers: sockets on 127.0.2.x whose process accepts TCP and
 *     never answers;
 *   - refused services: 127.3.x.y:9, where nothing listens.
 * Then, in one run, like with like:
 *   1. the machine's handshake capacity: `procs` forked processes, each a
 *      tight blocking OpenSSL client loop (connect, handshake with the
 *      probe's settings, the three digests of the leaf, close) against the
 *      same live servers for `capacity_s` seconds, before the engine run
 *      and again after it (the capacity is the mean: the machine may be
 *      shared); the client CPU time per handshake is measured too;
 *   2. the probe engine in `procs` forked processes, as `procs` scanner
 *      processes would run it: each takes every procs-th service id of a
 *      shuffled mix, with `concurrency` slots (scanner.concurrency is per
 *      process) and a `timeout_ms` deadline, through a queue in front of
 *      probe_submit.
 * Prints, each against the same number of processes:
 *   - throughput: live probes/s against the capacity (target >= 0.8);
 *   - CPU per handshake: the loops' against the engine's, a figure other
 *     load on the machine barely changes (1.0 = as cheap as a blocking
 *     loop; above 1 = cheaper);
 *   - wall time against the ideal live / capacity + timeout (<= 1.2x).
 * Exits 0 when the throughput and wall-time targets are met, 2 when not,
 * 1 on errors.  Everything is bounded: an alarm ends the run after 10
 * minutes.
 *
 * usage: scan [-n services] [-L live%] [-S silent%] [-t timeout_ms]
 *             [-c concurrency] [-l listeners] [-w workers] [-P procs]
 *             [-d capacity_s]
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/conf.h"
#include "common/log.h"
#include "scanner/probe.h"
#include "common/util.h"
#include "common/xmalloc.h"

struct params {
	int	services;
	int	live_pct;
	int	silent_pct;
	int	timeout_ms;
	int	concurrency;
	int	listeners;
	int	silent_listeners;
	int	workers;
	int	procs;		/* engine processes = client loops */
	int	capacity_s;
};

enum kind { K_LIVE = 0, K_SILENT, K_REFUSED };

struct job {
	char		id[48];
	enum kind	kind;
};

struct lsock {
	int		fd;
	struct sockaddr_in sin;
};

static pid_t	kids[256];
static int	nkids;

static void
usage(void)
{
	fprintf(stderr, "usage: scan [-n services] [-L live%%] [-S silent%%] "
	    "[-t timeout_ms] [-c concurrency] [-l listeners] [-w workers] "
	    "[-C clients] [-d capacity_s]\n");
	exit(1);
}

static void
kill_kids(void)
{
	int	i;

	for (i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	nkids = 0;
}

static void
on_alarm(int sig)
{
	(void)sig;
	/* async-signal-safe enough: kill and _exit */
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	static const char msg[] = "bench/scan: time limit reached\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static pid_t
spawn(void)
{
	pid_t	parent = getpid(), pid;

	if (nkids == (int)NELEM(kids))
		fatalx("too many children");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		signal(SIGPIPE, SIG_IGN);
		alarm(0);
		return (0);
	}
	kids[nkids++] = pid;
	return (pid);
}

static int
listen_at(const char *ip, int backlog, struct lsock *ls)
{
	socklen_t	len = sizeof(ls->sin);
	int		one = 1;

	memset(&ls->sin, 0, sizeof(ls->sin));
	ls->sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &ls->sin.sin_addr) != 1)
		return (-1);
	if ((ls->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	setsockopt(ls->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls->fd, (struct sockaddr *)&ls->sin, sizeof(ls->sin)) == -1 ||
	    listen(ls->fd, backlog) == -1 ||
	    getsockname(ls->fd, (struct sockaddr *)&ls->sin, &len) == -1) {
		close(ls->fd);
		return (-1);
	}
	return (0);
}

/* ---- certificate --------------------------------------------------------- */

static void
make_cert(EVP_PKEY **pkp, X509 **xp)
{
	EVP_PKEY	*pk;
	X509		*x;
	X509_NAME	*name;

	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		fatalx("cannot make a key");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"bench.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		fatalx("cannot sign the certificate");
	*pkp = pk;
	*xp = x;
}

/* ---- TLS server workers -------------------------------------------------- */

struct sconn {
	int	 listener;	/* 1: a listening socket */
	int	 fd;
	SSL	*ssl;
	uint32_t ev;
};

static void
sconn_close(struct sconn *c)
{
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

static void
sconn_step(int ep, struct sconn *c)
{
	struct epoll_event	ev;
	uint32_t		want;
	int			r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		sconn_close(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		want = EPOLLIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		want = EPOLLOUT;
		break;
	default:
		ERR_clear_error();
		sconn_close(c);
		return;
	}
	if (want == c->ev)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(ep, c->ev == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd,
	    &ev) == -1) {
		sconn_close(c);
		return;
	}
	c->ev = want;
}

static void __attribute__((noreturn))
tls_worker(const struct lsock *ls, int n, EVP_PKEY *pk, X509 *x)
{
	struct epoll_event	 ev, evs[256];
	struct sconn		*c, *l;
	SSL_CTX			*ctx;
	int			 ep, i, k, fd;

	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL || SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1)
		_exit(1);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		_exit(1);
	for (i = 0; i < n; i++) {
		l = xcalloc(1, sizeof(*l));
		l->listener = 1;
		l->fd = ls[i].fd;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.ptr = l;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev) == -1)
			_exit(1);
	}
	for (;;) {
		n = epoll_wait(ep, evs, NELEM(evs), -1);
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (!c->listener) {
				sconn_step(ep, c);
				continue;
			}
			for (k = 0; k < 32; k++) {
				fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK |
				    SOCK_CLOEXEC);
				if (fd == -1)
					break;
				l = xcalloc(1, sizeof(*l));
				l->fd = fd;
				if ((l->ssl = SSL_new(ctx)) == NULL ||
				    SSL_set_fd(l->ssl, fd) != 1) {
					sconn_close(l);
					continue;
				}
				SSL_set_accept_state(l->ssl);
				sconn_step(ep, l);
			}
		}
	}
}

/* Accepts and holds connections, never writes. */
static void __attribute__((noreturn))
silent_worker(const struct lsock *ls, int n)
{
	struct pollfd	*pfd = xcalloc((size_t)n, sizeof(*pfd));
	int		 held[8192], nheld = 0, i, fd;

	for (i = 0; i < n; i++) {
		pfd[i].fd = ls[i].fd;
		pfd[i].events = POLLIN;
	}
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if ((pfd[i].revents & POLLIN) == 0)
				continue;
			while ((fd = accept4(pfd[i].fd, NULL, NULL,
			    SOCK_NONBLOCK)) != -1) {
				if (nheld == (int)NELEM(held)) {
					close(held[0]);
					memmove(held, held + 1,
					    sizeof(held) - sizeof(held[0]));
					nheld--;
				}
				held[nheld++] = fd;
			}
		}
	}
}

/* ---- capacity: tight blocking client loops ------------------------------- */

static int
no_verify_cb(X509_STORE_CTX *xs, void *arg)
{
	(void)xs;
	(void)arg;
	return (1);
}

static SSL_CTX *
client_ctx(void)
{
	SSL_CTX	*ctx = SSL_CTX_new(TLS_client_method());

	/* The probe's settings (scanner/probe.c). */
	if (ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
	    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
	    "ECDHE-RSA-CHACHA20-POLY1305") != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:"
	    "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384") != 1 ||
	    SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1 ||
	    SSL_CTX_set1_sigalgs_list(ctx, "ecdsa_secp256r1_sha256:"
	    "rsa_pss_rsae_sha256:rsa_pkcs1_sha256") != 1)
		fatalx("client SSL_CTX");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, no_verify_cb, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return (ctx);
}

static void __attribute__((noreturn))
client_loop(const struct lsock *ls, int n, int seconds, int seed, int out)
{
	SSL_CTX		*ctx = client_ctx();
	SSL		*ssl;
	X509		*x;
	unsigned char	 der[4096], *q, md[EVP_MAX_MD_SIZE];
	uint64_t	 count = 0;
	int64_t		 end = mono_ms() + (int64_t)seconds * 1000;
	int		 fd, i = seed, len;

	while (mono_ms() < end) {
		const struct lsock *l = &ls[i++ % n];

		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			break;
		if (connect(fd, (const struct sockaddr *)&l->sin,
		    sizeof(l->sin)) == 0 && (ssl = SSL_new(ctx)) != NULL) {
			SSL_set_fd(ssl, fd);
			if (SSL_connect(ssl) == 1 &&
			    (x = SSL_get0_peer_certificate(ssl)) != NULL &&
			    (len = i2d_X509(x, NULL)) > 0 &&
			    len <= (int)sizeof(der)) {
				q = der;
				i2d_X509(x, &q);
				EVP_Digest(der, (size_t)len, md, NULL, EVP_md5(),
				    NULL);
				EVP_Digest(der, (size_t)len, md, NULL,
				    EVP_sha1(), NULL);
				EVP_Digest(der, (size_t)len, md, NULL,
				    EVP_sha256(), NULL);
				count++;
			}
			SSL_free(ssl);
		}
		ERR_clear_error();
		close(fd);
	}
	if (write(out, &count, sizeof(count)) < 0)
		_exit(1);
	_exit(0);
}

static double	cpu_s(const struct rusage *);

/* Handshakes per second; *us = client CPU microseconds per handshake. */
static double
measure_capacity(const struct params *pa, const struct lsock *ls, int n,
    int clients, double *us)
{
	struct rusage	ru;
	uint64_t	total = 0, c;
	double		cpu = 0;
	int		p[2], i, base = nkids;
	int64_t		t0;

	if (pipe(p) == -1)
		fatal("pipe");
	t0 = mono_ms();
	for (i = 0; i < clients; i++)
		if (spawn() == 0) {
			close(p[0]);
			client_loop(ls, n, pa->capacity_s, i * 7919, p[1]);
		}
	close(p[1]);
	for (i = 0; i < clients; i++)
		if (read(p[0], &c, sizeof(c)) == (ssize_t)sizeof(c))
			total += c;
	close(p[0]);
	for (i = base; i < nkids; i++)
		if (wait4(kids[i], NULL, 0, &ru) > 0)
			cpu += cpu_s(&ru);
	nkids = base;
	*us = total > 0 ? cpu * 1e6 / (double)total : 0;
	return ((double)total * 1000.0 / (double)(mono_ms() - t0));
}

/* ---- the engine run ------------------------------------------------------ */

/* What one engine process reports back through its pipe. */
struct run {
	uint64_t	by_kind[3][PROBE_NRESULTS];
	uint64_t	done;
	uint64_t	bad_fp;
	int64_t		t_last_live;	/* mono_ms: one clock for all */
	double		cpu;		/* seconds of CPU */
	uint8_t		md5[16];
};

static struct run *bench_run;

static double
cpu_s(const struct rusage *ru)
{
	return ((double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	    (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6);
}

static void
done_cb(void *arg, const char *svc, size_t len, const struct probe_outcome *o)
{
	struct job	*j = arg;
	struct run	*r = bench_run;

	(void)svc;
	(void)len;
	r->by_kind[j->kind][o->result]++;
	r->done++;
	if (j->kind == K_LIVE) {
		r->t_last_live = mono_ms();
		if (o->result == PROBE_OK && memcmp(o->fp.md5, r->md5, 16) != 0)
			r->bad_fp++;
	}
}

/* One scanner process's work: every procs-th job from first. */
static void
engine_process(const struct params *pa, struct job *jobs, int first,
    struct run *run)
{
	struct conf_cidr_list	 deny;
	struct conf_cidr	 loop;
	struct conf_cidr_list	 allow = { 1, &loop };
	struct probe_opts	 po;
	struct probe_engine	*e;
	struct pollfd		 pfd;
	struct rusage		 ru0, ru1;
	char			 err[256];
	int			 next = first, t;

	conf_default_deny(&deny);
	if (conf_parse_cidr("127.0.0.0/8", &loop) != 0)
		fatalx("cidr");
	memset(&po, 0, sizeof(po));
	po.concurrency = pa->concurrency;
	po.timeout_ms = pa->timeout_ms;
	po.sni = 1;
	po.deny = &deny;
	po.allow = &allow;
	if ((e = probe_engine_new(&po)) == NULL)
		fatalx("probe_engine_new");
	bench_run = run;
	getrusage(RUSAGE_SELF, &ru0);
	while (next < pa->services || probe_inflight(e) > 0) {
		while (next < pa->services && probe_submit(e, jobs[next].id,
		    strlen(jobs[next].id), done_cb, &jobs[next], err,
		    sizeof(err)) == 0)
			next += pa->procs;
		if (next < pa->services && errno != EAGAIN)
			fatalx("submit %s: %s", jobs[next].id, err);
		pfd.fd = probe_engine_fd(e);
		pfd.events = POLLIN;
		t = probe_engine_timeout(e);
		(void)poll(&pfd, 1, t < 0 || t > 1000 ? 1000 : t);
		probe_engine_process(e);
	}
	getrusage(RUSAGE_SELF, &ru1);
	run->cpu = cpu_s(&ru1) - cpu_s(&ru0);
	probe_engine_free(e);
	free(deny.v);
}

/* Fork pa->procs engine processes and add up what they report. */
static void
run_engines(const struct params *pa, struct job *jobs, struct run *total)
{
	struct run	one;
	int		p[2], i, k, base = nkids;

	if (pipe(p) == -1)
		fatal("pipe");
	for (i = 0; i < pa->procs; i++)
		if (spawn() == 0) {
			close(p[0]);
			memset(&one, 0, sizeof(one));
			memcpy(one.md5, total->md5, sizeof(one.md5));
			engine_process(pa, jobs, i, &one);
			if (write(p[1], &one, sizeof(one)) != sizeof(one))
				_exit(1);
			_exit(0);
		}
	close(p[1]);
	for (i = 0; i < pa->procs; i++) {
		if (read(p[0], &one, sizeof(one)) != (ssize_t)sizeof(one))
			fatalx("an engine process died");
		for (k = 0; k < 3 * PROBE_NRESULTS; k++)
			total->by_kind[k / PROBE_NRESULTS][k % PROBE_NRESULTS] +=
			    one.by_kind[k / PROBE_NRESULTS][k % PROBE_NRESULTS];
		total->done += one.done;
		total->bad_fp += one.bad_fp;
		total->cpu += one.cpu;
		if (one.t_last_live > total->t_last_live)
			total->t_last_live = one.t_last_live;
	}
	close(p[0]);
	for (i = base; i < nkids; i++)
		waitpid(kids[i], NULL, 0);
	nkids = base;
}

/* ---- set-up ------------------------------------------------------------- */

static void
parse_args(int argc, char **argv, struct params *pa)
{
	int	ch, n;

	while ((ch = getopt(argc, argv, "n:L:S:t:c:l:w:P:d:")) != -1) {
		switch (ch) {
		case 'n': pa->services = atoi(optarg); break;
		case 'L': pa->live_pct = atoi(optarg); break;
		case 'S': pa->silent_pct = atoi(optarg); break;
		case 't': pa->timeout_ms = atoi(optarg); break;
		case 'c': pa->concurrency = atoi(optarg); break;
		case 'l': pa->listeners = atoi(optarg); break;
		case 'w': pa->workers = atoi(optarg); break;
		case 'P': pa->procs = atoi(optarg); break;
		case 'd': pa->capacity_s = atoi(optarg); break;
		default: usage();
		}
	}
	if ((n = (int)sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	if (pa->workers <= 0)
		pa->workers = n;
	if (pa->procs <= 0)
		pa->procs = n;
	if (pa->services < 1 || pa->live_pct < 0 || pa->silent_pct < 0 ||
	    pa->live_pct + pa->silent_pct > 100 || pa->timeout_ms < 1 ||
	    pa->concurrency < 1 || pa->listeners < 1 || pa->listeners > 4000 ||
	    pa->workers > 64 || pa->procs > 64 || pa->capacity_s < 1)
		usage();
}

/* Live TLS servers and silent ones, each served by forked workers. */
static void
start_servers(const struct params *pa, struct lsock *live,
    struct lsock *silent, EVP_PKEY *pk, X509 *x)
{
	char	ip[32];
	int	i;

	for (i = 0; i < pa->listeners; i++) {
		snprintf(ip, sizeof(ip), "127.0.%d.%d", 1 + i / 250,
		    1 + i % 250);
		if (listen_at(ip, 4096, &live[i]) == -1)
			fatal("listen on %s", ip);
	}
	for (i = 0; i < pa->silent_listeners; i++) {
		snprintf(ip, sizeof(ip), "127.0.100.%d", 1 + i);
		if (listen_at(ip, 4096, &silent[i]) == -1)
			fatal("listen on %s", ip);
	}
	for (i = 0; i < pa->workers; i++)
		if (spawn() == 0)
			tls_worker(live, pa->listeners, pk, x);
	if (spawn() == 0)
		silent_worker(silent, pa->silent_listeners);
	for (i = 0; i < pa->listeners; i++)
		close(live[i].fd);
	for (i = 0; i < pa->silent_listeners; i++)
		close(silent[i].fd);
}

static void
job_id(struct job *j, const struct sockaddr_in *sin, int i)
{
	char	ip[32];

	if (sin != NULL) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(j->id, sizeof(j->id), "%s:%u,2", ip,
		    ntohs(sin->sin_port));
	} else
		snprintf(j->id, sizeof(j->id), "127.3.%d.%d:9,2",
		    (i / 250) % 250, 1 + i % 250);
}

/* The mix of live, silent and refused services, shuffled. */
static struct job *
make_jobs(const struct params *pa, const struct lsock *live,
    const struct lsock *silent, int nlive, int nsilent)
{
	struct job	*jobs = xcalloc((size_t)pa->services, sizeof(*jobs));
	struct job	 tmp;
	uint32_t	 rnd = 12345;
	int		 i, k;

	for (i = 0; i < pa->services; i++) {
		if (i < nlive) {
			jobs[i].kind = K_LIVE;
			job_id(&jobs[i], &live[i % pa->listeners].sin, i);
		} else if (i < nlive + nsilent) {
			jobs[i].kind = K_SILENT;
			job_id(&jobs[i], &silent[i % pa->silent_listeners].sin,
			    i);
		} else {
			jobs[i].kind = K_REFUSED;
			job_id(&jobs[i], NULL, i);
		}
	}
	for (i = pa->services - 1; i > 0; i--) {
		rnd = rnd * 1103515245u + 12345u;
		k = (int)((rnd >> 8) % (uint32_t)(i + 1));
		tmp = jobs[i];
		jobs[i] = jobs[k];
		jobs[k] = tmp;
	}
	return (jobs);
}

/* ---- the report --------------------------------------------------------- */

struct figures {
	int	nlive, nsilent, nrefused;
	double	cap_before, cap_after, us_before, us_after;
	int64_t	t0, t_end;
};

static int
report(const struct params *pa, const struct run *run,
    const struct figures *f)
{
	double	cap = (f->cap_before + f->cap_after) / 2;
	double	us = (f->us_before + f->us_after) / 2;
	double	wall = (double)(f->t_end - f->t0) / 1000.0;
	double	live_s = (double)(run->t_last_live - f->t0) / 1000.0;
	double	ok = (double)run->by_kind[K_LIVE][PROBE_OK];
	double	rate = ok / (live_s > 0 ? live_s : 1e-3);
	double	eus = run->cpu * 1e6 / (ok > 0 ? ok : 1);
	double	ideal = f->nlive / cap + pa->timeout_ms / 1000.0;

	printf("live: %.0f ok of %d (%llu wrong fingerprints); silent: %llu "
	    "timeout of %d; refused: %llu refused of %d\n", ok, f->nlive,
	    (unsigned long long)run->bad_fp,
	    (unsigned long long)run->by_kind[K_SILENT][PROBE_TIMEOUT],
	    f->nsilent,
	    (unsigned long long)run->by_kind[K_REFUSED][PROBE_REFUSED],
	    f->nrefused);
	printf("capacity with %d blocking client loops: %.0f handshakes/s "
	    "before, %.0f after, %.0f used (mean)\n", pa->procs,
	    f->cap_before, f->cap_after, cap);
	printf("throughput: %.0f live probes/s in %d engine processes "
	    "(last live result after %.2f s): ratio %.2f to capacity "
	    "(target >= 0.80)\n", rate, pa->procs, live_s, rate / cap);
	printf("CPU per handshake: %.0f us in the engine (all probes "
	    "included), %.0f us in the client loops: ratio %.2f (loops / "
	    "engine; above 1 = the engine is cheaper)\n", eus, us, us / eus);
	printf("wall time: %.2f s, ideal live/capacity + timeout = %.2f s, "
	    "%.2fx (target <= 1.20x)\n", wall, ideal, wall / ideal);
	if (ok != f->nlive || run->bad_fp)
		return (1);
	return (rate / cap >= 0.8 && wall / ideal <= 1.2 ? 0 : 2);
}

int
main(int argc, char **argv)
{
	struct params	 pa = { 20000, 80, 10, 2000, 256, 1024, 16, 0, 0, 3 };
	struct lsock	*live, *silent;
	struct job	*jobs;
	struct run	 run;
	struct figures	 f;
	EVP_PKEY	*pk;
	X509		*x;
	unsigned char	*der = NULL;
	int		 derlen, r;

	log_init("bench-scan");
	parse_args(argc, argv, &pa);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(600);
	make_cert(&pk, &x);
	if ((derlen = i2d_X509(x, &der)) <= 0)
		fatalx("i2d_X509");
	memset(&run, 0, sizeof(run));
	memset(&f, 0, sizeof(f));
	EVP_Digest(der, (size_t)derlen, run.md5, NULL, EVP_md5(), NULL);
	OPENSSL_free(der);
	live = xcalloc((size_t)pa.listeners, sizeof(*live));
	silent = xcalloc((size_t)pa.silent_listeners, sizeof(*silent));
	start_servers(&pa, live, silent, pk, x);
	f.nlive = (int)((int64_t)pa.services * pa.live_pct / 100);
	f.nsilent = (int)((int64_t)pa.services * pa.silent_pct / 100);
	f.nrefused = pa.services - f.nlive - f.nsilent;
	jobs = make_jobs(&pa, live, silent, f.nlive, f.nsilent);
	usleep(300000);		/* let the server workers start */
	printf("bench/scan: %d services (%d live on %d listeners, %d silent, "
	    "%d refused), timeout %d ms, concurrency %d per process, %d "
	    "engine processes = %d client loops, %d server workers, %ld "
	    "CPUs\n", pa.services, f.nlive, pa.listeners, f.nsilent,
	    f.nrefused, pa.timeout_ms, pa.concurrency, pa.procs, pa.procs,
	    pa.workers, sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
	f.cap_before = measure_capacity(&pa, live, pa.listeners, pa.procs,
	    &f.us_before);
	f.t0 = mono_ms();
	run.t_last_live = f.t0;
	run_engines(&pa, jobs, &run);
	f.t_end = mono_ms();
	f.cap_after = measure_capacity(&pa, live, pa.listeners, pa.procs,
	    &f.us_after);
	kill_kids();
	r = report(&pa, &run, &f);
	free(jobs);
	free(live);
	free(silent);
	EVP_PKEY_free(pk);
	X509_free(x);
	return (r);
}
