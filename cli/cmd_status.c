/* memguardctl status: the caps live in the kernel now, beside what the
 * policy says now. Read-only: it never writes a cgroup or a unit. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "identity.h"
#include "sdlive.h"
#include "systemd_props.h"

enum kind { KIND_ALL, KIND_USER, KIND_SESSION };

struct status {
	struct ctl *c;
	bool systemd;
	struct mg_cg cg; /* cgroupfs: memguard's tree; systemd: the hierarchy */
	struct sd_bus *bus;
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

static const char *kind_name(enum kind kind)
{
	return kind == KIND_ALL ? "all" : kind == KIND_USER ? "user" : "session";
}

static bool is_limit(enum mg_key k)
{
	return k == MG_KEY_MEMORY_MAX || k == MG_KEY_MEMORY_HIGH || k == MG_KEY_MEMORY_SWAP_MAX;
}

/* Both backends only raise a limit of a group in use at login: a live
 * limit above the policy waits for a login with no other session. A
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
		return "  pending: lowered at a login once no other session runs";
	if (strcmp(state, "differs") == 0)
		return kind == KIND_SESSION ? "  differs: set when this session started; new sessions get the policy"
					    : "  differs";
	return "";
}

static void human(uint64_t v, char *buf, size_t len)
{
	if (v == MG_CG_UNLIMITED)
		snprintf(buf, len, "max");
	else
		mg_bytes_format(v, buf, len);
}

static void json_bytes(uint64_t v)
{
	if (v == MG_CG_UNLIMITED)
		printf("\"max\"");
	else
		printf("%llu", (unsigned long long)v);
}

/* One live group: name (unit or directory), cgroup relative to the
 * hierarchy's mount, and its caps beside want (NULL: no policy for it). */
static void print_group(struct status *s, enum kind kind, const char *name, const char *rel, const char *dir,
			const struct mg_cg_live *live, const struct mg_caps *want, bool *first)
{
	char a[32], b[32];

	if (s->c->json) {
		printf("%s{\"kind\":\"%s\",\"name\":", *first ? "" : ",", kind_name(kind));
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
		printf(",\"caps\":{");
		bool f = true;
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			if (!kind_has(kind, (enum mg_key)k) || !live->has[k])
				continue;
			printf("%s", f ? "" : ",");
			f = false;
			json_str(stdout, mg_key_info((enum mg_key)k)->name);
			printf(":{\"live\":");
			json_bytes(live->bytes[k]);
			printf(",\"policy\":");
			if (want && want->set[k])
				json_bytes(want->bytes[k]);
			else
				printf("null");
			printf(",\"state\":\"%s\"}", judge(kind, (enum mg_key)k, live->bytes[k], want));
		}
		printf("}}");
		return;
	}
	printf("  %-7s %s  cgroup %s", kind_name(kind), name, rel);
	if (live->has_current) {
		human(live->current, a, sizeof(a));
		printf("  current %s", a);
	}
	if (live->has_oom_kills)
		printf("  oom kills %llu", (unsigned long long)live->oom_kills);
	printf("\n");
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		const char *state;

		if (!kind_has(kind, (enum mg_key)k) || !live->has[k])
			continue;
		state = judge(kind, (enum mg_key)k, live->bytes[k], want);
		human(live->bytes[k], a, sizeof(a));
		if (want && want->set[k])
			human(want->bytes[k], b, sizeof(b));
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

	if (asprintf(&dir, "%s%s", s->cg.mount, rel) < 0)
		return -ENOMEM;
	r = mg_cg_read_live(s->cg.version, dir, &live);
	if (r == 0)
		print_group(s, kind, name, rel, dir, &live, want, first);
	free(dir);
	return r;
}

/* systemd: the unit's cgroup as the manager reports it. */
static int show_unit(struct status *s, enum kind kind, const char *unit, const struct mg_caps *want, bool *first)
{
	char *rel = NULL;
	int r = sdlive_unit_cgroup(s->bus, unit, &rel);

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
	if (s->systemd)
		r = show_unit(s, KIND_ALL, "user.slice", &want, &first);
	else
		r = show_rel(s, KIND_ALL, strrchr(s->cg.base, '/') + 1, s->cg.base + strlen(s->cg.mount), &want,
			     &first);
	if (r < 0 && s->c->json)
		printf("null");
	else if (r == -ENOENT)
		printf("%%all: no live group (%s)\n", s->systemd ? "user.slice is not running" : "no memguard tree yet");
	return r == -ENOENT ? 0 : r;
}

static int cmp_uid(const void *a, const void *b)
{
	uid_t x = *(const uid_t *)a, y = *(const uid_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the entries of dir that start with prefix, sorted. */
static int list_dir(const char *dir, const char *prefix, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t len = 0;
	int r = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char **grown;

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || de->d_type != DT_DIR)
			continue;
		grown = realloc(v, (len + 1) * sizeof(*v));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		v = grown;
		if (!(v[len] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		len++;
	}
	closedir(d);
	if (r < 0) {
		sdlive_strv_free(v, len);
		return r;
	}
	if (len)
		qsort(v, len, sizeof(*v), cmp_str);
	*names = v;
	*n = len;
	return 0;
}

/* The live groups of one user: its user group and its sessions. */
static int show_user_groups(struct status *s, uid_t uid, const struct mg_caps *ucaps, const struct mg_caps *scaps,
			    bool *first)
{
	char unit[64], **ids = NULL;
	size_t n = 0;
	int r;

	if (s->systemd) {
		mg_sd_user_slice(uid, unit, sizeof(unit));
		r = show_unit(s, KIND_USER, unit, ucaps, first);
		if (r < 0)
			return r;
		r = sdlive_sessions(s->bus, uid, &ids, &n);
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

		if (asprintf(&udir, "%s/user-%u", s->cg.base, (unsigned)uid) < 0)
			return -ENOMEM;
		snprintf(rel, sizeof(rel), "%s/user-%u", s->cg.base + strlen(s->cg.mount), (unsigned)uid);
		r = show_rel(s, KIND_USER, strrchr(rel, '/') + 1, rel, ucaps, first);
		if (r == 0)
			r = list_dir(udir, "session-", &ids, &n);
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
			printf("user %s (uid %u)%s\n", who->name, (unsigned)uid,
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
		       s->systemd ? "no user slice is running (no session, no lingering)" : "no memguard group (no session)");
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		ctl_err("cannot read the live state of uid %u: %s", (unsigned)uid,
			s->systemd ? sdlive_error(r) : strerror(-r));
	return r;
}

/* USER: a name, or a uid ("1000") that NSS may or may not know. */
static int show_arg(struct status *s, const char *arg)
{
	struct mg_identity_buf who;
	char *end = NULL, buf[4096];
	struct passwd pw, *res = NULL;
	const char *name = arg;
	unsigned long v;
	int r;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*arg && !*end && errno == 0 && v < (uid_t)-1) {
		if (getpwuid_r((uid_t)v, &pw, buf, sizeof(buf), &res) != 0 || !res)
			return show_user(s, (uid_t)v, NULL);
		name = res->pw_name;
	}
	r = mg_identity_lookup(name, s->uid_min, s->uid_max, &who);
	if (r < 0) {
		if (r == -ENOENT)
			ctl_err("no such user: %s", arg);
		else
			ctl_err("cannot look up %s: %s", arg, strerror(-r));
		return r;
	}
	r = show_user(s, who.id.uid, &who);
	mg_identity_free(&who);
	return r;
}

static int show_uid(struct status *s, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		return show_arg(s, res->pw_name);
	return show_user(s, uid, NULL);
}

/* Every user with live state: logind's users, or the user-UID groups. */
static int live_uids(struct status *s, uid_t **uids, size_t *n)
{
	char **names = NULL;
	size_t len = 0, m = 0;
	int r;

	if (s->systemd)
		r = sdlive_users(s->bus, uids, n);
	else {
		*uids = NULL;
		*n = 0;
		r = list_dir(s->cg.base, "user-", &names, &len);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		*uids = calloc(len ? len : 1, sizeof(**uids));
		if (!*uids) {
			sdlive_strv_free(names, len);
			return -ENOMEM;
		}
		for (size_t i = 0; i < len; i++) {
			char *end;
			unsigned long v = strtoul(names[i] + 5, &end, 10);
			if (!*end && end != names[i] + 5)
				(*uids)[m++] = (uid_t)v;
		}
		*n = m;
		sdlive_strv_free(names, len);
	}
	if (r == 0 && *n)
		qsort(*uids, *n, sizeof(**uids), cmp_uid);
	return r;
}

static int open_backend(struct status *s)
{
	int r;

	if (s->systemd) {
		r = sdlive_open(&s->bus);
		if (r < 0) {
			ctl_err("cannot connect to the system bus: %s", sdlive_error(r));
			return r;
		}
		/* The hierarchy the ControlGroup paths are relative to. */
		r = mg_cg_detect(NULL, &s->cg);
		if (r < 0)
			ctl_err("no cgroup memory controller under /sys/fs/cgroup: %s", strerror(-r));
		return r;
	}
	r = mg_cg_detect(s->c->cgroup_root, &s->cg);
	if (r < 0)
		ctl_err("no cgroup memory controller at %s: %s",
			s->c->cgroup_root ? s->c->cgroup_root : "/sys/fs/cgroup",
			r == -ENODEV ? "not a cgroup file system with the memory controller" : strerror(-r));
	return r;
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	struct status s = { .c = c, .first_user = true };
	struct mg_diags d = { 0 };
	uid_t *uids = NULL;
	size_t n = 0;
	int r;

	switch (c->backend) {
	case CTL_BACKEND_SYSTEMD:
		if (c->cgroup_root)
			return ctl_usage_err("--cgroup-root is for the cgroupfs backend, not --backend=systemd");
		s.systemd = true;
		break;
	case CTL_BACKEND_CGROUPFS:
		break;
	case CTL_BACKEND_AUTO:
		/* As pam_memguard: systemd when it manages the cgroups and no
		 * directory of ours is named. */
		s.systemd = !c->cgroup_root && access("/run/systemd/system", F_OK) == 0;
		break;
	}
	mg_login_defs_uid_range(c->login_defs, &s.uid_min, &s.uid_max);
	r = ctl_load(c, &s.p, NULL, &d);
	ctl_print_diags(&d);
	mg_diags_free(&d);
	if (r == -ENOMEM)
		goto out;
	/* A policy with errors in some lines resolves as the module reads it;
	 * one that cannot be read at all gives nothing to compare with. */
	s.policy_ok = r >= 0;
	r = open_backend(&s);
	if (r < 0)
		goto out;
	if (c->json) {
		printf("{\"backend\":\"%s\"", s.systemd ? "systemd" : "cgroupfs");
		if (!s.systemd) {
			printf(",\"base\":");
			json_str(stdout, s.cg.base);
		}
	} else {
		printf("backend %s", s.systemd ? "systemd" : "cgroupfs");
		if (!s.systemd)
			printf(", memguard's tree at %s", s.cg.base);
		printf("\n");
	}
	r = show_all(&s);
	if (r < 0) {
		ctl_err("cannot read the live state of %s: %s", s.systemd ? "user.slice" : s.cg.base,
			s.systemd ? sdlive_error(r) : strerror(-r));
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
		r = live_uids(&s, &uids, &n);
		if (r < 0)
			ctl_err("cannot list the users with live state: %s", s.systemd ? sdlive_error(r) : strerror(-r));
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
	sdlive_close(s.bus);
	mg_cg_free(&s.cg);
	mg_policy_free(&s.p);
	return r;
}
