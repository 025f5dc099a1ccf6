/*
 * reconcile.c: "pgpsync reconcile": SKS set reconciliation of a local key
 * set with a keyserver peer, then the transfer of exactly the missing
 * certificates in both directions.
 *
 * The local set is a dump file or a directory of dump files.  Its elements
 * are the SKS hashes of the certificates SKS itself would accept (public
 * keys of version 2 to 4); the prefix tree over them, and an index from
 * hash to file and offset, are cached next to the set and rebuilt only
 * when the set's files changed (see set_stamp()).
 *
 * The local set may also be a certificate store (store:[DIR]).  Its
 * elements come from the store's own index of SKS hashes, so nothing is
 * re-hashed; the prefix tree is cached in the repository and belongs to
 * one commit.  What the peer gives goes into one new commit, merged by
 * fingerprint with what the store holds, so a merged certificate keeps
 * an SKS hash of its own that the peer does not know (counted, not
 * hidden).
 *
 * The local set may also be a GnuPG keyring (gpg:[HOMEDIR]).  It is
 * exported whole on every run (public keys only, so no secret key is ever
 * offered) and its certificates are hashed and kept in memory; nothing is
 * cached, since a cache would have to be written into the GnuPG home and
 * no file stamp tells reliably that gpg changed the keyring.  A keyring is
 * small next to a keyserver's set: the Debian keyring (905 certificates,
 * 28 MB) is exported and hashed in about a third of a second.  What the
 * peer gives is merged with the keyring's copy of each key
 * (keyset/update.h), so gpg receives whole certificates and an update
 * without user IDs still lands, and is imported in batches after the
 * fetching ended; what gpg then holds of those keys is hashed again to
 * count the ones that now differ from the peer's version, as for a store.
 *
 * Connecting to the peer makes us the responder of the protocol; --listen
 * waits for the peer to connect and makes us the driver.  Afterwards the
 * certificates we lack are fetched with POST /pks/hashquery from the
 * peer's HTTP port, re-hashed, kept only if asked for, and added to the
 * set by writing a new file (temporary file and rename), so an interrupted
 * run leaves the set as it was.  The peer gets what it lacks by POST
 * /pks/add, or with --serve by fetching it from us as SKS peers do.
 *
 * The protocol lives in recon/recon.h, the socket work in net/recon.h,
 * the connection and the session over it in keyset/recon.h.
 */
#include "util/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/par.h"
#include "keyset/gpg.h"
#include "keyset/keyset.h"
#include "keyset/recon.h"
#include "keyset/store.h"
#include "keyset/update.h"
#include "net/net.h"
#include "net/recon.h"
#include "openpgp/openpgp.h"
#include "recon/recon.h"
#include "util/clock.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/mem.h"

enum {
	OPT_JSON = OPT_LONG,
	OPT_ALLOW,
	OPT_ALLOW_FILE,
	OPT_DRY_RUN,
	OPT_HTTP_PORT,
	OPT_SERVE,
	OPT_SERVE_PORT,
	OPT_LISTEN,
	OPT_TIMEOUT,
	OPT_NO_PUSH,
	OPT_WAIT
};

const struct opt reconcile_opts[] = {
	{ OPT_ALLOW, "allow", "address",
	    "with --listen, accept peers from this address, network "
	    "(address/bits) or host name; repeatable" },
	{ OPT_ALLOW_FILE, "allow-file", "file",
	    "with --listen, accept peers from the addresses in this file "
	    "(first word of each line, as an SKS membership file)" },
	{ OPT_DRY_RUN, "dry-run", NULL,
	    "only report the differences; exit 1 if there are any" },
	{ OPT_HTTP_PORT, "http-port", "port",
	    "fetch from this HTTP port of the peer instead of the one it "
	    "announces" },
	{ OPT_JSON, "json", NULL, "print JSON" },
	{ OPT_LISTEN, "listen", NULL,
	    "wait for the peer to connect to host:port (implies --serve)" },
	{ OPT_NO_PUSH, "no-push", NULL,
	    "do not upload what the peer lacks" },
	{ OPT_SERVE, "serve", NULL,
	    "let the peer fetch what it lacks from us instead of uploading" },
	{ OPT_SERVE_PORT, "serve-port", "port",
	    "HTTP port to serve on and announce (default: any free port)" },
	{ OPT_TIMEOUT, "timeout", "seconds",
	    "let each network phase (reconciling, fetching, uploading, "
	    "serving) last at most this long (default 600)" },
	{ OPT_WAIT, "wait", "seconds",
	    "while the peer is busy, keep trying this long (default 0)" },
	{ 0, NULL, NULL, NULL }
};


#define INDEX_MAGIC	"PGPSIDX2"

/* One certificate of the local set. */
struct rec {
	uint8_t		h[16];
	uint64_t	off;
	uint32_t	len;
	uint32_t	src;
};

/* A certificate of an armored file or a keyring, kept in memory. */
struct memcert {
	uint8_t		 h[16];
	uint8_t		*p;
	size_t		 len;
	char		 fpr[GPG_FPR_HEX];	/* a keyring's only */
};

struct set {
	char		 *path;
	bool		  is_dir;
	char		**files;
	size_t		  nfiles;
	bool		 *binary;	/* offsets are file offsets */
	struct rec	 *recs;		/* ascending by hash, unique */
	size_t		  nrecs;
	struct recon_ptree *tree;
	uint8_t		  stamp[32];
	char		 *tree_path;
	char		 *index_path;
	uint64_t	  excluded;
	bool		  cached;
	bool		  cache_stale;	/* built, to be cached (set_cached()) */
	struct memcert	 *mem;		/* armored files, by hash */
	size_t		  nmem;
	/* A store: recs[].src indexes ents; files and offsets are unused. */
	struct store	 *store;
	const struct store_entry *ents;
	size_t		  nents;
	char		 *stamp_path;	/* names the tree's commit */
	/* A GnuPG keyring: every certificate is in mem, by recs[].src. */
	struct gpg_keyring *kr;
	struct memcert	**byfpr;	/* mem by fingerprint */
};

static int
rec_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static const struct rec *
rec_find(const struct set *s, const uint8_t h[16])
{
	return s->nrecs == 0 ? NULL : bsearch(h, s->recs, s->nrecs,
	    sizeof(*s->recs), rec_cmp);
}

/* Sorts v[0..n) (of size octets each) and drops repeats; the new n. */
static size_t
sort_unique(void *v, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	uint8_t *p = v;
	size_t j = 0;

	if (n == 0)
		return 0;
	qsort(v, n, size, cmp);
	for (size_t i = 1; i < n; i++)
		if (cmp(p + j * size, p + i * size) != 0 && ++j != i)
			memcpy(p + j * size, p + i * size, size);
	return j + 1;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_dump_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.' || l < 5)
		return false;
	n += l - 4;
	return strcmp(n, ".pgp") == 0 || strcmp(n, ".gpg") == 0 ||
	    strcmp(n, ".asc") == 0;
}

static void
set_free_files(struct set *s)
{
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->binary);
	s->files = NULL;
	s->binary = NULL;
	s->nfiles = 0;
}

/* Lists the set's files, in name order as the key set reader does. */
static int
set_list(struct set *s)
{
	struct dirent *de;
	DIR *d;
	size_t cap = 0;

	set_free_files(s);
	if (!s->is_dir) {
		s->files = xcalloc(1, sizeof(char *));
		s->files[0] = xstrdup(s->path);
		s->nfiles = 1;
	} else {
		if ((d = opendir(s->path)) == NULL)
			return error("cannot read '%s': %s", s->path,
			    strerror(errno));
		while ((de = readdir(d)) != NULL) {
			struct stat st;
			char *p;
			size_t n;

			if (!is_dump_name(de->d_name))
				continue;
			n = strlen(s->path) + strlen(de->d_name) + 2;
			p = xmalloc(n);
			snprintf(p, n, "%s/%s", s->path, de->d_name);
			if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
				free(p);
				continue;
			}
			if (s->nfiles == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				s->files = xreallocarray(s->files, cap,
				    sizeof(char *));
			}
			s->files[s->nfiles++] = p;
		}
		closedir(d);
		if (s->nfiles > 0)
			qsort(s->files, s->nfiles, sizeof(char *), str_cmp);
	}
	s->binary = xcalloc(s->nfiles + 1, sizeof(bool));
	for (size_t i = 0; i < s->nfiles; i++) {
		uint8_t head[256];
		ssize_t n = 0;
		int fd = open(s->files[i], O_RDONLY);

		if (fd >= 0) {
			n = read(fd, head, sizeof(head));
			close(fd);
		}
		s->binary[i] = n > 0 && !pgp_armor_detect(head, (size_t)n);
	}
	return 0;
}

/*
 * The cache key of the set: SHA-256 over every file's name, size,
 * modification time (nanoseconds), inode and device.  Any rewrite, even
 * one that keeps the size, changes the time or (after a rename) the inode;
 * hashing the contents themselves would cost as much as the rebuild the
 * cache saves.
 */
static int
set_stamp(struct set *s, uint8_t out[32])
{
	struct digest *d = digest_new(DIGEST_SHA256);
	uint8_t tmp[DIGEST_MAX];

	if (d == NULL)
		die("out of memory");
	digest_update(d, INDEX_MAGIC, 8);
	for (size_t i = 0; i < s->nfiles; i++) {
		struct stat st;
		uint64_t v[6];
		const char *b = strrchr(s->files[i], '/');

		if (stat(s->files[i], &st) != 0) {
			digest_free(d);
			return error("cannot stat '%s': %s", s->files[i],
			    strerror(errno));
		}
		b = b == NULL ? s->files[i] : b + 1;
		digest_update(d, b, strlen(b) + 1);
		v[0] = (uint64_t)st.st_size;
		v[1] = (uint64_t)st.st_mtim.tv_sec;
		v[2] = (uint64_t)st.st_mtim.tv_nsec;
		v[3] = (uint64_t)st.st_ino;
		v[4] = (uint64_t)st.st_dev;
		v[5] = s->binary[i];
		digest_update(d, v, sizeof(v));
	}
	digest_final(d, tmp);
	digest_free(d);
	memcpy(out, tmp, 32);
	return 0;
}

/* Reads the index; 0 when it matches the stamp, else -1 (rebuild). */
static int
index_load(struct set *s)
{
	FILE *f = fopen(s->index_path, "rb");
	uint8_t head[8 + 32 + 8 + 8 + 8];
	uint64_t n, nfiles;
	struct stat st;

	if (f == NULL)
		return -1;
	if (fread(head, 1, sizeof(head), f) != sizeof(head) ||
	    memcmp(head, INDEX_MAGIC, 8) != 0 ||
	    memcmp(head + 8, s->stamp, 32) != 0 || fstat(fileno(f), &st) != 0)
		goto bad;
	memcpy(&nfiles, head + 40, 8);
	memcpy(&n, head + 48, 8);
	memcpy(&s->excluded, head + 56, 8);
	if (nfiles != s->nfiles || n > (uint64_t)st.st_size / sizeof(struct rec)
	    || (uint64_t)st.st_size != sizeof(head) + n * sizeof(struct rec))
		goto bad;
	free(s->recs);
	s->recs = xreallocarray(NULL, n + 1, sizeof(struct rec));
	if (fread(s->recs, sizeof(struct rec), n, f) != n)
		goto bad;
	for (uint64_t i = 0; i < n; i++)
		if (s->recs[i].src >= s->nfiles || (i > 0 &&
		    rec_cmp(&s->recs[i - 1], &s->recs[i]) >= 0))
			goto bad;
	s->nrecs = n;
	fclose(f);
	return 0;
 bad:
	fclose(f);
	s->nrecs = 0;
	return -1;
}

static int
index_save(struct set *s)
{
	struct atomic_file af;
	uint64_t v;

	if (atomic_open(&af, s->index_path) != 0)
		return -1;
	fwrite(INDEX_MAGIC, 1, 8, af.f);
	fwrite(s->stamp, 1, 32, af.f);
	v = s->nfiles;
	fwrite(&v, 8, 1, af.f);
	v = s->nrecs;
	fwrite(&v, 8, 1, af.f);
	v = s->excluded;
	fwrite(&v, 8, 1, af.f);
	if (s->nrecs > 0)
		fwrite(s->recs, sizeof(struct rec), s->nrecs, af.f);
	return atomic_commit(&af);
}

/* --- hashing the set ------------------------------------------------- */

struct hash_ws {
	struct digest	*md5;
	struct pgp_cert	 cert;
	const struct set *set;
	uint64_t	 excluded;
	size_t		 src;		/* file of the last certificate */
};

static void *
hash_ws_new(void *arg)
{
	struct hash_ws *w = xcalloc(1, sizeof(*w));

	if ((w->md5 = digest_new(DIGEST_MD5)) == NULL)
		die("out of memory");
	buf_init(&w->cert.partial, 0);
	w->set = arg;
	return w;
}

/* On the calling thread (par_run()), so the set can take the count. */
static void
hash_ws_done(void *ws, void *arg)
{
	struct hash_ws *w = ws;
	struct set *s = arg;

	s->excluded += w->excluded;
	digest_free(w->md5);
	pgp_cert_release(&w->cert);
	free(w);
}

static int
hash_one(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	struct hash_ws *w = ws;
	struct rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = pgp_cert_parse(&w->cert, raw->p, raw->len, raw->offset,
	    err)) != 0)
		return pgps_err_prefix(err, rc, "'%s'", source);
	if (!keyset_sks_acceptable(&w->cert)) {
		w->excluded++;
		return 0;
	}
	if ((rc = pgp_cert_sks_hash(&w->cert, w->md5, r.h)) != 0)
		return pgps_err_set(err, rc, "out of memory");
	r.off = raw->offset;
	r.len = raw->len > UINT32_MAX ? UINT32_MAX : (uint32_t)raw->len;
	/*
	 * Files are read in order, so the last certificate's file is
	 * almost always this one's: look from there on.
	 */
	r.src = UINT32_MAX;
	for (size_t k = 0; k < w->set->nfiles; k++) {
		size_t i = (w->src + k) % w->set->nfiles;

		if (strcmp(w->set->files[i], source) == 0) {
			r.src = (uint32_t)i;
			w->src = i;
			break;
		}
	}
	if (r.src == UINT32_MAX)
		return pgps_err_set(err, PGPS_EINTERNAL, "'%s': unknown "
		    "source", source);
	return buf_add(out, &r, sizeof(r)) == 0 ? 0 :
	    pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

static int
hash_sink(const uint8_t *p, size_t len, void *arg)
{
	return buf_add(arg, p, len) == 0 ? 0 : error("out of memory");
}

/* Builds the prefix tree over the set's records. */
static void
tree_build(struct set *s)
{
	int rc;

	recon_ptree_free(s->tree);
	s->tree = NULL;
	if (recon_ptree_new(&s->tree) != 0)
		die("out of memory");
	for (size_t i = 0; i < s->nrecs; i++) {
		struct recon_elem e;

		memcpy(e.b, s->recs[i].h, 16);
		if ((rc = recon_ptree_insert(s->tree, &e, NULL)) != 0) {
			if (rc == PGPS_ENOMEM)
				die("out of memory");
			/* One of the three sample points: never a real MD5. */
			continue;
		}
	}
}

/*
 * Takes the tree cached at s->tree_path when it can belong to the records
 * (it lacks those equal to a sample point); the caller checked the stamp.
 */
static bool
tree_load_cached(struct set *s)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (recon_ptree_load(&s->tree, s->tree_path, 0, &err) == 0 &&
	    recon_ptree_count(s->tree) <= s->nrecs)
		return s->cached = true;
	recon_ptree_free(s->tree);
	s->tree = NULL;
	return false;
}

/* Hashes every certificate and builds the tree; warns about damage. */
static int
set_build(struct set *s, struct ctx *ctx, uint64_t *skipped)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_iter *it = NULL;
	struct par_spec spec;
	struct par_result res;
	struct progress prog;
	struct buf k;
	size_t n;
	int rc;

	memset(&spec, 0, sizeof(spec));
	memset(&res, 0, sizeof(res));
	buf_init(&k, SIZE_MAX / 2);
	*skipped = 0;
	s->excluded = 0;
	free(s->recs);
	s->recs = NULL;
	s->nrecs = 0;
	if (s->nfiles > 0 && keyset_iter_open(&it,
	    (const char *const *)s->files, s->nfiles, &err) != 0)
		return error("%s", err.msg);
	if (it != NULL) {
		spec.fn = hash_one;
		spec.wstate_new = hash_ws_new;
		spec.wstate_done = hash_ws_done;
		spec.arg = s;
		spec.sink = hash_sink;
		spec.sink_arg = &k;
		progress_start(&prog, ctx, "hashing", keyset_iter_total(it));
		spec.progress = &prog;
		rc = par_run(it, &spec, ctx, &res);
		progress_end(&prog);
		keyset_iter_free(it);
		if (rc != 0) {
			buf_release(&k);
			return -1;
		}
		*skipped = res.skipped;
	}
	s->recs = (struct rec *)(void *)buf_detach(&k, &n);
	s->nrecs = sort_unique(s->recs, n / sizeof(struct rec),
	    sizeof(*s->recs), rec_cmp);
	tree_build(s);
	return 0;
}

/* Saves tree and index; the index last, since it carries the stamp. */
static int
set_save_cache(struct set *s)
{
	struct pgps_err err = PGPS_ERR_INIT;

	(void)unlink(s->index_path);
	if (recon_ptree_save(s->tree, s->tree_path, &err) != 0) {
		warn("cannot cache the prefix tree: %s", err.msg);
		return -1;
	}
	return index_save(s) == 0 ? 0 : -1;
}

static int
set_open(struct set *s, const char *path, struct ctx *ctx, uint64_t *skipped)
{
	struct stat st;
	size_t n;

	memset(s, 0, sizeof(*s));
	*skipped = 0;
	if (stat(path, &st) != 0)
		return error("'%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return error("'%s' is neither a dump file nor a directory",
		    path);
	s->path = xstrdup(path);
	n = strlen(path);
	while (n > 1 && s->path[n - 1] == '/')
		s->path[--n] = '\0';
	s->is_dir = S_ISDIR(st.st_mode);
	n = strlen(s->path) + 32;
	s->tree_path = xmalloc(n);
	s->index_path = xmalloc(n);
	if (s->is_dir) {
		snprintf(s->tree_path, n, "%s/.pgpsync-ptree", s->path);
		snprintf(s->index_path, n, "%s/.pgpsync-index", s->path);
	} else {
		snprintf(s->tree_path, n, "%s.ptree", s->path);
		snprintf(s->index_path, n, "%s.index", s->path);
	}
	if (set_list(s) != 0 || set_stamp(s, s->stamp) != 0)
		return -1;
	if (index_load(s) == 0 && tree_load_cached(s))
		return 0;
	if (set_build(s, ctx, skipped) != 0)
		return -1;
	/* A set with damaged regions is still cached: they stay damaged. */
	s->cache_stale = true;
	return 0;
}

/* --- a certificate store as the set ------------------------------------ */

/*
 * The store's elements, from its index (which store_entries() brings up
 * to date by reading only the certificates that changed).
 */
static int
store_recs(struct set *s, uint64_t *skipped)
{
	struct pgps_err err = PGPS_ERR_INIT;
	size_t damaged = 0, j = 0;

	free(s->recs);
	s->recs = NULL;
	s->nrecs = 0;
	s->excluded = 0;
	s->ents = NULL;
	s->nents = 0;
	if (store_entries(&s->ents, &s->nents, &damaged, s->store, &err) != 0)
		return error("%s", err.msg);
	if (s->nents >= UINT32_MAX)
		return error("'%s': too many certificates", s->path);
	*skipped = damaged;
	s->recs = xreallocarray(NULL, s->nents + 1, sizeof(*s->recs));
	for (size_t i = 0; i < s->nents; i++) {
		/* SKS keeps no keys of version 5 or 6 (longer fingerprints). */
		if (s->ents[i].fprlen > 20) {
			s->excluded++;
			continue;
		}
		memcpy(s->recs[j].h, s->ents[i].hash, 16);
		s->recs[j].off = 0;
		s->recs[j].len = 0;
		s->recs[j++].src = (uint32_t)i;
	}
	s->nrecs = sort_unique(s->recs, j, sizeof(*s->recs), rec_cmp);
	return 0;
}

/* Whether the cached tree was built for the store's current commit. */
static bool
store_stamp_ok(const struct set *s)
{
	char line[2 * STORE_OID_LEN + 2] = "";
	FILE *f;
	bool ok;

	if (store_head(s->store)[0] == '\0' ||
	    (f = fopen(s->stamp_path, "r")) == NULL)
		return false;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return ok && strcmp(line, store_head(s->store)) == 0;
}

/*
 * Caches the tree for the store's commit.  The stamp is removed first and
 * written last, so a tree that was not completely written never matches.
 */
static void
store_save_cache(struct set *s)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct atomic_file af;
	char *dir;
	size_t n;

	(void)unlink(s->stamp_path);
	if (store_head(s->store)[0] == '\0')
		return;
	n = strlen(s->path) + 16;
	dir = xmalloc(n);
	snprintf(dir, n, "%s/pgpsync", s->path);
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		warn("cannot cache the prefix tree in '%s': %s", dir,
		    strerror(errno));
		free(dir);
		return;
	}
	free(dir);
	if (recon_ptree_save(s->tree, s->tree_path, &err) != 0) {
		warn("cannot cache the prefix tree: %s", err.msg);
		return;
	}
	if (atomic_open(&af, s->stamp_path) != 0)
		return;
	if (fprintf(af.f, "%s\n", store_head(s->store)) < 0) {
		atomic_abort(&af);
		return;
	}
	(void)atomic_commit(&af);
}

/* Opens store:name as the set; for writing unless read_only. */
static int
set_open_store(struct set *s, const char *name, bool read_only,
    uint64_t *skipped)
{
	struct pgps_err err = PGPS_ERR_INIT;
	size_t n;
	int r;

	memset(s, 0, sizeof(*s));
	*skipped = 0;
	if ((r = store_open(&s->store, name, read_only ? 0 : STORE_WRITE,
	    &err)) != 0) {
		s->store = NULL;
		return error("%s", err.msg);
	}
	s->path = xstrdup(store_dir(s->store));
	n = strlen(s->path) + 32;
	s->tree_path = xmalloc(n);
	s->stamp_path = xmalloc(n);
	snprintf(s->tree_path, n, "%s/pgpsync/ptree", s->path);
	snprintf(s->stamp_path, n, "%s/pgpsync/ptree-commit", s->path);
	if (store_recs(s, skipped) != 0)
		return -1;
	if (store_stamp_ok(s) && tree_load_cached(s))
		return 0;
	tree_build(s);
	s->cache_stale = true;
	return 0;
}

/* --- a GnuPG keyring as the set ----------------------------------------- */

static int
memcert_fpr_cmp(const void *a, const void *b)
{
	return strcmp((*(struct memcert *const *)a)->fpr,
	    (*(struct memcert *const *)b)->fpr);
}

/*
 * Exports the keys pats[0..n) of the keyring, or all of them when pats is
 * NULL, and hands each certificate SKS would accept to fn, parsed and
 * hashed.  Damaged regions are warned about and counted in *skipped, the
 * other certificates in *excluded.
 */
static int
gpg_each(struct gpg_keyring *kr, const char *name, const char *const *pats,
    size_t n, void (*fn)(const struct pgp_cert *, const uint8_t *, void *),
    void *arg, uint64_t *skipped, uint64_t *excluded)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;
	struct pgp_reader *rd = NULL;
	struct pgp_raw_cert raw;
	struct digest *md5;
	struct buf data = BUF_INIT;
	uint8_t h[16];
	int r, rc = -1;

	if ((md5 = digest_new(DIGEST_MD5)) == NULL)
		die("out of memory");
	if (gpg_keyring_export(&data, kr, pats, n, &err) != 0 ||
	    (data.len > 0 && pgp_reader_open_mem(&rd, data.p, data.len, name,
	    &err) != 0)) {
		error("%s", err.msg);
		goto cleanup;
	}
	while (rd != NULL) {
		pgps_err_clear(&err);
		if ((r = pgp_reader_next(rd, &raw, 0, &err)) == 0)
			break;
		if (r == PGPS_EIO) {
			error("%s", err.msg);
			goto cleanup;
		}
		if (r < 0) {
			warn("%s", err.msg);	/* names the place */
			(*skipped)++;
			continue;
		}
		if (pgp_cert_parse(&c, raw.p, raw.len, raw.offset, &err) != 0) {
			warn("'%s': %s", name, err.msg);
			(*skipped)++;
			continue;
		}
		if (!keyset_sks_acceptable(&c)) {
			(*excluded)++;
			continue;
		}
		if (pgp_cert_sks_hash(&c, md5, h) != 0)
			die("out of memory");
		fn(&c, h, arg);
	}
	rc = 0;
 cleanup:
	pgp_reader_free(rd);
	pgp_cert_release(&c);
	digest_free(md5);
	buf_release(&data);
	return rc;
}

struct gpg_load {
	struct set	*s;
	size_t		 cap;
};

/* Keeps one certificate of the keyring in memory (gpg_each()). */
static void
gpg_load_one(const struct pgp_cert *c, const uint8_t *h, void *arg)
{
	struct gpg_load *l = arg;
	struct set *s = l->s;
	struct buf b = BUF_INIT;
	struct memcert *m;

	if (pgp_cert_write(&b, c) != 0)
		die("out of memory");
	if (s->nmem == l->cap) {
		l->cap = l->cap == 0 ? 256 : l->cap * 2;
		s->mem = xreallocarray(s->mem, l->cap, sizeof(*s->mem));
	}
	m = &s->mem[s->nmem++];
	memcpy(m->h, h, 16);
	pgp_key_fpr_hex(m->fpr, &c->primary);
	m->p = buf_detach(&b, &m->len);
}

/*
 * Opens gpg:[home] as the set: exports the keyring and keeps each
 * certificate SKS would accept in memory, with its hash and fingerprint.
 * A damaged region of the export is skipped and counted, as in a dump.
 */
static int
set_open_gpg(struct set *s, const char *home, uint64_t *skipped)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct gpg_load l = { s, 0 };
	size_t j = 0;

	memset(s, 0, sizeof(*s));
	*skipped = 0;
	if (gpg_keyring_open(&s->kr, *home != '\0' ? home : NULL,
	    &err) != 0) {
		s->kr = NULL;
		return error("%s", err.msg);
	}
	s->path = xstrdup(gpg_keyring_home(s->kr));
	if (gpg_each(s->kr, s->path, NULL, 0, gpg_load_one, &l, skipped,
	    &s->excluded) != 0)
		return -1;
	if (s->nmem >= UINT32_MAX)
		return error("'%s': too many certificates", s->path);
	/* By hash, once each (gpg holds one copy of a key anyway). */
	if (s->nmem > 0)
		qsort(s->mem, s->nmem, sizeof(*s->mem), rec_cmp);
	for (size_t i = 0; i < s->nmem; i++) {
		if (j > 0 && rec_cmp(&s->mem[j - 1], &s->mem[i]) == 0) {
			free(s->mem[i].p);
			continue;
		}
		s->mem[j++] = s->mem[i];
	}
	s->nmem = j;
	s->recs = xreallocarray(NULL, s->nmem + 1, sizeof(*s->recs));
	s->byfpr = xreallocarray(NULL, s->nmem + 1, sizeof(*s->byfpr));
	for (size_t i = 0; i < s->nmem; i++) {
		memcpy(s->recs[i].h, s->mem[i].h, 16);
		s->recs[i].off = 0;
		s->recs[i].len = 0;
		s->recs[i].src = (uint32_t)i;
		s->byfpr[i] = &s->mem[i];
	}
	s->nrecs = s->nmem;
	if (s->nmem > 0)
		qsort(s->byfpr, s->nmem, sizeof(*s->byfpr), memcert_fpr_cmp);
	tree_build(s);
	return 0;
}

/*
 * Offsets into armored files point into their decoded form, so their
 * certificates are decoded once and kept in memory before any is sent.
 * Armored files are small keyrings in practice; dumps are binary.
 */
static void
set_load_armored(struct set *s)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;
	struct keyset_iter *it = NULL;
	struct pgp_raw_cert raw;
	struct digest *md5 = digest_new(DIGEST_MD5);
	const char **files = xcalloc(s->nfiles + 1, sizeof(char *));
	size_t n = 0, cap = 0;
	int r;

	if (md5 == NULL)
		die("out of memory");
	for (size_t i = 0; i < s->nfiles; i++)
		if (!s->binary[i])
			files[n++] = s->files[i];
	if (n == 0 || keyset_iter_open(&it, files, n, &err) != 0)
		goto out;
	while ((r = keyset_iter_next(it, &raw, 0, &err)) != 0) {
		struct buf b = BUF_INIT;
		struct memcert *m;

		if (r < 0) {
			if (keyset_is_fatal(r))
				break;
			continue;
		}
		if (pgp_cert_parse(&c, raw.p, raw.len, raw.offset, &err) != 0 ||
		    !keyset_sks_acceptable(&c) || pgp_cert_write(&b, &c) != 0) {
			buf_release(&b);
			continue;
		}
		if (s->nmem == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			s->mem = xreallocarray(s->mem, cap, sizeof(*s->mem));
		}
		m = &s->mem[s->nmem++];
		pgp_cert_sks_hash(&c, md5, m->h);
		m->p = buf_detach(&b, &m->len);
	}
	if (s->nmem > 0)
		qsort(s->mem, s->nmem, sizeof(*s->mem), rec_cmp);
 out:
	keyset_iter_free(it);
	pgp_cert_release(&c);
	digest_free(md5);
	free(files);
}

/*
 * Caches the tree and index that were built, once a reconciliation has
 * completed: a run that failed (a peer that refused us, a time-out)
 * writes nothing next to the set.
 */
static void
set_cached(struct set *s)
{
	if (!s->cache_stale)
		return;
	s->cache_stale = false;
	if (s->store != NULL)
		store_save_cache(s);
	else if (s->kr == NULL)
		(void)set_save_cache(s);
}

static void
set_release(struct set *s)
{
	for (size_t i = 0; i < s->nmem; i++)
		free(s->mem[i].p);
	free(s->mem);
	set_free_files(s);
	free(s->recs);
	recon_ptree_free(s->tree);
	free(s->path);
	free(s->tree_path);
	free(s->index_path);
	free(s->stamp_path);
	store_free(s->store);
	free(s->byfpr);
	gpg_keyring_free(s->kr);
}

/*
 * Reads the certificate of r and appends it without trust packets (which
 * make SKS refuse a key).  1 found, 0 not readable.
 */
static int
cert_read(const struct set *s, const struct rec *r, struct buf *out,
    struct pgp_cert *c)
{
	struct pgps_err err = PGPS_ERR_INIT;
	uint8_t *p;
	ssize_t got;
	int fd, rc = 0;

	if (s->store != NULL) {
		struct buf b = BUF_INIT;

		if (r->src >= s->nents || store_read(&b, s->store,
		    s->ents[r->src].oid, &err) != 0)
			rc = 0;
		else
			rc = pgp_cert_parse(c, b.p, b.len, 0, &err) == 0 &&
			    pgp_cert_write(out, c) == 0;
		buf_release(&b);
		return rc;
	}
	if (s->kr != NULL || !s->binary[r->src]) {
		const struct memcert *m = s->nmem == 0 ? NULL :
		    bsearch(r->h, s->mem, s->nmem, sizeof(*s->mem), rec_cmp);

		return m != NULL && buf_add(out, m->p, m->len) == 0;
	}
	if (r->len == 0)
		return 0;
	if ((fd = open(s->files[r->src], O_RDONLY)) < 0)
		return 0;
	p = malloc(r->len);
	if (p != NULL && (got = pread(fd, p, r->len, (off_t)r->off)) ==
	    (ssize_t)r->len && pgp_cert_parse(c, p, r->len, 0, &err) == 0 &&
	    pgp_cert_write(out, c) == 0)
		rc = 1;
	free(p);
	close(fd);
	return rc;
}

/* Hashes, for the keyring's write-back (gpg_add()). */
struct elemvec {
	struct recon_elem	*v;
	size_t			 n, cap;
};

static void
elemvec_add(struct elemvec *ev, const struct recon_elem *e, size_t n)
{
	if (n == 0)
		return;
	if (ev->n + n > ev->cap) {
		ev->cap = ev->cap * 2 + n + 64;
		ev->v = xreallocarray(ev->v, ev->cap, sizeof(*ev->v));
	}
	memcpy(ev->v + ev->n, e, n * sizeof(*e));
	ev->n += n;
}

static size_t
elemvec_unique(struct elemvec *ev)
{
	return ev->n = sort_unique(ev->v, ev->n, sizeof(*ev->v),
	    recon_elem_cmp);
}

/* --- fetching --------------------------------------------------------- */

struct fetch {
	FILE			*f;
	FILE			*tmp;		/* for a store */
	uint64_t		 base;		/* offset of the first new
						 * octet */
	uint64_t		 written;
	struct rec		*recs;		/* new certificates */
	size_t			 nrecs;
	uint64_t		 fetched;
	uint64_t		 bytes;
};

/* Writes one fetched certificate out (keyset_recon_fetch()). */
static int
fetch_write(const uint8_t *p, size_t len, const uint8_t hash[16], void *arg)
{
	struct fetch *f = arg;

	if (fwrite(p, 1, len, f->f) != len) {
		error("write error: %s", strerror(errno));
		return PGPS_EIO;
	}
	f->recs = xreallocarray(f->recs, f->nrecs + 1, sizeof(*f->recs));
	memcpy(f->recs[f->nrecs].h, hash, 16);
	f->recs[f->nrecs].off = f->base + f->written;
	f->recs[f->nrecs].len = (uint32_t)len;
	f->recs[f->nrecs].src = 0;
	f->nrecs++;
	f->written += len;
	f->fetched++;
	return 0;
}

static void
fetch_warn(const char *msg, void *arg)
{
	(void)arg;
	warn("%s", msg);
}

/* Copies the file at path to f; 0 or -1. */
static int
copy_file(FILE *f, const char *path, uint64_t *size)
{
	FILE *in = fopen(path, "rb");
	uint8_t b[65536];
	size_t n;

	*size = 0;
	if (in == NULL)
		return error("cannot read '%s': %s", path, strerror(errno));
	while ((n = fread(b, 1, sizeof(b), in)) > 0) {
		if (fwrite(b, 1, n, f) != n) {
			fclose(in);
			return error("write error: %s", strerror(errno));
		}
		*size += n;
	}
	if (ferror(in)) {
		fclose(in);
		return error("cannot read '%s': %s", path, strerror(errno));
	}
	fclose(in);
	return 0;
}

/* A new file name in the directory: pgpsync-YYYYmmddTHHMMSS[-N].pgp. */
static char *
new_dump_name(const char *dir)
{
	struct tm tm;
	time_t now = time(NULL);
	char stamp[32], *p;
	size_t n = strlen(dir) + 64;
	struct stat st;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	p = xmalloc(n);
	for (int i = 0; i < 1000; i++) {
		if (i == 0)
			snprintf(p, n, "%s/pgpsync-%s.pgp", dir, stamp);
		else
			snprintf(p, n, "%s/pgpsync-%s-%d.pgp", dir, stamp, i);
		if (stat(p, &st) != 0)
			return p;
	}
	free(p);
	return NULL;
}

struct peer {
	char		 host[NET_HOST_MAX];
	unsigned int	 port;
	unsigned int	 http_port;
};

/* The peer's HTTP port as a server URL. */
static void
http_url(char *url, size_t len, const struct peer *pe)
{
	snprintf(url, len, strchr(pe->host, ':') != NULL ?
	    "hkp://[%s]:%u" : "hkp://%s:%u", pe->host, pe->http_port);
}


/* Gives up the output of fetch_missing(). */
static void
fetch_abort(struct fetch *f, struct atomic_file *af)
{
	if (f->tmp != NULL) {
		fclose(f->tmp);
		f->tmp = NULL;
	} else
		atomic_abort(af);
}

/*
 * Fetches want from the peer and adds what comes to the set: a new file
 * in a directory, or the file rewritten.  The new records go to *f.  For
 * a store or a keyring they go to the temporary file f->tmp instead, for
 * store_add() or gpg_add(): the set is not touched while the hashquery
 * server may read it.  Fetching stops after phase_ms; what came by then
 * is kept.
 */
static int
fetch_missing(struct set *s, const struct peer *pe,
    const struct recon_elem *want, size_t nwant, long phase_ms,
    struct fetch *f, char **written_path)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_recon_fetch kf;
	struct atomic_file af;
	struct file_lock lk = FILE_LOCK_INIT;
	char *path = NULL, url[NET_HOST_MAX + 32];
	int rc = -1;

	memset(f, 0, sizeof(*f));
	*written_path = NULL;
	if (nwant == 0)
		return 0;
	if (s->store != NULL || s->kr != NULL) {
		if ((f->tmp = tmpfile()) == NULL)
			return error("cannot create a temporary file: %s",
			    strerror(errno));
		f->f = f->tmp;
	} else {
		/* A file rewritten is locked from the copy to the rename, so
		 * another writer (fetch --keyring) neither loses nor is lost. */
		if (!s->is_dir && file_lock(&lk, s->path, s->path, &err) != 0) {
			error("%s", err.msg);
			goto cleanup;
		}
		path = s->is_dir ? new_dump_name(s->path) : xstrdup(s->path);
		if (path == NULL || atomic_open(&af, path) != 0)
			goto cleanup;
		f->f = af.f;
	}
	if (f->tmp == NULL && !s->is_dir) {
		struct stat st;

		/* The rewritten file keeps the old one's permissions. */
		if (stat(s->path, &st) == 0)
			(void)fchmod(fileno(af.f), st.st_mode & 07777);
		if (copy_file(af.f, s->path, &f->base) != 0) {
			fetch_abort(f, &af);
			goto cleanup;
		}
	}
	http_url(url, sizeof(url), pe);
	if (keyset_recon_fetch(&kf, url, want, nwant, phase_ms, fetch_write,
	    fetch_warn, f, &err) != 0) {
		if (err.code != PGPS_EIO)
			error("%s", err.msg[0] != '\0' ? err.msg :
			    "fetch failed");
		fetch_abort(f, &af);
		goto cleanup;
	}
	f->bytes = kf.bytes;
	if (kf.late)
		warn("fetching not finished within %.1f s; keeping the %llu "
		    "certificates that came", phase_ms / 1000.0,
		    (unsigned long long)f->fetched);
	if (f->fetched == 0) {
		fetch_abort(f, &af);
		rc = 0;
		goto cleanup;
	}
	if (f->tmp != NULL) {
		if (fflush(f->tmp) != 0) {
			error("write error: %s", strerror(errno));
			fetch_abort(f, &af);
			goto cleanup;
		}
		rc = 0;
		goto cleanup;
	}
	if (atomic_commit(&af) != 0)
		goto cleanup;
	*written_path = path;
	path = NULL;
	rc = 0;
 cleanup:
	file_unlock(&lk);
	free(path);
	f->f = NULL;
	return rc;
}

/* Brings the cache up to date after new certificates were written. */
static void
set_update(struct set *s, struct fetch *f, const char *written)
{
	char **old = s->files;
	size_t nold = s->nfiles, j = 0;
	uint32_t *map, newsrc = 0;
	struct rec *all;

	s->files = NULL;
	s->nfiles = 0;
	free(s->binary);
	s->binary = NULL;
	if (set_list(s) != 0 || set_stamp(s, s->stamp) != 0)
		goto out;
	map = xcalloc(nold + 1, sizeof(uint32_t));
	for (size_t i = 0; i < nold; i++) {
		map[i] = UINT32_MAX;
		for (size_t k = 0; k < s->nfiles; k++)
			if (strcmp(old[i], s->files[k]) == 0)
				map[i] = (uint32_t)k;
	}
	for (size_t k = 0; k < s->nfiles; k++)
		if (strcmp(s->files[k], written) == 0)
			newsrc = (uint32_t)k;
	all = xreallocarray(NULL, s->nrecs + f->nrecs + 1, sizeof(*all));
	for (size_t i = 0; i < s->nrecs; i++) {
		if (map[s->recs[i].src] == UINT32_MAX)
			continue;
		all[j] = s->recs[i];
		all[j++].src = map[s->recs[i].src];
	}
	for (size_t i = 0; i < f->nrecs; i++) {
		struct recon_elem e;

		all[j] = f->recs[i];
		all[j++].src = newsrc;
		memcpy(e.b, f->recs[i].h, 16);
		if (recon_ptree_insert(s->tree, &e, NULL) == PGPS_ENOMEM)
			die("out of memory");
	}
	free(map);
	free(s->recs);
	s->recs = all;
	qsort(s->recs, j, sizeof(*s->recs), rec_cmp);
	s->nrecs = j;
	(void)set_save_cache(s);
 out:
	for (size_t i = 0; i < nold; i++)
		free(old[i]);
	free(old);
}

/* What store_add() or gpg_add() made of the fetched certificates. */
struct added {
	bool		 committed;	/* a store's */
	char		 commit[2 * STORE_OID_LEN + 1];
	uint64_t	 put_new;	/* the set lacked the key */
	uint64_t	 put_merged;	/* merged into the set's version */
	uint64_t	 put_unchanged;	/* nothing new in it */
	uint64_t	 refused;
	/* Fetched, but held under an SKS hash other than the peer's. */
	uint64_t	 other_hash;
};

/* The JSON names of those counts, for a store and for a keyring. */
static const char *const added_json[2][5] = {
	{ "stored_new", "stored_merged", "stored_unchanged", "store_refused",
	    "stored_other_hash" },
	{ "imported_new", "imported_updated", "imported_unchanged",
	    "import_refused", "imported_other_hash" }
};

/* Reads the i-th certificate fetch_missing() wrote to f->tmp into b. */
static int
fetched_read(struct fetch *f, size_t i, struct buf *b)
{
	const struct rec *fr = &f->recs[i];

	buf_reset(b);
	if (buf_grow(b, fr->len) != 0)
		die("out of memory");
	if (fseeko(f->tmp, (off_t)fr->off, SEEK_SET) != 0 ||
	    fread(b->p, 1, fr->len, f->tmp) != fr->len)
		return error("cannot read back a fetched certificate: %s",
		    strerror(errno));
	b->len = fr->len;
	b->p[b->len] = '\0';
	return 0;
}

/*
 * Puts what fetch_missing() wrote to f->tmp into the store as one commit,
 * then brings the set and its cached tree up to the new commit.
 */
static int
store_add(struct set *s, struct fetch *f, const char *peer,
    struct added *sa)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct store_commit_info ci;
	struct store_put_info pi;
	struct buf b = BUF_INIT, note = BUF_INIT;
	uint64_t skipped;
	char hex[33];
	int r, rc = -1;

	memset(sa, 0, sizeof(*sa));
	for (size_t i = 0; i < f->nrecs; i++) {
		const struct rec *fr = &f->recs[i];

		if (fetched_read(f, i, &b) != 0)
			goto cleanup;
		pgps_err_clear(&err);
		r = store_put(s->store, b.p, b.len, NULL, &pi, &err);
		if (r != 0 && store_is_fatal(r)) {
			error("%s", err.msg);
			goto cleanup;
		}
		if (r != 0) {
			hex_encode_upper(hex, fr->h, 16);
			warn("%s: not stored: %s", hex, err.msg);
			sa->refused++;
		} else if (pi.status == STORE_PUT_NEW)
			sa->put_new++;
		else if (pi.status == STORE_PUT_UPDATED)
			sa->put_merged++;
		else
			sa->put_unchanged++;
	}
	if (buf_addf(&note, "pgpsync reconcile with %s", peer) != 0)
		die("out of memory");
	if (store_commit(s->store, (const char *)note.p, &ci, &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	sa->committed = ci.committed;
	if (ci.committed)
		snprintf(sa->commit, sizeof(sa->commit), "%s", ci.commit);
	/* The entries read before the commit are gone with it. */
	if (store_recs(s, &skipped) != 0)
		goto cleanup;
	if (ci.committed) {
		tree_build(s);
		store_save_cache(s);
	}
	for (size_t i = 0; i < f->nrecs; i++)
		if (rec_find(s, f->recs[i].h) == NULL)
			sa->other_hash++;
	rc = 0;
 cleanup:
	buf_release(&b);
	buf_release(&note);
	return rc;
}

/* --- into a GnuPG keyring --------------------------------------------- */

/*
 * Certificates and octets per gpg run: gpg starts rarely, and memory and
 * its command line stay bounded (as for dump import).
 */
#define GPG_BATCH	1000
#define GPG_BATCH_BYTES	((size_t)32 << 20)

/* What the verdicts of one batch go to (keyset.h). */
struct gpg_put {
	const struct fetch	*f;
	struct added		*ga;
	struct elemvec		*kept;	/* the peer's hashes gpg took */
	const char		**pats;	/* the keys gpg took, for gpg_each() */
	char			(*fprs)[KEYSET_FPR_HEX];
	size_t			 np;
};

static void
gpg_hash_one(const struct pgp_cert *c, const uint8_t *h, void *arg)
{
	struct recon_elem e;

	(void)c;
	memcpy(e.b, h, 16);
	elemvec_add(arg, &e, 1);
}

/* Counts what became of one fetched certificate (its offset: its rec). */
static void
gpg_verdict(const struct keyset_verdict *v, void *arg)
{
	struct gpg_put *gp = arg;
	struct recon_elem e;
	char hex[33];

	switch (v->result) {
	case KEYSET_REFUSED:
		hex_encode_upper(hex, gp->f->recs[v->offset].h, 16);
		warn("%s%s%s: not imported: %s", hex, v->fpr[0] != '\0' ?
		    " " : "", v->fpr, v->why);
		gp->ga->refused++;
		return;
	case KEYSET_NEW:
		gp->ga->put_new++;
		break;
	case KEYSET_CHANGED:
		gp->ga->put_merged++;
		break;
	case KEYSET_UNCHANGED:
		gp->ga->put_unchanged++;
		break;
	}
	memcpy(e.b, gp->f->recs[v->offset].h, 16);
	elemvec_add(gp->kept, &e, 1);
	if (gp->np == 0 || strcmp(gp->fprs[gp->np - 1], v->fpr) != 0) {
		memcpy(gp->fprs[gp->np], v->fpr, sizeof(gp->fprs[0]));
		gp->pats[gp->np] = gp->fprs[gp->np];
		gp->np++;
	}
}

/*
 * Imports the fetched certificates into the keyring through the key-set
 * interface (merged with the keyring's copies, the limits applied, one
 * gpg run per batch), then hashes what gpg holds of those keys, to count
 * the ones it keeps under another SKS hash than the peer's.
 */
static int
gpg_add(struct set *s, struct fetch *f, struct added *ga)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct pgp_limits lim;
	struct elemvec have = { NULL, 0, 0 }, kept = { NULL, 0, 0 };
	struct keyset *ks = NULL;
	struct gpg_put gp;
	struct buf b = BUF_INIT, spec = BUF_INIT;
	uint64_t skipped = 0, excluded = 0;
	size_t bytes;
	int rc = -1;

	memset(ga, 0, sizeof(*ga));
	memset(&gp, 0, sizeof(gp));
	gp.f = f;
	gp.ga = ga;
	gp.kept = &kept;
	gp.pats = xcalloc(GPG_BATCH + 1, sizeof(*gp.pats));
	gp.fprs = xcalloc(GPG_BATCH + 1, sizeof(*gp.fprs));
	pgp_limits_default(&lim);
	if (buf_addf(&spec, "gpg:%s", gpg_keyring_home(s->kr)) != 0)
		die("out of memory");
	if (keyset_open(&ks, (const char *)spec.p, KEYSET_WRITE, &lim,
	    &err) != 0) {
		error("%s", err.msg);
		goto cleanup;
	}
	keyset_on_verdict(ks, gpg_verdict, &gp);
	keyset_set_origin(ks, "ks");
	for (size_t i = 0; i < f->nrecs; i++) {
		if (fetched_read(f, i, &b) != 0)
			goto cleanup;
		if (keyset_put(ks, b.p, b.len, s->path, i, &err) != 0) {
			error("%s", err.msg);
			goto cleanup;
		}
		if (keyset_pending(ks, &bytes) < GPG_BATCH &&
		    bytes < GPG_BATCH_BYTES && i + 1 < f->nrecs)
			continue;
		gp.np = 0;
		if (keyset_flush(ks, &err) != 0) {
			error("%s", err.msg);
			goto cleanup;
		}
		/* What gpg holds of those keys now. */
		if (gp.np > 0 && gpg_each(s->kr, s->path, gp.pats, gp.np,
		    gpg_hash_one, &have, &skipped, &excluded) != 0)
			goto cleanup;
	}
	elemvec_unique(&have);
	for (size_t k = 0; k < kept.n; k++)
		if (have.n == 0 || bsearch(&kept.v[k], have.v, have.n,
		    sizeof(*have.v), recon_elem_cmp) == NULL)
			ga->other_hash++;
	rc = 0;
 cleanup:
	keyset_close(ks);
	free(gp.pats);
	free(gp.fprs);
	free(have.v);
	free(kept.v);
	buf_release(&b);
	buf_release(&spec);
	return rc;
}

/* --- giving the peer what it lacks ------------------------------------ */

/* The hashquery server's view of the set (read-only while it runs). */
struct serve_ctx {
	const struct set	*set;
	struct pgp_cert		 cert;
};

static int
serve_lookup(const uint8_t h[16], struct buf *out, void *arg)
{
	struct serve_ctx *sc = arg;
	const struct rec *r = rec_find(sc->set, h);

	if (r == NULL)
		return 0;
	return cert_read(sc->set, r, out, &sc->cert);
}

/* --- the command -------------------------------------------------------- */

/* Everything one run of the command holds. */
struct run {
	struct ctx		*ctx;
	const char		*peer_arg;	/* the operand, for reports */
	const char		*setname;
	struct peer		 pe;
	struct set		 set;
	struct net_allow	*allow;		/* --listen: who may connect */
	unsigned long		 http_port, serve_port, timeout, busy_wait;
	bool			 dry_run, serve, listen, push;
	uint64_t		 skipped;
	size_t			 nlocal;
	/* The reconciliation. */
	struct keyset_recon	 kr;
	struct serve_ctx	 sc;
	struct net_hq_server	*srv;
	struct net_allow	*only_peer;	/* whom srv answers */
	/* The transfers. */
	struct fetch		 f;
	struct keyset_recon_give pu;		/* uploaded */
	struct keyset_recon_give served;	/* served */
	struct added		 sa;
	char			*written;
	double			 t0, t_fetch, t_push;
};

/* Parses recon://host[:port] (host may be [IPv6]). */
static int
parse_peer(struct peer *pe, const char *url)
{
	const char *h, *end, *colon;
	unsigned long port = NET_RECON_PORT;
	size_t hl;

	memset(pe, 0, sizeof(*pe));
	if (strncmp(url, "recon://", 8) != 0)
		return -1;
	h = url + 8;
	if (*h == '[') {
		if ((end = strchr(h, ']')) == NULL)
			return -1;
		hl = (size_t)(end - h - 1);
		h++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strchr(h, ':');
		hl = colon != NULL ? (size_t)(colon - h) : strlen(h);
	}
	if (hl == 0 || hl >= sizeof(pe->host) || memchr(h, '/', hl) != NULL)
		return -1;
	memcpy(pe->host, h, hl);
	if (colon != NULL && (parse_ulong(colon + 1, &port) != 0 ||
	    port == 0 || port > 65535))
		return -1;
	pe->port = (unsigned int)port;
	return 0;
}

static void
json_hashes(json_t *o, const char *key, const struct recon_elem *v, size_t n)
{
	json_t *a = json_array();
	char hex[33];

	for (size_t i = 0; i < n; i++) {
		hex_encode_upper(hex, v[i].b, 16);
		json_array_append_new(a, json_string(hex));
	}
	json_object_set_new(o, key, a);
}

static void
print_hashes(const char *what, const struct recon_elem *v, size_t n)
{
	char hex[33];

	for (size_t i = 0; i < n; i++) {
		hex_encode_upper(hex, v[i].b, 16);
		printf("%s %s\n", what, hex);
	}
}

/* The text report of store_add() (store) or gpg_add(). */
static void
print_added(const struct added *sa, bool store)
{
	printf("%s %llu new, %llu %s, %llu already held, %llu refused",
	    store ? "stored" : "imported into gpg:",
	    (unsigned long long)sa->put_new,
	    (unsigned long long)sa->put_merged,
	    store ? "merged into the stored version" : "updated",
	    (unsigned long long)sa->put_unchanged,
	    (unsigned long long)sa->refused);
	if (!store)
		printf("\n");
	else if (sa->committed)
		printf("; commit %.12s\n", sa->commit);
	else
		printf("; no commit\n");
	if (sa->other_hash > 0)
		printf("%llu %s under an SKS hash the peer does not have "
		    "(merged with %s)\n", (unsigned long long)sa->other_hash,
		    store ? "stored" : "held by gpg",
		    store ? "our version" : "the keyring's copy, or cut by "
		    "gpg");
}

/* A numeric option's value from min to max; a usage error otherwise. */
static unsigned long
num_arg(struct ctx *ctx, const char *name, const char *arg,
    unsigned long min, unsigned long max)
{
	unsigned long v;

	if (parse_ulong(arg, &v) != 0 || v < min || v > max)
		exit(usage_error(ctx, "%s: '%s' is not a number from %lu to "
		    "%lu", name, arg, min, max));
	return v;
}

static struct net_allow *
allow_new(void)
{
	struct net_allow *a = net_allow_new();

	if (a == NULL)
		die("out of memory");
	return a;
}

/*
 * Whom --listen accepts when no --allow or --allow-file was given: loopback
 * peers only, and only when listening on a loopback address; -1 (after a
 * usage error) when listening on another address.
 */
static int
allow_default(struct ctx *ctx, struct net_allow **allow, const char *host)
{
	struct pgps_err err = PGPS_ERR_INIT;

	*allow = allow_new();
	if (net_allow_add(*allow, "127.0.0.0/8", &err) != 0 ||
	    net_allow_add(*allow, "::1", &err) != 0)
		die("%s", err.msg);
	if (strcmp(host, "localhost") == 0 || net_allow_has(*allow, host))
		return 0;
	return usage_error(ctx, "--listen on '%s' needs --allow or "
	    "--allow-file: without them only loopback peers are accepted",
	    host);
}

/* The options and operands into *r; an exit status when they are wrong. */
static int
parse_args(struct run *r, int argc, char **argv)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct ctx *ctx = r->ctx;
	struct opt_parser op;
	const char *arg;
	int c, i;

	r->timeout = 600;
	r->push = true;
	opt_init(&op, argc, argv, ctx);
	while ((c = opt_next(&op, &arg)) != -1) {
		switch (c) {
		case OPT_JSON:
			ctx->json = true;
			break;
		case OPT_ALLOW:
		case OPT_ALLOW_FILE:
			if (r->allow == NULL)
				r->allow = allow_new();
			if ((c == OPT_ALLOW ? net_allow_add(r->allow, arg,
			    &err) : net_allow_load(r->allow, arg, &err)) != 0) {
				opt_release(&op);
				error("%s %s", c == OPT_ALLOW ? "--allow" :
				    "--allow-file", err.msg);
				return EXIT_ERROR;
			}
			break;
		case OPT_DRY_RUN:
			r->dry_run = true;
			break;
		case OPT_HTTP_PORT:
			r->http_port = num_arg(ctx, "--http-port", arg, 1,
			    65535);
			break;
		case OPT_SERVE:
			r->serve = true;
			break;
		case OPT_SERVE_PORT:
			r->serve_port = num_arg(ctx, "--serve-port", arg, 0,
			    65535);
			break;
		case OPT_LISTEN:
			r->listen = r->serve = true;
			break;
		case OPT_NO_PUSH:
			r->push = false;
			break;
		case OPT_TIMEOUT:
			r->timeout = num_arg(ctx, "--timeout", arg, 1, 86400);
			break;
		case OPT_WAIT:
			r->busy_wait = num_arg(ctx, "--wait", arg, 0, 86400);
			break;
		}
	}
	i = opt_operands(&op);
	opt_release(&op);
	if (argc - i < 1)
		return usage_error(ctx, "no peer given");
	if (parse_peer(&r->pe, argv[i]) != 0)
		return usage_error(ctx, "'%s' is not recon://host[:port]",
		    argv[i]);
	if (argc - i < 2)
		return usage_error(ctx, "no key set given");
	if (argc - i > 2)
		return usage_error(ctx, "more than one key set given");
	r->peer_arg = argv[i];
	r->setname = argv[i + 1];
	if (r->serve)
		r->push = false;
	if (r->allow != NULL && !r->listen)
		return usage_error(ctx, "--allow and --allow-file go with "
		    "--listen");
	if (r->listen && r->allow == NULL &&
	    allow_default(ctx, &r->allow, r->pe.host) != 0)
		return EXIT_ERROR;
	if (strncmp(r->setname, "store:", 6) == 0 &&
	    strchr(r->setname + 6, '@') != NULL && !r->dry_run)
		return usage_error(ctx, "'%s': a revision cannot be updated; "
		    "use --dry-run", r->setname);
	return 0;
}

/* Opens the local set: a keyring, a store, or a dump file or directory. */
static int
open_set(struct run *r)
{
	const char *name = r->setname;
	struct set *s = &r->set;

	if (strncmp(name, "gpg:", 4) == 0) {
		if (set_open_gpg(s, name + 4, &r->skipped) != 0)
			return -1;
	} else if (strncmp(name, "store:", 6) == 0) {
		if (set_open_store(s, name + 6, r->dry_run, &r->skipped) != 0)
			return -1;
	} else {
		if (strncmp(name, "dump:", 5) == 0)
			name += 5;
		if (set_open(s, name, r->ctx, &r->skipped) != 0)
			return -1;
	}
	r->nlocal = s->nrecs;
	if (r->skipped > 0)
		warn("%llu damaged certificate%s or region%s of '%s' left out",
		    (unsigned long long)r->skipped, r->skipped == 1 ? "" : "s",
		    r->skipped == 1 ? "" : "s", s->path);
	if (r->ctx->verbose > 0)
		info(r->ctx, "%zu certificates in '%s' (%s)", s->nrecs,
		    s->path, s->cached ? "cached tree" : "tree built");
	return 0;
}

static void
refused(const char *ip, void *arg)
{
	(void)arg;
	warn("refused a connection from %s: not an allowed peer", ip);
}

static void
note(const char *msg, bool detail, void *arg)
{
	struct run *r = arg;

	if (!detail || r->ctx->verbose > 0)
		info(r->ctx, "%s", msg);
}

/*
 * Once connected: with --serve, the hashquery server on the address the
 * peer sees, for the peer's address alone.  The HTTP port to announce.
 */
static int
connected(int fd, void *arg, struct pgps_err *err)
{
	struct run *r = arg;
	char local_ip[64] = "", peer_ip[64];
	int rc;

	if (!r->serve || r->dry_run)
		return (int)r->serve_port;
	set_load_armored(&r->set);
	(void)net_sock_local_ip(fd, local_ip, sizeof(local_ip));
	r->only_peer = allow_new();
	if (net_sock_peer_ip(fd, peer_ip, sizeof(peer_ip)) != 0)
		return pgps_err_set(err, PGPS_ENET, "cannot tell the peer's "
		    "address");
	if ((rc = net_allow_add(r->only_peer, peer_ip, err)) != 0 ||
	    (rc = net_hq_server_start(&r->srv, local_ip,
	    (unsigned int)r->serve_port, r->only_peer, serve_lookup, &r->sc,
	    err)) != 0)
		return rc;
	return (int)net_hq_server_port(r->srv);
}

/* The reconciliation; then where to fetch from. */
static int
reconcile(struct run *r)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_recon_opts ro;

	memset(&ro, 0, sizeof(ro));
	ro.host = r->pe.host;
	ro.port = r->pe.port;
	ro.listen = r->listen;
	ro.allow = r->allow;
	ro.timeout_ms = (long)r->timeout * 1000;
	ro.busy_wait_s = (double)r->busy_wait;
	ro.connected = connected;
	ro.note = note;
	ro.refused = refused;
	ro.arg = r;
	if (keyset_recon_run(&r->kr, r->set.tree, &ro, &err) != 0)
		return error("%s", err.msg);
	set_cached(&r->set);
	if (r->http_port != 0)
		r->pe.http_port = (unsigned int)r->http_port;
	else if (r->kr.peer_http_port != 0)
		r->pe.http_port = r->kr.peer_http_port;
	else if (!r->dry_run)
		return error("the peer announced no HTTP port; give "
		    "--http-port");
	if (r->listen)
		snprintf(r->pe.host, sizeof(r->pe.host), "%s", r->kr.peer_ip);
	return 0;
}

/* Fetches what we lack, gives the peer its part, writes the set. */
static int
transfer(struct run *r)
{
	struct pgps_err err = PGPS_ERR_INIT;
	long phase_ms = (long)r->timeout * 1000;
	char url[NET_HOST_MAX + 32];

	r->t_fetch = clock_s();
	if (fetch_missing(&r->set, &r->pe, r->kr.want, r->kr.nwant,
	    phase_ms, &r->f, &r->written) != 0)
		return -1;
	r->t_push = clock_s();
	if (r->push && r->kr.ngive > 0) {
		if (r->set.nmem == 0)
			set_load_armored(&r->set);
		http_url(url, sizeof(url), &r->pe);
		if (keyset_recon_push(&r->pu, url, r->kr.give, r->kr.ngive,
		    phase_ms, serve_lookup, fetch_warn, &r->sc, &err) != 0)
			return error("%s", err.msg);
		if (r->pu.late)
			warn("uploading not finished within %.1f s",
			    phase_ms / 1000.0);
	}
	r->t_fetch = r->t_push - r->t_fetch;
	r->t_push = clock_s() - r->t_push;
	if (r->srv != NULL) {
		keyset_recon_serve(&r->served, r->srv, &r->kr, r->listen,
		    phase_ms);
		net_hq_server_stop(r->srv);
		r->srv = NULL;
	}
	if (r->written != NULL)
		set_update(&r->set, &r->f, r->written);
	if (r->f.tmp != NULL && r->set.store != NULL &&
	    store_add(&r->set, &r->f, r->peer_arg, &r->sa) != 0)
		return -1;
	if (r->f.tmp != NULL && r->set.kr != NULL &&
	    gpg_add(&r->set, &r->f, &r->sa) != 0)
		return -1;
	return 0;
}

static void
jint(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void
report_json(const struct run *r)
{
	const struct keyset_recon *kr = &r->kr;
	const struct recon_session_stats *st = &kr->stats;
	json_t *o = json_object();

	json_object_set_new(o, "peer", json_string(r->peer_arg));
	json_object_set_new(o, "role", json_string(r->listen ? "driver" :
	    "responder"));
	jint(o, "local_certificates", r->nlocal);
	jint(o, "excluded", r->set.excluded);
	json_object_set_new(o, "cache", json_string(r->set.cached ? "used" :
	    "built"));
	jint(o, "we_lack", kr->nwant);
	jint(o, "peer_lacks", kr->npeer_lacks);
	json_object_set_new(o, "peer_lacks_partial", json_boolean(r->listen));
	jint(o, "peer_may_lack", kr->ngive - kr->npeer_lacks);
	jint(o, "bytes_sent", st->bytes_out);
	jint(o, "bytes_received", st->bytes_in);
	jint(o, "rounds", kr->rounds);
	jint(o, "requests_poly", st->requests_poly);
	jint(o, "requests_full", st->requests_full);
	if (r->listen) {
		jint(o, "probe_level", st->probe_level);
		jint(o, "small_nodes_split", st->split_small);
	}
	json_hashes(o, "we_lack_hashes", kr->want, kr->nwant);
	json_hashes(o, "peer_lacks_hashes", kr->give, kr->ngive);
	if (!r->dry_run) {
		jint(o, "fetched", r->f.fetched);
		jint(o, "fetch_bytes", r->f.bytes);
		jint(o, "pushed", r->pu.pushed);
		jint(o, "push_failed", r->pu.failed);
		jint(o, "served", r->served.pushed);
		json_object_set_new(o, "output", r->written != NULL ?
		    json_string(r->written) : json_null());
	}
	if (!r->dry_run && r->set.store != NULL)
		json_object_set_new(o, "commit", r->sa.committed ?
		    json_string(r->sa.commit) : json_null());
	if (!r->dry_run && (r->set.store != NULL || r->set.kr != NULL)) {
		const char *const *nm = added_json[r->set.kr != NULL];
		uint64_t v[5] = { r->sa.put_new, r->sa.put_merged,
		    r->sa.put_unchanged, r->sa.refused, r->sa.other_hash };

		for (size_t k = 0; k < 5; k++)
			jint(o, nm[k], v[k]);
	}
	json_object_set_new(o, "seconds", json_real(clock_s() - r->t0));
	json_object_set_new(o, "seconds_reconciling",
	    json_real(kr->t_end - kr->t_start));
	if (!r->dry_run) {
		json_object_set_new(o, "seconds_fetching",
		    json_real(r->t_fetch));
		json_object_set_new(o, "seconds_uploading",
		    json_real(r->t_push));
	}
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(o);
}

static void
report_text(const struct run *r)
{
	const struct keyset_recon *kr = &r->kr;
	size_t nmaybe = kr->ngive - kr->npeer_lacks;

	if (r->dry_run) {
		print_hashes("lack", kr->want, kr->nwant);
		print_hashes("give", kr->give, kr->ngive);
	}
	if (r->ctx->quiet)
		return;
	/* As the driver we hear only part of what the peer lacks. */
	printf(r->listen ? "we lack %zu, the peer at least %zu" :
	    "we lack %zu, the peer lacks %zu", kr->nwant, kr->npeer_lacks);
	if (nmaybe > 0)
		printf(" (and maybe %zu more)", nmaybe);
	printf("; recon: %llu octets sent, %llu received, %llu rounds\n",
	    (unsigned long long)kr->stats.bytes_out,
	    (unsigned long long)kr->stats.bytes_in,
	    (unsigned long long)kr->rounds);
	if (r->dry_run)
		return;
	printf("fetched %llu%s%s, uploaded %llu, served %llu\n",
	    (unsigned long long)r->f.fetched, r->written != NULL ?
	    " into " : "", r->written != NULL ? r->written : "",
	    (unsigned long long)r->pu.pushed,
	    (unsigned long long)r->served.pushed);
	if ((r->set.store != NULL || r->set.kr != NULL) && r->f.fetched > 0)
		print_added(&r->sa, r->set.store != NULL);
}

/* The exit status of a run that went through. */
static int
run_status(const struct run *r)
{
	if (r->dry_run)
		return r->kr.nwant > 0 || r->kr.ngive > 0 ? EXIT_DIFFER :
		    EXIT_OK;
	if (r->f.fetched < r->kr.nwant)
		warn("%llu of %zu missing certificates not obtained",
		    (unsigned long long)(r->kr.nwant - r->f.fetched),
		    r->kr.nwant);
	if (r->f.fetched < r->kr.nwant || r->pu.failed > 0 ||
	    r->skipped > 0 || r->sa.refused > 0)
		return EXIT_PARTIAL;
	return EXIT_OK;
}

int
cmd_reconcile(int argc, char **argv, struct ctx *ctx)
{
	struct run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.t0 = clock_s();
	r.sc.set = &r.set;
	buf_init(&r.sc.cert.partial, 0);
	if ((rc = parse_args(&r, argc, argv)) != 0)
		goto out;
	rc = EXIT_ERROR;
	if (open_set(&r) != 0 || reconcile(&r) != 0 ||
	    (!r.dry_run && transfer(&r) != 0))
		goto out;
	if (ctx->json)
		report_json(&r);
	else
		report_text(&r);
	rc = run_status(&r);
 out:
	net_hq_server_stop(r.srv);
	net_allow_free(r.only_peer);
	net_allow_free(r.allow);
	keyset_recon_release(&r.kr);
	free(r.f.recs);
	if (r.f.tmp != NULL)
		fclose(r.f.tmp);
	pgp_cert_release(&r.sc.cert);
	free(r.written);
	set_release(&r.set);
	return rc;
}
