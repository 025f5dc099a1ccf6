/*
 * test-keyset-setdiff.c: the difference of two key sets (keyset/setdiff.h):
 * what only one side holds, what both hold in different versions, several
 * versions of a key compared as their merge, the same certificate read
 * from armor and from binary packets unchanged, the SKS hashes each side
 * lacks, a set that cannot be read, a file that changes between the two
 * passes, and a right side made certificate by certificate, as a
 * keyserver's is (the lookups themselves: tests/e2e/t4030, t4031).
 */
#include "util/common.h"

#include <unistd.h>

#include "keyset/setdiff.h"
#include "tap.h"
#include "data.h"

static char dir[] = "/tmp/test-setdiff.XXXXXX";
static size_t warnings;

/* Writes the concatenation of certs (names in tests/data/certs) to name. */
static const char *
file_of(const char *name, const char *const *certs, size_t n)
{
	static char path[8][512];
	static int next;
	char *out = path[next++ % 8];
	FILE *f;

	snprintf(out, 512, "%s/%s", dir, name);
	if ((f = fopen(out, "wb")) == NULL)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		char rel[256];
		size_t len;
		uint8_t *p;

		snprintf(rel, sizeof(rel), "certs/%s", certs[i]);
		p = data_slurp(rel, &len);
		fwrite(p, 1, len, f);
		free(p);
	}
	fclose(f);
	return out;
}

static void
count_warning(const char *msg, void *arg)
{
	(void)arg;
	(void)msg;
	warnings++;
}

static int
compare(struct setdiff *d, struct setdiff_result *res, const char *a,
    const char *b, bool at_once, struct pgps_err *err)
{
	struct setdiff_cb cb;
	int r;

	memset(&cb, 0, sizeof(cb));
	cb.warn = count_warning;
	cb.at_once = at_once;
	setdiff_init(d, a, b, &cb);
	memset(res, 0, sizeof(*res));
	if ((r = setdiff_read(d, 0, err)) != 0)
		return r;
	return setdiff_join(res, d, err);
}

static void
test_sets(bool at_once)
{
	static const char *const ab[] = { "alice.pgp", "bob.pgp" };
	static const char *const later[] = { "alice-later.pgp", "alice.pgp" };
	static const char *const merged[] = { "alice.pgp", "alice-later.pgp" };
	struct pgps_err err = PGPS_ERR_INIT;
	struct setdiff d;
	struct setdiff_result res;
	struct setdiff_pair p;
	struct setdiff_hash *h;
	const char *a, *b, *c;
	size_t n;

	a = file_of("ab.pgp", ab, 2);
	b = file_of("later.pgp", later, 2);
	c = file_of("merged.pgp", merged, 2);
	ok(compare(&d, &res, a, b, at_once, &err) == 0, "compared (%s)",
	    err.msg);
	ok(d.a.n == 2 && d.b.n == 1, "two keys, and one in two versions");
	ok(res.nonly_a == 1 && res.nonly_b == 0 && res.nchanged == 1 &&
	    res.same == 0, "bob only in a, alice changed");
	ok(d.a.v[res.only_a[0]].key[0] == 20 &&
	    memcmp(d.a.v[res.only_a[0]].key + 1, "\x99\x5a", 2) == 0,
	    "the one only in a is bob");
	ok(setdiff_pair_init(&p) == 0 &&
	    setdiff_pair_load(&p, &d, &res, 0, &err) == 0, "pair read");
	is_int(p.ndel, 0, "b, the merge, lacks nothing of a");
	is_int(p.nadd, 6, "b adds six");
	setdiff_pair_release(&p);
	ok(setdiff_hashes(&h, &n, &d, &res, &err) == 0 && n == 3,
	    "three hashes lack a partner");
	for (size_t i = 1; i < n; i++)
		ok(memcmp(h[i - 1].hash, h[i].hash, 16) < 0, "sorted %zu", i);
	free(h);
	setdiff_result_release(&res);
	setdiff_release(&d);

	/* Two versions of alice are their merge, whatever their order. */
	ok(compare(&d, &res, b, c, at_once, &err) == 0 && res.same == 1 &&
	    res.nchanged + res.nonly_a + res.nonly_b == 0,
	    "versions compared as their merge");
	setdiff_result_release(&res);
	setdiff_release(&d);
}

static void
test_armor(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct setdiff d;
	struct setdiff_result res;
	char path[512];
	FILE *f;

	/* The same certificate, armored: other bytes, same packets. */
	snprintf(path, sizeof(path), "%s/alice.asc", dir);
	{
		struct buf armored = BUF_INIT;
		size_t len;
		uint8_t *p = data_slurp("certs/alice.pgp", &len);

		if (pgp_armor_encode(&armored, p, len, PGP_ARMOR_PUBLIC_KEY,
		    0) != 0)
			exit(1);
		f = fopen(path, "wb");
		fwrite(armored.p, 1, armored.len, f);
		fclose(f);
		free(p);
		buf_release(&armored);
	}
	ok(compare(&d, &res, data_path("certs/alice.pgp"), path, true,
	    &err) == 0 && res.same == 1 && res.nchanged == 0,
	    "armor and binary: unchanged");
	setdiff_result_release(&res);
	setdiff_release(&d);
}

static void
test_errors(void)
{
	static const char *const alice[] = { "alice.pgp" };
	static const char *const later[] = { "alice-later.pgp" };
	struct pgps_err err = PGPS_ERR_INIT;
	struct setdiff d;
	struct setdiff_result res;
	const char *a, *b;
	char missing[512];
	long len;
	FILE *f;

	snprintf(missing, sizeof(missing), "%s/no-such.pgp", dir);
	ok(compare(&d, &res, missing, data_path("certs/alice.pgp"), true,
	    &err) != 0 && strstr(err.msg, "no-such.pgp") != NULL,
	    "a set that is not there is an error naming it");
	setdiff_result_release(&res);
	setdiff_release(&d);

	/* Read once, then b changes under it before the second pass. */
	a = file_of("x.pgp", alice, 1);
	b = file_of("y.pgp", later, 1);
	setdiff_init(&d, a, b, NULL);
	ok(setdiff_read(&d, 1, &err) == 0, "read");
	f = fopen(b, "r+b");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, len / 2, SEEK_SET);
	fputc('!', f);
	fclose(f);
	pgps_err_clear(&err);
	ok(setdiff_join(&res, &d, &err) != 0 &&
	    strstr(err.msg, "changed while it was being compared") != NULL,
	    "a file changed under the comparison is an error (%s)", err.msg);
	setdiff_result_release(&res);
	setdiff_release(&d);
}

/* A right side made by the caller, as a keyserver's is. */
static void
test_put(void)
{
	static const char *const ab[] = { "alice.pgp", "bob.pgp" };
	struct pgps_err err = PGPS_ERR_INIT;
	struct setdiff d;
	struct setdiff_result res;
	size_t len;
	uint8_t *p;

	setdiff_init(&d, file_of("put.pgp", ab, 2), "hkps://example.org",
	    NULL);
	ok(setdiff_read_one(&d, 1, &err) == 0 && d.a.n == 2, "a read alone");
	p = data_slurp("certs/alice-revoked.pgp", &len);
	ok(setdiff_side_put(&d.b, p, len, &err) == 0, "a certificate put");
	ok(setdiff_side_put(&d.b, p, len / 2, &err) != 0 &&
	    strstr(err.msg, "hkps://example.org") != NULL,
	    "a damaged one is an error naming the set");
	pgps_err_clear(&err);
	ok(setdiff_side_done(&d.b, &err) == 0 &&
	    setdiff_join(&res, &d, &err) == 0, "joined");
	ok(res.nchanged == 1 && res.nonly_a == 1 && res.nonly_b == 0,
	    "alice changed, bob only in a");
	free(p);
	setdiff_result_release(&res);
	setdiff_release(&d);

	ok(setdiff_is_remote("hkp://a") && setdiff_is_remote("hkps://a") &&
	    setdiff_is_remote("vks://a") && setdiff_is_remote("https://a/x") &&
	    setdiff_is_remote("http://a"), "keyserver URLs");
	ok(!setdiff_is_remote("gpg:") && !setdiff_is_remote("store:") &&
	    !setdiff_is_remote("hkp:x") && !setdiff_is_remote("./hkp://"),
	    "key sets are not");
	setdiff_init(&d, "hkp://127.0.0.1:1", data_path("certs/alice.pgp"),
	    NULL);
	pgps_err_clear(&err);
	ok(setdiff_read(&d, 0, &err) == PGPS_EUNSUPPORTED &&
	    strstr(err.msg, "only the second") != NULL,
	    "a keyserver on the left is refused before any lookup");
	setdiff_release(&d);
}

int
main(int argc, char **argv)
{
	char cmd[600];

	(void)argc;
	data_dir_set(argv[0]);
	if (mkdtemp(dir) == NULL)
		return 1;
	test_sets(true);
	test_sets(false);
	test_armor();
	test_errors();
	test_put();
	is_int(warnings, 0, "no warnings on good input");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
