#!/bin/sh
# memguardctl status and metrics over 1,000 live session groups (50 users
# with 20 sessions each, in a memguard tree of its own below this
# process's memory cgroup), against the target of 200 ms per command,
# next to a floor: cat of the files status reads for each group.
#
#   sh bench/live-bench.sh BUILD_DIR        ('make bench')
#
# Environment: BENCH_RUNS (samples per command, default 11), BENCH_USERS
# and BENCH_SESSIONS (default 50 and 20), CC (for the timer).
# A benchmark, not a test: exit 0 whatever the numbers (OVER marks a
# command above the target); it says why and exits 0 when it cannot run
# (it needs root and a cgroup memory controller it may write below).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
ctl="$build/memguardctl"
runs=${BENCH_RUNS:-11}
users=${BENCH_USERS:-50}
per=${BENCH_SESSIONS:-20}
target_ms=200

[ -x "$ctl" ] || { echo "live-bench: $ctl not built (run make)" >&2; exit 2; }
rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)
own=/sys/fs/cgroup/memory$rel
[ -n "$rel" ] && [ -f "$own/memory.limit_in_bytes" ] || own=/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
if [ "$(id -u)" != 0 ] || [ ! -w "$own" ]; then
	echo "live-bench: skipped: needs root and a memory cgroup to write below ($own)"
	exit 0
fi

timer="$build/bench/timeit"
mkdir -p "$build/bench"
if [ ! -x "$timer" ] || [ "$top/bench/timeit.c" -nt "$timer" ]; then
	${CC:-cc} -O2 -o "$timer" "$top/bench/timeit.c" 2>/dev/null || { echo "live-bench: cannot build the timer" >&2; exit 2; }
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/memguard-livebench.XXXXXX") || exit 2
base=$own/mglivebench-$$/memguard
cleanup() {
	[ -d "$own/mglivebench-$$" ] && find "$own/mglivebench-$$" -depth -type d -exec rmdir {} + 2>/dev/null
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$base" || exit 2
printf '* memory.max=1G session.memory.max=512M\n' >"$scratch/p.conf"
printf 'UID_MIN 1000\n' >"$scratch/login.defs"
u=0
while [ $u -lt "$users" ]; do
	s=0
	mkdir "$base/user-$((20000 + u))"
	while [ $s -lt "$per" ]; do
		# Named as the module names them, with an owner long gone.
		mkdir "$base/user-$((20000 + u))/session-$((4000000 + u * per + s))-1"
		s=$((s + 1))
	done
	u=$((u + 1))
done
n=$(find "$base" -mindepth 2 -maxdepth 2 -type d | wc -l)

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
measure() { # LABEL CMD...
	label=$1; shift
	i=0
	: >"$scratch/samples"
	while [ $i -lt "$runs" ]; do
		"$timer" "$@" | awk '{print $1}' >>"$scratch/samples"
		i=$((i + 1))
	done
	us=$(median <"$scratch/samples")
	ms=$(awk -v u="$us" 'BEGIN {printf "%.1f", u / 1000}')
	echo "$label $ms"
}

common="--login-defs $scratch/login.defs --policy $scratch/p.conf --cgroup-root $base --pam-dir $scratch"
st=$(measure status "$ctl" $common --json status)
me=$(measure metrics "$ctl" $common metrics --sessions)
fl=$(measure floor sh -c "cat $base/user-*/session-*/memory.usage_in_bytes $base/user-*/session-*/memory.limit_in_bytes $base/user-*/session-*/memory.failcnt $base/user-*/session-*/cgroup.procs >/dev/null")
printf '%-40s %10s %8s\n' "memguardctl over $n session groups" "median ms" "target"
for row in "$st" "$me"; do
	set -- $row
	mark=$(awk -v m="$2" -v t="$target_ms" 'BEGIN {print (m > t) ? "OVER" : "ok"}')
	printf '%-40s %10s %8s %s\n' "$1 ($runs runs)" "$2" "$target_ms" "$mark"
done
set -- $fl
printf '%-40s %10s %8s\n' "floor: cat of 4 files per session" "$2" "-"
