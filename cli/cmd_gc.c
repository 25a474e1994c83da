/* memguardctl gc: removes the empty groups that sessions left behind in
 * memguard's tree, bottom up, by the same pass the module runs at every
 * login. A group that holds a process is never removed (the kernel would
 * refuse), and a group a racing login or logout handles first is no
 * error: gc runs beside logins. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "ctl.h"
#include "live.h"

struct gc {
	const struct ctl *c;
	const char *base;
	bool first;
};

static void removed(void *arg, uid_t uid, const char *name, bool user_group)
{
	struct gc *g = arg;
	char rel[300];

	if (user_group)
		snprintf(rel, sizeof(rel), "%s", name);
	else
		snprintf(rel, sizeof(rel), "user-%u/%s", (unsigned)uid, name);
	if (g->c->json) {
		printf("%s{\"uid\":%u,\"kind\":\"%s\",\"group\":", g->first ? "" : ",", (unsigned)uid,
		       user_group ? "user" : "session");
		json_str(stdout, rel);
		printf("}");
	} else {
		printf("%s %s/%s\n", g->c->dry_run ? "would remove" : "removed", ctl_safe(g->base), ctl_safe(rel));
	}
	g->first = false;
}

int cmd_gc(struct ctl *c, int argc, char **argv)
{
	struct live lv;
	struct gc g = { c, NULL, true };
	struct mg_cg_reap_opts o = { c->dry_run, removed, &g };
	unsigned n = 0, left = 0;
	int r;

	(void)argv;
	if (argc > 0)
		return ctl_usage_err("gc takes no arguments");
	r = live_choose(&lv, c);
	if (r)
		return r;
	if (lv.systemd) {
		/* Session scopes are systemd's: it removes them itself. */
		if (c->json)
			printf("{\"backend\":\"systemd\",\"dry_run\":%s,\"removed\":[],\"left\":null}\n",
			       c->dry_run ? "true" : "false");
		else
			printf("backend systemd: memguard makes no groups of its own there, nothing to remove\n");
		return 0;
	}
	if (!c->dry_run && geteuid() != 0) {
		ctl_err("gc removes cgroups: it needs root (--dry-run shows what would go)");
		return -EPERM;
	}
	r = live_open(&lv);
	if (r < 0)
		goto out;
	g.base = lv.cg.base;
	if (c->json) {
		printf("{\"backend\":\"cgroupfs\",\"base\":");
		json_str(stdout, lv.cg.base);
		printf(",\"dry_run\":%s,\"removed\":[", c->dry_run ? "true" : "false");
	}
	r = mg_cg_gc(&lv.cg, &o, &n, &left);
	if (c->json)
		printf("],\"left\":%u}\n", left);
	else if (c->dry_run)
		printf("dry run: %u group%s would be removed, %u session group%s stay\n", n, n == 1 ? "" : "s", left,
		       left == 1 ? "" : "s");
	else
		printf("%u group%s removed, %u session group%s stay\n", n, n == 1 ? "" : "s", left, left == 1 ? "" : "s");
	if (r < 0)
		ctl_err("cannot read %s: %s", lv.cg.base, strerror(-r));
out:
	live_close(&lv);
	return r;
}
