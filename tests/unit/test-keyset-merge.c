/*
 * test-keyset-merge.c: the versions of each certificate of a set merged
 * (keyset/merge.h): keys in the order they first appeared, each the
 * merge of all its versions, named by its first version; copies counted
 * as duplicates and versions that add as merged; identical bare
 * revocations merged into one; an empty set
 * gives nothing.
 */
#include "util/common.h"

#include "tap.h"
#include "data.h"
#include "keyset/merge.h"

static size_t warnings;

static void
warned(const char *msg, void *arg)
{
	(void)arg;
	diag("%s", msg);
	warnings++;
}

static void
add(struct keyset_merge *m, const uint8_t *p, size_t len, uint64_t off,
    const char *src)
{
	struct pgp_cert c = PGP_CERT_INIT;

	if (pgp_cert_parse(&c, p, len, off, NULL) != 0 ||
	    keyset_merge_add(m, &c, src, NULL) != 0)
		exit(1);
	pgp_cert_release(&c);
}

int
main(int argc, char **argv)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_merge *m = NULL;
	const struct keyset_merge_counts *n;
	struct pgp_cert a = PGP_CERT_INIT, b = PGP_CERT_INIT;
	struct pgp_limits lim;
	struct buf out = BUF_INIT, want = BUF_INIT;
	const char *src;
	uint64_t off;
	uint8_t *alice, *later, *bob, *rev, *revb;
	size_t alen, llen, blen, rlen, rblen;
	int r;

	(void)argc;
	data_dir_set(argv[0]);
	alice = data_slurp("certs/alice.pgp", &alen);
	later = data_slurp("certs/alice-later.pgp", &llen);
	bob = data_slurp("certs/bob.pgp", &blen);
	revb = data_slurp("certs/alice-revocation-only.pgp", &rlen);
	/* The key revocation alone: the file without its key packet. */
	if (pgp_cert_parse(&a, revb, rlen, 0, NULL) != 0 || a.npkts < 2)
		return 1;
	rev = revb + a.pkts[1].offset;
	rblen = rlen - (size_t)a.pkts[1].offset;

	is_int(keyset_merge_new(&m, NULL, warned, NULL, &err), 0, "opened");
	add(m, bob, blen, 0, "one");
	add(m, alice, alen, 0, "two");
	add(m, rev, rblen, 500, "two");
	add(m, bob, blen, 10, "three");
	add(m, later, llen, 20, "three");
	add(m, rev, rblen, 30, "three");
	add(m, alice, alen, 40, "four");

	r = keyset_merge_next(m, &out, &src, &off, &err);
	ok(r == 1 && out.len == blen && memcmp(out.p, bob, blen) == 0,
	    "bob first, his copy adding nothing");
	ok(r == 1 && strcmp(src, "one") == 0 && off == 0,
	    "named by its first version");
	r = keyset_merge_next(m, &out, &src, &off, &err);
	pgp_cert_parse(&a, alice, alen, 0, NULL);
	pgp_cert_parse(&b, later, llen, 0, NULL);
	pgp_cert_merge(&want, &a, &b, NULL, NULL);
	ok(r == 1 && out.len == want.len &&
	    memcmp(out.p, want.p, want.len) == 0,
	    "alice second: all her versions merged");
	ok(r == 1 && strcmp(src, "two") == 0, "named where first seen");
	r = keyset_merge_next(m, &out, &src, &off, &err);
	ok(r == 1 && out.len == rblen && memcmp(out.p, rev, rblen) == 0 &&
	    off == 500, "the bare revocation once, both copies merged");
	is_int(keyset_merge_next(m, &out, &src, &off, &err), 0, "the end");

	n = keyset_merge_counts(m);
	is_int(n->read, 7, "7 read");
	is_int(n->keys, 3, "3 keys");
	is_int(n->merged, 1, "1 version merged in (alice-later)");
	is_int(n->duplicates, 3, "3 duplicates (bob, alice, revocation)");
	is_int(n->skipped, 0, "none skipped");
	is_int(warnings, 0, "no warning");
	keyset_merge_free(m);

	/* Limits that alice's merged certificate is too large for. */
	pgp_limits_default(&lim);
	lim.max_cert_size = blen + 1;
	is_int(keyset_merge_new(&m, &lim, warned, NULL, &err), 0,
	    "with limits");
	add(m, alice, alen, 0, "one");
	add(m, bob, blen, 0, "two");
	add(m, later, llen, 0, "three");
	r = keyset_merge_next(m, &out, &src, &off, &err);
	ok(r == 1 && strcmp(src, "two") == 0, "bob passes the limits");
	is_int(keyset_merge_next(m, &out, &src, &off, &err), 0,
	    "alice does not");
	is_int(keyset_merge_counts(m)->refused, 1, "counted as refused");
	is_int(warnings, 1, "and said");
	keyset_merge_free(m);

	is_int(keyset_merge_new(&m, NULL, warned, NULL, &err), 0,
	    "an empty set");
	is_int(keyset_merge_next(m, &out, &src, &off, &err), 0,
	    "gives nothing");
	is_int(keyset_merge_counts(m)->keys, 0, "no key");
	keyset_merge_free(m);

	pgp_cert_release(&a);
	pgp_cert_release(&b);
	buf_release(&out);
	buf_release(&want);
	free(alice);
	free(later);
	free(bob);
	free(revb);
	return done_testing();
}
