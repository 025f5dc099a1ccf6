/*
 * test-keyset-filter.c: a key set filtered (keyset/filter.h): kept by a
 * list of fingerprints, dropped by another, the limits refusing what is
 * too large, damage and secret keys skipped with a warning, output in
 * input order; and the other whole-set readers of
 * keyset/par.h: keyset_iter_next_cert() in order with damage and secret
 * keys skipped, keyset_put_all() into a dump file with verdicts.
 */
#include "util/common.h"

#include <unistd.h>

#include "tap.h"
#include "data.h"
#include "keyset/filter.h"
#include "keyset/keyset.h"
#include "keyset/par.h"

struct got {
	struct buf	 out;
	size_t		 warnings;
	size_t		 verdicts[KEYSET_REFUSED + 1];
};

static int
sink(const uint8_t *p, size_t len, void *arg)
{
	return buf_add(&((struct got *)arg)->out, p, len);
}

static void
warned(const char *msg, void *arg)
{
	diag("%s", msg);
	((struct got *)arg)->warnings++;
}

static void
verdict(const struct keyset_verdict *v, void *arg)
{
	((struct got *)arg)->verdicts[v->result]++;
}

static int
run(struct got *g, const char *path, const struct pgp_keyid_list *keep,
    const struct pgp_keyid_list *drop, size_t max_cert,
    struct keyset_filter_counts *n, struct keyset_par_result *res)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_filter_spec spec;
	struct keyset_iter *it = NULL;
	int r;

	memset(g, 0, sizeof(*g));
	buf_init(&g->out, 0);
	memset(&spec, 0, sizeof(spec));
	pgp_limits_default(&spec.lim);
	spec.lim.max_cert_size = max_cert;
	spec.jobs = 2;
	spec.keep = keep;
	spec.drop = drop;
	spec.sink = sink;
	spec.sink_arg = g;
	spec.warn = warned;
	spec.arg = g;
	if (keyset_iter_open(&it, &path, 1, &err) != 0)
		return -1;
	r = keyset_filter(it, &spec, n, res, &err);
	keyset_iter_free(it);
	return r;
}

static void
list_of(struct pgp_keyid_list *l, const uint8_t *p, size_t len)
{
	struct pgp_cert c = PGP_CERT_INIT;

	if (pgp_cert_parse(&c, p, len, 0, NULL) != 0)
		exit(1);
	l->v = calloc(1, sizeof(*l->v));
	l->v[0].len = c.primary.fprlen;
	memcpy(l->v[0].b, c.primary.fpr, c.primary.fprlen);
	l->n = l->alloc = 1;
	pgp_cert_release(&c);
}

int
main(int argc, char **argv)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_keyid_list keep = PGP_KEYID_LIST_INIT;
	struct keyset_filter_counts n;
	struct keyset_par_result res;
	struct pgp_cert c = PGP_CERT_INIT;
	struct keyset_iter *it = NULL;
	struct keyset *ks = NULL;
	struct got g;
	struct buf all = BUF_INIT;
	char path[] = "/tmp/test-keyset-filter.XXXXXX", out[64];
	const char *spec = path;
	uint8_t *alice, *bob, *garbage, *secret;
	size_t alen, blen, glen, slen;
	uint64_t skipped = 0;
	FILE *f;
	int fd, r, certs = 0;
	bool bob_second = false;

	(void)argc;
	data_dir_set(argv[0]);
	alice = data_slurp("certs/alice.pgp", &alen);
	bob = data_slurp("certs/bob.pgp", &blen);
	garbage = data_slurp("packets/only-garbage.bin", &glen);
	secret = data_slurp("packets/secret-key.bin", &slen);
	/* alice, damage, bob, a secret key. */
	buf_init(&all, 0);
	buf_add(&all, alice, alen);
	buf_add(&all, garbage, glen);
	buf_add(&all, bob, blen);
	buf_add(&all, secret, slen);
	if ((fd = mkstemp(path)) < 0 || write(fd, all.p, all.len) !=
	    (ssize_t)all.len)
		return 1;
	close(fd);

	is_int(run(&g, path, NULL, NULL, 0, &n, &res), 0, "no selection");
	is_int(n.kept, 2, "alice and bob kept");
	is_int(res.skipped, 2, "the damage and the secret key skipped");
	is_int(g.warnings, 2, "each said");
	ok(g.out.len >= alen && memcmp(g.out.p, alice, alen) == 0,
	    "alice first, as she was");
	buf_release(&g.out);

	list_of(&keep, bob, blen);
	is_int(run(&g, path, &keep, NULL, 0, &n, &res), 0, "kept by a list");
	ok(n.kept == 1 && n.unselected == 1 && g.out.len == blen &&
	    memcmp(g.out.p, bob, blen) == 0, "bob alone");
	buf_release(&g.out);
	is_int(run(&g, path, NULL, &keep, 0, &n, &res), 0,
	    "dropped by a list");
	ok(n.kept == 1 && n.unselected == 1 && g.out.len == alen &&
	    memcmp(g.out.p, alice, alen) == 0, "alice alone, bob dropped");
	buf_release(&g.out);

	is_int(run(&g, path, NULL, NULL, blen + 1, &n, &res), 0,
	    "limits that alice is too large for");
	is_int(n.refused, 1, "alice refused");
	is_int(g.warnings, 3, "and said, with the damage");
	is_int(res.skipped, 2, "a refusal is not damage");
	buf_release(&g.out);

	/* One after the other. */
	keyset_iter_open(&it, &spec, 1, &err);
	while ((r = keyset_iter_next_cert(it, &c, warned, &g, &skipped,
	    &err)) > 0) {
		certs++;
		if (certs == 2)
			bob_second = c.len == blen &&
			    memcmp(c.data, bob, blen) == 0;
	}
	keyset_iter_free(it);
	ok(r == 0 && certs == 2 && skipped == 2,
	    "next_cert: 2 certificates, damage and the secret key skipped");
	ok(bob_second, "in input order");

	/* Put into a dump file: damage skipped, each certificate decided. */
	snprintf(out, sizeof(out), "%s.pgp", path);
	memset(&g, 0, sizeof(g));
	f = fopen(out, "w");
	if (f != NULL)
		fclose(f);
	keyset_iter_open(&it, &spec, 1, &err);
	ok(keyset_open(&ks, out, KEYSET_WRITE, NULL, &err) == 0,
	    "a dump file to put into");
	keyset_on_verdict(ks, verdict, &g);
	is_int(keyset_put_all(ks, it, &(struct keyset_put_spec)
	    KEYSET_PUT_SPEC_INIT, &res, NULL, &err), 0, "put_all");
	is_int(res.skipped, 1, "the damage skipped");
	ok(g.verdicts[KEYSET_NEW] == 2, "alice and bob new");
	ok(g.verdicts[KEYSET_REFUSED] == 1,
	    "the secret key refused, with a verdict");
	is_int(keyset_commit(ks, NULL, NULL, &err), 0, "committed");
	keyset_close(ks);
	keyset_iter_free(it);

	unlink(out);
	unlink(path);
	pgp_cert_release(&c);
	pgp_keyid_list_release(&keep);
	buf_release(&all);
	free(alice);
	free(bob);
	free(garbage);
	free(secret);
	return done_testing();
}
