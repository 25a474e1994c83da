#!/bin/bash
# memguard-guest: systemd
# memguard-guest: timeout=400
# The Debian packages as an admin uses them, on the guest's own copy of the
# host's PAM stacks (the root is a tmpfs overlay: nothing of the host
# changes): dpkg -i of build/deb's packages changes no login; pam-auth-update
# --enable memguard memguard-post puts the module before pam_systemd and
# phase=post after it; the packaged memguardctl writes a rule into the
# conffile and configuration management a drop-in; `su -l` and `ssh -tt`
# through the stock su-l and sshd stacks land in the user's slice and scope
# with the caps; a non-interactive stack (cron's) gets the policy; dpkg -r
# takes the lines out before the module, logins go on, the changed conffile
# stays; dpkg --purge removes it and memguardctl's lock, the admin's drop-in
# stays, logins go on.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"
DEB=$TOP/build/deb
PAMDEB=$(ls $DEB/libpam-memguard_*.deb 2>/dev/null | head -n1)
CLIDEB=$(ls $DEB/memguard_*.deb 2>/dev/null | head -n1)
[ -n "$PAMDEB" ] && [ -n "$CLIDEB" ] || skip "no packages in $DEB (make deb, or the package stage, builds them)"
command -v pam-auth-update >/dev/null || skip "no pam-auth-update (libpam-runtime)"
[ -x /usr/sbin/sshd ] && command -v ssh >/dev/null || skip "openssh-server/openssh-client not installed (make deps)"
SSHD=
stop_sshd() {
	[ -z "$SSHD" ] && return
	echo "--- sshd's log:"; tail -n 30 $S/sshd.log | sed 's/^/    /'
	echo "--- the last ssh's output:"; cat $S/ssh*.out 2>/dev/null | tail -n 10 | sed 's/^/    /'
	kill "$SSHD" 2>/dev/null
}
FAIL_HOOK=stop_sshd
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
SO=/usr/lib/$MA/security/pam_memguard.so
CS=/etc/pam.d/common-session CSN=/etc/pam.d/common-session-noninteractive
CONF=/etc/security/memguard.conf
S=/tmp/mg-pkg
mkdir -p -m 1777 $S
status_of() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | tr -d ' '; }
lines() { grep -c 'pam_memguard' "$1"; }
lineno() { grep -n -E "$2" "$1" | head -n1 | cut -d: -f1; }

# Earlier cases of this boot wrote their own su-l and sshd stacks into the
# overlay: the host's own, from the read-only lower layer, come back first.
[ -d /memguard-lower/etc/pam.d ] || skip "no /memguard-lower (the guest's /init is older than this case)"
cp -a /memguard-lower/etc/pam.d/. /etc/pam.d/ || fail "cannot restore the host's /etc/pam.d"
useradd -u 2701 -m -s /bin/bash mgp || fail "useradd mgp"
usermod -p '*' mgp
# man-db's trigger would index every manual page over 9p: the admin's own
# switch for it (Debian's man-db reads /var/lib/man-db/auto-update).
rm -f /var/lib/man-db/auto-update
cp $CS $S/cs.before
cp $CSN $S/csn.before

# --- install: no login changes ---
DEBIAN_FRONTEND=noninteractive dpkg -i "$PAMDEB" "$CLIDEB" >$S/dpkg-i.log 2>&1 || { cat $S/dpkg-i.log; fail "dpkg -i failed"; }
check "dpkg: libpam-memguard installed" "$(status_of libpam-memguard)" ii
check "dpkg: memguard installed" "$(status_of memguard)" ii
[ -f $SO ] || fail "no $SO after dpkg -i"
check "common-session after install (Default: no)" "$(lines $CS)" 0
check "common-session-noninteractive after install" "$(lines $CSN)" 0
check "rules in the installed policy" "$(grep -cv '^[[:space:]]*\(#\|$\)' $CONF)" 0
[ -d /etc/security/memguard.d ] || fail "no /etc/security/memguard.d"

# --- enable ---
DEBIAN_FRONTEND=noninteractive pam-auth-update --enable memguard memguard-post >$S/pau.log 2>&1 ||
	{ cat $S/pau.log; fail "pam-auth-update --enable failed"; }
m=$(lineno $CS 'pam_memguard\.so *$') sd=$(lineno $CS 'pam_systemd\.so') p=$(lineno $CS 'pam_memguard\.so phase=post')
[ -n "$m" ] && [ -n "$sd" ] && [ -n "$p" ] && [ "$m" -lt "$sd" ] && [ "$sd" -lt "$p" ] ||
	fail "common-session is not memguard, pam_systemd, memguard phase=post: $(grep '^session' $CS | tr '\n' '|')"
info "ok: common-session: $(grep '^session' $CS | awk '{print $3, $4}' | tr '\n' '|')"
check "common-session-noninteractive: the module without phase=post" \
	"$(grep -c 'pam_memguard\.so *$' $CSN) $(grep -c phase=post $CSN)" "1 0"

# --- a rule by the packaged memguardctl in the conffile, a drop-in by configuration management ---
memguardctl set mgp memory.max=120M memory.swap.max=0 session.memory.max=64M session.memory.high=48M oom_score_adj=200 \
	>$S/set.out 2>&1 || { cat $S/set.out; fail "memguardctl set"; }
printf 'mgp  memory.high=100M\n' >/etc/security/memguard.d/50-fleet.conf
chmod 644 /etc/security/memguard.d/50-fleet.conf
memguardctl check >$S/check.out 2>&1 || { cat $S/check.out; fail "memguardctl check"; }
info "policy: $(grep '^mgp' $CONF) + 50-fleet.conf: $(cat /etc/security/memguard.d/50-fleet.conf)"

# su_l TAG: su -l mgp through the stock su-l stack; RC, CG, ADJ, MAX, HIGH (the session's files)
su_l() {
	rm -f $S/$1.*
	timeout -k 5 60 su -l mgp -c "cg=\$(sed -n 's/^0:://p' /proc/self/cgroup); echo \$cg >$S/$1.cg; cat /proc/self/oom_score_adj >$S/$1.adj; cat /sys/fs/cgroup\$cg/memory.max >$S/$1.max; cat /sys/fs/cgroup\$cg/memory.high >$S/$1.high" \
		</dev/null >$S/$1.out 2>&1
	RC=$?
	CG=$(cat $S/$1.cg 2>/dev/null) ADJ=$(cat $S/$1.adj 2>/dev/null)
	MAX=$(cat $S/$1.max 2>/dev/null) HIGH=$(cat $S/$1.high 2>/dev/null)
	info "$1: su -l mgp status $RC in '$CG' (memory.max $MAX, memory.high $HIGH, oom_score_adj $ADJ)"
}
su_l on
check "su -l mgp (enabled): status" "$RC" 0
[[ $CG =~ ^/user\.slice/user-2701\.slice/session-[^/]+\.scope$ ]] || fail "su -l mgp ran in '$CG', not a session scope"
check "user-2701.slice MemoryMax (the conffile's rule)" "$(prop user-2701.slice MemoryMax)" $((120 * M))
check "user-2701.slice MemoryHigh (the drop-in's)" "$(prop user-2701.slice MemoryHigh)" $((100 * M))
check "$U/user-2701.slice/memory.max" "$(cat $U/user-2701.slice/memory.max)" $((120 * M))
check "su -l session scope memory.max (via pam_systemd)" "$MAX" $((64 * M))
check "su -l session scope memory.high (the phase=post line)" "$HIGH" $((48 * M))
check "su -l oom_score_adj" "$ADJ" 200

# --- ssh -tt through the stock sshd stack ---
# Its pam_nologin refuses users while /run/nologin says the system is
# booting; a full boot's systemd-user-sessions removes it.
systemctl start systemd-user-sessions.service || fail "cannot start systemd-user-sessions"
[ ! -e /run/nologin ] || fail "/run/nologin still there"
mkdir -p -m 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f $S/hostkey -C mg-pkg-host || fail "ssh-keygen host"
ssh-keygen -q -t ed25519 -N '' -f $S/clientkey -C mg-pkg-client || fail "ssh-keygen client"
install -d -o mgp -g mgp -m 700 /home/mgp/.ssh
install -o mgp -g mgp -m 600 $S/clientkey.pub /home/mgp/.ssh/authorized_keys
cat >$S/sshd_config <<EOF
Port 2223
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
/usr/sbin/sshd -D -e -f $S/sshd_config 2>$S/sshd.log &
SSHD=$!
until_ok 30 grep -q 'Server listening on 127.0.0.1 port 2223' $S/sshd.log || { cat $S/sshd.log; fail "sshd did not start"; }
echo "[127.0.0.1]:2223 $(cat $S/hostkey.pub)" >$S/known_hosts
SSH=(ssh -F /dev/null -p 2223 -i $S/clientkey -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$S/known_hosts
	-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o ConnectTimeout=20 -o LogLevel=ERROR)
ssh_in() {	# ssh_in TAG: one ssh -tt login of mgp; RC, CG, MAX
	rm -f $S/$1.*
	timeout -k 5 60 "${SSH[@]}" -tt mgp@127.0.0.1 "cg=\$(sed -n 's/^0:://p' /proc/self/cgroup); echo \$cg >$S/$1.cg; cat /sys/fs/cgroup\$cg/memory.max >$S/$1.max" \
		</dev/null >$S/$1.out 2>&1
	RC=$?
	CG=$(cat $S/$1.cg 2>/dev/null) MAX=$(cat $S/$1.max 2>/dev/null)
	info "$1: ssh -tt mgp status $RC in '$CG' (memory.max $MAX)"
}
ssh_in sshon
check "ssh -tt mgp (enabled): status" "$RC" 0
[[ $CG =~ ^/user\.slice/user-2701\.slice/session-[^/]+\.scope$ ]] || { tail -n 20 $S/sshd.log; fail "ssh -tt mgp ran in '$CG', not a session scope"; }
check "ssh session scope memory.max" "$MAX" $((64 * M))

# --- a non-interactive stack, as cron's: common-session-noninteractive ---
DRIVE=$TOP/$BUILD/tests/pam/pamdrive
if [ -x "$DRIVE" ] && [ ${#PRE[@]} = 0 ]; then
	printf 'account required pam_permit.so\n@include common-session-noninteractive\n' >/etc/pam.d/mg-cron
	"$DRIVE" /etc/pam.d mg-cron mgp sh -c 'cat /proc/self/oom_score_adj' >$S/cron.out 2>&1
	check "non-interactive stack: pamdrive status" "$?" 0
	check "non-interactive stack: oom_score_adj in the session" "$(sed -n 's/^oom_score_adj=//p' $S/cron.out | head -n1)" 200
	# No pam_systemd there, so logind makes no scope: the module moves the
	# job into one of its own in the user's slice (README.Debian says so).
	job_cg=$(sed -n 's/^cgroup=0:://p' $S/cron.out | head -n1)
	[[ $job_cg =~ ^/user\.slice/user-2701\.slice/memguard-[0-9]+-[0-9]+\.scope$ ]] ||
		{ cat $S/cron.out; fail "the non-interactive job ran in '$job_cg', not in a memguard scope in user-2701.slice"; }
	info "ok: non-interactive job in $job_cg"
	check "user-2701.slice MemoryMax after the non-interactive session" "$(prop user-2701.slice MemoryMax)" $((120 * M))
else
	info "non-interactive stack not tried (no $DRIVE or a sanitizer build)"
fi

# --- dpkg -r: the lines go before the module, logins go on, the conffile stays ---
memguardctl set mgp oom_score_adj=250 >/dev/null 2>&1 || fail "memguardctl set (lock file)"
[ -f $CONF.lock ] || fail "memguardctl left no $CONF.lock to clean up"
DEBIAN_FRONTEND=noninteractive dpkg -r memguard libpam-memguard >$S/dpkg-r.log 2>&1 || { cat $S/dpkg-r.log; fail "dpkg -r failed"; }
check "dpkg -r: libpam-memguard state" "$(status_of libpam-memguard)" rc
[ ! -e $SO ] || fail "$SO still there after dpkg -r"
check "common-session after dpkg -r: no memguard line" "$(lines $CS)" 0
check "common-session-noninteractive after dpkg -r: no memguard line" "$(lines $CSN)" 0
cmp -s $CS $S/cs.before || fail "common-session differs from before the install: $(diff $S/cs.before $CS)"
info "ok: common-session is as before the install"
[ -f $CONF ] && grep -q '^mgp' $CONF || fail "the changed conffile $CONF is gone after dpkg -r (only purge removes it)"
info "ok: the changed conffile stays after dpkg -r"
su_l removed
check "su -l mgp after dpkg -r: status" "$RC" 0
[[ $CG == /user.slice/user-2701.slice/session-*.scope ]] || fail "su -l after removal ran in '$CG'"
check "su -l after dpkg -r: the session scope has no cap" "$MAX" max
# What the module set on the user's slice is a runtime property: it stays
# until reboot (README.Debian says how to reset it).
info "user-2701.slice MemoryMax after dpkg -r: $(prop user-2701.slice MemoryMax) (runtime, until reboot)"
ssh_in sshremoved
check "ssh -tt mgp after dpkg -r: status" "$RC" 0

# --- dpkg --purge: conffile and lock go, the admin's drop-in stays ---
DEBIAN_FRONTEND=noninteractive dpkg --purge memguard libpam-memguard >$S/dpkg-p.log 2>&1 || { cat $S/dpkg-p.log; fail "dpkg --purge failed"; }
# dpkg forgets a purged package (or keeps it as "un").
st=$(status_of libpam-memguard)
[ -z "$st" ] || [ "$st" = un ] || fail "dpkg --purge: libpam-memguard state is '$st'"
info "ok: dpkg --purge: libpam-memguard is ${st:-unknown to dpkg}"
[ ! -e $CONF ] || fail "$CONF still there after purge"
[ ! -e $CONF.lock ] || fail "$CONF.lock still there after purge"
[ -f /etc/security/memguard.d/50-fleet.conf ] || fail "purge removed the admin's drop-in"
info "ok: purge removed the conffile and the lock, kept the admin's drop-in ($(grep -a -o 'not empty so not removed' $S/dpkg-p.log | head -n1))"
check "common-session after purge: no memguard line" "$(lines $CS)" 0
su_l purged
check "su -l mgp after purge: status" "$RC" 0
ssh_in sshpurged
check "ssh -tt mgp after purge: status" "$RC" 0
kill $SSHD 2>/dev/null
wait $SSHD 2>/dev/null
SSHD=
exit 0
