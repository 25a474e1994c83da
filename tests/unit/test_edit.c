/* Editing one rule keeps every other byte of the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy_edit.h"

struct edit_case {
	const char *why;
	const char *before;
	const char *who;
	const char *args[3]; /* assignments for set, keys for unset */
	const char *after;
	unsigned line_or_changed;
};

static const char base[] =
	"# memguard policy\n"
	"\n"
	"*              memory.max=25%   memory.high=20%   # everyone\n"
	"alice\tmemory.max=16G\toom_score_adj=-200\n"
	"   # indented comment\n"
	"bob            memory.max=4G\n";

static const struct edit_case set_cases[] = {
	{ "replace a value in place, keep the comment and alignment", base, "*", { "memory.max=30%" },
	  "# memguard policy\n\n*              memory.max=30%   memory.high=20%   # everyone\n"
	  "alice\tmemory.max=16G\toom_score_adj=-200\n   # indented comment\nbob            memory.max=4G\n",
	  3 },
	{ "add a key after the last setting, before the comment", base, "*", { "oom.group=yes" },
	  "# memguard policy\n\n*              memory.max=25%   memory.high=20%   oom.group=yes   # everyone\n"
	  "alice\tmemory.max=16G\toom_score_adj=-200\n   # indented comment\nbob            memory.max=4G\n",
	  3 },
	{ "tabs stay tabs", base, "alice", { "oom_score_adj=-100", "memory.high=8G" },
	  "# memguard policy\n\n*              memory.max=25%   memory.high=20%   # everyone\n"
	  "alice\tmemory.max=16G\toom_score_adj=-100   memory.high=8G\n   # indented comment\n"
	  "bob            memory.max=4G\n",
	  4 },
	{ "a new rule goes at the end", base, "@staff", { "memory.max=6G", "memory.high=5G" },
	  "# memguard policy\n\n*              memory.max=25%   memory.high=20%   # everyone\n"
	  "alice\tmemory.max=16G\toom_score_adj=-200\n   # indented comment\nbob            memory.max=4G\n"
	  "@staff         memory.max=6G   memory.high=5G\n",
	  7 },
	{ "a file without a final newline gets one before the new rule", "bob memory.max=4G", "carol",
	  { "exempt" }, "bob memory.max=4G\ncarol          exempt\n", 2 },
	{ "an empty file", "", "root", { "exempt" }, "root           exempt\n", 1 },
	{ "the last of two rules for one target is the one that counts", "bob memory.max=1G\nx memory.max=1G\nbob memory.max=2G\n",
	  "bob", { "memory.max=3G" }, "bob memory.max=1G\nx memory.max=1G\nbob memory.max=3G\n", 3 },
	{ "a bare exempt is replaced by exempt=no", "carol exempt\n", "carol", { "exempt=no" }, "carol exempt=no\n", 1 },
	{ "a target is matched whole, not by prefix", "bobby memory.max=1G\n", "bob", { "memory.max=2G" },
	  "bobby memory.max=1G\nbob            memory.max=2G\n", 2 },
	{ "a commented-out rule is not a rule", "# bob memory.max=1G\n", "bob", { "memory.max=2G" },
	  "# bob memory.max=1G\nbob            memory.max=2G\n", 2 },
	{ "CRLF lines keep their CR", "bob memory.max=1G\r\n", "bob", { "memory.max=2G" }, "bob memory.max=2G\r\n", 1 },
	/* Issue 11: set appended an LF-only line to a CRLF file. */
	{ "a new rule in a CRLF file ends in CRLF", "bob memory.max=1G\r\n", "carol", { "memory.max=2G" },
	  "bob memory.max=1G\r\ncarol          memory.max=2G\r\n", 2 },
	{ "a CRLF file without a final line end gets a CRLF", "a exempt\r\nbob memory.max=1G", "carol", { "exempt" },
	  "a exempt\r\nbob memory.max=1G\r\ncarol          exempt\r\n", 3 },
	{ "a setting added to a CRLF rule goes before the CR", "bob memory.max=1G\r\n", "bob", { "memory.high=1G" },
	  "bob memory.max=1G   memory.high=1G\r\n", 1 },
	/* Issue 11: behind a BOM, "*" on line 1 is the rule for "*". */
	{ "a BOM stays, and the rule behind it is found", "\xef\xbb\xbf* memory.max=4G\n", "*", { "memory.max=5G" },
	  "\xef\xbb\xbf* memory.max=5G\n", 1 },
};

static const struct edit_case unset_cases[] = {
	{ "one key, with the blanks before it", base, "*", { "memory.high" },
	  "# memguard policy\n\n*              memory.max=25%   # everyone\n"
	  "alice\tmemory.max=16G\toom_score_adj=-200\n   # indented comment\nbob            memory.max=4G\n",
	  1 },
	{ "the first key keeps the separator of the next", base, "alice", { "memory.max" },
	  "# memguard policy\n\n*              memory.max=25%   memory.high=20%   # everyone\n"
	  "alice\toom_score_adj=-200\n   # indented comment\nbob            memory.max=4G\n",
	  1 },
	{ "the last key goes: the rule goes", base, "bob", { "memory.max" },
	  "# memguard policy\n\n*              memory.max=25%   memory.high=20%   # everyone\n"
	  "alice\tmemory.max=16G\toom_score_adj=-200\n   # indented comment\n",
	  1 },
	{ "a whole rule; its comment stays", base, "*", { NULL },
	  "# memguard policy\n\n# everyone\nalice\tmemory.max=16G\toom_score_adj=-200\n   # indented comment\n"
	  "bob            memory.max=4G\n",
	  1 },
	{ "every rule for the target", "a exempt\nb exempt\na memory.max=1G\n", "a", { NULL }, "b exempt\n", 2 },
	{ "nothing to remove", base, "carol", { NULL }, base, 0 },
	{ "a key that is not set", base, "bob", { "memory.high" }, base, 0 },
	{ "no final newline", "a exempt\nb memory.max=1G memory.high=1G", "b", { "memory.high" },
	  "a exempt\nb memory.max=1G", 1 },
	{ "a whole CRLF rule goes without leaving a blank line", "a exempt\r\nb exempt\r\n", "a", { NULL },
	  "b exempt\r\n", 1 },
	{ "a BOM stays when the rule behind it goes", "\xef\xbb\xbf* memory.max=4G\nb exempt\n", "*", { NULL },
	  "\xef\xbb\xbf" "b exempt\n", 1 },
};

/* Found by fuzzing: the editor saw only the first 64 tokens of a longer
 * line, so unset turned "carol ... bob exempt" into a rule for bob. Such a
 * line is no rule (the parser refuses it): the editor leaves it alone. */
static void test_overlong_line_is_no_rule(void **state)
{
	char text[1024] = "carol", *out = NULL;
	size_t len = 0;
	unsigned changed = 0;

	(void)state;
	for (int i = 0; i < 63; i++)
		strcat(text, " oom.group=no");
	strcat(text, " bob exempt\n");
	assert_int_equal(mg_edit_unset(text, strlen(text), "carol", NULL, 0, &out, &len, &changed), 0);
	assert_int_equal(changed, 0);
	assert_string_equal(out, text);
	free(out);
}

static size_t count(const char *const *v)
{
	size_t n = 0;
	while (n < 3 && v[n])
		n++;
	return n;
}

static void test_set_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
		const struct edit_case *c = &set_cases[i];
		char *out = NULL;
		size_t len = 0;
		unsigned line = 0;

		assert_int_equal(mg_edit_set(c->before, strlen(c->before), c->who, c->args, count(c->args), &out, &len,
					     &line),
				 0);
		if (strcmp(out, c->after) != 0 || len != strlen(c->after))
			fail_msg("%s:\n--- got\n%s--- expected\n%s", c->why, out, c->after);
		if (line != c->line_or_changed)
			fail_msg("%s: line %u, expected %u", c->why, line, c->line_or_changed);
		free(out);
	}
}

static void test_unset_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(unset_cases) / sizeof(unset_cases[0]); i++) {
		const struct edit_case *c = &unset_cases[i];
		char *out = NULL;
		size_t len = 0;
		unsigned changed = 0;

		assert_int_equal(mg_edit_unset(c->before, strlen(c->before), c->who, c->args, count(c->args), &out,
					       &len, &changed),
				 0);
		if (strcmp(out, c->after) != 0 || len != strlen(c->after))
			fail_msg("%s:\n--- got\n%s--- expected\n%s", c->why, out, c->after);
		if (changed != c->line_or_changed)
			fail_msg("%s: changed %u, expected %u", c->why, changed, c->line_or_changed);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_table),
		cmocka_unit_test(test_unset_table),
		cmocka_unit_test(test_overlong_line_is_no_rule),
	};
	return cmocka_run_group_tests_name("edit", tests, NULL, NULL);
}
