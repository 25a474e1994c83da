#!/bin/bash
# memguard-guest: systemd
# What a user could use against the systemd backend, and the close record:
# an XDG_SESSION_ID in su's environment that names the session logind is
# about to make must not make the module believe no new scope was made
# (session.memory.high would be lost); and a session whose hog was
# OOM-killed in its scope leaves a close line with its peak and the kill.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"
S=/tmp/mg-hard
mkdir -p -m 1777 $S
useradd -u 2401 -m -s /bin/bash mgh || fail "useradd mgh"
POLICY=/etc/security/memguard-hard.conf
write_stack su-l "on_error=deny"
policy 'mgh memory.max=160M memory.swap.max=0 session.memory.max=64M session.memory.high=48M'

# --- the next session id, as logind will name it, in su's environment ---
last=$(journalctl -b --no-pager -o cat 2>/dev/null | sed -n 's/.*New session c\([0-9]*\) of user.*/\1/p' | sort -n | tail -n 1)
next=c$(( ${last:-0} + 1 ))
info "the next session id logind hands out: $next"
timeout -k 5 100 env XDG_SESSION_ID="$next" "${PRE[@]}" su -l mgh -c "cg=\$(sed -n 's/^0:://p' /proc/self/cgroup); echo \$cg >$S/x.cg; cat /sys/fs/cgroup\$cg/memory.high >$S/x.high; cat /sys/fs/cgroup\$cg/memory.max >$S/x.max" \
	</dev/null >$S/x.out 2>&1
check "su -l mgh with XDG_SESSION_ID=$next: status" "$?" 0
xcg=$(cat $S/x.cg)
[[ $xcg =~ /session-([^/]+)\.scope$ ]] || fail "mgh's session was in '$xcg', not in a scope"
info "the session got id ${BASH_REMATCH[1]} (predicted $next)"
check "session memory.max (via pam_systemd)" "$(cat $S/x.max)" $((64 * M))
check "session memory.high, set by phase=post despite the spoofed XDG_SESSION_ID" "$(cat $S/x.high)" $((48 * M))

# --- a hog killed in its scope: the close line says so ---
policy 'mgh memory.max=160M memory.swap.max=0 session.memory.max=48M'
timeout -k 5 100 "${PRE[@]}" su -l mgh -c "sed -n 's/^0:://p' /proc/self/cgroup >$S/h.cg; $HOG 200 >/dev/null; echo \$? >$S/h.hog" \
	</dev/null >$S/h.out 2>&1
check "su -l mgh (48M session cap): status" "$?" 0
check "mgh's hog under the session cap" "$(cat $S/h.hog)" 137
hcg=$(cat $S/h.cg)
expect_log "pam_memguard\(su-l:session\): session closed for mgh \(uid 2401\): group=/sys/fs/cgroup${hcg//./\\.} peak=[0-9]+ oom_kills=1 user_oom_kills=1 " \
	"the close record of the session with the OOM kill"
peak=$(journalctl -b --no-pager -o cat | grep -a "session closed for mgh" | tail -n 1 | sed -n 's/.* peak=\([0-9]*\).*/\1/p')
[ "$peak" -ge $((40 * M)) ] && [ "$peak" -le $((48 * M)) ] || fail "the close record's peak $peak is not the session's 40..48M"
info "ok: peak $peak"
exit 0
