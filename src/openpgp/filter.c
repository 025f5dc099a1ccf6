/*
 * filter.c: the limits that keep flooded ("poisoned") certificates out of
 * a keyring: third-party certifications stripped or capped per user ID,
 * oversized packets dropped, oversized certificates refused.
 *
 * The certificate is first put in SKS's canonical form (merge.c), which
 * also leaves out secret keys; beyond that the filter never adds, re-orders
 * or re-frames packets, and never verifies a signature: a self-signature is
 * one that names the primary key as its issuer.  That errs on the safe side: a forged "self-signature" merely
 * survives the filter (and fails gpg's verification later), while a real
 * one is never lost.  Each limit costs one pass, plus one sort by time of
 * the certifications of a user ID over its cap, so a certificate with
 * 100,000 signatures is filtered in milliseconds.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/limits.h"
#include "util/mem.h"

void
pgp_limits_default(struct pgp_limits *lim)
{
	lim->max_cert_size = PGPS_DEFAULT_MAX_CERT_SIZE;
	lim->max_sigs_per_uid = PGPS_DEFAULT_MAX_SIGS_PER_UID;
	lim->max_packet_size = PGPS_DEFAULT_MAX_PACKET_SIZE;
	lim->strip_third_party = false;
}

/* A third-party certification waiting for the per-UID cap. */
struct cand {
	uint32_t	created;
	size_t		idx;
};

/* Newest first; of equal times the later packet first. */
static int
cand_cmp(const void *va, const void *vb)
{
	const struct cand *x = va, *y = vb;

	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return x->idx > y->idx ? -1 : x->idx < y->idx;
}

static bool
is_junk(uint8_t tag)
{
	return tag == PGP_TAG_TRUST || tag == PGP_TAG_MARKER ||
	    tag == PGP_TAG_PADDING;
}

static bool
too_big(const struct pgp_packet *p, const struct pgp_limits *lim)
{
	return lim->max_packet_size != 0 && p->bodylen > lim->max_packet_size;
}

/* Junk and oversized packets of a run; returns whether p stays. */
static bool
keep_plain(const struct pgp_packet *p, const struct pgp_limits *lim,
    struct pgp_filter_report *rep)
{
	if (is_junk(p->tag)) {
		rep->dropped_other++;
		return false;
	}
	if (too_big(p, lim)) {
		rep->dropped_big_packets++;
		return false;
	}
	return true;
}

/*
 * The signatures under one user ID or attribute: everything that is not a
 * self-signature counts as a third-party certification (a signature we
 * cannot even parse included), is stripped if asked, and beyond the cap
 * only the newest survive.
 */
static void
filter_user(uint8_t *keep, struct cand *cv, const struct pgp_cert *c,
    const struct pgp_component *cp, const bool *held,
    const struct pgp_limits *lim, struct pgp_filter_report *rep)
{
	struct pgp_sig_info si;
	size_t j, nc = 0, nheld = 0, room;

	for (j = cp->first_sig; j < cp->first_sig + cp->nsigs; j++) {
		const struct pgp_packet *p = &c->pkts[j];
		bool parsed;

		if (!keep_plain(p, lim, rep))
			continue;
		keep[j] = 1;
		if (p->tag != PGP_TAG_SIGNATURE)
			continue;
		parsed = pgp_sig_parse(&si, p->body, p->bodylen, NULL) == 0;
		if (parsed && c->has_primary && pgp_sig_is_by(&si, &c->primary))
			continue;
		if (held != NULL && held[j]) {
			nheld++;
			continue;
		}
		if (lim->strip_third_party) {
			keep[j] = 0;
			rep->dropped_third_party++;
			continue;
		}
		cv[nc].created = parsed && si.has_created ? si.created : 0;
		cv[nc].idx = j;
		nc++;
	}
	if (lim->max_sigs_per_uid == 0)
		return;
	/* The new ones compete for the room the held ones leave. */
	room = nheld < lim->max_sigs_per_uid ?
	    lim->max_sigs_per_uid - nheld : 0;
	if (nc <= room)
		return;
	qsort(cv, nc, sizeof(*cv), cand_cmp);
	for (j = room; j < nc; j++) {
		keep[cv[j].idx] = 0;
		rep->dropped_excess_sigs++;
	}
}

int
pgp_cert_filter(struct buf *out, const struct pgp_cert *in,
    const struct pgp_limits *lim, struct pgp_filter_report *rep,
    struct pgps_err *err)
{
	return pgp_cert_filter_held(out, in, NULL, lim, rep, err);
}

int
pgp_cert_filter_held(struct buf *out, const struct pgp_cert *in,
    const struct pgp_cert *hc, const struct pgp_limits *lim,
    struct pgp_filter_report *rep, struct pgps_err *err)
{
	struct pgp_filter_report fr;
	struct pgp_cert_merge_report mr;
	struct pgp_cert cc = PGP_CERT_INIT;
	struct buf cb = BUF_INIT;
	const struct pgp_cert *c = in;
	struct pgp_component *comps = NULL;
	struct cand *cv = NULL;
	uint8_t *keep = NULL;
	bool *held = NULL;
	size_t nc, nd, start = c->has_primary ? 1 : 0, oldlen = out->len, j;
	int r = PGPS_EINTERNAL;

	memset(&fr, 0, sizeof(fr));
	if (c->flags & PGP_CERT_SECRET) {
		r = pgps_err_set(err, PGPS_EFORMAT, "certificate at offset "
		    "%llu: secret key material", (unsigned long long)c->offset);
		goto cleanup;
	}
	if (c->has_primary && too_big(&c->pkts[0], lim)) {
		r = pgps_err_set(err, PGPS_ELIMIT, "certificate at offset "
		    "%llu: primary key packet of %zu octets exceeds the "
		    "packet size limit of %zu", (unsigned long long)c->offset,
		    c->pkts[0].bodylen, lim->max_packet_size);
		goto cleanup;
	}
	/* Kept at the offset of the input, for messages. */
	if ((r = pgp_cert_canonical(&cb, in, &mr, err)) != 0 ||
	    (r = pgp_cert_parse(&cc, cb.p, cb.len, in->offset, err)) != 0)
		goto cleanup;
	c = &cc;
	/* The canonical form has no trust packets: count them here. */
	for (j = 0; j < in->npkts; j++)
		if (in->pkts[j].tag == PGP_TAG_TRUST)
			fr.dropped_other++;
	fr.dropped_secret = mr.dropped_secret;
	fr.dropped_repeats = mr.dropped_repeats;
	if ((r = pgp_cert_components(&comps, &nc, &nd, c, err)) != 0)
		goto cleanup;
	keep = calloc(c->npkts + 1, 1);
	cv = mem_reallocarray(NULL, c->npkts + 1, sizeof(*cv));
	if (keep == NULL || cv == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (hc != NULL) {
		if ((held = calloc(c->npkts + 1, sizeof(*held))) == NULL) {
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
			goto cleanup;
		}
		/* What hc holds is what a merge into it would not add. */
		if ((r = pgp_cert_mark_new(held, hc, c, err)) != 0)
			goto cleanup;
		for (j = 0; j < c->npkts; j++)
			held[j] = !held[j];
	}
	if (c->has_primary)
		keep[0] = 1;
	for (j = start; j < start + nd; j++)
		keep[j] = keep_plain(&c->pkts[j], lim, &fr);
	for (size_t ci = 0; ci < nc; ci++) {
		const struct pgp_component *cp = &comps[ci];
		const struct pgp_packet *p = &c->pkts[cp->pkt];

		if (too_big(p, lim)) {
			/* Its signatures are worthless without it. */
			for (j = cp->pkt; j < cp->first_sig + cp->nsigs; j++)
				if (is_junk(c->pkts[j].tag))
					fr.dropped_other++;
				else
					fr.dropped_big_packets++;
			continue;
		}
		keep[cp->pkt] = 1;
		if (p->tag == PGP_TAG_USER_ID ||
		    p->tag == PGP_TAG_USER_ATTRIBUTE)
			filter_user(keep, cv, c, cp, held, lim, &fr);
		else
			for (j = cp->first_sig; j < cp->first_sig + cp->nsigs;
			    j++)
				keep[j] = keep_plain(&c->pkts[j], lim, &fr);
	}
	for (j = 0; held != NULL && j < c->npkts; j++)
		keep[j] |= held[j];
	for (j = 0; j < c->npkts; j++) {
		if (keep[j] && (r = pgp_packet_write(out, &c->pkts[j])) != 0) {
			r = pgps_err_set(err, r, "certificate at offset %llu: "
			    "%s", (unsigned long long)c->offset,
			    pgps_strerror(r));
			goto cleanup;
		}
	}
	if (lim->max_cert_size != 0 && out->len - oldlen > lim->max_cert_size) {
		fr.too_big = true;
		r = pgps_err_set(err, PGPS_ELIMIT, "certificate at offset %llu "
		    "is %zu octets after filtering, over the limit of %zu",
		    (unsigned long long)c->offset, out->len - oldlen,
		    lim->max_cert_size);
		goto cleanup;
	}
	r = 0;
 cleanup:
	if (r != 0)
		buf_setlen(out, oldlen);
	if (rep != NULL)
		*rep = fr;
	free(comps);
	free(keep);
	free(held);
	free(cv);
	pgp_cert_release(&cc);
	buf_release(&cb);
	return r;
}
