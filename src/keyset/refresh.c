/*
 * refresh.c: what a lookup's answers bring to a key set's copy
 * (refresh.h).
 */
#include "util/common.h"

#include "keyset/refresh.h"
#include "keyset/state.h"
#include "keyset/update.h"
#include "util/clock.h"
#include "util/hex.h"
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

/* Whether the rules refused one of k's answers as ambiguous. */
static bool
any_ambiguous(const struct remote_key *k)
{
	for (size_t i = 0; i < k->cand.n; i++)
		if (k->cand.items[i].reason == IMPORT_R_AMBIGUOUS)
			return true;
	return false;
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
			snprintf(why, whylen, "%s", any_ambiguous(k) ?
			    "ambiguous: certificates of several keys match" :
			    "only a revocation signature came, without its "
			    "key");
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

/* --- a refresh run ---------------------------------------------------- */

struct refresh_run {
	struct refresh_opts	 o;
	struct keyset		*ks;
	unsigned int		 uflags;	/* UPDATE_GPG for gpg */
	struct remote		*rem;
	struct digest		*md5;
	struct refresh_key	*keys;		/* the caller's array */
	size_t			 done, done_before;
	struct pgps_err		 lookup_err;	/* a set lookup failed */
};

void
refresh_key_init(struct refresh_key *k)
{
	memset(k, 0, sizeof(*k));
	buf_init(&k->work, 0);
}

void
refresh_key_release(struct refresh_key *k)
{
	import_set_release(&k->rk.cand);
	free(k->email);
	free(k->name);
	free(k->rk.server);
	free(k->rk.last_server);
	free(k->rk.why);
	k->email = k->name = k->rk.server = k->rk.last_server = k->rk.why = NULL;
	buf_release(&k->work);
}

void
refresh_key_set_fpr(struct refresh_key *k, const uint8_t *fpr, size_t len)
{
	char *name;

	k->rk.kind = NET_QUERY_FPR;
	memcpy(k->rk.id, fpr, len);
	k->rk.idlen = len;
	hex_encode_upper(k->rk.fpr, fpr, len);
	if ((name = strdup(k->rk.fpr)) == NULL)
		abort();	/* out of memory, as remote.c */
	free(k->name);
	k->name = name;
}

/* Keeps why (not NULL, not "") as k's reason. */
static void
key_why(struct refresh_key *k, const char *why)
{
	char *s;

	if (why == NULL || why[0] == '\0')
		return;
	if ((s = strdup(why)) == NULL)
		abort();
	free(k->rk.why);
	k->rk.why = s;
}

static void
key_fail(struct refresh_key *k, enum refresh_result res, const char *why)
{
	k->res = res;
	key_why(k, why);
}

/* What becomes of a put (keyset.h): the key it was for is its offset. */
static void
on_verdict(const struct keyset_verdict *v, void *arg)
{
	struct refresh_run *r = arg;
	struct refresh_key *k = &r->keys[v->offset];
	bool gpg = r->uflags != 0;

	if (v->result == KEYSET_REFUSED)
		key_fail(k, gpg ? REFRESH_FAILED : REFRESH_REFUSED, v->why);
	else if (gpg && v->result == KEYSET_UNCHANGED)
		k->res = REFRESH_UNCHANGED;	/* gpg had it all */
}

/* The set's copy of fpr into out: true, or false without. */
static bool
held(const char *fpr, struct buf *out, void *arg)
{
	struct refresh_run *r = arg;
	struct pgps_err err = PGPS_ERR_INIT;
	int rc = keyset_lookup(out, r->ks, fpr, &err);

	if (rc != 0 && rc != PGPS_ENOTFOUND && r->lookup_err.code == 0)
		r->lookup_err = err;
	return rc == 0;
}

static void
progress(size_t done, void *arg)
{
	struct refresh_run *r = arg;

	r->done = r->done_before + done;
	if (r->o.progress != NULL)
		r->o.progress(r->done, r->o.arg);
}

static void
note(const char *msg, void *arg)
{
	struct refresh_run *r = arg;

	if (r->o.note != NULL)
		r->o.note(msg, r->o.arg);
}

int
refresh_run_new(struct refresh_run **out, struct keyset *ks,
    const struct refresh_opts *o, struct pgps_err *err)
{
	struct refresh_run *r;
	struct remote_opts ro = o->remote;
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->md5 = digest_new(DIGEST_MD5)) == NULL) {
		free(r);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	r->o = *o;
	r->ks = ks;
	r->uflags = keyset_kind(ks) == KEYSET_GPG ? UPDATE_GPG : 0;
	ro.hashquery = o->st != NULL;
	ro.fresh = o->delay > 0;
	ro.held = held;
	ro.progress = progress;
	ro.note = note;
	ro.arg = r;
	if ((rc = remote_new(&r->rem, &ro, err)) != 0) {
		refresh_run_free(r);
		return rc;
	}
	if (o->deadline_ms > 0)
		remote_set_deadline(r->rem, o->deadline_ms);
	keyset_on_verdict(ks, on_verdict, r);
	*out = r;
	return 0;
}

void
refresh_run_free(struct refresh_run *r)
{
	if (r == NULL)
		return;
	remote_free(r->rem);
	digest_free(r->md5);
	free(r);
}

unsigned long
refresh_run_requests(const struct refresh_run *r)
{
	return remote_requests(r->rem);
}

/*
 * The server and SKS hash of k's last answer (the state), when that
 * server is one of the run's: k is then asked by hashquery first.
 */
static void
hashquery_hint(struct refresh_run *r, struct remote_key *k)
{
	struct state_key sk;
	const char *base;

	k->hq_server = -1;
	if (r->o.st == NULL || k->kind != NET_QUERY_FPR ||
	    !state_get(r->o.st, k->fpr, &sk) || !sk.has_hash ||
	    sk.server == NULL)
		return;
	for (size_t s = 0; (base = remote_server_base(r->rem, s)) != NULL;
	    s++)
		if (strcmp(sk.server, base) == 0) {
			k->hq_server = (int)s;
			memcpy(k->hq_hash, sk.hash, 16);
			return;
		}
}

/* Looks up keys[lo..hi). */
static int
lookups(struct refresh_run *r, size_t lo, size_t hi, struct pgps_err *err)
{
	struct remote_key **ks;
	int rc;

	if ((ks = calloc(hi - lo + 1, sizeof(*ks))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	for (size_t i = lo; i < hi; i++) {
		struct refresh_key *k = &r->keys[i];

		k->rk.name = k->name;
		k->rk.email = k->email;
		hashquery_hint(r, &k->rk);
		ks[i - lo] = &k->rk;
	}
	r->done_before = r->done;
	rc = remote_lookup(r->rem, ks, hi - lo, err);
	free(ks);
	return rc;
}

/* Decides for k: what it adds, in k->work, put into the set. */
static int
decide(struct refresh_run *r, struct refresh_key *k, size_t ki,
    struct pgps_err *err)
{
	struct refresh rf;
	int rc;

	if (k->res != REFRESH_PENDING)
		return 0;
	refresh_init(&rf);
	if ((rc = refresh_decide(&rf, r->ks, &k->rk, &r->o.lim, r->uflags,
	    err)) != 0)
		goto cleanup;
	key_fail(k, rf.res, rf.why);
	memcpy(k->changes, rf.changes, sizeof(k->changes));
	buf_swap(&k->work, &rf.cert);
	/* Into the set: a dump or a store in memory now, written at the
	 * commit; a GnuPG keyring when the batch is flushed. */
	if (r->o.writing && (k->res == REFRESH_NEW ||
	    k->res == REFRESH_UPDATED))
		rc = keyset_put(r->ks, k->work.p, k->work.len, k->rk.fpr, ki,
		    err);
 cleanup:
	refresh_release(&rf);
	return rc;
}

/*
 * Imports what keys[lo..hi) add in one gpg run and counts what gpg
 * really kept, read back from the keyring: gpg checks signatures and
 * drops what does not verify, which the packet comparison cannot know.
 */
static int
import_batch(struct refresh_run *r, size_t lo, size_t hi,
    struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct buf *was, now = BUF_INIT;
	size_t n[REFRESH_NKINDS], sum;
	int rc;

	/* The keyring's copies before, from what decide() looked up. */
	if ((was = calloc(hi - lo + 1, sizeof(*was))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	for (size_t i = lo; i < hi; i++)
		if (r->keys[i].res == REFRESH_UPDATED)
			(void)held(r->keys[i].rk.fpr, &was[i - lo], r);
	if ((rc = keyset_flush(r->ks, err)) != 0)
		goto cleanup;
	for (size_t i = lo; i < hi; i++) {
		struct refresh_key *k = &r->keys[i];

		pgps_err_clear(&e);
		buf_reset(&now);
		if (k->res != REFRESH_UPDATED || !held(k->rk.fpr, &now, r) ||
		    refresh_kept(n, &was[i - lo], &now, &e) != 0)
			continue;
		memcpy(k->changes, n, sizeof(n));
		sum = 0;
		for (size_t j = 0; j < REFRESH_NKINDS; j++)
			sum += n[j];
		if (sum == 0)
			k->res = REFRESH_UNCHANGED;	/* gpg kept nothing */
	}
 cleanup:
	for (size_t i = lo; i < hi; i++)
		buf_release(&was[i - lo]);
	free(was);
	buf_release(&now);
	return rc;
}

/* Records k's outcome in the state: an answer, no copy, or a failure. */
static int
record(struct refresh_run *r, const struct refresh_key *k)
{
	bool found = k->res == REFRESH_UPDATED || k->res == REFRESH_NEW ||
	    k->res == REFRESH_UNCHANGED;
	const struct remote_key *rk = &k->rk;

	if (r->o.st == NULL || !r->o.record || rk->fpr[0] == '\0')
		return 0;
	if (found || k->res == REFRESH_NOT_FOUND)
		return state_checked(r->o.st, rk->fpr, r->o.now, found ?
		    rk->server : rk->last_server != NULL ? rk->last_server :
		    "", found && rk->has_hash ? rk->hash : NULL,
		    k->res != REFRESH_UNCHANGED &&
		    k->res != REFRESH_NOT_FOUND);
	if (k->res == REFRESH_FAILED || k->res == REFRESH_REFUSED)
		return state_failed(r->o.st, rk->fpr, r->o.now,
		    rk->why != NULL ? rk->why : "failed");
	return 0;
}

int
refresh_run_keys(struct refresh_run *r, struct refresh_key *keys,
    size_t lo, size_t hi, struct pgps_err *err)
{
	const char **pats;
	char why[300];
	size_t np = 0;
	int rc;

	r->keys = keys;
	if ((rc = lookups(r, lo, hi, err)) != 0)
		return rc;
	/*
	 * The set's copies of keys not known by their fingerprint before
	 * the answers came (asked for by address, key ID, subkey).
	 */
	if ((pats = calloc(hi - lo + 1, sizeof(*pats))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	for (size_t i = lo; i < hi; i++) {
		struct refresh_key *k = &keys[i];

		if (k->rk.cand.n == 0 || k->res != REFRESH_PENDING)
			continue;
		if (refresh_resolve(r->rem, &k->rk, r->md5, why, sizeof(why)))
			pats[np++] = k->rk.fpr;
		else if (why[0] != '\0')
			key_fail(k, REFRESH_REFUSED, why);
		if (r->o.resolved != NULL)
			r->o.resolved(k, r->o.arg);
	}
	if (np > 0)
		rc = keyset_preload(r->ks, pats, np, err);
	free(pats);
	for (size_t i = lo; i < hi && rc == 0; i++)
		rc = decide(r, &keys[i], i, err);
	if (rc == 0 && r->o.writing && r->uflags != 0)
		rc = import_batch(r, lo, hi, err);
	if (rc == 0 && r->lookup_err.code != 0) {
		rc = r->lookup_err.code;
		if (err != NULL)
			*err = r->lookup_err;
	}
	for (size_t i = lo; i < hi && rc == 0; i++) {
		if (record(r, &keys[i]) != 0)
			rc = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		else if (r->o.done != NULL)
			r->o.done(&keys[i], r->o.arg);
	}
	return rc;
}

/* Shuffles keys[0..n) (Fisher-Yates) with the kernel's randomness. */
static int
shuffle(struct refresh_run *r, struct refresh_key *keys, size_t n,
    struct pgps_err *err)
{
	struct refresh_key t;
	uint64_t v;
	int rc;

	for (size_t i = n; i > 1; i--) {
		if ((rc = remote_random(r->rem, &v, err)) != 0)
			return rc;
		t = keys[i - 1];
		keys[i - 1] = keys[v % i];
		keys[v % i] = t;
	}
	return 0;
}

int
refresh_run_all(struct refresh_run *r, struct refresh_key *keys, size_t n,
    struct pgps_err *err)
{
	size_t batch = r->o.delay > 0 ? 1 : REFRESH_BATCH;
	double t_end = clock_s() + (double)r->o.deadline_ms / 1000, d;
	uint64_t v;
	int rc;

	if (r->o.delay > 0 && (rc = shuffle(r, keys, n, err)) != 0)
		return rc;
	for (size_t lo = 0; lo < n; lo += batch) {
		size_t hi = lo + batch < n ? lo + batch : n;

		if (r->o.delay > 0 && lo > 0) {
			if ((rc = remote_random(r->rem, &v, err)) != 0)
				return rc;
			d = r->o.delay * (double)(v % 1000001) / 1e6;
			if (r->o.deadline_ms > 0 && d > t_end - clock_s())
				d = t_end - clock_s();
			clock_sleep_s(d);
		}
		if ((rc = refresh_run_keys(r, keys, lo, hi, err)) != 0 ||
		    (r->o.batch_done != NULL &&
		    (rc = r->o.batch_done(r->o.arg)) != 0))
			return rc;
	}
	return 0;
}
