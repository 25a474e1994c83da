# Sourced by tests/pam/run.sh (its helpers, $T, $BASE, $CGT, $SO, $DRIVE,
# users through nss_wrapper): memguardctl's live commands over sessions
# opened through the module. What they report is compared with the
# kernel's own files.

CTL=$TOP/$BUILD/memguardctl
LV=$CGT/lv/memguard
mkdir -p "$CGT/lv"
policy lv '* memory.max=64M memory.high=48M memory.swap.max=0 session.memory.max=32M'
service lvs "policy=$T/lv.conf cgroup_root=$LV on_error=deny"
# memguardctl reads a pam.d of its own: the one service whose line it takes.
mkdir -p "$T/lvpamd"
cp "$T/pam.d/lvs" "$T/lvpamd/lvs"
ctl() { env $RUNENV "$CTL" --pam-dir "$T/lvpamd" "$@" >"$T/ctl.out" 2>"$T/ctl.err"; CRC=$?; }
# py EXPR: EXPR over the JSON in $T/ctl.out (d)
py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/ctl.out" "$1" 2>&1; }
# lv_session OUT USER: an open session kept by a sleep (pid in OUT.pid)
lv_session() {
	rm -f "$1.pid"
	env $RUNENV timeout 120 "$DRIVE" "$T/pam.d" lvs "$2" sh -c "$SELFCG"'; echo $$ >'"$1.pid"'; exec sleep 100' \
		>"$1" 2>&1 &
	BGPIDS="$BGPIDS $!"
	wait_until 20 test -s "$1.pid"
}
lv_end() {
	p=$(cat "$1.pid" 2>/dev/null)
	[ -n "$p" ] && kill "$p" 2>/dev/null
	wait_until 20 grep -q '^close=' "$1"
}

# ----- status: the figures are the kernel's -----
lv_session "$T/lv1" alice
lv_session "$T/lv2" alice
# A session whose caller is gone while a process of it lives on: stale.
env $RUNENV timeout 60 "$DRIVE" "$T/pam.d" lvs bob sh -c "$SELFCG"'; sleep 100 </dev/null >/dev/null 2>&1 & echo $! >'"$T/lv3.pid" \
	>"$T/lv3" 2>&1
BGPIDS="$BGPIDS $(cat "$T/lv3.pid" 2>/dev/null)"
UA=$LV/user-1001
S1=$(field selfcg "$T/lv1")
ctl --json status alice bob
if [ "$CRC" = 0 ]; then ok "status --json over real sessions: exit 0"; else notok "status --json over real sessions: exit 0" "$(cat "$T/ctl.err")"; fi
G='{g["name"]: g for g in d["users"][0]["groups"]}'
check "status: the user group's peak is the kernel's, its max events the kernel's (v1: failcnt), limit in force its own 64M" \
	"$(py "($G['user-1001']['memory_peak'] >= 0, $G['user-1001']['events']['max'], $G['user-1001']['effective_limit']['bytes'])")" \
	"(True, $(max_events_of "$UA"), $(M 64))"
# peak and usage move with the kernel's own accounting: read them right after.
got=$(py "$G['user-1001']['memory_peak']"); want=$(peak_of "$UA")
[ "$got" -le "$want" ] && [ "$got" -ge $((want - 1048576)) ] && ok "status: the user group's peak is the kernel's peak file ($got, file $want)" ||
	notok "status: the user group's peak is the kernel's peak file" "json $got, file $want"
SN=${S1##*/}
check "status: a session's limit in force is its own 32M; the processes are cgroup.procs'" \
	"$(py "($G['$SN']['effective_limit']['bytes'], $G['$SN']['effective_limit']['set_by'], $G['$SN']['processes'])")" \
	"($(M 32), '$(cg_rel "$S1")', $(wc -l <"$S1/cgroup.procs"))"
check "status: a session's leader is the PAM caller (the group's name), alive; login time within a minute" \
	"$(py "($G['$SN']['leader']['pid'], $G['$SN']['leader']['alive'], abs($G['$SN']['login_time'] - $(date +%s)) < 60, $G['$SN']['stale'])")" \
	"($(echo "$SN" | cut -d- -f2), True, True, False)"
check "status: the user group counts the processes of both sessions" \
	"$(py "$G['user-1001']['processes']")" "$(cat "$UA"/session-*/cgroup.procs | wc -l)"
B3=$(py '[g for g in d["users"][1]["groups"] if g["kind"] == "session"][0]["stale_reason"]')
check "status: a session whose caller has gone while a process lives on is stale (leader gone)" "$B3" "leader gone"
# Every session group status lists is one the kernel has, and the other way round.
check "status: the sessions listed are the directories under user-1001" \
	"$(py "' '.join(sorted(g['name'] for g in d['users'][0]['groups'] if g['kind'] == 'session'))")" \
	"$(ls -d "$UA"/session-* | xargs -n1 basename | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
check "status: host figures are /proc's (overcommit mode, CommitLimit)" \
	"$(py "(d['host']['overcommit_memory'], d['host']['commit_limit'])")" \
	"($(cat /proc/sys/vm/overcommit_memory), $(( $(awk '$1 == "CommitLimit:" {print $2}' /proc/meminfo) * 1024 )))"
# A group above the policy, and one without a cap, are flagged.
cg_set_cap "$UA" $(M 80)
ctl status alice
if grep -q "^  user    user-1001 .*\[above policy\]" "$T/ctl.out"; then ok "status flags a user group whose cap is above the policy"
else notok "status flags a user group whose cap is above the policy" "$(cat "$T/ctl.out")"; fi
cg_set_cap "$UA" max
ctl --json status alice
check "status --json flags a user group left without a cap: uncapped" "$(py "$G['user-1001']['flag']")" "uncapped"
cg_set_cap "$UA" $(M 64)
ctl --sort usage status
if [ "$CRC" = 0 ] && grep -q '^host: ' "$T/ctl.out" && grep -qF "module configuration from lvs ($T/lvpamd/lvs:1), 1 service" "$T/ctl.out"; then
	ok "status (no USER) without --cgroup-root finds the module's tree through pam.d; host line"
else notok "status (no USER) without --cgroup-root finds the module's tree through pam.d; host line" "$(cat "$T/ctl.out" "$T/ctl.err")"; fi
if grep -q "no user has live memguard state" "$T/ctl.out"; then notok "status sees the live users" "$(cat "$T/ctl.out")"
else ok "status sees the live users"; fi

# ----- top: a plain table without a terminal, the full screen under tmux -----
ctl top --iterations 2 --interval 0.2
if [ "$CRC" = 0 ] && [ "$(grep -c '^memguard top ' "$T/ctl.out")" = 2 ] &&
	grep -qE '^alice +1001 +[0-9.]+[KMG]? +\[[#.]{20}\] +64M +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ +2$' "$T/ctl.out"; then
	ok "top without a terminal: --iterations 2 gives two plain tables; alice's row: limit 64M, 2 sessions"
else notok "top without a terminal: --iterations 2 gives two plain tables; alice's row: limit 64M, 2 sessions" "$(cat "$T/ctl.out" "$T/ctl.err")"; fi
if command -v tmux >/dev/null 2>&1; then
	TS=$T/tmux.sock
	tmux -S "$TS" new-session -d -x 150 -y 30 \
		"env $RUNENV TERM=screen $CTL --pam-dir $T/lvpamd top --interval 0.3 2>$T/top.err; echo \$? >$T/top.rc; sleep 30"
	wait_until 20 sh -c "tmux -S '$TS' capture-pane -p | grep -q '^alice '" 
	tmux -S "$TS" capture-pane -p >"$T/top.screen"
	row=$(grep '^alice ' "$T/top.screen")
	case $row in
	*" 1001 "*"] "*" 64M "*" 2") ok "top under tmux: the screen shows alice's row (uid, bar, limit 64M, 2 sessions)" ;;
	*) notok "top under tmux: the screen shows alice's row" "$(cat "$T/top.screen" "$T/top.err")" ;;
	esac
	grep -q '^q quit' "$T/top.screen" && ok "top under tmux: the key help on the last line" ||
		notok "top under tmux: the key help on the last line" "$(cat "$T/top.screen")"
	tmux -S "$TS" send-keys p
	sleep 0.5
	tmux -S "$TS" capture-pane -p | grep -q 'sort pressure' && ok "top under tmux: p sorts by pressure" ||
		notok "top under tmux: p sorts by pressure" "$(tmux -S "$TS" capture-pane -p)"
	tmux -S "$TS" send-keys q
	wait_until 10 test -s "$T/top.rc"
	check "top under tmux: q quits with exit 0" "$(cat "$T/top.rc" 2>/dev/null)" 0
	tmux -S "$TS" kill-server 2>/dev/null
else
	skip "top under tmux" "tmux not installed (make deps)"
fi

# ----- metrics: a real Prometheus text parser, the kernel's figures -----
PYPROM=
for py3 in /usr/bin/python3 python3; do
	if "$py3" -c 'import prometheus_client' 2>/dev/null; then PYPROM=$py3; break; fi
done
mkdir -p "$T/textfile"
ctl metrics --sessions --output "$T/textfile/memguard.prom"
if [ -z "$PYPROM" ]; then
	skip "metrics parse with prometheus_client and carry alice's cap and usage" "python3-prometheus-client not installed (make deps)"
else
	cat >"$T/prom.py" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
def one(name, **labels):
    for f in fams.values():
        for s in f.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None
helps = [l.split()[2] for l in text.splitlines() if l.startswith('# HELP ')]
types = {l.split()[2]: l.split()[3] for l in text.splitlines() if l.startswith('# TYPE ')}
bad = [n for n in helps if n not in types] + [n for n, t in types.items() if (t == 'counter') != n.endswith('_total')]
bad += [n for n in helps if not n.startswith('memguard_')]
print(int(one('memguard_user_memory_max_bytes', user='alice', uid='1001')),
      int(one('memguard_user_memory_usage_bytes', user='alice', uid='1001')),
      one('memguard_user_oom_kills_total', user='alice') is not None,
      int(one('memguard_user_sessions', user='alice')),
      int(one('memguard_user_memory_limit_effective_bytes', user='alice')),
      one('memguard_session_memory_max_bytes', user='alice', session=sys.argv[2]) == 32 * 2**20,
      one('memguard_last_read_timestamp_seconds') > 0,
      'bad:' + ','.join(bad))
PY
	got=$("$PYPROM" "$T/prom.py" "$T/textfile/memguard.prom" "$SN" 2>&1)
	usage_file=$(usage_of "$UA")
	set -- $got
	if [ "$CRC" = 0 ] && [ "$1" = "$(M 64)" ] && [ "$3 $4 $5 $6 $7 $8" = "True 2 $(M 64) True True bad:" ] &&
		[ "$2" -gt 0 ] && [ $(( $2 - usage_file )) -lt 2097152 ] && [ $(( usage_file - $2 )) -lt 2097152 ]; then
		ok "metrics parse with prometheus_client: alice's cap 64M and usage (file $usage_file) as the kernel's, HELP and TYPE for each family, counters end in _total"
	else
		notok "metrics parse with prometheus_client: alice's cap and usage as the kernel's" "exit $CRC, got: $got" \
			"usage file $usage_file" "$(head -c 3000 "$T/textfile/memguard.prom")" "$(cat "$T/ctl.err")"
	fi
fi
check "metrics --output: the file replaced atomically, 0644, no temporary file left" \
	"$(stat -c %a "$T/textfile/memguard.prom") $(ls "$T/textfile")" "644 memguard.prom"
ctl metrics
if grep -q '^memguard_session_' "$T/ctl.out"; then notok "without --sessions no session series" "$(grep '^memguard_session_' "$T/ctl.out" | head -3)"
else ok "without --sessions no session series"; fi

# ----- gc: only empty groups of ended sessions, beside logins -----
UB=$LV/user-1002
B3DIR=$(ls -d "$UB"/session-* | head -n 1)
mkdir -p "$LV/user-1004/session-999999-1" "$LV/user-1005"
ctl gc --dry-run
if [ "$CRC" = 0 ] && grep -qF "would remove $LV/user-1004/session-999999-1" "$T/ctl.out" &&
	grep -qF "would remove $LV/user-1005" "$T/ctl.out" && [ -d "$LV/user-1004/session-999999-1" ]; then
	ok "gc --dry-run names the empty groups of ended sessions and removes nothing"
else notok "gc --dry-run names the empty groups of ended sessions and removes nothing" "$(cat "$T/ctl.out" "$T/ctl.err")"; fi
ctl --json gc
check "gc removes the empty groups bottom up (session, then its user group), exit 0" 	"$CRC $(py "sorted(x['group'] for x in d['removed'])") $([ -e "$LV/user-1004" ] || echo gone)" 	"0 ['user-1004', 'user-1004/session-999999-1', 'user-1005'] gone"
check "gc leaves a stale group a process still holds (bob's), and the open sessions" 	"$([ -d "$B3DIR" ] && echo kept) $(cat "$S1/cgroup.procs" | wc -l)" "kept $(wc -l <"$S1/cgroup.procs")"
lv_end "$T/lv1"
lv_end "$T/lv2"
kill "$(cat "$T/lv3.pid")" 2>/dev/null
wait_until 10 procs_empty "$B3DIR"
ctl gc
check "once its last process is gone, gc removes bob's stale group and user group" 	"$CRC $([ -e "$UB" ] || echo gone)" "0 gone"

# Logins and logouts of four users while gc runs in a loop: every login
# opens and closes, gc never fails, a held session keeps its group.
lv_session "$T/lvh" carol
HELD=$(field selfcg "$T/lvh")
HELDN=$(wc -l <"$HELD/cgroup.procs")
gcbad=""
# (light: 10 gc runs beside 12 logins)
GCRUNS=40 GCLOGINS=10
[ -n "$LIGHT" ] && GCRUNS=10 GCLOGINS=3
(
	i=0
	while [ $i -lt $GCRUNS ]; do
		env $RUNENV "$CTL" --pam-dir "$T/lvpamd" gc >"$T/gcl.$i" 2>&1 || echo "gc $i exit $?" >>"$T/gc.bad"
		i=$((i + 1))
	done
) &
gcloop=$!
BGPIDS="$BGPIDS $gcloop"
for u in alice bob dave frank; do
	(
		j=0
		while [ $j -lt $GCLOGINS ]; do
			env $RUNENV timeout 60 "$DRIVE" "$T/pam.d" lvs $u true >"$T/lvc.$u.$j" 2>&1
			j=$((j + 1))
		done
	) &
	BGPIDS="$BGPIDS $!"
	eval "lp_$u=$!"
done
wait "$lp_alice" "$lp_bob" "$lp_dave" "$lp_frank" "$gcloop"
lbad=$(for f in "$T"/lvc.*; do [ "$(field open "$f") $(field close "$f")" = "0 0" ] || echo "$f: $(cat "$f")"; done)
check "$((GCLOGINS * 4)) logins and logouts of 4 users beside $GCRUNS gc runs: every one opened and closed" "$lbad" ""
check "gc beside logins and logouts: every run exit 0, no error" 	"$(cat "$T/gc.bad" 2>/dev/null)$(grep -h 'memguardctl:' "$T"/gcl.* | head -3)" ""
check "gc beside logins: the held session's group and its process stay" 	"$([ -d "$HELD" ] && echo kept) $(wc -l <"$HELD/cgroup.procs")" "kept $HELDN"
lv_end "$T/lvh"
ctl gc
check "at the end gc leaves nothing under the tree" "$CRC $(find "$LV" -mindepth 1 -type d | wc -l)" "0 0"

# ----- the issue's host: su -l through a private pam.d whose line has cgroup_root= -----
# status and apply with no option at all must find the module's tree.
SUBIN=$(command -v su)
if [ -n "$SUBIN" ] && command -v unshare >/dev/null 2>&1; then
	SUD=$T/su
	mkdir -p "$SUD/pam.d" "$SUD/etc" "$SUD/home"
	SUID_T=
	for u in $(seq 4242 4300); do
		awk -F: -v u="$u" '$3 == u {f = 1} END {exit !f}' /etc/passwd /etc/group || { SUID_T=$u; break; }
	done
	{ grep -v '^mglive:' /etc/passwd; echo "mglive:x:$SUID_T:$SUID_T::$SUD/home:/bin/sh"; } >"$SUD/etc/passwd"
	{ grep -v '^mglive:' /etc/group; echo "mglive:x:$SUID_T:"; } >"$SUD/etc/group"
	{ grep -v '^mglive:' /etc/shadow; echo "mglive:*:19000:0:99999:7:::"; } >"$SUD/etc/shadow"
	chmod 644 "$SUD/etc/passwd" "$SUD/etc/group"; chmod 640 "$SUD/etc/shadow"; chmod 755 "$SUD" "$SUD/home"
	policy lvsu '* memory.max=80M memory.swap.max=0'
	SUBASE=$CGT/lvsu/memguard
	mkdir -p "$CGT/lvsu"
	printf 'auth sufficient pam_rootok.so\nauth required pam_deny.so\naccount required pam_permit.so\nsession required %s cgroup_root=%s policy=%s\n' \
		"$SO" "$SUBASE" "$T/lvsu.conf" >"$SUD/pam.d/su-l"
	printf 'auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n' >"$SUD/pam.d/other"
	chmod 755 "$SUD/pam.d"; chmod 644 "$SUD/pam.d/"*
	SUPRE=
	readelf -d "$SO" 2>/dev/null | grep -q 'NEEDED.*libasan' && SUPRE=$(ldd "$SO" | awk '/libasan/ {print $3; exit}')
	cat >"$SUD/run.sh" <<EOS
set -e
mount --bind "$SUD/pam.d" /etc/pam.d
for f in passwd group shadow; do mount --bind "$SUD/etc/\$f" "/etc/\$f"; done
set +e
env \${SUPRE:+LD_PRELOAD=$SUPRE} ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 su -l mglive -c 'echo \$\$ >$SUD/shell.pid; exec sleep 60' &
i=0; while [ ! -s $SUD/shell.pid ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i + 1)); done
"$CTL" status >$SUD/status.out 2>$SUD/status.err; echo \$? >$SUD/status.rc
"$CTL" apply --dry-run >$SUD/apply.out 2>$SUD/apply.err; echo \$? >$SUD/apply.rc
"$CTL" --json status mglive >$SUD/json.out 2>>$SUD/status.err
kill \$(cat $SUD/shell.pid)
wait
EOS
	SUPRE=$SUPRE timeout 60 unshare --mount --propagation private sh "$SUD/run.sh" >"$SUD/ns.out" 2>&1
	shell_cg=$SUBASE/user-$SUID_T
	if [ "$(cat "$SUD/status.rc" 2>/dev/null)" = 0 ] && grep -q "^user mglive (uid $SUID_T)$" "$SUD/status.out" &&
		grep -q "^  session session-" "$SUD/status.out" && ! grep -q "no user has live memguard state" "$SUD/status.out" &&
		grep -qF "module configuration from su-l (/etc/pam.d/su-l:4)" "$SUD/status.out"; then
		ok "su -l in a private namespace, pam.d line with cgroup_root=: 'memguardctl status' with no option shows the capped session"
	else
		notok "su -l in a private namespace, pam.d line with cgroup_root=: 'memguardctl status' with no option shows the capped session" \
			"$(cat "$SUD/status.out" "$SUD/status.err" "$SUD/ns.out" 2>&1)"
	fi
	if [ "$(cat "$SUD/apply.rc" 2>/dev/null)" = 0 ] && grep -q "^dry run: 0 would change" "$SUD/apply.out" &&
		! grep -q "user mglive.*left alone" "$SUD/apply.out"; then
		ok "apply --dry-run with no option reads the same tree and policy: the session already has the policy's caps"
	else notok "apply --dry-run with no option reads the same tree and policy" "$(cat "$SUD/apply.out" "$SUD/apply.err" 2>&1)"; fi
	got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); u=d["users"][0]; g=u["groups"][0]
print(g["caps"]["memory.max"]["live"], g["caps"]["memory.max"]["state"], d["base"])' "$SUD/json.out" 2>&1)
	check "su -l session: status --json shows the user's memory.max 80M from the kernel, as the policy says, in the PAM line's tree" \
		"$got" "$(M 80) ok $SUBASE"
	wait_until 15 sh -c "! ls -d '$shell_cg' >/dev/null 2>&1"
else
	skip "su -l in a private namespace: status finds the module's tree" "su or unshare missing"
fi
