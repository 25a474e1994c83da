#!/bin/bash
# memguard-guest: systemd
# The systemd backend against real systemd 252 + logind as PID 1: `su -l`
# from the test unit (outside any session) through a stack of
#   pam_memguard backend=systemd / pam_systemd / pam_memguard phase=post.
# Asserts on what logind, the manager and the kernel report: the session
# scope, user-UID.slice and user.slice properties and their memory.* files,
# the scope's memory.max (via pam_systemd) and memory.high (phase=post),
# oom_score_adj, an OOM kill inside the scope, raise-only (pending), the
# reset of a removed rule, no rewrite of an unchanged one, the "no new
# scope" log of a nested su, and a single line stacked after pam_systemd.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"
SDVER=$(systemctl --version | awk 'NR==1 {print $2}')
info "systemd $SDVER, module $MOD"

# The root is a tmpfs overlay over the host's read-only root: these
# accounts and the su-l stack exist only in this guest.
useradd -u 2001 -m -s /bin/bash mga && useradd -u 2002 -m -s /bin/bash mgb &&
	useradd -u 2004 -m -s /bin/bash mgn || fail "useradd"
SYNC=/tmp/mg-sync
mkdir -p -m 1777 $SYNC
POLICY=/etc/security/memguard-test.conf
write_stack su-l "on_error=deny debug"

policy '%all memory.max=900M
*    memory.max=300M memory.high=250M memory.swap.max=0 session.memory.max=64M oom_score_adj=200
mga  session.memory.high=48M oom.group=yes memory.min=8M memory.low=16M
mgn  memory.max=300M session.memory.high=40M'

# --- mga: a new session from outside any session ---
NESTED='true'
[ ${#PRE[@]} = 0 ] && NESTED="su -l mgb -c 'sed -n s/^0:://p /proc/self/cgroup' </dev/null >$SYNC/nested.out 2>&1; echo \$? >$SYNC/nested.done"
login a mga "$NESTED"
SHELL_A=$SHELL_PID SU_A=$SU_PID
[[ $CG =~ ^/user\.slice/user-2001\.slice/session-([^/]+)\.scope$ ]] || fail "mga's shell is in '$CG', not in a session scope of user-2001.slice"
SID_A=${BASH_REMATCH[1]} SCOPE_A=$U/user-2001.slice/session-${BASH_REMATCH[1]}.scope
check "loginctl: Name of session $SID_A" "$(loginctl show-session "$SID_A" -P Name)" mga
check "loginctl: Scope of session $SID_A" "$(loginctl show-session "$SID_A" -P Scope)" "session-$SID_A.scope"
check "loginctl: Leader of session $SID_A" "$(loginctl show-session "$SID_A" -P Leader)" "$SU_A"
check "loginctl: State of session $SID_A" "$(loginctl show-session "$SID_A" -P Active)" yes

# Per user: runtime properties of user-2001.slice, and the kernel's files.
check "user-2001.slice MemoryMax" "$(prop user-2001.slice MemoryMax)" $((300 * M))
check "user-2001.slice MemoryHigh" "$(prop user-2001.slice MemoryHigh)" $((250 * M))
check "user-2001.slice MemorySwapMax" "$(prop user-2001.slice MemorySwapMax)" 0
check "$U/user-2001.slice/memory.max" "$(cat $U/user-2001.slice/memory.max)" $((300 * M))
check "$U/user-2001.slice/memory.high" "$(cat $U/user-2001.slice/memory.high)" $((250 * M))
check "$U/user-2001.slice/memory.swap.max" "$(cat $U/user-2001.slice/memory.swap.max)" 0
check "user-2001.slice MemoryMin" "$(prop user-2001.slice MemoryMin)" $((8 * M))
check "user-2001.slice MemoryLow" "$(prop user-2001.slice MemoryLow)" $((16 * M))
check "$U/user-2001.slice/memory.min" "$(cat $U/user-2001.slice/memory.min)" $((8 * M))
check "$U/user-2001.slice/memory.low" "$(cat $U/user-2001.slice/memory.low)" $((16 * M))
# Protections hold only as far as every ancestor carries them: user.slice
# gets the sum of its user slices' (mga's are the only ones).
check "user.slice MemoryMin (sum of the user slices')" "$(prop user.slice MemoryMin)" $((8 * M))
check "user.slice MemoryLow (sum of the user slices')" "$(prop user.slice MemoryLow)" $((16 * M))
check "$U/memory.low" "$(cat $U/memory.low)" $((16 * M))
[ -f /run/systemd/system.control/user-2001.slice.d/50-MemoryMax.conf ] || fail "no runtime drop-in for user-2001.slice MemoryMax"
# systemd rewrites a drop-in atomically (a new inode) on every set.
SWAP_DROPIN=/run/systemd/system.control/user-2001.slice.d/50-MemorySwapMax.conf
swap_id=$(stat -c '%i %Y' $SWAP_DROPIN) || fail "no runtime drop-in for user-2001.slice MemorySwapMax"
# %all on user.slice.
check "user.slice MemoryMax" "$(prop user.slice MemoryMax)" $((900 * M))
check "$U/memory.max" "$(cat $U/memory.max)" $((900 * M))
# Per session: memory.max through pam_systemd, memory.high by phase=post.
check "session-$SID_A.scope MemoryMax" "$(prop "session-$SID_A.scope" MemoryMax)" $((64 * M))
check "$SCOPE_A/memory.max" "$(cat "$SCOPE_A/memory.max")" $((64 * M))
check "session-$SID_A.scope MemoryHigh" "$(prop "session-$SID_A.scope" MemoryHigh)" $((48 * M))
check "$SCOPE_A/memory.high" "$(cat "$SCOPE_A/memory.high")" $((48 * M))
check "oom_score_adj of mga's shell" "$(cat /proc/$SHELL_A/oom_score_adj)" 200
expect_log 'pam_memguard\(su-l:session\): session of mga \(uid 2001\): systemd:.*systemd.memory_max=67108864'
expect_log 'pam_memguard\(su-l:session\): phase=post: session-'"$SID_A"'.scope MemoryHigh=48M'
# oom.group: OOMPolicy= for scopes exists from systemd 253 on.
if [ "$SDVER" -ge 253 ]; then
	check "session-$SID_A.scope OOMPolicy" "$(prop "session-$SID_A.scope" OOMPolicy)" kill
else
	expect_log "oom.group=yes not applied to session-$SID_A.scope: this systemd has no OOMPolicy= for scopes"
fi

# --- one bus connection per login: the phase=post line reuses the first
# line's (mgn's rule has work for both lines, and no protections, whose
# sum at logout needs a bus of its own). Counted as the kernel sees them:
# connect() calls to the system bus during one whole su -l, with the
# module's lines and with pam_systemd alone in the same stack.
bus_connects() {	# bus_connects TAG [USER]: the count in $TMPDIR/connects.TAG.n
	local f=$TMPDIR/connects.$1 user=${2:-mgn}
	timeout -k 5 60 strace -f -qq -e trace=connect -o "$f" "${PRE[@]}" su -l "$user" -c true </dev/null >/dev/null 2>&1 ||
		fail "su -l $user under strace ($1): exit $?"
	grep -c 'system_bus_socket' "$f" >"$f.n"
}
command -v strace >/dev/null || fail "no strace (make deps installs it)"
post_lines() { journalctl -b --no-pager -o cat | grep -a -c -E 'phase=post: session-[^ ]*\.scope MemoryHigh=40M'; }
cp /etc/pam.d/su-l $TMPDIR/su-l.saved
posts=$(post_lines)
bus_connects module
# ... and the phase=post line did its work over the kept connection.
more_post_lines() { [ "$(post_lines)" -gt "$posts" ]; }
until_ok 15 more_post_lines || fail "the counted login's phase=post line set no MemoryHigh"
grep -v -F "$MOD" $TMPDIR/su-l.saved >/etc/pam.d/su-l
bus_connects alone
cp $TMPDIR/su-l.saved /etc/pam.d/su-l
with=$(cat $TMPDIR/connects.module.n) without=$(cat $TMPDIR/connects.alone.n)
info "system-bus connections of one su -l mgn: $with with the module's two lines, $without with pam_systemd alone"
[ "$without" -ge 1 ] || fail "pam_systemd alone made no bus connection: nothing was counted"
check "bus connections the module adds to one login (both lines with work)" "$((with - without))" 1

# --- a login whose slices hold the policy already asks the manager
# nothing: the kernel's memory.* files of user-2005.slice and user.slice
# show the caps (mgk's first session, kept open, set them), and mgk's
# rule (the * line) leaves no work for the phase=post line. A cap that
# differs from the file (raised here) goes over the bus again.
useradd -u 2005 -m -s /bin/bash mgk || fail "useradd mgk"
login h mgk
check "user-2005.slice MemoryMax (mgk's first login, over the bus)" "$(prop user-2005.slice MemoryMax)" $((300 * M))
connects_added() {	# connects_added TAG: the module's connections in a login of mgk, in ADDED
	bus_connects "$1" mgk
	grep -v -F "$MOD" $TMPDIR/su-l.saved >/etc/pam.d/su-l
	bus_connects "$1.alone" mgk
	cp $TMPDIR/su-l.saved /etc/pam.d/su-l
	ADDED=$(($(cat $TMPDIR/connects.$1.n) - $(cat $TMPDIR/connects.$1.alone.n)))
}
connects_added held
check "bus connections the module adds to a login whose slices hold the caps already" "$ADDED" 0
expect_log 'session of mgk \(uid 2005\): systemd: user-2005\.slice MemoryMax=300M user-2005\.slice MemoryHigh=250M user-2005\.slice MemorySwapMax=0 user\.slice MemoryMax=900M systemd\.memory_max=67108864'
policy '%all memory.max=900M
*    memory.max=320M memory.high=250M memory.swap.max=0 session.memory.max=64M oom_score_adj=200
mga  session.memory.high=48M oom.group=yes memory.min=8M memory.low=16M
mgn  memory.max=300M session.memory.high=40M'
connects_added raised
check "bus connections the module adds to a login whose cap was raised" "$ADDED" 1
check "user-2005.slice MemoryMax (raised over the bus)" "$(prop user-2005.slice MemoryMax)" $((320 * M))
check "$U/user-2005.slice/memory.max (raised)" "$(cat $U/user-2005.slice/memory.max)" $((320 * M))
# The %all rule removed: the first login resets user.slice's MemoryMax
# over the bus; its runtime drop-in stays (infinity), and the next login
# sees the default in the file and asks nothing again.
NOALL='*    memory.max=320M memory.high=250M memory.swap.max=0 session.memory.max=64M oom_score_adj=200
mga  session.memory.high=48M oom.group=yes memory.min=8M memory.low=16M
mgn  memory.max=300M session.memory.high=40M'
policy "$NOALL"
connects_added reset
check "bus connections the module adds to a login whose %all rule was removed" "$ADDED" 1
check "user.slice MemoryMax (reset)" "$(prop user.slice MemoryMax)" infinity
check "$U/memory.max (reset)" "$(cat $U/memory.max)" max
connects_added afterreset
check "bus connections the module adds to a login after the reset" "$ADDED" 0
policy '%all memory.max=900M
'"$NOALL"
logout h
check "mgk's su exit status" "$RC" 0

# --- su -l inside mga's session: logind makes no new scope ---
# mga's own login shell runs it (su authenticates with pam_permit here).
# A setuid su ignores an LD_PRELOAD of ASan: not with a sanitizer build.
if [ ${#PRE[@]} = 0 ]; then
	until_ok 60 test -e $SYNC/nested.done || fail "the nested su in mga's session did not finish"
	cat $SYNC/nested.out
	check "nested su: status" "$(cat $SYNC/nested.done)" 0
	check "nested su: mgb's shell cgroup" "$(tail -n1 $SYNC/nested.out)" "/user.slice/user-2001.slice/session-$SID_A.scope"
	expect_log "no new scope: the caller already runs in session $SID_A, so pam_systemd creates no session for mgb"
	check "user-2002.slice MemoryMax (per-user caps still set)" "$(prop user-2002.slice MemoryMax)" $((300 * M))
else
	info "nested su not tried: a setuid su ignores the LD_PRELOAD a sanitizer build needs"
fi

# --- mgb: a hog in the session is OOM-killed inside its scope ---
login b mgb "$HOG 200 >/dev/null; echo after-hog \$? >$SYNC/b.hog"
until_ok 90 test -s $SYNC/b.hog || fail "mgb's hog did not finish within 90 s"
[[ $CG =~ session-([^/]+)\.scope$ ]] || fail "mgb's shell is in '$CG'"
SID_B=${BASH_REMATCH[1]} SCOPE_B=$U/user-2002.slice/session-${BASH_REMATCH[1]}.scope
check "mgb's hog" "$(cat $SYNC/b.hog)" "after-hog 137"
check "$SCOPE_B/memory.max" "$(cat "$SCOPE_B/memory.max")" $((64 * M))
kills=$(sed -n 's/^oom_kill //p' "$SCOPE_B/memory.events")
[ "${kills:-0}" -ge 1 ] || fail "$SCOPE_B memory.events oom_kill is '$kills': $(tr '\n' ' ' <"$SCOPE_B/memory.events")"
info "ok: $SCOPE_B oom_kill=$kills"
kill -0 "$SU_PID" 2>/dev/null || fail "mgb's su $SU_PID died with the hog"
check "session $SID_B still known to logind" "$(loginctl show-session "$SID_B" -P Name)" mgb
logout b
check "mgb's su exit status" "$RC" 0

# --- raise-only and reset: the policy changes while mga is logged in ---
policy '%all memory.max=900M
*    memory.max=200M memory.swap.max=0 session.memory.max=64M oom_score_adj=200
mga  session.memory.high=48M'
login a2 mga 'true'
# memory.max 300M -> 200M would shrink a slice in use: left pending.
check "user-2001.slice MemoryMax (pending lowering)" "$(prop user-2001.slice MemoryMax)" $((300 * M))
expect_log "pending: user-2001.slice MemoryMax stays 300M, above the policy's 200M"
# memory.high is gone from the policy: back to systemd's default.
check "user-2001.slice MemoryHigh (rule removed)" "$(prop user-2001.slice MemoryHigh)" infinity
check "$U/user-2001.slice/memory.high" "$(cat $U/user-2001.slice/memory.high)" max
expect_log 'user-2001.slice MemoryHigh reset from 250M to infinity'
# mga's protections are gone from the policy: reset, and so is the sum.
check "user-2001.slice MemoryLow (rule removed)" "$(prop user-2001.slice MemoryLow)" 0
check "user.slice MemoryLow (the sum, now 0)" "$(prop user.slice MemoryLow)" 0
check "user.slice MemoryMin (the sum, now 0)" "$(prop user.slice MemoryMin)" 0
check "$U/memory.min" "$(cat $U/memory.min)" 0
# memory.swap.max=0 did not change: read, compared, not written again.
check "$SWAP_DROPIN (inode, mtime) after a login with the same value" "$(stat -c '%i %Y' $SWAP_DROPIN)" "$swap_id"
logout a2
check "mga's second su exit status" "$RC" 0
logout a
check "mga's first su exit status" "$RC" 0
# The pending lowering lands at the first login with no other session.
no_sessions() { ! ls -d $U/user-2001.slice/session-*.scope >/dev/null 2>&1; }
until_ok 30 no_sessions || fail "mga's session scopes outlived the logouts: $(ls -d $U/user-2001.slice/session-*.scope)"
login a3 mga 'true'
check "user-2001.slice MemoryMax (the pending lowering, applied)" "$(prop user-2001.slice MemoryMax)" $((200 * M))
check "$U/user-2001.slice/memory.max" "$(cat $U/user-2001.slice/memory.max)" $((200 * M))
logout a3
check "mga's third su exit status" "$RC" 0

# --- one line stacked after pam_systemd: the scope is capped over D-Bus ---
useradd -u 2003 -m -s /bin/bash mgc || fail "useradd mgc"
policy '*    memory.max=200M session.memory.max=64M
mgc  session.memory.high=40M'
cat >/etc/pam.d/su-l <<PAM
auth     sufficient pam_rootok.so
account  required   pam_permit.so
password required   pam_deny.so
session  required   pam_unix.so
session  optional   pam_systemd.so
session  required   $MOD policy=$POLICY on_error=deny debug
PAM
login c mgc 'true'
[[ $CG =~ ^/user\.slice/user-2003\.slice/session-([^/]+)\.scope$ ]] || fail "mgc's shell is in '$CG'"
SID_C=${BASH_REMATCH[1]} SCOPE_C=$U/user-2003.slice/session-${BASH_REMATCH[1]}.scope
check "loginctl: Name of session $SID_C" "$(loginctl show-session "$SID_C" -P Name)" mgc
check "$SCOPE_C/memory.max (over D-Bus, not via pam_systemd)" "$(cat "$SCOPE_C/memory.max")" $((64 * M))
check "$SCOPE_C/memory.high" "$(cat "$SCOPE_C/memory.high")" $((40 * M))
check "user-2003.slice MemoryMax" "$(prop user-2003.slice MemoryMax)" $((200 * M))
expect_log "stacked after pam_systemd: session caps go over D-Bus to session-$SID_C.scope"
logout c
check "mgc's su exit status" "$RC" 0

# --- backend=cgroupfs without cgroup_root= on a systemd host: no cgroup ---
sed -i "s|^session  required   $MOD |&backend=cgroupfs |" /etc/pam.d/su-l
grep -q 'backend=cgroupfs' /etc/pam.d/su-l || fail "cannot switch the stack to backend=cgroupfs"
policy '*    memory.max=200M session.memory.max=64M oom_score_adj=150'
login c2 mgc 'true'
[[ $CG =~ ^/user\.slice/user-2003\.slice/session-[^/]+\.scope$ ]] || fail "with backend=cgroupfs mgc's shell is in '$CG', not in its session scope"
[ -e /sys/fs/cgroup/memguard ] && fail "backend=cgroupfs made /sys/fs/cgroup/memguard under systemd's tree"
info "ok: backend=cgroupfs left the session in its scope and made no cgroup"
expect_log 'systemd manages the cgroups on this host: no cgroup made for mgc'
check "oom_score_adj with backend=cgroupfs (still applied)" "$(cat /proc/$SHELL_PID/oom_score_adj)" 150
logout c2
check "mgc's su exit status (cgroupfs)" "$RC" 0
# A sanitizer build (make SANITIZE=1 check-guest) reports on su's stderr.
if grep -l -E 'Sanitizer|runtime error' $SYNC/*.out 2>/dev/null; then
	grep -h -A5 -E 'Sanitizer|runtime error' $SYNC/*.out | head -n 40
	fail "sanitizer reports in the logins' output"
fi
exit 0
