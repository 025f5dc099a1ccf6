/*
 * store-commit.c: writing what was put as one commit: the trees (only
 * the shard trees on the way rewritten), the message that says what
 * changed, the objects, then HEAD moved atomically with a reflog entry.
 */
#include "util/common.h"

#include <string.h>

#include <git2.h>
#include <git2/sys/commit.h>

#include "keyset/store-int.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/limits.h"
#include "util/mem.h"

#define LIST_MAX		1000	/* certificates named in a message */

/* --- moving HEAD --------------------------------------------------------- */

/* Moves HEAD (or the branch it names) from the base commit to id. */
int
store_move_head(struct store *s, const git_oid *id, const char *why,
    struct pgps_err *err)
{
	git_reference *head = NULL, *moved = NULL;
	git_commit *c = NULL;
	const char *name = "HEAD";
	int r;

	if (git_reference_lookup(&head, s->repo, "HEAD") != 0) {
		r = store_git_fail(err, "'%s': cannot read HEAD", s->dir);
		goto cleanup;
	}
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
		name = git_reference_symbolic_target(head);
	if ((r = store_ref_update_begin(s, err)) != 0)
		goto cleanup;
	r = git_reference_create_matching(&moved, s->repo, name, id, 1,
	    s->has_base ? &s->base : NULL, why);
	store_ref_update_end(s);
	if (r != 0 || git_commit_lookup(&c, s->repo, id) != 0) {
		r = store_git_fail(err, "'%s': cannot move HEAD", s->dir);
		goto cleanup;
	}
	store_set_base(s, id, git_commit_tree_id(c));
	store_kid_drop(s);
	free(s->ents);
	free(s->bad);
	s->ents = s->bad = NULL;
	s->nents = s->nbad = 0;
	s->loaded = false;
	r = 0;
 cleanup:
	git_commit_free(c);
	git_reference_free(moved);
	git_reference_free(head);
	return r;
}

/* --- commits ---------------------------------------------------------- */

/* One entry of a tree being rewritten. */
struct tent {
	char		*name;
	unsigned int	 mode;
	uint8_t		 oid[OID_LEN];
};

struct tlist {
	struct tent	*v;
	size_t		 n;
	size_t		 alloc;
};

static void
tlist_clear(struct tlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	l->n = 0;
}

static void
tlist_release(struct tlist *l)
{
	tlist_clear(l);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct tent *
tlist_get(const struct tlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

/* Sets name to (mode, oid), replacing an entry of that name. */
static int
tlist_put(struct tlist *l, const char *name, unsigned int mode,
    const uint8_t *oid)
{
	struct tent *t = tlist_get(l, name);

	if (t == NULL) {
		if ((t = store_grow(l->v, l->n, &l->alloc,
		    sizeof(*l->v))) == NULL)
			return PGPS_ENOMEM;
		l->v = t;
		t = &l->v[l->n];
		if ((t->name = strdup(name)) == NULL)
			return PGPS_ENOMEM;
		l->n++;
	}
	t->mode = mode;
	memcpy(t->oid, oid, OID_LEN);
	return 0;
}

/* Loads the entries of tree id (a NULL id: an empty tree). */
static int
tlist_load(struct store *s, struct tlist *l, const git_oid *id,
    struct pgps_err *err)
{
	git_tree *t = NULL;
	char hex[2 * OID_LEN + 1];
	int r = 0;

	tlist_clear(l);
	if (id == NULL)
		return 0;
	if (git_tree_lookup(&t, s->repo, id) != 0) {
		git_oid_tostr(hex, sizeof(hex), id);
		return store_git_fail(err, "cannot read tree %s", hex);
	}
	for (size_t i = 0; i < git_tree_entrycount(t) && r == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);

		r = tlist_put(l, git_tree_entry_name(e),
		    (unsigned int)git_tree_entry_filemode(e),
		    git_tree_entry_id(e)->id);
	}
	git_tree_free(t);
	return r == 0 ? 0 : pgps_err_set(err, r, "out of memory");
}

/* Git's order of tree entries: by name, a tree's name ending in '/'. */
static int
tent_cmp(const void *va, const void *vb)
{
	const struct tent *a = va, *b = vb;
	size_t al = strlen(a->name), bl = strlen(b->name);
	size_t n = al < bl ? al : bl;
	int c = memcmp(a->name, b->name, n), ca, cb;

	if (c != 0)
		return c;
	ca = al > n ? (uint8_t)a->name[n] :
	    (a->mode == GIT_FILEMODE_TREE ? '/' : 0);
	cb = bl > n ? (uint8_t)b->name[n] :
	    (b->mode == GIT_FILEMODE_TREE ? '/' : 0);
	return ca - cb;
}

/* Writes the tree object of l: "<octal mode> <name>\0<id>" per entry. */
static int
tlist_write(struct store *s, struct tlist *l, uint8_t oid[OID_LEN],
    struct pgps_err *err)
{
	struct buf b = BUF_INIT;
	size_t k;
	int r = 0;

	buf_init(&b, 0);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), tent_cmp);
	for (size_t i = 0; i < l->n && r == 0; i++) {
		char mode[16];

		if (l->v[i].mode == GIT_FILEMODE_BLOB)
			memcpy(mode, "100644 ", 8);
		else if (l->v[i].mode == GIT_FILEMODE_TREE)
			memcpy(mode, "40000 ", 7);
		else
			snprintf(mode, sizeof(mode), "%o ", l->v[i].mode);
		r = buf_addstr(&b, mode) | buf_add(&b, l->v[i].name,
		    strlen(l->v[i].name) + 1) | buf_add(&b, l->v[i].oid,
		    OID_LEN);
	}
	if (r != 0)
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	else
		r = objw_add(&s->w, s->gitdir, OBJ_TREE, b.p, b.len, oid, &k,
		    err);
	buf_release(&b);
	return r;
}

static int
staged_cmp(const void *a, const void *b)
{
	return store_entry_cmp(&((const struct staged *)a)->e,
	    &((const struct staged *)b)->e);
}

/* How many objects build_trees() will add (it adds no object twice). */
static size_t
count_trees(const struct store *s)
{
	size_t n = s->has_base ? 1 : 2;		/* the root; the README */

	if (s->nst == 0)
		return 0;
	n += 2;		/* the first certificate's two levels */
	for (size_t i = 1; i < s->nst; i++) {
		const uint8_t *f = s->st[i].e.fpr, *g = s->st[i - 1].e.fpr;

		if (f[0] != g[0])
			n += 2;		/* a new first and second level */
		else if (f[1] != g[1])
			n++;
	}
	return n;
}

/*
 * Builds the new root tree: the base tree with every staged certificate
 * written into its leaf; only the shard trees on the way are rewritten.
 * The staged array must be sorted.
 */
static int
build_trees(struct store *s, uint8_t root_oid[OID_LEN], struct pgps_err *err)
{
	struct tlist root, mid, leaf;
	uint8_t oid[OID_LEN];
	char name[FPR_HEX + 8], d0[3], d1[3];
	size_t i = 0, k;
	int r;

	memset(&root, 0, sizeof(root));
	memset(&mid, 0, sizeof(mid));
	memset(&leaf, 0, sizeof(leaf));
	if (s->nst == 0 && s->has_base) {
		memcpy(root_oid, s->tree.id, OID_LEN);	/* a bare merge */
		return 0;
	}
	if ((r = tlist_load(s, &root, s->has_base ? &s->tree : NULL,
	    err)) != 0)
		goto cleanup;
	while (i < s->nst) {
		uint8_t b0 = s->st[i].e.fpr[0];
		const struct tent *t;
		git_oid id;

		hex_encode_upper(d0, &b0, 1);
		t = tlist_get(&root, d0);
		if (t != NULL && t->mode == GIT_FILEMODE_TREE)
			memcpy(id.id, t->oid, OID_LEN);
		if ((r = tlist_load(s, &mid, t != NULL &&
		    t->mode == GIT_FILEMODE_TREE ? &id : NULL, err)) != 0)
			goto cleanup;
		while (i < s->nst && s->st[i].e.fpr[0] == b0) {
			uint8_t b1 = s->st[i].e.fpr[1];

			hex_encode_upper(d1, &b1, 1);
			t = tlist_get(&mid, d1);
			if (t != NULL && t->mode == GIT_FILEMODE_TREE)
				memcpy(id.id, t->oid, OID_LEN);
			if ((r = tlist_load(s, &leaf, t != NULL &&
			    t->mode == GIT_FILEMODE_TREE ? &id : NULL,
			    err)) != 0)
				goto cleanup;
			for (; i < s->nst && s->st[i].e.fpr[0] == b0 &&
			    s->st[i].e.fpr[1] == b1; i++) {
				store_fpr_hex(name, s->st[i].e.fpr,
				    s->st[i].e.fprlen);
				memcpy(name + 2 * s->st[i].e.fprlen, ".pgp", 5);
				if (tlist_put(&leaf, name, GIT_FILEMODE_BLOB,
				    s->st[i].e.oid) != 0)
					goto nomem;
			}
			if ((r = tlist_write(s, &leaf, oid, err)) != 0)
				goto cleanup;
			if (tlist_put(&mid, d1, GIT_FILEMODE_TREE, oid) != 0)
				goto nomem;
		}
		if ((r = tlist_write(s, &mid, oid, err)) != 0)
			goto cleanup;
		if (tlist_put(&root, d0, GIT_FILEMODE_TREE, oid) != 0)
			goto nomem;
	}
	if (!s->has_base) {
		if ((r = objw_add(&s->w, s->gitdir, OBJ_BLOB,
		    (const uint8_t *)store_readme, strlen(store_readme),
		    oid, &k, err)) != 0)
			goto cleanup;
		if (tlist_put(&root, "README", GIT_FILEMODE_BLOB, oid) != 0)
			goto nomem;
	}
	r = tlist_write(s, &root, root_oid, err);
	goto cleanup;
 nomem:
	r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
 cleanup:
	tlist_release(&root);
	tlist_release(&mid);
	tlist_release(&leaf);
	return r;
}

static const char *const kind_one[] = {
	"user ID", "user attribute", "subkey", "self-signature",
	"expiry change", "certification", "revocation", "other packet"
};
static const char *const kind_many[] = {
	"user IDs", "user attributes", "subkeys", "self-signatures",
	"expiry changes", "certifications", "revocations", "other packets"
};
/* Most telling first, for the subject line. */
static const enum pgp_change_kind kind_rank[] = {
	PGP_CHANGE_REVOCATION, PGP_CHANGE_SUBKEY, PGP_CHANGE_UID,
	PGP_CHANGE_UAT, PGP_CHANGE_EXPIRY, PGP_CHANGE_CERTIFICATION,
	PGP_CHANGE_SELF_SIG, PGP_CHANGE_OTHER
};

/* Appends the first user ID of cert data, made safe for one line. */
static void
add_first_uid(struct buf *b, struct store *s, const struct buf *data)
{
	const struct pgp_packet *u = NULL;
	size_t n;

	if (pgp_cert_parse(&s->c2, data->p, data->len, 0, NULL) != 0)
		return;
	for (size_t i = 0; i < s->c2.npkts && u == NULL; i++)
		if (s->c2.pkts[i].tag == PGP_TAG_USER_ID)
			u = &s->c2.pkts[i];
	if (u == NULL)
		return;
	n = u->bodylen < 100 ? u->bodylen : 100;
	while (n > 0 && n < u->bodylen && (u->body[n] & 0xc0) == 0x80)
		n--;	/* do not cut a UTF-8 sequence */
	buf_addch(b, ' ');
	for (size_t i = 0; i < n; i++)
		buf_addch(b, u->body[i] < 0x20 || u->body[i] == 0x7f ? '?' :
		    u->body[i]);
}

/* The commit message: a subject naming the changes, then the lists. */
static int
build_message(struct buf *m, struct store *s, size_t nnew, size_t nupd,
    const char *note, struct pgps_err *err)
{
	struct buf data = BUF_INIT;
	char hex[FPR_HEX];
	size_t listed = 0;
	const char *sep = "";
	int r = 0;

	buf_init(&data, 0);
	if (s->has_join)
		buf_addf(m, "merge %s: %s", s->joinname, nnew + nupd == 0 ?
		    "nothing new" : "");
	if (nnew > 0) {
		buf_addf(m, "%zu new certificate%s", nnew, nnew == 1 ? "" :
		    "s");
		sep = "; ";
	}
	if (nupd > 3)
		buf_addf(m, "%s%zu updated certificates", sep, nupd);
	for (size_t i = 0; i < s->nst && nupd <= 3; i++) {
		const struct staged *t = &s->st[i];
		size_t shown = 0, kinds = 0;

		if (!t->updated)
			continue;
		for (size_t k = 0; k < PGPS_ARRAY_SIZE(kind_rank); k++)
			kinds += t->added[kind_rank[k]] > 0;
		buf_addf(m, "%snew ", sep);
		for (size_t k = 0; k < PGPS_ARRAY_SIZE(kind_rank); k++) {
			if (t->added[kind_rank[k]] == 0)
				continue;
			shown++;
			buf_addf(m, "%s%s", shown == 1 ? "" : shown == kinds ?
			    " and " : ", ", kind_one[kind_rank[k]]);
		}
		if (kinds == 0)
			buf_addstr(m, "packets");
		store_fpr_hex(hex, t->e.fpr, t->e.fprlen);
		buf_addf(m, " on %s", hex);
		sep = "; ";
	}
	buf_addstr(m, "\n");
	if (nupd > 0)
		buf_addstr(m, "\nUpdated certificates (packets added):\n");
	for (size_t i = 0; i < s->nst && listed < LIST_MAX; i++) {
		const struct staged *t = &s->st[i];
		const char *comma = "";

		if (!t->updated)
			continue;
		store_fpr_hex(hex, t->e.fpr, t->e.fprlen);
		buf_addf(m, "  %s:", hex);
		for (size_t k = 0; k <= PGP_CHANGE_OTHER; k++) {
			if (t->added[k] == 0)
				continue;
			buf_addf(m, "%s %u %s", comma, t->added[k],
			    t->added[k] == 1 ? kind_one[k] : kind_many[k]);
			comma = ",";
		}
		buf_addstr(m, "\n");
		listed++;
	}
	if (nupd > listed)
		buf_addf(m, "  and %zu more\n", nupd - listed);
	if (nnew > 0)
		buf_addstr(m, "\nNew certificates:\n");
	listed = 0;
	for (size_t i = 0; i < s->nst && listed < LIST_MAX; i++) {
		const struct staged *t = &s->st[i];

		if (t->updated)
			continue;
		if ((r = objw_read(&s->w, t->obj, &data, err)) != 0)
			goto cleanup;
		store_fpr_hex(hex, t->e.fpr, t->e.fprlen);
		buf_addf(m, "  %s", hex);
		add_first_uid(m, s, &data);
		buf_addstr(m, "\n");
		listed++;
	}
	if (nnew > listed)
		buf_addf(m, "  and %zu more\n", nnew - listed);
	if (note != NULL && note[0] != '\0')
		buf_addf(m, "\nSource: %s\n", note);
	if (m->len >= PGPS_MAX_BUF - 1)
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
 cleanup:
	buf_release(&data);
	return r;
}

/* The index of the new tree: the base's with the staged entries. */
static int
index_merge_staged(struct store *s, struct pgps_err *err)
{
	struct store_entry *ne;
	size_t i = 0, j = 0, n = 0;

	if ((ne = mem_reallocarray(NULL, s->nents + s->nst + 1,
	    sizeof(*ne))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	while (i < s->nents || j < s->nst) {
		int c = i == s->nents ? 1 : j == s->nst ? -1 :
		    store_entry_cmp(&s->ents[i], &s->st[j].e);

		if (c < 0)
			ne[n++] = s->ents[i++];
		else {
			ne[n++] = s->st[j++].e;
			i += c == 0;
		}
	}
	free(s->ents);
	s->ents = ne;
	s->nents = n;
	/* A certificate written where a damaged file was replaced it. */
	for (i = j = n = 0; i < s->nbad; i++) {
		while (j < s->nst &&
		    store_entry_cmp(&s->st[j].e, &s->bad[i]) < 0)
			j++;
		if (j == s->nst ||
		    store_entry_cmp(&s->st[j].e, &s->bad[i]) != 0)
			s->bad[n++] = s->bad[i];
	}
	s->nbad = n;
	return 0;
}

static int
commit_signature(git_signature **out, git_repository *repo)
{
	if (git_signature_default(out, repo) == 0)
		return 0;
	return git_signature_now(out, "pgpsync", "pgpsync@localhost");
}

int
store_commit(struct store *s, const char *note,
    struct store_commit_info *info, struct pgps_err *err)
{
	struct buf msg = BUF_INIT;
	git_signature *sig = NULL;
	const git_oid *parents[2];
	git_oid root, commit;
	size_t nnew = 0, nupd = 0, np;
	int r;

	memset(info, 0, sizeof(*info));
	if (!s->writable)
		return pgps_err_set(err, PGPS_EUNSUPPORTED, "'%s': opened "
		    "read only", s->dir);
	if ((r = store_flush(s, err)) != 0)
		return r;
	if (s->nst == 0 && !s->has_join)
		return 0;
	buf_init(&msg, 0);
	/* Sorted from here on: the hash table is no longer needed. */
	if (s->nst > 1)
		qsort(s->st, s->nst, sizeof(*s->st), staged_cmp);
	free(s->sht);
	s->sht = NULL;
	s->shtcap = 0;
	for (size_t i = 0; i < s->nst; i++) {
		if (s->st[i].updated)
			nupd++;
		else
			nnew++;
	}
	if ((r = build_message(&msg, s, nnew, nupd, note, err)) != 0 ||
	    (r = objw_presum(&s->w, s->w.n + count_trees(s), err)) != 0 ||
	    (r = build_trees(s, root.id, err)) != 0 ||
	    (r = objw_finish(&s->w, s->odb, s->gitdir, err)) != 0)
		goto cleanup;
	if (!git_odb_exists(s->odb, &root)) {
		r = pgps_err_set(err, PGPS_EINTERNAL, "the new tree of '%s' "
		    "is not readable", s->dir);
		goto cleanup;
	}
	if (commit_signature(&sig, s->repo) != 0) {
		r = store_git_fail(err, "'%s': cannot make a commit signature",
		    s->dir);
		goto cleanup;
	}
	/* Into an empty store, a joined revision is the only parent. */
	np = 0;
	if (s->has_base)
		parents[np++] = &s->base;
	if (s->has_join)
		parents[np++] = &s->join;
	if ((r = store_ref_update_begin(s, err)) != 0)
		goto cleanup;
	if (git_commit_create_from_ids(&commit, s->repo, "HEAD", sig, sig,
	    NULL, (const char *)msg.p, &root, np, parents) != 0) {
		r = store_git_fail(err, "cannot commit to '%s'", s->dir);
		store_ref_update_end(s);
		goto cleanup;
	}
	store_ref_update_end(s);
	store_set_base(s, &commit, &root);
	if ((r = index_merge_staged(s, err)) != 0) {
		s->loaded = false;
		goto cleanup;
	}
	store_index_save(s, &root);
	info->committed = true;
	memcpy(info->commit, s->head, sizeof(info->commit));
	info->new_certs = nnew;
	info->updated_certs = nupd;
	r = 0;
 cleanup:
	/* Committed or not, what was put is gone. */
	store_kid_drop(s);
	objw_release(&s->w);
	s->nst = 0;
	free(s->sht);
	s->sht = NULL;
	s->shtcap = 0;
	s->has_join = false;
	git_signature_free(sig);
	buf_release(&msg);
	return r;
}

