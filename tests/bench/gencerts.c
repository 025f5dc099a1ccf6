/*
 * gencerts: writes synthetic OpenPGP v4 certificates for scale benchmarks.
 *
 *	gencerts -n COUNT [-s SEED] [-j THREADS] [-o FILE] [-S]
 *
 * Each certificate is what a current GnuPG makes and a keyserver stores:
 * an Ed25519 primary key, one or more user IDs "Bench User N
 * <benchN@example.org>" with a positive self-certification (0x13), a
 * cv25519 subkey with its binding signature (0x18), and a skewed number of
 * third-party certifications (0x10) by other generated keys -- mostly 0-5,
 * a few hundred on some -- so the average certificate is 2-3 KB like a
 * real keyserver dump.  Every signature verifies (RFC 9580 5.2.4 hash
 * contexts, SHA-512, Ed25519), so gpg imports the output cleanly.
 *
 * The output depends only on COUNT and SEED, not on THREADS: certificate i
 * is made from its own random stream, and certificates are written in
 * order.  Third-party certifiers are the first min(COUNT, POOL_MAX) keys.
 *
 * Speed is the point: a scalar multiplication costs 50-80 us, so each
 * certificate gets exactly one, libcrypto's derivation of its Ed25519
 * public key, and two shortcuts are taken that no verifier can see.
 * Signatures take their nonce from a table instead of deriving it from the
 * message (RFC 8032 5.1.6 step 2): the nonce of a signature is the secret
 * scalar r of a random certifier-pool key, whose point R = rB libcrypto
 * already computed, so S = r + k*a mod L costs a SHA-512 and two BIGNUM
 * operations.  Reused nonces leak the secret keys, which for throw-away
 * keys does not matter; -S signs self-signatures and bindings with
 * EVP_DigestSign instead, about twice as slow.  And the cv25519
 * subkey's point is 32 random bytes, which RFC 7748 (section 5) accepts as
 * an X25519 public key; nothing ever encrypts to it.
 *
 * Not done: secret keys, revocations, expiry, v6 keys, user attributes.
 */
#include "util/common.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "util/buf.h"

#define CHUNK		256	/* certificates per unit of work */
#define POOL_MAX	4096	/* keys that certify other keys */
#define MAX_THREADS	64
#define MAX_UIDS	8

/*
 * Keys from 2015 to 2020, each signature up to a year after what it signs:
 * nothing later than 2022, so no signature is ever in the future.
 */
#define TIME_BASE	1420070400u
#define TIME_SPAN	(5u * 365 * 86400)
#define SIG_SPAN	(365u * 86400)

#define PK_EDDSA	22	/* EdDSALegacy */
#define PK_ECDH		18
#define HASH_SHA512	10
#define PUBKEY_LEN	51	/* v4 Ed25519 public key packet body */
#define SUBKEY_LEN	56	/* v4 cv25519 public key packet body */

static const uint8_t oid_ed25519[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01
};
static const uint8_t oid_cv25519[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01
};

/* Ed25519 group order L = 2^252 + 27742317777372353535851937790883648493 */
static const char order_hex[] =
    "1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED";

struct key {
	EVP_PKEY	*pkey;
	BIGNUM		*a;		/* secret scalar */
	uint8_t		 pub[32];	/* public point A = aB */
	uint8_t		 body[PUBKEY_LEN];	/* key packet body */
	uint8_t		 fpr[20];
	uint32_t	 created;
};

struct rng {
	uint64_t	 s[4];
};

/* State of one worker thread. */
struct worker {
	EVP_MD_CTX	*md;		/* SHA-512 / SHA-1 */
	EVP_MD_CTX	*sign;		/* EdDSA */
	BN_CTX		*bn;
	BIGNUM		*k, *t, *s;
};

/* One chunk of output, filled by a worker and written by main. */
struct slot {
	struct buf	 out;
	bool		 done;
};

static struct {
	uint64_t	 count;
	uint64_t	 seed;
	unsigned int	 nthreads;
	bool		 evp_self;	/* -S */
	size_t		 npool;
	struct key	*pool;
	EVP_MD		*sha512;
	EVP_MD		*sha1;
	BIGNUM		*order;
	/* work queue */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond_done;
	pthread_cond_t	 cond_room;
	uint64_t	 next;		/* next chunk to hand out */
	uint64_t	 written;	/* chunks written so far */
	uint64_t	 nchunks;
	size_t		 nslots;
	struct slot	*slots;
} g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond_done = PTHREAD_COND_INITIALIZER,
	.cond_room = PTHREAD_COND_INITIALIZER
};

PGPS_NORETURN PGPS_PRINTF(1, 2) static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("gencerts: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ------------------------------------------------------------ random --- */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Stream `stream` of the generator for the global seed (xoshiro256**). */
static void
rng_init(struct rng *r, uint64_t stream)
{
	uint64_t x = g.seed ^ splitmix64(&stream);

	for (size_t i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t v = s[1] * 5, t = s[1] << 17;

	v = ((v << 7) | (v >> 57)) * 9;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return v;
}

/* Uniform in [0, n), n > 0 (the bias is irrelevant here). */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)((rng_next(r) >> 32) * n >> 32);
}

static void
rng_bytes(struct rng *r, uint8_t *p, size_t n)
{
	while (n > 0) {
		uint64_t v = rng_next(r);
		size_t m = n < 8 ? n : 8;

		memcpy(p, &v, m);
		p += m;
		n -= m;
	}
}

/*
 * Third-party certifications on one certificate: most have a handful,
 * some dozens, a few hundred, as on the keyserver network.
 */
static uint32_t
rng_nsigs(struct rng *r)
{
	uint32_t u = rng_below(r, 1000);

	if (u < 800)
		return rng_below(r, 6);
	if (u < 970)
		return 6 + rng_below(r, 45);
	return 50 + rng_below(r, 400);
}

static uint32_t
rng_nuids(struct rng *r)
{
	uint32_t u = rng_below(r, 100);

	if (u < 70)
		return 1;
	if (u < 90)
		return 2;
	return 3 + rng_below(r, 4);
}

/* ------------------------------------------------------------- bytes --- */

static void
put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
add(struct buf *b, const void *p, size_t n)
{
	if (buf_add(b, p, n) != 0)
		die("out of memory");
}

/* A legacy-format packet header, the shortest that fits, as gpg writes. */
static void
add_header(struct buf *b, uint8_t tag, size_t len)
{
	uint8_t h[5];

	if (len < 256) {
		h[0] = 0x80 | (uint8_t)(tag << 2);
		h[1] = (uint8_t)len;
		add(b, h, 2);
	} else if (len < 65536) {
		h[0] = 0x80 | (uint8_t)(tag << 2) | 1;
		put_be16(h + 1, (uint32_t)len);
		add(b, h, 3);
	} else {
		h[0] = 0x80 | (uint8_t)(tag << 2) | 2;
		put_be32(h + 1, (uint32_t)len);
		add(b, h, 5);
	}
}

static void
add_packet(struct buf *b, uint8_t tag, const void *body, size_t len)
{
	add_header(b, tag, len);
	add(b, body, len);
}

/* A 32-byte native EdDSA value as an MPI (RFC 9580 5.2.3.3). */
static size_t
put_mpi32(uint8_t *p, const uint8_t *v)
{
	size_t i = 0, bits;

	while (i < 31 && v[i] == 0)
		i++;
	bits = (32 - i - 1) * 8;
	for (uint8_t c = v[i]; c != 0; c >>= 1)
		bits++;
	put_be16(p, (uint32_t)bits);
	memcpy(p + 2, v + i, 32 - i);
	return 2 + 32 - i;
}

/* ----------------------------------------------------------- hashing --- */

static void
md_init(struct worker *w, const EVP_MD *md)
{
	if (EVP_DigestInit_ex(w->md, md, NULL) != 1)
		die("EVP_DigestInit_ex failed");
}

static void
md_update(struct worker *w, const void *p, size_t n)
{
	if (EVP_DigestUpdate(w->md, p, n) != 1)
		die("EVP_DigestUpdate failed");
}

static void
md_final(struct worker *w, uint8_t *out)
{
	if (EVP_DigestFinal_ex(w->md, out, NULL) != 1)
		die("EVP_DigestFinal_ex failed");
}

/* Hashes a key packet body as signatures and fingerprints do: 0x99, len. */
static void
md_key(struct worker *w, const uint8_t *body, size_t len)
{
	uint8_t h[3] = { 0x99, (uint8_t)(len >> 8), (uint8_t)len };

	md_update(w, h, 3);
	md_update(w, body, len);
}

static void
md_uid(struct worker *w, const char *uid, size_t len)
{
	uint8_t h[5] = { 0xb4 };

	put_be32(h + 1, (uint32_t)len);
	md_update(w, h, 5);
	md_update(w, uid, len);
}

/* ---------------------------------------------------------------- keys --- */

/*
 * Makes key i: its Ed25519 key from libcrypto and its secret scalar, the
 * clamped first half of SHA-512(seed) (RFC 8032 5.1.5).  The public key
 * packet is version 4, created, algorithm 22, the Ed25519 OID, and the
 * point as an MPI of 263 bits (0x40 prefix + 32 bytes; RFC 9580 5.5.5.5).
 */
static void
key_make(struct worker *w, struct key *k, uint64_t i)
{
	struct rng r;
	uint8_t seed[32], h[64], *p = k->body;
	size_t len = 32;

	rng_init(&r, 2 * i);
	k->created = TIME_BASE + rng_below(&r, TIME_SPAN);
	rng_bytes(&r, seed, sizeof(seed));
	k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed));
	if (k->pkey == NULL ||
	    EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &len) != 1 ||
	    len != 32)
		die("cannot make an Ed25519 key");
	md_init(w, g.sha512);
	md_update(w, seed, sizeof(seed));
	md_final(w, h);
	h[0] &= 248;
	h[31] &= 127;
	h[31] |= 64;
	if ((k->a = BN_lebin2bn(h, 32, NULL)) == NULL)
		die("out of memory");

	*p++ = 4;
	put_be32(p, k->created);
	p += 4;
	*p++ = PK_EDDSA;
	*p++ = sizeof(oid_ed25519);
	memcpy(p, oid_ed25519, sizeof(oid_ed25519));
	p += sizeof(oid_ed25519);
	put_be16(p, 263);
	p[2] = 0x40;
	memcpy(p + 3, k->pub, 32);

	md_init(w, g.sha1);
	md_key(w, k->body, PUBKEY_LEN);
	md_final(w, k->fpr);
}

static void
key_free(struct key *k)
{
	EVP_PKEY_free(k->pkey);
	BN_free(k->a);
}

/*
 * The cv25519 subkey packet: the point behind the 0x40 prefix, then KDF
 * parameters SHA-256 / AES-128 as gpg writes them (RFC 9580 5.5.5.6).
 */
static void
subkey_make(struct rng *r, uint32_t created, uint8_t *body)
{
	uint8_t *p = body;

	*p++ = 4;
	put_be32(p, created);
	p += 4;
	*p++ = PK_ECDH;
	*p++ = sizeof(oid_cv25519);
	memcpy(p, oid_cv25519, sizeof(oid_cv25519));
	p += sizeof(oid_cv25519);
	put_be16(p, 263);
	p[2] = 0x40;
	rng_bytes(r, p + 3, 32);
	p[3 + 31] &= 0x7f;
	p += 35;
	p[0] = 3;		/* KDF parameters: length, reserved 1, */
	p[1] = 1;
	p[2] = 8;		/* SHA-256, */
	p[3] = 7;		/* AES-128 */
}

/* ---------------------------------------------------------- signatures --- */

/* Ed25519 signature R || S of msg by k through libcrypto. */
static void
sign_evp(struct worker *w, const struct key *k, const uint8_t *msg,
    size_t len, uint8_t *sig)
{
	size_t siglen = 64;

	/*
	 * Reset first: OpenSSL 3.0 re-initialised without a reset keeps
	 * signing with the previous Ed25519 key.
	 */
	if (EVP_MD_CTX_reset(w->sign) != 1 ||
	    EVP_DigestSignInit(w->sign, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(w->sign, sig, &siglen, msg, len) != 1 ||
	    siglen != 64)
		die("Ed25519 signing failed");
}

/*
 * Ed25519 signature of msg by k with the nonce scalar of key nonce:
 * R = nonce's point, h = SHA-512(R || A || msg), S = r + h * a mod L
 * (RFC 8032 5.1.6 steps 3-5).
 */
static void
sign_fast(struct worker *w, const struct key *k, const struct key *nonce,
    const uint8_t *msg, size_t len, uint8_t *sig)
{
	uint8_t h[64];

	md_init(w, g.sha512);
	md_update(w, nonce->pub, 32);
	md_update(w, k->pub, 32);
	md_update(w, msg, len);
	md_final(w, h);
	if (BN_lebin2bn(h, 64, w->k) == NULL ||
	    !BN_mod_mul(w->t, w->k, k->a, g.order, w->bn) ||
	    !BN_mod_add(w->s, w->t, nonce->a, g.order, w->bn))
		die("BIGNUM arithmetic failed");
	memcpy(sig, nonce->pub, 32);
	if (BN_bn2lebinpad(w->s, sig + 32, 32) != 32)
		die("BIGNUM arithmetic failed");
}

enum sig_kind {
	SIG_SELF,		/* 0x13 with preferences, as gpg writes */
	SIG_BINDING,		/* 0x18 */
	SIG_CERT		/* third-party 0x10 */
};

/*
 * Appends a v4 signature packet by signer.  The caller has already fed
 * the hash context (key, then user ID or subkey) into w->md; this adds
 * the hashed part of the signature and its trailer (RFC 9580 5.2.4).
 */
static void
add_sig(struct worker *w, struct buf *out, const struct key *signer,
    enum sig_kind kind, uint32_t created, struct rng *r)
{
	static const uint8_t prefs[] = {
		5, 11, 9, 8, 7, 2,		/* symmetric: AES256.. */
		6, 21, 10, 9, 8, 11, 2,		/* hash: SHA512.. */
		4, 22, 2, 3, 1,			/* compression */
		2, 30, 1,			/* features: SEIPD v1 */
		2, 23, 0x80			/* keyserver: no-modify */
	};
	uint8_t b[256], *p = b, *hashed, trailer[6], digest[64], sig[64];
	size_t hlen;

	*p++ = 4;
	*p++ = kind == SIG_SELF ? 0x13 : kind == SIG_BINDING ? 0x18 : 0x10;
	*p++ = PK_EDDSA;
	*p++ = HASH_SHA512;
	p += 2;			/* hashed subpacket length, below */
	hashed = p;
	*p++ = 22;		/* issuer fingerprint, v4 */
	*p++ = 33;
	*p++ = 4;
	memcpy(p, signer->fpr, 20);
	p += 20;
	*p++ = 5;		/* signature creation time */
	*p++ = 2;
	put_be32(p, created);
	p += 4;
	if (kind != SIG_CERT) {
		*p++ = 2;	/* key flags */
		*p++ = 27;
		*p++ = kind == SIG_SELF ? 0x03 : 0x0c;
	}
	if (kind == SIG_SELF) {
		memcpy(p, prefs, sizeof(prefs));
		p += sizeof(prefs);
	}
	put_be16(hashed - 2, (uint32_t)(p - hashed));
	hlen = (size_t)(p - b);

	trailer[0] = 4;
	trailer[1] = 0xff;
	put_be32(trailer + 2, (uint32_t)hlen);
	md_update(w, b, hlen);
	md_update(w, trailer, sizeof(trailer));
	md_final(w, digest);

	/* EdDSALegacy signs the digest itself (RFC 9580 5.2.3.3) */
	if (g.evp_self && kind != SIG_CERT)
		sign_evp(w, signer, digest, sizeof(digest), sig);
	else
		sign_fast(w, signer, &g.pool[rng_below(r, (uint32_t)g.npool)],
		    digest, sizeof(digest), sig);

	put_be16(p, 10);	/* unhashed: issuer key ID */
	p += 2;
	*p++ = 9;
	*p++ = 16;
	memcpy(p, signer->fpr + 12, 8);
	p += 8;
	*p++ = digest[0];
	*p++ = digest[1];
	p += put_mpi32(p, sig);
	p += put_mpi32(p, sig + 32);
	add_packet(out, 2, b, (size_t)(p - b));
}

/* ------------------------------------------------------- certificates --- */

static uint32_t
later(struct rng *r, uint32_t t)
{
	return t + rng_below(r, SIG_SPAN);
}

static void
make_cert(struct worker *w, struct buf *out, uint64_t i)
{
	struct key own, *k;
	struct rng r;
	char uid[MAX_UIDS][96];
	size_t uidlen[MAX_UIDS];
	uint32_t nuids, nsigs, sigs_on[MAX_UIDS] = { 0 }, sub_created;
	uint8_t sub[SUBKEY_LEN];

	if (i < g.npool) {
		k = &g.pool[i];
	} else {
		key_make(w, &own, i);
		k = &own;
	}
	rng_init(&r, 2 * i + 1);
	nuids = rng_nuids(&r);
	nsigs = g.npool > 1 ? rng_nsigs(&r) : 0;
	for (uint32_t j = 0; j < nsigs; j++)	/* most on the first UID */
		sigs_on[rng_below(&r, 3) == 0 ? rng_below(&r, nuids) : 0]++;

	add_packet(out, 6, k->body, PUBKEY_LEN);
	for (uint32_t u = 0; u < nuids; u++) {
		int n;

		if (u == 0)
			n = snprintf(uid[u], sizeof(uid[u]),
			    "Bench User %" PRIu64 " <bench%" PRIu64
			    "@example.org>", i, i);
		else
			n = snprintf(uid[u], sizeof(uid[u]),
			    "Bench User %" PRIu64 " <bench%" PRIu64
			    ".%u@example.org>", i, i, u);
		if (n < 0 || (size_t)n >= sizeof(uid[u]))
			die("user ID too long");
		uidlen[u] = (size_t)n;
		add_packet(out, 13, uid[u], uidlen[u]);

		md_init(w, g.sha512);
		md_key(w, k->body, PUBKEY_LEN);
		md_uid(w, uid[u], uidlen[u]);
		add_sig(w, out, k, SIG_SELF, later(&r, k->created), &r);

		for (uint32_t j = 0; j < sigs_on[u]; j++) {
			uint64_t c;
			const struct key *ck;
			uint32_t t;

			do
				c = rng_below(&r, (uint32_t)g.npool);
			while (c == i);
			ck = &g.pool[c];
			t = ck->created > k->created ? ck->created :
			    k->created;
			md_init(w, g.sha512);
			md_key(w, k->body, PUBKEY_LEN);
			md_uid(w, uid[u], uidlen[u]);
			add_sig(w, out, ck, SIG_CERT, later(&r, t), &r);
		}
	}

	sub_created = later(&r, k->created);
	subkey_make(&r, sub_created, sub);
	add_packet(out, 14, sub, sizeof(sub));
	md_init(w, g.sha512);
	md_key(w, k->body, PUBKEY_LEN);
	md_key(w, sub, sizeof(sub));
	add_sig(w, out, k, SIG_BINDING, later(&r, sub_created), &r);

	if (k == &own)
		key_free(&own);
}

/* -------------------------------------------------------------- threads --- */

static void
worker_init(struct worker *w)
{
	w->md = EVP_MD_CTX_new();
	w->sign = EVP_MD_CTX_new();
	w->bn = BN_CTX_new();
	w->k = BN_new();
	w->t = BN_new();
	w->s = BN_new();
	if (w->md == NULL || w->sign == NULL || w->bn == NULL ||
	    w->k == NULL || w->t == NULL || w->s == NULL)
		die("out of memory");
}

static void
worker_release(struct worker *w)
{
	EVP_MD_CTX_free(w->md);
	EVP_MD_CTX_free(w->sign);
	BN_CTX_free(w->bn);
	BN_free(w->k);
	BN_free(w->t);
	BN_free(w->s);
}

struct pool_job {
	size_t		 from, to;
};

static void *
pool_thread(void *arg)
{
	struct pool_job *job = arg;
	struct worker w;

	worker_init(&w);
	for (size_t i = job->from; i < job->to; i++)
		key_make(&w, &g.pool[i], i);
	worker_release(&w);
	return NULL;
}

static void *
cert_thread(void *arg)
{
	struct worker w;

	(void)arg;
	worker_init(&w);
	for (;;) {
		uint64_t c;
		struct slot *s;

		pthread_mutex_lock(&g.lock);
		while (g.next < g.nchunks && g.next >= g.written + g.nslots)
			pthread_cond_wait(&g.cond_room, &g.lock);
		if (g.next >= g.nchunks) {
			pthread_mutex_unlock(&g.lock);
			break;
		}
		c = g.next++;
		pthread_mutex_unlock(&g.lock);

		s = &g.slots[c % g.nslots];
		buf_reset(&s->out);
		for (uint64_t i = c * CHUNK; i < (c + 1) * CHUNK &&
		    i < g.count; i++)
			make_cert(&w, &s->out, i);

		pthread_mutex_lock(&g.lock);
		s->done = true;
		pthread_cond_broadcast(&g.cond_done);
		pthread_mutex_unlock(&g.lock);
	}
	worker_release(&w);
	return NULL;
}

static void
start_threads(pthread_t *tid, unsigned int n, void *(*fn)(void *),
    void *args, size_t argsize)
{
	for (unsigned int t = 0; t < n; t++) {
		int e = pthread_create(&tid[t], NULL, fn,
		    args != NULL ? (char *)args + t * argsize : NULL);

		if (e != 0)
			die("pthread_create: %s", strerror(e));
	}
}

static void
join_threads(pthread_t *tid, unsigned int n)
{
	for (unsigned int t = 0; t < n; t++)
		pthread_join(tid[t], NULL);
}

static void
make_pool(void)
{
	pthread_t tid[MAX_THREADS];
	struct pool_job job[MAX_THREADS];
	unsigned int n = g.nthreads;

	g.npool = g.count < POOL_MAX ? (size_t)g.count : POOL_MAX;
	if ((g.pool = calloc(g.npool + 1, sizeof(*g.pool))) == NULL)
		die("out of memory");
	for (unsigned int t = 0; t < n; t++) {
		job[t].from = g.npool * t / n;
		job[t].to = g.npool * (t + 1) / n;
	}
	start_threads(tid, n, pool_thread, job, sizeof(job[0]));
	join_threads(tid, n);
}

static void
write_all(FILE *fp, const char *name)
{
	pthread_t tid[MAX_THREADS];

	g.nchunks = (g.count + CHUNK - 1) / CHUNK;
	g.nslots = 4 * (size_t)g.nthreads;
	if ((g.slots = calloc(g.nslots, sizeof(*g.slots))) == NULL)
		die("out of memory");
	for (size_t s = 0; s < g.nslots; s++)
		buf_init(&g.slots[s].out, 0);
	start_threads(tid, g.nthreads, cert_thread, NULL, 0);

	for (uint64_t c = 0; c < g.nchunks; c++) {
		struct slot *s = &g.slots[c % g.nslots];

		pthread_mutex_lock(&g.lock);
		while (!s->done)
			pthread_cond_wait(&g.cond_done, &g.lock);
		pthread_mutex_unlock(&g.lock);
		if (fwrite(s->out.p, 1, s->out.len, fp) != s->out.len)
			die("%s: %s", name, strerror(errno));
		pthread_mutex_lock(&g.lock);
		s->done = false;
		g.written++;
		pthread_cond_broadcast(&g.cond_room);
		pthread_mutex_unlock(&g.lock);
	}
	join_threads(tid, g.nthreads);
	for (size_t s = 0; s < g.nslots; s++)
		buf_release(&g.slots[s].out);
	free(g.slots);
}

/* ----------------------------------------------------------------- main --- */

static uint64_t
parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-')
		die("%s: '%s' is not a number", what, s);
	return (uint64_t)v;
}

static void
usage(void)
{
	fputs("usage: gencerts -n COUNT [-s SEED] [-j THREADS] [-o FILE] "
	    "[-S]\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *outname = NULL;
	char tmpname[4096];
	FILE *fp = stdout;
	long ncpu;
	bool have_count = false;
	int ch;

	g.seed = 1;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	g.nthreads = ncpu < 1 ? 1 : ncpu > MAX_THREADS ? MAX_THREADS :
	    (unsigned int)ncpu;
	while ((ch = getopt(argc, argv, "Sj:n:o:s:")) != -1) {
		switch (ch) {
		case 'j':
			g.nthreads = (unsigned int)parse_u64(optarg, "-j");
			if (g.nthreads < 1 || g.nthreads > MAX_THREADS)
				die("-j wants 1..%d", MAX_THREADS);
			break;
		case 'n':
			g.count = parse_u64(optarg, "-n");
			have_count = true;
			break;
		case 'o':
			outname = optarg;
			break;
		case 's':
			g.seed = parse_u64(optarg, "-s");
			break;
		case 'S':
			g.evp_self = true;
			break;
		default:
			usage();
		}
	}
	if (!have_count || optind != argc)
		usage();
	if (outname == NULL && isatty(STDOUT_FILENO))
		die("refusing to write binary data to a terminal; use -o");

	g.sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	g.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (g.sha512 == NULL || g.sha1 == NULL ||
	    BN_hex2bn(&g.order, order_hex) == 0)
		die("libcrypto initialisation failed");

	/* Write to a temporary name so an interrupted run leaves no file. */
	if (outname != NULL) {
		int n = snprintf(tmpname, sizeof(tmpname), "%s.tmp", outname);

		if (n < 0 || (size_t)n >= sizeof(tmpname))
			die("output name too long");
		if ((fp = fopen(tmpname, "wb")) == NULL)
			die("%s: %s", tmpname, strerror(errno));
	}

	make_pool();
	write_all(fp, outname != NULL ? outname : "stdout");

	if (fflush(fp) != 0 || ferror(fp) ||
	    (outname != NULL && fclose(fp) != 0))
		die("%s: %s", outname != NULL ? outname : "stdout",
		    strerror(errno));
	if (outname != NULL && rename(tmpname, outname) != 0)
		die("%s: %s", outname, strerror(errno));

	for (size_t i = 0; i < g.npool; i++)
		key_free(&g.pool[i]);
	free(g.pool);
	EVP_MD_free(g.sha512);
	EVP_MD_free(g.sha1);
	BN_free(g.order);
	return 0;
}
