/*
 * internal.h: declarations shared by the files of src/recon only.
 *
 * The field arithmetic is here as inline functions because the prefix tree
 * and the solver run it in tight loops; a call per multiplication would
 * cost a third of the time.  On x86-64 the carry chains use the compiler's
 * add-with-carry intrinsics, which GCC turns into far fewer instructions
 * than the same chains written with 128-bit additions (an inversion takes
 * half the time); define ZP_PORTABLE to use the plain C everywhere.
 */
#ifndef PGPSYNC_RECON_INTERNAL_H
#define PGPSYNC_RECON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recon/recon.h"

/*
 * p = 2^128 + 0x8f1d10e4878b1fdfc91f85d930a5431b.  Values are kept in
 * Montgomery form x*R mod p with R = 2^192, always fully reduced, so the
 * top word is 0 or 1 and equal values have equal words.
 */
#define ZP_P0		0xc91f85d930a5431bULL
#define ZP_P1		0x8f1d10e4878b1fdfULL
#define ZP_P2		0x0000000000000001ULL
/* -p^-1 mod 2^64 */
#define ZP_PINV		0x6320d927c830a0edULL
/* R^2 mod p, to enter Montgomery form */
#define ZP_R2_0		0x5e931f9f7f2a1e51ULL
#define ZP_R2_1		0x8d2900fcfdf6ca30ULL
/* R mod p, the Montgomery form of 1 */
#define ZP_R1_0		0xa5804f1870d6b547ULL
#define ZP_R1_1		0x862c9a994c8dd0dbULL

typedef unsigned __int128 zp_u128;

/* The prefix tree needs these inlined into its loops to run at speed. */
#if defined(__GNUC__)
#define ZP_INLINE	static inline __attribute__((always_inline))
#else
#define ZP_INLINE	static inline
#endif

/* r = x - p if that does not borrow, else x; x < 2p. */
ZP_INLINE void
zp_reduce_once(uint64_t r[3], uint64_t x0, uint64_t x1, uint64_t x2)
{
	zp_u128 t;
	uint64_t s0, s1, s2, borrow, keep;

	t = (zp_u128)x0 - ZP_P0;
	s0 = (uint64_t)t;
	borrow = (uint64_t)(t >> 64) & 1;
	t = (zp_u128)x1 - ZP_P1 - borrow;
	s1 = (uint64_t)t;
	borrow = (uint64_t)(t >> 64) & 1;
	t = (zp_u128)x2 - ZP_P2 - borrow;
	s2 = (uint64_t)t;
	borrow = (uint64_t)(t >> 64) & 1;
	keep = -borrow;		/* all ones: x < p, keep x */
	r[0] = (x0 & keep) | (s0 & ~keep);
	r[1] = (x1 & keep) | (s1 & ~keep);
	r[2] = (x2 & keep) | (s2 & ~keep);
}

/*
 * Montgomery product a*b/R mod p.  Both inputs are below p, so their top
 * words are 0 or 1: the 129x129-bit product is the 128x128-bit product of
 * the low halves plus two masked additions, then three word-sized
 * reduction steps.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(ZP_PORTABLE)
#include <x86intrin.h>
#define ZP_ADC(c, a, b, out)	_addcarry_u64((c), (a), (b), \
	(unsigned long long *)(out))
#define ZP_SBB(c, a, b, out)	_subborrow_u64((c), (a), (b), \
	(unsigned long long *)(out))
#else
static inline unsigned char
zp_adc_c(unsigned char c, uint64_t a, uint64_t b, uint64_t *out)
{
	zp_u128 x = (zp_u128)a + b + c;

	*out = (uint64_t)x;
	return (unsigned char)(x >> 64);
}

static inline unsigned char
zp_sbb_c(unsigned char c, uint64_t a, uint64_t b, uint64_t *out)
{
	zp_u128 x = (zp_u128)a - b - c;

	*out = (uint64_t)x;
	return (unsigned char)((x >> 64) & 1);
}
#define ZP_ADC(c, a, b, out)	zp_adc_c((c), (a), (b), (out))
#define ZP_SBB(c, a, b, out)	zp_sbb_c((c), (a), (b), (out))
#endif

#define ZP_MUL(hi, lo, a, b) do {					\
	zp_u128 x_ = (zp_u128)(a) * (b);				\
	(lo) = (uint64_t)x_;						\
	(hi) = (uint64_t)(x_ >> 64);					\
} while (0)

ZP_INLINE void
zp_mont_mul(struct zp *out, const struct zp *a, const struct zp *b)
{
	uint64_t t0, t1, t2, t3, t4, t5, h, l, m, s0, s1, s2, keep;
	uint64_t h00, l00, h01, l01, h10, l10, h11, l11;
	uint64_t ma = -a->w[2], mb = -b->w[2];
	unsigned char c;

	ZP_MUL(h00, l00, a->w[0], b->w[0]);
	ZP_MUL(h01, l01, a->w[0], b->w[1]);
	ZP_MUL(h10, l10, a->w[1], b->w[0]);
	ZP_MUL(h11, l11, a->w[1], b->w[1]);
	t0 = l00;
	c = ZP_ADC(0, h00, l01, &t1);
	c = ZP_ADC(c, h01, l11, &t2);
	c = ZP_ADC(c, h11, 0, &t3);
	c = ZP_ADC(0, t1, l10, &t1);
	c = ZP_ADC(c, t2, h10, &t2);
	c = ZP_ADC(c, t3, 0, &t3);
	/* + 2^128 (a2*b + b2*a_low) */
	c = ZP_ADC(0, t2, b->w[0] & ma, &t2);
	c = ZP_ADC(c, t3, b->w[1] & ma, &t3);
	t4 = c + (ma & mb & 1);
	c = ZP_ADC(0, t2, a->w[0] & mb, &t2);
	c = ZP_ADC(c, t3, a->w[1] & mb, &t3);
	t4 += c;

	/* Three reduction steps; p's top word is 1, so m*p2 is just m. */
	m = t0 * ZP_PINV;
	ZP_MUL(h, l, m, ZP_P0);
	c = ZP_ADC(0, t0, l, &t0);
	c = ZP_ADC(c, t1, h, &t1);
	c = ZP_ADC(c, t2, m, &t2);
	c = ZP_ADC(c, t3, 0, &t3);
	t4 += c;
	ZP_MUL(h, l, m, ZP_P1);
	c = ZP_ADC(0, t1, l, &t1);
	c = ZP_ADC(c, t2, h, &t2);
	c = ZP_ADC(c, t3, 0, &t3);
	t4 += c;

	m = t1 * ZP_PINV;
	ZP_MUL(h, l, m, ZP_P0);
	c = ZP_ADC(0, t1, l, &t1);
	c = ZP_ADC(c, t2, h, &t2);
	c = ZP_ADC(c, t3, m, &t3);
	t4 += c;
	ZP_MUL(h, l, m, ZP_P1);
	c = ZP_ADC(0, t2, l, &t2);
	c = ZP_ADC(c, t3, h, &t3);
	t4 += c;

	m = t2 * ZP_PINV;
	ZP_MUL(h, l, m, ZP_P0);
	c = ZP_ADC(0, t2, l, &t2);
	c = ZP_ADC(c, t3, h, &t3);
	c = ZP_ADC(c, t4, m, &t4);
	t5 = c;
	ZP_MUL(h, l, m, ZP_P1);
	c = ZP_ADC(0, t3, l, &t3);
	c = ZP_ADC(c, t4, h, &t4);
	t5 += c;

	/* The result (t3, t4, t5) is below 2p. */
	c = ZP_SBB(0, t3, ZP_P0, &s0);
	c = ZP_SBB(c, t4, ZP_P1, &s1);
	c = ZP_SBB(c, t5, ZP_P2, &s2);
	keep = -(uint64_t)c;
	out->w[0] = (t3 & keep) | (s0 & ~keep);
	out->w[1] = (t4 & keep) | (s1 & ~keep);
	out->w[2] = (t5 & keep) | (s2 & ~keep);
}

ZP_INLINE void
zp_add_inl(struct zp *out, const struct zp *a, const struct zp *b)
{
	zp_u128 x;
	uint64_t s0, s1, s2;

	x = (zp_u128)a->w[0] + b->w[0];
	s0 = (uint64_t)x;
	x = (zp_u128)a->w[1] + b->w[1] + (uint64_t)(x >> 64);
	s1 = (uint64_t)x;
	s2 = a->w[2] + b->w[2] + (uint64_t)(x >> 64);
	zp_reduce_once(out->w, s0, s1, s2);
}

ZP_INLINE void
zp_sub_inl(struct zp *out, const struct zp *a, const struct zp *b)
{
	zp_u128 x;
	uint64_t d0, d1, d2, borrow, mask;

	x = (zp_u128)a->w[0] - b->w[0];
	d0 = (uint64_t)x;
	borrow = (uint64_t)(x >> 64) & 1;
	x = (zp_u128)a->w[1] - b->w[1] - borrow;
	d1 = (uint64_t)x;
	borrow = (uint64_t)(x >> 64) & 1;
	x = (zp_u128)a->w[2] - b->w[2] - borrow;
	d2 = (uint64_t)x;
	borrow = (uint64_t)(x >> 64) & 1;
	/* On borrow add p back. */
	mask = -borrow;
	x = (zp_u128)d0 + (ZP_P0 & mask);
	out->w[0] = (uint64_t)x;
	x = (zp_u128)d1 + (ZP_P1 & mask) + (uint64_t)(x >> 64);
	out->w[1] = (uint64_t)x;
	out->w[2] = d2 + (ZP_P2 & mask) + (uint64_t)(x >> 64);
}

static inline bool
zp_is_zero_inl(const struct zp *a)
{
	return (a->w[0] | a->w[1] | a->w[2]) == 0;
}

/* The Montgomery form of 1. */
static inline void
zp_one(struct zp *out)
{
	out->w[0] = ZP_R1_0;
	out->w[1] = ZP_R1_1;
	out->w[2] = 0;
}

/* The RECON_NSAMPLES sample points 0, -1, 1, -2, 2, -3 in Montgomery form. */
extern const struct zp zp_points[RECON_NSAMPLES];

/* A small deterministic generator (splitmix64) for root finding. */
static inline uint64_t
recon_rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Prefix tree nodes.  An interior node owns an array of 4 children; a
 * leaf owns a sorted array of its elements.  Counts are always exact; the
 * sample values of an interior node are recomputed from its children only
 * when read after a change below it (stale).
 */
struct recon_node {
	struct zp		 sv[RECON_NSAMPLES];
	uint32_t		 count;
	uint32_t		 cap;		/* leaf: allocated elements */
	struct recon_elem	*elems;		/* leaf only */
	struct recon_node	*child;		/* interior: 4 children */
	bool			 stale;		/* sv needs recomputing */
};

#define RECON_NCHILDREN	(1u << RECON_BITQUANTUM)

/* Brings the sample values of n and everything below it up to date. */
void recon_node_settle(struct recon_node *n);

/* Appends every element under n, ascending, to out[*n]. */
void recon_node_collect(const struct recon_node *n, struct recon_elem *out,
    size_t *pos);

#endif
