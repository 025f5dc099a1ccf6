/*
 * refresh.c: what a lookup's answers bring to a key set's copy
 * (refresh.h).
 */
#include "util/common.h"

#include "keyset/refresh.h"
#include "keyset/update.h"
#include "util/mem.h"

void
refresh_init(struct refresh *rf)
{
	memset(rf, 0, sizeof(*rf));
	buf_init(&rf->cert, 0);
}

void
refresh_release(struct refresh *rf)
{
	buf_release(&rf->cert);
}

/* How many of k's answers the rules took (accepted or to merge). */
static size_t
taken(const struct remote_key *k)
{
	size_t n = 0;

	for (size_t i = 0; i < k->cand.n; i++)
		n += k->cand.items[i].verdict != IMPORT_REFUSE;
	return n;
}

bool
refresh_resolve(const struct remote *r, struct remote_key *k,
    struct digest *md5, char *why, size_t whylen)
{
	struct import_query q;
	struct pgp_cert c = PGP_CERT_INIT;
	struct buf copy = BUF_INIT;
	const struct import_item *it = NULL;
	const char *prim;
	size_t before = taken(k);

	why[0] = '\0';
	remote_query(r, k, &q, &c, &copy);
	pgp_cert_release(&c);
	buf_release(&copy);
	if (import_set_resolve(&k->cand, &q) == 0) {
		if (before > 0)
			snprintf(why, whylen, "%s", k->cand.items[0].reason ==
			    IMPORT_R_AMBIGUOUS ? "ambiguous: certificates of "
			    "several keys match" : "only a revocation "
			    "signature came, without its key");
		return false;
	}
	for (size_t i = 0; i < k->cand.n && it == NULL; i++)
		if (k->cand.items[i].verdict != IMPORT_REFUSE)
			it = &k->cand.items[i];
	if (k->server == NULL && it->source != NULL &&
	    (k->server = strdup(it->source)) == NULL)
		return false;
	if ((prim = import_set_primary(&k->cand)) != NULL) {
		snprintf(k->fpr, sizeof(k->fpr), "%s", prim);
		if (!k->has_hash && it->verdict == IMPORT_ACCEPT &&
		    pgp_cert_parse(&c, it->data.p, it->data.len, 0, NULL) ==
		    0 && pgp_cert_sks_hash(&c, md5, k->hash) == 0)
			k->has_hash = true;
		pgp_cert_release(&c);
	}
	return true;
}

/*
 * acc = the merge of acc and every answer of k taken but the first:
 * versions of one certificate, or bare revocations, in one pass however
 * many came.
 */
static int
merge_answers(struct buf *acc, const struct remote_key *k, size_t first,
    struct pgps_err *err)
{
	struct pgp_cert *c = calloc(k->cand.n + 1, sizeof(*c));
	const struct pgp_cert **v = calloc(k->cand.n + 1, sizeof(*v));
	struct buf m = BUF_INIT;
	size_t n = 0;
	int r;

	if (c == NULL || v == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i <= k->cand.n; i++)
		c[i] = (struct pgp_cert)PGP_CERT_INIT;
	r = pgp_cert_parse(&c[n], acc->p, acc->len, 0, err);
	v[n++] = &c[0];
	for (size_t i = 0; i < k->cand.n && r == 0; i++) {
		const struct buf *b = &k->cand.items[i].data;

		if (i == first || k->cand.items[i].verdict == IMPORT_REFUSE)
			continue;
		r = pgp_cert_parse(&c[n], b->p, b->len, 0, err);
		v[n] = &c[n];
		n++;
	}
	if (r == 0 && (r = pgp_cert_merge_many(&m, v, n, NULL, err)) == 0)
		buf_swap(acc, &m);
 cleanup:
	for (size_t i = 0; c != NULL && i <= k->cand.n; i++)
		pgp_cert_release(&c[i]);
	free(c);
	free(v);
	buf_release(&m);
	return r;
}

int
refresh_answers(struct buf *out, const struct remote_key *k,
    const struct buf *copy, struct pgps_err *err)
{
	size_t first;

	for (first = 0; first < k->cand.n; first++)
		if (k->cand.items[first].verdict == IMPORT_ACCEPT)
			break;
	buf_reset(out);
	if (first == k->cand.n && copy == NULL)
		return pgps_err_set(err, PGPS_ENOTFOUND, "'%s': a revocation "
		    "for a key not held", k->fpr);
	if ((first < k->cand.n ? buf_add(out, k->cand.items[first].data.p,
	    k->cand.items[first].data.len) : buf_add(out, copy->p,
	    copy->len)) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	return merge_answers(out, k, first, err);
}

static bool
is_component(const struct pgp_change *ch)
{
	return ch->comp == ch->pkt && (ch->kind == PGP_CHANGE_UID ||
	    ch->kind == PGP_CHANGE_UAT || ch->kind == PGP_CHANGE_SUBKEY);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int
refresh_count_changes(size_t *n, const struct pgp_change *ch, size_t nch)
{
	size_t *comps, ncomps = 0;

	memset(n, 0, REFRESH_NKINDS * sizeof(*n));
	if ((comps = mem_reallocarray(NULL, nch + 1, sizeof(*comps))) == NULL)
		return PGPS_ENOMEM;
	for (size_t i = 0; i < nch; i++)
		if (is_component(&ch[i]))
			comps[ncomps++] = ch[i].pkt;
	qsort(comps, ncomps, sizeof(*comps), cmp_size);
	/* A change inside a new component is counted with it. */
	for (size_t i = 0; i < nch; i++)
		if (ch[i].pkt == ch[i].comp || ncomps == 0 ||
		    bsearch(&ch[i].comp, comps, ncomps, sizeof(*comps),
		    cmp_size) == NULL)
			n[ch[i].kind]++;
	free(comps);
	return 0;
}

int
refresh_decide(struct refresh *out, struct keyset *ks,
    const struct remote_key *k, const struct pgp_limits *lim,
    unsigned int uflags, struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;
	struct pgp_change *ch = NULL;
	struct buf inc = BUF_INIT, prep = BUF_INIT, cur = BUF_INIT;
	enum update_result ur;
	size_t nch = 0, first;
	bool have;
	int r;

	out->res = REFRESH_REFUSED;
	out->why[0] = '\0';
	memset(out->changes, 0, sizeof(out->changes));
	buf_reset(&out->cert);
	if (taken(k) == 0) {
		if (k->mismatches > 0)
			out->res = REFRESH_REFUSED;
		else if (k->failures > 0)
			out->res = REFRESH_FAILED;
		else {
			out->res = REFRESH_NOT_FOUND;
			snprintf(out->why, sizeof(out->why), "not found on any "
			    "keyserver");
		}
		return 0;
	}
	for (first = 0; first < k->cand.n; first++)
		if (k->cand.items[first].verdict == IMPORT_ACCEPT)
			break;
	if ((r = keyset_lookup(&cur, ks, k->fpr, err)) != 0 &&
	    r != PGPS_ENOTFOUND)
		goto cleanup;
	have = r == 0;
	r = 0;
	/* A full certificate first, then the rest merged into it. */
	if (first < k->cand.n)
		r = buf_add(&inc, k->cand.items[first].data.p,
		    k->cand.items[first].data.len);
	else if (!have) {
		snprintf(out->why, sizeof(out->why), "a revocation for a key "
		    "that is not in the keyring");
		goto cleanup;
	} else
		r = buf_add(&inc, cur.p, cur.len);
	if (r != 0) {
		pgps_err_set(err, r, "%s", pgps_strerror(r));
		goto cleanup;
	}
	if (merge_answers(&inc, k, first, &e) != 0) {
		snprintf(out->why, sizeof(out->why), "cannot merge the "
		    "answers: %s", e.msg);
		goto cleanup;
	}
	if (pgp_cert_parse(&c, inc.p, inc.len, 0, &e) != 0 ||
	    update_prepare(&prep, &c, lim, uflags, NULL, &e) != 0) {
		snprintf(out->why, sizeof(out->why), "%s%s", e.code ==
		    PGPS_ELIMIT ? "over the limits: " : "", e.msg);
		goto cleanup;
	}
	if (have && (r = buf_add(&out->cert, cur.p, cur.len)) != 0) {
		pgps_err_set(err, r, "%s", pgps_strerror(r));
		goto cleanup;
	}
	pgps_err_clear(&e);
	if (update_merge(&out->cert, &ur, prep.p, prep.len, 0, uflags, NULL,
	    &ch, &nch, &e) != 0) {
		snprintf(out->why, sizeof(out->why), "%s", e.msg);
		goto cleanup;
	}
	if ((r = refresh_count_changes(out->changes, ch, nch)) != 0) {
		pgps_err_set(err, r, "%s", pgps_strerror(r));
		goto cleanup;
	}
	out->res = ur == UPDATE_NEW ? REFRESH_NEW : ur == UPDATE_CHANGED ?
	    REFRESH_UPDATED : REFRESH_UNCHANGED;
 cleanup:
	free(ch);
	pgp_cert_release(&c);
	buf_release(&inc);
	buf_release(&prep);
	buf_release(&cur);
	return r;
}

int
refresh_kept(size_t *n, const struct buf *before, const struct buf *after,
    struct pgps_err *err)
{
	struct pgp_cert a = PGP_CERT_INIT, b = PGP_CERT_INIT;
	struct pgp_change *ch = NULL;
	size_t nch = 0;
	int r;

	if ((r = pgp_cert_parse(&b, before->p, before->len, 0, err)) == 0 &&
	    (r = pgp_cert_parse(&a, after->p, after->len, 0, err)) == 0 &&
	    (r = pgp_cert_diff(&ch, &nch, &b, &a, err)) == 0)
		r = refresh_count_changes(n, ch, nch);
	free(ch);
	pgp_cert_release(&a);
	pgp_cert_release(&b);
	return r;
}
