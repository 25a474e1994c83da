#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "store.h"
#include "target.h"

/* Long enough for an admin in an editor to finish; a hung writer is not waited for forever. */
#define LOCK_TIMEOUT_MS 30000

static bool same_file(const char *a, const char *b)
{
	char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
	bool same = ra && rb && strcmp(ra, rb) == 0;

	free(ra);
	free(rb);
	return same || strcmp(a, b) == 0;
}

static bool dropin_name_ok(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

int target_resolve(const struct ctl *c, char **path, bool *dropin)
{
	char *dir, *copy, *name;
	int r = 0;

	*path = NULL;
	*dropin = false;
	if (!c->file || same_file(c->file, c->policy)) {
		*path = strdup(c->policy);
		return *path ? 0 : -ENOMEM;
	}
	dir = mg_policy_dropin_dir(c->policy);
	copy = strdup(c->file);
	if (!dir || !copy) {
		r = -ENOMEM;
		goto out;
	}
	name = basename(copy);
	if (strchr(c->file, '/')) {
		char *dcopy = strdup(c->file);
		bool inside = dcopy && same_file(dirname(dcopy), dir);
		free(dcopy);
		if (!inside) {
			r = ctl_usage_err("%s is neither %s nor a drop-in in %s/", c->file, c->policy, dir);
			goto out;
		}
	}
	if (!dropin_name_ok(name)) {
		r = ctl_usage_err("drop-in '%s' must end in .conf and not start with a dot, or it is never read",
				  name);
		goto out;
	}
	if (asprintf(path, "%s/%s", dir, name) < 0) {
		*path = NULL;
		r = -ENOMEM;
	}
	*dropin = true;
out:
	free(dir);
	free(copy);
	return r;
}

int target_open(const struct ctl *c, struct store_file *f, int *lockfd, char **old, size_t *oldlen)
{
	struct mg_diags d = { 0 };
	char *path = NULL;
	bool dropin;
	int r;

	*lockfd = -1;
	*old = NULL;
	*oldlen = 0;
	memset(f, 0, sizeof(*f));
	f->fd = f->dirfd = -1;
	r = target_resolve(c, &path, &dropin);
	if (r != 0)
		return r;
	r = store_lock(c->policy, LOCK_TIMEOUT_MS, lockfd);
	if (r < 0) {
		ctl_err("cannot lock %s.lock: %s", c->policy,
			r == -EWOULDBLOCK ? "another memguardctl is still changing the policy" : strerror(-r));
		free(path);
		return r;
	}
	/* Checked under the lock, and pinned: what is written is what was checked. */
	r = store_open(path, dropin, f, &d);
	if (r == -EPERM) {
		ctl_print_diags(&d);
		ctl_err("%s not changed: pam_memguard would not trust it (see '%s check')", path, ctl_prog);
		r = EXIT_PROBLEMS;
	} else if (r == -ENOLINK) {
		ctl_err("%s is a symbolic link to a missing file; not replacing the link", path);
	} else if (r < 0) {
		ctl_err("cannot open %s: %s", path, strerror(-r));
	} else {
		r = store_read_current(f, old, oldlen);
		if (r < 0)
			ctl_err("cannot read %s: %s", path, strerror(-r));
	}
	mg_diags_free(&d);
	free(path);
	return r;
}
