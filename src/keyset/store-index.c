/*
 * store-index.c: walking the store's trees (only the shard directories
 * whose ids differ) and the side index $GIT_DIR/pgpsync/index, a cache
 * of (fingerprint, SKS hash, blob id) for one tree, brought up to date
 * from git's trees by reading only the files that differ.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "keyset/store-int.h"
#include "util/buf.h"
#include "util/mem.h"

#define INDEX_MAGIC		"PGPSIDX1"
#define INDEX_REC		(1 + PGP_FPR_MAX + 16 + OID_LEN)

/* --- walking trees ---------------------------------------------------- */


/*
 * Compares the store trees a and b (either may be NULL), descending only
 * into shard directories whose ids differ, and calls fn for each plain
 * file "<hex fingerprint>.pgp" in its shard directory that differs, in
 * path order.  Other entries are not certificates and are ignored.
 */
int
store_tree_walk(struct store *s, const git_oid *a, const git_oid *b, int depth,
    const char *prefix, store_walk_fn fn, void *arg, struct pgps_err *err)
{
	git_tree *ta = NULL, *tb = NULL;
	size_t i = 0, j = 0, na, nb;
	char path[128], hex[2 * OID_LEN + 1];
	int r = 0;

	if (a != NULL && b != NULL && git_oid_equal(a, b))
		return 0;
	if ((a != NULL && git_tree_lookup(&ta, s->repo, a) != 0) ||
	    (b != NULL && git_tree_lookup(&tb, s->repo, b) != 0)) {
		git_oid_tostr(hex, sizeof(hex), ta == NULL && a != NULL ?
		    a : b);
		r = store_git_fail(err, "cannot read tree %s", hex);
		goto cleanup;
	}
	na = ta != NULL ? git_tree_entrycount(ta) : 0;
	nb = tb != NULL ? git_tree_entrycount(tb) : 0;
	while (r == 0 && (i < na || j < nb)) {
		const git_tree_entry *ea = i < na ?
		    git_tree_entry_byindex(ta, i) : NULL;
		const git_tree_entry *eb = j < nb ?
		    git_tree_entry_byindex(tb, j) : NULL;
		const git_tree_entry *x, *y;
		git_object_t want = depth < 2 ? GIT_OBJECT_TREE :
		    GIT_OBJECT_BLOB;
		const char *name;
		int c;

		c = ea == NULL ? 1 : eb == NULL ? -1 : git_tree_entry_cmp(ea,
		    eb);
		x = c <= 0 ? ea : NULL;
		y = c >= 0 ? eb : NULL;
		i += x != NULL;
		j += y != NULL;
		name = git_tree_entry_name(x != NULL ? x : y);
		/* A certificate is a plain file: no link, no submodule. */
		if (x != NULL && (git_tree_entry_type(x) != want ||
		    (depth == 2 && git_tree_entry_filemode(x) !=
		    GIT_FILEMODE_BLOB)))
			x = NULL;
		if (y != NULL && (git_tree_entry_type(y) != want ||
		    (depth == 2 && git_tree_entry_filemode(y) !=
		    GIT_FILEMODE_BLOB)))
			y = NULL;
		if (x == NULL && y == NULL)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "/" : "", name);
		if (depth < 2) {
			if (store_is_shard_name(name))
				r = store_tree_walk(s, x != NULL ?
				    git_tree_entry_id(x) : NULL, y != NULL ?
				    git_tree_entry_id(y) : NULL, depth + 1,
				    path, fn, arg, err);
		} else {
			uint8_t fpr[PGP_FPR_MAX], len;

			if (store_parse_cert_path(prefix, name, fpr, &len) &&
			    (x == NULL || y == NULL ||
			    !git_oid_equal(git_tree_entry_id(x),
			    git_tree_entry_id(y))))
				r = fn(path, name, x != NULL ?
				    git_tree_entry_id(x) : NULL, y != NULL ?
				    git_tree_entry_id(y) : NULL, arg, err);
		}
	}
 cleanup:
	git_tree_free(ta);
	git_tree_free(tb);
	return r;
}

/* --- the side index --------------------------------------------------- */

/*
 * $GIT_DIR/pgpsync/index: "PGPSIDX1", the tree's id, be64 count, then
 * count records of fingerprint length, fingerprint (zero-padded to 32),
 * SKS hash and blob id -- a zero length marks a damaged file, whose
 * fingerprint comes from its name -- sorted by fingerprint; last the
 * SHA-1 of everything before it, so a torn file is never trusted.
 */
static char *
index_path(const struct store *s, const char *suffix)
{
	char name[64];

	snprintf(name, sizeof(name), "pgpsync/index%s", suffix);
	return store_path_join(s->gitdir, name);
}

static void
rec_put(uint8_t *p, const struct store_entry *e, bool damaged)
{
	p[0] = damaged ? 0 : e->fprlen;
	memcpy(p + 1, e->fpr, PGP_FPR_MAX);
	memcpy(p + 1 + PGP_FPR_MAX, e->hash, 16);
	if (damaged)
		p[1 + PGP_FPR_MAX] = e->fprlen;
	memcpy(p + 1 + PGP_FPR_MAX + 16, e->oid, OID_LEN);
}

/* Writes the index of tree; failure only costs the next reader time. */
void
store_index_save(struct store *s, const git_oid *tree)
{
	struct buf b = BUF_INIT;
	char *path = index_path(s, ""), tail[32], *tmp, *sub;
	uint8_t md[DIGEST_MAX], rec[INDEX_REC];
	uint64_t n = (uint64_t)s->nents + s->nbad;
	size_t i = 0, j = 0;
	FILE *f = NULL;
	int r = 0;

	snprintf(tail, sizeof(tail), ".tmp.%ld", (long)getpid());
	tmp = index_path(s, tail);
	sub = store_path_join(s->gitdir, "pgpsync");
	buf_init(&b, 0);
	if (path == NULL || tmp == NULL || sub == NULL || s->md5 == NULL)
		goto cleanup;
	if (mkdir(sub, 0755) != 0 && errno != EEXIST)
		goto cleanup;
	r |= buf_add(&b, INDEX_MAGIC, 8);
	r |= buf_add(&b, tree->id, OID_LEN);
	r |= buf_add_be32(&b, (uint32_t)(n >> 32));
	r |= buf_add_be32(&b, (uint32_t)n);
	while (r == 0 && (i < s->nents || j < s->nbad)) {
		bool dmg = i == s->nents || (j < s->nbad &&
		    store_entry_cmp(&s->bad[j], &s->ents[i]) < 0);

		rec_put(rec, dmg ? &s->bad[j++] : &s->ents[i++], dmg);
		r |= buf_add(&b, rec, sizeof(rec));
	}
	if (r != 0)
		goto cleanup;
	{
		struct digest *sha1 = digest_new(DIGEST_SHA1);

		if (sha1 == NULL)
			goto cleanup;
		digest_update(sha1, b.p, b.len);
		digest_final(sha1, md);
		digest_free(sha1);
	}
	if (buf_add(&b, md, OID_LEN) != 0 || (f = fopen(tmp, "wb")) == NULL)
		goto cleanup;
	if (fwrite(b.p, 1, b.len, f) != b.len) {
		fclose(f);
		unlink(tmp);
		goto cleanup;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
 cleanup:
	free(path);
	free(tmp);
	free(sub);
	buf_release(&b);
}

/* Reads the index file: 0, or -1 when it is missing or not intact. */
static int
index_load(struct store *s, git_oid *tree)
{
	struct buf b = BUF_INIT;
	struct digest *sha1 = NULL;
	char *path = index_path(s, "");
	uint8_t md[DIGEST_MAX], tmp[65536];
	uint64_t n;
	size_t k, fill = 0;
	FILE *f = NULL;
	int r = -1;

	buf_init(&b, 0);
	if (path == NULL || (f = fopen(path, "rb")) == NULL)
		goto cleanup;
	while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_add(&b, tmp, k) != 0)
			goto cleanup;
	if (ferror(f) || b.len < 8 + OID_LEN + 8 + OID_LEN ||
	    memcmp(b.p, INDEX_MAGIC, 8) != 0 ||
	    (sha1 = digest_new(DIGEST_SHA1)) == NULL)
		goto cleanup;
	digest_update(sha1, b.p, b.len - OID_LEN);
	digest_final(sha1, md);
	if (memcmp(md, b.p + b.len - OID_LEN, OID_LEN) != 0)
		goto cleanup;
	n = (uint64_t)b.p[28] << 56 | (uint64_t)b.p[29] << 48 |
	    (uint64_t)b.p[30] << 40 | (uint64_t)b.p[31] << 32 |
	    (uint64_t)b.p[32] << 24 | (uint64_t)b.p[33] << 16 |
	    (uint64_t)b.p[34] << 8 | b.p[35];
	if (n > (b.len - 56) / INDEX_REC || (b.len - 56) % INDEX_REC != 0 ||
	    (b.len - 56) / INDEX_REC != n)
		goto cleanup;
	memcpy(tree->id, b.p + 8, OID_LEN);
	s->ents = mem_reallocarray(NULL, (size_t)n + 1, sizeof(*s->ents));
	s->bad = mem_reallocarray(NULL, (size_t)n + 1, sizeof(*s->bad));
	if (s->ents == NULL || s->bad == NULL)
		goto cleanup;
	for (fill = 0; fill < n; fill++) {
		const uint8_t *p = b.p + 36 + fill * INDEX_REC;
		struct store_entry *e;

		if (p[0] > PGP_FPR_MAX)
			goto cleanup;
		e = p[0] == 0 ? &s->bad[s->nbad++] : &s->ents[s->nents++];
		e->fprlen = p[0];
		memcpy(e->fpr, p + 1, PGP_FPR_MAX);
		memcpy(e->hash, p + 1 + PGP_FPR_MAX, 16);
		memcpy(e->oid, p + 1 + PGP_FPR_MAX + 16, OID_LEN);
		if (e->fprlen == 0)	/* damaged: the name's length */
			e->fprlen = e->hash[0];
	}
	r = 0;
 cleanup:
	if (r != 0) {
		free(s->ents);
		free(s->bad);
		s->ents = s->bad = NULL;
		s->nents = s->nbad = 0;
	}
	if (f != NULL)
		fclose(f);
	digest_free(sha1);
	free(path);
	buf_release(&b);
	return r;
}

/*
 * Why p[0..len) is not what the file of the certificate fpr must hold:
 * that one certificate and nothing else; NULL when it is.  c is left
 * parsed; theirs gets the fingerprint of another key it holds, or "".
 */
const char *
store_cert_misnamed(struct pgp_cert *c, const uint8_t *p, size_t len,
    const uint8_t *fpr, size_t fprlen, char theirs[FPR_HEX])
{
	theirs[0] = '\0';
	if (pgp_cert_parse(c, p, len, 0, NULL) != 0 || !c->has_primary)
		return "not a certificate";
	if (c->flags & PGP_CERT_SECRET)
		return "a secret key";
	for (size_t i = 1; i < c->npkts; i++)
		if (c->pkts[i].tag == PGP_TAG_PUBLIC_KEY ||
		    c->pkts[i].tag == PGP_TAG_SECRET_KEY)
			return "more than one certificate";
	if (store_key_cmp(c->primary.fpr, c->primary.fprlen, fpr,
	    fprlen) != 0) {
		store_fpr_hex(theirs, c->primary.fpr, c->primary.fprlen);
		return "the certificate of another key";
	}
	return NULL;
}

/*
 * Checks that blob data is one certificate whose primary key has the
 * fingerprint fpr, and computes its SKS hash; false otherwise.
 */
static bool
cert_check(struct store *s, struct pgp_cert *c, const uint8_t *p,
    size_t len, const uint8_t *fpr, size_t fprlen, uint8_t hash[16])
{
	char theirs[FPR_HEX];

	return store_cert_misnamed(c, p, len, fpr, fprlen, theirs) == NULL &&
	    pgp_cert_sks_hash(c, s->md5, hash) == 0;
}

/* A file that differs between the index's tree and the store's. */
struct change {
	struct store_entry	 e;
	bool			 gone;	/* only marks a removal */
	bool			 dmg;	/* a damaged file */
};

struct sync {
	struct store		*s;
	struct change		*v;	/* sorted like the tree */
	size_t			 n;
	size_t			 alloc;
	struct buf		 data;
};

static int
sync_file(const char *path, const char *name, const git_oid *old,
    const git_oid *new, void *arg, struct pgps_err *err)
{
	struct sync *y = arg;
	struct change *c;
	int r;

	(void)path;
	(void)old;
	if ((c = store_grow(y->v, y->n, &y->alloc, sizeof(*y->v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	y->v = c;
	c = &y->v[y->n];
	memset(c, 0, sizeof(*c));
	store_parse_cert_name(name, c->e.fpr, &c->e.fprlen);
	c->gone = new == NULL;
	if (new != NULL) {
		memcpy(c->e.oid, new->id, OID_LEN);
		if ((r = store_read(&y->data, y->s, c->e.oid, err)) != 0)
			return r;
		c->dmg = !cert_check(y->s, &y->s->c1, y->data.p, y->data.len,
		    c->e.fpr, c->e.fprlen, c->e.hash);
	}
	y->n++;
	return 0;
}

/*
 * Brings the in-memory index (of the tree the side index describes, or
 * empty) up to date with s->tree, by applying the files that differ.
 */
static int
index_sync(struct store *s, const git_oid *from, struct pgps_err *err)
{
	struct sync y;
	struct store_entry *ne = NULL, *nbad = NULL;
	size_t nn = 0, nnb = 0, i = 0, j = 0, k = 0;
	int r;

	memset(&y, 0, sizeof(y));
	y.s = s;
	buf_init(&y.data, 0);
	if ((r = store_tree_walk(s, from, &s->tree, 0, "", sync_file, &y,
	    err)) != 0)
		goto cleanup;
	ne = mem_reallocarray(NULL, s->nents + y.n + 1, sizeof(*ne));
	nbad = mem_reallocarray(NULL, s->nbad + y.n + 1, sizeof(*nbad));
	if (ne == NULL || nbad == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	/* The walk is in path order, which is fingerprint order. */
	while (i < s->nents || j < s->nbad || k < y.n) {
		const struct store_entry *a = i < s->nents ? &s->ents[i] :
		    NULL, *b = j < s->nbad ? &s->bad[j] : NULL;
		const struct store_entry *c = k < y.n ? &y.v[k].e : NULL;
		const struct store_entry *m = a;
		bool mbad = false;

		if (m == NULL || (b != NULL && store_entry_cmp(b, m) < 0)) {
			m = b;
			mbad = true;
		}
		if (c != NULL && (m == NULL || store_entry_cmp(c, m) <= 0)) {
			if (m != NULL && store_entry_cmp(c, m) == 0) {
				if (mbad)
					j++;
				else
					i++;
			}
			if (!y.v[k].gone) {
				if (y.v[k].dmg)
					nbad[nnb++] = *c;
				else
					ne[nn++] = *c;
			}
			k++;
			continue;
		}
		if (mbad) {
			nbad[nnb++] = *m;
			j++;
		} else {
			ne[nn++] = *m;
			i++;
		}
	}
	free(s->ents);
	free(s->bad);
	s->ents = ne;
	s->nents = nn;
	s->bad = nbad;
	s->nbad = nnb;
	ne = nbad = NULL;
	r = 0;
 cleanup:
	free(ne);
	free(nbad);
	free(y.v);
	buf_release(&y.data);
	return r;
}

/* Loads the index of the base tree, reading as little as it can. */
int
store_index_ready(struct store *s, struct pgps_err *err)
{
	git_oid from;
	const git_oid *fromp = NULL;
	int r;

	if (s->loaded)
		return 0;
	if (!s->has_base) {
		s->loaded = true;
		return 0;
	}
	if (index_load(s, &from) == 0) {
		if (git_oid_equal(&from, &s->tree)) {
			s->loaded = true;
			return 0;
		}
		if (git_odb_exists(s->odb, &from))
			fromp = &from;
		else {
			free(s->ents);
			free(s->bad);
			s->ents = s->bad = NULL;
			s->nents = s->nbad = 0;
		}
	}
	if ((r = index_sync(s, fromp, err)) != 0)
		return r;
	s->loaded = true;
	if (s->rev == NULL)
		store_index_save(s, &s->tree);
	return 0;
}

int
store_entries(const struct store_entry **out, size_t *n, size_t *damaged,
    struct store *s, struct pgps_err *err)
{
	int r;

	if ((r = store_index_ready(s, err)) != 0)
		return r;
	*out = s->ents;
	*n = s->nents;
	if (damaged != NULL)
		*damaged = s->nbad;
	return 0;
}

