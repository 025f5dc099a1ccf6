/*
 * test-openpgp-armor.c: ASCII armor decoding and encoding, CRC-24.
 *
 * The reference vector is a real gpg 2.2.40 export (the revoked Ed25519
 * test certificate, tests/data/keys/revoked-ed25519.asc): decoding it must
 * give the certificate whose fingerprint is known, and encoding that must
 * give gpg's text back byte for byte.  The rest covers the input shapes
 * keyservers produce and the failures a user must be told about precisely.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/hex.h"
#include "tap.h"

static const char vector[] =
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"
    "\n"
    "mDMEawQnBxYJKwYBBAHaRw8BAQdAiI/RC6LQP85pV9wEWmiki5qzFxzbTXmnbp4F\n"
    "GwglRJWIeAQgFggAIBYhBI9gRjhnbcjutrF2/RuhexHW/SrLBQJrBCcHAh0AAAoJ\n"
    "EBuhexHW/SrLFj0BAM3mn+BIrYEWv50rFAhHrORFO9mwzT9n9tgzqu1y6SAPAQD5\n"
    "e4afdse1j/1V1QSitQPqiBb3jnHIhHZPW0G5KmaUDLQcVGVzdCBVc2VyIDx0ZXN0\n"
    "QGV4YW1wbGUub3JnPoiQBBMWCAA4FiEEj2BGOGdtyO62sXb9G6F7Edb9KssFAmsE\n"
    "JwcCGwMFCwkIBwIGFQoJCAsCBBYCAwECHgECF4AACgkQG6F7Edb9KsvdCAEA+6z3\n"
    "H4iceGa2xB9noBf6x9lbW2ZTIFb8ccwNHThxKO4A/3ulcuE/hLXJItgXIBHPRK0g\n"
    "HPUiYefvrHYGqKqFtacFuDgEawQnBxIKKwYBBAGXVQEFAQEHQC063tIlL3+HgI9C\n"
    "voEMIiwXyMBCQq4AzkeTxPhPFJsNAwEIB4h4BBgWCAAgFiEEj2BGOGdtyO62sXb9\n"
    "G6F7Edb9KssFAmsEJwcCGwwACgkQG6F7Edb9KsvQxwD9HfDOr8WJP9FUKf2/zYKB\n"
    "1F9Rcj/+cM/gWaPG5DZLtT0BAPGoHSsl9KTDKR6xQRgZNTLor9lwkQUSayBrFvUB\n"
    "KzgP\n"
    "=ZFLv\n"
    "-----END PGP PUBLIC KEY BLOCK-----\n";

#define VECTOR_LEN	531
#define VECTOR_CRC	0x6452efu	/* "ZFLv" */
#define VECTOR_FPR	"8F604638676DC8EEB6B176FD1BA17B11D6FD2ACB"

/* The binary certificate, filled by test_vector(). */
static uint8_t cert[VECTOR_LEN];

/* Replaces the first occurrence of from by to in src, into a new buffer. */
static void
subst(struct buf *out, const char *src, const char *from, const char *to)
{
	const char *at = strstr(src, from);

	buf_reset(out);
	if (at == NULL) {
		buf_addstr(out, src);
		return;
	}
	buf_add(out, src, (size_t)(at - src));
	buf_addstr(out, to);
	buf_addstr(out, at + strlen(from));
}

/* Decodes a C string; returns the code and leaves the result in out. */
static int
decode_str(struct buf *out, const char *s, unsigned int flags,
    struct pgps_err *err)
{
	buf_reset(out);
	pgps_err_clear(err);
	return pgp_armor_decode(out, (const uint8_t *)s, strlen(s), flags,
	    err);
}

static bool
decodes_to_cert(const char *s, unsigned int flags)
{
	struct buf out = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	bool good;

	good = decode_str(&out, s, flags, &err) == 0 &&
	    out.len == VECTOR_LEN && memcmp(out.p, cert, VECTOR_LEN) == 0;
	if (!good)
		diag("decode: %s (got %zu bytes)", err.msg, out.len);
	buf_release(&out);
	return good;
}

/*
 * Checks that p[0..len) fails with PGPS_EFORMAT and a message containing
 * want, leaving out as it was.
 */
static void
fails_mem(const void *p, size_t len, unsigned int flags, const char *want,
    const char *what)
{
	struct buf out = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	int r;

	buf_addstr(&out, "kept");
	r = pgp_armor_decode(&out, p, len, flags, &err);
	ok(r == PGPS_EFORMAT && err.code == PGPS_EFORMAT &&
	    strstr(err.msg, want) != NULL && out.len == 4 &&
	    memcmp(out.p, "kept", 5) == 0, "%s", what);
	if (r != PGPS_EFORMAT || strstr(err.msg, want) == NULL)
		diag("code %d, message '%s', want '%s'", r, err.msg, want);
	buf_release(&out);
}

static void
fails_with(const char *s, unsigned int flags, const char *want,
    const char *what)
{
	fails_mem(s, strlen(s), flags, want, what);
}

/* RFC 9580 6.1.1 bit by bit, as the reference for the table version. */
static uint32_t
crc24_bitwise(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xb704ce;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint32_t)p[i] << 16;
		for (int b = 0; b < 8; b++) {
			crc <<= 1;
			if (crc & 0x1000000)
				crc ^= 0x1864cfb;
		}
	}
	return crc & 0xffffff;
}

static uint32_t rng_state = 0x2545f491;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void
test_crc24(void)
{
	uint8_t data[1000];
	bool same = true;

	is_int(pgp_crc24(NULL, 0), 0xb704ce, "CRC-24 of nothing is the init");
	is_int(pgp_crc24((const uint8_t *)"123456789", 9), 0x21cf02,
	    "CRC-24 check value of \"123456789\"");
	is_int(pgp_crc24((const uint8_t *)"a", 1), 0xf25713, "CRC-24 of \"a\"");
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rng();
	for (size_t n = 0; n <= sizeof(data); n += 37)
		if (pgp_crc24(data, n) != crc24_bitwise(data, n))
			same = false;
	ok(same, "table CRC-24 equals the bit-by-bit definition");
}

static void
test_vector(void)
{
	struct buf out = BUF_INIT, enc = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t md[DIGEST_MAX], pre[3 + 51];
	char hex[41];

	is_int(decode_str(&out, vector, 0, &err), 0, "gpg vector decodes");
	is_int(out.len, VECTOR_LEN, "to 531 bytes");
	if (out.len == VECTOR_LEN)
		memcpy(cert, out.p, VECTOR_LEN);
	is_int(pgp_crc24(cert, VECTOR_LEN), VECTOR_CRC,
	    "whose CRC-24 is =ZFLv");
	/* The v4 fingerprint: SHA-1 of 0x99, be16 length, key packet body. */
	ok(cert[0] == 0x98 && cert[1] == 51, "it starts with a 51-byte key");
	pre[0] = 0x99;
	pre[1] = 0;
	pre[2] = 51;
	memcpy(pre + 3, cert + 2, 51);
	digest_once(DIGEST_SHA1, pre, sizeof(pre), md);
	hex_encode_upper(hex, md, 20);
	is_str(hex, VECTOR_FPR, "primary key fingerprint");

	is_int(pgp_armor_encode(&enc, cert, VECTOR_LEN, PGP_ARMOR_PUBLIC_KEY,
	    0), 0, "re-encode");
	is_int(enc.len, strlen(vector), "same length as gpg's armor");
	ok(enc.len == strlen(vector) && memcmp(enc.p, vector, enc.len) == 0,
	    "byte-identical to gpg --armor --export");
	ok(enc.p[enc.len] == '\0', "output stays NUL-terminated");

	ok(pgp_armor_detect((const uint8_t *)vector, strlen(vector)),
	    "detect armor");
	ok(pgp_armor_detect((const uint8_t *)" \r\n\t\n-----BEGIN PGP X", 20),
	    "detect armor after white space");
	ok(!pgp_armor_detect(cert, VECTOR_LEN), "binary is not armor");
	ok(!pgp_armor_detect((const uint8_t *)"-----BEGIN PGP", 14),
	    "a cut marker is not armor");
	ok(!pgp_armor_detect((const uint8_t *)"", 0), "empty is not armor");
	buf_release(&out);
	buf_release(&enc);
}

static void
test_round_trips(void)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT, nocrc = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t data[300];
	size_t bad = 0, badfmt = 0, badnocrc = 0;

	for (size_t n = 0; n <= sizeof(data); n++) {
		const char *line;
		size_t maxcol = 0;

		for (size_t i = 0; i < n; i++)
			data[i] = (uint8_t)rng();
		buf_reset(&enc);
		buf_reset(&nocrc);
		if (pgp_armor_encode(&enc, data, n, PGP_ARMOR_PUBLIC_KEY,
		    0) != 0 || pgp_armor_encode(&nocrc, data, n,
		    PGP_ARMOR_PUBLIC_KEY, PGP_ARMOR_NO_CRC) != 0) {
			bad++;
			continue;
		}
		if (decode_str(&dec, (const char *)enc.p, 0, &err) != 0 ||
		    dec.len != n || memcmp(dec.p, data, n) != 0) {
			diag("length %zu: %s", n, err.msg);
			bad++;
		}
		if (decode_str(&dec, (const char *)nocrc.p, 0, &err) != 0 ||
		    dec.len != n || memcmp(dec.p, data, n) != 0 ||
		    strstr((char *)nocrc.p, "\n=") != NULL)
			badnocrc++;
		/* Lines of at most 64 columns; the CRC line only with CRC. */
		for (line = (char *)enc.p; *line != '\0';
		    line = strchr(line, '\n') + 1) {
			size_t l = (size_t)(strchr(line, '\n') - line);

			if (l > maxcol)
				maxcol = l;
		}
		if (maxcol > 64 || enc.p[enc.len - 1] != '\n' ||
		    strstr((char *)enc.p, "\n\n") !=
		    strstr((char *)enc.p, "-----\n\n") + 5)
			badfmt++;
	}
	is_int(bad, 0, "random lengths 0..300 round-trip with CRC");
	is_int(badnocrc, 0, "and without CRC (no checksum line written)");
	is_int(badfmt, 0, "64-column lines, one blank line, LF ends");

	buf_reset(&enc);
	pgp_armor_encode(&enc, (const uint8_t *)"\x88", 1, PGP_ARMOR_SIGNATURE,
	    0);
	is_str((char *)enc.p, "-----BEGIN PGP SIGNATURE-----\n\niA==\n=869O\n"
	    "-----END PGP SIGNATURE-----\n", "signature block, 1 byte");
	buf_reset(&enc);
	pgp_armor_encode(&enc, NULL, 0, PGP_ARMOR_MESSAGE, 0);
	is_str((char *)enc.p, "-----BEGIN PGP MESSAGE-----\n\n=twTO\n"
	    "-----END PGP MESSAGE-----\n", "empty message block");
	is_int(decode_str(&dec, (char *)enc.p, 0, &err), 0,
	    "an empty block decodes");
	is_int(dec.len, 0, "to nothing");

	/* encode appends and leaves out alone when it cannot. */
	buf_reset(&enc);
	buf_addstr(&enc, "x");
	enc.max = 100;
	is_int(pgp_armor_encode(&enc, cert, VECTOR_LEN, PGP_ARMOR_PUBLIC_KEY,
	    0), PGPS_ELIMIT, "encode respects buf max");
	is_str((char *)enc.p, "x", "and leaves the buffer as it was");
	buf_release(&enc);
	buf_release(&dec);
	buf_release(&nocrc);
}

static void
test_tolerated(void)
{
	struct buf s = BUF_INIT, t = BUF_INIT, out = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	const char *p;

	/* CRLF everywhere, then the trailing CRLF SKS appends to bodies. */
	for (p = vector; *p != '\0'; p++) {
		if (*p == '\n')
			buf_addch(&s, '\r');
		buf_addch(&s, (uint8_t)*p);
	}
	buf_addstr(&s, "\r\n");
	ok(decodes_to_cert((char *)s.p, 0), "CRLF line ends");

	/* An SKS-style HTML page (op=get without options=mr). */
	buf_reset(&s);
	buf_addstr(&s, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	    "<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n"
	    "<head>\r\n<title>Public Key Server -- Get \"0x8f60\"</title>"
	    "\r\n</head><body><h1>Public Key Server -- Get</h1>\r\n"
	    "<pre>\r\n");
	buf_addstr(&s, vector);
	buf_setlen(&s, s.len - 1);
	buf_addstr(&s, "\r\n</pre>\r\n</body></html>\r\n");
	ok(decodes_to_cert((char *)s.p, 0), "armor inside an HTML page");
	subst(&t, (char *)s.p, "<pre>\r\n-----BEGIN",
	    "<pre>-----BEGIN");
	subst(&s, (char *)t.p, "BLOCK-----\r\n</pre>", "BLOCK-----</pre>");
	ok(decodes_to_cert((char *)s.p, 0),
	    "markers on the same line as <pre> and </pre>");

	subst(&s, vector, "-----\n\n",
	    "-----\nVersion: GnuPG v2\nComment: https://example.org/x\n\n");
	ok(decodes_to_cert((char *)s.p, 0), "armor headers are skipped");
	subst(&s, vector, "-----\n\n", "-----\n");
	ok(decodes_to_cert((char *)s.p, 0), "a missing blank line is accepted");
	subst(&s, vector, "-----\n\nmDMEawQnBxYJ",
	    "-----\n\n  mDME awQn\tBxYJ  \n\n");
	subst(&t, (char *)s.p, "KzgP\n", " K z g P \n");
	ok(decodes_to_cert((char *)t.p, 0), "white space inside base64");
	subst(&s, vector, "=ZFLv\n", "");
	ok(decodes_to_cert((char *)s.p, 0), "a missing CRC line is accepted");
	subst(&s, vector, "=ZFLv\n", "=ZFLv\n\n");
	ok(decodes_to_cert((char *)s.p, 0), "blank line after the CRC line");
	buf_reset(&s);
	buf_addstr(&s, "\xef\xbb\xbf");
	buf_addstr(&s, vector);
	ok(decodes_to_cert((char *)s.p, 0), "a UTF-8 BOM before the armor");
	buf_reset(&s);
	buf_add(&s, vector, strlen(vector) - 1);
	ok(decodes_to_cert((char *)s.p, 0), "no line end after the END line");

	/* A clear-signed text is skipped; its signature block is decoded. */
	buf_reset(&s);
	buf_addstr(&s, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
	    "- -----BEGIN PGP PUBLIC KEY BLOCK-----\nhello\n");
	buf_addstr(&s, "-----BEGIN PGP SIGNATURE-----\n\niA==\n=869O\n"
	    "-----END PGP SIGNATURE-----\n");
	is_int(decode_str(&out, (char *)s.p, 0, &err), 0,
	    "clear-signed text skipped");
	ok(out.len == 1 && out.p[0] == 0x88, "signature block decoded");

	/* Several blocks: all are appended, in order, after out's bytes. */
	buf_reset(&s);
	buf_addstr(&s, "first:\n");
	buf_addstr(&s, vector);
	buf_addstr(&s, "\nsecond:\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
	    "AQID\n-----END PGP PUBLIC KEY BLOCK-----\ntrailer\n");
	buf_reset(&out);
	buf_addstr(&out, "ab");
	pgps_err_clear(&err);
	is_int(pgp_armor_decode(&out, s.p, s.len, 0, &err), 0, "two blocks");
	ok(out.len == 2 + VECTOR_LEN + 3 && memcmp(out.p, "ab", 2) == 0 &&
	    memcmp(out.p + 2, cert, VECTOR_LEN) == 0 &&
	    memcmp(out.p + 2 + VECTOR_LEN, "\1\2\3", 3) == 0,
	    "both appended after what out held");

	/* Bounded: max is honoured exactly. */
	buf_release(&out);
	out.max = VECTOR_LEN;
	pgps_err_clear(&err);
	is_int(pgp_armor_decode(&out, (const uint8_t *)vector, strlen(vector),
	    0, &err), 0, "decodes into a buffer of exactly 531 bytes max");
	buf_release(&out);
	out.max = VECTOR_LEN - 1;
	pgps_err_clear(&err);
	is_int(pgp_armor_decode(&out, (const uint8_t *)vector, strlen(vector),
	    0, &err), PGPS_ELIMIT, "but not 530");
	ok(out.len == 0 && strstr(err.msg, "limit of 530 bytes") != NULL,
	    "limit error: %s", err.msg);
	buf_release(&out);
	buf_release(&s);
	buf_release(&t);
}


/*
 * Runs pgp_armor_next() over s, handing it at most step more bytes each
 * time (0: all at once), and writes "B" per block, "E" per damaged block,
 * "C" per block whose checksum did not match, to trace.
 */
static void
blocks_of(const char *s, size_t step, char *trace, size_t max,
    struct buf *out)
{
	struct pgp_armor_state st = PGP_ARMOR_STATE_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	size_t len = strlen(s), pos = 0, have = 0, used, k = 0;
	bool eof;
	int r;

	buf_reset(out);
	for (;;) {
		have = step == 0 || len - pos < step ? len : have + step;
		if (have > len)
			have = len;
		eof = have == len;
		r = pgp_armor_next(&st, out, (const uint8_t *)s + pos,
		    have - pos, eof, PGP_ARMOR_IGNORE_CRC, &used, &err);
		if (used > have - pos || st.offset != pos + used) {
			snprintf(trace, max, "bad position");
			return;
		}
		pos += used;
		if (r == 0 && eof)
			break;
		if (r != 0 && k + 2 < max)
			trace[k++] = r < 0 ? 'E' : st.crc_mismatch ? 'C' : 'B';
		pgps_err_clear(&err);
	}
	trace[k] = '\0';
}

static void
test_blocks(void)
{
	struct buf s = BUF_INIT, t = BUF_INIT, out = BUF_INIT, ref = BUF_INIT;
	struct pgp_armor_state st = PGP_ARMOR_STATE_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	static const size_t steps[] = { 0, 1, 7, 64, 100 };
	char trace[32];
	size_t used;
	bool same = true;

	buf_addstr(&s, "Subject: keys\n\n<pre>");
	buf_addstr(&s, vector);
	subst(&t, vector, "EBuhexHW", "EBuh*xHW");
	buf_add(&s, t.p, t.len);
	subst(&t, vector, "-----END PGP PUBLIC KEY BLOCK-----\n", "");
	buf_add(&s, t.p, t.len);
	subst(&t, vector, "=ZFLv", "=ZFLw");
	buf_add(&s, t.p, t.len);
	buf_addstr(&s, vector);
	buf_addstr(&s, "</pre>\n-- \nsignature\n");
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(steps); i++) {
		blocks_of((char *)s.p, steps[i], trace, sizeof(trace), &out);
		if (i == 0) {
			is_str(trace, "BEECB", "damaged blocks among good ones: "
			    "each reported, the good ones decoded");
			ok(out.len == 3 * VECTOR_LEN &&
			    memcmp(out.p, cert, VECTOR_LEN) == 0 &&
			    memcmp(out.p + 2 * VECTOR_LEN, cert,
			    VECTOR_LEN) == 0, "to the three good blocks");
			buf_add(&ref, out.p, out.len);
		} else if (strcmp(trace, "BEECB") != 0 || out.len != ref.len ||
		    memcmp(out.p, ref.p, ref.len) != 0) {
			diag("in steps of %zu: %s", steps[i], trace);
			same = false;
		}
	}
	ok(same, "the same when the input arrives in pieces");

	/* What the errors say. */
	is_int(pgp_armor_next(&st, &out, s.p, s.len, true, 0, &used, &err),
	    1, "first block");
	is_int(pgp_armor_next(&st, &out, s.p + st.offset, s.len - st.offset,
	    true, 0, &used, &err), PGPS_EFORMAT, "second block damaged");
	ok(strstr(err.msg, "armor block at line 19 (offset 819) skipped: "
	    "line 23, column 5: invalid character '*'") != NULL, "%s",
	    err.msg);
	ok(st.block_line == 19 && st.block_offset == 819 && st.line == 23,
	    "state after it");
	pgps_err_clear(&err);
	is_int(pgp_armor_next(&st, &out, s.p + st.offset, s.len - st.offset,
	    true, 0, &used, &err), PGPS_EFORMAT, "third block damaged");
	ok(strstr(err.msg, "armor block at line 35 (offset 1618) "
	    "skipped: line 50: BEGIN line inside the block") != NULL,
	    "%s", err.msg);
	pgps_err_clear(&err);
	is_int(pgp_armor_next(&st, &out, s.p + st.offset, s.len - st.offset,
	    true, 0, &used, &err), PGPS_EFORMAT,
	    "without PGP_ARMOR_IGNORE_CRC a wrong checksum is damage");
	ok(strstr(err.msg, "line 64: armor checksum =ZFLw does not match")
	    != NULL, "%s", err.msg);

	/* Text alone: consumed up to its last whole line. */
	memset(&st, 0, sizeof(st));
	is_int(pgp_armor_next(&st, &out, (const uint8_t *)"a\nb\nc", 5,
	    false, 0, &used, &err), 0, "text: more needed");
	ok(used == 4 && st.line == 2, "two lines consumed");

	ok(pgp_armor_find((const uint8_t *)"<html>\n<pre>-----BEGIN PGP "
	    "PUBLIC", 32), "armor after HTML is found");
	ok(pgp_armor_find((const uint8_t *)"\xef\xbb\xbf-----BEGIN PGP ", 18),
	    "after a byte order mark");
	ok(!pgp_armor_find(cert, VECTOR_LEN), "binary has none");
	ok(!pgp_armor_find((const uint8_t *)"text -----BEGIN PGP", 19),
	    "a cut marker is none");
	buf_release(&s);
	buf_release(&t);
	buf_release(&out);
	buf_release(&ref);
}

static void
test_rejected(void)
{
	struct buf s = BUF_INIT, t = BUF_INIT;

	subst(&s, vector, "=ZFLv", "=ZFLw");
	fails_with((char *)s.p, 0,
	    "line 15: armor checksum =ZFLw does not match the data (=ZFLv)",
	    "a wrong CRC is rejected, naming its line");
	ok(decodes_to_cert((char *)s.p, PGP_ARMOR_IGNORE_CRC),
	    "but accepted with PGP_ARMOR_IGNORE_CRC");
	subst(&s, vector, "=ZFLv", "=Z*Lv");
	fails_with((char *)s.p, 0, "line 15: malformed armor checksum",
	    "a malformed CRC line is rejected");
	ok(decodes_to_cert((char *)s.p, PGP_ARMOR_IGNORE_CRC),
	    "but accepted with PGP_ARMOR_IGNORE_CRC");
	/* A corrupted data character is caught by the CRC. */
	subst(&s, vector, "KzgP", "KzgQ");
	fails_with((char *)s.p, 0, "does not match", "a flipped bit is caught");

	subst(&s, vector, "EBuhexHW", "EBuh*xHW");
	fails_with((char *)s.p, 0,
	    "line 5, column 5: invalid character '*' in base64 data",
	    "garbled base64 names line and column");
	subst(&s, vector, "EBuhexHW", "EBuh\xc3\xa9xHW");
	fails_with((char *)s.p, 0, "line 5, column 5: invalid character 0xc3",
	    "a non-ASCII byte is shown in hex");
	subst(&s, vector, "-----\n\n", "-----\nVersion 2.0\n\n");
	fails_with((char *)s.p, 0, "line 2, column 10: invalid character '.'",
	    "text that is neither header nor base64");
	subst(&s, vector, "KzgP\n=ZFLv\n", "Kzg\n");
	fails_with((char *)s.p, 0, "line 15: base64 data ends inside a group",
	    "a truncated final group");
	subst(&s, vector, "KzgP\n", "Kz==\nAAAA\n");
	fails_with((char *)s.p, PGP_ARMOR_IGNORE_CRC,
	    "line 15, column 1: base64 data after '=' padding",
	    "data after padding");
	subst(&s, vector, "KzgP\n", "K===\n");
	fails_with((char *)s.p, PGP_ARMOR_IGNORE_CRC,
	    "line 14, column 2: misplaced '='", "misplaced padding");

	/* Cut in the middle of the base64: no END line. */
	buf_reset(&s);
	buf_add(&s, vector, 400);
	fails_with((char *)s.p, 0, "armor block at line 1 (offset 0) "
	    "skipped: line 8: no END line", "truncated armor");
	subst(&s, vector, "-----END PGP PUBLIC KEY BLOCK-----\n", "");
	subst(&t, (char *)s.p, "", "");
	buf_addstr(&t, vector);
	fails_with((char *)t.p, 0, "armor block at line 1 (offset 0) "
	    "skipped: line 16: BEGIN line inside the block", "a block without END before the next one");
	subst(&s, vector, "-----END PGP PUBLIC KEY",
	    "-----END PGP PRIVATE KEY");
	fails_with((char *)s.p, 0,
	    "line 16: END line does not match the BEGIN line 1",
	    "mismatched END label");
	subst(&s, vector, "=ZFLv\n", "=ZFLv\nmore\n");
	fails_with((char *)s.p, 0, "line 16: text after the armor checksum "
	    "line 15", "text between CRC and END");

	fails_with("", 0, "no armor block found", "empty input");
	fails_with("hello\nworld\n", 0,
	    "no armor block found (no \"-----BEGIN PGP ...-----\" line in 2 "
	    "lines)", "text without a block");
	fails_with("-----BEGIN PGP PUBLIC KEY BLOCK\nAQID\n", 0,
	    "no armor block found", "a BEGIN line without its dashes");
	fails_mem(cert, VECTOR_LEN, 0, "no armor block", "binary input");
	buf_release(&s);
	buf_release(&t);
}

int
main(void)
{
	test_crc24();
	test_vector();
	test_round_trips();
	test_tolerated();
	test_rejected();
	test_blocks();
	return done_testing();
}
