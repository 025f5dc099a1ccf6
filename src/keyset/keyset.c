/*
 * keyset.c: expands key-set specs into a list of sources and streams their
 * certificates one source after the other.  Only one source is open at a
 * time, so a directory of a thousand dump files costs one mapping.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>

#include "keyset/backend.h"
#include "keyset/keyset.h"
#include "util/mem.h"

/* Backends by scheme; plain paths are dump files. */
static const struct keyset_backend *const backends[] = {
	&keyset_gpg_backend,
	&keyset_store_backend,
};

struct source {
	char				*name;
	const struct keyset_backend	*be;	/* NULL: a dump file */
	void				*state;	/* of an open backend */
};

struct keyset_iter {
	struct source		*src;
	size_t			 nsrc;
	size_t			 cur;	/* index of the open source */
	struct pgp_reader	*rd;
	uint64_t		 total;
	uint64_t		 done;	/* bytes of sources already closed */
	uint64_t		 seen;	/* certs and errors from this source */
};

static int
add_source(struct keyset_iter *it, const char *path, struct pgps_err *err)
{
	struct source *n = mem_reallocarray(it->src, it->nsrc + 1, sizeof(*n));

	if (n == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	it->src = n;
	memset(&it->src[it->nsrc], 0, sizeof(*n));
	if ((it->src[it->nsrc].name = strdup(path)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	it->nsrc++;
	return 0;
}

/* Opens a backend source now (before any thread starts). */
static int
add_backend(struct keyset_iter *it, const struct keyset_backend *be,
    const char *spec, struct pgps_err *err)
{
	struct source *s;
	int r;

	if ((r = add_source(it, spec, err)) != 0)
		return r;
	s = &it->src[it->nsrc - 1];
	s->be = be;
	if ((r = be->open(&s->state, spec + strlen(be->scheme) + 1, err)) != 0)
		return pgps_err_prefix(err, r, "'%s'", spec);
	return 0;
}

static const struct keyset_backend *
find_backend(const char *spec)
{
	for (size_t i = 0; i < PGPS_ARRAY_SIZE(backends); i++) {
		size_t n = strlen(backends[i]->scheme);

		if (strncmp(spec, backends[i]->scheme, n) == 0 &&
		    spec[n] == ':')
			return backends[i];
	}
	return NULL;
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(((const struct source *)a)->name,
	    ((const struct source *)b)->name);
}

static bool
dump_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.' || l < 5)
		return false;
	return strcmp(n + l - 4, ".pgp") == 0 ||
	    strcmp(n + l - 4, ".gpg") == 0 || strcmp(n + l - 4, ".asc") == 0;
}

static int
add_dir(struct keyset_iter *it, const char *dir, struct pgps_err *err)
{
	DIR *d;
	struct dirent *e;
	size_t first = it->nsrc;
	int r = 0;

	if ((d = opendir(dir)) == NULL)
		return pgps_err_set(err, PGPS_EIO, "'%s': %s", dir,
		    strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char *p;
		size_t n;

		if (!dump_name(e->d_name))
			continue;
		n = strlen(dir) + strlen(e->d_name) + 2;
		if ((p = malloc(n)) == NULL) {
			r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
			break;
		}
		snprintf(p, n, "%s/%s", dir, e->d_name);
		r = add_source(it, p, err);
		free(p);
		if (r != 0)
			break;
	}
	closedir(d);
	if (r == 0 && it->nsrc == first)
		return pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no *.pgp, "
		    "*.gpg or *.asc files in this directory", dir);
	qsort(it->src + first, it->nsrc - first, sizeof(*it->src), namecmp);
	return r;
}

int
keyset_iter_open(struct keyset_iter **out, const char *const *specs,
    size_t n, struct pgps_err *err)
{
	struct keyset_iter *it;
	struct stat st;
	int r = 0;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct keyset_backend *be;
		const char *s = specs[i];

		if (strncmp(s, "dump:", 5) == 0)
			s += 5;
		if (strcmp(s, "-") == 0) {
			r = add_source(it, s, err);
			continue;
		}
		if ((be = find_backend(s)) != NULL) {
			r = add_backend(it, be, s, err);
			continue;
		}
		if (stat(s, &st) != 0) {
			r = pgps_err_set(err, errno == ENOENT ?
			    PGPS_ENOTFOUND : PGPS_EIO, "'%s': %s", s,
			    strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode))
			r = add_dir(it, s, err);
		else {
			it->total += (uint64_t)st.st_size;
			r = add_source(it, s, err);
		}
	}
	if (r != 0) {
		keyset_iter_free(it);
		return r;
	}
	*out = it;
	return 0;
}

void
keyset_iter_free(struct keyset_iter *it)
{
	if (it == NULL)
		return;
	pgp_reader_free(it->rd);
	for (size_t i = 0; i < it->nsrc; i++) {
		if (it->src[i].be != NULL)
			it->src[i].be->close(it->src[i].state);
		free(it->src[i].name);
	}
	free(it->src);
	free(it);
}

bool
keyset_is_fatal(int rc)
{
	return rc == PGPS_EIO || rc == PGPS_ENOMEM || rc == PGPS_ENOTFOUND ||
	    rc == PGPS_EINTERNAL || rc == PGPS_EUNSUPPORTED;
}

int
keyset_iter_next(struct keyset_iter *it, struct pgp_raw_cert *out,
    size_t max_cert, struct pgps_err *err)
{
	int r;

	for (;;) {
		if (it->cur < it->nsrc && it->src[it->cur].be != NULL) {
			struct source *s = &it->src[it->cur];

			r = s->be->next(s->state, out, max_cert, err);
			if (r != 0) {
				it->seen++;
				return r;
			}
			s->be->close(s->state);
			s->state = NULL;
			s->be = NULL;
			it->cur++;
			it->seen = 0;
			continue;
		}
		if (it->rd == NULL) {
			if (it->cur >= it->nsrc)
				return 0;
			it->seen = 0;
			if ((r = pgp_reader_open_path(&it->rd,
			    it->src[it->cur].name, err)) != 0) {
				/* Bad armor is damage in that file only. */
				if (r == PGPS_EFORMAT) {
					it->cur++;
					return r;
				}
				return r == PGPS_ENOTFOUND ? PGPS_EIO : r;
			}
		}
		r = pgp_reader_next(it->rd, out, max_cert, err);
		if (r != 0) {
			it->seen++;
			return r;
		}
		it->done += pgp_reader_pos(it->rd);
		pgp_reader_free(it->rd);
		it->rd = NULL;
		it->cur++;
		if (it->seen == 0)
			return pgps_err_set(err, PGPS_EFORMAT, "'%s': no "
			    "OpenPGP certificates in it (empty)",
			    it->src[it->cur - 1].name);
		it->seen = 0;
	}
}

const char *
keyset_iter_source(const struct keyset_iter *it)
{
	return it->rd != NULL ? pgp_reader_name(it->rd) :
	    (it->cur < it->nsrc ? it->src[it->cur].name : "");
}

bool
keyset_iter_stable(const struct keyset_iter *it)
{
	return it->rd != NULL && pgp_reader_is_stable(it->rd);
}

uint64_t
keyset_iter_total(const struct keyset_iter *it)
{
	return it->total;
}

uint64_t
keyset_iter_done(const struct keyset_iter *it)
{
	return it->done + (it->rd != NULL ? pgp_reader_pos(it->rd) : 0);
}

size_t
keyset_iter_nsources(const struct keyset_iter *it)
{
	return it->nsrc;
}
