#!/bin/sh
# Builds and runs the libFuzzer targets of the policy parser and editor,
# of the allocation shim's MEMGUARD_* parser, of the systemd backend's
# reading of /proc/PID/cgroup, of the reader of the shim's log lines
# (memguardctl trace and symbolize), of the OOM report parser and of the
# pam.d reader.
#
#   fuzz/run.sh smoke      the bounded run of 'make check': ~15 s per target
#   fuzz/run.sh SECONDS    each target for SECONDS ('make fuzz', default 60)
#
# Prints one TAP line per target ("ok N - fuzz_policy: X runs, no crash", or
# "not ok N - ..." naming the input that crashed) and exits 1 if any failed.
# Without clang (or without its libFuzzer runtime) the stage is one skip.
#
# Everything it makes goes under ${BUILD:-build}/fuzz/: the binaries, the
# working corpora (corpus/TARGET, grown from the seeds in fuzz/corpus/TARGET,
# which are only read), crashes/ and one log per target. An input in
# crashes/ is tried again first on every run, until it no longer crashes.
#
# Environment: BUILD, CLANG (default clang), FUZZ_CFLAGS (extra compiler
# flags, e.g. -DMG_FUZZ_SOMETHING),
# FUZZ_JOBS (targets run side by side, default 2), FUZZ_ARGS (extra libFuzzer
# options).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
BUILD=${BUILD:-build}
CLANG=${CLANG:-clang}
out="$BUILD/fuzz"
targets="fuzz_policy fuzz_edit fuzz_preload_env fuzz_systemd_props fuzz_shimlog fuzz_oom_parse fuzz_pamconf"
# The library files the targets need: the parser, resolution and editor,
# none of the file-system or NSS code.
lib_src="lib/diag.c lib/hugepages.c lib/policy.c lib/policy_edit.c lib/policy_line.c lib/policy_order.c lib/policy_resolve.c lib/readfile.c lib/safe_text.c lib/size.c"
# The allocation shim's settings parser stands alone (it must not allocate).
preload_src="preload/settings.c lib/size.c"
# The systemd backend's pure half: no D-Bus.
systemd_src="lib/systemd_props.c"
# The shim log reader alone: no libdw, no files.
shimlog_src="lib/shimlog.c"
# The OOM report parser with its log line and time helpers.
oom_src="lib/oom_parse.c lib/oom_lines.c lib/logline.c lib/logtime.c"
# The pam.d reader and the module arguments (no file system).
pamconf_src="lib/pamconf.c lib/diag.c lib/hugepages.c lib/readfile.c"

case "${1:-}" in
smoke) seconds=15 ;;
'' | *[!0-9]*)
	echo "usage: $0 smoke | $0 SECONDS" >&2
	exit 2
	;;
*) seconds=$1 ;;
esac

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "ok 1 - fuzz # SKIP clang not installed"
	exit 0
fi

mkdir -p "$out/crashes" || exit 1
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
       -Ilib -D_GNU_SOURCE -std=gnu11 -Wall -Wextra ${FUZZ_CFLAGS:-}"

# A clang without compiler-rt's libFuzzer cannot build any target: skip,
# as without clang. A target that does not compile is a failure.
probe="$out/probe"
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe.c"
# shellcheck disable=SC2086
if ! "$CLANG" $flags -o "$probe" "$probe.c" >"$probe.log" 2>&1; then
	echo "ok 1 - fuzz # SKIP $CLANG cannot build libFuzzer targets (libclang-rt missing?): $(head -n 1 "$probe.log")"
	exit 0
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

build() {
	case $1 in
	fuzz_preload_env) src=$preload_src ;;
	fuzz_systemd_props) src=$systemd_src ;;
	fuzz_shimlog) src=$shimlog_src ;;
	fuzz_oom_parse) src=$oom_src ;;
	fuzz_pamconf) src=$pamconf_src ;;
	*) src=$lib_src ;;
	esac
	# shellcheck disable=SC2086
	"$CLANG" $flags -o "$out/$1" "fuzz/$1.c" $src >"$out/$1.build.log" 2>&1
}

# One target, in the background when run side by side; its verdict goes to
# $out/$1.result as "rc".
run() {
	t=$1
	seeds="fuzz/corpus/${t#fuzz_}"
	mkdir -p "$out/corpus/$t" "$out/crashes/fixed"
	touch "$out/$t.stamp"
	# Inputs that crashed an earlier run come first: one that still does
	# fails the target at once (a known bug stays red, not flaky); one that
	# no longer does moves to crashes/fixed/ (with no FUZZ_CFLAGS).
	for c in "$out/crashes/$t-"*; do
		[ -f "$c" ] || continue
		if "$out/$t" -timeout=10 "$c" >"$out/$t.log" 2>&1; then
			# Built with FUZZ_CFLAGS (say -DMG_FUZZ_SKIP_KNOWN) it may only
			# step around the bug: keep the input for the plain build.
			[ -n "${FUZZ_CFLAGS:-}" ] || mv "$c" "$out/crashes/fixed/"
		else
			echo "$c" >"$out/$t.replayed"
			echo 1 >"$out/$t.result"
			return
		fi
	done
	# -timeout: one input taking over 10 s is a slow path, kept as a crash.
	# shellcheck disable=SC2086
	"$out/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$t-" ${FUZZ_ARGS:-} "$out/corpus/$t" "$seeds" \
		>"$out/$t.log" 2>&1
	echo $? >"$out/$t.result"
}

n=0 failed=0 pids=""
for t in $targets; do
	rm -f "$out/$t.result" "$out/$t.replayed"
	if ! build "$t"; then
		echo "1" >"$out/$t.result"
		echo "build" >"$out/$t.build-failed"
		continue
	fi
	rm -f "$out/$t.build-failed"
	if [ "${FUZZ_JOBS:-2}" -gt 1 ]; then
		run "$t" &
		pids="$pids $!"
	else
		run "$t"
	fi
done
for p in $pids; do
	wait "$p"
done

for t in $targets; do
	n=$((n + 1))
	if [ -e "$out/$t.build-failed" ]; then
		echo "not ok $n - $t: does not build, see $out/$t.build.log"
		sed 's/^/# /' "$out/$t.build.log" | head -n 20
		failed=1
		continue
	fi
	rc=$(cat "$out/$t.result" 2>/dev/null || echo 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log" | tail -n 1)
	files=$(find "$out/corpus/$t" -type f | wc -l | tr -d ' ')
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - $t: ${runs:-?} runs, no crash"
		echo "# $t: ${rate:-?} exec/s over ${seconds} s, working corpus $out/corpus/$t: $files inputs"
	else
		if [ -e "$out/$t.replayed" ]; then
			crash=$(cat "$out/$t.replayed")
			echo "not ok $n - $t: an input saved by an earlier run still crashes: $crash, log $out/$t.log"
		else
			crash=$(find "$out/crashes" -maxdepth 1 -name "$t-*" -newer "$out/$t.stamp" -type f | head -n 1)
			echo "not ok $n - $t: crashed (exit $rc) after ${runs:-?} runs, input ${crash:-not saved}, log $out/$t.log"
		fi
		# What broke, in a few lines: the sanitizer's or the harness's own words.
		{
			grep -a -E 'invariant broken|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|^SUMMARY' \
				"$out/$t.log" | head -n 4
			grep -a -E '^ +#[0-9]+ .* in .*/(lib|fuzz|preload)/[a-z_]+\.c:' "$out/$t.log" | head -n 4
		} | sed 's/^/# /'
		[ -n "$crash" ] && echo "# reproduce: $out/$t $crash"
		failed=1
	fi
done
exit $failed
