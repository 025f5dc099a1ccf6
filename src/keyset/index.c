/*
 * index.c: the SKS-hash index of a key set, built in parallel.
 *
 * Workers parse each certificate and write its entry, followed by its
 * bytes when its source is not kept, into the batch output; the calling
 * thread unpacks them in order for the caller.  Sources are numbered as
 * the workers meet them, under one mutex; a worker asks only when the
 * source changes, which in a set of files is once per file.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "keyset/index.h"
#include "util/mem.h"

int
index_entry_of_cert(struct index_entry *e, const struct pgp_cert *c,
    struct digest *md5, bool sks)
{
	memset(e, 0, sizeof(*e));
	if (sks || !c->has_primary) {
		/* As SKS stores it: repeated blocks merged. */
		if (pgp_cert_sks_hash_canonical(c, md5, e->hash) != 0)
			return PGPS_ENOMEM;
		e->has_sks = true;
	}
	e->sks_ok = pgp_cert_sks_acceptable(c);
	if (c->has_primary) {
		e->key[0] = c->primary.fprlen;
		memcpy(e->key + 1, c->primary.fpr, c->primary.fprlen);
		e->version = c->primary.version;
	} else {
		e->key[0] = INDEX_KEY_BARE;
		memcpy(e->key + 1, e->hash, 16);
	}
	return 0;
}

int
index_entry_make(struct index_entry *e, struct pgp_cert *scratch,
    struct digest *md5, const struct pgp_raw_cert *raw, const char *source,
    bool sks, const struct fasthash_key *fast, struct pgps_err *err)
{
	const struct pgp_cert *c = scratch;
	int r;

	memset(e, 0, sizeof(*e));
	if ((r = pgp_cert_parse(scratch, raw->p, raw->len, raw->offset,
	    err)) != 0)
		return pgps_err_prefix(err, r, "'%s'", source);
	if (c->flags & PGP_CERT_SECRET)
		return pgps_err_set(err, PGPS_EFORMAT, "'%s': offset %llu: "
		    "secret key material; skipped", source,
		    (unsigned long long)raw->offset);
	if (index_entry_of_cert(e, c, md5, sks) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if (fast != NULL) {
		fasthash128(e->fast, raw->p, raw->len, fast);
		e->has_fast = true;
	}
	e->offset = raw->offset;
	e->len = raw->len;
	return 0;
}

int
index_entry_cmp(const struct index_entry *a, const struct index_entry *b)
{
	int c = memcmp(a->key, b->key, INDEX_KEY_LEN);

	return c != 0 ? c : memcmp(a->hash, b->hash, 16);
}

void
index_sources_release(struct index_sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->name[i]);
	free(s->name);
	free(s->kept);
	s->name = NULL;
	s->kept = NULL;
	s->n = 0;
}

struct index_run {
	const struct index_spec	*spec;
	struct index_sources	*src;
	pthread_mutex_t		 mu;
};

struct index_ws {
	struct index_run	*run;
	struct pgp_cert		 cert;
	struct digest		*md5;
	char			*last;		/* source of the last cert */
	uint32_t		 lastsrc;
	bool			 lastkept;
};

static void *
index_ws_new(void *arg)
{
	struct index_ws *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if ((w->md5 = digest_new(DIGEST_MD5)) == NULL) {
		free(w);
		return NULL;
	}
	w->run = arg;
	buf_init(&w->cert.partial, 0);
	return w;
}

static void
index_ws_done(void *ws, void *arg)
{
	struct index_ws *w = ws;

	(void)arg;
	pgp_cert_release(&w->cert);
	digest_free(w->md5);
	free(w->last);
	free(w);
}

/* The number of source name, added when new; -1 when out of memory. */
static int
intern(struct index_run *run, const char *name, uint32_t *out, bool *kept)
{
	struct index_sources *s = run->src;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&run->mu);
	for (i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			break;
	if (i == s->n) {
		char **nv = mem_reallocarray(s->name, s->n + 1,
		    sizeof(*s->name));
		bool *kv;

		if (nv != NULL)
			s->name = nv;
		kv = nv == NULL ? NULL : mem_reallocarray(s->kept, s->n + 1,
		    sizeof(*s->kept));
		if (kv != NULL)
			s->kept = kv;
		if (nv == NULL || kv == NULL || i > UINT32_MAX ||
		    (s->name[i] = strdup(name)) == NULL) {
			rc = -1;
			goto out;
		}
		s->kept[i] = run->spec->keep_bytes != NULL &&
		    run->spec->keep_bytes(name, run->spec->arg);
		s->n++;
	}
	*out = (uint32_t)i;
	*kept = s->kept[i];
 out:
	pthread_mutex_unlock(&run->mu);
	return rc;
}

/* The entry of raw with its source numbered; 0 or a negative code. */
static int
entry_of(struct index_ws *w, struct index_entry *e,
    const struct pgp_raw_cert *raw, const char *source, struct pgps_err *err)
{
	const struct index_spec *spec = w->run->spec;
	int r;

	if ((r = index_entry_make(e, &w->cert, w->md5, raw, source,
	    spec->sks, spec->fast, err)) != 0)
		return r;
	if (w->last == NULL || strcmp(w->last, source) != 0) {
		free(w->last);
		if ((w->last = strdup(source)) == NULL ||
		    intern(w->run, source, &w->lastsrc, &w->lastkept) != 0) {
			free(w->last);
			w->last = NULL;
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		}
	}
	e->src = w->lastsrc;
	e->has_bytes = w->lastkept;
	return 0;
}

static int
index_one(void *ws, const struct pgp_raw_cert *raw, const char *source,
    struct buf *out, struct pgps_err *err)
{
	struct index_entry e;
	int r;

	if ((r = entry_of(ws, &e, raw, source, err)) != 0)
		return r;
	if (buf_add(out, &e, sizeof(e)) != 0 ||
	    (e.has_bytes && buf_add(out, raw->p, raw->len) != 0))
		return pgps_err_set(err, PGPS_ENOMEM, "'%s': offset %llu: "
		    "out of memory", source, (unsigned long long)raw->offset);
	return 0;
}

/* Unpacks a batch's entries (and bytes) for the caller, in order. */
static int
index_sink(const uint8_t *p, size_t len, void *arg)
{
	struct index_run *run = arg;
	int r;

	while (len >= sizeof(struct index_entry)) {
		struct index_entry e;
		const uint8_t *bytes = NULL;

		memcpy(&e, p, sizeof(e));
		p += sizeof(e);
		len -= sizeof(e);
		if (e.has_bytes) {
			if (e.len > len)
				PGPS_BUG("short index record");
			bytes = p;
			p += e.len;
			len -= (size_t)e.len;
		}
		if (run->spec->entry != NULL &&
		    (r = run->spec->entry(&e, bytes, run->spec->arg)) != 0)
			return r;
	}
	return 0;
}

int
index_hash(struct keyset_iter *it, const struct index_spec *spec,
    struct index_sources *sources, struct keyset_par_result *res,
    struct pgps_err *err)
{
	struct keyset_par_spec ps;
	struct index_run run;
	int rc;

	memset(&run, 0, sizeof(run));
	run.spec = spec;
	run.src = sources;
	pthread_mutex_init(&run.mu, NULL);
	memset(&ps, 0, sizeof(ps));
	ps.jobs = spec->jobs;
	ps.fn = index_one;
	ps.wstate_new = index_ws_new;
	ps.wstate_done = index_ws_done;
	ps.arg = &run;
	ps.sink = index_sink;
	ps.sink_arg = &run;
	ps.warn = spec->warn;
	ps.progress = spec->progress;
	ps.report_arg = spec->arg;
	rc = keyset_par_run(it, &ps, res, err);
	pthread_mutex_destroy(&run.mu);
	return rc;
}

int
index_read(struct keyset_iter *it, const struct index_spec *spec,
    struct index_sources *sources, struct keyset_par_result *res,
    struct pgps_err *err)
{
	struct index_run run;
	struct index_ws *w;
	int rc = 0, r;

	memset(res, 0, sizeof(*res));
	memset(&run, 0, sizeof(run));
	run.spec = spec;
	run.src = sources;
	pthread_mutex_init(&run.mu, NULL);
	if ((w = index_ws_new(&run)) == NULL) {
		rc = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		struct pgps_err e = PGPS_ERR_INIT;
		struct index_entry ent;
		struct pgp_raw_cert c;
		const char *source;

		if ((r = keyset_iter_next(it, &c, 0, &e)) == 0)
			break;
		if (r < 0 && keyset_is_fatal(r)) {
			rc = pgps_err_set(err, r, "%s", e.msg);
			break;
		}
		if (r > 0) {
			source = keyset_iter_source(it);
			res->certs++;
			res->bytes += c.len;
			if ((r = entry_of(w, &ent, &c, source, &e)) == 0) {
				if (spec->entry != NULL && (rc = spec->entry(
				    &ent, ent.has_bytes ? c.p : NULL,
				    spec->arg)) != 0)
					break;
				continue;
			}
			if (r == PGPS_ENOMEM) {
				rc = pgps_err_set(err, r, "%s", e.msg);
				break;
			}
		}
		res->skipped++;
		if (spec->warn != NULL)
			spec->warn(e.msg, spec->arg);
	}
	index_ws_done(w, &run);
 out:
	pthread_mutex_destroy(&run.mu);
	return rc;
}

/* --- the cache ----------------------------------------------------- */

#define CACHE_HEAD	(8 + 32 + 3 * 8)
#define CACHE_ENTRY	(INDEX_KEY_LEN + 16 + 1 + 1 + 4 + 8 + 8)

static void
put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

int
index_stamp(uint8_t out[32], const char *const *files, size_t n,
    struct pgps_err *err)
{
	struct digest *d = digest_new(DIGEST_SHA256);
	uint8_t tmp[DIGEST_MAX];

	if (d == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	digest_update(d, INDEX_CACHE_MAGIC, 8);
	for (size_t i = 0; i < n; i++) {
		const char *b = strrchr(files[i], '/');
		uint8_t v[5 * 8];
		struct stat st;
		int e;

		if (stat(files[i], &st) != 0) {
			e = errno;
			digest_free(d);
			return pgps_err_set(err, PGPS_EIO,
			    "cannot stat '%s': %s", files[i], strerror(e));
		}
		b = b == NULL ? files[i] : b + 1;
		digest_update(d, b, strlen(b) + 1);
		put_le(v, (uint64_t)st.st_size, 8);
		put_le(v + 8, (uint64_t)st.st_mtim.tv_sec, 8);
		put_le(v + 16, (uint64_t)st.st_mtim.tv_nsec, 8);
		put_le(v + 24, (uint64_t)st.st_ino, 8);
		put_le(v + 32, (uint64_t)st.st_dev, 8);
		digest_update(d, v, sizeof(v));
	}
	digest_final(d, tmp);
	digest_free(d);
	memcpy(out, tmp, 32);
	return 0;
}

static void
entry_pack(uint8_t *p, const struct index_entry *e)
{
	memcpy(p, e->key, INDEX_KEY_LEN);
	p += INDEX_KEY_LEN;
	memcpy(p, e->hash, 16);
	p += 16;
	*p++ = e->version;
	*p++ = (e->has_sks ? 1 : 0) | (e->sks_ok ? 2 : 0);
	put_le(p, e->src, 4);
	put_le(p + 4, e->offset, 8);
	put_le(p + 12, e->len, 8);
}

/* 0, or -1 when p is not an entry of a cache with nsources sources. */
static int
entry_unpack(struct index_entry *e, const uint8_t *p, uint64_t nsources)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->key, p, INDEX_KEY_LEN);
	p += INDEX_KEY_LEN;
	memcpy(e->hash, p, 16);
	p += 16;
	e->version = *p++;
	if (*p > 3)
		return -1;
	e->has_sks = (*p & 1) != 0;
	e->sks_ok = (*p++ & 2) != 0;
	e->src = (uint32_t)get_le(p, 4);
	e->offset = get_le(p + 4, 8);
	e->len = get_le(p + 12, 8);
	if (e->src >= nsources || (e->key[0] != INDEX_KEY_BARE &&
	    e->key[0] > PGP_FPR_MAX) || (e->key[0] == INDEX_KEY_BARE &&
	    !e->has_sks))
		return -1;
	return 0;
}

int
index_cache_save(const char *path, const uint8_t stamp[32],
    uint64_t nsources, const struct index_entry *v, size_t n, uint64_t extra,
    struct pgps_err *err)
{
	uint8_t head[CACHE_HEAD], rec[CACHE_ENTRY];
	size_t plen = strlen(path) + sizeof(".tmp.XXXXXX");
	char *tmp = malloc(plen);
	FILE *f = NULL;
	int fd, e, rc = 0;

	if (tmp == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	snprintf(tmp, plen, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0 || (f = fdopen(fd, "wb")) == NULL) {
		e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s",
		    path, strerror(e));
	}
	memcpy(head, INDEX_CACHE_MAGIC, 8);
	memcpy(head + 8, stamp, 32);
	put_le(head + 40, nsources, 8);
	put_le(head + 48, n, 8);
	put_le(head + 56, extra, 8);
	if (fwrite(head, 1, sizeof(head), f) != sizeof(head))
		rc = -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		entry_pack(rec, &v[i]);
		if (fwrite(rec, 1, sizeof(rec), f) != sizeof(rec))
			rc = -1;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	e = errno;
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		e = errno;
	}
	if (rc != 0) {
		unlink(tmp);
		rc = pgps_err_set(err, PGPS_EIO, "cannot write '%s': %s", path,
		    strerror(e));
	}
	free(tmp);
	return rc;
}

int
index_cache_load(const char *path, const uint8_t stamp[32],
    uint64_t nsources, struct index_entry **out, size_t *n, uint64_t *extra,
    struct pgps_err *err)
{
	uint8_t head[CACHE_HEAD], rec[CACHE_ENTRY];
	struct index_entry *v = NULL;
	struct stat st;
	uint64_t count;
	FILE *f;
	int rc = 1;

	if ((f = fopen(path, "rb")) == NULL)
		return 1;
	if (fstat(fileno(f), &st) != 0 ||
	    fread(head, 1, sizeof(head), f) != sizeof(head) ||
	    memcmp(head, INDEX_CACHE_MAGIC, 8) != 0 ||
	    memcmp(head + 8, stamp, 32) != 0 ||
	    get_le(head + 40, 8) != nsources)
		goto out;
	count = get_le(head + 48, 8);
	/* The size says how many entries there are; a lying count fails. */
	if ((uint64_t)st.st_size < sizeof(head) ||
	    ((uint64_t)st.st_size - sizeof(head)) / CACHE_ENTRY != count ||
	    ((uint64_t)st.st_size - sizeof(head)) % CACHE_ENTRY != 0)
		goto out;
	if ((v = mem_reallocarray(NULL, count + 1, sizeof(*v))) == NULL) {
		rc = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < count; i++)
		if (fread(rec, 1, sizeof(rec), f) != sizeof(rec) ||
		    entry_unpack(&v[i], rec, nsources) != 0)
			goto out;
	*out = v;
	*n = (size_t)count;
	*extra = get_le(head + 56, 8);
	v = NULL;
	rc = 0;
 out:
	free(v);
	fclose(f);
	return rc;
}
