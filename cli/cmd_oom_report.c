/* memguardctl oom-report: what the OOM killers did, to whom, and why.
 * Reads the kernel log (/dev/kmsg) or log files, streaming: the parser
 * keeps only the events in flight, this file adds what memguard knows
 * (users, its groups, the policy line behind a cap) and hands each event
 * to a renderer. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "identity.h"
#include "logline.h"
#include "logtime.h"
#include "oom_parse.h"
#include "oom_report.h"

#define KMSG_PATH "/dev/kmsg"
#define LINE_CAP (64u << 10) /* longer lines are cut: no kernel line comes near */
#define NLINKS 256

struct link {
	char *memcg;
	bool has_time;
	int64_t usec;
};

struct oomrep {
	struct ctl *c;
	bool has_since, has_until;
	int64_t since, until;
	bool has_user;
	int64_t user_uid;
	const char *source;
	size_t shown, untimed;
	bool policy_tried, policy_ok;
	struct mg_policy p;
	uid_t uid_min, uid_max;
	bool cg_tried, cg_ok;
	struct mg_cg cg;
	struct link links[NLINKS];
	size_t nlinks, link_next;
};

static int64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The name of a uid through NSS, "" when it has none. A log names the
 * same few uids in every event: they are asked once. */
static void uid_name(int64_t uid, char *buf, size_t len)
{
	static struct {
		int64_t uid;
		char name[64];
	} cache[64];
	static size_t ncache, next;
	struct passwd pw, *res = NULL;
	char tmp[4096];

	buf[0] = '\0';
	if (uid < 0 || uid == MG_OOM_NONE || uid > (int64_t)(uid_t)-2)
		return;
	for (size_t i = 0; i < ncache; i++)
		if (cache[i].uid == uid) {
			snprintf(buf, len, "%s", cache[i].name);
			return;
		}
	if (getpwuid_r((uid_t)uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	cache[next].uid = uid;
	snprintf(cache[next].name, sizeof(cache[next].name), "%s", buf);
	next = (next + 1) % 64;
	if (ncache < 64)
		ncache++;
}

/* A uid written as digits: the whole of s[0..n). */
static bool digits_uid(const char *s, size_t n, int64_t *uid)
{
	int64_t v = 0;

	if (!n || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*uid = v;
	return true;
}

/* Where a kernel cgroup path sits in memguard's layout: BASE/user-UID,
 * BASE/user-UID/session-..., BASE itself (cgroupfs backend; BASE is
 * --cgroup-root's last part, default "memguard"), or the systemd
 * backend's user.slice/user-UID.slice/session-N.scope. */
static void group_info(const struct oomrep *r, const char *path, struct oom_group_info *g)
{
	const char *base = r->c->cgroup_root ? strrchr(r->c->cgroup_root, '/') : NULL;
	const char *comp[64];
	size_t len[64], n = 0;

	memset(g, 0, sizeof(*g));
	g->uid = MG_OOM_NONE;
	base = base ? base + 1 : "memguard";
	if (!path)
		return;
	for (const char *s = path; *s && n < 64;) {
		const char *e = strchr(s, '/');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (l) {
			comp[n] = s;
			len[n++] = l;
		}
		if (!e)
			break;
		s = e + 1;
	}
	if (!n)
		return;
	if ((len[n - 1] == strlen(base) && memcmp(comp[n - 1], base, len[n - 1]) == 0) ||
	    (len[n - 1] == 10 && memcmp(comp[n - 1], "user.slice", 10) == 0)) {
		g->level = OOM_LEVEL_ALL;
		g->systemd = memcmp(comp[n - 1], "user.slice", 10) == 0 && len[n - 1] == 10;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool sd = len[i] > 11 && memcmp(comp[i] + len[i] - 6, ".slice", 6) == 0;
		size_t ul = sd ? len[i] - 6 : len[i];
		int64_t uid;

		if (ul <= 5 || memcmp(comp[i], "user-", 5) != 0 || !digits_uid(comp[i] + 5, ul - 5, &uid))
			continue;
		if (i == n - 1) {
			g->level = OOM_LEVEL_USER;
		} else if (i == n - 2 && len[n - 1] > 8 && memcmp(comp[n - 1], "session-", 8) == 0 &&
			   (!sd || (len[n - 1] > 14 && memcmp(comp[n - 1] + len[n - 1] - 6, ".scope", 6) == 0))) {
			g->level = OOM_LEVEL_SESSION;
			snprintf(g->session, sizeof(g->session), "%.*s", (int)len[n - 1], comp[n - 1]);
		} else
			continue;
		g->uid = uid;
		g->systemd = sd;
		uid_name(uid, g->user, sizeof(g->user));
		return;
	}
}

static bool load_policy(struct oomrep *r)
{
	struct mg_diags d = { 0 };

	if (!r->policy_tried) {
		r->policy_tried = true;
		mg_login_defs_uid_range(r->c->login_defs, &r->uid_min, &r->uid_max);
		r->policy_ok = ctl_load(r->c, &r->p, NULL, &d) >= 0;
		mg_diags_free(&d);
	}
	return r->policy_ok;
}

/* The policy line that sets the cap of this group today, resolved as
 * memguardctl show resolves it. */
static void find_rule(struct oomrep *r, const struct oom_group_info *g, struct oom_rule *out)
{
	struct mg_identity_buf who;
	struct mg_resolved res;
	enum mg_key key = g->level == OOM_LEVEL_SESSION ? MG_KEY_SESSION_MEMORY_MAX : MG_KEY_MEMORY_MAX;

	memset(out, 0, sizeof(*out));
	if (g->level == OOM_LEVEL_NONE || !load_policy(r))
		return;
	if (g->level == OOM_LEVEL_ALL) {
		mg_policy_resolve_all_sessions(&r->p, &res);
	} else {
		if (!g->user[0] || mg_identity_lookup(g->user, r->uid_min, r->uid_max, &who) < 0)
			return;
		mg_policy_resolve(&r->p, &who.id, &res);
		mg_identity_free(&who);
	}
	snprintf(out->key, sizeof(out->key), "%s%s", g->level == OOM_LEVEL_ALL ? "%all " : "", mg_key_info(key)->name);
	if (!res.src[key])
		return;
	out->found = true;
	mg_value_format(key, &res.v[key], out->value, sizeof(out->value));
	snprintf(out->file, sizeof(out->file), "%s", res.src[key]->file);
	out->line = res.src[key]->line;
	snprintf(out->who, sizeof(out->who), "%s", res.src[key]->who);
}

static bool live_limit(struct oomrep *r, const char *path, uint64_t *v)
{
	char *dir = NULL;
	bool ok;

	if (!r->cg_tried) {
		r->cg_tried = true;
		r->cg_ok = mg_cg_detect(r->c->cgroup_root, &r->cg) == 0;
	}
	if (!r->cg_ok || !path || strstr(path, "/../") || asprintf(&dir, "%s%s", r->cg.mount, path) < 0)
		return false;
	ok = mg_cg_read_limit(dir, r->cg.version == 2 ? "memory.max" : "memory.limit_in_bytes", v) == 0;
	free(dir);
	return ok;
}

static const struct mg_oom_event *sort_ev;

static int cmp_rss(const void *a, const void *b)
{
	const struct mg_oom_task *x = *(const struct mg_oom_task *const *)a, *y = *(const struct mg_oom_task *const *)b;
	int64_t rx = x->rss == MG_OOM_NONE ? -1 : x->rss, ry = y->rss == MG_OOM_NONE ? -1 : y->rss;

	if (rx != ry)
		return rx > ry ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_uidsum(const void *a, const void *b)
{
	const struct oom_uid_sum *x = a, *y = b;

	if (x->rss_bytes != y->rss_bytes)
		return x->rss_bytes > y->rss_bytes ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The ranked table and its sums per uid. */
static int rank(struct oom_view *v)
{
	const struct mg_oom_event *ev = v->ev;

	sort_ev = ev;
	v->ranked = calloc(ev->ntasks ? ev->ntasks : 1, sizeof(*v->ranked));
	v->uids = calloc(ev->ntasks ? ev->ntasks : 1, sizeof(*v->uids));
	if (!v->ranked || !v->uids)
		return -ENOMEM;
	for (size_t i = 0; i < ev->ntasks; i++)
		v->ranked[i] = &ev->tasks[i];
	v->nranked = ev->ntasks;
	qsort(v->ranked, v->nranked, sizeof(*v->ranked), cmp_rss);
	for (size_t i = 0; i < ev->ntasks; i++) {
		const struct mg_oom_task *t = &ev->tasks[i];
		size_t j;

		if (t->uid == MG_OOM_NONE)
			continue;
		for (j = 0; j < v->nuids && v->uids[j].uid != t->uid; j++)
			;
		if (j == v->nuids) {
			v->uids[j].uid = t->uid;
			v->nuids++;
		}
		v->uids[j].tasks++;
		if (t->rss != MG_OOM_NONE && t->rss > 0)
			v->uids[j].rss_bytes += (uint64_t)t->rss * v->page_bytes;
	}
	qsort(v->uids, v->nuids, sizeof(*v->uids), cmp_uidsum);
	for (size_t j = 0; j < v->nuids; j++)
		uid_name(v->uids[j].uid, v->uids[j].user, sizeof(v->uids[j].user));
	return 0;
}

static bool path_ends_with(const char *abs, const char *rel)
{
	size_t a = strlen(abs), r = strlen(rel);

	return r && a >= r && strcmp(abs + a - r, rel) == 0 && (a == r || rel[0] == '/' || abs[a - r - 1] == '/');
}

static void remember(struct oomrep *r, const struct mg_oom_event *ev)
{
	const char *g = ev->task_memcg ? ev->task_memcg : ev->oom_memcg;
	struct link *l = &r->links[r->link_next];

	if (!g)
		return;
	free(l->memcg);
	l->memcg = strdup(g);
	l->has_time = ev->has_time;
	l->usec = ev->usec;
	r->link_next = (r->link_next + 1) % NLINKS;
	if (r->nlinks < NLINKS)
		r->nlinks++;
}

static void link_record(struct oomrep *r, struct oom_view *v)
{
	if (!v->ev->group)
		return;
	for (size_t i = 0; i < r->nlinks; i++) {
		const struct link *l = &r->links[i];
		if (!l->memcg || !path_ends_with(v->ev->group, l->memcg) || strcmp(l->memcg, "/") == 0)
			continue;
		v->linked_events++;
		if (l->has_time && (!v->linked_has_time || l->usec > v->linked_last_usec)) {
			v->linked_has_time = true;
			v->linked_last_usec = l->usec;
		}
	}
}

/* Does the event concern the --user: its victim, a group of the user's,
 * or (global OOM) the user's tasks were the largest consumer. */
static bool concerns_user(const struct oomrep *r, const struct oom_view *v)
{
	const struct mg_oom_event *ev = v->ev;
	int64_t u = r->user_uid;

	if (ev->type == MG_OOM_SESSION_CLOSE)
		return ev->uid == u;
	if (ev->victim_uid == u || v->oom_group.uid == u || v->task_group.uid == u || v->oomd_group.uid == u)
		return true;
	return v->nuids && v->uids[0].uid == u;
}

static void on_event(const struct mg_oom_event *ev, void *data)
{
	struct oomrep *r = data;
	struct oom_view v = { .ev = ev, .source = r->source, .victim_rss_bytes = MG_OOM_NONE };

	/* A logout without OOM kills is no event. A shared session group's
	 * record carries only the user's counts. */
	if (ev->type == MG_OOM_SESSION_CLOSE &&
	    !(ev->oom_kills != MG_OOM_NONE ? ev->oom_kills > 0
					   : ev->user_oom_kills != MG_OOM_NONE && ev->user_oom_kills > 0))
		return;
	if (r->has_since || r->has_until) {
		if (!ev->has_time) {
			r->untimed++;
			return;
		}
		if ((r->has_since && ev->usec < r->since) || (r->has_until && ev->usec > r->until))
			return;
	}
	v.page_bytes = mg_oom_page_bytes(ev, &v.page_inferred);
	if (rank(&v) < 0) {
		ctl_err("out of memory");
		goto out;
	}
	if (ev->anon_rss_kb != MG_OOM_NONE) {
		v.victim_rss_bytes = ev->anon_rss_kb * 1024;
		if (ev->file_rss_kb != MG_OOM_NONE)
			v.victim_rss_bytes += ev->file_rss_kb * 1024;
		if (ev->shmem_rss_kb != MG_OOM_NONE)
			v.victim_rss_bytes += ev->shmem_rss_kb * 1024;
	}
	uid_name(ev->type == MG_OOM_SESSION_CLOSE ? MG_OOM_NONE : ev->victim_uid, v.victim_user, sizeof(v.victim_user));
	uid_name(ev->trigger_uid, v.trigger_user, sizeof(v.trigger_user));
	group_info(r, ev->oom_memcg, &v.oom_group);
	group_info(r, ev->task_memcg, &v.task_group);
	group_info(r, ev->cgroup, &v.oomd_group);
	if (ev->type == MG_OOM_KERNEL && ev->constraint == MG_OOM_CONSTRAINT_MEMCG && ev->oom_memcg) {
		v.has_live_limit = live_limit(r, ev->oom_memcg, &v.live_limit);
		find_rule(r, &v.oom_group, &v.rule);
	}
	if (ev->type == MG_OOM_SESSION_CLOSE)
		link_record(r, &v);
	if (r->has_user && !concerns_user(r, &v))
		goto out;
	if (ev->type == MG_OOM_KERNEL)
		remember(r, ev);
	if (r->c->json)
		oom_render_json(stdout, &v);
	else
		oom_render_text(stdout, &v, r->c->brief);
	r->shown++;
out:
	free(v.ranked);
	free(v.uids);
}

/* Lines of fd, each at most LINE_CAP bytes (the rest of a longer one is
 * dropped): memory stays the same whatever the input. */
static int feed_fd(struct mg_oom_parser *p, int fd)
{
	char *buf = malloc(LINE_CAP);
	size_t have = 0;
	bool skipping = false;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + have, LINE_CAP - have);
		size_t start = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0) {
			if (have && !skipping)
				r = mg_oom_feed(p, buf, have);
			break;
		}
		have += (size_t)n;
		for (;;) {
			char *nl = memchr(buf + start, '\n', have - start);
			if (!nl)
				break;
			if (!skipping && (r = mg_oom_feed(p, buf + start, (size_t)(nl - (buf + start)))) < 0)
				goto out;
			skipping = false;
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == LINE_CAP) {
			if (!skipping && (r = mg_oom_feed(p, buf, have)) < 0)
				goto out;
			skipping = true;
			have = 0;
		}
	}
out:
	free(buf);
	return r;
}

/* The kernel's ring buffer from its oldest record, without waiting for
 * new ones. */
static int feed_kmsg(struct mg_oom_parser *p, int fd)
{
	char rec[8192];

	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		const char *msg;
		size_t len;
		int64_t mono;

		if (n < 0 && (errno == EINTR || errno == EPIPE))
			continue; /* EPIPE: records overwritten while we read */
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (mg_kmsg_record(rec, (size_t)n, &mono, &msg, &len) == 0 && mg_oom_feed_mono(p, msg, len, mono) < 0)
			return -ENOMEM;
	}
}

static int64_t boot_usec(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000 + (rt.tv_nsec - bt.tv_nsec) / 1000;
}

static int run_source(struct oomrep *r, const char *path)
{
	struct mg_oom_options o = { .now_usec = now_usec() };
	struct mg_oom_parser *p = NULL;
	bool kmsg = !path;
	int fd, e;

	if (kmsg) {
		fd = open(KMSG_PATH, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			e = errno;
			ctl_err("cannot read the kernel log %s: %s%s", KMSG_PATH, strerror(e),
				e == EACCES || e == EPERM ? " (it needs root or CAP_SYSLOG; or give a file, e.g. "
							    "'journalctl -k -o short-iso | memguardctl oom-report -')"
							  : "");
			return -e;
		}
		o.has_boot_time = true;
		o.boot_usec = boot_usec();
		r->source = KMSG_PATH;
	} else if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
		r->source = "-";
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			e = errno;
			ctl_err("cannot read %s: %s", path, strerror(e));
			return -e;
		}
		r->source = path;
	}
	e = mg_oom_parser_new(&o, on_event, r, &p);
	if (e == 0)
		e = kmsg ? feed_kmsg(p, fd) : feed_fd(p, fd);
	if (p && e != -ENOMEM)
		mg_oom_finish(p);
	mg_oom_parser_free(p);
	if (e < 0)
		ctl_err("cannot read %s: %s", kmsg ? KMSG_PATH : path, strerror(-e));
	if (fd != STDIN_FILENO)
		close(fd);
	return e;
}

static int parse_user(struct oomrep *r, const char *arg)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int64_t uid;

	r->has_user = true;
	if (digits_uid(arg, strlen(arg), &uid) && uid <= (int64_t)(uid_t)-2) {
		r->user_uid = uid;
		return 0;
	}
	if (getpwnam_r(arg, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return ctl_usage_err("--user %s: no such user (a uid works too)", arg);
	r->user_uid = res->pw_uid;
	return 0;
}

int cmd_oom_report(struct ctl *c, int argc, char **argv)
{
	struct oomrep r = { .c = c };
	int64_t now = now_usec();
	int failed = 0, e;

	if (c->json && c->brief)
		return ctl_usage_err("--brief and --json do not go together");
	if (c->since) {
		if (mg_logtime_parse_user(c->since, now, &r.since) < 0)
			return ctl_usage_err("--since %s: expected a time such as today, -1h, 2026-12-01 10:00", c->since);
		r.has_since = true;
	}
	if (c->until) {
		if (mg_logtime_parse_user(c->until, now, &r.until) < 0)
			return ctl_usage_err("--until %s: expected a time such as now, -30min, 2026-12-01", c->until);
		r.has_until = true;
	}
	if (c->user && (e = parse_user(&r, c->user)) != 0)
		return e;
	if (argc == 0)
		failed = run_source(&r, NULL) < 0;
	for (int i = 0; i < argc; i++)
		if (run_source(&r, argv[i]) < 0)
			failed = 1;
	if (r.untimed)
		ctl_warn("%zu event%s without a time left out by --since/--until", r.untimed, r.untimed == 1 ? "" : "s");
	if (!r.shown && !c->json)
		fprintf(stderr, "%s: no OOM events found\n", ctl_prog);
	for (size_t i = 0; i < NLINKS; i++)
		free(r.links[i].memcg);
	if (r.policy_tried)
		mg_policy_free(&r.p);
	if (r.cg_tried)
		mg_cg_free(&r.cg);
	return failed || !r.shown ? EXIT_PROBLEMS : EXIT_OK;
}
