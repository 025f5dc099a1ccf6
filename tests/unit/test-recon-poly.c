/*
 * test-recon-poly.c: polynomial arithmetic over GF(p) and root finding,
 * with fixed seeds.  Products of known linear factors must give back
 * exactly their roots; anything that does not split into distinct linear
 * factors (repeated roots, irreducible quadratics) must be refused.
 */
#include "util/common.h"

#include "recon/recon.h"
#include "tap.h"

#define RNG_SEED	99
#include "rng.h"

static struct zp
zp_random(void)
{
	struct recon_elem e;
	struct zp z;

	rng_fill16(e.b);
	zp_set_elem(&z, &e);
	return z;
}

static struct poly
poly_random(int deg)
{
	struct poly p;

	for (int i = 0; i <= deg; i++)
		p.c[i] = zp_random();
	zp_set_u64(&p.c[deg], next64() | 1);
	p.deg = deg;
	return p;
}

/* Every element of want occurs in got (n values each, distinct). */
static int
same_set(const struct zp *got, const struct zp *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (zp_eq(&got[i], &want[j]))
				break;
		if (j == n)
			return 0;
	}
	return 1;
}

static void
test_arith(void)
{
	struct poly a, b, q, r, t, g, x, y;
	struct zp v, w, u;
	int bad_div = 0, bad_eval = 0, bad_gcd = 0, bad_mulmod = 0;

	for (int i = 0; i < 200; i++) {
		a = poly_random((int)(next64() % 20));
		b = poly_random((int)(next64() % 12));
		/* a = q b + r, deg r < deg b */
		poly_divmod(&q, &r, &a, &b);
		poly_mul(&t, &q, &b);
		poly_add(&t, &t, &r);
		bad_div += !poly_eq(&t, &a) || r.deg >= b.deg;
		/* (a b)(x) = a(x) b(x) */
		poly_mul(&t, &a, &b);
		v = zp_random();
		poly_eval(&w, &t, &v);
		poly_eval(&u, &a, &v);
		poly_eval(&v, &b, &v);
		zp_mul(&u, &u, &v);
		bad_eval += !zp_eq(&u, &w);
		/* gcd(g a, g b) = g for a random common monic factor g */
		g = poly_random(3);
		poly_monic(&g, &g);
		poly_mul(&x, &g, &a);
		poly_mul(&y, &g, &b);
		poly_gcd(&t, &x, &y);
		/* a and b may share a factor by chance; g must divide. */
		poly_divmod(NULL, &r, &t, &g);
		bad_gcd += r.deg >= 0;
		/* mulmod = (a b) mod m */
		poly_mulmod(&t, &a, &b, &g);
		poly_mul(&x, &a, &b);
		poly_divmod(NULL, &r, &x, &g);
		bad_mulmod += !poly_eq(&t, &r);
	}
	is_int(bad_div, 0, "divmod: a = q*b + r for 200 random pairs");
	is_int(bad_eval, 0, "evaluation is a ring homomorphism");
	is_int(bad_gcd, 0, "a common factor divides the gcd");
	is_int(bad_mulmod, 0, "mulmod agrees with mul then mod");

	poly_zero(&a);
	b = poly_random(3);
	is_int(poly_divmod(&q, &r, &b, &a), PGPS_EFORMAT, "division by zero");
	is_int(poly_monic(&t, &a), PGPS_EFORMAT, "zero has no monic form");
	poly_gcd(&t, &a, &a);
	is_int(t.deg, -1, "gcd(0, 0) = 0");
	poly_gcd(&t, &a, &b);
	ok(t.deg == 3 && zp_eq(&t.c[3], &(struct zp){ { 0 } }) == 0,
	    "gcd(0, b) = monic b");
	a = poly_random(40);
	b = poly_random(30);
	is_int(poly_mul(&t, &a, &b), PGPS_ELIMIT, "degree 70 product refused");
}

static void
test_worked_example(void)
{
	/* Spec 5.7: A = z^3 - 700z + 6000, B = z^2 - 900, gcd = z + 30. */
	struct poly a, b, g, n, d, want;
	struct zp r[3], roots[3];
	size_t nr;

	a.deg = 3;
	zp_set_i64(&a.c[0], 6000);
	zp_set_i64(&a.c[1], -700);
	zp_set_i64(&a.c[2], 0);
	zp_set_i64(&a.c[3], 1);
	b.deg = 2;
	zp_set_i64(&b.c[0], -900);
	zp_set_i64(&b.c[1], 0);
	zp_set_i64(&b.c[2], 1);
	poly_gcd(&g, &a, &b);
	want.deg = 1;
	zp_set_i64(&want.c[0], 30);
	zp_set_i64(&want.c[1], 1);
	ok(poly_eq(&g, &want), "gcd(A, B) = z + 30");
	poly_divmod(&n, NULL, &a, &g);
	poly_divmod(&d, NULL, &b, &g);
	zp_set_u64(&r[0], 10);
	zp_set_u64(&r[1], 20);
	poly_from_roots(&want, r, 2);
	ok(poly_eq(&n, &want), "N = (z - 10)(z - 20)");
	is_int(poly_roots(roots, &nr, &n, 1), 0, "roots of N");
	ok(nr == 2 && same_set(roots, r, 2), "N has roots {10, 20}");
	is_int(poly_roots(roots, &nr, &d, 1), 0, "roots of D");
	zp_set_u64(&r[0], 30);
	ok(nr == 1 && zp_eq(&roots[0], &r[0]), "D has root {30}");
}

static void
test_roots(void)
{
	struct zp r[POLY_MAXDEG], got[POLY_MAXDEG], c;
	struct poly f, g, h;
	size_t n;
	int bad = 0, badseed = 0;

	for (int deg = 0; deg <= 12; deg++) {
		for (int k = 0; k < 4; k++) {
			for (int i = 0; i < deg; i++)
				r[i] = zp_random();
			poly_from_roots(&f, r, (size_t)deg);
			/* Not monic: roots must not care. */
			c = zp_random();
			poly_scale(&f, &f, &c);
			if (poly_roots(got, &n, &f, next64()) != 0 ||
			    n != (size_t)deg || !same_set(got, r, n))
				bad++;
		}
	}
	is_int(bad, 0, "roots of 52 random split polynomials, degree 0-12");

	for (int i = 0; i < POLY_MAXDEG; i++)
		zp_set_u64(&r[i], (uint64_t)i * 1000003);
	poly_from_roots(&f, r, POLY_MAXDEG);
	ok(poly_roots(got, &n, &f, 7) == 0 && n == POLY_MAXDEG &&
	    same_set(got, r, n), "roots of a degree-%d product, 0 among them",
	    POLY_MAXDEG);
	for (uint64_t seed = 0; seed < 20; seed++) {
		poly_from_roots(&f, r, 5);
		if (poly_roots(got, &n, &f, seed) != 0 || n != 5 ||
		    !same_set(got, r, 5))
			badseed++;
	}
	is_int(badseed, 0, "the same roots for 20 seeds");

	/* A repeated root: (z - 5)^2 (z - 7). */
	zp_set_u64(&r[0], 5);
	zp_set_u64(&r[1], 5);
	zp_set_u64(&r[2], 7);
	poly_from_roots(&f, r, 3);
	is_int(poly_roots(got, &n, &f, 1), PGPS_ELIMIT,
	    "repeated root refused");
	/* z^2 + 1: p = 3 (mod 4), so -1 is a non-residue; irreducible. */
	f.deg = 2;
	zp_set_u64(&f.c[0], 1);
	zp_set_u64(&f.c[1], 0);
	zp_set_u64(&f.c[2], 1);
	is_int(poly_roots(got, &n, &f, 1), PGPS_ELIMIT,
	    "irreducible z^2 + 1 refused");
	/* (z^2 + 1)(z - 3): has a root but does not split. */
	zp_set_u64(&r[0], 3);
	poly_from_roots(&g, r, 1);
	poly_mul(&h, &f, &g);
	is_int(poly_roots(got, &n, &h, 1), PGPS_ELIMIT,
	    "partly split polynomial refused");
	poly_zero(&f);
	is_int(poly_roots(got, &n, &f, 1), PGPS_EFORMAT, "zero polynomial");
	poly_set_zp(&f, &c);
	ok(poly_roots(got, &n, &f, 1) == 0 && n == 0, "constant: no roots");
	diag("POLY_MAXDEG %d", POLY_MAXDEG);
}

int
main(void)
{
	test_arith();
	test_worked_example();
	test_roots();
	return done_testing();
}
