#!/bin/sh
# More PAM stack tests, through the same pamdrive, users, cgroup root and
# /dev/log listener as tests/pam/run.sh (tests/pam/lib.sh):
#   A. logins of one user in flight at once, many times;
#   B. every bad input under on_error=allow and on_error=deny, one log line each;
#   C. oom_score_adj restored at close, service=, unknown arguments logged,
#      what cgroup v1 cannot apply said so (on v2: applied).
# run.sh sources it before its last checks; alone: sh tests/pam/matrix.sh
# (from the top of the repository; prints its own TAP plan).

MATRIX_ALONE=""
if [ -z "${MGPAM_LIB:-}" ]; then
	MATRIX_ALONE=1
	. "$(dirname "$0")/lib.sh"
fi
MX=$T/mx
mkdir "$MX"

# modlines OUT: the module's lines of a drivelog run above notice
# (LOG_AUTHPRIV is 80: <80> emerg .. <84> warning), without the prefix.
modlines() { grep -E '^<8[0-4]>' "$1.log" | sed 's/^<8[0-4]>[^)]*): //'; }
# logged_once DESC OUT PATTERN...: the run logged exactly one line above
# notice, and it matches every PATTERN (fixed strings).
logged_once() {
	lo_desc=$1 lo_out=$2
	shift 2
	if [ -z "$LOGCAP" ]; then
		skip "$lo_desc" "no unshare, python3 or logger to capture syslog"
		return
	fi
	lo_lines=$(modlines "$lo_out")
	lo_ok=1
	[ "$(modlines "$lo_out" | wc -l)" = 1 ] || lo_ok=""
	for lo_p in "$@"; do
		printf '%s\n' "$lo_lines" | grep -qF -e "$lo_p" || lo_ok=""
	done
	if [ -n "$lo_ok" ]; then
		ok "$lo_desc"
		printf '%s\n' "$lo_lines" | sed 's/^/#   /'
	else
		notok "$lo_desc" "wanted exactly one line above notice with each of: $*" "got:" "$(cat "$lo_out.log")"
	fi
}

# ===== A. logins of one user in flight at once =====
# 20 users, each two rounds of five logins held open together; the second
# round opens while the first one closes, so that one user's open and close
# paths meet (user group made, reused, removed). 200 open/close cycles in
# all, 100 sessions open at the peak. While a round is held, every session's
# shell and its pamdrive must sit in a group of their own under the user's,
# with both caps, as /proc/PID/cgroup and the group files say.
OBASE=$CGT/ovl/memguard
mkdir "$CGT/ovl"
policy ovl '2000:2999 memory.max=256M session.memory.max=48M'
service ovl "policy=$T/ovl.conf cgroup_root=$OBASE on_error=deny"
# The user group's memory.max, as the session's shell sees it.
UMAX='echo "u_max=$(cap_of "$(cg_self)/..")"'
# The session reports its shell and pamdrive, then blocks on the round's FIFO.
OVLSH='exec 4<"$1"; echo "pids=$$ $PPID"; echo ready; read x <&4'
memcg_of() { cg_self "$1"; }
# ovl_check USER UID ROUND: every session of the round, held open
ovl_check() {
	n=$1 uid=$2 r=$3
	: >"$MX/ovl.$n.$r.dirs"
	for k in 1 2 3 4 5; do
		o=$MX/ovl.$n.$r.$k
		set -- $(field pids "$o")
		if [ $# != 2 ]; then
			echo "$o: no pids: $(cat "$o")"
			continue
		fi
		for p in "$1" "$2"; do
			d=$(memcg_of "$p")
			case $d in
			"$OBASE/user-$uid"/session-*) ;;
			*) echo "$o: pid $p in '$d', not in a session group of user-$uid"; continue ;;
			esac
			grep -qx "$p" "$d/cgroup.procs" || echo "$o: pid $p not in $d/cgroup.procs"
			v="$(cap_of "$d") $(cap_of "${d%/*}")"
			[ "$v" = "$(M 48) $(M 256)" ] || echo "$o: $d caps (session user) are $v"
		done
		memcg_of "$1" >>"$MX/ovl.$n.$r.dirs"
	done
	c=$(sort -u "$MX/ovl.$n.$r.dirs" | wc -l)
	[ "$c" = 5 ] || echo "$n round $r: $c distinct session groups for 5 sessions: $(sort "$MX/ovl.$n.$r.dirs" | tr '\n' ' ')"
}
# ovl_drive OUT USER CMD...: a login of service ovl; the module's lines
# land in the listener's file (no per-run marker: runs overlap).
ovl_drive() {
	o=$1
	shift
	if [ -n "$LOGCAP" ]; then
		env $RUNENV timeout 60 unshare --mount --propagation private sh "$T/privdev.sh" "$T" - \
			"$DRIVE" "$T/pam.d" ovl "$@" >"$o" 2>&1
	else
		drive "$o" ovl "$@"
	fi
}
# ovl_start USER ROUND: five logins of USER; their FIFO open on fd 3
ovl_start() {
	mkfifo "$MX/ovl.$1.$2.fifo"
	exec 3<>"$MX/ovl.$1.$2.fifo"
	OPIDS=""
	for k in 1 2 3 4 5; do
		ovl_drive "$MX/ovl.$1.$2.$k" "$1" sh -c "$OVLSH" ovl "$MX/ovl.$1.$2.fifo" 3>&- 5>&- &
		OPIDS="$OPIDS $!"
	done
}
ovl_ready() {
	for k in 1 2 3 4 5; do grep -qx ready "$MX/ovl.$1.$2.$k" 2>/dev/null || return 1; done
}
# ovl_release: one line for each held session of the round on fd 3
ovl_release() { printf 'go\ngo\ngo\ngo\ngo\n' >&3; exec 3>&-; }
ovl_user() {
	n=$1 uid=$2
	ovl_start "$n" 1
	P1=$OPIDS
	wait_until 60 ovl_ready "$n" 1 || echo "$n round 1: not all five sessions got ready"
	ovl_check "$n" "$uid" 1
	exec 5>&3 3>&-
	ovl_start "$n" 2
	P2=$OPIDS
	# Round 1 closes while round 2 opens.
	printf 'go\ngo\ngo\ngo\ngo\n' >&5
	exec 5>&-
	for p in $P1; do wait "$p"; done
	wait_until 60 ovl_ready "$n" 2 || echo "$n round 2: not all five sessions got ready"
	ovl_check "$n" "$uid" 2
	ovl_release
	for p in $P2; do wait "$p"; done
}
# (light: 4 users, 40 cycles)
OUSERS=20
[ -n "$LIGHT" ] && OUSERS=4
WPIDS=""
i=1
while [ $i -le $OUSERS ]; do
	n=$(printf 'u%02d' $i)
	ovl_user "$n" $((2000 + i)) >"$MX/ovl.$n.res" 2>&1 &
	WPIDS="$WPIDS $!"
	i=$((i + 1))
done
BGPIDS="$BGPIDS $WPIDS"
for p in $WPIDS; do wait "$p"; done
probs=$(cat "$MX"/ovl.*.res)
check "same user, 5 logins at once, $OUSERS users x 2 rounds: each session in its own group under user-UID with 48M/256M, per /proc/PID/cgroup and cgroup.procs" \
	"$probs" ""
good=0 bad=""
for f in "$MX"/ovl.u*.[12].[1-5]; do
	if [ "$(field open "$f") $(field child "$f") $(field close "$f")" = "0 exit:0 0" ]; then good=$((good + 1))
	else bad="$bad $f"; fi
done
check "same user, 5 logins at once: $((OUSERS * 10)) cycles with open=0, child exit:0, close=0" "$good" $((OUSERS * 10)) \
	"$(echo $bad | awk '{print $1}')"
if [ -n "$LOGCAP" ]; then
	logger -u "$T/log.sock" "mgpam-mark-ovl"
	wait_until 10 grep -q "mgpam-mark-ovl" "$T/syslog.txt"
	check "same user, 5 logins at once: nothing logged above notice" \
		"$(grep -E '^<8[0-4]>.*pam_memguard\(ovl:' "$T/syslog.txt" | sed 's/^<8[0-4]>[^)]*): //')" ""
else
	skip "same user, 5 logins at once: nothing logged above notice" "no syslog capture"
fi
left=$(find "$OBASE" -mindepth 1 -type d 2>/dev/null | tr '\n' ' ')
check "same user, 5 logins at once: nothing left under the cgroup root afterwards" "$left" ""

# ===== B. bad input: on_error=allow lets in, deny refuses; one line each =====
# mxcase ID DESC RO_DIR ARGS CAUSE...: both modes; CAUSE: fixed texts the
# one log line must hold. allow: open=0 and the session left where it was;
# deny: open=14 (PAM_SESSION_ERR).
mxcase() {
	id=$1 desc=$2 ro=$3 args=$4
	shift 4
	for mode in allow deny; do
		service "mx-$id-$mode" "$args on_error=$mode"
		o=$MX/bad.$id.$mode
		drivelog "$o" "$ro" "mx-$id-$mode" dave sh -c "$SELFCG"
		if [ $mode = allow ]; then
			check "$desc, on_error=allow: open=0, the session stays in the caller's group" \
				"$(field open "$o") $(field selfcg "$o")" "0 $OWN" "$o"
		else
			check "$desc, on_error=deny: open=14" "$(field open "$o")" 14 "$o"
		fi
		logged_once "$desc, on_error=$mode: exactly one line, naming the cause and on_error=$mode" \
			"$o" "$@" "on_error=$mode"
	done
}
policy mxok '* memory.max=64M'
policy mxmissing '* memory.max=64M'
rm -f "$T/mxmissing.conf"
mxcase missing "missing policy" - "policy=$T/mxmissing.conf cgroup_root=$BASE" "mxmissing.conf"
mkdir "$T/mxdir.conf"
mxcase dir "unreadable policy (a directory)" - "policy=$T/mxdir.conf cgroup_root=$BASE" "mxdir.conf"
# Root reads any file; without CAP_DAC_OVERRIDE a mode 000 file is unreadable.
if command -v setpriv >/dev/null 2>&1; then
	policy mx000 '* memory.max=64M'
	chmod 000 "$T/mx000.conf"
	printf '#!/bin/sh\nexec setpriv --bounding-set=-dac_override,-dac_read_search "%s" "$@"\n' "$DRIVE" >"$MX/nodac.sh"
	chmod 755 "$MX/nodac.sh"
	MX_DRIVE=$DRIVE DRIVE=$MX/nodac.sh
	mxcase m000 "unreadable policy (mode 000, no CAP_DAC_OVERRIDE)" - "policy=$T/mx000.conf cgroup_root=$BASE" "mx000.conf" "Permission denied"
	DRIVE=$MX_DRIVE
else
	skip "unreadable policy (mode 000)" "no setpriv"
fi
policy mxww '* memory.max=64M'
chmod 666 "$T/mxww.conf"
mxcase ww "world-writable policy" - "policy=$T/mxww.conf cgroup_root=$BASE" "world-writable"
policy mxgarbage '* memory.max=banana
dave memory.max=40M'
for mode in allow deny; do
	service "mx-garbage-$mode" "policy=$T/mxgarbage.conf cgroup_root=$BASE on_error=$mode"
	o=$MX/bad.garbage.$mode
	drivelog "$o" - "mx-garbage-$mode" dave sh -c "$SELFCG; $UMAX"
	if [ $mode = allow ]; then
		check "garbage line, on_error=allow: open=0, the valid line's 40M applied" \
			"$(field open "$o") $(field u_max "$o")" "0 $(M 40)" "$o"
	else
		check "garbage line, on_error=deny: open=14" "$(field open "$o")" 14 "$o"
	fi
	logged_once "garbage line, on_error=$mode: exactly one line, naming mxgarbage.conf:1 and on_error=$mode" \
		"$o" "mxgarbage.conf:1:" "on_error=$mode"
done
MXSHM=$(mktemp -d /dev/shm/mgpammx.XXXXXX)
mxcase tmpfs "cgroup_root on tmpfs (no cgroup file system)" - "policy=$T/mxok.conf cgroup_root=$MXSHM/memguard" "not a cgroup file system"
check "cgroup_root on tmpfs: nothing made there" "$(ls -A "$MXSHM")" ""
rm -rf "$MXSHM"
mxcase nocg "cgroup_root missing" - "policy=$T/mxok.conf cgroup_root=$CGT/nonexistent/memguard" "$CGT/nonexistent/memguard" "No such file"
# A cgroup hierarchy without the memory controller: the unified (v2) one of
# this hybrid host, and a v1 one of another controller. Nothing is made
# there: detection fails before any mkdir (checked after).
UNI=/sys/fs/cgroup/unified
if [ "$(stat -f -c %T "$UNI" 2>/dev/null)" = cgroup2fs ] && ! grep -qw memory "$UNI/cgroup.controllers"; then
	mxcase v2nomem "cgroup v2 without the memory controller" - "policy=$T/mxok.conf cgroup_root=$UNI/mgpam-nomem-$$" "no cgroup memory controller at $UNI/mgpam-nomem-$$"
	check "cgroup v2 without memory: nothing made there" "$( [ -e "$UNI/mgpam-nomem-$$" ] && echo made || echo none)" none
else
	skip "cgroup v2 without the memory controller" "no $UNI without memory on this host"
fi
V1OTHER=/sys/fs/cgroup/pids
if [ "$(stat -f -c %T "$V1OTHER" 2>/dev/null)" = cgroupfs ] && [ ! -e "$V1OTHER/memory.usage_in_bytes" ]; then
	mxcase v1pids "cgroup v1 pids hierarchy (no memory controller)" - "policy=$T/mxok.conf cgroup_root=$V1OTHER/mgpam-nomem-$$" "no cgroup memory controller at $V1OTHER/mgpam-nomem-$$"
	check "cgroup v1 pids: nothing made there" "$( [ -e "$V1OTHER/mgpam-nomem-$$" ] && echo made || echo none)" none
else
	skip "cgroup v1 pids hierarchy (no memory controller)" "no v1 pids hierarchy at $V1OTHER"
fi
# Read-only: a read-only bind mount over our own cgroup, in drivelog's
# private mount namespace.
mkdir "$CGT/mxro"
mxcase ro "read-only cgroupfs" "$CGT/mxro" "policy=$T/mxok.conf cgroup_root=$CGT/mxro/memguard" "Read-only file system"
check "read-only cgroupfs: nothing made there" "$(find "$CGT/mxro" -mindepth 1 -type d | tr '\n' ' ')" ""

# ===== C. oom_score_adj at close, service=, arguments, what v1 cannot apply =====
# The caller starts at oom_score_adj=50 (raising needs no capability): the
# session gets the policy's 300, close_session gives the caller its 50 back.
printf '#!/bin/sh\necho 50 >/proc/self/oom_score_adj || exit 125\nexec "%s" "$@"\n' "$DRIVE" >"$MX/oom50.sh"
chmod 755 "$MX/oom50.sh"
policy mxoom '* memory.max=64M oom_score_adj=300'
service mx-oom "policy=$T/mxoom.conf cgroup_root=$BASE on_error=deny"
service mx-nooom "policy=$T/mxok.conf cgroup_root=$BASE on_error=deny"
MX_DRIVE=$DRIVE DRIVE=$MX/oom50.sh
drive "$MX/oom.out" mx-oom dave sh -c 'echo "childoom=$(cat /proc/self/oom_score_adj)"'
drive "$MX/nooom.out" mx-nooom dave sh -c 'echo "childoom=$(cat /proc/self/oom_score_adj)"'
DRIVE=$MX_DRIVE
check "oom_score_adj=300 from 50: 300 in the session (caller and child), 50 again after close_session in the same process" \
	"$(field open "$MX/oom.out") $(field oom_score_adj "$MX/oom.out") $(field childoom "$MX/oom.out") $(field close "$MX/oom.out") $(field oom_after "$MX/oom.out")" \
	"0 300 300 0 50" "$MX/oom.out"
check "no oom_score_adj in the policy: the caller's 50 untouched in the session and after close" \
	"$(field open "$MX/nooom.out") $(field oom_score_adj "$MX/nooom.out") $(field childoom "$MX/nooom.out") $(field oom_after "$MX/nooom.out")" \
	"0 50 50 50" "$MX/nooom.out"

# service=: a list of PAM service names; a service not in it is left alone
# before anything could fail (a missing policy, on_error=deny).
service mx-svc-yes "policy=$T/mxok.conf cgroup_root=$BASE on_error=deny service=sshd,mx-svc-yes"
service mx-svc-no "policy=$T/mxmissing.conf cgroup_root=$BASE on_error=deny service=sshd,login"
service mx-svc "policy=$T/mxmissing.conf cgroup_root=$BASE on_error=deny service=mx-svc-yes"
drivelog "$MX/svc1" - mx-svc-yes dave sh -c "$SELFCG"
case $(field selfcg "$MX/svc1") in
"$BASE"/user-1004/session-*) ok "service=sshd,mx-svc-yes: the service mx-svc-yes is placed in user-1004" ;;
*) notok "service=sshd,mx-svc-yes: the service mx-svc-yes is placed in user-1004" "$(cat "$MX/svc1")" ;;
esac
for sv in mx-svc-no mx-svc; do
	drivelog "$MX/svc.$sv" - "$sv" dave sh -c "$SELFCG"
	check "service= without $sv: open=0, no group, nothing logged (missing policy, on_error=deny)" \
		"$(field open "$MX/svc.$sv") $(field selfcg "$MX/svc.$sv") $(modlines "$MX/svc.$sv")" "0 $OWN " "$MX/svc.$sv.log"
done

# Unknown arguments: named in one line each when the session opens, and
# ignored (a typo never locks anyone out); a bad value of a known one too.
service mx-args "policy=$T/mxok.conf cgroup_root=$BASE on_error=deny bogus frobnicate=1 memory.max=1G"
INSIDE='logger -u "$1" "pam_memguard-mx-inside"'
drivelog "$MX/args" - mx-args dave sh -c "$SELFCG; $UMAX; $INSIDE" mx "$T/log.sock"
check "unknown arguments: open=0, placed, the policy's 64M applied" \
	"$(field open "$MX/args") $(field selfcg "$MX/args" | grep -c "^$BASE/user-1004/session-") $(field u_max "$MX/args")" \
	"0 1 $(M 64)" "$MX/args"
sed '/pam_memguard-mx-inside/,$d' "$MX/args.log" >"$MX/argsopen.log"
for a in bogus frobnicate=1 memory.max=1G; do
	if [ -z "$LOGCAP" ]; then
		skip "unknown argument '$a' logged" "no syslog capture"
	elif [ "$(grep -E '^<8[0-4]>' "$MX/argsopen.log" | grep -cF "unknown argument '$a'")" = 1 ]; then
		ok "unknown argument '$a': one line at open_session names it"
	else
		notok "unknown argument '$a': one line at open_session names it" "$(cat "$MX/args.log")"
	fi
done
check "unknown arguments: nothing else above notice at open_session" \
	"$(modlines "$MX/argsopen" | grep -vc "unknown argument")" 0 "$MX/args.log"
service mx-badval "policy=$T/mxmissing.conf cgroup_root=$BASE on_error=sure backend=cgroupfs,systemd phase=later"
drivelog "$MX/badval" - mx-badval dave sh -c "$INSIDE" mx "$T/log.sock"
sed '/pam_memguard-mx-inside/,$d' "$MX/badval.log" >"$MX/badvalopen.log"
check "on_error=sure: taken as allow, the missing policy lets dave in: open=0" "$(field open "$MX/badval")" 0 "$MX/badval"
for a in "on_error=sure: expected allow or deny" "backend=cgroupfs,systemd: expected systemd, cgroupfs or auto" \
	"phase=later: expected pre or post"; do
	if [ -z "$LOGCAP" ]; then
		skip "'${a%%:*}' logged" "no syslog capture"
	elif [ "$(grep -E '^<8[0-4]>' "$MX/badvalopen.log" | grep -cF "$a")" = 1 ]; then
		ok "'${a%%:*}': one line at open_session says what was expected"
	else
		notok "'${a%%:*}': one line at open_session says what was expected" "$(cat "$MX/badval.log")"
	fi
done

# What cgroup v1 has no file for: said once each, the rest applied, no
# refusal even with on_error=deny. cgroup v2 has a file for each: written,
# and nothing said.
policy mxv1 'dave memory.max=64M memory.low=16M memory.min=8M oom.group=yes
frank memory.swap.max=0'
service mx-v1 "policy=$T/mxv1.conf cgroup_root=$BASE on_error=deny"
V2CAPS=:
[ "$CG_V" = 2 ] && V2CAPS='d=$(cg_self); echo "prot=$(low_of $d/..) $(min_of $d/..)"; echo "oomgroup=$(cat $d/memory.oom.group)"; echo "u_swap=$(cat $d/../memory.swap.max)"'
drivelog "$MX/v1dave" - mx-v1 dave sh -c "$SELFCG; $UMAX; $V2CAPS"
check "v$CG_V, memory.low/min and oom.group: open=0, placed, memory.max=64M applied" \
	"$(field open "$MX/v1dave") $(field selfcg "$MX/v1dave" | grep -c "^$BASE/user-1004/session-") $(field u_max "$MX/v1dave")" \
	"0 1 $(M 64)" "$MX/v1dave"
if [ "$CG_V" = 2 ]; then
	check "v2: memory.low=16M and memory.min=8M on the user group, memory.oom.group=1 on the session group" \
		"$(field prot "$MX/v1dave") $(field oomgroup "$MX/v1dave")" "$(M 16) $(M 8) 1" "$MX/v1dave"
fi
if [ -z "$LOGCAP" ]; then
	skip "v$CG_V: the not-applied lines" "no syslog capture"
elif [ "$CG_V" = 1 ]; then
	check "v1: 'memory.low and memory.min are not applied on cgroup v1' once, 'oom.group is not applied on cgroup v1' once, nothing else" \
		"$(modlines "$MX/v1dave" | grep -cF 'memory.low and memory.min are not applied on cgroup v1') $(modlines "$MX/v1dave" | grep -cF 'oom.group is not applied on cgroup v1') $(modlines "$MX/v1dave" | wc -l)" \
		"1 1 2" "$MX/v1dave.log"
else
	check "v2: memory.low/min and oom.group applied, nothing logged above notice" "$(modlines "$MX/v1dave")" "" "$MX/v1dave.log"
fi
U6=$BASE/user-1006
drivelog "$MX/v1frank" - mx-v1 frank sh -c "$SELFCG; $UMAX; $V2CAPS"
check "v$CG_V, memory.swap.max without memory.max: open=0, placed, no limit written" \
	"$(field open "$MX/v1frank") $(field selfcg "$MX/v1frank" | grep -c "^$U6/session-") $(field u_max "$MX/v1frank")" \
	"0 1 $(cap_of "$CGT")" "$MX/v1frank"
if [ "$CG_V" = 2 ]; then
	check "v2: memory.swap.max=0 written on its own" "$(field u_swap "$MX/v1frank")" 0 "$MX/v1frank"
fi
if [ -z "$LOGCAP" ]; then
	skip "v$CG_V: the swap.max line" "no syslog capture"
elif [ "$CG_V" = 1 ]; then
	check "v1: 'memory.swap.max without memory.max is not applied on cgroup v1' once, nothing else" \
		"$(modlines "$MX/v1frank" | grep -cF 'memory.swap.max without memory.max is not applied on cgroup v1') $(modlines "$MX/v1frank" | wc -l)" \
		"1 1" "$MX/v1frank.log"
else
	check "v2: memory.swap.max alone applied, nothing logged above notice" "$(modlines "$MX/v1frank")" "" "$MX/v1frank.log"
fi

san=$(grep -l -e 'AddressSanitizer' -e 'LeakSanitizer' -e 'runtime error:' -e 'PAM unable to dlopen' "$MX"/ovl.u*.[12].[1-5] "$MX"/bad.*.allow "$MX"/bad.*.deny "$MX"/*.out "$MX"/svc1 "$MX"/svc.mx-svc* "$MX"/args "$MX"/badval "$MX"/v1dave "$MX"/v1frank 2>/dev/null)
check "matrix: no sanitizer report or module load error in any run" "$san" "" "$(echo $san | awk '{print $1}')"

if [ -n "$MATRIX_ALONE" ]; then
	echo "1..$N"
	[ "$FAILS" -eq 0 ] && exit 0 || exit 1
fi
