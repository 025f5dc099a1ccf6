/*
 * diff.c: what one version of a certificate has that another lacks, each
 * packet classified the way a user reads a key update: new user IDs,
 * attributes and subkeys, self-signatures (and among them those that move
 * the key's expiry), third-party certifications, revocations.
 *
 * Which packets are new is decided by pgp_cert_mark_new(), so diff, merge
 * and contains never disagree.  Signatures are classified from their
 * declared type and issuer; none is verified, so a "self-signature" is one
 * that claims the primary key as issuer.
 */
#include "util/common.h"

#include "openpgp/diff.h"
#include "openpgp/openpgp.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/text.h"

#define NONE	SIZE_MAX

const char *
pgp_change_kind_name(enum pgp_change_kind k)
{
	switch (k) {
	case PGP_CHANGE_UID:
		return "uid";
	case PGP_CHANGE_UAT:
		return "uat";
	case PGP_CHANGE_SUBKEY:
		return "subkey";
	case PGP_CHANGE_SELF_SIG:
		return "self-sig";
	case PGP_CHANGE_EXPIRY:
		return "expiry";
	case PGP_CHANGE_CERTIFICATION:
		return "certification";
	case PGP_CHANGE_REVOCATION:
		return "revocation";
	case PGP_CHANGE_OTHER:
		return "other";
	}
	return "other";
}

static bool
is_revocation(uint8_t type)
{
	return type == PGP_SIG_KEY_REVOCATION ||
	    type == PGP_SIG_SUBKEY_REVOCATION ||
	    type == PGP_SIG_CERT_REVOCATION;
}

static bool
is_certification(uint8_t type)
{
	return type >= PGP_SIG_CERT_GENERIC && type <= PGP_SIG_CERT_POSITIVE;
}

/* The self-signatures that carry a key expiry (RFC 9580 5.2.3.13). */
static bool
is_binding(uint8_t type)
{
	return is_certification(type) || type == PGP_SIG_SUBKEY_BINDING ||
	    type == PGP_SIG_DIRECT_KEY;
}

/*
 * One self-signature of a or b, with the component it is on, for finding
 * "the latest earlier self-signature on the same component".
 */
struct selfsig {
	const struct pgp_packet	*own;	/* component; NULL: primary key */
	uint32_t		 created;
	bool			 has_exp;
	uint32_t		 exp;
	uint8_t			 src;	/* 0: a, 1: b */
	size_t			 idx;	/* packet index in its cert */
};

static int
selfsig_cmp(const void *va, const void *vb)
{
	const struct selfsig *x = va, *y = vb;
	int c;

	if ((c = pgp_packet_cmp(x->own, y->own)) != 0)
		return c;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Per-packet owner: the index of the component packet, or NONE. */
static int
owners(size_t **out, const struct pgp_cert *c, struct pgps_err *err)
{
	struct pgp_component *comps = NULL;
	size_t nc, nd, *own;
	int r;

	if ((r = pgp_cert_components(&comps, &nc, &nd, c, err)) != 0)
		return r;
	if ((own = mem_reallocarray(NULL, c->npkts + 1, sizeof(*own))) ==
	    NULL) {
		free(comps);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < c->npkts; i++)
		own[i] = NONE;
	for (size_t ci = 0; ci < nc; ci++) {
		own[comps[ci].pkt] = comps[ci].pkt;
		for (size_t j = 0; j < comps[ci].nsigs; j++)
			own[comps[ci].first_sig + j] = comps[ci].pkt;
	}
	free(comps);
	*out = own;
	return 0;
}

/* Appends c's self-signatures (all of them) to v. */
static size_t
collect_selfsigs(struct selfsig *v, const struct pgp_cert *c,
    const size_t *own, const struct pgp_key_info *k, uint8_t src)
{
	struct pgp_sig_info si;
	size_t n = 0;

	for (size_t i = 0; i < c->npkts; i++) {
		const struct pgp_packet *p = &c->pkts[i];

		if (p->tag != PGP_TAG_SIGNATURE ||
		    pgp_sig_parse(&si, p->body, p->bodylen, NULL) != 0 ||
		    !is_binding(si.type) || !pgp_sig_is_by(&si, k))
			continue;
		v[n].own = own[i] == NONE ? NULL : &c->pkts[own[i]];
		v[n].created = si.has_created ? si.created : 0;
		v[n].has_exp = si.has_key_expiry;
		v[n].exp = si.key_expiry;
		v[n].src = src;
		v[n].idx = i;
		n++;
	}
	return n;
}

/*
 * Marks each new self-signature of b whose key expiry differs from that of
 * the latest strictly earlier self-signature on the same component (in a
 * or b) as an expiry change.  Sorting makes this O(n log n).
 */
static int
mark_expiry(struct pgp_change *ch, const size_t *slot,
    const struct pgp_cert *a, const size_t *owna, const struct pgp_cert *b,
    const size_t *ownb, const struct pgp_key_info *k, struct pgps_err *err)
{
	struct selfsig *v;
	size_t n, total, i, run, prev;

	if (!mem_add(&total, a->npkts, b->npkts) ||
	    (v = mem_reallocarray(NULL, total + 1, sizeof(*v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	n = collect_selfsigs(v, a, owna, k, 0);
	n += collect_selfsigs(v + n, b, ownb, k, 1);
	qsort(v, n, sizeof(*v), selfsig_cmp);
	for (i = 0; i < n; i = run) {
		/* v[i..run): one component, one creation time. */
		for (run = i + 1; run < n &&
		    pgp_packet_cmp(v[i].own, v[run].own) == 0 &&
		    v[run].created == v[i].created; run++)
			;
		prev = i > 0 && pgp_packet_cmp(v[i - 1].own, v[i].own) == 0 ?
		    i - 1 : NONE;
		for (size_t j = i; j < run; j++) {
			struct pgp_change *c;

			if (v[j].src != 1 || slot[v[j].idx] == NONE)
				continue;
			c = &ch[slot[v[j].idx]];
			if (c->kind != PGP_CHANGE_SELF_SIG || prev == NONE)
				continue;
			if (v[prev].has_exp != v[j].has_exp ||
			    (v[j].has_exp && v[prev].exp != v[j].exp))
				c->kind = PGP_CHANGE_EXPIRY;
		}
	}
	free(v);
	return 0;
}

static enum pgp_change_kind
classify(struct pgp_change *c, const struct pgp_packet *p,
    const struct pgp_key_info *k)
{
	switch (p->tag) {
	case PGP_TAG_USER_ID:
		return PGP_CHANGE_UID;
	case PGP_TAG_USER_ATTRIBUTE:
		return PGP_CHANGE_UAT;
	case PGP_TAG_PUBLIC_SUBKEY:
	case PGP_TAG_SECRET_SUBKEY:
		return PGP_CHANGE_SUBKEY;
	case PGP_TAG_SIGNATURE:
		break;
	default:
		return PGP_CHANGE_OTHER;
	}
	if (pgp_sig_parse(&c->sig, p->body, p->bodylen, NULL) != 0) {
		memset(&c->sig, 0, sizeof(c->sig));
		return PGP_CHANGE_OTHER;
	}
	if (is_revocation(c->sig.type))
		return PGP_CHANGE_REVOCATION;
	if (k != NULL && pgp_sig_is_by(&c->sig, k))
		return is_binding(c->sig.type) ? PGP_CHANGE_SELF_SIG :
		    PGP_CHANGE_OTHER;
	return is_certification(c->sig.type) ? PGP_CHANGE_CERTIFICATION :
	    PGP_CHANGE_OTHER;
}

int
pgp_cert_diff(struct pgp_change **out, size_t *n, const struct pgp_cert *a,
    const struct pgp_cert *b, struct pgps_err *err)
{
	const struct pgp_key_info *k = NULL;
	struct pgp_change *ch = NULL;
	bool *is_new = NULL, any_self = false;
	size_t *owna = NULL, *ownb = NULL, *slot = NULL, nch = 0, i;
	int r = PGPS_EINTERNAL;

	if (b->has_primary)
		k = &b->primary;
	else if (a->has_primary)
		k = &a->primary;
	if ((is_new = calloc(b->npkts + 1, sizeof(*is_new))) == NULL ||
	    (slot = mem_reallocarray(NULL, b->npkts + 1, sizeof(*slot))) ==
	    NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((r = pgp_cert_mark_new(is_new, a, b, err)) != 0 ||
	    (r = owners(&ownb, b, err)) != 0)
		goto cleanup;
	for (i = 0; i < b->npkts; i++)
		if (is_new[i])
			nch++;
	if ((ch = calloc(nch + 1, sizeof(*ch))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	nch = 0;
	for (i = 0; i < b->npkts; i++) {
		struct pgp_change *c = &ch[nch];

		slot[i] = NONE;
		if (!is_new[i])
			continue;
		c->pkt = i;
		/* The primary key itself: new only to a bare revocation. */
		c->comp = ownb[i];
		c->kind = i == 0 && b->has_primary ? PGP_CHANGE_OTHER :
		    classify(c, &b->pkts[i], k);
		if (c->kind == PGP_CHANGE_SELF_SIG)
			any_self = true;
		slot[i] = nch++;
	}
	if (any_self) {
		if ((r = owners(&owna, a, err)) != 0 ||
		    (r = mark_expiry(ch, slot, a, owna, b, ownb, k, err)) != 0)
			goto cleanup;
	}
	*out = ch;
	*n = nch;
	ch = NULL;
	r = 0;
 cleanup:
	free(ch);
	free(is_new);
	free(slot);
	free(owna);
	free(ownb);
	return r;
}

/* --- describing a change ---------------------------------------------- */

const char *
pgp_change_on_name(enum pgp_change_on on)
{
	switch (on) {
	case PGP_ON_KEY:
		return "key";
	case PGP_ON_UID:
		return "uid";
	case PGP_ON_UAT:
		return "uat";
	case PGP_ON_SUBKEY:
		return "subkey";
	case PGP_ON_OTHER:
		break;
	}
	return "other";
}

const char *
pgp_revocation_reason_text(uint8_t reason)
{
	switch (reason) {
	case 0:
		return "no reason specified";
	case 1:
		return "key superseded";
	case 2:
		return "key compromised";
	case 3:
		return "key retired";
	case 32:
		return "user ID no longer valid";
	}
	return "unknown reason";
}

void
pgp_date_text(char out[32], uint64_t t, bool iso)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((uint64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d",
	    &tm) == 0)
		snprintf(out, 32, "%llu", (unsigned long long)t);
}

bool
pgp_cert_first_uid(const struct pgp_cert *c, const uint8_t **p, size_t *len)
{
	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag == PGP_TAG_USER_ID) {
			*p = c->pkts[i].body;
			*len = c->pkts[i].bodylen > PGP_CHANGE_UID_MAX ?
			    PGP_CHANGE_UID_MAX : c->pkts[i].bodylen;
			return true;
		}
	*p = NULL;
	*len = 0;
	return false;
}

static void
set_uid(struct pgp_change_desc *d, const struct pgp_packet *p)
{
	d->uid = p->body;
	d->uidlen = p->bodylen > PGP_CHANGE_UID_MAX ? PGP_CHANGE_UID_MAX :
	    p->bodylen;
}

/* A subkey packet's fingerprint and creation into d; false: unreadable. */
static bool
set_subkey(struct pgp_change_desc *d, const struct pgp_packet *p)
{
	struct pgp_key_info k;

	if (pgp_key_info_parse(&k, p->body, p->bodylen, NULL) != 0)
		return false;
	pgp_key_fpr_hex(d->subkey, &k);
	d->has_key = true;
	d->key_algo = k.algo;
	d->key_created = k.created;
	return true;
}

/* What the signature ch is on: the component at ch->comp, if any. */
static void
set_target(struct pgp_change_desc *d, const struct pgp_cert *c,
    const struct pgp_change *ch)
{
	const struct pgp_packet *p;

	d->on = PGP_ON_KEY;
	d->key_created = c->has_primary ? c->primary.created : 0;
	if (ch->comp == SIZE_MAX || ch->comp >= c->npkts)
		return;
	p = &c->pkts[ch->comp];
	switch (p->tag) {
	case PGP_TAG_USER_ID:
		d->on = PGP_ON_UID;
		set_uid(d, p);
		break;
	case PGP_TAG_USER_ATTRIBUTE:
		d->on = PGP_ON_UAT;
		break;
	case PGP_TAG_PUBLIC_SUBKEY:
	case PGP_TAG_SECRET_SUBKEY:
		d->on = PGP_ON_SUBKEY;
		set_subkey(d, p);
		break;
	default:
		d->on = PGP_ON_OTHER;
		break;
	}
}

void
pgp_change_describe(struct pgp_change_desc *d, const struct pgp_cert *c,
    const struct pgp_change *ch)
{
	const struct pgp_packet *p = &c->pkts[ch->pkt];
	const struct pgp_sig_info *s = &ch->sig;

	memset(d, 0, sizeof(*d));
	d->kind = ch->kind;
	d->tag = p->tag;
	switch (ch->kind) {
	case PGP_CHANGE_UID:
		set_uid(d, p);
		return;
	case PGP_CHANGE_UAT:
		d->uat_bytes = p->bodylen;
		return;
	case PGP_CHANGE_SUBKEY:
		set_subkey(d, p);
		return;
	default:
		break;
	}
	if (p->tag != PGP_TAG_SIGNATURE)
		return;
	d->is_sig = true;
	set_target(d, c, ch);
	d->sig_type = s->type;
	d->self = c->has_primary && pgp_sig_is_by(s, &c->primary);
	if (s->issuer_fprlen > 0)
		hex_encode_upper(d->issuer, s->issuer_fpr, s->issuer_fprlen);
	else if (s->has_issuer)
		hex_encode_upper(d->issuer, s->issuer, 8);
	d->has_created = s->has_created;
	d->created = s->created;
	if (ch->kind == PGP_CHANGE_EXPIRY && s->has_key_expiry &&
	    s->key_expiry != 0)
		d->key_expires = (uint64_t)d->key_created + s->key_expiry;
	if (ch->kind == PGP_CHANGE_REVOCATION && s->has_reason) {
		d->has_reason = true;
		d->reason = s->reason;
	}
}

static int
add_quoted(struct buf *b, const uint8_t *p, size_t len)
{
	if (buf_addstr(b, "\"") != 0 || text_term(b, p, len, 0) != 0 ||
	    buf_addstr(b, "\"") != 0)
		return PGPS_ENOMEM;
	return 0;
}

static int
add_target(struct buf *b, const struct pgp_change_desc *d)
{
	switch (d->on) {
	case PGP_ON_UID:
		if (buf_addstr(b, "user ID ") != 0)
			return PGPS_ENOMEM;
		return add_quoted(b, d->uid, d->uidlen);
	case PGP_ON_UAT:
		return buf_addstr(b, "user attribute");
	case PGP_ON_SUBKEY:
		return buf_addf(b, "subkey %s", d->subkey);
	case PGP_ON_KEY:
		return buf_addstr(b, "the primary key");
	case PGP_ON_OTHER:
		break;
	}
	return buf_addstr(b, "an unknown packet");
}

int
pgp_change_text(struct buf *out, const struct pgp_cert *c,
    const struct pgp_change *ch)
{
	struct pgp_change_desc d;
	char tmp[16], date[32];
	int r = 0;

	pgp_change_describe(&d, c, ch);
	switch (d.kind) {
	case PGP_CHANGE_UID:
		if (buf_addstr(out, "user ID ") != 0)
			return PGPS_ENOMEM;
		return add_quoted(out, d.uid, d.uidlen);
	case PGP_CHANGE_UAT:
		return buf_addf(out, "user attribute (%zu bytes)",
		    d.uat_bytes) != 0 ? PGPS_ENOMEM : 0;
	case PGP_CHANGE_SUBKEY:
		if (!d.has_key)
			return buf_addstr(out, "subkey (unreadable)") != 0 ?
			    PGPS_ENOMEM : 0;
		pgp_date_text(date, d.key_created, false);
		return buf_addf(out, "subkey %s (%s, %s)", d.subkey,
		    pgp_algo_name(d.key_algo, tmp), date) != 0 ?
		    PGPS_ENOMEM : 0;
	default:
		break;
	}
	if (!d.is_sig)
		return buf_addf(out, "%s packet", pgp_tag_name(d.tag, tmp)) !=
		    0 ? PGPS_ENOMEM : 0;
	r |= buf_addf(out, "%s 0x%02x on ", d.kind ==
	    PGP_CHANGE_CERTIFICATION ? "certification" : d.kind ==
	    PGP_CHANGE_REVOCATION ? "revocation" : d.kind ==
	    PGP_CHANGE_OTHER ? "signature" : "self-signature", d.sig_type);
	r |= add_target(out, &d);
	if (!d.self && d.issuer[0] != '\0')
		r |= buf_addf(out, " by %s", d.issuer);
	if (d.has_created) {
		pgp_date_text(date, d.created, false);
		r |= buf_addf(out, ", %s", date);
	}
	if (d.kind == PGP_CHANGE_EXPIRY) {
		if (d.key_expires != 0) {
			pgp_date_text(date, d.key_expires, false);
			r |= buf_addf(out, ", changes expiry: key expires %s",
			    date);
		} else
			r |= buf_addstr(out,
			    ", changes expiry: key does not expire");
	}
	if (d.has_reason)
		r |= buf_addf(out, ", reason %u (%s)", d.reason,
		    pgp_revocation_reason_text(d.reason));
	return r != 0 ? PGPS_ENOMEM : 0;
}
