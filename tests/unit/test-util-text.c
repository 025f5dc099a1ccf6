/*
 * test-util-text.c: the terminal and JSON sanitizers (util/text.h) on
 * hostile text: escape sequences, C1 controls sent as UTF-8, bidi
 * overrides, every kind of ill-formed UTF-8, and cuts in mid-character.
 */
#include "util/common.h"

#include "tap.h"
#include "util/buf.h"
#include "util/text.h"

static const char *
term(struct buf *b, const char *in, size_t len, size_t max)
{
	buf_reset(b);
	if (text_term(b, in, len, max) != 0)
		return "(error)";
	return (const char *)b->p;
}

static const char *
json(struct buf *b, const char *in, size_t len)
{
	buf_reset(b);
	if (text_json(b, in, len) != 0)
		return "(error)";
	return (const char *)b->p;
}

/* Whether p[0..len) is well-formed UTF-8 with no unsafe character. */
static bool
clean(const uint8_t *p, size_t len)
{
	uint32_t cp;
	size_t n;

	for (size_t i = 0; i < len; i += n)
		if ((n = text_utf8_next(p + i, len - i, &cp)) == 0 ||
		    text_is_unsafe(cp))
			return false;
	return true;
}

static void
test_decoder(void)
{
	static const struct {
		const char	*in;
		size_t		 n;	/* 0: ill-formed */
		uint32_t	 cp;
	} v[] = {
		{ "A", 1, 0x41 },
		{ "\xc2\x80", 2, 0x80 },
		{ "\xdf\xbf", 2, 0x7ff },
		{ "\xe0\xa0\x80", 3, 0x800 },
		{ "\xef\xbf\xbd", 3, 0xfffd },
		{ "\xf0\x90\x80\x80", 4, 0x10000 },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
		{ "\xc0\x80", 0, 0 },		/* overlong NUL */
		{ "\xc1\xbf", 0, 0 },		/* overlong */
		{ "\xe0\x80\xaf", 0, 0 },	/* overlong '/' */
		{ "\xf0\x80\x80\xaf", 0, 0 },	/* overlong '/' */
		{ "\xed\xa0\x80", 0, 0 },	/* surrogate U+D800 */
		{ "\xed\xbf\xbf", 0, 0 },	/* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", 0, 0 },	/* above U+10FFFF */
		{ "\xf5\x80\x80\x80", 0, 0 },
		{ "\xff", 0, 0 },
		{ "\x80", 0, 0 },		/* lone continuation */
		{ "\xc2", 0, 0 },		/* cut off */
		{ "\xe2\x82", 0, 0 },		/* cut off */
		{ "\xe2\x28\xa1", 0, 0 },	/* bad continuation */
	};
	uint32_t cp;

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(v); i++) {
		size_t len = strlen(v[i].in);
		size_t n = text_utf8_next((const uint8_t *)v[i].in, len, &cp);

		is_int(n, v[i].n, "decoder: case %zu has length %zu", i,
		    v[i].n);
		if (n != 0)
			is_int(cp, v[i].cp, "decoder: case %zu is U+%04X", i,
			    (unsigned)v[i].cp);
	}
}

static void
test_unsafe(void)
{
	static const uint32_t bad[] = { 0x00, 0x07, 0x09, 0x0a, 0x0d, 0x1b,
	    0x1f, 0x7f, 0x80, 0x85, 0x9b, 0x9d, 0x9f, 0x061c, 0x200e, 0x200f,
	    0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068,
	    0x2069 };
	static const uint32_t good[] = { 0x20, 0x41, 0x7e, 0xa0, 0xe9,
	    0x2029, 0x202f, 0x2065, 0x206a, 0x4e2d, 0xfffd, 0x1f600 };
	bool all = true;

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(bad); i++)
		if (!text_is_unsafe(bad[i])) {
			diag("U+%04X should be unsafe", (unsigned)bad[i]);
			all = false;
		}
	ok(all, "C0, DEL, C1 and bidi controls are unsafe");
	all = true;
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(good); i++)
		if (text_is_unsafe(good[i])) {
			diag("U+%04X should be safe", (unsigned)good[i]);
			all = false;
		}
	ok(all, "printable characters, accents, CJK and emoji are safe");
}

static void
test_term(void)
{
	struct buf b = BUF_INIT;
	char out[16];
	static const char hostile[] =
	    "\x1b]0;pwned\x07 \xc2\x9b" "2J \xc2\x9d" "8;;x \xe2\x80\xae"
	    "gpj.exe \xe2\x81\xa6 \t\n\r\xff\xed\xa0\x80 ok";

	buf_init(&b, 0);
	is_str(term(&b, "Alice <alice@example.org>", 25, 0),
	    "Alice <alice@example.org>", "plain ASCII is kept");
	is_str(term(&b, "J\xc3\xbcrgen \xe4\xb8\xad", 11, 0),
	    "J\xc3\xbcrgen \xe4\xb8\xad", "UTF-8 letters are kept");
	is_str(term(&b, hostile, sizeof(hostile) - 1, 0),
	    "?]0;pwned? ?2J ?8;;x ?gpj.exe ? ??????? ok",
	    "ESC, BEL, CSI, OSC, bidi, tab, newline, CR, ill-formed octets");
	ok(clean(b.p, b.len), "the result is clean UTF-8");
	is_str(term(&b, "a\0b", 3, 0), "a?b", "NUL is replaced, not an end");
	is_str(term(&b, "ab\xc3\xbc", 4, 3), "ab?",
	    "a character cut by max is replaced");
	is_str(term(&b, "abcdef", 6, 4), "abcd", "at most max octets");
	buf_release(&b);

	text_term_str(out, sizeof(out), "\x1b[2J\xc2\x9b\xe2\x80\xae\xff");
	is_str(out, "?[2J???", "text_term_str: the same rules");
	text_term_str(out, 5, "abc\xc3\xbc");
	is_str(out, "abc", "text_term_str: cut on a character boundary");
	text_term_str(out, 4, "\x01\x02\x03\x04\x05");
	is_str(out, "???", "text_term_str: replacements fit outlen");
	text_term_str(out, 1, "abc");
	is_str(out, "", "text_term_str: outlen 1 is the empty string");
}

static void
test_json(void)
{
	struct buf b = BUF_INIT;

	buf_init(&b, 0);
	is_str(json(&b, "J\xc3\xbcrgen", 7), "J\xc3\xbcrgen",
	    "json: well-formed UTF-8 is kept");
	is_str(json(&b, "\x1b[1m\xc2\x9b\xe2\x80\xae", 10),
	    "\x1b[1m\xc2\x9b\xe2\x80\xae",
	    "json: controls stay (the encoder escapes them)");
	is_str(json(&b, "a\xff" "b", 3), "a\xef\xbf\xbd" "b",
	    "json: an ill-formed octet becomes U+FFFD");
	is_str(json(&b, "\xed\xa0\x80", 3),
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	    "json: a surrogate is three ill-formed octets, three U+FFFD");
	is_str(json(&b, "x\xc3", 2), "x\xef\xbf\xbd",
	    "json: a character cut at the end becomes U+FFFD");
	json(&b, "a\0b", 3);
	ok(b.len == 3 && memcmp(b.p, "a\0b", 3) == 0,
	    "json: NUL is kept, for the encoder to escape");
	buf_release(&b);
}

static void
test_address(void)
{
	static const struct {
		const char	*uid;
		const char	*addr;	/* NULL: none */
	} v[] = {
		{ "Alice <alice@example.org>", "alice@example.org" },
		{ "alice@example.org", "alice@example.org" },
		{ "A <b> C <c@d.e>", "c@d.e" },
		{ "Alice <alice@example.org", NULL },
		{ "Alice", NULL },
		{ "Alice <>", NULL },
		{ "Alice <alice>", NULL },
		{ "Alice <a b@c.d>", NULL },
		{ "Alice <a\x1b@c.d>", NULL },
		{ "Alice Smith alice@example.org", NULL },
	};
	size_t off, n;
	char got[64];

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(v); i++) {
		const uint8_t *p = (const uint8_t *)v[i].uid;
		bool has = text_uid_address(p, strlen(v[i].uid), &off, &n);

		if (v[i].addr == NULL) {
			ok(!has, "address: none in '%s'", v[i].uid);
			continue;
		}
		snprintf(got, sizeof(got), "%.*s", has ? (int)n : 0,
		    has ? v[i].uid + off : "");
		is_str(got, v[i].addr, "address: of '%s'", v[i].uid);
	}
}

int
main(void)
{
	test_decoder();
	test_unsafe();
	test_term();
	test_json();
	test_address();
	return done_testing();
}
