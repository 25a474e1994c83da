/* Kernel OOM reports (3.10 to 6.x), userspace killers' kill lines
 * (systemd-oomd, earlyoom) and pam_memguard's close-session records, read
 * from a log one line at a time.
 *
 * Table-driven: each format generation has a table of line kinds (a
 * pattern and the fields its captures fill); one loop classifies a line,
 * one assembles events from classified lines. Memory stays bounded: only
 * the events in flight are kept, each handed to the caller once complete.
 *
 * Nothing is made up: a number or text the log did not hold stays
 * MG_OOM_NONE or NULL, and an event names the parts it lacks. */
#ifndef MEMGUARD_OOM_PARSE_H
#define MEMGUARD_OOM_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_OOM_NONE INT64_MIN

enum mg_oom_type {
	MG_OOM_KERNEL,
	MG_OOM_SYSTEMD_OOMD,
	MG_OOM_EARLYOOM,
	MG_OOM_SESSION_CLOSE, /* pam_memguard's record of a closed session */
};

enum mg_oom_constraint {
	MG_OOM_CONSTRAINT_UNKNOWN,
	MG_OOM_CONSTRAINT_MEMCG,
	MG_OOM_CONSTRAINT_GLOBAL,
	MG_OOM_CONSTRAINT_CPUSET,
	MG_OOM_CONSTRAINT_MEMPOLICY,
};

enum mg_oom_outcome {
	MG_OOM_OUTCOME_UNKNOWN, /* the report ends before a kill line */
	MG_OOM_OUTCOME_KILLED,
	MG_OOM_OUTCOME_NO_KILLABLE, /* "Out of memory and no killable processes" */
	MG_OOM_OUTCOME_PANIC,	    /* panic_on_oom */
};

enum mg_oom_reap { MG_OOM_REAP_UNSEEN, MG_OOM_REAPED, MG_OOM_REAP_FAILED };

/* Parts of a kernel report; an event lists those it lacks. */
enum {
	MG_OOM_MISSING_HEADER = 1 << 0,	    /* "... invoked oom-killer": the trigger */
	MG_OOM_MISSING_TABLE = 1 << 1,	    /* the task table */
	MG_OOM_MISSING_CONSTRAINT = 1 << 2, /* memcg or global cannot be told */
	MG_OOM_MISSING_VICTIM = 1 << 3,	    /* no kill line (and no "no killable" line) */
};

/* One row of the kill-time task table, as printed (memory in pages). */
struct mg_oom_task {
	int64_t pid, uid, tgid, total_vm, rss, rss_anon, rss_file, rss_shmem, pgtables_bytes, swapents,
		oom_score_adj;
	char *name;
};

struct mg_oom_kill {
	int64_t pid;
	char *comm;
};

struct mg_oom_event {
	enum mg_oom_type type;
	char *host; /* as the log names it; NULL: not written */
	bool has_time;
	int64_t usec; /* absolute time of the first line */
	bool has_mono;
	int64_t mono_usec; /* seconds since boot of the first line */
	unsigned long first_line, last_line;
	const char *format; /* the newest format generation a line matched: "3.10", "5.4+" ... */
	unsigned missing;

	/* the trigger: the task whose allocation invoked the killer */
	char *trigger_comm;
	int64_t trigger_pid, trigger_uid, trigger_order, trigger_oom_score_adj;
	char *gfp_mask, *nodemask, *cpuset, *mems_allowed;

	enum mg_oom_constraint constraint;
	const char *constraint_from; /* the line it was read from */
	char *oom_memcg;  /* the group that hit its limit */
	char *task_memcg; /* the victim's group */
	int64_t memcg_usage_kb, memcg_limit_kb, memcg_failcnt;
	int64_t swap_usage_kb, swap_limit_kb; /* memory+swap (v1) or swap (v2) */

	/* "Kill process N (comm) score S or sacrifice child" (up to 5.0) */
	int64_t selected_pid, selected_score;
	char *selected_comm;

	enum mg_oom_outcome outcome;
	int64_t victim_pid, victim_uid, victim_oom_score_adj;
	char *victim_comm;
	int64_t total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb, pgtables_kb;
	enum mg_oom_reap reaped;
	int64_t reaped_anon_kb, reaped_file_kb, reaped_shmem_kb;

	char *oom_group; /* "Tasks in G are going to be killed due to memory.oom.group set" */
	struct mg_oom_kill *group_kills; /* killed besides the victim */
	size_t ngroup_kills;

	bool table_title, table_header; /* "Tasks state ...", "[ pid ] uid ..." seen */
	struct mg_oom_task *tasks;
	size_t ntasks;
	size_t tasks_dropped; /* rows beyond the parser's limit, counted only */

	/* userspace killers */
	char *cgroup;	     /* systemd-oomd: the group it killed */
	char *reason;	     /* systemd-oomd: "memory pressure for X being 51.07% > 50.00% for > 20s" */
	char *signal;	     /* earlyoom: SIGTERM, SIGKILL, "signal 15" */
	int64_t vmrss_mib;   /* earlyoom */
	int64_t badness;     /* earlyoom before 1.8, or its oom_score */

	/* pam_memguard close-session record: "session closed for USER (uid N):
	 * group=DIR peak=N oom_kills=N user_oom_kills=N user_max_events=N
	 * user_high_events=N user_peak=N", a key absent when the module could
	 * not read it (a shared group: no peak, no oom_kills) */
	char *user;
	int64_t uid;
	char *group;
	int64_t peak_bytes, oom_kills, user_oom_kills, user_max_events, user_high_events, user_peak_bytes;
};

struct mg_oom_parser;

/* Called once per complete event, in the order events started. The event
 * is the parser's: valid only during the call. */
typedef void (*mg_oom_emit_fn)(const struct mg_oom_event *ev, void *data);

struct mg_oom_options {
	int64_t now_usec;	/* for the year a syslog stamp leaves out */
	bool has_boot_time;
	int64_t boot_usec;	/* the log's "seconds since boot" are of a boot at this time */
	size_t max_tasks;	/* rows kept per event; 0: 65536 */
};

int mg_oom_parser_new(const struct mg_oom_options *opt, mg_oom_emit_fn emit, void *data, struct mg_oom_parser **out);
/* One line, without its newline (one may be there). -ENOMEM only. */
int mg_oom_feed(struct mg_oom_parser *p, const char *line, size_t len);
/* A /dev/kmsg record's message with its time since boot. */
int mg_oom_feed_mono(struct mg_oom_parser *p, const char *msg, size_t len, int64_t mono_usec);
/* End of input: every event still in flight is handed over. */
int mg_oom_finish(struct mg_oom_parser *p);
void mg_oom_parser_free(struct mg_oom_parser *p);

/* The page size the table's rss is in: from the victim's row against its
 * kill line (4, 16 or 64 KiB) when both are there; *inferred false and
 * 4 KiB otherwise. */
uint64_t mg_oom_page_bytes(const struct mg_oom_event *ev, bool *inferred);

const char *mg_oom_constraint_name(enum mg_oom_constraint c);
const char *mg_oom_type_name(enum mg_oom_type t);
const char *mg_oom_outcome_name(enum mg_oom_outcome o);

#endif
