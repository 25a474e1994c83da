#!/bin/bash
# memguard-guest: systemd
# memguard-guest: timeout=1500
# The PAM and clients stages of `make check` as they run on a contributor's
# Debian 12 desktop: systemd as PID 1, cgroup v2. Each stage re-executes
# itself under `systemd-run --scope -p Delegate=yes` and works in that
# subtree of its own (tests/pam/cgroup-host.sh). The case passes only when
# both stages ran to their end (no exit 77), in a delegated scope, with no
# failed test and no skipped test but those listed below; their TAP output
# comes back in NAME.d/{pam,clients}.log.
# By default the clients stage runs whole and the PAM stage with
# MEMGUARD_PAM_QUICK=1 (its load, valgrind, live-operations and matrix
# sections left out: under software emulation they alone take ~12 minutes);
# MEMGUARD_GUEST_SLOW=1 runs the PAM stage whole too, with
# MEMGUARD_PAM_LIGHT=1 (fewer users and rounds in the load tests), about
# 17 minutes in all (1026 s measured).
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"

for t in "$TOP/$BUILD/tests/pam/pamdrive" "$TOP/$BUILD/tests/tools/dlsmoke" "$TOP/$BUILD/tests/tools/killwhen"; do
	[ -x "$t" ] || skip "no $t (run make check-pam and check-clients on the host first)"
done
[ -r /usr/lib/x86_64-linux-gnu/libnss_wrapper.so ] || skip "libnss_wrapper not installed (make deps)"

# Tests that may skip here, and why (anything else skipped is a failure):
allowed_pam=(
	# the host's hybrid layout has a v2 hierarchy without memory; a v2-only one has none
	"cgroup v2 without the memory controller # SKIP no /sys/fs/cgroup/unified"
	"cgroup v1 pids hierarchy (no memory controller) # SKIP no v1 pids hierarchy"
	# root has CAP_SYS_RESOURCE in the guest: no refusal to see (case 12 tests the floor)
	"a refused negative oom_score_adj: the line says the caps apply # SKIP this process has CAP_SYS_RESOURCE"
	# the kernel may rate-limit its summary line of a kill
	"oom-report links the close line to the kernel's event of the group # SKIP no kernel event names the group"
)
allowed_clients=(
	"no ASan/UBSan reports from sshd, su, login # SKIP module not ASan-built"
)

# run_stage NAME SCRIPT: the stage from the top of the checkout, as
# tests/run-all runs it; its TAP in $MEMGUARD_ARTIFACTS/NAME.log.
run_stage() {
	local name=$1 log=$MEMGUARD_ARTIFACTS/$1.log t0=$SECONDS
	shift
	(cd "$TOP" && exec "$@") >"$log" 2>&1
	RC=$?
	info "$name stage: exit $RC after $((SECONDS - t0)) s"
}
# judge NAME ALLOWED...: no failure, no stage-level skip, the plan matches,
# the stage ran in a delegated scope, only ALLOWED tests skipped.
judge() {
	local name=$1 log=$MEMGUARD_ARTIFACTS/$1.log p f s plan line a ok_skip bad=""
	shift
	p=$(grep -c '^ok ' "$log") s=$(grep -c '^ok .*# SKIP' "$log") f=$(grep -c '^not ok ' "$log")
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | tail -n 1)
	info "$name stage: $((p - s)) passed, $f failed, $s skipped (plan 1..${plan:-none})"
	while IFS= read -r line; do
		ok_skip=""
		for a in "$@"; do
			case "${line#ok [0-9]* - }" in "$a"*) ok_skip=1 ;; esac
		done
		[ -n "$ok_skip" ] && info "$name: allowed: $line" || bad="$bad
    $line"
	done < <(grep '^ok .*# SKIP' "$log")
	if [ "$RC" != 0 ] || [ "$f" != 0 ] || [ -n "$bad" ] || [ -z "$plan" ] || [ "$plan" != $((p + f)) ] ||
		[ "$p" -lt 20 ]; then
		echo "--- $name stage (exit $RC), failed and skipped tests:"
		grep -A 12 '^not ok ' "$log" | head -n 150 | sed 's/^/    /'
		[ -n "$bad" ] && echo "    skipped, not allowed:$bad"
		echo "--- the end of its output:"
		tail -n 15 "$log" | sed 's/^/    /'
		fail "$name stage: exit $RC, $f failed, $s skipped ($((p - s)) passed, plan ${plan:-none})"
	fi
	info "ok: $name stage: $((p - s)) passed, no failure, skips only the listed ones"
}

# The stages' own groups are in a transient scope that systemd delegated.
in_scope() {	# in_scope NAME REGEX: the stage's header names a group under a scope
	local log=$MEMGUARD_ARTIFACTS/$1.log
	grep -q -E "$2/sys/fs/cgroup/system\.slice/run-[^/]*\.scope/" "$log" ||
		fail "$1 stage: no group of its own under a systemd scope: $(grep -m 2 -E "$2" "$log")"
	info "ok: $1 stage in a delegated scope: $(grep -m 1 -o -E "$2/sys/fs/cgroup/system\.slice/run-[^/]*\.scope" "$log")"
}

export MEMGUARD_PAM_LIGHT=1
[ "${MEMGUARD_GUEST_SLOW:-}" = 1 ] || export MEMGUARD_PAM_QUICK=1
if [ -n "${MEMGUARD_PAM_QUICK:-}" ]; then info "PAM stage: quick (MEMGUARD_GUEST_SLOW=1 runs all of it)"
else info "PAM stage: whole"; fi
run_stage pam sh tests/pam/run.sh
judge pam "${allowed_pam[@]}"
in_scope pam '^# build=[^ ]* base='
grep -q '^# build=.* cgroup v2' "$MEMGUARD_ARTIFACTS/pam.log" || fail "pam stage: not on cgroup v2"

run_stage clients sh tests/clients/run.sh
judge clients "${allowed_clients[@]}"
in_scope clients '^# module .*, cgroup_root '

# Nothing of the stages is left: no scope, no group.
left=$(find /sys/fs/cgroup/system.slice -maxdepth 2 -type d \( -name 'mgpam-*' -o -name 'mgclients-*' -o -name 'mgtest-self-*' \) 2>/dev/null)
check "groups of the stages left behind" "$left" ""
exit 0
