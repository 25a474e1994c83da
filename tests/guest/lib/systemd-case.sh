# Sourced by the tests/guest/cases/3?-systemd-*.sh cases, which run in the
# boot where systemd is PID 1: the root is a tmpfs overlay over the host's
# read-only root, so accounts, PAM stacks and units they write exist only in
# this guest. The module and tools come from $MEMGUARD_TOP/$BUILD.
#
# Asserting is done on what systemd, logind and the kernel report (check,
# prop), waiting with deadlines (until_ok); a failure prints the journal's
# lines of the module, pam_systemd, logind and sshd.

set -u
export LC_ALL=C
T0=${EPOCHREALTIME/./}
info() { local t=${EPOCHREALTIME/./}; printf '[%6.2f] %s\n' "$(((t - T0) / 10000))e-2" "$*"; }
skip() { echo "$*"; exit 77; }
# A case sets FAIL_HOOK to a command that cleans up what it started.
FAIL_HOOK=:
fail() {
	echo "FAIL: $*"
	echo "--- journal (pam_memguard, pam_systemd, logind, sshd):"
	journalctl -b --no-pager -o short-monotonic 2>/dev/null | grep -a -E 'pam_memguard|pam_systemd|logind|sshd' |
		tail -n 60 | sed 's/^/    /'
	$FAIL_HOOK
	exit 1
}
until_ok() {	# until_ok SECONDS CMD...: retry until CMD succeeds or the deadline
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}
check() {	# check WHAT GOT WANT
	[ "$2" = "$3" ] || fail "$1 is '$2', expected '$3'"
	info "ok: $1 = $2"
}
prop() { systemctl show -P "$2" "$1"; }	# prop UNIT PROPERTY
# policy TEXT: the case's policy file $POLICY, as the module requires it
policy() { printf '%s\n' "$1" >"$POLICY" && chmod 644 "$POLICY" && info "policy: $(tr '\n' ';' <"$POLICY")"; }
journal_has() { journalctl -b --no-pager -o cat 2>/dev/null | grep -a -q -E "$1"; }
expect_log() {	# expect_log REGEX WHAT
	until_ok 15 journal_has "$1" || fail "no log line /$1/ ($2)"
	info "ok: log: $(journalctl -b --no-pager -o cat | grep -a -E "$1" | tail -n1)"
}

[ "${MEMGUARD_IN_GUEST:-}" = 1 ] || skip "not in the guest"
[ "$(cat /proc/1/comm)" = systemd ] || skip "PID 1 is $(cat /proc/1/comm), not systemd (run through tests/guest/run)"
[ -d /run/systemd/system ] || skip "no /run/systemd/system"
BUILD=${BUILD:-build}
TOP=${MEMGUARD_TOP:?}
MOD=$TOP/$BUILD/pam_memguard.so
HOG=$TOP/$BUILD/tests/tools/hog
[ -f "$MOD" ] || skip "no $MOD (run make${BUILD#build} first)"
[ -x "$HOG" ] || skip "no $HOG (run make $BUILD/tests/tools/hog)"
systemctl is-active -q systemd-logind.service || fail "systemd-logind is not active"

# A sanitizer build of the module needs ASan loaded first in su and sshd.
PRE=()
asan=$(ldd "$MOD" 2>/dev/null | awk '/libasan/ {print $3; exit}')
[ -n "$asan" ] && PRE=(env LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0)

M=$((1024 * 1024))
U=/sys/fs/cgroup/user.slice
