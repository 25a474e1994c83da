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
#include "cgroup.h"
#include "identity.h"
#include "oom_adj.h"
#include "policy.h"
#include "readfile.h"

#define DATA_KEY "memguard.session"
#define EXPORT __attribute__((visibility("default")))

/* What close_session needs; the cleanup only frees memory, so a forked
 * child that calls pam_end(PAM_DATA_SILENT) changes nothing. */
struct session_state {
	struct mg_cg cg;
	bool in_cgroup;
	uid_t uid;
	pid_t pid;
	char *name;
	char *orig_rel;
	bool oom_set;
	int oom_prev;
};

static void state_free(pam_handle_t *pamh, void *data, int error_status)
{
	struct session_state *s = data;

	(void)pamh;
	(void)error_status;
	mg_cg_free(&s->cg);
	free(s->name);
	free(s->orig_rel);
	free(s);
}

/* Every failure goes through on_error: allow logs and lets the user in. */
/* What on_error does, said once at the end of the line that explains the
 * failure: one failure, one log line. */
enum fail_outcome {
	FAIL_NOTHING_APPLIED,
	FAIL_REST_APPLIED, /* broken lines dropped, the rest of the policy still holds */
};

static int fail_as(pam_handle_t *pamh, const struct mg_args *a, int deny_code, enum fail_outcome outcome,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail_as(pam_handle_t *pamh, const struct mg_args *a, int deny_code, enum fail_outcome outcome,
		   const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pam_syslog(pamh, LOG_ERR, "%s; %s", msg,
		   a->deny			  ? "refusing the session (on_error=deny)"
		   : outcome == FAIL_REST_APPLIED ? "the rest of the policy applies (on_error=allow)"
						  : "letting the user in without limits (on_error=allow)");
	return a->deny ? deny_code : PAM_SUCCESS;
}

#define fail(pamh, a, code, ...) fail_as(pamh, a, code, FAIL_NOTHING_APPLIED, __VA_ARGS__)

static void log_note(pam_handle_t *pamh, const struct mg_diag *diag)
{
	char line[1024];

	mg_diag_format(diag, line, sizeof(line));
	pam_syslog(pamh, diag->severity == MG_ERROR ? LOG_ERR : LOG_WARNING, "%s", line);
}

static void log_notes(pam_handle_t *pamh, const struct mg_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_note(pamh, &d->v[i]);
}

/* Logs every note but the last error, whose text the caller puts into its
 * own failure line; NULL when there is no error. */
static const struct mg_diag *log_notes_but_cause(pam_handle_t *pamh, const struct mg_diags *d)
{
	const struct mg_diag *cause = NULL;

	for (size_t i = d->n; i-- > 0 && !cause;)
		if (d->v[i].severity == MG_ERROR)
			cause = &d->v[i];
	for (size_t i = 0; i < d->n; i++)
		if (&d->v[i] != cause)
			log_note(pamh, &d->v[i]);
	return cause;
}

static void describe_caps(const struct mg_caps *c, const char *prefix, char *buf, size_t len)
{
	static const char *names[] = { [MG_KEY_MEMORY_MAX] = "max", [MG_KEY_MEMORY_HIGH] = "high",
				       [MG_KEY_MEMORY_SWAP_MAX] = "swap.max", [MG_KEY_MEMORY_LOW] = "low",
				       [MG_KEY_MEMORY_MIN] = "min" };
	size_t n = strlen(buf);

	for (int k = 0; k <= MG_KEY_MEMORY_MIN && n < len; k++) {
		char v[32];
		if (!c->set[k])
			continue;
		if (c->bytes[k] == MG_CG_UNLIMITED)
			snprintf(v, sizeof(v), "max");
		else
			mg_bytes_format(c->bytes[k], v, sizeof(v));
		n += (size_t)snprintf(buf + n, len - n, " %s%s=%s", prefix, names[k], v);
	}
}

/* The kernel refuses a value below the process's floor; say why. */
static int apply_oom_adj(pam_handle_t *pamh, const struct mg_args *a, const struct mg_resolved *res,
			 struct session_state *s)
{
	int want, r;

	if (!res->v[MG_KEY_OOM_SCORE_ADJ].set)
		return PAM_SUCCESS;
	want = (int)res->v[MG_KEY_OOM_SCORE_ADJ].u.num;
	if (mg_oom_adj_read(s->pid, &s->oom_prev) < 0)
		s->oom_prev = 0;
	r = mg_oom_adj_write(s->pid, want);
	if (r == 0) {
		s->oom_set = true;
		return PAM_SUCCESS;
	}
	if (r == -EACCES && !mg_have_sys_resource())
		return fail(pamh, a, PAM_SESSION_ERR,
			    "cannot set oom_score_adj=%d: below this process's floor, and lowering it needs "
			    "CAP_SYS_RESOURCE, which this process lacks",
			    want);
	return fail(pamh, a, PAM_SESSION_ERR, "cannot set oom_score_adj=%d: %s", want, strerror(-r));
}

static int load_policy(pam_handle_t *pamh, const struct mg_args *a, const struct mg_identity *who,
		       struct mg_policy *p, bool *usable)
{
	struct mg_diags d = { 0 };
	uint64_t memtotal = 0;
	int r, ret = PAM_SUCCESS;

	*usable = false;
	mg_meminfo_get("/proc/meminfo", "MemTotal", &memtotal);
	mg_policy_init(p, memtotal);
	p->only = who;
	r = mg_policy_load(p, a->policy, a->policy_explicit ? 0 : MG_LOAD_MISSING_OK, &d);
	if (r == -ENOMEM) {
		log_notes(pamh, &d);
		ret = fail(pamh, a, PAM_BUF_ERR, "out of memory reading %s", a->policy);
	} else if (mg_diags_count_errors(&d, 1u << MG_DIAG_TRUST | 1u << MG_DIAG_ACCESS) || r < 0) {
		const struct mg_diag *cause = log_notes_but_cause(pamh, &d);
		char why[1024];

		if (cause)
			mg_diag_format(cause, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "cannot read the policy %s: %s", a->policy, strerror(-r));
		ret = fail(pamh, a, PAM_SESSION_ERR, "%s: nothing applied", why);
	} else if (d.errors) {
		/* The broken lines were dropped; the rest still protects. With one
		 * error, its own line says everything. */
		const struct mg_diag *cause = d.errors == 1 ? log_notes_but_cause(pamh, &d) : NULL;
		char why[1024];

		if (cause) {
			mg_diag_format(cause, why, sizeof(why));
		} else {
			log_notes(pamh, &d);
			snprintf(why, sizeof(why), "policy %s has %zu errors (see 'memguardctl check')", a->policy,
				 d.errors);
		}
		ret = fail_as(pamh, a, PAM_SESSION_ERR, FAIL_REST_APPLIED, "%s", why);
		*usable = ret == PAM_SUCCESS;
	} else {
		log_notes(pamh, &d);
		*usable = true;
	}
	mg_diags_free(&d);
	return ret;
}

static bool resolved_any(const struct mg_resolved *r)
{
	for (int k = 0; k < MG_KEY_COUNT; k++)
		if (r->src[k])
			return true;
	return false;
}

static bool systemd_manages_cgroups(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

static int open_cgroup(pam_handle_t *pamh, const struct mg_args *a, const struct mg_policy *p,
		       const struct mg_resolved *res, struct session_state *s, char *summary, size_t slen)
{
	struct mg_caps all, user, sess;
	struct mg_resolved allr;
	struct mg_session_place place;
	struct mg_diags notes = { 0 };
	char name[64], *now = NULL;
	unsigned reaped = 0;
	int r, ret = PAM_SUCCESS;

	r = mg_cg_detect(a->cgroup_root, &s->cg);
	if (r < 0)
		return fail(pamh, a, PAM_SESSION_ERR, "no cgroup memory controller at %s: %s",
			    a->cgroup_root ? a->cgroup_root : "/sys/fs/cgroup",
			    r == -ENODEV ? "not a cgroup file system with the memory controller" : strerror(-r));
	if ((r = mg_cg_session_name(s->pid, name, sizeof(name))) < 0 || !(s->name = strdup(name)))
		return fail(pamh, a, PAM_SESSION_ERR, "cannot name the session group: %s", strerror(r ? -r : ENOMEM));
	if ((r = mg_cg_self(&s->cg, &s->orig_rel)) < 0)
		return fail(pamh, a, PAM_SESSION_ERR, "cannot read /proc/self/cgroup: %s", strerror(-r));
	mg_cg_reap(&s->cg, s->uid, name, &reaped);
	if (reaped && a->debug)
		pam_syslog(pamh, LOG_DEBUG, "removed %u stale session group%s of uid %u", reaped,
			   reaped == 1 ? "" : "s", (unsigned)s->uid);
	mg_policy_resolve_all_sessions(p, &allr);
	mg_caps_from_resolved(&allr, p->memtotal, 'a', &all);
	mg_caps_from_resolved(res, p->memtotal, 'u', &user);
	mg_caps_from_resolved(res, p->memtotal, 's', &sess);
	r = mg_cg_open_session(&s->cg, s->uid, name, &all, &user, &sess, s->pid, &place, &notes);
	if (r < 0) {
		const struct mg_diag *cause = log_notes_but_cause(pamh, &notes);

		if (cause)
			ret = fail(pamh, a, PAM_SESSION_ERR, "%s", cause->msg);
		else
			ret = fail(pamh, a, PAM_SESSION_ERR, "cannot put the session into %s: %s",
				   place.session_dir ? place.session_dir : s->cg.base, strerror(-r));
		/* Leave nothing half-made behind. */
		mg_diags_free(&notes);
		mg_cg_close_session(&s->cg, s->uid, name, s->orig_rel, s->pid, &notes);
		mg_diags_free(&notes);
		mg_cg_place_free(&place);
		return ret;
	}
	log_notes(pamh, &notes);
	mg_diags_free(&notes);
	s->in_cgroup = true;
	/* Trust what the kernel says, not what was written. */
	if (s->pid == getpid() && mg_cg_self(&s->cg, &now) == 0) {
		const char *want = place.session_dir + strlen(s->cg.mount);
		if (strcmp(now, want) != 0)
			ret = fail(pamh, a, PAM_SESSION_ERR, "the session landed in %s, not in %s", now, want);
		free(now);
	}
	snprintf(summary, slen, "group %s:", place.session_dir);
	describe_caps(&user, "", summary, slen);
	describe_caps(&sess, "session.", summary, slen);
	mg_cg_place_free(&place);
	return ret;
}

EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mg_args a;
	struct mg_identity_buf who;
	struct mg_policy p;
	struct mg_resolved res;
	struct mg_diags d = { 0 };
	struct session_state *s = NULL;
	const char *user = NULL, *service = NULL;
	char summary[1024] = "";
	uid_t uid, uid_min, uid_max;
	bool usable;
	int r, ret;

	(void)flags;
	mg_args_parse(pamh, argc, argv, &a);
	pam_get_item(pamh, PAM_SERVICE, (const void **)&service);
	if (!mg_args_service_wanted(&a, service)) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "service %s is not ours", service ? service : "(none)");
		return PAM_SUCCESS;
	}
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || !user || !*user)
		return fail(pamh, &a, PAM_SESSION_ERR, "no user name in this PAM session");
	/* One passwd lookup serves both the root exemption and the groups. */
	mg_login_defs_uid_range(MG_LOGIN_DEFS_PATH, &uid_min, &uid_max);
	r = mg_identity_lookup(user, uid_min, uid_max, &who);
	if (r == -ENOENT)
		return fail(pamh, &a, PAM_USER_UNKNOWN, "unknown user %s", user);
	if (r < 0)
		return fail(pamh, &a, PAM_SESSION_ERR, "cannot look up user %s and their groups: %s", user,
			    strerror(-r));
	uid = who.id.uid;
	if (uid == 0 && !a.include_root) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "uid 0 is exempt");
		mg_identity_free(&who);
		return PAM_SUCCESS;
	}
	ret = load_policy(pamh, &a, &who.id, &p, &usable);
	if (!usable)
		goto out_policy;
	mg_policy_resolve(&p, &who.id, &res);
	if (mg_resolved_exempt(&res)) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "%s is exempt (%s:%u)", user, res.src[MG_KEY_EXEMPT]->file,
				   res.src[MG_KEY_EXEMPT]->line);
		goto out_who;
	}
	if (!resolved_any(&res)) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "no rule applies to %s (uid %u)", user, (unsigned)uid);
		goto out_who;
	}
	mg_resolved_validate(&res, p.memtotal, user, true, &d);
	if (d.errors) {
		const struct mg_diag *cause = log_notes_but_cause(pamh, &d);
		char why[1024];

		mg_diag_format(cause, why, sizeof(why));
		if ((ret = fail(pamh, &a, PAM_SESSION_ERR, "the settings for %s clash: %s", user, why)) != PAM_SUCCESS)
			goto out_who;
	} else {
		log_notes(pamh, &d);
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = fail(pamh, &a, PAM_BUF_ERR, "out of memory");
		goto out_who;
	}
	s->uid = uid;
	s->pid = getpid();
	if (systemd_manages_cgroups() && !a.cgroup_root) {
		pam_syslog(pamh, LOG_WARNING,
			   "systemd manages the cgroups on this host: no cgroup made for %s, only oom_score_adj "
			   "applied (give cgroup_root= a delegated directory to cap sessions)",
			   user);
	} else {
		ret = open_cgroup(pamh, &a, &p, &res, s, summary, sizeof(summary));
		if (ret != PAM_SUCCESS)
			goto out_state;
	}
	ret = apply_oom_adj(pamh, &a, &res, s);
	if (ret != PAM_SUCCESS)
		goto out_state;
	r = pam_set_data(pamh, DATA_KEY, s, state_free);
	if (r != PAM_SUCCESS) {
		ret = fail(pamh, &a, PAM_BUF_ERR, "cannot keep the session state: %s", pam_strerror(pamh, r));
		goto out_state;
	}
	if (s->oom_set)
		snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary), " oom_score_adj=%ld",
			 res.v[MG_KEY_OOM_SCORE_ADJ].u.num);
	pam_syslog(pamh, LOG_INFO, "session of %s (uid %u): %s", user, (unsigned)uid,
		   summary[0] ? summary : "no limits apply");
	s = NULL;
out_state:
	if (s) {
		if (s->in_cgroup) {
			struct mg_diags notes = { 0 };
			mg_cg_close_session(&s->cg, s->uid, s->name, s->orig_rel, s->pid, &notes);
			mg_diags_free(&notes);
		}
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
	struct mg_diags notes = { 0 };
	struct mg_args a;

	(void)flags;
	mg_args_parse(pamh, argc, argv, &a);
	if (pam_get_data(pamh, DATA_KEY, (const void **)&s) != PAM_SUCCESS || !s)
		return PAM_SUCCESS;
	if (s->in_cgroup) {
		mg_cg_close_session(&s->cg, s->uid, s->name, s->orig_rel, s->pid, &notes);
		log_notes(pamh, &notes);
		mg_diags_free(&notes);
	}
	/* The caller may outlive the session (su, a login manager). */
	if (s->oom_set && getpid() == s->pid && mg_oom_adj_write(s->pid, s->oom_prev) < 0 && a.debug)
		pam_syslog(pamh, LOG_DEBUG, "cannot restore oom_score_adj=%d", s->oom_prev);
	pam_set_data(pamh, DATA_KEY, NULL, NULL);
	/* Never fail a logout. */
	return PAM_SUCCESS;
}
