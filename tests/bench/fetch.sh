#!/bin/bash
#
# fetch.sh: how fast "pgpsync fetch" refreshes a GnuPG keyring of 1,000
# certificates from a keyserver on the loopback interface, next to
# "gpg --refresh-keys" on an identical copy of the keyring, and how many
# requests each makes per key.
#
# A real SKS (tests/sks/sks-fixture) serves BENCH_FETCH_CERTS generated
# certificates (tests/bench/gencerts).  The keyring holds all of them,
# BENCH_FETCH_STALE of every 100 in an older version without their
# third-party certifications.  Two rounds, each on fresh copies of the
# same keyring:
#
#   stale    the keyring as described: both tools must bring in exactly
#            the certifications SKS has (gpg with
#            --keyserver-options no-self-sigs-only,no-import-clean, so
#            that it keeps them too; the script checks that both
#            keyrings end up holding what SKS holds);
#   current  the same keyrings again, now up to date: the daily case,
#            nothing new.
#
# Requests are counted in SKS's own log.  In the second round pgpsync
# asks for the keys it knows a hundred at a time (/pks/hashquery with the
# SKS hashes of its last answers).  Run by "make bench".
# Environment:
#   BENCH_FETCH_CERTS  certificates (default 1000)
#   BENCH_FETCH_STALE  stale certificates per 100 (default 5)
#   BENCH_SEED         gencerts seed (default 1)
#   SKS_BIN            sks binary (default /usr/sbin/sks)

set -u
set -o pipefail

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$SRCDIR/tests/bench/out
GENCERTS=$SRCDIR/tests/bench/gencerts
PGPSYNC=$SRCDIR/bin/pgpsync
FIXTURE=$SRCDIR/tests/sks/sks-fixture
: "${BENCH_FETCH_CERTS:=1000}" "${BENCH_FETCH_STALE:=5}" "${BENCH_SEED:=1}"
: "${SKS_BIN:=/usr/sbin/sks}"
export LC_ALL=C SKS_BIN
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

for p in "$GENCERTS" "$PGPSYNC"; do
	if [ ! -x "$p" ]; then
		echo "fetch.sh: '$p' is missing; run make first" >&2
		exit 1
	fi
done
if [ ! -x "$SKS_BIN" ] || ! command -v gpg >/dev/null 2>&1; then
	echo "fetch.sh: skipped (needs gpg and sks)"
	exit 0
fi

fail() {
	echo "fetch.sh: $*" >&2
	exit 1
}

mkdir -p "$OUT" || fail "cannot create '$OUT'"
# SKS's and gpg-agent's sockets want short paths.
TMP=$(mktemp -d /tmp/pgps-bench.XXXXXX) || fail "mktemp failed"
chmod 700 "$TMP"
cleanup() {
	"$FIXTURE" destroy "$TMP/sks" >/dev/null 2>&1
	for h in "$TMP"/h*; do
		[ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# secs CMD...: runs CMD (output to $TMP/out, $TMP/err), sets SECS.
secs() {
	local t0=$EPOCHREALTIME
	"$@" >"$TMP/out" 2>"$TMP/err" ||
	    fail "'$*' failed: $(tail -n 3 "$TMP/err")"
	SECS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" \
	    'BEGIN { printf "%.2f", b - a }')
}

# lookups: the requests for keys SKS logged so far (lookups by
# fingerprint and hashqueries).
lookups() {
	grep -c -e "/pks/lookup: Get request" -e "Handling /pks/hashquery" \
	    "$TMP/sks/var/log/sks/db.log"
}

# ratio A B [DIGITS]: A / B
ratio() {
	awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN {
		if (b > 0) printf "%.*f", d, a / b; else printf "n/a" }'
}

hashes() {
	"$PGPSYNC" dump hashes | sort
}

N=$BENCH_FETCH_CERTS
DUMP=$OUT/certs-$N-s$BENCH_SEED.pgp
if [ ! -s "$DUMP" ] || [ "$GENCERTS" -nt "$DUMP" ]; then
	echo "generating $N certificates (seed $BENCH_SEED)..."
	"$GENCERTS" -n "$N" -s "$BENCH_SEED" -o "$DUMP" ||
	    fail "gencerts failed"
fi

"$FIXTURE" start "$TMP/sks" --no-gossip --owner $$ --keys "$DUMP" \
    >/dev/null || fail "SKS did not start"
HKP=hkp://127.0.0.1:$("$FIXTURE" port "$TMP/sks" hkp)

# The keyring: importing 1,000 certificates takes gpg a while, so the
# result is kept in $OUT for the next run.
BASE=$OUT/fetch-home-$N-s$BENCH_SEED-$BENCH_FETCH_STALE
if [ ! -s "$BASE/pubring.kbx" ] || [ "$DUMP" -nt "$BASE/pubring.kbx" ]; then
	echo "building the keyring ($N certificates, $BENCH_FETCH_STALE%" \
	    "stale)..."
	rm -rf "$BASE" "$TMP/h0"
	mkdir -m 700 "$TMP/h0"
	"$PGPSYNC" dump hashes "$DUMP" |
	    awk -v s="$BENCH_FETCH_STALE" '(NR - 1) % 100 < s { print $2 }' \
	    >"$TMP/stale.txt"
	"$PGPSYNC" dump filter --exclude "$TMP/stale.txt" -o "$TMP/fresh.pgp" \
	    "$DUMP" 2>/dev/null &&
	"$PGPSYNC" dump filter --fingerprints "$TMP/stale.txt" \
	    --strip-third-party -o "$TMP/stale.pgp" "$DUMP" 2>/dev/null ||
	    fail "cannot split the dump"
	gpg --homedir "$TMP/h0" --batch --quiet --import "$TMP/fresh.pgp" \
	    "$TMP/stale.pgp" 2>/dev/null
	gpgconf --homedir "$TMP/h0" --kill all >/dev/null 2>&1
	mkdir -p "$BASE" &&
	cp "$TMP/h0/pubring.kbx" "$TMP/h0/trustdb.gpg" "$BASE/" ||
	    fail "cannot keep the keyring in '$BASE'"
fi
for h in h1 h2; do
	rm -rf "${TMP:?}/$h"
	mkdir -m 700 "$TMP/$h" && cp "$BASE"/* "$TMP/$h/" ||
	    fail "cannot copy the keyring"
done
export XDG_STATE_HOME=$TMP/state

echo "keyring: $N certificates, $BENCH_FETCH_STALE% of them without their" \
    "third-party certifications; SKS on 127.0.0.1; $(nproc) CPUs"
printf '%-9s %14s %9s %14s %9s %8s\n' round 'pgpsync s' 'req/key' \
    'gpg s' 'req/key' 'ratio'
for round in stale current; do
	l0=$(lookups)
	secs "$PGPSYNC" fetch --homedir "$TMP/h1" -k "$HKP" --json
	ps=$SECS
	cp "$TMP/out" "$TMP/$round.json"
	l1=$(lookups)
	secs gpg --homedir "$TMP/h2" --batch --keyserver "$HKP" \
	    --keyserver-options no-self-sigs-only,no-import-clean \
	    --refresh-keys
	gs=$SECS
	l2=$(lookups)
	printf '%-9s %14s %9s %14s %9s %7sx\n' "$round" "$ps" \
	    "$(ratio $((l1 - l0)) "$N" 2)" "$gs" \
	    "$(ratio $((l2 - l1)) "$N" 2)" "$(ratio "$gs" "$ps")"
done

upd=$(sed -n 's/^  "updated": \([0-9]*\),*$/\1/p' "$TMP/stale.json")
cert=$(sed -n '/^  "changes"/,/^  }/p' "$TMP/stale.json" |
    sed -n 's/^    "certifications": \([0-9]*\),*$/\1/p')
echo "pgpsync updated $upd certificates in the first round" \
    "($cert certifications)"
"$PGPSYNC" dump hashes "$DUMP" | sort >"$TMP/sks.hashes"
gpg --homedir "$TMP/h1" --export | hashes >"$TMP/h1.hashes"
gpg --homedir "$TMP/h2" --export | hashes >"$TMP/h2.hashes"
cmp -s "$TMP/sks.hashes" "$TMP/h1.hashes" ||
    fail "pgpsync's keyring does not hold what SKS holds"
cmp -s "$TMP/sks.hashes" "$TMP/h2.hashes" ||
    fail "gpg's keyring does not hold what SKS holds"
echo "both keyrings now hold exactly what SKS holds"
