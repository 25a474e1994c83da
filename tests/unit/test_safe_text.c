/* Text on its way to a terminal: every control escaped, UTF-8 kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "safe_text.h"

struct escape_case {
	const char *in;
	size_t len; /* 0: strlen */
	const char *out;
};

static const struct escape_case cases[] = {
	{ "alice", 0, "alice" },
	{ "caf\303\251", 0, "caf\303\251" },              /* UTF-8 passes */
	{ "\342\202\254 \360\237\230\200", 0, "\342\202\254 \360\237\230\200" },
	{ "a\033[2Jb", 0, "a\\x1b[2Jb" },                 /* ESC sequence */
	{ "t\033]0;x\007", 0, "t\\x1b]0;x\\x07" },        /* title + BEL */
	{ "a\tb\nc\rd", 0, "a\\x09b\\x0ac\\x0dd" },
	{ "del\177", 0, "del\\x7f" },
	{ "c1\302\233x", 0, "c1\\u009bx" },               /* U+009B as UTF-8 */
	{ "c1\302\200\302\237", 0, "c1\\u0080\\u009f" },
	{ "nbsp\302\240", 0, "nbsp\302\240" },            /* U+00A0 is no control */
	{ "raw\233y", 0, "raw\\x9by" },                   /* C1 as a raw byte */
	{ "raw\200\237", 0, "raw\\x80\\x9f" },
	{ "bad\377", 0, "bad\\xff" },
	{ "over\300\257", 0, "over\\xc0\\xaf" },          /* overlong '/' */
	{ "sur\355\240\200", 0, "sur\\xed\\xa0\\x80" },   /* a surrogate */
	{ "cut\303", 0, "cut\\xc3" },                     /* truncated sequence */
	{ "n\0ul", 4, "n\\x00ul" },
	{ "back\\slash", 0, "back\\slash" },
};

static void test_escape_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct escape_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		char out[128], again[512];

		assert_int_equal(mg_safe_text(out, sizeof(out), c->in, len), len);
		assert_string_equal(out, c->out);
		/* Escaping twice changes nothing. */
		mg_safe_text(again, sizeof(again), out, strlen(out));
		assert_string_equal(again, out);
	}
}

static void test_escape_bounded(void **state)
{
	char out[8];

	(void)state;
	/* Stops before an escape that would not fit, never splits one. */
	assert_int_equal(mg_safe_text(out, 6, "ab\033cd", 5), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(mg_safe_text(out, sizeof(out), "abc\033", 4), 4);
	assert_string_equal(out, "abc\\x1b");
	assert_int_equal(mg_safe_text(out, sizeof(out), "\303\251\303\251\303\251\303\251", 8), 6);
	assert_string_equal(out, "\303\251\303\251\303\251");
	assert_int_equal(mg_safe_text(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
}

/* The parser quotes what it complains about through the same escaping. */
static void test_parser_quotes_escaped(void **state)
{
	const char text[] = "bad\033[31m:1 memory.max=1G\nc1\302\233x memory.hihg=1G\n";
	struct mg_policy p;
	struct mg_diags d = { 0 };

	(void)state;
	mg_policy_init(&p, 0);
	assert_int_equal(mg_policy_parse_buffer(&p, "t.conf", text, sizeof(text) - 1, &d), 0);
	assert_int_equal(d.errors, 2);
	assert_non_null(strstr(d.v[0].msg, "'bad\\x1b[31m:1'"));
	assert_non_null(strstr(d.v[1].msg, "unknown key 'memory.hihg'"));
	for (size_t i = 0; i < d.n; i++)
		for (const char *s = d.v[i].msg; *s; s++)
			assert_true((unsigned char)*s >= 0x20 && (unsigned char)*s != 0x7f);
	mg_diags_free(&d);
	mg_policy_free(&p);
}

static void test_name_length_bound(void **state)
{
	char text[2 * MG_NAME_MAX + 64];
	struct mg_policy p;
	struct mg_diags d = { 0 };
	int n;

	(void)state;
	/* 256 bytes pass; 257 are an error at line 2, column 1. */
	n = snprintf(text, sizeof(text), "%0*d memory.max=1G\n%0*d memory.max=1G\n", MG_NAME_MAX, 0,
		     MG_NAME_MAX + 1, 0);
	mg_policy_init(&p, 0);
	assert_int_equal(mg_policy_parse_buffer(&p, "t.conf", text, (size_t)n, &d), 0);
	assert_int_equal(p.nrules, 1);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.v[0].line, 2);
	assert_int_equal(d.v[0].col, 1);
	assert_non_null(strstr(d.v[0].msg, "user name of 257 bytes is too long (at most 256)"));
	mg_diags_free(&d);
	mg_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_bounded),
		cmocka_unit_test(test_parser_quotes_escaped),
		cmocka_unit_test(test_name_length_bound),
	};
	return cmocka_run_group_tests_name("safe_text", tests, NULL, NULL);
}
