/*
 * test-keyset-import.c: the trust rules for certificates from strangers
 * (keyset/import.h), rule by rule, with the hostile cases: an attacker's
 * certificate carrying the victim's primary key as a subkey (unbound,
 * with a copied binding, and with a binding the attacker really signed),
 * alone and next to the victim's certificate in either order, in one
 * answer or two; a forged v3 key sharing a key ID; revocations that are
 * not the victim's; secret keys; hashquery answers with hashes nobody
 * asked for.
 *
 * The victim is Alice (tests/data/certs, see mkkeys.sh); the attacker's
 * key is made here, with real Ed25519 signatures, so that its own
 * bindings verify.
 */
#include "util/common.h"

#include <openssl/evp.h>

#include "keyset/import.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "tap.h"
#include "data.h"

struct loaded {
	uint8_t		*data;
	size_t		 len;
	struct pgp_cert	 c;
};

static void
load(struct loaded *l, const char *rel)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;

	l->data = data_slurp(rel, &l->len);
	l->c = c;
	if (pgp_cert_parse(&l->c, l->data, l->len, 0, &err) != 0) {
		diag("%s: %s", rel, err.msg);
		exit(1);
	}
}

static void
unload(struct loaded *l)
{
	pgp_cert_release(&l->c);
	free(l->data);
}

static size_t
nth(const struct pgp_cert *c, uint8_t tag, int n)
{
	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag == tag && n-- == 0)
			return i;
	diag("no packet with tag %u", tag);
	exit(1);
}

static void
put_raw(struct buf *b, uint8_t tag, const uint8_t *body, size_t len)
{
	if (pgp_packet_write_header(b, tag, len) != 0 ||
	    buf_add(b, body, len) != 0)
		exit(1);
}

static void
put(struct buf *b, const struct pgp_cert *c, size_t pkt, uint8_t tag)
{
	put_raw(b, tag != 0 ? tag : c->pkts[pkt].tag, c->pkts[pkt].body,
	    c->pkts[pkt].bodylen);
}

static void
put_all(struct buf *b, const struct loaded *l)
{
	if (buf_add(b, l->data, l->len) != 0)
		exit(1);
}

/* --- the attacker's key ------------------------------------------------ */

static EVP_PKEY *atk;
static uint8_t atk_body[51];	/* v4 EdDSA (22) public key packet body */
static struct pgp_key_info atk_info;

static void
atk_init(void)
{
	static const uint8_t oid[9] = {
		0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01
	};
	uint8_t seed[32];
	size_t publen = 32;

	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(0xa5 ^ i);
	atk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	atk_body[0] = 4;
	store_be32(atk_body + 1, 1704110400u);
	atk_body[5] = 22;
	atk_body[6] = 9;
	memcpy(atk_body + 7, oid, 9);
	atk_body[16] = 0x01;	/* 263 bits: 0x40 then 32 octets */
	atk_body[17] = 0x07;
	atk_body[18] = 0x40;
	if (atk == NULL || EVP_PKEY_get_raw_public_key(atk, atk_body + 19,
	    &publen) != 1 || pgp_key_info_parse(&atk_info, atk_body,
	    sizeof(atk_body), NULL) != 0) {
		diag("cannot make the attacker's key");
		exit(1);
	}
}

static void
put_mpi(struct buf *b, const uint8_t *p, size_t n)
{
	unsigned int bits;

	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	bits = n == 0 ? 0 : 8 * (unsigned int)n - 8;
	for (uint8_t top = n == 0 ? 0 : p[0]; top != 0; top >>= 1)
		bits++;
	buf_addch(b, (uint8_t)(bits >> 8));
	buf_addch(b, (uint8_t)bits);
	buf_add(b, p, n);
}

/* Hashes a key or user ID as v4 signatures do. */
static void
hash_comp(EVP_MD_CTX *md, uint8_t tag, const uint8_t *body, size_t len)
{
	uint8_t pre[5];

	if (tag == PGP_TAG_USER_ID) {
		pre[0] = 0xb4;
		store_be32(pre + 1, (uint32_t)len);
		EVP_DigestUpdate(md, pre, 5);
	} else {
		pre[0] = 0x99;
		pre[1] = (uint8_t)(len >> 8);
		pre[2] = (uint8_t)len;
		EVP_DigestUpdate(md, pre, 3);
	}
	EVP_DigestUpdate(md, body, len);
}

/*
 * Appends a signature packet of type by the attacker over the attacker's
 * primary key and (tag, body, len).
 */
static void
atk_sign(struct buf *out, uint8_t type, uint8_t tag, const uint8_t *body,
    size_t len)
{
	struct buf sig = BUF_INIT;
	EVP_MD_CTX *md = EVP_MD_CTX_new(), *sg = EVP_MD_CTX_new();
	uint8_t hashed[64], digest[32], rs[64], trailer[6];
	size_t n = 0, rslen = sizeof(rs);

	hashed[n++] = 4;
	hashed[n++] = type;
	hashed[n++] = 22;
	hashed[n++] = 8;		/* SHA-256 */
	n += 2;				/* hashed area length, below */
	hashed[n++] = 5;		/* creation time */
	hashed[n++] = 2;
	store_be32(hashed + n, 1704110400u);
	n += 4;
	hashed[n++] = 22;		/* issuer fingerprint */
	hashed[n++] = 33;
	hashed[n++] = 4;
	memcpy(hashed + n, atk_info.fpr, 20);
	n += 20;
	if (type == PGP_SIG_SUBKEY_BINDING) {
		hashed[n++] = 2;	/* key flags: encryption */
		hashed[n++] = 27;
		hashed[n++] = 0x0c;
	}
	hashed[4] = 0;
	hashed[5] = (uint8_t)(n - 6);
	trailer[0] = 4;
	trailer[1] = 0xff;
	store_be32(trailer + 2, (uint32_t)n);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	hash_comp(md, PGP_TAG_PUBLIC_KEY, atk_body, sizeof(atk_body));
	hash_comp(md, tag, body, len);
	EVP_DigestUpdate(md, hashed, n);
	EVP_DigestUpdate(md, trailer, 6);
	EVP_DigestFinal_ex(md, digest, NULL);
	if (EVP_DigestSignInit(sg, NULL, NULL, NULL, atk) != 1 ||
	    EVP_DigestSign(sg, rs, &rslen, digest, 32) != 1) {
		diag("signing failed");
		exit(1);
	}
	buf_add(&sig, hashed, n);
	buf_addch(&sig, 0);		/* no unhashed subpackets */
	buf_addch(&sig, 0);
	buf_add(&sig, digest, 2);
	put_mpi(&sig, rs, 32);
	put_mpi(&sig, rs + 32, 32);
	put_raw(out, PGP_TAG_SIGNATURE, sig.p, sig.len);
	buf_release(&sig);
	EVP_MD_CTX_free(md);
	EVP_MD_CTX_free(sg);
}

enum atk_binding {
	ATK_UNBOUND,		/* the victim's key with no binding at all */
	ATK_COPIED,		/* with the binding of the victim's subkey */
	ATK_SIGNED		/* with a binding the attacker signed */
};

/*
 * The attack of the issue: the attacker's key with a user ID copying the
 * victim's address, and the victim's primary key as a subkey.
 */
static void
atk_cert(struct buf *out, const struct loaded *victim, enum atk_binding how)
{
	static const char uid[] = "Alice <alice@example.org>";
	const struct pgp_packet *vk = &victim->c.pkts[0];

	put_raw(out, PGP_TAG_PUBLIC_KEY, atk_body, sizeof(atk_body));
	put_raw(out, PGP_TAG_USER_ID, (const uint8_t *)uid, strlen(uid));
	atk_sign(out, PGP_SIG_CERT_POSITIVE, PGP_TAG_USER_ID,
	    (const uint8_t *)uid, strlen(uid));
	put(out, &victim->c, 0, PGP_TAG_PUBLIC_SUBKEY);
	if (how == ATK_COPIED)
		put(out, &victim->c, nth(&victim->c, PGP_TAG_PUBLIC_SUBKEY,
		    0) + 1, 0);
	else if (how == ATK_SIGNED)
		atk_sign(out, PGP_SIG_SUBKEY_BINDING, PGP_TAG_PUBLIC_SUBKEY,
		    vk->body, vk->bodylen);
}

/* --- helpers ------------------------------------------------------------ */

static struct loaded alice, alice_rev, bob, p256;
static char alice_fpr[2 * PGP_FPR_MAX + 1], atk_fpr[2 * PGP_FPR_MAX + 1];

static void
query_fpr(struct import_query *q, const struct loaded *l, bool known)
{
	memset(q, 0, sizeof(*q));
	q->kind = IMPORT_BY_FPR;
	memcpy(q->id, l->c.primary.fpr, l->c.primary.fprlen);
	q->idlen = l->c.primary.fprlen;
	q->known_primary = known;
	q->known = known ? &l->c.pkts[0] : NULL;
}

/* One answer through the pipeline: judged, then resolved. */
static size_t
run(struct import_set *s, const struct import_query *q, const struct buf *b)
{
	import_set_add_answer(s, q, b->p, b->len, "hkp://test");
	return import_set_resolve(s, q);
}

static const struct import_item *
item(const struct import_set *s, size_t i)
{
	static struct import_item none;

	if (i >= s->n) {
		none.verdict = IMPORT_REFUSE;
		none.reason = IMPORT_R_OK;
		return &none;
	}
	return &s->items[i];
}

/* --- rules ------------------------------------------------------------- */

static void
test_primary(void)
{
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct buf b = BUF_INIT;

	query_fpr(&q, &alice, true);
	put_all(&b, &alice);
	put_all(&b, &bob);
	is_int(run(&s, &q, &b), 1, "rule 3: one of two certificates taken");
	is_int(item(&s, 0)->verdict, IMPORT_ACCEPT, "the primary match");
	is_int(item(&s, 0)->match, IMPORT_MATCH_PRIMARY, "... as primary");
	is_str(item(&s, 0)->fpr, alice_fpr, "... Alice's");
	is_int(item(&s, 0)->data.len, alice.len, "... all of it");
	is_int(item(&s, 1)->reason, IMPORT_R_OTHER_KEY, "Bob's: another key");
	is_str(import_set_primary(&s), alice_fpr, "the key is Alice's");
	import_set_release(&s);
	buf_release(&b);
}

/* The attacker alone, for a key we hold and for one named by the user. */
static void
test_attacker_alone(void)
{
	static const char *const names[] = { "unbound", "copied binding",
	    "attacker-signed binding, encryption flags" };
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct buf b = BUF_INIT;

	for (int how = ATK_UNBOUND; how <= ATK_SIGNED; how++) {
		atk_cert(&b, &alice, (enum atk_binding)how);
		query_fpr(&q, &alice, true);
		is_int(run(&s, &q, &b), 0, "victim's key held, attacker's "
		    "cert (%s): nothing taken", names[how]);
		is_int(item(&s, 0)->reason, IMPORT_R_NOT_PRIMARY,
		    "... not a primary match (%s)", item(&s, 0)->why);
		is_str(item(&s, 0)->fpr, atk_fpr, "... the attacker's key "
		    "is named");
		import_set_release(&s);

		/*
		 * A binding the attacker signed verifies, but without a
		 * back-signature by the victim's key it proves nothing.
		 */
		query_fpr(&q, &alice, false);
		is_int(run(&s, &q, &b), 0, "lookup by subkey, %s: "
		    "nothing taken", names[how]);
		is_int(item(&s, 0)->reason, IMPORT_R_UNBOUND,
		    "... not bound (%s)", item(&s, 0)->why);
		import_set_release(&s);
		buf_reset(&b);
	}
	buf_release(&b);
}

/* Rule 5: both certificates, in one answer either way round, or in two. */
static void
test_primary_wins(void)
{
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct buf b = BUF_INIT, a = BUF_INIT;

	for (int known = 0; known < 2; known++)
		for (int order = 0; order < 2; order++) {
			query_fpr(&q, &alice, known);
			if (order == 0)
				put_all(&b, &alice_rev);
			atk_cert(&b, &alice, ATK_SIGNED);
			if (order == 1)
				put_all(&b, &alice_rev);
			is_int(run(&s, &q, &b), 1, "victim and attacker "
			    "(%s first, key %s): one taken", order == 0 ?
			    "victim" : "attacker", known ? "held" :
			    "not held");
			is_str(import_set_primary(&s), alice_fpr,
			    "... the victim's");
			is_int(item(&s, order == 0 ? 0 : 1)->data.len,
			    alice_rev.len, "... with its revocation");
			is_int(item(&s, order == 0 ? 1 : 0)->reason,
			    known ? IMPORT_R_NOT_PRIMARY : IMPORT_R_UNBOUND,
			    "... the attacker's refused: %s",
			    item(&s, order == 0 ? 1 : 0)->why);
			import_set_release(&s);
			buf_reset(&b);
		}

	/* In two answers: the attacker's server first. */
	query_fpr(&q, &alice, false);
	atk_cert(&a, &alice, ATK_SIGNED);
	put_all(&b, &alice_rev);
	import_set_add_answer(&s, &q, a.p, a.len, "hkp://evil");
	import_set_add_answer(&s, &q, b.p, b.len, "hkp://good");
	is_int(import_set_resolve(&s, &q), 1, "two answers: one taken");
	is_str(import_set_primary(&s), alice_fpr, "... the victim's");
	is_int(item(&s, 0)->reason, IMPORT_R_UNBOUND,
	    "... the attacker's refused (%s)", item(&s, 0)->why);
	is_str(item(&s, 0)->source, "hkp://evil", "... and its source "
	    "named");
	import_set_release(&s);
	buf_release(&a);
	buf_release(&b);
}

/* A legitimate lookup by subkey: Alice's encryption subkey. */
/* A lookup of the fingerprint of subkey n of l. */
static void
query_subkey(struct import_query *q, const struct loaded *l, int n)
{
	const struct pgp_packet *p = &l->c.pkts[nth(&l->c,
	    PGP_TAG_PUBLIC_SUBKEY, n)];
	struct pgp_key_info ki;

	if (pgp_key_info_parse(&ki, p->body, p->bodylen, NULL) != 0)
		exit(1);
	memset(q, 0, sizeof(*q));
	q->kind = IMPORT_BY_FPR;
	memcpy(q->id, ki.fpr, ki.fprlen);
	q->idlen = ki.fprlen;
}

static void
test_subkey_lookup(void)
{
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct buf b = BUF_INIT;
	char fpr[2 * PGP_FPR_MAX + 1];
	const struct pgp_packet *p = &p256.c.pkts[nth(&p256.c,
	    PGP_TAG_PUBLIC_SUBKEY, 0)];

	pgp_key_fpr_hex(fpr, &p256.c.primary);
	query_subkey(&q, &p256, 0);
	put_all(&b, &p256);
	is_int(run(&s, &q, &b), 1, "rule 4: a signing subkey bound with "
	    "its back-signature answers a lookup by subkey");
	is_int(item(&s, 0)->match, IMPORT_MATCH_SUBKEY, "... as a subkey");
	is_str(import_set_primary(&s), fpr, "... its certificate");
	import_set_release(&s);

	/*
	 * The attacker binds the same (signing-capable) subkey to their own
	 * key, with encryption flags: the binding verifies, but the subkey
	 * never signed the attacker's key back.
	 */
	put_raw(&b, PGP_TAG_PUBLIC_KEY, atk_body, sizeof(atk_body));
	put_raw(&b, PGP_TAG_PUBLIC_SUBKEY, p->body, p->bodylen);
	atk_sign(&b, PGP_SIG_SUBKEY_BINDING, PGP_TAG_PUBLIC_SUBKEY, p->body,
	    p->bodylen);
	is_int(run(&s, &q, &b), 1, "the same subkey also bound by another "
	    "key without a back-signature: only the real one taken");
	is_str(import_set_primary(&s), fpr, "... the real one");
	is_int(item(&s, 1)->reason, IMPORT_R_UNBOUND, "... the other "
	    "refused as not bound (%s)", item(&s, 1)->why);
	import_set_release(&s);
	buf_reset(&b);

	/* The attacker's certificate alone. */
	put_raw(&b, PGP_TAG_PUBLIC_KEY, atk_body, sizeof(atk_body));
	put_raw(&b, PGP_TAG_PUBLIC_SUBKEY, p->body, p->bodylen);
	atk_sign(&b, PGP_SIG_SUBKEY_BINDING, PGP_TAG_PUBLIC_SUBKEY, p->body,
	    p->bodylen);
	is_int(run(&s, &q, &b), 0, "alone: nothing taken");
	is_int(item(&s, 0)->reason, IMPORT_R_UNBOUND, "... not bound");
	import_set_release(&s);
	buf_reset(&b);

	/* Encryption-only subkeys cannot sign back: never by subkey. */
	query_subkey(&q, &p256, 1);
	put_all(&b, &p256);
	is_int(run(&s, &q, &b), 0, "an ECDH subkey, validly bound: not "
	    "taken by subkey");
	is_int(item(&s, 0)->reason, IMPORT_R_UNBOUND, "... as not bound "
	    "(%s)", item(&s, 0)->why);
	import_set_release(&s);
	buf_reset(&b);

	query_subkey(&q, &alice, 0);
	put_all(&b, &alice);
	is_int(run(&s, &q, &b), 0, "Alice's encryption subkey: not taken "
	    "by subkey");
	is_int(item(&s, 0)->reason, IMPORT_R_UNBOUND, "... as not bound "
	    "(%s)", item(&s, 0)->why);
	import_set_release(&s);
	buf_release(&b);
}

/* Rule 6: a v3 RSA key forged to have Alice's key ID. */
static void
test_v3_key_id(void)
{
	static const char uid[] = "Alice <alice@example.org>";
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct pgp_key_info ki;
	struct buf b = BUF_INIT, k = BUF_INIT;
	uint8_t n[128];

	for (size_t i = 0; i < sizeof(n); i++)
		n[i] = (uint8_t)(0xc3 + 7 * i);
	memcpy(n + sizeof(n) - 8, alice.c.primary.keyid, 8);
	buf_addch(&k, 3);
	buf_add_be32(&k, 1704110400u);
	buf_addch(&k, 0);		/* validity */
	buf_addch(&k, 0);
	buf_addch(&k, 1);		/* RSA */
	put_mpi(&k, n, sizeof(n));
	put_mpi(&k, (const uint8_t *)"\x01\x00\x01", 3);
	pgp_key_info_parse(&ki, k.p, k.len, NULL);
	is_mem(ki.keyid, alice.c.primary.keyid, 8, "the forged v3 key has "
	    "Alice's key ID");
	put_raw(&b, PGP_TAG_PUBLIC_KEY, k.p, k.len);
	put_raw(&b, PGP_TAG_USER_ID, (const uint8_t *)uid, strlen(uid));

	memset(&q, 0, sizeof(q));
	q.kind = IMPORT_BY_KEY_ID;
	memcpy(q.id, alice.c.primary.keyid, 8);
	q.idlen = 8;
	is_int(run(&s, &q, &b), 0, "rule 6: a forged v3 key for a key-ID "
	    "lookup: not taken");
	is_int(item(&s, 0)->reason, IMPORT_R_V3_KEY_ID, "... as a v3 key");
	import_set_release(&s);

	put_all(&b, &alice);
	is_int(run(&s, &q, &b), 1, "with Alice's certificate: one taken");
	is_str(import_set_primary(&s), alice_fpr, "... Alice's, not "
	    "ambiguous");
	import_set_release(&s);
	buf_release(&b);
	buf_release(&k);
}

static void
test_email(void)
{
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct buf b = BUF_INIT;

	memset(&q, 0, sizeof(q));
	q.kind = IMPORT_BY_EMAIL;
	q.email = "ALICE@example.org";
	put_all(&b, &bob);
	put_all(&b, &alice);
	is_int(run(&s, &q, &b), 1, "rule 7: the certificate with the "
	    "address (any case)");
	is_str(import_set_primary(&s), alice_fpr, "... Alice's");
	is_int(item(&s, 0)->reason, IMPORT_R_OTHER_KEY, "... not Bob's");
	import_set_release(&s);

	atk_cert(&b, &alice, ATK_UNBOUND);
	is_int(run(&s, &q, &b), 0, "two keys claim the address: none taken");
	is_int(item(&s, 1)->reason, IMPORT_R_AMBIGUOUS, "... ambiguous");
	import_set_release(&s);
	buf_release(&b);
}

/* Rule 8: Alice's key revocation alone, as Hockeypuck serves it. */
static void
test_bare_revocation(void)
{
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct buf b = BUF_INIT;
	struct pgp_sig_info si;
	size_t rev = 0;

	for (size_t i = 1; i < alice_rev.c.npkts; i++)
		if (alice_rev.c.pkts[i].tag == PGP_TAG_SIGNATURE &&
		    pgp_sig_parse(&si, alice_rev.c.pkts[i].body,
		    alice_rev.c.pkts[i].bodylen, NULL) == 0 &&
		    si.type == PGP_SIG_KEY_REVOCATION)
			rev = i;
	put(&b, &alice_rev.c, rev, 0);

	query_fpr(&q, &alice, true);
	is_int(run(&s, &q, &b), 1, "rule 8: the key's own revocation");
	is_int(item(&s, 0)->verdict, IMPORT_MERGE, "... merged");
	import_set_release(&s);

	query_fpr(&q, &alice, false);
	is_int(run(&s, &q, &b), 0, "... not for a key we do not hold");
	is_int(item(&s, 0)->reason, IMPORT_R_REVOCATION, "... (%s)",
	    item(&s, 0)->why);
	import_set_release(&s);

	query_fpr(&q, &bob, true);
	is_int(run(&s, &q, &b), 0, "... not for another key");
	import_set_release(&s);

	memset(&q, 0, sizeof(q));
	q.kind = IMPORT_BY_KEY_ID;
	memcpy(q.id, alice.c.primary.keyid, 8);
	q.idlen = 8;
	is_int(run(&s, &q, &b), 0, "... not for a key-ID lookup");
	import_set_release(&s);

	/* The revocation with one bit of its signature changed. */
	b.p[b.len - 1] ^= 1;
	query_fpr(&q, &alice, true);
	is_int(run(&s, &q, &b), 0, "a forged revocation: refused");
	is_int(item(&s, 0)->reason, IMPORT_R_REVOCATION, "... (%s)",
	    item(&s, 0)->why);
	import_set_release(&s);
	buf_release(&b);
}

static void
test_secret(void)
{
	struct import_set s = IMPORT_SET_INIT;
	struct import_query q;
	struct buf b = BUF_INIT;
	struct loaded sec, dana;
	struct pgp_cert c = PGP_CERT_INIT;
	bool has7 = false;

	load(&sec, "packets/secret-key.bin");
	query_fpr(&q, &sec, false);
	put_all(&b, &sec);
	is_int(run(&s, &q, &b), 0, "rule 2: a secret key is not taken");
	is_int(item(&s, 0)->reason, IMPORT_R_SECRET, "... as secret");
	import_set_release(&s);
	buf_reset(&b);

	/* Alice's certificate with Dana's secret subkey appended. */
	put_all(&b, &alice);
	put(&b, &sec.c, nth(&sec.c, PGP_TAG_SECRET_SUBKEY, 0), 0);
	put(&b, &sec.c, nth(&sec.c, PGP_TAG_SECRET_SUBKEY, 0) + 1, 0);
	query_fpr(&q, &alice, true);
	is_int(run(&s, &q, &b), 1, "a public certificate with a secret "
	    "subkey: taken");
	is_int(item(&s, 0)->data.len, alice.len, "... without the secret "
	    "subkey and its binding (%s)", item(&s, 0)->why);
	if (pgp_cert_parse(&c, item(&s, 0)->data.p, item(&s, 0)->data.len,
	    0, NULL) == 0)
		for (size_t i = 0; i < c.npkts; i++)
			has7 |= c.pkts[i].tag == PGP_TAG_SECRET_SUBKEY;
	ok(!has7, "... no tag 7 left");
	pgp_cert_release(&c);
	import_set_release(&s);
	buf_reset(&b);

	/* Trust packets around the secret subkey: none of it is taken. */
	put_all(&b, &alice);
	buf_add(&b, "\260\002\006\000", 4);
	put(&b, &sec.c, nth(&sec.c, PGP_TAG_SECRET_SUBKEY, 0), 0);
	buf_add(&b, "\260\002\006\000", 4);
	put(&b, &sec.c, nth(&sec.c, PGP_TAG_SECRET_SUBKEY, 0) + 1, 0);
	is_int(run(&s, &q, &b), 1, "a secret subkey between trust packets: "
	    "the certificate taken");
	is_int(item(&s, 0)->data.len, alice.len, "... without the secret "
	    "subkey, its binding or the trust packets (%s)",
	    item(&s, 0)->why);
	ok(strstr(item(&s, 0)->why, "1 secret key") != NULL, "... and says "
	    "so (%s)", item(&s, 0)->why);
	import_set_release(&s);
	buf_release(&b);
	(void)dana;
	unload(&sec);
}

/* Rule 10. */
struct want {
	uint8_t	 hash[16];
	bool	 got;
};

static bool
want_fn(const uint8_t hash[16], const struct pgp_cert *c, void *arg)
{
	struct want *w = arg;

	(void)c;
	if (w->got || memcmp(hash, w->hash, 16) != 0)
		return false;
	w->got = true;
	return true;
}

static void
test_hashquery(void)
{
	struct digest *md5 = digest_new(DIGEST_MD5);
	struct pgp_cert c = PGP_CERT_INIT;
	struct import_item it;
	struct want w;
	struct loaded sec;

	memset(&w, 0, sizeof(w));
	pgp_cert_sks_hash(&alice.c, md5, w.hash);
	is_int(import_hashquery(&it, &c, bob.data, bob.len, md5, want_fn,
	    &w), IMPORT_REFUSE, "rule 10: a hash not asked for: refused");
	is_int(it.reason, IMPORT_R_NOT_ASKED, "... as not asked");
	is_int(import_hashquery(&it, &c, alice.data, alice.len, md5, want_fn,
	    &w), IMPORT_ACCEPT, "the hash asked for: taken");
	is_mem(it.hash, w.hash, 16, "... its hash computed");
	is_int(import_hashquery(&it, &c, alice.data, alice.len, md5, want_fn,
	    &w), IMPORT_REFUSE, "the same again: refused");
	is_int(import_hashquery(&it, &c, alice.data, alice.len - 3, md5,
	    want_fn, &w), IMPORT_REFUSE, "a truncated certificate: refused");
	is_int(it.reason, IMPORT_R_UNREADABLE, "... as unreadable");
	load(&sec, "packets/secret-key.bin");
	w.got = false;
	pgp_cert_sks_hash(&sec.c, md5, w.hash);
	is_int(import_hashquery(&it, &c, sec.data, sec.len, md5, want_fn,
	    &w), IMPORT_REFUSE, "a secret key, even if asked for: refused");
	is_int(it.reason, IMPORT_R_SECRET, "... as secret");
	unload(&sec);
	pgp_cert_release(&c);
	digest_free(md5);
}

int
main(int argc, char **argv)
{
	struct pgp_key_info *k;

	(void)argc;
	data_dir_set(argv[0]);
	atk_init();
	load(&alice, "certs/alice.pgp");
	load(&alice_rev, "certs/alice-revoked.pgp");
	load(&bob, "certs/bob.pgp");
	load(&p256, "trust/p256.pgp");
	k = &alice.c.primary;
	pgp_key_fpr_hex(alice_fpr, k);
	pgp_key_fpr_hex(atk_fpr, &atk_info);

	test_primary();
	test_attacker_alone();
	test_primary_wins();
	test_subkey_lookup();
	test_v3_key_id();
	test_email();
	test_bare_revocation();
	test_secret();
	test_hashquery();

	unload(&alice);
	unload(&alice_rev);
	unload(&bob);
	unload(&p256);
	EVP_PKEY_free(atk);
	return done_testing();
}
