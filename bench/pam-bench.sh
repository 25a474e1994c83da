#!/bin/sh
# make bench, PAM part: median latency of one open+close through a real PAM
# stack, side by side in one run: pam_permit alone, pam_limits with a
# limits.conf of the same size, pam_memguard with 100 and 10k rules
# (cgroup creation and removal included), and the floor: pam_permit plus
# the raw kernel cgroup work. Needs root and a cgroup memory controller.
set -eu
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
mod="$top/$BUILD/pam_memguard.so"
iter=${PAM_BENCH_ITERATIONS:-400}
secdir=$(pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security
[ -e "$secdir/pam_permit.so" ] || secdir=/lib/x86_64-linux-gnu/security
user=nobody

if [ "$(id -u)" -ne 0 ]; then
	echo "pam bench: needs root (cgroups); skipped"
	exit 0
fi
mem=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
if [ -n "$mem" ] && [ -d "/sys/fs/cgroup/memory$mem" ]; then
	own="/sys/fs/cgroup/memory$mem"
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	own="/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)"
else
	echo "pam bench: no cgroup memory controller; skipped"
	exit 0
fi

dir=$(mktemp -d)
scratch="$own/memguard-bench-$$"
mkdir "$scratch"
cleanup() {
	find "$scratch" -depth -type d -exec rmdir {} + 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
cc -O2 -o "$dir/pam_bench" "$top/bench/pam_bench.c" -lpam

gen_policy() { # N
	awk -v n="$1" 'BEGIN {
		print "*              memory.max=50%   memory.high=40%   memory.swap.max=0   oom_score_adj=100"
		for (i = 2; i < n; i++) printf "benchuser%06d  memory.max=%dG   memory.high=1G\n", i, 2 + i % 6
		# nobody is above UID_MAX, so "*" does not cover it: its own rule,
		# last, so that a login walks the whole file.
		print "nobody         memory.max=1G    memory.high=768M   memory.swap.max=0   oom_score_adj=100" }'
}
gen_limits() { # N
	awk -v n="$1" 'BEGIN {
		for (i = 1; i < n; i++) printf "benchuser%06d  hard  nproc  %d\n", i, 1000 + i
		print "nobody          soft  core  0" }'
}
gen_policy 100 >"$dir/p100.conf"
gen_policy 10000 >"$dir/p10k.conf"
gen_limits 100 >"$dir/l100.conf"
gen_limits 10000 >"$dir/l10k.conf"
mkdir "$dir/pam.d"
echo "session required $secdir/pam_permit.so" >"$dir/pam.d/permit"
echo "session required $secdir/pam_limits.so conf=$dir/l100.conf" >"$dir/pam.d/limits100"
echo "session required $secdir/pam_limits.so conf=$dir/l10k.conf" >"$dir/pam.d/limits10k"
echo "session required $mod policy=$dir/p100.conf cgroup_root=$scratch/memguard" >"$dir/pam.d/mg100"
echo "session required $mod policy=$dir/p10k.conf cgroup_root=$scratch/memguard" >"$dir/pam.d/mg10k"
mkdir "$scratch/floor"

printf 'PAM open+close latency, %s rounds, every stack once per round, in an order shuffled each round, user %s (microseconds)\n' "$iter" "$user"
"$dir/pam_bench" "$dir/pam.d" "$user" "$iter" permit "permit@$scratch/floor" limits100 limits10k mg100 mg10k \
	>"$dir/results" || exit 1
label() {
	case $1 in
	permit) echo "pam_permit" ;;
	permit@*) echo "floor: pam_permit + raw cgroup work" ;;
	limits100) echo "pam_limits, 100-line limits.conf" ;;
	limits10k) echo "pam_limits, 10k-line limits.conf" ;;
	mg100) echo "pam_memguard, 100 rules" ;;
	mg10k) echo "pam_memguard, 10k rules" ;;
	esac
}
printf '%-40s %10s %10s %10s\n' "stack" "median" "min" "max"
while read -r svc med min max; do
	printf '%-40s %10s %10s %10s\n' "$(label "$svc")" "$med" "$min" "$max"
done <"$dir/results"
med() { awk -v s="$1" '$1 == s { print $2 }' "$dir/results"; }
awk -v p="$(med permit)" -v f="$(med "permit@$scratch/floor")" -v l1="$(med limits100)" \
	-v l2="$(med limits10k)" -v a="$(med mg100)" -v b="$(med mg10k)" 'BEGIN {
	printf "login open+close, 100 rules: pam_memguard %.1f us, floor %.1f us: %+.1f us over the floor (target: at most +80 us) %s\n",
		a, f, a - f, (a - f <= 80 ? "PASS" : "OVER")
	printf "same, 10k rules: pam_memguard %.1f us, pam_limits (10k-line limits.conf) %.1f us, %.2fx (target: under 1000 us and at most 0.25x pam_limits) %s\n",
		b, l2, b / l2, (b < 1000 && b <= 0.25 * l2 ? "PASS" : "OVER")
	printf "ratios: pam_memguard(100)/floor %.2fx; pam_memguard(100)/pam_limits(100) %.2fx; floor - pam_permit (kernel work alone) %.1f us\n",
		a / f, a / l1, f - p
}'
# Nothing may be left behind.
left=$(find "$scratch" -mindepth 1 -type d -name 'user-*' | wc -l)
[ "$left" -eq 0 ] || echo "warning: $left user groups left behind"
