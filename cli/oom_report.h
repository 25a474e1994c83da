/* memguardctl oom-report: one event as the renderers show it. The
 * parser's event plus what memguardctl knows beside the log: names of
 * uids, memguard's groups, the policy line behind a cap. Text and JSON
 * are two renderers of this one structure. */
#ifndef MEMGUARD_CLI_OOM_REPORT_H
#define MEMGUARD_CLI_OOM_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "oom_parse.h"

/* Where a kernel cgroup path sits in memguard's layout. */
enum oom_level { OOM_LEVEL_NONE, OOM_LEVEL_ALL, OOM_LEVEL_USER, OOM_LEVEL_SESSION };

struct oom_group_info {
	enum oom_level level;
	int64_t uid;	   /* MG_OOM_NONE at OOM_LEVEL_ALL */
	char user[64];	   /* through NSS; "" when it does not resolve */
	char session[128]; /* session-PID-START or session-N.scope */
	bool systemd;	   /* user-UID.slice / session-N.scope layout */
};

struct oom_uid_sum {
	int64_t uid;
	char user[64];
	size_t tasks;
	uint64_t rss_bytes;
};

struct oom_rule {
	bool found;	 /* a policy line sets the cap */
	char key[32];	 /* memory.max, session.memory.max */
	char value[64];
	char file[512];
	unsigned line;
	char who[128];
};

struct oom_view {
	const struct mg_oom_event *ev;
	const char *source; /* file name, "-" or /dev/kmsg */
	char victim_user[64];
	char trigger_user[64];
	uint64_t page_bytes;
	bool page_inferred;
	/* the table ranked by rss, largest first */
	const struct mg_oom_task **ranked;
	size_t nranked;
	struct oom_uid_sum *uids; /* largest first */
	size_t nuids;
	int64_t victim_rss_bytes; /* from the kill line, MG_OOM_NONE if not there */
	/* memcg kills: memguard's reading of the groups */
	struct oom_group_info oom_group, task_group;
	bool has_live_limit;
	uint64_t live_limit; /* the limit file of the group that hit its cap, today */
	struct oom_rule rule;
	/* session-close records: kernel events of the same group seen before */
	size_t linked_events;
	int64_t linked_last_usec;
	bool linked_has_time;
	/* userspace kills: the user a systemd-oomd group belongs to */
	struct oom_group_info oomd_group;
};

void oom_render_text(FILE *f, const struct oom_view *v, bool brief);
void oom_render_json(FILE *f, const struct oom_view *v);

/* "640 KiB", "63.2 MiB", "12.0 GiB" */
void oom_size(uint64_t bytes, char *buf, size_t len);

#endif
