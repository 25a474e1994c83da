/* The diagnostics list: counts that stay true when a retried step's
 * diagnostics are dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "diag.h"

static void test_truncate_keeps_counts(void **state)
{
	struct mg_diags d = { 0 };

	(void)state;
	mg_diag_add(&d, MG_ERROR, MG_DIAG_CONTENT, "f", 1, 1, "kept");
	mg_diag_add(&d, MG_WARNING, MG_DIAG_CONTENT, "f", 2, 1, "dropped");
	mg_diag_add(&d, MG_NOTE, MG_DIAG_CONTENT, "f", 3, 1, "dropped");
	mg_diag_add(&d, MG_ERROR, MG_DIAG_CONTENT, "f", 4, 1, "dropped");
	mg_diag_add(&d, MG_NOTE, MG_DIAG_CONTENT, NULL, 0, 0, "dropped");
	assert_int_equal(d.errors, 2);
	assert_int_equal(d.warnings, 1);
	assert_int_equal(d.notes, 2);
	mg_diags_truncate(&d, 1);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.warnings, 0);
	assert_int_equal(d.notes, 0);
	assert_string_equal(d.v[0].msg, "kept");
	mg_diags_truncate(&d, 5); /* past the end: nothing changes */
	assert_int_equal(d.n, 1);
	mg_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncate_keeps_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
