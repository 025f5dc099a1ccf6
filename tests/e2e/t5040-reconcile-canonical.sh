#!/bin/bash
#
# t5040-reconcile-canonical: a set holding a certificate with repeated
# user-ID, subkey and direct-signature blocks reconciles with a real SKS
# that holds the same certificate as SKS stores it (repeats merged).
# pgpsync hashes such a certificate in that canonical form, so the two
# sets do not differ: reconcile finds nothing to move, now and the next
# time.  Hashing the raw form made them differ forever (fetch the
# canonical form, push the raw one, SKS merges it again).

. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-sks.sh"
. "$SRCDIR/tests/e2e/lib-recon.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
GENCERTS=$SRCDIR/tests/bench/gencerts
KEYS=$SRCDIR/tests/data/keys

if ! test_have_prereq SKS || ! test_have_prereq GPG ||
    ! command -v curl >/dev/null 2>&1 || ! [ -x "$GENCERTS" ]; then
	test_skip 'reconcile of certificates with repeated blocks' \
	    'needs sks, gpg, curl and tests/bench/gencerts'
	test_done
fi

# SKS's sockets need a short path.
TMPD=$(mktemp -d /tmp/pgps-t5040.XXXXXX) || exit 1
S1=$TMPD/s1
test_at_exit 'cd / && "$FIXTURE" destroy "$S1" >/dev/null 2>&1
rm -rf "$TMPD"'

# pkt K NAME: one packet of the test key K (see t1110).
pkt() {
	case $1.$2 in
	D.pub) bytes D 0 53 ;;		D.uid) bytes D 53 33 ;;
	D.self) bytes D 86 146 ;;	D.erin) bytes D 232 119 ;;
	D.sub) bytes D 351 58 ;;	D.bind) bytes D 409 122 ;;
	R.pub) bytes R 0 53 ;;		R.rev) bytes R 53 122 ;;
	R.uid) bytes R 175 30 ;;	R.self) bytes R 205 146 ;;
	R.sub) bytes R 351 58 ;;	R.bind) bytes R 409 122 ;;
	*) return 1 ;;
	esac
}

cert() {
	local k=$1 p
	shift
	for p in "$@"; do
		pkt "$k" "$p" || return 1
	done
}

test_expect_success 'setup: A holds repeated blocks, SKS their merge' '
	dearmor "$KEYS/dana-ed25519.asc" >D &&
	dearmor "$KEYS/revoked-ed25519.asc" >R &&
	test "$(wc -c <D)" -eq 531 && test "$(wc -c <R)" -eq 531 &&
	cert D pub uid self uid erin uid self erin sub bind >uid.pgp &&
	cert R pub rev rev uid self rev sub bind sub bind >sub.pgp &&
	# what SKS stores for them
	cert D pub uid self erin sub bind >uid-canon.pgp &&
	cert R pub rev uid self rev sub bind >sub-canon.pgp &&
	"$GENCERTS" -n 100 -s 5401 -o common.pgp &&
	cat common.pgp uid.pgp sub.pgp >A.pgp &&
	cat common.pgp uid-canon.pgp sub-canon.pgp >B.pgp &&
	cp A.pgp A0.pgp &&
	"$FIXTURE" start "$S1" --no-gossip --owner $$ --keys B.pgp &&
	R1=$("$FIXTURE" port "$S1" recon) &&
	echo "$R1" >r1
'
R1=$(cat r1 2>/dev/null)

test_expect_success 'the set hashes as SKS stores it' '
	hashes uid.pgp sub.pgp >raw.h &&
	hashes uid-canon.pgp sub-canon.pgp >canon.h &&
	test_cmp canon.h raw.h &&
	sks_hashes "$S1" >s1.h &&
	hashes A.pgp >a.h &&
	test_cmp s1.h a.h
'

test_expect_success 'a dry run finds no difference' '
	pgpsync reconcile --dry-run --wait 40 --json \
	    "recon://127.0.0.1:$R1" A.pgp >dry.json &&
	test "$(jnum dry.json we_lack)" -eq 0 &&
	test "$(jnum dry.json peer_lacks)" -eq 0
'

test_expect_success 'reconcile moves nothing and leaves the set as it was' '
	pgpsync reconcile --wait 40 --json "recon://127.0.0.1:$R1" \
	    A.pgp >run.json &&
	test "$(jnum run.json fetched)" -eq 0 &&
	test "$(jnum run.json pushed)" -eq 0 &&
	cmp A.pgp A0.pgp
'

test_expect_success 'a second reconcile finds nothing either' '
	pgpsync reconcile --dry-run --wait 40 --json \
	    "recon://127.0.0.1:$R1" A.pgp >again.json &&
	test "$(jnum again.json we_lack)" -eq 0 &&
	test "$(jnum again.json peer_lacks)" -eq 0 &&
	sks_hashes "$S1" >s1-after.h &&
	test_cmp s1.h s1-after.h
'

test_done
