/*
 * par.h: keyset_par_run() (keyset/par.h) for a command: warnings printed
 * as they come (unless --quiet), progress shown, a fatal error printed,
 * and output written to standard output unless a sink is given.
 */
#ifndef PGPSYNC_CMD_PAR_H
#define PGPSYNC_CMD_PAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "keyset/par.h"
#include "util/buf.h"

struct ctx;
struct progress;

typedef keyset_par_fn par_fn;

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

#define par_result	keyset_par_result

/*
 * Runs spec over it.  Returns 0, or a negative code after a fatal input or
 * output error (already printed).  Warnings go to stderr unless quiet.
 */
int par_run(struct keyset_iter *it, const struct par_spec *spec,
    struct ctx *ctx, struct par_result *res);

/* The number of CPUs this process may use (at least 1). */
#define par_ncpu	keyset_par_ncpu

#endif
