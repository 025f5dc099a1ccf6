/*
 * test-recon-ptree.c: the prefix tree.  After random insert/delete
 * sequences (fixed seeds) every node's count and sample values must equal
 * a direct computation from the elements below it, the shape must follow
 * SKS's split (above 50) and join (25 or fewer) rules, and the file format
 * must round-trip and refuse damaged files.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <unistd.h>

#include "recon/recon.h"
#include "util/digest.h"
#include "util/span.h"
#include "tap.h"

#define RNG_SEED	77
#include "rng.h"

/* Random elements; with narrow set, the first 3 octets take few values so
 * that the tree grows deep. */
static void
random_elem(struct recon_elem *e, int narrow)
{
	rng_fill16(e->b);
	if (narrow) {
		e->b[0] &= 0x81;
		e->b[1] &= 0x03;
		e->b[2] &= 0xc0;
	}
}

struct check {
	int	bad_sv, bad_count, bad_shape, bad_prefix, nodes, leaves;
	int	maxdepth;
};

/* Checks n and below against the elements found there; returns them. */
static void
check_node(const struct recon_node *n, const struct recon_prefix *pfx,
    int depth, struct check *ck)
{
	struct recon_elem *el = NULL;
	struct zp sv[RECON_NSAMPLES], k, z, t;
	const struct zp *got = recon_node_svalues(n);
	size_t nel = 0;

	ck->nodes++;
	if (depth > ck->maxdepth)
		ck->maxdepth = depth;
	if (recon_node_elements(n, &el, &nel) != 0 ||
	    nel != recon_node_count(n))
		ck->bad_count++;
	for (int i = 0; i < RECON_NSAMPLES; i++)
		zp_set_u64(&sv[i], 1);
	for (size_t j = 0; j < nel; j++) {
		if (!recon_prefix_has(pfx, &el[j]))
			ck->bad_prefix++;
		if (j > 0 && recon_elem_cmp(&el[j - 1], &el[j]) >= 0)
			ck->bad_prefix++;
		zp_set_elem(&z, &el[j]);
		for (int i = 0; i < RECON_NSAMPLES; i++) {
			zp_point(&k, (unsigned int)i);
			zp_sub(&t, &k, &z);
			zp_mul(&sv[i], &sv[i], &t);
		}
	}
	for (int i = 0; i < RECON_NSAMPLES; i++)
		if (!zp_eq(&sv[i], &got[i]))
			ck->bad_sv++;
	free(el);
	if (recon_node_is_leaf(n)) {
		ck->leaves++;
		if (recon_node_count(n) > RECON_SPLIT_THRESH + 1)
			ck->bad_shape++;
		if (recon_node_child(n, 0) != NULL)
			ck->bad_shape++;
		return;
	}
	if (recon_node_count(n) <= RECON_JOIN_THRESH)
		ck->bad_shape++;
	for (unsigned int c = 0; c < 4; c++) {
		struct recon_prefix cp;

		recon_prefix_child(&cp, pfx, c);
		check_node(recon_node_child(n, c), &cp, depth + 1, ck);
	}
}

static struct check
check_tree(const struct recon_ptree *t)
{
	struct recon_prefix root = RECON_PREFIX_INIT;
	struct check ck;

	memset(&ck, 0, sizeof(ck));
	check_node(recon_ptree_root(t), &root, 0, &ck);
	return ck;
}

struct collect {
	struct recon_elem	*v;
	size_t			 n;
};

static int
collect_fn(const struct recon_elem *e, void *arg)
{
	struct collect *c = arg;

	c->v[c->n++] = *e;
	return 0;
}

static void
test_basics(void)
{
	struct recon_ptree *t;
	struct recon_elem e[60], pt;
	const struct zp *sv;
	struct zp one;
	bool added, removed;
	int r, bad = 0;

	is_int(recon_ptree_new(&t), 0, "new tree");
	is_int((int)recon_ptree_count(t), 0, "empty");
	sv = recon_node_svalues(recon_ptree_root(t));
	zp_set_u64(&one, 1);
	for (int i = 0; i < RECON_NSAMPLES; i++)
		bad += !zp_eq(&sv[i], &one);
	is_int(bad, 0, "empty node has all sample values 1");
	memset(&pt, 0, sizeof(pt));
	for (int v = 0; v <= 2; v++) {
		pt.b[0] = (uint8_t)v;
		is_int(recon_ptree_insert(t, &pt, &added), PGPS_EFORMAT,
		    "element %d equals a sample point: refused", v);
	}
	pt.b[0] = 3;
	is_int(recon_ptree_insert(t, &pt, &added), 0, "element 3 is fine");
	recon_ptree_delete(t, &pt, NULL);

	for (int i = 0; i < 60; i++)
		random_elem(&e[i], 0);
	for (int i = 0; i < RECON_SPLIT_THRESH; i++)
		recon_ptree_insert(t, &e[i], NULL);
	ok(recon_node_is_leaf(recon_ptree_root(t)), "50 elements: root leaf");
	r = recon_ptree_insert(t, &e[50], &added);
	ok(r == 0 && added, "51st element added");
	ok(!recon_node_is_leaf(recon_ptree_root(t)),
	    "51 elements: the root has split (SKS: count > 50)");
	r = recon_ptree_insert(t, &e[50], &added);
	ok(r == 0 && !added, "adding it again changes nothing");
	is_int((int)recon_ptree_count(t), 51, "count 51");
	ok(recon_ptree_has(t, &e[17]) && !recon_ptree_has(t, &e[55]),
	    "membership");
	for (int i = 0; i < 51 - 26; i++)
		recon_ptree_delete(t, &e[i], NULL);
	is_int((int)recon_ptree_count(t), 26, "deleted down to 26");
	ok(!recon_node_is_leaf(recon_ptree_root(t)), "26: still interior");
	r = recon_ptree_delete(t, &e[30], &removed);
	ok(r == 0 && removed, "delete to 25");
	ok(recon_node_is_leaf(recon_ptree_root(t)),
	    "25 elements: joined back to a leaf (SKS: count <= 25)");
	ok(!recon_ptree_has(t, &e[30]) && recon_ptree_has(t, &e[31]),
	    "the joined leaf lacks exactly the deleted element");
	r = recon_ptree_delete(t, &e[30], &removed);
	ok(r == 0 && !removed, "deleting an absent element changes nothing");
	is_int(check_tree(t).bad_sv, 0, "sample values right after join");
	recon_ptree_free(t);
	recon_ptree_free(NULL);
}

static void
test_random_ops(int narrow, int nops)
{
	struct recon_ptree *t;
	struct recon_elem pool[3000];
	char in[3000] = { 0 };
	struct collect col;
	struct check ck;
	size_t n = 0, ref = 0;
	int mism = 0, bad_flag = 0;

	recon_ptree_new(&t);
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(pool); i++)
		random_elem(&pool[i], narrow);
	for (int op = 0; op < nops; op++) {
		size_t i = next64() % PGPS_ARRAY_SIZE(pool);
		/* Grow for the first half, then shrink mostly. */
		int del = (next64() % 100) < (op < nops / 2 ? 30 : 75);
		bool flag;

		if (del) {
			recon_ptree_delete(t, &pool[i], &flag);
			bad_flag += flag != (in[i] != 0);
			n -= in[i];
			in[i] = 0;
		} else {
			recon_ptree_insert(t, &pool[i], &flag);
			bad_flag += flag != (in[i] == 0);
			n += !in[i];
			in[i] = 1;
		}
		if (op % 997 == 0 && check_tree(t).bad_sv != 0)
			mism++;
	}
	is_int(bad_flag, 0, "%s: %d ops report added/removed correctly",
	    narrow ? "deep" : "random", nops);
	is_int(mism, 0, "sample values right at checkpoints");
	ck = check_tree(t);
	is_int((int)recon_ptree_count(t), (int)n, "count %zu", n);
	is_int(ck.bad_sv, 0, "every node's sample values equal direct "
	    "computation (%d nodes, depth %d)", ck.nodes, ck.maxdepth);
	is_int(ck.bad_count, 0, "every node's count equals its elements");
	is_int(ck.bad_shape, 0, "leaves <= 51, interior > 25");
	is_int(ck.bad_prefix, 0, "elements sorted and under their prefix");
	col.v = calloc(n + 1, sizeof(*col.v));
	col.n = 0;
	recon_ptree_foreach(t, collect_fn, &col);
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(pool); i++) {
		ref += in[i];
		if (recon_ptree_has(t, &pool[i]) != (in[i] != 0))
			mism++;
	}
	ok(col.n == ref && mism == 0, "foreach and has() match the reference");
	free(col.v);
	recon_ptree_free(t);
}

static void
test_find(void)
{
	struct recon_ptree *t;
	struct recon_elem e;
	struct recon_prefix p = RECON_PREFIX_INIT, q;
	const struct recon_node *n;
	int bad = 0;

	recon_ptree_new(&t);
	for (int i = 0; i < 2000; i++) {
		random_elem(&e, 1);
		recon_ptree_insert(t, &e, NULL);
	}
	ok(recon_ptree_find(t, &p) == recon_ptree_root(t), "root by prefix");
	/* Walk down along e's path and find each node by its prefix. */
	n = recon_ptree_root(t);
	for (unsigned int d = 0; !recon_node_is_leaf(n); d++) {
		n = recon_node_child(n, recon_elem_index(&e, d));
		recon_prefix_of(&q, &e, 2 * (d + 1));
		bad += recon_ptree_find(t, &q) != n;
		bad += !recon_prefix_has(&q, &e);
	}
	is_int(bad, 0, "every node on a path found by its prefix");
	recon_prefix_of(&q, &e, 126);
	ok(recon_ptree_find(t, &q) == NULL, "no node below a leaf");
	recon_prefix_of(&q, &e, 3);
	ok(recon_ptree_find(t, &q) == NULL, "odd prefix length: no node");
	recon_ptree_free(t);
}

static char tmpdir[64];

static int
file_rewrite(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	fwrite(p, 1, n, f);
	return fclose(f);
}

static uint8_t *
file_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = malloc(1 << 20);

	*n = fread(p, 1, 1 << 20, f);
	fclose(f);
	return p;
}

/* Rewrites the trailing SHA-256 so that only the structure checks see it. */
static void
fix_sum(uint8_t *p, size_t n)
{
	digest_once(DIGEST_SHA256, p, n - 32, p + n - 32);
}

static int
same_tree(const struct recon_node *a, const struct recon_node *b)
{
	const struct zp *x = recon_node_svalues(a), *y = recon_node_svalues(b);

	if (recon_node_count(a) != recon_node_count(b) ||
	    recon_node_is_leaf(a) != recon_node_is_leaf(b))
		return 0;
	for (int i = 0; i < RECON_NSAMPLES; i++)
		if (!zp_eq(&x[i], &y[i]))
			return 0;
	if (!recon_node_is_leaf(a)) {
		for (unsigned int c = 0; c < 4; c++)
			if (!same_tree(recon_node_child(a, c),
			    recon_node_child(b, c)))
				return 0;
	}
	return 1;
}

static void
test_file(void)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct recon_ptree *t, *u = NULL;
	struct recon_elem e;
	char path[128], bad[128];
	uint8_t *orig, *buf;
	size_t n;
	int r, fails = 0, crashes = 0;

	snprintf(path, sizeof(path), "%s/tree", tmpdir);
	snprintf(bad, sizeof(bad), "%s/bad", tmpdir);
	recon_ptree_new(&t);
	is_int(recon_ptree_save(t, path, &err), 0, "save empty tree");
	is_int(recon_ptree_load(&u, path, RECON_PTREE_LOAD_VERIFY, &err), 0,
	    "load empty tree");
	ok(u != NULL && recon_ptree_count(u) == 0, "empty after load");
	recon_ptree_free(u);
	for (int i = 0; i < 3000; i++) {
		random_elem(&e, i % 2);
		recon_ptree_insert(t, &e, NULL);
	}
	for (int i = 0; i < 100; i++) {
		random_elem(&e, 1);
		recon_ptree_insert(t, &e, NULL);
		recon_ptree_delete(t, &e, NULL);
	}
	r = recon_ptree_save(t, path, &err);
	is_int(r, 0, "save a tree of %zu", recon_ptree_count(t));
	r = recon_ptree_load(&u, path, RECON_PTREE_LOAD_VERIFY, &err);
	is_int(r, 0, "load it back with verification");
	ok(u != NULL && same_tree(recon_ptree_root(t), recon_ptree_root(u)),
	    "same shape, counts and sample values");
	ok(u != NULL && check_tree(u).bad_prefix == 0 &&
	    recon_ptree_has(u, &e) == recon_ptree_has(t, &e),
	    "same elements");
	if (u != NULL) {
		random_elem(&e, 0);
		recon_ptree_insert(u, &e, NULL);
		ok(check_tree(u).bad_sv == 0, "loaded tree stays usable");
	}
	recon_ptree_free(u);
	u = NULL;

	/* A small tree for damage tests: 60 elements, 5 nodes. */
	recon_ptree_free(t);
	recon_ptree_new(&t);
	for (int i = 0; i < 60; i++) {
		random_elem(&e, 0);
		recon_ptree_insert(t, &e, NULL);
	}
	recon_ptree_save(t, path, &err);
	orig = file_read(path, &n);
	buf = malloc(n);
	for (size_t cut = 0; cut < n; cut++) {
		file_rewrite(bad, orig, cut);
		pgps_err_clear(&err);
		r = recon_ptree_load(&u, bad, 0, &err);
		fails += r == PGPS_ETRUNC || r == PGPS_EFORMAT;
		crashes += r == 0;
	}
	is_int(fails, (int)n, "all %zu truncations refused", n);
	fails = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf, orig, n);
		buf[i] ^= (uint8_t)(1u << (i % 8));
		file_rewrite(bad, buf, n);
		r = recon_ptree_load(&u, bad, 0, &err);
		fails += r != 0;
		if (r == 0)
			recon_ptree_free(u);
	}
	is_int(fails, (int)n, "every flipped bit is caught");
	/* Trailing garbage. */
	memcpy(buf, orig, n);
	file_rewrite(bad, buf, n);
	{
		FILE *f = fopen(bad, "ab");

		fputc(0, f);
		fclose(f);
	}
	is_int(recon_ptree_load(&u, bad, 0, &err), PGPS_EFORMAT,
	    "trailing octet refused");

	/* Structural damage behind a valid checksum. */
	/* header 48, root node 107 (interior), first child node at 155 */
	memcpy(buf, orig, n);
	buf[48 + 4] ^= 1;	/* root count */
	fix_sum(buf, n);
	file_rewrite(bad, buf, n);
	pgps_err_clear(&err);
	r = recon_ptree_load(&u, bad, 0, &err);
	is_int(r, PGPS_EFORMAT, "root count off by one: %s", err.msg);
	memcpy(buf, orig, n);
	buf[48] = 7;	/* root kind */
	fix_sum(buf, n);
	file_rewrite(bad, buf, n);
	is_int(recon_ptree_load(&u, bad, 0, &err), PGPS_EFORMAT,
	    "bad node kind refused");
	memcpy(buf, orig, n);
	buf[48 + 5 + 16] = 0xff;	/* sample value >= p */
	fix_sum(buf, n);
	file_rewrite(bad, buf, n);
	is_int(recon_ptree_load(&u, bad, 0, &err), PGPS_EFORMAT,
	    "sample value above p refused");
	memcpy(buf, orig, n);
	buf[48 + 5] ^= 1;	/* a wrong but valid sample value */
	fix_sum(buf, n);
	file_rewrite(bad, buf, n);
	r = recon_ptree_load(&u, bad, 0, &err);
	ok(r == 0, "wrong sample value loads without verification");
	if (r == 0)
		recon_ptree_free(u);
	pgps_err_clear(&err);
	r = recon_ptree_load(&u, bad, RECON_PTREE_LOAD_VERIFY, &err);
	is_int(r, PGPS_EFORMAT, "and is caught with it: %s", err.msg);
	memcpy(buf, orig, n);
	buf[155 + 107] ^= 0x80;		/* first element leaves its prefix */
	fix_sum(buf, n);
	file_rewrite(bad, buf, n);
	pgps_err_clear(&err);
	r = recon_ptree_load(&u, bad, 0, &err);
	is_int(r, PGPS_EFORMAT, "element outside its prefix: %s", err.msg);
	memcpy(buf, orig, n);
	store_be32(buf + 44, 0x7fffffff);	/* node count */
	fix_sum(buf, n);
	file_rewrite(bad, buf, n);
	is_int(recon_ptree_load(&u, bad, 0, &err), PGPS_EFORMAT,
	    "absurd node count refused");
	memcpy(buf, orig, n);
	store_be32(buf + 155 + 1, 0x10000000);	/* leaf count */
	fix_sum(buf, n);
	file_rewrite(bad, buf, n);
	r = recon_ptree_load(&u, bad, 0, &err);
	ok(r == PGPS_ETRUNC || r == PGPS_EFORMAT,
	    "leaf count beyond the file refused before allocating");
	memcpy(buf, orig, n);
	buf[11] = 2;		/* version */
	file_rewrite(bad, buf, n);
	is_int(recon_ptree_load(&u, bad, 0, &err), PGPS_EUNSUPPORTED,
	    "other version refused");
	snprintf(bad, sizeof(bad), "%s/none", tmpdir);
	is_int(recon_ptree_load(&u, bad, 0, &err), PGPS_ENOTFOUND,
	    "missing file");
	snprintf(bad, sizeof(bad), "%s/no/such/dir/tree", tmpdir);
	is_int(recon_ptree_save(t, bad, &err), PGPS_EIO,
	    "save into a missing directory fails cleanly");
	is_int(crashes, 0, "no damaged file loaded");
	free(orig);
	free(buf);
	recon_ptree_free(t);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");
	struct stat st;
	char cmd[128];

	/* tmpfs if there is one: the saves fsync, which disks make slow. */
	if (base == NULL)
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/recon-ptree-XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_basics();
	test_random_ops(0, 20000);
	test_random_ops(1, 20000);
	test_find();
	test_file();
	snprintf(cmd, sizeof(cmd), "%s/tree", tmpdir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/bad", tmpdir);
	unlink(cmd);
	rmdir(tmpdir);
	diag("split above %d, join at %d", RECON_SPLIT_THRESH,
	    RECON_JOIN_THRESH);
	return done_testing();
}
