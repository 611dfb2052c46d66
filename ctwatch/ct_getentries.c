/*
 * ct_getentries.c - decode the JSON of a get-entries reply (see
 * ct_getentries.h).
 *
 * Run by ctwatch (ct_rfc6962.c) single-threaded; pure, nothing logged:
 * the caller counts a bad reply or entry, logs it and backs off or skips.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ctwatch/ct_getentries.h"
#include "ctwatch/ct_loglist.h"

json_t *
ct_getentries_parse(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t      *root, *a;

	root = json_loadb((const char *)body, len, 0, &jerr);
	if (root == NULL) {
		(void)snprintf(err, errlen, "not JSON: %s", jerr.text);
		return (NULL);
	}
	a = json_object_get(root, "entries");
	if (!json_is_array(a) || json_array_size(a) == 0) {
		(void)snprintf(err, errlen, "no entries");
		json_decref(root);
		return (NULL);
	}
	json_incref(a);
	json_decref(root);
	return (a);
}

/* A string member of an entry, base64-decoded ("" gives NULL); -1 if bad. */
static int
entry_field(json_t *e, const char *name, uint8_t **out, size_t *len)
{
	json_t *v = json_object_get(e, name);

	*out = NULL;
	*len = 0;
	if (!json_is_string(v))
		return (-1);
	if (json_string_length(v) == 0)
		return (0);
	return (ct_b64_decode(json_string_value(v), json_string_length(v), out,
	    len, CT_ENTRY_FIELD_MAX));
}

int
ct_getentries_entry(json_t *entries, size_t i, uint8_t **leaf, size_t *leaflen,
    uint8_t **extra, size_t *extralen)
{
	json_t *e = json_array_get(entries, i);

	*leaf = *extra = NULL;
	*leaflen = *extralen = 0;
	if (!json_is_object(e) ||
	    entry_field(e, "leaf_input", leaf, leaflen) == -1 ||
	    *leaf == NULL ||
	    entry_field(e, "extra_data", extra, extralen) == -1) {
		free(*leaf);
		*leaf = NULL;
		*leaflen = 0;
		return (-1);
	}
	return (0);
}
