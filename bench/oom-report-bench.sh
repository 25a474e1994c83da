#!/bin/sh
# memguardctl oom-report over a 200 MB kernel log (syslog format) holding
# 1,000 OOM reports: wall time against the 4 s target and peak RSS, beside
# grep -c 'Killed process' over the same file as the floor. The same run
# over a 20 MB log of 100 reports shows that memory does not grow with the
# file: the parser streams and keeps only the reports in flight.
#
#   sh bench/oom-report-bench.sh BUILD_DIR        ('make bench')
#
# Environment: BENCH_RUNS (samples per command, default 3), BENCH_OOM_MB
# (default 200), BENCH_OOM_EVENTS (default 1000). The logs are made by
# bench/gen-oom-log.sh into BUILD_DIR/bench/ and kept for the next run.
# A benchmark, not a test: it exits 0 whatever the numbers; exit 2 only
# when it cannot run at all.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
ctl="$build/memguardctl"
runs=${BENCH_RUNS:-3}
mb=${BENCH_OOM_MB:-200}
events=${BENCH_OOM_EVENTS:-1000}
target_s=4

if [ ! -x "$ctl" ]; then
	echo "oom-report-bench: $ctl not built (run make)" >&2
	exit 2
fi
if [ ! -x /usr/bin/time ]; then
	echo "oom-report-bench: needs /usr/bin/time (Debian package time) for the peak RSS" >&2
	exit 2
fi
mkdir -p "$build/bench" || exit 2

# log MB EVENTS: the path of a generated log, made once per generator version.
log() {
	f="$build/bench/oom-$1m-$2.log"
	if [ ! -s "$f" ] || [ "$top/bench/gen-oom-log.sh" -nt "$f" ]; then
		sh "$top/bench/gen-oom-log.sh" "$1" "$2" >"$f.tmp" && mv "$f.tmp" "$f"
	fi
	echo "$f"
}

big=$(log "$mb" "$events")
small=$(log $((mb / 10)) $((events / 10)))

fmt='%-34s %6s %9s %9s %10s %8s  %s\n'
# measure LABEL FILE TARGET CMD...: RUNS samples; median wall time, peak RSS.
measure() {
	label=$1 file=$2 tgt=$3
	shift 3
	: >"$build/bench/oom.samples"
	i=0
	while [ "$i" -lt "$runs" ]; do
		TZ=UTC /usr/bin/time -f '%e %M' -o "$build/bench/oom.one" "$@" "$file" >"$build/bench/oom.out" 2>/dev/null
		cat "$build/bench/oom.one" >>"$build/bench/oom.samples"
		i=$((i + 1))
	done
	sort -n "$build/bench/oom.samples" | awk -v label="$label" -v tgt="$tgt" -v fmt="$fmt" \
		-v mb="$(($(wc -c <"$file") / 1048576))" '
		{ t[NR] = $1; if ($2 > rss) rss = $2 }
		END {
			med = t[int((NR + 1) / 2)]
			if (tgt == "-") { tt = "-"; mark = "floor" }
			else if (tgt == "=") { tt = "-"; mark = "same peak RSS at a tenth of the size" }
			else { tt = "<" tgt " s"; mark = med < tgt ? "PASS" : "OVER" }
			printf(fmt, label, mb " MB", sprintf("%.2f s", med), sprintf("%.0f MB/s", mb / (med > 0 ? med : 0.01)),
			       sprintf("%.1f MiB", rss / 1024), tt, mark)
		}'
}

echo "memguardctl oom-report benchmark: $(uname -srm), $(nproc 2>/dev/null || echo '?') cpus"
echo "memguardctl: $ctl ($("$ctl" --version 2>/dev/null)); $runs runs per command, median wall time, peak RSS of all runs"
echo "logs: $big ($events reports), $small ($((events / 10)) reports), syslog format, made by bench/gen-oom-log.sh"
echo
printf "$fmt" command file wall rate peak-rss target mark
measure "grep -c 'Killed process'" "$big" - grep -c 'Killed process'
n=$(cat "$build/bench/oom.out")
measure "oom-report --brief" "$big" "$target_s" "$ctl" oom-report --brief
got=$(wc -l <"$build/bench/oom.out" | tr -d ' ')
measure "oom-report --json" "$big" "$target_s" "$ctl" oom-report --json
measure "oom-report (text)" "$big" "$target_s" "$ctl" oom-report
measure "oom-report --brief" "$small" = "$ctl" oom-report --brief
echo
echo "# grep counts $n kill lines; oom-report --brief reported $got events (expected $events)"
[ "$got" = "$events" ] || echo "# WARNING: the event count differs"
exit 0
