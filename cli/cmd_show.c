#include <errno.h>
#include <string.h>

#include "ctl.h"
#include "identity.h"

static const enum mg_key shown[] = {
	MG_KEY_MEMORY_MAX,	   MG_KEY_MEMORY_HIGH,		MG_KEY_MEMORY_SWAP_MAX,
	MG_KEY_MEMORY_LOW,	   MG_KEY_MEMORY_MIN,		MG_KEY_SESSION_MEMORY_MAX,
	MG_KEY_SESSION_MEMORY_HIGH, MG_KEY_OOM_SCORE_ADJ,	MG_KEY_OOM_GROUP,
};

static void bytes_text(enum mg_key k, const struct mg_value *v, uint64_t memtotal, char *buf, size_t len)
{
	buf[0] = '\0';
	if (mg_key_info(k)->type != MG_TYPE_SIZE || v->u.size.kind != MG_SIZE_PERCENT || memtotal == 0)
		return;
	mg_bytes_format(mg_size_bytes(&v->u.size, memtotal) / 1024 / 1024 * 1024 * 1024, buf, len);
}

static void print_text(const struct mg_identity_buf *who, const struct mg_resolved *res,
		       const struct mg_resolved *all, uint64_t memtotal)
{
	char val[64], bytes[64];

	printf("user %s (uid %u), groups:", who->name, (unsigned)who->id.uid);
	for (size_t i = 0; i < who->id.ngroups; i++)
		printf(" %s", who->groups[i]);
	printf("\n");
	if (who->id.uid == 0)
		printf("note: uid 0 is exempt unless pam_memguard is given include_root\n");
	if (who->id.uid < who->id.uid_min || who->id.uid > who->id.uid_max)
		printf("note: '*' rules do not apply: uid %u is outside UID_MIN..UID_MAX (%u..%u)\n",
		       (unsigned)who->id.uid, (unsigned)who->id.uid_min, (unsigned)who->id.uid_max);
	if (mg_resolved_exempt(res)) {
		printf("exempt: no cgroup, no oom_score_adj (%s:%u, rule '%s')\n", res->src[MG_KEY_EXEMPT]->file,
		       res->src[MG_KEY_EXEMPT]->line, res->src[MG_KEY_EXEMPT]->who);
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
			printf("%-20s %-10s (%s) %s:%u '%s'\n", mg_key_info(k)->name, val, bytes, src->file, src->line,
			       src->who);
		else
			printf("%-20s %-10s %s:%u '%s'\n", mg_key_info(k)->name, val, src->file, src->line, src->who);
	}
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		if (!all->src[k])
			continue;
		mg_value_format((enum mg_key)k, &all->v[k], val, sizeof(val));
		printf("%%all %-15s %-10s %s:%u (one cap over every user's sessions together)\n",
		       mg_key_info((enum mg_key)k)->name, val, all->src[k]->file, all->src[k]->line);
	}
}

static void print_setting_json(enum mg_key k, const struct mg_resolved *res, uint64_t memtotal, bool *first)
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
	printf("}");
}

static void print_json(const struct mg_identity_buf *who, const struct mg_resolved *res,
		       const struct mg_resolved *all, uint64_t memtotal)
{
	bool first = true;

	printf("{\"user\":");
	json_str(stdout, who->name);
	printf(",\"uid\":%u,\"groups\":[", (unsigned)who->id.uid);
	for (size_t i = 0; i < who->id.ngroups; i++) {
		printf("%s", i ? "," : "");
		json_str(stdout, who->groups[i]);
	}
	printf("],\"root_exempt\":%s,\"exempt\":%s,\"settings\":{", who->id.uid == 0 ? "true" : "false",
	       mg_resolved_exempt(res) ? "true" : "false");
	for (int k = 0; k < MG_KEY_COUNT; k++)
		print_setting_json((enum mg_key)k, res, memtotal, &first);
	printf("},\"all_sessions\":{");
	first = true;
	for (int k = 0; k < MG_KEY_COUNT; k++)
		print_setting_json((enum mg_key)k, all, memtotal, &first);
	printf("}}\n");
}

int cmd_show(struct ctl *c, int argc, char **argv)
{
	struct mg_identity_buf who;
	struct mg_resolved res, all;
	struct mg_policy p;
	struct mg_diags d = { 0 };
	uid_t uid_min, uid_max;
	int r;

	if (argc != 1)
		return ctl_usage_err("show takes one user name");
	mg_login_defs_uid_range(c->login_defs, &uid_min, &uid_max);
	r = mg_identity_lookup(argv[0], uid_min, uid_max, &who);
	if (r == -ENOENT) {
		ctl_err("no such user: %s", argv[0]);
		return EXIT_PROBLEMS;
	}
	if (r < 0) {
		ctl_err("cannot look up %s: %s", argv[0], strerror(-r));
		return EXIT_PROBLEMS;
	}
	r = ctl_load(c, &p, NULL, &d);
	if (r != -ENOMEM) {
		mg_policy_resolve(&p, &who.id, &res);
		mg_policy_resolve_all_sessions(&p, &all);
		mg_resolved_validate(&res, p.memtotal, who.name, true, &d);
		ctl_print_diags(&d);
		if (c->json)
			print_json(&who, &res, &all, p.memtotal);
		else
			print_text(&who, &res, &all, p.memtotal);
	}
	mg_policy_free(&p);
	mg_identity_free(&who);
	r = r == -ENOMEM || d.errors ? EXIT_PROBLEMS : EXIT_OK;
	mg_diags_free(&d);
	return r;
}
