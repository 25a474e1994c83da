/* memguardctl status: the caps live in the kernel now, beside what the
 * policy says now. Read-only: it never writes a cgroup or a unit. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "identity.h"
#include "live.h"
#include "sdlive.h"
#include "systemd_props.h"


struct status {
	struct ctl *c;
	struct live lv;
	struct mg_policy p;
	bool policy_ok;
	uid_t uid_min, uid_max;
	bool first_user;
	int failed; /* first -errno of a user that could not be shown */
};

/* What a live group shows, per kind: the keys the backends write there. */
static bool kind_has(enum kind kind, enum mg_key k)
{
	switch (kind) {
	case KIND_ALL:
		return k <= MG_KEY_MEMORY_SWAP_MAX;
	case KIND_USER:
		return k <= MG_KEY_MEMORY_MIN;
	case KIND_SESSION:
		return k <= MG_KEY_MEMORY_HIGH;
	}
	return false;
}

static bool is_limit(enum mg_key k)
{
	return k == MG_KEY_MEMORY_MAX || k == MG_KEY_MEMORY_HIGH || k == MG_KEY_MEMORY_SWAP_MAX;
}

/* Both backends only raise a limit of a group in use at login: a live
 * limit above the policy waits for a login that finds the group empty. A
 * session's caps are set once, when it starts. */
static const char *judge(enum kind kind, enum mg_key k, uint64_t live, const struct mg_caps *want)
{
	if (!want || !want->set[k])
		return "unset";
	if (live == want->bytes[k])
		return "ok";
	if (kind != KIND_SESSION && is_limit(k) && live > want->bytes[k])
		return "pending";
	return "differs";
}

static const char *judge_text(const char *state, enum kind kind)
{
	if (strcmp(state, "pending") == 0)
		return "  pending: above the policy; lowered at a login once nothing runs in the group, or by apply --lower";
	if (strcmp(state, "differs") == 0)
		return kind == KIND_SESSION ? "  differs: set when this session started; new sessions get the policy"
					    : "  differs";
	return "";
}

/* One live group: name (unit or directory), cgroup relative to the
 * hierarchy's mount, and its caps beside want (NULL: no policy for it). */
static void print_group(struct status *s, enum kind kind, const char *name, const char *rel, const char *dir,
			const struct mg_cg_live *live, const struct mg_caps *want, bool *first)
{
	char a[32], b[32], thr[32] = "";
	int traced = kind == KIND_SESSION ? live_session_trace(dir, thr, sizeof(thr)) : 0;

	if (s->c->json) {
		printf("%s{\"kind\":\"%s\",\"name\":", *first ? "" : ",", live_kind_name(kind));
		*first = false;
		json_str(stdout, name);
		printf(",\"cgroup\":");
		json_str(stdout, rel);
		printf(",\"path\":");
		json_str(stdout, dir);
		if (live->has_current)
			printf(",\"memory_current\":%llu", (unsigned long long)live->current);
		if (live->has_oom_kills)
			printf(",\"oom_kills\":%llu", (unsigned long long)live->oom_kills);
		if (kind == KIND_SESSION) {
			printf(",\"trace\":");
			if (traced == 1)
				json_str(stdout, thr[0] ? thr : "64M");
			else
				printf("null");
		}
		printf(",\"caps\":{");
		bool f = true;
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			if (!kind_has(kind, (enum mg_key)k) || !live->has[k])
				continue;
			printf("%s", f ? "" : ",");
			f = false;
			json_str(stdout, mg_key_info((enum mg_key)k)->name);
			printf(":{\"live\":");
			live_json_bytes(live->bytes[k]);
			printf(",\"policy\":");
			if (want && want->set[k])
				live_json_bytes(want->bytes[k]);
			else
				printf("null");
			printf(",\"state\":\"%s\"}", judge(kind, (enum mg_key)k, live->bytes[k], want));
		}
		printf("}}");
		return;
	}
	printf("  %-7s %s  cgroup %s", live_kind_name(kind), ctl_safe(name), ctl_safe(rel));
	if (live->has_current) {
		live_human(live->current, a, sizeof(a));
		printf("  current %s", a);
	}
	if (live->has_oom_kills)
		printf("  oom kills %llu", (unsigned long long)live->oom_kills);
	/* Started with trace= (the shim's default threshold when none given). */
	if (traced == 1)
		printf("  trace %s", thr[0] ? thr : "64M");
	printf("\n");
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		const char *state;

		if (!kind_has(kind, (enum mg_key)k) || !live->has[k])
			continue;
		state = judge(kind, (enum mg_key)k, live->bytes[k], want);
		live_human(live->bytes[k], a, sizeof(a));
		if (want && want->set[k])
			live_human(want->bytes[k], b, sizeof(b));
		else
			snprintf(b, sizeof(b), "not set");
		if (*judge_text(state, kind))
			printf("    %-16s live %-10s policy %-10s%s\n", mg_key_info((enum mg_key)k)->name, a, b,
			       judge_text(state, kind));
		else
			printf("    %-16s live %-10s policy %s\n", mg_key_info((enum mg_key)k)->name, a, b);
	}
}

/* A group by its path relative to the hierarchy's mount. */
static int show_rel(struct status *s, enum kind kind, const char *name, const char *rel, const struct mg_caps *want,
		    bool *first)
{
	struct mg_cg_live live;
	char *dir = NULL;
	int r;

	if (asprintf(&dir, "%s%s", s->lv.cg.mount, rel) < 0)
		return -ENOMEM;
	r = mg_cg_read_live(s->lv.cg.version, dir, &live);
	if (r == 0)
		print_group(s, kind, name, rel, dir, &live, want, first);
	free(dir);
	return r;
}

/* systemd: the unit's cgroup as the manager reports it. */
static int show_unit(struct status *s, enum kind kind, const char *unit, const struct mg_caps *want, bool *first)
{
	char *rel = NULL;
	int r = sdlive_unit_cgroup(&s->lv.bus, unit, &rel);

	if (r < 0)
		return r;
	r = show_rel(s, kind, unit, rel, want, first);
	free(rel);
	return r;
}

static int show_all(struct status *s)
{
	struct mg_resolved all;
	struct mg_caps want;
	bool first = true;
	int r;

	mg_policy_resolve_all_sessions(&s->p, &all);
	mg_caps_from_resolved(&all, s->p.memtotal, 'a', &want);
	if (s->c->json)
		printf(",\"all\":");
	if (s->lv.systemd)
		r = show_unit(s, KIND_ALL, "user.slice", &want, &first);
	else
		r = show_rel(s, KIND_ALL, strrchr(s->lv.cg.base, '/') + 1, s->lv.cg.base + strlen(s->lv.cg.mount), &want,
			     &first);
	if (r < 0 && s->c->json)
		printf("null");
	else if (r == -ENOENT)
		printf("%%all: no live group (%s)\n", s->lv.systemd ? "user.slice is not running" : "no memguard tree yet");
	return r == -ENOENT ? 0 : r;
}

/* The live groups of one user: its user group and its sessions. */
static int show_user_groups(struct status *s, uid_t uid, const struct mg_caps *ucaps, const struct mg_caps *scaps,
			    bool *first)
{
	char unit[64], **ids = NULL;
	size_t n = 0;
	int r;

	if (s->lv.systemd) {
		mg_sd_user_slice(uid, unit, sizeof(unit));
		r = show_unit(s, KIND_USER, unit, ucaps, first);
		if (r < 0)
			return r;
		r = sdlive_sessions(&s->lv.bus, uid, &ids, &n);
		for (size_t i = 0; r == 0 && i < n; i++) {
			int e;

			snprintf(unit, sizeof(unit), "session-%s.scope", ids[i]);
			e = show_unit(s, KIND_SESSION, unit, scaps, first);
			/* A session closing right now has no scope any more. */
			if (e < 0 && e != -ENOENT)
				r = e;
		}
	} else {
		char *udir = NULL, rel[PATH_MAX];

		if (asprintf(&udir, "%s/user-%u", s->lv.cg.base, (unsigned)uid) < 0)
			return -ENOMEM;
		snprintf(rel, sizeof(rel), "%s/user-%u", s->lv.cg.base + strlen(s->lv.cg.mount), (unsigned)uid);
		r = show_rel(s, KIND_USER, strrchr(rel, '/') + 1, rel, ucaps, first);
		if (r == 0)
			r = live_list_dir(udir, "session-", &ids, &n);
		free(udir);
		for (size_t i = 0; r == 0 && i < n; i++) {
			char srel[PATH_MAX + 80];
			int e;

			snprintf(srel, sizeof(srel), "%s/%s", rel, ids[i]);
			e = show_rel(s, KIND_SESSION, ids[i], srel, scaps, first);
			if (e < 0 && e != -ENOENT)
				r = e;
		}
	}
	sdlive_strv_free(ids, n);
	return r;
}

/* One user: name, uid, policy, live groups. who may be NULL (a uid that
 * NSS does not know): then there is no policy to compare with. */
static int show_user(struct status *s, uid_t uid, const struct mg_identity_buf *who)
{
	struct mg_resolved res;
	struct mg_caps ucaps, scaps;
	bool have = false, first = true, exempt = false;
	int r;

	if (who && s->policy_ok) {
		mg_policy_resolve(&s->p, &who->id, &res);
		exempt = mg_resolved_exempt(&res);
		mg_caps_from_resolved(&res, s->p.memtotal, 'u', &ucaps);
		mg_caps_from_resolved(&res, s->p.memtotal, 's', &scaps);
		/* The module applies nothing to an exempt user (it resets what
		 * rules left), nor to uid 0 without include_root, which status
		 * cannot see: nothing to judge the live values against. */
		have = !exempt && uid != 0;
	}
	if (s->c->json) {
		printf("%s{\"user\":", s->first_user ? "" : ",");
		if (who)
			json_str(stdout, who->name);
		else
			printf("null");
		printf(",\"uid\":%u,\"exempt\":%s,\"groups\":[", (unsigned)uid, exempt ? "true" : "false");
	} else {
		if (who)
			printf("user %s (uid %u)%s\n", ctl_safe(who->name), (unsigned)uid,
			       exempt	  ? ": exempt by the policy, not compared"
			       : uid == 0 ? ": the module skips uid 0 unless include_root, not compared"
					  : "");
		else
			printf("uid %u (not known to NSS: no policy to compare with)\n", (unsigned)uid);
	}
	s->first_user = false;
	r = show_user_groups(s, uid, have ? &ucaps : NULL, have ? &scaps : NULL, &first);
	if (s->c->json)
		printf("],\"live\":%s}", first ? "false" : "true");
	else if (r == -ENOENT && first)
		printf("  no live state: %s\n",
		       s->lv.systemd ? "no user slice is running (no session, no lingering)" : "no memguard group (no session)");
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		ctl_err("cannot read the live state of uid %u: %s", (unsigned)uid,
			s->lv.systemd ? sdlive_error(r) : strerror(-r));
	return r;
}

/* The user a live_user* lookup found (r: its result): 1 is a uid NSS does
 * not know, shown without a policy. */
static int show_found(struct status *s, int r, uid_t uid, struct mg_identity_buf *who)
{
	if (r == 1)
		return show_user(s, uid, NULL);
	if (r < 0)
		return r;
	r = show_user(s, uid, who);
	mg_identity_free(who);
	return r;
}

/* USER: a name, or a uid ("1000") that NSS may or may not know. */
static int show_arg(struct status *s, const char *arg)
{
	struct mg_identity_buf who;
	uid_t uid;
	int r = live_user(arg, s->uid_min, s->uid_max, &who, &uid);

	return show_found(s, r, uid, &who);
}

static int show_uid(struct status *s, uid_t uid)
{
	struct mg_identity_buf who;

	return show_found(s, live_user_of_uid(uid, s->uid_min, s->uid_max, &who), uid, &who);
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	struct status s = { .c = c, .first_user = true };
	struct mg_diags d = { 0 };
	uid_t *uids = NULL;
	size_t n = 0;
	int r;

	r = live_choose(&s.lv, c);
	if (r)
		return r;
	mg_login_defs_uid_range(c->login_defs, &s.uid_min, &s.uid_max);
	r = ctl_load(c, &s.p, NULL, &d);
	ctl_print_diags(&d);
	mg_diags_free(&d);
	if (r == -ENOMEM)
		goto out;
	/* A policy with errors in some lines resolves as the module reads it;
	 * one that cannot be read at all gives nothing to compare with. */
	s.policy_ok = r >= 0;
	r = live_open(&s.lv);
	if (r < 0)
		goto out;
	if (c->json) {
		printf("{\"backend\":\"%s\"", s.lv.systemd ? "systemd" : "cgroupfs");
		if (!s.lv.systemd) {
			printf(",\"base\":");
			json_str(stdout, s.lv.cg.base);
		}
	} else {
		printf("backend %s", s.lv.systemd ? "systemd" : "cgroupfs");
		if (!s.lv.systemd)
			printf(", memguard's tree at %s", ctl_safe(s.lv.cg.base));
		printf("\n");
	}
	r = show_all(&s);
	if (r < 0) {
		ctl_err("cannot read the live state of %s: %s", s.lv.systemd ? "user.slice" : s.lv.cg.base,
			s.lv.systemd ? sdlive_error(r) : strerror(-r));
		if (c->json)
			printf("}\n");
		goto out;
	}
	if (c->json)
		printf(",\"users\":[");
	if (argc > 0) {
		for (int i = 0; i < argc; i++) {
			int e = show_arg(&s, argv[i]);
			if (e < 0 && !r)
				r = e;
		}
	} else {
		r = live_uids(&s.lv, &uids, &n);
		if (r < 0)
			ctl_err("cannot list the users with live state: %s", s.lv.systemd ? sdlive_error(r) : strerror(-r));
		/* One user that cannot be read does not hide the others. */
		for (size_t i = 0; r >= 0 && i < n; i++) {
			int e = show_uid(&s, uids[i]);
			if (e < 0 && !s.failed)
				s.failed = e;
		}
		if (r >= 0)
			r = s.failed;
		if (r == 0 && n == 0 && !c->json)
			printf("no user has live memguard state\n");
	}
	if (c->json)
		printf("]}\n");
out:
	free(uids);
	live_close(&s.lv);
	mg_policy_free(&s.p);
	return r;
}
