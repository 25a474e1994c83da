#!/bin/bash
# memguardctl status and apply on the cgroupfs backend over cgroup v2 (the
# host has v1): during a `su -l` session, status reports what the kernel
# files of the user and session groups hold; apply raises the caps and the
# protections (BASE carries the sum of memory.low), leaves a lowering
# pending and writes it with --lower, and --dry-run writes nothing.
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup 'mga memory.max=96M memory.high=80M memory.swap.max=0 memory.low=8M session.memory.max=64M'
CTL=$TOP/$BUILD/memguardctl
[ -x "$CTL" ] || skip "no $CTL (run make${BUILD#build} first)"
command -v python3 >/dev/null || skip "no python3"
U=$BASE/user-$MG_UID_A
OUT=$W/ctl.out
ctl() {	# ctl ARGS...: memguardctl on the case's policy, stdout to $OUT, status to RC
	"$CTL" --policy "$POLICY" "$@" >"$OUT" 2>"$OUT.err"
	RC=$?
	sed 's/^/    /' "$OUT" "$OUT.err"
}
check() {	# check WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1 is '$2', expected '$3'"
	info "ok: $1 = $2"
}
has_line() { grep -qxF "$1" "$OUT" || fail "no line '$1' in the output"; info "ok: line: $1"; }
M=$((1 << 20))
caps() { echo "$(cat "$U/memory.max") $(cat "$U/memory.low") $(cat "$BASE/memory.low") $(cat "$S/memory.max")"; }

mg_su_bg a mga "up \"ppid \$PPID\"; hold"
mg_expect a 60 '^ppid [0-9]+$'
S=$CGROOT$(mg_cgroup_of "${MG_LINE#ppid }")
SN=${S##*/}
[ "${S%/*}" = "$U" ] || fail "the session is in '$S'"
check "after login: user max, user low, BASE low (the sum), session max" "$(caps)" \
	"$((96 * M)) $((8 * M)) $((8 * M)) $((64 * M))"

# --- status: the kernel's files, beside the policy ---
ctl status mga
check "status mga: exit status" "$RC" 0
has_line "backend cgroupfs, memguard's tree at $BASE"
grep -qE "^  session $SN  cgroup ${S#$CGROOT} " "$OUT" || fail "status does not name the session group $SN"
grep -qE '^    memory.max +live 96M +policy 96M$' "$OUT" || fail "status does not show the user's memory.max 96M as met"
ctl --json status mga
check "status --json mga: exit status" "$RC" 0
got=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); u=d["users"][0]; g={x["kind"]:x for x in u["groups"]}
c=g["user"]["caps"]
print(c["memory.max"]["live"], c["memory.high"]["live"], c["memory.low"]["live"], c["memory.swap.max"]["live"], g["session"]["caps"]["memory.max"]["live"])' "$OUT") ||
	fail "status --json is not what was expected: $(cat "$OUT")"
check "status --json: user max/high/low/swap.max, session max as the kernel files hold them" "$got" \
	"$(cat "$U/memory.max") $(cat "$U/memory.high") $(cat "$U/memory.low") $(cat "$U/memory.swap.max") $(cat "$S/memory.max")"

# --- apply: a raise, dry run first ---
printf '%s\n' 'mga memory.max=128M memory.high=80M memory.swap.max=0 memory.low=16M session.memory.max=80M' >"$POLICY"
ctl apply --dry-run mga
check "apply --dry-run: exit status" "$RC" 0
check "apply --dry-run: nothing written" "$(caps)" "$((96 * M)) $((8 * M)) $((8 * M)) $((64 * M))"
has_line "user-$MG_UID_A memory.max 96M -> 128M (dry run)"
ctl apply mga
check "apply: exit status" "$RC" 0
check "apply: user max 128M, user low 16M, BASE low the sum 16M, session max 80M" "$(caps)" \
	"$((128 * M)) $((16 * M)) $((16 * M)) $((80 * M))"
has_line "user-$MG_UID_A memory.max 96M -> 128M"
has_line "$SN memory.max 64M -> 80M"

# --- a lowering: pending while the session runs, written with --lower ---
printf '%s\n' 'mga memory.max=72M memory.high=60M memory.swap.max=0 memory.low=16M session.memory.max=48M' >"$POLICY"
ctl apply mga
check "apply (lower): exit status" "$RC" 0
check "apply (lower) without --lower: nothing lowered" "$(caps)" "$((128 * M)) $((16 * M)) $((16 * M)) $((80 * M))"
has_line "user-$MG_UID_A memory.max 128M -> 72M pending (--lower to apply)"
ctl apply --lower mga
check "apply --lower: exit status" "$RC" 0
check "apply --lower: user max 72M, session max 48M" "$(caps)" "$((72 * M)) $((16 * M)) $((16 * M)) $((48 * M))"
check "apply --lower: user memory.high" "$(cat "$U/memory.high")" "$((60 * M))"
ctl apply mga
check "apply again: nothing left to change" "$RC $(tail -n 1 "$OUT")" "0 0 changed, 0 pending (--lower to apply), 0 failed"

# --- show and check on v2: memory.low applies, so neither says it does not
# (the host, on v1, says it: tests/cli) ---
for where in "" "--cgroup-root $BASE"; do
	ctl $where show mga
	check "show ${where:+$where }on cgroup v2: exit status" "$RC" 0
	grep -qE '^memory.low +16M ' "$OUT" || fail "show does not list memory.low=16M"
	! grep -q "not applied on cgroup v1" "$OUT" "$OUT.err" || fail "show on cgroup v2 marks a key as not applied"
	ctl $where --no-names check
	check "check ${where:+$where }on cgroup v2: exit status" "$RC" 0
	! grep -q "not applied on cgroup v1" "$OUT" "$OUT.err" || fail "check on cgroup v2 marks a key as not applied"
done

mg_go a
mg_wait a
[ "$MG_RC" = 0 ] || { cat "$W/a.out"; fail "su exited $MG_RC"; }
exit 0
