/*
 * verify.c: checks the self-signatures and subkey bindings of a
 * certificate (RFC 9580 5.2.4), with OpenSSL's libcrypto.
 *
 * Only what decides whether a certificate is the one a lookup asked for
 * is verified: that a subkey is bound to its primary key (binding 0x18 by
 * the primary key, and for a signing-capable subkey the primary key
 * binding 0x19 by the subkey embedded in it), and that a primary key has
 * signed itself (0x10-0x13 on a user ID, or 0x1f/0x20 on the key).
 * Signatures of version 4 and 6 (salted) by RSA, DSA, ECDSA (NIST and
 * Brainpool curves), EdDSA Ed25519 (legacy algorithm 22 and 27) and
 * Ed448 are checked; anything else -- other algorithms, v3 and v5
 * signatures, MD5 -- is "not verified", never "verified".  Times,
 * expiry and revocation are not looked at: a revoked binding still
 * proves that the primary key holder bound the subkey.
 */
#include "util/common.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "openpgp/openpgp.h"
#include "util/span.h"

enum {
	SUBPKT_KEY_FLAGS = 27,
	SUBPKT_EMBEDDED_SIG = 32
};

#define KEY_FLAG_SIGN	0x02

/* The parts of a v4 or v6 signature that verification needs. */
struct vsig {
	uint8_t		 version, type, pubalgo, hashalgo;
	const uint8_t	*hashed;	/* version .. end of hashed area */
	size_t		 hashedlen;
	struct span	 sub[2];	/* hashed and unhashed subpackets */
	uint8_t		 left16[2];
	const uint8_t	*salt;
	uint8_t		 saltlen;
	struct span	 value;		/* algorithm-specific fields */
};

/* The parts of a public key that verification needs. */
struct vkey {
	uint8_t		 version, algo;
	struct span	 material;
};

static const struct {
	uint8_t		 id;
	const char	*name;
	uint8_t		 saltlen;	/* v6 (RFC 9580 9.5) */
} hashes[] = {
	{ 2, "SHA1", 0 },
	{ 8, "SHA256", 16 },
	{ 9, "SHA384", 24 },
	{ 10, "SHA512", 32 },
	{ 11, "SHA224", 16 },
	{ 12, "SHA3-256", 16 },
	{ 14, "SHA3-512", 32 },
};

static const struct {
	uint8_t		 len;
	uint8_t		 oid[9];
	const char	*group;
} ec_curves[] = {
	{ 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 }, "P-256" },
	{ 5, { 0x2b, 0x81, 0x04, 0x00, 0x22 }, "P-384" },
	{ 5, { 0x2b, 0x81, 0x04, 0x00, 0x23 }, "P-521" },
	{ 9, { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07 },
	    "brainpoolP256r1" },
	{ 9, { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0b },
	    "brainpoolP384r1" },
	{ 9, { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0d },
	    "brainpoolP512r1" },
};

static const uint8_t oid_ed25519[9] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01
};

/* Subpacket length (RFC 9580 5.2.3.7), the type octet included. */
static int
subpkt_len(struct span *s, size_t *out)
{
	uint8_t o1, o2;
	uint32_t v;

	if (span_u8(s, &o1) != 0)
		return PGPS_ETRUNC;
	if (o1 < 192)
		*out = o1;
	else if (o1 < 255) {
		if (span_u8(s, &o2) != 0)
			return PGPS_ETRUNC;
		*out = ((size_t)(o1 - 192) << 8) + o2 + 192;
	} else {
		if (span_be32(s, &v) != 0)
			return PGPS_ETRUNC;
		*out = v;
	}
	return 0;
}

/*
 * The data of the first subpacket of type in the signature's areas (the
 * hashed one first; only the hashed one when hashed_only).  0 and *out
 * set, PGPS_ENOTFOUND, or PGPS_EFORMAT for a broken area.
 */
static int
vsig_subpkt(const struct vsig *s, uint8_t type, bool hashed_only,
    struct span *out)
{
	for (int a = 0; a < (hashed_only ? 1 : 2); a++) {
		struct span area = s->sub[a];
		size_t len;

		while (area.len > 0) {
			if (subpkt_len(&area, &len) != 0 || len == 0 ||
			    len > area.len)
				return PGPS_EFORMAT;
			if ((area.p[0] & 0x7f) == type) {
				*out = span_make(area.p + 1, len - 1);
				return 0;
			}
			area.p += len;
			area.len -= len;
		}
	}
	return PGPS_ENOTFOUND;
}

static int
vsig_parse(struct vsig *out, const uint8_t *body, size_t len)
{
	struct span s = span_make(body, len);
	const uint8_t *p;
	uint32_t n32;
	uint16_t n16;

	memset(out, 0, sizeof(*out));
	if (span_u8(&s, &out->version) != 0)
		return PGPS_EFORMAT;
	if (out->version != 4 && out->version != 6)
		return PGPS_EUNSUPPORTED;
	if (span_u8(&s, &out->type) != 0 || span_u8(&s, &out->pubalgo) != 0 ||
	    span_u8(&s, &out->hashalgo) != 0)
		return PGPS_EFORMAT;
	for (int a = 0; a < 2; a++) {
		if (out->version == 6) {
			if (span_be32(&s, &n32) != 0)
				return PGPS_EFORMAT;
		} else {
			if (span_be16(&s, &n16) != 0)
				return PGPS_EFORMAT;
			n32 = n16;
		}
		if (span_sub(&s, n32, &out->sub[a]) != 0)
			return PGPS_EFORMAT;
		if (a == 0) {
			out->hashed = body;
			out->hashedlen = (size_t)(s.p - body);
		}
	}
	if (span_bytes(&s, 2, &p) != 0)
		return PGPS_EFORMAT;
	memcpy(out->left16, p, 2);
	if (out->version == 6 && (span_u8(&s, &out->saltlen) != 0 ||
	    span_bytes(&s, out->saltlen, &out->salt) != 0))
		return PGPS_EFORMAT;
	out->value = s;
	return 0;
}

static int
vkey_parse(struct vkey *out, const uint8_t *body, size_t len)
{
	struct span s = span_make(body, len);
	uint32_t created, mlen;

	memset(out, 0, sizeof(*out));
	if (span_u8(&s, &out->version) != 0 || span_be32(&s, &created) != 0)
		return PGPS_EFORMAT;
	if (out->version == 4) {
		if (span_u8(&s, &out->algo) != 0)
			return PGPS_EFORMAT;
		out->material = s;
		return 0;
	}
	if (out->version != 6)
		return PGPS_EUNSUPPORTED;
	if (span_u8(&s, &out->algo) != 0 || span_be32(&s, &mlen) != 0 ||
	    span_sub(&s, mlen, &out->material) != 0)
		return PGPS_EFORMAT;
	return 0;
}

/* The body of the next MPI of s, leading zero octets dropped. */
static int
mpi_next(struct span *s, struct span *out)
{
	uint16_t bits;
	const uint8_t *p;
	size_t n;

	if (span_be16(s, &bits) != 0)
		return PGPS_EFORMAT;
	n = ((size_t)bits + 7) / 8;
	if (span_bytes(s, n, &p) != 0)
		return PGPS_EFORMAT;
	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	*out = span_make(p, n);
	return 0;
}

/* --- hashing ---------------------------------------------------------- */

/* Hashes a key packet body as signatures do: 0x99|len16 or 0x9B|len32. */
static int
hash_key(EVP_MD_CTX *md, const struct pgp_packet *k)
{
	uint8_t pre[5];

	if (k->bodylen < 1)
		return PGPS_EFORMAT;
	if (k->body[0] == 4) {
		if (k->bodylen > 0xffff)
			return PGPS_EFORMAT;
		pre[0] = 0x99;
		pre[1] = (uint8_t)(k->bodylen >> 8);
		pre[2] = (uint8_t)k->bodylen;
		return EVP_DigestUpdate(md, pre, 3) == 1 &&
		    EVP_DigestUpdate(md, k->body, k->bodylen) == 1 ? 0 :
		    PGPS_ENOMEM;
	}
	if (k->body[0] != 6 || k->bodylen > UINT32_MAX)
		return PGPS_EUNSUPPORTED;
	pre[0] = 0x9b;
	store_be32(pre + 1, (uint32_t)k->bodylen);
	return EVP_DigestUpdate(md, pre, 5) == 1 &&
	    EVP_DigestUpdate(md, k->body, k->bodylen) == 1 ? 0 : PGPS_ENOMEM;
}

/*
 * The digest of what sig signs: its salt (v6), the primary key, then the
 * component (a subkey, user ID or attribute; NULL for the key itself),
 * then the signature's hashed part and trailer.
 */
static int
sig_digest(uint8_t *out, unsigned int *outlen, const EVP_MD *alg,
    const struct vsig *s, const struct pgp_packet *primary,
    const struct pgp_packet *comp)
{
	EVP_MD_CTX *md = NULL;
	uint8_t pre[6];
	int r;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, alg, NULL) != 1) {
		r = PGPS_ENOMEM;
		goto cleanup;
	}
	if (s->saltlen > 0 && EVP_DigestUpdate(md, s->salt, s->saltlen) != 1)
		goto nomem;
	if ((r = hash_key(md, primary)) != 0)
		goto cleanup;
	if (comp != NULL && comp->tag == PGP_TAG_PUBLIC_SUBKEY) {
		if ((r = hash_key(md, comp)) != 0)
			goto cleanup;
	} else if (comp != NULL) {
		if (comp->bodylen > UINT32_MAX) {
			r = PGPS_EFORMAT;
			goto cleanup;
		}
		pre[0] = comp->tag == PGP_TAG_USER_ID ? 0xb4 : 0xd1;
		store_be32(pre + 1, (uint32_t)comp->bodylen);
		if (EVP_DigestUpdate(md, pre, 5) != 1 ||
		    EVP_DigestUpdate(md, comp->body, comp->bodylen) != 1)
			goto nomem;
	}
	if (s->hashedlen > UINT32_MAX)
		goto nomem;
	pre[0] = s->version;
	pre[1] = 0xff;
	store_be32(pre + 2, (uint32_t)s->hashedlen);
	if (EVP_DigestUpdate(md, s->hashed, s->hashedlen) != 1 ||
	    EVP_DigestUpdate(md, pre, 6) != 1 ||
	    EVP_DigestFinal_ex(md, out, outlen) != 1)
		goto nomem;
	r = 0;
	goto cleanup;
 nomem:
	r = PGPS_ENOMEM;
 cleanup:
	EVP_MD_CTX_free(md);
	return r;
}

/* --- public-key algorithms -------------------------------------------- */

/* A key from OSSL parameters of type name ("RSA", "EC", "DSA"). */
static EVP_PKEY *
pkey_from(const char *name, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* Pushes the MPI bodies of mpis[0..n) as BIGNUMs named names[i]. */
static bool
push_bns(OSSL_PARAM_BLD *bld, const char *const *names,
    const struct span *mpis, size_t n, BIGNUM **bns)
{
	for (size_t i = 0; i < n; i++)
		if ((bns[i] = BN_bin2bn(mpis[i].p, (int)mpis[i].len,
		    NULL)) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, names[i], bns[i]) != 1)
			return false;
	return true;
}

/* An RSA (1, 3) or DSA (17) key from its MPIs. */
static EVP_PKEY *
pkey_mpis(const struct vkey *k)
{
	static const char *const rsa[] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E
	};
	static const char *const dsa[] = {
		OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q,
		OSSL_PKEY_PARAM_FFC_G, OSSL_PKEY_PARAM_PUB_KEY
	};
	struct span m = k->material, mpis[4];
	BIGNUM *bns[4] = { NULL, NULL, NULL, NULL };
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	bool is_dsa = k->algo == 17;
	size_t n = is_dsa ? 4 : 2;

	for (size_t i = 0; i < n; i++)
		if (mpi_next(&m, &mpis[i]) != 0 || mpis[i].len == 0 ||
		    mpis[i].len > 2048)
			return NULL;
	if ((bld = OSSL_PARAM_BLD_new()) != NULL &&
	    push_bns(bld, is_dsa ? dsa : rsa, mpis, n, bns))
		pkey = pkey_from(is_dsa ? "DSA" : "RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	for (size_t i = 0; i < n; i++)
		BN_free(bns[i]);
	return pkey;
}

/*
 * The curve OID at the front of key material m, consumed: its index in
 * ec_curves, -2 for Ed25519, -1 for anything else.
 */
static int
curve_of(struct span *m)
{
	const uint8_t *oid;
	uint8_t len;

	if (span_u8(m, &len) != 0 || len == 0 || len == 0xff ||
	    span_bytes(m, len, &oid) != 0)
		return -1;
	if (len == sizeof(oid_ed25519) && memcmp(oid, oid_ed25519, len) == 0)
		return -2;
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(ec_curves); i++)
		if (ec_curves[i].len == len &&
		    memcmp(ec_curves[i].oid, oid, len) == 0)
			return (int)i;
	return -1;
}

/* An ECDSA key (19): curve OID, then the point as an MPI. */
static EVP_PKEY *
pkey_ecdsa(const struct vkey *k)
{
	struct span m = k->material, pt;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	uint16_t bits;
	int c;

	if ((c = curve_of(&m)) < 0 || span_be16(&m, &bits) != 0 ||
	    span_sub(&m, ((size_t)bits + 7) / 8, &pt) != 0 || pt.len == 0 ||
	    pt.p[0] != 0x04)
		return NULL;
	if ((bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    ec_curves[c].group, 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt.p, pt.len) == 1)
		pkey = pkey_from("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* An Ed25519 key: legacy (22, OID then 0x40|point) or native (27). */
static EVP_PKEY *
pkey_eddsa(const struct vkey *k)
{
	struct span m = k->material;
	const uint8_t *pub;
	uint16_t bits;
	uint8_t prefix;

	switch (k->algo) {
	case 22:
		if (curve_of(&m) != -2 || span_be16(&m, &bits) != 0 ||
		    bits != 263 || span_u8(&m, &prefix) != 0 ||
		    prefix != 0x40 || span_bytes(&m, 32, &pub) != 0)
			return NULL;
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    pub, 32);
	case 27:
		if (span_bytes(&m, 32, &pub) != 0)
			return NULL;
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    pub, 32);
	case 28:
		if (span_bytes(&m, 57, &pub) != 0)
			return NULL;
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED448, NULL,
		    pub, 57);
	}
	return NULL;
}

/* Appends a DER INTEGER holding the unsigned big-endian v. */
static size_t
der_int(uint8_t *out, const struct span *v)
{
	size_t n = 0, pad = v->len == 0 || (v->p[0] & 0x80) != 0;

	out[n++] = 0x02;
	if (v->len + pad >= 0x80)
		out[n++] = 0x81;
	out[n++] = (uint8_t)(v->len + pad);
	if (pad)
		out[n++] = 0;
	memcpy(out + n, v->p, v->len);
	return n + v->len;
}

/*
 * The DER SEQUENCE { r, s } that OpenSSL verifies for DSA and ECDSA from
 * the two MPIs of a signature; *len is 0 when they do not fit.
 */
static void
der_rs(uint8_t *out, size_t *len, struct span v)
{
	struct span r, s;
	uint8_t body[2 * 72];
	size_t n;

	*len = 0;
	if (mpi_next(&v, &r) != 0 || mpi_next(&v, &s) != 0 || r.len > 68 ||
	    s.len > 68)
		return;
	n = der_int(body, &r);
	n += der_int(body + n, &s);
	out[0] = 0x30;
	if (n >= 0x80) {
		out[1] = 0x81;
		out[2] = (uint8_t)n;
		memcpy(out + 3, body, n);
		*len = n + 3;
	} else {
		out[1] = (uint8_t)n;
		memcpy(out + 2, body, n);
		*len = n + 2;
	}
}

/*
 * Whether value (the signature's algorithm-specific fields) is a good
 * signature by pkey over digest.  0 good, PGPS_EFORMAT bad.
 */
static int
pkey_verify(EVP_PKEY *pkey, const struct vsig *s, const EVP_MD *alg,
    const uint8_t *digest, unsigned int dlen)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	struct span v = s->value, a, b;
	uint8_t buf[1024], der[2 * 72 + 3];
	size_t n, derlen, keylen;
	bool ok = false;

	switch (s->pubalgo) {
	case 1: case 3:
		keylen = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
		if (mpi_next(&v, &a) != 0 || a.len > keylen ||
		    keylen > sizeof(buf))
			break;
		/* Left-padded to the modulus size, as PKCS #1 wants. */
		memset(buf, 0, keylen - a.len);
		memcpy(buf + keylen - a.len, a.p, a.len);
		ok = (ctx = EVP_PKEY_CTX_new(pkey, NULL)) != NULL &&
		    EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) ==
		    1 && EVP_PKEY_CTX_set_signature_md(ctx, alg) == 1 &&
		    EVP_PKEY_verify(ctx, buf, keylen, digest, dlen) == 1;
		break;
	case 17: case 19:
		der_rs(der, &derlen, v);
		ok = derlen > 0 &&
		    (ctx = EVP_PKEY_CTX_new(pkey, NULL)) != NULL &&
		    EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, alg) == 1 &&
		    EVP_PKEY_verify(ctx, der, derlen, digest, dlen) == 1;
		break;
	case 22:
		/* r and s, each 32 octets once left-padded (RFC 9580 5.2.3.3) */
		if (mpi_next(&v, &a) != 0 || mpi_next(&v, &b) != 0 ||
		    a.len > 32 || b.len > 32)
			break;
		memset(buf, 0, 64);
		memcpy(buf + 32 - a.len, a.p, a.len);
		memcpy(buf + 64 - b.len, b.p, b.len);
		n = 64;
		goto eddsa;
	case 27: case 28:
		n = s->pubalgo == 27 ? 64 : 114;
		if (v.len < n)
			break;
		memcpy(buf, v.p, n);
 eddsa:
		/* EdDSA signs the digest itself. */
		ok = (md = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestVerify(md, buf, n, digest, dlen) == 1;
		break;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(md);
	return ok ? 0 : PGPS_EFORMAT;
}

/* --- signatures ------------------------------------------------------- */

/* The digest of a hash algorithm id, with the v6 salt size it needs. */
static const EVP_MD *
hash_md(uint8_t id, uint8_t *saltlen)
{
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(hashes); i++)
		if (hashes[i].id == id) {
			*saltlen = hashes[i].saltlen;
			return EVP_get_digestbyname(hashes[i].name);
		}
	return NULL;
}

static EVP_PKEY *
pkey_of(const struct vkey *k)
{
	switch (k->algo) {
	case 1: case 3: case 17:
		return pkey_mpis(k);
	case 19:
		return pkey_ecdsa(k);
	case 22: case 27: case 28:
		return pkey_eddsa(k);
	}
	return NULL;
}

static bool
algo_is_known(uint8_t algo)
{
	return algo == 1 || algo == 3 || algo == 17 || algo == 19 ||
	    algo == 22 || algo == 27 || algo == 28;
}

/* pgp_sig_verify() on a parsed signature. */
static enum pgp_verify
vsig_verify(const struct vsig *s, const struct pgp_packet *signer,
    const struct pgp_packet *primary, const struct pgp_packet *comp,
    size_t *pkops, struct pgps_err *err)
{
	uint8_t digest[EVP_MAX_MD_SIZE], saltlen = 0;
	unsigned int dlen = 0;
	const EVP_MD *alg;
	struct vkey k;
	EVP_PKEY *pkey = NULL;
	enum pgp_verify v = PGP_VERIFY_UNKNOWN;
	char tmp[16];
	int r;

	if ((r = vkey_parse(&k, signer->body, signer->bodylen)) != 0) {
		if (r == PGPS_EUNSUPPORTED)
			pgps_err_set(err, PGPS_EUNSUPPORTED, "a v%u key is not "
			    "verified", signer->bodylen > 0 ? signer->body[0] :
			    0);
		else {
			pgps_err_set(err, PGPS_EFORMAT, "signing key "
			    "truncated");
			v = PGP_VERIFY_BAD;
		}
		goto cleanup;
	}
	if (k.algo != s->pubalgo || k.version != s->version) {
		pgps_err_set(err, PGPS_EFORMAT, "a v%u %s signature cannot "
		    "come from a v%u %s key", s->version,
		    pgp_algo_name(s->pubalgo, tmp), k.version,
		    pgp_algo_name(k.algo, tmp));
		v = PGP_VERIFY_BAD;
		goto cleanup;
	}
	if (s->version == 6 && (s->hashalgo == 1 || s->hashalgo == 2 ||
	    s->hashalgo == 3)) {
		/* RFC 9580 5.2.3: MD5, SHA-1 and RIPEMD-160 never in v6. */
		pgps_err_set(err, PGPS_EFORMAT, "hash algorithm %u is not "
		    "allowed in a v6 signature", s->hashalgo);
		v = PGP_VERIFY_BAD;
		goto cleanup;
	}
	if ((alg = hash_md(s->hashalgo, &saltlen)) == NULL ||
	    !algo_is_known(k.algo)) {
		pgps_err_set(err, PGPS_EUNSUPPORTED, "%s signatures with "
		    "hash algorithm %u are not verified",
		    pgp_algo_name(k.algo, tmp), s->hashalgo);
		goto cleanup;
	}
	if (s->version == 6 && s->saltlen != saltlen) {
		pgps_err_set(err, PGPS_EFORMAT, "v6 signature salt of %u "
		    "octets, not %u", s->saltlen, saltlen);
		v = PGP_VERIFY_BAD;
		goto cleanup;
	}
	if ((r = sig_digest(digest, &dlen, alg, s, primary, comp)) != 0) {
		if (r == PGPS_EUNSUPPORTED)
			pgps_err_set(err, r, "a v%u key is not verified",
			    primary->bodylen > 0 ? primary->body[0] : 0);
		else {
			pgps_err_set(err, r, "%s", r == PGPS_ENOMEM ?
			    "out of memory" : "signed packet too long");
			v = PGP_VERIFY_BAD;
		}
		goto cleanup;
	}
	v = PGP_VERIFY_BAD;
	if (memcmp(digest, s->left16, 2) != 0) {
		pgps_err_set(err, PGPS_EFORMAT, "the signature's hash prefix "
		    "%02X%02X is not that of the data (%02X%02X)",
		    s->left16[0], s->left16[1], digest[0], digest[1]);
		goto cleanup;
	}
	if (pkops != NULL)
		(*pkops)++;
	if ((pkey = pkey_of(&k)) == NULL) {
		pgps_err_set(err, PGPS_EFORMAT, "unusable %s key material",
		    pgp_algo_name(k.algo, tmp));
		goto cleanup;
	}
	if (pkey_verify(pkey, s, alg, digest, dlen) != 0) {
		pgps_err_set(err, PGPS_EFORMAT, "bad %s signature",
		    pgp_algo_name(k.algo, tmp));
		goto cleanup;
	}
	v = PGP_VERIFY_GOOD;
 cleanup:
	EVP_PKEY_free(pkey);
	return v;
}

enum pgp_verify
pgp_sig_verify(const uint8_t *sig, size_t siglen,
    const struct pgp_packet *signer, const struct pgp_packet *primary,
    const struct pgp_packet *comp, struct pgps_err *err)
{
	struct vsig s;
	int r;

	if ((r = vsig_parse(&s, sig, siglen)) != 0) {
		if (r == PGPS_EUNSUPPORTED) {
			pgps_err_set(err, r, "v%u signatures are not "
			    "verified", siglen > 0 ? sig[0] : 0);
			return PGP_VERIFY_UNKNOWN;
		}
		pgps_err_set(err, r, "malformed signature");
		return PGP_VERIFY_BAD;
	}
	return vsig_verify(&s, signer, primary, comp, NULL, err);
}

/* Whether a key of public-key algorithm algo can sign at all. */
static bool
algo_can_sign(uint8_t algo)
{
	return algo != 2 && algo != 16 && algo != 18 && algo != 20 &&
	    algo != 25 && algo != 26;
}

/* Whether subkey sub may sign, by the key flags of binding s. */
static bool
binding_says_sign(const struct vsig *s, const struct pgp_packet *sub)
{
	struct span f;
	struct vkey k;

	if (vsig_subpkt(s, SUBPKT_KEY_FLAGS, true, &f) == 0)
		return f.len > 0 && (f.p[0] & KEY_FLAG_SIGN) != 0;
	/* No key flags: whatever the algorithm can do. */
	return vkey_parse(&k, sub->body, sub->bodylen) != 0 ||
	    algo_can_sign(k.algo);
}

/* The better of two outcomes: good, then not verified, then bad. */
static enum pgp_verify
verify_best(enum pgp_verify a, enum pgp_verify b)
{
	if (a == PGP_VERIFY_GOOD || b == PGP_VERIFY_GOOD)
		return PGP_VERIFY_GOOD;
	if (a == PGP_VERIFY_UNKNOWN || b == PGP_VERIFY_UNKNOWN)
		return PGP_VERIFY_UNKNOWN;
	return PGP_VERIFY_BAD;
}

/* One binding signature s of subkey sub (see pgp_cert_subkey_bound()). */
static enum pgp_verify
binding_verify(const struct vsig *s, const struct pgp_packet *primary,
    const struct pgp_packet *sub, bool owned, size_t *pkops,
    struct pgps_err *err)
{
	struct span emb;
	struct vsig back;
	struct vkey k;
	enum pgp_verify v;
	char tmp[16];
	int r;

	if ((v = vsig_verify(s, primary, primary, sub, pkops, err)) !=
	    PGP_VERIFY_GOOD || (!owned && !binding_says_sign(s, sub)))
		return v;
	/*
	 * A signing subkey must sign the primary key back (0x19); so must
	 * any subkey whose owner's consent is asked for (owned), and one
	 * that cannot sign never gives it.
	 */
	if (owned && vkey_parse(&k, sub->body, sub->bodylen) == 0 &&
	    !algo_can_sign(k.algo)) {
		pgps_err_set(err, PGPS_EFORMAT, "a %s subkey cannot sign a "
		    "primary key binding", pgp_algo_name(k.algo, tmp));
		return PGP_VERIFY_BAD;
	}
	if ((r = vsig_subpkt(s, SUBPKT_EMBEDDED_SIG, false, &emb)) != 0) {
		pgps_err_set(err, PGPS_EFORMAT, "%s without a primary key "
		    "binding signature", owned ? "subkey" : "signing subkey");
		return PGP_VERIFY_BAD;
	}
	if ((r = vsig_parse(&back, emb.p, emb.len)) != 0) {
		pgps_err_set(err, r, "unreadable primary key binding "
		    "signature");
		return r == PGPS_EUNSUPPORTED ? PGP_VERIFY_UNKNOWN :
		    PGP_VERIFY_BAD;
	}
	if (back.type != PGP_SIG_PRIMARY_BINDING) {
		pgps_err_set(err, PGPS_EFORMAT, "embedded signature of type "
		    "0x%02x, not a primary key binding", back.type);
		return PGP_VERIFY_BAD;
	}
	return vsig_verify(&back, sub, primary, sub, pkops, err);
}

/*
 * Public-key operations per question at most, so that a certificate
 * flooded with bogus bindings costs bounded time.  Signatures refused
 * before (wrong hash prefix, unknown algorithm) cost one hash each and do
 * not count, so junk in front of the real binding cannot hide it.
 */
#define VERIFY_MAX_TRIES	32

enum pgp_verify
pgp_cert_subkey_bound(const struct pgp_cert *c, size_t pkt, bool owned,
    struct pgps_err *err)
{
	const struct pgp_packet *primary, *sub;
	enum pgp_verify best = PGP_VERIFY_BAD;
	struct pgps_err first = PGPS_ERR_INIT, e;
	struct vsig s;
	size_t tries = 0, pkops = 0;

	if (!c->has_primary || c->npkts == 0 || pkt >= c->npkts ||
	    c->pkts[pkt].tag != PGP_TAG_PUBLIC_SUBKEY) {
		pgps_err_set(err, PGPS_EINTERNAL, "not a subkey");
		return PGP_VERIFY_BAD;
	}
	primary = &c->pkts[0];
	sub = &c->pkts[pkt];
	for (size_t i = pkt + 1; i < c->npkts && pkops < VERIFY_MAX_TRIES;
	    i++) {
		const struct pgp_packet *p = &c->pkts[i];

		if (p->tag != PGP_TAG_SIGNATURE) {
			if (p->tag == PGP_TAG_TRUST || p->tag == PGP_TAG_MARKER ||
			    p->tag == PGP_TAG_PADDING)
				continue;
			break;
		}
		if (vsig_parse(&s, p->body, p->bodylen) != 0 ||
		    s.type != PGP_SIG_SUBKEY_BINDING)
			continue;
		tries++;
		pgps_err_clear(&e);
		best = verify_best(best, binding_verify(&s, primary, sub,
		    owned, &pkops, &e));
		if (best == PGP_VERIFY_GOOD)
			return best;
		if (first.code == 0)
			first = e;
	}
	if (tries == 0)
		pgps_err_set(err, PGPS_ENOTFOUND, "no binding signature");
	else
		pgps_err_set(err, first.code, "%s", first.msg);
	return best;
}
