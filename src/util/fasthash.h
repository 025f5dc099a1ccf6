/*
 * fasthash.h: a fast keyed 128-bit hash of byte strings, for telling
 * whether two copies of something are the same bytes.
 *
 * Not cryptographic: with a key the input cannot see (a random one per
 * run), two different strings of one length share a hash with
 * probability about 2^-128, but nothing stops someone who knows the key
 * from making them.  Never use it where the hash leaves the process.
 */
#ifndef PGPSYNC_UTIL_FASTHASH_H
#define PGPSYNC_UTIL_FASTHASH_H

#include <stddef.h>
#include <stdint.h>

struct fasthash_key {
	uint64_t	 k[8];
};

/* Expands a 128-bit seed into a key; equal seeds give equal keys. */
void fasthash_key_init(struct fasthash_key *key, uint64_t seed0,
    uint64_t seed1);

/* Writes the hash of p[0..len) under key to out. */
void fasthash128(uint8_t out[16], const void *p, size_t len,
    const struct fasthash_key *key);

#endif
