/*
 * ct_entry.c - one CT entry to one stream record (ctwatch process): split
 * the entry, parse the leaf and its chain once, and write the full, lite
 * and domains-only certstream messages (certstream-server-go's bytes:
 * envelope and key order of spec §2.1, Encode with SetEscapeHTML(false)
 * and a trailing newline for full/lite, Marshal for domains) plus the
 * lowercase NAMES list, then pack them with streamrec_build().
 *
 * Chain certificates repeat in almost every entry, so their LEAF JSON is
 * kept in a small direct-mapped cache keyed by the SHA-256 of their DER.
 * A malformed entry returns -1 with a reason; nothing is logged here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/json.h"
#include "common/streamrec.h"
#include "common/xmalloc.h"
#include "ctwatch/ct_cert.h"
#include "ctwatch/ct_leaf.h"
#include "ctwatch/ct_parse.h"

#define CACHE_SLOTS   256
#define CACHE_MAXJSON (64u * 1024) /* larger chain certs: not cached */
#define MSG_MAX       (64u * 1024 * 1024)

struct chain_slot {
	uint8_t key[32];
	char   *json;
	size_t  len;
};

struct ct_parser {
	struct buf             scratch, a, b, ca, cb, chain;
	struct buf             full, lite, dom, names, tail;
	struct ct_names        nm, cnm;
	struct chain_slot      cache[CACHE_SLOTS];
	struct ct_parser_stats st;
};

/* What build() needs, from either log kind. */
struct entry_in {
	uint64_t               index;
	uint64_t               ts;
	int                    precert;
	const uint8_t         *cert; /* x509 cert or precert TBS */
	size_t                 cert_len;
	const uint8_t         *hash_der; /* cert or pre_certificate */
	size_t                 hash_len;
	const struct ct_chain *chain;
	const uint8_t (*fp)[32]; /* chain keys when known */
};

int
ct_source_url(char *dst, size_t dstlen, const char *url)
{
	size_t      n = strlen(url);
	const char *pfx = "https://";

	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n == 0)
		return (-1);
	if ((n >= 8 && strncmp(url, "https://", 8) == 0) ||
	    (n >= 7 && strncmp(url, "http://", 7) == 0))
		pfx = "";
	if (strlen(pfx) + n + 1 > dstlen)
		return (-1);
	snprintf(dst, dstlen, "%s%.*s", pfx, (int)n, url);
	return (0);
}

struct ct_parser *
ct_parser_new(void)
{
	struct ct_parser *p = xcalloc(1, sizeof(*p));

	buf_init(&p->scratch, 2 * CT_MAX_CERT);
	buf_init(&p->a, MSG_MAX);
	buf_init(&p->b, MSG_MAX);
	buf_init(&p->ca, MSG_MAX);
	buf_init(&p->cb, MSG_MAX);
	buf_init(&p->chain, MSG_MAX);
	buf_init(&p->full, MSG_MAX);
	buf_init(&p->lite, MSG_MAX);
	buf_init(&p->dom, MSG_MAX);
	buf_init(&p->names, MSG_MAX);
	buf_init(&p->tail, 4096 + 2 * 65536);
	ct_names_init(&p->nm);
	ct_names_init(&p->cnm);
	return (p);
}

void
ct_parser_free(struct ct_parser *p)
{
	size_t i;

	if (p == NULL)
		return;
	buf_free(&p->scratch);
	buf_free(&p->a);
	buf_free(&p->b);
	buf_free(&p->ca);
	buf_free(&p->cb);
	buf_free(&p->chain);
	buf_free(&p->full);
	buf_free(&p->lite);
	buf_free(&p->dom);
	buf_free(&p->names);
	buf_free(&p->tail);
	ct_names_free(&p->nm);
	ct_names_free(&p->cnm);
	for (i = 0; i < CACHE_SLOTS; i++)
		free(p->cache[i].json);
	free(p);
}

void
ct_parser_stats(const struct ct_parser *p, struct ct_parser_stats *st)
{
	*st = p->st;
}

/* The full LEAF JSON (with as_der) of one chain certificate, cached. */
static int
chain_cert(struct ct_parser *p, const uint8_t *der, size_t len,
    const uint8_t *key, struct buf *out, char *err, size_t errlen)
{
	uint8_t            k[32];
	struct chain_slot *s;

	if (key == NULL) {
		SHA256(der, len, k);
		key = k;
	}
	s = &p->cache[(key[0] | key[1] << 8) % CACHE_SLOTS];
	if (s->json != NULL && memcmp(s->key, key, 32) == 0) {
		p->st.chain_hits++;
		if (buf_append(out, s->json, s->len) == 0)
			return (0);
		snprintf(err, errlen, "chain JSON too large");
		return (-1);
	}
	p->st.chain_misses++;
	buf_reset(&p->ca);
	buf_reset(&p->cb);
	if (ct_cert_json(der, len, 0, der, len, 0, &p->ca, &p->cb, &p->cnm, err,
	        errlen) == -1)
		return (-1);
	if (buf_puts(&p->ca, ",\"as_der\":\"") == -1 ||
	    ct_base64(&p->ca, der, len) == -1 ||
	    buf_append(&p->ca, "\"", 1) == -1 ||
	    buf_append(&p->ca, p->cb.data, p->cb.len) == -1) {
		snprintf(err, errlen, "chain certificate JSON too large");
		return (-1);
	}
	if (p->ca.len <= CACHE_MAXJSON) {
		free(s->json);
		s->json = xmalloc(p->ca.len);
		memcpy(s->json, p->ca.data, p->ca.len);
		s->len = p->ca.len;
		memcpy(s->key, key, 32);
	}
	if (buf_append(out, p->ca.data, p->ca.len) == 0)
		return (0);
	snprintf(err, errlen, "chain JSON too large");
	return (-1);
}

static int
build_chain(struct ct_parser *p, const struct entry_in *in, size_t *count,
    char *err, size_t errlen)
{
	const struct ct_chain *c = in->chain;
	size_t                 i;

	buf_reset(&p->chain);
	*count = 0;
	for (i = 0; c != NULL && i < c->n && i < CT_MAX_CHAIN; i++) {
		if (c->der[i] == NULL || c->len[i] == 0)
			continue;
		if (*count > 0 && buf_append(&p->chain, ",", 1) == -1) {
			snprintf(err, errlen, "chain JSON too large");
			return (-1);
		}
		if (chain_cert(p, c->der[i], c->len[i],
		        in->fp != NULL ? in->fp[i] : NULL, &p->chain, err,
		        errlen) == -1)
			return (-1);
		(*count)++;
	}
	return (0);
}

/* {"data":{"cert_index":N,"cert_link":"..." */
static int
put_head(struct buf *m, const struct ct_source *src, uint64_t index)
{
	if (buf_puts(m, "{\"data\":{\"cert_index\":") == -1 ||
	    json_u64(m, index) == -1 || buf_puts(m, ",\"cert_link\":\"") == -1)
		return (-1);
	if (!src->tiled &&
	    (json_strbody(m, src->url, strlen(src->url), 0) == -1 ||
	        buf_puts(m, "/ct/v1/get-entries?start=") == -1 ||
	        json_u64(m, index) == -1 || buf_puts(m, "&end=") == -1 ||
	        json_u64(m, index) == -1))
		return (-1);
	return (buf_append(m, "\"", 1));
}

/* ,"seen":..,"source":{..},"update_type":".."},"message_type":..}\n */
static int
put_tail(struct buf *m, const struct ct_source *src, const struct entry_in *in,
    double seen)
{
	if (buf_puts(m, ",\"seen\":") == -1 || json_f64(m, seen) == -1 ||
	    buf_puts(m, ",\"source\":{\"name\":") == -1 ||
	    json_cstr(m, src->name != NULL ? src->name : "", 0) == -1 ||
	    buf_puts(m, ",\"url\":") == -1 || json_cstr(m, src->url, 0) == -1 ||
	    buf_puts(m, ",\"timestamp\":") == -1 ||
	    json_f64(m, (double)in->ts / 1000.0) == -1 ||
	    buf_puts(m,
	        src->tiled ? ",\"type\":\"tiled\"}"
	                   : ",\"type\":\"rfc6962\"}") == -1 ||
	    buf_puts(m,
	        in->precert ? ",\"update_type\":\"PrecertLogEntry\"}"
	                    : ",\"update_type\":\"X509LogEntry\"}") == -1)
		return (-1);
	return (buf_puts(m, ",\"message_type\":\"certificate_update\"}\n"));
}

/* Domains-only message and the NAMES section from p->nm. */
static int
put_domains(struct ct_parser *p)
{
	size_t      i, j, len;
	const char *s;
	char       *o;

	buf_reset(&p->dom);
	buf_reset(&p->names);
	if (buf_puts(&p->dom, "{\"data\":[") == -1)
		return (-1);
	for (i = 0; i < p->nm.n; i++) {
		s = p->nm.bytes.data + p->nm.off[i];
		len = p->nm.len[i];
		if ((i > 0 && buf_append(&p->dom, ",", 1) == -1) ||
		    json_str(&p->dom, s, len, 1) == -1)
			return (-1);
		if (memchr(s, '\0', len) != NULL)
			continue; /* not a name a filter can match */
		if (buf_reserve(&p->names, len + 1) == -1)
			return (-1);
		o = p->names.data + p->names.len;
		for (j = 0; j < len; j++)
			o[j] = (s[j] >= 'A' && s[j] <= 'Z') ? (char)(s[j] + 32)
			                                    : s[j];
		o[len] = '\0';
		p->names.len += len + 1;
	}
	return (buf_puts(&p->dom, "],\"message_type\":\"dns_entries\"}"));
}

/* full and lite from head, chain, leaf parts a/b and the tail. */
static int
put_messages(struct ct_parser *p, const struct ct_source *src,
    const struct entry_in *in, size_t nchain, double seen)
{
	struct buf *f = &p->full, *l = &p->lite;

	buf_reset(f);
	buf_reset(l);
	buf_reset(&p->tail);
	if (put_head(l, src, in->index) == -1 ||
	    put_tail(&p->tail, src, in, seen) == -1 ||
	    buf_append(f, l->data, l->len) == -1 ||
	    buf_puts(l, ",\"leaf_cert\":") == -1 ||
	    buf_append(l, p->a.data, p->a.len) == -1 ||
	    buf_append(l, p->b.data, p->b.len) == -1 ||
	    buf_append(l, p->tail.data, p->tail.len) == -1)
		return (-1);
	if (nchain > 0 &&
	    (buf_puts(f, ",\"chain\":[") == -1 ||
	        buf_append(f, p->chain.data, p->chain.len) == -1 ||
	        buf_append(f, "]", 1) == -1))
		return (-1);
	if (buf_puts(f, ",\"leaf_cert\":") == -1 ||
	    buf_append(f, p->a.data, p->a.len) == -1 ||
	    buf_puts(f, ",\"as_der\":\"") == -1 ||
	    ct_base64(f, in->hash_der, in->hash_len) == -1 ||
	    buf_append(f, "\"", 1) == -1 ||
	    buf_append(f, p->b.data, p->b.len) == -1 ||
	    buf_append(f, p->tail.data, p->tail.len) == -1)
		return (-1);
	return (put_domains(p));
}

static int
dedup(struct ct_parser *p, const struct entry_in *in, uint8_t out[32])
{
	const uint8_t *tbs = in->cert;
	size_t         tbslen = in->cert_len;

	if (!in->precert &&
	    ct_cert_tbs(in->cert, in->cert_len, &tbs, &tbslen) == -1)
		return (-1);
	return (ct_dedup_hash(tbs, tbslen, &p->scratch, out));
}

static int
build(struct ct_parser *p, struct buf *out, const struct ct_source *src,
    const struct entry_in *in, double seen, uint8_t dh[32], char *err,
    size_t errlen)
{
	struct streamrec_part parts[4];
	size_t                nchain;
	uint32_t              flags = 0;

	buf_reset(&p->a);
	buf_reset(&p->b);
	if (ct_cert_json(in->cert, in->cert_len, in->precert, in->hash_der,
	        in->hash_len, in->precert, &p->a, &p->b, &p->nm, err,
	        errlen) == -1 ||
	    build_chain(p, in, &nchain, err, errlen) == -1)
		return (-1);
	if (dh != NULL && dedup(p, in, dh) == -1) {
		snprintf(err, errlen, "malformed TBSCertificate");
		return (-1);
	}
	if (put_messages(p, src, in, nchain, seen) == -1) {
		snprintf(err, errlen, "message too large or bad time");
		return (-1);
	}
	parts[0] = (struct streamrec_part){ STREAMREC_FULL, p->full.data,
		p->full.len };
	parts[1] = (struct streamrec_part){ STREAMREC_LITE, p->lite.data,
		p->lite.len };
	parts[2] = (struct streamrec_part){ STREAMREC_DOMAINS, p->dom.data,
		p->dom.len };
	parts[3] = (struct streamrec_part){ STREAMREC_NAMES, p->names.data,
		p->names.len };
	if (in->precert)
		flags |= STREAMREC_F_PRECERT;
	if (src->tiled)
		flags |= STREAMREC_F_TILED;
	if (streamrec_build(out, flags, src->log_id, in->index, parts, 4) ==
	    -1) {
		snprintf(err, errlen, "record larger than the ring allows");
		return (-1);
	}
	return (0);
}

int
ct_entry_rfc6962(struct ct_parser *p, struct buf *out,
    const struct ct_source *src, uint64_t index, const uint8_t *leaf_input,
    size_t leaf_len, const uint8_t *extra_data, size_t extra_len, double seen,
    uint8_t dedup_hash[32], char *err, size_t errlen)
{
	struct ct_leaf  l;
	struct entry_in in;

	if (ct_leaf_parse(leaf_input, leaf_len, &l, err, errlen) == -1 ||
	    ct_extra_parse(extra_data, extra_len, &l, err, errlen) == -1) {
		p->st.malformed++;
		return (-1);
	}
	memset(&in, 0, sizeof(in));
	in.index = index;
	in.ts = l.timestamp;
	in.precert = l.is_precert;
	in.cert = l.cert;
	in.cert_len = l.cert_len;
	in.hash_der = l.is_precert ? l.precert : l.cert;
	in.hash_len = l.is_precert ? l.precert_len : l.cert_len;
	in.chain = &l.chain;
	if (build(p, out, src, &in, seen, dedup_hash, err, errlen) == -1) {
		p->st.malformed++;
		return (-1);
	}
	p->st.entries++;
	return (0);
}

int
ct_entry_tiled(struct ct_parser *p, struct buf *out,
    const struct ct_source *src, uint64_t index,
    const struct ct_tile_leaf *leaf, const struct ct_chain *chain, double seen,
    uint8_t dedup_hash[32], char *err, size_t errlen)
{
	struct entry_in in;

	memset(&in, 0, sizeof(in));
	in.index = index;
	in.ts = leaf->timestamp;
	in.precert = leaf->is_precert;
	in.cert = leaf->cert;
	in.cert_len = leaf->cert_len;
	in.hash_der = leaf->is_precert ? leaf->precert : leaf->cert;
	in.hash_len = leaf->is_precert ? leaf->precert_len : leaf->cert_len;
	in.chain = chain;
	if (chain != NULL && chain->n == leaf->nfp)
		in.fp = leaf->fp;
	if (in.cert == NULL || in.cert_len == 0 || in.hash_der == NULL ||
	    in.hash_len == 0) {
		snprintf(err, errlen, "empty tile leaf");
		p->st.malformed++;
		return (-1);
	}
	if (build(p, out, src, &in, seen, dedup_hash, err, errlen) == -1) {
		p->st.malformed++;
		return (-1);
	}
	p->st.entries++;
	return (0);
}
