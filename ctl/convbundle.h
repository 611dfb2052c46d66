/*
 * convbundle.h - notaryctl convergence-bundle: write the notary's
 * version-1 .notary bundle (spec §7) from its certificate.
 */
#ifndef NOTARYD_CONVBUNDLE_H
#define NOTARYD_CONVBUNDLE_H

#include "common/conf.h"

/* argv[0] is the command name.  Returns a notaryctl exit code (0, 1, 2). */
int	ctl_convergence_bundle(const struct conf *cf, int argc, char **argv);

#endif
