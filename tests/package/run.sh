#!/bin/bash
# The package stage: builds the Debian packages with `make deb` (into
# build/deb/, which the guest's package case installs), checks what they
# hold and what their maintainer scripts do, runs lintian, runs the
# packages' own postinst/prerm and pam-auth-update on private copies of this
# host's /etc/pam.d, /usr/share/pam-configs, /var/lib/pam and debconf's
# database (a private mount namespace: the host's files are never written),
# tests the bash completion, `make install` and the RPM build.
# Run from the top of the repository. TAP output; exit 77 when nothing at
# all could run.
set -u
export LC_ALL=C
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
DEB=$top/build/deb
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

n=0 nfail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)) nfail=$((nfail + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() {	# check DESC GOT WANT [DIAG...]
	local d=$1 got=$2 want=$3
	shift 3
	if [ "$got" = "$want" ]; then ok "$d"; else notok "$d" "got:  '$got'" "want: '$want'" "$@"; fi
}

T=$(mktemp -d "${TMPDIR:-/tmp}/mgpkg.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP

# ---- bash completion (needs bash only) ----
CTL=$top/${BUILD:-build}/memguardctl
comp() {	# comp WORD...: what completing the last word offers, one line
	PATH="$(dirname "$CTL"):$PATH" bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_memguardctl 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ etc/bash-completion/memguardctl "$@"
}
if [ -x "$CTL" ]; then
	want=$("$CTL" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' | sort | tr '\n' ' ')
	check "completion: the commands are those of memguardctl --help" "$(comp memguardctl '')" "$want"
	check "completion: --po completes to --policy" "$(comp memguardctl --po)" "--policy "
	check "completion: --backend= offers the backends" "$(comp memguardctl --backend = '')" "auto cgroupfs systemd "
	check "completion: show ro completes users" "$(comp memguardctl show ro)" "$(compgen -u ro | sort | tr '\n' ' ')"
	check "completion: set @ro completes @groups" "$(comp memguardctl set @ro)" "$(compgen -P @ -g ro | sort | tr '\n' ' ')"
	got=$(comp memguardctl set '')
	if [[ " $got " == *" '*' "* && " $got " == *" %all "* ]]; then ok "completion: set offers '*' and %all as WHO"
	else notok "completion: set offers '*' and %all as WHO" "got: $got"; fi
	# The keys the completion knows are the policy's key table in lib/policy.c.
	keys=$(sed -n 's/^[[:space:]]*\[MG_KEY_[A-Z_]*\] = { NAME("\([^"]*\)").*/\1/p' lib/policy.c | sort | tr '\n' ' ')
	got=$(comp memguardctl unset alice '')
	check "completion: unset offers exactly the keys of lib/policy.c" "$got" "$keys"
	check "completion: set alice memory.m offers KEY=" "$(comp memguardctl set alice memory.m)" "memory.max= memory.min= "
	check "completion: options before the command are skipped" "$(comp memguardctl --policy /x set bob oom_)" "oom_score_adj= "
else
	skip "bash completion" "no $CTL (run make)"
fi

# ---- make install into a scratch root ----
if make -s install DESTDIR="$T/inst" PREFIX=/usr >"$T/install.log" 2>&1; then
	missing=""
	for f in usr/sbin/memguardctl usr/share/bash-completion/completions/memguardctl \
		usr/share/doc/memguard/examples/shell-server.conf etc/security/memguard.conf; do
		[ -e "$T/inst/$f" ] || missing="$missing $f"
	done
	check "make install DESTDIR: CLI, completion, examples, policy" "${missing:-none missing}" "none missing"
else
	notok "make install DESTDIR" "$(tail -n 5 "$T/install.log")"
fi

# ---- the Debian packages ----
have_build=1
for t in dpkg-buildpackage dh dpkg-deb; do
	command -v "$t" >/dev/null || { have_build=0; why="no $t (make deps installs dpkg-dev and debhelper)"; }
done
if [ $have_build = 1 ]; then
	if make -s deb >"$T/deb.log" 2>&1; then
		ok "make deb builds the packages into build/deb/"
	else
		notok "make deb builds the packages into build/deb/" "$(tail -n 20 "$T/deb.log")"
		have_build=0 why="make deb failed"
	fi
fi
PAMDEB=$(ls "$DEB"/libpam-memguard_*.deb 2>/dev/null | head -n1)
CLIDEB=$(ls "$DEB"/memguard_*.deb 2>/dev/null | head -n1)
if [ $have_build = 1 ] && { [ -z "$PAMDEB" ] || [ -z "$CLIDEB" ]; }; then
	notok "two packages: libpam-memguard and memguard" "$(ls "$DEB")"
	have_build=0 why="packages missing"
fi

if [ $have_build = 1 ]; then
	field() { dpkg-deb -f "$1" "$2"; }
	list() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's,^\./,/,; s,/$,,'; }
	has() { list "$1" | grep -qx "$2"; }
	check "libpam-memguard: Multi-Arch: same" "$(field "$PAMDEB" Multi-Arch)" same
	check "memguard: Multi-Arch: foreign" "$(field "$CLIDEB" Multi-Arch)" foreign
	case $(field "$PAMDEB" Depends) in
	*"libpam-runtime (>= 1.0.1-6)"*) ok "libpam-memguard depends on libpam-runtime (>= 1.0.1-6)" ;;
	*) notok "libpam-memguard depends on libpam-runtime (>= 1.0.1-6)" "$(field "$PAMDEB" Depends)" ;;
	esac
	for f in /usr/lib/$MA/security/pam_memguard.so /usr/share/pam-configs/memguard \
		/usr/share/pam-configs/memguard-post /etc/security/memguard.conf /etc/security/memguard.d; do
		if has "$PAMDEB" "$f"; then ok "libpam-memguard holds $f"; else notok "libpam-memguard holds $f" "$(list "$PAMDEB")"; fi
	done
	check "libpam-memguard: memguard.d is empty (drop-ins are the admin's)" \
		"$(list "$PAMDEB" | grep -c '^/etc/security/memguard.d/.')" 0
	for f in /usr/sbin/memguardctl /usr/lib/$MA/memguard/libmemguard-preload.so \
		/usr/share/man/man8/memguardctl.8.gz /usr/share/man/man8/pam_memguard.8.gz \
		/usr/share/man/man5/memguard.conf.5.gz /usr/share/man/man8/libmemguard-preload.8.gz \
		/usr/share/bash-completion/completions/memguardctl; do
		if has "$CLIDEB" "$f"; then ok "memguard holds $f"; else notok "memguard holds $f" "$(list "$CLIDEB")"; fi
	done
	check "memguard: one example policy per kind of host" \
		"$(list "$CLIDEB" | sed -n 's,^/usr/share/doc/memguard/examples/,,p' | sort | tr '\n' ' ')" \
		"build-box.conf hpc-login-node.conf ldap-lab.conf shell-server.conf "

	R=$T/root
	mkdir -p "$R/pam.ctl" "$R/cli.ctl"
	dpkg-deb -x "$PAMDEB" "$R" && dpkg-deb -x "$CLIDEB" "$R"
	dpkg-deb -e "$PAMDEB" "$R/pam.ctl" && dpkg-deb -e "$CLIDEB" "$R/cli.ctl"
	check "libpam-memguard: the policy is its one conffile" "$(cat "$R/pam.ctl/conffiles")" /etc/security/memguard.conf
	check "the packaged policy has no rule (an installed package caps nobody)" \
		"$(grep -cv '^[[:space:]]*\(#\|$\)' "$R/etc/security/memguard.conf")" 0
	# Each shipped rule is there as a comment, ready to be turned on.
	lost=$(grep -v '^[[:space:]]*\(#\|$\)' etc/memguard.conf | while IFS= read -r l; do
		grep -qxF "# $l" "$R/etc/security/memguard.conf" || echo "$l"; done)
	check "the packaged policy keeps the shipped rules as '# ' comments" "${lost:-all kept}" "all kept"
	# trace= hands the session the shim's path compiled into the module:
	# it must be where the memguard package puts the shim.
	shim=/usr/lib/$MA/memguard/libmemguard-preload.so
	if grep -q "trace" lib/policy.c; then
		check "the packaged module names the packaged shim ($shim)" \
			"$(grep -c -a -F "$shim" "$R/usr/lib/$MA/security/pam_memguard.so")" 1
	fi
	# make check SANITIZE=1 runs this stage too: the package stays a release build.
	san=$(for f in "$R/usr/lib/$MA/security/pam_memguard.so" "$R/usr/sbin/memguardctl" \
		"$R/usr/lib/$MA/memguard/libmemguard-preload.so"; do
		readelf -d "$f" 2>/dev/null | grep -o 'lib[a-z]*san\.so[.0-9]*' | sed "s|^|${f##*/}: |"; done)
	check "no packaged binary is a sanitizer build" "${san:-none}" none
	PKGCTL=$R/usr/sbin/memguardctl
	check "the packaged memguardctl: the packaged policy passes check" \
		"$("$PKGCTL" --policy "$R/etc/security/memguard.conf" --no-names check >/dev/null 2>&1; echo $?)" 0
	for ex in "$R"/usr/share/doc/memguard/examples/*.conf; do
		out=$("$PKGCTL" --policy "$ex" --no-names check 2>&1)
		check "example $(basename "$ex") passes memguardctl check" "$?" 0 "$out"
	done

	# Maintainer scripts: pam-auth-update --package, --remove on removal,
	# never --force; nothing else touches /etc/pam.d.
	post=$R/pam.ctl/postinst pre=$R/pam.ctl/prerm
	if grep -q 'pam-auth-update .*--package' "$post"; then ok "postinst runs pam-auth-update --package"
	else notok "postinst runs pam-auth-update --package" "$(cat "$post")"; fi
	if grep -q '"$1" = remove' "$pre" && grep -q 'pam-auth-update .*--package --remove memguard memguard-post' "$pre"; then
		ok "prerm runs pam-auth-update --package --remove on removal"
	else notok "prerm runs pam-auth-update --package --remove on removal" "$(cat "$pre")"; fi
	scripts() { cat "$R"/*.ctl/*inst "$R"/*.ctl/*rm 2>/dev/null | grep -v '^[[:space:]]*#'; }
	check "no maintainer script uses --force" "$(scripts | grep -c -- '--force')" 0
	check "no maintainer script names /etc/pam.d (pam-auth-update alone edits it)" "$(scripts | grep -c '/etc/pam.d')" 0

	if command -v lintian >/dev/null; then
		changes=$(ls "$DEB"/*.changes | head -n1)
		lintian --fail-on error,warning --no-tag-display-limit "$changes" >"$T/lintian.log" 2>&1
		rc=$?
		tags=$(grep -E '^[EW]: ' "$T/lintian.log")
		if [ $rc = 0 ] && [ -z "$tags" ]; then ok "lintian: no errors, no warnings"
		else notok "lintian: no errors, no warnings" "$(cat "$T/lintian.log")"; fi
		grep -E '^[IP]: ' "$T/lintian.log" | sed 's/^/# lintian: /'
	else
		skip "lintian" "not installed (make deps)"
	fi
else
	skip "Debian packages" "$why"
fi

# ---- pam-auth-update on this host's own profiles, in private copies ----
pam_auth_update_test() {
	# Runs inside unshare --mount: private copies over the host's paths.
	set -u
	local d
	for d in /etc/pam.d /usr/share/pam-configs /var/lib/pam /var/cache/debconf; do
		mkdir -p "$T/priv$d"
	done
	cp -a /etc/pam.d/. "$T/priv/etc/pam.d/"
	cp -a /usr/share/pam-configs/. "$T/priv/usr/share/pam-configs/"
	cp -a /var/lib/pam/. "$T/priv/var/lib/pam/"
	# debconf's answers and templates only (pam-auth-update keeps its
	# choice there); its password store is neither needed nor copied.
	cp -a /var/cache/debconf/config.dat /var/cache/debconf/templates.dat "$T/priv/var/cache/debconf/"
	install -m 600 /dev/null "$T/priv/var/cache/debconf/passwords.dat"
	cp "$R"/usr/share/pam-configs/memguard* "$T/priv/usr/share/pam-configs/"
	for d in /etc/pam.d /usr/share/pam-configs /var/lib/pam /var/cache/debconf; do
		mount --bind "$T/priv$d" "$d" || exit 1
	done
	export DEBIAN_FRONTEND=noninteractive DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT=1
	snap() { cp /etc/pam.d/common-session "$T/$1.s"; cp /etc/pam.d/common-session-noninteractive "$T/$1.n"; }
	snap before
	sh "$R/pam.ctl/postinst" configure >"$T/pau.log" 2>&1 || echo "postinst failed" >>"$T/pau.err"
	snap installed
	pam-auth-update --enable memguard >>"$T/pau.log" 2>&1 || echo "enable memguard failed" >>"$T/pau.err"
	snap enabled1
	pam-auth-update --enable memguard memguard-post >>"$T/pau.log" 2>&1 || echo "enable both failed" >>"$T/pau.err"
	snap enabled
	sh "$R/pam.ctl/prerm" upgrade >>"$T/pau.log" 2>&1 || echo "prerm upgrade failed" >>"$T/pau.err"
	snap upgraded
	sh "$R/pam.ctl/prerm" remove >>"$T/pau.log" 2>&1 || echo "prerm remove failed" >>"$T/pau.err"
	snap removed
}
lineno() { grep -n -E "$2" "$1" | head -n1 | cut -d: -f1; }	# lineno FILE ERE
mods() { grep -E '^session' "$1" | awk '{print $3, $4}' | sed 's/ $//' | tr '\n' ';'; }
if [ "$(id -u)" != 0 ]; then
	skip "pam-auth-update on private copies of this host's PAM files" "needs root (mount namespace)"
elif ! command -v pam-auth-update >/dev/null || ! command -v unshare >/dev/null; then
	skip "pam-auth-update on private copies of this host's PAM files" "no pam-auth-update or unshare"
elif [ ! -f /usr/share/pam-configs/systemd ]; then
	skip "pam-auth-update on private copies of this host's PAM files" "no pam_systemd profile (libpam-systemd, make deps)"
elif [ $have_build != 1 ]; then
	skip "pam-auth-update on private copies of this host's PAM files" "no packages built"
else
	export T R
	export -f pam_auth_update_test
	unshare --mount --propagation private bash -c pam_auth_update_test
	if [ -s "$T/pau.err" ]; then notok "postinst, pam-auth-update and prerm ran" "$(cat "$T/pau.err" "$T/pau.log")"
	else ok "postinst, pam-auth-update and prerm ran on the private copies"; fi
	check "postinst alone enables nothing (Default: no)" "$(mods "$T/installed.s")" "$(mods "$T/before.s")"
	s=$T/enabled.s
	m=$(lineno "$s" 'pam_memguard\.so *$') sd=$(lineno "$s" pam_systemd.so) p=$(lineno "$s" 'pam_memguard\.so phase=post')
	u=$(lineno "$s" pam_unix.so)
	if [ -n "$m" ] && [ -n "$sd" ] && [ -n "$p" ] && [ "$u" -lt "$m" ] && [ "$m" -lt "$sd" ] && [ "$sd" -lt "$p" ]; then
		ok "common-session: pam_unix, pam_memguard, pam_systemd, pam_memguard phase=post (lines $u $m $sd $p)"
	else
		notok "common-session: pam_unix, pam_memguard, pam_systemd, pam_memguard phase=post" "$(grep '^session' "$s")"
	fi
	m1=$(lineno "$T/enabled1.s" 'pam_memguard\.so *$') sd1=$(lineno "$T/enabled1.s" pam_systemd.so)
	if [ -n "$m1" ] && [ "$m1" -lt "$sd1" ] && ! grep -q phase=post "$T/enabled1.s"; then
		ok "--enable memguard alone: one line, before pam_systemd"
	else notok "--enable memguard alone: one line, before pam_systemd" "$(grep '^session' "$T/enabled1.s")"; fi
	check "common-session-noninteractive: pam_memguard without phase=post (cron, sudo)" \
		"$(grep -c 'pam_memguard\.so *$' "$T/enabled.n") $(grep -c 'phase=post' "$T/enabled.n")" "1 0"
	check "prerm upgrade keeps the lines" "$(mods "$T/upgraded.s")" "$(mods "$T/enabled.s")"
	check "prerm remove: common-session as before" "$(mods "$T/removed.s")" "$(mods "$T/before.s")"
	check "prerm remove: common-session-noninteractive as before" "$(mods "$T/removed.n")" "$(mods "$T/before.n")"
	if cmp -s /etc/pam.d/common-session "$T/before.s"; then ok "the host's own common-session is untouched"
	else notok "the host's own common-session is untouched"; fi
fi

# ---- the RPM spec ----
if command -v rpmbuild >/dev/null; then
	RT=$T/rpm
	mkdir -p "$RT/SOURCES"
	v=$(sed -n 's/^VERSION *:= *//p' Makefile)
	tar -czf "$RT/SOURCES/memguard-$v.tar.gz" --exclude=./build --exclude=./.git \
		--transform "s,^\\.,memguard-$v," .
	# --nodeps: the build dependencies are Debian packages here, not RPMs.
	if rpmbuild -bb --nodeps --define "_topdir $RT" rpm/memguard.spec >"$T/rpm.log" 2>&1; then
		rpmf=$(find "$RT/RPMS" -name "memguard-$v-*.rpm" | head -n1)
		files=$(rpm -qlp "$rpmf" 2>/dev/null)
		missing=""
		for f in /usr/sbin/memguardctl "$(rpm --eval '%{_libdir}')/security/pam_memguard.so" \
			/etc/security/memguard.conf /usr/share/bash-completion/completions/memguardctl; do
			printf '%s\n' "$files" | grep -qx "$f" || missing="$missing $f"
		done
		check "rpmbuild builds rpm/memguard.spec with the module, CLI, policy, completion" "${missing:-none missing}" "none missing"
		# The RPM's own files, unpacked (rpm2archive: a tar of its payload).
		rpmroot=$T/rpmroot
		mkdir -p "$rpmroot" && cp "$rpmf" "$rpmroot/m.rpm" && (cd "$rpmroot" && rpm2archive m.rpm >/dev/null 2>&1 &&
			tar -xzf m.rpm.tgz 2>/dev/null)
		built=$(find "$rpmroot" -type f \( -name pam_memguard.so -o -name memguardctl \) 2>/dev/null)
		san=$(for f in $built; do readelf -d "$f" | grep -o 'lib[a-z]*san\.so[.0-9]*'; done | sort -u | tr '\n' ' ')
		check "no binary in the RPM is a sanitizer build" "${built:+${san:-none}}" none
		check "the RPM's policy is a %config(noreplace) file" \
			"$(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$rpmf" 2>/dev/null | grep '^/etc/security/memguard.conf ' | cut -d' ' -f2)" cn
	else
		notok "rpmbuild builds rpm/memguard.spec" "$(tail -n 20 "$T/rpm.log")"
	fi
else
	skip "rpmbuild of rpm/memguard.spec" "no rpmbuild (make deps installs rpm)"
fi

echo "1..$n"
[ $nfail = 0 ]
