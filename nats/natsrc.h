/*
 * natsrc.h - a stream front's source: the natsrc role follows the
 * "<prefix>.record" messages of the JetStream stream an origin's natspub
 * fills and writes them into this notaryd's stream ring (see natsrc.c).
 */
#ifndef NOTARYD_NATSRC_H
#define NOTARYD_NATSRC_H

#include "common/proc.h"

/* The natsrc role (ctwatch.enabled and ctwatch.source: nats). */
extern const struct role_ops natsrc_role;

#endif
