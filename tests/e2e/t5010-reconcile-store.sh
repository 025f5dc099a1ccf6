#!/bin/sh
# pgpsync reconcile with a certificate store (store:DIR) as the local set,
# against a real SKS 1.1.6: the store holds A, SKS holds B; afterwards the
# store holds A and B together (checked by SKS hash), in exactly one new
# commit, SKS holds them too, and a second reconciliation finds nothing.
# Also: the prefix tree cached in the repository for one commit, SKS
# fetching from a store with --serve, a fetched certificate merged with
# the stored version of its key, and the sets reconcile refuses.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-recon.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
GENCERTS=$SRCDIR/tests/bench/gencerts

if ! test_have_prereq SKS || ! command -v git >/dev/null 2>&1 ||
    ! [ -x "$GENCERTS" ]; then
	test_skip 'reconcile a store against SKS' \
	    'needs sks (apt-get install sks), git and tests/bench/gencerts'
	test_done
fi

# SKS's sockets need a short path.
TMPD=$(mktemp -d /tmp/pgps-t5010.XXXXXX) || exit 1
S1=$TMPD/s1
test_at_exit 'cd / && "$FIXTURE" destroy "$S1" >/dev/null 2>&1
rm -rf "$TMPD"'

# commits DIR: the number of commits of a store.
commits() {
	git --git-dir="$1" rev-list --count HEAD
}

test_expect_success 'setup: store with A, SKS with B' '
	"$GENCERTS" -n 120 -s 5101 -o common.pgp &&
	"$GENCERTS" -n 60 -s 5102 -o aonly.pgp &&
	"$GENCERTS" -n 45 -s 5103 -o bonly.pgp &&
	"$GENCERTS" -n 10 -s 5105 -o v10.pgp &&
	cat common.pgp aonly.pgp >A.pgp &&
	cat common.pgp bonly.pgp v10.pgp >B.pgp &&
	hashes aonly.pgp >aonly.h &&
	hashes bonly.pgp v10.pgp >bonly.h &&
	hashes A.pgp B.pgp >union.h &&
	test $(wc -l <union.h) -eq 235 &&
	pgpsync -q dump import --to store:st A.pgp &&
	hashes store:st >st0.h &&
	hashes A.pgp >a.h &&
	test_cmp a.h st0.h &&
	commits st >c0 &&
	"$FIXTURE" start "$S1" --no-gossip --owner $$ --keys B.pgp &&
	R1=$("$FIXTURE" port "$S1" recon) &&
	echo "$R1" >r1
'
R1=$(cat r1 2>/dev/null)

test_expect_success 'dry run on a store: the exact difference, tree cached' '
	test_expect_code 1 pgpsync reconcile --dry-run --wait 40 --json \
	    "recon://127.0.0.1:$R1" store:st >dry.json &&
	jlist dry.json we_lack_hashes >lack.h &&
	jlist dry.json peer_lacks_hashes >give.h &&
	test_cmp bonly.h lack.h &&
	test_cmp aonly.h give.h &&
	test "$(jnum dry.json local_certificates)" -eq 180 &&
	grep -q "\"cache\": \"built\"" dry.json &&
	test -s st/pgpsync/ptree &&
	git --git-dir=st rev-parse HEAD >head0 &&
	test_cmp head0 st/pgpsync/ptree-commit &&
	test "$(commits st)" -eq "$(cat c0)"
'

test_expect_success 'reconcile: one commit with what SKS had, SKS gets A' '
	pgpsync reconcile --wait 40 --json "recon://127.0.0.1:$R1" \
	    store:st >run.json &&
	test "$(jnum run.json fetched)" -eq 55 &&
	test "$(jnum run.json stored_new)" -eq 55 &&
	test "$(jnum run.json stored_merged)" -eq 0 &&
	test "$(jnum run.json stored_other_hash)" -eq 0 &&
	test "$(jnum run.json pushed)" -eq 60 &&
	test "$(commits st)" -eq $(($(cat c0) + 1)) &&
	git --git-dir=st log -1 --format=%B >msg &&
	grep -q "^55 new certificates" msg &&
	grep -q "^Source: pgpsync reconcile with recon://127.0.0.1:$R1\$" msg &&
	hashes store:st >st1.h &&
	test_cmp union.h st1.h &&
	git --git-dir=st rev-parse HEAD >head1 &&
	test_cmp head1 st/pgpsync/ptree-commit &&
	"$FIXTURE" wait "$S1" --count 235 --timeout 20 &&
	sks_hashes "$S1" >s1.h &&
	test_cmp union.h s1.h
'

test_expect_success 'a second reconcile finds nothing and commits nothing' '
	pgpsync reconcile --wait 40 --json "recon://127.0.0.1:$R1" \
	    store:st >again.json &&
	test "$(jnum again.json we_lack)" -eq 0 &&
	test "$(jnum again.json peer_lacks)" -eq 0 &&
	test "$(jnum again.json fetched)" -eq 0 &&
	grep -q "\"cache\": \"used\"" again.json &&
	grep -q "\"commit\": null" again.json &&
	test "$(commits st)" -eq $(($(cat c0) + 1))
'

test_expect_success 'a commit made elsewhere; SKS fetches from the store' '
	"$GENCERTS" -n 7 -s 5104 -o seven.pgp &&
	pgpsync -q dump import --to store:st seven.pgp &&
	pgpsync reconcile --serve --wait 40 --json \
	    "recon://127.0.0.1:$R1" store:st >serve.json &&
	grep -q "\"cache\": \"built\"" serve.json &&
	test "$(jnum serve.json local_certificates)" -eq 242 &&
	test "$(jnum serve.json peer_lacks)" -eq 7 &&
	test "$(jnum serve.json served)" -eq 7 &&
	test "$(jnum serve.json fetched)" -eq 0 &&
	git --git-dir=st rev-parse HEAD >head2 &&
	test_cmp head2 st/pgpsync/ptree-commit &&
	{ cat union.h; hashes seven.pgp; } | sort -u >union2.h &&
	"$FIXTURE" wait "$S1" --count 242 --timeout 20
'

test_expect_success 'a fetched version of a stored key is merged and counted' '
	"$GENCERTS" -n 30 -s 5105 -o v30.pgp &&
	pgpsync -q dump import --to store:st2 v30.pgp &&
	pgpsync reconcile --no-push --wait 40 --json \
	    "recon://127.0.0.1:$R1" store:st2 >merge.json &&
	test "$(jnum merge.json fetched)" -eq 242 &&
	test "$(jnum merge.json stored_new)" -eq 232 &&
	test $(($(jnum merge.json stored_merged) +
	    $(jnum merge.json stored_unchanged))) -eq 10 &&
	hashes store:st2 >st2.h &&
	comm -23 union2.h st2.h >other.h &&
	test $(wc -l <other.h) -gt 0 &&
	test "$(jnum merge.json stored_other_hash)" -eq $(wc -l <other.h) &&
	test_expect_code 1 pgpsync reconcile --dry-run --wait 40 --json \
	    "recon://127.0.0.1:$R1" store:st2 >merge2.json &&
	jlist merge2.json we_lack_hashes >lack2.h &&
	test_cmp other.h lack2.h
'

test_expect_success 'store revisions: usage errors; gpg: is the default keyring' '
	if test_have_prereq GPG; then
		test_expect_code 1 pgpsync reconcile --dry-run --wait 40 \
		    "recon://127.0.0.1:$R1" gpg: >gpg.out &&
		grep -q "^we lack 242, the peer lacks 0;" gpg.out || exit 1
	fi &&
	test_expect_code 2 pgpsync reconcile "recon://127.0.0.1:$R1" \
	    store:st@HEAD &&
	test_expect_code 2 pgpsync reconcile --dry-run \
	    "recon://127.0.0.1:$R1" store:nosuch
'

"$FIXTURE" stop "$S1" >/dev/null 2>&1
test_done
