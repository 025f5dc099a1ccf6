#!/bin/sh
# A store write killed (SIGKILL) at random points leaves the last commit
# and everything in it intact, git fsck clean, and no lock behind; the
# next write cleans up and completes.
. "$(dirname "$0")/lib.sh"

GENCERTS=$SRCDIR/tests/bench/gencerts
if ! test -x "$GENCERTS"; then
	test_skip 'killed store writes' 'tests/bench/gencerts not built'
	test_done
fi

hashes() {
	pgpsync dump hashes "$@" | sort
}

test_expect_success 'setup: a committed store and a large import' '
	"$GENCERTS" -n 200 -s 3 -o base.pgp &&
	"$GENCERTS" -n 8000 -s 4 -o big.pgp &&
	pgpsync dump import --to store:S base.pgp >/dev/null &&
	git -C S rev-parse HEAD >base.commit &&
	hashes base.pgp >base.hashes &&
	hashes base.pgp big.pgp >all.hashes &&
	test $(wc -l <all.hashes) = 8200 &&
	git clone -q --bare S F &&
	t0=$(date +%s%N) &&
	pgpsync dump import --to store:F big.pgp >/dev/null &&
	t1=$(date +%s%N) &&
	echo $(((t1 - t0) / 1000000)) >import.ms &&
	git -C F rev-parse HEAD^{tree} >full.tree
'

# One run killed after a random delay (fixed seeds: the same points on
# every run), in odd rounds anywhere in the time an import takes, in even
# rounds near its end, where the pack is completed and HEAD moves.  HEAD
# must then be the base commit with all of its certificates, or a
# complete import on top of it (the tree of a run not killed), which is
# undone for the next round.
test_expect_success 'kill -9 at random points: the last commit survives' '
	base=$(cat base.commit) &&
	full=$(cat full.tree) &&
	completed=0 &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		delay=$(awk -v s=$i -v ms=$(cat import.ms) "BEGIN { srand(s);
			f = s % 2 ? rand() * 1.2 : 0.7 + rand() * 0.4;
			printf \"%.3f\", f * ms / 1000 }") &&
		{ pgpsync -q dump import --to store:S big.pgp >/dev/null 2>&1 &
		  pid=$!; } &&
		sleep "$delay" &&
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		git -C S fsck --strict --no-dangling >fsck 2>&1 ||
		{ echo "round $i ($delay s): fsck"; cat fsck; exit 1; }
		head=$(git -C S rev-parse HEAD) || exit 1
		if test "$head" = "$base"; then
			test_expect_code 0 pgpsync diff store:S base.pgp ||
			{ echo "round $i ($delay s): base lost"; exit 1; }
		else
			test "$(git -C S rev-parse HEAD^)" = "$base" &&
			test "$(git -C S rev-parse HEAD^{tree})" = "$full" ||
			{ echo "round $i ($delay s): bad commit"; exit 1; }
			completed=$((completed + 1))
			git -C S update-ref refs/heads/main "$base" || exit 1
		fi
	done &&
	echo "$completed of 12 runs completed before the kill"
'

test_expect_success 'the next write removes what killed runs left and completes' '
	pgpsync dump import --to store:S big.pgp >out &&
	grep -q "^8000 new, " out &&
	test_must_fail ls S/objects/pack/tmp_* 2>/dev/null &&
	hashes store:S >now &&
	test_cmp all.hashes now &&
	test_expect_code 1 pgpsync diff --stat store:S big.pgp >stat &&
	grep -q "^only in a          200$" stat &&
	grep -q "^unchanged          8000$" stat &&
	git -C S fsck --strict --no-dangling
'

test_done
