/*
 * recon-zp.c: timings of the recon maths.  Prints ns per GF(p)
 * multiplication (a dependent chain, so latency, and four interleaved
 * chains), per inversion, per prefix-tree insert and delete for a million
 * random elements, the time to bring the tree's cached sample values up
 * to date, and to save and load it.  Usage: recon-zp [elements [dir]]
 * (dir for the tree file, default /tmp).
 */
#include "util/common.h"

#include <unistd.h>

#include "recon/recon.h"

#define RNG_SEED	1
#include "../unit/rng.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
random_elem(struct recon_elem *e)
{
	rng_fill16(e->b);
}

static void
bench_zp(void)
{
	struct recon_elem e;
	struct zp a, b, c[4];
	double t;
	const int n = 20000000;

	random_elem(&e);
	zp_set_elem(&a, &e);
	random_elem(&e);
	zp_set_elem(&b, &e);
	t = now();
	for (int i = 0; i < n; i++)
		zp_mul(&a, &a, &b);
	t = now() - t;
	printf("zp_mul (dependent chain): %.2f ns\n", t * 1e9 / n);
	for (int j = 0; j < 4; j++)
		c[j] = a;
	t = now();
	for (int i = 0; i < n / 4; i++)
		for (int j = 0; j < 4; j++)
			zp_mul(&c[j], &c[j], &b);
	t = now() - t;
	printf("zp_mul (4 independent chains): %.2f ns\n", t * 1e9 / n);
	t = now();
	for (int i = 0; i < n; i++)
		zp_add(&a, &a, &b);
	t = now() - t;
	printf("zp_add: %.2f ns\n", t * 1e9 / n);
	t = now();
	for (int i = 0; i < n / 200; i++)
		zp_inv(&a, &a);
	t = now() - t;
	printf("zp_inv: %.0f ns\n", t * 1e9 / (n / 200));
	/* Keep the results alive. */
	if (zp_is_zero(&a) && zp_is_zero(&c[0]) && zp_is_zero(&c[3]))
		printf("(zero)\n");
}

/* One interpolation with 3 + 2 differences, the common case of recon. */
static void
bench_solve(void)
{
	struct zp rsv[RECON_NSAMPLES], lsv[RECON_NSAMPLES], k, z, t;
	struct recon_solution sol;
	struct recon_elem e;
	double s;
	int reps = 200, fails = 0;

	for (int i = 0; i < RECON_NSAMPLES; i++) {
		zp_set_u64(&rsv[i], 1);
		zp_set_u64(&lsv[i], 1);
	}
	for (int j = 0; j < 5; j++) {
		random_elem(&e);
		zp_set_elem(&z, &e);
		for (unsigned int i = 0; i < RECON_NSAMPLES; i++) {
			zp_point(&k, i);
			zp_sub(&t, &k, &z);
			zp_mul(j < 3 ? &rsv[i] : &lsv[i], j < 3 ? &rsv[i] :
			    &lsv[i], &t);
		}
	}
	s = now();
	for (int r = 0; r < reps; r++)
		fails += recon_solve(&sol, rsv, 3, lsv, 2, RECON_NSAMPLES,
		    (uint64_t)r) != 0;
	s = now() - s;
	printf("recon_solve, 5 differences: %.0f us (%d failed)\n",
	    s * 1e6 / reps, fails);
	/* The same samples with a wrong size: refused by the checks. */
	s = now();
	for (int r = 0; r < reps; r++)
		fails += recon_solve(&sol, rsv, 4, lsv, 1, RECON_NSAMPLES,
		    (uint64_t)r) == 0;
	s = now() - s;
	printf("recon_solve refusing a bad difference: %.0f us (%d wrong)\n",
	    s * 1e6 / reps, fails);
}

static void
bench_ptree(size_t n, const char *dir)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct recon_ptree *t = NULL, *u = NULL;
	struct recon_elem *el;
	char path[4096];
	double s;

	if ((el = calloc(n, sizeof(*el))) == NULL ||
	    recon_ptree_new(&t) != 0) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		random_elem(&el[i]);
	s = now();
	for (size_t i = 0; i < n; i++) {
		if (recon_ptree_insert(t, &el[i], NULL) != 0) {
			fprintf(stderr, "insert failed\n");
			exit(1);
		}
	}
	s = now() - s;
	printf("ptree insert: %zu elements in %.3f s, %.0f ns each\n", n, s,
	    s * 1e9 / (double)n);
	s = now();
	recon_node_svalues(recon_ptree_root(t));
	s = now() - s;
	printf("ptree sample values brought up to date: %.3f s\n", s);
	snprintf(path, sizeof(path), "%s/recon-zp-bench.tree", dir);
	s = now();
	if (recon_ptree_save(t, path, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	s = now() - s;
	printf("ptree save: %.3f s\n", s);
	for (int verify = 0; verify <= 1; verify++) {
		s = now();
		if (recon_ptree_load(&u, path, verify ?
		    RECON_PTREE_LOAD_VERIFY : 0, &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			exit(1);
		}
		s = now() - s;
		printf("ptree load%s: %.3f s\n", verify ?
		    " with verification" : "", s);
		recon_ptree_free(u);
	}
	unlink(path);
	s = now();
	for (size_t i = 0; i < n; i += 10)
		recon_ptree_delete(t, &el[i], NULL);
	s = now() - s;
	printf("ptree delete: %.0f ns each\n", s * 1e9 / (double)(n / 10));
	recon_ptree_free(t);
	free(el);
}

int
main(int argc, char **argv)
{
	size_t n = 1000000;

	if (argc > 1)
		n = strtoul(argv[1], NULL, 10);
	bench_zp();
	bench_solve();
	bench_ptree(n, argc > 2 ? argv[2] : "/tmp");
	return 0;
}
