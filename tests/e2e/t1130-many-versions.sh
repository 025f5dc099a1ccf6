#!/bin/bash
#
# t1130-many-versions: 20,000 versions of one certificate (10 MB, each
# version with a certification of its own) are merged in one pass by dump
# merge, by diff and by a store import, as a flooded keyserver answer or
# dump holds them.
# Merging them pairwise cost O(n^2): 65 s for dump merge and minutes for
# diff on a test machine; one pass takes well under a second.  The time
# limit is generous: it catches a return to quadratic cost, not noise.

. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-sks.sh"

KEYS=$SRCDIR/tests/data/keys
N=20000
LIMIT=120
STORE_LIMIT=40

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

# A store merged each version with the copy put before it, in the lock:
# 111 s for the 20,000 versions on a test machine, about a second now.
test_expect_success 'a store import merges them in one pass' '
	git init -q --bare S &&
	timeout $STORE_LIMIT pgpsync dump import --to store:S versions.pgp \
	    >out &&
	grep "^1 new, $((N - 1)) updated (1000 new signatures," out &&
	# as the store keeps it: the newest 1000 certifications
	pgpsync dump merge --max-sigs 1000 -o want.pgp versions.pgp &&
	pgpsync dump merge -o got.pgp store:S &&
	cmp want.pgp got.pgp
'

test_expect_success 'into a store that has the key: its certification stays' '
	git init -q --bare S2 &&
	pgpsync dump import --to store:S2 D >/dev/null &&
	timeout $STORE_LIMIT pgpsync dump import --to store:S2 \
	    versions.pgp >out &&
	grep "^0 new, $N updated" out &&
	# the one stored and the newest 999 of the versions
	pgpsync dump merge --max-sigs 999 -o v999.pgp versions.pgp &&
	pgpsync dump merge --no-limits -o want2.pgp D v999.pgp &&
	pgpsync dump merge -o got2.pgp store:S2 &&
	cmp want2.pgp got2.pgp
'

# The cap on certifications is no way to delete what a store holds: newer
# certifications (their time is only a claim) compete for the room the
# stored ones leave, and never push one out.
test_expect_success 'newer versions never push a stored certification out' '
	git init -q --bare S3 &&
	pgpsync dump import --max-sigs 3 --to store:S3 D >/dev/null &&
	# ten versions, certified 1+i seconds after the one in D
	perl -e "
		local \$/; open(my \$f, \"<\", \"D\") or die; binmode \$f;
		my \$d = <\$f>; binmode STDOUT;
		my \$t = unpack(\"N\", substr(\$d, 265, 4));
		for my \$i (0 .. 9) {
			print substr(\$d, 0, 265), pack(\"N\", \$t + 1 + \$i),
			    substr(\$d, 269, 79), substr(pack(\"N\", \$i), 1),
			    substr(\$d, 351);
		}" >newer.pgp &&
	pgpsync dump import --max-sigs 3 --to store:S3 newer.pgp >out &&
	grep "^0 new, 10 updated" out &&
	test_expect_code 1 pgpsync diff D store:S3 >diff3.out &&
	test "$(grep -c "^    + certification" diff3.out)" -eq 2 &&
	test_must_fail grep "^    -" diff3.out &&
	# with no room left, nothing new gets in and nothing goes
	pgpsync dump import --max-sigs 1 --to store:S3 newer.pgp >out &&
	grep "^0 new, 0 updated (0 new signatures.* 10 unchanged" out &&
	test_expect_code 1 pgpsync diff D store:S3 >diff4.out &&
	test_must_fail grep "^    -" diff4.out
'

test_done
