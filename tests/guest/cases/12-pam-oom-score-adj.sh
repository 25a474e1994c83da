#!/bin/bash
# oom_score_adj from the policy: a negative value is applied (root in the
# guest holds CAP_SYS_RESOURCE), and a value set with that capability is a
# floor: the user's shell cannot go below it (the kernel says EACCES).
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup '*   memory.max=400M
mga oom_score_adj=-500
mgb oom_score_adj=300'

capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
(( (0x$capeff >> 24) & 1 )) || skip "no CAP_SYS_RESOURCE here (CapEff $capeff)"
before=$(cat /proc/self/oom_score_adj)

# Read back in the session, from the shell and from outside for su.
try='a=$(cat /proc/self/oom_score_adj); echo $W > /proc/self/oom_score_adj; rc=$?; b=$(cat /proc/self/oom_score_adj); up "ppid $PPID adj $a write rc $rc now $b"; hold'
mg_su_bg a mga "${try//\$W/-600}"
mg_su_bg b mgb "${try//\$W/0}"
for t in a b; do
	mg_expect $t 60 '^ppid [0-9]+ adj -?[0-9]+ write rc [0-9]+ now -?[0-9]+$'
	read -r _ supid _ adj _ _ rc _ now <<<"$MG_LINE"
	eval "supid_$t=$supid adj_$t=$adj rc_$t=$rc now_$t=$now"
done
info "mga: $(tr '\n' ' ' <"$W/a.out")"
info "mgb: $(tr '\n' ' ' <"$W/b.out")"

[ "$adj_a" = -500 ] || fail "mga's shell has oom_score_adj $adj_a, expected -500"
[ "$(cat /proc/$supid_a/oom_score_adj)" = -500 ] || fail "mga's su has oom_score_adj $(cat /proc/$supid_a/oom_score_adj)"
info "ok: oom_score_adj=-500 applied to su and inherited by the shell"
[ "$rc_a" != 0 ] && [ "$now_a" = -500 ] || fail "mga went below its floor: -600 write rc $rc_a, now $now_a"
grep -q 'Permission denied' "$W/a.out" || fail "mga's write of -600 failed without EACCES"
info "ok: mga cannot go below -500 (EACCES)"

[ "$adj_b" = 300 ] || fail "mgb's shell has oom_score_adj $adj_b, expected 300"
[ "$(cat /proc/$supid_b/oom_score_adj)" = 300 ] || fail "mgb's su has oom_score_adj $(cat /proc/$supid_b/oom_score_adj)"
[ "$rc_b" != 0 ] || fail "mgb lowered its oom_score_adj from 300 to 0: the policy's value is no floor"
grep -q 'Permission denied' "$W/b.out" || fail "mgb's write of 0 failed, but not with EACCES: $(cat "$W/b.out")"
[ "$now_b" = 300 ] || fail "mgb's oom_score_adj is $now_b after the refused write, expected 300"
info "ok: oom_score_adj=300 is a floor: 'echo 0 > /proc/self/oom_score_adj' -> EACCES, stays 300"

for t in a b; do
	mg_go $t
	mg_wait $t
	[ "$MG_RC" = 0 ] || { cat "$W/$t.out"; fail "su for $t exited $MG_RC"; }
done
[ "$(cat /proc/self/oom_score_adj)" = "$before" ] || fail "the case's own oom_score_adj changed"
exit 0
