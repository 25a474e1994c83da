/* libFuzzer target: the pam.d reader (lib/pamconf.c) on one file's text
 * (cut at the first NUL, as a file read into a string would be).
 * Besides "no crash, no UB, no leak", it checks what pamconf.h promises:
 *   - entries come in line order, each on a line the text has;
 *   - a module line has a known type, a control, a target, and its kind
 *     says include/substack exactly when the control word does;
 *   - no token is empty or holds a line end; every argument has a column;
 *   - pam_memguard's arguments, when read, point into the line's own.
 * A broken promise abort()s, so libFuzzer keeps the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pamconf.h"

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz_pamconf: invariant broken: %s\n  ", #cond); \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

static bool points_into(const struct mg_pam_entry *e, const char *v)
{
	for (size_t i = 0; i < e->argc; i++)
		if (v >= e->argv[i] && v <= e->argv[i] + strlen(e->argv[i]))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mg_pam_file f = { 0 };
	struct mg_diags d = { 0 };
	unsigned lines = 1, last = 0;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	if (mg_pam_file_parse("fuzz", text, &f, &d) < 0) {
		free(text);
		mg_diags_free(&d);
		return 0;
	}
	for (size_t i = 0; i < f.n; i++) {
		const struct mg_pam_entry *e = &f.v[i];

		CHECK(e->line > last && e->line <= lines, "entry %zu on line %u after %u of %u", i, e->line, last, lines);
		last = e->line;
		CHECK(e->target && e->target[0] && !strchr(e->target, '\n'), "entry %zu: target", i);
		if (e->kind == MG_PAM_AT_INCLUDE) {
			CHECK(e->type[0] == '\0' && e->argc == 0, "@include with a type or arguments");
			continue;
		}
		CHECK(strcmp(e->type, "auth") == 0 || strcmp(e->type, "account") == 0 || strcmp(e->type, "password") == 0 ||
			      strcmp(e->type, "session") == 0,
		      "type '%s'", e->type);
		CHECK(e->control && e->control[0], "entry %zu: no control", i);
		CHECK((e->kind == MG_PAM_INCLUDE) == (strcmp(e->control, "include") == 0) &&
			      (e->kind == MG_PAM_SUBSTACK) == (strcmp(e->control, "substack") == 0),
		      "kind %d for control '%s'", (int)e->kind, e->control);
		for (size_t j = 0; j < e->argc; j++) {
			CHECK(e->argv[j] && !strchr(e->argv[j], '\n'), "argument %zu", j);
			CHECK(e->argcol[j] >= 1, "argument %zu without a column", j);
		}
		if (mg_pam_entry_loads(e, MG_PAM_MODULE_NAME)) {
			struct mg_modargs a;

			mg_modargs_parse(&f, e, &a, &d);
			CHECK(!a.policy || points_into(e, a.policy), "policy= outside the arguments");
			CHECK(!a.cgroup_root || points_into(e, a.cgroup_root), "cgroup_root= outside the arguments");
			CHECK(!a.backend || !strcmp(a.backend, "auto") || !strcmp(a.backend, "systemd") ||
				      !strcmp(a.backend, "cgroupfs"),
			      "backend '%s'", a.backend);
		}
	}
	for (size_t i = 0; i < d.n; i++)
		CHECK(d.v[i].line >= 1 && d.v[i].line <= lines, "diagnostic on line %u of %u", d.v[i].line, lines);
	mg_pam_file_free(&f);
	mg_diags_free(&d);
	free(text);
	return 0;
}
