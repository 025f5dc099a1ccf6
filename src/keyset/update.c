/*
 * update.c: preparing an incoming certificate for a keyring and deciding
 * what it adds to the keyring's copy (update.h).
 *
 * Nothing here talks to gpg or reads files: the caller brings the
 * keyring's copy and takes the result to the keyring.  Nothing is
 * verified either; gpg checks the signatures it imports, and a keyring
 * that is not gpg's receives the packets as the limits left them.
 */
#include "util/common.h"

#include "keyset/update.h"

int
update_prepare(struct buf *out, const struct pgp_cert *c,
    const struct pgp_limits *lim, unsigned int flags,
    struct update_prep_report *rep, struct pgps_err *err)
{
	struct update_prep_report local;
	struct pgp_cert p = PGP_CERT_INIT;
	struct buf prep = BUF_INIT;
	const struct pgp_cert *src = c;
	int r = PGPS_EINTERNAL;

	if (rep == NULL)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	if ((flags & UPDATE_GPG) != 0) {
		if ((r = gpg_cert_prepare(&prep, c, &rep->compat, err)) != 0 ||
		    (r = pgp_cert_parse(&p, prep.p, prep.len, c->offset,
		    err)) != 0)
			goto cleanup;
		src = &p;
	}
	r = pgp_cert_filter(out, src, lim, &rep->filter, err);
 cleanup:
	pgp_cert_release(&p);
	buf_release(&prep);
	return r;
}

bool
update_has_uid(const struct pgp_cert *c)
{
	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag == PGP_TAG_USER_ID)
			return true;
	return false;
}

int
update_merge(struct buf *work, enum update_result *res, const uint8_t *in,
    size_t len, uint64_t offset, unsigned int flags,
    struct pgp_cert_merge_report *rep, struct pgp_change **changes,
    size_t *nchanges, struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_cert inc = PGP_CERT_INIT, w = PGP_CERT_INIT;
	struct pgp_cert cmp = PGP_CERT_INIT;
	struct pgp_cert_merge_report lrep;
	struct buf merged = BUF_INIT, cmpbuf = BUF_INIT;
	struct pgp_change *ch = NULL;
	size_t nch = 0;
	const struct pgp_cert *against;
	int r = PGPS_EINTERNAL;

	if (rep == NULL)
		rep = &lrep;
	memset(rep, 0, sizeof(*rep));
	if (changes != NULL) {
		*changes = NULL;
		*nchanges = 0;
	}
	if ((r = pgp_cert_parse(&inc, in, len, offset, &e)) != 0) {
		r = pgps_err_set(err, r, "malformed: %s", e.msg);
		goto cleanup;
	}
	if (work->len == 0) {
		if ((flags & UPDATE_GPG) != 0 && !update_has_uid(&inc)) {
			r = pgps_err_set(err, PGPS_EUNSUPPORTED, "new key "
			    "without a user ID (gpg cannot import it)");
			goto cleanup;
		}
		if ((r = buf_add(work, in, len)) != 0) {
			r = pgps_err_set(err, r, "%s", pgps_strerror(r));
			goto cleanup;
		}
		*res = UPDATE_NEW;
		goto cleanup;
	}
	if ((r = pgp_cert_parse(&w, work->p, work->len, 0, &e)) != 0) {
		r = pgps_err_set(err, r, "cannot read the keyring's copy: %s",
		    e.msg);
		goto cleanup;
	}
	against = &inc;
	if ((flags & UPDATE_GPG) != 0) {
		if ((r = gpg_cert_comparable(&cmpbuf, &inc, &w, &e)) != 0 ||
		    (r = pgp_cert_parse(&cmp, cmpbuf.p, cmpbuf.len, offset,
		    &e)) != 0) {
			r = pgps_err_set(err, r, "malformed: %s", e.msg);
			goto cleanup;
		}
		against = &cmp;
	}
	if (pgp_cert_contains(&w, against)) {
		*res = UPDATE_UNCHANGED;
		r = 0;
		goto cleanup;
	}
	/* Counted on the compare form: what gpg will keep of it. */
	r = pgp_cert_merge(&merged, &w, against, rep, &e);
	if (r == 0 && changes != NULL)
		r = pgp_cert_diff(&ch, &nch, &w, against, &e);
	if (r == 0 && against != &inc) {
		buf_reset(&merged);
		r = pgp_cert_merge(&merged, &w, &inc, NULL, &e);
	}
	if (r != 0) {
		r = pgps_err_set(err, r, "cannot merge with the keyring's "
		    "copy: %s", e.msg);
		goto cleanup;
	}
	buf_swap(work, &merged);
	*res = UPDATE_CHANGED;
	if (changes != NULL) {
		*changes = ch;
		*nchanges = nch;
		ch = NULL;
	}
	r = 0;
 cleanup:
	free(ch);
	pgp_cert_release(&inc);
	pgp_cert_release(&w);
	pgp_cert_release(&cmp);
	buf_release(&merged);
	buf_release(&cmpbuf);
	return r;
}
