#!/bin/sh
# CLI tests for memguardctl.  Run from the repo top: sh tests/cli/run.sh
# Prints TAP; exit 0 if every test passes, 1 otherwise.
# BUILD (default: build) picks the build directory holding memguardctl.

BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
CTL=$BUILD/memguardctl
if [ ! -x "$CTL" ]; then
	echo "Bail out! $CTL not built (run make)"
	exit 1
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
unset VISUAL EDITOR

T=$(mktemp -d "${TMPDIR:-/tmp}/mgcli.XXXXXX") || exit 1
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP

N=0
FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
notok() {
	N=$((N + 1)); FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}

MI=$T/meminfo
printf 'MemTotal:       16777216 kB\nMemFree:         8000000 kB\n' >"$MI"
LD=$T/login.defs
printf 'UID_MIN\t\t\t 1000\nUID_MAX\t\t\t60000\n' >"$LD"

# run CMD...: stdout to $T/out, stderr to $T/err, status to $RC
run() {
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
}
# mg ARGS...: memguardctl with the fake meminfo and login.defs
mg() { run "$CTL" --meminfo "$MI" --login-defs "$LD" "$@"; }

show_io() {
	echo "--- stdout:"; cat "$T/out"; echo "--- stderr:"; cat "$T/err"
}
# expect_rc DESC WANT
expect_rc() {
	if [ "$RC" = "$2" ]; then ok "$1"; else notok "$1" "expected exit $2, got $RC" "$(show_io)"; fi
}
# expect DESC WANT_RC FILE(out|err) FIXED-STRING...: exit code and every string in the stream
expect() {
	d=$1 want=$2 f=$T/$3; shift 3
	why=
	[ "$RC" = "$want" ] || why="expected exit $want, got $RC"
	for s in "$@"; do
		grep -qF -- "$s" "$f" || why="$why${why:+; }missing in $(basename "$f"): $s"
	done
	if [ -z "$why" ]; then ok "$d"; else notok "$d" "$why" "$(show_io)"; fi
}
# expect_not DESC FILE STRING: STRING must not appear
expect_not() {
	if grep -qF -- "$3" "$T/$2"; then notok "$1" "unexpected in $2: $3" "$(show_io)"; else ok "$1"; fi
}
# same DESC WANTFILE GOTFILE: byte-exact
same() {
	if cmp -s "$2" "$3"; then ok "$1"; else
		notok "$1" "files differ: expected $2 vs actual $3" "$(diff "$2" "$3" 2>&1 | head -20)" "$(show_io)"
	fi
}
check_json() {
	if python3 -m json.tool "$T/out" >/dev/null 2>"$T/jsonerr"; then ok "$1"; else
		notok "$1" "not valid JSON: $(cat "$T/jsonerr")" "$(show_io)"
	fi
}
# only_names DESC DIR NAME...: ls -A of DIR is exactly these names
only_names() {
	d=$1 dir=$2; shift 2
	want=$(printf '%s\n' "$@" | LC_ALL=C sort)
	got=$(ls -A "$dir" | LC_ALL=C sort)
	if [ "$want" = "$got" ]; then ok "$d"; else notok "$d" "expected entries: $(echo $want)" "actual entries: $(echo $got)"; fi
}

########## 1. usage
run "$CTL" --help
expect "--help exits 0 with usage on stdout" 0 out "Usage: memguardctl [OPTIONS] COMMAND [ARGS]" "Exit status: 0 success"
[ -s "$T/err" ] && notok "--help writes nothing to stderr" "$(show_io)" || ok "--help writes nothing to stderr"
run "$CTL" -h
expect "-h exits 0" 0 out "Usage: memguardctl"
run "$CTL" --version
expect "--version prints name and version" 0 out "memguardctl "
if grep -qxE 'memguardctl [0-9]+\.[0-9]+\.[0-9]+' "$T/out"; then ok "--version format"; else notok "--version format" "got: $(cat "$T/out")"; fi
run "$CTL" frobnicate
expect "unknown command exits 2" 2 err "unknown command 'frobnicate'" "Try 'memguardctl --help'"
run "$CTL"
expect "no command exits 2" 2 err "no command given" "Try 'memguardctl --help'"
run "$CTL" --bogus-option check
expect "unknown option exits 2" 2 err "Try 'memguardctl --help'"
run "$CTL" --policy "$T/none.conf" set
expect "set without args exits 2" 2 err "set needs a target" "Try 'memguardctl --help'"
run "$CTL" --policy "$T/none.conf" set alice
expect "set without KEY=VALUE exits 2" 2 err "set needs a target" "Try 'memguardctl --help'"
run "$CTL" --policy "$T/none.conf" show
expect "show without user exits 2" 2 err "Try 'memguardctl --help'"
run "$CTL" --policy "$T/none.conf" unset
expect "unset without target exits 2" 2 err "unset needs a target" "Try 'memguardctl --help'"
run "$CTL" --policy "$T/none.conf" --json set alice memory.max=1G
expect "set --json exits 2" 2 err "set has no --json output" "Try 'memguardctl --help'"
[ -e "$T/none.conf" ] && notok "usage errors create no policy" || ok "usage errors create no policy"
run "$CTL" --policy "$T/none.conf" --strict list
expect "--strict with list exits 2" 2 err "--strict and --no-names go with check" "Try 'memguardctl --help'"
run "$CTL" --policy "$T/none.conf" --file x.conf check
expect "--file with check exits 2" 2 err "--file goes with set, unset and edit" "Try 'memguardctl --help'"
# status: usage errors, and live state that cannot be read (no root needed)
mg --backend=bogus status
expect "status --backend=bogus exits 2" 2 err "--backend=bogus: expected auto, systemd or cgroupfs" "Try 'memguardctl --help'"
mg --cgroup-root /sys/fs/cgroup/memguard show alice
expect "--cgroup-root with show exits 2" 2 err "--backend and --cgroup-root go with status and apply, not show"
mg --backend=systemd --cgroup-root "$T/cg" status
expect "status --backend=systemd --cgroup-root exits 2" 2 err "--cgroup-root is for the cgroupfs backend"
mkdir -p "$T/notcg"
mg --policy "$T/none.conf" --cgroup-root "$T/notcg/memguard" status alice
expect "status with a cgroup root outside a cgroup file system exits 1" 1 err \
	"no cgroup memory controller at $T/notcg/memguard: not a cgroup file system"
run env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/nobus" "$CTL" --meminfo "$MI" --login-defs "$LD" \
	--policy "$T/none.conf" --backend=systemd status alice
expect "status --backend=systemd with the system bus down exits 1" 1 err "cannot connect to the system bus"
[ -s "$T/out" ] && notok "a status that cannot read the live state prints nothing on stdout" "$(show_io)" ||
	ok "a status that cannot read the live state prints nothing on stdout"
run "$CTL" --help
expect "--help lists status and its options" 0 out "status [USER...]" "--backend=auto|systemd|cgroupfs" "--cgroup-root DIR"
# apply: usage errors, and live state that cannot be read (no root needed)
mg --lower show alice
expect "--lower with show exits 2" 2 err "--dry-run and --lower go with apply, not show" "Try 'memguardctl --help'"
mg --dry-run status
expect "--dry-run with status exits 2" 2 err "--dry-run and --lower go with apply, not status"
mg --backend=systemd --cgroup-root "$T/cg" apply --dry-run
expect "apply --backend=systemd --cgroup-root exits 2" 2 err "--cgroup-root is for the cgroupfs backend"
mg --policy "$T/none.conf" --cgroup-root "$T/notcg/memguard" apply --dry-run alice
expect "apply --dry-run with a cgroup root outside a cgroup file system exits 1" 1 err \
	"no cgroup memory controller at $T/notcg/memguard: not a cgroup file system"
[ -s "$T/out" ] && notok "an apply that cannot read the live state prints nothing on stdout" "$(show_io)" ||
	ok "an apply that cannot read the live state prints nothing on stdout"
run env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/nobus" "$CTL" --meminfo "$MI" --login-defs "$LD" \
	--policy "$T/none.conf" --backend=systemd apply --dry-run alice
expect "apply --backend=systemd with the system bus down exits 1" 1 err "cannot connect to the system bus"
run "$CTL" --help
expect "--help lists apply and its options" 0 out "apply [USER...]" "--dry-run" "--lower"

########## 2. check
C=$T/chk
mkdir "$C"
printf '# clean\n*\tmemory.max=8G memory.high=6G\n\n@staff memory.max=12G\n1000:1999 memory.swap.max=0\n' >"$C/good.conf"
mg --policy "$C/good.conf" --no-names check
expect "check: clean policy exits 0" 0 out "policy OK: 3 rules in 1 file, 0 errors, 0 warnings"
[ -s "$T/err" ] && notok "check: clean policy prints no diagnostics" "$(show_io)" || ok "check: clean policy prints no diagnostics"

B=$C/bad.conf
printf '*\tmemory.max=8G\nalice memory.hihg=1G\nroot memory.max=12Q\nroot memory.max=2G memory.max=3G\ncarol memory.high=10G\n' >"$B"
mg --policy "$B" --no-names check
expect "check: several errors, exit 1" 1 err \
	"$B:2:7: error: unknown key 'memory.hihg' (did you mean memory.high?)" \
	"$B:3:17: error: memory.max=12Q: not a size" \
	"$B:4:20: error: memory.max is set twice on this line (first at column 6)" \
	"$B:5:7: error: memory.high=10G is above memory.max=8G (for carol, with $B:1)"
expect "check: summary counts 4 errors" 1 out "policy has problems: 2 rules in 1 file, 4 errors, 0 warnings"
mg --policy "$B" --no-names --json check
expect_rc "check --json with errors exits 1" 1
check_json "check --json output is valid JSON"
expect "check --json reports ok false and 4 errors" 1 out '"ok":false' '"errors":4'
mg --policy "$C/good.conf" --no-names --json check
check_json "check --json clean output is valid JSON"
expect "check --json clean: ok true" 0 out '"ok":true'

# JSON is UTF-8; a policy file need not be: a byte that is not UTF-8
# becomes U+FFFD, well-formed UTF-8 passes through.
U8=$C/utf8.conf
printf 'caf\303\251 memory.max=1G\nbad\377name memory.max=2G\n' >"$U8"
mg --policy "$U8" --json list
check_json "list --json of a policy with a non-UTF-8 name is valid JSON"
expect "list --json keeps UTF-8 and replaces the stray byte" 0 out "$(printf '"who":"caf\303\251"')" '"who":"bad\ufffdname"'

W=$C/warn.conf
printf '*\tmemory.max=8G\nnosuchuser-zz memory.max=4G\n' >"$W"
mg --policy "$W" check
expect "check: unknown user is a warning, exit 0" 0 err "$W:2:1: warning: unknown user 'nosuchuser-zz'"
mg --policy "$W" --strict check
expect "check --strict: warning makes exit 1" 1 err "$W:2:1: warning: unknown user 'nosuchuser-zz'"
mg --policy "$W" --strict --no-names check
expect "check --strict --no-names: no lookup, exit 0" 0 out "0 warnings"
expect_not "check --no-names: no unknown-user warning" err "unknown user"
mg --policy "$C/missing.conf" check
expect "check: missing --policy file exits 1" 1 err "missing.conf"

########## 3. set / unset, byte-exact
S=$T/set
mkdir "$S"
P=$S/p.conf
printf '# memguard policy\n#   aligned columns\n\n*\t\tmemory.max=16G\t\tmemory.high=3G\nalice\t\tmemory.max=4G\toom_score_adj=100   # alice\n\nbob\t\tmemory.max=6G memory.high=5G\n\t# indented comment\n@staff\t\tmemory.max=10G\n' >"$P"
chmod 0640 "$P"
cp "$P" "$S/orig"
E=$T/expected
# expected after set alice memory.max=8G: only 4G -> 8G
printf '# memguard policy\n#   aligned columns\n\n*\t\tmemory.max=16G\t\tmemory.high=3G\nalice\t\tmemory.max=8G\toom_score_adj=100   # alice\n\nbob\t\tmemory.max=6G memory.high=5G\n\t# indented comment\n@staff\t\tmemory.max=10G\n' >"$E.1"
mg --policy "$P" set alice memory.max=8G
expect "set alice memory.max=8G exits 0 and names the line" 0 out "$P:5: alice memory.max=8G"
same "set changes only the value token" "$E.1" "$P"
m=$(stat -c %a "$P")
[ "$m" = 640 ] && ok "set keeps mode 0640" || notok "set keeps mode 0640" "mode is $m"
only_names "set leaves no temp files" "$S" orig p.conf p.conf.lock

mg --policy "$P" set alice memory.max=8G
expect "set with the same value: no changes, exit 0" 0 out "no changes: $P already says that"
same "no-change set leaves the file byte-identical" "$E.1" "$P"

# new target appended at the end
{ cat "$E.1"; printf 'carol          memory.max=2G   memory.high=1G\n'; } >"$E.2"
mg --policy "$P" set carol memory.max=2G memory.high=1G
expect "set for a new target appends a rule" 0 out "$P:10: carol memory.max=2G memory.high=1G"
same "new rule is the last line, rest unchanged" "$E.2" "$P"

sed 's/^bob\t\tmemory.max=6G memory.high=5G$/bob\t\tmemory.max=6G/' "$E.2" >"$E.3"
printf '# memguard policy\n#   aligned columns\n\n*\t\tmemory.max=16G\t\tmemory.high=3G\nalice\t\tmemory.max=8G\toom_score_adj=100   # alice\n\nbob\t\tmemory.max=6G\n\t# indented comment\n@staff\t\tmemory.max=10G\ncarol          memory.max=2G   memory.high=1G\n' >"$E.3"
mg --policy "$P" unset bob memory.high
expect "unset bob memory.high removes one setting" 0 out "$P: removed 1 setting for bob"
same "unset KEY removes only that token" "$E.3" "$P"

printf '# memguard policy\n#   aligned columns\n\n*\t\tmemory.max=16G\t\tmemory.high=3G\nalice\t\tmemory.max=8G\toom_score_adj=100   # alice\n\n\t# indented comment\n@staff\t\tmemory.max=10G\ncarol          memory.max=2G   memory.high=1G\n' >"$E.4"
mg --policy "$P" unset bob
expect "unset bob removes the rule" 0 out "$P: removed 1 rule for bob"
same "unset WHO removes only that line" "$E.4" "$P"
mg --policy "$P" unset bob
expect "unset of an absent rule: no changes, exit 0" 0 out "no changes: $P already has none of that"
same "no-change unset leaves the file byte-identical" "$E.4" "$P"

mg --policy "$P" set alice memory.high=9G
expect "set memory.high above memory.max is refused" 1 err "$P:5:42: error: memory.high=9G is above memory.max=8G" "$P not changed: the result would not be valid"
same "refused set leaves the file byte-identical" "$E.4" "$P"
mg --policy "$P" set alice memory.max=1M
expect "set memory.max below the floor is refused" 1 err "$P:5:19: error: memory.max=1M is below the 32M floor" "$P not changed"
same "floor-refused set leaves the file byte-identical" "$E.4" "$P"
mg --policy "$P" set alice memory.hihg=1G
expect "set of an unknown key is refused" 1 err "unknown key 'memory.hihg' (did you mean memory.high?)"
same "unknown-key set leaves the file byte-identical" "$E.4" "$P"
only_names "refused sets leave no temp files" "$S" orig p.conf p.conf.lock

# drop-ins
mg --policy "$P" --file 50-x.conf set alice memory.max=7G
expect "set --file 50-x.conf writes the drop-in" 0 out "$S/p.d/50-x.conf:1: alice memory.max=7G"
if [ -d "$S/p.d" ] && [ -f "$S/p.d/50-x.conf" ]; then ok "--file creates the .d dir and the drop-in"; else notok "--file creates the .d dir and the drop-in" "$(ls -lAR "$S")"; fi
printf 'alice          memory.max=7G\n' >"$E.5"
same "drop-in content" "$E.5" "$S/p.d/50-x.conf"
same "main file untouched by drop-in set" "$E.4" "$P"
only_names "drop-in dir has only 50-x.conf" "$S/p.d" 50-x.conf
mg --policy "$P" set alice memory.max=9G
expect "set in main file warns that the later drop-in wins" 0 err "warning: $S/p.d/50-x.conf:1 sets memory.max for alice too and, read later, wins"
mg --policy "$P" --file 50-x.conf unset alice
expect "unset in drop-in" 0 out "$S/p.d/50-x.conf: removed 1 rule for alice"
mg --policy "$P" --file 50-x.conf unset alice
expect "repeated unset: no changes" 0 out "no changes"

# symlinks
L=$T/link
mkdir "$L" "$L/real"
printf '*\tmemory.max=8G\n' >"$L/real/p.conf"
ln -s real/p.conf "$L/p.conf"
mg --policy "$L/p.conf" set dave memory.max=4G
expect_rc "set through a symlinked policy exits 0" 0
[ -L "$L/p.conf" ] && ok "symlink stays a symlink" || notok "symlink stays a symlink" "$(ls -l "$L")"
printf '*\tmemory.max=8G\ndave           memory.max=4G\n' >"$E.6"
same "symlink target was written" "$E.6" "$L/real/p.conf"
only_names "no temp files beside the real file" "$L/real" p.conf
ln -s real/missing.conf "$L/dangling.conf"
mg --policy "$L/dangling.conf" set dave memory.max=4G
expect "dangling symlink is refused, exit 1" 1 err "is a symbolic link to a missing file; not replacing the link"
if [ -L "$L/dangling.conf" ] && [ ! -e "$L/real/missing.conf" ]; then ok "dangling link left alone"; else notok "dangling link left alone" "$(ls -lR "$L")"; fi

########## 4. show with nss_wrapper
NSSW=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
H=$T/show
mkdir "$H"
cat >"$H/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
alice:x:1001:100:Alice:/home/alice:/bin/sh
bob:x:1002:100:Bob:/home/bob:/bin/sh
dave:x:1003:100:Dave:/home/dave:/bin/sh
svc:x:500:100:Service:/:/bin/sh
PW
cat >"$H/group" <<'GR'
root:x:0:
users:x:100:
staff:x:2000:alice,bob
dev:x:2001:alice
GR
P=$H/p.conf
printf '*\tmemory.max=8G\nbob memory.max=4G\n@staff memory.max=6G memory.high=5G\n@dev memory.max=5G\ndave memory.high=3G\n' >"$P"
mkdir "$H/p.d"
printf 'dave memory.high=2G\n' >"$H/p.d/10-a.conf"
nss() { run env LD_PRELOAD="$NSSW" NSS_WRAPPER_PASSWD="$H/passwd" NSS_WRAPPER_GROUP="$H/group" \
	"$CTL" --meminfo "$MI" --login-defs "$LD" --policy "$P" "$@"; }
# has_line DESC KEY FRAGMENT: a stdout line for KEY containing FRAGMENT
has_line() {
	if awk -v k="$2" -v f="$3" '$1 == k && index($0, f) { found = 1 } END { exit !found }' "$T/out"; then
		ok "$1"; else notok "$1" "no '$2' line with: $3" "$(show_io)"; fi
}
if [ -r "$NSSW" ]; then
	nss show alice
	expect "show alice exits 0, groups from member lists" 0 out "user alice (uid 1001), groups:" "staff" "dev"
	has_line "supplementary group value applies; later of two groups wins" memory.max "$P:4 '@dev'"
	has_line "group-only key from @staff applies" memory.high "$P:3 '@staff'"
	nss show bob
	has_line "user rule beats a later group rule" memory.max "$P:2 'bob'"
	has_line "group key still applies when the user rule lacks it" memory.high "$P:3 '@staff'"
	nss show dave
	has_line "drop-in read after the main file wins" memory.high "$H/p.d/10-a.conf:1 'dave'"
	has_line "'*' applies to a regular uid" memory.max "$P:1 '*'"
	nss --json show alice
	check_json "show --json is valid JSON"
	expect "show --json carries file and line" 0 out '"file":' '"line":4' '"who":"@dev"'
	if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["settings"]["memory.max"]; sys.exit(not (s["file"]==sys.argv[2] and s["line"]==4))' "$T/out" "$P" 2>/dev/null
	then ok "show --json memory.max comes from $P line 4"; else notok "show --json memory.max from line 4" "$(cat "$T/out")"; fi
	nss show svc
	expect "'*' does not apply below UID_MIN" 0 out "note: '*' rules do not apply: uid 500 is outside UID_MIN..UID_MAX (1000.."
	has_line "svc gets no memory.max" memory.max "not set"
	nss show nosuch
	expect_rc "show of an unknown user exits 1" 1
else
	echo "# SKIP nss_wrapper tests: $NSSW missing"
fi

########## 5. trust
R=$T/trust
mkdir "$R"
printf '*\tmemory.max=8G\n' >"$R/p.conf"
chmod 666 "$R/p.conf"
mg --policy "$R/p.conf" --no-names check
expect "world-writable policy: check exits 1, not trusted" 1 err "group- or world-writable (mode 0666): pam_memguard will not trust it"
chmod 644 "$R/p.conf"
mg --policy "$R/p.conf" --no-names check
expect_rc "same policy mode 0644: check exits 0" 0
if [ "$(id -u)" = 0 ]; then
	chown nobody "$R/p.conf"
	mg --policy "$R/p.conf" --no-names check
	expect "non-root-owned policy: check exits 1, not trusted" 1 err "not root: pam_memguard will not trust it"
	chown 0 "$R/p.conf"
	mkdir -m 0777 "$R/p.d"
	mg --policy "$R/p.conf" --no-names check
	expect "world-writable drop-in dir: check exits 1" 1 err "will not trust it"
else
	echo "# SKIP chown trust tests: not root"
fi

########## 6. edit
D=$T/edit
mkdir "$D"
P=$D/p.conf
printf '# edit me\n*\tmemory.max=8G\n' >"$P"
cp "$P" "$D/orig"
cat >"$T/ed-append" <<'ED'
#!/bin/sh
printf 'erin memory.max=2G\n' >>"$1"
ED
cat >"$T/ed-noop" <<'ED'
#!/bin/sh
exit 0
ED
cat >"$T/ed-bad" <<'ED'
#!/bin/sh
printf 'erin memory.max=lots\n' >>"$1"
ED
cat >"$T/ed-fail" <<'ED'
#!/bin/sh
printf 'erin memory.max=2G\n' >>"$1"
exit 1
ED
chmod +x "$T"/ed-*
run env EDITOR="$T/ed-noop" "$CTL" --meminfo "$MI" --policy "$P" edit </dev/null
expect "edit without changes: no changes, exit 0" 0 out "no changes made to $P"
same "edit without changes: file unchanged" "$D/orig" "$P"
run env EDITOR="$T/ed-bad" "$CTL" --meminfo "$MI" --policy "$P" edit <<'IN'
d
IN
expect "bad edit + d: exit 1 with the error" 1 err "$P:3:17: error: memory.max=lots: not a size" "(e)dit again, (d)iscard"
same "bad edit discarded: file unchanged" "$D/orig" "$P"
run env EDITOR="$T/ed-fail" "$CTL" --meminfo "$MI" --policy "$P" edit </dev/null
expect "failing editor: exit 1, unchanged" 1 err "failed; $P is unchanged"
same "failing editor: file unchanged" "$D/orig" "$P"
run env VISUAL="$T/ed-append" EDITOR=false "$CTL" --meminfo "$MI" --policy "$P" edit </dev/null
expect "edit appending a valid rule is saved (VISUAL beats EDITOR)" 0 out "$P written"
{ cat "$D/orig"; printf 'erin memory.max=2G\n'; } >"$E.7"
same "edited file content" "$E.7" "$P"
only_names "edit leaves no copies behind" "$D" orig p.conf p.conf.lock

########## 7. concurrency
K=$T/conc
mkdir "$K"
P=$K/p.conf
printf '*\tmemory.max=8G\n' >"$P"
i=0
while [ $i -lt 50 ]; do
	"$CTL" --meminfo "$MI" --policy "$P" set "user$i" memory.max=1G >/dev/null 2>&1 &
	i=$((i + 1))
done
wait
n=$(grep -c '^user[0-9]* .*memory.max=1G$' "$P")
[ "$n" = 50 ] && ok "50 concurrent sets: 50 rules present" || notok "50 concurrent sets: 50 rules present" "found $n"
n=$(cut -d' ' -f1 "$P" | grep '^user' | sort -u | wc -l)
[ "$n" = 50 ] && ok "50 concurrent sets: 50 distinct users" || notok "50 concurrent sets: 50 distinct users" "found $n"
mg --policy "$P" --no-names check
expect "policy after concurrent sets passes check" 0 out "policy OK: 51 rules"
only_names "concurrent sets leave no temp files" "$K" p.conf p.conf.lock

# kill -9 at varying points during a set on a 20k-rule policy
B=$T/big
mkdir "$B"
P=$B/p.conf
awk 'BEGIN { print "*\tmemory.max=8G"; for (i = 0; i < 20000; i++) printf "u%d memory.max=1G\n", i }' >"$P"
iter=0 bad=0 why=
while [ $iter -lt 20 ]; do
	if [ $((iter % 2)) = 0 ]; then new=2G; else new=1G; fi
	"$CTL" --meminfo "$MI" --policy "$P" set u10000 memory.max=$new >/dev/null 2>&1 &
	pid=$!
	j=0
	while [ $j -lt $((iter * 150)) ]; do j=$((j + 1)); done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	"$CTL" --meminfo "$MI" --policy "$P" --no-names check >"$T/out" 2>"$T/err" ||
		{ bad=1; why="$why iter $iter: check failed: $(head -3 "$T/err");"; }
	c=$(grep -cxE 'u10000 memory\.max=(1G|2G)' "$P")
	[ "$c" = 1 ] || { bad=1; why="$why iter $iter: $c rules for u10000;"; }
	l=$(wc -l <"$P")
	[ "$l" = 20001 ] || { bad=1; why="$why iter $iter: $l lines;"; }
	extra=$(ls -A "$B" | grep '\.conf$' | grep -vx 'p.conf')
	[ -z "$extra" ] || { bad=1; why="$why iter $iter: stray *.conf: $extra;"; }
	iter=$((iter + 1))
done
if [ $bad = 0 ]; then ok "kill -9 during set x20: policy old or new, valid, no *.conf temp"; else notok "kill -9 during set x20" "$why"; fi
# a set that finishes works after all the kills (lock not stuck)
mg --policy "$P" set u10000 memory.max=3G
expect "set after the kills succeeds" 0 out "u10000 memory.max=3G"
c=$(grep -cx 'u10000 memory.max=3G' "$P")
[ "$c" = 1 ] && ok "final value written" || notok "final value written" "count $c"

echo "1..$N"
[ $FAILED = 0 ] || { echo "# $FAILED of $N failed"; exit 1; }
exit 0
