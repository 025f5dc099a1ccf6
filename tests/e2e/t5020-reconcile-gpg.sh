#!/bin/sh
# pgpsync reconcile with a GnuPG keyring (gpg:HOME) as the local set,
# against a real SKS 1.1.6 and a real gpg: the keyring holds A (and a
# secret key), SKS holds B; afterwards both hold A and B together, checked
# key by key by SKS hash, and a second reconciliation finds nothing.
# Also: nothing is written into the GnuPG home but what gpg imports, a
# newer version of a key the keyring holds is merged with its copy, SKS
# fetching from the keyring with --serve, SKS starting the reconciliation
# against --listen, and a GnuPG home that does not exist.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-recon.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
GENCERTS=$SRCDIR/tests/bench/gencerts
C=$SRCDIR/tests/data/certs
K=$SRCDIR/tests/data/keys

if ! test_have_prereq SKS || ! test_have_prereq GPG ||
    ! command -v curl >/dev/null 2>&1 || ! [ -x "$GENCERTS" ]; then
	test_skip 'reconcile a GnuPG keyring against SKS' \
	    'needs sks (apt-get install sks), gpg, curl and tests/bench/gencerts'
	test_done
fi

# SKS's sockets and gpg-agent's need a short path.
TMPD=$(mktemp -d /tmp/pgps-t5020.XXXXXX) || exit 1
S1=$TMPD/s1
S2=$TMPD/s2
S3=$TMPD/s3
test_at_exit 'cd / && "$FIXTURE" destroy "$S1" >/dev/null 2>&1
"$FIXTURE" destroy "$S2" >/dev/null 2>&1
"$FIXTURE" destroy "$S3" >/dev/null 2>&1
for h in "$TMPD"/g*; do gpgconf --homedir "$h" --kill all >/dev/null 2>&1; done
rm -rf "$TMPD"'

# mkhome NAME: an empty GnuPG home $TMPD/gNAME.
mkhome() {
	mkdir -m 700 "$TMPD/g$1"
}

# g HOME args...: gpg on HOME, quietly and without questions.
g() {
	_h=$1
	shift
	gpg --homedir "$_h" --batch --no-tty --quiet --passphrase '' \
	    --pinentry-mode loopback "$@"
}

# gpg_hashes HOME: the sorted SKS hashes of what gpg exports of HOME.
gpg_hashes() {
	gpg --homedir "$1" --batch --export >"$TMPD/export.pgp" &&
	hashes "$TMPD/export.pgp"
}

# files HOME: the names, sizes and times of the files of a GnuPG home
# (gpg-agent's sockets left out).
files() {
	ls -lA --time-style=full-iso "$1" | grep -v " S\.gpg-agent"
}

GA=$TMPD/gA

test_expect_success 'setup: keyring with A and a secret key, SKS with B' '
	"$GENCERTS" -n 40 -s 5201 -o common.pgp &&
	"$GENCERTS" -n 20 -s 5202 -o aonly.pgp &&
	"$GENCERTS" -n 15 -s 5203 -o bonly.pgp &&
	cat common.pgp aonly.pgp >A.pgp &&
	cat common.pgp bonly.pgp >B.pgp &&
	mkhome A &&
	g "$GA" --import A.pgp &&
	g "$GA" --import "$K/dana-ed25519-secret.asc" &&
	g "$GA" --list-secret-keys dana@example.org >/dev/null &&
	{ hashes aonly.pgp; hashes "$K/dana-ed25519.asc"; } | sort >give0.h &&
	hashes bonly.pgp >bonly.h &&
	hashes A.pgp "$K/dana-ed25519.asc" >a.h &&
	hashes A.pgp B.pgp "$K/dana-ed25519.asc" >union.h &&
	test $(wc -l <union.h) -eq 76 &&
	gpg_hashes "$GA" >ga0.h &&
	test_cmp a.h ga0.h &&
	"$FIXTURE" start "$S1" --no-gossip --owner $$ --keys B.pgp &&
	R1=$("$FIXTURE" port "$S1" recon) &&
	echo "$R1" >r1
'
R1=$(cat r1 2>/dev/null)

test_expect_success 'dry run: the exact difference, the home untouched' '
	files "$GA" >files0 &&
	test_expect_code 1 pgpsync reconcile --dry-run --wait 40 --json \
	    "recon://127.0.0.1:$R1" "gpg:$GA" >dry.json &&
	jlist dry.json we_lack_hashes >lack.h &&
	jlist dry.json peer_lacks_hashes >give.h &&
	test_cmp bonly.h lack.h &&
	test_cmp give0.h give.h &&
	test "$(jnum dry.json local_certificates)" -eq 61 &&
	test "$(jnum dry.json excluded)" -eq 0 &&
	files "$GA" >files1 &&
	test_cmp files0 files1
'

test_expect_success 'reconcile: gpg imports what SKS had, SKS gets the rest' '
	pgpsync reconcile --wait 40 --json "recon://127.0.0.1:$R1" \
	    "gpg:$GA" >run.json &&
	test "$(jnum run.json fetched)" -eq 15 &&
	test "$(jnum run.json imported_new)" -eq 15 &&
	test "$(jnum run.json imported_updated)" -eq 0 &&
	test "$(jnum run.json import_refused)" -eq 0 &&
	test "$(jnum run.json imported_other_hash)" -eq 0 &&
	test "$(jnum run.json pushed)" -eq 21 &&
	grep -q "\"output\": null" run.json &&
	gpg_hashes "$GA" >ga1.h &&
	test_cmp union.h ga1.h &&
	g "$GA" --list-secret-keys dana@example.org >/dev/null &&
	"$FIXTURE" wait "$S1" --count 76 --timeout 20 &&
	sks_hashes "$S1" >s1.h &&
	test_cmp union.h s1.h
'

test_expect_success 'a second reconcile finds no difference' '
	pgpsync reconcile --dry-run --wait 40 "recon://127.0.0.1:$R1" \
	    "gpg:$GA" >again.out &&
	grep -q "^we lack 0, the peer lacks 0;" again.out
'

test_expect_success 'SKS fetches what only the keyring has with --serve' '
	"$GENCERTS" -n 5 -s 5204 -o five.pgp &&
	g "$GA" --import five.pgp &&
	{ hashes five.pgp; cat union.h; } | sort >union2.h &&
	pgpsync reconcile --serve --wait 40 "recon://127.0.0.1:$R1" \
	    "gpg:$GA" >serve.out &&
	grep -q "^we lack 0, the peer lacks 5;" serve.out &&
	grep -q "^fetched 0, uploaded 0, served 5\$" serve.out &&
	"$FIXTURE" wait "$S1" --count 81 --timeout 20 &&
	sks_hashes "$S1" >s1b.h &&
	test_cmp union2.h s1b.h
'

test_expect_success 'a newer version of a key gpg holds is merged with it' '
	"$FIXTURE" start "$S3" --no-gossip --owner $$ \
	    --keys "$C/alice-later.pgp" --keys "$C/bob.pgp" &&
	R3=$("$FIXTURE" port "$S3" recon) &&
	mkhome U &&
	g "$TMPD/gU" --import "$C/alice.pgp" &&
	pgpsync reconcile --wait 40 "recon://127.0.0.1:$R3" \
	    "gpg:$TMPD/gU" >u.out &&
	grep -q "^we lack 2, the peer lacks 1;" u.out &&
	grep -q "^fetched 2, uploaded 1, served 0\$" u.out &&
	grep -q "^imported into gpg: 1 new, 1 updated, 0 already held, 0" u.out &&
	grep -q "^1 held by gpg under an SKS hash the peer does not have" u.out &&
	g "$TMPD/gU" --list-keys alice@example.net >/dev/null &&
	hashes "$C/alice.pgp" "$C/alice-later.pgp" >alice.h &&
	gpg_hashes "$TMPD/gU" >gu.h &&
	hashes "$C/bob.pgp" >bob.h &&
	comm -23 gu.h bob.h >merged.h &&
	test $(wc -l <merged.h) -eq 1 &&
	! grep -q -f merged.h alice.h &&
	sks_hashes "$S3" >s3.h &&
	test_cmp gu.h s3.h
'

test_expect_success 'SKS starts the reconciliation against --listen' '
	P=$("$FIXTURE" ports 1) &&
	"$FIXTURE" start "$S2" --peer "$P" --gossip-interval 60 \
	    --owner $$ --keys B.pgp &&
	mkhome L &&
	g "$TMPD/gL" --import A.pgp &&
	hashes A.pgp B.pgp >unionl.h &&
	{ pgpsync reconcile --listen --timeout 40 --json \
	    "recon://127.0.0.1:$P" "gpg:$TMPD/gL" >listen.json 2>listen.err &
	  echo $! >listen.pid; } &&
	wait_listening "$P" &&
	"$FIXTURE" sync "$S2" &&
	wait $(cat listen.pid) &&
	test "$(jnum listen.json fetched)" -eq 15 &&
	test "$(jnum listen.json imported_new)" -eq 15 &&
	test "$(jnum listen.json served)" -eq 20 &&
	grep -q "\"role\": \"driver\"" listen.json &&
	gpg_hashes "$TMPD/gL" >gl.h &&
	test_cmp unionl.h gl.h &&
	"$FIXTURE" wait "$S2" --count 75 --timeout 20 &&
	sks_hashes "$S2" >s2.h &&
	test_cmp unionl.h s2.h
'

test_expect_success 'a GnuPG home that does not exist: exit 2' '
	test_expect_code 2 pgpsync reconcile "recon://127.0.0.1:$R1" \
	    "gpg:$TMPD/nosuch" 2>nosuch.err &&
	grep -q "GnuPG home .*nosuch.*No such file or directory" nosuch.err &&
	test_expect_code 2 pgpsync reconcile --dry-run \
	    "recon://127.0.0.1:$R1" "gpg:$TMPD/nosuch" &&
	! test -e "$TMPD/nosuch"
'

"$FIXTURE" stop "$S1" >/dev/null 2>&1
"$FIXTURE" stop "$S2" >/dev/null 2>&1
"$FIXTURE" stop "$S3" >/dev/null 2>&1
test_done
