/*
 * ct_tiled.h - the follower of one static-CT ("tiled") log: the
 * checkpoint every ctwatch.poll_interval (note signature checked with the
 * log key when known), full data tiles, the partial tile only for the
 * tail (never twice for the same width), TileLeaf entries split by the
 * parser, issuers resolved through a cache kept in the database.
 *
 * Runs in ctwatch, from its event loop (ct_log_step), single-threaded.
 */
#ifndef NOTARYD_CT_TILED_H
#define NOTARYD_CT_TILED_H

#include <stddef.h>
#include <stdint.h>

#include "store/dbenv.h"

struct ct_log;
struct ct_tiled;
struct ct_issuers;

struct ct_tiled *ct_tiled_new(struct ct_log *l);
void             ct_tiled_free(struct ct_tiled *t);
void             ct_tiled_step(struct ct_tiled *t);

/*
 * The issuer cache shared by every static-CT log: in memory (bounded,
 * CT_ISSUERS_MEM entries) over issuers.db.
 */
#define CT_ISSUERS_MEM 4096
struct ct_issuers *ct_issuers_new(DB_ENV *env, DB *db);
void               ct_issuers_free(struct ct_issuers *c);
/* The DER of fp, or NULL when not known yet (*len set). */
const uint8_t     *
ct_issuers_get(struct ct_issuers *c, const uint8_t fp[32], size_t *len);
/* Remember der as fp (checked: SHA-256(der) == fp).  0/-1. */
int ct_issuers_put(
    struct ct_issuers *c, const uint8_t fp[32], const uint8_t *der, size_t len);

#endif
