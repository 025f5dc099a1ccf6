/*
 * backend.h: what a key-set backend other than plain dump files provides
 * to keyset.c ("gpg:HOMEDIR", "store:DIR", ...).  Internal to src/keyset.
 *
 * A backend source is opened when the iterator is opened (so libraries
 * that must be initialised before threads start, like GPGME, are), and
 * read with next() like a dump file.
 */
#ifndef PGPSYNC_KEYSET_BACKEND_H
#define PGPSYNC_KEYSET_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "openpgp/openpgp.h"
#include "util/err.h"

struct keyset_backend {
	const char	*scheme;	/* "gpg": matches "gpg:" and "gpg:ARG" */
	/* Opens the source named by arg ("" for the default). */
	int		(*open)(void **state, const char *arg,
			    struct pgps_err *err);
	/* As pgp_reader_next(). */
	int		(*next)(void *state, struct pgp_raw_cert *out,
			    size_t max_cert, struct pgps_err *err);
	void		(*close)(void *state);
};

extern const struct keyset_backend keyset_gpg_backend;
extern const struct keyset_backend keyset_store_backend;

#endif
