#!/bin/bash
# Fetch what the guest harness needs: QEMU, a static busybox and Debian's
# cloud kernel (unpacked, not installed).  Idempotent.
#
# Cache directory: $MEMGUARD_GUEST_CACHE, default <repo>/build/guest.
# Exit status: 0 ready, 77 something is missing and we cannot fetch it
# (not root, no network, ...), 1 on unexpected errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${MEMGUARD_GUEST_CACHE:-$top/build/guest}

say() { printf 'fetch-assets: %s\n' "$*" >&2; }
skip() { say "$*"; exit 77; }

is_root() { [ "$(id -u)" = 0 ]; }

# 1. Host packages.
missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
	|| missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
	if ! is_root; then
		skip "missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}"
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
		apt-get update >&2 || true
		apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
			|| skip "apt-get install ${missing[*]} failed"
	fi
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 still not found"
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
	|| skip "busybox-static still not installed"

# 2. Kernel.  The version is resolved through the linux-image-cloud-amd64
# metapackage (its Depends names linux-image-6.1.0-N-cloud-amd64).  The guest
# needs 9p over virtio to see the host root; Debian 12's cloud flavour is built
# without CONFIG_NET_9P, so when the cloud image lacks it the generic flavour
# of the same ABI (linux-image-6.1.0-N-amd64) is used instead.
# MEMGUARD_GUEST_KERNEL=<package> forces a specific linux-image package.
mkdir -p "$cache/kernel" 2>/dev/null || skip "cannot create cache directory $cache"
cache=$(cd "$cache" && pwd)

current=""
[ -f "$cache/kernel.pkg" ] && current=$(cat "$cache/kernel.pkg")

resolve_kernel() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null \
		| sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1
}

has_9p() {	# has_9p CONFIG-FILE
	grep -Eq '^CONFIG_NET_9P_VIRTIO=[ym]' "$1" && grep -Eq '^CONFIG_9P_FS=[ym]' "$1"
}

# fetch PKG: download and unpack PKG into $cache/kernel/PKG unless done.
# Returns 0 when usable, 1 when the image lacks 9p (remembered in PKG.no9p).
fetch() {
	local pkg=$1 kdir=$cache/kernel/$1 tmp cfg
	[ -f "$kdir/.unpacked" ] && return 0
	[ -f "$kdir.no9p" ] && return 1
	[ -w "$cache/kernel" ] || skip "cache $cache not writable"
	tmp=$(mktemp -d "$cache/.dl.XXXXXX")
	chmod 755 "$tmp"	# lets apt fetch as its own _apt user
	say "downloading $pkg"
	# apt-get download works unprivileged (it writes to the current directory).
	if ! (cd "$tmp" && apt-get download "$pkg" >&2); then
		if is_root; then
			apt-get update >&2 || true
			(cd "$tmp" && apt-get download "$pkg" >&2) \
				|| { rm -rf "$tmp"; skip "apt-get download $pkg failed"; }
		else
			rm -rf "$tmp"
			skip "apt-get download $pkg failed; try as root: apt-get update"
		fi
	fi
	rm -rf "$kdir"
	mkdir -p "$kdir"
	dpkg-deb -x "$tmp"/"$pkg"_*.deb "$kdir"
	rm -rf "$tmp"
	cfg=$(ls "$kdir"/boot/config-* 2>/dev/null | head -n1)
	if [ -n "$cfg" ] && ! has_9p "$cfg"; then
		say "$pkg is built without 9p over virtio; not usable"
		rm -rf "$kdir"
		touch "$kdir.no9p"
		return 1
	fi
	touch "$kdir/.unpacked"
}

if [ -n "${MEMGUARD_GUEST_KERNEL:-}" ]; then
	candidates=("$MEMGUARD_GUEST_KERNEL")
else
	cloud=$(resolve_kernel || true)
	if [ -z "$cloud" ] && [ -z "$current" ] && is_root; then
		apt-get update >&2 || true
		cloud=$(resolve_kernel || true)
	fi
	if [ -n "$cloud" ]; then
		candidates=("$cloud" "${cloud%-cloud-amd64}-amd64")
	elif [ -n "$current" ]; then
		candidates=("$current")	# offline: keep what we have
	elif is_root; then
		skip "cannot resolve linux-image-cloud-amd64 (apt-cache depends gives nothing)"
	else
		skip "cannot resolve linux-image-cloud-amd64; run as root: apt-get update"
	fi
fi

pkg=""
for c in "${candidates[@]}"; do
	if fetch "$c"; then pkg=$c; break; fi
done
[ -n "$pkg" ] || skip "no usable kernel among: ${candidates[*]}"

kdir=$cache/kernel/$pkg
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -n "$vmlinuz" ] || skip "no vmlinuz in $kdir/boot"
printf '%s\n' "$pkg" >"$cache/kernel.pkg.new" && mv "$cache/kernel.pkg.new" "$cache/kernel.pkg"
# Unpacked kernels other than the one in use are removed (markers are kept).
for d in "$cache"/kernel/*/; do
	[ -d "$d" ] || continue
	[ "$(basename "$d")" = "$pkg" ] || rm -rf "$d"
done
say "ready: $vmlinuz"
