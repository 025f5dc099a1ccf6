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
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/pgp-keys\r\n\r\n' \
	    >"hkp/$_n" &&
	cat "$@" | gpg --enarmor | sed 's/ARMORED FILE/PUBLIC KEY BLOCK/' |
	    grep -v "^Comment:" >>"hkp/$_n"
}
reply victim-first.http "$C/alice-revoked.pgp" attacker.pgp
reply attacker-first.http attacker.pgp "$C/alice-revoked.pgp"
reply attacker-only.http attacker.pgp
reply forged.http forged.pgp
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
revoked() {
	gpg --homedir "$1" --with-colons --list-keys "$ALICE" 2>/dev/null |
	    grep -q "^pub:r:"
}
has_bob() {
	gpg --homedir "$1" --with-colons --list-keys "$BOB" >/dev/null 2>&1
}

for s in VFIRST AFIRST; do
	eval "url=\$$s"
	test_expect_success "refresh: the victim's certificate wins ($s)" '
		newhome $s "$C/alice.pgp" &&
		pgpsync fetch --homedir "$H" -k "hkp://$url" >out 2>err &&
		grep -q "^updated $ALICE (.*+1 revocation" out &&
		revoked "$H" &&
		! has_bob "$H" &&
		grep -q "refused $BOB from .*only as a subkey" err
	'
done

test_expect_success 'refresh: the attacker alone brings nothing' '
	newhome alone "$C/alice.pgp" &&
	test_expect_code 3 pgpsync fetch --homedir "$H" -k "hkp://$AONLY" \
	    "$ALICE" >out 2>err &&
	! has_bob "$H" &&
	! revoked "$H" &&
	grep -q "$ALICE.*refused:.*($BOB).*only as a subkey" err
'

test_expect_success 'a fingerprint not in the keyring: an unbound subkey is no answer' '
	newhome unbound &&
	test_expect_code 3 pgpsync fetch --homedir "$H" -k "hkp://$AONLY" \
	    "$ALICE" >out 2>err &&
	! has_bob "$H" &&
	grep -q "binding does not verify" err
'

test_expect_success 'a fingerprint not in the keyring: the primary match wins' '
	newhome wins &&
	pgpsync fetch --homedir "$H" -k "hkp://$AFIRST" "$ALICE" >out 2>err &&
	grep -q "^new $ALICE" out &&
	revoked "$H" &&
	! has_bob "$H"
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

test_done
