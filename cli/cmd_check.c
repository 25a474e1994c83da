#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Each name looked up once, however many rules name it: a directory
 * service answers one query per distinct user or group. */
static void check_names(const struct mg_policy *p, struct mg_diags *d)
{
	const char **names = malloc((p->nrules + 1) * sizeof(*names));
	size_t n = 0;

	if (!names)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].who_kind == MG_WHO_USER || p->rules[i].who_kind == MG_WHO_GROUP)
			names[n++] = p->rules[i].who;
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		bool group = name[0] == '@';
		bool known;

		if (i > 0 && strcmp(names[i - 1], name) == 0)
			continue;
		known = group ? getgrnam(name + 1) != NULL : getpwnam(name) != NULL;
		if (known)
			continue;
		/* Report at the first line that names it. */
		for (size_t j = 0; j < p->nrules; j++) {
			const struct mg_rule *r = &p->rules[j];
			if (strcmp(r->who, name) != 0)
				continue;
			mg_diag_add(d, MG_WARNING, MG_DIAG_CONTENT, r->file, r->line, 1,
				    "unknown %s '%s' (the rule applies once NSS knows it)", group ? "group" : "user",
				    group ? name + 1 : name);
			break;
		}
	}
	free(names);
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
	printf("],\"errors\":%zu,\"warnings\":%zu,\"problems\":[", d->errors, d->warnings);
	for (size_t i = 0; i < d->n; i++) {
		const struct mg_diag *g = &d->v[i];
		if (i)
			putchar(',');
		printf("{\"severity\":\"%s\",\"file\":", g->severity == MG_ERROR ? "error" : "warning");
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
	struct mg_policy p;
	struct mg_diags d = { 0 };
	bool ok;
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
	mg_policy_validate(&p, &d);
	if (c->names)
		check_names(&p, &d);
	ok = d.errors == 0 && !(c->strict && d.warnings);
	if (c->json) {
		print_json(&p, &d, ok);
	} else {
		ctl_print_diags(&d);
		printf("%s: %zu rule%s in %zu file%s, %zu error%s, %zu warning%s\n",
		       ok ? "policy OK" : "policy has problems", p.nrules, p.nrules == 1 ? "" : "s", p.nfiles,
		       p.nfiles == 1 ? "" : "s", d.errors, d.errors == 1 ? "" : "s", d.warnings,
		       d.warnings == 1 ? "" : "s");
	}
	mg_policy_free(&p);
	mg_diags_free(&d);
	return ok ? EXIT_OK : EXIT_PROBLEMS;
}
