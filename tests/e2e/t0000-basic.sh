#!/bin/sh
# The command line itself: help, version, dispatch, usage errors, exit codes.
. "$(dirname "$0")/lib.sh"

test_expect_success 'version prints the version' '
	pgpsync --version >out &&
	grep -q "^pgpsync [0-9][0-9.]*$" out
'

test_expect_success 'help lists every command' '
	pgpsync --help >out &&
	for c in diff dump fetch push reconcile; do
		grep -q "^  $c " out || exit 1
	done
'

test_expect_success 'no command is a usage error' '
	test_expect_code 2 pgpsync 2>err &&
	grep -q "^usage: pgpsync" err
'

test_expect_success 'unknown command exits 2 and names it' '
	test_expect_code 2 pgpsync frobnicate 2>err &&
	grep -q "'"'"'frobnicate'"'"' is not a pgpsync command" err
'

test_expect_success 'a prefix of a command is not that command' '
	test_expect_code 2 pgpsync dum stats 2>err
'

test_expect_success 'unknown global option exits 2' '
	test_expect_code 2 pgpsync --frob 2>err &&
	grep -q "unknown option" err
'

test_expect_success 'dump without a verb lists the verbs and exits 2' '
	test_expect_code 2 pgpsync dump 2>err &&
	grep -q "^  hashes " err
'

test_expect_success 'unknown verb exits 2' '
	test_expect_code 2 pgpsync dump frob 2>err &&
	grep -q "not a verb" err
'

test_expect_success 'unknown option of a verb exits 2 with its usage' '
	test_expect_code 2 pgpsync dump hashes --frob 2>err &&
	grep -q "unknown option" err &&
	grep -q "^usage: pgpsync dump hashes" err
'

test_expect_success 'missing option argument exits 2' '
	test_expect_code 2 pgpsync dump split -n 2>err &&
	grep -q "needs an argument" err
'

test_expect_success 'verb -h prints help on stdout and exits 0' '
	pgpsync dump stats -h >out &&
	grep -q "^usage: pgpsync dump stats" out &&
	grep -q -- "--top" out
'

test_expect_success 'a missing input file is an error naming it' '
	test_expect_code 2 pgpsync dump hashes no-such-file 2>err &&
	grep -q "no-such-file" err
'

test_expect_success 'a write error on stdout is an error, not silence' '
	if test -w /dev/full; then
		printf "" >empty.pgp &&
		pgpsync --version >/dev/full 2>err; rc=$? &&
		test $rc = 2 && grep -q "write error" err
	fi
'
test_done
