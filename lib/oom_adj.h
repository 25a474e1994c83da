/* oom_score_adj of a process, and why the kernel may refuse a value. */
#ifndef MEMGUARD_OOM_ADJ_H
#define MEMGUARD_OOM_ADJ_H

#include <stdbool.h>
#include <sys/types.h>

int mg_oom_adj_read(pid_t pid, int *value);
/* The kernel's answer is the truth: -EACCES below oom_score_adj_min. */
int mg_oom_adj_write(pid_t pid, int value);
/* Only a writer with CAP_SYS_RESOURCE moves a process's floor. */
bool mg_have_sys_resource(void);

#endif
