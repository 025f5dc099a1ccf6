#!/bin/sh
# pgpsync diff on certificates with known differences: added and removed
# user IDs, subkeys, signatures and revocations, certificates only in one
# set, several versions of a key in one set; every output form and the
# exit status.
. "$(dirname "$0")/lib.sh"

C=$SRCDIR/tests/data/certs
ALICE=$(pgpsync dump hashes "$C/alice.pgp" | cut -d' ' -f2)
BOB=$(pgpsync dump hashes "$C/bob.pgp" | cut -d' ' -f2)

# Fingerprints change when tests/data/mkkeys.sh runs again: name them.
norm() {
	sed "s/$ALICE/ALICE/g; s/$BOB/BOB/g; s/[0-9A-F]\{40\}/SUBKEY/g"
}

test_expect_success 'setup: sets with known differences' '
	test ${#ALICE} = 40 && test ${#BOB} = 40 &&
	cp "$C"/*.pgp . &&
	cat alice.pgp bob.pgp >ab.pgp &&
	cat alice-revoked.pgp bob.pgp >revoked-b.pgp
'

test_expect_success 'the same set: no output, exit 0' '
	test_expect_code 0 pgpsync diff ab.pgp ab.pgp >out &&
	test_must_fail test -s out &&
	cat bob.pgp alice.pgp >ba.pgp &&
	test_expect_code 0 pgpsync diff ab.pgp ba.pgp >out &&
	test_must_fail test -s out
'

test_expect_success 'a later version: new user ID, subkey, expiry; a key dropped' '
	test_expect_code 1 pgpsync diff ab.pgp alice-later.pgp >raw &&
	norm <raw >out &&
	cat >expect <<-\EOF &&
	--- ab.pgp
	+++ alice-later.pgp
	- BOB
	~ ALICE Alice <alice@example.net>
	    + user ID "Alice <alice@example.net>"
	    + self-signature 0x13 on user ID "Alice <alice@example.net>", 2024-06-02
	    + self-signature 0x13 on user ID "Alice <alice@example.org>", 2024-06-02, changes expiry: key expires 2044-05-28
	    + certification 0x10 on user ID "Alice <alice@example.org>" by BOB, 2024-06-01
	    + subkey SUBKEY (EdDSA, 2024-06-01)
	    + self-signature 0x18 on subkey SUBKEY, 2024-06-01
	    - self-signature 0x13 on user ID "Alice <alice@example.org>", 2024-01-01
	EOF
	test_cmp expect out
'

test_expect_success 'revocations of the key, a user ID and a subkey' '
	test_expect_code 1 pgpsync diff alice-later.pgp alice-revoked.pgp >raw &&
	norm <raw >out &&
	cat >expect <<-\EOF &&
	--- alice-later.pgp
	+++ alice-revoked.pgp
	~ ALICE Alice <alice@example.org>
	    + revocation 0x20 on the primary key, 2024-09-01, reason 3 (key retired)
	    + revocation 0x30 on user ID "Alice <alice@example.net>", 2024-09-01, reason 32 (user ID no longer valid)
	    + revocation 0x28 on subkey SUBKEY, 2024-09-01, reason 0 (no reason specified)
	EOF
	test_cmp expect out
'

test_expect_success 'user IDs and their signatures removed' '
	test_expect_code 1 pgpsync diff alice-revoked.pgp alice-nouid.pgp >raw &&
	norm <raw >out &&
	cat >expect <<-\EOF &&
	--- alice-revoked.pgp
	+++ alice-nouid.pgp
	~ ALICE Alice <alice@example.org>
	    - user ID "Alice <alice@example.org>"
	    - self-signature 0x13 on user ID "Alice <alice@example.org>", 2024-06-02
	    - certification 0x10 on user ID "Alice <alice@example.org>" by BOB, 2024-06-01
	    - user ID "Alice <alice@example.net>"
	    - revocation 0x30 on user ID "Alice <alice@example.net>", 2024-09-01, reason 32 (user ID no longer valid)
	    - self-signature 0x13 on user ID "Alice <alice@example.net>", 2024-06-02
	EOF
	test_cmp expect out
'

test_expect_success 'a revocation-only update, both ways at once' '
	test_expect_code 1 pgpsync diff alice.pgp alice-revocation-only.pgp \
	    >raw &&
	norm <raw >out &&
	cat >expect <<-\EOF &&
	--- alice.pgp
	+++ alice-revocation-only.pgp
	~ ALICE Alice <alice@example.org>
	    + revocation 0x20 on the primary key, 2024-09-01, reason 3 (key retired)
	    - user ID "Alice <alice@example.org>"
	    - self-signature 0x13 on user ID "Alice <alice@example.org>", 2024-01-01
	    - subkey SUBKEY (ECDH, 2024-01-01)
	    - self-signature 0x18 on subkey SUBKEY, 2024-01-01
	EOF
	test_cmp expect out
'

test_expect_success 'certificates only in one set, either side' '
	test_expect_code 1 pgpsync diff alice.pgp bob.pgp >raw &&
	norm <raw >out &&
	printf "%s\n" "--- alice.pgp" "+++ bob.pgp" "- ALICE" "+ BOB" >expect &&
	test_cmp expect out &&
	test_expect_code 1 pgpsync -v diff bob.pgp ab.pgp >raw &&
	norm <raw >out &&
	printf "%s\n" "--- bob.pgp" "+++ ab.pgp" \
	    "+ ALICE Alice <alice@example.org>" >expect &&
	test_cmp expect out
'

test_expect_success 'versions of one key in a set are compared as their merge' '
	cat alice.pgp alice-later.pgp alice-revocation-only.pgp >three.pgp &&
	pgpsync dump merge -o merged.pgp three.pgp 2>/dev/null &&
	test_expect_code 0 pgpsync diff three.pgp merged.pgp &&
	test_expect_code 1 pgpsync diff three.pgp alice-revoked.pgp >raw &&
	norm <raw >out &&
	cat >expect <<-\EOF &&
	--- three.pgp
	+++ alice-revoked.pgp
	~ ALICE Alice <alice@example.org>
	    + revocation 0x30 on user ID "Alice <alice@example.net>", 2024-09-01, reason 32 (user ID no longer valid)
	    + revocation 0x28 on subkey SUBKEY, 2024-09-01, reason 0 (no reason specified)
	    - self-signature 0x13 on user ID "Alice <alice@example.org>", 2024-01-01
	EOF
	test_cmp expect out
'

test_expect_success '--stat counts certificates and packets by kind' '
	test_expect_code 1 pgpsync diff --stat ab.pgp revoked-b.pgp >out &&
	cat >expect <<-\EOF &&
	certificates in a  2
	certificates in b  2
	only in a          0
	only in b          0
	changed            1
	unchanged          1
	packets added      1 user ID, 1 subkey, 2 self-signatures, 1 expiry change, 1 certification, 3 revocations
	packets removed    1 self-signature
	EOF
	test_cmp expect out
'

test_expect_success '--hashes lists the SKS hashes only one side has' '
	test_expect_code 1 pgpsync diff --hashes ab.pgp alice-later.pgp >out &&
	{
		pgpsync dump hashes alice.pgp bob.pgp | sed "s/ .*//; s/^/- /"
		pgpsync dump hashes alice-later.pgp | sed "s/ .*//; s/^/+ /"
	} | sort -k 2 >expect &&
	test_cmp expect out &&
	test_expect_code 0 pgpsync diff --hashes ab.pgp ba.pgp >out &&
	test_must_fail test -s out
'

test_expect_success '--json: one document, every change described' '
	test_expect_code 1 pgpsync diff --json ab.pgp revoked-b.pgp >out.json &&
	perl -MJSON::PP -e "
		local \$/; my \$d = decode_json(<STDIN>);
		my \$c = \$d->{changed}[0];
		printf qq(%s %s %d %d %d %d\n), \$d->{a}, \$d->{b},
		    scalar @{\$d->{only_in_a}}, scalar @{\$d->{only_in_b}},
		    scalar @{\$c->{added}}, scalar @{\$c->{removed}};
		print join(qq( ), map { \$_->{kind} } @{\$c->{added}}), qq(\n);
		my (\$k) = grep { \$_->{kind} eq q(expiry) } @{\$c->{added}};
		print \$k->{key_expires}, qq( ), \$k->{user_id}, qq(\n);
		my (\$r) = grep { \$_->{sig_type} eq q(0x20) } @{\$c->{added}};
		print \$r->{reason}, qq( ), \$r->{on}, qq( ), \$r->{self} ? 1 : 0,
		    qq(\n);
		print \$d->{counts}{unchanged}, qq(\n);
	" <out.json >out &&
	cat >expect <<-\EOF &&
	ab.pgp revoked-b.pgp 0 0 9 1
	revocation expiry certification uid revocation self-sig subkey revocation self-sig
	2044-05-28T12:00:00Z Alice <alice@example.org>
	3 key 1
	1
	EOF
	test_cmp expect out
'

test_expect_success '--stat --json and --hashes --json' '
	test_expect_code 1 pgpsync --json diff --stat ab.pgp revoked-b.pgp >s.json &&
	perl -MJSON::PP -e "local \$/; my \$d = decode_json(<STDIN>);
		print join(q( ), @\$d{qw(a b changed unchanged)},
		    \$d->{packets_added}{revocation}), qq(\n)" <s.json >out &&
	echo "2 2 1 1 3" >expect &&
	test_cmp expect out &&
	test_expect_code 1 pgpsync diff --json --hashes alice.pgp bob.pgp >h.json &&
	perl -MJSON::PP -e "local \$/; my \$d = decode_json(<STDIN>);
		print scalar @{\$d->{only_in_a}}, scalar @{\$d->{only_in_b}},
		    qq(\n)" <h.json >out &&
	echo 11 >expect &&
	test_cmp expect out
'

test_expect_success '--json names a certificate only in one set by its SKS hash' '
	test_expect_code 1 pgpsync diff --json alice.pgp bob.pgp >o.json &&
	test_expect_code 1 pgpsync -v diff --json alice.pgp bob.pgp >v.json &&
	for f in o.json v.json; do
		perl -MJSON::PP -e "local \$/; my \$d = decode_json(<STDIN>);
			my (\$a, \$b) = (\$d->{only_in_a}[0], \$d->{only_in_b}[0]);
			print join(q( ), \$a->{hash}, \$b->{hash},
			    \$a->{user_id} // q(-)), qq(\n)" <$f || exit 1
	done >out &&
	a=$(pgpsync dump hashes alice.pgp | cut -d" " -f1) &&
	b=$(pgpsync dump hashes bob.pgp | cut -d" " -f1) &&
	printf "%s\n" "$a $b -" "$a $b Alice <alice@example.org>" >expect &&
	test_cmp expect out
'

test_expect_success 'standard input and ASCII armor are sets like files' '
	pgpsync dump merge --armor -o revoked-b.asc revoked-b.pgp 2>/dev/null &&
	test_expect_code 0 pgpsync diff revoked-b.asc revoked-b.pgp &&
	test_expect_code 1 pgpsync diff ab.pgp revoked-b.pgp >expect &&
	cat revoked-b.pgp | test_expect_code 1 pgpsync diff ab.pgp - >out &&
	sed "2s/.*/+++ revoked-b.pgp/" out >out2 &&
	test_cmp expect out2 &&
	test_expect_code 1 pgpsync diff revoked-b.asc ab.pgp >out &&
	grep -q "^    - revocation 0x20 on the primary key" out
'

test_expect_success 'standard input is kept in TMPDIR, not /tmp' '
	mkdir tmpdir &&
	cat revoked-b.pgp | TMPDIR="$PWD/tmpdir" \
	    test_expect_code 1 pgpsync diff ab.pgp - >out &&
	sed "2s/.*/+++ revoked-b.pgp/" out >out2 &&
	test_cmp expect out2 &&
	cat revoked-b.pgp | TMPDIR="$PWD/no-such-dir" \
	    test_expect_code 2 pgpsync diff ab.pgp - >out 2>err &&
	grep -q "temporary file in .*/no-such-dir" err
'

test_expect_success 'a revocation without its key is reported, not an item' '
	n=$(od -An -tu1 -j1 -N1 alice-revocation-only.pgp | tr -d " ") &&
	tail -c +$((n + 3)) alice-revocation-only.pgp >bare.pgp &&
	cat bare.pgp ab.pgp >bare-ab.pgp &&
	test_expect_code 3 pgpsync diff bare-ab.pgp ab.pgp >out 2>err &&
	test ! -s out &&
	grep -q "bare-ab.pgp.: offset 0: a key revocation without its key" err
'

test_expect_success 'damaged input: the rest is compared, exit 3' '
	cat ab.pgp "$SRCDIR/tests/data/packets/trunc-body.bin" >damaged.pgp &&
	test_expect_code 3 pgpsync diff damaged.pgp ab.pgp >out 2>err &&
	grep -q "damaged.pgp" err &&
	grep -q "skipped" err
'

test_expect_success 'usage errors and missing sets exit 2' '
	test_expect_code 2 pgpsync diff ab.pgp 2>err &&
	grep -q "usage: pgpsync diff" err &&
	test_expect_code 2 pgpsync diff ab.pgp ab.pgp ab.pgp 2>err &&
	test_expect_code 2 pgpsync diff --stat --hashes ab.pgp ab.pgp 2>err &&
	test_expect_code 2 pgpsync diff ab.pgp nonexistent.pgp 2>err &&
	grep -q "nonexistent.pgp" err &&
	test_expect_code 2 pgpsync diff store:nostore ab.pgp 2>err &&
	grep -q "no store at" err
'

test_done
