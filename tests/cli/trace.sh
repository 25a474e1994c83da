# memguardctl trace and symbolize; sourced by tests/cli/run.sh (ok, notok,
# run, expect, $CTL, $T and $BUILD come from there).
# The shim is loaded from the path compiled into memguardctl: each run puts
# the build's shim there inside a private mount namespace (shim-at.sh), so
# the real lookup, ownership check and LD_PRELOAD are what is tested.

TR=$T/trace
mkdir -p "$TR"
SHIM_BUILD=$BUILD/libmemguard-preload.so
case $BUILD in */san) SHIM_BUILD=$BUILD/libmemguard-preload.so ;; esac
SHIM_AT=$(cd "$(dirname "$0")" && pwd)/shim-at.sh
SHIM_PATH=$("$CTL" trace --help | sed -n 's/.*the allocation shim (\(.*\)), then.*/\1/p')

# at SHIM CMD...: CMD with SHIM at the compiled-in path (- for none).
at() {
	s=$1
	shift
	TMPDIR=$TR timeout -k 5 60 unshare --mount --propagation private sh "$SHIM_AT" "$s" "$SHIM_PATH" "$@"
}
# tr NAME ARGS...: memguardctl trace ARGS with the shim in place; NAME.out,
# NAME.err, NAME.rc in $TR.
tr_run() {
	n=$1
	shift
	at "$SHIM_BUILD" "$CTL" trace "$@" >"$TR/$n.out" 2>"$TR/$n.err"
	echo $? >"$TR/$n.rc"
}
trc() { cat "$TR/$1.rc"; }
tshow() { for f in "$@"; do echo "--- $f:"; head -c 3000 "$TR/$f"; done; }

run "$CTL" trace --help
expect "trace --help: options, the shim's compiled-in path, exit codes" 0 out "--threshold SIZE" "--fail-above SIZE" \
	"--fail-after N" "--backtrace N" "--log FILE" "--json" "128+N" "$SHIM_PATH"
run "$CTL" trace
expect "trace without COMMAND: usage error" 2 err "memguardctl: trace: no COMMAND given" "Try 'memguardctl --help'"
run "$CTL" trace --threshold lots -- true
expect "trace --threshold lots: usage error naming the option and what is expected" 2 err \
	"memguardctl: --threshold lots: not valid (expected a size such as 64M, or max)"
run "$CTL" trace --backtrace 99 -- true
expect "trace --backtrace 99: out of range" 2 err "--backtrace 99: out of range"
run "$CTL" trace --bogus -- true
expect "trace --bogus: unknown option" 2 err "trace: unknown option '--bogus'"
run "$CTL" trace --log stderr -- true
expect "trace --log stderr: a file is needed" 2 err "--log takes a file name"

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! at - true 2>"$TR/ns.err"; then
	ok "trace: shim at the compiled-in path # SKIP needs root and a private mount namespace ($(head -n1 "$TR/ns.err" 2>/dev/null))"
else
	# The program: a failing allocation two calls deep, with known lines.
	cat >"$TR/app.c" <<'EOC'
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>

static inline __attribute__((always_inline)) void *take(size_t n)
{
	return malloc(n); /* LINE_TAKE */
}

__attribute__((noinline)) void *grab_buffer(size_t n)
{
	void *p = take(n); /* LINE_GRAB */
	__asm__ volatile("" ::: "memory");
	return p;
}

int main(int argc, char **argv)
{
	char line[64];

	if (argc > 1 && strcmp(argv[1], "kill") == 0)
		raise(SIGTERM);
	if (argc > 2) {
		void *h = dlopen(argv[2], RTLD_NOW);
		void *(*f)(size_t) = h ? (void *(*)(size_t))dlsym(h, "plugin_alloc") : NULL;
		if (!f)
			return 9;
		printf("plugin %s\n", f(300u << 20) ? "ok" : "null");
	}
	if (fgets(line, sizeof(line), stdin))
		printf("read %s", line);
	void *p = grab_buffer(200u << 20); /* LINE_MAIN */
	printf("grab %s\n", p ? "ok" : "null");
	return p ? 0 : 3;
}
EOC
	cat >"$TR/plugin.c" <<'EOC'
#include <stdlib.h>
__attribute__((noinline)) static void *plugin_inner(size_t n)
{
	void *p = malloc(n); /* LINE_PLUGIN */
	__asm__ volatile("" ::: "memory");
	return p;
}
void *plugin_alloc(size_t n)
{
	void *p = plugin_inner(n);
	__asm__ volatile("" ::: "memory");
	return p;
}
EOC
	line_of() { grep -n "$1" "$2" | cut -d: -f1; }
	LT=$(line_of LINE_TAKE "$TR/app.c") LG=$(line_of LINE_GRAB "$TR/app.c") LM=$(line_of LINE_MAIN "$TR/app.c")
	LP=$(line_of LINE_PLUGIN "$TR/plugin.c")
	if ! cc -g -O1 -fPIE -pie -o "$TR/app-pie" "$TR/app.c" -ldl 2>"$TR/cc.err" ||
		! cc -g -O1 -fno-pie -no-pie -o "$TR/app-nopie" "$TR/app.c" -ldl 2>>"$TR/cc.err" ||
		! cc -g -O1 -shared -fPIC -o "$TR/plugin.so" "$TR/plugin.c" 2>>"$TR/cc.err"; then
		notok "trace: test programs build" "$(cat "$TR/cc.err")"
	fi
	cp "$TR/app-pie" "$TR/app-stripped" && strip "$TR/app-stripped"

	for kind in pie nopie; do
		type=$(readelf -h "$TR/app-$kind" | sed -n 's/.*Type: *\([A-Z]*\).*/\1/p')
		echo hello | (tr_run $kind --fail-above 100M -- "$TR/app-$kind")
		why=
		[ "$(trc $kind)" = 3 ] || why="exit $(trc $kind), not the program's 3;"
		[ "$(cat "$TR/$kind.out")" = "$(printf 'read hello\ngrab null')" ] || why="$why stdout changed;"
		grep -q "^  #0 take at $TR/app.c:$LT (inlined)\$" "$TR/$kind.err" || why="$why no inlined take at app.c:$LT;"
		grep -q "^  #0 grab_buffer at $TR/app.c:$LG ($TR/app-$kind+0x[0-9a-f]*)\$" "$TR/$kind.err" || why="$why no grab_buffer at app.c:$LG;"
		grep -q "^  #1 main at $TR/app.c:$LM ($TR/app-$kind+0x[0-9a-f]*)\$" "$TR/$kind.err" || why="$why no main at app.c:$LM;"
		grep -q '^memguard: .* event=failure function=malloc size=209715200 .* injected=1 ' "$TR/$kind.err" || why="$why no failure line;"
		grep -q ' modules=\| backtrace=' "$TR/$kind.err" && why="$why raw frames left in the output;"
		if [ -z "$why" ]; then
			ok "trace, $kind program ($type) with -g: failing function and file:line per frame, inlined copy marked, stdin/stdout and exit status 3 kept"
		else notok "trace, $kind program ($type)" "$why" "$(tshow $kind.err $kind.out)"; fi
	done

	echo | (tr_run strip --fail-above 100M -- "$TR/app-stripped")
	if [ "$(trc strip)" = 3 ] && grep -q "^  #0 $TR/app-stripped+0x[0-9a-f]*\$" "$TR/strip.err" &&
		! grep -q "^  #[01] .* at $TR/app.c" "$TR/strip.err"; then
		ok "trace, stripped binary: its frames are module+offset, nothing invented"
	else notok "trace, stripped binary" "$(tshow strip.err)"; fi

	echo | (tr_run plug --fail-above 100M -- "$TR/app-pie" plug "$TR/plugin.so")
	if grep -qx 'plugin null' "$TR/plug.out" &&
		grep -q "^  #0 plugin_inner at $TR/plugin.c:$LP ($TR/plugin.so+0x[0-9a-f]*)\$" "$TR/plug.err" &&
		grep -q "^  #1 plugin_alloc at $TR/plugin.c:[0-9]* ($TR/plugin.so+0x" "$TR/plug.err" &&
		grep -q "^  #2 main at $TR/app.c:[0-9]* ($TR/app-pie+0x" "$TR/plug.err"; then
		ok "trace, dlopen'ed library: its function and plugin.c:$LP, then the caller in the executable"
	else notok "trace, dlopen'ed library" "$(tshow plug.err plug.out)"; fi

	# A libc function named from the system's symbol tables (or its debug
	# file when installed): a frame in a shared library from the system.
	if grep -q '^  #[0-9]* __libc_start[a-z_]* .*(/.*libc\.so\.6+0x[0-9a-f]*)$' "$TR/pie.err"; then
		ok "trace: frames in libc.so.6 named (__libc_start_*)"
	else notok "trace: libc frames named" "$(tshow pie.err)"; fi

	echo | (tr_run json --json --fail-above 100M -- "$TR/app-nopie")
	cat >"$TR/check_json.py" <<'EOP'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
fail = [o for o in objs if o["event"] == "failure"]
assert len(fail) == 1, objs
f = fail[0]
assert f["function"] == "malloc" and f["size"] == 200 << 20 and f["injected"] is True and f["result"] is None, f
assert "cgroup_limit" in f["context"] or "overcommit" in f["context"], f
bt = f["backtrace"]
assert bt[0]["function"] == "take" and bt[0]["inlined"] is True and bt[0]["line"] == int(sys.argv[2]), bt[0]
assert bt[1]["function"] == "grab_buffer" and bt[1]["inlined"] is False and bt[1]["file"].endswith("/app.c"), bt[1]
assert bt[1]["module"] == sys.argv[3] and bt[1]["offset"].startswith("0x") and len(bt[1]["build_id"]) == 40, bt[1]
assert objs[-1]["event"] == "summary" and objs[-1]["failures"] == 1, objs[-1]
print("ok")
EOP
	if [ "$(trc json)" = 3 ] && python3 "$TR/check_json.py" "$TR/json.err" "$LT" "$TR/app-nopie" >"$TR/json.chk" 2>&1; then
		ok "trace --json: one JSON object per report, frames with function, file, line, inlined, module, offset, build_id"
	else notok "trace --json" "$(cat "$TR/json.chk")" "$(tshow json.err)"; fi

	# The raw log kept, and symbolised later; then the binary is rebuilt.
	rm -f "$TR/kept.log"
	cp "$TR/app-pie" "$TR/app-rebuilt"
	echo | (tr_run kept --log "$TR/kept.log" --fail-above 100M -- "$TR/app-rebuilt")
	run "$CTL" symbolize "$TR/kept.log"
	if [ "$(trc kept)" = 3 ] && grep -q ' modules=.*app-rebuilt@[0-9a-f]\{40\}.* backtrace=' "$TR/kept.log" &&
		grep -q "^  #0 grab_buffer at $TR/app.c:$LG (" "$T/out" && [ "$RC" = 0 ]; then
		ok "trace --log FILE: raw log kept (full paths, build-ids); symbolize FILE names the frames afterwards"
	else notok "trace --log / symbolize" "rc $RC" "$(tshow kept.err)" "$(cat "$T/out" "$T/err")"; fi
	cc -g -O1 -DREBUILT=1 -fPIE -pie -o "$TR/app-rebuilt" "$TR/app.c" -ldl -Wl,--build-id=sha1 -Wl,-z,norelro 2>/dev/null
	run "$CTL" symbolize "$TR/kept.log"
	if [ "$RC" = 0 ] && grep -q "^memguardctl: warning: $TR/app-rebuilt was rebuilt after the log was written (build-id [0-9a-f]* in the log, [0-9a-f]* now)" "$T/err" &&
		[ "$(grep -c 'app-rebuilt was rebuilt' "$T/err")" = 1 ] &&
		grep -q "^  #0 $TR/app-rebuilt+0x[0-9a-f]* \[rebuilt since the log was written\]\$" "$T/out" &&
		! grep -q "grab_buffer at" "$T/out"; then
		ok "symbolize after a rebuild: detected by build-id, said once, frames left as module+offset (never mis-symbolised)"
	else notok "symbolize after a rebuild" "$(show_io)"; fi
	rm -f "$TR/app-rebuilt"
	run "$CTL" symbolize "$TR/kept.log"
	expect "symbolize, binary gone: said, frames module+offset" 0 err "$TR/app-rebuilt: not found"

	# Status: a death by signal N is 128+N, as the shell reports it.
	echo | (tr_run sig -- "$TR/app-pie" kill)
	if [ "$(trc sig)" = 143 ]; then ok "trace: COMMAND killed by SIGTERM: exit 143"
	else notok "trace: signal death" "exit $(trc sig)"; fi
	tr_run nf -- "$TR/no-such-program"
	if [ "$(trc nf)" = 127 ] && grep -q "memguardctl: $TR/no-such-program: No such file or directory" "$TR/nf.err"; then
		ok "trace: COMMAND not found: 127, named"
	else notok "trace: COMMAND not found" "exit $(trc nf)" "$(tshow nf.err)"; fi

	# LD_PRELOAD: the shim in front of what was there, not replacing it;
	# and the MEMGUARD_* variables the options say.
	LD_PRELOAD=/lib/x86_64-linux-gnu/libm.so.6 tr_run env --threshold 1G --backtrace 4 -- sh -c \
		'printf "%s|%s|%s|%s\n" "$LD_PRELOAD" "$MEMGUARD_THRESHOLD" "$MEMGUARD_BACKTRACE" "$MEMGUARD_FORMAT"'
	if [ "$(cat "$TR/env.out")" = "$SHIM_PATH /lib/x86_64-linux-gnu/libm.so.6|1G|4|text" ]; then
		ok "trace: LD_PRELOAD keeps what was there (shim in front), MEMGUARD_THRESHOLD/BACKTRACE/FORMAT set"
	else notok "trace: environment of COMMAND" "$(cat "$TR/env.out" "$TR/env.err")"; fi

	# The shim's file must be there and root's.
	at - "$CTL" trace -- true >"$TR/miss.out" 2>"$TR/miss.err"
	rc=$?
	if [ $rc = 125 ] && grep -q "^memguardctl: the allocation shim $SHIM_PATH: No such file or directory" "$TR/miss.err"; then
		ok "trace: shim missing at $SHIM_PATH: exit 125, the path named"
	else notok "trace: shim missing" "exit $rc" "$(tshow miss.err)"; fi
	at "$SHIM_BUILD" sh -c 'chown 65534 "$0" && exec "$1" trace -- true' "$SHIM_PATH" "$CTL" >"$TR/own.out" 2>"$TR/own.err"
	rc=$?
	if [ $rc = 125 ] && grep -q "is not a root-owned file writable only by root" "$TR/own.err"; then
		ok "trace: shim not owned by root: refused, exit 125"
	else notok "trace: shim not root-owned" "exit $rc" "$(tshow own.err)"; fi
fi

# symbolize on its own: lines that are not the shim's pass through, a
# syslog-carried line is read, a missing log is exit 1.
printf 'hello\n<11>memguard[77]: 2026-01-01T00:00:00.000Z pid=77 tid=77 program=x event=failure function=malloc size=5 result=NULL errno=12 error=ENOMEM backtrace=/nonexistent/lib.so+0x10,?\n' >"$TR/mixed.log"
run "$CTL" symbolize "$TR/mixed.log"
if [ "$RC" = 0 ] && [ "$(sed -n 1p "$T/out")" = hello ] &&
	grep -qx '<11>memguard\[77\]: 2026-01-01T00:00:00.000Z pid=77 tid=77 program=x event=failure function=malloc size=5 result=NULL errno=12 error=ENOMEM' "$T/out" &&
	grep -qx '  #0 /nonexistent/lib.so+0x10 \[not found\]' "$T/out" && grep -qx '  #1 ?' "$T/out"; then
	ok "symbolize: other lines passed on, a syslog line read, unknown frames kept as they are"
else notok "symbolize of a mixed log" "$(show_io)"; fi
run "$CTL" symbolize "$TR/none.log"
expect "symbolize of a missing log: exit 1, named" 1 err "memguardctl: $TR/none.log: No such file or directory"

# Only memguardctl maps libdw: the module and the shim are loaded into
# other programs.
if readelf -d "$CTL" | grep -q 'NEEDED.*libdw' && ! readelf -d "$BUILD/pam_memguard.so" | grep -q 'libdw\|libelf' &&
	! readelf -d "$SHIM_BUILD" | grep -q 'libdw\|libelf'; then
	ok "libdw is linked into memguardctl only, not pam_memguard.so nor the shim"
else notok "libdw only in memguardctl" "$(readelf -d "$BUILD/pam_memguard.so" "$SHIM_BUILD" | grep NEEDED)"; fi

# The policy key trace=: show names it and its line; check warns when the
# shim it would load is not there (and only then).
TP=$TR/trace-policy.conf
printf '* trace=64M\nroot trace=off\n' >"$TP"
chmod 644 "$TP"
run "$CTL" --policy "$TP" show root
expect "show: trace= with the rule that sets it (off beats a broader trace=64M)" 0 out "trace                off        $TP:2 'root'"
run "$CTL" --policy "$TP" --json show root
expect "show --json: trace" 0 out '"trace":{"value":"off"'
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && at - true 2>/dev/null; then
	at - "$CTL" --policy "$TP" --no-names check >"$T/out" 2>"$T/err"
	RC=$?
	expect "check: trace= without the shim installed is a warning at the rule" 0 err \
		"$TP:1:3: warning: trace= has no effect: the allocation shim $SHIM_PATH is not installed"
	at "$SHIM_BUILD" "$CTL" --policy "$TP" --no-names check >"$T/out" 2>"$T/err"
	RC=$?
	if [ "$RC" = 0 ] && ! grep -q 'trace=' "$T/err"; then ok "check: no warning once the shim is installed root-owned"
	else notok "check with the shim installed" "$(show_io)"; fi
else
	ok "check: trace= warnings # SKIP needs root and a private mount namespace"
fi

# A log is written by the programs it traces: nothing of it reaches the
# terminal raw (an ESC sequence in a program name, a path, a passed-on line).
printf 'x\033[2J\n<11>memguard[77]: 2026-01-01T00:00:00.000Z pid=77 tid=77 program=e\033]0;t\007 event=failure function=malloc size=5 backtrace=/no\033[31m/x+0x10\n' >"$TR/esc.log"
run "$CTL" symbolize "$TR/esc.log"
if [ "$RC" = 0 ] && ! od -An -c "$T/out" "$T/err" | grep -q '033\|007' &&
	grep -qF 'program=e\x1b]0;t\x07 ' "$T/out" && grep -qF '/no\x1b[31m/x: not found' "$T/err" && grep -qxF 'x\x1b[2J' "$T/out"; then
	ok "symbolize: control bytes of the log escaped on stdout and in warnings"
else notok "symbolize: control bytes escaped" "$(od -c "$T/out" | head -12)" "$(cat "$T/err")"; fi
