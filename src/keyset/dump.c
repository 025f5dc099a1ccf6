/*
 * dump.c: keydump files and directories of them as key sets to write.
 *
 * A dump file is read whole when it is opened (a damaged one is refused:
 * rewriting it would lose the damaged parts), changed in memory by each
 * put, and replaced at the commit by a temporary file renamed into place,
 * ASCII-armored if it was.  The commit locks the file, and when another
 * writer replaced it in the meantime reads it again and applies the puts
 * once more, so neither writer's additions are lost.
 *
 * A directory of dump files is read the same way; the commit adds one new
 * file holding the certificates that are new or changed, named after the
 * directory's numbered files (PREFIX-NNNN.pgp, named as a split dump's
 * files are: keyset/dump.h), so the files already there are never
 * rewritten.
 */
#include "util/common.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>

#include "keyset/backend.h"
#include "keyset/dump.h"
#include "util/atomic.h"
#include "util/mem.h"

struct dcert {
	struct buf	 data;
	char		 fpr[KEYSET_FPR_HEX];	/* "" for what has none */
	bool		 changed;
};

struct dent {
	char		 fpr[KEYSET_FPR_HEX];
	size_t		 i;
};

struct dumpw {
	bool		 dir;
	struct dcert	*c;
	size_t		 n, alloc;
	struct dent	*idx;		/* sorted by fingerprint */
	size_t		 nidx, allocidx;
	bool		 armored;
	struct stat	 st;		/* of the file as read; 0: missing */
	struct buf	 puts;		/* every put: len, offset, source, bytes */
	bool		 replaying;
	char		*prefix;	/* a directory's file names */
	unsigned long	 next;
	int		 width;
};

static int
nomem(struct pgps_err *err)
{
	return pgps_err_set(err, PGPS_ENOMEM, "out of memory");
}

static void
dw_clear(struct dumpw *d)
{
	for (size_t i = 0; i < d->n; i++)
		buf_release(&d->c[i].data);
	free(d->c);
	free(d->idx);
	d->c = NULL;
	d->idx = NULL;
	d->n = d->alloc = d->nidx = d->allocidx = 0;
}

/* The index position of fpr, or where it would go. */
static size_t
idx_pos(const struct dumpw *d, const char *fpr, bool *found)
{
	size_t lo = 0, hi = d->nidx, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(d->idx[mid].fpr, fpr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < d->nidx && strcmp(d->idx[lo].fpr, fpr) == 0;
	return lo;
}

/* Indexes c[i]; a key held twice is found, and updated, at its first. */
static int
idx_add(struct dumpw *d, size_t i, struct pgps_err *err)
{
	bool found;
	size_t at;

	if (d->c[i].fpr[0] == '\0')
		return 0;
	at = idx_pos(d, d->c[i].fpr, &found);
	if (found)
		return 0;
	if (d->nidx == d->allocidx) {
		size_t n = d->allocidx < 64 ? 64 : d->allocidx * 2;
		struct dent *a = mem_reallocarray(d->idx, n, sizeof(*a));

		if (a == NULL)
			return nomem(err);
		d->idx = a;
		d->allocidx = n;
	}
	memmove(&d->idx[at + 1], &d->idx[at], (d->nidx - at) *
	    sizeof(*d->idx));
	memcpy(d->idx[at].fpr, d->c[i].fpr, sizeof(d->idx[at].fpr));
	d->idx[at].i = i;
	d->nidx++;
	return 0;
}

static struct dcert *
dw_find(struct dumpw *d, const char *fpr)
{
	bool found;
	size_t at;

	if (strlen(fpr) == 16) {
		for (size_t i = 0; i < d->n; i++)
			if (d->c[i].fpr[0] != '\0' &&
			    keyset_fpr_matches(d->c[i].fpr, fpr))
				return &d->c[i];
		return NULL;
	}
	at = idx_pos(d, fpr, &found);
	return found ? &d->c[d->idx[at].i] : NULL;
}

static int
dw_add(struct dumpw *d, const uint8_t *p, size_t len, const char *fpr,
    bool changed, struct pgps_err *err)
{
	struct dcert *c;

	if (d->n == d->alloc) {
		size_t n = d->alloc == 0 ? 64 : d->alloc * 2;
		struct dcert *a = mem_reallocarray(d->c, n, sizeof(*a));

		if (a == NULL)
			return nomem(err);
		d->c = a;
		d->alloc = n;
	}
	c = &d->c[d->n];
	memset(c, 0, sizeof(*c));
	buf_init(&c->data, 0);
	if (buf_add(&c->data, p, len) != 0)
		return nomem(err);
	snprintf(c->fpr, sizeof(c->fpr), "%s", fpr);
	c->changed = changed;
	d->n++;
	return idx_add(d, d->n - 1, err);
}

/* Reads one dump file into d; damage is an error. */
static int
dw_load_file(struct dumpw *d, const char *path, bool *armored,
    struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_reader *rd = NULL;
	struct pgp_raw_cert raw;
	struct pgp_cert c = PGP_CERT_INIT;
	struct buf data = BUF_INIT, bin = BUF_INIT;
	char fpr[KEYSET_FPR_HEX];
	uint8_t chunk[65536];
	size_t got;
	FILE *fp;
	int r;

	if ((fp = fopen(path, "rb")) == NULL)
		return pgps_err_set(err, errno == ENOENT ? PGPS_ENOTFOUND :
		    PGPS_EIO, "cannot open '%s': %s", path, strerror(errno));
	r = 0;
	while (r == 0 && (got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_add(&data, chunk, got) != 0)
			r = pgps_err_set(err, PGPS_ENOMEM, "'%s': too large to "
			    "rewrite", path);
	if (r == 0 && ferror(fp))
		r = pgps_err_set(err, PGPS_EIO, "cannot read '%s': %s", path,
		    strerror(errno));
	fclose(fp);
	if (r != 0)
		goto cleanup;
	if (armored != NULL)
		*armored = false;
	if (pgp_armor_detect(data.p, data.len)) {
		if (armored != NULL)
			*armored = true;
		if ((r = pgp_armor_decode(&bin, data.p, data.len, 0,
		    &e)) != 0) {
			r = pgps_err_set(err, r, "'%s': %s", path, e.msg);
			goto cleanup;
		}
		buf_swap(&data, &bin);
	}
	if (data.len > 0 && (r = pgp_reader_open_mem(&rd, data.p, data.len,
	    path, err)) != 0)
		goto cleanup;
	while (rd != NULL) {
		pgps_err_clear(&e);
		if ((r = pgp_reader_next(rd, &raw, 0, &e)) == 0)
			break;
		if (r < 0) {
			r = pgps_err_set(err, r == PGPS_ENOMEM ? r :
			    PGPS_EFORMAT, "'%s' is damaged, not rewriting it: "
			    "%s", path, e.msg);
			goto cleanup;
		}
		fpr[0] = '\0';
		pgp_cert_release(&c);
		if (pgp_cert_parse(&c, raw.p, raw.len, raw.offset, &e) == 0 &&
		    c.has_primary && (c.flags & PGP_CERT_SECRET) == 0)
			pgp_key_fpr_hex(fpr, &c.primary);
		else if (e.code != 0) {
			r = pgps_err_set(err, PGPS_EFORMAT, "'%s' is damaged, "
			    "not rewriting it: %s", path, e.msg);
			goto cleanup;
		}
		if ((r = dw_add(d, raw.p, raw.len, fpr, false, err)) != 0)
			goto cleanup;
	}
	r = 0;
 cleanup:
	pgp_cert_release(&c);
	pgp_reader_free(rd);
	buf_release(&data);
	buf_release(&bin);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
dump_file_name(char *out, size_t size, const char *prefix, int width,
    unsigned long n)
{
	snprintf(out, size, "%s-%0*lu.pgp", prefix, width > 0 ? width : 4, n);
}

int
dump_file_name_parse(const char *name, size_t *prefix_len,
    unsigned long *n, int *width)
{
	const char *dash = strrchr(name, '-'), *end;
	unsigned long v;
	char *stop;

	if (dash == NULL || dash == name || dash[1] < '0' || dash[1] > '9' ||
	    strlen(name) < 4)
		return 0;
	end = name + strlen(name) - 4;
	v = strtoul(dash + 1, &stop, 10);
	if (stop != end || strcmp(end, ".pgp") != 0 || v == ULONG_MAX)
		return 0;
	*prefix_len = (size_t)(dash - name);
	*n = v;
	*width = (int)(end - dash - 1);
	return 1;
}

/*
 * Notes the numbered file name PREFIX-NNNN.pgp with the highest number,
 * so the commit's file comes after it.
 */
static void
note_number(struct dumpw *d, const char *name)
{
	size_t plen;
	unsigned long n;
	int width;

	if (!dump_file_name_parse(name, &plen, &n, &width))
		return;
	if (d->prefix != NULL && n + 1 <= d->next)
		return;
	free(d->prefix);
	d->prefix = strndup(name, plen);
	d->next = n + 1;
	d->width = width;
}

static int
dw_load_dir(struct dumpw *d, const char *dir, struct pgps_err *err)
{
	DIR *dp;
	struct dirent *e;
	char **names = NULL, *path;
	size_t n = 0, len;
	int r = 0;

	if ((dp = opendir(dir)) == NULL)
		return pgps_err_set(err, PGPS_EIO, "'%s': %s", dir,
		    strerror(errno));
	while ((e = readdir(dp)) != NULL) {
		char **a;

		if (!keyset_is_dump_name(e->d_name))
			continue;
		if ((a = mem_reallocarray(names, n + 1, sizeof(*a))) == NULL ||
		    (a[n] = strdup(e->d_name)) == NULL) {
			if (a != NULL)
				names = a;
			r = nomem(err);
			break;
		}
		names = a;
		n++;
	}
	closedir(dp);
	if (r == 0 && n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && r == 0; i++) {
		note_number(d, names[i]);
		len = strlen(dir) + strlen(names[i]) + 2;
		if ((path = malloc(len)) == NULL) {
			r = nomem(err);
			break;
		}
		snprintf(path, len, "%s/%s", dir, names[i]);
		r = dw_load_file(d, path, NULL, err);
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

static int
dw_open(struct keyset *ks, struct pgps_err *err)
{
	struct dumpw *d;
	int r;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return nomem(err);
	buf_init(&d->puts, 0);
	ks->be = d;
	d->dir = ks->spec.kind == KEYSET_DIR;
	if (d->dir)
		return dw_load_dir(d, ks->spec.arg, err);
	if (stat(ks->spec.arg, &d->st) != 0) {
		memset(&d->st, 0, sizeof(d->st));
		if (errno != ENOENT || (ks->flags & KEYSET_CREATE) == 0)
			return pgps_err_set(err, errno == ENOENT ?
			    PGPS_ENOTFOUND : PGPS_EIO, "'%s': %s",
			    ks->spec.arg, strerror(errno));
		return keyset_parent_exists(ks->spec.arg, err);
	}
	if ((r = dw_load_file(d, ks->spec.arg, &d->armored, err)) != 0)
		return r;
	return 0;
}

static void
dw_close(struct keyset *ks)
{
	struct dumpw *d = ks->be;

	if (d == NULL)
		return;
	dw_clear(d);
	buf_release(&d->puts);
	free(d->prefix);
	free(d);
	ks->be = NULL;
}

static int
dw_lookup(struct buf *out, struct keyset *ks, const char *fpr,
    struct pgps_err *err)
{
	struct dcert *c = dw_find(ks->be, fpr);

	if (c == NULL)
		return pgps_err_set(err, PGPS_ENOTFOUND, "'%s': no key %s",
		    ks->path, fpr);
	buf_reset(out);
	return buf_add(out, c->data.p, c->data.len) != 0 ? nomem(err) : 0;
}

/* Decides x against the copy in d and applies the result there. */
static int
dw_apply(struct dumpw *d, struct keyset_in *x, struct pgps_err *err)
{
	struct pgps_err e = PGPS_ERR_INIT;
	struct pgp_cert cur = PGP_CERT_INIT;
	struct dcert *c = NULL;
	struct buf work = BUF_INIT;
	int r = 0;

	if (x->bare && strlen(x->pattern) == 16) {
		/* A key ID may name several keys: the one it verifies by. */
		for (size_t i = 0; i < d->n && c == NULL; i++) {
			if (d->c[i].fpr[0] == '\0' ||
			    !keyset_fpr_matches(d->c[i].fpr, x->pattern))
				continue;
			pgp_cert_release(&cur);
			if (pgp_cert_parse(&cur, d->c[i].data.p,
			    d->c[i].data.len, 0, &e) == 0 &&
			    keyset_in_bare_matches(x, &cur))
				c = &d->c[i];
		}
		/* None does: the first, to say so. */
		if (c == NULL && (c = dw_find(d, x->pattern)) != NULL) {
			pgp_cert_release(&cur);
			if (pgp_cert_parse(&cur, c->data.p, c->data.len, 0,
			    &e) != 0)
				c = NULL;
		}
	} else if (x->bare && (c = dw_find(d, x->pattern)) != NULL &&
	    pgp_cert_parse(&cur, c->data.p, c->data.len, 0, &e) != 0)
		c = NULL;
	if (x->bare) {
		r = keyset_in_resolve_bare(x, c != NULL ? &cur : NULL, err);
		pgp_cert_release(&cur);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	c = dw_find(d, x->v.fpr);
	if (c != NULL && buf_add(&work, c->data.p, c->data.len) != 0) {
		r = nomem(err);
		goto cleanup;
	}
	if ((r = keyset_in_decide(x, &work, 0, err)) != 0)
		goto cleanup;
	if (x->v.result == KEYSET_NEW)
		r = dw_add(d, work.p, work.len, x->v.fpr, true, err);
	else if (x->v.result == KEYSET_CHANGED) {
		buf_swap(&c->data, &work);
		c->changed = true;
	}
 cleanup:
	buf_release(&work);
	return r;
}

static int
dw_put(struct keyset *ks, const uint8_t *p, size_t len, const char *source,
    uint64_t offset, struct pgps_err *err)
{
	struct dumpw *d = ks->be;
	struct keyset_in x;
	int r;

	/* Kept to be applied again should the file change under us. */
	if (!d->replaying && !d->dir && (buf_addf(&d->puts, "%zu %llu %s",
	    len, (unsigned long long)offset, source) != 0 ||
	    buf_addch(&d->puts, 0) != 0 || buf_add(&d->puts, p, len) != 0))
		return nomem(err);
	r = keyset_in_take(ks, &x, p, len, source, offset, 0, err);
	if (r == 0)
		r = dw_apply(d, &x, err);
	if (r >= 0 && !d->replaying)
		keyset_report(ks, &x.v);
	keyset_in_release(&x);
	return r < 0 ? r : 0;
}

/* Reads the file again and applies every put to it once more. */
static int
dw_replay(struct keyset *ks, struct pgps_err *err)
{
	struct dumpw *d = ks->be;
	size_t used;
	int r = 0;

	dw_clear(d);
	if (stat(ks->spec.arg, &d->st) != 0)
		memset(&d->st, 0, sizeof(d->st));
	else if ((r = dw_load_file(d, ks->spec.arg, &d->armored, err)) != 0)
		return r;
	d->replaying = true;
	for (size_t off = 0; off < d->puts.len && r == 0; off += used)
		r = keyset_put_prepared(ks, d->puts.p + off,
		    d->puts.len - off, &used, err);
	d->replaying = false;
	return r;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Writes the keys of d that changed to a new numbered file in its
 * directory: the next number whose file is not there, taken with link(2)
 * so that a file another run made meanwhile is never replaced.
 */
static int
dw_write_new(struct keyset *ks, struct dumpw *d,
    struct keyset_commit_info *info, struct pgps_err *err)
{
	struct atomic_file af;
	char *path = NULL;
	size_t len;
	int r = 0;

	len = strlen(ks->spec.arg) + sizeof(info->file) + 2;
	if ((path = malloc(len)) == NULL)
		return nomem(err);
	for (int tries = 0;; tries++) {
		dump_file_name(info->file, sizeof(info->file), d->prefix,
		    d->width, d->next);
		snprintf(path, len, "%s/%s", ks->spec.arg, info->file);
		if (tries == 0) {
			if ((r = atomic_file_open(&af, path, err)) != 0)
				goto cleanup;
			for (size_t i = 0; i < d->n; i++)
				if (d->c[i].changed &&
				    fwrite(d->c[i].data.p, 1, d->c[i].data.len,
				    af.f) != d->c[i].data.len) {
					r = pgps_err_set(err, PGPS_EIO,
					    "cannot write '%s': %s", path,
					    strerror(errno));
					atomic_file_abort(&af);
					goto cleanup;
				}
		}
		if ((r = atomic_file_commit_new(&af, path, err)) != 1)
			break;
		if (tries == 10000) {
			atomic_file_abort(&af);
			r = pgps_err_set(err, PGPS_EIO, "'%s': no free file "
			    "name after %s", ks->spec.arg, info->file);
			break;
		}
		d->next++;
	}
 cleanup:
	free(path);
	return r;
}

static int
dw_write(const char *path, const struct dumpw *d, bool all, bool armor,
    struct pgps_err *err)
{
	struct buf bin = BUF_INIT, arm = BUF_INIT;
	const struct buf *w = &bin;
	int r;

	for (size_t i = 0; i < d->n; i++)
		if ((all || d->c[i].changed) && buf_add(&bin, d->c[i].data.p,
		    d->c[i].data.len) != 0) {
			r = nomem(err);
			goto cleanup;
		}
	if (armor && bin.len > 0) {
		if (pgp_armor_encode(&arm, bin.p, bin.len,
		    PGP_ARMOR_PUBLIC_KEY, 0) != 0) {
			r = nomem(err);
			goto cleanup;
		}
		w = &arm;
	}
	r = atomic_write(path, w->p, w->len, err);
 cleanup:
	buf_release(&bin);
	buf_release(&arm);
	return r;
}

static bool
dw_changed(const struct dumpw *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->c[i].changed)
			return true;
	return false;
}

static int
dw_commit(struct keyset *ks, const char *note,
    struct keyset_commit_info *info, struct pgps_err *err)
{
	struct dumpw *d = ks->be;
	struct file_lock lk = FILE_LOCK_INIT;
	struct stat now;
	char what[4200];
	int r;

	(void)note;
	if ((ks->flags & KEYSET_DRY_RUN) != 0 || !dw_changed(d))
		return 0;
	if (d->dir) {
		if (d->prefix == NULL)
			d->prefix = strdup("pgpsync");
		if (d->prefix == NULL)
			return nomem(err);
		if ((r = dw_write_new(ks, d, info, err)) != 0)
			return r;
		d->next++;
		for (size_t i = 0; i < d->n; i++)
			d->c[i].changed = false;
		info->committed = true;
		return 0;
	}
	snprintf(what, sizeof(what), "'%s'", ks->spec.arg);
	if ((r = file_lock(&lk, ks->spec.arg, what, err)) != 0)
		return r;
	if (stat(ks->spec.arg, &now) != 0)
		memset(&now, 0, sizeof(now));
	if (!same_file(&now, &d->st) && (r = dw_replay(ks, err)) != 0)
		goto cleanup;
	if ((r = dw_write(ks->spec.arg, d, true, d->armored, err)) != 0)
		goto cleanup;
	if (stat(ks->spec.arg, &d->st) != 0)
		memset(&d->st, 0, sizeof(d->st));
	for (size_t i = 0; i < d->n; i++)
		d->c[i].changed = false;
	buf_reset(&d->puts);
	info->committed = true;
 cleanup:
	file_unlock(&lk);
	return r;
}

static int
dw_list(char (**out)[KEYSET_FPR_HEX], size_t *n, struct keyset *ks,
    struct pgps_err *err)
{
	struct dumpw *d = ks->be;
	size_t alloc = 0;
	int r;

	for (size_t i = 0; i < d->nidx; i++)
		if ((r = keyset_list_add(out, n, &alloc, d->idx[i].fpr,
		    err)) != 0)
			return r;
	return 0;
}

const struct keyset_wops keyset_dump_wops = {
	.open = dw_open,
	.lookup = dw_lookup,
	.put = dw_put,
	.commit = dw_commit,
	.close = dw_close,
	.list = dw_list,
};
