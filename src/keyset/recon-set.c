/*
 * recon-set.c: the local side of a reconciliation (recon-set.h): the
 * elements and prefix tree of a dump, a store or a GnuPG keyring, their
 * caches, reading certificates back for the peer, and writing what the
 * peer gave.
 */
#include "util/common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keyset/backend.h"
#include "keyset/index.h"
#include "keyset/recon-set.h"
#include "keyset/store.h"
#include "util/atomic.h"
#include "util/hex.h"
#include "util/mem.h"

/*
 * Certificates and octets per gpg run: gpg starts rarely, and memory and
 * its command line stay bounded (as for dump import).
 */
#define GPG_BATCH	1000
#define GPG_BATCH_BYTES	((size_t)32 << 20)

/* A certificate of an armored file or a keyring, kept in memory. */
struct memcert {
	uint8_t		 h[16];
	uint8_t		*p;
	size_t		 len;
};

/* A certificate fetched: where it is in the output. */
struct fetched {
	uint8_t		 h[16];
	uint64_t	 off;
	size_t		 len;
};

struct keyset_rset {
	struct keyset_spec	 spec;
	char			*specstr;
	char			*path;
	bool			 dry_run;
	struct keyset_rset_hooks h;
	/* The elements: ascending by SKS hash, once each. */
	struct index_entry	*recs;
	size_t			 nrecs;
	struct recon_ptree	*tree;
	uint64_t		 excluded;
	uint64_t		 skipped;
	bool			 cached;
	bool			 cache_stale;	/* built, to be cached */
	/* A dump: recs[].src indexes files. */
	char			**files;
	size_t			 nfiles;
	bool			*binary;	/* offsets are file offsets */
	uint8_t			 stamp[32];
	char			*tree_path;
	char			*index_path;
	/* Armored files, or a keyring: certificates by hash. */
	struct memcert		*mem;
	size_t			 nmem;
	bool			 mem_loaded;
	/* A store or keyring: the key set held for the session. */
	struct keyset		*ks;
	struct store		*store;		/* a store's, from ks */
	const struct store_entry *ents;		/* recs[].src indexes it */
	size_t			 nents;
	char			*stamp_path;	/* names the tree's commit */
	/* Reading for the peer. */
	struct pgp_cert		 cert;
	/* Fetching. */
	FILE			*out;
	FILE			*tmp;		/* a store's or keyring's */
	uint64_t		 base;		/* offset of the first new */
	uint64_t		 written;
	struct fetched		*got;
	size_t			 ngot;
	int			 werrno;	/* a write that failed */
	char			*written_path;
};

static void
warnf(const struct keyset_rset *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (s->h.warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->h.warn(msg, s->h.arg);
}

static int
nomem(struct pgps_err *err)
{
	return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(((const struct index_entry *)a)->hash,
	    ((const struct index_entry *)b)->hash, 16);
}

static int
hash_key_cmp(const void *key, const void *b)
{
	return memcmp(key, ((const struct index_entry *)b)->hash, 16);
}

static int
mem_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static const struct index_entry *
rec_find(const struct keyset_rset *s, const uint8_t h[16])
{
	return s->nrecs == 0 ? NULL : bsearch(h, s->recs, s->nrecs,
	    sizeof(*s->recs), hash_key_cmp);
}

/* Sorts recs by hash and keeps each hash once. */
static void
recs_unique(struct keyset_rset *s)
{
	size_t j = 0;

	if (s->nrecs == 0)
		return;
	qsort(s->recs, s->nrecs, sizeof(*s->recs), hash_cmp);
	for (size_t i = 1; i < s->nrecs; i++)
		if (hash_cmp(&s->recs[j], &s->recs[i]) != 0 && ++j != i)
			s->recs[j] = s->recs[i];
	s->nrecs = j + 1;
}

/* Appends e to recs (*cap allocated); 0 or PGPS_ENOMEM. */
static int
recs_add(struct keyset_rset *s, size_t *cap, const struct index_entry *e)
{
	if (s->nrecs == *cap) {
		size_t ncap = *cap == 0 ? 1024 : *cap * 2;
		struct index_entry *v = mem_reallocarray(s->recs, ncap,
		    sizeof(*v));

		if (v == NULL)
			return PGPS_ENOMEM;
		s->recs = v;
		*cap = ncap;
	}
	s->recs[s->nrecs++] = *e;
	return 0;
}

/* Builds the prefix tree over the elements. */
static int
tree_build(struct keyset_rset *s, struct pgps_err *err)
{
	recon_ptree_free(s->tree);
	s->tree = NULL;
	if (recon_ptree_new(&s->tree) != 0)
		return nomem(err);
	for (size_t i = 0; i < s->nrecs; i++) {
		struct recon_elem e;

		memcpy(e.b, s->recs[i].hash, 16);
		/* Not PGPS_ENOMEM: one of the three sample points, which
		 * is never a real MD5. */
		if (recon_ptree_insert(s->tree, &e, NULL) == PGPS_ENOMEM)
			return nomem(err);
	}
	return 0;
}

/*
 * Takes the tree cached at s->tree_path when it can belong to the
 * elements (it lacks those equal to a sample point); the caller checked
 * that the elements are the cached ones.
 */
static bool
tree_load_cached(struct keyset_rset *s)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (recon_ptree_load(&s->tree, s->tree_path, 0, &err) == 0 &&
	    recon_ptree_count(s->tree) <= s->nrecs)
		return s->cached = true;
	recon_ptree_free(s->tree);
	s->tree = NULL;
	return false;
}

/* --- a dump file or directory ----------------------------------------- */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
files_free(struct keyset_rset *s)
{
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->binary);
	s->files = NULL;
	s->binary = NULL;
	s->nfiles = 0;
}

static int
files_add(struct keyset_rset *s, size_t *cap, const char *path)
{
	char *p;

	if (s->nfiles == *cap) {
		size_t ncap = *cap == 0 ? 16 : *cap * 2;
		char **v = mem_reallocarray(s->files, ncap, sizeof(*v));

		if (v == NULL)
			return PGPS_ENOMEM;
		s->files = v;
		*cap = ncap;
	}
	if ((p = strdup(path)) == NULL)
		return PGPS_ENOMEM;
	s->files[s->nfiles++] = p;
	return 0;
}

/* Lists the set's files, in name order as the key set reader does. */
static int
files_list(struct keyset_rset *s, struct pgps_err *err)
{
	size_t cap = 0;
	int r = 0;

	files_free(s);
	if (s->spec.kind == KEYSET_DIR) {
		struct dirent *de;
		struct buf p = BUF_INIT;
		DIR *d;

		if ((d = opendir(s->path)) == NULL)
			return pgps_err_set(err, PGPS_EIO, "cannot read "
			    "'%s': %s", s->path, strerror(errno));
		while (r == 0 && (de = readdir(d)) != NULL) {
			struct stat st;

			if (!keyset_is_dump_name(de->d_name))
				continue;
			buf_reset(&p);
			if (buf_addf(&p, "%s/%s", s->path, de->d_name) != 0)
				r = PGPS_ENOMEM;
			else if (stat((char *)p.p, &st) == 0 &&
			    S_ISREG(st.st_mode))
				r = files_add(s, &cap, (char *)p.p);
		}
		closedir(d);
		buf_release(&p);
		if (s->nfiles > 0)
			qsort(s->files, s->nfiles, sizeof(char *), str_cmp);
	} else
		r = files_add(s, &cap, s->path);
	if (r != 0 || (s->binary = calloc(s->nfiles + 1,
	    sizeof(bool))) == NULL)
		return nomem(err);
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

/* Loads the cached elements when they belong to the files as they are. */
static bool
dump_load_cache(struct keyset_rset *s)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct index_entry *v = NULL;
	uint64_t excluded;
	size_t n;

	if (index_cache_load(s->index_path, s->stamp, s->nfiles, &v, &n,
	    &excluded, &err) != 0)
		return false;
	for (size_t i = 1; i < n; i++)
		if (hash_cmp(&v[i - 1], &v[i]) >= 0) {
			free(v);
			return false;
		}
	free(s->recs);
	s->recs = v;
	s->nrecs = n;
	s->excluded = excluded;
	if (tree_load_cached(s))
		return true;
	s->nrecs = 0;
	return false;
}

/* Saves tree and index; the index last, since it carries the stamp. */
static int
dump_save_cache(struct keyset_rset *s, struct pgps_err *err)
{
	int r;

	(void)unlink(s->index_path);
	if ((r = recon_ptree_save(s->tree, s->tree_path, err)) != 0)
		return pgps_err_prefix(err, r, "cannot cache the prefix tree");
	return index_cache_save(s->index_path, s->stamp, s->nfiles, s->recs,
	    s->nrecs, s->excluded, err);
}

struct collect {
	struct keyset_rset	*s;
	size_t			 cap;
	bool			 keep;	/* into mem, with the bytes */
	size_t			 memcap;
	uint64_t		 total;	/* octets to read */
};

static void
collect_progress(uint64_t done, uint64_t certs, void *arg)
{
	struct collect *c = arg;

	c->s->h.progress(done, certs, c->total, c->s->h.arg);
}

static void
collect_warn(const char *msg, void *arg)
{
	struct collect *c = arg;

	c->s->h.warn(msg, c->s->h.arg);
}

static int
collect_entry(const struct index_entry *e, const uint8_t *bytes, void *arg)
{
	struct collect *c = arg;
	struct keyset_rset *s = c->s;
	struct memcert *m;

	if (!e->sks_ok) {
		s->excluded++;
		return 0;
	}
	if (c->keep) {
		if (bytes == NULL)
			return 0;
		if (s->nmem == c->memcap) {
			size_t ncap = c->memcap == 0 ? 256 : c->memcap * 2;

			if ((m = mem_reallocarray(s->mem, ncap,
			    sizeof(*m))) == NULL)
				return PGPS_ENOMEM;
			s->mem = m;
			c->memcap = ncap;
		}
		m = &s->mem[s->nmem];
		if ((m->p = malloc(e->len + 1)) == NULL)
			return PGPS_ENOMEM;
		memcpy(m->p, bytes, (size_t)e->len);
		m->len = (size_t)e->len;
		memcpy(m->h, e->hash, 16);
		s->nmem++;
	}
	return recs_add(s, &c->cap, e);
}

static bool
keep_all(const char *source, void *arg)
{
	(void)source;
	(void)arg;
	return true;
}

/*
 * Hashes the certificates of specs[0..n) into recs (and, with keep, their
 * bytes into mem), on every CPU, warning about damage when warn.  A
 * source numbered k by the index becomes srcmap(k) in recs when srcmap
 * is given.
 */
static int
hash_specs(struct keyset_rset *s, const char *const *specs, size_t n,
    bool keep, bool warn, struct pgps_err *err)
{
	struct index_spec spec = INDEX_SPEC_INIT;
	struct index_sources src = INDEX_SOURCES_INIT;
	struct keyset_par_result res;
	struct keyset_iter *it = NULL;
	struct collect c;
	size_t first = s->nrecs;
	int r;

	memset(&c, 0, sizeof(c));
	memset(&res, 0, sizeof(res));
	c.s = s;
	c.keep = keep;
	c.cap = s->nrecs;
	if (n == 0)
		return 0;
	if ((r = keyset_iter_open(&it, specs, n, err)) != 0)
		return r;
	spec.jobs = s->h.jobs;
	spec.sks = true;
	spec.keep_bytes = keep ? keep_all : NULL;
	spec.entry = collect_entry;
	spec.warn = warn && s->h.warn != NULL ? collect_warn : NULL;
	spec.progress = warn && s->h.progress != NULL ? collect_progress :
	    NULL;
	spec.arg = &c;
	c.total = keyset_iter_total(it);
	r = index_hash(it, &spec, &src, &res, err);
	keyset_iter_free(it);
	if (r != 0 && err->code == 0)
		r = nomem(err);	/* collect_entry()'s only failure */
	if (r == 0 && !keep) {
		/* The index numbers sources as it meets them. */
		for (size_t i = first; i < s->nrecs; i++) {
			const char *name = src.name[s->recs[i].src];
			size_t k;

			for (k = 0; k < s->nfiles; k++)
				if (strcmp(s->files[k], name) == 0)
					break;
			if (k == s->nfiles) {
				r = pgps_err_set(err, PGPS_EINTERNAL, "'%s': "
				    "unknown source", name);
				break;
			}
			s->recs[i].src = (uint32_t)k;
		}
	}
	if (warn)
		s->skipped += res.skipped;
	index_sources_release(&src);
	return r;
}

static int
dump_open(struct keyset_rset *s, struct pgps_err *err)
{
	struct stat st;
	size_t n;
	int r;

	if (stat(s->spec.arg, &st) != 0)
		return pgps_err_set(err, PGPS_ENOTFOUND, "'%s': %s",
		    s->spec.arg, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return pgps_err_set(err, PGPS_EFORMAT, "'%s' is neither a "
		    "dump file nor a directory", s->spec.arg);
	if ((s->path = strdup(s->spec.arg)) == NULL)
		return nomem(err);
	n = strlen(s->path);
	while (n > 1 && s->path[n - 1] == '/')
		s->path[--n] = '\0';
	n += 32;
	if ((s->tree_path = malloc(n)) == NULL ||
	    (s->index_path = malloc(n)) == NULL)
		return nomem(err);
	if (s->spec.kind == KEYSET_DIR) {
		snprintf(s->tree_path, n, "%s/.pgpsync-ptree", s->path);
		snprintf(s->index_path, n, "%s/.pgpsync-index", s->path);
	} else {
		snprintf(s->tree_path, n, "%s.ptree", s->path);
		snprintf(s->index_path, n, "%s.index", s->path);
	}
	if ((r = files_list(s, err)) != 0 ||
	    (r = index_stamp(s->stamp, (const char *const *)s->files,
	    s->nfiles, err)) != 0)
		return r;
	if (dump_load_cache(s))
		return 0;
	s->excluded = 0;
	if ((r = hash_specs(s, (const char *const *)s->files, s->nfiles,
	    false, true, err)) != 0)
		return r;
	recs_unique(s);
	/* A set with damaged regions is still cached: they stay damaged. */
	s->cache_stale = true;
	return tree_build(s, err);
}

/*
 * Offsets into armored files point into their decoded form, so their
 * certificates are decoded once and kept in memory before any is sent.
 * Armored files are small keyrings in practice; dumps are binary.
 */
static int
dump_load_armored(struct keyset_rset *s, struct pgps_err *err)
{
	const char **files;
	size_t n = 0, nrecs = s->nrecs;
	uint64_t excluded = s->excluded, skipped = s->skipped;
	int r;

	if ((files = calloc(s->nfiles + 1, sizeof(char *))) == NULL)
		return nomem(err);
	for (size_t i = 0; i < s->nfiles; i++)
		if (!s->binary[i])
			files[n++] = s->files[i];
	r = hash_specs(s, files, n, true, false, err);
	free(files);
	/* Only the certificates were wanted: the elements stay. */
	s->nrecs = nrecs;
	s->excluded = excluded;
	s->skipped = skipped;
	if (s->nmem > 0)
		qsort(s->mem, s->nmem, sizeof(*s->mem), mem_cmp);
	return r;
}

/* --- a certificate store ----------------------------------------------- */

/*
 * The store's elements, from its index (which store_entries() brings up
 * to date by reading only the certificates that changed).
 */
static int
store_recs(struct keyset_rset *s, struct pgps_err *err)
{
	size_t damaged = 0, cap = 0;
	int r;

	s->nrecs = 0;
	s->excluded = 0;
	if ((r = store_entries(&s->ents, &s->nents, &damaged, s->store,
	    err)) != 0)
		return r;
	if (s->nents >= UINT32_MAX)
		return pgps_err_set(err, PGPS_ELIMIT, "'%s': too many "
		    "certificates", s->path);
	s->skipped = damaged;
	for (size_t i = 0; i < s->nents; i++) {
		struct index_entry e;

		/* SKS keeps no keys of version 5 or 6 (longer fingerprints). */
		if (s->ents[i].fprlen > 20) {
			s->excluded++;
			continue;
		}
		memset(&e, 0, sizeof(e));
		e.key[0] = s->ents[i].fprlen;
		memcpy(e.key + 1, s->ents[i].fpr, s->ents[i].fprlen);
		memcpy(e.hash, s->ents[i].hash, 16);
		e.has_sks = e.sks_ok = true;
		e.src = (uint32_t)i;
		if (recs_add(s, &cap, &e) != 0)
			return nomem(err);
	}
	recs_unique(s);
	return 0;
}

/* Whether the cached tree was built for the store's current commit. */
static bool
store_stamp_ok(const struct keyset_rset *s)
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
static int
store_save_cache(struct keyset_rset *s, struct pgps_err *err)
{
	struct buf b = BUF_INIT;
	int r;

	(void)unlink(s->stamp_path);
	if (store_head(s->store)[0] == '\0')
		return 0;
	if (buf_addf(&b, "%s/pgpsync", s->path) != 0)
		return nomem(err);
	if (mkdir((char *)b.p, 0777) != 0 && errno != EEXIST) {
		r = pgps_err_set(err, PGPS_EIO, "cannot cache the prefix "
		    "tree in '%s': %s", (char *)b.p, strerror(errno));
		buf_release(&b);
		return r;
	}
	buf_reset(&b);
	if ((r = recon_ptree_save(s->tree, s->tree_path, err)) != 0) {
		buf_release(&b);
		return pgps_err_prefix(err, r, "cannot cache the prefix tree");
	}
	if (buf_addf(&b, "%s\n", store_head(s->store)) != 0)
		r = nomem(err);
	else
		r = atomic_write(s->stamp_path, b.p, b.len, err);
	buf_release(&b);
	return r;
}

static int
store_open_set(struct keyset_rset *s, struct pgps_err *err)
{
	size_t n;
	int r;

	if ((r = keyset_open(&s->ks, s->specstr, s->dry_run ? 0 :
	    KEYSET_WRITE, NULL, err)) != 0) {
		s->ks = NULL;
		return r;
	}
	if ((s->store = keyset_store(s->ks)) == NULL)
		return pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no store",
		    s->specstr);
	if ((s->path = strdup(keyset_path(s->ks))) == NULL)
		return nomem(err);
	n = strlen(s->path) + 32;
	if ((s->tree_path = malloc(n)) == NULL ||
	    (s->stamp_path = malloc(n)) == NULL)
		return nomem(err);
	snprintf(s->tree_path, n, "%s/pgpsync/ptree", s->path);
	snprintf(s->stamp_path, n, "%s/pgpsync/ptree-commit", s->path);
	if ((r = store_recs(s, err)) != 0)
		return r;
	if (store_stamp_ok(s) && tree_load_cached(s))
		return 0;
	s->cache_stale = true;
	return tree_build(s, err);
}

/* --- a GnuPG keyring --------------------------------------------------- */

/*
 * Exports the keyring and keeps each certificate SKS would accept in
 * memory, with its hash.  A damaged region of the export is skipped and
 * counted, as in a dump.
 */
static int
gpg_open_set(struct keyset_rset *s, struct pgps_err *err)
{
	const char *spec = s->specstr;
	struct pgp_limits lim;
	size_t j = 0;
	int r;

	pgp_limits_default(&lim);
	if ((r = keyset_open(&s->ks, s->specstr, s->dry_run ? 0 :
	    KEYSET_WRITE, &lim, err)) != 0) {
		s->ks = NULL;
		return r;
	}
	if ((s->path = strdup(keyset_path(s->ks))) == NULL)
		return nomem(err);
	if ((r = hash_specs(s, &spec, 1, true, true, err)) != 0)
		return r;
	if (s->nmem >= UINT32_MAX)
		return pgps_err_set(err, PGPS_ELIMIT, "'%s': too many "
		    "certificates", s->path);
	/* By hash, once each (gpg holds one copy of a key anyway). */
	if (s->nmem > 0)
		qsort(s->mem, s->nmem, sizeof(*s->mem), mem_cmp);
	for (size_t i = 0; i < s->nmem; i++) {
		if (j > 0 && mem_cmp(&s->mem[j - 1], &s->mem[i]) == 0) {
			free(s->mem[i].p);
			continue;
		}
		s->mem[j++] = s->mem[i];
	}
	s->nmem = j;
	s->mem_loaded = true;
	recs_unique(s);
	return tree_build(s, err);
}

/* --- the interface ------------------------------------------------------ */

int
keyset_rset_open(struct keyset_rset **out, const char *spec,
    bool dry_run, const struct keyset_rset_hooks *hooks,
    struct pgps_err *err)
{
	struct keyset_rset *s;
	int r;

	if ((*out = s = calloc(1, sizeof(*s))) == NULL ||
	    (s->specstr = strdup(spec)) == NULL)
		return nomem(err);
	s->dry_run = dry_run;
	if (hooks != NULL)
		s->h = *hooks;
	buf_init(&s->cert.partial, 0);
	if ((r = keyset_spec_parse(&s->spec, s->specstr, err)) != 0)
		return r;
	switch (s->spec.kind) {
	case KEYSET_DUMP:
	case KEYSET_DIR:
		return dump_open(s, err);
	case KEYSET_STORE:
		return store_open_set(s, err);
	case KEYSET_GPG:
		return gpg_open_set(s, err);
	case KEYSET_STDIN:
		break;
	}
	return pgps_err_set(err, PGPS_EUNSUPPORTED, "'%s': standard input "
	    "cannot be reconciled", spec);
}

void
keyset_rset_free(struct keyset_rset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nmem; i++)
		free(s->mem[i].p);
	free(s->mem);
	files_free(s);
	free(s->recs);
	recon_ptree_free(s->tree);
	free(s->specstr);
	free(s->path);
	free(s->tree_path);
	free(s->index_path);
	free(s->stamp_path);
	keyset_close(s->ks);
	pgp_cert_release(&s->cert);
	if (s->tmp != NULL)
		fclose(s->tmp);
	free(s->got);
	free(s->written_path);
	free(s);
}

enum keyset_kind
keyset_rset_kind(const struct keyset_rset *s)
{
	return s->spec.kind;
}

const char *
keyset_rset_path(const struct keyset_rset *s)
{
	return s->path != NULL ? s->path : s->specstr;
}

const struct recon_ptree *
keyset_rset_tree(const struct keyset_rset *s)
{
	return s->tree;
}

size_t
keyset_rset_count(const struct keyset_rset *s)
{
	return s->nrecs;
}

uint64_t
keyset_rset_excluded(const struct keyset_rset *s)
{
	return s->excluded;
}

uint64_t
keyset_rset_skipped(const struct keyset_rset *s)
{
	return s->skipped;
}

bool
keyset_rset_cached(const struct keyset_rset *s)
{
	return s->cached;
}

void
keyset_rset_cache(struct keyset_rset *s)
{
	struct pgps_err err = PGPS_ERR_INIT;
	int r = 0;

	if (!s->cache_stale)
		return;
	s->cache_stale = false;
	if (s->store != NULL)
		r = store_save_cache(s, &err);
	else if (s->spec.kind == KEYSET_DUMP || s->spec.kind == KEYSET_DIR)
		r = dump_save_cache(s, &err);
	if (r != 0)
		warnf(s, "%s", err.msg);
}

void
keyset_rset_serving(struct keyset_rset *s)
{
	struct pgps_err err = PGPS_ERR_INIT;

	if (s->mem_loaded || s->store != NULL)
		return;
	s->mem_loaded = true;
	if (dump_load_armored(s, &err) != 0)
		warnf(s, "%s", err.msg);
}

int
keyset_rset_read(const uint8_t h[16], struct buf *out, void *arg)
{
	struct pgps_err err = PGPS_ERR_INIT;
	struct keyset_rset *s = arg;
	const struct index_entry *r = rec_find(s, h);
	struct buf b = BUF_INIT;
	const uint8_t *p = NULL;
	size_t len = 0;
	int rc = 0;

	if (r == NULL)
		return 0;
	if (s->store != NULL) {
		if (r->src >= s->nents || store_read(&b, s->store,
		    s->ents[r->src].oid, &err) != 0)
			goto out;
		p = b.p;
		len = b.len;
	} else if (s->spec.kind == KEYSET_GPG || !s->binary[r->src]) {
		const struct memcert *m = s->nmem == 0 ? NULL :
		    bsearch(h, s->mem, s->nmem, sizeof(*s->mem), mem_cmp);

		if (m == NULL)
			goto out;
		p = m->p;
		len = m->len;
	} else {
		int fd;
		ssize_t got;

		if (r->len == 0 || r->len > SIZE_MAX / 2 || buf_grow(&b,
		    (size_t)r->len) != 0 ||
		    (fd = open(s->files[r->src], O_RDONLY)) < 0)
			goto out;
		got = pread(fd, b.p, (size_t)r->len, (off_t)r->offset);
		close(fd);
		if (got != (ssize_t)r->len)
			goto out;
		p = b.p;
		len = (size_t)r->len;
	}
	rc = pgp_cert_parse(&s->cert, p, len, 0, &err) == 0 &&
	    pgp_cert_write(out, &s->cert) == 0;
 out:
	buf_release(&b);
	return rc;
}

/* --- fetching ------------------------------------------------------------ */

/* Writes one fetched certificate out (keyset_recon_fetch()). */
static int
fetch_take(const uint8_t *p, size_t len, const uint8_t hash[16], void *arg)
{
	struct keyset_rset *s = arg;
	struct fetched *v;

	if (fwrite(p, 1, len, s->out) != len) {
		s->werrno = errno != 0 ? errno : EIO;
		return PGPS_EIO;
	}
	if ((v = mem_reallocarray(s->got, s->ngot + 1, sizeof(*v))) == NULL)
		return PGPS_ENOMEM;
	s->got = v;
	memcpy(v[s->ngot].h, hash, 16);
	v[s->ngot].off = s->base + s->written;
	v[s->ngot].len = len;
	s->ngot++;
	s->written += len;
	return 0;
}

/* Copies the file at path to f, its size into *size. */
static int
copy_file(FILE *f, const char *path, uint64_t *size, struct pgps_err *err)
{
	FILE *in = fopen(path, "rb");
	uint8_t b[65536];
	size_t n;
	int r = 0;

	*size = 0;
	if (in == NULL)
		return pgps_err_set(err, PGPS_EIO, "cannot read '%s': %s",
		    path, strerror(errno));
	while (r == 0 && (n = fread(b, 1, sizeof(b), in)) > 0) {
		if (fwrite(b, 1, n, f) != n)
			r = pgps_err_set(err, PGPS_EIO, "write error: %s",
			    strerror(errno));
		*size += n;
	}
	if (r == 0 && ferror(in))
		r = pgps_err_set(err, PGPS_EIO, "cannot read '%s': %s", path,
		    strerror(errno));
	fclose(in);
	return r;
}

/*
 * Gives af a new name in the directory: pgpsync-YYYYmmddTHHMMSS[-N].pgp,
 * never one that another run took meanwhile.
 */
static int
commit_new_dump(struct keyset_rset *s, struct atomic_file *af,
    struct pgps_err *err)
{
	struct tm tm;
	time_t now = time(NULL);
	char stamp[32];
	struct buf p = BUF_INIT;
	int r = 1;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	for (int i = 0; i < 1000 && r == 1; i++) {
		buf_reset(&p);
		if ((i == 0 ? buf_addf(&p, "%s/pgpsync-%s.pgp", s->path,
		    stamp) : buf_addf(&p, "%s/pgpsync-%s-%d.pgp", s->path,
		    stamp, i)) != 0) {
			atomic_file_abort(af);
			buf_release(&p);
			return nomem(err);
		}
		r = atomic_file_commit_new(af, (char *)p.p, err);
	}
	if (r == 1) {
		atomic_file_abort(af);
		r = pgps_err_set(err, PGPS_EIO, "'%s': no free file name",
		    s->path);
	}
	if (r == 0)
		s->written_path = (char *)buf_detach(&p, NULL);
	buf_release(&p);
	return r;
}

/* Fetches into a dump: its file rewritten, or a new file in it. */
static int
fetch_dump(struct keyset_rset *s, const char *url,
    const struct recon_elem *want, size_t nwant, long phase_ms,
    struct keyset_recon_fetch *kf, struct pgps_err *err)
{
	struct file_lock lk = FILE_LOCK_INIT;
	struct atomic_file af;
	struct buf tmpl = BUF_INIT;
	bool dir = s->spec.kind == KEYSET_DIR;
	int r;

	/* A file rewritten is locked from the copy to the rename, so
	 * another writer (fetch --keyring) neither loses nor is lost. */
	if (!dir && (r = file_lock(&lk, s->path, s->path, err)) != 0)
		return r;
	/* In a directory: a hidden name, never read as part of the set. */
	if (dir && buf_addf(&tmpl, "%s/.pgpsync-new", s->path) != 0) {
		r = nomem(err);
		goto out;
	}
	if ((r = atomic_file_open(&af, dir ? (char *)tmpl.p : s->path,
	    err)) != 0)
		goto out;
	s->out = af.f;
	if (!dir && (r = copy_file(af.f, s->path, &s->base, err)) != 0) {
		atomic_file_abort(&af);
		goto out;
	}
	if ((r = keyset_recon_fetch(kf, url, want, nwant, phase_ms,
	    fetch_take, s->h.warn, s, err)) != 0 || s->ngot == 0) {
		atomic_file_abort(&af);
		goto out;
	}
	if (dir)
		r = commit_new_dump(s, &af, err);
	else if ((r = atomic_file_commit(&af, err)) == 0 &&
	    (s->written_path = strdup(s->path)) == NULL)
		r = nomem(err);
 out:
	s->out = NULL;
	file_unlock(&lk);
	buf_release(&tmpl);
	return r;
}

int
keyset_rset_fetch(struct keyset_rset *s, const char *url,
    const struct recon_elem *want, size_t nwant, long phase_ms,
    struct keyset_recon_fetch *kf, struct pgps_err *err)
{
	int r;

	memset(kf, 0, sizeof(*kf));
	if (nwant == 0)
		return 0;
	if (s->spec.kind == KEYSET_DUMP || s->spec.kind == KEYSET_DIR)
		r = fetch_dump(s, url, want, nwant, phase_ms, kf, err);
	else {
		/* Aside, for keyset_rset_add(): the set is not touched while
		 * the hashquery server may read it. */
		if ((s->tmp = tmpfile()) == NULL)
			return pgps_err_set(err, PGPS_EIO, "cannot create a "
			    "temporary file: %s", strerror(errno));
		s->out = s->tmp;
		r = keyset_recon_fetch(kf, url, want, nwant, phase_ms,
		    fetch_take, s->h.warn, s, err);
		if (r == 0 && fflush(s->tmp) != 0) {
			s->werrno = errno;
			r = PGPS_EIO;
		}
		s->out = NULL;
	}
	if (r != 0 && s->werrno != 0)
		r = pgps_err_set(err, PGPS_EIO, "write error: %s",
		    strerror(s->werrno));
	else if (r != 0 && err->msg[0] == '\0')
		r = pgps_err_set(err, r, "fetch failed");
	if (r != 0)
		s->ngot = 0;
	return r;
}

const char *
keyset_rset_written(const struct keyset_rset *s)
{
	return s->written_path;
}

/* --- adding what was fetched ------------------------------------------- */

/* Brings a dump's elements and cache up to date with the new file. */
static int
dump_update(struct keyset_rset *s, struct pgps_err *err)
{
	char **old = s->files;
	size_t nold = s->nfiles, j = 0;
	uint32_t *map = NULL, newsrc = 0;
	struct index_entry *all = NULL;
	int r;

	s->files = NULL;
	s->nfiles = 0;
	free(s->binary);
	s->binary = NULL;
	if ((r = files_list(s, err)) != 0 || (r = index_stamp(s->stamp,
	    (const char *const *)s->files, s->nfiles, err)) != 0)
		goto out;
	if ((map = calloc(nold + 1, sizeof(*map))) == NULL ||
	    (all = mem_reallocarray(NULL, s->nrecs + s->ngot + 1,
	    sizeof(*all))) == NULL) {
		r = nomem(err);
		goto out;
	}
	for (size_t i = 0; i < nold; i++) {
		map[i] = UINT32_MAX;
		for (size_t k = 0; k < s->nfiles; k++)
			if (strcmp(old[i], s->files[k]) == 0)
				map[i] = (uint32_t)k;
	}
	for (size_t k = 0; k < s->nfiles; k++)
		if (strcmp(s->files[k], s->written_path) == 0)
			newsrc = (uint32_t)k;
	for (size_t i = 0; i < s->nrecs; i++) {
		if (map[s->recs[i].src] == UINT32_MAX)
			continue;
		all[j] = s->recs[i];
		all[j++].src = map[s->recs[i].src];
	}
	for (size_t i = 0; i < s->ngot; i++) {
		struct recon_elem e;

		memset(&all[j], 0, sizeof(all[j]));
		memcpy(all[j].hash, s->got[i].h, 16);
		all[j].has_sks = all[j].sks_ok = true;
		all[j].offset = s->got[i].off;
		all[j].len = s->got[i].len;
		all[j++].src = newsrc;
		memcpy(e.b, s->got[i].h, 16);
		if (recon_ptree_insert(s->tree, &e, NULL) == PGPS_ENOMEM) {
			r = nomem(err);
			goto out;
		}
	}
	free(s->recs);
	s->recs = all;
	all = NULL;
	s->nrecs = j;
	recs_unique(s);
	r = dump_save_cache(s, err);
 out:
	for (size_t i = 0; i < nold; i++)
		free(old[i]);
	free(old);
	free(map);
	free(all);
	return r;
}

/* Reads the i-th certificate fetched aside into b. */
static int
got_read(struct keyset_rset *s, size_t i, struct buf *b,
    struct pgps_err *err)
{
	const struct fetched *g = &s->got[i];

	buf_reset(b);
	if (buf_grow(b, g->len) != 0)
		return nomem(err);
	if (fseeko(s->tmp, (off_t)g->off, SEEK_SET) != 0 ||
	    fread(b->p, 1, g->len, s->tmp) != g->len)
		return pgps_err_set(err, PGPS_EIO, "cannot read back a "
		    "fetched certificate: %s", strerror(errno));
	b->len = g->len;
	return 0;
}

/* What the verdicts of the puts go to. */
struct adding {
	struct keyset_rset	*s;
	struct keyset_rset_added *out;
	/* A keyring's: the peer's hashes gpg took, and those keys. */
	struct recon_elem	*kept;
	size_t			 nkept;
	char			(*fprs)[KEYSET_FPR_HEX];
	size_t			 nfprs;
};

static void
added_verdict(const struct keyset_verdict *v, void *arg)
{
	struct adding *a = arg;
	bool gpg = a->s->spec.kind == KEYSET_GPG;
	/*
	 * The put's offset is its place in got; a store tells at its
	 * commit what became of a key put twice, without the put's source
	 * and offset: that one is named by its key.
	 */
	const uint8_t *h = v->offset < a->s->ngot && v->source != NULL &&
	    v->source[0] != '\0' ? a->s->got[v->offset].h : NULL;
	char hex[KEYSET_FPR_HEX];

	switch (v->result) {
	case KEYSET_REFUSED:
		if (h != NULL)
			hex_encode_upper(hex, h, 16);
		else
			snprintf(hex, sizeof(hex), "%s", v->fpr);
		if (gpg)
			warnf(a->s, "%s%s%s: not imported: %s", hex,
			    v->fpr[0] != '\0' ? " " : "", v->fpr, v->why);
		else
			warnf(a->s, "%s: not stored: %s", hex, v->why);
		a->out->refused++;
		return;
	case KEYSET_NEW:
		a->out->put_new++;
		break;
	case KEYSET_CHANGED:
		a->out->put_merged++;
		break;
	case KEYSET_UNCHANGED:
		a->out->put_unchanged++;
		break;
	}
	if (!gpg || h == NULL)
		return;
	memcpy(a->kept[a->nkept++].b, h, 16);
	if (a->nfprs == 0 || strcmp(a->fprs[a->nfprs - 1], v->fpr) != 0)
		memcpy(a->fprs[a->nfprs++], v->fpr, sizeof(a->fprs[0]));
}

/*
 * Puts what was fetched aside into the store as one commit, then brings
 * the elements and the cached tree up to the new commit.
 */
static int
store_add(struct keyset_rset *s, struct adding *a, const char *note,
    struct pgps_err *err)
{
	struct keyset_commit_info ci;
	struct buf b = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < s->ngot && r == 0; i++)
		if ((r = got_read(s, i, &b, err)) == 0)
			r = keyset_put(s->ks, b.p, b.len, s->path, i, err);
	buf_release(&b);
	memset(&ci, 0, sizeof(ci));
	if (r != 0 || (r = keyset_commit(s->ks, note, &ci, err)) != 0)
		return r;
	a->out->committed = ci.committed;
	if (ci.committed)
		snprintf(a->out->commit, sizeof(a->out->commit), "%s",
		    ci.commit);
	/* The entries read before the commit are gone with it. */
	if ((r = store_recs(s, err)) != 0)
		return r;
	if (ci.committed) {
		if ((r = tree_build(s, err)) != 0)
			return r;
		if (store_save_cache(s, err) != 0)
			warnf(s, "%s", err->msg);
		pgps_err_clear(err);
	}
	for (size_t i = 0; i < s->ngot; i++)
		if (rec_find(s, s->got[i].h) == NULL)
			a->out->other_hash++;
	return 0;
}

/*
 * The SKS hashes of what the keyring holds now of the keys of the last
 * batch, appended to *have (*cap allocated).
 */
static int
gpg_hash_held(struct keyset_rset *s, struct adding *a,
    struct recon_elem **have, size_t *nhave, size_t *cap,
    struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	const char **pats;
	struct digest *md5;
	struct buf b = BUF_INIT;
	int r = 0;

	if (a->nfprs == 0)
		return 0;
	if ((pats = calloc(a->nfprs, sizeof(*pats))) == NULL ||
	    (md5 = digest_new(DIGEST_MD5)) == NULL) {
		free(pats);
		return nomem(err);
	}
	for (size_t i = 0; i < a->nfprs; i++)
		pats[i] = a->fprs[i];
	if ((r = keyset_preload(s->ks, pats, a->nfprs, err)) != 0)
		goto out;
	for (size_t i = 0; i < a->nfprs && r == 0; i++) {
		struct index_entry ie;
		struct recon_elem *v;

		pgps_err_clear(&e);
		if (keyset_lookup(&b, s->ks, pats[i], &e) != 0 ||
		    pgp_cert_parse(&s->cert, b.p, b.len, 0, &e) != 0 ||
		    !pgp_cert_sks_acceptable(&s->cert))
			continue;
		if (*nhave == *cap) {
			size_t ncap = *cap * 2 + 64;

			if ((v = mem_reallocarray(*have, ncap,
			    sizeof(*v))) == NULL) {
				r = nomem(err);
				break;
			}
			*have = v;
			*cap = ncap;
		}
		/* The hash as the index makes it (SKS's canonical form). */
		if (index_entry_of_cert(&ie, &s->cert, md5, true) != 0)
			r = nomem(err);
		else
			memcpy((*have)[(*nhave)++].b, ie.hash, 16);
	}
 out:
	buf_release(&b);
	digest_free(md5);
	free(pats);
	return r;
}

/*
 * Imports what was fetched aside into the keyring through the key-set
 * interface (merged with the keyring's copies, the limits applied, one
 * gpg run per batch), then hashes what gpg holds of those keys, to count
 * the ones it keeps under another SKS hash than the peer's.
 */
static int
gpg_add(struct keyset_rset *s, struct adding *a, struct pgps_err *err)
{
	struct recon_elem *have = NULL;
	struct buf b = BUF_INIT;
	size_t nhave = 0, cap = 0, bytes;
	int r = 0;

	if ((a->kept = calloc(s->ngot + 1, sizeof(*a->kept))) == NULL ||
	    (a->fprs = calloc(GPG_BATCH + 1, sizeof(*a->fprs))) == NULL)
		return nomem(err);
	keyset_on_verdict(s->ks, added_verdict, a);
	keyset_set_origin(s->ks, "ks");
	for (size_t i = 0; i < s->ngot && r == 0; i++) {
		if ((r = got_read(s, i, &b, err)) != 0 ||
		    (r = keyset_put(s->ks, b.p, b.len, s->path, i, err)) != 0)
			break;
		if (keyset_pending(s->ks, &bytes) < GPG_BATCH &&
		    bytes < GPG_BATCH_BYTES && i + 1 < s->ngot)
			continue;
		a->nfprs = 0;
		if ((r = keyset_flush(s->ks, err)) == 0)
			r = gpg_hash_held(s, a, &have, &nhave, &cap, err);
	}
	buf_release(&b);
	if (r == 0 && nhave > 0)
		qsort(have, nhave, sizeof(*have), recon_elem_cmp);
	for (size_t k = 0; r == 0 && k < a->nkept; k++)
		if (nhave == 0 || bsearch(&a->kept[k], have, nhave,
		    sizeof(*have), recon_elem_cmp) == NULL)
			a->out->other_hash++;
	free(have);
	return r;
}

int
keyset_rset_add(struct keyset_rset *s, const char *note,
    struct keyset_rset_added *out, struct pgps_err *err)
{
	struct adding a;
	int r = 0;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	a.s = s;
	a.out = out;
	if (s->ngot == 0)
		return 0;
	if (s->written_path != NULL) {
		/* The set is written: only its cache could not be. */
		if (dump_update(s, err) != 0)
			warnf(s, "%s", err->msg);
		pgps_err_clear(err);
		return 0;
	}
	if (s->tmp == NULL)
		return 0;
	if (s->store != NULL) {
		keyset_on_verdict(s->ks, added_verdict, &a);
		r = store_add(s, &a, note, err);
		keyset_on_verdict(s->ks, NULL, NULL);
	} else if (s->spec.kind == KEYSET_GPG)
		r = gpg_add(s, &a, err);
	free(a.kept);
	free(a.fprs);
	return r;
}
