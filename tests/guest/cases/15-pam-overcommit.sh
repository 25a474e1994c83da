#!/bin/bash
# Strict overcommit (vm.overcommit_memory=2, inside the guest only): inside
# a memguard session a malloc beyond CommitLimit fails with ENOMEM instead
# of an OOM kill, and the session goes on.
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup '* memory.max=400M memory.swap.max=0 session.memory.max=300M'
[ -x "$BIGALLOC" ] || skip "no bigalloc in MEMGUARD_GUEST_BIN (cc missing?)"

meminfo() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/meminfo; }
old=$(cat /proc/sys/vm/overcommit_memory)
restore() { echo "$old" >/proc/sys/vm/overcommit_memory; mg_teardown; }
trap restore EXIT
strict() {
	echo 2 >/proc/sys/vm/overcommit_memory || fail "cannot set vm.overcommit_memory=2"
	[ "$(cat /proc/sys/vm/overcommit_memory)" = 2 ] || fail "vm.overcommit_memory did not stick"
}
# A sanitizer build runs su under ASan, whose shadow reservation (terabytes,
# MAP_NORESERVE) strict accounting refuses: switch only once su runs.
[ -z "$MG_PRELOAD" ] && strict

mg_su_bg a mga "up \"ppid \$PPID\"; hold; $BIGALLOC 16384; up \"small \$?\"; $BIGALLOC \$(cat $MG_SYNC/want); up \"big \$?\"; hold"
mg_expect a 60 '^ppid [0-9]+$'
supid=${MG_LINE#ppid }
S=$CGROOT$(mg_cgroup_of "$supid")
[ "${S%/*}" = "$BASE/user-$MG_UID_A" ] || fail "the session is in '$S'"
if [ -n "$MG_PRELOAD" ]; then
	info "sanitizer build: logged in first, strict overcommit from now on"
	strict
fi
limit=$(meminfo CommitLimit)
want=$((limit + 65536))
info "CommitLimit: $limit kB, Committed_AS: $(meminfo Committed_AS) kB; asking for $want kB"
echo "$want" >"$MG_SYNC/want"
mg_go a
mg_expect a 60 '^small [0-9]+$'
[ "$MG_LINE" = "small 0" ] || fail "a 16 MiB malloc in the session failed: $MG_LINE"
mg_expect a 60 '^big [0-9]+$'
info "in the session: Committed_AS: $(meminfo Committed_AS) kB"
sed 's/^/    /' "$W/a.out"
case ${MG_LINE#big } in
3) info "ok: malloc($want KiB) > CommitLimit in the session: NULL/ENOMEM" ;;
0) fail "malloc($want KiB) above CommitLimit succeeded under strict overcommit" ;;
137) fail "the allocating process was SIGKILLed instead of getting ENOMEM" ;;
*) fail "bigalloc ended with status ${MG_LINE#big }" ;;
esac
k=$(mg_event "$S" oom_kill)
[ "$k" = 0 ] || fail "$S memory.events oom_kill is $k, expected 0"
info "ok: $S: $(mg_events "$S")"
mg_go a
mg_wait a
[ "$MG_RC" = 0 ] || { cat "$W/a.out"; fail "su exited $MG_RC"; }
exit 0
