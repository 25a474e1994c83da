/* The path every policy change takes: the new text of one file is
 * validated within the whole policy, then written atomically. */
#ifndef MEMGUARD_CHANGE_H
#define MEMGUARD_CHANGE_H

#include <stddef.h>

#include "ctl.h"

/* Loads the policy as it would be with text in place of target's file,
 * into *newp (the caller frees it), and prints every problem the change
 * brings that the policy did not have before. Returns how many of those
 * are errors, or -ENOMEM. */
int change_check(struct ctl *c, const char *target, const char *text, size_t len, struct mg_policy *newp);

/* Creates the directory that will hold target when missing: mode 0755
 * whatever the umask, as the module wants it (not group/other-writable,
 * readable by the admin's tools). 0 or -errno. */
int change_make_dir(const char *target);

/* Writes text to target (through a symlink to its file), creating the
 * drop-in directory when needed. Prints what went wrong. */
int change_write(struct ctl *c, const char *target, const char *text, size_t len);

#endif
