/* What the systemd backend hands to pam_systemd and the manager. Each row
 * names what it guards: a value pam_systemd cannot parse is logged and
 * ignored there, and the session runs uncapped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cgroup.h"
#include "policy.h"
#include "systemd_props.h"

#define RAM (16ull << 30)

struct value_case {
	const char *setting; /* one policy setting for "*" */
	enum mg_key key;     /* the cap it becomes */
	char scope;          /* 'u' user, 's' session, 'a' %all */
	const char *want;    /* what pam_systemd / the manager gets */
};

static const struct value_case values[] = {
	/* cgroupfs spells no limit "max"; pam_systemd only knows "infinity". */
	{ "session.memory.max=max", MG_KEY_MEMORY_MAX, 's', "infinity" },
	{ "memory.high=max", MG_KEY_MEMORY_HIGH, 'u', "infinity" },
	{ "memory.swap.max=max", MG_KEY_MEMORY_SWAP_MAX, 'u', "infinity" },
	/* Plain bytes: no suffix for pam_systemd to read as 1000-based. */
	{ "session.memory.max=64M", MG_KEY_MEMORY_MAX, 's', "67108864" },
	{ "session.memory.max=2G", MG_KEY_MEMORY_MAX, 's', "2147483648" },
	/* Percentages of this machine's RAM, resolved here as in cgroupfs,
	 * not passed on as "25%" (systemd would take them of its own idea
	 * of physical memory). */
	{ "session.memory.max=25%", MG_KEY_MEMORY_MAX, 's', "4294967296" },
	{ "session.memory.high=12.5%", MG_KEY_MEMORY_HIGH, 's', "2147483648" },
	/* Rounded down to a page, as the kernel would. */
	{ "memory.max=33%", MG_KEY_MEMORY_MAX, 'u', "5669355520" },
	/* The floor that keeps the session's supervisor alive. */
	{ "session.memory.max=0.1%", MG_KEY_MEMORY_MAX, 's', "33554432" },
	{ "memory.high=0.1%", MG_KEY_MEMORY_HIGH, 'u', "33554432" },
	/* Protections and swap have no floor: 0 means none. */
	{ "memory.swap.max=0", MG_KEY_MEMORY_SWAP_MAX, 'u', "0" },
	{ "memory.min=8M", MG_KEY_MEMORY_MIN, 'u', "8388608" },
	{ "memory.low=1%", MG_KEY_MEMORY_LOW, 'u', "171798528" },
};

static void test_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		const struct value_case *c = &values[i];
		struct mg_policy p;
		struct mg_diags d = { 0 };
		struct mg_resolved res;
		struct mg_caps caps;
		struct mg_identity id = { "ann", 1500, NULL, 0, 1000, 60000 };
		char text[128], got[32];

		snprintf(text, sizeof(text), "%s %s\n", c->scope == 'a' ? "%all" : "*", c->setting);
		mg_policy_init(&p, RAM);
		assert_int_equal(mg_policy_parse_buffer(&p, "t.conf", text, strlen(text), &d), 0);
		if (d.errors)
			fail_msg("row %zu: '%s' does not parse", i, text);
		if (c->scope == 'a')
			mg_policy_resolve_all_sessions(&p, &res);
		else
			mg_policy_resolve(&p, &id, &res);
		mg_caps_from_resolved(&res, RAM, c->scope, &caps);
		if (!caps.set[c->key])
			fail_msg("row %zu: '%s' sets no cap", i, c->setting);
		assert_int_equal(mg_sd_format_bytes(caps.bytes[c->key], got, sizeof(got)), 0);
		if (strcmp(got, c->want) != 0)
			fail_msg("row %zu: '%s' gives '%s', expected '%s'", i, c->setting, got, c->want);
		mg_diags_free(&d);
		mg_policy_free(&p);
	}
}

static void test_format_small_buffer(void **state)
{
	char buf[8];

	(void)state;
	/* "infinity" needs 9 bytes: never hand pam_systemd a truncated value. */
	assert_int_equal(mg_sd_format_bytes(MG_CG_UNLIMITED, buf, sizeof(buf)), -ENOBUFS);
	assert_int_equal(mg_sd_format_bytes(1234567, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1234567");
	assert_int_equal(mg_sd_format_bytes(12345678, buf, sizeof(buf)), -ENOBUFS);
}

static void test_properties(void **state)
{
	(void)state;
	assert_string_equal(mg_sd_property(MG_KEY_MEMORY_MAX), "MemoryMax");
	assert_string_equal(mg_sd_property(MG_KEY_MEMORY_HIGH), "MemoryHigh");
	assert_string_equal(mg_sd_property(MG_KEY_MEMORY_SWAP_MAX), "MemorySwapMax");
	assert_string_equal(mg_sd_property(MG_KEY_MEMORY_LOW), "MemoryLow");
	assert_string_equal(mg_sd_property(MG_KEY_MEMORY_MIN), "MemoryMin");
	/* Session keys go to the scope under the plain names; the rest has no
	 * unit property of its own. */
	assert_null(mg_sd_property(MG_KEY_SESSION_MEMORY_MAX));
	assert_null(mg_sd_property(MG_KEY_OOM_SCORE_ADJ));
	assert_null(mg_sd_property(MG_KEY_OOM_GROUP));
	/* A removed rule resets to systemd's default, not to 0 for a limit. */
	assert_true(mg_sd_default(MG_KEY_MEMORY_MAX) == MG_CG_UNLIMITED);
	assert_true(mg_sd_default(MG_KEY_MEMORY_SWAP_MAX) == MG_CG_UNLIMITED);
	assert_true(mg_sd_default(MG_KEY_MEMORY_LOW) == 0);
	assert_true(mg_sd_default(MG_KEY_MEMORY_MIN) == 0);
}

static void test_names(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(mg_sd_user_slice(1000, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "user-1000.slice");
	assert_int_equal(mg_sd_user_slice(4294967294u, buf, 10), -ENOBUFS);
	assert_int_equal(mg_sd_control_dropin("user-1000.slice", "MemoryMax", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/systemd/system.control/user-1000.slice.d/50-MemoryMax.conf");
}

struct place_case {
	const char *text;
	enum mg_sd_place place;
	const char *id;
};

static const struct place_case places[] = {
	{ "0::/user.slice/user-1000.slice/session-3.scope\n", MG_SD_IN_SESSION, "3" },
	/* su/sudo-made sessions are named c1, c2, ...; no trailing newline. */
	{ "0::/user.slice/user-1000.slice/session-c12.scope", MG_SD_IN_SESSION, "c12" },
	/* The systemd-user stack: in the user's slice, not a session; logind
	 * refuses a new session there too. */
	{ "0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.service\n", MG_SD_IN_USER_SLICE, "" },
	{ "0::/system.slice/ssh.service\n", MG_SD_OUTSIDE, "" },
	{ "0::/\n", MG_SD_OUTSIDE, "" },
	{ "", MG_SD_OUTSIDE, "" },
	/* The cgroupfs backend's own groups are no systemd session. */
	{ "0::/memguard/user-1000/session-1234-5678\n", MG_SD_OUTSIDE, "" },
	/* "user-.slice" alone is the template, no user. */
	{ "0::/user.slice/user-.slice\n", MG_SD_OUTSIDE, "" },
	/* Hybrid host: the unified line decides... */
	{ "12:memory:/user.slice\n1:name=systemd:/user.slice/user-1000.slice/session-7.scope\n"
	  "0::/user.slice/user-1000.slice/session-7.scope\n",
	  MG_SD_IN_SESSION, "7" },
	/* ...and without one, systemd's named hierarchy does. */
	{ "12:memory:/\n1:name=systemd:/user.slice/user-1000.slice/session-9.scope\n", MG_SD_IN_SESSION, "9" },
	/* A session scope deeper down still counts (the last match wins). */
	{ "0::/user.slice/user-1000.slice/session-4.scope/sub\n", MG_SD_IN_SESSION, "4" },
};

static void test_places(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		char id[16];
		enum mg_sd_place got = mg_sd_place_of(places[i].text, id, sizeof(id));
		if (got != places[i].place || strcmp(id, places[i].id) != 0)
			fail_msg("row %zu: place %d id '%s', expected %d '%s'", i, got, id, places[i].place, places[i].id);
	}
}

static void test_session_of_path(void **state)
{
	char id[16];

	(void)state;
	/* GetUnitProcesses paths: only processes of a session count as users
	 * of a slice that a lower cap could hurt. */
	assert_true(mg_sd_session_of_path("/user.slice/user-1000.slice/session-c3.scope", id, sizeof(id)));
	assert_string_equal(id, "c3");
	assert_false(mg_sd_session_of_path("/user.slice/user-1000.slice/user@1000.service/init.scope", id, sizeof(id)));
	assert_false(mg_sd_session_of_path("/user.slice/user-1000.slice/user-runtime-dir@1000.service", id, sizeof(id)));
	assert_false(mg_sd_session_of_path("/user.slice", id, sizeof(id)));
	/* A long id is cut, never overflows. */
	assert_true(mg_sd_session_of_path("/user.slice/user-1.slice/session-0123456789abcdefXYZ.scope", id, 8));
	assert_string_equal(id, "0123456");
}

struct plan_case {
	enum mg_key key;
	uint64_t cur, want;
	bool in_use;
	enum mg_sd_plan plan;
};

#define M (1ull << 20)
static const struct plan_case plans[] = {
	/* Same value: no SetUnitProperties, no drop-in rewrite, no reload. */
	{ MG_KEY_MEMORY_MAX, 300 * M, 300 * M, true, MG_SD_KEEP },
	/* A login never lowers a limit of a slice that holds sessions. */
	{ MG_KEY_MEMORY_MAX, 300 * M, 200 * M, true, MG_SD_PENDING },
	{ MG_KEY_MEMORY_HIGH, 300 * M, 200 * M, true, MG_SD_PENDING },
	{ MG_KEY_MEMORY_SWAP_MAX, MG_CG_UNLIMITED, 0, true, MG_SD_PENDING },
	/* ...but raises it, and resets a removed rule (a raise to infinity). */
	{ MG_KEY_MEMORY_MAX, 200 * M, 300 * M, true, MG_SD_SET },
	{ MG_KEY_MEMORY_MAX, 200 * M, MG_CG_UNLIMITED, true, MG_SD_SET },
	/* An idle slice takes any value, like a new group in cgroupfs. */
	{ MG_KEY_MEMORY_MAX, 300 * M, 200 * M, false, MG_SD_SET },
	/* Protections are not limits: lowering them kills nothing. */
	{ MG_KEY_MEMORY_LOW, 16 * M, 0, true, MG_SD_SET },
	{ MG_KEY_MEMORY_MIN, 16 * M, 8 * M, true, MG_SD_SET },
};

static void test_plans(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		const struct plan_case *c = &plans[i];
		enum mg_sd_plan got = mg_sd_plan(c->key, c->cur, c->want, c->in_use);
		if (got != c->plan)
			fail_msg("row %zu: plan %d, expected %d", i, got, c->plan);
	}
}

/* The property a rule sets is that value; one no rule sets any more goes
 * back to systemd's default only when a runtime drop-in is left. */
static void test_want(void **state)
{
	struct mg_caps caps = { 0 };
	uint64_t want = 1;

	(void)state;
	caps.set[MG_KEY_MEMORY_MAX] = true;
	caps.bytes[MG_KEY_MEMORY_MAX] = 300 * M;
	assert_int_equal(mg_sd_want(&caps, MG_KEY_MEMORY_MAX, true, &want), MG_SD_WANT_SET);
	assert_int_equal(want, 300 * M);
	assert_int_equal(mg_sd_want(&caps, MG_KEY_MEMORY_HIGH, false, &want), MG_SD_WANT_NONE);
	assert_int_equal(mg_sd_want(&caps, MG_KEY_MEMORY_HIGH, true, &want), MG_SD_WANT_RESET);
	assert_true(want == MG_CG_UNLIMITED);
	assert_int_equal(mg_sd_want(&caps, MG_KEY_MEMORY_MIN, true, &want), MG_SD_WANT_RESET);
	assert_int_equal(want, 0);
	assert_false(mg_sd_has_control_dropin("memguard-test-no-such.slice", "MemoryMax"));
	assert_false(mg_sd_has_runtime_dropin("memguard-test-no-such.scope", "MemoryMax"));
}

static void test_transient_dropin(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(mg_sd_transient_dropin("session-c1.scope", "MemoryHigh", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/systemd/transient/session-c1.scope.d/50-MemoryHigh.conf");
	assert_int_equal(mg_sd_transient_dropin("session-c1.scope", "MemoryHigh", buf, 20), -ENOBUFS);
}

/* What the backend reads from a slice's memory.* files before it asks the
 * manager: a match only for the exact text the kernel writes. */
static void test_file_holds(void **state)
{
	(void)state;
	assert_true(mg_sd_file_holds("max\n", MG_CG_UNLIMITED, 4096));
	assert_false(mg_sd_file_holds("max\n", 314572800, 4096));
	assert_false(mg_sd_file_holds("max", MG_CG_UNLIMITED, 4096));
	assert_true(mg_sd_file_holds("314572800\n", 314572800, 4096));
	assert_false(mg_sd_file_holds("314572800\n", 314572801 + 4096, 4096));
	/* The kernel keeps whole pages: 300M + 100 bytes reads back as 300M. */
	assert_true(mg_sd_file_holds("314572800\n", 314572900, 4096));
	assert_false(mg_sd_file_holds("314572800\n", 314572900, 0));
	assert_true(mg_sd_file_holds("0\n", 0, 4096));
	assert_false(mg_sd_file_holds("0\n", MG_CG_UNLIMITED, 4096));
	/* Not a value: empty, signs, spaces, trailing bytes, no newline, overflow. */
	assert_false(mg_sd_file_holds("", 0, 4096));
	assert_false(mg_sd_file_holds("\n", 0, 4096));
	assert_false(mg_sd_file_holds("-0\n", 0, 4096));
	assert_false(mg_sd_file_holds(" 0\n", 0, 4096));
	assert_false(mg_sd_file_holds("0 \n", 0, 4096));
	assert_false(mg_sd_file_holds("0\n\n", 0, 4096));
	assert_false(mg_sd_file_holds("0", 0, 4096));
	assert_false(mg_sd_file_holds("00\n", 0, 4096));
	assert_false(mg_sd_file_holds("0314572800\n", 314572800, 4096));
	assert_false(mg_sd_file_holds("18446744073709551616\n", 0, 0));
	assert_true(mg_sd_file_holds("18446744073709551614\n", 18446744073709551614ull, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_places),
		cmocka_unit_test(test_session_of_path),
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_want),
		cmocka_unit_test(test_transient_dropin),
		cmocka_unit_test(test_file_holds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
