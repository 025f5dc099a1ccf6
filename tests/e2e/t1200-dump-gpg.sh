#!/bin/sh
# pgpsync dump export and dump import against real gpg: what lands in the
# keyring, what is skipped without starting gpg, what is refused and why.
. "$(dirname "$0")/lib.sh"

if ! test_have_prereq GPG; then
	test_skip 'dump export and import' 'gpg not installed'
	test_done
fi

C=$SRCDIR/tests/data/certs
V6=$SRCDIR/tests/data/gpg/rfc9580-v6.asc
V6FPR=CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9
ZERO40=0000000000000000000000000000000000000000
NONE="0 new signatures, 0 new user IDs, 0 new subkeys, 0 revocations"

# Every GnuPG home sits in /tmp: gpg-agent's socket path must stay short.
# mkhome VAR: a fresh, empty home in $VAR, removed (agents killed) at exit.
mkhome() {
	_h=$(mktemp -d /tmp/pgps-t1200.XXXXXX) || exit 1
	chmod 700 "$_h"
	test_at_exit "gpgconf --homedir '$_h' --kill all >/dev/null 2>&1
rm -rf '$_h'"
	eval "$1=\$_h"
}

g() {
	gpg --batch --no-tty --quiet --passphrase '' --pinentry-mode loopback \
	    "$@"
}

# fprs HOME: the primary fingerprints in HOME, sorted.
fprs() {
	gpg --homedir "$1" --with-colons --list-keys 2>/dev/null |
	    awk -F: '/^pub:/ { p = 1; next }
		p && /^fpr:/ { print $10; p = 0 }' |
	    sort
}

fpr_of() {
	gpg --with-colons --list-keys "$1" 2>/dev/null |
	    awk -F: '/^fpr:/ { print $10; exit }'
}

# The keys to move around live in the harness's $GNUPGHOME.
mkhome A	# import target
mkhome B	# the revocation update
mkhome M	# a v6 certificate mixed with good ones
mkhome P	# a certificate gpg cannot parse mixed with good ones
mkhome S	# secret keys
mkhome N	# dry run
mkhome R	# round trip
mkhome U	# keys without user ID
mkhome T	# two versions in one input
mkhome G	# damaged input
mkhome K	# subkey bindings

test_expect_success 'setup: three Ed25519 keys' '
	for n in carol dave erin; do
		g --quick-gen-key "$n <$n@example.org>" ed25519 sign never ||
		exit 1
	done &&
	test $(fprs "$GNUPGHOME" | wc -l) = 3
'

CAROL=$(fpr_of carol@example.org)
ALICE=$(gpg --with-colons --import-options show-only --import "$C/alice.pgp" \
    2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')
BOB=$(gpg --with-colons --import-options show-only --import "$C/bob.pgp" \
    2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')

test_expect_success 'export writes every key as binary packets' '
	pgpsync dump export >all.pgp &&
	test -s all.pgp &&
	test "$(head -c 1 all.pgp | od -An -tx1 | tr -d " ")" = 98 &&
	test $(gpg --list-packets all.pgp | grep -c "^:public key packet:") = 3
'

test_expect_success 'import into an empty keyring: all new' '
	pgpsync dump import --homedir "$A" all.pgp >out &&
	echo "3 new, 0 updated ($NONE), 0 unchanged, 0 rejected" >expect &&
	test_cmp expect out &&
	fprs "$GNUPGHOME" >expect &&
	fprs "$A" >actual &&
	test_cmp expect actual
'

test_expect_success 'import again: all unchanged, gpg not started' '
	pgpsync dump import --homedir "$A" all.pgp >out &&
	echo "0 new, 0 updated ($NONE), 3 unchanged, 0 rejected" >expect &&
	test_cmp expect out &&
	pgpsync dump import --homedir "$A" --json all.pgp >json &&
	grep -q "^  \"unchanged\": 3,$" json &&
	grep -q "^    \"runs\": 0,$" json
'

test_expect_success 'a new user ID makes the key updated' '
	g --quick-add-uid "$CAROL" "carol <carol@example.net>" &&
	g --export "$CAROL" >carol2.pgp &&
	pgpsync dump import --homedir "$A" all.pgp carol2.pgp >out &&
	echo "0 new, 1 updated (1 new signature, 1 new user ID," \
	    "0 new subkeys, 0 revocations), 3 unchanged, 0 rejected" >expect &&
	test_cmp expect out &&
	gpg --homedir "$A" --with-colons --list-keys "$CAROL" >list &&
	grep -q "^uid:.*carol <carol@example.net>:" list
'

test_expect_success 'a revocation without user IDs revokes the key it has' '
	pgpsync dump import --homedir "$B" "$C/alice.pgp" >out &&
	grep -q "^1 new," out &&
	gpg --homedir "$B" --with-colons --list-keys "$ALICE" >before &&
	grep -q "^pub:[^r]" before &&
	pgpsync dump import --homedir "$B" "$C/alice-revocation-only.pgp" \
	    >out &&
	echo "0 new, 1 updated (1 new signature, 0 new user IDs," \
	    "0 new subkeys, 1 revocation), 0 unchanged, 0 rejected" >expect &&
	test_cmp expect out &&
	gpg --homedir "$B" --with-colons --list-keys "$ALICE" >after &&
	grep -q "^pub:r:" after &&
	grep -q "^uid:r:.*Alice <alice@example.org>:" after
'

test_expect_success 'a key without user IDs is refused when it is new' '
	test_expect_code 3 pgpsync dump import --homedir "$U" \
	    "$C/alice-nouid.pgp" >out 2>err &&
	grep -q "0 new, .*, 1 rejected$" out &&
	grep -q "rejected .$ALICE.*without a user ID" err &&
	test -z "$(fprs "$U")"
'

test_expect_success 'a v6 certificate is refused, the v4 ones around it go in' '
	{ cat "$C/bob.pgp" && gpg --dearmor <"$V6" && cat "$C/alice.pgp"; } \
	    >mixed.pgp &&
	test_expect_code 3 pgpsync dump import --homedir "$M" mixed.pgp \
	    >out 2>err &&
	grep -q "^2 new, .*, 0 unchanged, 1 rejected$" out &&
	grep -q "rejected .$V6FPR.*v6" err &&
	printf "%s\n%s\n" "$ALICE" "$BOB" | sort >expect &&
	fprs "$M" >actual &&
	test_cmp expect actual
'

test_expect_success 'a certificate gpg cannot parse fails alone' '
	# alice with a subkey whose key material is cut short: gpg stops
	# reading the stream there ("Invalid keyring")
	{ cat "$C/alice.pgp" &&
	  printf "\270\024\004\000\000\000\001\026\011\053\006\001" &&
	  printf "\004\001\332\107\017\001\001\007\100\000"; } \
	    >alice-bad.pgp &&
	cat all.pgp alice-bad.pgp "$C/bob.pgp" >bad-mix.pgp &&
	test_expect_code 3 pgpsync dump import --homedir "$P" --json \
	    bad-mix.pgp >json 2>err &&
	grep -q "rejected .$ALICE.*gpg" err &&
	grep -q "^  \"new\": 4,$" json &&
	grep -q "^  \"rejected\": 1,$" json &&
	{ fprs "$GNUPGHOME" && echo "$BOB"; } | sort >expect &&
	fprs "$P" >actual &&
	test_cmp expect actual
'

test_expect_success 'secret keys are refused' '
	g --export-secret-keys "$CAROL" >secret.pgp &&
	cat secret.pgp "$C/bob.pgp" >secret-mix.pgp &&
	test_expect_code 3 pgpsync dump import --homedir "$S" secret-mix.pgp \
	    >out 2>err &&
	grep -q "^1 new, .*, 1 rejected$" out &&
	grep -q "rejected .*offset 0.*secret key" err &&
	echo "$BOB" >expect &&
	fprs "$S" >actual &&
	test_cmp expect actual &&
	test -z "$(gpg --homedir "$S" --with-colons --list-secret-keys)"
'

test_expect_success '--dry-run shows the decisions and changes nothing' '
	pgpsync dump import --dry-run --homedir "$N" all.pgp >out &&
	test $(grep -c "^new       [0-9A-F]\{40\}$" out) = 3 &&
	tail -n 1 out >last &&
	echo "3 new, 0 updated ($NONE), 0 unchanged, 0 rejected" \
	    "(dry run: nothing imported)" >expect &&
	test_cmp expect last &&
	test -z "$(fprs "$N")" &&
	pgpsync dump import --dry-run --homedir "$A" carol2.pgp >out &&
	echo "unchanged $CAROL" >expect &&
	head -n 1 out >first &&
	test_cmp expect first
'

test_expect_success 'two versions in one input: new, then updated' '
	pgpsync dump import --homedir "$T" "$C/alice.pgp" "$C/alice-later.pgp" \
	    >out &&
	echo "1 new, 1 updated (4 new signatures, 1 new user ID," \
	    "1 new subkey, 0 revocations), 0 unchanged, 0 rejected" >expect &&
	test_cmp expect out &&
	gpg --homedir "$T" --with-colons --list-keys "$ALICE" >list &&
	grep -q "^uid:.*alice@example.net" list
'

test_expect_success 'damaged input is skipped, the rest imported' '
	{ cat "$C/alice.pgp" && printf "garbage!" && cat "$C/bob.pgp"; } \
	    >damaged.pgp &&
	test_expect_code 3 pgpsync dump import --homedir "$G" damaged.pgp \
	    >out 2>err &&
	grep -q "^2 new, .*, 1 rejected$" out &&
	grep -q "skipped: .*offset" err &&
	test $(fprs "$G" | wc -l) = 2
'

test_expect_success 'export | gpg --import is lossless' '
	pgpsync dump export | gpg --homedir "$R" --batch --quiet --import &&
	fprs "$GNUPGHOME" >expect &&
	fprs "$R" >actual &&
	test_cmp expect actual &&
	gpg --export >mine.pgp &&
	gpg --homedir "$R" --export >theirs.pgp &&
	cmp mine.pgp theirs.pgp
'

test_expect_success 'export --armor: one block; -o writes a file' '
	pgpsync dump export >now.pgp &&
	pgpsync dump export --armor -o keys.asc &&
	test $(grep -c "^-----BEGIN PGP PUBLIC KEY BLOCK-----$" keys.asc) = 1 &&
	gpg --dearmor <keys.asc >dearmored.pgp &&
	cmp now.pgp dearmored.pgp &&
	test -z "$(ls keys.asc.tmp.* 2>/dev/null)"
'

test_expect_success 'export of named keys' '
	pgpsync dump export "$CAROL" >one.pgp &&
	test $(gpg --list-packets one.pgp |
	    grep -c "^:public key packet:") = 1 &&
	lower=$(echo "$CAROL" | tr A-F a-f) &&
	pgpsync dump export "0x$lower" >one-lower.pgp &&
	cmp one.pgp one-lower.pgp
'

test_expect_success 'export of an unknown fingerprint fails and names it' '
	test_expect_code 2 pgpsync dump export -o none.pgp "$CAROL" \
	    $ZERO40 2>err &&
	grep -q "$ZERO40.*not in the keyring" err &&
	! grep -q "$CAROL" err &&
	test ! -e none.pgp
'

test_expect_success 'a malformed fingerprint is a usage error' '
	test_expect_code 2 pgpsync dump export 1234 2>err &&
	grep -q "^usage: pgpsync dump export" err
'

test_expect_success 'a missing GnuPG home is an error' '
	test_expect_code 2 pgpsync dump import --homedir /nonexistent/x \
	    all.pgp 2>err &&
	grep -q "/nonexistent/x" err
'

# Runs last: it adds a key to $GNUPGHOME, which the tests above export.
test_expect_success 'a superseded subkey binding is not news' '
	T0=20250101T120000 T1=20250601T120000 &&
	g --faked-system-time "$T0!" --quick-gen-key \
	    "frank <frank@example.org>" ed25519 cert never &&
	F=$(fpr_of frank@example.org) &&
	g --faked-system-time "$T0!" --quick-add-key "$F" cv25519 encr 2y &&
	g --export "$F" >frank1.pgp &&
	SUB=$(gpg --with-colons --list-keys "$F" |
	    awk -F: "/^fpr:/ { n++ } n == 2 { print \$10; exit }") &&
	g --faked-system-time "$T1!" --quick-set-expire "$F" 3y "$SUB" &&
	g --export "$F" >frank2.pgp &&
	pgpsync dump import --homedir "$K" frank1.pgp frank2.pgp >out &&
	grep -q "^1 new, 1 updated (1 new signature," out &&
	# gpg kept only the newer binding, and will not add the older one
	test $(gpg --homedir "$K" --export "$F" | gpg --list-packets |
	    grep -c "sigclass 0x18") = 1 &&
	pgpsync dump import --homedir "$K" --json frank1.pgp frank2.pgp >json &&
	grep -q "^  \"unchanged\": 2,$" json &&
	grep -q "^    \"runs\": 0,$" json
'

test_done
