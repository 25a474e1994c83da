# Sourced by the tests/guest/cases/3?-systemd-*.sh cases, which run in the
# boot where systemd is PID 1: the root is a tmpfs overlay over the host's
# read-only root, so accounts, PAM stacks and units they write exist only in
# this guest. The module and tools come from $MEMGUARD_TOP/$BUILD.
#
# Asserting is done on what systemd, logind and the kernel report (check,
# prop), waiting with deadlines (until_ok); a failure prints the journal's
# lines of the module, pam_systemd, logind and sshd. Logins: write_stack
# writes the documented stack, login/logout run su -l in the background.

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
	# A check before the helpers below are defined fails too.
	! declare -F end_logins >/dev/null || end_logins
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
# The hog is a fixture, not code under test: the guest's own plain build
# of it (a sanitizer build's shadow memory and quarantine would change what
# the kernel charges, and so which process an OOM kill picks).
HOG=$TOP/$BUILD/tests/tools/hog
[ -x "${MEMGUARD_GUEST_BIN:-}/hog" ] && HOG=$MEMGUARD_GUEST_BIN/hog
[ -f "$MOD" ] || skip "no $MOD (run make${BUILD#build} first)"
[ -x "$HOG" ] || skip "no $HOG (run make $BUILD/tests/tools/hog)"
systemctl is-active -q systemd-logind.service || fail "systemd-logind is not active"

# A sanitizer build of the module needs ASan loaded first in su and sshd.
PRE=()
asan=$(ldd "$MOD" 2>/dev/null | awk '/libasan/ {print $3; exit}')
[ -n "$asan" ] && PRE=(env LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0)

M=$((1024 * 1024))
U=/sys/fs/cgroup/user.slice

# write_stack SERVICE ARGS: /etc/pam.d/SERVICE with the documented session
# lines (pam_memguard, pam_systemd, pam_memguard phase=post), ARGS (such as
# "on_error=deny debug") on both module lines, the policy $POLICY.
write_stack() {
	cat >/etc/pam.d/$1 <<PAM
auth     sufficient pam_rootok.so
auth     required   pam_permit.so
account  required   pam_permit.so
password required   pam_deny.so
session  required   pam_unix.so
session  required   $MOD backend=systemd policy=$POLICY $2
session  optional   pam_systemd.so
session  required   $MOD phase=post policy=$POLICY $2
PAM
}

# login TAG USER [SCRIPT]: su -l in the background; the session runs
# SCRIPT, writes $SYNC/TAG.info ("shellpid supid") and waits for
# $SYNC/TAG.go. Sets SHELL_PID, SU_PID, CG (the shell's cgroup), PID_TAG.
login() {
	local tag=$1 user=$2 script=${3:-true}
	rm -f $SYNC/$tag.*
	timeout -k 5 100 "${PRE[@]}" su -l "$user" -c "echo \$\$ \$PPID >$SYNC/$tag.info.tmp && mv $SYNC/$tag.info.tmp $SYNC/$tag.info; $script; n=0; while [ ! -e $SYNC/$tag.go ] && [ \$n -lt 900 ]; do sleep 0.1; n=\$((n+1)); done" \
		</dev/null >$SYNC/$tag.out 2>&1 &
	eval "PID_$tag=\$!"
	LOGINS="$LOGINS$tag "
	until_ok 60 test -s $SYNC/$tag.info || { cat $SYNC/$tag.out; fail "$tag: no session of $user within 60 s"; }
	read -r SHELL_PID SU_PID <$SYNC/$tag.info
	CG=$(sed -n 's/^0:://p' /proc/$SHELL_PID/cgroup)
	info "$tag: $user's shell $SHELL_PID (su $SU_PID) in $CG"
}
logout() {	# logout TAG: let the session end; su's status in RC
	local pid
	eval "pid=\$PID_$1"
	touch $SYNC/$1.go
	wait "$pid"
	RC=$?
	LOGINS=${LOGINS/ $1 / }
}
# end_logins: a failing case ends the sessions it left open, so that its
# users' slices (and their protections) do not linger into the next case.
LOGINS=' '
end_logins() {
	local tag pid
	for tag in $LOGINS; do
		touch "$SYNC/$tag.go"
		eval "pid=\${PID_$tag:-}"
		[ -n "$pid" ] && timeout 20 tail --pid="$pid" -f /dev/null
	done
	LOGINS=' '
}
# protected_slices_except UID...: the user slices other than those of UID...
# that still carry MemoryMin or MemoryLow. An earlier case's slice goes a
# few seconds after its user's last logout (UserStopDelaySec=); until then
# it counts in user.slice's sum.
protected_slices_except() {
	local d u skip
	for d in $U/user-*.slice; do
		[ -d "$d" ] || continue
		d=${d##*/}
		skip=0
		for u in "$@"; do [ "$d" = "user-$u.slice" ] && skip=1; done
		[ $skip = 1 ] && continue
		[ "$(prop "$d" MemoryMin) $(prop "$d" MemoryLow)" = "0 0" ] || echo "$d"
	done
}
# wait_protected_slices_gone UID...: until only UID...'s slices carry
# protections, so that user.slice's sum is the case's own.
no_protected_slices_except() { [ -z "$(protected_slices_except "$@")" ]; }
wait_protected_slices_gone() {
	until_ok 90 no_protected_slices_except "$@" ||
		fail "protected user slices of earlier cases still there: $(protected_slices_except "$@")"
}

# ctl_setup NAME: for the memguardctl cases: CTL, OUT ($TMPDIR/NAME.out),
# mg, and the last output printed on failure (after FAIL_HOOK_MORE, if set).
ctl_setup() {
	CTL=$TOP/$BUILD/memguardctl
	[ -x "$CTL" ] || skip "no $CTL (run make${BUILD#build} first)"
	command -v python3 >/dev/null || skip "no python3"
	OUT=$TMPDIR/$1.out
	FAIL_HOOK=show_out
}
show_out() {
	echo "--- last memguardctl output:"
	cat "$OUT" "$OUT.err" 2>/dev/null | sed 's/^/    /'
	${FAIL_HOOK_MORE:-:}
}
mg() {	# mg ARGS...: memguardctl on $POLICY, stdout to $OUT, stderr to $OUT.err, status to $RC
	"$CTL" --policy "$POLICY" "$@" >"$OUT" 2>"$OUT.err"
	RC=$?
}
