#include "oom_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logline.h"

/* ---- line kinds and where they stand in a report ---- */

enum kind {
	K_HEADER,      /* "X invoked oom-killer: gfp_mask=..." */
	K_CPUSET,      /* "X cpuset=/ mems_allowed=0" (up to 4.19) */
	K_CPU,	       /* "CPU: 3 PID: 23793 Comm: leaker ..." */
	K_TASK_IN,     /* "Task in A killed as a result of limit of B" (up to 4.19) */
	K_MEMCG_USAGE, /* "memory: usage 524288kB, limit 524288kB, failcnt 1" */
	K_SWAP,	       /* "memory+swap: usage ..." (v1) or "swap: usage ..." (v2) */
	K_MEMCG_STATS, /* "Memory cgroup stats for G:" */
	K_TASKS_TITLE, /* "Tasks state (memory values in pages):" */
	K_TABLE_HEADER,
	K_TABLE_ROW,
	K_SELECT,      /* "...: Kill process N (c) score S or sacrifice child" (up to 5.0) */
	K_SUMMARY,     /* "oom-kill:constraint=...,task=c,pid=N,uid=U" (5.0+) */
	K_KILLED,
	K_NO_KILLABLE,
	K_PANIC,
	K_OOM_GROUP,   /* "Tasks in G are going to be killed due to memory.oom.group set" */
	K_REAPED,
	K_REAP_FAILED,
	K_OOMD_ATTEMPT, /* systemd-oomd: "oomd attempting to kill N with KILL" */
	K_OOMD_KILLED,
	K_EARLYOOM,
	K_SESSION_CLOSE,
	K_COUNT
};

/* stage: the order of parts in a report; a line of an earlier stage than
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

/* ---- fields a capture fills ---- */

enum field {
	F_NONE,
	F_TRIG_COMM, F_GFP, F_NODEMASK, F_ORDER, F_TRIG_ADJ, F_CPUSET, F_MEMS, F_CPU_PID, F_CPU_UID,
	F_TASK_MEMCG, F_LIMIT_OF, F_USAGE, F_LIMIT, F_FAILCNT, F_SWAP_USAGE, F_SWAP_LIMIT, F_STATS_MEMCG,
	F_SEL_PREFIX, F_SEL_PID, F_SEL_COMM, F_SEL_SCORE,
	F_SUMMARY,
	F_KILL_PREFIX, F_VPID, F_VCOMM, F_VUID, F_TOTAL_VM, F_ANON, F_FILE, F_SHMEM, F_PGTABLES, F_VADJ,
	F_GROUP,
	F_REAP_PID, F_REAP_COMM, F_REAP_ANON, F_REAP_FILE, F_REAP_SHMEM,
	F_OOMD_CGROUP, F_OOMD_REASON, F_OOMD_PID,
	F_EO_SIGNAL, F_EO_PID, F_EO_UID, F_EO_COMM, F_EO_BADNESS, F_EO_ADJ, F_EO_RSS,
	F_PAM_USER, F_PAM_UID, F_PAM_KV,
	F_COUNT
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

/* ---- the task table's columns ---- */

enum col { C_SKIP, C_UID, C_TGID, C_TOTAL_VM, C_RSS, C_RSS_ANON, C_RSS_FILE, C_RSS_SHMEM, C_PGTABLES, C_SWAPENTS, C_ADJ };
#define MAX_COLS 12

struct layout {
	unsigned char n;
	unsigned char c[MAX_COLS];
};

static const struct layout lay_3_10 = { 7, { C_UID, C_TGID, C_TOTAL_VM, C_RSS, C_SKIP, C_SWAPENTS, C_ADJ } };
static const struct layout lay_4_0 = { 8, { C_UID, C_TGID, C_TOTAL_VM, C_RSS, C_SKIP, C_SKIP, C_SWAPENTS, C_ADJ } };
static const struct layout lay_4_15 = { 7, { C_UID, C_TGID, C_TOTAL_VM, C_RSS, C_PGTABLES, C_SWAPENTS, C_ADJ } };
static const struct layout lay_6_8 = { 10, { C_UID, C_TGID, C_TOTAL_VM, C_RSS, C_RSS_ANON, C_RSS_FILE, C_RSS_SHMEM,
					     C_PGTABLES, C_SWAPENTS, C_ADJ } };

/* ---- the tables: one per format generation ----
 *
 * Patterns: literal text; ' ' matches one or more blanks; %n an integer,
 * %t a token (to a blank or ','), %w a word (to a blank), %s text up to
 * what follows (tried at every place it can end; at the end of the
 * pattern: the rest of the line), %* the same without capture. A pattern
 * need not reach the end of the line: the newest generation is tried
 * first, so a longer line matches its own row, and a line with fields a
 * later kernel adds still matches the last row known. */

struct row {
	enum kind kind;
	const char *pattern;
	enum field f[10];
	const struct layout *layout; /* K_TABLE_HEADER */
};

#define KILLED_TAIL "total-vm:%nkB, anon-rss:%nkB, file-rss:%nkB"
#define KILLED_F F_TOTAL_VM, F_ANON, F_FILE

static const struct row rows_3_10[] = {
	{ .kind = K_HEADER, .pattern = "%s invoked oom-killer: gfp_mask=%t, order=%n, oom_score_adj=%n", .f = { F_TRIG_COMM, F_GFP, F_ORDER, F_TRIG_ADJ } },
	{ .kind = K_CPUSET, .pattern = "%* cpuset=%w mems_allowed=%w", .f = { F_CPUSET, F_MEMS } },
	{ .kind = K_CPU, .pattern = "CPU: %n PID: %n Comm: ", .f = { F_NONE, F_CPU_PID } },
	{ .kind = K_TASK_IN, .pattern = "Task in %s killed as a result of limit of %s", .f = { F_TASK_MEMCG, F_LIMIT_OF } },
	{ .kind = K_MEMCG_USAGE, .pattern = "memory: usage %nkB, limit %nkB, failcnt %n", .f = { F_USAGE, F_LIMIT, F_FAILCNT } },
	{ .kind = K_SWAP, .pattern = "memory+swap: usage %nkB, limit %nkB,", .f = { F_SWAP_USAGE, F_SWAP_LIMIT } },
	{ .kind = K_MEMCG_STATS, .pattern = "Memory cgroup stats for %s:", .f = { F_STATS_MEMCG } },
	{ .kind = K_TABLE_HEADER, .pattern = "[ pid ] uid tgid total_vm rss nr_ptes swapents oom_score_adj name", .f = { F_NONE }, .layout = &lay_3_10 },
	{ .kind = K_SELECT, .pattern = "%s: Kill process %n (%s) score %n or sacrifice child", .f = { F_SEL_PREFIX, F_SEL_PID, F_SEL_COMM, F_SEL_SCORE } },
	{ .kind = K_KILLED, .pattern = "Killed process %n (%s) " KILLED_TAIL, .f = { F_VPID, F_VCOMM, KILLED_F } },
	{ .kind = K_PANIC, .pattern = "Kernel panic - not syncing: Out of memory", .f = { F_NONE } },
};

/* RHEL 7.6+ backported the uid; RHEL 6 (2.6.32) printed it first. */
static const struct row rows_rhel[] = {
	{ .kind = K_KILLED, .pattern = "Killed process %n (%s), UID %n, " KILLED_TAIL ", shmem-rss:%nkB", .f = { F_VPID, F_VCOMM, F_VUID, KILLED_F, F_SHMEM } },
	{ .kind = K_KILLED, .pattern = "Killed process %n, UID %n, (%s) " KILLED_TAIL, .f = { F_VPID, F_VUID, F_VCOMM, KILLED_F } },
};

static const struct row rows_4_0[] = {
	{ .kind = K_TABLE_HEADER, .pattern = "[ pid ] uid tgid total_vm rss nr_ptes nr_pmds swapents oom_score_adj name", .f = { F_NONE },
	  &lay_4_0 },
};

static const struct row rows_4_5[] = {
	{ .kind = K_KILLED, .pattern = "Killed process %n (%s) " KILLED_TAIL ", shmem-rss:%nkB", .f = { F_VPID, F_VCOMM, KILLED_F, F_SHMEM } },
};

static const struct row rows_4_6[] = {
	{ .kind = K_REAPED, .pattern = "oom_reaper: reaped process %n (%s), now anon-rss:%nkB, file-rss:%nkB, shmem-rss:%nkB", .f = { F_REAP_PID, F_REAP_COMM, F_REAP_ANON, F_REAP_FILE, F_REAP_SHMEM } },
	{ .kind = K_REAP_FAILED, .pattern = "oom_reaper: unable to reap pid:%n (%s)", .f = { F_REAP_PID, F_REAP_COMM } },
};

static const struct row rows_4_8[] = {
	{ .kind = K_HEADER, .pattern = "%s invoked oom-killer: gfp_mask=%t, nodemask=%s, order=%n, oom_score_adj=%n", .f = { F_TRIG_COMM, F_GFP, F_NODEMASK, F_ORDER, F_TRIG_ADJ } },
	{ .kind = K_NO_KILLABLE, .pattern = "Out of memory and no killable processes", .f = { F_NONE } },
};

static const struct row rows_4_15[] = {
	{ .kind = K_TABLE_HEADER, .pattern = "[ pid ] uid tgid total_vm rss pgtables_bytes swapents oom_score_adj name", .f = { F_NONE },
	  &lay_4_15 },
};

static const struct row rows_4_19[] = {
	{ .kind = K_TASKS_TITLE, .pattern = "Tasks state (memory values in pages):", .f = { F_NONE } },
	{ .kind = K_OOM_GROUP, .pattern = "Tasks in %s are going to be killed due to memory.oom.group set", .f = { F_GROUP } },
};

static const struct row rows_5_0[] = {
	{ .kind = K_SUMMARY, .pattern = "oom-kill:%s", .f = { F_SUMMARY } },
};

static const struct row rows_5_1[] = {
	{ .kind = K_KILLED, .pattern = "%s: Killed process %n (%s) " KILLED_TAIL ", shmem-rss:%nkB", .f = { F_KILL_PREFIX, F_VPID, F_VCOMM, KILLED_F, F_SHMEM } },
};

static const struct row rows_5_3[] = {
	{ .kind = K_SWAP, .pattern = "swap: usage %nkB, limit %nkB,", .f = { F_SWAP_USAGE, F_SWAP_LIMIT } },
};

static const struct row rows_5_4[] = {
	{ .kind = K_KILLED, .pattern = "%s: Killed process %n (%s) " KILLED_TAIL ", shmem-rss:%nkB, UID:%n pgtables:%nkB oom_score_adj:%n", .f = { F_KILL_PREFIX, F_VPID, F_VCOMM, KILLED_F, F_SHMEM, F_VUID, F_PGTABLES, F_VADJ } },
};

static const struct row rows_6_8[] = {
	{ K_TABLE_HEADER,
	  "[ pid ] uid tgid total_vm rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
	  { F_NONE }, .layout = &lay_6_8 },
};

static const struct row rows_6_11[] = {
	{ .kind = K_CPU, .pattern = "CPU: %n UID: %n PID: %n Comm: ", .f = { F_NONE, F_CPU_UID, F_CPU_PID } },
};

static const struct row rows_oomd[] = {
	{ .kind = K_OOMD_ATTEMPT, .pattern = "oomd attempting to kill %n with ", .f = { F_OOMD_PID } },
	{ .kind = K_OOMD_KILLED, .pattern = "Killed %s due to %s", .f = { F_OOMD_CGROUP, F_OOMD_REASON } },
	{ .kind = K_OOMD_KILLED, .pattern = "Marked %s for killing due to %s", .f = { F_OOMD_CGROUP, F_OOMD_REASON } },
	{ .kind = K_OOMD_KILLED, .pattern = "Killed %w", .f = { F_OOMD_CGROUP } },
};

static const struct row rows_earlyoom[] = {
	{ .kind = K_EARLYOOM, .pattern = "sending %w to process %n uid %n \"%s\": oom_score %n, oom_score_adj %n, VmRSS %n MiB", .f = { F_EO_SIGNAL, F_EO_PID, F_EO_UID, F_EO_COMM, F_EO_BADNESS, F_EO_ADJ, F_EO_RSS } },
	{ .kind = K_EARLYOOM, .pattern = "sending %w to process %n uid %n \"%s\": oom_score %n, VmRSS %n MiB", .f = { F_EO_SIGNAL, F_EO_PID, F_EO_UID, F_EO_COMM, F_EO_BADNESS, F_EO_RSS } },
	{ .kind = K_EARLYOOM, .pattern = "sending %w to process %n uid %n \"%s\": badness %n, VmRSS %n MiB", .f = { F_EO_SIGNAL, F_EO_PID, F_EO_UID, F_EO_COMM, F_EO_BADNESS, F_EO_RSS } },
	{ .kind = K_EARLYOOM, .pattern = "killing process %n \"%s\" with signal %n: badness %n, VmRSS %n MiB", .f = { F_EO_PID, F_EO_COMM, F_EO_SIGNAL, F_EO_BADNESS, F_EO_RSS } },
};

static const struct row rows_pam[] = {
	{ .kind = K_SESSION_CLOSE, .pattern = "session closed for %w (uid %n): %s", .f = { F_PAM_USER, F_PAM_UID, F_PAM_KV } },
};

enum src { S_KERNEL = 1, S_OOMD = 2, S_EARLYOOM = 4, S_PAM = 8 };

#define GEN(name, src, rows) { name, src, rows, sizeof(rows) / sizeof(rows[0]) }
/* Newest first: the first row that matches wins. */
static const struct generation {
	const char *name;
	unsigned src;
	const struct row *rows;
	size_t n;
} gens[] = {
	GEN("6.11", S_KERNEL, rows_6_11), GEN("6.8", S_KERNEL, rows_6_8), GEN("5.4", S_KERNEL, rows_5_4),
	GEN("5.3", S_KERNEL, rows_5_3),	  GEN("5.1", S_KERNEL, rows_5_1), GEN("5.0", S_KERNEL, rows_5_0),
	GEN("4.19", S_KERNEL, rows_4_19), GEN("4.15", S_KERNEL, rows_4_15), GEN("4.8", S_KERNEL, rows_4_8),
	GEN("4.6", S_KERNEL, rows_4_6),	  GEN("4.5", S_KERNEL, rows_4_5), GEN("4.0", S_KERNEL, rows_4_0),
	GEN("rhel", S_KERNEL, rows_rhel), GEN("3.10", S_KERNEL, rows_3_10),
	GEN("systemd-oomd", S_OOMD, rows_oomd), GEN("earlyoom", S_EARLYOOM, rows_earlyoom),
	GEN("pam_memguard", S_PAM, rows_pam),
};
#define NGENS (sizeof(gens) / sizeof(gens[0]))
/* How new a generation is, for an event's format: the rank of its newest line. */
static const char *const gen_label[NGENS] = { "6.11+", "6.8+", "5.4+", "5.3+", "5.1+", "5.0+", "4.19+", "4.15+",
					      "4.8+", "4.6+",  "4.5+", "4.0+", "3.10 (RHEL)", "3.10+",
					      "systemd-oomd", "earlyoom", "pam_memguard" };

/* ---- matching ---- */

#define MAX_CAPS 10
#define LINE_MAX_CLASSIFY 4096

struct cap {
	const char *s;
	size_t n;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool match(const char *p, const char *s, const char *e, struct cap *c, int k)
{
	for (;;) {
		const char *b = s;

		if (!*p)
			return true;
		if (*p == ' ') {
			if (s >= e || !blank(*s))
				return false;
			while (s < e && blank(*s))
				s++;
			p++;
			continue;
		}
		if (*p != '%') {
			if (s >= e || *s != *p)
				return false;
			s++;
			p++;
			continue;
		}
		switch (p[1]) {
		case 'n':
			if (s < e && *s == '-')
				s++;
			if (s >= e || !isdigit((unsigned char)*s))
				return false;
			while (s < e && isdigit((unsigned char)*s))
				s++;
			break;
		case 't':
			while (s < e && !blank(*s) && *s != ',')
				s++;
			break;
		case 'w':
			while (s < e && !blank(*s))
				s++;
			break;
		case 's':
		case '*': {
			bool capture = p[1] == 's';
			const char *t;

			p += 2;
			if (!*p) {
				for (t = e; t > s && blank(t[-1]); t--)
					;
				if (t == s)
					return false;
				if (capture && k < MAX_CAPS) {
					c[k].s = s;
					c[k].n = (size_t)(t - s);
				}
				return true;
			}
			for (t = s + 1; t <= e; t++) {
				if (*p == ' ' ? t == e || !blank(*t) : *p != '%' && (t == e || *t != *p))
					continue;
				if (capture && k < MAX_CAPS) {
					c[k].s = s;
					c[k].n = (size_t)(t - s);
				}
				if (match(p, t, e, c, k + capture))
					return true;
			}
			return false;
		}
		default:
			return false;
		}
		if (s == b)
			return false;
		if (k < MAX_CAPS) {
			c[k].s = b;
			c[k].n = (size_t)(s - b);
		}
		k++;
		p += 2;
	}
}

/* A row is tried only when the line starts with the pattern's leading
 * literal, or, for a pattern that starts with a capture, contains its
 * longest literal: most lines of a log are ruled out by a memcmp. */
struct row_filter {
	const char *start;
	size_t start_len;
	int needle; /* index into the parser's needles, -1: none */
	int ncaps;  /* placeholders that capture */
};

#define MAX_NEEDLES 16

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
	struct row_filter filters[NGENS][16];
	const char *needles[MAX_NEEDLES];
	size_t needle_len[MAX_NEEDLES];
	size_t nneedles;
	signed char needle_hit[MAX_NEEDLES]; /* per line: -1 unknown */
	int64_t oomd_pid;
	unsigned long oomd_line;
};

/* ---- small helpers ---- */

static int64_t num(const struct cap *c)
{
	int64_t v = 0;
	size_t i = 0;
	bool neg = false;

	if (c->n && c->s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i >= c->n)
		return MG_OOM_NONE;
	for (; i < c->n; i++) {
		if (!isdigit((unsigned char)c->s[i]) || v > (INT64_MAX - 9) / 10)
			return MG_OOM_NONE;
		v = v * 10 + (c->s[i] - '0');
	}
	return neg ? -v : v;
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
			*v = num(c);
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
					int64_t x = num(&v);
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

/* ---- the task table's rows ---- */

struct parsed_row {
	int64_t pid;
	int64_t v[MAX_COLS + 4];
	size_t nv;
	const char *name;
	size_t name_len;
};

/* "[  1234]  1000  1234   12345   678 ... name": at least seven numbers. */
static bool parse_row(const char *s, const char *e, size_t want, struct parsed_row *r)
{
	const char *t;
	struct cap c;

	if (s >= e || *s != '[')
		return false;
	s++;
	while (s < e && blank(*s))
		s++;
	for (t = s; t < e && isdigit((unsigned char)*t); t++)
		;
	if (t == s || t >= e || *t != ']')
		return false;
	c.s = s;
	c.n = (size_t)(t - s);
	r->pid = num(&c);
	s = t + 1;
	r->nv = 0;
	for (;;) {
		const char *w;
		while (s < e && blank(*s))
			s++;
		w = s;
		if (w < e && *w == '-')
			w++;
		for (t = w; t < e && isdigit((unsigned char)*t); t++)
			;
		if (t == w || (t < e && !blank(*t)) || (want && r->nv == want) || r->nv == MAX_COLS + 4)
			break;
		c.s = s;
		c.n = (size_t)(t - s);
		r->v[r->nv++] = num(&c);
		s = t;
	}
	if (r->nv < 7 || r->pid == MG_OOM_NONE)
		return false;
	for (t = e; t > s && blank(t[-1]); t--)
		;
	r->name = s;
	r->name_len = (size_t)(t - s);
	return true;
}

/* Without a header line the count of numbers tells the layout. */
static const struct layout *layout_for(const struct inflight *in, size_t nv, struct layout *tmp)
{
	if (in && in->has_layout && in->layout.n == nv)
		return &in->layout;
	if (nv == lay_3_10.n)
		return &lay_3_10;
	if (nv == lay_4_0.n)
		return &lay_4_0;
	if (nv == lay_6_8.n)
		return &lay_6_8;
	memset(tmp, 0, sizeof(*tmp));
	tmp->n = (unsigned char)(nv > MAX_COLS ? MAX_COLS : nv);
	tmp->c[0] = C_UID;
	tmp->c[1] = C_TGID;
	tmp->c[2] = C_TOTAL_VM;
	tmp->c[3] = C_RSS;
	tmp->c[tmp->n - 2] = C_SWAPENTS;
	tmp->c[tmp->n - 1] = C_ADJ;
	return tmp;
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
	ev->format = in->gen_rank < (int)NGENS ? gen_label[in->gen_rank] : NULL;
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
	in->gen_rank = (int)NGENS;
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
			return num(&caps[i]);
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
				pid = num(&caps[i]);
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
		p->oomd_pid = num(&caps[0]);
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

static unsigned src_of(const struct mg_logline *ll)
{
	static const struct {
		const char *ident;
		unsigned src;
	} idents[] = {
		{ "kernel", S_KERNEL },
		{ "systemd-oomd", S_OOMD },
		{ "earlyoom", S_EARLYOOM },
		{ "pam_memguard", S_PAM },
	};

	if (!ll->ident)
		return S_KERNEL | S_EARLYOOM | S_PAM;
	for (size_t i = 0; i < sizeof(idents) / sizeof(idents[0]); i++)
		if (strlen(idents[i].ident) == ll->ident_len && memcmp(idents[i].ident, ll->ident, ll->ident_len) == 0)
			return idents[i].src;
	return 0;
}

static bool needle_hit(struct mg_oom_parser *p, int n, const char *s, size_t len)
{
	if (p->needle_hit[n] < 0)
		p->needle_hit[n] = memmem(s, len, p->needles[n], p->needle_len[n]) != NULL;
	return p->needle_hit[n];
}

static int classify(struct mg_oom_parser *p, const char *s, size_t len, const struct mg_logline *ll)
{
	unsigned src = src_of(ll);
	struct cap caps[MAX_CAPS];
	static const char pam[] = "pam_memguard(";

	/* pam_syslog writes "pam_memguard(su-l:session): ..." under the
	 * program's own name (su[171]:, sshd[9]:). */
	if (len > sizeof(pam) && memcmp(s, pam, sizeof(pam) - 1) == 0) {
		const char *end = memmem(s, len, "): ", 3);
		if (end) {
			len -= (size_t)(end + 3 - s);
			s = end + 3;
			src = S_PAM;
		}
	}
	if (!src)
		return 0;
	if (len > LINE_MAX_CLASSIFY)
		len = LINE_MAX_CLASSIFY;
	memset(p->needle_hit, -1, sizeof(p->needle_hit));
	/* The task table is most of a report: rows first, cheaply. */
	if ((src & S_KERNEL) && len && s[0] == '[') {
		struct parsed_row pr;
		size_t want = 0;
		for (size_t i = p->nq; i-- > 0;)
			if (p->q[i]->has_layout && p->q[i]->stage == 4 && same_host(&p->q[i]->ev, ll)) {
				want = p->q[i]->layout.n;
				break;
			}
		if (parse_row(s, s + len, want, &pr)) {
			static const struct row row_row = { .kind = K_TABLE_ROW };
			return assemble(p, NGENS, &row_row, NULL, 0, ll, &pr);
		}
	}
	for (size_t g = 0; g < NGENS; g++) {
		if (!(gens[g].src & src))
			continue;
		for (size_t i = 0; i < gens[g].n; i++) {
			const struct row *r = &gens[g].rows[i];
			const struct row_filter *f = &p->filters[g][i];

			if (f->start_len && (len < f->start_len || s[0] != f->start[0] || memcmp(s, f->start, f->start_len) != 0))
				continue;
			if (f->needle >= 0 && !needle_hit(p, f->needle, s, len))
				continue;
			memset(caps, 0, sizeof(caps));
			if (match(r->pattern, s, s + len, caps, 0)) {
				return assemble(p, g, r, caps, f->ncaps, ll, NULL);
			}
		}
	}
	return 0;
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

/* The leading literal and the longest literal run of a pattern. */
static void make_filter(struct mg_oom_parser *p, const char *pat, struct row_filter *f)
{
	const char *best = NULL, *q = pat;
	size_t best_len = 0;

	f->ncaps = 0;
	for (const char *c = pat; *c; c++)
		if (*c == '%' && c[1]) {
			f->ncaps += c[1] != '*';
			c++;
		}
	if (f->ncaps > MAX_CAPS)
		f->ncaps = MAX_CAPS;
	f->start = pat;
	f->start_len = strcspn(pat, "% ");
	f->needle = -1;
	if (f->start_len)
		return;
	while (*q) {
		size_t n;
		if (*q == '%') {
			q += q[1] ? 2 : 1;
			continue;
		}
		n = strcspn(q, "% ");
		if (n > best_len) {
			best = q;
			best_len = n;
		}
		q += n ? n : 1;
	}
	if (!best)
		return;
	for (size_t i = 0; i < p->nneedles; i++)
		if (p->needle_len[i] == best_len && memcmp(p->needles[i], best, best_len) == 0) {
			f->needle = (int)i;
			return;
		}
	if (p->nneedles < MAX_NEEDLES) {
		p->needles[p->nneedles] = best;
		p->needle_len[p->nneedles] = best_len;
		f->needle = (int)p->nneedles++;
	}
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
	for (size_t g = 0; g < NGENS; g++)
		for (size_t i = 0; i < gens[g].n && i < 16; i++)
			make_filter(p, gens[g].rows[i].pattern, &p->filters[g][i]);
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
