/* Which file a set, unset or edit changes. */
#ifndef MEMGUARD_TARGET_H
#define MEMGUARD_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl.h"
#include "store.h"

/* The file named by --file (the policy file by default), spelled the way
 * the policy loader spells it. Returns 0, -ENOMEM, or EXIT_USAGE after
 * saying why. */
int target_resolve(const struct ctl *c, char **path, bool *dropin);

/* target_resolve, then the policy's lock (against every other writer),
 * the target opened and checked as pam_memguard would check it
 * (store_open), and its text ("" when it does not exist yet). Returns 0,
 * -ENOMEM, EXIT_USAGE, EXIT_PROBLEMS when the module would not trust the
 * target, or -errno after saying why; *f, *lockfd and *old are the
 * caller's to release in every case. */
int target_open(const struct ctl *c, struct store_file *f, int *lockfd, char **old, size_t *oldlen);

#endif
