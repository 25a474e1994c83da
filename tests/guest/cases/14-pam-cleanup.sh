#!/bin/bash
# close_session leaves no empty group behind; a session group that a
# background process keeps busy stays, still capped, and the next login of
# that user removes it once the process is gone. Two sessions of one user
# share the user group; closing one keeps the other's.
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup '* memory.max=300M session.memory.max=100M'
U=$BASE/user-$MG_UID_A

# 1. A plain login and logout.
mg_su mga 'cat /proc/self/cgroup'
[ "$MG_RC" = 0 ] || fail "su exited $MG_RC: $MG_OUT"
case $MG_OUT in 0::/memguard/user-$MG_UID_A/session-*) ;; *) fail "the shell ran in '$MG_OUT'" ;; esac
[ -e "$U" ] && fail "$U left after logout: $(find "$U" -type d | tr '\n' ' ')"
info "ok: logout removed ${MG_OUT#0::} and its user group"

# 2. Two sessions of one user; close one.
mg_su_bg a mga 'up "ppid $PPID"; hold'
mg_su_bg b mga 'up "ppid $PPID"; hold'
mg_expect a 60 '^ppid [0-9]+$'
S_a=$CGROOT$(mg_cgroup_of "${MG_LINE#ppid }")
mg_expect b 60 '^ppid [0-9]+$'
S_b=$CGROOT$(mg_cgroup_of "${MG_LINE#ppid }")
[ "${S_a%/*}" = "$U" ] && [ "${S_b%/*}" = "$U" ] && [ "$S_a" != "$S_b" ] || fail "sessions in '$S_a' and '$S_b'"
mg_go a
mg_wait a
[ "$MG_RC" = 0 ] || fail "first su exited $MG_RC"
[ -e "$S_a" ] && fail "$S_a left after its logout"
[ -d "$S_b" ] || fail "closing one session removed the other's group $S_b"
info "ok: closing one of two sessions removed only its own group"
mg_go b
mg_wait b
[ -e "$U" ] && fail "$U left after the last logout"
info "ok: the last logout removed $U"

# 3. A background process outlives the login.
mkfifo -m 666 "$MG_SYNC/bg.go"
exec {bggo}<>"$MG_SYNC/bg.go"
mg_su_bg c mga "(exec 8<$MG_SYNC/bg.go; read -t 100 -u 8 _) </dev/null >/dev/null 2>&1 & up \"ppid \$PPID bg \$!\""
mg_expect c 60 '^ppid [0-9]+ bg [0-9]+$'
bgpid=${MG_LINE##* }
mg_wait c
[ "$MG_RC" = 0 ] || { cat "$W/c.out"; fail "su exited $MG_RC"; }
kill -0 "$bgpid" 2>/dev/null || fail "the background process $bgpid is gone"
S_c=$CGROOT$(mg_cgroup_of "$bgpid")
[ "${S_c%/*}" = "$U" ] || fail "background process $bgpid is in '$S_c', not in a session of $U"
[ -d "$S_c" ] || fail "busy session group removed"
[ "$(cat "$S_c/memory.max")" = $((100 << 20)) ] || fail "busy $S_c/memory.max is $(cat "$S_c/memory.max")"
[ "$(cat "$U/memory.max")" = $((300 << 20)) ] || fail "$U/memory.max is $(cat "$U/memory.max")"
info "ok: busy $S_c stays after logout, still capped (memory.max $(cat "$S_c/memory.max"))"

# The process ends; the group stays empty until mga logs in again.
echo go >&$bggo
mg_until 30 mg_unpopulated "$S_c" || fail "$S_c still populated: $(cat "$S_c/cgroup.procs")"
[ -d "$S_c" ] || fail "$S_c vanished by itself"
mg_su mga 'cat /proc/self/cgroup'
[ "$MG_RC" = 0 ] || fail "su exited $MG_RC: $MG_OUT"
[ -e "$S_c" ] && fail "$S_c not reaped by the next login"
[ -e "$U" ] && fail "$U left after the last logout"
info "ok: the next login reaped $S_c; nothing left under $BASE"
left=$(find "$BASE" -mindepth 1 -type d)
[ -z "$left" ] || fail "groups left under $BASE: $left"
exit 0
