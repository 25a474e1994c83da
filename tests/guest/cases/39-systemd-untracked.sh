#!/bin/bash
# memguard-guest: systemd
# A session that logind never sees (Debian's non-interactive stack: cron,
# runuser, sudo; no pam_systemd line) must not run outside the user's caps.
# runuser, a real client, opens it from a system service (this case runs in
# one, as cron does): the module puts it into a scope of its own in the
# user's slice, with the session cap on the scope; a hog there is killed by
# the kernel and the close record says so; the job outlives the end of the
# user's interactive session, and a stack that has pam_systemd gets no
# scope of ours.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"
S=/tmp/mg-untracked
SYNC=$S
mkdir -p -m 1777 $S
useradd -u 2901 -m -s /bin/bash mgun || fail "useradd mgun"
POLICY=/etc/security/memguard-untracked.conf
policy 'mgun memory.max=160M memory.swap.max=0 session.memory.max=64M'
SL=$U/user-2901.slice
# The non-interactive stack as Debian's common-session-noninteractive has
# it with the memguard profile enabled: no pam_systemd.
cat >/etc/pam.d/runuser <<PAM
auth     sufficient pam_rootok.so
session  required   pam_unix.so
session  optional   $MOD backend=systemd policy=$POLICY on_error=deny
PAM
write_stack su-l "on_error=deny"
scope_re="^/user\.slice/user-2901\.slice/memguard-[0-9]+-[0-9]+\.scope$"

# --- where the job runs, and its caps ---
timeout -k 5 100 "${PRE[@]}" runuser -u mgun -- sh -c "cg=\$(sed -n 's/^0:://p' /proc/self/cgroup); echo \$cg >$S/a.cg; cat /sys/fs/cgroup\$cg/memory.max >$S/a.max" \
	</dev/null >$S/a.out 2>&1
check "runuser -u mgun: status" "$?" 0
acg=$(cat $S/a.cg)
[[ $acg =~ $scope_re ]] || { cat $S/a.out; fail "runuser's job ran in '$acg', not in a scope of memguard's in user-2901.slice"; }
info "ok: runuser's job ran in $acg"
check "the scope's memory.max (session.memory.max)" "$(cat $S/a.max)" $((64 * M))
check "user-2901.slice MemoryMax" "$(prop user-2901.slice MemoryMax)" $((160 * M))
expect_log "pam_memguard\(runuser:session\): .*user-2901\.slice/memguard-[0-9]+-[0-9]+\.scope \(no pam_systemd in the runuser stack\)" \
	"the open line names the scope"
unit=${acg##*/}
until_ok 30 sh -c "! systemctl is-active -q $unit" || fail "$unit still active after its last process left"
info "ok: $unit is gone with its job"

# --- a hog in the job: the kernel kills it under the session cap ---
timeout -k 5 100 "${PRE[@]}" runuser -u mgun -- sh -c "sed -n 's/^0:://p' /proc/self/cgroup >$S/h.cg; exec $HOG 200 >/dev/null" \
	</dev/null >$S/h.out 2>&1
rc=$?
# systemd (252, as for a service: DefaultOOMPolicy=stop) stops a scope
# that is not logind's once the kernel OOM-killed a process in it.
check "runuser -u mgun with a 200M hog: status (SIGTERM from systemd stopping the scope)" "$rc" 143
hcg=$(cat $S/h.cg)
[[ $hcg =~ $scope_re ]] || fail "the hog ran in '$hcg'"
expect_log "oom-kill:constraint=CONSTRAINT_MEMCG,.*oom_memcg=${hcg//./\\.},task_memcg=${hcg//./\\.},task=hog," \
	"the kernel's OOM kill of the hog under the 64M session cap, in the scope"
expect_log "pam_memguard\(runuser:session\): session closed for mgun \(uid 2901\): group=/sys/fs/cgroup${hcg//./\\.} peak=[0-9]+ oom_kills=1 user_oom_kills=[1-9]" \
	"the close record of the job with the OOM kill"
expect_log "${hcg##*/}: Failed with result 'oom-kill'" "systemd's word on the scope"

# --- the job outlives the user's interactive session ---
login i mgun
[[ $CG =~ /session-[^/]+\.scope$ ]] || fail "su -l mgun ran in '$CG', not in a session scope (a stack with pam_systemd must not get a scope of ours)"
timeout -k 5 200 "${PRE[@]}" runuser -u mgun -- sh -c "sed -n 's/^0:://p' /proc/self/cgroup >$S/j.cg; echo \$\$ >$S/j.pid; n=0; while [ ! -e $S/j.go ] && [ \$n -lt 1500 ]; do sleep 0.1; n=\$((n+1)); done" \
	</dev/null >$S/j.out 2>&1 &
JOB=$!
FAIL_HOOK="touch $S/j.go $SYNC/i.go"
until_ok 60 test -s $S/j.pid || fail "no runuser job within 60 s"
jpid=$(cat $S/j.pid)
jcg=$(cat $S/j.cg)
[[ $jcg =~ $scope_re ]] || fail "the job beside the interactive session ran in '$jcg'"
logout i
check "su -l mgun: status" "$RC" 0
# logind ends the user once the interactive session is gone (it never saw
# the job): user@2901.service stops after UserStopDelaySec. The slice must
# stay, since the job's scope is in it.
until_ok 60 sh -c "! loginctl list-sessions --no-legend | grep -q ' mgun '" || fail "mgun's session still listed"
until_ok 90 sh -c "! systemctl is-active -q user@2901.service" || fail "user@2901.service still active 90 s after the logout"
info "ok: user@2901.service stopped"
kill -0 "$jpid" 2>/dev/null || fail "the job ($jpid) died when the user's manager stopped"
check "the job's cgroup after the interactive logout" "$(sed -n 's/^0:://p' /proc/$jpid/cgroup)" "$jcg"
check "user-2901.slice still capped" "$(cat /sys/fs/cgroup/user.slice/user-2901.slice/memory.max)" $((160 * M))
touch $S/j.go
wait $JOB
check "the job's runuser: status" "$?" 0
exit 0
