/*
 * zp.c: arithmetic in GF(p) for p = 530512889551602322505127520352579437339,
 * the SKS recon prime (SKS rMisc.ml), and the element <-> field mappings.
 *
 * Three 64-bit words in Montgomery form, no bignum library.  Nothing here
 * is constant-time: the values are public set digests, not secrets.
 */
#include "util/common.h"

#include "recon/internal.h"
#include "recon/recon.h"
#include "util/err.h"

/* p - 2, the exponent of Fermat inversion. */
static const uint64_t zp_p_minus_2[3] = {
	ZP_P0 - 2, ZP_P1, ZP_P2
};

static const struct zp zp_r2 = { { ZP_R2_0, ZP_R2_1, 0 } };

/* zp_point(0 .. 5), precomputed for the prefix tree. */
const struct zp zp_points[RECON_NSAMPLES] = {
	{ { 0x0000000000000000ULL, 0x0000000000000000ULL, 0 } },	/* 0 */
	{ { 0x239f36c0bfce8dd4ULL, 0x08f0764b3afd4f04ULL, 1 } },	/* -1 */
	{ { 0xa5804f1870d6b547ULL, 0x862c9a994c8dd0dbULL, 0 } },	/* 1 */
	{ { 0x7e1ee7a84ef7d88dULL, 0x82c3dbb1ee6f7e28ULL, 0 } },	/* -2 */
	{ { 0x4b009e30e1ad6a8eULL, 0x0c593532991ba1b7ULL, 1 } },	/* 2 */
	{ { 0xa1be1e690ec66661ULL, 0x8bb451fd296ccd2cULL, 1 } },	/* -3 */
};

static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
store_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Montgomery form of a canonical value below p. */
static void
zp_to_mont(struct zp *out, const struct zp *plain)
{
	zp_mont_mul(out, plain, &zp_r2);
}

static void
zp_from_mont(struct zp *out, const struct zp *a)
{
	static const struct zp one = { { 1, 0, 0 } };

	zp_mont_mul(out, a, &one);
}

void
zp_set_u64(struct zp *out, uint64_t v)
{
	struct zp plain = { { v, 0, 0 } };

	zp_to_mont(out, &plain);
}

void
zp_set_i64(struct zp *out, int64_t v)
{
	if (v >= 0) {
		zp_set_u64(out, (uint64_t)v);
	} else {
		/* -(v + 1) + 1 avoids overflow at INT64_MIN. */
		zp_set_u64(out, (uint64_t)(-(v + 1)) + 1);
		zp_neg(out, out);
	}
}

int
zp_set_bytes(struct zp *out, const uint8_t in[ZP_NBYTES])
{
	struct zp plain;

	plain.w[0] = load_le64(in);
	plain.w[1] = load_le64(in + 8);
	plain.w[2] = in[16];
	/* Reject p and above: compare from the top word down. */
	if (plain.w[2] > ZP_P2 ||
	    (plain.w[2] == ZP_P2 && (plain.w[1] > ZP_P1 ||
	    (plain.w[1] == ZP_P1 && plain.w[0] >= ZP_P0))))
		return PGPS_EFORMAT;
	zp_to_mont(out, &plain);
	return 0;
}

void
zp_get_bytes(uint8_t out[ZP_NBYTES], const struct zp *a)
{
	struct zp plain;

	zp_from_mont(&plain, a);
	store_le64(out, plain.w[0]);
	store_le64(out + 8, plain.w[1]);
	out[16] = (uint8_t)plain.w[2];
}

void
zp_set_elem(struct zp *out, const struct recon_elem *e)
{
	struct zp plain;

	/* 2^128 < p, so every element is already reduced (spec 5.2). */
	plain.w[0] = load_le64(e->b);
	plain.w[1] = load_le64(e->b + 8);
	plain.w[2] = 0;
	zp_to_mont(out, &plain);
}

int
zp_get_elem(struct recon_elem *out, const struct zp *a)
{
	struct zp plain;

	zp_from_mont(&plain, a);
	if (plain.w[2] != 0)
		return PGPS_EFORMAT;
	store_le64(out->b, plain.w[0]);
	store_le64(out->b + 8, plain.w[1]);
	return 0;
}

void
zp_add(struct zp *out, const struct zp *a, const struct zp *b)
{
	zp_add_inl(out, a, b);
}

void
zp_sub(struct zp *out, const struct zp *a, const struct zp *b)
{
	zp_sub_inl(out, a, b);
}

void
zp_neg(struct zp *out, const struct zp *a)
{
	static const struct zp zero = { { 0, 0, 0 } };

	zp_sub_inl(out, &zero, a);
}

void
zp_mul(struct zp *out, const struct zp *a, const struct zp *b)
{
	zp_mont_mul(out, a, b);
}

void
zp_sqr(struct zp *out, const struct zp *a)
{
	zp_mont_mul(out, a, a);
}

void
zp_pow(struct zp *out, const struct zp *a, const uint64_t e[3])
{
	struct zp tab[16], r;
	int top, started = 0;

	/* Fixed 4-bit windows, most significant first. */
	zp_one(&tab[0]);
	tab[1] = *a;
	for (int i = 2; i < 16; i++)
		zp_mont_mul(&tab[i], &tab[i - 1], a);
	for (top = 2; top >= 0 && e[top] == 0; top--)
		;
	zp_one(&r);
	for (int w = top; w >= 0; w--) {
		for (int s = 60; s >= 0; s -= 4) {
			unsigned int d = (unsigned int)(e[w] >> s) & 15;

			/* Squaring 1 is a waste: skip until the first digit. */
			if (started)
				for (int k = 0; k < 4; k++)
					zp_mont_mul(&r, &r, &r);
			if (d != 0) {
				if (started)
					zp_mont_mul(&r, &r, &tab[d]);
				else
					r = tab[d];
				started = 1;
			}
		}
	}
	*out = r;
}

int
zp_inv(struct zp *out, const struct zp *a)
{
	if (zp_is_zero_inl(a))
		return PGPS_EFORMAT;
	/* Fermat: a^(p-2) = 1/a for p prime. */
	zp_pow(out, a, zp_p_minus_2);
	return 0;
}

int
zp_inv_batch(struct zp *inv, const struct zp *a, struct zp *tmp, size_t n)
{
	struct zp acc, t;

	if (n == 0)
		return 0;
	/* tmp[i] = a[0] * ... * a[i] */
	tmp[0] = a[0];
	for (size_t i = 1; i < n; i++)
		zp_mont_mul(&tmp[i], &tmp[i - 1], &a[i]);
	if (zp_inv(&acc, &tmp[n - 1]) != 0)
		return PGPS_EFORMAT;
	for (size_t i = n - 1; i > 0; i--) {
		zp_mont_mul(&t, &acc, &tmp[i - 1]);
		zp_mont_mul(&acc, &acc, &a[i]);
		inv[i] = t;
	}
	inv[0] = acc;
	return 0;
}

bool
zp_is_zero(const struct zp *a)
{
	return zp_is_zero_inl(a);
}

bool
zp_eq(const struct zp *a, const struct zp *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) |
	    (a->w[2] ^ b->w[2])) == 0;
}

void
zp_point(struct zp *out, unsigned int i)
{
	if (i < RECON_NSAMPLES) {
		*out = zp_points[i];
		return;
	}
	/* ((i+1) div 2) * (+1 if i even, -1 if i odd) */
	int64_t v = (int64_t)((i + 1) / 2);

	zp_set_i64(out, (i % 2) != 0 ? -v : v);
}
