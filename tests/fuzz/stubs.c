/*
 * stubs.c: the key set functions that keyset/index.c calls to read whole
 * sets (index_hash(), index_read()), for the libFuzzer builds only (make
 * fuzz), which link the pure layers and not the key set backends (GPGME,
 * libgit2).  No fuzz target reads a key set: each stub aborts.  The plain
 * builds of make check link the library's real ones.
 */
#include "util/common.h"

#include "keyset/keyset.h"
#include "keyset/par.h"

static void
not_linked(const char *fn)
{
	fprintf(stderr, "%s is not linked into the fuzz build\n", fn);
	abort();
}

int
keyset_par_run(struct keyset_iter *it, const struct keyset_par_spec *spec,
    struct keyset_par_result *res, struct pgps_err *err)
{
	(void)it;
	(void)spec;
	(void)res;
	(void)err;
	not_linked(__func__);
	return PGPS_EINTERNAL;
}

int
keyset_iter_next(struct keyset_iter *it, struct pgp_raw_cert *out,
    size_t max_cert, struct pgps_err *err)
{
	(void)it;
	(void)out;
	(void)max_cert;
	(void)err;
	not_linked(__func__);
	return PGPS_EINTERNAL;
}

bool
keyset_is_fatal(int rc)
{
	(void)rc;
	not_linked(__func__);
	return true;
}

const char *
keyset_iter_source(const struct keyset_iter *it)
{
	(void)it;
	not_linked(__func__);
	return "";
}
