/*
 * perspectives.h - the Perspectives v1 notary protocol: query parsing,
 * the signed byte string, the reply XML and its RSA-MD5 signature
 * (shared/spec/perspectives.md §1 and §2).
 *
 * Who uses what:
 *   - HTTP workers: persp_parse_query only.  It is pure (no key, no I/O,
 *     no allocation), so a worker can answer 400 or the index page without
 *     asking anybody.
 *   - the signer process: persp_build_reply (and persp_sign through it);
 *     the private key never leaves that process.
 *   - tests and notaryctl: persp_verify, persp_parse_reply.
 *
 * Spans are struct obs_span (scanner/obs.h) in "document order": the spans
 * of one key are adjacent, and each run of equal md5 values is one <key>
 * element.  obs_read returns keys ascending by md5 bytes (which is also
 * ascending by the lowercase colon-hex string the spec asks for) and spans
 * ascending by start, which is exactly the order the reply must have.
 *
 * Nothing here logs: failures are return values, and the caller decides
 * what to log (never client data beyond the service id).
 */
#ifndef NOTARYD_PERSPECTIVES_H
#define NOTARYD_PERSPECTIVES_H

#include <stddef.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "store/obs.h"
#include "store/svcid.h"

#define PERSP_SIG_MAX    512 /* bytes; a 4096-bit key at most */
#define PERSP_V1_SIG_LEN 172 /* a 1369..1376-bit modulus */

/* ---- queries (§1.2, §1.6, §1.7) ------------------------------------- */

enum persp_query_status {
	PERSP_QUERY_OK = 0,    /* a service query: look it up */
	PERSP_QUERY_INDEX = 1, /* no parameters: the index page */
	PERSP_QUERY_BAD = 400, /* answer 400 */
};

struct persp_query {
	int         status; /* enum persp_query_status */
	int         type;   /* 1 (ssh) or 2 (ssl) when OK */
	int         probe;  /* OK and type 2: may be probed */
	size_t      idlen;
	char        id[SVCID_MAX + 1]; /* host:port,type + NUL */
	const char *why;               /* static text for a 400 (debug log) */
};

/*
 * Parse the parameters of a request to "/" or "/index".  query is the raw
 * query string without the '?' (NULL or empty when there is none); body
 * is an application/x-www-form-urlencoded body or NULL.  Both have the
 * same syntax and form one parameter set, as CherryPy merges them.
 *
 * Syntax, as CherryPy's parse_qs (keep_blank_values) reads it:
 *   - segments are separated by '&' and also by ';' (CherryPy and Python
 *     2 split on both); empty segments are ignored, so the trailing '&'
 *     of the Firefox client is harmless;
 *   - a segment is split at its first '='; a segment without '=' is a
 *     parameter with an empty value ("host" is host="", "foo" is an
 *     unknown parameter);
 *   - names and values are decoded exactly once: '+' is a space, then
 *     "%XX" is the byte XX; a '%' not followed by two hex digits stays a
 *     literal '%' (Python's unquote).
 *
 * Decision, in the order of spec §1.2; every failure is PERSP_QUERY_BAD:
 *   1. a name other than host, port, service_type; a repeated name;
 *   2. no parameter at all (empty query, "&&&"): PERSP_QUERY_INDEX;
 *   3. service_type absent: "2"; it must then be exactly "1" or "2";
 *   4. port absent: "22" for type 1, "443" for type 2; a present port
 *      (even a blank one) must be decimal 1..65535 without a leading
 *      zero (what svcid_parse accepts, and what clients send);
 *   5. host absent or empty; a host with a control byte (NUL included) or
 *      a byte >= 0x80 after decoding (it could never verify in Firefox);
 *   6. the id host ":" port "," type, built byte for byte from the decoded
 *      values (never lowercased or trimmed), longer than SVCID_MAX;
 *   7. an id that svcid_parse rejects (see below).
 *
 * Choice beyond the reference server: an id that svcid_parse refuses
 * (spaces, '%', unbracketed junk, labels over 63 bytes ...) answers 400
 * instead of 404.  The reference accepts anything, but such an id can
 * never be probed and never be in the database, so 400 tells the client
 * the same "retry later" (spec §3.1) without a database read.  Among
 * them: a trailing dot, IPv4 spellings other than the dotted quad, an
 * IPv6 address without brackets.
 *
 * probe is 1 for type-2 services: only those get an on-demand TLS probe
 * (spec §10 #17).  Returns q->status.
 */
int persp_parse_query(const char *query, size_t qlen, const char *body,
    size_t blen, struct persp_query *q);

/* ---- signed bytes, signature, reply (§2) ---------------------------- */

/*
 * Append the signed byte string (spec §2.3) to out: svc, 0x00, then one
 * block per key in the REVERSE of document order: u16 BE number of spans
 * (mod 65536), 0x00 0x10, 0x03, the 16 md5 bytes, and per span u32 BE
 * start, u32 BE end (mod 2^32), in the given order.  This is what the
 * client computes from a reply, so no order is checked here (see
 * persp_build_reply for that).  0, or -1 (svc empty, longer than
 * SVCID_MAX or containing NUL; n == 0; out full) with out unchanged.
 */
int persp_pack(const char *svc, size_t len, const struct obs_span *spans,
    size_t n, struct buf *out);

/*
 * RSASSA-PKCS1-v1_5 with MD5 over data.  The signature is always exactly
 * EVP_PKEY_get_size(key) bytes, leading zero bytes kept (172 for a 1369-bit
 * key).  sigmax must be at least that.  0, or -1 (not an RSA private key,
 * OpenSSL failure).
 */
int persp_sign(EVP_PKEY *key, const void *data, size_t len, unsigned char *sig,
    size_t sigmax, size_t *siglen);
/* Check such a signature: 1 valid, 0 invalid (any length mismatch too). */
int persp_verify_data(EVP_PKEY *pub, const void *data, size_t len,
    const unsigned char *sig, size_t siglen);

/*
 * Append the complete signed reply for svc to out, laid out byte for byte
 * as Python 2.7 minidom's toprettyxml prints the reference server's
 * document: attributes sorted by name, TAB indentation, "\n" after every
 * line including the last, "/>" for timestamps, no XML declaration:
 *
 *   <notary_reply sig="B64" sig_type="rsa-md5" version="1">
 *   \t<key fp="aa:..:ff" type="ssl">
 *   \t\t<timestamp end="E" start="S"/>
 *   \t</key>
 *   </notary_reply>
 *
 * type 2 is "ssl", 1 is "ssh".  sig is one line of standard base64 of
 * persp_sign over persp_pack of the same spans.  The spans must be a
 * reply the spec allows: n >= 1 (no observations is a 404, not a reply),
 * keys strictly ascending by md5 bytes (so no key appears twice), spans of
 * a key ascending by start, 0 <= start <= end.  0, or -1 (arguments
 * refused, signing failed, out full) with out unchanged.
 */
int persp_build_reply(const char *svc, size_t len, int type,
    const struct obs_span *spans, size_t n, EVP_PKEY *key, struct buf *out);

/*
 * Does sig verify for these spans under svc, packed as a client packs
 * them?  1 yes, 0 no, -1 when the spans cannot be packed.  Checks only the
 * signature (the client also refuses a span with end < start).
 */
int persp_verify(const char *svc, size_t len, const struct obs_span *spans,
    size_t n, const unsigned char *sig, size_t siglen, EVP_PKEY *pub);

/* ---- reading replies (tests, notaryctl) ----------------------------- */

struct persp_reply {
	int              type; /* 1 ssh, 2 ssl */
	size_t           nkeys;
	size_t           nspans;
	struct obs_span *spans; /* document order */
	size_t           siglen;
	unsigned char    sig[PERSP_SIG_MAX];
};

/*
 * Read a <notary_reply> as notaryd, the reference server or api.md write
 * it: whitespace between elements and inside the sig value is ignored,
 * attributes may come in any order (unknown ones are skipped), quotes may
 * be ' or ", an XML declaration is skipped, and <timestamp> may be empty
 * or closed by </timestamp>.  version must be "1" and sig_type "rsa-md5"
 * (the client compares them exactly).  Refused: fingerprints that are not
 * 16 lowercase colon-hex octets, a key without timestamps, the same key in
 * two adjacent elements (it would merge into one block), mixed key types,
 * non-decimal times, entities, comments and any other element.  Not a
 * general XML parser.  0 (free with persp_reply_free), or -1 with a reason
 * in err.
 */
int  persp_parse_reply(const char *xml, size_t len, struct persp_reply *r,
     char *err, size_t errlen);
void persp_reply_free(struct persp_reply *r);

#endif
