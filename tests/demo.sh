#!/bin/sh
# make demo: a local tour of pgpsync on a real keyring, and the SKS hash
# checked against a real SKS keyserver on 127.0.0.1.  Needs the packages
# .ci/deps installs.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
P=$top/bin/pgpsync
KR=/usr/share/keyrings/debian-keyring.gpg
work=$(mktemp -d /tmp/pgpsync-demo.XXXXXX)
sks=
gossip=
cleanup() {
	if [ -n "$sks" ]; then
		"$top/tests/sks/sks-fixture" destroy "$sks" >/dev/null 2>&1 || :
	fi
	for g in $gossip; do
		"$top/tests/sks/sks-fixture" destroy "$g" >/dev/null 2>&1 || :
	done
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
step() { printf '\n== %s\n' "$*"; }

if [ ! -r "$KR" ]; then
	echo "demo: $KR is missing: run 'sudo sh .ci/deps' first" >&2
	exit 2
fi

step "what the Debian keyring holds"
"$P" dump stats --top 3 "$KR"

step "SKS hash and fingerprint of its first keys"
"$P" dump hashes "$KR" | head -n 5

step "split it into SKS dump files of 200 keys, then md5sum -c"
"$P" dump split -n 200 -o dump "$KR"
ls dump
(cd dump && md5sum -c metadata-sks-dump.txt)

step "a certificate flooded with 100,000 signatures, then filtered"
sh "$top/tests/data/mkpackets.sh" flood flood.pgp 100000
"$P" dump stats flood.pgp | grep -E '^(bytes|signatures)'
"$P" dump filter -o trimmed.pgp flood.pgp
"$P" dump stats trimmed.pgp | grep -E '^(bytes|signatures)'

step "merge the dump files and the keyring: versions combine, duplicates go"
"$P" dump merge -o merged.pgp dump "$KR"
"$P" dump hashes merged.pgp | wc -l

if [ -x /usr/sbin/sks ] && command -v curl >/dev/null 2>&1; then
	step "a real SKS keyserver on 127.0.0.1 built from the same dump"
	sks=$(mktemp -d /tmp/pgps-sks.XXXXXX)/sks
	"$top/tests/sks/sks-fixture" start "$sks" --keys dump/sks-dump-0000.pgp \
	    --no-gossip >/dev/null
	hkp=$("$top/tests/sks/sks-fixture" port "$sks" hkp)
	"$P" dump hashes dump/sks-dump-0000.pgp | head -n 5 |
	while read -r hash fpr; do
		theirs=$(curl -sS --noproxy '*' "http://127.0.0.1:$hkp/pks/lookup?op=index&fingerprint=on&hash=on&search=0x$fpr" |
		    sed -n 's/.*Hash=.*>\([0-9A-F]\{32\}\)<.*/\1/p' | head -n 1)
		[ "$theirs" = "$hash" ] && same=same || same=DIFFERENT
		echo "$fpr pgpsync $hash sks $theirs $same"
	done

	step "refresh a GnuPG keyring that lacks every third-party signature from that SKS"
	GNUPGHOME=$(mktemp -d /tmp/pgps-demo-gpg.XXXXXX)
	export GNUPGHOME
	"$P" dump filter --strip-third-party -o stripped.pgp dump/sks-dump-0000.pgp
	"$P" -q dump import stripped.pgp >/dev/null
	"$P" diff --stat gpg: dump/sks-dump-0000.pgp || :
	t0=$(date +%s.%N)
	"$P" fetch --state state.json -k "hkp://127.0.0.1:$hkp" | tail -n 3
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "fetch took %.1f s\n", b - a }'
	echo "after the fetch (what is left is what gpg itself declines to keep):"
	"$P" diff --stat gpg: dump/sks-dump-0000.pgp || :
	gpgconf --kill all 2>/dev/null || :
	rm -rf "$GNUPGHOME"

	# Three more SKS servers gossiping in a chain 1 - 2 - 3, 3 also
	# listing 1 (one way), each with its own share of the dumps; each
	# HKP port is its recon port plus one, as on the real network.
	step "the gossip network of three SKS servers on 127.0.0.1 (pgpsync peers)"
	# shellcheck disable=SC2046
	set -- $("$top/tests/sks/sks-fixture" ports 3)
	f=$top/tests/sks/sks-fixture
	g1=$work/g1 g2=$work/g2 g3=$work/g3
	gossip="$g1 $g2 $g3"
	if "$f" start "$g1" --recon-port "$1" --hkp-port $(($1 + 1)) \
	    --peer "$2" --no-gossip --keys dump/sks-dump-0001.pgp \
	    >/dev/null 2>&1 &&
	    "$f" start "$g2" --recon-port "$2" --hkp-port $(($2 + 1)) \
	    --peer "$1" --peer "$3" --no-gossip --keys dump/sks-dump-0001.pgp \
	    --keys dump/sks-dump-0002.pgp >/dev/null 2>&1 &&
	    "$f" start "$g3" --recon-port "$3" --hkp-port $(($3 + 1)) \
	    --peer "$2" --peer "$1" --no-gossip --keys dump/sks-dump-0002.pgp \
	    >/dev/null 2>&1; then
		"$P" peers --allow-private "127.0.0.1:$(($1 + 1))"
		if command -v dot >/dev/null 2>&1; then
			"$P" -q peers --allow-private --svg "$top/peers.svg" \
			    "127.0.0.1:$(($1 + 1))"
			echo "the picture: $top/peers.svg"
		else
			echo "(install graphviz for a picture: peers --svg)"
		fi
	else
		echo "(a port was taken: run make demo again for this step)"
	fi
fi
echo
echo "demo done"
