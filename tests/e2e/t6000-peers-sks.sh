#!/bin/sh
# pgpsync peers against four real SKS keyservers on 127.0.0.1: a
# triangle a-b-c, a one-way link c -> d, and d listing a port where
# nothing answers.  Each holds its own key set, gossip off.  The crawl
# must find the graph, the key counts and the one-way link; --key must
# find Alice's certificate revoked on a, without the revocation on b,
# only as an attacker's forgery on c, and not at all on d.
. "$(dirname "$0")/lib.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
GENCERTS=$SRCDIR/tests/bench/gencerts
C=$SRCDIR/tests/data/certs

if ! test_have_prereq GPG || ! test_have_prereq SKS ||
    ! [ -x "$GENCERTS" ]; then
	test_skip 'peers against SKS' \
	    'needs gpg, sks (apt-get install sks), tests/bench/gencerts'
	test_done
fi

TMPD=$(mktemp -d /tmp/pgps-t6000.XXXXXX) || exit 1
test_at_exit 'cd / && for s in a b c d; do
	"$FIXTURE" destroy "$TMPD/$s" >/dev/null 2>&1
done
rm -rf "$TMPD"'

fpr_of() {
	gpg --with-colons --import-options show-only --import "$1" \
	    2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }'
}
ALICE=$(fpr_of "$C/alice.pgp")

# The forgery of t3005: Bob's certificate carrying Alice's primary key
# as a subkey, with a copy of a binding signature that does not verify.
{
	cat "$C/bob.pgp" &&
	printf '\270\063' &&
	tail -c +3 "$C/alice.pgp" | head -c 51 &&
	tail -c +291 "$C/alice.pgp"
} >attacker.pgp || exit 1

# SKS writes its stats page, membership included, at start-up
# (initial_stat), so each server is started with its peers' ports known:
# five free ports are picked, each SKS's HKP port is its recon port plus
# one, as on the real network, and when a port turns out taken (status
# 3) all start again on new ones.
# start NAME RECON PEER...
start() {
	_n=$1 _p=$2
	shift 2
	_peers=
	for _q in "$@"; do
		_peers="$_peers --peer $_q"
	done
	# shellcheck disable=SC2086
	"$FIXTURE" start "$TMPD/$_n" --recon-port "$_p" \
	    --hkp-port $((_p + 1)) --no-gossip --owner $$ $_peers \
	    --keys "keys-$_n" >/dev/null 2>"$_n.err"
}

start_all() {
	for _try in 1 2 3 4 5 6 7 8; do
		# shellcheck disable=SC2046
		set -- $("$FIXTURE" ports 5)
		a=$1 b=$2 c=$3 d=$4 DEAD=$5
		start a "$a" "$b" "$c" && start b "$b" "$a" "$c" &&
		    start c "$c" "$a" "$b" "$d" && start d "$d" "$DEAD" &&
		    echo "$a $b $c $d $DEAD" >ports && return 0
		for _s in a b c d; do
			"$FIXTURE" destroy "$TMPD/$_s" >/dev/null 2>&1
		done
	done
	cat ./*.err
	return 1
}

test_expect_success 'setup: four SKS servers with different key sets' '
	"$GENCERTS" -n 6 -s 6000 -o gen.pgp &&
	pgpsync dump split -n 3 -o split gen.pgp >/dev/null &&
	cat gen.pgp "$C/alice-revoked.pgp" >keys-a &&
	cat gen.pgp "$C/alice.pgp" >keys-b &&
	cat split/sks-dump-0000.pgp attacker.pgp >keys-c &&
	cp gen.pgp keys-d &&
	start_all
'
read -r a b c d DEAD <ports
A=127.0.0.1:$((a + 1)) B=127.0.0.1:$((b + 1))
CC=127.0.0.1:$((c + 1)) D=127.0.0.1:$((d + 1)) X=127.0.0.1:$((DEAD + 1))

test_expect_success 'the crawl from a finds all five, the dead one unreachable' '
	pgpsync peers --allow-private "$A" >out 2>err &&
	test $(grep -c " ok\$" out) = 4 &&
	grep -q "^$X .* unreachable: .*$X" out &&
	test $(wc -l <out) -ge 6
'

test_expect_success 'key counts and the distance from the largest' '
	grep -q "^$A  *SKS 1\.1\.6.*  *7  *0  *2  *2  ok\$" out &&
	grep -q "^$B  *SKS 1\.1\.6.*  *7  *0  *2  *2  ok\$" out &&
	grep -q "^$CC  *SKS 1\.1\.6.*  *4  *-3  *2  *3  ok\$" out &&
	grep -q "^$D  *SKS 1\.1\.6.*  *6  *-1  *1  *1  ok\$" out
'

test_expect_success 'one-way links and a server behind are flagged' '
	grep -q "^one-way: $CC lists $D, which does not list it back" out &&
	test $(grep -c "^one-way:" out) = 1 &&
	grep -q "^behind: $CC has 4 keys, 3 fewer than a peer (7)" out &&
	test $(grep -c "^behind:" out) = 1
'

test_expect_success 'JSON: nodes and edges with their attributes' '
	pgpsync peers --allow-private --json "$A" >j &&
	test "$(sed -n "s/^  \"servers\": \\([0-9]*\\),/\\1/p" j)" = 5 &&
	grep -q "\"id\": \"$X\"" j &&
	grep -q "\"status\": \"unreachable\"" j &&
	grep -q "\"recon_port\": $c," j &&
	grep -q "\"page\": \"sks-html\"" j &&
	test $(grep -c "\"mutual\": true" j) = 3 &&
	test $(grep -c "\"one_way\": true" j) = 1 &&
	test $(grep -c "\"from\":" j) = 5
'

test_expect_success '--depth 0 asks only the server named' '
	pgpsync peers --allow-private --depth 0 "$A" >out0 &&
	test $(grep -c " ok\$" out0) = 1 &&
	grep -q "^$B .*not asked: beyond --depth 0" out0
'

test_expect_success '--max-servers bounds the graph' '
	pgpsync peers --allow-private --json --max-servers 2 "$A" >j2 &&
	test "$(sed -n "s/^  \"servers\": \\([0-9]*\\),/\\1/p" j2)" = 2 &&
	test "$(sed -n "s/^  \"over_limit\": \\([0-9]*\\),/\\1/p" j2)" -ge 1
'

test_expect_success '--key: revoked on a, older on b, forged on c, absent on d' '
	pgpsync peers --allow-private --key "$ALICE" "$A" >k 2>kerr &&
	grep -q "^key $ALICE: 2 versions on 2 servers, union " k &&
	grep -q "^  $A  *present  *version 1  [0-9A-F]\{32\}  lacks 1 self_sigs\$" k &&
	grep -q "^  $B  *present  *version 2  [0-9A-F]\{32\}  lacks 1 uids, .* 3 revocations\$" k &&
	grep -q "^  $CC  *refused .*subkey" k &&
	grep -q "^  $D  *absent" k &&
	! grep -q "^  $X" k
'

test_expect_success '--key: the hash of a version is the one SKS reports' '
	curl -fsS "http://$A/pks/lookup?op=get&options=mr&search=0x$ALICE" |
	    gpg --dearmor | pgpsync dump hashes >h &&
	H=$(cut -d" " -f1 h) &&
	grep -q "^  $A .* $H " k
'

test_expect_success '--key --dot colours the servers by version' '
	pgpsync peers --allow-private --dot --key "$ALICE" "$A" >g.dot &&
	head -1 g.dot | grep -q "^digraph peers {" &&
	grep -q "key: present v1 (incomplete)\", fillcolor=\"#8dd3c7\"" g.dot &&
	grep -q "key: present v2 (incomplete)\", fillcolor=\"#fdb462\"" g.dot &&
	grep -q "key: refused\", fillcolor=\"#eeeeee\", color=red" g.dot &&
	grep -q "unreachable\", style=\"rounded,dashed\"" g.dot &&
	test $(grep -c "dir=none" g.dot) = 3 &&
	test $(grep -c "\[color=red\]" g.dot) = 1
'

if command -v dot >/dev/null 2>&1; then
	test_expect_success '--svg renders the graph with Graphviz' '
		pgpsync peers --allow-private --svg g.svg --key "$ALICE" "$A" >/dev/null &&
		grep -q "<svg" g.svg && grep -q "$CC" g.svg
	'
else
	test_skip '--svg renders the graph with Graphviz' \
	    'missing dot (apt-get install graphviz)'
fi

test_expect_success '--svg without dot on PATH says what to install' '
	mkdir -p nodot && ln -sf "$SRCDIR/bin/pgpsync" nodot/pgpsync &&
	test_expect_code 2 env PATH="$TRASH/nodot" pgpsync peers --svg x.svg \
	    "$A" >/dev/null 2>err &&
	grep -q "Graphviz.*not installed (Debian package graphviz)" err &&
	! test -e x.svg
'

test_done
