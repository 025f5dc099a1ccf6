/*
 * fasthash.c: a keyed 128-bit non-cryptographic hash in the style of
 * wyhash: each 16-byte chunk is multiplied, 64 by 64 bits, into a chain
 * whose state enters the product, so position matters and the work per
 * byte is a few instructions.  It is memory-bound on long inputs.
 *
 * Four chains run side by side over 32-byte blocks: two (a, b) see the
 * first two words and two (c, d) the last two, each under its own key
 * word, and each half of the output takes one chain of each pair, so a
 * difference confined to a few words must collide in two independent
 * chains.  The last partial block is padded with zeros and the length
 * is mixed in at the end, so padding cannot make two lengths meet.
 *
 * The output is the same on every platform (words are read
 * little-endian), which the unit test pins.  Not for authentication.
 */
#include "util/common.h"

#include "util/fasthash.h"

/* The 128-bit product of a and b, its halves folded by xor. */
static inline uint64_t
mum(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
	__extension__ unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
	uint64_t al = a & 0xffffffff, ah = a >> 32;
	uint64_t bl = b & 0xffffffff, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
	uint64_t lo = (ll & 0xffffffff) | (mid << 32);
	uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);

	return lo ^ hi;
#endif
}

static inline uint64_t
load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* splitmix64: a well-spread sequence from any seed. */
static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
fasthash_key_init(struct fasthash_key *key, uint64_t seed0, uint64_t seed1)
{
	uint64_t s = seed0 ^ splitmix(&seed1);

	for (size_t i = 0; i < 8; i++)
		key->k[i] = splitmix(&s);
}

/* A final avalanche, so every output bit depends on every state bit. */
static inline uint64_t
finish(uint64_t x, uint64_t k)
{
	x ^= x >> 32;
	x = mum(x ^ k, 0x9fb21c651e98df25ULL);
	return x ^ (x >> 29);
}

void
fasthash128(uint8_t out[16], const void *p, size_t len,
    const struct fasthash_key *key)
{
	const uint64_t *k = key->k;
	const uint8_t *s = p;
	uint64_t a = k[4], b = k[5], c = k[6], d = k[7];
	uint64_t lo, hi;
	size_t n = len;
	uint8_t tail[32];

	while (n >= 32) {
		uint64_t w0 = load64(s), w1 = load64(s + 8);
		uint64_t w2 = load64(s + 16), w3 = load64(s + 24);

		a = mum(w0 ^ k[0], w1 ^ a);
		b = mum(w1 ^ k[1], w0 ^ b);
		c = mum(w2 ^ k[2], w3 ^ c);
		d = mum(w3 ^ k[3], w2 ^ d);
		s += 32;
		n -= 32;
	}
	if (n > 0) {
		uint64_t w0, w1, w2, w3;

		memset(tail, 0, sizeof(tail));
		memcpy(tail, s, n);
		w0 = load64(tail);
		w1 = load64(tail + 8);
		w2 = load64(tail + 16);
		w3 = load64(tail + 24);
		a = mum(w0 ^ k[0], w1 ^ a);
		b = mum(w1 ^ k[1], w0 ^ b);
		c = mum(w2 ^ k[2], w3 ^ c);
		d = mum(w3 ^ k[3], w2 ^ d);
	}
	lo = mum(a ^ k[4] ^ (uint64_t)len, c ^ k[5]);
	hi = mum(b ^ k[6] ^ (uint64_t)len, d ^ k[7]);
	lo = finish(lo, k[0]);
	hi = finish(hi, k[1]);
	for (size_t i = 0; i < 8; i++) {
		out[i] = (uint8_t)(lo >> (8 * i));
		out[8 + i] = (uint8_t)(hi >> (8 * i));
	}
}
