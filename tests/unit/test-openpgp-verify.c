/*
 * test-openpgp-verify.c: signature verification (pgp_sig_verify,
 * pgp_cert_subkey_bound).
 *
 * Real signatures: tests/data/trust (RSA, ECDSA P-256/384/521, DSA; see
 * tests/data/mktrust.sh), tests/data/certs (Ed25519, algorithm 22; see
 * mkkeys.sh) and the RFC 9580 sample v6 certificate (Ed25519, algorithm
 * 27, salted).  Every good case is also broken one way or another and
 * must then not verify.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "tap.h"
#include "data.h"

struct loaded {
	uint8_t		*data;
	size_t		 len;
	struct pgp_cert	 c;
};

static void
load_mem(struct loaded *l, uint8_t *data, size_t len, const char *what)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;

	l->data = data;
	l->len = len;
	l->c = c;
	if (pgp_cert_parse(&l->c, l->data, len, 0, &err) != 0) {
		diag("%s: %s", what, err.msg);
		exit(1);
	}
}

static void
load(struct loaded *l, const char *rel)
{
	size_t len;
	uint8_t *p = data_slurp(rel, &len);

	load_mem(l, p, len, rel);
}

static void
unload(struct loaded *l)
{
	pgp_cert_release(&l->c);
	free(l->data);
}

/* Index of the n-th packet with tag (0-based), or exits. */
static size_t
nth(const struct pgp_cert *c, uint8_t tag, int n)
{
	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag == tag && n-- == 0)
			return i;
	diag("no packet with tag %u", tag);
	exit(1);
}

static size_t
nsubkeys(const struct pgp_cert *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npkts; i++)
		n += c->pkts[i].tag == PGP_TAG_PUBLIC_SUBKEY;
	return n;
}

/*
 * pgp_sig_verify() on c's first self-signature: the first signature
 * after its first user ID, or without one the direct-key signature after
 * the primary key.
 */
static enum pgp_verify
self_sig_verify(const struct pgp_cert *c, struct pgps_err *err)
{
	const struct pgp_packet *comp = NULL;
	size_t at = 1;

	for (size_t i = 1; i < c->npkts && comp == NULL; i++)
		if (c->pkts[i].tag == PGP_TAG_USER_ID) {
			comp = &c->pkts[i];
			at = i + 1;
		}
	if (at >= c->npkts || c->pkts[at].tag != PGP_TAG_SIGNATURE) {
		diag("no self-signature where expected");
		exit(1);
	}
	return pgp_sig_verify(c->pkts[at].body, c->pkts[at].bodylen,
	    &c->pkts[0], &c->pkts[0], comp, err);
}

/* Every self-signature and subkey binding of rel verifies. */
static void
all_good(const char *rel, size_t want_subkeys)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct loaded l;
	size_t n;

	load(&l, rel);
	is_int(self_sig_verify(&l.c, &err), PGP_VERIFY_GOOD,
	    "%s: self-signed (%s)", rel, err.msg);
	n = nsubkeys(&l.c);
	is_int(n, want_subkeys, "%s: %zu subkeys", rel, want_subkeys);
	for (size_t i = 0; i < n; i++) {
		pgps_err_clear(&err);
		is_int(pgp_cert_subkey_bound(&l.c,
		    nth(&l.c, PGP_TAG_PUBLIC_SUBKEY, (int)i), false,
		    &err),
		    PGP_VERIFY_GOOD, "%s: subkey %zu bound (%s)", rel, i,
		    err.msg);
	}
	unload(&l);
}

/*
 * A copy of rel with the octet at offset (from the end of packet pkt's
 * body when negative) XORed with x.
 */
static void
load_flipped(struct loaded *l, const char *rel, size_t pkt, long off,
    uint8_t x)
{
	struct loaded o;
	uint8_t *p;
	size_t at;

	load(&o, rel);
	at = (size_t)(o.c.pkts[pkt].body - o.data) + (off < 0 ?
	    o.c.pkts[pkt].bodylen - (size_t)-off : (size_t)off);
	p = malloc(o.len);
	memcpy(p, o.data, o.len);
	p[at] ^= x;
	unload(&o);
	load_mem(l, p, o.len, rel);
}

/* Appends packet p of c to b, with tag instead of its own when not 0. */
static void
put(struct buf *b, const struct pgp_cert *c, size_t pkt, uint8_t tag)
{
	const struct pgp_packet *p = &c->pkts[pkt];

	if (pgp_packet_write_header(b, tag != 0 ? tag : p->tag,
	    p->bodylen) != 0 || buf_add(b, p->body, p->bodylen) != 0)
		exit(1);
}

/* Loads the certificate built in b (which it takes over). */
static void
load_buf(struct loaded *l, struct buf *b, const char *what)
{
	size_t len;
	uint8_t *p = buf_detach(b, &len);

	load_mem(l, p, len, what);
}

/*
 * Offset of the salt in v6 signature body p: version, type, algorithms,
 * hashed area (4-octet length), unhashed area (4-octet length), hash
 * prefix, salt length.
 */
static size_t
v6_salt_at(const struct pgp_packet *p)
{
	size_t at;

	if (p->bodylen < 8 || p->body[0] != 6)
		exit(1);
	at = 8 + load_be32(p->body + 4);
	if (at + 4 > p->bodylen)
		exit(1);
	at += 4 + load_be32(p->body + at) + 2;
	if (at + 1 + p->body[at] > p->bodylen || p->body[at] == 0)
		exit(1);
	return at + 1;
}

static void
test_flipped(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct loaded l;
	size_t sub, salt;

	/* The last octet of the RSA encryption subkey's binding. */
	load(&l, "trust/rsa.pgp");
	sub = nth(&l.c, PGP_TAG_PUBLIC_SUBKEY, 1);
	unload(&l);
	load_flipped(&l, "trust/rsa.pgp", sub + 1, -1, 0x01);
	is_int(pgp_cert_subkey_bound(&l.c, sub, false, &err),
	    PGP_VERIFY_BAD, "RSA binding with a flipped bit: bad (%s)",
	    err.msg);
	unload(&l);

	/* An octet of the ECDSA signing subkey: the binding no longer fits. */
	load(&l, "trust/p256.pgp");
	sub = nth(&l.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	unload(&l);
	load_flipped(&l, "trust/p256.pgp", sub, -5, 0x40);
	pgps_err_clear(&err);
	is_int(pgp_cert_subkey_bound(&l.c, sub, false, &err),
	    PGP_VERIFY_BAD, "ECDSA subkey changed after binding: bad (%s)",
	    err.msg);
	unload(&l);

	/* The last octet of the Ed25519 binding's s (algorithm 22). */
	load(&l, "certs/alice.pgp");
	sub = nth(&l.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	unload(&l);
	load_flipped(&l, "certs/alice.pgp", sub + 1, -1, 0x01);
	pgps_err_clear(&err);
	is_int(pgp_cert_subkey_bound(&l.c, sub, false, &err),
	    PGP_VERIFY_BAD, "Ed25519 binding with a flipped bit: bad (%s)",
	    err.msg);
	unload(&l);

	/* v6: the last octet of the binding (algorithm 27, salted). */
	load(&l, "packets/v6-rfc9580.bin");
	sub = nth(&l.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	unload(&l);
	load_flipped(&l, "packets/v6-rfc9580.bin", sub + 1, -1, 0x01);
	pgps_err_clear(&err);
	is_int(pgp_cert_subkey_bound(&l.c, sub, false, &err),
	    PGP_VERIFY_BAD, "v6 binding with a flipped bit: bad (%s)", err.msg);
	unload(&l);
	/* ... and one octet of its salt */
	load(&l, "packets/v6-rfc9580.bin");
	salt = v6_salt_at(&l.c.pkts[sub + 1]);
	unload(&l);
	load_flipped(&l, "packets/v6-rfc9580.bin", sub + 1, (long)salt, 0x01);
	pgps_err_clear(&err);
	is_int(pgp_cert_subkey_bound(&l.c, sub, false, &err),
	    PGP_VERIFY_BAD, "v6 binding with another salt: bad (%s)", err.msg);
	unload(&l);

	/* The P-384 user ID's self-signature, last octet of s. */
	load_flipped(&l, "trust/p384.pgp", 2, -1, 0x01);
	pgps_err_clear(&err);
	is_int(self_sig_verify(&l.c, &err), PGP_VERIFY_BAD,
	    "ECDSA self-signature with a flipped bit: bad (%s)", err.msg);
	unload(&l);

	/* The user ID itself changed: its self-signature no longer fits. */
	load_flipped(&l, "trust/rsa.pgp", 1, 0, 0x20);
	pgps_err_clear(&err);
	is_int(self_sig_verify(&l.c, &err), PGP_VERIFY_BAD,
	    "RSA user ID changed after signing: bad (%s)", err.msg);
	unload(&l);
}

/*
 * The ECDSA signing subkey of p256 with its binding rebuilt: the hashed
 * part kept, the unhashed area (issuer and the embedded 0x19) replaced by
 * emb (NULL: empty).
 */
static void
load_p256_rebound(struct loaded *l, const uint8_t *emb, size_t emblen)
{
	struct loaded o;
	struct buf b = BUF_INIT, sig = BUF_INIT;
	const struct pgp_packet *bind;
	size_t sub, hashed, unhashed;

	load(&o, "trust/p256.pgp");
	sub = nth(&o.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	bind = &o.c.pkts[sub + 1];
	hashed = 6 + ((size_t)bind->body[4] << 8 | bind->body[5]);
	unhashed = (size_t)bind->body[hashed] << 8 | bind->body[hashed + 1];
	buf_add(&sig, bind->body, hashed);
	if (emb != NULL) {
		/* one subpacket of 1 + emblen octets (< 192): 32, emb */
		buf_addch(&sig, 0);
		buf_addch(&sig, (uint8_t)(emblen + 2));
		buf_addch(&sig, (uint8_t)(emblen + 1));
		buf_addch(&sig, 32);
		buf_add(&sig, emb, emblen);
	} else {
		buf_addch(&sig, 0);
		buf_addch(&sig, 0);
	}
	buf_add(&sig, bind->body + hashed + 2 + unhashed,
	    bind->bodylen - hashed - 2 - unhashed);
	for (size_t i = 0; i <= sub; i++)
		put(&b, &o.c, i, 0);
	pgp_packet_write_header(&b, PGP_TAG_SIGNATURE, sig.len);
	buf_add(&b, sig.p, sig.len);
	buf_release(&sig);
	unload(&o);
	load_buf(l, &b, "p256 rebound");
}

/* The embedded 0x19 of the p256 signing subkey's binding. */
static uint8_t *
p256_backsig(size_t *len)
{
	struct loaded o;
	const struct pgp_packet *bind;
	size_t sub, hashed, at;
	uint8_t *p;

	load(&o, "trust/p256.pgp");
	sub = nth(&o.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	bind = &o.c.pkts[sub + 1];
	hashed = 6 + ((size_t)bind->body[4] << 8 | bind->body[5]);
	/* one-octet subpacket lengths: gpg writes short ones */
	at = hashed + 2;
	while (at + 1 < bind->bodylen && bind->body[at + 1] != 32)
		at += 1 + bind->body[at];
	if (at + 1 >= bind->bodylen || bind->body[at] >= 192) {
		diag("p256: no embedded signature where expected");
		exit(1);
	}
	*len = bind->body[at] - 1u;
	p = malloc(*len);
	memcpy(p, bind->body + at + 2, *len);
	unload(&o);
	return p;
}

static void
test_backsig(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct loaded l;
	uint8_t *emb;
	size_t emblen;

	emb = p256_backsig(&emblen);
	load_p256_rebound(&l, emb, emblen);
	is_int(pgp_cert_subkey_bound(&l.c, nth(&l.c, PGP_TAG_PUBLIC_SUBKEY,
	    0), false, &err), PGP_VERIFY_GOOD,
	    "signing subkey, binding rebuilt with its back-signature: good "
	    "(%s)", err.msg);
	unload(&l);

	load_p256_rebound(&l, NULL, 0);
	pgps_err_clear(&err);
	is_int(pgp_cert_subkey_bound(&l.c, nth(&l.c, PGP_TAG_PUBLIC_SUBKEY,
	    0), false, &err), PGP_VERIFY_BAD,
	    "signing subkey without its back-signature: bad (%s)", err.msg);
	unload(&l);

	emb[emblen - 1] ^= 1;
	load_p256_rebound(&l, emb, emblen);
	pgps_err_clear(&err);
	is_int(pgp_cert_subkey_bound(&l.c, nth(&l.c, PGP_TAG_PUBLIC_SUBKEY,
	    0), false, &err), PGP_VERIFY_BAD,
	    "signing subkey with a broken back-signature: bad (%s)", err.msg);
	unload(&l);
	free(emb);
}

/*
 * The attack of a subkey copied into another certificate: Bob's key with
 * Alice's primary key as a subkey, followed by the binding that Alice's
 * own subkey has.  Nothing of it may verify.
 */
static void
test_moved(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct loaded a, bob, l;
	struct buf b = BUF_INIT;
	size_t sub;

	load(&a, "certs/alice.pgp");
	load(&bob, "certs/bob.pgp");
	for (size_t i = 0; i < bob.c.npkts; i++)
		put(&b, &bob.c, i, 0);
	put(&b, &a.c, 0, PGP_TAG_PUBLIC_SUBKEY);
	put(&b, &a.c, nth(&a.c, PGP_TAG_PUBLIC_SUBKEY, 0) + 1, 0);
	load_buf(&l, &b, "bob with alice as a subkey");
	sub = nth(&l.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	is_int(pgp_cert_subkey_bound(&l.c, sub, false, &err),
	    PGP_VERIFY_BAD, "a primary key copied as a subkey with a foreign "
	    "binding: bad (%s)", err.msg);
	unload(&l);

	for (size_t i = 0; i < bob.c.npkts; i++)
		put(&b, &bob.c, i, 0);
	put(&b, &a.c, 0, PGP_TAG_PUBLIC_SUBKEY);
	load_buf(&l, &b, "bob with alice as an unbound subkey");
	pgps_err_clear(&err);
	is_int(pgp_cert_subkey_bound(&l.c, nth(&l.c, PGP_TAG_PUBLIC_SUBKEY,
	    0), false, &err), PGP_VERIFY_BAD, "an unbound subkey: bad (%s)",
	    err.msg);
	is_int(err.code, PGPS_ENOTFOUND, "... for want of a binding");
	unload(&l);
	unload(&a);
	unload(&bob);
}

static void
test_revocation(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct loaded r, bob;
	const struct pgp_packet *sig;
	bool found = false;

	/* A key revocation of Alice's key, found by type. */
	load(&r, "certs/alice-revoked.pgp");
	load(&bob, "certs/bob.pgp");
	for (size_t i = 1; i < r.c.npkts; i++) {
		struct pgp_sig_info si;

		sig = &r.c.pkts[i];
		if (sig->tag != PGP_TAG_SIGNATURE || pgp_sig_parse(&si,
		    sig->body, sig->bodylen, NULL) != 0 ||
		    si.type != PGP_SIG_KEY_REVOCATION)
			continue;
		found = true;
		is_int(pgp_sig_verify(sig->body, sig->bodylen, &r.c.pkts[0],
		    &r.c.pkts[0], NULL, &err), PGP_VERIFY_GOOD,
		    "a key revocation by its key: good (%s)", err.msg);
		pgps_err_clear(&err);
		is_int(pgp_sig_verify(sig->body, sig->bodylen,
		    &bob.c.pkts[0], &bob.c.pkts[0], NULL, &err),
		    PGP_VERIFY_BAD, "... claimed for another key: bad (%s)",
		    err.msg);
		break;
	}
	ok(found, "alice-revoked.pgp has a key revocation");
	unload(&r);
	unload(&bob);
}

static void
test_unknown(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct loaded l;
	size_t sub;

	/* Hash algorithm 1 (MD5) on the RSA self-signature. */
	load_flipped(&l, "trust/rsa.pgp", 2, 3, 10 ^ 1);
	is_int(self_sig_verify(&l.c, &err), PGP_VERIFY_UNKNOWN,
	    "an MD5 self-signature: not verified (%s)", err.msg);
	unload(&l);

	/* A public-key algorithm we do not know, on key and binding. */
	load(&l, "trust/p384.pgp");
	sub = nth(&l.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	unload(&l);
	load_flipped(&l, "trust/p384.pgp", sub + 1, 2, 19 ^ 100);
	pgps_err_clear(&err);
	is_int(pgp_cert_subkey_bound(&l.c, sub, false, &err),
	    PGP_VERIFY_BAD, "an algorithm 100 binding by an ECDSA key: bad "
	    "(%s)", err.msg);
	unload(&l);

	/* A v6 signature by a v4 key. */
	load_flipped(&l, "trust/p521.pgp", 2, 0, 4 ^ 6);
	pgps_err_clear(&err);
	ok(self_sig_verify(&l.c, &err) != PGP_VERIFY_GOOD,
	    "a v4 signature relabelled v6: not good (%s)", err.msg);
	unload(&l);
}

/*
 * Junk bindings (the real one with its hash prefix changed, refused
 * before any public-key operation) in front of the real one do not use
 * up the signatures tried.
 */
static void
test_junk_bindings(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct loaded o, l;
	struct buf b = BUF_INIT;
	struct pgp_packet junk;
	uint8_t *body;
	size_t sub, pre;

	load(&o, "trust/p256.pgp");
	sub = nth(&o.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	junk = o.c.pkts[sub + 1];
	body = malloc(junk.bodylen);
	memcpy(body, junk.body, junk.bodylen);
	pre = 6 + ((size_t)body[4] << 8 | body[5]);
	pre += 2 + ((size_t)body[pre] << 8 | body[pre + 1]);
	body[pre] ^= 0xff;
	junk.body = body;
	for (size_t i = 0; i <= sub; i++)
		put(&b, &o.c, i, 0);
	for (int i = 0; i < 40; i++)
		if (pgp_packet_write_header(&b, PGP_TAG_SIGNATURE,
		    junk.bodylen) != 0 || buf_add(&b, junk.body,
		    junk.bodylen) != 0)
			exit(1);
	put(&b, &o.c, sub + 1, 0);
	free(body);
	unload(&o);
	load_buf(&l, &b, "p256 with 40 junk bindings");
	is_int(pgp_cert_subkey_bound(&l.c, nth(&l.c, PGP_TAG_PUBLIC_SUBKEY,
	    0), true, &err), PGP_VERIFY_GOOD, "40 junk bindings before the "
	    "real one: bound (%s)", err.msg);
	unload(&l);
}

/* RFC 9580 5.2.3: no v6 signature with MD5, SHA-1 or RIPEMD-160. */
static void
test_v6_weak_hash(void)
{
	static const uint8_t weak[] = { 1, 2, 3 };
	struct pgps_err err = PGPS_ERR_INIT;
	struct loaded l;
	size_t sub;
	uint8_t hash;

	load(&l, "packets/v6-rfc9580.bin");
	sub = nth(&l.c, PGP_TAG_PUBLIC_SUBKEY, 0);
	hash = l.c.pkts[sub + 1].body[3];
	unload(&l);
	for (size_t i = 0; i < sizeof(weak); i++) {
		/* the binding's hash algorithm, offset 3 */
		load_flipped(&l, "packets/v6-rfc9580.bin", sub + 1, 3,
		    hash ^ weak[i]);
		pgps_err_clear(&err);
		is_int(pgp_cert_subkey_bound(&l.c, sub, false, &err),
		    PGP_VERIFY_BAD, "v6 binding with hash algorithm %u: bad "
		    "(%s)", weak[i], err.msg);
		ok(strstr(err.msg, "v6") != NULL && strstr(err.msg,
		    "not allowed") != NULL, "... as not allowed in v6");
		unload(&l);
	}
}

int
main(int argc, char **argv)
{
	(void)argc;
	data_dir_set(argv[0]);
	all_good("trust/rsa.pgp", 2);
	all_good("trust/p256.pgp", 2);
	all_good("trust/p384.pgp", 1);
	all_good("trust/p521.pgp", 1);
	all_good("trust/dsa.pgp", 1);
	all_good("certs/alice.pgp", 1);
	all_good("certs/alice-later.pgp", 2);
	all_good("packets/v6-rfc9580.bin", 1);
	test_flipped();
	test_backsig();
	test_moved();
	test_revocation();
	test_unknown();
	test_junk_bindings();
	test_v6_weak_hash();
	return done_testing();
}
