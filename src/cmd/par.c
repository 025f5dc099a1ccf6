/*
 * par.c: the command layer's side of the parallel map: printing.
 */
#include "util/common.h"

#include <errno.h>

#include "cmd/cmd.h"
#include "cmd/par.h"

static void
par_warn(const char *msg, void *arg)
{
	struct ctx *ctx = arg;

	if (!ctx->quiet)
		warn("%s", msg);
}

/* Progress: the struct progress is the report argument's. */
struct par_report {
	struct ctx	*ctx;
	struct progress	*progress;
};

static void
par_warn_report(const char *msg, void *arg)
{
	par_warn(msg, ((struct par_report *)arg)->ctx);
}

static void
par_progress(uint64_t done, uint64_t certs, void *arg)
{
	struct par_report *r = arg;

	if (r->progress != NULL)
		progress_update(r->progress, done, certs);
}

/* The default sink; a reader that went away (head) is no news. */
static int
par_stdout(const uint8_t *p, size_t len, void *arg)
{
	(void)arg;
	if (fwrite(p, 1, len, stdout) == len)
		return 0;
	if (errno != EPIPE)
		error("write error on standard output: %s", strerror(errno));
	return -1;
}

int
par_run(struct keyset_iter *it, const struct par_spec *spec, struct ctx *ctx,
    struct par_result *res)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_par_spec ks;
	struct par_report rep = { ctx, spec->progress };
	int rc;

	memset(&ks, 0, sizeof(ks));
	ks.jobs = spec->jobs;
	ks.max_cert = spec->max_cert;
	ks.fn = spec->fn;
	ks.wstate_new = spec->wstate_new;
	ks.wstate_done = spec->wstate_done;
	ks.arg = spec->arg;
	ks.sink = spec->sink != NULL ? spec->sink : par_stdout;
	ks.sink_arg = spec->sink_arg;
	ks.warn = par_warn_report;
	ks.progress = par_progress;
	ks.report_arg = &rep;
	rc = keyset_par_run(it, &ks, res, &err);
	if (rc < 0 && err.code != 0)
		error("%s", err.msg);
	return rc == 0 ? 0 : -1;
}
