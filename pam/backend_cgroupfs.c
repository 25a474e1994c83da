/* The cgroupfs backend: memguard's own tree (lib/cgroup.c), for hosts where
 * systemd does not manage cgroups or has delegated a directory to us. */
#include "backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "log.h"

struct cgroupfs_state {
	struct mg_cg cg;
	bool in_cgroup;
	uid_t uid;
	pid_t pid;
	char *user;
	char *name;
	char *orig_rel;
	char *user_dir, *session_dir;
	/* The user group, open from open to close: the close record and the
	 * removal go through it, no path walked again. */
	int user_fd;
	/* The user group's counters at open: the close line says what
	 * happened during the session. */
	struct mg_cg_events user_at_open;
};

static void cgroupfs_free(void *data)
{
	struct cgroupfs_state *s = data;

	if (!s)
		return;
	mg_cg_free(&s->cg);
	if (s->user_fd >= 0)
		close(s->user_fd);
	free(s->user);
	free(s->name);
	free(s->orig_rel);
	free(s->user_dir);
	free(s->session_dir);
	free(s);
}

static void leave_group(struct cgroupfs_state *s, pam_handle_t *pamh, bool report)
{
	struct mg_diags notes = { 0 };

	/* Out of the group first: what the record reads is then not charged
	 * to the session it reports on. */
	mg_cg_move_back(&s->cg, s->orig_rel, s->pid, &notes);
	if (report) {
		struct mg_cg_events sess, now;

		mg_cg_read_session_events(s->cg.version, s->user_fd, s->name, &sess, &now);
		mg_pam_log_close_figures(pamh, s->user, s->uid, s->session_dir, &sess, &now, &s->user_at_open,
					 strcmp(s->name, MG_CG_SHARED_SESSION) == 0);
	}
	mg_cg_remove_session(&s->cg, s->user_fd, s->uid, s->name, &notes);
	if (report)
		mg_pam_log_notes(pamh, &notes);
	mg_diags_free(&notes);
	s->in_cgroup = false;
}

/* " max=96M session.max=64M" as the groups hold them now. Read back
 * only when a cap was left pending: otherwise each group holds what was
 * just written, and v1 has no memory.low or memory.min. */
static void as_written(int version, const struct mg_caps *c, struct mg_cg_live *l)
{
	memset(l, 0, sizeof(*l));
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		l->has[k] = version == 2 || (k != MG_KEY_MEMORY_LOW && k != MG_KEY_MEMORY_MIN);
		l->bytes[k] = c->bytes[k];
	}
}

static void describe_live(const struct cgroupfs_state *s, const struct mg_settings *set, bool pending, char *summary,
			  size_t slen)
{
	struct mg_cg_live ul, sl;

	snprintf(summary, slen, "group %s:", s->session_dir);
	if (!pending || mg_cg_read_live(s->cg.version, s->user_dir, &ul) < 0)
		as_written(s->cg.version, &set->user_caps, &ul);
	if (!pending || mg_cg_read_live(s->cg.version, s->session_dir, &sl) < 0)
		as_written(s->cg.version, &set->session, &sl);
	mg_pam_describe_caps(&set->user_caps, "", &ul, summary, slen);
	mg_pam_describe_caps(&set->session, "session.", &sl, summary, slen);
}

static int place_session(pam_handle_t *pamh, const struct mg_args *a, const struct mg_settings *set,
			 struct cgroupfs_state *s, char *summary, size_t slen)
{
	struct mg_session_place place;
	struct mg_diags notes = { 0 };
	char name[64], *now = NULL;
	unsigned reaped = 0, left = 0;
	int r, ret = PAM_SUCCESS, base_fd;

	r = mg_cg_detect(a->cgroup_root, &s->cg);
	if (r < 0)
		return mg_pam_fail(pamh, a, PAM_SESSION_ERR, "no cgroup memory controller at %s: %s",
				   a->cgroup_root ? a->cgroup_root : "/sys/fs/cgroup",
				   r == -ENODEV ? "not a cgroup file system with the memory controller" : strerror(-r));
	if ((r = mg_cg_session_name(s->pid, name, sizeof(name))) < 0)
		return mg_pam_fail(pamh, a, PAM_SESSION_ERR, "cannot name the session group: %s", strerror(-r));
	if ((r = mg_cg_self(&s->cg, &s->orig_rel)) < 0)
		return mg_pam_fail(pamh, a, PAM_SESSION_ERR, "cannot read /proc/self/cgroup: %s", strerror(-r));
	/* One open of BASE for the sweep and the session's groups. */
	base_fd = mg_cg_open_base(&s->cg);
	if (base_fd < 0 && base_fd != -ENOENT)
		return mg_pam_fail(pamh, a, PAM_SESSION_ERR, "cannot open %s: %s", s->cg.base, strerror(-base_fd));
	mg_cg_reap(&s->cg, base_fd, s->uid, name, &reaped, &left);
	if (reaped && a->debug)
		pam_syslog(pamh, LOG_DEBUG, "removed %u stale group%s under %s", reaped, reaped == 1 ? "" : "s",
			   s->cg.base);
	/* Each group costs kernel memory and the kernel has a limit on them:
	 * past the bound the user's further logins share one group. */
	if (left >= a->max_sessions) {
		pam_syslog(pamh, LOG_WARNING,
			   "uid %u already has %u session groups (max_sessions=%u): this login of %s joins %s/user-%u/"
			   MG_CG_SHARED_SESSION ", whose session caps it shares with the others there",
			   (unsigned)s->uid, left, a->max_sessions, set->user, s->cg.base, (unsigned)s->uid);
		snprintf(name, sizeof(name), "%s", MG_CG_SHARED_SESSION);
	}
	if (!(s->name = strdup(name))) {
		if (base_fd >= 0)
			close(base_fd);
		return mg_pam_fail(pamh, a, PAM_BUF_ERR, "out of memory");
	}
	r = mg_cg_open_session(&s->cg, base_fd, s->uid, name, &set->all, &set->user_caps, &set->session, s->pid,
			       &place, &notes);
	if (base_fd >= 0)
		close(base_fd);
	if (r < 0) {
		const struct mg_diag *cause = mg_pam_log_notes_but_cause(pamh, &notes);

		if (cause)
			ret = mg_pam_fail(pamh, a, PAM_SESSION_ERR, "%s", cause->msg);
		else
			ret = mg_pam_fail(pamh, a, PAM_SESSION_ERR, "cannot put the session into %s: %s",
					  place.session_dir ? place.session_dir : s->cg.base, strerror(-r));
		mg_diags_free(&notes);
		/* Leave nothing half-made behind. */
		leave_group(s, pamh, false);
		mg_cg_place_free(&place);
		return ret;
	}
	mg_pam_log_notes(pamh, &notes);
	mg_diags_free(&notes);
	s->in_cgroup = true;
	s->user_dir = place.user_dir;
	s->session_dir = place.session_dir;
	s->user_fd = place.user_fd;
	place.user_dir = place.session_dir = NULL;
	place.user_fd = -1;
	/* A user group this login made has counted nothing yet. */
	if (place.user_created)
		memset(&s->user_at_open, 0, sizeof(s->user_at_open));
	else
		mg_cg_read_events_at(s->cg.version, s->user_fd, true, &s->user_at_open);
	/* Trust what the kernel says, not what was written. */
	if (s->pid == getpid() && mg_cg_self(&s->cg, &now) == 0) {
		const char *want = s->session_dir + strlen(s->cg.mount);
		if (strcmp(now, want) != 0)
			ret = mg_pam_fail(pamh, a, PAM_SESSION_ERR, "the session landed in %s, not in %s", now, want);
		free(now);
	}
	describe_live(s, set, place.pending, summary, slen);
	mg_cg_place_free(&place);
	return ret;
}

static int cgroupfs_open(pam_handle_t *pamh, const struct mg_args *a, const struct mg_settings *set, void **state,
			 char *summary, size_t slen)
{
	struct cgroupfs_state *s = calloc(1, sizeof(*s));
	int ret;

	*state = NULL;
	if (!s)
		return mg_pam_fail(pamh, a, PAM_BUF_ERR, "out of memory");
	s->uid = set->uid;
	s->pid = set->pid;
	s->user_fd = -1;
	if (!(s->user = strdup(set->user))) {
		free(s);
		return mg_pam_fail(pamh, a, PAM_BUF_ERR, "out of memory");
	}
	/* backend=cgroupfs on a systemd host: systemd is the single writer of
	 * its tree, so only a directory it delegated (cgroup_root=) is ours. */
	if (!a->cgroup_root && access("/run/systemd/system", F_OK) == 0) {
		pam_syslog(pamh, LOG_WARNING,
			   "systemd manages the cgroups on this host: no cgroup made for %s, only oom_score_adj "
			   "applied (use backend=systemd, or give cgroup_root= a delegated directory)",
			   set->user);
		*state = s;
		return PAM_SUCCESS;
	}
	ret = place_session(pamh, a, set, s, summary, slen);
	if (ret != PAM_SUCCESS) {
		if (s->in_cgroup)
			leave_group(s, pamh, false);
		cgroupfs_free(s);
		return ret;
	}
	*state = s;
	return PAM_SUCCESS;
}

static void cgroupfs_close(pam_handle_t *pamh, const struct mg_args *a, void *state)
{
	struct cgroupfs_state *s = state;

	(void)a;
	if (s && s->in_cgroup)
		leave_group(s, pamh, true);
}

const struct mg_backend mg_backend_cgroupfs = {
	.name = "cgroupfs",
	.open_without_rule = false,
	.open = cgroupfs_open,
	.post = NULL,
	.close = cgroupfs_close,
	.free_state = cgroupfs_free,
};

const struct mg_backend *mg_backend_choose(pam_handle_t *pamh, const struct mg_args *a)
{
	switch (a->backend) {
	case MG_BACKEND_CGROUPFS:
		return &mg_backend_cgroupfs;
	case MG_BACKEND_SYSTEMD:
		if (a->cgroup_root)
			pam_syslog(pamh, LOG_WARNING, "cgroup_root=%s is for the cgroupfs backend; backend=systemd "
				   "uses systemd's units, ignoring it", a->cgroup_root);
		return &mg_backend_systemd;
	case MG_BACKEND_AUTO:
		break;
	}
	if (a->cgroup_root || access("/run/systemd/system", F_OK) != 0)
		return &mg_backend_cgroupfs;
	return &mg_backend_systemd;
}
