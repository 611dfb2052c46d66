/*
 * signer_int.h - the signer process's state, shared by signer.c (the
 * loop, the Perspectives replies) and signer_conv.c (the Convergence
 * replies, parked requests, handshake key operations).  Private to the
 * signer: nothing else includes it.
 */
#ifndef NOTARYD_SIGNER_INT_H
#define NOTARYD_SIGNER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/proc.h"
#include "server/conv_wait.h"
#include "server/convergence.h"
#include "server/sigproto.h"
#include "store/dbenv.h"
#include "store/obs.h"
#include "store/schedule.h"

#define SIGNER_MAX_CLIENTS 256 /* worker connections */
#define SIGNER_MAX_SPANS   OBS_MAX_SPANS

struct signer {
	struct proc_ctx   *ctx;
	const struct conf *cf;
	EVP_PKEY          *key;
	EVP_PKEY          *conv_key;  /* NULL: no Convergence */
	struct conv_row   *conv_rows; /* CONV_ROWS_MAX */
	struct conv_waits  waits;     /* parked for a probe */
	DB_ENV            *env;
	struct obs_db      obs;
	struct sched_db    sched;
	int                clients[SIGNER_MAX_CLIENTS];
	size_t             nclients;
	struct obs_span   *spans;
	struct buf         reply;
	/* on-demand requests: a token bucket, on_demand_limit per second */
	double             od_tokens;
	int64_t            od_refill;
};

/* signer.c */
int make_parent_dir(const char *path);
void
send_reply(int fd, uint32_t seq, uint8_t status, const void *body, size_t len);
/* p says how to probe (NULL: as scanner.sni). */
int queue_probe_id(
    struct signer *s, const char *id, size_t len, const struct sched_probe *p);

/* signer_conv.c */
int  signer_conv_keys(struct signer *s);
void answer_conv(struct signer *s, int fd, const struct sigproto_req *rq);
void answer_keyop(struct signer *s, int fd, const struct sigproto_req *rq);
int  persp_hold(struct signer *s, int fd, const struct sigproto_req *rq);
void conv_note(struct signer *s, const char *svc, size_t len);
void conv_expire(struct signer *s);

#endif
