#!/bin/bash
#
# t1110-sks-canonical: "pgpsync dump merge" writes certificates as SKS
# stores them.  SKS merges a certificate's repeated user-ID and subkey
# blocks and writes each direct-key signature once before it stores and
# hashes a key, and merges the versions of one key it is given.  The
# certificates here are built from the packets of the test keys with such
# repeats; a real SKS is given the same certificates through /pks/add, and
# the SKS hash it then lists for each key must be the one of pgpsync's
# merged output.

. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-sks.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
KEYS=$SRCDIR/tests/data/keys

if ! test_have_prereq GPG; then
	test_skip 'merged certificates hash as in SKS' 'missing gpg'
	test_done
fi

# pkt K NAME: one packet of the test key K, by the offsets gpg
# --list-packets gives (tests/data/mkpackets.sh lists them).
pkt() {
	case $1.$2 in
	D.pub) bytes D 0 53 ;;		D.uid) bytes D 53 33 ;;
	D.self) bytes D 86 146 ;;	D.erin) bytes D 232 119 ;;
	D.sub) bytes D 351 58 ;;	D.bind) bytes D 409 122 ;;
	R.pub) bytes R 0 53 ;;		R.rev) bytes R 53 122 ;;
	R.uid) bytes R 175 30 ;;	R.self) bytes R 205 146 ;;
	R.sub) bytes R 351 58 ;;	R.bind) bytes R 409 122 ;;
	V.pub) bytes V 0 528 ;;		V.uid) bytes V 528 33 ;;
	V.self) bytes V 561 593 ;;
	E.pub) bytes E 0 53 ;;		E.uid) bytes E 53 33 ;;
	E.self) bytes E 86 146 ;;
	*) return 1 ;;
	esac
}

# cert K NAME...: a certificate of key K's packets, in that order.
cert() {
	local k=$1 p
	shift
	for p in "$@"; do
		pkt "$k" "$p" || return 1
	done
}

test_expect_success 'certificates with repeated blocks' '
	dearmor "$KEYS/dana-ed25519.asc" >D &&
	dearmor "$KEYS/revoked-ed25519.asc" >R &&
	dearmor "$KEYS/ravi-rsa4096.asc" >V &&
	dearmor "$KEYS/erin-ed25519.asc" >E &&
	test "$(wc -c <D)" -eq 531 && test "$(wc -c <R)" -eq 531 &&
	# a user ID twice, once with each of its signatures, once with both
	cert D pub uid self uid erin uid self erin sub bind >uid.pgp &&
	# a direct-key signature three times, a subkey block twice
	cert R pub rev rev uid self rev sub bind sub bind >sub.pgp &&
	# one user ID with its signature twice: SKS keeps both
	cert V pub uid self self >single.pgp &&
	# three versions of one key, the first with a repeated signature
	# under its only user ID, the third a copy of the first
	cert E pub uid self self >e1.pgp &&
	{ cert E pub uid self && pkt D erin; } >e2.pgp &&
	cat uid.pgp sub.pgp single.pgp e1.pgp e2.pgp e1.pgp >all.pgp
'

test_expect_success 'dump merge writes each key once, repeats merged' '
	pgpsync dump merge -o merged.pgp all.pgp &&
	pgpsync dump hashes merged.pgp >merged.txt &&
	test "$(wc -l <merged.txt)" -eq 4 &&
	# a repeated component once, at its first place, with one copy of
	# each signature of its blocks; a direct signature once; under a
	# component that occurs once (R.uid, V.uid) everything stays; the
	# versions of E: its user ID occurs twice, so its signatures are
	# written once each, and the copy of e1 adds nothing
	cert D pub uid self erin sub bind >want.pgp &&
	cert R pub rev uid self rev sub bind >>want.pgp &&
	cat single.pgp >>want.pgp &&
	cert E pub uid self >>want.pgp && pkt D erin >>want.pgp &&
	cmp merged.pgp want.pgp
'

test_expect_success 'merging the merged output again changes nothing' '
	pgpsync dump merge -o again.pgp merged.pgp &&
	cmp merged.pgp again.pgp
'

# What reconcile, diff and dump hashes compare is that hash too: a set
# holding the raw form must not differ from SKS's copy forever.
test_expect_success 'dump hashes of the raw certificates: the merged ones' '
	pgpsync dump hashes uid.pgp sub.pgp single.pgp | sort -k2 >raw.txt &&
	pgpsync dump hashes merged.pgp | sort -k2 | grep -v "^[^ ]* $(
	    pgpsync dump hashes e1.pgp | cut -d" " -f2)" >want-raw.txt &&
	test_cmp want-raw.txt raw.txt
'

sks_need 'merged certificates hash as in SKS'

test_expect_success 'SKS is given the same certificates, one by one' '
	"$FIXTURE" start "$SKS" --no-gossip --owner $$ &&
	for f in uid.pgp sub.pgp single.pgp e1.pgp e2.pgp e1.pgp; do
		"$FIXTURE" add "$SKS" "$f" || return 1
	done &&
	"$FIXTURE" wait "$SKS" --count 4
'

test_expect_success 'the hashes of dump merge are the ones SKS lists' '
	cut -d" " -f2 merged.txt >fprs &&
	sks_index fprs sks.txt &&
	test "$(wc -l <sks.txt)" -eq 4 &&
	sort -k2 merged.txt >ours.txt &&
	test_cmp sks.txt ours.txt
'

test_expect_success 'and what SKS stores is what dump merge wrote' '
	"$FIXTURE" dump "$SKS" stored.pgp &&
	pgpsync dump hashes stored.pgp | sort -k2 >stored.txt &&
	test_cmp ours.txt stored.txt
'

# before test_done removes the trash directory under it
"$FIXTURE" stop "$SKS"

test_done
