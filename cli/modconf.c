/* The module's configuration for the live commands: the arguments of the
 * pam_memguard lines that logins run, so that status, apply, gc, metrics
 * and top look where logins put sessions and read the policy they read.
 * An option given on the command line wins; services that disagree are
 * reported, never guessed between. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pamconf.h"

/* The settings a live command takes from the module's lines. */
enum setting { SET_CGROUP_ROOT, SET_POLICY, SET_BACKEND, SET_COUNT };

static const struct {
	const char *arg, *option;
} settings[SET_COUNT] = {
	[SET_CGROUP_ROOT] = { "cgroup_root", "--cgroup-root" },
	[SET_POLICY] = { "policy", "--policy" },
	[SET_BACKEND] = { "backend", "--backend" },
};

/* A phase=post line only finishes what the line before pam_systemd
 * decided (the backend and where the groups are): it has no say there. */
static bool has_say(const struct mg_modargs *a, enum setting s)
{
	return s == SET_POLICY || !a->phase || strcmp(a->phase, "post") != 0;
}

static const char *value(const struct mg_modargs *a, enum setting s, unsigned *col)
{
	switch (s) {
	case SET_CGROUP_ROOT:
		*col = a->cgroup_root_col;
		/* The module ignores cgroup_root= with backend=systemd. */
		return a->backend && strcmp(a->backend, "systemd") == 0 ? NULL : a->cgroup_root;
	case SET_POLICY:
		*col = a->policy_col;
		return a->policy;
	case SET_BACKEND:
		*col = a->backend_col;
		return a->backend && strcmp(a->backend, "auto") != 0 ? a->backend : NULL;
	case SET_COUNT:
		break;
	}
	return NULL;
}

int ctl_module_uses(const struct mg_pamconf *pc, struct ctl_module_use **uses, size_t *n, struct mg_diags *d)
{
	struct ctl_module_use *v = NULL;
	size_t len = 0;

	for (size_t i = 0; i < pc->nsvc; i++) {
		const struct mg_pam_service *s = &pc->svc[i];

		/* A part others include (common-session) is no service of its own. */
		if (s->file->included)
			continue;
		for (size_t j = 0; j < s->n; j++) {
			struct ctl_module_use *grown;
			struct mg_modargs a;

			if (!mg_pam_entry_loads(s->steps[j].e, MG_PAM_MODULE_NAME))
				continue;
			mg_modargs_parse(s->steps[j].file, s->steps[j].e, &a, d);
			if (!mg_modargs_service_wanted(&a, s->file->name))
				continue;
			grown = realloc(v, (len + 1) * sizeof(*v));
			if (!grown) {
				free(v);
				return -ENOMEM;
			}
			v = grown;
			v[len++] = (struct ctl_module_use){ s, &s->steps[j], a };
		}
	}
	*uses = v;
	*n = len;
	return 0;
}

static void where(const struct ctl_module_use *u, unsigned col, char *buf, size_t len)
{
	if (col)
		snprintf(buf, len, "%s (%s:%u:%u)", u->svc->file->name, u->step->file->path, u->step->e->line, col);
	else
		snprintf(buf, len, "%s (%s:%u)", u->svc->file->name, u->step->file->path, u->step->e->line);
}

int ctl_module_config(struct ctl *c)
{
	struct mg_pamconf pc;
	struct mg_diags d = { 0 };
	struct ctl_module_use *uses = NULL;
	const char *chosen[SET_COUNT] = { NULL };
	bool explicit[SET_COUNT] = { c->cgroup_root_explicit, c->policy_explicit, c->backend_explicit };
	size_t n = 0;
	int r, ret = 0;

	if (c->module_read)
		return 0;
	c->module_read = true;
	r = mg_pamconf_load(c->pam_dir, &pc, &d);
	mg_diags_free(&d);
	if (r == -ENOMEM) {
		ctl_err("out of memory reading %s", c->pam_dir ? c->pam_dir : MG_PAMD_DEFAULT);
		return EXIT_PROBLEMS;
	}
	if (r < 0) {
		/* No PAM configuration to read: the defaults, as a login without
		 * arguments would have them. A directory named on purpose must be
		 * there. */
		if (c->pam_dir) {
			ctl_err("cannot read the PAM configuration %s: %s", c->pam_dir, strerror(-r));
			return EXIT_PROBLEMS;
		}
		return 0;
	}
	r = ctl_module_uses(&pc, &uses, &n, &d);
	mg_diags_free(&d);
	if (r < 0) {
		mg_pamconf_free(&pc);
		ctl_err("out of memory reading %s", pc.dir);
		return EXIT_PROBLEMS;
	}
	c->module_services = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || uses[i].svc != uses[i - 1].svc)
			c->module_services++;
	for (size_t i = 0; i < n; i++)
		if (uses[i].args.include_root)
			c->include_root = true;
	for (int s = 0; s < SET_COUNT && ret == 0; s++) {
		size_t first = 0;
		unsigned col0 = 0;

		if (explicit[s] || n == 0)
			continue;
		while (first < n && !has_say(&uses[first].args, s))
			first++;
		if (first == n)
			continue;
		chosen[s] = value(&uses[first].args, s, &col0);
		for (size_t i = first + 1; i < n; i++) {
			unsigned col = 0;
			const char *v;
			char a[4200], b[4200];

			if (!has_say(&uses[i].args, s))
				continue;
			v = value(&uses[i].args, s, &col);

			if ((v == NULL) == (chosen[s] == NULL) && (!v || strcmp(v, chosen[s]) == 0))
				continue;
			where(&uses[first], col0, a, sizeof(a));
			where(&uses[i], col, b, sizeof(b));
			ctl_err("the PAM services disagree on %s=: %s: %s%s%s, %s: %s%s%s; name the one to use with %s",
				settings[s].arg, a, chosen[s] ? settings[s].arg : "", chosen[s] ? "=" : "",
				chosen[s] ? chosen[s] : "not given", b, v ? settings[s].arg : "", v ? "=" : "",
				v ? v : "not given", settings[s].option);
			ret = EXIT_PROBLEMS;
			break;
		}
	}
	if (ret == 0 && n > 0) {
		/* The values point into pc: keep copies. */
		if (chosen[SET_CGROUP_ROOT] && !(c->cgroup_root = c->owned_root = strdup(chosen[SET_CGROUP_ROOT])))
			ret = EXIT_PROBLEMS;
		if (chosen[SET_POLICY]) {
			if (!(c->policy = c->owned_policy = strdup(chosen[SET_POLICY])))
				ret = EXIT_PROBLEMS;
			/* policy= makes a missing file an error for the module. */
			c->policy_explicit = true;
		}
		/* A --cgroup-root given means that directory's cgroupfs tree. */
		if (chosen[SET_BACKEND] && !(c->cgroup_root_explicit && strcmp(chosen[SET_BACKEND], "systemd") == 0))
			c->backend = strcmp(chosen[SET_BACKEND], "systemd") == 0 ? CTL_BACKEND_SYSTEMD
										   : CTL_BACKEND_CGROUPFS;
		if (!c->cgroup_root_explicit && c->backend == CTL_BACKEND_SYSTEMD && !c->backend_explicit)
			c->cgroup_root = NULL;
		where(&uses[0], 0, c->module_from, sizeof(c->module_from));
		if (ret)
			ctl_err("out of memory");
	}
	free(uses);
	mg_pamconf_free(&pc);
	return ret;
}

void ctl_free(struct ctl *c)
{
	free(c->owned_root);
	free(c->owned_policy);
	c->owned_root = c->owned_policy = NULL;
}
