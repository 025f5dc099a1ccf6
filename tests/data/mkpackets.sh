#!/bin/sh
# mkpackets.sh: (re)creates the malformed-input test files in
# tests/data/packets/ from the certificates in tests/data/keys/ and a few
# inline bytes.  The output is deterministic: running it again gives the
# same files, byte for byte.  tests/data/README describes each file.
#
#   sh tests/data/mkpackets.sh [OUTDIR]      the small files (default:
#                                            tests/data/packets)
#   sh tests/data/mkpackets.sh flood FILE [N]
#                                            a flooded certificate (N third-
#                                            party signatures on one user ID,
#                                            default 100000: about 12 MB, too
#                                            big to commit)
#
# Only sh, printf, head, tail, cat and gpg --dearmor are used.  Packet
# offsets below are fixed because the input certificates are; they were
# read from gpg --list-packets (the "off=" and "plen=" values).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
keys=$here/keys
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkpackets.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

dearmor() {
	gpg --homedir "$tmp" --batch --quiet --no-options --dearmor <"$1"
}

# bytes FILE OFFSET COUNT: COUNT bytes of FILE from 0-based OFFSET.
bytes() {
	tail -c +"$(($2 + 1))" "$1" | head -c "$3"
}

# from FILE OFFSET: the bytes of FILE from 0-based OFFSET to its end.
from() {
	tail -c +"$(($2 + 1))" "$1"
}

# revoked-ed25519: pubkey 0+53, revocation 53+122, uid 175+30,
#                  certification 205+146, subkey 351+58, binding 409+122
dearmor "$keys/revoked-ed25519.asc" >"$tmp/R"
# dana-ed25519:    pubkey 0+53, uid 53+33, self-sig 86+146, Erin's
#                  certification 232+119, subkey 351+58, binding 409+122
dearmor "$keys/dana-ed25519.asc" >"$tmp/D"
# ravi-rsa4096:    pubkey 0+528 (header 0x99 0x02 0x0d: 525-byte body),
#                  uid 528+33, self-sig 561+593
dearmor "$keys/ravi-rsa4096.asc" >"$tmp/V"

if [ "${1:-}" = flood ]; then
	out=${2:?usage: mkpackets.sh flood FILE [N]}
	n=${3:-100000}
	# Erin's certification of Dana's user ID (legacy header 0x88 0x75,
	# 117-byte body) without the last 3 bytes of its EdDSA S value,
	# which are replaced by a counter: every copy is distinct, as in
	# the certificates flooded in 2019, though the signatures do not
	# verify (pgpsync never verifies them).
	sig='\210\165\004\020\026\010\000\035\026\041\004\300\224\254\303'
	sig=$sig'\006\157\046\323\376\256\126\255\114\244\132\117\167\211\203'
	sig=$sig'\364\005\002\153\004\075\072\000\012\011\020\114\244\132\117'
	sig=$sig'\167\211\203\364\243\063\000\376\055\336\263\371\032\256\175'
	sig=$sig'\000\337\334\111\374\141\216\070\231\022\217\255\366\205\271'
	sig=$sig'\277\055\216\062\054\341\251\041\121\246\000\377\175\045\074'
	sig=$sig'\317\014\235\031\164\321\253\004\045\277\015\020\115\366\166'
	sig=$sig'\147\306\027\111\125\073\211\054\246\370\101'
	{
		bytes "$tmp/D" 0 232
		i=0
		while [ "$i" -lt "$n" ]; do
			a=$((i / 65536 % 256))
			b=$((i / 256 % 256))
			c=$((i % 256))
			# %b takes \0ooo; the digits are the octal of a, b, c.
			printf "$sig%b%b%b" \
			    "\\0$((a / 64))$((a / 8 % 8))$((a % 8))" \
			    "\\0$((b / 64))$((b / 8 % 8))$((b % 8))" \
			    "\\0$((c / 64))$((c / 8 % 8))$((c % 8))"
			i=$((i + 1))
		done
		from "$tmp/D" 351
	} >"$out"
	exit 0
fi

out=${1:-$here/packets}
mkdir -p "$out"
cd "$out"

: >empty.bin

# What a proxy returns instead of keys.
printf '<html><head><title>502 Bad Gateway</title></head>\r\n' \
    >only-garbage.bin
printf '<body><h1>502 Bad Gateway</h1></body></html>\r\n' >>only-garbage.bin

# A good certificate, then a new-format public-key header (0xC6) whose
# 5-octet length (0xFF + 4 octets) ends after two of its four octets.
{ cat "$tmp/R"; printf '\306\377\000\000'; } >trunc-new-len.bin

# A good certificate, then a legacy public-key header with a 2-octet
# length (0x99) that has only one of its length octets.
{ cat "$tmp/R"; printf '\231\002'; } >trunc-old-len.bin

# A good certificate, then Dana's cut 100 bytes before its end, inside
# the body of its subkey binding signature.
{ cat "$tmp/R"; head -c 431 "$tmp/D"; } >trunc-body.bin

# Dana's certificate with Erin's certification re-framed as a new-format
# packet whose 5-octet length claims 0xFFFFFFF0 bytes, then a good
# certificate that a reader must still find.
{
	bytes "$tmp/D" 0 232
	printf '\302\377\377\377\377\360'
	from "$tmp/D" 234
	cat "$tmp/R"
} >lying-len-5octet.bin

# The revoked certificate whose last packet (the subkey binding) has a
# legacy header of length type 3, "indeterminate": runs to end of file.
{ head -c 409 "$tmp/R"; printf '\213'; from "$tmp/R" 411; } \
    >indeterminate-len.bin

# The revoked certificate with bit 7 of the user ID header cleared (0xB4
# becomes 0x34), then Dana's certificate.
{
	head -c 175 "$tmp/R"
	printf '\064'
	from "$tmp/R" 176
	cat "$tmp/D"
} >bad-header-bit7.bin

# Ravi's certificate with the primary key packet (525-byte body)
# re-framed with a partial body length: a new-format header (0xC6), a
# 512-byte partial chunk (0xE9), then the last 13 bytes (length 0x0D).
# Partial lengths are for data packets only (RFC 9580 4.2.1.4).
{
	printf '\306\351'
	bytes "$tmp/V" 3 512
	printf '\015'
	from "$tmp/V" 515
} >partial-in-key.bin

# Two certificates with text between them.
{
	cat "$tmp/D"
	printf 'this is not OpenPGP data\n'
	cat "$tmp/R"
} >garbage-between-certs.bin

# A transferable secret key (no passphrase) as gpg exports it.
dearmor "$keys/dana-ed25519-secret.asc" >secret-key.bin

# The revoked certificate's key revocation signature alone, as
# Hockeypuck serves hard-revoked v4 keys, then Dana's certificate.
{ bytes "$tmp/R" 53 122; cat "$tmp/D"; } >leading-bare-revocation.bin

# RFC 9580 appendix A.3: a v6 certificate (new-format headers throughout).
dearmor "$keys/v6-rfc9580.asc" >v6-rfc9580.bin
