#!/bin/sh
# pgpsync fetch and push on the error paths, against the canned stub
# server tests/hkpd: answers without user IDs or with only a revocation
# (what keys.openpgp.org and Hockeypuck send), certificates of other keys,
# 404/429/500/503, a body far over the limit, a server that never
# answers, fail-over to the next server, TLS verification, the proxy, and
# an SKS "Add failed" inside HTTP 200, and the VKS upload API of
# keys.openpgp.org (JSON statuses, request-verify, JSON errors).  gpg is
# real.
. "$(dirname "$0")/lib.sh"

HKPD=$SRCDIR/tests/hkpd/hkpd
C=$SRCDIR/tests/data/certs

if ! test_have_prereq GPG || ! [ -x "$HKPD" ]; then
	test_skip 'fetch error paths' 'needs gpg and tests/hkpd/hkpd'
	test_done
fi

ALICE=$(gpg --with-colons --import-options show-only --import \
    "$C/alice.pgp" 2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')
LATER=FE1CCB7B72A1234A35C8A49781CE7FEFFDAB8B83
BOB=$(gpg --with-colons --import-options show-only --import "$C/bob.pgp" \
    2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')
T001=6A5FB769767B24108C75ED6835731295CE9AB83D
REVOKED=8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB
BAD=0000000000000000000000000000000000000BAD
D404=DEAD000000000000000000000000000000000404
D429=DEAD000000000000000000000000000000000429
D500=DEAD000000000000000000000000000000000500
D503=DEAD000000000000000000000000000000000503
HANG=DEAD00000000000000000000000000000000A4A6
HUGE=DEAD00000000000000000000000000000000B160
LOOKUP=/pks/lookup?op=get\&options=mr\&search=0x

# Canned replies: the stub's own, and answers made from tests/data/certs.
mkdir hkp && cp "$SRCDIR"/tests/data/hkp/* hkp/ || exit 1
# reply NAME FILE: a 200 answer holding FILE armored, as servers send.
reply() {
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/pgp-keys\r\n\r\n' \
	    >"hkp/$1" &&
	gpg --enarmor <"$2" | sed 's/ARMORED FILE/PUBLIC KEY BLOCK/' |
	    grep -v "^Comment:" >>"hkp/$1"
}
reply alice-nouid.http "$C/alice-nouid.pgp"
reply alice-full.http "$C/alice-later.pgp"
reply bob.http "$C/bob.pgp"
# what Hockeypuck answers for a hard-revoked key: the revocation alone
tail -c +54 "$C/alice-revocation-only.pgp" >bare.pgp
reply alice-bare.http bare.pgp

# start_hkpd NAME [ROUTE...]: a stub in the background; its URL in $NAME.
start_hkpd() {
	_n=$1
	shift
	set -- "$@"
	_args=
	for _r in "$@"; do
		_args="$_args -r '$_r'"
	done
	eval "HKPD_LOG=\"$TRASH/$_n.log\" \"$HKPD\" -d hkp -t 120 $_args \
	    \"$TRASH/$_n.port\" &"
	_pid=$!
	test_at_exit "kill $_pid 2>/dev/null"
	_i=0
	while [ ! -s "$TRASH/$_n.port" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	eval "$_n=127.0.0.1:$(cat "$TRASH/$_n.port")"
}

start_hkpd S1
start_hkpd UIDLESS "GET /vks/v1/by-fingerprint/$ALICE file alice-nouid.http" \
    "GET $LOOKUP$ALICE file alice-bare.http" \
    "GET $LOOKUP$BOB file bob.http"
start_hkpd DOWN "* / status 503 retry-after 1"
# a slowloris: every answer one byte a second (over 1000 bytes)
start_hkpd SLOW "GET /pks/lookup dribble 1 file alice-full.http"
start_hkpd GOOD "GET $LOOKUP$ALICE file alice-full.http" \
    "GET $LOOKUP$D500 file alice-full.http"
# (the stub routes a proxy request on its path and logs it whole)
start_hkpd PROXY "GET $LOOKUP$ALICE file alice-full.http"

start_hkpd ADDFAIL "POST /pks/add file add-failed.http"
start_hkpd VKSERR "POST /vks/v1/upload file vks-error.http"
# 429 once, then the upload goes through; and 429 every time
start_hkpd RATE \
    "POST /vks/v1/upload times 1 file vks-ratelimit.http retry-after 1"
start_hkpd RATED "POST /vks/v1/upload file vks-ratelimit.http retry-after 1"
start_hkpd VFAIL "POST /vks/v1/request-verify file vks-error.http"
# a VKS answer naming an address alice lacks, with an escape sequence in it
printf '%s\r\n%s\r\n\r\n%s' 'HTTP/1.1 200 OK' \
    'Content-Type: application/json' \
    '{"key_fpr":"'"$LATER"'","status":{"alice@example.org":"published","mallory\u001b[2J@example.org":"published"},"token":"t"}' \
    >hkp/vks-anomaly.http
start_hkpd ANOMALY "POST /vks/v1/upload file vks-anomaly.http"

# The GnuPG homes, one per test that imports, live in /tmp: gpg-agent's
# socket path must stay short.
HOMES=$(mktemp -d /tmp/pgps-t3010.XXXXXX) || exit 1
test_at_exit 'for h in "$HOMES"/*; do
	gpgconf --homedir "$h" --kill all >/dev/null 2>&1
done
rm -rf "$HOMES"'
for h in A1 A2 A3 A4 A5 N1 N2 N3; do
	mkdir -m 700 "$HOMES/$h" || exit 1
	eval "$h=\$HOMES/$h"
done

# imp HOME FILE...: imports into HOME.
imp() {
	_h=$1
	shift
	gpg --homedir "$_h" --batch --quiet --import "$@" 2>/dev/null
}

revoked() {
	gpg --homedir "$1" --with-colons --list-keys "$ALICE" 2>/dev/null |
	    grep -q "^pub:r:"
}

test_expect_success 'a VKS answer without user IDs revokes the key gpg has' '
	A=$A1 && imp "$A" "$C/alice.pgp" &&
	! revoked "$A" &&
	pgpsync fetch --homedir "$A" -k "http://$UIDLESS" "$ALICE" >out &&
	# alice-nouid.pgp: a later, revoked alice with a second subkey
	echo "updated $ALICE (+1 subkey, +1 revocation)" >expect &&
	test_cmp expect out &&
	revoked "$A" &&
	gpg --homedir "$A" --with-colons --list-keys "$ALICE" |
	    grep -q "^uid:.*Alice <alice@example.org>:" &&
	grep -q "GET /vks/v1/by-fingerprint/$ALICE " UIDLESS.log
'

test_expect_success 'a revocation alone (Hockeypuck) revokes it too' '
	A=$A2 && imp "$A" "$C/alice.pgp" &&
	pgpsync fetch --homedir "$A" -k "hkp://$UIDLESS" "$ALICE" >out &&
	echo "updated $ALICE (+1 revocation)" >expect &&
	test_cmp expect out &&
	revoked "$A"
'

test_expect_success 'without user IDs a new key is refused' '
	N=$N1 && imp "$N" "$C/bob.pgp" &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "http://$UIDLESS" \
	    "$ALICE" >out 2>err &&
	test ! -s out &&
	grep -q "$ALICE.*refused: new key without a user ID" err &&
	! gpg --homedir "$N" --list-keys "$ALICE" >/dev/null 2>&1
'

test_expect_success 'a certificate for another key is refused and named' '
	N=$N2 && imp "$N" "$C/bob.pgp" &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$S1" \
	    "$BAD" >out 2>err &&
	grep -q "$BAD.*refused:.*other keys ($T001)" err &&
	! gpg --homedir "$N" --list-keys "$T001" >/dev/null 2>&1
'

test_expect_success 'a named key nobody has: exit 3; in a refresh: exit 0' '
	N=$N3 && imp "$N" "$C/bob.pgp" &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$S1" \
	    "$D404" 2>err &&
	grep -q "$D404.*not found on any keyserver" err &&
	pgpsync fetch --homedir "$N" -k "hkp://$S1" >out 2>err &&
	test ! -s out && test ! -s err &&
	pgpsync -v fetch --homedir "$N" -k "hkp://$S1" >out &&
	grep -q "^not found $BOB$" out
'

test_expect_success '--output: a run that fetched nothing leaves the file alone' '
	N=$N3 &&
	echo "what was there" >keep.pgp &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$S1" \
	    --output keep.pgp "$D404" 2>err &&
	echo "what was there" >expect &&
	test_cmp expect keep.pgp &&
	grep -q "nothing fetched.*keep.pgp.*left as it was" err &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$S1" \
	    --output new.pgp "$D404" 2>/dev/null &&
	test ! -e new.pgp
'

N=$N3
test_expect_success 'one request per key, in the form servers serve fastest' '
	: >S1.log &&
	pgpsync fetch --homedir "$N" -k "hkp://$S1" "$BOB" "$D404" 2>/dev/null
	test $(grep -c "^req " S1.log) = 2 &&
	grep -q "req .* GET $LOOKUP$BOB ua=pgpsync/" S1.log &&
	grep -q "req .* GET $LOOKUP$D404 ua=pgpsync/" S1.log
'

test_expect_success '429 and 503 with Retry-After: retried, then a failure' '
	start=$(date +%s) &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$S1" \
	    --retries 1 "$D429" "$D503" 2>err &&
	test $(($(date +%s) - start)) -lt 10 &&
	grep -q "$D429.*HTTP 429.*(2 attempts)" err &&
	grep -q "$D503.*HTTP 503.*(2 attempts)" err
'

test_expect_success 'a failing server hands its keys to the next one' '
	A=$A3 && imp "$A" "$C/alice.pgp" &&
	pgpsync fetch --homedir "$A" -k "hkp://$DOWN" -k "hkp://$GOOD" \
	    --json "$ALICE" >json &&
	grep -q "\"result\": \"updated\"" json &&
	grep -q "\"server\": \"http://$GOOD\"" json &&
	test_expect_code 3 pgpsync fetch --homedir "$A" -k "hkp://$S1" \
	    -k "hkp://$GOOD" --json "$D500" >json &&
	grep -q "\"server\": \"http://$GOOD\"" json &&
	grep -q "\"refused\": 1," json
'

test_expect_success 'keys do not queue behind a server asking for a pause' '
	A=$A4 && imp "$A" "$C/alice.pgp" "$C/bob.pgp" &&
	: >DOWN.log &&
	set -- &&
	for i in 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 \
	    30 31 32 33 34 35 36 37 38 39; do
		set -- "$@" 00000000000000000000000000000000000000$i
	done &&
	start=$(date +%s) &&
	pgpsync fetch --homedir "$A" -k "hkp://$DOWN" -k "hkp://$UIDLESS" \
	    --json "$ALICE" "$BOB" "$@" >pause.json 2>err
	test $? = 3 &&
	test $(($(date +%s) - start)) -lt 6 &&
	grep -q "^  \"not_found\": 30,$" pause.json &&
	grep -q "^  \"updated\": 1$" pause.json &&
	test $(grep -c "^req " DOWN.log) -le 8
'

test_expect_success 'a body over the limit is cut off and refused' '
	start=$(date +%s) &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$S1" \
	    --max-response 1M "$HUGE" 2>err &&
	test $(($(date +%s) - start)) -lt 10 &&
	grep -q "$HUGE.*larger than 1048576 bytes" err
'

test_expect_success 'a server that never answers times out' '
	start=$(date +%s) &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$S1" \
	    --timeout 2 --retries 0 "$HANG" 2>err &&
	test $(($(date +%s) - start)) -lt 10 &&
	grep -q "$HANG.*timed out" err
'

test_expect_success '--deadline ends a run a slowloris server drags out' '
	start=$(date +%s) &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$SLOW" \
	    --timeout 600 --deadline 3 "$ALICE" "$BOB" "$D404" 2>err &&
	test $(($(date +%s) - start)) -lt 8 &&
	test $(grep -c "timed out" err) = 3 &&
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$DOWN" \
	    --retries 100 --deadline 2 "$ALICE" 2>err &&
	test $(($(date +%s) - start)) -lt 14 &&
	grep -q "$ALICE.*HTTP 503" err
'

test_expect_success '--deadline in a refresh: one line for the keys cut short' '
	H=$HOMES/deadline && mkdir -m 700 "$H" &&
	imp "$H" "$C/alice.pgp" "$C/bob.pgp" &&
	start=$(date +%s) &&
	test_expect_code 3 pgpsync fetch --homedir "$H" -k "hkp://$SLOW" \
	    --timeout 600 --deadline 2s >out 2>err &&
	test $(($(date +%s) - start)) -lt 8 &&
	echo "pgpsync: warning: fetch: 2 keys not refreshed: the deadline" \
	    "(--deadline) passed" >expect &&
	test_cmp expect err &&
	test_expect_code 2 pgpsync fetch --deadline 0 "$ALICE" 2>/dev/null
'

test_expect_success 'a key named in groups, with tabs; a bad name is refused' '
	H=$HOMES/named && mkdir -m 700 "$H" && imp "$H" "$C/alice.pgp" &&
	grouped=$(echo "$ALICE" | sed "s/..../& /g") &&
	pgpsync fetch --homedir "$H" -k "hkp://$GOOD" --dry-run \
	    "$(printf "\t0x%s\t" "$grouped")" >out &&
	grep -q "$ALICE" out &&
	test_expect_code 2 pgpsync fetch "${ALICE}0" 2>err &&
	grep -q "is not a fingerprint (40 or 64 hex digits), a long key ID" \
	    err &&
	test_expect_code 2 pgpsync fetch "0x0x$ALICE" 2>/dev/null &&
	test_expect_code 2 pgpsync fetch "$(echo "$ALICE" | cut -c1-15)" \
	    2>/dev/null
'

test_expect_success '--json names every key and what went wrong' '
	test_expect_code 3 pgpsync fetch --homedir "$N" -k "hkp://$S1" \
	    --json "$D404" "$BAD" "$D500" >json &&
	grep -q "^  \"not_found\": 1,$" json &&
	grep -q "^  \"refused\": 1,$" json &&
	grep -q "^  \"failed\": 1,$" json &&
	grep -q "\"error\": \".*HTTP 500" json
'

test_expect_success 'the proxy carries every request' '
	A=$A5 && imp "$A" "$C/alice.pgp" &&
	pgpsync fetch --homedir "$A" -k hkp://keys.example.invalid \
	    --proxy "http://$PROXY" "$ALICE" >out &&
	grep -q "^updated $ALICE" out &&
	grep -q "GET http://keys.example.invalid:11371$LOOKUP$ALICE " \
	    PROXY.log
'

test_expect_success '--wkd asks the Web Key Directory, advanced method first' '
	: >PROXY.log &&
	test_expect_code 3 pgpsync fetch --homedir "$N" --wkd --retries 0 \
	    -k hkp://keys.example.invalid --proxy "http://$PROXY" \
	    alice@example.org 2>err &&
	grep -q "CONNECT openpgpkey.example.org:443 " PROXY.log &&
	grep -q "GET http://keys.example.invalid:11371/pks/lookup?op=get&options=mr&search=alice%40example.org&exact=on " \
	    PROXY.log &&
	grep -q "alice@example.org.*not found on any keyserver" err
'

test_expect_success '--delay: one key at a time, each on its own connection' '
	: >S1.log &&
	start=$(date +%s) &&
	pgpsync fetch --homedir "$N" -k "hkp://$S1" --delay 1 --state d.json \
	    "$REVOKED" "$T001" >out &&
	test $(grep -c "^new " out) = 2 &&
	test $(($(date +%s) - start)) -lt 5 &&
	test $(grep -c "^req .* inflight=1 .* GET " S1.log) = 2 &&
	test $(grep "^req " S1.log | sed "s/ inflight.*//" | sort -u |
	    wc -l) = 2
'

test_expect_success '--rate: lookups are spread over seconds' '
	start=$(date +%s) &&
	pgpsync fetch --homedir "$N" -k "hkp://$S1" --rate 1 --state r.json \
	    "$REVOKED" "$T001" >out &&
	test $(($(date +%s) - start)) -ge 1
'

if command -v openssl >/dev/null 2>&1; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout tls.key -out tls.pem -days 2 -subj /CN=127.0.0.1 \
	    -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
	openssl s_server -accept 127.0.0.1:0 -cert tls.pem -key tls.key \
	    -www >tls.out 2>&1 &
	test_at_exit "kill $! 2>/dev/null"
	i=0
	while ! grep -q "^ACCEPT" tls.out 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	TLS=$(sed -n "s/^ACCEPT //p" tls.out)
	test_expect_success 'TLS is verified; --ca-file trusts a private CA' '
		test_expect_code 3 pgpsync fetch --homedir "$N" \
		    -k "hkps://$TLS" --retries 0 "$ALICE" 2>err &&
		grep -q "$ALICE.*certificate" err &&
		! grep -q "without a certificate" err &&
		test_expect_code 3 pgpsync fetch --homedir "$N" \
		    -k "hkps://$TLS" --ca-file tls.pem "$ALICE" 2>err &&
		grep -q "unreadable answer\|without a certificate" err
	'
else
	test_skip 'TLS is verified; --ca-file trusts a private CA' 'no openssl'
fi

test_expect_success 'push: keytext= first, armored with its CRC' '
	: >S1.log &&
	pgpsync push -k "hkp://$S1" --state push.json "$C/bob.pgp" >out &&
	echo "pushed $BOB to http://$S1" >expect &&
	test_cmp expect out &&
	sed -n "s/^req .* POST \/pks\/add .*body=\([0-9a-f]*\)$/\1/p" S1.log |
	    perl -ne "chomp; print pack(q(H*), \$_)" >body &&
	head -c 8 body | grep -q "^keytext=" &&
	perl -pe "tr/+/ /; s/%([0-9A-F]{2})/chr(hex(\$1))/ge" body >armor &&
	grep -q "^=[A-Za-z0-9+/]\{4\}$" armor &&
	sed 1s/^keytext=// armor | gpg --dearmor >back.pgp &&
	cmp back.pgp "$C/bob.pgp"
'

test_expect_success 'push: an SKS "Add failed" in HTTP 200 is a failure' '
	test_expect_code 3 pgpsync push -k "hkp://$ADDFAIL" -k "hkp://$S1" \
	    --state push2.json "$C/bob.pgp" >out 2>err &&
	echo "pushed $BOB to http://$S1" >expect &&
	test_cmp expect out &&
	grep -q "$BOB.*$ADDFAIL.*Add failed: Malformed Key" err &&
	pgpsync push -k "hkp://$ADDFAIL" -k "hkp://$S1" --state push2.json \
	    --dry-run "$C/bob.pgp" >out &&
	grep -q "^would push $BOB to http://$ADDFAIL$" out &&
	! grep -q "$S1" out
'

test_expect_success 'push refuses secret keys and keys over the limits' '
	test_expect_code 3 pgpsync push -k "hkp://$S1" --state push3.json \
	    "$SRCDIR/tests/data/keys/dana-ed25519-secret.asc" 2>err &&
	grep -q "a secret key is never uploaded" err &&
	test_expect_code 3 pgpsync push -k "hkp://$S1" --state push3.json \
	    --max-cert-size 100 "$C/bob.pgp" 2>err &&
	grep -q "$BOB.*over the limits" err
'


# vks_body NAME LOG: the JSON bodies of the POSTs to /vks/v1/NAME, one a line.
vks_body() {
	sed -n "s/^req .* POST \/vks\/v1\/$1 .*body=\([0-9a-f]*\)$/\1/p" "$2" |
	    perl -ne 'chomp; print pack("H*", $_), "\n"'
}

# expect_pushed URL STATUS: what push says of alice-later.pgp pushed to the
# stub at URL, with alice@example.net in STATUS.
expect_pushed() {
	printf "pushed %s to %s\n  alice@example.net: %s\n" "$LATER" "$1" "$2" \
	    >expect &&
	echo "  alice@example.org: published" >>expect
}

test_expect_success 'push to VKS: a JSON upload, each address with its status' '
	: >S1.log &&
	pgpsync push -k "http://$S1" --state vks.json "$C/alice-later.pgp" \
	    >out &&
	expect_pushed "http://$S1" unpublished &&
	test_cmp expect out &&
	grep "^req .* POST /vks/v1/upload ua=pgpsync/" S1.log |
	    grep -q " ct=application/json " &&
	! grep -q "/pks/add" S1.log &&
	! grep -q "request-verify" S1.log &&
	vks_body upload S1.log |
	    perl -MJSON::PP -ne "print decode_json(\$_)->{keytext}" >armor &&
	grep -q "^=[A-Za-z0-9+/]\{4\}$" armor &&
	gpg --dearmor <armor >back.pgp &&
	cmp back.pgp "$C/alice-later.pgp" &&
	: >S1.log &&
	pgpsync push -k "http://$S1" --state vks.json "$C/alice-later.pgp" \
	    >out &&
	test ! -s out &&
	! grep -q POST S1.log
'

test_expect_success 'push --json: the statuses per server' '
	pgpsync push -k "http://$S1" --state vks2.json --json \
	    "$C/alice-later.pgp" >json &&
	grep -q "^  \"pushed\": 1,$" json &&
	grep -q "^  \"verify_failed\": 0,$" json &&
	grep -q "^ *\"alice@example.net\": \"unpublished\"" json &&
	grep -q "^ *\"alice@example.org\": \"published\"" json &&
	grep -q "\"server\": \"http://$S1\"" json
'

test_expect_success 'push --request-verify: mail for unpublished addresses' '
	: >S1.log &&
	pgpsync push -k "http://$S1" --state vks3.json --request-verify \
	    "$C/alice-later.pgp" >out &&
	expect_pushed "http://$S1" pending &&
	test_cmp expect out &&
	grep -q "^req .* POST /vks/v1/request-verify .* ct=application/json " \
	    S1.log &&
	vks_body request-verify S1.log | perl -MJSON::PP -ne "
	    \$j = decode_json(\$_);
	    print \$j->{token}, qq( @{\$j->{addresses}}\n)" >got &&
	echo "t0k3n.FE1CCB7B alice@example.net" >expect &&
	test_cmp expect got
'

test_expect_success 'push: a failed request-verify is reported, the key is up' '
	test_expect_code 3 pgpsync push -k "http://$VFAIL" --state vf.json \
	    --request-verify "$C/alice-later.pgp" >out 2>err &&
	expect_pushed "http://$VFAIL" unpublished &&
	test_cmp expect out &&
	grep -q "$LATER.*verification request.*HTTP 400: Failed parsing key$" \
	    err &&
	pgpsync push -k "http://$VFAIL" --state vf.json "$C/alice-later.pgp" \
	    >out &&
	test ! -s out
'

test_expect_success 'push: an address the certificate lacks is an anomaly' '
	pgpsync push -k "http://$ANOMALY" --state anom.json \
	    "$C/alice-later.pgp" >out 2>err &&
	printf "pushed %s to %s\n  alice@example.org: published\n" "$LATER" \
	    "http://$ANOMALY" >expect &&
	test_cmp expect out &&
	grep -q "server anomaly: .*names the address .mallory?\[2J@example.org" \
	    err &&
	! grep -q "$(printf "\033")" err &&
	pgpsync push -k "http://$ANOMALY" --state anom2.json --json \
	    "$C/alice-later.pgp" >json &&
	grep -q "\"unexpected_addresses\": \[" json &&
	! grep -q "mallory.*published" json
'

test_expect_success 'push: a VKS error reply names the server message' '
	: >VKSERR.log &&
	test_expect_code 3 pgpsync push -k "http://$VKSERR" --state e.json \
	    "$C/alice-later.pgp" >out 2>err &&
	test ! -s out &&
	grep -q "$LATER.*$VKSERR/vks/v1/upload.*HTTP 400: Failed parsing key$" \
	    err &&
	test $(grep -c "^req " VKSERR.log) = 1
'

test_expect_success 'push: VKS 429 with Retry-After waits, then uploads' '
	start=$(date +%s) &&
	pgpsync push -k "http://$RATE" --state rate.json "$C/alice-later.pgp" \
	    >out &&
	test $(($(date +%s) - start)) -ge 1 &&
	test $(grep -c "^req .* POST /vks/v1/upload " RATE.log) = 2 &&
	grep -q "^pushed $LATER to http://$RATE$" out &&
	test_expect_code 3 pgpsync push -k "http://$RATED" --retries 1 \
	    --state rated.json "$C/alice-later.pgp" 2>err &&
	grep -q "HTTP 429: too many requests, try again later (2 attempts)$" \
	    err
'

test_done
