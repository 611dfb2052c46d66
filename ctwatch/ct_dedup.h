/*
 * ct_dedup.h - the cross-log dedup window of ctwatch (ctwatch.dedup): the
 * parser's dedup hash of each entry (SHA-256 of the leaf TBS without the
 * poison and SCT extensions) is remembered for CT_DEDUP_ENTRIES entries or
 * CT_DEDUP_AGE_MS, whichever ends first; an entry whose hash is in the
 * window is a duplicate.  Fixed memory (about 12 MB), no allocation after
 * ct_dedup_new.  ctwatch process only.
 */
#ifndef NOTARYD_CT_DEDUP_H
#define NOTARYD_CT_DEDUP_H

#include <stdint.h>

#define CT_DEDUP_ENTRIES (256u * 1024)
#define CT_DEDUP_AGE_MS  (15 * 60 * 1000)

struct ct_dedup;

struct ct_dedup *ct_dedup_new(void);
void             ct_dedup_free(struct ct_dedup *d);
/* 1 when hash was seen within the window (a duplicate), else 0 (noted). */
int ct_dedup_seen(struct ct_dedup *d, const uint8_t hash[32], int64_t now_ms);

#endif
