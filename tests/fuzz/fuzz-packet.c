/*
 * fuzz-packet.c: the certificate reader and parser on arbitrary bytes.
 *
 * Splits the input with pgp_reader_next() (armored input is decoded by the
 * reader itself) and runs every certificate through the functions that see
 * keyserver data: parse, SKS hash, write, and merge with itself.  Besides
 * memory errors it checks what the API promises: the reader makes progress
 * and skips bad regions without a final error, a written certificate parses
 * again to the same SKS hash, merge(c, c) is the canonical form of c,
 * which is c itself (trust packets aside, which both drop) unless c holds
 * a component or a direct signature twice -- merging then joins the
 * copies, as SKS does -- or secret key material, which merging drops; and
 * merging is idempotent.
 */
#include "util/common.h"

#include "openpgp/openpgp.h"
#include "util/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const struct pgps_err *err)
{
	fprintf(stderr, "fuzz-packet: %s (%s)\n", what,
	    err != NULL ? err->msg : "");
	abort();
}

/* True when a component (user ID, attribute, subkey) occurs twice. */
static bool
has_duplicate_component(const struct pgp_cert *c)
{
	struct pgp_component *comp = NULL;
	size_t n = 0, direct;
	bool dup = false;

	if (pgp_cert_components(&comp, &n, &direct, c, NULL) != 0)
		return true;	/* unknown: claim nothing */
	for (size_t i = 0; i < n && !dup; i++)
		for (size_t j = i + 1; j < n && !dup; j++) {
			const struct pgp_packet *a = &c->pkts[comp[i].pkt];
			const struct pgp_packet *b = &c->pkts[comp[j].pkt];

			dup = a->tag == b->tag && a->bodylen == b->bodylen &&
			    memcmp(a->body, b->body, a->bodylen) == 0;
		}
	free(comp);
	return dup;
}

/* merge(m, m) must give m back when m is a merge result. */
static void
check_idempotent(const struct buf *m)
{
	struct pgp_cert c = PGP_CERT_INIT;
	struct buf again = BUF_INIT;
	struct pgps_err err = PGPS_ERR_INIT;

	if (pgp_cert_parse(&c, m->p, m->len, 0, &err) != 0)
		fail("a merged cert does not parse", &err);
	if (pgp_cert_merge(&again, &c, &c, NULL, &err) != 0)
		fail("a merged cert does not merge", &err);
	if (again.len != m->len || memcmp(again.p, m->p, m->len) != 0)
		fail("merge is not idempotent", NULL);
	pgp_cert_release(&c);
	buf_release(&again);
}

static void
check_cert(const struct pgp_raw_cert *raw, struct digest *md5)
{
	struct pgp_cert c = PGP_CERT_INIT, again = PGP_CERT_INIT;
	struct buf written = BUF_INIT, merged = BUF_INIT, canon = BUF_INIT;
	struct pgp_cert_merge_report rep;
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t hash[16], hash2[16];

	if (pgp_cert_parse(&c, raw->p, raw->len, raw->offset, &err) != 0)
		goto cleanup;
	if (pgp_cert_sks_hash(&c, md5, hash) != 0)
		fail("SKS hash failed on a parsed cert", NULL);
	if (pgp_cert_write(&written, &c) != 0)
		goto cleanup;
	pgps_err_clear(&err);
	if (pgp_cert_parse(&again, written.p, written.len, 0, &err) != 0)
		fail("a written cert does not parse again", &err);
	if (pgp_cert_sks_hash(&again, md5, hash2) != 0 ||
	    memcmp(hash, hash2, sizeof(hash)) != 0)
		fail("a written cert has another SKS hash", NULL);
	/* Secret keys are refused by merge and filter alike. */
	if (c.flags & PGP_CERT_SECRET)
		goto cleanup;
	if (!pgp_cert_contains(&c, &c))
		fail("a cert does not contain itself", NULL);
	pgps_err_clear(&err);
	if (pgp_cert_merge(&merged, &c, &c, NULL, &err) != 0)
		goto cleanup;
	/* merge(c, c) is c in canonical form: c itself without repeats. */
	memset(&rep, 0, sizeof(rep));
	if (pgp_cert_canonical(&canon, &c, &rep, &err) != 0)
		fail("a cert that merges has no canonical form", &err);
	if (canon.len != merged.len ||
	    memcmp(canon.p, merged.p, merged.len) != 0)
		fail("merge(c, c) differs from the canonical form of c", NULL);
	if ((merged.len != written.len ||
	    memcmp(merged.p, written.p, written.len) != 0) &&
	    !has_duplicate_component(&c) && rep.dropped_secret == 0 &&
	    rep.dropped_repeats == 0)
		fail("merge(c, c) differs from c", NULL);
	check_idempotent(&merged);
 cleanup:
	pgp_cert_release(&c);
	pgp_cert_release(&again);
	buf_release(&written);
	buf_release(&merged);
	buf_release(&canon);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct digest *md5;
	struct pgp_reader *r = NULL;
	struct pgp_raw_cert raw;
	struct pgps_err err = PGPS_ERR_INIT;
	size_t calls = 0;
	int n;

	if (md5 == NULL && (md5 = digest_new(DIGEST_MD5)) == NULL)
		return 0;
	if (pgp_reader_open_mem(&r, data, size, "fuzz", &err) != 0)
		return 0;
	for (;;) {
		/* Every call consumes input, so there are at most size + 1. */
		if (++calls > size + 2)
			fail("the reader makes no progress", &err);
		pgps_err_clear(&err);
		n = pgp_reader_next(r, &raw, 0, &err);
		if (n == 0)
			break;
		if (n == PGPS_EIO)
			fail("final error on memory input", &err);
		if (n < 0)
			continue;
		/* Armor only shrinks: a cert is never longer than the input. */
		if (raw.len == 0 || raw.len > size)
			fail("impossible certificate length", NULL);
		check_cert(&raw, md5);
	}
	pgp_reader_free(r);
	return 0;
}
