# Sourced by the PAM stage's scripts (tests/pam/run.sh, tests/pam/matrix.sh),
# from the top of the repository: checks that the stage can run (root, a
# memory cgroup of its own: v1's, or v2's in a delegated subtree, see
# tests/pam/cgroup-host.sh; nss_wrapper; otherwise exits 77), builds what
# it drives, and sets up what every test shares: $T (a private temporary
# directory), $CGT=$CG_HOME/mgpam-$$ (a cgroup of our own), $OWN (where the
# stage's processes run, the caller's group of a login that places nothing),
# BASE=$CGT/memguard, the test users through nss_wrapper, the TAP helpers, the
# pamdrive wrappers and a private /dev/log listener. Both are removed on exit.
MGPAM_LIB=1

BUILD=${BUILD:-build}
[ "${SANITIZE:-}" = 1 ] && case $BUILD in build) BUILD=build/san ;; esac
TOP=$(pwd)
SO=$TOP/$BUILD/pam_memguard.so
DRIVE=$TOP/$BUILD/tests/pam/pamdrive
HOG=$TOP/$BUILD/tests/tools/hog
DLSMOKE=$TOP/$BUILD/tests/tools/dlsmoke
NSSW=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so

if [ "$(id -u)" != 0 ]; then
	echo "# SKIP: needs root (cgroups, PAM)"; exit 77
fi
if [ ! -r "$NSSW" ]; then
	echo "# SKIP: libnss_wrapper not installed ($NSSW)"; exit 77
fi
# v1: our own memory cgroup; v2: a delegated subtree of our own (under
# systemd the stage re-executes itself here, in a scope of its own).
. "$TOP/tests/pam/cgroup-host.sh"
cg_host_enter sh "$0" "$@" || { echo "# SKIP: $CG_WHY"; exit 77; }
OWN=$CG_OWN

# MEMGUARD_PAM_LIGHT=1: the load tests with fewer users and rounds, for a
# slow machine (the guest under emulation); every test still runs.
LIGHT=${MEMGUARD_PAM_LIGHT:-}
# MEMGUARD_PAM_QUICK=1: leave out the load (7), valgrind (10), live
# operations and matrix (11) sections, for the guest's default proof that
# the stage runs on a systemd + cgroup v2 host; the sections that remain
# run whole. The header says which.
QUICK=${MEMGUARD_PAM_QUICK:-}

MAKEVARS="BUILD=$BUILD"
[ "${SANITIZE:-}" = 1 ] && MAKEVARS="SANITIZE=1"
if ! make -s $MAKEVARS all "$BUILD/tests/pam/pamdrive" "$BUILD/tests/tools/hog" "$BUILD/tests/tools/dlsmoke" >&2; then
	echo "Bail out! build failed"; exit 1
fi

T=$(mktemp -d /tmp/mgpam.XXXXXX) || exit 1
chmod 700 "$T"
CGT=$CG_HOME/mgpam-$$
BASE=$CGT/memguard
SHM=""
BGPIDS=""

cleanup() {
	for p in $BGPIDS; do kill -9 "$p" 2>/dev/null; done
	if [ -d "$CGT" ]; then
		# Our own leftovers only: everything under $CGT was made by us.
		for d in $(find "$CGT" -depth -type d 2>/dev/null); do
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
				echo "$p" >"$OWN/cgroup.procs" 2>/dev/null
			done
			rmdir "$d" 2>/dev/null
		done
	fi
	[ -n "$SHM" ] && rm -rf "$SHM"
	rm -rf "$T"
	cg_host_leave
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

mkdir "$CGT" || { echo "Bail out! cannot create $CGT"; exit 1; }

# --- users and groups through nss_wrapper; /etc is never touched ---
cat >"$T/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
alice:x:1001:1001::/tmp:/bin/sh
bob:x:1002:1002::/tmp:/bin/sh
carol:x:5000:5000::/tmp:/bin/sh
dave:x:1004:1004::/tmp:/bin/sh
eve:x:1005:1005::/tmp:/bin/sh
frank:x:1006:1006::/tmp:/bin/sh
EOF
cat >"$T/group" <<EOF
root:x:0:
alice:x:1001:
bob:x:1002:
carol:x:5000:
dave:x:1004:
eve:x:1005:
frank:x:1006:
grp:x:3000:bob
EOF
i=1
while [ $i -le 20 ]; do
	n=$(printf 'u%02d' $i)
	echo "$n:x:$((2000 + i)):$((2000 + i))::/tmp:/bin/sh" >>"$T/passwd"
	echo "$n:x:$((2000 + i)):" >>"$T/group"
	i=$((i + 1))
done
RUNENV="LD_PRELOAD=$NSSW NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group"
[ "${SANITIZE:-}" = 1 ] && RUNENV="$RUNENV ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1"

# --- TAP helpers ---
N=0
FAILS=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
notok() {
	N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
# check DESC ACTUAL EXPECTED [DIAG-FILE]
check() {
	if [ "$2" = "$3" ]; then ok "$1"
	else notok "$1" "expected: $3" "got: $2" "$( [ -n "${4:-}" ] && cat "$4" 2>/dev/null)"; fi
}

# policy NAME CONTENT -> $T/NAME.conf, root-owned, 0644
policy() {
	printf '%s\n' "$2" >"$T/$1.conf"
	chmod 644 "$T/$1.conf"
}
# service NAME ARGS... -> service NAME in $T/pam.d
mkdir "$T/pam.d"
service() {
	s=$1; shift
	echo "session required $SO $*" >"$T/pam.d/$s"
}
# drive OUTFILE SERVICE USER [CMD...]: runs pamdrive, stdout+stderr to OUTFILE
drive() {
	out=$1; shift
	env $RUNENV timeout 60 "$DRIVE" "$T/pam.d" "$@" >"$out" 2>&1
}
field() { sed -n "s/^$1=//p" "$2" | head -n 1; }
# memory cgroup path of a pamdrive run (absolute, under the mount)
sessdir() {
	if [ "$CG_V" = 1 ]; then
		echo "/sys/fs/cgroup/memory$(sed -n 's/^cgroup=[0-9]*:\([^:]*,\)\{0,1\}memory\(,[^:]*\)\{0,1\}://p' "$1" | head -n 1)"
	else
		echo "/sys/fs/cgroup$(sed -n 's/^cgroup=0:://p' "$1" | head -n 1)"
	fi
}
cgval() { cat "$1" 2>/dev/null || echo "(missing $1)"; }
# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds
wait_until() {
	lim=$1; shift
	end=$(( $(date +%s) + lim ))
	while ! "$@"; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.05
	done
	return 0
}
procs_empty() { [ -z "$(cat "$1/cgroup.procs" 2>/dev/null)" ]; }
M() { echo $(($1 * 1048576)); }

# The shell each session runs reports its own memory group, and has the
# readers of tests/pam/cgroup-host.sh for what follows.
SELFCG='. "'"$TOP"'/tests/pam/cgroup-host.sh"; echo "selfcg=$(cg_self)"'
# The caps of the session's groups, as its shell reads them.
CAPS="$SELFCG"'; d=$(cg_self)
echo "u_max=$(cap_of $d/..)"; echo "u_memsw=$(memsw_of $d/..)"
echo "u_soft=$(high_of $d/..)"; echo "s_max=$(cap_of $d)"'

echo "# build=$BUILD base=$BASE cgroup v$CG_V${QUICK:+ quick (sections 7, 10, 11 and the live operations left out)}"

# Each run gets a private /dev (a mount namespace of its own) whose log is
# a symlink to our listener's socket, so the module's syslog lines are
# captured without touching the host's /dev or syslog.
cat >"$T/listen.py" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "ab", buffering=0)
while True:
    out.write(s.recv(65536).replace(b"\n", b" ") + b"\n")
PYEOF
cat >"$T/privdev.sh" <<'SHEOF'
# privdev.sh T RO_DIR CMD...: a private /dev with log -> T/log.sock and,
# when RO_DIR is not "-", RO_DIR read-only; then CMD.
T=$1 ro=$2; shift 2
d=$(mktemp -d "$T/dev.XXXXXX") || exit 125
mount -t tmpfs -o mode=755 mgdev "$d" || exit 125
for n in null zero full random urandom tty; do
	[ -e "/dev/$n" ] || continue
	touch "$d/$n" && mount --bind "/dev/$n" "$d/$n" || exit 125
done
ln -s /proc/self/fd "$d/fd"
if [ -d /dev/shm ]; then
	mkdir "$d/shm" && mount --rbind /dev/shm "$d/shm" || exit 125
fi
ln -s "$T/log.sock" "$d/log"
mount --rbind "$d" /dev || exit 125
if [ "$ro" != - ]; then
	mount --bind "$ro" "$ro" && mount -o remount,bind,ro "$ro" "$ro" || exit 125
fi
exec "$@"
SHEOF
: >"$T/syslog.txt"
LOGCAP=""
if command -v unshare >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 && command -v logger >/dev/null 2>&1; then
	python3 "$T/listen.py" "$T/log.sock" "$T/syslog.txt" &
	BGPIDS="$BGPIDS $!"
	wait_until 10 test -S "$T/log.sock" && LOGCAP=1
fi
MARK=0
# drivelog OUT RO_DIR SERVICE USER CMD...: drive with syslog captured;
# the module's lines of this run land in OUT.log.
drivelog() {
	out=$1 ro=$2
	shift 2
	if [ -z "$LOGCAP" ]; then
		drive "$out" "$@"
		: >"$out.log"
		return
	fi
	before=$(wc -l <"$T/syslog.txt")
	env $RUNENV timeout 60 unshare --mount --propagation private sh "$T/privdev.sh" "$T" "$ro" \
		"$DRIVE" "$T/pam.d" "$@" >"$out" 2>&1
	# A marker after the run: once it is in the file, so is every line before it.
	MARK=$((MARK + 1))
	logger -u "$T/log.sock" "mgpam-mark-$MARK"
	wait_until 10 grep -q "mgpam-mark-$MARK" "$T/syslog.txt"
	tail -n +"$((before + 1))" "$T/syslog.txt" | grep 'pam_memguard' >"$out.log"
}
# checklog DESC OUT OPEN_WANTED PATTERN: the PAM result, and exactly one
# error line (LOG_AUTHPRIV|LOG_ERR is <83>) that matches PATTERN and says
# what on_error did.
checklog() {
	desc=$1 out=$2 want=$3 pat=$4
	check "$desc: open=$want" "$(field open "$out")" "$want" "$out"
	if [ -z "$LOGCAP" ]; then
		skip "$desc: one clear log line" "no unshare, python3 or logger to capture syslog"
	elif [ "$(grep -c '^<83>' "$out.log")" = 1 ] && grep '^<83>' "$out.log" | grep -q -e "$pat" &&
		grep '^<83>' "$out.log" | grep -q 'on_error='; then
		ok "$desc: one clear log line"
		grep '^<83>' "$out.log" | sed 's/^<83>[^)]*): /#   /'
	else
		notok "$desc: one clear log line" "wanted one <83> line matching '$pat' and naming on_error; got:" \
			"$(cat "$out.log")"
	fi
}
