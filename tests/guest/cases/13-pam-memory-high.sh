#!/bin/bash
# memory.high throttles before memory.max kills: a process growing a little
# past the user's memory.high (no swap) is slowed down and reclaimed, the
# kernel counts `high` events, and nobody is OOM-killed.
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup 'mga memory.high=64M memory.max=96M memory.swap.max=0'

# The harness's grower (static, so a sanitizer build's shadow memory does
# not blur the sizes): 256 KiB steps, stopping as soon as the user group's
# memory.events counts a `high` event. Without swap the kernel throttles an
# overshoot of anonymous memory for long: keep it small.
grow=${MEMGUARD_GUEST_BIN:-}/grow
[ -x "$grow" ] || skip "no grow program in MEMGUARD_GUEST_BIN (cc missing?)"
U=$BASE/user-$MG_UID_A

mg_su_bg a mga "up \"ppid \$PPID\"; hold; $grow 90 $U/memory.events; up \"grown rc \$?\"; hold"
mg_expect a 60 '^ppid [0-9]+$'
supid=${MG_LINE#ppid }
S=$CGROOT$(mg_cgroup_of "$supid")
[ "${S%/*}" = "$U" ] || fail "the session is in '$S'"
[ "$(cat "$U/memory.high")" = $((64 << 20)) ] || fail "$U/memory.high is $(cat "$U/memory.high")"
[ "$(cat "$U/memory.max")" = $((96 << 20)) ] || fail "$U/memory.max is $(cat "$U/memory.max")"
info "before: $U memory.current $(cat "$U/memory.current") events: $(mg_events "$U")"
mg_go a
mg_expect a 100 '^grown rc [0-9]+$'
sed 's/^/    /' "$W/a.out"
info "$U memory.events: $(mg_events "$U")"
info "$U memory.peak: $(cat "$U/memory.peak" 2>/dev/null)"
rc=${MG_LINE##* }
[ "$rc" = 0 ] || fail "the grower ended with status $rc, expected 0 (4: no high event up to 90 MiB, 137: OOM-killed)"
high=$(mg_event "$U" high)
[ "${high:-0}" -gt 0 ] || fail "$U memory.events high is '$high', expected > 0"
for key in oom oom_kill; do
	v=$(mg_event "$U" $key)
	[ "$v" = 0 ] || fail "$U memory.events $key is '$v', expected 0"
done
peak=$(cat "$U/memory.peak" 2>/dev/null || echo 0)
[ "$peak" -gt $((64 << 20)) ] || fail "$U memory.peak $peak is not above memory.high"
info "ok: throttled ($high high events), not killed; peak $((peak >> 20)) MiB of 96 MiB"
mg_go a
mg_wait a
[ "$MG_RC" = 0 ] || { cat "$W/a.out"; fail "su exited $MG_RC"; }
exit 0
