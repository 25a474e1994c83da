#!/bin/sh
# Writes a realistic memguard policy of N rules to stdout, for the benchmark:
# mostly user rules, some @group rules and uid ranges, one "*" and one %all
# line, section comments, blank lines and trailing comments, aligned like the
# shipped example. Deterministic (its own LCG, the same text with any awk).
# Every rule is valid against the "*" defaults on a machine of 64 GiB, so
# 'memguardctl check --no-names' finds nothing to say.
#
#   sh bench/gen-policy.sh N [USER [GROUP]]
#
# USER and GROUP (default nobody, nogroup) get a rule each at the very end,
# so that resolving USER has to walk every rule before it finds its own.
set -u
n=${1:?usage: gen-policy.sh N [USER [GROUP]]}
user=${2:-nobody}
group=${3:-nogroup}

awk -v n="$n" -v user="$user" -v group="$group" '
function rnd(m) { seed = (seed * 16807) % 2147483647; return seed % m }
function rule(who, settings, comment) {
	line = sprintf("%-14s %s", who, settings)
	if (comment != "")
		line = line "   # " comment
	print line
}
function limits(   mx, s) {
	if (rnd(20) == 0) {
		mx = 30 + 5 * rnd(8)
		return sprintf("memory.max=%d%%   memory.high=%d%%", mx, mx - 5)
	}
	mx = 2 + rnd(31)
	s = sprintf("memory.max=%dG   memory.high=%dG", mx, mx - 1)
	if (rnd(4) == 0)
		s = s sprintf("   oom_score_adj=%d", rnd(1001) - 500)
	if (rnd(8) == 0)
		s = s sprintf("   session.memory.max=%dG", mx > 3 ? int(mx / 2) : mx)
	if (rnd(16) == 0)
		s = s "   memory.swap.max=0"
	if (rnd(32) == 0)
		s = s "   oom.group=yes"
	return s
}
BEGIN {
	seed = 20240601
	print "# /etc/security/memguard.conf: generated for the memguardctl benchmark"
	print "# who          settings"
	print ""
	rule("*", "memory.max=25%   memory.high=20%   oom_score_adj=100", "")
	print ""
	nu = ng = nr = 0
	for (i = 0; i < n - 4; i++) {
		if (i % 50 == 0)
			printf("\n# --- section %d\n", i / 50)
		k = rnd(100)
		c = rnd(10) == 0 ? sprintf("ticket %d", 1000 + rnd(9000)) : ""
		if (k < 85)
			rule(sprintf("u%06d", ++nu), limits(), c)
		else if (k < 95)
			rule(sprintf("@grp%05d", ++ng), limits(), c)
		else {
			lo = 100000 + 100 * nr++
			rule(lo ":" lo + 99, limits(), c)
		}
	}
	print ""
	print "# the benchmark user and its group come last"
	rule("@" group, "memory.max=12G   memory.high=10G", "")
	rule(user, "memory.max=8G   memory.high=4G   oom_score_adj=-200   session.memory.max=6G", "")
	rule("%all", "memory.max=80%   memory.swap.max=4G", "")
}'
