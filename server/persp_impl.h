/*
 * persp_impl.h - what the two halves of the Perspectives protocol code
 * share.  Internal to server/perspectives.c (queries, packing, signing,
 * building replies) and server/persp_reply.c (reading signed replies).
 */
#ifndef NOTARYD_SERVER_PERSP_IMPL_H
#define NOTARYD_SERVER_PERSP_IMPL_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "common/buf.h"
#include "store/obs.h"
#include "server/perspectives.h"
#include "store/svcid.h"
#include "common/xmalloc.h"


#define MD5_LEN          16
#define KEY_BLOCK_HEAD   5  /* u16 count, u16 0x0010, u8 0x03 */
#define KEY_LEN_FIELD    16 /* written even for other lengths */
#define KEY_TYPE_SSL_ANY 3  /* v1 C notary's key type */
#define SPAN_PACKED      8
#define FP_TEXT_LEN      (3 * MD5_LEN) /* "aa:..:ff" and its NUL */
#define B64_MAX          (4 * ((PERSP_SIG_MAX + 2) / 3) + 1)
#define PARAM_NAME_MAX   16    /* longer names are unknown anyway */
#define REPLY_SPANS_MAX  65535 /* the u16 count of one packed key */


#endif
