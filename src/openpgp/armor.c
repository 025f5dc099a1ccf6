/*
 * armor.c: OpenPGP ASCII armor (RFC 9580 section 6, RFC 4880 section 6).
 *
 * The decoder takes what keyservers and people really send: every armor
 * block of the input, whatever text or HTML surrounds it (SKS wraps the
 * armor in <pre> outside machine-readable mode and ends bodies with CRLF),
 * LF or CRLF line ends, armor headers, white space inside the base64, and a
 * missing checksum line.  The encoder writes exactly what gpg --armor
 * writes, minus gpg's optional Version and Comment headers, so armored
 * output can be compared with gpg's byte for byte.
 *
 * It does not decode the text of cleartext-signed messages (that is skipped
 * like any text around blocks; the signature block after it is decoded),
 * does not join multi-part messages other than by appending the parts, and
 * does not accept lines ended by a lone CR.  Base64 lives here because
 * nothing else in pgpsync needs it.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/limits.h"
#include "util/mem.h"

/* gpg writes 64 base64 characters per line (g10/armor.c). */
#define ARMOR_COLS	64

#define ARMOR_BEGIN	"-----BEGIN PGP "
#define ARMOR_END	"-----END PGP "
#define ARMOR_DASHES	"-----"

/* Longest label accepted ("PRIVATE KEY BLOCK", "MESSAGE, PART 1/12"). */
#define ARMOR_LABEL_MAX	64

/* CRC-24 table for generator 0x864CFB, most significant bit first. */
static const uint32_t crc24_table[256] = {
	0x000000, 0x864cfb, 0x8ad50d, 0x0c99f6, 0x93e6e1, 0x15aa1a,
	0x1933ec, 0x9f7f17, 0xa18139, 0x27cdc2, 0x2b5434, 0xad18cf,
	0x3267d8, 0xb42b23, 0xb8b2d5, 0x3efe2e, 0xc54e89, 0x430272,
	0x4f9b84, 0xc9d77f, 0x56a868, 0xd0e493, 0xdc7d65, 0x5a319e,
	0x64cfb0, 0xe2834b, 0xee1abd, 0x685646, 0xf72951, 0x7165aa,
	0x7dfc5c, 0xfbb0a7, 0x0cd1e9, 0x8a9d12, 0x8604e4, 0x00481f,
	0x9f3708, 0x197bf3, 0x15e205, 0x93aefe, 0xad50d0, 0x2b1c2b,
	0x2785dd, 0xa1c926, 0x3eb631, 0xb8faca, 0xb4633c, 0x322fc7,
	0xc99f60, 0x4fd39b, 0x434a6d, 0xc50696, 0x5a7981, 0xdc357a,
	0xd0ac8c, 0x56e077, 0x681e59, 0xee52a2, 0xe2cb54, 0x6487af,
	0xfbf8b8, 0x7db443, 0x712db5, 0xf7614e, 0x19a3d2, 0x9fef29,
	0x9376df, 0x153a24, 0x8a4533, 0x0c09c8, 0x00903e, 0x86dcc5,
	0xb822eb, 0x3e6e10, 0x32f7e6, 0xb4bb1d, 0x2bc40a, 0xad88f1,
	0xa11107, 0x275dfc, 0xdced5b, 0x5aa1a0, 0x563856, 0xd074ad,
	0x4f0bba, 0xc94741, 0xc5deb7, 0x43924c, 0x7d6c62, 0xfb2099,
	0xf7b96f, 0x71f594, 0xee8a83, 0x68c678, 0x645f8e, 0xe21375,
	0x15723b, 0x933ec0, 0x9fa736, 0x19ebcd, 0x8694da, 0x00d821,
	0x0c41d7, 0x8a0d2c, 0xb4f302, 0x32bff9, 0x3e260f, 0xb86af4,
	0x2715e3, 0xa15918, 0xadc0ee, 0x2b8c15, 0xd03cb2, 0x567049,
	0x5ae9bf, 0xdca544, 0x43da53, 0xc596a8, 0xc90f5e, 0x4f43a5,
	0x71bd8b, 0xf7f170, 0xfb6886, 0x7d247d, 0xe25b6a, 0x641791,
	0x688e67, 0xeec29c, 0x3347a4, 0xb50b5f, 0xb992a9, 0x3fde52,
	0xa0a145, 0x26edbe, 0x2a7448, 0xac38b3, 0x92c69d, 0x148a66,
	0x181390, 0x9e5f6b, 0x01207c, 0x876c87, 0x8bf571, 0x0db98a,
	0xf6092d, 0x7045d6, 0x7cdc20, 0xfa90db, 0x65efcc, 0xe3a337,
	0xef3ac1, 0x69763a, 0x578814, 0xd1c4ef, 0xdd5d19, 0x5b11e2,
	0xc46ef5, 0x42220e, 0x4ebbf8, 0xc8f703, 0x3f964d, 0xb9dab6,
	0xb54340, 0x330fbb, 0xac70ac, 0x2a3c57, 0x26a5a1, 0xa0e95a,
	0x9e1774, 0x185b8f, 0x14c279, 0x928e82, 0x0df195, 0x8bbd6e,
	0x872498, 0x016863, 0xfad8c4, 0x7c943f, 0x700dc9, 0xf64132,
	0x693e25, 0xef72de, 0xe3eb28, 0x65a7d3, 0x5b59fd, 0xdd1506,
	0xd18cf0, 0x57c00b, 0xc8bf1c, 0x4ef3e7, 0x426a11, 0xc426ea,
	0x2ae476, 0xaca88d, 0xa0317b, 0x267d80, 0xb90297, 0x3f4e6c,
	0x33d79a, 0xb59b61, 0x8b654f, 0x0d29b4, 0x01b042, 0x87fcb9,
	0x1883ae, 0x9ecf55, 0x9256a3, 0x141a58, 0xefaaff, 0x69e604,
	0x657ff2, 0xe33309, 0x7c4c1e, 0xfa00e5, 0xf69913, 0x70d5e8,
	0x4e2bc6, 0xc8673d, 0xc4fecb, 0x42b230, 0xddcd27, 0x5b81dc,
	0x57182a, 0xd154d1, 0x26359f, 0xa07964, 0xace092, 0x2aac69,
	0xb5d37e, 0x339f85, 0x3f0673, 0xb94a88, 0x87b4a6, 0x01f85d,
	0x0d61ab, 0x8b2d50, 0x145247, 0x921ebc, 0x9e874a, 0x18cbb1,
	0xe37b16, 0x6537ed, 0x69ae1b, 0xefe2e0, 0x709df7, 0xf6d10c,
	0xfa48fa, 0x7c0401, 0x42fa2f, 0xc4b6d4, 0xc82f22, 0x4e63d9,
	0xd11cce, 0x575035, 0x5bc9c3, 0xdd8538,
};

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint32_t
pgp_crc24(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xb704ce;	/* RFC 9580 6.1: CRC24_INIT */

	for (size_t i = 0; i < len; i++)
		crc = ((crc << 8) & 0xffffff) ^
		    crc24_table[((crc >> 16) ^ p[i]) & 0xff];
	return crc;
}

/* White space inside a line ('\n' separates lines and is handled apart). */
static bool
armor_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int
b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Writes a CRC-24 as the four base64 characters of its checksum line. */
static void
crc24_b64(char out[5], uint32_t crc)
{
	out[0] = b64_alphabet[(crc >> 18) & 0x3f];
	out[1] = b64_alphabet[(crc >> 12) & 0x3f];
	out[2] = b64_alphabet[(crc >> 6) & 0x3f];
	out[3] = b64_alphabet[crc & 0x3f];
	out[4] = '\0';
}

/* Skips a UTF-8 byte order mark and white space, line ends included. */
static size_t
armor_skip_lead(const uint8_t *p, size_t len)
{
	size_t i = 0;

	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < len && (armor_is_space(p[i]) || p[i] == '\n'))
		i++;
	return i;
}

bool
pgp_armor_detect(const uint8_t *p, size_t len)
{
	size_t i = armor_skip_lead(p, len);

	return len - i >= sizeof(ARMOR_BEGIN) - 1 &&
	    memcmp(p + i, ARMOR_BEGIN, sizeof(ARMOR_BEGIN) - 1) == 0;
}

static bool
armor_is_label_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
	    c == ',' || c == '/';
}

/*
 * Matches a "-----BEGIN PGP <label>-----" or "-----END PGP <label>-----"
 * line (prefix selects which) in p[0..n), already trimmed of white space at
 * both ends.  The marker may also follow an HTML tag on the same line
 * ("<pre>-----BEGIN ...") and be followed by one ("...-----</pre>"): the
 * armor stays intact inside HTML, only the line breaks around it vary.
 * Sets *label to the label inside the line.
 */
static bool
armor_match_line(const uint8_t *p, size_t n, const char *prefix,
    const uint8_t **label, size_t *labellen)
{
	size_t plen = strlen(prefix), dlen = sizeof(ARMOR_DASHES) - 1;
	size_t at = 0, i, end;

	for (;;) {
		if (n - at >= plen && memcmp(p + at, prefix, plen) == 0)
			break;
		while (at < n && p[at] != '>')
			at++;
		if (at == n)
			return false;
		at++;
	}
	i = at + plen;
	for (end = i; end < n && end - i <= ARMOR_LABEL_MAX &&
	    armor_is_label_char(p[end]); end++)
		;
	if (end == i || end - i > ARMOR_LABEL_MAX || n - end < dlen ||
	    memcmp(p + end, ARMOR_DASHES, dlen) != 0)
		return false;
	/* The label may end in a space only if dashes follow at once. */
	if (end + dlen != n && p[end + dlen] != '<')
		return false;
	*label = p + i;
	*labellen = end - i;
	return true;
}

/* Base64 decoding state of one armor block. */
struct armor_dec {
	struct buf	*out;
	uint8_t		 tmp[1024];	/* decoded bytes not yet in out */
	size_t		 ntmp;
	uint32_t	 acc;		/* bits of the current group */
	unsigned int	 nchars;	/* data characters in the group */
	unsigned int	 npad;		/* '=' characters in the group */
	bool		 ended;		/* padding closed the data */
};

static void
armor_dec_reset(struct armor_dec *d)
{
	d->ntmp = 0;
	d->acc = 0;
	d->nchars = 0;
	d->npad = 0;
	d->ended = false;
}

static int
armor_dec_flush(struct armor_dec *d, size_t line, struct pgps_err *err)
{
	size_t max = d->out->max != 0 ? d->out->max : PGPS_MAX_BUF;
	int r;

	if ((r = buf_add(d->out, d->tmp, d->ntmp)) != 0) {
		if (r == PGPS_ELIMIT)
			return pgps_err_set(err, r, "line %zu: decoded data "
			    "exceeds the limit of %zu bytes", line, max);
		return pgps_err_set(err, r, "line %zu: out of memory", line);
	}
	d->ntmp = 0;
	return 0;
}

/* Emits the nbytes (1 to 3) that the current group holds. */
static int
armor_dec_emit(struct armor_dec *d, unsigned int nbytes, size_t line,
    struct pgps_err *err)
{
	uint32_t v = d->acc << (6 * (4 - d->nchars));
	int r;

	if (d->ntmp + 3 > sizeof(d->tmp) &&
	    (r = armor_dec_flush(d, line, err)) != 0)
		return r;
	d->tmp[d->ntmp++] = (uint8_t)(v >> 16);
	if (nbytes > 1)
		d->tmp[d->ntmp++] = (uint8_t)(v >> 8);
	if (nbytes > 2)
		d->tmp[d->ntmp++] = (uint8_t)v;
	d->acc = 0;
	return 0;
}

static void
armor_describe_char(char out[8], uint8_t c)
{
	if (c > ' ' && c < 0x7f)
		snprintf(out, 8, "'%c'", c);
	else
		snprintf(out, 8, "0x%02x", c);
}

/* Decodes one line of base64 data (white space anywhere in it ignored). */
static int
armor_dec_line(struct armor_dec *d, const uint8_t *p, size_t n, size_t line,
    size_t col0, struct pgps_err *err)
{
	char what[8];
	int v, r;

	for (size_t i = 0; i < n; i++) {
		if (armor_is_space(p[i]))
			continue;
		if (p[i] == '=') {
			/* Padding completes a group of 2 or 3 characters. */
			if (d->ended || d->nchars < 2)
				return pgps_err_set(err, PGPS_EFORMAT,
				    "line %zu, column %zu: misplaced '=' in "
				    "base64 data", line, col0 + i + 1);
			d->npad++;
			if (d->nchars + d->npad == 4) {
				if ((r = armor_dec_emit(d, d->nchars - 1,
				    line, err)) != 0)
					return r;
				d->ended = true;
			}
			continue;
		}
		if ((v = b64_value(p[i])) < 0) {
			armor_describe_char(what, p[i]);
			return pgps_err_set(err, PGPS_EFORMAT, "line %zu, "
			    "column %zu: invalid character %s in base64 data",
			    line, col0 + i + 1, what);
		}
		if (d->ended || d->npad != 0)
			return pgps_err_set(err, PGPS_EFORMAT, "line %zu, "
			    "column %zu: base64 data after '=' padding", line,
			    col0 + i + 1);
		d->acc = (d->acc << 6) | (uint32_t)v;
		if (++d->nchars == 4) {
			if ((r = armor_dec_emit(d, 3, line, err)) != 0)
				return r;
			d->nchars = 0;
		}
	}
	return 0;
}

/* Ends the base64 data of a block at its END line. */
static int
armor_dec_finish(struct armor_dec *d, size_t line, struct pgps_err *err)
{
	if (!d->ended && (d->nchars != 0 || d->npad != 0))
		return pgps_err_set(err, PGPS_EFORMAT, "line %zu: base64 data "
		    "ends inside a group of four characters (truncated, or "
		    "padding missing)", line);
	return armor_dec_flush(d, line, err);
}

/* Parses a checksum line "=XXXX" (n == 5); false when it is malformed. */
static bool
armor_parse_crc(const uint8_t *p, uint32_t *crc)
{
	uint32_t v = 0;
	int x;

	for (size_t i = 1; i < 5; i++) {
		if ((x = b64_value(p[i])) < 0)
			return false;
		v = (v << 6) | (uint32_t)x;
	}
	*crc = v;
	return true;
}

static bool
armor_label_is(const uint8_t *label, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(label, s, len) == 0;
}

enum armor_state {
	ARMOR_TEXT,		/* outside blocks */
	ARMOR_HEADERS,		/* after BEGIN: armor headers, blank line */
	ARMOR_BODY,		/* base64 data */
	ARMOR_AFTER_CRC		/* after the checksum line: only END */
};

bool
pgp_armor_find(const uint8_t *p, size_t len)
{
	const uint8_t *q, *end = p + len;
	size_t blen = sizeof(ARMOR_BEGIN) - 1;

	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		p += 3;
	if (p == end || (p[0] & 0x80) != 0)
		return false;
	for (q = p; (size_t)(end - q) >= blen; q++) {
		if ((q = memchr(q, '-', (size_t)(end - q) - blen + 1)) == NULL)
			return false;
		if (memcmp(q, ARMOR_BEGIN, blen) == 0)
			return true;
	}
	return false;
}

/*
 * Decodes lines of in[0..len) until a block ends.  The state of the block
 * being decoded lives here; st only carries positions between calls.
 */
int
pgp_armor_next(struct pgp_armor_state *st, struct buf *out,
    const uint8_t *in, size_t len, bool eof, unsigned int flags,
    size_t *used, struct pgps_err *err)
{
	struct armor_dec d;
	enum armor_state as = ARMOR_TEXT;
	const uint8_t *label = NULL, *lab;
	size_t start = out->len, pos = 0, linepos, lineno = st->line;
	size_t beginpos = 0, beginline = 0, crcline = 0, labellen = 0, lablen;
	size_t resume;
	uint32_t crc = 0, want;
	bool has_crc = false;
	char got[5], calc[5];
	int r = PGPS_EINTERNAL;

	d.out = out;
	armor_dec_reset(&d);
	*used = 0;
	st->crc_mismatch = false;
	/* A UTF-8 byte order mark is text too, but would hide a BEGIN line. */
	if (st->offset == 0 && len >= 3 && in[0] == 0xef && in[1] == 0xbb &&
	    in[2] == 0xbf)
		pos = 3;
	for (;;) {
		const uint8_t *s = in + pos, *nl;
		size_t n, lead = 0, rest = len - pos;

		if (pos == len || ((nl = memchr(s, '\n', rest)) == NULL &&
		    !eof))
			break;
		linepos = pos;
		n = nl != NULL ? (size_t)(nl - s) : rest;
		pos += nl != NULL ? n + 1 : n;
		/* Where to go on after damage: the next line. */
		resume = pos;
		lineno++;
		while (n > 0 && armor_is_space(s[n - 1]))
			n--;
		while (lead < n && armor_is_space(s[lead]))
			lead++;
		s += lead;
		n -= lead;

		if (as == ARMOR_TEXT) {
			*used = pos;
			st->line = lineno;
			if (!armor_match_line(s, n, ARMOR_BEGIN, &label,
			    &labellen))
				continue;
			/* The text of a clear-signed message is not base64. */
			if (armor_label_is(label, labellen, "SIGNED MESSAGE"))
				continue;
			as = ARMOR_HEADERS;
			beginpos = linepos;
			beginline = lineno;
			*used = linepos;
			st->line = lineno - 1;
			has_crc = false;
			armor_dec_reset(&d);
			continue;
		}
		if (as == ARMOR_HEADERS) {
			/*
			 * "Key: Value" lines up to a blank line.  Base64 has no
			 * ':', so a missing blank line is recognised too.
			 */
			if (n != 0 && memchr(s, ':', n) != NULL)
				continue;
			as = ARMOR_BODY;
			if (n == 0)
				continue;
		}
		if (armor_match_line(s, n, ARMOR_END, &lab, &lablen)) {
			if (lablen != labellen ||
			    memcmp(lab, label, lablen) != 0) {
				r = pgps_err_set(err, PGPS_EFORMAT, "line %zu: "
				    "END line does not match the BEGIN line "
				    "%zu", lineno, beginline);
				goto damaged;
			}
			if ((r = armor_dec_finish(&d, lineno, err)) != 0)
				goto damaged;
			want = pgp_crc24(out->p + start, out->len - start);
			if (has_crc && want != crc) {
				crc24_b64(got, crc);
				crc24_b64(calc, want);
				if (!(flags & PGP_ARMOR_IGNORE_CRC)) {
					r = pgps_err_set(err, PGPS_EFORMAT,
					    "line %zu: armor checksum =%s does "
					    "not match the data (=%s)",
					    crcline, got, calc);
					goto damaged;
				}
				st->crc_mismatch = true;
				st->crc_line = crcline;
				memcpy(st->crc_got, got, sizeof(got));
				memcpy(st->crc_want, calc, sizeof(calc));
			}
			st->block_offset = st->offset + beginpos;
			st->block_line = beginline;
			st->offset += pos;
			st->line = lineno;
			*used = pos;
			return 1;
		}
		if (armor_match_line(s, n, ARMOR_BEGIN, &lab, &lablen)) {
			r = pgps_err_set(err, PGPS_EFORMAT, "line %zu: BEGIN "
			    "line inside the block (its END line is missing)",
			    lineno);
			/* That line may start a good block: go on there. */
			resume = linepos;
			lineno--;
			goto damaged;
		}
		if (as == ARMOR_AFTER_CRC) {
			if (n == 0)
				continue;
			r = pgps_err_set(err, PGPS_EFORMAT, "line %zu: text "
			    "after the armor checksum line %zu", lineno,
			    crcline);
			goto damaged;
		}
		/*
		 * "=XXXX" is the checksum (RFC 9580 6.1).  No data line looks
		 * like it, since nothing may follow '=' padding.
		 */
		if (n == 5 && s[0] == '=') {
			if (!armor_parse_crc(s, &crc)) {
				if (!(flags & PGP_ARMOR_IGNORE_CRC)) {
					r = pgps_err_set(err, PGPS_EFORMAT,
					    "line %zu: malformed armor "
					    "checksum line", lineno);
					goto damaged;
				}
				/* The checksum is optional: as if absent. */
				crcline = lineno;
				as = ARMOR_AFTER_CRC;
				continue;
			}
			has_crc = true;
			crcline = lineno;
			as = ARMOR_AFTER_CRC;
			continue;
		}
		if ((r = armor_dec_line(&d, s, n, lineno, lead, err)) != 0)
			goto damaged;
	}
	if (as != ARMOR_TEXT) {
		if (!eof) {
			/* Come back with the whole block. */
			buf_setlen(out, start);
			st->offset += *used;
			return 0;
		}
		r = pgps_err_set(err, PGPS_EFORMAT, "line %zu: no END line "
		    "(truncated?)", lineno);
		goto damaged;
	}
	st->offset += *used;
	return 0;
 damaged:
	buf_setlen(out, start);
	st->block_offset = st->offset + beginpos;
	st->block_line = beginline;
	st->offset += resume;
	st->line = lineno;
	*used = resume;
	return pgps_err_prefix(err, r, "armor block at line %zu (offset "
	    "%llu) skipped", beginline, (unsigned long long)st->block_offset);
}

int
pgp_armor_decode(struct buf *out, const uint8_t *in, size_t len,
    unsigned int flags, struct pgps_err *err)
{
	struct pgp_armor_state st = PGP_ARMOR_STATE_INIT;
	size_t start = out->len, pos = 0, used, nblocks = 0;
	int r;

	for (;;) {
		r = pgp_armor_next(&st, out, in + pos, len - pos, true, flags,
		    &used, err);
		pos += used;
		if (r < 0)
			goto cleanup;
		if (r == 0)
			break;
		nblocks++;
	}
	if (nblocks == 0) {
		r = pgps_err_set(err, PGPS_EFORMAT, "no armor block found "
		    "(no \"" ARMOR_BEGIN "...-----\" line in %zu lines)",
		    st.line);
		goto cleanup;
	}
	r = 0;
 cleanup:
	if (r != 0)
		buf_setlen(out, start);
	return r;
}

static const char *
armor_label_of(enum pgp_armor_type type)
{
	switch (type) {
	case PGP_ARMOR_PUBLIC_KEY:
		return "PUBLIC KEY BLOCK";
	case PGP_ARMOR_SIGNATURE:
		return "SIGNATURE";
	case PGP_ARMOR_MESSAGE:
		return "MESSAGE";
	}
	return NULL;
}

int
pgp_armor_encode(struct buf *out, const uint8_t *p, size_t len,
    enum pgp_armor_type type, unsigned int flags)
{
	const char *label = armor_label_of(type);
	size_t start = out->len, chars, need, col = 0, i;
	uint8_t *q;
	uint32_t v;
	char crc[5];
	int r = PGPS_EINTERNAL;

	if (label == NULL)
		goto cleanup;
	if ((r = buf_addf(out, "%s%s%s\n\n", ARMOR_BEGIN, label,
	    ARMOR_DASHES)) != 0)
		goto cleanup;
	/* 4 characters per 3 bytes, plus a line end per 64 characters. */
	if (!mem_mul(&chars, len / 3 + (len % 3 != 0), 4) ||
	    !mem_add(&need, chars, chars / ARMOR_COLS + 1)) {
		r = PGPS_ELIMIT;
		goto cleanup;
	}
	if ((r = buf_grow(out, need)) != 0)
		goto cleanup;
	q = out->p + out->len;
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*q++ = (uint8_t)b64_alphabet[(v >> 18) & 0x3f];
		*q++ = (uint8_t)b64_alphabet[(v >> 12) & 0x3f];
		*q++ = i + 1 < len ? (uint8_t)b64_alphabet[(v >> 6) & 0x3f] :
		    '=';
		*q++ = i + 2 < len ? (uint8_t)b64_alphabet[v & 0x3f] : '=';
		if ((col += 4) == ARMOR_COLS) {
			*q++ = '\n';
			col = 0;
		}
	}
	if (col != 0)
		*q++ = '\n';
	out->len = (size_t)(q - out->p);
	out->p[out->len] = '\0';
	if (!(flags & PGP_ARMOR_NO_CRC)) {
		crc24_b64(crc, pgp_crc24(p, len));
		if ((r = buf_addf(out, "=%s\n", crc)) != 0)
			goto cleanup;
	}
	r = buf_addf(out, "%s%s%s\n", ARMOR_END, label, ARMOR_DASHES);
 cleanup:
	if (r != 0)
		buf_setlen(out, start);
	return r;
}
