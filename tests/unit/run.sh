#!/bin/sh
# Runs each cmocka test binary with TAP output. test_nss_* run under
# nss_wrapper with the passwd and group files in fixtures/.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
rc=0
nss_wrapper=$(for d in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib; do
	[ -e "$d/libnss_wrapper.so" ] && echo "$d/libnss_wrapper.so" && break; done)
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	echo "# $name"
	case "$name" in
	test_nss_*)
		if [ -z "$nss_wrapper" ]; then
			echo "ok - $name # SKIP libnss-wrapper is not installed"
			continue
		fi
		# ASan wants to be first in the preload list; nss_wrapper does not
		# allocate before main, so the order does not matter here.
		CMOCKA_MESSAGE_OUTPUT=TAP LD_PRELOAD="$nss_wrapper" NSS_WRAPPER_PASSWD="$here/fixtures/passwd" \
			NSS_WRAPPER_GROUP="$here/fixtures/group" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
			"$t" || rc=1
		;;
	*)
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" || rc=1
		;;
	esac
done
exit $rc
