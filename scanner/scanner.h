/* scanner.h - a scanner process (see scanner.c). */
#ifndef NOTARYD_SCANNER_H
#define NOTARYD_SCANNER_H

#include "common/proc.h"

extern const struct role_ops scanner_role;

#endif
