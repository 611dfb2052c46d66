/*
 * natsauth.h - the libnats options every NATS client of notaryd starts
 * from (see natsauth.c).
 */
#ifndef NOTARYD_NATSAUTH_H
#define NOTARYD_NATSAUTH_H

#include <stddef.h>

#include <nats/nats.h>

struct conf;

/*
 * New options for the servers of nats.url, the client name and the
 * credentials of nats.credentials or nats.token_file (if set).  NULL
 * with the reason in why on failure; nothing is logged here, because a
 * replay thread of an HTTP worker calls it too.
 */
natsOptions *natsauth_options(
    const struct conf *cf, const char *name, char *why, size_t whylen);

#endif
