/* Reading the allocation shim's log lines back (lib/shimlog.c), and the
 * LD_PRELOAD value trace and trace= set (lib/shim_path.c). Each row names
 * the case it guards. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shim_path.h"
#include "shimlog.h"

static struct mg_shim_line l;

static int parse(const char *s)
{
	return mg_shimlog_parse(s, strlen(s), &l);
}

static void assert_span(struct mg_span s, const char *want)
{
	if (!mg_span_eq(s, want))
		fail_msg("got '%.*s', want '%s'", (int)s.len, s.p, want);
}

static void test_full_line(void **state)
{
	(void)state;
	assert_int_equal(parse("memguard: 2026-11-29T01:18:54.575Z pid=42 tid=43 program=app event=failure "
			       "function=malloc size=5 result=NULL errno=12 error=ENOMEM cgroup_limit=max "
			       "modules=/opt/a+b/app@0a1b,/lib/libc.so.6@ff "
			       "backtrace=0x5604:/opt/a+b/app+0x116b,0x7f8a:/lib/libc.so.6+0x2724a:__libc_start_main+0x85,?\n"),
			 0);
	assert_span(l.time, "2026-11-29T01:18:54.575Z");
	assert_span(l.event, "failure");
	assert_int_equal(l.nfields, 10);
	assert_span(l.fields[0].key, "pid");
	assert_span(l.fields[9].value, "max");
	assert_int_equal(l.nmodules, 2);
	assert_span(l.modules[0].path, "/opt/a+b/app");
	assert_int_equal(l.modules[0].build_id_len, 2);
	assert_int_equal(l.modules[0].build_id[1], 0x1b);
	assert_int_equal(l.nframes, 3);
	assert_true(l.frames[0].has_addr);
	assert_int_equal(l.frames[0].addr, 0x5604);
	/* A '+' in a path is not where the offset starts. */
	assert_span(l.frames[0].module, "/opt/a+b/app");
	assert_int_equal(l.frames[0].offset, 0x116b);
	assert_false(l.frames[0].has_sym);
	assert_true(l.frames[1].has_sym);
	assert_span(l.frames[1].sym, "__libc_start_main");
	assert_int_equal(l.frames[1].sym_off, 0x85);
	assert_false(l.frames[2].located);
	assert_non_null(mg_shimlog_module(&l, l.frames[1].module));
}

static void test_secure_and_syslog(void **state)
{
	(void)state;
	/* Secure-execution mode: no address in front of the frames. */
	assert_int_equal(parse("<11>memguard[77]: 2026-01-01T00:00:00.000Z pid=77 tid=77 program=x event=large "
			       "function=mmap size=9 errno=0 backtrace=/bin/x+0x10,/lib/l.so+0x20:f+0x1"),
			 0);
	assert_span(l.before, "<11>");
	assert_int_equal(l.nframes, 2);
	assert_false(l.frames[0].has_addr);
	assert_span(l.frames[0].module, "/bin/x");
	/* A syslog file's own header in front. */
	assert_int_equal(parse("Dec  1 12:00:00 host memguard[9]: 2026-01-01T00:00:00.000Z pid=9 tid=9 program=y "
			       "event=summary large=1 failures=0"),
			 0);
	assert_span(l.event, "summary");
	assert_false(l.has_backtrace);
}

static void test_other_lines(void **state)
{
	(void)state;
	assert_int_equal(parse("Traceback (most recent call last):"), -ENOMSG);
	assert_int_equal(parse("memguard: hello"), -ENOMSG);
	assert_int_equal(parse(""), -ENOMSG);
	/* A warning's text is one field, spaces kept. */
	assert_int_equal(parse("memguard: 2026-01-01T00:00:00.000Z pid=1 tid=1 program=p event=warning "
			       "MEMGUARD_X=\"y\" is not valid (expected 0 or 1), using 0"),
			 0);
	assert_span(l.fields[l.nfields - 1].key, "message");
	assert_span(l.fields[l.nfields - 1].value, "MEMGUARD_X=\"y\" is not valid (expected 0 or 1), using 0");
	/* Broken frames are refused, not half-read. */
	assert_int_equal(parse("memguard: 2026-01-01T00:00:00.000Z pid=1 tid=1 program=p event=large "
			       "backtrace=/x+0xzz"),
			 -EINVAL);
	assert_int_equal(parse("memguard: 2026-01-01T00:00:00.000Z pid=1 tid=1 program=p event=large "
			       "modules=/x@abc backtrace=-"),
			 -EINVAL);
}

static void test_cut_line(void **state)
{
	(void)state;
	/* The shim cut the line: the last frame may have lost digits. */
	assert_int_equal(parse("memguard: 2026-01-01T00:00:00.000Z pid=1 tid=1 program=p event=large "
			       "backtrace=/x+0x10,/y+0x2..."),
			 0);
	assert_true(l.cut);
	assert_int_equal(l.nframes, 1);
}

static void test_preload_value(void **state)
{
	static const struct {
		const char *why, *old, *want;
	} rows[] = {
		{ "nothing there", NULL, "/l/s.so" },
		{ "empty", "", "/l/s.so" },
		{ "in front of a preloaded allocator, which it then wraps", "/x/jemalloc.so", "/l/s.so /x/jemalloc.so" },
		{ "already listed (colon-separated): not twice", "/a.so:/l/s.so", "/a.so:/l/s.so" },
		{ "a longer name that contains it is another library", "/l/s.so.1", "/l/s.so /l/s.so.1" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *v = mg_shim_preload_value(rows[i].old, "/l/s.so");
		if (!v || strcmp(v, rows[i].want) != 0)
			fail_msg("%s: got '%s', want '%s'", rows[i].why, v ? v : "(null)", rows[i].want);
		free(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_line),
		cmocka_unit_test(test_secure_and_syslog),
		cmocka_unit_test(test_other_lines),
		cmocka_unit_test(test_cut_line),
		cmocka_unit_test(test_preload_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
