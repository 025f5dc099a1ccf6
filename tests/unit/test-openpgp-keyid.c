/*
 * test-openpgp-keyid.c: the one parser of the fingerprints and key IDs a
 * user names (openpgp/keyid.h), on arguments and on list files, good and
 * hostile: wrong lengths, non-hex, NUL, endless lines, CRLF, comments.
 */
#include "util/common.h"

#include "openpgp/keyid.h"
#include "tap.h"
#include "util/buf.h"

#define V4	"1BA17B11D6FD2ACB4C6C5F1E2F3A4B5C6D7E8F90"
#define V6	"0123456789ABCDEF0123456789ABCDEF" \
		"FEDCBA9876543210FEDCBA9876543210"
#define ALL	(PGP_KEYID_LONG | PGP_KEYID_V3 | PGP_KEYID_FPR)

static const char *
parse_hex(const char *s, size_t len, unsigned int kinds)
{
	static char out[2 * PGP_FPR_MAX + 1];
	struct pgp_keyid k;

	memset(&k, 0xAA, sizeof(k));
	if (pgp_keyid_parse(&k, s, len, kinds) != 0)
		return "(refused)";
	pgp_keyid_hex(out, &k);
	return out;
}

#define P(s, kinds)	parse_hex((s), strlen(s), (kinds))

static void
test_parse(void)
{
	struct pgp_keyid k, before;

	is_str(P(V4, PGP_KEYID_FPR), V4, "v4 fingerprint");
	is_str(P("0x" V4, PGP_KEYID_FPR), V4, "0x prefix");
	is_str(P("0X" V4, PGP_KEYID_FPR), V4, "0X prefix");
	is_str(P("1ba17b11d6fd2acb4c6c5f1e2f3a4b5c6d7e8f90", PGP_KEYID_FPR),
	    V4, "lower case");
	is_str(P("1BA1 7B11 D6FD 2ACB 4C6C  5F1E 2F3A 4B5C 6D7E 8F90",
	    PGP_KEYID_FPR), V4, "GnuPG's groups of four");
	is_str(P(" \t0x1BA17B11D6FD2ACB4C6C5F1E2F3A4B5C6D7E8F90\t ",
	    PGP_KEYID_FPR), V4, "blanks around, tabs");
	is_str(P(V6, PGP_KEYID_FPR), V6, "v6 fingerprint");
	is_str(P("0x1BA17B11D6FD2ACB", PGP_KEYID_LONG), "1BA17B11D6FD2ACB",
	    "long key ID");
	is_str(P("0x1BA17B11D6FD2ACB", PGP_KEYID_FPR), "(refused)",
	    "key ID where only fingerprints are taken");
	is_str(P("0123456789ABCDEF0123456789ABCDEF", PGP_KEYID_V3),
	    "0123456789ABCDEF0123456789ABCDEF", "v3 fingerprint");
	is_str(P("0123456789ABCDEF0123456789ABCDEF", PGP_KEYID_FPR |
	    PGP_KEYID_LONG), "(refused)", "v3 where it is not taken");
	is_str(P(V6, PGP_KEYID_V4 | PGP_KEYID_LONG), "(refused)",
	    "v6 where only v4 is taken");
	is_str(P("1BA17B11D6FD2AC", ALL), "(refused)", "15 digits");
	is_str(P(V4 "0", ALL), "(refused)", "41 digits");
	is_str(P(V6 "00", ALL), "(refused)", "66 digits");
	is_str(P(V6 V6 V6, ALL), "(refused)", "192 digits");
	is_str(P("1BA17B11D6FD2ACG", ALL), "(refused)", "a G");
	is_str(P("1BA17B11-D6FD2ACB", ALL), "(refused)", "a dash");
	is_str(P("", ALL), "(refused)", "empty");
	is_str(P("0x", ALL), "(refused)", "0x alone");
	is_str(P("0x0x1BA17B11D6FD2ACB", ALL), "(refused)", "0x twice");
	is_str(P("1BA17B110x1BA17B11", ALL), "(refused)", "0x inside");
	is_str(P("user@example.org", ALL), "(refused)", "an address");
	is_str(parse_hex("1BA17B11\0D6FD2ACB", 17, ALL), "(refused)",
	    "a NUL inside");
	is_str(parse_hex("1BA17B11D6FD2ACB trailing", 16, ALL),
	    "1BA17B11D6FD2ACB", "only len octets are read");
	is_str(P("1BA17B11D6FD2ACB", 0), "(refused)", "no kind taken");

	memset(&k, 0x5A, sizeof(k));
	before = k;
	ok(pgp_keyid_parse(&k, "XYZ", 3, ALL) == PGPS_EFORMAT &&
	    memcmp(&k, &before, sizeof(k)) == 0,
	    "a refusal returns PGPS_EFORMAT and leaves *out alone");
	ok(pgp_keyid_parse(&k, V4, strlen(V4), ALL) == 0 &&
	    pgp_keyid_is_fpr(&k) && k.len == 20, "v4 is a fingerprint of 20");
	ok(pgp_keyid_parse(&k, "1BA17B11D6FD2ACB", 16, ALL) == 0 &&
	    !pgp_keyid_is_fpr(&k) && k.len == 8, "a key ID is not");
}

static void
test_describe(void)
{
	char tmp[PGP_KEYID_DESCRIBE_MAX];

	is_str(pgp_keyid_describe(tmp, PGP_KEYID_FPR),
	    "a fingerprint (40 or 64 hex digits)", "fingerprints");
	is_str(pgp_keyid_describe(tmp, PGP_KEYID_V3 | PGP_KEYID_FPR),
	    "a fingerprint (32, 40 or 64 hex digits)", "with v3");
	is_str(pgp_keyid_describe(tmp, PGP_KEYID_FPR | PGP_KEYID_LONG),
	    "a fingerprint (40 or 64 hex digits) or a long key ID (16)",
	    "with key IDs");
	is_str(pgp_keyid_describe(tmp, PGP_KEYID_V4),
	    "a fingerprint (40 hex digits)", "v4 alone");
	is_str(pgp_keyid_describe(tmp, PGP_KEYID_LONG),
	    "a long key ID (16 hex digits)", "key IDs alone");
	is_str(pgp_keyid_describe(tmp, ALL), "a fingerprint (32, 40 or 64 "
	    "hex digits) or a long key ID (16)", "everything");
}

/* Reads text[0..len) as a list file named "keys"; the keys as hex. */
static int
list(struct buf *out, const char *text, size_t len, unsigned int kinds,
    struct pgps_err *err)
{
	struct pgp_keyid_list l = PGP_KEYID_LIST_INIT;
	char hex[2 * PGP_FPR_MAX + 1];
	FILE *fp;
	int r;

	buf_reset(out);
	pgps_err_clear(err);
	if ((fp = fmemopen((void *)text, len, "r")) == NULL)
		return -1000;
	r = pgp_keyid_list_read(&l, fp, "keys", kinds, err);
	fclose(fp);
	for (size_t i = 0; i < l.n; i++) {
		pgp_keyid_hex(hex, &l.v[i]);
		buf_add(out, hex, strlen(hex));
		buf_addch(out, ' ');
	}
	pgp_keyid_list_release(&l);
	return r;
}

#define L(out, s, kinds, err)	list((out), (s), strlen(s), (kinds), (err))

static void
test_list(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_keyid_list l = PGP_KEYID_LIST_INIT;
	struct buf b, big;
	size_t n;
	FILE *fp;

	buf_init(&b, 0);
	buf_init(&big, 0);
	is_int(L(&b, "# my keys\n"
	    "\n"
	    "0x" V4 "  # laptop\r\n"
	    "   \t\n"
	    "1BA1 7B11 D6FD 2ACB  4C6C 5F1E 2F3A 4B5C 6D7E 8F90\n"
	    V6, PGP_KEYID_FPR, &err), 0, "a list with comments, CRLF, "
	    "groups and no newline at the end");
	is_str((char *)b.p, V4 " " V4 " " V6 " ", "its keys, in order");
	is_int(L(&b, "", PGP_KEYID_FPR, &err), 0, "an empty file");
	is_str((char *)b.p, "", "holds nothing");

	is_int(L(&b, V4 "\n# fine\n\n1BA17B11D6FD2ACB\n" V6 "\n",
	    PGP_KEYID_FPR, &err), PGPS_EFORMAT, "a key ID in a list of "
	    "fingerprints");
	is_str(err.msg, "'keys' line 4: not a fingerprint (40 or 64 hex "
	    "digits)", "the error names the file and the line");
	is_str((char *)b.p, V4 " ", "the lines before are kept");

	is_int(L(&b, V4 "\n" V4 "X\n", PGP_KEYID_FPR | PGP_KEYID_V3, &err),
	    PGPS_EFORMAT, "an X");
	is_str(err.msg, "'keys' line 2: not a fingerprint (32, 40 or 64 hex "
	    "digits)", "named");

	/* A line of a megabyte: refused as read, at its number. */
	buf_add(&big, V4 "\n", strlen(V4) + 1);
	for (n = 0; n < (1 << 20); n++)
		buf_addch(&big, 'A');
	buf_addch(&big, '\n');
	is_int(list(&b, (const char *)big.p, big.len, ALL, &err),
	    PGPS_EFORMAT, "a line of a megabyte");
	is_str(err.msg, "'keys' line 2: not a fingerprint (32, 40 or 64 hex "
	    "digits) or a long key ID (16)", "named at its line");

	/* A comment of a megabyte is a comment. */
	buf_reset(&big);
	buf_addch(&big, '#');
	for (n = 0; n < (1 << 20); n++)
		buf_addch(&big, 'x');
	buf_add(&big, "\n" V4 "\n", strlen(V4) + 2);
	is_int(list(&b, (const char *)big.p, big.len, ALL, &err), 0,
	    "a comment of a megabyte");
	is_str((char *)b.p, V4 " ", "and the key after it");

	is_int(list(&b, V4 "\n\0\n", strlen(V4) + 3, ALL, &err),
	    PGPS_EFORMAT, "a NUL on a line");
	is_str(err.msg, "'keys' line 2: not a fingerprint (32, 40 or 64 hex "
	    "digits) or a long key ID (16)", "named");
	is_int(L(&b, V4 "\n0x\n", ALL, &err), PGPS_EFORMAT, "0x alone");

	/* Sort, repeats, lookups. */
	fp = fmemopen((void *)(V6 "\n" V4 "\n1BA17B11D6FD2ACB\n" V6 "\n"),
	    strlen(V6) * 2 + strlen(V4) + 16 + 4, "r");
	ok(fp != NULL && pgp_keyid_list_read(&l, fp, "keys", ALL, &err) ==
	    0 && l.n == 4, "four keys read");
	if (fp != NULL)
		fclose(fp);
	if (err.code != 0)
		diag("%s", err.msg);
	pgp_keyid_list_sort(&l);
	ok(l.n == 3 && l.v[0].len == 8 && l.v[1].len == 20 &&
	    l.v[2].len == 32, "sorted by length, the repeat gone");
	ok(pgp_keyid_list_has(&l, l.v[1].b, 20), "has the v4");
	ok(pgp_keyid_list_has(&l, l.v[2].b, 32), "has the v6");
	ok(pgp_keyid_list_has(&l, l.v[0].b, 8), "has the key ID");
	ok(!pgp_keyid_list_has(&l, l.v[2].b, 20),
	    "not the v6's first 20 octets");
	ok(!pgp_keyid_list_has(&l, l.v[1].b, 200), "a length too long");
	pgp_keyid_list_release(&l);
	ok(l.v == NULL && l.n == 0, "released");
	ok(!pgp_keyid_list_has(&l, (const uint8_t *)"12345678", 8),
	    "an empty list has nothing");
	pgp_keyid_list_sort(&l);

	buf_release(&b);
	buf_release(&big);
}

int
main(void)
{
	test_parse();
	test_describe();
	test_list();
	return done_testing();
}
