/*
 * digest.h: MD5, SHA-1 and SHA-256 for the core.
 *
 * Backed by OpenSSL's libcrypto, whose hand-written assembly for x86-64 and
 * arm64 is the fastest of the hash implementations Debian packages (and uses
 * the SHA extensions where the CPU has them).  The algorithm objects are
 * fetched once per process, not per certificate: OpenSSL 3's implicit fetch
 * in EVP_DigestInit would otherwise take a lock for every key hashed.
 */
#ifndef PGPSYNC_UTIL_DIGEST_H
#define PGPSYNC_UTIL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

enum digest_algo {
	DIGEST_MD5,
	DIGEST_SHA1,
	DIGEST_SHA256
};

#define DIGEST_MAX	32

struct digest;		/* opaque; one per thread */

/* Returns a new context for algo, or NULL when out of memory. */
struct digest *digest_new(enum digest_algo algo);
void digest_free(struct digest *d);
void digest_reset(struct digest *d);
void digest_update(struct digest *d, const void *p, size_t len);
/* Writes the digest to out and returns its length; d must be reset to reuse. */
size_t digest_final(struct digest *d, uint8_t *out);
/* One-shot convenience: returns the digest length written to out. */
size_t digest_once(enum digest_algo algo, const void *p, size_t len,
    uint8_t *out);

#endif
