/*
 * hex.h: hexadecimal encoding and decoding.
 */
#ifndef PGPSYNC_UTIL_HEX_H
#define PGPSYNC_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len upper-case hex digits and a NUL to out (2*len+1 bytes). */
void hex_encode_upper(char *out, const uint8_t *p, size_t len);
void hex_encode_lower(char *out, const uint8_t *p, size_t len);
/*
 * Decodes exactly 2*outlen hex digits (either case) from s into out.
 * Returns 0, or -1 when s is not that many hex digits.
 */
int hex_decode(uint8_t *out, size_t outlen, const char *s, size_t slen);

#endif
