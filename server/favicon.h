/* favicon.h - the icon served at /favicon.ico (favicon.c). */
#ifndef NOTARYD_FAVICON_H
#define NOTARYD_FAVICON_H

#include <stddef.h>

extern const unsigned char favicon_ico[];
extern const size_t        favicon_ico_len;

#endif
