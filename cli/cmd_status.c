/* memguardctl status: the caps live in the kernel now, beside what the
 * policy says now, with what the kernel counted (peak, events, pressure)
 * and the limit in force. Read-only: it never writes a cgroup or a unit.
 * Two renderers, text and JSON, over one snapshot. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "identity.h"
#include "live.h"
#include "sdlive.h"
#include "snapshot.h"

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
static const char *judge(enum kind kind, enum mg_key k, uint64_t live, const struct snap_group *g)
{
	if (!g->has_want || !g->want.set[k])
		return "unset";
	if (live == g->want.bytes[k])
		return "ok";
	if (kind != KIND_SESSION && is_limit(k) && live > g->want.bytes[k])
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

static void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || !localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "unknown");
}

/* ---- JSON ---- */

static void json_psi_line(const char *name, const struct mg_psi_line *l)
{
	printf("\"%s\":{\"avg10\":%.2f,\"avg60\":%.2f,\"avg300\":%.2f,\"total_us\":%llu}", name, l->avg10, l->avg60,
	       l->avg300, (unsigned long long)l->total_us);
}

static void json_psi(const struct mg_psi *p)
{
	printf("{");
	if (p->some.has)
		json_psi_line("some", &p->some);
	if (p->full.has) {
		printf("%s", p->some.has ? "," : "");
		json_psi_line("full", &p->full);
	}
	printf("}");
}

static void json_counter(const char *name, bool has, uint64_t v)
{
	printf(",\"%s\":", name);
	if (has)
		printf("%llu", (unsigned long long)v);
	else
		printf("null");
}

static void json_group(const struct snap_group *g)
{
	bool f = true;

	printf("{\"kind\":\"%s\",\"name\":", live_kind_name(g->kind));
	json_str(stdout, g->name);
	printf(",\"cgroup\":");
	json_str(stdout, g->rel);
	printf(",\"path\":");
	json_str(stdout, g->dir);
	if (g->live.has_current)
		printf(",\"memory_current\":%llu", (unsigned long long)g->live.current);
	if (g->live.has_oom_kills)
		printf(",\"oom_kills\":%llu", (unsigned long long)g->live.oom_kills);
	json_counter("memory_peak", g->ev.has_peak, g->ev.peak);
	printf(",\"effective_limit\":{\"bytes\":");
	live_json_bytes(g->eff);
	printf(",\"set_by\":");
	json_str(stdout, g->eff_by);
	printf("},\"events\":{\"high\":");
	if (g->ev.has_high)
		printf("%llu", (unsigned long long)g->ev.high);
	else
		printf("null");
	json_counter("max", g->ev.has_max, g->ev.max);
	json_counter("oom", g->ev.has_oom, g->ev.oom);
	json_counter("oom_kill", g->ev.has_oom_kills, g->ev.oom_kills);
	printf("},\"pressure\":");
	if (g->has_psi)
		json_psi(&g->psi);
	else
		printf("null");
	printf(",\"processes\":%u", g->procs);
	if (g->kind == KIND_SESSION) {
		printf(",\"trace\":");
		if (g->traced)
			json_str(stdout, g->trace[0] ? g->trace : "64M");
		else
			printf("null");
		printf(",\"leader\":");
		if (g->has_leader)
			printf("{\"pid\":%d,\"alive\":%s}", (int)g->leader, g->leader_alive ? "true" : "false");
		else
			printf("null");
		printf(",\"login_time\":");
		if (g->since > 0)
			printf("%lld", (long long)g->since);
		else
			printf("null");
	}
	printf(",\"stale\":%s,\"stale_reason\":", g->stale ? "true" : "false");
	json_str(stdout, g->stale);
	printf(",\"flag\":");
	json_str(stdout, g->flag);
	printf(",\"caps\":{");
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		if (!kind_has(g->kind, (enum mg_key)k) || !g->live.has[k])
			continue;
		printf("%s", f ? "" : ",");
		f = false;
		json_str(stdout, mg_key_info((enum mg_key)k)->name);
		printf(":{\"live\":");
		live_json_bytes(g->live.bytes[k]);
		printf(",\"policy\":");
		if (g->has_want && g->want.set[k])
			live_json_bytes(g->want.bytes[k]);
		else
			printf("null");
		printf(",\"state\":\"%s\"}", judge(g->kind, (enum mg_key)k, g->live.bytes[k], g));
	}
	printf("}}");
}

static void json_host(const struct snapshot *s)
{
	const struct snap_host *h = &s->host;

	printf(",\"host\":{\"usage\":");
	if (s->has_all && s->all.live.has_current)
		printf("%llu", (unsigned long long)s->all.live.current);
	else
		printf("null");
	printf(",\"all_cap\":");
	if (s->has_all && s->all.live.has[MG_KEY_MEMORY_MAX])
		live_json_bytes(s->all.live.bytes[MG_KEY_MEMORY_MAX]);
	else
		printf("null");
	printf(",\"memtotal\":%llu,\"pressure\":", (unsigned long long)h->memtotal);
	if (h->has_psi)
		json_psi(&h->psi);
	else
		printf("null");
	printf(",\"overcommit_memory\":");
	if (h->overcommit >= 0)
		printf("%d,\"overcommit_ratio\":%d", h->overcommit, h->overcommit_ratio);
	else
		printf("null,\"overcommit_ratio\":null");
	json_counter("commit_limit", h->has_commit, h->commit_limit);
	json_counter("committed_as", h->has_commit, h->committed_as);
	printf(",\"users\":%zu,\"groups\":%u,\"sessions\":%u,\"read_at\":%lld}", s->nu, s->ngroups, s->nsessions,
	       (long long)s->at);
}

static void render_json(const struct ctl *c, const struct snapshot *s)
{
	printf("{\"backend\":\"%s\"", s->systemd ? "systemd" : "cgroupfs");
	if (!s->systemd) {
		printf(",\"base\":");
		json_str(stdout, s->base);
	}
	printf(",\"module_config\":{\"from\":");
	json_str(stdout, c->module_from[0] ? c->module_from : NULL);
	printf(",\"services\":%u}", c->module_services);
	json_host(s);
	printf(",\"all\":");
	if (s->has_all)
		json_group(&s->all);
	else
		printf("null");
	printf(",\"users\":[");
	for (size_t i = 0; i < s->nu; i++) {
		const struct snap_user *u = &s->u[i];

		printf("%s{\"user\":", i ? "," : "");
		json_str(stdout, u->name);
		printf(",\"uid\":%u,\"exempt\":%s,\"groups\":[", (unsigned)u->uid, u->exempt ? "true" : "false");
		for (size_t j = 0; j < u->ng; j++) {
			printf("%s", j ? "," : "");
			json_group(&u->g[j]);
		}
		printf("],\"live\":%s}", u->live ? "true" : "false");
	}
	printf("]}\n");
}

/* ---- text ---- */

static void text_psi(const struct mg_psi *p)
{
	printf("pressure some %.2f/%.2f full %.2f/%.2f", p->some.avg10, p->some.avg60, p->full.avg10, p->full.avg60);
}

static void text_host(const struct ctl *c, const struct snapshot *s)
{
	const struct snap_host *h = &s->host;
	static const char *const modes[] = { "heuristic", "always", "strict" };
	char a[32], b[32];

	if (c->module_from[0])
		printf("module configuration from %s, %u service%s\n", ctl_safe(c->module_from), c->module_services,
		       c->module_services == 1 ? "" : "s");
	else
		printf("module configuration: no pam_memguard line in %s, the module's defaults\n",
		       ctl_safe(c->pam_dir ? c->pam_dir : MG_PAMD_DEFAULT));
	printf("host:");
	if (s->has_all && s->all.live.has_current) {
		live_human(s->all.live.current, a, sizeof(a));
		live_human(s->all.live.has[MG_KEY_MEMORY_MAX] ? s->all.live.bytes[MG_KEY_MEMORY_MAX] : MG_CG_UNLIMITED, b,
			   sizeof(b));
		printf(" %s under memguard of %%all %s;", a, b);
	}
	printf(" %zu user%s, %u session%s; ", s->nu, s->nu == 1 ? "" : "s", s->nsessions, s->nsessions == 1 ? "" : "s");
	if (h->has_psi)
		text_psi(&h->psi);
	else
		printf("no pressure information (PSI)");
	if (h->overcommit >= 0 && h->overcommit <= 2)
		printf("; overcommit %d (%s", h->overcommit, modes[h->overcommit]);
	if (h->overcommit == 2)
		printf(", ratio %d%%", h->overcommit_ratio);
	if (h->overcommit >= 0 && h->overcommit <= 2)
		printf(")");
	if (h->has_commit) {
		mg_bytes_format(h->committed_as, a, sizeof(a));
		mg_bytes_format(h->commit_limit, b, sizeof(b));
		printf(", Committed_AS %s of CommitLimit %s", a, b);
	}
	printf("\n");
}

static void text_group(const struct snap_group *g)
{
	char a[32], b[32], when[32];

	printf("  %-7s %s  cgroup %s", live_kind_name(g->kind), ctl_safe(g->name), ctl_safe(g->rel));
	if (g->live.has_current) {
		live_human(g->live.current, a, sizeof(a));
		printf("  current %s", a);
	}
	if (g->live.has_oom_kills)
		printf("  oom kills %llu", (unsigned long long)g->live.oom_kills);
	/* Started with trace= (the shim's default threshold when none given). */
	if (g->traced)
		printf("  trace %s", g->trace[0] ? g->trace : "64M");
	if (g->flag)
		printf("  [%s]", g->flag);
	if (g->stale)
		printf("  [stale: %s]", g->stale);
	printf("\n");
	printf("    ");
	if (g->ev.has_peak) {
		live_human(g->ev.peak, a, sizeof(a));
		printf("peak %s  ", a);
	}
	live_human(g->eff, a, sizeof(a));
	printf("limit in force %s", a);
	if (g->eff_by && strcmp(g->eff_by, g->rel) != 0)
		printf(" (set by %s)", ctl_safe(g->eff_by));
	printf("  events");
	if (g->ev.has_high)
		printf(" high %llu", (unsigned long long)g->ev.high);
	if (g->ev.has_max)
		printf(" max %llu", (unsigned long long)g->ev.max);
	if (g->ev.has_oom)
		printf(" oom %llu", (unsigned long long)g->ev.oom);
	if (g->ev.has_oom_kills)
		printf(" oom_kill %llu", (unsigned long long)g->ev.oom_kills);
	printf("  processes %u", g->procs);
	if (g->has_psi) {
		printf("  ");
		text_psi(&g->psi);
	}
	printf("\n");
	if (g->kind == KIND_SESSION && g->has_leader) {
		iso_time(g->since, when, sizeof(when));
		printf("    leader %d%s, login %s\n", (int)g->leader, g->leader_alive ? "" : " (gone)", when);
	}
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		const char *state;

		if (!kind_has(g->kind, (enum mg_key)k) || !g->live.has[k])
			continue;
		state = judge(g->kind, (enum mg_key)k, g->live.bytes[k], g);
		live_human(g->live.bytes[k], a, sizeof(a));
		if (g->has_want && g->want.set[k])
			live_human(g->want.bytes[k], b, sizeof(b));
		else
			snprintf(b, sizeof(b), "not set");
		if (*judge_text(state, g->kind))
			printf("    %-16s live %-10s policy %-10s%s\n", mg_key_info((enum mg_key)k)->name, a, b,
			       judge_text(state, g->kind));
		else
			printf("    %-16s live %-10s policy %s\n", mg_key_info((enum mg_key)k)->name, a, b);
	}
}

static void render_text(const struct ctl *c, const struct snapshot *s, bool listed)
{
	printf("backend %s", s->systemd ? "systemd" : "cgroupfs");
	if (!s->systemd)
		printf(", memguard's tree at %s", ctl_safe(s->base));
	printf("\n");
	text_host(c, s);
	if (s->has_all)
		text_group(&s->all);
	else
		printf("%%all: no live group (%s)\n", s->systemd ? "user.slice is not running" : "no memguard tree yet");
	for (size_t i = 0; i < s->nu; i++) {
		const struct snap_user *u = &s->u[i];

		if (u->name)
			printf("user %s (uid %u)%s\n", ctl_safe(u->name), (unsigned)u->uid,
			       u->exempt			? ": exempt by the policy, not compared"
			       : u->uid == 0 && !c->include_root ? ": the module skips uid 0 unless include_root, not compared"
								 : "");
		else
			printf("uid %u (not known to NSS: no policy to compare with)\n", (unsigned)u->uid);
		for (size_t j = 0; j < u->ng; j++)
			text_group(&u->g[j]);
		if (!u->live)
			printf("  no live state: %s\n", s->systemd ? "no user slice is running (no session, no lingering)"
								   : "no memguard group (no session)");
	}
	if (!listed && s->nu == 0)
		printf("no user has live memguard state\n");
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	struct live lv;
	struct mg_policy p;
	struct mg_diags d = { 0 };
	struct snapshot s;
	size_t errors;
	bool policy_ok;
	int r;

	r = live_choose(&lv, c);
	if (r)
		return r;
	r = ctl_load(c, &p, NULL, &d);
	ctl_print_diags(&d);
	errors = d.errors;
	mg_diags_free(&d);
	if (r == -ENOMEM)
		goto out_policy;
	policy_ok = r >= 0;
	/* A policy with errors in some lines resolves as the module reads it;
	 * one that cannot be read at all gives nothing to compare with. */
	r = live_open(&lv);
	if (r < 0)
		goto out;
	r = snapshot_take(&s, c, &lv, &p, policy_ok, errors, argc, argv);
	if (r == 0) {
		snapshot_sort(&s, c->sort_given ? (int)c->sort : argc > 0 ? -1 : CTL_SORT_NAME);
		if (c->json)
			render_json(c, &s);
		else
			render_text(c, &s, argc > 0);
		r = s.failed;
	}
	snapshot_free(&s);
out:
	live_close(&lv);
out_policy:
	mg_policy_free(&p);
	return r;
}
