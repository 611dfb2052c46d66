/*
 * natsauth.h - the NATS credentials of the configuration (see
 * natsauth.c).
 */
#ifndef NOTARYD_NATSAUTH_H
#define NOTARYD_NATSAUTH_H

struct conf;

/*
 * Put nats.credentials or nats.token_file (if set) into opts, a
 * natsOptions *.  0, or -1 (logged).
 */
int natsauth_set(void *opts, const struct conf *cf);

#endif
