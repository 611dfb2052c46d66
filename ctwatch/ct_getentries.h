/*
 * ct_getentries.h - the JSON body of an RFC 6962 get-entries reply,
 * {"entries":[{"leaf_input":"<b64>","extra_data":"<b64>"},...]}: the
 * array is taken out of the document, and each entry's two fields are
 * base64-decoded on demand.
 *
 * Pure functions (no I/O, nothing logged), run by ctwatch's RFC 6962
 * follower (ct_rfc6962.c) and the fuzz harness.  The body is untrusted:
 * its size was bounded by the fetcher (ctwatch.max_response), each
 * decoded field by CT_ENTRY_FIELD_MAX; failures return -1 or NULL with a
 * short reason in err.
 */
#ifndef NOTARYD_CT_GETENTRIES_H
#define NOTARYD_CT_GETENTRIES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctwatch/ct_parse.h"

#define CT_ENTRY_FIELD_MAX (4u * CT_MAX_CERT) /* decoded bytes, one field */

/*
 * The non-empty "entries" array of a get-entries body (a new reference:
 * json_decref it), or NULL when the body is not JSON or has no entries
 * (err filled).
 */
json_t *
ct_getentries_parse(const uint8_t *body, size_t len, char *err, size_t errlen);

/*
 * Decode entry i of entries: *leaf (allocated, never empty) and *extra
 * (allocated, or NULL with *extralen 0 when extra_data is ""); free both.
 * Returns 0, or -1 when the entry is not an object, a field is missing,
 * not a string, not base64 or too large, or leaf_input is empty (nothing
 * allocated then).
 */
int ct_getentries_entry(json_t *entries, size_t i, uint8_t **leaf,
    size_t *leaflen, uint8_t **extra, size_t *extralen);

#endif
