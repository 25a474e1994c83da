/* Writing policy files so that a reader, or a writer killed at any point,
 * sees either the old file or the new one, never a mix; and only where
 * pam_memguard would trust what was written. */
#ifndef MEMGUARD_STORE_H
#define MEMGUARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "diag.h"

/* One lock for the whole policy, on a file of its own: locking the policy
 * file itself would be lost when rename replaces it. Waits up to
 * timeout_ms; -EWOULDBLOCK when another writer holds it that long. */
int store_lock(const char *policy_path, int timeout_ms, int *fd);
void store_unlock(int fd);

/* A file to change, pinned to the directory that was checked: every later
 * step goes relative to dirfd, so swapping the directory (or a name on
 * the way to it) after the check redirects nothing. */
struct store_file {
	char *path; /* as the policy loader names it, for messages */
	char *dir;  /* the directory written to, for the editor and messages */
	char *name; /* the file's name in dir */
	int dirfd;  /* -1 while the directory does not exist yet */
	int fd;     /* the file as it is now, -1 when it does not exist yet */
	bool dropin;
};

/* Opens path for a change after the checks pam_memguard makes on it: the
 * file (when it exists) and a drop-in's directory root-owned and not
 * group- or world-writable, a drop-in never a symbolic link; a linked
 * main policy file is followed to its target, which must pass the same
 * checks. What fails goes to d, worded as "memguardctl check" words it;
 * then -EPERM. -ENOLINK for a main file linked to a missing file. */
int store_open(const char *path, bool dropin, struct store_file *f, struct mg_diags *d);
void store_close(struct store_file *f);

/* The file's text as it is now ("" when it does not exist yet). */
int store_read_current(const struct store_file *f, char **text, size_t *len);

/* Creates a missing directory (mode 0755 whatever the umask, as the module
 * wants it) and pins it. */
int store_make_dir(struct store_file *f, struct mg_diags *d);

/* A new file ".NAME.TAG.XXXXXX.tmp" in f's directory (never a *.conf,
 * so the module never reads it), open for writing; *name is its name in
 * the directory. */
int store_temp(const struct store_file *f, const char *tag, char **name, int *fd);

/* The whole of name in f's directory, never through a link. */
int store_read_at(const struct store_file *f, const char *name, char **text, size_t *len);

/* Replaces f's file with text: a temp file beside it, fsync, the old
 * file's owner and mode (or root-owned 0644 for a new file), renameat
 * within dirfd, fsync of the directory. When the rename fails the temp
 * file is kept and *kept names it. */
int store_replace(struct store_file *f, const char *text, size_t len, char **kept, struct mg_diags *d);

#endif
