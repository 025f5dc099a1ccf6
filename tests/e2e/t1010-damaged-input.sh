#!/bin/sh
# Damaged input loses only what is damaged: text around armor, damaged
# armor blocks among good ones, a checksum that does not match, read from
# files and pipes by every verb that reads certificates.
. "$(dirname "$0")/lib.sh"

D=$SRCDIR/tests/data/keys

test_expect_success 'setup: three certificates, armored and binary' '
	for k in revoked-ed25519 dana-ed25519 erin-ed25519; do
		cp "$D/$k.asc" $k.asc &&
		pgpsync dump filter --no-limits -o $k.pgp $k.asc || exit 1
	done &&
	pgpsync dump hashes revoked-ed25519.pgp erin-ed25519.pgp >outer &&
	pgpsync dump hashes revoked-ed25519.pgp dana-ed25519.pgp \
	    erin-ed25519.pgp >all &&
	test $(wc -l <outer) = 2 && test $(wc -l <all) = 3
'

# three FILE MIDDLE: the revoked key, MIDDLE (dana, damaged), erin.
three() {
	{ cat revoked-ed25519.asc; cat "$2"; cat erin-ed25519.asc; } >"$1"
}

test_expect_success 'setup: the middle block damaged in each way' '
	sed "5s/^\(....\)./\1!/" dana-ed25519.asc >bad-b64 &&
	three bad-b64.asc bad-b64 &&
	grep -v "^-----END" dana-ed25519.asc >no-end &&
	three no-end.asc no-end &&
	sed "8a\\
-----BEGIN PGP PUBLIC KEY BLOCK-----" dana-ed25519.asc >begin-inside &&
	three begin-inside.asc begin-inside &&
	sed "s/^=JAM9/=JAM8/" dana-ed25519.asc >bad-crc &&
	three bad-crc.asc bad-crc &&
	! cmp -s dana-ed25519.asc bad-b64 && ! cmp -s dana-ed25519.asc bad-crc
'

test_expect_success 'text and HTML before, between and after armor blocks' '
	{
		printf "<!DOCTYPE html>\n<html><head><title>Search results"
		printf "</title></head>\n<body><h1>Public Key Server</h1>\n"
		printf "<pre>"
		cat revoked-ed25519.asc
		printf "</pre>\n<p>and from an e-mail:</p>\n"
		printf "From: erin@example.org\nSubject: my key\n\n> quoted\n"
		cat dana-ed25519.asc
		printf "\n-- \nErin\n"
		cat erin-ed25519.asc
		printf "</body></html>\n"
	} >page.html &&
	pgpsync dump hashes page.html >out &&
	test_cmp all out &&
	cat page.html | pgpsync dump hashes >out &&
	test_cmp all out
'

for how in bad-b64 no-end begin-inside; do
	test_expect_success "a damaged block ($how) loses itself only: file" "
		test_expect_code 3 pgpsync dump hashes $how.asc >out 2>err &&
		test_cmp outer out &&
		grep -q \"'$how.asc': armor block at line 17 (offset 799)\" err
	"
	test_expect_success "a damaged block ($how) loses itself only: pipe" "
		cat $how.asc | test_expect_code 3 pgpsync dump hashes >out 2>err &&
		test_cmp outer out &&
		grep -q \"armor block at line 17 (offset 799)\" err
	"
done

test_expect_success 'what each damage is called' '
	pgpsync dump hashes bad-b64.asc 2>err >/dev/null;
	grep -q "skipped: line 21, column 5: invalid character .!. in base64" \
	    err &&
	pgpsync dump hashes no-end.asc 2>err >/dev/null;
	grep -q "skipped: line 32: BEGIN line inside the block" err &&
	pgpsync dump hashes begin-inside.asc 2>err >/dev/null;
	grep -q "skipped: line 25: BEGIN line inside the block" err
'

test_expect_success 'a checksum that does not match: warned, block read' '
	test_expect_code 3 pgpsync dump hashes bad-crc.asc >out 2>err &&
	test_cmp all out &&
	grep -q "armor block at line 17 (offset 799): checksum =JAM8 on line 31 does not match the data (=JAM9); read anyway" err &&
	cat bad-crc.asc | test_expect_code 3 pgpsync dump hashes >out &&
	test_cmp all out
'

test_expect_success 'stats, split, merge, filter keep the good blocks' '
	test_expect_code 3 pgpsync dump stats --json bad-b64.asc >stats &&
	grep -q "\"certificates\": 2," stats &&
	mkdir sp &&
	test_expect_code 3 pgpsync dump split -o sp bad-b64.asc 2>err &&
	pgpsync dump hashes sp/sks-dump-0000.pgp >out &&
	test_cmp outer out &&
	test_expect_code 3 pgpsync dump merge -o merged.pgp no-end.asc \
	    begin-inside.asc 2>err &&
	pgpsync dump hashes merged.pgp >out &&
	test_cmp outer out &&
	test_expect_code 3 pgpsync dump filter -o filtered.pgp bad-crc.asc &&
	pgpsync dump hashes filtered.pgp >out &&
	test_cmp all out
'

test_expect_success 'diff compares what was read and says input was damaged' '
	cat revoked-ed25519.pgp erin-ed25519.pgp >outer.pgp &&
	test_expect_code 3 pgpsync diff outer.pgp bad-b64.asc >out 2>err &&
	grep -q "armor block at line 17" err &&
	test_expect_code 1 pgpsync diff outer.pgp page.html >out 2>err
'

test_expect_success 'store import takes the good blocks' '
	test_expect_code 3 pgpsync dump import --to store:S bad-b64.asc \
	    >out 2>err &&
	grep -q "armor block at line 17" err &&
	pgpsync dump hashes store:S | sort >out &&
	sort outer >expect &&
	test_cmp expect out
'

# revoked-ed25519.pgp: key (53 octets), key revocation (122), user ID (30),
# self-signature (146), subkey, binding.
test_expect_success 'setup: signatures without their key' '
	dd if=revoked-ed25519.pgp of=rev.sig bs=1 skip=53 count=122 \
	    2>/dev/null &&
	dd if=revoked-ed25519.pgp of=self.sig bs=1 skip=205 count=146 \
	    2>/dev/null &&
	cat self.sig dana-ed25519.pgp erin-ed25519.pgp >sig-first.pgp &&
	cat rev.sig revoked-ed25519.pgp erin-ed25519.pgp >rev-first.pgp &&
	test $(wc -c <rev.sig) = 122 && test $(wc -c <self.sig) = 146
'

test_expect_success 'a signature before the first key: reported, not hashed' '
	test_expect_code 3 pgpsync dump hashes sig-first.pgp >out 2>err &&
	pgpsync dump hashes dana-ed25519.pgp erin-ed25519.pgp >expect &&
	test_cmp expect out &&
	grep -q "sig-first.pgp.: offset 0: 1 signature outside any certificate; skipped" err &&
	cat sig-first.pgp | test_expect_code 3 pgpsync dump hashes >out &&
	test_cmp expect out
'

test_expect_success 'a bare key revocation: reported, never a certificate' '
	test_expect_code 3 pgpsync dump hashes rev-first.pgp >out 2>err &&
	test_cmp outer out &&
	grep -q "rev-first.pgp.: offset 0: a key revocation without its key, outside any certificate; skipped" err &&
	test_expect_code 3 pgpsync dump stats --json rev-first.pgp >stats &&
	grep -q "\"certificates\": 2," stats &&
	test_expect_code 3 pgpsync dump merge -o m.pgp rev-first.pgp &&
	pgpsync dump hashes m.pgp >out &&
	test_cmp outer out &&
	test_expect_code 3 pgpsync dump filter -o f.pgp rev-first.pgp &&
	pgpsync dump hashes f.pgp >out &&
	test_cmp outer out &&
	mkdir sp2 &&
	test_expect_code 3 pgpsync dump split -o sp2 rev-first.pgp &&
	pgpsync dump hashes sp2/sks-dump-0000.pgp >out &&
	test_cmp outer out &&
	test_expect_code 3 pgpsync diff rev-first.pgp outer.pgp 2>err &&
	grep -q "a key revocation without its key" err
'

test_expect_success 'armored: a revocation certificate between keys' '
	{
		echo "-----BEGIN PGP PUBLIC KEY BLOCK-----"
		echo "Comment: This is a revocation certificate"
		echo
		base64 rev.sig
		echo "-----END PGP PUBLIC KEY BLOCK-----"
	} >revcert &&
	{ cat erin-ed25519.asc revcert dana-ed25519.asc; } >x.asc &&
	test_expect_code 3 pgpsync dump hashes x.asc >out 2>err &&
	pgpsync dump hashes erin-ed25519.pgp dana-ed25519.pgp >expect &&
	test_cmp expect out &&
	grep -q "x.asc. (armor block at line 10, decoded): offset 232: a key revocation without its key" err
'

test_expect_success 'dump import takes a bare revocation into its key' '
	head -c 53 revoked-ed25519.pgp >key-only &&
	tail -c +176 revoked-ed25519.pgp >rest &&
	cat key-only rest >unrevoked.pgp &&
	pgpsync dump import --to store:B unrevoked.pgp >/dev/null &&
	pgpsync dump import --to store:B rev.sig >out &&
	grep -q "^0 new, 1 updated (.*1 revocation)" out &&
	pgpsync dump hashes store:B >out &&
	pgpsync dump hashes revoked-ed25519.pgp >expect &&
	test_cmp expect out
'

test_done
