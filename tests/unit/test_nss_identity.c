/* Identities come from NSS, groups by membership lists as a directory
 * service returns them. Runs under nss_wrapper with the fixtures beside
 * this file (tests/unit/run.sh sets it up). */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "identity.h"

static bool has_group(const struct mg_identity_buf *b, const char *g)
{
	for (size_t i = 0; i < b->id.ngroups; i++)
		if (strcmp(b->groups[i], g) == 0)
			return true;
	return false;
}

static int need_wrapper(void **state)
{
	(void)state;
	if (!getenv("NSS_WRAPPER_PASSWD")) {
		fprintf(stderr, "needs nss_wrapper (run through tests/unit/run.sh)\n");
		return -1;
	}
	return 0;
}

/* lena's primary group is her own; students and hpc-users list her as a
 * member only, the way LDAP and SSSD groups reach a login node. */
static void test_supplementary_groups(void **state)
{
	struct mg_identity_buf b;

	(void)state;
	assert_int_equal(mg_identity_lookup("lena", 1000, 60000, &b), 0);
	assert_int_equal(b.id.uid, 70001);
	assert_int_equal(b.id.ngroups, 3);
	assert_true(has_group(&b, "lena"));
	assert_true(has_group(&b, "students"));
	assert_true(has_group(&b, "hpc-users"));
	assert_false(has_group(&b, "empty"));
	mg_identity_free(&b);
}

static void test_unknown_user(void **state)
{
	struct mg_identity_buf b;

	(void)state;
	assert_int_equal(mg_identity_lookup("nosuchuser", 1000, 60000, &b), -ENOENT);
}

static void test_policy_by_directory_group(void **state)
{
	const char *text = "* memory.max=1G\n@students memory.max=2G\n@hpc-users memory.max=3G\n";
	struct mg_identity_buf alice, lena;
	struct mg_policy p;
	struct mg_diags d = { 0 };
	struct mg_resolved r;

	(void)state;
	mg_policy_init(&p, 16ull << 30);
	mg_policy_parse_buffer(&p, "t", text, strlen(text), &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(mg_identity_lookup("alice", 1000, 60000, &alice), 0);
	assert_int_equal(mg_identity_lookup("lena", 1000, 60000, &lena), 0);
	mg_policy_resolve(&p, &alice.id, &r);
	assert_int_equal(r.src[MG_KEY_MEMORY_MAX]->line, 2);
	/* lena is in both groups: the later line wins. */
	mg_policy_resolve(&p, &lena.id, &r);
	assert_int_equal(r.src[MG_KEY_MEMORY_MAX]->line, 3);
	mg_identity_free(&alice);
	mg_identity_free(&lena);
	mg_policy_free(&p);
	mg_diags_free(&d);
}

/* Issue 11: SSSD, FreeIPA and Active Directory hand out uids far above
 * login.defs' UID_MAX; "*" stopped there, so those users got no cap. The
 * module resolves through the same lookup and resolution. */
static void test_star_covers_directory_uids(void **state)
{
	const char *text = "* memory.max=4G\n";
	const char *users[] = { "dirk", "ada", "lena" };
	const uid_t uids[] = { 1500000, 1234567890, 70001 };
	struct mg_policy p;
	struct mg_diags d = { 0 };
	struct mg_resolved r;

	(void)state;
	mg_policy_init(&p, 16ull << 30);
	mg_policy_parse_buffer(&p, "t", text, strlen(text), &d);
	for (size_t i = 0; i < 3; i++) {
		struct mg_identity_buf b;
		uid_t lo, hi;

		mg_login_defs_uid_range("/nonexistent/login.defs", &lo, &hi);
		assert_int_equal(mg_identity_lookup(users[i], lo, hi, &b), 0);
		assert_int_equal(b.id.uid, uids[i]);
		assert_int_equal(mg_all_users_covers(&b.id), MG_ALL_USERS_COVERED);
		mg_policy_resolve(&p, &b.id, &r);
		if (!r.src[MG_KEY_MEMORY_MAX])
			fail_msg("'*' gives %s (uid %u) no memory.max", users[i], (unsigned)uids[i]);
		/* A login parses only what may concern it: "*" still does. */
		{
			struct mg_policy lp;

			mg_policy_init(&lp, 16ull << 30);
			lp.only = &b.id;
			mg_policy_parse_buffer(&lp, "t", text, strlen(text), &d);
			assert_int_equal(lp.nrules, 1);
			mg_policy_free(&lp);
		}
		mg_identity_free(&b);
	}
	mg_policy_free(&p);
	mg_diags_free(&d);
}

static void test_login_defs(void **state)
{
	/* Only keys at the start of a line count: not in a comment, not SUB_UID_MIN. */
	static const char text[] = "# x\nUID_MAX 59000\n#UID_MIN 7\nSUB_UID_MIN 100000\n  UID_MIN\t\t 500\nUID_MINX 9\n";
	char path[] = "/tmp/memguard-login-defs-XXXXXX";
	int fd = mkstemp(path);
	uid_t uid_min, uid_max;

	(void)state;
	assert_true(fd >= 0);
	assert_true(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(mg_login_defs_uid_range(path, &uid_min, &uid_max), 0);
	assert_int_equal(uid_min, 500);
	assert_int_equal(uid_max, 59000);
	unlink(path);
	assert_int_equal(mg_login_defs_uid_range(path, &uid_min, &uid_max), -ENOENT);
	assert_int_equal(uid_min, 1000);
	assert_int_equal(uid_max, 60000);
}

/* A login asks NSS for groups only when the policy has an @group rule,
 * and reads login.defs only when a "*" rule needs UID_MIN: both cost more
 * than the rest of a login's policy work. */
static void test_login_looks_up_only_what_rules_need(void **state)
{
	char defs[] = "/tmp/memguard-login-defs-XXXXXX";
	const char *no_groups = "* memory.max=1G\nalice memory.max=2G\n";
	const char *groups = "@students memory.max=3G\n";
	struct mg_diags d = { 0 };
	struct mg_identity_buf b;
	struct mg_resolved r;
	struct mg_policy p;
	int fd = mkstemp(defs);

	(void)state;
	assert_true(fd >= 0);
	assert_true(write(fd, "UID_MIN 80000\n", 14) == 14);
	close(fd);
	assert_int_equal(mg_identity_lookup_passwd("lena", &b), 0);
	mg_identity_defer(&b, defs);
	mg_policy_init(&p, 16ull << 30);
	p.only = &b.id;
	assert_int_equal(mg_policy_parse_buffer(&p, "t", no_groups, strlen(no_groups), &d), 0);
	/* "*" needed UID_MIN (80000: lena's 70001 is below it); no rule needed groups. */
	assert_int_equal(b.later.pending, MG_NEED_GROUPS);
	assert_int_equal(b.id.uid_min, 80000);
	assert_int_equal(p.nrules, 0);
	assert_int_equal(mg_policy_parse_buffer(&p, "t2", groups, strlen(groups), &d), 0);
	assert_int_equal(b.later.pending, 0);
	assert_int_equal(b.groups_error, 0);
	assert_true(has_group(&b, "students"));
	mg_policy_resolve(&p, &b.id, &r);
	assert_int_equal(r.v[MG_KEY_MEMORY_MAX].u.size.value, 3ull << 30);
	mg_policy_free(&p);
	mg_identity_free(&b);

	/* The overflow uid is never a login: "*" needs no UID_MIN for it. */
	assert_int_equal(mg_identity_lookup_passwd("daemon", &b), 0);
	b.id.uid = MG_OVERFLOW_UID;
	mg_identity_defer(&b, defs);
	mg_policy_init(&p, 16ull << 30);
	p.only = &b.id;
	assert_int_equal(mg_policy_parse_buffer(&p, "t", no_groups, strlen(no_groups), &d), 0);
	assert_int_equal(b.later.pending, MG_NEED_GROUPS | MG_NEED_UID_RANGE);
	assert_int_equal(mg_all_users_covers(&b.id), MG_ALL_USERS_OVERFLOW_UID);
	mg_policy_free(&p);
	mg_identity_free(&b);
	unlink(defs);
	assert_int_equal(d.n, 0);
	mg_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supplementary_groups),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_policy_by_directory_group),
		cmocka_unit_test(test_star_covers_directory_uids),
		cmocka_unit_test(test_login_defs),
		cmocka_unit_test(test_login_looks_up_only_what_rules_need),
	};
	return cmocka_run_group_tests_name("nss_identity", tests, need_wrapper, NULL);
}
