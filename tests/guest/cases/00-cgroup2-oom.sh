#!/bin/bash
# Harness self-test: the guest has a real cgroup v2 memory controller that
# OOM-kills a process over memory.max, and root holds CAP_SYS_RESOURCE.
set -u
fail() { echo "FAIL: $*"; exit 1; }

hog=${MEMGUARD_GUEST_BIN:-}/hog
[ -x "$hog" ] || { echo "no hog program in MEMGUARD_GUEST_BIN (cc missing?)"; exit 77; }

cgroot=/sys/fs/cgroup
fstype=$(stat -f -c %T "$cgroot")
[ "$fstype" = cgroup2fs ] || fail "$cgroot is $fstype, not cgroup2"
echo "controllers: $(cat $cgroot/cgroup.controllers)"
grep -qw memory $cgroot/cgroup.controllers || fail "no memory controller"
grep -qw memory $cgroot/cgroup.subtree_control || fail "memory not enabled in the root's subtree_control"

top=$cgroot/memguard-selftest.$$
cg=$top/hog
cleanup() {
	[ -d "$cg" ] && { echo 1 >"$cg/cgroup.kill" 2>/dev/null; rmdir "$cg" 2>/dev/null; }
	[ -d "$top" ] && rmdir "$top" 2>/dev/null
}
trap cleanup EXIT

mkdir "$top" || fail "mkdir $top"
echo +memory >"$top/cgroup.subtree_control" || fail "cannot enable +memory in $top"
mkdir "$cg" || fail "mkdir $cg"
echo 64M >"$cg/memory.max" || fail "cannot write memory.max"
[ "$(cat "$cg/memory.max")" = 67108864 ] || fail "memory.max reads $(cat "$cg/memory.max")"
if [ -e "$cg/memory.swap.max" ]; then
	echo 0 >"$cg/memory.swap.max" || fail "cannot write memory.swap.max"
else
	echo "note: no memory.swap.max (swap accounting off); guest has no swap"
fi
grep -q '^oom_kill 0$' "$cg/memory.events" || fail "fresh group has oom_kill != 0"

# The hog moves itself into the group, then allocates and touches 200 MiB.
timeout 60 bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" 200' hog "$cg" "$hog"
rc=$?
echo "hog exit status: $rc"
echo "memory.events: $(tr '\n' ' ' <"$cg/memory.events")"
[ -e "$cg/memory.peak" ] && echo "memory.peak: $(cat "$cg/memory.peak")"
[ $rc = 137 ] || fail "hog was not SIGKILLed (status $rc, expected 137)"
kills=$(sed -n 's/^oom_kill //p' "$cg/memory.events")
[ "${kills:-0}" -ge 1 ] || fail "memory.events oom_kill is ${kills:-missing}, expected >= 1"
grep -q . "$cg/cgroup.procs" && fail "processes left in the group"
rmdir "$cg" || fail "rmdir $cg"
rmdir "$top" || fail "rmdir $top"
echo "oom_kill: $kills"

# CAP_SYS_RESOURCE: lowering oom_score_adj below 0 needs it.
capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
(( (0x$capeff >> 24) & 1 )) || fail "CapEff $capeff lacks CAP_SYS_RESOURCE"
adj=$(sh -c 'echo -500 >/proc/self/oom_score_adj && cat /proc/self/oom_score_adj') \
	|| fail "cannot write oom_score_adj -500"
[ "$adj" = -500 ] || fail "oom_score_adj reads '$adj', expected -500"
echo "oom_score_adj -500: ok (CapEff $capeff)"
