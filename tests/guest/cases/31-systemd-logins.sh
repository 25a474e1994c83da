#!/bin/bash
# memguard-guest: systemd
# The systemd backend through real clients and under failure, with systemd
# 252 and logind as PID 1's: `ssh -tt` to the guest's loopback and `su -l`,
# policy by @group and by uid range, two sessions of one user sharing the
# slice's total (the slice OOM-kills a hog, the other session lives on),
# negative and positive oom_score_adj, then systemd-logind masked and the
# system bus stopped (with the user's slice holding the caps and not): the
# documented result under on_error=deny and allow, one log line each, and
# a login that never hangs.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"
SSH_PID=
stop_ssh() { [ -z "$SSH_PID" ] || kill "$SSH_PID" 2>/dev/null; }
FAIL_HOOK=stop_ssh
event() { sed -n "s/^$2 //p" "$1"; }	# event FILE NAME: a counter of memory.events*

[ -x /usr/sbin/sshd ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
	skip "openssh-server/openssh-client not installed (make deps)"
# The root is a tmpfs overlay over the host's read-only root: accounts, PAM
# stacks and sshd's configuration exist only in this guest.
S=/tmp/mg-logins
mkdir -p -m 1777 $S
SYNC=$S	# for login/logout
groupadd mgstaff || fail "groupadd"
useradd -u 2101 -m -s /bin/bash -G mgstaff mgd || fail "useradd mgd"
useradd -u 3050 -m -s /bin/bash mge || fail "useradd mge"
POLICY=/etc/security/memguard-logins.conf
stack() { write_stack su-l "on_error=$1" && write_stack sshd "on_error=$1"; }	# stack ON_ERROR
stack deny
# The module's lines at warning or above, and how many there were at the
# mark. (Not --after-cursor: journalctl 252 combined with a match such as
# -p skips the first matching entry after the cursor.)
module_all() { journalctl -b --no-pager -o cat -p warning 2>/dev/null | grep -a 'pam_memguard('; }
mark() { MARK=$(module_all | grep -c .); }
module_lines() { module_all | tail -n +$((MARK + 1)); }
has_line() { module_lines | grep -a -q -E "$1"; }
one_line() {	# one_line REGEX WHAT: exactly one module line since the mark, matching
	local lines n
	until_ok 15 has_line "$1" ||
		fail "no log line /$1/ ($2); since the mark: $(module_lines | tail -n 5)"
	lines=$(module_lines)
	n=$(printf '%s\n' "$lines" | grep -c .)
	[ "$n" = 1 ] || fail "$2: $n module lines at warning or above, expected 1: $lines"
	info "ok: one line ($2): $lines"
}

policy '@mgstaff   memory.max=96M memory.swap.max=0 session.memory.max=80M oom_score_adj=-300
3000:3099  memory.max=120M memory.swap.max=0 session.memory.max=50M oom_score_adj=300'

# --- sshd on the guest's loopback, PAM service sshd ---
mkdir -p -m 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f $S/hostkey -C mg-guest-host || fail "ssh-keygen host"
ssh-keygen -q -t ed25519 -N '' -f $S/clientkey -C mg-guest-client || fail "ssh-keygen client"
install -d -o mgd -g mgd -m 700 /home/mgd/.ssh
install -o mgd -g mgd -m 600 $S/clientkey.pub /home/mgd/.ssh/authorized_keys
cat >$S/sshd_config <<EOF
Port 2222
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $S/hostkey
PidFile none
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthenticationMethods publickey
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin no
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
EOF
ip link set lo up 2>/dev/null
"${PRE[@]}" /usr/sbin/sshd -D -e -f $S/sshd_config 2>$S/sshd.log &
SSHD=$!
until_ok 30 grep -q 'Server listening on 127.0.0.1 port 2222' $S/sshd.log || { cat $S/sshd.log; fail "sshd did not start"; }
echo "[127.0.0.1]:2222 $(cat $S/hostkey.pub)" >$S/known_hosts
SSH=(ssh -F /dev/null -p 2222 -i $S/clientkey -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$S/known_hosts
	-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o ConnectTimeout=20 -o LogLevel=ERROR)

# --- session 1 of mgd (@mgstaff): ssh -tt, holding 40M ---
"${SSH[@]}" -tt mgd@127.0.0.1 "echo \$\$ >$S/hold.pid; exec $HOG 40 hold" </dev/null >$S/hold.out 2>&1 &
SSH_PID=$!
until_ok 60 grep -q 'hog: holding' $S/hold.out || { cat $S/hold.out; tail -n 20 $S/sshd.log; fail "no ssh session holding 40M within 60 s"; }
HPID=$(cat $S/hold.pid)
HCG=$(sed -n 's/^0:://p' /proc/$HPID/cgroup)
[[ $HCG =~ ^/user\.slice/user-2101\.slice/session-([^/]+)\.scope$ ]] || fail "mgd's ssh session is in '$HCG', not in a session scope of user-2101.slice"
SID_H=${BASH_REMATCH[1]} SCOPE_H=$U/user-2101.slice/session-${BASH_REMATCH[1]}.scope
info "ssh: mgd's holder $HPID in $HCG"
check "loginctl: Name of ssh session $SID_H" "$(loginctl show-session "$SID_H" -P Name)" mgd
check "loginctl: Service of session $SID_H" "$(loginctl show-session "$SID_H" -P Service)" sshd
check "loginctl: Type of session $SID_H (ssh -tt)" "$(loginctl show-session "$SID_H" -P Type)" tty
[[ $(loginctl show-session "$SID_H" -P TTY) == pts/* ]] || fail "session $SID_H has no pts: '$(loginctl show-session "$SID_H" -P TTY)'"
check "user-2101.slice MemoryMax (by @mgstaff)" "$(prop user-2101.slice MemoryMax)" $((96 * M))
check "$U/user-2101.slice/memory.max" "$(cat $U/user-2101.slice/memory.max)" $((96 * M))
check "$U/user-2101.slice/memory.swap.max" "$(cat $U/user-2101.slice/memory.swap.max)" 0
check "$SCOPE_H/memory.max (ssh, via pam_systemd)" "$(cat "$SCOPE_H/memory.max")" $((80 * M))
check "oom_score_adj of the ssh session's holder (negative)" "$(cat /proc/$HPID/oom_score_adj)" -300

# --- a session cap below the user's free share: the scope kills, not the slice ---
POLICY_BASE=$(cat $POLICY)
policy "$(printf '%s\n' "$POLICY_BASE" | sed '/^@mgstaff/s/session.memory.max=80M/session.memory.max=32M/')"
slice_oom0=$(event $U/user-2101.slice/memory.events.local oom)
timeout -k 5 100 "${PRE[@]}" su -l mgd -c "cg=\$(sed -n 's/^0:://p' /proc/self/cgroup); $HOG 200 >/dev/null; echo \$? >$S/s32.hog; cat /sys/fs/cgroup\$cg/memory.max >$S/s32.max; cat /sys/fs/cgroup\$cg/memory.events.local >$S/s32.events" \
	</dev/null >$S/s32.out 2>&1
check "su -l mgd (32M session cap): status" "$?" 0
check "mgd's hog under a 32M session cap" "$(cat $S/s32.hog)" 137
check "that session's memory.max" "$(cat $S/s32.max)" $((32 * M))
[ "$(event $S/s32.events oom_kill)" -ge 1 ] && [ "$(event $S/s32.events oom)" -ge 1 ] ||
	fail "the session scope did not OOM-kill at its own cap: $(tr '\n' ' ' <$S/s32.events)"
check "user-2101.slice memory.events.local oom (the slice's cap not reached)" \
	"$(event $U/user-2101.slice/memory.events.local oom)" "$slice_oom0"
kill -0 "$HPID" 2>/dev/null || fail "the ssh session's holder $HPID died with the other session's hog"
check "$SCOPE_H memory.events oom_kill (the other session, untouched)" "$(event "$SCOPE_H/memory.events" oom_kill)" 0
check "ssh session $SID_H still known to logind" "$(loginctl show-session "$SID_H" -P Name)" mgd
policy "$POLICY_BASE"

# --- session 2 of mgd: su -l; its hog fills the slice's total ---
timeout -k 5 100 "${PRE[@]}" su -l mgd -c "sed -n 's/^0:://p' /proc/self/cgroup >$S/su.cg; $HOG 200 >/dev/null; echo \$? >$S/su.hog" \
	</dev/null >$S/su.out 2>&1
check "su -l mgd: status" "$?" 0
check "mgd's hog in the second session" "$(cat $S/su.hog)" 137
SUCG=$(cat $S/su.cg)
[[ $SUCG =~ ^/user\.slice/user-2101\.slice/session-([^/]+)\.scope$ ]] || fail "mgd's su session was in '$SUCG'"
[ "${BASH_REMATCH[1]}" != "$SID_H" ] || fail "su -l got the ssh session's scope"
info "ok: su -l mgd ran in session ${BASH_REMATCH[1]}, beside ssh session $SID_H"
slice_oom=$(event $U/user-2101.slice/memory.events.local oom)
[ "${slice_oom:-0}" -ge 1 ] || fail "user-2101.slice hit no limit of its own: $(tr '\n' ' ' <$U/user-2101.slice/memory.events.local)"
slice_kills=$(event $U/user-2101.slice/memory.events oom_kill)
[ "${slice_kills:-0}" -ge 1 ] || fail "no OOM kill in user-2101.slice: $(tr '\n' ' ' <$U/user-2101.slice/memory.events)"
info "ok: user-2101.slice memory.events.local oom=$slice_oom, memory.events oom_kill=$slice_kills: the shared 96M total killed the hog, not a session cap"
kill -0 "$HPID" 2>/dev/null || fail "the ssh session's holder $HPID died with the other session's hog"
check "the holder's cgroup after the kill" "$(sed -n 's/^0:://p' /proc/$HPID/cgroup)" "$HCG"
check "$SCOPE_H memory.events oom_kill (untouched session)" "$(event "$SCOPE_H/memory.events" oom_kill)" 0
check "session $SID_H still known to logind" "$(loginctl show-session "$SID_H" -P Name)" mgd

# --- mge (uid 3050, by the range 3000:3099): su -l ---
timeout -k 5 100 "${PRE[@]}" su -l mge -c "sed -n 's/^0:://p' /proc/self/cgroup >$S/e.cg; cat /proc/self/oom_score_adj >$S/e.adj; cat /sys/fs/cgroup\$(cat $S/e.cg)/memory.max >$S/e.max" \
	</dev/null >$S/e.out 2>&1
check "su -l mge: status" "$?" 0
[[ $(cat $S/e.cg) =~ ^/user\.slice/user-3050\.slice/session-[^/]+\.scope$ ]] || fail "mge's session was in '$(cat $S/e.cg)'"
check "user-3050.slice MemoryMax (by 3000:3099)" "$(prop user-3050.slice MemoryMax)" $((120 * M))
check "mge's session scope memory.max" "$(cat $S/e.max)" $((50 * M))
check "mge's oom_score_adj (positive)" "$(cat $S/e.adj)" 300

# --- ssh logout: logind lets the session go ---
kill "$SSH_PID"
wait "$SSH_PID" 2>/dev/null
SSH_PID=
until_ok 30 sh -c "! loginctl show-session '$SID_H' >/dev/null 2>&1" || fail "session $SID_H outlived its ssh connection"
until_ok 10 sh -c "! kill -0 $HPID 2>/dev/null" || fail "the holder $HPID outlived its ssh session"
info "ok: ssh session $SID_H and its holder are gone after logout"
kill "$SSHD" 2>/dev/null
wait "$SSHD" 2>/dev/null

# login_timed TAG USER: su -l in the foreground; RC, SECS, CG, ADJ
login_timed() {
	local t0=${EPOCHREALTIME/./} t1
	rm -f $S/$1.*
	timeout -k 5 60 "${PRE[@]}" su -l "$2" -c "sed -n 's/^0:://p' /proc/self/cgroup >$S/$1.cg; cat /proc/self/oom_score_adj >$S/$1.adj" \
		</dev/null >$S/$1.out 2>&1
	RC=$?
	t1=${EPOCHREALTIME/./}
	SECS=$(((t1 - t0) / 1000000))
	CG=$(cat $S/$1.cg 2>/dev/null) ADJ=$(cat $S/$1.adj 2>/dev/null)
	info "$1: su -l $2 status $RC after ${SECS}s, cgroup '$CG', oom_score_adj '$ADJ'"
	[ "$SECS" -lt 20 ] || fail "$1: the login took ${SECS}s"
}
# refused TAG WHAT REGEX: a login of mge that the stack must refuse, its
# command never run, and REGEX its one module line since the mark
refused() {
	mark
	login_timed "$1" mge
	[ "$RC" != 0 ] || fail "$2: the login was let in (cgroup '$CG')"
	info "ok: su -l mge $2: refused (status $RC)"
	[ -z "$CG" ] || fail "$2: the refused login ran its command in '$CG'"
	one_line "$3" "$2"
}

# --- systemd-logind masked and stopped ---
# A failure from here on still leaves the bus and logind to the next case.
restore_services() {
	stop_ssh
	systemctl unmask --runtime -q systemd-logind.service dbus.service dbus.socket 2>/dev/null
	systemctl start dbus.socket dbus.service systemd-logind.service 2>/dev/null
}
FAIL_HOOK=restore_services
policy '3000:3099  memory.max=110M memory.swap.max=0 session.memory.max=50M oom_score_adj=300'
systemctl mask --runtime -q systemd-logind.service || fail "cannot mask systemd-logind"
systemctl stop systemd-logind.service || fail "cannot stop systemd-logind"
until_ok 10 sh -c '! systemctl is-active -q systemd-logind.service' || fail "systemd-logind still active"
# Without logind pam_systemd places the caller nowhere: it would run in
# no user slice, outside every cap, which goes through on_error.
NOSLICE='phase=post: pam_systemd made no session scope for mge and the session is in no user slice'
refused nologind "without logind, on_error=deny" \
	"pam_memguard\\(su-l:session\\): $NOSLICE .*; refusing the session \\(on_error=deny\\)"
check "user-3050.slice MemoryMax without logind (set by the manager)" "$(prop user-3050.slice MemoryMax)" $((110 * M))
stack allow
mark
login_timed nologindallow mge
check "su -l mge without logind, on_error=allow: status" "$RC" 0
[[ $CG == */user-3050.slice/* ]] && fail "without logind the login still got into the user slice: $CG"
check "oom_score_adj without logind" "$ADJ" 300
one_line "pam_memguard\\(su-l:session\\): $NOSLICE .*; the session runs outside the user's caps \\(on_error=allow\\)" "logind down, allow"
# One line stacked after pam_systemd, no phase=post line: a pam_systemd
# that failed leaves no sign but the stack, and the line checks itself.
cat >/etc/pam.d/su-l <<PAM
auth     sufficient pam_rootok.so
auth     required   pam_permit.so
account  required   pam_permit.so
password required   pam_deny.so
session  required   pam_unix.so
session  optional   pam_systemd.so
session  required   $MOD backend=systemd policy=$POLICY on_error=deny
PAM
AFTER_LINE='pam_memguard\(su-l:session\): pam_systemd made no session scope for mge and the session is in no user slice \(is systemd-logind running\?\); refusing the session \(on_error=deny\)'
refused nologindafter "without logind, one line after pam_systemd, on_error=deny" "$AFTER_LINE"
# The same with that one line a phase=post line, which then does the whole job.
sed -i "s|^session  required   $MOD backend=systemd |session  required   $MOD phase=post |" /etc/pam.d/su-l
grep -q "$MOD phase=post policy=" /etc/pam.d/su-l || fail "the su-l stack has no lone phase=post line: $(cat /etc/pam.d/su-l)"
refused nologindpost "without logind, a lone phase=post line, on_error=deny" "$AFTER_LINE"
systemctl unmask --runtime -q systemd-logind.service
systemctl start systemd-logind.service || fail "cannot start systemd-logind again"
until_ok 30 systemctl is-active -q systemd-logind.service || fail "systemd-logind did not come back"

# A session of mge holds user-3050.slice while the bus is down, so that
# the slice's files show the policy's caps and the first line needs no bus.
stack deny
login holde mge
[[ $CG == /user.slice/user-3050.slice/session-*.scope ]] || fail "mge's holding session is in '$CG'"
check "$U/user-3050.slice/memory.max (held by a session)" "$(cat $U/user-3050.slice/memory.max)" $((110 * M))

# --- the system bus stopped ---
policy '3000:3099  memory.max=100M memory.swap.max=0 session.memory.max=50M oom_score_adj=300'
stack allow
systemctl mask --runtime -q dbus.service dbus.socket || fail "cannot mask dbus"
systemctl stop dbus.socket dbus.service || fail "cannot stop dbus"
until_ok 10 sh -c '! systemctl is-active -q dbus.service' || fail "dbus still active"
mark
login_timed nobus mge
check "su -l mge without a bus, on_error=allow: status" "$RC" 0
check "oom_score_adj without a bus (needs none)" "$ADJ" 300
check "user-3050.slice MemoryMax untouched without a bus" "$(prop user-3050.slice MemoryMax)" $((110 * M))
one_line 'pam_memguard\(su-l:session\): cannot connect to the system bus: .*; letting the user in without limits \(on_error=allow\)' "bus down, allow"
stack deny
NOBUS_LINE='pam_memguard\(su-l:session\): cannot connect to the system bus: .*; refusing the session \(on_error=deny\)'
refused nobusdeny "without a bus, on_error=deny" "$NOBUS_LINE"
# The policy the slice's files show already: the first line reads no bus,
# pam_systemd cannot place the caller, the phase=post line finds it outside.
policy '3000:3099  memory.max=110M memory.swap.max=0 session.memory.max=50M oom_score_adj=300'
refused nobusheld "without a bus, on_error=deny, the slice holding the caps" \
	"pam_memguard\\(su-l:session\\): $NOSLICE .*; refusing the session \\(on_error=deny\\)"
stack allow
mark
login_timed nobusheldallow mge
check "su -l mge without a bus, on_error=allow, slice holding the caps: status" "$RC" 0
[[ $CG == */user-3050.slice/* ]] && fail "without a bus the login still got into the user slice: $CG"
one_line "pam_memguard\\(su-l:session\\): $NOSLICE .*; the session runs outside the user's caps \\(on_error=allow\\)" "bus down, allow, slice holds"
# A stack without the phase=post line: nothing would see where pam_systemd
# left the caller, so the first line tries the bus even with the slice
# holding the caps, and a bus that is down fails as above.
stack deny
sed -i '/phase=post/d' /etc/pam.d/su-l
refused nobusnopost "without a bus or a phase=post line, on_error=deny, the slice holding the caps" "$NOBUS_LINE"
# Leave the bus and logind as the next case expects them: logind stops
# with the bus.
systemctl unmask --runtime -q dbus.service dbus.socket
systemctl start dbus.socket dbus.service systemd-logind.service || fail "dbus and logind do not start again"
until_ok 30 systemctl is-active -q systemd-logind.service || fail "systemd-logind did not come back"
info "ok: dbus and systemd-logind are back"
logout holde
check "mge's holding session: su's status at logout" "$RC" 0

if grep -l -E 'Sanitizer|runtime error' $S/*.out $S/sshd.log 2>/dev/null; then
	grep -h -A5 -E 'Sanitizer|runtime error' $S/*.out $S/sshd.log | head -n 40
	fail "sanitizer reports in the logins' output"
fi
exit 0
