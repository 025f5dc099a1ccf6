/*
 * ptree.c: the recon prefix tree (SKS prefixTree.ml, spec 5.5-5.6) and its
 * file format.
 *
 * Every node keeps the number of elements below it and their
 * characteristic polynomial evaluated at the RECON_NSAMPLES sample points.
 * Only leaves hold elements, in sorted arrays.  An insert or delete updates
 * the counts on its path and the leaf's sample values at once, and marks
 * the interior nodes above it stale; their values are recomputed as the
 * product of their children's when next read (recon_node_settle()).  A
 * bulk load thus costs six multiplications per element instead of six per
 * level, and a delete needs no field inversion.  The shape follows SKS exactly: a leaf splits
 * once (not recursively) when an insert takes it above RECON_SPLIT_THRESH,
 * and the first interior node on a delete path whose count falls to
 * RECON_JOIN_THRESH becomes a leaf again.  Tree shape does not matter to
 * peers, but keeping SKS's makes behaviour easy to compare.
 *
 * The tree lives in memory; recon_ptree_save() and recon_ptree_load() keep
 * it across runs so that a large set is not rebuilt element by element.
 * There is no incremental on-disk update: the file is rewritten whole.
 */
#include "util/common.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recon/internal.h"
#include "recon/recon.h"
#include "util/atomic.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/span.h"

#define PTREE_MAX_DEPTH		(RECON_MAX_PREFIX_BITS / RECON_BITQUANTUM)

struct recon_ptree {
	struct recon_node	root;
};

static void
node_init(struct recon_node *n)
{
	for (int i = 0; i < RECON_NSAMPLES; i++)
		zp_one(&n->sv[i]);
	n->count = 0;
	n->cap = 0;
	n->elems = NULL;
	n->child = NULL;
	n->stale = false;
}

/* Frees what n owns (not n itself). */
static void
node_release(struct recon_node *n)
{
	if (n->child != NULL) {
		for (unsigned int c = 0; c < RECON_NCHILDREN; c++)
			node_release(&n->child[c]);
		free(n->child);
	}
	free(n->elems);
	n->child = NULL;
	n->elems = NULL;
	n->cap = 0;
}

/* f[i] = point_i - e */
static void
elem_factors(struct zp f[RECON_NSAMPLES], const struct recon_elem *e)
{
	struct zp z;

	zp_set_elem(&z, e);
	for (unsigned int i = 0; i < RECON_NSAMPLES; i++)
		zp_sub_inl(&f[i], &zp_points[i], &z);
}

static void
node_mul(struct recon_node *n, const struct zp f[RECON_NSAMPLES])
{
	for (int i = 0; i < RECON_NSAMPLES; i++)
		zp_mont_mul(&n->sv[i], &n->sv[i], &f[i]);
}

/* Recomputes a leaf's sample values from its elements. */
static void
leaf_recompute(struct recon_node *n)
{
	struct zp f[RECON_NSAMPLES];

	for (int i = 0; i < RECON_NSAMPLES; i++)
		zp_one(&n->sv[i]);
	for (uint32_t k = 0; k < n->count; k++) {
		elem_factors(f, &n->elems[k]);
		node_mul(n, f);
	}
	n->stale = false;
}

void
recon_node_settle(struct recon_node *n)
{
	if (!n->stale)
		return;
	if (n->child == NULL) {
		leaf_recompute(n);
		return;
	}
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++)
		recon_node_settle(&n->child[c]);
	for (int i = 0; i < RECON_NSAMPLES; i++) {
		zp_mont_mul(&n->sv[i], &n->child[0].sv[i], &n->child[1].sv[i]);
		zp_mont_mul(&n->sv[i], &n->sv[i], &n->child[2].sv[i]);
		zp_mont_mul(&n->sv[i], &n->sv[i], &n->child[3].sv[i]);
	}
	n->stale = false;
}

/* The elements equal to a sample point: 0, 1 and 2 read little-endian. */
static bool
elem_is_point(const struct recon_elem *e)
{
	for (int i = 1; i < RECON_ELEM_LEN; i++)
		if (e->b[i] != 0)
			return false;
	return e->b[0] <= 2;
}

/* memcmp() of two elements, as two big-endian words. */
static inline int
elem_cmp(const struct recon_elem *a, const struct recon_elem *b)
{
	uint64_t x, y;

	memcpy(&x, a->b, 8);
	memcpy(&y, b->b, 8);
	if (x == y) {
		memcpy(&x, a->b + 8, 8);
		memcpy(&y, b->b + 8, 8);
	}
	if (x == y)
		return 0;
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x);
	y = __builtin_bswap64(y);
#else
	return memcmp(a->b, b->b, RECON_ELEM_LEN);
#endif
	return x < y ? -1 : 1;
}

/* Index of e in the leaf, or of the first larger element; *found set. */
static uint32_t
leaf_search(const struct recon_node *n, const struct recon_elem *e,
    bool *found)
{
	uint32_t lo = 0, hi = n->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = elem_cmp(&n->elems[mid], e);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int
recon_ptree_new(struct recon_ptree **out)
{
	struct recon_ptree *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PGPS_ENOMEM;
	node_init(&t->root);
	*out = t;
	return 0;
}

void
recon_ptree_free(struct recon_ptree *t)
{
	if (t == NULL)
		return;
	node_release(&t->root);
	free(t);
}

/*
 * Turns the leaf n at depth into an interior node with 4 leaves holding
 * its elements.  On allocation failure n stays an (oversized) leaf, which
 * is still a correct tree; the split is retried on the next insert.
 */
static void
leaf_split(struct recon_node *n, unsigned int depth)
{
	struct recon_node *ch;
	uint32_t cnt[RECON_NCHILDREN] = { 0 };
	struct zp f[RECON_NSAMPLES];

	if (depth >= PTREE_MAX_DEPTH)
		return;
	if ((ch = calloc(RECON_NCHILDREN, sizeof(*ch))) == NULL)
		return;
	for (uint32_t i = 0; i < n->count; i++)
		cnt[recon_elem_index(&n->elems[i], depth)]++;
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++) {
		node_init(&ch[c]);
		if (cnt[c] == 0)
			continue;
		ch[c].cap = cnt[c] < 4 ? 4 : cnt[c];
		ch[c].elems = mem_reallocarray(NULL, ch[c].cap,
		    sizeof(struct recon_elem));
		if (ch[c].elems == NULL) {
			while (c-- > 0)
				free(ch[c].elems);
			free(ch);
			return;
		}
	}
	/* Sorted input gives sorted children. */
	for (uint32_t i = 0; i < n->count; i++) {
		struct recon_node *c = &ch[recon_elem_index(&n->elems[i],
		    depth)];

		c->elems[c->count++] = n->elems[i];
		elem_factors(f, &n->elems[i]);
		node_mul(c, f);
	}
	free(n->elems);
	n->elems = NULL;
	n->cap = 0;
	n->child = ch;
}

int
recon_ptree_insert(struct recon_ptree *t, const struct recon_elem *e,
    bool *added)
{
	struct recon_node *path[PTREE_MAX_DEPTH + 1], *n = &t->root;
	struct zp f[RECON_NSAMPLES];
	unsigned int depth = 0;
	uint32_t pos;
	bool found;

	if (added != NULL)
		*added = false;
	if (elem_is_point(e))
		return PGPS_EFORMAT;
	if (t->root.count == UINT32_MAX)
		return PGPS_ELIMIT;
	path[0] = n;
	while (n->child != NULL) {
		n = &n->child[recon_elem_index(e, depth)];
		path[++depth] = n;
	}
	pos = leaf_search(n, e, &found);
	if (found)
		return 0;
	if (n->count == n->cap) {
		uint32_t ncap = n->cap < 4 ? 4 : n->cap * 2;
		struct recon_elem *ne;

		if (ncap < n->cap)
			return PGPS_ELIMIT;
		ne = mem_reallocarray(n->elems, ncap, sizeof(*ne));
		if (ne == NULL)
			return PGPS_ENOMEM;
		n->elems = ne;
		n->cap = ncap;
	}
	/* Nothing can fail from here on. */
	for (unsigned int d = 0; d < depth; d++) {
		path[d]->stale = true;
		path[d]->count++;
	}
	n->count++;
	if (!n->stale) {
		elem_factors(f, e);
		node_mul(n, f);
	}
	memmove(&n->elems[pos + 1], &n->elems[pos],
	    (n->count - 1 - pos) * sizeof(n->elems[0]));
	n->elems[pos] = *e;
	if (n->count > RECON_SPLIT_THRESH)
		leaf_split(n, depth);
	if (added != NULL)
		*added = true;
	return 0;
}

void
recon_node_collect(const struct recon_node *n, struct recon_elem *out,
    size_t *pos)
{
	if (n->child == NULL) {
		if (n->count != 0)
			memcpy(out + *pos, n->elems,
			    n->count * sizeof(n->elems[0]));
		*pos += n->count;
		return;
	}
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++)
		recon_node_collect(&n->child[c], out, pos);
}

int
recon_ptree_delete(struct recon_ptree *t, const struct recon_elem *e,
    bool *removed)
{
	struct recon_node *path[PTREE_MAX_DEPTH + 1], *n = &t->root;
	struct recon_elem *joined = NULL;
	unsigned int depth = 0, join = PTREE_MAX_DEPTH + 1;
	uint32_t pos;
	bool found;

	if (removed != NULL)
		*removed = false;
	path[0] = n;
	while (n->child != NULL) {
		n = &n->child[recon_elem_index(e, depth)];
		path[++depth] = n;
	}
	pos = leaf_search(n, e, &found);
	if (!found)
		return 0;
	/* SKS joins the first interior node on the path that gets small. */
	for (unsigned int d = 0; d < depth; d++) {
		if (path[d]->count - 1 <= RECON_JOIN_THRESH) {
			join = d;
			break;
		}
	}
	if (join <= depth) {
		/* Room for all of them; e is taken out after collecting. */
		size_t k = 0, cap = path[join]->count;

		joined = mem_reallocarray(NULL, cap < 4 ? 4 : cap,
		    sizeof(*joined));
		if (joined == NULL)
			return PGPS_ENOMEM;
		recon_node_collect(path[join], joined, &k);
		for (size_t i = 0; i < k; i++) {
			if (elem_cmp(&joined[i], e) == 0) {
				memmove(&joined[i], &joined[i + 1],
				    (k - i - 1) * sizeof(joined[0]));
				break;
			}
		}
	}
	/* Nothing can fail from here on. */
	for (unsigned int d = 0; d <= depth; d++) {
		path[d]->count--;
		path[d]->stale = true;
		if (d == join) {
			uint32_t cnt = path[d]->count;

			node_release(path[d]);
			path[d]->elems = joined;
			path[d]->cap = cnt + 1 < 4 ? 4 : cnt + 1;
			path[d]->count = cnt;
			n = path[d];
			break;
		}
	}
	if (join > depth)
		memmove(&n->elems[pos], &n->elems[pos + 1],
		    (n->count - pos) * sizeof(n->elems[0]));
	/* Dividing by (point - e) would cost an inversion; a leaf is small. */
	leaf_recompute(n);
	if (removed != NULL)
		*removed = true;
	return 0;
}

bool
recon_ptree_has(const struct recon_ptree *t, const struct recon_elem *e)
{
	const struct recon_node *n = &t->root;
	unsigned int depth = 0;
	bool found;

	while (n->child != NULL)
		n = &n->child[recon_elem_index(e, depth++)];
	leaf_search(n, e, &found);
	return found;
}

size_t
recon_ptree_count(const struct recon_ptree *t)
{
	return t->root.count;
}

static int
node_foreach(const struct recon_node *n,
    int (*fn)(const struct recon_elem *e, void *arg), void *arg)
{
	int r;

	if (n->child == NULL) {
		for (uint32_t i = 0; i < n->count; i++)
			if ((r = fn(&n->elems[i], arg)) != 0)
				return r;
		return 0;
	}
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++)
		if ((r = node_foreach(&n->child[c], fn, arg)) != 0)
			return r;
	return 0;
}

int
recon_ptree_foreach(const struct recon_ptree *t,
    int (*fn)(const struct recon_elem *e, void *arg), void *arg)
{
	return node_foreach(&t->root, fn, arg);
}

const struct recon_node *
recon_ptree_root(const struct recon_ptree *t)
{
	return &t->root;
}

const struct recon_node *
recon_ptree_find(const struct recon_ptree *t, const struct recon_prefix *p)
{
	const struct recon_node *n = &t->root;
	unsigned int depth;

	if (p->nbits % RECON_BITQUANTUM != 0 ||
	    p->nbits > RECON_MAX_PREFIX_BITS)
		return NULL;
	for (depth = 0; depth < p->nbits / RECON_BITQUANTUM; depth++) {
		unsigned int bit = depth * RECON_BITQUANTUM;
		unsigned int c = (p->b[bit / 8] >> (6 - bit % 8)) & 3;

		if (n->child == NULL)
			return NULL;
		n = &n->child[c];
	}
	return n;
}

uint32_t
recon_node_count(const struct recon_node *n)
{
	return n->count;
}

const struct zp *
recon_node_svalues(const struct recon_node *n)
{
	/* Filling the cache is not a change of the tree's value. */
	recon_node_settle((struct recon_node *)n);
	return n->sv;
}

bool
recon_node_is_leaf(const struct recon_node *n)
{
	return n->child == NULL;
}

const struct recon_node *
recon_node_child(const struct recon_node *n, unsigned int c)
{
	if (n->child == NULL || c >= RECON_NCHILDREN)
		return NULL;
	return &n->child[c];
}

int
recon_node_elements(const struct recon_node *n, struct recon_elem **out,
    size_t *nout)
{
	struct recon_elem *v;
	size_t k = 0;

	if (n->count == 0) {
		*out = NULL;
		*nout = 0;
		return 0;
	}
	if ((v = mem_reallocarray(NULL, n->count, sizeof(*v))) == NULL)
		return PGPS_ENOMEM;
	recon_node_collect(n, v, &k);
	*out = v;
	*nout = k;
	return 0;
}

/*
 * File format, all integers big-endian:
 *
 *   "PGPSPTRE"  u32 version (1)  u32 bitquantum  u32 samples
 *   u32 split threshold  u32 join threshold  u64 elements  u64 nodes
 *   nodes in pre-order, children in index order:
 *     u8 kind (0 leaf, 1 interior)  u32 count  samples x 17-octet values
 *     leaf: count x 16-octet elements, ascending
 *   32-octet SHA-256 of everything before it
 */
#define PTREE_MAGIC		"PGPSPTRE"
#define PTREE_VERSION		1
#define PTREE_HDR_LEN		(8 + 4 * 6 + 8 * 2)
#define PTREE_NODE_LEN		(1 + 4 + RECON_NSAMPLES * ZP_NBYTES)
#define PTREE_SUM_LEN		32

struct ptree_writer {
	FILE		*f;
	struct digest	*md;
	uint64_t	 nodes;
	int		 failed;
};

static void
pw_write(struct ptree_writer *w, const void *p, size_t n)
{
	if (w->failed || n == 0)
		return;
	digest_update(w->md, p, n);
	if (fwrite(p, 1, n, w->f) != n)
		w->failed = 1;
}

static void
store_be64(uint8_t *p, uint64_t v)
{
	store_be32(p, (uint32_t)(v >> 32));
	store_be32(p + 4, (uint32_t)v);
}

static uint64_t
count_nodes(const struct recon_node *n)
{
	uint64_t k = 1;

	if (n->child != NULL)
		for (unsigned int c = 0; c < RECON_NCHILDREN; c++)
			k += count_nodes(&n->child[c]);
	return k;
}

static void
write_node(struct ptree_writer *w, const struct recon_node *n)
{
	uint8_t hdr[PTREE_NODE_LEN];

	hdr[0] = n->child != NULL;
	store_be32(hdr + 1, n->count);
	for (int i = 0; i < RECON_NSAMPLES; i++)
		zp_get_bytes(hdr + 5 + i * ZP_NBYTES, &n->sv[i]);
	pw_write(w, hdr, sizeof(hdr));
	w->nodes++;
	if (n->child == NULL) {
		pw_write(w, n->elems, n->count * sizeof(n->elems[0]));
		return;
	}
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++)
		write_node(w, &n->child[c]);
}

int
recon_ptree_save(const struct recon_ptree *t, const char *path,
    struct pgps_err *err)
{
	struct ptree_writer w = { NULL, NULL, 0, 0 };
	struct atomic_file af;
	uint8_t hdr[PTREE_HDR_LEN], sum[DIGEST_MAX];
	int r = PGPS_EINTERNAL;

	if ((r = atomic_file_open(&af, path, err)) != 0)
		return r;
	w.f = af.f;
	if ((w.md = digest_new(DIGEST_SHA256)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	recon_node_settle((struct recon_node *)&t->root);
	memcpy(hdr, PTREE_MAGIC, 8);
	store_be32(hdr + 8, PTREE_VERSION);
	store_be32(hdr + 12, RECON_BITQUANTUM);
	store_be32(hdr + 16, RECON_NSAMPLES);
	store_be32(hdr + 20, RECON_SPLIT_THRESH);
	store_be32(hdr + 24, RECON_JOIN_THRESH);
	store_be32(hdr + 28, 0);
	store_be64(hdr + 32, t->root.count);
	store_be64(hdr + 40, count_nodes(&t->root));
	pw_write(&w, hdr, sizeof(hdr));
	write_node(&w, &t->root);
	digest_final(w.md, sum);
	if (!w.failed && fwrite(sum, 1, PTREE_SUM_LEN, w.f) != PTREE_SUM_LEN)
		w.failed = 1;
	if (w.failed) {
		r = pgps_err_set(err, PGPS_EIO, "writing '%s': %s", path,
		    strerror(errno));
		goto cleanup;
	}
	r = atomic_file_commit(&af, err);
	digest_free(w.md);
	return r;
 cleanup:
	atomic_file_abort(&af);
	digest_free(w.md);
	return r;
}

struct ptree_reader {
	FILE		*f;
	struct digest	*md;
	const char	*path;
	uint64_t	 off;
	uint64_t	 size;		/* of the file */
	uint64_t	 nodes;		/* read so far */
	uint64_t	 max_nodes;	/* from the header */
	uint64_t	 elems;
	struct pgps_err	*err;
};

static int
pr_read(struct ptree_reader *rd, void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (fread(p, 1, n, rd->f) != n) {
		if (ferror(rd->f))
			return pgps_err_set(rd->err, PGPS_EIO,
			    "'%s': read error at offset %llu: %s", rd->path,
			    (unsigned long long)rd->off, strerror(errno));
		return pgps_err_set(rd->err, PGPS_ETRUNC,
		    "'%s': truncated at offset %llu", rd->path,
		    (unsigned long long)rd->off);
	}
	digest_update(rd->md, p, n);
	rd->off += n;
	return 0;
}

static uint64_t
load_be64(const uint8_t *p)
{
	return ((uint64_t)load_be32(p) << 32) | load_be32(p + 4);
}

/*
 * Reads the node at depth below prefix pfx into n (initialised).  Checks
 * everything the tree code relies on; the sample values are checked to be
 * field elements here and, with verify, recomputed by the caller.
 */
static int
read_node(struct ptree_reader *rd, struct recon_node *n,
    const struct recon_prefix *pfx, unsigned int depth)
{
	uint8_t hdr[PTREE_NODE_LEN];
	uint64_t at = rd->off, sum = 0;
	int r;

	if (rd->nodes++ >= rd->max_nodes)
		return pgps_err_set(rd->err, PGPS_EFORMAT,
		    "'%s': more nodes than the header's %llu at offset %llu",
		    rd->path, (unsigned long long)rd->max_nodes,
		    (unsigned long long)at);
	if ((r = pr_read(rd, hdr, sizeof(hdr))) != 0)
		return r;
	if (hdr[0] > 1)
		return pgps_err_set(rd->err, PGPS_EFORMAT,
		    "'%s': node at offset %llu has kind %u", rd->path,
		    (unsigned long long)at, hdr[0]);
	n->count = load_be32(hdr + 1);
	for (int i = 0; i < RECON_NSAMPLES; i++) {
		if (zp_set_bytes(&n->sv[i], hdr + 5 + i * ZP_NBYTES) != 0)
			return pgps_err_set(rd->err, PGPS_EFORMAT,
			    "'%s': node at offset %llu: sample value %d is "
			    "not below p", rd->path, (unsigned long long)at, i);
	}
	if (hdr[0] == 0) {
		/* Cap before allocating: the count must fit the file. */
		if (rd->off > rd->size || (uint64_t)n->count *
		    RECON_ELEM_LEN > rd->size - rd->off)
			return pgps_err_set(rd->err, PGPS_ETRUNC,
			    "'%s': leaf at offset %llu claims %u elements, "
			    "more than the file holds", rd->path,
			    (unsigned long long)at, n->count);
		if (n->count != 0) {
			n->cap = n->count < 4 ? 4 : n->count;
			n->elems = mem_reallocarray(NULL, n->cap,
			    sizeof(n->elems[0]));
			if (n->elems == NULL)
				return pgps_err_set(rd->err, PGPS_ENOMEM,
				    "out of memory");
		}
		if ((r = pr_read(rd, n->elems,
		    n->count * sizeof(n->elems[0]))) != 0)
			return r;
		for (uint32_t i = 0; i < n->count; i++) {
			const struct recon_elem *e = &n->elems[i];

			if (!recon_prefix_has(pfx, e) || elem_is_point(e) ||
			    (i > 0 && memcmp(n->elems[i - 1].b, e->b,
			    RECON_ELEM_LEN) >= 0))
				return pgps_err_set(rd->err, PGPS_EFORMAT,
				    "'%s': leaf at offset %llu: element %u is "
				    "out of order or outside the prefix",
				    rd->path, (unsigned long long)at, i);
		}
		rd->elems += n->count;
		return 0;
	}
	if (depth >= PTREE_MAX_DEPTH)
		return pgps_err_set(rd->err, PGPS_EFORMAT,
		    "'%s': interior node at offset %llu is too deep",
		    rd->path, (unsigned long long)at);
	if ((n->child = calloc(RECON_NCHILDREN, sizeof(*n->child))) == NULL)
		return pgps_err_set(rd->err, PGPS_ENOMEM, "out of memory");
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++)
		node_init(&n->child[c]);
	for (unsigned int c = 0; c < RECON_NCHILDREN; c++) {
		struct recon_prefix cp;

		if ((r = recon_prefix_child(&cp, pfx, c)) != 0)
			return pgps_err_set(rd->err, PGPS_EINTERNAL,
			    "prefix overflow");
		if ((r = read_node(rd, &n->child[c], &cp, depth + 1)) != 0)
			return r;
		sum += n->child[c].count;
	}
	if (sum != n->count)
		return pgps_err_set(rd->err, PGPS_EFORMAT,
		    "'%s': interior node at offset %llu counts %u elements, "
		    "its children %llu", rd->path, (unsigned long long)at,
		    n->count, (unsigned long long)sum);
	return 0;
}

/*
 * Recomputes the sample values of n from its elements and compares them
 * with the stored ones; *ok is cleared on a mismatch.
 */
static void
verify_node(const struct recon_node *n, struct zp out[RECON_NSAMPLES],
    bool *ok)
{
	struct zp f[RECON_NSAMPLES], sv[RECON_NSAMPLES];

	for (int i = 0; i < RECON_NSAMPLES; i++)
		zp_one(&sv[i]);
	if (n->child == NULL) {
		for (uint32_t k = 0; k < n->count; k++) {
			elem_factors(f, &n->elems[k]);
			for (int i = 0; i < RECON_NSAMPLES; i++)
				zp_mont_mul(&sv[i], &sv[i], &f[i]);
		}
	} else {
		for (unsigned int c = 0; c < RECON_NCHILDREN; c++) {
			verify_node(&n->child[c], f, ok);
			for (int i = 0; i < RECON_NSAMPLES; i++)
				zp_mont_mul(&sv[i], &sv[i], &f[i]);
		}
	}
	for (int i = 0; i < RECON_NSAMPLES; i++) {
		if (!zp_eq(&sv[i], &n->sv[i]))
			*ok = false;
		out[i] = sv[i];
	}
}

int
recon_ptree_load(struct recon_ptree **out, const char *path,
    unsigned int flags, struct pgps_err *err)
{
	struct ptree_reader rd;
	struct recon_ptree *t = NULL;
	struct recon_prefix root = RECON_PREFIX_INIT;
	struct stat st;
	uint8_t hdr[PTREE_HDR_LEN], sum[DIGEST_MAX], want[PTREE_SUM_LEN];
	uint64_t nelems;
	int r = PGPS_EINTERNAL, c;

	memset(&rd, 0, sizeof(rd));
	rd.path = path;
	rd.err = err;
	if ((rd.f = fopen(path, "rb")) == NULL) {
		r = pgps_err_set(err, errno == ENOENT ? PGPS_ENOTFOUND :
		    PGPS_EIO, "'%s': %s", path, strerror(errno));
		goto cleanup;
	}
	if (fstat(fileno(rd.f), &st) != 0) {
		r = pgps_err_set(err, PGPS_EIO, "'%s': %s", path,
		    strerror(errno));
		goto cleanup;
	}
	rd.size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
	if ((rd.md = digest_new(DIGEST_SHA256)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((r = pr_read(&rd, hdr, sizeof(hdr))) != 0)
		goto cleanup;
	if (memcmp(hdr, PTREE_MAGIC, 8) != 0) {
		r = pgps_err_set(err, PGPS_EFORMAT,
		    "'%s': not a prefix tree file", path);
		goto cleanup;
	}
	if (load_be32(hdr + 8) != PTREE_VERSION ||
	    load_be32(hdr + 12) != RECON_BITQUANTUM ||
	    load_be32(hdr + 16) != RECON_NSAMPLES ||
	    load_be32(hdr + 20) != RECON_SPLIT_THRESH ||
	    load_be32(hdr + 24) != RECON_JOIN_THRESH ||
	    load_be32(hdr + 28) != 0) {
		r = pgps_err_set(err, PGPS_EUNSUPPORTED,
		    "'%s': unsupported version or parameters", path);
		goto cleanup;
	}
	nelems = load_be64(hdr + 32);
	rd.max_nodes = load_be64(hdr + 40);
	/* Every node takes at least PTREE_NODE_LEN octets. */
	if (rd.max_nodes == 0 || rd.max_nodes > rd.size / PTREE_NODE_LEN ||
	    nelems > UINT32_MAX) {
		r = pgps_err_set(err, PGPS_EFORMAT,
		    "'%s': header counts do not fit the file", path);
		goto cleanup;
	}
	if ((r = recon_ptree_new(&t)) != 0) {
		r = pgps_err_set(err, r, "out of memory");
		goto cleanup;
	}
	if ((r = read_node(&rd, &t->root, &root, 0)) != 0)
		goto cleanup;
	if (rd.nodes != rd.max_nodes || rd.elems != nelems ||
	    t->root.count != nelems) {
		r = pgps_err_set(err, PGPS_EFORMAT,
		    "'%s': %llu nodes and %llu elements, header says %llu "
		    "and %llu", path, (unsigned long long)rd.nodes,
		    (unsigned long long)rd.elems,
		    (unsigned long long)rd.max_nodes,
		    (unsigned long long)nelems);
		goto cleanup;
	}
	digest_final(rd.md, sum);
	if (fread(want, 1, sizeof(want), rd.f) != sizeof(want)) {
		r = pgps_err_set(err, PGPS_ETRUNC,
		    "'%s': checksum missing at offset %llu", path,
		    (unsigned long long)rd.off);
		goto cleanup;
	}
	if ((c = fgetc(rd.f)) != EOF) {
		r = pgps_err_set(err, PGPS_EFORMAT,
		    "'%s': trailing data at offset %llu", path,
		    (unsigned long long)rd.off + PTREE_SUM_LEN);
		goto cleanup;
	}
	if (memcmp(sum, want, PTREE_SUM_LEN) != 0) {
		r = pgps_err_set(err, PGPS_EFORMAT, "'%s': checksum mismatch",
		    path);
		goto cleanup;
	}
	if (flags & RECON_PTREE_LOAD_VERIFY) {
		struct zp sv[RECON_NSAMPLES];
		bool good = true;

		verify_node(&t->root, sv, &good);
		if (!good) {
			r = pgps_err_set(err, PGPS_EFORMAT,
			    "'%s': stored sample values do not match the "
			    "elements", path);
			goto cleanup;
		}
	}
	*out = t;
	t = NULL;
	r = 0;
 cleanup:
	recon_ptree_free(t);
	digest_free(rd.md);
	if (rd.f != NULL)
		fclose(rd.f);
	return r;
}
