/*
 * gpgset.c: a GnuPG keyring as a key set to read ("gpg:" or
 * "gpg:HOMEDIR").  The keyring is exported once, whole, through GPGME and
 * split like a dump; GnuPG keyrings are small next to keyserver dumps, so
 * holding the export in memory is the simple and fast choice.
 */
#include "util/common.h"

#include "keyset/backend.h"
#include "keyset/gpg.h"

struct gpgset {
	struct buf		 data;
	struct pgp_reader	*rd;
};

static int
gpgset_open(void **state, const char *arg, struct pgps_err *err)
{
	struct gpg_keyring *kr = NULL;
	struct gpgset *g;
	int r;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	buf_init(&g->data, 0);
	if ((r = gpg_keyring_open(&kr, *arg != '\0' ? arg : NULL, err)) != 0 ||
	    (r = gpg_keyring_export(&g->data, kr, NULL, 0, err)) != 0 ||
	    (r = pgp_reader_open_mem(&g->rd, g->data.p, g->data.len,
	    *arg != '\0' ? arg : "gpg:", err)) != 0) {
		gpg_keyring_free(kr);
		buf_release(&g->data);
		free(g);
		return r == PGPS_ENOTFOUND ? PGPS_EIO : r;
	}
	gpg_keyring_free(kr);
	*state = g;
	return 0;
}

static int
gpgset_next(void *state, struct pgp_raw_cert *out, size_t max_cert,
    struct pgps_err *err)
{
	struct gpgset *g = state;

	return pgp_reader_next(g->rd, out, max_cert, err);
}

static void
gpgset_close(void *state)
{
	struct gpgset *g = state;

	if (g == NULL)
		return;
	pgp_reader_free(g->rd);
	buf_release(&g->data);
	free(g);
}

const struct keyset_backend keyset_gpg_backend = {
	"gpg", gpgset_open, gpgset_next, gpgset_close
};
