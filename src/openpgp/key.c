/*
 * key.c: public-key packet bodies: version, algorithm, size, fingerprint and
 * key ID (RFC 9580 5.5.2, 5.5.4; GnuPG's v5 as LibrePGP defines it).
 *
 * Only what identifies a key is parsed; key material is not validated
 * (pgpsync never encrypts or verifies with it).
 */
#include "util/common.h"

#include <pthread.h>

#include "openpgp/openpgp.h"
#include "util/digest.h"
#include "util/hex.h"

/*
 * Every certificate read has its primary key fingerprinted, so each thread
 * keeps one context per algorithm instead of allocating one per key.  The
 * thread-specific key only exists to free them when a thread exits.
 */
static _Thread_local struct digest *key_digests[DIGEST_SHA256 + 1];
static pthread_key_t key_digests_tsd;
static pthread_once_t key_digests_once = PTHREAD_ONCE_INIT;
static bool key_digests_tsd_ok;

static void
key_digests_free(void *arg)
{
	struct digest **d = arg;

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(key_digests); i++) {
		digest_free(d[i]);
		d[i] = NULL;
	}
}

static void
key_digests_init(void)
{
	key_digests_tsd_ok = pthread_key_create(&key_digests_tsd,
	    key_digests_free) == 0;
}

/*
 * Writes the digest of pre[0..prelen) then body[0..len) to out.  Returns 0
 * or PGPS_ENOMEM.
 */
static int
key_digest(enum digest_algo algo, const uint8_t *pre, size_t prelen,
    const uint8_t *body, size_t len, uint8_t *out)
{
	struct digest *d = key_digests[algo];

	if (d == NULL) {
		pthread_once(&key_digests_once, key_digests_init);
		if (!key_digests_tsd_ok ||
		    (d = digest_new(algo)) == NULL)
			return PGPS_ENOMEM;
		if (pthread_setspecific(key_digests_tsd, key_digests) != 0) {
			digest_free(d);
			return PGPS_ENOMEM;
		}
		key_digests[algo] = d;
	} else
		digest_reset(d);
	digest_update(d, pre, prelen);
	digest_update(d, body, len);
	digest_final(d, out);
	return 0;
}

/* Bit length of an MPI from its 2-octet bit count, consuming the MPI. */
static int
mpi_skip(struct span *s, uint32_t *bits, const uint8_t **body, size_t *len)
{
	const uint8_t *dummy;
	uint16_t nbits;
	size_t n;
	int r;

	if ((r = span_be16(s, &nbits)) != 0)
		return r;
	n = ((size_t)nbits + 7) / 8;
	if (bits != NULL)
		*bits = nbits;
	if (len != NULL)
		*len = n;
	return span_bytes(s, n, body != NULL ? body : &dummy);
}

/* Curves by OID (RFC 9580 9.2), with their sizes in bits. */
static const struct {
	const char	*name;
	uint8_t		 len;
	uint8_t		 oid[10];
	uint32_t	 bits;
} curves[] = {
	{ "nistp256", 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 }, 256 },
	{ "nistp384", 5, { 0x2b, 0x81, 0x04, 0x00, 0x22 }, 384 },
	{ "nistp521", 5, { 0x2b, 0x81, 0x04, 0x00, 0x23 }, 521 },
	{ "brainpoolP256r1", 9,
	    { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07 }, 256 },
	{ "brainpoolP384r1", 9,
	    { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0b }, 384 },
	{ "brainpoolP512r1", 9,
	    { 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0d }, 512 },
	{ "ed25519", 9,
	    { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01 }, 255 },
	{ "cv25519", 10,
	    { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 }, 255 },
	{ "ed448", 3, { 0x2b, 0x65, 0x71 }, 448 },
	{ "x448", 3, { 0x2b, 0x65, 0x6f }, 448 },
	{ "secp256k1", 5, { 0x2b, 0x81, 0x04, 0x00, 0x0a }, 256 },
};

static void
key_material(struct pgp_key_info *k, struct span s)
{
	const uint8_t *oid;
	uint8_t oidlen;

	switch (k->algo) {
	case 1: case 2: case 3: case 16: case 17: case 20:
		/* RSA n, or DSA/ElGamal p, comes first. */
		mpi_skip(&s, &k->bits, NULL, NULL);
		break;
	case 18: case 19: case 22:
		if (span_u8(&s, &oidlen) != 0 || oidlen == 0 || oidlen == 255 ||
		    span_bytes(&s, oidlen, &oid) != 0)
			break;
		for (size_t i = 0; i < PGPS_ARRAY_SIZE(curves); i++)
			if (curves[i].len == oidlen &&
			    memcmp(curves[i].oid, oid, oidlen) == 0) {
				k->curve = curves[i].name;
				k->bits = curves[i].bits;
			}
		break;
	case 25: k->bits = 255; k->curve = "x25519"; break;
	case 26: k->bits = 448; k->curve = "x448"; break;
	case 27: k->bits = 255; k->curve = "ed25519"; break;
	case 28: k->bits = 448; k->curve = "ed448"; break;
	default:
		break;
	}
}

int
pgp_key_info_parse(struct pgp_key_info *out, const uint8_t *body, size_t len,
    struct pgps_err *err)
{
	struct pgp_key_info k;
	struct span s = span_make(body, len);
	uint8_t pre[5];
	uint16_t validity;
	uint32_t mlen;

	memset(&k, 0, sizeof(k));
	if (span_u8(&s, &k.version) != 0 || span_be32(&s, &k.created) != 0)
		goto trunc;
	switch (k.version) {
	case 2:
	case 3:
		if (span_be16(&s, &validity) != 0 || span_u8(&s, &k.algo) != 0)
			goto trunc;
		if (k.algo == 1 || k.algo == 2 || k.algo == 3) {
			const uint8_t *n, *e;
			size_t nlen, elen;

			/* v3 fingerprint: MD5 of the MPI bodies n, e. */
			if (mpi_skip(&s, &k.bits, &n, &nlen) != 0 ||
			    mpi_skip(&s, NULL, &e, &elen) != 0)
				goto trunc;
			if (key_digest(DIGEST_MD5, n, nlen, e, elen,
			    k.fpr) != 0)
				goto nomem;
			k.fprlen = 16;
			/* The key ID is the low 64 bits of the modulus. */
			if (nlen >= 8)
				memcpy(k.keyid, n + nlen - 8, 8);
			else
				memcpy(k.keyid + 8 - nlen, n, nlen);
			break;
		}
		/* Non-RSA v3 keys: GnuPG falls back to the v4 method. */
		key_material(&k, s);
		goto v4fpr;
	case 4:
		if (span_u8(&s, &k.algo) != 0)
			goto trunc;
		key_material(&k, s);
 v4fpr:
		if (len > 0xffff)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "v4 key packet of %zu bytes cannot be "
			    "fingerprinted", len);
		pre[0] = 0x99;
		pre[1] = (uint8_t)(len >> 8);
		pre[2] = (uint8_t)len;
		if (key_digest(DIGEST_SHA1, pre, 3, body, len, k.fpr) != 0)
			goto nomem;
		k.fprlen = 20;
		memcpy(k.keyid, k.fpr + 12, 8);
		break;
	case 5:
	case 6:
		if (span_u8(&s, &k.algo) != 0 || span_be32(&s, &mlen) != 0)
			goto trunc;
		if (mlen > s.len)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "v%u key material length %u exceeds the %zu "
			    "bytes left", k.version, mlen, s.len);
		key_material(&k, span_make(s.p, mlen));
		if (len > UINT32_MAX)
			return pgps_err_set(err, PGPS_EFORMAT,
			    "key packet too long");
		pre[0] = k.version == 5 ? 0x9a : 0x9b;
		store_be32(pre + 1, (uint32_t)len);
		if (key_digest(DIGEST_SHA256, pre, 5, body, len, k.fpr) != 0)
			goto nomem;
		k.fprlen = 32;
		memcpy(k.keyid, k.fpr, 8);
		break;
	default:
		return pgps_err_set(err, PGPS_EUNSUPPORTED,
		    "key packet version %u is not supported", k.version);
	}
	*out = k;
	return 0;
 trunc:
	return pgps_err_set(err, PGPS_EFORMAT, "v%u key packet truncated "
	    "(%zu bytes)", k.version, len);
 nomem:
	return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

void
pgp_key_fpr_hex(char *out, const struct pgp_key_info *k)
{
	hex_encode_upper(out, k->fpr, k->fprlen);
}
