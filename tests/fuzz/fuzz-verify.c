/*
 * fuzz-verify.c: signature verification (openpgp/verify.c) on arbitrary
 * keys and signatures.
 *
 * The input is split into certificates; every signature of each is
 * verified by its primary key over the component it sits under (none for
 * a direct signature), and a signature under a subkey also by that
 * subkey (the shape of a primary key binding); every subkey's binding is
 * checked as fetch does, with and without the back-signature demanded.
 * The seeds are certificates of each algorithm (RSA, DSA, ECDSA P-256,
 * P-384, P-521, Ed25519, v6 Ed25519), so mutations reach the MPI and
 * point decoders, the hash framing of v4 and v6 signatures and the
 * subpacket walk.  Besides memory errors it checks that a verdict does
 * not change when asked again.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_component(uint8_t tag)
{
	return tag == PGP_TAG_USER_ID || tag == PGP_TAG_USER_ATTRIBUTE ||
	    tag == PGP_TAG_PUBLIC_SUBKEY;
}

static void
same(enum pgp_verify a, enum pgp_verify b, const char *what)
{
	if (a != b) {
		fprintf(stderr, "fuzz-verify: %s: %d, then %d\n", what, a, b);
		abort();
	}
}

static void
check_cert(const struct pgp_cert *c)
{
	const struct pgp_packet *comp = NULL, *p;
	enum pgp_verify v;
	size_t nver = 0;

	if (!c->has_primary)
		return;
	for (size_t i = 1; i < c->npkts && nver < 64; i++) {
		p = &c->pkts[i];
		if (is_component(p->tag)) {
			comp = p;
			if (p->tag == PGP_TAG_PUBLIC_SUBKEY) {
				v = pgp_cert_subkey_bound(c, i, false, NULL);
				same(v, pgp_cert_subkey_bound(c, i, false,
				    NULL), "subkey bound");
				(void)pgp_cert_subkey_bound(c, i, true, NULL);
				nver += 4;
			}
			continue;
		}
		if (p->tag != PGP_TAG_SIGNATURE)
			continue;
		v = pgp_sig_verify(p->body, p->bodylen, &c->pkts[0],
		    &c->pkts[0], comp, NULL);
		same(v, pgp_sig_verify(p->body, p->bodylen, &c->pkts[0],
		    &c->pkts[0], comp, NULL), "signature by the primary key");
		nver += 2;
		if (comp != NULL && comp->tag == PGP_TAG_PUBLIC_SUBKEY) {
			(void)pgp_sig_verify(p->body, p->bodylen, comp,
			    &c->pkts[0], comp, NULL);
			nver++;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgp_reader *rd = NULL;
	struct pgp_raw_cert raw;
	struct pgp_cert c = PGP_CERT_INIT;
	int r, n = 0;

	if (pgp_reader_open_mem(&rd, data, size, "fuzz", NULL) != 0)
		return 0;
	pgp_reader_keep_bare(rd);
	while (n++ < 16 && (r = pgp_reader_next(rd, &raw, 0, NULL)) != 0) {
		if (r < 0)
			continue;
		if (pgp_cert_parse(&c, raw.p, raw.len, raw.offset, NULL) == 0)
			check_cert(&c);
	}
	pgp_cert_release(&c);
	pgp_reader_free(rd);
	return 0;
}
