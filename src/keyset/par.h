/*
 * par.h: runs a function over every certificate of a key set on several
 * threads, keeping the output in input order.
 *
 * The calling thread splits the input into batches (certificates are
 * copied, so readers may reuse their memory); workers run fn on each
 * certificate and append to the batch's output; the calling thread hands
 * finished batches to the sink in order, and with them the warnings of
 * their certificates.  Memory is bounded by the batches in flight, not by
 * the input.  Nothing here prints: warnings and progress go to callbacks,
 * all of them called on the calling thread.
 *
 * src/keyset/index.h builds the SKS-hash index of a set on this, and
 * keyset/stats.h its statistics; keyset_put_all() below puts a whole set
 * into another with it.
 */
#ifndef PGPSYNC_KEYSET_PAR_H
#define PGPSYNC_KEYSET_PAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyset/keyset.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Work on one certificate (on a worker thread): append output to out.  A
 * negative return with err filled skips the certificate: the message goes
 * to the warn callback and the certificate is counted as skipped.  A
 * positive return passes err's message to warn without counting (a
 * policy decision, not damage).
 */
typedef int (*keyset_par_fn)(void *wstate, const struct pgp_raw_cert *c,
    const char *source, struct buf *out, struct pgps_err *err);

struct keyset_par_spec {
	int		  jobs;		/* worker threads; 0: one per CPU */
	size_t		  max_cert;	/* reader limit; 0: default */
	keyset_par_fn	  fn;
	/* Per-worker state; NULL means out of memory. */
	void		*(*wstate_new)(void *arg);
	/* Called on the calling thread after the run, then frees it. */
	void		 (*wstate_done)(void *wstate, void *arg);
	void		 *arg;
	/*
	 * Receives each batch's output in order (may be NULL: discarded).
	 * A non-zero return stops the run: keyset_par_run() returns it.
	 */
	int		 (*sink)(const uint8_t *p, size_t len, void *arg);
	void		 *sink_arg;
	/* A skipped certificate or bad region, in input order; may be NULL. */
	void		 (*warn)(const char *msg, void *arg);
	/*
	 * After each batch is read: bytes of input read so far and
	 * certificates handed out; may be NULL.
	 */
	void		 (*progress)(uint64_t done, uint64_t certs, void *arg);
	void		 *report_arg;	/* of warn and progress */
};

struct keyset_par_result {
	uint64_t	 certs;		/* certificates handed to fn */
	uint64_t	 skipped;	/* bad regions and fn failures */
	uint64_t	 bytes;
};

/*
 * Runs spec over it and fills *res.  Returns 0; the sink's non-zero
 * return; or a negative code with err set after a fatal input error, no
 * memory, or no thread.  Warnings already passed on stay passed on.
 */
int keyset_par_run(struct keyset_iter *it, const struct keyset_par_spec *spec,
    struct keyset_par_result *res, struct pgps_err *err);

/* The number of CPUs this process may use (1 to 64). */
int keyset_par_ncpu(void);

/* --- one certificate after the other --------------------------------- */

/*
 * Parses raw, read from source, into *c (reused) for work on a whole
 * set: 0, or a negative code with err naming source and the offset, for
 * damage and for secret key material (a secret key is not a certificate
 * to count, compare or write).
 */
int keyset_par_parse(struct pgp_cert *c, const struct pgp_raw_cert *raw,
    const char *source, struct pgps_err *err);

/*
 * The next certificate of it parsed into *c (reused: release it with
 * pgp_cert_release()), on the calling thread, for work that must see
 * the certificates in order.  Returns 1, 0 at the end, or a negative
 * code with err set after a fatal input error.  A damaged region, a
 * certificate that does not parse and secret key material are passed to
 * warn (may be NULL) with arg and counted in *skipped.
 */
int keyset_iter_next_cert(struct keyset_iter *it, struct pgp_cert *c,
    void (*warn)(const char *msg, void *arg), void *arg, uint64_t *skipped,
    struct pgps_err *err);

/* --- putting a whole set ---------------------------------------------- */

struct keyset_put_spec {
	int		  jobs;		/* threads; 0: one per CPU */
	/*
	 * A set that is not prepared apart (a GnuPG keyring) is flushed
	 * after this many certificates or bytes (0: 1000, 32 MiB): large
	 * enough that gpg starts rarely, small enough to bound memory.
	 */
	size_t		  batch_certs;
	size_t		  batch_bytes;
	/* As in struct keyset_par_spec; arg is theirs. */
	void		(*warn)(const char *msg, void *arg);
	void		(*progress)(uint64_t done, uint64_t certs, void *arg);
	void		 *arg;
};
#define KEYSET_PUT_SPEC_INIT	{ 0, 0, 0, NULL, NULL, NULL }

/*
 * Puts every certificate of it into ks (keyset_put()) in input order,
 * bare key revocations included (they join their keys).  A set whose
 * backend prepares certificates apart (a store: parsing, the limits,
 * hashing and packing) has them prepared on every CPU; the others are
 * put on the calling thread and flushed in batches (keyset_flush()).
 * Damaged regions go to spec->warn and are counted in res->skipped.
 * Nothing is committed.  Returns 0, or a negative code with err set;
 * then *read_failed (may be NULL) says whether reading it failed, in
 * which case what was put before the failure is still put (and, for a
 * GnuPG keyring, all but the last batch flushed), or putting did.
 */
int keyset_put_all(struct keyset *ks, struct keyset_iter *it,
    const struct keyset_put_spec *spec, struct keyset_par_result *res,
    bool *read_failed, struct pgps_err *err);

#endif
