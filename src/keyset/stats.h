/*
 * stats.h: the statistics of a whole key set (openpgp/stats.h), counted
 * on every CPU with keyset_par_run() (keyset/par.h).
 *
 *	struct keyset_stats_spec spec = KEYSET_STATS_SPEC_INIT;
 *	struct pgp_stats st;
 *
 *	spec.top = 10;
 *	spec.warn = print_warning;	// damage, secret keys
 *	if (keyset_stats(&st, it, &spec, &res, &err) != 0)
 *		... err.msg ...
 *	... st.certs, st.top[0].fpr ...
 *	pgp_stats_release(&st);
 */
#ifndef PGPSYNC_KEYSET_STATS_H
#define PGPSYNC_KEYSET_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "keyset/par.h"
#include "openpgp/stats.h"
#include "util/err.h"

struct keyset_stats_spec {
	int		  jobs;		/* threads; 0: one per CPU */
	size_t		  top;		/* largest certificates to keep */
	/* As in struct keyset_par_spec; arg is theirs. */
	void		(*warn)(const char *msg, void *arg);
	void		(*progress)(uint64_t done, uint64_t certs, void *arg);
	void		 *arg;
};
#define KEYSET_STATS_SPEC_INIT	{ 0, 0, NULL, NULL, NULL }

/*
 * Counts every certificate of it into *out (initialised here; release it
 * with pgp_stats_release() whatever the return).  A damaged region, a
 * certificate that does not parse and secret key material are passed to
 * spec->warn and counted in res->skipped, not in *out.  Returns 0, or a
 * negative code with err set (fatal input error, no memory).
 */
int keyset_stats(struct pgp_stats *out, struct keyset_iter *it,
    const struct keyset_stats_spec *spec, struct keyset_par_result *res,
    struct pgps_err *err);

#endif
