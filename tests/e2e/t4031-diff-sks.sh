#!/bin/sh
# pgpsync diff against a real SKS keyserver: what a refresh would bring,
# shown without changing anything.  SKS holds a newer version of one key
# (with its revocation), another key as it is, and an attacker's
# certificate carrying the first key's primary key as a subkey (SKS
# verifies nothing); a third key of the set is not on the server.  The
# packets diff says a refresh adds are the ones fetch then brings.
. "$(dirname "$0")/lib.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
C=$SRCDIR/tests/data/certs
K=$SRCDIR/tests/data/keys

if ! test_have_prereq GPG || ! test_have_prereq SKS; then
	test_skip 'diff against SKS' 'needs gpg and sks (apt-get install sks)'
	test_done
fi

TMPD=$(mktemp -d /tmp/pgps-t4031.XXXXXX) || exit 1
chmod 700 "$TMPD"
SKS=$TMPD/sks
test_at_exit 'cd / && "$FIXTURE" destroy "$SKS" >/dev/null 2>&1
rm -rf "$TMPD"'

ALICE=$(pgpsync dump hashes "$C/alice.pgp" | cut -d' ' -f2)
BOB=$(pgpsync dump hashes "$C/bob.pgp" | cut -d' ' -f2)
gpg --batch --quiet --no-options --dearmor <"$K/dana-ed25519.asc" \
    >dana.pgp || exit 1
DANA=$(pgpsync dump hashes dana.pgp | cut -d' ' -f2)
gpg --batch --quiet --no-options --dearmor <"$K/erin-ed25519.asc" \
    >erin.pgp || exit 1
ERIN=$(pgpsync dump hashes erin.pgp | cut -d' ' -f2)

# The attacker (Erin's key plays it): Erin's certificate, then Alice's
# primary key packet (legacy header, 51 octets) re-tagged as a subkey,
# then a copy of the binding under Alice's own subkey (offset 290 of
# alice.pgp), which does not verify.  SKS keeps it.
{
	cat erin.pgp &&
	printf '\270\063' &&
	tail -c +3 "$C/alice.pgp" | head -c 51 &&
	tail -c +291 "$C/alice.pgp"
} >attacker.pgp || exit 1

test_expect_success 'setup: SKS holds the newer Alice, Bob, the forgery' '
	test ${#ALICE} = 40 && test ${#BOB} = 40 && test ${#DANA} = 40 &&
	    test ${#ERIN} = 40 &&
	"$FIXTURE" start "$SKS" --no-gossip --owner $$ \
	    --keys "$C/alice-revoked.pgp" --keys "$C/bob.pgp" \
	    --keys attacker.pgp >/dev/null &&
	cat "$C/alice.pgp" "$C/bob.pgp" dana.pgp >ring.pgp &&
	cp ring.pgp ring.orig
'
PORT=$("$FIXTURE" port "$SKS" hkp 2>/dev/null)
HKP=hkp://127.0.0.1:$PORT

test_expect_success 'the update shows, the forgery is refused, no change' '
	test_expect_code 3 pgpsync diff ring.pgp "$HKP" >out 2>err &&
	grep -q "^~ $ALICE Alice" out &&
	grep -q "^    + revocation 0x20 on the primary key" out &&
	grep -qx -- "- $DANA" out &&
	test_must_fail grep -q "^[-+~] $BOB" out &&
	test_must_fail grep -q "$ERIN" out &&
	test_must_fail grep -qi "erin" out &&
	grep -q "refused $ERIN from .*only as a subkey" err &&
	cmp ring.pgp ring.orig
'

test_expect_success '--stat counts the same' '
	test_expect_code 3 pgpsync diff --stat ring.pgp "$HKP" >out \
	    2>/dev/null &&
	grep -qx "changed            1" out &&
	grep -qx "only in a          1" out &&
	grep -qx "only in b          0" out &&
	grep -qx "unchanged          1" out
'

test_expect_success 'what diff says a refresh adds is what fetch brings' '
	test_expect_code 3 pgpsync diff ring.pgp "$HKP" >before 2>/dev/null &&
	grep "^    + " before | sort >adds &&
	test -s adds &&
	cp ring.pgp fetched.pgp &&
	test_expect_code 3 pgpsync fetch --keyring fetched.pgp -k "$HKP" \
	    >/dev/null 2>&1;
	test_expect_code 1 pgpsync diff ring.pgp fetched.pgp >after &&
	grep "^    + " after | sort >brought &&
	test_cmp adds brought &&
	test_must_fail grep -q "^    - " after
'

test_done
