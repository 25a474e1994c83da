#include "oom_lines.h"

#include <ctype.h>
#include <string.h>

#include "oom_parse.h"

/* ---- the task table's columns ---- */

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
_Static_assert(NGENS <= 24, "struct mg_oom_lines has room for 24 generations");
/* How new a generation is, for an event's format: the rank of its newest line. */
static const char *const gen_label[NGENS] = { "6.11+", "6.8+", "5.4+", "5.3+", "5.1+", "5.0+", "4.19+", "4.15+",
					      "4.8+", "4.6+",  "4.5+", "4.0+", "3.10 (RHEL)", "3.10+",
					      "systemd-oomd", "earlyoom", "pam_memguard" };

/* ---- matching ---- */

#define LINE_MAX_CLASSIFY 4096

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


int64_t mg_oom_num(const struct cap *c)
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
	r->pid = mg_oom_num(&c);
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
		r->v[r->nv++] = mg_oom_num(&c);
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
const struct layout *mg_oom_layout_by_count(size_t nv, struct layout *tmp)
{
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

static bool needle_hit(struct mg_oom_lines *p, int n, const char *s, size_t len)
{
	if (p->needle_hit[n] < 0)
		p->needle_hit[n] = memmem(s, len, p->needles[n], p->needle_len[n]) != NULL;
	return p->needle_hit[n];
}

bool mg_oom_lines_classify(struct mg_oom_lines *p, const char *s, size_t len, const struct mg_logline *ll,
			   size_t want_cols, struct oom_line *out)
{
	unsigned src = src_of(ll);
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
		return false;
	if (len > LINE_MAX_CLASSIFY)
		len = LINE_MAX_CLASSIFY;
	memset(p->needle_hit, -1, sizeof(p->needle_hit));
	/* The task table is most of a report: rows first, cheaply. */
	if ((src & S_KERNEL) && len && s[0] == '[' && parse_row(s, s + len, want_cols, &out->prow)) {
		static const struct row row_row = { .kind = K_TABLE_ROW };
		out->row = &row_row;
		out->gen = NGENS;
		out->ncaps = 0;
		out->table_row = true;
		return true;
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
			memset(out->caps, 0, sizeof(out->caps));
			if (match(r->pattern, s, s + len, out->caps, 0)) {
				out->row = r;
				out->gen = g;
				out->ncaps = f->ncaps;
				out->table_row = false;
				return true;
			}
		}
	}
	return false;
}

/* The leading literal and the longest literal run of a pattern. */
static void make_filter(struct mg_oom_lines *p, const char *pat, struct row_filter *f)
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

void mg_oom_lines_init(struct mg_oom_lines *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t g = 0; g < NGENS; g++)
		for (size_t i = 0; i < gens[g].n && i < MAX_GEN_ROWS; i++)
			make_filter(p, gens[g].rows[i].pattern, &p->filters[g][i]);
}

size_t mg_oom_ngens(void)
{
	return NGENS;
}

const char *mg_oom_gen_label(size_t gen)
{
	return gen < NGENS ? gen_label[gen] : NULL;
}
