/*
 * test-recon-interp.c: recovery of set differences from sample values.
 *
 * Random sets with known differences (fixed seeds) must come back exactly
 * whenever the difference fits the capacity (t <= mbar with t and the size
 * difference of equal parity, i.e. 5 when d is odd and 4 when d is even for
 * mbar 5), and must be refused, never answered wrongly, beyond it.
 */
#include "util/common.h"

#include "recon/recon.h"
#include "util/hex.h"
#include "tap.h"

#define RNG_SEED	2024
#include "rng.h"

static void
random_elem(struct recon_elem *e)
{
	rng_fill16(e->b);
}

/* sv[i] *= prod over e of (point_i - e), as the prefix tree keeps it. */
static void
svalues_add(struct zp *sv, size_t ns, const struct recon_elem *e, size_t n)
{
	struct zp k, z, t;

	for (size_t j = 0; j < n; j++) {
		zp_set_elem(&z, &e[j]);
		for (size_t i = 0; i < ns; i++) {
			zp_point(&k, (unsigned int)i);
			zp_sub(&t, &k, &z);
			zp_mul(&sv[i], &sv[i], &t);
		}
	}
}

static void
svalues_init(struct zp *sv, size_t ns)
{
	for (size_t i = 0; i < ns; i++)
		zp_set_u64(&sv[i], 1);
}

/* got (n) and want (n) hold the same elements. */
static int
same_elems(const struct recon_elem *got, size_t ngot,
    const struct recon_elem *want, size_t nwant)
{
	if (ngot != nwant)
		return 0;
	for (size_t i = 0; i < ngot; i++) {
		size_t j;

		for (j = 0; j < nwant; j++)
			if (memcmp(got[i].b, want[j].b, RECON_ELEM_LEN) == 0)
				break;
		if (j == nwant)
			return 0;
	}
	return 1;
}

/*
 * Builds R = C + ronly and L = C + lonly with |C| = ncommon and solves.
 * Returns the solve's code; *exact tells whether the result was right.
 */
static int
run_case(size_t ns, size_t ncommon, size_t nr, size_t nl, int *exact)
{
	static struct recon_elem common[400];
	struct recon_elem ronly[40], lonly[40];
	struct zp rsv[RECON_SOLVE_MAX_SAMPLES], lsv[RECON_SOLVE_MAX_SAMPLES];
	struct recon_solution sol;
	int rc;

	for (size_t i = 0; i < ncommon; i++)
		random_elem(&common[i]);
	for (size_t i = 0; i < nr; i++)
		random_elem(&ronly[i]);
	for (size_t i = 0; i < nl; i++)
		random_elem(&lonly[i]);
	svalues_init(rsv, ns);
	svalues_init(lsv, ns);
	svalues_add(rsv, ns, common, ncommon);
	svalues_add(lsv, ns, common, ncommon);
	svalues_add(rsv, ns, ronly, nr);
	svalues_add(lsv, ns, lonly, nl);
	memset(&sol, 0xaa, sizeof(sol));
	rc = recon_solve(&sol, rsv, ncommon + nr, lsv, ncommon + nl, ns,
	    next64());
	*exact = rc == 0 && same_elems(sol.remote, sol.nremote, ronly, nr) &&
	    same_elems(sol.local, sol.nlocal, lonly, nl);
	return rc;
}

static void
test_toy_example(void)
{
	/* Spec 5.7: the ratios f_i for R\L = {10, 20}, L\R = {30}. */
	static const char *fhex[RECON_NSAMPLES] = {
		"b62c6e20e6031586eabf5c5a9860130a01",
		"35a3e08d4788bb8e96f549c3f4ea3d1b01",
		"c1c488802628b033b908120f27054d4a01",
		"4cf27be462a4d7d6e757a865abcc552b01",
		"de80c1c4ab01095e1b09ba26f84d087200",
		"0246d0c42ae1b8baa3c8a618e5872b1601",
	};
	struct zp rsv[RECON_NSAMPLES], lsv[RECON_NSAMPLES], f, want;
	struct recon_elem r[2], l[1];
	struct recon_solution sol;
	uint8_t b[ZP_NBYTES];
	int bad = 0;

	memset(r, 0, sizeof(r));
	memset(l, 0, sizeof(l));
	r[0].b[0] = 10;
	r[1].b[0] = 20;
	l[0].b[0] = 30;
	svalues_init(rsv, RECON_NSAMPLES);
	svalues_init(lsv, RECON_NSAMPLES);
	svalues_add(rsv, RECON_NSAMPLES, r, 2);
	svalues_add(lsv, RECON_NSAMPLES, l, 1);
	for (int i = 0; i < RECON_NSAMPLES; i++) {
		zp_inv(&f, &lsv[i]);
		zp_mul(&f, &f, &rsv[i]);
		hex_decode(b, sizeof(b), fhex[i], 34);
		zp_set_bytes(&want, b);
		bad += !zp_eq(&f, &want);
	}
	is_int(bad, 0, "ratios f_i of the worked example (spec 5.7)");
	is_int(recon_solve(&sol, rsv, 2, lsv, 1, RECON_NSAMPLES, 1), 0,
	    "worked example solves");
	ok(same_elems(sol.remote, sol.nremote, r, 2), "remote-only {10, 20}");
	ok(same_elems(sol.local, sol.nlocal, l, 1), "local-only {30}");
}

static void
test_capacity(void)
{
	int exact, rc, cases = 0, wrong = 0, fails = 0, refused = 0;

	/* Every split of every difference that fits, several times. */
	for (size_t nr = 0; nr <= RECON_MBAR; nr++) {
		for (size_t nl = 0; nr + nl <= RECON_MBAR; nl++) {
			int d = (int)nr - (int)nl;
			int m = (RECON_MBAR + d) % 2 == 0 ? RECON_MBAR :
			    RECON_MBAR - 1;

			if ((int)(nr + nl) > m)
				continue;
			for (int rep = 0; rep < 6; rep++) {
				size_t nc = rep == 0 ? 0 : next64() % 300;

				rc = run_case(RECON_NSAMPLES, nc, nr, nl,
				    &exact);
				cases++;
				fails += rc != 0;
				wrong += rc == 0 && !exact;
			}
		}
	}
	is_int(fails, 0, "%d fitting differences (t <= m) all solve", cases);
	is_int(wrong, 0, "and every recovered difference is exact");

	/* Beyond capacity: refused, never wrong. */
	cases = 0;
	wrong = 0;
	for (size_t t = 5; t <= 14; t++) {
		for (size_t nr = 0; nr <= t; nr++) {
			size_t nl = t - nr;
			int d = (int)nr - (int)nl;
			int m = (RECON_MBAR + d) % 2 == 0 ? RECON_MBAR :
			    RECON_MBAR - 1;

			if ((int)t <= m)
				continue;
			rc = run_case(RECON_NSAMPLES, next64() % 100, nr, nl,
			    &exact);
			cases++;
			refused += rc == PGPS_ELIMIT;
			wrong += rc == 0;
		}
	}
	is_int(wrong, 0, "%d differences beyond capacity: no answer", cases);
	is_int(refused, cases, "all refused with PGPS_ELIMIT");
	/* The size difference alone exceeds mbar. */
	rc = run_case(RECON_NSAMPLES, 10, 6, 0, &exact);
	is_int(rc, PGPS_ELIMIT, "|d| = 6 > mbar refused at once");
	rc = run_case(RECON_NSAMPLES, 10, 0, 6, &exact);
	is_int(rc, PGPS_ELIMIT, "|d| = -6 refused");
}

static void
test_other_mbar(void)
{
	int exact, bad = 0, wrong = 0;

	/* The solver is generic: 20 samples recover 19 or 18 differences. */
	for (int rep = 0; rep < 10; rep++) {
		size_t nr = next64() % 20, nl;
		int m;

		nl = 19 - nr;
		m = (19 + (int)nr - (int)nl) % 2 == 0 ? 19 : 18;
		if ((int)(nr + nl) > m)
			nl--;
		if (run_case(20, next64() % 50, nr, nl, &exact) != 0 || !exact)
			bad++;
		if (run_case(20, 30, nr + 2, nl + 1, &exact) == 0)
			wrong++;
	}
	is_int(bad, 0, "20 samples: 10 differences of size 18-19 recovered");
	is_int(wrong, 0, "20 samples: 21-22 differences refused");
}

static void
test_bad_input(void)
{
	struct zp sv[RECON_NSAMPLES];
	struct recon_solution sol;

	svalues_init(sv, RECON_NSAMPLES);
	is_int(recon_solve(&sol, sv, 0, sv, 0, 1, 0), PGPS_EFORMAT,
	    "one sample is not enough");
	is_int(recon_solve(&sol, sv, 0, sv, 0, RECON_SOLVE_MAX_SAMPLES + 1, 0),
	    PGPS_EFORMAT, "too many samples");
	is_int(recon_solve(&sol, sv, 0, sv, 0, RECON_NSAMPLES, 0), 0,
	    "two empty sets: no difference");
	ok(sol.nremote == 0 && sol.nlocal == 0, "empty difference");
	zp_set_u64(&sv[2], 0);
	is_int(recon_solve(&sol, sv, 0, sv, 0, RECON_NSAMPLES, 0), PGPS_ELIMIT,
	    "a zero local sample value is refused");
	diag("capacity with mbar %d: 5 if d odd, 4 if d even", RECON_MBAR);
}

int
main(void)
{
	test_toy_example();
	test_capacity();
	test_other_mbar();
	test_bad_input();
	return done_testing();
}
