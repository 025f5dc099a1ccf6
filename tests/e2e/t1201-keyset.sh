#!/bin/sh
# Key sets as write targets: a set that is not there is an error (a cron
# job with a typo fails), a dump being rewritten is locked and read again
# when another run changed it meanwhile (neither run's additions are
# lost), the state file's lock is waited for a bounded time and names its
# holder, and a rewritten dump keeps its mode and its symbolic link.
# Stub keyservers (tests/hkpd); gpg is real.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/e2e/lib-hkpd.sh"
C=$SRCDIR/tests/data/certs

if ! test_have_prereq GPG || ! [ -x "$HKPD" ]; then
	test_skip 'key sets as targets' 'needs gpg and tests/hkpd/hkpd'
	test_done
fi

fpr_of() {
	gpg --with-colons --import-options show-only --import "$1" \
	    2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }'
}
ALICE=$(fpr_of "$C/alice.pgp")
BOB=$(fpr_of "$C/bob.pgp")
LOOKUP='/pks/lookup?op=get&options=mr&search=0x'

hkpd_reply alice-later.http "$C/alice-later.pgp"
hkpd_reply bob.http "$C/bob.pgp"

hkpd_start FAST "GET $LOOKUP$ALICE file alice-later.http" \
    "GET $LOOKUP$BOB file bob.http"
hkpd_start SLOW "GET $LOOKUP$ALICE file alice-later.http delay 3"
FAST=hkp://$FAST
SLOW=hkp://$SLOW

test_expect_success 'a dump that is not there: exit 2, nothing asked' '
	test_expect_code 2 pgpsync fetch --keyring /no/such/file -k "$FAST" \
	    2>err &&
	grep -q "/no/such/file" err &&
	test_expect_code 2 pgpsync fetch --keyring missing.pgp -k "$FAST" \
	    2>err &&
	grep -q "missing.pgp.*No such file" err &&
	test ! -e missing.pgp &&
	test_expect_code 2 pgpsync fetch --keyring dump:missing.pgp \
	    -k "$FAST" --dry-run 2>err &&
	test ! -e missing.pgp
'

test_expect_success 'a store that is not there: exit 2, none made' '
	test_expect_code 2 pgpsync fetch --keyring store:/no/such/store \
	    -k "$FAST" 2>err &&
	grep -q "/no/such/store" err &&
	test_expect_code 2 pgpsync fetch --keyring store:nost -k "$FAST" \
	    2>err &&
	test ! -e nost
'

test_expect_success 'named keys make a dump, in a directory that exists' '
	test_expect_code 2 pgpsync fetch --keyring /no/such/dir/x.pgp \
	    -k "$FAST" "$BOB" 2>err &&
	grep -q "/no/such/dir" err &&
	pgpsync fetch --keyring new.pgp -k "$FAST" --state s0.json \
	    "$BOB" >out &&
	echo "new $BOB" >expect &&
	test_cmp expect out &&
	pgpsync diff new.pgp "$C/bob.pgp"
'

test_expect_success 'a GnuPG home that is not there: exit 2' '
	test_expect_code 2 pgpsync fetch --keyring gpg:/no/such/home \
	    -k "$FAST" 2>err &&
	grep -q "/no/such/home" err
'

test_expect_success 'two runs rewriting one dump: neither loses its keys' '
	cp "$C/alice.pgp" x.pgp &&
	chmod 600 x.pgp &&
	ln -s x.pgp link.pgp &&
	pgpsync fetch --keyring link.pgp -k "$SLOW" --state s1.json \
	    "$ALICE" >out1 2>err1 &
	pid=$! &&
	sleep 1 &&
	pgpsync fetch --keyring x.pgp -k "$FAST" --state s2.json "$BOB" \
	    >out2 &&
	wait $pid &&
	echo "new $BOB" >expect &&
	test_cmp expect out2 &&
	grep -q "^updated $ALICE " out1 &&
	pgpsync dump merge -o want.pgp "$C/alice.pgp" "$C/alice-later.pgp" \
	    "$C/bob.pgp" &&
	pgpsync diff want.pgp x.pgp &&
	test -h link.pgp &&
	test "$(stat -c %a x.pgp)" = 600 &&
	test -z "$(ls x.pgp.* 2>/dev/null)"
'

test_expect_success 'a run holding the state file: the next gives up, naming it' '
	cp "$C/alice.pgp" y.pgp &&
	pgpsync fetch --keyring y.pgp -k "$SLOW" --state s3.json \
	    "$ALICE" >/dev/null 2>&1 &
	pid=$! &&
	sleep 1 &&
	start=$(date +%s) &&
	test_expect_code 2 env PGPSYNC_LOCK_TIMEOUT=1 pgpsync fetch \
	    --keyring y.pgp -k "$FAST" --state s3.json "$BOB" 2>err &&
	test $(($(date +%s) - start)) -lt 3 &&
	wait $pid &&
	grep -q "state file.*process $pid" err
'

test_done
