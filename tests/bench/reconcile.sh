#!/bin/bash
# Convergence of two 101,000-certificate sets that differ by 1,000 each
# way (by default): pgpsync <-> SKS against SKS <-> SKS, on the same sets,
# with real SKS 1.1.6 (tests/sks/sks-fixture), plus the reconciliation
# traffic against the information minimum (16 octets per differing key).
#
#   tests/bench/reconcile.sh [N [D]]  N certificates in common (100000),
#                                     D of its own on each side (1000)
#
# The clock for SKS <-> SKS starts at "sks-fixture sync" and stops when
# both hold the union (counts polled about once a second, so it is exact
# to about a second); the clock for pgpsync starts with the command and
# stops when both hold the union.  pgpsync's set is a dump directory (the
# common dump linked in, its own certificates in a second file); it is
# timed with its tree built from the dump (cold), taken from its cache
# (warm), and with SKS starting the reconciliation against --listen.
set -eu
cd "$(dirname "$0")/../.."
N=${1:-100000}
D=${2:-1000}
FIXTURE=tests/sks/sks-fixture
GEN=tests/bench/gencerts
PGPSYNC=bin/pgpsync
OUT=tests/bench/out
[ -x "$GEN" ] && [ -x "$PGPSYNC" ] || make -s bin/pgpsync tests/bench/gencerts tests/bench/recon-traffic
if ! [ -x "${SKS_BIN:-/usr/sbin/sks}" ]; then
	echo "skipped: needs sks (apt-get install sks)"
	exit 0
fi
mkdir -p "$OUT"
BASE=$OUT/certs-$N-s1.pgp
[ -s "$BASE" ] || "$GEN" -n "$N" -s 1 -o "$BASE"

T=$(mktemp -d /tmp/pgps-bench.XXXXXX)
trap 'for s in "$T"/sa "$T"/sb "$T"/sc "$T"/sd; do
	"$FIXTURE" destroy "$s" >/dev/null 2>&1 || :; done; rm -rf "$T"' EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

"$GEN" -n $D -s 101 -o "$T/aonly.pgp"
"$GEN" -n $D -s 102 -o "$T/bonly.pgp"
cat "$BASE" "$T/aonly.pgp" >"$T/A.pgp"
cat "$BASE" "$T/bonly.pgp" >"$T/B.pgp"
BASEABS=$(cd "$(dirname "$BASE")" && pwd)/$(basename "$BASE")
# mkset DIR: pgpsync's set A as a directory.
mkset() {
	mkdir "$1" && ln -s "$BASEABS" "$1/0-common.pgp" &&
	cp "$T/aonly.pgp" "$1/1-own.pgp"
}
U=$((N + 2 * D))
echo "sets: $((N + D)) certificates each, $D own on each side, union $U"

t=$(now)
"$FIXTURE" start "$T/sb" --no-gossip --timeout 300 --keys "$T/B.pgp" \
    >/dev/null
echo "SKS built from B in $(since "$t") s"
RB=$("$FIXTURE" port "$T/sb" recon)
"$FIXTURE" start "$T/sa" --peer "$RB" --gossip-interval 600 --timeout 300 \
    --keys "$T/A.pgp" >/dev/null
"$FIXTURE" start "$T/sc" --no-gossip --timeout 300 --keys "$T/B.pgp" \
    >/dev/null
RC=$("$FIXTURE" port "$T/sc" recon)

# SKS <-> SKS: A starts a reconciliation with B.
t=$(now)
"$FIXTURE" sync "$T/sa" >/dev/null
"$FIXTURE" wait "$T/sa" --count $U --timeout 600 >/dev/null
ta=$(since "$t")
"$FIXTURE" wait "$T/sb" --count $U --timeout 600 >/dev/null
tb=$(since "$t")
echo "SKS <-> SKS: initiator complete after $ta s, both after $tb s"

# pgpsync <-> SKS, tree built from the dump (cold).
mkset "$T/pa"
t=$(now)
"$PGPSYNC" reconcile --wait 60 --json "recon://127.0.0.1:$RC" "$T/pa" \
    >"$T/cold.json"
"$FIXTURE" wait "$T/sc" --count $U --timeout 600 >/dev/null
tc=$(since "$t")
got=$("$PGPSYNC" dump hashes "$T/pa" | wc -l)
[ "$got" -eq $U ] || { echo "pgpsync holds $got, not $U"; exit 1; }
jn() { sed -n "s/^  \"$2\": \\([0-9.]*\\),*\$/\\1/p" "$1"; }
sent=$(jn "$T/cold.json" bytes_sent)
recv=$(jn "$T/cold.json" bytes_received)
rounds=$(jn "$T/cold.json" rounds)
echo "pgpsync <-> SKS (tree built): both complete after $tc s" \
    "(pgpsync ran $(printf %.1f "$(jn "$T/cold.json" seconds)") s);" \
    "fetched $(jn "$T/cold.json" fetched), uploaded $(jn "$T/cold.json" pushed)"
min=$((16 * 2 * D))
echo "recon traffic: $sent octets sent + $recv received = $((sent + recv))" \
    "in $rounds rounds; minimum $min: $(awk -v a=$((sent + recv)) \
    -v m=$min 'BEGIN { printf "%.2f", a / m }') x"

# The same again with the cached tree: a fresh copy of B, and the set as
# it was, its cache built by a dry run (untimed).
"$FIXTURE" destroy "$T/sc" >/dev/null
"$FIXTURE" start "$T/sc" --no-gossip --timeout 300 --keys "$T/B.pgp" \
    >/dev/null
RC=$("$FIXTURE" port "$T/sc" recon)
mkset "$T/pw"
"$PGPSYNC" reconcile --dry-run "recon://127.0.0.1:$RC" "$T/pw" \
    >/dev/null || :
sleep 12	# SKS refuses while it fetches after the dry run
t=$(now)
"$PGPSYNC" reconcile --wait 60 --json "recon://127.0.0.1:$RC" "$T/pw" \
    >"$T/warm.json"
"$FIXTURE" wait "$T/sc" --count $U --timeout 600 >/dev/null
tw=$(since "$t")
echo "pgpsync <-> SKS (cached tree): both complete after $tw s" \
    "(pgpsync ran $(printf %.1f "$(jn "$T/warm.json" seconds)") s)"

# SKS starts the reconciliation with pgpsync --listen (pgpsync drives).
P=$("$FIXTURE" ports 1)
"$FIXTURE" start "$T/sd" --peer "$P" --gossip-interval 600 --timeout 300 \
    --keys "$T/B.pgp" >/dev/null
mkset "$T/pl"
"$PGPSYNC" dump hashes "$T/pl" >/dev/null	# page the dump in
"$PGPSYNC" reconcile --listen --timeout 120 --json "recon://127.0.0.1:$P" \
    "$T/pl" >"$T/listen.json" &
pid=$!
while ! grep -qi ":$(printf %04X "$P") 00000000:0000 0A" /proc/net/tcp; do
	sleep 0.1
done
t=$(now)
"$FIXTURE" sync "$T/sd" >/dev/null
while ! ls "$T"/pl/pgpsync-*.pgp >/dev/null 2>&1; do sleep 0.05; done
tp=$(since "$t")
"$FIXTURE" wait "$T/sd" --count $U --timeout 600 >/dev/null
tl=$(since "$t")
wait $pid
got=$("$PGPSYNC" dump hashes "$T/pl" | wc -l)
[ "$got" -eq $U ] || { echo "pgpsync --listen holds $got, not $U"; exit 1; }
sent=$(jn "$T/listen.json" bytes_sent)
recv=$(jn "$T/listen.json" bytes_received)
echo "SKS -> pgpsync --listen (tree built): pgpsync complete after $tp s," \
    "both after $tl s; recon $((sent + recv)) octets in" \
    "$(jn "$T/listen.json" rounds) rounds" \
    "($(jn "$T/listen.json" requests_poly) Poly," \
    "$(jn "$T/listen.json" requests_full) Full):" \
    "$(awk -v a=$((sent + recv)) -v m=$min \
	'BEGIN { printf "%.2f", a / m }') x the minimum"
awk -v s="$tb" -v c="$tc" -v w="$tw" -v l="$tl" 'BEGIN {
	printf "speed-up over SKS <-> SKS: %.1f x (tree built), %.1f x " \
	    "(cached), %.1f x (--listen)\n", s / c, s / w, s / l }'

# The same two sets in memory, every driver strategy against a responder
# with SKS's rules: the traffic above, replayed without SKS.
"$PGPSYNC" dump hashes "$T/A.pgp" | cut -d" " -f1 >"$T/A.h"
"$PGPSYNC" dump hashes "$T/B.pgp" | cut -d" " -f1 >"$T/B.h"
echo "the same sets in memory (tests/bench/recon-traffic), by driver strategy:"
tests/bench/recon-traffic -a "$T/A.h" -b "$T/B.h" -r 4 | sed 1d
