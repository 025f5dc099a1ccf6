# lib-recon.sh: helpers shared by the reconcile tests (t50*), sourced
# after lib.sh.  They expect $FIXTURE (tests/sks/sks-fixture) and $TMPD
# (a scratch directory) to be set by the test.

# hashes SET...: the sorted SKS hashes of the certificates.
hashes() {
	pgpsync dump hashes "$@" | cut -d" " -f1 | sort -u
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
