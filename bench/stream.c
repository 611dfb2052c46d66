/*
 * stream.c - load client for the CT stream benchmark (bench/stream.sh).
 *
 *   stream -c -p PORT [-n CLIENTS] [-t SECONDS] [-P PATH] [-j THREADS] [-z]
 *	Opens CLIENTS websocket connections to 127.0.0.1:PORT PATH, answers
 *	pings, counts the text frames each receives (heartbeats excluded)
 *	for SECONDS, and prints "frames TOTAL min MIN max MAX clients N
 *	alive A first F last L cpu_s C": F and L are the CLOCK_MONOTONIC
 *	times of the first and last data frame, C this process's CPU.  The clients are shared among THREADS threads (default:
 *	the number of CPUs), each with its own epoll loop, so the load
 *	client does not starve on one core before the daemon does.  -z
 *	offers permessage-deflate (RFC 7692, no context takeover); the
 *	compressed messages are inflated and the line also gives "wire W
 *	inflated I": payload bytes received and their inflated size.
 *
 *   stream -b -f FRAMES [-n CLIENTS] [-t SECONDS] [-r RATE]
 *	Baseline: the cost of writing the same bytes to as many loopback
 *	sockets with plain write() in a minimal loop.  A child writes each
 *	line of FRAMES (as a websocket text frame) to every socket at RATE
 *	frames/s; the parent drains them.  Prints the child's CPU seconds.
 *
 * Loopback only; every loop is bounded by SECONDS.  Not a test.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define RBUF	(256 * 1024)
#define MAX_THREADS 64

struct cl {
	int		fd;
	int		upgraded;
	size_t		len;
	uint64_t	frames;
	unsigned char	*buf;		/* RBUF bytes */
};

/* One thread's share of the clients and its counts. */
struct thr {
	pthread_t	tid;
	struct cl	*cls;
	int		n;
	int		ep;
	int		alive;
	double		end;
	int		deflate;
	z_stream	z;
	uint64_t	wire, inflated;
	double		first, last;	/* monotonic times of data frames */
	unsigned char	out[65536];
};

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static int
dial(int port)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (-1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Answer a ping: a masked pong with the same payload (at most 125). */
static void
pong(int fd, const unsigned char *p, size_t n)
{
	unsigned char	f[2 + 4 + 125];
	size_t		i;

	if (n > 125)
		n = 125;
	f[0] = 0x8a;
	f[1] = (unsigned char)(0x80 | n);
	memset(f + 2, 0, 4);		/* zero mask: payload unchanged */
	for (i = 0; i < n; i++)
		f[6 + i] = p[i];
	(void)write(fd, f, 6 + n);
}

/* Inflate one compressed message (RFC 7692 §7.2.2); its inflated size. */
static uint64_t
inflate_size(struct thr *t, const unsigned char *p, size_t n)
{
	static const unsigned char tail[4] = { 0, 0, 0xff, 0xff };
	uint64_t	total = 0;
	int		k, r;

	if (inflateReset(&t->z) != Z_OK)
		return (0);
	for (k = 0; k < 2; k++) {
		t->z.next_in = (unsigned char *)(k == 0 ? p : tail);
		t->z.avail_in = (uInt)(k == 0 ? n : sizeof(tail));
		do {
			t->z.next_out = t->out;
			t->z.avail_out = sizeof(t->out);
			r = inflate(&t->z, Z_SYNC_FLUSH);
			total += sizeof(t->out) - t->z.avail_out;
		} while (r == Z_OK && t->z.avail_out == 0);
		if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
			fprintf(stderr, "inflate: %d\n", r);
			exit(1);
		}
	}
	return (total);
}

static void
consume(struct thr *t, struct cl *c)
{
	size_t	off = 0, hl, n;
	char	*e;
	int	data = 0;

	if (!c->upgraded) {
		if ((e = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
			return;
		if (memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
			fprintf(stderr, "upgrade refused\n");
			exit(1);
		}
		if (t->deflate && memmem(c->buf, (size_t)(e - (char *)c->buf),
		    "permessage-deflate", 18) == NULL) {
			fprintf(stderr, "permessage-deflate not agreed\n");
			exit(1);
		}
		c->upgraded = 1;
		off = (size_t)(e - (char *)c->buf) + 4;
	}
	for (;;) {
		unsigned char *f = c->buf + off;
		size_t left = c->len - off;
		if (left < 2)
			break;
		n = f[1] & 0x7f;
		hl = 2;
		if (n == 126) {
			if (left < 4)
				break;
			n = (size_t)f[2] << 8 | f[3];
			hl = 4;
		} else if (n == 127) {
			if (left < 10)
				break;
			n = 0;
			for (int i = 2; i < 10; i++)
				n = n << 8 | f[i];
			hl = 10;
		}
		if (left < hl + n) {
			if (hl + n > RBUF) {
				fprintf(stderr, "frame of %zu bytes\n", n);
				exit(1);
			}
			break;
		}
		if ((f[0] & 0x0f) == 0x9)
			pong(c->fd, f + hl, n);
		else if ((f[0] & 0x0f) == 0x1 && (f[0] & 0x40)) {
			t->wire += n;
			t->inflated += inflate_size(t, f + hl, n);
			c->frames++;
			data = 1;
		} else if ((f[0] & 0x0f) == 0x1 && !(n > 20 &&
		    memmem(f + hl, 40 < n ? 40 : n, "heartbeat", 9) != NULL)) {
			c->frames++;
			data = 1;
		}
		off += hl + n;
	}
	if (data) {
		t->last = now_s();
		if (t->first == 0)
			t->first = t->last;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void *
thr_loop(void *arg)
{
	struct thr		*t = arg;
	struct epoll_event	 evs[256];
	ssize_t			 r;
	int			 got, k;

	while (now_s() < t->end) {
		got = epoll_wait(t->ep, evs, 256, 100);
		for (k = 0; k < got; k++) {
			struct cl *c = evs[k].data.ptr;
			while ((r = read(c->fd, c->buf + c->len,
			    RBUF - c->len)) > 0) {
				c->len += (size_t)r;
				consume(t, c);
			}
			if (r == 0) {
				epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
				t->alive--;
			}
		}
	}
	return (NULL);
}

static int
run_clients(int port, int n, int secs, const char *path, int nthr,
    int deflate)
{
	struct epoll_event	ev;
	struct thr		*thr;
	char			req[640];
	uint64_t		total = 0, mn = UINT64_MAX, mx = 0, wire = 0;
	uint64_t		infl = 0;
	double			end, first = 0, last = 0;
	struct rusage		ru;
	int			i, j, alive = 0;

	if (nthr > n)
		nthr = n;
	thr = calloc((size_t)nthr, sizeof(*thr));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s\r\n", path, deflate ?
	    "Sec-WebSocket-Extensions: permessage-deflate; "
	    "client_max_window_bits\r\n" : "");
	for (j = 0; j < nthr; j++) {
		thr[j].n = n / nthr + (j < n % nthr);
		thr[j].cls = calloc((size_t)thr[j].n, sizeof(struct cl));
		thr[j].ep = epoll_create1(0);
		thr[j].deflate = deflate;
		if (inflateInit2(&thr[j].z, -15) != Z_OK)
			return (1);
		for (i = 0; i < thr[j].n; i++) {
			struct cl *c = &thr[j].cls[i];
			c->buf = malloc(RBUF);
			if (c->buf == NULL || (c->fd = dial(port)) == -1) {
				fprintf(stderr, "connect: %s\n", strerror(errno));
				return (1);
			}
			(void)write(c->fd, req, strlen(req));
			fcntl(c->fd, F_SETFL, O_NONBLOCK);
			ev.events = EPOLLIN;
			ev.data.ptr = c;
			epoll_ctl(thr[j].ep, EPOLL_CTL_ADD, c->fd, &ev);
			thr[j].alive++;
		}
		alive += thr[j].alive;
	}
	printf("ready %d threads %d\n", alive, nthr);
	fflush(stdout);
	end = now_s() + secs;
	for (j = 0; j < nthr; j++) {
		thr[j].end = end;
		if (pthread_create(&thr[j].tid, NULL, thr_loop, &thr[j]) != 0)
			return (1);
	}
	alive = 0;
	for (j = 0; j < nthr; j++) {
		pthread_join(thr[j].tid, NULL);
		alive += thr[j].alive;
		wire += thr[j].wire;
		infl += thr[j].inflated;
		if (thr[j].first > 0 && (first == 0 || thr[j].first < first))
			first = thr[j].first;
		if (thr[j].last > last)
			last = thr[j].last;
		for (i = 0; i < thr[j].n; i++) {
			uint64_t f = thr[j].cls[i].frames;
			total += f;
			if (f < mn)
				mn = f;
			if (f > mx)
				mx = f;
		}
	}
	printf("frames %llu min %llu max %llu clients %d alive %d",
	    (unsigned long long)total, (unsigned long long)mn,
	    (unsigned long long)mx, n, alive);
	getrusage(RUSAGE_SELF, &ru);
	printf(" first %.3f last %.3f cpu_s %.2f", first, last,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	if (deflate)
		printf(" wire %llu inflated %llu", (unsigned long long)wire,
		    (unsigned long long)infl);
	printf("\n");
	return (0);
}

/* The baseline: a child writes, the parent drains. */
static int
run_baseline(const char *file, int n, int secs, int rate)
{
	static char	line[1 << 20];
	char		**frames = NULL;
	size_t		*flen = NULL, nf = 0, cap = 0, len, i;
	int		(*sv)[2], j, status;
	FILE		*fp;
	pid_t		pid;
	struct rusage	ru;

	if ((fp = fopen(file, "r")) == NULL)
		return (1);
	while (fgets(line, sizeof(line), fp) != NULL) {
		len = strcspn(line, "\n");
		if (nf == cap) {
			cap = cap ? 2 * cap : 1024;
			frames = realloc(frames, cap * sizeof(*frames));
			flen = realloc(flen, cap * sizeof(*flen));
		}
		frames[nf] = malloc(len + 11);
		frames[nf][0] = (char)0x81;
		if (len < 126) {
			frames[nf][1] = (char)len;
			memcpy(frames[nf] + 2, line, len);
			flen[nf] = len + 2;
		} else {
			frames[nf][1] = 126;
			frames[nf][2] = (char)(len >> 8);
			frames[nf][3] = (char)len;
			memcpy(frames[nf] + 4, line, len);
			flen[nf] = len + 4;
		}
		nf++;
	}
	fclose(fp);
	if (nf == 0)
		return (1);
	sv = calloc((size_t)n, sizeof(*sv));
	for (j = 0; j < n; j++)
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[j]) == -1)
			return (1);
	if ((pid = fork()) == 0) {
		double t0 = now_s(), next = t0;
		uint64_t sent = 0;
		for (j = 0; j < n; j++)
			close(sv[j][1]);
		while (now_s() - t0 < secs) {
			next += 1.0 / rate;
			for (j = 0; j < n; j++)
				(void)write(sv[j][0], frames[sent % nf],
				    flen[sent % nf]);
			sent++;
			while (now_s() < next)
				usleep(200);
		}
		_exit(0);
	}
	for (j = 0; j < n; j++)
		close(sv[j][0]);
	{
		static char	drain[65536];
		int		ep = epoll_create1(0);
		struct epoll_event ev, evs[256];
		for (j = 0; j < n; j++) {
			fcntl(sv[j][1], F_SETFL, O_NONBLOCK);
			ev.events = EPOLLIN;
			ev.data.fd = sv[j][1];
			epoll_ctl(ep, EPOLL_CTL_ADD, sv[j][1], &ev);
		}
		while (waitpid(pid, &status, WNOHANG) == 0) {
			int got = epoll_wait(ep, evs, 256, 100);
			for (i = 0; i < (size_t)got; i++)
				while (read(evs[i].data.fd, drain,
				    sizeof(drain)) > 0)
					;
		}
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("baseline_cpu_s %.2f seconds %d clients %d rate %d\n",
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, secs, n, rate);
	return (0);
}

int
main(int argc, char **argv)
{
	const char	*path = "/", *file = NULL;
	int		 ch, port = 0, n = 1000, secs = 60, rate = 1000, mode = 0;
	int		 nthr, deflate = 0;
	long		 ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	nthr = ncpu > 0 ? (int)ncpu : 1;
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "bcf:j:n:p:P:r:t:z")) != -1) {
		switch (ch) {
		case 'b': mode = 'b'; break;
		case 'c': mode = 'c'; break;
		case 'f': file = optarg; break;
		case 'j': nthr = atoi(optarg); break;
		case 'z': deflate = 1; break;
		case 'n': n = atoi(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'P': path = optarg; break;
		case 'r': rate = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		default: return (2);
		}
	}
	if (n < 1 || n > 100000 || secs < 1 || secs > 3600 || rate < 1 ||
	    nthr < 1 || nthr > MAX_THREADS)
		return (2);
	if (mode == 'c' && port > 0)
		return (run_clients(port, n, secs, path, nthr, deflate));
	if (mode == 'b' && file != NULL)
		return (run_baseline(file, n, secs, rate));
	fprintf(stderr, "usage: stream -c -p PORT [-n N] [-t S] [-P PATH] "
	    "[-j THREADS] [-z] | "
	    "stream -b -f FRAMES [-n N] [-t S] [-r RATE]\n");
	return (2);
}
