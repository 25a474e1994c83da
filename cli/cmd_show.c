#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "ctl.h"
#include "identity.h"
#include "live.h"

#define NOT_ON_V1 "not applied on cgroup v1"

static const enum mg_key shown[] = {
	MG_KEY_MEMORY_MAX,	   MG_KEY_MEMORY_HIGH,		MG_KEY_MEMORY_SWAP_MAX,
	MG_KEY_MEMORY_LOW,	   MG_KEY_MEMORY_MIN,		MG_KEY_SESSION_MEMORY_MAX,
	MG_KEY_SESSION_MEMORY_HIGH, MG_KEY_OOM_SCORE_ADJ,	MG_KEY_OOM_GROUP,
	MG_KEY_TRACE,
};

static void bytes_text(enum mg_key k, const struct mg_value *v, uint64_t memtotal, char *buf, size_t len)
{
	buf[0] = '\0';
	if (mg_key_info(k)->type != MG_TYPE_SIZE || v->u.size.kind != MG_SIZE_PERCENT || memtotal == 0)
		return;
	mg_bytes_format(mg_size_bytes(&v->u.size, memtotal) / 1024 / 1024 * 1024 * 1024, buf, len);
}

/* Whether the '*' rules reach this user, and why: the question an admin
 * asks first about a directory user who got no cap. */
static const char *why_all_users(const struct mg_identity *id, char *buf, size_t len)
{
	unsigned uid = (unsigned)id->uid, lo = (unsigned)id->uid_min, hi = (unsigned)id->uid_max;

	switch (mg_all_users_covers(id)) {
	case MG_ALL_USERS_BELOW_UID_MIN:
		snprintf(buf, len, "'*' rules do not apply: uid %u is below UID_MIN (%u)", uid, lo);
		break;
	case MG_ALL_USERS_OVERFLOW_UID:
		snprintf(buf, len, "'*' rules do not apply: uid %u is the overflow uid (nobody)", uid);
		break;
	case MG_ALL_USERS_RESERVED_UID:
		snprintf(buf, len, "'*' rules do not apply: uid %u means \"no uid\" to the kernel", uid);
		break;
	case MG_ALL_USERS_COVERED:
		if (hi && id->uid > id->uid_max)
			snprintf(buf, len,
				 "'*' rules apply: uid %u is above UID_MAX (%u), as directory users' are, "
				 "and '*' covers every uid from UID_MIN (%u)",
				 uid, hi, lo);
		else
			snprintf(buf, len, "'*' rules apply: uid %u is at or above UID_MIN (%u)", uid, lo);
		break;
	}
	return buf;
}

static void print_text(const struct mg_identity_buf *who, const struct mg_resolved *res,
		       const struct mg_resolved *all, uint64_t memtotal, int cgv, bool preview)
{
	char val[64], bytes[64], buf[256];

	printf("%s %s (uid %u), groups:", preview ? "preview of user" : "user", ctl_safe(who->name),
	       (unsigned)who->id.uid);
	for (size_t i = 0; i < who->id.ngroups; i++)
		printf(" %s", ctl_safe(who->groups[i]));
	printf("\n");
	if (who->id.uid == 0)
		printf("note: uid 0 is exempt unless pam_memguard is given include_root\n");
	printf("note: %s\n", why_all_users(&who->id, buf, sizeof(buf)));
	if (mg_resolved_exempt(res)) {
		printf("exempt: no cgroup, no oom_score_adj (%s:%u, rule '%s')\n",
		       ctl_safe(res->src[MG_KEY_EXEMPT]->file),
		       res->src[MG_KEY_EXEMPT]->line, ctl_safe(res->src[MG_KEY_EXEMPT]->who));
		return;
	}
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		enum mg_key k = shown[i];
		const struct mg_rule *src = res->src[k];

		if (!src) {
			printf("%-20s %-10s not set\n", mg_key_info(k)->name, "-");
			continue;
		}
		mg_value_format(k, &res->v[k], val, sizeof(val));
		bytes_text(k, &res->v[k], memtotal, bytes, sizeof(bytes));
		if (bytes[0])
			printf("%-20s %-10s (%s) %s:%u '%s'", mg_key_info(k)->name, val, bytes, ctl_safe(src->file),
			       src->line, ctl_safe(src->who));
		else
			printf("%-20s %-10s %s:%u '%s'", mg_key_info(k)->name, val, ctl_safe(src->file), src->line,
			       ctl_safe(src->who));
		printf("%s\n", mg_cg_key_applies(cgv, k) ? "" : " (" NOT_ON_V1 ")");
	}
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		if (!all->src[k])
			continue;
		mg_value_format((enum mg_key)k, &all->v[k], val, sizeof(val));
		printf("%%all %-15s %-10s %s:%u (one cap over every user's sessions together)\n",
		       mg_key_info((enum mg_key)k)->name, val, ctl_safe(all->src[k]->file), all->src[k]->line);
	}
}

static void print_setting_json(enum mg_key k, const struct mg_resolved *res, uint64_t memtotal, int cgv,
			       bool *first)
{
	const struct mg_rule *src = res->src[k];
	char val[64];

	if (!src)
		return;
	mg_value_format(k, &res->v[k], val, sizeof(val));
	printf("%s", *first ? "" : ",");
	*first = false;
	json_str(stdout, mg_key_info(k)->name);
	printf(":{\"value\":");
	json_str(stdout, val);
	if (mg_key_info(k)->type == MG_TYPE_SIZE && res->v[k].u.size.kind != MG_SIZE_MAX &&
	    (res->v[k].u.size.kind == MG_SIZE_BYTES || memtotal))
		printf(",\"bytes\":%llu", (unsigned long long)mg_size_bytes(&res->v[k].u.size, memtotal));
	printf(",\"file\":");
	json_str(stdout, src->file);
	printf(",\"line\":%u,\"who\":", src->line);
	json_str(stdout, src->who);
	if (!mg_cg_key_applies(cgv, k))
		printf(",\"applied\":false,\"note\":\"" NOT_ON_V1 "\"");
	printf("}");
}

static void print_json(const struct mg_identity_buf *who, const struct mg_resolved *res,
		       const struct mg_resolved *all, uint64_t memtotal, int cgv, bool preview)
{
	bool first = true;
	char buf[256];

	printf("{\"user\":");
	json_str(stdout, who->name);
	printf(",\"uid\":%u,\"groups\":[", (unsigned)who->id.uid);
	for (size_t i = 0; i < who->id.ngroups; i++) {
		printf("%s", i ? "," : "");
		json_str(stdout, who->groups[i]);
	}
	printf("],\"preview\":%s,\"all_users\":{\"covered\":%s,\"why\":", preview ? "true" : "false",
	       mg_all_users_covers(&who->id) == MG_ALL_USERS_COVERED ? "true" : "false");
	json_str(stdout, why_all_users(&who->id, buf, sizeof(buf)));
	printf("},\"root_exempt\":%s,\"exempt\":%s,\"settings\":{", who->id.uid == 0 ? "true" : "false",
	       mg_resolved_exempt(res) ? "true" : "false");
	for (int k = 0; k < MG_KEY_COUNT; k++)
		print_setting_json((enum mg_key)k, res, memtotal, cgv, &first);
	printf("},\"all_sessions\":{");
	first = true;
	for (int k = 0; k < MG_KEY_COUNT; k++)
		print_setting_json((enum mg_key)k, all, memtotal, cgv, &first);
	printf("}}\n");
}

/* An error of show: on stderr, and with --json as a JSON object on stdout
 * too, so a program reading stdout always gets JSON. */
__attribute__((format(printf, 2, 3)))
static int show_error(const struct ctl *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_err("%s", msg);
	if (c->json) {
		printf("{\"error\":");
		json_str(stdout, msg);
		printf("}\n");
	}
	return EXIT_PROBLEMS;
}

/* show --uid N [--groups a,b] NAME: the identity as given, not from NSS,
 * for a user who does not exist yet. */
static int preview_identity(const struct ctl *c, const char *name, uid_t uid_min, uid_t uid_max,
			    struct mg_identity_buf *who)
{
	const char *g = c->preview_groups;
	size_t n = 1;

	memset(who, 0, sizeof(*who));
	for (const char *s = g; s && *s; s++)
		n += *s == ',';
	who->name = strdup(name);
	who->home = strdup("");
	who->groups = calloc(n + 1, sizeof(char *));
	if (!who->name || !who->home || !who->groups)
		goto oom;
	while (g && *g) {
		size_t len = strcspn(g, ",");

		if (len && !(who->groups[who->id.ngroups++] = strndup(g, len)))
			goto oom;
		g += len + (g[len] == ',');
	}
	who->id.name = who->name;
	who->id.uid = c->preview_uid;
	who->id.groups = (const char *const *)who->groups;
	who->id.uid_min = uid_min;
	who->id.uid_max = uid_max;
	return 0;
oom:
	mg_identity_free(who);
	return -ENOMEM;
}

int cmd_show(struct ctl *c, int argc, char **argv)
{
	struct mg_identity_buf who;
	struct mg_resolved res, all;
	struct mg_policy p;
	struct mg_diags d = { 0 };
	uid_t uid_min, uid_max, uid = 0;
	char why[512];
	int r;

	if (argc != 1)
		return ctl_usage_err("show takes one user name or uid");
	mg_login_defs_uid_range(c->login_defs, &uid_min, &uid_max);
	if (c->preview) {
		if (preview_identity(c, argv[0], uid_min, uid_max, &who) < 0)
			return show_error(c, "out of memory");
	} else {
		r = live_user_quiet(argv[0], uid_min, uid_max, &who, &uid, why, sizeof(why));
		if (r == 1)
			return show_error(c, "%s (show --uid %u NAME previews a user who does not exist yet)", why,
					  (unsigned)uid);
		if (r < 0)
			return show_error(c, "%s", why);
	}
	r = ctl_load(c, &p, NULL, &d);
	if (r == -ENOMEM) {
		ctl_print_diags(&d);
		show_error(c, "out of memory");
	} else {
		int cgv = ctl_cgroup_version(c);

		mg_policy_resolve(&p, &who.id, &res);
		mg_policy_resolve_all_sessions(&p, &all);
		mg_resolved_validate(&res, p.memtotal, who.name, true, &d);
		ctl_print_diags(&d);
		if (c->json)
			print_json(&who, &res, &all, p.memtotal, cgv, c->preview);
		else
			print_text(&who, &res, &all, p.memtotal, cgv, c->preview);
	}
	mg_policy_free(&p);
	mg_identity_free(&who);
	r = r == -ENOMEM || d.errors ? EXIT_PROBLEMS : EXIT_OK;
	mg_diags_free(&d);
	return r;
}
