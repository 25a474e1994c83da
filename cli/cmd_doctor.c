/* memguardctl doctor: is memguard in force on this host, and if not, why.
 * Each check adds findings (what holds, or what is wrong and the fix) to
 * one list; the text and the JSON are two renderers over it. Exit 0:
 * healthy, 1: warnings, 3: errors (2 stays the usage error's). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_stat.h"
#include "ctl.h"
#include "oom_adj.h"
#include "pamconf.h"
#include "readfile.h"

#define EXIT_DOCTOR_ERRORS 3
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

enum sev { SEV_OK, SEV_NOTE, SEV_WARNING, SEV_ERROR };

struct finding {
	enum sev sev;
	const char *check;
	char *msg, *fix;
};

struct doctor {
	struct ctl *c;
	struct finding *v;
	size_t n;
	unsigned warnings, errors;
	bool systemd;  /* systemd manages the cgroups */
	bool sd_backend; /* logins use the systemd backend */
	struct mg_pamconf pc;
	bool have_pc;
	struct ctl_module_use *uses;
	size_t nuses;
};

__attribute__((format(printf, 4, 5))) static void add(struct doctor *d, enum sev sev, const char *check,
						      const char *fmt, ...)
{
	struct finding *grown = realloc(d->v, (d->n + 1) * sizeof(*grown));
	va_list ap;

	if (!grown)
		return;
	d->v = grown;
	grown[d->n] = (struct finding){ sev, check, NULL, NULL };
	va_start(ap, fmt);
	if (vasprintf(&grown[d->n].msg, fmt, ap) < 0)
		grown[d->n].msg = NULL;
	va_end(ap);
	d->n++;
	if (sev == SEV_WARNING)
		d->warnings++;
	else if (sev == SEV_ERROR)
		d->errors++;
}

/* The fix of the finding just added. */
__attribute__((format(printf, 2, 3))) static void fix(struct doctor *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->n)
		return;
	va_start(ap, fmt);
	if (vasprintf(&d->v[d->n - 1].fix, fmt, ap) < 0)
		d->v[d->n - 1].fix = NULL;
	va_end(ap);
}

static bool readable_text(const char *path, char *buf, size_t len)
{
	char *t = NULL;
	size_t n;

	if (mg_read_file(path, len - 1, &t, &n) < 0)
		return false;
	snprintf(buf, len, "%s", t);
	free(t);
	return true;
}

/* ---- cgroups ---- */

static void check_cgroups(struct doctor *d)
{
	struct statfs sf;
	struct mg_cg cg;
	const char *root = d->c->cgroup_root;
	bool unified = statfs("/sys/fs/cgroup", &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
	bool hybrid = !unified && statfs("/sys/fs/cgroup/unified", &sf) == 0 &&
		      (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
	int r;

	if (unified)
		add(d, SEV_OK, "cgroup.version", "cgroup v2 (unified) at /sys/fs/cgroup");
	else
		add(d, SEV_OK, "cgroup.version", "cgroup v1%s: the memory controller at /sys/fs/cgroup/memory",
		    hybrid ? " (hybrid: a cgroup2 mount at /sys/fs/cgroup/unified without the memory controller)" : "");
	if (d->sd_backend) {
		add(d, SEV_OK, "cgroup.tree", "logins use the systemd backend: caps go on user-UID.slice and session scopes");
		return;
	}
	r = mg_cg_detect(root, &cg);
	if (r < 0) {
		add(d, SEV_ERROR, "cgroup.memory", "no cgroup memory controller at %s: %s", root ? root : "/sys/fs/cgroup",
		    r == -ENODEV ? "not a cgroup file system with the memory controller" : strerror(-r));
		if (root)
			fix(d, "give cgroup_root= a directory below a memory cgroup (v1: under /sys/fs/cgroup/memory; v2: "
			       "a group whose parents enable +memory in cgroup.subtree_control)");
		else
			fix(d, "mount the memory controller (v1: /sys/fs/cgroup/memory; v2: enable +memory at the root)");
		return;
	}
	add(d, SEV_OK, "cgroup.memory", "memory controller (v%d) for memguard's tree %s", cg.version, cg.base);
	if (cg.version == 2) {
		/* Every ancestor of the tree must pass memory down. */
		char path[PATH_MAX], text[512];
		size_t ml = strlen(cg.mount);

		snprintf(path, sizeof(path), "%s", cg.base);
		while (strlen(path) > ml) {
			char *slash = strrchr(path, '/');
			char file[PATH_MAX + 32];

			if (!slash)
				break;
			*slash = '\0';
			if (strlen(path) < ml)
				break;
			snprintf(file, sizeof(file), "%s/cgroup.subtree_control", path);
			if (readable_text(file, text, sizeof(text)) && !strstr(text, "memory")) {
				add(d, SEV_ERROR, "cgroup.delegation", "%s does not enable the memory controller for its children",
				    path);
				fix(d, "echo +memory > %s (and in each group above it)", file);
				break;
			}
		}
	}
	{
		char parent[PATH_MAX], *slash;
		bool exists = access(cg.base, F_OK) == 0;

		snprintf(parent, sizeof(parent), "%s", cg.base);
		if ((slash = strrchr(parent, '/')) && slash != parent)
			*slash = '\0';
		if (access(exists ? cg.base : parent, W_OK) != 0) {
			add(d, SEV_ERROR, "cgroup.write", "%s is not writable by this user: logins run as root would be able "
							  "to, check as root",
			    exists ? cg.base : parent);
			fix(d, "run memguardctl doctor as root");
		} else {
			add(d, SEV_OK, "cgroup.write", "%s %s", exists ? cg.base : parent,
			    exists ? "exists and is writable" : "is writable: the first login makes memguard's tree");
		}
	}
	/* v1 without swap accounting: memory.swap.max cannot be applied. */
	if (cg.version == 1) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", cg.mount);
		if (access(path, F_OK) == 0)
			add(d, SEV_OK, "cgroup.swap", "swap accounting on (memory.memsw.limit_in_bytes)");
		else {
			add(d, SEV_WARNING, "cgroup.swap", "no swap accounting on cgroup v1: memory.swap.max is not applied and "
							   "a capped session can use swap freely");
			fix(d, "boot with swapaccount=1");
		}
	}
	mg_cg_free(&cg);
}

/* ---- PAM ---- */

static bool module_found(const char *target, char *where, size_t len)
{
	static const char *const dirs[] = { "/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
					    "/lib/security", "/usr/lib/security", "/lib64/security", "/usr/lib64/security",
					    "/usr/local/lib/security" };

	if (target[0] == '/') {
		snprintf(where, len, "%s", target);
		return access(target, R_OK) == 0;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(where, len, "%s/%s", dirs[i], target);
		if (access(where, R_OK) == 0)
			return true;
	}
	snprintf(where, len, "%s", target);
	return false;
}

static void check_pam(struct doctor *d)
{
	const char *dir = d->c->pam_dir ? d->c->pam_dir : MG_PAMD_DEFAULT;
	struct mg_diags diags = { 0 };
	int r = mg_pamconf_load(d->c->pam_dir, &d->pc, &diags);
	unsigned services = 0;

	if (r < 0) {
		add(d, SEV_ERROR, "pam.read", "cannot read the PAM configuration %s: %s", dir, strerror(-r));
		mg_diags_free(&diags);
		return;
	}
	d->have_pc = true;
	for (size_t i = 0; i < diags.n; i++) {
		char line[1200];

		mg_diag_format(&diags.v[i], line, sizeof(line));
		add(d, diags.v[i].severity == MG_ERROR ? SEV_WARNING : SEV_NOTE, "pam.syntax", "%s", line);
	}
	mg_diags_free(&diags);
	if (ctl_module_uses(&d->pc, &d->uses, &d->nuses, &diags) < 0) {
		add(d, SEV_ERROR, "pam.read", "out of memory");
		return;
	}
	for (size_t i = 0; i < diags.n; i++) {
		char line[1200];

		mg_diag_format(&diags.v[i], line, sizeof(line));
		add(d, SEV_WARNING, "pam.arguments", "%s", line);
	}
	mg_diags_free(&diags);
	for (size_t i = 0; i < d->pc.nsvc; i++) {
		const struct mg_pam_service *s = &d->pc.svc[i];
		struct mg_pam_layout l;
		char order[2048] = "";
		size_t ol = 0;

		if (s->file->included)
			continue;
		mg_pamconf_layout(s, &l);
		for (size_t j = 0; j < s->n; j++) {
			const struct mg_pam_entry *e = s->steps[j].e;
			struct mg_modargs a;
			struct mg_diags none = { 0 };
			char where[PATH_MAX];

			if (!mg_pam_entry_loads(e, MG_PAM_MODULE_NAME))
				continue;
			mg_modargs_parse(s->steps[j].file, e, &a, &none);
			mg_diags_free(&none);
			if (!mg_modargs_service_wanted(&a, s->file->name) || module_found(e->target, where, sizeof(where)))
				continue;
			add(d, e->dash ? SEV_WARNING : SEV_ERROR, "pam.module", "%s:%u: %s names %s, which is not there%s",
			    s->steps[j].file->path, e->line, s->file->name, where,
			    e->dash ? " (a '-session' line: logins go on without memguard)"
				    : " (logins through this service fail)");
			fix(d, "install pam_memguard.so there (make install PAMDIR=...), or name it by its path");
		}
		const size_t mine = l.mine, post = l.post, systemd = l.systemd;
		if (mine == SIZE_MAX && post == SIZE_MAX)
			continue;
		services++;
		for (size_t j = 0; j < s->n && ol < sizeof(order) - 64; j++) {
			const char *t = s->steps[j].e->target, *base = strrchr(t, '/');

			ol += (size_t)snprintf(order + ol, sizeof(order) - ol, "%s%s", ol ? " " : "", base ? base + 1 : t);
		}
		add(d, SEV_OK, "pam.service", "%s loads pam_memguard.so; session stack: %s", s->file->name, order);
		if (mine != SIZE_MAX && systemd != SIZE_MAX && mine > systemd) {
			const struct mg_pam_step *st = &s->steps[mine];

			add(d, d->systemd ? SEV_ERROR : SEV_WARNING, "pam.order",
			    "%s:%u: in %s pam_memguard.so comes after pam_systemd.so%s", st->file->path, st->e->line,
			    s->file->name,
			    d->systemd ? ": logind has made the session's scope already, so its session cap is not applied"
				       : ": on a systemd host the session cap would not reach the scope");
			fix(d, "put 'session required pam_memguard.so' before pam_systemd.so, and a 'phase=post' line after it");
		}
		if (d->systemd && systemd != SIZE_MAX && post == SIZE_MAX && d->sd_backend) {
			add(d, SEV_NOTE, "pam.order", "%s has no 'pam_memguard.so phase=post' line after pam_systemd.so: "
						      "session.memory.high and oom.group are not applied",
			    s->file->name);
		}
	}
	if (services == 0) {
		add(d, SEV_ERROR, "pam.service", "no PAM service in %s loads pam_memguard.so for its sessions: memguard is "
						 "not in force",
		    dir);
		fix(d, "add 'session required pam_memguard.so' to the services users log in through (common-session on "
		       "Debian)");
		return;
	}
	/* Debian: cron, sudo and other non-interactive sessions include
	 * common-session-noninteractive, not common-session. */
	for (size_t i = 0; i < d->pc.nsvc; i++) {
		const struct mg_pam_service *s = &d->pc.svc[i];
		bool noninteractive = false, mine = false;

		if (s->file->included)
			continue;
		for (size_t j = 0; j < s->n; j++) {
			if (strcmp(s->steps[j].file->name, "common-session-noninteractive") == 0)
				noninteractive = true;
			if (mg_pam_entry_loads(s->steps[j].e, MG_PAM_MODULE_NAME))
				mine = true;
		}
		if (noninteractive && !mine) {
			add(d, SEV_WARNING, "pam.noninteractive",
			    "%s's sessions (common-session-noninteractive) run outside memguard's caps", s->file->name);
			fix(d, "add the pam_memguard.so line to common-session-noninteractive too, if %s's jobs should be capped",
			    s->file->name);
		}
	}
}

/* ---- policy, capabilities, memory ---- */

static void check_policy(struct doctor *d)
{
	struct mg_policy p;
	struct mg_diags diags = { 0 };
	bool negative = false;
	int r = ctl_load(d->c, &p, NULL, &diags);
	size_t trust = mg_diags_count_errors(&diags, 1u << MG_DIAG_TRUST | 1u << MG_DIAG_ACCESS);

	for (size_t i = 0; i < diags.n; i++) {
		char line[1200];

		if (diags.v[i].severity == MG_NOTE)
			continue;
		mg_diag_format(&diags.v[i], line, sizeof(line));
		add(d, diags.v[i].severity == MG_ERROR ? SEV_ERROR : SEV_WARNING,
		    diags.v[i].kind == MG_DIAG_CONTENT ? "policy.valid" : "policy.trust", "%s", line);
		if (diags.v[i].kind != MG_DIAG_CONTENT && diags.v[i].severity == MG_ERROR)
			fix(d, "chown root:root and chmod go-w the file or directory named (pam_memguard applies nothing "
			       "from a policy anyone but root can change)");
		else if (diags.v[i].severity == MG_ERROR)
			fix(d, "memguardctl check shows every problem; memguardctl edit fixes them safely");
	}
	if (r >= 0 && !trust && !diags.errors && p.nrules == 0) {
		add(d, SEV_WARNING, "policy", "%s has no rules: memguard applies nothing", d->c->policy);
		fix(d, "memguardctl set '*' memory.max=25%% (or see memguard.conf(5))");
	} else if (r >= 0 && !trust && !diags.errors)
		add(d, SEV_OK, "policy", "%s: %zu rules, trusted (root-owned, not group- or world-writable)", d->c->policy,
		    p.nrules);
	else if (r < 0 && !diags.n)
		add(d, SEV_ERROR, "policy", "cannot read the policy %s: %s", d->c->policy, strerror(-r));
	for (size_t i = 0; r >= 0 && i < p.nrules; i++)
		if (p.rules[i].v[MG_KEY_OOM_SCORE_ADJ].set && p.rules[i].v[MG_KEY_OOM_SCORE_ADJ].u.num < 0)
			negative = true;
	if (negative && !mg_have_sys_resource()) {
		add(d, SEV_WARNING, "capability", "the policy sets a negative oom_score_adj, and this host's root lacks "
						  "CAP_SYS_RESOURCE: the kernel refuses such values");
		fix(d, "give the login services CAP_SYS_RESOURCE (a container may have dropped it), or use values >= 0");
	} else if (negative) {
		add(d, SEV_OK, "capability", "CAP_SYS_RESOURCE present: negative oom_score_adj values can be written");
	}
	mg_diags_free(&diags);
	mg_policy_free(&p);
}

static void check_memory(struct doctor *d)
{
	char path[PATH_MAX], buf[64];
	uint64_t limit = 0, committed = 0;
	struct mg_psi psi;
	int mode = -1, ratio = -1;

	snprintf(path, sizeof(path), "%s/sys/vm/overcommit_memory", d->c->proc);
	if (readable_text(path, buf, sizeof(buf)))
		mode = atoi(buf);
	snprintf(path, sizeof(path), "%s/sys/vm/overcommit_ratio", d->c->proc);
	if (readable_text(path, buf, sizeof(buf)))
		ratio = atoi(buf);
	mg_meminfo_get(d->c->meminfo, "CommitLimit", &limit);
	mg_meminfo_get(d->c->meminfo, "Committed_AS", &committed);
	if (mode == 2) {
		char a[32], b[32];

		mg_bytes_format(committed, a, sizeof(a));
		mg_bytes_format(limit, b, sizeof(b));
		if (limit && committed > limit / 10 * 9) {
			add(d, SEV_WARNING, "overcommit", "strict overcommit (ratio %d%%): Committed_AS %s is near CommitLimit "
							  "%s, allocations will fail",
			    ratio, a, b);
			fix(d, "raise vm.overcommit_ratio or add swap; libmemguard-preload.so logs who fails");
		} else {
			add(d, SEV_OK, "overcommit", "strict overcommit (ratio %d%%): Committed_AS %s of CommitLimit %s", ratio,
			    a, b);
		}
	} else if (mode >= 0) {
		add(d, SEV_OK, "overcommit", "overcommit mode %d (%s): a cap is enforced by the OOM killer in the group",
		    mode, mode == 1 ? "always" : "heuristic");
	}
	snprintf(path, sizeof(path), "%s/pressure/memory", d->c->proc);
	if (mg_psi_read(path, &psi) == 0) {
		add(d, SEV_OK, "psi", "memory pressure information (PSI) available");
	} else {
		add(d, SEV_WARNING, "psi", "no memory pressure information (%s): status, metrics and top show no pressure",
		    path);
		fix(d, "boot with psi=1 (kernels built with CONFIG_PSI_DEFAULT_DISABLED)");
	}
}

static void check_shim(struct doctor *d)
{
	static const char *const places[] = { "/usr/local/lib/libmemguard-preload.so", "/usr/lib/libmemguard-preload.so",
					      "/usr/lib/x86_64-linux-gnu/libmemguard-preload.so" };
	struct stat st;

	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		if (stat(places[i], &st) < 0)
			continue;
		if (st.st_uid != 0 || (st.st_mode & 022)) {
			add(d, SEV_ERROR, "shim", "%s is %s: whoever can change it runs code in every program that preloads it",
			    places[i], st.st_uid != 0 ? "not owned by root" : "group- or world-writable");
			fix(d, "chown root:root %s && chmod 0755 %s", places[i], places[i]);
		} else {
			add(d, SEV_OK, "shim", "%s installed, root-owned", places[i]);
		}
		return;
	}
	add(d, SEV_NOTE, "shim", "libmemguard-preload.so is not installed (optional: it logs allocation failures)");
}

/* ---- renderers ---- */

static const char *sev_name(enum sev s)
{
	static const char *const names[] = { "ok", "note", "warning", "error" };

	return names[s];
}

static void render_text(const struct doctor *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct finding *f = &d->v[i];

		printf("%-8s %-18s %s\n", f->sev == SEV_OK ? "ok" : sev_name(f->sev), f->check, ctl_safe(f->msg ? f->msg : "?"));
		if (f->fix)
			printf("%-8s %-18s fix: %s\n", "", "", ctl_safe(f->fix));
	}
	printf("%s: %u error%s, %u warning%s\n", d->errors ? "memguard is not healthy" : d->warnings ? "memguard works, with warnings" : "memguard is healthy",
	       d->errors, d->errors == 1 ? "" : "s", d->warnings, d->warnings == 1 ? "" : "s");
}

static void render_json(const struct doctor *d)
{
	printf("{\"findings\":[");
	for (size_t i = 0; i < d->n; i++) {
		const struct finding *f = &d->v[i];

		printf("%s{\"check\":\"%s\",\"severity\":\"%s\",\"message\":", i ? "," : "", f->check, sev_name(f->sev));
		json_str(stdout, f->msg);
		printf(",\"fix\":");
		json_str(stdout, f->fix);
		printf("}");
	}
	printf("],\"errors\":%u,\"warnings\":%u,\"healthy\":%s}\n", d->errors, d->warnings,
	       d->errors || d->warnings ? "false" : "true");
}

int cmd_doctor(struct ctl *c, int argc, char **argv)
{
	struct doctor d = { .c = c };
	int r;

	(void)argv;
	if (argc > 0)
		return ctl_usage_err("doctor takes no arguments");
	/* The configuration logins use; a disagreement is a finding too. */
	r = ctl_module_config(c);
	d.systemd = access("/run/systemd/system", F_OK) == 0;
	d.sd_backend = c->backend == CTL_BACKEND_SYSTEMD || (c->backend == CTL_BACKEND_AUTO && !c->cgroup_root && d.systemd);
	add(&d, SEV_OK, "systemd", "%s; logins use the %s backend", d.systemd ? "systemd manages the cgroups" : "no systemd (no /run/systemd/system)",
	    d.sd_backend ? "systemd" : "cgroupfs");
	if (r) {
		add(&d, SEV_ERROR, "pam.config", "the PAM services do not agree on the module's arguments (see above)");
		fix(&d, "give every pam_memguard line the same cgroup_root=, policy= and backend=");
	}
	check_pam(&d);
	check_cgroups(&d);
	check_policy(&d);
	check_memory(&d);
	check_shim(&d);
	if (c->json)
		render_json(&d);
	else
		render_text(&d);
	r = d.errors ? EXIT_DOCTOR_ERRORS : d.warnings ? EXIT_PROBLEMS : EXIT_OK;
	for (size_t i = 0; i < d.n; i++) {
		free(d.v[i].msg);
		free(d.v[i].fix);
	}
	free(d.v);
	free(d.uses);
	if (d.have_pc)
		mg_pamconf_free(&d.pc);
	return r;
}
