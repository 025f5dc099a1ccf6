/*
 * fuzz-armor.c: the ASCII armor decoder on arbitrary bytes.
 *
 * Whatever the input, decoding must either fail leaving the output buffer
 * as it was, or succeed; and what it decoded must survive encoding and
 * decoding again unchanged, with and without the checksum line.  A buffer
 * limit below the input size exercises the bounded growth.  Decoding
 * block by block must give what decoding whole gives, also when the
 * input arrives in pieces, and agree with the whole-input decoder.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const struct pgps_err *err)
{
	fprintf(stderr, "fuzz-armor: %s (%s)\n", what,
	    err != NULL ? err->msg : "");
	abort();
}

static void
round_trip(const struct buf *bin, unsigned int flags)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	if (pgp_armor_encode(&enc, bin->p, bin->len, PGP_ARMOR_PUBLIC_KEY,
	    flags) != 0)
		fail("encode failed", NULL);
	if (!pgp_armor_detect(enc.p, enc.len))
		fail("encoder output is not detected as armor", NULL);
	if (pgp_armor_decode(&dec, enc.p, enc.len, 0, &err) != 0)
		fail("encoder output does not decode", &err);
	if (dec.len != bin->len || memcmp(dec.p, bin->p, bin->len) != 0)
		fail("round trip changed the data", NULL);
	buf_release(&enc);
	buf_release(&dec);
}

/*
 * Decodes block by block, handing over step octets at first (0: all at
 * once), ignoring checksums; counts blocks and damaged blocks.
 */
static void
by_blocks(const uint8_t *data, size_t size, size_t step, struct buf *out,
    size_t *nblocks, size_t *nerrs)
{
	struct pgp_armor_state st = PGP_ARMOR_STATE_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	size_t pos = 0, have, want = step, used, before;
	int r;

	*nblocks = *nerrs = 0;
	for (;;) {
		/* As the reader does: twice as much when more is needed. */
		have = step == 0 || size - pos <= want ? size : pos + want;
		before = out->len;
		pgps_err_clear(&err);
		r = pgp_armor_next(&st, out, data + pos, have - pos,
		    have == size, PGP_ARMOR_IGNORE_CRC, &used, &err);
		if (used > have - pos || st.offset != pos + used)
			fail("block decoder position out of step", &err);
		pos += used;
		if (r < 0 && (out->len != before || err.msg[0] == '\0' ||
		    used == 0))
			fail("a damaged block changed the output or stuck", &err);
		if (r == 0 && out->len != before)
			fail("no block, but output", &err);
		if (r < 0)
			(*nerrs)++;
		else if (r == 1)
			(*nblocks)++;
		else if (have == size)
			break;
		want = r == 0 ? 2 * (have - pos) + step : step;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT, lax = BUF_INIT, small = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;
	int r, rlax, rsmall;

	(void)pgp_armor_detect(data, size);
	buf_addstr(&out, "prefix");
	r = pgp_armor_decode(&out, data, size, 0, &err);
	if (r != 0 && (err.code != r || err.msg[0] == '\0'))
		fail("an error without its message", &err);
	if (r != 0 && (out.len != 6 || memcmp(out.p, "prefix", 7) != 0))
		fail("a failed decode changed the output", &err);
	if (r == 0 && (out.len < 6 || memcmp(out.p, "prefix", 6) != 0))
		fail("decode did not append", NULL);

	/* Ignoring the checksum can only turn failures into successes. */
	pgps_err_clear(&err);
	rlax = pgp_armor_decode(&lax, data, size, PGP_ARMOR_IGNORE_CRC, &err);
	if (r == 0 && (rlax != 0 || lax.len != out.len - 6 ||
	    memcmp(lax.p, out.p + 6, lax.len) != 0))
		fail("PGP_ARMOR_IGNORE_CRC changed a good decode", &err);
	if (rlax == 0) {
		round_trip(&lax, 0);
		round_trip(&lax, PGP_ARMOR_NO_CRC);
	}

	{
		struct buf whole = BUF_INIT, piece = BUF_INIT;
		size_t nb, ne, pb, pe;

		by_blocks(data, size, 0, &whole, &nb, &ne);
		by_blocks(data, size, size % 61 + 1, &piece, &pb, &pe);
		if (nb != pb || ne != pe || whole.len != piece.len ||
		    memcmp(whole.p, piece.p, whole.len) != 0)
			fail("decoding in pieces differs", NULL);
		/* Without damage, blocks are what the strict decoder gives. */
		if ((rlax == 0) != (ne == 0 && nb > 0) || (rlax == 0 &&
		    (whole.len != lax.len ||
		    memcmp(whole.p, lax.p, lax.len) != 0)))
			fail("block decoder and whole decoder disagree", NULL);
		buf_release(&whole);
		buf_release(&piece);
	}

	small.max = size / 2 + 1;
	pgps_err_clear(&err);
	rsmall = pgp_armor_decode(&small, data, size, PGP_ARMOR_IGNORE_CRC,
	    &err);
	if (small.len > small.max || (rsmall == 0 && rlax != 0) ||
	    (rsmall == 0 && small.len != lax.len) ||
	    (rsmall != 0 && rlax == 0 && (rsmall != PGPS_ELIMIT ||
	    lax.len <= small.max)))
		fail("the buffer limit is not respected", &err);
	buf_release(&out);
	buf_release(&lax);
	buf_release(&small);
	return 0;
}
