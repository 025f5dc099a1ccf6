#!/bin/sh
# pgpsync diff between kinds of key sets: a real GnuPG keyring, stores
# and their revisions, and generated dumps with a counted number of
# dropped, new and changed certificates.
. "$(dirname "$0")/lib.sh"

C=$SRCDIR/tests/data/certs
GENCERTS=$SRCDIR/tests/bench/gencerts
ALICE=$(pgpsync dump hashes "$C/alice.pgp" | cut -d' ' -f2)

test_expect_success 'setup' '
	cat "$C/alice.pgp" "$C/bob.pgp" >ab.pgp
'

if test_have_prereq GPG; then
	test_expect_success 'a GnuPG keyring is a set: same, then revoked' '
		gpg --batch -q --import "$C/alice.pgp" "$C/bob.pgp" &&
		test_expect_code 0 pgpsync diff gpg: ab.pgp &&
		test_expect_code 0 pgpsync diff ab.pgp "gpg:$GNUPGHOME" &&
		gpg --batch -q --import "$C/alice-revoked.pgp" &&
		test_expect_code 1 pgpsync diff ab.pgp gpg: >out &&
		sed -n "1,3p" out >head &&
		printf "%s\n" "--- ab.pgp" "+++ gpg:" \
		    "~ $ALICE Alice <alice@example.org>" >expect &&
		test_cmp expect head &&
		grep -q "^    + revocation 0x20 on the primary key, 2024-09-01, reason 3 (key retired)$" out &&
		grep -q "^    + user ID \"Alice <alice@example.net>\"$" out &&
		test_must_fail grep -q "^    -" out
	'
	test_expect_success 'a store of the keyring has exactly its certificates' '
		pgpsync dump import --to store:G gpg: >/dev/null &&
		test_expect_code 0 pgpsync diff store:G gpg: &&
		test_expect_code 0 pgpsync diff gpg: store:G
	'
else
	test_skip 'a GnuPG keyring is a set' 'no gpg'
	test_skip 'a store of the keyring' 'no gpg'
fi

if ! test -x "$GENCERTS"; then
	test_skip 'generated dumps' 'tests/bench/gencerts not built'
	test_done
fi

test_expect_success 'setup: a dump and a copy with counted differences' '
	"$GENCERTS" -n 3000 -s 5 -o a.pgp &&
	pgpsync dump hashes a.pgp >a.hashes &&
	awk "NR % 50 == 1 { print \$2 }" a.hashes >chg.txt &&
	awk "NR % 75 == 2 { print \$2 }" a.hashes >drop.txt &&
	cat chg.txt drop.txt >both.txt &&
	test $(wc -l <chg.txt) = 60 && test $(wc -l <drop.txt) = 40 &&
	pgpsync -q dump filter --fingerprints chg.txt --strip-third-party \
	    -o changed.pgp a.pgp &&
	pgpsync -q dump filter --exclude both.txt --no-limits -o rest.pgp \
	    a.pgp &&
	"$GENCERTS" -n 25 -s 6 -o new.pgp &&
	cat rest.pgp new.pgp changed.pgp >b.pgp &&
	pgpsync dump hashes changed.pgp | sort >changed.hashes &&
	sort a.hashes | comm -23 changed.hashes - >really.hashes &&
	nchanged=$(wc -l <really.hashes) &&
	test "$nchanged" -gt 40 &&
	echo "$nchanged" >nchanged
'

test_expect_success '--stat counts exactly what was done' '
	n=$(cat nchanged) &&
	test_expect_code 1 pgpsync diff --stat a.pgp b.pgp >out &&
	cat >expect <<-EOF &&
	certificates in a  3000
	certificates in b  2985
	only in a          40
	only in b          25
	changed            $n
	unchanged          $((3000 - 40 - n))
	packets added      none
	EOF
	head -n 7 out >top &&
	test_cmp expect top &&
	grep -q "^packets removed    [0-9]* certifications$" out
'

test_expect_success 'the lists name exactly those certificates' '
	test_expect_code 1 pgpsync diff a.pgp b.pgp >out &&
	sed -n "s/^- //p" out | sort >only-a &&
	sort drop.txt >expect &&
	test_cmp expect only-a &&
	sed -n "s/^+ //p" out | sort >only-b &&
	pgpsync dump hashes new.pgp | cut -d" " -f2 | sort >expect &&
	test_cmp expect only-b &&
	sed -n "s/^~ \([0-9A-F]*\) .*/\1/p" out | sort >changed &&
	cut -d" " -f2 really.hashes | sort >expect &&
	test_cmp expect changed &&
	test_must_fail grep -q "^    + " out
'

test_expect_success 'every removed packet is a third-party certification' '
	grep "^    - " out >removed &&
	test_must_fail grep -v "^    - certification 0x10 on user ID \".*\" by [0-9A-F]\{40\}, 20[12][0-9]-[01][0-9]-[0-3][0-9]$" removed
'

test_expect_success '--hashes: both hashes of a changed certificate' '
	n=$(cat nchanged) &&
	test_expect_code 1 pgpsync diff --hashes a.pgp b.pgp >out &&
	test $(wc -l <out) = $((40 + 25 + 2 * n)) &&
	test $(grep -c "^- " out) = $((40 + n)) &&
	cut -c3- out | sort -c
'

test_expect_success 'a store and its revisions compare like the files' '
	pgpsync dump import --to store:D a.pgp >/dev/null &&
	pgpsync dump import --to store:D b.pgp >/dev/null &&
	test_expect_code 0 pgpsync diff store:D@HEAD~1 a.pgp &&
	test_expect_code 1 pgpsync diff a.pgp b.pgp >raw &&
	tail -n +3 raw >expect &&
	test_expect_code 1 pgpsync diff store:D@HEAD~1 b.pgp >raw &&
	tail -n +3 raw >out &&
	test -s out &&
	test_cmp expect out &&
	test_expect_code 1 pgpsync diff --stat store:D@HEAD~1 store:D >out &&
	grep -q "^only in b          25$" out &&
	grep -q "^packets added      none$" out
'

test_expect_success 'against a store, files are indexed once: the cache' '
	rm -rf "$XDG_CACHE_HOME/pgpsync" &&
	test_expect_code 1 pgpsync diff store:D@HEAD~1 b.pgp >first &&
	ls "$XDG_CACHE_HOME"/pgpsync/diff-*.idx >caches &&
	test $(wc -l <caches) = 1 &&
	test_expect_code 1 pgpsync diff store:D@HEAD~1 b.pgp >second &&
	test_cmp first second &&
	test_expect_code 1 pgpsync diff store:D@HEAD~1 "$PWD/b.pgp" >abs &&
	tail -n +3 first >expect && tail -n +3 abs >out &&
	test_cmp expect out &&
	test $(ls "$XDG_CACHE_HOME"/pgpsync/diff-*.idx | wc -l) = 1
'

test_expect_success 'the cache is taken only for the files it was made of' '
	cp b.pgp b.keep &&
	# A byte changed in place, size, time and inode kept: the index
	# comes from the cache, the file is not read (see index.h).
	t=$(stat -c %y b.pgp) &&
	printf Z | dd of=b.pgp bs=1 seek=100 conv=notrunc 2>/dev/null &&
	touch -d "$t" b.pgp &&
	test_expect_code 1 pgpsync diff store:D@HEAD~1 b.pgp >second &&
	test_cmp first second &&
	# Any rewrite is seen: the file is read again.
	cp b.pgp b.new && mv b.new b.pgp &&
	pgpsync diff store:D@HEAD~1 b.pgp >third 2>/dev/null;
	test_must_fail test_cmp first third &&
	cp b.keep b.pgp &&
	test_expect_code 1 pgpsync diff store:D@HEAD~1 b.pgp >third &&
	test_cmp first third &&
	# A damaged cache is not used.
	for c in "$XDG_CACHE_HOME"/pgpsync/diff-*.idx; do
		head -c 100 "$c" >"$c.new" && mv "$c.new" "$c" || return 1
	done &&
	test_expect_code 1 pgpsync diff store:D@HEAD~1 b.pgp >third &&
	test_cmp first third
'

test_expect_success 'one thread or many: the same output' '
	test_expect_code 1 pgpsync diff -J 1 a.pgp b.pgp >one &&
	test_expect_code 1 pgpsync diff -J 3 a.pgp b.pgp >three &&
	test -s one &&
	test_cmp one three &&
	test_expect_code 1 pgpsync diff --json -J 1 a.pgp b.pgp >one &&
	test_expect_code 1 pgpsync diff --json -J 2 a.pgp b.pgp >two &&
	test_cmp one two
'

test_done
