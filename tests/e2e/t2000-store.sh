#!/bin/sh
# The certificate store: what pgpsync writes, read back by real git (log,
# fsck, cat-file, ls-tree, clone, push); commits and their messages;
# revisions as key sets; the default location; sharing through a remote;
# refusals; the writer's lock.
. "$(dirname "$0")/lib.sh"

C=$SRCDIR/tests/data/certs
ALICE=$(pgpsync dump hashes "$C/alice.pgp" | cut -d' ' -f2)
BOB=$(pgpsync dump hashes "$C/bob.pgp" | cut -d' ' -f2)

# path FPR: where the store keeps a certificate
path() {
	echo "$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-4)/$1.pgp"
}

# hashes SET...: its SKS hashes and fingerprints, sorted; exits as
# pgpsync does (a pipe would report sort's status)
hashes() {
	pgpsync dump hashes "$@" >hashes.raw
	rc=$?
	sort hashes.raw
	return $rc
}

export GIT_CONFIG_NOSYSTEM=1
git config --global user.name "Test Writer"
git config --global user.email "writer@example.org"
git config --global init.defaultBranch main

test_expect_success 'import into a new store: one commit, files named by fingerprint' '
	pgpsync dump import --to store:S "$C/alice.pgp" "$C/bob.pgp" >out &&
	grep -q "^2 new, 0 updated (0 new signatures, 0 new user IDs, 0 new subkeys, 0 revocations), 0 unchanged, 0 rejected; commit [0-9a-f]\{12\}$" out &&
	test "$(git -C S rev-parse --is-bare-repository)" = true &&
	test "$(git -C S rev-list --count HEAD)" = 1 &&
	git -C S ls-tree -r --name-only HEAD >files &&
	{ echo README; path "$ALICE"; path "$BOB"; } | sort >expect &&
	test_cmp expect files &&
	git -C S cat-file -p "HEAD:$(path "$ALICE")" >a.pgp &&
	cmp a.pgp "$C/alice.pgp" &&
	test "$(git -C S cat-file -t "HEAD:$(path "$BOB")")" = blob
'

test_expect_success 'git fsck finds the store sound' '
	git -C S fsck --strict --no-dangling
'

test_expect_success 'the commit message lists the new certificates' '
	git -C S log -1 --format=%B >msg &&
	cat >expect <<-EOF &&
	2 new certificates

	New certificates:
	  $(printf "%s\n" "$ALICE Alice <alice@example.org>" "$BOB Bob <bob@example.org>" | sort | sed -n 1p)
	  $(printf "%s\n" "$ALICE Alice <alice@example.org>" "$BOB Bob <bob@example.org>" | sort | sed -n 2p)

	Source: pgpsync dump import $C/alice.pgp $C/bob.pgp

	EOF
	test_cmp expect msg &&
	test "$(git -C S log -1 --format="%an <%ae>")" = \
	    "Test Writer <writer@example.org>"
'

test_expect_success 'an update is merged and committed with what it added' '
	pgpsync dump import --to store:S "$C/alice-later.pgp" >out &&
	grep -q "^0 new, 1 updated (4 new signatures, 1 new user ID, 1 new subkey, 0 revocations), 0 unchanged, 0 rejected; commit" out &&
	git -C S log -1 --format=%s >subject &&
	echo "new subkey, user ID, expiry change, certification and self-signature on $ALICE" >expect &&
	test_cmp expect subject &&
	git -C S log -1 --format=%b | sed -n 2p >body &&
	echo "  $ALICE: 1 user ID, 1 subkey, 2 self-signatures, 1 expiry change, 1 certification" >expect &&
	test_cmp expect body &&
	git -C S reflog --format=%gs >reflog &&
	test $(grep -c "^commit" reflog) = 2 &&
	git -C S show --stat --format= HEAD >stat &&
	grep -q "$(path "$ALICE")" stat &&
	test_must_fail grep -q "$(path "$BOB")" stat
'

test_expect_success 'a revocation-only update: new revocation, nothing lost' '
	pgpsync dump import --to store:S "$C/alice-revocation-only.pgp" >out &&
	git -C S log -1 --format=%s >subject &&
	echo "new revocation on $ALICE" >expect &&
	test_cmp expect subject &&
	pgpsync dump merge -o merged.pgp "$C/alice.pgp" "$C/bob.pgp" \
	    "$C/alice-later.pgp" "$C/alice-revocation-only.pgp" 2>/dev/null &&
	hashes merged.pgp >expect &&
	hashes store:S >out &&
	test_cmp expect out &&
	test_expect_code 0 pgpsync diff merged.pgp store:S
'

test_expect_success 'what the store has already: no commit' '
	before=$(git -C S rev-parse HEAD) &&
	pgpsync dump import --to store:S "$C/alice.pgp" "$C/bob.pgp" \
	    "$C/alice-revocation-only.pgp" >out &&
	test "$(git -C S rev-parse HEAD)" = "$before" &&
	grep -q "^0 new, 0 updated .*, 3 unchanged, 0 rejected$" out
'

test_expect_success 'store:DIR@REV reads a revision; diff shows what a commit brought' '
	hashes "$C/alice.pgp" "$C/bob.pgp" >expect &&
	hashes store:S@HEAD~2 >out &&
	test_cmp expect out &&
	test_expect_code 1 pgpsync diff store:S@HEAD~1 store:S >out &&
	sed "s/$ALICE/ALICE/" out >norm &&
	cat >expect <<-\EOF &&
	--- store:S@HEAD~1
	+++ store:S
	~ ALICE Alice <alice@example.org>
	    + revocation 0x20 on the primary key, 2024-09-01, reason 3 (key retired)
	EOF
	test_cmp expect norm &&
	test_expect_code 2 pgpsync dump hashes store:S@nosuchrev 2>err &&
	grep -q "nosuchrev" err
'

test_expect_success 'a bare revocation joins the certificate of its issuer' '
	pgpsync dump import --to store:R "$C/alice.pgp" >/dev/null &&
	n=$(od -An -tu1 -j1 -N1 "$C/alice-revocation-only.pgp" | tr -d " ") &&
	tail -c +$((n + 3)) "$C/alice-revocation-only.pgp" >bare.pgp &&
	pgpsync dump import --to store:R bare.pgp >out &&
	grep -q "^0 new, 1 updated (0 new signatures, 0 new user IDs, 0 new subkeys, 1 revocation)" out &&
	pgpsync dump merge -o want.pgp "$C/alice.pgp" \
	    "$C/alice-revocation-only.pgp" 2>/dev/null &&
	test_expect_code 0 pgpsync diff want.pgp store:R
'

# Older revocation certificates name their issuer by key ID only: drop
# the issuer fingerprint subpacket (33) from the hashed area and put an
# issuer key ID subpacket (16) in the unhashed one.  Changing the hashed
# area breaks the signature: the store finds the key by its key ID, and
# then refuses the revocation because it does not verify by that key.
test_expect_success 'a revocation naming its issuer by key ID only: found, refused unverified' '
	perl -e "
		local \$/; my \$d = <STDIN>;
		my \$sig = substr(\$d, 2 + ord(substr(\$d, 1, 1)));
		my \$b = (ord(\$sig) & 3) == 0 ?
		    substr(\$sig, 2, ord(substr(\$sig, 1, 1))) :
		    substr(\$sig, 3, unpack(q(n), substr(\$sig, 1, 2)));
		my \$hl = unpack(q(n), substr(\$b, 4, 2));
		my \$h = substr(\$b, 6, \$hl);
		my \$rest = substr(\$b, 6 + \$hl);
		my \$ul = unpack(q(n), substr(\$rest, 0, 2));
		my (\$out, \$kid) = (q(), q());
		for (my \$i = 0; \$i < length \$h;) {
			my \$l = ord(substr(\$h, \$i, 1));
			my \$sp = substr(\$h, \$i + 1, \$l);
			if ((ord(\$sp) & 0x7f) == 33) { \$kid = substr(\$sp, -8) }
			else { \$out .= substr(\$h, \$i, 1 + \$l) }
			\$i += 1 + \$l;
		}
		die qq(no issuer fingerprint\n) if \$kid eq q();
		my \$un = substr(\$rest, 2, \$ul) . chr(9) . chr(16) . \$kid;
		my \$nb = substr(\$b, 0, 4) . pack(q(n), length \$out) . \$out .
		    pack(q(n), length \$un) . \$un . substr(\$rest, 2 + \$ul);
		print chr(0x89), pack(q(n), length \$nb), \$nb;
	" <"$C/alice-revocation-only.pgp" >bare-kid.pgp &&
	pgpsync dump import --to store:K "$C/alice.pgp" "$C/bob.pgp" \
	    >/dev/null &&
	git -C K rev-parse HEAD >before &&
	test_expect_code 3 pgpsync dump import --to store:K bare-kid.pgp \
	    >out 2>err &&
	grep -q "$ALICE: a revocation that does not verify by this key" err &&
	grep -q "^0 new, 0 updated" out &&
	git -C K rev-parse HEAD >after &&
	test_cmp before after
'

# The key and the revocations in one import: the revocations wait for
# the key's other versions and are checked against it then.
test_expect_success 'a key and bare revocations of it in one import' '
	test_expect_code 3 pgpsync dump import --to store:K2 \
	    "$C/alice.pgp" bare-kid.pgp "$C/alice-later.pgp" bare.pgp \
	    >out 2>err &&
	grep -q "$ALICE: a revocation that does not verify by this key" err &&
	grep -q "^1 new, 2 updated .* 1 revocation), 0 unchanged, 1 rejected" \
	    out &&
	pgpsync dump merge -o want.pgp "$C/alice.pgp" "$C/alice-later.pgp" \
	    "$C/alice-revocation-only.pgp" 2>/dev/null &&
	test_expect_code 0 pgpsync diff want.pgp store:K2
'

test_expect_success 'refused: a revocation of a key not stored, secret keys' '
	test_expect_code 3 pgpsync dump import --to store:R2 bare.pgp \
	    >out 2>err &&
	grep -q "for a key the store does not have" err &&
	grep -q "0 unchanged, 1 rejected$" out &&
	test_must_fail git -C R2 rev-parse -q --verify HEAD &&
	test_expect_code 3 pgpsync dump import --to store:R2 \
	    "$SRCDIR/tests/data/keys/dana-ed25519-secret.asc" 2>err &&
	grep -q "secret key" err
'

test_expect_success 'the default store is under XDG_DATA_HOME' '
	pgpsync dump import --to store: "$C/bob.pgp" >/dev/null &&
	git -C "$XDG_DATA_HOME/pgpsync/store" log --oneline >log &&
	test $(wc -l <log) = 1 &&
	hashes "$C/bob.pgp" >expect &&
	hashes store: >out &&
	test_cmp expect out
'

test_expect_success 'dump verbs read stores; --json reports the commit' '
	pgpsync dump stats store:S >stats &&
	grep -q "^certificates      2$" stats &&
	pgpsync dump import --to store:J --json "$C/bob.pgp" >out.json &&
	perl -MJSON::PP -e "local \$/; my \$d = decode_json(<STDIN>);
		print \$d->{new}, q( ), \$d->{commit}, qq(\n)" <out.json >out &&
	echo "1 $(git -C J rev-parse HEAD)" >expect &&
	test_cmp expect out
'

test_expect_success 'shared through git: clone, push, fetch and import' '
	git clone -q --bare S T &&
	hashes store:S >expect &&
	hashes store:T >out &&
	test_cmp expect out &&
	pgpsync dump import --to store:T "$C/alice-revoked.pgp" >/dev/null &&
	pgpsync dump import --to store:S "$SRCDIR/tests/data/keys/erin-ed25519.asc" \
	    >/dev/null &&
	git -C S remote add origin ../T &&
	git -C S fetch -q origin &&
	pgpsync dump import --to store:S store:S@origin/main >out &&
	git -C S log -1 --format=%s >subject &&
	grep -q "^merge origin/main: new revocation on $ALICE$" subject &&
	test "$(git -C S rev-list --count --merges HEAD)" = 1 &&
	git -C S push -q origin main &&
	test "$(git -C T rev-parse HEAD)" = "$(git -C S rev-parse HEAD)" &&
	git -C S fsck --strict --no-dangling &&
	git -C T fsck --strict --no-dangling
'

test_expect_success 'fetching what the store already has, and a fast-forward' '
	before=$(git -C S rev-parse HEAD) &&
	pgpsync dump import --to store:S store:S@origin/main >out &&
	grep -q " 0 rejected$" out &&
	test "$(git -C S rev-parse HEAD)" = "$before" &&
	pgpsync dump import --to store:S \
	    "$SRCDIR/tests/data/keys/dana-ed25519.asc" >/dev/null &&
	git -C T config remote.origin.fetch \
	    "+refs/heads/*:refs/remotes/origin/*" &&
	git -C T fetch -q origin &&
	pgpsync dump import --to store:T store:T@origin/main >out &&
	grep -q "^fast-forward to .store:T@origin/main.; commit" out &&
	test "$(git -C T rev-parse HEAD)" = "$(git -C S rev-parse HEAD)"
'

test_expect_success 'a file git added that is not a certificate is reported' '
	git clone -q S W &&
	mkdir -p W/00/00 &&
	echo "not a key" >W/00/00/0000000000000000000000000000000000000000.pgp &&
	git -C W add . &&
	git -C W commit -q -m "junk" &&
	git -C W push -q origin main &&
	test_expect_code 3 pgpsync diff store:S store:S@HEAD~1 >out 2>err &&
	grep -q "1 file in the store is not a certificate" err &&
	test_must_fail test -s out &&
	test_expect_code 3 pgpsync dump hashes store:S >out 2>err &&
	grep -q "00/00/0000000000000000000000000000000000000000.pgp" err
'

test_expect_success 'a clone with a work tree is read, never written' '
	test_expect_code 3 hashes store:W >out 2>/dev/null &&
	test_expect_code 3 hashes store:S >expect 2>/dev/null &&
	test_cmp expect out &&
	test_expect_code 2 pgpsync dump import --to store:W "$C/bob.pgp" \
	    2>err &&
	grep -q "work tree" err &&
	test_expect_code 2 pgpsync dump import --to store:S@HEAD "$C/bob.pgp" \
	    2>err &&
	grep -q "read only" err &&
	mkdir notgit && echo x >notgit/file &&
	test_expect_code 2 pgpsync dump import --to store:notgit \
	    "$C/bob.pgp" 2>err &&
	grep -q "not a git repository" err
'

test_expect_success 'a deleted or stale index is rebuilt from the trees' '
	test_expect_code 3 hashes store:S >expect 2>/dev/null &&
	rm S/pgpsync/index &&
	test_expect_code 3 hashes store:S >out 2>/dev/null &&
	test_cmp expect out &&
	test_expect_code 3 pgpsync diff store:S store:T 2>/dev/null &&
	test -s S/pgpsync/index
'

test_expect_success 'a store that is not there is an error, not an empty set' '
	for cmd in "dump hashes" "dump stats" "dump merge -o m.pgp" \
	    "dump import --to store:S" "diff store:S"; do
		test_expect_code 2 pgpsync $cmd store:no/such/store \
		    >out 2>err &&
		grep -q "no store at .no/such/store" err || return 1
	done &&
	mkdir empty-dir &&
	test_expect_code 2 pgpsync dump hashes store:empty-dir 2>err &&
	grep -q "no store at .empty-dir" err
'

test_expect_success 'a second writer waits, then gives up naming the first' '
	mkfifo fifo &&
	{ pgpsync dump import --to store:L fifo >l.out 2>&1 & } &&
	i=0 &&
	while ! test -f L/pgpsync/store.lock && test $i -lt 100; do
		sleep 0.1; i=$((i + 1))
	done &&
	PGPSYNC_LOCK_TIMEOUT=1 test_expect_code 2 \
	    pgpsync dump import --to store:L "$C/bob.pgp" 2>err &&
	grep -q "being written by another pgpsync (process [1-9]" err &&
	cat "$C/alice.pgp" >fifo &&
	wait &&
	grep -q "^1 new" l.out &&
	pgpsync dump import --to store:L "$C/bob.pgp" >out &&
	grep -q "^1 new" out &&
	test "$(git -C L rev-list --count HEAD)" = 2
'

test_done
