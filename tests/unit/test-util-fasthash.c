/*
 * test-util-fasthash.c: the fast keyed hash that "pgpsync diff" uses to
 * tell identical certificates apart without SKS-hashing them: fixed
 * output for a fixed key, every byte and the length count, and the
 * output bits look independent of the input bits.
 */
#include "util/common.h"

#include "tap.h"
#include "util/fasthash.h"
#include "util/hex.h"

static void
hash_hex(char out[33], const void *p, size_t len,
    const struct fasthash_key *k)
{
	uint8_t h[16];

	fasthash128(h, p, len, k);
	hex_encode_lower(out, h, 16);
}

static int
cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* True when the n 16-byte hashes in v are all different (sorts v). */
static bool
all_distinct(uint8_t (*v)[16], size_t n)
{
	qsort(v, n, 16, cmp16);
	for (size_t i = 1; i < n; i++)
		if (memcmp(v[i], v[i - 1], 16) == 0)
			return false;
	return true;
}

static int
popcount128(const uint8_t *a, const uint8_t *b)
{
	int n = 0;

	for (size_t i = 0; i < 16; i++)
		for (uint8_t x = a[i] ^ b[i]; x != 0; x &= (uint8_t)(x - 1))
			n++;
	return n;
}

static void
test_known_answers(void)
{
	/* The output must not change between builds or platforms. */
	static const struct {
		size_t		 len;
		const char	*hex;
	} kat[] = {
		{ 0, "70f35eaf118de864dc95c86a35022020" },
		{ 1, "cbabbb1832a698ae45e542b32528af58" },
		{ 15, "c7cae1350f6e54ef912d04ba7b8fb92b" },
		{ 16, "502a6d472ece4a70500948a4d97b1aa1" },
		{ 31, "9d7fe84da4bb9f1a9fc194a3cee0acd2" },
		{ 32, "e20e9130a929253c838ee2e9ae8f4400" },
		{ 33, "b357fd2891962f6bc01a2e2fd1be4f25" },
		{ 64, "7486e692eac5a8c441c6042fd8f40e92" },
		{ 100, "6cd530fc59d934c95dbefdd042a9d43f" },
	};
	struct fasthash_key k;
	uint8_t buf[100];
	char hex[33];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	fasthash_key_init(&k, 0, 0);
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		hash_hex(hex, buf, kat[i].len, &k);
		is_str(hex, kat[i].hex, "bytes 0..%zu under the zero seed",
		    kat[i].len);
	}
	fasthash_key_init(&k, 0x0123456789abcdefULL, 0xfedcba9876543210ULL);
	hash_hex(hex, "pgpsync", 7, &k);
	is_str(hex, "5e12b68f99a45a9c94f365a563a8a8de",
	    "\"pgpsync\" under another seed");
}

static void
test_keys(void)
{
	struct fasthash_key k1, k2, k3;
	uint8_t a[16], b[16], c[16];
	const char *msg = "the same bytes under three keys";

	fasthash_key_init(&k1, 1, 2);
	fasthash_key_init(&k2, 1, 2);
	fasthash_key_init(&k3, 1, 3);
	fasthash128(a, msg, strlen(msg), &k1);
	fasthash128(b, msg, strlen(msg), &k2);
	fasthash128(c, msg, strlen(msg), &k3);
	ok(memcmp(a, b, 16) == 0, "equal seeds hash alike");
	ok(memcmp(a, c, 16) != 0, "a seed differing in one bit hashes "
	    "differently");
	fasthash_key_init(&k3, 2, 2);
	fasthash128(c, msg, strlen(msg), &k3);
	ok(memcmp(a, c, 16) != 0, "the first seed word counts too");
}

static void
test_lengths_and_padding(void)
{
	/* Zero bytes at the end must not meet the shorter input. */
	static uint8_t zeros[300];
	uint8_t (*v)[16] = calloc(sizeof(zeros) + 1, 16);
	struct fasthash_key k;

	fasthash_key_init(&k, 7, 7);
	for (size_t n = 0; n <= sizeof(zeros); n++)
		fasthash128(v[n], zeros, n, &k);
	ok(all_distinct(v, sizeof(zeros) + 1),
	    "0 to 300 zero bytes: all 301 hashes differ");
	free(v);
}

static void
test_alignment(void)
{
	uint8_t buf[200 + 8], a[16], b[16];
	struct fasthash_key k;
	bool same = true;

	fasthash_key_init(&k, 3, 4);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	fasthash128(a, buf, 200, &k);
	for (size_t off = 1; off < 8; off++) {
		memmove(buf + off, buf + off - 1, 200);
		fasthash128(b, buf + off, 200, &k);
		same = same && memcmp(a, b, 16) == 0;
	}
	ok(same, "the same bytes at any alignment hash alike");
}

/*
 * Every single-bit change of a certificate-sized input gives a hash of
 * its own, and about half the output bits flip each time.
 */
static void
test_bit_flips(void)
{
	enum { LEN = 1000 };
	uint8_t *buf = malloc(LEN), orig[16];
	uint8_t (*v)[16] = calloc(LEN * 8 + 1, 16);
	struct fasthash_key k;
	long flipped = 0;
	int minb = 128, maxb = 0;

	fasthash_key_init(&k, 0x5eed, 0xfeed);
	for (size_t i = 0; i < LEN; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	fasthash128(orig, buf, LEN, &k);
	memcpy(v[0], orig, 16);
	for (size_t bit = 0; bit < LEN * 8; bit++) {
		int d;

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		fasthash128(v[bit + 1], buf, LEN, &k);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		d = popcount128(orig, v[bit + 1]);
		flipped += d;
		minb = d < minb ? d : minb;
		maxb = d > maxb ? d : maxb;
	}
	diag("one-bit changes flip %d to %d output bits", minb, maxb);
	ok(all_distinct(v, LEN * 8 + 1), "all 8000 one-bit changes of 1000 "
	    "bytes hash differently");
	/* 8000 trials of Binomial(128, 1/2): mean 64 +- 0.06. */
	ok(flipped >= 63L * LEN * 8 && flipped <= 65L * LEN * 8,
	    "a one-bit change flips half the output bits on average (%.2f)",
	    (double)flipped / (LEN * 8));
	/* Outside 34..94 has probability under 1e-9 per trial. */
	ok(minb >= 34 && maxb <= 94, "and never few or most of them");
	free(v);
	free(buf);
}

static void
test_positions(void)
{
	uint8_t buf[128], a[16], b[16];
	struct fasthash_key k;

	fasthash_key_init(&k, 11, 12);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	fasthash128(a, buf, sizeof(buf), &k);
	/* Swap the first two 32-byte blocks. */
	for (size_t i = 0; i < 32; i++) {
		uint8_t t = buf[i];

		buf[i] = buf[32 + i];
		buf[32 + i] = t;
	}
	fasthash128(b, buf, sizeof(buf), &k);
	ok(memcmp(a, b, 16) != 0, "swapping two blocks changes the hash");
	/* Swap two 8-byte words within a block. */
	for (size_t i = 0; i < 8; i++) {
		uint8_t t = buf[64 + i];

		buf[64 + i] = buf[72 + i];
		buf[72 + i] = t;
	}
	fasthash128(a, buf, sizeof(buf), &k);
	ok(memcmp(a, b, 16) != 0, "swapping two words changes the hash");
}

int
main(void)
{
	test_known_answers();
	test_keys();
	test_lengths_and_padding();
	test_alignment();
	test_bit_flips();
	test_positions();
	return done_testing();
}
