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
run set nobody memory.max=2G session.memory.max=1G oom_score_adj=200
run show nobody
echo
echo "A drop-in that still sets nobody's cap wins over the main file, and set says so:"
run set --file 50-lab.conf nobody memory.max=3G
run set nobody memory.max=2560M
echo
echo "An invalid change is refused with the same errors as check; the file is left as it was:"
cp "$dir/memguard.conf" "$dir/before"
run set nobody memory.high=8G
cmp -s "$dir/before" "$dir/memguard.conf" && echo "(memguard.conf unchanged)"
run set nobody memory.maxx=1G
run show nobody --json
run unset nobody
run list
run check
echo
echo "What set and unset changed in the main file (comments and layout kept):"
diff -u "$top/etc/memguard.conf" "$dir/memguard.conf" | sed 's/^/    /' || true
