/* pam_memguard: puts each login session into a memory-capped cgroup and
 * sets its oom_score_adj, as the policy in memguard.conf(5) says. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "args.h"
#include "backend.h"
#include "cgroup.h"
#include "identity.h"
#include "log.h"
#include "oom_adj.h"
#include "policy.h"
#include "shim_path.h"

#define DATA_KEY "memguard.session"
/* Set by the first pam_memguard line that handles a login, so that a
 * phase=post line knows an earlier line already decided. */
#define RAN_KEY "memguard.ran"
#define EXPORT __attribute__((visibility("default")))

/* What close_session needs; the cleanup only frees memory, so a forked
 * child that calls pam_end(PAM_DATA_SILENT) changes nothing. */
struct session_state {
	const struct mg_backend *be;
	void *be_state;
	pid_t pid;
	bool oom_set;
	int oom_prev;
};

static void state_free(pam_handle_t *pamh, void *data, int error_status)
{
	struct session_state *s = data;

	(void)pamh;
	(void)error_status;
	if (s->be && s->be_state)
		s->be->free_state(s->be_state);
	free(s);
}

#define fail mg_pam_fail
#define log_notes mg_pam_log_notes

/* The kernel refuses a value below the process's floor; say why. The
 * caps are in force by then: the line says so. */
static int apply_oom_adj(pam_handle_t *pamh, const struct mg_args *a, const struct mg_resolved *res,
			 struct session_state *s, const char *caps)
{
	char in_force[1200], stays[64];
	int want, r;

	if (!res->v[MG_KEY_OOM_SCORE_ADJ].set)
		return PAM_SUCCESS;
	want = (int)res->v[MG_KEY_OOM_SCORE_ADJ].u.num;
	r = mg_oom_adj_swap(s->pid, want, &s->oom_prev);
	if (r == 0) {
		s->oom_set = true;
		return PAM_SUCCESS;
	}
	if (s->oom_prev == MG_OOM_ADJ_UNKNOWN)
		snprintf(stays, sizeof(stays), "oom_score_adj is unchanged");
	else
		snprintf(stays, sizeof(stays), "oom_score_adj stays %d", s->oom_prev);
	if (caps[0])
		snprintf(in_force, sizeof(in_force), "%s, the caps apply (%s)", stays, caps);
	else
		snprintf(in_force, sizeof(in_force), "%s, no cap applies", stays);
	if (r == -EACCES && !mg_have_sys_resource())
		return mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, in_force,
				      "cannot set oom_score_adj=%d: below this process's floor, and lowering it needs "
				      "CAP_SYS_RESOURCE, which this process lacks",
				      want);
	return mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, in_force, "cannot set oom_score_adj=%d: %s", want,
			      strerror(-r));
}

static int load_policy(pam_handle_t *pamh, const struct mg_args *a, const struct mg_identity_buf *who,
		       struct mg_policy *p, bool *usable)
{
	struct mg_diags d = { 0 };
	int r, ret = PAM_SUCCESS;

	*usable = false;
	mg_policy_init(p, 0);
	p->meminfo = "/proc/meminfo";
	p->only = &who->id;
	r = mg_policy_load(p, a->policy, a->policy_explicit ? 0 : MG_LOAD_MISSING_OK, &d);
	/* An @group rule asked NSS during the load; without the groups no
	 * rule can be trusted to be the right one. */
	if (who->groups_error) {
		ret = fail(pamh, a, PAM_SESSION_ERR, "cannot look up the groups of user %s: %s", who->name,
			   strerror(-who->groups_error));
	} else if (r == -ENOMEM) {
		log_notes(pamh, &d);
		ret = fail(pamh, a, PAM_BUF_ERR, "out of memory reading %s", a->policy);
	} else if (mg_diags_count_errors(&d, 1u << MG_DIAG_TRUST | 1u << MG_DIAG_ACCESS) || r < 0) {
		const struct mg_diag *cause = mg_pam_log_notes_but_cause(pamh, &d);
		char why[1024];

		if (cause)
			mg_diag_format(cause, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "cannot read the policy %s: %s", a->policy, strerror(-r));
		ret = fail(pamh, a, PAM_SESSION_ERR, "%s: nothing applied", why);
	} else if (d.errors) {
		/* The broken lines were dropped; the rest still protects. With one
		 * error, its own line says everything. */
		const struct mg_diag *cause = d.errors == 1 ? mg_pam_log_notes_but_cause(pamh, &d) : NULL;
		char why[1024];

		if (cause) {
			mg_diag_format(cause, why, sizeof(why));
		} else {
			log_notes(pamh, &d);
			snprintf(why, sizeof(why), "policy %s has %zu errors (see 'memguardctl check')", a->policy,
				 d.errors);
		}
		ret = mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, "the rest of the policy applies", "%s", why);
		*usable = ret == PAM_SUCCESS;
	} else {
		log_notes(pamh, &d);
		*usable = true;
	}
	mg_diags_free(&d);
	return ret;
}

static bool key_above(const struct mg_resolved *r, enum mg_key lower, enum mg_key upper, uint64_t memtotal)
{
	if (!r->v[lower].set || !r->v[upper].set || r->v[lower].u.size.kind == MG_SIZE_MAX ||
	    r->v[upper].u.size.kind == MG_SIZE_MAX)
		return false;
	return mg_size_bytes(&r->v[lower].u.size, memtotal) > mg_size_bytes(&r->v[upper].u.size, memtotal);
}

static void drop_key(struct mg_resolved *r, enum mg_key k, char *dropped, size_t len)
{
	size_t n = strlen(dropped);

	r->v[k].set = false;
	r->src[k] = NULL;
	snprintf(dropped + n, len - n, "%s%s", n ? ", " : "", mg_key_info(k)->name);
}

/* on_error=allow with settings that clash (the errors of
 * mg_resolved_validate): the setting that makes no sense goes, the
 * others apply, and the log line names what went. */
static void drop_clashes(struct mg_resolved *r, uint64_t memtotal, char *dropped, size_t len)
{
	dropped[0] = '\0';
	if (key_above(r, MG_KEY_MEMORY_HIGH, MG_KEY_MEMORY_MAX, memtotal))
		drop_key(r, MG_KEY_MEMORY_HIGH, dropped, len);
	if (key_above(r, MG_KEY_SESSION_MEMORY_HIGH, MG_KEY_SESSION_MEMORY_MAX, memtotal))
		drop_key(r, MG_KEY_SESSION_MEMORY_HIGH, dropped, len);
	if (r->v[MG_KEY_OOM_SCORE_ADJ].set && r->v[MG_KEY_OOM_SCORE_ADJ].u.num == -1000)
		drop_key(r, MG_KEY_OOM_SCORE_ADJ, dropped, len);
}

/* debug: which rule set each key, as show says. */
static void log_sources(pam_handle_t *pamh, const char *user, const struct mg_resolved *res)
{
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		char v[64];

		if (!res->src[k])
			continue;
		mg_value_format((enum mg_key)k, &res->v[k], v, sizeof(v));
		pam_syslog(pamh, LOG_DEBUG, "%s: %s=%s from %s:%u (%s)", user, mg_key_info((enum mg_key)k)->name, v,
			   res->src[k]->file, res->src[k]->line, res->src[k]->who);
	}
}

static bool resolved_any(const struct mg_resolved *r)
{
	for (int k = 0; k < MG_KEY_COUNT; k++)
		if (r->src[k])
			return true;
	return false;
}

static void settings_from(const struct mg_policy *p, const struct mg_resolved *res, bool limited,
			  struct mg_settings *set)
{
	struct mg_resolved allr;

	mg_policy_resolve_all_sessions(p, &allr);
	mg_caps_from_resolved(&allr, p->memtotal, 'a', &set->all);
	memset(&set->user_caps, 0, sizeof(set->user_caps));
	memset(&set->session, 0, sizeof(set->session));
	set->oom_group_set = false;
	if (!limited)
		return;
	mg_caps_from_resolved(res, p->memtotal, 'u', &set->user_caps);
	mg_caps_from_resolved(res, p->memtotal, 's', &set->session);
	set->oom_group_set = res->v[MG_KEY_OOM_GROUP].set;
}

/* trace=SIZE: the allocation shim and its threshold in the session's
 * environment. The path is the one compiled in, used only when root owns
 * it and nobody else may write it; never for systemd --user, whose
 * manager and services are no login session. Never fails the login. */
static void put_trace_env(pam_handle_t *pamh, const struct mg_resolved *res, const char *service, char *summary,
			  size_t len)
{
	const struct mg_value *v = &res->v[MG_KEY_TRACE];
	char thr[32], *preload, *kv = NULL;
	int r;

	if (!v->set || !v->u.trace.on || (service && strcmp(service, "systemd-user") == 0))
		return;
	r = mg_shim_trusted(MG_PRELOAD_PATH);
	if (r < 0) {
		pam_syslog(pamh, LOG_WARNING, "trace= not applied: the allocation shim %s %s", MG_PRELOAD_PATH,
			   r == -EPERM ? "is not root-owned and writable only by root" : strerror(-r));
		return;
	}
	mg_size_format(&v->u.trace.threshold, thr, sizeof(thr));
	preload = mg_shim_preload_value(pam_getenv(pamh, "LD_PRELOAD"), MG_PRELOAD_PATH);
	if (!preload || asprintf(&kv, "LD_PRELOAD=%s", preload) < 0 || pam_putenv(pamh, kv) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_WARNING, "trace= not applied: cannot set LD_PRELOAD");
	} else {
		free(kv);
		kv = NULL;
		if (asprintf(&kv, "MEMGUARD_THRESHOLD=%s", thr) < 0 || pam_putenv(pamh, kv) != PAM_SUCCESS)
			pam_syslog(pamh, LOG_WARNING, "trace= not applied: cannot set MEMGUARD_THRESHOLD");
		else
			snprintf(summary + strlen(summary), len - strlen(summary), "%strace=%s", summary[0] ? " " : "",
				 thr);
	}
	free(kv);
	free(preload);
}

/* The line after pam_systemd: finish what an earlier line left for it. */
static int open_post(pam_handle_t *pamh, const struct mg_args *a, bool *done)
{
	struct session_state *s = NULL;
	const void *ran = NULL;

	*done = true;
	if (pam_get_data(pamh, DATA_KEY, (const void **)&s) == PAM_SUCCESS && s) {
		if (!s->be->post) {
			if (a->debug)
				pam_syslog(pamh, LOG_DEBUG, "phase=post: nothing to do for the %s backend", s->be->name);
			return PAM_SUCCESS;
		}
		return s->be->post(pamh, a, s->be_state);
	}
	if (pam_get_data(pamh, RAN_KEY, &ran) == PAM_SUCCESS && ran) {
		if (a->debug)
			pam_syslog(pamh, LOG_DEBUG, "phase=post: the earlier line left nothing to do");
		return PAM_SUCCESS;
	}
	/* No earlier pam_memguard line: this one does the whole job. */
	*done = false;
	return PAM_SUCCESS;
}

EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mg_args a;
	struct mg_identity_buf who;
	struct mg_policy p;
	struct mg_resolved res;
	struct mg_diags d = { 0 };
	struct mg_settings set = { 0 };
	struct session_state *s = NULL;
	const struct mg_backend *be;
	const char *user = NULL, *service = NULL;
	char summary[1024] = "";
	uid_t uid;
	bool usable, limited = true, done;
	int r, ret;

	(void)flags;
	mg_args_parse(pamh, argc, argv, &a);
	pam_get_item(pamh, PAM_SERVICE, (const void **)&service);
	if (!mg_args_service_wanted(&a, service)) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "service %s is not ours", service ? service : "(none)");
		return PAM_SUCCESS;
	}
	if (a.phase_post && ((ret = open_post(pamh, &a, &done)) != PAM_SUCCESS || done))
		return ret;
	pam_set_data(pamh, RAN_KEY, (void *)"1", NULL);
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || !user || !*user)
		return fail(pamh, &a, PAM_SESSION_ERR, "no user name in this PAM session");
	/* Root is decided on the passwd entry alone: a group backend (LDAP,
	 * SSSD) that hangs, or a broken login.defs, never delays root. */
	r = mg_identity_lookup_passwd(user, &who);
	if (r == -ENOENT)
		return fail(pamh, &a, PAM_USER_UNKNOWN, "unknown user %s", user);
	if (r == -ENAMETOOLONG)
		return fail(pamh, &a, PAM_USER_UNKNOWN, "a user name of %zu bytes is too long (at most %d)", strlen(user),
			    MG_NAME_MAX);
	if (r < 0)
		return fail(pamh, &a, PAM_SESSION_ERR, "cannot look up user %s: %s", user, strerror(-r));
	uid = who.id.uid;
	if (uid == 0 && !a.include_root) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "uid 0 is exempt");
		mg_identity_free(&who);
		return PAM_SUCCESS;
	}
	mg_identity_defer(&who, MG_LOGIN_DEFS_PATH);
	ret = load_policy(pamh, &a, &who, &p, &usable);
	if (!usable)
		goto out_policy;
	be = mg_backend_choose(pamh, &a);
	mg_policy_resolve(&p, &who.id, &res);
	if (mg_resolved_exempt(&res)) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "%s is exempt (%s:%u)", user, res.src[MG_KEY_EXEMPT]->file,
				   res.src[MG_KEY_EXEMPT]->line);
		limited = false;
	} else if (!resolved_any(&res)) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "no rule applies to %s (uid %u)", user, (unsigned)uid);
		limited = false;
	}
	if (!limited && !be->open_without_rule)
		goto out_who;
	a.cleanup_only = !limited;
	if (limited) {
		if (a.debug)
			log_sources(pamh, user, &res);
		mg_resolved_validate(&res, p.memtotal, user, true, &d);
		if (d.errors) {
			const struct mg_diag *cause = mg_pam_log_notes_but_cause(pamh, &d);
			char why[1024], dropped[128], in_force[256];

			mg_diag_format(cause, why, sizeof(why));
			drop_clashes(&res, p.memtotal, dropped, sizeof(dropped));
			if (dropped[0])
				snprintf(in_force, sizeof(in_force), "%s not applied, the rest of the policy applies",
					 dropped);
			else
				snprintf(in_force, sizeof(in_force), "the policy applies as resolved");
			ret = mg_pam_fail_as(pamh, &a, PAM_SESSION_ERR, in_force, "the settings for %s clash: %s", user,
					     why);
			if (ret != PAM_SUCCESS)
				goto out_who;
		} else {
			log_notes(pamh, &d);
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = fail(pamh, &a, PAM_BUF_ERR, "out of memory");
		goto out_who;
	}
	s->pid = getpid();
	s->be = be;
	set.user = user;
	set.uid = uid;
	set.pid = s->pid;
	settings_from(&p, &res, limited, &set);
	ret = be->open(pamh, &a, &set, &s->be_state, summary, sizeof(summary));
	if (ret != PAM_SUCCESS)
		goto out_state;
	if (limited) {
		ret = apply_oom_adj(pamh, &a, &res, s, summary);
		if (ret != PAM_SUCCESS)
			goto out_state;
	}
	r = pam_set_data(pamh, DATA_KEY, s, state_free);
	if (r != PAM_SUCCESS) {
		ret = fail(pamh, &a, PAM_BUF_ERR, "cannot keep the session state: %s", pam_strerror(pamh, r));
		goto out_state;
	}
	if (s->oom_set)
		snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary), " oom_score_adj=%ld",
			 res.v[MG_KEY_OOM_SCORE_ADJ].u.num);
	if (limited)
		put_trace_env(pamh, &res, service, summary, sizeof(summary));
	if (limited)
		pam_syslog(pamh, LOG_INFO, "session of %s (uid %u): %s", user, (unsigned)uid,
			   summary[0] ? summary : "no limits apply");
	s = NULL;
out_state:
	if (s) {
		if (s->be_state)
			be->close(pamh, &a, s->be_state);
		state_free(pamh, s, 0);
	}
out_who:
	mg_diags_free(&d);
out_policy:
	mg_policy_free(&p);
	mg_identity_free(&who);
	return ret;
}

EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct session_state *s = NULL;
	struct mg_args a;

	(void)flags;
	mg_args_parse(pamh, argc, argv, &a);
	if (pam_get_data(pamh, DATA_KEY, (const void **)&s) != PAM_SUCCESS || !s)
		return PAM_SUCCESS;
	if (s->be_state)
		s->be->close(pamh, &a, s->be_state);
	/* The caller may outlive the session (su, a login manager). */
	if (s->oom_set && getpid() == s->pid && mg_oom_adj_write(s->pid, s->oom_prev) < 0 && a.debug)
		pam_syslog(pamh, LOG_DEBUG, "cannot restore oom_score_adj=%d", s->oom_prev);
	/* Also tells a later line's close_session that this one is done. */
	pam_set_data(pamh, DATA_KEY, NULL, NULL);
	/* Never fail a logout. */
	return PAM_SUCCESS;
}
