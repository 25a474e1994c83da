#!/bin/sh
# Integration tests of pam_memguard.so through a real PAM stack (pamdrive).
# Run from the top of the repository:  sh tests/pam/run.sh
# Needs root and a memory cgroup of its own (cgroup v1's memory controller,
# or a delegated cgroup v2 subtree: tests/pam/cgroup-host.sh); otherwise
# exits 77. Everything it makes lives under $CGT (a group of our own) and in
# a temporary directory; both are removed on exit.
# Prints TAP; exits 0 when every test passed, 1 otherwise.

. "$(dirname "$0")/lib.sh"

# ===== 1. dlopen smoke test and exported symbols =====
if "$DLSMOKE" "$SO" >"$T/dl.out" 2>&1; then ok "dlopen RTLD_NOW finds pam_sm_open_session and pam_sm_close_session"
else notok "dlopen RTLD_NOW finds pam_sm_open_session and pam_sm_close_session" "$(cat "$T/dl.out")"; fi
extra=$(nm -D --defined-only "$SO" | awk 'NF >= 3 {print $3}' | grep -v '^_' |
	grep -vx -e pam_sm_open_session -e pam_sm_close_session)
check "no exported symbol besides pam_sm_*" "$extra" ""

# ===== 2. placement and caps =====
policy main '%all memory.max=8G
* memory.max=64M memory.swap.max=0 oom_score_adj=100
@grp memory.max=96M memory.high=80M
5000:5999 memory.max=128M
alice session.memory.max=48M
eve exempt
root exempt'
service main "policy=$T/main.conf cgroup_root=$BASE on_error=deny"

CHILD="$SELFCG; echo \"childoom=\$(cat /proc/self/oom_score_adj)\""

# alice: user rule (session.memory.max) over "*"
drive "$T/alice.out" main alice sh -c "$CHILD"
sd=$(sessdir "$T/alice.out")
check "alice: open=0 close=0" "$(field open "$T/alice.out") $(field close "$T/alice.out")" "0 0" "$T/alice.out"
case $sd in
"$BASE"/user-1001/session-*) ok "alice: session placed in BASE/user-1001/session-PID-START" ;;
*) notok "alice: session placed in BASE/user-1001/session-PID-START" "got: $sd" "$(cat "$T/alice.out")" ;;
esac
check "alice: the child runs in the same session group" "$(field selfcg "$T/alice.out")" "$sd" "$T/alice.out"
check "alice: oom_score_adj=100 seen by the child" "$(field childoom "$T/alice.out")" "100" "$T/alice.out"
check "%all memory.max=8G on BASE" "$(cap_of "$BASE")" "$(M 8192)"
check "alice: groups removed on close" "$( [ -e "$BASE/user-1001" ] && echo present || echo gone)" gone

# Inside the session: caps of the live groups ($CAPS, tests/pam/lib.sh).
drive "$T/alice2.out" main alice sh -c "$CAPS"
check "alice (user rule): user group max=64M memsw=64M, session max=48M" \
	"$(field u_max "$T/alice2.out") $(field u_memsw "$T/alice2.out") $(field s_max "$T/alice2.out")" \
	"$(M 64) $(M 64) $(M 48)" "$T/alice2.out"

drive "$T/bob.out" main bob sh -c "$CAPS"
case $(field selfcg "$T/bob.out") in
"$BASE"/user-1002/session-*) ok "bob (@grp, supplementary): placed in user-1002" ;;
*) notok "bob (@grp, supplementary): placed in user-1002" "$(cat "$T/bob.out")" ;;
esac
check "bob (@grp): max=96M memsw=96M soft=80M" \
	"$(field u_max "$T/bob.out") $(field u_memsw "$T/bob.out") $(field u_soft "$T/bob.out")" \
	"$(M 96) $(M 96) $(M 80)" "$T/bob.out"

drive "$T/carol.out" main carol sh -c "$CAPS"
check "carol (uid range 5000:5999): max=128M memsw=128M" \
	"$(field u_max "$T/carol.out") $(field u_memsw "$T/carol.out")" "$(M 128) $(M 128)" "$T/carol.out"

drive "$T/dave.out" main dave sh -c "$CAPS; echo childoom=\$(cat /proc/self/oom_score_adj)"
check "dave (*): max=64M memsw=64M oom_score_adj=100" \
	"$(field u_max "$T/dave.out") $(field u_memsw "$T/dave.out") $(field childoom "$T/dave.out")" \
	"$(M 64) $(M 64) 100" "$T/dave.out"

drive "$T/eve.out" main eve sh -c "$SELFCG"
check "eve (exempt): open=0, no group, stays in the caller's group" \
	"$(field open "$T/eve.out") $(field selfcg "$T/eve.out") $( [ -e "$BASE/user-1005" ] && echo made || echo none)" \
	"0 $OWN none" "$T/eve.out"

drive "$T/root.out" main root sh -c "$SELFCG"
check "root without include_root: no group" \
	"$(field open "$T/root.out") $(field selfcg "$T/root.out")" "0 $OWN" "$T/root.out"

policy rootcap 'root memory.max=100M'
service rootinc "policy=$T/rootcap.conf cgroup_root=$BASE on_error=deny include_root"
drive "$T/rooti.out" rootinc root sh -c "$CAPS"
case $(field selfcg "$T/rooti.out") in
"$BASE"/user-0/session-*) check "root with include_root: user-0 group, max=100M" "$(field u_max "$T/rooti.out")" "$(M 100)" "$T/rooti.out" ;;
*) notok "root with include_root: user-0 group, max=100M" "$(cat "$T/rooti.out")" ;;
esac
service rootex "policy=$T/main.conf cgroup_root=$BASE on_error=deny include_root"
drive "$T/rootx.out" rootex root sh -c "$SELFCG"
check "root with include_root but 'root exempt': no group" \
	"$(field open "$T/rootx.out") $(field selfcg "$T/rootx.out")" "0 $OWN" "$T/rootx.out"

# ===== 3. OOM inside a 64M session =====
OOMSH="$SELFCG"'; "$1" 200 >/dev/null; echo "hogrc=$?"
echo "oomkill=$(oom_kills_of "$(cg_self)")"'
drive "$T/oom.out" main dave sh -c "$OOMSH" oomsh "$HOG"
check "OOM: hog 200 under 64M is killed (shell sees 137)" "$(field hogrc "$T/oom.out")" 137 "$T/oom.out"
k=$(field oomkill "$T/oom.out")
if [ -n "$k" ] && [ "$k" -ge 1 ] 2>/dev/null; then ok "OOM: oom_kill >= 1 in the session group ($k)"
else notok "OOM: oom_kill >= 1 in the session group" "$(cat "$T/oom.out")"; fi
check "OOM: session shell survives, close=0" "$(field child "$T/oom.out") $(field close "$T/oom.out")" "exit:0 0" "$T/oom.out"

# ===== 4. two concurrent sessions of one user share one user group =====
mkfifo "$T/fifo4"
drive "$T/c1.out" main dave sh -c "$SELFCG; echo ready; read x <\"$T/fifo4\"" &
P4=$!
BGPIDS="$BGPIDS $P4"
if wait_until 20 grep -q '^ready$' "$T/c1.out"; then
	drive "$T/c2.out" main dave sh -c "$CAPS"
	s1=$(field selfcg "$T/c1.out"); s2=$(field selfcg "$T/c2.out")
	if [ "${s1%/*}" = "$BASE/user-1004" ] && [ "${s2%/*}" = "$BASE/user-1004" ] && [ "$s1" != "$s2" ]; then
		ok "two concurrent sessions: distinct session groups under one user-1004"
	else
		notok "two concurrent sessions: distinct session groups under one user-1004" "s1=$s1" "s2=$s2"
	fi
	check "two concurrent sessions: the shared user group keeps max=64M" "$(field u_max "$T/c2.out")" "$(M 64)" "$T/c2.out"
	check "second session's close leaves the first one's group" "$( [ -d "$s1" ] && echo kept || echo gone)" kept
else
	notok "two concurrent sessions: first session never got ready" "$(cat "$T/c1.out")"
fi
echo go >"$T/fifo4"
wait "$P4"
check "first session: child exit:0 close=0" "$(field child "$T/c1.out") $(field close "$T/c1.out")" "exit:0 0" "$T/c1.out"
check "both closed: user-1004 removed" "$( [ -e "$BASE/user-1004" ] && echo present || echo gone)" gone

# ===== 4b. memguardctl status: the live groups beside the policy =====
CTL=$TOP/$BUILD/memguardctl
# mgctl OUT ARGS...: memguardctl with the test's users, stdout to OUT, stderr to OUT.err
mgctl() {
	o=$1; shift
	env $RUNENV timeout 30 "$CTL" "$@" >"$o" 2>"$o.err"
	echo $? >"$o.rc"
}
policy lower 'alice memory.max=32M session.memory.max=100M'
mkfifo "$T/fifo4b"
drive "$T/st.out" main alice sh -c "$SELFCG; echo ready; read x <\"$T/fifo4b\"" &
P4B=$!
BGPIDS="$BGPIDS $P4B"
if wait_until 20 grep -q '^ready$' "$T/st.out"; then
	sd=$(field selfcg "$T/st.out")
	rel=$(cg_rel "$sd")
	mgctl "$T/st1" --policy "$T/main.conf" status --cgroup-root "$BASE" alice
	check "status alice: exit 0" "$(cat "$T/st1.rc")" 0 "$T/st1.err"
	if grep -qF "session ${sd##*/}  cgroup $rel " "$T/st1" && grep -qF "user    user-1001  cgroup ${rel%/*} " "$T/st1"; then
		ok "status alice: names the live user and session groups by their cgroup"
	else
		notok "status alice: names the live user and session groups by their cgroup" "want session ${sd##*/} at $rel" "$(cat "$T/st1" "$T/st1.err")"
	fi
	mgctl "$T/st2" --policy "$T/main.conf" --json status --cgroup-root "$BASE" alice
	# What the kernel files hold, as status --json reports it.
	want="$(cap_of "${sd%/*}") $(cap_of "$sd") $(cap_of "$BASE")"
	got=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); u=d["users"][0]
g={x["kind"]:x for x in u["groups"]}
print(g["user"]["caps"]["memory.max"]["live"], g["session"]["caps"]["memory.max"]["live"], d["all"]["caps"]["memory.max"]["live"])' "$T/st2" 2>&1)
	check "status --json alice: memory.max of user, session and %all as the kernel files hold them" "$got" "$want" "$T/st2"
	got=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); u=d["users"][0]
g={x["kind"]:x for x in u["groups"]}
c=g["user"]["caps"]; s=g["session"]["caps"]
print(u["user"], u["uid"], u["live"], g["session"]["path"], c["memory.max"]["policy"], c["memory.max"]["state"], c["memory.swap.max"]["live"], s["memory.max"]["state"], "oom_kills" in g["session"], "memory_current" in g["session"])' "$T/st2" 2>&1)
	check "status --json alice: policy 64M/48M met, swap 0, session path" "$got" \
		"alice 1001 True $sd $(M 64) ok 0 ok True True" "$T/st2"
	mgctl "$T/st3" --policy "$T/lower.conf" status --cgroup-root "$BASE" alice
	if grep -E "^    memory.max +live 64M +policy 32M +pending: above the policy; lowered at a login once nothing runs in the group, or by apply --lower" "$T/st3" >/dev/null &&
		grep -E "^    memory.max +live 48M +policy 100M +differs: set when this session started" "$T/st3" >/dev/null; then
		ok "status under a changed policy: user cap above it pending, session cap differs"
	else
		notok "status under a changed policy: user cap above it pending, session cap differs" "$(cat "$T/st3" "$T/st3.err")"
	fi
	sed 's/^/#   /' "$T/st3"
	# Exempt now: the module applies nothing to alice, so nothing is judged.
	policy exemptnow 'alice exempt
* memory.max=32M'
	mgctl "$T/st3x" --policy "$T/exemptnow.conf" status --cgroup-root "$BASE" alice
	check "status of a user the policy now exempts: shown, not compared (no pending, no differs)" \
		"$(cat "$T/st3x.rc") $(grep -c 'exempt by the policy, not compared' "$T/st3x") $(grep -c -E 'pending|differs' "$T/st3x")" \
		"0 1 0" "$T/st3x"
	mgctl "$T/st4" --policy "$T/main.conf" status --cgroup-root "$BASE"
	check "status with no USER lists the one user with live state (uid 1001 only)" \
		"$(cat "$T/st4.rc") $(grep -c '^user ' "$T/st4") $(grep '^user ' "$T/st4")" "0 1 user alice (uid 1001)" "$T/st4.err"
	# Names from NSS reach the terminal escaped: alice's uid under a name
	# with an ESC sequence and a UTF-8 C1 control (CSI, U+009B).
	sed "s/^alice:/$(printf 'al\033[2Jice\302\233'):/" "$T/passwd" >"$T/passwd.ctrl"
	printf '%s exempt\n* memory.max=32M\n' "$(printf 'al\033[2Jice\302\233')" >"$T/ctrlname.conf"
	chmod 644 "$T/ctrlname.conf"
	for v in st10:status ap20:apply; do
		o=${v%%:*} verb=${v#*:}
		env $RUNENV NSS_WRAPPER_PASSWD="$T/passwd.ctrl" timeout 30 "$CTL" --policy "$T/ctrlname.conf" $verb \
			$( [ $verb = apply ] && echo --dry-run ) --cgroup-root "$BASE" 1001 >"$T/$o" 2>"$T/$o.err"
		if python3 -c 'import sys
t = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape")
sys.exit(any((ord(c) < 32 and c not in "\t\n") or 0x7f <= ord(c) <= 0x9f or 0xdc80 <= ord(c) <= 0xdcff for c in t))' "$T/$o" &&
			grep -qF 'user al\x1b[2Jice\u009b (uid 1001)' "$T/$o"; then
			ok "$verb: a user name from NSS with control bytes is shown escaped"
		else
			notok "$verb: a user name from NSS with control bytes is shown escaped" "$(od -c "$T/$o" | head -8)" "$(cat "$T/$o.err")"
		fi
	done
else
	notok "status: alice's session never got ready" "$(cat "$T/st.out")"
fi
echo go >"$T/fifo4b"
wait "$P4B"
mgctl "$T/st5" --policy "$T/main.conf" status --cgroup-root "$BASE" bob 1002
check "status bob and uid 1002 (no session): exit 0, no live state, twice" \
	"$(cat "$T/st5.rc") $(grep -c '^  no live state: no memguard group' "$T/st5")" "0 2" "$T/st5.err"
mgctl "$T/st6" --policy "$T/main.conf" --json status --cgroup-root "$BASE" bob
got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); u=d["users"][0]; print(u["live"], u["groups"])' "$T/st6" 2>&1)
check "status --json bob: live false, no groups" "$(cat "$T/st6.rc") $got" "0 False []" "$T/st6"
mgctl "$T/st7" --policy "$T/main.conf" status --cgroup-root "$BASE" nosuchuser
check "status of an unknown user: exit 1, named" "$(cat "$T/st7.rc") $(grep -c 'no such user: nosuchuser' "$T/st7.err")" "1 1" "$T/st7"
mgctl "$T/st8" --policy "$T/main.conf" status --backend=systemd --cgroup-root "$BASE" alice
check "status --backend=systemd --cgroup-root: usage error, exit 2" "$(cat "$T/st8.rc")" 2 "$T/st8.err"
mgctl "$T/st9" --policy "$T/main.conf" status --cgroup-root "$CGT/nonexistent/memguard" alice
check "status with a cgroup root that is not there: exit 1" "$(cat "$T/st9.rc")" 1 "$T/st9.err"

# ===== 4c. memguardctl apply: the policy written to a live session's groups =====
# alice logs in under main.conf (user 64M, swap 0, session 48M, %all 8G);
# while her session runs the policy changes and apply brings the groups in line.
mkfifo "$T/fifo4c"
drive "$T/ap.out" main alice sh -c "$SELFCG; echo ready; read x <\"$T/fifo4c\"" &
P4C=$!
BGPIDS="$BGPIDS $P4C"
if wait_until 20 grep -q '^ready$' "$T/ap.out"; then
	sd=$(field selfcg "$T/ap.out")
	ud=${sd%/*}
	sn=${sd##*/}
	# limits LABEL: user max, user memsw, session max, %all max as the kernel files hold them
	limits() { echo "$(cap_of "$ud") $(memsw_of "$ud") $(cap_of "$sd") $(cap_of "$BASE")"; }
	check "apply: alice's session starts with user 64M (memsw 64M), session 48M, %all 8G" "$(limits)" \
		"$(M 64) $(M 64) $(M 48) $(M 8192)"
	policy raise '%all memory.max=16G
* memory.max=128M memory.swap.max=0
alice session.memory.max=96M
eve exempt'
	mgctl "$T/ap1" --policy "$T/raise.conf" apply --dry-run --cgroup-root "$BASE" alice
	check "apply --dry-run under a raised policy: exit 0, files unchanged" "$(cat "$T/ap1.rc") $(limits)" \
		"0 $(M 64) $(M 64) $(M 48) $(M 8192)" "$T/ap1.err"
	if grep -qx "user-1001 memory.max 64M -> 128M (dry run)" "$T/ap1" && grep -qx "$sn memory.max 48M -> 96M (dry run)" "$T/ap1" &&
		grep -qx "memguard memory.max 8G -> 16G (dry run)" "$T/ap1" &&
		grep -qx "dry run: 3 would change, 0 pending (--lower to apply), nothing written" "$T/ap1"; then
		ok "apply --dry-run: says what would change, one line each, and the summary"
	else
		notok "apply --dry-run: says what would change, one line each, and the summary" "$(cat "$T/ap1" "$T/ap1.err")"
	fi
	mgctl "$T/ap2" --policy "$T/raise.conf" apply --cgroup-root "$BASE" alice
	check "apply under a raised policy: exit 0, user 128M (memsw 128M), session 96M, %all 16G written" \
		"$(cat "$T/ap2.rc") $(limits)" "0 $(M 128) $(M 128) $(M 96) $(M 16384)" "$T/ap2.err"
	if grep -qx "user-1001 memory.max 64M -> 128M" "$T/ap2" && grep -qx "3 changed, 0 pending (--lower to apply), 0 failed" "$T/ap2"; then
		ok "apply: one line per change and the summary"
	else
		notok "apply: one line per change and the summary" "$(cat "$T/ap2" "$T/ap2.err")"
	fi
	sed 's/^/#   /' "$T/ap2"
	mgctl "$T/ap3" --policy "$T/raise.conf" apply --cgroup-root "$BASE"
	check "apply again, every live user: nothing to change, exit 0" "$(cat "$T/ap3.rc") $(cat "$T/ap3")" \
		"0 0 changed, 0 pending (--lower to apply), 0 failed" "$T/ap3.err"
	policy lowerp '%all memory.max=16G
* memory.max=96M memory.swap.max=0
alice session.memory.max=64M'
	mgctl "$T/ap4" --policy "$T/lowerp.conf" apply --cgroup-root "$BASE" alice
	check "apply under a lowered policy without --lower: exit 0, files unchanged" "$(cat "$T/ap4.rc") $(limits)" \
		"0 $(M 128) $(M 128) $(M 96) $(M 16384)" "$T/ap4.err"
	if grep -qx "user-1001 memory.max 128M -> 96M pending (--lower to apply)" "$T/ap4" &&
		grep -qx "$sn memory.max 96M -> 64M pending (--lower to apply)" "$T/ap4" &&
		grep -qx "0 changed, 2 pending (--lower to apply), 0 failed" "$T/ap4"; then
		ok "apply: a lowering of groups that hold processes is reported pending"
	else
		notok "apply: a lowering of groups that hold processes is reported pending" "$(cat "$T/ap4" "$T/ap4.err")"
	fi
	mgctl "$T/ap5" --policy "$T/lowerp.conf" apply --lower --dry-run --cgroup-root "$BASE" alice
	check "apply --lower --dry-run: exit 0, files unchanged, 2 would change" \
		"$(cat "$T/ap5.rc") $(limits) $(tail -n 1 "$T/ap5")" \
		"0 $(M 128) $(M 128) $(M 96) $(M 16384) dry run: 2 would change, 0 pending (--lower to apply), nothing written" "$T/ap5.err"
	mgctl "$T/ap6" --policy "$T/lowerp.conf" --json apply --lower --cgroup-root "$BASE" alice
	check "apply --lower: exit 0, user 96M (memsw 96M), session 64M written" "$(cat "$T/ap6.rc") $(limits)" \
		"0 $(M 96) $(M 96) $(M 64) $(M 16384)" "$T/ap6.err"
	got=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
c={(x["kind"],x["key"]):x for x in d["changes"]}
u=c[("user","memory.max")]; s=c[("session","memory.max")]
print(d["backend"], d["lower"], d["dry_run"], u["user"], u["uid"], u["name"], u["from"], u["to"], u["action"], u["written"], s["action"], d["written"], d["pending"], d["failed"])' "$T/ap6" 2>&1)
	check "apply --lower --json: both lowerings reported written" "$got" \
		"cgroupfs True False alice 1001 user-1001 $(M 128) $(M 96) lowered True lowered 2 0 0" "$T/ap6"
	policy exemptap 'alice exempt
* memory.max=32M'
	mgctl "$T/ap7" --policy "$T/exemptap.conf" apply --lower --cgroup-root "$BASE" alice
	check "apply to a user the policy exempts: exit 0, said so, files unchanged" \
		"$(cat "$T/ap7.rc") $(grep -c '^user alice (uid 1001): exempt by the policy, left alone$' "$T/ap7") $(limits)" \
		"0 1 $(M 96) $(M 96) $(M 64) $(M 16384)" "$T/ap7.err"
	mgctl "$T/ap8" --policy "$T/raise.conf" apply --cgroup-root "$BASE" nosuchuser alice
	check "apply to an unknown user and alice: exit 1, the unknown one named, alice still raised" \
		"$(cat "$T/ap8.rc") $(grep -c 'no such user: nosuchuser' "$T/ap8.err") $(limits)" \
		"1 1 $(M 128) $(M 128) $(M 96) $(M 16384)" "$T/ap8"
	mgctl "$T/ap13" --policy "$T/nosuch.conf" apply --lower --cgroup-root "$BASE" alice
	check "apply with a --policy that is not there: exit 1, nothing applied, files unchanged" \
		"$(cat "$T/ap13.rc") $(grep -c 'nothing applied' "$T/ap13.err") $(limits)" "1 1 $(M 128) $(M 128) $(M 96) $(M 16384)" "$T/ap13"
	policy wwap '* memory.max=32M'
	chmod 666 "$T/wwap.conf"
	mgctl "$T/ap14" --policy "$T/wwap.conf" apply --lower --cgroup-root "$BASE" alice
	check "apply with a world-writable policy (the module would not use it): exit 1, files unchanged" \
		"$(cat "$T/ap14.rc") $(grep -c 'nothing applied' "$T/ap14.err") $(limits)" "1 1 $(M 128) $(M 128) $(M 96) $(M 16384)" "$T/ap14"
	if command -v setpriv >/dev/null 2>&1; then
		env $RUNENV timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" --policy "$T/lowerp.conf" \
			apply --lower --cgroup-root "$BASE" alice >"$T/ap9" 2>"$T/ap9.err"
		check "apply as a user who is not root: exit 1, says it needs root, files unchanged" \
			"$? $(grep -c 'needs root' "$T/ap9.err") $(limits)" "1 1 $(M 128) $(M 128) $(M 96) $(M 16384)" "$T/ap9"
	else
		skip "apply as a user who is not root" "no setpriv"
	fi
else
	notok "apply: alice's session never got ready" "$(cat "$T/ap.out")"
fi
echo go >"$T/fifo4c"
wait "$P4C"
mgctl "$T/ap10" --policy "$T/main.conf" status --lower --cgroup-root "$BASE"
check "--lower with status: usage error, exit 2" "$(cat "$T/ap10.rc")" 2 "$T/ap10.err"
mgctl "$T/ap11" --policy "$T/main.conf" apply --backend=systemd --cgroup-root "$BASE"
check "apply --backend=systemd --cgroup-root: usage error, exit 2" "$(cat "$T/ap11.rc")" 2 "$T/ap11.err"
mgctl "$T/ap12" --policy "$T/main.conf" apply --cgroup-root "$CGT/nonexistent/memguard" alice
check "apply with a cgroup root that is not there: exit 1" "$(cat "$T/ap12.rc")" 1 "$T/ap12.err"

# ===== 5. a busy session group survives close; a later login reaps it =====
drive "$T/busy.out" main alice sh -c "sleep 1000 >/dev/null 2>&1 & echo bgpid=\$!"
bg=$(field bgpid "$T/busy.out")
BGPIDS="$BGPIDS $bg"
sd=$(sessdir "$T/busy.out")
check "busy session: close=0" "$(field close "$T/busy.out")" 0 "$T/busy.out"
if [ -d "$sd" ] && grep -qx "$bg" "$sd/cgroup.procs"; then ok "busy session group kept after close, holding the background pid"
else notok "busy session group kept after close, holding the background pid" "sd=$sd bg=$bg" "$(cat "$sd/cgroup.procs" 2>&1)"; fi
check "kept group still capped (session 48M, user 64M)" \
	"$(cap_of "$sd") $(cap_of "${sd%/*}")" "$(M 48) $(M 64)"
kill "$bg" 2>/dev/null
if wait_until 20 procs_empty "$sd"; then ok "background pid gone from the kept group"
else notok "background pid gone from the kept group" "$(cat "$sd/cgroup.procs")"; fi
drive "$T/reap.out" main alice true
check "a new login of alice removes the stale group" \
	"$(field open "$T/reap.out") $( [ -e "$sd" ] && echo present || echo gone)" "0 gone" "$T/reap.out"
check "and then nothing of alice is left" "$( [ -e "$BASE/user-1001" ] && echo present || echo gone)" gone

# ===== 5b. a session whose last process is on its way out at close goes =====
# sshd's monitor closes the PAM session as soon as its child's socket
# closes, while the child, still exiting, counts in the group: close waits
# (up to a second) for such processes instead of keeping the group. Here
# the process's main thread has exited (PF_EXITING) and its other thread
# stays 500 ms. It is never a sanitizer build, and runs without the ASan
# runtime a sanitizer build preloads: LeakSanitizer's check at its exit
# would start a process of its own in the group.
LINGER="env -u LD_PRELOAD $TOP/$BUILD/tests/tools/lingering"
drivelog "$T/linger.out" - main alice sh -c \
	"$LINGER 500 $T/linger.ready & while [ ! -s $T/linger.ready ]; do sleep 0.01; done; echo bgpid=\$(cat $T/linger.ready)"
lp=$(field bgpid "$T/linger.out")
BGPIDS="$BGPIDS $lp"
sd=$(sessdir "$T/linger.out")
check "a process on its way out at close: close=0, the session group removed, no 'kept' line" \
	"$(field close "$T/linger.out") $( [ -e "$sd" ] && echo present || echo gone) $(grep -c ' kept: ' "$T/linger.out.log")" \
	"0 gone 0" "$T/linger.out"
if [ -z "$LOGCAP" ]; then
	skip "close waited for the exiting process, and says so" "no unshare, python3 or logger to capture syslog"
elif grep -q "/$(basename "$sd") removed after [0-9]* ms: its last processes were still exiting" "$T/linger.out.log"; then
	ok "close waited for the exiting process, and says so"
else
	notok "close waited for the exiting process, and says so" "$(cat "$T/linger.out.log")"
fi

# ===== 6. a lower memory.max does not lower a live user group; a higher raises it =====
policy f32 'frank memory.max=32M'
policy f64 'frank memory.max=64M'
policy f128 'frank memory.max=128M'
for p in f32 f64 f128; do service "$p" "policy=$T/$p.conf cgroup_root=$BASE on_error=deny"; done
drive "$T/f1.out" f64 frank sh -c "sleep 1000 >/dev/null 2>&1 & echo bgpid=\$!"
fbg=$(field bgpid "$T/f1.out")
BGPIDS="$BGPIDS $fbg"
U6=$BASE/user-1006
check "frank: first login sets max=64M" "$(cap_of "$U6")" "$(M 64)" "$T/f1.out"
drive "$T/f2.out" f32 frank sh -c "$CAPS"
check "frank: a second login asking 32M keeps 64M" "$(field open "$T/f2.out") $(field u_max "$T/f2.out") $(cap_of "$U6")" \
	"0 $(M 64) $(M 64)" "$T/f2.out"
drive "$T/f3.out" f128 frank sh -c "$CAPS"
check "frank: a login asking 128M raises it to 128M" "$(field open "$T/f3.out") $(field u_max "$T/f3.out") $(cap_of "$U6")" \
	"0 $(M 128) $(M 128)" "$T/f3.out"
kill "$fbg" 2>/dev/null
wait_until 20 procs_empty "$(sessdir "$T/f1.out")"
drive "$T/f4.out" f64 frank true
check "frank: after the background pid ended, a new login leaves no user-1006" \
	"$(field open "$T/f4.out") $( [ -e "$U6" ] && echo present || echo gone)" "0 gone" "$T/f4.out"

# ===== 7. 200 open/close cycles: 20 users x 10, 20 in parallel =====
# (light: 5 users x 4; quick: left out)
if [ -z "$QUICK" ]; then
SUSERS=20 SROUNDS=10
[ -n "$LIGHT" ] && SUSERS=5 SROUNDS=4
policy stress '2000:2999 memory.max=64M session.memory.max=32M'
service stress "policy=$T/stress.conf cgroup_root=$BASE on_error=deny"
STRESSSH="$SELFCG"'; d=$(cg_self); echo "cap=${d%/*/*}|$(cap_of $d)|$(cap_of $d/..)"'
SPIDS=""
i=1
while [ $i -le $SUSERS ]; do
	n=$(printf 'u%02d' $i)
	(
		j=1
		while [ $j -le $SROUNDS ]; do
			drive "$T/s.$n.$j" stress "$n" sh -c "$STRESSSH"
			j=$((j + 1))
		done
	) &
	SPIDS="$SPIDS $!"
	i=$((i + 1))
done
BGPIDS="$BGPIDS $SPIDS"
for p in $SPIDS; do wait "$p"; done
good=0; bad=""
for f in "$T"/s.u*; do
	if [ "$(field open "$f") $(field close "$f") $(field cap "$f")" = "0 0 $BASE|$(M 32)|$(M 64)" ]; then good=$((good + 1))
	else bad="$bad $f"; fi
done
check "$((SUSERS * SROUNDS)) cycles: all open=0 close=0 and each session capped (32M/64M)" "$good" $((SUSERS * SROUNDS)) "$(echo $bad | awk '{print $1}')"
left=$(ls "$BASE" | grep '^user-' | tr '\n' ' ')
check "$((SUSERS * SROUNDS)) cycles: no user group left afterwards" "$left" ""
fi

# ===== 8. bad input: the PAM result and one clear log line each =====
# (drivelog and checklog: tests/pam/lib.sh)
service noallow "policy=/nonexistent/memguard.conf cgroup_root=$BASE on_error=allow"
service nodeny "policy=/nonexistent/memguard.conf cgroup_root=$BASE on_error=deny"
drivelog "$T/b1.out" - noallow dave true
checklog "policy=/nonexistent, on_error=allow" "$T/b1.out" 0 '/nonexistent/memguard.conf'
drivelog "$T/b2.out" - nodeny dave true
checklog "policy=/nonexistent, on_error=deny" "$T/b2.out" 14 '/nonexistent/memguard.conf'
mkdir "$T/dirpolicy.conf"
service dirdeny "policy=$T/dirpolicy.conf cgroup_root=$BASE on_error=deny"
drivelog "$T/b8.out" - dirdeny dave true
checklog "unreadable policy (a directory), on_error=deny" "$T/b8.out" 14 'dirpolicy.conf'
policy ww '* memory.max=64M'
chmod 666 "$T/ww.conf"
service wwdeny "policy=$T/ww.conf cgroup_root=$BASE on_error=deny"
drivelog "$T/b3.out" - wwdeny dave true
checklog "world-writable policy, on_error=deny" "$T/b3.out" 14 'writable'
# A drop-in that is a link to a file outside memguard.d (here one holding a
# shadow-like line): refused, named, and nothing of the target logged.
policy symp '* memory.max=64M'
mkdir "$T/symp.d"
printf 'root:$6$SECRETHASHpam:19000:0:99999:7:::\n' >"$T/shadowlike"
chmod 600 "$T/shadowlike"
ln -s "$T/shadowlike" "$T/symp.d/50-link.conf"
service symdeny "policy=$T/symp.conf cgroup_root=$BASE on_error=deny"
drivelog "$T/b12.out" - symdeny dave true
checklog "symlinked drop-in, on_error=deny" "$T/b12.out" 14 'symp.d/50-link.conf: error: the drop-in is a symbolic link'
if grep -q SECRETHASH "$T/b12.out" "$T/b12.out.log"; then
	notok "symlinked drop-in: nothing of its target is logged" "$(cat "$T/b12.out.log")"
else
	ok "symlinked drop-in: nothing of its target is logged"
fi
policy garbage 'memory.max=1G this line lacks its target
* memory.max=40M'
service garbage "policy=$T/garbage.conf cgroup_root=$BASE on_error=allow"
drivelog "$T/b4.out" - garbage dave sh -c "$CAPS"
check "garbage line + valid '*', on_error=allow: open=0 and 40M applied" \
	"$(field open "$T/b4.out") $(field u_max "$T/b4.out")" "0 $(M 40)" "$T/b4.out"
if [ -z "$LOGCAP" ]; then
	skip "garbage line: the log names garbage.conf:1:1" "no unshare, python3 or logger to capture syslog"
elif grep -q "garbage.conf:1:1: error" "$T/b4.out.log"; then
	ok "garbage line: the log names garbage.conf:1:1"
else
	notok "garbage line: the log names garbage.conf:1:1" "$(cat "$T/b4.out.log")"
fi
SHM=$(mktemp -d /dev/shm/mgpam.XXXXXX)
service tmpdeny "policy=$T/main.conf cgroup_root=$SHM/memguard on_error=deny"
service tmpallow "policy=$T/main.conf cgroup_root=$SHM/memguard on_error=allow"
drivelog "$T/b5.out" - tmpdeny dave true
checklog "cgroup_root on tmpfs (no memory controller), on_error=deny" "$T/b5.out" 14 'not a cgroup file system'
drivelog "$T/b6.out" - tmpallow dave sh -c "$SELFCG"
checklog "cgroup_root on tmpfs, on_error=allow" "$T/b6.out" 0 'not a cgroup file system'
check "cgroup_root on tmpfs, on_error=allow: no group, nothing made there" \
	"$(field selfcg "$T/b6.out") $(ls -A "$SHM" | tr '\n' ' ')" "$OWN " "$T/b6.out"
service nocgfs "policy=$T/main.conf cgroup_root=/nonexistent/cgroup/memguard on_error=deny"
drivelog "$T/b9.out" - nocgfs dave true
checklog "cgroup_root missing, on_error=deny" "$T/b9.out" 14 '/nonexistent/cgroup/memguard: No such file'
mkdir -p "$CGT/ro"
service rodeny "policy=$T/main.conf cgroup_root=$CGT/ro/memguard on_error=deny"
service roallow "policy=$T/main.conf cgroup_root=$CGT/ro/memguard on_error=allow"
drivelog "$T/b10.out" "$CGT/ro" rodeny dave true
checklog "read-only cgroupfs, on_error=deny" "$T/b10.out" 14 'Read-only file system'
drivelog "$T/b11.out" "$CGT/ro" roallow dave sh -c "$SELFCG"
checklog "read-only cgroupfs, on_error=allow" "$T/b11.out" 0 'Read-only file system'
check "read-only cgroupfs, on_error=allow: the session stays where it was" \
	"$(field selfcg "$T/b11.out")" "$OWN" "$T/b11.out"
drivelog "$T/b7.out" - main nosuchuser true
checklog "unknown user, on_error=deny" "$T/b7.out" 10 'unknown user nosuchuser'
# A name longer than any NSS gives out never reaches NSS.
drivelog "$T/b13.out" - main "$(printf 'x%.0s' $(seq 300))" true
checklog "a 300-byte user name, on_error=deny" "$T/b13.out" 10 'a user name of 300 bytes is too long (at most 256)'

# ===== 8b. systemd backend without a usable system bus =====
# No systemd here: point sd-bus at a socket path in $T (nothing else is
# contacted). A failure goes through on_error, and the backend never falls
# back to writing cgroups itself.
policy sdb '* memory.max=64M session.memory.max=40M'
service sddeny "policy=$T/sdb.conf backend=systemd on_error=deny"
service sdallow "policy=$T/sdb.conf backend=systemd on_error=allow"
RUNENV_SAVED=$RUNENV
RUNENV="$RUNENV DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/nobus"
drive "$T/sd1.out" sddeny dave true
check "backend=systemd, no system bus, on_error=deny: open=14" "$(field open "$T/sd1.out")" 14 "$T/sd1.out"
drive "$T/sd2.out" sdallow dave sh -c "$SELFCG"
check "backend=systemd, no system bus, on_error=allow: open=0, the session stays in its group" \
	"$(field open "$T/sd2.out") $(field selfcg "$T/sd2.out")" "0 $OWN" "$T/sd2.out"
# A bus that accepts the connection and never answers: the login waits
# for the 2 s D-Bus timeout, not forever.
if command -v python3 >/dev/null; then
	python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
c=[]
while True: c.append(s.accept()[0])' "$T/mutebus" &
	MUTE=$!
	BGPIDS="$BGPIDS $MUTE"
	wait_until 10 test -S "$T/mutebus"
	RUNENV="$RUNENV_SAVED DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/mutebus"
	t0=$(date +%s%N)
	drive "$T/sd3.out" sddeny dave true
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	check "backend=systemd, a bus that never answers: open=14 after the timeout (${ms} ms, 2000-6000 expected)" \
		"$(field open "$T/sd3.out") $([ "$ms" -ge 1900 ] && [ "$ms" -lt 6000 ] && echo in-time)" "14 in-time" "$T/sd3.out"
	kill "$MUTE" 2>/dev/null
	wait "$MUTE" 2>/dev/null
else
	skip "backend=systemd, a bus that never answers" "no python3"
fi
# A user no rule limits (exempt, or no rule applies) still runs the systemd
# backend, to reset what earlier rules set: with the bus down it is let in
# whatever on_error says (an exempt account is the way in when things break).
policy sdx '%all memory.max=1G
dave exempt'
service sdxdeny "policy=$T/sdx.conf backend=systemd on_error=deny"
RUNENV="$RUNENV_SAVED DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/nobus"
drivelog "$T/sd6.out" - sdxdeny dave true
check "backend=systemd, bus down, exempt user, on_error=deny: open=0" "$(field open "$T/sd6.out")" 0 "$T/sd6.out"
policy sdx '%all memory.max=1G'
drivelog "$T/sd7.out" - sdxdeny dave true
check "backend=systemd, bus down, no rule for the user, on_error=deny: open=0" "$(field open "$T/sd7.out")" 0 "$T/sd7.out"
if [ -n "$LOGCAP" ]; then
	if grep '^<83>' "$T/sd7.out.log" | grep -q 'cannot connect to the system bus: .*; no rule limits this user, letting them in'; then
		ok "backend=systemd, bus down, no rule: the log line says why the user got in"
	else
		notok "backend=systemd, bus down, no rule: the log line says why the user got in" "$(cat "$T/sd7.out.log")"
	fi
else
	skip "backend=systemd, bus down, no rule: the log line says why the user got in" "no syslog capture"
fi
# libsystemd is loaded only by the systemd backend: the module does not
# link it (it cost every pam_start ~0.4 ms), and without it the backend
# fails through on_error instead of the module failing to load.
if readelf -d "$SO" | grep -q 'NEEDED.*libsystemd'; then
	notok "pam_memguard.so does not link libsystemd" "$(readelf -d "$SO" | grep NEEDED)"
else
	ok "pam_memguard.so does not link libsystemd"
fi
SDLIB=$(readlink -f "$(ldconfig -p | awk '/libsystemd\.so\.0 .*x86-64/ {print $NF; exit}')" 2>/dev/null)
if [ -n "$SDLIB" ] && [ -f "$SDLIB" ]; then
	# Inside drivelog's private mount namespace: /dev/null over the library.
	printf '#!/bin/sh\nmount --bind /dev/null "%s" || exit 125\nexec "%s" "$@"\n' "$SDLIB" "$DRIVE" >"$T/nosd.sh"
	chmod 755 "$T/nosd.sh"
	DRIVE_SAVED=$DRIVE DRIVE=$T/nosd.sh
	RUNENV="$RUNENV_SAVED DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/nobus"
	drivelog "$T/sd8.out" - sddeny dave true
	checklog "backend=systemd without a loadable libsystemd, on_error=deny" "$T/sd8.out" 14 'cannot load libsystemd.so.0'
	drivelog "$T/sd9.out" - sdallow dave true
	checklog "backend=systemd without a loadable libsystemd, on_error=allow" "$T/sd9.out" 0 'cannot load libsystemd.so.0'
	DRIVE=$DRIVE_SAVED
else
	skip "backend=systemd without a loadable libsystemd" "no libsystemd.so.0 found"
fi
# The systemd-user stack (user@.service) is no login: skipped by default,
# before anything could fail; skip_service= (empty) takes it in again.
service systemd-user "policy=$T/sdb.conf backend=systemd on_error=deny"
RUNENV="$RUNENV_SAVED DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/nobus"
drive "$T/sd4.out" systemd-user dave true
check "the systemd-user stack is skipped by default: open=0 though the bus is down and on_error=deny" \
	"$(field open "$T/sd4.out")" 0 "$T/sd4.out"
service systemd-user "policy=$T/sdb.conf backend=systemd on_error=deny skip_service="
drive "$T/sd5.out" systemd-user dave true
check "skip_service= (empty) takes the systemd-user stack in: open=14 with the bus down and on_error=deny" \
	"$(field open "$T/sd5.out")" 14 "$T/sd5.out"
RUNENV=$RUNENV_SAVED

# ===== 8c. hardening: no way out of a cap, lines that say what holds =====
. "$TOP/tests/pam/hardening.sh"
[ -z "$QUICK" ] && . "$TOP/tests/pam/liveops.sh"

# ===== 9. fd hygiene =====
drive "$T/fd.out" main alice sh -c 'ls -l /proc/self/fd/'
leak=$(grep ' -> ' "$T/fd.out" | grep -e '/sys/fs/cgroup' -e "$T/main.conf" -e 'memguard')
if [ "$(field open "$T/fd.out")" = 0 ] && grep -q ' -> ' "$T/fd.out" && [ -z "$leak" ]; then
	ok "no cgroup or policy fd leaks into the session's child"
else
	notok "no cgroup or policy fd leaks into the session's child" "$(cat "$T/fd.out")"
fi

# ===== 10. valgrind =====
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
if [ -n "$QUICK" ]; then
	:	# left out (MEMGUARD_PAM_QUICK)
elif [ "${SANITIZE:-}" = 1 ]; then
	skip "valgrind: no definite leaks or errors" "ASan build"
elif ! command -v valgrind >/dev/null 2>&1; then
	skip "valgrind: no definite leaks or errors" "valgrind not installed"
else
	vbad=""
	specs='main:alice main:bob main:eve garbage:dave nodeny:dave main:nosuchuser rootinc:root'
	# light: an open and close with caps, a refusal, root
	[ -n "$LIGHT" ] && specs='main:alice nodeny:dave rootinc:root'
	vn=0
	for spec in $specs; do
		spec=$(echo "$spec" | tr : ' ')
		vn=$((vn + 1))
		set -- $spec
		env $RUNENV timeout 300 $VG "$DRIVE" "$T/pam.d" "$1" "$2" true >"$T/vg.out" 2>&1
		rc=$?
		case "$spec:$rc" in
		"nodeny dave:1"|"main nosuchuser:1"|*:0) ;;
		*) vbad="$vbad
$spec rc=$rc
$(cat "$T/vg.out")" ;;
		esac
	done
	if [ -z "$vbad" ]; then ok "valgrind: no definite leaks or errors in $vn pamdrive runs"
	else notok "valgrind: no definite leaks or errors in $vn pamdrive runs" "$vbad"; fi
fi

# ===== 11. the matrix: tests/pam/matrix.sh =====
[ -z "$QUICK" ] && . "$(dirname "$0")/matrix.sh"

# Any sanitizer or PAM module complaint in any run's output is a failure.
san=$(grep -l -e 'AddressSanitizer' -e 'LeakSanitizer' -e 'runtime error:' -e 'PAM unable to dlopen' "$T"/*.out "$T"/s.u* 2>/dev/null)
check "no sanitizer report or module load error in any run" "$san" "" "$(echo $san | awk '{print $1}')"

# Everything closed: only BASE itself may remain (cleanup removes it).
left=$(find "$BASE" -mindepth 1 -type d 2>/dev/null | tr '\n' ' ')
check "nothing left under BASE at the end" "$left" ""

echo "1..$N"
[ "$FAILS" -eq 0 ] && exit 0 || exit 1
