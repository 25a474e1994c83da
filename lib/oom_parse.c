/* Assembling events from classified lines (oom_lines.c): which report a
 * line belongs to, when a report is complete, what it lacks. */
#include "oom_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logline.h"
#include "oom_lines.h"

/* ---- where each kind of line stands in a report ----
 *
 * stage: the order of parts in a report; a line of an earlier stage than
 * an event has reached belongs to another report. starts: a line that can
 * open a report whose beginning the log lost (rate limit, ring buffer). */

static const struct kind_info {
	unsigned char stage;
	bool starts, repeats;
} kinds[K_COUNT] = {
	[K_HEADER] = { 0, true, false },	[K_CPUSET] = { 1, false, false },
	[K_CPU] = { 1, false, false },		[K_TASK_IN] = { 2, true, false },
	[K_MEMCG_USAGE] = { 2, true, false },	[K_SWAP] = { 2, false, false },
	[K_MEMCG_STATS] = { 2, true, true },	[K_TASKS_TITLE] = { 3, true, false },
	[K_TABLE_HEADER] = { 3, true, false },	[K_TABLE_ROW] = { 4, true, true },
	[K_SELECT] = { 5, true, false },	[K_SUMMARY] = { 5, true, false },
	[K_KILLED] = { 6, true, false },	[K_NO_KILLABLE] = { 6, true, false },
	[K_PANIC] = { 6, true, false },		[K_OOM_GROUP] = { 7, false, false },
	[K_REAPED] = { 8, false, true },	[K_REAP_FAILED] = { 8, false, true },
};

enum ftype { T_NONE, T_NUM, T_STR };

#define NUM(f, m) [f] = { T_NUM, offsetof(struct mg_oom_event, m) }
#define STR(f, m) [f] = { T_STR, offsetof(struct mg_oom_event, m) }
static const struct field_desc {
	enum ftype type;
	size_t off;
} fields[F_COUNT] = {
	STR(F_TRIG_COMM, trigger_comm),	 STR(F_GFP, gfp_mask),		 STR(F_NODEMASK, nodemask),
	NUM(F_ORDER, trigger_order),	 NUM(F_TRIG_ADJ, trigger_oom_score_adj), STR(F_CPUSET, cpuset),
	STR(F_MEMS, mems_allowed),	 NUM(F_CPU_PID, trigger_pid),	 NUM(F_CPU_UID, trigger_uid),
	STR(F_TASK_MEMCG, task_memcg),	 STR(F_LIMIT_OF, oom_memcg),	 NUM(F_USAGE, memcg_usage_kb),
	NUM(F_LIMIT, memcg_limit_kb),	 NUM(F_FAILCNT, memcg_failcnt),	 NUM(F_SWAP_USAGE, swap_usage_kb),
	NUM(F_SWAP_LIMIT, swap_limit_kb), STR(F_STATS_MEMCG, oom_memcg), NUM(F_SEL_PID, selected_pid),
	STR(F_SEL_COMM, selected_comm),	 NUM(F_SEL_SCORE, selected_score), NUM(F_VPID, victim_pid),
	STR(F_VCOMM, victim_comm),	 NUM(F_VUID, victim_uid),	 NUM(F_TOTAL_VM, total_vm_kb),
	NUM(F_ANON, anon_rss_kb),	 NUM(F_FILE, file_rss_kb),	 NUM(F_SHMEM, shmem_rss_kb),
	NUM(F_PGTABLES, pgtables_kb),	 NUM(F_VADJ, victim_oom_score_adj), STR(F_GROUP, oom_group),
	NUM(F_REAP_ANON, reaped_anon_kb), NUM(F_REAP_FILE, reaped_file_kb), NUM(F_REAP_SHMEM, reaped_shmem_kb),
	STR(F_OOMD_CGROUP, cgroup),	 STR(F_OOMD_REASON, reason),	 STR(F_EO_SIGNAL, signal),
	NUM(F_EO_PID, victim_pid),	 NUM(F_EO_UID, victim_uid),	 STR(F_EO_COMM, victim_comm),
	NUM(F_EO_BADNESS, badness),	 NUM(F_EO_ADJ, victim_oom_score_adj), NUM(F_EO_RSS, vmrss_mib),
	STR(F_PAM_USER, user),		 NUM(F_PAM_UID, uid),
};

struct inflight {
	struct mg_oom_event ev;
	unsigned char stage;
	bool seen[K_COUNT];
	bool ready; /* userspace events and records: complete at once */
	int constraint_rank;
	int gen_rank; /* smaller: newer */
	unsigned long touched, finished; /* line numbers */
	struct layout layout;
	bool has_layout;
};

#define MAX_INFLIGHT 16
#define REAP_WINDOW 64	       /* lines a killed event waits for its reaper line */
#define STALE_WINDOW 20000     /* lines an unfinished report waits for more */

struct mg_oom_parser {
	struct mg_oom_options opt;
	mg_oom_emit_fn emit;
	void *data;
	unsigned long lineno;
	struct inflight *q[MAX_INFLIGHT];
	size_t nq;
	struct mg_oom_lines lines;
	int64_t oomd_pid;
	unsigned long oomd_line;
};

/* ---- small helpers ---- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}


static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static bool same_host(const struct mg_oom_event *ev, const struct mg_logline *ll)
{
	if (!ev->host || !ll->host)
		return !ev->host && !ll->host;
	return strlen(ev->host) == ll->host_len && memcmp(ev->host, ll->host, ll->host_len) == 0;
}

static void event_init(struct mg_oom_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	int64_t *nums[] = {
		&ev->trigger_pid, &ev->trigger_uid, &ev->trigger_order, &ev->trigger_oom_score_adj, &ev->memcg_usage_kb,
		&ev->memcg_limit_kb, &ev->memcg_failcnt, &ev->swap_usage_kb, &ev->swap_limit_kb, &ev->selected_pid,
		&ev->selected_score, &ev->victim_pid, &ev->victim_uid, &ev->victim_oom_score_adj, &ev->total_vm_kb,
		&ev->anon_rss_kb, &ev->file_rss_kb, &ev->shmem_rss_kb, &ev->pgtables_kb, &ev->reaped_anon_kb,
		&ev->reaped_file_kb, &ev->reaped_shmem_kb, &ev->vmrss_mib, &ev->badness, &ev->uid, &ev->peak_bytes,
		&ev->oom_kills, &ev->user_oom_kills, &ev->user_max_events, &ev->user_high_events, &ev->user_peak_bytes,
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		*nums[i] = MG_OOM_NONE;
}

static void event_free(struct mg_oom_event *ev)
{
	char **strs[] = { &ev->host, &ev->trigger_comm, &ev->gfp_mask, &ev->nodemask, &ev->cpuset, &ev->mems_allowed,
			  &ev->oom_memcg, &ev->task_memcg, &ev->selected_comm, &ev->victim_comm, &ev->oom_group,
			  &ev->cgroup, &ev->reason, &ev->signal, &ev->user, &ev->group };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	for (size_t i = 0; i < ev->ntasks; i++)
		free(ev->tasks[i].name);
	free(ev->tasks);
	for (size_t i = 0; i < ev->ngroup_kills; i++)
		free(ev->group_kills[i].comm);
	free(ev->group_kills);
}

/* The first value wins: a later line of the same kind (a v1 hierarchy's
 * per-level stats) does not overwrite what the report said first. */
static int set_field(struct mg_oom_event *ev, enum field f, const struct cap *c)
{
	const struct field_desc *d = &fields[f];
	char *base = (char *)ev;

	if (d->type == T_NUM) {
		int64_t *v = (int64_t *)(base + d->off);
		if (*v == MG_OOM_NONE)
			*v = mg_oom_num(c);
	} else if (d->type == T_STR) {
		char **s = (char **)(base + d->off);
		if (!*s && !(*s = dupn(c->s, c->n)))
			return -ENOMEM;
	}
	return 0;
}

static void set_constraint(struct inflight *in, enum mg_oom_constraint c, int rank, const char *from)
{
	if (rank <= in->constraint_rank)
		return;
	in->constraint_rank = rank;
	in->ev.constraint = c;
	in->ev.constraint_from = from;
}

/* "Memory cgroup out of memory" / "Out of memory" before a kill line. */
static void constraint_from_prefix(struct inflight *in, const struct cap *c)
{
	static const char memcg[] = "Memory cgroup out of memory";

	if (c->n >= sizeof(memcg) - 1 && memcmp(c->s, memcg, sizeof(memcg) - 1) == 0)
		set_constraint(in, MG_OOM_CONSTRAINT_MEMCG, 1, "kill line");
	else if (c->n >= 13 && memcmp(c->s, "Out of memory", 13) == 0)
		set_constraint(in, MG_OOM_CONSTRAINT_GLOBAL, 1, "kill line");
}

/* "constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,
 * oom_memcg=/a,task_memcg=/a/b,task=x,pid=1,uid=0": a piece without '='
 * (a list such as mems_allowed=0,2) continues the value before it. */
static int summary_value(struct inflight *in, const char *key, size_t klen, const char *val, const char *vend)
{
	static const struct {
		const char *key;
		enum field f;
	} keys[] = {
		{ "nodemask", F_NODEMASK }, { "cpuset", F_CPUSET },	    { "mems_allowed", F_MEMS },
		{ "oom_memcg", F_LIMIT_OF }, { "task_memcg", F_TASK_MEMCG }, { "task", F_VCOMM },
		{ "pid", F_VPID },	    { "uid", F_VUID },
	};
	static const struct {
		const char *name;
		enum mg_oom_constraint c;
	} constraints[] = {
		{ "CONSTRAINT_MEMCG", MG_OOM_CONSTRAINT_MEMCG },
		{ "CONSTRAINT_NONE", MG_OOM_CONSTRAINT_GLOBAL },
		{ "CONSTRAINT_CPUSET", MG_OOM_CONSTRAINT_CPUSET },
		{ "CONSTRAINT_MEMORY_POLICY", MG_OOM_CONSTRAINT_MEMPOLICY },
	};
	struct cap v = { val, (size_t)(vend - val) };

	if (!v.n)
		return 0;
	if (klen == 10 && memcmp(key, "constraint", 10) == 0)
		for (size_t i = 0; i < sizeof(constraints) / sizeof(constraints[0]); i++)
			if (strlen(constraints[i].name) == v.n && memcmp(constraints[i].name, v.s, v.n) == 0)
				set_constraint(in, constraints[i].c, 3, "summary");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].key) == klen && memcmp(keys[i].key, key, klen) == 0)
			return set_field(&in->ev, keys[i].f, &v);
	return 0;
}

/* "constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,
 * oom_memcg=/a,task_memcg=/a/b,task=x,pid=1,uid=0": a piece without '='
 * (a list such as mems_allowed=0,2) continues the value before it. */
static int parse_summary(struct inflight *in, const struct cap *c)
{
	const char *s = c->s, *e = c->s + c->n, *key = NULL, *val = NULL;
	size_t klen = 0;

	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(e - s));
		const char *end = comma ? comma : e;
		const char *eq = memchr(s, '=', (size_t)(end - s));
		bool flag = end - s == 10 && memcmp(s, "global_oom", 10) == 0;

		if (eq || flag) {
			if (key && summary_value(in, key, klen, val, s - 1) < 0)
				return -ENOMEM;
			key = NULL;
			if (eq) {
				key = s;
				klen = (size_t)(eq - s);
				val = eq + 1;
			} else
				set_constraint(in, MG_OOM_CONSTRAINT_GLOBAL, 3, "summary");
		}
		if (!comma)
			break;
		s = comma + 1;
	}
	return key ? summary_value(in, key, klen, val, e) : 0;
}

/* "group=/sys/fs/cgroup/memguard/user-1001/session-1-2 peak=123 oom_kills=1":
 * unknown keys and values that are not decimal are left alone. */
static int parse_session_kv(struct mg_oom_event *ev, const struct cap *c)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "peak", offsetof(struct mg_oom_event, peak_bytes) },
		{ "oom_kills", offsetof(struct mg_oom_event, oom_kills) },
		{ "user_oom_kills", offsetof(struct mg_oom_event, user_oom_kills) },
		{ "user_max_events", offsetof(struct mg_oom_event, user_max_events) },
		{ "user_high_events", offsetof(struct mg_oom_event, user_high_events) },
		{ "user_peak", offsetof(struct mg_oom_event, user_peak_bytes) },
	};
	const char *s = c->s, *e = c->s + c->n;

	while (s < e) {
		const char *t = s, *eq;
		while (t < e && !blank(*t))
			t++;
		eq = memchr(s, '=', (size_t)(t - s));
		if (eq) {
			struct cap v = { eq + 1, (size_t)(t - eq - 1) };
			size_t klen = (size_t)(eq - s);
			if (klen == 5 && memcmp(s, "group", 5) == 0 && !ev->group && v.n && !(ev->group = dupn(v.s, v.n)))
				return -ENOMEM;
			for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
				int64_t *dst = (int64_t *)((char *)ev + keys[i].off);
				if (strlen(keys[i].key) == klen && memcmp(keys[i].key, s, klen) == 0 && *dst == MG_OOM_NONE) {
					int64_t x = mg_oom_num(&v);
					*dst = x >= 0 ? x : MG_OOM_NONE;
				}
			}
		}
		while (t < e && blank(*t))
			t++;
		s = t;
	}
	return 0;
}

static const struct layout *layout_for(const struct inflight *in, size_t nv, struct layout *tmp)
{
	if (in && in->has_layout && in->layout.n == nv)
		return &in->layout;
	return mg_oom_layout_by_count(nv, tmp);
}

static int add_row(struct mg_oom_parser *p, struct inflight *in, const struct parsed_row *r)
{
	struct mg_oom_event *ev = &in->ev;
	size_t max = p->opt.max_tasks ? p->opt.max_tasks : 65536;
	struct layout tmp;
	const struct layout *l = layout_for(in, r->nv, &tmp);
	struct mg_oom_task *t;

	if (ev->ntasks >= max) {
		ev->tasks_dropped++;
		return 0;
	}
	if ((ev->ntasks & (ev->ntasks - 1)) == 0 || ev->ntasks == 0) {
		size_t cap = ev->ntasks ? ev->ntasks * 2 : 16;
		struct mg_oom_task *grown = realloc(ev->tasks, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ev->tasks = grown;
	}
	t = &ev->tasks[ev->ntasks];
	t->pid = r->pid;
	t->uid = t->tgid = t->total_vm = t->rss = t->rss_anon = t->rss_file = t->rss_shmem = t->pgtables_bytes =
		t->swapents = t->oom_score_adj = MG_OOM_NONE;
	for (size_t i = 0; i < l->n && i < r->nv; i++) {
		int64_t v = r->v[i];
		switch (l->c[i]) {
		case C_UID: t->uid = v; break;
		case C_TGID: t->tgid = v; break;
		case C_TOTAL_VM: t->total_vm = v; break;
		case C_RSS: t->rss = v; break;
		case C_RSS_ANON: t->rss_anon = v; break;
		case C_RSS_FILE: t->rss_file = v; break;
		case C_RSS_SHMEM: t->rss_shmem = v; break;
		case C_PGTABLES: t->pgtables_bytes = v; break;
		case C_SWAPENTS: t->swapents = v; break;
		case C_ADJ: t->oom_score_adj = v; break;
		default: break;
		}
	}
	if (!(t->name = dupn(r->name, r->name_len)))
		return -ENOMEM;
	ev->ntasks++;
	return 0;
}

/* ---- assembling events ---- */

static bool knows_pid(const struct mg_oom_event *ev, int64_t pid)
{
	if (pid == MG_OOM_NONE)
		return false;
	if (ev->selected_pid == pid || ev->victim_pid == pid || ev->trigger_pid == pid)
		return true;
	for (size_t i = 0; i < ev->ntasks; i++)
		if (ev->tasks[i].pid == pid)
			return true;
	for (size_t i = 0; i < ev->ngroup_kills; i++)
		if (ev->group_kills[i].pid == pid)
			return true;
	return false;
}

static bool accepts(const struct inflight *in, enum kind k, int64_t pid)
{
	const struct mg_oom_event *ev = &in->ev;

	if (ev->type != MG_OOM_KERNEL || in->ready)
		return false;
	if (k == K_KILLED && in->seen[K_KILLED])
		return ev->oom_group != NULL; /* the rest of a memory.oom.group */
	if (k == K_OOM_GROUP)
		return in->seen[K_KILLED] && !in->seen[K_OOM_GROUP];
	if (ev->outcome != MG_OOM_OUTCOME_UNKNOWN)
		return false;
	if (kinds[k].stage < in->stage || (!kinds[k].repeats && in->seen[k]))
		return false;
	if (k == K_CPU || k == K_CPUSET)
		return in->seen[K_HEADER] && in->stage <= 1;
	/* 5.0+ names the victim before killing it */
	if (k == K_KILLED && in->seen[K_SUMMARY] && ev->victim_pid != MG_OOM_NONE && ev->victim_pid != pid)
		return false;
	return true;
}

static struct inflight *new_event(struct mg_oom_parser *p, enum mg_oom_type type, const struct mg_logline *ll);

static void set_time(struct mg_oom_parser *p, struct mg_oom_event *ev, const struct mg_logline *ll)
{
	if (ll->has_time) {
		ev->has_time = true;
		ev->usec = ll->usec;
	}
	if (ll->has_mono) {
		ev->has_mono = true;
		ev->mono_usec = ll->mono_usec;
		if (!ev->has_time && p->opt.has_boot_time) {
			ev->has_time = true;
			ev->usec = p->opt.boot_usec + ll->mono_usec;
		}
	}
}

static void emit_one(struct mg_oom_parser *p, struct inflight *in)
{
	struct mg_oom_event *ev = &in->ev;

	if (ev->type == MG_OOM_KERNEL) {
		if (!in->seen[K_HEADER])
			ev->missing |= MG_OOM_MISSING_HEADER;
		if (!ev->ntasks)
			ev->missing |= MG_OOM_MISSING_TABLE;
		if (ev->constraint == MG_OOM_CONSTRAINT_UNKNOWN)
			ev->missing |= MG_OOM_MISSING_CONSTRAINT;
		if (ev->outcome == MG_OOM_OUTCOME_UNKNOWN)
			ev->missing |= MG_OOM_MISSING_VICTIM;
	}
	ev->format = in->gen_rank >= 0 ? mg_oom_gen_label((size_t)in->gen_rank) : NULL;
	p->emit(ev, p->data);
	event_free(ev);
	free(in);
}

/* The oldest event goes once nothing more can belong to it. */
static bool head_ready(struct mg_oom_parser *p, bool force)
{
	struct inflight *in = p->q[0];

	if (force || in->ready || p->nq >= MAX_INFLIGHT)
		return true;
	if (in->ev.outcome != MG_OOM_OUTCOME_UNKNOWN) {
		if (in->ev.reaped != MG_OOM_REAP_UNSEEN || p->lineno - in->finished > REAP_WINDOW)
			return true;
		return false;
	}
	if (p->lineno - in->touched > STALE_WINDOW)
		return true;
	/* Two later reports of the same host have ended: this one was cut. */
	unsigned later = 0;
	for (size_t i = 1; i < p->nq; i++)
		if (p->q[i]->ev.type == MG_OOM_KERNEL && p->q[i]->ev.outcome != MG_OOM_OUTCOME_UNKNOWN &&
		    ((!p->q[i]->ev.host && !in->ev.host) ||
		     (p->q[i]->ev.host && in->ev.host && strcmp(p->q[i]->ev.host, in->ev.host) == 0)))
			later++;
	return later >= 2;
}

static void flush(struct mg_oom_parser *p, bool force)
{
	while (p->nq && head_ready(p, force)) {
		struct inflight *in = p->q[0];
		memmove(p->q, p->q + 1, (p->nq - 1) * sizeof(p->q[0]));
		p->nq--;
		emit_one(p, in);
	}
}

static struct inflight *new_event(struct mg_oom_parser *p, enum mg_oom_type type, const struct mg_logline *ll)
{
	struct inflight *in;

	if (p->nq >= MAX_INFLIGHT)
		flush(p, false);
	if (p->nq >= MAX_INFLIGHT) {
		struct inflight *old = p->q[0];
		memmove(p->q, p->q + 1, (p->nq - 1) * sizeof(p->q[0]));
		p->nq--;
		emit_one(p, old);
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	event_init(&in->ev);
	in->ev.type = type;
	in->ev.first_line = in->ev.last_line = p->lineno;
	in->gen_rank = (int)mg_oom_ngens();
	in->touched = p->lineno;
	if (ll->host && !(in->ev.host = dupn(ll->host, ll->host_len))) {
		free(in);
		return NULL;
	}
	set_time(p, &in->ev, ll);
	p->q[p->nq++] = in;
	return in;
}

/* The pid a line is about, which picks the report it belongs to. */
static int64_t line_pid(const struct row *r, const struct cap *caps, int ncaps)
{
	for (int i = 0; i < ncaps && i < 10; i++)
		if (r->f[i] == F_VPID || r->f[i] == F_SEL_PID || r->f[i] == F_REAP_PID || r->f[i] == F_CPU_PID)
			return mg_oom_num(&caps[i]);
	return MG_OOM_NONE;
}

static int fill(struct mg_oom_parser *p, struct inflight *in, enum kind k, const struct row *r, const struct cap *caps,
		int ncaps)
{
	struct mg_oom_event *ev = &in->ev;
	bool member = k == K_KILLED && in->seen[K_KILLED];

	if (member) {
		struct mg_oom_kill *grown;
		int64_t pid = MG_OOM_NONE;
		const struct cap *comm = NULL;

		for (int i = 0; i < ncaps; i++) {
			if (r->f[i] == F_VPID)
				pid = mg_oom_num(&caps[i]);
			if (r->f[i] == F_VCOMM)
				comm = &caps[i];
		}
		bool dup = pid == ev->victim_pid;
		for (size_t i = 0; i < ev->ngroup_kills; i++)
			dup = dup || ev->group_kills[i].pid == pid;
		if (dup)
			return 0;
		if (ev->ngroup_kills >= 65536)
			return 0;
		grown = realloc(ev->group_kills, (ev->ngroup_kills + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ev->group_kills = grown;
		grown[ev->ngroup_kills].pid = pid;
		grown[ev->ngroup_kills].comm = comm ? dupn(comm->s, comm->n) : NULL;
		if (comm && !grown[ev->ngroup_kills].comm)
			return -ENOMEM;
		ev->ngroup_kills++;
		return 0;
	}
	for (int i = 0; i < ncaps; i++) {
		enum field f = r->f[i];
		switch (f) {
		case F_NONE:
			break;
		case F_SEL_PREFIX:
		case F_KILL_PREFIX:
			constraint_from_prefix(in, &caps[i]);
			break;
		case F_SUMMARY:
			if (parse_summary(in, &caps[i]) < 0)
				return -ENOMEM;
			break;
		case F_PAM_KV:
			if (parse_session_kv(ev, &caps[i]) < 0)
				return -ENOMEM;
			break;
		case F_REAP_PID:
		case F_REAP_COMM:
			break;
		default:
			if (set_field(ev, f, &caps[i]) < 0)
				return -ENOMEM;
		}
	}
	switch (k) {
	case K_TASK_IN:
		set_constraint(in, MG_OOM_CONSTRAINT_MEMCG, 2, "Task in line");
		break;
	case K_MEMCG_USAGE:
	case K_MEMCG_STATS:
		set_constraint(in, MG_OOM_CONSTRAINT_MEMCG, 2, "memcg usage lines");
		break;
	case K_TASKS_TITLE:
		ev->table_title = true;
		break;
	case K_TABLE_HEADER:
		ev->table_header = true;
		if (r->layout) {
			in->layout = *r->layout;
			in->has_layout = true;
		}
		break;
	case K_KILLED:
		ev->outcome = MG_OOM_OUTCOME_KILLED;
		in->finished = p->lineno;
		break;
	case K_NO_KILLABLE:
		ev->outcome = MG_OOM_OUTCOME_NO_KILLABLE;
		in->finished = p->lineno;
		break;
	case K_PANIC:
		ev->outcome = MG_OOM_OUTCOME_PANIC;
		in->finished = p->lineno;
		break;
	case K_REAPED:
		ev->reaped = MG_OOM_REAPED;
		break;
	case K_REAP_FAILED:
		ev->reaped = MG_OOM_REAP_FAILED;
		break;
	default:
		break;
	}
	return 0;
}

static int assemble(struct mg_oom_parser *p, size_t gi, const struct row *r, const struct cap *caps, int ncaps,
		    const struct mg_logline *ll, const struct parsed_row *prow)
{
	enum kind k = r->kind;
	int64_t pid = prow ? MG_OOM_NONE : line_pid(r, caps, ncaps);
	struct inflight *best = NULL;
	int best_score = 0;
	int ret;

	if (k == K_OOMD_ATTEMPT) {
		p->oomd_pid = mg_oom_num(&caps[0]);
		p->oomd_line = p->lineno;
		return 0;
	}
	if (k == K_OOMD_KILLED || k == K_EARLYOOM || k == K_SESSION_CLOSE) {
		enum mg_oom_type t = k == K_OOMD_KILLED ? MG_OOM_SYSTEMD_OOMD
				     : k == K_EARLYOOM	? MG_OOM_EARLYOOM
							: MG_OOM_SESSION_CLOSE;
		best = new_event(p, t, ll);
		if (!best)
			return -ENOMEM;
		best->ready = true;
		best->gen_rank = (int)gi;
		if (k == K_OOMD_KILLED && p->oomd_pid != MG_OOM_NONE && p->lineno - p->oomd_line <= 8)
			best->ev.victim_pid = p->oomd_pid;
		p->oomd_pid = MG_OOM_NONE;
		return fill(p, best, k, r, caps, ncaps);
	}
	if (k == K_REAPED || k == K_REAP_FAILED) {
		for (size_t i = p->nq; i-- > 0;) {
			struct mg_oom_event *ev = &p->q[i]->ev;
			if (ev->type != MG_OOM_KERNEL || !same_host(ev, ll) || ev->reaped != MG_OOM_REAP_UNSEEN)
				continue;
			bool hit = ev->victim_pid == pid && ev->outcome == MG_OOM_OUTCOME_KILLED;
			for (size_t j = 0; !hit && j < ev->ngroup_kills; j++)
				hit = ev->group_kills[j].pid == pid;
			if (hit) {
				/* Only the victim's own reaping tells whether it was reclaimed. */
				if (ev->victim_pid == pid)
					fill(p, p->q[i], k, r, caps, ncaps);
				p->q[i]->ev.last_line = p->lineno;
				return 0;
			}
		}
		return 0;
	}
	for (size_t i = p->nq; i-- > 0;) {
		struct inflight *in = p->q[i];
		int score;

		if (!same_host(&in->ev, ll) || !accepts(in, k, pid))
			continue;
		score = 1 + (knows_pid(&in->ev, pid) ? 2 : 0);
		if (k == K_TABLE_ROW && in->stage == 4)
			score++; /* the table already open */
		if (score > best_score) {
			best = in;
			best_score = score;
		}
	}
	if (!best) {
		if (!kinds[k].starts)
			return 0;
		if (!(best = new_event(p, MG_OOM_KERNEL, ll)))
			return -ENOMEM;
	}
	if (!best->ev.has_time && !best->ev.has_mono)
		set_time(p, &best->ev, ll);
	if (k == K_TABLE_ROW)
		ret = add_row(p, best, prow);
	else
		ret = fill(p, best, k, r, caps, ncaps);
	best->seen[k] = true;
	if (kinds[k].stage > best->stage && k != K_KILLED)
		best->stage = kinds[k].stage;
	if (k == K_KILLED && best->stage < 6)
		best->stage = 6;
	if ((int)gi < best->gen_rank)
		best->gen_rank = (int)gi;
	best->touched = p->lineno;
	best->ev.last_line = p->lineno;
	return ret;
}

/* ---- classifying ---- */

static int classify(struct mg_oom_parser *p, const char *s, size_t len, const struct mg_logline *ll)
{
	struct oom_line line;
	size_t want = 0;

	for (size_t i = p->nq; i-- > 0;)
		if (p->q[i]->has_layout && p->q[i]->stage == 4 && same_host(&p->q[i]->ev, ll)) {
			want = p->q[i]->layout.n;
			break;
		}
	if (!mg_oom_lines_classify(&p->lines, s, len, ll, want, &line))
		return 0;
	return assemble(p, line.gen, line.row, line.caps, line.ncaps, ll, line.table_row ? &line.prow : NULL);
}

static int feed_split(struct mg_oom_parser *p, struct mg_logline *ll)
{
	const char *s = ll->msg, *e = ll->msg + ll->msg_len;
	int r = 0;

	p->lineno++;
	/* rsyslog writes a message's newlines as "#012" */
	while (r == 0) {
		const char *cut = s;
		while ((cut = memchr(cut, '#', (size_t)(e - cut))) && (e - cut < 4 || memcmp(cut, "#012", 4) != 0))
			cut++;
		const char *end = cut ? cut : e;
		const char *b = s;
		while (b < end && blank(*b))
			b++;
		r = classify(p, b, (size_t)(end - b), ll);
		if (!cut)
			break;
		s = cut + 4;
	}
	flush(p, false);
	return r;
}

int mg_oom_feed(struct mg_oom_parser *p, const char *line, size_t len)
{
	struct mg_logline ll;

	mg_logline_split(line, len, p->opt.now_usec, &ll);
	return feed_split(p, &ll);
}

int mg_oom_feed_mono(struct mg_oom_parser *p, const char *msg, size_t len, int64_t mono_usec)
{
	struct mg_logline ll;

	mg_logline_split(msg, len, p->opt.now_usec, &ll);
	ll.has_mono = true;
	ll.mono_usec = mono_usec;
	ll.has_time = false;
	return feed_split(p, &ll);
}

int mg_oom_finish(struct mg_oom_parser *p)
{
	flush(p, true);
	return 0;
}

int mg_oom_parser_new(const struct mg_oom_options *opt, mg_oom_emit_fn emit, void *data, struct mg_oom_parser **out)
{
	struct mg_oom_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	if (opt)
		p->opt = *opt;
	p->emit = emit;
	p->data = data;
	p->oomd_pid = MG_OOM_NONE;
	mg_oom_lines_init(&p->lines);
	*out = p;
	return 0;
}

void mg_oom_parser_free(struct mg_oom_parser *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nq; i++) {
		event_free(&p->q[i]->ev);
		free(p->q[i]);
	}
	free(p);
}

uint64_t mg_oom_page_bytes(const struct mg_oom_event *ev, bool *inferred)
{
	int64_t kb = 0;

	*inferred = false;
	if (ev->anon_rss_kb != MG_OOM_NONE)
		kb += ev->anon_rss_kb;
	if (ev->file_rss_kb != MG_OOM_NONE)
		kb += ev->file_rss_kb;
	if (ev->shmem_rss_kb != MG_OOM_NONE)
		kb += ev->shmem_rss_kb;
	for (size_t i = 0; kb > 0 && i < ev->ntasks; i++) {
		const struct mg_oom_task *t = &ev->tasks[i];
		if (t->pid != ev->victim_pid || t->rss == MG_OOM_NONE || t->rss < 64)
			continue;
		/* the nearest of 4, 16 and 64 KiB on a log scale */
		double ratio = (double)kb / (double)t->rss;
		*inferred = true;
		if (ratio < 8)
			return 4096;
		if (ratio < 32)
			return 16384;
		return 65536;
	}
	return 4096;
}

const char *mg_oom_constraint_name(enum mg_oom_constraint c)
{
	switch (c) {
	case MG_OOM_CONSTRAINT_MEMCG: return "memcg";
	case MG_OOM_CONSTRAINT_GLOBAL: return "global";
	case MG_OOM_CONSTRAINT_CPUSET: return "cpuset";
	case MG_OOM_CONSTRAINT_MEMPOLICY: return "mempolicy";
	default: return NULL;
	}
}

const char *mg_oom_type_name(enum mg_oom_type t)
{
	switch (t) {
	case MG_OOM_KERNEL: return "kernel";
	case MG_OOM_SYSTEMD_OOMD: return "systemd-oomd";
	case MG_OOM_EARLYOOM: return "earlyoom";
	case MG_OOM_SESSION_CLOSE: return "session-close";
	}
	return "unknown";
}

const char *mg_oom_outcome_name(enum mg_oom_outcome o)
{
	switch (o) {
	case MG_OOM_OUTCOME_KILLED: return "killed";
	case MG_OOM_OUTCOME_NO_KILLABLE: return "no-killable-process";
	case MG_OOM_OUTCOME_PANIC: return "panic";
	default: return NULL;
	}
}
