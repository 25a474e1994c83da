/* memguardctl oom-report: the text and JSON renderers of one event. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "ctl.h"
#include "logtime.h"
#include "oom_report.h"

#define TOP_ROWS 10
#define NONE MG_OOM_NONE

void oom_size(uint64_t b, char *buf, size_t len)
{
	if (b < (1u << 20))
		snprintf(buf, len, "%" PRIu64 " KiB", (b + 512) / 1024);
	else if (b < (1ull << 30))
		snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
	else
		snprintf(buf, len, "%.1f GiB", (double)b / (1ull << 30));
}

static const char *size_str(uint64_t b, char *buf, size_t len)
{
	oom_size(b, buf, len);
	return buf;
}

static void when(const struct mg_oom_event *ev, char *buf, size_t len)
{
	if (ev->has_time)
		mg_logtime_format(ev->usec, buf, len);
	else if (ev->has_mono)
		snprintf(buf, len, "%" PRId64 ".%06" PRId64 " s after boot", ev->mono_usec / 1000000,
			 ev->mono_usec % 1000000);
	else
		snprintf(buf, len, "time not in the log");
}

static void who_text(int64_t uid, const char *user, char *buf, size_t len)
{
	if (uid == NONE)
		snprintf(buf, len, "uid ?");
	else if (user && user[0])
		snprintf(buf, len, "uid %" PRId64 " %s", uid, user);
	else
		snprintf(buf, len, "uid %" PRId64, uid);
}

static const char *missing_text(unsigned m, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *text;
	} parts[] = {
		{ MG_OOM_MISSING_HEADER, "header (trigger, gfp mask, order)" },
		{ MG_OOM_MISSING_TABLE, "task table" },
		{ MG_OOM_MISSING_CONSTRAINT, "constraint (memcg or global)" },
		{ MG_OOM_MISSING_VICTIM, "kill line (victim)" },
	};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (m & parts[i].bit)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", parts[i].text);
	return buf;
}

static void group_text(const struct oom_group_info *g, char *buf, size_t len)
{
	char who[96];
	const char *layout = g->systemd ? "systemd's user slices" : "memguard's tree";

	buf[0] = '\0';
	if (g->level == OOM_LEVEL_NONE)
		return;
	if (g->level == OOM_LEVEL_ALL) {
		snprintf(buf, len, "all users' sessions together (%s)", layout);
		return;
	}
	if (g->user[0])
		snprintf(who, sizeof(who), "%s (uid %" PRId64 ")", g->user, g->uid);
	else
		snprintf(who, sizeof(who), "uid %" PRId64 " (not known to NSS)", g->uid);
	if (g->level == OOM_LEVEL_USER)
		snprintf(buf, len, "user %s, all of the user's sessions (%s)", who, layout);
	else
		snprintf(buf, len, "user %s, session %s (%s)", who, g->session, layout);
}

/* The victim's row is the largest (ties included). */
static int victim_largest(const struct oom_view *v)
{
	const struct mg_oom_event *ev = v->ev;

	if (!v->nranked || ev->victim_pid == NONE)
		return -1;
	for (size_t i = 0; i < v->nranked; i++)
		if (v->ranked[i]->pid == ev->victim_pid)
			return v->ranked[i]->rss >= v->ranked[0]->rss;
	return -1;
}

/* "largest consumer: uid 1002 alice, 30 tasks, 12.0 GiB; victim postgres
 * is the largest single task" */
static void consumer_text(const struct oom_view *v, char *buf, size_t len)
{
	const struct mg_oom_event *ev = v->ev;
	const struct mg_oom_task *top = v->nranked ? v->ranked[0] : NULL;
	char a[32], b[32], who[96];

	buf[0] = '\0';
	if (!v->nuids || !top || top->rss == NONE)
		return;
	who_text(v->uids[0].uid, v->uids[0].user, who, sizeof(who));
	snprintf(buf, len, "largest consumer: %s, %zu task%s, %s", who, v->uids[0].tasks, v->uids[0].tasks == 1 ? "" : "s",
		 size_str(v->uids[0].rss_bytes, a, sizeof(a)));
	if (ev->victim_pid == NONE)
		return;
	if (victim_largest(v) == 1)
		snprintf(buf + strlen(buf), len - strlen(buf), "; victim %s is the largest single task",
			 ev->victim_comm ? ev->victim_comm : "?");
	else
		snprintf(buf + strlen(buf), len - strlen(buf), "; the largest single task is %s (pid %" PRId64 ", %s), not the victim",
			 top->name, top->pid, size_str((uint64_t)top->rss * v->page_bytes, b, sizeof(b)));
	if (v->uids[0].uid != ev->victim_uid && ev->victim_uid != NONE)
		snprintf(buf + strlen(buf), len - strlen(buf), "; the victim's uid %" PRId64 " is not the largest consumer",
			 ev->victim_uid);
}

static void brief_kernel(FILE *f, const struct oom_view *v, const char *t)
{
	const struct mg_oom_event *ev = v->ev;
	const char *c = mg_oom_constraint_name(ev->constraint);
	char who[96], sz[32];

	fprintf(f, "%s  kernel %s", t, c ? c : "constraint?");
	if (ev->constraint == MG_OOM_CONSTRAINT_MEMCG && ev->oom_memcg)
		fprintf(f, " %s", ev->oom_memcg);
	if (ev->outcome == MG_OOM_OUTCOME_KILLED) {
		who_text(ev->victim_uid, v->victim_user, who, sizeof(who));
		fprintf(f, ": killed %s (pid %" PRId64 ", %s", ev->victim_comm ? ev->victim_comm : "?", ev->victim_pid, who);
		if (v->victim_rss_bytes != NONE)
			fprintf(f, ", rss %s", size_str((uint64_t)v->victim_rss_bytes, sz, sizeof(sz)));
		fprintf(f, ")");
		if (ev->ngroup_kills)
			fprintf(f, " and %zu more (memory.oom.group)", ev->ngroup_kills);
	} else if (ev->outcome == MG_OOM_OUTCOME_NO_KILLABLE)
		fprintf(f, ": no killable process");
	else if (ev->outcome == MG_OOM_OUTCOME_PANIC)
		fprintf(f, ": kernel panic (panic_on_oom)");
	else
		fprintf(f, ": victim not in the log");
	fprintf(f, "\n");
}

static void text_kernel(FILE *f, const struct oom_view *v, const char *t)
{
	const struct mg_oom_event *ev = v->ev;
	char a[32], b[32], c[32], who[96], buf[512];
	const char *cons = mg_oom_constraint_name(ev->constraint);

	fprintf(f, "== %s  kernel OOM killer, %s", t, cons ? cons : "constraint unknown");
	if (ev->host)
		fprintf(f, ", host %s", ev->host);
	fprintf(f, "  (%s lines %lu-%lu", v->source, ev->first_line, ev->last_line);
	if (ev->format)
		fprintf(f, ", kernel format %s", ev->format);
	fprintf(f, ")\n");
	if (ev->trigger_comm) {
		fprintf(f, "  trigger:    %s", ev->trigger_comm);
		if (ev->trigger_pid != NONE)
			fprintf(f, " (pid %" PRId64 "%s%s)", ev->trigger_pid, ev->trigger_uid != NONE ? ", " : "",
				ev->trigger_uid != NONE ? (who_text(ev->trigger_uid, v->trigger_user, who, sizeof(who)), who) : "");
		fprintf(f, ", gfp_mask=%s, order=", ev->gfp_mask ? ev->gfp_mask : "?");
		if (ev->trigger_order != NONE)
			fprintf(f, "%" PRId64, ev->trigger_order);
		else
			fprintf(f, "?");
		if (ev->trigger_oom_score_adj != NONE)
			fprintf(f, ", oom_score_adj=%" PRId64, ev->trigger_oom_score_adj);
		fprintf(f, "\n");
	}
	if (ev->constraint == MG_OOM_CONSTRAINT_MEMCG) {
		fprintf(f, "  constraint: memcg: %s hit its limit", ev->oom_memcg ? ev->oom_memcg : "a group not named in the log");
		if (ev->memcg_limit_kb != NONE)
			fprintf(f, " (limit %s, usage %s)", size_str((uint64_t)ev->memcg_limit_kb * 1024, a, sizeof(a)),
				ev->memcg_usage_kb != NONE ? size_str((uint64_t)ev->memcg_usage_kb * 1024, b, sizeof(b)) : "?");
		fprintf(f, " [from the %s]\n", ev->constraint_from);
		group_text(&v->oom_group, buf, sizeof(buf));
		if (buf[0])
			fprintf(f, "  group:      %s\n", buf);
		if (v->oom_group.level != OOM_LEVEL_NONE) {
			if (v->rule.found)
				fprintf(f, "  cap:        %s=%s set by %s:%u ('%s')", v->rule.key, v->rule.value, v->rule.file,
					v->rule.line, v->rule.who);
			else if (v->rule.key[0])
				fprintf(f, "  cap:        no policy line sets %s today", v->rule.key);
			else
				fprintf(f, "  cap:        policy not resolved (uid unknown to NSS or policy unreadable)");
			if (v->has_live_limit)
				fprintf(f, "; the group's limit now: %s",
					v->live_limit == MG_CG_UNLIMITED ? "max" : size_str(v->live_limit, c, sizeof(c)));
			fprintf(f, "\n");
		} else if (v->has_live_limit)
			fprintf(f, "  cap:        the group's limit now: %s\n",
				v->live_limit == MG_CG_UNLIMITED ? "max" : size_str(v->live_limit, c, sizeof(c)));
	} else if (ev->constraint == MG_OOM_CONSTRAINT_GLOBAL)
		fprintf(f, "  constraint: global: the whole machine was out of memory [from the %s]\n", ev->constraint_from);
	else if (cons)
		fprintf(f, "  constraint: %s [from the %s]\n", cons, ev->constraint_from);
	if (ev->outcome == MG_OOM_OUTCOME_KILLED) {
		who_text(ev->victim_uid, v->victim_user, who, sizeof(who));
		fprintf(f, "  victim:     %s (pid %" PRId64 ", %s)", ev->victim_comm ? ev->victim_comm : "?", ev->victim_pid, who);
		if (v->victim_rss_bytes != NONE)
			fprintf(f, ", rss %s (anon %s, file %s, shmem %s)", size_str((uint64_t)v->victim_rss_bytes, a, sizeof(a)),
				size_str((uint64_t)ev->anon_rss_kb * 1024, b, sizeof(b)),
				ev->file_rss_kb != NONE ? size_str((uint64_t)ev->file_rss_kb * 1024, c, sizeof(c)) : "?",
				ev->shmem_rss_kb != NONE ? size_str((uint64_t)ev->shmem_rss_kb * 1024, buf, sizeof(buf)) : "?");
		if (ev->victim_oom_score_adj != NONE)
			fprintf(f, ", oom_score_adj %" PRId64, ev->victim_oom_score_adj);
		fprintf(f, "; %s\n", ev->reaped == MG_OOM_REAPED ? "reaped by oom_reaper"
				   : ev->reaped == MG_OOM_REAP_FAILED ? "oom_reaper could not reap it"
								       : "no oom_reaper line");
		if (ev->task_memcg) {
			group_text(&v->task_group, buf, sizeof(buf));
			fprintf(f, "  its group:  %s%s%s\n", ev->task_memcg, buf[0] ? ": " : "", buf);
		}
		if (ev->selected_pid != NONE && ev->selected_pid != ev->victim_pid)
			fprintf(f, "  selected:   %s (pid %" PRId64 "), its child was killed instead\n",
				ev->selected_comm ? ev->selected_comm : "?", ev->selected_pid);
		if (ev->oom_group) {
			fprintf(f, "  oom.group:  every task of %s killed: %zu besides the victim", ev->oom_group, ev->ngroup_kills);
			for (size_t i = 0; i < ev->ngroup_kills && i < TOP_ROWS; i++)
				fprintf(f, "%s%s (%" PRId64 ")", i ? ", " : ": ", ev->group_kills[i].comm ? ev->group_kills[i].comm : "?",
					ev->group_kills[i].pid);
			fprintf(f, "%s\n", ev->ngroup_kills > TOP_ROWS ? ", ..." : "");
		}
	} else if (ev->outcome == MG_OOM_OUTCOME_NO_KILLABLE)
		fprintf(f, "  victim:     none: \"Out of memory and no killable processes\"\n");
	else if (ev->outcome == MG_OOM_OUTCOME_PANIC)
		fprintf(f, "  victim:     none: the kernel panicked (panic_on_oom)\n");
	if (v->nranked) {
		fprintf(f, "  tasks at kill time, ranked by rss (%zu%s; pages of %" PRIu64 " KiB%s):\n", v->nranked,
			ev->tasks_dropped ? " kept" : "", v->page_bytes / 1024, v->page_inferred ? "" : ", assumed");
		fprintf(f, "    %8s %6s %10s %6s  %s\n", "PID", "UID", "RSS", "ADJ", "NAME");
		for (size_t i = 0; i < v->nranked && i < TOP_ROWS; i++) {
			const struct mg_oom_task *tk = v->ranked[i];
			char rss[32] = "?", uid[24] = "?", adj[24] = "?";
			if (tk->rss != NONE)
				oom_size((uint64_t)(tk->rss < 0 ? 0 : tk->rss) * v->page_bytes, rss, sizeof(rss));
			if (tk->uid != NONE)
				snprintf(uid, sizeof(uid), "%" PRId64, tk->uid);
			if (tk->oom_score_adj != NONE)
				snprintf(adj, sizeof(adj), "%" PRId64, tk->oom_score_adj);
			fprintf(f, "    %8" PRId64 " %6s %10s %6s  %s%s\n", tk->pid, uid, rss, adj, tk->name,
				tk->pid == ev->victim_pid ? "  <- victim" : "");
		}
		if (v->nranked > TOP_ROWS)
			fprintf(f, "    +%zu more\n", v->nranked - TOP_ROWS);
		fprintf(f, "  per uid:   ");
		for (size_t i = 0; i < v->nuids && i < TOP_ROWS; i++) {
			who_text(v->uids[i].uid, v->uids[i].user, who, sizeof(who));
			fprintf(f, "%s%s: %zu task%s, %s", i ? "; " : " ", who, v->uids[i].tasks, v->uids[i].tasks == 1 ? "" : "s",
				size_str(v->uids[i].rss_bytes, a, sizeof(a)));
		}
		fprintf(f, "%s\n", v->nuids > TOP_ROWS ? "; ..." : "");
		consumer_text(v, buf, sizeof(buf));
		if (buf[0])
			fprintf(f, "  %s\n", buf);
	}
	if (ev->missing)
		fprintf(f, "  missing:    %s\n", missing_text(ev->missing, buf, sizeof(buf)));
}

static void text_userspace(FILE *f, const struct oom_view *v, const char *t, bool brief)
{
	const struct mg_oom_event *ev = v->ev;
	char who[96], buf[256];

	if (ev->type == MG_OOM_SYSTEMD_OOMD) {
		group_text(&v->oomd_group, buf, sizeof(buf));
		fprintf(f, "%s%s  systemd-oomd (userspace) killed %s", brief ? "" : "== ", t, ev->cgroup ? ev->cgroup : "?");
		if (ev->victim_pid != NONE)
			fprintf(f, " (pid %" PRId64 ")", ev->victim_pid);
		if (brief) {
			fprintf(f, "\n");
			return;
		}
		fprintf(f, "%s%s  (%s line %lu)\n", ev->host ? ", host " : "", ev->host ? ev->host : "", v->source, ev->first_line);
		if (buf[0])
			fprintf(f, "  group:      %s\n", buf);
		fprintf(f, "  reason:     %s\n", ev->reason ? ev->reason : "not in the log");
		return;
	}
	who_text(ev->victim_uid, v->victim_user, who, sizeof(who));
	fprintf(f, "%s%s  earlyoom (userspace) sent %s%s to %s (pid %" PRId64 ", %s", brief ? "" : "== ", t,
		ev->signal && ev->signal[0] >= '0' && ev->signal[0] <= '9' ? "signal " : "", ev->signal ? ev->signal : "?",
		ev->victim_comm ? ev->victim_comm : "?", ev->victim_pid, who);
	if (ev->vmrss_mib != NONE)
		fprintf(f, ", VmRSS %" PRId64 " MiB", ev->vmrss_mib);
	fprintf(f, ")");
	if (brief) {
		fprintf(f, "\n");
		return;
	}
	fprintf(f, "%s%s  (%s line %lu)\n", ev->host ? ", host " : "", ev->host ? ev->host : "", v->source, ev->first_line);
	if (ev->badness != NONE || ev->victim_oom_score_adj != NONE) {
		fprintf(f, "  score:     ");
		if (ev->badness != NONE)
			fprintf(f, " oom_score/badness %" PRId64, ev->badness);
		if (ev->victim_oom_score_adj != NONE)
			fprintf(f, " oom_score_adj %" PRId64, ev->victim_oom_score_adj);
		fprintf(f, "\n");
	}
}

static void text_session(FILE *f, const struct oom_view *v, const char *t, bool brief)
{
	const struct mg_oom_event *ev = v->ev;
	char a[32], b[64];

	fprintf(f, "%s%s  pam_memguard: session of %s (uid %" PRId64 ") closed", brief ? "" : "== ", t,
		ev->user ? ev->user : "?", ev->uid);
	if (ev->oom_kills != NONE)
		fprintf(f, " after OOM kills: %" PRId64, ev->oom_kills);
	else
		fprintf(f, ", its own OOM kills not logged (a shared group)");
	if (ev->user_oom_kills != NONE)
		fprintf(f, " (the user's during the session: %" PRId64 ")", ev->user_oom_kills);
	if (brief) {
		fprintf(f, "\n");
		return;
	}
	fprintf(f, "  (%s line %lu)\n", v->source, ev->first_line);
	if (ev->group)
		fprintf(f, "  group:      %s\n", ev->group);
	if (ev->peak_bytes != NONE)
		fprintf(f, "  peak:       %s\n", size_str((uint64_t)ev->peak_bytes, a, sizeof(a)));
	if (ev->user_max_events != NONE || ev->user_high_events != NONE || ev->user_peak_bytes != NONE) {
		fprintf(f, "  user group:");
		if (ev->user_max_events != NONE)
			fprintf(f, " %" PRId64 " max events,", ev->user_max_events);
		if (ev->user_high_events != NONE)
			fprintf(f, " %" PRId64 " high events,", ev->user_high_events);
		if (ev->user_peak_bytes != NONE)
			fprintf(f, " peak %s", size_str((uint64_t)ev->user_peak_bytes, a, sizeof(a)));
		fprintf(f, " (during the session; the peak since the group was made)\n");
	}
	if (v->linked_events) {
		if (v->linked_has_time)
			mg_logtime_format(v->linked_last_usec, b, sizeof(b));
		fprintf(f, "  kernel:     %zu OOM event%s of this group above%s%s\n", v->linked_events,
			v->linked_events == 1 ? "" : "s", v->linked_has_time ? ", the last at " : "", v->linked_has_time ? b : "");
	} else
		fprintf(f, "  kernel:     no OOM event of this group in the log read before this line\n");
}

static void render_text(FILE *f, const struct oom_view *v, bool brief)
{
	char t[64];

	when(v->ev, t, sizeof(t));
	switch (v->ev->type) {
	case MG_OOM_KERNEL:
		if (brief)
			brief_kernel(f, v, t);
		else
			text_kernel(f, v, t);
		break;
	case MG_OOM_SYSTEMD_OOMD:
	case MG_OOM_EARLYOOM:
		text_userspace(f, v, t, brief);
		break;
	case MG_OOM_SESSION_CLOSE:
		text_session(f, v, t, brief);
		break;
	}
	if (!brief)
		fprintf(f, "\n");
}

/* Names, paths and reasons come from a log anyone may have written to:
 * each line goes out through the sanitizer every command's text uses, so
 * none of it can move the cursor or forge a line. */
void oom_render_text(FILE *f, const struct oom_view *v, bool brief)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		return;
	render_text(m, v, brief);
	if (fclose(m) != 0) {
		free(text);
		return;
	}
	for (char *s = text, *nl; *s; s = nl + 1) {
		if (!(nl = strchr(s, '\n'))) {
			fputs(ctl_safe(s), f);
			break;
		}
		*nl = '\0';
		fprintf(f, "%s\n", ctl_safe(s));
	}
	free(text);
}

/* ---- JSON: one object per line, keys always present (null when the
 * log did not say) ---- */

static void jnum(FILE *f, const char *key, int64_t v, bool *first)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	*first = false;
	if (v == NONE)
		fputs("null", f);
	else
		fprintf(f, "%" PRId64, v);
}

static void jkb(FILE *f, const char *key, int64_t kb, bool *first)
{
	jnum(f, key, kb == NONE ? NONE : kb * 1024, first);
}

static void jstr(FILE *f, const char *key, const char *s, bool *first)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	*first = false;
	json_str(f, s && s[0] ? s : NULL);
}

static void jbool(FILE *f, const char *key, bool v, bool *first)
{
	fprintf(f, "%s\"%s\":%s", *first ? "" : ",", key, v ? "true" : "false");
	*first = false;
}

static void jkey(FILE *f, const char *key, bool *first)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	*first = false;
}

static void jgroup(FILE *f, const char *key, const struct oom_group_info *g, bool *first)
{
	static const char *const levels[] = { NULL, "all", "user", "session" };
	bool fi = true;

	jkey(f, key, first);
	if (g->level == OOM_LEVEL_NONE) {
		fputs("null", f);
		return;
	}
	fputc('{', f);
	jstr(f, "level", levels[g->level], &fi);
	jnum(f, "uid", g->uid, &fi);
	jstr(f, "user", g->user, &fi);
	jstr(f, "session", g->session, &fi);
	jstr(f, "layout", g->systemd ? "systemd" : "cgroupfs", &fi);
	fputc('}', f);
}

static void json_kernel(FILE *f, const struct oom_view *v, bool *first)
{
	const struct mg_oom_event *ev = v->ev;
	bool fi;
	char buf[512];

	jkey(f, "trigger", first);
	if (!ev->trigger_comm)
		fputs("null", f);
	else {
		fi = true;
		fputc('{', f);
		jstr(f, "comm", ev->trigger_comm, &fi);
		jnum(f, "pid", ev->trigger_pid, &fi);
		jnum(f, "uid", ev->trigger_uid, &fi);
		jstr(f, "gfp_mask", ev->gfp_mask, &fi);
		jnum(f, "order", ev->trigger_order, &fi);
		jnum(f, "oom_score_adj", ev->trigger_oom_score_adj, &fi);
		jstr(f, "nodemask", ev->nodemask, &fi);
		jstr(f, "cpuset", ev->cpuset, &fi);
		jstr(f, "mems_allowed", ev->mems_allowed, &fi);
		fputc('}', f);
	}
	jstr(f, "constraint", mg_oom_constraint_name(ev->constraint), first);
	jstr(f, "constraint_from", ev->constraint_from, first);
	jstr(f, "oom_memcg", ev->oom_memcg, first);
	jstr(f, "task_memcg", ev->task_memcg, first);
	jkb(f, "memcg_limit_bytes", ev->memcg_limit_kb, first);
	jkb(f, "memcg_usage_bytes", ev->memcg_usage_kb, first);
	jnum(f, "memcg_failcnt", ev->memcg_failcnt, first);
	jkb(f, "swap_limit_bytes", ev->swap_limit_kb, first);
	jkb(f, "swap_usage_bytes", ev->swap_usage_kb, first);
	jgroup(f, "memguard_group", &v->oom_group, first);
	jgroup(f, "victim_memguard_group", &v->task_group, first);
	jkey(f, "cap_rule", first);
	if (!v->rule.found)
		fputs("null", f);
	else {
		fi = true;
		fputc('{', f);
		jstr(f, "key", v->rule.key, &fi);
		jstr(f, "value", v->rule.value, &fi);
		jstr(f, "file", v->rule.file, &fi);
		jnum(f, "line", v->rule.line, &fi);
		jstr(f, "who", v->rule.who, &fi);
		fputc('}', f);
	}
	jkey(f, "live_limit_bytes", first);
	if (!v->has_live_limit)
		fputs("null", f);
	else if (v->live_limit == MG_CG_UNLIMITED)
		fputs("\"max\"", f);
	else
		fprintf(f, "%" PRIu64, v->live_limit);
	jstr(f, "outcome", mg_oom_outcome_name(ev->outcome), first);
	jkey(f, "selected", first);
	if (ev->selected_pid == NONE)
		fputs("null", f);
	else {
		fi = true;
		fputc('{', f);
		jnum(f, "pid", ev->selected_pid, &fi);
		jstr(f, "comm", ev->selected_comm, &fi);
		jnum(f, "score", ev->selected_score, &fi);
		fputc('}', f);
	}
	jkey(f, "victim", first);
	if (ev->victim_pid == NONE)
		fputs("null", f);
	else {
		static const char *const reap[] = { NULL, "reaped", "failed" };
		fi = true;
		fputc('{', f);
		jnum(f, "pid", ev->victim_pid, &fi);
		jstr(f, "comm", ev->victim_comm, &fi);
		jnum(f, "uid", ev->victim_uid, &fi);
		jstr(f, "user", v->victim_user, &fi);
		jnum(f, "rss_bytes", v->victim_rss_bytes, &fi);
		jkb(f, "anon_rss_bytes", ev->anon_rss_kb, &fi);
		jkb(f, "file_rss_bytes", ev->file_rss_kb, &fi);
		jkb(f, "shmem_rss_bytes", ev->shmem_rss_kb, &fi);
		jkb(f, "total_vm_bytes", ev->total_vm_kb, &fi);
		jkb(f, "pgtables_bytes", ev->pgtables_kb, &fi);
		jnum(f, "oom_score_adj", ev->victim_oom_score_adj, &fi);
		jstr(f, "reaper", reap[ev->reaped], &fi);
		jkb(f, "anon_rss_after_reap_bytes", ev->reaped_anon_kb, &fi);
		fputc('}', f);
	}
	jkey(f, "oom_group", first);
	if (!ev->oom_group)
		fputs("null", f);
	else {
		fi = true;
		fputc('{', f);
		jstr(f, "memcg", ev->oom_group, &fi);
		jkey(f, "killed", &fi);
		fputc('[', f);
		for (size_t i = 0; i < ev->ngroup_kills; i++) {
			bool g = true;
			fputs(i ? ",{" : "{", f);
			jnum(f, "pid", ev->group_kills[i].pid, &g);
			jstr(f, "comm", ev->group_kills[i].comm, &g);
			fputc('}', f);
		}
		fputs("]}", f);
	}
	jnum(f, "page_bytes", (int64_t)v->page_bytes, first);
	jbool(f, "page_bytes_inferred", v->page_inferred, first);
	jbool(f, "table_title", ev->table_title, first);
	jbool(f, "table_header", ev->table_header, first);
	jnum(f, "tasks_count", (int64_t)ev->ntasks, first);
	jnum(f, "tasks_dropped", (int64_t)ev->tasks_dropped, first);
	jkey(f, "tasks", first);
	fputc('[', f);
	for (size_t i = 0; i < v->nranked; i++) {
		const struct mg_oom_task *t = v->ranked[i];
		bool g = true;
		fputs(i ? ",{" : "{", f);
		jnum(f, "pid", t->pid, &g);
		jnum(f, "uid", t->uid, &g);
		jnum(f, "tgid", t->tgid, &g);
		jnum(f, "total_vm_pages", t->total_vm, &g);
		jnum(f, "rss_pages", t->rss, &g);
		jnum(f, "rss_bytes", t->rss == NONE ? NONE : t->rss * (int64_t)v->page_bytes, &g);
		jnum(f, "rss_anon_pages", t->rss_anon, &g);
		jnum(f, "rss_file_pages", t->rss_file, &g);
		jnum(f, "rss_shmem_pages", t->rss_shmem, &g);
		jnum(f, "pgtables_bytes", t->pgtables_bytes, &g);
		jnum(f, "swapents", t->swapents, &g);
		jnum(f, "oom_score_adj", t->oom_score_adj, &g);
		jstr(f, "name", t->name, &g);
		fputc('}', f);
	}
	fputc(']', f);
	jkey(f, "per_uid", first);
	fputc('[', f);
	for (size_t i = 0; i < v->nuids; i++) {
		bool g = true;
		fputs(i ? ",{" : "{", f);
		jnum(f, "uid", v->uids[i].uid, &g);
		jstr(f, "user", v->uids[i].user, &g);
		jnum(f, "tasks", (int64_t)v->uids[i].tasks, &g);
		jnum(f, "rss_bytes", (int64_t)v->uids[i].rss_bytes, &g);
		fputc('}', f);
	}
	fputc(']', f);
	jkey(f, "victim_is_largest_task", first);
	if (victim_largest(v) < 0)
		fputs("null", f);
	else
		fputs(victim_largest(v) ? "true" : "false", f);
	consumer_text(v, buf, sizeof(buf));
	jstr(f, "summary", buf, first);
	jkey(f, "missing", first);
	fputc('[', f);
	{
		static const char *const names[] = { "header", "task_table", "constraint", "victim" };
		bool g = true;
		for (int i = 0; i < 4; i++)
			if (ev->missing & (1u << i)) {
				fprintf(f, "%s\"%s\"", g ? "" : ",", names[i]);
				g = false;
			}
	}
	fputc(']', f);
}

void oom_render_json(FILE *f, const struct oom_view *v)
{
	const struct mg_oom_event *ev = v->ev;
	bool first = true;
	char t[64];

	fputc('{', f);
	jstr(f, "type", mg_oom_type_name(ev->type), &first);
	jkey(f, "time", &first);
	if (ev->has_time) {
		mg_logtime_format_iso(ev->usec, t, sizeof(t));
		json_str(f, t);
	} else
		fputs("null", f);
	jnum(f, "time_usec", ev->has_time ? ev->usec : NONE, &first);
	jnum(f, "monotonic_usec", ev->has_mono ? ev->mono_usec : NONE, &first);
	jstr(f, "host", ev->host, &first);
	jstr(f, "source", v->source, &first);
	jnum(f, "first_line", (int64_t)ev->first_line, &first);
	jnum(f, "last_line", (int64_t)ev->last_line, &first);
	jstr(f, "format", ev->format, &first);
	switch (ev->type) {
	case MG_OOM_KERNEL:
		json_kernel(f, v, &first);
		break;
	case MG_OOM_SYSTEMD_OOMD:
		jstr(f, "cgroup", ev->cgroup, &first);
		jgroup(f, "memguard_group", &v->oomd_group, &first);
		jnum(f, "pid", ev->victim_pid, &first);
		jstr(f, "reason", ev->reason, &first);
		break;
	case MG_OOM_EARLYOOM:
		jnum(f, "pid", ev->victim_pid, &first);
		jstr(f, "comm", ev->victim_comm, &first);
		jnum(f, "uid", ev->victim_uid, &first);
		jstr(f, "user", v->victim_user, &first);
		jstr(f, "signal", ev->signal, &first);
		jnum(f, "vmrss_bytes", ev->vmrss_mib == NONE ? NONE : ev->vmrss_mib << 20, &first);
		jnum(f, "oom_score", ev->badness, &first);
		jnum(f, "oom_score_adj", ev->victim_oom_score_adj, &first);
		break;
	case MG_OOM_SESSION_CLOSE:
		jstr(f, "user", ev->user, &first);
		jnum(f, "uid", ev->uid, &first);
		jstr(f, "group", ev->group, &first);
		jnum(f, "peak_bytes", ev->peak_bytes, &first);
		jnum(f, "oom_kills", ev->oom_kills, &first);
		jnum(f, "user_oom_kills", ev->user_oom_kills, &first);
		jnum(f, "user_max_events", ev->user_max_events, &first);
		jnum(f, "user_high_events", ev->user_high_events, &first);
		jnum(f, "user_peak_bytes", ev->user_peak_bytes, &first);
		jnum(f, "kernel_events_before", (int64_t)v->linked_events, &first);
		break;
	}
	fputs("}\n", f);
}
