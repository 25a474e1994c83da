/* One reading of the live state: the host, memguard's %all group, and per
 * user its user group and session groups with what the kernel reports
 * of each. status, metrics and top are renderers over it, so that the
 * text, the JSON, the Prometheus series and the screen never disagree. */
#ifndef MEMGUARD_CLI_SNAPSHOT_H
#define MEMGUARD_CLI_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cgroup.h"
#include "cgroup_stat.h"
#include "live.h"

struct snap_group {
	enum kind kind;
	char *name; /* unit or directory name */
	char *rel;  /* cgroup, relative to the hierarchy's mount */
	char *dir;  /* absolute */
	struct mg_cg_live live;
	struct mg_cg_events ev;
	bool has_psi;
	struct mg_psi psi;
	/* the limit in force: the least over the group and its ancestors */
	uint64_t eff;
	char *eff_by; /* the cgroup (relative) that sets it; NULL: none */
	unsigned procs;
	bool has_leader, leader_alive;
	pid_t leader;
	time_t since; /* the login, 0: unknown */
	const char *stale; /* session: why it is stale ("empty", "leader gone"); NULL: not */
	bool traced; /* session: started with the allocation shim (trace=) */
	char trace[32]; /* its MEMGUARD_THRESHOLD, "" for the shim's default */
	bool has_want;
	struct mg_caps want; /* what the policy says for it */
	const char *flag; /* "uncapped", "above policy", "below policy"; NULL: as the policy */
};

struct snap_user {
	char *name; /* NULL: a uid NSS does not know */
	uid_t uid;
	bool exempt, compared;
	bool live; /* any live group */
	struct snap_group *g; /* the user group first (when live), then the sessions */
	size_t ng;
};

struct snap_host {
	bool has_psi;
	struct mg_psi psi;
	int overcommit; /* vm.overcommit_memory, -1: unknown */
	int overcommit_ratio;
	bool has_commit;
	uint64_t commit_limit, committed_as, memtotal;
};

struct snapshot {
	bool systemd;
	int version;
	char *base; /* cgroupfs: memguard's tree */
	bool has_all;
	struct snap_group all;
	struct snap_user *u;
	size_t nu;
	unsigned nsessions, ngroups;
	struct snap_host host;
	bool policy_ok;
	size_t policy_errors;
	time_t at;  /* when it was read */
	int failed; /* first -errno of a user or group that could not be read */
};

/* Reads the live state of the users named in argv (names or uids), or of
 * every user with live state. Problems go to stderr as they are found;
 * one user that cannot be read does not hide the others (s->failed).
 * -errno when nothing could be read (the %all group or the user list). */
int snapshot_take(struct snapshot *s, struct ctl *c, struct live *lv, const struct mg_policy *p, bool policy_ok,
		  size_t policy_errors, int argc, char **argv);
void snapshot_sort(struct snapshot *s, int sort);
void snapshot_free(struct snapshot *s);

/* A user's usage, and their user group's pressure (some avg10). */
uint64_t snap_user_usage(const struct snap_user *u);
double snap_user_pressure(const struct snap_user *u);
/* A user's group (the user slice or user-UID), NULL when not live. */
const struct snap_group *snap_user_group(const struct snap_user *u);

#endif
