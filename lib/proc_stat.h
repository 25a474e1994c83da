/* Fields of /proc/PID/stat, counted as proc(5) counts them. */
#ifndef MEMGUARD_PROC_STAT_H
#define MEMGUARD_PROC_STAT_H

#include <sys/types.h>

/* proc(5)'s (9) flags: the kernel's PF_* bits of the main thread. */
#define MG_PROC_STAT_FLAGS 9
/* (22) starttime: clock ticks after boot. */
#define MG_PROC_STAT_STARTTIME 22
/* PF_EXITING in the flags: the thread is on its way out (do_exit). */
#define MG_PF_EXITING 0x4u

/* Field number field (3 or later) of pid's stat line as a number: -ENOENT
 * when pid is gone, -EIO when the line does not read. */
int mg_proc_stat_field(pid_t pid, int field, unsigned long long *value);

#endif
