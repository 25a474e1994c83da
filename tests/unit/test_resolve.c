/* Which rule wins, per key: user > @group > uid range > "*", and within a
 * class the later line. Each row names the case it guards. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define RAM (16ull << 30)

static const char policy_main[] =
	"*            memory.max=25%  memory.high=20%  oom_score_adj=100\n" /* 1 */
	"@students    memory.max=4G   memory.high=3G\n"                     /* 2 */
	"1000:1999    memory.max=8G   memory.swap.max=0\n"                  /* 3 */
	"alice        memory.max=16G  oom_score_adj=-200  session.memory.max=8G\n" /* 4 */
	"root         exempt\n"                                             /* 5 */
	"@staff       memory.max=6G   oom.group=yes\n"                      /* 6 */
	"@students    memory.high=2G\n"                                     /* 7 */
	"%all         memory.max=80%\n"                                     /* 8 */
	"2000:        memory.max=1G\n";                                     /* 9 */
static const char policy_dropin[] =
	"@staff       memory.max=5G\n"                                      /* 1 */
	"carol        exempt=no memory.max=2G\n"                           /* 2 */
	"*            exempt\n"                                             /* 3 */
	"*            trace=64M\n"                                          /* 4 */
	"alice        trace=off\n";                                         /* 5 */

struct expect {
	enum mg_key key;
	const char *value; /* NULL with unset: no rule sets it */
	const char *file;
	unsigned line;
	bool unset;
};

#define UNSET(k) { k, NULL, NULL, 0, true }

struct resolve_case {
	const char *why;
	const char *name;
	uid_t uid;
	const char *groups[4];
	struct expect e[6];
};

static const struct resolve_case cases[] = {
	{ "trace=off on a user beats a broader trace=SIZE", "alice", 1500, { "alice" },
	  { { MG_KEY_TRACE, "off", "drop", 5 }, { MG_KEY_MEMORY_MAX, "16G", "main", 4 } } },
	{ "trace=SIZE from * reaches a user with no rule of their own", "zed", 5000, { "zed" },
	  { { MG_KEY_TRACE, "64M", "drop", 4 } } },
	{ "only * applies to a regular user outside every range", "zed", 5000, { "zed" },
	  { { MG_KEY_MEMORY_MAX, "1G", "main", 9 }, { MG_KEY_MEMORY_HIGH, "20%", "main", 1 },
	    { MG_KEY_OOM_SCORE_ADJ, "100", "main", 1 }, { MG_KEY_EXEMPT, "yes", "drop", 3 } } },
	{ "a uid range beats *", "dan", 1500, { "dan" },
	  { { MG_KEY_MEMORY_MAX, "8G", "main", 3 }, { MG_KEY_MEMORY_SWAP_MAX, "0", "main", 3 },
	    { MG_KEY_MEMORY_HIGH, "20%", "main", 1 } } },
	{ "a group beats a uid range; the later @students line wins for memory.high", "sam", 1500,
	  { "sam", "students" },
	  { { MG_KEY_MEMORY_MAX, "4G", "main", 2 }, { MG_KEY_MEMORY_HIGH, "2G", "main", 7 },
	    { MG_KEY_MEMORY_SWAP_MAX, "0", "main", 3 } } },
	{ "two groups that clash: the line read last wins, drop-ins after the main file", "tia", 1500,
	  { "students", "staff" },
	  { { MG_KEY_MEMORY_MAX, "5G", "drop", 1 }, { MG_KEY_OOM_GROUP, "yes", "main", 6 },
	    { MG_KEY_MEMORY_HIGH, "2G", "main", 7 } } },
	{ "the user's own rule beats everything, key by key", "alice", 1001, { "alice", "students" },
	  { { MG_KEY_MEMORY_MAX, "16G", "main", 4 }, { MG_KEY_OOM_SCORE_ADJ, "-200", "main", 4 },
	    { MG_KEY_SESSION_MEMORY_MAX, "8G", "main", 4 }, { MG_KEY_MEMORY_HIGH, "2G", "main", 7 } } },
	{ "* does not reach below UID_MIN", "daemon", 1, { "daemon" },
	  { UNSET(MG_KEY_MEMORY_MAX), UNSET(MG_KEY_OOM_SCORE_ADJ), UNSET(MG_KEY_EXEMPT) } },
	{ "root named by name is exempt", "root", 0, { "root" }, { { MG_KEY_EXEMPT, "yes", "main", 5 } } },
	{ "a user rule can undo a broader exempt", "carol", 3000, { "carol" },
	  { { MG_KEY_EXEMPT, "no", "drop", 2 }, { MG_KEY_MEMORY_MAX, "2G", "drop", 2 } } },
	{ "an open-ended range; * leaves out the overflow uid (nobody)", "nobody", 65534, { "nogroup" },
	  { { MG_KEY_MEMORY_MAX, "1G", "main", 9 }, UNSET(MG_KEY_MEMORY_HIGH), UNSET(MG_KEY_EXEMPT) } },
	/* Issue 11: "*" stopped at UID_MAX, so directory users got no default cap. */
	{ "* covers a directory user far above UID_MAX", "dirk", 1500000, { "dirk" },
	  { { MG_KEY_MEMORY_HIGH, "20%", "main", 1 }, { MG_KEY_EXEMPT, "yes", "drop", 3 } } },
	{ "* covers the highest uid a user can have", "top", 4294967293u, { "top" },
	  { { MG_KEY_MEMORY_HIGH, "20%", "main", 1 } } },
	{ "* leaves out (uid_t)-2 and (uid_t)-1, which mean no uid", "minus2", 4294967294u, { "x" },
	  { UNSET(MG_KEY_MEMORY_HIGH), UNSET(MG_KEY_EXEMPT) } },
	{ "(uid_t)-1 too", "minus1", 4294967295u, { "x" }, { UNSET(MG_KEY_MEMORY_HIGH), UNSET(MG_KEY_EXEMPT) } },
	{ "a group name is not a user name", "staff", 5000, { "nobody" }, { { MG_KEY_MEMORY_MAX, "1G", "main", 9 } } },
};

static struct mg_policy policy;

static int setup(void **state)
{
	struct mg_diags d = { 0 };

	(void)state;
	mg_policy_init(&policy, RAM);
	mg_policy_parse_buffer(&policy, "main", policy_main, strlen(policy_main), &d);
	mg_policy_parse_buffer(&policy, "drop", policy_dropin, strlen(policy_dropin), &d);
	if (d.n) {
		char buf[512];
		mg_diag_format(&d.v[0], buf, sizeof(buf));
		fprintf(stderr, "fixture does not parse: %s\n", buf);
		return -1;
	}
	mg_diags_free(&d);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mg_policy_free(&policy);
	return 0;
}

static void test_resolve_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct resolve_case *c = &cases[i];
		struct mg_identity id = { c->name, c->uid, c->groups, 0, 1000, 60000 };
		struct mg_resolved r;

		while (id.ngroups < 4 && c->groups[id.ngroups])
			id.ngroups++;
		mg_policy_resolve(&policy, &id, &r);
		for (size_t j = 0; j < 6 && (c->e[j].value || c->e[j].unset); j++) {
			const struct expect *e = &c->e[j];
			char got[64];

			if (!e->value) {
				if (r.src[e->key])
					fail_msg("%s: %s set by line %u, expected unset", c->why,
						 mg_key_info(e->key)->name, r.src[e->key]->line);
				continue;
			}
			if (!r.src[e->key])
				fail_msg("%s: %s unset, expected %s", c->why, mg_key_info(e->key)->name, e->value);
			mg_value_format(e->key, &r.v[e->key], got, sizeof(got));
			if (strcmp(got, e->value) != 0 || strcmp(r.src[e->key]->file, e->file) != 0 ||
			    r.src[e->key]->line != e->line)
				fail_msg("%s: %s=%s from %s:%u, expected %s from %s:%u", c->why, mg_key_info(e->key)->name,
					 got, r.src[e->key]->file, r.src[e->key]->line, e->value, e->file, e->line);
		}
	}
}

static void test_all_sessions(void **state)
{
	struct mg_resolved r;

	(void)state;
	mg_policy_resolve_all_sessions(&policy, &r);
	assert_non_null(r.src[MG_KEY_MEMORY_MAX]);
	assert_int_equal(r.src[MG_KEY_MEMORY_MAX]->line, 8);
	assert_true(mg_size_bytes(&r.v[MG_KEY_MEMORY_MAX].u.size, RAM) == (uint64_t)((unsigned __int128)RAM * 80 / 100));
	assert_null(r.src[MG_KEY_MEMORY_HIGH]);
	assert_false(mg_resolved_exempt(&r));
}

/* The clash check on resolved settings names the user and both lines. */
static void test_resolved_clash(void **state)
{
	const char *text = "* memory.high=6G\n@small memory.max=4G\n";
	const char *groups[] = { "small" };
	struct mg_identity id = { "amy", 2000, groups, 1, 1000 };
	struct mg_policy p;
	struct mg_resolved r;
	struct mg_diags d = { 0 };
	char buf[512];

	(void)state;
	mg_policy_init(&p, RAM);
	mg_policy_parse_buffer(&p, "t.conf", text, strlen(text), &d);
	assert_int_equal(d.n, 0);
	mg_policy_resolve(&p, &id, &r);
	mg_resolved_validate(&r, RAM, "amy", true, &d);
	assert_int_equal(d.n, 1);
	mg_diag_format(&d.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "t.conf:2:8: error: memory.high=6G is above memory.max=4G (for amy, with t.conf:1)");
	mg_policy_free(&p);
	mg_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_table),
		cmocka_unit_test(test_all_sessions),
		cmocka_unit_test(test_resolved_clash),
	};
	return cmocka_run_group_tests_name("resolve", tests, setup, teardown);
}
