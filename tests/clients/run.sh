#!/bin/sh
# Logs in through real clients (sshd, su -l, login) whose PAM services load
# pam_memguard.so, and checks from inside each session where it landed: the
# session group named after the PAM caller, the caps of the session and user
# groups, oom_score_adj; then that one hog is OOM-killed inside an ssh
# session while the connection survives, and that every group is gone
# after logout. TAP output; exit 77 when it cannot run at all.
#
# Nothing of the host is changed in place: each client runs in a private
# mount namespace with its own /etc/pam.d, /etc/passwd, /etc/group,
# /etc/shadow (a test user added), /run and /var/log bind- or tmpfs-mounted
# over the host's; cgroups are made only in a memory cgroup of this test's
# own (cgroup v1's, or a delegated cgroup v2 subtree: on a systemd host the
# test re-executes itself in a scope of its own, see
# tests/pam/cgroup-host.sh); sshd listens on 127.0.0.1 only. Set MG_KEEP=1 to keep the scratch
# directory.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$top/$BUILD" ;; esac
MOD="$BUILD/pam_memguard.so"
HOG="$BUILD/tests/tools/hog"
KILLWHEN="$BUILD/tests/tools/killwhen"

skip_all() {
	echo "clients: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip_all "needs root (runs sshd, su and login with private PAM services)"
for t in unshare script su login mount awk timeout; do
	command -v "$t" >/dev/null 2>&1 || skip_all "needs $t"
done

# ---- the cgroup to work under: a memory cgroup of our own only ----
CGHOST="$top/tests/pam/cgroup-host.sh"
. "$CGHOST"
cg_host_enter bash "$0" "$@" || skip_all "$CG_WHY"
CGMNT=$CG_MNT
CGTOP="$CG_HOME/mgclients-$$"
CGROOT="$CGTOP/memguard"
mkdir "$CGTOP" 2>/dev/null || { cg_host_leave; skip_all "cannot create a cgroup below $CG_HOME"; }

# ---- TAP ----
n=0 nfail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)) nfail=$((nfail + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
expect_eq() { # DESC GOT WANT [DIAG...]
	local d=$1 got=$2 want=$3
	shift 3
	if [ "$got" = "$want" ]; then ok "$d"; else notok "$d" "got:  '$got'" "want: '$want'" "$@"; fi
}
expect_match() { # DESC GOT ERE [DIAG...]
	local d=$1 got=$2 re=$3
	shift 3
	if [[ $got =~ $re ]]; then ok "$d"; else notok "$d" "got:   '$got'" "match: /$re/" "$@"; fi
}

# ---- scratch, cleanup ----
S=$(mktemp -d /tmp/mgclients.XXXXXX) || { rmdir "$CGTOP"; skip_all "mktemp failed"; }
chmod 755 "$S"
SSHD_PID=
cleanup() {
	local p
	if [ -n "$SSHD_PID" ] && kill -0 "$SSHD_PID" 2>/dev/null; then
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	# Whatever still runs in our groups was started by this test.
	if [ -d "$CGTOP" ]; then
		find "$CGTOP" -mindepth 1 -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do
			kill -9 "$p" 2>/dev/null
		done
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			find "$CGTOP" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$CGTOP" ] || break
			sleep 0.1
		done
		[ -d "$CGTOP" ] && echo "# warning: could not remove $CGTOP" >&2
	fi
	cg_host_leave
	if [ "${MG_KEEP:-}" = 1 ] || [ "$nfail" -gt 0 ]; then
		echo "# scratch kept in $S"
	else
		rm -rf "$S"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- what we test ----
if [ ! -e "$MOD" ] || [ ! -e "$HOG" ] || [ ! -e "$KILLWHEN" ]; then
	san=
	case "$BUILD" in */san) san=1 ;; esac
	make -s -C "$top" BUILD="${BUILD#"$top"/}" SANITIZE="${SANITIZE:-$san}" "${MOD#"$top"/}" "${HOG#"$top"/}" \
		"${KILLWHEN#"$top"/}" >&2 || { notok "build $MOD, $HOG and $KILLWHEN"; exit 1; }
fi

ASAN=0 PRELOAD=
if readelf -d "$MOD" 2>/dev/null | grep -q 'NEEDED.*libasan'; then
	# An ASan-built module can only be dlopen'ed into a process whose
	# first library is the ASan runtime: preload it into the clients.
	ASAN=1
	PRELOAD=$(ldd "$MOD" | awk '/libasan/ {print $3; exit}')
	[ -e "$PRELOAD" ] || PRELOAD=$(gcc -print-file-name=libasan.so 2>/dev/null)
	mkdir -m 755 "$S/san"
	export ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0:log_path=$S/san/asan"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$S/san/ubsan"
fi

# ---- the test user and the private /etc files ----
TU=mgclient
# '*' rules cover UID_MIN..UID_MAX of login.defs only: pick a free uid inside.
uid_min=$(awk '$1 == "UID_MIN" {print $2}' /etc/login.defs 2>/dev/null)
uid_max=$(awk '$1 == "UID_MAX" {print $2}' /etc/login.defs 2>/dev/null)
uid_min=${uid_min:-1000} uid_max=${uid_max:-60000}
TUID=
for u in $(seq $((uid_max - 1)) -1 "$uid_min"); do
	if ! awk -F: -v u="$u" '$3 == u {f = 1} END {exit !f}' /etc/passwd /etc/group; then TUID=$u; break; fi
done
[ -n "$TUID" ] || { rmdir "$CGTOP"; rm -rf "$S"; skip_all "no free uid in $uid_min..$uid_max for the test user"; }
HOME_T="$S/home"
mkdir -p "$S/etc" "$S/pam.d" "$S/bin" "$HOME_T/.ssh"
grep -v "^$TU:" /etc/passwd >"$S/etc/passwd"
grep -v "^$TU:" /etc/group >"$S/etc/group"
grep -v "^$TU:" /etc/shadow >"$S/etc/shadow"
echo "$TU:x:$TUID:$TUID:memguard client test:$HOME_T:/bin/sh" >>"$S/etc/passwd"
echo "$TU:x:$TUID:" >>"$S/etc/group"
echo "$TU:*:19000:0:99999:7:::" >>"$S/etc/shadow" # "*": no password, not locked
grep -q '^sshd:' "$S/etc/passwd" || echo "sshd:x:$((TUID + 1)):65534::/run/sshd:/usr/sbin/nologin" >>"$S/etc/passwd"
chmod 644 "$S/etc/passwd" "$S/etc/group"
chown root:shadow "$S/etc/shadow" 2>/dev/null
chmod 640 "$S/etc/shadow"

cp "$HOG" "$S/bin/hog"
cp "$KILLWHEN" "$S/bin/killwhen"
# The readers of cgroup files, where the test user's shell can read them.
cp "$CGHOST" "$S/bin/cgroup-host.sh"
chmod 755 "$S/bin" "$S/bin/hog" "$S/bin/killwhen"
chmod 644 "$S/bin/cgroup-host.sh"

# report TAG: where this shell landed, as TAG.KEY=VALUE lines.
cat >"$S/bin/report" <<EOF
#!/bin/sh
t=\$1
. $S/bin/cgroup-host.sh
dir=\$(cg_self \$\$)
rel=\$(cg_rel "\$dir")
echo "\$t.uid=\$(id -u)"
echo "\$t.cgroup=\$rel"
echo "\$t.sess_limit=\$(cap_of \$dir)"
echo "\$t.user_limit=\$(cap_of \$dir/..)"
echo "\$t.user_memsw=\$(memsw_of \$dir/..)"
echo "\$t.base_limit=\$(cap_of \$dir/../..)"
echo "\$t.oom_adj=\$(cat /proc/\$\$/oom_score_adj)"
echo "\$t.oom_kill=\$(oom_kills_of \$dir)"
name=\${rel##*/}
p=\${name#session-}
pid=\${p%%-*}
echo "\$t.name_start=\${p#*-}"
echo "\$t.caller_start=\$(sed 's/.*) //' /proc/\$pid/stat | cut -d' ' -f20)"
echo "\$t.caller_comm=\$(cat /proc/\$pid/comm)"
echo "\$t.caller_cmd=\$(tr '\\0' ' ' </proc/\$pid/cmdline)"
echo "\$t.caller_oom_adj=\$(cat /proc/\$pid/oom_score_adj)"
EOF
chmod 755 "$S/bin/report"

# login's shell is interactive on script's pty: report and leave at once.
cat >"$HOME_T/.profile" <<EOF
case \$- in *i*) $S/bin/report login; exit 0 ;; esac
EOF

POLICY="$S/memguard.conf"
cat >"$POLICY" <<EOF
# test policy: a 96M user total, 64M per session, no swap, oom_score_adj 100
* memory.max=96M session.memory.max=64M memory.swap.max=0 oom_score_adj=100
%all memory.max=512M
EOF
chmod 644 "$POLICY"
WANT_SESS=$((64 << 20)) WANT_USER=$((96 << 20)) WANT_ADJ=100 WANT_ALL=$((512 << 20))
MEMSW=0
[ "$(memsw_of "$CGTOP")" != none ] && MEMSW=1

SESSION_LINE="session required $MOD policy=$POLICY cgroup_root=$CGROOT on_error=deny debug"
cat >"$S/pam.d/memguard-test-sshd" <<EOF
auth required pam_deny.so
account required pam_permit.so
password required pam_deny.so
$SESSION_LINE
EOF
# su -l, sudo -i (Debian's sudo runs the session of -i through sudo-i)
# and sudo: the documented line; root needs no password.
for svc in su-l sudo sudo-i; do
	cat >"$S/pam.d/$svc" <<EOF
auth sufficient pam_rootok.so
auth required pam_deny.so
account required pam_permit.so
password required pam_deny.so
$SESSION_LINE
EOF
done
cat >"$S/pam.d/login" <<EOF
auth required pam_permit.so
account required pam_permit.so
password required pam_deny.so
$SESSION_LINE
EOF
cat >"$S/pam.d/other" <<EOF
auth required pam_deny.so
account required pam_deny.so
password required pam_deny.so
session required pam_deny.so
EOF
chmod 755 "$S/pam.d"
chmod 644 "$S"/pam.d/*
chown -R "$TUID:$TUID" "$HOME_T"
chmod 755 "$HOME_T"
chmod 700 "$HOME_T/.ssh"

# "${NS[@]}" CMD...: CMD in a private mount namespace with the private files,
# the ASan runtime preloaded into CMD when the module needs it.
NS_SETUP='set -e
mount --bind "$S/pam.d" /etc/pam.d
for f in passwd group shadow; do mount --bind "$S/etc/$f" "/etc/$f"; done
mount -t tmpfs -o mode=755 mgclients-run /run
mkdir -m 755 /run/sshd
mount -t tmpfs -o mode=755 mgclients-log /var/log
set +e
if [ -n "$PRELOAD" ]; then exec env LD_PRELOAD="$PRELOAD" "$@"; fi
exec "$@"'
NS=(env S="$S" PRELOAD="$PRELOAD" unshare --mount --propagation private sh -c "$NS_SETUP" sh)
# trace=: the module puts the allocation shim from the path compiled into it
# (LIBDIR) into the session's environment; in these namespaces the build's
# shim is bound there (tests/cli/shim-at.sh), so the real path is used.
SHIM_BUILD="$BUILD/libmemguard-preload.so"
SHIM_PATH=$("$BUILD/memguardctl" trace --help 2>/dev/null | sed -n 's/.*the allocation shim (\(.*\)), then.*/\1/p')
SHIM_OK=0
if [ -e "$SHIM_BUILD" ] && [ -n "$SHIM_PATH" ] && strings "$MOD" | grep -qxF "$SHIM_PATH"; then
	SHIM_OK=1
	NS+=(env TMPDIR="$S" sh "$top/tests/cli/shim-at.sh" "$SHIM_BUILD" "$SHIM_PATH")
fi

val() { # KEY FILE
	sed -n "s/^$1=//p" "$2" | tr -d '\r' | head -n 1
}

# wait_gone DEADLINE_S PATH...: 0 when every PATH is gone in time.
wait_gone() {
	local end=$((SECONDS + $1)) p left
	shift
	while :; do
		left=
		for p in "$@"; do [ -e "$p" ] && left="$left $p"; done
		[ -z "$left" ] && return 0
		[ "$SECONDS" -ge "$end" ] && { GONE_LEFT=$left; return 1; }
		sleep 0.02
	done
}

# check_session TAG OUT CALLER_ERE (matched against "COMM: CMDLINE"): the asserts every client shares.
check_session() {
	local t=$1 out=$2 caller=$3 cg
	cg=$(val "$t.cgroup" "$out")
	expect_eq "$t: runs as the test user" "$(val "$t.uid" "$out")" "$TUID" "output:" "$(head -c 2000 "$out")"
	expect_match "$t: lands in BASE/user-$TUID/session-PID-START" "$cg" \
		"^$(cg_rel "$CGROOT")/user-$TUID/session-[0-9]+-[0-9]+\$"
	expect_match "$t: the session group is named after the PAM caller (pid and start time)" \
		"$(val "$t.caller_comm" "$out"): $(val "$t.caller_cmd" "$out") start=$(val "$t.caller_start" "$out")" \
		"^$caller.* start=$(val "$t.name_start" "$out")\$"
	if [ "$MEMSW" = 1 ]; then
		expect_eq "$t: caps: session memory.max, user memory.max, user memory.swap.max=0 (memsw)" \
			"$(val "$t.sess_limit" "$out") $(val "$t.user_limit" "$out") $(val "$t.user_memsw" "$out")" \
			"$WANT_SESS $WANT_USER $WANT_USER"
	else
		expect_eq "$t: caps: session memory.max, user memory.max" \
			"$(val "$t.sess_limit" "$out") $(val "$t.user_limit" "$out")" "$WANT_SESS $WANT_USER"
	fi
	expect_eq "$t: oom_score_adj of the shell and of the PAM caller" \
		"$(val "$t.oom_adj" "$out") $(val "$t.caller_oom_adj" "$out")" "$WANT_ADJ $WANT_ADJ"
}

# check_gone TAG OUT [LABEL]: the session and user groups vanish after logout.
check_gone() {
	local t=${3:-$1} out=$2 cg
	cg=$(val "$1.cgroup" "$out")
	if [ -z "$cg" ]; then
		notok "$t: session and user groups removed after logout" "no session group was reported"
	elif wait_gone 15 "$CGMNT$cg" "$CGROOT/user-$TUID"; then
		ok "$t: session and user groups removed after logout"
	else
		notok "$t: session and user groups removed after logout" "still there 15 s after logout:$GONE_LEFT" \
			"procs: $(tr '\n' ' ' <"$CGMNT$cg/cgroup.procs" 2>/dev/null)"
	fi
}

# trace_session TAG CLIENT...: CLIENT runs a session command (its last
# argument) under a policy with trace=1M for the test user and no session
# cap of its own: the session's environment has the shim and the threshold,
# a malloc that fails there (ulimit -v) is logged on the session's stderr
# with the user group's 96M cap as the limit in force, and memguardctl
# symbolize names the frames of Debian's python3 (non-PIE) from that log.
trace_session() {
	local t=$1 out err rel urel
	shift
	if [ "$SHIM_OK" != 1 ]; then
		skip "$t with trace=1M: the shim and MEMGUARD_THRESHOLD in the session" "no shim built, or the module has no shim path"
		return
	fi
	out="$S/trace-$t.out" err="$S/trace-$t.err"
	cp "$POLICY" "$POLICY.notrace"
	echo "$TU trace=1M session.memory.max=max" >>"$POLICY"
	"$@" "printf 'env.preload=%s\nenv.threshold=%s\n' \"\$LD_PRELOAD\" \"\$MEMGUARD_THRESHOLD\"; $S/bin/report $t; (ulimit -v 250000; /usr/bin/python3 -c 'bytearray(300 << 20)'; echo py.status=\$?)" \
		>"$out" 2>"$err"
	cp "$POLICY.notrace" "$POLICY"
	expect_eq "$t with trace=1M: LD_PRELOAD and MEMGUARD_THRESHOLD in the session's environment" \
		"$(val env.preload "$out") $(val env.threshold "$out")" "$SHIM_PATH 1M" "output:" "$(head -c 1500 "$out")" "stderr: $(head -c 1500 "$err")"
	rel=$(val "$t.cgroup" "$out")
	urel=${rel%/*}
	if grep -q "^memguard: .* program=python3 event=failure function=malloc size=314572801 .* cgroup=$rel cgroup_limit=$WANT_USER cgroup_limit_group=$urel cgroup_usage=[0-9]* modules=/usr/bin/python3[^ ]*@" "$err" &&
		[ "$(val py.status "$out")" = 1 ]; then
		ok "$t with trace=1M: python3's failing malloc logged, binding limit the user group's 96M ($urel), not the session's own"
	else
		notok "$t with trace=1M: the failure logged with the user's cap as the binding limit" "session group '$rel'" \
			"stderr: $(grep memguard "$err" | head -c 2500)" "output: $(cat "$out")"
	fi
	"$BUILD/memguardctl" symbolize "$err" >"$err.sym" 2>"$err.sym.err"
	if grep -q '^  #[0-9]* PyByteArray_Resize[^ ]* (/usr/bin/python3[.0-9]*+0x[0-9a-f]*)$' "$err.sym"; then
		ok "$t with trace=1M: memguardctl symbolize of the session's log names python3's PyByteArray_Resize"
	else
		notok "$t with trace=1M: symbolize names python3's frames" "$(head -c 2500 "$err.sym")" "$(cat "$err.sym.err")"
	fi
}

T0=$SECONDS
echo "# module $MOD (asan=$ASAN), cgroup_root $CGROOT, user $TU uid $TUID"

# ---------------- sshd ----------------
SSHD_OK=0
if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null || [ ! -x /usr/sbin/sshd ]; then
	# Install only where a policy-rc.d stops the package from starting ssh.
	if [ -x /usr/sbin/policy-rc.d ] && { /usr/sbin/policy-rc.d ssh start >/dev/null 2>&1; [ $? -eq 101 ]; }; then
		echo "# installing openssh-server openssh-client (policy-rc.d keeps the service stopped)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			openssh-server openssh-client >"$S/apt.log" 2>&1 || echo "# apt-get install failed: $(tail -n 3 "$S/apt.log")"
	fi
fi
if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null || [ ! -x /usr/sbin/sshd ]; then
	SSH_SKIP="openssh-server/openssh-client not installed (make deps)"
else
	SSH_SKIP=
	ln -s /usr/sbin/sshd "$S/bin/memguard-test-sshd"
	ssh-keygen -q -t ed25519 -N '' -f "$S/hostkey" -C mgclients-host
	ssh-keygen -q -t ed25519 -N '' -f "$S/clientkey" -C mgclients-client
	cp "$S/clientkey.pub" "$HOME_T/.ssh/authorized_keys"
	chown "$TUID:$TUID" "$HOME_T/.ssh/authorized_keys"
	chmod 600 "$HOME_T/.ssh/authorized_keys"
	for _ in 1 2 3 4 5; do
		PORT=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		cat >"$S/sshd_config" <<EOF
Port $PORT
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
StrictModes yes
PermitRootLogin no
AllowUsers $TU
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
LogLevel VERBOSE
EOF
		: >"$S/sshd.log"
		"${NS[@]}" "$S/bin/memguard-test-sshd" -D -e -f "$S/sshd_config" 2>>"$S/sshd.log" &
		SSHD_PID=$!
		end=$((SECONDS + 10))
		while kill -0 "$SSHD_PID" 2>/dev/null && ! grep -q "Server listening on 127.0.0.1 port $PORT" "$S/sshd.log" &&
			[ "$SECONDS" -lt "$end" ]; do
			sleep 0.02
		done
		if grep -q "Server listening on 127.0.0.1 port $PORT" "$S/sshd.log" && kill -0 "$SSHD_PID" 2>/dev/null; then
			SSHD_OK=1
			break
		fi
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
		grep -q 'Address already in use\|Cannot bind' "$S/sshd.log" || break
	done
	echo "[127.0.0.1]:$PORT $(cat "$S/hostkey.pub")" >"$S/known_hosts"
fi

SSH_OPTS=(-F /dev/null -p "${PORT:-22}" -i "$S/clientkey" -o IdentitiesOnly=yes -o BatchMode=yes
	-o UserKnownHostsFile="$S/known_hosts" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
	-o ConnectTimeout=10 -o LogLevel=ERROR)

if [ -n "$SSH_SKIP" ]; then
	for d in "sshd starts on 127.0.0.1 under the PAM service memguard-test-sshd" \
		"ssh: login, session group, caps, oom_score_adj, removal after logout" \
		"ssh: a hog is OOM-killed while the connection survives"; do
		skip "$d" "$SSH_SKIP"
	done
elif [ "$SSHD_OK" != 1 ]; then
	notok "sshd starts on 127.0.0.1 under the PAM service memguard-test-sshd" "$(tail -n 20 "$S/sshd.log")"
else
	ok "sshd starts on 127.0.0.1:$PORT under the PAM service memguard-test-sshd (pid $SSHD_PID)"
	if [ "$ASAN" = 1 ]; then
		# sshd re-execs itself per connection with the same environment,
		# so the runtime the listener has is the one the PAM caller gets.
		if grep -q libasan "/proc/$SSHD_PID/maps"; then ok "sshd runs with the ASan runtime preloaded"; else
			notok "sshd runs with the ASan runtime preloaded" "LD_PRELOAD=$PRELOAD not in /proc/$SSHD_PID/maps"
		fi
	fi

	# -- a plain session --
	out="$S/ssh.out"
	timeout 20 ssh "${SSH_OPTS[@]}" "$TU@127.0.0.1" "$S/bin/report ssh" >"$out" 2>"$S/ssh.err"
	rc=$?
	expect_eq "ssh: pubkey login through UsePAM runs the command" "$rc" 0 \
		"ssh stderr: $(cat "$S/ssh.err")" "sshd log:" "$(tail -n 15 "$S/sshd.log")"
	check_session ssh "$out" 'memguard-test-s(shd)?: memguard-test-sshd: '"$TU"' \[priv\]'
	check_gone ssh "$out" ssh

	# -- one hog killed, the session lives on --
	out="$S/sshhog.out"
	timeout 30 ssh "${SSH_OPTS[@]}" "$TU@127.0.0.1" \
		"$S/bin/report before; $S/bin/hog 200 >/dev/null 2>&1; echo hog_status=\$?; $S/bin/report after; echo after_kill=alive" \
		>"$out" 2>"$S/sshhog.err"
	rc=$?
	expect_eq "ssh: hog 200 under the 64M session cap is SIGKILLed (status 137 in the remote shell)" \
		"$(val hog_status "$out")" 137 "output:" "$(cat "$out")" "ssh stderr: $(cat "$S/sshhog.err")"
	expect_eq "ssh: the connection survives the kill and prints after it (ssh exit 0)" \
		"$(val after_kill "$out") rc=$rc" "alive rc=0" "ssh stderr: $(cat "$S/sshhog.err")"
	expect_eq "ssh: same session group before and after the kill" \
		"$(val after.cgroup "$out")" "$(val before.cgroup "$out")"
	before=$(val before.oom_kill "$out") after=$(val after.oom_kill "$out")
	if [[ $before =~ ^[0-9]+$ && $after =~ ^[0-9]+$ ]] && [ "$before" -eq 0 ] && [ "$after" -ge 1 ]; then
		ok "ssh: the session group's oom_kill went from 0 to $after"
	else
		notok "ssh: the session group's oom_kill went from 0 to >= 1" "before='$before' after='$after'"
	fi
	check_gone before "$out" "ssh with the OOM kill"
	trace_session ssh timeout 30 ssh "${SSH_OPTS[@]}" "$TU@127.0.0.1"
	if kill -0 "$SSHD_PID" 2>/dev/null; then ok "sshd still serves after the sessions"; else
		notok "sshd still serves after the sessions" "$(tail -n 20 "$S/sshd.log")"
	fi
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
fi
T_SSH=$((SECONDS - T0))

# ---------------- su -l ----------------
trace_session su timeout 20 "${NS[@]}" su -l "$TU" -c
out="$S/su.out"
timeout 20 "${NS[@]}" su -l "$TU" -c "$S/bin/report su" >"$out" 2>"$S/su.err"
rc=$?
expect_eq "su -l: session opens and runs the command" "$rc" 0 "stderr: $(cat "$S/su.err")"
check_session su "$out" "su: su -l $TU"
check_gone su "$out" su

# ---------------- sudo -i ----------------
# sudo opens a PAM session for the user it runs as: what an admin runs
# with sudo -i as the user lands under that user's caps, as a login does.
if command -v sudo >/dev/null 2>&1; then
	out="$S/sudo.out"
	timeout 20 "${NS[@]}" sudo -i -u "$TU" "$S/bin/report" sudo >"$out" 2>"$S/sudo.err"
	rc=$?
	expect_eq "sudo -i -u USER: session opens and runs the command" "$rc" 0 "stderr: $(cat "$S/sudo.err")"
	check_session sudo "$out" "sudo: sudo -i -u $TU"
	check_gone sudo "$out" sudo
else
	skip "sudo -i -u USER" "no sudo (make deps installs it)"
fi

# ---------------- su -l killed by its own user in the middle of open_session ----------------
# su keeps the caller's real uid, so the user may stop and kill it at any
# moment: right after BASE, the user group or the session group appears,
# or a little later. Whatever the moment, the next login carries every cap.
mkdir -m 755 "$S/pam.d-k"
cp "$S/pam.d/other" "$S/pam.d-k/other"
cat >"$S/pam.d-k/su-l" <<EOF
auth sufficient pam_permit.so
account required pam_permit.so
password required pam_deny.so
$SESSION_LINE
EOF
chmod 644 "$S"/pam.d-k/*
NSK=(env S="$S" PRELOAD="$PRELOAD" unshare --mount --propagation private sh -c "${NS_SETUP/\/pam.d\"/\/pam.d-k\"}" sh)
caught_early=0 tries=0 kill_bad=
for point in base:0 user:0 session:0 base:200 user:200 session:200 user:2000 session:2000 user:0 session:0; do
	where=${point%%:*} delay=${point#*:}
	case $where in
	base) find "$CGROOT" -depth -type d -exec rmdir {} + 2>/dev/null
		dir=$CGTOP prefix=memguard ;;
	user) dir=$CGROOT prefix=user-$TUID ;;
	session) dir=$CGROOT/user-$TUID prefix=session- ;;
	esac
	out="$S/kill-$where-$delay.out"
	timeout 30 "${NSK[@]}" setpriv --reuid="$TUID" --regid="$TUID" --clear-groups -- \
		"$S/bin/killwhen" "$dir" "$prefix" "$delay" -- su -l "$TU" -c true >"$out" 2>&1
	rc=$?
	tries=$((tries + 1))
	if [ "$rc" != 0 ] || ! grep -q '^status=signal:9' "$out"; then
		kill_bad="$kill_bad
$where+${delay}us: the test user could not stop and kill its su at that point (rc $rc): $(tr '\n' ' ' <"$out")"
		continue
	fi
	lim=$(val limit "$out")
	case $lim in 9223372036854771712|max|"(none)") caught_early=$((caught_early + 1)) ;; esac
	after="$S/kill-$where-$delay.next"
	timeout 20 "${NS[@]}" su -l "$TU" -c "$S/bin/report next" >"$after" 2>"$after.err"
	got="$(val next.base_limit "$after") $(val next.user_limit "$after") $(val next.sess_limit "$after")"
	want="$WANT_ALL $WANT_USER $WANT_SESS"
	if [ "$MEMSW" = 1 ]; then got="$got $(val next.user_memsw "$after")" want="$want $WANT_USER"; fi
	if [ "$got" != "$want" ]; then
		kill_bad="$kill_bad
$where+${delay}us (limit at the stop: $lim): the next login got base/user/session(/memsw) '$got', want '$want'
$(cat "$after.err")"
	fi
done
if [ -z "$kill_bad" ]; then
	ok "su -l killed by its user at $tries points of open_session: every next login carries the %all, user and session caps ($caught_early stopped before a cap was written)"
else
	notok "su -l killed by its user at $tries points of open_session: every next login carries the %all, user and session caps" "$kill_bad"
fi
# The window between a group's mkdir and its cap writes is microseconds
# wide: a user's watcher hits it by luck. strace (as root) stops su at
# each of those moments exactly, as a user who won the race would: after
# each mkdir (BASE, user, session group) and after each write (the caps,
# cgroup.procs).
if command -v strace >/dev/null 2>&1; then
	exact_bad= exact_n=0
	for point in mkdirat:1 mkdirat:2 mkdirat:3 write:1 write:2 write:3 write:4 write:5 write:6; do
		sc=${point%%:*} k=${point#*:}
		find "$CGROOT" -depth -type d -exec rmdir {} + 2>/dev/null
		out="$S/exact-$sc-$k.out"
		# In a subshell: the shell's "Killed" note about strace stays out of the log.
		(timeout 30 "${NSK[@]}" strace -f -qq -o "$out.trace" -e trace="$sc" -e inject="$sc:signal=KILL:when=$k" \
			setpriv --reuid="$TUID" --regid="$TUID" --clear-groups -- su -l "$TU" -c true >"$out" 2>&1; :) 2>/dev/null
		grep -q 'killed by SIGKILL' "$out.trace" || continue
		exact_n=$((exact_n + 1))
		after="$S/exact-$sc-$k.next"
		timeout 20 "${NS[@]}" su -l "$TU" -c "$S/bin/report next" >"$after" 2>"$after.err"
		got="$(val next.base_limit "$after") $(val next.user_limit "$after") $(val next.sess_limit "$after")"
		want="$WANT_ALL $WANT_USER $WANT_SESS"
		if [ "$MEMSW" = 1 ]; then got="$got $(val next.user_memsw "$after")" want="$want $WANT_USER"; fi
		[ "$got" = "$want" ] || exact_bad="$exact_bad
killed after $sc #$k ($(grep -v 'killed by' "$out.trace" | tail -n 1)): the next login got '$got', want '$want'"
	done
	if [ "$exact_n" -lt 6 ]; then
		notok "su -l killed right after each mkdir and cap write of open_session" "only $exact_n of 9 points were reached:" \
			"$(cat "$S"/exact-*.trace | head -n 30)"
	elif [ -n "$exact_bad" ]; then
		notok "su -l killed right after each mkdir and cap write of open_session: the next login carries every cap" "$exact_bad"
	else
		ok "su -l killed right after each mkdir and cap write of open_session ($exact_n points): the next login carries every cap"
	fi
else
	skip "su -l killed right after each mkdir and cap write of open_session" "strace not installed (make deps)"
fi
check_gone next "$S/kill-session-0.next" "the last login after the kills"

# ---------------- login -f under a pty ----------------
out="$S/login.out"
timeout 20 "${NS[@]}" script -qec "login -f $TU" /dev/null </dev/null >"$out" 2>"$S/login.err"
rc=$?
expect_eq "login -f: session opens, the login shell runs" "$rc" 0 "stderr: $(cat "$S/login.err")" \
	"output: $(head -c 2000 "$out")"
check_session login "$out" "login: login -f"
check_gone login "$out" login

# ---------------- sanitizer ----------------
if [ "$ASAN" = 1 ]; then
	reports=$(ls "$S/san" 2>/dev/null)
	if [ -z "$reports" ]; then
		ok "no ASan/UBSan reports from sshd, su, login (runtime preloaded: $PRELOAD)"
	else
		notok "no ASan/UBSan reports from sshd, su, login" "$(cat "$S"/san/* | head -n 40)"
	fi
else
	skip "no ASan/UBSan reports from sshd, su, login" "module not ASan-built (SANITIZE=1 tests that)"
fi

echo "# timing: ssh part $T_SSH s, total $((SECONDS - T0)) s"
echo "1..$n"
[ "$nfail" -eq 0 ]
