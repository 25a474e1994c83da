/* Where a session's caps go: memguard's own cgroup tree (cgroupfs) or
 * systemd's units (systemd). Both take the same resolved settings; the
 * policy code never knows which one runs. */
#ifndef MEMGUARD_PAM_BACKEND_H
#define MEMGUARD_PAM_BACKEND_H

#include <stddef.h>
#include <sys/types.h>

#include <security/pam_modules.h>

#include "args.h"
#include "cgroup.h"

/* What the policy says for this login, in bytes. */
struct mg_settings {
	const char *user;
	uid_t uid;
	pid_t pid;             /* the session's supervisor: the caller */
	struct mg_caps all;    /* %all: every user's sessions together */
	struct mg_caps user_caps;
	struct mg_caps session; /* memory.max/high of one session, oom_group */
	bool oom_group_set;    /* the policy says oom.group at all */
};

struct mg_backend {
	const char *name;
	/* Its caps outlive the login (systemd's runtime properties): it must
	 * also run when no rule applies, to reset what a removed rule set. */
	bool open_without_rule;
	/* Applies the settings at open_session. *state (maybe NULL) is kept
	 * until close; summary gets what was applied, for the log line.
	 * Returns a PAM code: failures went through on_error already. */
	int (*open)(pam_handle_t *pamh, const struct mg_args *a, const struct mg_settings *s, void **state,
		    char *summary, size_t slen);
	/* The second stack line (phase=post), after pam_systemd: what needs
	 * the session's scope to exist. NULL: nothing to do there. */
	int (*post)(pam_handle_t *pamh, const struct mg_args *a, void *state);
	/* Never fails a logout. */
	void (*close)(pam_handle_t *pamh, const struct mg_args *a, void *state);
	void (*free_state)(void *state);
};

extern const struct mg_backend mg_backend_cgroupfs;
extern const struct mg_backend mg_backend_systemd;

/* backend= wins; otherwise systemd when it manages the cgroups
 * (/run/systemd/system) and no cgroup_root= names a directory of ours. */
const struct mg_backend *mg_backend_choose(pam_handle_t *pamh, const struct mg_args *a);

#endif
