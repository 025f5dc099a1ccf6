#!/bin/sh
# mktrust.sh: regenerates the certificates in tests/data/trust/ that the
# signature verification and import tests read (tests/unit/
# test-openpgp-verify.c, test-keyset-import.c).  The outputs are
# committed, so the tests never need gpg; run this only to change them:
#
#	sh tests/data/mktrust.sh
#
# Needs gpg 2.2 or later.  Every step runs at a fixed --faked-system-time;
# the key material is fresh each time, so the tests read fingerprints from
# the files.  One certificate per public-key algorithm pgpsync verifies,
# each with a user ID (self-signature 0x13) and subkeys (binding 0x18; a
# signing subkey also carries the primary key binding 0x19 inside it):
#
#   rsa.pgp     RSA 2048 primary, RSA 2048 signing subkey, RSA 2048
#               encryption subkey (SHA-256 signatures)
#   p256.pgp    ECDSA NIST P-256 primary, ECDSA P-256 signing subkey,
#               ECDH P-256 encryption subkey
#   p384.pgp    ECDSA NIST P-384 primary, ECDH P-384 encryption subkey
#   p521.pgp    ECDSA NIST P-521 primary, ECDH P-521 encryption subkey
#   dsa.pgp     DSA 2048 primary, ElGamal encryption subkey
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$here/trust
mkdir -p "$out"

GNUPGHOME=$(mktemp -d /tmp/pgps-mktrust.XXXXXX)
export GNUPGHOME
trap 'gpgconf --kill all >/dev/null 2>&1 || :; rm -rf "$GNUPGHOME"' EXIT
chmod 700 "$GNUPGHOME"

T0=20240101T120000

g() {
	gpg --batch --yes --no-tty --quiet --passphrase '' \
	    --pinentry-mode loopback --faked-system-time "$T0!" "$@" \
	    2>>"$GNUPGHOME/log"
}

fpr_of() {
	gpg --with-colons --list-keys "$1" 2>/dev/null |
	    awk -F: '/^fpr:/ { print $10; exit }'
}

# make NAME PRIMARY-ALGO [SUBKEY-ALGO USAGE]...
make() {
	name=$1 algo=$2
	shift 2
	g --quick-gen-key "$name <$name@example.org>" "$algo" cert,sign never
	f=$(fpr_of "$name@example.org")
	while [ $# -gt 0 ]; do
		g --quick-add-key "$f" "$1" "$2" never
		shift 2
	done
	gpg --export "$f" >"$out/$name.pgp"
	test -s "$out/$name.pgp" || { echo "mktrust: $name" >&2; exit 1; }
}

make rsa rsa2048 rsa2048 sign rsa2048 encr
make p256 nistp256 nistp256/ecdsa sign nistp256 encr
make p384 nistp384 nistp384 encr
make p521 nistp521 nistp521 encr
make dsa dsa2048 elg2048 encr
echo "mktrust: wrote $out"
