#!/bin/bash
#
# store.sh: how fast the certificate store takes a keyserver-sized dump,
# next to "pgpsync dump hashes" of the same dump (the store must hash
# every certificate too, so that is the floor): the first import into an
# empty store, the same import again (nothing new), an update that
# changes 1% of the certificates, and git fsck of the result.
#
# Run by "make bench".  The dump comes from tests/bench/gencerts and is
# kept in tests/bench/out/ for the next run.  Environment:
#   BENCH_CERTS  certificates in the dump (default 100000)
#   BENCH_SEED   gencerts seed (default 1)
#
# diff.sh sources this file with BENCH_LIB=1 for its helpers and dump.

set -u
set -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$BENCH_DIR/../.." && pwd)
OUT=$BENCH_DIR/out
GENCERTS=$BENCH_DIR/gencerts
PGPSYNC=$SRCDIR/bin/pgpsync
: "${BENCH_CERTS:=100000}" "${BENCH_SEED:=1}"
export LC_ALL=C

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# timed CMD...: runs CMD (stdout discarded) and sets WALL and CPU (user +
# system) in seconds; GNU time when installed, else bash's clock.
timed() {
	local user sys
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%e %U %S' -o "$TMP/time" "$@" \
		    >/dev/null 2>"$TMP/err" ||
		    die "'$*' failed: $(tail -n 3 "$TMP/err")"
		read -r WALL user sys < <(tail -n 1 "$TMP/time")
		CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
		return
	fi
	local t0=$EPOCHREALTIME
	"$@" >/dev/null 2>"$TMP/err" || die "'$*' failed: $(tail -n 3 "$TMP/err")"
	WALL=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	CPU='?'
}

# best LABEL PREP CMD...: twice "PREP; CMD" (PREP untimed, may be ':'),
# prints both runs and keeps the smaller wall time in BEST.
best() {
	local label=$1 prep=$2 w1 c1
	shift 2
	eval "$prep"
	timed "$@"
	w1=$WALL c1=$CPU
	eval "$prep"
	timed "$@"
	printf '%-34s %7s %7s   %7s %7s\n' "$label" "$w1" "$c1" "$WALL" "$CPU"
	BEST=$(awk -v a="$w1" -v b="$WALL" 'BEGIN { print (a < b ? a : b) }')
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

header() {
	printf '%-34s %15s   %15s\n' '' 'run 1' 'run 2'
	printf '%-34s %7s %7s   %7s %7s\n' '' 'wall s' 'cpu s' 'wall s' 'cpu s'
}

for p in "$GENCERTS" "$PGPSYNC"; do
	[ -x "$p" ] || die "'$p' is missing; run make first"
done
mkdir -p "$OUT" || die "cannot create '$OUT'"
TMP=$(mktemp -d "$OUT/tmp.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$TMP"' EXIT

DUMP=$OUT/certs-$BENCH_CERTS-s$BENCH_SEED.pgp
if [ ! -s "$DUMP" ] || [ "$GENCERTS" -nt "$DUMP" ]; then
	echo "generating $BENCH_CERTS certificates (seed $BENCH_SEED)..."
	"$GENCERTS" -n "$BENCH_CERTS" -s "$BENCH_SEED" -o "$DUMP.tmp" &&
	    mv "$DUMP.tmp" "$DUMP" || die "gencerts failed"
fi

# changed_copy OUT: the dump with 1% of its certificates changed (their
# third-party certifications dropped), 0.5% dropped and 1% new ones.
changed_copy() {
	local n=$((BENCH_CERTS / 100))
	"$PGPSYNC" dump hashes "$DUMP" | awk -v d="$TMP" '
		NR % 100 == 1 { print $2 > (d "/chg") }
		NR % 200 == 2 { print $2 > (d "/drop") }' || die "hashes failed"
	cat "$TMP/chg" "$TMP/drop" >"$TMP/both"
	"$PGPSYNC" -q dump filter --fingerprints "$TMP/chg" \
	    --strip-third-party -o "$TMP/changed.pgp" "$DUMP" &&
	"$PGPSYNC" -q dump filter --exclude "$TMP/both" --no-limits \
	    -o "$TMP/rest.pgp" "$DUMP" &&
	"$GENCERTS" -n "$n" -s $((BENCH_SEED + 1000)) -o "$TMP/new.pgp" &&
	cat "$TMP/rest.pgp" "$TMP/changed.pgp" "$TMP/new.pgp" >"$1" ||
	    die "cannot make the changed copy"
	rm -f "$TMP/rest.pgp" "$TMP/changed.pgp" "$TMP/new.pgp"
}

if [ -n "${BENCH_LIB:-}" ]; then
	return 0
fi

SIZE=$(stat -c %s "$DUMP")
STORE=$TMP/store
echo "dump: ${DUMP#"$SRCDIR"/} ($BENCH_CERTS certificates," \
    "$((SIZE >> 20)) MB); $(nproc) CPUs; warm page cache"
cat "$DUMP" >/dev/null
changed_copy "$TMP/b.pgp"
header

best "pgpsync dump hashes" : "$PGPSYNC" dump hashes "$DUMP"
hashes=$BEST
best "import into an empty store" 'rm -rf "$STORE"' \
    "$PGPSYNC" dump import --to "store:$STORE" "$DUMP"
first=$BEST
# Correct first: every certificate is in the store, and git agrees.
n=$("$PGPSYNC" dump hashes "store:$STORE" | wc -l)
[ "$n" -eq "$BENCH_CERTS" ] || die "the store holds $n certificates"
"$PGPSYNC" diff "$DUMP" "store:$STORE" || die "the store differs"
best "import again (nothing new)" : \
    "$PGPSYNC" dump import --to "store:$STORE" "$DUMP"
again=$BEST
# The copy lacks the third-party certifications of 1% of the keys and
# 0.5% of the keys: the dump, imported into a store of the copy, brings
# them back (updates), as a refresh from keyservers would.
best "import a 1% update" \
    'rm -rf "$TMP/s2" && "$PGPSYNC" -q dump import --to "store:$TMP/s2" \
    "$TMP/b.pgp" >/dev/null' \
    "$PGPSYNC" dump import --to "store:$TMP/s2" "$DUMP"
update=$BEST
"$PGPSYNC" diff --stat "$DUMP" "store:$TMP/s2" >"$TMP/stat"
grep -q '^only in a          0$' "$TMP/stat" &&
    grep -q '^changed            0$' "$TMP/stat" ||
    die "the update is incomplete: $(cat "$TMP/stat")"
if command -v git >/dev/null 2>&1; then
	best "git fsck of the store" : git -C "$STORE" fsck --strict
fi

echo
echo "import / dump hashes:  $(ratio "$first" "$hashes") (first import)," \
    "$(ratio "$again" "$hashes") (again), $(ratio "$update" "$hashes")" \
    "(1% update)"
echo "store size: $(du -sm "$STORE" | cut -f1) MB for $((SIZE >> 20)) MB" \
    "of certificates"
echo "the update's commit: $(git -C "$TMP/s2" log --format=%s -1 2>/dev/null)"
# The promise: no more than a few times the hashing.
awk -v r="$(ratio "$first" "$hashes")" 'BEGIN { exit !(r <= 5) }' ||
    die "the first import took more than 5 times dump hashes"
