/* The pam.d reader: Linux-PAM's line syntax (comments, continuations,
 * brackets, '-type'), include following with the directory as root, and
 * pam_memguard's arguments as the module reads them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pamconf.h"

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
	snprintf(dir, sizeof(dir), "/tmp/mg-pamconf.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_syntax(void **state)
{
	struct mg_pam_file f = { 0 };
	struct mg_diags d = { 0 };

	(void)state;
	assert_int_equal(mg_pam_file_parse("x",
					   "# comment\n"
					   "\n"
					   "session [success=1 default=ignore] pam_succeed_if.so quiet # trailing\n"
					   "-session optional pam_systemd.so\n"
					   "session required /lib/security/pam_memguard.so \\\n"
					   "   cgroup_root=/sys/fs/cgroup/memory/mg [policy=/etc/a b.conf] [x\\]y]\n"
					   "@include common-session\n"
					   "session   include   other-file\n"
					   "sesion required pam_unix.so\n"
					   "session required\n"
					   "session required pam_x.so [unterminated\n",
					   &f, &d),
			 0);
	assert_int_equal(f.n, 5);
	assert_int_equal(f.v[0].kind, MG_PAM_MODULE);
	assert_string_equal(f.v[0].control, "[success=1 default=ignore]");
	assert_int_equal(f.v[0].argc, 1);
	assert_int_equal(f.v[0].line, 3);
	assert_true(f.v[1].dash);
	assert_string_equal(f.v[1].type, "session");
	assert_true(mg_pam_entry_loads(&f.v[1], "pam_systemd.so"));
	/* continued on line 6, starting on line 5 */
	assert_int_equal(f.v[2].line, 5);
	assert_true(mg_pam_entry_loads(&f.v[2], MG_PAM_MODULE_NAME));
	assert_int_equal(f.v[2].argc, 3);
	assert_string_equal(f.v[2].argv[0], "cgroup_root=/sys/fs/cgroup/memory/mg");
	assert_string_equal(f.v[2].argv[1], "policy=/etc/a b.conf");
	assert_string_equal(f.v[2].argv[2], "x]y");
	assert_int_equal(f.v[3].kind, MG_PAM_AT_INCLUDE);
	assert_string_equal(f.v[3].target, "common-session");
	assert_int_equal(f.v[4].kind, MG_PAM_INCLUDE);
	assert_string_equal(f.v[4].target, "other-file");
	/* the three bad lines, each with its place */
	assert_int_equal(d.errors, 3);
	assert_int_equal(d.v[0].line, 9);
	assert_int_equal(d.v[0].col, 1);
	assert_non_null(strstr(d.v[0].msg, "unknown type 'sesion'"));
	assert_int_equal(d.v[1].line, 10);
	assert_int_equal(d.v[2].line, 11);
	assert_int_equal(d.v[2].col, 27);
	mg_pam_file_free(&f);
	mg_diags_free(&d);
}

static void test_continuation_at_end(void **state)
{
	struct mg_pam_file f = { 0 };
	struct mg_diags d = { 0 };

	(void)state;
	assert_int_equal(mg_pam_file_parse("x", "session required pam_a.so \\", &f, &d), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.v[0].argc, 0);
	mg_pam_file_free(&f);
	mg_diags_free(&d);
}

static void test_includes(void **state)
{
	struct mg_pamconf pc;
	struct mg_diags d = { 0 };
	const struct mg_pam_service *s;
	char abs[160];

	(void)state;
	put("common-session", "session required pam_unix.so\nsession required pam_memguard.so cgroup_root=/a\n"
			      "-session optional pam_systemd.so\n");
	/* A copy of pam.d names its parts by /etc/pam.d/X: X of the copy. */
	put("su-l", "auth sufficient pam_rootok.so\n@include /etc/pam.d/common-session\n");
	put("sshd", "session required pam_env.so\nsession include common-session\nsession required pam_last.so\n");
	put("loop", "@include loop\n");
	put("broken", "@include missing-part\n");
	put("editor-copy~", "session required pam_memguard.so cgroup_root=/bad\n");
	snprintf(abs, sizeof(abs), "session substack %s/common-session\n", dir);
	put("cron", abs);
	assert_int_equal(mg_pamconf_load(dir, &pc, &d), 0);
	assert_null(mg_pamconf_service(&pc, "editor-copy~"));
	s = mg_pamconf_service(&pc, "sshd");
	assert_non_null(s);
	assert_false(s->file->included);
	assert_int_equal(s->n, 5);
	assert_true(mg_pam_entry_loads(s->steps[2].e, MG_PAM_MODULE_NAME));
	assert_int_equal(s->steps[2].depth, 1);
	assert_true(mg_pam_entry_loads(s->steps[4].e, "pam_last.so"));
	s = mg_pamconf_service(&pc, "su-l");
	assert_int_equal(s->n, 3);
	assert_true(mg_pam_entry_loads(s->steps[1].e, MG_PAM_MODULE_NAME));
	assert_true(mg_pamconf_service(&pc, "common-session")->file->included);
	s = mg_pamconf_service(&pc, "cron");
	assert_int_equal(s->n, 3);
	/* the loop is cut, the missing part reported at its line */
	assert_true(d.warnings >= 2);
	bool loop = false, missing = false;
	for (size_t i = 0; i < d.n; i++) {
		if (strstr(d.v[i].msg, "nested deeper"))
			loop = true;
		if (strstr(d.v[i].msg, "missing-part") && d.v[i].line == 1 && d.v[i].col == 10)
			missing = true;
	}
	assert_true(loop);
	assert_true(missing);
	mg_pamconf_free(&pc);
	mg_diags_free(&d);
}

/* One service: its file and what it includes, nothing else of the dir. */
static void test_load_service(void **state)
{
	struct mg_pamconf pc;
	struct mg_diags d = { 0 };

	(void)state;
	put("common-session", "session required pam_unix.so\n-session optional pam_systemd.so\n");
	put("sshd", "session required pam_env.so\nsession include common-session\n");
	put("cron", "session required pam_env.so\n@include missing-part\n");
	put("other", "session required pam_deny.so\n");
	put("editor-copy~", "session required pam_unix.so\n");
	assert_int_equal(mg_pamconf_load_service(dir, "sshd", &pc, &d), 0);
	assert_int_equal(pc.nfiles, 2);
	assert_int_equal(pc.nsvc, 1);
	assert_string_equal(pc.svc[0].file->name, "sshd");
	assert_int_equal(pc.svc[0].n, 3);
	assert_true(mg_pam_entry_loads(pc.svc[0].steps[2].e, "pam_systemd.so"));
	assert_int_equal(pc.svc[0].steps[2].depth, 1);
	mg_pamconf_free(&pc);
	/* a missing include: reported, the rest read */
	assert_int_equal(mg_pamconf_load_service(dir, "cron", &pc, &d), 0);
	assert_int_equal(pc.svc[0].n, 1);
	assert_int_equal(d.warnings, 1);
	mg_pamconf_free(&pc);
	/* the layout: our first line, pam_systemd, our phase=post line; a
	 * line of ours for another service does not count */
	put("login", "session required pam_memguard.so service=sshd phase=post\n"
		     "session required pam_memguard.so backend=systemd\n@include common-session\n"
		     "session required pam_memguard.so phase=post debug\n");
	assert_int_equal(mg_pamconf_load_service(dir, "login", &pc, &d), 0);
	struct mg_pam_layout l;
	mg_pamconf_layout(&pc.svc[0], &l);
	assert_int_equal(l.mine, 1);
	assert_int_equal(l.systemd, 3);
	assert_int_equal(l.post, 4);
	mg_pamconf_free(&pc);
	assert_int_equal(mg_pamconf_load_service(dir, "sshd", &pc, &d), 0);
	mg_pamconf_layout(&pc.svc[0], &l);
	assert_true(l.mine == SIZE_MAX && l.post == SIZE_MAX && l.systemd == 2);
	mg_pamconf_free(&pc);
	/* no such file of dir: PAM would run "other" */
	assert_int_equal(mg_pamconf_load_service(dir, "nosuch", &pc, &d), -ENOENT);
	assert_int_equal(mg_pamconf_load_service(dir, "editor-copy~", &pc, &d), -ENOENT);
	assert_int_equal(mg_pamconf_load_service(dir, "../pam.d/sshd", &pc, &d), -ENOENT);
	assert_int_equal(mg_pamconf_load_service(dir, "", &pc, &d), -ENOENT);
	mg_diags_free(&d);
}

static void test_modargs(void **state)
{
	struct mg_pam_file f = { .path = (char *)"p" };
	struct mg_diags d = { 0 };
	struct mg_modargs a;

	(void)state;
	assert_int_equal(mg_pam_file_parse("p",
					   "session required pam_memguard.so cgroup_root=/x policy=/p.conf backend=bogus "
					   "include_root service=sshd,su-l frob include_rootx\n"
					   "session required pam_memguard.so\n",
					   &f, &d),
			 0);
	f.path = (char *)"p";
	mg_modargs_parse(&f, &f.v[0], &a, &d);
	assert_string_equal(a.cgroup_root, "/x");
	assert_int_equal(a.cgroup_root_col, 34);
	assert_string_equal(a.policy, "/p.conf");
	assert_null(a.backend);
	assert_true(a.include_root);
	assert_true(mg_modargs_service_wanted(&a, "sshd"));
	assert_true(mg_modargs_service_wanted(&a, "su-l"));
	assert_false(mg_modargs_service_wanted(&a, "su"));
	/* backend=bogus, frob, include_rootx */
	assert_int_equal(d.warnings, 3);
	mg_modargs_parse(&f, &f.v[1], &a, &d);
	assert_null(a.cgroup_root);
	assert_false(mg_modargs_service_wanted(&a, "systemd-user"));
	assert_true(mg_modargs_service_wanted(&a, "cron"));
	f.path = NULL;
	mg_pam_file_free(&f);
	mg_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_continuation_at_end),
		cmocka_unit_test_setup_teardown(test_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_service, setup, teardown),
		cmocka_unit_test(test_modargs),
	};

	return cmocka_run_group_tests_name("pamconf", tests, NULL, NULL);
}
