#!/bin/bash
#
# dump-hashes.sh: how fast "pgpsync dump hashes" hashes a keyserver-sized
# dump, next to md5sum of the same bytes (the floor: the SKS hash is MD5
# over nearly every byte) and next to "sks build" of the same dump (what a
# keyserver operator runs today), and whether its memory stays flat when
# the dump grows.
#
# Run by "make bench".  The dump comes from tests/bench/gencerts and is
# kept in tests/bench/out/ for the next run.  Environment:
#   BENCH_CERTS  certificates in the dump (default 100000)
#   BENCH_SEED   gencerts seed (default 1)
#   SKS_BIN      sks binary (default /usr/sbin/sks; skipped when absent)

set -u
set -o pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SRCDIR=$(cd "$BENCH_DIR/../.." && pwd)
OUT=$BENCH_DIR/out
GENCERTS=$BENCH_DIR/gencerts
PGPSYNC=$SRCDIR/bin/pgpsync
: "${BENCH_CERTS:=100000}" "${BENCH_SEED:=1}" "${SKS_BIN:=/usr/sbin/sks}"
export LC_ALL=C

fail() {
	echo "dump-hashes.sh: $*" >&2
	exit 1
}

for p in "$GENCERTS" "$PGPSYNC"; do
	[ -x "$p" ] || fail "'$p' is missing; run make first"
done
mkdir -p "$OUT" || fail "cannot create '$OUT'"
TMP=$(mktemp -d "$OUT/tmp.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$TMP"' EXIT

# measure CMD...: runs CMD with stdout discarded and sets WALL (seconds),
# CPU (user + system seconds; the machine may be shared) and RSS (peak
# resident set, KB).  GNU time when installed; otherwise bash's clock and
# times, and the last VmHWM seen in /proc while CMD runs.
measure() {
	local pid t0 t1 hwm user sys
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%e %M %U %S' -o "$TMP/time" "$@" \
		    >/dev/null 2>"$TMP/err" ||
		    fail "'$*' failed: $(tail -n 3 "$TMP/err")"
		read -r WALL RSS user sys < <(tail -n 1 "$TMP/time")
		CPU=$(awk -v u="$user" -v s="$sys" \
		    'BEGIN { printf "%.2f", u + s }')
		return
	fi
	CPU='?'
	t0=$EPOCHREALTIME
	"$@" >/dev/null 2>"$TMP/err" &
	pid=$!
	RSS=0
	while kill -0 "$pid" 2>/dev/null; do
		hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" \
		    2>/dev/null)
		[ -z "$hwm" ] || RSS=$hwm
		sleep 0.02
	done
	wait "$pid" || fail "'$*' failed: $(tail -n 3 "$TMP/err")"
	t1=$EPOCHREALTIME
	WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}

# ratio A B: A / B with two decimals
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b > 0) printf "%.2f", a / b; else printf "n/a"
	}'
}

mb() {
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# best WALL1 WALL2: the smaller
best() {
	awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'
}

# row LABEL CMD...: two warm runs; prints them, sets BEST (wall), BCPU
# and PEAK.
row() {
	local label=$1 w1 c1 r1
	shift
	measure "$@"
	w1=$WALL c1=$CPU r1=$RSS
	measure "$@"
	printf '%-20s %7s %7s %8s   %7s %7s %8s\n' "$label" \
	    "$w1" "$c1" "$(mb "$r1")" "$WALL" "$CPU" "$(mb "$RSS")"
	BEST=$(best "$w1" "$WALL")
	BCPU=$(best "$c1" "$CPU")
	PEAK=$((r1 > RSS ? r1 : RSS))
}

# ---------------------------------------------------------------- dump ---

DUMP=$OUT/certs-$BENCH_CERTS-s$BENCH_SEED.pgp
DUMP4=$OUT/certs-$BENCH_CERTS-s$BENCH_SEED-x4.pgp
if [ ! -s "$DUMP" ] || [ "$GENCERTS" -nt "$DUMP" ]; then
	echo "generating $BENCH_CERTS certificates (seed $BENCH_SEED)..."
	measure "$GENCERTS" -n "$BENCH_CERTS" -s "$BENCH_SEED" -o "$DUMP"
	echo "gencerts: ${WALL} s," \
	    "$(awk -v n="$BENCH_CERTS" -v s="$WALL" 'BEGIN {
		printf "%.0f", (s > 0 ? n / s : 0) }') certificates/s"
fi
if [ ! -s "$DUMP4" ] || [ "$DUMP" -nt "$DUMP4" ]; then
	if ! cat "$DUMP" "$DUMP" "$DUMP" "$DUMP" >"$DUMP4.tmp" ||
	    ! mv "$DUMP4.tmp" "$DUMP4"; then
		fail "cannot write '$DUMP4'"
	fi
fi
SIZE=$(stat -c %s "$DUMP")

# a correct answer first: one line per certificate
lines=$("$PGPSYNC" dump hashes "$DUMP" | wc -l) ||
    fail "pgpsync dump hashes failed"
[ "$lines" -eq "$BENCH_CERTS" ] ||
    fail "pgpsync printed $lines hashes for $BENCH_CERTS certificates"

echo "dump: ${DUMP#"$SRCDIR"/} ($BENCH_CERTS certificates," \
    "$(mb $((SIZE / 1024))) MB); $(nproc) CPUs; warm page cache"
cat "$DUMP" >/dev/null
printf '%-20s %24s   %24s\n' '' 'run 1' 'run 2'
printf '%-20s %7s %7s %8s   %7s %7s %8s\n' '' 'wall s' 'cpu s' 'RSS MB' \
    'wall s' 'cpu s' 'RSS MB'

row md5sum md5sum "$DUMP"
md5=$BEST md5cpu=$BCPU
row "pgpsync dump hashes" "$PGPSYNC" dump hashes "$DUMP"
pgps=$BEST pgpscpu=$BCPU rss1=$PEAK

sks=
if [ -x "$SKS_BIN" ]; then
	# "sks build" into a fresh basedir each time; the Debian build
	# resolves its paths below -basedir and creates none of them
	# shellcheck disable=SC2016 # expanded by the inner bash
	sks_build='rm -rf "$1" &&
	    mkdir -p "$1/etc/sks" "$1/var/lib/sks" "$1/var/log/sks" &&
	    printf "pagesize: 16\nptree_pagesize: 16\n" >"$1/etc/sks/sksconf" &&
	    cd "$1" && exec "$2" -basedir "$1" -stdoutlog build "$3" \
	    -n 10 -cache 100'
	row "sks build" bash -c "$sks_build" sks-build "$TMP/sks" "$SKS_BIN" \
	    "$DUMP"
	sks=$BEST skscpu=$BCPU
	rm -rf "$TMP/sks"
else
	echo "sks build: skipped ($SKS_BIN not installed)"
fi

echo
echo "pgpsync / md5sum:  $(ratio "$pgps" "$md5") wall," \
    "$(ratio "$pgpscpu" "$md5cpu") cpu" \
    "($(awk -v b="$SIZE" -v s="$pgps" 'BEGIN {
	printf "%.0f MB/s", (s > 0 ? b / s / 1048576 : 0) }') for pgpsync)"
if [ -n "$sks" ]; then
	echo "sks / pgpsync:     $(ratio "$sks" "$pgps") wall," \
	    "$(ratio "$skscpu" "$pgpscpu") cpu"
fi

# Memory must be bounded by the largest certificate and a fixed read
# window, not by the dump.  Below 200 MB the whole dump may fit in that
# window, so the two figures are only compared for larger dumps.
measure "$PGPSYNC" dump hashes "$DUMP4"
rss4=$RSS
echo "pgpsync peak RSS:  $(mb "$rss1") MB on 1x," \
    "$(mb "$rss4") MB on 4x ($(mb $((4 * SIZE / 1024))) MB, ${WALL} s)"
if [ "$SIZE" -lt $((200 << 20)) ]; then
	echo "(dump under 200 MB: memory growth not checked)"
elif [ "$rss4" -gt $((rss1 * 3 / 2 + 16384)) ]; then
	fail "pgpsync's memory grows with the dump size"
fi
