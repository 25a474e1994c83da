#include <errno.h>
#include <string.h>

#include "ctl.h"

static const char *who_kind_name(enum mg_who_kind k)
{
	switch (k) {
	case MG_WHO_ALL_USERS:
		return "all-users";
	case MG_WHO_UID_RANGE:
		return "uid-range";
	case MG_WHO_GROUP:
		return "group";
	case MG_WHO_USER:
		return "user";
	case MG_WHO_ALL_SESSIONS:
	default:
		return "all-sessions";
	}
}

int cmd_list(struct ctl *c, int argc, char **argv)
{
	struct mg_policy p;
	struct mg_diags d = { 0 };
	char val[64];
	int r;

	(void)argv;
	if (argc > 0)
		return ctl_usage_err("list takes no arguments");
	r = ctl_load(c, &p, NULL, &d);
	ctl_print_diags(&d);
	if (c->json)
		printf("[");
	for (size_t i = 0; i < p.nrules; i++) {
		const struct mg_rule *rule = &p.rules[i];
		bool first = true;

		if (c->json) {
			printf("%s{\"file\":", i ? "," : "");
			json_str(stdout, rule->file);
			printf(",\"line\":%u,\"who\":", rule->line);
			json_str(stdout, rule->who);
			printf(",\"kind\":\"%s\",\"settings\":{", who_kind_name(rule->who_kind));
		} else {
			printf("%s:%u\t%s", ctl_safe(rule->file), rule->line, ctl_safe(rule->who));
		}
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			if (!rule->v[k].set)
				continue;
			mg_value_format((enum mg_key)k, &rule->v[k], val, sizeof(val));
			if (c->json) {
				printf("%s", first ? "" : ",");
				json_str(stdout, mg_key_info((enum mg_key)k)->name);
				putchar(':');
				json_str(stdout, val);
			} else {
				printf("%s%s=%s", first ? "\t" : " ", mg_key_info((enum mg_key)k)->name, val);
			}
			first = false;
		}
		printf(c->json ? "}}" : "\n");
	}
	if (c->json)
		printf("]\n");
	mg_policy_free(&p);
	if (r == -ENOMEM || d.errors) {
		mg_diags_free(&d);
		return EXIT_PROBLEMS;
	}
	mg_diags_free(&d);
	return EXIT_OK;
}
