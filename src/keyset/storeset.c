/*
 * storeset.c: a certificate store as a key set to write ("store:" or
 * "store:DIR"), through store.h: every put merged by the store with its
 * copy, one commit for all of them.
 */
#include "util/common.h"

#include "keyset/backend.h"
#include "keyset/store.h"
#include "util/hex.h"

static void
put_verdict(struct keyset *ks, const struct store_put_info *pi, int r,
    const struct pgps_err *e, const char *source, uint64_t offset)
{
	struct keyset_verdict v;
	const uint32_t *a = pi->added;

	memset(&v, 0, sizeof(v));
	v.seq = ks->seq++;
	v.source = source;
	v.offset = offset;
	snprintf(v.fpr, sizeof(v.fpr), "%s", pi->fpr);
	if (r != 0) {
		v.result = KEYSET_REFUSED;
		snprintf(v.why, sizeof(v.why), "%s", e->msg);
		keyset_report(ks, &v);
		return;
	}
	v.result = pi->status == STORE_PUT_NEW ? KEYSET_NEW :
	    pi->status == STORE_PUT_UPDATED ? KEYSET_CHANGED :
	    KEYSET_UNCHANGED;
	memcpy(v.added, pi->added, sizeof(v.added));
	v.secret_dropped = pi->secret_dropped;
	v.merge.new_uids = a[PGP_CHANGE_UID] + a[PGP_CHANGE_UAT];
	v.merge.new_subkeys = a[PGP_CHANGE_SUBKEY];
	v.merge.new_revocations = a[PGP_CHANGE_REVOCATION];
	v.merge.new_sigs = a[PGP_CHANGE_SELF_SIG] + a[PGP_CHANGE_EXPIRY] +
	    a[PGP_CHANGE_CERTIFICATION] + a[PGP_CHANGE_REVOCATION] +
	    a[PGP_CHANGE_OTHER];
	keyset_report(ks, &v);
}

/* The verdict of a put whose merge waited for the others (store_flush()). */
static void
flushed_verdict(const struct store_put_info *pi, int r,
    const struct pgps_err *e, void *arg)
{
	put_verdict(arg, pi, r, e, "", 0);
}

static void
sw_close(struct keyset *ks)
{
	store_free(ks->be);
	ks->be = NULL;
}

static int
sw_open(struct keyset *ks, struct pgps_err *err)
{
	const struct store_entry *e;
	struct store *s = NULL;
	unsigned int fl = 0;
	size_t n;
	int r;

	if ((ks->flags & KEYSET_WRITE) != 0 &&
	    (ks->flags & KEYSET_DRY_RUN) == 0) {
		/* A store is made only when asked to, in a directory that
		 * is there. */
		if ((ks->flags & KEYSET_CREATE) == 0 &&
		    (r = store_open(&s, ks->spec.arg, 0, err)) != 0)
			return r;
		if (s == NULL && (r = keyset_parent_exists(ks->spec.arg,
		    err)) != 0)
			return r;
		store_free(s);
		s = NULL;
		fl = STORE_WRITE;
	}
	if ((r = store_open(&s, ks->spec.arg, fl, err)) != 0) {
		/* A dry run of what would make it: an empty set. */
		if (r != PGPS_ENOTFOUND || (ks->flags & KEYSET_CREATE) == 0 ||
		    (ks->flags & KEYSET_DRY_RUN) == 0)
			return r;
		return keyset_parent_exists(ks->spec.arg, err);
	}
	ks->be = s;
	/* Many versions of one key are merged in one pass, at the end. */
	if (fl == STORE_WRITE && store_defer_merges(s, flushed_verdict,
	    ks) != 0) {
		sw_close(ks);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	if ((ks->path = strdup(store_dir(s))) == NULL) {
		sw_close(ks);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	/* The index, loaded before threads preparing puts read it. */
	if ((r = store_entries(&e, &n, NULL, s, err)) != 0) {
		sw_close(ks);
		return r;
	}
	return 0;
}

static int
sw_lookup(struct buf *out, struct keyset *ks, const char *fpr,
    struct pgps_err *err)
{
	const struct store_entry *e;
	char hex[KEYSET_FPR_HEX];
	size_t n;
	int r;

	if (ks->be == NULL)
		return pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no key %s",
		    ks->path, fpr);
	if ((r = store_entries(&e, &n, NULL, ks->be, err)) != 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		hex_encode_upper(hex, e[i].fpr, e[i].fprlen);
		if (keyset_fpr_matches(hex, fpr))
			return store_read(out, ks->be, e[i].oid, err);
	}
	return pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no key %s", ks->path,
	    fpr);
}

static int
sw_put(struct keyset *ks, const uint8_t *p, size_t len, const char *source,
    uint64_t offset, struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct store_put_info pi;
	int r;

	memset(&pi, 0, sizeof(pi));
	if (ks->be == NULL)
		return pgps_err_set(err, PGPS_EINTERNAL, "'%s' is not there",
		    ks->path);
	r = store_put(ks->be, p, len, &ks->lim, &pi, &e);
	if (r != 0 && store_is_fatal(r))
		return pgps_err_set(err, r, "%s", e.msg);
	if (r != 0 || pi.status != STORE_PUT_PENDING)
		put_verdict(ks, &pi, r, &e, source, offset);
	return 0;
}

struct sw_prep {
	struct keyset		*ks;
	struct store_prep	*w;
};

static int
sw_prep_new(void **out, struct keyset *ks, struct pgps_err *err)
{
	struct sw_prep *p;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->w = store_prep_new()) == NULL) {
		free(p);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	p->ks = ks;
	*out = p;
	return 0;
}

static void
sw_prep_free(void *w)
{
	struct sw_prep *p = w;

	if (p == NULL)
		return;
	store_prep_free(p->w);
	free(p);
}

static int
sw_prepare(struct buf *out, void *w, const uint8_t *p, size_t len,
    const char *source, uint64_t offset, struct pgps_err *err)
{
	struct sw_prep *sp = w;
	int r;

	if ((r = store_prepare(out, sp->w, sp->ks->be, p, len, &sp->ks->lim,
	    err)) != 0)
		return pgps_err_prefix(err, r, "'%s': offset %llu", source,
		    (unsigned long long)offset);
	return 0;
}

static int
sw_put_prepared(struct keyset *ks, const uint8_t *rec, size_t len,
    size_t *used, struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct store_put_info pi;
	int r;

	memset(&pi, 0, sizeof(pi));
	if (ks->be == NULL)
		return pgps_err_set(err, PGPS_EINTERNAL, "'%s' is not there",
		    ks->path);
	r = store_put_prepared(ks->be, rec, len, used, &ks->lim, &pi, &e);
	if (r != 0 && store_is_fatal(r))
		return pgps_err_set(err, r, "%s", e.msg);
	if (r != 0 || pi.status != STORE_PUT_PENDING)
		put_verdict(ks, &pi, r, &e, "", 0);
	return 0;
}

/* The verdicts of puts whose merge waited: after the merge. */
static int
sw_flush(struct keyset *ks, struct pgps_err *err)
{
	return ks->be != NULL ? store_flush(ks->be, err) : 0;
}

static int
sw_commit(struct keyset *ks, const char *note,
    struct keyset_commit_info *info, struct pgps_err *err)
{
	struct store_commit_info ci;
	int r;

	if ((ks->flags & KEYSET_DRY_RUN) != 0 || ks->be == NULL)
		return 0;
	memset(&ci, 0, sizeof(ci));
	if ((r = store_commit(ks->be, note, &ci, err)) != 0)
		return r;
	info->committed = ci.committed;
	snprintf(info->commit, sizeof(info->commit), "%s", ci.commit);
	return 0;
}

static int
sw_join(struct keyset *ks, const char *spec, enum keyset_join_result *res,
    struct pgps_err *err)
{
	enum store_join_result j;
	int r;

	if (strncmp(spec, "store:", 6) != 0 || ks->be == NULL)
		return 0;
	if ((r = store_join_limits(ks->be, spec + 6, &ks->lim, &j,
	    err)) != 0)
		return r;
	*res = j == STORE_JOIN_HAVE ? KEYSET_JOIN_HAVE :
	    j == STORE_JOIN_FAST_FORWARD ? KEYSET_JOIN_FAST_FORWARD :
	    j == STORE_JOIN_MERGE ? KEYSET_JOIN_MERGE : KEYSET_JOIN_NONE;
	return 0;
}

const char *
keyset_join_why(const struct keyset *ks)
{
	return ks->spec.kind == KEYSET_STORE && ks->be != NULL ?
	    store_join_why(ks->be) : "";
}

struct store *
keyset_store(struct keyset *ks)
{
	return ks->spec.kind == KEYSET_STORE ? ks->be : NULL;
}

const char *
keyset_head(const struct keyset *ks)
{
	return ks->spec.kind == KEYSET_STORE && ks->be != NULL ?
	    store_head(ks->be) : "";
}

static int
sw_list(char (**out)[KEYSET_FPR_HEX], size_t *n, struct keyset *ks,
    struct pgps_err *err)
{
	const struct store_entry *e;
	char hex[KEYSET_FPR_HEX];
	size_t ne, alloc = 0;
	int r;

	if (ks->be == NULL)
		return 0;
	if ((r = store_entries(&e, &ne, NULL, ks->be, err)) != 0)
		return r;
	for (size_t i = 0; i < ne; i++) {
		hex_encode_upper(hex, e[i].fpr, e[i].fprlen);
		if ((r = keyset_list_add(out, n, &alloc, hex, err)) != 0)
			return r;
	}
	return 0;
}

const struct keyset_wops keyset_store_wops = {
	.open = sw_open,
	.lookup = sw_lookup,
	.put = sw_put,
	.commit = sw_commit,
	.flush = sw_flush,
	.close = sw_close,
	.prep_new = sw_prep_new,
	.prep_free = sw_prep_free,
	.prepare = sw_prepare,
	.put_prepared = sw_put_prepared,
	.join = sw_join,
	.list = sw_list,
};
