/* mg_cg_read_live on directories laid out like a cgroup: what memguardctl
 * status reports is what these files hold, on v2 and on the v1 memory
 * controller, and a file the kernel lacks is unknown, not zero. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"

static char dir[64];

static void put(const char *file, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mg-cglive.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_v2(void **state)
{
	struct mg_cg_live l;

	(void)state;
	put("memory.max", "67108864\n");
	put("memory.high", "max\n");
	put("memory.swap.max", "0\n");
	put("memory.low", "16777216\n");
	put("memory.min", "8388608\n");
	put("memory.current", "1234567\n");
	/* oom is a prefix of oom_kill: only the oom_kill line counts. */
	put("memory.events", "low 0\nhigh 3\nmax 9\noom 5\noom_kill 2\noom_group_kill 0\n");
	assert_int_equal(mg_cg_read_live(2, dir, &l), 0);
	assert_true(l.has[MG_KEY_MEMORY_MAX] && l.has[MG_KEY_MEMORY_HIGH] && l.has[MG_KEY_MEMORY_SWAP_MAX]);
	assert_true(l.has[MG_KEY_MEMORY_LOW] && l.has[MG_KEY_MEMORY_MIN]);
	assert_int_equal(l.bytes[MG_KEY_MEMORY_MAX], 64ull << 20);
	assert_true(l.bytes[MG_KEY_MEMORY_HIGH] == MG_CG_UNLIMITED);
	assert_int_equal(l.bytes[MG_KEY_MEMORY_SWAP_MAX], 0);
	assert_int_equal(l.bytes[MG_KEY_MEMORY_LOW], 16ull << 20);
	assert_int_equal(l.bytes[MG_KEY_MEMORY_MIN], 8ull << 20);
	assert_true(l.has_current && l.current == 1234567);
	assert_true(l.has_oom_kills && l.oom_kills == 2);
	assert_false(l.has[MG_KEY_SESSION_MEMORY_MAX]);
}

static void test_v2_missing_files(void **state)
{
	struct mg_cg_live l;

	(void)state;
	/* A kernel without swap accounting, a root group without memory.max. */
	put("memory.high", "262144000\n");
	put("memory.events", "oom 0\n");
	assert_int_equal(mg_cg_read_live(2, dir, &l), 0);
	assert_false(l.has[MG_KEY_MEMORY_MAX]);
	assert_false(l.has[MG_KEY_MEMORY_SWAP_MAX]);
	assert_true(l.has[MG_KEY_MEMORY_HIGH] && l.bytes[MG_KEY_MEMORY_HIGH] == 262144000);
	assert_false(l.has_current);
	assert_false(l.has_oom_kills);
}

static void test_v1(void **state)
{
	struct mg_cg_live l;

	(void)state;
	put("memory.limit_in_bytes", "67108864\n");
	put("memory.memsw.limit_in_bytes", "100663296\n");
	put("memory.soft_limit_in_bytes", "9223372036854771712\n");
	put("memory.usage_in_bytes", "4096\n");
	put("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n");
	assert_int_equal(mg_cg_read_live(1, dir, &l), 0);
	assert_int_equal(l.bytes[MG_KEY_MEMORY_MAX], 64ull << 20);
	/* RAM+swap less RAM. */
	assert_true(l.has[MG_KEY_MEMORY_SWAP_MAX] && l.bytes[MG_KEY_MEMORY_SWAP_MAX] == 32ull << 20);
	/* v1's "unlimited" is a huge page-rounded number. */
	assert_true(l.has[MG_KEY_MEMORY_HIGH] && l.bytes[MG_KEY_MEMORY_HIGH] == MG_CG_UNLIMITED);
	assert_false(l.has[MG_KEY_MEMORY_LOW]);
	assert_false(l.has[MG_KEY_MEMORY_MIN]);
	assert_true(l.has_current && l.current == 4096);
	assert_true(l.has_oom_kills && l.oom_kills == 7);
}

static void test_v1_unlimited_memsw(void **state)
{
	struct mg_cg_live l;

	(void)state;
	put("memory.limit_in_bytes", "67108864\n");
	put("memory.memsw.limit_in_bytes", "9223372036854771712\n");
	assert_int_equal(mg_cg_read_live(1, dir, &l), 0);
	assert_true(l.has[MG_KEY_MEMORY_SWAP_MAX] && l.bytes[MG_KEY_MEMORY_SWAP_MAX] == MG_CG_UNLIMITED);
}

static void test_no_group(void **state)
{
	struct mg_cg_live l;
	char path[96];

	(void)state;
	snprintf(path, sizeof(path), "%s/user-1000", dir);
	assert_int_equal(mg_cg_read_live(2, path, &l), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_missing_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_unlimited_memsw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_group, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
