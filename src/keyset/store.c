/*
 * store.c: the certificate store, a git repository of one binary file per
 * certificate (AB/CD/ABCD...EF.pgp), and its key-set backend ("store:").
 *
 * Reading goes through libgit2.  Writing does too, except for the bulk
 * of the objects: libgit2 hashes with collision-detecting SHA-1 (about
 * 230 MB/s) and its pack builder deflates and searches for deltas on one
 * thread, which would make a 100,000-certificate import many times slower
 * than hashing the certificates.  So a commit's blobs and trees go into
 * one pack file written here (pack version 2 with a version 2 index, no
 * deltas, zlib "stored" blocks because certificates hardly compress),
 * named and renamed into objects/pack/ only when complete; fewer than 100
 * objects are handed to libgit2 as loose objects instead, as git itself
 * does below transfer.unpackLimit.  The per-certificate work (parsing,
 * the limits, the SKS hash, the object id, packing) needs no repository
 * and runs on the caller's threads (store_prepare()); putting, building
 * the trees and committing happen on one.  The pack's checksum is
 * computed on a thread while the trees are built.
 *
 * The files, by job: this one opens the repository (lock, refs, the
 * leftovers of a killed run) and puts certificates; store-pack.c is the
 * object writer; store-index.c walks trees and keeps the side index;
 * store-commit.c writes commits and moves HEAD; store-join.c joins a
 * fetched revision; store-set.c is the key-set backend.  What they share
 * is in store-int.h.
 *
 * The commit object and the move of HEAD (compare-and-swap, with a reflog
 * entry) are libgit2's.  Until HEAD moves, nothing reachable has changed,
 * so a killed run leaves the last commit intact; what it wrote is
 * unreachable or a temporary file, which the next writer removes, along
 * with git lock files it may have left while moving HEAD.
 *
 * The side index $GIT_DIR/pgpsync/index lists (fingerprint, SKS hash,
 * blob id) for one tree and is checked by its own SHA-1.  It is a cache:
 * when it describes another tree (after a pull, a reset, or for a
 * revision), the trees are compared and only the files that differ are
 * read; subtrees with equal ids are skipped whole.
 *
 * Writers take an fcntl() lock on $GIT_DIR/pgpsync/store.lock
 * (file_lock()), which the kernel drops when the process dies, so a
 * killed run never leaves a stale lock.
 * Readers take no lock: they see the commit HEAD named when they opened.
 *
 * Not done here: deleting certificates, compressing (git gc does that),
 * merging histories other than by importing a revision (store_join()).
 */
#include "util/common.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/commit.h>

#include "keyset/backend.h"
#include "keyset/store.h"
#include "keyset/store-int.h"
#include "openpgp/openpgp.h"
#include "util/atomic.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/limits.h"
#include "util/mem.h"




const char store_readme[] =
    "pgpsync certificate store (layout 1)\n"
    "\n"
    "Each file is one OpenPGP certificate, binary, named by the upper-case\n"
    "hex fingerprint of its primary key and kept in two levels of\n"
    "directories named by the first two octets of the fingerprint:\n"
    "AB/CD/ABCD....pgp.  Every change is one commit that says what it\n"
    "added.  Read and write it with pgpsync (key set \"store:DIR\"); see\n"
    "pgpsync(1), THE STORE.\n";

/* --- small helpers ---------------------------------------------------- */

int
store_git_fail(struct pgps_err *err, const char *fmt, const char *arg)
{
	const git_error *e = git_error_last();
	char what[512];

	snprintf(what, sizeof(what), fmt, arg);
	return pgps_err_set(err, PGPS_EGIT, "%s: %s", what,
	    e != NULL && e->message != NULL ? e->message : "unknown error");
}

char *
store_path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s%s%s", a, (*a != '\0' &&
		    a[strlen(a) - 1] != '/') ? "/" : "", b);
	return p;
}

static bool
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int
store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int
store_entry_cmp(const void *va, const void *vb)
{
	const struct store_entry *a = va, *b = vb;

	return store_key_cmp(a->fpr, a->fprlen, b->fpr, b->fprlen);
}

void
store_fpr_hex(char out[FPR_HEX], const uint8_t *fpr, size_t len)
{
	hex_encode_upper(out, fpr, len);
}

/* Parses "<hex fingerprint>.pgp"; false for any other name. */
bool
store_parse_cert_name(const char *name, uint8_t *fpr, uint8_t *len)
{
	size_t n = strlen(name);

	if (n < 5 || strcmp(name + n - 4, ".pgp") != 0)
		return false;
	n -= 4;
	if (n != 32 && n != 40 && n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'A' && name[i] <= 'F')))
			return false;	/* upper case only: one name per key */
	if (hex_decode(fpr, n / 2, name, n) != 0)
		return false;
	*len = (uint8_t)(n / 2);
	return true;
}

bool
store_is_shard_name(const char *name)
{
	return strlen(name) == 2 &&
	    strchr("0123456789ABCDEF", name[0]) != NULL &&
	    strchr("0123456789ABCDEF", name[1]) != NULL;
}

/*
 * Parses the name of a file in the shard directory dir ("AB/CD"): a
 * certificate's name whose fingerprint starts with ABCD; false for any
 * other name, and for a certificate filed in the wrong directory.
 */
bool
store_parse_cert_path(const char *dir, const char *name, uint8_t *fpr,
    uint8_t *len)
{
	return strlen(dir) == 5 && store_parse_cert_name(name, fpr, len) &&
	    memcmp(name, dir, 2) == 0 && memcmp(name + 2, dir + 3, 2) == 0;
}

/*
 * Makes room for element n of an array of *alloc elements of size bytes:
 * returns the array, moved or not, or NULL (v unchanged) when out of
 * memory.
 */
void *
store_grow(void *v, size_t n, size_t *alloc, size_t size)
{
	size_t na;
	void *nv;

	if (n < *alloc)
		return v;
	na = *alloc == 0 ? 64 : *alloc * 2;
	if ((nv = mem_reallocarray(v, na, size)) == NULL)
		return NULL;
	*alloc = na;
	return nv;
}

/* --- the store -------------------------------------------------------- */

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

const char *
store_head(const struct store *s)
{
	return s->head;
}

bool
store_is_fatal(int rc)
{
	return rc == PGPS_EIO || rc == PGPS_EGIT || rc == PGPS_ENOMEM ||
	    rc == PGPS_EINTERNAL;
}

void
store_set_base(struct store *s, const git_oid *commit, const git_oid *tree)
{
	s->has_base = true;
	git_oid_cpy(&s->base, commit);
	git_oid_cpy(&s->tree, tree);
	git_oid_tostr(s->head, sizeof(s->head), commit);
}

/* $XDG_DATA_HOME/pgpsync/store, else ~/.local/share/pgpsync/store. */
char *
store_default_dir(void)
{
	const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");

	/* The XDG base directory spec ignores relative paths. */
	if (x != NULL && x[0] == '/')
		return store_path_join(x, "pgpsync/store");
	if (h != NULL && h[0] != '\0')
		return store_path_join(h, ".local/share/pgpsync/store");
	return NULL;
}

/*
 * Splits "DIR@REV": a name that is a directory has no revision;
 * otherwise the revision starts after the first '@' whose prefix is
 * empty or a directory (so both "dir@x@HEAD" and "@HEAD@{1}" work), else
 * after the first '@'.
 */
int
store_split_name(const char *name, char **dir, char **rev)
{
	const char *at = strchr(name, '@'), *pick = NULL;

	*dir = *rev = NULL;
	if (at != NULL && !is_dir(name)) {
		for (; at != NULL && pick == NULL; at = strchr(at + 1, '@')) {
			char *pre = strndup(name, (size_t)(at - name));

			if (pre == NULL)
				return PGPS_ENOMEM;
			if (pre[0] == '\0' || is_dir(pre))
				pick = at;
			free(pre);
		}
		if (pick == NULL)
			pick = strchr(name, '@');
		if ((*dir = strndup(name, (size_t)(pick - name))) == NULL)
			return PGPS_ENOMEM;
		if (pick[1] != '\0' && (*rev = strdup(pick + 1)) == NULL)
			return PGPS_ENOMEM;
		return 0;
	}
	if ((*dir = strdup(name)) == NULL)
		return PGPS_ENOMEM;
	return 0;
}

static bool
dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	if (d == NULL)
		return errno == ENOENT;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Removes what killed writers left: temporary packs and indexes. */
static void
remove_leftovers(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
		    (p = store_path_join(dir, e->d_name)) == NULL)
			continue;
		unlink(p);
		free(p);
	}
	closedir(d);
}

/*
 * Moving HEAD, libgit2 takes git's lock files (refs/heads/main.lock and
 * the like); a process killed right then leaves them, and git refuses to
 * move the ref again until someone removes them by hand.  So the lock
 * files about to be taken are listed in pgpsync/ref-update first, and
 * the next writer -- who holds the store's lock, so no pgpsync runs --
 * removes what that list names when it is still there.
 */
static char *
ref_marker(const struct store *s)
{
	return store_path_join(s->gitdir, "pgpsync/ref-update");
}

int
store_ref_update_begin(struct store *s, struct pgps_err *err)
{
	git_reference *head = NULL;
	char *path = ref_marker(s);
	FILE *f;
	int r = 0;

	if (path == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if ((f = fopen(path, "w")) == NULL) {
		r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s", path,
		    strerror(errno));
		free(path);
		return r;
	}
	fprintf(f, "HEAD.lock\npacked-refs.lock\n");
	if (git_reference_lookup(&head, s->repo, "HEAD") == 0 &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
		fprintf(f, "%s.lock\n", git_reference_symbolic_target(head));
	git_reference_free(head);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s", path,
		    strerror(errno));
	fclose(f);
	free(path);
	return r;
}

void
store_ref_update_end(struct store *s)
{
	char *path = ref_marker(s);

	if (path != NULL)
		unlink(path);
	free(path);
}

/* Removes the lock files a writer killed while moving HEAD left. */
static void
ref_update_recover(struct store *s)
{
	char *path = ref_marker(s), line[1024];
	FILE *f;

	if (path == NULL || (f = fopen(path, "r")) == NULL) {
		free(path);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *lock;

		line[strcspn(line, "\n")] = '\0';
		/* Only lock files inside the repository. */
		if (strstr(line, "..") != NULL || line[0] == '/' ||
		    strlen(line) < 6 ||
		    strcmp(line + strlen(line) - 5, ".lock") != 0 ||
		    (lock = store_path_join(s->gitdir, line)) == NULL)
			continue;
		unlink(lock);
		free(lock);
	}
	fclose(f);
	unlink(path);
	free(path);
}

/*
 * Takes the writer's lock, $GIT_DIR/pgpsync/store.lock (file_lock():
 * the wait is bounded by $PGPSYNC_LOCK_TIMEOUT and the error names the
 * process holding it; fcntl() locks vanish with their process, so there
 * are no stale locks to break).
 */
static int
store_lock(struct store *s, struct pgps_err *err)
{
	size_t n = strlen(s->dir) + 16;
	char *sub = NULL, *path = NULL, *what = NULL;
	int r;

	if ((sub = store_path_join(s->gitdir, "pgpsync")) == NULL ||
	    (path = store_path_join(sub, "store")) == NULL ||
	    (what = malloc(n)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (mkdir(sub, 0755) != 0 && errno != EEXIST) {
		r = pgps_err_set(err, PGPS_EIO, "cannot create '%s': %s", sub,
		    strerror(errno));
		goto cleanup;
	}
	snprintf(what, n, "the store '%s'", s->dir);
	if ((r = file_lock(&s->lock, path, what, err)) != 0)
		goto cleanup;
	remove_leftovers(sub, "index.tmp.");
	ref_update_recover(s);
	free(path);
	path = store_path_join(s->gitdir, "objects/pack");
	if (path != NULL)
		remove_leftovers(path, "tmp_pgpsync_");
	r = 0;
 cleanup:
	free(sub);
	free(path);
	free(what);
	return r;
}

/* Reads HEAD (or the revision) into the base commit and tree. */
static int
resolve_base(struct store *s, struct pgps_err *err)
{
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_oid id;
	int r;

	if (s->rev != NULL) {
		if (git_revparse_single(&obj, s->repo, s->rev) != 0) {
			r = pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no "
			    "revision '%s' in it", s->dir, s->rev);
			goto cleanup;
		}
		if (git_object_peel((git_object **)&commit, obj,
		    GIT_OBJECT_COMMIT) != 0) {
			r = store_git_fail(err, "'%s' is not a commit", s->rev);
			goto cleanup;
		}
	} else {
		r = git_reference_name_to_id(&id, s->repo, "HEAD");
		if (r == GIT_ENOTFOUND || r == GIT_EUNBORNBRANCH) {
			r = 0;	/* no commit yet: an empty store */
			goto cleanup;
		}
		if (r != 0 || git_commit_lookup(&commit, s->repo, &id) != 0) {
			r = store_git_fail(err, "'%s': cannot read HEAD",
			    s->dir);
			goto cleanup;
		}
	}
	store_set_base(s, git_commit_id(commit), git_commit_tree_id(commit));
	r = 0;
 cleanup:
	git_commit_free(commit);
	git_object_free(obj);
	return r;
}

static int
open_repo(struct store *s, unsigned int flags, struct pgps_err *err)
{
	git_repository_init_options io;
	git_config *cfg = NULL;
	int r;

	git_repository_init_options_init(&io,
	    GIT_REPOSITORY_INIT_OPTIONS_VERSION);

	r = git_repository_open_ext(&s->repo, s->dir,
	    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (r == GIT_ENOTFOUND && !(flags & STORE_WRITE))
		return pgps_err_set(err, PGPS_ENOTFOUND, "no store at '%s'",
		    s->dir);
	if (r == GIT_ENOTFOUND) {
		if (!dir_is_empty(s->dir))
			return pgps_err_set(err, PGPS_EUNSUPPORTED, "'%s' "
			    "exists and is not a git repository", s->dir);
		io.flags = GIT_REPOSITORY_INIT_BARE |
		    GIT_REPOSITORY_INIT_MKPATH;
		io.initial_head = "main";
		io.description = "pgpsync certificate store";
		if (git_repository_init_ext(&s->repo, s->dir, &io) != 0 ||
		    git_repository_config(&cfg, s->repo) != 0)
			return store_git_fail(err,
			    "cannot create a store at '%s'",
			    s->dir);
		/* A reflog, as in a repository with a work tree. */
		r = git_config_set_bool(cfg, "core.logAllRefUpdates", 1);
		git_config_free(cfg);
		if (r != 0)
			return store_git_fail(err, "cannot configure '%s'",
			    s->dir);
	} else if (r != 0)
		return store_git_fail(err, "cannot open the store '%s'",
		    s->dir);
	if ((flags & STORE_WRITE) && !git_repository_is_bare(s->repo))
		return pgps_err_set(err, PGPS_EUNSUPPORTED, "'%s' has a work "
		    "tree, which pgpsync would leave behind: write to a bare "
		    "clone (git clone --bare)", s->dir);
	if ((s->gitdir = strdup(git_repository_path(s->repo))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if (git_repository_odb(&s->odb, s->repo) != 0)
		return store_git_fail(err, "cannot open the objects of '%s'",
		    s->dir);
	return 0;
}

int
store_open(struct store **out, const char *name, unsigned int flags,
    struct pgps_err *err)
{
	struct store *s;
	char *dir = NULL;
	int r;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	s->lock = (struct file_lock)FILE_LOCK_INIT;
	objw_init(&s->w);
	buf_init(&s->nb, 0);
	buf_init(&s->ob, 0);
	buf_init(&s->mb, 0);
	buf_init(&s->fb, 0);
	buf_init(&s->rec, 0);
	buf_init(&s->c1.partial, 0);
	buf_init(&s->c2.partial, 0);
	buf_init(&s->c3.partial, 0);
	if (git_libgit2_init() < 0) {
		free(s);
		return store_git_fail(err, "cannot start libgit2%s", "");
	}
	/*
	 * Blobs are parsed and hashed on every read anyway; libgit2's
	 * re-hash of each object would double the cost (git fsck checks).
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	if ((r = store_split_name(name, &dir, &s->rev)) != 0) {
		pgps_err_set(err, r, "out of memory");
		goto fail;
	}
	if (dir[0] == '\0') {
		free(dir);
		if ((dir = store_default_dir()) == NULL) {
			r = pgps_err_set(err, PGPS_ENOTFOUND, "no default "
			    "store: neither XDG_DATA_HOME nor HOME is set");
			goto fail;
		}
	}
	s->dir = dir;
	if ((flags & STORE_WRITE) && s->rev != NULL) {
		r = pgps_err_set(err, PGPS_EUNSUPPORTED, "'%s@%s': a store "
		    "at a revision is read only", s->dir, s->rev);
		goto fail;
	}
	if ((s->md5 = digest_new(DIGEST_MD5)) == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto fail;
	}
	if ((r = open_repo(s, flags, err)) != 0)
		goto fail;
	if (flags & STORE_WRITE) {
		/* Durable objects and refs before HEAD names them. */
		git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
		if ((r = store_lock(s, err)) != 0)
			goto fail;
		s->writable = true;
	}
	if ((r = resolve_base(s, err)) != 0)
		goto fail;
	*out = s;
	return 0;
 fail:
	store_free(s);
	return r;
}

static void store_defer_free(struct store *s);

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	objw_release(&s->w);
	file_unlock(&s->lock);
	git_odb_free(s->odb);
	git_repository_free(s->repo);
	free(s->dir);
	free(s->gitdir);
	free(s->rev);
	free(s->ents);
	free(s->bad);
	free(s->st);
	free(s->sht);
	free(s->kid);
	digest_free(s->md5);
	pgp_cert_release(&s->c1);
	pgp_cert_release(&s->c2);
	pgp_cert_release(&s->c3);
	buf_release(&s->nb);
	buf_release(&s->ob);
	buf_release(&s->mb);
	buf_release(&s->fb);
	buf_release(&s->rec);
	store_prep_free(s->prep);
	store_defer_free(s);
	free(s->joinname);
	free(s->joinwhy);
	free(s);
	git_libgit2_shutdown();
}

int
store_read(struct buf *out, struct store *s, const uint8_t oid[OID_LEN],
    struct pgps_err *err)
{
	git_odb_object *o = NULL;
	git_oid id;
	char hex[2 * OID_LEN + 1];
	int r;

	memcpy(id.id, oid, OID_LEN);
	if (git_odb_read(&o, s->odb, &id) != 0) {
		git_oid_tostr(hex, sizeof(hex), &id);
		return store_git_fail(err, "cannot read object %s", hex);
	}
	buf_reset(out);
	r = buf_add(out, git_odb_object_data(o), git_odb_object_size(o));
	git_odb_object_free(o);
	return r == 0 ? 0 : pgps_err_set(err, r, "out of memory");
}

/* --- putting certificates --------------------------------------------- */

static size_t
staged_find(const struct store *s, const uint8_t *fpr, size_t len)
{
	if (s->shtcap == 0)
		return SIZE_MAX;
	for (size_t i = store_oid_slot(fpr, s->shtcap);;
	    i = (i + 1) & (s->shtcap - 1)) {
		const struct store_entry *e;

		if (s->sht[i] == 0)
			return SIZE_MAX;
		e = &s->st[s->sht[i] - 1].e;
		if (store_key_cmp(e->fpr, e->fprlen, fpr, len) == 0)
			return s->sht[i] - 1;
	}
}

/* The version a certificate has now: put before, else committed. */
static const struct store_entry *
find_current(struct store *s, const uint8_t *fpr, size_t len, size_t *sti)
{
	struct store_entry key;

	*sti = staged_find(s, fpr, len);
	if (*sti != SIZE_MAX)
		return &s->st[*sti].e;
	memset(&key, 0, sizeof(key));
	key.fprlen = (uint8_t)len;
	memcpy(key.fpr, fpr, len);
	if (s->nents == 0)
		return NULL;
	return bsearch(&key, s->ents, s->nents, sizeof(*s->ents),
	    store_entry_cmp);
}

static int
read_current(struct store *s, const struct store_entry *e, size_t sti,
    struct buf *out, struct pgps_err *err)
{
	if (sti != SIZE_MAX)
		return objw_read(&s->w, s->st[sti].obj, out, err);
	return store_read(out, s, e->oid, err);
}

/* The key ID of a v4 (last 8 octets) or v5/v6 (first 8) key, or NULL. */
static const uint8_t *
entry_keyid(const struct store_entry *e)
{
	return e->fprlen == 20 ? e->fpr + 12 : e->fprlen == 32 ? e->fpr :
	    NULL;
}

static const struct store_entry *
kid_entry(const struct store *s, uint32_t val)
{
	return val - 1 < s->nents ? &s->ents[val - 1] :
	    &s->st[val - 1 - s->nents].e;
}

static struct kid_slot *
kid_find(const struct store *s, const uint8_t kid[8])
{
	if (s->kidcap == 0)
		return NULL;
	for (size_t i = store_oid_slot(kid, s->kidcap);;
	    i = (i + 1) & (s->kidcap - 1)) {
		if (s->kid[i].val == 0)
			return NULL;
		if (memcmp(s->kid[i].kid, kid, 8) == 0)
			return &s->kid[i];
	}
}

/* Records that certificate val has key ID kid. */
static int
kid_add(struct store *s, const uint8_t kid[8], uint32_t val)
{
	struct kid_slot *v;
	size_t i;

	if ((s->nkid + 1) * 2 > s->kidcap) {
		struct kid_slot *old = s->kid, *nk;
		size_t oldcap = s->kidcap, cap = oldcap == 0 ? 1024 :
		    oldcap * 2;

		if ((nk = calloc(cap, sizeof(*nk))) == NULL)
			return PGPS_ENOMEM;
		s->kid = nk;
		s->kidcap = cap;
		s->nkid = 0;
		for (i = 0; i < oldcap; i++)
			if (old[i].val != 0)
				kid_add(s, old[i].kid, old[i].val);
		free(old);
	}
	if ((v = kid_find(s, kid)) != NULL) {
		/* The same key again (put after committed) is no conflict. */
		if (v->val != KID_MANY && store_entry_cmp(kid_entry(s, v->val),
		    kid_entry(s, val)) != 0)
			v->val = KID_MANY;
		return 0;
	}
	for (i = store_oid_slot(kid, s->kidcap); s->kid[i].val != 0;
	    i = (i + 1) & (s->kidcap - 1))
		;
	memcpy(s->kid[i].kid, kid, 8);
	s->kid[i].val = val;
	s->nkid++;
	return 0;
}

/* Builds the key ID table when a revocation first names only a key ID. */
static int
kid_build(struct store *s)
{
	for (size_t i = 0; i < s->nents + s->nst; i++) {
		const struct store_entry *e = i < s->nents ? &s->ents[i] :
		    &s->st[i - s->nents].e;

		if (i >= UINT32_MAX - 1)
			return PGPS_ENOMEM;
		if (entry_keyid(e) != NULL &&
		    kid_add(s, entry_keyid(e), (uint32_t)(i + 1)) != 0)
			return PGPS_ENOMEM;
	}
	return 0;
}

void
store_kid_drop(struct store *s)
{
	free(s->kid);
	s->kid = NULL;
	s->kidcap = s->nkid = 0;
}

/*
 * A bare revocation belongs to the certificate of its issuer: by issuer
 * fingerprint, else by key ID when exactly one stored key has it.
 */
static const struct store_entry *
bare_owner(struct store *s, const struct pgp_cert *c, size_t *sti)
{
	const struct kid_slot *v;
	const struct store_entry *e;
	struct pgp_sig_info si;

	*sti = SIZE_MAX;
	if (c->npkts == 0 || c->pkts[0].tag != PGP_TAG_SIGNATURE ||
	    pgp_sig_parse(&si, c->pkts[0].body, c->pkts[0].bodylen,
	    NULL) != 0)
		return NULL;
	if (si.issuer_fprlen > 0)
		return find_current(s, si.issuer_fpr, si.issuer_fprlen, sti);
	if (!si.has_issuer || (s->kid == NULL && kid_build(s) != 0) ||
	    (v = kid_find(s, si.issuer)) == NULL || v->val == KID_MANY)
		return NULL;
	e = kid_entry(s, v->val);
	return find_current(s, e->fpr, e->fprlen, sti);
}

/*
 * Replaces out's contents with c in SKS's canonical form, lim applied (if
 * not NULL); *same (may be NULL) tells whether every packet was kept.
 */
static int normalise(struct buf *, const struct pgp_cert *,
    const struct pgp_cert *, const struct pgp_limits *, bool *,
    struct pgps_err *);

int
store_normalise(struct buf *out, const struct pgp_cert *c,
    const struct pgp_limits *lim, bool *same, struct pgps_err *err)
{
	return normalise(out, c, NULL, lim, same, err);
}

/* store_normalise() of c merged into held: what held has is kept. */
static int
normalise(struct buf *out, const struct pgp_cert *c,
    const struct pgp_cert *held, const struct pgp_limits *lim, bool *same,
    struct pgps_err *err)
{
	struct pgp_filter_report rep;
	struct pgp_cert_merge_report crep;
	int r;

	buf_reset(out);
	if (lim == NULL) {
		/* Stored as SKS stores it, so that the hashes agree. */
		if ((r = pgp_cert_canonical(out, c, &crep, err)) != 0)
			return r;
		if (same != NULL)
			*same = !(c->flags & PGP_CERT_HAS_TRUST) &&
			    crep.dropped_secret + crep.dropped_repeats == 0;
		return 0;
	}
	memset(&rep, 0, sizeof(rep));
	if ((r = pgp_cert_filter_held(out, c, held, lim, &rep, err)) ==
	    PGPS_ELIMIT)
		return pgps_err_prefix(err, r, "refused by the limits");
	if (same != NULL)
		*same = rep.dropped_third_party + rep.dropped_excess_sigs +
		    rep.dropped_big_packets + rep.dropped_other +
		    rep.dropped_secret + rep.dropped_repeats == 0;
	return r;
}

/* Records that e (its blob is object k) goes into the next commit. */
static int
stage(struct store *s, const struct store_entry *e, size_t k, size_t sti,
    bool updated, const uint32_t *added, struct pgps_err *err)
{
	struct staged *t;

	if (sti == SIZE_MAX) {
		if ((t = store_grow(s->st, s->nst, &s->ast, sizeof(*s->st))) ==
		    NULL)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		s->st = t;
		if ((s->nst + 1) * 2 > s->shtcap) {
			size_t cap = s->shtcap == 0 ? 1024 : s->shtcap * 2;
			uint32_t *ht = calloc(cap, sizeof(*ht));

			if (ht == NULL || s->nst >= UINT32_MAX / 4) {
				free(ht);
				return pgps_err_set(err, PGPS_ENOMEM,
				    "out of memory");
			}
			free(s->sht);
			s->sht = ht;
			s->shtcap = cap;
			for (size_t i = 0; i < s->nst; i++)
				store_ht_insert(s->sht, cap, s->st[i].e.fpr, i);
		}
		sti = s->nst++;
		t = &s->st[sti];
		memset(t, 0, sizeof(*t));
		t->updated = updated;
		t->e = *e;
		store_ht_insert(s->sht, s->shtcap, e->fpr, sti);
		if (s->kid != NULL && entry_keyid(e) != NULL &&
		    kid_add(s, entry_keyid(e),
		    (uint32_t)(s->nents + sti + 1)) != 0)
			store_kid_drop(s);	/* rebuilt when needed */
	}
	t = &s->st[sti];
	t->e = *e;
	t->obj = k;
	if (added != NULL)
		for (size_t i = 0; i <= PGP_CHANGE_OTHER; i++)
			t->added[i] += added[i];
	return 0;
}

/*
 * Merges incoming into the current version cur of e's certificate, and
 * stages the result when it differs from cur.
 */
/*
 * A revocation without its key joins the stored copy old only when every
 * signature in it is a key revocation that verifies by old's primary
 * key: an issuer field is only a claim, and anyone can write one.
 */
static int
bare_verifies(const struct pgp_cert *old, const struct pgp_cert *in,
    const char *fpr, struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_sig_info si;

	if (!old->has_primary || old->npkts == 0)
		return pgps_err_set(err, PGPS_EFORMAT, "%s: the stored copy "
		    "has no primary key", fpr);
	for (size_t i = 0; i < in->npkts; i++) {
		const struct pgp_packet *p = &in->pkts[i];

		if (p->tag == PGP_TAG_TRUST || p->tag == PGP_TAG_MARKER)
			continue;
		if (p->tag != PGP_TAG_SIGNATURE ||
		    pgp_sig_parse(&si, p->body, p->bodylen, NULL) != 0 ||
		    si.type != PGP_SIG_KEY_REVOCATION)
			return pgps_err_set(err, PGPS_EFORMAT, "%s: a bare "
			    "signature that is not a key revocation", fpr);
		if (pgp_sig_verify(p->body, p->bodylen, &old->pkts[0],
		    &old->pkts[0], NULL, &e) != PGP_VERIFY_GOOD)
			return pgps_err_set(err, PGPS_EFORMAT, "%s: a "
			    "revocation that does not verify by this key (%s)",
			    fpr, e.msg[0] != '\0' ? e.msg : "not verified");
	}
	return 0;
}

/*
 * Sets *held to the committed copy of e's certificate (old itself when
 * nothing of it is staged, else read into hb and hc), or NULL for one new
 * in this commit: its versions compete as equals.
 */
static int
read_committed(struct store *s, const struct store_entry *e, size_t sti,
    const struct pgp_cert *old, struct buf *hb, struct pgp_cert *hc,
    const struct pgp_cert **held, struct pgps_err *err)
{
	const struct store_entry *c;
	int r;

	*held = old;
	if (sti == SIZE_MAX)
		return 0;
	*held = NULL;
	if (!s->st[sti].updated || s->nents == 0 || (c = bsearch(e,
	    s->ents, s->nents, sizeof(*s->ents), store_entry_cmp)) == NULL)
		return 0;
	if ((r = store_read(hb, s, c->oid, err)) != 0)
		return r;
	if (pgp_cert_parse(hc, hb->p, hb->len, 0, err) != 0)
		return pgps_err_set(err, PGPS_EIO, "the stored copy is "
		    "damaged");
	*held = hc;
	return 0;
}

/*
 * The last guard of a merge: cand, about to replace old, holds every
 * packet of old but a secret key and the signatures under it (which go
 * on purpose).  A merge never deletes what is stored.
 */
static int
keeps_stored(const struct pgp_cert *cand, const struct pgp_cert *old,
    struct pgps_err *err)
{
	bool *gone, secret = false;
	size_t i, lost = 0;
	int r;

	if ((gone = calloc(old->npkts + 1, sizeof(*gone))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if ((r = pgp_cert_mark_new(gone, cand, old, err)) != 0)
		goto cleanup;
	for (i = 0; i < old->npkts; i++) {
		uint8_t t = old->pkts[i].tag;

		if (t != PGP_TAG_SIGNATURE && t != PGP_TAG_TRUST)
			secret = t == PGP_TAG_SECRET_KEY ||
			    t == PGP_TAG_SECRET_SUBKEY;
		if (gone[i] && !secret && t != PGP_TAG_TRUST)
			lost++;
	}
	if (lost > 0)
		r = pgps_err_set(err, PGPS_EINTERNAL, "the merge would "
		    "remove %zu stored packet%s; the stored copy is kept", lost,
		    lost == 1 ? "" : "s");
 cleanup:
	free(gone);
	return r;
}

/*
 * Merges the versions in[0..nin) into old, the current version of e's
 * certificate (cur, sti as find_current() gave them), in one pass, and
 * stages the result when it differs from old.  adds (nin + 1 entries, may
 * be NULL) tells which versions added a packet (pgp_cert_merge_versions();
 * adds[0] is old's).
 */
static int
merge_into(struct store *s, struct store_entry *e, size_t sti,
    const struct pgp_cert *old, const struct pgp_cert *const *in, size_t nin,
    const struct pgp_limits *lim, struct store_put_info *info, bool *adds,
    struct pgps_err *err)
{
	const struct pgp_cert **v;
	struct pgp_cert *cand = &s->c3;
	const struct pgp_cert *held;
	struct pgp_cert hc = PGP_CERT_INIT;
	struct buf hb = BUF_INIT;
	struct pgp_cert_merge_report mrep;
	struct pgp_change *ch = NULL;
	size_t nch = 0, k;
	int r;

	if ((v = mem_reallocarray(NULL, nin + 1, sizeof(*v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	v[0] = old;
	memcpy(v + 1, in, nin * sizeof(*v));
	buf_reset(&s->mb);
	/* A secret subkey stored before it was refused goes now. */
	r = pgp_cert_merge_versions(&s->mb, v, nin + 1, &mrep, adds, err);
	free(v);
	if (r != 0)
		return pgps_err_prefix(err, r, "%s", info->fpr);
	info->secret_dropped += (uint32_t)mrep.dropped_secret;
	/* What is stored stays within the limits, merged or not. */
	if ((r = pgp_cert_parse(cand, s->mb.p, s->mb.len, 0, err)) != 0)
		return pgps_err_prefix(err, r, "%s", info->fpr);
	if ((r = read_committed(s, e, sti, old, &hb, &hc, &held, err)) != 0 ||
	    (r = normalise(&s->fb, cand, held, lim, NULL, err)) != 0)
		goto fail;
	if (s->fb.len == s->ob.len &&
	    memcmp(s->fb.p, s->ob.p, s->ob.len) == 0) {
		info->status = STORE_PUT_UNCHANGED;
		r = 0;
		goto cleanup;
	}
	if ((r = pgp_cert_parse(cand, s->fb.p, s->fb.len, 0, err)) != 0 ||
	    (held != NULL && (r = keeps_stored(cand, held, err)) != 0) ||
	    (r = pgp_cert_diff(&ch, &nch, old, cand, err)) != 0)
		goto fail;
	pgp_cert_release(&hc);
	buf_release(&hb);
	for (size_t i = 0; i < nch; i++)
		info->added[ch[i].kind]++;
	free(ch);
	if ((r = pgp_cert_sks_hash(cand, s->md5, e->hash)) != 0)
		return pgps_err_set(err, r, "out of memory");
	if ((r = objw_add(&s->w, s->gitdir, OBJ_BLOB, s->fb.p, s->fb.len,
	    e->oid, &k, err)) != 0)
		return r;
	info->status = STORE_PUT_UPDATED;
	return stage(s, e, k, sti, true, info->added, err);
 fail:
	pgps_err_prefix(err, r, "%s", info->fpr);
 cleanup:
	pgp_cert_release(&hc);
	buf_release(&hb);
	return r;
}

/* The current version of e's certificate, read into s->ob and s->c2. */
static int
read_old(struct store *s, const struct store_entry *cur, size_t sti,
    const char *fpr, struct pgps_err *err)
{
	int r;

	if ((r = read_current(s, cur, sti, &s->ob, err)) != 0)
		return r;
	if (pgp_cert_parse(&s->c2, s->ob.p, s->ob.len, 0, err) != 0)
		return pgps_err_prefix(err, PGPS_EIO, "%s: the stored copy is "
		    "damaged", fpr);
	return 0;
}

static int
put_merge(struct store *s, struct store_entry *e,
    const struct store_entry *cur, size_t sti, const struct pgp_cert *in,
    const struct pgp_limits *lim, struct store_put_info *info,
    struct pgps_err *err)
{
	int r;

	if ((r = read_old(s, cur, sti, info->fpr, err)) != 0)
		return r;
	if (!in->has_primary &&
	    (r = bare_verifies(&s->c2, in, info->fpr, err)) != 0)
		return r;
	return merge_into(s, e, sti, &s->c2, &in, 1, lim, info, NULL, err);
}

/* --- versions of a certificate put before: merged at once ------------- */

/*
 * A certificate put again in one commit (a dump or answer holding many
 * versions of it) is not merged at once with the copy put before: that
 * cost O(n^2) in the versions, each merge reading the growing result.
 * It waits, and store_flush() merges all versions of one certificate in
 * one pass (pgp_cert_merge_versions()).  Their verdicts come then.
 */
struct pend {
	size_t		 off, len;	/* in the pending bytes */
	size_t		 seq;		/* order of the puts */
	uint32_t	 secret;	/* secret keys dropped before */
	uint8_t		 bare;		/* a revocation without its key */
	uint8_t		 fprlen;
	uint8_t		 fpr[PGP_FPR_MAX];
};

/* What became of a pending put, told in put order after the merge. */
struct pverdict {
	size_t			 seq;
	int			 r;
	struct store_put_info	 info;
	struct pgps_err		 err;
};

struct store_defer {
	store_verdict_fn	 fn;
	void			*arg;
	struct pverdict		*pv;
	size_t			 npv, apv;
	struct pend		*v;
	size_t			 n, alloc;
	struct buf		 data;
	struct pgp_limits	 lim;
	bool			 has_lim;
};

/* Pending bytes over which the versions are merged before more come. */
#define DEFER_MAX	((size_t)256 << 20)

int
store_defer_merges(struct store *s, store_verdict_fn fn, void *arg)
{
	if (s->defer == NULL) {
		if ((s->defer = calloc(1, sizeof(*s->defer))) == NULL)
			return PGPS_ENOMEM;
		buf_init(&s->defer->data, 0);
	}
	s->defer->fn = fn;
	s->defer->arg = arg;
	return 0;
}

static void
store_defer_free(struct store *s)
{
	if (s->defer == NULL)
		return;
	free(s->defer->v);
	free(s->defer->pv);
	buf_release(&s->defer->data);
	free(s->defer);
	s->defer = NULL;
}

static int
pend_cmp(const void *va, const void *vb)
{
	const struct pend *x = va, *y = vb;
	int c;

	if (x->fprlen != y->fprlen)
		return x->fprlen < y->fprlen ? -1 : 1;
	if ((c = memcmp(x->fpr, y->fpr, x->fprlen)) != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
pverdict_cmp(const void *va, const void *vb)
{
	const struct pverdict *x = va, *y = vb;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
pend_verdict(struct store_defer *d, const struct pend *pe,
    const struct store_put_info *info, int r, const struct pgps_err *err)
{
	struct pverdict *v;

	if (d->fn == NULL)
		return 0;
	if ((v = store_grow(d->pv, d->npv, &d->apv, sizeof(*d->pv))) == NULL)
		return PGPS_ENOMEM;
	d->pv = v;
	v = &d->pv[d->npv++];
	v->seq = pe->seq;
	v->r = r;
	v->info = *info;
	v->info.secret_dropped += pe->secret;
	v->err = *err;
	return 0;
}

static int
defer_put(struct store *s, const uint8_t *fpr, size_t fprlen,
    const uint8_t *p, size_t len, bool bare, uint32_t secret,
    const struct pgp_limits *lim, struct store_put_info *info,
    struct pgps_err *err)
{
	struct store_defer *d = s->defer;
	struct pend *pe;

	if ((pe = store_grow(d->v, d->n, &d->alloc, sizeof(*d->v))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	d->v = pe;
	pe = &d->v[d->n];
	memset(pe, 0, sizeof(*pe));
	pe->off = d->data.len;
	pe->len = len;
	pe->seq = d->n;
	pe->secret = secret;
	pe->bare = bare;
	pe->fprlen = (uint8_t)fprlen;
	memcpy(pe->fpr, fpr, fprlen);
	if (buf_add(&d->data, p, len) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	d->n++;
	d->has_lim = lim != NULL;
	if (lim != NULL)
		d->lim = *lim;
	info->status = STORE_PUT_PENDING;
	if (d->data.len > DEFER_MAX)
		return store_flush(s, err);
	return 0;
}

/* One certificate's pending versions g[0..k), in the order put. */
static int
flush_group(struct store *s, const struct pend *g, size_t k,
    struct pgps_err *err)
{
	struct store_defer *d = s->defer;
	const struct pgp_limits *lim = d->has_lim ? &d->lim : NULL;
	const struct store_entry *cur;
	const struct pgp_cert **in = NULL;
	struct pgp_cert *certs = NULL;
	struct store_put_info info, vi;
	struct store_entry e;
	struct pgps_err e1 = PGPS_ERR_INIT;
	size_t sti, nin = 0, *map = NULL, last = SIZE_MAX, i;
	bool *adds = NULL;
	int r;

	memset(&info, 0, sizeof(info));
	store_fpr_hex(info.fpr, g[0].fpr, g[0].fprlen);
	if ((cur = find_current(s, g[0].fpr, g[0].fprlen, &sti)) == NULL ||
	    sti == SIZE_MAX)
		PGPS_BUG("a pending version of a certificate not put");
	e = *cur;
	certs = calloc(k, sizeof(*certs));
	in = mem_reallocarray(NULL, k, sizeof(*in));
	map = mem_reallocarray(NULL, k, sizeof(*map));
	adds = calloc(k + 1, sizeof(*adds));
	if (certs == NULL || in == NULL || map == NULL || adds == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((r = read_old(s, cur, sti, info.fpr, &e1)) != 0)
		goto refuse_all;
	for (i = 0; i < k; i++) {
		buf_init(&certs[i].partial, 0);
		pgps_err_clear(&e1);
		if ((r = pgp_cert_parse(&certs[i], d->data.p + g[i].off,
		    g[i].len, 0, &e1)) == 0 && g[i].bare)
			r = bare_verifies(&s->c2, &certs[i], info.fpr, &e1);
		if (r != 0) {
			if (pend_verdict(d, &g[i], &info, r, &e1) != 0) {
				r = pgps_err_set(err, PGPS_ENOMEM,
				    "out of memory");
				goto cleanup;
			}
			continue;
		}
		map[nin] = i;
		in[nin++] = &certs[i];
	}
	r = 0;
	pgps_err_clear(&e1);
	if (nin > 0 && (r = merge_into(s, &e, sti, &s->c2, in, nin, lim,
	    &info, adds, &e1)) != 0 && store_is_fatal(r)) {
		pgps_err_set(err, r, "%s", e1.msg);
		goto cleanup;
	}
 refuse_all:
	/* What changed is told with the last version that added. */
	for (i = 0; r == 0 && i < nin; i++)
		if (adds[i + 1] || (last == SIZE_MAX && i + 1 == nin))
			last = i;
	for (i = 0; i < nin || (r != 0 && nin == 0 && i < k); i++) {
		vi = info;
		if (r == 0 && i != last) {
			memset(vi.added, 0, sizeof(vi.added));
			vi.secret_dropped = 0;
		}
		if (r == 0 && info.status == STORE_PUT_UPDATED &&
		    !adds[i + 1] && i != last)
			vi.status = STORE_PUT_UNCHANGED;
		if (pend_verdict(d, &g[nin > 0 ? map[i] : i], &vi, r,
		    &e1) != 0) {
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	r = store_is_fatal(r) ? pgps_err_set(err, r, "%s", e1.msg) : 0;
 cleanup:
	for (i = 0; certs != NULL && i < k; i++)
		pgp_cert_release(&certs[i]);
	free(certs);
	free(in);
	free(map);
	free(adds);
	return r;
}

int
store_flush(struct store *s, struct pgps_err *err)
{
	struct store_defer *d = s->defer;
	size_t i, j;
	int r = 0;

	if (d == NULL || d->n == 0)
		return 0;
	qsort(d->v, d->n, sizeof(*d->v), pend_cmp);
	for (i = 0; i < d->n && r == 0; i = j) {
		for (j = i + 1; j < d->n && d->v[j].fprlen == d->v[i].fprlen &&
		    memcmp(d->v[j].fpr, d->v[i].fpr, d->v[i].fprlen) == 0; j++)
			;
		r = flush_group(s, d->v + i, j - i, err);
	}
	d->n = 0;
	buf_reset(&d->data);
	/* The verdicts in the order of the puts. */
	if (d->npv > 1)
		qsort(d->pv, d->npv, sizeof(*d->pv), pverdict_cmp);
	for (i = 0; i < d->npv && r == 0; i++)
		d->fn(&d->pv[i].info, d->pv[i].r, &d->pv[i].err, d->arg);
	d->npv = 0;
	return r;
}

/* --- preparing certificates (any thread) ------------------------------ */

enum { PREP_CERT = 1, PREP_BARE = 2, PREP_SAME = 3 };

/* What store_prepare() writes before the bytes. */
struct prep_hdr {
	uint32_t	 kind;
	uint32_t	 crc;		/* of the packed object */
	uint32_t	 secret;	/* secret subkeys dropped */
	uint64_t	 len;		/* of the certificate */
	uint64_t	 plen;		/* bytes that follow */
	uint64_t	 hdrlen;	/* of the packed object's header */
	uint8_t		 fprlen;
	uint8_t		 fpr[PGP_FPR_MAX];
	uint8_t		 hash[16];
	uint8_t		 oid[OID_LEN];
};

struct store_prep {
	struct digest	*md5;
	struct digest	*sha1;
	struct pgp_cert	 c;
	struct pgp_cert	 n;
	struct buf	 nb;
	struct buf	 sb;		/* secret subkeys dropped */
};

struct store_prep *
store_prep_new(void)
{
	struct store_prep *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	buf_init(&w->c.partial, 0);
	buf_init(&w->n.partial, 0);
	buf_init(&w->nb, 0);
	buf_init(&w->sb, 0);
	w->md5 = digest_new(DIGEST_MD5);
	w->sha1 = digest_new(DIGEST_SHA1);
	if (w->md5 == NULL || w->sha1 == NULL) {
		store_prep_free(w);
		return NULL;
	}
	return w;
}

void
store_prep_free(struct store_prep *w)
{
	if (w == NULL)
		return;
	digest_free(w->md5);
	digest_free(w->sha1);
	pgp_cert_release(&w->c);
	pgp_cert_release(&w->n);
	buf_release(&w->nb);
	buf_release(&w->sb);
	free(w);
}

int
store_prepare(struct buf *out, struct store_prep *w, const struct store *s,
    const uint8_t *p, size_t len, const struct pgp_limits *lim,
    struct pgps_err *err)
{
	struct prep_hdr h;
	size_t at = out->len, hl;
	char fpr[FPR_HEX];
	bool same;
	int r;

	memset(&h, 0, sizeof(h));
	if ((r = pgp_cert_parse(&w->c, p, len, 0, err)) != 0)
		return r;
	if (w->c.flags & PGP_CERT_SECRET)
		return pgps_err_set(err, PGPS_EFORMAT, "secret key material "
		    "is never stored");
	/* Secret key material in a public certificate goes; the rest stays. */
	if (pgp_cert_has_secret(&w->c)) {
		size_t nsec;

		buf_reset(&w->sb);
		if ((r = pgp_cert_drop_secret(&w->sb, &w->c, &nsec, err)) != 0)
			return r;
		h.secret = nsec > UINT32_MAX ? UINT32_MAX : (uint32_t)nsec;
		p = w->sb.p;
		len = w->sb.len;
		if ((r = pgp_cert_parse(&w->c, p, len, 0, err)) != 0)
			return r;
	}
	if (!w->c.has_primary) {
		/* Which key it belongs to is the store's business. */
		h.kind = PREP_BARE;
		h.len = h.plen = len;
		if (buf_add(out, &h, sizeof(h)) != 0 ||
		    buf_add(out, p, len) != 0) {
			buf_setlen(out, at);
			goto nomem;
		}
		return 0;
	}
	h.kind = PREP_CERT;
	h.fprlen = w->c.primary.fprlen;
	memcpy(h.fpr, w->c.primary.fpr, h.fprlen);
	store_fpr_hex(fpr, h.fpr, h.fprlen);
	if ((r = store_normalise(&w->nb, &w->c, lim, &same, err)) != 0 ||
	    (!same && (r = pgp_cert_parse(&w->n, w->nb.p, w->nb.len, 0,
	    err)) != 0))
		return pgps_err_prefix(err, r, "%s", fpr);
	/* The SKS hash is of the packets; unchanged ones need no parse. */
	if (pgp_cert_sks_hash(same ? &w->c : &w->n, w->md5, h.hash) != 0)
		goto nomem;
	/*
	 * What the last commit has needs no git object.  The index is only
	 * read here, and only once loaded: nothing changes it until the
	 * commit.
	 */
	if (s != NULL && s->loaded && s->nents > 0) {
		struct store_entry key;
		const struct store_entry *e;

		memset(&key, 0, sizeof(key));
		key.fprlen = h.fprlen;
		memcpy(key.fpr, h.fpr, sizeof(key.fpr));
		e = bsearch(&key, s->ents, s->nents, sizeof(*s->ents),
		    store_entry_cmp);
		if (e != NULL && memcmp(e->hash, h.hash, 16) == 0) {
			h.kind = PREP_SAME;
			if (buf_add(out, &h, sizeof(h)) != 0)
				goto nomem;
			return 0;
		}
	}
	objw_object_id(w->sha1, OBJ_BLOB, w->nb.p, w->nb.len, h.oid);
	h.len = w->nb.len;
	if (buf_add(out, &h, sizeof(h)) != 0 ||
	    objw_pack_object(out, OBJ_BLOB, w->nb.p, w->nb.len, &h.crc,
	    &hl) != 0) {
		buf_setlen(out, at);
		goto nomem;
	}
	h.hdrlen = hl;
	h.plen = out->len - at - sizeof(h);
	memcpy(out->p + at, &h, sizeof(h));
	return 0;
 nomem:
	return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

int
store_put_prepared(struct store *s, const uint8_t *rec, size_t len,
    size_t *used, const struct pgp_limits *lim, struct store_put_info *info,
    struct pgps_err *err)
{
	const struct store_entry *cur;
	struct store_entry e;
	struct store_put_info dummy;
	struct prep_hdr h;
	const uint8_t *body = rec + sizeof(h);
	size_t sti, k;
	int r;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	if (len < sizeof(h))
		PGPS_BUG("short prepared record");
	memcpy(&h, rec, sizeof(h));
	if (h.plen > len - sizeof(h))
		PGPS_BUG("short prepared record");
	*used = sizeof(h) + (size_t)h.plen;
	info->secret_dropped = h.secret;
	if (!s->writable)
		return pgps_err_set(err, PGPS_EUNSUPPORTED, "'%s': opened "
		    "read only", s->dir);
	if ((r = store_index_ready(s, err)) != 0)
		return r;
	if (h.kind == PREP_SAME) {
		info->status = STORE_PUT_UNCHANGED;
		store_fpr_hex(info->fpr, h.fpr, h.fprlen);
		return 0;
	}
	if (h.kind == PREP_BARE) {
		if ((r = pgp_cert_parse(&s->c1, body, (size_t)h.len, 0,
		    err)) != 0)
			return r;
		if ((cur = bare_owner(s, &s->c1, &sti)) == NULL)
			return pgps_err_set(err, PGPS_ENOTFOUND, "a revocation "
			    "without its key, for a key the store does not "
			    "have");
		e = *cur;
		store_fpr_hex(info->fpr, e.fpr, e.fprlen);
		if (s->defer != NULL && sti != SIZE_MAX)
			return defer_put(s, e.fpr, e.fprlen, body,
			    (size_t)h.len, true, h.secret, lim, info, err);
		return put_merge(s, &e, cur, sti, &s->c1, lim, info, err);
	}
	memset(&e, 0, sizeof(e));
	e.fprlen = h.fprlen;
	memcpy(e.fpr, h.fpr, sizeof(e.fpr));
	memcpy(e.hash, h.hash, sizeof(e.hash));
	memcpy(e.oid, h.oid, sizeof(e.oid));
	store_fpr_hex(info->fpr, e.fpr, e.fprlen);
	cur = find_current(s, e.fpr, e.fprlen, &sti);
	if (cur == NULL) {
		info->status = STORE_PUT_NEW;
		if ((r = objw_put(&s->w, s->gitdir, OBJ_BLOB, e.oid, NULL,
		    (size_t)h.len, body, (size_t)h.plen, (size_t)h.hdrlen,
		    h.crc, &k, err)) != 0)
			return r;
		return stage(s, &e, k, SIZE_MAX, false, NULL, err);
	}
	if (memcmp(cur->hash, e.hash, 16) == 0) {
		info->status = STORE_PUT_UNCHANGED;
		return 0;
	}
	if (objw_unpack_stored(&s->nb, body + h.hdrlen, (size_t)(h.plen -
	    h.hdrlen), (size_t)h.len) != 0)
		return pgps_err_set(err, PGPS_EINTERNAL, "a prepared "
		    "certificate is damaged");
	/* Put before in this commit: merged with the others at the end. */
	if (s->defer != NULL && sti != SIZE_MAX)
		return defer_put(s, e.fpr, e.fprlen, s->nb.p, s->nb.len, false,
		    h.secret, lim, info, err);
	if (pgp_cert_parse(&s->c1, s->nb.p, s->nb.len, 0, err) != 0)
		return pgps_err_set(err, PGPS_EINTERNAL, "a prepared "
		    "certificate is damaged");
	return put_merge(s, &e, cur, sti, &s->c1, lim, info, err);
}

int
store_put(struct store *s, const uint8_t *p, size_t len,
    const struct pgp_limits *lim, struct store_put_info *info,
    struct pgps_err *err)
{
	size_t used;
	int r;

	if (s->prep == NULL && (s->prep = store_prep_new()) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	buf_reset(&s->rec);
	if ((r = store_prepare(&s->rec, s->prep, NULL, p, len, lim,
	    err)) != 0)
		return r;
	return store_put_prepared(s, s->rec.p, s->rec.len, &used, lim, info,
	    err);
}
