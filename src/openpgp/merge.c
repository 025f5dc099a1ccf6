/*
 * merge.c: the structure of a certificate (components and the signatures
 * under them), the packet-level union of two versions of one certificate,
 * and the "what does b add to a" test that fetch, push and diff build on.
 *
 * Packets are matched by content, never by position: a component (user
 * ID, user attribute, subkey) by its tag and body, a signature (or any other
 * packet between components) by its tag, its body and the component it sits
 * under.  Matching sorts content keys (a 64-bit hash first, the bytes to
 * settle ties), so a flooded certificate costs O(n log n), never O(n^2),
 * whatever its packets look like.
 *
 * Nothing is verified here, expired or revoked material is not removed, and
 * the local copy is never re-ordered or re-framed: a merge only adds.  The
 * one exception is SKS's: a component that occurs twice in one input is one
 * component, written once, with the union of its signatures.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/mem.h"

#define NONE	SIZE_MAX

static bool
is_component(uint8_t tag)
{
	return tag == PGP_TAG_USER_ID || tag == PGP_TAG_USER_ATTRIBUTE ||
	    tag == PGP_TAG_PUBLIC_SUBKEY || tag == PGP_TAG_SECRET_SUBKEY;
}

static bool
is_user(uint8_t tag)
{
	return tag == PGP_TAG_USER_ID || tag == PGP_TAG_USER_ATTRIBUTE;
}

int
pgp_cert_components(struct pgp_component **out, size_t *n,
    size_t *direct_sigs, const struct pgp_cert *c, struct pgps_err *err)
{
	struct pgp_component *v = NULL;
	size_t start = c->has_primary ? 1 : 0, nc = 0, k = 0, i;

	for (i = start; i < c->npkts; i++)
		if (is_component(c->pkts[i].tag))
			nc++;
	/* One spare entry, so that no certificate asks for zero bytes. */
	if ((v = mem_reallocarray(NULL, nc + 1, sizeof(*v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	for (i = start; i < c->npkts && !is_component(c->pkts[i].tag); i++)
		;
	*direct_sigs = i - start;
	for (; i < c->npkts; i++) {
		if (is_component(c->pkts[i].tag)) {
			v[k].pkt = i;
			v[k].first_sig = i + 1;
			v[k].nsigs = 0;
			k++;
		} else
			v[k - 1].nsigs++;
	}
	*out = v;
	*n = nc;
	return 0;
}

/* --- content keys -------------------------------------------------------- */

static uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* A fast, non-cryptographic hash of (tag, body); ties are settled by bytes. */
static uint64_t
pkt_hash(const struct pgp_packet *p)
{
	uint64_t h, w;
	size_t i = 0;

	h = 0x9e3779b97f4a7c15ULL ^ p->tag ^ ((uint64_t)p->bodylen << 8);
	for (; i + 8 <= p->bodylen; i += 8) {
		memcpy(&w, p->body + i, 8);
		h = (h ^ w) * 0x9fb21c651e98df25ULL;
		h ^= h >> 31;
	}
	if (i < p->bodylen) {
		w = 0;
		memcpy(&w, p->body + i, p->bodylen - i);
		h = (h ^ w) * 0x9fb21c651e98df25ULL;
	}
	return mix64(h);
}

/* One packet of a or b, keyed by content and by what it sits under. */
struct ent {
	uint64_t		 h;
	const struct pgp_packet	*p;
	const struct pgp_packet	*own;	/* its component; NULL: primary */
	size_t			 ci;	/* index into its component list */
	size_t			 idx;	/* index into its cert's packets */
	uint8_t			 src;	/* 0: a, 1: b */
	uint8_t			 comp;	/* 1: p is a component */
};

static int
ent_key_cmp(const struct ent *x, const struct ent *y)
{
	int c;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	if (x->comp != y->comp)
		return x->comp < y->comp ? -1 : 1;
	if ((c = pgp_packet_cmp(x->own, y->own)) != 0)
		return c;
	return pgp_packet_cmp(x->p, y->p);
}

static int
ent_cmp(const void *va, const void *vb)
{
	const struct ent *x = va, *y = vb;
	int c;

	if ((c = ent_key_cmp(x, y)) != 0)
		return c;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* --- the plan: what to keep of a and what b adds -------------------------- */

struct side {
	const struct pgp_cert	*c;
	struct pgp_component	*comps;
	size_t			 ncomps;
	size_t			 start;		/* first direct packet */
	size_t			 ndirect;
	size_t			*id;		/* per component: merged id */
	uint8_t			*flag;		/* per packet: kept, or added */
};

struct plan {
	struct side	 a, b;
	uint8_t		*multi;		/* per a component: repeated in a */
	struct pgp_cert_merge_report rep;
};

static void
plan_release(struct plan *pl)
{
	free(pl->a.comps);
	free(pl->a.id);
	free(pl->a.flag);
	free(pl->b.comps);
	free(pl->b.id);
	free(pl->b.flag);
	free(pl->multi);
}

static int
side_init(struct side *s, const struct pgp_cert *c, struct pgps_err *err)
{
	int r;

	s->c = c;
	s->start = c->has_primary ? 1 : 0;
	if ((r = pgp_cert_components(&s->comps, &s->ncomps, &s->ndirect, c,
	    err)) != 0)
		return r;
	s->id = mem_reallocarray(NULL, s->ncomps + 1, sizeof(*s->id));
	s->flag = calloc(c->npkts + 1, 1);
	if (s->id == NULL || s->flag == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	return 0;
}

/*
 * A certificate without a primary key (a bare revocation, as Hockeypuck
 * serves for revoked keys) can join one with a key only if all it holds
 * are signatures by that key: anything else has no place to go.
 */
static int
check_bare(const struct side *bare, const struct pgp_key_info *k,
    struct pgps_err *err)
{
	struct pgp_sig_info si;
	const struct pgp_packet *p;

	if (bare->ncomps != 0)
		return pgps_err_set(err, PGPS_EFORMAT, "certificate at "
		    "offset %llu has components but no primary key",
		    (unsigned long long)bare->c->offset);
	for (size_t i = 0; i < bare->c->npkts; i++) {
		p = &bare->c->pkts[i];
		if (p->tag == PGP_TAG_TRUST)
			continue;
		if (p->tag != PGP_TAG_SIGNATURE ||
		    pgp_sig_parse(&si, p->body, p->bodylen, NULL) != 0 ||
		    !pgp_sig_is_by(&si, k))
			return pgps_err_set(err, PGPS_EFORMAT, "packet at "
			    "offset %llu is not a signature by the key it "
			    "is merged into", (unsigned long long)p->offset);
	}
	return 0;
}

static int
check_primaries(const struct plan *pl, struct pgps_err *err)
{
	const struct pgp_cert *a = pl->a.c, *b = pl->b.c;

	/* Secret keys are never merged (nor fingerprinted by the parser). */
	if ((a->flags | b->flags) & PGP_CERT_SECRET)
		return pgps_err_set(err, PGPS_EFORMAT, "certificates at "
		    "offsets %llu and %llu: a secret and a public key do not "
		    "merge", (unsigned long long)a->offset,
		    (unsigned long long)b->offset);
	if (a->has_primary && b->has_primary) {
		/* A secret key's body starts with the public one, but the
		 * two are different packets: export the public part first. */
		if (a->pkts[0].tag != b->pkts[0].tag)
			return pgps_err_set(err, PGPS_EFORMAT, "certificates "
			    "at offsets %llu and %llu: a secret and a public "
			    "key do not merge", (unsigned long long)a->offset,
			    (unsigned long long)b->offset);
		if (pgp_packet_cmp(&a->pkts[0], &b->pkts[0]) != 0)
			return pgps_err_set(err, PGPS_EFORMAT, "certificates "
			    "at offsets %llu and %llu have different primary "
			    "keys", (unsigned long long)a->offset,
			    (unsigned long long)b->offset);
		return 0;
	}
	if (a->has_primary)
		return check_bare(&pl->b, &a->primary, err);
	if (b->has_primary)
		return check_bare(&pl->a, &b->primary, err);
	return 0;
}

static size_t
add_entries(struct ent *e, const struct side *s, uint8_t src)
{
	const struct pgp_packet *pk = s->c->pkts;
	size_t n = 0, ci, j;
	uint64_t oh = 0x51ed270b27a1f00dULL;

	for (j = s->start; j < s->start + s->ndirect; j++) {
		if (pk[j].tag == PGP_TAG_TRUST)
			continue;
		e[n] = (struct ent){ mix64(pkt_hash(&pk[j]) ^ oh), &pk[j],
		    NULL, NONE, j, src, 0 };
		n++;
	}
	for (ci = 0; ci < s->ncomps; ci++) {
		const struct pgp_component *cp = &s->comps[ci];
		uint64_t ch = pkt_hash(&pk[cp->pkt]);

		e[n] = (struct ent){ ch, &pk[cp->pkt], NULL, ci, cp->pkt, src,
		    1 };
		n++;
		for (j = cp->first_sig; j < cp->first_sig + cp->nsigs; j++) {
			if (pk[j].tag == PGP_TAG_TRUST)
				continue;
			e[n] = (struct ent){ mix64(pkt_hash(&pk[j]) ^
			    (ch * 0x2545f4914f6cdd1dULL)), &pk[j], &pk[cp->pkt],
			    ci, j, src, 0 };
			n++;
		}
	}
	return n;
}

/* Components: the first occurrence in a (else in b) represents a group. */
static void
plan_components(struct plan *pl, const struct ent *g, size_t k)
{
	size_t rep = g[0].ci, na = 0;

	if (g[0].src == 1) {
		const struct pgp_packet *p = g[0].p;

		pl->b.flag[g[0].idx] = 1;
		for (size_t i = 0; i < k; i++)
			pl->b.id[g[i].ci] = pl->a.ncomps + rep;
		if (is_user(p->tag))
			pl->rep.new_uids++;
		else
			pl->rep.new_subkeys++;
		return;
	}
	for (size_t i = 0; i < k; i++) {
		if (g[i].src == 0) {
			pl->a.id[g[i].ci] = rep;
			pl->a.flag[g[i].idx] = g[i].ci == rep;
			na++;
		} else
			pl->b.id[g[i].ci] = rep;
	}
	pl->multi[rep] = na > 1;
}

/*
 * Signatures and other packets under one component (or the primary key):
 * a's are kept, except that a component repeated in a keeps one copy of
 * each; b's first copy is new unless a has it.
 */
static void
plan_run(struct plan *pl, const struct ent *g, size_t k)
{
	bool seen_a = false;
	int isrev;
	struct pgp_sig_info si;

	for (size_t i = 0; i < k; i++) {
		if (g[i].src == 0) {
			bool multi = g[i].ci != NONE &&
			    pl->multi[pl->a.id[g[i].ci]];

			pl->a.flag[g[i].idx] = !(multi && seen_a);
			seen_a = true;
		}
	}
	if (seen_a)
		return;
	pl->b.flag[g[0].idx] = 1;
	if (g[0].p->tag != PGP_TAG_SIGNATURE)
		return;
	pl->rep.new_sigs++;
	isrev = pgp_sig_parse(&si, g[0].p->body, g[0].p->bodylen, NULL) == 0 &&
	    (si.type == PGP_SIG_KEY_REVOCATION ||
	    si.type == PGP_SIG_SUBKEY_REVOCATION ||
	    si.type == PGP_SIG_CERT_REVOCATION);
	if (isrev)
		pl->rep.new_revocations++;
}

static int
plan_make(struct plan *pl, const struct pgp_cert *a, const struct pgp_cert *b,
    struct pgps_err *err)
{
	struct ent *e = NULL;
	size_t n, i, j, total;
	int r;

	memset(pl, 0, sizeof(*pl));
	if ((r = side_init(&pl->a, a, err)) != 0 ||
	    (r = side_init(&pl->b, b, err)) != 0 ||
	    (r = check_primaries(pl, err)) != 0)
		goto cleanup;
	if ((pl->multi = calloc(pl->a.ncomps + 1, 1)) == NULL ||
	    !mem_add(&total, a->npkts, b->npkts) ||
	    (e = mem_reallocarray(NULL, total + 1, sizeof(*e))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	n = add_entries(e, &pl->a, 0);
	n += add_entries(e + n, &pl->b, 1);
	qsort(e, n, sizeof(*e), ent_cmp);
	/* Components first: their groups decide which runs are merged. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && ent_key_cmp(&e[i], &e[j]) == 0; j++)
			;
		if (e[i].comp)
			plan_components(pl, e + i, j - i);
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && ent_key_cmp(&e[i], &e[j]) == 0; j++)
			;
		if (!e[i].comp)
			plan_run(pl, e + i, j - i);
	}
	r = 0;
 cleanup:
	free(e);
	return r;
}

int
pgp_cert_mark_new(bool *is_new, const struct pgp_cert *a,
    const struct pgp_cert *b, struct pgps_err *err)
{
	struct plan pl;
	int r;

	if ((r = plan_make(&pl, a, b, err)) == 0) {
		for (size_t i = 0; i < b->npkts; i++)
			is_new[i] = pl.b.flag[i] != 0;
		/* A primary key b brings to a bare a is new too. */
		if (b->has_primary && !a->has_primary)
			is_new[0] = true;
	}
	plan_release(&pl);
	return r;
}

bool
pgp_cert_contains(const struct pgp_cert *a, const struct pgp_cert *b)
{
	struct plan pl;
	bool yes = false;

	/* Allocation failure answers "no": the caller then merges. */
	if (b->has_primary && !a->has_primary)
		return false;
	if (plan_make(&pl, a, b, NULL) == 0) {
		yes = true;
		for (size_t i = 0; i < b->npkts && yes; i++)
			yes = pl.b.flag[i] == 0;
	}
	plan_release(&pl);
	return yes;
}

/* --- writing the union ---------------------------------------------------- */

/* Output lists of the packets under each merged component. */
struct buckets {
	size_t	*start;		/* per merged id, into v; one more entry */
	size_t	*v;		/* packet index * 2 + side (0: a, 1: b) */
};

static void
buckets_fill_side(struct buckets *bk, size_t *pos, const struct side *s,
    int src)
{
	for (size_t ci = 0; ci < s->ncomps; ci++) {
		const struct pgp_component *cp = &s->comps[ci];

		for (size_t j = cp->first_sig; j < cp->first_sig + cp->nsigs;
		    j++)
			if (s->flag[j])
				bk->v[pos[s->id[ci]]++] = j * 2 + (size_t)src;
	}
}

static int
buckets_make(struct buckets *bk, const struct plan *pl)
{
	const struct side *sd[2] = { &pl->a, &pl->b };
	size_t nid = pl->a.ncomps + pl->b.ncomps, total = 0, *pos = NULL;

	bk->start = calloc(nid + 1, sizeof(*bk->start));
	pos = calloc(nid + 1, sizeof(*pos));
	if (bk->start == NULL || pos == NULL)
		goto nomem;
	for (int s = 0; s < 2; s++)
		for (size_t ci = 0; ci < sd[s]->ncomps; ci++) {
			const struct pgp_component *cp = &sd[s]->comps[ci];

			for (size_t j = cp->first_sig;
			    j < cp->first_sig + cp->nsigs; j++)
				if (sd[s]->flag[j])
					pos[sd[s]->id[ci]]++;
		}
	for (size_t id = 0; id < nid; id++) {
		bk->start[id] = total;
		total += pos[id];
		pos[id] = bk->start[id];
	}
	bk->start[nid] = total;
	if ((bk->v = mem_reallocarray(NULL, total + 1, sizeof(*bk->v))) == NULL)
		goto nomem;
	/* a's packets first, then b's, each in its own order. */
	buckets_fill_side(bk, pos, &pl->a, 0);
	buckets_fill_side(bk, pos, &pl->b, 1);
	free(pos);
	return 0;
 nomem:
	free(pos);
	return PGPS_ENOMEM;
}

static int
emit_component(struct buf *out, const struct plan *pl,
    const struct buckets *bk, size_t id)
{
	const struct pgp_packet *comp;
	size_t k;
	int r;

	if (id < pl->a.ncomps)
		comp = &pl->a.c->pkts[pl->a.comps[id].pkt];
	else
		comp = &pl->b.c->pkts[pl->b.comps[id - pl->a.ncomps].pkt];
	if ((r = pgp_packet_write(out, comp)) != 0)
		return r;
	for (k = bk->start[id]; k < bk->start[id + 1]; k++) {
		const struct pgp_cert *c = (bk->v[k] & 1) ? pl->b.c : pl->a.c;

		if ((r = pgp_packet_write(out, &c->pkts[bk->v[k] >> 1])) != 0)
			return r;
	}
	return 0;
}

/* b's new components of one kind, in b's order. */
static int
emit_new(struct buf *out, const struct plan *pl, const struct buckets *bk,
    bool user)
{
	int r;

	for (size_t ci = 0; ci < pl->b.ncomps; ci++) {
		const struct pgp_component *cp = &pl->b.comps[ci];

		if (!pl->b.flag[cp->pkt] ||
		    is_user(pl->b.c->pkts[cp->pkt].tag) != user)
			continue;
		if ((r = emit_component(out, pl, bk, pl->a.ncomps + ci)) != 0)
			return r;
	}
	return 0;
}

static int
emit_direct(struct buf *out, const struct side *s)
{
	int r;

	for (size_t j = s->start; j < s->start + s->ndirect; j++)
		if (s->flag[j] &&
		    (r = pgp_packet_write(out, &s->c->pkts[j])) != 0)
			return r;
	return 0;
}

static int
emit_all(struct buf *out, const struct plan *pl, const struct buckets *bk)
{
	const struct side *a = &pl->a;
	size_t lastuser = NONE, lastsub = NONE, ci;
	int r;

	if (a->c->has_primary)
		r = pgp_packet_write(out, &a->c->pkts[0]);
	else if (pl->b.c->has_primary)
		r = pgp_packet_write(out, &pl->b.c->pkts[0]);
	else
		r = 0;
	if (r != 0 || (r = emit_direct(out, a)) != 0 ||
	    (r = emit_direct(out, &pl->b)) != 0)
		return r;
	for (ci = 0; ci < a->ncomps; ci++) {
		if (!a->flag[a->comps[ci].pkt])
			continue;
		if (is_user(a->c->pkts[a->comps[ci].pkt].tag))
			lastuser = ci;
		else
			lastsub = ci;
	}
	if (lastuser == NONE && (r = emit_new(out, pl, bk, true)) != 0)
		return r;
	for (ci = 0; ci < a->ncomps; ci++) {
		if (!a->flag[a->comps[ci].pkt])
			continue;	/* a repeat, written with the first */
		if ((r = emit_component(out, pl, bk, ci)) != 0)
			return r;
		if (ci == lastuser && (r = emit_new(out, pl, bk, true)) != 0)
			return r;
		if (ci == lastsub && (r = emit_new(out, pl, bk, false)) != 0)
			return r;
	}
	if (lastsub == NONE && (r = emit_new(out, pl, bk, false)) != 0)
		return r;
	return 0;
}

int
pgp_cert_merge(struct buf *out, const struct pgp_cert *a,
    const struct pgp_cert *b, struct pgp_cert_merge_report *rep,
    struct pgps_err *err)
{
	struct plan pl;
	struct buckets bk = { NULL, NULL };
	size_t oldlen = out->len;
	int r = PGPS_EINTERNAL;

	if ((r = plan_make(&pl, a, b, err)) != 0)
		goto cleanup;
	if ((r = buckets_make(&bk, &pl)) != 0) {
		r = pgps_err_set(err, r, "out of memory");
		goto cleanup;
	}
	if ((r = emit_all(out, &pl, &bk)) != 0) {
		r = pgps_err_set(err, r, "merging certificates at offsets "
		    "%llu and %llu: %s", (unsigned long long)a->offset,
		    (unsigned long long)b->offset, pgps_strerror(r));
		goto cleanup;
	}
	if (rep != NULL)
		*rep = pl.rep;
	r = 0;
 cleanup:
	if (r != 0)
		buf_setlen(out, oldlen);
	free(bk.start);
	free(bk.v);
	plan_release(&pl);
	return r;
}
