#include "change.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* The problems of the policy before a change, in an order to search
 * in: a large policy may have thousands before and after, and comparing
 * every pair took longer than loading the policy. */
static int cmp_diag_identity(const struct mg_diag *x, const struct mg_diag *y)
{
	int c;

	if (x->severity != y->severity)
		return x->severity < y->severity ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->file != y->file) {
		if (!x->file || !y->file)
			return !x->file ? -1 : 1;
		if ((c = strcmp(x->file, y->file)) != 0)
			return c;
	}
	return strcmp(x->msg, y->msg);
}

static int cmp_diag_ptr(const void *a, const void *b)
{
	return cmp_diag_identity(*(const struct mg_diag *const *)a, *(const struct mg_diag *const *)b);
}

static const struct mg_diag **sorted_diags(const struct mg_diags *d)
{
	const struct mg_diag **v = malloc((d->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		v[i] = &d->v[i];
	qsort(v, d->n, sizeof(*v), cmp_diag_ptr);
	return v;
}

/* The same problem in the same file, wherever its line has moved to. */
static bool known_before(const struct mg_diag *const *old, size_t n, const struct mg_diag *g)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_diag_identity(old[mid], g);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int change_check(struct ctl *c, const char *target, const char *text, size_t len, struct mg_policy *newp)
{
	struct mg_load_override ov = { target, text, len };
	struct mg_diags oldd = { 0 }, newd = { 0 }, fresh = { 0 };
	const struct mg_diag **old_sorted = NULL;
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
	if (r != -ENOMEM && !(old_sorted = sorted_diags(&oldd)))
		r = -ENOMEM;
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
		if (!untrusted && (g->kind != MG_DIAG_CONTENT || known_before(old_sorted, oldd.n, g)))
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
	free(old_sorted);
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
