#include "snapshot.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity.h"
#include "readfile.h"
#include "sdlive.h"
#include "systemd_props.h"

struct take {
	struct snapshot *s;
	struct ctl *c;
	struct live *lv;
	const struct mg_policy *p;
	uid_t uid_min, uid_max;
	time_t boot;
};

static void note_failure(struct snapshot *s, int r)
{
	if (!s->failed)
		s->failed = r;
}

static bool is_limit(enum mg_key k)
{
	return k == MG_KEY_MEMORY_MAX || k == MG_KEY_MEMORY_HIGH || k == MG_KEY_MEMORY_SWAP_MAX;
}

/* A live group whose limits are not the policy's: the worst first. */
static const char *judge_flag(const struct snap_group *g)
{
	const char *flag = NULL;

	if (!g->has_want)
		return NULL;
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		if (!is_limit((enum mg_key)k) || !g->want.set[k] || !g->live.has[k])
			continue;
		if (g->live.bytes[k] == MG_CG_UNLIMITED && g->want.bytes[k] != MG_CG_UNLIMITED)
			return "uncapped";
		if (g->live.bytes[k] > g->want.bytes[k])
			flag = "above policy";
		else if (g->live.bytes[k] < g->want.bytes[k] && !flag)
			flag = "below policy";
	}
	return flag;
}

/* One group, by its cgroup relative to the mount. parent_eff: the limit in
 * force above it (NULL: walk up to the mount). */
static int read_group(struct take *t, enum kind kind, const char *name, const char *rel, const struct mg_caps *want,
		      const struct snap_group *parent, struct snap_group *g)
{
	int version = t->lv->cg.version, r;
	uint64_t own;

	memset(g, 0, sizeof(*g));
	g->kind = kind;
	if (!(g->name = strdup(name)) || !(g->rel = strdup(rel)) ||
	    asprintf(&g->dir, "%s%s", t->lv->cg.mount, rel) < 0) {
		g->dir = NULL;
		return -ENOMEM;
	}
	r = mg_cg_read_live(version, g->dir, &g->live);
	if (r < 0)
		return r;
	/* v1: a session group is a leaf, its kills are its own. */
	mg_cg_read_events(version, g->dir, kind != KIND_SESSION, &g->ev);
	if (version == 2) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/memory.pressure", g->dir);
		g->has_psi = mg_psi_read(path, &g->psi) == 0;
	}
	/* A group's processes are those below it too: on cgroupfs the
	 * collector adds its sessions' and users' up (one read per group); a
	 * slice has more below it than the sessions. */
	mg_cg_count_procs(g->dir, t->s->systemd && kind != KIND_SESSION, &g->procs);
	own = g->live.has[MG_KEY_MEMORY_MAX] ? g->live.bytes[MG_KEY_MEMORY_MAX] : MG_CG_UNLIMITED;
	if (parent) {
		g->eff = parent->eff;
		if (parent->eff_by && !(g->eff_by = strdup(parent->eff_by)))
			return -ENOMEM;
		if (own < g->eff) {
			g->eff = own;
			free(g->eff_by);
			if (!(g->eff_by = strdup(rel)))
				return -ENOMEM;
		}
	} else {
		size_t by = 0;

		if (mg_cg_effective_limit(version, t->lv->cg.mount, rel, &g->eff, &by) == 0 && by &&
		    !(g->eff_by = strndup(rel, by)))
			return -ENOMEM;
	}
	if (want) {
		g->has_want = true;
		g->want = *want;
	}
	g->flag = judge_flag(g);
	return 0;
}

static void group_free(struct snap_group *g)
{
	free(g->name);
	free(g->rel);
	free(g->dir);
	free(g->eff_by);
}

static int unit_group(struct take *t, enum kind kind, const char *unit, const struct mg_caps *want,
		      const struct snap_group *parent, struct snap_group *g)
{
	char *rel = NULL;
	int r = sdlive_unit_cgroup(&t->lv->bus, unit, &rel);

	memset(g, 0, sizeof(*g));
	if (r < 0)
		return r;
	r = read_group(t, kind, unit, rel, want, parent, g);
	free(rel);
	return r;
}

static int push_group(struct snap_user *u, struct snap_group *g)
{
	struct snap_group *grown = realloc(u->g, (u->ng + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	u->g = grown;
	u->g[u->ng++] = *g;
	return 0;
}

/* A session group: its leader and login, and whether it is stale. */
static void session_facts(struct take *t, struct snap_group *g, const char *sd_id)
{
	if (sd_id) {
		uint32_t leader = 0;
		uint64_t since = 0;

		if (sdlive_session_info(&t->lv->bus, sd_id, &leader, &since) == 0 && leader > 0) {
			g->has_leader = true;
			g->leader = (pid_t)leader;
			g->since = (time_t)(since / 1000000);
			g->leader_alive = kill(g->leader, 0) == 0 || errno == EPERM;
		}
	} else if (mg_cg_session_leader(t->c->proc, t->boot, g->name, &g->leader, &g->since, &g->leader_alive) == 0) {
		g->has_leader = true;
	}
	g->traced = live_session_trace(g->dir, g->trace, sizeof(g->trace)) == 1;
	if (g->procs == 0)
		g->stale = "empty";
	else if (g->has_leader && !g->leader_alive)
		g->stale = "leader gone";
}

static int user_groups(struct take *t, struct snap_user *u, const struct mg_caps *ucaps, const struct mg_caps *scaps)
{
	struct snap_group ug, sg;
	char **ids = NULL;
	size_t n = 0;
	int r;

	if (t->s->systemd) {
		char unit[64];

		mg_sd_user_slice(u->uid, unit, sizeof(unit));
		r = unit_group(t, KIND_USER, unit, ucaps, t->s->has_all ? &t->s->all : NULL, &ug);
		if (r < 0) {
			group_free(&ug);
			return r;
		}
		if ((r = push_group(u, &ug)) < 0) {
			group_free(&ug);
			return r;
		}
		u->live = true;
		r = sdlive_sessions(&t->lv->bus, u->uid, &ids, &n);
		for (size_t i = 0; r == 0 && i < n; i++) {
			int e;

			snprintf(unit, sizeof(unit), "session-%s.scope", ids[i]);
			e = unit_group(t, KIND_SESSION, unit, scaps, &u->g[0], &sg);
			if (e == 0) {
				session_facts(t, &sg, ids[i]);
				if ((e = push_group(u, &sg)) == 0)
					continue;
			}
			group_free(&sg);
			/* A session closing right now has no scope any more. */
			if (e != -ENOENT)
				r = e;
		}
	} else {
		char rel[PATH_MAX], udir[PATH_MAX + 32];
		const char *base_rel = t->lv->cg.base + strlen(t->lv->cg.mount);
		unsigned sum = 0;

		snprintf(rel, sizeof(rel), "%s/user-%u", base_rel, (unsigned)u->uid);
		r = read_group(t, KIND_USER, strrchr(rel, '/') + 1, rel, ucaps, t->s->has_all ? &t->s->all : NULL, &ug);
		if (r < 0) {
			group_free(&ug);
			return r;
		}
		if ((r = push_group(u, &ug)) < 0) {
			group_free(&ug);
			return r;
		}
		u->live = true;
		snprintf(udir, sizeof(udir), "%s%s", t->lv->cg.mount, rel);
		r = live_list_dir(udir, "session-", &ids, &n);
		for (size_t i = 0; r == 0 && i < n; i++) {
			char srel[PATH_MAX + 80];
			int e;

			snprintf(srel, sizeof(srel), "%s/%s", rel, ids[i]);
			e = read_group(t, KIND_SESSION, ids[i], srel, scaps, &u->g[0], &sg);
			if (e == 0) {
				session_facts(t, &sg, NULL);
				sum += sg.procs;
				if ((e = push_group(u, &sg)) == 0)
					continue;
			}
			group_free(&sg);
			if (e != -ENOENT)
				r = e;
		}
		u->g[0].procs += sum;
	}
	if (u->ng)
		u->g[0].stale = u->g[0].procs == 0 ? "empty" : NULL;
	t->s->nsessions += (unsigned)(u->ng ? u->ng - 1 : 0);
	t->s->ngroups += (unsigned)u->ng;
	sdlive_strv_free(ids, n);
	return r;
}

static int add_user(struct take *t, uid_t uid, const struct mg_identity_buf *who)
{
	struct snapshot *s = t->s;
	struct snap_user *grown, *u;
	struct mg_resolved res;
	struct mg_caps ucaps, scaps;
	int r;

	grown = realloc(s->u, (s->nu + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->u = grown;
	u = &s->u[s->nu++];
	memset(u, 0, sizeof(*u));
	u->uid = uid;
	if (who && !(u->name = strdup(who->name)))
		return -ENOMEM;
	if (who && s->policy_ok) {
		mg_policy_resolve(t->p, &who->id, &res);
		u->exempt = mg_resolved_exempt(&res);
		mg_caps_from_resolved(&res, t->p->memtotal, 'u', &ucaps);
		mg_caps_from_resolved(&res, t->p->memtotal, 's', &scaps);
		/* The module applies nothing to an exempt user, nor to uid 0
		 * without include_root: nothing to judge the live values by. */
		u->compared = !u->exempt && (uid != 0 || t->c->include_root);
	}
	r = user_groups(t, u, u->compared ? &ucaps : NULL, u->compared ? &scaps : NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		ctl_err("cannot read the live state of uid %u: %s", (unsigned)uid, live_error(t->lv, r));
	return r;
}

/* The user a live_user* lookup found (r its result; 1: a uid NSS does
 * not know, shown without a policy). */
static int add_found(struct take *t, int r, uid_t uid, struct mg_identity_buf *who)
{
	if (r == 1)
		return add_user(t, uid, NULL);
	if (r < 0)
		return r;
	r = add_user(t, uid, who);
	mg_identity_free(who);
	return r;
}

static void read_host(struct take *t)
{
	struct snap_host *h = &t->s->host;
	char path[PATH_MAX], *text = NULL;
	size_t len;

	h->overcommit = -1;
	snprintf(path, sizeof(path), "%s/pressure/memory", t->c->proc);
	h->has_psi = mg_psi_read(path, &h->psi) == 0;
	snprintf(path, sizeof(path), "%s/sys/vm/overcommit_memory", t->c->proc);
	if (mg_read_file(path, 64, &text, &len) == 0)
		h->overcommit = atoi(text);
	free(text);
	text = NULL;
	snprintf(path, sizeof(path), "%s/sys/vm/overcommit_ratio", t->c->proc);
	if (mg_read_file(path, 64, &text, &len) == 0)
		h->overcommit_ratio = atoi(text);
	free(text);
	h->has_commit = mg_meminfo_get(t->c->meminfo, "CommitLimit", &h->commit_limit) == 0 &&
			mg_meminfo_get(t->c->meminfo, "Committed_AS", &h->committed_as) == 0;
	mg_meminfo_get(t->c->meminfo, "MemTotal", &h->memtotal);
}

/* cgroupfs, every user listed: the %all group's processes are its users'. */
static void add_up_procs(struct snapshot *s)
{
	if (s->systemd || !s->has_all)
		return;
	for (size_t i = 0; i < s->nu; i++)
		if (snap_user_group(&s->u[i]))
			s->all.procs += s->u[i].g[0].procs;
}

int snapshot_take(struct snapshot *s, struct ctl *c, struct live *lv, const struct mg_policy *p, bool policy_ok,
		  size_t policy_errors, int argc, char **argv)
{
	struct take t = { s, c, lv, p, 0, 0, 0 };
	struct mg_resolved all;
	struct mg_caps want;
	uid_t *uids = NULL;
	size_t n = 0;
	int r;

	memset(s, 0, sizeof(*s));
	s->systemd = lv->systemd;
	s->version = lv->cg.version;
	s->policy_ok = policy_ok;
	s->policy_errors = policy_errors;
	s->at = time(NULL);
	if (!s->systemd && !(s->base = strdup(lv->cg.base)))
		return -ENOMEM;
	mg_login_defs_uid_range(c->login_defs, &t.uid_min, &t.uid_max);
	mg_boot_time(c->proc, &t.boot);
	read_host(&t);
	if (policy_ok) {
		mg_policy_resolve_all_sessions(p, &all);
		mg_caps_from_resolved(&all, p->memtotal, 'a', &want);
	}
	if (s->systemd)
		r = unit_group(&t, KIND_ALL, "user.slice", policy_ok ? &want : NULL, NULL, &s->all);
	else
		r = read_group(&t, KIND_ALL, strrchr(lv->cg.base, '/') + 1, lv->cg.base + strlen(lv->cg.mount),
			       policy_ok ? &want : NULL, NULL, &s->all);
	s->has_all = r == 0;
	if (r < 0) {
		group_free(&s->all);
		memset(&s->all, 0, sizeof(s->all));
		if (r != -ENOENT) {
			ctl_err("cannot read the live state of %s: %s", s->systemd ? "user.slice" : lv->cg.base,
				live_error(lv, r));
			return r;
		}
	}
	if (argc > 0) {
		for (int i = 0; i < argc; i++) {
			struct mg_identity_buf who;
			uid_t uid = 0;
			int e = live_user(argv[i], t.uid_min, t.uid_max, &who, &uid);

			/* uid is known only once live_user has run. */
			e = add_found(&t, e, uid, &who);

			if (e < 0)
				note_failure(s, e);
		}
		/* Only some users listed: the %all group's own count. */
		if (!s->systemd && s->has_all)
			mg_cg_count_procs(s->all.dir, true, &s->all.procs);
		return 0;
	}
	r = live_uids(lv, &uids, &n);
	if (r < 0) {
		ctl_err("cannot list the users with live state: %s", live_error(lv, r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct mg_identity_buf who;
		int e = live_user_of_uid(uids[i], t.uid_min, t.uid_max, &who);

		e = add_found(&t, e, uids[i], &who);

		if (e < 0)
			note_failure(s, e);
	}
	free(uids);
	add_up_procs(s);
	return 0;
}

const struct snap_group *snap_user_group(const struct snap_user *u)
{
	return u->ng && u->g[0].kind == KIND_USER ? &u->g[0] : NULL;
}

uint64_t snap_user_usage(const struct snap_user *u)
{
	const struct snap_group *g = snap_user_group(u);

	return g && g->live.has_current ? g->live.current : 0;
}

double snap_user_pressure(const struct snap_user *u)
{
	const struct snap_group *g = snap_user_group(u);

	return g && g->has_psi ? g->psi.some.avg10 : 0;
}

static int sort_key;

static int cmp_user(const void *a, const void *b)
{
	const struct snap_user *x = a, *y = b;

	if (sort_key == CTL_SORT_PRESSURE && snap_user_pressure(x) != snap_user_pressure(y))
		return snap_user_pressure(x) > snap_user_pressure(y) ? -1 : 1;
	if ((sort_key == CTL_SORT_PRESSURE || sort_key == CTL_SORT_USAGE) && snap_user_usage(x) != snap_user_usage(y))
		return snap_user_usage(x) > snap_user_usage(y) ? -1 : 1;
	if (x->name && y->name && strcmp(x->name, y->name))
		return strcmp(x->name, y->name);
	if (!x->name != !y->name)
		return x->name ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

void snapshot_sort(struct snapshot *s, int sort)
{
	/* < 0: as listed. */
	sort_key = sort;
	if (sort >= 0 && s->nu > 1)
		qsort(s->u, s->nu, sizeof(*s->u), cmp_user);
}

void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->nu; i++) {
		for (size_t j = 0; j < s->u[i].ng; j++)
			group_free(&s->u[i].g[j]);
		free(s->u[i].g);
		free(s->u[i].name);
	}
	free(s->u);
	if (s->has_all)
		group_free(&s->all);
	free(s->base);
	memset(s, 0, sizeof(*s));
}
