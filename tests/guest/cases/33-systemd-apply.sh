#!/bin/bash
# memguard-guest: systemd
# memguardctl apply against real systemd + logind as PID 1: while a
# `su -l` session made through the systemd backend is open, the policy
# changes and apply brings user.slice, user-UID.slice and the session
# scope in line through SetUnitProperties: a raise is written (systemctl
# and the kernel file agree), a lowering stays pending without --lower and
# is written with it, a session rule that is gone is reset, --dry-run and
# an exempt user change nothing.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"
show_dropins() {
	echo "--- runtime drop-ins:"; ls -R /run/systemd/system.control /run/systemd/transient 2>/dev/null | sed 's/^/    /'
}
FAIL_HOOK_MORE=show_dropins
ctl_setup apply

useradd -u 2301 -m -s /bin/bash mgap || fail "useradd"
SYNC=/tmp/mg-apply-sync
mkdir -p -m 1777 $SYNC
POLICY=/etc/security/memguard-apply.conf
write_stack su-l "on_error=deny debug"

has_line() { grep -qxF "$1" "$OUT" || fail "no line '$1' in the output"; info "ok: line: $1"; }
kfile() { cat "/sys/fs/cgroup$1"; }
SL=user-2301.slice

policy '%all memory.max=900M
*    memory.max=300M memory.high=250M session.memory.max=64M session.memory.high=48M'
login a mgap
[[ $CG =~ ^/user\.slice/user-2301\.slice/session-([^/]+)\.scope$ ]] || fail "mgap's shell is in '$CG', not in a session scope"
SCOPE=session-${BASH_REMATCH[1]}.scope
SCOPE_CG=$(prop "$SCOPE" ControlGroup)
SLICE_CG=$(prop $SL ControlGroup)
state() { echo "$(prop user.slice MemoryMax) $(prop $SL MemoryMax) $(prop $SL MemoryHigh) $(prop "$SCOPE" MemoryMax) $(prop "$SCOPE" MemoryHigh)"; }
check "after login: user.slice, $SL MemoryMax/High, $SCOPE MemoryMax/High" "$(state)" \
	"$((900 * M)) $((300 * M)) $((250 * M)) $((64 * M)) $((48 * M))"

# --- a raise: --dry-run writes nothing, apply writes it ---
policy '%all memory.max=1000M
*    memory.max=400M memory.high=350M session.memory.max=128M session.memory.high=100M
mgap memory.min=16M'
mg apply --dry-run mgap
check "apply --dry-run: exit status" "$RC" 0
check "apply --dry-run: nothing changed" "$(state)" "$((900 * M)) $((300 * M)) $((250 * M)) $((64 * M)) $((48 * M))"
has_line "$SL memory.max 300M -> 400M (dry run)"
has_line "$SCOPE memory.high 48M -> 100M (dry run)"
has_line "dry run: 6 would change, 0 pending (--lower to apply), nothing written"
# Earlier cases' users may still have protected slices in this boot, on
# their way out: the sum would count them, or not, by the moment.
wait_protected_slices_gone 2301
mg apply mgap
check "apply (raise): exit status" "$RC" 0
sed 's/^/    /' "$OUT"
check "apply (raise): written, as systemctl shows" "$(state)" \
	"$((1000 * M)) $((400 * M)) $((350 * M)) $((128 * M)) $((100 * M))"
check "apply (raise): $SL memory.max in the kernel" "$(kfile "$SLICE_CG/memory.max")" "$((400 * M))"
check "apply (raise): $SCOPE memory.max in the kernel" "$(kfile "$SCOPE_CG/memory.max")" "$((128 * M))"
check "apply (raise): $SCOPE memory.high in the kernel" "$(kfile "$SCOPE_CG/memory.high")" "$((100 * M))"
has_line "$SL memory.max 300M -> 400M"
has_line "$SL memory.min 0 -> 16M"
# Protections hold only as far as every ancestor carries them.
grep -qE "^user\.slice memory\.min [^ ]+ -> [^ ]+ \(the sum of the user slices'\)$" "$OUT" ||
	fail "no line for user.slice memory.min (the sum of the user slices') in the output"
check "apply (raise): $SL and user.slice MemoryMin (the sum of the user slices')" \
	"$(prop $SL MemoryMin) $(prop user.slice MemoryMin)" "$((16 * M)) $((16 * M))"
check "apply (raise): $SL memory.min in the kernel" "$(kfile "$SLICE_CG/memory.min")" "$((16 * M))"
has_line "7 changed, 0 pending (--lower to apply), 0 failed"
# Runtime values, as the module writes them: a drop-in under /run.
[ -e "/run/systemd/system.control/$SL.d/50-MemoryMax.conf" ] || fail "no runtime drop-in for $SL MemoryMax"
# Every live user: other cases' users may still be live in this boot, so
# the first run may change theirs; a second one changes nothing.
mg apply
check "apply (every live user): exit status" "$RC" 0
mg apply
check "apply again (every live user): exit status and summary" "$RC $(tail -n 1 "$OUT")" \
	"0 0 changed, 0 pending (--lower to apply), 0 failed"

# --- a lowering: pending without --lower, written with it; a session rule gone: reset ---
policy '%all memory.max=1000M
*    memory.max=200M memory.high=150M session.memory.max=96M'
mg apply mgap
check "apply (lower) without --lower: exit status" "$RC" 0
sed 's/^/    /' "$OUT"
has_line "$SL memory.max 400M -> 200M pending (--lower to apply)"
has_line "$SCOPE memory.max 128M -> 96M pending (--lower to apply)"
has_line "$SCOPE memory.high 100M -> max (no rule sets it: systemd's default)"
check "apply (lower) without --lower: limits kept, the reset written" "$(state)" \
	"$((1000 * M)) $((400 * M)) $((350 * M)) $((128 * M)) infinity"
check "apply (lower) without --lower: $SL memory.max in the kernel" "$(kfile "$SLICE_CG/memory.max")" "$((400 * M))"
mg --json apply --lower --dry-run mgap
check "apply --lower --dry-run: exit status" "$RC" 0
check "apply --lower --dry-run: nothing changed" "$(state)" "$((1000 * M)) $((400 * M)) $((350 * M)) $((128 * M)) infinity"
check "apply --lower --dry-run --json: would write 3, nothing written" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["would_write"], d["pending"], [c["action"] for c in d["changes"]], any(c["written"] for c in d["changes"]))' "$OUT")" \
	"3 0 ['lowered', 'lowered', 'lowered'] False"
mg apply --lower mgap
check "apply --lower: exit status" "$RC" 0
sed 's/^/    /' "$OUT"
check "apply --lower: written, as systemctl shows" "$(state)" \
	"$((1000 * M)) $((200 * M)) $((150 * M)) $((96 * M)) infinity"
check "apply --lower: $SL memory.max in the kernel" "$(kfile "$SLICE_CG/memory.max")" "$((200 * M))"
check "apply --lower: $SCOPE memory.max in the kernel" "$(kfile "$SCOPE_CG/memory.max")" "$((96 * M))"
has_line "$SL memory.max 400M -> 200M lowered (--lower)"

# --- an exempt user is left alone ---
policy '%all memory.max=1000M
mgap exempt
*    memory.max=100M'
mg apply --lower mgap
check "apply to an exempt user: exit status" "$RC" 0
has_line "user mgap (uid 2301): exempt by the policy, left alone"
has_line "0 changed, 0 pending (--lower to apply), 0 failed"
check "apply to an exempt user: nothing of theirs changed" "$(state)" \
	"$((1000 * M)) $((200 * M)) $((150 * M)) $((96 * M)) infinity"

# --- the bus is down: exit 1, nothing written ---
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMPDIR/nobus "$CTL" --policy $POLICY apply mgap >"$OUT" 2>"$OUT.err"
check "apply with the bus down: exit status" "$?" 1
grep -q 'cannot connect to the system bus' "$OUT.err" || fail "no clear error with the bus down"

logout a
check "mgap's su exit status" "$RC" 0
if grep -l -E 'Sanitizer|runtime error' $SYNC/*.out "$OUT.err" 2>/dev/null; then
	fail "sanitizer reports"
fi
exit 0
