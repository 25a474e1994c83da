/* memguardctl: what the commands share. */
#ifndef MEMGUARD_CTL_H
#define MEMGUARD_CTL_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "diag.h"
#include "pamconf.h"
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
	/* The live commands take the module's arguments from the PAM
	 * configuration (ctl_module_config); an option given wins. */
	const char *pam_dir; /* --pam-dir; NULL: /etc/pam.d */
	bool cgroup_root_explicit, backend_explicit;
	bool module_read;
	bool include_root; /* a line that logins run has include_root */
	unsigned module_services; /* services whose logins run the module */
	char module_from[4200]; /* file:line of the first such line, "" if none */
	char *owned_root, *owned_policy;
	/* status, top: order of the users */
	enum { CTL_SORT_NAME, CTL_SORT_USAGE, CTL_SORT_PRESSURE } sort;
	bool sort_given;
	const char *output; /* metrics --output FILE */
	bool sessions;      /* metrics --sessions */
	unsigned iterations; /* top --iterations N; 0: until q */
	unsigned interval_ms; /* top --interval */
	const char *proc; /* the /proc root */
};

/* A pam_memguard line that a service's logins run. */
struct ctl_module_use {
	const struct mg_pam_service *svc;
	const struct mg_pam_step *step;
	struct mg_modargs args;
};

/* The lines loading pam_memguard.so that run for the services they act
 * for (their service=/skip_service=), in service order. */
int ctl_module_uses(const struct mg_pamconf *pc, struct ctl_module_use **uses, size_t *n, struct mg_diags *d);

/* Takes cgroup_root=, policy= and backend= from the PAM configuration
 * unless given as options; 0, or EXIT_PROBLEMS after saying why (the
 * services disagree, or --pam-dir cannot be read). Once per run. */
int ctl_module_config(struct ctl *c);
void ctl_free(struct ctl *c);

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
int cmd_gc(struct ctl *c, int argc, char **argv);
int cmd_metrics(struct ctl *c, int argc, char **argv);
int cmd_doctor(struct ctl *c, int argc, char **argv);
int cmd_top(struct ctl *c, int argc, char **argv);

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
