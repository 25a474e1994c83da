#!/bin/sh
# make bench, allocation-shim part. Every figure beside its floor and its
# peers, measured in the same run:
#   plain     glibc alone
#   bare      bench/bare_interposer.c: malloc/free/calloc/realloc that call
#             the dlsym'd next definition after one compare; the floor for
#             any interposer
#   shim      libmemguard-preload.so, no MEMGUARD_* set (default 64M
#             threshold, nothing to report): the cost every program pays
#   memusage  glibc's libmemusage.so                 } peers, reported,
#   heaptrack the heaptrack wrapper (its interpreter) } not gated
# (1) Time, ns per op per thread, 1 and 2 threads, for malloc/free pairs and
#     for a mix shaped like glibc's bench-malloc-thread (alloc_bench.c):
#     the threads' own CPU time, which other programs taking the cores
#     do not inflate (wall-clock medians beside it). Each round runs every
#     configuration once, in an order rotated by one each round; medians
#     over the rounds; ratios are medians of the per-round ratios, so that
#     a burst of load on the machine weighs on both sides of a ratio alike.
# (2) Instructions per op by callgrind (deterministic): the difference of
#     two runs of different lengths, so that start-up cancels out.
# (3) A real program: python3 running bench/py_alloc.py, plain and shim.
# Targets: pairs <= 1.03x bare; mixed <= 1.05x plain; instructions per
# malloc/free pair <= plain + 16.
#
#   sh bench/preload-bench.sh BUILD_DIR
#
# Environment: BENCH_REPS (rounds, default 11), BENCH_OPS (operations per
# thread, default 10000000 pairs / 5000000 mixed; the peers do a tenth),
# BENCH_PY_REPS (python rounds, default 7), CC. heaptrack's CPU figure is
# its in-process cost; its wall figure holds its interpreter too, which
# it waits for, with a start of about half a second a run here: read both
# as orders of magnitude.
# A benchmark, not a test: exits 0 whatever the numbers ("OVER" marks a
# row above target); 2 when it cannot run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
so="$build/libmemguard-preload.so"
reps=${BENCH_REPS:-11}
pairs_target=1.03 mixed_target=1.05 insn_target=16

[ -f "$so" ] || { echo "preload-bench: $so not built (run make)" >&2; exit 2; }
mkdir -p "$build/bench"
bin="$build/bench/alloc_bench" bare="$build/bench/bare_interposer.so" timeit="$build/bench/timeit"
if [ ! -x "$bin" ] || [ "$top/bench/alloc_bench.c" -nt "$bin" ]; then
	${CC:-cc} -O2 -o "$bin" "$top/bench/alloc_bench.c" -lpthread || exit 2
fi
if [ ! -f "$bare" ] || [ "$top/bench/bare_interposer.c" -nt "$bare" ]; then
	${CC:-cc} -O2 -fPIC -shared -fvisibility=hidden -o "$bare" "$top/bench/bare_interposer.c" -ldl || exit 2
fi
if [ ! -x "$timeit" ] || [ "$top/bench/timeit.c" -nt "$timeit" ]; then
	${CC:-cc} -O2 -o "$timeit" "$top/bench/timeit.c" || exit 2
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/memguard-pbench.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT

# The peers, wherever this system keeps them (glibc's libmemusage.so is in
# libc6 on Debian 12, heaptrack in the heaptrack package).
memusage=$(ldconfig -p 2>/dev/null | awk -v a="$(uname -m)" '$1 == "libmemusage.so" { if (!first) first = $NF; if (index($NF, a)) { print $NF; found = 1; exit } } END { if (!found && first) print first }')
[ -n "$memusage" ] || for f in /lib/x86_64-linux-gnu/libmemusage.so /usr/lib64/libmemusage.so; do
	[ -f "$f" ] && memusage=$f && break
done
heaptrack=$(command -v heaptrack 2>/dev/null)

# one CONFIG WORKLOAD THREADS OPS: one sample, "WALL CPU" ns per op (empty
# on failure).
one() {
	cfg=$1
	shift
	case $cfg in
	plain) "$bin" "$@" ;;
	bare) LD_PRELOAD="$bare" "$bin" "$@" ;;
	shim) LD_PRELOAD="$so" "$bin" "$@" ;;
	memusage) LD_PRELOAD="$memusage" "$bin" "$@" 2>/dev/null ;;
	heaptrack)
		"$heaptrack" -o "$scratch/ht" "$bin" "$@" 2>/dev/null | grep -E '^[0-9.]+ [0-9.]+$'
		rm -f "$scratch"/ht*
		;;
	esac
}
# Peers are 5 to 50 times slower: fewer ops give the same ns per op.
ops_for() { # CONFIG OPS
	case $1 in
	memusage | heaptrack) echo $(($2 / 10)) ;;
	*) echo "$2" ;;
	esac
}

echo "allocation shim benchmark: $(uname -srm), $(nproc 2>/dev/null || echo '?') cpus, $reps rounds, configurations interleaved"
echo "shim: $so (no MEMGUARD_* set: default 64M threshold, nothing to report)"
configs="plain bare shim"
for peer in memusage heaptrack; do
	eval "path=\$$peer"
	if [ -z "$path" ]; then
		echo "peer: $peer not installed, not measured (Debian: $( [ $peer = memusage ] && echo libc6 || echo heaptrack ))"
	elif [ -z "$(one "$peer" pairs 1 1000)" ]; then
		echo "peer: $peer ($path) did not run here, not measured"
	else
		echo "peer: $peer ($path)"
		configs="$configs $peer"
	fi
done
nconf=$(echo $configs | wc -w)

# stats FILE: FILE holds one line per round, one column per configuration
# in $configs order. Prints one line per configuration: name median min
# max ratio-to-plain ratio-to-bare (ratios: medians of per-round ratios).
stats() {
	awk -v names="$configs" '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return a[int((n + 1) / 2)]
	}
	{ for (c = 1; c <= NF; c++) v[NR, c] = $c }
	END {
		k = split(names, name, " ")
		for (c = 1; c <= k; c++) {
			for (r = 1; r <= NR; r++) { x[r] = v[r, c]; p[r] = v[r, c] / v[r, 1]; b[r] = v[r, c] / v[r, 2] }
			m = med(x, NR)
			printf "%s %s %s %s %s %s\n", name[c], m, x[1], x[NR], med(p, NR), med(b, NR)
		}
	}' "$1"
}

echo
echo "time: ns per operation per thread, the threads' CPU time (median, min, max of $reps rounds); x plain, x bare: medians of the per-round ratios; wall: median"
printf '%-20s %-10s %9s %9s %9s %8s %8s %9s  %-18s %s\n' workload config cpu min max "x plain" "x bare" wall target mark
for w in "pairs 1" "pairs 2" "mixed 1" "mixed 2"; do
	set -- $w
	wl=$1 th=$2
	if [ "$wl" = pairs ]; then o=${BENCH_OPS:-10000000}; else o=${BENCH_OPS:-5000000}; fi
	: >"$scratch/cpu"
	: >"$scratch/wall"
	r=0
	while [ $r -lt "$reps" ]; do
		# Rotate the order: no configuration always runs first or after a peer.
		i=0
		for c in $configs; do
			slot=$(( (i + nconf - r % nconf) % nconf ))
			eval "s_$slot=$c"
			i=$((i + 1))
		done
		i=0
		while [ $i -lt "$nconf" ]; do
			eval "c=\$s_$i"
			eval "t_$c=\$(one $c $wl $th $(ops_for "$c" "$o"))"
			i=$((i + 1))
		done
		wall="" cpu=""
		for c in $configs; do
			eval "t=\$t_$c"
			set -- $t nan nan
			wall="$wall $1" cpu="$cpu $2"
		done
		echo "$wall" >>"$scratch/wall"
		echo "$cpu" >>"$scratch/cpu"
		r=$((r + 1))
	done
	if [ "$th" = 1 ]; then label="$wl, 1 thread"; else label="$wl, $th threads"; fi
	stats "$scratch/wall" | awk '{ print $2 }' >"$scratch/wall.med"
	stats "$scratch/cpu" | paste -d' ' - "$scratch/wall.med" | awk -v w="$label" -v wl="$wl" -v pt="$pairs_target" -v mt="$mixed_target" '{
		c = $1
		if (c == "plain") { target = ""; mark = "floor" }
		else if (c == "bare") { target = ""; mark = "floor" }
		else if (c == "shim" && wl == "pairs") { target = "<= " pt "x bare"; mark = ($6 <= pt) ? "PASS" : "OVER" }
		else if (c == "shim") { target = "<= " mt "x plain"; mark = ($5 <= mt) ? "PASS" : "OVER" }
		else { target = ""; mark = "peer" }
		printf "%-20s %-10s %9.2f %9.2f %9.2f %7.2fx %7.2fx %9.2f  %-18s %s\n", w, c, $2, $3, $4, $5, $6, $7, target, mark
		w = ""
	}'
done

echo
if command -v valgrind >/dev/null 2>&1; then
	echo "instructions per operation, callgrind (deterministic): runs of 110000 and 10000 ops, 1 thread, the difference / 100000"
	printf '%-10s %9s %9s %9s %11s %11s  %-16s %s\n' workload plain bare shim "bare-plain" "shim-plain" target mark
	ir() { # PRELOAD WORKLOAD OPS
		env ${1:+LD_PRELOAD=$1} valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$2" 1 "$3" 2>&1 |
			awk '/Collected/ { print $NF }'
	}
	for wl in pairs mixed callocs reallocs; do
		line=""
		for pre in "" "$bare" "$so"; do
			a=$(ir "$pre" "$wl" 10000)
			b=$(ir "$pre" "$wl" 110000)
			line="$line $a $b"
		done
		echo "$line" | awk -v wl="$wl" -v tg="$insn_target" '{
			p = ($2 - $1) / 100000; b = ($4 - $3) / 100000; s = ($6 - $5) / 100000
			if (wl == "pairs") { target = "<= plain + " tg; mark = (s - p <= tg) ? "PASS" : "OVER" }
			else { target = ""; mark = "reported" }
			printf "%-10s %9.2f %9.2f %9.2f %+11.2f %+11.2f  %-16s %s\n", wl, p, b, s, b - p, s - p, target, mark
		}'
	done
	echo "(pairs, callocs: one allocation and its free per op; mixed: one free and one malloc; reallocs: one realloc)"
else
	echo "instructions: valgrind not installed, not measured (Debian: valgrind)"
fi

echo
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 2>/dev/null)
if [ -n "$py" ]; then
	pyreps=${BENCH_PY_REPS:-7}
	echo "a real program: $py bench/py_alloc.py, wall ms per run, median of $pyreps rounds, interleaved"
	printf '%-32s %9s %9s %8s\n' "python3" plain shim "x plain"
	for mode in default malloc; do
		: >"$scratch/py"
		r=0
		while [ $r -lt "$pyreps" ]; do
			if [ "$mode" = malloc ]; then set -- env PYTHONMALLOC=malloc; else set -- env; fi
			a=$("$timeit" "$@" "$py" "$top/bench/py_alloc.py" | awk '$2 == 0 { print $1 / 1000 }')
			b=$("$timeit" "$@" LD_PRELOAD="$so" "$py" "$top/bench/py_alloc.py" | awk '$2 == 0 { print $1 / 1000 }')
			echo "${a:-nan} ${b:-nan}" >>"$scratch/py"
			r=$((r + 1))
		done
		label="PYTHONMALLOC=$mode"
		[ "$mode" = default ] && label="default allocator (pymalloc)"
		[ "$mode" = malloc ] && label="PYTHONMALLOC=malloc (all malloc)"
		awk -v l="$label" '
		function med(a, n,   i, j, t) {
			for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
			return a[int((n + 1) / 2)]
		}
		{ x[NR] = $1; y[NR] = $2; q[NR] = $2 / $1 }
		END { printf "%-32s %9.1f %9.1f %7.3fx  reported\n", l, med(x, NR), med(y, NR), med(q, NR) }' "$scratch/py"
	done
else
	echo "a real program: python3 not installed, not measured"
fi
echo "(targets for the shim: pairs <= ${pairs_target}x bare, mixed <= ${mixed_target}x plain, instructions per pair <= plain + ${insn_target}; peers and python are reported, not gated)"
exit 0
