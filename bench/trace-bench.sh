#!/bin/sh
# make bench, trace part: (1) what memguardctl trace adds to the shim's own
# cost per allocation: alloc_bench under LD_PRELOAD=shim against the same
# under memguardctl trace, interleaved (trace only sets the environment
# and waits, so the target is no difference beyond noise, +0.3 ns); (2)
# memguardctl symbolize over 10,000 report lines: once from a real run
# (a few call sites, as logs are) and once with 10,000 distinct libc
# offsets (every frame a new lookup); target under 1 s each.
#
#   sh bench/trace-bench.sh BUILD_DIR
#
# Part (1) needs root (the shim is bound at memguardctl's compiled-in path
# in a private mount namespace, as the tests do). BENCH_REPS (default 7),
# BENCH_OPS (pairs per run, default 20000000). A benchmark, not a test:
# exits 0 whatever the numbers ("OVER" marks a row above target), 2 when
# it cannot run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
so="$build/libmemguard-preload.so" ctl="$build/memguardctl"
reps=${BENCH_REPS:-7} ops=${BENCH_OPS:-20000000}
[ -f "$so" ] && [ -x "$ctl" ] || { echo "trace-bench: $so or $ctl not built (run make)" >&2; exit 2; }
mkdir -p "$build/bench"
bin="$build/bench/alloc_bench"
if [ ! -x "$bin" ] || [ "$top/bench/alloc_bench.c" -nt "$bin" ]; then
	${CC:-cc} -O2 -o "$bin" "$top/bench/alloc_bench.c" -lpthread || exit 2
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/memguard-tbench.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT
shim_path=$("$ctl" trace --help | sed -n 's/.*the allocation shim (\(.*\)), then.*/\1/p')
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }
now_ms() { date +%s%3N; }

echo "trace benchmark: $(uname -srm), $(nproc 2>/dev/null || echo '?') cpus"
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	: >"$scratch/shim"
	: >"$scratch/trace"
	r=0
	while [ $r -lt "$reps" ]; do
		LD_PRELOAD="$so" "$bin" pairs 1 "$ops" >>"$scratch/shim"
		TMPDIR=$scratch unshare --mount --propagation private sh "$top/tests/cli/shim-at.sh" "$so" "$shim_path" \
			"$ctl" trace -- "$bin" pairs 1 "$ops" >>"$scratch/trace" 2>/dev/null
		r=$((r + 1))
	done
	set -- $(median "$scratch/shim")
	base=$1
	printf '%-34s %9s %9s %9s %8s  %s\n' "malloc/free pair, 1 thread" median min max delta mark
	for c in shim trace; do
		set -- $(median "$scratch/$c")
		awk -v c="$c" -v m="$1" -v lo="$2" -v hi="$3" -v b="$base" 'BEGIN {
			mark = c == "shim" ? "baseline (LD_PRELOAD)" : (m - b <= 0.3 ? "PASS" : "OVER")
			printf "%-34s %9.2f %9.2f %9.2f %+8.2f  %s\n", (c == "shim" ? "LD_PRELOAD=shim" : "memguardctl trace"), m, lo, hi, m - b, mark
		}'
	done
	echo "(ns per pair, median of $reps, interleaved; the shim's own cost against plain glibc is in the shim benchmark)"
else
	echo "trace overhead: not measured (needs root for a private mount namespace)"
fi

# A real log: 10,000 failing mallocs from two call sites of a -g program.
cat >"$scratch/app.c" <<'EOC'
#include <stdlib.h>
__attribute__((noinline)) static void *one(size_t n) { void *p = malloc(n); __asm__ volatile("" ::: "memory"); return p; }
__attribute__((noinline)) static void *two(size_t n) { void *p = one(n); __asm__ volatile("" ::: "memory"); return p; }
int main(int argc, char **argv) { int n = atoi(argv[1]); for (int i = 0; i < n; i++) free(i % 2 ? one(2u << 20) : two(2u << 20)); return 0; }
EOC
${CC:-cc} -g -O1 -o "$scratch/app" "$scratch/app.c" || exit 2
MEMGUARD_FAIL_ABOVE=1M MEMGUARD_LOG="$scratch/real.log" LD_PRELOAD="$so" "$scratch/app" 10000
# The worst case: each line a libc frame never seen before.
line=$(grep -m1 ' event=failure ' "$scratch/real.log")
libc=$(echo "$line" | tr ',' '\n' | sed -n 's/.*:\(\/[^:+]*libc\.so\.6\)+0x.*/\1/p' | head -n 1)
head_part=${line%% modules=*}
mods=$(echo "$line" | sed -n 's/.* modules=\([^ ]*\) .*/\1/p')
awk -v h="$head_part" -v m="$mods" -v l="$libc" 'BEGIN { for (i = 0; i < 10000; i++)
	printf "%s modules=%s backtrace=%s+0x%x,%s+0x%x\n", h, m, l, 0x28000 + i * 61, l, 0x30000 + i * 37 }' >"$scratch/distinct.log"
printf '%-34s %9s %9s  %s\n' "memguardctl symbolize" lines ms mark
for f in real distinct; do
	n=$(grep -c ' event=' "$scratch/$f.log")
	best=
	for _ in 1 2 3; do
		t0=$(now_ms)
		"$ctl" symbolize "$scratch/$f.log" >"$scratch/$f.out" 2>/dev/null
		t=$(($(now_ms) - t0))
		[ -z "$best" ] || [ "$t" -lt "$best" ] && best=$t
	done
	awk -v f="$f" -v n="$n" -v t="$best" 'BEGIN {
		printf "%-34s %9d %9d  %s\n", (f == "real" ? "a real log (2 call sites)" : "10,000 distinct libc frames"), n, t, (n >= 10000 && t < 1000 ? "PASS" : "OVER")
	}'
done
echo "(wall ms, best of 3; target: 10,000 report lines in under 1000 ms)"
exit 0
