# A real OOM kill on this machine's cgroup v1 memory controller inside a
# session of pam_memguard (a PAM stack driven by pamdrive, as the PAM
# stage does), then memguardctl oom-report over /dev/kmsg: the victim's
# pid and uid (pamdrive runs the session's command as root), its session
# group, the group's user and the policy line of the cap
# must be what the test set up. Sourced by tests/cli/oom-report.sh.
#
# The kernel rate-limits the report's header, table and summary (10 per
# 5 s); the kill line is never dropped. So the victim's pid, name and uid
# are always asserted; the group, session and cap only when the summary
# line made it to the log, and a skip says so otherwise.

oom_kill_test() {
	local top so drive hog nssw memrel own cgt base t0 since sd hogpid
	top=$(cd "$(dirname "$CTL")" && pwd)
	case $top in */build/san) top=${top%/build/san} ;; */build) top=${top%/build} ;; *) top=$(pwd) ;; esac
	so=$BUILD/pam_memguard.so drive=$BUILD/tests/pam/pamdrive hog=$BUILD/tests/tools/hog
	nssw=$(for d in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib; do
		[ -e "$d/libnss_wrapper.so" ] && echo "$d/libnss_wrapper.so" && break; done)
	memrel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
	own=/sys/fs/cgroup/memory$memrel
	if [ "$(id -u)" != 0 ]; then skip_kill "needs root (cgroups, PAM, /dev/kmsg)"; return; fi
	if [ -z "$memrel" ] || [ ! -f "$own/memory.limit_in_bytes" ]; then skip_kill "no cgroup v1 memory controller"; return; fi
	if [ -z "$nssw" ] || [ ! -r /dev/kmsg ]; then skip_kill "no libnss_wrapper or /dev/kmsg not readable"; return; fi
	for f in "$so" "$drive" "$hog"; do
		[ -x "$f" ] || [ -f "$f" ] || { skip_kill "$f not built (make $BUILD/tests/pam/pamdrive $BUILD/tests/tools/hog)"; return; }
	done

	cgt=$own/mgoomrep-$$
	base=$cgt/memguard
	mkdir "$cgt" || { notok "real OOM kill: cannot create $cgt"; return; }
	mkdir -p "$T/kill/pam.d"
	printf 'root:x:0:0:root:/root:/bin/sh\nmgoomu:x:1990:1990::/tmp:/bin/sh\n' >"$T/kill/passwd"
	printf 'root:x:0:\nmgoomu:x:1990:\n' >"$T/kill/group"
	printf '*       memory.max=1G\nmgoomu  memory.max=256M session.memory.max=48M memory.swap.max=0\n' >"$T/kill/p.conf"
	chmod 644 "$T/kill/p.conf"
	echo "session required $so policy=$T/kill/p.conf cgroup_root=$base on_error=deny" >"$T/kill/pam.d/mgoom"
	local env="LD_PRELOAD=$nssw NSS_WRAPPER_PASSWD=$T/kill/passwd NSS_WRAPPER_GROUP=$T/kill/group"
	[ "${SANITIZE:-}" = 1 ] && env="$env ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0"

	t0=$(date +%s)
	since=$(date -u -d "@$((t0 - 2))" +%Y-%m-%dT%H:%M:%S+0000)
	env $env timeout 60 "$drive" "$T/kill/pam.d" mgoom mgoomu sh -c \
		'"$1" 200 >/dev/null & p=$!; echo "hogpid=$p"; wait $p; echo "hogrc=$?"' sh "$hog" >"$T/kill/drive.out" 2>&1
	hogpid=$(sed -n 's/^hogpid=//p' "$T/kill/drive.out")
	sd=$(sed -n 's/^cgroup=[0-9]*:\([^:]*,\)\{0,1\}memory\(,[^:]*\)\{0,1\}://p' "$T/kill/drive.out" | head -n 1)
	if [ "$(sed -n 's/^hogrc=//p' "$T/kill/drive.out")" != 137 ] || [ -z "$hogpid" ]; then
		notok "real OOM kill: hog 200 MiB under a 48M session cap is SIGKILLed" "$(cat "$T/kill/drive.out")"
		oom_kill_cleanup "$cgt" "$own"
		return
	fi
	ok "real OOM kill: hog (pid $hogpid) under a 48M session cap is SIGKILLed (137)"

	# The kill line reaches /dev/kmsg with the kill; wait for it anyway.
	local end=$(( $(date +%s) + 10 ))
	while ! env $env TZ=UTC "$CTL" --policy "$T/kill/p.conf" --cgroup-root "$base" oom-report --json --since "$since" \
		>"$T/out" 2>"$T/err" || ! grep -q "\"pid\":$hogpid," "$T/out"; do
		[ "$(date +%s)" -ge $end ] && break
		sleep 0.2
	done
	RC=$?
	python3 - "$T/out" "$hogpid" "$sd" "$T/kill/p.conf" >"$T/kill/verdict" 2>&1 <<'EOF'
import json, sys
path, pid, sd, conf = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
evs = [json.loads(l) for l in open(path)]
mine = [e for e in evs if e.get("type") == "kernel" and e.get("victim") and e["victim"]["pid"] == pid]
if len(mine) != 1:
    print("victim: %d events with victim pid %d among %d" % (len(mine), pid, len(evs))); sys.exit(1)
e = mine[0]
v = e["victim"]
# pamdrive runs the session's command as root: the uid is 0, the group is mgoomu's
if v["comm"] != "hog" or v["uid"] != 0:
    print("victim: %r" % v); sys.exit(1)
print("victim ok")
if e["constraint"] != "memcg":
    print("constraint: %r" % e["constraint"]); sys.exit(1)
print("constraint ok (from the %s)" % e["constraint_from"])
if e["oom_memcg"] is None:
    print("summary missing: %r" % e["missing"]); sys.exit(0)
g = e["memguard_group"]
want_session = sd.rsplit("/", 1)[-1]
if e["oom_memcg"] != sd or e["task_memcg"] != sd:
    print("group: oom_memcg %r task_memcg %r, the session was %r" % (e["oom_memcg"], e["task_memcg"], sd)); sys.exit(1)
if not g or g["level"] != "session" or g["uid"] != 1990 or g["user"] != "mgoomu" or g["session"] != want_session:
    print("memguard group: %r" % g); sys.exit(1)
r = e["cap_rule"]
if not r or r["key"] != "session.memory.max" or r["value"] != "48M" or r["file"] != conf or r["line"] != 2:
    print("cap rule: %r" % r); sys.exit(1)
print("group ok")
lim = e["memcg_limit_bytes"]
if lim is not None and lim != 48 << 20:
    print("memcg limit %r" % lim); sys.exit(1)
print("limit %s" % ("ok" if lim else "line not in the log"))
EOF
	local verdict=$?
	if [ $verdict != 0 ]; then
		notok "oom-report on /dev/kmsg: the victim, the session and the cap of the real kill" "$(cat "$T/kill/verdict")" "$(show_io | tail -20)"
	elif grep -q '^summary missing' "$T/kill/verdict"; then
		ok "oom-report on /dev/kmsg: victim pid $hogpid, hog, uid 0, memcg"
		ok "oom-report on /dev/kmsg: session group, user and cap rule # SKIP the kernel rate-limited the summary line ($(grep '^summary' "$T/kill/verdict"))"
	else
		ok "oom-report on /dev/kmsg: victim pid $hogpid, hog, uid 0, memcg"
		ok "oom-report on /dev/kmsg: session $(basename "$sd") of mgoomu, cap session.memory.max=48M from p.conf:2 ($(grep '^limit' "$T/kill/verdict"))"
	fi
	# The same kill in dmesg --time-format iso (no host, no program; the
	# group's "memory: usage" line must stay the kernel's), by --since.
	if dmesg --time-format iso >"$T/kill/dmesg-iso.log" 2>/dev/null; then
		env $env TZ=UTC "$CTL" --policy "$T/kill/p.conf" --cgroup-root "$base" oom-report --json --since "$since" \
			"$T/kill/dmesg-iso.log" >"$T/out" 2>"$T/err"
		if python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
e = [e for e in evs if e["type"] == "kernel" and e["victim"] and e["victim"]["pid"] == int(sys.argv[2])]
ok = len(e) == 1 and e[0]["time"] is not None and e[0]["constraint"] == "memcg" and e[0]["victim"]["comm"] == "hog"
# the header part (usage line, summary) may be rate-limited; when it is there it must be read
ok = ok and (e[0]["oom_memcg"] is None or (e[0]["oom_memcg"] == sys.argv[3] and e[0]["memcg_usage_bytes"] is not None))
sys.exit(not ok)' "$T/out" "$hogpid" "$sd"; then
			ok "oom-report of dmesg --time-format iso, --since: the kill, its time, group and usage line"
		else notok "oom-report of dmesg --time-format iso: the kill" "$(show_io | tail -20)"; fi
	else
		ok "oom-report of dmesg --time-format iso # SKIP dmesg --time-format iso failed"
	fi
	env $env TZ=UTC "$CTL" --policy "$T/kill/p.conf" --cgroup-root "$base" oom-report --since "$since" --user mgoomu >"$T/out" 2>"$T/err"
	if [ $? = 0 ] && grep -q "victim:     hog (pid $hogpid, uid 0" "$T/out" &&
		grep -q "group:      user mgoomu (uid 1990), session $(basename "$sd") (memguard's tree)" "$T/out"; then
		ok "oom-report --user mgoomu: the kill in mgoomu's session, in text"
	else notok "oom-report --user mgoomu: the kill, in text" "$(show_io | tail -20)"; fi
	oom_kill_cleanup "$cgt" "$own"
}

skip_kill() { ok "real OOM kill in a module session, read from /dev/kmsg # SKIP $1"; }

oom_kill_cleanup() {
	local d p
	for d in $(find "$1" -depth -type d 2>/dev/null); do
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
			echo "$p" >"$2/cgroup.procs" 2>/dev/null
		done
		rmdir "$d" 2>/dev/null
	done
}

oom_kill_test
