#!/bin/bash
# memguard-guest: systemd
# MemoryMin/MemoryLow of two protected users through the systemd backend:
# user.slice carries the sum of the user slices' (as the manager and the
# kernel file say), the sum stays while a user still has a session, and
# drops by that user's share at the end of their last session.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"

useradd -u 2601 -m -s /bin/bash mgpa && useradd -u 2602 -m -s /bin/bash mgpb || fail "useradd"
SYNC=/tmp/mg-protect-sync
mkdir -p -m 1777 $SYNC
POLICY=/etc/security/memguard-protect.conf
write_stack su-l "on_error=deny debug"
policy '*    memory.max=300M
mgpa memory.min=8M memory.low=16M
mgpb memory.min=4M memory.low=32M'

wait_protected_slices_gone 2601 2602
sums() { echo "$(prop user.slice MemoryMin) $(prop user.slice MemoryLow) $(cat $U/memory.min) $(cat $U/memory.low)"; }
check_sums() {	# check_sums WHAT MIN_MB LOW_MB
	check "$1: user.slice MemoryMin MemoryLow, $U/memory.min memory.low" "$(sums)" \
		"$(($2 * M)) $(($3 * M)) $(($2 * M)) $(($3 * M))"
}

login a mgpa
login b1 mgpb
login b2 mgpb
check "user-2601.slice MemoryMin MemoryLow" "$(prop user-2601.slice MemoryMin) $(prop user-2601.slice MemoryLow)" "$((8 * M)) $((16 * M))"
check "user-2602.slice MemoryMin MemoryLow" "$(prop user-2602.slice MemoryMin) $(prop user-2602.slice MemoryLow)" "$((4 * M)) $((32 * M))"
check_sums "mgpa and mgpb (twice) logged in" 12 48

logout b1
check "mgpb's first su exit status" "$RC" 0
check_sums "mgpb's first session ended, the second still open" 12 48

logout b2
check "mgpb's second su exit status" "$RC" 0
check_sums "mgpb's last session ended" 8 16
expect_log 'last session of uid 2602 ended: user.slice MemoryMin=8M'

logout a
check "mgpa's su exit status" "$RC" 0
check_sums "mgpa's last session ended" 0 0
if grep -l -E 'Sanitizer|runtime error' $SYNC/*.out 2>/dev/null; then
	grep -h -A5 -E 'Sanitizer|runtime error' $SYNC/*.out | head -n 40
	fail "sanitizer reports in the logins' output"
fi
exit 0
