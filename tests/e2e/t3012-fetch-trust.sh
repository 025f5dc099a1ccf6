#!/bin/sh
# pgpsync fetch against a keyserver that lies: the attack of a certificate
# that carries the victim's primary key as a subkey (anyone can upload
# one to SKS, which verifies nothing), with and without the victim's own
# certificate beside it, in either order; and a forged revocation.  The
# stub server tests/hkpd plays the keyserver; gpg is real.
. "$(dirname "$0")/lib.sh"

HKPD=$SRCDIR/tests/hkpd/hkpd
C=$SRCDIR/tests/data/certs

if ! test_have_prereq GPG || ! [ -x "$HKPD" ]; then
	test_skip 'fetch trust rules' 'needs gpg and tests/hkpd/hkpd'
	test_done
fi

fpr_of() {
	gpg --with-colons --import-options show-only --import "$1" \
	    2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }'
}
ALICE=$(fpr_of "$C/alice.pgp")
BOB=$(fpr_of "$C/bob.pgp")
ALICE_KEYID=$(printf %s "$ALICE" | tail -c 16)
LOOKUP=/pks/lookup?op=get\&options=mr\&search=0x

# The attacker's certificate: Bob's key and user ID, then Alice's primary
# key packet (a legacy header, 51 octets) re-tagged as a subkey (0xB8),
# unbound.  Bob plays the attacker.
{
	cat "$C/bob.pgp" &&
	printf '\270\063' &&
	tail -c +3 "$C/alice.pgp" | head -c 51
} >attacker.pgp || exit 1
# A forged key revocation for Alice: her real one with the last octet of
# its signature changed.
tail -c +54 "$C/alice-revocation-only.pgp" >bare.pgp &&
    n=$(wc -c <bare.pgp) &&
    head -c $((n - 1)) bare.pgp >forged.pgp &&
    printf '\001' >>forged.pgp || exit 1

mkdir hkp || exit 1
# reply NAME FILE...: a 200 answer holding the files armored.
reply() {
	_n=$1
	shift
	cat "$@" >"hkp/$_n.bin" &&
	gpg --batch --enarmor <"hkp/$_n.bin" >"hkp/$_n.asc" &&
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/pgp-keys\r\n\r\n' \
	    >"hkp/$_n" &&
	sed -e 's/ARMORED FILE/PUBLIC KEY BLOCK/' -e '/^Comment:/d' \
	    "hkp/$_n.asc" >>"hkp/$_n" &&
	grep -q '^-----END PGP PUBLIC KEY BLOCK-----' "hkp/$_n"
}
reply victim-first.http "$C/alice-revoked.pgp" attacker.pgp &&
reply attacker-first.http attacker.pgp "$C/alice-revoked.pgp" &&
reply attacker-only.http attacker.pgp &&
reply forged.http forged.pgp || exit 1
: >hkp/routes

start_hkpd() {
	_n=$1
	shift
	_args=
	for _r in "$@"; do
		_args="$_args -r '$_r'"
	done
	eval "\"$HKPD\" -d hkp -t 120 $_args \"$TRASH/$_n.port\" &"
	_pid=$!
	test_at_exit "kill $_pid 2>/dev/null"
	_i=0
	while [ ! -s "$TRASH/$_n.port" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	eval "$_n=127.0.0.1:$(cat "$TRASH/$_n.port")"
}
start_hkpd VFIRST "GET $LOOKUP$ALICE file victim-first.http"
start_hkpd AFIRST "GET $LOOKUP$ALICE file attacker-first.http"
start_hkpd AONLY "GET $LOOKUP$ALICE file attacker-only.http"
start_hkpd FORGED "GET $LOOKUP$ALICE file forged.http"

HOMES=$(mktemp -d /tmp/pgps-t3012.XXXXXX) || exit 1
test_at_exit 'for h in "$HOMES"/*; do
	gpgconf --homedir "$h" --kill all >/dev/null 2>&1
done
rm -rf "$HOMES"'
# newhome NAME [FILE...]: a fresh GnuPG home in $H holding FILE...
newhome() {
	H=$HOMES/$1
	shift
	mkdir -m 700 "$H" &&
	if [ $# -gt 0 ]; then
		gpg --homedir "$H" --batch --quiet --import "$@" 2>/dev/null
	fi
}
# keys HOME: the fingerprints of every key in HOME's keyring, into keys.
keys() {
	gpg --homedir "$1" --with-colons --list-keys >keys.colons 2>/dev/null &&
	    awk -F: '/^fpr:/ { print $10 }' keys.colons >keys
}
# holds HOME FPR, lacks HOME FPR: whether HOME has the key FPR; both fail
# when gpg cannot list the keyring.
holds() {
	keys "$1" && grep -qx "$2" keys
}
lacks() {
	keys "$1" && ! grep -qx "$2" keys
}
# revoked HOME, live HOME: Alice's key is there, revoked or not.
revoked() {
	keys "$1" && grep -q "^pub:r:[^:]*:[^:]*:$ALICE_KEYID:" keys.colons
}
live() {
	keys "$1" && grep -q "^pub:[^r:]*:[^:]*:[^:]*:$ALICE_KEYID:" keys.colons
}
no_bob() {
	lacks "$1" "$BOB"
}

for s in VFIRST AFIRST; do
	eval "url=\$$s"
	test_expect_success "refresh: the victim's certificate wins ($s)" '
		newhome $s "$C/alice.pgp" &&
		pgpsync fetch --homedir "$H" -k "hkp://$url" >out 2>err &&
		grep -q "^updated $ALICE (.*+1 revocation" out &&
		revoked "$H" &&
		no_bob "$H" &&
		grep -q "refused $BOB from .*only as a subkey" err
	'
done

test_expect_success 'refresh: the attacker alone brings nothing' '
	newhome alone "$C/alice.pgp" &&
	test_expect_code 3 pgpsync fetch --homedir "$H" -k "hkp://$AONLY" \
	    "$ALICE" >out 2>err &&
	no_bob "$H" &&
	live "$H" &&
	grep -q "$ALICE.*refused:.*($BOB).*only as a subkey" err
'

test_expect_success 'a fingerprint not in the keyring: an unbound subkey is no answer' '
	newhome unbound &&
	test_expect_code 3 pgpsync fetch --homedir "$H" -k "hkp://$AONLY" \
	    "$ALICE" >out 2>err &&
	no_bob "$H" &&
	grep -q "binding does not verify" err
'

test_expect_success 'a fingerprint not in the keyring: the primary match wins' '
	newhome wins &&
	pgpsync fetch --homedir "$H" -k "hkp://$AFIRST" "$ALICE" >out 2>err &&
	grep -q "^new $ALICE" out &&
	revoked "$H" &&
	no_bob "$H"
'

test_expect_success 'a key set file: the victim wins, the attacker is not written' '
	cp "$C/alice.pgp" ring.pgp &&
	pgpsync fetch --keyring ring.pgp -k "hkp://$AFIRST" >out 2>err &&
	grep -q "^updated $ALICE" out &&
	pgpsync dump hashes ring.pgp >h &&
	test $(wc -l <h) = 1 &&
	grep -q "$ALICE" h &&
	! grep -q "$BOB" h
'

test_expect_success 'a forged bare revocation is refused, the file unchanged' '
	cp "$C/alice.pgp" ring2.pgp &&
	test_expect_code 3 pgpsync fetch --keyring ring2.pgp \
	    -k "hkp://$FORGED" >out 2>err &&
	cmp ring2.pgp "$C/alice.pgp" &&
	grep -q "does not verify" err
'

# A subkey match whose binding really verifies: the attacker binds the
# victim's primary key as a signing subkey of his own certificate.  (A
# real attacker signs the binding with his own key alone; here gpg makes
# it, from the victim's secret key in the same home.)
G=$HOMES/mk
mkdir -m 700 "$G" &&
gpg --homedir "$G" --batch --passphrase '' \
    --faked-system-time '20250101T000000!' \
    --quick-gen-key 'Attacker <victim@example.org>' ed25519 sign,cert never \
    2>/dev/null &&
gpg --homedir "$G" --batch --passphrase '' \
    --faked-system-time '20260101T000000!' \
    --quick-gen-key 'Victim <victim@example.org>' ed25519 sign,cert never \
    2>/dev/null &&
gpg --homedir "$G" --with-colons --with-keygrip --list-secret-keys \
    >mk.colons 2>/dev/null || exit 1
ATT=$(awk -F: '/^fpr:/ { print $10; exit }' mk.colons)
VIC=$(awk -F: '/^fpr:/ { n++ } n == 2 && /^fpr:/ { print $10; exit }' \
    mk.colons)
GRIP=$(awk -F: '/^grp:/ { n++ } n == 2 && /^grp:/ { print $10; exit }' \
    mk.colons)
VICID=$(printf %s "$VIC" | tail -c 16)
# (Before the binding: gpg would export the attacker's too, by subkey.)
gpg --homedir "$G" --export "$VIC" >victim.pgp || exit 1
printf 'addkey\n13\n%s\nQ\n0\nsave\n' "$GRIP" |
    gpg --homedir "$G" --batch --expert --pinentry-mode loopback \
    --passphrase '' --faked-system-time '20260101T000000!' \
    --command-fd 0 --edit-key "$ATT" >/dev/null 2>&1
gpg --homedir "$G" --export "$ATT" >bound.pgp &&
test "$(fpr_of victim.pgp)" = "$VIC" &&
test "$(gpg --with-colons --import-options show-only --import victim.pgp \
    2>/dev/null | grep -c '^pub:')" = 1 &&
gpg --homedir "$G" --with-colons --list-keys "$ATT" 2>/dev/null |
    grep -q "^fpr:::::::::$VIC:" || exit 1
reply bound.http bound.pgp &&
reply victim.http victim.pgp || exit 1
start_hkpd BOUND "GET $LOOKUP$VIC file bound.http" \
    "GET $LOOKUP$VICID file bound.http"
start_hkpd VICTIM "GET $LOOKUP$VIC file victim.http"

test_expect_success 'a bound subkey match on one server loses to the primary match on the next' '
	newhome across &&
	pgpsync fetch --homedir "$H" -k "hkp://$BOUND" -k "hkp://$VICTIM" \
	    "$VIC" >out 2>err &&
	grep -q "^new $VIC" out &&
	holds "$H" "$VIC" &&
	lacks "$H" "$ATT"
'

test_expect_success 'a bound subkey match alone answers a fingerprint not held' '
	newhome bysub &&
	pgpsync fetch --homedir "$H" -k "hkp://$BOUND" "$VIC" >out 2>err &&
	grep -q "^new $ATT" out &&
	holds "$H" "$ATT"
'

test_expect_success 'a key ID of a key held: a bound subkey match is refused' '
	newhome keyid victim.pgp &&
	test_expect_code 3 pgpsync fetch --homedir "$H" -k "hkp://$BOUND" \
	    "$VICID" >out 2>err &&
	lacks "$H" "$ATT" &&
	holds "$H" "$VIC" &&
	grep -q "refused:.*($ATT).*only as a subkey" err
'

test_done
