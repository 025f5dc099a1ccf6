/*
 * hex.c: hexadecimal conversions for fingerprints and SKS hashes.
 */
#include "util/common.h"

#include "util/hex.h"

static void
hex_encode(char *out, const uint8_t *p, size_t len, const char *digits)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

void
hex_encode_upper(char *out, const uint8_t *p, size_t len)
{
	hex_encode(out, p, len, "0123456789ABCDEF");
}

void
hex_encode_lower(char *out, const uint8_t *p, size_t len)
{
	hex_encode(out, p, len, "0123456789abcdef");
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(uint8_t *out, size_t outlen, const char *s, size_t slen)
{
	if (slen != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval((unsigned char)s[2 * i]);
		int lo = hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
