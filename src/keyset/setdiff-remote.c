/*
 * setdiff-remote.c: the right side of a comparison read by lookup
 * (setdiff_lookup() in setdiff.h): every key of the left side asked of
 * keyservers with keyset/remote.h, every answer judged by the import
 * rules of keyset/import.h, and what they take -- the certificate a
 * refresh would bring -- kept as that key's version on the right.
 */
#include "util/common.h"

#include "keyset/refresh.h"
#include "keyset/remote.h"
#include "keyset/setdiff.h"
#include "util/hex.h"
#include "util/mem.h"

/* The left side, as the import rules see it: the keys it holds. */
struct held {
	struct setdiff_side	*sd;
	struct buf		 buf;
	struct pgp_cert		 cert;
	struct digest		*md5;
};

/* The record of sd for the primary key fpr (hex), or -1. */
static long
find_key(const struct setdiff_side *sd, const char *fpr)
{
	uint8_t key[INDEX_KEY_LEN];
	size_t len = strlen(fpr) / 2, lo = 0, hi = sd->n;

	if (len == 0 || len > PGP_FPR_MAX ||
	    hex_decode(key + 1, len, fpr, strlen(fpr)) != 0)
		return -1;
	key[0] = (uint8_t)len;
	if (len == 8) {
		/* A key ID: the fingerprint's that names it (v4: its end). */
		for (size_t i = 0; i < sd->n; i++)
			if (sd->v[i].key[0] == 20 &&
			    memcmp(sd->v[i].key + 13, key + 1, 8) == 0)
				return (long)i;
			else if (sd->v[i].key[0] == 32 &&
			    memcmp(sd->v[i].key + 1, key + 1, 8) == 0)
				return (long)i;
		return -1;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(sd->v[mid].key, key, len + 1);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static bool
held_copy(const char *fpr, struct buf *out, void *arg)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct held *h = arg;
	long i = find_key(h->sd, fpr);

	if (i < 0 || setdiff_cert(h->sd, (size_t)i, &h->buf, &h->cert,
	    h->md5, &err) != 0)
		return false;
	buf_reset(out);
	return buf_add(out, h->buf.p, h->buf.len) == 0;
}

/* Passes on the refusals of k's answers that look like k: forgeries. */
static size_t
warn_refused(struct setdiff_side *sd, const struct remote_key *k)
{
	size_t n = 0;

	for (size_t i = 0; i < k->cand.n; i++) {
		const struct import_item *it = &k->cand.items[i];

		if (it->verdict != IMPORT_REFUSE ||
		    it->reason == IMPORT_R_OTHER_KEY ||
		    it->reason == IMPORT_R_UNREADABLE)
			continue;
		n++;
		setdiff_warnf(sd, "'%s': refused %s from '%s': %s", k->fpr,
		    it->fpr[0] != '\0' ? it->fpr : "a revocation",
		    it->source != NULL ? it->source : "?", it->why);
	}
	return n;
}

/* Whether a signature of type t by the key itself is checked here. */
static bool
self_type(uint8_t t)
{
	return t == PGP_SIG_KEY_REVOCATION || t == PGP_SIG_SUBKEY_REVOCATION;
}

/*
 * Leaves out of the certificate in buf what the key set's copy (copy;
 * NULL: none) lacks and does not verify by the primary key: every new
 * signature claiming the primary key as issuer, and every new key or
 * subkey revocation.  An issuer subpacket is only a claim.  Each one
 * left out is warned about and counted in b's skipped.
 */
static int
drop_unverified(struct setdiff_side *sd, const char *fpr, struct buf *buf,
    const struct buf *copy, struct pgps_err *err)
{
	struct pgp_cert c = PGP_CERT_INIT, a = PGP_CERT_INIT;
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_sig_info si;
	struct buf out = BUF_INIT;
	const struct pgp_packet *comp = NULL;
	enum pgp_verify v;
	bool *is_new = NULL;
	int r;

	if ((r = pgp_cert_parse(&c, buf->p, buf->len, 0, err)) != 0)
		goto cleanup;
	if (!c.has_primary || c.npkts == 0)
		goto cleanup;
	if ((is_new = calloc(c.npkts, sizeof(*is_new))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (copy == NULL || pgp_cert_parse(&a, copy->p, copy->len, 0,
	    NULL) != 0 || pgp_cert_mark_new(is_new, &a, &c, NULL) != 0)
		for (size_t i = 0; i < c.npkts; i++)
			is_new[i] = true;
	for (size_t i = 0; i < c.npkts; i++) {
		const struct pgp_packet *p = &c.pkts[i];

		if (p->tag == PGP_TAG_USER_ID ||
		    p->tag == PGP_TAG_USER_ATTRIBUTE ||
		    p->tag == PGP_TAG_PUBLIC_SUBKEY)
			comp = p;
		if (i > 0 && p->tag == PGP_TAG_SIGNATURE && is_new[i] &&
		    pgp_sig_parse(&si, p->body, p->bodylen, NULL) == 0 &&
		    (pgp_sig_is_by(&si, &c.primary) || self_type(si.type))) {
			pgps_err_clear(&e);
			v = pgp_sig_verify(p->body, p->bodylen, &c.pkts[0],
			    &c.pkts[0], comp, &e);
			if (v != PGP_VERIFY_GOOD) {
				setdiff_warnf(sd, "'%s': left out a signature "
				    "0x%02x at offset %llu from '%s' that does "
				    "not verify (%s%s)", fpr, si.type,
				    (unsigned long long)p->offset, sd->spec,
				    v == PGP_VERIFY_UNKNOWN ?
				    "not verified: " : "", e.msg);
				sd->skipped++;
				continue;
			}
		}
		if (pgp_packet_write(&out, p) != 0) {
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	buf_swap(buf, &out);
 cleanup:
	pgp_cert_release(&c);
	pgp_cert_release(&a);
	buf_release(&out);
	free(is_new);
	return r;
}

/*
 * Decides k: nothing (the key is not on the right), or its version on
 * the right added to b.  A key no server could be asked about fails.
 */
static int
decide(struct setdiff *d, struct remote *rem, struct remote_key *k,
    struct held *h, struct buf *tmp, struct pgps_err *err)
{
	struct buf copy = BUF_INIT;
	char why[400];
	bool have;
	int r;

	if (!refresh_resolve(rem, k, h->md5, why, sizeof(why))) {
		d->b.skipped += warn_refused(&d->b, k);
		if (why[0] != '\0') {
			setdiff_warnf(&d->b, "'%s': nothing taken from "
			    "'%s': %s", k->fpr, d->b.spec, why);
			d->b.skipped++;
		} else if (k->failures > 0 || k->late)
			return pgps_err_set(err, PGPS_EIO, "cannot look up "
			    "%s: %s", k->fpr, k->why != NULL ? k->why :
			    k->late ? "out of time" : "the keyserver failed");
		else if (k->mismatches > 0) {
			/* An answer came, but not the key: not "absent". */
			setdiff_warnf(&d->b, "'%s': nothing usable from "
			    "'%s': %s", k->fpr, d->b.spec, k->why != NULL ?
			    k->why : "the answer is not this key");
			d->b.skipped++;
		}
		return 0;
	}
	d->b.skipped += warn_refused(&d->b, k);
	have = held_copy(k->fpr, &copy, h);
	if ((r = refresh_answers(tmp, k, have ? &copy : NULL, err)) == 0 &&
	    (r = drop_unverified(&d->b, k->fpr, tmp, have ? &copy : NULL,
	    err)) == 0)
		r = setdiff_side_put(&d->b, tmp->p, tmp->len, err);
	buf_release(&copy);
	return r;
}

/* The keys of a to look up: every one but bare revocations. */
static int
keys_of(struct remote_key **out, struct remote_key ***ptrs, size_t *n,
    const struct setdiff_side *a, struct pgps_err *err)
{
	struct remote_key *k = calloc(a->n + 1, sizeof(*k));
	struct remote_key **p = calloc(a->n + 1, sizeof(*p));

	*n = 0;
	if (k == NULL || p == NULL) {
		free(k);
		free(p);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct setdiff_rec *r = &a->v[i];
		struct remote_key *x = &k[*n];

		if (r->key[0] == INDEX_KEY_BARE)
			continue;
		x->kind = NET_QUERY_FPR;
		memcpy(x->id, r->key + 1, r->key[0]);
		x->idlen = r->key[0];
		hex_encode_upper(x->fpr, r->key + 1, r->key[0]);
		x->name = x->fpr;
		x->hq_server = -1;
		p[*n] = x;
		(*n)++;
	}
	*out = k;
	*ptrs = p;
	return 0;
}

int
setdiff_lookup(struct setdiff *d, const struct remote_opts *o, int jobs,
    struct pgps_err *err)
{
	struct remote_opts ro = *o;
	struct remote *rem = NULL;
	struct remote_key *keys = NULL, **ptrs = NULL;
	struct buf tmp = BUF_INIT;
	struct held h;
	size_t n = 0, i;
	int r;

	memset(&h, 0, sizeof(h));
	h.sd = &d->a;
	h.cert = (struct pgp_cert)PGP_CERT_INIT;
	buf_init(&h.buf, 0);
	buf_init(&tmp, 0);
	if ((r = setdiff_read_one(d, jobs, err)) != 0)
		goto done;
	if ((h.md5 = digest_new(DIGEST_MD5)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto done;
	}
	ro.held = held_copy;
	ro.arg = &h;
	if ((r = keys_of(&keys, &ptrs, &n, &d->a, err)) != 0 ||
	    (r = remote_new(&rem, &ro, err)) != 0)
		goto done;
	if (n > 0 && (r = remote_lookup(rem, ptrs, n, err)) != 0)
		goto done;
	for (i = 0; i < n && r == 0; i++)
		r = decide(d, rem, &keys[i], &h, &tmp, err);
	if (r == 0)
		r = setdiff_side_done(&d->b, err);
 done:
	for (i = 0; i < n; i++)
		remote_key_release(&keys[i]);
	free(keys);
	free(ptrs);
	remote_free(rem);
	buf_release(&tmp);
	buf_release(&h.buf);
	pgp_cert_release(&h.cert);
	digest_free(h.md5);
	return r;
}
