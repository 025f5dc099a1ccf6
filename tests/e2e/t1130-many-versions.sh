#!/bin/bash
#
# t1130-many-versions: 20,000 versions of one certificate (10 MB, each
# version with a certification of its own) are merged in one pass by dump
# merge and by diff, as a flooded keyserver answer or dump holds them.
# Merging them pairwise cost O(n^2): 65 s for dump merge and minutes for
# diff on a test machine; one pass takes well under a second.  The time
# limit is generous: it catches a return to quadratic cost, not noise.

. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-sks.sh"

KEYS=$SRCDIR/tests/data/keys
N=20000
LIMIT=120

if ! test_have_prereq GPG || ! command -v perl >/dev/null 2>&1 ||
    ! command -v timeout >/dev/null 2>&1; then
	test_skip 'many versions of one certificate' \
	    'needs gpg, perl and timeout'
	test_done
fi

test_expect_success "$N versions of Dana's certificate" '
	dearmor "$KEYS/dana-ed25519.asc" >D &&
	test "$(wc -c <D)" -eq 531 &&
	# version i: Dana with Erin certification (232+119) whose last
	# three octets are i, so that every version has one of its own
	perl -e "
		local \$/; open(my \$f, \"<\", \"D\") or die; binmode \$f;
		my \$d = <\$f>; binmode STDOUT;
		for my \$i (0 .. $N - 1) {
			print substr(\$d, 0, 348), substr(pack(\"N\", \$i), 1),
			    substr(\$d, 351);
		}" >versions.pgp &&
	test "$(wc -c <versions.pgp)" -eq $((N * 531))
'

test_expect_success 'dump merge writes one certificate with them all' '
	timeout $LIMIT pgpsync dump merge --json -o merged.pgp versions.pgp \
	    2>report.json &&
	grep "\"merged\": $((N - 1))" report.json &&
	test "$(pgpsync dump hashes merged.pgp | wc -l)" -eq 1 &&
	# the key, user ID, self-signature, N certifications, subkey, binding
	test "$(wc -c <merged.pgp)" -eq $((531 + (N - 1) * 119))
'

test_expect_success 'diff of the versions against one: N certifications' '
	test_expect_code 1 timeout $LIMIT pgpsync diff D versions.pgp \
	    >diff.out &&
	# all of them new, and the one of D the versions do not have
	test "$(grep -c "^    + certification" diff.out)" -eq $N &&
	test "$(grep -c "^    - certification" diff.out)" -eq 1
'

test_expect_success 'diff of the versions against their merge: nothing' '
	timeout $LIMIT pgpsync diff merged.pgp versions.pgp >same.out
'

test_done
