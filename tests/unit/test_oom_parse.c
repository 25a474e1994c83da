/* The OOM report parser on every fixture in fixtures/oom/ (real reports
 * of each kernel generation, userspace killers, hand-written records),
 * on cut and garbled input, and the log line and time helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "logline.h"
#include "logtime.h"
#include "oom_parse.h"

#define NONE MG_OOM_NONE
#define MAXEV 16

/* What an event must hold: "-" for a string means "not set". */
struct want {
	enum mg_oom_type type;
	int64_t victim;
	enum mg_oom_constraint constraint;
	size_t rows;
	const char *oom_memcg, *task_memcg, *trigger;
	int64_t trigger_pid;
	unsigned missing;
	enum mg_oom_reap reaped;
};

struct fixture {
	const char *file;
	size_t nevents;
	struct want ev[MAXEV];
};

#define K MG_OOM_KERNEL
#define MEMCG MG_OOM_CONSTRAINT_MEMCG
#define GLOBAL MG_OOM_CONSTRAINT_GLOBAL
#define UNK MG_OOM_CONSTRAINT_UNKNOWN
#define MH MG_OOM_MISSING_HEADER
#define MT MG_OOM_MISSING_TABLE
#define MC MG_OOM_MISSING_CONSTRAINT
#define MV MG_OOM_MISSING_VICTIM
#define R MG_OOM_REAPED
#define U MG_OOM_REAP_UNSEEN

static const struct fixture fixtures[] = {
	{ "fixture-01-3.10-rhel7-global-syslog.txt", 1, { { K, 5424, GLOBAL, 36, "-", "-", "AliYunDun", NONE, 0, U } } },
	{ "fixture-02-3.10-rhel7.3-global-numa.txt", 1, { { K, 6576, GLOBAL, 85, "-", "-", "sed", 29481, 0, U } } },
	{ "fixture-03-3.10-rhel7.2-memcg-v1-kubepods.txt", 2,
	  { { K, 28438, MEMCG, 1,
	      "/kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e/6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b",
	      "-", NULL, NONE, MH, U },
	    { K, NONE, UNK, 0, "-", "-", "java", 14881, MT | MC | MV, U } } },
	{ "fixture-04-3.10-rhel7.9-memcg-v1-uid.txt", 7,
	  { { K, 42424, MEMCG, 4, "/0", "-", NULL, NONE, MH, U },
	    { K, 42452, UNK, 0, "-", "-", "memcg_test_1", NONE, MT | MC, U },
	    { K, 42453, MEMCG, 0, "-", "-", NULL, NONE, MH | MT, U },
	    { K, 42474, MEMCG, 0, "-", "-", NULL, NONE, MH | MT, U },
	    { K, 42471, MEMCG, 0, "-", "-", NULL, NONE, MH | MT, U },
	    { K, 42468, MEMCG, 0, "-", "-", NULL, NONE, MH | MT, U },
	    { K, NONE, MEMCG, 0, "/13", "/13", NULL, NONE, MH | MT | MV, U } } },
	{ "fixture-05-4.14-memcg-header.txt", 1, { { K, NONE, UNK, 0, "-", "-", "mem", 93, MT | MC | MV, U } } },
	{ "fixture-06-4.18-rhel8.1-global-header.txt", 1,
	  { { K, NONE, UNK, 0, "-", "-", "olm", 1614944, MT | MC | MV, U } } },
	/* (B)'s "limit of" path was wrapped by the index that stored it */
	{ "fixture-07-4.19-memcg-v1-header-and-tail.txt", 2,
	  { { K, NONE, UNK, 0, "-", "-", "thrash", 32276, MT | MC | MV, U },
	    { K, NONE, MEMCG, 2, "/kubepo",
	      "/kubepods/pod951f6bc5-c5a5-11ea-8707-80e455f266a2/024952d653ef1cd852f875a61bd27cf45cb1fd6cab3659ca7e5f12f037d99aa9",
	      NULL, NONE, MH | MV, U } } },
	{ "fixture-08-5.2-memcg-v1-full.txt", 1, { { K, 23793, MEMCG, 2, "/leaker", "/leaker", "leaker", 23793, 0, R } } },
	{ "fixture-09-5.4-memcg-v1-killed-reaper.txt", 2,
	  { { K, 63214, MEMCG, 0, "-", "-", NULL, NONE, MH | MT, R },
	    { K, NONE, UNK, 0, "-", "-", "uwsgi", 63635, MT | MC | MV, U } } },
	{ "fixture-10-5.4-memcg-v1-parent-slice.txt", 2,
	  { { K, 989, MEMCG, 0, "/podruntime.slice", "/podruntime.slice/kubelet.service", NULL, NONE, MH | MT, R },
	    { K, NONE, UNK, 0, "-", "-", "exe", 2052, MT | MC | MV, U } } },
	{ "fixture-11-5.13-global-sysrq.txt", 1,
	  { { K, 651, GLOBAL, 23, "-", "/system.slice/unattended-upgrades.service", "kworker/0:2", 735, 0, U } } },
	{ "fixture-12-5.15-memcg-v2-lxc.txt", 1,
	  { { K, 3902942, MEMCG, 73, "/lxc/39004",
	      "/lxc/39004/ns/system.slice/docker-a59e4e7d3090c04c6ce5a4b7a8bc85228eb9b96ac00b1284643a8c7c11dda661.scope",
	      "php-fpm", 3923954, 0, U } } },
	{ "fixture-13-6.1-global-user-session.txt", 1,
	  { { K, 473206, GLOBAL, 112, "-", "/user.slice/user-504.slice/session-2.scope", "doxygen", 473206, 0, R } } },
	{ "fixture-14-6.7-memcg-v2-user-slice.txt", 2,
	  { { K, 128824, MEMCG, 0, "-", "-", NULL, NONE, MH | MT, U },
	    { K, 128825, MEMCG, 2, "/user.slice/user-1000.slice/user@1000.service/app.slice/run-u640.service",
	      "/user.slice/user-1000.slice/user@1000.service/app.slice/run-u640.service", "rsync", 128826, 0, U } } },
	{ "fixture-15-6.12-global-rss_anon.txt", 1, { { K, 996, GLOBAL, 31, "-", "/", "cron", 550, 0, U } } },
	{ "fixture-16-6.17-memcg-no-killable.txt", 2,
	  { { K, NONE, UNK, 0, "-", "-", NULL, NONE, MH | MT | MC, U },
	    { K, NONE, UNK, 0, "-", "-", "systemd", 20957, MT | MC | MV, U } } },
	{ "fixture-17-userspace-systemd-oomd.txt", 3,
	  { { MG_OOM_SYSTEMD_OOMD, NONE, UNK, 0, "-", "-", NULL, NONE, 0, U },
	    { MG_OOM_SYSTEMD_OOMD, 407, UNK, 0, "-", "-", NULL, NONE, 0, U },
	    { MG_OOM_SYSTEMD_OOMD, NONE, UNK, 0, "-", "-", NULL, NONE, 0, U } } },
	{ "fixture-18-userspace-earlyoom.txt", 6,
	  { { MG_OOM_EARLYOOM, 27541, UNK, 0, "-", "-", NULL, NONE, 0, U },
	    { K, 27541, GLOBAL, 0, "-", "-", NULL, NONE, MH | MT, U },
	    { MG_OOM_EARLYOOM, 29410, UNK, 0, "-", "-", NULL, NONE, 0, U },
	    { MG_OOM_EARLYOOM, 11567, UNK, 0, "-", "-", NULL, NONE, 0, U },
	    { MG_OOM_EARLYOOM, 1024668, UNK, 0, "-", "-", NULL, NONE, 0, U },
	    { MG_OOM_EARLYOOM, 997, UNK, 0, "-", "-", NULL, NONE, 0, U } } },
	{ "fixture-19-cgroup2-memory-events.txt", 0, { { 0 } } },
	{ "fixture-20-handwritten-pam-memguard-close.txt", 4,
	  { { K, 4243, MEMCG, 3, "/memguard/user-1001/session-4200-123456", "/memguard/user-1001/session-4200-123456",
	      "hog", 4243, 0, U },
	    { MG_OOM_SESSION_CLOSE, NONE, UNK, 0, "-", "-", NULL, NONE, 0, U },
	    { MG_OOM_SESSION_CLOSE, NONE, UNK, 0, "-", "-", NULL, NONE, 0, U },
	    { MG_OOM_SESSION_CLOSE, NONE, UNK, 0, "-", "-", NULL, NONE, 0, U } } },
	{ "fixture-21-handwritten-interleaved-oom-group.txt", 2,
	  { { K, 900, GLOBAL, 7, "-", "/system.slice/postgresql.service", "make", 7001, 0, R },
	    { K, 8002, MEMCG, 3, "/memguard/user-1003/session-8000-555", "/memguard/user-1003/session-8000-555", "python3",
	      8002, 0, R } } },
};

struct collected {
	size_t n;
	struct mg_oom_event ev[MAXEV + 4];
	/* the fields the event frees, copied */
	char *oom_memcg[MAXEV + 4], *task_memcg[MAXEV + 4], *trigger[MAXEV + 4], *host[MAXEV + 4], *comm[MAXEV + 4];
	size_t ngroup[MAXEV + 4];
	int64_t group_pids[MAXEV + 4][4];
	int64_t rss_anon_sum[MAXEV + 4];
	size_t rows[MAXEV + 4];
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void collect(const struct mg_oom_event *ev, void *data)
{
	struct collected *c = data;
	size_t i = c->n;

	if (i >= MAXEV + 4)
		return;
	c->ev[i] = *ev;
	c->oom_memcg[i] = dup_or_null(ev->oom_memcg);
	c->task_memcg[i] = dup_or_null(ev->task_memcg);
	c->trigger[i] = dup_or_null(ev->trigger_comm);
	c->host[i] = dup_or_null(ev->host);
	c->comm[i] = dup_or_null(ev->victim_comm);
	c->ngroup[i] = ev->ngroup_kills;
	for (size_t j = 0; j < ev->ngroup_kills && j < 4; j++)
		c->group_pids[i][j] = ev->group_kills[j].pid;
	c->rows[i] = ev->ntasks;
	c->rss_anon_sum[i] = 0;
	for (size_t j = 0; j < ev->ntasks; j++)
		if (ev->tasks[j].rss_anon != NONE)
			c->rss_anon_sum[i] += ev->tasks[j].rss_anon;
	/* pointers into the parser's event die with the call */
	c->ev[i].tasks = NULL;
	c->ev[i].group_kills = NULL;
	c->n++;
}

static void collected_free(struct collected *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->oom_memcg[i]);
		free(c->task_memcg[i]);
		free(c->trigger[i]);
		free(c->host[i]);
		free(c->comm[i]);
	}
}

static const char *fixture_dir(void)
{
	const char *d = getenv("MEMGUARD_OOM_FIXTURES");

	return d ? d : "tests/unit/fixtures/oom";
}

static void parse_text(const char *text, size_t len, struct collected *c)
{
	struct mg_oom_options o = { .now_usec = (int64_t)1764590400 * 1000000 }; /* 2025-12-01 12:00 UTC */
	struct mg_oom_parser *p = NULL;
	const char *s = text, *e = text + len;

	memset(c, 0, sizeof(*c));
	assert_int_equal(mg_oom_parser_new(&o, collect, c, &p), 0);
	while (s < e) {
		const char *nl = memchr(s, '\n', (size_t)(e - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(e - s);
		assert_int_equal(mg_oom_feed(p, s, n), 0);
		s += n + (nl ? 1 : 0);
	}
	assert_int_equal(mg_oom_finish(p), 0);
	mg_oom_parser_free(p);
}

static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir(), name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repository top or set MEMGUARD_OOM_FIXTURES)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void check_str(const char *file, size_t i, const char *what, const char *want, const char *got)
{
	if (!want)
		return;
	if (strcmp(want, "-") == 0) {
		if (got)
			fail_msg("%s event %zu: %s is '%s', expected none", file, i + 1, what, got);
		return;
	}
	if (!got || strcmp(want, got) != 0)
		fail_msg("%s event %zu: %s is '%s', expected '%s'", file, i + 1, what, got ? got : "(none)", want);
}

static void test_fixtures(void **state)
{
	(void)state;
	for (size_t fi = 0; fi < sizeof(fixtures) / sizeof(fixtures[0]); fi++) {
		const struct fixture *fx = &fixtures[fi];
		struct collected c;
		size_t len;
		char *text = slurp(fx->file, &len);

		parse_text(text, len, &c);
		if (c.n != fx->nevents)
			fail_msg("%s: %zu events, expected %zu", fx->file, c.n, fx->nevents);
		for (size_t i = 0; i < c.n; i++) {
			const struct want *w = &fx->ev[i];
			const struct mg_oom_event *ev = &c.ev[i];
			if (ev->type != w->type)
				fail_msg("%s event %zu: type %s, expected %s", fx->file, i + 1, mg_oom_type_name(ev->type),
					 mg_oom_type_name(w->type));
			if (ev->victim_pid != w->victim)
				fail_msg("%s event %zu: victim pid %lld, expected %lld", fx->file, i + 1,
					 (long long)ev->victim_pid, (long long)w->victim);
			if (ev->constraint != w->constraint)
				fail_msg("%s event %zu: constraint %d, expected %d", fx->file, i + 1, ev->constraint,
					 w->constraint);
			if (c.rows[i] != w->rows)
				fail_msg("%s event %zu: %zu table rows, expected %zu", fx->file, i + 1, c.rows[i], w->rows);
			if (ev->missing != w->missing)
				fail_msg("%s event %zu: missing 0x%x, expected 0x%x", fx->file, i + 1, ev->missing, w->missing);
			if (ev->reaped != w->reaped)
				fail_msg("%s event %zu: reaped %d, expected %d", fx->file, i + 1, ev->reaped, w->reaped);
			if (ev->trigger_pid != w->trigger_pid)
				fail_msg("%s event %zu: trigger pid %lld, expected %lld", fx->file, i + 1,
					 (long long)ev->trigger_pid, (long long)w->trigger_pid);
			check_str(fx->file, i, "oom_memcg", w->oom_memcg, c.oom_memcg[i]);
			check_str(fx->file, i, "task_memcg", w->task_memcg, c.task_memcg[i]);
			check_str(fx->file, i, "trigger", w->trigger ? w->trigger : (w->type == K ? "-" : NULL), c.trigger[i]);
		}
		collected_free(&c);
		free(text);
	}
}

/* Fields that only some fixtures carry, each from the line that says it. */
static void test_fixture_details(void **state)
{
	struct collected c;
	size_t len;
	char *t;
	bool inferred;

	(void)state;
	/* 3.10: the selected parent and the killed child differ */
	t = slurp("fixture-03-3.10-rhel7.2-memcg-v1-kubepods.txt", &len);
	parse_text(t, len, &c);
	assert_int_equal(c.ev[0].selected_pid, 24572);
	assert_int_equal(c.ev[0].anon_rss_kb, 466160);
	assert_int_equal(c.ev[0].shmem_rss_kb, NONE); /* 3.10 has no shmem-rss */
	assert_true(c.ev[0].has_time);
	collected_free(&c);
	free(t);

	/* RHEL 7.9's "UID 0," and a 4k-page memcg table */
	t = slurp("fixture-04-3.10-rhel7.9-memcg-v1-uid.txt", &len);
	parse_text(t, len, &c);
	assert_int_equal(c.ev[0].victim_uid, 0);
	assert_string_equal(c.host[0], "hgzmm3cs239");
	assert_int_equal(c.ev[6].memcg_limit_kb, 4);
	collected_free(&c);
	free(t);

	/* 5.2 v1 without CONFIG_CPUSETS: no cpuset= in the summary */
	t = slurp("fixture-08-5.2-memcg-v1-full.txt", &len);
	parse_text(t, len, &c);
	assert_int_equal(c.ev[0].memcg_limit_kb, 524288);
	assert_int_equal(c.ev[0].victim_uid, 0);
	assert_int_equal(c.ev[0].reaped_anon_kb, 0);
	assert_true(c.ev[0].has_mono);
	assert_int_equal(c.ev[0].mono_usec, 337533314245ll);
	collected_free(&c);
	free(t);

	/* 5.4+: UID, pgtables, oom_score_adj on the Killed line */
	t = slurp("fixture-10-5.4-memcg-v1-parent-slice.txt", &len);
	parse_text(t, len, &c);
	assert_int_equal(c.ev[0].victim_oom_score_adj, -999);
	assert_int_equal(c.ev[0].pgtables_kb, 464);
	collected_free(&c);
	free(t);

	/* dmesg -T with a German weekday */
	t = slurp("fixture-12-5.15-memcg-v2-lxc.txt", &len);
	parse_text(t, len, &c);
	assert_true(c.ev[0].has_time);
	assert_int_equal(c.ev[0].victim_uid, 1000);
	assert_int_equal(c.ev[0].memcg_limit_kb, 31211520);
	assert_int_equal(c.ev[0].swap_limit_kb, 0);
	collected_free(&c);
	free(t);

	/* 6.8+: rss_anon rss_file rss_shmem columns; 6.11+ uid in the CPU line;
	 * the page size from the victim's row against its kill line */
	t = slurp("fixture-15-6.12-global-rss_anon.txt", &len);
	parse_text(t, len, &c);
	assert_int_equal(c.ev[0].trigger_uid, 0);
	/* python 996's 30557 pages are all anon: the sum of rss_anon */
	assert_true(c.rss_anon_sum[0] > 30557);
	collected_free(&c);
	free(t);
	{
		struct mg_oom_task row = { .pid = 996, .rss = 30557 };
		struct mg_oom_event ev = { .victim_pid = 996, .anon_rss_kb = 122228, .file_rss_kb = 0, .shmem_rss_kb = 0,
					   .tasks = &row, .ntasks = 1 };
		assert_int_equal(mg_oom_page_bytes(&ev, &inferred), 4096);
		assert_true(inferred);
		row.rss = 30557 / 16;
		assert_int_equal(mg_oom_page_bytes(&ev, &inferred), 65536);
		ev.ntasks = 0;
		assert_int_equal(mg_oom_page_bytes(&ev, &inferred), 4096);
		assert_false(inferred);
	}

	/* "Out of memory and no killable processes" */
	t = slurp("fixture-16-6.17-memcg-no-killable.txt", &len);
	parse_text(t, len, &c);
	assert_int_equal(c.ev[0].outcome, MG_OOM_OUTCOME_NO_KILLABLE);
	assert_int_equal(c.ev[1].trigger_uid, 1000);
	collected_free(&c);
	free(t);

	/* userspace killers */
	t = slurp("fixture-18-userspace-earlyoom.txt", &len);
	parse_text(t, len, &c);
	assert_int_equal(c.ev[0].vmrss_mib, 7609);
	assert_int_equal(c.ev[2].victim_uid, 1000);
	assert_string_equal(c.comm[4], "Web Content");
	assert_int_equal(c.ev[5].victim_oom_score_adj, 0);
	assert_string_equal(c.host[2], "cloakOfManyColors");
	collected_free(&c);
	free(t);

	/* the close-session record: known keys, unknown ones ignored, bad values absent */
	t = slurp("fixture-20-handwritten-pam-memguard-close.txt", &len);
	parse_text(t, len, &c);
	assert_int_equal(c.ev[1].uid, 1001);
	assert_int_equal(c.ev[1].peak_bytes, 67108864);
	assert_int_equal(c.ev[1].oom_kills, 1);
	assert_int_equal(c.ev[1].user_max_events, 3);
	assert_int_equal(c.ev[2].oom_kills, 0);
	assert_int_equal(c.ev[2].user_max_events, NONE);
	assert_int_equal(c.ev[3].peak_bytes, NONE);
	assert_int_equal(c.ev[3].oom_kills, 2);
	collected_free(&c);
	free(t);

	/* interleaved hosts and a memory.oom.group kill */
	t = slurp("fixture-21-handwritten-interleaved-oom-group.txt", &len);
	parse_text(t, len, &c);
	assert_string_equal(c.host[0], "a");
	assert_string_equal(c.host[1], "b");
	assert_int_equal(c.ngroup[1], 2);
	assert_int_equal(c.group_pids[1][0], 8000);
	assert_int_equal(c.group_pids[1][1], 8001);
	assert_int_equal(c.ngroup[0], 0);
	collected_free(&c);
	free(t);
}

/* The module's line as pam_syslog writes it, under any program's name and
 * behind busybox's priority word; a shared group's record has no
 * session counts; keys added later are ignored. */
static void test_close_records(void **state)
{
	const char *t =
		"Dec  1 22:55:45 (none) authpriv.info su[171]: pam_memguard(su-l:session): session closed for mgb (uid 2002): "
		"group=/sys/fs/cgroup/memguard/user-2002/session-171-941 peak=67108864 oom_kills=1 user_oom_kills=1 "
		"user_max_events=0 user_high_events=3 user_peak=98304000\n"
		"Dec  1 22:56:00 lab sshd[9]: pam_memguard(sshd:session): session closed for x (uid 3): "
		"group=/sys/fs/cgroup/memguard/user-3/session-shared user_oom_kills=2\n"
		"Dec  1 22:57:00 lab sshd[9]: pam_memguard(sshd:session): session of x (uid 3): group /a: max=1G\n"
		/* as a listener on /dev/log receives it: priority, no host; a
		 * key a later module may add is skipped */
		"<86>Dec  1 22:58:00 pamdrive[77]: pam_memguard(mgoom:session): session closed for mgoomu (uid 1990): "
		"group=/sys/fs/cgroup/memory/t/memguard/user-1990/session-77-5 peak=50331648 oom_kills=1 user_oom_kills=1 "
		"user_max_events=2 user_high_events=0 user_peak=50335744 later_key=9 user_peak=1\n";
	struct collected c;

	(void)state;
	parse_text(t, strlen(t), &c);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.ev[0].type, MG_OOM_SESSION_CLOSE);
	assert_int_equal(c.ev[0].user_peak_bytes, 98304000);
	assert_int_equal(c.ev[0].uid, 2002);
	assert_int_equal(c.ev[0].oom_kills, 1);
	assert_int_equal(c.ev[0].user_high_events, 3);
	assert_int_equal(c.ev[0].peak_bytes, 67108864);
	assert_string_equal(c.host[0], "(none)");
	assert_int_equal(c.ev[1].oom_kills, NONE);
	assert_int_equal(c.ev[1].peak_bytes, NONE);
	assert_int_equal(c.ev[1].user_oom_kills, 2);
	assert_int_equal(c.ev[1].user_peak_bytes, NONE);
	assert_int_equal(c.ev[2].type, MG_OOM_SESSION_CLOSE);
	assert_true(c.ev[2].has_time);
	assert_null(c.host[2]);
	assert_int_equal(c.ev[2].uid, 1990);
	assert_int_equal(c.ev[2].peak_bytes, 50331648);
	assert_int_equal(c.ev[2].oom_kills, 1);
	assert_int_equal(c.ev[2].user_max_events, 2);
	assert_int_equal(c.ev[2].user_high_events, 0);
	assert_int_equal(c.ev[2].user_peak_bytes, 50335744); /* the first of a key given twice */
	collected_free(&c);
}

/* Bad input: never a crash, never a made-up field. */
static void test_garbage(void **state)
{
	static const char *const texts[] = {
		"",
		"\n\n\n",
		"[",
		"[ 1",
		"[ 12.5",
		"[   12.345678] ",
		"Killed process",
		"Killed process x (y) total-vm:1kB, anon-rss:",
		"oom-kill:",
		"oom-kill:,,,,=,=,global_oom,pid=,uid=-",
		"oom-kill:constraint=CONSTRAINT_MEMCG,mems_allowed=0,2-3,oom_memcg=/a,pid=99999999999999999999999",
		"x invoked oom-killer: gfp_mask=, order=, oom_score_adj=",
		"[ 1] 2 3 4 5 6 7",
		"[99999999999999999999999] 1 2 3 4 5 6 7 name",
		"session closed for x (uid 1): ",
		"Jun  4 17:19:10",
		"Jun 44 17:19:10 host kernel: x",
		"#012#012#012",
		"sending SIGTERM to process 1 uid 2 \"",
	};
	struct collected c;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		parse_text(texts[i], strlen(texts[i]), &c);
		collected_free(&c);
	}
	/* binary bytes, NULs included */
	{
		unsigned char bin[4096];
		srand(7);
		for (size_t i = 0; i < sizeof(bin); i++)
			bin[i] = (unsigned char)rand();
		parse_text((const char *)bin, sizeof(bin), &c);
		collected_free(&c);
	}
	/* A table row cut short is no row; an overflowing pid is none. */
	parse_text("[ 1] 2 3 4 5 6\n", 15, &c);
	assert_int_equal(c.n, 0);
	collected_free(&c);
	{
		const char *s = "oom-kill:constraint=CONSTRAINT_MEMCG,mems_allowed=0,2-3,oom_memcg=/a,task=x,pid=99999999999999999999999\n";
		parse_text(s, strlen(s), &c);
		assert_int_equal(c.n, 1);
		assert_int_equal(c.ev[0].victim_pid, NONE);
		assert_string_equal(c.oom_memcg[0], "/a");
		assert_int_equal(c.ev[0].missing, MH | MT | MV);
		collected_free(&c);
	}
}

/* A report cut by the ring buffer's start, or whose header the rate
 * limit dropped: the parts that are there, the missing ones named. */
static void test_cut_reports(void **state)
{
	size_t len;
	char *t = slurp("fixture-13-6.1-global-user-session.txt", &len);
	const char *table = strstr(t, "[    500]");
	struct collected c;

	(void)state;
	assert_non_null(table);
	parse_text(table, len - (size_t)(table - t), &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ev[0].victim_pid, 473206);
	assert_int_equal(c.ev[0].constraint, GLOBAL);
	assert_int_equal(c.rows[0], 112 - 7);
	assert_int_equal(c.ev[0].missing, MH);
	collected_free(&c);

	/* ... and cut at the end, in the table */
	parse_text(t, (size_t)(strstr(t, "[ 316097]") - t), &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ev[0].victim_pid, NONE);
	assert_int_equal(c.ev[0].missing, MC | MV);
	assert_string_equal(c.trigger[0], "doxygen");
	collected_free(&c);
	free(t);
}

static void test_logline(void **state)
{
	struct mg_logline l;
	int64_t now = (int64_t)1764590400 * 1000000;
	const char *s;

	(void)state;
	s = "[ 7063.247407] Memory cgroup out of memory: Killed";
	mg_logline_split(s, strlen(s), now, &l);
	assert_true(l.has_mono);
	assert_int_equal(l.mono_usec, 7063247407ll);
	assert_memory_equal(l.msg, "Memory cgroup", 13);
	assert_null(l.ident);

	s = "Jun  4 17:19:10 iZ23 kernel: [ 12.5] oom_reaper: reaped process";
	mg_logline_split(s, strlen(s), now, &l);
	assert_true(l.has_time && l.has_mono);
	assert_int_equal(l.host_len, 4);
	assert_memory_equal(l.ident, "kernel", 6);
	assert_memory_equal(l.msg, "oom_reaper: reaped", 18);

	/* a kernel message that looks like "tag:" stays the message */
	s = "oom_reaper: reaped process 1 (x)";
	mg_logline_split(s, strlen(s), now, &l);
	assert_null(l.ident);
	assert_ptr_equal(l.msg, s);

	s = "2024-02-09T12:34:56+01:00 host earlyoom[12]: sending SIGTERM";
	mg_logline_split(s, strlen(s), now, &l);
	assert_true(l.has_time);
	assert_int_equal(l.usec, (int64_t)1707478496 * 1000000);
	assert_memory_equal(l.ident, "earlyoom", 8);

	s = "avril 16 21:08:50 systemd-oomd[93234]: Killed /x";
	mg_logline_split(s, strlen(s), now, &l);
	assert_true(l.has_time);
	assert_null(l.host);
	assert_memory_equal(l.ident, "systemd-oomd", 12);

	s = "Dec  1 10:05:00 lab pam_memguard(su-l:session): session closed";
	mg_logline_split(s, strlen(s), now, &l);
	assert_memory_equal(l.ident, "pam_memguard", 12);
	assert_int_equal(l.ident_len, 12);
	assert_memory_equal(l.msg, "session closed", 14);

	/* dmesg --time-format iso: no host, no program; "memory:" starts the
	 * kernel's message */
	s = "2026-12-01T23:58:06,900721+00:00 memory: usage 49152kB, limit 49152kB, failcnt 12";
	mg_logline_split(s, strlen(s), now, &l);
	assert_true(l.has_time);
	assert_int_equal(l.usec, (int64_t)1796169486 * 1000000 + 900721);
	assert_null(l.host);
	assert_null(l.ident);
	assert_memory_equal(l.msg, "memory: usage", 13);

	/* dmesg -r: the priority before the kernel's stamp */
	s = "<4>[ 1234.567890] oom_reaper: reaped process 5 (x)";
	mg_logline_split(s, strlen(s), now, &l);
	assert_true(l.has_mono);
	assert_int_equal(l.mono_usec, 1234567890ll);
	assert_null(l.ident);
	assert_memory_equal(l.msg, "oom_reaper: reaped", 18);

	/* busybox syslogd's "facility.priority" before the tag */
	s = "Dec  1 22:55:45 (none) authpriv.info su[171]: pam_memguard(su-l:session): x";
	mg_logline_split(s, strlen(s), now, &l);
	assert_int_equal(l.host_len, 6);
	assert_memory_equal(l.ident, "su", 2);
	assert_int_equal(l.ident_len, 2);
	assert_memory_equal(l.msg, "pam_memguard(", 13);

	{
		const char rec[] = "6,1234,5678901,-;hog invoked oom-killer\n SUBSYSTEM=x\n";
		const char *msg;
		size_t n;
		int64_t us;
		assert_int_equal(mg_kmsg_record(rec, sizeof(rec) - 1, &us, &msg, &n), 0);
		assert_int_equal(us, 5678901);
		assert_int_equal(n, strlen("hog invoked oom-killer"));
		assert_int_equal(mg_kmsg_record("garbage", 7, &us, &msg, &n), -EINVAL);
		assert_int_equal(mg_kmsg_record("6,x;m", 5, &us, &msg, &n), -EINVAL);
	}
}

static void test_logtime(void **state)
{
	int64_t now = (int64_t)1764590400 * 1000000, t; /* 2025-12-01 12:00:00 UTC */

	(void)state;
	assert_int_equal(mg_logtime_parse_user("now", now, &t), 0);
	assert_int_equal(t, now);
	assert_int_equal(mg_logtime_parse_user("-1h", now, &t), 0);
	assert_int_equal(t, now - 3600ll * 1000000);
	assert_int_equal(mg_logtime_parse_user("-30min", now, &t), 0);
	assert_int_equal(t, now - 1800ll * 1000000);
	assert_int_equal(mg_logtime_parse_user("-2d", now, &t), 0);
	assert_int_equal(t, now - 2 * 86400ll * 1000000);
	assert_int_equal(mg_logtime_parse_user("today", now, &t), 0);
	assert_int_equal(t, (int64_t)1764547200 * 1000000);
	assert_int_equal(mg_logtime_parse_user("yesterday", now, &t), 0);
	assert_int_equal(t, (int64_t)(1764547200 - 86400) * 1000000);
	assert_int_equal(mg_logtime_parse_user("2025-11-30", now, &t), 0);
	assert_int_equal(t, (int64_t)(1764547200 - 86400) * 1000000);
	assert_int_equal(mg_logtime_parse_user("2025-12-01 10:30", now, &t), 0);
	assert_int_equal(t, (int64_t)(1764547200 + 37800) * 1000000);
	assert_int_equal(mg_logtime_parse_user("2025-12-01T10:30:00+01:00", now, &t), 0);
	assert_int_equal(t, (int64_t)(1764547200 + 34200) * 1000000);
	assert_int_equal(mg_logtime_parse_user("10:30", now, &t), 0);
	assert_int_equal(t, (int64_t)(1764547200 + 37800) * 1000000);
	assert_int_equal(mg_logtime_parse_user("-1x", now, &t), -EINVAL);
	assert_int_equal(mg_logtime_parse_user("tomorrow", now, &t), -EINVAL);
	assert_int_equal(mg_logtime_parse_user("2025-13-01", now, &t), -EINVAL);
	assert_int_equal(mg_logtime_parse_user("25:00", now, &t), -EINVAL);
	assert_int_equal(mg_logtime_parse_user("", now, &t), -EINVAL);

	/* syslog stamps have no year: the one that is not in the future */
	assert_true(mg_logtime_syslog("Nov 30 23:00:00 x", 17, now, &t) > 0);
	assert_int_equal(t, (int64_t)(1764547200 - 3600) * 1000000);
	assert_true(mg_logtime_syslog("Dec 31 23:00:00 x", 17, now, &t) > 0);
	assert_int_equal(t, (int64_t)1735686000 * 1000000); /* 2024-12-31 */
	assert_true(mg_logtime_syslog("апр 28 01:23:30 PC", strlen("апр 28 01:23:30 PC"), now, &t) > 0);
	assert_int_equal(mg_logtime_syslog("Foo 28 01:23:30", 15, now, &t), 0);
	assert_true(mg_logtime_ctime("Thu Dec  7 00:05:14 2017", 24, &t) > 0);
	assert_int_equal(t, (int64_t)1512605114 * 1000000);
	assert_int_equal(mg_logtime_month("Mär", strlen("Mär")), 3);
	assert_int_equal(mg_logtime_month("janv.", 5), 1);
	assert_int_equal(mg_logtime_month("xyz", 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),     cmocka_unit_test(test_fixture_details),
		cmocka_unit_test(test_garbage),	     cmocka_unit_test(test_cut_reports),
		cmocka_unit_test(test_logline),	     cmocka_unit_test(test_logtime),
		cmocka_unit_test(test_close_records),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
