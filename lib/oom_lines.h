/* The OOM report parser's line kinds: one table of patterns per format
 * generation of the kernel's report (and of the userspace killers' and
 * pam_memguard's lines), and the loop that classifies one line against
 * them. Internal to oom_parse.c, which assembles events from the lines. */
#ifndef MEMGUARD_OOM_LINES_H
#define MEMGUARD_OOM_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logline.h"

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

/* The fields a capture fills. */
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

/* ---- the task table's columns ---- */

enum col { C_SKIP, C_UID, C_TGID, C_TOTAL_VM, C_RSS, C_RSS_ANON, C_RSS_FILE, C_RSS_SHMEM, C_PGTABLES, C_SWAPENTS, C_ADJ };
#define MAX_COLS 12

struct layout {
	unsigned char n;
	unsigned char c[MAX_COLS];
};

/* A row of the table as printed: the pid, then its numbers in order. */
struct parsed_row {
	int64_t pid;
	int64_t v[MAX_COLS + 4];
	size_t nv;
	const char *name;
	size_t name_len;
};

/* A line kind: a pattern and the field each of its captures fills
 * (layout: the columns a table header announces). */
struct row {
	enum kind kind;
	const char *pattern;
	enum field f[10];
	const struct layout *layout;
};

#define MAX_CAPS 10

struct cap {
	const char *s;
	size_t n;
};

/* What a line is: a row of a generation's table with its captures, or a
 * row of the task table. gen: the generation's index, smaller is newer
 * (mg_oom_ngens() for a task-table row). */
struct oom_line {
	const struct row *row;
	size_t gen;
	struct cap caps[MAX_CAPS];
	int ncaps;
	bool table_row;
	struct parsed_row prow;
};

#define MAX_GEN_ROWS 16
#define MAX_NEEDLES 16

/* A row is tried only when the line starts with the pattern's leading
 * literal, or, for a pattern that starts with a capture, contains its
 * longest literal: most lines of a log are ruled out by a memcmp. */
struct row_filter {
	const char *start;
	size_t start_len;
	int needle; /* index into the needles, -1: none */
	int ncaps;  /* placeholders that capture */
};

struct mg_oom_lines {
	struct row_filter filters[24][MAX_GEN_ROWS];
	const char *needles[MAX_NEEDLES];
	size_t needle_len[MAX_NEEDLES];
	size_t nneedles;
	signed char needle_hit[MAX_NEEDLES]; /* per line: -1 unknown */
};

void mg_oom_lines_init(struct mg_oom_lines *c);

/* Classifies the message s[0..len) of a line whose prefix ll split off.
 * want_cols: the number of columns of the task table open on this host
 * (0: none or unknown). true when the line is one of the kinds. */
bool mg_oom_lines_classify(struct mg_oom_lines *c, const char *s, size_t len, const struct mg_logline *ll,
			   size_t want_cols, struct oom_line *out);

size_t mg_oom_ngens(void);
/* "5.4+", "systemd-oomd": the label of a generation (NULL past the end). */
const char *mg_oom_gen_label(size_t gen);
/* The columns a row of n numbers has when no header said: by the count. */
const struct layout *mg_oom_layout_by_count(size_t n, struct layout *tmp);
/* A decimal capture, MG_OOM_NONE when it is none or does not fit. */
int64_t mg_oom_num(const struct cap *c);

#endif
