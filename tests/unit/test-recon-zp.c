/*
 * test-recon-zp.c: GF(p) arithmetic against values computed independently
 * (Python integers), the wire and element encodings of spec 5.1-5.5, and
 * field identities over many pseudo-random values.
 */
#include "util/common.h"

#include "recon/recon.h"
#include "util/hex.h"
#include "tap.h"

#define RNG_SEED	12345
#include "rng.h"

struct vec {
	const char	*a, *b, *sum, *diff, *prod, *inv;
};

/* Little-endian 17-octet values; inv is 1/a (0 when a is 0). */
static const struct vec vecs[] = {
	{ "0000000000000000000000000000000000",
	  "1a43a530d9851fc9df1f8b87e4101d8f01",
	  "1a43a530d9851fc9df1f8b87e4101d8f01",
	  "0100000000000000000000000000000000",
	  "0000000000000000000000000000000000",
	  "0000000000000000000000000000000000" },
	{ "0100000000000000000000000000000000",
	  "38b4e652e44da7f2370d9e260e27136501",
	  "39b4e652e44da7f2370d9e260e27136501",
	  "e48ebeddf43778d6a712ed60d6e9092a00",
	  "38b4e652e44da7f2370d9e260e27136501",
	  "0100000000000000000000000000000000" },
	{ "0200000000000000000000000000000000",
	  "0100000000000000000000000000000000",
	  "0300000000000000000000000000000000",
	  "0100000000000000000000000000000000",
	  "0200000000000000000000000000000000",
	  "8ea15298ecc28fe4ef8fc54372888ec700" },
	{ "1a43a530d9851fc9df1f8b87e4101d8f01",
	  "ffffffffffffffff000000000000000000",
	  "feffffffffffffff000000000000000000",
	  "1b43a530d9851fc9de1f8b87e4101d8f01",
	  "1c43a530d9851fc9de1f8b87e4101d8f01",
	  "1a43a530d9851fc9df1f8b87e4101d8f01" },
	{ "1943a530d9851fc9df1f8b87e4101d8f01",
	  "f130d60fcf04bd93f50ae69514da8c6500",
	  "ef30d60fcf04bd93f50ae69514da8c6500",
	  "2812cf200a816235ea14a5f1cf36902901",
	  "39e1f8103b7ca5a1f409bf5bbb5c03c400",
	  "8da15298ecc28fe4ef8fc54372888ec700" },
	{ "ffffffffffffffffffffffffffffffff00",
	  "0000000000000000000000000000000001",
	  "e4bc5acf267ae03620e074781befe27000",
	  "1a43a530d9851fc9df1f8b87e4101d8f01",
	  "c12eca3d1a418fe1ec0ec1e79ace87d300",
	  "8e47ab7cd6f79a34730e92b23b36ab5600" },
	{ "0000000000000000000000000000000001",
	  "8f0be21124179c3dd9f73817ce6e118d00",
	  "8f0be21124179c3dd9f73817ce6e118d01",
	  "71f41deedbe863c22608c7e83191ee7200",
	  "c888d06d793642ae4f51752a2b99c74d00",
	  "8489a9797c461dd1047177ef940cda8200" },
	{ "0000000000000000010000000000000000",
	  "1943a530d9851fc9df1f8b87e4101d8f01",
	  "feffffffffffffff000000000000000000",
	  "0200000000000000010000000000000000",
	  "1b43a530d9851fc9dd1f8b87e4101d8f01",
	  "4a3207548c742c78f68dd525b8738b9a00" },
	{ "ffffffffffffffff000000000000000000",
	  "d07f5c0c332f8b1224083fd22b902f8900",
	  "cf7f5c0c332f8b1225083fd22b902f8900",
	  "4ac34824a65694b6bc174cb5b880ed0501",
	  "8f9944b4731151942d24ae3e840b913701",
	  "62804329bc014264d8a458030a02d95d00" },
	{ "8da15298ecc28fe4ef8fc54372888ec700",
	  "0200000000000000000000000000000000",
	  "8fa15298ecc28fe4ef8fc54372888ec700",
	  "8ba15298ecc28fe4ef8fc54372888ec700",
	  "1a43a530d9851fc9df1f8b87e4101d8f01",
	  "1943a530d9851fc9df1f8b87e4101d8f01" },
	{ "38b4e652e44da7f2370d9e260e27136501",
	  "8da15298ecc28fe4ef8fc54372888ec700",
	  "aa1294baf78a170e487dd8e29b9e849d00",
	  "ab1294baf78a170e487dd8e29b9e849d00",
	  "ffe83107e7decbcf43193c745d7d93dc00",
	  "015cb90bf8f871659adf71963308060800" },
	{ "d07f5c0c332f8b1224083fd22b902f8900",
	  "0000000000000000000000000000000000",
	  "d07f5c0c332f8b1224083fd22b902f8900",
	  "d07f5c0c332f8b1224083fd22b902f8900",
	  "0000000000000000000000000000000000",
	  "8139b1b9e17c7c0d08fc4ddea236604d00" },
	{ "cc75f636d85099095aa300165a67036f00",
	  "0000000000000000010000000000000000",
	  "cc75f636d85099095ba300165a67036f00",
	  "cc75f636d850990959a300165a67036f00",
	  "fad9abab4ba692d7c88669860010f07a00",
	  "a2c39affeeea9fbff720bd7f769f52ef00" },
	{ "8f0be21124179c3dd9f73817ce6e118d00",
	  "b6dd210faf94acd3cf92c190237cb11f01",
	  "2aa65ef0f9252948c96a6f200ddaa51d00",
	  "f47065334e080f33e984020e8f037dfc00",
	  "82b81bc11e2559d400ce0ceeed7f0c9600",
	  "80a0492bc725678d16d05a2dee2068d400" },
	{ "b6dd210faf94acd3cf92c190237cb11f01",
	  "ffffffffffffffffffffffffffffffff00",
	  "9a9a7cded50e8d0af07236093f6b949000",
	  "b7dd210faf94acd3cf92c190237cb11f00",
	  "13cec33ed3634731feffefd55a7ec45e00",
	  "d3acab9b84822bacaba4599567dba3ae00" },
	{ "f130d60fcf04bd93f50ae69514da8c6500",
	  "cc75f636d85099095aa300165a67036f00",
	  "bda6cc46a755569d4faee6ab6e4190d400",
	  "40fe8409d03943537b8770079f83a68501",
	  "7b19019f5b139bd4ed09d726d95e4c0800",
	  "fbb5daeb3534fe98ebe09f0bc2dfaf4300" },
};

static struct zp
zp_hex(const char *h)
{
	uint8_t b[ZP_NBYTES];
	struct zp z;

	if (hex_decode(b, sizeof(b), h, strlen(h)) != 0 ||
	    zp_set_bytes(&z, b) != 0) {
		fprintf(stderr, "bad test vector %s\n", h);
		exit(99);
	}
	return z;
}

static int
zp_is_hex(const struct zp *z, const char *h)
{
	uint8_t b[ZP_NBYTES];
	char got[2 * ZP_NBYTES + 1];

	zp_get_bytes(b, z);
	hex_encode_lower(got, b, sizeof(b));
	if (strcmp(got, h) != 0) {
		diag("got %s, want %s", got, h);
		return 0;
	}
	return 1;
}

static struct zp
zp_random(void)
{
	uint8_t b[ZP_NBYTES];
	struct zp z;

	do {
		for (int i = 0; i < ZP_NBYTES; i++)
			b[i] = (uint8_t)next64();
		b[16] &= 1;
	} while (zp_set_bytes(&z, b) != 0);
	return z;
}

static void
test_vectors(void)
{
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(vecs); i++) {
		const struct vec *v = &vecs[i];
		struct zp a = zp_hex(v->a), b = zp_hex(v->b), r;

		zp_add(&r, &a, &b);
		ok(zp_is_hex(&r, v->sum), "vector %zu: a + b", i);
		zp_sub(&r, &a, &b);
		ok(zp_is_hex(&r, v->diff), "vector %zu: a - b", i);
		zp_mul(&r, &a, &b);
		ok(zp_is_hex(&r, v->prod), "vector %zu: a * b", i);
		if (zp_is_zero(&a)) {
			is_int(zp_inv(&r, &a), PGPS_EFORMAT,
			    "vector %zu: zero has no inverse", i);
		} else {
			is_int(zp_inv(&r, &a), 0, "vector %zu: inverse", i);
			ok(zp_is_hex(&r, v->inv), "vector %zu: 1/a", i);
		}
		/* Round trip of the wire form. */
		ok(zp_is_hex(&a, v->a), "vector %zu: bytes round trip", i);
	}
}

static void
test_encoding(void)
{
	/* p itself (spec 5.1) and 2^136 - 1 are not field elements. */
	static const char *bad[] = {
		"1b43a530d9851fc9df1f8b87e4101d8f01",
		"1c43a530d9851fc9df1f8b87e4101d8f01",
		"0000000000000000000000000000000002",
		"ffffffffffffffffffffffffffffffffff",
	};
	/* The worked example of spec 5.2 and 5.5. */
	static const char *sv_want[RECON_NSAMPLES] = {
		"fbddf1499499e797f497c1baf257678201",
		"faddf1499499e797f497c1baf257678201",
		"fcddf1499499e797f497c1baf257678201",
		"f9ddf1499499e797f497c1baf257678201",
		"fdddf1499499e797f497c1baf257678201",
		"f8ddf1499499e797f497c1baf257678201",
	};
	static const char *pts[RECON_NSAMPLES] = {
		"0000000000000000000000000000000000",
		"1a43a530d9851fc9df1f8b87e4101d8f01",
		"0100000000000000000000000000000000",
		"1943a530d9851fc9df1f8b87e4101d8f01",
		"0200000000000000000000000000000000",
		"1843a530d9851fc9df1f8b87e4101d8f01",
	};
	struct recon_elem e, back;
	uint8_t b[ZP_NBYTES];
	struct zp z, k, sv;

	for (size_t i = 0; i < PGPS_ARRAY_SIZE(bad); i++) {
		hex_decode(b, sizeof(b), bad[i], strlen(bad[i]));
		z.w[0] = 42;
		is_int(zp_set_bytes(&z, b), PGPS_EFORMAT, "%s rejected",
		    bad[i]);
		ok(z.w[0] == 42, "rejected value leaves output alone");
	}
	hex_decode(e.b, sizeof(e.b), "2065B3E644EC3731EB87C9CCF1B8B50C", 32);
	zp_set_elem(&z, &e);
	ok(zp_is_hex(&z, "2065b3e644ec3731eb87c9ccf1b8b50c00"),
	    "hash 2065B3E6... has wire form hash || 00");
	is_int(zp_get_elem(&back, &z), 0, "element back from field value");
	is_mem(back.b, e.b, 16, "element round trip");
	for (unsigned int i = 0; i < RECON_NSAMPLES; i++) {
		zp_point(&k, i);
		ok(zp_is_hex(&k, pts[i]), "sample point %u", i);
		zp_sub(&sv, &k, &z);
		ok(zp_is_hex(&sv, sv_want[i]), "svalue %u of {2065B3E6...}", i);
	}
	/* 2^128 is a field value but no element. */
	hex_decode(b, sizeof(b), "0000000000000000000000000000000001", 34);
	zp_set_bytes(&z, b);
	is_int(zp_get_elem(&back, &z), PGPS_EFORMAT, "2^128 is no element");
	zp_set_i64(&z, INT64_MIN);
	zp_set_u64(&k, (uint64_t)1 << 63);
	zp_add(&z, &z, &k);
	ok(zp_is_zero(&z), "zp_set_i64(INT64_MIN) = -(2^63)");
}

static void
test_identities(void)
{
	static const uint64_t pm1[3] = {
		0xc91f85d930a5431aULL, 0x8f1d10e4878b1fdfULL, 1
	};
	int fail_assoc = 0, fail_dist = 0, fail_inv = 0, fail_fermat = 0;
	int fail_sub = 0, fail_batch = 0;
	struct zp one, a, b, c, x, y, arr[8], inv[8], tmp[8];

	zp_set_u64(&one, 1);
	for (int i = 0; i < 2000; i++) {
		a = zp_random();
		b = zp_random();
		c = zp_random();
		zp_mul(&x, &a, &b);
		zp_mul(&x, &x, &c);
		zp_mul(&y, &b, &c);
		zp_mul(&y, &a, &y);
		fail_assoc += !zp_eq(&x, &y);
		zp_add(&x, &b, &c);
		zp_mul(&x, &a, &x);
		zp_mul(&y, &a, &b);
		zp_mul(&c, &a, &c);
		zp_add(&y, &y, &c);
		fail_dist += !zp_eq(&x, &y);
		zp_sub(&x, &a, &b);
		zp_add(&x, &x, &b);
		fail_sub += !zp_eq(&x, &a);
		if (!zp_is_zero(&a)) {
			zp_inv(&x, &a);
			zp_mul(&x, &x, &a);
			fail_inv += !zp_eq(&x, &one);
		}
		if (i < 50) {
			zp_pow(&x, &a, pm1);
			fail_fermat += !zp_eq(&x, &one);
		}
	}
	is_int(fail_assoc, 0, "(ab)c = a(bc) for 2000 random triples");
	is_int(fail_dist, 0, "a(b+c) = ab+ac for 2000 random triples");
	is_int(fail_sub, 0, "(a-b)+b = a for 2000 random pairs");
	is_int(fail_inv, 0, "a * 1/a = 1 for 2000 random values");
	is_int(fail_fermat, 0, "a^(p-1) = 1 for 50 random values");
	for (int i = 0; i < 100; i++) {
		for (int j = 0; j < 8; j++)
			arr[j] = zp_random();
		fail_batch += zp_inv_batch(inv, arr, tmp, 8) != 0;
		for (int j = 0; j < 8; j++) {
			zp_inv(&x, &arr[j]);
			fail_batch += !zp_eq(&x, &inv[j]);
		}
	}
	is_int(fail_batch, 0, "batch inverses equal single ones");
	zp_set_u64(&arr[3], 0);
	is_int(zp_inv_batch(inv, arr, tmp, 8), PGPS_EFORMAT,
	    "batch inverse refuses a zero");
}

int
main(void)
{
	test_vectors();
	test_encoding();
	test_identities();
	return done_testing();
}
