#include "change.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

static bool known_before(const struct mg_diags *old, const struct mg_diag *g)
{
	for (size_t i = 0; i < old->n; i++) {
		const struct mg_diag *o = &old->v[i];
		if (o->severity == g->severity && o->kind == g->kind && strcmp(o->msg, g->msg) == 0 &&
		    (o->file == g->file || (o->file && g->file && strcmp(o->file, g->file) == 0)))
			return true;
	}
	return false;
}

int change_check(struct ctl *c, const char *target, const char *text, size_t len, struct mg_policy *newp)
{
	struct mg_load_override ov = { target, text, len };
	struct mg_diags oldd = { 0 }, newd = { 0 }, fresh = { 0 };
	struct mg_policy oldp;
	uint64_t memtotal = ctl_memtotal(c);
	size_t content_problems = 0;
	int r, errors = 0;

	/* Before the change the policy may not exist yet: that is no error. */
	mg_policy_init(newp, memtotal);
	r = mg_policy_load_with(newp, c->policy, MG_LOAD_MISSING_OK, &ov, &newd);
	if (r != -ENOMEM)
		mg_policy_validate(newp, &newd);
	for (size_t i = 0; i < newd.n; i++)
		content_problems += newd.v[i].kind == MG_DIAG_CONTENT;
	/* Only a change that leaves problems needs the policy before it, to
	 * tell the problems it brings from those already there. */
	mg_policy_init(&oldp, memtotal);
	if (r != -ENOMEM && content_problems) {
		r = mg_policy_load(&oldp, c->policy, MG_LOAD_MISSING_OK, &oldd);
		if (r != -ENOMEM)
			mg_policy_validate(&oldp, &oldd);
	}
	mg_policy_free(&oldp);
	if (r == -ENOMEM) {
		ctl_err("out of memory");
		errors = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < newd.n; i++) {
		const struct mg_diag *g = &newd.v[i];
		if (g->kind != MG_DIAG_CONTENT || known_before(&oldd, g))
			continue;
		mg_diag_add(&fresh, g->severity, g->kind, g->file, g->line, g->col, "%s", g->msg);
		if (g->severity == MG_ERROR)
			errors++;
	}
	ctl_print_diags(&fresh);
	if (oldd.errors)
		ctl_warn("the policy already had %zu error%s before this change (see '%s check')", oldd.errors,
			 oldd.errors == 1 ? "" : "s", ctl_prog);
out:
	mg_diags_free(&oldd);
	mg_diags_free(&newd);
	mg_diags_free(&fresh);
	return errors;
}

int change_make_dir(const char *target)
{
	char *copy = strdup(target);
	const char *dir;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (mkdir(dir, 0755) == 0) {
		/* mkdir's mode passes through the umask; 077 would hide the
		 * drop-ins from every reader but root. */
		if (chmod(dir, 0755) < 0)
			r = -errno;
	} else if (errno != EEXIST) {
		r = -errno;
	}
	free(copy);
	return r;
}

int change_write(struct ctl *c, const char *target, const char *text, size_t len)
{
	char *real = NULL, *kept = NULL;
	int r;

	(void)c;
	r = store_target(target, &real);
	if (r == -ENOLINK) {
		ctl_err("%s is a symbolic link to a missing file; not replacing the link", target);
		return r;
	}
	if (r == 0)
		r = change_make_dir(real);
	if (r == 0)
		r = store_replace(real, text, len, &kept);
	if (r < 0 && kept)
		ctl_err("cannot rename %s to %s: %s; the new text is kept in %s", kept, real, strerror(-r), kept);
	else if (r < 0)
		ctl_err("cannot write %s: %s; it is unchanged", real ? real : target, strerror(-r));
	free(real);
	free(kept);
	return r;
}
