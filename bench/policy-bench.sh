#!/bin/sh
# memguardctl on large policies: wall time of check, check --no-names,
# show USER and set USER at 1k, 10k and 100k rules, against the target of
# 100 ms per command at 100k rules, next to a process-start floor
# (memguardctl --version) and cat of the same file.
#
#   sh bench/policy-bench.sh BUILD_DIR        ('make bench')
#
# Environment: BENCH_RUNS (samples per command, default 11), BENCH_SIZES
# (default "1000 10000 100000"), BENCH_USER (an existing user, default
# nobody, else root), BENCH_SLOW_MS (a command whose first run takes longer
# gets 3 runs instead, default 3000), CC (for the timer, default cc).
#
# A benchmark, not a test: it exits 0 whatever the numbers; a command over
# its target is marked "OVER". Exit 2 only when it cannot run at all.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
ctl="$build/memguardctl"
runs=${BENCH_RUNS:-11}
sizes=${BENCH_SIZES:-"1000 10000 100000"}
slow_ms=${BENCH_SLOW_MS:-3000}
target_ms=100

if [ ! -x "$ctl" ]; then
	echo "policy-bench: $ctl not built (run make)" >&2
	exit 2
fi

user=${BENCH_USER:-nobody}
if ! getent passwd "$user" >/dev/null 2>&1; then
	user=root
fi
group=$(id -gn "$user" 2>/dev/null || echo root)

# The timer: fork to exit, no shell in between. Without a C compiler,
# date +%s%N around each run (about a millisecond of extra cost).
timer="$build/bench/timeit"
mkdir -p "$build/bench"
if [ ! -x "$timer" ] || [ "$top/bench/timeit.c" -nt "$timer" ]; then
	${CC:-cc} -O2 -o "$timer" "$top/bench/timeit.c" 2>/dev/null || timer=""
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/memguard-bench.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM

# Fixed machine facts, so that percentages and "*" mean the same everywhere.
printf 'MemTotal:       67108864 kB\n' >"$scratch/meminfo"
printf 'UID_MIN 1000\n' >"$scratch/login.defs"

# One sample of "$@": prints "MICROSECONDS EXIT".
sample() {
	if [ -n "$timer" ]; then
		"$timer" "$@"
	else
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		rc=$?
		t1=$(date +%s%N)
		echo "$(((t1 - t0) / 1000)) $rc"
	fi
}

# measure SIZE LABEL TARGET_MS CMD...: RUNS samples (3 if the first one is
# slower than slow_ms), then one row of the table. For "set" the last
# argument alternates between two values so that every run writes.
fmt='%-7s %-22s %4s %9s %9s %9s %8s  %s\n'
measure() {
	size=$1 label=$2 tgt=$3
	shift 3
	: >"$scratch/samples"
	rcs=""
	i=0
	want=$runs
	while [ "$i" -lt "$want" ]; do
		if [ "$label" = "set USER memory.max" ]; then
			v=$((6 + i % 2))
			s=$(sample "$@" "memory.max=${v}G")
		else
			s=$(sample "$@")
		fi
		echo "${s% *}" >>"$scratch/samples"
		rc=${s#* }
		case " $rcs " in *" $rc "*) ;; *) rcs="$rcs $rc" ;; esac
		if [ "$i" -eq 0 ] && [ "${s% *}" -gt $((slow_ms * 1000)) ] && [ "$want" -gt 3 ]; then
			want=3
		fi
		i=$((i + 1))
	done
	sort -n "$scratch/samples" | awk -v size="$size" -v label="$label" -v tgt="$tgt" -v rcs="$rcs" \
		-v fmt="$fmt" '
		{ v[NR] = $1 / 1000 }
		END {
			med = v[int((NR + 1) / 2)]
			if (tgt == "-") { t = "-"; mark = "floor" }
			else { t = "<" tgt; mark = med < tgt ? "PASS" : "OVER" }
			if (rcs != " 0") mark = mark " (exit" rcs ")"
			printf(fmt, size, label, NR, sprintf("%.1f", med), sprintf("%.1f", v[1]),
			       sprintf("%.1f", v[NR]), t, mark)
		}' | tee -a "$scratch/table"
}

label_size() {
	case "$1" in
	*000000) echo "$(($1 / 1000000))M" ;;
	*000) echo "$(($1 / 1000))k" ;;
	*) echo "$1" ;;
	esac
}

echo "memguardctl policy benchmark: $(uname -srm), $(nproc 2>/dev/null || echo '?') cpus"
echo "memguardctl: $ctl ($("$ctl" --version 2>/dev/null))"
echo "user for show/set: $user (group $group); MemTotal 64 GiB and UID_MIN 1000 from fixed files"
echo "timer: ${timer:-date +%s%N}; $runs runs per command (3 when the first takes over ${slow_ms} ms); times in ms"
echo
printf "$fmt" size command runs median min max target mark
for n in $sizes; do
	size=$(label_size "$n")
	dir="$scratch/$n"
	mkdir -p "$dir/memguard.d"
	chmod 0755 "$dir" "$dir/memguard.d"
	policy="$dir/memguard.conf"
	sh "$top/bench/gen-policy.sh" "$n" "$user" "$group" >"$policy"
	chmod 0644 "$policy"
	ctlp="$ctl --policy $policy --meminfo $scratch/meminfo --login-defs $scratch/login.defs"

	# What the policy is, in memguardctl's own words (not timed).
	summary=$($ctlp check --no-names 2>/dev/null | tail -n 1)
	echo "# $size: $(wc -c <"$policy" | tr -d ' ') bytes, $(wc -l <"$policy" | tr -d ' ') lines: $summary"

	# shellcheck disable=SC2086
	{
		measure "$size" "check" "$target_ms" $ctlp check
		measure "$size" "check --no-names" "$target_ms" $ctlp check --no-names
		measure "$size" "show USER" "$target_ms" $ctlp show "$user"
		measure "$size" "set USER memory.max" "$target_ms" $ctlp set "$user"
		measure "$size" "cat (floor)" "-" cat "$policy"
		measure "$size" "--version (floor)" "-" $ctl --version
	}
	rm -rf "$dir"
done

echo
over=$(grep -c ' OVER' "$scratch/table" || true)
if [ "$over" -gt 0 ]; then
	echo "OVER TARGET: $over command/size pairs take longer than ${target_ms} ms (median):"
	grep ' OVER' "$scratch/table" | awk '{ printf("  %s\n", $0) }'
else
	echo "every command is within ${target_ms} ms at every size"
fi
exit 0
