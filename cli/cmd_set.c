#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "policy_edit.h"
#include "store.h"
#include "target.h"


/* Text that goes into the file verbatim must stay one token on one line. */
static bool is_token(const char *s)
{
	if (!*s || *s == '#')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '#')
			return false;
	return true;
}

/* A typo in a name makes a rule that never applies: say so at once. */
static void warn_unknown_name(const char *who)
{
	if (who[0] == '@' && who[1] && !getgrnam(who + 1))
		ctl_warn("no group '%s' is known now; the rule applies once NSS knows it", who + 1);
	else if (who[0] != '@' && who[0] != '*' && who[0] != '%' && !strchr(who, ':') && !getpwnam(who))
		ctl_warn("no user '%s' is known now; the rule applies once NSS knows it", who);
}

static int check_who(const char *who)
{
	if (!is_token(who) || strchr(who, '='))
		return ctl_usage_err("'%s' is not a rule target (*, USER, @GROUP, MIN:MAX or %%all)", who);
	return 0;
}

/* Rules for the same target later in reading order win over the one we
 * just changed: say so, or the admin believes a change that does nothing. */
static void warn_overrides(const struct mg_policy *p, const char *file, unsigned line, const char *who,
			   const char *const *assign, size_t n)
{
	size_t at = p->nrules;

	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].line == line && strcmp(p->rules[i].file, file) == 0)
			at = i;
	for (size_t i = at + 1; i < p->nrules; i++) {
		const struct mg_rule *r = &p->rules[i];
		if (strcmp(r->who, who) != 0)
			continue;
		for (size_t a = 0; a < n; a++) {
			int k = mg_key_lookup(assign[a], mg_assign_key_len(assign[a]));
			if (k >= 0 && r->v[k].set)
				ctl_warn("%s:%u sets %s for %s too and, read later, wins", r->file, r->line,
					 mg_key_info((enum mg_key)k)->name, who);
		}
	}
}

static void warn_still_set(const struct mg_policy *p, const char *who, char **keys, size_t n)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct mg_rule *r = &p->rules[i];
		if (strcmp(r->who, who) != 0)
			continue;
		for (int k = 0; k < MG_KEY_COUNT; k++) {
			bool named = n == 0;
			for (size_t j = 0; j < n && !named; j++)
				named = strcmp(keys[j], mg_key_info((enum mg_key)k)->name) == 0;
			if (named && r->v[k].set)
				ctl_warn("%s is still set for %s by %s:%u", mg_key_info((enum mg_key)k)->name, who,
					 r->file, r->line);
		}
	}
}

enum op { OP_SET, OP_UNSET };

static int run(struct ctl *c, enum op op, const char *who, char **args, size_t nargs)
{
	char *old = NULL, *text = NULL;
	const char *target;
	size_t oldlen = 0, len = 0;
	struct store_file f;
	struct mg_policy newp;
	unsigned line = 0, changed = 0;
	int lockfd = -1, r, errors;

	mg_policy_init(&newp, 0);
	r = target_open(c, &f, &lockfd, &old, &oldlen);
	target = f.path;
	if (r != 0)
		goto out;
	if (op == OP_SET)
		r = mg_edit_set(old, oldlen, who, (const char *const *)args, nargs, &text, &len, &line);
	else
		r = mg_edit_unset(old, oldlen, who, (const char *const *)args, nargs, &text, &len, &changed);
	if (r < 0) {
		ctl_err("cannot edit %s: %s", target, strerror(-r));
		goto out;
	}
	if (len == oldlen && memcmp(text, old, len) == 0) {
		printf("no changes: %s already %s\n", ctl_safe(target),
		       op == OP_SET ? "says that" : "has none of that for this target");
		r = EXIT_OK;
		goto out;
	}
	errors = change_check(c, target, text, len, &newp);
	if (errors != 0) {
		if (errors > 0)
			ctl_err("%s not changed: the result would not be valid", target);
		r = errors < 0 ? errors : EXIT_PROBLEMS;
		goto out;
	}
	r = change_write(c, &f, text, len);
	if (r < 0)
		goto out;
	if (op == OP_SET) {
		printf("%s:%u: %s", ctl_safe(target), line, ctl_safe(who));
		for (size_t i = 0; i < nargs; i++)
			printf(" %s", ctl_safe(args[i]));
		printf("\n");
		warn_unknown_name(who);
		warn_overrides(&newp, target, line, who, (const char *const *)args, nargs);
	} else {
		printf("%s: removed %u %s for %s\n", ctl_safe(target), changed,
		       nargs ? (changed == 1 ? "setting" : "settings") : (changed == 1 ? "rule" : "rules"),
		       ctl_safe(who));
		warn_still_set(&newp, who, args, nargs);
	}
	r = EXIT_OK;
out:
	store_unlock(lockfd);
	mg_policy_free(&newp);
	store_close(&f);
	free(old);
	free(text);
	return r;
}

int cmd_set(struct ctl *c, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_err("set needs a target and at least one KEY=VALUE");
	if (check_who(argv[0]))
		return EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		size_t klen = mg_assign_key_len(argv[i]);
		if (!is_token(argv[i]) || klen == 0)
			return ctl_usage_err("'%s' is not KEY=VALUE", argv[i]);
		if (!strchr(argv[i], '=') && strcmp(argv[i], "exempt") != 0)
			return ctl_usage_err("'%s' needs a value: %s=VALUE", argv[i], argv[i]);
		for (int j = 1; j < i; j++)
			if (mg_assign_key_len(argv[j]) == klen && memcmp(argv[j], argv[i], klen) == 0)
				return ctl_usage_err("%.*s is given twice", (int)klen, argv[i]);
	}
	return run(c, OP_SET, argv[0], argv + 1, (size_t)argc - 1);
}

int cmd_unset(struct ctl *c, int argc, char **argv)
{
	if (argc < 1)
		return ctl_usage_err("unset needs a target");
	if (check_who(argv[0]))
		return EXIT_USAGE;
	for (int i = 1; i < argc; i++)
		if (mg_key_lookup(argv[i], strlen(argv[i])) < 0)
			return ctl_usage_err("unknown key '%s'", argv[i]);
	return run(c, OP_UNSET, argv[0], argv + 1, (size_t)argc - 1);
}
