#!/bin/sh
# pgpsync fetch against a real SKS that holds a forgery: an attacker's
# certificate carrying a copy of the victim's primary key as a subkey
# (SKS verifies nothing, so anyone can upload one), next to the victim's
# own certificate with its revocation.  Refreshing the victim's key must
# bring the revocation and nothing of the attacker's, into gpg and into a
# key set file.
. "$(dirname "$0")/lib.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
C=$SRCDIR/tests/data/certs

if ! test_have_prereq GPG || ! test_have_prereq SKS; then
	test_skip 'fetch against SKS holding a forgery' \
	    'needs gpg and sks (apt-get install sks)'
	test_done
fi

TMPD=$(mktemp -d /tmp/pgps-t3005.XXXXXX) || exit 1
chmod 700 "$TMPD"
SKS=$TMPD/sks
H=$TMPD/h
mkdir -m 700 "$H"
test_at_exit 'cd / && "$FIXTURE" destroy "$SKS" >/dev/null 2>&1
gpgconf --homedir "$H" --kill all >/dev/null 2>&1
rm -rf "$TMPD"'

fpr_of() {
	gpg --with-colons --import-options show-only --import "$1" \
	    2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }'
}
ALICE=$(fpr_of "$C/alice.pgp")
BOB=$(fpr_of "$C/bob.pgp")

# The attacker (Bob's key plays it): Bob's certificate, then Alice's
# primary key packet (legacy header, 51 octets) re-tagged as a subkey,
# then a binding signature for it: a copy of the one under Alice's own
# subkey (offset 290 of alice.pgp), which does not verify.  SKS drops a
# subkey without any signature, but keeps this one.
{
	cat "$C/bob.pgp" &&
	printf '\270\063' &&
	tail -c +3 "$C/alice.pgp" | head -c 51 &&
	tail -c +291 "$C/alice.pgp"
} >attacker.pgp || exit 1

test_expect_success 'SKS takes the forgery beside the victim and serves both' '
	"$FIXTURE" start "$SKS" --no-gossip --owner $$ \
	    --keys "$C/alice-revoked.pgp" --keys attacker.pgp >/dev/null &&
	PORT=$("$FIXTURE" port "$SKS" hkp) &&
	curl -fsS "http://127.0.0.1:$PORT/pks/lookup?op=get&options=mr&search=0x$ALICE" |
	    gpg --dearmor >answer.pgp &&
	pgpsync dump hashes answer.pgp >answer.hashes &&
	test $(wc -l <answer.hashes) = 2 &&
	grep -q "$BOB" answer.hashes &&
	gpg --list-packets answer.pgp >answer.txt 2>/dev/null &&
	test $(grep -c "^:public sub key packet:" answer.txt) = 3
'
PORT=$("$FIXTURE" port "$SKS" hkp 2>/dev/null)
HKP=hkp://127.0.0.1:$PORT

test_expect_success 'a refresh into gpg takes the victim with its revocation' '
	gpg --homedir "$H" --batch --quiet --import "$C/alice.pgp" \
	    2>/dev/null &&
	pgpsync fetch --homedir "$H" -k "$HKP" >out2 2>err2 &&
	grep -q "^updated $ALICE (.*revocation" out2 &&
	gpg --homedir "$H" --with-colons --list-keys "$ALICE" |
	    grep -q "^pub:r:" &&
	! gpg --homedir "$H" --list-keys "$BOB" >/dev/null 2>&1 &&
	grep -q "refused $BOB from .*only as a subkey" err2
'

test_expect_success 'a named key not held: the primary match wins' '
	pgpsync fetch --keyring new.pgp -k "$HKP" "$ALICE" >out 2>err &&
	grep -q "^new $ALICE" out &&
	pgpsync dump hashes new.pgp >h &&
	test $(wc -l <h) = 1 && grep -q "$ALICE" h
'

test_done
