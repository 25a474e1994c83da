#!/bin/sh
# The guest stage of make check: runs tests/guest/run and turns its
# PASS/FAIL/SKIP lines into the TAP lines tests/run-all counts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bash "$here/run" >"$out" 2>&1
rc=$?
awk '
/^PASS / { n++; print "ok " n " - guest: " substr($0, 6); next }
/^FAIL / { n++; print "not ok " n " - guest: " substr($0, 6); next }
/^SKIP / { n++; sub(/^SKIP /, ""); i = index($0, ": ");
	   print "ok " n " - guest: " substr($0, 1, i - 1) " # SKIP " substr($0, i + 2); next }
{ print "# " $0 }
' "$out"
exit $rc
