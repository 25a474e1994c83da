/* The systemd backend: on a host where systemd owns the cgroup tree, caps
 * go through systemd's own interfaces so that logind keeps seeing the
 * session and systemd does not overwrite them:
 *   - the session's memory.max through pam_systemd (pam_set_data
 *     "systemd.memory_max" before pam_systemd, which passes it to logind
 *     when it creates the session scope);
 *   - what pam_systemd cannot pass (MemoryHigh, OOMPolicy) over D-Bus to
 *     the session scope once it exists: the phase=post line;
 *   - the per-user and %all caps as runtime properties of user-UID.slice
 *     and user.slice (SetUnitProperties), so the policy file stays the one
 *     source of truth. */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "cgroup_io.h"
#include "log.h"
#include "readfile.h"
#include "sdbus.h"
#include "systemd_props.h"
#include "systemd_scope.h"
#include "systemd_stack.h"

/* A login never waits longer than this for systemd. */
#define BUS_TIMEOUT_USEC (2ull * 1000 * 1000)

struct systemd_state {
	uid_t uid;
	/* Left for the phase=post line, applied once pam_systemd made the scope. */
	bool want_post;
	struct mg_caps session;
	bool oom_group_set;
	bool post_done;
	bool no_new_scope; /* the caller already was in a session */
	/* The session scope the caller was in before pam_systemd ran, read
	 * from /proc/self/cgroup at the line before it; "" for none. */
	char prior_session[64];
	/* For the close record: whether a rule limits the user, their name,
	 * and what the user slice had counted when the session began. */
	bool limited;
	char user[256];
	struct mg_cg_events user_at_open;
	bool protections; /* user.slice got this user's MemoryMin/MemoryLow in its sum */
	/* A session logind does not track, in a scope of ours: its name. */
	char own_scope[96];
	/* The first line's bus connection, kept for the phase=post line that
	 * the stack runs right after pam_systemd (one connection per login);
	 * bus NULL when none is kept. kept_by: the process that opened it. */
	struct mg_sdbus_conn kept;
	pid_t kept_by;
};

/* systemd keeps the unified hierarchy here; a hybrid host's v1 memory
 * controller holds no slice of ours, and reading it finds nothing. */
#define SD_CGROUP_MOUNT "/sys/fs/cgroup"

static void slice_dir(uid_t uid, char *buf, size_t len)
{
	snprintf(buf, len, SD_CGROUP_MOUNT "/user.slice/user-%u.slice", (unsigned)uid);
}

/* A kept connection lives from the first line to the phase=post line,
 * never for the session: the bus limits connections per uid (root's sshd
 * and su among them). Only the process that opened it closes it; in a
 * forked child sd-bus refuses, and the parent still holds it. */
static void release_kept_bus(struct systemd_state *s)
{
	if (s->kept.bus && s->kept_by == getpid())
		mg_sdbus_close(&s->kept);
	s->kept.bus = NULL;
}

/* The kept connection into *conn, with its own 2 s from here
 * (pam_systemd's time is not this line's); false when none is kept for
 * this process. */
static bool take_kept_bus(struct systemd_state *s, struct mg_sdbus_conn *conn)
{
	if (!s->kept.bus || s->kept_by != getpid()) {
		release_kept_bus(s);
		return false;
	}
	*conn = s->kept;
	s->kept.bus = NULL;
	mg_sdbus_rearm(conn, BUS_TIMEOUT_USEC);
	return true;
}

static void systemd_free(void *data)
{
	if (data)
		release_kept_bus(data);
	free(data);
}

static void free_string(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

/* A property of a unit by name (the manager loads it on access). */
static int unit_get_u64(struct mg_sdbus_conn *bus, const char *unit, const char *iface, const char *prop, uint64_t *v,
			sd_bus_error *e)
{
	char *path = NULL;
	int r = mg_sdbus_unit_path(bus, unit, &path);

	if (r >= 0)
		r = mg_sdbus_get_u64(bus, path, iface, prop, v, e);
	free(path);
	return r;
}

static int unit_get_string(struct mg_sdbus_conn *bus, const char *unit, const char *iface, const char *prop,
			   char **out, sd_bus_error *e)
{
	char *path = NULL;
	int r = mg_sdbus_unit_path(bus, unit, &path);

	if (r >= 0)
		r = mg_sdbus_get_string(bus, path, iface, prop, out, e);
	free(path);
	return r;
}

static int unit_active_state(struct mg_sdbus_conn *bus, const char *unit, char **state, sd_bus_error *e)
{
	return unit_get_string(bus, unit, "org.freedesktop.systemd1.Unit", "ActiveState", state, e);
}

/* Whether a process of another login session runs in the unit's subtree:
 * only those could be OOM-killed by a lower cap at this login. Neither the
 * slice being active (logind keeps user.slice up from boot) nor the user's
 * manager (user@UID.service outlives the last session by a few seconds)
 * counts, and neither does the session this login just made: so the
 * backend decides like cgroupfs, whose user group exists exactly while
 * sessions do. -errno when unknown. */
static int unit_has_other_sessions(struct mg_sdbus_conn *bus, const char *unit, const char *own_session, sd_bus_error *e)
{
	sd_bus_message *m = NULL, *reply = NULL;
	const char *path, *cmd;
	char id[64];
	uint32_t pid;
	int r, found = 0;

	r = bus->api->message_new_method_call(bus->bus, &m, MG_SD_DEST, MG_SD_PATH, MG_SD_MANAGER, "GetUnitProcesses");
	if (r >= 0)
		r = bus->api->message_append(m, "s", unit);
	if (r >= 0)
		r = mg_sdbus_call(bus, m, e, &reply);
	bus->api->message_unref(m);
	if (r < 0)
		return r;
	r = bus->api->message_enter_container(reply, 'a', "(sus)");
	while (r >= 0 && !found && (r = bus->api->message_read(reply, "(sus)", &path, &pid, &cmd)) > 0)
		if (mg_sd_session_of_path(path, id, sizeof(id)) && !(own_session && strcmp(id, own_session) == 0))
			found = 1;
	bus->api->message_unref(reply);
	return r < 0 ? r : found;
}

/* Whether a lower limit on the unit could OOM-kill another login session:
 * 1 yes, 0 no, -errno unknown (logged; the caller then treats the unit as
 * in use). */
static int unit_in_use(pam_handle_t *pamh, struct mg_sdbus_conn *bus, const char *unit, const char *own_session)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char *state = NULL;
	bool active;
	int r = unit_active_state(bus, unit, &state, &e);

	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot read the state of %s: %s", unit, mg_sdbus_error_text(&e, r));
		bus->api->error_free(&e);
		return r;
	}
	active = strcmp(state, "inactive") != 0 && strcmp(state, "failed") != 0;
	free(state);
	if (!active)
		return 0;
	r = unit_has_other_sessions(bus, unit, own_session, &e);
	bus->api->error_free(&e);
	/* Unknown: assume someone could be OOM-killed. */
	return r < 0 ? 1 : r;
}

static void human(uint64_t v, char *buf, size_t len)
{
	if (v == MG_CG_UNLIMITED)
		snprintf(buf, len, "infinity");
	else
		mg_bytes_format(v, buf, len);
}

/* Whether the kernel already holds every value caps give the unit: the
 * memory.* files of its cgroup (dir), which systemd writes from the
 * unit's properties. Only the manager and root write them (a user slice
 * is not delegated to its user), so a login whose slices already hold
 * the policy asks the manager nothing. Anything else goes over the bus as
 * before: no cgroup yet, not the unified hierarchy, a value that differs,
 * a runtime value to reset whose file is not at the default yet, a file
 * that cannot be read (mg_sd_file_holds says what matches). On true the
 * summary gets what holds, as apply_unit says it. */
static bool unit_files_hold(const char *dir, const char *unit, const struct mg_caps *caps, int nkeys, char *summary,
			    size_t slen)
{
	long pagesize = sysconf(_SC_PAGESIZE);
	/* Unknown: compare unrounded, so that a value off by the rounding
	 * goes over the bus rather than matching too much. */
	uint64_t page = pagesize > 0 ? (uint64_t)pagesize : 0;
	char held[512] = "", v[32];
	struct statfs fs;
	bool hold = true;
	int dfd = open(dir, MG_CG_DIR_FLAGS);

	if (dfd < 0)
		return false;
	if (fstatfs(dfd, &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
		hold = false;
	for (int k = 0; k < nkeys && hold; k++) {
		const char *prop = mg_sd_property((enum mg_key)k), *file = mg_cg_v2_file((enum mg_key)k);
		char text[32];
		uint64_t want;
		enum mg_sd_want w;

		if (!prop)
			continue;
		w = mg_sd_want(caps, (enum mg_key)k, !caps->set[k] && mg_sd_has_control_dropin(unit, prop), &want);
		if (w == MG_SD_WANT_NONE)
			continue;
		/* A runtime value left from a rule that is gone holds once the
		 * file shows the default: it was reset, only its drop-in stays. */
		hold = file && mg_cg_read_text_at(dfd, file, text, sizeof(text)) >= 0 && mg_sd_file_holds(text, want, page);
		if (w != MG_SD_WANT_SET)
			continue;
		human(caps->bytes[k], v, sizeof(v));
		snprintf(held + strlen(held), sizeof(held) - strlen(held), " %s %s=%s", unit, prop, v);
	}
	close(dfd);
	if (hold && summary)
		snprintf(summary + strlen(summary), slen - strlen(summary), "%s", held);
	return hold;
}

/* A unit's limits as the policy says: compare first (a write that changes
 * nothing still rewrites the drop-in and reloads the unit), never lower a
 * limit of a unit in use (pending, like the cgroupfs backend), and reset
 * a runtime value whose rule is gone. Returns the first error. */
static int apply_unit(pam_handle_t *pamh, struct mg_sdbus_conn *bus, const char *unit, const char *iface,
		      const struct mg_caps *caps, int nkeys, const char *own_session, char *summary, size_t slen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char a[32], b[32];
	int in_use = -1; /* asked only when a limit would go down: two calls, one O(processes) */
	int r, first = 0;
	bool timed_out = false; /* the deadline passed: every further call would fail */

	for (int k = 0; k < nkeys && !timed_out; k++) {
		const char *prop = mg_sd_property((enum mg_key)k);
		uint64_t cur, want;
		enum mg_sd_want w;
		bool reset;

		if (!prop)
			continue;
		/* The drop-in is looked at only when no rule sets the key. */
		w = mg_sd_want(caps, (enum mg_key)k, !caps->set[k] && mg_sd_has_control_dropin(unit, prop), &want);
		if (w == MG_SD_WANT_NONE)
			continue;
		reset = w == MG_SD_WANT_RESET;
		r = unit_get_u64(bus, unit, iface, prop, &cur, &e);
		if (r < 0) {
			pam_syslog(pamh, LOG_ERR, "cannot read %s of %s: %s", prop, unit, mg_sdbus_error_text(&e, r));
			bus->api->error_free(&e);
			if (!first)
				first = r;
			timed_out = r == -ETIMEDOUT;
			continue;
		}
		human(cur, a, sizeof(a));
		human(want, b, sizeof(b));
		if (in_use < 0 && mg_sd_plan((enum mg_key)k, cur, want, true) == MG_SD_PENDING) {
			r = unit_in_use(pamh, bus, unit, own_session);
			in_use = r != 0;
			if (r < 0 && !first)
				first = r;
		}
		switch (mg_sd_plan((enum mg_key)k, cur, want, in_use > 0)) {
		case MG_SD_KEEP:
			if (summary && !reset)
				snprintf(summary + strlen(summary), slen - strlen(summary), " %s %s=%s", unit, prop, a);
			break;
		case MG_SD_PENDING:
			pam_syslog(pamh, LOG_WARNING,
				   "pending: %s %s stays %s, above the policy's %s: the unit is in use, and a login "
				   "never lowers its cap (its processes could be OOM-killed); it is lowered at the "
				   "first login once the unit is not in use, or by 'memguardctl apply --lower'",
				   unit, prop, a, b);
			/* The line says what holds, not what the policy wishes. */
			if (summary)
				snprintf(summary + strlen(summary), slen - strlen(summary), " %s %s=%s live, %s pending",
					 unit, prop, a, b);
			break;
		case MG_SD_SET:
			r = mg_sdbus_set_property(bus, unit, prop, 't', &want, &e);
			if (r < 0) {
				pam_syslog(pamh, LOG_ERR, "cannot set %s=%s on %s: %s", prop, b, unit, mg_sdbus_error_text(&e, r));
				bus->api->error_free(&e);
				if (!first)
					first = r;
				timed_out = r == -ETIMEDOUT;
				break;
			}
			if (reset)
				pam_syslog(pamh, LOG_NOTICE, "%s %s reset from %s to %s: no rule sets it any more", unit,
					   prop, a, b);
			else if (summary)
				snprintf(summary + strlen(summary), slen - strlen(summary), " %s %s=%s (was %s)", unit,
					 prop, b, a);
			break;
		}
	}
	return first;
}

/* user.slice gets the sum of its user slices' MemoryMin and MemoryLow, as
 * the cgroupfs backend gives its base group (mg_sdbus_protection_sum). A
 * failure only costs the protection: logged, never fatal. */
static void sum_user_protections(pam_handle_t *pamh, struct mg_sdbus_conn *bus, const char *own_slice, char *summary,
				 size_t slen)
{
	static const enum mg_key keys[] = { MG_KEY_MEMORY_MIN, MG_KEY_MEMORY_LOW };
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char v[32];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *prop = mg_sd_property(keys[i]);
		uint64_t cur, sum;
		int r = mg_sdbus_protection_sum(bus, own_slice, keys[i], &cur, &sum, &e);

		if (r < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot sum the user slices' %s for user.slice: %s", prop,
				   mg_sdbus_error_text(&e, r));
		bus->api->error_free(&e);
		if (r <= 0)
			continue;
		human(sum, v, sizeof(v));
		r = mg_sdbus_set_property(bus, "user.slice", prop, 't', &sum, &e);
		if (r < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot set %s=%s on user.slice (the sum of the user slices'): %s",
				   prop, v, mg_sdbus_error_text(&e, r));
		else
			snprintf(summary + strlen(summary), slen - strlen(summary), " user.slice %s=%s (sum)", prop, v);
		bus->api->error_free(&e);
	}
}

/* Where the kernel has the caller now (id: its session's, when in one);
 * a /proc/self/cgroup that cannot be read counts as outside. */
static enum mg_sd_place caller_place(char *id, size_t idlen)
{
	enum mg_sd_place place = MG_SD_OUTSIDE;
	char *text = NULL;
	size_t len;

	if (id && idlen)
		id[0] = '\0';
	if (mg_read_file("/proc/self/cgroup", 1 << 16, &text, &len) == 0) {
		place = mg_sd_place_of(text, id, idlen);
		free(text);
	}
	return place;
}

/* The session id pam_systemd just created, or NULL: it sets XDG_SESSION_ID
 * in the PAM environment and logind moved the caller into the scope. A
 * caller that already was in that session (su inside a session) got no
 * new one: pam_systemd reuses the id. That is told from the caller's
 * cgroup before pam_systemd ran (prior), never from the caller's own
 * environment, which the user who runs su controls. */
static const char *new_session_id(pam_handle_t *pamh, const char *prior, char *cg_id, size_t idlen)
{
	const char *pam_id = pam_getenv(pamh, "XDG_SESSION_ID");
	const void *existing = NULL;

	if (!pam_id || !*pam_id)
		return NULL;
	if (prior && strcmp(prior, pam_id) == 0)
		return NULL;
	/* pam_systemd's own note that it reused a session. */
	if (pam_get_data(pamh, "systemd.existing", &existing) == PAM_SUCCESS && existing)
		return NULL;
	if (caller_place(cg_id, idlen) != MG_SD_IN_SESSION || strcmp(cg_id, pam_id) != 0)
		return NULL;
	return pam_id;
}

static bool session_has_post_work(const struct systemd_state *s)
{
	return s->session.set[MG_KEY_MEMORY_HIGH] || (s->oom_group_set && s->session.oom_group);
}

/* MemoryHigh (and MemoryMax when pam_systemd was not told) and OOMPolicy
 * on a session scope that exists. */
static int apply_scope(pam_handle_t *pamh, const struct mg_args *a, struct mg_sdbus_conn *bus, const char *id,
		       const struct systemd_state *s, bool with_max, char *summary, size_t slen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char scope[64], v[32];
	int r, first = 0;

	snprintf(scope, sizeof(scope), "session-%s.scope", id);
	for (int k = MG_KEY_MEMORY_MAX; k <= MG_KEY_MEMORY_HIGH && first != -ETIMEDOUT; k++) {
		const char *prop = mg_sd_property((enum mg_key)k);
		if (!s->session.set[k] || (k == MG_KEY_MEMORY_MAX && !with_max))
			continue;
		human(s->session.bytes[k], v, sizeof(v));
		r = mg_sdbus_set_property(bus, scope, prop, 't', &s->session.bytes[k], &e);
		if (r < 0) {
			pam_syslog(pamh, LOG_ERR, "cannot set %s=%s on %s: %s", prop, v, scope, mg_sdbus_error_text(&e, r));
			bus->api->error_free(&e);
			if (!first)
				first = r;
			continue;
		}
		snprintf(summary + strlen(summary), slen - strlen(summary), " %s %s=%s", scope, prop, v);
	}
	if (first == -ETIMEDOUT) {
		/* The deadline passed: OOMPolicy would fail the same way. */
	} else if (s->oom_group_set && s->session.oom_group) {
		/* OOMPolicy= on scopes came with systemd 253; older ones refuse
		 * the property. ManagedOOM= is systemd-oomd's, not this. */
		r = mg_sdbus_set_property(bus, scope, "OOMPolicy", 's', "kill", &e);
		if (r < 0)
			pam_syslog(pamh, LOG_WARNING,
				   "oom.group=yes not applied to %s: this systemd has no OOMPolicy= for scopes "
				   "(needs systemd 253): %s",
				   scope, mg_sdbus_error_text(&e, r));
		else
			snprintf(summary + strlen(summary), slen - strlen(summary), " %s OOMPolicy=kill", scope);
		bus->api->error_free(&e);
	} else if (s->oom_group_set && a->debug) {
		pam_syslog(pamh, LOG_DEBUG, "oom.group=no: %s keeps the kernel's default (only the task is killed)",
			   scope);
	}
	return first;
}

static bool any_cap(const struct mg_caps *c)
{
	for (int k = 0; k < MG_KEY_COUNT; k++)
		if (c->set[k])
			return true;
	return false;
}

static bool any_dropin(const char *unit, int nkeys)
{
	for (int k = 0; k < nkeys; k++) {
		const char *prop = mg_sd_property((enum mg_key)k);
		if (prop && mg_sd_has_control_dropin(unit, prop))
			return true;
	}
	return false;
}

/* For a session whose service stack loads no pam_systemd: the caller
 * goes into a scope of ours in the user's slice. This is the session's
 * part of the login: *ret gets its PAM code (a failure went through
 * on_error). */
static void enter_own_scope(pam_handle_t *pamh, const struct mg_args *a, struct mg_sdbus_conn *bus,
			    const struct mg_settings *set, struct systemd_state *s, const char *service, char *summary,
			    size_t slen, int *ret)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char slice[64];
	int r;

	mg_sd_user_slice(set->uid, slice, sizeof(slice));
	r = mg_sd_scope_enter(bus, set->uid, &set->session, s->own_scope, sizeof(s->own_scope), &e);
	if (r < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", mg_sdbus_error_text(&e, r));
		bus->api->error_free(&e);
		s->own_scope[0] = '\0';
		/* The per-user values above are set, but not over this session. */
		snprintf(summary + strlen(summary), slen - strlen(summary), " (this session outside %s: no scope)",
			 slice);
		*ret = mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, "the session runs outside the user's caps",
				      "cannot move the %s session of %s (no pam_systemd in its stack) into %s: %s",
				      service, set->user, slice, why);
		return;
	}
	snprintf(summary + strlen(summary), slen - strlen(summary), " %s/%s (no pam_systemd in the %s stack)", slice,
		 s->own_scope, service);
	for (int k = MG_KEY_MEMORY_MAX; k <= MG_KEY_MEMORY_HIGH; k++)
		if (set->session.set[k] && mg_sd_property((enum mg_key)k)) {
			char v[32];

			human(set->session.bytes[k], v, sizeof(v));
			snprintf(summary + strlen(summary), slen - strlen(summary), " %s=%s", mg_sd_property((enum mg_key)k),
				 v);
		}
	if (set->oom_group_set && set->session.oom_group)
		pam_syslog(pamh, LOG_WARNING, "oom.group=yes not applied to %s: the scope is made without OOMPolicy=",
			   s->own_scope);
}

/* The login's bus connection, made when the first call needs it: *bus
 * stays NULL until then. false when it cannot be made: the failure went
 * through on_error into *ret, and the login's systemd part ends there;
 * in_force says what holds without it (NULL: nothing of this login's
 * yet). */
static bool connect_bus(pam_handle_t *pamh, const struct mg_args *a, struct mg_sdbus_conn *conn,
			struct mg_sdbus_conn **bus, const char *in_force, int *ret)
{
	char why[256];

	if (*bus)
		return true;
	if (mg_sdbus_open(conn, BUS_TIMEOUT_USEC, true, why, sizeof(why)) < 0) {
		if (in_force)
			*ret = mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, in_force, "cannot connect to the system bus: %s",
					      why);
		else
			*ret = mg_pam_fail(pamh, a, PAM_SESSION_ERR, "cannot connect to the system bus: %s", why);
		return false;
	}
	*bus = conn;
	return true;
}

static int systemd_open(pam_handle_t *pamh, const struct mg_args *a, const struct mg_settings *set, void **state,
			char *summary, size_t slen)
{
	struct systemd_state *s = calloc(1, sizeof(*s));
	const void *existing = NULL;
	struct mg_sdbus_conn conn = { 0 }, *bus = NULL;
	char slice[64], id[64] = "", *val = NULL;
	char nid[64];
	const char *new_id = NULL;
	enum mg_sd_place place = MG_SD_OUTSIDE;
	bool after, session_work, slice_work, protections, slices_hold = false, stack_known = false;
	bool capped, needs_placing;
	struct mg_sd_stack stack = { 0 };
	const char *service = NULL;
	int r, ret = PAM_SUCCESS;

	*state = NULL;
	if (!s)
		return mg_pam_fail(pamh, a, PAM_BUF_ERR, "out of memory");
	s->uid = set->uid;
	s->limited = !a->cleanup_only;
	snprintf(s->user, sizeof(s->user), "%s", set->user);
	if (s->limited) {
		char dir[128];

		slice_dir(set->uid, dir, sizeof(dir));
		if (mg_cg_read_events(2, dir, true, &s->user_at_open) < 0)
			memset(&s->user_at_open, 0, sizeof(s->user_at_open));
	}
	s->session = set->session;
	s->oom_group_set = set->oom_group_set;
	mg_sd_user_slice(set->uid, slice, sizeof(slice));
	session_work = any_cap(&set->session) || (set->oom_group_set && set->session.oom_group);
	/* pam_systemd ran already when it left its data or the session id. */
	after = pam_get_data(pamh, "systemd.existing", &existing) == PAM_SUCCESS ||
		(pam_getenv(pamh, "XDG_SESSION_ID") != NULL);
	pam_get_item(pamh, PAM_SERVICE, (const void **)&service);
	/* A phase=post line doing the whole job is after pam_systemd by its
	 * place in the stack, also when pam_systemd failed and left nothing. */
	if (!after && a->phase_post) {
		stack_known = mg_sd_stack_read(NULL, service, &stack) == 0;
		after = stack_known && stack.post_line_after;
	}
	place = caller_place(id, sizeof(id));
	if (place == MG_SD_IN_SESSION && !after)
		snprintf(s->prior_session, sizeof(s->prior_session), "%s", id);
	if (after)
		new_id = new_session_id(pamh, NULL, nid, sizeof(nid));
	snprintf(summary, slen, "systemd%s:", after ? " (after pam_systemd)" : "");

	/* Per user and all users: a bus round trip only when there is
	 * something to set or a runtime value to check, and the kernel's
	 * files do not show that the slices hold the policy already. */
	slice_work = any_cap(&set->user_caps) || any_cap(&set->all) || any_dropin(slice, MG_KEY_MEMORY_MIN + 1) ||
		     any_dropin("user.slice", MG_KEY_MEMORY_SWAP_MAX + 1);
	/* A caller outside every user slice must be put in one, by
	 * pam_systemd or by a scope of ours, for any cap to hold. */
	capped = any_cap(&set->user_caps) || any_cap(&set->all) || session_work;
	needs_placing = !after && place == MG_SD_OUTSIDE && capped;
	if (needs_placing && !stack_known) {
		r = mg_sd_stack_read(NULL, service, &stack);
		stack_known = r == 0;
		if (r < 0 && a->debug)
			pam_syslog(pamh, LOG_DEBUG, "cannot tell whether the %s stack loads pam_systemd (%s): left to it",
				   service ? service : "?", strerror(-r));
	}
	protections = slice_work &&
		      (set->user_caps.set[MG_KEY_MEMORY_MIN] || set->user_caps.set[MG_KEY_MEMORY_LOW] ||
		       mg_sd_has_control_dropin(slice, "MemoryMin") || mg_sd_has_control_dropin(slice, "MemoryLow"));
	if (slice_work && !protections) {
		char dir[128], held[512] = "";

		slice_dir(set->uid, dir, sizeof(dir));
		slices_hold = unit_files_hold(dir, slice, &set->user_caps, MG_KEY_MEMORY_MIN + 1, held, sizeof(held)) &&
			      unit_files_hold(SD_CGROUP_MOUNT "/user.slice", "user.slice", &set->all,
					      MG_KEY_MEMORY_SWAP_MAX + 1, held, sizeof(held));
		if (slices_hold)
			snprintf(summary + strlen(summary), slen - strlen(summary), "%s", held);
	}
	/* pam_systemd needs the bus to put the caller in the user's slice.
	 * Without a phase=post line to check where it went, a bus that cannot
	 * be reached is found here, as when the slices had to be read. */
	if (slices_hold && needs_placing && s->limited && !(stack_known && stack.post_line_after) &&
	    !connect_bus(pamh, a, &conn, &bus, NULL, &ret))
		goto out;
	if (slice_work && !slices_hold) {
		if (!connect_bus(pamh, a, &conn, &bus, NULL, &ret))
			goto out;
		r = apply_unit(pamh, bus, slice, "org.freedesktop.systemd1.Slice", &set->user_caps,
			       MG_KEY_MEMORY_MIN + 1, new_id, summary, slen);
		if (r >= 0 && protections) {
			sum_user_protections(pamh, bus, slice, summary, slen);
			s->protections = true;
		}
		if (r >= 0)
			r = apply_unit(pamh, bus, "user.slice", "org.freedesktop.systemd1.Slice", &set->all,
				       MG_KEY_MEMORY_SWAP_MAX + 1, new_id, summary, slen);
		if (r < 0) {
			char in_force[600];

			/* What was set before the failure holds; the session's own caps still follow. */
			snprintf(in_force, sizeof(in_force), "%s%s, the session caps are still applied",
				 strchr(summary, ' ') ? "written before it:" : "no per-user cap was written",
				 strchr(summary, ' ') ? strchr(summary, ' ') : "");
			ret = mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, in_force, "cannot apply the caps of %s to %s: %s",
					     set->user, slice, strerror(-r));
			if (ret != PAM_SUCCESS)
				goto out;
		}
	}
	/* A caller outside every user slice whose stack has no pam_systemd
	 * would stay outside the user's caps: it gets a scope of ours. */
	if (stack_known && !stack.loads_pam_systemd && s->limited) {
		if (!connect_bus(pamh, a, &conn, &bus, NULL, &ret))
			goto out;
		enter_own_scope(pamh, a, bus, set, s, service, summary, slen, &ret);
		goto out;
	}
	/* pam_systemd was to place the caller in the user's slice. When it
	 * did not, the phase=post line finds the caller still outside. */
	if (needs_placing && s->limited)
		s->want_post = true;
	/* Stacked after pam_systemd, this line sees where it left the caller
	 * (a pam_systemd that failed left no data: the stack says it ran). */
	if (((after && !new_id) || (stack_known && stack.first_line_after)) && place == MG_SD_OUTSIDE && capped &&
	    s->limited) {
		s->want_post = false; /* checked here: a phase=post line says nothing more */
		ret = mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, "the session runs outside the user's caps",
				     "pam_systemd made no session scope for %s and the session is in no user slice "
				     "(is systemd-logind running?)",
				     set->user);
		goto out;
	}
	if (!session_work)
		goto out;

	if (after) {
		/* Stacked after pam_systemd: the scope exists (or never will). */
		if (!new_id) {
			pam_syslog(pamh, LOG_WARNING,
				   "no new scope: pam_systemd created no session for %s (the caller already runs in "
				   "a session); the session caps are not applied, the per-user caps of %s hold",
				   set->user, slice);
			goto out;
		}
		pam_syslog(pamh, LOG_INFO, "stacked after pam_systemd: session caps go over D-Bus to session-%s.scope",
			   new_id);
		if (!connect_bus(pamh, a, &conn, &bus, "the per-user caps hold, the session cap does not", &ret))
			goto out;
		r = apply_scope(pamh, a, bus, new_id, s, true, summary, slen);
		if (r < 0)
			ret = mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, "the per-user caps hold, the session cap does not",
					     "cannot cap session-%s.scope: %s", new_id, strerror(-r));
		s->post_done = true;
		goto out;
	}

	/* Before pam_systemd: logind makes a scope only for a caller outside
	 * any session or user slice, and only then passes the limits on. */
	if (place != MG_SD_OUTSIDE) {
		s->no_new_scope = true;
		if (place == MG_SD_IN_SESSION)
			pam_syslog(pamh, LOG_WARNING,
				   "no new scope: the caller already runs in session %s, so pam_systemd creates no "
				   "session for %s and applies no session cap; the per-user caps of %s hold",
				   id, set->user, slice);
		else
			pam_syslog(pamh, LOG_WARNING,
				   "no new scope: the caller already runs in a user slice, so pam_systemd creates no "
				   "session for %s and applies no session cap; the per-user caps of %s hold",
				   set->user, slice);
		goto out;
	}
	if (set->session.set[MG_KEY_MEMORY_MAX]) {
		char v[32];
		mg_sd_format_bytes(set->session.bytes[MG_KEY_MEMORY_MAX], v, sizeof(v));
		val = strdup(v);
		r = val ? pam_set_data(pamh, "systemd.memory_max", val, free_string) : PAM_BUF_ERR;
		if (r != PAM_SUCCESS) {
			free(val);
			ret = mg_pam_fail(pamh, a, PAM_BUF_ERR, "cannot hand systemd.memory_max to pam_systemd: %s",
					  pam_strerror(pamh, r));
			goto out;
		}
		snprintf(summary + strlen(summary), slen - strlen(summary), " systemd.memory_max=%s", v);
	}
	/* The phase=post line also checks that pam_systemd made the scope the
	 * caps were meant for. */
	s->want_post = true;
	if (session_has_post_work(s) && a->debug)
		pam_syslog(pamh, LOG_DEBUG, "session.memory.high and oom.group wait for the phase=post line");
out:
	/* The phase=post line that follows pam_systemd reuses the connection. */
	if (bus && ret == PAM_SUCCESS && s->want_post && session_has_post_work(s) && stack_known &&
	    stack.post_line_after) {
		s->kept = conn;
		s->kept_by = getpid();
		bus = NULL;
	}
	if (bus)
		mg_sdbus_close(bus);
	*state = s;
	return ret;
}

/* pam_systemd made no session scope. A caller it left outside every
 * user slice runs outside all the caps, which goes through on_error;
 * one it put in the user's slice is under the per-user caps. */
static int post_without_scope(pam_handle_t *pamh, const struct mg_args *a, const struct systemd_state *s)
{
	char slice[64];

	mg_sd_user_slice(s->uid, slice, sizeof(slice));
	if (caller_place(NULL, 0) == MG_SD_OUTSIDE)
		return mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, "the session runs outside the user's caps",
				      "phase=post: pam_systemd made no session scope for %s and the session is in no "
				      "user slice (is systemd-logind running, and pam_systemd stacked between the two "
				      "pam_memguard lines?)",
				      s->user);
	pam_syslog(pamh, LOG_WARNING,
		   "phase=post: pam_systemd made no session scope for %s (is systemd-logind running?): no session "
		   "cap applied; the per-user caps of %s hold",
		   s->user, slice);
	return PAM_SUCCESS;
}

#define POST_IN_FORCE \
	"the per-user caps and the session's memory.max hold, session.memory.high and oom.group are not applied"

static int systemd_post(pam_handle_t *pamh, const struct mg_args *a, void *state)
{
	struct systemd_state *s = state;
	struct mg_sdbus_conn conn = { 0 }, *bus = NULL;
	char id[64], summary[512] = "", why[256];
	const char *new_id;
	int r, ret = PAM_SUCCESS;

	if (!s || !s->want_post || s->post_done)
		return PAM_SUCCESS;
	s->post_done = true;
	new_id = new_session_id(pamh, s->prior_session, id, sizeof(id));
	if (!new_id) {
		release_kept_bus(s);
		return post_without_scope(pamh, a, s);
	}
	/* The first line keeps a connection only for this work. */
	if (!session_has_post_work(s))
		return PAM_SUCCESS;
	if (take_kept_bus(s, &conn)) {
		bus = &conn;
	} else {
		r = mg_sdbus_open(&conn, BUS_TIMEOUT_USEC, true, why, sizeof(why));
		/* The first line's work holds: the per-user caps and the scope's
		 * MemoryMax that pam_systemd set. */
		if (r < 0)
			return mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, POST_IN_FORCE,
					      "phase=post: cannot connect to the system bus: %s", why);
		bus = &conn;
	}
	r = apply_scope(pamh, a, bus, new_id, s, false, summary, sizeof(summary));
	if (r < 0)
		ret = mg_pam_fail_as(pamh, a, PAM_SESSION_ERR, POST_IN_FORCE, "phase=post: cannot cap session-%s.scope: %s",
				     new_id, strerror(-r));
	else
		pam_syslog(pamh, LOG_INFO, "phase=post:%s", summary);
	mg_sdbus_close(bus);
	return ret;
}

/* The record of a session in its scope, while the scope still exists
 * (the caller is still in it: logind, or for a scope of ours systemd,
 * removes it when the caller leaves). */
static void log_close(pam_handle_t *pamh, const struct systemd_state *s)
{
	char id[64], slice[128], scope[256];

	if (s->own_scope[0]) {
		slice_dir(s->uid, slice, sizeof(slice));
		snprintf(scope, sizeof(scope), "%s/%s", slice, s->own_scope);
		mg_pam_log_close_record(pamh, s->user, s->uid, 2, scope, slice, &s->user_at_open, false);
		return;
	}
	if (caller_place(id, sizeof(id)) != MG_SD_IN_SESSION)
		return;
	slice_dir(s->uid, slice, sizeof(slice));
	snprintf(scope, sizeof(scope), "%s/session-%s.scope", slice, id);
	mg_pam_log_close_record(pamh, s->user, s->uid, 2, scope, slice, &s->user_at_open, false);
}

/* At the end of the user's last session user.slice carries the sum of the
 * other user slices' protections: theirs go with their sessions, as the
 * cgroupfs backend's base group loses them with the user group. The user
 * slice keeps its own values for the next login. Never fails a logout. */
static void drop_user_protections(pam_handle_t *pamh, const struct systemd_state *s)
{
	static const enum mg_key keys[] = { MG_KEY_MEMORY_MIN, MG_KEY_MEMORY_LOW };
	struct mg_sdbus_conn conn = { 0 };
	sd_bus_error e = SD_BUS_ERROR_NULL;
	char slice[64], why[256], v[32];
	int r;

	mg_sd_user_slice(s->uid, slice, sizeof(slice));
	if (mg_sdbus_open(&conn, BUS_TIMEOUT_USEC, true, why, sizeof(why)) < 0) {
		pam_syslog(pamh, LOG_WARNING, "cannot lower user.slice's protections at logout: %s", why);
		return;
	}
	/* Another session of the user still counts on them; unknown: keep. */
	r = unit_has_other_sessions(&conn, slice, pam_getenv(pamh, "XDG_SESSION_ID"), &e);
	conn.api->error_free(&e);
	for (size_t i = 0; r == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *prop = mg_sd_property(keys[i]);
		uint64_t cur, sum;
		int q = mg_sdbus_protection_sum_without(&conn, slice, keys[i], &cur, &sum, &e);

		if (q < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot sum the other user slices' %s for user.slice: %s", prop,
				   mg_sdbus_error_text(&e, q));
		conn.api->error_free(&e);
		if (q <= 0)
			continue;
		human(sum, v, sizeof(v));
		q = mg_sdbus_set_property(&conn, "user.slice", prop, 't', &sum, &e);
		if (q < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot set %s=%s on user.slice (the sum of the other user slices'): %s",
				   prop, v, mg_sdbus_error_text(&e, q));
		else
			pam_syslog(pamh, LOG_INFO, "last session of uid %u ended: user.slice %s=%s (sum of the other user slices')",
				   (unsigned)s->uid, prop, v);
		conn.api->error_free(&e);
	}
	mg_sdbus_close(&conn);
}

static void systemd_close(pam_handle_t *pamh, const struct mg_args *a, void *state)
{
	struct systemd_state *s = state;

	(void)a;
	if (s)
		release_kept_bus(s); /* the phase=post line never ran */
	/* logind removes the scope; the per-user values stay, as the policy
	 * says. Only say what never happened. */
	if (s && s->want_post && !s->post_done && session_has_post_work(s))
		pam_syslog(pamh, LOG_WARNING,
			   "session.memory.high/oom.group were never applied: no 'pam_memguard.so phase=post' line "
			   "after pam_systemd");
	if (s && s->limited)
		log_close(pamh, s);
	if (s && s->protections)
		drop_user_protections(pamh, s);
}

const struct mg_backend mg_backend_systemd = {
	.name = "systemd",
	.open_without_rule = true,
	.open = systemd_open,
	.post = systemd_post,
	.close = systemd_close,
	.free_state = systemd_free,
};
