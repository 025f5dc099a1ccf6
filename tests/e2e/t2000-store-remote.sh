#!/bin/sh
# A store revision from a remote nobody vouches for: importing it never
# removes a packet, never keeps a certificate under another key's name,
# and takes nothing that is not a certificate, fast-forward or not.  Each
# hostile remote is a clone with one commit made by plain git commands.
. "$(dirname "$0")/lib.sh"

C=$SRCDIR/tests/data/certs
K=$SRCDIR/tests/data/keys
ALICE=$(pgpsync dump hashes "$C/alice.pgp" | cut -d' ' -f2)
BOB=$(pgpsync dump hashes "$C/bob.pgp" | cut -d' ' -f2)
ERIN=$(pgpsync dump hashes "$K/erin-ed25519.asc" | cut -d' ' -f2)

# path FPR: where the store keeps a certificate
path() {
	echo "$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-4)/$1.pgp"
}

export GIT_CONFIG_NOSYSTEM=1
git config --global user.name "Test Writer"
git config --global user.email "writer@example.org"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

# remote NAME: a work-tree clone of S to make a hostile commit in
remote() {
	rm -rf "$1" && git clone -q S "$1"
}

# take NAME: commits what is staged in NAME (unless NAME's HEAD has moved
# already), fetches it into S and imports it; out and err hold the output
take() {
	if test "$(git -C "$1" rev-parse HEAD)" = \
	    "$(git -C S rev-parse HEAD)"; then
		git -C "$1" commit -q -m "$1" || return 1
	fi
	git -C S fetch -q "../$1" "+main:refs/remotes/$1/main" &&
	pgpsync dump import --to store:S "store:S@$1/main" >out 2>err
}

# commit_tree NAME: makes NAME's main a commit of the tree that git mktree
# builds from the lines on standard input (ls-tree format)
commit_tree() {
	tree=$(git -C "$1" mktree) &&
	c=$(git -C "$1" commit-tree -p HEAD -m "$1" "$tree") &&
	git -C "$1" update-ref refs/heads/main "$c"
}

# untouched: S's tree is the tree it had before the import, its history
# a merge with the remote's commit, and git finds the store sound
untouched() {
	git -C S ls-tree -r HEAD >tree.now &&
	test_cmp tree.before tree.now &&
	test "$(git -C S rev-parse HEAD^1)" = "$before" &&
	test "$(git -C S rev-parse HEAD^2)" = \
	    "$(git -C S rev-parse "$1/main")"
}

test_expect_success 'a store with a revoked certificate' '
	pgpsync dump import --to store:S "$C/alice.pgp" "$C/bob.pgp" \
	    >/dev/null &&
	pgpsync dump import --to store:S "$C/alice-revoked.pgp" >out &&
	grep -q "[1-9] revocations\?)" out &&
	git -C S cat-file blob "HEAD:$(path "$ALICE")" >alice-stored.pgp &&
	git -C S ls-tree -r HEAD >tree.before &&
	pgpsync dump merge -o erin.pgp "$K/erin-ed25519.asc" 2>/dev/null
'

test_expect_success 'a fast-forward that removes a revocation' '
	before=$(git -C S rev-parse HEAD) &&
	remote rev &&
	cp "$C/alice.pgp" "rev/$(path "$ALICE")" &&
	git -C rev add . &&
	take rev &&
	grep -q "not a fast-forward: .*$(path "$ALICE"): would lose packets" \
	    err &&
	untouched rev &&
	git -C S cat-file blob "HEAD:$(path "$ALICE")" >a.pgp &&
	cmp a.pgp alice-stored.pgp &&
	git -C S fsck --strict --no-dangling
'

test_expect_success 'a fast-forward that puts another key under a name' '
	git -C S ls-tree -r HEAD >tree.before &&
	before=$(git -C S rev-parse HEAD) &&
	remote swap &&
	cp "$C/bob.pgp" "swap/$(path "$ALICE")" &&
	git -C swap add . &&
	test_expect_code 3 take swap &&
	grep -q "$(path "$ALICE").: holds the certificate of $BOB" err &&
	grep -q "1 rejected" out &&
	untouched swap &&
	git -C S cat-file blob "HEAD:$(path "$ALICE")" >a.pgp &&
	cmp a.pgp alice-stored.pgp
'

test_expect_success 'a fast-forward that adds files that are not certificates' '
	git -C S ls-tree -r HEAD >tree.before &&
	before=$(git -C S rev-parse HEAD) &&
	remote junk &&
	echo "run me" >junk/install.sh &&
	mkdir -p junk/00/00 junk/C0/94 &&
	echo "not a key" >junk/00/00/notes.txt &&
	cp erin.pgp "junk/00/00/$ERIN.pgp" &&
	lower=$(echo "$ERIN" | tr A-F a-f) &&
	cp erin.pgp "junk/C0/94/$lower.pgp" &&
	echo "changed" >>junk/README &&
	git -C junk add . &&
	take junk &&
	grep -q "not a fast-forward: .*not a certificate" err &&
	untouched junk
'

test_expect_success 'a fast-forward with a symlink and a submodule' '
	git -C S ls-tree -r HEAD >tree.before &&
	before=$(git -C S rev-parse HEAD) &&
	remote link &&
	mkdir -p "link/$(dirname "$(path "$ERIN")")" &&
	rm -f "link/$(path "$ERIN")" &&
	ln -s /etc/passwd "link/$(path "$ERIN")" &&
	git -C link add . &&
	git -C link update-index --add --cacheinfo \
	    "160000,$before,$(path C094000000000000000000000000000000000000)" &&
	take link &&
	grep -q "not a fast-forward" err &&
	untouched link
'

test_expect_success 'a fast-forward with a huge file named as a certificate' '
	git -C S ls-tree -r HEAD >tree.before &&
	before=$(git -C S rev-parse HEAD) &&
	remote huge &&
	mkdir -p "huge/$(dirname "$(path "$ERIN")")" &&
	rm -f "huge/$(path "$ERIN")" &&
	{ cat erin.pgp; head -c 20000000 /dev/zero; } \
	    >"huge/$(path "$ERIN")" &&
	git -C huge add . &&
	rm "huge/$(path "$ERIN")" &&
	test_expect_code 3 take huge &&
	grep -q "$(path "$ERIN").*larger than" err &&
	untouched huge
'

test_expect_success 'a fast-forward whose trees hold the wrong kinds of entry' '
	git -C S ls-tree -r HEAD >tree.before &&
	before=$(git -C S rev-parse HEAD) &&
	remote kinds &&
	blob=$(git -C kinds hash-object -w ../erin.pgp) &&
	leaf=$(printf "100644 blob %s\t%s\n" "$blob" "$ERIN.pgp" |
	    git -C kinds mktree) &&
	asdir=$(printf "040000 tree %s\t%s\n" "$leaf" "$ERIN.pgp" |
	    git -C kinds mktree) &&
	mid=$(printf "040000 tree %s\t94\n" "$asdir" | git -C kinds mktree) &&
	{
		git -C kinds ls-tree HEAD &&
		printf "040000 tree %s\tC0\n" "$mid" &&
		printf "100644 blob %s\t12\n" "$blob"
	} | commit_tree kinds &&
	take kinds &&
	grep -q "not a fast-forward" err &&
	untouched kinds
'

test_expect_success 'a fast-forward with a ".." entry' '
	git -C S ls-tree -r HEAD >tree.before &&
	before=$(git -C S rev-parse HEAD) &&
	remote dots &&
	blob=$(git -C dots hash-object -w ../erin.pgp) &&
	leaf=$(printf "100644 blob %s\t%s\n" "$blob" "$ERIN.pgp" |
	    git -C dots mktree) &&
	mid=$(printf "040000 tree %s\t..\n" "$leaf" | git -C dots mktree) &&
	{
		git -C dots ls-tree HEAD &&
		printf "040000 tree %s\t..\n" "$mid"
	} | commit_tree dots &&
	take dots &&
	grep -q "not a fast-forward" err &&
	untouched dots
'

test_expect_success 'a clean fast-forward still moves HEAD, nothing more' '
	remote good &&
	mkdir -p "good/$(dirname "$(path "$ERIN")")" &&
	rm -f "good/$(path "$ERIN")" &&
	cp erin.pgp "good/$(path "$ERIN")" &&
	pgpsync dump merge -o alice-more.pgp alice-stored.pgp \
	    "$C/alice-later.pgp" 2>/dev/null &&
	cp alice-more.pgp "good/$(path "$ALICE")" &&
	git -C good add . &&
	take good &&
	grep -q "^fast-forward to .store:S@good/main.; commit" out &&
	test_must_fail test -s err &&
	test "$(git -C S rev-parse HEAD)" = \
	    "$(git -C S rev-parse good/main)" &&
	git -C S cat-file blob "HEAD:$(path "$ERIN")" | cmp - erin.pgp
'

cat >pk.pl <<'EOF'
# pk.pl: splits binary OpenPGP packets; "tags FILE" lists the tags,
# "swap PUB SEC" writes PUB with its subkey packets (14) replaced by SEC's
# secret subkey packets (7)
sub packets {
	local $/; open(my $f, "<", $_[0]) or die; binmode $f; my $d = <$f>;
	my @p;
	for (my $i = 0; $i < length $d;) {
		my $h = ord(substr($d, $i, 1)); my ($tag, $len, $hl);
		if ($h & 0x40) {
			$tag = $h & 0x3f; my $o = ord(substr($d, $i + 1, 1));
			if ($o < 192) { ($len, $hl) = ($o, 2) }
			elsif ($o < 224) { ($len, $hl) = ((($o - 192) << 8) + ord(substr($d, $i + 2, 1)) + 192, 3) }
			else { ($len, $hl) = (unpack("N", substr($d, $i + 2, 4)), 6) }
		} else {
			$tag = ($h >> 2) & 0xf; my $lt = $h & 3;
			($len, $hl) = $lt == 0 ? (ord(substr($d, $i + 1, 1)), 2) :
			    $lt == 1 ? (unpack("n", substr($d, $i + 1, 2)), 3) :
			    (unpack("N", substr($d, $i + 1, 4)), 5);
		}
		push @p, [$tag, substr($d, $i, $hl + $len)]; $i += $hl + $len;
	}
	return @p;
}
if ($ARGV[0] eq "tags") { print join(" ", map { $_->[0] } packets($ARGV[1])), "\n" }
else {
	my @s = grep { $_->[0] == 7 } packets($ARGV[2]);
	binmode STDOUT;
	print map { $_->[0] == 14 ? (shift(@s) // die)->[1] : $_->[1] } packets($ARGV[1]);
}
EOF

# A public certificate that carries a secret subkey (tag 7) where its
# public subkey (tag 14) was.
test_expect_success 'secret subkeys are dropped from what is imported' '
	gpg --dearmor <"$K/dana-ed25519-secret.asc" >dana-sec.pgp &&
	pgpsync dump merge -o dana.pgp "$K/dana-ed25519.asc" 2>/dev/null &&
	perl pk.pl swap dana.pgp dana-sec.pgp >dana7.pgp &&
	perl pk.pl tags dana7.pgp >tags &&
	grep -q " 7 " tags &&
	DANA=$(pgpsync dump hashes dana.pgp | cut -d" " -f2) &&
	pgpsync dump import --to store:D dana7.pgp >out 2>err &&
	grep -q "^1 new" out &&
	grep -q "$DANA: 1 secret subkey dropped" err &&
	git -C D cat-file blob "HEAD:$(path "$DANA")" >stored.pgp &&
	perl pk.pl tags stored.pgp >tags &&
	echo "6 13 2 2" >expect &&
	test_cmp expect tags
'

test_expect_success 'a fast-forward bringing a secret subkey' '
	git -C S ls-tree -r HEAD >tree.before &&
	remote sec &&
	DANA=$(pgpsync dump hashes dana.pgp | cut -d" " -f2) &&
	mkdir -p "sec/$(dirname "$(path "$DANA")")" &&
	cp dana7.pgp "sec/$(path "$DANA")" &&
	git -C sec add . &&
	take sec &&
	grep -q "not a fast-forward: $(path "$DANA"): secret key material" \
	    err &&
	grep -q "$DANA: 1 secret subkey dropped" err &&
	git -C S cat-file blob "HEAD:$(path "$DANA")" >stored.pgp &&
	perl pk.pl tags stored.pgp >tags &&
	echo "6 13 2 2" >expect &&
	test_cmp expect tags
'

test_expect_success 'an empty store takes only certificates from a remote' '
	git init -q --bare E &&
	git -C E fetch -q ../junk "+main:refs/remotes/junk/main" &&
	pgpsync dump import --to store:E store:E@junk/main >out 2>err &&
	grep -q "not a fast-forward" err &&
	git -C E ls-tree -r --name-only HEAD >files &&
	{ echo README; path "$ALICE"; path "$BOB"; } | sort >expect &&
	test_cmp expect files &&
	test "$(git -C E rev-parse HEAD^1)" = \
	    "$(git -C E rev-parse junk/main)" &&
	test "$(git -C E rev-parse HEAD:README)" = \
	    "$(git -C S rev-parse HEAD:README)"
'

test_done
