/* http.h - an HTTP worker process (see http.c). */
#ifndef NOTARYD_HTTP_H
#define NOTARYD_HTTP_H

#include "common/proc.h"

extern const struct role_ops http_role;

#endif
