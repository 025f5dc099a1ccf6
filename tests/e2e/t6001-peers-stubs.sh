#!/bin/sh
# pgpsync peers against stub servers (tests/hkpd) playing Hockeypuck's
# JSON and HTML statistics pages and hostile ones: a page of 10 MB, one
# listing 10,000 servers, garbage, deep nesting, a server listing itself
# and a loop, and a server that answers slowly.  Time and memory stay
# bounded and the report says what happened to each.
. "$(dirname "$0")/lib.sh"

HKPD=$SRCDIR/tests/hkpd/hkpd

if ! [ -x "$HKPD" ]; then
	test_skip 'peers against stubs' 'needs tests/hkpd/hkpd'
	test_done
fi

. "$SRCDIR/tests/e2e/lib-hkpd.sh"

# stub NAME [ACTION...]: a stub answering op=stats with the ACTIONs of
# tests/hkpd, by default with hkp/NAME (written later, once every port
# is known); its address in $NAME.
stub() {
	_s=$1
	shift
	[ $# -gt 0 ] || set -- file "$_s"
	hkpd_start "$_s" "GET /pks/lookup?op=stats $*"
}

# page NAME TYPE: hkp/NAME answers 200 with stdin as a TYPE body.
page() {
	{
		printf 'HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n' "$2" &&
		cat
	} >"hkp/$1"
}

# hp_json NAME HTTP-PORT PEER-PORT...: Hockeypuck's options=mr answer.
hp_json() {
	_n=$1 _h=$2
	shift 2
	{
		printf '{"now":"2026-03-01T10:20:30Z","version":"2.2.3",'
		printf '"hostname":"%s","httpAddr":":%s",' "$_n" "$_h"
		printf '"reconAddr":":%s","software":"Hockeypuck",' $((_h - 1))
		printf '"total":%s,"peers":[' "$TOTAL"
		_sep=
		for _p in "$@"; do
			printf '%s{"name":"p%s","httpAddr":"127.0.0.1:%s",' \
			    "$_sep" "$_p" "$_p"
			printf '"reconAddr":"127.0.0.1:%s"}' $((_p - 1))
			_sep=,
		done
		printf '],"hourly":[],"daily":[]}\n'
	} | page "$_n" application/json
}

port() {
	echo "${1#127.0.0.1:}"
}

# Servers are started here, outside the tests' subshells.
stub h1; stub h2; stub h3; stub self; stub slow file slow delay 30
stub garbage; stub nested; stub many; stub huge huge 10485760
stub lure; stub lure2; stub moved

# A certificate binding the victim's primary key as a signing subkey
# (cross-certified), served for the victim's fingerprint by one server;
# the victim's own certificate by another.
G=$TRASH/mk
LOOKUP='/pks/lookup?op=get&options=mr&search=0x'
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
gpg --homedir "$G" --export "$VIC" >victim.pgp || exit 1
printf 'addkey\n13\n%s\nQ\n0\nsave\n' "$GRIP" |
    gpg --homedir "$G" --batch --expert --pinentry-mode loopback \
    --passphrase '' --faked-system-time '20260101T000000!' \
    --command-fd 0 --edit-key "$ATT" >/dev/null 2>&1
gpg --homedir "$G" --export "$ATT" >bound.pgp &&
gpg --homedir "$G" --with-colons --list-keys "$ATT" 2>/dev/null |
    grep -q "^fpr:::::::::$VIC:" &&
hkpd_reply bound.http bound.pgp &&
hkpd_reply victim.http victim.pgp || exit 1
hkpd_start bound "GET /pks/lookup?op=stats file bound" \
    "GET $LOOKUP$VIC file bound.http"
hkpd_start victim "GET /pks/lookup?op=stats file victim" \
    "GET $LOOKUP$VIC file victim.http"
HKPD_LOG=$TRASH/inner.log
export HKPD_LOG
stub inner
unset HKPD_LOG

test_expect_success 'Hockeypuck JSON: mutual and one-way links, counts' '
	TOTAL=100 hp_json h1 "$(port "$h1")" "$(port "$h2")" "$(port "$h3")" &&
	TOTAL=100 hp_json h2 "$(port "$h2")" "$(port "$h1")" &&
	TOTAL=50 hp_json h3 "$(port "$h3")" &&
	pgpsync peers --allow-private "$h1" >out &&
	grep -q "^$h1  *Hockeypuck 2\.2\.3  *100  *0  *1  *2  ok\$" out &&
	grep -q "^$h2  *Hockeypuck 2\.2\.3  *100  *0  *1  *1  ok\$" out &&
	grep -q "^$h3  *Hockeypuck 2\.2\.3  *50  *-50  *1  *0  ok\$" out &&
	grep -q "^one-way: $h1 lists $h3, which does not list it back" out &&
	grep -q "^behind: $h3 has 50 keys, 50 fewer than a peer (100)" out &&
	pgpsync peers --allow-private --json "$h1" >j &&
	grep -q "\"page\": \"hockeypuck-json\"" j &&
	grep -q "\"taken_time\": 1772360430" j &&
	test $(grep -c "\"mutual\": true" j) = 1
'

test_expect_success 'Hockeypuck HTML page (a server ignoring options=mr)' '
	page h3 text/html <<-EOF &&
	<html><head><title>Hockeypuck OpenPGP Keyserver Statistics</title>
	</head><body><h1>Hockeypuck OpenPGP Keyserver Statistics</h1>
	<h2 id="settings">Settings</h2><table>
	<tr><th>Version</th><td>2.1.0</td></tr></table>
	<h3 id="gossip-peers">Gossip Peers</h3>
	<table><tr><th>Name</th><th>HTTP</th><th>Recon</th></tr>
	<tr><td>x</td><td><a href="http://$h1/">$h1</a></td>
	<td>127.0.0.1:$(($(port "$h1") - 1))</td></tr></table>
	Total number of keys: 75
	</body></html>
	EOF
	pgpsync peers --allow-private "$h1" >out &&
	grep -q "^$h3  *Hockeypuck 2\.1\.0  *75  *-25  *1  *1  ok\$" out &&
	! grep -q "^one-way:" out
'

test_expect_success 'a server listing itself, and a loop, are asked once' '
	TOTAL=1 hp_json self "$(port "$self")" "$(port "$self")" \
	    "$(port "$h1")" &&
	HKPD_LOG=$TRASH/self.log pgpsync peers --allow-private --json \
	    "$self" "$self" >j &&
	test "$(sed -n "s/^  \"servers\": \\([0-9]*\\),/\\1/p" j)" = 4 &&
	test "$(sed -n "s/^  \"requests\": \\([0-9]*\\),/\\1/p" j)" = 4 &&
	grep -q "\"peers_skipped\": 1," j
'

test_expect_success 'garbage and a 10 MB page: unreachable, with the reason' '
	head -c 100000 /dev/urandom | page garbage text/html &&
	pgpsync peers --allow-private "$garbage" "$huge" "$h2" \
	    >out 2>err &&
	grep -q "^$garbage .*unreachable: .*not a keyserver statistics page" out &&
	grep -q "^$huge .*unreachable: .*page larger than 1048576 octets" out &&
	grep -q "^$h2 .* ok\$" out
'

test_expect_success 'deep nesting and unclosed tags: still read, in linear time' '
	{
		i=0
		while [ $i -lt 20000 ]; do
			printf "<div><table><tr><td><b><i>"
			i=$((i + 1))
		done
		printf "<h2>Gossip Peers</h2><table><tr><td>127.0.0.1 %s</td>" \
		    $(($(port "$h2") - 1))
		printf "</tr></table><p>Total number of keys: 9</p><td"
	} | page nested text/html &&
	pgpsync peers --allow-private --max-response 2M "$nested" >out &&
	grep -q "^$nested  *-  *9 .* ok\$" out &&
	grep -q "^$h2 .* ok\$" out
'

test_expect_success '10,000 servers listed: the graph stays within --max-servers' '
	{
		printf "<h2>Gossip Peers</h2><table>"
		i=0
		while [ $i -lt 10000 ]; do
			printf "<tr><td>127.0.0.2 %d</td></tr>\n" $((20000 + i))
			i=$((i + 1))
		done
		printf "</table>Total number of keys: 3"
	} | page many text/html &&
	pgpsync peers --allow-private --json --depth 0 "$many" >j &&
	test "$(sed -n "s/^  \"servers\": \\([0-9]*\\),/\\1/p" j)" = 200 &&
	test "$(sed -n "s/^  \"over_limit\": \\([0-9]*\\),/\\1/p" j)" = 801 &&
	grep -q "\"peers_skipped\": 9000," j &&
	pgpsync peers --allow-private --json --depth 1 --max-servers 30 \
	    --retries 0 --deadline 20 "$many" >j2 &&
	test $(grep -c "\"status\": \"unreachable\"" j2) = 29
'

test_expect_success 'a slow server: --timeout per server, --deadline in total' '
	start=$(date +%s) &&
	pgpsync peers --allow-private --timeout 2 --retries 0 "$slow" "$h2" \
	    >out 2>err &&
	grep -q "^$slow .*unreachable: " out &&
	grep -q "^$h2 .* ok\$" out &&
	pgpsync peers --allow-private --deadline 3 --retries 0 "$slow" \
	    >out2 2>err2;
	test $? = 2 &&
	grep -q "^$slow .*not asked: the deadline passed" out2 &&
	grep -q "no server answered" err2 &&
	test $(($(date +%s) - start)) -lt 15
'

test_expect_success '--rate spaces the requests out, --key ones too' '
	start=$(date +%s) &&
	pgpsync peers --allow-private --rate 1 --depth 0 "$h1" "$h2" "$h3" \
	    >out &&
	test $(grep -c " ok\$" out) = 3 &&
	mid=$(date +%s) &&
	test $((mid - start)) -ge 2 &&
	pgpsync peers --rate 1 --depth 0 \
	    --key FE1CCB7B72A1234A35C8A49781CE7FEFFDAB8B83 \
	    "$h1" "$h2" "$h3" >out &&
	test $(grep -c "^  .* absent" out) = 3 &&
	test $(($(date +%s) - mid)) -ge 4
'

test_expect_success 'peers learned at private addresses are not asked' '
	TOTAL=7 hp_json lure "$(port "$lure")" "$(port "$inner")" &&
	TOTAL=7 hp_json inner "$(port "$inner")" &&
	{
		printf "<h2>Gossip Peers</h2><table>"
		printf "<tr><td>localhost %s</td></tr>" \
		    $(($(port "$inner") - 1))
		printf "<tr><td>2130706433 %s</td></tr>" \
		    $(($(port "$inner") - 1))
		printf "<tr><td>10.0.0.1 11370</td></tr>"
		printf "<tr><td>169.254.169.254 79</td></tr>"
		printf "</table>Total number of keys: 7"
	} | page lure2 text/html &&
	pgpsync peers --json "$lure" "$lure2" >j &&
	test ! -s inner.log &&
	test $(grep -c "\"status\": \"refused\"" j) = 5 &&
	grep -q "127\.0\.0\.1 is a loopback address" j &&
	grep -q "10\.0\.0\.1 is a private address" j &&
	grep -q "169\.254\.169\.254 is a link-local address" j &&
	pgpsync peers "$lure" >out &&
	grep -q "^$inner .*refused: .*loopback" out &&
	test ! -s inner.log &&
	pgpsync peers --allow-private "$lure" >out &&
	grep -q "^$inner .* ok\$" out &&
	test -s inner.log
'

test_expect_success 'redirects are not followed' '
	{
		printf "HTTP/1.1 302 Found\r\nLocation: http://%s%s\r\n" \
		    "$inner" "/pks/lookup?op=stats&options=mr"
		printf "Content-Length: 0\r\n\r\n"
	} >hkp/moved &&
	: >inner.log &&
	pgpsync peers --allow-private "$moved" >out 2>err;
	test $? = 2 &&
	grep -q "^$moved .*unreachable: .*HTTP 302" out &&
	test ! -s inner.log
'

test_expect_success '--key: a certificate holding the key as a subkey is not it' '
	TOTAL=2 hp_json bound "$(port "$bound")" &&
	TOTAL=2 hp_json victim "$(port "$victim")" &&
	pgpsync peers --json --key "$VIC" "$bound" "$victim" >j 2>err &&
	test $(grep -c "\"result\": \"present\"" j) = 1 &&
	test $(grep -c "\"result\": \"refused\"" j) = 1 &&
	grep -q "\"present\": 1" j
'

test_expect_success 'usage errors' '
	test_expect_code 2 pgpsync peers 2>err && grep -q "no server named" err &&
	test_expect_code 2 pgpsync peers --key 1234 "$h1" 2>err &&
	grep -q "not a fingerprint" err &&
	test_expect_code 2 pgpsync peers --json --dot "$h1" 2>err &&
	test_expect_code 2 pgpsync peers "bad host!" 2>err &&
	test_expect_code 2 pgpsync peers --depth x "$h1" 2>err
'

test_done
