#!/bin/bash
# memguard-guest: systemd
# The live operations commands against systemd + logind as PID 1 on
# cgroup v2, while a `su -l` session made through the systemd backend is
# open: status's new figures are the kernel's files (memory.peak, the
# limit in force over the scope, memory.events, memory.pressure, logind's
# Leader), the configuration is taken from the pam.d line, metrics parse
# with a real Prometheus parser, doctor is healthy on the documented stack
# and reports the module after pam_systemd as an error, top shows the row.
. "$MEMGUARD_TOP/tests/guest/lib/systemd-case.sh"
ctl_setup liveops

useradd -u 2801 -m -s /bin/bash mglo || fail "useradd"
SYNC=/tmp/mg-liveops-sync
mkdir -p -m 1777 $SYNC
POLICY=/etc/security/memguard-liveops.conf
write_stack su-l "on_error=deny"
policy '*    memory.max=300M memory.high=250M memory.swap.max=0 session.memory.max=64M'
# jq_py EXPR: EXPR over the JSON in $OUT (d)
jq_py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$OUT" "$1"; }

login a mglo 'head -c 20000000 /dev/zero | tail -c 1 >/dev/null'
SCOPE_CG=$CG
SLICE_CG=$(prop user-2801.slice ControlGroup)

# --- status: no --policy, no --backend: the su-l line says it all ---
"$CTL" --json status mglo >"$OUT" 2>"$OUT.err"
check "status --json mglo (configuration from pam.d): exit status" "$?" 0
G='{g["kind"]: g for g in d["users"][0]["groups"]}'
check "status: the configuration comes from the su-l line" "$(jq_py 'd["module_config"]["from"]')" "su-l (/etc/pam.d/su-l:6)"
check "status: the user slice's limit in force is its memory.max, set by itself" \
	"$(jq_py "($G['user']['effective_limit']['bytes'], $G['user']['effective_limit']['set_by'])")" \
	"($(cat /sys/fs/cgroup$SLICE_CG/memory.max), '$SLICE_CG')"
check "status: the scope's limit in force is its own 64M" "$(jq_py "$G['session']['effective_limit']['bytes']")" "$((64 * M))"
peak_file=$(cat /sys/fs/cgroup$SCOPE_CG/memory.peak)
check "status: the scope's peak is memory.peak (within 1M)" \
	"$(jq_py "abs($G['session']['memory_peak'] - $peak_file) < 2**20")" True
check "status: the scope's events are memory.events'" \
	"$(jq_py "($G['session']['events']['high'], $G['session']['events']['max'], $G['session']['events']['oom'])")" \
	"($(awk '$1 == "high" {h = $2} $1 == "max" {m = $2} $1 == "oom" {o = $2} END {print h ", " m ", " o}' /sys/fs/cgroup$SCOPE_CG/memory.events))"
check "status: memory.pressure read (v2): some and full" \
	"$(jq_py "sorted($G['session']['pressure'].keys())")" "['full', 'some']"
check "status: the session's leader is logind's (su), alive; login time within 10 minutes" \
	"$(jq_py "($G['session']['leader']['pid'], $G['session']['leader']['alive'], abs($G['session']['login_time'] - $(date +%s)) < 600)")" \
	"($(loginctl show-session "$(loginctl show-user mglo -P Sessions | awk '{print $1}')" -P Leader), True, True)"
check "status: the host's overcommit mode is /proc's" "$(jq_py 'd["host"]["overcommit_memory"]')" "$(cat /proc/sys/vm/overcommit_memory)"
info "ok: status's figures are the kernel's files and logind's"

# --- metrics: a real Prometheus text parser ---
"$CTL" metrics >"$OUT" 2>"$OUT.err"
check "metrics: exit status" "$?" 0
if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	got=$(/usr/bin/python3 -c 'import sys
from prometheus_client.parser import text_string_to_metric_families
v = {}
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in f.samples:
        if s.labels.get("user") == "mglo":
            v[s.name] = s.value
print(int(v["memguard_user_memory_max_bytes"]), v["memguard_user_memory_usage_bytes"] > 0, "memguard_user_pressure_memory_waiting_seconds_total" in v)' "$OUT")
	check "metrics parse: mglo's cap 300M, a usage, pressure counters" "$got" "$((300 * M)) True True"
else
	info "no python3-prometheus-client in the guest: the parse is the host's PAM stage's"
fi

# --- doctor: the documented stack is healthy, the module after pam_systemd is not ---
PD=$TMPDIR/liveops-pamd
mkdir -p $PD
cp /etc/pam.d/su-l $PD/su-l
"$CTL" --pam-dir $PD doctor >"$OUT" 2>"$OUT.err"
check "doctor on the documented systemd stack: exit status (0 healthy)" "$?" 0
grep -q '^ok       systemd            systemd manages the cgroups; logins use the systemd backend' "$OUT" ||
	fail "doctor does not say systemd manages the cgroups"
sed -e '/pam_systemd/d' -e "s|^session  required   $MOD backend=systemd|session  optional   pam_systemd.so\n&|" /etc/pam.d/su-l >$PD/su-l
"$CTL" --pam-dir $PD doctor >"$OUT" 2>"$OUT.err"
check "doctor with pam_memguard after pam_systemd: exit status (3 errors)" "$?" 3
grep -q '^error    pam.order .*in su-l pam_memguard.so comes after pam_systemd.so: logind has made the session' "$OUT" ||
	fail "doctor does not report the module after pam_systemd as an error"
info "ok: doctor healthy on the documented stack, an error for the wrong order"

# --- top: the plain table without a terminal ---
"$CTL" top --iterations 1 >"$OUT" 2>"$OUT.err"
check "top --iterations 1: exit status" "$?" 0
grep -qE '^mglo +2801 .* 300M ' "$OUT" || fail "top shows no row for mglo with its 300M limit"

logout a
check "mglo's su exit status" "$RC" 0
exit 0
