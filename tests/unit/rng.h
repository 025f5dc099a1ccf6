/*
 * rng.h: the seeded generator (splitmix64) of the recon tests and
 * benchmarks, so that every run sees the same "random" sets.  Define
 * RNG_SEED before including it to pick the sequence; assign rng to start
 * a sequence again.
 */
#ifndef PGPSYNC_TESTS_RNG_H
#define PGPSYNC_TESTS_RNG_H

#include <stdint.h>
#include <string.h>

#ifndef RNG_SEED
#define RNG_SEED	1
#endif

static uint64_t rng = RNG_SEED;

static inline uint64_t
next64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Fills 16 octets (an element) from two draws, in order. */
static inline void
rng_fill16(uint8_t out[16])
{
	uint64_t a = next64(), b = next64();

	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}

#endif
