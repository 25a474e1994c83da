# Sourced by tests/cli/run.sh (its helpers, $T, $CTL, $H, $NSSW, $V1PARENT):
# the live operations commands: the module's configuration read from a
# private pam.d, status, gc, metrics, doctor and top.

########## 20. the module's configuration from pam.d
PD=$T/pamd
mkdir -p "$PD" "$T/notcg"
# A Debian-like layout: services include common-session.
printf 'session required pam_unix.so\nsession required pam_memguard.so cgroup_root=%s [policy=%s]\n-session optional pam_systemd.so\n' \
	"$T/notcg/fromPAM" "$T/none.conf" >"$PD/common-session"
printf '@include common-session\n' >"$PD/su-l"
printf 'session include common-session\n' >"$PD/sshd"
# systemd-user is skipped by the module unless told: its line does not count.
printf 'session required pam_memguard.so cgroup_root=/elsewhere\n' >"$PD/systemd-user"
# A line for another service only (service=) does not count for this one.
printf 'session required pam_memguard.so service=login cgroup_root=/other\n' >"$PD/cron"
mg --pam-dir "$PD" status alice
expect "status takes cgroup_root= from the pam_memguard line that logins run (@include followed)" 1 err \
	"no cgroup memory controller at $T/notcg/fromPAM"
mg --pam-dir "$PD" apply --dry-run alice
expect "apply takes cgroup_root= from pam.d too" 1 err "no cgroup memory controller at $T/notcg/fromPAM"
mg --pam-dir "$PD" --cgroup-root "$T/notcg/given" status alice
expect "an explicit --cgroup-root wins over pam.d" 1 err "no cgroup memory controller at $T/notcg/given"
mg --pam-dir "$PD" list
expect "--pam-dir with list exits 2" 2 err "--pam-dir goes with status, apply, gc, metrics, top and doctor, not list" \
	"Try 'memguardctl --help'"
mg --pam-dir "$T/no-such-pamd" status
expect "a --pam-dir that cannot be read exits 1" 1 err "memguardctl: cannot read the PAM configuration $T/no-such-pamd"
# Two services that disagree: reported with both places, not guessed.
printf 'session required pam_memguard.so cgroup_root=%s policy=%s\n' "$T/notcg/other" "$T/none.conf" >"$PD/login"
mg --pam-dir "$PD" status alice
expect "services that disagree on cgroup_root= are reported with file:line:column, exit 1" 1 err \
	"memguardctl: the PAM services disagree on cgroup_root=: login ($PD/login:1:34): cgroup_root=$T/notcg/other" \
	"sshd ($PD/common-session:2:34): cgroup_root=$T/notcg/fromPAM" "name the one to use with --cgroup-root"
[ -s "$T/out" ] && notok "a disagreement prints nothing on stdout" "$(show_io)" || ok "a disagreement prints nothing on stdout"
mg --pam-dir "$PD" --cgroup-root "$T/notcg/given" status alice
expect "--cgroup-root settles a disagreement" 1 err "no cgroup memory controller at $T/notcg/given"
printf 'session required pam_memguard.so cgroup_root=%s\n' "$T/notcg/fromPAM" >"$PD/login"
mg --pam-dir "$PD" status alice
expect "services that disagree on policy= are reported too" 1 err \
	"memguardctl: the PAM services disagree on policy=: login ($PD/login:1): not given" "name the one to use with --policy"
rm "$PD/login"
# policy= is taken too: a missing one is an error, as for the module.
mkdir -p "$T/pamd2"
if [ -f "$V1PARENT/memory.limit_in_bytes" ] && [ "$(id -u)" = 0 ]; then
	LCG=$V1PARENT/mgcli-live-$$
	mkdir -p "$LCG/memguard"
	printf 'session required pam_memguard.so cgroup_root=%s policy=%s\n' "$LCG/memguard" "$T/pamd2/missing.conf" >"$T/pamd2/sshd"
	mg --pam-dir "$T/pamd2" status
	expect "status reads the policy= of the pam_memguard line (a missing one is an error)" 0 err "$T/pamd2/missing.conf"
	expect "status names where the module's configuration comes from" 0 out "$T/pamd2/sshd:1" "memguard's tree at $LCG/memguard"
	rmdir "$LCG/memguard" "$LCG"
else
	echo "# SKIP policy= from pam.d: needs root and a cgroup v1 memory controller"
fi

########## 21. gc
mg gc extra
expect "gc with an argument exits 2" 2 err "gc takes no arguments" "Try 'memguardctl --help'"
mg --lower gc
expect "gc --lower exits 2" 2 err "--dry-run and --lower go with apply" "Try 'memguardctl --help'"
mg --policy "$T/none.conf" --cgroup-root "$T/notcg/memguard" gc --dry-run
expect "gc with a cgroup root outside a cgroup file system exits 1" 1 err "no cgroup memory controller at $T/notcg/memguard"
run "$CTL" --help
expect "--help lists gc" 0 out "  gc  " "gc: print"

########## 22. metrics
mg metrics extra
expect "metrics with an argument exits 2" 2 err "metrics takes no arguments"
mg --json metrics
expect "metrics --json exits 2 (the format is Prometheus')" 2 err "metrics has no --json output"
mg --output "$T/x.prom" status
expect "--output with status exits 2" 2 err "--output and --sessions go with metrics, not status"
mg --sessions gc
expect "--sessions with gc exits 2" 2 err "--output and --sessions go with metrics, not gc"
mg --sort bogus status
expect "--sort bogus exits 2" 2 err "--sort bogus: expected name, usage or pressure"
mg --sort usage list
expect "--sort with list exits 2" 2 err "--sort goes with status and top, not list"
if [ -f "$V1PARENT/memory.limit_in_bytes" ] && [ "$(id -u)" = 0 ]; then
	LCG=$V1PARENT/mgcli-metrics-$$
	mkdir -p "$LCG/memguard" "$T/prom"
	echo old >"$T/prom/memguard.prom"
	mg --policy "$T/none.conf" --cgroup-root "$LCG/memguard" metrics --output "$T/prom/no-such-dir/memguard.prom"
	expect "metrics --output into a missing directory exits 1 and says why" 1 err "memguardctl: cannot write $T/prom/no-such-dir/memguard.prom"
	mg --policy "$T/none.conf" --cgroup-root "$T/notcg/x" metrics --output "$T/prom/memguard.prom"
	[ "$RC" = 1 ] && [ "$(cat "$T/prom/memguard.prom")" = old ] && ok "a metrics run that cannot read the live state leaves the old file" ||
		notok "a metrics run that cannot read the live state leaves the old file" "$(show_io)"
	mg --policy "$T/none.conf" --cgroup-root "$LCG/memguard" metrics --output "$T/prom/memguard.prom"
	expect_rc "metrics with no user: exit 0" 0
	if grep -qx 'memguard_users 0' "$T/prom/memguard.prom" && grep -q '^memguard_all_memory_usage_bytes [0-9]' "$T/prom/memguard.prom" &&
		grep -q '^# TYPE memguard_all_oom_kills_total counter$' "$T/prom/memguard.prom"; then
		ok "metrics: the host's series with no user logged in"
	else notok "metrics: the host's series with no user logged in" "$(cat "$T/prom/memguard.prom")"; fi
	rmdir "$LCG/memguard" "$LCG"
else
	echo "# SKIP metrics --output: needs root and a cgroup v1 memory controller"
fi

########## 23. doctor
mg doctor extra
expect "doctor with an argument exits 2" 2 err "doctor takes no arguments" "Try 'memguardctl --help'"
SOPATH=$BUILD/pam_memguard.so
if [ -f "$V1PARENT/memory.limit_in_bytes" ] && [ "$(id -u)" = 0 ] && [ -f "$SOPATH" ]; then
	DCG=$V1PARENT/mgcli-doctor-$$
	mkdir -p "$DCG" "$T/doc"
	DP=$T/doc/pamd
	mkdir -p "$DP"
	printf '* memory.max=1G\n' >"$T/doc/memguard.conf"
	chmod 644 "$T/doc/memguard.conf"
	printf 'session required pam_unix.so\nsession required %s cgroup_root=%s policy=%s\n' "$SOPATH" "$DCG/memguard" \
		"$T/doc/memguard.conf" >"$DP/common-session"
	printf '@include common-session\n' >"$DP/sshd"
	printf '@include common-session\n' >"$DP/su-l"
	doc() { mg --pam-dir "$DP" "$@" doctor; }
	doc
	expect "doctor on a healthy setup: exit 0, every finding ok or a note" 0 out "memguard is healthy: 0 errors, 0 warnings" \
		"sshd loads pam_memguard.so; session stack: pam_unix.so pam_memguard.so" "su-l loads pam_memguard.so"
	doc --json
	check_json "doctor --json is valid JSON"
	chmod 664 "$T/doc/memguard.conf"
	doc
	expect "doctor: a group-writable policy is an error with its fix, exit 3" 3 out "error    policy.trust" \
		"$T/doc/memguard.conf" "fix: chown root:root and chmod go-w"
	chmod 644 "$T/doc/memguard.conf"
	sed "s|$SOPATH|$T/doc/missing/pam_memguard.so|" "$DP/common-session" >"$T/doc/cs" && mv "$T/doc/cs" "$DP/common-session"
	doc
	expect "doctor: the module missing where pam.d names it is an error, exit 3" 3 out "error    pam.module" \
		"$DP/common-session:2: sshd names $T/doc/missing/pam_memguard.so, which is not there"
	sed "s|$T/doc/missing/pam_memguard.so|$SOPATH|" "$DP/common-session" >"$T/doc/cs" && mv "$T/doc/cs" "$DP/common-session"
	printf 'session optional pam_systemd.so\nsession required %s cgroup_root=%s policy=%s\n' "$SOPATH" "$DCG/memguard" \
		"$T/doc/memguard.conf" >"$DP/login"
	doc
	expect "doctor: the module after pam_systemd is a finding with its fix" 1 out "warning  pam.order" \
		"$DP/login:2: in login pam_memguard.so comes after pam_systemd.so" "fix: put 'session required pam_memguard.so' before pam_systemd.so"
	rm "$DP/login"
	printf 'session required pam_unix.so\n' >"$DP/common-session-noninteractive"
	printf '@include common-session-noninteractive\n' >"$DP/cron"
	doc
	expect "doctor: cron's sessions outside the caps (common-session-noninteractive) are a warning" 1 out \
		"warning  pam.noninteractive cron's sessions (common-session-noninteractive) run outside memguard's caps"
	rm "$DP/cron" "$DP/common-session-noninteractive"
	doc --cgroup-root "$T/notcg/memguard"
	expect "doctor: no memory controller where the tree goes is an error, exit 3" 3 out "error    cgroup.memory" \
		"no cgroup memory controller at $T/notcg/memguard"
	rm "$DP/sshd" "$DP/su-l" "$DP/common-session"
	doc
	expect "doctor: no service loads the module: memguard is not in force, exit 3" 3 out \
		"no PAM service in $DP loads pam_memguard.so for its sessions: memguard is not in force"
	rmdir "$DCG"
else
	echo "# SKIP doctor: needs root, a cgroup v1 memory controller and $SOPATH"
fi

########## 24. top
mg --iterations 0 top
expect "top --iterations 0 exits 2" 2 err "--iterations 0: expected a count from 1"
mg --interval 2 status
expect "--interval with status exits 2" 2 err "--iterations and --interval go with top, not status"
run "$CTL" --help
expect "--help lists top and doctor" 0 out "top [USER...]" "doctor  " "--iterations N" "3 errors"

########## 25. the documented systemd stack is one configuration
# guest case 35 found it: a phase=post line without backend= beside the
# first line's backend=systemd is no disagreement (it has no say there).
PS=$T/pamd-sd
mkdir -p "$PS"
printf 'session required pam_memguard.so backend=systemd policy=%s\nsession optional pam_systemd.so\nsession required pam_memguard.so phase=post policy=%s\n' \
	"$T/none.conf" "$T/none.conf" >"$PS/su-l"
run env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/nobus" "$CTL" --meminfo "$MI" --login-defs "$LD" --pam-dir "$PS" status
expect "a phase=post line does not disagree with the first line's backend=systemd (systemd backend taken)" 1 err \
	"cannot connect to the system bus"
expect_not "no disagreement reported for the documented stack" err "disagree"
