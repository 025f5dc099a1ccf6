/*
 * stats.c: the statistics of a key set, one struct pgp_stats per worker
 * summed at the end (keyset/stats.h).
 */
#include "util/common.h"

#include "keyset/stats.h"

struct stats_run {
	struct pgp_stats	*total;
	size_t			 top;
};

struct stats_ws {
	struct stats_run	*run;
	struct pgp_stats	 st;
	struct pgp_cert		 cert;
};

static void *
stats_ws_new(void *arg)
{
	struct stats_run *run = arg;
	struct stats_ws *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if (pgp_stats_init(&w->st, run->top) != 0) {
		free(w);
		return NULL;
	}
	w->run = run;
	w->cert = (struct pgp_cert)PGP_CERT_INIT;
	return w;
}

static void
stats_ws_done(void *ws, void *arg)
{
	struct stats_ws *w = ws;

	(void)arg;
	pgp_stats_merge(w->run->total, &w->st);
	pgp_stats_release(&w->st);
	pgp_cert_release(&w->cert);
	free(w);
}

static int
stats_one(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	struct stats_ws *w = ws;
	int r;

	(void)out;
	if ((r = keyset_par_parse(&w->cert, raw, source, err)) != 0)
		return r;
	pgp_stats_add(&w->st, &w->cert, source);
	return 0;
}

int
keyset_stats(struct pgp_stats *out, struct keyset_iter *it,
    const struct keyset_stats_spec *spec, struct keyset_par_result *res,
    struct pgps_err *err)
{
	struct keyset_par_spec ps;
	struct stats_run run;

	memset(res, 0, sizeof(*res));
	if (pgp_stats_init(out, spec->top) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	run.total = out;
	run.top = spec->top;
	memset(&ps, 0, sizeof(ps));
	ps.jobs = spec->jobs;
	ps.fn = stats_one;
	ps.wstate_new = stats_ws_new;
	ps.wstate_done = stats_ws_done;
	ps.arg = &run;
	ps.warn = spec->warn;
	ps.progress = spec->progress;
	ps.report_arg = spec->arg;
	return keyset_par_run(it, &ps, res, err);
}
