# Sourced by the tests/guest/cases/1?-pam-*.sh cases: real `su -l` logins
# through pam_memguard.so inside the guest.
#
# mg_setup re-executes the case in a private mount namespace, then
# bind-mounts tmpfs copies over /etc/passwd, /etc/group, /etc/shadow (with
# the test users mga, mgb, mgc; homes under /tmp) and /etc/pam.d/su-l (a
# private stack whose session line is pam_memguard.so). All of it vanishes
# with the namespace; nothing reaches the host's files (the host root is
# read-only 9p). The module and tools come from $MEMGUARD_TOP/$BUILD.
#
# Waiting is done with deadlines: a session reports over a FIFO and blocks
# on another one until the case lets it go (mg_su_bg, mg_expect, mg_go).

set -u
export LC_ALL=C

fail() { echo "FAIL: $*"; mg_dump_logs; exit 1; }
skip() { echo "$*"; exit 77; }
MG_T0=${EPOCHREALTIME/./}
info() { local t=${EPOCHREALTIME/./}; printf '[%6.2f] %s\n' "$(((t - MG_T0) / 10000))e-2" "$*"; }

CGROOT=/sys/fs/cgroup
BASE=$CGROOT/memguard
MG_UID_A=2001 MG_UID_B=2002 MG_UID_C=2003 MG_GID_TEST=2100
MG_HOMES=/tmp/mg-home
MG_SYNC=/tmp/mg-sync

# Before anything else: a mount namespace of our own, so that the bind
# mounts (and /dev/log) disappear with the case.
mg_unshare() {
	if [ -z "${MG_UNSHARED:-}" ]; then
		[ "${MEMGUARD_IN_GUEST:-}" = 1 ] || skip "not in the guest (these cases change /etc and sysctls)"
		[ "$(id -u)" = 0 ] || skip "needs root"
		command -v unshare >/dev/null || skip "no unshare(1)"
		export MG_UNSHARED=1
		exec unshare --mount --propagation private /bin/bash "$0" "$@"
	fi
}

mg_setup() {	# mg_setup POLICY_TEXT
	local policy_text=$1 asan
	BUILD=${BUILD:-build}
	TOP=${MEMGUARD_TOP:?}
	MOD=$TOP/$BUILD/pam_memguard.so
	HOG_BIN=$TOP/$BUILD/tests/tools/hog
	# For session scripts: a sanitizer build's hog never frees, and
	# LeakSanitizer would turn its exit status into 1.
	HOG="ASAN_OPTIONS=detect_leaks=0 $HOG_BIN"
	BIGALLOC=${MEMGUARD_GUEST_BIN:-}/bigalloc
	[ -f "$MOD" ] || skip "no $MOD (run make${BUILD#build} first)"
	[ -x "$HOG_BIN" ] || skip "no $HOG_BIN (run make $BUILD/tests/tools/hog)"
	command -v su >/dev/null || skip "no su(1)"
	[ "$(stat -f -c %T $CGROOT)" = cgroup2fs ] || fail "$CGROOT is not cgroup2"
	[ -d /run/systemd/system ] && fail "/run/systemd/system exists: the module would not make cgroups"
	W=${MEMGUARD_SCRATCH:?}
	ART=${MEMGUARD_ARTIFACTS:-$W}
	info "BUILD=$BUILD module=$MOD"

	# Leftovers of an earlier case would turn this one's caps into raises.
	mg_remove_base

	# A sanitizer build of the module needs ASan loaded first in su.
	MG_PRELOAD=""
	asan=$(ldd "$MOD" 2>/dev/null | awk '/libasan/ {print $3; exit}')
	if [ -n "$asan" ]; then
		MG_PRELOAD=$asan
		info "sanitizer build: su runs with LD_PRELOAD=$asan"
	fi

	# Accounts.
	mkdir -p "$W/etc" "$MG_HOMES" "$MG_SYNC"
	chmod 755 "$MG_SYNC" "$MG_HOMES"	# not sticky: no protected_fifos trouble
	cp /etc/passwd /etc/group /etc/shadow "$W/etc/"
	local u uid
	for u in mga:$MG_UID_A mgb:$MG_UID_B mgc:$MG_UID_C; do
		uid=${u#*:} u=${u%:*}
		grep -q "^$u:" "$W/etc/passwd" && fail "user $u exists on the host"
		echo "$u:x:$uid:$uid:memguard test:$MG_HOMES/$u:/bin/bash" >>"$W/etc/passwd"
		echo "$u:x:$uid:" >>"$W/etc/group"
		echo "$u:*:19000:0:99999:7:::" >>"$W/etc/shadow"
		mkdir -p "$MG_HOMES/$u"
		chown "$uid:$uid" "$MG_HOMES/$u"
	done
	echo "mgtest:x:$MG_GID_TEST:mga,mgb" >>"$W/etc/group"
	chmod 644 "$W/etc/passwd" "$W/etc/group"
	chmod 640 "$W/etc/shadow"
	local f
	for f in passwd group shadow; do
		mount --bind "$W/etc/$f" "/etc/$f" || fail "cannot bind-mount over /etc/$f"
	done

	# Policy: root-owned, not writable by others, or the module trusts nothing.
	mkdir -p "$W/policy"
	chmod 755 "$W/policy"
	POLICY=$W/policy/memguard.conf
	printf '%s\n' "$policy_text" >"$POLICY"
	chmod 644 "$POLICY"
	info "policy:"
	sed 's/^/    /' "$POLICY"

	# PAM: root may su without a password; the session is ours.
	cat >"$W/su-l" <<EOF
auth     required pam_rootok.so
account  required pam_permit.so
password required pam_deny.so
session  required $MOD policy=$POLICY on_error=deny debug
EOF
	[ -e /etc/pam.d/su-l ] || fail "no /etc/pam.d/su-l to bind-mount over"
	mount --bind "$W/su-l" /etc/pam.d/su-l || fail "cannot bind-mount over /etc/pam.d/su-l"

	# The module logs through syslog(3); keep what it says.
	MG_SYSLOG=$ART/syslog.txt
	: >"$MG_SYSLOG"
	MG_SYSLOGD_PID=""
	if [ ! -e /dev/log ] && busybox syslogd --help >/dev/null 2>&1; then
		busybox syslogd -n -O "$MG_SYSLOG" &
		MG_SYSLOGD_PID=$!
		mg_until 10 test -S /dev/log || info "note: syslogd did not create /dev/log"
	fi
	MG_BG_PIDS=""
	trap mg_teardown EXIT
}

mg_teardown() {
	local p
	for p in $MG_BG_PIDS; do
		{ kill -KILL "$p" && wait "$p"; } 2>/dev/null
	done
	mg_remove_base
	if [ -n "${MG_SYSLOGD_PID:-}" ]; then
		kill "$MG_SYSLOGD_PID" 2>/dev/null
		wait "$MG_SYSLOGD_PID" 2>/dev/null
		rm -f /dev/log
	fi
	rm -rf "$MG_HOMES" "$MG_SYNC"
}

mg_dump_logs() {
	if [ -s "${MG_SYSLOG:-/nonexistent}" ]; then
		echo "--- syslog (module messages):"
		sed 's/^/    /' "$MG_SYSLOG"
	fi
}

# mg_until SECONDS CMD...: retry CMD until it succeeds or the deadline passes.
mg_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# Kill whatever is left under BASE and remove the groups, deepest first.
mg_remove_base() {
	[ -d "$BASE" ] || return 0
	local d
	# No process substitution: the guest's devtmpfs has no /dev/fd.
	for d in $(find "$BASE" -depth -type d); do
		[ -e "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null
		mg_until 10 mg_unpopulated "$d"
		rmdir "$d" 2>/dev/null || echo "note: cannot remove $d"
	done
}

mg_unpopulated() { grep -qx 'populated 0' "$1/cgroup.events" 2>/dev/null; }

# mg_event DIR KEY: a counter from DIR/memory.events.
mg_event() { sed -n "s/^$2 //p" "$1/memory.events"; }
mg_events() { tr '\n' ' ' <"$1/memory.events"; }

# The name pam_memguard gives the session of PID: session-PID-STARTTIME.
mg_session_name() {
	local pid=$1 st rest
	st=$(cat "/proc/$pid/stat") || return 1
	rest=${st##*) }
	set -- $rest
	echo "session-$pid-${20}"
}

# The v2 group of PID, relative to the mount.
mg_cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }

# mg_su_bg TAG USER SCRIPT: `su -l USER -c SCRIPT` in the background. SCRIPT
# may call `up TEXT` (one line back to the case, see mg_expect) and `hold`
# (block until mg_go TAG). Output: $W/TAG.out; status: mg_wait TAG.
mg_su_bg() {
	local tag=$1 user=$2 script=$3 pre
	rm -f "$MG_SYNC/up.$tag" "$MG_SYNC/go.$tag"
	mkfifo -m 666 "$MG_SYNC/up.$tag" "$MG_SYNC/go.$tag"
	# O_RDWR: opening never blocks, and the FIFO never sees EOF.
	exec {fd}<>"$MG_SYNC/up.$tag"
	eval "MG_UPFD_$tag=\$fd"
	pre="up() { echo \"\$*\" >$MG_SYNC/up.$tag; }; hold() { exec 7<>$MG_SYNC/go.$tag; read -t 100 -u 7 _; exec 7<&-; };"
	if [ -n "$MG_PRELOAD" ]; then
		env LD_PRELOAD="$MG_PRELOAD" ASAN_OPTIONS=detect_leaks=0 \
			timeout -k 5 "${MG_SU_TIMEOUT:-100}" su -l "$user" -c "$pre $script" </dev/null >"$W/$tag.out" 2>&1 &
	else
		timeout -k 5 "${MG_SU_TIMEOUT:-100}" su -l "$user" -c "$pre $script" </dev/null >"$W/$tag.out" 2>&1 &
	fi
	eval "MG_PID_$tag=\$!"
	MG_BG_PIDS="$MG_BG_PIDS $!"
}

# mg_expect TAG SECONDS PATTERN: the next line the session sends with `up`,
# which must match the extended regex PATTERN; kept in $MG_LINE.
mg_expect() {
	local tag=$1 secs=$2 pat=$3 fd pid end=$((SECONDS + $2)) got=0
	eval "fd=\$MG_UPFD_$tag pid=\$MG_PID_$tag"
	MG_LINE=""
	# Stop waiting as soon as the login is gone (refused, killed).
	# A read that times out keeps what it got of the line: carry it over.
	local part acc=""
	while [ $SECONDS -lt $end ]; do
		if read -r -t 1 -u "$fd" part; then
			got=1
			break
		fi
		acc+=$part
		if ! kill -0 "$pid" 2>/dev/null; then
			read -r -t 0.2 -u "$fd" part && got=1
			break
		fi
	done
	MG_LINE=$acc$part
	if [ $got = 0 ]; then
		echo "--- output of $tag so far:"
		sed 's/^/    /' "$W/$tag.out"
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			fail "$tag: the login ended (status $?) before the session said /$pat/"
		fi
		fail "$tag: no word from the session within ${secs}s (expected /$pat/)"
	fi
	[[ $MG_LINE =~ $pat ]] || { sed 's/^/    /' "$W/$tag.out"; fail "$tag: session said '$MG_LINE', expected /$pat/"; }
	info "$tag says: $MG_LINE"
}

mg_go() { echo go >"$MG_SYNC/go.$1"; }

# mg_wait TAG: the su's exit status (timeout(1) bounds it).
mg_wait() {
	local pid
	eval "pid=\$MG_PID_$1"
	wait "$pid" 2>/dev/null	# no "Killed" job notice: the caller judges the status
	MG_RC=$?
	MG_BG_PIDS=" $MG_BG_PIDS "
	MG_BG_PIDS=${MG_BG_PIDS/ $pid / }
	return 0
}

# mg_su USER SCRIPT: a foreground login; output in $MG_OUT, status in $MG_RC.
mg_su() {
	local tag=fg$RANDOM
	mg_su_bg "$tag" "$1" "$2"
	mg_wait "$tag"
	MG_OUT=$(cat "$W/$tag.out")
}
