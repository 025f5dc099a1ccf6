/*
 * keyset.c: expands key-set specs into a list of sources and streams their
 * certificates one source after the other.  Only one source is open at a
 * time, so a directory of a thousand dump files costs one mapping.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>

#include "keyset/backend.h"
#include "keyset/keyset.h"
#include "util/hex.h"
#include "util/mem.h"

int
keyset_spec_parse(struct keyset_spec *out, const char *spec,
    struct pgps_err *err)
{
	struct stat st;
	const char *s = spec;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "gpg:", 4) == 0) {
		out->kind = KEYSET_GPG;
		out->arg = s + 4;
		return 0;
	}
	if (strncmp(s, "store:", 6) == 0) {
		out->kind = KEYSET_STORE;
		out->arg = s + 6;
		out->rev = strchr(out->arg, '@') != NULL;
		return 0;
	}
	if (strncmp(s, "dump:", 5) == 0)
		s += 5;
	if (*s == '\0')
		return pgps_err_set(err, PGPS_EFORMAT, "'%s': no path in this "
		    "key set", spec);
	out->arg = s;
	if (strcmp(s, "-") == 0)
		out->kind = KEYSET_STDIN;
	else if (stat(s, &st) == 0 && S_ISDIR(st.st_mode))
		out->kind = KEYSET_DIR;
	else
		out->kind = KEYSET_DUMP;
	return 0;
}

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
	bool			 keep_bare;	/* see keyset_iter_keep_bare() */
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

static int
namecmp(const void *a, const void *b)
{
	return strcmp(((const struct source *)a)->name,
	    ((const struct source *)b)->name);
}

bool
keyset_is_dump_name(const char *n)
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

		if (!keyset_is_dump_name(e->d_name))
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
		struct keyset_spec sp;
		const char *s;

		if ((r = keyset_spec_parse(&sp, specs[i], err)) != 0)
			break;
		s = sp.arg;
		if (sp.kind == KEYSET_STDIN) {
			r = add_source(it, s, err);
			continue;
		}
		if (sp.kind == KEYSET_GPG) {
			r = add_backend(it, &keyset_gpg_backend, specs[i], err);
			continue;
		}
		if (sp.kind == KEYSET_STORE) {
			r = add_backend(it, &keyset_store_backend, specs[i],
			    err);
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
			if (it->keep_bare)
				pgp_reader_keep_bare(it->rd);
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

void
keyset_iter_keep_bare(struct keyset_iter *it)
{
	it->keep_bare = true;
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

const char *
keyset_iter_source_at(const struct keyset_iter *it, size_t i)
{
	return i < it->nsrc ? it->src[i].name : "";
}

/* --- writing ----------------------------------------------------------- */

int
keyset_open(struct keyset **out, const char *spec, unsigned int flags,
    const struct pgp_limits *lim, struct pgps_err *err)
{
	struct keyset *ks;
	int r;

	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (ks->specstr = strdup(spec)) == NULL) {
		free(ks);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	ks->flags = flags;
	if (lim != NULL)
		ks->lim = *lim;
	if ((r = keyset_spec_parse(&ks->spec, ks->specstr, err)) != 0)
		goto fail;
	switch (ks->spec.kind) {
	case KEYSET_DUMP:
	case KEYSET_DIR:
		ks->ops = &keyset_dump_wops;	/* dump.c does both */
		break;
	case KEYSET_GPG:
		ks->ops = &keyset_gpg_wops;
		break;
	case KEYSET_STORE:
		ks->ops = &keyset_store_wops;
		break;
	case KEYSET_STDIN:
		r = pgps_err_set(err, PGPS_EUNSUPPORTED, "standard input "
		    "is not a key set to open here");
		goto fail;
	}
	if ((r = ks->ops->open(ks, err)) != 0) {
		ks->ops->close(ks);	/* what the open left */
		free(ks->path);
		goto fail;
	}
	if (ks->path == NULL && (ks->path = strdup(ks->spec.arg)) == NULL) {
		ks->ops->close(ks);
		r = pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		goto fail;
	}
	*out = ks;
	return 0;
 fail:
	free(ks->specstr);
	free(ks);
	return r;
}

void
keyset_close(struct keyset *ks)
{
	if (ks == NULL)
		return;
	ks->ops->close(ks);
	free(ks->specstr);
	free(ks->path);
	free(ks->origin);
	free(ks);
}

enum keyset_kind
keyset_kind(const struct keyset *ks)
{
	return ks->spec.kind;
}

const char *
keyset_path(const struct keyset *ks)
{
	return ks->path;
}

void
keyset_on_verdict(struct keyset *ks, keyset_verdict_fn fn, void *arg)
{
	ks->fn = fn;
	ks->fnarg = arg;
}

void
keyset_set_origin(struct keyset *ks, const char *origin)
{
	free(ks->origin);
	ks->origin = origin != NULL ? strdup(origin) : NULL;
}

int
keyset_lookup(struct buf *out, struct keyset *ks, const char *fpr,
    struct pgps_err *err)
{
	return ks->ops->lookup(out, ks, fpr, err);
}

int
keyset_list(char (**out)[KEYSET_FPR_HEX], size_t *n, struct keyset *ks,
    struct pgps_err *err)
{
	*out = NULL;
	*n = 0;
	return ks->ops->list(out, n, ks, err);
}

int
keyset_preload(struct keyset *ks, const char *const *pats, size_t n,
    struct pgps_err *err)
{
	if (ks->ops->preload == NULL || (pats != NULL && n == 0))
		return 0;
	return ks->ops->preload(ks, pats, n, err);
}

int
keyset_parent_exists(const char *path, struct pgps_err *err)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	char *dir;
	int r = 0;

	if (*path == '\0' || slash == NULL || slash == path)
		return 0;
	if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		r = pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no directory "
		    "'%s' to make it in", path, dir);
	free(dir);
	return r;
}

int
keyset_list_add(char (**out)[KEYSET_FPR_HEX], size_t *n, size_t *alloc,
    const char *fpr, struct pgps_err *err)
{
	if (*n == *alloc) {
		size_t na = *alloc < 64 ? 64 : *alloc * 2;
		char (*a)[KEYSET_FPR_HEX] = mem_reallocarray(*out, na,
		    sizeof(*a));

		if (a == NULL)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
		*out = a;
		*alloc = na;
	}
	snprintf((*out)[(*n)++], KEYSET_FPR_HEX, "%s", fpr);
	return 0;
}

static int
cmp_fpr(const void *a, const void *b)
{
	return strcmp(a, b);
}

void
keyset_list_finish(char (*l)[KEYSET_FPR_HEX], size_t *n)
{
	size_t w = 0;

	if (*n == 0)
		return;
	qsort(l, *n, sizeof(*l), cmp_fpr);
	for (size_t i = 0; i < *n; i++)
		if (w == 0 || strcmp(l[i], l[w - 1]) != 0)
			memmove(l[w++], l[i], sizeof(*l));
	*n = w;
}

static int
need_write(struct keyset *ks, struct pgps_err *err)
{
	if ((ks->flags & KEYSET_WRITE) == 0)
		return pgps_err_set(err, PGPS_EINTERNAL, "'%s': opened read "
		    "only", ks->path);
	return 0;
}

int
keyset_put(struct keyset *ks, const uint8_t *p, size_t len,
    const char *source, uint64_t offset, struct pgps_err *err)
{
	int r;

	if ((r = need_write(ks, err)) != 0)
		return r;
	ks->npending++;
	ks->pending_bytes += len;
	return ks->ops->put(ks, p, len, source, offset, err);
}

int
keyset_flush(struct keyset *ks, struct pgps_err *err)
{
	int r;

	if ((r = need_write(ks, err)) != 0)
		return r;
	r = ks->ops->flush != NULL ? ks->ops->flush(ks, err) : 0;
	ks->npending = 0;
	ks->pending_bytes = 0;
	return r;
}

size_t
keyset_pending(const struct keyset *ks, size_t *bytes)
{
	if (bytes != NULL)
		*bytes = ks->pending_bytes;
	return ks->npending;
}

int
keyset_commit(struct keyset *ks, const char *note,
    struct keyset_commit_info *info, struct pgps_err *err)
{
	struct keyset_commit_info local;
	int r;

	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof(*info));
	if ((r = keyset_flush(ks, err)) != 0)
		return r;
	return ks->ops->commit(ks, note, info, err);
}

int
keyset_join(struct keyset *ks, const char *spec,
    enum keyset_join_result *res, struct pgps_err *err)
{
	*res = KEYSET_JOIN_NONE;
	if (ks->ops->join == NULL || (ks->flags & KEYSET_DRY_RUN) != 0)
		return 0;
	return ks->ops->join(ks, spec, res, err);
}

/*
 * The two-step put.  Sets without their own keep the certificate with its
 * name in the record: "<len> <offset> <source>\0" and the bytes.
 */
struct keyset_prep {
	struct keyset	*ks;
	void		*w;
};

int
keyset_prep_new(struct keyset_prep **out, struct keyset *ks,
    struct pgps_err *err)
{
	struct keyset_prep *w;
	int r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	w->ks = ks;
	if (ks->ops->prep_new != NULL &&
	    (r = ks->ops->prep_new(&w->w, ks, err)) != 0) {
		free(w);
		return r;
	}
	*out = w;
	return 0;
}

void
keyset_prep_free(struct keyset_prep *w)
{
	if (w == NULL)
		return;
	if (w->ks->ops->prep_free != NULL)
		w->ks->ops->prep_free(w->w);
	free(w);
}

int
keyset_prepare(struct buf *out, struct keyset_prep *w, const uint8_t *p,
    size_t len, const char *source, uint64_t offset, struct pgps_err *err)
{
	if (w->ks->ops->prepare != NULL)
		return w->ks->ops->prepare(out, w->w, p, len, source, offset,
		    err);
	if (buf_addf(out, "%zu %llu %s", len, (unsigned long long)offset,
	    source) != 0 || buf_addch(out, 0) != 0 || buf_add(out, p, len) != 0)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	return 0;
}

int
keyset_put_prepared(struct keyset *ks, const uint8_t *rec, size_t len,
    size_t *used, struct pgps_err *err)
{
	const uint8_t *nul;
	unsigned long long n, off;
	int pos = 0, r;

	if ((r = need_write(ks, err)) != 0)
		return r;
	if (ks->ops->put_prepared != NULL) {
		ks->npending++;
		return ks->ops->put_prepared(ks, rec, len, used, err);
	}
	if ((nul = memchr(rec, 0, len)) == NULL ||
	    sscanf((const char *)rec, "%llu %llu %n", &n, &off, &pos) != 2 ||
	    pos == 0 || n > len - (size_t)(nul + 1 - rec))
		return pgps_err_set(err, PGPS_EINTERNAL, "bad record");
	*used = (size_t)(nul + 1 - rec) + (size_t)n;
	return keyset_put(ks, nul + 1, (size_t)n, (const char *)rec + pos,
	    off, err);
}

/* --- shared steps of the backends ----------------------------------- */

void
keyset_report(struct keyset *ks, struct keyset_verdict *v)
{
	if (ks->fn != NULL)
		ks->fn(v, ks->fnarg);
}

bool
keyset_fpr_matches(const char *fpr, const char *pattern)
{
	size_t n = strlen(fpr);

	if (strlen(pattern) != 16)
		return strcmp(fpr, pattern) == 0;
	/* v4: the low 64 bits; v5 and v6: the high 64 bits. */
	if (n == 40)
		return strcmp(fpr + 24, pattern) == 0;
	return n == 64 && strncmp(fpr, pattern, 16) == 0;
}

void
keyset_in_refuse(struct keyset_in *x, const char *fmt, ...)
{
	va_list ap;

	x->v.result = KEYSET_REFUSED;
	va_start(ap, fmt);
	vsnprintf(x->v.why, sizeof(x->v.why), fmt, ap);
	va_end(ap);
}

void
keyset_in_release(struct keyset_in *x)
{
	buf_release(&x->data);
	free(x->source);
	x->source = NULL;
}

/*
 * A run of signatures without a key: kept when they are key revocations
 * naming their issuer, to be matched with the set's copy of that key.
 */
static int
take_bare(struct keyset_in *x, const struct pgp_cert *c, struct pgps_err *err)
{
	struct pgp_sig_info s;
	struct pgps_err e = PGPS_ERR_INIT;

	for (size_t i = 0; i < c->npkts; i++) {
		const struct pgp_packet *p = &c->pkts[i];

		if (p->tag == PGP_TAG_TRUST || p->tag == PGP_TAG_MARKER)
			continue;
		if (p->tag != PGP_TAG_SIGNATURE ||
		    pgp_sig_parse(&s, p->body, p->bodylen, &e) != 0 ||
		    s.type != PGP_SIG_KEY_REVOCATION) {
			keyset_in_refuse(x, "signatures without a key");
			return 1;
		}
		if (!x->bare) {
			x->sig = s;
			x->bare = true;
		}
		if (pgp_packet_write(&x->data, p) != 0)
			return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	if (!x->bare) {
		keyset_in_refuse(x, "no packets");
		return 1;
	}
	if (x->sig.issuer_fprlen == 20 || x->sig.issuer_fprlen == 32)
		hex_encode_upper(x->pattern, x->sig.issuer_fpr,
		    x->sig.issuer_fprlen);
	else if (x->sig.has_issuer)
		hex_encode_upper(x->pattern, x->sig.issuer, 8);
	else {
		keyset_in_refuse(x, "key revocation without an issuer");
		return 1;
	}
	return 0;
}

int
keyset_in_take(struct keyset *ks, struct keyset_in *x, const uint8_t *p,
    size_t len, const char *source, uint64_t offset, unsigned int uflags,
    struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_cert c = PGP_CERT_INIT;
	struct update_prep_report prep;
	int r;

	memset(x, 0, sizeof(*x));
	buf_init(&x->data, 0);
	x->v.seq = ks->seq++;
	x->v.offset = offset;
	if ((x->source = strdup(source)) == NULL)
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	x->v.source = x->source;
	if (pgp_cert_parse(&c, p, len, offset, &e) != 0) {
		keyset_in_refuse(x, "malformed: %s", e.msg);
		r = 1;
		goto cleanup;
	}
	/* A secret key's fingerprint covers only its public part, which
	 * the parser does not separate: name such a key by its offset. */
	if (c.has_primary && (c.flags & PGP_CERT_SECRET) == 0)
		pgp_key_fpr_hex(x->v.fpr, &c.primary);
	if (c.flags & PGP_CERT_BARE_REVOCATION) {
		r = take_bare(x, &c, err);
		goto cleanup;
	}
	r = update_prepare(&x->data, &c, &ks->lim, uflags, &prep, &e);
	/* The limits come after gpg's form: that step was done then. */
	if (r == 0 || e.code == PGPS_ELIMIT) {
		x->v.dropped_sigs = prep.compat.dropped_sigs;
		x->v.dropped_subkeys = prep.compat.dropped_subkeys;
	}
	if (r == PGPS_ENOMEM) {
		r = pgps_err_set(err, r, "out of memory");
		goto cleanup;
	}
	if (r != 0) {
		if (e.code == PGPS_ELIMIT)
			keyset_in_refuse(x, "over the limits: %s", e.msg);
		else
			keyset_in_refuse(x, "%s", e.msg);
		r = 1;
	}
 cleanup:
	pgp_cert_release(&c);
	return r;
}

/*
 * Whether every signature of the bare revocation x verifies by cur's
 * primary key: GOOD, or BAD or UNKNOWN with e saying why.
 */
static enum pgp_verify
bare_verify(const struct keyset_in *x, const struct pgp_cert *cur,
    struct pgps_err *e)
{
	struct span s = span_make(x->data.p, x->data.len);
	struct pgp_packet p;
	enum pgp_verify v;

	if (!cur->has_primary || cur->npkts == 0) {
		pgps_err_set(e, PGPS_EFORMAT, "no primary key");
		return PGP_VERIFY_BAD;
	}
	while (s.len > 0) {
		if (pgp_packet_parse(&p, &s, 0, NULL, e) != 0)
			return PGP_VERIFY_BAD;
		if (p.tag != PGP_TAG_SIGNATURE)
			continue;
		v = pgp_sig_verify(p.body, p.bodylen, &cur->pkts[0],
		    &cur->pkts[0], NULL, e);
		if (v != PGP_VERIFY_GOOD)
			return v;
	}
	return PGP_VERIFY_GOOD;
}

bool
keyset_in_bare_matches(const struct keyset_in *x, const struct pgp_cert *cur)
{
	struct pgps_err e = PGPS_ERR_INIT;
	char fpr[KEYSET_FPR_HEX];

	if (!cur->has_primary)
		return false;
	if (strlen(x->pattern) == 16) {
		/* A key ID may name several keys: the one it verifies by. */
		return pgp_sig_is_by(&x->sig, &cur->primary) &&
		    bare_verify(x, cur, &e) == PGP_VERIFY_GOOD;
	}
	pgp_key_fpr_hex(fpr, &cur->primary);
	return strcmp(fpr, x->pattern) == 0;
}

int
keyset_in_resolve_bare(struct keyset_in *x, const struct pgp_cert *cur,
    struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct buf data = BUF_INIT;
	enum pgp_verify v;

	if (cur == NULL || !pgp_sig_is_by(&x->sig, &cur->primary)) {
		keyset_in_refuse(x, "revocation for a key that is not in the "
		    "keyring");
		return 1;
	}
	if ((v = bare_verify(x, cur, &e)) != PGP_VERIFY_GOOD) {
		keyset_in_refuse(x, "a revocation that does not verify by "
		    "key %s (%s%s)", x->pattern,
		    v == PGP_VERIFY_UNKNOWN ? "not verified: " : "", e.msg);
		return 1;
	}
	if (pgp_packet_write(&data, &cur->pkts[0]) != 0 ||
	    buf_add(&data, x->data.p, x->data.len) != 0) {
		buf_release(&data);
		return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
	}
	buf_swap(&data, &x->data);
	buf_release(&data);
	pgp_key_fpr_hex(x->v.fpr, &cur->primary);
	x->bare = false;
	return 0;
}

int
keyset_in_decide(struct keyset_in *x, struct buf *work, unsigned int uflags,
    struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_change *ch = NULL;
	enum update_result res;
	size_t nch = 0;
	int r;

	r = update_merge(work, &res, x->data.p, x->data.len, x->v.offset,
	    uflags, &x->v.merge, &ch, &nch, &e);
	if (r == PGPS_ENOMEM)
		return pgps_err_set(err, r, "out of memory");
	if (r != 0) {
		keyset_in_refuse(x, "%s", e.msg);
		return 0;
	}
	for (size_t i = 0; i < nch; i++)
		x->v.added[ch[i].kind]++;
	free(ch);
	x->v.result = res == UPDATE_NEW ? KEYSET_NEW :
	    res == UPDATE_CHANGED ? KEYSET_CHANGED : KEYSET_UNCHANGED;
	return 0;
}
