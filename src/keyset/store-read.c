/*
 * store-read.c: the store as a key set to read ("store:", "store:DIR",
 * "store:DIR@REV"), for every command that reads certificates.
 */
#include "util/common.h"

#include <string.h>

#include <git2.h>

#include "keyset/backend.h"
#include "keyset/store-int.h"
#include "util/buf.h"
#include "util/limits.h"

/* --- the key-set backend ---------------------------------------------- */

/*
 * "store:", "store:DIR", "store:DIR@REV" as a key set: every certificate
 * file of the tree in path order.  A file must hold exactly the
 * certificate its name says; one that holds something else, another key
 * among them, is reported like damage in a dump and skipped, and one
 * larger than the caller's bound is not read.  The list of files comes
 * from the trees alone; no index is needed.
 */
struct sfile {
	uint8_t		 oid[OID_LEN];
	char		 path[8 + 2 * PGP_FPR_MAX];
};

struct storeset {
	struct store		*s;
	struct sfile		*v;
	size_t			 n;
	size_t			 alloc;
	size_t			 next;
	git_odb_object		*obj;
	char			*where;	/* "DIR@REV:" */
};

static int
list_file(const char *path, const char *name, const git_oid *old,
    const git_oid *new, void *arg, struct pgps_err *err)
{
	struct storeset *g = arg;
	struct sfile *nv;

	(void)name;
	(void)old;
	if ((nv = store_grow(g->v, g->n, &g->alloc, sizeof(*g->v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	g->v = nv;
	memcpy(g->v[g->n].oid, new->id, OID_LEN);
	snprintf(g->v[g->n].path, sizeof(g->v[g->n].path), "%s", path);
	g->n++;
	return 0;
}

static void
storeset_close(void *state)
{
	struct storeset *g = state;

	if (g == NULL)
		return;
	git_odb_object_free(g->obj);
	store_free(g->s);
	free(g->v);
	free(g->where);
	free(g);
}

static int
storeset_open(void **state, const char *arg, struct pgps_err *err)
{
	struct storeset *g;
	size_t n;
	int r;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if ((r = store_open(&g->s, arg, 0, err)) != 0)
		goto fail;
	n = strlen(g->s->dir) + (g->s->rev != NULL ? strlen(g->s->rev) :
	    4) + 3;
	if ((g->where = malloc(n)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(g->where, n, "%s@%s:", g->s->dir, g->s->rev != NULL ?
	    g->s->rev : "HEAD");
	if (g->s->has_base && (r = store_tree_walk(g->s, NULL, &g->s->tree, 0,
	    "", list_file, g, err)) != 0)
		goto fail;
	*state = g;
	return 0;
 fail:
	storeset_close(g);
	/* The key-set layer treats these as the end of everything. */
	return r == PGPS_EGIT ? PGPS_EIO : r;
}

static int
storeset_next(void *state, struct pgp_raw_cert *out, size_t max_cert,
    struct pgps_err *err)
{
	struct storeset *g = state;
	const struct sfile *f;
	const char *why;
	char name[512], theirs[FPR_HEX];
	uint8_t fpr[PGP_FPR_MAX], fprlen;
	git_object_t type;
	size_t size;
	git_oid id;

	git_odb_object_free(g->obj);
	g->obj = NULL;
	if (g->next == g->n)
		return 0;
	f = &g->v[g->next++];
	memcpy(id.id, f->oid, OID_LEN);
	snprintf(name, sizeof(name), "%s%s", g->where, f->path);
	if (max_cert == 0)
		max_cert = PGPS_MAX_CERT;
	if (git_odb_read_header(&size, &type, g->s->odb, &id) != 0 ||
	    (size <= max_cert && git_odb_read(&g->obj, g->s->odb,
	    &id) != 0)) {
		store_git_fail(err, "'%s'", name);
		return PGPS_EIO;
	}
	if (size > max_cert)
		return pgps_err_set(err, PGPS_ELIMIT, "'%s': %zu bytes, "
		    "larger than %zu: not read", name, size, max_cert);
	store_parse_cert_name(strrchr(f->path, '/') + 1, fpr, &fprlen);
	out->p = git_odb_object_data(g->obj);
	out->len = git_odb_object_size(g->obj);
	out->offset = 0;
	if ((why = store_cert_misnamed(&g->s->c1, out->p, out->len, fpr, fprlen,
	    theirs)) == NULL)
		return 1;
	if (theirs[0] != '\0')
		return pgps_err_set(err, PGPS_EFORMAT, "'%s': holds the "
		    "certificate of %s, not of its name: skipped", name,
		    theirs);
	return pgps_err_set(err, PGPS_EFORMAT, "'%s': %s, not the "
	    "certificate of its name: skipped", name, why);
}

const struct keyset_backend keyset_store_backend = {
	"store", storeset_open, storeset_next, storeset_close
};
