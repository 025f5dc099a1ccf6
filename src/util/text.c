/*
 * text.c: the terminal and JSON sanitizers.  One UTF-8 decoder serves
 * both, so they agree on what is well-formed.
 */
#include "util/common.h"

#include "util/text.h"

size_t
text_utf8_next(const uint8_t *p, size_t len, uint32_t *cp)
{
	uint8_t c = p[0];
	uint32_t v, min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else
		return 0;	/* continuation octet, C0/C1 lead, F5..FF */
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool
text_is_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

int
text_term(struct buf *b, const void *v, size_t len, size_t max)
{
	const uint8_t *p = v;
	size_t i = 0, n;
	uint32_t cp;
	int r;

	if (max != 0 && len > max)
		len = max;
	while (i < len) {
		n = text_utf8_next(p + i, len - i, &cp);
		if (n == 0 || text_is_unsafe(cp)) {
			if ((r = buf_addch(b, TEXT_TERM_REPLACEMENT)) != 0)
				return r;
			i += n == 0 ? 1 : n;
			continue;
		}
		if ((r = buf_add(b, p + i, n)) != 0)
			return r;
		i += n;
	}
	return 0;
}

void
text_term_str(char *out, size_t outlen, const char *in)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t len = strlen(in), i = 0, o = 0, n;
	uint32_t cp;

	if (outlen == 0)
		return;
	while (i < len) {
		n = text_utf8_next(p + i, len - i, &cp);
		if (n == 0 || text_is_unsafe(cp)) {
			if (o + 1 >= outlen)
				break;
			out[o++] = TEXT_TERM_REPLACEMENT;
			i += n == 0 ? 1 : n;
			continue;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

int
text_json(struct buf *b, const void *v, size_t len)
{
	static const uint8_t fffd[3] = { 0xef, 0xbf, 0xbd };
	const uint8_t *p = v;
	size_t i = 0, n;
	uint32_t cp;
	int r;

	while (i < len) {
		n = text_utf8_next(p + i, len - i, &cp);
		if (n == 0) {
			if ((r = buf_add(b, fffd, sizeof(fffd))) != 0)
				return r;
			i++;
			continue;
		}
		if ((r = buf_add(b, p + i, n)) != 0)
			return r;
		i += n;
	}
	return 0;
}

bool
text_uid_address(const uint8_t *p, size_t len, size_t *off, size_t *n)
{
	size_t lo = 0, hi = len;
	bool at = false;

	for (size_t i = len; i > 0; i--)
		if (p[i - 1] == '<') {
			lo = i;
			for (hi = lo; hi < len && p[hi] != '>'; hi++)
				;
			if (hi == len)
				return false;	/* no closing '>' */
			break;
		}
	if (hi == lo)
		return false;
	for (size_t i = lo; i < hi; i++) {
		if (p[i] <= ' ' || p[i] == 0x7f || p[i] == '<' || p[i] == '>')
			return false;
		if (p[i] == '@')
			at = true;
	}
	if (!at)
		return false;
	*off = lo;
	*n = hi - lo;
	return true;
}
