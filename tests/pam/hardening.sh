# Sourced by tests/pam/run.sh (its helpers, $T, $BASE, users): what a user
# could use to get out of a cap, and log lines that must say what holds.
# Each test here failed before the fix it guards.

UCAPS="$CAPS"'; echo "u_soft_now=$(high_of $d/..)"'

# bg_session OUT SERVICE USER: a session kept open by a sleep whose pid
# lands in OUT.pid; stop it with bg_end OUT.
bg_session() {
	rm -f "$1.pid"
	env $RUNENV timeout 120 "$DRIVE" "$T/pam.d" "$2" "$3" sh -c "$SELFCG"'; echo $$ >'"$1.pid"'; exec sleep 100' \
		>"$1" 2>&1 &
	BGPIDS="$BGPIDS $!"
	wait_until 20 test -s "$1.pid"
}
bg_end() {
	p=$(cat "$1.pid" 2>/dev/null)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	wait_until 20 grep -q '^close=' "$1"
}

# ----- 10.1: an empty group the caller left uncapped gets the policy -----
# A PAM caller killed between mkdir and the cap writes leaves exactly this.
mkdir "$BASE/user-1004"
drive "$T/h1.out" main dave sh -c "$CAPS"
check "an empty uncapped user group (a killed caller's) gets the policy's caps as they are" \
	"$(field open "$T/h1.out") $(field u_max "$T/h1.out") $(field u_memsw "$T/h1.out")" "0 $(M 64) $(M 64)" "$T/h1.out"
mkdir -p "$CGT/kb/memguard"
service kb "policy=$T/main.conf cgroup_root=$CGT/kb/memguard on_error=deny"
drive "$T/h1b.out" kb dave true
check "an empty uncapped base group gets the %all cap" "$(field open "$T/h1b.out") $(cap_of "$CGT/kb/memguard")" \
	"0 $(M 8192)" "$T/h1b.out"
rmdir "$CGT/kb/memguard" "$CGT/kb"

# ----- a group that holds processes is only raised; the lines say so -----
policy hold '* memory.max=64M memory.swap.max=0'
policy holdlow '* memory.max=32M memory.swap.max=0'
service hold "policy=$T/hold.conf cgroup_root=$BASE on_error=deny"
service holdlow "policy=$T/holdlow.conf cgroup_root=$BASE on_error=deny"
bg_session "$T/hbg" hold frank
drivelog "$T/h2.out" - holdlow frank sh -c "$CAPS"
check "a populated user group keeps its higher cap at the next login" \
	"$(field open "$T/h2.out") $(field u_max "$T/h2.out")" "0 $(M 64)" "$T/h2.out"
if [ -z "$LOGCAP" ]; then
	skip "the pending lowering is logged, and the open line shows the live cap" "no syslog capture"
elif grep -q "pending: $BASE/user-1006/$CG_MAXFILE stays 64M, above the policy's 32M" "$T/h2.out.log" &&
	grep -q "session of frank (uid 1006): group $BASE/user-1006/session-[0-9-]*: max=64M live, 32M pending" "$T/h2.out.log"; then
	ok "the pending lowering is logged, and the open line shows the live cap"
else
	notok "the pending lowering is logged, and the open line shows the live cap" "$(cat "$T/h2.out.log")"
fi
drivelog "$T/h2b.out" - holdlow frank true
if [ -n "$LOGCAP" ] && grep -q "pending: $BASE/user-1006/$CG_MAXFILE stays 64M" "$T/h2b.out.log"; then
	ok "the pending lowering is logged again at every login"
else
	notok "the pending lowering is logged again at every login" "$(cat "$T/h2b.out.log")"
fi
bg_end "$T/hbg"
drive "$T/h2c.out" holdlow frank sh -c "$CAPS"
check "once the group is empty, a login lowers the cap to the policy's" "$(field u_max "$T/h2c.out")" "$(M 32)" "$T/h2c.out"

# ----- cgroup v1's soft limit never kills: a lower one is written -----
# v2's memory.high throttles the group's processes: a lower one waits, as
# memory.max does, until the group is empty.
policy soft '* memory.max=256M memory.high=200M'
policy softlow '* memory.max=256M memory.high=100M'
service soft "policy=$T/soft.conf cgroup_root=$BASE on_error=deny"
service softlow "policy=$T/softlow.conf cgroup_root=$BASE on_error=deny"
bg_session "$T/sbg" soft frank
drive "$T/h3.out" softlow frank sh -c "$UCAPS"
if [ "$CG_V" = 1 ]; then
	check "v1: a lower memory.high (the soft limit) is written while the group holds processes" \
		"$(field u_max "$T/h3.out") $(field u_soft_now "$T/h3.out")" "$(M 256) $(M 100)" "$T/h3.out"
else
	check "v2: a lower memory.high stays pending (200M) while the group holds processes" \
		"$(field u_max "$T/h3.out") $(field u_soft_now "$T/h3.out")" "$(M 256) $(M 200)" "$T/h3.out"
fi
bg_end "$T/sbg"
if [ "$CG_V" = 2 ]; then
	drive "$T/h3b.out" softlow frank sh -c "$UCAPS"
	check "v2: once the group is empty, a login lowers memory.high to the policy's 100M" \
		"$(field u_soft_now "$T/h3b.out")" "$(M 100)" "$T/h3b.out"
fi

# ----- 10.3: a bounded number of session groups per user -----
service bound "policy=$T/main.conf cgroup_root=$BASE on_error=deny max_sessions=2"
bg_session "$T/bb1" bound alice
bg_session "$T/bb2" bound alice
drivelog "$T/h4.out" - bound alice sh -c "$CAPS"
check "past max_sessions=2 a login joins user-UID/session-shared, under the user's cap" \
	"$(field open "$T/h4.out") $(field selfcg "$T/h4.out") $(field u_max "$T/h4.out") $(field s_max "$T/h4.out")" \
	"0 $BASE/user-1001/session-shared $(M 64) $(M 48)" "$T/h4.out"
if [ -n "$LOGCAP" ] && grep -q "uid 1001 already has 2 session groups (max_sessions=2): this login of alice joins $BASE/user-1001/session-shared" "$T/h4.out.log"; then
	ok "joining the shared group is logged"
else
	notok "joining the shared group is logged" "$(cat "$T/h4.out.log")"
fi
check "no third session group was made past the bound" "$(ls -d "$BASE"/user-1001/session-[0-9]* | wc -l)" 2
bg_end "$T/bb1"
bg_end "$T/bb2"
check "the last session's close removes the shared and the user group" \
	"$( [ -e "$BASE/user-1001" ] && echo present || echo gone)" gone

# ----- stale groups of any user go at the next login of anyone -----
# A caller killed after mkdir leaves an empty group its own user may never
# come back to; a pid beyond any pid_max names no live process.
mkdir -p "$BASE/user-1005/session-99999999-1"
bg_session "$T/rbg" hold bob
drive "$T/h5.out" main alice true
check "a login of alice removes another user's (eve's) stale empty groups and keeps bob's live one" \
	"$( [ -e "$BASE/user-1005" ] && echo kept || echo gone) $(ls -d "$BASE"/user-1002/session-* 2>/dev/null | wc -l)" \
	"gone 1" "$T/h5.out"
bg_end "$T/rbg"

# ----- close-session record: peak, the OOM kill, the user total -----
policy rec '* memory.max=96M session.memory.max=48M memory.swap.max=0'
service rec "policy=$T/rec.conf cgroup_root=$BASE on_error=deny"
drivelog "$T/h6.out" - rec dave sh -c "$HOG 200 >/dev/null 2>&1; echo hog=\$?"
line=$(grep 'session closed for dave (uid 1004): ' "$T/h6.out.log")
peak=$(echo "$line" | sed -n 's/.* peak=\([0-9]*\).*/\1/p')
if [ -z "$LOGCAP" ]; then
	skip "the close line records peak, the OOM kill and the user group's kills" "no syslog capture"
elif [ "$(field hog "$T/h6.out")" = 137 ] && echo "$line" | grep -q " group=$BASE/user-1004/session-[0-9]*-[0-9]* " &&
	echo "$line" | grep -q ' oom_kills=1 ' && echo "$line" | grep -q ' user_oom_kills=1 ' &&
	echo "$line" | grep -q ' user_max_events=[0-9]' && [ -n "$peak" ] && [ "$peak" -ge "$(M 40)" ] &&
	[ "$peak" -le "$(M 48)" ]; then
	ok "the close line records peak ($peak), the OOM kill and the user group's kills"
else
	notok "the close line records peak, the OOM kill and the user group's kills" "hog=$(field hog "$T/h6.out")" "$(cat "$T/h6.out.log")"
fi

# ----- the same close line, as memguardctl oom-report reads it -----
# The datagram as the module sent it (priority, program, no host), after
# the kernel's log of the same kill: oom-report must read every key of
# the record and link it to the kernel's event of the same group. The
# keys are checked too: a new one is a reminder to teach oom-report.
CTL=$TOP/$BUILD/memguardctl
if [ -z "$LOGCAP" ] || [ -z "$line" ]; then
	skip "oom-report reads the module's close line and links it to the kill" "no syslog capture or no close line"
elif ! dmesg --time-format iso >"$T/h6.kernel.log" 2>"$T/h6.kernel.err"; then
	skip "oom-report reads the module's close line and links it to the kill" "dmesg: $(head -n 1 "$T/h6.kernel.err")"
else
	grep 'session closed for dave (uid 1004): ' "$T/h6.out.log" | tail -n 1 >"$T/h6.close.log"
	env $RUNENV "$CTL" oom-report --json --user 1004 "$T/h6.kernel.log" "$T/h6.close.log" >"$T/h6.report" 2>&1
	python3 - "$T/h6.report" "$T/h6.close.log" >"$T/h6.verdict" 2>&1 <<'PYEOF'
import json, re, sys
rec = open(sys.argv[2]).read().strip()
kv = dict(w.split("=", 1) for w in rec.split("): ", 2)[-1].split() if "=" in w)
# v1 has no high events: a key the module cannot read is left out
known = {"group": "group", "peak": "peak_bytes", "oom_kills": "oom_kills", "user_oom_kills": "user_oom_kills",
         "user_max_events": "user_max_events", "user_high_events": "user_high_events", "user_peak": "user_peak_bytes"}
new = [k for k in kv if k not in known]
if new or not {"group", "peak", "oom_kills", "user_oom_kills", "user_peak"} <= set(kv):
    print("the module's close line has the keys %r: teach oom-report the new ones" % list(kv)); sys.exit(1)
evs = [json.loads(l) for l in open(sys.argv[1])]
closes = [e for e in evs if e["type"] == "session-close"]
if len(closes) != 1:
    print("%d session-close events in %r" % (len(closes), evs)); sys.exit(1)
c = closes[0]
want = {"user": "dave", "uid": 1004}
for k, j in known.items():
    want[j] = None if k not in kv else kv[k] if k == "group" else int(kv[k])
got = {k: c[k] for k in want}
if got != want or c["time"] is None:
    print("read %r, the line says %r (time %r)" % (got, want, c["time"])); sys.exit(1)
mine = [e for e in evs if e["type"] == "kernel" and e["task_memcg"] and kv["group"].endswith(e["task_memcg"])]
if not mine:
    print("SKIP no kernel event names the group (the kernel rate-limited the summary line)"); sys.exit(0)
if c["kernel_events_before"] != len(mine) or mine[-1]["victim"]["comm"] != "hog" or mine[-1]["time"] is None:
    print("kernel_events_before %r, %d kernel events of the group: %r" % (c["kernel_events_before"], len(mine), mine)); sys.exit(1)
print("linked to %d kernel event(s)" % len(mine))
PYEOF
	if [ $? != 0 ]; then
		notok "oom-report reads the module's close line and links it to the kill" "$(cat "$T/h6.verdict")" "$(head -c 3000 "$T/h6.report")"
	elif grep -q '^SKIP' "$T/h6.verdict"; then
		ok "oom-report reads every key of the module's close line"
		skip "oom-report links the close line to the kernel's event of the group" "$(sed 's/^SKIP //' "$T/h6.verdict")"
	else
		ok "oom-report reads every key of the module's close line"
		ok "oom-report links the close line to the kernel's event of the group ($(cat "$T/h6.verdict"))"
	fi
fi

# ----- on_error=allow: the line says exactly what holds -----
capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
if [ $(( 0x$capeff >> 24 & 1 )) = 1 ]; then
	skip "a refused negative oom_score_adj: the line says the caps apply" "this process has CAP_SYS_RESOURCE (the guest tests it)"
else
	policy negadj '* memory.max=64M oom_score_adj=-100'
	service negadj "policy=$T/negadj.conf cgroup_root=$BASE on_error=allow"
	drivelog "$T/h7.out" - negadj dave sh -c "$CAPS"
	check "a refused negative oom_score_adj, on_error=allow: the caps still apply" \
		"$(field open "$T/h7.out") $(field u_max "$T/h7.out")" "0 $(M 64)" "$T/h7.out"
	if [ -n "$LOGCAP" ] && grep '^<83>' "$T/h7.out.log" | grep -q 'cannot set oom_score_adj=-100: .*; oom_score_adj stays 0, the caps apply (group .*max=64M.*) (on_error=allow)' &&
		! grep -q 'without limits' "$T/h7.out.log"; then
		ok "a refused negative oom_score_adj: the line says the caps apply, not 'without limits'"
	else
		notok "a refused negative oom_score_adj: the line says the caps apply, not 'without limits'" "$(cat "$T/h7.out.log")"
	fi
fi
policy clash '* memory.max=64M
@grp memory.high=100M'
service clash "policy=$T/clash.conf cgroup_root=$BASE on_error=allow"
drivelog "$T/h8.out" - clash bob sh -c "$UCAPS"
check "memory.high above memory.max across rules, on_error=allow: max applies, high does not" \
	"$(field open "$T/h8.out") $(field u_max "$T/h8.out") $(cg_unlimited "$(field u_soft_now "$T/h8.out")" && echo soft-unset)" \
	"0 $(M 64) soft-unset" "$T/h8.out"
if [ -n "$LOGCAP" ] && grep '^<83>' "$T/h8.out.log" | grep -q 'the settings for bob clash: .*memory.high=100M is above memory.max=64M.*; memory.high not applied, the rest of the policy applies (on_error=allow)'; then
	ok "the clash line names what is not applied"
else
	notok "the clash line names what is not applied" "$(cat "$T/h8.out.log")"
fi

# ----- debug: the rule of every key -----
service dbg "policy=$T/main.conf cgroup_root=$BASE on_error=deny debug"
drivelog "$T/h9.out" - dbg alice true
if [ -n "$LOGCAP" ] && grep -q "alice: memory.max=64M from $T/main.conf:2 (\*)" "$T/h9.out.log" &&
	grep -q "alice: session.memory.max=48M from $T/main.conf:5 (alice)" "$T/h9.out.log"; then
	ok "debug names the rule (file:line) that set each key"
else
	notok "debug names the rule (file:line) that set each key" "$(cat "$T/h9.out.log")"
fi

# ----- 10.7: root is let in before any group or login.defs lookup -----
# A group backend that hangs (a FIFO nobody writes) and a login.defs that
# hangs: root's login must not wait for either.
mkfifo "$T/group.fifo" "$T/logindefs.fifo"
t0=$(date +%s)
env $RUNENV NSS_WRAPPER_GROUP="$T/group.fifo" timeout 20 \
	unshare --mount --propagation private sh -c 'mount --bind "$1" /etc/login.defs && shift && exec "$@"' sh \
	"$T/logindefs.fifo" "$DRIVE" "$T/pam.d" main root true >"$T/h10.out" 2>&1
rc=$?
check "root's login does not wait for a hanging group backend or login.defs (rc, open, seconds < 10)" \
	"$rc $(field open "$T/h10.out") $( [ $(( $(date +%s) - t0 )) -lt 10 ] && echo fast)" "0 0 fast" "$T/h10.out"
