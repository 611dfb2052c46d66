/*
 * probe_impl.h - what the two halves of the probe engine share: the
 * engine and probe state, and the functions one half calls in the other.
 * Internal to scanner/probe.c (submitting, DNS, connecting, the event
 * loop) and scanner/probe_tls.c (the socket BIO and the TLS handshake).
 */
#ifndef NOTARYD_SCANNER_PROBE_IMPL_H
#define NOTARYD_SCANNER_PROBE_IMPL_H

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ares.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "scanner/probe.h"
#include "store/svcid.h"
#include "common/util.h"
#include "common/xmalloc.h"


#define ARES_TAG   (UINT64_C(1) << 63)
#define GEN_MASK   0x7fffffffu
#define EVENTS_MAX 256
#define PROBE_WBUF 2048 /* client flights are smaller */

enum pstate {
	P_FREE = 0,
	P_DNS,
	P_CONNECT,
	P_TLS,
	P_DONE,
};

struct dnsreq {
	struct probe *p; /* NULL once the probe gave up */
};

struct probe {
	struct probe_engine *e;
	uint32_t             idx;
	uint32_t             gen;
	enum pstate          state;
	char                 svc[SVCID_MAX + 1];
	size_t               svclen;
	struct svcid         sid;
	probe_done_fn        cb;
	void                *arg;
	int64_t              start;
	int64_t              deadline;
	int                  sni;         /* send SNI (DNS names only) */
	struct probe        *prev, *next; /* deadline list / free list */
	struct probe        *dnext;       /* done list */
	struct dnsreq       *dns;

	struct sockaddr_storage addrs[PROBE_MAX_ADDRS];
	socklen_t               alens[PROBE_MAX_ADDRS];
	int                     naddr;
	int                     ai;       /* next address to try */
	int                     nconnect; /* connects attempted */
	int                     ndenied;
	enum probe_result       lastres; /* last failed attempt */
	char                    lastdetail[96];

	int     fd;
	int     registered; /* fd in the epoll set */
	SSL    *ssl;
	uint8_t wbuf[PROBE_WBUF]; /* one flight */
	size_t  wlen;
	size_t  rx;    /* handshake bytes read */
	int     alert; /* -1, or received alert */
	int     eof;
	int     overflow; /* rx reached PROBE_MAX_INPUT */
	int     sockerr;  /* errno of a failed recv/send */

	struct probe_outcome out;
	uint8_t             *der;
};

struct probe_engine {
	struct probe_opts o;
	int               epfd;
	ares_channel      ch;
	SSL_CTX          *ctx;
	BIO_METHOD       *biom;
	EVP_MD           *md5, *sha1, *sha256;

	struct probe      *slots;
	struct probe      *freelist;
	struct probe      *dl_head, *dl_tail; /* by deadline */
	struct probe      *done_head, *done_tail;
	size_t             inflight;
	struct probe_stats st;
};


/* ---- helpers ------------------------------------------------------------ */

enum probe_result probe_errno_class(int err);
int               probe_watch(struct probe *p);
void probe_finish(struct probe *p, enum probe_result r, const char *fmt, ...);
void probe_handshake(struct probe *p);
void probe_start_tls(struct probe *p);
int  probe_engine_tls_init(struct probe_engine *e);

#endif
