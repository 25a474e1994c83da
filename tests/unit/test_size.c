/* Sizes as the policy spells them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "size.h"

struct size_case {
	const char *text;
	int err;
	enum mg_size_kind kind;
	uint64_t value;
	const char *canonical;
};

static const struct size_case cases[] = {
	{ "0", 0, MG_SIZE_BYTES, 0, "0" },
	{ "4097", 0, MG_SIZE_BYTES, 4097, "4097" },
	{ "64K", 0, MG_SIZE_BYTES, 64ull << 10, "64K" },
	{ "64k", 0, MG_SIZE_BYTES, 64ull << 10, "64K" },
	{ "1536M", 0, MG_SIZE_BYTES, 1536ull << 20, "1536M" },
	{ "1024M", 0, MG_SIZE_BYTES, 1ull << 30, "1G" },
	{ "4G", 0, MG_SIZE_BYTES, 4ull << 30, "4G" },
	{ "2t", 0, MG_SIZE_BYTES, 2ull << 40, "2T" },
	{ "max", 0, MG_SIZE_MAX, 0, "max" },
	{ "25%", 0, MG_SIZE_PERCENT, 25000, "25%" },
	{ "12.5%", 0, MG_SIZE_PERCENT, 12500, "12.5%" },
	{ "0.125%", 0, MG_SIZE_PERCENT, 125, "0.125%" },
	{ "100%", 0, MG_SIZE_PERCENT, 100000, "100%" },
	{ "100.001%", -ERANGE, 0, 0, NULL },
	{ "101%", -ERANGE, 0, 0, NULL },
	{ "1.2345%", -EINVAL, 0, 0, NULL },
	{ "1.%", -EINVAL, 0, 0, NULL },
	{ "%", -EINVAL, 0, 0, NULL },
	{ "", -EINVAL, 0, 0, NULL },
	{ "G", -EINVAL, 0, 0, NULL },
	{ "4GB", -EINVAL, 0, 0, NULL },
	{ "4P", -EINVAL, 0, 0, NULL },
	{ "1.5G", -EINVAL, 0, 0, NULL },
	{ "-1", -EINVAL, 0, 0, NULL },
	{ "MAX", -EINVAL, 0, 0, NULL },
	{ "infinity", -EINVAL, 0, 0, NULL },
	{ " 4G", -EINVAL, 0, 0, NULL },
	{ "18446744073709551615", 0, MG_SIZE_BYTES, UINT64_MAX, "18446744073709551615" },
	{ "18446744073709551616", -ERANGE, 0, 0, NULL },
	{ "16777216T", -ERANGE, 0, 0, NULL },
	{ "16777215T", 0, MG_SIZE_BYTES, 16777215ull << 40, "16777215T" },
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct size_case *c = &cases[i];
		struct mg_size s;
		char buf[64];
		int r = mg_size_parse(c->text, strlen(c->text), &s);

		if (r != c->err)
			fail_msg("'%s': returned %d, expected %d", c->text, r, c->err);
		if (r)
			continue;
		if (s.kind != c->kind || s.value != c->value)
			fail_msg("'%s': kind %d value %llu, expected %d %llu", c->text, s.kind,
				 (unsigned long long)s.value, c->kind, (unsigned long long)c->value);
		mg_size_format(&s, buf, sizeof(buf));
		assert_string_equal(buf, c->canonical);
	}
}

/* The parser is handed a token out of a longer line: it must not read
 * past len. */
static void test_parse_respects_length(void **state)
{
	struct mg_size s;

	(void)state;
	assert_int_equal(mg_size_parse("4G memory.high", 2, &s), 0);
	assert_true(s.value == 4ull << 30);
	assert_int_equal(mg_size_parse("max=1", 3, &s), 0);
	assert_int_equal(s.kind, MG_SIZE_MAX);
}

static void test_bytes_of_percent(void **state)
{
	struct mg_size s = { MG_SIZE_PERCENT, 25000 };
	uint64_t ram = 16ull << 30;

	(void)state;
	assert_true(mg_size_bytes(&s, ram) == 4ull << 30);
	s.value = 12500;
	assert_true(mg_size_bytes(&s, ram) == 2ull << 30);
	s.value = 100000;
	assert_true(mg_size_bytes(&s, ram) == ram);
	/* A machine with 4 PiB of RAM must not overflow. */
	assert_true(mg_size_bytes(&s, 4ull << 50) == 4ull << 50);
	s.kind = MG_SIZE_MAX;
	assert_true(mg_size_bytes(&s, ram) == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_respects_length),
		cmocka_unit_test(test_bytes_of_percent),
	};
	return cmocka_run_group_tests_name("size", tests, NULL, NULL);
}
