/*
 * check_probe.c - unit tests for scanner/probe.c, the TLS probe engine,
 * against real servers on 127.0.0.1 and ::1 only.
 *
 * An unchecked fixture (in the parent) creates a mkdtemp directory and
 * generates certificates with the openssl CLI: RSA 2048, ECDSA P-256, a
 * second ECDSA one for SNI, and a CA with a leaf.  Expected fingerprints
 * come from "openssl x509 -noout -fingerprint -md5|-sha1|-sha256".
 * Each test starts its servers: "openssl s_server" (forked, exec'd) for
 * live TLS, and forked children for the fakes (silent, garbage,
 * huge certificate, slow drip, half handshake, a DNS server).  Every child
 * has PR_SET_PDEATHSIG = SIGKILL and is killed in the teardown, so a
 * failing test leaves nothing behind.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/conf.h"
#include "common/log.h"
#include "store/obs.h"
#include "scanner/probe.h"
#include "store/svcid.h"
#include "common/util.h"
#include "tests/testutil.h"

/* ---- certificates (unchecked fixture) ---------------------------------- */

struct cert {
	const char	*name;
	char		 pem[PATH_MAX];
	char		 key[PATH_MAX];
	char		 md5[16 * 3];
	char		 sha1[20 * 3];
	char		 sha256[32 * 3];
	uint8_t		 der[8192];
	size_t		 derlen;
};

static struct cert	c_rsa = { .name = "rsa" };
static struct cert	c_ec = { .name = "ec" };
static struct cert	c_sni = { .name = "sni" };
static struct cert	c_ca = { .name = "ca" };
static struct cert	c_leaf = { .name = "leaf" };
static int		have_ipv6;

/* "md5 Fingerprint=AB:CD:..." -> "ab:cd:..." */
static void
cli_fingerprint(const struct cert *c, const char *md, char *out, size_t len)
{
	char	*line, *eq, *s;

	line = tu_sh_output("openssl x509 -noout -fingerprint -%s -in '%s'",
	    md, c->pem);
	line[strcspn(line, "\r\n")] = '\0';
	eq = strchr(line, '=');
	ck_assert_ptr_nonnull(eq);
	for (s = eq + 1; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
	snprintf(out, len, "%s", eq + 1);
	free(line);
}

static void
cert_load(struct cert *c)
{
	FILE		*f;
	X509		*x;
	unsigned char	*q;
	int		 n;

	cli_fingerprint(c, "md5", c->md5, sizeof(c->md5));
	cli_fingerprint(c, "sha1", c->sha1, sizeof(c->sha1));
	cli_fingerprint(c, "sha256", c->sha256, sizeof(c->sha256));
	ck_assert_uint_eq(strlen(c->md5), 47);
	ck_assert_uint_eq(strlen(c->sha256), 95);
	f = fopen(c->pem, "r");
	ck_assert_ptr_nonnull(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	n = i2d_X509(x, NULL);
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, (int)sizeof(c->der));
	q = c->der;
	i2d_X509(x, &q);
	c->derlen = (size_t)n;
	X509_free(x);
}

static void
cert_paths(struct cert *c)
{
	snprintf(c->pem, sizeof(c->pem), "%s/%s.pem", tu_dir, c->name);
	snprintf(c->key, sizeof(c->key), "%s/%s.key", tu_dir, c->name);
}

static void
certs_setup(void)
{
	const char	*q = ">/dev/null 2>&1";
	int		 fd;
	struct sockaddr_in6 sin6;

	tu_tmpdir_setup();
	cert_paths(&c_rsa);
	cert_paths(&c_ec);
	cert_paths(&c_sni);
	cert_paths(&c_ca);
	cert_paths(&c_leaf);
	ck_assert_int_eq(tu_sh("openssl req -x509 -newkey rsa:2048 -nodes "
	    "-keyout '%s' -out '%s' -days 30 -subj /CN=rsa.test %s",
	    c_rsa.key, c_rsa.pem, q), 0);
	ck_assert_int_eq(tu_sh("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout '%s' -out '%s' -days 30 "
	    "-subj /CN=ec.test %s", c_ec.key, c_ec.pem, q), 0);
	ck_assert_int_eq(tu_sh("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout '%s' -out '%s' -days 30 "
	    "-subj /CN=localhost %s", c_sni.key, c_sni.pem, q), 0);
	ck_assert_int_eq(tu_sh("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout '%s' -out '%s' -days 30 "
	    "-subj '/CN=Probe Test CA' -addext basicConstraints=critical,"
	    "CA:TRUE %s", c_ca.key, c_ca.pem, q), 0);
	ck_assert_int_eq(tu_sh("cd '%s' && openssl req -new -newkey rsa:2048 "
	    "-nodes -keyout '%s' -out leaf.csr -subj /CN=leaf.test %s && "
	    "openssl x509 -req -in leaf.csr -CA '%s' -CAkey '%s' "
	    "-CAcreateserial -out '%s' -days 30 %s", tu_dir, c_leaf.key, q,
	    c_ca.pem, c_ca.key, c_leaf.pem, q), 0);
	cert_load(&c_rsa);
	cert_load(&c_ec);
	cert_load(&c_sni);
	cert_load(&c_ca);
	cert_load(&c_leaf);

	/* Is ::1 usable here? */
	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) != -1) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_loopback;
		have_ipv6 = bind(fd, (struct sockaddr *)&sin6,
		    sizeof(sin6)) == 0;
		close(fd);
	}
}

/* ---- children ------------------------------------------------------------ */

#define MAX_KIDS	16
static pid_t	kids[MAX_KIDS];
static int	nkids;

static pid_t
spawn(void)
{
	pid_t	parent = getpid(), pid;

	ck_assert_int_lt(nkids, MAX_KIDS);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		return (0);
	}
	kids[nkids++] = pid;
	return (pid);
}

static void
kids_setup(void)
{
	nkids = 0;
}

static void
kids_teardown(void)
{
	int	i;

	for (i = 0; i < nkids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	nkids = 0;
}

/* A free port on addr (127.0.0.1 or ::1), by binding port 0. */
static int
listen_on(int family, int backlog, int *port)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		len;
	int			fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
	if (backlog > 0)
		ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return (fd);
}

static int
free_port(int family)
{
	int	port, fd = listen_on(family, 0, &port);

	close(fd);
	return (port);
}

static int
try_connect(int family, int port)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		len;
	int			fd, r;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	}
	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	r = connect(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return (r);
}

/*
 * openssl s_server on 127.0.0.1 (or ::1) with extra arguments (NULL-
 * terminated); waits until it accepts.  Returns the port.
 */
static int
s_server(int family, ...)
{
	const char	*argv[40];
	char		 accept[64], logf[PATH_MAX];
	va_list		 ap;
	int		 argc = 0, port, i, fd;
	const char	*a;

	port = free_port(family);
	if (family == AF_INET)
		snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
	else
		snprintf(accept, sizeof(accept), "[::1]:%d", port);
	argv[argc++] = "openssl";
	argv[argc++] = "s_server";
	argv[argc++] = "-accept";
	argv[argc++] = accept;
	argv[argc++] = "-www";
	argv[argc++] = "-quiet";
	va_start(ap, family);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 38)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	snprintf(logf, sizeof(logf), "%s/s_server.%d.log", tu_dir, port);
	if (spawn() == 0) {
		fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd != -1)
			dup2(fd, 0);
		execvp("openssl", (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		if (try_connect(family, port) == 0)
			return (port);
		usleep(20000);
	}
	ck_abort_msg("s_server on port %d did not start", port);
	return (-1);
}

/* ---- fake servers --------------------------------------------------------- */

enum fake {
	FAKE_SILENT,
	FAKE_GARBAGE,
	FAKE_HUGE_CERT,
	FAKE_DRIP,
	FAKE_HALF,
	FAKE_RESET,		/* RST after the ClientHello */
	FAKE_HELLO_RESET,	/* ServerHello, then RST */
	FAKE_EOF,		/* clean close after the ClientHello */
	FAKE_HTTP,		/* a plain-HTTP 400, then close */
	FAKE_NO_CERT,		/* ServerHello, ServerHelloDone: no cert */
};

/* A TLS 1.2 ServerHello: ECDHE-RSA-AES128-GCM-SHA256, renegotiation_info. */
static const uint8_t server_hello[] = {
	0x16, 0x03, 0x03, 0x00, 0x31,
	0x02, 0x00, 0x00, 0x2d,
	0x03, 0x03,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x00,
	0xc0, 0x2f,
	0x00,
	0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00,
};

static void
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void
read_some(int fd)
{
	char	buf[4096];

	(void)recv(fd, buf, sizeof(buf), 0);
}

/* Close c with a RST (linger 0) instead of a FIN. */
static void
close_reset(int c)
{
	struct linger	l = { 1, 0 };

	(void)setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(c);
}

/* The kinds that end the connection at once after a few bytes. */
static void
fake_conn_short(enum fake kind, int c)
{
	static const char	http[] = "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	static const uint8_t	done[] = { 0x16, 0x03, 0x03, 0x00, 0x04,
	    0x0e, 0x00, 0x00, 0x00 };

	read_some(c);
	switch (kind) {
	case FAKE_RESET:
		close_reset(c);
		return;
	case FAKE_HELLO_RESET:
		write_all(c, server_hello, sizeof(server_hello));
		usleep(50000);
		close_reset(c);
		return;
	case FAKE_EOF:
		break;
	case FAKE_HTTP:
		write_all(c, http, sizeof(http) - 1);
		break;
	case FAKE_NO_CERT:
		write_all(c, server_hello, sizeof(server_hello));
		write_all(c, done, sizeof(done));
		break;
	default:
		break;
	}
	close(c);
}

static void
fake_conn(enum fake kind, int c)
{
	static uint8_t	buf[16389];
	uint32_t	x = 42;
	size_t		i, sent;

	switch (kind) {
	case FAKE_SILENT:
		return;			/* kept open, never answered */
	case FAKE_GARBAGE:
		read_some(c);
		for (i = 0; i < 4096; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
		}
		buf[0] = 'G';		/* not a TLS record type */
		write_all(c, buf, 4096);
		return;
	case FAKE_HUGE_CERT:
		read_some(c);
		write_all(c, server_hello, sizeof(server_hello));
		/* Certificate of 16 MB (0xffffff), streamed in full records. */
		memset(buf, 0x30, sizeof(buf));
		buf[0] = 0x16;
		buf[1] = 0x03;
		buf[2] = 0x03;
		buf[3] = 0x40;
		buf[4] = 0x00;
		buf[5] = 0x0b;
		buf[6] = buf[7] = buf[8] = 0xff;
		buf[9] = 0xff;
		buf[10] = 0xff;
		buf[11] = 0xfc;
		write_all(c, buf, 16384 + 5);
		for (sent = 16384; sent < 0xffffff; sent += 16384) {
			memset(buf + 5, 0x30, 16);
			if (send(c, buf, 16384 + 5, MSG_NOSIGNAL) <= 0)
				break;
		}
		close(c);
		return;
	case FAKE_DRIP:
		read_some(c);
		for (i = 0; i < sizeof(server_hello); i++) {
			if (send(c, server_hello + i, 1, MSG_NOSIGNAL) != 1)
				break;
			usleep(200000);
		}
		close(c);
		return;
	case FAKE_HALF:
		read_some(c);
		write_all(c, server_hello, sizeof(server_hello));
		/* Certificate announced (1000 bytes), 100 sent, then silence. */
		memset(buf, 0x30, sizeof(buf));
		buf[0] = 0x16;
		buf[1] = 0x03;
		buf[2] = 0x03;
		buf[3] = 0x03;
		buf[4] = 0xec;
		buf[5] = 0x0b;
		buf[6] = 0x00;
		buf[7] = 0x03;
		buf[8] = 0xe8;
		write_all(c, buf, 100);
		return;			/* kept open */
	default:
		fake_conn_short(kind, c);
		return;
	}
}

static int
fake_server(enum fake kind)
{
	int	lfd, c, port;

	lfd = listen_on(AF_INET, 128, &port);
	if (spawn() == 0) {
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			if ((c = accept(lfd, NULL, NULL)) == -1)
				continue;
			fake_conn(kind, c);
			/* silent/half/garbage connections stay open */
		}
	}
	close(lfd);
	return (port);
}

/* ---- a fake DNS server ---------------------------------------------------- */

struct dns_rr {
	const char	*name;
	int		 rcode;		/* 3 = NXDOMAIN, -1 = never answer */
	const char	*a[4];
	const char	*aaaa[4];
};

static const struct dns_rr dns_table[] = {
	{ "nx.test", 3, { NULL }, { NULL } },
	{ "empty.test", 0, { NULL }, { NULL } },
	{ "private.test", 0, { "10.1.2.3", NULL }, { NULL } },
	{ "private6.test", 0, { NULL }, { "fd00::1", NULL } },
	{ "loop.test", 0, { "127.0.0.1", NULL }, { NULL } },
	{ "mixed.test", 0, { "10.0.0.1", "192.168.1.1", "127.0.0.1", NULL },
	    { NULL } },
	{ "fallback.test", 0, { "127.0.0.1", NULL }, { "::1", NULL } },
	{ "silentdns.test", -1, { NULL }, { NULL } },
};

static void
dns_answer(int fd, const uint8_t *q, size_t n, const struct sockaddr *from,
    socklen_t fromlen)
{
	uint8_t		 r[512], ip[16];
	char		 name[256];
	size_t		 o = 12, nl = 0, qend, rl;
	const struct dns_rr *rr = NULL;
	unsigned	 qtype, i, an = 0;
	int		 rcode = 3;
	const char	*const *list;

	if (n < 12 + 5 || n > sizeof(r))
		return;
	while (o < n && q[o] != 0) {
		if (q[o] > 63 || o + 1 + q[o] >= n || nl + q[o] + 1 >= 255)
			return;
		if (nl > 0)
			name[nl++] = '.';
		memcpy(name + nl, q + o + 1, q[o]);
		nl += q[o];
		o += 1 + q[o];
	}
	name[nl] = '\0';
	for (i = 0; i < nl; i++)
		name[i] = (char)tolower((unsigned char)name[i]);
	if (o + 5 > n)
		return;
	qend = o + 5;
	qtype = (unsigned)q[o + 1] << 8 | q[o + 2];
	for (i = 0; i < sizeof(dns_table) / sizeof(dns_table[0]); i++)
		if (strcmp(dns_table[i].name, name) == 0)
			rr = &dns_table[i];
	if (rr != NULL && rr->rcode == -1)
		return;
	if (rr != NULL)
		rcode = rr->rcode;
	memcpy(r, q, qend);
	r[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD copied */
	r[3] = 0x80 | (uint8_t)rcode;	/* RA */
	r[4] = 0;
	r[5] = 1;
	r[8] = r[9] = r[10] = r[11] = 0;
	rl = qend;
	if (rr != NULL && rcode == 0 && (qtype == 1 || qtype == 28)) {
		list = qtype == 1 ? rr->a : rr->aaaa;
		for (i = 0; i < 4 && list[i] != NULL; i++) {
			size_t alen = qtype == 1 ? 4 : 16;

			if (inet_pton(qtype == 1 ? AF_INET : AF_INET6, list[i],
			    ip) != 1 || rl + 12 + alen > sizeof(r))
				return;
			r[rl++] = 0xc0;
			r[rl++] = 0x0c;
			r[rl++] = 0;
			r[rl++] = (uint8_t)qtype;
			r[rl++] = 0;
			r[rl++] = 1;
			r[rl++] = 0;
			r[rl++] = 0;
			r[rl++] = 0;
			r[rl++] = 60;
			r[rl++] = 0;
			r[rl++] = (uint8_t)alen;
			memcpy(r + rl, ip, alen);
			rl += alen;
			an++;
		}
	}
	r[7] = (uint8_t)an;
	(void)sendto(fd, r, rl, 0, from, fromlen);
}

/* Returns the "127.0.0.1:port" string for probe_opts.dns_servers. */
static const char *
dns_server(void)
{
	static char		 where[64];
	struct sockaddr_in	 sin, from;
	socklen_t		 len = sizeof(sin), flen;
	uint8_t			 q[1024];
	ssize_t			 n;
	int			 fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	if (spawn() == 0) {
		for (;;) {
			flen = sizeof(from);
			n = recvfrom(fd, q, sizeof(q), 0,
			    (struct sockaddr *)&from, &flen);
			if (n > 0)
				dns_answer(fd, q, (size_t)n,
				    (struct sockaddr *)&from, flen);
		}
	}
	close(fd);
	snprintf(where, sizeof(where), "127.0.0.1:%d", ntohs(sin.sin_port));
	return (where);
}

/* ---- running the engine --------------------------------------------------- */

struct res {
	int			called;
	char			svc[SVCID_MAX + 1];
	struct probe_outcome	out;
	uint8_t			der[OBS_DER_MAX];
	int			wrong;	/* callback for a freed engine */
};

static struct netaddr_cidr_list	deny_default, allow_loop, allow_none;

static void
lists_setup(void)
{
	static struct netaddr_cidr	loop[2];

	netaddr_default_deny(&deny_default);
	ck_assert_int_eq(netaddr_parse_cidr("127.0.0.0/8", &loop[0]), 0);
	ck_assert_int_eq(netaddr_parse_cidr("::1/128", &loop[1]), 0);
	allow_loop.n = 2;
	allow_loop.v = loop;
	allow_none.n = 0;
	allow_none.v = NULL;
}

static void
lists_teardown(void)
{
	free(deny_default.v);
	deny_default.v = NULL;
}

static void
done_cb(void *arg, const char *svc, size_t len, const struct probe_outcome *o)
{
	struct res	*r = arg;

	r->called++;
	ck_assert_uint_le(len, SVCID_MAX);
	memcpy(r->svc, svc, len);
	r->svc[len] = '\0';
	r->out = *o;
	if (o->der != NULL) {
		ck_assert_uint_le(o->derlen, sizeof(r->der));
		memcpy(r->der, o->der, o->derlen);
		r->out.der = r->der;
	}
}

static void
engine_run(struct probe_engine *e, int64_t limit_ms)
{
	struct pollfd	pfd;
	int64_t		end = mono_ms() + limit_ms;
	int		t;

	while (probe_inflight(e) > 0 && mono_ms() < end) {
		pfd.fd = probe_engine_fd(e);
		pfd.events = POLLIN;
		t = probe_engine_timeout(e);
		if (t < 0 || t > 100)
			t = 100;
		(void)poll(&pfd, 1, t);
		probe_engine_process(e);
	}
}

static struct probe_opts
opts(int64_t timeout_ms)
{
	struct probe_opts o;

	memset(&o, 0, sizeof(o));
	o.concurrency = 16;
	o.timeout_ms = timeout_ms;
	o.sni = 1;
	o.deny = &deny_default;
	o.allow = &allow_loop;
	return (o);
}

/* One probe, run to completion. */
static struct res *
probe_with(const struct probe_opts *o, const char *fmt, ...)
{
	static struct res	r;
	struct probe_engine	*e;
	char			 svc[512], err[256];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(svc, sizeof(svc), fmt, ap);
	va_end(ap);
	memset(&r, 0, sizeof(r));
	e = probe_engine_new(o);
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(probe_submit(e, svc, strlen(svc), done_cb, &r, err,
	    sizeof(err)) == 0, "submit %s: %s", svc, err);
	ck_assert_uint_eq(probe_inflight(e), 1);
	ck_assert_int_eq(r.called, 0);	/* never from probe_submit */
	engine_run(e, o->timeout_ms + 10000);
	ck_assert_uint_eq(probe_inflight(e), 0);
	ck_assert_int_eq(r.called, 1);
	ck_assert_str_eq(r.svc, svc);
	probe_engine_free(e);
	return (&r);
}

static struct res *
probe1(int64_t timeout_ms, const char *fmt, const char *host, int port)
{
	struct probe_opts	o = opts(timeout_ms);

	return (probe_with(&o, fmt, host, port));
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
	size_t	i;

	static const char digits[] = "0123456789abcdef";

	for (i = 0; i < n; i++) {
		out[3 * i] = digits[b[i] >> 4];
		out[3 * i + 1] = digits[b[i] & 15];
		out[3 * i + 2] = i + 1 < n ? ':' : '\0';
	}
}

#define ck_result(r, want) \
	ck_assert_msg((r)->out.result == (want), "result %s (%s), want %s", \
	    probe_result_name((r)->out.result), (r)->out.detail, \
	    probe_result_name(want))

/* The probe got exactly certificate c. */
static void
ck_cert(const struct res *r, const struct cert *c)
{
	char	md5[48], sha1[60], sha256[96];

	ck_result(r, PROBE_OK);
	hex(r->out.fp.md5, 16, md5);
	hex(r->out.fp.sha1, 20, sha1);
	hex(r->out.fp.sha256, 32, sha256);
	ck_assert_msg(strcmp(md5, c->md5) == 0, "%s: md5 %s, want %s (%s)",
	    r->svc, md5, c->md5, c->name);
	ck_assert_str_eq(sha1, c->sha1);
	ck_assert_str_eq(sha256, c->sha256);
	ck_assert_uint_eq(r->out.derlen, c->derlen);
	ck_assert_mem_eq(r->out.der, c->der, c->derlen);
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_result_names)
{
	static const char *const names[] = { "ok", "dns", "refused",
	    "unreachable", "timeout", "tls-alert", "protocol", "denied",
	    "reset", "other" };
	int	i;

	ck_assert_int_eq(PROBE_NRESULTS, 10);
	for (i = 0; i < PROBE_NRESULTS; i++)
		ck_assert_str_eq(probe_result_name((enum probe_result)i),
		    names[i]);
	ck_assert_str_eq(probe_result_name(PROBE_NRESULTS), "?");
	ck_assert_int_eq(PROBE_OK, 0);
	ck_assert_int_eq(PROBE_OTHER, 9);
}
END_TEST

START_TEST(test_invalid_ids)
{
	static const char *const bad[] = {
		"", "example.com", "example.com:443", "example.com:0,2",
		"example.com:65536,2", "example.com:443,1", "example.com:443,3",
		"exa mple.com:443,2", "a..b:443,2", "-a.com:443,2",
		"::1:443,2", "[::1:443,2", "1.2.3.4.5:443,2",
		"example.com:0443,2",
	};
	struct probe_opts	 o = opts(1000);
	struct probe_engine	*e;
	struct probe_stats	 st;
	struct res		 r;
	char			 longid[400], err[256];
	size_t			 i;

	memset(&r, 0, sizeof(r));
	e = probe_engine_new(&o);
	ck_assert_ptr_nonnull(e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		errno = 0;
		ck_assert_msg(probe_submit(e, bad[i], strlen(bad[i]), done_cb,
		    &r, err, sizeof(err)) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_msg(err[0] != '\0', "no reason for \"%s\"", bad[i]);
	}
	/* 256 bytes: too long (the host alone would be fine). */
	memset(longid, 'a', sizeof(longid));
	for (i = 49; i < 200; i += 50)
		longid[i] = '.';
	memcpy(longid + 250, ":443,2", 7);
	ck_assert_uint_eq(strlen(longid), 256);
	ck_assert_int_eq(probe_submit(e, longid, 256, done_cb, &r, err,
	    sizeof(err)), -1);
	/* an embedded NUL */
	ck_assert_int_eq(probe_submit(e, "a.com\0:443,2", 12, done_cb, &r,
	    err, sizeof(err)), -1);
	ck_assert_uint_eq(probe_inflight(e), 0);
	probe_engine_process(e);
	ck_assert_int_eq(r.called, 0);
	probe_engine_stats(e, &st);
	ck_assert_uint_eq(st.submitted, 0);
	ck_assert_uint_eq(st.rejected, sizeof(bad) / sizeof(bad[0]) + 2);
	ck_assert_int_eq(probe_engine_timeout(e), -1);
	probe_engine_free(e);
}
END_TEST

START_TEST(test_concurrency_limit)
{
	struct probe_opts	 o = opts(1000);
	struct probe_engine	*e;
	struct probe_stats	 st;
	struct res		 r[4];
	char			 err[256];
	int			 i;

	memset(r, 0, sizeof(r));
	o.concurrency = 3;
	e = probe_engine_new(&o);
	ck_assert_ptr_nonnull(e);
	/* Denied literals: known at once, yet reported from process. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(probe_submit(e, "10.0.0.1:443,2", 14,
		    done_cb, &r[i], err, sizeof(err)), 0);
	errno = 0;
	ck_assert_int_eq(probe_submit(e, "10.0.0.2:443,2", 14, done_cb,
	    &r[3], err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_ptr_nonnull(strstr(err, "busy"));
	ck_assert_uint_eq(probe_inflight(e), 3);
	ck_assert_int_eq(probe_engine_timeout(e), 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(r[i].called, 0);
	probe_engine_process(e);
	ck_assert_uint_eq(probe_inflight(e), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].called, 1);
		ck_result(&r[i], PROBE_DENIED);
		ck_assert_str_eq(r[i].out.addr, "10.0.0.1:443");
	}
	ck_assert_int_eq(r[3].called, 0);
	/* Room again. */
	ck_assert_int_eq(probe_submit(e, "10.0.0.2:443,2", 14, done_cb,
	    &r[3], err, sizeof(err)), 0);
	probe_engine_process(e);
	ck_assert_int_eq(r[3].called, 1);
	probe_engine_stats(e, &st);
	ck_assert_uint_eq(st.submitted, 4);
	ck_assert_uint_eq(st.rejected, 1);
	ck_assert_uint_eq(st.results[PROBE_DENIED], 4);
	probe_engine_free(e);
}
END_TEST

START_TEST(test_rsa)
{
	int		 port = s_server(AF_INET, "-cert", c_rsa.pem, "-key",
			    c_rsa.key, (const char *)NULL);
	struct res	*r = probe1(10000, "%s:%d,2", "127.0.0.1", port);
	char		 addr[64];

	ck_cert(r, &c_rsa);
	ck_assert_int_eq(r->out.tls_version, TLS1_3_VERSION);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_str_eq(r->out.addr, addr);
	ck_assert_int_ge(r->out.elapsed_ms, 0);
	ck_assert_int_lt(r->out.elapsed_ms, 10000);
}
END_TEST

START_TEST(test_ecdsa)
{
	int		 port = s_server(AF_INET, "-cert", c_ec.pem, "-key",
			    c_ec.key, (const char *)NULL);
	struct res	*r = probe1(10000, "%s:%d,2", "127.0.0.1", port);

	ck_cert(r, &c_ec);
	/* The two certificates really differ. */
	ck_assert_str_ne(c_ec.md5, c_rsa.md5);
}
END_TEST

/* RSA and ECDSA: a browser gets the ECDSA one, in TLS 1.3 and 1.2. */
START_TEST(test_dual_cert)
{
	int		 port = s_server(AF_INET, "-cert", c_rsa.pem, "-key",
			    c_rsa.key, "-dcert", c_ec.pem, "-dkey", c_ec.key,
			    (const char *)NULL);
	int		 port12 = s_server(AF_INET, "-cert", c_rsa.pem, "-key",
			    c_rsa.key, "-dcert", c_ec.pem, "-dkey", c_ec.key,
			    "-tls1_2", (const char *)NULL);
	struct res	*r = probe1(10000, "%s:%d,2", "127.0.0.1", port);

	ck_cert(r, &c_ec);
	ck_assert_int_eq(r->out.tls_version, TLS1_3_VERSION);
	r = probe1(10000, "%s:%d,2", "127.0.0.1", port12);
	ck_cert(r, &c_ec);
	ck_assert_int_eq(r->out.tls_version, TLS1_2_VERSION);
}
END_TEST

START_TEST(test_tls13_only)
{
	int		 port = s_server(AF_INET, "-cert", c_rsa.pem, "-key",
			    c_rsa.key, "-tls1_3", (const char *)NULL);
	struct res	*r = probe1(10000, "%s:%d,2", "127.0.0.1", port);

	ck_cert(r, &c_rsa);
	ck_assert_int_eq(r->out.tls_version, TLS1_3_VERSION);
}
END_TEST

START_TEST(test_tls12_only)
{
	int		 port = s_server(AF_INET, "-cert", c_rsa.pem, "-key",
			    c_rsa.key, "-tls1_2", (const char *)NULL);
	struct res	*r = probe1(10000, "%s:%d,2", "127.0.0.1", port);

	ck_cert(r, &c_rsa);
	ck_assert_int_eq(r->out.tls_version, TLS1_2_VERSION);
	ck_assert_ptr_nonnull(strstr(r->out.detail, "ECDHE-RSA-AES128-GCM"));
}
END_TEST

/* A DNS name gets the SNI certificate; an IP literal gets the default. */
START_TEST(test_sni)
{
	int			 port = s_server(AF_INET, "-cert", c_rsa.pem,
				    "-key", c_rsa.key, "-servername",
				    "localhost", "-cert2", c_sni.pem, "-key2",
				    c_sni.key, (const char *)NULL);
	struct probe_opts	 o = opts(10000);
	struct res		*r;
	char			 addr[64];

	r = probe1(10000, "%s:%d,2", "localhost", port);
	ck_cert(r, &c_sni);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_str_eq(r->out.addr, addr);
	r = probe1(10000, "%s:%d,2", "127.0.0.1", port);
	ck_cert(r, &c_rsa);
	/* Case does not matter to the server's name match. */
	r = probe1(10000, "%s:%d,2", "LocalHost", port);
	ck_cert(r, &c_sni);
	/* scanner.sni off: no SNI, the default certificate. */
	o.sni = 0;
	r = probe_with(&o, "localhost:%d,2", port);
	ck_cert(r, &c_rsa);
}
END_TEST

/* probe_submit_req: SNI per probe, whatever the engine's default. */
static struct res *
probe_req1(const struct probe_opts *o, const struct probe_req *rq,
    const char *svc)
{
	static struct res	r;
	struct probe_engine	*e = probe_engine_new(o);
	char			 err[256];

	memset(&r, 0, sizeof(r));
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(probe_submit_req(e, svc, strlen(svc), rq, done_cb, &r,
	    err, sizeof(err)), 0);
	engine_run(e, o->timeout_ms + 10000);
	ck_assert_int_eq(r.called, 1);
	probe_engine_free(e);
	return (&r);
}

START_TEST(test_sni_per_probe)
{
	int			 port = s_server(AF_INET, "-cert", c_rsa.pem,
				    "-key", c_rsa.key, "-servername",
				    "localhost", "-cert2", c_sni.pem, "-key2",
				    c_sni.key, (const char *)NULL);
	struct probe_opts	 o = opts(10000);
	struct probe_req	 rq = { 0, 0 };
	char			 svc[64];

	snprintf(svc, sizeof(svc), "localhost:%d,2", port);
	ck_cert(probe_req1(&o, &rq, svc), &c_rsa);	/* never */
	rq.sni = -1;
	ck_cert(probe_req1(&o, &rq, svc), &c_sni);	/* the engine's: on */
	ck_cert(probe_req1(&o, NULL, svc), &c_sni);
	o.sni = 0;
	ck_cert(probe_req1(&o, &rq, svc), &c_rsa);	/* the engine's: off */
	rq.sni = 1;
	ck_cert(probe_req1(&o, &rq, svc), &c_sni);
	/* An address is never sent as SNI. */
	snprintf(svc, sizeof(svc), "127.0.0.1:%d,2", port);
	ck_cert(probe_req1(&o, &rq, svc), &c_rsa);
}
END_TEST

/* A shorter timeout of one probe: its deadline comes first. */
START_TEST(test_timeout_per_probe)
{
	int			 port = fake_server(FAKE_SILENT);
	struct probe_opts	 o = opts(2000);
	struct probe_engine	*e = probe_engine_new(&o);
	struct probe_req	 shortr = { -1, 300 }, midr = { -1, 600 };
	struct probe_req	 longr = { -1, 60000 };
	static struct res	 r[4];
	char			 svc[64], err[256];
	int			 i;

	memset(r, 0, sizeof(r));
	ck_assert_ptr_nonnull(e);
	snprintf(svc, sizeof(svc), "127.0.0.1:%d,2", port);
	ck_assert_int_eq(probe_submit(e, svc, strlen(svc), done_cb, &r[0],
	    err, sizeof(err)), 0);
	ck_assert_int_eq(probe_submit_req(e, svc, strlen(svc), &midr,
	    done_cb, &r[1], err, sizeof(err)), 0);
	ck_assert_int_eq(probe_submit_req(e, svc, strlen(svc), &shortr,
	    done_cb, &r[2], err, sizeof(err)), 0);
	/* Longer than the engine's: capped at it. */
	ck_assert_int_eq(probe_submit_req(e, svc, strlen(svc), &longr,
	    done_cb, &r[3], err, sizeof(err)), 0);
	engine_run(e, 5000);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(r[i].called, 1);
		ck_result(&r[i], PROBE_TIMEOUT);
	}
	/*
	 * Never before its deadline; after it by at most a second of a
	 * loaded machine (less than the 2 s default a probe whose own
	 * deadline was ignored would run); and in deadline order.
	 */
	ck_assert_int_ge(r[2].out.elapsed_ms, 300);
	ck_assert_int_le(r[2].out.elapsed_ms, 1300);
	ck_assert_int_ge(r[1].out.elapsed_ms, 600);
	ck_assert_int_le(r[1].out.elapsed_ms, 1600);
	ck_assert_int_ge(r[0].out.elapsed_ms, 2000);
	ck_assert_int_le(r[0].out.elapsed_ms, 3000);
	ck_assert_int_ge(r[3].out.elapsed_ms, 2000);
	ck_assert_int_le(r[3].out.elapsed_ms, 3000);
	ck_assert_int_le(r[2].out.elapsed_ms, r[1].out.elapsed_ms);
	ck_assert_int_le(r[1].out.elapsed_ms, r[0].out.elapsed_ms);
	probe_engine_free(e);
}
END_TEST

START_TEST(test_chain)
{
	int		 port = s_server(AF_INET, "-cert", c_leaf.pem, "-key",
			    c_leaf.key, "-cert_chain", c_ca.pem, (const char *)NULL);
	struct res	*r = probe1(10000, "%s:%d,2", "127.0.0.1", port);

	ck_cert(r, &c_leaf);
	ck_assert_str_ne(r->out.addr, "");
}
END_TEST

START_TEST(test_ipv6)
{
	struct res	*r;
	char		 addr[64];
	int		 port;

	if (!have_ipv6)
		return;
	port = s_server(AF_INET6, "-cert", c_ec.pem, "-key", c_ec.key, (const char *)NULL);
	r = probe1(10000, "[%s]:%d,2", "::1", port);
	ck_cert(r, &c_ec);
	snprintf(addr, sizeof(addr), "[::1]:%d", port);
	ck_assert_str_eq(r->out.addr, addr);
}
END_TEST

START_TEST(test_tls_alert)
{
	/* A TLS 1.2 suite the probe does not offer: handshake_failure. */
	int		 port = s_server(AF_INET, "-cert", c_rsa.pem, "-key",
			    c_rsa.key, "-tls1_2", "-cipher",
			    "ECDHE-RSA-AES128-SHA256", (const char *)NULL);
	struct res	*r = probe1(10000, "%s:%d,2", "127.0.0.1", port);

	ck_result(r, PROBE_TLS_ALERT);
	ck_assert_int_eq(r->out.tls_alert, 40);
	ck_assert_ptr_null(r->out.der);
}
END_TEST

START_TEST(test_refused)
{
	int		 port = free_port(AF_INET);
	struct res	*r = probe1(5000, "%s:%d,2", "127.0.0.1", port);

	ck_result(r, PROBE_REFUSED);
	ck_assert_int_lt(r->out.elapsed_ms, 1000);
	if (have_ipv6) {
		port = free_port(AF_INET6);
		r = probe1(5000, "[%s]:%d,2", "::1", port);
		ck_result(r, PROBE_REFUSED);
	}
}
END_TEST

START_TEST(test_silent)
{
	int		 port = fake_server(FAKE_SILENT);
	int64_t		 t0 = mono_ms(), dt;
	struct res	*r = probe1(500, "%s:%d,2", "127.0.0.1", port);

	dt = mono_ms() - t0;
	ck_result(r, PROBE_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(r->out.detail, "handshake"));
	ck_assert_int_ge(r->out.elapsed_ms, 500);
	ck_assert_int_le(r->out.elapsed_ms, 1500);	/* loaded machine */
	ck_assert_int_le(dt, 1600);
}
END_TEST

START_TEST(test_garbage)
{
	int		 port = fake_server(FAKE_GARBAGE);
	struct res	*r = probe1(5000, "%s:%d,2", "127.0.0.1", port);

	ck_result(r, PROBE_PROTOCOL);
	ck_assert_int_lt(r->out.elapsed_ms, 2000);
}
END_TEST

START_TEST(test_huge_cert)
{
	int		 port = fake_server(FAKE_HUGE_CERT);
	struct res	*r = probe1(10000, "%s:%d,2", "127.0.0.1", port);

	ck_result(r, PROBE_PROTOCOL);
	ck_assert_msg(strstr(r->out.detail, "limit") != NULL, "detail %s",
	    r->out.detail);
	ck_assert_int_lt(r->out.elapsed_ms, 3000);
}
END_TEST

START_TEST(test_slow_drip)
{
	int		 port = fake_server(FAKE_DRIP);
	struct res	*r = probe1(1000, "%s:%d,2", "127.0.0.1", port);

	ck_result(r, PROBE_TIMEOUT);
	ck_assert_int_ge(r->out.elapsed_ms, 1000);
	ck_assert_int_le(r->out.elapsed_ms, 2000);	/* not reset by a byte */
}
END_TEST

START_TEST(test_half_handshake)
{
	int		 port = fake_server(FAKE_HALF);
	struct res	*r = probe1(700, "%s:%d,2", "127.0.0.1", port);

	ck_result(r, PROBE_TIMEOUT);
	ck_assert_int_ge(r->out.elapsed_ms, 700);
	ck_assert_int_le(r->out.elapsed_ms, 1700);	/* loaded machine */
}
END_TEST

/* A reset before or after the ServerHello is "reset", at once. */
START_TEST(test_reset)
{
	int		 port = fake_server(FAKE_RESET);
	struct res	*r = probe1(5000, "%s:%d,2", "127.0.0.1", port);

	ck_result(r, PROBE_RESET);
	ck_assert_int_lt(r->out.elapsed_ms, 2000);
	port = fake_server(FAKE_HELLO_RESET);
	r = probe1(5000, "%s:%d,2", "127.0.0.1", port);
	ck_result(r, PROBE_RESET);
	ck_assert_int_lt(r->out.elapsed_ms, 2000);
}
END_TEST

/*
 * A clean close before any answer, a plain-HTTP server, a handshake
 * without a certificate: "protocol", at once, and no certificate kept.
 */
START_TEST(test_eof_http_nocert)
{
	static const enum fake	 kinds[] = { FAKE_EOF, FAKE_HTTP,
	    FAKE_NO_CERT };
	struct res		*r;
	size_t			 i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		r = probe1(5000, "%s:%d,2", "127.0.0.1",
		    fake_server(kinds[i]));
		ck_result(r, PROBE_PROTOCOL);
		ck_assert_int_lt(r->out.elapsed_ms, 2000);
		ck_assert_ptr_null(r->out.der);
	}
}
END_TEST

/* Default deny, nothing allowed: loopback is never connected. */
START_TEST(test_deny_literal)
{
	struct probe_opts	 o = opts(3000);
	struct res		*r;
	char			 addr[64];
	int			 port, lfd, c;

	o.allow = &allow_none;
	lfd = listen_on(AF_INET, 16, &port);
	r = probe_with(&o, "127.0.0.1:%d,2", port);
	ck_result(r, PROBE_DENIED);
	ck_assert_int_eq(r->out.attempts, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	ck_assert_str_eq(r->out.addr, addr);
	/* No connection reached the listener. */
	ck_assert_int_eq(fd_set_nonblock(lfd), 0);
	c = accept(lfd, NULL, NULL);
	ck_assert_int_eq(c, -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* Same with an IPv4-mapped IPv6 literal and ::1. */
	r = probe_with(&o, "[::ffff:127.0.0.1]:%d,2", port);
	ck_result(r, PROBE_DENIED);
	r = probe_with(&o, "[::1]:%d,2", port);
	ck_result(r, PROBE_DENIED);
	r = probe_with(&o, "192.168.1.1:%d,2", port);
	ck_result(r, PROBE_DENIED);
	c = accept(lfd, NULL, NULL);
	ck_assert_int_eq(c, -1);
	close(lfd);
}
END_TEST

/*
 * IPv6 spellings of 127.0.0.1 (issue 13): denied before any connect, and
 * an allow exception for 127.0.0.0/8 applies to them the same way.
 */
START_TEST(test_deny_embedded)
{
	static const char *const forms[] = {
		"::127.0.0.1", "0:0:0:0:0:0:7f00:1", "::ffff:0:7f00:1",
		"64:ff9b:1::7f00:1", "2002:7f00:1::", "64:ff9b::7f00:1",
		"2001:0:4136:e378:8000:63bf:80ff:fffe",	/* Teredo */
	};
	struct probe_opts	 o = opts(3000);
	struct netaddr_cidr	 one;
	struct netaddr_cidr_list	 l = { 1, &one };
	struct res		*r;
	size_t			 i;

	o.allow = &allow_none;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		r = probe_with(&o, "[%s]:443,2", forms[i]);
		ck_result(r, PROBE_DENIED);
		ck_assert_msg(r->out.attempts == 0, "%s: %d connects",
		    forms[i], r->out.attempts);
	}
	/* Allowing 127.0.0.0/8 allows its embedded spellings too ... */
	ck_assert_int_eq(netaddr_parse_cidr("127.0.0.0/8", &one), 0);
	o.allow = &l;
	r = probe_with(&o, "[::127.0.0.1]:443,2");
	ck_assert_int_ne(r->out.result, PROBE_DENIED);
	ck_assert_int_ge(r->out.attempts, 1);
	/* ... but not the prefixes denied whole. */
	r = probe_with(&o, "[64:ff9b:1::7f00:1]:443,2");
	ck_result(r, PROBE_DENIED);
}
END_TEST

START_TEST(test_deny_name)
{
	struct probe_opts	 o = opts(3000);
	struct res		*r;
	int			 port, lfd;

	o.allow = &allow_none;
	lfd = listen_on(AF_INET, 16, &port);
	r = probe_with(&o, "localhost:%d,2", port);
	ck_result(r, PROBE_DENIED);
	ck_assert_int_eq(fd_set_nonblock(lfd), 0);
	ck_assert_int_eq(accept(lfd, NULL, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(lfd);
}
END_TEST

START_TEST(test_allow)
{
	int			 port = s_server(AF_INET, "-cert", c_ec.pem,
				    "-key", c_ec.key, (const char *)NULL);
	struct probe_opts	 o = opts(10000);
	struct netaddr_cidr	 one;
	struct netaddr_cidr_list	 l = { 1, &one };
	struct res		*r;

	/* Only 127.0.0.0/8 allowed out of the default deny list. */
	ck_assert_int_eq(netaddr_parse_cidr("127.0.0.0/8", &one), 0);
	o.allow = &l;
	r = probe_with(&o, "127.0.0.1:%d,2", port);
	ck_cert(r, &c_ec);
	r = probe_with(&o, "localhost:%d,2", port);
	ck_cert(r, &c_ec);
	/* No deny list at all. */
	o.deny = NULL;
	o.allow = NULL;
	r = probe_with(&o, "127.0.0.1:%d,2", port);
	ck_cert(r, &c_ec);
}
END_TEST

START_TEST(test_dns)
{
	const char		*dns = dns_server();
	int			 port = s_server(AF_INET, "-cert", c_rsa.pem,
				    "-key", c_rsa.key, "-servername",
				    "loop.test", "-cert2", c_sni.pem, "-key2",
				    c_sni.key, (const char *)NULL);
	struct probe_opts	 o = opts(3000);
	struct res		*r;
	char			 addr[64];
	int64_t			 t0;

	o.dns_servers = dns;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	r = probe_with(&o, "nx.test:%d,2", port);
	ck_result(r, PROBE_DNS);
	r = probe_with(&o, "empty.test:%d,2", port);
	ck_result(r, PROBE_DNS);
	/* A name resolving to private addresses is denied. */
	r = probe_with(&o, "private.test:%d,2", port);
	ck_result(r, PROBE_DENIED);
	ck_assert_int_eq(r->out.attempts, 0);
	r = probe_with(&o, "private6.test:%d,2", port);
	ck_result(r, PROBE_DENIED);
	/* Resolved, allowed, with SNI "loop.test". */
	r = probe_with(&o, "loop.test:%d,2", port);
	ck_cert(r, &c_sni);
	ck_assert_str_eq(r->out.addr, addr);
	/* Denied addresses are skipped, the allowed one is used (SNI
	   "mixed.test" is not the server's name: default certificate). */
	r = probe_with(&o, "mixed.test:%d,2", port);
	ck_cert(r, &c_rsa);
	ck_assert_str_eq(r->out.addr, addr);
	ck_assert_int_eq(r->out.attempts, 1);
	/* ::1 refused (s_server on 127.0.0.1 only), then 127.0.0.1. */
	r = probe_with(&o, "fallback.test:%d,2", port);
	ck_cert(r, &c_rsa);
	ck_assert_str_eq(r->out.addr, addr);
	if (have_ipv6)		/* RFC 6724 order: ::1 first */
		ck_assert_int_eq(r->out.attempts, 2);
	/* A resolver that never answers: the probe deadline covers DNS. */
	o.timeout_ms = 600;
	t0 = mono_ms();
	r = probe_with(&o, "silentdns.test:%d,2", port);
	ck_result(r, PROBE_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(r->out.detail, "resolving"));
	ck_assert_int_le(mono_ms() - t0, 900);
}
END_TEST

/* More jobs than slots, mixed classes, a queue in front of the engine. */
START_TEST(test_mixed_queue)
{
	int			 live = s_server(AF_INET, "-cert", c_ec.pem,
				    "-key", c_ec.key, (const char *)NULL);
	int			 silent = fake_server(FAKE_SILENT);
	int			 refused = free_port(AF_INET);
	struct probe_opts	 o = opts(800);
	struct probe_engine	*e;
	struct probe_stats	 st;
	static struct res	 r[40];
	char			 ids[40][64], err[256];
	struct pollfd		 pfd;
	int			 i, next = 0, t, n[PROBE_NRESULTS];
	int64_t			 t0, end;

	memset(r, 0, sizeof(r));
	memset(n, 0, sizeof(n));
	for (i = 0; i < 40; i++) {
		switch (i % 4) {
		case 0:
			snprintf(ids[i], sizeof(ids[i]), "127.0.0.1:%d,2",
			    live);
			break;
		case 1:
			snprintf(ids[i], sizeof(ids[i]), "127.0.0.1:%d,2",
			    silent);
			break;
		case 2:
			snprintf(ids[i], sizeof(ids[i]), "127.0.0.1:%d,2",
			    refused);
			break;
		default:
			snprintf(ids[i], sizeof(ids[i]), "10.9.8.%d:443,2", i);
			break;
		}
	}
	o.concurrency = 6;
	e = probe_engine_new(&o);
	ck_assert_ptr_nonnull(e);
	t0 = mono_ms();
	end = t0 + 30000;
	while (mono_ms() < end) {
		while (next < 40 && probe_submit(e, ids[next],
		    strlen(ids[next]), done_cb, &r[next], err,
		    sizeof(err)) == 0)
			next++;
		ck_assert_uint_le(probe_inflight(e), 6);
		if (next == 40 && probe_inflight(e) == 0)
			break;
		pfd.fd = probe_engine_fd(e);
		pfd.events = POLLIN;
		t = probe_engine_timeout(e);
		ck_assert_int_ge(t, 0);
		(void)poll(&pfd, 1, t > 100 ? 100 : t);
		probe_engine_process(e);
	}
	ck_assert_int_eq(next, 40);
	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(r[i].called, 1);
		ck_assert_str_eq(r[i].svc, ids[i]);
		n[r[i].out.result]++;
		switch (i % 4) {
		case 0:
			ck_cert(&r[i], &c_ec);
			break;
		case 1:
			ck_result(&r[i], PROBE_TIMEOUT);
			break;
		case 2:
			ck_result(&r[i], PROBE_REFUSED);
			break;
		default:
			ck_result(&r[i], PROBE_DENIED);
			break;
		}
	}
	probe_engine_stats(e, &st);
	ck_assert_uint_eq(st.submitted, 40);
	for (i = 0; i < PROBE_NRESULTS; i++)
		ck_assert_uint_eq(st.results[i], (uint64_t)n[i]);
	ck_assert_int_eq(n[PROBE_OK], 10);
	ck_assert_int_eq(n[PROBE_TIMEOUT], 10);
	/* 10 silent probes of 800 ms on 6 slots: about 2 rounds. */
	ck_assert_int_lt(mono_ms() - t0, 4000);
	probe_engine_free(e);
}
END_TEST

static void
wrong_cb(void *arg, const char *svc, size_t len, const struct probe_outcome *o)
{
	(void)svc;
	(void)len;
	(void)o;
	((struct res *)arg)->wrong++;
}

/* Freeing an engine cancels everything without callbacks. */
START_TEST(test_free_inflight)
{
	const char		*dns = dns_server();
	int			 silent = fake_server(FAKE_SILENT);
	int			 half = fake_server(FAKE_HALF);
	struct probe_opts	 o = opts(5000);
	struct probe_engine	*e;
	struct pollfd		 pfd;
	struct res		 r;
	char			 id[64], err[256];
	int64_t			 end;

	memset(&r, 0, sizeof(r));
	o.dns_servers = dns;
	e = probe_engine_new(&o);
	ck_assert_ptr_nonnull(e);
	/* connected, waiting for a ServerHello */
	snprintf(id, sizeof(id), "127.0.0.1:%d,2", silent);
	ck_assert_int_eq(probe_submit(e, id, strlen(id), wrong_cb, &r, err,
	    sizeof(err)), 0);
	/* in the resolver */
	snprintf(id, sizeof(id), "silentdns.test:%d,2", silent);
	ck_assert_int_eq(probe_submit(e, id, strlen(id), wrong_cb, &r, err,
	    sizeof(err)), 0);
	/* in the middle of a handshake */
	snprintf(id, sizeof(id), "127.0.0.1:%d,2", half);
	ck_assert_int_eq(probe_submit(e, id, strlen(id), wrong_cb, &r, err,
	    sizeof(err)), 0);
	end = mono_ms() + 300;
	while (mono_ms() < end) {
		pfd.fd = probe_engine_fd(e);
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, 50);
		probe_engine_process(e);
	}
	ck_assert_uint_eq(probe_inflight(e), 3);
	/* finished, but its callback not run yet */
	ck_assert_int_eq(probe_submit(e, "10.1.1.1:443,2", 14, wrong_cb, &r,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(probe_inflight(e), 4);
	probe_engine_free(e);
	ck_assert_int_eq(r.wrong, 0);
}
END_TEST

/* A callback may submit the next probe (the slot is already free). */
struct chain {
	struct probe_engine	*e;
	char			 id[64];
	int			 left;
	int			 ok;
};

static void
chain_cb(void *arg, const char *svc, size_t len, const struct probe_outcome *o)
{
	struct chain	*c = arg;
	char		 err[256];

	(void)svc;
	(void)len;
	if (o->result == PROBE_OK)
		c->ok++;
	if (--c->left > 0)
		ck_assert_int_eq(probe_submit(c->e, c->id, strlen(c->id),
		    chain_cb, c, err, sizeof(err)), 0);
}

START_TEST(test_submit_from_callback)
{
	int			 live = s_server(AF_INET, "-cert", c_ec.pem,
				    "-key", c_ec.key, (const char *)NULL);
	struct probe_opts	 o = opts(5000);
	struct chain		 c;
	char			 err[256];

	o.concurrency = 1;
	c.e = probe_engine_new(&o);
	ck_assert_ptr_nonnull(c.e);
	snprintf(c.id, sizeof(c.id), "127.0.0.1:%d,2", live);
	c.left = 5;
	c.ok = 0;
	ck_assert_int_eq(probe_submit(c.e, c.id, strlen(c.id), chain_cb, &c,
	    err, sizeof(err)), 0);
	engine_run(c.e, 20000);
	ck_assert_int_eq(c.left, 0);
	ck_assert_int_eq(c.ok, 5);
	probe_engine_free(c.e);
}
END_TEST

Suite *
tu_suite(void)
{
	Suite	*s = suite_create("probe");
	TCase	*tc;

	tc = tcase_create("engine");
	tcase_add_unchecked_fixture(tc, lists_setup, lists_teardown);
	tcase_add_checked_fixture(tc, kids_setup, kids_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_result_names);
	tcase_add_test(tc, test_invalid_ids);
	tcase_add_test(tc, test_concurrency_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("servers");
	tcase_add_unchecked_fixture(tc, certs_setup, tu_tmpdir_teardown);
	tcase_add_unchecked_fixture(tc, lists_setup, lists_teardown);
	tcase_add_checked_fixture(tc, kids_setup, kids_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rsa);
	tcase_add_test(tc, test_ecdsa);
	tcase_add_test(tc, test_dual_cert);
	tcase_add_test(tc, test_tls13_only);
	tcase_add_test(tc, test_tls12_only);
	tcase_add_test(tc, test_sni);
	tcase_add_test(tc, test_sni_per_probe);
	tcase_add_test(tc, test_timeout_per_probe);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_tls_alert);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_silent);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_huge_cert);
	tcase_add_test(tc, test_slow_drip);
	tcase_add_test(tc, test_half_handshake);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_eof_http_nocert);
	tcase_add_test(tc, test_deny_literal);
	tcase_add_test(tc, test_deny_embedded);
	tcase_add_test(tc, test_deny_name);
	tcase_add_test(tc, test_allow);
	tcase_add_test(tc, test_dns);
	tcase_add_test(tc, test_mixed_queue);
	tcase_add_test(tc, test_free_inflight);
	tcase_add_test(tc, test_submit_from_callback);
	suite_add_tcase(s, tc);
	return (s);
}
