/* Which file a set, unset or edit changes. */
#ifndef MEMGUARD_TARGET_H
#define MEMGUARD_TARGET_H

#include "ctl.h"

/* The file named by --file (the policy file by default), spelled the way
 * the policy loader spells it. Returns 0, -ENOMEM, or EXIT_USAGE after
 * saying why. */
int target_resolve(const struct ctl *c, char **path);

#endif
