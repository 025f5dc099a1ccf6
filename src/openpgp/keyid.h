/*
 * keyid.h: the fingerprints and key IDs a user names, on the command line
 * or in a list file, read by one parser.
 *
 * The text of one key is hex digits, with or without a leading "0x" or
 * "0X", in either case, with any spaces and tabs (GnuPG prints
 * fingerprints in groups of four).  How many digits it has says what it
 * is: 16 a long key ID, 32 a v3 fingerprint, 40 a v4 fingerprint, 64 a
 * v5 or v6 fingerprint; the caller says which of these it takes.
 *
 * A list file holds one key a line; "#" starts a comment that runs to the
 * end of the line, blank lines and carriage returns are ignored.  Errors
 * name the file and the line.
 *
 * Pure code: the list reader reads only the FILE it is given.
 */
#ifndef PGPSYNC_OPENPGP_KEYID_H
#define PGPSYNC_OPENPGP_KEYID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "openpgp/openpgp.h"
#include "util/err.h"

/* What a caller takes: an OR of these. */
enum pgp_keyid_kinds {
	PGP_KEYID_LONG = 1 << 0,	/* 16 hex digits: a 64-bit key ID */
	PGP_KEYID_V3 = 1 << 1,		/* 32: a v3 fingerprint */
	PGP_KEYID_V4 = 1 << 2,		/* 40: a v4 fingerprint */
	PGP_KEYID_V6 = 1 << 3		/* 64: a v5 or v6 fingerprint */
};

/* The fingerprints keyservers look keys up by. */
#define PGP_KEYID_FPR	(PGP_KEYID_V4 | PGP_KEYID_V6)

/* One key as named: len 8 is a key ID, 16, 20 or 32 a fingerprint. */
struct pgp_keyid {
	uint8_t		 len;
	uint8_t		 b[PGP_FPR_MAX];
};

/* Room for pgp_keyid_describe()'s text. */
#define PGP_KEYID_DESCRIBE_MAX	96

/*
 * Parses s[0..len) (which need not be NUL-terminated; a NUL in it is not
 * a hex digit) into *out.  Returns 0, or PGPS_EFORMAT when it is not hex
 * digits or has a number of them that kinds does not take; *out is
 * written only on success.
 */
int pgp_keyid_parse(struct pgp_keyid *out, const char *s, size_t len,
    unsigned int kinds);

/* Whether k is a fingerprint (not a key ID). */
bool pgp_keyid_is_fpr(const struct pgp_keyid *k);

/* Writes k as upper-case hex and a NUL (2*k->len+1 bytes). */
void pgp_keyid_hex(char *out, const struct pgp_keyid *k);

/*
 * What kinds takes, in words for a message: "a fingerprint (40 or 64 hex
 * digits)", "a fingerprint (40 or 64 hex digits) or a long key ID (16)".
 * Written to tmp, which is returned.
 */
const char *pgp_keyid_describe(char tmp[PGP_KEYID_DESCRIBE_MAX],
    unsigned int kinds);

/*
 * Orders two struct pgp_keyid by length, then bytes: for qsort(3) and
 * bsearch(3).
 */
int pgp_keyid_cmp(const void *a, const void *b);

/* A list of keys; the caller owns v. */
struct pgp_keyid_list {
	struct pgp_keyid *v;
	size_t		 n;
	size_t		 alloc;
};

#define PGP_KEYID_LIST_INIT	{ NULL, 0, 0 }

/*
 * Reads fp to its end, one key a line (see above), and appends what it
 * holds to l.  name is the file's name for messages ("'keys.txt' line 3:
 * not a fingerprint (40 or 64 hex digits)").  Returns 0, PGPS_EFORMAT
 * for a line that is not a key kinds takes, PGPS_EIO when fp cannot be
 * read, or PGPS_ENOMEM; on failure l holds the keys of the lines before.
 * Memory is bounded by the number of keys read (a long line is refused
 * as it is read, not stored).
 */
int pgp_keyid_list_read(struct pgp_keyid_list *l, FILE *fp,
    const char *name, unsigned int kinds, struct pgps_err *err);

/* Sorts l with pgp_keyid_cmp() and drops repeats, for _has(). */
void pgp_keyid_list_sort(struct pgp_keyid_list *l);

/*
 * Whether the sorted l holds the fingerprint or key ID p[0..len) (len 8,
 * 16, 20 or 32).
 */
bool pgp_keyid_list_has(const struct pgp_keyid_list *l, const uint8_t *p,
    size_t len);

/* Frees what l holds and empties it. */
void pgp_keyid_list_release(struct pgp_keyid_list *l);

#endif
