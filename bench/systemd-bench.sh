#!/bin/sh
# make bench, systemd part: the latency a login gains from pam_memguard's
# systemd backend, against the same stack without it, measured in the same
# run in a QEMU guest that boots systemd as PID 1 (real logind, real
# session scopes; bench/guest-systemd-login.sh does the timing there).
# Software emulation makes absolute times meaningless: the figure is the
# ratio of the medians.
#
#   sh bench/systemd-bench.sh BUILD_DIR        ('make bench')
#
# Environment: SYSTEMD_BENCH_ITERATIONS (logins per stack, default 100;
# about a minute of wall time with the boot),
# MEMGUARD_GUEST_CACHE (default <repo>/build/guest-bench: its own cache,
# so that a concurrent make check-guest keeps its lock and results).
# A benchmark, not a test: exits 0 whatever the numbers, and with a
# "skipped:" line when the guest cannot run here; 1 when the guest failed
# or measured nothing real (no new session scope, no caps applied); 2 on
# bad usage or an unbuilt module.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
iter=${SYSTEMD_BENCH_ITERATIONS:-100}
cache=${MEMGUARD_GUEST_CACHE:-$top/build/guest-bench}
name=guest-systemd-login
title="systemd login bench"

skipped() { echo "$title: skipped: $*"; exit 0; }

case $iter in '' | *[!0-9]* | 0)
	echo "$title: SYSTEMD_BENCH_ITERATIONS=$iter is not a positive count" >&2
	exit 2
	;;
esac
# The guest runs the cases against this build, by its path under the repo.
case "$build" in
"$top"/*) rel=${build#"$top"/} ;;
*) skipped "the build $build is outside the repository, which the guest cannot see" ;;
esac
[ -f "$build/pam_memguard.so" ] || { echo "$title: $build/pam_memguard.so not built (run make)" >&2; exit 2; }
if ldd "$build/pam_memguard.so" 2>/dev/null | grep -q libasan; then
	skipped "a sanitizer build; its timings mean nothing"
fi
[ -x /lib/systemd/systemd ] || skipped "no systemd on this host to boot in the guest"
[ -f /lib/x86_64-linux-gnu/security/pam_systemd.so ] || skipped "no pam_systemd.so (libpam-systemd)"

mkdir -p "$build/bench" "$cache"
bin="$build/bench/pam_bench"
if [ ! -x "$bin" ] || [ "$top/bench/pam_bench.c" -nt "$bin" ]; then
	${CC:-cc} -O2 -o "$bin" "$top/bench/pam_bench.c" -lpam || exit 2
fi
# A kernel the default guest cache already unpacked saves a download.
if [ ! -e "$cache/kernel" ] && [ -f "$top/build/guest/kernel.pkg" ] && [ "$cache" != "$top/build/guest" ]; then
	cp -al "$top/build/guest/kernel" "$cache/" 2>/dev/null && cp "$top/build/guest/kernel.pkg" "$cache/" || true
fi
echo "ITERATIONS=$iter" >"$cache/systemd-bench.conf"

echo "systemd login (QEMU guest, software emulation, systemd as PID 1): open+close of a login through"
echo "pam_systemd + logind, $iter per stack, interleaved, each in a fresh process (microseconds)"
log="$cache/systemd-bench.log"
# A pair of logins takes about 0.25 s under emulation, the boot and the
# warm-up under a minute: deadlines with room for a host twice as busy.
case_timeout=${MEMGUARD_GUEST_CASE_TIMEOUT:-$((120 + 2 * iter))}
rc=0
BUILD=$rel MEMGUARD_GUEST_CACHE=$cache \
	MEMGUARD_GUEST_TIMEOUT=${MEMGUARD_GUEST_TIMEOUT:-$((case_timeout + 90))} \
	MEMGUARD_GUEST_CASE_TIMEOUT=$case_timeout \
	bash "$top/tests/guest/run" "$top/bench/$name.sh" >"$log" 2>&1 || rc=$?
out="$cache/results-systemd/cases/$name.out"
if [ $rc = 77 ]; then
	skipped "$(sed -n 's/^SKIP guest: //p' "$log" | tail -n1)"
fi
if reason=$(sed -n "s/^SKIP $name: //p" "$log") && [ -n "$reason" ]; then
	skipped "$reason"
fi
if [ $rc != 0 ] || [ ! -f "$out" ] || ! grep -q '^iterations ' "$out"; then
	echo "$title: the guest run failed (status $rc):"
	sed 's/^/    /' "$log"
	exit 1
fi

res() { awk -v s="$1" -v f="$2" '$1 == "result" && $2 == s { print $f }' "$out"; }
printf '%-44s %10s %10s %10s\n' "stack" "median" "min" "max"
printf '%-44s %10s %10s %10s\n' "pam_systemd alone (pam_permit, pam_systemd)" "$(res plain 3)" "$(res plain 4)" "$(res plain 5)"
printf '%-44s %10s %10s %10s\n' "+ pam_memguard backend=systemd, phase=post" "$(res memguard 3)" "$(res memguard 4)" "$(res memguard 5)"
printf '%-44s %10s %10s %10s\n' "+ pam_memguard, no phase=post work" "$(res usercaps 3)" "$(res usercaps 4)" "$(res usercaps 5)"
ratio() { # LABEL MEDIAN
	awk -v l="$1" -v x="$(res plain 3)" -v y="$2" -v n="$iter" 'BEGIN {
		printf "systemd login, %s: %.0f us against pam_systemd alone %.0f us: %.2fx (+%.0f us), %d logins each (target: at most 1.10x) %s\n",
			l, y, x, y / x, y - x, n, (y / x <= 1.10 ? "PASS" : "OVER")
	}'
}
ratio "session.memory.high too (a phase=post line)" "$(res memguard 3)"
ratio "per-user caps and session.memory.max" "$(res usercaps 3)"
grep -E '^(every login|user-[0-9]+\.slice:)' "$out" | sed 's/^/checked: /'
grep -E '^guest \(systemd\): ' "$log" || true
