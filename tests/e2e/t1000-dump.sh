#!/bin/sh
# pgpsync dump hashes, stats, split, merge and filter on real certificates
# and on every kind of damaged input.
. "$(dirname "$0")/lib.sh"

D=$SRCDIR/tests/data
REV=E1C80D7B91BC6CD253811D8289D25A3B
REVFPR=8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB

test_expect_success 'setup: binary copies of the test keys' '
	for k in revoked-ed25519 dana-ed25519 erin-ed25519 ravi-rsa4096; do
		pgpsync dump filter --no-limits -o $k.pgp "$D/keys/$k.asc" ||
		exit 1
	done &&
	cat revoked-ed25519.pgp dana-ed25519.pgp erin-ed25519.pgp \
	    ravi-rsa4096.pgp >four.pgp &&
	test $(wc -c <revoked-ed25519.pgp) = 531
'

test_expect_success 'hashes: the SKS hash and fingerprint of a known cert' '
	pgpsync dump hashes revoked-ed25519.pgp >out &&
	echo "$REV $REVFPR" >expect &&
	test_cmp expect out
'

test_expect_success 'hashes: armored input hashes like binary' '
	pgpsync dump hashes "$D/keys/revoked-ed25519.asc" >out &&
	test_cmp expect out
'

test_expect_success 'hashes: standard input, pipe and default' '
	cat four.pgp | pgpsync dump hashes - >pipe &&
	pgpsync dump hashes <four.pgp >default &&
	pgpsync dump hashes four.pgp >file &&
	test_cmp file pipe && test_cmp file default &&
	test $(wc -l <file) = 4
'

test_expect_success 'hashes: one line per cert in input order, any -J' '
	for i in 1 2 3 4 5 6 7 8 9 10; do cat four.pgp; done >forty.pgp &&
	pgpsync dump hashes -J 1 forty.pgp >one &&
	pgpsync dump hashes -J 3 forty.pgp >three &&
	test_cmp one three &&
	test $(wc -l <one) = 40 &&
	head -n 4 one >first && test_cmp file first
'

test_expect_success 'hashes: a reader that stops early ends the run' '
	for i in 1 2 3 4 5 6 7 8 9 10; do cat forty.pgp; done >400.pgp &&
	for i in 1 2 3 4 5 6 7 8 9 10; do cat 400.pgp; done >4000.pgp &&
	timeout 20 sh -c "pgpsync dump hashes 4000.pgp | head -n 1" >out &&
	test $(wc -l <out) = 1
'

test_expect_success 'hashes: a directory is its dump files in name order' '
	mkdir dir &&
	cp ravi-rsa4096.pgp dir/b.pgp && cp revoked-ed25519.pgp dir/a.pgp &&
	echo ignored >dir/notes.txt &&
	pgpsync dump hashes dir >out &&
	pgpsync dump hashes revoked-ed25519.pgp ravi-rsa4096.pgp >expect &&
	test_cmp expect out
'

if test_have_prereq GPG; then
	test_expect_success 'hashes: a GnuPG keyring is a key set (gpg:HOME)' '
		gpg --batch -q --import revoked-ed25519.pgp erin-ed25519.pgp &&
		pgpsync dump hashes gpg:"$GNUPGHOME" | sort >out &&
		pgpsync dump hashes revoked-ed25519.pgp erin-ed25519.pgp |
		    sort >expect &&
		test_cmp expect out &&
		pgpsync dump hashes gpg: | sort >out && test_cmp expect out
	'
	test_expect_success 'hashes: a missing GnuPG home is an error' '
		test_expect_code 2 pgpsync dump hashes gpg:/nonexistent 2>err &&
		grep -q "/nonexistent" err
	'
else
	test_skip 'hashes: a GnuPG keyring is a key set' 'no gpg'
	test_skip 'hashes: a missing GnuPG home is an error' 'no gpg'
fi

test_expect_success 'hashes --json: one object per line' '
	pgpsync dump hashes --json revoked-ed25519.pgp >out &&
	grep -q "^{\"hash\":\"$REV\",\"fingerprint\":\"$REVFPR\",\"offset\":0,\"length\":531}$" out
'

test_expect_success 'hashes: a v6 cert (RFC 9580 A.3)' '
	pgpsync dump hashes "$D/packets/v6-rfc9580.bin" >out &&
	grep -q " CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9$" out
'

test_expect_success 'hashes: a bare revocation is reported, not hashed' '
	test_expect_code 3 pgpsync dump hashes \
	    "$D/packets/leading-bare-revocation.bin" >out 2>err &&
	test $(wc -l <out) = 1 &&
	grep -q "offset 0: a key revocation without its key" err
'

# Each damaged file: exit 3, the file and offset named, good certs kept.
check_damaged() {
	file=$1 want_lines=$2 pattern=$3
	test_expect_code 3 pgpsync dump hashes "$D/packets/$file" >out 2>err &&
	test "$(wc -l <out)" = "$want_lines" &&
	grep -q "$file.*offset [0-9]" err &&
	grep -q "$pattern" err
}

test_expect_success 'damage: garbage between certs keeps both certs' '
	check_damaged garbage-between-certs.bin 2 "not a packet header"
'
test_expect_success 'damage: a length that lies' '
	check_damaged lying-len-5octet.bin 1 "claims 4294967280 body bytes"
'
test_expect_success 'damage: a truncated body' '
	check_damaged trunc-body.bin 1 "claims 120 body bytes but only 20"
'
test_expect_success 'damage: a header cut short' '
	check_damaged trunc-new-len.bin 1 "cut short" &&
	check_damaged trunc-old-len.bin 1 "cut short"
'
test_expect_success 'damage: indeterminate length' '
	check_damaged indeterminate-len.bin 0 "indeterminate"
'
test_expect_success 'damage: nothing but garbage' '
	check_damaged only-garbage.bin 0 "not a packet header"
'
test_expect_success 'damage: secret key material is refused' '
	check_damaged secret-key.bin 0 "secret key"
'
test_expect_success 'damage: an empty file says so' '
	test_expect_code 3 pgpsync dump hashes "$D/packets/empty.bin" >out 2>err &&
	test ! -s out && grep -q "empty" err
'
test_expect_success 'damage: a dump cut in the middle keeps what came before' '
	head -c 1000 four.pgp >cut.pgp &&
	test_expect_code 3 pgpsync dump hashes cut.pgp >out 2>err &&
	test $(wc -l <out) = 1 && grep -q "cut.pgp" err
'
test_expect_success 'damage: random bytes end in an orderly way' '
	head -c 2000000 /dev/urandom >random.bin &&
	cat four.pgp random.bin four.pgp >mixed.pgp &&
	test_expect_code 3 pgpsync -q dump hashes mixed.pgp >out 2>err &&
	test $(grep -c " $REVFPR$" out) = 2
'
test_expect_success 'damage: bad armor is an error naming the file' '
	printf "%s\n" "-----BEGIN PGP PUBLIC KEY BLOCK-----" "" "!!!!" \
	    "-----END PGP PUBLIC KEY BLOCK-----" >bad.asc &&
	test_expect_code 3 pgpsync dump hashes bad.asc four.pgp >out 2>err &&
	grep -q "bad.asc" err && test $(wc -l <out) = 4
'

test_expect_success 'flooded cert: 100,000 signatures are read and counted' '
	sh "$D/mkpackets.sh" flood flood.pgp 100000 &&
	pgpsync dump stats --json flood.pgp >out &&
	grep -q "\"signatures\": 100002" out &&
	grep -q "\"max_signatures\": 100002" out
'

test_expect_success 'stats: counts on known certs' '
	pgpsync dump stats four.pgp >out &&
	grep -q "^certificates *4$" out &&
	grep -q "^user IDs *4$" out &&
	grep -q "^subkeys *2$" out &&
	grep -q "v4:4" out && grep -q "RSA:1" out
'

test_expect_success 'split: files of n certs, SKS metadata, md5sum -c' '
	pgpsync dump split -n 3 -o split forty.pgp 2>err &&
	ls split >files &&
	printf "%s\n" metadata-sks-dump.txt sks-dump-0000.pgp \
	    sks-dump-0001.pgp sks-dump-0002.pgp sks-dump-0003.pgp \
	    sks-dump-0004.pgp sks-dump-0005.pgp sks-dump-0006.pgp \
	    sks-dump-0007.pgp sks-dump-0008.pgp sks-dump-0009.pgp \
	    sks-dump-0010.pgp sks-dump-0011.pgp sks-dump-0012.pgp \
	    sks-dump-0013.pgp >expect &&
	test_cmp expect files &&
	(cd split && md5sum -c --quiet metadata-sks-dump.txt) &&
	grep -q "^#Key-Count: 40$" split/metadata-sks-dump.txt &&
	grep -q "^#Files-Count: 14$" split/metadata-sks-dump.txt &&
	grep -q "^#Digest-algo: md5$" split/metadata-sks-dump.txt &&
	pgpsync dump hashes split >out && test_cmp one out
'

test_expect_success 'split: refuses to overwrite an existing dump' '
	test_expect_code 2 pgpsync dump split -n 3 -o split four.pgp 2>err &&
	grep -q "already holds a dump" err &&
	(cd split && md5sum -c --quiet metadata-sks-dump.txt)
'

test_expect_success 'split: --prefix and damaged input' '
	pgpsync dump split --prefix hkp-dump -n 100 -o split \
	    "$D/packets/garbage-between-certs.bin" 2>err; test $? = 3 &&
	test -f split/hkp-dump-0000.pgp &&
	grep -q "^#Key-Count: 2$" split/metadata-hkp-dump.txt
'

test_expect_success 'merge: duplicates collapse, first-appearance order' '
	pgpsync dump merge -o merged.pgp forty.pgp 2>err &&
	pgpsync dump hashes merged.pgp >out &&
	test_cmp file out &&
	grep -q "40 certificates read, 4 written, 0 versions merged in, 36 duplicates dropped" err
'

test_expect_success 'merge: two versions of a key become their union' '
	pgpsync dump merge -o m.pgp "$D/certs/alice.pgp" \
	    "$D/certs/alice-later.pgp" &&
	pgpsync dump stats --json m.pgp >m.json &&
	pgpsync dump stats --json "$D/certs/alice-later.pgp" >later.json &&
	grep "\"certificates\": 1," m.json &&
	grep "\"user_ids\"" later.json >want &&
	grep "\"user_ids\"" m.json >got && test_cmp want got &&
	grep "\"subkeys\"" later.json >want &&
	grep "\"subkeys\"" m.json >got && test_cmp want got
'

test_expect_success 'merge: a refusal names the file and offset, exit 3' '
	test_expect_code 3 pgpsync dump merge --max-cert-size 1K -o r.pgp \
	    revoked-ed25519.pgp forty.pgp 2>err &&
	grep -q "forty.pgp.: offset 1294: 0D2D49FEE20ECEEF80A26647150E7C15C14F0EB4: refused by the limits" err &&
	! grep -q "merge.: offset" err &&
	test $(pgpsync dump hashes r.pgp | wc -l) = 3
'

test_expect_success 'merge: empty input is an empty output' '
	: >empty.pgp &&
	test_expect_code 3 pgpsync dump merge -o e.pgp empty.pgp 2>err &&
	grep -q "empty.pgp.: no OpenPGP certificates in it" err &&
	test -f e.pgp && ! test -s e.pgp &&
	grep -q "0 certificates read, 0 written" err
'

test_expect_success 'merge: the temporary file is made in TMPDIR' '
	mkdir tmpdir &&
	TMPDIR="$PWD/tmpdir" pgpsync dump merge -o m4.pgp four.pgp &&
	pgpsync dump hashes m4.pgp >out && test_cmp file out &&
	test_expect_code 2 env TMPDIR="$PWD/no-such-dir" \
	    pgpsync dump merge -o m4.pgp four.pgp 2>err &&
	grep -q "temporary file in .*/no-such-dir.*TMPDIR" err
'

test_expect_success 'merge: armored output round trips' '
	pgpsync dump merge --armor -o m.asc four.pgp &&
	head -n 1 m.asc | grep -q "^-----BEGIN PGP PUBLIC KEY BLOCK-----$" &&
	grep -q "^=[A-Za-z0-9+/]\{4\}$" m.asc &&
	pgpsync dump hashes m.asc >out && test_cmp file out
'

test_expect_success 'filter: by fingerprint list' '
	printf "# wanted\n0x%s\n%s\n" "$REVFPR" \
	    "0D2D 49FE E20E CEEF 80A2 6647 150E 7C15 C14F 0EB4" >want.txt &&
	pgpsync dump filter --fingerprints want.txt four.pgp >f.pgp 2>err &&
	pgpsync dump hashes f.pgp | cut -d" " -f2 >out &&
	printf "%s\n" $REVFPR 0D2D49FEE20ECEEF80A26647150E7C15C14F0EB4 >expect &&
	test_cmp expect out &&
	grep -q "2 kept" err && grep -q "2 not selected" err
'

test_expect_success 'filter: --exclude and a bad list' '
	pgpsync dump filter --exclude want.txt four.pgp >f.pgp &&
	test $(pgpsync dump hashes f.pgp | wc -l) = 2 &&
	echo nothex >bad.txt &&
	test_expect_code 2 pgpsync dump filter --fingerprints bad.txt four.pgp \
	    >/dev/null 2>err &&
	grep -q "bad.txt.* line 1" err
'

test_expect_success 'filter: the default limits trim a flooded cert' '
	pgpsync dump filter -o trimmed.pgp flood.pgp 2>err &&
	grep -q "1 trimmed" err &&
	pgpsync dump stats --json trimmed.pgp >out &&
	grep -q "\"signatures\": 1002" out
'

test_expect_success 'filter: --strip-third-party keeps only self-signatures' '
	pgpsync dump filter --strip-third-party -o s.pgp flood.pgp 2>err &&
	pgpsync dump stats --json s.pgp >out &&
	grep -q "\"signatures\": 2" out
'

test_expect_success 'filter: --max-cert-size refuses, reported, exit 3' '
	test_expect_code 3 pgpsync dump filter --no-limits --max-cert-size 1K \
	    -o r.pgp four.pgp 2>err &&
	grep -q "four.pgp.: offset 1294: 0D2D49FEE20ECEEF80A26647150E7C15C14F0EB4: refused by the limits" err &&
	grep -q "1 certificate refused by the limits" err &&
	pgpsync dump hashes r.pgp >out &&
	test $(wc -l <out) = 3 && ! grep -q 0D2D49FEE20ECEEF80A2 out
'

test_expect_success 'filter: a failed run leaves the old output alone' '
	cp four.pgp keep.pgp &&
	test_must_fail pgpsync dump filter -o keep.pgp no-such-file 2>err &&
	cmp four.pgp keep.pgp && ! ls keep.pgp.tmp.* 2>/dev/null
'

test_expect_success 'output to a device is written in place, not replaced' '
	mkfifo fifo &&
	(cat fifo >from-fifo &) &&
	pgpsync dump filter --no-limits -o fifo four.pgp 2>/dev/null &&
	sleep 1 && cmp four.pgp from-fifo && test -p fifo
'

test_expect_success 'binary output to a terminal is refused' '
	if command -v script >/dev/null 2>&1; then
		script -qec "pgpsync dump filter four.pgp" /dev/null >out 2>&1;
		grep -q "refusing to write binary" out
	fi
'
test_expect_success 'stats --json: a file name that is not UTF-8 is kept' '
	bad=$(printf "bad\377name.pgp") &&
	cp revoked-ed25519.pgp "$bad" &&
	pgpsync dump stats --json --top 1 "$bad" >out &&
	grep -q "\"source\": \"bad.*name.pgp\"" out
'

test_expect_success 'merge --json: the counts of a merge of two copies' '
	pgpsync dump merge --json -o m2.pgp four.pgp four.pgp 2>err &&
	grep -q "\"read\": 8" err &&
	grep -q "\"written\": 4" err &&
	grep -q "\"duplicates\": 4" err
'

test_done
