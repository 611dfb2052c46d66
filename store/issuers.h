/*
 * issuers.h - issuer certificates of static-CT logs, by the SHA-256 of
 * their DER, kept in issuers.db so that a restarted ctwatch need not ask
 * the logs for them again (they are immutable: the key is the content's
 * hash, and a row is checked against it when written and when read).
 *
 * Used by ctwatch only.  One short transaction per call (db_txn_run).
 */
#ifndef NOTARYD_ISSUERS_H
#define NOTARYD_ISSUERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "store/dbenv.h"

#define ISSUERS_MAX_DER (64u << 10) /* largest issuer certificate */

/* Open issuers.db.  0 or a Berkeley DB code (logged). */
int issuers_open(DB_ENV *env, DB **db);
/*
 * Look up fp.  0 found (DER appended to out, which it must fit), 1 not
 * stored (or a stored row that does not hash to fp), -1 error (logged).
 */
int issuers_get(DB_ENV *env, DB *db, const uint8_t fp[32], struct buf *out);
/* Store der under fp; -1 if SHA-256(der) != fp or on error (logged). */
int issuers_put(
    DB_ENV *env, DB *db, const uint8_t fp[32], const uint8_t *der, size_t len);

#endif
