/*
 * par.h: runs a function over every certificate of a key set on several
 * threads, keeping the output in input order.
 *
 * The calling thread splits the input into batches (certificates are
 * copied, so readers may reuse their memory); workers run fn on each
 * certificate and append to the batch's output; the calling thread writes
 * finished batches to the sink in order.  Memory is bounded by the batches
 * in flight, not by the input.
 */
#ifndef PGPSYNC_CMD_PAR_H
#define PGPSYNC_CMD_PAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "util/buf.h"

struct ctx;
struct progress;

/*
 * Work on one certificate: append output to out.  A negative return with
 * err filled skips the certificate: the message is printed as a warning
 * and the certificate counted as skipped.  A positive return prints err's
 * message as a warning without counting (a policy decision, not damage).
 */
typedef int (*par_fn)(void *wstate, const struct pgp_raw_cert *c,
    const char *source, struct buf *out, struct pgps_err *err);

struct par_spec {
	int		  jobs;		/* worker threads; 0: one per CPU */
	size_t		  max_cert;	/* reader limit; 0: default */
	par_fn		  fn;
	void		*(*wstate_new)(void *arg);
	/* Called on the calling thread after the run, then frees it. */
	void		 (*wstate_done)(void *wstate, void *arg);
	void		 *arg;
	/* Receives each batch's output in order; NULL writes to stdout. */
	int		 (*sink)(const uint8_t *p, size_t len, void *arg);
	void		 *sink_arg;
	struct progress	 *progress;
};

struct par_result {
	uint64_t	 certs;		/* certificates handed to fn */
	uint64_t	 skipped;	/* bad regions and fn failures */
	uint64_t	 bytes;
};

/*
 * Runs spec over it.  Returns 0, or a negative code after a fatal input or
 * output error (already printed).  Warnings go to stderr unless quiet.
 */
int par_run(struct keyset_iter *it, const struct par_spec *spec,
    struct ctx *ctx, struct par_result *res);

/* The number of CPUs this process may use (at least 1). */
int par_ncpu(void);

#endif
