# memguardctl oom-report: sourced by tests/cli/run.sh (its ok/notok/run/mg
# helpers, $T, $CTL and $BUILD). The fixtures are the parser's (tests/unit/
# fixtures/oom); at the end, as root on the cgroup v1 memory controller, a
# real OOM kill inside a session of the module, read back from /dev/kmsg.

FX=$(cd "$(dirname "$CTL")/../.." 2>/dev/null && pwd)/tests/unit/fixtures/oom
[ -d "$FX" ] || FX=$(pwd)/tests/unit/fixtures/oom
OR="env TZ=UTC $CTL --meminfo $MI --login-defs $LD"
# orun ARGS...: oom-report with the fake meminfo and UTC
orun() { run env TZ=UTC "$CTL" --meminfo "$MI" --login-defs "$LD" "$@"; }
# count of JSON objects (one per line) on stdout that satisfy a python test
jcount() { python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if eval(sys.argv[2]): n += 1
print(n)' "$T/out" "$1" 2>"$T/jerr" || echo "bad-json: $(cat "$T/jerr")"; }

########## oom-report: usage
orun oom-report --since bogus "$FX/fixture-08-5.2-memcg-v1-full.txt"
expect "oom-report --since bogus exits 2" 2 err "--since bogus: expected a time" "Try 'memguardctl --help'"
orun oom-report --until 2026-13-01 "$FX/fixture-08-5.2-memcg-v1-full.txt"
expect "oom-report --until with a bad date exits 2" 2 err "--until 2026-13-01" "Try 'memguardctl --help'"
orun oom-report --brief --json "$FX/fixture-08-5.2-memcg-v1-full.txt"
expect "oom-report --brief --json exits 2" 2 err "--brief and --json do not go together"
orun --since today check
expect "--since with check exits 2" 2 err "--since, --until, --user and --brief go with oom-report, not check"
orun oom-report --user no-such-user-mg "$FX/fixture-08-5.2-memcg-v1-full.txt"
expect "oom-report --user of an unknown name exits 2" 2 err "--user no-such-user-mg: no such user"
run "$CTL" --help
expect "--help lists oom-report and its options" 0 out "oom-report [FILE...]" "--since TIME, --until TIME" "--brief"

########## oom-report: every fixture, its events and exit status
# file:events (kernel, userspace and close-session records with kills)
for fe in 01-3.10-rhel7-global-syslog:1 02-3.10-rhel7.3-global-numa:1 03-3.10-rhel7.2-memcg-v1-kubepods:2 \
	04-3.10-rhel7.9-memcg-v1-uid:7 05-4.14-memcg-header:1 06-4.18-rhel8.1-global-header:1 \
	07-4.19-memcg-v1-header-and-tail:2 08-5.2-memcg-v1-full:1 09-5.4-memcg-v1-killed-reaper:2 \
	10-5.4-memcg-v1-parent-slice:2 11-5.13-global-sysrq:1 12-5.15-memcg-v2-lxc:1 13-6.1-global-user-session:1 \
	14-6.7-memcg-v2-user-slice:2 15-6.12-global-rss_anon:1 16-6.17-memcg-no-killable:2 \
	17-userspace-systemd-oomd:3 18-userspace-earlyoom:6 20-handwritten-pam-memguard-close:3 \
	21-handwritten-interleaved-oom-group:2; do
	f=$FX/fixture-${fe%:*}.txt want=${fe##*:}
	orun oom-report --brief "$f"
	got=$(wc -l <"$T/out" | tr -d ' ')
	if [ "$RC" = 0 ] && [ "$got" = "$want" ]; then ok "oom-report --brief fixture ${fe%%-*}: $want events, exit 0"
	else notok "oom-report --brief fixture ${fe%%-*}: $want events, exit 0" "got $got lines, exit $RC" "$(show_io)"; fi
	orun oom-report --json "$f"
	got=$(jcount 'True')
	[ "$got" = "$want" ] && ok "oom-report --json fixture ${fe%%-*}: $want objects, valid JSON" ||
		notok "oom-report --json fixture ${fe%%-*}: $want objects, valid JSON" "got: $got" "$(show_io)"
done
orun oom-report "$FX/fixture-19-cgroup2-memory-events.txt"
expect "a file without OOM events: exit 1" 1 err "no OOM events found"

########## oom-report: what an event says
orun oom-report "$FX/fixture-13-6.1-global-user-session.txt"
expect "global OOM: victim, constraint, top 10 rows and the rest counted" 0 out \
	"constraint: global" "victim:     doxygen (pid 473206, uid 504" "reaped by oom_reaper" "+102 more" \
	"largest consumer: uid 504, 89 tasks, 11.0 GiB; victim doxygen is the largest single task"
rows=$(sed -n '/PID    UID/,/+102 more/p' "$T/out" | grep -c '^ *[0-9]')
[ "$rows" = 10 ] && ok "the ranked table is cut to 10 rows" || notok "the ranked table is cut to 10 rows" "got $rows" "$(show_io)"
first=$(sed -n '/PID    UID/{n;p;}' "$T/out" | awk '{print $1}')
[ "$first" = 473206 ] && ok "the ranked table starts with the largest RSS" || notok "the ranked table starts with the largest RSS" "first row pid $first"
orun oom-report "$FX/fixture-21-handwritten-interleaved-oom-group.txt"
expect "global OOM of a big service: the consumer named beside the victim" 0 out \
	"largest consumer: uid 1002, 6 tasks, 1.8 GiB; victim postgres is the largest single task; the victim's uid 113 is not the largest consumer" \
	"oom.group:  every task of /memguard/user-1003/session-8000-555 killed: 2 besides the victim: sshd (8000), bash (8001)"
orun oom-report --json "$FX/fixture-13-6.1-global-user-session.txt"
got=$(jcount 'e["victim"]["pid"] == 473206 and e["constraint"] == "global" and e["per_uid"][0]["uid"] == 504 and e["victim_is_largest_task"] is True and e["tasks_count"] == 112 and len(e["tasks"]) == 112 and e["tasks"][0]["rss_bytes"] == 2308581 * 4096 and e["victim"]["reaper"] == "reaped" and e["missing"] == []')
[ "$got" = 1 ] && ok "--json: victim, constraint, per-uid sums, ranked rows, reaper" || notok "--json: victim, constraint, per-uid sums, ranked rows, reaper" "got $got" "$(show_io)"
orun oom-report --json "$FX/fixture-04-3.10-rhel7.9-memcg-v1-uid.txt"
got=$(jcount 'e["missing"] == ["header"] and e["trigger"] is None and e["victim"]["pid"] == 42424')
[ "$got" = 1 ] && ok "--json: a report without its header says so, trigger null" || notok "--json: a report without its header says so" "got $got" "$(show_io)"
got=$(jcount 'e["missing"] == ["header", "task_table", "victim"] and e["oom_memcg"] == "/13"')
[ "$got" = 1 ] && ok "--json: a report cut after its table header names three missing parts" || notok "--json: cut report" "got $got"
orun oom-report - <"$FX/fixture-08-5.2-memcg-v1-full.txt"
expect "FILE - reads stdin" 0 out "(- lines 2-48" "memcg: /leaker hit its limit (limit 512.0 MiB, usage 512.0 MiB)"
orun oom-report "$FX/fixture-08-5.2-memcg-v1-full.txt" "$T/no-such-file"
expect "an unreadable file: said, exit 1, the other file still reported" 1 err "cannot read $T/no-such-file"
grep -q "leaker" "$T/out" && ok "the readable file's event is shown" || notok "the readable file's event is shown" "$(show_io)"

########## oom-report: --since, --until, --user
cat >"$T/iso.log" <<'EOF'
2025-01-01T10:00:00+0000 h kernel: Out of memory: Killed process 11 (a) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:4kB oom_score_adj:0
2025-01-02T10:00:00+0000 h kernel: Out of memory: Killed process 22 (b) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:1002 pgtables:4kB oom_score_adj:0
2025-01-03T10:00:00+0100 h kernel: Out of memory: Killed process 33 (c) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:1002 pgtables:4kB oom_score_adj:0
EOF
orun oom-report --brief --since 2025-01-02 "$T/iso.log"
expect "--since a date" 0 out "2025-01-02 10:00:00  kernel global: killed b (pid 22" "2025-01-03 09:00:00  kernel global: killed c (pid 33"
expect_not "--since leaves out the earlier event" out "killed a (pid 11"
# times are shown absolute, in local time (a POSIX zone one hour east)
run env TZ=MGT-1 "$CTL" --meminfo "$MI" --login-defs "$LD" oom-report --brief --since 2025-01-02 "$T/iso.log"
expect "times shown in local time (TZ one hour east)" 0 out "2025-01-02 11:00:00  kernel global: killed b (pid 22"
run env TZ=MGT-1 "$CTL" --meminfo "$MI" --login-defs "$LD" oom-report --json --since 2025-01-02 "$T/iso.log"
expect "--json: the local time with its offset" 0 out '"time":"2025-01-02T11:00:00+01:00"'
orun oom-report --brief --since "2025-01-01 09:00" --until "2025-01-02T12:00:00Z" "$T/iso.log"
[ "$(wc -l <"$T/out")" = 2 ] && ok "--since and --until together: 2 of 3" || notok "--since and --until together: 2 of 3" "$(show_io)"
orun oom-report --brief --since -1h "$T/iso.log"
expect "--since -1h: none left, exit 1" 1 err "no OOM events found"
orun oom-report --brief --since 2020-01-01 "$FX/fixture-08-5.2-memcg-v1-full.txt"
expect "events without a time are left out by a time filter, and that is said" 1 err "1 event without a time left out by --since/--until"
orun oom-report --brief --user 1002 "$T/iso.log"
[ "$RC" = 0 ] && [ "$(wc -l <"$T/out")" = 2 ] && ok "--user UID: the user's victims" || notok "--user UID: the user's victims" "$(show_io)"
orun oom-report --brief --user 1002 "$FX/fixture-21-handwritten-interleaved-oom-group.txt"
expect "--user: a global OOM whose largest consumer is the user" 0 out "killed postgres (pid 900"
expect_not "--user: another user's memcg kill left out" out "python3"
orun oom-report --user 1001 "$FX/fixture-20-handwritten-pam-memguard-close.txt"
expect "--user: the user's memcg kill" 0 out "victim:     hog (pid 4243, uid 1001"
expect "--user: the session's close record beside the kernel's event, linked by group" 0 out \
	"pam_memguard: session of alice (uid 1001) closed after OOM kills: 1" \
	"kernel:     1 OOM event of this group above, the last at "
expect_not "--user: a logout without kills is no event" out "session-4300-123999"
expect_not "--user: another user's record is left out" out "bob"

########## oom-report: the policy line behind a memguard cap
U=$(id -un 65534 2>/dev/null)
if [ -n "$U" ]; then
	printf '*  memory.max=1G\n%s  memory.max=96M session.memory.max=64M\n' "$U" >"$T/oomp.conf"
	chmod 644 "$T/oomp.conf"
	sed "s/user-1001/user-65534/g; s/UID:1001/UID:65534/; s/uid=1001/uid=65534/" \
		"$FX/fixture-20-handwritten-pam-memguard-close.txt" >"$T/nobody.log"
	orun --policy "$T/oomp.conf" oom-report "$T/nobody.log"
	expect "memcg kill in a memguard session: user, session and the rule behind the cap" 0 out \
		"group:      user $U (uid 65534), session session-4200-123456 (memguard's tree)" \
		"cap:        session.memory.max=64M set by $T/oomp.conf:2 ('$U')"
	sed 's/session-4200-123456/x/g; s#/memguard/user-65534/x#/memguard/user-65534#g' "$T/nobody.log" >"$T/nobody-u.log"
	orun --policy "$T/oomp.conf" oom-report --json "$T/nobody-u.log"
	got=$(jcount 'e["type"] == "kernel" and e["memguard_group"]["level"] == "user" and e["cap_rule"]["key"] == "memory.max" and e["cap_rule"]["value"] == "96M" and e["cap_rule"]["line"] == 2')
	[ "$got" = 1 ] && ok "--json: a user group's cap: memory.max from line 2" || notok "--json: a user group's cap" "got $got" "$(show_io)"
else
	ok "memcg kill in a memguard session: the rule behind the cap # SKIP no user with uid 65534"
fi

########## oom-report: bad input
printf '[1.0] Out of memory: Killed process 5 (\033[31mx\302\233) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0\n' >"$T/esc.log"
orun oom-report "$T/esc.log"
expect "a name from the log with control characters is shown escaped" 0 out 'victim:     \x1b[31mx\u009b (pid 5'
if LC_ALL=C grep -q "$(printf '\033')" "$T/out"; then notok "no raw escape byte on stdout" "$(show_io | cat -v)"; else ok "no raw escape byte on stdout"; fi
orun oom-report --json "$T/esc.log"
got=$(jcount 'e["victim"]["comm"] == "\x1b[31mx\x9b"')
[ "$got" = 1 ] && ok "--json: the same name escaped as JSON, intact" || notok "--json: the same name escaped as JSON" "got $got" "$(show_io | cat -v)"
head -c 1000000 /dev/urandom >"$T/random.bin"
orun oom-report "$T/random.bin"
[ "$RC" = 1 ] && [ ! -s "$T/out" ] && ok "1 MB of random bytes: no event, exit 1, nothing on stdout" ||
	notok "1 MB of random bytes: no event, exit 1" "$(show_io | head -20)"
{ head -c 200000 /dev/zero | tr '\0' 'x'; echo; cat "$FX/fixture-08-5.2-memcg-v1-full.txt"; } >"$T/longline.log"
orun oom-report --brief "$T/longline.log"
expect "a 200 kB line is cut, the report after it is read" 0 out "killed leaker (pid 23793"
# truncated reports: every prefix of a fixture
f=$FX/fixture-12-5.15-memcg-v2-lxc.txt bad=
n=$(wc -l <"$f")
i=1
while [ $i -le "$n" ]; do
	head -n $i "$f" >"$T/prefix.log"
	$OR oom-report --json "$T/prefix.log" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -le 1 ] || bad="$bad $i:rc=$rc"
	[ $rc = 1 ] || python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/out" 2>/dev/null || bad="$bad $i:json"
	i=$((i + 7))
done
[ -z "$bad" ] && ok "every 7th prefix of a report: exit 0 or 1, valid JSON" || notok "prefixes of a report" "$bad"

########## oom-report: the kernel log
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/dmesg_restrict 2>/dev/null)" = 1 ]; then
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" oom-report
	expect "/dev/kmsg unreadable: a clear error, exit 1" 1 err "cannot read the kernel log /dev/kmsg:" "CAP_SYSLOG"
else
	ok "/dev/kmsg unreadable: a clear error # SKIP needs root, setpriv and kernel.dmesg_restrict=1"
fi
if [ -r /dev/kmsg ] && [ "$(id -u)" = 0 ]; then
	run timeout 20 "$CTL" oom-report --brief
	[ "$RC" -le 1 ] && ! grep -q "cannot read" "$T/err" && ok "the kernel log by default: read to its end without waiting (exit $RC)" ||
		notok "the kernel log by default: read to its end without waiting" "$(show_io | tail -5)"
else
	ok "the kernel log by default # SKIP /dev/kmsg is not readable here"
fi

. "$(dirname "$0")/oom-kill.sh"
