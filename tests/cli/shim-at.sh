#!/bin/sh
# shim-at.sh SHIM TARGET COMMAND...: inside a private mount namespace
# (unshare --mount), puts a root-owned copy of SHIM at TARGET, the path
# memguardctl was built to load, and runs COMMAND. TARGET's directory is
# replaced by a tmpfs in which every entry that was there is bound back in,
# so nothing else there changes and the host's file system is not touched.
# SHIM "-" leaves TARGET absent (the missing-shim case).
set -eu
shim=$1 target=$2
shift 2
dir=$(dirname "$target")
mkdir -p "$dir" 2>/dev/null || true
keep=$(mktemp -d "${TMPDIR:-/tmp}/mgshimat.XXXXXX")
mount --bind "$dir" "$keep"
mount -t tmpfs -o mode=755 tmpfs "$dir"
for e in "$keep"/* "$keep"/.[!.]*; do
	[ -e "$e" ] || [ -L "$e" ] || continue
	n=$(basename "$e")
	[ "$dir/$n" = "$target" ] && continue
	if [ -d "$e" ] && [ ! -L "$e" ]; then mkdir "$dir/$n"; else : >"$dir/$n"; fi
	mount --bind "$e" "$dir/$n"
done
if [ "$shim" != - ]; then
	cp "$shim" "$target"
	chown root:root "$target"
	chmod 755 "$target"
fi
exec "$@"
