/* memguard's cgroup tree on cgroup v2 or the v1 memory controller:
 *
 *   BASE/                       the cap over all sessions together (%all)
 *   BASE/user-UID/              the user's total over all their sessions
 *   BASE/user-UID/session-PID-START/   one login session
 *
 * BASE is /sys/fs/cgroup/memguard (v2) or /sys/fs/cgroup/memory/memguard
 * (v1) unless the caller names another. Library code: nothing here logs;
 * what the caller should tell the admin comes back as notes. */
#ifndef MEMGUARD_CGROUP_H
#define MEMGUARD_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "policy.h"

#define MG_CG_UNLIMITED UINT64_MAX

struct mg_cg {
	int version;  /* 1 or 2 */
	char *mount;  /* the hierarchy's mount point */
	char *base;   /* memguard's directory, absolute */
};

/* Caps in bytes, as the kernel takes them. */
struct mg_caps {
	bool set[MG_KEY_COUNT];
	uint64_t bytes[MG_KEY_COUNT];
	bool oom_group;
};

/* Finds the memory controller: under base_override (its parent must be on
 * a cgroup filesystem) or at the default places. -ENODEV: no memory
 * controller; -ENOENT: no cgroup filesystem. */
int mg_cg_detect(const char *base_override, struct mg_cg *cg);
void mg_cg_free(struct mg_cg *cg);

/* The caps a resolved policy asks for, percentages taken of memtotal.
 * scope: 'u' user keys, 's' session keys, 'a' the %all keys. */
void mg_caps_from_resolved(const struct mg_resolved *r, uint64_t memtotal, char scope, struct mg_caps *out);

/* The calling process's group in this hierarchy, relative to the mount
 * ("/process_api/abc"). */
int mg_cg_self(const struct mg_cg *cg, char **rel);

struct mg_session_place {
	char *user_dir;    /* absolute */
	char *session_dir; /* absolute */
	int user_fd;       /* the user group, open (O_CLOEXEC): close_session's way in */
	bool user_created;
	bool pending; /* some cap was left above the policy (noted) */
};

/* Where logins go once a user has as many session groups as the bound
 * allows: one group shared by all of them, under the user's total. */
/* Named like a session group, so that status and apply list it. */
#define MG_CG_SHARED_SESSION "session-shared"

/* Creates (or finds) BASE, BASE/user-UID and the session group, writes
 * the caps, then moves pid into the session group: no process runs in a
 * group before its caps are written. A limit of a group that holds
 * processes is only raised (a lowering is left pending and noted); an
 * empty group gets the policy's caps as they are. session_name
 * MG_CG_SHARED_SESSION: the shared group, whose caps are only raised. */
/* BASE, open; -ENOENT before the first login made it. */
int mg_cg_open_base(const struct mg_cg *cg);

/* base_dfd: BASE from mg_cg_open_base (not closed here), or -1 to make
 * it. On success place->user_fd holds the user group open. */
int mg_cg_open_session(const struct mg_cg *cg, int base_dfd, uid_t uid, const char *session_name,
		       const struct mg_caps *all, const struct mg_caps *user, const struct mg_caps *session, pid_t pid,
		       struct mg_session_place *place, struct mg_diags *notes);

/* Moves pid back to orig_rel, removes the session group when empty and
 * the user group when no session is left. A group that processes keep
 * busy stays (capped) and is noted; it is reaped by a later open. */
/* user_dfd: the user group as open_session left it open, or -1. The
 * two halves: moving pid back, and removing the groups (the caller may
 * read the session group's figures in between, from outside it). */
int mg_cg_move_back(const struct mg_cg *cg, const char *orig_rel, pid_t pid, struct mg_diags *notes);
void mg_cg_remove_session(const struct mg_cg *cg, int user_dfd, uid_t uid, const char *session_name,
			  struct mg_diags *notes);
int mg_cg_close_session(const struct mg_cg *cg, int user_dfd, uid_t uid, const char *session_name,
			const char *orig_rel, pid_t pid, struct mg_diags *notes);

/* Removes stale session groups under BASE: the user's own whose login is
 * gone and that no process uses any more (but keep), and those of other
 * users whose caller's pid is gone, with a user group left with no
 * session. *left: the user's session groups that stay, keep included. */
/* base_dfd: BASE, open (-1: none yet, nothing to reap). */
int mg_cg_reap(const struct mg_cg *cg, int base_dfd, uid_t uid, const char *keep, unsigned *reaped, unsigned *left);

/* The same pass for memguardctl gc, with every user's groups judged by
 * their owner's start time (no user is logging in) and each group told
 * to removed() as it goes (dry_run: the groups that would go, nothing
 * removed). Empty groups only: the kernel refuses to remove a populated
 * one, and a group a racing login or logout removes first is no error. */
struct mg_cg_reap_opts {
	bool dry_run;
	void (*removed)(void *arg, uid_t uid, const char *name, bool user_group);
	void *arg;
};

int mg_cg_gc(const struct mg_cg *cg, const struct mg_cg_reap_opts *o, unsigned *removed, unsigned *left);

/* "session-PID-STARTTIME": a reused pid never names a stale group. */
int mg_cg_session_name(pid_t pid, char *buf, size_t len);

/* OOM kills counted in a group (memory.events or memory.oom_control). */
int mg_cg_oom_kills(const struct mg_cg *cg, const char *dir, uint64_t *kills);

void mg_cg_place_free(struct mg_session_place *p);

/* What a group holds now, as the kernel reports it. has[k]: the file
 * exists (v1 has no memory.low or memory.min; on v1 memory.high is the
 * soft limit and memory.swap.max the RAM+swap limit less memory.max). */
struct mg_cg_live {
	bool has[MG_KEY_COUNT];
	uint64_t bytes[MG_KEY_COUNT]; /* MG_CG_UNLIMITED: max */
	bool has_current, has_oom_kills;
	uint64_t current, oom_kills;
};

/* One limit or protection file of the group at dir (absolute): "max" and
 * v1's huge "unlimited" as MG_CG_UNLIMITED. */
int mg_cg_read_limit(const char *dir, const char *file, uint64_t *v);

/* Reads the caps, memory.current and the OOM kills of the group at dir
 * (absolute) on a hierarchy of the given version. -errno when dir cannot
 * be opened (-ENOENT: no such group); a file missing inside it only
 * leaves its has[] false. */
int mg_cg_read_live(int version, const char *dir, struct mg_cg_live *out);

/* Writes the caps set in caps to the existing group at dir (absolute),
 * lower or higher, in the syntax of the hierarchy's version (v1: the
 * RAM+swap limit follows memory.max as at login). Creates nothing; what
 * could not be written is noted. memguardctl apply: the caller decides
 * what may be written. */
int mg_cg_set_caps(const struct mg_cg *cg, const char *dir, const struct mg_caps *caps, struct mg_diags *notes);

/* v2: BASE's memory.min and memory.low become the sum of its user
 * groups', as after a login that sets them. Nothing on v1. */
void mg_cg_sum_protections(const struct mg_cg *cg, struct mg_diags *notes);

/* Whether a process runs in the group at dir or below it: 1 yes, 0 no,
 * -errno when that cannot be told (-ENOENT: no such group). */
int mg_cg_populated(int version, const char *dir);

/* What the kernel counted in a group, each with has_ false where this
 * kernel does not report it: peak usage (v2 memory.peak, v1
 * max_usage_in_bytes), times it reached memory.high (v2) and its hard
 * limit (v2 memory.events max, v1 failcnt), and OOM kills in it and
 * below (v1: summed over the groups below that still exist, unless
 * subtree is false: a leaf, such as a session group). */
struct mg_cg_events {
	bool has_peak, has_high, has_max, has_oom_kills;
	uint64_t peak, high, max, oom_kills;
	/* v2 memory.events oom: the group hit its limit and the kernel went
	 * for an OOM kill (v1 has no count of these) */
	bool has_oom;
	uint64_t oom;
};

int mg_cg_read_events(int version, const char *dir, bool subtree, struct mg_cg_events *out);
int mg_cg_read_events_at(int version, int dfd, bool subtree, struct mg_cg_events *out);

/* The close record's figures in one pass through the user group (open
 * at user_dfd): the session group's own and the user group's, with the
 * OOM kills of every group below it. */
void mg_cg_read_session_events(int version, int user_dfd, const char *session_name, struct mg_cg_events *sess,
			       struct mg_cg_events *user);

/* How many groups are right below the group at dfd, from its link count
 * (2 + its subdirectories on a cgroup filesystem): no listing needed.
 * -EOPNOTSUPP where the count says nothing, -errno. */
int mg_cg_subgroups_at(int dfd);

/* A group's file, relative to the group's directory fd, NUL-terminated
 * into buf (opened O_NOFOLLOW); -errno. For the readers in lib/. */
int mg_cg_read_text_at(int dfd, const char *file, char *buf, size_t len);

/* Whether a hierarchy of this version has a file for key k: v1 has none
 * for memory.low, memory.min and oom.group, so the module cannot apply
 * them there. */
bool mg_cg_key_applies(int version, enum mg_key k);

#endif
