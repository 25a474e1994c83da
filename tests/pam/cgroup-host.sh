# The memory cgroup of this host as the PAM and clients stages see it, for
# both versions: cgroup v1's memory controller or a cgroup v2 hierarchy with
# memory. Sourced by tests/pam/lib.sh, by tests/clients/run.sh and by the
# shells of test sessions (the readers alone). POSIX sh, functions only.
#
# cg_host_enter SHELL SCRIPT ARGS... (the stage, before anything else):
#   v1: our own memory cgroup, as ever;
#   v2 under systemd: the stage re-executes itself once under
#     `systemd-run --scope -p Delegate=yes`, a subtree of its own;
#   v2 (delegated, or without systemd): the stage's shell steps into a leaf
#     group and the memory controller is enabled for its siblings, as
#     cgroup v2 allows no processes beside child groups (the root excepted).
# It sets CG_V (1 or 2), CG_MNT (the hierarchy's mount), CG_HOME (where the
# stage makes its groups), CG_OWN (where the stage's own processes run:
# "the caller's group" of a login that places nothing) and CG_MAXFILE (the
# hard limit's file name). On failure it sets CG_WHY and returns 1; the
# caller exits 77 with it.
#
# Readers take a group directory and tell the version by its files, so a
# session's shell needs nothing but this file: cg_self [PID], cg_rel DIR,
# cap_of, memsw_of, high_of, low_of, min_of, peak_of, usage_of,
# oom_kills_of, max_events_of; cg_set_cap DIR BYTES|max writes a hard limit
# (v1: with its RAM+swap limit), cg_unlimited VALUE says "no limit".

# cg_self [PID]: the memory cgroup directory of PID (default: the caller).
cg_self() {
	_f=/proc/${1:-self}/cgroup
	_r=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' "$_f" 2>/dev/null)
	if [ -n "$_r" ]; then
		_d=/sys/fs/cgroup/memory$_r
	else
		_d=/sys/fs/cgroup$(awk -F: '$1 == "0" && $2 == "" {print $3; exit}' "$_f" 2>/dev/null)
	fi
	echo "${_d%/}"
}
# cg_rel DIR: DIR as /proc/PID/cgroup and memguardctl name it.
cg_rel() {
	case $1 in
	/sys/fs/cgroup/memory/*) echo "${1#/sys/fs/cgroup/memory}" ;;
	*) echo "${1#/sys/fs/cgroup}" ;;
	esac
}
cg_is_v2() { [ ! -e "$1/memory.limit_in_bytes" ] && [ -e "$1/cgroup.controllers" ]; }
_cg_cat() { cat "$1" 2>/dev/null || echo "(missing $1)"; }
# _cg_key FILE KEY: the value of a "KEY N" line
_cg_key() { sed -n "s/^$2 //p" "$1" 2>/dev/null; }
cap_of() { if cg_is_v2 "$1"; then _cg_cat "$1/memory.max"; else _cg_cat "$1/memory.limit_in_bytes"; fi; }
# memsw_of DIR: the RAM+swap limit (v1's memsw file; v2: memory.max plus
# memory.swap.max), so one expectation holds on both; "none" without swap
# accounting.
memsw_of() {
	if cg_is_v2 "$1"; then
		[ -f "$1/memory.swap.max" ] || { echo none; return; }
		_m=$(cat "$1/memory.max") _s=$(cat "$1/memory.swap.max")
		if [ "$_m" = max ] || [ "$_s" = max ]; then echo max; else echo $((_m + _s)); fi
	else
		cat "$1/memory.memsw.limit_in_bytes" 2>/dev/null || echo none
	fi
}
# high_of DIR: memory.high (v2) or the soft limit v1 writes in its place
high_of() { if cg_is_v2 "$1"; then _cg_cat "$1/memory.high"; else _cg_cat "$1/memory.soft_limit_in_bytes"; fi; }
low_of() { _cg_cat "$1/memory.low"; }
min_of() { _cg_cat "$1/memory.min"; }
peak_of() { if cg_is_v2 "$1"; then _cg_cat "$1/memory.peak"; else _cg_cat "$1/memory.max_usage_in_bytes"; fi; }
usage_of() { if cg_is_v2 "$1"; then _cg_cat "$1/memory.current"; else _cg_cat "$1/memory.usage_in_bytes"; fi; }
# oom_kills_of DIR: the OOM kills in DIR (v2: memory.events, hierarchical)
oom_kills_of() {
	if cg_is_v2 "$1"; then _cg_key "$1/memory.events" oom_kill; else _cg_key "$1/memory.oom_control" oom_kill; fi
}
# max_events_of DIR: how often the hard limit was hit (v1: failcnt)
max_events_of() { if cg_is_v2 "$1"; then _cg_key "$1/memory.events" max; else _cg_cat "$1/memory.failcnt"; fi; }
# cg_unlimited VALUE: true for "no limit" (v2 "max", v1's page-rounded 2^63)
cg_unlimited() { [ "$1" = max ] || { [ "$1" -gt 4611686018427387904 ] 2>/dev/null; }; }
# cg_set_cap DIR BYTES|max: a hard limit as an admin would write it
cg_set_cap() {
	if cg_is_v2 "$1"; then
		echo "$2" >"$1/memory.max"
	else
		_v=$2
		[ "$_v" = max ] && _v=-1
		if [ "$_v" = -1 ] || [ "$_v" -gt "$(cat "$1/memory.limit_in_bytes")" ]; then
			[ -f "$1/memory.memsw.limit_in_bytes" ] && echo "$_v" >"$1/memory.memsw.limit_in_bytes"
			echo "$_v" >"$1/memory.limit_in_bytes"
		else
			echo "$_v" >"$1/memory.limit_in_bytes"
			[ -f "$1/memory.memsw.limit_in_bytes" ] && echo "$_v" >"$1/memory.memsw.limit_in_bytes"
		fi
	fi
}

cg_host_enter() {
	_sh=$1
	shift
	CG_WHY=""
	_r=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)
	if [ -n "$_r" ]; then
		CG_V=1 CG_MNT=/sys/fs/cgroup/memory CG_MAXFILE=memory.limit_in_bytes
		CG_OWN=$(cg_self) CG_HOME=$CG_OWN
		[ -f "$CG_OWN/memory.limit_in_bytes" ] && return 0
		CG_WHY="no cgroup v1 memory controller at $CG_OWN"
		return 1
	fi
	if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] ||
		! grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		CG_WHY="no cgroup memory controller (neither v1's nor v2's at /sys/fs/cgroup)"
		return 1
	fi
	CG_V=2 CG_MNT=/sys/fs/cgroup CG_MAXFILE=memory.max
	if [ -d /run/systemd/system ] && [ -z "${MEMGUARD_TEST_DELEGATED:-}" ]; then
		# systemd owns the tree: ask it for a delegated subtree of our own.
		command -v systemd-run >/dev/null 2>&1 || { CG_WHY="systemd on cgroup v2 but no systemd-run"; return 1; }
		if ! _e=$(systemd-run --scope -p Delegate=yes --quiet true 2>&1); then
			CG_WHY="systemd on cgroup v2, but systemd-run --scope -p Delegate=yes fails: $_e"
			return 1
		fi
		exec env MEMGUARD_TEST_DELEGATED=1 systemd-run --scope -p Delegate=yes --quiet "$_sh" "$@"
	fi
	CG_HOME=$(cg_self)
	if [ "$CG_HOME" = /sys/fs/cgroup ]; then
		# The root group may hold processes beside its children.
		CG_OWN=$CG_HOME
		return 0
	fi
	grep -qw memory "$CG_HOME/cgroup.controllers" 2>/dev/null ||
		{ CG_WHY="cgroup v2: the memory controller is not delegated to $CG_HOME"; return 1; }
	CG_OWN=$CG_HOME/mgtest-self-$$
	mkdir "$CG_OWN" && echo $$ >"$CG_OWN/cgroup.procs" ||
		{ CG_WHY="cgroup v2: cannot step into a leaf group $CG_OWN"; rmdir "$CG_OWN" 2>/dev/null; return 1; }
	if ! grep -qw memory "$CG_HOME/cgroup.subtree_control" &&
		! echo +memory >"$CG_HOME/cgroup.subtree_control" 2>/dev/null; then
		CG_WHY="cgroup v2: $CG_HOME holds processes besides this stage (run it under systemd-run --scope -p Delegate=yes)"
		echo $$ >"$CG_HOME/cgroup.procs" 2>/dev/null
		rmdir "$CG_OWN" 2>/dev/null
		return 1
	fi
	return 0
}

# cg_host_leave: the stage's shell back where it came from (call it last,
# once the stage's own groups are gone).
cg_host_leave() {
	[ "${CG_V:-}" = 2 ] && [ "$CG_OWN" != "$CG_HOME" ] || return 0
	# A group may hold processes again once no controller is handed down.
	echo -memory >"$CG_HOME/cgroup.subtree_control" 2>/dev/null
	echo $$ >"$CG_HOME/cgroup.procs" 2>/dev/null
	rmdir "$CG_OWN" 2>/dev/null
}
