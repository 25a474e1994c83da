#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>


#include "cgroup.h"
#include "ctl.h"
#include "nss_lookup.h"
#include "shim_path.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct name_set {
	char **v;
	size_t n, cap;
};

static void name_set_add(struct name_set *s, const char *name)
{
	char *copy;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	if ((copy = strdup(name)))
		s->v[s->n++] = copy;
}

static bool name_set_has(const struct name_set *s, const char *name)
{
	return s->n && bsearch(&name, s->v, s->n, sizeof(*s->v), cmp_str);
}

static void name_set_free(struct name_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* Names one by one, beyond what enumeration lists: each may cost a round
 * trip to a directory server, so only this many. */
#define MAX_SINGLE_LOOKUPS 100

/* One enumeration of users and groups (what "getent passwd" lists), then
 * a lookup of each distinct name it did not list, as directories that do
 * not enumerate (SSSD's default) still answer those. */
static void check_names(const struct mg_policy *p, const struct mg_rule *const *by_who, struct mg_diags *d)
{
	const struct mg_rule *prev = NULL, *asked_by[MAX_SINGLE_LOOKUPS];
	struct nss_query q[MAX_SINGLE_LOOKUPS];
	struct name_set users = { 0 }, groups = { 0 };
	size_t single = 0, skipped = 0;
	struct passwd *pw;
	struct group *gr;

	setpwent();
	while ((pw = getpwent()))
		name_set_add(&users, pw->pw_name);
	endpwent();
	setgrent();
	while ((gr = getgrent()))
		name_set_add(&groups, gr->gr_name);
	endgrent();
	qsort(users.v, users.n, sizeof(*users.v), cmp_str);
	qsort(groups.v, groups.n, sizeof(*groups.v), cmp_str);

	/* Every target's lines side by side, the first line naming it first. */
	for (size_t i = 0; i < p->nrules; i++) {
		const struct mg_rule *r = by_who[i];
		bool group = r->who[0] == '@';
		const char *name = group ? r->who + 1 : r->who;

		if (r->who_kind != MG_WHO_USER && r->who_kind != MG_WHO_GROUP)
			continue;
		if (prev && strcmp(prev->who, r->who) == 0)
			continue;
		prev = r;
		if (name_set_has(group ? &groups : &users, name))
			continue;
		if (single == MAX_SINGLE_LOOKUPS) {
			skipped++;
			continue;
		}
		q[single] = (struct nss_query){ .name = name, .group = group };
		asked_by[single++] = r;
	}
	nss_lookup_all(q, single);
	for (size_t i = 0; i < single; i++)
		if (!q[i].found)
			mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, asked_by[i]->file, asked_by[i]->line, 1,
				    "unknown %s '%s' (the rule applies once NSS knows it)",
				    q[i].group ? "group" : "user", q[i].name);
	if (skipped)
		mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, NULL, 0, 0,
			    "%zu more names that NSS does not list were not looked up one by one (--no-names skips "
			    "all lookups)",
			    skipped);
	name_set_free(&users);
	name_set_free(&groups);
}

/* What the module leaves out on this host's hierarchy: said once per
 * setting, at the first rule that sets it, so that a policy written for
 * v2 is not believed on v1 and a large one does not drown the output. */
static void note_not_applied(const struct mg_policy *p, int cgv, struct mg_diags *d)
{
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		const struct mg_rule *first = NULL;
		size_t others = 0;

		if (mg_cg_key_applies(cgv, (enum mg_key)k))
			continue;
		for (size_t i = 0; i < p->nrules; i++)
			if (p->rules[i].v[k].set && !first)
				first = &p->rules[i];
			else if (p->rules[i].v[k].set)
				others++;
		if (!first)
			continue;
		char more[96] = "";

		if (others)
			snprintf(more, sizeof(more), ", here nor at the %zu other rule%s that set it", others,
				 others == 1 ? "" : "s");
		mg_diag_add(d, MG_NOTE, MG_DIAG_CONTENT, first->file, first->line, first->v[k].col,
			    "%s is not applied on cgroup v1 (this host's memory controller)%s",
			    mg_key_info((enum mg_key)k)->name, more);
	}
}

/* trace= is only as good as the shim it loads: say so at the first rule
 * that turns it on, once. */
static void check_trace_shim(const struct mg_policy *p, struct mg_diags *d)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct mg_value *v = &p->rules[i].v[MG_KEY_TRACE];
		int r;

		if (!v->set || !v->u.trace.on)
			continue;
		r = mg_shim_trusted(MG_PRELOAD_PATH);
		if (r == 0)
			return;
		mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, p->rules[i].file, p->rules[i].line, v->col,
			    "trace= has no effect: the allocation shim %s %s (pam_memguard sets nothing then)",
			    MG_PRELOAD_PATH,
			    r == -EPERM ? "is not root-owned and writable only by root" : r == -ENOENT ? "is not installed" : strerror(-r));
		return;
	}
}

static void print_json(const struct mg_policy *p, const struct mg_diags *d, bool ok)
{
	char line[1024];

	printf("{\"ok\":%s,\"rules\":%zu,\"files\":[", ok ? "true" : "false", p->nrules);
	for (size_t i = 0; i < p->nfiles; i++) {
		if (i)
			putchar(',');
		json_str(stdout, p->files[i]);
	}
	printf("],\"errors\":%zu,\"warnings\":%zu,\"notes\":%zu,\"problems\":[", d->errors, d->warnings,
	       d->notes);
	for (size_t i = 0; i < d->n; i++) {
		const struct mg_diag *g = &d->v[i];
		if (i)
			putchar(',');
		printf("{\"severity\":\"%s\",\"file\":", mg_severity_name(g->severity));
		json_str(stdout, g->file);
		printf(",\"line\":%u,\"column\":%u,\"message\":", g->line, g->col);
		json_str(stdout, g->msg);
		mg_diag_format(g, line, sizeof(line));
		printf(",\"text\":");
		json_str(stdout, line);
		putchar('}');
	}
	printf("]}\n");
}

int cmd_check(struct ctl *c, int argc, char **argv)
{
	const struct mg_rule **by_who;
	struct mg_policy p;
	struct mg_diags d = { 0 };
	bool ok, empty;
	int r = 0;

	if (argc == 0) {
		r = ctl_load(c, &p, NULL, &d);
	} else {
		mg_policy_init(&p, ctl_memtotal(c));
		for (int i = 0; i < argc && r != -ENOMEM; i++)
			r = mg_policy_load(&p, argv[i], MG_LOAD_NO_DROPINS, &d);
	}
	if (r == -ENOMEM) {
		ctl_err("out of memory");
		mg_policy_free(&p);
		mg_diags_free(&d);
		return -ENOMEM;
	}
	/* One order of the targets for the policy's checks and the names'. */
	by_who = mg_policy_by_who(&p);
	if (by_who)
		mg_policy_validate_ordered(&p, by_who, &d);
	else
		d.oom = true;
	check_trace_shim(&p, &d);
	if (c->names && by_who)
		check_names(&p, by_who, &d);
	free(by_who);
	if (argc == 0 && mg_policy_ignored_dropins(c->policy, &d) == -ENOMEM)
		d.oom = true;
	note_not_applied(&p, ctl_cgroup_version(c), &d);
	/* Nothing to apply is no error (a fresh install), but never "OK". */
	empty = p.nrules == 0 && d.errors == 0;
	if (empty && argc == 0 && p.nfiles == 0)
		mg_diag_add(&d, MG_WARNING, MG_DIAG_CONTENT, c->policy, 0, 0,
			    "does not exist and no drop-in has a rule: memguard applies nothing");
	else if (empty)
		mg_diag_add(&d, MG_WARNING, MG_DIAG_CONTENT, argc == 1 ? argv[0] : c->policy, 0, 0,
			    "the policy has no rules: memguard applies nothing");
	ok = d.errors == 0 && !(c->strict && d.warnings);
	if (c->json) {
		print_json(&p, &d, ok);
	} else {
		ctl_print_diags(&d);
		printf("%s: %zu rule%s in %zu file%s, %zu error%s, %zu warning%s",
		       !ok ? "policy has problems" : empty ? "policy empty" : "policy OK", p.nrules,
		       p.nrules == 1 ? "" : "s", p.nfiles, p.nfiles == 1 ? "" : "s", d.errors,
		       d.errors == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s");
		if (d.notes)
			printf(", %zu note%s", d.notes, d.notes == 1 ? "" : "s");
		printf("\n");
	}
	mg_policy_free(&p);
	mg_diags_free(&d);
	return ok ? EXIT_OK : EXIT_PROBLEMS;
}
