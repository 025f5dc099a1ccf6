#!/bin/sh
# mkkeys.sh: regenerates the small certificates in tests/data/certs/ that
# the merge, diff and filter tests read.  The outputs are committed, so the
# tests never need gpg; run this only to change them:
#
#	sh tests/data/mkkeys.sh
#
# Needs gpg 2.2 or later.  Every step runs at a fixed --faked-system-time
# and Ed25519 signatures are deterministic, so all times and the structure
# of the files are the same on every run; the key material is fresh each
# time (gpg cannot generate keys from a seed), so fingerprints change and
# the tests read them from the files rather than hard-coding them.
#
# What is made (certificates exported with plain --export):
#
#   alice.pgp                 2024-01-01 12:00: Ed25519 primary (expires
#                             10y), UID "Alice <alice@example.org>", a
#                             Curve25519 encryption subkey (expires 10y)
#   alice-later.pgp           2024-06-01 12:00: + UID "Alice
#                             <alice@example.net>", + an Ed25519 signing
#                             subkey (15y), + Bob's certification of
#                             alice@example.org; 2024-06-02 12:00: primary
#                             expiry moved to 20y from then (new self-
#                             signatures on both UIDs; gpg drops the
#                             superseded ones)
#   alice-revoked.pgp         alice-later + 2024-09-01 12:00: revocation of
#                             UID alice@example.net (0x30, reason 32) and of
#                             the signing subkey (0x28, reason 0), then at
#                             13:00 the key revocation (0x20, reason 3)
#   alice-revocation-only.pgp the primary key and its key revocation only,
#                             no UID (what keys.openpgp.org hands out)
#   alice-nouid.pgp           alice-revoked without UIDs (subkeys kept)
#   bob.pgp                   2024-01-01 12:00: Ed25519 primary (does not
#                             expire), UID "Bob <bob@example.org>", no
#                             subkey
#
# Expiry times are long (gpg's "10y" is 3650 days) so that gpg, which
# checks them against the real clock, still finds the keys usable.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$here/certs
mkdir -p "$out"

GNUPGHOME=$(mktemp -d /tmp/pgps-mkkeys.XXXXXX)
export GNUPGHOME
trap 'gpgconf --kill all >/dev/null 2>&1 || :; rm -rf "$GNUPGHOME"' EXIT
chmod 700 "$GNUPGHOME"

T0=20240101T120000
T1=20240601T120000
T1B=20240602T120000
T2=20240901T120000
T2B=20240901T130000

g() {
	at=$1
	shift
	gpg --batch --yes --no-tty --quiet --passphrase '' \
	    --pinentry-mode loopback --faked-system-time "$at!" "$@" \
	    2>>"$GNUPGHOME/log"
}

fpr_of() {
	gpg --with-colons --list-keys "$1" 2>/dev/null |
	    awk -F: '/^fpr:/ { print $10; exit }'
}

g $T0 --quick-gen-key 'Alice <alice@example.org>' ed25519 cert,sign 10y
A=$(fpr_of alice@example.org)
g $T0 --quick-add-key "$A" cv25519 encr 10y
g $T0 --quick-gen-key 'Bob <bob@example.org>' ed25519 cert,sign never
B=$(fpr_of bob@example.org)
gpg --export "$A" >"$out/alice.pgp"
gpg --export "$B" >"$out/bob.pgp"

g $T1 --quick-add-uid "$A" 'Alice <alice@example.net>'
g $T1 --quick-add-key "$A" ed25519 sign 15y
g $T1 -u "$B" --quick-sign-key "$A" 'Alice <alice@example.org>' >/dev/null
# A second later than the new UID's self-signature, or gpg refuses with
# "Time conflict".
g $T1B --quick-set-expire "$A" 20y
gpg --export "$A" >"$out/alice-later.pgp"

g $T2 --quick-revuid "$A" 'Alice <alice@example.net>'
# Subkey 2 is the signing subkey (subkeys are listed oldest first); the
# answers are: confirm, reason 0, empty description, confirm.
printf 'key 2\nrevkey\ny\n0\n\ny\nsave\n' |
    g $T2 --command-fd 0 --edit-key "$A" >/dev/null
# --gen-revoke refuses --batch; drive its prompts the same way instead.
printf 'y\n3\n\ny\n' |
    gpg --no-tty --yes --passphrase '' --pinentry-mode loopback \
    --faked-system-time "$T2B!" --command-fd 0 -o "$GNUPGHOME/rev.asc" \
    --gen-revoke "$A" >/dev/null 2>>"$GNUPGHOME/log"
g $T2B --import "$GNUPGHOME/rev.asc"
gpg --export "$A" >"$out/alice-revoked.pgp"
gpg --export-filter keep-uid='uid = nobody' \
    --export-filter drop-subkey='key_algo > 0' \
    --export "$A" >"$out/alice-revocation-only.pgp"
gpg --export-filter keep-uid='uid = nobody' \
    --export "$A" >"$out/alice-nouid.pgp"

for f in alice alice-later alice-revoked alice-revocation-only alice-nouid bob
do
	test -s "$out/$f.pgp" || { echo "mkkeys: $f.pgp is empty" >&2; exit 1; }
done
echo "mkkeys: wrote $out (alice $A, bob $B)"
