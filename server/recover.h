/* recover.h - the Berkeley DB recovery helper process (see recover.c). */
#ifndef NOTARYD_RECOVER_H
#define NOTARYD_RECOVER_H

#include "common/proc.h"

extern const struct role_ops recover_role;

#endif
