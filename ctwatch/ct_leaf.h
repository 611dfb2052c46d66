/*
 * ct_leaf.h - split the binary CT structures (RFC 6962 MerkleTreeLeaf and
 * extra_data; static-CT TileLeaf is in ct_parse.h) into pointers into the
 * caller's bytes.  Pure functions, no allocation, used by ctwatch.
 */
#ifndef NOTARYD_CT_LEAF_H
#define NOTARYD_CT_LEAF_H

#include <stddef.h>
#include <stdint.h>

#include "ctwatch/ct_parse.h"

enum { CT_ENTRY_X509 = 0, CT_ENTRY_PRECERT = 1 };

/* One entry, split.  All pointers point into the caller's buffers. */
struct ct_leaf {
	uint64_t        timestamp; /* ms */
	int             is_precert;
	const uint8_t  *cert; /* x509: certificate; precert: TBS */
	size_t          cert_len;
	const uint8_t  *issuer_key_hash; /* precert: 32 bytes */
	const uint8_t  *ext;             /* CtExtensions */
	size_t          ext_len;
	const uint8_t  *precert; /* precert: pre_certificate DER */
	size_t          precert_len;
	struct ct_chain chain;
};

/*
 * Parse a MerkleTreeLeaf (leaf_input): version 0, leaf_type 0, then a
 * TimestampedEntry; no trailing bytes.  Fills timestamp, is_precert, cert,
 * issuer_key_hash, ext.  0, or -1 (err filled).
 */
int ct_leaf_parse(
    const uint8_t *p, size_t len, struct ct_leaf *l, char *err, size_t errlen);

/*
 * Parse extra_data for the entry type already in l: x509 gets
 * certificate_chain; precert gets pre_certificate and precertificate_chain.
 * No trailing bytes; every certificate non-empty; at most CT_MAX_CHAIN.
 * 0, or -1 (err filled).
 */
int ct_extra_parse(
    const uint8_t *p, size_t len, struct ct_leaf *l, char *err, size_t errlen);

#endif
