#!/bin/sh
# Installs what building and testing memguard need, from Debian's packages.
# As root it runs apt-get; otherwise it prints the command to run.
# systemd, dbus and libpam-systemd are what the guest boots for the systemd
# backend's tests (systemd as PID 1 there, never on the host). libdw-dev is
# memguardctl's symboliser; stress-ng a program the shim's tests run.
# dpkg-dev, debhelper, lintian and rpm build and check the packages (make deb,
# the package stage). ncurses draws memguardctl top; prometheus_client parses
# metrics and tmux runs top in tests. heaptrack is a peer the shim's bench
# measures (the other, glibc's libmemusage.so, comes with libc6 itself).
# sudo is a client the clients stage logs in with (sudo -i), through its
# own private PAM service; the host's sudoers and pam.d stay as they are.
set -u
packages="gcc make pkg-config libc6-dev libpam0g-dev libcap-ng-dev libsystemd-dev libdw-dev libcmocka-dev
libnss-wrapper clang python3 qemu-system-x86 busybox-static valgrind openssh-server openssh-client
systemd dbus libpam-systemd passwd strace stress-ng dpkg-dev debhelper lintian rpm
libncurses-dev python3-prometheus-client tmux heaptrack sudo"

top=$(cd "$(dirname "$0")/.." && pwd)

install_packages() {
	missing=""
	for p in $packages; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
		case "$status" in
		*"install ok installed"*) ;;
		*) missing="$missing $p" ;;
		esac
	done
	[ -z "$missing" ] && return 0

	if [ "$(id -u)" -ne 0 ]; then
		echo "memguard needs these packages:$missing" >&2
		echo "run as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
		return 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# The tests run their own sshd on 127.0.0.1; installing openssh-server must
	# not start the system's sshd on every address.
	guard=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard=1
	fi
	rc=0
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
	[ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
	return $rc
}

install_packages || exit $?
# The guest stage's kernel (Debian's package, unpacked into build/guest):
# fetched here so that the set-up step does all of the set-up.
if ! out=$(bash "$top/tests/guest/fetch-assets.sh" 2>&1); then
	printf '%s\n' "$out" >&2
	echo "memguard: cannot fetch the guest's kernel (above); the guest stage needs it" >&2
	exit 1
fi
exit 0
