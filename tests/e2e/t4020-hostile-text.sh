#!/bin/sh
# Text from outside on the terminal and in JSON: user IDs, file names and
# what keyservers say, holding escape sequences, C1 controls sent as UTF-8
# (U+009B CSI, U+009D OSC), bidi overrides and ill-formed UTF-8.  Nothing
# of it may reach the terminal as it is, and JSON output stays whole and
# valid, with every member present.
. "$(dirname "$0")/lib.sh"

C=$SRCDIR/tests/data/certs
HKPD=$SRCDIR/tests/hkpd/hkpd
LATER=FE1CCB7B72A1234A35C8A49781CE7FEFFDAB8B83

# unsafe FILE: true when FILE holds a control (other than newline), a C1
# control or bidi override in UTF-8, or anything that is not UTF-8.
unsafe() {
	perl -e '
		local $/; my $s = <>;
		exit 0 if $s =~ /[\x00-\x09\x0b-\x1f\x7f]/;
		exit 0 if $s =~ /\xc2[\x80-\x9f]|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]|\xd8\x9c/;
		exit(utf8::decode($s) ? 1 : 0);
	' "$1"
}

# json_ok FILE: FILE is one valid JSON document.
json_ok() {
	perl -MJSON::PP -e 'local $/; decode_json(<>)' "$1"
}

test_expect_success 'setup: a certificate whose user ID is hostile' '
	# 25 octets for the 25 of "Alice <alice@example.org>": ESC ] OSC,
	# BEL, U+009B CSI, U+202E, an 0xff and a UTF-8-encoded surrogate.
	perl -0777 -pe "s/Alice <alice\\@example\\.org>/\\x1b]0;X\\x07\\xc2\\x9b2J\\xe2\\x80\\xae\\xff\\xed\\xa0\\x80<a\\@b.c>x/" \
	    "$C/alice.pgp" >hostile.pgp &&
	test $(wc -c <hostile.pgp) = $(wc -c <"$C/alice.pgp") &&
	! cmp -s hostile.pgp "$C/alice.pgp" &&
	unsafe hostile.pgp
'

test_expect_success 'diff: a hostile user ID is shown with ? for each unsafe part' '
	test_expect_code 1 pgpsync diff "$C/alice.pgp" hostile.pgp >out &&
	! unsafe out &&
	grep -q "^    + user ID \"?\]0;X??2J?????<a@b.c>x\"$" out &&
	grep -q "on user ID \"?\]0;X??2J?????<a@b.c>x\"" out
'

test_expect_success 'diff --json: the user ID is kept, ill-formed octets as U+FFFD' '
	test_expect_code 1 pgpsync diff --json "$C/alice.pgp" hostile.pgp \
	    >out.json &&
	json_ok out.json &&
	perl -MJSON::PP -e "
		local \$/; my \$d = decode_json(<>);
		my \$want = qq(\\x1b]0;X\\x07\\x{9b}2J\\x{202e}) .
		    qq(\\x{fffd}\\x{fffd}\\x{fffd}\\x{fffd}<a\\@b.c>x);
		my \$n = 0;
		for my \$c (@{\$d->{changed}}) {
			for my \$e (@{\$c->{added}}) {
				next unless \$e->{kind} eq q(user_id) ||
				    (\$e->{on} // q()) eq q(uid);
				exists \$e->{user_id} or die qq(no user_id\\n);
				\$n++ if \$e->{user_id} eq \$want;
			}
		}
		\$n > 0 or die qq(the user ID is not there\\n);
	" out.json
'

test_expect_success 'diff -v: the hostile user ID of a certificate only on one side' '
	test_expect_code 1 pgpsync -v diff "$C/bob.pgp" hostile.pgp >out &&
	! unsafe out &&
	grep -q "^+ $LATER ?\]0;X??2J?????<a@b.c>x$" out
'

test_expect_success 'diff --json: a set name that is not UTF-8 gives whole JSON' '
	name=$(printf "h\\033[2J\\355\\240\\200\\302\\233.pgp") &&
	cp hostile.pgp "$name" &&
	test_expect_code 1 pgpsync diff --json "$C/alice.pgp" "$name" \
	    >out.json &&
	json_ok out.json &&
	perl -MJSON::PP -e "
		local \$/; my \$d = decode_json(<>);
		\$d->{b} eq qq(h\\x1b[2J\\x{fffd}\\x{fffd}\\x{fffd}\\x{9b}.pgp)
		    or die qq(b is \$d->{b}\\n);
	" out.json &&
	test_expect_code 1 pgpsync diff "$C/alice.pgp" "$name" >out &&
	! unsafe out &&
	grep -q "^+++ h?\[2J????.pgp$" out
'

test_expect_success 'warnings: a hostile file name is shown with ?' '
	name=$(printf "w\\033]0;X\\007\\302\\235\\342\\200\\256.pgp") &&
	printf "not a certificate" >"$name" &&
	test_expect_code 3 pgpsync dump hashes "$name" >out 2>err &&
	test -s err &&
	! unsafe err &&
	grep -q "w?\]0;X???.pgp" err
'

if ! [ -x "$HKPD" ]; then
	test_skip 'push: hostile server text' 'needs tests/hkpd/hkpd'
	test_done
fi

# A VKS server that names addresses the certificate does not have, one of
# them hostile, and a status that is an escape sequence; and one whose
# error message is hostile.
mkdir hkp &&
printf '%s\r\n%s\r\n\r\n%s' "HTTP/1.1 200 OK" \
    "Content-Type: application/json" \
    '{"key_fpr":"'$LATER'","status":{"alice@example.org":"published","alice@example.net":"\u001b[31mpending\u009b2J","mallory@evil.example":"published","\u001b]0;x\u0007\u202emallory@evil.example":"published"},"token":"t"}' \
    >hkp/upload.http &&
printf '%s\r\n%s\r\n\r\n%s' "HTTP/1.1 400 Bad Request" \
    "Content-Type: application/json" \
    '{"error":"\u001b]0;pwned\u0007 \u009b2J \u009d8;;x \u202egpj.exe"}' \
    >hkp/error.http || exit 1

# start_hkpd NAME ROUTE: a stub in the background; its address in $NAME.
start_hkpd() {
	HKPD_LOG="$TRASH/$1.log" "$HKPD" -d hkp -t 60 -r "$2" \
	    "$TRASH/$1.port" &
	test_at_exit "kill $! 2>/dev/null"
	_i=0
	while [ ! -s "$TRASH/$1.port" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	eval "$1=127.0.0.1:$(cat "$TRASH/$1.port")"
}
start_hkpd LIAR "POST /vks/v1/upload file upload.http"
start_hkpd RUDE "POST /vks/v1/upload file error.http"

test_expect_success 'push: only addresses of the certificate are shown' '
	pgpsync push -k "http://$LIAR" --state s1.json "$C/alice-later.pgp" \
	    >out 2>err &&
	! unsafe out && ! unsafe err &&
	printf "pushed %s to %s\n  %s\n  %s\n" "$LATER" "http://$LIAR" \
	    "alice@example.net: ?[31mpending?2J" \
	    "alice@example.org: published" >expect &&
	test_cmp expect out &&
	grep -q "server anomaly: .* names the address .mallory@evil.example.," \
	    err &&
	grep -q "server anomaly: .* names the address .?\]0;x??mallory@evil.example.," \
	    err &&
	test $(grep -c "server anomaly" err) = 2
'

test_expect_success 'push --json: the others as unexpected_addresses' '
	pgpsync push -k "http://$LIAR" --state s2.json --json \
	    "$C/alice-later.pgp" >out.json 2>err &&
	json_ok out.json &&
	perl -MJSON::PP -e "
		local \$/; my \$d = decode_json(<>);
		my \$s = \$d->{certificates}[0]{servers}[0];
		join(q( ), sort keys %{\$s->{addresses}}) eq
		    q(alice@example.net alice@example.org) or die qq(addresses\\n);
		join(q( ), sort @{\$s->{unexpected_addresses}}) eq
		    qq(\\x1b]0;x\\x07\\x{202e}mallory\\@evil.example) .
		    q( mallory@evil.example)
		    or die qq(unexpected\\n);
	" out.json
'

test_expect_success 'push: a hostile server message is shown with ?' '
	test_expect_code 3 pgpsync push -k "http://$RUDE" --state s3.json \
	    "$C/alice-later.pgp" >out 2>err &&
	! unsafe err &&
	grep -q "HTTP 400: ?\]0;pwned? ?2J ?8;;x ?gpj.exe$" err
'

test_done
