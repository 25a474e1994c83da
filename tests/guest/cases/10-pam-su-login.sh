#!/bin/bash
# A real login: `su -l` through a private su-l PAM stack with pam_memguard.
# The session lands in BASE/user-UID/session-PID-START with the resolved
# caps on each level, every ancestor passes +memory on, and logout removes
# the groups again.
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup '%all    memory.max=900M memory.high=850M memory.swap.max=0
*       memory.max=300M memory.high=250M memory.swap.max=0 session.memory.max=200M session.memory.high=150M
@mgtest memory.max=256M
mga     memory.min=8M memory.low=16M'

M=$((1024 * 1024))
check() {	# check FILE EXPECTED
	local got
	got=$(cat "$1" 2>&1)
	[ "$got" = "$2" ] || fail "$1 reads '$got', expected '$2'"
	info "ok: $1 = $got"
}

# Two users logged in at the same time.
mg_su_bg a mga 'up "pid $$ ppid $PPID uid $(id -u)"; hold'
mg_su_bg c mgc 'up "pid $$ ppid $PPID uid $(id -u)"; hold'
for t in a c; do
	mg_expect $t 60 '^pid [0-9]+ ppid [0-9]+ uid [0-9]+$'
	read -r _ shell _ supid _ uid <<<"$MG_LINE"
	eval "shell_$t=$shell supid_$t=$supid uid_$t=$uid"
done
[ "$uid_a" = $MG_UID_A ] || fail "mga's shell runs as uid $uid_a"

for t in a c; do
	eval "shell=\$shell_$t supid=\$supid_$t uid=\$uid_$t"
	sess=$(mg_session_name "$supid") || fail "su ($supid) is gone"
	want=/memguard/user-$uid/$sess
	for p in "$supid" "$shell"; do
		got=$(mg_cgroup_of "$p")
		[ "$got" = "$want" ] || fail "pid $p is in '$got', expected '$want'"
		grep -qx "$p" "$CGROOT$want/cgroup.procs" || fail "pid $p not in $want/cgroup.procs"
	done
	info "ok: su $supid and its shell $shell are in $want"
	eval "S_$t=$CGROOT$want U_$t=$BASE/user-$uid"
done

# mga: memory.max from @mgtest, the rest from *, protections from its own rule.
check "$U_a/memory.max" $((256 * M))
check "$U_a/memory.high" $((250 * M))
check "$U_a/memory.swap.max" 0
check "$U_a/memory.min" $((8 * M))
check "$U_a/memory.low" $((16 * M))
check "$S_a/memory.max" $((200 * M))
check "$S_a/memory.high" $((150 * M))
check "$S_a/memory.swap.max" max
# mgc: only *.
check "$U_c/memory.max" $((300 * M))
check "$U_c/memory.high" $((250 * M))
check "$U_c/memory.swap.max" 0
check "$U_c/memory.min" 0
check "$S_c/memory.max" $((200 * M))
# %all on BASE; protections only hold when every ancestor carries them.
check "$BASE/memory.max" $((900 * M))
check "$BASE/memory.high" $((850 * M))
check "$BASE/memory.swap.max" 0
check "$BASE/memory.min" $((8 * M))
check "$BASE/memory.low" $((16 * M))

for d in "$CGROOT" "$BASE" "$U_a" "$U_c"; do
	grep -qw memory "$d/cgroup.subtree_control" \
		|| fail "$d/cgroup.subtree_control is '$(cat "$d/cgroup.subtree_control")', no memory"
done
info "ok: +memory in cgroup.subtree_control of $CGROOT, $BASE, $U_a, $U_c"
cur=$(cat "$S_a/memory.current")
[ "$cur" -gt 0 ] || fail "$S_a/memory.current is $cur: nothing charged to the session"
info "ok: the kernel charges the session: memory.current $cur"

# Logout: both sessions closed, nothing of the users left.
for t in a c; do
	mg_go $t
	mg_wait $t
	[ "$MG_RC" = 0 ] || { cat "$W/$t.out"; fail "su for $t exited $MG_RC"; }
done
for d in "$S_a" "$U_a" "$S_c" "$U_c"; do
	[ -e "$d" ] && fail "$d still exists after logout"
done
info "ok: session and user groups removed at logout"
left=$(find "$BASE" -mindepth 1 -type d)
[ -z "$left" ] || fail "groups left under $BASE: $left"
mg_dump_logs
exit 0
