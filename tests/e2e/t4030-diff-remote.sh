#!/bin/sh
# pgpsync diff with a keyserver on the right: what a refresh would bring,
# nothing changed.  Each key of the left set is looked up; only a
# certificate whose primary key is the one asked for answers (a forged
# certificate carrying the victim's primary key as a subkey is refused,
# not shown as the victim's key); a key the server lacks is only on the
# left; a server that cannot be reached is an error, not "nothing
# differs".  The stub server tests/hkpd plays the keyserver.
. "$(dirname "$0")/lib.sh"

C=$SRCDIR/tests/data/certs
if ! test_have_prereq GPG || ! [ -x "$SRCDIR/tests/hkpd/hkpd" ]; then
	test_skip 'diff against a keyserver' 'needs gpg and tests/hkpd/hkpd'
	test_done
fi
. "$SRCDIR/tests/e2e/lib-hkpd.sh"

ALICE=$(pgpsync dump hashes "$C/alice.pgp" | cut -d' ' -f2)
BOB=$(pgpsync dump hashes "$C/bob.pgp" | cut -d' ' -f2)
LOOKUP='/pks/lookup?op=get&options=mr&search=0x'

# The attacker's certificate: Bob's key and user ID, then Alice's primary
# key packet (a legacy header, 51 octets) re-tagged as a subkey (0xB8),
# unbound.  Bob plays the attacker.
{
	cat "$C/bob.pgp" &&
	printf '\270\063' &&
	tail -c +3 "$C/alice.pgp" | head -c 51
} >attacker.pgp || exit 1
cat "$C/alice-revoked.pgp" attacker.pgp >both.pgp || exit 1
# Alice's certificate with a key revocation that claims her as issuer
# but whose signature value is garbage: its last four octets replaced.
{
	head -c 53 "$C/alice.pgp" &&
	head -c 171 "$C/alice-revoked.pgp" | tail -c +54 &&
	printf 'XXXX' &&
	tail -c +54 "$C/alice.pgp"
} >badrev.pgp || exit 1
printf 'HTTP/1.0 200 OK\r\nContent-Type: application/pgp-keys\r\n\r\n%s' \
    'this is not a certificate' >hkp/garbage.http || exit 1
hkpd_reply updated.http "$C/alice-revoked.pgp" &&
hkpd_reply same.http "$C/alice.pgp" &&
hkpd_reply forged.http attacker.pgp &&
hkpd_reply both.http both.pgp &&
hkpd_reply badrev.http badrev.pgp || exit 1
hkpd_start UPD "GET $LOOKUP$ALICE file updated.http"
hkpd_start SAME "GET $LOOKUP$ALICE file same.http"
hkpd_start FORGED "GET $LOOKUP$ALICE file forged.http"
hkpd_start BOTH "GET $LOOKUP$ALICE file both.http"
hkpd_start FAIL "GET $LOOKUP status 503"
hkpd_start BADREV "GET $LOOKUP$ALICE file badrev.http"
hkpd_start GARBAGE "GET $LOOKUP file garbage.http"

test_expect_success 'setup' '
	test ${#ALICE} = 40 && test ${#BOB} = 40 &&
	cp "$C/alice.pgp" ring.pgp &&
	cat "$C/alice.pgp" "$C/bob.pgp" >ab.pgp &&
	cp ring.pgp ring.orig
'

test_expect_success 'a key updated on the server shows as changed' '
	test_expect_code 1 pgpsync diff ring.pgp "hkp://$UPD" >out 2>err &&
	grep -qx "+++ hkp://$UPD" out &&
	grep -q "^~ $ALICE Alice" out &&
	grep -q "^    + revocation 0x20 on the primary key" out &&
	cmp ring.pgp ring.orig
'

test_expect_success '--stat and --json say the same' '
	test_expect_code 1 pgpsync diff --stat ring.pgp "hkp://$UPD" >out &&
	grep -qx "changed            1" out &&
	grep -qx "unchanged          0" out &&
	test_expect_code 1 pgpsync diff --json ring.pgp "hkp://$UPD" >out &&
	grep -q "\"fingerprint\":\"$ALICE\"" out &&
	grep -q "\"kind\":\"revocation\"" out
'

test_expect_success 'the server has the same version: nothing, exit 0' '
	test_expect_code 0 pgpsync diff ring.pgp "hkp://$SAME" >out &&
	test_must_fail test -s out
'

test_expect_success 'a key the server lacks is only on the left' '
	test_expect_code 1 pgpsync diff ab.pgp "hkp://$SAME" >out &&
	grep -qx -- "- $BOB" out &&
	test_must_fail grep -q "$ALICE" out
'

test_expect_success 'a forged answer is not the victim'"'"'s key' '
	test_expect_code 3 pgpsync diff ring.pgp "hkp://$FORGED" >out 2>err &&
	grep -qx -- "- $ALICE" out &&
	test_must_fail grep -q "$BOB" out &&
	pgpsync -v diff ring.pgp "hkp://$FORGED" >out 2>err;
	test $? = 3 &&
	test_must_fail grep -q "bob@example.org" out &&
	grep -q "refused $BOB from .*only as a subkey" err
'

test_expect_success 'beside the victim'"'"'s own certificate, it wins' '
	test_expect_code 3 pgpsync diff ring.pgp "hkp://$BOTH" >out 2>err &&
	grep -q "^~ $ALICE" out &&
	grep -q "+ revocation 0x20 on the primary key" out &&
	test_must_fail grep -q "^[-+~] $BOB" out &&
	test_must_fail grep -q "bob@example.org" out &&
	grep -q "refused $BOB" err
'

test_expect_success 'a revocation that does not verify is not shown' '
	pgpsync -v diff ring.pgp "hkp://$BADREV" >out 2>err;
	test $? = 3 &&
	test_must_fail grep -q "revocation" out &&
	grep -q "$ALICE.*does not verify" err
'

test_expect_success 'an unreadable answer is not "the server lacks it"' '
	test_expect_code 3 pgpsync diff ab.pgp "hkp://$GARBAGE" >out 2>err &&
	grep -q "$ALICE.*nothing usable" err &&
	grep -q "$BOB.*nothing usable" err
'

test_expect_success 'a server that fails is an error, exit 2' '
	test_expect_code 2 pgpsync diff ring.pgp "hkp://$FAIL" >out 2>err &&
	grep -q "cannot look up $ALICE" err &&
	test_must_fail test -s out
'

test_expect_success 'a server that cannot be reached is an error, exit 2' '
	test_expect_code 2 pgpsync diff ring.pgp hkp://127.0.0.1:1 >out 2>err &&
	grep -q "cannot look up $ALICE" err
'

test_expect_success 'a keyserver on the left is a usage error' '
	test_expect_code 2 pgpsync diff "hkp://$UPD" ring.pgp 2>err &&
	grep -q "only the second set" err
'

test_done
