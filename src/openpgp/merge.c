/*
 * merge.c: the structure of a certificate (components and the signatures
 * under them), the packet-level union of any number of versions of one
 * certificate in SKS's canonical form, and the "what does b add to a" test
 * that fetch, push and diff build on.
 *
 * Packets are matched by content, never by position: a component (user
 * ID, user attribute, subkey) by its tag and body, a signature (or any other
 * packet between components) by its tag, its body and the component it sits
 * under.  Matching sorts the content keys of all versions at once (a 64-bit
 * hash first, the bytes to settle ties), so merging N versions, or a
 * flooded certificate, costs O(n log n) in the packets, never O(n^2).
 *
 * Nothing is verified here and expired or revoked material is not removed.
 * The result is what SKS stores for the same input (KeyMerge.dedup_key on
 * each version, then KeyMerge.merge_pkeys): a component that occurs more
 * than once is written once, at its first place, with one copy of each
 * signature of all its copies; direct signatures are written once each; a
 * component that occurs once keeps its signatures as they are.  Otherwise
 * the first version's order and framing are kept.  Secret keys inside a
 * certificate are never written, nor the signatures under them.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/mem.h"

#define NONE	SIZE_MAX

static bool
is_component(uint8_t tag)
{
	return tag == PGP_TAG_USER_ID || tag == PGP_TAG_USER_ATTRIBUTE ||
	    tag == PGP_TAG_PUBLIC_SUBKEY || tag == PGP_TAG_SECRET_SUBKEY ||
	    tag == PGP_TAG_SECRET_KEY;
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

/* One packet of one version, keyed by content and by what it sits under. */
struct ent {
	uint64_t		 h;
	const struct pgp_packet	*p;
	const struct pgp_packet	*own;	/* its component; NULL: primary */
	size_t			 ci;	/* index into its component list */
	size_t			 idx;	/* index into its cert's packets */
	uint32_t		 src;	/* which version */
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

/* By content, then in input order: the first of a group is its first copy. */
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

/* --- the plan: which packet of which version is written ------------------- */

struct side {
	const struct pgp_cert	*c;
	struct pgp_component	*comps;
	size_t			 ncomps;
	size_t			 base;		/* merged index of comps[0] */
	size_t			 start;		/* first direct packet */
	size_t			 ndirect;
	uint8_t			*flag;		/* per packet: written */
	uint8_t			*drop;		/* per packet: secret; or NULL */
	size_t			 nsecret;	/* secret keys in it */
	bool			 skip;		/* copies an earlier version */
	bool			 adds;		/* a packet of it is written */
};

struct plan {
	struct side	*v;
	size_t		 n;
	size_t		 nc;		/* components of all versions */
	size_t		 primary;	/* version whose key is written */
	size_t		*id;		/* per component: its group's first */
	uint8_t		*multi;		/* per group: occurs more than once */
	uint8_t		*flags;		/* every side's flag array */
	struct pgp_cert_merge_report rep;
};

static void
plan_release(struct plan *pl)
{
	for (size_t s = 0; s < pl->n; s++) {
		free(pl->v[s].comps);
		free(pl->v[s].drop);
	}
	free(pl->v);
	free(pl->id);
	free(pl->multi);
	free(pl->flags);
}

/* Whether packet i of sd is secret key material, or under some. */
static bool
dropped(const struct side *sd, size_t i)
{
	return sd->drop != NULL && sd->drop[i];
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
check_primaries(struct plan *pl, struct pgps_err *err)
{
	const struct pgp_cert *k = NULL;
	size_t s;
	int r;

	pl->primary = SIZE_MAX;
	for (s = 0; s < pl->n; s++) {
		const struct pgp_cert *c = pl->v[s].c;

		/* Secret keys are never merged (nor fingerprinted). */
		if (c->flags & PGP_CERT_SECRET)
			return pgps_err_set(err, PGPS_EFORMAT, "certificate at "
			    "offset %llu is a secret key: a secret and a "
			    "public key do not merge",
			    (unsigned long long)c->offset);
		if (!c->has_primary)
			continue;
		if (k == NULL) {
			k = c;
			pl->primary = s;
		} else if (pgp_packet_cmp(&k->pkts[0], &c->pkts[0]) != 0)
			return pgps_err_set(err, PGPS_EFORMAT, "certificates "
			    "at offsets %llu and %llu have different primary "
			    "keys", (unsigned long long)k->offset,
			    (unsigned long long)c->offset);
	}
	if (k == NULL)
		return 0;
	pl->v[pl->primary].flag[0] = 1;
	for (s = 0; s < pl->n; s++)
		if (!pl->v[s].c->has_primary &&
		    (r = check_bare(&pl->v[s], &k->primary, err)) != 0)
			return r;
	return 0;
}

/* A hash of a version's packet sequence (trust packets aside). */
static uint64_t
seq_hash(const struct pgp_cert *c)
{
	uint64_t h = 0x2545f4914f6cdd1dULL;

	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag != PGP_TAG_TRUST)
			h = mix64(h ^ pkt_hash(&c->pkts[i])) + i;
	return h;
}

static bool
seq_equal(const struct pgp_cert *a, const struct pgp_cert *b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->npkts && a->pkts[i].tag == PGP_TAG_TRUST)
			i++;
		while (j < b->npkts && b->pkts[j].tag == PGP_TAG_TRUST)
			j++;
		if (i == a->npkts || j == b->npkts)
			return i == a->npkts && j == b->npkts;
		if (pgp_packet_cmp(&a->pkts[i++], &b->pkts[j++]) != 0)
			return false;
	}
}

struct seq {
	uint64_t	h;
	size_t		s;
};

static int
seq_cmp(const void *va, const void *vb)
{
	const struct seq *x = va, *y = vb;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->s < y->s ? -1 : x->s > y->s;
}

/*
 * Marks the versions that repeat an earlier one packet for packet: SKS
 * ignores a key it already holds, so such a copy merges nothing (not even
 * the duplicates it shares with the original).  Each is compared with the
 * first version of its hash only, so this is linear; a hash collision
 * merely leaves a copy in.
 */
static int
mark_copies(struct plan *pl)
{
	struct seq *q;
	size_t i, j;

	if (pl->n < 2)
		return 0;
	if ((q = mem_reallocarray(NULL, pl->n, sizeof(*q))) == NULL)
		return PGPS_ENOMEM;
	for (i = 0; i < pl->n; i++) {
		q[i].h = seq_hash(pl->v[i].c);
		q[i].s = i;
	}
	qsort(q, pl->n, sizeof(*q), seq_cmp);
	for (i = 0; i < pl->n; i = j) {
		for (j = i + 1; j < pl->n && q[j].h == q[i].h; j++)
			if (seq_equal(pl->v[q[i].s].c, pl->v[q[j].s].c))
				pl->v[q[j].s].skip = true;
	}
	free(q);
	return 0;
}

static size_t
add_entries(struct ent *e, struct plan *pl, uint32_t src)
{
	const struct side *s = &pl->v[src];
	const struct pgp_packet *pk = s->c->pkts;
	size_t n = 0, ci, j;
	uint64_t oh = 0x51ed270b27a1f00dULL;

	pl->rep.dropped_secret += s->nsecret;

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

		if (dropped(s, cp->pkt))
			continue;	/* nor what is under it */
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

/* One component in all its copies: the first represents the group. */
static void
plan_components(struct plan *pl, const struct ent *g, size_t k)
{
	size_t first = pl->v[g[0].src].base + g[0].ci;

	pl->v[g[0].src].flag[g[0].idx] = 1;
	for (size_t i = 0; i < k; i++)
		pl->id[pl->v[g[i].src].base + g[i].ci] = first;
	pl->multi[first] = k > 1;
	if (g[0].src == 0)
		return;
	if (is_user(g[0].p->tag))
		pl->rep.new_uids++;
	else
		pl->rep.new_subkeys++;
}

/*
 * Copies of one packet under one component (or the primary key).  As SKS
 * does (KeyMerge: dedup_key, merge_pkeys), one copy is kept of a direct
 * signature and of a signature on a component that occurs more than once
 * in all versions together; a component that occurs once keeps its
 * packets as they are, repeats included.
 */
static void
plan_run(struct plan *pl, const struct ent *g, size_t k)
{
	struct pgp_sig_info si;
	bool dedup = true, isrev;
	size_t i, nw;

	if (g[0].ci != NONE)
		dedup = pl->multi[pl->id[pl->v[g[0].src].base + g[0].ci]];
	nw = dedup ? 1 : k;
	for (i = 0; i < nw; i++)
		pl->v[g[i].src].flag[g[i].idx] = 1;
	if (g[0].src == 0 || g[0].p->tag != PGP_TAG_SIGNATURE)
		return;
	isrev = pgp_sig_parse(&si, g[0].p->body, g[0].p->bodylen, NULL) == 0 &&
	    (si.type == PGP_SIG_KEY_REVOCATION ||
	    si.type == PGP_SIG_SUBKEY_REVOCATION ||
	    si.type == PGP_SIG_CERT_REVOCATION);
	pl->rep.new_sigs += nw;
	if (isrev)
		pl->rep.new_revocations += nw;
}

/* Packets of a version not written because an equal one is. */
static size_t
count_repeats(const struct side *sd)
{
	const struct pgp_packet *pk = sd->c->pkts;
	size_t n = 0, j;

	for (j = 0; j < sd->start + sd->ndirect; j++)
		n += !sd->flag[j] && pk[j].tag != PGP_TAG_TRUST;
	for (size_t ci = 0; ci < sd->ncomps; ci++) {
		const struct pgp_component *cp = &sd->comps[ci];

		if (dropped(sd, cp->pkt))
			continue;
		for (j = cp->pkt; j < cp->first_sig + cp->nsigs; j++)
			n += !sd->flag[j] && pk[j].tag != PGP_TAG_TRUST;
	}
	return n;
}

static int
plan_sides(struct plan *pl, const struct pgp_cert *const *v, size_t n,
    struct pgps_err *err)
{
	size_t total = 0, off = 0, s;
	int r;

	memset(pl, 0, sizeof(*pl));
	if (n == 0 || n > UINT32_MAX)
		return pgps_err_set(err, PGPS_EINTERNAL, "merging %zu "
		    "versions of a certificate", n);
	if ((pl->v = calloc(n, sizeof(*pl->v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	pl->n = n;
	for (s = 0; s < n; s++) {
		struct side *sd = &pl->v[s];

		sd->c = v[s];
		sd->start = v[s]->has_primary ? 1 : 0;
		if ((r = pgp_cert_components(&sd->comps, &sd->ncomps,
		    &sd->ndirect, v[s], err)) != 0)
			return r;
		sd->base = pl->nc;
		/* Secret keys are never written (pgp_cert_secret_mask()). */
		if (pgp_cert_has_secret(v[s])) {
			if ((sd->drop = calloc(v[s]->npkts + 1, 1)) == NULL)
				return pgps_err_set(err, PGPS_ENOMEM,
				    "out of memory");
			sd->nsecret = pgp_cert_secret_mask(sd->drop, v[s]);
		}
		if (!mem_add(&pl->nc, pl->nc, sd->ncomps) ||
		    !mem_add(&total, total, v[s]->npkts + 1))
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	if ((pl->flags = calloc(total, 1)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	for (s = 0; s < n; s++) {
		pl->v[s].flag = pl->flags + off;
		off += v[s]->npkts + 1;
	}
	return 0;
}

static int
plan_make(struct plan *pl, const struct pgp_cert *const *v, size_t n,
    struct pgps_err *err)
{
	struct ent *e = NULL;
	size_t ne = 0, total = 0, i, j;
	int r;

	if ((r = plan_sides(pl, v, n, err)) != 0 ||
	    (r = check_primaries(pl, err)) != 0)
		goto cleanup;
	for (i = 0; i < n; i++)
		if (!mem_add(&total, total, v[i]->npkts))
			total = SIZE_MAX;
	if (mark_copies(pl) != 0 ||
	    (pl->id = mem_reallocarray(NULL, pl->nc + 1,
	    sizeof(*pl->id))) == NULL ||
	    (pl->multi = calloc(pl->nc + 1, 1)) == NULL ||
	    (e = mem_reallocarray(NULL, total, sizeof(*e))) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		if (!pl->v[i].skip)
			ne += add_entries(e + ne, pl, (uint32_t)i);
	qsort(e, ne, sizeof(*e), ent_cmp);
	/* Components first: their groups decide which runs are merged. */
	for (i = 0; i < ne; i = j) {
		for (j = i + 1; j < ne && ent_key_cmp(&e[i], &e[j]) == 0; j++)
			;
		if (e[i].comp)
			plan_components(pl, e + i, j - i);
	}
	for (i = 0; i < ne; i = j) {
		for (j = i + 1; j < ne && ent_key_cmp(&e[i], &e[j]) == 0; j++)
			;
		if (!e[i].comp)
			plan_run(pl, e + i, j - i);
	}
	for (i = 0; i < n; i++) {
		const struct side *sd = &pl->v[i];

		if (sd->skip)
			continue;
		pl->rep.dropped_repeats += count_repeats(sd);
		for (j = 0; i > 0 && j < sd->c->npkts && !sd->flag[j]; j++)
			;
		if (i > 0 && j < sd->c->npkts) {
			pl->v[i].adds = true;
			pl->rep.new_versions++;
		}
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
	const struct pgp_cert *v[2] = { a, b };
	struct plan pl;
	int r;

	/* Whatever of b is written is new: a's copy wins every group. */
	if ((r = plan_make(&pl, v, 2, err)) == 0)
		for (size_t i = 0; i < b->npkts; i++)
			is_new[i] = pl.v[1].flag[i] != 0;
	plan_release(&pl);
	return r;
}

bool
pgp_cert_contains(const struct pgp_cert *a, const struct pgp_cert *b)
{
	const struct pgp_cert *v[2] = { a, b };
	struct plan pl;
	bool yes = false;

	/* Allocation failure answers "no": the caller then merges. */
	if (b->has_primary && !a->has_primary)
		return false;
	if (plan_make(&pl, v, 2, NULL) == 0) {
		yes = true;
		for (size_t i = 0; i < b->npkts && yes; i++)
			yes = pl.v[1].flag[i] == 0;
	}
	plan_release(&pl);
	return yes;
}

/* --- writing the union ---------------------------------------------------- */

/* Output lists of the packets under each merged component. */
struct buckets {
	size_t		*start;	/* per component group, into v; one more */
	uint32_t	*src;	/* version of each listed packet */
	size_t		*pkt;	/* and its index there */
};

static int
buckets_make(struct buckets *bk, const struct plan *pl)
{
	size_t total = 0, *pos = NULL;

	bk->start = calloc(pl->nc + 1, sizeof(*bk->start));
	pos = calloc(pl->nc + 1, sizeof(*pos));
	if (bk->start == NULL || pos == NULL)
		goto nomem;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t s = 0; s < pl->n; s++) {
			const struct side *sd = &pl->v[s];

			for (size_t ci = 0; ci < sd->ncomps; ci++) {
				const struct pgp_component *cp = &sd->comps[ci];
				size_t g;

				if (dropped(sd, cp->pkt) || sd->skip)
					continue;
				g = pl->id[sd->base + ci];
				for (size_t j = cp->first_sig;
				    j < cp->first_sig + cp->nsigs; j++) {
					if (!sd->flag[j])
						continue;
					if (pass == 0) {
						pos[g]++;
						continue;
					}
					bk->src[pos[g]] = (uint32_t)s;
					bk->pkt[pos[g]++] = j;
				}
			}
		}
		if (pass == 1)
			break;
		for (size_t g = 0; g < pl->nc; g++) {
			bk->start[g] = total;
			total += pos[g];
			pos[g] = bk->start[g];
		}
		bk->start[pl->nc] = total;
		bk->src = mem_reallocarray(NULL, total + 1, sizeof(*bk->src));
		bk->pkt = mem_reallocarray(NULL, total + 1, sizeof(*bk->pkt));
		if (bk->src == NULL || bk->pkt == NULL)
			goto nomem;
	}
	free(pos);
	return 0;
 nomem:
	free(pos);
	return PGPS_ENOMEM;
}

/* A component group: its first copy, then what is written under it. */
static int
emit_component(struct buf *out, const struct plan *pl,
    const struct buckets *bk, size_t s, size_t ci)
{
	const struct side *sd = &pl->v[s];
	size_t g = sd->base + ci;
	int r;

	if ((r = pgp_packet_write(out, &sd->c->pkts[sd->comps[ci].pkt])) != 0)
		return r;
	for (size_t k = bk->start[g]; k < bk->start[g + 1]; k++)
		if ((r = pgp_packet_write(out,
		    &pl->v[bk->src[k]].c->pkts[bk->pkt[k]])) != 0)
			return r;
	return 0;
}

/* The later versions' new components of one kind, in input order. */
static int
emit_new(struct buf *out, const struct plan *pl, const struct buckets *bk,
    bool user)
{
	int r;

	for (size_t s = 1; s < pl->n; s++) {
		const struct side *sd = &pl->v[s];

		for (size_t ci = 0; ci < sd->ncomps; ci++) {
			const struct pgp_packet *p =
			    &sd->c->pkts[sd->comps[ci].pkt];

			if (!sd->flag[sd->comps[ci].pkt] ||
			    is_user(p->tag) != user)
				continue;
			if ((r = emit_component(out, pl, bk, s, ci)) != 0)
				return r;
		}
	}
	return 0;
}

static int
emit_all(struct buf *out, const struct plan *pl, const struct buckets *bk)
{
	const struct side *a = &pl->v[0];
	size_t lastuser = NONE, lastsub = NONE, ci, s, j;
	int r;

	if (pl->primary != SIZE_MAX &&
	    (r = pgp_packet_write(out, &pl->v[pl->primary].c->pkts[0])) != 0)
		return r;
	for (s = 0; s < pl->n; s++) {
		const struct side *sd = &pl->v[s];

		for (j = sd->start; j < sd->start + sd->ndirect; j++)
			if (sd->flag[j] &&
			    (r = pgp_packet_write(out, &sd->c->pkts[j])) != 0)
				return r;
	}
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
		if ((r = emit_component(out, pl, bk, 0, ci)) != 0)
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
pgp_cert_merge_many(struct buf *out, const struct pgp_cert *const *v,
    size_t n, struct pgp_cert_merge_report *rep, struct pgps_err *err)
{
	return pgp_cert_merge_versions(out, v, n, rep, NULL, err);
}

int
pgp_cert_merge_versions(struct buf *out, const struct pgp_cert *const *v,
    size_t n, struct pgp_cert_merge_report *rep, bool *adds,
    struct pgps_err *err)
{
	struct plan pl;
	struct buckets bk = { NULL, NULL, NULL };
	size_t oldlen = out->len;
	int r = PGPS_EINTERNAL;

	if ((r = plan_make(&pl, v, n, err)) != 0)
		goto cleanup;
	if ((r = buckets_make(&bk, &pl)) != 0) {
		r = pgps_err_set(err, r, "out of memory");
		goto cleanup;
	}
	if ((r = emit_all(out, &pl, &bk)) != 0) {
		r = pgps_err_set(err, r, "merging the certificate at offset "
		    "%llu: %s", (unsigned long long)v[0]->offset,
		    pgps_strerror(r));
		goto cleanup;
	}
	if (rep != NULL)
		*rep = pl.rep;
	for (size_t s = 0; adds != NULL && s < n; s++)
		adds[s] = pl.v[s].adds;
	r = 0;
 cleanup:
	if (r != 0)
		buf_setlen(out, oldlen);
	free(bk.start);
	free(bk.src);
	free(bk.pkt);
	plan_release(&pl);
	return r;
}

int
pgp_cert_merge(struct buf *out, const struct pgp_cert *a,
    const struct pgp_cert *b, struct pgp_cert_merge_report *rep,
    struct pgps_err *err)
{
	const struct pgp_cert *v[2] = { a, b };

	return pgp_cert_merge_many(out, v, 2, rep, err);
}

int
pgp_cert_canonical(struct buf *out, const struct pgp_cert *c,
    struct pgp_cert_merge_report *rep, struct pgps_err *err)
{
	return pgp_cert_merge_many(out, &c, 1, rep, err);
}

/* --- the canonical form, only when needed --------------------------------- */

struct ckey {
	uint64_t	 h;
	const struct pgp_packet *p;
};

static int
ckey_cmp(const void *va, const void *vb)
{
	const struct ckey *x = va, *y = vb;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return pgp_packet_cmp(x->p, y->p);
}

bool
pgp_cert_is_canonical(const struct pgp_cert *c)
{
	struct ckey stack[64], *v = stack;
	size_t n = 0, i;
	bool direct = true, yes = true;

	if (!c->has_primary)
		return true;
	for (i = 1; i < c->npkts; i++) {
		uint8_t t = c->pkts[i].tag;

		if (t == PGP_TAG_SECRET_KEY || t == PGP_TAG_SECRET_SUBKEY)
			return false;
		if (is_component(t))
			direct = false;
		else if (!direct || t == PGP_TAG_TRUST)
			continue;	/* repeats under a component stay */
		n++;
	}
	if (n < 2)
		return true;
	if (n > sizeof(stack) / sizeof(stack[0]) &&
	    (v = mem_reallocarray(NULL, n, sizeof(*v))) == NULL)
		return false;	/* the caller merges, which tells */
	n = 0;
	direct = true;
	for (i = 1; i < c->npkts; i++) {
		const struct pgp_packet *p = &c->pkts[i];

		if (is_component(p->tag))
			direct = false;
		else if (!direct || p->tag == PGP_TAG_TRUST)
			continue;
		/* Direct signatures and components: the tag tells apart. */
		v[n].h = pkt_hash(p);
		v[n++].p = p;
	}
	qsort(v, n, sizeof(*v), ckey_cmp);
	for (i = 1; i < n && yes; i++)
		yes = ckey_cmp(&v[i - 1], &v[i]) != 0;
	if (v != stack)
		free(v);
	return yes;
}

int
pgp_cert_sks_hash_canonical(const struct pgp_cert *c, struct digest *md5,
    uint8_t out[16])
{
	struct pgp_cert m = PGP_CERT_INIT;
	struct buf b = BUF_INIT;
	int r;

	if (pgp_cert_is_canonical(c))
		return pgp_cert_sks_hash(c, md5, out);
	if ((r = pgp_cert_canonical(&b, c, NULL, NULL)) == 0 &&
	    (r = pgp_cert_parse(&m, b.p, b.len, c->offset, NULL)) == 0)
		r = pgp_cert_sks_hash(&m, md5, out);
	pgp_cert_release(&m);
	buf_release(&b);
	return r;
}
