/* memguardctl metrics: the status snapshot in the Prometheus text
 * exposition format, for node_exporter's textfile collector: memguard_
 * prefix, base units, counters ending in _total, HELP and TYPE for every
 * family. With --output the file is replaced atomically (a temporary
 * file in the same directory, renamed), so a scrape never sees half of
 * it; a run that cannot read the live state leaves the old file, whose
 * memguard_last_read_timestamp_seconds then tells its age. Session
 * series only with --sessions: one series per session is costly. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "live.h"
#include "snapshot.h"

enum mtype { GAUGE, COUNTER };

/* What a family's value is, read off a group. */
enum what {
	W_USAGE, W_PEAK, W_MAX, W_HIGH, W_SWAP_MAX, W_LOW, W_MIN, W_EFFECTIVE,
	W_EV_HIGH, W_EV_MAX, W_EV_OOM, W_OOM_KILLS, W_PSI_SOME, W_PSI_FULL, W_PROCS,
};

static const struct family {
	const char *name;
	enum mtype type;
	enum what what;
	const char *help;
} group_families[] = {
	{ "memory_usage_bytes", GAUGE, W_USAGE, "Memory charged to the group now (memory.current, v1 usage_in_bytes)." },
	{ "memory_peak_bytes", GAUGE, W_PEAK, "Highest memory use seen (memory.peak, v1 max_usage_in_bytes)." },
	{ "memory_max_bytes", GAUGE, W_MAX, "The group's hard cap (memory.max, v1 limit_in_bytes); +Inf when none." },
	{ "memory_high_bytes", GAUGE, W_HIGH, "The group's throttling cap (memory.high, v1 soft limit); +Inf when none." },
	{ "memory_swap_max_bytes", GAUGE, W_SWAP_MAX, "The group's swap cap (memory.swap.max); +Inf when none." },
	{ "memory_low_bytes", GAUGE, W_LOW, "The group's best-effort protection (memory.low)." },
	{ "memory_min_bytes", GAUGE, W_MIN, "The group's hard protection (memory.min)." },
	{ "memory_limit_effective_bytes", GAUGE, W_EFFECTIVE,
	  "The hard cap in force: the least over the group and its ancestors; +Inf when none." },
	{ "memory_events_high_total", COUNTER, W_EV_HIGH, "Times the group was throttled at memory.high." },
	{ "memory_events_max_total", COUNTER, W_EV_MAX, "Times the group hit its hard cap (v1 failcnt)." },
	{ "memory_events_oom_total", COUNTER, W_EV_OOM, "Times the group's cap led to an OOM (cgroup v2)." },
	{ "oom_kills_total", COUNTER, W_OOM_KILLS, "Processes the kernel OOM-killed in the group." },
	{ "pressure_memory_waiting_seconds_total", COUNTER, W_PSI_SOME,
	  "Time some of the group's tasks stalled on memory (PSI some)." },
	{ "pressure_memory_stalled_seconds_total", COUNTER, W_PSI_FULL,
	  "Time all of the group's tasks stalled on memory (PSI full)." },
	{ "processes", GAUGE, W_PROCS, "Processes in the group and below." },
};

#define NFAM (sizeof(group_families) / sizeof(group_families[0]))

static bool limit_value(const struct snap_group *g, enum mg_key k, double *v)
{
	if (!g->live.has[k])
		return false;
	*v = g->live.bytes[k] == MG_CG_UNLIMITED ? INFINITY : (double)g->live.bytes[k];
	return true;
}

static bool value_of(const struct snap_group *g, enum what w, double *v)
{
	switch (w) {
	case W_USAGE:
		*v = (double)g->live.current;
		return g->live.has_current;
	case W_PEAK:
		*v = (double)g->ev.peak;
		return g->ev.has_peak;
	case W_MAX:
		return limit_value(g, MG_KEY_MEMORY_MAX, v);
	case W_HIGH:
		return limit_value(g, MG_KEY_MEMORY_HIGH, v);
	case W_SWAP_MAX:
		return limit_value(g, MG_KEY_MEMORY_SWAP_MAX, v);
	case W_LOW:
		return limit_value(g, MG_KEY_MEMORY_LOW, v);
	case W_MIN:
		return limit_value(g, MG_KEY_MEMORY_MIN, v);
	case W_EFFECTIVE:
		*v = g->eff == MG_CG_UNLIMITED ? INFINITY : (double)g->eff;
		return true;
	case W_EV_HIGH:
		*v = (double)g->ev.high;
		return g->ev.has_high;
	case W_EV_MAX:
		*v = (double)g->ev.max;
		return g->ev.has_max;
	case W_EV_OOM:
		*v = (double)g->ev.oom;
		return g->ev.has_oom;
	case W_OOM_KILLS:
		*v = (double)g->ev.oom_kills;
		return g->ev.has_oom_kills;
	case W_PSI_SOME:
		*v = (double)g->psi.some.total_us / 1e6;
		return g->has_psi && g->psi.some.has;
	case W_PSI_FULL:
		*v = (double)g->psi.full.total_us / 1e6;
		return g->has_psi && g->psi.full.has;
	case W_PROCS:
		*v = g->procs;
		return true;
	}
	return false;
}

/* A label value: backslash, double quote and line feed escaped. */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void value(FILE *f, double v)
{
	if (isinf(v))
		fputs(" +Inf\n", f);
	else if (v == (double)(uint64_t)v && v < 1e19)
		fprintf(f, " %llu\n", (unsigned long long)v);
	else
		fprintf(f, " %.6f\n", v);
}

static void head(FILE *f, const char *prefix, const char *name, enum mtype t, const char *help)
{
	fprintf(f, "# HELP memguard_%s%s %s\n# TYPE memguard_%s%s %s\n", prefix, name, help, prefix, name,
		t == COUNTER ? "counter" : "gauge");
}

static void user_labels(FILE *f, const struct snap_user *u)
{
	char uid[16];

	snprintf(uid, sizeof(uid), "%u", (unsigned)u->uid);
	fputs("{user=", f);
	label(f, u->name ? u->name : uid);
	fputs(",uid=", f);
	label(f, uid);
}

static void render(FILE *f, const struct ctl *c, const struct snapshot *s)
{
	double v;

	/* Per user group. */
	for (size_t k = 0; k < NFAM; k++) {
		const struct family *fam = &group_families[k];

		head(f, "user_", fam->name, fam->type, fam->help);
		for (size_t i = 0; i < s->nu; i++) {
			const struct snap_group *g = snap_user_group(&s->u[i]);

			if (!g || !value_of(g, fam->what, &v))
				continue;
			fprintf(f, "memguard_user_%s", fam->name);
			user_labels(f, &s->u[i]);
			fputc('}', f);
			value(f, v);
		}
	}
	head(f, "user_", "sessions", GAUGE, "Session groups of the user.");
	for (size_t i = 0; i < s->nu; i++) {
		if (!snap_user_group(&s->u[i]))
			continue;
		fputs("memguard_user_sessions", f);
		user_labels(f, &s->u[i]);
		fputc('}', f);
		value(f, (double)(s->u[i].ng - 1));
	}
	head(f, "user_", "over_policy", GAUGE,
	     "1 when a cap of the user's group is above the policy's or missing (apply --lower, or a login, brings it in line).");
	for (size_t i = 0; i < s->nu; i++) {
		const struct snap_group *g = snap_user_group(&s->u[i]);

		if (!g || !g->has_want)
			continue;
		fputs("memguard_user_over_policy", f);
		user_labels(f, &s->u[i]);
		fputc('}', f);
		value(f, g->flag && strcmp(g->flag, "below policy") != 0);
	}
	if (c->sessions) {
		for (size_t k = 0; k < NFAM; k++) {
			const struct family *fam = &group_families[k];

			head(f, "session_", fam->name, fam->type, fam->help);
			for (size_t i = 0; i < s->nu; i++)
				for (size_t j = 0; j < s->u[i].ng; j++) {
					const struct snap_group *g = &s->u[i].g[j];

					if (g->kind != KIND_SESSION || !value_of(g, fam->what, &v))
						continue;
					fprintf(f, "memguard_session_%s", fam->name);
					user_labels(f, &s->u[i]);
					fputs(",session=", f);
					label(f, g->name);
					fputc('}', f);
					value(f, v);
				}
		}
	}
	/* Per host: memguard's %all group and the counts. */
	for (size_t k = 0; k < NFAM; k++) {
		const struct family *fam = &group_families[k];

		head(f, "all_", fam->name, fam->type, fam->help);
		if (s->has_all && value_of(&s->all, fam->what, &v)) {
			fprintf(f, "memguard_all_%s", fam->name);
			value(f, v);
		}
	}
	head(f, "", "users", GAUGE, "Users with a live memguard group.");
	fputs("memguard_users", f);
	value(f, (double)s->nu);
	head(f, "", "groups", GAUGE, "Live memguard user and session groups.");
	fputs("memguard_groups", f);
	value(f, s->ngroups);
	head(f, "", "sessions", GAUGE, "Live session groups.");
	fputs("memguard_sessions", f);
	value(f, s->nsessions);
	head(f, "", "stale_sessions", GAUGE, "Session groups whose login has ended or that hold no process (gc removes the empty ones).");
	fputs("memguard_stale_sessions", f);
	v = 0;
	for (size_t i = 0; i < s->nu; i++)
		for (size_t j = 0; j < s->u[i].ng; j++)
			v += s->u[i].g[j].kind == KIND_SESSION && s->u[i].g[j].stale;
	value(f, v);
	head(f, "", "policy_errors", GAUGE, "Errors in the policy files (memguardctl check shows them).");
	fputs("memguard_policy_errors", f);
	value(f, (double)s->policy_errors);
	head(f, "", "last_read_timestamp_seconds", GAUGE, "When these figures were read, in seconds since the epoch.");
	fputs("memguard_last_read_timestamp_seconds", f);
	value(f, (double)s->at);
}

/* The file replaced at once: a temporary file beside it, renamed. */
static int write_atomic(const struct ctl *c, const struct snapshot *s)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	FILE *f;
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", c->output, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (!(f = fdopen(fd, "w"))) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	render(f, c, s);
	if (fflush(f) != 0 || ferror(f) || fchmod(fd, 0644) < 0 || fsync(fd) < 0)
		r = -errno ? -errno : -EIO;
	if (fclose(f) != 0 && !r)
		r = -errno;
	if (!r && rename(tmp, c->output) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", c->output);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

int cmd_metrics(struct ctl *c, int argc, char **argv)
{
	struct live lv;
	struct mg_policy p;
	struct mg_diags d = { 0 };
	struct snapshot s;
	size_t errors;
	bool policy_ok;
	int r;

	(void)argv;
	if (argc > 0)
		return ctl_usage_err("metrics takes no arguments");
	r = live_choose(&lv, c);
	if (r)
		return r;
	r = ctl_load(c, &p, NULL, &d);
	errors = d.errors;
	/* A timer runs this every 30 s: the policy's problems are check's. */
	mg_diags_free(&d);
	if (r == -ENOMEM)
		goto out_policy;
	policy_ok = r >= 0;
	if (!policy_ok && errors == 0)
		errors = 1;
	r = live_open(&lv);
	if (r < 0)
		goto out;
	r = snapshot_take(&s, c, &lv, &p, policy_ok, errors, 0, NULL);
	if (r == 0) {
		if (c->output) {
			r = write_atomic(c, &s);
			if (r < 0)
				ctl_err("cannot write %s: %s", c->output, strerror(-r));
		} else {
			render(stdout, c, &s);
		}
		if (r == 0)
			r = s.failed;
	}
	snapshot_free(&s);
out:
	live_close(&lv);
out_policy:
	mg_policy_free(&p);
	return r;
}
