/*
 * poly.c: polynomials over GF(p) and their roots.
 *
 * Sized for recon: degrees stay below POLY_MAXDEG (mbar is 5 in practice),
 * coefficients live inline and nothing allocates.  Root finding is the
 * split test z^p = z (mod f) followed by Cantor-Zassenhaus equal-degree
 * splitting with a seeded generator, so a run is reproducible.  Factoring
 * of polynomials that do not split into distinct linear factors is not
 * supported: recon only ever needs to reject those.
 */
#include "util/common.h"

#include "recon/internal.h"
#include "recon/recon.h"
#include "util/err.h"

/* Attempts per splitting step; each fails with probability about 1/2. */
#define POLY_SPLIT_TRIES	128

static const uint64_t poly_exp_p[3] = { ZP_P0, ZP_P1, ZP_P2 };
/* (p - 1) / 2 */
static const uint64_t poly_exp_half[3] = {
	((ZP_P0 - 1) >> 1) | (ZP_P1 << 63),
	(ZP_P1 >> 1) | (ZP_P2 << 63),
	ZP_P2 >> 1
};

static void
poly_trim(struct poly *a)
{
	while (a->deg >= 0 && zp_is_zero_inl(&a->c[a->deg]))
		a->deg--;
}

void
poly_zero(struct poly *out)
{
	out->deg = -1;
}

void
poly_set_zp(struct poly *out, const struct zp *c)
{
	out->c[0] = *c;
	out->deg = 0;
	poly_trim(out);
}

int
poly_from_roots(struct poly *out, const struct zp *r, size_t n)
{
	struct poly p;

	if (n > POLY_MAXDEG)
		return PGPS_ELIMIT;
	zp_one(&p.c[0]);
	p.deg = 0;
	for (size_t i = 0; i < n; i++) {
		/* p *= (z - r[i]) */
		p.c[p.deg + 1] = p.c[p.deg];
		for (int j = p.deg; j > 0; j--) {
			struct zp t;

			zp_mont_mul(&t, &p.c[j], &r[i]);
			zp_sub_inl(&p.c[j], &p.c[j - 1], &t);
		}
		zp_mont_mul(&p.c[0], &p.c[0], &r[i]);
		zp_neg(&p.c[0], &p.c[0]);
		p.deg++;
	}
	*out = p;
	return 0;
}

void
poly_add(struct poly *out, const struct poly *a, const struct poly *b)
{
	int n = a->deg > b->deg ? a->deg : b->deg;

	for (int i = 0; i <= n; i++) {
		if (i > a->deg)
			out->c[i] = b->c[i];
		else if (i > b->deg)
			out->c[i] = a->c[i];
		else
			zp_add_inl(&out->c[i], &a->c[i], &b->c[i]);
	}
	out->deg = n;
	poly_trim(out);
}

void
poly_sub(struct poly *out, const struct poly *a, const struct poly *b)
{
	int n = a->deg > b->deg ? a->deg : b->deg;

	for (int i = 0; i <= n; i++) {
		if (i > a->deg)
			zp_neg(&out->c[i], &b->c[i]);
		else if (i > b->deg)
			out->c[i] = a->c[i];
		else
			zp_sub_inl(&out->c[i], &a->c[i], &b->c[i]);
	}
	out->deg = n;
	poly_trim(out);
}

void
poly_scale(struct poly *out, const struct poly *a, const struct zp *s)
{
	for (int i = 0; i <= a->deg; i++)
		zp_mont_mul(&out->c[i], &a->c[i], s);
	out->deg = a->deg;
	poly_trim(out);
}

/* r[0 .. da+db] = a * b, the schoolbook product; both nonzero. */
static void
poly_mul_raw(struct zp *r, const struct poly *a, const struct poly *b)
{
	struct zp t;

	for (int i = 0; i <= a->deg + b->deg; i++)
		r[i].w[0] = r[i].w[1] = r[i].w[2] = 0;
	for (int i = 0; i <= a->deg; i++) {
		for (int j = 0; j <= b->deg; j++) {
			zp_mont_mul(&t, &a->c[i], &b->c[j]);
			zp_add_inl(&r[i + j], &r[i + j], &t);
		}
	}
}

int
poly_mul(struct poly *out, const struct poly *a, const struct poly *b)
{
	struct zp r[2 * POLY_MAXDEG + 1];

	if (a->deg < 0 || b->deg < 0) {
		out->deg = -1;
		return 0;
	}
	if (a->deg + b->deg > POLY_MAXDEG)
		return PGPS_ELIMIT;
	poly_mul_raw(r, a, b);
	out->deg = a->deg + b->deg;
	memcpy(out->c, r, sizeof(r[0]) * (size_t)(out->deg + 1));
	poly_trim(out);
	return 0;
}

/*
 * Reduces the n+1 coefficients r (degree n) modulo m in place, writing the
 * quotient to q (when not NULL).  lc_inv is 1/lead(m).
 */
static void
poly_reduce(struct zp *r, int n, const struct poly *m, const struct zp *lc_inv,
    struct zp *q)
{
	struct zp f, t;

	for (int i = n; i >= m->deg; i--) {
		zp_mont_mul(&f, &r[i], lc_inv);
		if (q != NULL)
			q[i - m->deg] = f;
		if (zp_is_zero_inl(&f))
			continue;
		for (int j = 0; j <= m->deg; j++) {
			zp_mont_mul(&t, &f, &m->c[j]);
			zp_sub_inl(&r[i - m->deg + j], &r[i - m->deg + j], &t);
		}
	}
}

int
poly_divmod(struct poly *q, struct poly *r, const struct poly *a,
    const struct poly *b)
{
	struct zp rem[POLY_MAXDEG + 1], quo[POLY_MAXDEG + 1], lc_inv;
	int qdeg;

	if (b->deg < 0)
		return PGPS_EFORMAT;
	if (zp_inv(&lc_inv, &b->c[b->deg]) != 0)
		return PGPS_EINTERNAL;
	if (a->deg < b->deg) {
		if (r != NULL && r != a)
			*r = *a;
		if (q != NULL)
			q->deg = -1;
		return 0;
	}
	qdeg = a->deg - b->deg;
	memcpy(rem, a->c, sizeof(rem[0]) * (size_t)(a->deg + 1));
	poly_reduce(rem, a->deg, b, &lc_inv, quo);
	if (q != NULL) {
		memcpy(q->c, quo, sizeof(quo[0]) * (size_t)(qdeg + 1));
		q->deg = qdeg;
		poly_trim(q);
	}
	if (r != NULL) {
		r->deg = b->deg - 1;
		if (r->deg >= 0)
			memcpy(r->c, rem,
			    sizeof(rem[0]) * (size_t)(r->deg + 1));
		poly_trim(r);
	}
	return 0;
}

/* out = a*b mod m, with lc_inv = 1/lead(m) and deg m >= 1. */
static void
poly_mulmod_inv(struct poly *out, const struct poly *a, const struct poly *b,
    const struct poly *m, const struct zp *lc_inv)
{
	struct zp r[2 * POLY_MAXDEG + 1];
	int n;

	if (a->deg < 0 || b->deg < 0) {
		out->deg = -1;
		return;
	}
	poly_mul_raw(r, a, b);
	n = a->deg + b->deg;
	if (n >= m->deg)
		poly_reduce(r, n, m, lc_inv, NULL);
	out->deg = n < m->deg ? n : m->deg - 1;
	memcpy(out->c, r, sizeof(r[0]) * (size_t)(out->deg + 1));
	poly_trim(out);
}

int
poly_mulmod(struct poly *out, const struct poly *a, const struct poly *b,
    const struct poly *m)
{
	struct zp lc_inv;

	if (m->deg < 1)
		return PGPS_EFORMAT;
	if (a->deg >= m->deg || b->deg >= m->deg) {
		struct poly ar, br;
		int rc;

		if ((rc = poly_divmod(NULL, &ar, a, m)) != 0 ||
		    (rc = poly_divmod(NULL, &br, b, m)) != 0)
			return rc;
		return poly_mulmod(out, &ar, &br, m);
	}
	if (zp_inv(&lc_inv, &m->c[m->deg]) != 0)
		return PGPS_EINTERNAL;
	poly_mulmod_inv(out, a, b, m, &lc_inv);
	return 0;
}

int
poly_powmod(struct poly *out, const struct poly *a, const uint64_t e[3],
    const struct poly *m)
{
	struct poly base, r;
	struct zp lc_inv;
	int top, r_is_one = 1, rc;

	if (m->deg < 1)
		return PGPS_EFORMAT;
	if ((rc = poly_divmod(NULL, &base, a, m)) != 0)
		return rc;
	if (zp_inv(&lc_inv, &m->c[m->deg]) != 0)
		return PGPS_EINTERNAL;
	zp_one(&r.c[0]);
	r.deg = 0;
	for (top = 191; top >= 0 && ((e[top / 64] >> (top % 64)) & 1) == 0;
	    top--)
		;
	/* Left to right binary; the leading squarings of 1 are skipped. */
	for (int i = top; i >= 0; i--) {
		if (!r_is_one)
			poly_mulmod_inv(&r, &r, &r, m, &lc_inv);
		if ((e[i / 64] >> (i % 64)) & 1) {
			if (r_is_one)
				r = base;
			else
				poly_mulmod_inv(&r, &r, &base, m, &lc_inv);
			r_is_one = 0;
		}
	}
	*out = r;
	return 0;
}

int
poly_monic(struct poly *out, const struct poly *a)
{
	struct zp inv;

	if (a->deg < 0)
		return PGPS_EFORMAT;
	if (zp_inv(&inv, &a->c[a->deg]) != 0)
		return PGPS_EINTERNAL;
	poly_scale(out, a, &inv);
	return 0;
}

int
poly_gcd(struct poly *out, const struct poly *a, const struct poly *b)
{
	struct poly x = *a, y = *b, r;
	int rc;

	while (y.deg >= 0) {
		if ((rc = poly_divmod(NULL, &r, &x, &y)) != 0)
			return rc;
		x = y;
		y = r;
	}
	if (x.deg < 0) {
		out->deg = -1;
		return 0;
	}
	return poly_monic(out, &x);
}

void
poly_eval(struct zp *out, const struct poly *a, const struct zp *x)
{
	struct zp r = { { 0, 0, 0 } };

	for (int i = a->deg; i >= 0; i--) {
		zp_mont_mul(&r, &r, x);
		zp_add_inl(&r, &r, &a->c[i]);
	}
	*out = r;
}

bool
poly_eq(const struct poly *a, const struct poly *b)
{
	if (a->deg != b->deg)
		return false;
	for (int i = 0; i <= a->deg; i++)
		if (!zp_eq(&a->c[i], &b->c[i]))
			return false;
	return true;
}

/*
 * Splits the monic f, known to be a product of distinct linear factors,
 * writing its roots to roots[*n ...].  Recurses only on the smaller factor
 * and loops on the larger, so the depth stays below log2(deg f) + 1.
 */
static int
poly_split(struct zp *roots, size_t *n, const struct poly *fin,
    uint64_t *rng)
{
	struct poly f = *fin, h, g, q;
	struct zp a, one;
	uint8_t ab[ZP_NBYTES];
	int tries, rc;

	zp_one(&one);
	while (f.deg > 1) {
		for (tries = 0; tries < POLY_SPLIT_TRIES; tries++) {
			uint64_t w0 = recon_rand_next(rng);
			uint64_t w1 = recon_rand_next(rng);

			/* a below 2^128 < p; uniform enough to split. */
			for (int i = 0; i < 8; i++) {
				ab[i] = (uint8_t)(w0 >> (8 * i));
				ab[8 + i] = (uint8_t)(w1 >> (8 * i));
			}
			ab[16] = 0;
			if (zp_set_bytes(&a, ab) != 0)
				return PGPS_EINTERNAL;
			/* h = (z + a)^((p-1)/2) - 1 mod f */
			h.deg = 1;
			h.c[0] = a;
			h.c[1] = one;
			if ((rc = poly_powmod(&h, &h, poly_exp_half, &f)) != 0)
				return rc;
			if (h.deg < 0) {
				h.deg = 0;
				h.c[0].w[0] = h.c[0].w[1] = h.c[0].w[2] = 0;
			}
			zp_sub_inl(&h.c[0], &h.c[0], &one);
			poly_trim(&h);
			if ((rc = poly_gcd(&g, &f, &h)) != 0)
				return rc;
			if (g.deg > 0 && g.deg < f.deg)
				break;
		}
		if (tries == POLY_SPLIT_TRIES)
			return PGPS_ELIMIT;
		if ((rc = poly_divmod(&q, NULL, &f, &g)) != 0)
			return rc;
		if (g.deg <= q.deg) {
			if ((rc = poly_split(roots, n, &g, rng)) != 0)
				return rc;
			f = q;
		} else {
			if ((rc = poly_split(roots, n, &q, rng)) != 0)
				return rc;
			f = g;
		}
		/* The quotient of monic by monic is monic. */
	}
	if (f.deg == 1) {
		/* z + c0 has the root -c0. */
		zp_neg(&roots[*n], &f.c[0]);
		(*n)++;
	}
	return 0;
}

int
poly_roots(struct zp *roots, size_t *nroots, const struct poly *fin,
    uint64_t seed)
{
	struct poly f, zp_, z;
	struct zp v;
	size_t n = 0;
	uint64_t rng = seed;
	int rc;

	if (fin->deg < 0)
		return PGPS_EFORMAT;
	if ((rc = poly_monic(&f, fin)) != 0)
		return rc;
	if (f.deg >= 2) {
		/*
		 * z^p - z is the product of all (z - r), so f splits into
		 * distinct linear factors exactly when it divides it.
		 */
		z.deg = 1;
		z.c[0].w[0] = z.c[0].w[1] = z.c[0].w[2] = 0;
		zp_one(&z.c[1]);
		if ((rc = poly_powmod(&zp_, &z, poly_exp_p, &f)) != 0)
			return rc;
		if (!poly_eq(&zp_, &z))
			return PGPS_ELIMIT;
	}
	if ((rc = poly_split(roots, &n, &f, &rng)) != 0)
		return rc;
	if (n != (size_t)f.deg)
		return PGPS_EINTERNAL;
	/* Belt and braces: every root must be one. */
	for (size_t i = 0; i < n; i++) {
		poly_eval(&v, &f, &roots[i]);
		if (!zp_is_zero_inl(&v))
			return PGPS_EINTERNAL;
	}
	*nroots = n;
	return 0;
}
