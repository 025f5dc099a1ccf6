/*
 * store-join.c: joining a revision of the same repository into the
 * store (store_join()), and the check that decides whether HEAD may
 * simply move to it: a fetched revision is never taken on trust.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <string.h>

#include <git2.h>

#include "keyset/store-int.h"
#include "util/buf.h"
#include "util/limits.h"

/* --- joining histories ----------------------------------------------- */

static bool
same_file(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
	    x.st_ino == y.st_ino;
}

/*
 * Checking a revision before a fast-forward.  HEAD may move to a
 * descendant only when its tree is what merging it certificate by
 * certificate would give: nothing HEAD's tree has is removed, every file
 * is a plain file in its shard directory holding exactly the certificate
 * its name says, with no secret key material, within the limits and as
 * the store writes it, and with every packet of the version HEAD has;
 * there is nothing else but the store's own README.  Otherwise the
 * revision is merged certificate by certificate (store_join()).
 */
enum ff_problem { FF_REMOVED, FF_LOSES, FF_BAD, FF_JUNK, FF_NPROBLEMS };

struct ffcheck {
	struct store		*s;
	const struct pgp_limits	*lim;
	git_oid			 readme;	/* the id of store_readme */
	size_t			 n[FF_NPROBLEMS];
	char			 first[FF_NPROBLEMS][256];
};

/* Counts a problem; the first of each kind is named, printable. */
static void
ff_note(struct ffcheck *k, enum ff_problem what, const char *path,
    const char *why)
{
	char *p = k->first[what];

	if (k->n[what]++ > 0)
		return;
	snprintf(p, sizeof(k->first[what]), "%s: %s", path, why);
	for (; *p != '\0'; p++)
		if ((uint8_t)*p < 0x20 || (uint8_t)*p >= 0x7f)
			*p = '?';
}

/* Checks the file path (certificate fpr) that is new, or was old. */
static int
ff_cert(struct ffcheck *k, const char *path, const uint8_t *fpr,
    size_t fprlen, const git_oid *old, const git_oid *new,
    struct pgps_err *err)
{
	struct store *s = k->s;
	size_t size, max = PGPS_MAX_CERT;
	git_object_t type;
	const char *why;
	char theirs[FPR_HEX], msg[96];
	bool same;
	int r;

	if (k->lim != NULL && k->lim->max_cert_size > 0 &&
	    k->lim->max_cert_size < max)
		max = k->lim->max_cert_size;
	if (git_odb_read_header(&size, &type, s->odb, new) != 0)
		return store_git_fail(err, "'%s': cannot read a file", s->dir);
	if (size > max) {
		snprintf(msg, sizeof(msg), "%zu bytes, larger than %zu",
		    size, max);
		ff_note(k, FF_BAD, path, msg);
		return 0;
	}
	if ((r = store_read(&s->nb, s, new->id, err)) != 0)
		return r;
	if ((why = store_cert_misnamed(&s->c1, s->nb.p, s->nb.len, fpr, fprlen,
	    theirs)) != NULL || pgp_cert_has_secret(&s->c1)) {
		ff_note(k, FF_BAD, path, why == NULL ? "secret key material" :
		    theirs[0] != '\0' ? "holds another key" : why);
		return 0;
	}
	if (store_normalise(&s->fb, &s->c1, k->lim, &same, err) != 0 || !same ||
	    s->fb.len != s->nb.len || memcmp(s->fb.p, s->nb.p,
	    s->nb.len) != 0) {
		ff_note(k, FF_BAD, path, "not as the store keeps it (over "
		    "the limits, or trust packets)");
		return 0;
	}
	if (old == NULL)
		return 0;
	if ((r = store_read(&s->ob, s, old->id, err)) != 0)
		return r;
	if (pgp_cert_parse(&s->c2, s->ob.p, s->ob.len, 0, NULL) == 0 &&
	    !pgp_cert_contains(&s->c1, &s->c2))
		ff_note(k, FF_LOSES, path, "would lose packets");
	return 0;
}

/*
 * Compares the tree a of HEAD (NULL: none) with b, the revision's, at
 * depth (0: the root) and notes every problem.
 */
static int
ff_walk(struct ffcheck *k, const git_oid *a, const git_oid *b, int depth,
    const char *prefix, struct pgps_err *err)
{
	git_tree *ta = NULL, *tb = NULL;
	size_t i = 0, j = 0, na, nb;
	char path[128], hex[2 * OID_LEN + 1];
	int r = 0;

	if (a != NULL && git_oid_equal(a, b))
		return 0;
	if ((a != NULL && git_tree_lookup(&ta, k->s->repo, a) != 0) ||
	    git_tree_lookup(&tb, k->s->repo, b) != 0) {
		git_oid_tostr(hex, sizeof(hex), ta == NULL && a != NULL ?
		    a : b);
		r = store_git_fail(err, "cannot read tree %s", hex);
		goto cleanup;
	}
	na = ta != NULL ? git_tree_entrycount(ta) : 0;
	nb = git_tree_entrycount(tb);
	while (r == 0 && (i < na || j < nb)) {
		const git_tree_entry *x = i < na ?
		    git_tree_entry_byindex(ta, i) : NULL;
		const git_tree_entry *y = j < nb ?
		    git_tree_entry_byindex(tb, j) : NULL;
		git_filemode_t mx, my;
		uint8_t fpr[PGP_FPR_MAX], len;
		int c;

		c = x == NULL ? 1 : y == NULL ? -1 : git_tree_entry_cmp(x, y);
		x = c <= 0 ? x : NULL;
		y = c >= 0 ? y : NULL;
		i += x != NULL;
		j += y != NULL;
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] != '\0' ? "/" : "",
		    git_tree_entry_name(x != NULL ? x : y));
		mx = x != NULL ? git_tree_entry_filemode(x) : 0;
		my = y != NULL ? git_tree_entry_filemode(y) : 0;
		if (x != NULL && (y == NULL || mx != my)) {
			ff_note(k, FF_REMOVED, path, "removed");
			if (y == NULL)
				continue;
			x = NULL;
		}
		if (x != NULL && git_oid_equal(git_tree_entry_id(x),
		    git_tree_entry_id(y)))
			continue;
		if (depth == 0 && strcmp(git_tree_entry_name(y),
		    "README") == 0 && my == GIT_FILEMODE_BLOB &&
		    git_oid_equal(git_tree_entry_id(y), &k->readme))
			continue;
		if (depth < 2 && my == GIT_FILEMODE_TREE &&
		    store_is_shard_name(git_tree_entry_name(y)))
			r = ff_walk(k, x != NULL ? git_tree_entry_id(x) : NULL,
			    git_tree_entry_id(y), depth + 1, path, err);
		else if (depth == 2 && my == GIT_FILEMODE_BLOB &&
		    store_parse_cert_path(prefix, git_tree_entry_name(y), fpr,
		    &len))
			r = ff_cert(k, path, fpr, len, x != NULL ?
			    git_tree_entry_id(x) : NULL, git_tree_entry_id(y),
			    err);
		else
			ff_note(k, FF_JUNK, path, "not a certificate");
	}
 cleanup:
	git_tree_free(ta);
	git_tree_free(tb);
	return r;
}

/*
 * Checks the tree of commit c against the base; *why gets what keeps it
 * from being taken whole (a message), or NULL when nothing does.
 */
static int
ff_check(struct store *s, const git_commit *c, const struct pgp_limits *lim,
    char **why, struct pgps_err *err)
{
	static const char *const more[] = {
		"removed", "losing packets", "not certificates of their names",
		"not certificates"
	};
	struct ffcheck k;
	struct buf m = BUF_INIT;
	int r;

	*why = NULL;
	memset(&k, 0, sizeof(k));
	k.s = s;
	k.lim = lim;
	if (git_odb_hash(&k.readme, store_readme, strlen(store_readme),
	    GIT_OBJECT_BLOB) != 0)
		return store_git_fail(err, "cannot hash%s", "");
	if ((r = ff_walk(&k, s->has_base ? &s->tree : NULL,
	    git_commit_tree_id(c), 0, "", err)) != 0)
		return r;
	buf_init(&m, 0);
	for (int i = 0; i < FF_NPROBLEMS; i++) {
		if (k.n[i] == 0)
			continue;
		buf_addf(&m, "%s%s", m.len == 0 ? "not a fast-forward: " :
		    "; ", k.first[i]);
		if (k.n[i] > 1)
			buf_addf(&m, " (%zu files %s)", k.n[i], more[i]);
	}
	if (m.len > 0 && (*why = strdup((const char *)m.p)) == NULL)
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	buf_release(&m);
	return r;
}

const char *
store_join_why(const struct store *s)
{
	return s->joinwhy != NULL ? s->joinwhy : "";
}

int
store_join(struct store *s, const char *name, enum store_join_result *res,
    struct pgps_err *err)
{
	struct pgp_limits lim;

	pgp_limits_default(&lim);
	return store_join_limits(s, name, &lim, res, err);
}

int
store_join_limits(struct store *s, const char *name,
    const struct pgp_limits *lim, enum store_join_result *res,
    struct pgps_err *err)
{
	git_object *obj = NULL;
	git_commit *c = NULL;
	char *dir = NULL, *rev = NULL, msg[256];
	int r = 0;

	*res = STORE_JOIN_NONE;
	if (!s->writable || s->nst > 0)
		PGPS_BUG("store_join() on a store not fresh for writing");
	if (store_split_name(name, &dir, &rev) != 0) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (dir[0] == '\0') {
		free(dir);
		dir = store_default_dir();
	}
	if (rev == NULL || dir == NULL || (!same_file(dir, s->dir) &&
	    !same_file(dir, s->gitdir)))
		goto cleanup;	/* another store, or no revision */
	if (git_revparse_single(&obj, s->repo, rev) != 0 ||
	    git_object_peel((git_object **)&c, obj, GIT_OBJECT_COMMIT) != 0) {
		r = pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no revision "
		    "'%s' in it", s->dir, rev);
		goto cleanup;
	}
	if (s->has_base && (git_oid_equal(&s->base, git_commit_id(c)) ||
	    git_graph_descendant_of(s->repo, &s->base,
	    git_commit_id(c)) == 1)) {
		*res = STORE_JOIN_HAVE;
		goto cleanup;
	}
	free(s->joinwhy);
	s->joinwhy = NULL;
	if ((!s->has_base || git_graph_descendant_of(s->repo,
	    git_commit_id(c), &s->base) == 1) &&
	    ((r = ff_check(s, c, lim, &s->joinwhy, err)) != 0 ||
	    s->joinwhy == NULL)) {
		if (r != 0)
			goto cleanup;
		snprintf(msg, sizeof(msg), "pgpsync: fast-forward to %s", rev);
		if ((r = store_move_head(s, git_commit_id(c), msg, err)) == 0)
			*res = STORE_JOIN_FAST_FORWARD;
		goto cleanup;
	}
	git_oid_cpy(&s->join, git_commit_id(c));
	free(s->joinname);
	if ((s->joinname = strdup(rev)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	s->has_join = true;
	*res = STORE_JOIN_MERGE;
 cleanup:
	git_commit_free(c);
	git_object_free(obj);
	free(dir);
	free(rev);
	return r;
}

