/* memguardctl apply: the policy as it is now, written to the live groups
 * (cgroupfs) or units (systemd) of users who are logged in. Limits are
 * only raised on a group that holds processes unless --lower is given:
 * a lower memory.max can OOM-kill them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "identity.h"
#include "live.h"
#include "sdlive.h"
#include "systemd_props.h"


struct apply {
	struct ctl *c;
	struct live lv;
	struct mg_policy p;
	uid_t uid_min, uid_max;
	unsigned written, pending, failed;
	bool first_change, first_skip;
	int err; /* first -errno of the run */
	bool sd_sum; /* a user slice's MemoryMin or MemoryLow was written */
	/* JSON: users left alone, listed after the changes */
	struct skip {
		char *name;
		uid_t uid;
		const char *why;
	} *skips;
	size_t nskips;
};

/* The keys each kind of group takes, as the backends write them. */
static int nkeys(enum kind kind)
{
	return kind == KIND_ALL ? MG_KEY_MEMORY_SWAP_MAX + 1 : kind == KIND_USER ? MG_KEY_MEMORY_MIN + 1
										 : MG_KEY_MEMORY_HIGH + 1;
}

static void fail(struct apply *a, int r)
{
	if (!a->err)
		a->err = r;
}

/* Who a change is for: the user, or nobody for %all. */
struct owner {
	const char *name; /* NULL: %all */
	uid_t uid;
};

enum action { ACT_SET, ACT_RESET, ACT_LOWERED, ACT_PENDING, ACT_FAILED, ACT_SUM, ACT_KEPT };

static void report(struct apply *a, const struct owner *o, enum kind kind, const char *group, enum mg_key k,
		   uint64_t from, uint64_t to, enum action act, int err, const char *errtext)
{
	static const char *const names[] = { "set", "reset", "lowered", "pending", "failed", "sum", "kept" };
	char f[32], t[32];
	bool dry = a->c->dry_run;

	if (act == ACT_PENDING)
		a->pending++;
	else if (act == ACT_FAILED)
		a->failed++;
	else if (act != ACT_KEPT)
		a->written++;
	if (a->c->json) {
		printf("%s{\"user\":", a->first_change ? "" : ",");
		a->first_change = false;
		json_str(stdout, o->name);
		if (o->name)
			printf(",\"uid\":%u", (unsigned)o->uid);
		else
			printf(",\"uid\":null");
		printf(",\"kind\":\"%s\",\"name\":", live_kind_name(kind));
		json_str(stdout, group);
		printf(",\"key\":");
		json_str(stdout, mg_key_info(k)->name);
		printf(",\"from\":");
		live_json_bytes(from);
		printf(",\"to\":");
		live_json_bytes(to);
		printf(",\"action\":\"%s\",\"written\":%s", names[act],
		       !dry && act != ACT_PENDING && act != ACT_FAILED && act != ACT_KEPT ? "true" : "false");
		if (act == ACT_FAILED) {
			printf(",\"error\":");
			json_str(stdout, errtext ? errtext : strerror(-err));
		} else if (act == ACT_KEPT) {
			printf(",\"why\":");
			json_str(stdout, errtext);
		}
		printf("}");
		return;
	}
	live_human(from, f, sizeof(f));
	live_human(to, t, sizeof(t));
	printf("%s %s %s -> %s", ctl_safe(group), mg_key_info(k)->name, f, t);
	switch (act) {
	case ACT_SET:
		printf("%s\n", dry ? " (dry run)" : "");
		break;
	case ACT_RESET:
		printf(" (no rule sets it: systemd's default%s)\n", dry ? ", dry run" : "");
		break;
	case ACT_LOWERED:
		printf(" lowered (--lower%s)\n", dry ? ", dry run" : "");
		break;
	case ACT_PENDING:
		printf(" pending (--lower to apply)\n");
		break;
	case ACT_FAILED:
		printf(" failed: %s\n", ctl_safe(errtext ? errtext : strerror(-err)));
		break;
	case ACT_SUM:
		printf(" (the sum of the user slices')\n");
		break;
	case ACT_KEPT:
		printf(" kept: %s\n", errtext);
		break;
	}
}

enum verdict { KEEP, WRITE, PEND };

/* What to do with one key whose live value is cur, and how a write is
 * told. busy(arg), whether the group holds processes, is asked only for
 * a lowering, once per group (*in_use). */
static enum verdict decide(struct apply *a, enum mg_key k, uint64_t cur, uint64_t want, bool reset, int *in_use,
			   int (*busy)(void *), void *arg, enum action *act)
{
	enum mg_sd_plan plan = mg_sd_plan(k, cur, want, true);

	*act = reset ? ACT_RESET : ACT_SET;
	if (plan == MG_SD_KEEP)
		return KEEP;
	if (plan == MG_SD_PENDING) {
		if (*in_use < 0)
			/* Unknown (an error): someone could be OOM-killed. */
			*in_use = busy(arg) != 0;
		if (*in_use && !a->c->lower) {
			*act = ACT_PENDING;
			return PEND;
		}
		if (*in_use && !reset)
			*act = ACT_LOWERED;
	}
	return WRITE;
}

/* ---- cgroupfs: memguard's own tree ---- */

struct cgdir {
	int version;
	const char *dir;
};

static int cg_busy(void *arg)
{
	const struct cgdir *d = arg;

	return mg_cg_populated(d->version, d->dir);
}

static void print_notes(struct mg_diags *notes)
{
	ctl_print_diags(notes);
	mg_diags_free(notes);
}

/* Writes k (v1: memory.max and memory.swap.max together, as the RAM+swap
 * limit is their sum) with the values in w; *also is the other key
 * written with it. Notes go to notes. */
static int cg_write(struct apply *a, const char *dir, const struct mg_cg_live *live, const struct mg_caps *w,
		    enum mg_key k, enum mg_key *also, struct mg_diags *notes)
{
	struct mg_caps one = { 0 };

	*also = MG_KEY_COUNT;
	one.set[k] = true;
	one.bytes[k] = w->bytes[k];
	if (a->lv.cg.version == 1 && (k == MG_KEY_MEMORY_MAX || k == MG_KEY_MEMORY_SWAP_MAX)) {
		enum mg_key other = k == MG_KEY_MEMORY_MAX ? MG_KEY_MEMORY_SWAP_MAX : MG_KEY_MEMORY_MAX;

		/* The other one as it is now, or as it is written too. */
		if (w->set[other]) {
			*also = other;
			one.bytes[other] = w->bytes[other];
			one.set[other] = true;
		} else if (live->has[other]) {
			one.bytes[other] = live->bytes[other];
			one.set[other] = true;
		}
	}
	return a->c->dry_run ? 0 : mg_cg_set_caps(&a->lv.cg, dir, &one, notes);
}

/* The kernel refused a limit (v1: a memory.max below what the group uses
 * and cannot reclaim gives EBUSY): say it with the numbers and the way out. */
static void explain_refusal(const struct owner *o, const char *name, const char *dir, int version, enum mg_key k,
			    uint64_t want, int err)
{
	struct mg_cg_live now;
	char t[32], u[32];

	live_human(want, t, sizeof(t));
	if (err != -EBUSY || mg_cg_read_live(version, dir, &now) < 0 || !now.has_current) {
		ctl_err("%s: cannot write %s=%s: %s; nothing of %s was changed", name, mg_key_info(k)->name, t,
			strerror(-err), name);
		return;
	}
	live_human(now.current, u, sizeof(u));
	ctl_err("%s: the kernel refused %s=%s: the group uses %s now and cannot be reclaimed below %s; "
		"nothing of %s was changed",
		name, mg_key_info(k)->name, t, u, t, name);
	if (o->name)
		fprintf(stderr,
			"%s: way out: end some of %s's processes ('%s status %s' shows the sessions), or give %s "
			"a %s above %s in the policy, then run '%s apply --lower %s' again\n",
			ctl_prog, o->name, ctl_prog, o->name, o->name, mg_key_info(k)->name, u, ctl_prog, o->name);
	else
		fprintf(stderr,
			"%s: way out: end some of the users' processes, or set the %%all rule's %s above %s, "
			"then run '%s apply --lower' again\n",
			ctl_prog, mg_key_info(k)->name, u, ctl_prog);
}

/* One group's keys are written all or none: when the kernel refuses one,
 * those already written go back to their values before, and the rest are
 * not tried, so a group is never left half applied (say a lower
 * memory.high under the old memory.max). */
static int cg_group(struct apply *a, const struct owner *o, enum kind kind, const char *name, const char *dir,
		    const struct mg_caps *want, bool *protections)
{
	struct cgdir busy = { a->lv.cg.version, dir };
	struct mg_cg_live live;
	struct mg_caps w = { 0 };
	struct mg_diags notes = { 0 };
	enum action act[MG_KEY_COUNT];
	bool done[MG_KEY_COUNT] = { false };
	enum mg_key failed_key = MG_KEY_COUNT;
	int in_use = -1, err = 0, r = mg_cg_read_live(a->lv.cg.version, dir, &live);

	if (r < 0)
		return r;
	for (int k = 0; k < nkeys(kind); k++) {
		/* A key the hierarchy has no file for (v1: memory.low, memory.min)
		 * is not applied at login either. */
		if (!want->set[k] || !live.has[k])
			continue;
		switch (decide(a, (enum mg_key)k, live.bytes[k], want->bytes[k], false, &in_use, cg_busy, &busy,
			       &act[k])) {
		case KEEP:
			break;
		case WRITE:
			w.set[k] = true;
			w.bytes[k] = want->bytes[k];
			break;
		case PEND:
			report(a, o, kind, name, (enum mg_key)k, live.bytes[k], want->bytes[k], ACT_PENDING, 0, NULL);
			break;
		}
	}
	/* memory.max first: the one write the kernel may refuse. */
	for (int k = 0; k < nkeys(kind) && !err; k++) {
		enum mg_key also;

		if (!w.set[k] || done[k])
			continue;
		err = cg_write(a, dir, &live, &w, (enum mg_key)k, &also, &notes);
		if (err < 0) {
			failed_key = (enum mg_key)k;
			break;
		}
		done[k] = true;
		if (also != MG_KEY_COUNT)
			done[also] = true;
	}
	if (err < 0) {
		/* Back to what was there: the live values read before. */
		for (int k = nkeys(kind) - 1; k >= 0; k--) {
			struct mg_caps back = { 0 };
			struct mg_diags ignored = { 0 };
			enum mg_key also;

			if (!done[k] || (a->lv.cg.version == 1 && k == MG_KEY_MEMORY_SWAP_MAX && done[MG_KEY_MEMORY_MAX]))
				continue;
			back.set[k] = true;
			back.bytes[k] = live.bytes[k];
			if (k == MG_KEY_MEMORY_MAX && done[MG_KEY_MEMORY_SWAP_MAX]) {
				back.set[MG_KEY_MEMORY_SWAP_MAX] = true;
				back.bytes[MG_KEY_MEMORY_SWAP_MAX] = live.bytes[MG_KEY_MEMORY_SWAP_MAX];
			}
			int e = cg_write(a, dir, &live, &back, (enum mg_key)k, &also, &ignored);

			if (e < 0)
				ctl_err("%s: cannot put %s back: %s", name, mg_key_info((enum mg_key)k)->name,
					strerror(-e));
			mg_diags_free(&ignored);
		}
		explain_refusal(o, name, dir, a->lv.cg.version, failed_key, w.bytes[failed_key], err);
		mg_diags_free(&notes);
		fail(a, err);
	}
	for (int k = 0; k < nkeys(kind); k++) {
		if (!w.set[k])
			continue;
		if ((enum mg_key)k == failed_key)
			report(a, o, kind, name, (enum mg_key)k, live.bytes[k], w.bytes[k], ACT_FAILED, err, NULL);
		else if (err < 0)
			report(a, o, kind, name, (enum mg_key)k, live.bytes[k], w.bytes[k], ACT_KEPT, 0,
			       "not written, as the group's other limits were not");
		else
			report(a, o, kind, name, (enum mg_key)k, live.bytes[k], w.bytes[k], act[k], 0, NULL);
		if (!err && (k == MG_KEY_MEMORY_MIN || k == MG_KEY_MEMORY_LOW))
			*protections = true;
	}
	print_notes(&notes);
	return 0;
}

/* BASE, BASE/user-UID and its session groups. */
static int cg_user(struct apply *a, const struct owner *o, const struct mg_caps *ucaps, const struct mg_caps *scaps,
		   bool *protections)
{
	char *udir = NULL, name[32], **ids = NULL;
	size_t n = 0;
	int r;

	snprintf(name, sizeof(name), "user-%u", (unsigned)o->uid);
	if (asprintf(&udir, "%s/%s", a->lv.cg.base, name) < 0)
		return -ENOMEM;
	r = cg_group(a, o, KIND_USER, name, udir, ucaps, protections);
	if (r == 0)
		r = live_list_dir(udir, "session-", &ids, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char *sdir = NULL;
		int e;

		if (asprintf(&sdir, "%s/%s", udir, ids[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		e = cg_group(a, o, KIND_SESSION, ids[i], sdir, scaps, protections);
		free(sdir);
		/* A session closing right now has no group any more. */
		if (e < 0 && e != -ENOENT)
			r = e;
	}
	sdlive_strv_free(ids, n);
	free(udir);
	return r;
}

/* ---- systemd: runtime properties of user.slice, user-UID.slice and the
 * session scopes, as the module sets them ---- */

struct unitcg {
	int version;
	char *dir;
};

static int unit_busy(void *arg)
{
	const struct unitcg *u = arg;

	return mg_cg_populated(u->version, u->dir);
}

/* Only units the module writes: user.slice, user-UID.slice and
 * session-ID.scope with an id of letters and digits. */
static bool our_unit(const char *unit)
{
	const char *id;
	size_t n;

	if (strcmp(unit, "user.slice") == 0)
		return true;
	if (strncmp(unit, "user-", 5) == 0) {
		n = strspn(unit + 5, "0123456789");
		return n > 0 && strcmp(unit + 5 + n, ".slice") == 0;
	}
	if (strncmp(unit, "session-", 8) != 0)
		return false;
	id = unit + 8;
	n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
	return n > 0 && strcmp(id + n, ".scope") == 0;
}

static int sd_unit(struct apply *a, const struct owner *o, enum kind kind, const char *unit, const struct mg_caps *want)
{
	struct unitcg busy = { a->lv.cg.version, NULL };
	char *rel = NULL;
	int in_use = -1, r;

	if (!our_unit(unit))
		return -EINVAL;
	/* Not loaded (no session, no lingering): nothing live to change. */
	r = sdlive_unit_cgroup(&a->lv.bus, unit, &rel);
	if (r < 0)
		return r;
	if (asprintf(&busy.dir, "%s%s", a->lv.cg.mount, rel) < 0) {
		free(rel);
		return -ENOMEM;
	}
	free(rel);
	for (int k = 0; k < nkeys(kind); k++) {
		const char *prop = mg_sd_property((enum mg_key)k);
		enum mg_sd_want w;
		enum action act;
		uint64_t cur, v;

		if (!prop)
			continue;
		/* A value no rule sets any more goes back to the default only
		 * when a runtime drop-in (ours, or an admin's set-property
		 * --runtime) holds it, as at login. A session scope is a
		 * transient unit: its drop-ins are under /run/systemd/transient. */
		w = mg_sd_want(want, (enum mg_key)k, !want->set[k] && mg_sd_has_runtime_dropin(unit, prop), &v);
		if (w == MG_SD_WANT_NONE)
			continue;
		r = sdlive_unit_get_u64(&a->lv.bus, unit, prop, &cur);
		if (r < 0) {
			ctl_err("cannot read %s of %s: %s", prop, unit, sdlive_error(r));
			a->failed++;
			fail(a, r);
			continue;
		}
		switch (decide(a, (enum mg_key)k, cur, v, w == MG_SD_WANT_RESET, &in_use, unit_busy, &busy, &act)) {
		case KEEP:
			break;
		case PEND:
			report(a, o, kind, unit, (enum mg_key)k, cur, v, ACT_PENDING, 0, NULL);
			break;
		case WRITE:
			r = a->c->dry_run ? 0 : sdlive_unit_set_u64(&a->lv.bus, unit, prop, v);
			if (r < 0)
				fail(a, r);
			else if (kind == KIND_USER && (k == MG_KEY_MEMORY_MIN || k == MG_KEY_MEMORY_LOW) && !a->c->dry_run)
				a->sd_sum = true;
			report(a, o, kind, unit, (enum mg_key)k, cur, v, r < 0 ? ACT_FAILED : act, r,
			       r < 0 ? sdlive_error(r) : NULL);
			break;
		}
	}
	free(busy.dir);
	return 0;
}

/* As at login, user.slice gets the sum of the user slices' MemoryMin and
 * MemoryLow (mg_sdbus_protection_sum), every value read from the manager:
 * apply may just have set several. A failure costs only the protection. */
static void sd_sum_protections(struct apply *a)
{
	static const enum mg_key keys[] = { MG_KEY_MEMORY_MIN, MG_KEY_MEMORY_LOW };
	struct owner o = { NULL, 0 };
	sd_bus_error e = SD_BUS_ERROR_NULL;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *prop = mg_sd_property(keys[i]);
		uint64_t cur, sum;
		int r = mg_sdbus_protection_sum(&a->lv.bus, NULL, keys[i], &cur, &sum, &e);

		if (r < 0)
			ctl_warn("cannot sum the user slices' %s for user.slice: %s", prop, mg_sdbus_error_text(&e, r));
		a->lv.bus.api->error_free(&e);
		if (r <= 0)
			continue;
		r = sdlive_unit_set_u64(&a->lv.bus, "user.slice", prop, sum);
		if (r < 0)
			ctl_warn("cannot set %s on user.slice (the sum of the user slices'): %s", prop, sdlive_error(r));
		report(a, &o, KIND_ALL, "user.slice", keys[i], cur, sum, r < 0 ? ACT_FAILED : ACT_SUM, r,
		       r < 0 ? sdlive_error(r) : NULL);
		if (r < 0)
			fail(a, r);
	}
}

static int sd_user(struct apply *a, const struct owner *o, const struct mg_caps *ucaps, const struct mg_caps *scaps)
{
	char unit[64], **ids = NULL;
	size_t n = 0;
	int r;

	mg_sd_user_slice(o->uid, unit, sizeof(unit));
	r = sd_unit(a, o, KIND_USER, unit, ucaps);
	if (r < 0)
		return r;
	r = sdlive_sessions(&a->lv.bus, o->uid, &ids, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		int e;

		if (snprintf(unit, sizeof(unit), "session-%s.scope", ids[i]) >= (int)sizeof(unit))
			continue;
		e = sd_unit(a, o, KIND_SESSION, unit, scaps);
		/* A session closing right now has no scope any more; an id
		 * that makes no unit name of ours is not ours to touch. */
		if (e < 0 && e != -ENOENT && e != -EINVAL)
			r = e;
	}
	sdlive_strv_free(ids, n);
	return r;
}

/* ---- users ---- */

static void skipped(struct apply *a, const struct owner *o, const char *why)
{
	struct skip *grown;

	if (!a->c->json) {
		printf("user %s (uid %u): %s, left alone\n", ctl_safe(o->name), (unsigned)o->uid, ctl_safe(why));
		return;
	}
	grown = realloc(a->skips, (a->nskips + 1) * sizeof(*grown));
	if (!grown || !(grown[a->nskips].name = strdup(o->name))) {
		a->skips = grown ? grown : a->skips;
		fail(a, -ENOMEM);
		return;
	}
	a->skips = grown;
	a->skips[a->nskips].uid = o->uid;
	a->skips[a->nskips++].why = why;
}

/* One user known to NSS: what the policy gives them now, written. */
static int apply_user(struct apply *a, const struct mg_identity_buf *who, bool *protections)
{
	struct owner o = { who->name, who->id.uid };
	struct mg_resolved res;
	struct mg_caps ucaps, scaps;
	int r;

	mg_policy_resolve(&a->p, &who->id, &res);
	/* The module applies nothing to these (and resets an exempt user's
	 * values at their next login): apply leaves them as they are. */
	if (mg_resolved_exempt(&res)) {
		skipped(a, &o, "exempt by the policy");
		return 0;
	}
	if (who->id.uid == 0) {
		skipped(a, &o, "uid 0, which the module skips unless include_root");
		return 0;
	}
	mg_caps_from_resolved(&res, a->p.memtotal, 'u', &ucaps);
	mg_caps_from_resolved(&res, a->p.memtotal, 's', &scaps);
	r = a->lv.systemd ? sd_user(a, &o, &ucaps, &scaps) : cg_user(a, &o, &ucaps, &scaps, protections);
	/* No live group or unit: nothing to bring in line. */
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		ctl_err("cannot apply the policy to %s (uid %u): %s", who->name, (unsigned)who->id.uid,
			live_error(&a->lv, r));
	return r;
}

static int apply_all(struct apply *a)
{
	struct owner o = { NULL, 0 };
	struct mg_resolved all;
	struct mg_caps want;
	bool protections = false;
	int r;

	mg_policy_resolve_all_sessions(&a->p, &all);
	mg_caps_from_resolved(&all, a->p.memtotal, 'a', &want);
	if (a->lv.systemd)
		r = sd_unit(a, &o, KIND_ALL, "user.slice", &want);
	else
		r = cg_group(a, &o, KIND_ALL, strrchr(a->lv.cg.base, '/') + 1, a->lv.cg.base, &want, &protections);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		ctl_err("cannot apply the %%all caps to %s: %s", a->lv.systemd ? "user.slice" : a->lv.cg.base,
			live_error(&a->lv, r));
	return r;
}

static void apply_arg(struct apply *a, const char *arg, bool uid_given, uid_t luid, bool *protections)
{
	struct mg_identity_buf who;
	uid_t uid = luid;
	int r = uid_given ? live_user_of_uid(luid, a->uid_min, a->uid_max, &who)
			  : live_user(arg, a->uid_min, a->uid_max, &who, &uid);

	if (r == 1) {
		ctl_err("uid %u is not known to NSS: no policy to apply", (unsigned)uid);
		r = -ENOENT;
	}
	if (r < 0) {
		fail(a, r);
		return;
	}
	r = apply_user(a, &who, protections);
	if (r < 0)
		fail(a, r);
	mg_identity_free(&who);
}

int cmd_apply(struct ctl *c, int argc, char **argv)
{
	struct apply a = { .c = c, .first_change = true };
	struct mg_diags d = { 0 };
	bool protections = false;
	uid_t *uids = NULL;
	size_t n = 0;
	int r;

	r = live_choose(&a.lv, c);
	if (r)
		return r;
	if (!c->dry_run && geteuid() != 0) {
		ctl_err("apply writes %s: it needs root (--dry-run shows what would change)",
			a.lv.systemd ? "unit properties through systemd" : "cgroup files");
		return -EPERM;
	}
	mg_login_defs_uid_range(c->login_defs, &a.uid_min, &a.uid_max);
	r = live_open(&a.lv);
	if (r < 0)
		goto out;
	r = ctl_load(c, &a.p, NULL, &d);
	ctl_print_diags(&d);
	/* Lines with errors are skipped as the module skips them. A policy
	 * the module would not use (unreadable, or a file anyone but root
	 * can change) gives nothing to apply, as at login. */
	if (r >= 0 && mg_diags_count_errors(&d, 1u << MG_DIAG_TRUST | 1u << MG_DIAG_ACCESS))
		r = -EPERM;
	mg_diags_free(&d);
	if (r < 0) {
		if (r != -ENOMEM)
			ctl_err("pam_memguard would not use this policy: nothing applied");
		goto out;
	}
	if (c->json) {
		printf("{\"backend\":\"%s\"", a.lv.systemd ? "systemd" : "cgroupfs");
		if (!a.lv.systemd) {
			printf(",\"base\":");
			json_str(stdout, a.lv.cg.base);
		}
		printf(",\"dry_run\":%s,\"lower\":%s,\"changes\":[", c->dry_run ? "true" : "false",
		       c->lower ? "true" : "false");
	}
	r = apply_all(&a);
	if (r < 0)
		fail(&a, r);
	if (argc > 0) {
		for (int i = 0; i < argc; i++)
			apply_arg(&a, argv[i], false, 0, &protections);
	} else {
		r = live_uids(&a.lv, &uids, &n);
		if (r < 0) {
			ctl_err("cannot list the users with live state: %s", live_error(&a.lv, r));
			fail(&a, r);
		}
		/* One user that cannot be changed does not stop the others. */
		for (size_t i = 0; r >= 0 && i < n; i++)
			apply_arg(&a, NULL, true, uids[i], &protections);
	}
	if (a.sd_sum)
		sd_sum_protections(&a);
	/* v2 protections hold only as far as BASE carries their sum. */
	if (protections && !c->dry_run) {
		mg_cg_sum_protections(&a.lv.cg, &d);
		ctl_print_diags(&d);
		mg_diags_free(&d);
	}
	if (c->json) {
		printf("],\"skipped\":[");
		for (size_t i = 0; i < a.nskips; i++) {
			printf("%s{\"user\":", i ? "," : "");
			json_str(stdout, a.skips[i].name);
			printf(",\"uid\":%u,\"reason\":", (unsigned)a.skips[i].uid);
			json_str(stdout, a.skips[i].why);
			printf("}");
		}
		printf("],\"%s\":%u,\"pending\":%u,\"failed\":%u}\n", c->dry_run ? "would_write" : "written",
		       a.written, a.pending, a.failed);
	} else if (c->dry_run) {
		printf("dry run: %u would change, %u pending (--lower to apply), nothing written\n", a.written,
		       a.pending);
	} else {
		printf("%u changed, %u pending (--lower to apply), %u failed\n", a.written, a.pending, a.failed);
	}
	r = a.err;
out:
	for (size_t i = 0; i < a.nskips; i++)
		free(a.skips[i].name);
	free(a.skips);
	free(uids);
	live_close(&a.lv);
	mg_policy_free(&a.p);
	return r;
}
