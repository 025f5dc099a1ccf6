/*
 * interp.c: recovering a set difference from sample values by rational
 * function interpolation (Minsky, Trachtenberg and Zippel; SKS decode.ml,
 * spec 5.7).
 *
 * The ratio f(k) = chi_R(k) / chi_L(k) of the two characteristic
 * polynomials at the sample points equals N(k)/D(k), where N has the
 * remote-only elements as roots and D the local-only ones.  A linear
 * system gives a candidate N/D; it is accepted only if it matches every
 * sample (the last one is never used to build it), both parts split into
 * distinct linear factors, and the roots are 128-bit elements.  Otherwise
 * the solve fails, which the protocol handles by descending or falling back
 * to full element lists.  No attempt is made to recover more than
 * nsamples - 1 differences.
 */
#include "util/common.h"

#include "recon/internal.h"
#include "recon/recon.h"
#include "util/err.h"

#define MAXM	(RECON_SOLVE_MAX_SAMPLES - 1)

/*
 * Solves the m x m system in mat (m rows of m coefficients and a right-hand
 * side) by Gauss-Jordan elimination.  Columns without a pivot are free
 * variables and get 0: the system is singular whenever the difference is
 * smaller than m, and any solution then reduces to the same fraction.
 * Returns PGPS_ELIMIT if the system has no solution.
 */
static int
solve_linear(struct zp x[MAXM], struct zp mat[MAXM][MAXM + 1], int m)
{
	int pivcol[MAXM], row = 0;
	struct zp inv, f, t;

	for (int col = 0; col < m && row < m; col++) {
		int r;

		for (r = row; r < m && zp_is_zero_inl(&mat[r][col]); r++)
			;
		if (r == m)
			continue;
		if (r != row) {
			for (int j = 0; j <= m; j++) {
				t = mat[r][j];
				mat[r][j] = mat[row][j];
				mat[row][j] = t;
			}
		}
		if (zp_inv(&inv, &mat[row][col]) != 0)
			return PGPS_EINTERNAL;
		for (int j = col; j <= m; j++)
			zp_mont_mul(&mat[row][j], &mat[row][j], &inv);
		for (int i = 0; i < m; i++) {
			if (i == row || zp_is_zero_inl(&mat[i][col]))
				continue;
			f = mat[i][col];
			for (int j = col; j <= m; j++) {
				zp_mont_mul(&t, &f, &mat[row][j]);
				zp_sub_inl(&mat[i][j], &mat[i][j], &t);
			}
		}
		pivcol[row++] = col;
	}
	/* Rows without a pivot must read 0 = 0. */
	for (int i = row; i < m; i++)
		if (!zp_is_zero_inl(&mat[i][m]))
			return PGPS_ELIMIT;
	for (int j = 0; j < m; j++)
		x[j].w[0] = x[j].w[1] = x[j].w[2] = 0;
	for (int i = 0; i < row; i++)
		x[pivcol[i]] = mat[i][m];
	return 0;
}

/* Roots of f as elements: PGPS_ELIMIT unless f splits into 128-bit roots. */
static int
elem_roots(struct recon_elem *out, size_t *n, const struct poly *f,
    uint64_t seed)
{
	struct zp roots[MAXM];
	size_t nr;
	int rc;

	if (f->deg > MAXM)
		return PGPS_ELIMIT;
	if ((rc = poly_roots(roots, &nr, f, seed)) != 0)
		return rc == PGPS_EINTERNAL ? rc : PGPS_ELIMIT;
	for (size_t i = 0; i < nr; i++)
		if (zp_get_elem(&out[i], &roots[i]) != 0)
			return PGPS_ELIMIT;
	*n = nr;
	return 0;
}

int
recon_solve(struct recon_solution *out, const struct zp *rsv, uint64_t rsize,
    const struct zp *lsv, uint64_t lsize, size_t nsamples, uint64_t seed)
{
	struct zp f[RECON_SOLVE_MAX_SAMPLES], k[RECON_SOLVE_MAX_SAMPLES];
	struct zp linv[RECON_SOLVE_MAX_SAMPLES], tmp[RECON_SOLVE_MAX_SAMPLES];
	struct zp mat[MAXM][MAXM + 1], x[MAXM], kp, t, nv, dv;
	struct poly a, b, g, num, den, rem;
	struct recon_solution sol;
	int mbar, m, ma, mb, d, rc;

	if (nsamples < 2 || nsamples > RECON_SOLVE_MAX_SAMPLES ||
	    rsize > UINT32_MAX || lsize > UINT32_MAX)
		return PGPS_EFORMAT;
	mbar = (int)nsamples - 1;
	/* The sizes are exact, so their difference is deg N - deg D. */
	if (rsize > lsize + (uint64_t)mbar || lsize > rsize + (uint64_t)mbar)
		return PGPS_ELIMIT;
	d = (int)((int64_t)rsize - (int64_t)lsize);

	/* f_i = R_i / L_i; a zero L_i means a sample point in the set. */
	if (zp_inv_batch(linv, lsv, tmp, nsamples) != 0)
		return PGPS_ELIMIT;
	for (size_t i = 0; i < nsamples; i++) {
		zp_point(&k[i], (unsigned int)i);
		zp_mont_mul(&f[i], &rsv[i], &linv[i]);
	}

	/* m unknowns with m + d even: deg A = (m+d)/2, deg B = (m-d)/2. */
	m = (mbar + d) % 2 == 0 ? mbar : mbar - 1;
	ma = (m + d) / 2;
	mb = (m - d) / 2;

	/*
	 * Row j: sum a_i k^i - f sum b_i k^i = f k^mb - k^ma, from the
	 * monic A(k) = f B(k).
	 */
	for (int j = 0; j < m; j++) {
		struct zp kmb, kma;

		zp_one(&kp);
		for (int i = 0; i < ma || i < mb; i++) {
			if (i < ma)
				mat[j][i] = kp;
			if (i < mb) {
				zp_mont_mul(&t, &f[j], &kp);
				zp_neg(&mat[j][ma + i], &t);
			}
			zp_mont_mul(&kp, &kp, &k[j]);
		}
		zp_one(&kma);
		for (int i = 0; i < ma; i++)
			zp_mont_mul(&kma, &kma, &k[j]);
		zp_one(&kmb);
		for (int i = 0; i < mb; i++)
			zp_mont_mul(&kmb, &kmb, &k[j]);
		zp_mont_mul(&t, &f[j], &kmb);
		zp_sub_inl(&mat[j][m], &t, &kma);
	}
	if ((rc = solve_linear(x, mat, m)) != 0)
		return rc;

	a.deg = ma;
	for (int i = 0; i < ma; i++)
		a.c[i] = x[i];
	zp_one(&a.c[ma]);
	b.deg = mb;
	for (int i = 0; i < mb; i++)
		b.c[i] = x[ma + i];
	zp_one(&b.c[mb]);

	/* N/D in lowest terms. */
	if ((rc = poly_gcd(&g, &a, &b)) != 0 ||
	    (rc = poly_divmod(&num, &rem, &a, &g)) != 0)
		return rc;
	if (rem.deg >= 0)
		return PGPS_EINTERNAL;
	if ((rc = poly_divmod(&den, &rem, &b, &g)) != 0)
		return rc;
	if (rem.deg >= 0)
		return PGPS_EINTERNAL;
	if (num.deg - den.deg != d)
		return PGPS_ELIMIT;

	/*
	 * The fraction must reproduce every sample.  Only the last point is
	 * independent of the system; checking the others costs nothing and
	 * catches points where the common factor vanished.
	 */
	for (size_t i = 0; i < nsamples; i++) {
		poly_eval(&nv, &num, &k[i]);
		poly_eval(&dv, &den, &k[i]);
		if (zp_is_zero_inl(&dv))
			return PGPS_ELIMIT;
		zp_mont_mul(&t, &f[i], &dv);
		if (!zp_eq(&t, &nv))
			return PGPS_ELIMIT;
	}

	if ((rc = elem_roots(sol.remote, &sol.nremote, &num, seed)) != 0 ||
	    (rc = elem_roots(sol.local, &sol.nlocal, &den,
	    seed ^ 0x5851f42d4c957f2dULL)) != 0)
		return rc;
	*out = sol;
	return 0;
}
