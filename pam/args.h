/* pam_memguard's module arguments. */
#ifndef MEMGUARD_PAM_ARGS_H
#define MEMGUARD_PAM_ARGS_H

#include <stdbool.h>

#include <security/pam_modules.h>

#define MG_MAX_SESSIONS_DEFAULT 32
#define MG_MAX_SESSIONS_LIMIT 4096

struct mg_args {
	const char *policy;      /* policy=FILE */
	bool policy_explicit;    /* a missing explicit file is an error */
	const char *cgroup_root; /* cgroup_root=DIR: memguard's directory */
	bool deny;               /* on_error=deny */
	/* Set by the module, not an argument: no rule limits this user (exempt,
	 * or none applies) and the backend only resets what earlier rules set,
	 * so a failure must never refuse the login, whatever on_error says. */
	bool cleanup_only;
	const char *service;     /* service=a,b: only these */
	const char *skip_service; /* skip_service=a,b */
	enum { MG_BACKEND_AUTO, MG_BACKEND_CGROUPFS, MG_BACKEND_SYSTEMD } backend; /* backend= */
	bool phase_post;         /* phase=post: the line after pam_systemd */
	unsigned max_sessions;   /* max_sessions=N: session groups per user, then a shared one */
	bool include_root;
	bool debug;
};

/* Unknown arguments are logged and ignored: a typo never locks anyone out. */
void mg_args_parse(pam_handle_t *pamh, int argc, const char **argv, struct mg_args *a);

/* Whether the service is one this module acts for. */
bool mg_args_service_wanted(const struct mg_args *a, const char *service);

#endif
