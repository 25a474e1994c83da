#!/bin/bash
# Runs inside the guest, chrooted into the host root (mounted read-only).
# Usage: guest-runner.sh RESULTS_DIR CASE...
# Writes, for each case NAME: RESULTS_DIR/cases/NAME.{status,out,time};
# RESULTS_DIR/timing, RESULTS_DIR/dmesg.txt and finally RESULTS_DIR/done.
set -u
res=$1
shift
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C
umask 022

mark() {
	echo "<3>memguard-guest: $*" >/dev/kmsg 2>/dev/null
	echo "memguard-guest: $*"
}
now() { cut -d' ' -f1 /proc/uptime; }

mkdir -p "$res/cases"
echo "runner_start=$(now)" >"$res/timing"

# The cgroup2 hierarchy is mounted by /init; give children memory and pids.
{
	echo "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>&1)"
	for c in memory pids; do
		echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "cannot enable +$c"
	done
	echo "cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control 2>&1)"
	echo "BUILD=${BUILD:-build}"
} >"$res/runner.log" 2>&1

timeout_s=${MEMGUARD_CASE_TIMEOUT:-120}
first=1
for c in "$@"; do
	name=${c##*/}
	name=${name%.sh}
	scratch=$(mktemp -d /tmp/memguard-case.XXXXXX)
	art=$res/cases/$name.d
	mkdir -p "$art"
	t0=$(now)
	if [ $first = 1 ]; then
		echo "first_case=$t0" >>"$res/timing"
		first=0
	fi
	mark "case $name: start"
	if [ -x "$c" ]; then cmd=("$c"); else cmd=(/bin/bash "$c"); fi
	# A case may ask for a longer deadline: "# memguard-guest: timeout=N".
	case_t=$(head -n 5 "$c" | sed -n 's/^# memguard-guest: timeout=\([0-9][0-9]*\)$/\1/p' | head -n1)
	t=$timeout_s
	[ -n "$case_t" ] && [ "$case_t" -gt "$t" ] && t=$case_t
	(
		cd "$scratch" || exit 1
		export MEMGUARD_SCRATCH=$scratch MEMGUARD_ARTIFACTS=$art MEMGUARD_CASE=$name
		export MEMGUARD_IN_GUEST=1 TMPDIR=$scratch BUILD=${BUILD:-build}
		exec timeout -k 5 "$t" "${cmd[@]}"
	) </dev/null >"$res/cases/$name.out" 2>&1
	rc=$?
	t1=$(now)
	if { [ $rc = 124 ] || [ $rc = 137 ]; } && [ "$(awk -v a="$t0" -v b="$t1" -v t="$t" 'BEGIN{print (b-a>=t)?1:0}')" = 1 ]; then
		echo "(case exceeded its ${t}s deadline)" >>"$res/cases/$name.out"
		rc=124
	fi
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f\n", b-a}' >"$res/cases/$name.time"
	echo "$rc" >"$res/cases/$name.status"
	mark "case $name: status $rc"
	rm -rf "$scratch"
	rmdir "$art" 2>/dev/null
done

echo "end=$(now)" >>"$res/timing"
dmesg >"$res/dmesg.txt" 2>&1
sync
touch "$res/done"
mark "all cases done"
