#!/bin/bash
# Strict overcommit (vm.overcommit_memory=2, inside the guest only) under
# libmemguard-preload.so: a malloc above CommitLimit fails with ENOMEM (the
# program goes on, no OOM kill) and the shim's report of that failure names
# mode 2 and the CommitLimit and Committed_AS that /proc/meminfo shows, and
# the v2 memory cgroup the program runs in with its memory.max.
set -u
fail() { echo "FAIL: $*"; exit 1; }
info() { echo "$*"; }

BUILD=${BUILD:-build}
so=$MEMGUARD_TOP/$BUILD/libmemguard-preload.so
# The dynamic probe from the host build: the helpers/ programs are static,
# and LD_PRELOAD does nothing to a static program.
probe=$MEMGUARD_TOP/$BUILD/tests/tools/preload_probe
[ -f "$so" ] || { echo "$so not built (make first)"; exit 77; }
[ -x "$probe" ] || { echo "$probe not built (make check-guest builds it)"; exit 77; }
[ "${MEMGUARD_IN_GUEST:-}" = 1 ] || fail "refusing to change vm.overcommit_memory outside the guest"

meminfo() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/meminfo; }
log=${MEMGUARD_ARTIFACTS:-$TMPDIR}/preload.log
cg=/sys/fs/cgroup/mgpreload
old=$(cat /proc/sys/vm/overcommit_memory)
restore() {
	echo "$old" >/proc/sys/vm/overcommit_memory
	[ -d "$cg" ] && { while read -r p; do echo "$p" >/sys/fs/cgroup/cgroup.procs; done <"$cg/cgroup.procs"; rmdir "$cg"; }
}
trap restore EXIT

mkdir "$cg" || fail "cannot create $cg"
echo $((512 << 20)) >"$cg/memory.max" || fail "cannot set $cg/memory.max"

# under_shim ARGS...: the probe in $cg, preloaded, reports to $log.
under_shim() {
	timeout 60 sh -c 'echo $$ >"$0/cgroup.procs" && MEMGUARD_LOG="$1" LD_PRELOAD="$2" exec "$3" malloc "$4"' \
		"$cg" "$log" "$so" "$probe" "$@"
}

echo 2 >/proc/sys/vm/overcommit_memory || fail "cannot set vm.overcommit_memory=2"
[ "$(cat /proc/sys/vm/overcommit_memory)" = 2 ] || fail "vm.overcommit_memory did not stick"
limit=$(meminfo CommitLimit)
want=$((limit + 65536))
info "CommitLimit: $limit kB, Committed_AS: $(meminfo Committed_AS) kB; asking for $want KiB"

out=$(under_shim 16M)
rc=$?
[ $rc = 0 ] && [ "${out%% *}" = malloc ] && case $out in *" ok "*) true ;; *) false ;; esac \
	|| fail "a 16 MiB malloc under the shim in strict mode: status $rc, '$out'"
[ ! -s "$log" ] || { cat "$log"; fail "the shim reported a 16 MiB malloc"; }

committed_before=$(meminfo Committed_AS)
out=$(under_shim "${want}K")
rc=$?
case $rc in
0) ;;
137) fail "the probe was SIGKILLed instead of getting ENOMEM" ;;
*) fail "the probe ended with status $rc ($out)" ;;
esac
[ "$out" = "malloc fail ENOMEM" ] || fail "malloc(${want} KiB) above CommitLimit: the program saw '$out', not ENOMEM"
info "program: $out"
committed=$(meminfo Committed_AS)
sed 's/^/    log: /' "$log"

line=$(grep ' event=failure function=malloc ' "$log")
[ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] || fail "expected one failure report, got: $line"
get() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
[ "$(get size)" = $((want * 1024)) ] || fail "size=$(get size), expected $((want * 1024))"
[ "$(get errno)" = 12 ] && [ "$(get error)" = ENOMEM ] || fail "errno=$(get errno) error=$(get error)"
[ -z "$(get injected)" ] || fail "the failure is marked injected"
[ "$(get overcommit)" = 2 ] || fail "overcommit=$(get overcommit), expected 2"
cl=$(get commit_limit_kb)
ca=$(get committed_as_kb)
# Same order of magnitude as /proc/meminfo. CommitLimit does not move:
# within a factor of 2. Committed_AS includes the probe itself while it
# runs (a few MB more with the UBSan runtime, on a guest baseline of ~5 MB):
# within a factor of 4 of the readings just before and after.
close() { [ -n "$1" ] && [ "$1" -gt 0 ] && [ $(($1 * $3)) -ge "$2" ] && [ "$1" -le $(($2 * $3)) ]; }
close "$cl" "$limit" 2 || fail "commit_limit_kb=$cl, /proc/meminfo CommitLimit $limit kB"
close "$ca" "$committed_before" 4 && close "$ca" "$committed" 4 ||
	fail "committed_as_kb=$ca, /proc/meminfo Committed_AS $committed_before kB before, $committed kB after"
[ "$(get cgroup_version)" = 2 ] && [ "$(get cgroup)" = /mgpreload ] ||
	fail "cgroup_version=$(get cgroup_version) cgroup=$(get cgroup), expected 2 /mgpreload"
[ "$(get cgroup_limit)" = $((512 << 20)) ] || fail "cgroup_limit=$(get cgroup_limit), expected memory.max $((512 << 20))"
case $(get cgroup_usage) in '' | *[!0-9]*) fail "cgroup_usage=$(get cgroup_usage)" ;; esac
tail -n 1 "$log" | grep -q ' event=summary large=0 failures=1 ' || fail "no summary line last"
k=$(sed -n 's/^oom_kill //p' "$cg/memory.events")
[ "$k" = 0 ] || fail "$cg memory.events oom_kill is $k"
info "ok: mode 2, commit_limit_kb=$cl (meminfo $limit), committed_as_kb=$ca (meminfo $committed_before..$committed), memory.max in the report"
exit 0
