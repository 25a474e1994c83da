#!/bin/sh
# Installs what building and testing memguard need, from Debian's packages.
# As root it runs apt-get; otherwise it prints the command to run.
set -u
packages="gcc make pkg-config libc6-dev libpam0g-dev libcap-ng-dev libsystemd-dev libcmocka-dev
libnss-wrapper clang python3 qemu-system-x86 busybox-static"

missing=""
for p in $packages; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "memguard needs these packages:$missing" >&2
	echo "run as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
