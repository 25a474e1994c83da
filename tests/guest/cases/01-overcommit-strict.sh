#!/bin/bash
# Harness self-test: with vm.overcommit_memory=2 (set inside the guest only)
# an allocation above CommitLimit fails with ENOMEM instead of being killed.
set -u
fail() { echo "FAIL: $*"; exit 1; }

big=${MEMGUARD_GUEST_BIN:-}/bigalloc
[ -x "$big" ] || { echo "no bigalloc program in MEMGUARD_GUEST_BIN (cc missing?)"; exit 77; }
[ "${MEMGUARD_IN_GUEST:-}" = 1 ] || fail "refusing to change vm.overcommit_memory outside the guest"

meminfo() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/meminfo; }
old=$(cat /proc/sys/vm/overcommit_memory)
trap 'echo "$old" >/proc/sys/vm/overcommit_memory' EXIT

limit=$(meminfo CommitLimit)
[ -n "$limit" ] || fail "no CommitLimit in /proc/meminfo"
want=$((limit + 65536))

# Control: without strict accounting the same request succeeds (heuristic
# mode refuses only more than RAM + swap, so use "always" mode).
echo 1 >/proc/sys/vm/overcommit_memory || fail "cannot set overcommit_memory=1"
"$big" "$want"
rc=$?
[ $rc = 0 ] || fail "control: malloc($want KiB) with overcommit_memory=1 gave status $rc"

echo 2 >/proc/sys/vm/overcommit_memory || fail "cannot set overcommit_memory=2"
[ "$(cat /proc/sys/vm/overcommit_memory)" = 2 ] || fail "overcommit_memory did not stick"
echo "CommitLimit: $(meminfo CommitLimit) kB, Committed_AS: $(meminfo Committed_AS) kB"

"$big" 16384
rc=$?
[ $rc = 0 ] || fail "strict mode: a 16 MiB malloc failed (status $rc)"

"$big" "$want"
rc=$?
case $rc in
3) echo "strict mode: malloc($want KiB) > CommitLimit returned NULL/ENOMEM: ok" ;;
0) fail "strict mode: malloc($want KiB) above CommitLimit succeeded" ;;
137) fail "strict mode: the allocating process was SIGKILLed instead of getting ENOMEM" ;;
*) fail "strict mode: unexpected status $rc" ;;
esac
echo "after: Committed_AS: $(meminfo Committed_AS) kB"
