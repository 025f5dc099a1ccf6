# lib-recon.sh: helpers shared by the reconcile tests (t50*), sourced
# after lib.sh.  They expect $FIXTURE (tests/sks/sks-fixture) and $TMPD
# (a scratch directory) to be set by the test.

# hashes SET...: the sorted SKS hashes of the certificates; fails as
# pgpsync does (in a pipe its failure would pass as an empty set).
hashes() {
	pgpsync dump hashes "$@" >"$TMPD/hashes.raw" &&
	cut -d" " -f1 "$TMPD/hashes.raw" | sort -u
}

# sks_hashes DIR: the sorted SKS hashes of what SKS stores.
sks_hashes() {
	"$FIXTURE" dump "$1" "$TMPD/dump.pgp" >/dev/null 2>&1 &&
	hashes "$TMPD/dump.pgp"
}

# jnum FILE NAME: a top-level number of a JSON report.
jnum() {
	sed -n "s/^  \"$2\": \\([0-9]*\\),*\$/\\1/p" "$1"
}

# jlist FILE NAME: the strings of a top-level array, sorted.
jlist() {
	sed -n "/^  \"$2\": \\[/,/^  \\]/p" "$1" |
	    sed -n 's/^ *"\([0-9A-F]*\)",*$/\1/p' | sort
}

# wait_listening PORT: waits up to 5 s until a socket listens on PORT
# (reconcile --listen started in the background); fails if none does.
wait_listening() {
	_i=0
	while ! grep -qi ":$(printf %04X "$1") 00000000:0000 0A" \
	    /proc/net/tcp && test $_i -lt 50; do
		sleep 0.1; _i=$((_i + 1))
	done
	grep -qi ":$(printf %04X "$1") 00000000:0000 0A" /proc/net/tcp
}
