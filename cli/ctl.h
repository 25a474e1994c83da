/* memguardctl: what the commands share. */
#ifndef MEMGUARD_CTL_H
#define MEMGUARD_CTL_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "diag.h"
#include "policy.h"

/* Exit codes, listed in memguardctl(8). Only main() returns them. */
enum {
	EXIT_OK = 0,
	EXIT_PROBLEMS = 1, /* policy problems, refused change, failed operation */
	EXIT_USAGE = 2,
};

struct ctl {
	const char *policy; /* main policy file */
	bool policy_explicit; /* --policy: a missing file is an error for readers */
	const char *login_defs;
	const char *meminfo;
	bool json;
	bool strict;
	bool names; /* look users and groups up through NSS */
	const char *file; /* --file for set, unset, edit */
	/* status, apply: where the live state is, chosen as pam_memguard does */
	enum { CTL_BACKEND_AUTO, CTL_BACKEND_SYSTEMD, CTL_BACKEND_CGROUPFS } backend;
	const char *cgroup_root; /* --cgroup-root: the module's cgroup_root= */
	bool dry_run; /* apply: write nothing */
	bool lower; /* apply: lower limits of groups that hold processes too */
	/* show --uid/--groups: a user NSS need not know yet */
	bool preview;
	uid_t preview_uid;
	const char *preview_groups; /* comma-separated, NULL: none */
	int fatal_signal; /* edit: ended by this signal; main() dies of it after cleanup */
	/* oom-report: time window, one user, one line per event */
	const char *since, *until, *user;
	bool brief;
};

/* Command entry points: return 0 or -errno after printing what went
 * wrong, or a positive exit code decided by the command's own contract. */
int cmd_check(struct ctl *c, int argc, char **argv);
int cmd_list(struct ctl *c, int argc, char **argv);
int cmd_show(struct ctl *c, int argc, char **argv);
int cmd_set(struct ctl *c, int argc, char **argv);
int cmd_unset(struct ctl *c, int argc, char **argv);
int cmd_edit(struct ctl *c, int argc, char **argv);
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_apply(struct ctl *c, int argc, char **argv);
int cmd_oom_report(struct ctl *c, int argc, char **argv);
int cmd_symbolize(struct ctl *c, int argc, char **argv);
/* Takes its own options: argv[0] is "trace". */
int cmd_trace(struct ctl *c, int argc, char **argv);

/* Loads the installed policy (or the override); prints nothing. A missing
 * default policy is an empty one; a missing --policy file is an error
 * unless ov creates it. */
int ctl_load(struct ctl *c, struct mg_policy *p, const struct mg_load_override *ov, struct mg_diags *d);
uint64_t ctl_memtotal(const struct ctl *c);

/* The cgroup version pam_memguard would find (--cgroup-root, or the
 * default places): 1 or 2, 0 when there is no memory controller. */
int ctl_cgroup_version(const struct ctl *c);

/* Diagnostics to stderr, each once, in the order found. */
void ctl_print_diags(const struct mg_diags *d);

__attribute__((format(printf, 1, 2))) void ctl_err(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void ctl_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) int ctl_usage_err(const char *fmt, ...);

/* s with control bytes escaped (lib/safe_text.h), for text meant for
 * people; valid until eight more calls. */
const char *ctl_safe(const char *s);

/* JSON string literal, quotes included. */
void json_str(FILE *f, const char *s);
void json_strn(FILE *f, const char *s, size_t len);

extern const char *ctl_prog;

#endif
