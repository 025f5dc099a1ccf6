/*
 * digest.c: thin wrapper over libcrypto's EVP digests.  It does not expose
 * any OpenSSL type, so nothing above util/ includes an OpenSSL header.
 */
#include "util/common.h"

#include <pthread.h>

#include <openssl/evp.h>

#include "util/digest.h"

struct digest {
	EVP_MD_CTX	*ctx;
	const EVP_MD	*md;
};

static EVP_MD *digest_mds[3];
static pthread_once_t digest_once_ctl = PTHREAD_ONCE_INIT;

static void
digest_fetch_all(void)
{
	digest_mds[DIGEST_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
	digest_mds[DIGEST_SHA1] = EVP_MD_fetch(NULL, "SHA1", NULL);
	digest_mds[DIGEST_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
}

struct digest *
digest_new(enum digest_algo algo)
{
	struct digest *d;

	pthread_once(&digest_once_ctl, digest_fetch_all);
	if (digest_mds[algo] == NULL)
		PGPS_BUG("libcrypto lacks a digest pgpsync needs");
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if ((d->ctx = EVP_MD_CTX_new()) == NULL) {
		free(d);
		return NULL;
	}
	d->md = digest_mds[algo];
	digest_reset(d);
	return d;
}

void
digest_free(struct digest *d)
{
	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void
digest_reset(struct digest *d)
{
	if (EVP_DigestInit_ex(d->ctx, d->md, NULL) != 1)
		PGPS_BUG("EVP_DigestInit_ex failed");
}

void
digest_update(struct digest *d, const void *p, size_t len)
{
	if (len != 0 && EVP_DigestUpdate(d->ctx, p, len) != 1)
		PGPS_BUG("EVP_DigestUpdate failed");
}

size_t
digest_final(struct digest *d, uint8_t *out)
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(d->ctx, out, &n) != 1)
		PGPS_BUG("EVP_DigestFinal_ex failed");
	return n;
}

size_t
digest_once(enum digest_algo algo, const void *p, size_t len, uint8_t *out)
{
	struct digest *d = digest_new(algo);
	size_t n;

	if (d == NULL)
		PGPS_BUG("out of memory for a digest context");
	digest_update(d, p, len);
	n = digest_final(d, out);
	digest_free(d);
	return n;
}
