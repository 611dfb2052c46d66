/* ctwatch.h - the CT-log watcher process (see ctwatch.c). */
#ifndef NOTARYD_CTWATCH_H
#define NOTARYD_CTWATCH_H

#include "common/proc.h"

extern const struct role_ops ctwatch_role;

#endif
