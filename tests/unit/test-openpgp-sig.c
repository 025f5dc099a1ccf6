/*
 * test-openpgp-sig.c: signature parsing (pgp_sig_parse, pgp_sig_is_by).
 *
 * Real signatures come from the gpg-made certificates in tests/data/certs
 * (see tests/data/mkkeys.sh for what each holds and when it was made) and
 * the RFC 9580 sample v6 certificate; hand-built ones cover the versions and
 * length encodings gpg does not write, and every way a signature can be cut
 * short or lie about its lengths.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "tap.h"
#include "data.h"

struct loaded {
	uint8_t		*data;
	struct pgp_cert	 c;
};

static void
load(struct loaded *l, const char *rel)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;
	size_t len;

	l->data = data_slurp(rel, &len);
	l->c = c;
	if (pgp_cert_parse(&l->c, l->data, len, 0, &err) != 0) {
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

/* The n-th signature packet of c (0-based). */
static const struct pgp_packet *
nth_sig(const struct pgp_cert *c, int n)
{
	for (size_t i = 0; i < c->npkts; i++)
		if (c->pkts[i].tag == PGP_TAG_SIGNATURE && n-- == 0)
			return &c->pkts[i];
	diag("no signature %d", n);
	exit(1);
}

static int
parse(struct pgp_sig_info *si, const struct pgp_packet *p)
{
	return pgp_sig_parse(si, p->body, p->bodylen, NULL);
}

#define T0	1704110400u	/* 2024-01-01 12:00 UTC */
#define T1	1717243200u	/* 2024-06-01 12:00 */
#define T1B	1717329600u	/* 2024-06-02 12:00 */
#define T2	1725192000u	/* 2024-09-01 12:00 */
#define T2B	1725195600u	/* 2024-09-01 13:00 */
#define DAY	86400u

static void
test_gpg_sigs(void)
{
	struct loaded alice, later, revoked, bob;
	struct pgp_sig_info si;
	const struct pgp_key_info *ka, *kb;

	load(&alice, "certs/alice.pgp");
	load(&later, "certs/alice-later.pgp");
	load(&revoked, "certs/alice-revoked.pgp");
	load(&bob, "certs/bob.pgp");
	ka = &alice.c.primary;
	kb = &bob.c.primary;

	is_int(parse(&si, nth_sig(&bob.c, 0)), 0, "bob's self-sig parses");
	ok(!si.has_key_expiry && pgp_sig_is_by(&si, kb),
	    "a key that never expires has no key expiry subpacket");

	/* alice.pgp: UID self-signature, then the subkey binding. */
	is_int(parse(&si, nth_sig(&alice.c, 0)), 0, "UID self-sig parses");
	is_int(si.version, 4, "self-sig is v4");
	is_int(si.type, PGP_SIG_CERT_POSITIVE, "self-sig is positive (0x13)");
	is_int(si.pubalgo, 22, "EdDSA");
	is_int(si.hashalgo, 8, "SHA-256");
	ok(si.has_created && si.created == T0, "created at T0");
	ok(si.has_key_expiry && si.key_expiry == 3650 * DAY,
	    "key expires 10y (3650 days) after creation");
	ok(!si.has_sig_expiry && !si.has_reason, "no sig expiry, no reason");
	ok(si.has_issuer && memcmp(si.issuer, ka->keyid, 8) == 0,
	    "issuer key ID is alice's");
	ok(si.issuer_fprlen == 20 && memcmp(si.issuer_fpr, ka->fpr, 20) == 0,
	    "issuer fingerprint is alice's");
	ok(pgp_sig_is_by(&si, ka), "self-sig is by alice");
	ok(!pgp_sig_is_by(&si, kb), "self-sig is not by bob");

	is_int(parse(&si, nth_sig(&alice.c, 1)), 0, "subkey binding parses");
	is_int(si.type, PGP_SIG_SUBKEY_BINDING, "binding is 0x18");
	ok(si.has_key_expiry && si.key_expiry == 3650 * DAY,
	    "subkey expires after 10y");

	/*
	 * alice-later: the net UID's self-sig, the org UID's new self-sig,
	 * bob's certification, the old subkey binding, the new binding.
	 */
	is_int(parse(&si, nth_sig(&later.c, 1)), 0, "extended self-sig");
	ok(si.created == T1B, "made at T1B");
	/* 20y (7300 days) from T1B, counted from the key's creation. */
	ok(si.has_key_expiry && si.key_expiry == (T1B - T0) + 7300 * DAY,
	    "key expiry moved to T1B + 20y");
	is_int(parse(&si, nth_sig(&later.c, 2)), 0, "bob's certification");
	is_int(si.type, PGP_SIG_CERT_GENERIC, "certification is 0x10");
	ok(si.created == T1, "certified at T1");
	ok(pgp_sig_is_by(&si, kb) && !pgp_sig_is_by(&si, ka),
	    "certification is by bob, not by alice");
	ok(memcmp(si.issuer, kb->keyid, 8) == 0, "issuer key ID is bob's");
	is_int(parse(&si, nth_sig(&later.c, 4)), 0,
	    "binding with embedded back-signature parses");
	/* A subkey's expiry counts from the subkey's own creation (T1). */
	ok(si.type == PGP_SIG_SUBKEY_BINDING && si.has_key_expiry &&
	    si.key_expiry == 5475 * DAY, "signing subkey expires after 15y");

	/* alice-revoked: key revocation first, then UID and subkey ones. */
	is_int(parse(&si, nth_sig(&revoked.c, 0)), 0, "key revocation");
	ok(si.type == PGP_SIG_KEY_REVOCATION && si.has_reason &&
	    si.reason == 3 && si.created == T2B,
	    "0x20, reason 3 (no longer used), at T2B");
	ok(pgp_sig_is_by(&si, ka), "key revocation is by alice");
	is_int(parse(&si, nth_sig(&revoked.c, 3)), 0, "UID revocation");
	ok(si.type == PGP_SIG_CERT_REVOCATION && si.has_reason &&
	    si.reason == 32 && si.created == T2,
	    "0x30, reason 32 (user ID no longer valid), at T2");
	is_int(parse(&si, nth_sig(&revoked.c, 6)), 0, "subkey revocation");
	ok(si.type == PGP_SIG_SUBKEY_REVOCATION && si.has_reason &&
	    si.reason == 0, "0x28, reason 0");

	unload(&alice);
	unload(&later);
	unload(&revoked);
	unload(&bob);
}

static void
test_v6_sample(void)
{
	struct loaded v6;
	struct pgp_sig_info si;
	struct pgp_key_info other;

	load(&v6, "packets/v6-rfc9580.bin");
	is_int(v6.c.primary.version, 6, "RFC 9580 sample key is v6");
	is_int(parse(&si, nth_sig(&v6.c, 0)), 0, "v6 direct-key sig parses");
	is_int(si.version, 6, "signature version 6");
	is_int(si.type, PGP_SIG_DIRECT_KEY, "direct-key signature (0x1f)");
	is_int(si.pubalgo, 27, "Ed25519 (27)");
	ok(si.has_created && si.created == 0x63877fe3, "created 2022-11-30");
	ok(si.issuer_fprlen == 32 &&
	    memcmp(si.issuer_fpr, v6.c.primary.fpr, 32) == 0,
	    "v6 issuer fingerprint (32 octets)");
	ok(si.has_issuer && memcmp(si.issuer, v6.c.primary.fpr, 8) == 0,
	    "v6 key ID derived from the fingerprint's first 8 octets");
	ok(pgp_sig_is_by(&si, &v6.c.primary), "is by the v6 primary");
	other = v6.c.primary;
	other.fpr[31] ^= 1;
	ok(!pgp_sig_is_by(&si, &other),
	    "a fingerprint differing in its last octet does not match");
	is_int(parse(&si, nth_sig(&v6.c, 1)), 0, "v6 subkey binding parses");
	is_int(si.type, PGP_SIG_SUBKEY_BINDING, "0x18");
	unload(&v6);
}

/* --- hand-built signatures ------------------------------------------- */

struct sb {
	uint8_t	p[70000 + 1024];
	size_t	n;
};

static void
put(struct sb *b, const void *p, size_t n)
{
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void
put8(struct sb *b, unsigned v)
{
	b->p[b->n++] = (uint8_t)v;
}

static void
put16(struct sb *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void
put32(struct sb *b, uint32_t v)
{
	put8(b, v >> 24);
	put8(b, v >> 16);
	put8(b, v >> 8);
	put8(b, v);
}

/* A subpacket with the shortest length encoding (RFC 9580 5.2.3.7). */
static void
subpkt(struct sb *b, unsigned type, const void *data, size_t n)
{
	size_t len = n + 1;

	if (len < 192) {
		put8(b, (unsigned)len);
	} else if (len < 16320) {
		put8(b, (unsigned)(((len - 192) >> 8) + 192));
		put8(b, (unsigned)((len - 192) & 0xff));
	} else {
		put8(b, 255);
		put32(b, (uint32_t)len);
	}
	put8(b, type);
	put(b, data, n);
}

static void
subpkt32(struct sb *b, unsigned type, uint32_t v)
{
	uint8_t d[4] = { v >> 24, v >> 16, v >> 8, v };

	subpkt(b, type, d, 4);
}

/* v4/v5 (two-octet counts) or v6 (four-octet counts and a salt). */
static void
sig_build(struct sb *out, unsigned version, unsigned type,
    const struct sb *hashed, const struct sb *unhashed)
{
	out->n = 0;
	put8(out, version);
	put8(out, type);
	put8(out, 22);
	put8(out, 8);
	if (version == 6)
		put32(out, (uint32_t)hashed->n);
	else
		put16(out, (unsigned)hashed->n);
	put(out, hashed->p, hashed->n);
	if (version == 6)
		put32(out, (uint32_t)unhashed->n);
	else
		put16(out, (unsigned)unhashed->n);
	put(out, unhashed->p, unhashed->n);
	put16(out, 0xabcd);		/* left 16 bits of the hash */
	if (version == 6) {
		put8(out, 32);
		for (int i = 0; i < 32; i++)
			put8(out, 0x5a);
	}
	put16(out, 8);			/* an MPI, never looked at */
	put8(out, 0xff);
}

static const uint8_t kid[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void
test_v3(void)
{
	static const uint8_t v3[] = {
		3, 5, 0x10, 0x35, 0x00, 0x00, 0x01,
		0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
		1, 2, 0x12, 0x34, 0x00, 0x08, 0xff
	};
	uint8_t buf[sizeof(v3)];
	struct pgp_sig_info si;
	struct pgp_key_info k;
	size_t n;
	int bad = 0;

	is_int(pgp_sig_parse(&si, v3, sizeof(v3), NULL), 0, "v3 parses");
	ok(si.version == 3 && si.type == 0x10 && si.pubalgo == 1 &&
	    si.hashalgo == 2, "v3 fixed fields");
	ok(si.has_created && si.created == 0x35000001, "v3 creation time");
	ok(si.has_issuer && memcmp(si.issuer, v3 + 7, 8) == 0,
	    "v3 issuer key ID");
	ok(si.issuer_fprlen == 0 && !si.has_key_expiry, "v3: nothing else");
	memset(&k, 0, sizeof(k));
	k.fprlen = 16;
	memcpy(k.keyid, v3 + 7, 8);
	ok(pgp_sig_is_by(&si, &k), "v3 signature matched by key ID");

	memcpy(buf, v3, sizeof(v3));
	buf[0] = 2;
	ok(pgp_sig_parse(&si, buf, sizeof(buf), NULL) == 0 && si.version == 2,
	    "v2 signatures share the v3 layout");
	buf[0] = 3;
	buf[1] = 4;
	is_int(pgp_sig_parse(&si, buf, sizeof(buf), NULL), PGPS_EFORMAT,
	    "v3 hashed length other than 5 is refused");
	/* The fixed part is 19 octets: anything shorter must fail. */
	for (n = 0; n < 19; n++)
		if (pgp_sig_parse(&si, v3, n, NULL) == 0)
			bad++;
	is_int(bad, 0, "every v3 prefix shorter than 19 octets fails");
}

static void
test_v4_fields(void)
{
	struct sb h = { .n = 0 }, u = { .n = 0 }, s;
	struct pgp_sig_info si;
	struct pgp_key_info k;
	uint8_t fpr[21], note[200], reason[5] = { 1, 'l', 'o', 's', 't' };

	/* Critical bit set on the creation time; a long notation first. */
	memset(note, 'n', sizeof(note));
	subpkt(&h, 20, note, sizeof(note));	/* 2-octet length */
	subpkt32(&h, 0x80 | 2, 0x60000000);
	subpkt32(&h, 3, 3600);
	subpkt32(&h, 9, 86400);
	subpkt(&h, 29, reason, sizeof(reason));
	subpkt(&u, 16, kid, 8);
	sig_build(&s, 4, 0x30, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), 0,
	    "v4 with a 2-octet subpacket length parses");
	ok(si.has_created && si.created == 0x60000000,
	    "critical creation time read (critical bit masked)");
	ok(si.has_sig_expiry && si.sig_expiry == 3600, "signature expiry");
	ok(si.has_key_expiry && si.key_expiry == 86400, "key expiry");
	ok(si.has_reason && si.reason == 1, "revocation reason");
	ok(si.has_issuer && memcmp(si.issuer, kid, 8) == 0,
	    "issuer from the unhashed area counts");
	ok(si.issuer_fprlen == 0, "no issuer fingerprint");

	/* Times in the unhashed area are not believed. */
	h.n = u.n = 0;
	subpkt32(&u, 2, 0x60000000);
	subpkt32(&u, 9, 86400);
	sig_build(&s, 4, 0x13, &h, &u);
	ok(pgp_sig_parse(&si, s.p, s.n, NULL) == 0 && !si.has_created &&
	    !si.has_key_expiry && !si.has_issuer,
	    "unhashed creation and key expiry are ignored");

	/* Issuer fingerprint only: key ID is its last 8 octets (v4). */
	h.n = u.n = 0;
	fpr[0] = 4;
	for (int i = 1; i < 21; i++)
		fpr[i] = (uint8_t)(0xa0 + i);
	subpkt(&h, 33, fpr, sizeof(fpr));
	sig_build(&s, 4, 0x13, &h, &u);
	ok(pgp_sig_parse(&si, s.p, s.n, NULL) == 0 && si.issuer_fprlen == 20 &&
	    memcmp(si.issuer_fpr, fpr + 1, 20) == 0, "v4 issuer fingerprint");
	ok(si.has_issuer && memcmp(si.issuer, fpr + 13, 8) == 0,
	    "key ID derived from the v4 fingerprint's last 8 octets");
	memset(&k, 0, sizeof(k));
	k.fprlen = 20;
	memcpy(k.fpr, fpr + 1, 20);
	memcpy(k.keyid, fpr + 13, 8);
	ok(pgp_sig_is_by(&si, &k), "matched by fingerprint");
	k.fpr[0] ^= 0xff;
	ok(!pgp_sig_is_by(&si, &k),
	    "same key ID but another fingerprint: not by that key");

	/* The first occurrence wins; a 5-octet length is read. */
	h.n = u.n = 0;
	put8(&h, 255);
	put32(&h, 5);
	put8(&h, 2);
	put32(&h, 1000);
	subpkt32(&h, 2, 2000);
	sig_build(&s, 4, 0x13, &h, &u);
	ok(pgp_sig_parse(&si, s.p, s.n, NULL) == 0 && si.created == 1000,
	    "5-octet subpacket length; first creation time wins");

	/* A subpacket of 16,400 octets needs the 5-octet form too. */
	{
		static uint8_t big[16400];

		h.n = u.n = 0;
		subpkt(&h, 20, big, sizeof(big));
		subpkt32(&h, 2, 3000);
		sig_build(&s, 4, 0x13, &h, &u);
		ok(pgp_sig_parse(&si, s.p, s.n, NULL) == 0 &&
		    si.created == 3000, "a 16 KiB subpacket is stepped over");
	}

	/* Unknown issuer fingerprint versions are skipped, not errors. */
	h.n = u.n = 0;
	fpr[0] = 9;
	subpkt(&h, 33, fpr, 5);
	sig_build(&s, 4, 0x13, &h, &u);
	ok(pgp_sig_parse(&si, s.p, s.n, NULL) == 0 && si.issuer_fprlen == 0,
	    "issuer fingerprint of an unknown key version ignored");
}

static void
test_v5_v6_built(void)
{
	struct sb h = { .n = 0 }, u = { .n = 0 }, s;
	struct pgp_sig_info si;
	uint8_t fpr[33];
	size_t n;
	int bad = 0;

	fpr[0] = 5;
	for (int i = 1; i < 33; i++)
		fpr[i] = (uint8_t)i;
	subpkt32(&h, 2, 77);
	subpkt(&h, 33, fpr, sizeof(fpr));
	sig_build(&s, 5, 0x13, &h, &u);
	ok(pgp_sig_parse(&si, s.p, s.n, NULL) == 0 && si.version == 5 &&
	    si.created == 77 && si.issuer_fprlen == 32 &&
	    memcmp(si.issuer, fpr + 1, 8) == 0,
	    "v5: two-octet counts, 32-octet fingerprint, key ID first 8");

	fpr[0] = 6;
	sig_build(&s, 6, 0x1f, &h, &u);
	ok(pgp_sig_parse(&si, s.p, s.n, NULL) == 0 && si.version == 6 &&
	    si.type == 0x1f && si.created == 77 && si.issuer_fprlen == 32,
	    "v6: four-octet counts and a salt");
	/* Header 10 + areas + left16 2 + salt 33: shorter must fail. */
	for (n = 0; n < 10 + h.n + 2 + 33; n++)
		if (pgp_sig_parse(&si, s.p, n, NULL) == 0)
			bad++;
	is_int(bad, 0, "every v6 prefix cut before the salt's end fails");
	s.p[10 + h.n + 2 + 2] = 200;	/* salt length beyond the end */
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "v6 salt longer than the packet is refused");
	/* A v6 hashed count of 2^32-1 must not wrap anything. */
	sig_build(&s, 6, 0x1f, &h, &u);
	s.p[4] = s.p[5] = s.p[6] = s.p[7] = 0xff;
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "v6 hashed count 0xffffffff is refused");
}

static void
test_malformed(void)
{
	struct sb h = { .n = 0 }, u = { .n = 0 }, s;
	struct pgp_sig_info si;
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t one[1] = { 7 };
	size_t n, minlen;
	int bad = 0;

	is_int(pgp_sig_parse(&si, NULL, 0, NULL), PGPS_EFORMAT, "empty body");
	is_int(pgp_sig_parse(&si, one, 1, &err), PGPS_EUNSUPPORTED,
	    "version 7 is unsupported");
	is_str(err.msg, "signature version 7", "message names the version");

	subpkt32(&h, 2, 5);
	subpkt(&u, 16, kid, 8);
	sig_build(&s, 4, 0x13, &h, &u);
	minlen = 6 + h.n + 2 + u.n + 2;
	for (n = 0; n < minlen; n++)
		if (pgp_sig_parse(&si, s.p, n, NULL) == 0)
			bad++;
	is_int(bad, 0, "every v4 prefix cut before the hash prefix fails");
	ok(pgp_sig_parse(&si, s.p, minlen, NULL) == 0,
	    "the v4 prefix up to the hash prefix is enough");

	/* Hashed count larger than what is left. */
	s.p[4] = 0x7f;
	pgps_err_clear(&err);
	is_int(pgp_sig_parse(&si, s.p, s.n, &err), PGPS_EFORMAT,
	    "hashed area longer than the packet");
	ok(strstr(err.msg, "octet 4") != NULL &&
	    strstr(err.msg, "hashed") != NULL,
	    "message names the octet and the area: %s", err.msg);

	/* A subpacket claiming more than its area holds. */
	h.n = 0;
	put8(&h, 9);
	put8(&h, 2);
	put32(&h, 1);
	sig_build(&s, 4, 0x13, &h, &u);
	pgps_err_clear(&err);
	is_int(pgp_sig_parse(&si, s.p, s.n, &err), PGPS_EFORMAT,
	    "subpacket length past its area");
	ok(strstr(err.msg, "octet 6") != NULL, "names octet 6: %s", err.msg);

	/* Zero-length subpacket (no room for its type). */
	h.n = 0;
	put8(&h, 0);
	sig_build(&s, 4, 0x13, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "empty subpacket");

	/* A 2-octet length cut in half at the end of the area. */
	h.n = 0;
	subpkt32(&h, 2, 5);
	put8(&h, 200);
	sig_build(&s, 4, 0x13, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "2-octet subpacket length cut off");
	/* Likewise a 5-octet one. */
	h.n = 0;
	put8(&h, 255);
	put8(&h, 0);
	sig_build(&s, 4, 0x13, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "5-octet subpacket length cut off");
	/* A 5-octet length of 4 GiB. */
	h.n = 0;
	put8(&h, 255);
	put32(&h, 0xffffffff);
	put8(&h, 2);
	sig_build(&s, 4, 0x13, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "5-octet subpacket length of 4 GiB");

	/* Known subpackets of the wrong size. */
	h.n = 0;
	subpkt(&h, 2, kid, 3);
	sig_build(&s, 4, 0x13, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "3-octet creation time");
	h.n = 0;
	subpkt(&h, 16, kid, 7);
	sig_build(&s, 4, 0x13, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "7-octet issuer key ID");
	h.n = 0;
	subpkt(&h, 29, kid, 0);
	sig_build(&s, 4, 0x20, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "empty revocation reason");
	h.n = 0;
	one[0] = 4;
	subpkt(&h, 33, one, 1);
	sig_build(&s, 4, 0x13, &h, &u);
	is_int(pgp_sig_parse(&si, s.p, s.n, NULL), PGPS_EFORMAT,
	    "v4 issuer fingerprint without its 20 octets");

	/* Nothing in *out changes on failure. */
	memset(&si, 0x5a, sizeof(si));
	(void)pgp_sig_parse(&si, s.p, s.n, NULL);
	is_int(si.version, 0x5a, "out is untouched when parsing fails");
}

int
main(int argc, char **argv)
{
	(void)argc;
	data_dir_set(argv[0]);
	test_gpg_sigs();
	test_v6_sample();
	test_v3();
	test_v4_fields();
	test_v5_v6_built();
	test_malformed();
	return done_testing();
}
