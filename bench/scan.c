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
 * Then, in one run:
 *   1. the machine's handshake capacity: `clients` forked processes, each
 *      a tight blocking OpenSSL client loop (connect, handshake with the
 *      probe's settings, digest of the leaf, close) against the same live
 *      servers for `capacity_s` seconds (with one loop and with `clients`
 *      loops before the engine run, again after it: the capacity is the
 *      mean of the better "before" figure and the "after" one, as the
 *      machine may be shared; the client CPU time per handshake is printed
 *      too, a figure that other load barely changes);
 *   2. the probe engine in this process (one scanner process) on
 *      `services` service ids in a shuffled mix, with `concurrency` slots
 *      and a `timeout_ms` deadline, through a queue in front of
 *      probe_submit, as a scanner drives it.
 * Prints the live probes/s, the capacity, their ratio (target >= 0.8), and
 * the wall time against the ideal live / capacity + timeout (target
 * <= 1.2x).  Exits 0 when both targets are met, 2 when not, 1 on errors.
 * Everything is bounded: an alarm ends the run after 10 minutes.
 *
 * usage: scan [-n services] [-L live%] [-S silent%] [-t timeout_ms]
 *             [-c concurrency] [-l listeners] [-w workers] [-C clients]
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
	int	clients;
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

struct run {
	uint64_t	by_kind[3][PROBE_NRESULTS];
	uint64_t	done;
	uint64_t	live_done;
	uint64_t	bad_fp;
	int64_t		t_last_live;
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
	struct run	*r;

	(void)svc;
	(void)len;
	r = bench_run;
	r->by_kind[j->kind][o->result]++;
	r->done++;
	if (j->kind == K_LIVE) {
		r->live_done++;
		r->t_last_live = mono_ms();
		if (o->result == PROBE_OK && memcmp(o->fp.md5, r->md5, 16) != 0)
			r->bad_fp++;
	}
}

int
main(int argc, char **argv)
{
	struct params		 pa = { 20000, 80, 10, 2000, 256, 1024, 16,
				    0, 0, 3 };
	struct lsock		*live, *silent;
	struct job		*jobs, tmp;
	struct run		 run;
	struct probe_opts	 po;
	struct probe_engine	*e;
	struct probe_stats	 st;
	struct conf_cidr_list	 deny;
	struct conf_cidr	 loop;
	struct conf_cidr_list	 allow = { 1, &loop };
	struct pollfd		 pfd;
	EVP_PKEY		*pk;
	X509			*x;
	unsigned char		*der = NULL;
	char			 ip[32], err[256];
	struct rusage		 ru0, ru1;
	double			 cap, cap1, cap2, rate, us, us1, us2, eus, ideal, wall, ratio, slowdown;
	int64_t			 t0, t_end;
	uint32_t		 rnd = 12345;
	int			 ch, i, n, nlive, nsilent, next, t, derlen, k;
	int			 nlisten, nsl;

	log_init("bench-scan");
	while ((ch = getopt(argc, argv, "n:L:S:t:c:l:w:C:d:")) != -1) {
		switch (ch) {
		case 'n': pa.services = atoi(optarg); break;
		case 'L': pa.live_pct = atoi(optarg); break;
		case 'S': pa.silent_pct = atoi(optarg); break;
		case 't': pa.timeout_ms = atoi(optarg); break;
		case 'c': pa.concurrency = atoi(optarg); break;
		case 'l': pa.listeners = atoi(optarg); break;
		case 'w': pa.workers = atoi(optarg); break;
		case 'C': pa.clients = atoi(optarg); break;
		case 'd': pa.capacity_s = atoi(optarg); break;
		default: usage();
		}
	}
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (pa.workers <= 0)
		pa.workers = n;
	if (pa.clients <= 0)
		pa.clients = 2 * n;
	if (pa.services < 1 || pa.live_pct < 0 || pa.silent_pct < 0 ||
	    pa.live_pct + pa.silent_pct > 100 || pa.timeout_ms < 1 ||
	    pa.concurrency < 1 || pa.listeners < 1 || pa.listeners > 4000 ||
	    pa.workers > 64 || pa.clients > 64 || pa.capacity_s < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(600);

	/* Servers. */
	make_cert(&pk, &x);
	if ((derlen = i2d_X509(x, &der)) <= 0)
		fatalx("i2d_X509");
	memset(&run, 0, sizeof(run));
	EVP_Digest(der, (size_t)derlen, run.md5, NULL, EVP_md5(), NULL);
	OPENSSL_free(der);
	nlisten = pa.listeners;
	nsl = pa.silent_listeners;
	live = xcalloc((size_t)nlisten, sizeof(*live));
	silent = xcalloc((size_t)nsl, sizeof(*silent));
	for (i = 0; i < nlisten; i++) {
		snprintf(ip, sizeof(ip), "127.0.%d.%d", 1 + i / 250,
		    1 + i % 250);
		if (listen_at(ip, 4096, &live[i]) == -1)
			fatal("listen on %s", ip);
	}
	for (i = 0; i < nsl; i++) {
		snprintf(ip, sizeof(ip), "127.0.100.%d", 1 + i);
		if (listen_at(ip, 4096, &silent[i]) == -1)
			fatal("listen on %s", ip);
	}
	for (i = 0; i < pa.workers; i++)
		if (spawn() == 0)
			tls_worker(live, nlisten, pk, x);
	if (spawn() == 0)
		silent_worker(silent, nsl);
	for (i = 0; i < nlisten; i++)
		close(live[i].fd);
	for (i = 0; i < nsl; i++)
		close(silent[i].fd);

	/* Jobs, shuffled. */
	nlive = (int)((int64_t)pa.services * pa.live_pct / 100);
	nsilent = (int)((int64_t)pa.services * pa.silent_pct / 100);
	jobs = xcalloc((size_t)pa.services, sizeof(*jobs));
	for (i = 0; i < pa.services; i++) {
		struct sockaddr_in *sin;

		if (i < nlive) {
			sin = &live[i % nlisten].sin;
			jobs[i].kind = K_LIVE;
		} else if (i < nlive + nsilent) {
			sin = &silent[i % nsl].sin;
			jobs[i].kind = K_SILENT;
		} else
			sin = NULL;
		if (sin != NULL) {
			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			snprintf(jobs[i].id, sizeof(jobs[i].id), "%s:%u,2",
			    ip, ntohs(sin->sin_port));
		} else {
			jobs[i].kind = K_REFUSED;
			snprintf(jobs[i].id, sizeof(jobs[i].id),
			    "127.3.%d.%d:9,2", (i / 250) % 250, 1 + i % 250);
		}
	}
	for (i = pa.services - 1; i > 0; i--) {
		rnd = rnd * 1103515245u + 12345u;
		k = (int)((rnd >> 8) % (uint32_t)(i + 1));
		tmp = jobs[i];
		jobs[i] = jobs[k];
		jobs[k] = tmp;
	}

	/* Let the workers start, then measure the capacity. */
	usleep(300000);
	printf("bench/scan: %d services (%d live on %d listeners, %d silent "
	    "on %d, %d refused), timeout %d ms, concurrency %d, %d server "
	    "workers, %ld CPUs\n", pa.services, nlive, nlisten, nsilent, nsl,
	    pa.services - nlive - nsilent, pa.timeout_ms, pa.concurrency,
	    pa.workers, sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
	cap1 = measure_capacity(&pa, live, nlisten, 1, &us1);
	cap = measure_capacity(&pa, live, nlisten, pa.clients, &us);
	printf("capacity before: %.0f handshakes/s with %d blocking client "
	    "loops (client CPU %.0f us each), %.0f/s with one (%.0f us)\n",
	    cap, pa.clients, us, cap1, us1);
	if (cap1 > cap)
		cap = cap1;
	fflush(stdout);

	/* The engine, as one scanner process. */
	conf_default_deny(&deny);
	if (conf_parse_cidr("127.0.0.0/8", &loop) != 0)
		fatalx("cidr");
	memset(&po, 0, sizeof(po));
	po.concurrency = pa.concurrency;
	po.timeout_ms = pa.timeout_ms;
	po.sni = 1;
	po.deny = &deny;
	po.allow = &allow;
	if ((e = probe_engine_new(&po)) == NULL)
		fatalx("probe_engine_new");
	bench_run = &run;
	getrusage(RUSAGE_SELF, &ru0);
	next = 0;
	t0 = mono_ms();
	run.t_last_live = t0;
	while (run.done < (uint64_t)pa.services) {
		while (next < pa.services && probe_submit(e, jobs[next].id,
		    strlen(jobs[next].id), done_cb, &jobs[next], err,
		    sizeof(err)) == 0)
			next++;
		if (next < pa.services && errno != EAGAIN)
			fatalx("submit %s: %s", jobs[next].id, err);
		pfd.fd = probe_engine_fd(e);
		pfd.events = POLLIN;
		t = probe_engine_timeout(e);
		(void)poll(&pfd, 1, t < 0 || t > 1000 ? 1000 : t);
		probe_engine_process(e);
	}
	t_end = mono_ms();
	getrusage(RUSAGE_SELF, &ru1);
	probe_engine_stats(e, &st);
	probe_engine_free(e);

	/* Capacity again (the machine may be shared): the best counts. */
	cap2 = measure_capacity(&pa, live, nlisten, pa.clients, &us2);
	/* The mean of before and after: the machine may be shared. */
	cap = (cap + cap2) / 2;
	printf("capacity after: %.0f handshakes/s with %d blocking client "
	    "loops (client CPU %.0f us each); used: %.0f/s (mean)\n", cap2,
	    pa.clients, us2, cap);
	kill_kids();

	wall = (double)(t_end - t0) / 1000.0;
	rate = (double)run.by_kind[K_LIVE][PROBE_OK] * 1000.0 /
	    (double)(run.t_last_live - t0 > 0 ? run.t_last_live - t0 : 1);
	ratio = rate / cap;
	ideal = (double)nlive / cap + pa.timeout_ms / 1000.0;
	slowdown = wall / ideal;
	printf("results:");
	for (i = 0; i < PROBE_NRESULTS; i++)
		if (st.results[i] > 0)
			printf(" %s %llu", probe_result_name(i),
			    (unsigned long long)st.results[i]);
	printf("\n");
	printf("live: %llu ok of %d (%llu wrong fingerprints); silent: %llu "
	    "timeout of %d; refused: %llu refused of %d\n",
	    (unsigned long long)run.by_kind[K_LIVE][PROBE_OK], nlive,
	    (unsigned long long)run.bad_fp,
	    (unsigned long long)run.by_kind[K_SILENT][PROBE_TIMEOUT], nsilent,
	    (unsigned long long)run.by_kind[K_REFUSED][PROBE_REFUSED],
	    pa.services - nlive - nsilent);
	printf("live probes/s: %.0f (last live result after %.2f s)\n", rate,
	    (double)(run.t_last_live - t0) / 1000.0);
	eus = (cpu_s(&ru1) - cpu_s(&ru0)) * 1e6 /
	    (double)(run.by_kind[K_LIVE][PROBE_OK] > 0 ?
	    run.by_kind[K_LIVE][PROBE_OK] : 1);
	printf("engine process CPU: %.2f s, %.0f us per live handshake (all "
	    "probes included) vs %.0f us in the client loops: %.2f "
	    "(noise-free efficiency)\n", cpu_s(&ru1) - cpu_s(&ru0), eus,
	    (us + us2) / 2, (us + us2) / 2 / eus);
	printf("ratio to capacity: %.2f (target >= 0.80)\n", ratio);
	printf("wall time: %.2f s, ideal live/capacity + timeout = %.2f s, "
	    "%.2fx (target <= 1.20x)\n", wall, ideal, slowdown);
	free(jobs);
	free(live);
	free(silent);
	free(deny.v);
	EVP_PKEY_free(pk);
	X509_free(x);
	if (run.by_kind[K_LIVE][PROBE_OK] != (uint64_t)nlive || run.bad_fp)
		return (1);
	return (ratio >= 0.8 && slowdown <= 1.2 ? 0 : 2);
}
