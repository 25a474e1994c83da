#!/bin/sh
# The guest stage of make check: runs tests/guest/run (on CASE... when
# given, as run takes them) and turns its PASS/FAIL/SKIP lines into the TAP
# lines tests/run-all counts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bash "$here/run" "$@" >"$out" 2>&1
rc=$?

# A newcomer's checkout under /tmp (git clone ... /tmp/x && make check):
# the guest cannot see the host's /tmp, so run gives such a checkout a 9p
# export of its own. Proven from a copy of these sources there (not the
# build; the kernel cache linked, it is read on the host only), running
# the harness's self-test case.
top=$(cd "$here/../.." && pwd)
cache=${MEMGUARD_GUEST_CACHE:-$top/build/guest}
case "$(realpath "$top")/" in
/tmp/* | /run/*) ;; # this run was one already
*)
	if [ -d "$cache/kernel" ] && [ -s "$cache/kernel.pkg" ]; then
		x=$(mktemp -d /tmp/memguard-checkout.XXXXXX)
		(cd "$top" && tar -cf - --exclude=./build --exclude=./.git .) | tar -xf - -C "$x"
		mkdir -p "$x/build/guest"
		ln -s "$(cd "$cache/kernel" && pwd)" "$x/build/guest/kernel"
		cp "$cache/kernel.pkg" "$x/build/guest/"
		env -u MEMGUARD_GUEST_CACHE bash "$x/tests/guest/run" 00-cgroup2-oom >"$out.tmp" 2>&1
		xrc=$?
		if [ $xrc = 0 ] && grep -q '^PASS 00-cgroup2-oom' "$out.tmp"; then
			echo "PASS a checkout under /tmp: its own 9p export, 00-cgroup2-oom" >>"$out"
		else
			echo "FAIL a checkout under /tmp: its own 9p export, 00-cgroup2-oom (status $xrc, in $x)" >>"$out"
			sed 's/^/    /' "$out.tmp" >>"$out"
			rc=1
		fi
		grep '^guest' "$out.tmp" | sed 's/^/(under \/tmp) /' >>"$out"
		rm -rf "$x" "$out.tmp"
	fi
	;;
esac
awk '
/^PASS / { n++; print "ok " n " - guest: " substr($0, 6); next }
/^FAIL / { n++; print "not ok " n " - guest: " substr($0, 6); next }
/^SKIP / { n++; sub(/^SKIP /, ""); i = index($0, ": ");
	   print "ok " n " - guest: " substr($0, 1, i - 1) " # SKIP " substr($0, i + 2); next }
{ print "# " $0 }
' "$out"
exit $rc
