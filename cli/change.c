#include "change.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
		/* A file the module would not trust makes it refuse the whole
		 * policy: a change then does nothing, however valid, and one
		 * written into an untrusted place is not the admin's alone. */
		bool untrusted = g->kind == MG_DIAG_TRUST && g->severity == MG_ERROR;
		if (!untrusted && (g->kind != MG_DIAG_CONTENT || known_before(&oldd, g)))
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

int change_write(struct ctl *c, struct store_file *f, const char *text, size_t len)
{
	struct mg_diags d = { 0 };
	char *kept = NULL;
	int r;

	(void)c;
	r = store_replace(f, text, len, &kept, &d);
	if (r == -EPERM) {
		ctl_print_diags(&d);
		ctl_err("%s not changed: pam_memguard would not trust it", f->path);
	} else if (r < 0 && kept) {
		ctl_err("cannot rename %s to %s/%s: %s; the new text is kept in %s", kept, f->dir, f->name,
			strerror(-r), kept);
	} else if (r < 0) {
		ctl_err("cannot write %s: %s; it is unchanged", f->path, strerror(-r));
	}
	mg_diags_free(&d);
	free(kept);
	return r;
}
