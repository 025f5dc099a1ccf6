#!/bin/bash
#
# t1100-dump-sks-hash: the SKS key hash of "pgpsync dump hashes" is the one
# a real SKS keyserver computes, for every key of the Debian keyrings.
#
# SKS is built from the keyrings; for each key SKS then lists, in its own
# HTML index with hash=on, the hash it computes and the fingerprint.  That
# pair is compared with pgpsync's line for the same fingerprint, both for
# the keyring files and for SKS's own stored bytes ("sks dump").  SKS
# merges certificates that share a primary key and drops ones it cannot
# parse, so the keyring comparison covers the keys that reached SKS
# unchanged, and must cover at least 95% of the input.

. "$(dirname "$0")/lib.sh"

FIXTURE=$SRCDIR/tests/sks/sks-fixture
KEYRINGS=
for k in debian-keyring debian-maintainers debian-nonupload \
    debian-role-keys; do
	if [ -r "/usr/share/keyrings/$k.gpg" ]; then
		KEYRINGS="$KEYRINGS /usr/share/keyrings/$k.gpg"
	fi
done

if ! test_have_prereq SKS; then
	test_skip 'SKS hash equals real SKS for the Debian keyrings' \
	    'missing SKS (apt-get install sks)'
	test_done
fi
if ! test_have_prereq DEBIAN_KEYRING; then
	test_skip 'SKS hash equals real SKS for the Debian keyrings' \
	    'missing DEBIAN_KEYRING (apt-get install debian-keyring)'
	test_done
fi
if ! command -v curl >/dev/null 2>&1; then
	test_skip 'SKS hash equals real SKS for the Debian keyrings' \
	    'missing curl'
	test_done
fi

# SKS's Unix sockets live under its directory, whose path must stay short.
SKS=$TRASH/sks
if [ ${#SKS} -gt 80 ]; then
	SKS=$(mktemp -d /tmp/pgps-sks.XXXXXX)/sks
fi
test_at_exit 'cd / && "$FIXTURE" destroy "$SKS"'
if [ "$SKS" != "$TRASH/sks" ]; then
	test_at_exit 'rmdir "${SKS%/sks}"'
fi

# hashes_ok FILE: every line is "<32 hex> <hex fingerprint or ->".
hashes_ok() {
	if grep -Evq '^[0-9A-F]{32} ([0-9A-F]{32,64}|-)$' "$1"; then
		echo "malformed lines in $1:"
		grep -Ev '^[0-9A-F]{32} ([0-9A-F]{32,64}|-)$' "$1" | head -5
		return 1
	fi
}

# sks_hashes FPRS OUT: asks SKS's HTML index (hash=on, fingerprint=on)
# for each fingerprint in FPRS and writes "<hash> <fingerprint>" for
# every key SKS lists.  The hash on that page is computed by SKS.
sks_hashes() {
	local hkp
	hkp=$("$FIXTURE" port "$SKS" hkp) || return 1
	awk -v base="http://127.0.0.1:$hkp/pks/lookup?op=index" '{
		printf "url = \"%s&fingerprint=on&hash=on&search=0x%s\"\n",
		    base, $1
	}' "$1" >urls &&
	curl -sS --noproxy '*' --max-time 50 -K urls >index.html &&
	awk '
	/^[ \t]*Hash=/ {
		h = $0
		sub(/<\/a>.*/, "", h)
		sub(/.*>/, "", h)
	}
	/^[ \t]*Fingerprint=/ {
		f = $0
		sub(/.*Fingerprint=/, "", f)
		gsub(/[^0-9A-F]/, "", f)
		print h, f
	}' index.html | sort -u >"$2"
}

# single_fprs IN OUT: the lines of IN whose fingerprint occurs only once
# (SKS merges certificates that share a primary key into a new hash).
single_fprs() {
	awk '$2 != "-" { n[$2]++; h[$2] = $1 }
	    END { for (f in n) if (n[f] == 1) print h[f], f }' "$1" |
	    sort -k2 >"$2"
}

# compare JOINED: lines "<fingerprint> <pgpsync hash> <SKS hash>".
compare() {
	awk '$2 != $3 {
		print "mismatch: " $1 " pgpsync " $2 " sks " $3
		bad++
	} END { exit bad > 0 }' "$1"
}

test_expect_success 'pgpsync hashes the Debian keyrings' '
	cat $KEYRINGS >keyrings.pgp &&
	pgpsync dump hashes keyrings.pgp >input.txt &&
	hashes_ok input.txt &&
	test -s input.txt
'

test_expect_success 'SKS builds its database from the same keyrings' '
	set -- &&
	for k in $KEYRINGS; do set -- "$@" --keys "$k"; done &&
	"$FIXTURE" start "$SKS" --no-gossip --owner $$ "$@" &&
	"$FIXTURE" count "$SKS" >sks-count &&
	test "$(cat sks-count)" -gt 0
'

test_expect_success 'pgpsync hashes what SKS stored (sks dump)' '
	"$FIXTURE" dump "$SKS" stored.pgp &&
	pgpsync dump hashes stored.pgp >stored.txt &&
	hashes_ok stored.txt &&
	test "$(wc -l <stored.txt)" -eq "$(cat sks-count)"
'

test_expect_success 'SKS lists its own hash for every key it holds' '
	cat input.txt stored.txt | awk "\$2 != \"-\" { print \$2 }" |
	    sort -u >fprs &&
	sks_hashes fprs sks.txt &&
	hashes_ok sks.txt &&
	# one hash per key, and a line for each key SKS holds
	test -z "$(cut -d" " -f2 sks.txt | sort | uniq -d)" &&
	test "$(wc -l <sks.txt)" -eq "$(cat sks-count)"
'

test_expect_success 'pgpsync hashes of the stored keys equal SKS hashes' '
	sort stored.txt >stored.sorted &&
	test_cmp sks.txt stored.sorted
'

test_expect_success 'pgpsync hashes of the keyrings equal SKS hashes' '
	single_fprs input.txt input.single &&
	sort -k2 sks.txt >sks.byfpr &&
	join -1 2 -2 2 -o 0,1.1,2.1 input.single sks.byfpr >joined &&
	compare joined &&
	total=$(wc -l <input.txt) &&
	compared=$(wc -l <joined) &&
	echo "$compared of $total input certificates compared" &&
	test $((compared * 100)) -ge $((total * 95))
'

# before test_done removes the trash directory under it
"$FIXTURE" stop "$SKS"

if [ -f input.txt ] && [ -f sks.txt ] && [ -f joined ]; then
	echo "# input certificates: $(wc -l <input.txt)," \
	    "keys in SKS: $(cat sks-count 2>/dev/null)," \
	    "SKS hashes listed: $(wc -l <sks.txt)," \
	    "compared with the input: $(wc -l <joined)"
fi

test_done
