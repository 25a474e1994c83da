/* Why an allocation failed: the limits that could have refused it, read at
 * the moment of failure without allocating (open/read into stack buffers). */
#ifndef MEMGUARD_PRELOAD_CONTEXT_H
#define MEMGUARD_PRELOAD_CONTEXT_H

#include <stdint.h>

#define MG_PL_UNKNOWN (-1)
#define MG_PL_UNLIMITED (-2)

struct mg_pl_context {
	int overcommit;            /* vm.overcommit_memory, or -1 */
	int64_t commit_limit_kb;   /* /proc/meminfo; -1 unknown */
	int64_t committed_as_kb;
	int64_t vm_size_kb;        /* /proc/self/status */
	int64_t vm_rss_kb;
	int64_t vm_hwm_kb;
	int64_t rlimit_as;         /* bytes, or MG_PL_UNLIMITED */
	int cgroup_version;        /* 1, 2, or 0 when none found */
	char cgroup[256];          /* path inside the hierarchy */
	/* The limit in force: the smallest memory.max / memory.limit_in_bytes
	 * of the group and its ancestors, MG_PL_UNLIMITED when none sets one. */
	int64_t cgroup_limit;
	char cgroup_limit_group[256]; /* the group that sets it; "" for none */
	int64_t cgroup_usage;      /* memory.current / memory.usage_in_bytes */
};

/* Where /proc and the cgroup file systems are: parameters for tests. */
struct mg_pl_roots {
	const char *proc;   /* "/proc" */
	const char *cgroup; /* "/sys/fs/cgroup" */
};
extern const struct mg_pl_roots mg_pl_roots_default;

void mg_pl_context_read(const struct mg_pl_roots *roots, struct mg_pl_context *c);
/* VmHWM in kB or -1: the peak for the exit summary. */
int64_t mg_pl_read_hwm_kb(const struct mg_pl_roots *roots);

#endif
