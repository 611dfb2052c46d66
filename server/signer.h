/* signer.h - the signer process (see signer.c). */
#ifndef NOTARYD_SIGNER_H
#define NOTARYD_SIGNER_H

#include "common/proc.h"

extern const struct role_ops signer_role;

#endif
