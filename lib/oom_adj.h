/* oom_score_adj of a process, and why the kernel may refuse a value. */
#ifndef MEMGUARD_OOM_ADJ_H
#define MEMGUARD_OOM_ADJ_H

#include <stdbool.h>
#include <sys/types.h>

/* The kernel's answer is the truth: -EACCES below oom_score_adj_min. */
int mg_oom_adj_write(pid_t pid, int value);
/* *prev when the value before could not be read. */
#define MG_OOM_ADJ_UNKNOWN (-1001)
/* Both at once, through one open file: *prev gets the value before, then
 * value is written, as mg_oom_adj_write. A value before that cannot be
 * read (the read's -errno, -EIO when it is empty or not a number; *prev
 * MG_OOM_ADJ_UNKNOWN) leaves the process unchanged. */
int mg_oom_adj_swap(pid_t pid, int value, int *prev);
/* Only a writer with CAP_SYS_RESOURCE moves a process's floor. */
bool mg_have_sys_resource(void);

#endif
