#!/bin/bash
# memguard-guest: timeout=400
# memguardctl oom-report over the guest's /dev/kmsg, on cgroup v2, for
# real kills made here: a hog in a 64M session with oom.group=no (only
# the hog dies) and oom.group=yes (the session dies with it), then a
# global OOM (no cgroup cap, more than the guest's RAM) where the victim
# must be the largest task and the per-uid ranking must name the test
# user. Every kill is checked against what the case set up: victim pid,
# user, session, the cap and its policy line, the oom.group members.
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup 'mga memory.max=400M memory.swap.max=0 session.memory.max=64M oom.group=yes
mgb memory.max=400M memory.swap.max=0 session.memory.max=64M oom.group=no'
CTL=$TOP/$BUILD/memguardctl
[ -x "$CTL" ] || skip "no $CTL (run make${BUILD#build} first)"
command -v python3 >/dev/null || skip "no python3"
OUT=$W/report.json
report() {	# the kernel log as oom-report reads it, JSON
	"$CTL" --policy "$POLICY" oom-report --json >"$OUT" 2>"$OUT.err"
	RC=$?
}
# jcheck DESC PYTHON-EXPR: exactly one event satisfies the expression (e: the event)
jcheck() {
	local n
	n=$(python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
print(sum(1 for e in evs if eval("(" + sys.argv[2] + ")")))' "$OUT" "$2") || fail "$1: the output is not JSON lines: $(head -c 2000 "$OUT")"
	[ "$n" = 1 ] || { echo "--- oom-report --json:"; cut -c1-1500 "$OUT" | sed 's/^/    /'; cat "$OUT.err"; fail "$1: $n events match, expected 1"; }
	info "ok: $1"
}

# --- oom.group=no: only the hog dies ---
mg_su_bg b mgb "up \"ppid \$PPID\"; $HOG 200 & h=\$!; up \"hog \$h\"; wait \$h; up \"after-hog \$?\"; hold"
mg_expect b 60 '^ppid [0-9]+$'
supid_b=${MG_LINE#ppid }
mg_expect b 60 '^hog [0-9]+$'
hog_b=${MG_LINE#hog }
S_b=$CGROOT$(mg_cgroup_of "$supid_b")
mg_expect b 90 '^after-hog [0-9]+$'
[ "$MG_LINE" = "after-hog 137" ] || fail "mgb: hog ended with '${MG_LINE#after-hog }', expected 137"
rel_b=${S_b#$CGROOT}
mg_go b
mg_wait b

# --- oom.group=yes: the shell and su go with the hog ---
mg_su_bg a mga "up \"ppid \$PPID\"; up \"shell \$\$\"; $HOG 200 & h=\$!; up \"hog \$h\"; wait \$h; up \"after-hog \$?\"; hold"
mg_expect a 60 '^ppid [0-9]+$'
supid_a=${MG_LINE#ppid }
mg_expect a 60 '^shell [0-9]+$'
shell_a=${MG_LINE#shell }
mg_expect a 60 '^hog [0-9]+$'
hog_a=${MG_LINE#hog }
S_a=$CGROOT$(mg_cgroup_of "$supid_a")
rel_a=${S_a#$CGROOT}
mg_wait a
[ "$MG_RC" = 137 ] || fail "mga's su exited $MG_RC, expected 137 (killed with its session)"

report
[ "$RC" = 0 ] || fail "oom-report exit $RC: $(cat "$OUT.err")"
policy_line_b=$(grep -n '^mgb ' "$POLICY" | cut -d: -f1)
jcheck "oom.group=no: victim hog $hog_b of uid $MG_UID_B, memcg $rel_b, session of mgb, cap session.memory.max=64M at $POLICY:$policy_line_b, no group kill" \
	"e['type'] == 'kernel' and e['victim'] and e['victim']['pid'] == $hog_b and e['victim']['uid'] == $MG_UID_B and e['victim']['user'] == 'mgb'
	 and e['constraint'] == 'memcg' and e['oom_memcg'] == '$rel_b' and e['task_memcg'] == '$rel_b'
	 and e['memguard_group'] == {'level': 'session', 'uid': $MG_UID_B, 'user': 'mgb', 'session': '${rel_b##*/}', 'layout': 'cgroupfs'}
	 and e['cap_rule']['key'] == 'session.memory.max' and e['cap_rule']['value'] == '64M' and e['cap_rule']['file'] == '$POLICY' and e['cap_rule']['line'] == $policy_line_b
	 and e['memcg_limit_bytes'] == 64 << 20 and e['oom_group'] is None and e['missing'] == []"
policy_line_a=$(grep -n '^mga ' "$POLICY" | cut -d: -f1)
jcheck "oom.group=yes: victim hog $hog_a, the session's shell $shell_a and su $supid_a killed with it as memory.oom.group members" \
	"e['type'] == 'kernel' and e['victim'] and e['victim']['pid'] == $hog_a and e['victim']['uid'] == $MG_UID_A
	 and e['oom_memcg'] == '$rel_a' and e['memguard_group']['user'] == 'mga' and e['cap_rule']['line'] == $policy_line_a
	 and e['oom_group'] is not None and e['oom_group']['memcg'] == '$rel_a'
	 and {$shell_a, $supid_a} <= {k['pid'] for k in e['oom_group']['killed']} and $hog_a not in {k['pid'] for k in e['oom_group']['killed']}"
"$CTL" --policy "$POLICY" oom-report --user mga >"$W/text.out" 2>&1 || fail "oom-report --user mga failed: $(cat "$W/text.out")"
grep -q "oom.group:  every task of $rel_a killed" "$W/text.out" || { cat "$W/text.out"; fail "the text does not show the oom.group kill"; }
grep -q "pid $hog_b" "$W/text.out" && fail "oom-report --user mga shows mgb's kill"
info "ok: --user mga: the group kill in text, mgb's kill left out"

# mgb logged out after the kill: the module's close-session line, read
# from the syslog file beside the kernel log, names the same group.
mg_until 10 grep -q "session closed for mgb" "$MG_SYSLOG" || fail "no close-session line of mgb in $MG_SYSLOG"
grep -a "session closed for mgb" "$MG_SYSLOG" | sed 's/^/    /'
dmesg >"$W/kernel.log" || fail "dmesg failed"
"$CTL" --policy "$POLICY" oom-report --user mgb "$W/kernel.log" "$MG_SYSLOG" >"$W/link.out" 2>&1 ||
	{ cat "$W/link.out"; fail "oom-report of the kernel log and the syslog file failed"; }
grep -q "pam_memguard: session of mgb (uid $MG_UID_B) closed after OOM kills: 1" "$W/link.out" &&
	grep -q "group:      /sys/fs/cgroup$rel_b\$" "$W/link.out" &&
	grep -q "kernel:     1 OOM event of this group above" "$W/link.out" &&
	grep -q "victim:     hog (pid $hog_b, uid $MG_UID_B mgb)" "$W/link.out" ||
	{ cat "$W/link.out"; fail "the close-session record is not shown beside mgb's kernel event"; }
info "ok: mgb's close-session record (oom_kills=1) beside the kernel's event of the same group"

# --- a global OOM: no cap, more than the guest's RAM ---
ram_mb=$(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
# Filling the guest's RAM under emulation takes minutes on a loaded host;
# less page cache to reclaim first shortens it (a sysctl of the guest's).
sync; echo 3 >/proc/sys/vm/drop_caches
MG_SU_TIMEOUT=360 mg_su_bg c mgc "$HOG $((ram_mb * 2)) >/dev/null & h=\$!; up \"hog \$h\"; wait \$h; up \"after-hog \$?\""
mg_expect c 60 '^hog [0-9]+$'
hog_c=${MG_LINE#hog }
mg_expect c 340 '^after-hog [0-9]+$'
[ "$MG_LINE" = "after-hog 137" ] || { cat "$W/c.out"; fail "the global hog (pid $hog_c, ${ram_mb}M RAM) ended with '${MG_LINE#after-hog }', expected 137"; }
mg_wait c
report
[ "$RC" = 0 ] || fail "oom-report exit $RC: $(cat "$OUT.err")"
jcheck "global OOM: victim hog $hog_c of mgc, the largest task, and uid $MG_UID_C the largest consumer" \
	"e['type'] == 'kernel' and e['victim'] and e['victim']['pid'] == $hog_c and e['victim']['uid'] == $MG_UID_C
	 and e['constraint'] == 'global' and e['victim_is_largest_task'] is True
	 and e['per_uid'][0]['uid'] == $MG_UID_C and e['per_uid'][0]['user'] == 'mgc'
	 and e['tasks'][0]['pid'] == $hog_c and e['memguard_group'] is None"
"$CTL" --policy "$POLICY" oom-report --brief >"$W/brief.out" 2>&1
info "oom-report --brief:"
sed 's/^/    /' "$W/brief.out"
grep -q "kernel global: killed hog (pid $hog_c, uid $MG_UID_C mgc" "$W/brief.out" || fail "--brief does not show the global kill"
exit 0
