/* What the files of lib/ that read and write groups share: file access
 * relative to a group's directory fd, in the syntax of each cgroup
 * version, and the cap writer the tree and memguardctl apply both use.
 * Not for callers outside the cgroup code. */
#ifndef MEMGUARD_CGROUP_IO_H
#define MEMGUARD_CGROUP_IO_H

#include <fcntl.h>

#include "cgroup.h"

#define MG_CG_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)

int mg_cg_write_at(int dfd, const char *file, const char *val);
/* "max" and v1's huge "unlimited" as MG_CG_UNLIMITED. */
int mg_cg_read_limit_at(int dfd, const char *file, uint64_t *v);
int mg_cg_write_limit_at(int version, int dfd, const char *file, uint64_t v);
/* "max" or "1.5G", for notes. */
void mg_cg_human(uint64_t v, char *buf, size_t len);
/* word in a list separated by blanks or commas. */
bool mg_cg_has_word(const char *list, const char *word);

/* The v2 file of a limit or protection key, NULL for other keys. */
const char *mg_cg_v2_file(enum mg_key k);

/* Writes caps to the group at dfd (dir names it in notes). at_login: a
 * limit of a group holding processes is only raised, a lower value left
 * pending (*pending set); fresh: this login made the group, it holds
 * nothing yet. */
int mg_cg_apply_caps(const struct mg_cg *cg, int dfd, const char *dir, const struct mg_caps *caps, bool at_login,
		     bool fresh, bool *pending, struct mg_diags *notes);

/* v2: BASE's memory.min or memory.low (file) becomes the sum of its user
 * groups'. */
void mg_cg_sum_protection(const struct mg_cg *cg, int base_fd, const char *file, struct mg_diags *notes);

/* 1: processes run in the group or below it, 0: none, -errno. */
int mg_cg_populated_fd(int version, int dfd);

#endif
