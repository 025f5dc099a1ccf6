/*
 * keyset.h: key sets named on the command line, read as one stream of
 * certificates.
 *
 * A spec is a dump file, a directory of dump files (*.pgp, *.gpg, *.asc,
 * read in name order), "-" for standard input, or "dump:PATH".  Each
 * source is split by the OpenPGP reader; the iterator moves on to the next
 * source when one ends.  Other backends (gpg:, store:) plug in here.
 */
#ifndef PGPSYNC_KEYSET_KEYSET_H
#define PGPSYNC_KEYSET_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/err.h"

struct keyset_iter;

/* Resolves every spec (directories listed, files checked to exist). */
int keyset_iter_open(struct keyset_iter **out, const char *const *specs,
    size_t n, struct pgps_err *err);
void keyset_iter_free(struct keyset_iter *it);

/*
 * As pgp_reader_next() over all sources in order: 1 with *out set, 0 at
 * the end of the last source, negative for a skipped bad region (call
 * again) -- unless keyset_is_fatal(rc), after which the iterator stops.
 */
int keyset_iter_next(struct keyset_iter *it, struct pgp_raw_cert *out,
    size_t max_cert, struct pgps_err *err);
bool keyset_is_fatal(int rc);

/* Name of the source the last certificate came from. */
const char *keyset_iter_source(const struct keyset_iter *it);
/* Whether certificates stay valid until the current source ends. */
bool keyset_iter_stable(const struct keyset_iter *it);
/* Sum of the sizes of all sources (0 when unknown) and bytes read. */
uint64_t keyset_iter_total(const struct keyset_iter *it);
uint64_t keyset_iter_done(const struct keyset_iter *it);
/* Number of sources (files). */
size_t keyset_iter_nsources(const struct keyset_iter *it);

#endif
