#!/bin/bash
# memory.min and memory.low of two protected users: BASE carries the sum of
# the user groups' (a protection holds only as far as every ancestor
# carries it), the sum stays while a user still has a session, and drops
# by that user's share when their last session ends.
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup '*       memory.max=300M
mga     memory.min=8M memory.low=16M
mgb     memory.min=4M memory.low=32M'

M=$((1024 * 1024))
sums() { echo "$(cat "$BASE/memory.min") $(cat "$BASE/memory.low")"; }
check_sums() {	# check_sums WHAT MIN_MB LOW_MB
	local got
	got=$(sums 2>&1)
	[ "$got" = "$(($2 * M)) $(($3 * M))" ] || fail "$1: $BASE memory.min memory.low are '$got', expected $2M $3M"
	info "ok: $1: $BASE memory.min=$2M memory.low=$3M"
}
HELD='up "pid $$ uid $(id -u)"; hold'

# mga once, mgb twice, all open at the same time.
mg_su_bg a mga "$HELD"
mg_expect a 60 '^pid [0-9]+ uid 2001$'
mg_su_bg b1 mgb "$HELD"
mg_expect b1 60 '^pid [0-9]+ uid 2002$'
mg_su_bg b2 mgb "$HELD"
mg_expect b2 60 '^pid [0-9]+ uid 2002$'
U_a=$BASE/user-$MG_UID_A U_b=$BASE/user-$MG_UID_B U_c=$BASE/user-$MG_UID_C
[ "$(cat "$U_a/memory.min") $(cat "$U_a/memory.low")" = "$((8 * M)) $((16 * M))" ] || fail "$U_a protections: $(cat "$U_a/memory.min" "$U_a/memory.low")"
[ "$(cat "$U_b/memory.min") $(cat "$U_b/memory.low")" = "$((4 * M)) $((32 * M))" ] || fail "$U_b protections: $(cat "$U_b/memory.min" "$U_b/memory.low")"
info "ok: user-2001 min 8M low 16M, user-2002 min 4M low 32M"
check_sums "mga and mgb (twice) logged in" 12 48

# One of mgb's two sessions ends: mgb is still protected.
mg_go b1
mg_wait b1
[ "$MG_RC" = 0 ] || { cat "$W/b1.out"; fail "mgb's first su exited $MG_RC"; }
[ -d "$U_b" ] || fail "$U_b is gone while mgb still has a session"
check_sums "mgb's first session ended, the second still open" 12 48

# mgb's last session ends: the sum drops by mgb's share.
mg_go b2
mg_wait b2
[ "$MG_RC" = 0 ] || { cat "$W/b2.out"; fail "mgb's second su exited $MG_RC"; }
[ -e "$U_b" ] && fail "$U_b still exists after mgb's last logout"
check_sums "mgb's last session ended" 8 16

# A user without protections coming and going changes nothing.
mg_su mgc 'echo "uid $(id -u)"'
[ "$MG_RC" = 0 ] || { echo "$MG_OUT"; fail "mgc's su exited $MG_RC"; }
[ -e "$U_c" ] && fail "$U_c still exists after mgc's logout"
check_sums "mgc (no protections) logged in and out" 8 16

mg_go a
mg_wait a
[ "$MG_RC" = 0 ] || { cat "$W/a.out"; fail "mga's su exited $MG_RC"; }
check_sums "mga's last session ended" 0 0
left=$(find "$BASE" -mindepth 1 -type d)
[ -z "$left" ] || fail "groups left under $BASE: $left"
mg_dump_logs
exit 0
