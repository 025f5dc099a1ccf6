#!/bin/bash
#
# t1120-secret-parts: a public certificate that carries a secret subkey
# (tag 7, as an export of a secret key has it) is never written or
# uploaded with it: dump merge drops the secret subkey and the signatures
# under it and says so, and push sends the public part only, which SKS
# then takes (it refuses a certificate with a secret subkey).

. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-sks.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
KEYS=$SRCDIR/tests/data/keys

if ! test_have_prereq GPG; then
	test_skip 'secret subkeys are never written or sent' 'missing gpg'
	test_done
fi

test_expect_success 'certificates with a secret subkey' '
	dearmor "$KEYS/dana-ed25519.asc" >D &&
	dearmor "$KEYS/dana-ed25519-secret.asc" >S &&
	dearmor "$KEYS/erin-ed25519.asc" >E &&
	test "$(wc -c <D)" -eq 531 &&
	# Dana, then her secret subkey (388+95, tag 7) and its binding
	# (483+122) from the secret key export
	{ cat D && bytes S 388 217; } >d-secret.pgp &&
	test "$(bytes S 388 1 | od -An -tx1 | tr -d " ")" = 9c &&
	# Erin with Dana secret subkey block: not on the server yet
	{ cat E && bytes S 388 217; } >e-secret.pgp
'

test_expect_success 'dump merge drops the secret subkey and reports it' '
	pgpsync dump merge -o out.pgp d-secret.pgp 2>err &&
	cmp out.pgp D &&
	grep "offset 0: 1 secret key dropped" err
'

test_expect_success 'so does the filter of dump merge --max-sigs' '
	pgpsync dump merge --max-sigs 10 -o out2.pgp d-secret.pgp 2>err &&
	cmp out2.pgp D
'

test_expect_success 'dump split drops the secret subkey and reports it' '
	pgpsync dump split -o split d-secret.pgp e-secret.pgp 2>err &&
	pgpsync dump merge -o e-out.pgp e-secret.pgp 2>/dev/null &&
	cat D e-out.pgp >want-split.pgp &&
	cmp split/sks-dump-0000.pgp want-split.pgp &&
	grep "d-secret.pgp.*1 secret key dropped" err &&
	grep "e-secret.pgp.*1 secret key dropped" err
'

test_expect_success 'hashes of the merged output: Dana as she is' '
	pgpsync dump hashes D >want.txt &&
	pgpsync dump hashes out.pgp >got.txt &&
	test_cmp want.txt got.txt
'

test_expect_success 'a secret subkey after a trust packet, or before one' '
	printf "\260\002\006\000" >trust &&
	# a trust packet, then the secret subkey and its binding
	{ cat D trust && bytes S 388 217; } >d-trust-secret.pgp &&
	# the secret subkey, a trust packet, then its binding
	{ cat D && bytes S 388 95 && cat trust && bytes S 483 122; } \
	    >d-secret-trust.pgp
'

for f in d-trust-secret d-secret-trust; do
	test_expect_success "dump merge of $f: nothing of the secret key" "
		pgpsync dump merge -o $f.out $f.pgp 2>err &&
		cmp $f.out D &&
		grep 'offset 0: 1 secret key dropped' err
	"
	test_expect_success "a store keeps nothing of the secret key ($f)" "
		git init -q --bare ST-$f &&
		pgpsync dump import --to store:ST-$f $f.pgp >out 2>err &&
		grep '1 secret' err &&
		pgpsync dump merge -o $f.stored store:ST-$f &&
		cmp $f.stored D
	"
	test_expect_success "a store with Dana: nothing of the secret key ($f)" "
		git init -q --bare SU-$f &&
		pgpsync dump import --to store:SU-$f D >/dev/null &&
		pgpsync dump import --to store:SU-$f $f.pgp >out 2>err &&
		grep '1 secret' err &&
		grep '^0 new, 0 updated' out &&
		pgpsync dump merge -o $f.stored2 store:SU-$f &&
		cmp $f.stored2 D
	"
done

sks_need 'push sends no secret subkey'

test_expect_success 'SKS holds Dana' '
	"$FIXTURE" start "$SKS" --no-gossip --owner $$ --keys D &&
	test "$("$FIXTURE" count "$SKS")" -eq 1
'
HKP=hkp://127.0.0.1:$("$FIXTURE" port "$SKS" hkp)

test_expect_success 'push --dry-run: Dana with her secret subkey is unchanged' '
	pgpsync push -k "$HKP" --state st.json D >out &&
	grep "^pushed " out &&
	pgpsync push -k "$HKP" --state st.json --dry-run d-secret.pgp >out &&
	! grep "^would push" out &&
	grep "1 unchanged" out
'

test_expect_success 'push sends Erin without the secret subkey; SKS takes it' '
	pgpsync push -k "$HKP" --state st.json e-secret.pgp >out &&
	grep "^pushed " out &&
	"$FIXTURE" wait "$SKS" --count 2 &&
	curl -sS --noproxy "*" --max-time 20 -o e.asc \
	    "http${HKP#hkp}/pks/lookup?op=get&options=mr&search=0x$(
	    pgpsync dump hashes E | cut -d" " -f2)" &&
	pgpsync dump hashes e.asc >got.txt &&
	pgpsync dump hashes E >want.txt &&
	test_cmp want.txt got.txt
'

# before test_done removes the trash directory under it
"$FIXTURE" stop "$SKS"

test_done
