/*
 * gpgset.c: a GnuPG keyring as a key set to read ("gpg:" or
 * "gpg:HOMEDIR").  The keyring is exported once, whole, through GPGME and
 * split like a dump; GnuPG keyrings are small next to keyserver dumps, so
 * holding the export in memory is the simple and fast choice.
 */
#include "util/common.h"

#include "keyset/backend.h"
#include "keyset/gpg.h"
#include "util/mem.h"

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

/* --- writing ---------------------------------------------------------- */

/*
 * A GnuPG keyring as a key set to write.  Puts are queued; a flush asks
 * gpg once for its current copy of every key of the batch, compares
 * packets (a certificate the keyring already holds in full is skipped
 * without starting gpg; one that adds packets is merged with the
 * keyring's copy first, so an update without user IDs, as
 * keys.openpgp.org serves, still carries the user IDs gpg insists on),
 * and hands what changed to gpg in one run.  What gpg 2.2 cannot take is
 * refused up front, each with its reason, because a single v6
 * certificate or secret key in a stream makes gpg drop the whole stream.
 */

/* A fingerprint and an index, sorted to find things by fingerprint. */
struct ord {
	const char	*fpr;
	size_t		 i;
};

/* One distinct key of the batch. */
struct bkey {
	char		 fpr[KEYSET_FPR_HEX];
	struct buf	 work;		/* keyring copy merged with the input */
	bool		 changed;
	size_t		 item;		/* into items, or SIZE_MAX */
};

/* The keyring's copy of one key, as last read; empty: gpg lacks it. */
struct gcopy {
	char		 fpr[KEYSET_FPR_HEX];
	struct buf	 data;
};

struct gpgw {
	struct gpg_keyring	*kr;
	struct gcopy		*cache;		/* by fingerprint */
	size_t			 ncache, alloccache;
	bool			 all;		/* the whole keyring is in it */
	struct gpg_import_result gres;
	struct keyset_in	*in;		/* the batch */
	size_t			 nin, allocin;
	/* Per flush: */
	struct buf		 cur;		/* gpg's export of the keys */
	struct pgp_cert		*certs;		/* parsed from cur */
	char			(*certfpr)[KEYSET_FPR_HEX];
	size_t			 ncerts, alloccerts;
	struct ord		*byfpr;
	struct bkey		*keys;
	size_t			 nkeys;
	struct gpg_import_item	*items;
	size_t			 nitems;
};

static int
gw_nomem(struct pgps_err *err)
{
	return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

static int
cmp_ord(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;
	int c = strcmp(x->fpr, y->fpr);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int
cmp_ord_fpr(const void *a, const void *b)
{
	return strcmp(((const struct ord *)a)->fpr,
	    ((const struct ord *)b)->fpr);
}

static void
gw_reset(struct gpgw *g)
{
	for (size_t i = 0; i < g->nin; i++)
		keyset_in_release(&g->in[i]);
	g->nin = 0;
	for (size_t i = 0; i < g->ncerts; i++)
		pgp_cert_release(&g->certs[i]);
	g->ncerts = 0;
	buf_release(&g->cur);
	for (size_t i = 0; i < g->nkeys; i++)
		buf_release(&g->keys[i].work);
	free(g->keys);
	g->keys = NULL;
	g->nkeys = 0;
	free(g->byfpr);
	g->byfpr = NULL;
	free(g->items);
	g->items = NULL;
	g->nitems = 0;
}

static size_t
cache_pos(const struct gpgw *g, const char *fpr, bool *found)
{
	size_t lo = 0, hi = g->ncache, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(g->cache[mid].fpr, fpr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < g->ncache && strcmp(g->cache[lo].fpr, fpr) == 0;
	return lo;
}

static int
cache_put(struct gpgw *g, const char *fpr, const uint8_t *p, size_t len,
    struct pgps_err *err)
{
	struct gcopy *c;
	bool found;
	size_t at = cache_pos(g, fpr, &found);

	if (!found) {
		if (g->ncache == g->alloccache) {
			size_t n = g->alloccache < 64 ? 64 : g->alloccache * 2;
			struct gcopy *a = mem_reallocarray(g->cache, n,
			    sizeof(*a));

			if (a == NULL)
				return gw_nomem(err);
			g->cache = a;
			g->alloccache = n;
		}
		memmove(&g->cache[at + 1], &g->cache[at],
		    (g->ncache - at) * sizeof(*g->cache));
		g->ncache++;
		c = &g->cache[at];
		snprintf(c->fpr, sizeof(c->fpr), "%s", fpr);
		buf_init(&c->data, 0);
	}
	c = &g->cache[at];
	buf_reset(&c->data);
	if (len > 0 && buf_add(&c->data, p, len) != 0)
		return gw_nomem(err);
	return 0;
}

/* Reads the keyring's copies of pats[0..n) (NULL: all) into the cache. */
static int
gw_preload(struct keyset *ks, const char *const *pats, size_t n,
    struct pgps_err *err)
{
	struct gpgw *g = ks->be;
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_reader *rd = NULL;
	struct pgp_raw_cert raw;
	struct pgp_cert c = PGP_CERT_INIT;
	struct buf data = BUF_INIT;
	char fpr[KEYSET_FPR_HEX];
	bool found;
	int r;

	if ((r = gpg_keyring_export(&data, g->kr, pats, n, err)) != 0)
		goto cleanup;
	/* What gpg did not return, it lacks. */
	for (size_t i = 0; pats != NULL && i < n; i++)
		if (strlen(pats[i]) != 16 && (cache_pos(g, pats[i], &found),
		    !found) && (r = cache_put(g, pats[i], NULL, 0, err)) != 0)
			goto cleanup;
	if (data.len > 0 && (r = pgp_reader_open_mem(&rd, data.p, data.len,
	    ks->path, err)) != 0)
		goto cleanup;
	while (rd != NULL && r == 0) {
		pgps_err_clear(&e);
		if ((r = pgp_reader_next(rd, &raw, 0, &e)) == 0)
			break;
		if (r < 0) {
			/* Damage in the keyring's own copy skips that copy. */
			r = r == PGPS_EIO || r == PGPS_ENOMEM ?
			    pgps_err_set(err, r, "%s", e.msg) : 0;
			continue;
		}
		r = 0;
		pgp_cert_release(&c);
		if (pgp_cert_parse(&c, raw.p, raw.len, 0, &e) != 0 ||
		    !c.has_primary)
			continue;
		pgp_key_fpr_hex(fpr, &c.primary);
		r = cache_put(g, fpr, raw.p, raw.len, err);
	}
	if (r == 0 && pats == NULL)
		g->all = true;
 cleanup:
	pgp_cert_release(&c);
	pgp_reader_free(rd);
	buf_release(&data);
	return r;
}

static const struct gcopy *
cache_find(const struct gpgw *g, const char *fpr, bool *known)
{
	bool found;
	size_t at;

	if (strlen(fpr) == 16) {
		for (size_t i = 0; i < g->ncache; i++)
			if (g->cache[i].data.len > 0 &&
			    keyset_fpr_matches(g->cache[i].fpr, fpr)) {
				*known = true;
				return &g->cache[i];
			}
		*known = g->all;
		return NULL;
	}
	at = cache_pos(g, fpr, &found);
	*known = found || g->all;
	return found && g->cache[at].data.len > 0 ? &g->cache[at] : NULL;
}

static int
gw_open(struct keyset *ks, struct pgps_err *err)
{
	struct gpgw *g;
	int r;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return gw_nomem(err);
	if ((r = gpg_keyring_open(&g->kr, *ks->spec.arg != '\0' ?
	    ks->spec.arg : NULL, err)) != 0) {
		free(g);
		return r;
	}
	if ((ks->path = strdup(gpg_keyring_home(g->kr))) == NULL) {
		gpg_keyring_free(g->kr);
		free(g);
		return gw_nomem(err);
	}
	ks->be = g;
	return 0;
}

static void
gw_close(struct keyset *ks)
{
	struct gpgw *g = ks->be;

	if (g == NULL)
		return;
	gw_reset(g);
	for (size_t i = 0; i < g->ncache; i++)
		buf_release(&g->cache[i].data);
	free(g->cache);
	free(g->in);
	free(g->certs);
	free(g->certfpr);
	gpg_keyring_free(g->kr);
	free(g);
	ks->be = NULL;
}

/* Reads certificates from data[0..len) into the batch's current copies. */
static int
gw_load(struct keyset *ks, struct gpgw *g, struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_reader *rd = NULL;
	struct pgp_raw_cert raw;
	int r, rc = 0;

	if (g->cur.len > 0 && (rc = pgp_reader_open_mem(&rd, g->cur.p,
	    g->cur.len, ks->path, err)) != 0)
		return rc;
	while (rd != NULL) {
		struct pgp_cert *c;

		pgps_err_clear(&e);
		if ((r = pgp_reader_next(rd, &raw, 0, &e)) == 0)
			break;
		/* Damage in the keyring's own copy skips that copy. */
		if (r < 0) {
			if (r == PGPS_EIO)
				break;
			continue;
		}
		if (g->ncerts == g->alloccerts) {
			size_t n = g->alloccerts == 0 ? 64 : g->alloccerts * 2;
			void *a = mem_reallocarray(g->certs, n,
			    sizeof(*g->certs));

			if (a != NULL)
				g->certs = a;
			a = a == NULL ? NULL : mem_reallocarray(g->certfpr, n,
			    sizeof(*g->certfpr));
			if (a == NULL) {
				rc = gw_nomem(err);
				break;
			}
			g->certfpr = a;
			g->alloccerts = n;
		}
		c = &g->certs[g->ncerts];
		*c = (struct pgp_cert)PGP_CERT_INIT;
		if (pgp_cert_parse(c, raw.p, raw.len, raw.offset, &e) != 0 ||
		    !c->has_primary) {
			pgp_cert_release(c);
			continue;
		}
		pgp_key_fpr_hex(g->certfpr[g->ncerts], &c->primary);
		g->ncerts++;
	}
	pgp_reader_free(rd);
	if (rc != 0)
		return rc;
	if ((g->byfpr = mem_reallocarray(NULL, g->ncerts + 1,
	    sizeof(*g->byfpr))) == NULL)
		return gw_nomem(err);
	for (size_t i = 0; i < g->ncerts; i++) {
		g->byfpr[i].fpr = g->certfpr[i];
		g->byfpr[i].i = i;
	}
	qsort(g->byfpr, g->ncerts, sizeof(*g->byfpr), cmp_ord);
	return 0;
}

/*
 * The keyring's copies of the batch's keys into g->cur: from the cache
 * when it knows every one of them, else from one gpg export.
 */
static int
gw_current(struct gpgw *g, const char **pats, size_t np,
    struct pgps_err *err)
{
	const struct gcopy *c;
	bool known = true;

	for (size_t i = 0; i < np && known; i++)
		known = strlen(pats[i]) != 16 && (cache_find(g, pats[i],
		    &known), known);
	if (!known)
		return gpg_keyring_export(&g->cur, g->kr, pats, np, err);
	for (size_t i = 0; i < np; i++)
		if ((c = cache_find(g, pats[i], &known)) != NULL &&
		    buf_add(&g->cur, c->data.p, c->data.len) != 0)
			return gw_nomem(err);
	return 0;
}

static const struct pgp_cert *
gw_find(const struct gpgw *g, const char *fpr)
{
	struct ord key = { fpr, 0 }, *o;

	if (g->ncerts == 0)
		return NULL;
	o = bsearch(&key, g->byfpr, g->ncerts, sizeof(*g->byfpr),
	    cmp_ord_fpr);
	return o != NULL ? &g->certs[o->i] : NULL;
}

/* Applies gpg's report on key k to the puts behind it. */
static void
gw_apply(struct gpgw *g, const size_t *ord, size_t lo, size_t hi,
    const struct bkey *k)
{
	const struct gpg_import_item *it = &g->items[k->item];
	char why[sizeof(it->why) + 8];

	why[0] = '\0';
	if (it->failed)
		snprintf(why, sizeof(why), "%s", it->why);
	else if (!it->seen)
		snprintf(why, sizeof(why), "gpg did not import it (no valid "
		    "self-signed user ID?)");
	for (size_t j = lo; j < hi; j++) {
		struct keyset_in *x = &g->in[ord[j]];

		if (x->v.result != KEYSET_NEW && x->v.result != KEYSET_CHANGED)
			continue;
		if (why[0] != '\0')
			keyset_in_refuse(x, "%s", why);
		else if (it->status == 0)
			x->v.result = KEYSET_UNCHANGED;	/* gpg had it all */
	}
}

/*
 * Groups the batch by key, keeping put order within a key, and decides
 * each put against its key's working copy.  ord[] receives the puts in
 * key order, start[k] where key k's run begins.
 */
static int
gw_decide(struct gpgw *g, size_t *ord, size_t *start, struct pgps_err *err)
{
	struct ord *o;
	size_t n = 0;
	int r = 0;

	if ((o = mem_reallocarray(NULL, g->nin + 1, sizeof(*o))) == NULL)
		return gw_nomem(err);
	for (size_t i = 0; i < g->nin; i++) {
		if (g->in[i].v.result == KEYSET_REFUSED)
			continue;
		o[n].fpr = g->in[i].v.fpr;
		o[n].i = i;
		n++;
	}
	qsort(o, n, sizeof(*o), cmp_ord);
	for (size_t j = 0; j < n; j++) {
		struct bkey *k;
		const struct pgp_cert *cur;

		ord[j] = o[j].i;
		if (j > 0 && strcmp(o[j].fpr, o[j - 1].fpr) == 0)
			continue;
		start[g->nkeys] = j;
		k = &g->keys[g->nkeys++];
		memset(k, 0, sizeof(*k));
		buf_init(&k->work, 0);
		k->item = SIZE_MAX;
		memcpy(k->fpr, o[j].fpr, sizeof(k->fpr));
		if ((cur = gw_find(g, k->fpr)) != NULL &&
		    pgp_cert_write(&k->work, cur) != 0) {
			r = gw_nomem(err);
			goto cleanup;
		}
	}
	start[g->nkeys] = n;
	for (size_t ki = 0; ki < g->nkeys && r == 0; ki++) {
		struct bkey *k = &g->keys[ki];

		for (size_t j = start[ki]; j < start[ki + 1] && r == 0; j++) {
			struct keyset_in *x = &g->in[ord[j]];

			r = keyset_in_decide(x, &k->work, UPDATE_GPG, err);
			if (x->v.result == KEYSET_NEW ||
			    x->v.result == KEYSET_CHANGED)
				k->changed = true;
		}
	}
 cleanup:
	free(o);
	return r;
}

static int
gw_flush(struct keyset *ks, struct pgps_err *err)
{
	struct gpgw *g = ks->be;
	const char **pats = NULL;
	size_t *ord = NULL, *start = NULL, np = 0;
	int r = 0;

	if (g->nin == 0)
		return 0;
	if ((pats = mem_reallocarray(NULL, g->nin + 1, sizeof(*pats))) ==
	    NULL || (ord = mem_reallocarray(NULL, g->nin + 1,
	    sizeof(*ord))) == NULL || (start = mem_reallocarray(NULL,
	    g->nin + 1, sizeof(*start))) == NULL || (g->keys =
	    mem_reallocarray(NULL, g->nin + 1, sizeof(*g->keys))) == NULL ||
	    (g->items = mem_reallocarray(NULL, g->nin + 1,
	    sizeof(*g->items))) == NULL) {
		r = gw_nomem(err);
		goto cleanup;
	}
	for (size_t i = 0; i < g->nin; i++)
		if (g->in[i].v.result != KEYSET_REFUSED)
			pats[np++] = g->in[i].bare ? g->in[i].pattern :
			    g->in[i].v.fpr;
	if (np > 0 && ((r = gw_current(g, pats, np, err)) != 0 ||
	    (r = gw_load(ks, g, err)) != 0))
		goto cleanup;
	for (size_t i = 0; i < g->nin; i++) {
		struct keyset_in *x = &g->in[i];
		const struct pgp_cert *cur = NULL;

		if (!x->bare || x->v.result == KEYSET_REFUSED)
			continue;
		if (strlen(x->pattern) != 16)
			cur = gw_find(g, x->pattern);
		else
			for (size_t j = 0; j < g->ncerts && cur == NULL; j++)
				if (keyset_in_bare_matches(x, &g->certs[j]))
					cur = &g->certs[j];
		/* None it verifies by: the first it names, to say so. */
		for (size_t j = 0; j < g->ncerts && cur == NULL &&
		    strlen(x->pattern) == 16; j++)
			if (g->certs[j].has_primary &&
			    pgp_sig_is_by(&x->sig, &g->certs[j].primary))
				cur = &g->certs[j];
		if ((r = keyset_in_resolve_bare(x, cur, err)) < 0)
			goto cleanup;
	}
	if ((r = gw_decide(g, ord, start, err)) != 0)
		goto cleanup;
	for (size_t ki = 0; ki < g->nkeys; ki++) {
		struct bkey *k = &g->keys[ki];
		struct gpg_import_item *it;

		if (!k->changed)
			continue;
		k->item = g->nitems;
		it = &g->items[g->nitems++];
		memset(it, 0, sizeof(*it));
		it->p = k->work.p;
		it->len = k->work.len;
		memcpy(it->fpr, k->fpr, sizeof(it->fpr));
	}
	if ((ks->flags & KEYSET_DRY_RUN) == 0 && g->nitems > 0) {
		if ((r = gpg_keyring_import(g->items, g->nitems, &g->gres,
		    g->kr, ks->origin, err)) != 0)
			goto cleanup;
		for (size_t ki = 0; ki < g->nkeys; ki++)
			if (g->keys[ki].item != SIZE_MAX)
				gw_apply(g, ord, start[ki], start[ki + 1],
				    &g->keys[ki]);
		/* Read back what gpg kept, for the lookups that follow. */
		np = 0;
		for (size_t j = 0; j < g->nitems; j++)
			if (g->items[j].seen && !g->items[j].failed &&
			    g->items[j].status != 0)
				pats[np++] = g->items[j].fpr;
		if (np > 0 && (g->ncache > 0 || g->all) &&
		    (r = gw_preload(ks, pats, np, err)) != 0)
			goto cleanup;
	}
	for (size_t i = 0; i < g->nin; i++)
		keyset_report(ks, &g->in[i].v);
 cleanup:
	gw_reset(g);
	free(pats);
	free(ord);
	free(start);
	return r;
}

static int
gw_put(struct keyset *ks, const uint8_t *p, size_t len, const char *source,
    uint64_t offset, struct pgps_err *err)
{
	struct gpgw *g = ks->be;
	int r;

	if (g->nin == g->allocin) {
		size_t n = g->allocin == 0 ? 64 : g->allocin * 2;
		struct keyset_in *a = mem_reallocarray(g->in, n, sizeof(*a));

		if (a == NULL)
			return gw_nomem(err);
		g->in = a;
		g->allocin = n;
	}
	r = keyset_in_take(ks, &g->in[g->nin], p, len, source, offset,
	    UPDATE_GPG, err);
	if (r < 0) {
		keyset_in_release(&g->in[g->nin]);
		return r;
	}
	g->nin++;
	return 0;
}

static int
gw_lookup(struct buf *out, struct keyset *ks, const char *fpr,
    struct pgps_err *err)
{
	struct gpgw *g = ks->be;
	const struct gcopy *c;
	bool known;
	int r;

	if ((c = cache_find(g, fpr, &known)) == NULL && !known) {
		if ((r = gw_preload(ks, &fpr, 1, err)) != 0)
			return r;
		c = cache_find(g, fpr, &known);
	}
	if (c == NULL)
		return pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no key %s",
		    ks->path, fpr);
	buf_reset(out);
	return buf_add(out, c->data.p, c->data.len) != 0 ? gw_nomem(err) : 0;
}

static int
gw_list(char (**out)[KEYSET_FPR_HEX], size_t *n, struct keyset *ks,
    struct pgps_err *err)
{
	struct gpgw *g = ks->be;
	size_t alloc = 0;
	int r;

	if (!g->all && (r = gw_preload(ks, NULL, 0, err)) != 0)
		return r;
	for (size_t i = 0; i < g->ncache; i++)
		if (g->cache[i].data.len > 0 && (r = keyset_list_add(out, n,
		    &alloc, g->cache[i].fpr, err)) != 0)
			return r;
	return 0;
}

static int
gw_commit(struct keyset *ks, const char *note,
    struct keyset_commit_info *info, struct pgps_err *err)
{
	(void)ks;
	(void)note;
	(void)info;
	(void)err;
	return 0;	/* every batch went to gpg when it was flushed */
}

const struct gpg_import_result *
keyset_gpg_totals(const struct keyset *ks)
{
	if (ks->spec.kind != KEYSET_GPG)
		return NULL;
	return &((const struct gpgw *)ks->be)->gres;
}

const struct keyset_wops keyset_gpg_wops = {
	.open = gw_open,
	.lookup = gw_lookup,
	.put = gw_put,
	.flush = gw_flush,
	.commit = gw_commit,
	.close = gw_close,
	.list = gw_list,
	.preload = gw_preload,
};
