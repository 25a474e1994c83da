#!/bin/bash
# memguard-guest: systemd
# make bench, systemd part, inside the guest (bench/systemd-bench.sh boots
# it through tests/guest/run; it is not a test case, so make check leaves
# it alone). Times open+close of a login through real pam_systemd + logind
# + systemd 252, with and without pam_memguard's systemd backend, in the
# same run, interleaved:
#   plain:    pam_permit, pam_systemd
#   memguard: pam_memguard backend=systemd, pam_systemd, pam_memguard phase=post
#             (per-user caps, session.memory.max and session.memory.high:
#             the phase=post line sets MemoryHigh on the new scope)
#   usercaps: the same three lines (the same per-user caps and
#             session.memory.max, which pam_systemd passes on: the
#             phase=post line only checks that the login got its scope)
# Every session runs in a fresh child (pam_bench --fork): pam_systemd moves
# its caller into the new scope, so a second session from the same process
# would create none. The bench user lingers and a warm-up runs first, so
# the start of user@UID.service is not timed.
#
# Input: $MEMGUARD_GUEST_CACHE/systemd-bench.conf (ITERATIONS=N), written by
# the wrapper. Output lines for the wrapper:
#   result SERVICE MEDIAN_US MIN_US MAX_US SESSIONS_IN_NEW_SCOPE
#   iterations N
# Exit: 0 measured, 77 cannot run here, 1 the bench measured nothing real
# (no new scope, caps not applied, a login failed).
set -eu
export LC_ALL=C
skip() { echo "$*"; exit 77; }
fail() {
	echo "FAIL: $*"
	echo "--- journal (pam_memguard, pam_systemd, logind):"
	journalctl -b --no-pager -o short-monotonic 2>/dev/null | grep -a -E 'pam_memguard|pam_systemd|logind' \
		| tail -n 40 | sed 's/^/    /' || true
	exit 1
}
until_ok() {	# until_ok SECONDS CMD...: retry until CMD succeeds or the deadline
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

[ "${MEMGUARD_IN_GUEST:-}" = 1 ] || skip "not in the guest"
[ "$(cat /proc/1/comm)" = systemd ] || skip "PID 1 is $(cat /proc/1/comm), not systemd"
TOP=${MEMGUARD_TOP:?}
BUILD=${BUILD:-build}
MOD=$TOP/$BUILD/pam_memguard.so
BENCH=$TOP/$BUILD/bench/pam_bench
SEC=/lib/x86_64-linux-gnu/security
[ -f "$MOD" ] || skip "no $MOD (run make)"
[ -x "$BENCH" ] || skip "no $BENCH (bench/systemd-bench.sh builds it)"
[ -f $SEC/pam_systemd.so ] || skip "no $SEC/pam_systemd.so"
systemctl is-active -q systemd-logind.service || fail "systemd-logind is not active"
ITERATIONS=100
conf=${MEMGUARD_GUEST_CACHE:-}/systemd-bench.conf
# shellcheck disable=SC1090
[ -f "$conf" ] && . "$conf"
case $ITERATIONS in '' | *[!0-9]* | 0) fail "ITERATIONS=$ITERATIONS in $conf is not a positive count" ;; esac

# The root is a tmpfs overlay: the user, policy and stacks vanish with the guest.
BUSER=mgbench BUID=2001 M=$((1024 * 1024))
useradd -u $BUID -m -s /bin/bash $BUSER || fail "useradd $BUSER"
POLICY=/etc/security/memguard-bench.conf
cat >$POLICY <<EOF
$BUSER memory.max=300M memory.high=250M memory.swap.max=0 session.memory.max=64M session.memory.high=48M
EOF
USERCAPS=/etc/security/memguard-bench-usercaps.conf
cat >$USERCAPS <<EOF
$BUSER memory.max=300M memory.high=250M memory.swap.max=0 session.memory.max=64M
EOF
# In /etc/pam.d (the overlay's), where the module looks for the
# phase=post line that lets it keep one bus connection for both lines.
PAMD=/etc/pam.d
for svc in plain memguard usercaps; do
	[ ! -e $PAMD/$svc ] || fail "$PAMD/$svc exists already"
done
cat >"$PAMD/plain" <<EOF
session required $SEC/pam_permit.so
session required $SEC/pam_systemd.so
EOF
cat >"$PAMD/memguard" <<EOF
session required $SEC/pam_permit.so
session required $MOD backend=systemd policy=$POLICY on_error=deny
session required $SEC/pam_systemd.so
session required $MOD phase=post policy=$POLICY on_error=deny
EOF
cat >"$PAMD/usercaps" <<EOF
session required $SEC/pam_permit.so
session required $MOD backend=systemd policy=$USERCAPS on_error=deny
session required $SEC/pam_systemd.so
session required $MOD phase=post policy=$USERCAPS on_error=deny
EOF

# Linger: user@UID.service runs from now on and is not started (or
# stopped) by the timed logins.
loginctl enable-linger $BUSER || fail "loginctl enable-linger $BUSER"
until_ok 60 systemctl is-active -q user@$BUID.service || fail "user@$BUID.service did not start within 60 s"
echo "user@$BUID.service active (linger)"

# Warm-up: page cache over 9p, logind's user object, the slice caps.
"$BENCH" --fork "$PAMD" $BUSER 3 plain memguard usercaps >/dev/null || fail "warm-up logins failed"
for p in MemoryMax:$((300 * M)) MemoryHigh:$((250 * M)) MemorySwapMax:0; do
	got=$(systemctl show -P "${p%%:*}" user-$BUID.slice)
	[ "$got" = "${p#*:}" ] || fail "user-$BUID.slice ${p%%:*} is '$got', expected ${p#*:}: pam_memguard applied no caps"
done
echo "user-$BUID.slice: MemoryMax=$((300 * M)) MemoryHigh=$((250 * M)) MemorySwapMax=0 (set by pam_memguard)"
# Each memguard login logs what it did: memory.max handed to pam_systemd
# for the new scope, then MemoryHigh set on it by the phase=post line.
count_log() { journalctl -b --no-pager -o cat 2>/dev/null | grep -a -c -E "$1" || true; }
max_re="pam_memguard\\(memguard:session\\): session of $BUSER \\(uid $BUID\\): systemd:.* systemd\\.memory_max=$((64 * M))"
high_re="pam_memguard\\(memguard:session\\): phase=post: session-[^ ]+\\.scope MemoryHigh=48M"
until_ok 30 test "$(count_log "$high_re")" -ge 3 || fail "the 3 warm-up logins left $(count_log "$high_re") phase=post lines"
# The usercaps stack finds the slice's caps in its memory.* files: its
# line says what holds, with no "(was ...)" of a value it had to set.
held_re="pam_memguard\\(usercaps:session\\): session of $BUSER \\(uid $BUID\\): systemd: user-$BUID\\.slice MemoryMax=300M user-$BUID\\.slice MemoryHigh=250M user-$BUID\\.slice MemorySwapMax=0 systemd\\.memory_max=$((64 * M))"
max_before=$(count_log "$max_re") high_before=$(count_log "$high_re") held_before=$(count_log "$held_re")
user_started=$(systemctl show -P ActiveEnterTimestampMonotonic user@$BUID.service)

t0=$SECONDS
out=$("$BENCH" --fork "$PAMD" $BUSER "$ITERATIONS" plain memguard usercaps) || fail "timed logins failed"
echo "timed logins: $ITERATIONS per stack in $((SECONDS - t0)) s"
printf '%s\n' "$out" | sed 's/^/result /'

# A bench that measured logins which made no session is a defect.
while read -r svc _ _ _ scopes; do
	[ "$scopes" = "$ITERATIONS" ] \
		|| fail "$svc: only ${scopes:-(not reported)} of $ITERATIONS logins ran in a new session-N.scope"
done <<<"$out"
until_ok 30 test "$(count_log "$high_re")" -ge $((high_before + ITERATIONS)) \
	|| fail "$ITERATIONS phase=post lines expected, $(($(count_log "$high_re") - high_before)) logged: MemoryHigh not set on every scope"
[ "$(count_log "$max_re")" -ge $((max_before + ITERATIONS)) ] \
	|| fail "$ITERATIONS logins should have handed memory.max to pam_systemd, $(($(count_log "$max_re") - max_before)) did"
[ "$(count_log "$held_re")" -ge $((held_before + ITERATIONS)) ] \
	|| fail "$ITERATIONS usercaps logins should have found the slice's caps in place, $(($(count_log "$held_re") - held_before)) did"
[ "$(systemctl show -P ActiveEnterTimestampMonotonic user@$BUID.service)" = "$user_started" ] \
	|| fail "user@$BUID.service was restarted during the timed logins"
echo "every login got a new session scope; every memguard login capped its scope (memory.max 64M via pam_systemd, MemoryHigh=48M); every usercaps login found the slice's caps in place and handed memory.max 64M to pam_systemd"
echo "iterations $ITERATIONS"
rm -f "$PAMD/plain" "$PAMD/memguard" "$PAMD/usercaps"
