/* Writing policy files so that a reader, or a writer killed at any point,
 * sees either the old file or the new one, never a mix. */
#ifndef MEMGUARD_STORE_H
#define MEMGUARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One lock for the whole policy, on a file of its own: locking the policy
 * file itself would be lost when rename replaces it. Waits up to
 * timeout_ms; -EWOULDBLOCK when another writer holds it that long. */
int store_lock(const char *policy_path, int timeout_ms, int *fd);
void store_unlock(int fd);

/* Where a write to path really lands: the target of a symlink. */
int store_target(const char *path, char **target);

/* Replaces target with text: a temp file in the same directory (named so
 * it can never match *.conf), fsync, the old file's owner and mode (or
 * root-owned 0644 for a new file), rename, fsync of the directory. When
 * rename fails the temp file is kept and *kept names it. */
int store_replace(const char *target, const char *text, size_t len, char **kept);

/* The whole file; -ENOENT when it does not exist. */
int store_read(const char *path, char **text, size_t *len);

#endif
