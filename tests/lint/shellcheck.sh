#!/bin/sh
# Runs shellcheck (at severity warning) over every shell script of the
# tree (run by "make lint"); skipped with a note when shellcheck is
# not installed (.ci/deps installs it).
#
# The end-to-end tests are POSIX sh sourced from lib.sh; their test bodies
# are strings that lib.sh evaluates, so a variable set for them looks
# unused to shellcheck (SC2034).  That and any other known finding is
# listed, with its reason, in shellcheck.allow (next to this script) as
# "FILE-PATTERN CODE REASON..."; the pattern is a shell pattern.

set -u
LINT_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$LINT_DIR/../.." && pwd)
ALLOW=$LINT_DIR/shellcheck.allow

if ! command -v shellcheck >/dev/null 2>&1; then
	echo "shellcheck not installed: scripts not checked"
	exit 0
fi
cd "$TOP" || exit 2
bad=0
for f in tests/*.sh tests/*/*.sh .ci/run .ci/deps; do
	[ -f "$f" ] || continue
	excl=
	while read -r pat code _; do
		case $pat in
		''|'#'*)
			continue
			;;
		esac
		# shellcheck disable=SC2254 # the pattern is the point
		case $f in
		$pat)
			excl=${excl:+$excl,}$code
			;;
		esac
	done <"$ALLOW"
	# Sourced libraries have no shebang: they are POSIX sh.
	shell=
	case $(head -n 1 "$f") in
	'#!'*)
		;;
	*)
		shell='sh'
		;;
	esac
	if ! shellcheck -S warning -x ${shell:+-s "$shell"} \
	    ${excl:+-e "$excl"} "$f"; then
		bad=$((bad + 1))
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "shellcheck: $bad script(s) with findings"
	exit 1
fi
echo "shellcheck ok"
