/* The path every policy change takes: the new text of one file is
 * validated within the whole policy, then written atomically. */
#ifndef MEMGUARD_CHANGE_H
#define MEMGUARD_CHANGE_H

#include <stddef.h>

#include "ctl.h"
#include "store.h"

/* Loads the policy as it would be with text in place of target's file,
 * into *newp (the caller frees it), and prints every problem the change
 * brings that the policy did not have before. Returns how many of those
 * are errors, or -ENOMEM. */
int change_check(struct ctl *c, const char *target, const char *text, size_t len, struct mg_policy *newp);

/* Writes text in place of f's file (store_replace), creating its
 * directory when needed. Prints what went wrong. */
int change_write(struct ctl *c, struct store_file *f, const char *text, size_t len);

#endif
