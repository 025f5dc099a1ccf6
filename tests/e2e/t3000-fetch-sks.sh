#!/bin/sh
# pgpsync fetch and push against a real SKS keyserver and real gpg: a
# keyring holding older versions of 204 keys gets exactly the packets SKS
# has and it lacks, each change reported; a second run changes nothing;
# the same into a dump file and into a store (one commit); push sends only
# what changed since and SKS serves it back.
. "$(dirname "$0")/lib.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
GENCERTS=$SRCDIR/tests/bench/gencerts

if ! test_have_prereq GPG || ! test_have_prereq SKS ||
    ! command -v curl >/dev/null 2>&1 || ! [ -x "$GENCERTS" ]; then
	test_skip 'fetch and push against SKS and gpg' \
	    'needs gpg, sks (apt-get install sks), curl, tests/bench/gencerts'
	test_done
fi

# SKS's and gpg-agent's sockets need short paths: both live in /tmp.
TMPD=$(mktemp -d /tmp/pgps-t3000.XXXXXX) || exit 1
chmod 700 "$TMPD"
SKS=$TMPD/sks
M=$TMPD/m	# where the keys are made and changed
T=$TMPD/t	# the keyring refreshed
mkdir -m 700 "$M" "$T"
test_at_exit 'cd / && "$FIXTURE" destroy "$SKS" >/dev/null 2>&1
gpgconf --homedir "$M" --kill all >/dev/null 2>&1
gpgconf --homedir "$T" --kill all >/dev/null 2>&1
rm -rf "$TMPD"'

g() {
	gpg --homedir "$M" --batch --no-tty --quiet --passphrase '' \
	    --pinentry-mode loopback "$@" 2>/dev/null
}

fpr_of() {
	gpg --homedir "$M" --with-colons --list-keys "$1" 2>/dev/null |
	    awk -F: '/^fpr:/ { print $10; exit }'
}

# hashes FILE...: sorted "hash fingerprint" lines of the certificates.
hashes() {
	cat "$@" | pgpsync dump hashes | sort
}

# jnum FILE NAME: a top-level number of a JSON report.
jnum() {
	sed -n "s/^  \"$2\": \\([0-9]*\\),*\$/\\1/p" "$1"
}

# jchange FILE KIND: a total of the "changes" object.
jchange() {
	sed -n '/^  "changes": {/,/^  }/p' "$1" |
	    sed -n "s/^    \"$2\": \\([0-9]*\\),*\$/\\1/p"
}

test_expect_success 'setup: 200 generated keys and 4 gpg keys, old and new' '
	"$GENCERTS" -n 200 -s 3000 -o gen.pgp &&
	pgpsync dump filter --strip-third-party -o gen-old.pgp gen.pgp \
	    2>filter.out &&
	sed -n "s/.*dropped \([0-9]*\) third-party.*/\1/p" filter.out \
	    >stripped &&
	sed -n "s/.* kept (\([0-9]*\) trimmed).*/\1/p" filter.out >trimmed &&
	test "$(cat stripped)" -gt 1000 && test "$(cat trimmed)" -gt 100 &&
	g --quick-gen-key "ann <ann@example.org>" ed25519 sign never &&
	g --quick-gen-key "ben <ben@example.org>" ed25519 sign never &&
	g --quick-gen-key "cy <cy@example.org>" ed25519 sign 1y &&
	g --quick-gen-key "di <di@example.org>" ed25519 sign never &&
	g --export >gpg-old.pgp &&
	g --quick-add-uid "$(fpr_of ann@)" "ann <ann@example.net>" &&
	g --quick-add-key "$(fpr_of ben@)" cv25519 encr never &&
	g --quick-set-expire "$(fpr_of cy@)" 3y &&
	sed "s/^:-----/-----/" "$M/openpgp-revocs.d/$(fpr_of di@).rev" |
	    g --import &&
	g --export >gpg-new.pgp &&
	gpg --homedir "$T" --batch --quiet --import gen-old.pgp gpg-old.pgp \
	    2>/dev/null &&
	test $(gpg --homedir "$T" --with-colons --list-keys |
	    grep -c "^pub:") = 204
'

test_expect_success 'SKS serves the new versions' '
	"$FIXTURE" start "$SKS" --no-gossip --owner $$ --keys gen.pgp \
	    --keys gpg-new.pgp >/dev/null &&
	test "$("$FIXTURE" count "$SKS")" = 204
'
PORT=$("$FIXTURE" port "$SKS" hkp 2>/dev/null)
HKP=hkp://127.0.0.1:$PORT
BASE=http://127.0.0.1:$PORT
STATE=$XDG_STATE_HOME/pgpsync/state.json

test_expect_success 'fetch brings exactly what SKS has and gpg lacks' '
	pgpsync fetch --homedir "$T" -k "$HKP" --json >fetch.json &&
	test "$(jnum fetch.json updated)" = $(($(cat trimmed) + 4)) &&
	test "$(jnum fetch.json unchanged)" = $((200 - $(cat trimmed))) &&
	test "$(jnum fetch.json failed)" = 0 &&
	test "$(jnum fetch.json requests)" = 204 &&
	test "$(jchange fetch.json certifications)" = "$(cat stripped)" &&
	test "$(jchange fetch.json user_ids)" = 1 &&
	test "$(jchange fetch.json subkeys)" = 1 &&
	test "$(jchange fetch.json expiry_changes)" = 1 &&
	test "$(jchange fetch.json revocations)" = 1 &&
	# the union of both versions: fetch adds, it never takes away (gpg
	# replaced the self-signature of cy, and SKS has only the new one)
	pgpsync dump merge gen-old.pgp gpg-old.pgp gen.pgp gpg-new.pgp \
	    >union.pgp &&
	hashes union.pgp >union.hashes &&
	gpg --homedir "$T" --export >after.pgp &&
	hashes after.pgp >after.hashes &&
	test_cmp union.hashes after.hashes
'

test_expect_success 'each key says what was new' '
	# members in name order: the changes come before the fingerprint
	grep -B 10 -A 3 "\"fingerprint\": \"$(fpr_of di@)\"" fetch.json >di &&
	grep -q "\"revocations\": 1," di &&
	grep -q "\"certifications\": 0," di &&
	grep -q "\"result\": \"updated\"" di &&
	gpg --homedir "$T" --with-colons --list-keys "$(fpr_of di@)" |
	    grep -q "^pub:r:" &&
	gpg --homedir "$T" --with-colons --list-keys "$(fpr_of ann@)" |
	    grep -q "ann@example.net"
'

test_expect_success 'nothing new: silent, exit 0, gpg not started' '
	pgpsync fetch --homedir "$T" -k "$HKP" >out 2>err &&
	test ! -s out && test ! -s err &&
	pgpsync fetch --homedir "$T" -k "$HKP" --json >again.json &&
	test "$(jnum again.json unchanged)" = 204 &&
	grep -q "^    \"runs\": 0,$" again.json
'

test_expect_success 'the text report names the changes' '
	gpg --homedir "$T" --batch --yes --delete-keys "$(fpr_of ann@)" \
	    2>/dev/null &&
	gpg --homedir "$T" --batch --quiet --import gpg-old.pgp 2>/dev/null &&
	pgpsync fetch --homedir "$T" -k "$HKP" "$(fpr_of ann@)" >out &&
	echo "updated $(fpr_of ann@) (+1 user ID)" >expect &&
	test_cmp expect out
'

test_expect_success 'the state file records every key' '
	test -f "$STATE" &&
	test $(grep -c "\"checked\":" "$STATE") = 204 &&
	grep -q "\"server\": \"$BASE\"" "$STATE"
'

test_expect_success '--max-age skips keys checked recently' '
	pgpsync fetch --homedir "$T" -k "$HKP" --max-age 1h --json >aged.json &&
	test "$(jnum aged.json not_due)" = 204 &&
	test "$(jnum aged.json requests)" = 0
'

test_expect_success '--spread refreshes a share per run, all within a period' '
	now=$(date +%s) &&
	sed "s/\"checked\": [0-9]*/\"checked\": $((now - 8 * 86400))/" \
	    "$STATE" >old.json && cp old.json "$STATE" &&
	pgpsync fetch --homedir "$T" -k "$HKP" --spread 7d --dry-run \
	    --json >all.json &&
	test "$(jnum all.json not_due)" = 0 &&
	sed "s/\"checked\": [0-9]*/\"checked\": $((now - 302400))/" \
	    old.json >"$STATE" &&
	pgpsync fetch --homedir "$T" -k "$HKP" --spread 7d --json >half.json &&
	due=$(jnum half.json unchanged) &&
	echo "due: $due of 204" &&
	test "$due" -gt 50 && test "$due" -lt 154 &&
	test "$(jnum half.json not_due)" = $((204 - due)) &&
	pgpsync fetch --homedir "$T" -k "$HKP" --spread 7d --json >next.json &&
	test "$(jnum next.json not_due)" = 204
'

test_expect_success '--output writes the merged certificates, imports nothing' '
	mkdir -m 700 "$TMPD/o" &&
	gpg --homedir "$TMPD/o" --batch --quiet --import gpg-old.pgp \
	    2>/dev/null &&
	pgpsync fetch --homedir "$TMPD/o" -k "$HKP" --output - \
	    "$(fpr_of di@)" "$(fpr_of ben@)" >two.pgp &&
	gpg --homedir "$TMPD/o" --with-colons --list-keys "$(fpr_of di@)" |
	    grep -q "^pub:[^r]" &&
	test $(gpg --list-packets two.pgp |
	    grep -c "^:public key packet:") = 2 &&
	gpg --homedir "$TMPD/o" --batch --quiet --import two.pgp 2>/dev/null &&
	gpg --homedir "$TMPD/o" --with-colons --list-keys "$(fpr_of di@)" |
	    grep -q "^pub:r:" &&
	pgpsync fetch --homedir "$TMPD/o" -k "$HKP" --output one.asc --armor \
	    "$(fpr_of ann@)" &&
	grep -q "^-----BEGIN PGP PUBLIC KEY BLOCK-----" one.asc &&
	gpgconf --homedir "$TMPD/o" --kill all
'

test_expect_success 'a key named by e-mail address or key ID' '
	mkdir -m 700 "$TMPD/e" &&
	ben=$(fpr_of ben@) &&
	pgpsync fetch --homedir "$TMPD/e" -k "$HKP" ben@example.org >out &&
	echo "new $ben" >expect &&
	test_cmp expect out &&
	cy=$(fpr_of cy@) &&
	pgpsync fetch --homedir "$TMPD/e" -k "$HKP" \
	    "0x$(echo "$cy" | cut -c 25-40)" >out &&
	echo "new $cy" >expect &&
	test_cmp expect out &&
	gpgconf --homedir "$TMPD/e" --kill all
'

test_expect_success 'a dump file as the target is rewritten with the merge' '
	cat gen-old.pgp gpg-old.pgp >ring.pgp &&
	pgpsync fetch --keyring ring.pgp -k "$HKP" --state dump-state.json \
	    >out &&
	test $(grep -c "^updated " out) = $(($(cat trimmed) + 4)) &&
	hashes ring.pgp >ring.hashes &&
	test_cmp union.hashes ring.hashes &&
	test -z "$(ls ring.pgp.tmp.* 2>/dev/null)" &&
	cp ring.pgp ring-before.pgp &&
	pgpsync fetch --keyring dump:ring.pgp -k "$HKP" \
	    --state dump-state.json >out &&
	test ! -s out &&
	cmp ring.pgp ring-before.pgp
'

test_expect_success 'a store as the target: one commit with the new packets' '
	cat gen-old.pgp gpg-old.pgp >old.pgp &&
	pgpsync dump import --to store:st old.pgp >/dev/null &&
	test $(git -C st rev-list --count HEAD) = 1 &&
	pgpsync fetch --keyring store:st -k "$HKP" --state store-state.json \
	    --json >st.json &&
	test "$(jnum st.json updated)" = $(($(cat trimmed) + 4)) &&
	test "$(jnum st.json new)" = 0 &&
	test $(git -C st rev-list --count HEAD) = 2 &&
	grep -q "^  \"commit\": \"$(git -C st rev-parse HEAD)\",$" st.json &&
	grep -q "^  \"target\": \"store:st\",$" st.json &&
	# the message lists each key and what it gained, and the source
	git -C st log -1 --format=%B >msg &&
	grep -q "^  $(fpr_of di@): 1 revocation$" msg &&
	grep -q "^  $(fpr_of ann@): .*1 user ID" msg &&
	grep -q "^Source: pgpsync fetch from $BASE$" msg &&
	test $(grep -c "^  [0-9A-F]\{40\}:" msg) = $(($(cat trimmed) + 4)) &&
	pgpsync diff old.pgp union.pgp | tail -n +3 >expect &&
	test_expect_code 1 pgpsync diff store:st@HEAD~1 store:st |
	    tail -n +3 >out &&
	test_cmp expect out &&
	! grep -q "^ *- " out &&
	pgpsync diff store:st union.pgp &&
	pgpsync fetch --keyring store:st -k "$HKP" --state store-state.json \
	    >out &&
	test ! -s out &&
	test $(git -C st rev-list --count HEAD) = 2
'

test_expect_success 'fetch --dry-run into a store commits nothing' '
	pgpsync dump import --to store:st2 old.pgp >/dev/null &&
	pgpsync fetch --keyring store:st2 -k "$HKP" --dry-run \
	    --state store-state2.json "$(fpr_of di@)" >out &&
	grep -q "^updated $(fpr_of di@) (+1 revocation)$" out &&
	grep -q "(dry run: nothing changed)$" out &&
	test $(git -C st2 rev-list --count HEAD) = 1 &&
	test_expect_code 2 pgpsync fetch --keyring store:st2@HEAD -k "$HKP" \
	    2>err &&
	grep -q "a revision cannot be updated" err
'

test_expect_success 'a store that does not exist yet is made' '
	pgpsync fetch --keyring store:st3 -k "$HKP" --state store-state3.json \
	    "$(fpr_of ann@)" >out &&
	echo "new $(fpr_of ann@)" >expect &&
	test_cmp expect out &&
	test "$(git -C st3 log --format=%s)" = "1 new certificate" &&
	pgpsync diff store:st3 gpg-new.pgp | grep -q "^+ $(fpr_of ben@)$"
'

test_expect_success 'known keys are asked a hundred at a time (hashquery)' '
	# 204 keys whose last answer SKS still holds: 3 requests
	pgpsync fetch --homedir "$T" -k "$HKP" --json >again.json &&
	test "$(jnum again.json unchanged)" = 204 &&
	test "$(jnum again.json requests)" = 3 &&
	# a changed key comes back to a lookup of its own
	g --quick-add-uid "$(fpr_of ben@)" "ben <ben@example.net>" &&
	g --export "$(fpr_of ben@)" >ben2.pgp &&
	"$FIXTURE" add "$SKS" ben2.pgp >/dev/null &&
	i=0 &&
	until pgpsync fetch --homedir "$T" -k "$HKP" --json >hq.json &&
	    test "$(jnum hq.json updated)" = 1; do
		i=$((i + 1))
		test $i -lt 25 || exit 1
		sleep 0.2
	done &&
	test "$(jnum hq.json requests)" = 4 &&
	grep -B 10 "\"fingerprint\": \"$(fpr_of ben@)\"" hq.json |
	    grep -q "\"user_ids\": 1$"
'

test_expect_success 'push right after a fetch: only what SKS lacks' '
	# the older self-signature of cy, which gpg keeps and SKS never got
	pgpsync push --homedir "$T" -k "$HKP" --dry-run >out &&
	echo "would push $(fpr_of cy@) to $BASE" >expect &&
	echo "204 certificates: 0 pushed, 0 failed, 203 unchanged," \
	    "0 refused; dry run: nothing sent" >>expect &&
	test_cmp expect out
'

test_expect_success 'push sends the changed keys; SKS serves them back' '
	ann=$(fpr_of ann@) &&
	g --quick-add-uid "$ann" "ann <ann@example.com>" &&
	g --export "$ann" | gpg --homedir "$T" --batch --quiet --import \
	    2>/dev/null &&
	pgpsync push --homedir "$T" -k "$HKP" >out &&
	{ echo "pushed $ann to $BASE" &&
	  echo "pushed $(fpr_of cy@) to $BASE"; } | sort >expect &&
	sort out >sorted &&
	test_cmp expect sorted &&
	i=0 &&
	while [ $i -lt 50 ]; do
		curl -s --noproxy "*" -o index \
		    "$BASE/pks/lookup?op=index&options=mr&search=0x$ann" &&
		grep -q "ann@example.com" index && break
		sleep 0.2
		i=$((i + 1))
	done &&
	grep -q "^uid:ann <ann@example.com>:" index &&
	pgpsync push --homedir "$T" -k "$HKP" >out &&
	test ! -s out
'

test_expect_success 'push --all sends everything again' '
	pgpsync push --homedir "$T" -k "$HKP" --all --dry-run >out &&
	test $(grep -c "^would push " out) = 204
'

"$FIXTURE" stop "$SKS" >/dev/null 2>&1
test_done
