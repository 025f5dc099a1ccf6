/*
 * recon-traffic: reconciliation traffic of the driver strategies against a
 * responder that follows SKS's rules, in memory, against the information
 * minimum (16 octets per differing element).
 *
 *   recon-traffic [-n COMMON] [-d DIFF] [-r RUNS]
 *   recon-traffic -a HASHES -b HASHES
 *
 * Both sets hold COMMON random elements; each side has DIFF of its own.
 * With -a and -b, the driver's and the responder's sets are read from
 * files of SKS hashes (the first word of each line of "pgpsync dump
 * hashes"), for a replay of the sets of tests/bench/reconcile.sh.
 * The strategies: SKS's driver (Full below 150), every level asked by
 * Poly (pgpsync --listen before level skipping), and pgpsync's driver.
 * Figures are means over RUNS pairs of sets (different seeds).
 */
#include "util/common.h"

#include <unistd.h>

#include "recon/recon.h"
#include "util/err.h"
#include "util/hex.h"

#define RNG_SEED	1
#include "../unit/rng.h"

static void
random_elem(struct recon_elem *e)
{
	rng_fill16(e->b);
}

static int
pass(struct recon_session *a, struct recon_session *b, size_t *moved,
    struct pgps_err *err)
{
	const uint8_t *p;
	size_t n;
	int r;

	recon_session_output(a, &p, &n);
	*moved = n;
	if (n == 0)
		return 0;
	r = recon_session_input(b, p, n, err);
	recon_session_consumed(a, n);
	return r;
}

/*
 * Reads the hashes of path into t; returns how many, or -1.  Counts in
 * *common those that other (may be NULL) holds.
 */
static long
read_hashes(struct recon_ptree *t, const char *path,
    const struct recon_ptree *other, size_t *common)
{
	char line[256];
	struct recon_elem e;
	long n = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (hex_decode(e.b, sizeof(e.b), line, 32) != 0) {
			fprintf(stderr, "%s: line %ld is not a hash\n", path,
			    n + 1);
			fclose(f);
			return -1;
		}
		if (recon_ptree_insert(t, &e, NULL) != 0) {
			fclose(f);
			return -1;
		}
		if (other != NULL && recon_ptree_has(other, &e))
			(*common)++;
		n++;
	}
	fclose(f);
	return n;
}

struct strategy {
	const char	*name;
	uint32_t	 thresh;
	bool		 no_skip;
};

static const struct strategy strategies[] = {
	{ "SKS driver (Full below 150)", 0, true },
	{ "Poly at every level", 1, true },
	{ "pgpsync (level skipping)", 1, false },
};

/* Builds the two trees of run number run. */
static int
make_sets(struct recon_ptree **td, struct recon_ptree **tr, size_t run,
    size_t common, size_t diff, const char *fa, const char *fb,
    size_t *ndiff)
{
	struct recon_elem e;
	long na, nb;
	size_t both = 0;

	if (recon_ptree_new(td) != 0 || recon_ptree_new(tr) != 0)
		return -1;
	if (fa != NULL) {
		if ((na = read_hashes(*td, fa, NULL, NULL)) < 0 ||
		    (nb = read_hashes(*tr, fb, *td, &both)) < 0)
			return -1;
		*ndiff = (size_t)na + (size_t)nb - 2 * both;
		return 0;
	}
	rng = 1000 + run;
	for (size_t i = 0; i < common; i++) {
		random_elem(&e);
		recon_ptree_insert(*td, &e, NULL);
		recon_ptree_insert(*tr, &e, NULL);
	}
	for (size_t i = 0; i < diff; i++) {
		random_elem(&e);
		recon_ptree_insert(*td, &e, NULL);
		random_elem(&e);
		recon_ptree_insert(*tr, &e, NULL);
	}
	*ndiff = 2 * diff;
	return 0;
}

int
main(int argc, char **argv)
{
	size_t common = 100000, diff = 1000, runs = 3, ndiff = 0;
	double total[3] = { 0 }, polys[3] = { 0 }, level = 0, split = 0;
	const char *fa = NULL, *fb = NULL;
	int c;

	while ((c = getopt(argc, argv, "a:b:n:d:r:")) != -1) {
		switch (c) {
		case 'a':
			fa = optarg;
			break;
		case 'b':
			fb = optarg;
			break;
		case 'n':
			common = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			diff = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: recon-traffic [-n common] "
			    "[-d diff] [-r runs]\n"
			    "       recon-traffic -a hashes -b hashes "
			    "[-r runs]\n");
			return 2;
		}
	}
	if (runs == 0 || diff == 0 || (fa == NULL) != (fb == NULL)) {
		fprintf(stderr, "recon-traffic: -d and -r must be positive, "
		    "-a and -b go together\n");
		return 2;
	}
	for (size_t run = 0; run < runs; run++) {
		struct recon_ptree *td, *tr;

		if (make_sets(&td, &tr, run, common, diff, fa, fb,
		    &ndiff) != 0) {
			fprintf(stderr, "recon-traffic: cannot build the "
			    "sets\n");
			return 2;
		}
		if (ndiff == 0) {
			fprintf(stderr, "recon-traffic: the sets are equal\n");
			return 2;
		}
		for (size_t k = 0; k < 3; k++) {
			struct recon_session_opts od = { 0 }, orr = { 0 };
			struct recon_session *sd, *sr;
			struct recon_session_stats st;
			struct pgps_err err;
			size_t m1, m2;

			od.role = RECON_ROLE_DRIVER;
			od.http_port = 11371;
			od.full_thresh = strategies[k].thresh;
			od.no_skip = strategies[k].no_skip;
			od.seed = run;
			orr.role = RECON_ROLE_RESPONDER;
			orr.http_port = 11381;
			orr.seed = run;
			if (recon_session_new(&sd, td, &od) != 0 ||
			    recon_session_new(&sr, tr, &orr) != 0)
				return 2;
			for (;;) {
				if (pass(sr, sd, &m1, &err) != 0 ||
				    pass(sd, sr, &m2, &err) != 0) {
					fprintf(stderr, "%s\n", err.msg);
					return 1;
				}
				if (m1 == 0 && m2 == 0)
					break;
			}
			if (recon_session_state(sd) != RECON_STATE_DONE)
				return 1;
			recon_session_get_stats(sd, &st);
			total[k] += (double)(st.bytes_in + st.bytes_out);
			polys[k] += (double)st.requests_poly;
			if (k == 2) {
				level += st.probe_level;
				split += st.split_small;
			}
			recon_session_free(sd);
			recon_session_free(sr);
		}
		recon_ptree_free(td);
		recon_ptree_free(tr);
	}
	if (fa != NULL)
		printf("%s and %s, %zu differing, mean of %zu runs; minimum "
		    "%zu octets\n", fa, fb, ndiff, runs, 16 * ndiff);
	else
		printf("%zu common, %zu own on each side, mean of %zu runs; "
		    "minimum %zu octets\n", common, diff, runs, 16 * ndiff);
	for (size_t k = 0; k < 3; k++)
		printf("  %-28s %9.0f octets = %5.2f x, %6.0f Poly\n",
		    strategies[k].name, total[k] / runs,
		    total[k] / runs / (16.0 * (double)ndiff), polys[k] / runs);
	printf("  pgpsync skipped to level %.1f and asked %.0f small nodes "
	    "there by their children, on average\n", level / runs,
	    split / runs);
	return 0;
}
