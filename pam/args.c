#include "args.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "policy.h"

static const char *value_of(const char *arg, const char *key)
{
	size_t n = strlen(key);

	return strncmp(arg, key, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

void mg_args_parse(pam_handle_t *pamh, int argc, const char **argv, struct mg_args *a)
{
	const char *v;

	memset(a, 0, sizeof(*a));
	a->policy = MG_POLICY_DEFAULT_PATH;
	a->skip_service = "systemd-user";
	a->max_sessions = MG_MAX_SESSIONS_DEFAULT;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];

		if ((v = value_of(arg, "policy"))) {
			a->policy = v;
			a->policy_explicit = true;
		} else if ((v = value_of(arg, "cgroup_root"))) {
			a->cgroup_root = v;
		} else if ((v = value_of(arg, "on_error"))) {
			if (strcmp(v, "deny") == 0)
				a->deny = true;
			else if (strcmp(v, "allow") == 0)
				a->deny = false;
			else
				pam_syslog(pamh, LOG_ERR, "on_error=%s: expected allow or deny; using allow", v);
		} else if ((v = value_of(arg, "service"))) {
			a->service = v;
		} else if ((v = value_of(arg, "skip_service"))) {
			a->skip_service = v;
		} else if ((v = value_of(arg, "backend"))) {
			if (strcmp(v, "systemd") == 0)
				a->backend = MG_BACKEND_SYSTEMD;
			else if (strcmp(v, "cgroupfs") == 0)
				a->backend = MG_BACKEND_CGROUPFS;
			else if (strcmp(v, "auto") == 0)
				a->backend = MG_BACKEND_AUTO;
			else
				pam_syslog(pamh, LOG_ERR, "backend=%s: expected systemd, cgroupfs or auto; using auto", v);
		} else if ((v = value_of(arg, "phase"))) {
			if (strcmp(v, "post") == 0)
				a->phase_post = true;
			else if (strcmp(v, "pre") == 0)
				a->phase_post = false;
			else
				pam_syslog(pamh, LOG_ERR, "phase=%s: expected pre or post; using pre", v);
		} else if ((v = value_of(arg, "max_sessions"))) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);

			if (*v >= '0' && *v <= '9' && !*end && n >= 1 && n <= MG_MAX_SESSIONS_LIMIT)
				a->max_sessions = (unsigned)n;
			else
				pam_syslog(pamh, LOG_ERR, "max_sessions=%s: expected a number from 1 to %u; using %u", v,
					   MG_MAX_SESSIONS_LIMIT, MG_MAX_SESSIONS_DEFAULT);
		} else if (strcmp(arg, "include_root") == 0) {
			a->include_root = true;
		} else if (strcmp(arg, "debug") == 0) {
			a->debug = true;
		} else {
			pam_syslog(pamh, LOG_ERR, "unknown argument '%s', ignoring", arg);
		}
	}
}

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

bool mg_args_service_wanted(const struct mg_args *a, const char *service)
{
	if (!service)
		service = "";
	if (a->service && !in_list(a->service, service))
		return false;
	return !in_list(a->skip_service, service);
}
