#!/bin/sh
# make demo: the policy workflow on a scratch copy of the shipped policy.
# Nothing outside a temporary directory is changed.
set -eu
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
ctl="$top/$BUILD/memguardctl"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$top/etc/memguard.conf" "$dir/memguard.conf"
p="--policy $dir/memguard.conf"

step() { printf '\n\033[1m$ memguardctl %s\033[0m\n' "$*"; }
run() { step "$*"; "$ctl" $p "$@" || echo "(exit status $?)"; }

echo "memguard demo: a scratch copy of the shipped policy in $dir"
echo "Active rules of the shipped policy:"
grep -v '^[[:space:]]*\(#\|$\)' "$dir/memguard.conf" | sed 's/^/    /'

run check
run set @students memory.max=4G memory.high=3G
run set nobody memory.max=2G memory.high=1536M session.memory.max=1G oom_score_adj=200
run show nobody
echo
echo "A drop-in that still sets nobody's cap wins over the main file, and set says so:"
run set --file 50-lab.conf nobody memory.max=3G
run set nobody memory.max=2560M memory.high=2G
echo
echo "An invalid change is refused with the same errors as check; the file is left as it was:"
cp "$dir/memguard.conf" "$dir/before"
run set nobody memory.high=8G
cmp -s "$dir/before" "$dir/memguard.conf" && echo "(memguard.conf unchanged)"
run set nobody memory.maxx=1G
run show nobody --json
run unset nobody
run unset --file 50-lab.conf nobody
run unset nobody
run list
run check
echo
echo "What set and unset changed in the main file (comments and layout kept):"
diff -u "$top/etc/memguard.conf" "$dir/memguard.conf" | sed 's/^/    /' || true

# ---- The main job, for real: a session through a private PAM stack ----
echo
echo "== A login session capped by pam_memguard =="
if [ "$(id -u)" -ne 0 ]; then
	echo "(skipped: the PAM part needs root, to create cgroups; run 'sudo make demo')"
	exit 0
fi
mem=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
if [ -n "$mem" ] && [ -d "/sys/fs/cgroup/memory$mem" ]; then
	own="/sys/fs/cgroup/memory$mem" # cgroup v1 memory controller
	leaf=""
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	own="/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)"
	if [ -d /run/systemd/system ] && [ -z "${MEMGUARD_DEMO_DELEGATED:-}" ]; then
		# systemd owns the tree: ask it for a delegated subtree of our own.
		exec env MEMGUARD_DEMO_DELEGATED=1 systemd-run --scope --quiet -p Delegate=yes sh "$0" "$@"
	fi
	# cgroup v2 allows no processes beside child groups: step into a leaf.
	leaf="$own/demo-shell"
	mkdir -p "$leaf" && echo $$ >"$leaf/cgroup.procs"
else
	echo "(skipped: no cgroup memory controller on this machine)"
	exit 0
fi
scratch="$own/memguard-demo-$$"
mkdir "$scratch"
cleanup_cg() {
	find "$scratch" -depth -type d -exec rmdir {} + 2>/dev/null
	if [ -n "$leaf" ]; then
		echo $$ >"$own/cgroup.procs" 2>/dev/null
		rmdir "$leaf" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup_cg EXIT

"$ctl" $p set nobody memory.max=64M memory.high=48M memory.swap.max=0 oom_score_adj=300 >/dev/null
"$ctl" $p set %all memory.max=80% >/dev/null
mkdir "$dir/pam.d"
echo "session required $top/$BUILD/pam_memguard.so policy=$dir/memguard.conf cgroup_root=$scratch/memguard" \
	>"$dir/pam.d/memguard-demo"
echo "Policy rule for the demo user:"
grep '^nobody' "$dir/memguard.conf" | sed 's/^/    /'
echo "PAM service file:"
sed 's/^/    /' "$dir/pam.d/memguard-demo"
echo
echo "Opening a session for 'nobody'; inside it, a program tries to touch 200 MiB:"
"$top/$BUILD/tests/pam/pamdrive" "$dir/pam.d" memguard-demo nobody sh -c '
	v1=$(awk -F: "\$2 == \"memory\" { print \$3 }" /proc/self/cgroup)
	if [ -n "$v1" ]; then d=/sys/fs/cgroup/memory$v1; max=memory.limit_in_bytes; ev=memory.oom_control
	else d=/sys/fs/cgroup$(awk -F: "\$1 == \"0\" { print \$3 }" /proc/self/cgroup); max=memory.max; ev=memory.events; fi
	echo "  session group:   $d"
	echo "  user cap:        $(cat $d/../$max) bytes ($max of $(basename $(dirname $d)))"
	echo "  oom_score_adj:   $(cat /proc/self/oom_score_adj)"
	'"$top/$BUILD/tests/tools/hog"' 200 >/dev/null
	echo "  the hog ended with status $? (137 = SIGKILL from the kernel OOM killer)"
	echo "  OOM kills counted in the session group: $(awk "/^oom_kill /{print \$2}" $d/$ev)"
	echo "  ...and the session itself is still alive to say so."
	echo "  memguardctl status nobody, meanwhile (the caps live in the kernel beside the policy):"
	'"$ctl $p"' status --cgroup-root '"$scratch/memguard"' nobody | sed "s/^/    /"
' 2>&1 | grep -v '^Killed$' | grep -v '^cgroup=\|^after=\|^oom_score_adj=' | sed 's/^open=0$/  session opened (PAM_SUCCESS)/; s/^close=0$/  session closed (PAM_SUCCESS)/; s/^child=.*$//' | grep -v '^$'
left=$(find "$scratch" -mindepth 2 -type d | wc -l)
echo "Groups left behind after close_session: $left"
