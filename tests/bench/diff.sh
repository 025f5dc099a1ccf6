#!/bin/bash
#
# diff.sh: how fast "pgpsync diff" compares two keyserver-sized dumps that
# differ in 1% of their certificates, next to md5sum of both files (the
# floor for reading them) and to "pgpsync dump hashes" of both (SKS-hashing
# both once).  diff compares certificates by their bytes and SKS-hashes
# only those that differ, so the promise is well under hashing both once:
# at most half of it.  Then the same comparison against a store, whose
# index holds SKS hashes, so the dump side is SKS-hashed whole.
#
# Run by "make bench"; the dump and its helpers come from store.sh.
# Environment: BENCH_CERTS, BENCH_SEED as for store.sh.

BENCH_LIB=1
# shellcheck source=tests/bench/store.sh
. "$(dirname "${BASH_SOURCE[0]}")/store.sh"
unset BENCH_LIB

A=$DUMP
B=$TMP/b.pgp
SIZE=$(($(stat -c %s "$A") + 0))
changed_copy "$B"
cat "$A" "$B" >/dev/null
echo "dumps: ${A#"$SRCDIR"/} and a copy with 1% changed, 0.5% dropped," \
    "1% new ($(((SIZE + $(stat -c %s "$B")) >> 20)) MB together);" \
    "$(nproc) CPUs; warm page cache"

# A correct answer first.
"$PGPSYNC" diff --stat "$A" "$B" >"$TMP/stat"
status=$?
[ "$status" -eq 1 ] || die "pgpsync diff exited $status, want 1"
grep -q "^only in a          $((BENCH_CERTS / 200))$" "$TMP/stat" ||
    die "unexpected counts: $(cat "$TMP/stat")"

header
best "md5sum of both" : md5sum "$A" "$B"
md5=$BEST
best "pgpsync dump hashes of both" : "$PGPSYNC" dump hashes "$A" "$B"
hashes=$BEST
# diff exits 1 for "different"; time it through a shell that says 0.
best "pgpsync diff" : bash -c '"$@" >/dev/null; [ $? -eq 1 ]' diff \
    "$PGPSYNC" diff "$A" "$B"
diff=$BEST
best "pgpsync diff --stat" : bash -c '"$@" >/dev/null; [ $? -eq 1 ]' \
    diff "$PGPSYNC" diff --stat "$A" "$B"
stat=$BEST
"$PGPSYNC" -q dump import --to "store:$TMP/store" "$A" >/dev/null ||
    die "cannot make a store"
best "pgpsync diff store: dump" : bash -c '"$@" >/dev/null; [ $? -eq 1 ]' \
    diff "$PGPSYNC" diff "store:$TMP/store" "$B"
store=$BEST
"$PGPSYNC" diff --stat "store:$TMP/store" "$B" >"$TMP/stat2"
cmp -s "$TMP/stat2" "$TMP/stat" ||
    die "the store compares differently from the dump"

echo
lines=$("$PGPSYNC" diff "$A" "$B" | wc -l || :)
echo "output: $lines lines; $(sed -n 's/^changed *//p' "$TMP/stat") changed"
echo "diff / md5sum of both:        $(ratio "$diff" "$md5")"
echo "diff / dump hashes of both:   $(ratio "$diff" "$hashes")" \
    "(--stat $(ratio "$stat" "$hashes"))"
echo "diff store: / md5sum of both: $(ratio "$store" "$md5")"
# Well under hashing both once: at most half of it.
awk -v r="$(ratio "$diff" "$hashes")" 'BEGIN { exit !(r <= 0.5) }' ||
    die "diff took more than half the time of hashing both dumps"
