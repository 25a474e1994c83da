/* What the live commands read of a group besides its caps: memory
 * pressure (PSI), the processes in it, the limit in force over it (the
 * least of its own and its ancestors'), and when and by whom a cgroupfs
 * session group was opened. Library code: nothing here prints. */
#ifndef MEMGUARD_CGROUP_STAT_H
#define MEMGUARD_CGROUP_STAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* One PSI file (memory.pressure, /proc/pressure/memory): the shares of
 * time stalled, in percent, and the total stall time in microseconds. */
struct mg_psi_line {
	bool has;
	double avg10, avg60, avg300;
	uint64_t total_us;
};

struct mg_psi {
	struct mg_psi_line some, full;
};

/* Parses PSI text; lines it does not know are skipped. -EINVAL when
 * neither a "some" nor a "full" line is there. */
int mg_psi_parse(const char *text, struct mg_psi *out);
/* -ENOENT without PSI (no CONFIG_PSI, psi=0, a v1 group). */
int mg_psi_read(const char *path, struct mg_psi *out);

/* The processes in the group at dir, and below it when recursive. */
int mg_cg_count_procs(const char *dir, bool recursive, unsigned *n);

/* The limit in force over the group at mount+rel: the least memory.max
 * (v2) or memory.limit_in_bytes (v1) of it and every ancestor up to the
 * mount. *by_len: length of the prefix of rel that sets it (the nearest
 * level when several carry it; 0 with MG_CG_UNLIMITED: none does). */
int mg_cg_effective_limit(int version, const char *mount, const char *rel, uint64_t *limit, size_t *by_len);

/* The boot time (/proc/stat btime) under the /proc root proc. */
int mg_boot_time(const char *proc, time_t *bt);

/* The leader and start of a session group named session-PID-START (the
 * PAM caller's pid and start time since boot, bt the boot time): *alive
 * when that process still runs. -EINVAL for another name (the shared
 * group). proc: the /proc root. */
int mg_cg_session_leader(const char *proc, time_t bt, const char *name, pid_t *pid, time_t *started, bool *alive);

#endif
