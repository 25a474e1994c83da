/* The policy grammar and its messages: every problem as file:line:column,
 * all of them in one run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_line.h"

#define RAM (16ull << 30)

struct parse_case {
	const char *why;
	const char *text;
	size_t rules;
	const char *diags; /* every diagnostic, formatted, one per line */
};

static const struct parse_case cases[] = {
	{ "the example from the design", "# who settings\n"
	  "*              memory.max=25%   memory.high=20%   oom_score_adj=100\n"
	  "@students      memory.max=4G    memory.high=3G\n"
	  "1000:1999      memory.max=8G\n"
	  "alice          memory.max=16G   oom_score_adj=-200   session.memory.max=8G\n"
	  "root           exempt\n"
	  "%all           memory.max=80%\n",
	  6, "" },
	{ "blank lines, comments, CRLF, trailing comment, no final newline",
	  "\n   \n\t# c\r\nbob memory.max=1G # mine\r\ncarol\tmemory.max=2G", 2, "" },
	{ "unknown key with a suggestion", "bob memory.maxx=1G\n", 0,
	  "t.conf:1:5: error: unknown key 'memory.maxx' (did you mean memory.max?)\n" },
	{ "unknown key without one", "bob colour=blue\n", 0, "t.conf:1:5: error: unknown key 'colour'\n" },
	{ "bad size", "bob memory.max=4GB\n", 0,
	  "t.conf:1:16: error: memory.max=4GB: not a size (expected bytes with an optional K, M, G or T suffix, a "
	  "percentage of RAM such as 25%, or max)\n" },
	{ "percent above 100", "bob memory.max=150%\n", 0,
	  "t.conf:1:16: error: memory.max=150%: a percentage of RAM cannot exceed 100%\n" },
	{ "duplicate key", "bob memory.max=1G memory.max=2G\n", 0,
	  "t.conf:1:19: error: memory.max is set twice on this line (first at column 5)\n" },
	{ "a rule without settings", "bob\n", 0,
	  "t.conf:1:4: error: rule has no settings (expected KEY=VALUE, or exempt)\n" },
	{ "a key without a value", "bob memory.max\n", 0, "t.conf:1:5: error: memory.max needs a value (memory.max=VALUE)\n" },
	{ "oom_score_adj range", "bob oom_score_adj=-1001\nbob oom_score_adj=1000\nbob oom_score_adj=x\n", 1,
	  "t.conf:1:19: error: oom_score_adj=-1001: expected a whole number from -1000 to 1000\n"
	  "t.conf:3:19: error: oom_score_adj=x: expected a whole number from -1000 to 1000\n" },
	{ "an empty number is not read past its end (found by fuzzing)", "x oom_score_adj=", 0,
	  "t.conf:1:17: error: oom_score_adj=: expected a whole number from -1000 to 1000\n" },
	{ "yes/no", "bob oom.group=maybe\nbob oom.group=yes exempt=no\n", 1,
	  "t.conf:1:15: error: oom.group=maybe: expected yes or no\n" },
	{ "uid ranges", "1000: memory.max=1G\n:999 memory.max=1G\n5:3 memory.max=1G\n1x:5 memory.max=1G\n: memory.max=1G\n", 2,
	  "t.conf:3:1: error: uid range '5:3' is empty: 5 is above 3\n"
	  "t.conf:4:1: error: bad uid range '1x:5' (expected MIN:MAX, MIN: or :MAX with decimal uids)\n"
	  "t.conf:5:1: error: bad uid range ':' (expected MIN:MAX, MIN: or :MAX with decimal uids)\n" },
	{ "special targets", "%all memory.max=90% memory.high=80%\n%all oom_score_adj=5\n%users memory.max=1G\n", 1,
	  "t.conf:2:6: error: oom_score_adj cannot be set on %all (it takes memory.max, memory.high and memory.swap.max)\n"
	  "t.conf:3:1: error: unknown special target '%users' (the only one is %all)\n" },
	{ "a setting where the target goes", "memory.max=1G\n", 0,
	  "t.conf:1:1: error: 'memory.max=1G' is a setting, but a rule starts with who it is for (*, USER, @GROUP, "
	  "MIN:MAX or %all)\n" },
	{ "floor", "bob memory.max=31M\nbob session.memory.high=32M memory.high=0.1%\nbob memory.swap.max=0 memory.min=0\n", 2,
	  "t.conf:1:16: error: memory.max=31M is below the 32M floor: the session's own sshd, login or su process "
	  "lives inside the cap and would be OOM-killed\n"
	  "t.conf:2:41: warning: memory.high=0.1% is below the 32M floor on this machine; pam_memguard applies 32M\n" },
	{ "max below a size is the kernel's default, not a clash", "bob memory.max=4G memory.high=max session.memory.high=max\n",
	  1, "" },
	{ "high above max on one line", "bob memory.max=4G memory.high=5G\nbob session.memory.high=2G session.memory.max=1G\n",
	  0,
	  "t.conf:1:19: error: memory.high=5G is above memory.max=4G\n"
	  "t.conf:2:5: error: session.memory.high=2G is above session.memory.max=1G\n" },
	{ "percent against bytes on one line", "bob memory.max=4G memory.high=50%\nbob memory.max=max memory.high=50%\n", 1,
	  "t.conf:1:19: error: memory.high=50% is above memory.max=4G\n" },
	{ "unkillable and capped", "bob oom_score_adj=-1000 memory.max=1G\nbob oom_score_adj=-1000 memory.max=max\n", 1,
	  "t.conf:1:5: error: oom_score_adj=-1000 together with memory.max: unkillable tasks stall at the cap instead of "
	  "being OOM-killed\n" },
	{ "warnings keep the rule", "bob memory.min=17G\nroot exempt memory.max=1G\nbob session.memory.max=2G memory.max=1G\n",
	  3,
	  "t.conf:1:16: warning: memory.min=17G is more than this machine's RAM\n"
	  "t.conf:2:6: warning: the other settings of an exempt rule are ignored\n"
	  "t.conf:3:5: warning: session.memory.max=2G is above memory.max=1G: the user's total caps every session first\n" },
	{ "trace= takes a size, max or off; never a share of RAM, 0, or %all",
	  "bob trace=64M\nbob trace=max\nbob trace=off\nbob trace=25%\nbob trace=0\nbob trace=lots\n%all trace=1M\n", 3,
	  "t.conf:4:11: error: trace=25%: expected the size from which allocations are reported (such as 64M), max "
	  "(failures only) or off\n"
	  "t.conf:5:11: error: trace=0: expected the size from which allocations are reported (such as 64M), max "
	  "(failures only) or off\n"
	  "t.conf:6:11: error: trace=lots: expected the size from which allocations are reported (such as 64M), max "
	  "(failures only) or off\n"
	  "t.conf:7:6: error: trace cannot be set on %all (it takes memory.max, memory.high and memory.swap.max)\n" },
	{ "every error of a line, and of the next", "bob memory.maxx=3G memory.high=5G memory.max=4G memory.max=1\nx y\n", 0,
	  "t.conf:1:5: error: unknown key 'memory.maxx' (did you mean memory.max?)\n"
	  "t.conf:1:49: error: memory.max is set twice on this line (first at column 35)\n"
	  "t.conf:1:20: error: memory.high=5G is above memory.max=4G\n"
	  "t.conf:2:3: error: unknown key 'y'\n" },
	/* Issue 11: a BOM made "*" an unknown user name and the default cap vanished. */
	{ "a UTF-8 byte order mark is skipped with a warning; the rule stays", "\xef\xbb\xbf* memory.max=4G\nbob memory.max=x\n",
	  1,
	  "t.conf:1:1: warning: the file starts with a UTF-8 byte order mark, ignoring it\n"
	  "t.conf:2:16: error: memory.max=x: not a size (expected bytes with an optional K, M, G or T suffix, a "
	  "percentage of RAM such as 25%, or max)\n" },
	{ "a BOM alone is an empty file", "\xef\xbb\xbf", 0,
	  "t.conf:1:1: warning: the file starts with a UTF-8 byte order mark, ignoring it\n" },
	{ "a BOM elsewhere is no BOM", "bob memory.max=1G\n\xef\xbb\xbf* memory.max=4G\n", 2, "" },
	/* Issue 11: "memory.max = 4G" gave three errors, one of them "unknown key ''". */
	{ "spaces around '=': one error each, with the setting as it should be",
	  "a memory.max = 4G\nb memory.max =4G memory.high= 3G\nc memory.max=4G exempt = no\nd memroy.max = 1G\n", 0,
	  "t.conf:1:3: error: no spaces around '=' (write memory.max=4G)\n"
	  "t.conf:2:3: error: no spaces around '=' (write memory.max=4G)\n"
	  "t.conf:2:18: error: no spaces around '=' (write memory.high=3G)\n"
	  "t.conf:3:17: error: no spaces around '=' (write exempt=no)\n"
	  "t.conf:4:3: error: no spaces around '=' (write memroy.max=1G)\n"
	  "t.conf:4:3: error: unknown key 'memroy.max' (did you mean memory.max?)\n" },
	{ "a dangling '=' with nothing after it", "a memory.max =\n", 0,
	  "t.conf:1:3: error: no spaces around '=' (write memory.max=)\n" },
};

static void collect(const struct mg_diags *d, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->n && n < len; i++) {
		mg_diag_format(&d->v[i], out + n, len - n);
		n += strlen(out + n);
		if (n + 1 < len) {
			out[n++] = '\n';
			out[n] = '\0';
		}
	}
}

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		struct mg_policy p;
		struct mg_diags d = { 0 };
		char got[4096];

		mg_policy_init(&p, RAM);
		assert_int_equal(mg_policy_parse_buffer(&p, "t.conf", c->text, strlen(c->text), &d), 0);
		collect(&d, got, sizeof(got));
		if (strcmp(got, c->diags) != 0)
			fail_msg("%s:\n--- got\n%s--- expected\n%s", c->why, got, c->diags);
		if (p.nrules != c->rules)
			fail_msg("%s: %zu rules, expected %zu", c->why, p.nrules, c->rules);
		mg_policy_free(&p);
		mg_diags_free(&d);
	}
}

static void test_rule_fields(void **state)
{
	const char *text = "@staff memory.max=25% oom.group=yes\n1000:1999 exempt\nbob oom_score_adj=-200\n";
	struct mg_policy p;
	struct mg_diags d = { 0 };

	(void)state;
	mg_policy_init(&p, RAM);
	assert_int_equal(mg_policy_parse_buffer(&p, "f", text, strlen(text), &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(p.nrules, 3);
	assert_int_equal(p.rules[0].who_kind, MG_WHO_GROUP);
	assert_string_equal(p.rules[0].who, "@staff");
	assert_int_equal(p.rules[0].v[MG_KEY_MEMORY_MAX].u.size.kind, MG_SIZE_PERCENT);
	assert_int_equal(p.rules[0].v[MG_KEY_MEMORY_MAX].col, 8);
	assert_true(p.rules[0].v[MG_KEY_OOM_GROUP].u.flag);
	assert_int_equal(p.rules[1].who_kind, MG_WHO_UID_RANGE);
	assert_int_equal(p.rules[1].uid_min, 1000);
	assert_int_equal(p.rules[1].uid_max, 1999);
	assert_true(p.rules[1].v[MG_KEY_EXEMPT].u.flag);
	assert_int_equal(p.rules[2].line, 3);
	assert_int_equal(p.rules[2].v[MG_KEY_OOM_SCORE_ADJ].u.num, -200);
	mg_policy_free(&p);
	mg_diags_free(&d);

	text = "bob trace=256M\ncarol trace=off\ndan trace=max\n";
	mg_policy_init(&p, RAM);
	assert_int_equal(mg_policy_parse_buffer(&p, "f", text, strlen(text), &d), 0);
	assert_int_equal(d.n, 0);
	assert_true(p.rules[0].v[MG_KEY_TRACE].u.trace.on);
	assert_int_equal(p.rules[0].v[MG_KEY_TRACE].u.trace.threshold.value, 256ull << 20);
	assert_false(p.rules[1].v[MG_KEY_TRACE].u.trace.on);
	assert_true(p.rules[2].v[MG_KEY_TRACE].u.trace.on);
	assert_int_equal(p.rules[2].v[MG_KEY_TRACE].u.trace.threshold.kind, MG_SIZE_MAX);
	mg_policy_free(&p);
	mg_diags_free(&d);
}

static void test_dropin_dir(void **state)
{
	char *a = mg_policy_dropin_dir("/etc/security/memguard.conf");
	char *b = mg_policy_dropin_dir("/tmp/policy");

	(void)state;
	assert_string_equal(a, "/etc/security/memguard.d");
	assert_string_equal(b, "/tmp/policy.d");
	free(a);
	free(b);
}

/* Validation across rules: each rule laid over the "*" defaults. */
static void test_validate_over_defaults(void **state)
{
	const char *text = "*  memory.high=6G\n@small memory.max=4G\nbig memory.max=8G\n"
			   "1000:2000 oom_score_adj=-1000\nu1 memory.min=10G\nu2 memory.min=7G\n";
	struct mg_policy p;
	struct mg_diags d = { 0 };
	char got[2048];

	(void)state;
	mg_policy_init(&p, RAM);
	mg_policy_parse_buffer(&p, "t.conf", text, strlen(text), &d);
	assert_int_equal(d.n, 0);
	mg_policy_validate(&p, &d);
	collect(&d, got, sizeof(got));
	/* Targets are checked in name order. */
	assert_string_equal(got,
			    "t.conf:4:11: error: oom_score_adj=-1000 together with memory.high: unkillable tasks stall at "
			    "the cap instead of being OOM-killed (for 1000:2000, with t.conf:1)\n"
			    "t.conf:2:8: error: memory.high=6G is above memory.max=4G (for @small, with t.conf:1)\n"
			    "t.conf:6:4: warning: the memory.min of the users named in the policy adds up to more than "
			    "this machine's RAM\n");
	mg_policy_free(&p);
	mg_diags_free(&d);
}

/* One target's lines are merged as a login sees them: no clash with the
 * defaults that its own earlier line already overrides; one that its own
 * lines create is found, %all's too; a protection is counted once. */
static void test_validate_merges_targets(void **state)
{
	const char *main_text = "* memory.max=4G\nalice memory.max=12G\n%all memory.high=2G\nbob memory.min=9G\n";
	const char *dropin = "alice memory.high=10G\n%all memory.max=1G\nbob memory.min=9G\ncarl memory.high=5G\n";
	struct mg_policy p;
	struct mg_diags d = { 0 };
	char got[2048];

	(void)state;
	mg_policy_init(&p, RAM);
	mg_policy_parse_buffer(&p, "main", main_text, strlen(main_text), &d);
	mg_policy_parse_buffer(&p, "drop", dropin, strlen(dropin), &d);
	assert_int_equal(d.n, 0);
	mg_policy_validate(&p, &d);
	collect(&d, got, sizeof(got));
	assert_string_equal(got, "drop:2:6: error: memory.high=2G is above memory.max=1G (for %all, with main:3)\n"
				 "drop:3:5: warning: memory.min=9G is above memory.max=4G: the protection can never be "
				 "reached (for bob, with main:1)\n"
				 "drop:4:6: error: memory.high=5G is above memory.max=4G (for carl, with main:1)\n"
				 "main:4:1: warning: this rule has no effect: every setting of it is set again by a later "
				 "rule for 'bob' (drop:3)\n");
	mg_policy_free(&p);
	mg_diags_free(&d);
}

/* Issue 11: a rule each of whose settings a later rule for the same
 * target sets again does nothing; one that keeps any key does something. */
static void test_validate_overridden(void **state)
{
	const char *main_text = "alice memory.max=1G\nalice memory.max=2G memory.high=1G\nbob memory.max=1G\n"
				"* memory.max=4G\n@g memory.max=1G oom.group=yes\n";
	const char *dropin = "alice memory.max=3G\n@g oom.group=no\n* memory.max=5G\nalice memory.high=1500M\n"
			     "bob memory.max=2G\nbobby memory.max=1G\n";
	struct mg_policy p;
	struct mg_diags d = { 0 };
	char got[2048];

	(void)state;
	mg_policy_init(&p, RAM);
	mg_policy_parse_buffer(&p, "main", main_text, strlen(main_text), &d);
	mg_policy_parse_buffer(&p, "drop", dropin, strlen(dropin), &d);
	assert_int_equal(d.n, 0);
	mg_policy_validate(&p, &d);
	collect(&d, got, sizeof(got));
	/* Targets in name order, within one from the last line up. */
	assert_string_equal(got,
			    "main:4:1: warning: this rule has no effect: every setting of it is set again by a later "
			    "rule for '*' (drop:3)\n"
			    "main:2:1: warning: this rule has no effect: every setting of it is set again by a later "
			    "rule for 'alice' (drop:1, drop:4)\n"
			    "main:1:1: warning: this rule has no effect: every setting of it is set again by a later "
			    "rule for 'alice' (drop:1)\n"
			    "main:3:1: warning: this rule has no effect: every setting of it is set again by a later "
			    "rule for 'bob' (drop:5)\n");
	mg_policy_free(&p);
	mg_diags_free(&d);
}

/* Found by fuzzing: a NUL byte cut the target short, so "nobody\0junk"
 * acted as a rule for nobody that no editor could find. */
static void test_nul_byte(void **state)
{
	static const char text[] = "nobody\0junk memory.max=1G\nbob memory.max=1G\n";
	struct mg_policy p;
	struct mg_diags d = { 0 };
	char got[512];

	(void)state;
	mg_policy_init(&p, RAM);
	mg_policy_parse_buffer(&p, "t.conf", text, sizeof(text) - 1, &d);
	collect(&d, got, sizeof(got));
	assert_string_equal(got, "t.conf:1:7: error: a NUL byte in the line (is this a text file?)\n");
	assert_int_equal(p.nrules, 1);
	assert_string_equal(p.rules[0].who, "bob");
	mg_policy_free(&p);
	mg_diags_free(&d);
}

/* Found by fuzzing: a login's filtered parse must agree with the full one,
 * even for a target token of 256 bytes or more. */
static void test_login_parse_agrees(void **state)
{
	char text[512];
	struct mg_identity id = { "u", 1500, NULL, 0, 1000, 60000 };
	struct mg_policy full, login;
	struct mg_diags d = { 0 };
	struct mg_resolved a, b;

	(void)state;
	snprintf(text, sizeof(text), "%0300d:2000 memory.max=1G\n", 1000);
	mg_policy_init(&full, RAM);
	mg_policy_init(&login, RAM);
	login.only = &id;
	mg_policy_parse_buffer(&full, "t", text, strlen(text), &d);
	mg_policy_parse_buffer(&login, "t", text, strlen(text), &d);
	assert_int_equal(d.errors, 0);
	mg_policy_resolve(&full, &id, &a);
	mg_policy_resolve(&login, &id, &b);
	assert_non_null(a.src[MG_KEY_MEMORY_MAX]);
	assert_non_null(b.src[MG_KEY_MEMORY_MAX]);
	mg_policy_free(&full);
	mg_policy_free(&login);
	mg_diags_free(&d);
}

/* The one-pass line head a login uses agrees with mg_next_line and
 * mg_line_first_token on every line, at every token length around the
 * sixteen-byte steps, with ':', '=', control bytes, CRLF and a missing
 * last newline. */
static void test_line_head_agrees(void **state)
{
	static const char *const pieces[] = { "a", "alice", "benchuser000002", "x=1", "1000:1999", "@wheel",
					      "# note", "\t", "  ", "\r", "\x01", "\v", "=", ":", "\xc3\xa9" };
	char buf[256];
	unsigned seed = 1;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t n = 0, pos = 0, pos2 = 0, len, len2;
		const char *line, *line2;
		struct mg_token tok, tok2;
		bool marked, marked2, has;

		while (n < sizeof(buf) - 40) {
			const char *p;

			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 9 == 0) {
				buf[n++] = '\n';
				continue;
			}
			if ((seed >> 16) % 7 == 0) { /* a long token, across 16-byte steps */
				size_t k = 1 + (seed >> 20) % 40;
				while (k-- && n < sizeof(buf) - 40)
					buf[n++] = (char)('a' + k % 26);
				continue;
			}
			p = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
			memcpy(buf + n, p, strlen(p));
			n += strlen(p);
			if ((seed >> 24) % 2)
				buf[n++] = ' ';
			if ((seed >> 28) % 5 == 0)
				break;
		}
		while (mg_next_line_head(buf, n, &pos, &line, &len, &tok, &marked)) {
			assert_true(mg_next_line(buf, n, &pos2, &line2, &len2));
			assert_ptr_equal(line, line2);
			assert_int_equal(len, len2);
			assert_int_equal(pos, pos2);
			has = mg_line_first_token(line, len, &tok2, &marked2);
			assert_int_equal(has, tok.len > 0);
			if (has) {
				assert_int_equal(tok.off, tok2.off);
				assert_int_equal(tok.len, tok2.len);
				assert_int_equal(marked, marked2);
			}
		}
		assert_false(mg_next_line(buf, n, &pos2, &line2, &len2));
	}
}

/* A login parses only the lines that can concern it (names compared by
 * length first, groups, ranges and "*" as usual), and resolves exactly as
 * the full parse does; another user's broken value is not its problem. */
static void test_login_filter(void **state)
{
	static const char text[] = "*          memory.max=8G oom_score_adj=100\n"
				   "alic       memory.max=1G\n"
				   "alicee     memory.max=1G\n"
				   "bob        memory.max=oops\n"
				   "@other     memory.high=1G\n"
				   "@staff     memory.high=3G\n"
				   "2000:      memory.swap.max=0\n"
				   "1000:1999  memory.swap.max=1G\n"
				   "alice      memory.max=6G\n"
				   "%all       memory.max=90%\n";
	const char *groups[] = { "staff" };
	struct mg_identity id = { "alice", 1500, groups, 1, 1000, 60000 };
	struct mg_policy full, login;
	struct mg_diags dfull = { 0 }, dlogin = { 0 };
	struct mg_resolved a, b;

	(void)state;
	mg_policy_init(&full, RAM);
	mg_policy_init(&login, RAM);
	login.only = &id;
	mg_policy_parse_buffer(&full, "t", text, strlen(text), &dfull);
	mg_policy_parse_buffer(&login, "t", text, strlen(text), &dlogin);
	assert_int_equal(dfull.errors, 1);
	assert_int_equal(dlogin.errors, 0);
	/* "*", @staff, 1000:1999, alice and %all: nothing else was kept. */
	assert_int_equal(login.nrules, 5);
	mg_policy_resolve(&full, &id, &a);
	mg_policy_resolve(&login, &id, &b);
	for (int k = 0; k < MG_KEY_COUNT; k++) {
		assert_int_equal(a.src[k] != NULL, b.src[k] != NULL);
		if (a.src[k])
			assert_int_equal(a.src[k]->line, b.src[k]->line);
	}
	assert_int_equal(b.src[MG_KEY_MEMORY_MAX]->line, 9);
	assert_int_equal(b.src[MG_KEY_MEMORY_HIGH]->line, 6);
	assert_int_equal(b.src[MG_KEY_MEMORY_SWAP_MAX]->line, 8);
	assert_int_equal(b.src[MG_KEY_OOM_SCORE_ADJ]->line, 1);
	mg_policy_free(&full);
	mg_policy_free(&login);
	mg_diags_free(&dfull);
	mg_diags_free(&dlogin);
}

/* A login reads /proc/meminfo only when a line it keeps has a value that
 * needs RAM: a percentage, or a protection checked against RAM. Each
 * check that needs it still sees it. */
static void test_login_reads_meminfo_only_when_needed(void **state)
{
	char meminfo[] = "/tmp/memguard-meminfo-XXXXXX";
	static const char plain[] = "alice memory.max=2G\nbob memory.max=50%\n";
	static const char clash[] = "alice memory.max=256M memory.high=50%\n";
	static const char low[] = "alice memory.low=2G\n";
	struct mg_identity id = { "alice", 1500, NULL, 0, 1000, 60000 };
	struct mg_diags d = { 0 };
	struct mg_policy p;
	int fd = mkstemp(meminfo);

	(void)state;
	assert_true(fd >= 0);
	assert_true(write(fd, "MemTotal:        1048576 kB\n", 29) == 29);
	close(fd);
	mg_policy_init(&p, 0);
	p.meminfo = meminfo;
	p.only = &id;
	mg_policy_parse_buffer(&p, "t", plain, strlen(plain), &d);
	assert_int_equal(p.nrules, 1);
	assert_false(p.memtotal_read);
	assert_int_equal(p.memtotal, 0);
	/* 50% of 1 GiB is above 256M: found on the line, RAM read for it. */
	mg_policy_parse_buffer(&p, "t2", clash, strlen(clash), &d);
	assert_true(p.memtotal_read);
	assert_int_equal(p.memtotal, 1ull << 30);
	assert_int_equal(d.errors, 1);
	assert_int_equal(p.nrules, 1);
	mg_policy_free(&p);
	mg_diags_free(&d);

	mg_policy_init(&p, 0);
	p.meminfo = meminfo;
	p.only = &id;
	mg_policy_parse_buffer(&p, "t", low, strlen(low), &d);
	assert_true(p.memtotal_read);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.errors, 0);
	assert_non_null(strstr(d.v[0].msg, "more than this machine's RAM"));
	mg_policy_free(&p);
	mg_diags_free(&d);
	unlink(meminfo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_rule_fields),
		cmocka_unit_test(test_dropin_dir),
		cmocka_unit_test(test_validate_over_defaults),
		cmocka_unit_test(test_validate_merges_targets),
		cmocka_unit_test(test_validate_overridden),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_login_parse_agrees),
		cmocka_unit_test(test_line_head_agrees),
		cmocka_unit_test(test_login_filter),
		cmocka_unit_test(test_login_reads_meminfo_only_when_needed),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
