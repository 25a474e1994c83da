#!/bin/sh
# Usage: packaged-policy.sh SHIPPED OUT
# Writes the policy a package installs: SHIPPED (etc/memguard.conf) with
# every rule made a comment, so that installing a package caps nobody until
# the admin writes a rule. Removing the "# " turns an example back on.
set -eu
{
	sed -n 1p "$1"
	echo '#'
	echo '# As installed by the package every rule is a comment: nobody is capped'
	echo '# until you write a rule here or in /etc/security/memguard.d/.'
	sed -e 1d -e 's/^\([^#[:space:]]\)/# \1/' "$1"
} >"$2.tmp"
mv "$2.tmp" "$2"
