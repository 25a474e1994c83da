#!/bin/bash
# memguard-guest: systemd
# memguardctl status against real systemd + logind as PID 1: while a
# `su -l` session made through the systemd backend is open, status finds
# the user slice's and the session scope's cgroups through the manager
# (ControlGroup) and logind (the user's sessions), and reports what the
# kernel holds there beside the policy: equal to what systemctl and
# loginctl say, a lowered rule pending, a user without a session without
# live state, and exit 1 when the bus is down.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"
ctl_setup status

useradd -u 2201 -m -s /bin/bash mgsa && useradd -u 2202 -m -s /bin/bash mgsb || fail "useradd"
SYNC=/tmp/mg-status-sync
mkdir -p -m 1777 $SYNC
POLICY=/etc/security/memguard-status.conf
write_stack su-l "on_error=deny debug"

# jq_py EXPR: evaluates EXPR over the JSON in $OUT (d) and prints the result
jq_py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$OUT" "$1"; }

policy '%all memory.max=900M
*    memory.max=300M memory.high=250M memory.swap.max=0 session.memory.max=64M
mgsa memory.min=8M'

login a mgsa
[[ $CG =~ ^/user\.slice/user-2201\.slice/session-([^/]+)\.scope$ ]] || fail "mgsa's shell is in '$CG', not in a session scope"
SID=${BASH_REMATCH[1]}
SCOPE=$(loginctl show-session "$SID" -P Scope)
check "loginctl: Scope of session $SID" "$SCOPE" "session-$SID.scope"
SCOPE_CG=$(prop "$SCOPE" ControlGroup)
SLICE_CG=$(prop user-2201.slice ControlGroup)
ALL_CG=$(prop user.slice ControlGroup)
check "ControlGroup of $SCOPE is the shell's cgroup" "$SCOPE_CG" "$CG"

# --- text: the backend chosen as the module does, the cgroups the manager names ---
mg status mgsa
check "status mgsa: exit status" "$RC" 0
check "status mgsa: first line" "$(head -n 1 "$OUT")" "backend systemd"
grep -qF "  all     user.slice  cgroup $ALL_CG " "$OUT" || fail "status does not show user.slice at $ALL_CG"
grep -qF "  user    user-2201.slice  cgroup $SLICE_CG " "$OUT" || fail "status does not show user-2201.slice at $SLICE_CG"
grep -qF "  session $SCOPE  cgroup $SCOPE_CG " "$OUT" || fail "status does not show $SCOPE at $SCOPE_CG"
info "ok: status names user.slice, user-2201.slice and $SCOPE by their ControlGroup"
sed 's/^/    /' "$OUT"
grep -q -E 'pending|differs' "$OUT" && fail "status marks a difference while the policy is what the login applied"

# --- JSON: valid, and the values systemctl reports ---
mg --json status mgsa
check "status --json mgsa: exit status" "$RC" 0
python3 -m json.tool "$OUT" >/dev/null || fail "status --json is not valid JSON"
info "ok: status --json parses (python3 -m json.tool)"
G='{g["kind"]+":"+g["name"]: g for g in d["users"][0]["groups"]}'
check "json: user, uid, live" "$(jq_py '(d["backend"], d["users"][0]["user"], d["users"][0]["uid"], d["users"][0]["live"])')" \
	"('systemd', 'mgsa', 2201, True)"
check "json: cgroup of $SCOPE" "$(jq_py "$G[\"session:$SCOPE\"][\"cgroup\"]")" "$SCOPE_CG"
check "json: cgroup of user-2201.slice" "$(jq_py "$G[\"user:user-2201.slice\"][\"cgroup\"]")" "$SLICE_CG"
check "json: cgroup of user.slice" "$(jq_py 'd["all"]["cgroup"]')" "$ALL_CG"
check "json: user-2201.slice memory.max live = systemctl MemoryMax" \
	"$(jq_py "$G[\"user:user-2201.slice\"][\"caps\"][\"memory.max\"][\"live\"]")" "$(prop user-2201.slice MemoryMax)"
check "json: user-2201.slice memory.high live = systemctl MemoryHigh" \
	"$(jq_py "$G[\"user:user-2201.slice\"][\"caps\"][\"memory.high\"][\"live\"]")" "$(prop user-2201.slice MemoryHigh)"
check "json: user-2201.slice memory.min live = systemctl MemoryMin" \
	"$(jq_py "$G[\"user:user-2201.slice\"][\"caps\"][\"memory.min\"][\"live\"]")" "$(prop user-2201.slice MemoryMin)"
check "json: $SCOPE memory.max live = systemctl MemoryMax" \
	"$(jq_py "$G[\"session:$SCOPE\"][\"caps\"][\"memory.max\"][\"live\"]")" "$(prop "$SCOPE" MemoryMax)"
check "json: user.slice memory.max live = systemctl MemoryMax" \
	"$(jq_py 'd["all"]["caps"]["memory.max"]["live"]')" "$(prop user.slice MemoryMax)"
check "json: user-2201.slice memory.max (live, policy, state)" \
	"$(jq_py "tuple($G[\"user:user-2201.slice\"][\"caps\"][\"memory.max\"][k] for k in ('live','policy','state'))")" \
	"($((300 * M)), $((300 * M)), 'ok')"
check "json: $SCOPE memory.current = the kernel's (within 16M)" \
	"$(jq_py "abs($G[\"session:$SCOPE\"][\"memory_current\"] - $(cat "/sys/fs/cgroup$SCOPE_CG/memory.current")) < 16 * 2**20")" True

# --- every user with live state: mgsa among them, mgsb not ---
mg status
check "status (no USER): exit status" "$RC" 0
grep -qx 'user mgsa (uid 2201)' "$OUT" || fail "status without USER does not list mgsa"
grep -q '^user mgsb ' "$OUT" && fail "status without USER lists mgsb, who has no session"
info "ok: status without USER lists mgsa and not mgsb"

# --- a user without a session: no live state ---
mg status mgsb 2202
check "status mgsb 2202: exit status" "$RC" 0
check "status mgsb 2202: 'no live state' lines" "$(grep -c '^  no live state: no user slice is running' "$OUT")" 2

# --- the policy lowers the cap while mgsa is logged in: pending ---
policy '%all memory.max=900M
*    memory.max=200M memory.high=150M memory.swap.max=0 session.memory.max=32M'
mg status mgsa
check "status after lowering: exit status" "$RC" 0
[ -s "$OUT.err" ] && fail "the lowered policy has problems: $(cat "$OUT.err")"
grep -E '^    memory.high +live 250M +policy 150M +pending: above the policy; lowered at a login once nothing runs in the group, or by apply --lower' "$OUT" >/dev/null ||
	fail "status does not mark user-2201.slice memory.high pending"
grep -E '^    memory.max +live 300M +policy 200M +pending: above the policy; lowered at a login once nothing runs in the group, or by apply --lower' "$OUT" >/dev/null ||
	fail "status does not mark user-2201.slice memory.max pending"
grep -E '^    memory.max +live 64M +policy 32M +differs' "$OUT" >/dev/null || fail "status does not mark $SCOPE memory.max differing"
grep -E '^    memory.min +live 8M +policy not set$' "$OUT" >/dev/null || fail "status does not show memory.min without a rule"
info "ok: a lowered user cap is pending, the session's differs, an unset one is only shown"

# --- the bus is down: exit 1, a clear message, nothing on stdout ---
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMPDIR/nobus "$CTL" --policy $POLICY status mgsa >"$OUT" 2>"$OUT.err"
check "status with the bus down: exit status" "$?" 1
grep -q 'cannot connect to the system bus' "$OUT.err" || fail "no clear error with the bus down"
check "status with the bus down: stdout" "$(cat "$OUT")" ""

logout a
check "mgsa's su exit status" "$RC" 0
if grep -l -E 'Sanitizer|runtime error' $SYNC/*.out "$OUT.err" 2>/dev/null; then
	fail "sanitizer reports"
fi
exit 0
