/* preload_context DIR: the shim's failure-context reader (preload/context.c)
 * against fixture trees built under DIR, one per layout: cgroup v2, a v1/v2
 * hybrid (v1 memory wins), controller lists, a cgroup namespace (the path
 * in /proc/self/cgroup is not under the mount: use the mount's root), v2
 * memory under /unified, and missing files (unknown, never a crash).
 * Prints one line per case ("ok NAME" / "FAIL NAME: why"); exit 0 when all
 * held, 1 otherwise, 2 on bad usage. */
#include "../../preload/context.c"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char base[512];
static int failed;

static void put(const char *rel, const char *text)
{
	char path[1024], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	for (slash = path + strlen(base) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static void expect(const char *name, bool cond, const char *why)
{
	if (cond) {
		printf("ok %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, why);
		failed = 1;
	}
}

/* A fresh tree per case: base/NAME/{proc,cg}. */
static void layout(const char *name, struct mg_pl_roots *r, char *proc, char *cg)
{
	snprintf(proc, 600, "%s/%s/proc", base, name);
	snprintf(cg, 600, "%s/%s/cg", base, name);
	mkdir(proc, 0755);
	r->proc = proc;
	r->cgroup = cg;
}

int main(int argc, char **argv)
{
	struct mg_pl_roots r;
	struct mg_pl_context c;
	char proc[600], cg[600], rel[700];

	if (argc != 2) {
		fprintf(stderr, "usage: preload_context DIR\n");
		return 2;
	}
	snprintf(base, sizeof(base), "%s", argv[1]);

	/* v2, with /proc fields. */
	layout("v2", &r, proc, cg);
	put("v2/proc/sys/vm/overcommit_memory", "2\n");
	put("v2/proc/meminfo", "MemTotal:  1000 kB\nCommitLimit:     490736 kB\nCommitted_AS:    5068 kB\n");
	put("v2/proc/self/status", "Name:\tx\nVmSize:\t  2732 kB\nVmHWM:\t 1300 kB\nVmRSS:\t  1260 kB\n");
	put("v2/proc/self/cgroup", "0::/user.slice/session 1.scope\n");
	put("v2/cg/user.slice/session 1.scope/memory.max", "max\n");
	put("v2/cg/user.slice/session 1.scope/memory.current", "798720\n");
	mg_pl_context_read(&r, &c);
	expect("v2 /proc fields", c.overcommit == 2 && c.commit_limit_kb == 490736 && c.committed_as_kb == 5068 &&
				       c.vm_size_kb == 2732 && c.vm_rss_kb == 1260 && c.vm_hwm_kb == 1300,
	       "overcommit, meminfo or status misread");
	expect("v2 group", c.cgroup_version == 2 && !strcmp(c.cgroup, "/user.slice/session 1.scope") &&
				   c.cgroup_limit == MG_PL_UNLIMITED && c.cgroup_usage == 798720,
	       "memory.max=max / memory.current misread");
	expect("v2 VmHWM alone", mg_pl_read_hwm_kb(&r) == 1300, "VmHWM");

	/* Hybrid: v1 memory line listed among others; it wins over 0::. */
	layout("hybrid", &r, proc, cg);
	put("hybrid/proc/self/cgroup", "9:name=systemd:/\n5:cpu,memory,blkio:/jobs/42\n0::/jobs/42\n");
	put("hybrid/cg/memory/jobs/42/memory.limit_in_bytes", "268435456\n");
	put("hybrid/cg/memory/jobs/42/memory.usage_in_bytes", "1048576\n");
	put("hybrid/cg/unified/jobs/42/cgroup.procs", "");
	mg_pl_context_read(&r, &c);
	expect("hybrid v1 wins", c.cgroup_version == 1 && !strcmp(c.cgroup, "/jobs/42") &&
					 c.cgroup_limit == 268435456 && c.cgroup_usage == 1048576,
	       "v1 limit_in_bytes / usage_in_bytes not read");
	expect("missing /proc files are unknown", c.overcommit == -1 && c.commit_limit_kb == MG_PL_UNKNOWN &&
							   c.vm_rss_kb == MG_PL_UNKNOWN,
	       "values made up for absent files");

	/* A cgroup namespace: the listed path is not under the mount. */
	layout("ns", &r, proc, cg);
	put("ns/proc/self/cgroup", "4:memory:/outside/of/namespace\n");
	put("ns/cg/memory/memory.limit_in_bytes", "9223372036854771712\n");
	put("ns/cg/memory/memory.usage_in_bytes", "4096\n");
	mg_pl_context_read(&r, &c);
	expect("namespace falls back to the mount root", c.cgroup_version == 1 &&
							      c.cgroup_limit == MG_PL_UNLIMITED && c.cgroup_usage == 4096,
	       "root of the v1 mount not used, or v1's 'no limit' shown as a number");

	/* The binding limit is an ancestor's: a memguard session group has
	 * none of its own under the user's cap. */
	layout("v1up", &r, proc, cg);
	put("v1up/proc/self/cgroup", "5:memory:/mg/user-1000/session-7\n");
	put("v1up/cg/memory/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1up/cg/memory/mg/memory.limit_in_bytes", "1073741824\n");
	put("v1up/cg/memory/mg/user-1000/memory.limit_in_bytes", "536870912\n");
	put("v1up/cg/memory/mg/user-1000/session-7/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1up/cg/memory/mg/user-1000/session-7/memory.usage_in_bytes", "8192\n");
	mg_pl_context_read(&r, &c);
	expect("v1 effective limit from an ancestor", c.cgroup_version == 1 && c.cgroup_limit == 536870912 &&
							   !strcmp(c.cgroup_limit_group, "/mg/user-1000") &&
							   !strcmp(c.cgroup, "/mg/user-1000/session-7") && c.cgroup_usage == 8192,
	       "the leaf's own limit reported, not the smallest on the way up");
	layout("v2up", &r, proc, cg);
	put("v2up/proc/self/cgroup", "0::/user.slice/user-1000.slice/session-3.scope\n");
	put("v2up/cg/user.slice/memory.max", "max\n");
	put("v2up/cg/user.slice/user-1000.slice/memory.max", "268435456\n");
	put("v2up/cg/user.slice/user-1000.slice/session-3.scope/memory.max", "536870912\n");
	put("v2up/cg/user.slice/user-1000.slice/session-3.scope/memory.current", "1\n");
	mg_pl_context_read(&r, &c);
	expect("v2 effective limit from an ancestor", c.cgroup_version == 2 && c.cgroup_limit == 268435456 &&
							   !strcmp(c.cgroup_limit_group, "/user.slice/user-1000.slice"),
	       "a larger leaf limit reported over the user slice's");
	put("v2up/cg/user.slice/user-1000.slice/session-3.scope/memory.max", "1048576\n");
	mg_pl_context_read(&r, &c);
	expect("v2 leaf limit when it is the smallest", c.cgroup_limit == 1048576 &&
							     !strcmp(c.cgroup_limit_group, "/user.slice/user-1000.slice/session-3.scope"),
	       "leaf limit not taken");
	put("v2up/cg/user.slice/user-1000.slice/session-3.scope/memory.max", "max\n");
	put("v2up/cg/user.slice/user-1000.slice/memory.max", "max\n");
	mg_pl_context_read(&r, &c);
	expect("v2 no limit anywhere is max", c.cgroup_limit == MG_PL_UNLIMITED, "a limit invented");

	/* v2 mounted at /unified (hybrid without v1 memory). */
	layout("unified", &r, proc, cg);
	put("unified/proc/self/cgroup", "3:pids:/a\n0::/a\n");
	put("unified/cg/unified/a/memory.max", "536870912\n");
	put("unified/cg/unified/a/memory.current", "123\n");
	mg_pl_context_read(&r, &c);
	expect("v2 under /unified", c.cgroup_version == 2 && c.cgroup_limit == 536870912 && c.cgroup_usage == 123,
	       "unified mount not searched");

	/* The root group: no limit file at all. */
	layout("root", &r, proc, cg);
	put("root/proc/self/cgroup", "0::/\n");
	put("root/cg/memory.stat", "anon 0\n");
	mg_pl_context_read(&r, &c);
	expect("v2 root group has no limit", c.cgroup_version == 2 && !strcmp(c.cgroup, "/") &&
						    c.cgroup_limit == MG_PL_UNKNOWN,
	       "a limit invented for the root group");

	/* Nothing at all. */
	layout("empty", &r, proc, cg);
	mg_pl_context_read(&r, &c);
	expect("no files: all unknown", c.cgroup_version == 0 && c.overcommit == -1 && c.vm_size_kb == MG_PL_UNKNOWN &&
						c.rlimit_as != MG_PL_UNKNOWN,
	       "unexpected values without files");

	/* Garbage and huge numbers in the files. */
	layout("junk", &r, proc, cg);
	put("junk/proc/sys/vm/overcommit_memory", "7\n");
	put("junk/proc/meminfo", "CommitLimit: 99999999999999999999999 kB\nCommitted_AS: x kB\nCommitLimitX: 5 kB\n");
	put("junk/proc/self/cgroup", "garbage\n::\n4:memory\n");
	snprintf(rel, sizeof(rel), "junk/proc/self/status");
	put(rel, "VmSize:\n");
	mg_pl_context_read(&r, &c);
	expect("junk is unknown", c.overcommit == -1 && c.commit_limit_kb == MG_PL_UNKNOWN &&
					  c.committed_as_kb == MG_PL_UNKNOWN && c.vm_size_kb == MG_PL_UNKNOWN &&
					  c.cgroup_version == 0,
	       "malformed input read as a value");
	return failed;
}
