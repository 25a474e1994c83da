#!/bin/sh
# Tests of libmemguard-preload.so: real programs (tests/tools/preload_probe.c
# and a few compiled here) run under LD_PRELOAD, and every assertion holds
# the shim's log against what the program or the kernel saw.
# Run from the top of the repository:  sh tests/preload/run.sh
# Prints TAP; exit 0 when all passed, 1 otherwise, 77 (reason last) when it
# cannot run at all. Every program runs under timeout(1): no test waits by
# sleeping, and a hang fails instead of blocking the stage.

BUILD=${BUILD:-build}
[ "${SANITIZE:-}" = 1 ] && case $BUILD in build) BUILD=build/san ;; esac
TOP=$(pwd)
SO=$TOP/$BUILD/libmemguard-preload.so
PROBE=$TOP/$BUILD/tests/tools/preload_probe
BOOT=$TOP/$BUILD/tests/tools/preload_boot
INIT=$TOP/$BUILD/tests/tools/preload_init
CTX=$TOP/$BUILD/tests/tools/preload_context
STRESS=$TOP/$BUILD/tests/tools/preload_stress
DEADLINE=${PRELOAD_TEST_DEADLINE:-60}

command -v timeout >/dev/null || { echo "timeout(1) not found"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not found (JSON checks)"; exit 77; }
MAKEVARS="BUILD=$BUILD"
[ "${SANITIZE:-}" = 1 ] && MAKEVARS="SANITIZE=1"
# Relative names: the Makefile's pattern rules are written that way.
if ! make -s $MAKEVARS "$BUILD/libmemguard-preload.so" "$BUILD/tests/tools/preload_probe" \
	"$BUILD/tests/tools/preload_boot" "$BUILD/tests/tools/preload_init" "$BUILD/tests/tools/preload_context" "$BUILD/tests/tools/preload_stress" >&2; then
	echo "Bail out! build failed"
	exit 1
fi

T=$(mktemp -d /tmp/mgpreload.XXXXXX) || exit 1
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; failed=1; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# show FILE...: context for a failed test, as TAP comments.
show() { for f in "$@"; do [ -f "$f" ] && sed "s|^|# $(basename "$f"): |" "$f" | cut -c1-400 | head -n 30; done; }
# check DESC CMD...: one test from a command's status.
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}

# shim NAME PROGRAM ARGS...: runs PROGRAM under the shim with the MEMGUARD_*
# variables the caller exported (in a subshell). Only PROGRAM is preloaded,
# not timeout or sh. Leaves NAME.out, NAME.err and NAME.rc in $T.
shim() {
	_n=$1
	shift
	timeout -k 5 "$DEADLINE" sh -c 'LD_PRELOAD="$0" exec "$@"' "$SO" "$@" >"$T/$_n.out" 2>"$T/$_n.err"
	echo $? >"$T/$_n.rc"
}
rc() { cat "$T/$1.rc"; }
# count FILE REGEX
count() { grep -c -E -- "$2" "$1" 2>/dev/null || true; }
# field FILE REGEX KEY: KEY's value on the first line matching REGEX.
field() { grep -m1 -E -- "$2" "$1" | tr ' ' '\n' | sed -n "s/^$3=//p" | head -n 1; }
meminfo() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/meminfo; }

# The build-id the linker wrote into the probe, as readelf sees it.
probe_id=$(readelf -n "$PROBE" 2>/dev/null | sed -n 's/^ *Build ID: *//p' | head -n 1)
funcs="malloc calloc realloc reallocarray posix_memalign aligned_alloc memalign valloc pvalloc mmap mmap64 mremap"

# 1. Only the interposed entry points leave the library.
exports=$(nm -D --defined-only "$SO" | awk '{print $3}' | sort | tr '\n' ' ')
want="aligned_alloc calloc free malloc malloc_usable_size memalign mmap mmap64 mprotect mremap posix_memalign pvalloc realloc reallocarray valloc "
if [ "$exports" = "$want" ]; then ok "exports exactly the interposed functions"; else
	nok "exports exactly the interposed functions"; echo "# got: $exports"; fi

# 2. A program with nothing to report: not one byte from the shim.
(shim quiet "$PROBE" quiet)
if [ "$(rc quiet)" = 0 ] && [ ! -s "$T/quiet.err" ] && grep -qx 'quiet done' "$T/quiet.out"; then
	ok "nothing to report: program output unchanged, shim silent (no summary either)"
else nok "nothing to report: shim silent"; show "$T/quiet.err" "$T/quiet.rc"; fi

# 3. Every entry point's large allocation, at the default threshold (64M).
(shim each "$PROBE" each 80M)
for f in $funcs; do
	line=$(grep -E " event=large function=$f " "$T/each.err")
	res=$(sed -n "s/^$f ok //p" "$T/each.out")
	nf=$(echo "$line" | sed -n 's/.* backtrace=//p' | tr ',' '\n' | grep -c . || true)
	first=$(echo "$line" | sed -n 's/.* backtrace=\([^,]*\).*/\1/p')
	if [ "$(echo "$line" | grep -c .)" = 1 ] && [ -n "$res" ] &&
		echo "$line" | grep -q " size=83886080 " &&
		echo "$line" | grep -q " result=$res " &&
		echo "$line" | grep -q " pid=[0-9]* tid=[0-9]* program=preload_probe " &&
		echo "$line" | grep -Eq '^memguard: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z ' &&
		[ "$nf" -ge 3 ] && case $first in *:"$PROBE"+0x*) true ;; *) false ;; esac &&
		echo "$line" | grep -q " modules=$PROBE@$probe_id"; then
		ok "large $f(80M): one report with time, pid, tid, program, size, the program's result, $nf frames from the caller (full path, build-id)"
	else
		nok "large $f(80M) reported once with its result and >= 3 frames"
		echo "# program: $f ok $res"
		echo "$line" | sed 's/^/# shim: /'
	fi
done
aa=$(field "$T/each.err" "function=aligned_alloc " alignment)
pm=$(field "$T/each.err" "function=posix_memalign " alignment)
ra=$(grep -E "function=reallocarray " "$T/each.err" | grep -c " nmemb=5242880 elsize=16 ")
if [ "$aa" = 4096 ] && [ "$pm" = 64 ] && [ "$ra" = 1 ]; then ok "alignment and nmemb x size are in the reports"
else nok "alignment and nmemb x size are in the reports"; show "$T/each.err"; fi
sum=$(grep -c ' event=summary ' "$T/each.err")
last=$(tail -n 1 "$T/each.err")
if [ "$sum" = 1 ] && echo "$last" | grep -q ' event=summary large=12 failures=0 largest=83886080 ' &&
	echo "$last" | grep -Eq ' peak_rss_kb=[0-9]+ '; then ok "exit summary: one line, last, large=12 failures=0 largest=80M, peak RSS"
else nok "exit summary counts"; show "$T/each.err"; fi

# 4. Threshold: below it nothing is said.
(export MEMGUARD_THRESHOLD=100M; shim thr "$PROBE" each 80M)
if [ "$(rc thr)" = 0 ] && [ ! -s "$T/thr.err" ]; then ok "MEMGUARD_THRESHOLD=100M: 80M requests not reported"
else nok "MEMGUARD_THRESHOLD=100M"; show "$T/thr.err"; fi

# 5. Fault injection above a size: every entry point fails with ENOMEM,
# the program sees it, and the report says why.
(export MEMGUARD_FAIL_ABOVE=1M; shim inj "$PROBE" each 2M)
for f in $funcs; do
	seen=$(grep -c -E "^$f fail ENOMEM$" "$T/inj.out")
	rep=$(grep -E " event=failure function=$f " "$T/inj.err" | grep -c ' errno=12 error=ENOMEM injected=1 ')
	if [ "$seen" = 1 ] && [ "$rep" = 1 ]; then ok "MEMGUARD_FAIL_ABOVE=1M: $f(2M) fails with ENOMEM, reported once as injected"
	else nok "MEMGUARD_FAIL_ABOVE=1M: $f(2M) fails with ENOMEM, reported once"; grep -E "^$f " "$T/inj.out" | sed 's/^/# program: /'; fi
done
line=$(grep -m1 ' event=failure function=malloc ' "$T/inj.err")
ok_ctx=1
for k in overcommit commit_limit_kb committed_as_kb vm_size_kb vm_rss_kb; do
	v=$(echo "$line" | tr ' ' '\n' | sed -n "s/^$k=//p")
	case $v in '' | *[!0-9]*) ok_ctx=0; echo "# $k='$v'" ;; esac
done
cl=$(echo "$line" | tr ' ' '\n' | sed -n 's/^commit_limit_kb=//p')
ca=$(echo "$line" | tr ' ' '\n' | sed -n 's/^committed_as_kb=//p')
oc=$(echo "$line" | tr ' ' '\n' | sed -n 's/^overcommit=//p')
ra=$(echo "$line" | tr ' ' '\n' | sed -n 's/^rlimit_as=//p')
[ "$oc" = "$(cat /proc/sys/vm/overcommit_memory)" ] || { ok_ctx=0; echo "# overcommit $oc"; }
[ "$cl" = "$(meminfo CommitLimit)" ] || { ok_ctx=0; echo "# CommitLimit $cl vs $(meminfo CommitLimit)"; }
real_ca=$(meminfo Committed_AS)
[ -n "$ca" ] && [ "$ca" -gt $((real_ca / 4)) ] && [ "$ca" -lt $((real_ca * 4 + 65536)) ] || { ok_ctx=0; echo "# Committed_AS $ca vs $real_ca"; }
[ "$ra" = unlimited ] || { ok_ctx=0; echo "# rlimit_as $ra"; }
if [ $ok_ctx = 1 ]; then ok "failure context: overcommit mode, CommitLimit and Committed_AS as /proc/meminfo has them, VmSize, VmRSS, RLIMIT_AS"
else nok "failure context fields"; echo "$line" | sed 's/^/# /'; fi

# The memory cgroup, as /proc/self/cgroup names it.
memcg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
if [ -n "$memcg" ] && [ -f "/sys/fs/cgroup/memory$memcg/memory.limit_in_bytes" ]; then
	# The limit in force: the smallest limit_in_bytes from the group up to
	# the root ("no limit" is v1's page-counter maximum), and who sets it.
	lim=max by=
	d=$memcg
	while :; do
		v=$(cat "/sys/fs/cgroup/memory${d%/}/memory.limit_in_bytes" 2>/dev/null)
		if [ -n "$v" ] && [ "$v" -lt 9223372036853727232 ] && { [ "$lim" = max ] || [ "$v" -lt "$lim" ]; }; then
			lim=$v by=$d
		fi
		[ "$d" = / ] && break
		d=${d%/*}
		[ -z "$d" ] && d=/
	done
	want=" cgroup_version=1 cgroup=$memcg cgroup_limit=$lim${by:+ cgroup_limit_group=$by} cgroup_usage=[0-9]"
	if echo "$line" | grep -q -- "$want"; then
		ok "failure context: v1 memory cgroup $memcg, the limit in force over its ancestors ($lim${by:+ set by $by}), usage_in_bytes"
	else nok "failure context: v1 memory cgroup"; echo "# want:$want"; echo "$line" | sed 's/^/# /'; fi
	# A group of our own with a cap and a child without one: the child's
	# own limit is "none", the binding one its parent's.
	OWNCG=/sys/fs/cgroup/memory$memcg
	G=$OWNCG/mgpreload-$$
	if [ "$(id -u)" = 0 ] && mkdir "$G" 2>/dev/null && mkdir "$G/leaf" &&
		echo 268435456 >"$G/memory.limit_in_bytes"; then
		(export MEMGUARD_FAIL_ABOVE=1M
		 timeout -k 5 "$DEADLINE" sh -c 'echo $$ >"$1/cgroup.procs" && LD_PRELOAD="$2" exec "$3" malloc 2M' \
			sh "$G/leaf" "$SO" "$PROBE" >"$T/cgup.out" 2>"$T/cgup.err")
		rel=${memcg%/}/mgpreload-$$
		if grep -q " cgroup=$rel/leaf cgroup_limit=268435456 cgroup_limit_group=$rel cgroup_usage=[0-9]" "$T/cgup.err"; then
			ok "failure context in a child group without a cap: cgroup_limit is its parent's 256M, cgroup_limit_group names the parent"
		else nok "effective cgroup limit from the parent"; show "$T/cgup.err"; fi
		rmdir "$G/leaf" "$G" 2>/dev/null
	else
		skip "effective cgroup limit from the parent" "cannot make a memory cgroup under $OWNCG"
		rmdir "$G/leaf" "$G" 2>/dev/null
	fi
elif grep -q '^0::' /proc/self/cgroup; then
	if echo "$line" | grep -q " cgroup_version=2 cgroup=/"; then ok "failure context: v2 cgroup named"
	else nok "failure context: v2 cgroup"; echo "$line" | sed 's/^/# /'; fi
else
	skip "failure context: memory cgroup" "no memory cgroup in /proc/self/cgroup"
fi

# 6. MEMGUARD_FAIL_AFTER: the first N matching requests pass.
(export MEMGUARD_FAIL_ABOVE=1M MEMGUARD_FAIL_AFTER=2; shim after "$PROBE" loop 5 2M)
if grep -qx 'loop 5 failed 3' "$T/after.out" && [ "$(count "$T/after.err" ' event=failure function=malloc size=2097152 .* injected=1 ')" = 3 ]; then
	ok "MEMGUARD_FAIL_AFTER=2 with FAIL_ABOVE=1M: 2 of 5 pass, 3 fail and are reported"
else nok "MEMGUARD_FAIL_AFTER=2"; show "$T/after.out" "$T/after.err"; fi

# 7. malloc(0), realloc(p, 0), calloc(0, n) returning NULL are not failures.
(export MEMGUARD_FAIL_ABOVE=0 MEMGUARD_THRESHOLD=1; shim zero "$PROBE" zero)
# (Runtimes loaded with the program may allocate at start and fail too:
# libstdc++'s exception pool does under UBSan.)
if [ "$(count "$T/zero.err" ' event=failure function=malloc size=1 ')" = 1 ] &&
	[ "$(count "$T/zero.err" 'size=0 ')" = 0 ]; then
	ok "malloc(0), realloc(p,0), calloc(0,n): not reported even with FAIL_ABOVE=0 (only the malloc(1) is)"
else nok "zero-size requests not reported"; show "$T/zero.err"; fi

# 8. reallocarray overflow: one report, as reallocarray, not also as realloc.
(shim ovf "$PROBE" overflow)
if grep -qx 'reallocarray fail ENOMEM' "$T/ovf.out" && [ "$(count "$T/ovf.err" ' function=reallocarray size=overflow nmemb=9223372036854775808 elsize=2 result=NULL errno=12 ')" = 1 ] &&
	[ "$(count "$T/ovf.err" ' function=realloc ')" = 0 ] && [ "$(count "$T/ovf.err" ' function=calloc size=overflow ')" = 1 ]; then
	ok "reallocarray and calloc overflow: ENOMEM, each reported exactly once with nmemb and size"
else nok "reallocarray overflow reported once"; show "$T/ovf.out" "$T/ovf.err"; fi

# 9. mremap forwards its fifth argument.
(export MEMGUARD_THRESHOLD=1M; shim mrf "$PROBE" mremap-fixed 8M)
tgt=$(sed -n 's/^target \([^ ]*\) result .*/\1/p' "$T/mrf.out")
if [ "$(rc mrf)" = 0 ] && [ -n "$tgt" ] && grep -q " function=mremap size=8388608 old_size=4194304 .* result=$tgt " "$T/mrf.err"; then
	ok "mremap(MREMAP_MAYMOVE|MREMAP_FIXED, target): moved to the target, data kept, reported with that result"
else nok "mremap 5-argument forwarding"; show "$T/mrf.out" "$T/mrf.err"; fi

# 10. Reservations are not allocations: no flood.
(shim rsv "$PROBE" reserve 500 4G)
if grep -qx 'reserved 500' "$T/rsv.out" && [ ! -s "$T/rsv.err" ]; then
	ok "500 PROT_NONE and 500 MAP_NORESERVE 4G reservations: not one line"
else nok "reservations not reported"; show "$T/rsv.out" "$T/rsv.err"; fi

# 11. mprotect ENOMEM from the kernel (RLIMIT_DATA refuses making a
# reservation writable, as strict overcommit would).
(shim mpr "$PROBE" mprotect-data 64M 256M)
if grep -qx 'mprotect fail ENOMEM' "$T/mpr.out"; then
	if [ "$(count "$T/mpr.err" ' event=failure function=mprotect size=268435456 addr=0x[0-9a-f]+ prot=3 result=-1 errno=12 error=ENOMEM overcommit=')" = 1 ] &&
		! grep -q injected "$T/mpr.err"; then
		ok "mprotect(RW) refused by the kernel with ENOMEM (RLIMIT_DATA): reported as a failure with context"
	else nok "mprotect ENOMEM reported"; show "$T/mpr.err"; fi
elif grep -q '^mprotect ok' "$T/mpr.out"; then
	skip "mprotect ENOMEM reported" "this kernel lets mprotect exceed RLIMIT_DATA (ignore_rlimit_data?)"
else nok "mprotect-data probe"; show "$T/mpr.out" "$T/mpr.err"; fi

# 12. A real refusal: malloc beyond RLIMIT_AS.
(shim ras "$PROBE" rlimit-as 256M 512M)
if grep -qx 'malloc fail ENOMEM' "$T/ras.out" &&
	[ "$(count "$T/ras.err" ' event=failure function=malloc size=536870912 result=NULL errno=12 error=ENOMEM overcommit=[0-9].* rlimit_as=268435456 ')" = 1 ] &&
	! grep -q injected "$T/ras.err"; then
	ok "malloc(512M) under RLIMIT_AS=256M: kernel refusal reported (not injected) with rlimit_as=268435456"
else nok "RLIMIT_AS refusal reported"; show "$T/ras.out" "$T/ras.err"; fi

# posix_memalign's error comes back as its result, errno left alone.
(shim pma "$PROBE" memalign-einval)
if grep -qx 'posix_memalign EINVAL out 0x1 errno 1234' "$T/pma.out" &&
	[ "$(count "$T/pma.err" ' event=failure function=posix_memalign size=16 alignment=3 result=22 errno=22 error=EINVAL ')" = 1 ]; then
	ok "posix_memalign(align 3): EINVAL returned, *out and errno untouched, reported as a failure"
else nok "posix_memalign EINVAL"; show "$T/pma.out" "$T/pma.err"; fi

# 13. JSON: every line is one object with the documented fields.
(export MEMGUARD_FORMAT=json MEMGUARD_FAIL_ABOVE=100M MEMGUARD_THRESHOLD=1M; shim json "$PROBE" malloc 80M 200M 2M)
cat >"$T/check_json.py" <<'EOF'
import json, sys
events = []
for i, line in enumerate(open(sys.argv[1]), 1):
    o = json.loads(line)
    for k in ("time", "pid", "tid", "program", "event"):
        assert k in o, "line %d: no %s" % (i, k)
    events.append(o)
kinds = [o["event"] for o in events]
assert kinds == ["large", "failure", "large", "summary"], kinds
big = events[0]
assert big["function"] == "malloc" and big["size"] == 80 << 20 and big["errno"] == 0, big
assert len(big["backtrace"]) >= 3 and big["backtrace"][0]["module"] == sys.argv[2], big["backtrace"]
assert big["backtrace"][0]["build_id"] == sys.argv[3], big["backtrace"]
assert all(f["addr"].startswith("0x") and f["offset"].startswith("0x") for f in big["backtrace"])
f = events[1]
assert f["result"] is None and f["errno"] == 12 and f["error"] == "ENOMEM" and f["injected"] is True, f
c = f["context"]
for k in ("overcommit", "commit_limit_kb", "committed_as_kb", "vm_size_kb", "vm_rss_kb", "rlimit_as"):
    assert k in c, k
assert isinstance(c["commit_limit_kb"], int) and c["rlimit_as"] == "unlimited", c
s = events[3]
assert s["large"] == 2 and s["failures"] == 1 and s["largest"] == 200 << 20, s
print("ok")
EOF
if python3 "$T/check_json.py" "$T/json.err" "$PROBE" "$probe_id" >"$T/check_check_json.out" 2>&1; then
	ok "MEMGUARD_FORMAT=json: each line parses (json.loads); large, failure with context, summary"
else nok "JSON lines"; show "$T/check_check_json.out" "$T/json.err"; fi

# 14. Rate limit: a loop at one call site gets 10 lines, then one count.
(export MEMGUARD_THRESHOLD=1M; shim flood "$PROBE" loop 1000 2M)
if [ "$(count "$T/flood.err" ' event=large ')" = 10 ] && [ "$(count "$T/flood.err" ' event=suppressed count=990 window_s=60 modules=[^ ]+ backtrace=0x')" = 1 ] &&
	tail -n 1 "$T/flood.err" | grep -q ' event=summary large=1000 failures=0 .* suppressed=990 lost=0$'; then
	ok "1000 large mallocs at one site: 10 reports, one 'suppressed count=990' with the site, summary large=1000"
else nok "rate limit per call site"; show "$T/flood.err"; fi
(export MEMGUARD_THRESHOLD=1M MEMGUARD_FAIL_ABOVE=1M; shim ffl "$PROBE" loop 300 2M)
if [ "$(count "$T/ffl.err" ' event=failure ')" = 300 ] && [ "$(count "$T/ffl.err" ' event=suppressed ')" = 0 ]; then
	ok "300 failures at one site: all 300 reported, none suppressed"
else nok "failures are never rate-limited"; show "$T/ffl.err"; fi
(export MEMGUARD_THRESHOLD=1M MEMGUARD_RATELIMIT=0; shim nolim "$PROBE" loop 200 2M)
if [ "$(count "$T/nolim.err" ' event=large ')" = 200 ]; then ok "MEMGUARD_RATELIMIT=0: all 200 reported"
else nok "MEMGUARD_RATELIMIT=0"; fi

# The window turns over: the site speaks again, first saying how many it
# swallowed. 2 reports per second, allocations for 2.5 s.
(export MEMGUARD_THRESHOLD=1M MEMGUARD_RATELIMIT=2/1; shim win "$PROBE" loop-for 2500 2M)
total=$(sed -n 's/^loop-for //p' "$T/win.out")
nl=$(count "$T/win.err" ' event=large ')
sup=$(grep ' event=suppressed ' "$T/win.err" | sed -n 's/.* count=\([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
mid=$(awk '/ event=suppressed /{ s = 1 } s && / event=large /{ print "yes"; exit }' "$T/win.err")
if [ -n "$total" ] && [ "$nl" -ge 6 ] && [ "$nl" -le 8 ] && [ "$mid" = yes ] && [ $((nl + sup)) = "$total" ] &&
	tail -n 1 "$T/win.err" | grep -q " event=summary large=$total .* suppressed=$sup lost=0\$"; then
	ok "MEMGUARD_RATELIMIT=2/1 over 2.5 s: $nl reports (2 per window), suppressed counts ($sup) + reports = $total allocations"
else nok "rate-limit window rollover (total $total, $nl reports, $sup suppressed)"; show "$T/win.err"; fi

# errno is the program's: a reported allocation leaves it alone.
(shim errno "$PROBE" errno 80M)
if grep -qx 'errno 1234 after malloc ok' "$T/errno.out" && [ "$(count "$T/errno.err" ' event=large ')" = 1 ]; then
	ok "errno unchanged across a reported malloc"
else nok "errno preserved"; show "$T/errno.out"; fi

# 15. Log file with %p: a forked child writes its own file.
(export MEMGUARD_LOG="$T/fork.%p.log"; shim fork "$PROBE" fork 80M)
pp=$(sed -n 's/^parent //p' "$T/fork.out")
cp=$(sed -n 's/^child //p' "$T/fork.out")
if [ "$(rc fork)" = 0 ] && [ -n "$pp" ] && [ -n "$cp" ] && [ ! -s "$T/fork.err" ] &&
	[ "$(count "$T/fork.$pp.log" " pid=$pp .* event=large ")" = 1 ] &&
	[ "$(count "$T/fork.$cp.log" " pid=$cp .* event=large ")" = 1 ] &&
	[ "$(count "$T/fork.$pp.log" " pid=$cp ")" = 0 ] &&
	[ "$(count "$T/fork.$cp.log" ' event=summary large=1 ')" = 1 ] &&
	[ "$(count "$T/fork.$pp.log" ' event=summary large=1 ')" = 1 ]; then
	ok "MEMGUARD_LOG=FILE.%p.log: parent and forked child each write their own file and summary"
else nok "%p reopen after fork"; ls "$T" | grep fork | sed 's/^/# /'; show "$T"/fork.*.log "$T/fork.err"; fi
perm=$(stat -c %a "$T/fork.$pp.log" 2>/dev/null)
[ "$perm" = 600 ] && ok "log file created mode 0600" || nok "log file mode ($perm)"

# O_NOFOLLOW: a symlink at the log name is not followed.
: >"$T/victim"
ln -s "$T/victim" "$T/link.log"
(export MEMGUARD_LOG="$T/link.log"; shim nofollow "$PROBE" malloc 80M)
if [ ! -s "$T/victim" ] && grep -q 'cannot open MEMGUARD_LOG' "$T/nofollow.err" && grep -q ' event=large ' "$T/nofollow.err"; then
	ok "MEMGUARD_LOG naming a symlink: not followed, report on stderr with a warning"
else nok "O_NOFOLLOW log"; show "$T/victim" "$T/nofollow.err"; fi

# The program closes every descriptor above 2 and opens its database,
# which gets the log's number: the database stays the program's, and the
# next report goes to the log, opened again.
(export MEMGUARD_LOG="$T/fdre.log"; shim fdre "$PROBE" fd-reuse "$T/fdre.db" 80M)
if [ "$(rc fdre)" = 0 ] && grep -qx 'database write ok' "$T/fdre.out" &&
	[ "$(od -An -c "$T/fdre.db" | tr -d ' \n')" = 'db\nend\n' ] &&
	[ "$(count "$T/fdre.log" ' event=large function=malloc size=83886080 ')" = 2 ] &&
	[ "$(count "$T/fdre.log" ' event=summary large=2 failures=0 .* lost=0$')" = 1 ] && [ ! -s "$T/fdre.err" ]; then
	ok "program closes fds 3..1023, its database gets the log's number: database untouched, both reports and the summary in the log"
else nok "log descriptor taken over by the program"; show "$T/fdre.out" "$T/fdre.db" "$T/fdre.log" "$T/fdre.err"; fi

# 16. Invalid settings: one warning each, defaults, program unharmed.
(export MEMGUARD_THRESHOLD=lots MEMGUARD_FORMAT=xml MEMGUARD_BACKTRACE=99 MEMGUARD_LOG=relative.log \
	MEMGUARD_FAIL_AFTER=-1 MEMGUARD_RATELIMIT=5/0 MEMGUARD_ABORT_ON_FAIL=yes; shim bad "$PROBE" each 80M)
nw=$(count "$T/bad.err" ' event=warning ')
if [ "$(rc bad)" = 0 ] && [ "$nw" = 7 ] && grep -q 'MEMGUARD_THRESHOLD="lots" is not valid (expected a size such as 64M, or max), using 64M' "$T/bad.err" &&
	grep -q 'MEMGUARD_RATELIMIT="5/0" is out of range' "$T/bad.err" &&
	[ "$(count "$T/bad.err" ' event=large ')" = 12 ] && [ ! -e relative.log ] && [ "$(grep -c ' ok ' "$T/bad.out")" = 12 ]; then
	ok "7 invalid MEMGUARD_* values: 7 warning lines naming value and default, then defaults (64M, text, stderr)"
else nok "invalid settings ($nw warnings)"; show "$T/bad.err"; fi

# 17. Backtrace depth.
(export MEMGUARD_BACKTRACE=3; shim bt3 "$PROBE" malloc 80M)
nf=$(grep ' event=large ' "$T/bt3.err" | sed -n 's/.* backtrace=//p' | tr ',' '\n' | grep -c .)
[ "$nf" = 3 ] && ok "MEMGUARD_BACKTRACE=3: 3 frames" || { nok "MEMGUARD_BACKTRACE=3 ($nf frames)"; show "$T/bt3.err"; }

# 18. Abort on failure: SIGABRT at the failing call, after the report.
(export MEMGUARD_ABORT_ON_FAIL=1 MEMGUARD_FAIL_ABOVE=1M; shim abrt "$PROBE" abort-child 2M)
if grep -Eq '^child signal 6( core)?$' "$T/abrt.out" && ! grep -q survived "$T/abrt.out" &&
	[ "$(count "$T/abrt.err" ' event=failure function=malloc size=2097152 ')" = 1 ]; then
	ok "MEMGUARD_ABORT_ON_FAIL=1: waitpid sees SIGABRT, the failure was logged first"
else nok "abort on failure"; show "$T/abrt.out" "$T/abrt.err"; fi

# 19. Threads: no crash, counts add up.
(export MEMGUARD_THRESHOLD=1M MEMGUARD_RATELIMIT=0; shim thr4 "$PROBE" threads 4 50 2M)
tids=$(grep ' event=large ' "$T/thr4.err" | sed -n 's/.* tid=\([0-9]*\) .*/\1/p' | sort -u | wc -l)
if [ "$(rc thr4)" = 0 ] && grep -qx 'threads 4 allocated 200' "$T/thr4.out" &&
	[ "$(count "$T/thr4.err" ' event=large function=malloc size=2097152 ')" = 200 ] && [ "$tids" = 4 ] &&
	tail -n 1 "$T/thr4.err" | grep -q ' event=summary large=200 failures=0 '; then
	ok "4 threads x 50 large mallocs: 200 reports from 4 tids, summary large=200, exit 0"
else nok "threads ($tids tids)"; show "$T/thr4.out" "$T/thr4.rc"; tail -n 3 "$T/thr4.err" | sed 's/^/# /'; fi
(export MEMGUARD_THRESHOLD=1M MEMGUARD_FAIL_ABOVE=1M MEMGUARD_FAIL_AFTER=100; shim thrf "$PROBE" threads 8 40 2M)
if [ "$(rc thrf)" = 0 ] && grep -qx 'threads 8 allocated 100' "$T/thrf.out" &&
	[ "$(count "$T/thrf.err" ' event=failure ')" = 220 ] && tail -n 1 "$T/thrf.err" | grep -q ' failures=220 '; then
	ok "8 threads, FAIL_AFTER=100 of 320: exactly 100 succeed, 220 failures reported"
else nok "threads with injection"; show "$T/thrf.out"; tail -n 2 "$T/thrf.err" | sed 's/^/# /'; fi

# stderr a pipe nobody reads: the writing thread blocks in write(), the
# others wait without burning CPU, and once the pipe is drained every
# failure line arrives. A non-blocking pipe that stays full: lines are
# counted as lost, not waited for without end. A pipe without a reader:
# the program is not killed by SIGPIPE.
cat >"$T/fullpipe.py" <<'EOF'
import fcntl, os, select, struct, subprocess, sys, termios, time
so, probe, mode, deadline = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032
tick = os.sysconf("SC_CLK_TCK")
env = dict(os.environ, LD_PRELOAD=so, MEMGUARD_FAIL_ABOVE="1M")

def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick  # utime, stime of all threads

def queued(fd):
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]

def drain(fd):
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return data.decode("utf-8", "replace")
        data += chunk

def finish(p):
    # The kernel's rusage of the whole process, once it has exited.
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return ru.ru_utime + ru.ru_stime

def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)

def summary_of(text):
    lines = [l for l in text.splitlines() if " event=summary " in l]
    if len(lines) != 1:
        fail("%d summary lines" % len(lines))
    return dict(kv.split("=", 1) for kv in lines[0].split(" ") if "=" in kv)

r, w = os.pipe()
if mode == "blocking":
    threads, each = 8, 40
    p = subprocess.Popen([probe, "threads", str(threads), str(each), "2M"], stdout=subprocess.PIPE, stderr=w, env=env)
    os.close(w)
    cap = fcntl.fcntl(r, F_GETPIPE_SZ)
    end = time.monotonic() + deadline
    while queued(r) < cap - 8192 and p.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    if p.poll() is not None or queued(r) < cap - 8192:
        fail("the pipe never filled (%d of %d bytes queued)" % (queued(r), cap))
    time.sleep(0.2)  # the other threads reach the lock
    c0, t0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(2.0)  # the interval measured
    c1, t1 = cpu_seconds(p.pid), time.monotonic()
    if p.poll() is not None:
        fail("the program finished while nobody read its stderr")
    text = drain(r)
    out = p.stdout.read().decode()
    finish(p)
    used = c1 - c0
    s = summary_of(text)
    seen = text.count(" event=failure ")
    want = threads * each
    if used > 0.2:
        fail("%.2f s of CPU in %.1f s blocked on the full pipe" % (used, t1 - t0))
    if p.returncode != 0 or out.strip() != "threads %d allocated 0" % threads:
        fail("program: rc %s, %r" % (p.returncode, out))
    if s.get("failures") != str(want) or seen + int(s.get("lost", -1)) != want:
        fail("%d failure lines, summary failures=%s lost=%s, want %d" % (seen, s.get("failures"), s.get("lost"), want))
    print("PASS %d threads failing allocations, stderr a full pipe: %.2f s CPU over %.1f s blocked; drained: %d failure lines, lost=%s"
          % (threads, used, t1 - t0, seen, s["lost"]))
elif mode == "nonblocking":
    n = 200
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
    p = subprocess.Popen([probe, "fail-then-wait", str(n), "2M"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=w, env=env)
    os.close(w)
    if not select.select([p.stdout], [], [], deadline)[0]:
        fail("no output from the program within %s s" % deadline)
    out = p.stdout.readline().decode()
    if out.strip() != "failed %d" % n:
        fail("program said %r" % out)
    first = b""
    while select.select([r], [], [], 0)[0]:
        first += os.read(r, 65536)
    p.stdin.write(b"go\n")
    p.stdin.close()
    text = first.decode("utf-8", "replace") + drain(r)
    used = finish(p)
    s = summary_of(text)
    seen = text.count(" event=failure ")
    lost = int(s.get("lost", -1))
    if p.returncode != 0 or s.get("failures") != str(n) or lost <= 0 or seen + lost != n:
        fail("rc %s, %d failure lines, summary failures=%s lost=%s, want %d in all" % (p.returncode, seen, s.get("failures"), s.get("lost"), n))
    if used > 0.5:
        fail("%.2f s of CPU for %d failures on a full non-blocking pipe" % (used, n))
    print("PASS non-blocking stderr pipe left full: %d failure lines written, lost=%d counted in the summary, %.2f s CPU"
          % (seen, lost, used))
elif mode == "noreader":
    os.close(r)
    p = subprocess.Popen([probe, "malloc", "2M", "3M"], stdout=subprocess.PIPE, stderr=w, env=env)
    os.close(w)
    out = p.stdout.read().decode()
    finish(p)
    if p.returncode != 0 or out.splitlines() != ["malloc fail ENOMEM"] * 2:
        fail("rc %s (negative: killed by that signal), output %r" % (p.returncode, out))
    print("PASS stderr a pipe without reader: both failures returned, program not killed by SIGPIPE, exit 0")
EOF
for mode in blocking nonblocking noreader; do
	timeout -k 5 "$DEADLINE" python3 "$T/fullpipe.py" "$SO" "$PROBE" $mode 20 >"$T/fp.$mode" 2>&1
	if grep -q '^PASS ' "$T/fp.$mode"; then ok "$(sed -n 's/^PASS //p' "$T/fp.$mode")"
	else nok "stderr pipe, $mode: $(sed -n 's/^FAIL //p' "$T/fp.$mode")"; show "$T/fp.$mode"; fi
done

# 20. Bootstrap buffer (the memory dlsym gets before malloc is resolved).
if timeout "$DEADLINE" "$BOOT" >"$T/boot.out" 2>&1; then ok "bootstrap buffer: free ignores, realloc moves out, usable_size reads back ($(tail -n1 "$T/boot.out"))"
else nok "bootstrap buffer"; show "$T/boot.out"; fi
# free() becomes one jump to the real free only when no caller was told
# "not yet" (and so may hold bootstrap memory) during resolution.
for mode in alone nested thread; do
	timeout "$DEADLINE" "$INIT" "$mode" >"$T/init.$mode" 2>&1
	if grep -q '^PASS ' "$T/init.$mode"; then ok "initialisation, $(sed -n 's/^PASS //p' "$T/init.$mode")"
	else nok "initialisation, $mode"; show "$T/init.$mode"; fi
done

# The context reader on fixture trees: v2, hybrid, namespaces, junk (the
# host is v1-only, the guest case covers a real v2).
mkdir "$T/ctx"
timeout "$DEADLINE" "$CTX" "$T/ctx" >"$T/ctx.out" 2>&1
while read -r verdict rest; do
	case $verdict in
	ok) ok "context reader, fixture: $rest" ;;
	FAIL) nok "context reader, fixture: $rest" ;;
	*) nok "context reader: $verdict $rest" ;;
	esac
done <"$T/ctx.out"
[ -s "$T/ctx.out" ] || nok "context reader printed nothing"

# 21. C++ operator new reaches malloc through libstdc++.
if command -v g++ >/dev/null; then
	cat >"$T/newprobe.cc" <<'EOF'
#include <cstdio>
#include <new>
int main()
{
	char *volatile p = new char[80 << 20];
	p[0] = 1;
	delete[] p;
	char *volatile q = new (std::nothrow) char[1ull << 46];
	std::printf("nothrow %s\n", q ? "ok" : "null");
	try {
		char *volatile r = new char[1ull << 46];
		r[0] = 1;
		std::printf("throw none\n");
	} catch (const std::bad_alloc &) {
		std::printf("bad_alloc\n");
	}
}
EOF
	if g++ -O1 -o "$T/newprobe" "$T/newprobe.cc" 2>"$T/gxx.err"; then
		(shim cxx "$T/newprobe")
		line=$(grep ' event=large function=malloc size=83886080 ' "$T/cxx.err")
		nf=$(echo "$line" | sed -n 's/.* backtrace=//p' | tr ',' '\n' | grep -c .)
		if grep -qx 'nothrow null' "$T/cxx.out" && grep -qx bad_alloc "$T/cxx.out" && [ "$nf" -ge 3 ] &&
			echo "$line" | grep -q 'backtrace=[^,]*:/[^,]*/libstdc++[^,]*,[^,]*:'"$T"'/newprobe+' &&
			[ "$(count "$T/cxx.err" ' event=failure function=malloc size=70368744177664 ')" = 2 ]; then
			ok "C++ new[80M] reported via malloc with operator new (libstdc++) then the caller; both failing news reported"
		else nok "C++ new"; show "$T/cxx.out" "$T/cxx.err"; fi
	else
		nok "C++ test program does not compile"; show "$T/gxx.err"
	fi
else
	skip "C++ new" "g++ not installed"
fi

# 22. Secure execution: a setuid-root copy run by nobody ignores MEMGUARD_*
# and never writes to MEMGUARD_LOG's path.
# In secure-execution mode no line carries an absolute address: a caller
# who can make a setuid program's allocation fail (ulimit -v) reads its
# stderr, and an address there (executable, libc, heap) defeats ASLR.
# Runs the setuid probe of secure_test ($S) as uid 65534.
secure_addresses_test() {
	as_nobody() { timeout "$DEADLINE" setpriv --reuid=65534 --regid=65534 --clear-groups "$S/suidprobe" "$@"; }
	: >"$T/suidaddr.out"
	: >"$T/suidaddr.err"
	(as_nobody each 80M) >>"$T/suidaddr.out" 2>>"$T/suidaddr.err"
	(ulimit -v 1048576 && as_nobody malloc 80M 2G) >>"$T/suidaddr.out" 2>>"$T/suidaddr.err"
	(as_nobody mprotect-data 64M 256M) >>"$T/suidaddr.out" 2>>"$T/suidaddr.err"
	cat >"$T/check_secure.py" <<'EOF'
import re, sys
err, out = open(sys.argv[1]).read(), open(sys.argv[2]).read()
bad = []
for line in err.splitlines():
    if not line.startswith("memguard: "):
        bad.append("not a report line: " + line[:100])
    for k in ("result", "old", "addr"):
        m = re.search(r" %s=(\S+)" % k, line)
        if m and not re.fullmatch(r"NULL|MAP_FAILED|-1|[0-9]+", m.group(1)):
            bad.append("%s=%s" % (k, m.group(1)))
    m = re.search(r" backtrace=(\S+)", line)
    for f in (m.group(1).split(",") if m and m.group(1) != "-" else []):
        if not re.fullmatch(r"\?|[^:]+\+0x[0-9a-f]+(:[^,]+\+0x[0-9a-f]+)?", f) or f.startswith("0x"):
            bad.append("frame " + f)
    # Offsets into a module are small; mapped addresses are not.
    for h in re.findall(r"0x([0-9a-f]+)", line):
        if int(h, 16) >= 1 << 24:
            bad.append("0x" + h)
for h in set(re.findall(r"0x([0-9a-f]{5,})", out)):
    if h in err:
        bad.append("the program's pointer 0x%s is in the log" % h)
print("\n".join(bad) if bad else "clean")
EOF
	python3 "$T/check_secure.py" "$T/suidaddr.err" "$T/suidaddr.out" >"$T/suidaddr.chk" 2>&1
	if [ "$(cat "$T/suidaddr.chk")" = clean ] &&
		[ "$(count "$T/suidaddr.err" ' event=large ')" = 13 ] && [ "$(count "$T/suidaddr.out" ' ok 0x')" -ge 13 ] &&
		[ "$(count "$T/suidaddr.err" ' event=large function=realloc size=83886080 errno=0 modules=[^ ]+ backtrace=/[^ ]*/suidprobe\+0x| event=large function=mremap size=83886080 old_size=4096 errno=0 ')" = 2 ] &&
		[ "$(count "$T/suidaddr.err" ' event=failure function=malloc size=2147483648 result=NULL errno=12 error=ENOMEM overcommit=.* rlimit_as=1073741824 .* backtrace=[^0]')" = 1 ]; then
		ok "setuid program run by uid 65534, failing under ulimit -v: no address in any line (no result=/old=/addr= pointers, frames module+offset only)"
	else nok "setuid program: addresses in its reports"; show "$T/suidaddr.chk" "$T/suidaddr.err" "$T/suidaddr.out"; fi
	if grep -qx 'mprotect fail ENOMEM' "$T/suidaddr.out"; then
		if [ "$(count "$T/suidaddr.err" ' event=failure function=mprotect size=268435456 prot=3 result=-1 errno=12 ')" = 1 ]; then
			ok "setuid program: mprotect ENOMEM reported without addr="
		else nok "setuid program: mprotect ENOMEM reported without addr="; show "$T/suidaddr.err"; fi
	else
		skip "setuid program: mprotect ENOMEM reported without addr=" "this kernel lets mprotect exceed RLIMIT_DATA"
	fi
}

secure_test() {
	[ "$(id -u)" = 0 ] || { skip "secure-execution mode" "needs root to make a setuid-root program"; return; }
	command -v setpriv >/dev/null || { skip "secure-execution mode" "setpriv not installed"; return; }
	S=$(mktemp -d /tmp/mgpreload-suid.XXXXXX) || return
	chmod 755 "$S"
	mkdir -m 755 "$S/private"
	cp "$SO" "$S/libmemguard-preload.so"
	# LD_PRELOAD is ignored for setuid programs: link the shim in (an
	# absolute DT_NEEDED is honoured in secure mode).
	if ! cc -D_GNU_SOURCE -O1 -o "$S/suidprobe" "$TOP/tests/tools/preload_probe.c" "$S/libmemguard-preload.so" -lpthread 2>"$T/suidcc.err"; then
		nok "secure-execution: cannot build the setuid probe"; show "$T/suidcc.err"; rm -rf "$S"; return
	fi
	chown root:root "$S/suidprobe" && chmod 4755 "$S/suidprobe"
	MEMGUARD_LOG="$S/private/evil.log" MEMGUARD_THRESHOLD=1K MEMGUARD_FORMAT=json \
		timeout "$DEADLINE" setpriv --reuid=65534 --regid=65534 --clear-groups "$S/suidprobe" secure 80M \
		>"$T/suid.out" 2>"$T/suid.err"
	if ! grep -qx 'secure 1 euid 0' "$T/suid.out"; then
		skip "secure-execution mode" "setuid did not take effect here ($(head -n1 "$T/suid.out" 2>/dev/null || echo no output); nosuid mount or no_new_privs?)"
	elif [ ! -e "$S/private/evil.log" ] && [ "$(count "$T/suid.err" '^memguard: .* event=large function=malloc size=83886080 ')" = 1 ] &&
		[ "$(count "$T/suid.err" ' size=4096 ')" = 0 ]; then
		ok "setuid program run by uid 65534 (AT_SECURE=1): MEMGUARD_LOG, THRESHOLD, FORMAT ignored; report on stderr, no file written"
	else nok "secure-execution mode"; show "$T/suid.out" "$T/suid.err"; ls -la "$S/private" | sed 's/^/# /'; fi
	grep -qx 'secure 1 euid 0' "$T/suid.out" && secure_addresses_test
	rm -rf "$S"
}
secure_test

# 23. syslog: our own datagram to /dev/log (a private one in a mount
# namespace, with a python3 listener).
syslog_test() {
	command -v unshare >/dev/null || { skip "MEMGUARD_LOG=syslog" "unshare not installed"; return; }
	[ "$(id -u)" = 0 ] || { skip "MEMGUARD_LOG=syslog" "needs root for a private /dev/log"; return; }
	cat >"$T/listen.py" <<'EOF'
import socket, sys, time
path, out, want, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(out + ".ready", "w").close()
got, end = [], time.time() + secs
while len(got) < want and time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        got.append(s.recv(65536).decode("utf-8", "replace"))
    except socket.timeout:
        break
open(out, "w").write("".join(g + "\n" for g in got))
EOF
	# syslog.sh NAME WANT PROGRAM ARGS...: in a private mount namespace,
	# /dev a tmpfs with null, zero, urandom, random and, with WANT > 0, a
	# listener at /dev/log taking WANT datagrams into NAME.txt; with WANT 0
	# there is no /dev/log. PROGRAM runs with MEMGUARD_LOG=syslog.
	cat >"$T/syslog.sh" <<'EOF'
set -u
T=$1 SO=$2 DL=$3 NAME=$4 WANT=$5
shift 5
mkdir "$T/olddev.$NAME" && mount --bind /dev "$T/olddev.$NAME" || exit 3
mount -t tmpfs -o mode=755 tmpfs /dev || exit 3
for d in null zero urandom random; do : >"/dev/$d"; mount --bind "$T/olddev.$NAME/$d" "/dev/$d"; done
if [ "$WANT" -gt 0 ]; then
	python3 "$T/listen.py" /dev/log "$T/$NAME.txt" "$WANT" "$DL" &
	lp=$!
	i=0
	while [ ! -e "$T/$NAME.txt.ready" ] && [ $i -lt 500 ]; do i=$((i + 1)); sleep 0.01; done
	[ -e "$T/$NAME.txt.ready" ] || exit 4
else
	[ ! -e /dev/log ] || exit 5
	: >"$T/$NAME.txt.ready"
fi
MEMGUARD_LOG=syslog LD_PRELOAD=$SO timeout "$DL" "$@" >"$T/$NAME.out" 2>"$T/$NAME.err"
echo $? >"$T/$NAME.rc"
[ "$WANT" -gt 0 ] && wait $lp
exit 0
EOF
	# in_ns NAME WANT PROGRAM ARGS...: false when no private /dev/log can be had.
	in_ns() {
		timeout -k 5 "$DEADLINE" unshare --mount --propagation private sh "$T/syslog.sh" "$T" "$SO" 20 "$@" >"$T/$1.sh.out" 2>&1
		[ -e "$T/$1.txt.ready" ]
	}
	if ! (export MEMGUARD_FAIL_ABOVE=100M; in_ns sl 3 "$PROBE" malloc 80M 200M); then
		why="no private /dev/log here (unshare/mount refused: $(tail -n1 "$T/sl.sh.out"))"
		skip "MEMGUARD_LOG=syslog" "$why"
		skip "MEMGUARD_LOG=syslog, socket number taken over" "$why"
		if [ -e /dev/log ] || [ -L /dev/log ]; then
			skip "MEMGUARD_LOG=syslog without /dev/log" "$why, and this host has one"
		else
			(export MEMGUARD_LOG=syslog MEMGUARD_FAIL_ABOVE=100M; shim slnone "$PROBE" malloc 80M 200M)
			syslog_missing_check
		fi
		return
	fi
	if [ "$(count "$T/sl.txt" '^<12>memguard\[[0-9]+\]: [0-9T:.Z-]+ pid=[0-9]+ .* event=large function=malloc size=83886080 ')" = 1 ] &&
		[ "$(count "$T/sl.txt" '^<11>memguard\[[0-9]+\]: .* event=failure function=malloc size=209715200 .* overcommit=')" = 1 ] &&
		[ "$(count "$T/sl.txt" '^<12>memguard\[[0-9]+\]: .* event=summary large=1 failures=1 ')" = 1 ] && [ ! -s "$T/sl.err" ]; then
		ok "MEMGUARD_LOG=syslog: 3 datagrams on /dev/log (large <12>, failure <11>, summary), nothing on stderr"
	else nok "MEMGUARD_LOG=syslog"; show "$T/sl.txt" "$T/sl.err" "$T/sl.sh.out"; fi

	# The program takes the socket's number for its database: the
	# database stays the program's (written to, not closed), and the
	# reports reach /dev/log over a new socket.
	in_ns slfd 3 "$PROBE" fd-reuse "$T/slfd.db" 80M
	if [ "$(cat "$T/slfd.rc")" = 0 ] && grep -qx 'database write ok' "$T/slfd.out" &&
		[ "$(od -An -c "$T/slfd.db" | tr -d ' \n')" = 'db\nend\n' ] &&
		[ "$(count "$T/slfd.txt" '^<12>memguard\[[0-9]+\]: .* event=large function=malloc size=83886080 ')" = 2 ] &&
		[ "$(count "$T/slfd.txt" '^<12>memguard\[[0-9]+\]: .* event=summary large=2 .* lost=0$')" = 1 ] && [ ! -s "$T/slfd.err" ]; then
		ok "MEMGUARD_LOG=syslog, the program's database gets the socket's number: database untouched and open, reports on /dev/log"
	else nok "syslog socket number taken over by the program"; show "$T/slfd.out" "$T/slfd.db" "$T/slfd.txt" "$T/slfd.err"; fi

	(export MEMGUARD_FAIL_ABOVE=100M; in_ns slnone 0 "$PROBE" malloc 80M 200M)
	syslog_missing_check
}

# No /dev/log at all: the lines go to stderr as they would there, each
# whole and with its "memguard:" prefix. Reads slnone.err, slnone.rc.
syslog_missing_check() {
	if [ "$(cat "$T/slnone.rc" 2>/dev/null)" = 0 ] && [ "$(grep -c . "$T/slnone.err")" = 3 ] &&
		[ "$(count "$T/slnone.err" '^memguard: [0-9T:.Z-]+ pid=[0-9]+ .* event=(large|failure|summary) ')" = 3 ] &&
		[ "$(count "$T/slnone.err" ' event=failure function=malloc size=209715200 ')" = 1 ]; then
		ok "MEMGUARD_LOG=syslog without /dev/log: the 3 lines on stderr, each with its 'memguard:' prefix"
	else nok "MEMGUARD_LOG=syslog without /dev/log: prefix kept"; show "$T/slnone.err" "$T/slnone.sh.out"; fi
}
syslog_test

# 24. Real programs: the same output and exit status with the shim as
# without, with a threshold low enough that they are reported.
# same NAME CMD...: CMD plain, then under the shim (MEMGUARD_THRESHOLD=1M,
# log in a file); both within the deadline, outputs and statuses compared.
same() {
	_n=$1
	shift
	timeout -k 5 "$DEADLINE" "$@" >"$T/$_n.plain.out" 2>"$T/$_n.plain.err" </dev/null
	_p=$?
	(export MEMGUARD_THRESHOLD=1M MEMGUARD_LOG="$T/$_n.%p.log"; shim "$_n" "$@" </dev/null)
	_s=$(rc "$_n")
	if [ "$_p" = "$_s" ] && [ "$_s" != 124 ] && [ "$_s" -lt 128 ] && cmp -s "$T/$_n.plain.out" "$T/$_n.out" &&
		cmp -s "$T/$_n.plain.err" "$T/$_n.err"; then
		return 0
	fi
	echo "# $_n: status plain $_p, shim $_s; output $(cmp "$T/$_n.plain.out" "$T/$_n.out" 2>&1 | head -n1)"
	return 1
}
logs() { cat "$T/$1".*.log 2>/dev/null; }
if command -v python3 >/dev/null; then
	if same py python3 -c '
import hashlib, json
d = {str(i): [i] * 50 for i in range(20000)}
blob = json.dumps(d).encode() * 8
big = bytearray(64 << 20)
print(hashlib.sha256(blob + bytes(big[:1000])).hexdigest(), len(blob))
try:
    bytearray(1 << 46)
except MemoryError:
    print("MemoryError")
' && [ "$(logs py | grep -c ' event=large ')" -ge 1 ] && [ "$(logs py | grep -c ' event=failure ')" -ge 1 ]; then
		ok "python3 workload (json, hashlib, a 64M bytearray, a MemoryError): same output and status, large and failure reported"
	else nok "python3 workload under the shim"; fi
else skip "python3 workload under the shim" "python3 not installed"; fi
if command -v perl >/dev/null; then
	if same perl perl -e 'my @a = map { $_ * 2 } 1 .. 500000; my $s = "x" x (40 << 20); my %h = map { $_ => 1 } @a;
		print scalar(@a), " ", length($s), " ", scalar(keys %h), "\n"; exit 7' &&
		[ "$(rc perl)" = 7 ] && [ "$(logs perl | grep -c ' event=large ')" -ge 1 ]; then
		ok "perl (arrays, a 40M string, a hash): same output and exit status 7, large allocations reported"
	else nok "perl under the shim"; fi
else skip "perl under the shim" "perl not installed"; fi
awk 'BEGIN { srand(7); for (i = 0; i < 400000; i++) printf "%08d %s\n", int(rand() * 1e8), "line" i }' >"$T/big.txt"
if same sort sort -S 16M "$T/big.txt" && [ "$(wc -l <"$T/sort.out")" = 400000 ]; then
	ok "sort of a 400,000-line file ($(wc -c <"$T/big.txt") bytes): output identical, status 0"
else nok "sort under the shim"; fi
cat >"$T/vec.cc" <<'EOF'
#include <cstdio>
#include <map>
#include <string>
#include <vector>
int main()
{
	std::vector<std::string> v;
	std::map<int, std::vector<int> > m;
	unsigned long sum = 0;
	for (int i = 0; i < 200000; i++) {
		v.push_back(std::to_string(i * 7));
		m[i % 1000].push_back(i);
	}
	std::vector<char> *big = new std::vector<char>(96 << 20, 'a');
	for (auto &s : v)
		sum += s.size();
	std::printf("%zu %zu %lu %zu\n", v.size(), m.size(), sum, big->size());
	delete big;
	return 5;
}
EOF
if command -v g++ >/dev/null && g++ -O1 -o "$T/vec" "$T/vec.cc" 2>"$T/vec.cc.err"; then
	if same cxx2 "$T/vec" && [ "$(rc cxx2)" = 5 ] && [ "$(logs cxx2 | grep -c ' event=large ')" -ge 1 ]; then
		ok "C++ program (new, vector, map, string): same output and exit status 5, the 96M new reported"
	else nok "C++ program under the shim"; fi
else skip "C++ program under the shim" "g++ not installed or the program does not build"; fi

# stress-ng's malloc and bigheap stressors under ulimit -v: allocations
# fail for real; no crash, no hang, the same exit status as without the
# shim, no line lost. (Their output has timings: not compared.)
if command -v stress-ng >/dev/null; then
	for st in malloc bigheap; do
		opts="--$st 2 --timeout 3s"
		[ $st = malloc ] && opts="$opts --malloc-bytes 256M"
		(ulimit -v 1000000; timeout -k 5 "$DEADLINE" stress-ng $opts >"$T/sng-$st.plain" 2>&1)
		p=$?
		(ulimit -v 1000000; export MEMGUARD_LOG="$T/sng-$st.%p.log"
		 timeout -k 5 "$DEADLINE" sh -c 'LD_PRELOAD="$0" exec "$@"' "$SO" stress-ng $opts >"$T/sng-$st.out" 2>&1)
		s=$?
		f=$(cat "$T"/sng-$st.*.log 2>/dev/null | grep -c ' event=failure ')
		lost=$(cat "$T"/sng-$st.*.log 2>/dev/null | sed -n 's/.* lost=\([0-9]*\)$/\1/p' | awk '{ s += $1 } END { print s + 0 }')
		if [ "$p" = "$s" ] && [ "$s" -lt 124 ] && [ "$lost" = 0 ] && { [ $st = malloc ] || [ "$f" -ge 1 ]; }; then
			ok "stress-ng --$st under ulimit -v: exit $s as without the shim, no crash or hang, $f failures logged, none lost"
		else nok "stress-ng --$st under ulimit -v (plain $p, shim $s, $f failure lines, lost $lost)"
			tail -n 5 "$T/sng-$st.out" | sed 's/^/# /'; fi
	done
else
	skip "stress-ng --malloc and --bigheap under the shim" "stress-ng not installed (make deps)"
fi

# 25. Stress: 8 threads failing allocations, 300 forks meanwhile, a 1 kHz
# SIGALRM interrupting every write: no deadlock (deadline), every failure
# reported once, none lost.
(export MEMGUARD_FAIL_ABOVE=1M MEMGUARD_LOG="$T/stress.log"; shim stress "$STRESS" 8 150 300)
parent=$(grep ' event=summary large=0 failures=1200 ' "$T/stress.log" 2>/dev/null | sed -n 's/.* pid=\([0-9]*\) .*/\1/p')
pf=$(grep -c " pid=$parent .* event=failure function=malloc size=2097152 " "$T/stress.log" 2>/dev/null)
cf=$(grep ' event=failure function=malloc size=2097152 ' "$T/stress.log" | grep -vc " pid=$parent ")
cs=$(grep ' event=summary large=0 failures=1 ' "$T/stress.log" | grep -c ' lost=0$')
if [ "$(rc stress)" = 0 ] && grep -qx 'failed 1200' "$T/stress.out" && grep -qx 'children 300' "$T/stress.out" &&
	[ -n "$parent" ] && [ "$pf" = 1200 ] && [ "$cf" = 300 ] && [ "$cs" = 300 ] &&
	grep -q " pid=$parent .* event=summary large=0 failures=1200 .* lost=0\$" "$T/stress.log"; then
	ok "8 threads x 150 failing mallocs, 300 forks meanwhile, 1 kHz SIGALRM ($(sed -n 's/^signals //p' "$T/stress.out") signals): 1200 + 300 failure lines, every summary lost=0, no hang"
else nok "threads, forks and signals (rc $(rc stress), parent '$parent' $pf failure lines, children $cf lines and $cs summaries)"
	show "$T/stress.out" "$T/stress.err"; fi

echo "# $n tests; shim $SO"
[ $failed = 0 ]
