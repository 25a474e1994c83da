#!/bin/bash
# Build the guest initramfs: static busybox, the virtio/9p/overlay kernel
# modules of the unpacked kernel and an /init that mounts the host root (9p,
# read-only) and the results share, then either runs the guest-side runner
# in a chroot (default) or, with memguard.mode=systemd on the kernel command
# line, boots the host's systemd on a writable overlay of the host root.
#
# Usage: mkinitrd.sh            (cache: $MEMGUARD_GUEST_CACHE or <repo>/build/guest)
# Output: $cache/initrd.img; rebuilt only when an input changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${MEMGUARD_GUEST_CACHE:-$top/build/guest}
cache=$(cd "$cache" && pwd)

die() { printf 'mkinitrd: %s\n' "$*" >&2; exit 1; }

busybox=/bin/busybox
[ -x "$busybox" ] || die "no $busybox (install busybox-static)"
[ -f "$cache/kernel.pkg" ] || die "no kernel in $cache (run fetch-assets.sh)"
pkg=$(cat "$cache/kernel.pkg")
kdir=$cache/kernel/$pkg
moddir=$(ls -d "$kdir"/lib/modules/*/ 2>/dev/null | head -n1)
[ -n "$moddir" ] || die "no lib/modules in $kdir"
moddir=${moddir%/}

# Modules wanted; their dependencies are added from each module's modinfo.
wanted=(virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
	fscache netfs 9pnet 9pnet_virtio 9p overlay)

out=$cache/initrd.img
stamp=$(
	{
		sha256sum "${BASH_SOURCE[0]}"
		echo "$pkg"
		stat -L -c '%s %Y' "$busybox"
	} | sha256sum | cut -d' ' -f1
)
if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

stage=$(mktemp -d "$cache/.initrd.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,host,lib/modules,results}

cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done

# Index module files by normalised name (dashes and underscores are equal).
declare -A path_of=() builtin=()
while IFS= read -r f; do
	n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}
	path_of[$n]=$f
done < <(find "$moddir" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
if [ -f "$moddir/modules.builtin" ]; then
	while IFS= read -r f; do
		n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}
		builtin[$n]=1
	done <"$moddir/modules.builtin"
fi

unpack() {	# unpack SRC DST: copy a module, decompressing it
	case $1 in
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -qdc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# Depth-first: dependencies land in the load order before their users.
declare -A seen=()
order=()
add() {
	local n=${1//-/_} dep deps
	[ -n "${seen[$n]:-}" ] && return 0
	seen[$n]=1
	if [ -n "${builtin[$n]:-}" ]; then
		return 0
	fi
	[ -n "${path_of[$n]:-}" ] || die "module $n neither built in nor in $moddir"
	unpack "${path_of[$n]}" "$stage/lib/modules/$n.ko"
	deps=$(tr '\0' '\n' <"$stage/lib/modules/$n.ko" | grep -a -m1 '^depends=' || true)
	deps=${deps#depends=}
	for dep in ${deps//,/ }; do add "$dep"; done
	order+=("$n")
}
for m in "${wanted[@]}"; do add "$m"; done
printf '%s\n' "${order[@]}" >"$stage/lib/modules/order"

cat >"$stage/init" <<'EOF'
#!/bin/sh
# Guest /init: load virtio + 9p, mount the host root read-only and the
# results share, run the runner inside a chroot, power off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

mark() { echo "<3>memguard-init: $*" >/dev/kmsg; }
die() {
	mark "FATAL: $*"
	echo "memguard-init: FATAL: $*"
	poweroff -f
	sleep 5
	exit 1
}

# mount_top ROOT RESULTS: a checkout under /tmp or /run, hidden by the
# guest's own tmpfs there, comes as the 9p export "top"; run names its path
# in RESULTS/top-path.
mount_top() {
	[ -s "$2/top-path" ] || return 0
	t=$(cat "$2/top-path")
	mkdir -p "$1$t" || die "cannot make $t for the checkout"
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose top "$1$t" \
		|| die "cannot mount the checkout's share at $t"
	mark "checkout mounted at $t"
}

mark "loading modules"
# Retry loop: the order file is dependency-sorted but loading is cheap to retry.
for round in 1 2 3 4 5; do
	missing=""
	while read -r m; do
		[ -d "/sys/module/$m" ] && continue
		insmod "/lib/modules/$m.ko" 2>/dev/null || missing="$missing $m"
	done </lib/modules/order
	[ -z "$missing" ] && break
	sleep 0.2
done
[ -z "$missing" ] || die "could not load modules:$missing"

# The virtio devices appear asynchronously after virtio_pci binds.
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose host /host 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || die "cannot mount the host root over 9p"
	sleep 0.1
done
mark "host root mounted"

case " $(cat /proc/cmdline) " in
*" memguard.mode=systemd "*) systemd_mode=1 ;;
*) systemd_mode=0 ;;
esac

if [ $systemd_mode = 1 ]; then
	# systemd as PID 1 needs a writable root: a tmpfs upper layer over the
	# read-only host root. Everything written vanishes with the guest.
	mkdir -p /ovl /newroot
	mount -t tmpfs -o mode=755 tmpfs /ovl || die "tmpfs for the overlay"
	mkdir -p /ovl/upper /ovl/work
	mount -t overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work overlay /newroot \
		|| die "cannot mount the overlay root"
	N=/newroot
	# The host is a container: with /.dockerenv systemd ignores the kernel
	# command line (and so systemd.unit=).
	rm -f $N/.dockerenv
	mount -t tmpfs -o mode=1777 tmpfs $N/tmp || die "tmpfs /tmp"
	mkdir -p $N/memguard-results
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results $N/memguard-results \
		|| die "cannot mount the results share"
	[ -r $N/memguard-results/start ] || die "no start script in the results share"
	# systemd mounts a fresh /run unless one is there: give it one, so that
	# a checkout under /run stays visible.
	case $(cat $N/memguard-results/top-path 2>/dev/null) in
	/run/*) mount -t tmpfs -o mode=755,nosuid,nodev tmpfs $N/run || die "tmpfs /run" ;;
	esac
	mount_top $N $N/memguard-results
	# The pristine host root, read-only, for a case that needs a file as the
	# host has it after earlier cases changed the overlay's copy.
	mkdir -p $N/memguard-lower
	mount --bind /host $N/memguard-lower || die "cannot bind the host root to /memguard-lower"
	U=$N/etc/systemd/system
	mkdir -p $U $N/etc/tmpfiles.d $N/etc/systemd/journald.conf.d
	# Units that cannot work here or only cost boot time under emulation.
	for u in systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
		systemd-udevd-control.socket systemd-udevd-kernel.socket timers.target remote-fs.target \
		systemd-timesyncd.service systemd-firstboot.service getty.target serial-getty@ttyS0.service \
		console-getty.service systemd-journal-flush.service systemd-hwdb-update.service \
		ldconfig.service systemd-modules-load.service systemd-remount-fs.service \
		systemd-networkd.service systemd-resolved.service cron.service ssh.service ssh.socket \
		e2scrub_reap.service systemd-pstore.service; do
		ln -sf /dev/null $U/$u
	done
	# Debian's tmp.conf would walk the host's /tmp over 9p.
	ln -sf /dev/null $N/etc/tmpfiles.d/tmp.conf
	printf '[Journal]\nStorage=volatile\n' >$N/etc/systemd/journald.conf.d/memguard-guest.conf
	cat >$U/memguard-test.target <<'UNIT'
[Unit]
Description=memguard guest cases under systemd
Requires=basic.target
Wants=memguard-test.service
After=basic.target
AllowIsolate=yes
UNIT
	cat >$U/memguard-test.service <<'UNIT'
[Unit]
Description=memguard guest cases
Wants=dbus.service systemd-logind.service
After=basic.target dbus.service systemd-logind.service systemd-user-sessions.service
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
Type=oneshot
ExecStart=/bin/bash /memguard-results/start
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
UNIT
	mark "switching to systemd"
	mount --move /dev $N/dev || die "move /dev"
	mount --move /proc $N/proc || die "move /proc"
	mount --move /sys $N/sys || die "move /sys"
	exec switch_root $N /lib/systemd/systemd
	die "switch_root failed"
fi

H=/host
mount -t proc proc $H/proc || die "proc"
mount -t sysfs sysfs $H/sys || die "sysfs"
mount -t devtmpfs devtmpfs $H/dev || die "devtmpfs"
mkdir -p $H/dev/pts $H/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $H/dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs $H/dev/shm 2>/dev/null
mount -t tmpfs -o mode=755 tmpfs $H/run || die "tmpfs /run"
mount -t tmpfs -o mode=1777 tmpfs $H/tmp || die "tmpfs /tmp"
mount -t cgroup2 none $H/sys/fs/cgroup || die "cgroup2"
R=$H/run/memguard-guest
mkdir -p $R
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results $R || die "cannot mount the results share"
[ -r $R/start ] || die "no start script in the results share"
mount_top $H $R
mark "starting runner"

chroot $H /bin/bash /run/memguard-guest/start
rc=$?
mark "runner finished (status $rc)"
sync
umount $R 2>/dev/null
poweroff -f
sleep 5
EOF
chmod 755 "$stage/init"

# Busybox's own cpio applet: there may be no cpio binary on the host.
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) \
	| gzip -n -6 >"$out.new"
mv "$out.new" "$out"
echo "$stamp" >"$out.stamp"
printf 'mkinitrd: built %s (%s; modules: %s)\n' "$out" "$pkg" "${order[*]}" >&2
