/*
 * test-openpgp-merge.c: certificate structure, merge, contains, diff and the
 * flooding filter.
 *
 * The certificates are gpg-made (tests/data/mkkeys.sh says what each holds):
 * alice at three points in time, the same cert as keys.openpgp.org serves it
 * (no user ID), and bob.  Flooded certificates are built here from bob's
 * real certification with the creation time changed, so that every copy is
 * a distinct packet; nothing verifies signatures, so they serve as well as
 * real ones would.
 *
 * Packet names used in comments (the order is gpg's export order):
 *   alice   P Uorg S0 K1 B1
 *   later   P Unet Snet Uorg S1 Cbob K1 B1 K2 B2
 *   revoked P R20 Uorg S1 Cbob Unet R30 Snet K1 B1 K2 R28 B2
 *   hagrid  P R20
 *   nouid   P R20 K1 B1 K2 R28 B2
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "tap.h"
#include "data.h"

/* A certificate file of tests/data/certs. */
static uint8_t *
slurp(const char *name, size_t *len)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "certs/%s", name);
	return data_slurp(rel, len);
}

/* A parsed certificate that owns its bytes. */
struct cert {
	struct buf	 bytes;
	struct pgp_cert	 c;
};

static void
cert_from_buf(struct cert *x, struct buf *b)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;
	struct buf e = BUF_INIT;

	x->bytes = e;
	buf_swap(&x->bytes, b);
	x->c = c;
	if (pgp_cert_parse(&x->c, x->bytes.p, x->bytes.len, 0, &err) != 0) {
		diag("parse: %s", err.msg);
		exit(1);
	}
}

static void
cert_load(struct cert *x, const char *name)
{
	struct buf b = BUF_INIT;
	size_t len;
	uint8_t *p = slurp(name, &len);

	if (buf_add(&b, p, len) != 0)
		exit(1);
	free(p);
	cert_from_buf(x, &b);
	buf_release(&b);
}

static void
cert_free(struct cert *x)
{
	pgp_cert_release(&x->c);
	buf_release(&x->bytes);
}

/* Builds a certificate from packets (their input bytes, framing kept). */
static void
cert_build(struct cert *x, const struct pgp_packet *const *v, size_t n)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++)
		if (buf_add(&b, v[i]->raw, v[i]->rawlen) != 0)
			exit(1);
	cert_from_buf(x, &b);
	buf_release(&b);
}

static bool
same_pkt(const struct pgp_packet *p, const struct pgp_packet *q)
{
	return p->tag == q->tag && p->bodylen == q->bodylen &&
	    memcmp(p->body, q->body, p->bodylen) == 0;
}

/* c's packets are exactly want[0..n), in that order (by tag and body). */
static bool
has_seq(const struct pgp_cert *c, const struct pgp_packet *const *want,
    size_t n)
{
	if (c->npkts != n) {
		diag("%zu packets, want %zu", c->npkts, n);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (!same_pkt(&c->pkts[i], want[i])) {
			diag("packet %zu differs (tag %u, want %u)", i,
			    c->pkts[i].tag, want[i]->tag);
			return false;
		}
	return true;
}

static int
merge(struct cert *out, const struct cert *a, const struct cert *b,
    struct pgp_cert_merge_report *rep)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf m = BUF_INIT;
	int r;

	if ((r = pgp_cert_merge(&m, &a->c, &b->c, rep, &err)) != 0) {
		diag("merge: %s", err.msg);
		buf_release(&m);
		return r;
	}
	cert_from_buf(out, &m);
	buf_release(&m);
	return 0;
}

static bool
bytes_eq(const struct cert *x, const struct buf *b)
{
	return x->bytes.len == b->len &&
	    memcmp(x->bytes.p, b->p, b->len) == 0;
}

static bool
written_eq(const struct cert *x, const struct cert *y)
{
	struct buf w = BUF_INIT;
	bool eq;

	if (pgp_cert_write(&w, &y->c) != 0)
		exit(1);
	eq = bytes_eq(x, &w);
	buf_release(&w);
	return eq;
}

static bool
report_is(const struct pgp_cert_merge_report *r, size_t uids, size_t subkeys,
    size_t sigs, size_t revs)
{
	if (r->new_uids == uids && r->new_subkeys == subkeys &&
	    r->new_sigs == sigs && r->new_revocations == revs)
		return true;
	diag("report: %zu uids, %zu subkeys, %zu sigs, %zu revocations",
	    r->new_uids, r->new_subkeys, r->new_sigs, r->new_revocations);
	return false;
}

/* The test certificates and their packets by name. */
static struct cert alice, later, revoked, hagrid, nouid, bob;
static const struct pgp_packet *P, *Uorg, *S0, *K1, *B1;
static const struct pgp_packet *Unet, *Snet, *S1, *Cbob, *K2, *B2;
static const struct pgp_packet *R20, *R30, *R28;

static void
load_all(void)
{
	cert_load(&alice, "alice.pgp");
	cert_load(&later, "alice-later.pgp");
	cert_load(&revoked, "alice-revoked.pgp");
	cert_load(&hagrid, "alice-revocation-only.pgp");
	cert_load(&nouid, "alice-nouid.pgp");
	cert_load(&bob, "bob.pgp");
	if (alice.c.npkts != 5 || later.c.npkts != 10 ||
	    revoked.c.npkts != 13 || hagrid.c.npkts != 2 ||
	    nouid.c.npkts != 7) {
		diag("test certificates have an unexpected shape");
		exit(1);
	}
	P = &alice.c.pkts[0];
	Uorg = &alice.c.pkts[1];
	S0 = &alice.c.pkts[2];
	K1 = &alice.c.pkts[3];
	B1 = &alice.c.pkts[4];
	Unet = &later.c.pkts[1];
	Snet = &later.c.pkts[2];
	S1 = &later.c.pkts[4];
	Cbob = &later.c.pkts[5];
	K2 = &later.c.pkts[8];
	B2 = &later.c.pkts[9];
	R20 = &revoked.c.pkts[1];
	R30 = &revoked.c.pkts[6];
	R28 = &revoked.c.pkts[11];
	if (!same_pkt(Uorg, &later.c.pkts[3]) || Unet->bodylen != 25 ||
	    memcmp(Unet->body, "Alice <alice@example.net>", 25) != 0 ||
	    !same_pkt(R20, &hagrid.c.pkts[1]) || K2->tag != 14) {
		diag("test certificates are not in the expected order");
		exit(1);
	}
}

/* --- structure -------------------------------------------------------- */

static void
test_components(void)
{
	struct pgp_component *v = NULL;
	size_t n, nd;

	is_int(pgp_cert_components(&v, &n, &nd, &later.c, NULL), 0,
	    "components of alice-later");
	ok(n == 4 && nd == 0, "4 components, no direct signature");
	ok(v[0].pkt == 1 && v[0].first_sig == 2 && v[0].nsigs == 1 &&
	    v[1].pkt == 3 && v[1].nsigs == 2 && v[2].pkt == 6 &&
	    v[2].nsigs == 1 && v[3].pkt == 8 && v[3].nsigs == 1,
	    "UID, UID with 2 signatures, subkey, subkey");
	free(v);
	is_int(pgp_cert_components(&v, &n, &nd, &hagrid.c, NULL), 0,
	    "components of the revocation-only cert");
	ok(n == 0 && nd == 1, "no component, 1 direct signature");
	free(v);
}

/* --- merge ------------------------------------------------------------ */

static void
test_merge_self(void)
{
	struct cert *all[] = { &alice, &later, &revoked, &hagrid, &nouid,
	    &bob };
	struct pgp_cert_merge_report rep;
	struct cert m;
	int good = 0;

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(all); i++) {
		memset(&rep, 0xff, sizeof(rep));
		if (merge(&m, all[i], all[i], &rep) == 0 &&
		    written_eq(&m, all[i]) && report_is(&rep, 0, 0, 0, 0))
			good++;
		cert_free(&m);
	}
	is_int(good, (int)PGPS_ARRAY_SIZE(all),
	    "merge(a, a) is pgp_cert_write(a), byte for byte, nothing new");
}

static void
test_merge_update(void)
{
	const struct pgp_packet *w1[] = { P, Uorg, S0, S1, Cbob, Unet, Snet,
	    K1, B1, K2, B2 };
	const struct pgp_packet *w2[] = { P, Unet, Snet, Uorg, S1, Cbob, S0,
	    K1, B1, K2, B2 };
	struct pgp_cert_merge_report rep;
	struct cert m, m2, m3;

	is_int(merge(&m, &alice, &later, &rep), 0, "merge(alice, later)");
	ok(has_seq(&m.c, w1, PGPS_ARRAY_SIZE(w1)),
	    "alice's packets in alice's order; new signatures under their "
	    "UID, new UID after alice's, new subkey after alice's");
	ok(report_is(&rep, 1, 1, 4, 0),
	    "report: 1 UID, 1 subkey, 4 signatures, no revocation");
	ok(pgp_cert_contains(&m.c, &alice.c) &&
	    pgp_cert_contains(&m.c, &later.c), "result contains both inputs");
	ok(!pgp_cert_contains(&alice.c, &later.c) &&
	    !pgp_cert_contains(&later.c, &alice.c),
	    "neither input contains the other (later lost S0)");
	ok(pgp_cert_contains(&later.c, &later.c), "a cert contains itself");

	/* Idempotent: merging either input again adds nothing. */
	ok(merge(&m2, &m, &later, &rep) == 0 && written_eq(&m2, &m) &&
	    report_is(&rep, 0, 0, 0, 0), "merge(merge(a, b), b) = merge(a, b)");
	cert_free(&m2);
	ok(merge(&m2, &m, &alice, &rep) == 0 && written_eq(&m2, &m),
	    "merge(merge(a, b), a) = merge(a, b)");
	cert_free(&m2);

	/* The other way round: later's order, S0 back under Uorg. */
	is_int(merge(&m2, &later, &alice, &rep), 0, "merge(later, alice)");
	ok(has_seq(&m2.c, w2, PGPS_ARRAY_SIZE(w2)),
	    "later's order kept, alice's old self-sig appended under Uorg");
	ok(report_is(&rep, 0, 0, 1, 0), "report: 1 signature");
	/* Same packets either way. */
	ok(pgp_cert_contains(&m2.c, &m.c) && pgp_cert_contains(&m.c, &m2.c),
	    "merge(a, b) and merge(b, a) hold the same packets");

	/* Revocations reach a cert that has them nowhere. */
	is_int(merge(&m3, &later, &revoked, &rep), 0, "merge(later, revoked)");
	{
		const struct pgp_packet *w[] = { P, R20, Unet, Snet, R30, Uorg,
		    S1, Cbob, K1, B1, K2, B2, R28 };

		ok(has_seq(&m3.c, w, PGPS_ARRAY_SIZE(w)),
		    "each revocation lands under its component");
	}
	ok(report_is(&rep, 0, 0, 3, 3), "report: 3 signatures, 3 revocations");
	cert_free(&m3);

	cert_free(&m);
	cert_free(&m2);
}

static void
test_merge_uidless(void)
{
	const struct pgp_packet *w[] = { P, R20, Unet, Snet, Uorg, S1, Cbob,
	    K1, B1, K2, B2 };
	const struct pgp_packet *wn[] = { P, R20, Uorg, S0, K1, B1, K2, R28,
	    B2 };
	struct pgp_cert_merge_report rep;
	struct cert m, m2, bare;
	struct buf out = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	/* keys.openpgp.org's answer for a revoked key: no user ID. */
	is_int(merge(&m, &later, &hagrid, &rep), 0,
	    "a UID-less revocation merges into a full cert");
	ok(has_seq(&m.c, w, PGPS_ARRAY_SIZE(w)),
	    "the revocation joins the direct signatures; UIDs stay");
	ok(report_is(&rep, 0, 0, 1, 1), "report: 1 signature, 1 revocation");
	ok(merge(&m2, &hagrid, &later, &rep) == 0 &&
	    written_eq(&m2, &m) && report_is(&rep, 2, 2, 5, 0),
	    "merge(hagrid, later): later's UIDs after the direct "
	    "signatures, subkeys at the end: the same bytes");
	cert_free(&m2);
	cert_free(&m);

	is_int(merge(&m, &alice, &nouid, &rep), 0,
	    "a UID-less cert with a new subkey merges");
	ok(has_seq(&m.c, wn, PGPS_ARRAY_SIZE(wn)), "subkey with both sigs");
	ok(report_is(&rep, 0, 1, 3, 2), "report: 1 subkey, 3 sigs, 2 revs");
	cert_free(&m);

	/* A bare revocation (Hockeypuck's answer): no key packet at all. */
	{
		const struct pgp_packet *v[] = { R20 };

		cert_build(&bare, v, 1);
	}
	ok(!bare.c.has_primary, "bare revocation has no primary key");
	ok(merge(&m, &later, &bare, &rep) == 0 &&
	    has_seq(&m.c, w, PGPS_ARRAY_SIZE(w)) &&
	    report_is(&rep, 0, 0, 1, 1),
	    "a bare revocation merges like the UID-less cert");
	cert_free(&m);
	ok(merge(&m, &bare, &later, &rep) == 0 &&
	    has_seq(&m.c, w, PGPS_ARRAY_SIZE(w)),
	    "merge(bare, cert) puts the key first");
	cert_free(&m);
	ok(pgp_cert_contains(&hagrid.c, &bare.c) &&
	    !pgp_cert_contains(&bare.c, &hagrid.c),
	    "contains: cert has the bare sig; bare lacks the key");
	if (buf_addstr(&out, "keep") != 0)
		exit(1);
	is_int(pgp_cert_merge(&out, &bob.c, &bare.c, NULL, &err),
	    PGPS_EFORMAT, "alice's revocation does not merge into bob");
	ok(out.len == 4 && memcmp(out.p, "keep", 4) == 0,
	    "out is left as it was");
	ok(strstr(err.msg, "offset 0") != NULL &&
	    strstr(err.msg, "not a signature by the key") != NULL,
	    "message: %s", err.msg);
	cert_free(&bare);

	pgps_err_clear(&err);
	is_int(pgp_cert_merge(&out, &alice.c, &bob.c, NULL, &err),
	    PGPS_EFORMAT, "different primary keys do not merge");
	ok(out.len == 4, "out is left as it was");
	ok(!pgp_cert_contains(&alice.c, &bob.c), "alice does not contain bob");

	/* The same key body framed as a secret key (tag 5). */
	{
		struct buf sb = BUF_INIT;
		struct cert sec;

		if (buf_addch(&sb, 0x94) != 0 ||
		    buf_addch(&sb, (uint8_t)P->bodylen) != 0 ||
		    buf_add(&sb, P->body, P->bodylen) != 0)
			exit(1);
		for (size_t i = 1; i < alice.c.npkts; i++)
			if (buf_add(&sb, alice.c.pkts[i].raw,
			    alice.c.pkts[i].rawlen) != 0)
				exit(1);
		cert_from_buf(&sec, &sb);
		pgps_err_clear(&err);
		ok(pgp_cert_merge(&out, &sec.c, &alice.c, NULL, &err) ==
		    PGPS_EFORMAT && strstr(err.msg, "secret and a public") !=
		    NULL, "a secret key does not merge with its public key");
		cert_free(&sec);
		buf_release(&sb);
	}
	buf_release(&out);
}

static void
test_merge_dups(void)
{
	const struct pgp_packet *dup[] = { P, Uorg, S0, K1, B1, Uorg, Cbob };
	const struct pgp_packet *w[] = { P, Uorg, S0, Cbob, K1, B1 };
	const struct pgp_packet *twice[] = { P, Uorg, S0, S0, K1, B1 };
	const struct pgp_packet *bdup[] = { P, Uorg, S0, Cbob, K1, Cbob, B1,
	    Cbob };
	struct pgp_cert_merge_report rep;
	struct cert a, m;

	/* SKS merges a UID block that appears twice. */
	cert_build(&a, dup, PGPS_ARRAY_SIZE(dup));
	ok(merge(&m, &a, &a, &rep) == 0 && has_seq(&m.c, w, 6),
	    "a repeated UID is written once, with both blocks' sigs");
	cert_free(&m);
	ok(merge(&m, &alice, &a, &rep) == 0 && has_seq(&m.c, w, 6) &&
	    report_is(&rep, 0, 0, 1, 0),
	    "b's repeated UID block adds its signature under the UID");
	ok(pgp_cert_contains(&m.c, &a.c) && !pgp_cert_contains(&alice.c, &a.c),
	    "contains sees through the repeat");
	cert_free(&m);
	cert_free(&a);

	/* But a signature repeated under a single UID stays (SKS keeps it). */
	cert_build(&a, twice, PGPS_ARRAY_SIZE(twice));
	ok(merge(&m, &a, &a, &rep) == 0 && written_eq(&m, &a),
	    "a duplicate signature under one UID is kept");
	cert_free(&m);
	ok(merge(&m, &alice, &a, &rep) == 0 && written_eq(&m, &alice) &&
	    report_is(&rep, 0, 0, 0, 0), "and is not new to alice");
	cert_free(&m);
	cert_free(&a);

	/* The same new signature several times in b is added once, and
	 * only under the component it sits under. */
	cert_build(&a, bdup, PGPS_ARRAY_SIZE(bdup));
	{
		const struct pgp_packet *want[] = { P, Uorg, S0, Cbob, K1, B1,
		    Cbob };

		ok(merge(&m, &alice, &a, &rep) == 0 &&
		    has_seq(&m.c, want, PGPS_ARRAY_SIZE(want)) &&
		    report_is(&rep, 0, 0, 2, 0),
		    "a signature is matched per component: once under Uorg, "
		    "once under K1");
	}
	cert_free(&m);
	cert_free(&a);
}

static void
test_merge_framing(void)
{
	/* Trust packets (legacy tag 12) as gpg's keyrings hold them. */
	static const uint8_t trust[] = { 0xb0, 0x02, 0x00, 0x00 };
	struct pgp_packet tp;
	struct buf b = BUF_INIT, nf = BUF_INIT;
	struct pgp_cert_merge_report rep;
	struct cert t, m, newfmt;
	struct span s = span_make(trust, sizeof(trust));

	if (pgp_packet_parse(&tp, &s, 0, NULL, NULL) != 0)
		exit(1);
	{
		const struct pgp_packet *v[] = { P, Uorg, &tp, S0, &tp, K1, B1,
		    &tp };

		cert_build(&t, v, PGPS_ARRAY_SIZE(v));
	}
	ok(t.c.flags & PGP_CERT_HAS_TRUST, "cert with trust packets");
	ok(merge(&m, &t, &t, &rep) == 0 && bytes_eq(&m, &alice.bytes),
	    "trust packets are dropped from the output");
	cert_free(&m);
	ok(merge(&m, &alice, &t, &rep) == 0 && bytes_eq(&m, &alice.bytes) &&
	    report_is(&rep, 0, 0, 0, 0) && pgp_cert_contains(&alice.c, &t.c),
	    "trust packets are never new");
	cert_free(&m);
	cert_free(&t);

	/* Cbob re-framed with a new-format header: the same packet. */
	for (size_t i = 0; i < later.c.npkts; i++) {
		const struct pgp_packet *p = &later.c.pkts[i];

		if (p == Cbob) {
			if (buf_addch(&nf, 0xc2) != 0 ||
			    buf_addch(&nf, (uint8_t)p->bodylen) != 0 ||
			    buf_add(&nf, p->body, p->bodylen) != 0)
				exit(1);
		} else if (buf_add(&nf, p->raw, p->rawlen) != 0)
			exit(1);
	}
	cert_from_buf(&newfmt, &nf);
	ok(merge(&m, &later, &newfmt, &rep) == 0 && written_eq(&m, &later) &&
	    report_is(&rep, 0, 0, 0, 0),
	    "packets are matched by body, not by framing");
	cert_free(&m);
	ok(merge(&m, &alice, &newfmt, &rep) == 0 && m.c.npkts == 11 &&
	    m.c.pkts[4].tag == PGP_TAG_SIGNATURE &&
	    (m.c.pkts[4].flags & PGP_PACKET_NEW_FORMAT) &&
	    same_pkt(&m.c.pkts[4], Cbob),
	    "b's packets keep their own (new-format) framing");
	cert_free(&m);
	cert_free(&newfmt);
	buf_release(&nf);
	buf_release(&b);
}

/* --- diff ------------------------------------------------------------- */

static bool
change_is(const struct pgp_change *c, enum pgp_change_kind kind,
    size_t pkt, size_t comp)
{
	if (c->kind == kind && c->pkt == pkt && c->comp == comp)
		return true;
	diag("change: %s pkt %zu comp %zu, want %s pkt %zu comp %zu",
	    pgp_change_kind_name(c->kind), c->pkt, c->comp,
	    pgp_change_kind_name(kind), pkt, comp);
	return false;
}

static void
test_diff(void)
{
	struct pgp_change *ch = NULL;
	struct pgps_err err = PGPS_ERR_INIT;
	size_t n;

	/* later: P Unet Snet Uorg S1 Cbob K1 B1 K2 B2 */
	is_int(pgp_cert_diff(&ch, &n, &alice.c, &later.c, NULL), 0,
	    "diff(alice, later)");
	is_int(n, 6, "six changes");
	if (n == 6) {
		ok(change_is(&ch[0], PGP_CHANGE_UID, 1, 1), "new UID");
		ok(change_is(&ch[1], PGP_CHANGE_SELF_SIG, 2, 1),
		    "its self-signature (nothing earlier to compare with)");
		ok(change_is(&ch[2], PGP_CHANGE_EXPIRY, 4, 3),
		    "Uorg's new self-signature changes the expiry");
		ok(ch[2].sig.has_key_expiry && ch[2].sig.created == 1717329600,
		    "with the signature's fields");
		ok(change_is(&ch[3], PGP_CHANGE_CERTIFICATION, 5, 3),
		    "bob's certification of Uorg");
		ok(memcmp(ch[3].sig.issuer, bob.c.primary.keyid, 8) == 0,
		    "issued by bob");
		ok(change_is(&ch[4], PGP_CHANGE_SUBKEY, 8, 8), "new subkey");
		ok(change_is(&ch[5], PGP_CHANGE_SELF_SIG, 9, 8),
		    "its binding signature");
	}
	free(ch);

	is_int(pgp_cert_diff(&ch, &n, &later.c, &alice.c, NULL), 0,
	    "diff(later, alice): what later dropped");
	ok(n == 1 && change_is(&ch[0], PGP_CHANGE_SELF_SIG, 2, 1),
	    "alice's superseded self-signature");
	free(ch);

	/* revoked: P R20 Uorg S1 Cbob Unet R30 Snet K1 B1 K2 R28 B2 */
	is_int(pgp_cert_diff(&ch, &n, &later.c, &revoked.c, NULL), 0,
	    "diff(later, revoked)");
	ok(n == 3 && change_is(&ch[0], PGP_CHANGE_REVOCATION, 1, SIZE_MAX) &&
	    change_is(&ch[1], PGP_CHANGE_REVOCATION, 6, 5) &&
	    change_is(&ch[2], PGP_CHANGE_REVOCATION, 11, 10),
	    "key, UID and subkey revocation, each on its component");
	ok(n == 3 && ch[0].sig.reason == 3 && ch[1].sig.reason == 32 &&
	    ch[2].sig.reason == 0, "with their reasons");
	free(ch);

	is_int(pgp_cert_diff(&ch, &n, &later.c, &hagrid.c, NULL), 0,
	    "diff(later, UID-less revocation)");
	ok(n == 1 && change_is(&ch[0], PGP_CHANGE_REVOCATION, 1, SIZE_MAX),
	    "only the key revocation; missing UIDs are not changes");
	free(ch);

	is_int(pgp_cert_diff(&ch, &n, &revoked.c, &revoked.c, NULL), 0,
	    "diff(x, x)");
	is_int(n, 0, "no changes");
	free(ch);

	is_int(pgp_cert_diff(&ch, &n, &alice.c, &bob.c, &err), PGPS_EFORMAT,
	    "diff of different keys fails");
	ok(strstr(err.msg, "different primary keys") != NULL, "%s", err.msg);

	is_str(pgp_change_kind_name(PGP_CHANGE_UID), "uid", "name: uid");
	is_str(pgp_change_kind_name(PGP_CHANGE_UAT), "uat", "name: uat");
	is_str(pgp_change_kind_name(PGP_CHANGE_SUBKEY), "subkey",
	    "name: subkey");
	is_str(pgp_change_kind_name(PGP_CHANGE_SELF_SIG), "self-sig",
	    "name: self-sig");
	is_str(pgp_change_kind_name(PGP_CHANGE_EXPIRY), "expiry",
	    "name: expiry");
	is_str(pgp_change_kind_name(PGP_CHANGE_CERTIFICATION), "certification",
	    "name: certification");
	is_str(pgp_change_kind_name(PGP_CHANGE_REVOCATION), "revocation",
	    "name: revocation");
	is_str(pgp_change_kind_name(PGP_CHANGE_OTHER), "other", "name: other");
}

static void
test_diff_uat(void)
{
	/* A user attribute (new-format tag 17) with a copy of S0 under it. */
	static const uint8_t uat[] = { 0xd1, 0x06, 0x05, 0x01, 0x10, 0x00,
	    0x01, 0x01 };
	static const uint8_t marker[] = { 0xa8, 0x03, 'P', 'G', 'P' };
	struct pgp_packet up, mp;
	struct span s1 = span_make(uat, sizeof(uat));
	struct span s2 = span_make(marker, sizeof(marker));
	struct pgp_change *ch = NULL;
	struct pgp_cert_merge_report rep;
	struct cert c, m;
	size_t n;

	if (pgp_packet_parse(&up, &s1, 0, NULL, NULL) != 0 ||
	    pgp_packet_parse(&mp, &s2, 0, NULL, NULL) != 0)
		exit(1);
	{
		const struct pgp_packet *v[] = { P, Uorg, S0, &up, S0, &mp, K1,
		    B1 };

		cert_build(&c, v, PGPS_ARRAY_SIZE(v));
	}
	is_int(pgp_cert_diff(&ch, &n, &alice.c, &c.c, NULL), 0,
	    "diff(alice, alice + UAT)");
	ok(n == 3 && change_is(&ch[0], PGP_CHANGE_UAT, 3, 3) &&
	    change_is(&ch[1], PGP_CHANGE_SELF_SIG, 4, 3) &&
	    change_is(&ch[2], PGP_CHANGE_OTHER, 5, 3),
	    "UAT, a self-signature under it, a marker packet (other)");
	free(ch);

	{
		const struct pgp_packet *w[] = { P, Unet, Snet, Uorg, S1, Cbob,
		    S0, &up, S0, &mp, K1, B1, K2, B2 };

		ok(merge(&m, &later, &c, &rep) == 0 &&
		    has_seq(&m.c, w, PGPS_ARRAY_SIZE(w)) &&
		    report_is(&rep, 1, 0, 2, 0),
		    "merge: the UAT goes after the last UID; the same "
		    "signature body under two components is two packets");
	}
	cert_free(&m);
	cert_free(&c);
}

/* An expiry is compared with the latest *earlier* self-signature. */
static void
test_diff_expiry_order(void)
{
	struct pgp_change *ch = NULL;
	struct cert c;
	size_t n;

	/* S1 (5y, T1B) then S0 (2y, T0) on Uorg, against Uorg + S1 only. */
	{
		const struct pgp_packet *a[] = { P, Uorg, S1, K1, B1 };
		const struct pgp_packet *b[] = { P, Uorg, S0, K1, B1 };
		struct cert ca;

		cert_build(&ca, a, 5);
		cert_build(&c, b, 5);
		is_int(pgp_cert_diff(&ch, &n, &ca.c, &c.c, NULL), 0,
		    "diff(Uorg + S1, Uorg + S0)");
		ok(n == 1 && ch[0].kind == PGP_CHANGE_SELF_SIG,
		    "an older self-sig has nothing earlier: not an expiry "
		    "change");
		free(ch);
		is_int(pgp_cert_diff(&ch, &n, &c.c, &ca.c, NULL), 0,
		    "diff(Uorg + S0, Uorg + S1)");
		ok(n == 1 && ch[0].kind == PGP_CHANGE_EXPIRY,
		    "a newer self-sig with another expiry is an expiry change");
		free(ch);
		cert_free(&ca);
		cert_free(&c);
	}
}

/* --- flooding: filter and the cost of everything --------------------- */

/* Cbob with its creation time set to t: a distinct certification. */
static void
add_fake_cert(struct buf *out, uint32_t t)
{
	const uint8_t *b = Cbob->body;
	size_t hl = (size_t)b[4] << 8 | b[5], i = 6, at = 0;
	uint8_t body[256];

	memcpy(body, b, Cbob->bodylen);
	while (i < 6 + hl) {
		size_t len = b[i];	/* gpg writes 1-octet lengths here */

		if (b[i + 1] == 2) {
			at = i + 2;
			break;
		}
		i += 1 + len;
	}
	if (at == 0 || Cbob->bodylen > sizeof(body) || Cbob->rawlen !=
	    Cbob->bodylen + 2) {
		diag("unexpected certification layout");
		exit(1);
	}
	store_be32(body + at, t);
	if (buf_add(out, Cbob->raw, 2) != 0 ||
	    buf_add(out, body, Cbob->bodylen) != 0)
		exit(1);
}

/* later with n extra certifications of Uorg right after Cbob. */
static void
make_flood(struct cert *x, size_t n, uint32_t base)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < later.c.npkts; i++) {
		const struct pgp_packet *p = &later.c.pkts[i];

		if (buf_add(&b, p->raw, p->rawlen) != 0)
			exit(1);
		if (p == Cbob)
			for (size_t k = 0; k < n; k++)
				add_fake_cert(&b, base + (uint32_t)k);
	}
	cert_from_buf(x, &b);
	buf_release(&b);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool
filter_report_is(const struct pgp_filter_report *r, size_t third,
    size_t excess, size_t big, size_t other, bool toobig)
{
	if (r->dropped_third_party == third &&
	    r->dropped_excess_sigs == excess &&
	    r->dropped_big_packets == big && r->dropped_other == other &&
	    r->too_big == toobig)
		return true;
	diag("filter report: third %zu excess %zu big %zu other %zu "
	    "too_big %d", r->dropped_third_party, r->dropped_excess_sigs,
	    r->dropped_big_packets, r->dropped_other, r->too_big);
	return false;
}

static int
filter(struct cert *out, const struct cert *c, const struct pgp_limits *lim,
    struct pgp_filter_report *rep)
{
	struct buf b = BUF_INIT;
	int r;

	if ((r = pgp_cert_filter(&b, &c->c, lim, rep, NULL)) == 0)
		cert_from_buf(out, &b);
	buf_release(&b);
	return r;
}

static void
test_filter(void)
{
	const struct pgp_packet *nobob[] = { P, Unet, Snet, Uorg, S1, K1, B1,
	    K2, B2 };
	struct pgp_limits lim, def;
	struct pgp_filter_report rep;
	struct cert f, c;
	struct buf b = BUF_INIT;

	pgp_limits_default(&def);
	ok(def.max_cert_size == 8u << 20 && def.max_sigs_per_uid == 1000 &&
	    def.max_packet_size == 1u << 20 && !def.strip_third_party,
	    "defaults: 8 MiB certs, 1000 sigs per UID, 1 MiB packets, keep "
	    "third parties");

	ok(filter(&f, &later, &def, &rep) == 0 && written_eq(&f, &later) &&
	    filter_report_is(&rep, 0, 0, 0, 0, false),
	    "defaults leave a normal cert alone");
	cert_free(&f);

	lim = def;
	lim.strip_third_party = true;
	ok(filter(&f, &later, &lim, &rep) == 0 &&
	    has_seq(&f.c, nobob, PGPS_ARRAY_SIZE(nobob)) &&
	    filter_report_is(&rep, 1, 0, 0, 0, false),
	    "strip_third_party drops bob's certification only");
	cert_free(&f);
	ok(filter(&f, &revoked, &lim, &rep) == 0 &&
	    f.c.npkts == revoked.c.npkts - 1,
	    "self-made revocations survive stripping");
	cert_free(&f);

	/* 3000 certifications of Uorg, newer than Cbob. */
	make_flood(&c, 3000, 1720000000);
	lim = def;
	lim.max_sigs_per_uid = 100;
	is_int(filter(&f, &c, &lim, &rep), 0, "filter a 3000-sig flood");
	ok(filter_report_is(&rep, 0, 2901, 0, 0, false),
	    "3001 certifications, 100 kept: 2901 dropped");
	{
		struct pgp_sig_info si;
		size_t kept = 0, old = 0;

		for (size_t i = 0; i < f.c.npkts; i++) {
			const struct pgp_packet *p = &f.c.pkts[i];

			if (p->tag != PGP_TAG_SIGNATURE || pgp_sig_parse(&si,
			    p->body, p->bodylen, NULL) != 0 ||
			    !pgp_sig_is_by(&si, &bob.c.primary))
				continue;
			kept++;
			if (si.created < 1720000000 + 2900)
				old++;
		}
		ok(kept == 100 && old == 0, "the 100 newest are kept");
	}
	ok(pgp_cert_contains(&f.c, &later.c) == false &&
	    f.c.npkts == later.c.npkts - 1 + 100,
	    "every self-signature is kept (Cbob, the oldest, went)");
	cert_free(&f);

	lim.strip_third_party = true;
	ok(filter(&f, &c, &lim, &rep) == 0 &&
	    has_seq(&f.c, nobob, PGPS_ARRAY_SIZE(nobob)) &&
	    filter_report_is(&rep, 3001, 0, 0, 0, false),
	    "stripping removes all 3001");
	cert_free(&f);

	/* Merged into a keyring holding Cbob: it stays, 99 newer join. */
	lim.strip_third_party = false;
	{
		struct pgp_cert m = PGP_CERT_INIT;

		ok(pgp_cert_filter_held(&b, &c.c, &later.c, &lim, &rep,
		    NULL) == 0 && pgp_cert_parse(&m, b.p, b.len, 0,
		    NULL) == 0 && pgp_cert_contains(&m, &later.c) &&
		    m.npkts == later.c.npkts + 99 &&
		    filter_report_is(&rep, 0, 2901, 0, 0, false),
		    "a held certification is kept; the new ones share the "
		    "room it leaves");
		pgp_cert_release(&m);
		buf_reset(&b);
		lim.max_sigs_per_uid = 1;
		ok(pgp_cert_filter_held(&b, &c.c, &later.c, &lim, &rep,
		    NULL) == 0 && pgp_cert_parse(&m, b.p, b.len, 0,
		    NULL) == 0 && m.npkts == later.c.npkts,
		    "with no room left nothing new gets in");
		pgp_cert_release(&m);
		buf_reset(&b);
		lim.max_sigs_per_uid = 100;
	}

	lim = def;
	lim.max_sigs_per_uid = 0;
	lim.max_cert_size = 100000;
	if (buf_addstr(&b, "keep") != 0)
		exit(1);
	is_int(pgp_cert_filter(&b, &c.c, &lim, &rep, NULL), PGPS_ELIMIT,
	    "a 360 KB cert over a 100 KB limit fails");
	ok(rep.too_big && b.len == 4, "too_big is set, out is untouched");
	lim.max_sigs_per_uid = 10;
	ok(pgp_cert_filter(&b, &c.c, &lim, &rep, NULL) == 0 && !rep.too_big &&
	    b.len == 4 + later.bytes.len - Cbob->rawlen + 10 * Cbob->rawlen,
	    "but fits once the per-UID limit applies");
	buf_release(&b);
	cert_free(&c);
}

static void
test_filter_sizes(void)
{
	static uint8_t bigu[2 + 3 + 300];
	struct pgp_packet up;
	struct span s;
	struct pgp_limits lim;
	struct pgp_filter_report rep;
	struct pgps_err err = PGPS_ERR_INIT;
	struct cert c, f;
	struct buf b = BUF_INIT;
	static const uint8_t junk[] = { 0xb0, 0x02, 0x00, 0x00,	/* trust */
	    0xa8, 0x03, 'P', 'G', 'P',				/* marker */
	    0xd5, 0x02, 0x00, 0x00 };				/* padding */
	struct pgp_packet jp[3];

	/* A 300-octet user ID (new-format, 2-octet length). */
	bigu[0] = 0xcd;
	bigu[1] = (uint8_t)(((300 - 192) >> 8) + 192);
	bigu[2] = (uint8_t)((300 - 192) & 0xff);
	memset(bigu + 3, 'u', 300);
	s = span_make(bigu, 303);
	if (pgp_packet_parse(&up, &s, 0, NULL, NULL) != 0 || up.bodylen != 300)
		exit(1);
	{
		const struct pgp_packet *v[] = { P, Uorg, S0, &up, S0, Cbob,
		    K1, B1 };

		cert_build(&c, v, PGPS_ARRAY_SIZE(v));
	}
	pgp_limits_default(&lim);
	lim.max_packet_size = 200;
	ok(filter(&f, &c, &lim, &rep) == 0 && written_eq(&f, &alice) &&
	    filter_report_is(&rep, 0, 0, 3, 0, false),
	    "an oversized UID goes with its signatures (3 packets)");
	cert_free(&f);
	lim.max_packet_size = 52;
	{
		const struct pgp_packet *w[] = { P, Uorg };

		ok(filter(&f, &alice, &lim, &rep) == 0 && has_seq(&f.c, w, 2) &&
		    filter_report_is(&rep, 0, 0, 3, 0, false),
		    "oversized signatures go; an oversized subkey goes with "
		    "its binding");
	}
	cert_free(&f);
	lim.max_packet_size = 50;
	if (buf_addstr(&b, "keep") != 0)
		exit(1);
	is_int(pgp_cert_filter(&b, &alice.c, &lim, &rep, &err), PGPS_ELIMIT,
	    "an oversized primary key fails the cert");
	ok(b.len == 4 && strstr(err.msg, "primary key packet of 51 octets") !=
	    NULL, "%s", err.msg);
	buf_release(&b);
	cert_free(&c);

	s = span_make(junk, sizeof(junk));
	for (int i = 0; i < 3; i++)
		if (pgp_packet_parse(&jp[i], &s, 0, NULL, NULL) != 0)
			exit(1);
	{
		const struct pgp_packet *v[] = { P, &jp[1], Uorg, S0, &jp[0],
		    &jp[2], K1, B1, &jp[0] };

		cert_build(&c, v, PGPS_ARRAY_SIZE(v));
	}
	pgp_limits_default(&lim);
	ok(filter(&f, &c, &lim, &rep) == 0 && written_eq(&f, &alice) &&
	    filter_report_is(&rep, 0, 0, 0, 4, false),
	    "trust, marker and padding packets are dropped and counted");
	cert_free(&f);
	cert_free(&c);
}

static void
test_flood_speed(void)
{
	const size_t n = 100000;
	struct pgp_limits lim;
	struct pgp_filter_report rep;
	struct pgp_cert_merge_report mrep;
	struct pgp_change *ch = NULL;
	struct buf out = BUF_INIT;
	struct cert c;
	size_t nch;
	double t, dt;
	/*
	 * Not a benchmark (tests/bench is): a bound far above the linear
	 * cost (well under a second here, even instrumented) and far below
	 * a quadratic one (100,000^2 packet comparisons take minutes), so a
	 * loaded machine cannot fail it and an O(N^2) walk still does.
	 */
	const double limit = 30.0;

	make_flood(&c, n, 1720000000);
	diag("flooded cert: %zu packets, %zu octets", c.c.npkts, c.bytes.len);

	pgp_limits_default(&lim);
	t = now();
	is_int(pgp_cert_filter(&out, &c.c, &lim, &rep, NULL), 0,
	    "filter 100,000 certifications");
	dt = now() - t;
	diag("filter: %.3f s", dt);
	ok(dt < limit, "filter takes under %.0f s (not quadratic)", limit);
	is_int(rep.dropped_excess_sigs, n + 1 - 1000, "1000 kept");

	buf_reset(&out);
	t = now();
	ok(pgp_cert_merge(&out, &later.c, &c.c, &mrep, NULL) == 0 &&
	    mrep.new_sigs == n && out.len == c.bytes.len &&
	    memcmp(out.p, c.bytes.p, out.len) == 0,
	    "merge(later, flood) adds the 100,000 and equals the flood");
	dt = now() - t;
	diag("merge(later, flood): %.3f s", dt);
	ok(dt < limit, "merge takes under %.0f s (not quadratic)", limit);

	buf_reset(&out);
	t = now();
	ok(pgp_cert_merge(&out, &c.c, &c.c, &mrep, NULL) == 0 &&
	    mrep.new_sigs == 0 && out.len == c.bytes.len,
	    "merge(flood, flood) adds nothing");
	dt = now() - t;
	diag("merge(flood, flood): %.3f s", dt);
	ok(dt < limit, "self-merge takes under %.0f s (not quadratic)", limit);

	t = now();
	ok(pgp_cert_diff(&ch, &nch, &later.c, &c.c, NULL) == 0 && nch == n &&
	    ch[0].kind == PGP_CHANGE_CERTIFICATION &&
	    ch[n - 1].kind == PGP_CHANGE_CERTIFICATION,
	    "diff lists 100,000 certifications");
	dt = now() - t;
	diag("diff: %.3f s", dt);
	ok(dt < limit, "diff takes under %.0f s (not quadratic)", limit);
	free(ch);

	t = now();
	ok(pgp_cert_contains(&c.c, &later.c) &&
	    !pgp_cert_contains(&later.c, &c.c), "contains, both ways");
	dt = now() - t;
	diag("contains x2: %.3f s", dt);
	ok(dt < limit, "contains takes under %.0f s (not quadratic)", limit);

	buf_release(&out);
	cert_free(&c);
}

/* --- SKS's canonical form, many versions, secret keys --------------------- */

static int
merge_many(struct cert *out, const struct cert *const *v, size_t n,
    struct pgp_cert_merge_report *rep)
{
	const struct pgp_cert *cv[8];
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf m = BUF_INIT;
	int r;

	for (size_t i = 0; i < n; i++)
		cv[i] = &v[i]->c;
	if ((r = pgp_cert_merge_many(&m, cv, n, rep, &err)) != 0) {
		diag("merge_many: %s", err.msg);
		buf_release(&m);
		return r;
	}
	cert_from_buf(out, &m);
	buf_release(&m);
	return 0;
}

static void
test_canonical(void)
{
	const struct pgp_packet *dd[] = { P, R20, R20, Uorg, S1, R20, K1, B1,
	    K1, B1, Cbob };
	const struct pgp_packet *wd[] = { P, R20, Uorg, S1, R20, K1, B1,
	    Cbob };
	const struct pgp_packet *v1[] = { P, Uorg, S0, S0 };
	const struct pgp_packet *v2[] = { P, Uorg, S1 };
	const struct pgp_packet *w12[] = { P, Uorg, S0, S1 };
	const struct pgp_packet *w11[] = { P, Uorg, S0, S0 };
	struct pgp_cert_merge_report rep;
	struct pgps_err err = PGPS_ERR_INIT;
	struct buf out = BUF_INIT;
	struct cert a, b, m;

	/*
	 * SKS (KeyMerge.dedup_key): direct signatures once each, a repeated
	 * subkey block merged; the R20 under Uorg, which occurs once, stays.
	 */
	cert_build(&a, dd, PGPS_ARRAY_SIZE(dd));
	ok(pgp_cert_canonical(&out, &a.c, &rep, &err) == 0, "canonical");
	cert_from_buf(&m, &out);
	ok(has_seq(&m.c, wd, PGPS_ARRAY_SIZE(wd)) && rep.new_versions == 0 &&
	    rep.dropped_secret == 0,
	    "a direct signature once, a repeated subkey block once");
	buf_reset(&out);
	ok(pgp_cert_canonical(&out, &m.c, NULL, NULL) == 0 &&
	    bytes_eq(&m, &out), "the canonical form is its own");
	ok(!pgp_cert_is_canonical(&a.c) && pgp_cert_is_canonical(&m.c),
	    "repeated blocks are not canonical; their merge is");
	{
		struct digest *md5 = digest_new(DIGEST_MD5);
		uint8_t h1[16], h2[16], h3[16];

		ok(md5 != NULL &&
		    pgp_cert_sks_hash_canonical(&a.c, md5, h1) == 0 &&
		    pgp_cert_sks_hash(&m.c, md5, h2) == 0 &&
		    pgp_cert_sks_hash(&a.c, md5, h3) == 0 &&
		    memcmp(h1, h2, 16) == 0 && memcmp(h1, h3, 16) != 0,
		    "the SKS hash of repeated blocks is their merge's");
		ok(pgp_cert_sks_hash_canonical(&alice.c, md5, h1) == 0 &&
		    pgp_cert_sks_hash(&alice.c, md5, h2) == 0 &&
		    memcmp(h1, h2, 16) == 0, "... and of a canonical "
		    "certificate its own");
		digest_free(md5);
	}
	cert_free(&m);
	cert_free(&a);
	{
		const struct pgp_packet *rs[] = { P, Uorg, S0, S0 };
		const struct pgp_packet *ru[] = { P, Uorg, S0, Uorg };

		cert_build(&a, rs, PGPS_ARRAY_SIZE(rs));
		ok(pgp_cert_is_canonical(&a.c), "a signature twice under a "
		    "user ID that occurs once is canonical (SKS keeps both)");
		cert_free(&a);
		cert_build(&a, ru, PGPS_ARRAY_SIZE(ru));
		ok(!pgp_cert_is_canonical(&a.c), "a user ID twice is not");
		cert_free(&a);
	}

	/*
	 * Versions: a signature repeated under the one user ID of a
	 * version stays, and a copy of that version changes nothing (SKS
	 * ignores a key it holds); merged with another version of the
	 * user ID, each signature is written once (KeyMerge.merge_pkeys).
	 */
	cert_build(&a, v1, PGPS_ARRAY_SIZE(v1));
	cert_build(&b, v2, PGPS_ARRAY_SIZE(v2));
	{
		const struct cert *three[] = { &a, &a, &a };
		const struct cert *mixed[] = { &a, &b, &a };

		ok(merge_many(&m, three, 3, &rep) == 0 &&
		    has_seq(&m.c, w11, 4) && rep.new_versions == 0 &&
		    report_is(&rep, 0, 0, 0, 0),
		    "copies of one version add nothing, repeats stay");
		cert_free(&m);
		ok(merge_many(&m, mixed, 3, &rep) == 0 &&
		    has_seq(&m.c, w12, 4) && rep.new_versions == 1 &&
		    report_is(&rep, 0, 0, 1, 0),
		    "two versions of a user ID: each signature once");
		cert_free(&m);
	}
	cert_free(&a);
	cert_free(&b);

	/* One version: primary key from the first version that has one. */
	{
		const struct cert *v[] = { &hagrid, &alice, &revoked };

		ok(merge_many(&m, v, 3, &rep) == 0 &&
		    m.c.has_primary && m.c.pkts[1].tag == PGP_TAG_SIGNATURE &&
		    same_pkt(&m.c.pkts[1], R20) && rep.new_versions == 2,
		    "a bare revocation first, then two versions");
		cert_free(&m);
	}
	is_int(pgp_cert_merge_many(&out, NULL, 0, NULL, &err),
	    PGPS_EINTERNAL, "no versions is an error");
	buf_release(&out);
}

/* pgp_cert_drop_secret(x) is want written, with n secret keys dropped. */
static bool
stripped_is(const struct cert *x, const struct cert *want, size_t n)
{
	struct buf out = BUF_INIT;
	size_t got = 99;
	bool eq;

	if (pgp_cert_drop_secret(&out, &x->c, &got, NULL) != 0)
		return false;
	eq = written_eq(&(struct cert){ out, PGP_CERT_INIT }, want) &&
	    got == n;
	buf_release(&out);
	return eq;
}

/* alice with K1 framed as a secret subkey (tag 7) after her subkey. */
static void
make_secret_sub(struct cert *x, bool keep_public)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < alice.c.npkts; i++) {
		const struct pgp_packet *p = &alice.c.pkts[i];

		if ((p != K1 && p != B1) || keep_public)
			if (buf_add(&b, p->raw, p->rawlen) != 0)
				exit(1);
	}
	if (buf_addch(&b, 0x9c) != 0 ||
	    buf_addch(&b, (uint8_t)K1->bodylen) != 0 ||
	    buf_add(&b, K1->body, K1->bodylen) != 0 ||
	    buf_add(&b, B1->raw, B1->rawlen) != 0 ||
	    buf_add(&b, Cbob->raw, Cbob->rawlen) != 0)
		exit(1);
	cert_from_buf(x, &b);
	buf_release(&b);
}

static void
test_secret_parts(void)
{
	const struct pgp_packet *w[] = { P, Uorg, S0 };
	struct pgp_cert_merge_report rep;
	struct pgp_filter_report frep;
	struct pgp_limits lim;
	struct cert s, m;
	bool is_new[16];

	make_secret_sub(&s, true);
	ok(s.c.npkts == 8 && s.c.pkts[5].tag == PGP_TAG_SECRET_SUBKEY,
	    "alice with a secret subkey");
	ok(merge(&m, &s, &s, &rep) == 0 && written_eq(&m, &alice) &&
	    rep.dropped_secret == 1,
	    "merge drops the secret subkey and what is under it");
	cert_free(&m);
	ok(merge(&m, &alice, &s, &rep) == 0 && written_eq(&m, &alice) &&
	    report_is(&rep, 0, 0, 0, 0) && rep.dropped_secret == 1,
	    "and adds none of it to the public key");
	cert_free(&m);
	ok(pgp_cert_contains(&alice.c, &s.c), "alice contains it");
	ok(pgp_cert_mark_new(is_new, &alice.c, &s.c, NULL) == 0 &&
	    !is_new[5] && !is_new[6] && !is_new[7], "nothing of it is new");

	pgp_limits_default(&lim);
	memset(&frep, 0, sizeof(frep));
	ok(filter(&m, &s, &lim, &frep) == 0 && written_eq(&m, &alice) &&
	    frep.dropped_secret == 1, "the filter drops it");
	cert_free(&m);
	cert_free(&s);

	/* Only the secret subkey: the public part has no subkey. */
	make_secret_sub(&s, false);
	ok(merge(&m, &s, &s, &rep) == 0 && has_seq(&m.c, w, 3),
	    "a secret subkey alone leaves no subkey");
	cert_free(&m);
	cert_free(&s);

	/* A secret primary key in second place (a blob, not the reader). */
	{
		struct buf b = BUF_INIT;

		if (buf_add(&b, alice.bytes.p, alice.bytes.len) != 0 ||
		    buf_addch(&b, 0x94) != 0 ||
		    buf_addch(&b, (uint8_t)P->bodylen) != 0 ||
		    buf_add(&b, P->body, P->bodylen) != 0 ||
		    buf_add(&b, Uorg->raw, Uorg->rawlen) != 0)
			exit(1);
		cert_from_buf(&s, &b);
		buf_release(&b);
	}
	ok(merge(&m, &alice, &s, &rep) == 0 && written_eq(&m, &alice) &&
	    rep.dropped_secret == 1,
	    "a secret key after the first packet is dropped too");
	cert_free(&m);
	{
		struct buf b = BUF_INIT;
		struct cert want;

		/* The user ID after it is a component of its own. */
		if (buf_add(&b, alice.bytes.p, alice.bytes.len) != 0 ||
		    buf_add(&b, Uorg->raw, Uorg->rawlen) != 0)
			exit(1);
		cert_from_buf(&want, &b);
		ok(stripped_is(&s, &want, 1), "... and by "
		    "pgp_cert_drop_secret()");
		cert_free(&want);
	}
	cert_free(&s);

	/* Trust packets before and after the secret subkey. */
	{
		struct buf b = BUF_INIT;

		if (buf_add(&b, alice.bytes.p, alice.bytes.len) != 0 ||
		    buf_add(&b, "\260\002\006\000", 4) != 0 ||
		    buf_addch(&b, 0x9c) != 0 ||
		    buf_addch(&b, (uint8_t)K1->bodylen) != 0 ||
		    buf_add(&b, K1->body, K1->bodylen) != 0 ||
		    buf_add(&b, "\260\002\006\000", 4) != 0 ||
		    buf_add(&b, B1->raw, B1->rawlen) != 0 ||
		    buf_addch(&b, 0x9c) != 0 ||
		    buf_addch(&b, (uint8_t)K1->bodylen) != 0 ||
		    buf_add(&b, K1->body, K1->bodylen) != 0)
			exit(1);
		cert_from_buf(&s, &b);
		buf_release(&b);
	}
	ok(pgp_cert_has_secret(&s.c), "alice, trust, secret subkey, trust, "
	    "its binding, another secret subkey");
	ok(stripped_is(&s, &alice, 2), "pgp_cert_drop_secret() keeps "
	    "nothing of them");
	ok(merge(&m, &s, &s, &rep) == 0 && written_eq(&m, &alice) &&
	    rep.dropped_secret == 2, "nor does merge");
	cert_free(&m);
	cert_free(&s);

	make_secret_sub(&s, true);
	ok(stripped_is(&s, &alice, 1), "pgp_cert_drop_secret() of alice "
	    "with a secret subkey: alice");
	cert_free(&s);
	ok(stripped_is(&alice, &alice, 0) && !pgp_cert_has_secret(&alice.c),
	    "alice alone: alice, nothing dropped");
	{
		struct pgps_err err = PGPS_ERR_INIT;
		struct buf out = BUF_INIT;
		struct cert sec;
		struct buf b = BUF_INIT;
		size_t n = 9;

		if (buf_addch(&b, 0x94) != 0 ||
		    buf_addch(&b, (uint8_t)P->bodylen) != 0 ||
		    buf_add(&b, P->body, P->bodylen) != 0 ||
		    buf_add(&b, Uorg->raw, Uorg->rawlen) != 0)
			exit(1);
		cert_from_buf(&sec, &b);
		buf_release(&b);
		ok(pgp_cert_drop_secret(&out, &sec.c, &n, &err) ==
		    PGPS_EFORMAT && out.len == 0 && n == 0,
		    "a secret primary key is refused (%s)", err.msg);
		buf_release(&out);
		cert_free(&sec);
	}
}

/* n versions of alice, version i with its own certification of Uorg. */
static void
test_many_versions(void)
{
	const size_t n = 20000;
	struct pgp_cert_merge_report rep;
	const struct pgp_cert **v;
	struct cert *c;
	struct buf out = BUF_INIT;
	struct cert m;
	double t;

	v = calloc(n, sizeof(*v));
	c = calloc(n, sizeof(*c));
	if (v == NULL || c == NULL)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		struct buf b = BUF_INIT;

		if (buf_add(&b, alice.bytes.p, Uorg->raw + Uorg->rawlen +
		    S0->rawlen - alice.bytes.p) != 0)
			exit(1);
		add_fake_cert(&b, 1720000000u + (uint32_t)i);
		if (buf_add(&b, K1->raw, K1->rawlen) != 0 ||
		    buf_add(&b, B1->raw, B1->rawlen) != 0)
			exit(1);
		cert_from_buf(&c[i], &b);
		buf_release(&b);
		v[i] = &c[i].c;
	}
	t = now();
	ok(pgp_cert_merge_many(&out, v, n, &rep, NULL) == 0 &&
	    rep.new_versions == n - 1 && rep.new_sigs == n - 1,
	    "20,000 versions merge in one pass");
	diag("merge_many of %zu versions: %.3f s", n, now() - t);
	cert_from_buf(&m, &out);
	ok(m.c.npkts == 5 + n && same_pkt(&m.c.pkts[3], &c[0].c.pkts[3]) &&
	    same_pkt(&m.c.pkts[2 + n], &c[n - 1].c.pkts[3]) &&
	    same_pkt(&m.c.pkts[3 + n], K1),
	    "every certification once, in input order, under Uorg");
	cert_free(&m);
	for (size_t i = 0; i < n; i++)
		cert_free(&c[i]);
	free(c);
	free(v);
	buf_release(&out);
}

/* What SKS stores: its key grammar (KeyMerge.key_to_pkey). */
static void
test_sks_acceptable(void)
{
	const struct pgp_packet *late[] = { P, Uorg, S0, K1, B1, Unet, Snet };
	const struct pgp_packet *direct[] = { P, R20, Uorg, S0, K1, B1, K2,
	    B2 };
	const struct pgp_packet *nouids[] = { P, K1, B1 };
	struct cert x, s;
	struct buf b = BUF_INIT;

	ok(pgp_cert_sks_acceptable(&alice.c) &&
	    pgp_cert_sks_acceptable(&later.c) &&
	    pgp_cert_sks_acceptable(&revoked.c) &&
	    pgp_cert_sks_acceptable(&hagrid.c) &&
	    pgp_cert_sks_acceptable(&nouid.c), "gpg's certificates");
	cert_build(&x, direct, PGPS_ARRAY_SIZE(direct));
	ok(pgp_cert_sks_acceptable(&x.c), "a direct signature, two subkeys");
	cert_free(&x);
	cert_build(&x, nouids, PGPS_ARRAY_SIZE(nouids));
	ok(pgp_cert_sks_acceptable(&x.c), "no user ID");
	cert_free(&x);
	cert_build(&x, late, PGPS_ARRAY_SIZE(late));
	ok(!pgp_cert_sks_acceptable(&x.c), "a user ID after a subkey");
	cert_free(&x);

	/* alice with a trust packet after each packet: SKS never sees them. */
	for (size_t i = 0; i < alice.c.npkts; i++)
		if (buf_add(&b, alice.c.pkts[i].raw,
		    alice.c.pkts[i].rawlen) != 0 ||
		    buf_add(&b, "\xb0\x02\x00\x00", 4) != 0)
			exit(1);
	cert_from_buf(&x, &b);
	ok(pgp_cert_sks_acceptable(&x.c), "trust packets aside");
	cert_free(&x);
	/* ... but a marker packet is refused. */
	if (buf_add(&b, alice.bytes.p, alice.bytes.len) != 0 ||
	    buf_add(&b, "\xa8\x03PGP", 5) != 0)
		exit(1);
	cert_from_buf(&x, &b);
	ok(x.c.npkts == 6 && !pgp_cert_sks_acceptable(&x.c),
	    "a marker packet");
	cert_free(&x);
	buf_release(&b);

	make_secret_sub(&s, true);
	ok(!pgp_cert_sks_acceptable(&s.c), "a secret subkey");
	cert_free(&s);

	/* The primary key with version 5 and 6 (the body's first octet). */
	for (uint8_t v = 5; v <= 6; v++) {
		struct pgp_cert c = PGP_CERT_INIT;

		c.has_primary = true;
		c.primary.version = v;
		c.pkts = alice.c.pkts;
		c.npkts = alice.c.npkts;
		ok(!pgp_cert_sks_acceptable(&c), "a v%u key", v);
	}
	{
		struct pgp_cert c = alice.c;

		c.primary.version = 3;
		ok(!pgp_cert_sks_acceptable(&c), "a v3 key with a subkey");
		c.npkts = 3;
		ok(pgp_cert_sks_acceptable(&c), "a v3 key with a user ID");
		c.has_primary = false;
		c.flags = PGP_CERT_BARE_REVOCATION;
		ok(!pgp_cert_sks_acceptable(&c), "a bare revocation");
	}
}

int
main(int argc, char **argv)
{
	(void)argc;
	data_dir_set(argv[0]);
	load_all();
	test_components();
	test_merge_self();
	test_merge_update();
	test_merge_uidless();
	test_merge_dups();
	test_merge_framing();
	test_diff();
	test_diff_uat();
	test_diff_expiry_order();
	test_filter();
	test_filter_sizes();
	test_flood_speed();
	test_canonical();
	test_secret_parts();
	test_many_versions();
	test_sks_acceptable();
	cert_free(&alice);
	cert_free(&later);
	cert_free(&revoked);
	cert_free(&hagrid);
	cert_free(&nouid);
	cert_free(&bob);
	return done_testing();
}
