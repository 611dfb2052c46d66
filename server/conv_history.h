/*
 * conv_history.h - the Convergence view of a service's history, read from
 * the observation store (store/obs.h), and the signer's Convergence
 * reply.
 *
 * Convergence keeps one row per (location, certificate): start = the first
 * probe that saw it, finish = the last (spec §4).  The store keeps
 * Perspectives spans keyed by the MD5 of the leaf, with the leaf's DER
 * under its SHA-256; a row is the union of the spans of one certificate,
 * with start = the smallest start and finish = the latest sighting (the
 * spans' seen, not their end: a Perspectives span closed because another
 * key appeared ends one second before that sighting, a Convergence row
 * at its own last sighting), and its fingerprint the SHA-1 of the stored
 * DER.  Spans without a stored DER (imported from a Perspectives notary:
 * MD5 only) cannot give a SHA-1 and are left out.  Spans written before
 * seen was kept read as seen = end.  Nothing expires: every certificate
 * ever recorded stays a row, up to the store's OBS_MAX_SPANS spans per
 * service.
 *
 * Runs in the signer (and tests).  Logs only database failures (obs.c).
 */
#ifndef NOTARYD_CONV_HISTORY_H
#define NOTARYD_CONV_HISTORY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "server/convergence.h"
#include "store/obs.h"

/*
 * The rows of svc ("host:port,2"), newest finish first (conv_sort_rows),
 * at most max.  spans is scratch space for nspans spans.  0 with *n set
 * (0: nothing known), or -1 (database error).
 */
int conv_history_read(struct obs_db *o, const char *svc, size_t len,
    struct obs_span *spans, size_t nspans, struct conv_row *rows, size_t max,
    size_t *n);

/*
 * The signed reply body for svc: SIG_OK (body in out), SIG_UNKNOWN (no
 * row), SIG_UNAVAILABLE (database error, or the reply cannot be built),
 * as enum sigproto_status.  Scratch space as above.
 */
int conv_history_reply(struct obs_db *o, EVP_PKEY *key, const char *svc,
    size_t len, struct obs_span *spans, size_t nspans, struct conv_row *rows,
    size_t max, struct buf *out);

#endif
