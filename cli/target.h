/* Which file a set, unset or edit changes. */
#ifndef MEMGUARD_TARGET_H
#define MEMGUARD_TARGET_H

#include <stddef.h>

#include "ctl.h"

/* The file named by --file (the policy file by default), spelled the way
 * the policy loader spells it. Returns 0, -ENOMEM, or EXIT_USAGE after
 * saying why. */
int target_resolve(const struct ctl *c, char **path);

/* target_resolve, then the policy's lock (against every other writer) and
 * the target's text ("" when it does not exist yet). Returns 0, -ENOMEM,
 * EXIT_USAGE, or -errno after saying why; *path, *lockfd and *old are the
 * caller's to release in every case. */
int target_open(const struct ctl *c, char **path, int *lockfd, char **old, size_t *oldlen);

#endif
