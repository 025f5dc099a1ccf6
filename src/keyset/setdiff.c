/*
 * setdiff.c: the difference of two key sets (see setdiff.h).
 *
 * Records are sorted by key with a radix sort on their first 8 bytes and
 * the runs that share them by a comparison; the two sorted sides are then
 * joined in one pass.  Records of input that cannot be read again by
 * offset, and merges of several versions of a key, are kept in a
 * temporary file per side.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <unistd.h>

#include "keyset/keyset.h"
#include "keyset/remote.h"
#include "keyset/setdiff.h"
#include "keyset/store.h"
#include "net/opts.h"
#include "util/hex.h"
#include "util/limits.h"
#include "util/mem.h"
#include "util/tmpfile.h"

#define KEY_LEN		INDEX_KEY_LEN

enum where {
	IN_FILE,	/* src names a file, read at off */
	IN_SPILL,	/* in the side's temporary file at off */
	IN_STORE	/* src indexes the store's entries */
};

void
setdiff_warnf(struct setdiff_side *sd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (sd->d->cb.warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd->d->cb.warn(msg, sd->d->cb.arg);
}

static void
fast_key_init(struct fasthash_key *key)
{
	uint64_t seed[2] = { 0, 0 };
	FILE *f;

	/*
	 * Random per run, so that no input can be made to collide on
	 * purpose without seeing the hashes, which never leave the process.
	 * Without /dev/urandom, time and process still vary per run.
	 */
	if ((f = fopen("/dev/urandom", "rb")) == NULL ||
	    fread(seed, sizeof(seed), 1, f) != 1) {
		seed[0] = (uint64_t)time(NULL);
		seed[1] = (uint64_t)getpid();
	}
	if (f != NULL)
		fclose(f);
	fasthash_key_init(key, seed[0], seed[1]);
}

static bool
is_store(const char *spec)
{
	return strncmp(spec, "store:", 6) == 0;
}

void
setdiff_init(struct setdiff *d, const char *a, const char *b,
    const struct setdiff_cb *cb)
{
	memset(d, 0, sizeof(*d));
	d->a.spec = a;
	d->b.spec = b;
	d->a.fd = d->b.fd = -1;
	d->a.d = d->b.d = d;
	if (cb != NULL)
		d->cb = *cb;
	d->fast = !is_store(a) && !is_store(b);
	fast_key_init(&d->key);
}

static void
side_release(struct setdiff_side *sd)
{
	for (size_t i = 0; i < sd->nsrc; i++)
		free(sd->src[i]);
	free(sd->src);
	free(sd->v);
	if (sd->spill != NULL)
		fclose(sd->spill);
	if (sd->fd >= 0)
		close(sd->fd);
	store_free(sd->store);
}

void
setdiff_release(struct setdiff *d)
{
	side_release(&d->a);
	side_release(&d->b);
}

/* --- reading a side --------------------------------------------------- */

/*
 * A source can be read again by offset when it is a regular file of
 * binary packets: the reader's offsets are then file offsets.
 */
static bool
can_seek(const char *name)
{
	uint8_t head[4096];
	struct stat st;
	ssize_t n;
	int fd;

	if (strncmp(name, "gpg:", 4) == 0 || stat(name, &st) != 0 ||
	    !S_ISREG(st.st_mode) ||
	    (fd = open(name, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, head, sizeof(head));
	close(fd);
	return n >= 0 && !pgp_armor_detect(head, (size_t)n);
}

/* Index callback: certificates of input that cannot be read twice travel. */
static bool
keep_bytes(const char *source, void *arg)
{
	(void)arg;
	return !can_seek(source);
}

/*
 * Fills r's key from a parsed certificate, and its SKS hash when sks is
 * set or the key is that hash (a bare revocation).
 */
static int
rec_key(struct setdiff_rec *r, const struct pgp_cert *c, struct digest *md5,
    bool sks)
{
	struct index_entry e;

	if (index_entry_of_cert(&e, c, md5, sks) != 0)
		return PGPS_ENOMEM;
	memset(r, 0, sizeof(*r));
	memcpy(r->key, e.key, KEY_LEN);
	memcpy(r->hash, e.hash, 16);
	r->has_sks = e.has_sks;
	return 0;
}

static int
side_add(struct setdiff_side *sd, const struct setdiff_rec *r)
{
	if (sd->n == sd->alloc) {
		size_t alloc = sd->alloc == 0 ? 1024 : sd->alloc * 2;
		struct setdiff_rec *v = mem_reallocarray(sd->v, alloc,
		    sizeof(*v));

		if (v == NULL)
			return PGPS_ENOMEM;
		sd->v = v;
		sd->alloc = alloc;
	}
	sd->v[sd->n++] = *r;
	sd->sorted = false;
	return 0;
}

/* Appends p[0..len) to the side's temporary file; its offset in *off. */
static int
spill(struct setdiff_side *sd, const uint8_t *p, size_t len, uint64_t *off,
    struct pgps_err *err)
{
	*off = sd->spilled;
	if (sd->spill == NULL && (sd->spill = tmp_file(err)) == NULL)
		return err->code;
	if (fwrite(p, 1, len, sd->spill) != len)
		return pgps_err_set(err, PGPS_EIO, "cannot write a temporary "
		    "file: %s", strerror(errno));
	sd->spilled += len;
	return 0;
}

/* Reading a side: its index entries come here, in input order. */
struct reader {
	struct setdiff_side	*sd;
	struct buf		*msgs;	/* warnings kept for later, or NULL */
	struct pgps_err		 err;	/* of the entry callback */
};

static int
side_entry(const struct index_entry *e, const uint8_t *bytes, void *arg)
{
	struct reader *rd = arg;
	struct setdiff_rec r;

	memset(&r, 0, sizeof(r));
	memcpy(r.key, e->key, KEY_LEN);
	memcpy(r.hash, e->hash, 16);
	memcpy(r.fast, e->fast, 16);
	r.has_sks = e->has_sks;
	r.has_fast = e->has_fast;
	r.src = e->src;
	r.len = e->len;
	if (bytes != NULL) {
		r.where = IN_SPILL;
		if (spill(rd->sd, bytes, (size_t)e->len, &r.off,
		    &rd->err) != 0)
			return rd->err.code;
	} else {
		r.where = IN_FILE;
		r.off = e->offset;
	}
	if (side_add(rd->sd, &r) != 0)
		return pgps_err_set(&rd->err, PGPS_ENOMEM, "out of memory");
	return 0;
}

static void
reader_warn(const char *msg, void *arg)
{
	struct reader *rd = arg;

	if (rd->msgs != NULL) {
		if (buf_addf(rd->msgs, "%s\n", msg) != 0)
			return;
	} else
		setdiff_warnf(rd->sd, "%s", msg);
}

static void
reader_progress(uint64_t done, uint64_t certs, void *arg)
{
	struct reader *rd = arg;

	if (rd->msgs == NULL && rd->sd->d->cb.progress != NULL)
		rd->sd->d->cb.progress(done, certs, rd->sd->d->cb.arg);
}

/* The index spec of reading rd's side. */
static void
side_spec(struct index_spec *spec, struct reader *rd)
{
	struct index_spec init = INDEX_SPEC_INIT;
	const struct setdiff *d = rd->sd->d;

	*spec = init;
	spec->sks = !d->fast;
	spec->fast = d->fast ? &d->key : NULL;
	spec->keep_bytes = keep_bytes;
	spec->entry = side_entry;
	spec->warn = reader_warn;
	spec->progress = reader_progress;
	spec->arg = rd;
}

/* The side takes the names of its sources from the index. */
static void
side_sources(struct setdiff_side *sd, struct index_sources *src)
{
	sd->src = src->name;
	sd->nsrc = src->n;
	free(src->kept);
	src->name = NULL;
	src->kept = NULL;
	src->n = 0;
}

/* Orders by key, then SKS hash (store sides and SKS-hashed sets). */
static int
rec_cmp_sks(const void *a, const void *b)
{
	const struct setdiff_rec *x = a, *y = b;
	int c = memcmp(x->key, y->key, KEY_LEN);

	return c != 0 ? c : memcmp(x->hash, y->hash, 16);
}

/* Orders by key, then bytes (by fasthash and length). */
static int
rec_cmp_fast(const void *a, const void *b)
{
	const struct setdiff_rec *x = a, *y = b;
	int c = memcmp(x->key, y->key, KEY_LEN);

	if (c == 0)
		c = memcmp(x->fast, y->fast, 16);
	return c != 0 ? c : x->len < y->len ? -1 : x->len > y->len;
}

/* True when x and y are the same bytes (as far as fasthash can tell). */
static bool
rec_same_bytes(const struct setdiff_rec *x, const struct setdiff_rec *y)
{
	return x->has_fast && y->has_fast && x->len == y->len &&
	    memcmp(x->fast, y->fast, 16) == 0;
}

static int
side_from_store(struct setdiff_side *sd, struct pgps_err *err)
{
	size_t n, damaged;
	int r;

	if ((r = store_open(&sd->store, sd->spec + 6, 0, err)) != 0 ||
	    (r = store_entries(&sd->ents, &n, &damaged, sd->store, err)) != 0)
		return r;
	if (damaged > 0) {
		setdiff_warnf(sd, "'%s': %zu file%s in the store %s not a "
		    "certificate named by its fingerprint; left out",
		    sd->spec, damaged, damaged == 1 ? "" : "s",
		    damaged == 1 ? "is" : "are");
		sd->skipped += damaged;
	}
	for (size_t i = 0; i < n; i++) {
		struct setdiff_rec e;

		memset(&e, 0, sizeof(e));
		e.key[0] = sd->ents[i].fprlen;
		memcpy(e.key + 1, sd->ents[i].fpr, sd->ents[i].fprlen);
		memcpy(e.hash, sd->ents[i].hash, 16);
		e.has_sks = true;
		e.where = IN_STORE;
		e.src = (uint32_t)i;
		if (side_add(sd, &e) != 0)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	return 0;
}

/* A record's place in the order of keys, by their first 8 bytes. */
struct ord {
	uint64_t	 k;
	size_t		 i;
};

/*
 * Sorts o[0..n) by k, a byte at a time from the lowest (stable, so each
 * pass keeps the order of the ones before); tmp has room for n.  Returns
 * whichever of the two holds the result.
 */
static struct ord *
ord_sort(struct ord *o, struct ord *tmp, size_t n)
{
	for (unsigned int shift = 0; shift < 64; shift += 8) {
		size_t count[256], pos = 0;
		struct ord *t;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(o[i].k >> shift) & 0xff]++;
		if (count[(o[0].k >> shift) & 0xff] == n)
			continue;	/* all share this byte */
		for (size_t b = 0; b < 256; b++) {
			size_t c = count[b];

			count[b] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(o[i].k >> shift) & 0xff]++] = o[i];
		t = o;
		o = tmp;
		tmp = t;
	}
	return o;
}

/*
 * Sorts sd's records with cmp, which must order by key first.  Sorting
 * the records themselves moves 100 bytes a step and compares 33 through
 * memcmp; most keys differ in their first bytes, so those are radix
 * sorted alone and only runs that share them are sorted by cmp.
 */
static int
side_sort(struct setdiff_side *sd, int (*cmp)(const void *, const void *))
{
	struct ord *o, *tmp, *sorted;
	struct setdiff_rec *v;
	size_t i, j;

	if (sd->sorted || sd->n < 2) {
		sd->sorted = true;
		return 0;
	}
	o = mem_reallocarray(NULL, sd->n, sizeof(*o));
	tmp = mem_reallocarray(NULL, sd->n, sizeof(*tmp));
	v = mem_reallocarray(NULL, sd->n, sizeof(*v));
	if (o == NULL || tmp == NULL || v == NULL) {
		free(o);
		free(tmp);
		free(v);
		return PGPS_ENOMEM;
	}
	for (i = 0; i < sd->n; i++) {
		uint64_t k = 0;

		for (j = 0; j < 8; j++)
			k = k << 8 | sd->v[i].key[j];
		o[i].k = k;
		o[i].i = i;
	}
	sorted = ord_sort(o, tmp, sd->n);
	for (i = 0; i < sd->n; i++)
		v[i] = sd->v[sorted[i].i];
	for (i = 0; i < sd->n; i = j) {
		for (j = i + 1; j < sd->n && sorted[j].k == sorted[i].k; j++)
			continue;
		if (j - i > 1)
			qsort(v + i, j - i, sizeof(*v), cmp);
	}
	free(sd->v);
	free(o);
	free(tmp);
	sd->v = v;
	sd->alloc = sd->n;
	sd->sorted = true;
	return 0;
}

static int
side_sort_own(struct setdiff_side *sd)
{
	return side_sort(sd, sd->d->fast ? rec_cmp_fast : rec_cmp_sks);
}

static int
iter_open(struct keyset_iter **it, const struct setdiff_side *sd,
    struct pgps_err *err)
{
	const char *specs[1];

	specs[0] = sd->spec;
	return keyset_iter_open(it, specs, 1, err);
}

/*
 * Reading a set on a thread of its own, one certificate at a time, while
 * the other set is read the same way.  When the work per certificate is
 * only splitting and fasthash, keyset_par_run() would spend more on
 * splitting its input on one thread and copying every certificate to its
 * workers than the workers spend; two readers side by side keep two CPUs
 * busy with nothing but the work.  Warnings are kept and passed on
 * afterwards, the first set's first, each set's in the order read.
 */
struct solo {
	struct setdiff_side	*sd;
	struct keyset_iter	*it;
	struct buf		 msgs;
	struct pgps_err		 err;
	int			 rc;
};

static void *
solo_run(void *arg)
{
	struct solo *s = arg;
	struct reader rd;
	struct index_sources src = INDEX_SOURCES_INIT;
	struct keyset_par_result res;
	struct index_spec spec;

	memset(&rd, 0, sizeof(rd));
	memset(&res, 0, sizeof(res));
	rd.sd = s->sd;
	rd.msgs = &s->msgs;
	side_spec(&spec, &rd);
	s->rc = index_read(s->it, &spec, &src, &res, &s->err);
	if (s->rc != 0 && rd.err.code != 0)
		s->err = rd.err;
	s->sd->skipped += res.skipped;
	side_sources(s->sd, &src);
	/* Sorting is the next step; here it is done on both CPUs. */
	if (s->rc == 0 && side_sort_own(s->sd) != 0)
		s->rc = pgps_err_set(&s->err, PGPS_ENOMEM, "out of memory");
	return NULL;
}

/* Passes on what solo_run() kept; returns its result, with err. */
static int
solo_report(struct solo *s, bool warn, struct pgps_err *err)
{
	char *line, *nl;
	int rc = s->rc;

	for (line = (char *)s->msgs.p; warn && s->msgs.len > 0 &&
	    (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		setdiff_warnf(s->sd, "%s", line);
	}
	if (rc != 0 && warn)
		*err = s->err;
	buf_release(&s->msgs);
	keyset_iter_free(s->it);
	return rc;
}

/* Reads two sets that are not stores at once, on two threads. */
static int
sides_read(struct setdiff *d, struct pgps_err *err)
{
	struct solo sa, sb;
	pthread_t th;
	int r;

	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	sa.sd = &d->a;
	sb.sd = &d->b;
	buf_init(&sa.msgs, 0);
	buf_init(&sb.msgs, 0);
	if ((r = iter_open(&sa.it, &d->a, err)) != 0 ||
	    (r = iter_open(&sb.it, &d->b, err)) != 0)
		goto fail;
	if (pthread_create(&th, NULL, solo_run, &sb) != 0) {
		r = pgps_err_set(err, PGPS_EINTERNAL, "cannot start a thread");
		goto fail;
	}
	solo_run(&sa);
	pthread_join(th, NULL);
	/* As if read one after the other: b not at all if a failed. */
	if ((r = solo_report(&sa, true, err)) != 0) {
		solo_report(&sb, false, err);
		return r;
	}
	return solo_report(&sb, true, err);
 fail:
	keyset_iter_free(sa.it);
	keyset_iter_free(sb.it);
	buf_release(&sa.msgs);
	buf_release(&sb.msgs);
	return r;
}

/* --- the index cache of a set of files -------------------------------- */

/*
 * A set of dump files that is SKS-hashed (compared with a store) keeps
 * its index in the user's cache directory, one file per set named by the
 * SHA-256 of its absolute path, so that the next comparison of the same
 * unchanged files reads none of them (index_cache_save() and
 * index_cache_load(), keyset/index.h: a cache is taken only with the
 * stamp of the files it was made from).  A cache that cannot be written
 * is only a slower next run: nothing is reported.
 */
struct cache {
	char		 path[4096];
	uint8_t		 stamp[32];
	const char	**files;	/* the iterator's sources, in order */
	size_t		 nfiles;
};

static void
cache_release(struct cache *c)
{
	free(c->files);
	c->files = NULL;
}

/*
 * Whether sd's set can have a cache (dump files and directories, hashed
 * by SKS hash), and where; stamps its files.  False when it cannot or
 * when the files cannot be stamped.
 */
static bool
cache_init(struct cache *c, const struct setdiff_side *sd,
    const struct keyset_iter *it)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	struct keyset_spec ks;
	struct digest *d;
	uint8_t h[DIGEST_MAX];
	char cwd[PATH_MAX], hex[65], base[4096];

	memset(c, 0, sizeof(*c));
	if (sd->d->fast || keyset_spec_parse(&ks, sd->spec, NULL) != 0 ||
	    (ks.kind != KEYSET_DUMP && ks.kind != KEYSET_DIR) ||
	    (ks.arg[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL))
		return false;
	if (x != NULL && x[0] == '/')
		snprintf(base, sizeof(base), "%s", x);
	else if (home != NULL && home[0] == '/')
		snprintf(base, sizeof(base), "%s/.cache", home);
	else
		return false;
	if ((d = digest_new(DIGEST_SHA256)) == NULL)
		return false;
	/* The set's absolute path names its cache. */
	if (ks.arg[0] != '/') {
		digest_update(d, cwd, strlen(cwd));
		digest_update(d, "/", 1);
	}
	digest_update(d, ks.arg, strlen(ks.arg));
	digest_final(d, h);
	digest_free(d);
	hex_encode_lower(hex, h, 32);
	(void)mkdir(base, 0700);
	if ((size_t)snprintf(c->path, sizeof(c->path), "%s/pgpsync", base) >=
	    sizeof(c->path) || (mkdir(c->path, 0700) != 0 && errno != EEXIST) ||
	    (size_t)snprintf(c->path, sizeof(c->path), "%s/pgpsync/diff-%s.idx",
	    base, hex) >= sizeof(c->path))
		return false;
	c->nfiles = keyset_iter_nsources(it);
	if ((c->files = calloc(c->nfiles + 1, sizeof(*c->files))) == NULL)
		return false;
	for (size_t i = 0; i < c->nfiles; i++)
		c->files[i] = keyset_iter_source_at(it, i);
	if (index_stamp(c->stamp, c->files, c->nfiles, NULL) != 0) {
		cache_release(c);
		return false;
	}
	return true;
}

/* The side from the cache: 0, 1 when there is none to take, or < 0. */
static int
cache_load(struct setdiff_side *sd, struct cache *c, struct pgps_err *err)
{
	struct index_entry *v = NULL;
	uint64_t skipped;
	size_t n;
	int r;

	if ((r = index_cache_load(c->path, c->stamp, c->nfiles, &v, &n,
	    &skipped, err)) != 0)
		return r;
	if ((sd->src = calloc(c->nfiles + 1, sizeof(*sd->src))) == NULL)
		goto nomem;
	for (sd->nsrc = 0; sd->nsrc < c->nfiles; sd->nsrc++)
		if ((sd->src[sd->nsrc] = strdup(c->files[sd->nsrc])) == NULL)
			goto nomem;
	for (size_t i = 0; i < n; i++) {
		struct setdiff_rec rec;

		memset(&rec, 0, sizeof(rec));
		memcpy(rec.key, v[i].key, KEY_LEN);
		memcpy(rec.hash, v[i].hash, 16);
		rec.has_sks = v[i].has_sks;
		rec.where = IN_FILE;
		rec.src = v[i].src;
		rec.off = v[i].offset;
		rec.len = v[i].len;
		if (side_add(sd, &rec) != 0)
			goto nomem;
	}
	free(v);
	sd->skipped += skipped;
	if (skipped > 0)
		setdiff_warnf(sd, "'%s': %llu damaged region%s or secret "
		    "key%s left out, as when it was last read", sd->spec,
		    (unsigned long long)skipped, skipped == 1 ? "" : "s",
		    skipped == 1 ? "" : "s");
	return 0;
 nomem:
	free(v);
	return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

/*
 * Saves sd's index (just read, before versions are merged) when every
 * certificate can be read again from its file; sources are numbered as
 * the iterator orders them, so that a file without certificates does not
 * shift the others.
 */
static void
cache_save(const struct setdiff_side *sd, const struct cache *c)
{
	struct index_entry *v = calloc(sd->n + 1, sizeof(*v));
	uint32_t *pos = calloc(sd->nsrc + 1, sizeof(*pos));
	size_t j = 0;

	if (v == NULL || pos == NULL)
		goto done;
	/* Index sources are the iterator's in order, some left out. */
	for (size_t i = 0; i < sd->nsrc; i++) {
		while (j < c->nfiles && strcmp(c->files[j], sd->src[i]) != 0)
			j++;
		if (j == c->nfiles)
			goto done;
		pos[i] = (uint32_t)j;
	}
	for (size_t i = 0; i < sd->n; i++) {
		const struct setdiff_rec *r = &sd->v[i];

		if (r->where != IN_FILE || !r->has_sks || r->src >= sd->nsrc)
			goto done;
		memcpy(v[i].key, r->key, KEY_LEN);
		memcpy(v[i].hash, r->hash, 16);
		v[i].has_sks = true;
		v[i].version = 0;
		v[i].src = pos[r->src];
		v[i].offset = r->off;
		v[i].len = r->len;
	}
	(void)index_cache_save(c->path, c->stamp, c->nfiles, v, sd->n,
	    sd->skipped, NULL);
 done:
	free(v);
	free(pos);
}

static int
side_read(struct setdiff_side *sd, int jobs, struct pgps_err *err)
{
	struct index_sources src = INDEX_SOURCES_INIT;
	struct keyset_par_result res;
	const struct setdiff_cb *cb = &sd->d->cb;
	struct keyset_iter *it;
	struct index_spec spec;
	struct reader rd;
	struct cache cache;
	bool cached;
	int r;

	if (is_store(sd->spec))
		return side_from_store(sd, err);
	if ((r = iter_open(&it, sd, err)) != 0)
		return r;
	cached = cache_init(&cache, sd, it);
	if (cached && (r = cache_load(sd, &cache, err)) <= 0) {
		cache_release(&cache);
		keyset_iter_free(it);
		return r;
	}
	memset(&rd, 0, sizeof(rd));
	memset(&res, 0, sizeof(res));
	rd.sd = sd;
	side_spec(&spec, &rd);
	spec.jobs = jobs;
	if (cb->reading != NULL)
		cb->reading(sd->spec, keyset_iter_total(it), cb->arg);
	r = index_hash(it, &spec, &src, &res, err);
	if (cb->reading != NULL)
		cb->reading(NULL, 0, cb->arg);
	if (r != 0 && rd.err.code != 0)
		*err = rd.err;
	side_sources(sd, &src);
	sd->skipped += res.skipped;
	if (r == 0 && cached)
		cache_save(sd, &cache);
	if (cached)
		cache_release(&cache);
	keyset_iter_free(it);
	return r;
}

/* --- reading certificates again --------------------------------------- */

static int
read_at(int fd, uint8_t *p, size_t len, uint64_t off, const char *name,
    struct pgps_err *err)
{
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pgps_err_set(err, PGPS_EIO, "cannot read '%s' "
			    "again: %s", name, n < 0 ? strerror(errno) :
			    "it got shorter");
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* The bytes of r into out (replacing its contents); *name for messages. */
static int
rec_bytes(struct setdiff_side *sd, const struct setdiff_rec *r,
    struct buf *out, const char **name, struct pgps_err *err)
{
	buf_reset(out);
	*name = "temporary file";
	if (r->where == IN_STORE) {
		*name = sd->spec;
		return store_read(out, sd->store, sd->ents[r->src].oid, err);
	}
	if (r->len > PGPS_MAX_CERT || buf_grow(out, (size_t)r->len) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if (r->where == IN_FILE) {
		*name = sd->src[r->src];
		if (sd->fd < 0 || sd->fdsrc != r->src) {
			if (sd->fd >= 0)
				close(sd->fd);
			if ((sd->fd = open(*name, O_RDONLY | O_CLOEXEC)) < 0)
				return pgps_err_set(err, PGPS_EIO, "cannot "
				    "open '%s' again: %s", *name,
				    strerror(errno));
			sd->fdsrc = r->src;
		}
		if (read_at(sd->fd, out->p, (size_t)r->len, r->off, *name,
		    err) != 0)
			return err->code;
	} else {
		if (fflush(sd->spill) != 0)
			return pgps_err_set(err, PGPS_EIO, "cannot write a "
			    "temporary file: %s", strerror(errno));
		if (read_at(fileno(sd->spill), out->p, (size_t)r->len,
		    r->off, *name, err) != 0)
			return err->code;
	}
	out->len = (size_t)r->len;
	out->p[out->len] = '\0';
	return 0;
}

static int
rec_cert(struct setdiff_side *sd, struct setdiff_rec *r, struct buf *out,
    struct pgp_cert *c, struct digest *md5, struct pgps_err *err)
{
	const char *name;
	struct setdiff_rec chk;
	bool same;
	int rc;

	if ((rc = rec_bytes(sd, r, out, &name, err)) != 0)
		return rc;
	if (pgp_cert_parse(c, out->p, out->len, 0, NULL) != 0 ||
	    rec_key(&chk, c, md5, !r->has_sks || !r->has_fast) != 0)
		same = false;
	else if (r->has_fast) {
		fasthash128(chk.fast, out->p, out->len, &sd->d->key);
		chk.has_fast = true;
		chk.len = out->len;
		same = rec_same_bytes(&chk, r);
	} else
		same = rec_cmp_sks(&chk, r) == 0;
	if (!same)
		return pgps_err_set(err, PGPS_EIO, "'%s' changed while it was "
		    "being compared", name);
	if (!r->has_sks) {
		memcpy(r->hash, chk.hash, 16);
		r->has_sks = true;
	}
	return 0;
}

int
setdiff_cert(struct setdiff_side *sd, size_t i, struct buf *out,
    struct pgp_cert *c, struct digest *md5, struct pgps_err *err)
{
	return rec_cert(sd, &sd->v[i], out, c, md5, err);
}

/*
 * A certificate's bytes, parsed, and an MD5 context for its SKS hash:
 * what reading one certificate takes.
 */
struct scratch {
	struct buf		 buf;
	struct pgp_cert		 cert;
	struct digest		*md5;
};

static int
scratch_init(struct scratch *s, struct pgps_err *err)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->buf, 0);
	s->cert = (struct pgp_cert)PGP_CERT_INIT;
	if ((s->md5 = digest_new(DIGEST_MD5)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	return 0;
}

static void
scratch_release(struct scratch *s)
{
	buf_release(&s->buf);
	pgp_cert_release(&s->cert);
	digest_free(s->md5);
}

static int
need_sks(struct setdiff_side *sd, struct setdiff_rec *r, struct scratch *s,
    struct pgps_err *err)
{
	if (r->has_sks)
		return 0;
	return rec_cert(sd, r, &s->buf, &s->cert, s->md5, err);
}

int
setdiff_need_sks(struct setdiff_side *sd, size_t i, struct pgps_err *err)
{
	struct scratch s;
	int r;

	if (sd->v[i].has_sks)
		return 0;
	if ((r = scratch_init(&s, err)) == 0)
		r = need_sks(sd, &sd->v[i], &s, err);
	scratch_release(&s);
	return r;
}

/* --- versions of one key ---------------------------------------------- */

/*
 * Merges the versions v[0..n) of one key (sorted by SKS hash) into out in
 * one pass, however many there are; a version whose primary key packet
 * differs from the first one's (a v3 key) is left out with a warning.
 */
static int
merge_all(struct setdiff_side *sd, struct setdiff_rec *v, size_t n,
    struct buf *out, struct digest *md5, struct pgps_err *err)
{
	struct pgps_err merr = PGPS_ERR_INIT;
	struct buf *b = calloc(n, sizeof(*b));
	struct pgp_cert *c = calloc(n, sizeof(*c));
	const struct pgp_cert **p = calloc(n, sizeof(*p));
	size_t np = 0, k;
	int r = 0;

	if (b == NULL || c == NULL || p == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		n = 0;
	}
	for (k = 0; k < n; k++) {
		buf_init(&b[k], 0);
		c[k] = (struct pgp_cert)PGP_CERT_INIT;
	}
	for (k = 0; k < n && r == 0; k++) {
		if (k > 0 && memcmp(v[k].hash, v[k - 1].hash, 16) == 0)
			continue;
		if ((r = rec_cert(sd, &v[k], &b[k], &c[k], md5, err)) != 0)
			break;
		if (np > 0 && c[k].has_primary && p[0]->has_primary &&
		    pgp_packet_cmp(&c[k].pkts[0], &p[0]->pkts[0]) != 0) {
			setdiff_warnf(sd, "'%s': a different primary key "
			    "with the same fingerprint; one version left out",
			    sd->spec);
			continue;
		}
		p[np++] = &c[k];
	}
	buf_reset(out);
	if (r == 0 && pgp_cert_merge_many(out, p, np, NULL, &merr) != 0) {
		setdiff_warnf(sd, "'%s': %s; the first version kept alone",
		    sd->spec, merr.msg);
		buf_reset(out);
		if (buf_add(out, b[0].p, b[0].len) != 0)
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	for (k = 0; k < n; k++) {
		pgp_cert_release(&c[k]);
		buf_release(&b[k]);
	}
	free(b);
	free(c);
	free(p);
	return r;
}

/* The number of versions of v[0..n), by SKS hash (v sorted by it). */
static size_t
versions_sks(const struct setdiff_rec *v, size_t n)
{
	size_t versions = 1;

	for (size_t k = 1; k < n; k++)
		if (memcmp(v[k].hash, v[k - 1].hash, 16) != 0)
			versions++;
	return versions;
}

/*
 * The versions sd->v[i..j) of one key, sorted, counted: different bytes
 * may still be the same packets, so where the bytes differ they are
 * counted by SKS hash.
 */
static int
count_versions(struct setdiff_side *sd, size_t i, size_t j, size_t *out,
    struct scratch *s, struct pgps_err *err)
{
	size_t versions = 1;
	int r;

	if (!sd->d->fast) {
		*out = versions_sks(sd->v + i, j - i);
		return 0;
	}
	for (size_t k = i + 1; k < j; k++)
		if (!rec_same_bytes(&sd->v[k], &sd->v[k - 1]))
			versions++;
	if (versions > 1) {
		for (size_t k = i; k < j; k++)
			if ((r = need_sks(sd, &sd->v[k], s, err)) != 0)
				return r;
		qsort(sd->v + i, j - i, sizeof(*sd->v), rec_cmp_sks);
		versions = versions_sks(sd->v + i, j - i);
	}
	*out = versions;
	return 0;
}

/*
 * Several versions of one key in a set: replaces them by their merge
 * (kept in the temporary file), as a keyserver would hold them.
 */
static int
side_merge_versions(struct setdiff_side *sd, struct pgps_err *err)
{
	struct pgp_cert a = PGP_CERT_INIT;
	struct buf cur = BUF_INIT;
	struct scratch s;
	size_t i = 0, n = 0;
	int r;

	buf_init(&cur, 0);
	if ((r = scratch_init(&s, err)) != 0 || (r = side_sort_own(sd)) != 0)
		goto done;
	while (i < sd->n) {
		size_t j = i + 1, versions;
		struct setdiff_rec m;

		while (j < sd->n && memcmp(sd->v[j].key, sd->v[i].key,
		    KEY_LEN) == 0)
			j++;
		if ((r = count_versions(sd, i, j, &versions, &s, err)) != 0)
			goto done;
		m = sd->v[i];
		if (versions > 1) {
			if ((r = merge_all(sd, sd->v + i, j - i, &cur, s.md5,
			    err)) != 0)
				goto done;
			if (pgp_cert_parse(&a, cur.p, cur.len, 0, NULL) != 0 ||
			    rec_key(&m, &a, s.md5, true) != 0) {
				r = pgps_err_set(err, PGPS_EFORMAT, "'%s': "
				    "cannot read a merged certificate",
				    sd->spec);
				goto done;
			}
			if (sd->d->fast) {
				fasthash128(m.fast, cur.p, cur.len,
				    &sd->d->key);
				m.has_fast = true;
			}
			m.where = IN_SPILL;
			m.len = cur.len;
			if ((r = spill(sd, cur.p, cur.len, &m.off, err)) != 0)
				goto done;
		}
		sd->v[n++] = m;
		i = j;
	}
	sd->n = n;
 done:
	if (r == PGPS_ENOMEM && err->msg[0] == '\0')
		pgps_err_set(err, r, "out of memory");
	scratch_release(&s);
	buf_release(&cur);
	pgp_cert_release(&a);
	return r;
}

bool
setdiff_is_remote(const char *spec)
{
	static const char *const schemes[] = { "hkp://", "hkps://", "vks://",
	    "http://", "https://" };

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(spec, schemes[i], strlen(schemes[i])) == 0)
			return true;
	return false;
}

/* b read by lookup on the keyserver it names. */
static int
read_remote(struct setdiff *d, int jobs, struct pgps_err *err)
{
	struct remote_opts ro;

	memset(&ro, 0, sizeof(ro));
	if (d->net != NULL)
		ro.net = *d->net;
	else
		net_opts_cli_default(&ro.net);
	ro.servers[0] = d->b.spec;
	ro.nservers = 1;
	return setdiff_lookup(d, &ro, jobs, err);
}

int
setdiff_read(struct setdiff *d, int jobs, struct pgps_err *err)
{
	int r;

	if (setdiff_is_remote(d->a.spec))
		return pgps_err_set(err, PGPS_EUNSUPPORTED, "'%s': a keyserver "
		    "can be only the second set", d->a.spec);
	if (setdiff_is_remote(d->b.spec))
		return read_remote(d, jobs, err);

	/*
	 * Two sets read at once when the caller allows it, neither is a
	 * store and jobs allows threads; not for a GnuPG keyring, whose
	 * library wants to be set up on one thread.
	 */
	if (d->fast && jobs != 1 && d->cb.at_once &&
	    strncmp(d->a.spec, "gpg:", 4) != 0 &&
	    strncmp(d->b.spec, "gpg:", 4) != 0)
		r = sides_read(d, err);
	else if ((r = side_read(&d->a, jobs, err)) == 0)
		r = side_read(&d->b, jobs, err);
	if (r == 0)
		r = side_merge_versions(&d->a, err);
	if (r == 0)
		r = side_merge_versions(&d->b, err);
	return r;
}

int
setdiff_read_one(struct setdiff *d, int jobs, struct pgps_err *err)
{
	int r;

	if ((r = side_read(&d->a, jobs, err)) == 0)
		r = side_merge_versions(&d->a, err);
	return r;
}

int
setdiff_side_put(struct setdiff_side *sd, const uint8_t *p, size_t len,
    struct pgps_err *err)
{
	struct pgp_cert c = PGP_CERT_INIT;
	struct digest *md5 = digest_new(DIGEST_MD5);
	struct setdiff_rec rec;
	int r;

	if (md5 == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if ((r = pgp_cert_parse(&c, p, len, 0, err)) != 0)
		pgps_err_prefix(err, r, "'%s'", sd->spec);
	else if ((r = rec_key(&rec, &c, md5, true)) != 0)
		pgps_err_set(err, r, "out of memory");
	pgp_cert_release(&c);
	digest_free(md5);
	if (r != 0)
		return r;
	if (sd->d->fast) {
		fasthash128(rec.fast, p, len, &sd->d->key);
		rec.has_fast = true;
	}
	rec.where = IN_SPILL;
	rec.len = len;
	if ((r = spill(sd, p, len, &rec.off, err)) != 0)
		return r;
	if (side_add(sd, &rec) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	return 0;
}

int
setdiff_side_done(struct setdiff_side *sd, struct pgps_err *err)
{
	return side_merge_versions(sd, err);
}

/* --- comparing -------------------------------------------------------- */

int
setdiff_join(struct setdiff_result *res, struct setdiff *d,
    struct pgps_err *err)
{
	struct setdiff_side *a = &d->a, *b = &d->b;
	struct scratch s;
	size_t i = 0, j = 0;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = scratch_init(&s, err)) != 0)
		goto done;
	res->only_a = calloc(a->n + 1, sizeof(*res->only_a));
	res->only_b = calloc(b->n + 1, sizeof(*res->only_b));
	res->changed = calloc((a->n < b->n ? a->n : b->n) + 1,
	    sizeof(*res->changed));
	if (res->only_a == NULL || res->only_b == NULL ||
	    res->changed == NULL) {
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto done;
	}
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 :
		    memcmp(a->v[i].key, b->v[j].key, KEY_LEN);

		if (c < 0)
			res->only_a[res->nonly_a++] = i++;
		else if (c > 0)
			res->only_b[res->nonly_b++] = j++;
		else if (rec_same_bytes(&a->v[i], &b->v[j])) {
			res->same++;
			i++;
			j++;
		} else {
			if ((r = need_sks(a, &a->v[i], &s, err)) != 0 ||
			    (r = need_sks(b, &b->v[j], &s, err)) != 0)
				goto done;
			if (memcmp(a->v[i].hash, b->v[j].hash, 16) != 0) {
				res->changed[res->nchanged][0] = i;
				res->changed[res->nchanged][1] = j;
				res->nchanged++;
			} else
				res->same++;
			i++;
			j++;
		}
	}
 done:
	scratch_release(&s);
	return r;
}

void
setdiff_result_release(struct setdiff_result *res)
{
	free(res->only_a);
	free(res->only_b);
	free(res->changed);
	memset(res, 0, sizeof(*res));
}

int
setdiff_pair_init(struct setdiff_pair *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->abuf, 0);
	buf_init(&p->bbuf, 0);
	p->a = (struct pgp_cert)PGP_CERT_INIT;
	p->b = (struct pgp_cert)PGP_CERT_INIT;
	p->md5 = digest_new(DIGEST_MD5);
	return p->md5 == NULL ? PGPS_ENOMEM : 0;
}

void
setdiff_pair_release(struct setdiff_pair *p)
{
	free(p->add);
	free(p->del);
	pgp_cert_release(&p->a);
	pgp_cert_release(&p->b);
	buf_release(&p->abuf);
	buf_release(&p->bbuf);
	digest_free(p->md5);
}

int
setdiff_pair_load(struct setdiff_pair *p, struct setdiff *d,
    struct setdiff_result *res, size_t k, struct pgps_err *err)
{
	int r;

	free(p->add);
	free(p->del);
	p->add = p->del = NULL;
	p->nadd = p->ndel = 0;
	if ((r = setdiff_cert(&d->a, res->changed[k][0], &p->abuf, &p->a,
	    p->md5, err)) != 0 ||
	    (r = setdiff_cert(&d->b, res->changed[k][1], &p->bbuf, &p->b,
	    p->md5, err)) != 0 ||
	    (r = pgp_cert_diff(&p->add, &p->nadd, &p->a, &p->b, err)) != 0 ||
	    (r = pgp_cert_diff(&p->del, &p->ndel, &p->b, &p->a, err)) != 0)
		return r;
	for (size_t i = 0; i < p->nadd; i++)
		res->added[p->add[i].kind]++;
	for (size_t i = 0; i < p->ndel; i++)
		res->removed[p->del[i].kind]++;
	return 0;
}

static int
hash_cmp(const void *a, const void *b)
{
	const struct setdiff_hash *x = a, *y = b;
	int c = memcmp(x->hash, y->hash, 16);

	return c != 0 ? c : x->sign - y->sign;
}

static int
hash_only(struct setdiff_hash *h, struct setdiff_side *sd, size_t i,
    char sign, struct pgps_err *err)
{
	int r;

	if ((r = setdiff_need_sks(sd, i, err)) != 0)
		return r;
	memcpy(h->hash, sd->v[i].hash, 16);
	h->sign = sign;
	return 0;
}

int
setdiff_hashes(struct setdiff_hash **out, size_t *n, struct setdiff *d,
    const struct setdiff_result *res, struct pgps_err *err)
{
	size_t total = res->nonly_a + res->nonly_b + 2 * res->nchanged, k = 0;
	struct setdiff_hash *v = calloc(total + 1, sizeof(*v));
	int r = 0;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	for (size_t i = 0; i < res->nonly_a && r == 0; i++)
		r = hash_only(&v[k++], &d->a, res->only_a[i], '-', err);
	for (size_t i = 0; i < res->nonly_b && r == 0; i++)
		r = hash_only(&v[k++], &d->b, res->only_b[i], '+', err);
	for (size_t i = 0; i < res->nchanged && r == 0; i++) {
		r = hash_only(&v[k++], &d->a, res->changed[i][0], '-', err);
		if (r == 0)
			r = hash_only(&v[k++], &d->b, res->changed[i][1], '+',
			    err);
	}
	if (r != 0) {
		free(v);
		return r;
	}
	qsort(v, total, sizeof(*v), hash_cmp);
	*out = v;
	*n = total;
	return 0;
}
