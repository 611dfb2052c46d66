/*
 * ct_parse.h - the pure (no I/O) half of the CT watcher: split RFC 6962
 * entries and static-CT data tiles, parse the certificates with OpenSSL,
 * and serialise each entry once into the three certstream messages
 * (full, lite, domains-only, byte-exact with certstream-server-go) plus
 * the NAMES list, packed as one common/streamrec record ready for
 * ring_publish().
 *
 * Runs in the ctwatch process, single-threaded (a struct ct_parser must not
 * be shared between threads).  Every input is untrusted: every length is
 * checked before use; a malformed entry returns -1 with a one-line reason
 * in err (nothing is logged here: the caller counts it, logs it rate-
 * limited, and still advances past the index).  Allocation failure aborts
 * (common/xmalloc.h).
 *
 * Typical use (RFC 6962):
 *	p = ct_parser_new();
 *	ct_source_url(url, sizeof(url), list_url);  src.url = url; ...
 *	buf_init(&rec, ring_max_record(ring));
 *	for each entry i of a get-entries reply:
 *		buf_reset(&rec);
 *		if (ct_entry_rfc6962(p, &rec, &src, start + i, leaf, leaflen,
 *		    extra, extralen, now_ms / 1000.0, NULL, err, sizeof(err)) == 0)
 *			ring_publish(ring, STREAMREC_TYPE_ENTRY, rec.data, rec.len);
 *		else
 *			count a parse error (the index still advances);
 * Static-CT: for (off = 0; off < tile_len; off += n) { n =
 * ct_tile_leaf_next(tile + off, tile_len - off, &leaf, ...); resolve
 * leaf.fp[] into a struct ct_chain; ct_entry_tiled(...); }
 */
#ifndef NOTARYD_CT_PARSE_H
#define NOTARYD_CT_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define CT_MAX_CHAIN 16         /* chain certificates per entry */
#define CT_MAX_CERT  (1u << 20) /* largest certificate DER */
#define CT_ERRLEN    128        /* suggested err buffer size */

/* Where an entry comes from.  All strings are NUL-terminated UTF-8. */
struct ct_source {
	const char *name;          /* log list "description" */
	const char *url;           /* normalised: see ct_source_url() */
	const char *operator_name; /* not serialised (GO: json:"-") */
	int         tiled;         /* 0 RFC 6962, 1 static-CT */
	uint32_t    log_id;        /* status table index or UINT32_MAX */
};

/*
 * Normalise a log URL as certstream-server-go does for source.url: strip
 * trailing '/' characters, prepend "https://" unless it starts with
 * "https://" or "http://".
 * Returns 0, or -1 when dst is too small or url is empty.
 */
int ct_source_url(char *dst, size_t dstlen, const char *url);

/*
 * One TileLeaf of a static-CT data tile (C2SP static-ct-api).  Pointers
 * point into the tile passed to ct_tile_leaf_next().
 */
struct ct_tile_leaf {
	uint64_t       timestamp; /* ms since the epoch (SCT time) */
	int            is_precert;
	const uint8_t *entry; /* the TimestampedEntry bytes */
	size_t         entry_len;
	const uint8_t *cert; /* x509: leaf DER; precert: TBS DER */
	size_t         cert_len;
	const uint8_t *issuer_key_hash; /* precert only: 32 bytes */
	const uint8_t *precert;         /* precert: pre_certificate DER */
	size_t         precert_len;
	uint8_t        fp[CT_MAX_CHAIN][32]; /* SHA-256 of each chain cert */
	size_t         nfp;
};

/*
 * Split the next TileLeaf off p[0..len).  Returns the number of bytes
 * consumed (> 0), or -1 when the leaf is malformed or truncated (err
 * filled).  A tile whose leaves do not consume it exactly is malformed.
 * A chain of more than CT_MAX_CHAIN fingerprints is malformed.  After a
 * -1 the rest of the tile cannot be split (leaves have no outer length):
 * the caller counts the remaining indexes of the tile as malformed.
 */
long ct_tile_leaf_next(const uint8_t *p, size_t len, struct ct_tile_leaf *out,
    char *err, size_t errlen);

/* The issuer chain of one entry, leaf's issuer first.  der[i] may be NULL
 * (with len[i] 0) for a tiled fingerprint that could not be resolved: such
 * a certificate is left out of "chain". */
struct ct_chain {
	const uint8_t *der[CT_MAX_CHAIN];
	size_t         len[CT_MAX_CHAIN];
	size_t         n;
};

/* Parser state: a cache of serialised chain certificates (intermediates
 * repeat in nearly every entry) and scratch buffers. */
struct ct_parser;

struct ct_parser_stats {
	uint64_t entries;    /* records built */
	uint64_t malformed;  /* -1 returns */
	uint64_t chain_hits; /* chain certs served from the cache */
	uint64_t chain_misses;
};

struct ct_parser *ct_parser_new(void);
void              ct_parser_free(struct ct_parser *p);
void ct_parser_stats(const struct ct_parser *p, struct ct_parser_stats *st);

/*
 * Build one entry's streamrec record (sections FULL, LITE, DOMAINS, NAMES;
 * flags STREAMREC_F_PRECERT and STREAMREC_F_TILED as they apply; log_id
 * from src) and append it to out.  out's bound should be the ring's
 * ring_max_record(): an entry whose record does not fit is malformed.
 *
 * seen: the time the entry was fetched, seconds since the epoch with
 *   millisecond precision, i.e. (double)ms / 1000, as GO does.
 * dedup_hash (may be NULL): receives SHA-256 of the leaf TBSCertificate
 *   with the CT poison and the SCT list extensions removed, so that a
 *   precertificate and its final certificate get the same value.
 *
 * Returns 0, or -1 for a malformed entry (err filled, out unchanged).
 */
int ct_entry_rfc6962(struct ct_parser *p, struct buf *out,
    const struct ct_source *src, uint64_t index, const uint8_t *leaf_input,
    size_t leaf_len, const uint8_t *extra_data, size_t extra_len, double seen,
    uint8_t dedup_hash[32], char *err, size_t errlen);

/*
 * The same for a static-CT leaf; chain (may be NULL) holds the resolved
 * issuers in leaf->fp order (cert_link is "" for tiled logs).  When
 * chain->n == leaf->nfp the fingerprints key the chain cache, so the
 * caller must have checked SHA-256(der[i]) == fp[i] when it resolved them
 * (the /issuer/ cache does this once per issuer).
 */
int ct_entry_tiled(struct ct_parser *p, struct buf *out,
    const struct ct_source *src, uint64_t index,
    const struct ct_tile_leaf *leaf, const struct ct_chain *chain, double seen,
    uint8_t dedup_hash[32], char *err, size_t errlen);

#endif
