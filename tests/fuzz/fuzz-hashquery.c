/*
 * fuzz-hashquery.c: an SKS /pks/hashquery answer on arbitrary bytes, read
 * as reconcile reads it: the framing (net_hashquery_begin(), _next()) and
 * each certificate through the import rule for hashquery answers
 * (import_hashquery(): taken only when its SKS hash was asked for and not
 * answered before).
 *
 * The first octet is how many hashes were asked for; the hashes asked
 * for are those of the first certificates of the answer (as many as the
 * second octet says), so that mutations reach the accepted path too.  A
 * request body for them is built and checked as well.  Besides memory
 * errors it checks that the reader makes progress and stays inside the
 * body, that no more certificates come than were announced, and that a
 * hash is taken at most once and only when asked for.
 */
#include "util/common.h"

#include "keyset/import.h"
#include "net/net.h"
#include "openpgp/openpgp.h"
#include "util/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ASK	16

struct want {
	uint8_t	 h[MAX_ASK][16];
	bool	 got[MAX_ASK];
	size_t	 n;
};

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz-hashquery: %s\n", what);
	abort();
}

static bool
want_fn(const uint8_t hash[16], const struct pgp_cert *c, void *arg)
{
	struct want *w = arg;

	(void)c;
	for (size_t i = 0; i < w->n; i++)
		if (!w->got[i] && memcmp(w->h[i], hash, 16) == 0) {
			w->got[i] = true;
			return true;
		}
	return false;
}

/* The SKS hashes of the first certificates of the answer. */
static void
first_hashes(struct want *w, size_t want, const uint8_t *p, size_t n,
    struct digest *md5)
{
	struct net_hashquery_reader rd;
	struct pgp_cert c = PGP_CERT_INIT;
	struct span cert;

	w->n = 0;
	if (net_hashquery_begin(&rd, p, n, SIZE_MAX, NULL) != 0)
		return;
	while (w->n < want && net_hashquery_next(&rd, &cert, NULL) == 1)
		if (pgp_cert_parse(&c, cert.p, cert.len, 0, NULL) == 0 &&
		    pgp_cert_sks_hash(&c, md5, w->h[w->n]) == 0)
			w->n++;
	pgp_cert_release(&c);
}

/*
 * An accepted certificate is one asked for: its SKS hash, computed here
 * again, is the one the verdict names and one of the hashes asked.
 */
static void
check_taken(const struct import_item *it, const struct pgp_cert *c,
    const struct want *w, struct digest *md5)
{
	uint8_t h[16];
	bool asked = false;

	if (pgp_cert_sks_hash(c, md5, h) != 0)
		fail("an accepted certificate that cannot be hashed");
	if (memcmp(h, it->hash, sizeof(h)) != 0)
		fail("an accepted certificate under another hash");
	for (size_t i = 0; i < w->n && !asked; i++)
		asked = memcmp(h, w->h[i], sizeof(h)) == 0;
	if (!asked)
		fail("an accepted certificate whose hash was not asked");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct net_hashquery_reader rd;
	struct import_item it;
	struct pgp_cert c = PGP_CERT_INIT;
	struct digest *md5;
	struct want w;
	struct span cert;
	struct buf body = BUF_INIT;
	size_t max, n = 0, taken = 0, ngot = 0;
	int r;

	if (size < 2 || size > (1 << 20))
		return 0;
	max = data[0];
	memset(&w, 0, sizeof(w));
	if ((md5 = digest_new(DIGEST_MD5)) == NULL)
		return 0;
	first_hashes(&w, data[1] % (MAX_ASK + 1), data + 2, size - 2, md5);
	if (net_hashquery_body(&body, w.h[0], w.n) != 0 ||
	    body.len != 4 + 20 * w.n)
		fail("a request body of the wrong size");
	buf_release(&body);
	if (net_hashquery_begin(&rd, data + 2, size - 2, max, &err) != 0)
		goto out;
	while ((r = net_hashquery_next(&rd, &cert, &err)) == 1) {
		if (cert.p < data + 2 || cert.p + cert.len > data + size)
			fail("a certificate outside the body");
		if (++n > rd.count || n > max)
			fail("more certificates than announced");
		memset(&it, 0, sizeof(it));
		if (import_hashquery(&it, &c, cert.p, cert.len, md5, want_fn,
		    &w) != IMPORT_ACCEPT)
			continue;
		taken++;
		check_taken(&it, &c, &w, md5);
	}
	if (r != 0 && r != PGPS_EPROTO)
		fail("an error other than a protocol error");
	for (size_t i = 0; i < w.n; i++)
		ngot += w.got[i];
	if (taken > ngot)
		fail("a certificate taken that was not asked for");
 out:
	pgp_cert_release(&c);
	digest_free(md5);
	return 0;
}
