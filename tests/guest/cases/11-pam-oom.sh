#!/bin/bash
# A hog inside a session is OOM-killed within the session's group. With
# oom.group=yes the whole session dies (the shell that started the hog
# never prints its next line); with oom.group=no only the hog dies. Another
# user's session that runs at the same time is untouched.
. "$MEMGUARD_TOP/tests/guest/lib/pam-session.sh"
mg_unshare "$@"
mg_setup '*   memory.max=400M memory.swap.max=0 session.memory.max=64M
mga oom.group=yes
mgb oom.group=no'

oom_lines() { dmesg | grep -a 'oom_memcg=' | sed 's/.*\(oom_memcg=[^,]*\).*\(task=[^,]*\).*/\1 \2/'; }
dmesg_before=$(oom_lines | wc -l)

# The bystander: mgc, logged in the whole time, holding a little memory.
mg_su_bg c mgc "up \"ppid \$PPID\"; $HOG 8 >/dev/null; up \"hogged \$?\"; hold"
mg_expect c 60 '^ppid [0-9]+$'
supid_c=${MG_LINE#ppid }
mg_expect c 60 '^hogged 0$'
S_c=$CGROOT$(mg_cgroup_of "$supid_c")
U_c=$BASE/user-$MG_UID_C
[ "$S_c" != "$CGROOT" ] && [ -d "$S_c" ] || fail "mgc's su $supid_c is in no session group"
procs_c=$(sort "$S_c/cgroup.procs" | tr '\n' ' ')
ev_sc=$(mg_events "$S_c")
ev_uc=$(mg_events "$U_c")
info "bystander mgc: $S_c procs [$procs_c] events: $ev_sc"

# oom.group=no: the hog dies, the shell goes on and reports.
mg_su_bg b mgb "up \"ppid \$PPID\"; $HOG 200; up \"after-hog \$?\"; hold"
mg_expect b 60 '^ppid [0-9]+$'
supid_b=${MG_LINE#ppid }
S_b=$CGROOT$(mg_cgroup_of "$supid_b")
[ "$(cat "$S_b/memory.oom.group")" = 0 ] || fail "$S_b/memory.oom.group is $(cat "$S_b/memory.oom.group") for oom.group=no"
mg_expect b 90 '^after-hog [0-9]+$'
[ "$MG_LINE" = "after-hog 137" ] || fail "mgb: hog ended with '${MG_LINE#after-hog }', expected 137 (SIGKILL)"
info "ok: oom.group=no: the hog was SIGKILLed (137) and the shell went on"
k=$(mg_event "$S_b" oom_kill)
[ "${k:-0}" -ge 1 ] || fail "$S_b memory.events oom_kill is '${k}', expected >= 1: $(mg_events "$S_b")"
gk=$(mg_event "$S_b" oom_group_kill)
[ "${gk:-0}" = 0 ] || fail "$S_b oom_group_kill is $gk with oom.group=no"
kill -0 "$supid_b" 2>/dev/null || fail "mgb's su $supid_b died"
grep -qx "$supid_b" "$S_b/cgroup.procs" || fail "mgb's su $supid_b left $S_b"
info "ok: $S_b: $(mg_events "$S_b")"
mg_go b
mg_wait b
[ "$MG_RC" = 0 ] || { cat "$W/b.out"; fail "mgb's su exited $MG_RC, expected 0"; }
[ -e "$S_b" ] && fail "$S_b left after mgb's logout"

# oom.group=yes: the hog takes the whole session with it, su included.
mg_su_bg a mga "up \"ppid \$PPID\"; $HOG 200; up \"after-hog \$?\"; hold"
mg_expect a 60 '^ppid [0-9]+$'
supid_a=${MG_LINE#ppid }
S_a=$CGROOT$(mg_cgroup_of "$supid_a")
[ "$(cat "$S_a/memory.oom.group")" = 1 ] || fail "$S_a/memory.oom.group is $(cat "$S_a/memory.oom.group") for oom.group=yes"
mg_wait a
grep -q '^after-hog' "$W/a.out" && fail "mga's shell went on after the hog: oom.group=yes did not kill the session"
read -t 0.2 -u "$MG_UPFD_a" line && fail "mga's shell said '$line' after the hog"
[ "$MG_RC" = 137 ] || { cat "$W/a.out"; fail "mga's su exited $MG_RC, expected 137 (SIGKILLed with its session)"; }
info "ok: oom.group=yes: su and the shell were SIGKILLed; no line after the hog"
mg_until 10 mg_unpopulated "$S_a" || fail "$S_a still holds processes: $(cat "$S_a/cgroup.procs")"
k=$(mg_event "$S_a" oom_kill)
gk=$(mg_event "$S_a" oom_group_kill)
[ "${k:-0}" -ge 3 ] || fail "$S_a oom_kill is '$k', expected >= 3 (hog, shell, su): $(mg_events "$S_a")"
[ "${gk:-0}" -ge 1 ] || fail "$S_a oom_group_kill is '$gk', expected >= 1"
info "ok: $S_a: $(mg_events "$S_a")"

# The bystander saw nothing.
kill -0 "$supid_c" 2>/dev/null || fail "bystander su $supid_c died"
[ "$(sort "$S_c/cgroup.procs" | tr '\n' ' ')" = "$procs_c" ] || fail "bystander procs changed: [$procs_c] -> [$(sort "$S_c/cgroup.procs" | tr '\n' ' ')]"
[ "$(mg_events "$S_c")" = "$ev_sc" ] || fail "bystander session events changed: $ev_sc -> $(mg_events "$S_c")"
[ "$(mg_events "$U_c")" = "$ev_uc" ] || fail "bystander user events changed: $ev_uc -> $(mg_events "$U_c")"
info "ok: bystander mgc untouched: procs [$procs_c], events $ev_sc"
mg_go c
mg_wait c
[ "$MG_RC" = 0 ] || { cat "$W/c.out"; fail "mgc's su exited $MG_RC"; }

# The killed su never ran close_session: its empty group stays until the
# next login of mga reaps it.
[ -d "$S_a" ] && info "ok: $S_a stays after the killed session (close_session never ran)"
mg_su mga 'cat /proc/self/cgroup'
[ "$MG_RC" = 0 ] || fail "next login of mga exited $MG_RC: $MG_OUT"
[ -e "$S_a" ] && fail "$S_a not reaped by the next login of mga"
[ -e "$BASE/user-$MG_UID_A" ] && fail "$BASE/user-$MG_UID_A left after the last logout"
info "ok: the next login of mga reaped $S_a"

info "kernel OOM reports (info only; the kernel rate-limits them):"
oom_lines | tail -n +$((dmesg_before + 1)) | sed 's/^/    /'
exit 0
